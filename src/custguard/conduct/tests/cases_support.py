"""Helpers of the cases, penalties, fines and clauses tests: files kept under a temporary
MEDIA_ROOT, a snapshot of everything conduct and the standing hold (a refused action must
leave it as it was), uploads, and a clock moved to a day from now."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from custguard.conduct import models as conduct
from custguard.core import clock
from custguard.core.models import AuditEntry
from custguard.customers.models import Standing

PDF = b"%PDF-1.4 evidence of the violation\n"


def use_tmp_media(settings: Any, tmp_path: Path) -> Path:
    """Stored files (evidence, notice PDFs) go to a directory of the test's own (call it from
    a test module's `media` fixture with pytest-django's `settings`)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def snapshot() -> dict[str, Any]:
    tables = [conduct.ViolationCase, conduct.Evidence, conduct.ContractClause, conduct.Penalty,
              conduct.Fine, conduct.Notice, conduct.BlacklistEntry, Standing]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in tables} | {
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "action"))}


def upload(name: str = "证据.pdf", content: bytes = PDF,
           content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type)


def days_from_now(days: int) -> dt.datetime:
    return clock.now() + dt.timedelta(days=days)

