"""Policy versions: drafts, publishing, the version in force, the command and the pages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from custguard.core.actors import Actor
from custguard.core.clock import frozen_at
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import AuditEntry, PolicyVersion, User
from custguard.core.services import policies
from custguard.policy import checksum, default_policy_text, load_default_policy
from custguard.policy.tests.support import default_data

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def credit(personas: dict[str, User]) -> Actor:
    return Actor.for_user(personas["credit_manager"])


def changed_text(**credit_changes: object) -> str:
    data = default_data()
    data["credit"].update(credit_changes)
    return json.dumps(data, ensure_ascii=False)


def test_a_draft_stores_the_validated_document_with_its_checksum(credit: Actor) -> None:
    version = policies.create_draft(credit, default_policy_text(), note="首版")
    assert version.number == 1
    assert version.status == PolicyVersion.Status.DRAFT
    assert version.checksum == checksum(load_default_policy())
    assert version.document["credit"]["over_limit_action"] == "HOLD"
    entry = AuditEntry.objects.get(action="policy.draft")
    assert entry.after["number"] == 1 and entry.actor_label == "credit_manager"


def test_versions_are_numbered_in_order(credit: Actor) -> None:
    numbers = [policies.create_draft(credit, default_policy_text()).number for _ in range(3)]
    assert numbers == [1, 2, 3]


def test_a_bad_document_is_refused_with_every_problem_and_nothing_stored(credit: Actor) -> None:
    data = default_data()
    data["credit"]["tolerance_percent"] = "-1"
    data["grades"][0]["min_score"] = "high"
    with pytest.raises(ValidationFailed) as refused:
        policies.create_draft(credit, json.dumps(data))
    assert set(refused.value.errors) >= {"credit.tolerance_percent", "grades[0].min_score"}
    assert not PolicyVersion.objects.exists()
    assert not AuditEntry.objects.exists()


def test_text_that_is_not_a_document_is_refused(credit: Actor) -> None:
    with pytest.raises(ValidationFailed):
        policies.create_draft(credit, "just words")
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize("role", ["sales_manager", "finance", "auditor", "account_manager"])
def test_only_admins_and_credit_managers_store_or_publish(personas: dict[str, User],
                                                         credit: Actor, role: str) -> None:
    draft = policies.create_draft(credit, default_policy_text())
    other = Actor.for_user(personas[role])
    with pytest.raises(PermissionRefused):
        policies.create_draft(other, default_policy_text())
    with pytest.raises(PermissionRefused):
        policies.publish(other, draft)
    assert PolicyVersion.objects.count() == 1
    assert PolicyVersion.objects.get().status == PolicyVersion.Status.DRAFT


def test_publishing_now_retires_the_version_in_force(credit: Actor) -> None:
    with frozen_at(T0):
        first = policies.publish_source(credit, default_policy_text())
    with frozen_at(T0 + dt.timedelta(days=10)):
        second = policies.publish(credit, policies.create_draft(credit, changed_text(
            tolerance_percent="8")), reason="容差调整")
    first.refresh_from_db()
    assert first.status == PolicyVersion.Status.RETIRED
    assert second.status == PolicyVersion.Status.PUBLISHED
    assert second.effective_from == T0 + dt.timedelta(days=10)
    entry = AuditEntry.objects.filter(action="policy.publish").order_by("-seq").first()
    assert entry is not None and entry.after["retired"] == [1] and entry.reason == "容差调整"


def test_the_version_in_force_at_any_moment_is_the_one_that_decided(credit: Actor) -> None:
    with frozen_at(T0):
        first = policies.publish_source(credit, default_policy_text())
    with frozen_at(T0 + dt.timedelta(days=1)):
        later = policies.publish(credit, policies.create_draft(credit, changed_text(
            tolerance_percent="8")), effective_from=T0 + dt.timedelta(days=30))
        # Scheduled for later: the first stays in force until then.
        assert policies.version_in_force() == first
        first.refresh_from_db()
        assert first.status == PolicyVersion.Status.PUBLISHED
    assert policies.version_in_force(T0 - dt.timedelta(seconds=1)) is None
    assert policies.version_in_force(T0 + dt.timedelta(days=29)) == first
    assert policies.version_in_force(T0 + dt.timedelta(days=30)) == later


def test_an_effective_time_in_the_past_is_refused(credit: Actor) -> None:
    draft = policies.create_draft(credit, default_policy_text())
    with frozen_at(T0), pytest.raises(ValidationFailed) as refused:
        policies.publish(credit, draft, effective_from=T0 - dt.timedelta(hours=1))
    assert refused.value.field == "effective_from"
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.DRAFT
    assert not AuditEntry.objects.filter(action="policy.publish").exists()


def test_only_a_draft_can_be_published(credit: Actor) -> None:
    version = policies.publish_source(credit, default_policy_text())
    with pytest.raises(Conflict):
        policies.publish(credit, version)


# --- the command ------------------------------------------------------------------------------


def test_validate_prints_every_problem_with_its_path_and_line(tmp_path: Path) -> None:
    text = default_policy_text().replace("tolerance_percent: 5", "tolerance_percent: 500")
    text = text.replace("  base_points: 200", "  base_points: lots")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("policy", "validate", str(path), stdout=out, stderr=err)
    assert exited.value.code == 1
    lines = err.getvalue().splitlines()
    assert any(line.startswith("credit.tolerance_percent (line ") for line in lines), lines
    assert any(line.startswith("scorecard.base_points (line ") for line in lines), lines
    assert lines[-1] == "2 problem(s)"


def test_validate_accepts_the_shipped_default() -> None:
    out = StringIO()
    call_command("policy", "validate", "default", stdout=out)
    assert out.getvalue().startswith("valid: ")


def test_publish_command_stores_publishes_and_lists(tmp_path: Path,
                                                    personas: dict[str, User]) -> None:
    out = StringIO()
    call_command("policy", "publish", "default", "--note", "上线", "--as", "credit_manager",
                 stdout=out)
    version = PolicyVersion.objects.get()
    assert version.status == PolicyVersion.Status.PUBLISHED
    assert version.published_by == personas["credit_manager"]
    assert out.getvalue().startswith("published v1 ")
    listing = StringIO()
    call_command("policy", "list", stdout=listing)
    assert listing.getvalue().startswith("v1    published")


def test_publish_command_refuses_a_bad_file_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("schema_version: 5\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("policy", "publish", str(path), stderr=err)
    assert "schema_version" in err.getvalue()
    assert not PolicyVersion.objects.exists()


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def as_role(personas: dict[str, User], client_for: Callable[[User], Client]
            ) -> Callable[[str], Client]:
    return lambda role: client_for(personas[role])


def test_upload_page_reports_problems_by_path_and_stores_nothing(
        as_role: Callable[[str], Client]) -> None:
    data = default_data()
    data["appeals"]["window_days"] = 0
    response = as_role("credit_manager").post("/policies/new/", {
        "text": yaml.safe_dump(data, allow_unicode=True), "note": ""})
    assert response.status_code == 200
    assert "appeals.window_days" in response.content.decode()
    assert not PolicyVersion.objects.exists()


def test_upload_then_publish_through_the_pages(as_role: Callable[[str], Client]) -> None:
    client = as_role("credit_manager")
    response = client.post("/policies/new/", {"text": default_policy_text(), "note": "v1"})
    assert response.status_code == 302 and response["Location"] == "/policies/1/"
    page = client.get("/policies/1/").content.decode()
    assert "schema_version" in page
    response = client.post("/policies/1/publish/", {"reason": "启用默认政策"})
    assert response.status_code == 302
    assert PolicyVersion.objects.get().status == PolicyVersion.Status.PUBLISHED
    listing = client.get("/policies/").content.decode()
    assert "v1" in listing


def test_publish_without_a_reason_changes_nothing(as_role: Callable[[str], Client],
                                                  credit: Actor) -> None:
    policies.create_draft(credit, default_policy_text())
    response = as_role("credit_manager").post("/policies/1/publish/", {"reason": ""})
    assert response.status_code == 302
    assert PolicyVersion.objects.get().status == PolicyVersion.Status.DRAFT


def test_diff_page_shows_the_changed_paths(as_role: Callable[[str], Client],
                                           credit: Actor) -> None:
    policies.create_draft(credit, default_policy_text())
    policies.create_draft(credit, changed_text(tolerance_percent="8",
                                               over_limit_action="DENY"))
    page = as_role("auditor").get("/policies/diff/", {"a": 1, "b": 2}).content.decode()
    assert "credit.tolerance_percent" in page and "credit.over_limit_action" in page
    assert "DENY" in page
    assert "scorecard" not in page.split('data-testid="policy-diff"')[1]


@pytest.mark.parametrize(("role", "status"), [
    ("auditor", 403), ("finance", 403), ("sales_manager", 403), ("account_manager", 403),
    ("customer_service", 403)])
def test_roles_that_may_not_upload_get_403_and_nothing_changes(
        as_role: Callable[[str], Client], role: str, status: int) -> None:
    response = as_role(role).post("/policies/new/", {"text": default_policy_text()})
    assert response.status_code == status
    assert not PolicyVersion.objects.exists()
