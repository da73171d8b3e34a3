"""Fines: a penalty with FINE leaves a fine due (conduct.services.penalties); finance settles it
as paid or waives it, once, from due. An overturned penalty's due fine is waived by the appeal
(penalties.overturn)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from custguard.conduct.models import Fine
from custguard.conduct.services.common import (
    MAX_REASON,
    moved,
    reason_text,
    refuse_state,
    require,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.services import audit

SETTLED = (Fine.Status.PAID, Fine.Status.WAIVED)


def _note(status: str, note: str) -> str:
    """Waiving a fine needs a reason; a payment may carry a note (e.g. the receipt number)."""
    if status == Fine.Status.WAIVED:
        return reason_text(note, "note")
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": MAX_REASON}, field="note")
    return text


def settle(actor: Actor, fine: Fine, *, status: str, note: str = "") -> Fine:
    """due → paid | waived, once: of two concurrent settlements only the first counts."""
    require(actor, "conduct.change_fine")
    if status not in SETTLED:
        raise ValidationFailed(_("a fine is settled as %(choices)s") % {
            "choices": ", ".join(SETTLED)}, field="status")
    text = _note(status, note)
    with audit.deferred_transaction():
        if not moved(Fine, fine.pk, Fine.Status.DUE, status, settled_at=clock.now(),
                     settled_by_label=actor.label[:150], note=text):
            current = Fine.objects.get(pk=fine.pk)
            raise refuse_state(_("fine"), current.get_status_display())
        audit.record(actor, "conduct.fine_settle", fine, customer_id=fine.customer_id,
                     before={"status": Fine.Status.DUE},
                     after={"status": status, "amount": fine.amount, "penalty": fine.penalty_id},
                     reason=text)
    return Fine.objects.get(pk=fine.pk)
