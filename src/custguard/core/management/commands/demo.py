"""`custguard demo`: fill the database with a deterministic demo — a user for every role and
the data each capability's builder adds (the customer registry first) — and print the logins.

Each capability adds one builder to BUILDERS. A builder takes the DemoRun and returns the rows
(label, value) it wants printed; it writes only through its app's services with `run.actor`,
inside the one transaction the command opens."""

from __future__ import annotations

import datetime as dt
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.demo_users import DEMO_PEOPLE, ensure_demo_users
from custguard.core.errors import DomainError
from custguard.core.models import AuditHead, User
from custguard.core.roles import role_label
from custguard.customers.models import Customer


@dataclass(frozen=True)
class DemoRun:
    customers: int
    seed: int
    actor: Actor
    users: dict[str, User]
    show_progress: bool = True

    def bar(self, total: int, desc: str, unit: str = "it") -> tqdm:
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                    disable=not self.show_progress, leave=False)


Builder = Callable[[DemoRun], list[tuple[str, str]]]


def build_policy(run: DemoRun) -> list[tuple[str, str]]:
    """Publish the shipped default policy unless a version is already in force."""
    from custguard.core.services import policies
    from custguard.policy import default_policy_text

    version = policies.version_in_force()
    if version is None:
        # In force since two years ago, so the demo's history was decided under it too.
        with clock.frozen_at(clock.now() - dt.timedelta(days=730)):
            version = policies.publish_source(run.actor, default_policy_text(),
                                              note="default policy (demo)")
    return [("policy in force", f"v{version.number}")]


def build_registry(run: DemoRun) -> list[tuple[str, str]]:
    from custguard.customers.demo import build_registry_demo

    with run.bar(run.customers, "customers", "customer") as bar:
        summary = build_registry_demo(customers=run.customers, seed=run.seed, actor=run.actor,
                                      users=run.users, progress=bar.update)
    return summary.rows()


def build_credit(run: DemoRun) -> list[tuple[str, str]]:
    """12–18 months of orders, invoices and payments for the customers the registry builder
    just created (the newest `run.customers`), their score history, and today's gate answers."""
    from custguard.core import clock
    from custguard.credit.demo import build_credit_demo, demo_customers, plan_credit_history

    customers = list(Customer.objects.order_by("-pk")[:run.customers])[::-1]
    plan = plan_credit_history(demo_customers(customers), seed=run.seed, today=clock.today())
    with run.bar(len(plan.events()), "credit history", "fact") as bar:
        summary = build_credit_demo(seed=run.seed, actor=run.actor, customers=customers,
                                    users=run.users, progress=bar.update, plan=plan)
    return summary.rows()


def build_conduct(run: DemoRun) -> list[tuple[str, str]]:
    """Violation cases at every stage — reported, under investigation, dismissed, confirmed
    with penalties proposed, in force, completed, lifted and overturned, notices, fines,
    rectifications, blacklist entries and appeals — for the demo's customers (the newest
    `run.customers`), told in time order under a frozen clock by the demo's people."""
    from custguard.conduct.demo import build_conduct_demo, plan_conduct

    customers = list(Customer.objects.order_by("-pk")[:run.customers])[::-1]
    plan = plan_conduct(customers, seed=run.seed)
    with run.bar(len(plan.stories) + len(plan.background), "conduct", "customer") as bar:
        summary = build_conduct_demo(seed=run.seed, actor=run.actor, customers=customers,
                                     users=run.users, progress=bar.update, plan=plan)
    return summary.rows()


def build_rewards(run: DemoRun) -> list[tuple[str, str]]:
    """The points the credit history earned, brought to today, a reward catalogue and
    redemptions (the newest `run.customers`)."""
    from custguard.rewards.demo import build_rewards_demo

    customers = list(Customer.objects.order_by("-pk")[:run.customers])[::-1]
    return build_rewards_demo(seed=run.seed, actor=run.actor, customers=customers,
                              users=run.users).rows()


# In order: later builders may rely on what earlier ones created.
BUILDERS: list[Builder] = [build_policy, build_registry, build_credit, build_conduct,
                           build_rewards]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


class Command(BaseCommand):
    help = "Fill the database with deterministic demo data and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=200,
                            help="how many customers to create (default 200)")
        parser.add_argument("--seed", type=int, default=2026,
                            help="random seed; the same seed gives the same data (default 2026)")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the database already has customers")
        parser.add_argument("--password", default="custguard-demo",
                            help="password of the demo users created now "
                                 "(default custguard-demo)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, customers: int, seed: int, if_empty: bool, password: str,
               no_progress: bool, **options: Any) -> None:
        if customers < 0:
            raise CommandError("--customers must be 0 or more")
        if not password:
            raise CommandError("--password must not be empty")
        existing = Customer.objects.count()
        if if_empty and existing:
            self.stdout.write(f"demo skipped: the database already has {existing} customers")
            self._print_logins(password)
            return

        started = time.monotonic()
        actor = Actor.job("demo")
        audit_before = self._audit_seq()
        rows: list[tuple[str, str]] = []
        try:
            with transaction.atomic():
                users = ensure_demo_users(password, actor=actor)
                run = DemoRun(customers=customers, seed=seed, actor=actor, users=users,
                              show_progress=not no_progress)
                for builder in BUILDERS:
                    rows += builder(run)
        except DomainError as error:
            raise CommandError(f"demo not built: {error.field or 'demo'}: {error.message}"
                               ) from None
        rows.append(("audit entries written", str(self._audit_seq() - audit_before)))
        elapsed = time.monotonic() - started

        self._print_logins(password)
        self.stdout.write("")
        self.stdout.write(f"Demo data (seed {seed}):")
        for line in _table([[label, value] for label, value in rows]):
            self.stdout.write(line)
        self.stdout.write(f"built in {elapsed:.1f}s")

    @staticmethod
    def _audit_seq() -> int:
        head = AuditHead.objects.filter(pk=1).first()
        return head.seq if head else 0

    def _print_logins(self, password: str) -> None:
        users = {u.username: u for u in User.objects.filter(
            username__in=[p.username for p in DEMO_PEOPLE])}
        if not users:
            self.stdout.write("no demo users exist")
            return
        table = [["username", "password", "role", "name", "department"]]
        for person in DEMO_PEOPLE:
            user = users.get(person.username)
            if user is None:
                continue
            shown = password if user.check_password(password) else "(unchanged)"
            table.append([user.username, shown, role_label(person.role),
                          user.display_name, user.department])
        self.stdout.write("Demo logins:")
        for line in _table(table):
            self.stdout.write(line)
