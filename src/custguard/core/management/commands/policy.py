"""`custguard policy validate|publish|list|show`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.utils import timezone

from custguard.core.errors import DomainError
from custguard.core.management.actor_option import actor_for
from custguard.core.models import PolicyVersion
from custguard.core.services import policies
from custguard.policy.documents import (
    default_policy_text,
    parse_policy_text,
    validate_policy_text,
)


def _read(path_arg: str) -> str:
    if path_arg == "default":
        return default_policy_text()
    try:
        return Path(path_arg).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path_arg}: {error}") from None


class Command(BaseCommand):
    help = "Validate, publish and list policy versions. FILE may be 'default' for the shipped one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        validate = sub.add_parser("validate", help="print every problem with its path")
        validate.add_argument("file")
        publish = sub.add_parser("publish", help="validate, store and publish")
        publish.add_argument("file")
        publish.add_argument("--effective-from", default=None,
                             help="ISO date-time (local time zone if none given); default now")
        publish.add_argument("--note", default="")
        publish.add_argument("--as", dest="as_user", default=None,
                             help="username recorded as publisher (default: a job actor)")
        sub.add_parser("list", help="list versions")

    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "validate":
            problems = validate_policy_text(_read(options["file"]))
            for problem in problems:
                self.stderr.write(str(problem))
            if problems:
                self.stderr.write(f"{len(problems)} problem(s)")
                sys.exit(1)
            document = parse_policy_text(_read(options["file"]))
            self.stdout.write(f"valid: {document.meta.name}")
        elif action == "publish":
            actor = actor_for(options["as_user"], "policy-cli")
            effective = self._when(options["effective_from"])
            try:
                version = policies.publish_source(actor, _read(options["file"]),
                                                  note=options["note"], effective_from=effective)
            except DomainError as error:
                for path, reasons in (error.errors or {"": [error.message]}).items():
                    for reason in reasons:
                        self.stderr.write(f"{path}: {reason}")
                sys.exit(1)
            self.stdout.write(f"published v{version.number} effective "
                              f"{timezone.localtime(version.effective_from):%Y-%m-%d %H:%M} "
                              f"checksum {version.checksum[:12]}")
        else:
            for v in PolicyVersion.objects.order_by("number"):
                when = timezone.localtime(v.effective_from).strftime("%Y-%m-%d %H:%M") \
                    if v.effective_from else "-"
                self.stdout.write(f"v{v.number:<4} {v.status:<10} {when:<17} {v.checksum[:12]} "
                                  f"{v.note}")

    def _when(self, text: str | None) -> dt.datetime | None:
        if not text:
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--effective-from {text!r} is not an ISO date-time") from None
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
