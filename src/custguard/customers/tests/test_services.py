"""The registry's write services: codes, updates, ownership, groups, contact validation."""

from __future__ import annotations

from typing import Any

import pytest

from custguard.core.actors import Actor
from custguard.core.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
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

BEIJING = "110000"
SHIJIAZHUANG = "130100"


@pytest.fixture
def sales(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["sales_manager"])


def region(code: str) -> Region:
    return Region.objects.get(pk=code)


def create(actor: Actor, code: str = BEIJING, **fields: Any) -> Customer:
    fields.setdefault("name", "测试客户")
    fields.setdefault("kind", "enterprise")
    return services.create_customer(actor, region=region(code), **fields)


def counts() -> dict[str, int]:
    return {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "standings": Standing.objects.count(),
        "groups": CustomerGroup.objects.count(),
        "group_standings": GroupStanding.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def row(customer: Customer) -> dict[str, Any]:
    return Customer.objects.filter(pk=customer.pk).values().get()


# --- codes --------------------------------------------------------------------------------


def test_codes_are_region_plus_serial_from_001_in_order(regions: None, sales: Actor) -> None:
    made = [create(sales, name=f"客户{i}") for i in range(3)]
    other = create(sales, SHIJIAZHUANG)
    assert [c.code for c in made] == ["110000001", "110000002", "110000003"]
    assert [c.serial for c in made] == [1, 2, 3]
    assert other.code == "130100001"  # every region counts on its own
    assert region(BEIJING).last_serial == 3
    assert region(SHIJIAZHUANG).last_serial == 1
    for customer in made:
        assert Standing.objects.filter(customer=customer).exists()


def test_the_999th_customer_still_gets_a_code(regions: None, sales: Actor) -> None:
    Region.objects.filter(pk=BEIJING).update(last_serial=998)
    assert create(sales).code == "110000999"


def test_the_1000th_customer_in_a_region_is_refused_naming_the_region(
        regions: None, sales: Actor) -> None:
    Region.objects.filter(pk=BEIJING).update(last_serial=999)
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        create(sales, contacts=[{"name": "李四", "phone": "13800138000"}])
    assert refused.value.field == "region"
    assert refused.value.code == "region_full"
    assert BEIJING in refused.value.message
    assert "999" in refused.value.message
    assert counts() == before
    assert region(BEIJING).last_serial == 999
    # other regions are unaffected
    assert create(sales, SHIJIAZHUANG).code == "130100001"


def test_codes_are_never_reused(regions: None, sales: Actor) -> None:
    first, second, third = (create(sales, name=n) for n in ("一", "二", "三"))
    # Even if a row disappeared (say, a database repair), its code is not handed out again.
    Customer.objects.filter(pk=third.pk).delete()
    Customer.objects.filter(pk=second.pk).delete()
    fourth = create(sales, name="四")
    assert fourth.code == "110000004"
    assert fourth.code not in {first.code, second.code, third.code}


def test_a_refused_creation_takes_no_serial(regions: None, sales: Actor) -> None:
    with pytest.raises(ValidationFailed):
        create(sales, phone="not a phone")
    assert region(BEIJING).last_serial == 0
    assert create(sales).code == "110000001"


def test_an_unknown_region_is_refused(regions: None, sales: Actor) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        services.create_customer(sales, region=Region(code="999999", name="nowhere"),
                                 name="x", kind="enterprise")
    assert refused.value.field == "region"
    assert "999999" in refused.value.message
    assert counts() == before


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "bogus"}, "kind"),
    ({"phone": "call me"}, "phone"),
    ({"name": ""}, "name"),
    ({"value_tier": "gold"}, "value_tier"),
    ({"colour": "red"}, "colour"),
])
def test_bad_customer_fields_are_named(regions: None, sales: Actor, fields: dict[str, Any],
                                       field: str) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        create(sales, **fields)
    assert refused.value.field == field
    assert field in refused.value.errors
    assert counts() == before
    assert region(BEIJING).last_serial == 0


# --- updates ------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("code", "110000999"), ("region", SHIJIAZHUANG), ("serial", 7)])
def test_update_refuses_code_region_and_serial(regions: None, sales: Actor, field: str,
                                               value: Any) -> None:
    customer = create(sales)
    values, before = row(customer), counts()
    with pytest.raises(ValidationFailed) as refused:
        services.update_customer(sales, customer, **{field: value})
    assert refused.value.field == field
    assert row(customer) == values
    assert counts() == before


