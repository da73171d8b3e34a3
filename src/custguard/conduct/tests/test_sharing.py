"""Blacklist information sharing: the exchange file carries salted hashes and no raw
identifier; a partner holding the key finds the matches (two "companies" simulated by exporting,
wiping the entries and importing the file back as a partner's); the same file imported again
adds nothing; another key finds nothing; a malformed file is refused naming the problem; an
import never blacklists anyone; matches are reviewed with a note."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from custguard.conduct.models import BlacklistEntry, PartnerMatch
from custguard.conduct.services import blacklist, sharing
from custguard.conduct.tests.support import SYSTEM, customer_on_credit
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, User
from custguard.customers.models import Contact, Customer

pytestmark = pytest.mark.django_db

KEY = b"shared-secret-of-the-partner-circle-2025"
OTHER_KEY = b"a-different-secret-of-another-circle-2025"
CREDIT_CODE = "91110000MA01ABCD1X"
MOBILE = "+86 138-0013-8000"
LANDLINE = "010-6234 5678"


@pytest.fixture
def world(regions: None, personas: dict[str, User]) -> dict[str, Customer]:
    """Three customers: one blacklisted with a credit code, a mobile and a contact's landline;
    one clean; one blacklisted known only by a contact's mobile."""
    listed = customer_on_credit(personas, name="共享黑名单客户")
    Customer.objects.filter(pk=listed.pk).update(id_number=CREDIT_CODE, phone=MOBILE)
    Contact.objects.create(customer=listed, name="财务", phone=LANDLINE)
    clean = customer_on_credit(personas, name="正常客户")
    Customer.objects.filter(pk=clean.pk).update(id_number="91310000MA1FL0XXXX",
                                                phone="13900139000")
    by_phone = customer_on_credit(personas, name="仅有电话客户")
    Contact.objects.create(customer=by_phone, name="老板", phone="137 0000 1234")
    for customer in (listed, by_phone):
        entry, _created = blacklist.propose(SYSTEM, customer, criterion="OVERDUE_GT_90D",
                                            reasons=[], duration_days=365)
        blacklist.approve(SYSTEM, entry)
    return {"listed": listed, "clean": clean, "by_phone": by_phone}


def export(tmp_path: Path, key: bytes = KEY) -> Path:
    path = tmp_path / "exchange.json"
    sharing.export(Actor.job("tests"), str(path), key=key)
    return path


def test_normalisation_of_identifiers() -> None:
    assert sharing.normalise_id(" 9111 0000ma01abcd1x\u3000") == CREDIT_CODE
    for written in ("+86 138-0013-8000", "0086 13800138000", "8613800138000", "138 0013 8000"):
        assert sharing.normalise_phone(written) == "13800138000", written
    for written in ("010-6234 5678", "+86 10 6234 5678", "0086-10-62345678"):
        assert sharing.normalise_phone(written) == "01062345678", written
    assert sharing.normalise_phone("12345") == ""  # too short to identify anyone
    assert sharing.normalise_phone("") == sharing.normalise_id("   ") == ""


def test_the_exchange_file_holds_hashes_and_no_raw_identifier(
        world: dict[str, Customer], tmp_path: Path) -> None:
    path = export(tmp_path)
    text = path.read_text("utf-8")
    document = json.loads(text)
    assert document["format"] == sharing.FORMAT and document["version"] == 1
    assert document["hash"] == "HMAC-SHA256" and document["generated_at"]
    assert len(document["entries"]) == 2
    kinds = sorted(sorted(i["kind"] for i in e["identifiers"]) for e in document["entries"])
    assert kinds == [["id_number", "phone", "phone"], ["phone"]]
    assert {e["category"] for e in document["entries"]} == {"OVERDUE"}
    raw = [CREDIT_CODE, CREDIT_CODE.lower(), "13800138000", "138-0013-8000", "62345678",
           "01062345678", "13700001234", "0000 1234"]
    for customer in world.values():
        raw += [customer.code, customer.name]
    for value in raw:
        assert value not in text, value
    assert "13900139000" not in text and "91310000MA1FL0XXXX" not in text
    export_audit = AuditEntry.objects.get(action="conduct.blacklist_export")
    assert export_audit.after["entries"] == 2 and export_audit.after["sha256"]


