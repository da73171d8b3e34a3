"""Every text an API body or a form accepts has a maximum (issue 9: a 10 MB note was stored,
twice). The schemas and forms are found by walking the classes, so a new one without a limit
fails here; the behaviour at and over a limit is tested per app (customers/tests/
test_text_limits.py, conduct/tests/test_evidence_uploads.py)."""

from __future__ import annotations

import importlib
import pkgutil
import types
import typing
from typing import Any

from annotated_types import MaxLen
from django import forms

import custguard
import custguard.api.api  # noqa: F401 - mounts every app's router, so their schemas exist
from custguard.api.schemas import InputSchema


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _takes_text(annotation: Any) -> bool:
    """True when the field accepts a free str (not a Literal of codes, not an `int | str` id)."""
    if annotation is str:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return str in args and int not in args
    return False


def _bounded(field: Any) -> bool:
    return any(isinstance(m, MaxLen) or getattr(m, "pattern", None) or
               getattr(m, "max_length", None) for m in field.metadata)


def test_every_text_field_of_every_input_schema_has_a_max_length() -> None:
    unbounded = [f"{cls.__module__}.{cls.__name__}.{name}"
                 for cls in _subclasses(InputSchema)
                 for name, field in cls.model_fields.items()
                 if _takes_text(field.annotation) and not _bounded(field)]
    assert unbounded == []


def _form_classes() -> list[type[forms.BaseForm]]:
    for module in pkgutil.walk_packages(custguard.__path__, "custguard."):
        if not any(part in module.name for part in (".tests", ".migrations", ".management",
                                                    "custguard.testing", "custguard.cli",
                                                    "__main__")):
            importlib.import_module(module.name)
    return [cls for cls in _subclasses(forms.BaseForm) if cls.__module__.startswith("custguard")]


def test_every_textarea_of_every_form_has_a_max_length() -> None:
    # A policy document is a whole YAML file an administrator pastes: bounded by the request
    # size (DATA_UPLOAD_MAX_MEMORY_SIZE) and validated by the policy schema, not by a length.
    exempt = {"custguard.core.views.policies.PolicyUploadForm.text"}
    classes = _form_classes()
    assert {"GroupForm", "ReasonForm", "ReviewForm"} <= {cls.__name__ for cls in classes}
    unbounded = {f"{cls.__module__}.{cls.__name__}.{name}"
                 for cls in classes
                 for name, field in cls.base_fields.items()  # type: ignore[attr-defined]
                 if isinstance(field, forms.CharField) and isinstance(field.widget, forms.Textarea)
                 and field.max_length is None} - exempt
    assert unbounded == set()
