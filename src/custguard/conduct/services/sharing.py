"""Blacklist information sharing with partner companies (信用黑名单信息共享).

An exchange file lists our active blacklist entries without revealing who they are: each
customer's identifiers — the unified social credit code / ID number and the phone numbers of
the customer and its contacts — appear only as HMAC-SHA256 digests keyed with a secret the
partners share (settings.CUSTGUARD_BLACKLIST_SHARING_KEY, or an environment variable named on
the command line; at least 32 characters). A partner holding the same key hashes its own
customers the same way and finds the matches; without the key, a digest reveals nothing and
cannot be tested against guessed numbers.

    {"format": "custguard-blacklist-exchange", "version": 1,
     "generated_at": "2025-06-01T03:00:00+00:00", "hash": "HMAC-SHA256",
     "key_check": "<HMAC of a fixed text: tells the importer whether the keys agree>",
     "entries": [{"category": "OVERDUE", "listed_since": "2025-03-02",
                  "identifiers": [{"kind": "id_number", "hash": "<64 hex>"},
                                  {"kind": "phone", "hash": "<64 hex>"}]}, ...]}

Normalisation (both sides must agree): an ID number or credit code is upper-cased with every
space removed; a phone number keeps its digits only, drops the +86 / 0086 country prefix (and
puts back the trunk 0 of a landline dialled from abroad), and is ignored when shorter than 7
digits. Each value is hashed with its kind ("id_number:<value>", "phone:<value>"), so an ID
number never matches a phone number.

Importing a partner's file records a PartnerMatch for each of our customers whose digest
appears in it — an alert for a credit manager to review, never a blacklist entry — once per
partner, customer, kind and file (re-importing the same file adds nothing), and not again for
a listing already seen in an earlier file of the same partner (same kind, category and
listed-since date: partners send a fresh file every time); it audits the import and each new
match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from custguard.conduct.models import BlacklistEntry, PartnerMatch
from custguard.conduct.services.blacklist import category_of, document_of
from custguard.conduct.services.common import moved, reason_text, refuse_state, require
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import ValidationFailed
from custguard.core.services import audit
from custguard.customers.models import Contact, Customer

FORMAT = "custguard-blacklist-exchange"
VERSION = 1
HASH = "HMAC-SHA256"
MIN_KEY_LENGTH = 32
KINDS = ("id_number", "phone")
KEY_CHECK_TEXT = "custguard blacklist exchange key check"
MIN_PHONE_DIGITS = 7
MAX_PARTNER = 100
MAX_FILE_BYTES = 200 * 1024 * 1024
CHUNK = 2000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CATEGORY = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


# --- the key and the hashes -----------------------------------------------------------------


def sharing_key(env_var: str | None = None) -> bytes:
    """The shared key: from the environment variable named, else from the setting. Refused
    when missing or shorter than 32 characters."""
    if env_var:
        value = os.environ.get(env_var, "")
        where = env_var
    else:
        value = getattr(settings, "CUSTGUARD_BLACKLIST_SHARING_KEY", "") or ""
        where = "CUSTGUARD_BLACKLIST_SHARING_KEY"
    if len(value) < MIN_KEY_LENGTH:
        raise ValidationFailed(
            _("the sharing key (%(where)s) must have at least %(n)d characters") % {
                "where": where, "n": MIN_KEY_LENGTH}, field="key")
    return value.encode("utf-8")


def normalise_id(value: str) -> str:
    """A unified social credit code or ID number: upper case, no spaces (full-width ones
    included)."""
    return "".join((value or "").split()).upper()


def normalise_phone(value: str) -> str:
    """Digits only, without the +86 / 0086 prefix; '' when too short to identify anyone."""
    text = (value or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    international = False
    if text.startswith("+86"):
        digits, international = digits[2:], True
    elif digits.startswith("0086"):
        digits, international = digits[4:], True
    elif digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        digits, international = digits[2:], True  # 86 + an 11-digit mobile number
    if international and digits and not (len(digits) == 11 and digits[0] == "1"):
        digits = "0" + digits.lstrip("0")  # a landline: area code with its trunk 0
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def key_check(key: bytes) -> str:
    return hmac.new(key, KEY_CHECK_TEXT.encode(), hashlib.sha256).hexdigest()


def identifier_digests(key: bytes, id_number: str,
                       phones: Iterable[str]) -> list[tuple[str, str]]:
    """(kind, digest) of a customer's identifiers, each once, sorted."""
    found: set[tuple[str, str]] = set()
    normal_id = normalise_id(id_number)
    if normal_id:
        found.add(("id_number", digest(key, "id_number", normal_id)))
    for phone in phones:
        normal = normalise_phone(phone)
        if normal:
            found.add(("phone", digest(key, "phone", normal)))
    return sorted(found)


