"""Short ways to post facts in tests (all through the services)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from custguard.core.actors import Actor
from custguard.customers.models import Customer, GroupStanding, Standing
from custguard.ledger import services
from custguard.ledger.models import Invoice, Order, Payment
from custguard.ledger.services import AllocationRequest, Posted
from custguard.ledger.tests.conftest import TODAY

SOURCE = "erp"


def order(actor: Actor, customer: Customer, ext: str, amount: str = "1000.00",
          on: dt.date = TODAY, **extra: Any) -> Posted[Order]:
    return services.post_order(actor, customer, source=SOURCE, external_id=ext,
                               ordered_on=on, amount=amount, **extra)


def invoice(actor: Actor, customer: Customer, ext: str, amount: str = "1000.00", *,
            issued: dt.date = TODAY, due: dt.date | None = None,
            **extra: Any) -> Posted[Invoice]:
    return services.post_invoice(actor, customer, source=SOURCE, external_id=ext,
                                 issued_on=issued, due_on=due or issued, amount=amount,
                                 **extra)


def payment(actor: Actor, customer: Customer, ext: str, amount: str, *,
            on: dt.date = TODAY, to: Sequence[tuple[str, str]] | None = None,
            **extra: Any) -> Posted[Payment]:
    allocations = None if to is None else [AllocationRequest(SOURCE, inv, share)
                                           for inv, share in to]
    return services.post_payment(actor, customer, source=SOURCE, external_id=ext,
                                 received_on=on, amount=amount, allocations=allocations,
                                 **extra)


def credit_note(actor: Actor, customer: Customer, ext: str, corrects: str, amount: str, *,
                on: dt.date = TODAY) -> Posted[Invoice]:
    return services.post_credit_note(actor, customer, source=SOURCE, external_id=ext,
                                     issued_on=on, amount=amount, corrects_source=SOURCE,
                                     corrects_external_id=corrects)


def reversal(actor: Actor, customer: Customer, ext: str, reverses: str, *,
             on: dt.date = TODAY) -> Posted[Payment]:
    return services.reverse_payment(actor, customer, source=SOURCE, external_id=ext,
                                    payment_source=SOURCE, payment_external_id=reverses,
                                    reversed_on=on)


def cancellation(actor: Actor, customer: Customer, ext: str, cancels: str, *,
                 on: dt.date = TODAY) -> Posted[Order]:
    return services.cancel_order(actor, customer, source=SOURCE, external_id=ext,
                                 order_source=SOURCE, order_external_id=cancels,
                                 cancelled_on=on)


def standing(customer: Customer) -> Standing:
    return Standing.objects.get(pk=customer.pk)


def group_standing(customer: Customer) -> GroupStanding:
    assert customer.group_id is not None
    return GroupStanding.objects.get(pk=customer.group_id)


def open_amount(ext: str) -> Decimal:
    return Invoice.objects.get(source=SOURCE, external_id=ext).open_amount


def inv(ext: str) -> Invoice:
    return Invoice.objects.get(source=SOURCE, external_id=ext)
