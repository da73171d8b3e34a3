"""Template filters of the credit pages."""

from __future__ import annotations

from django import template

from custguard.customers.views.common import ACTION_LABELS

register = template.Library()


@register.filter
def audit_action_label(code: str) -> str:
    """An audit entry's action (`credit.override_approve`) as the reader's language says it;
    an action without a label is shown as its code."""
    return str(ACTION_LABELS.get(code, code))
