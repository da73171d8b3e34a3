"""Regions, customers, contacts, customer groups and their standing rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import limits

region_code_validator = RegexValidator(r"^\d{6}$", _("A region code is exactly 6 digits."))
phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 -]{4,30}$",
    _("Enter a phone number of digits, optionally with a leading + and spaces or dashes."))
MONEY = {"max_digits": 16, "decimal_places": 2, "default": Decimal("0.00")}
NOTE_TEXT = limits.model_text(limits.NOTE)  # free text: core/limits.py


class Region(models.Model):
    code = models.CharField(_("code"), max_length=6, primary_key=True,
                            validators=[region_code_validator])
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("parent"))
    # The last customer serial handed out in this region; only ever incremented.
    last_serial = models.PositiveSmallIntegerField(_("last serial"), default=0, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} {self.name}" if self.parent_id and self.parent else self.name


class CustomerKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    DEALER = "dealer", _("Dealer")
    INDIVIDUAL = "individual", _("Individual")


class ScaleBand(models.TextChoices):
    MICRO = "micro", _("Micro")
    SMALL = "small", _("Small")
    MEDIUM = "medium", _("Medium")
    LARGE = "large", _("Large")


class ValueTier(models.TextChoices):
    STRATEGIC = "strategic", _("Strategic")
    IMPORTANT = "important", _("Important")
    GENERAL = "general", _("General")
    POTENTIAL = "potential", _("Potential")


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    CLOSED = "closed", _("Closed")


class Industry(models.TextChoices):
    """Sections of China's industry classification GB/T 4754-2017."""

    AGRICULTURE = "A", _("Agriculture, forestry, animal husbandry and fishery")
    MINING = "B", _("Mining")
    MANUFACTURING = "C", _("Manufacturing")
    UTILITIES = "D", _("Electricity, heat, gas and water")
    CONSTRUCTION = "E", _("Construction")
    TRADE = "F", _("Wholesale and retail trade")
    LOGISTICS = "G", _("Transport, storage and postal services")
    HOSPITALITY = "H", _("Accommodation and catering")
    IT = "I", _("Information technology and software")
    FINANCE = "J", pgettext_lazy("industry", "Finance")
    REAL_ESTATE = "K", _("Real estate")
    LEASING = "L", _("Leasing and business services")
    RESEARCH = "M", _("Scientific research and technical services")
    ENVIRONMENT = "N", _("Water, environment and public facilities")
    HOUSEHOLD = "O", _("Household and repair services")
    EDUCATION = "P", _("Education")
    HEALTH = "Q", _("Health and social work")
    CULTURE = "R", _("Culture, sports and entertainment")
    PUBLIC = "S", _("Public administration and social organisations")


