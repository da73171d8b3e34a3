"""`custguard serve`: collect static files and serve the WSGI app with granian.

A worker that dies (a crash, the OOM killer, `kill -9`) is respawned by granian itself
(`--respawn-failed-workers`); the main process and the other workers keep serving. SIGTERM or
SIGINT stops gracefully: granian stops accepting, lets in-flight requests finish and kills a
worker that is still busy after `--workers-kill-timeout` seconds. SIGHUP reloads the workers
one by one (a new release without dropping the socket).

With `--with-jobs` the scheduler and the task worker are children of this command. If one of
them exits, the command stops the web server gracefully and exits 1 with a message naming it:
a supervisor (systemd `Restart=always`) then restarts the whole set, so a dead job runner is
never hidden behind a web server that still answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

HELPERS = ("scheduler", "db_worker")


class Command(BaseCommand):
    help = "Serve custguard with granian (WSGI) and whitenoise."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
        # One thread per worker: threads share the interpreter lock, and a writer holding
        # the database's write lock waits behind its siblings (docs/configuration.md).
        parser.add_argument("--threads", type=int, default=1,
                            help="blocking threads per worker (default 1)")
        parser.add_argument("--respawn-interval", type=float, default=1.0,
                            help="seconds granian waits before replacing a dead worker")
        parser.add_argument("--kill-timeout", type=int, default=30,
                            help="seconds a stopping worker may finish in-flight requests")
        parser.add_argument("--with-jobs", action="store_true",
                            help="also run the scheduler and one task worker (single machine)")

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int,
               respawn_interval: float, kill_timeout: int, with_jobs: bool,
               **options: Any) -> None:
        if not 1 <= port <= 65535:
            self.stderr.write(f"--port {port} is not a TCP port")
            sys.exit(2)
        if workers < 1:
            self.stderr.write("--workers must be at least 1")
            sys.exit(2)
        if not 1 <= kill_timeout <= 1800:
            self.stderr.write("--kill-timeout must be between 1 and 1800 seconds")
            sys.exit(2)
        if respawn_interval < 0:
            self.stderr.write("--respawn-interval must not be negative")
            sys.exit(2)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"custguard on http://{host}:{port}/ ({workers} worker(s))")
        self.stdout.flush()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "custguard.settings")
        argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host,
                "--port", str(port), "--workers", str(workers), "--blocking-threads",
                str(threads), "--no-ws", "--respawn-failed-workers",
                "--respawn-interval", str(respawn_interval),
                "--workers-kill-timeout", str(kill_timeout), "custguard.wsgi:application"]
        if not with_jobs:
            os.execv(sys.executable, argv)  # noqa: S606 - replace this process with the server
        sys.exit(self._serve_with_jobs(argv, kill_timeout))

    def _serve_with_jobs(self, argv: list[str], kill_timeout: int) -> int:
        helpers = {name: subprocess.Popen([sys.executable, "-m", "custguard", name])  # noqa: S603
                   for name in HELPERS}
        server = subprocess.Popen(argv)  # noqa: S603
        stopping: list[int] = []

        def forward(signum: int, _frame: Any) -> None:
            stopping.append(signum)
            server.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        code = 0
        try:
            while server.poll() is None:
                dead = [name for name, process in helpers.items()
                        if process.poll() is not None]
                if dead and not stopping:
                    self.stderr.write(
                        f"custguard serve: {', '.join(dead)} exited "
                        f"(code {helpers[dead[0]].returncode}); stopping the server")
                    code = 1
                    stopping.append(signal.SIGTERM)
                    server.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.wait(timeout=0.5)
            if not code and server.returncode and not stopping:
                code = server.returncode
        finally:
            for process in helpers.values():
                if process.poll() is None:
                    process.terminate()
            for process in helpers.values():
                try:
                    process.wait(timeout=kill_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        return code