def test_a_partner_with_the_key_finds_the_matches_once(
        world: dict[str, Customer], tmp_path: Path) -> None:
    path = export(tmp_path)
    data = path.read_bytes()
    # The partner company: the same customers, no blacklist of its own, and identifiers
    # written its own way.
    BlacklistEntry.objects.all().delete()
    listed, by_phone = world["listed"], world["by_phone"]
    Customer.objects.filter(pk=listed.pk).update(id_number="9111 0000 ma01abcd1x",
                                                 phone="0086 13800138000")
    Contact.objects.filter(customer=listed).update(phone="+86 10 6234 5678")
    Contact.objects.filter(customer=by_phone).update(phone="+8613700001234")
    job = Actor.job("tests")
    result = sharing.import_file(job, data, partner="合作公司甲", key=KEY)
    assert result.key_matches and result.entries == 2
    assert result.created == 3 and result.existing == 0 and result.customers == 2
    matches = set(PartnerMatch.objects.values_list("customer_id", "identifier_kind",
                                                   "partner", "partner_category", "status"))
    assert matches == {(listed.pk, "id_number", "合作公司甲", "OVERDUE", "open"),
                       (listed.pk, "phone", "合作公司甲", "OVERDUE", "open"),
                       (by_phone.pk, "phone", "合作公司甲", "OVERDUE", "open")}
    assert not BlacklistEntry.objects.exists()  # never blacklists by itself
    assert AuditEntry.objects.filter(action="conduct.partner_match").count() == 3
    assert set(AuditEntry.objects.filter(action="conduct.partner_match")
               .values_list("customer_id", flat=True)) == {listed.pk, by_phone.pk}
    before = (list(PartnerMatch.objects.values()), AuditEntry.objects.filter(
        action="conduct.partner_match").count())
    again = sharing.import_file(job, data, partner="合作公司甲", key=KEY)
    assert again.created == 0 and again.existing == 3
    assert (list(PartnerMatch.objects.values()), AuditEntry.objects.filter(
        action="conduct.partner_match").count()) == before
    assert AuditEntry.objects.filter(action="conduct.partner_import").count() == 2


def test_a_later_file_with_the_same_listings_adds_nothing(
        world: dict[str, Customer], tmp_path: Path) -> None:
    first = export(tmp_path).read_bytes()
    second = json.loads(first)
    second["generated_at"] = "2099-01-01T00:00:00+00:00"  # the partner's next file
    later = json.dumps(second).encode()
    BlacklistEntry.objects.all().delete()
    job = Actor.job("tests")
    assert sharing.import_file(job, first, partner="合作公司甲", key=KEY).created == 3
    again = sharing.import_file(job, later, partner="合作公司甲", key=KEY)
    assert again.digest != sharing.import_file(job, first, partner="合作公司甲",
                                               key=KEY).digest
    assert again.created == 0 and again.existing == 3
    relisted = json.loads(later)
    for entry in relisted["entries"]:
        entry["listed_since"] = "2099-01-01"  # listed again by the partner: a new signal
    result = sharing.import_file(job, json.dumps(relisted).encode(), partner="合作公司甲",
                                 key=KEY)
    assert result.created == 3
    other = sharing.import_file(job, first, partner="合作公司乙", key=KEY)
    assert other.created == 3  # another partner's listing is its own signal
    assert PartnerMatch.objects.count() == 9


def test_another_key_finds_nothing(world: dict[str, Customer], tmp_path: Path) -> None:
    data = export(tmp_path).read_bytes()
    BlacklistEntry.objects.all().delete()
    result = sharing.import_file(Actor.job("tests"), data, partner="合作公司甲", key=OTHER_KEY)
    assert result.created == 0 and result.customers == 0
    assert result.key_matches is False
    assert not PartnerMatch.objects.exists()


@pytest.mark.parametrize(("content", "field", "words"), [
    (b"{not json", "file", "not JSON"),
    (b"\xff\xfe\x00", "file", "UTF-8"),
    (b"[]", "file", "object"),
    (json.dumps({"format": "other", "version": 1}).encode(), "format", "exchange file"),
    (json.dumps({"format": sharing.FORMAT, "version": 2}).encode(), "version", "version 2"),
    (json.dumps({"format": sharing.FORMAT, "version": 1, "generated_at": "yesterday",
                 "entries": []}).encode(), "generated_at", "ISO 8601"),
    (json.dumps({"format": sharing.FORMAT, "version": 1,
                 "generated_at": "2025-01-01T00:00:00+00:00"}).encode(), "entries", "list"),
    (json.dumps({"format": sharing.FORMAT, "version": 1,
                 "generated_at": "2025-01-01T00:00:00+00:00",
                 "entries": [{"category": "OVERDUE", "listed_since": "2025-13-01",
                              "identifiers": [{"kind": "phone", "hash": "a" * 64}]}]}).encode(),
     "entries[0].listed_since", "date"),
    (json.dumps({"format": sharing.FORMAT, "version": 1,
                 "generated_at": "2025-01-01T00:00:00+00:00",
                 "entries": [{"category": "OVERDUE", "identifiers": [
                     {"kind": "phone", "hash": "a" * 64},
                     {"kind": "phone", "hash": "13800138000"}]}]}).encode(),
     "entries[0].identifiers[1].hash", "hexadecimal"),
    (json.dumps({"format": sharing.FORMAT, "version": 1,
                 "generated_at": "2025-01-01T00:00:00+00:00",
                 "entries": [{"identifiers": [{"kind": "email", "hash": "a" * 64}]}]}).encode(),
     "entries[0].identifiers[0].kind", "kind"),
])
def test_a_malformed_file_is_refused_naming_the_problem(
        world: dict[str, Customer], content: bytes, field: str, words: str) -> None:
    before = (PartnerMatch.objects.count(), AuditEntry.objects.count())
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        sharing.import_file(Actor.job("tests"), content, partner="合作公司甲", key=KEY)
    assert refused.value.field == field
    assert field in refused.value.message and words in refused.value.message
    assert (PartnerMatch.objects.count(), AuditEntry.objects.count()) == before


