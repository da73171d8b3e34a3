"""The daily moves of the points lots: pending lots whose holding period is over become
available (paying off any debt first), lots past their last day expire, and customers hear
N days before their points expire."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Contact, Customer
from custguard.policy.decisions import Reason
from custguard.rewards.models import LotUse, PointsEntry, PointsLot
from custguard.rewards.services import accounts

log = logging.getLogger(__name__)
Progress = Callable[[int], None] | None
MAX_ERROR = 500


def _by_customer(lot_ids: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = defaultdict(list)
    for customer_id, lot_id in lot_ids:
        grouped[customer_id].append(lot_id)
    return grouped


def mature_due(actor: Actor, today: dt.date | None = None, progress: Progress = None) -> int:
    """Make available every lot whose holding period is over; one MATURE entry per customer.
    Returns the customers whose points moved."""
    today = today or clock.today()
    due = _by_customer(PointsLot.objects.filter(available=False, available_on__lte=today)
                       .order_by("customer_id", "pk").values_list("customer_id", "pk"))
    for customer_id in sorted(due):
        with transaction.atomic(), audit.deferred():
            holding = accounts.lock(customer_id)
            lots = list(PointsLot.objects.select_for_update()
                        .filter(pk__in=due[customer_id], available=False))
            points = sum(lot.remaining for lot in lots)
            PointsLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(available=True)
            row = accounts.entry(actor, customer_id, PointsEntry.Kind.MATURE, 0, on=today,
                                 reasons=[Reason("POINTS_HOLDING_OVER", {"points": points,
                                                                         "lots": len(lots)})])
            change = accounts.pay_off_debt(row, holding,
                                           accounts.Change(available=points, pending=-points))
            accounts.apply(customer_id, change)
            accounts.audited(actor, row, lots=len(lots), available=points)
        if progress is not None:
            progress(1)
    return len(due)


def expire_due(actor: Actor, today: dt.date | None = None, progress: Progress = None) -> int:
    """End every lot whose last day has passed: what is left of it expires, one EXPIRE entry
    per customer. Runs after `mature_due`. Returns the customers whose points expired."""
    today = today or clock.today()
    due = _by_customer(PointsLot.objects.filter(expires_on__lt=today, remaining__gt=0)
                       .order_by("customer_id", "pk").values_list("customer_id", "pk"))
    for customer_id in sorted(due):
        with transaction.atomic(), audit.deferred():
            accounts.lock(customer_id)
            lots = list(PointsLot.objects.select_for_update()
                        .filter(pk__in=due[customer_id], remaining__gt=0).order_by("pk"))
            points = sum(lot.remaining for lot in lots)
            if points == 0:
                continue
            row = accounts.entry(actor, customer_id, PointsEntry.Kind.EXPIRE, -points, on=today,
                                 reasons=[Reason("POINTS_EXPIRED", {"points": points,
                                                                    "lots": len(lots)})])
            change = accounts.Change(expired=points)
            LotUse.objects.bulk_create([LotUse(entry=row, lot=lot, points=lot.remaining)
                                        for lot in lots])
            for lot in lots:
                if lot.available:
                    change.available -= lot.remaining
                else:
                    change.pending -= lot.remaining
            PointsLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(remaining=0)
            accounts.apply(customer_id, change)
            accounts.audited(actor, row, lots=len(lots))
        if progress is not None:
            progress(1)
    return len(due)


def _recipient(customer_id: int) -> str:
    contact = (Contact.objects.filter(customer_id=customer_id).exclude(email="")
               .order_by("-is_primary", "pk").first())
    return contact.email if contact is not None else ""


def _send(customer: Customer, recipient: str, points: int, first_day: dt.date) -> str:
    """Send the expiry e-mail in Chinese (the customers' language); returns the error, if
    any (a failure is recorded, not raised)."""
    with translation.override("zh-hans"):
        subject = _("Your points expire soon")
        body = _("Dear customer %(name)s (%(code)s),\n\n%(points)s of your points expire on "
                 "%(day)s. Redeem them before then.") % {
            "name": customer.name, "code": customer.code, "points": points,
            "day": first_day.isoformat()}
    try:
        EmailMessage(subject=subject, body=body, to=[recipient]).send()
    except Exception as failure:  # noqa: BLE001 - any delivery failure is recorded, not lost
        log.warning("points expiry notice to %s failed: %s", recipient, failure)
        return f"{type(failure).__name__}: {failure}"[:MAX_ERROR]
    return ""


def notify_expiring(actor: Actor, today: dt.date | None = None,
                    progress: Progress = None) -> int:
    """Tell each customer whose points expire within the policy's expiry_notice_days (once
    per lot). Without an e-mail address the notice is recorded as not sent, for the account
    manager to call. Returns the customers noticed."""
    today = today or clock.today()
    _version, policy = policy_in_force()
    days = policy.points.expiry_notice_days
    if days == 0:
        return 0
    until = today + dt.timedelta(days=days)
    lots = (PointsLot.objects.filter(remaining__gt=0, expires_on__gte=today,
                                     expires_on__lte=until, expiry_noticed_on__isnull=True)
            .values("customer_id").annotate(points=Sum("remaining")))
    due = {row["customer_id"]: row["points"] for row in lots}
    for customer_id in sorted(due):
        customer = Customer.objects.get(pk=customer_id)
        first_day = (PointsLot.objects.filter(customer_id=customer_id, remaining__gt=0,
                                              expires_on__gte=today, expires_on__lte=until)
                     .order_by("expires_on").values_list("expires_on", flat=True).first())
        assert first_day is not None
        recipient = _recipient(customer_id)
        error = (_send(customer, recipient, due[customer_id], first_day) if recipient
                 else "no e-mail address")
        with transaction.atomic(), audit.deferred():
            PointsLot.objects.filter(customer_id=customer_id, remaining__gt=0,
                                     expires_on__gte=today, expires_on__lte=until,
                                     expiry_noticed_on__isnull=True).update(
                expiry_noticed_on=today)
            audit.record(actor, "rewards.expiry_notice", customer, customer_id=customer_id,
                         after={"points": due[customer_id], "first_day": first_day,
                                "recipient": recipient, "sent": not error, "error": error})
        if progress is not None:
            progress(1)
    return len(due)
