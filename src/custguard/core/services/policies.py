"""Policy versions: validate, store as drafts, publish with an effective time, find the one in
force. The document itself is defined and checked by the pure `custguard.policy` package."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from custguard.core import clock, sql
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import PolicyVersion
from custguard.core.services import audit
from custguard.policy.documents import (
    PolicyError,
    PolicyProblem,
    checksum,
    parse_policy_data,
    parse_policy_text,
    validate_policy_data,
)
from custguard.policy.schema import PolicyDocument


def problems_error(problems: list[PolicyProblem]) -> ValidationFailed:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.path or "document", []).append(problem.message)
    first = problems[0]
    message = ngettext(
        "the policy has %(count)d problem; first: %(path)s: %(message)s",
        "the policy has %(count)d problems; first: %(path)s: %(message)s",
        len(problems)) % {"count": len(problems), "path": first.path, "message": first.message}
    return ValidationFailed(message, field=first.path or "document", errors=errors)


def parse_document(source: str | dict[str, Any]) -> PolicyDocument:
    """A validated document from YAML/JSON text or a dict; every problem raised at once."""
    if isinstance(source, str):
        try:
            return parse_policy_text(source)
        except ValueError:
            import yaml

            try:
                data = yaml.safe_load(source)
            except yaml.YAMLError:
                data = None
            problems = validate_policy_data(data) if data is not None else []
            if not problems:
                problems = [PolicyProblem(path="document",
                                          message=_("not a YAML or JSON mapping"))]
            raise problems_error(problems) from None
    try:
        return parse_policy_data(source)
    except PolicyError as error:
        raise problems_error(list(error.problems)) from None


@transaction.atomic
def create_draft(actor: Actor, source: str | dict[str, Any], *, note: str = "") -> PolicyVersion:
    if not actor.can("core.add_policyversion"):
        raise PermissionRefused(_("your role may not upload policies"))
    document = parse_document(source)
    data = document.model_dump(mode="json")
    number = (PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            version = PolicyVersion.objects.create(
                number=number, document=data, checksum=checksum(document), note=note[:300],
                created_at=clock.now(), created_by=actor.user)
    except IntegrityError:
        raise Conflict(_("another policy version was stored at the same moment; try again"),
                       field="number") from None
    audit.record(actor, "policy.draft", version,
                 after={"number": number, "checksum": version.checksum, "note": note})
    return version


@transaction.atomic
def publish(actor: Actor, version: PolicyVersion, *,
            effective_from: dt.datetime | None = None, reason: str = "") -> PolicyVersion:
    """Publish a draft. From its effective time it is the policy in force; versions it
    supersedes at that moment are retired."""
    if not actor.can("core.publish_policyversion"):
        raise PermissionRefused(_("your role may not publish policies"))
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != PolicyVersion.Status.DRAFT:
        raise Conflict(_("version %(number)s is %(status)s; only a draft can be published") % {
            "number": version.number, "status": str(version.get_status_display()).lower()},
            field="status")
    # Re-validate: the schema may be stricter than when the draft was stored.
    parse_document(version.document)
    now = clock.now()
    effective = effective_from or now
    if effective < now - dt.timedelta(minutes=1):
        raise ValidationFailed(_("the effective time cannot be in the past: decisions already "
                                 "made keep the version that made them"), field="effective_from")
    version.status = PolicyVersion.Status.PUBLISHED
    version.effective_from = effective
    version.published_at = now
    version.published_by = actor.user
    version.save()
    retired = []
    if effective <= now:
        for old in PolicyVersion.objects.select_for_update().filter(
                status=PolicyVersion.Status.PUBLISHED, effective_from__lte=effective).exclude(
                pk=version.pk):
            old.status = PolicyVersion.Status.RETIRED
            old.save(update_fields=["status"])
            retired.append(old.number)
    audit.record(actor, "policy.publish", version, before={"status": "draft"},
                 after={"status": "published", "effective_from": effective,
                        "checksum": version.checksum, "retired": retired}, reason=reason)
    return version


def publish_source(actor: Actor, source: str | dict[str, Any], *, note: str = "",
                   effective_from: dt.datetime | None = None) -> PolicyVersion:
    with transaction.atomic():
        version = create_draft(actor, source, note=note)
        return publish(actor, version, effective_from=effective_from)


def version_in_force(at: dt.datetime | None = None) -> PolicyVersion | None:
    """The published (or since retired) version whose effective time is the latest not after
    `at`: what decided, or decides, at that moment."""
    found = _number_in_force(at)
    return None if found is None else PolicyVersion.objects.defer("document").get(
        number=found[0])


@lru_cache(maxsize=32)
def document_of(number: int, digest: str) -> PolicyDocument:
    """A stored version's document, parsed once per process (versions never change)."""
    document = PolicyVersion.objects.values_list("document", flat=True).get(number=number)
    return PolicyDocument.model_validate(document)


@lru_cache(maxsize=2)
def _in_force_statement(vendor: str) -> str:
    """(number, checksum) of the published (or since retired) version in effect by a time,
    the latest first: written out once per process."""
    v = PolicyVersion
    return " ".join([
        f"SELECT {sql.column(v, 'number')}, {sql.column(v, 'checksum')} FROM {sql.table(v)}",  # noqa: S608
        f"WHERE {sql.column(v, 'status')} IN (%s, %s) AND {sql.column(v, 'effective_from')} <= %s",
        f"ORDER BY {sql.column(v, 'effective_from')} DESC, {sql.column(v, 'number')} DESC",
        "LIMIT 1"])


def in_force_query(at: dt.datetime | None = None) -> tuple[str, list[object]]:
    """The statement that finds (number, checksum) of the version in force at `at`, and its
    parameters: policy_in_force runs it; the order gate joins it into its one read."""
    return _in_force_statement(connection.vendor), [
        PolicyVersion.Status.PUBLISHED.value, PolicyVersion.Status.RETIRED.value,
        connection.ops.adapt_datetimefield_value(at or clock.now())]


def none_in_force() -> ValidationFailed:
    return ValidationFailed(_("no policy version is in force yet: publish one first "
                              "(custguard policy publish default)"), field="policy",
                            code="no_policy")


def policy_in_force(at: dt.datetime | None = None) -> tuple[int, PolicyDocument]:
    """(version number, document) of the policy that decides at `at` (default now). Raises a
    clear error when no policy has been published yet."""
    # The gate asks on every call: one written-out statement, two columns, no model instance;
    # the document is parsed once per process (document_of).
    found = _number_in_force(at)
    if found is None:
        raise none_in_force()
    number, digest = found
    return number, document_of(number, digest)


def _number_in_force(at: dt.datetime | None) -> tuple[int, str] | None:
    """(number, checksum) of the version in force at `at`, or None."""
    statement, params = in_force_query(at)
    with sql.prepared_cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchone()
    return None if found is None else (int(found[0]), str(found[1]))