def test_the_key_must_be_long_enough(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CUSTGUARD_BLACKLIST_SHARING_KEY = "short"
    with pytest.raises(ValidationFailed) as refused:
        sharing.sharing_key()
    assert refused.value.field == "key" and "CUSTGUARD_BLACKLIST_SHARING_KEY" in str(
        refused.value)
    monkeypatch.setenv("PARTNER_KEY", "x" * 32)
    assert sharing.sharing_key("PARTNER_KEY") == b"x" * 32
    with pytest.raises(ValidationFailed):
        sharing.sharing_key("NO_SUCH_VARIABLE_SET")


def test_the_commands_export_and_import(world: dict[str, Customer], tmp_path: Path,
                                        settings: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CUSTGUARD_BLACKLIST_SHARING_KEY = ""
    path = tmp_path / "ours.json"
    with pytest.raises(CommandError, match="at least 32 characters"):
        call_command("blacklist", "export", str(path))
    assert not path.exists()
    monkeypatch.setenv("CIRCLE_KEY", KEY.decode())
    out = StringIO()
    call_command("blacklist", "export", str(path), "--partner-key-env", "CIRCLE_KEY",
                 stdout=out)
    assert out.getvalue().startswith(f"wrote 2 entry(ies) to {path}")
    BlacklistEntry.objects.all().delete()
    out = StringIO()
    call_command("blacklist", "import", str(path), "--partner", "合作公司丙",
                 "--partner-key-env", "CIRCLE_KEY", stdout=out)
    assert "2 customer(s) matched: 3 new match(es), 0 already recorded" in out.getvalue()
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "custguard-blacklist-exchange", "version": 1, "entries": 3}')
    with pytest.raises(CommandError, match="generated_at"):
        call_command("blacklist", "import", str(broken), "--partner", "合作公司丙",
                     "--partner-key-env", "CIRCLE_KEY")
    with pytest.raises(CommandError, match="partner"):
        call_command("blacklist", "import", str(path), "--partner", "  ",
                     "--partner-key-env", "CIRCLE_KEY")


def test_a_match_is_reviewed_once_with_a_note(world: dict[str, Customer], tmp_path: Path,
                                               personas: dict[str, User]) -> None:
    data = export(tmp_path).read_bytes()
    sharing.import_file(Actor.job("tests"), data, partner="合作公司甲", key=KEY)
    match = PartnerMatch.objects.filter(identifier_kind="id_number").get()
    credit = Actor.for_user(personas["credit_manager"])
    before = list(PartnerMatch.objects.values())
    with pytest.raises(PermissionRefused):
        sharing.review(Actor.for_user(personas["auditor"]), match, note="看过")
    with pytest.raises(ValidationFailed):
        sharing.review(credit, match, note="  ")
    assert list(PartnerMatch.objects.values()) == before
    reviewed = sharing.review(credit, match, note="已在本公司黑名单中")
    assert reviewed.status == PartnerMatch.Status.REVIEWED and reviewed.reviewed_by is not None
    with pytest.raises(Conflict):
        sharing.review(credit, match, note="再次")


def test_the_partner_match_pages(world: dict[str, Customer], tmp_path: Path,
                                 personas: dict[str, User],
                                 client_for: Callable[[User], Client]) -> None:
    data = export(tmp_path).read_bytes()
    sharing.import_file(Actor.job("tests"), data, partner="合作公司甲", key=KEY)
    match = PartnerMatch.objects.filter(identifier_kind="id_number").get()
    client = client_for(personas["credit_manager"])
    listing = client.get("/conduct/partner-matches/").content.decode()
    assert listing.count("data-match=") == 3
    page = client.post(f"/conduct/partner-matches/{match.pk}/review/", {"review-note": ""})
    assert page.status_code == 200
    assert 'data-field-error="review-note"' in page.content.decode()
    assert PartnerMatch.objects.get(pk=match.pk).status == PartnerMatch.Status.OPEN
    done = client.post(f"/conduct/partner-matches/{match.pk}/review/",
                       {"review-note": "已核实"})
    assert done.status_code == 302
    assert PartnerMatch.objects.get(pk=match.pk).status == PartnerMatch.Status.REVIEWED
    open_only = client.get("/conduct/partner-matches/").content.decode()
    assert open_only.count("data-match=") == 2
    auditor = client_for(personas["auditor"])
    assert auditor.get(f"/conduct/partner-matches/{match.pk}/").status_code == 200
    assert auditor.post(f"/conduct/partner-matches/{match.pk}/review/",
                        {"review-note": "x"}).status_code == 403
