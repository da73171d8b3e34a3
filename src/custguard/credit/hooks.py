"""What apps above credit do when a gate reservation ends (credit may not import them).

An app registers a callable in its AppConfig.ready(); `credit.services.gate` calls every one
inside the transaction that ended the reservation — released or cancelled (VOIDED), EXPIRED,
or POSTED (converted by the order's invoice) — with the acting actor and the fresh row. A
callable that raises rolls the whole change back. The rewards app releases or converts the
coupon redeemed on that order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from custguard.core.actors import Actor

if TYPE_CHECKING:
    from custguard.credit.models import Reservation

ReservationEnded = Callable[[Actor, "Reservation"], None]

_on_reservation_ended: list[ReservationEnded] = []


def on_reservation_ended(callback: ReservationEnded) -> ReservationEnded:
    """Register `callback(actor, reservation)`; registering it twice keeps one."""
    if callback not in _on_reservation_ended:
        _on_reservation_ended.append(callback)
    return callback


def reservation_ended(actor: Actor, reservation: Reservation) -> None:
    for callback in _on_reservation_ended:
        callback(actor, reservation)
