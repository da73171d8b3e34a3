"""The receivables API: posting (created flag, idempotency, conflicts, batches and their error
fields) and reading (filters, scoping, receivables and ageing)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Customer, CustomerGroup
from custguard.ledger.models import Invoice, Order, Payment
from custguard.ledger.tests.conftest import days
from custguard.ledger.tests.factories import invoice, payment, standing
from custguard.ledger.tests.snapshot import state

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
PROBLEM = "application/problem+json"
D = Decimal


@pytest.fixture
def api(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
        ) -> Callable[[str], Callable[..., Any]]:
    """api(role)(method, path, body=None, **query) -> response, with the role's token."""
    def for_role(role: str) -> Callable[..., Any]:
        headers = bearer_for(personas[role])
        client = Client()

        def call(method: str, path: str, body: Any = None, **query: Any) -> Any:
            if method == "GET":
                return client.get(V1 + path, query, **headers)
            return client.generic(method, V1 + path, _json(body or {}),
                                  content_type="application/json", **headers)
        return call
    return for_role


def _json(body: Any) -> str:
    import json

    return json.dumps(body, ensure_ascii=False, default=str)


def problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    named = {error["field"] for error in body.get("errors", [])}
    assert set(fields) <= named, body
    return body


def invoice_body(owner: Customer, ext: str = "INV-1", **extra: Any) -> dict[str, Any]:
    return {"customer": owner.code, "source": "erp", "external_id": ext,
            "number": "FP-" + ext, "issued_on": str(days(-40)), "due_on": str(days(-10)),
            "amount": "1000.00"} | extra


# --- posting one ---------------------------------------------------------------------------


def test_an_invoice_is_created_once_and_replayed_after(api: Any, customer: Customer,
                                                       policy: Any) -> None:
    erp = api("erp_integration")
    first = erp("POST", "/invoices", invoice_body(customer))
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["created"] is True
    assert body["customer"] == {"id": customer.pk, "code": customer.code, "name": customer.name}
    assert (body["amount"], body["open_amount"], body["status"], body["days_past_due"]) == (
        "1000.00", "1000.00", "overdue", 10)
    assert body["kind"] == "invoice" and body["allocations"] == []
    before = state()
    again = erp("POST", "/invoices", invoice_body(customer))
    assert again.status_code == 200
    assert again.json() | {"created": True} == body
    assert again.json()["created"] is False
    assert state() == before
    # the same identity with another amount is a conflict naming external_id
    conflict = erp("POST", "/invoices", invoice_body(customer, amount="999.00"))
    problem(conflict, 409, "external_id")
    assert state() == before


def test_the_customer_may_be_given_by_id(api: Any, customer: Customer) -> None:
    response = api("finance")("POST", "/orders", {
        "customer": customer.pk, "source": "erp", "external_id": "SO-1",
        "ordered_on": str(days(-1)), "amount": 12.5})
    assert response.status_code == 201, response.content
    assert response.json()["customer"]["code"] == customer.code
    assert Order.objects.get().amount == D("12.50")


def test_an_unknown_customer_is_a_404_naming_the_field(api: Any, customer: Customer) -> None:
    finance = api("finance")
    before = state()
    for value in ("999999999", 987654, "abc"):
        problem(finance("POST", "/invoices", invoice_body(customer, customer=value)),
                404, "customer")
    assert state() == before


def test_bad_input_is_a_422_naming_the_field(api: Any, customer: Customer) -> None:
    finance = api("finance")
    before = state()
    problem(finance("POST", "/invoices", invoice_body(customer, amount="10.005")), 422,
            "amount")
    problem(finance("POST", "/invoices", invoice_body(customer, amount="-1")), 422, "amount")
    problem(finance("POST", "/invoices", invoice_body(customer, due_on=str(days(-41)))), 422,
            "due_on")
    problem(finance("POST", "/invoices", invoice_body(customer, issued_on=str(days(1)),
                                                      due_on=str(days(2)))), 422, "issued_on")
    problem(finance("POST", "/invoices", invoice_body(customer, due_on="tomorrow")), 422,
            "due_on")
    problem(finance("POST", "/invoices", invoice_body(customer, colour="red")), 422, "colour")
    body = invoice_body(customer)
    del body["external_id"]
    problem(finance("POST", "/invoices", body), 422, "external_id")
    problem(finance("POST", "/payments", {
        "customer": customer.code, "source": "erp", "external_id": "P", "amount": "5.00",
        "received_on": str(days(0)),
        "allocations": [{"invoice_external_id": "NOPE", "amount": "5.00"}]}), 422,
        "allocations[0].invoice_external_id")
    assert state() == before


