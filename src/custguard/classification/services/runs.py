"""The monthly ABC run: gather each customer's facts (paid sales over the window and the one
before, the on-time share), rank them (`policy.classification`), and act on each customer's
move — an initial class or one by rule at once, a reminder, or a proposal for the approvals
inbox — in one transaction, audited in batches. Running it again in the same month redoes the
ranking with the facts as they are then and changes only what differs. A run closes at the
policy's close day and time, keeping the month's report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from custguard.classification.models import (
    ClassChange,
    ClassificationRun,
    ClassProposal,
    ClassReminder,
    CustomerClass,
)
from custguard.classification.services import segments, treatments
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Customer, CustomerStatus
from custguard.ledger.models import Allocation, Invoice
from custguard.policy.classification import ClassFacts, Move, move, rank
from custguard.policy.decisions import Decision
from custguard.policy.months import months_before
from custguard.policy.schema_rewards import AbcShares

ZERO = Decimal("0.00")
AUDIT_BATCH = 500  # class changes listed per audit entry
CLASSIFIED = [CustomerStatus.ACTIVE, CustomerStatus.DORMANT]


def gather(rules: AbcShares, today: dt.date) -> list[ClassFacts]:
    """One record per customer classified: two GROUP BY scans of the ledger (the paid sales of
    the window and of the one before it in one, the settled invoices in the other)."""
    start = months_before(today, rules.sales_window_months)
    before = months_before(start, rules.sales_window_months)
    sales = {customer: (window, previous) for customer, window, previous in (
        Allocation.objects.filter(payment__isnull=False, applied_on__gte=before,
                                  applied_on__lte=today)
        .values("invoice__customer_id")
        .annotate(window=Sum("amount", filter=Q(applied_on__gte=start)),
                  previous=Sum("amount", filter=Q(applied_on__lt=start)))
        .values_list("invoice__customer_id", "window", "previous"))}
    settled = {customer: (total, on_time) for customer, total, on_time in (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, settled_on__gte=start,
                               settled_on__lte=today)
        .values("customer_id")
        .annotate(total=Sum("amount"),
                  on_time=Sum("amount", filter=Q(settled_on__lte=F("due_on"))))
        .values_list("customer_id", "total", "on_time"))}
    zone = timezone.get_current_timezone()
    facts = []
    for pk, code, region, kind, created in (
            Customer.objects.filter(status__in=CLASSIFIED).order_by("pk")
            .values_list("pk", "code", "region_id", "kind", "created_at").iterator(2000)):
        total, on_time = settled.get(pk, (None, None))
        window, previous = sales.get(pk, (None, None))
        facts.append(ClassFacts(
            customer_id=pk, code=code, region_code=str(region), kind=kind,
            created_on=created.astimezone(zone).date(),
            paid_sales=window or ZERO, previous_sales=previous or ZERO,
            on_time_share=(on_time or ZERO) / total if total else None))
    return facts


@dataclass
class RunResult:
    run: ClassificationRun
    assigned: int = 0
    reminded: int = 0
    proposed: int = 0
    superseded: int = 0
    treated: int = 0  # standing rows whose class treatment changed
    segmented: int = 0  # customers whose value segment changed


def closes_at(rules: AbcShares, month: dt.date) -> dt.datetime:
    hour, minute = (int(part) for part in rules.close_time.split(":"))
    return timezone.make_aware(dt.datetime(month.year, month.month, rules.close_day, hour,
                                           minute))


def _require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not run the classification"))


def run_month(actor: Actor, today: dt.date | None = None,
              progress: Callable[[int], None] | None = None) -> RunResult:
    """Classify every active or dormant customer as of `today` (default: today) in this
    month's run; refused once the month's run is closed."""
    _require(actor, "classification.run_classification")
    today = today or clock.today()
    version, policy = policy_in_force()
    rules = policy.classification.abc
    month = today.replace(day=1)
    with transaction.atomic(), audit.deferred():
        run = ClassificationRun.objects.select_for_update().filter(month=month).first()
        if run is not None and run.status == ClassificationRun.Status.CLOSED:
            raise Conflict(_("the classification of %(month)s is closed") % {
                "month": month.strftime("%Y-%m")}, field="month")
        now = clock.now()
        if run is None:
            try:
                with transaction.atomic():
                    run = ClassificationRun.objects.create(
                        month=month, policy_version=version, ran_at=now,
                        ran_by=actor.label[:150], closes_at=closes_at(rules, month))
            except IntegrityError:  # another run of the month started at the same moment
                raise Conflict(_("the classification of %(month)s is being run; try again "
                                 "when it is done") % {"month": month.strftime("%Y-%m")},
                               field="month") from None
        else:
            ClassificationRun.objects.filter(pk=run.pk).update(
                policy_version=version, ran_at=now, ran_by=actor.label[:150])
        facts = gather(rules, today)
        decisions = rank(rules, facts, today)
        result = _act(actor, run, version, rules, decisions, today, now)
        result.treated = treatments.apply(actor, policy.classification)
        result.segmented = segments.apply(actor, run, policy.classification, facts)
        ClassificationRun.objects.filter(pk=run.pk).update(customers=len(decisions))
        audit.record(actor, "classification.run", run, after={
            "month": month, "policy_version": version, "customers": len(decisions),
            "assigned": result.assigned, "reminded": result.reminded,
            "proposed": result.proposed, "superseded": result.superseded,
            "treated": result.treated, "segmented": result.segmented})
        if progress is not None:
            progress(len(decisions))
    result.run = ClassificationRun.objects.get(pk=run.pk)
    return result


def _act(actor: Actor, run: ClassificationRun, version: int, rules: AbcShares,
         decisions: dict[int, Decision[Any]], today: dt.date, now: dt.datetime) -> RunResult:
    result = RunResult(run)
    current = dict(CustomerClass.objects.values_list("customer_id", "abc"))
    previous_month = months_before(run.month, 1)
    reminded = set(ClassReminder.objects.filter(run__month=previous_month)
                   .values_list("customer_id", flat=True))
    reminded_now = set(ClassReminder.objects.filter(run=run)
                       .values_list("customer_id", flat=True))
    open_proposals = {p.customer_id: p for p in
                      ClassProposal.objects.select_for_update().filter(
                          status=ClassProposal.Status.PROPOSED)}
    changes: list[ClassChange] = []
    reminders: list[ClassReminder] = []
    proposals: list[ClassProposal] = []
    stale: list[int] = []
    for customer_id, ranked in sorted(decisions.items()):
        was = current.get(customer_id)
        decision: Decision[Move] = move(rules, was, ranked,
                                        reminded=customer_id in reminded)
        reasons = [reason.as_dict() for reason in decision.reasons]
        action, to = decision.outcome.action, decision.outcome.to
        pending = open_proposals.get(customer_id)
        if pending is not None and not (action == "PROPOSE" and pending.to_class == to):
            stale.append(pending.pk)
        if action == "ASSIGN":
            assert to is not None
            changes.append(ClassChange(
                customer_id=customer_id, run=run,
                kind=ClassChange.Kind.INITIAL if was is None else ClassChange.Kind.RULE,
                from_class=was or "", to_class=to, reasons=reasons, policy_version=version,
                decided_at=now, decided_by=actor.label[:150]))
        elif action == "REMIND" and customer_id not in reminded_now:
            reminders.append(ClassReminder(
                customer_id=customer_id, run=run, reasons=reasons,
                respond_by=today + dt.timedelta(days=rules.reminder_response_days)))
        elif action == "PROPOSE" and (pending is None or pending.to_class != to):
            assert was is not None and to is not None
            proposals.append(ClassProposal(
                customer_id=customer_id, run=run, from_class=was, to_class=to,
                reasons=reasons, score=ranked.outcome.score, policy_version=version,
                proposed_at=now))
    if stale:
        result.superseded = ClassProposal.objects.filter(pk__in=stale).update(
            status=ClassProposal.Status.SUPERSEDED, decided_at=now)
    ClassChange.objects.bulk_create(changes)
    _set_classes(changes, today)
    ClassReminder.objects.bulk_create(reminders)
    ClassProposal.objects.bulk_create(proposals)
    result.assigned, result.reminded, result.proposed = (len(changes), len(reminders),
                                                         len(proposals))
    _audit_batches(actor, run, "classification.assign", [
        [c.customer_id, c.from_class, c.to_class, c.kind] for c in changes])
    _audit_batches(actor, run, "classification.remind", [
        [r.customer_id, r.respond_by] for r in reminders])
    _audit_batches(actor, run, "classification.propose", [
        [p.customer_id, p.from_class, p.to_class] for p in proposals])
    return result


def _set_classes(changes: Iterable[ClassChange], today: dt.date) -> None:
    """Point each customer's current class at its newest change."""
    rows = list(changes)
    if not rows:
        return
    existing = set(CustomerClass.objects.filter(
        customer_id__in=[c.customer_id for c in rows]).values_list("customer_id", flat=True))
    fresh = [CustomerClass(customer_id=c.customer_id, abc=c.to_class, since=today, change=c)
             for c in rows if c.customer_id not in existing]
    moved = [CustomerClass(customer_id=c.customer_id, abc=c.to_class, since=today, change=c)
             for c in rows if c.customer_id in existing]
    CustomerClass.objects.bulk_create(fresh)
    if moved:
        CustomerClass.objects.bulk_update(moved, ["abc", "since", "change"])


