"""The customers, groups and regions API: problem+json errors, scoping, masking, filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers import services
from custguard.customers.models import (
    Contact,
    Customer,
    CustomerGroup,
    GroupStanding,
    Region,
    Standing,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
CUSTOMERS = f"{API}/customers"
PROBLEM = "application/problem+json"

PHONE = "13812345678"
ID_NUMBER = "110101199003071234"
ADDRESS = "北京市朝阳区建国路88号"


@pytest.fixture
def api(personas: dict[str, User], bearer_for: Callable[[User], dict[str, str]],
        ) -> Callable[[str], Callable[..., Any]]:
    """api(role)(method, path, body=None) -> response, authenticated with the role's token."""
    def for_role(role: str) -> Callable[..., Any]:
        headers = bearer_for(personas[role])
        client = Client()

        def call(method: str, path: str, body: Any = None, **query: Any) -> Any:
            if method == "GET":
                return client.get(path, query, **headers)
            return getattr(client, method.lower())(
                path, body if body is not None else {}, content_type="application/json",
                **headers)
        return call
    return for_role


def state() -> dict[str, Any]:
    """Everything a write could touch."""
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "contacts": list(Contact.objects.order_by("pk").values()),
        "standings": list(Standing.objects.order_by("pk").values()),
        "groups": list(CustomerGroup.objects.order_by("pk").values()),
        "group_standings": GroupStanding.objects.count(),
        "serials": dict(Region.objects.filter(last_serial__gt=0).values_list("code",
                                                                             "last_serial")),
        "audit": AuditEntry.objects.count(),
    }


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.wsgi_request.path
    if field is not None:
        assert any(e["field"] == field and e["reason"] for e in body["errors"]), body
        for error in body["errors"]:
            assert set(error) == {"field", "reason"}
    return body


def make(role_user: User, region: str = "110000", **fields: Any) -> Customer:
    fields.setdefault("name", "测试客户")
    fields.setdefault("kind", "enterprise")
    return services.create_customer(Actor.for_user(role_user),
                                    region=Region.objects.get(pk=region), **fields)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "bogus"}, "kind"),
    ({"region": "12"}, "region"),
    ({"region": "999999"}, "region"),
    ({"name": ""}, "name"),
    ({"value_tier": "gold"}, "value_tier"),
    ({"phone": "call me"}, "phone"),
    ({"account_manager": "nobody"}, "account_manager"),
    ({"contacts": [{"name": "张三", "phone": "13800138000"}, {"name": "李四", "phone": "abc"}]},
     "contacts[1].phone"),
    ({"contacts": [{"phone": "13800138000"}]}, "contacts[0].name"),
])
def test_a_422_names_the_field(regions: None, api: Any, change: dict[str, Any],
                               field: str) -> None:
    body = {"name": "新客户", "kind": "enterprise", "region": "110000"} | change
    call = api("sales_manager")
    before = state()
    response = call("POST", CUSTOMERS, body)
    problem = assert_problem(response, 422, field)
    assert problem["type"].endswith("/validation_failed")
    assert problem["title"] == "校验未通过"  # "Validation failed" in the default language
    assert field in problem["detail"]
    assert problem["instance"] == CUSTOMERS
    assert state() == before


def test_a_missing_body_field_is_named(regions: None, api: Any) -> None:
    call = api("sales_manager")
    before = state()
    response = call("POST", CUSTOMERS, {"name": "x", "region": "110000"})
    assert_problem(response, 422, "kind")
    assert state() == before


