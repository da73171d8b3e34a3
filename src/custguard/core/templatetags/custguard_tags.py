from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict
from django.utils.translation import pgettext_lazy

register = template.Library()

# Labels of codes that pages show; the code itself stays in the data (and in data-* attributes).
ACTOR_KIND_LABELS = {
    "user": pgettext_lazy("actor kind", "user"),
    "token": pgettext_lazy("actor kind", "API token"),
    "job": pgettext_lazy("actor kind", "job"),
    "system": pgettext_lazy("actor kind", "system"),
}
POLICY_CHANGE_LABELS = {
    "added": pgettext_lazy("policy change", "added"),
    "removed": pgettext_lazy("policy change", "removed"),
    "changed": pgettext_lazy("policy change", "changed"),
}


@register.simple_tag(takes_context=True)
def query_replace(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (pagination, sorting)."""
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return query.urlencode()


@register.filter
def actor_kind_label(code: str) -> str:
    """`user`, `token`, `job`, `system` as the reader's language says it."""
    return str(ACTOR_KIND_LABELS.get(code, code))


@register.filter
def policy_change_label(code: str) -> str:
    """`added`, `removed`, `changed` (a policy diff's kinds) as the reader's language says it."""
    return str(POLICY_CHANGE_LABELS.get(code, code))

