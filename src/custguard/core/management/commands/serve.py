"""`custguard serve`: collect static files and serve the WSGI app with granian."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve custguard with granian (WSGI) and whitenoise."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
        parser.add_argument("--threads", type=int, default=4,
                            help="blocking threads per worker")
        parser.add_argument("--with-jobs", action="store_true",
                            help="also run the scheduler and one task worker (single machine)")

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int,
               with_jobs: bool, **options: Any) -> None:
        if not 1 <= port <= 65535:
            self.stderr.write(f"--port {port} is not a TCP port")
            sys.exit(2)
        if workers < 1:
            self.stderr.write("--workers must be at least 1")
            sys.exit(2)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"custguard on http://{host}:{port}/ ({workers} worker(s))")
        self.stdout.flush()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "custguard.settings")
        argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host,
                "--port", str(port), "--workers", str(workers), "--blocking-threads",
                str(threads), "--no-ws", "custguard.wsgi:application"]
        if not with_jobs:
            os.execv(sys.executable, argv)  # noqa: S606 - replace this process with the server
        helpers = [subprocess.Popen([sys.executable, "-m", "custguard", command])
                   for command in ("scheduler", "db_worker")]
        server = subprocess.Popen(argv)
        try:
            server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            server.wait()
        finally:
            for process in helpers:
                process.terminate()
            for process in helpers:
                process.wait(timeout=30)
