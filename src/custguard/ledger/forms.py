"""Forms of the ledger's pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from custguard.core.forms import StyledFormMixin
from custguard.ledger.importing import DEFAULT_SOURCE, KIND_LABELS

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class FactImportForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"),
                             choices=[(k, v) for k, v in KIND_LABELS.items()])
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8) or Excel .xlsx, with the template's header "
                                     "row"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))
    source = forms.CharField(label=_("Source"), max_length=50, initial=DEFAULT_SOURCE,
                             help_text=_("Used for rows without a source column; with the "
                                         "external id it identifies each fact, so importing "
                                         "the same rows again changes nothing"))
    dry_run = forms.BooleanField(label=_("Dry run (validate only, write nothing)"),
                                 required=False, initial=True)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB."), params={"mb": MAX_UPLOAD_BYTES // 2**20})
        return upload
