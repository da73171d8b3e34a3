"""The registry's HTML UI: lists, filters, exports, detail, forms, groups, regions, import page,
and who may see and do what."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from custguard.core.actors import Actor
from custguard.core.exports import export_response
from custguard.core.models import AuditEntry, User
from custguard.customers import services
from custguard.customers.models import Contact, Customer, CustomerGroup, Region

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def geo() -> dict[str, Region]:
    guangdong, _ = Region.objects.get_or_create(code="440000", defaults={"name": "广东省"})
    shenzhen, _ = Region.objects.get_or_create(code="440300",
                                               defaults={"name": "深圳市", "parent": guangdong})
    guangzhou, _ = Region.objects.get_or_create(code="440100",
                                                defaults={"name": "广州市", "parent": guangdong})
    beijing, _ = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    return {"gd": guangdong, "sz": shenzhen, "gz": guangzhou, "bj": beijing}


def user(role: str | None, username: str) -> User:
    person = User.objects.create_user(username=username, password="pw-" + username)
    if role:
        person.groups.add(Group.objects.get(name=role))
    return person


def login(person: User) -> Client:
    """A logged-in client that asks for English, so text assertions do not depend on the
    zh-Hans catalog."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(person)
    return client


def make_customer(region: Region, name: str, **fields: Any) -> Customer:
    fields.setdefault("kind", "enterprise")
    return services.create_customer(SYSTEM, region=region, name=name, **fields)


def codes_on_page(html: str) -> list[str]:
    return re.findall(r'<tr data-code="(\d{9})"', html)


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "sales": user("sales_manager", "sales"),
        "am": user("account_manager", "am1"),
        "am2": user("account_manager", "am2"),
        "cs": user("customer_service", "cs"),
        "auditor": user("auditor", "auditor"),
        "credit": user("credit_manager", "credit"),
        "outsider": user(None, "outsider"),
    }


@pytest.fixture
def acme(geo: dict[str, Region], people: dict[str, User]) -> Customer:
    customer = make_customer(
        geo["sz"], "深圳艾可美科技有限公司", account_manager=people["am"], phone="13812345678",
        id_number="91440300MA5FAKE123", address="深圳市南山区科技园南路88号",
        value_tier="strategic",
        contacts=[{"name": "张三", "role": "采购", "phone": "13900001111",
                   "email": "zhangsan@example.com", "is_primary": True}])
    return customer


# --- list, filters, sort, pagination ------------------------------------------------------------