class CustomerGroup(models.Model):
    """集团客户: a parent customer and its member customers, sharing a group credit limit."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    parent = models.OneToOneField("Customer", on_delete=models.PROTECT,
                                  related_name="parent_of_group", verbose_name=_("parent customer"))
    notes = models.TextField(_("notes"), blank=True, **NOTE_TEXT)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    code = models.CharField(_("code"), max_length=9, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=CustomerKind.choices)
    industry = models.CharField(_("industry"), max_length=1, choices=Industry.choices,
                                blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="customers",
                               verbose_name=_("region"))
    serial = models.PositiveSmallIntegerField(_("serial"), editable=False)
    scale_band = models.CharField(_("scale"), max_length=8, choices=ScaleBand.choices,
                                  default=ScaleBand.SMALL)
    account_manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="customers",
                                        verbose_name=_("account manager"))
    department = models.CharField(_("department"), max_length=100, blank=True)
    value_tier = models.CharField(_("value tier"), max_length=10, choices=ValueTier.choices,
                                  default=ValueTier.GENERAL)
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices,
                              default=CustomerStatus.ACTIVE, db_index=True)
    group = models.ForeignKey(CustomerGroup, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="members", verbose_name=_("group"))
    # Personal / identifying data, masked for roles without core.view_pii (core/pii.py): by
    # field, its mask, or the model of the records it holds in audit entries.
    PII_FIELDS: ClassVar[dict[str, str]] = {
        "phone": "phone", "id_number": "id_number", "address": "address",
        "contacts": "customers.contact"}
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True,
                             validators=[phone_validator])
    id_number = models.CharField(_("ID / credit code"), max_length=32, blank=True,
                                 help_text=_("Unified social credit code or ID card number"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True, **NOTE_TEXT)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["region", "serial"], name="customer_region_serial"),
        ]
        permissions = [("import_customers", _("Can import customers from a file"))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Contact(models.Model):
    PII_FIELDS: ClassVar[dict[str, str]] = {"name": "name", "phone": "phone", "email": "email"}

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts",
                                 verbose_name=_("customer"))
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, db_index=True,
                             validators=[phone_validator])
    email = models.EmailField(_("email"), blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


def days_past_due(oldest_open_due_on: dt.date | None, today: dt.date) -> int:
    """Days since the oldest unpaid invoice fell due (0 when nothing is past due)."""
    if oldest_open_due_on is None:
        return 0
    return max(0, (today - oldest_open_due_on).days)


class StandingFields(models.Model):
    """The current effect of all decisions, kept in the transaction of the change that moves
    it, so the order gate reads one row (plus the group's) and never scans history.

    posted is the receivable balance (invoices - credit notes - payments); reserved is the sum of
    the pending gate reservations (open orders); oldest_open_due_on is the due date of the
    oldest invoice not yet paid, from which the gate derives days past due at any moment."""

    score = models.SmallIntegerField(_("score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=4, blank=True)
    credit_limit = models.DecimalField(_("credit limit"), **MONEY)
    posted = models.DecimalField(_("posted exposure"), **MONEY)
    reserved = models.DecimalField(_("reserved (open orders)"), **MONEY)
    overdue_amount = models.DecimalField(_("overdue amount"), **MONEY)
    oldest_open_due_on = models.DateField(_("oldest unpaid due date"), null=True, blank=True)
    prepay_only = models.BooleanField(_("prepay only"), default=False)
    order_blocked = models.BooleanField(_("orders blocked"), default=False)
    service_suspended = models.BooleanField(_("service suspended"), default=False)
    blacklisted = models.BooleanField(_("blacklisted"), default=False)
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        abstract = True

    @property
    def exposure(self) -> Decimal:
        return self.posted + self.reserved

    @property
    def available(self) -> Decimal:
        return self.credit_limit - self.posted - self.reserved

    def days_past_due(self, today: dt.date) -> int:
        return days_past_due(self.oldest_open_due_on, today)


class Standing(StandingFields):
    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE,
                                    related_name="standing", verbose_name=_("customer"))
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices,
                              default=CustomerStatus.ACTIVE)
    points_balance = models.BigIntegerField(_("points balance"), default=0)
    # Credit terms: the effective ones above (limit, prepay) and here; the computed ones stay in
    # the latest score record, so an override can end and the computed value come back.
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), default=0)
    limit_overridden = models.BooleanField(_("limit overridden"), default=False)
    terms_overridden = models.BooleanField(_("terms overridden"), default=False)
    scored_at = models.DateTimeField(_("scored at"), null=True, blank=True)
    next_review_on = models.DateField(_("next review"), null=True, blank=True, db_index=True)
    # What the active penalties impose on credit (conduct keeps these; credit combines them
    # into the effective limit and prepay flag above).
    penalty_prepay_only = models.BooleanField(_("prepay only (penalty)"), default=False)
    penalty_limit_percent = models.DecimalField(_("share of the limit left (penalty)"),
                                                max_digits=5, decimal_places=2,
                                                default=Decimal("100.00"))
    points_frozen = models.BooleanField(_("points frozen"), default=False)
    # What the customer's ABC class brings (the classification keeps these with the class):
    # the order gate says when scarce goods go to it first, and credit adds the bonus days to
    # the payment terms its grade gives.
    abc_class = models.CharField(_("class"), max_length=1, blank=True)
    priority_allocation = models.BooleanField(_("priority allocation"), default=False)
    payment_term_bonus_days = models.PositiveSmallIntegerField(_("payment term bonus (days)"),
                                                               default=0)
    # The membership tier (the membership app keeps it): earning reads its multiplier from the
    # policy, coupons and communications use it as a condition, credit adds its bonus days.
    tier = models.CharField(_("membership tier"), max_length=20, blank=True)
    tier_term_bonus_days = models.PositiveSmallIntegerField(_("payment term bonus of the tier "
                                                              "(days)"), default=0)
    # The value segment (战略/重要/一般/潜在, a code of the policy's value tiers), recomputed
    # with the monthly classification run; the customer's own value_tier is staff's assessment.
    value_segment = models.CharField(_("value segment"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("standing")
        verbose_name_plural = _("standings")

    def __str__(self) -> str:
        return f"standing of customer {self.customer_id}"


class GroupStanding(StandingFields):
    """The group's counters are the sums of its members'; its limit is the unified group limit
    (集团统一授信), which applies only while `has_limit` (a credit manager set one)."""

    group = models.OneToOneField(CustomerGroup, primary_key=True, on_delete=models.CASCADE,
                                 related_name="standing", verbose_name=_("group"))
    has_limit = models.BooleanField(_("unified limit set"), default=False)

    class Meta:
        verbose_name = _("group standing")
        verbose_name_plural = _("group standings")

    def __str__(self) -> str:
        return f"standing of group {self.group_id}"
