"""The ledger's pages: filters, sorting, paging, highlighting, scoping, exports, the invoice
page and the import page."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.models import Customer
from custguard.ledger.models import Invoice, Order
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import (
    cancellation,
    credit_note,
    invoice,
    order,
    payment,
    reversal,
)
from custguard.ledger.tests.snapshot import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(finance: Actor, customer: Customer, other_customer: Customer) -> None:
    invoice(finance, customer, "OVERDUE", "100.00", issued=days(-100), due=days(-70),
            number="FP-OVERDUE")
    invoice(finance, customer, "OPEN", "200.00", issued=days(-10), due=days(20))
    invoice(finance, customer, "PAID", "50.00", issued=days(-60), due=days(-30))
    payment(finance, customer, "P1", "50.00", to=[("PAID", "50.00")], on=days(-29),
            number="SK-1")
    credit_note(finance, customer, "CN-1", "OVERDUE", "10.00")
    invoice(finance, other_customer, "OTHER", "10.00", issued=days(-5), due=days(5))
    payment(finance, other_customer, "P-OTHER", "1.00")
    order(finance, customer, "SO-1", on=days(-3))
    order(finance, customer, "SO-2", on=days(-2))
    cancellation(finance, customer, "SO-2-C", "SO-2")
    order(finance, other_customer, "SO-OTHER", on=days(-1))


@pytest.fixture
def as_role(personas: dict[str, User], client_for: Callable[[User], Client],
            ) -> Callable[[str], Client]:
    return lambda role: client_for(personas[role])


def rows(response: Any) -> list[str]:
    """The data-id of each row, as the external ids of the facts they show."""
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    from re import findall

    ids = [int(pk) for pk in findall(r'data-id="(\d+)"', html)]
    models = {"invoice": Invoice, "order": Order}
    for name, model in models.items():
        if f'data-testid="{name}-table"' in html:
            return [model.objects.get(pk=pk).external_id for pk in ids]
    from custguard.ledger.models import Payment

    return [Payment.objects.get(pk=pk).external_id for pk in ids]


def test_the_invoice_list_filters_and_highlights(books: None, as_role: Any,
                                                 customer: Customer) -> None:
    finance = as_role("finance")
    assert sorted(rows(finance.get("/ledger/invoices/"))) == [
        "CN-1", "OPEN", "OTHER", "OVERDUE", "PAID"]
    response = finance.get("/ledger/invoices/", {"status": "overdue"})
    assert rows(response) == ["OVERDUE"]
    html = response.content.decode()
    assert 'data-status="overdue" class="table-danger' in html and 'data-dpd="70"' in html
    assert sorted(rows(finance.get("/ledger/invoices/", {"status": "open"}))) == [
        "OPEN", "OTHER", "OVERDUE"]
    assert rows(finance.get("/ledger/invoices/", {"status": "settled"})) == ["PAID"]
    assert rows(finance.get("/ledger/invoices/", {"kind": "credit_note"})) == ["CN-1"]
    assert sorted(rows(finance.get("/ledger/invoices/", {"q": customer.code}))) == [
        "CN-1", "OPEN", "OVERDUE", "PAID"]
    assert sorted(rows(finance.get("/ledger/invoices/", {"q": "同事"}))) == ["OTHER"]
    assert rows(finance.get("/ledger/invoices/", {"q": "FP-OVERDUE"})) == ["OVERDUE"]
    assert sorted(rows(finance.get("/ledger/invoices/", {"due_from": str(days(-40)),
                                                         "due_to": str(days(10))}))) == [
        "OTHER", "PAID"]
    assert rows(finance.get("/ledger/invoices/", {"sort": "due_on", "kind": "invoice"})) == [
        "OVERDUE", "PAID", "OTHER", "OPEN"]
    assert rows(finance.get("/ledger/invoices/", {"sort": "-amount"}))[0] == "OPEN"


def test_the_invoice_list_pages_and_refreshes_with_htmx(finance: Actor, customer: Customer,
                                                        as_role: Any) -> None:
    for n in range(30):
        invoice(finance, customer, f"I-{n:02d}", "1.00", issued=days(-n))
    client = as_role("auditor")
    first = client.get("/ledger/invoices/")
    assert len(rows(first)) == 25
    assert "1 / 2" in first.content.decode()
    assert len(rows(client.get("/ledger/invoices/", {"page": 2}))) == 5
    partial = client.get("/ledger/invoices/", {"status": "open"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert len(rows(partial)) == 25


def test_lists_are_scoped_to_the_users_customers(books: None, as_role: Any) -> None:
    assert sorted(rows(as_role("account_manager").get("/ledger/invoices/"))) == [
        "CN-1", "OPEN", "OVERDUE", "PAID"]
    assert rows(as_role("account_manager_2").get("/ledger/invoices/")) == ["OTHER"]
    assert rows(as_role("account_manager_2").get("/ledger/payments/")) == ["P-OTHER"]
    assert rows(as_role("account_manager_2").get("/ledger/orders/")) == ["SO-OTHER"]
    mine = Invoice.objects.get(external_id="OPEN")
    assert as_role("account_manager_2").get(f"/ledger/invoices/{mine.pk}/").status_code == 404
    assert as_role("account_manager").get(f"/ledger/invoices/{mine.pk}/").status_code == 200
    assert as_role("customer_service").get("/ledger/invoices/").status_code == 403
    assert as_role("erp_integration").get("/ledger/payments/").status_code == 403
    export = as_role("account_manager_2").get("/ledger/invoices/export/", {"format": "csv"})
    assert [r[4] for r in _csv(export)[1:]] == ["OTHER"]


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_invoice_exports_follow_the_filters_and_the_sort(books: None, as_role: Any) -> None:
    client = as_role("finance")
    table = _csv(client.get("/ledger/invoices/export/", {"format": "csv",
                                                          "kind": "invoice",
                                                          "sort": "due_on"}))
    assert table[0][0] == "customer code" or table[0][0] == "客户编码"
    assert [r[4] for r in table[1:]] == ["OVERDUE", "PAID", "OTHER", "OPEN"]
    overdue = table[1]
    assert overdue[8:10] == ["100.00", "90.00"] and overdue[12] == "70"
    response = client.get("/ledger/invoices/export/", {"format": "xlsx", "status": "settled"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][4] == "PAID"
    assert client.get("/ledger/invoices/export/", {"format": "pdf"}).status_code == 404


def test_payment_and_order_lists_and_exports(books: None, as_role: Any, finance: Actor,
                                             customer: Customer) -> None:
    reversal(finance, customer, "R-1", "P1")
    client = as_role("credit_manager")
    assert sorted(rows(client.get("/ledger/payments/"))) == ["P-OTHER", "P1", "R-1"]
    assert rows(client.get("/ledger/payments/", {"kind": "reversal"})) == ["R-1"]
    assert rows(client.get("/ledger/payments/", {"q": "SK-1"})) == ["P1"]
    assert rows(client.get("/ledger/payments/", {"unapplied": "true"})) == []
    payments = _csv(client.get("/ledger/payments/export/", {"format": "csv",
                                                             "sort": "received_on"}))
    assert [r[4] for r in payments[1:]] == ["P1", "P-OTHER", "R-1"]
    assert payments[1][10] == "PAID 50.00"
    assert sorted(rows(client.get("/ledger/orders/"))) == ["SO-1", "SO-2", "SO-2-C",
                                                           "SO-OTHER"]
    assert sorted(rows(client.get("/ledger/orders/", {"state": "open"}))) == ["SO-1",
                                                                             "SO-OTHER"]
    assert rows(client.get("/ledger/orders/", {"state": "cancelled"})) == ["SO-2"]
    assert rows(client.get("/ledger/orders/", {"ordered_from": str(days(-1)),
                                                "kind": "order"})) == ["SO-OTHER"]
    assert client.get("/ledger/orders/export/", {"format": "xlsx"}).status_code == 200
    orders = _csv(client.get("/ledger/orders/export/", {"format": "csv", "sort": "ordered_on"}))
    assert [r[4] for r in orders[1:]] == ["SO-1", "SO-2", "SO-OTHER", "SO-2-C"]


def test_the_invoice_page_shows_allocations_and_credit_notes(
        books: None, finance: Actor, customer: Customer, as_role: Any) -> None:
    payment(finance, customer, "P2", "30.00", to=[("OVERDUE", "30.00")], number="SK-2")
    overdue = Invoice.objects.get(external_id="OVERDUE")
    html = as_role("sales_manager").get(f"/ledger/invoices/{overdue.pk}/").content.decode()
    assert 'data-status="overdue"' in html
    assert "SK-2" in html and "CN-1" in html
    assert 'data-testid="invoice-open">60.00<' in html
    assert 'data-testid="invoice-dpd">70<' in html
    note = Invoice.objects.get(external_id="CN-1")
    page = as_role("auditor").get(f"/ledger/invoices/{note.pk}/")
    assert page.status_code == 200
    assert f"/ledger/invoices/{overdue.pk}/" in page.content.decode()


# --- import page -------------------------------------------------------------------------------


def _upload(client: Client, kind: str, text: str, *, dry_run: bool = False,
            name: str = "facts.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"kind": kind, "source": "erp",
            "file": SimpleUploadedFile(name, text.encode("utf-8"), "text/csv")}
    if dry_run:
        data["dry_run"] = "on"
    return client.post("/ledger/import/", data)


def test_the_import_page_reports_bad_rows_and_writes_nothing(customer: Customer,
                                                            as_role: Any) -> None:
    client = as_role("finance")
    assert client.get("/ledger/import/").status_code == 200
    before = state()
    response = _upload(client, "invoices",
                       "客户编码,外部编号,开票日期,到期日,金额\n"
                       f"{customer.code},A,{days(-10)},{days(20)},100.00\n"
                       f"{customer.code},B,{days(-10)},{days(-20)},100.00\n"
                       f"999999999,C,2025-13-01,{days(20)},1.005\n")
    html = response.content.decode()
    assert 'data-testid="import-failed"' in html
    assert "到期日" in html and "999999999" in html
    assert state() == before


def test_the_import_page_stores_a_good_file(customer: Customer, as_role: Any) -> None:
    client = as_role("admin")
    text = ("customer,external_id,ordered_on,amount\n"
            f"{customer.code},SO-1,{days(-1)},10.00\n")
    dry = _upload(client, "orders", text, dry_run=True)
    assert 'data-testid="import-dry-run"' in dry.content.decode()
    assert not Order.objects.exists()
    stored = _upload(client, "orders", text)
    assert 'data-testid="import-succeeded"' in stored.content.decode()
    assert Order.objects.get().source == "erp"
    unreadable = _upload(client, "orders", "x", name="facts.pdf")
    assert 'data-testid="form-errors"' in unreadable.content.decode()


def test_import_templates(as_role: Any) -> None:
    client = as_role("finance")
    table = _csv(client.get("/ledger/import/template/", {"kind": "payments",
                                                         "format": "csv"}))
    assert table[0][:4] == ["customer", "external_id", "received_on", "amount"]
    assert client.get("/ledger/import/template/", {"kind": "payments",
                                                   "format": "xlsx"}).status_code == 200
    assert client.get("/ledger/import/template/", {"kind": "refunds"}).status_code == 404