def test_401_without_credentials(regions: None, client: Client) -> None:
    before = state()
    for response in (client.get(CUSTOMERS),
                     client.post(CUSTOMERS, {"name": "x", "kind": "dealer", "region": "110000"},
                                 content_type="application/json")):
        assert_problem(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="custguard"'
    assert state() == before


def test_401_for_a_dead_token_even_without_a_csrf_token(
        regions: None, personas: dict[str, User]) -> None:
    """A machine whose token was revoked hears 401 (re-authenticate), not a CSRF 403."""
    from custguard.core.services import tokens

    token, secret = tokens.create_token(Actor.system("tests"), user=personas["sales_manager"],
                                        name="erp")
    tokens.revoke_token(Actor.system("tests"), token)
    client = Client(enforce_csrf_checks=True)
    before = state()
    response = client.post(CUSTOMERS, {"name": "x", "kind": "dealer", "region": "110000"},
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert_problem(response, 401)
    assert state() == before


def test_403_for_a_role_without_the_permission(regions: None, api: Any) -> None:
    call = api("finance")
    before = state()
    response = call("POST", CUSTOMERS, {"name": "x", "kind": "dealer", "region": "110000"})
    problem = assert_problem(response, 403)
    assert problem["type"].endswith("/forbidden")
    assert problem["title"] == "无权操作"  # "Forbidden" in the default language
    assert state() == before


def test_404_for_another_account_managers_customer(regions: None, api: Any,
                                                    personas: dict[str, User]) -> None:
    theirs = make(personas["account_manager_2"], phone=PHONE)
    call = api("account_manager")
    for key in (theirs.code, str(theirs.pk)):
        problem = assert_problem(call("GET", f"{CUSTOMERS}/{key}"), 404)
        assert PHONE not in str(problem)
    before = state()
    assert_problem(call("PATCH", f"{CUSTOMERS}/{theirs.code}", {"name": "偷改"}), 404)
    assert_problem(call("POST", f"{CUSTOMERS}/{theirs.pk}/contacts", {"name": "王五"}), 404)
    assert state() == before
    # the owner and managers do see it
    assert api("account_manager_2")("GET", f"{CUSTOMERS}/{theirs.code}").status_code == 200
    assert api("sales_manager")("GET", f"{CUSTOMERS}/{theirs.pk}").status_code == 200


@pytest.mark.parametrize("key", ["999999999", "424242", "abc", "11000000x"])
def test_404_for_unknown_customers(regions: None, api: Any, key: str) -> None:
    assert_problem(api("admin")("GET", f"{CUSTOMERS}/{key}"), 404)


# --- create, get, update ------------------------------------------------------------------


def test_create_assigns_the_next_code(regions: None, api: Any, personas: dict[str, User]) -> None:
    call = api("sales_manager")
    body = {"name": "北京乙公司", "kind": "dealer", "region": "110000", "industry": "C",
            "account_manager": "account_manager", "phone": PHONE,
            "contacts": [{"name": "张三", "phone": "13900139000", "is_primary": True}]}
    first = call("POST", CUSTOMERS, body)
    assert first.status_code == 201, first.content
    created = first.json()
    assert created["code"] == "110000001"
    assert created["region"] == "110000"
    assert created["region_name"] == "北京市"
    assert created["account_manager"] == "account_manager"
    assert created["industry"] == "C"
    assert created["phone"] == PHONE
    assert [c["name"] for c in created["contacts"]] == ["张三"]
    assert created["standing"]["status"] == "active"
    assert created["standing"]["credit_limit"] == "0.00"
    second = call("POST", CUSTOMERS, body | {"name": "北京丙公司", "contacts": []})
    assert second.json()["code"] == "110000002"
    hebei = call("POST", CUSTOMERS, body | {"region": "130100", "contacts": []})
    assert hebei.json()["code"] == "130100001"
    assert hebei.json()["region_name"] == "河北省 石家庄市"
    customer = Customer.objects.get(code="110000001")
    assert customer.account_manager == personas["account_manager"]
    assert customer.contacts.get().phone == "13900139000"
    assert verify_chain() is None


def test_an_account_manager_creates_for_themselves_only(regions: None, api: Any,
                                                        personas: dict[str, User]) -> None:
    call = api("account_manager")
    response = call("POST", CUSTOMERS, {"name": "自己的", "kind": "dealer", "region": "110000"})
    assert response.status_code == 201
    assert response.json()["account_manager"] == "account_manager"
    before = state()
    response = call("POST", CUSTOMERS, {"name": "别人的", "kind": "dealer", "region": "110000",
                                        "account_manager": "account_manager_2"})
    assert_problem(response, 403, "account_manager")
    assert state() == before


def test_get_by_id_and_by_code(regions: None, api: Any, personas: dict[str, User]) -> None:
    customer = make(personas["sales_manager"], phone=PHONE,
                    contacts=[{"name": "张三", "email": "z@example.com"}])
    call = api("admin")
    by_code = call("GET", f"{CUSTOMERS}/{customer.code}")
    by_id = call("GET", f"{CUSTOMERS}/{customer.pk}")
    assert by_code.status_code == by_id.status_code == 200
    assert by_code.json() == by_id.json()
    body = by_code.json()
    assert (body["id"], body["code"], body["name"]) == (customer.pk, customer.code, "测试客户")
    assert body["contacts"][0]["email"] == "z@example.com"


def test_patch_updates_and_audits(regions: None, api: Any, personas: dict[str, User]) -> None:
    customer = make(personas["account_manager"], name="旧名")
    call = api("account_manager")
    response = call("PATCH", f"{CUSTOMERS}/{customer.code}",
                    {"name": "新名", "value_tier": "strategic", "reason": "年度评定"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["value_tier"], body["code"]) == ("新名", "strategic",
                                                                customer.code)
    customer.refresh_from_db()
    assert (customer.name, customer.value_tier) == ("新名", "strategic")
    entry = AuditEntry.objects.filter(action="customer.update").get()
    assert entry.before == {"name": "旧名", "value_tier": "general"}
    assert entry.after == {"name": "新名", "value_tier": "strategic"}
    assert entry.reason == "年度评定"
    assert entry.actor_kind == "token"


@pytest.mark.parametrize("change", [
    {"code": "110000999"}, {"region": "130100"}, {"serial": 9},
    {"name": "新名", "code": "110000999"},
])
def test_patch_refuses_code_and_region_changes(regions: None, api: Any,
                                               personas: dict[str, User],
                                               change: dict[str, Any]) -> None:
    customer = make(personas["sales_manager"])
    call = api("sales_manager")
    before = state()
    response = call("PATCH", f"{CUSTOMERS}/{customer.code}", change)
    field = next(key for key in change if key != "name")
    assert_problem(response, 422, field)
    assert state() == before


def test_patch_refuses_bad_values_naming_the_field(regions: None, api: Any,
                                                   personas: dict[str, User]) -> None:
    customer = make(personas["sales_manager"])
    call = api("sales_manager")
    before = state()
    assert_problem(call("PATCH", f"{CUSTOMERS}/{customer.code}", {"status": "gone"}), 422,
                   "status")
    assert_problem(call("PATCH", f"{CUSTOMERS}/{customer.code}", {"phone": "x"}), 422, "phone")
    assert state() == before


def test_contacts_over_the_api(regions: None, api: Any, personas: dict[str, User]) -> None:
    customer = make(personas["sales_manager"])
    call = api("sales_manager")
    added = call("POST", f"{CUSTOMERS}/{customer.code}/contacts",
                 {"name": "张三", "phone": "13900139000"})
    assert added.status_code == 201
    contact_id = added.json()["id"]
    patched = call("PATCH", f"{CUSTOMERS}/{customer.code}/contacts/{contact_id}",
                   {"email": "z@example.com"})
    assert patched.status_code == 200
    assert patched.json()["email"] == "z@example.com"
    before = state()
    assert_problem(call("PATCH", f"{CUSTOMERS}/{customer.code}/contacts/{contact_id}",
                        {"phone": "abc"}), 422, "contacts[0].phone")
    assert_problem(call("PATCH", f"{CUSTOMERS}/{customer.code}/contacts/999999",
                        {"role": "x"}), 404)
    assert state() == before
    deleted = call("DELETE", f"{CUSTOMERS}/{customer.code}/contacts/{contact_id}")
    assert deleted.status_code == 204
    assert not Contact.objects.filter(pk=contact_id).exists()
    assert list(AuditEntry.objects.filter(customer_id=customer.pk).order_by("seq")
                .values_list("action", flat=True)) == [
        "customer.create", "contact.create", "contact.update", "contact.delete"]


# --- list filters -------------------------------------------------------------------------


@pytest.fixture
def population(regions: None, personas: dict[str, User]) -> dict[str, Customer]:
    am, am2, sales = (personas[k] for k in ("account_manager", "account_manager_2",
                                            "sales_manager"))
    return {
        "bj_a": make(am, "110000", name="北京钢铁", kind="enterprise", phone="010-62345678",
                     value_tier="strategic"),
        "bj_b": make(sales, "110000", name="北京零售", kind="dealer", account_manager=am2,
                     contacts=[{"name": "联系人", "phone": "13987654321"}]),
        "sjz": make(sales, "130100", name="石家庄钢铁", kind="enterprise", status="dormant",
                    account_manager=am2, value_tier="important"),
        "ts": make(am, "130200", name="唐山个人", kind="individual", value_tier="potential"),
    }


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()["items"]]


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ["bj_a", "bj_b", "sjz", "ts"]),
    ({"q": "1100"}, ["bj_a", "bj_b"]),
    ({"q": "130100001"}, ["sjz"]),
    ({"q": "钢铁"}, ["bj_a", "sjz"]),
    ({"q": "62345678"}, ["bj_a"]),
    ({"q": "87654321"}, ["bj_b"]),  # a contact's phone
    ({"region": "130000"}, ["sjz", "ts"]),  # a province includes its prefectures
    ({"region": "130100"}, ["sjz"]),
    ({"region": "110000"}, ["bj_a", "bj_b"]),
    ({"kind": "enterprise"}, ["bj_a", "sjz"]),
    ({"value_tier": "potential"}, ["ts"]),
    ({"status": "dormant"}, ["sjz"]),
    ({"account_manager": "account_manager_2"}, ["bj_b", "sjz"]),
    ({"kind": "enterprise", "region": "130000"}, ["sjz"]),
    ({"q": "nothing-like-this"}, []),
])
def test_list_filters(api: Any, population: dict[str, Customer], query: dict[str, str],
                      expected: list[str]) -> None:
    response = api("sales_manager")("GET", CUSTOMERS, **query)
    assert codes(response) == [population[key].code for key in expected]
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(("ordering", "expected"), [
    ("code", ["bj_a", "bj_b", "sjz", "ts"]),
    ("-code", ["ts", "sjz", "bj_b", "bj_a"]),
    ("-created_at", ["ts", "sjz", "bj_b", "bj_a"]),
    ("-region", ["ts", "sjz", "bj_a", "bj_b"]),
])
def test_list_ordering(api: Any, population: dict[str, Customer], ordering: str,
                       expected: list[str]) -> None:
    response = api("admin")("GET", CUSTOMERS, ordering=ordering)
    assert codes(response) == [population[key].code for key in expected]


