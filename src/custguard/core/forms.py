"""Form helpers shared by every app's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordChangeForm

from custguard.core.errors import DomainError


class StyledFormMixin:
    """Gives widgets Tabler's classes, so templates can render fields with one include."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                css = "form-select"
            else:
                css = "form-control"
            existing = widget.attrs.get("class", "")
            widget.attrs["class"] = f"{existing} {css}".strip()

    def add_domain_error(self, error: DomainError) -> None:
        """Show a service's refusal on the field it names (or on the form)."""
        form: forms.BaseForm = self  # type: ignore[assignment]
        placed = False
        for field, messages in (error.errors or {}).items():
            name = field if field in form.fields else None
            for message in messages:
                form.add_error(name, message)
                placed = True
        if not placed:
            form.add_error(error.field if error.field in form.fields else None, error.message)


class StyledPasswordChangeForm(StyledFormMixin, PasswordChangeForm):
    pass