def test_an_account_manager_may_not_post(api: Any, customer: Customer) -> None:
    manager = api("account_manager")
    before = state()
    problem(manager("POST", "/invoices", invoice_body(customer)), 403)
    assert state() == before


def test_payments_over_the_api(api: Any, customer: Customer, finance: Actor) -> None:
    invoice(finance, customer, "A", "100.00", issued=days(-50), due=days(-20))
    invoice(finance, customer, "B", "200.00", issued=days(-20), due=days(10))
    erp = api("erp_integration")
    oldest = erp("POST", "/payments", {"customer": customer.code, "source": "erp",
                                       "external_id": "P1", "received_on": str(days(-1)),
                                       "amount": "150.00"})
    assert oldest.status_code == 201, oldest.content
    body = oldest.json()
    assert [(a["invoice"]["external_id"], a["amount"]) for a in body["allocations"]] == [
        ("A", "100.00"), ("B", "50.00")]
    assert body["unapplied_amount"] == "0.00"
    explicit = erp("POST", "/payments", {
        "customer": customer.code, "source": "erp", "external_id": "P2",
        "received_on": str(days(0)), "amount": "160.00",
        "allocations": [{"invoice_external_id": "B", "amount": "150.00"}]})
    assert explicit.status_code == 201, explicit.content
    assert explicit.json()["unapplied_amount"] == "10.00"
    reversed_ = erp("POST", "/payment-reversals", {
        "customer": customer.code, "source": "erp", "external_id": "R1",
        "payment_external_id": "P1", "reversed_on": str(days(0)), "reason": "退票"})
    assert reversed_.status_code == 201, reversed_.content
    assert reversed_.json()["reverses"]["external_id"] == "P1"
    assert standing(customer).posted == D("140.00")  # 300 - 160
    paid = api("finance")("GET", f"/payments/{body['id']}").json()
    assert paid["reversed_by"]["external_id"] == "R1"


def test_orders_cancellations_and_credit_notes(api: Any, customer: Customer,
                                               finance: Actor) -> None:
    erp = api("erp_integration")
    assert erp("POST", "/orders", {"customer": customer.code, "source": "erp",
                                   "external_id": "SO-1", "ordered_on": str(days(-2)),
                                   "amount": "500.00"}).status_code == 201
    cancelled = erp("POST", "/order-cancellations", {
        "customer": customer.code, "source": "erp", "external_id": "SO-1-C",
        "order_external_id": "SO-1", "cancelled_on": str(days(0))})
    assert cancelled.status_code == 201, cancelled.content
    assert cancelled.json()["cancels"]["external_id"] == "SO-1"
    assert cancelled.json()["kind"] == "cancellation"
    invoice(finance, customer, "A", "100.00")
    note = erp("POST", "/credit-notes", {
        "customer": customer.code, "source": "erp", "external_id": "CN-1",
        "corrects_external_id": "A", "issued_on": str(days(0)), "amount": "30.00"})
    assert note.status_code == 201, note.content
    assert note.json()["corrects"]["external_id"] == "A"
    assert note.json()["status"] is None
    problem(erp("POST", "/credit-notes", {
        "customer": customer.code, "source": "erp", "external_id": "CN-2",
        "corrects_external_id": "A", "issued_on": str(days(0)), "amount": "70.01"}), 422,
        "amount")


# --- batches -------------------------------------------------------------------------------


