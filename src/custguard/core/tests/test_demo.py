"""`custguard demo`: the demo users and the deterministic registry builder (the command itself:
test_demo_command.py)."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client, RequestFactory

from custguard.core.actors import Actor
from custguard.core.demo_users import DEMO_PEOPLE, ensure_demo_users
from custguard.core.models import AuditEntry, User
from custguard.core.roles import ADMIN, ALL_ROLES
from custguard.customers.demo import (
    build_registry_demo,
    credit_code_is_valid,
    demo_regions,
    plan_registry,
    short_city_name,
)
from custguard.customers.models import Contact, Customer, CustomerGroup, Region, Standing

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-123"
PHONE = re.compile(r"^(1[358]\d{9}|0\d{2,3}-[2-8]\d{7})$")


@pytest.fixture(autouse=True)
def _regions() -> None:
    from custguard.customers.regions import load_default_table

    if not Region.objects.exists():
        load_default_table(Region)


@pytest.fixture
def demo_users() -> dict[str, User]:
    return ensure_demo_users(PASSWORD)


class _Rollback(Exception):
    pass


def _build_and_roll_back(users: dict[str, User], *, customers: int, seed: int
                         ) -> list[tuple[str, str, str]]:
    """Build the registry, note (code, name, region) of every customer, then undo it all."""
    seen: list[tuple[str, str, str]] = []
    try:
        with transaction.atomic():
            build_registry_demo(customers=customers, seed=seed, actor=Actor.job("demo"),
                                users=users)
            seen = list(Customer.objects.order_by("pk").values_list("code", "name", "region"))
            raise _Rollback
    except _Rollback:
        pass
    return seen


def test_same_seed_gives_the_same_registry(demo_users: dict[str, User]) -> None:
    first = _build_and_roll_back(demo_users, customers=60, seed=7)
    assert not Customer.objects.exists()
    second = _build_and_roll_back(demo_users, customers=60, seed=7)
    other = _build_and_roll_back(demo_users, customers=60, seed=8)
    assert len(first) == 60
    assert first == second
    assert [name for _code, name, _region in first] != [name for _c, name, _r in other]


def test_plan_is_pure_and_names_look_chinese() -> None:
    regions = demo_regions(list(Region.objects.all()))
    one = plan_registry(customers=200, seed=2026, regions=regions, managers=3)
    two = plan_registry(customers=200, seed=2026, regions=regions, managers=3)
    assert one == two
    companies = [c.name for c in one.customers if c.kind != "individual"]
    assert all(c.endswith(("公司", "经营部", "商行")) for c in companies)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", c.name)
               for c in one.customers if c.kind == "individual")
    assert len({c.region.code for c in one.customers}) >= 40
    assert [c.manager for c in one.customers[:6]] == [0, 1, 2, 0, 1, 2]


def test_short_city_names() -> None:
    assert short_city_name("杭州市") == "杭州"
    assert short_city_name("延边朝鲜族自治州") == "延边"
    assert short_city_name("黔西南布依族苗族自治州") == "黔西南"
    assert short_city_name("巴音郭楞蒙古自治州") == "巴音郭楞"
    assert short_city_name("阿克苏地区") == "阿克苏"
    assert short_city_name("锡林郭勒盟") == "锡林郭勒"


def test_customers_are_created_with_valid_codes_over_many_regions(
        demo_users: dict[str, User]) -> None:
    summary = build_registry_demo(customers=100, seed=2026, actor=Actor.job("demo"),
                                  users=demo_users)
    customers = list(Customer.objects.select_related("account_manager"))
    assert summary.customers == len(customers) == 100
    assert Standing.objects.count() == 100
    assert len({c.region_id for c in customers}) >= 20
    managers = {u.pk: u for k, u in demo_users.items() if k.startswith("account_manager")}
    for customer in customers:
        assert re.fullmatch(r"\d{9}", customer.code)
        assert customer.code == f"{customer.region_id}{customer.serial:03d}"
        assert credit_code_is_valid(customer.id_number), customer.id_number
        assert PHONE.match(customer.phone), customer.phone
        assert customer.account_manager_id in managers
        assert customer.department == customer.account_manager.department
        assert customer.address.startswith(
            (customer.region.parent.name if customer.region.parent else "")
            + customer.region.name)
        assert 1 <= customer.contacts.count() <= 3
    for contact in Contact.objects.all():
        assert PHONE.match(contact.phone) and contact.email.isascii()
    kinds = {k: sum(c.kind == k for c in customers) for k in ("enterprise", "dealer",
                                                              "individual")}
    assert kinds["enterprise"] > kinds["dealer"] > kinds["individual"] > 0
    assert {c.status for c in customers} >= {"active", "prospect"}
    assert sum(c.status == "active" for c in customers) > 60
    tiers = [c.value_tier for c in customers]
    assert 0 < tiers.count("strategic") < tiers.count("potential")


def test_groups_have_members_and_no_customer_is_in_two(demo_users: dict[str, User]) -> None:
    summary = build_registry_demo(customers=200, seed=2026, actor=Actor.job("demo"),
                                  users=demo_users)
    groups = list(CustomerGroup.objects.select_related("parent", "standing"))
    assert len(groups) == summary.groups == 8
    members_seen: set[int] = set()
    for group in groups:
        members = list(group.members.all())
        assert 2 <= len(members) <= 6
        assert group.parent in members
        assert group.name.endswith("集团")
        trade_name = group.name.removesuffix("集团")
        assert all(trade_name in m.name for m in members)
        ids = {m.pk for m in members}
        assert not ids & members_seen
        members_seen |= ids
    assert Customer.objects.filter(group__isnull=False).count() == len(members_seen)
    assert summary.group_members == len(members_seen)


def test_every_role_user_exists_and_can_log_in(demo_users: dict[str, User]) -> None:
    assert set(demo_users) == {p.username for p in DEMO_PEOPLE}
    for role in ALL_ROLES:
        user = demo_users[role]
        assert role in user.role_codes
        assert user.display_name and user.department
    for name in ("account_manager_2", "account_manager_3"):
        assert demo_users[name].role_codes == ["account_manager"]
    admin = demo_users[ADMIN]
    assert admin.is_staff and admin.is_superuser
    assert not demo_users["auditor"].is_superuser
    for username in demo_users:
        client = Client()
        assert client.login(request=RequestFactory().post("/login/"), username=username,
                            password=PASSWORD), username
    # Idempotent: nothing new, nothing changed, the password stays.
    entries = AuditEntry.objects.count()
    again = ensure_demo_users("another-password")
    assert {k: u.pk for k, u in again.items()} == {k: u.pk for k, u in demo_users.items()}
    assert User.objects.count() == len(DEMO_PEOPLE)
    assert AuditEntry.objects.count() == entries
    assert User.objects.get(username="finance").check_password(PASSWORD)