@pytest.mark.parametrize(("query", "field"), [
    ({"ordering": "phone"}, "ordering"),
    ({"kind": "bogus"}, "kind"),
    ({"page": "0"}, "page"),
])
def test_list_refuses_bad_parameters(api: Any, population: dict[str, Customer],
                                     query: dict[str, str], field: str) -> None:
    assert_problem(api("admin")("GET", CUSTOMERS, **query), 422, field)


def test_list_is_scoped_for_account_managers(api: Any, population: dict[str, Customer]) -> None:
    assert codes(api("account_manager")("GET", CUSTOMERS)) == [
        population["bj_a"].code, population["ts"].code]
    assert codes(api("account_manager_2")("GET", CUSTOMERS, region="130000")) == [
        population["sjz"].code]


def test_pagination(api: Any, population: dict[str, Customer], personas: dict[str, User]) -> None:
    for index in range(3):
        make(personas["sales_manager"], "120000", name=f"天津{index}")
    call = api("admin")
    all_codes = codes(call("GET", CUSTOMERS))
    assert len(all_codes) == 7
    page1 = call("GET", CUSTOMERS, page_size=3)
    page3 = call("GET", CUSTOMERS, page_size=3, page=3)
    assert page1.json()["count"] == page3.json()["count"] == 7
    assert codes(page1) == all_codes[:3]
    assert codes(call("GET", CUSTOMERS, page_size=3, page=2)) == all_codes[3:6]
    assert codes(page3) == all_codes[6:]
    assert codes(call("GET", CUSTOMERS, page_size=3, page=9)) == []
    filtered = call("GET", CUSTOMERS, region="120000", page_size=2)
    assert filtered.json()["count"] == 3
    assert len(filtered.json()["items"]) == 2


