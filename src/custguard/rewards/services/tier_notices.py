"""Telling customers of their tier changes, the way the points expiry notices do: a notice is
queued with the change (in the evaluation's transaction, the recipient looked up for all the
changes in one query), then e-mailed in Chinese by `send_pending` — right away for an
evaluation on demand, by the notices job after a monthly run. Without an address it is
recorded as not sent, for the account manager to pass on; a failed delivery is recorded, not
raised."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.customers.models import Contact
from custguard.policy.schema_membership import Membership
from custguard.rewards.models import TierChange, TierNotice

log = logging.getLogger(__name__)
MAX_ERROR = 300


def recipients(customer_ids: Iterable[int]) -> dict[int, str]:
    """Each customer's e-mail address (its primary contact's first), in one query."""
    found: dict[int, str] = {}
    for customer_id, email in (Contact.objects.filter(customer_id__in=list(set(customer_ids)))
                               .exclude(email="").order_by("customer_id", "-is_primary", "pk")
                               .values_list("customer_id", "email")):
        found.setdefault(customer_id, email)
    return found


def queue(section: Membership, changes: Sequence[TierChange]) -> int:
    """A notice for each change (inside the transaction that records them)."""
    if not changes:
        return 0
    addresses = recipients(change.customer_id for change in changes)
    now = clock.now()
    TierNotice.objects.bulk_create([
        TierNotice(change=change, customer_id=change.customer_id,
                   recipient=addresses.get(change.customer_id, ""),
                   delivery=TierNotice.Delivery.PENDING if change.customer_id in addresses
                   else TierNotice.Delivery.NO_ADDRESS,
                   error="" if change.customer_id in addresses else "no e-mail address",
                   created_at=now)
        for change in changes], batch_size=2000)
    return len(changes)


def _tier_name(section: Membership, code: str) -> str:
    tier = section.tier(code)
    return tier.name_zh if tier is not None else code


def message(section: Membership, change: TierChange) -> tuple[str, str]:
    """The notice's subject and body in Chinese (the customers' language)."""
    customer = change.customer
    values = {"name": customer.name, "code": customer.code,
              "tier": _tier_name(section, change.to_tier),
              "from": _tier_name(section, change.from_tier) if change.from_tier else "-",
              "day": change.effective_on.isoformat()}
    with translation.override("zh-hans"):
        if change.kind == TierChange.Kind.GRACE:
            ends = next((r["params"].get("grace_ends_on") for r in change.reasons
                         if r.get("code") == "TIER_BELOW_IN_GRACE"), "")
            subject = _("Your membership tier: keep it by %(day)s") % {"day": ends}
            body = _("Dear customer %(name)s (%(code)s),\n\nyour purchases over the last "
                     "months no longer meet the rules of your tier %(tier)s. You keep it until "
                     "%(ends)s; meet its rules again by then to keep it for good.") % {
                **values, "ends": ends}
        else:
            subject = _("Your membership tier is now %(tier)s") % values
            body = _("Dear customer %(name)s (%(code)s),\n\nfrom %(day)s your membership "
                     "tier is %(tier)s (it was %(from)s).") % values
    return subject, body


def send_pending(actor: Actor, change_ids: Sequence[int] | None = None) -> int:
    """E-mail the queued notices (of these changes only, if given). Returns how many were
    handled (sent or failed)."""
    pending = TierNotice.objects.filter(delivery=TierNotice.Delivery.PENDING)
    if change_ids is not None:
        if not change_ids:
            return 0
        pending = pending.filter(change_id__in=list(change_ids))
    _version, policy = policy_in_force()
    handled = 0
    for notice in pending.select_related("change", "change__customer").order_by("pk"):
        subject, body = message(policy.membership, notice.change)
        try:
            EmailMessage(subject=subject, body=body, to=[notice.recipient]).send()
            error = ""
        except Exception as failure:  # noqa: BLE001 - any delivery failure is recorded
            log.warning("tier notice to %s failed: %s", notice.recipient, failure)
            error = f"{type(failure).__name__}: {failure}"[:MAX_ERROR]
        with transaction.atomic(), audit.deferred():
            delivery = TierNotice.Delivery.FAILED if error else TierNotice.Delivery.SENT
            if not TierNotice.objects.filter(pk=notice.pk,
                                             delivery=TierNotice.Delivery.PENDING).update(
                    delivery=delivery, error=error, sent_at=None if error else clock.now()):
                continue  # another sender handled it
            audit.record(actor, "rewards.tier_notice", notice, customer_id=notice.customer_id,
                         after={"change": notice.change_id, "recipient": notice.recipient,
                                "sent": not error, "error": error})
        handled += 1
    return handled
