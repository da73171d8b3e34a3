"""The customer import as a stream: batches written inside one transaction, problems found
late still reported by row and column and still rolling everything back, large workbooks
read by openpyxl's streaming reader, and the audit trail of a batched import."""

from __future__ import annotations

import io

import openpyxl
import pytest

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry
from custguard.core.services.audit import verify_chain
from custguard.customers import importing
from custguard.customers.importing import import_customers, reading
from custguard.customers.models import Contact, Customer, Region, Standing

pytestmark = pytest.mark.django_db

HEADER = "name,kind,region,phone,contact_name,contact_email"


def csv_file(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join([HEADER, *lines]) + "\n").encode("utf-8"))


def good(count: int) -> list[str]:
    return [f"公司{i},enterprise,130100,1380013{i:04d},联系人{i},c{i}@example.com"
            for i in range(count)]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)


def test_a_late_bad_row_rolls_back_every_batch_written_before_it(
        regions: None, small_batches: None) -> None:
    rows = [*good(5), "坏公司,spaceship,130100,,,", "另一个,dealer,130100,call-me,,"]
    done: list[int] = []
    result = import_customers(Actor.job("test"), csv_file(*rows), "c.csv", progress=done.append)
    assert [(p.row, p.column) for p in result.problems] == [(7, "kind"), (8, "phone")]
    assert "spaceship" in result.problems[0].message
    assert result.rows == 7 and list(result.created) == []
    assert sum(done) >= 7  # every row was checked, in batches
    assert not Customer.objects.exists() and not Standing.objects.exists()
    assert not Contact.objects.exists() and not AuditEntry.objects.exists()
    assert Region.objects.get(pk="130100").last_serial == 0


def test_batches_write_customers_standing_contacts_and_a_sound_audit_trail(
        regions: None, small_batches: None) -> None:
    result = import_customers(Actor.job("test"), csv_file(*good(5)), "c.csv")
    assert result.ok, result.problems
    assert list(result.created) == [f"130100{n:03d}" for n in range(1, 6)]
    assert Customer.objects.count() == Standing.objects.count() == Contact.objects.count() == 5
    contact = Contact.objects.get(customer__code="130100003")
    assert (contact.name, contact.email, contact.is_primary) == ("联系人2", "c2@example.com",
                                                                  True)
    assert Standing.objects.get(customer__code="130100005").status == "active"
    batches = list(AuditEntry.objects.filter(action="customer.import_batch").order_by("seq"))
    assert [entry.after["count"] for entry in batches] == [2, 2, 1]
    listed = [row[0] for entry in batches for row in entry.after["customers"]]
    assert listed == list(result.created)
    assert AuditEntry.objects.get(action="customer.import").after["created"] == 5
    assert verify_chain() is None


def test_partial_mode_keeps_the_good_rows_around_a_late_bad_one(
        regions: None, small_batches: None) -> None:
    rows = [*good(3), "坏公司,spaceship,130100,,,", *good(1)]
    result = import_customers(Actor.job("test"), csv_file(*rows), "c.csv",
                              all_or_nothing=False)
    assert [(p.row, p.column) for p in result.problems] == [(5, "kind")]
    assert len(result.created) == 4 == Customer.objects.count()
    assert verify_chain() is None


def test_data_right_of_the_header_is_reported_after_the_rows_stream_by(
        regions: None, small_batches: None) -> None:
    rows = [*good(4), "晚到,dealer,130100,,,,extra"]
    result = import_customers(Actor.job("test"), csv_file(*rows), "c.csv")
    assert [(p.row, p.column) for p in result.problems] == [(1, "(G)")]
    assert not Customer.objects.exists()


def test_a_large_workbook_is_streamed_with_row_numbers_kept(
        regions: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "IN_MEMORY_SPREADSHEET_BYTES", 0)  # every .xlsx streams
    streamed: list[bool] = []
    real = reading._streamed_xlsx_rows
    monkeypatch.setattr(reading, "_streamed_xlsx_rows",
                        lambda stream: streamed.append(True) or real(stream))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([])  # a blank first row: the header is row 2
    sheet.append(["客户名称", "类型", "地区", "电话"])
    sheet.append(["表格公司", "企业", 130100, 13800138000])
    sheet.append(["坏表格", "企业", 999999, None])
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_customers(Actor.job("test"), io.BytesIO(buffer.getvalue()), "c.xlsx")
    assert streamed == [True]
    assert [(p.row, p.column) for p in result.problems] == [(4, "地区")]
    sheet.delete_rows(4)
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_customers(Actor.job("test"), io.BytesIO(buffer.getvalue()), "c.xlsx")
    assert result.ok, result.problems
    customer = Customer.objects.get()
    assert (customer.code, customer.phone) == ("130100001", "13800138000")


def test_a_gb18030_csv_is_decoded_in_a_stream() -> None:
    data = "名称,类型,地区\n甲公司,企业,130100\n".encode("gb18030")
    table = reading.Table(io.BytesIO(data), "c.csv")
    assert table.header == ["名称", "类型", "地区"]
    assert list(table.records()) == [(2, ["甲公司", "企业", "130100"])]


def test_a_tally_keeps_the_first_items_and_counts_all() -> None:
    tally = reading.Tally(keep=2)
    tally.extend(["a", "b", "c"])
    tally.append("d")
    assert len(tally) == 4 and list(tally) == ["a", "b"] and tally[:1] == ["a"]
    assert tally != ["a", "b"]
    small = reading.Tally()
    small.extend(["x"])
    assert small == ["x"]
