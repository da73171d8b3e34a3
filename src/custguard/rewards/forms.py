"""The points pages' forms: an adjustment of a customer's points."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import limits
from custguard.core.forms import StyledFormMixin
from custguard.rewards.services.adjustments import MAX_ADJUSTMENT


class AdjustForm(StyledFormMixin, forms.Form):
    """Points to add (positive) or take (negative) and why. Taking points is asked again
    (`confirmed`) before anything is written; the service checks the rest (not 0, no more than
    the customer may spend) and names the field it refuses."""

    points = forms.IntegerField(
        label=pgettext_lazy("points ledger", "points"), min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text=_("positive to add points, negative to take them"))
    note = forms.CharField(label=_("reason"), max_length=limits.REASON,
                           widget=forms.Textarea(attrs={"rows": 2}))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