def _phones_by_customer(customer_ids: list[int]) -> dict[int, list[str]]:
    phones: dict[int, list[str]] = {pk: [] for pk in customer_ids}
    for customer_id, phone in (Contact.objects.filter(customer_id__in=customer_ids)
                               .exclude(phone="").values_list("customer_id", "phone")):
        phones[customer_id].append(phone)
    return phones


# --- export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    entries: int  # entries written
    skipped: int  # active entries of customers without any identifier
    digest: str  # SHA-256 of the file written


def exchange_document(key: bytes) -> tuple[dict[str, Any], int]:
    """The exchange file's content for our active entries, and how many entries were left out
    for want of an identifier. Entries are ordered by their digests, so the file says nothing
    about when or in which order customers joined."""
    active = list(BlacklistEntry.objects.filter(status=BlacklistEntry.Status.ACTIVE)
                  .order_by("pk").values_list("customer_id", "criterion", "policy_version",
                                              "starts_on"))
    documents: dict[int, Any] = {}
    entries, skipped = [], 0
    for start in range(0, len(active), CHUNK):
        chunk = active[start:start + CHUNK]
        ids = [row[0] for row in chunk]
        own = {pk: (id_number, phone) for pk, id_number, phone in Customer.objects.filter(
            pk__in=ids).values_list("pk", "id_number", "phone")}
        contact_phones = _phones_by_customer(ids)
        for customer_id, criterion, version, starts_on in chunk:
            id_number, phone = own.get(customer_id, ("", ""))
            identifiers = identifier_digests(key, id_number,
                                             [phone, *contact_phones.get(customer_id, [])])
            if not identifiers:
                skipped += 1
                continue
            if version not in documents:
                documents[version] = document_of(version)
            entries.append({
                "category": category_of(criterion, documents[version]),
                "listed_since": starts_on.isoformat() if starts_on else None,
                "identifiers": [{"kind": kind, "hash": value} for kind, value in identifiers],
            })
    entries.sort(key=lambda item: item["identifiers"][0]["hash"])
    return {
        "format": FORMAT, "version": VERSION, "generated_at": clock.now().isoformat(),
        "hash": HASH, "key_check": key_check(key), "entries": entries,
    }, skipped