def test_a_batch_is_all_or_nothing(api: Any, customer: Customer,
                                   other_customer: Customer, policy: Any) -> None:
    finance = api("finance")
    items = [invoice_body(customer, f"B-{n}") for n in range(4)]
    items[1]["due_on"] = str(days(-50))
    items[3]["customer"] = "999999999"
    before = state()
    body = problem(finance("POST", "/invoices/batch", {"items": items}), 422,
                   "items[1].due_on", "items[3].customer")
    assert len(body["errors"]) == 2
    assert state() == before

    good = [invoice_body(customer, f"B-{n}") for n in range(3)]
    good.append(invoice_body(other_customer, "B-0-OTHER"))
    good.append(invoice_body(customer, "B-0"))  # a replay inside the batch is fine
    created = finance("POST", "/invoices/batch", {"items": good})
    assert created.status_code == 201, created.content
    result = created.json()
    assert (result["created"], result["replayed"]) == (4, 1)
    assert [r["created"] for r in result["results"]] == [True, True, True, True, False]
    assert result["results"][4]["id"] == result["results"][0]["id"]
    assert Invoice.objects.count() == 4
    assert standing(customer).posted == D("3000.00")
    assert AuditEntry.objects.filter(action="ledger.invoice").count() == 4

    before = state()
    again = finance("POST", "/invoices/batch", {"items": good})
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["replayed"]) == (0, 5)
    assert state() == before


def test_batch_errors_name_nested_fields(api: Any, customer: Customer, finance: Actor) -> None:
    invoice(finance, customer, "A", "100.00")
    items = [
        {"customer": customer.code, "source": "erp", "external_id": "P1",
         "received_on": str(days(0)), "amount": "50.00",
         "allocations": [{"invoice_external_id": "A", "amount": "50.00"}]},
        {"customer": customer.code, "source": "erp", "external_id": "P2",
         "received_on": str(days(0)), "amount": "60.00",
         "allocations": [{"invoice_external_id": "A", "amount": "60.00"}]},
    ]
    finance_api = api("finance")
    before = state()
    problem(finance_api("POST", "/payments/batch", {"items": items}), 422,
            "items[1].allocations[0].amount")
    assert state() == before
    # a schema error inside an item names the item too
    items[0]["amount"] = "lots"
    problem(finance_api("POST", "/payments/batch", {"items": items}), 422, "items[0].amount")
    assert state() == before


def test_a_batch_has_between_1_and_1000_items(api: Any, customer: Customer) -> None:
    finance = api("finance")
    problem(finance("POST", "/orders/batch", {"items": []}), 422, "items")
    items = [{"customer": customer.code, "source": "erp", "external_id": f"SO-{n}",
              "ordered_on": str(days(0)), "amount": "1.00"} for n in range(1001)]
    problem(finance("POST", "/orders/batch", {"items": items}), 422, "items")
    assert not Order.objects.exists()


def test_a_batch_of_each_kind(api: Any, customer: Customer, finance: Actor) -> None:
    erp = api("erp_integration")
    invoice(finance, customer, "A", "100.00")
    payment(finance, customer, "P0", "10.00")
    from custguard.ledger.tests.factories import order
    order(finance, customer, "SO-0")
    base = {"customer": customer.code, "source": "erp"}
    bodies = {
        "/orders/batch": [base | {"external_id": "SO-1", "ordered_on": str(days(0)),
                                  "amount": "1.00"}],
        "/order-cancellations/batch": [base | {"external_id": "C-1",
                                               "order_external_id": "SO-0",
                                               "cancelled_on": str(days(0))}],
        "/credit-notes/batch": [base | {"external_id": "CN-1", "corrects_external_id": "A",
                                        "issued_on": str(days(0)), "amount": "5.00"}],
        "/payments/batch": [base | {"external_id": "P1", "received_on": str(days(0)),
                                    "amount": "5.00"}],
        "/payment-reversals/batch": [base | {"external_id": "R1",
                                             "payment_external_id": "P0",
                                             "reversed_on": str(days(0))}],
    }
    for path, items in bodies.items():
        response = erp("POST", path, {"items": items})
        assert response.status_code == 201, (path, response.content)
        assert response.json()["created"] == 1