def test_update_records_only_the_changed_fields(regions: None, sales: Actor) -> None:
    customer = create(sales, name="旧名", phone="13800138000", department="华北")
    before = counts()
    services.update_customer(sales, customer, name="新名", phone="13800138000",
                             department="华北", status="dormant", reason="改名")
    assert counts() == before | {"audit": before["audit"] + 1}
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert entry.action == "customer.update"
    assert entry.customer_id == customer.pk
    assert entry.before == {"name": "旧名", "status": "active"}
    assert entry.after == {"name": "新名", "status": "dormant"}
    assert entry.reason == "改名"
    customer.refresh_from_db()
    assert (customer.name, customer.status, customer.code) == ("新名", "dormant", "110000001")
    assert Standing.objects.get(customer=customer).status == "dormant"
    assert verify_chain() is None


def test_an_update_that_changes_nothing_writes_nothing(regions: None, sales: Actor) -> None:
    customer = create(sales, name="同名")
    values, before = row(customer), counts()
    services.update_customer(sales, customer, name="同名")
    assert row(customer) == values
    assert counts() == before


def test_a_refused_update_changes_nothing(regions: None, sales: Actor) -> None:
    customer = create(sales, name="原名")
    values, before = row(customer), counts()
    with pytest.raises(ValidationFailed) as refused:
        services.update_customer(sales, customer, name="改了", phone="not a phone")
    assert refused.value.field == "phone"
    assert row(customer) == values
    assert counts() == before


# --- ownership ----------------------------------------------------------------------------


def test_an_account_manager_creates_customers_for_themselves(
        regions: None, personas: dict[str, User]) -> None:
    am = personas["account_manager"]
    customer = create(Actor.for_user(am))
    assert customer.account_manager_id == am.pk
    explicit = create(Actor.for_user(am), account_manager=am)
    assert explicit.account_manager_id == am.pk


def test_an_account_manager_cannot_assign_a_customer_to_someone_else(
        regions: None, personas: dict[str, User]) -> None:
    actor = Actor.for_user(personas["account_manager"])
    before = counts()
    with pytest.raises(PermissionRefused) as refused:
        create(actor, account_manager=personas["account_manager_2"])
    assert refused.value.field == "account_manager"
    assert counts() == before
    assert region(BEIJING).last_serial == 0

    own = create(actor)
    values, before = row(own), counts()
    with pytest.raises(PermissionRefused):
        services.update_customer(actor, own, account_manager=personas["account_manager_2"])
    assert row(own) == values
    assert counts() == before


def test_an_account_manager_cannot_touch_a_colleagues_customer(
        regions: None, personas: dict[str, User]) -> None:
    theirs = create(Actor.for_user(personas["account_manager_2"]))
    values, before = row(theirs), counts()
    actor = Actor.for_user(personas["account_manager"])
    with pytest.raises(NotFound):
        services.update_customer(actor, theirs, name="偷改")
    with pytest.raises(NotFound):
        services.add_contact(actor, theirs, name="王五")
    assert row(theirs) == values
    assert counts() == before


def test_a_sales_manager_may_assign_any_active_account_manager(
        regions: None, sales: Actor, personas: dict[str, User],
        make_user: Any) -> None:
    customer = create(sales, account_manager=personas["account_manager_2"])
    assert customer.account_manager_id == personas["account_manager_2"].pk
    gone = make_user("account_manager", is_active=False)
    values, before = row(customer), counts()
    with pytest.raises(ValidationFailed) as refused:
        services.update_customer(sales, customer, account_manager=gone)
    assert refused.value.field == "account_manager"
    assert row(customer) == values
    assert counts() == before


@pytest.mark.parametrize("role", ["credit_manager", "customer_service", "finance", "auditor"])
def test_roles_without_the_permission_cannot_create_or_edit(
        regions: None, sales: Actor, personas: dict[str, User], role: str) -> None:
    customer = create(sales)
    values, before = row(customer), counts()
    actor = Actor.for_user(personas[role])
    with pytest.raises(PermissionRefused):
        create(actor)
    with pytest.raises(PermissionRefused):
        services.update_customer(actor, customer, name="不许")
    assert row(customer) == values
    assert counts() == before
    assert region(BEIJING).last_serial == 1


# --- groups -------------------------------------------------------------------------------


