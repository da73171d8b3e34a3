"""The columns of each kind of fact file and the parsing of their cells."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from custguard.customers.importing import reading
from custguard.ledger import services

DEFAULT_SOURCE = "import"
header_key = reading.header_key


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...]
    help: str | Promise


CUSTOMER = Column("customer", True, ("客户编码", "客户代码", "客户编号", "customer_code"),
                  gettext_lazy("9-digit customer code"))
SOURCE = Column("source", False, ("来源", "来源系统"),
                gettext_lazy("System the fact comes from (default: the one chosen for the "
                             "upload); with external_id it identifies the fact"))
EXTERNAL_ID = Column("external_id", True, ("外部编号", "外部单号", "外部id", "erp编号"),
                     gettext_lazy("The fact's id in its source system; importing it again "
                                  "changes nothing"))
AMOUNT = Column("amount", True, ("金额",), gettext_lazy("Greater than zero, at most two "
                                                       "decimal places"))
DATE_HELP = gettext_lazy("Date, e.g. 2025-06-30, not in the future")

COLUMNS: dict[str, list[Column]] = {
    "orders": [
        CUSTOMER, EXTERNAL_ID,
        Column("ordered_on", True, ("订单日期", "下单日期", "日期"), DATE_HELP),
        Column("amount", True, ("金额", "订单金额"), AMOUNT.help),
        Column("number", False, ("订单号", "单号", "单据号"), gettext_lazy("Order number")),
        SOURCE,
    ],
    "invoices": [
        CUSTOMER, EXTERNAL_ID,
        Column("issued_on", True, ("开票日期", "发票日期", "日期"), DATE_HELP),
        Column("due_on", True, ("到期日", "到期日期", "应收日期"),
               gettext_lazy("Date, not before the issue date")),
        Column("amount", True, ("金额", "发票金额", "开票金额"), AMOUNT.help),
        Column("number", False, ("发票号", "发票号码", "单号"), gettext_lazy("Invoice number")),
        SOURCE,
        Column("order_external_id", False, ("订单外部编号", "关联订单"),
               gettext_lazy("The order invoiced (its gate reservation becomes posted)")),
        Column("order_source", False, ("订单来源",),
               gettext_lazy("Source of that order (default: the invoice's source)")),
    ],
    "payments": [
        CUSTOMER, EXTERNAL_ID,
        Column("received_on", True, ("收款日期", "到账日期", "日期"), DATE_HELP),
        Column("amount", True, ("金额", "收款金额"), AMOUNT.help),
        Column("number", False, ("收款单号", "单号"), gettext_lazy("Receipt number")),
        SOURCE,
        Column("invoice_external_id", False, ("核销发票", "发票外部编号"),
               gettext_lazy("The invoice the payment pays; empty: oldest due invoices "
                            "first")),
        Column("invoice_source", False, ("发票来源",),
               gettext_lazy("Source of that invoice (default: the payment's source)")),
        Column("allocated_amount", False, ("核销金额",),
               gettext_lazy("How much of the payment goes to that invoice (default: all of "
                            "it)")),
    ],
}
KINDS = tuple(COLUMNS)
KIND_LABELS = {"orders": gettext_lazy("Orders"), "invoices": gettext_lazy("Invoices"),
               "payments": gettext_lazy("Payments")}
MAX_LENGTHS = {"source": 50, "external_id": 100, "number": 64, "order_external_id": 100,
               "order_source": 50, "invoice_external_id": 100, "invoice_source": 50}
DATE_COLUMNS = {"ordered_on", "issued_on", "due_on", "received_on"}


def column_index(kind: str) -> dict[str, str]:
    """Header key → column name for one kind: the name itself (any case, spaces or dashes for
    underscores) or one of its aliases."""
    index: dict[str, str] = {}
    for column in COLUMNS[kind]:
        index[header_key(column.name)] = column.name
        index[header_key(column.name.replace("_", " "))] = column.name
        index.update({header_key(alias): column.name for alias in column.aliases})
    return index


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONEY_NOISE = re.compile(r"[,，\s¥￥]|^CNY|^RMB", re.IGNORECASE)


def parse_date(text: str) -> dt.date:
    """2025-06-30, 2025/6/30, 2025.6.30, 2025年6月30日, 20250630, or a spreadsheet date
    (with a time of day, which is ignored)."""
    value = text.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
        try:  # the common case, at C speed
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    if "T" in value or " " in value.strip():
        head = re.split(r"[T ]", value, maxsplit=1)[0]
        if _DATE.match(head):
            value = head
    match = _DATE.match(value) or _COMPACT_DATE.match(value)
    if match is None:
        raise ValueError(value)
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def parse_amount(text: str, column: str) -> Decimal:
    return services.clean_amount(_MONEY_NOISE.sub("", text.strip()), column)


