"""`custguard blacklist propose | expire | export FILE | import FILE --partner NAME`: the credit
blacklist's jobs and the exchange of blacklist files with partner companies.

propose   propose an entry, with its evidence, for every customer that meets a criterion of
          the policy in force and has no open entry (what the daily job does); prints how many
expire    end every active entry whose period is over (each exactly once)
export    write the exchange file of our active entries, identifiers salted-hashed with the
          shared key (CUSTGUARD_BLACKLIST_SHARING_KEY, or --partner-key-env VAR naming an
          environment variable that holds it; at least 32 characters)
import    match a partner's exchange file against our customers with the same key and record
          a partner match (an alert for a credit manager) for each; never blacklists anyone.
          Importing the same file again adds nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from custguard.conduct.services import blacklist, sharing
from custguard.core.actors import Actor
from custguard.core.errors import DomainError


class Command(BaseCommand):
    help = "The credit blacklist's jobs and the exchange of blacklist files with partners."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("propose", help="propose entries by the policy's criteria")
        sub.add_parser("expire", help="end the entries whose period is over")
        export = sub.add_parser("export", help="write the exchange file of active entries")
        export.add_argument("file", help="where to write the JSON exchange file")
        export.add_argument("--partner-key-env", dest="key_env", default=None, metavar="VAR",
                            help="environment variable holding the shared key (default: the "
                                 "CUSTGUARD_BLACKLIST_SHARING_KEY setting)")
        imported = sub.add_parser("import", help="match a partner's exchange file")
        imported.add_argument("file", help="the partner's JSON exchange file")
        imported.add_argument("--partner", required=True, help="the partner's name")
        imported.add_argument("--partner-key-env", dest="key_env", default=None,
                              metavar="VAR",
                              help="environment variable holding the shared key (default: "
                                   "the CUSTGUARD_BLACKLIST_SHARING_KEY setting)")

    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as error:
            raise CommandError(error.message) from None

    def _propose(self, **options: Any) -> None:
        proposed = blacklist.propose_by_criteria(Actor.job("blacklist propose"))
        self.stdout.write(f"proposed {proposed} blacklist entry(ies)")

    def _expire(self, **options: Any) -> None:
        expired = blacklist.expire_due(Actor.job("blacklist expire"))
        self.stdout.write(f"expired {expired} blacklist entry(ies)")

    def _export(self, *, file: str, key_env: str | None = None, **options: Any) -> None:
        key = sharing.sharing_key(key_env)
        target = Path(file)
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a directory")
        result = sharing.export(Actor.job("blacklist export"), str(target), key=key)
        self.stdout.write(f"wrote {result.entries} entry(ies) to {target} "
                          f"(sha256 {result.digest})")
        if result.skipped:
            self.stderr.write(f"{result.skipped} active entry(ies) left out: the customer has "
                              "no ID number or phone number")

    def _import(self, *, file: str, partner: str, key_env: str | None = None,
                **options: Any) -> None:
        key = sharing.sharing_key(key_env)
        source = Path(file)
        if not source.is_file():
            raise CommandError(f"{source} is not a file")
        if source.stat().st_size > sharing.MAX_FILE_BYTES:
            raise CommandError(f"{source} is larger than "
                               f"{sharing.MAX_FILE_BYTES // (1024 * 1024)} MB")
        result = sharing.import_file(Actor.job("blacklist import"), source.read_bytes(),
                                     partner=partner, key=key)
        self.stdout.write(
            f"{result.entries} partner entry(ies) read from {source} (sha256 {result.digest}); "
            f"{result.customers} customer(s) matched: {result.created} new match(es), "
            f"{result.existing} already recorded from this file")
        if not result.key_matches:
            self.stderr.write("warning: the file was hashed with another key than ours, so "
                              "nothing can match; agree on the shared key with the partner")