def export(actor: Actor, path: str, *, key: bytes) -> ExportResult:
    """Write the exchange file to `path` (through a temporary file, so a partner never reads
    half a file) and audit the export (how many entries and the file's SHA-256, not its
    content)."""
    require(actor, "conduct.share_blacklist")
    document, skipped = exchange_document(key)
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    file_digest = hashlib.sha256(data).hexdigest()
    temporary = f"{path}.part"
    with open(temporary, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
    with transaction.atomic():
        audit.record(actor, "conduct.blacklist_export", object_type="conduct.blacklistentry",
                     object_id="exchange", after={"entries": len(document["entries"]),
                                                  "skipped": skipped, "sha256": file_digest})
    return ExportResult(entries=len(document["entries"]), skipped=skipped, digest=file_digest)


# --- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    category: str
    listed_since: dt.date | None


@dataclass
class ImportResult:
    partner: str
    digest: str
    entries: int
    created: int = 0  # new matches
    existing: int = 0  # matches already recorded (from this file or the same listing before)
    customers: int = 0  # our customers matched
    key_matches: bool = True  # whether the partner's key_check agrees with our key
    matched: list[tuple[int, str]] = field(default_factory=list)  # (customer id, kind)


def _fail(message: str, where: str) -> ValidationFailed:
    return ValidationFailed(_("the exchange file is invalid: %(where)s: %(problem)s") % {
        "where": where, "problem": message}, field=where)


def parse(data: bytes) -> tuple[dict[str, Listed], str | None, int]:
    """The partner's file as {digest: what the partner says}, its key_check and the number of
    entries. Refuses a file that is not a well-formed exchange file, naming the problem and
    where it is."""
    if len(data) > MAX_FILE_BYTES:
        raise _fail(_("larger than %(mb)d MB") % {"mb": MAX_FILE_BYTES // (1024 * 1024)},
                    "file")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _fail(_("not UTF-8 text"), "file") from None
    except json.JSONDecodeError as error:
        raise _fail(_("not JSON (%(error)s at line %(line)d, column %(column)d)") % {
            "error": error.msg, "line": error.lineno, "column": error.colno}, "file") from None
    if not isinstance(document, dict):
        raise _fail(_("the top level must be an object"), "file")
    if document.get("format") != FORMAT:
        raise _fail(_("not a blacklist exchange file (expected %(expected)s)") % {
            "expected": FORMAT}, "format")
    if document.get("version") != VERSION:
        raise _fail(_("version %(found)s is not supported (this system reads version "
                      "%(version)d)") % {"found": document.get("version"),
                                         "version": VERSION}, "version")
    if document.get("hash") not in (None, HASH):
        raise _fail(_("hash %(found)s is not supported (expected %(expected)s)") % {
            "found": document.get("hash"), "expected": HASH}, "hash")
    generated = document.get("generated_at")
    if not isinstance(generated, str) or _datetime(generated) is None:
        raise _fail(_("missing or not an ISO 8601 time"), "generated_at")
    check = document.get("key_check")
    if check is not None and (not isinstance(check, str) or not _HEX64.match(check)):
        raise _fail(_("not a 64-character hexadecimal digest"), "key_check")
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise _fail(_("missing or not a list"), "entries")
    listed: dict[str, Listed] = {}
    for index, entry in enumerate(entries):
        where = f"entries[{index}]"
        if not isinstance(entry, dict):
            raise _fail(_("not an object"), where)
        category = entry.get("category", "")
        if not isinstance(category, str) or (category and not _CATEGORY.match(category)):
            raise _fail(_("an upper-case code is expected"), f"{where}.category")
        since = entry.get("listed_since")
        day = None
        if since is not None:
            try:
                day = dt.date.fromisoformat(since) if isinstance(since, str) else None
            except ValueError:
                day = None
            if day is None:
                raise _fail(_("not a date (YYYY-MM-DD)"), f"{where}.listed_since")
        identifiers = entry.get("identifiers")
        if not isinstance(identifiers, list) or not identifiers:
            raise _fail(_("missing or empty"), f"{where}.identifiers")
        for position, identifier in enumerate(identifiers):
            place = f"{where}.identifiers[{position}]"
            if not isinstance(identifier, dict):
                raise _fail(_("not an object"), place)
            if identifier.get("kind") not in KINDS:
                raise _fail(_("the kind must be one of %(kinds)s") % {
                    "kinds": ", ".join(KINDS)}, f"{place}.kind")
            value = identifier.get("hash")
            if not isinstance(value, str) or not _HEX64.match(value):
                raise _fail(_("not a 64-character lower-case hexadecimal digest"),
                            f"{place}.hash")
            listed.setdefault(f"{identifier['kind']}:{value}", Listed(category, day))
    return listed, check, len(entries)


def _datetime(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _our_digests(key: bytes) -> Iterator[tuple[int, str, str]]:
    """(customer id, kind, digest) of every identifier of every customer, streamed in chunks
    of customers so memory stays flat."""
    last = 0
    while True:
        chunk = list(Customer.objects.filter(pk__gt=last).order_by("pk")
                     .values_list("pk", "id_number", "phone")[:CHUNK])
        if not chunk:
            return
        ids = [row[0] for row in chunk]
        contact_phones = _phones_by_customer(ids)
        for pk, id_number, phone in chunk:
            for kind, value in identifier_digests(key, id_number,
                                                  [phone, *contact_phones[pk]]):
                yield pk, kind, value
        last = ids[-1]


def clean_partner(partner: str) -> str:
    name = (partner or "").strip()
    if not name:
        raise ValidationFailed(_("name the partner whose file this is"), field="partner")
    if len(name) > MAX_PARTNER:
        raise ValidationFailed(_("at most %(n)d characters") % {"n": MAX_PARTNER},
                               field="partner")
    return name


def import_file(actor: Actor, data: bytes, *, partner: str, key: bytes) -> ImportResult:
    """Match a partner's exchange file against our customers and record a PartnerMatch for
    each match not recorded from this file before. Never creates a blacklist entry."""
    require(actor, "conduct.share_blacklist")
    name = clean_partner(partner)
    listed, check, count = parse(data)
    file_digest = hashlib.sha256(data).hexdigest()
    result = ImportResult(partner=name, digest=file_digest, entries=count,
                          key_matches=check is None or hmac.compare_digest(check,
                                                                           key_check(key)))
    found: dict[tuple[int, str], Listed] = {}
    for customer_id, kind, value in _our_digests(key):
        hit = listed.get(f"{kind}:{value}")
        if hit is not None and (customer_id, kind) not in found:
            found[(customer_id, kind)] = hit
    now = clock.now()
    with audit.deferred_transaction():
        # Seen before: from this very file, or the same listing (kind, category, listed
        # since) in an earlier file of the partner — partners send a fresh file every time.
        rows = PartnerMatch.objects.filter(partner=name, customer_id__in=[
            customer_id for customer_id, _kind in found]).values_list(
            "customer_id", "identifier_kind", "partner_category", "partner_listed_on",
            "file_digest")
        seen = {(c, k, cat, on) for c, k, cat, on, _digest in rows}
        seen_here = {(c, k) for c, k, _cat, _on, digest in rows if digest == file_digest}
        new = [PartnerMatch(partner=name, customer_id=customer_id, identifier_kind=kind,
                            partner_category=hit.category, partner_listed_on=hit.listed_since,
                            file_digest=file_digest, imported_at=now)
               for (customer_id, kind), hit in sorted(found.items())
               if (customer_id, kind) not in seen_here
               and (customer_id, kind, hit.category, hit.listed_since) not in seen]
        PartnerMatch.objects.bulk_create(new, ignore_conflicts=True)
        created = {(m.customer_id, m.identifier_kind): m.pk for m in PartnerMatch.objects.filter(
            partner=name, file_digest=file_digest, imported_at=now)}
        fresh = [m for m in new if (m.customer_id, m.identifier_kind) in created]
        audit.record(actor, "conduct.partner_import", object_type="conduct.partnermatch",
                     object_id=file_digest[:16],
                     after={"partner": name, "sha256": file_digest, "entries": count,
                            "matches": len(found), "new": len(fresh),
                            "key_matches": result.key_matches})
        for m in fresh:
            audit.record(actor, "conduct.partner_match", object_type="conduct.partnermatch",
                         object_id=created[(m.customer_id, m.identifier_kind)],
                         customer_id=m.customer_id,
                         after={"partner": name, "matched_on": m.identifier_kind,
                                "partner_category": m.partner_category,
                                "partner_listed_on": m.partner_listed_on,
                                "sha256": file_digest})
    result.created = len(fresh)
    result.existing = len(found) - len(fresh)
    result.customers = len({customer_id for customer_id, _kind in found})
    result.matched = sorted(found)
    return result


# --- reviewing matches ----------------------------------------------------------------------


def review(actor: Actor, match: PartnerMatch, *, note: str) -> PartnerMatch:
    """A credit manager looked at the match (and, if warranted, proposed an entry or changed
    the customer's terms through the usual services): it is closed with a note."""
    require(actor, "conduct.change_partnermatch")
    text = reason_text(note, "note")
    with audit.deferred_transaction():
        if not moved(PartnerMatch, match.pk, PartnerMatch.Status.OPEN,
                     PartnerMatch.Status.REVIEWED, reviewed_by=actor.user,
                     reviewed_at=clock.now(), note=text):
            raise refuse_state(_("partner match"),
                               PartnerMatch.objects.get(pk=match.pk).get_status_display())
        audit.record(actor, "conduct.partner_review", match, customer_id=match.customer_id,
                     before={"status": PartnerMatch.Status.OPEN},
                     after={"status": PartnerMatch.Status.REVIEWED}, reason=text)
    return PartnerMatch.objects.get(pk=match.pk)