def test_pages_need_login(geo: dict[str, Region]) -> None:
    response = Client().get(reverse("customers:list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_outsider_without_permission_gets_403(people: dict[str, User]) -> None:
    client = login(people["outsider"])
    for name in ("customers:list", "customers:groups", "customers:regions", "customers:create",
                 "customers:import"):
        assert client.get(reverse(name)).status_code == 403, name


def test_list_paginates_25_per_page(geo: dict[str, Region], people: dict[str, User]) -> None:
    for i in range(30):
        make_customer(geo["sz"], f"Customer {i:02d}")
    client = login(people["sales"])
    first = client.get(reverse("customers:list"))
    assert first.status_code == 200
    assert len(codes_on_page(first.content.decode())) == 25
    assert "30" in first.content.decode()
    second = client.get(reverse("customers:list"), {"page": 2})
    codes = codes_on_page(second.content.decode())
    assert codes == [f"440300{n:03d}" for n in range(26, 31)]


def test_list_search_by_code_name_and_phone(geo: dict[str, Region],
                                            people: dict[str, User]) -> None:
    a = make_customer(geo["sz"], "Alpha Trading", phone="13800000001")
    b = make_customer(geo["gz"], "Beta Foods", phone="02012345678")
    c = make_customer(geo["bj"], "Gamma", contacts=[{"name": "Li", "phone": "13699998888"}])
    client = login(people["sales"])

    def search(q: str) -> set[str]:
        html = client.get(reverse("customers:list"), {"q": q}).content.decode()
        return set(codes_on_page(html))

    assert search("440100") == {b.code}
    assert search("alpha") == {a.code}
    assert search("12345678") == {b.code}
    assert search("99998888") == {c.code}  # a contact's phone


def test_list_filters(geo: dict[str, Region], people: dict[str, User]) -> None:
    sz = make_customer(geo["sz"], "SZ dealer", kind="dealer", value_tier="important",
                       account_manager=people["am"])
    gz = make_customer(geo["gz"], "GZ enterprise", status="dormant",
                       account_manager=people["am2"])
    bj = make_customer(geo["bj"], "BJ person", kind="individual", value_tier="potential")
    client = login(people["sales"])

    def filtered(**params: str) -> set[str]:
        response = client.get(reverse("customers:list"), params)
        assert response.status_code == 200
        return set(codes_on_page(response.content.decode()))

    assert filtered(region="440000") == {sz.code, gz.code}  # a province matches its cities
    assert filtered(region="440300") == {sz.code}
    assert filtered(kind="dealer") == {sz.code}
    assert filtered(value_tier="potential") == {bj.code}
    assert filtered(status="dormant") == {gz.code}
    assert filtered(account_manager=str(people["am2"].pk)) == {gz.code}
    assert filtered(region="440000", kind="enterprise") == {gz.code}


def test_list_sorts_by_columns(geo: dict[str, Region], people: dict[str, User]) -> None:
    b = make_customer(geo["sz"], "Bravo")
    a = make_customer(geo["gz"], "Alpha")
    c = make_customer(geo["bj"], "Charlie")
    client = login(people["sales"])

    def order(sort: str) -> list[str]:
        return codes_on_page(client.get(reverse("customers:list"),
                                        {"sort": sort}).content.decode())

    assert order("name") == [a.code, b.code, c.code]
    assert order("-name") == [c.code, b.code, a.code]
    assert order("code") == [c.code, a.code, b.code]
    assert order("-region") == [b.code, a.code, c.code]
    assert codes_on_page(client.get(reverse("customers:list")).content.decode()) == [
        c.code, a.code, b.code]  # by code by default


def test_htmx_request_gets_only_the_table(acme: Customer, people: dict[str, User]) -> None:
    response = login(people["sales"]).get(reverse("customers:list"), {"q": "艾可美"},
                                          HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert codes_on_page(html) == [acme.code]
    assert 'data-testid="export-csv"' in html


# --- scoping and PII ----------------------------------------------------------------------------


def test_account_manager_sees_only_own_customers(geo: dict[str, Region], acme: Customer,
                                                 people: dict[str, User]) -> None:
    other = make_customer(geo["gz"], "Someone else's", account_manager=people["am2"])
    client = login(people["am"])
    html = client.get(reverse("customers:list")).content.decode()
    assert codes_on_page(html) == [acme.code]
    assert 'name="account_manager"' not in html  # no pointless filter
    assert client.get(reverse("customers:detail", args=[acme.code])).status_code == 200
    assert client.get(reverse("customers:detail", args=[other.code])).status_code == 404
    assert client.get(reverse("customers:edit", args=[other.code])).status_code == 404
    response = client.post(reverse("customers:edit", args=[other.code]),
                           {"name": "taken over", "kind": "enterprise"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.name == "Someone else's"
    export = client.get(reverse("customers:export"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [acme.code]


def test_unknown_code_is_404(people: dict[str, User]) -> None:
    assert login(people["sales"]).get(
        reverse("customers:detail", args=["999999999"])).status_code == 404


def test_customer_service_sees_masked_pii(acme: Customer, people: dict[str, User]) -> None:
    client = login(people["cs"])
    listing = client.get(reverse("customers:list")).content.decode()
    assert "13812345678" not in listing
    assert "138****5678" in listing
    detail = client.get(reverse("customers:detail", args=[acme.code])).content.decode()
    for secret in ("13812345678", "91440300MA5FAKE123", "科技园南路88号", "13900001111",
                   "zhangsan@example.com"):
        assert secret not in detail, secret  # not in the profile, contacts or the timeline
    assert "138****5678" in detail
    assert "9144**********E123" in detail
    assert "139****1111" in detail
    assert "z***@example.com" in detail
    assert acme.code in detail


def test_pii_shown_to_roles_that_may_see_it(acme: Customer, people: dict[str, User]) -> None:
    detail = login(people["am"]).get(
        reverse("customers:detail", args=[acme.code])).content.decode()
    for value in ("13812345678", "91440300MA5FAKE123", "深圳市南山区科技园南路88号",
                  "13900001111", "zhangsan@example.com"):
        assert value in detail


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_profile_standing_group_and_timeline(acme: Customer,
                                                          people: dict[str, User]) -> None:
    services.update_customer(SYSTEM, acme, status="dormant", reason="no orders this year")
    html = login(people["sales"]).get(
        reverse("customers:detail", args=[acme.code])).content.decode()
    assert f'data-testid="customer-code">{acme.code}<' in html
    assert 'data-testid="standing"' in html
    assert "Not in a customer group." in html
    timeline = html[html.index('data-testid="timeline"'):]
    assert "customer.update" in timeline
    assert "customer.create" in timeline
    assert timeline.index("customer.update") < timeline.index("customer.create")  # newest first
    assert "no orders this year" in timeline
    # Field names and coded values are shown with their labels; the codes stay in the markup.
    assert re.search(r"<del[^>]*>Active</del> → Dormant", timeline)
    assert 'data-field="status"' in timeline
    assert "tests" in timeline  # the actor


def test_auditor_sees_no_edit_button_and_cannot_edit(acme: Customer,
                                                     people: dict[str, User]) -> None:
    client = login(people["auditor"])
    html = client.get(reverse("customers:detail", args=[acme.code])).content.decode()
    assert 'data-testid="edit-customer"' not in html
    assert 'data-testid="add-contact"' not in html
    assert reverse("customers:contact_delete", args=[acme.code, acme.contacts.get().pk]) \
        not in html
    listing = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="new-customer"' not in listing
    before = AuditEntry.objects.count()
    response = client.post(reverse("customers:edit", args=[acme.code]),
                           {"name": "Hacked", "kind": "dealer", "scale_band": "small",
                            "value_tier": "general", "status": "closed"})
    assert response.status_code == 403
    assert client.get(reverse("customers:edit", args=[acme.code])).status_code == 403
    assert client.get(reverse("customers:create")).status_code == 403
    assert client.post(reverse("customers:contact_delete",
                               args=[acme.code, acme.contacts.get().pk])).status_code == 403
    acme.refresh_from_db()
    assert (acme.name, acme.kind, acme.status) == ("深圳艾可美科技有限公司", "enterprise", "active")
    assert acme.contacts.count() == 1
    assert AuditEntry.objects.count() == before


def test_editor_sees_edit_button(acme: Customer, people: dict[str, User]) -> None:
    html = login(people["am"]).get(reverse("customers:detail", args=[acme.code])).content.decode()
    assert 'data-testid="edit-customer"' in html
    assert 'data-confirm=' in html  # the contact's remove form asks first


# --- create and edit --------------------------------------------------------------------------


def create_data(**overrides: str) -> dict[str, str]:
    data = {"region": "440300", "name": "新客户有限公司", "kind": "enterprise", "industry": "C",
            "scale_band": "medium", "department": "华南", "value_tier": "important",
            "status": "active", "phone": "0755-12345678", "id_number": "", "address": "",
            "notes": ""}
    data.update(overrides)
    return data


def test_create_customer(geo: dict[str, Region], people: dict[str, User]) -> None:
    client = login(people["sales"])
    form_page = client.get(reverse("customers:create")).content.decode()
    assert '<optgroup label="广东省">' in form_page
    assert 'name="account_manager"' in form_page
    response = client.post(reverse("customers:create"),
                           create_data(account_manager=str(people["am"].pk)))
    customer = Customer.objects.get(name="新客户有限公司")
    assert customer.code.startswith("440300") and len(customer.code) == 9
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.code])
    assert customer.account_manager == people["am"]
    assert customer.industry == "C" and customer.value_tier == "important"
    assert AuditEntry.objects.filter(action="customer.create", customer_id=customer.pk).exists()
    detail = client.get(response["Location"]).content.decode()
    assert "新客户有限公司" in detail and customer.code in detail


def test_account_manager_creates_for_themselves(geo: dict[str, Region],
                                                people: dict[str, User]) -> None:
    client = login(people["am"])
    assert 'name="account_manager"' not in client.get(
        reverse("customers:create")).content.decode()
    response = client.post(reverse("customers:create"),
                           create_data(account_manager=str(people["am2"].pk)))
    assert response.status_code == 302
    assert Customer.objects.get(name="新客户有限公司").account_manager == people["am"]


def test_create_shows_field_errors_and_writes_nothing(geo: dict[str, Region],
                                                      people: dict[str, User]) -> None:
    client = login(people["sales"])
    audit_before = AuditEntry.objects.count()
    response = client.post(reverse("customers:create"),
                           create_data(name="", phone="call me", region="999999"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-field-error="name"' in html
    assert 'data-field-error="phone"' in html
    assert 'data-field-error="region"' in html
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before
    assert Region.objects.get(code="440300").last_serial == 0


def test_create_refused_by_service_shows_the_reason(geo: dict[str, Region],
                                                    people: dict[str, User]) -> None:
    Region.objects.filter(code="440300").update(last_serial=999)
    response = login(people["sales"]).post(reverse("customers:create"), create_data())
    assert response.status_code == 200
    assert 'data-field-error="region"' in response.content.decode()
    assert not Customer.objects.exists()


def test_edit_customer(acme: Customer, people: dict[str, User]) -> None:
    client = login(people["am"])
    page = client.get(reverse("customers:edit", args=[acme.code])).content.decode()
    assert acme.code in page
    assert 'name="region"' not in page and 'name="code"' not in page
    assert 'value="深圳艾可美科技有限公司"' in page
    response = client.post(reverse("customers:edit", args=[acme.code]), {
        "name": "艾可美集团", "kind": "enterprise", "industry": "", "scale_band": "large",
        "department": "", "value_tier": "strategic", "status": "active",
        "phone": "13812345678", "id_number": "91440300MA5FAKE123",
        "address": "深圳市南山区科技园南路88号", "notes": "", "reason": "renamed"})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.scale_band, acme.code) == ("艾可美集团", "large", "440300001")
    entry = AuditEntry.objects.filter(action="customer.update").get()
    assert entry.after == {"name": "艾可美集团", "scale_band": "large"}
    assert entry.reason == "renamed"


def test_edit_with_errors_changes_nothing(acme: Customer, people: dict[str, User]) -> None:
    response = login(people["am"]).post(reverse("customers:edit", args=[acme.code]), {
        "name": "Renamed", "kind": "nonsense", "scale_band": "small", "value_tier": "general",
        "status": "active", "phone": "13812345678"})
    assert response.status_code == 200
    assert 'data-field-error="kind"' in response.content.decode()
    acme.refresh_from_db()
    assert acme.name == "深圳艾可美科技有限公司"


# --- contacts ---------------------------------------------------------------------------------


def test_contact_add_edit_delete(acme: Customer, people: dict[str, User]) -> None:
    client = login(people["am"])
    response = client.post(reverse("customers:contact_add", args=[acme.code]),
                           {"name": "李四", "role": "财务", "phone": "13700002222",
                            "email": "lisi@example.com"})
    assert response.status_code == 302
    contact = acme.contacts.get(name="李四")
    assert AuditEntry.objects.filter(action="contact.create", customer_id=acme.pk).exists()

    bad = client.post(reverse("customers:contact_add", args=[acme.code]),
                      {"name": "", "email": "not-an-email"})
    assert 'data-field-error="email"' in bad.content.decode()
    assert acme.contacts.count() == 2

    client.post(reverse("customers:contact_edit", args=[acme.code, contact.pk]),
                {"name": "李四", "role": "财务总监", "phone": "13700002222",
                 "email": "lisi@example.com"})
    contact.refresh_from_db()
    assert contact.role == "财务总监"

    delete_url = reverse("customers:contact_delete", args=[acme.code, contact.pk])
    assert client.get(delete_url).status_code == 405  # GET never writes
    assert acme.contacts.filter(pk=contact.pk).exists()
    assert client.post(delete_url).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEntry.objects.filter(action="contact.delete", customer_id=acme.pk).exists()


def test_contact_of_another_customer_is_404(geo: dict[str, Region], acme: Customer,
                                            people: dict[str, User]) -> None:
    other = make_customer(geo["gz"], "Other", account_manager=people["am"],
                          contacts=[{"name": "王五"}])
    contact = other.contacts.get()
    response = login(people["am"]).post(
        reverse("customers:contact_delete", args=[acme.code, contact.pk]))
    assert response.status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- exports ----------------------------------------------------------------------------------


def test_export_csv_honours_filters_and_sort(geo: dict[str, Region], acme: Customer,
                                             people: dict[str, User]) -> None:
    b = make_customer(geo["gz"], "Bravo 广州")
    make_customer(geo["bj"], "Beijing only")
    response = login(people["sales"]).get(
        reverse("customers:export"), {"format": "csv", "region": "440000", "sort": "-code",
                                      "page": "3"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "code" and "phone" in header
    assert [r[0] for r in body] == [acme.code, b.code]  # region filter, code descending
    row = dict(zip(header, body[0], strict=True))
    assert row["name"] == "深圳艾可美科技有限公司"
    assert row["phone"] == "13812345678"  # a sales manager may see PII
    assert row["primary contact"] == "张三"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", row["created at"])


def test_export_masks_pii_for_customer_service(acme: Customer, people: dict[str, User]) -> None:
    client = login(people["cs"])
    csv_text = client.get(reverse("customers:export"), {"format": "csv"}).content.decode(
        "utf-8-sig")
    for secret in ("13812345678", "91440300MA5FAKE123", "科技园南路88号", "13900001111",
                   "zhangsan@example.com"):
        assert secret not in csv_text
    assert "138****5678" in csv_text

    response = client.get(reverse("customers:export"), {"format": "xlsx"})
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    row = dict(zip(header, rows[1], strict=True))
    assert row["code"] == acme.code
    assert row["phone"] == "138****5678"
    assert row["ID / credit code"] == "9144**********E123"
    assert row["contact phone"] == "139****1111"
    assert isinstance(row["created at"], dt.datetime)
    assert len(rows) == 2


def test_export_xlsx_contents(geo: dict[str, Region], acme: Customer,
                              people: dict[str, User]) -> None:
    make_customer(geo["gz"], "=HYPERLINK(\"http://evil\")")
    response = login(people["sales"]).get(reverse("customers:export"),
                                          {"format": "xlsx", "sort": "name"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    names = [r[1] for r in rows[1:]]
    assert names == sorted(names)
    assert "=HYPERLINK(\"http://evil\")" in names  # kept as text, not a formula
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == acme.code), strict=True))
    assert row["phone"] == "13812345678"
    assert row["region code"] == "440300"


def test_export_unknown_format_is_404(people: dict[str, User]) -> None:
    assert login(people["sales"]).get(reverse("customers:export"),
                                      {"format": "pdf"}).status_code == 404


def test_export_response_renders_values() -> None:
    moment = dt.datetime(2025, 1, 2, 1, 30, tzinfo=dt.UTC)
    rows = [["=1+1", Decimal("1234.50"), moment, dt.date(2025, 3, 4), True, None,
             "+86 138 0000 0000", "-5"]]
    with translation.override("en"):
        response = export_response("test", ["a", "b", "c", "d", "e", "f", "g", "h"], rows, "csv")
    (_header, line) = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert line == ["'=1+1", "1234.50", "2025-01-02 09:30:00", "2025-03-04", "Yes", "",
                    "+86 138 0000 0000", "-5"]
    xlsx = export_response("test", ["a", "b", "c", "d", "e", "f", "g", "h"], rows, "xlsx")
    values = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))[1]
    assert values[0] == "=1+1"
    assert values[1] == pytest.approx(1234.5)
    assert values[2] == dt.datetime(2025, 1, 2, 9, 30)  # local time (Asia/Shanghai)
    with pytest.raises(ValueError):
        export_response("test", ["a"], [], "pdf")


# --- groups -----------------------------------------------------------------------------------


def test_group_create_add_and_remove_members(geo: dict[str, Region], acme: Customer,
                                             people: dict[str, User]) -> None:
    b = make_customer(geo["gz"], "Member B")
    c = make_customer(geo["bj"], "Member C")
    client = login(people["credit"])
    response = client.post(reverse("customers:group_create"),
                           {"name": "艾可美集团", "parent": acme.code, "members": b.code,
                            "notes": ""})
    group = CustomerGroup.objects.get(name="艾可美集团")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:group_detail", args=[group.pk])
    assert set(group.members.values_list("code", flat=True)) == {acme.code, b.code}

    detail = client.get(response["Location"]).content.decode()
    assert acme.code in detail and b.code in detail
    assert reverse("customers:group_member_remove", args=[group.pk, b.code]) in detail
    assert reverse("customers:group_member_remove", args=[group.pk, acme.code]) not in detail

    assert client.post(reverse("customers:group_member_add", args=[group.pk]),
                       {"customer": c.code}).status_code == 302
    c.refresh_from_db()
    assert c.group == group

    remove = reverse("customers:group_member_remove", args=[group.pk, b.code])
    assert client.get(remove).status_code == 405
    assert client.post(remove).status_code == 302
    b.refresh_from_db()
    assert b.group is None
    actions = list(AuditEntry.objects.filter(object_type="customers.customergroup")
                   .values_list("action", flat=True))
    assert "group.member_remove" in actions and "group.member_add" in actions

    listing = client.get(reverse("customers:groups")).content.decode()
    assert "艾可美集团" in listing


def test_customer_in_another_group_is_refused(geo: dict[str, Region], acme: Customer,
                                              people: dict[str, User]) -> None:
    b = make_customer(geo["gz"], "Member B")
    other_parent = make_customer(geo["bj"], "Other parent")
    first = services.create_group(SYSTEM, name="First", parent=acme, members=[b])
    second = services.create_group(SYSTEM, name="Second", parent=other_parent)
    client = login(people["sales"])
    before = AuditEntry.objects.count()

    response = client.post(reverse("customers:group_member_add", args=[second.pk]),
                           {"customer": b.code})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-field-error="customer"' in html and "First" in html
    b.refresh_from_db()
    assert b.group == first

    response = client.post(reverse("customers:group_create"),
                           {"name": "Third", "parent": make_customer(geo["sz"], "P3").code,
                            "members": b.code})
    assert response.status_code == 200
    assert 'data-field-error="members"' in response.content.decode()
    assert not CustomerGroup.objects.filter(name="Third").exists()
    b.refresh_from_db()
    assert b.group == first
    assert AuditEntry.objects.count() == before + 1  # only P3's creation


def test_group_form_errors_and_edit(geo: dict[str, Region], acme: Customer,
                                    people: dict[str, User]) -> None:
    client = login(people["sales"])
    response = client.post(reverse("customers:group_create"),
                           {"name": "X", "parent": "123", "members": "999999999"})
    html = response.content.decode()
    assert 'data-field-error="parent"' in html and 'data-field-error="members"' in html
    group = services.create_group(SYSTEM, name="Old name", parent=acme)
    page = client.get(reverse("customers:group_edit", args=[group.pk])).content.decode()
    assert 'value="Old name"' in page
    client.post(reverse("customers:group_edit", args=[group.pk]),
                {"name": "New name", "notes": "note"})
    group.refresh_from_db()
    assert (group.name, group.notes) == ("New name", "note")


def test_group_pages_permissions(geo: dict[str, Region], acme: Customer,
                                 people: dict[str, User]) -> None:
    group = services.create_group(SYSTEM, name="G", parent=acme)
    other = make_customer(geo["gz"], "Other", account_manager=people["am2"])
    other_group = services.create_group(SYSTEM, name="Other G", parent=other)
    auditor = login(people["auditor"])
    html = auditor.get(reverse("customers:group_detail", args=[group.pk])).content.decode()
    assert 'data-testid="edit-group"' not in html and "Add member" not in html
    assert auditor.get(reverse("customers:group_create")).status_code == 403
    assert auditor.post(reverse("customers:group_member_add", args=[group.pk]),
                        {"customer": other.code}).status_code == 403
    am = login(people["am"])
    assert am.get(reverse("customers:group_detail", args=[group.pk])).status_code == 200
    assert am.get(reverse("customers:group_detail", args=[other_group.pk])).status_code == 404
    assert "Other G" not in am.get(reverse("customers:groups")).content.decode()


# --- regions ----------------------------------------------------------------------------------


def test_region_page_search_and_parent_filter(geo: dict[str, Region],
                                              people: dict[str, User]) -> None:
    client = login(people["cs"])
    html = client.get(reverse("customers:regions"), {"q": "深圳"}).content.decode()
    assert "440300" in html and "440100" not in html
    html = client.get(reverse("customers:regions"), {"parent": "440000"}).content.decode()
    rows = re.findall(r'<td class="font-monospace">(\d{6})</td>', html)
    assert {"440000", "440300", "440100"} <= set(rows) and "110000" not in rows
    assert all(code.startswith("44") for code in rows)
    html = client.get(reverse("customers:regions"), {"q": "4401"}).content.decode()
    assert "广州市" in html and "深圳市" not in html
    partial = client.get(reverse("customers:regions"), {"q": "北京"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "110000" in partial.content.decode()


# --- import page ------------------------------------------------------------------------------


def test_import_page_permission_and_template(people: dict[str, User]) -> None:
    assert login(people["am"]).get(reverse("customers:import")).status_code == 403
    client = login(people["sales"])
    page = client.get(reverse("customers:import")).content.decode()
    assert 'enctype="multipart/form-data"' in page
    template = client.get(reverse("customers:import_template"), {"format": "csv"})
    header = next(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    assert header == ["name", "kind", "region", "industry", "scale_band", "account_manager",
                      "department", "value_tier", "status", "phone", "id_number", "address",
                      "notes", "contact_name", "contact_role", "contact_phone", "contact_email"]


def test_import_rejects_other_file_types(people: dict[str, User]) -> None:
    upload = io.BytesIO(b"hello")
    upload.name = "customers.txt"
    response = login(people["sales"]).post(reverse("customers:import"),
                                           {"file": upload, "dry_run": "on"})
    assert 'data-field-error="file"' in response.content.decode()


def _upload(text: str, name: str = "customers.csv") -> io.BytesIO:
    upload = io.BytesIO(text.encode("utf-8"))
    upload.name = name
    return upload


IMPORT_HEADER = ("name,kind,region,industry,scale_band,account_manager,department,value_tier,"
                 "status,phone,id_number,address,notes,contact_name,contact_role,contact_phone,"
                 "contact_email\n")


def test_import_dry_run_problems_and_success(geo: dict[str, Region],
                                             people: dict[str, User]) -> None:
    pytest.importorskip("custguard.customers.importing")
    client = login(people["sales"])
    good = IMPORT_HEADER + "导入客户甲,enterprise,440300,,,,,,,,,,,,,,\n"
    bad = IMPORT_HEADER + "导入客户乙,spaceship,440300,,,,,,,,,,,,,,\n"

    response = client.post(reverse("customers:import"), {"file": _upload(bad)})
    html = response.content.decode()
    assert 'data-testid="import-problems"' in html and "nothing was written" in html
    assert "kind" in html
    assert not Customer.objects.exists()

    response = client.post(reverse("customers:import"), {"file": _upload(good), "dry_run": "on"})
    assert 'data-testid="import-dry-run"' in response.content.decode()
    assert not Customer.objects.exists()

    response = client.post(reverse("customers:import"), {"file": _upload(good)})
    html = response.content.decode()
    customer = Customer.objects.get(name="导入客户甲")
    assert 'data-testid="import-succeeded"' in html
    assert reverse("customers:detail", args=[customer.code]) in html


def test_import_unreadable_file_shows_the_error(people: dict[str, User]) -> None:
    pytest.importorskip("custguard.customers.importing")
    response = login(people["sales"]).post(
        reverse("customers:import"), {"file": _upload("not,a\nreal file", "x.xlsx")})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="form-errors"' in html
    assert not Customer.objects.exists()


def test_navigation_reaches_every_page(acme: Customer, people: dict[str, User],
                                       client_for: Callable[[User], Client]) -> None:
    client = client_for(people["sales"])
    group = services.create_group(SYSTEM, name="Nav", parent=acme)
    contact = acme.contacts.get()
    for url in (reverse("customers:list"), reverse("customers:create"),
                reverse("customers:detail", args=[acme.code]),
                reverse("customers:edit", args=[acme.code]),
                reverse("customers:contact_add", args=[acme.code]),
                reverse("customers:contact_edit", args=[acme.code, contact.pk]),
                reverse("customers:groups"), reverse("customers:group_create"),
                reverse("customers:group_detail", args=[group.pk]),
                reverse("customers:group_edit", args=[group.pk]),
                reverse("customers:regions"), reverse("customers:import")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>" not in response.content.decode(), url  # CSP: no inline scripts
