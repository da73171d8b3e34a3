"""Template tags for pages of lower apps that show what classification keeps (the customer
page's segment card, the rewards page's class history), so those apps need not import
classification."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from custguard.classification import selectors
from custguard.classification.models import ClassChange
from custguard.classification.tables import move_html
from custguard.customers.models import Customer

register = template.Library()


@register.simple_tag
def value_segment_of(customer: Customer) -> selectors.SegmentView | None:
    return selectors.segment_of(customer)


@register.filter
def team_label(team: str) -> str:
    return str(selectors.TEAM_LABELS.get(team, team))


@register.simple_tag
def recent_class_changes(customer: Customer, count: int = 5) -> list[ClassChange]:
    """The customer's newest class changes, for a card that shows the class with its history."""
    return list(selectors.history_of(customer)[:count])


@register.filter
def class_move(change: ClassChange) -> SafeString:
    return move_html(change.from_class, change.to_class)
