"""Template tags for pages of lower apps that show what classification keeps (the customer
page's segment card), so those apps need not import classification."""

from __future__ import annotations

from django import template

from custguard.classification import selectors
from custguard.customers.models import Customer

register = template.Library()


@register.simple_tag
def value_segment_of(customer: Customer) -> selectors.SegmentView | None:
    return selectors.segment_of(customer)


@register.filter
def team_label(team: str) -> str:
    return str(selectors.TEAM_LABELS.get(team, team))