def test_a_customer_in_one_group_cannot_join_another(regions: None, sales: Actor) -> None:
    parent_a, parent_b, member = (create(sales, name=n) for n in ("甲集团", "乙集团", "成员"))
    group_a = services.create_group(sales, name="甲", parent=parent_a, members=[member])
    member.refresh_from_db()
    assert member.group_id == group_a.pk

    before = counts()
    with pytest.raises(Conflict) as refused:
        services.create_group(sales, name="乙", parent=parent_b, members=[member])
    assert refused.value.status == 409
    assert "甲" in refused.value.message
    assert counts() == before  # the new group, its standing and parent_b's join rolled back
    parent_b.refresh_from_db()
    assert parent_b.group_id is None

    group_b = services.create_group(sales, name="乙", parent=parent_b)
    before = counts()
    with pytest.raises(Conflict):
        services.add_group_member(sales, group_b, member)
    member.refresh_from_db()
    assert member.group_id == group_a.pk
    assert counts() == before

    # once it has left the first group it may join the second
    services.remove_group_member(sales, group_a, member, reason="换集团")
    services.add_group_member(sales, group_b, member)
    member.refresh_from_db()
    assert member.group_id == group_b.pk
    actions = list(AuditEntry.objects.filter(customer_id=member.pk).order_by("seq")
                   .values_list("action", flat=True))
    assert actions == ["customer.create", "group.member_add", "group.member_remove",
                       "group.member_add"]
    assert verify_chain() is None


def test_adding_an_existing_member_again_changes_nothing(regions: None, sales: Actor) -> None:
    parent, member = create(sales, name="母公司"), create(sales, name="子公司")
    group = services.create_group(sales, name="集团", parent=parent, members=[member])
    before = counts()
    services.add_group_member(sales, group, member)
    assert counts() == before


def test_the_parent_cannot_leave_its_own_group(regions: None, sales: Actor) -> None:
    parent = create(sales)
    group = services.create_group(sales, name="集团", parent=parent)
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        services.remove_group_member(sales, group, parent)
    assert refused.value.field == "member"
    parent.refresh_from_db()
    assert parent.group_id == group.pk
    assert counts() == before


def test_group_names_are_unique(regions: None, sales: Actor) -> None:
    services.create_group(sales, name="唯一", parent=create(sales))
    other = create(sales)
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        services.create_group(sales, name=" 唯一 ", parent=other)
    assert refused.value.field == "name"
    assert counts() == before


def test_an_account_manager_may_not_create_groups(regions: None,
                                                  personas: dict[str, User]) -> None:
    actor = Actor.for_user(personas["account_manager"])
    own = create(actor)
    before = counts()
    with pytest.raises(PermissionRefused):
        services.create_group(actor, name="自建", parent=own)
    assert counts() == before


# --- contacts -----------------------------------------------------------------------------


def test_contact_errors_name_the_contact_and_field(regions: None, sales: Actor) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        create(sales, contacts=[{"name": "张三", "phone": "13800138000"},
                                {"name": "李四", "phone": "abc"}])
    assert refused.value.field == "contacts[1].phone"
    assert "contacts[1].phone" in refused.value.errors

    with pytest.raises(ValidationFailed) as refused:
        create(sales, contacts=[{"name": "张三", "phone": "abc"}])
    assert refused.value.field == "contacts[0].phone"
    assert refused.value.message.startswith("contacts[0].phone:")

    with pytest.raises(ValidationFailed) as refused:
        create(sales, contacts=[{"name": "张三", "email": "not-an-email"}])
    assert refused.value.field == "contacts[0].email"

    with pytest.raises(ValidationFailed) as refused:
        create(sales, contacts=[{"name": "张三", "fax": "123"}])
    assert refused.value.field == "contacts[0].fax"
    assert counts() == before
    assert region(BEIJING).last_serial == 0


def test_contacts_are_created_updated_and_removed_with_audit(regions: None,
                                                            sales: Actor) -> None:
    customer = create(sales, contacts=[{"name": "张三", "phone": "13800138000",
                                        "is_primary": True}])
    (zhang,) = customer.contacts.all()
    li = services.add_contact(sales, customer, name="李四", phone="13900139000")
    services.update_contact(sales, li, email="li@example.com")
    services.remove_contact(sales, zhang, reason="离职")
    assert list(customer.contacts.values_list("name", "email")) == [("李四", "li@example.com")]
    entries = list(AuditEntry.objects.filter(customer_id=customer.pk).order_by("seq"))
    assert [e.action for e in entries] == ["customer.create", "contact.create",
                                           "contact.update", "contact.delete"]
    assert entries[0].after is not None
    assert entries[0].after["contacts"][0]["name"] == "张三"
    assert entries[2].before == {"email": ""}
    assert entries[2].after == {"email": "li@example.com"}
    assert entries[3].before is not None and entries[3].before["name"] == "张三"
    assert entries[3].reason == "离职"

    before_values = list(Contact.objects.filter(pk=li.pk).values())
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        services.update_contact(sales, li, phone="??")
    assert refused.value.field == "contacts[0].phone"
    assert list(Contact.objects.filter(pk=li.pk).values()) == before_values
    assert counts() == before