def _audit_batches(actor: Actor, run: ClassificationRun, action: str,
                   rows: list[list[Any]]) -> None:
    for start in range(0, len(rows), AUDIT_BATCH):
        batch = rows[start:start + AUDIT_BATCH]
        audit.record(actor, action, run, object_id=f"{run.pk}:{start // AUDIT_BATCH + 1}",
                     after={"month": run.month, "count": len(batch), "rows": batch})


def report(run: ClassificationRun) -> dict[str, Any]:
    """The month's classification report: customers per class and region, the moves made in
    the run, the proposals still waiting, and the reminders not answered in time."""
    _version, policy = policy_in_force()
    digits = policy.classification.abc.region_digits
    by_class: Counter[tuple[str, str]] = Counter()
    for region, abc in CustomerClass.objects.values_list("customer__region_id", "abc"):
        by_class[(str(region)[:digits] if digits else "*", abc)] += 1
    moves = Counter(f"{c.from_class or '-'}→{c.to_class}"
                    for c in run.changes.only("from_class", "to_class"))
    waiting = ClassProposal.objects.filter(status=ClassProposal.Status.PROPOSED).count()
    overdue = ClassReminder.objects.filter(answered_at__isnull=True,
                                           respond_by__lt=clock.today()).count()
    return {"by_region": [[region, abc, n] for (region, abc), n in sorted(by_class.items())],
            "moves": dict(sorted(moves.items())), "pending_proposals": waiting,
            "overdue_reminders": overdue}


