"""Forms of the registry UI. They check shape and look up objects; the services decide."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from custguard.core import limits
from custguard.core.forms import StyledFormMixin
from custguard.core.models import User
from custguard.customers import selectors
from custguard.customers.models import Contact, Customer, Region, phone_validator

CUSTOMER_FIELDS = ["name", "kind", "industry", "scale_band", "account_manager", "department",
                   "value_tier", "status", "phone", "id_number", "address", "notes"]
_customer = forms.fields_for_model(
    Customer, fields=[f for f in CUSTOMER_FIELDS if f != "account_manager"],
    widgets={"notes": forms.Textarea(attrs={"rows": 3})})
_contact = forms.fields_for_model(Contact, fields=["name", "role", "phone", "email",
                                                   "is_primary"])
# Model-level validators are not copied to form fields; check phones while the user is here.
for _fields in (_customer, _contact):
    _fields["phone"].validators.append(phone_validator)
CODE_RE = re.compile(r"^\d{9}$")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def region_choices() -> list[tuple[str, Any]]:
    """Regions that can hold customers (those without sub-regions), grouped by their province;
    a province-level region without sub-regions (a municipality) forms its own group."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for region in selectors.regions().filter(children__isnull=True).order_by("code"):
        top = region.parent or region
        groups[(top.code, top.name)].append((region.code, f"{region.code} {region.name}"))
    choices: list[tuple[str, Any]] = [("", "---------")]
    choices += [(name, options) for (_code, name), options in sorted(groups.items())]
    return choices


def manager_choices(current: User | None = None) -> QuerySet[User]:
    qs = selectors.account_managers()
    if current is not None:
        qs = (qs | User.objects.filter(pk=current.pk)).distinct().order_by("username")
    return qs


class ManagerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        name = str(user)
        return name if name == user.get_username() else f"{name} ({user.get_username()})"


class CustomerForm(StyledFormMixin, forms.Form):
    """Edits a customer. The account manager field is only there for users who manage every
    customer; an account manager keeps (or gets) themselves."""

    name = _customer["name"]
    kind = _customer["kind"]
    industry = _customer["industry"]
    scale_band = _customer["scale_band"]
    account_manager = ManagerChoiceField(label=_("account manager"), required=False,
                                         queryset=User.objects.none())
    department = _customer["department"]
    value_tier = _customer["value_tier"]
    status = _customer["status"]
    phone = _customer["phone"]
    id_number = _customer["id_number"]
    address = _customer["address"]
    notes = _customer["notes"]
    reason = forms.CharField(label=_("Reason for the change"), required=False,
                             max_length=limits.CHANGE_REASON,
                             help_text=_("Recorded in the customer's timeline"))

    def __init__(self, *args: Any, user: User, customer: Customer | None = None,
                 **kwargs: Any) -> None:
        if customer is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        super().__init__(*args, **kwargs)
        if selectors.sees_all_customers(user):
            field: ManagerChoiceField = self.fields["account_manager"]  # type: ignore[assignment]
            field.queryset = manager_choices(customer.account_manager if customer else None)
        else:
            del self.fields["account_manager"]
        if customer is None:
            del self.fields["reason"]
        elif not selectors.sees_pii(user):
            # A role that may not read personal data does not get it through the edit form.
            for name in ("phone", "id_number", "address"):
                del self.fields[name]

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values the service takes (all of them: for a new customer)."""
        return {name: self.cleaned_data[name] for name in CUSTOMER_FIELDS if name in self.fields}

    def changed_service_fields(self) -> dict[str, Any]:
        """Only what the user changed: for an update."""
        return {name: self.cleaned_data[name] for name in self.changed_data
                if name in CUSTOMER_FIELDS}


class CustomerCreateForm(CustomerForm):
    region = forms.ChoiceField(label=_("region"), choices=region_choices,
                               help_text=_("Fixes the first six digits of the customer code; "
                                           "cannot be changed later"))
    field_order = ["region", "name", "kind"]

    def clean_region(self) -> Region:
        region = selectors.regions().filter(pk=self.cleaned_data["region"]).first()
        if region is None:
            raise forms.ValidationError(_("Choose a region from the list."))
        return region


class ContactForm(StyledFormMixin, forms.Form):
    name = _contact["name"]
    role = _contact["role"]
    phone = _contact["phone"]
    email = _contact["email"]
    is_primary = _contact["is_primary"]

    def __init__(self, *args: Any, user: User, contact: Contact | None = None,
                 **kwargs: Any) -> None:
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(contact, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        if contact is not None and not selectors.sees_pii(user):
            del self.fields["phone"], self.fields["email"]


def _customer_by_code(user: User, code: str) -> Customer:
    code = code.strip()
    if not CODE_RE.match(code):
        raise forms.ValidationError(_("%(code)s is not a 9-digit customer code."),
                                    params={"code": code})
    customer = selectors.customers_for(user).filter(code=code).first()
    if customer is None:
        raise forms.ValidationError(_("No customer has the code %(code)s."),
                                    params={"code": code})
    return customer


class GroupForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=200)
    notes = forms.CharField(label=_("notes"), required=False, max_length=limits.NOTE,
                            widget=forms.Textarea(attrs={"rows": 3}))


class GroupCreateForm(GroupForm):
    parent = forms.CharField(label=_("parent customer"), max_length=9,
                             help_text=_("Code of the group's parent customer"))
    members = forms.CharField(
        label=_("members"), required=False, max_length=limits.NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Codes of further member customers, separated by spaces, commas or lines"))
    field_order = ["name", "parent", "members", "notes"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_parent(self) -> Customer:
        return _customer_by_code(self.user, self.cleaned_data["parent"])

    def clean_members(self) -> list[Customer]:
        codes = [c for c in re.split(r"[\s,;，；]+", self.cleaned_data["members"]) if c]
        errors: list[forms.ValidationError] = []
        members: list[Customer] = []
        for code in dict.fromkeys(codes):
            try:
                members.append(_customer_by_code(self.user, code))
            except forms.ValidationError as error:
                errors.append(error)
        if errors:
            raise forms.ValidationError(errors)
        return members


class MemberForm(StyledFormMixin, forms.Form):
    customer = forms.CharField(label=_("customer code"), max_length=9)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_customer(self) -> Customer:
        return _customer_by_code(self.user, self.cleaned_data["customer"])


class RegionFilterForm(StyledFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"placeholder": _("code or name")}))
    parent = forms.ChoiceField(label=_("parent"), required=False)

    TOP_LEVEL = "-"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tops = selectors.regions().filter(parent__isnull=True).order_by("code")
        self.fields["parent"].choices = [  # type: ignore[attr-defined]
            ("", _("All")), (self.TOP_LEVEL, _("Top level (no parent)")),
            *[(r.code, f"{r.code} {r.name}") for r in tops]]


class ImportForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8) or Excel .xlsx, with the template's header row"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))
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


def max_import_rows() -> int:
    return int(settings.CUSTGUARD_UPLOAD_MAX_ROWS)
