"""Importing orders, invoices and payments from CSV and XLSX files: every bad row reported with
its row, column and reason, nothing written unless every row is valid, replays harmless."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from custguard.core.actors import Actor
from custguard.core.errors import PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditScore
from custguard.customers.models import Customer
from custguard.ledger.importing import import_facts, parse_date
from custguard.ledger.models import Invoice, Order, Payment
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import invoice, open_amount, standing
from custguard.ledger.tests.snapshot import state

pytestmark = pytest.mark.django_db

D = Decimal


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def problems(result: Any) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in result.problems]


def test_a_good_invoice_file_is_posted_in_one_go(finance: Actor, customer: Customer,
                                                 other_customer: Customer,
                                                 policy: Any) -> None:
    data = csv_bytes(
        "客户编码,外部编号,发票号,开票日期,到期日,金额",
        f"{customer.code},INV-1,FP001,{days(-40)},{days(-10)},\"1,200.50\"",
        f"{customer.code},INV-2,FP002,{days(-5):%Y/%m/%d},{days(25):%Y年%m月%d日},300",
        f"{other_customer.code},INV-3,,{days(-1):%Y%m%d},{days(29)},¥45.00",
    )
    done: list[int] = []
    result = import_facts(finance, "invoices", data, "invoices.csv", source="erp",
                          progress=done.append)
    assert result.ok, result.problems
    assert result.created == ["erp/INV-1", "erp/INV-2", "erp/INV-3"]
    assert sum(done) == 6  # three rows checked, three posted
    assert Invoice.objects.get(external_id="INV-2").due_on == days(25)
    row = standing(customer)
    assert (row.posted, row.overdue_amount) == (D("1500.50"), D("1200.50"))
    assert CreditScore.objects.filter(customer=customer).count() == 1  # rescored once
    entry = AuditEntry.objects.get(action="ledger.import")
    assert entry.after["created"] == 3 and entry.after["kind"] == "invoices"

    before = state()
    again = import_facts(finance, "invoices", data, "invoices.csv", source="erp")
    assert again.ok and again.created == [] and len(again.replayed) == 3
    assert state() == before


def test_every_bad_row_is_reported_and_nothing_is_written(
        finance: Actor, customer: Customer, other_customer: Customer) -> None:
    invoice(finance, customer, "TAKEN", "10.00")
    data = csv_bytes(
        "客户编码,外部编号,开票日期,到期日,金额",
        f"{customer.code},OK-1,{days(-3)},{days(27)},10.00",  # 2: fine
        f"999999999,X-1,{days(-3)},{days(27)},10.00",  # 3: unknown customer
        f"{customer.code},X-2,2025-02-30,{days(27)},10.00",  # 4: no such date
        f"{customer.code},X-3,{days(-3)},{days(27)},10.005",  # 5: three decimals
        f"{customer.code},,{days(-3)},{days(27)},10.00",  # 6: no external id
        "",  # blank rows are skipped
        f"{customer.code},X-4,{days(-3)},{days(-4)},10.00",  # 8: due before issue
        f"{customer.code},X-5,{days(1)},{days(30)},10.00",  # 9: issued in the future
        f"{customer.code},TAKEN,{days(-3)},{days(27)},99.00",  # 10: identity with other values
        f"{customer.code},X-6,{days(-3)},{days(27)},-5",  # 11: negative
    )
    before = state()
    result = import_facts(finance, "invoices", data, "bad.csv", source="erp")
    assert problems(result) == [(3, "客户编码"), (4, "开票日期"), (5, "金额"), (6, "外部编号"),
                                (8, "到期日"), (9, "开票日期"), (10, "外部编号"), (11, "金额")]
    assert all(p.message for p in result.problems)
    assert "999999999" in result.problems[0].message
    assert result.created == []
    assert state() == before


def test_header_problems(finance: Actor, customer: Customer) -> None:
    result = import_facts(finance, "orders", csv_bytes(
        "customer,external_id,amount,colour,金额", f"{customer.code},SO-1,5,red,5"), "x.csv")
    assert {p.column for p in result.problems} >= {"colour", "ordered_on", "金额"}
    assert all(p.row == 1 for p in result.problems)
    assert not Order.objects.exists()


def test_partial_mode_writes_the_good_rows(finance: Actor, customer: Customer) -> None:
    data = csv_bytes("customer,external_id,ordered_on,amount",
                     f"{customer.code},SO-1,{days(-1)},5.00",
                     f"{customer.code},SO-2,{days(-1)},five")
    result = import_facts(finance, "orders", data, "o.csv", all_or_nothing=False)
    assert problems(result) == [(3, "amount")]
    assert result.created == ["import/SO-1"]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["SO-1"]


def test_a_dry_run_finds_what_the_services_refuse_and_writes_nothing(
        finance: Actor, customer: Customer) -> None:
    invoice(finance, customer, "A", "100.00")
    data = csv_bytes("customer,external_id,received_on,amount,invoice_external_id",
                     f"{customer.code},P-1,{days(0)},60.00,A",
                     f"{customer.code},P-2,{days(0)},60.00,A")
    before = state()
    result = import_facts(finance, "payments", data, "p.csv", dry_run=True, source="erp")
    assert problems(result) == [(3, "amount")]  # only 40.00 left open on A
    assert "40.00" in result.problems[0].message
    assert result.dry_run and result.created == ["erp/P-1"]
    assert state() == before


def test_payments_oldest_first_or_to_the_invoice_named(finance: Actor, customer: Customer,
                                                       ) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-50), due=days(-20))
    invoice(finance, customer, "B", "100.00", issued=days(-10), due=days(20))
    data = csv_bytes("客户编码,外部编号,收款日期,金额,核销发票,核销金额",
                     f"{customer.code},P-1,{days(0)},30.00,B,20.00",
                     f"{customer.code},P-2,{days(0)},50.00,,")
    result = import_facts(finance, "payments", data, "p.csv", source="erp")
    assert result.ok, result.problems
    assert (open_amount("A"), open_amount("B")) == (D("50.00"), D("80.00"))
    assert Payment.objects.get(external_id="P-1").unapplied_amount == D("10.00")
    bad = import_facts(finance, "payments", csv_bytes(
        "customer,external_id,received_on,amount,invoice_external_id",
        f"{customer.code},P-3,{days(0)},5.00,NOPE"), "p.csv", source="erp")
    assert problems(bad) == [(2, "invoice_external_id")]


def test_an_xlsx_file_with_dates_and_numbers(finance: Actor, customer: Customer) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["customer", "external_id", "ordered_on", "amount", "number"])
    sheet.append([int(customer.code), "SO-1", dt.datetime.combine(days(-2), dt.time()), 1234.5,
                  "DD-1"])
    sheet.append([customer.code, "SO-2", days(-1), 10, None])
    sheet.append([customer.code, "SO-3", "yesterday", 10, None])
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_facts(finance, "orders", buffer.getvalue(), "orders.xlsx")
    assert problems(result) == [(4, "ordered_on")]
    assert not Order.objects.exists()
    sheet.delete_rows(4)
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_facts(finance, "orders", buffer.getvalue(), "orders.xlsx")
    assert result.ok, result.problems
    first = Order.objects.get(external_id="SO-1")
    assert (first.amount, first.ordered_on, first.number) == (D("1234.50"), days(-2), "DD-1")


@pytest.mark.parametrize("role", ["account_manager", "auditor", "erp_integration",
                                  "credit_manager"])
def test_only_importers_may_import(role: str, personas: dict[str, User],
                                   customer: Customer) -> None:
    with pytest.raises(PermissionRefused):
        import_facts(Actor.for_user(personas[role]), "orders", csv_bytes("a"), "o.csv")


def test_unreadable_files_kinds_and_sizes(finance: Actor, customer: Customer) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_facts(finance, "refunds", csv_bytes("a"), "o.csv")
    assert refused.value.field == "kind"
    with pytest.raises(ValidationFailed) as refused:
        import_facts(finance, "orders", b"", "o.csv")
    assert refused.value.field == "file"
    with pytest.raises(ValidationFailed) as refused:
        import_facts(finance, "orders", csv_bytes("customer", "1", "2", "3"), "o.csv",
                     max_rows=2)
    assert refused.value.field == "file"


@pytest.mark.parametrize(("text", "day"), [
    ("2025-06-30", dt.date(2025, 6, 30)), ("2025/6/3", dt.date(2025, 6, 3)),
    ("2025.06.30", dt.date(2025, 6, 30)), ("2025年6月30日", dt.date(2025, 6, 30)),
    ("20250630", dt.date(2025, 6, 30)), ("2025-06-30T00:00:00", dt.date(2025, 6, 30)),
    ("2025-06-30 13:45:00", dt.date(2025, 6, 30)),
])
def test_date_formats(text: str, day: dt.date) -> None:
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["30/06/2025", "2025-06", "tomorrow", "2025-02-30"])
def test_not_dates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


# --- the command -------------------------------------------------------------------------------


def test_the_command(tmp_path: Path, customer: Customer, capsys: Any) -> None:
    good = tmp_path / "orders.csv"
    good.write_bytes(csv_bytes("customer,external_id,ordered_on,amount",
                               f"{customer.code},SO-1,{days(-1)},5.00"))
    call_command("import_facts", "orders", str(good), "--no-progress", "--dry-run")
    assert not Order.objects.exists()
    call_command("import_facts", "orders", str(good), "--no-progress", "--source", "erp")
    assert Order.objects.get().source == "erp"
    assert "1 orders created" in capsys.readouterr().out
    assert AuditEntry.objects.get(action="ledger.import").actor_kind == "job"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("customer,external_id,ordered_on,amount",
                              f"{customer.code},SO-2,{days(-1)},5.001"))
    with pytest.raises(SystemExit) as exit_code:
        call_command("import_facts", "orders", str(bad), "--no-progress", "--as", "finance")
    assert exit_code.value.code == 1
    err = capsys.readouterr().err
    assert "row 2, column amount" in err and "nothing written" in err
    assert Order.objects.count() == 1


def test_the_command_as_a_user(tmp_path: Path, customer: Customer,
                               personas: dict[str, User]) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes("customer,external_id,ordered_on,amount",
                               f"{customer.code},SO-1,{days(-1)},5.00"))
    call_command("import_facts", "orders", str(path), "--no-progress", "--as", "finance")
    batch = AuditEntry.objects.get(action="ledger.import_batch")
    assert batch.actor_user == personas["finance"]
    assert batch.after["facts"] == [[customer.code, "import", "SO-1", "", days(-1).isoformat(),
                                     "5.00"]]
    with pytest.raises(SystemExit):
        call_command("import_facts", "orders", str(path), "--no-progress", "--as",
                     "account_manager")


def test_identities_repeated_in_a_later_batch_are_replays_or_conflicts(
        finance: Actor, customer: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two rows a batch: the repeats meet their first rows in the database, not in memory.
    monkeypatch.setattr("custguard.ledger.importing.BATCH_SIZE", 2)
    data = csv_bytes("customer,external_id,ordered_on,amount",
                     f"{customer.code},SO-1,{days(-2)},5.00",
                     f"{customer.code},SO-2,{days(-2)},6.00",
                     f"{customer.code},SO-1,{days(-2)},5.00",
                     f"{customer.code},SO-2,{days(-2)},7.00",
                     f"{customer.code},SO-3,{days(-1)},8.00")
    done: list[int] = []
    result = import_facts(finance, "orders", data, "o.csv", all_or_nothing=False,
                          progress=done.append)
    assert (list(result.created), list(result.replayed)) == (
        ["import/SO-1", "import/SO-2", "import/SO-3"], ["import/SO-1"])
    assert problems(result) == [(5, "external_id")]  # SO-2 again, with another amount
    assert result.rows == 5 and done == [2, 2, 2, 2, 1, 1]
    assert sorted(Order.objects.values_list("external_id", "amount")) == [
        ("SO-1", D("5.00")), ("SO-2", D("6.00")), ("SO-3", D("8.00"))]


def test_a_file_past_max_rows_in_a_later_batch_writes_nothing(
        finance: Actor, customer: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("custguard.ledger.importing.BATCH_SIZE", 2)
    data = csv_bytes("customer,external_id,ordered_on,amount",
                     *(f"{customer.code},SO-{n},{days(-1)},5.00" for n in range(5)))
    with pytest.raises(ValidationFailed, match=r"\b5\b.*\b3\b") as refused:  # 5 rows, 3 at most
        import_facts(finance, "orders", data, "o.csv", max_rows=3)
    assert refused.value.field == "file"
    assert not Order.objects.exists()


def test_data_under_a_blank_header_cell_is_reported_and_nothing_is_written(
        finance: Actor, customer: Customer) -> None:
    data = csv_bytes("customer,external_id,,ordered_on,amount",
                     f"{customer.code},SO-1,,{days(-1)},5.00",
                     f"{customer.code},SO-2,note,{days(-1)},5.00")
    result = import_facts(finance, "orders", data, "o.csv")
    assert problems(result) == [(1, "(C)")]
    assert not Order.objects.exists()


def test_an_open_file_is_read_as_it_goes(finance: Actor, customer: Customer,
                                         tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes("customer,external_id,ordered_on,amount",
                               f"{customer.code},SO-1,{days(-1)},5.00"))
    with path.open("rb") as stream:
        result = import_facts(finance, "orders", stream, "orders.csv")
    assert result.ok and list(result.created) == ["import/SO-1"]