# --- masking ------------------------------------------------------------------------------


@pytest.fixture
def with_pii(regions: None, personas: dict[str, User]) -> Customer:
    return make(personas["account_manager"], phone=PHONE, id_number=ID_NUMBER, address=ADDRESS,
                contacts=[{"name": "张三", "phone": "13900139000", "email": "z@example.com"}])


@pytest.mark.parametrize("role", ["customer_service", "auditor"])
def test_pii_is_masked_for_customer_service_and_auditors(api: Any, with_pii: Customer,
                                                         role: str) -> None:
    call = api(role)
    single = call("GET", f"{CUSTOMERS}/{with_pii.code}").json()
    listed = call("GET", CUSTOMERS).json()["items"][0]
    for body in (single, listed):
        assert body["phone"] == "138****5678"
        assert body["id_number"] == "1101**********1234"
        assert body["address"] == "北京市朝****"
        assert body["contacts"][0]["phone"] == "139****9000"
        assert body["contacts"][0]["email"] == ""
        text = str(body)
        for secret in (PHONE, ID_NUMBER, ADDRESS, "13900139000", "z@example.com"):
            assert secret not in text
        assert body["name"] == "测试客户"  # the rest is as usual


@pytest.mark.parametrize("role", ["admin", "credit_manager", "sales_manager",
                                  "account_manager", "finance"])