def test_a_batch_customer_outside_the_scope_is_the_items_error(
        api: Any, customer: Customer, other_customer: Customer,
        personas: dict[str, User]) -> None:
    """A poster who may not see a customer: in a batch that item is refused like an unknown
    customer; alone, it is a 404. (No role posts with a limited scope, so an account manager
    is given the permission here.)"""
    from django.contrib.auth.models import Permission

    user = personas["account_manager"]
    user.user_permissions.add(Permission.objects.get(codename="add_invoice"))
    user = User.objects.get(pk=user.pk)  # fresh permission cache
    headers_client = Client()
    headers_client.force_login(user)
    items = [invoice_body(customer, "OWN"), invoice_body(other_customer, "NOT-OWN")]
    response = headers_client.post(f"{V1}/invoices/batch", _json({"items": items}),
                                   content_type="application/json")
    problem(response, 422, "items[1].customer")
    assert not Invoice.objects.exists()
    single = headers_client.post(f"{V1}/invoices", _json(invoice_body(other_customer)),
                                 content_type="application/json")
    problem(single, 404, "customer")


# --- reading -------------------------------------------------------------------------------


@pytest.fixture
def books(finance: Actor, customer: Customer, other_customer: Customer,
          group: CustomerGroup) -> dict[str, Any]:
    member = group.members.exclude(pk=group.parent_id).get()
    invoice(finance, customer, "OVERDUE", "100.00", issued=days(-100), due=days(-70))
    invoice(finance, customer, "OPEN", "200.00", issued=days(-10), due=days(20))
    invoice(finance, customer, "PAID", "50.00", issued=days(-60), due=days(-30),
            number="FP-PAID")
    payment(finance, customer, "P1", "50.00", to=[("PAID", "50.00")], on=days(-29))
    invoice(finance, other_customer, "OTHER", "10.00", issued=days(-5), due=days(5))
    invoice(finance, member, "MEMBER", "40.00", issued=days(-50), due=days(-35))
    return {"member": member}


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["external_id"] for item in response.json()["items"])


def test_invoice_filters(api: Any, books: dict[str, Any], customer: Customer) -> None:
    finance = api("finance")
    assert _ids(finance("GET", "/invoices")) == ["MEMBER", "OPEN", "OTHER", "OVERDUE", "PAID"]
    assert _ids(finance("GET", "/invoices", customer=customer.code)) == [
        "OPEN", "OVERDUE", "PAID"]
    assert _ids(finance("GET", "/invoices", status="overdue")) == ["MEMBER", "OVERDUE"]
    assert _ids(finance("GET", "/invoices", status="open")) == [
        "MEMBER", "OPEN", "OTHER", "OVERDUE"]
    assert _ids(finance("GET", "/invoices", status="settled")) == ["PAID"]
    assert _ids(finance("GET", "/invoices", date_from=str(days(-60)),
                        date_to=str(days(-10)))) == ["MEMBER", "OPEN", "PAID"]
    assert _ids(finance("GET", "/invoices", due_from=str(days(-40)),
                        due_to=str(days(0)))) == ["MEMBER", "PAID"]
    assert _ids(finance("GET", "/invoices", kind="credit_note")) == []
    problem(finance("GET", "/invoices", status="late"), 422, "status")
    problem(finance("GET", "/invoices", ordering="colour"), 422, "ordering")
    page = finance("GET", "/invoices", ordering="due_on").json()
    assert page["count"] == 5
    assert [i["external_id"] for i in page["items"]][:2] == ["OVERDUE", "MEMBER"]


def test_reading_is_scoped_to_the_users_customers(api: Any, books: dict[str, Any],
                                                  customer: Customer) -> None:
    assert _ids(api("account_manager")("GET", "/invoices")) == [
        "MEMBER", "OPEN", "OVERDUE", "PAID"]
    assert _ids(api("account_manager_2")("GET", "/invoices")) == ["OTHER"]
    mine = Invoice.objects.get(external_id="OPEN")
    problem(api("account_manager_2")("GET", f"/invoices/{mine.pk}"), 404)
    assert api("account_manager")("GET", f"/invoices/{mine.pk}").status_code == 200
    problem(api("erp_integration")("GET", "/invoices"), 403)
    problem(api("customer_service")("GET", f"/invoices/{mine.pk}"), 403)
    problem(api("account_manager_2")("GET", f"/customers/{customer.code}/receivables"), 404)