def close_due(actor: Actor, now: dt.datetime | None = None) -> int:
    """Close every open run whose close time has come, keeping its report. Returns how many."""
    now = now or clock.now()
    closed = 0
    for run in ClassificationRun.objects.filter(status=ClassificationRun.Status.OPEN,
                                                closes_at__lte=now):
        with transaction.atomic(), audit.deferred():
            summary = report(run)
            if not ClassificationRun.objects.filter(
                    pk=run.pk, status=ClassificationRun.Status.OPEN).update(
                    status=ClassificationRun.Status.CLOSED, closed_at=now, summary=summary):
                continue
            audit.record(actor, "classification.close", run, after={
                "month": run.month, "pending_proposals": summary["pending_proposals"],
                "overdue_reminders": summary["overdue_reminders"]})
            closed += 1
    return closed


def run_if_due(actor: Actor, today: dt.date | None = None) -> RunResult | None:
    """The daily job: run this month's classification on the policy's run day (or on the
    first day after it that the job runs, if it missed it); nothing otherwise."""
    today = today or clock.today()
    _version, policy = policy_in_force()
    if today.day < policy.classification.abc.run_day:
        return None
    if ClassificationRun.objects.filter(month=today.replace(day=1)).exists():
        return None
    return run_month(actor, today)
