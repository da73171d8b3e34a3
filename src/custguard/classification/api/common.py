"""What the classification API's modules share: the permission check, the rows a list renders
lazily, and the shapes of a customer and its reasons."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused
from custguard.customers.models import Customer

PAGE_SIZE = 50
CUSTOMER_HELP = "customer id, or its 9-digit code"
MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


def require(actor: Actor, perm: str) -> None:
    if not actor.can(perm):
        raise PermissionRefused(_("your role may not do this"))


def customer_ref(customer: Customer) -> dict[str, Any]:
    return {"id": customer.pk, "code": customer.code, "name": customer.name}


def month_text(value: Any) -> str | None:
    return value.strftime("%Y-%m") if value is not None else None


class Rows:
    """A lazily sliced queryset rendered row by row (for @paginate)."""

    def __init__(self, qs: QuerySet[Any], render: Any) -> None:
        self.qs, self.render = qs, render

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [self.render(row) for row in self.qs[item]]