def test_pii_is_shown_to_roles_that_need_it(api: Any, with_pii: Customer, role: str) -> None:
    body = api(role)("GET", f"{CUSTOMERS}/{with_pii.code}").json()
    assert (body["phone"], body["id_number"], body["address"]) == (PHONE, ID_NUMBER, ADDRESS)
    assert body["contacts"][0]["phone"] == "13900139000"
    assert body["contacts"][0]["email"] == "z@example.com"


# --- groups -------------------------------------------------------------------------------


def test_groups_create_add_remove(regions: None, api: Any, personas: dict[str, User]) -> None:
    sales = personas["sales_manager"]
    parent, member, other = (make(sales, name=n) for n in ("母公司", "子公司", "另一家"))
    call = api("credit_manager")
    created = call("POST", f"{API}/groups", {"name": "甲集团", "parent": parent.code,
                                             "members": [member.code]})
    assert created.status_code == 201, created.content
    group = created.json()
    assert group["parent"]["code"] == parent.code
    assert [m["code"] for m in group["members"]] == [parent.code, member.code]
    assert group["credit_limit"] == "0.00"
    gid = group["id"]

    added = call("POST", f"{API}/groups/{gid}/members", {"customer": other.code})
    assert added.status_code == 200
    assert [m["code"] for m in added.json()["members"]] == [parent.code, member.code,
                                                            other.code]
    removed = call("DELETE", f"{API}/groups/{gid}/members/{member.code}")
    assert removed.status_code == 200
    assert [m["code"] for m in removed.json()["members"]] == [parent.code, other.code]
    member.refresh_from_db()
    assert member.group_id is None

    renamed = call("PATCH", f"{API}/groups/{gid}", {"name": "甲控股集团", "notes": "2025 年更名"})
    assert renamed.json()["name"] == "甲控股集团"
    assert call("GET", f"{API}/groups/{gid}").json()["notes"] == "2025 年更名"
    assert [g["name"] for g in call("GET", f"{API}/groups").json()["items"]] == ["甲控股集团"]

    before = state()
    assert_problem(call("DELETE", f"{API}/groups/{gid}/members/{parent.code}"), 422, "member")
    assert_problem(call("DELETE", f"{API}/groups/{gid}/members/{member.code}"), 404)
    assert_problem(call("POST", f"{API}/groups/{gid}/members", {"customer": "999999999"}), 422,
                   "customer")
    assert_problem(call("POST", f"{API}/groups", {"name": "甲控股集团", "parent": member.code}),
                   422, "name")
    assert_problem(call("POST", f"{API}/groups", {"name": "乙", "parent": "12"}), 422, "parent")
    assert_problem(call("GET", f"{API}/groups/999999"), 404)
    assert state() == before
    assert verify_chain() is None


def test_409_when_the_customer_is_already_in_another_group(regions: None, api: Any,
                                                           personas: dict[str, User]) -> None:
    sales = personas["sales_manager"]
    parent_a, parent_b, parent_c, member = (make(sales, name=n)
                                            for n in ("甲", "乙", "丙", "成员"))
    call = api("sales_manager")
    group_a = call("POST", f"{API}/groups", {"name": "甲集团", "parent": parent_a.code,
                                             "members": [member.code]}).json()
    group_b = call("POST", f"{API}/groups", {"name": "乙集团", "parent": parent_b.code}).json()
    before = state()
    problem = assert_problem(call("POST", f"{API}/groups/{group_b['id']}/members",
                                  {"customer": member.code}), 409, "members")
    assert "甲集团" in problem["detail"]
    assert_problem(call("POST", f"{API}/groups", {
        "name": "丙集团", "parent": parent_c.code, "members": [member.code]}), 409, "members")
    assert state() == before
    member.refresh_from_db()
    assert member.group_id == group_a["id"]
    assert not CustomerGroup.objects.filter(name="丙集团").exists()


