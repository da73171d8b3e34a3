"""Violation cases: report (once per incident), attach evidence, investigate, confirm or dismiss.
Confirming runs the penalty ladder and proposes the measures it recommends."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.conduct.models import Evidence, Penalty, ViolationCase
from custguard.conduct.services import penalties
from custguard.conduct.services.common import (
    confirmed_violations,
    moved,
    policy,
    reason_text,
    refuse_state,
    require,
    today,
)
from custguard.core import clock, filetypes, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, ValidationFailed
from custguard.core.services import audit
from custguard.credit.models import CreditScore
from custguard.credit.services import scoring
from custguard.customers.models import Customer
from custguard.policy.conduct import recommend

OLDEST_YEARS = 5
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Reported:
    case: ViolationCase
    created: bool  # False: the same incident (or source/external_id) was reported before


def _clean_type(code: str) -> tuple[str, str, int, bool]:
    """(code, severity, points, evidence required) of a violation type of the policy in force."""
    _version, document = policy()
    code = (code or "").strip().upper()
    try:
        kind = document.violation_type(code)
    except KeyError:
        raise ValidationFailed(_("unknown violation type %(code)s") % {"code": code or "—"},
                               field="violation_type") from None
    return kind.code, kind.severity.value, kind.points, kind.evidence_required


def _existing(customer: Customer, code: str, occurred_on: dt.date, source: str,
              external_id: str) -> ViolationCase | None:
    if external_id:
        found = ViolationCase.objects.filter(source=source, external_id=external_id).first()
        if found is not None:
            if found.customer_id != customer.pk:
                raise Conflict(_("%(source)s/%(id)s was reported for another customer") % {
                    "source": source, "id": external_id}, field="external_id")
            return found
    return ViolationCase.objects.filter(customer=customer, violation_type=code,
                                        occurred_on=occurred_on).first()


def report(actor: Actor, customer: Customer, *, violation_type: str, occurred_on: dt.date,
           description: str, source: str = "", external_id: str = "") -> Reported:
    """Report a violation. The same incident (same customer, type and day, or the same
    source/external_id) is one case: reporting it again returns the first report."""
    require(actor, "conduct.add_violationcase")
    code, severity, points, _evidence = _clean_type(violation_type)
    if occurred_on > today():
        raise ValidationFailed(_("the violation cannot have occurred in the future"),
                               field="occurred_on")
    if occurred_on < today() - dt.timedelta(days=365 * OLDEST_YEARS):
        raise ValidationFailed(_("the violation occurred more than %(n)d years ago") % {
            "n": OLDEST_YEARS}, field="occurred_on")
    text = reason_text(description, "description")
    source, external_id = source.strip()[:50], external_id.strip()[:100]
    if external_id and not source:
        raise ValidationFailed(_("give the source of the external id"), field="source")
    found = _existing(customer, code, occurred_on, source, external_id)
    if found is not None:
        return Reported(found, created=False)
    version, _document = policy()
    try:
        with transaction.atomic():
            case = ViolationCase.objects.create(
                customer=customer, violation_type=code, severity=severity, points=points,
                occurred_on=occurred_on, description=text, source=source,
                external_id=external_id, reported_at=clock.now(), reported_by=actor.user,
                reported_by_label=actor.label[:150], policy_version=version)
            audit.record(actor, "conduct.case_report", case, customer_id=customer.pk,
                         after={"violation_type": code, "severity": severity,
                                "occurred_on": occurred_on, "description": text,
                                "source": source, "external_id": external_id})
    except IntegrityError:
        # The same incident reported at the same moment: the other report won.
        found = _existing(customer, code, occurred_on, source, external_id)
        if found is None:
            raise
        return Reported(found, created=False)
    return Reported(case, created=True)


def _check_size(size: int) -> None:
    limit = settings.CUSTGUARD_EVIDENCE_MAX_MB * 1024 * 1024
    if size > limit:
        raise ValidationFailed(_("the file is %(size).1f MB; at most %(limit)d MB is "
                                 "accepted") % {"size": size / 1024 / 1024,
                                                "limit": settings.CUSTGUARD_EVIDENCE_MAX_MB},
                               field="file")
    if size == 0:
        raise ValidationFailed(_("the file is empty"), field="file")


def _digest(stream: IO[bytes]) -> str:
    sha = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
    stream.seek(0)
    return sha.hexdigest()


def add_evidence(actor: Actor, case: ViolationCase, upload: File, *, note: str = "",
                 content_type: str = "application/octet-stream") -> Evidence:
    """Attach a file to an open case; the same file twice is kept once. The content is
    sniffed (`core.filetypes`): a program, a web page, or content that is not what the name
    or the declared `content_type` says is refused. The file is stored under a generated name;
    the uploader's name is kept, sanitised, only to show and to name the download."""
    require(actor, "conduct.add_evidence")
    _check_size(upload.size or 0)
    checked = filetypes.check_upload(upload.name or "", content_type, upload,
                                     settings.CUSTGUARD_EVIDENCE_TYPES)
    name = checked.name
    note = limits.bounded(note, limits.SHORT_TEXT, "note")
    digest = _digest(upload)
    with transaction.atomic():
        case = ViolationCase.objects.select_for_update(no_key=True).get(pk=case.pk)
        if case.status not in (ViolationCase.Status.REPORTED,
                               ViolationCase.Status.INVESTIGATING):
            raise refuse_state(_("case"), case.get_status_display())
        existing = case.evidence.filter(sha256=digest).first()
        if existing is not None:
            return existing
        evidence = Evidence(case=case, original_name=name, content_type=checked.content_type,
                            size=upload.size or 0, sha256=digest, note=note,
                            uploaded_at=clock.now(), uploaded_by_label=actor.label[:150])
        evidence.file.save(f"{uuid.uuid4().hex}.{checked.extension}", upload, save=False)
        try:  # a refused write must not leave the stored file behind
            evidence.save()
            audit.record(actor, "conduct.evidence_add", evidence, customer_id=case.customer_id,
                         after={"case": case.pk, "file": name, "size": evidence.size,
                                "content_type": evidence.content_type,
                                "sha256": digest, "note": evidence.note})
        except BaseException:
            evidence.file.delete(save=False)
            raise
        return evidence


