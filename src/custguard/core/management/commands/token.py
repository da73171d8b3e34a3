"""`custguard token create|list|revoke`: API tokens from the command line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations

from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.models import ApiToken, User
from custguard.core.services import tokens


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print its secret once")
        create.add_argument("--user", required=True, help="username the token acts as")
        create.add_argument("--name", default="cli", help="what the token is for")
        create.add_argument("--expires", type=int, default=None, metavar="DAYS",
                            help="days until it expires (default and maximum: "
                                 "CUSTGUARD_TOKEN_MAX_DAYS)")
        listing = sub.add_parser("list", help="list tokens")
        listing.add_argument("--user", default=None)
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        actor = Actor.system("cli")
        if action == "create":
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user named {options['user']!r}")
            try:
                token, secret = tokens.create_token(actor, user=user, name=options["name"],
                                                    expires_days=options["expires"])
            except DomainError as error:
                raise CommandError(f"{error.field or 'token'}: {error.message}") from None
            self.stderr.write(f"token {token.prefix} for {user.username} "
                              f"(expires {token.expires_at or 'never'}); store it now:")
            self.stdout.write(secret)
        elif action == "list":
            qs = ApiToken.objects.select_related("user")
            if options["user"]:
                qs = qs.filter(user__username=options["user"])
            for t in qs:
                state = "revoked" if t.revoked_at else "active"
                self.stdout.write(f"{t.prefix}  {t.user.username:<16} {t.name:<24} {state:<8} "
                                  f"expires={t.expires_at or '-'} "
                                  f"last_used={t.last_used_at or '-'}")
        else:
            found = ApiToken.objects.filter(prefix=options["prefix"]).first()
            if found is None:
                raise CommandError(f"no token with prefix {options['prefix']!r}")
            tokens.revoke_token(actor, found)
            self.stdout.write(f"revoked {found.prefix}")