def test_account_managers_see_groups_with_an_own_member(regions: None, api: Any,
                                                       personas: dict[str, User]) -> None:
    sales = personas["sales_manager"]
    mine = make(personas["account_manager"], name="我的")
    parent = make(sales, name="母")
    group = services.create_group(Actor.for_user(sales), name="有我", parent=parent,
                                  members=[mine])
    services.create_group(Actor.for_user(sales), name="没我", parent=make(sales, name="别"))
    call = api("account_manager")
    assert [g["name"] for g in call("GET", f"{API}/groups").json()["items"]] == ["有我"]
    assert call("GET", f"{API}/groups/{group.pk}").status_code == 200
    assert_problem(api("account_manager_2")("GET", f"{API}/groups/{group.pk}"), 404)


# --- regions ------------------------------------------------------------------------------


def test_regions(regions: None, api: Any, personas: dict[str, User]) -> None:
    call = api("customer_service")
    listed = call("GET", f"{API}/regions", page_size=100)
    assert listed.status_code == 200
    assert listed.json()["count"] == Region.objects.count() > 300
    first = listed.json()["items"][0]
    assert first == {"code": "110000", "name": "北京市", "parent": None, "customers_created": 0}
    hebei = call("GET", f"{API}/regions", parent="130000").json()
    assert hebei["count"] == 11
    assert {r["parent"] for r in hebei["items"]} == {"130000"}
    found = call("GET", f"{API}/regions", q="石家庄").json()["items"]
    assert [r["code"] for r in found] == ["130100"]
    make(personas["sales_manager"], "130100")
    one = call("GET", f"{API}/regions/130100").json()
    assert one == {"code": "130100", "name": "石家庄市", "parent": "130000",
                   "customers_created": 1}
    assert_problem(call("GET", f"{API}/regions/999999"), 404)
    assert_problem(api("outsider")("GET", f"{API}/regions"), 403)


# --- session auth and CSRF ----------------------------------------------------------------


def test_session_auth_needs_the_csrf_token_for_writes(regions: None,
                                                      personas: dict[str, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["sales_manager"])
    assert client.get(CUSTOMERS).status_code == 200  # reads need no token
    body = {"name": "浏览器客户", "kind": "dealer", "region": "110000"}
    before = state()
    refused = client.post(CUSTOMERS, body, content_type="application/json")
    assert_problem(refused, 403)
    assert "CSRF" in refused.json()["detail"]
    assert state() == before

    client.get("/tokens/")  # any page with a form sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    wrong = client.post(CUSTOMERS, body, content_type="application/json",
                        HTTP_X_CSRFTOKEN="x" * 32)
    assert_problem(wrong, 403)
    assert state() == before
    accepted = client.post(CUSTOMERS, body, content_type="application/json",
                           HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201, accepted.content
    entry = AuditEntry.objects.get(action="customer.create")
    assert (entry.actor_kind, entry.actor_user_id) == ("user", personas["sales_manager"].pk)


def test_a_logged_out_browser_gets_401(regions: None, personas: dict[str, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["sales_manager"])
    client.logout()
    assert_problem(client.get(CUSTOMERS), 401)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", CUSTOMERS), ("PATCH", f"{CUSTOMERS}/980601001"),
    ("DELETE", f"{CUSTOMERS}/980601001/contacts/1"), ("POST", f"{API}/tokens")])
def test_an_anonymous_write_is_401_not_a_csrf_403(regions: None, personas: dict[str, User],
                                                  method: str, path: str) -> None:
    """No credentials at all: 401 with WWW-Authenticate (authenticate), never the CSRF 403
    that is kept for a signed-in browser without the token."""
    body = {"name": "x", "kind": "dealer", "region": "110000"}
    before = state()
    for client in (Client(enforce_csrf_checks=True), _logged_out(personas["sales_manager"])):
        response = client.generic(method, path, json.dumps(body),
                                  content_type="application/json")
        assert_problem(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="custguard"'
    assert state() == before


def _logged_out(user: User) -> Client:
    """A browser that still sends its (now dead) session cookie after logging out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    stale = client.cookies["sessionid"].value
    client.logout()
    client.cookies["sessionid"] = stale
    return client