def test_an_invoice_shows_its_allocations_and_credit_notes(api: Any, finance: Actor,
                                                          customer: Customer) -> None:
    from custguard.ledger.tests.factories import credit_note
    invoice(finance, customer, "A", "100.00", issued=days(-40), due=days(-10))
    payment(finance, customer, "P1", "30.00", on=days(-5))
    credit_note(finance, customer, "CN-1", "A", "20.00")
    found = Invoice.objects.get(external_id="A")
    body = api("auditor")("GET", f"/invoices/{found.pk}").json()
    assert body["open_amount"] == "50.00"
    assert body["status"] == "overdue" and body["days_past_due"] == 10
    assert [(a["amount"], (a["payment"] or {}).get("external_id"),
             (a["credit_note"] or {}).get("external_id")) for a in body["allocations"]] == [
        ("30.00", "P1", None), ("20.00", None, "CN-1")]
    assert [n["external_id"] for n in body["credit_notes"]] == ["CN-1"]


def test_orders_and_payments_lists(api: Any, books: dict[str, Any], finance: Actor,
                                   customer: Customer) -> None:
    from custguard.ledger.tests.factories import cancellation, order
    order(finance, customer, "SO-1", on=days(-3))
    order(finance, customer, "SO-2", on=days(-2))
    cancellation(finance, customer, "SO-2-C", "SO-2")
    reader = api("credit_manager")
    assert _ids(reader("GET", "/orders")) == ["SO-1", "SO-2", "SO-2-C"]
    assert _ids(reader("GET", "/orders", kind="cancellation")) == ["SO-2-C"]
    assert _ids(reader("GET", "/orders", open="true")) == ["SO-1"]
    assert _ids(reader("GET", "/payments", customer=customer.code)) == ["P1"]
    assert _ids(reader("GET", "/payments", kind="reversal")) == []
    got = reader("GET", f"/orders/{Order.objects.get(external_id='SO-2').pk}").json()
    assert got["cancelled_by"]["external_id"] == "SO-2-C"
    problem(reader("GET", "/orders/999999"), 404)
    problem(reader("GET", "/payments/999999"), 404)
    assert Payment.objects.count() == 1


def test_receivables_of_a_customer_and_its_group(api: Any, books: dict[str, Any],
                                                 customer: Customer) -> None:
    body = api("sales_manager")("GET", f"/customers/{customer.code}/receivables").json()
    assert body["customer"]["code"] == customer.code
    assert (body["posted"], body["reserved"], body["overdue_amount"]) == (
        "300.00", "0.00", "100.00")
    assert body["days_past_due"] == 70 and body["oldest_open_due_on"] == str(days(-70))
    assert body["ageing"] == {"not_due": "200.00", "dpd_1_30": "0.00", "dpd_31_60": "0.00",
                              "dpd_61_90": "100.00", "dpd_over_90": "0.00",
                              "total": "300.00", "overdue": "100.00"}
    assert body["group"] is None
    member = books["member"]
    grouped = api("finance")("GET", f"/customers/{member.pk}/receivables").json()
    assert grouped["group"]["group"]["name"] == "账款集团"
    assert grouped["group"]["posted"] == "40.00"
    assert grouped["group"]["ageing"]["dpd_31_60"] == "40.00"
    assert grouped["group"]["days_past_due"] == 35


def test_odd_input_is_refused_cleanly(api: Any, customer: Customer) -> None:
    finance = api("finance")
    before = state()
    problem(finance("POST", "/invoices", invoice_body(customer, external_id="A\x00B")), 422,
            "external_id")
    problem(finance("POST", "/invoices", invoice_body(customer, customer="9" * 30)), 404,
            "customer")
    problem(finance("GET", "/invoices", source="erp\x00"), 422, "source")
    problem(finance("GET", "/invoices", customer="x"), 422, "customer")
    problem(finance("GET", f"/invoices/{'9' * 25}"), 404)
    assert state() == before