def investigate(actor: Actor, case: ViolationCase, *, investigator: object = None
                ) -> ViolationCase:
    """reported → investigating, assigned to `investigator` (default: whoever starts it)."""
    require(actor, "conduct.investigate_violationcase")
    person = investigator or actor.user
    if person is not None and not person.has_perm("conduct.investigate_violationcase"):
        raise ValidationFailed(_("%(name)s may not investigate violations") % {"name": person},
                               field="investigator")
    with transaction.atomic():
        if not moved(ViolationCase, case.pk, ViolationCase.Status.REPORTED,
                     ViolationCase.Status.INVESTIGATING, investigator=person):
            current = ViolationCase.objects.get(pk=case.pk)
            raise refuse_state(_("case"), current.get_status_display())
        audit.record(actor, "conduct.case_investigate", case, customer_id=case.customer_id,
                     before={"status": ViolationCase.Status.REPORTED},
                     after={"status": ViolationCase.Status.INVESTIGATING,
                            "investigator": getattr(person, "pk", None)})
        return ViolationCase.objects.get(pk=case.pk)


@audit.atomic
def confirm(actor: Actor, case: ViolationCase, *, reason: str) -> Penalty | None:
    """The violation is established: confirm it, rescore the customer and propose the measures
    the ladder recommends (None when no step is reached). Evidence is required for the types
    the policy says need it."""
    require(actor, "conduct.investigate_violationcase")
    text = reason_text(reason)
    case = ViolationCase.objects.select_for_update(no_key=True).get(pk=case.pk)
    if case.status not in (ViolationCase.Status.REPORTED, ViolationCase.Status.INVESTIGATING):
        raise refuse_state(_("case"), case.get_status_display())
    _code, _severity, _points, needs_evidence = _clean_type(case.violation_type)
    if needs_evidence and not case.evidence.exists():
        raise ValidationFailed(_("a %(type)s needs evidence: attach a file first") % {
            "type": case.violation_type}, field="evidence")
    version, document = policy()
    previous = case.status
    ViolationCase.objects.filter(pk=case.pk).update(
        status=ViolationCase.Status.CONFIRMED, decided_at=clock.now(), decided_by=actor.user,
        decision_reason=text, policy_version=version)
    case.refresh_from_db()
    audit.record(actor, "conduct.case_confirm", case, customer_id=case.customer_id,
                 before={"status": previous}, after={"status": case.status,
                                                     "policy_version": version},
                 reason=text)
    scoring.rescore_customers(actor, [case.customer_id], trigger=CreditScore.Trigger.FACT)
    decision = recommend(document, confirmed_violations(case.customer_id, today()), today())
    if decision.outcome is None:
        return None
    return penalties.propose(actor, case, decision.outcome, decision.reasons, version)


def dismiss(actor: Actor, case: ViolationCase, *, reason: str) -> ViolationCase:
    require(actor, "conduct.investigate_violationcase")
    text = reason_text(reason)
    with transaction.atomic():
        for previous in (ViolationCase.Status.REPORTED, ViolationCase.Status.INVESTIGATING):
            if moved(ViolationCase, case.pk, previous, ViolationCase.Status.DISMISSED,
                     decided_at=clock.now(), decided_by=actor.user, decision_reason=text):
                audit.record(actor, "conduct.case_dismiss", case,
                             customer_id=case.customer_id, before={"status": previous},
                             after={"status": ViolationCase.Status.DISMISSED}, reason=text)
                return ViolationCase.objects.get(pk=case.pk)
        current = ViolationCase.objects.get(pk=case.pk)
        raise refuse_state(_("case"), current.get_status_display())
