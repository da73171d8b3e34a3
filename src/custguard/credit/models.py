"""Credit decisions and their records: score history, manual overrides, reviews, gate answers
and the reservations the gate makes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import limits
from custguard.customers.models import Customer, CustomerGroup

MONEY = {"max_digits": 16, "decimal_places": 2}
REASON_TEXT = limits.model_text(limits.REASON)  # free text: core/limits.py


class CreditScore(models.Model):
    """One scoring of one customer: the inputs, the points, the reasons and what they earned,
    with the policy version that decided. Recomputing with the same facts and version gives the
    same record."""

    class Trigger(models.TextChoices):
        FACT = "fact", _("New fact")
        BATCH = "batch", _("Batch rescoring")
        REVIEW = "review", _("Credit review")
        MANUAL = "manual", _("Manual rescoring")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="scores",
                                 verbose_name=_("customer"))
    computed_at = models.DateTimeField(_("computed at"))
    as_of = models.DateField(_("as of"))
    policy_version = models.PositiveIntegerField(_("policy version"))
    trigger = models.CharField(_("trigger"), max_length=8, choices=Trigger.choices)
    score = models.SmallIntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=4)
    factor_values = models.JSONField(_("factor values"))
    factor_points = models.JSONField(_("factor points"))
    reasons = models.JSONField(_("reasons"))
    credit_limit = models.DecimalField(_("computed credit limit"), **MONEY)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"))
    prepay_only = models.BooleanField(_("prepay only"))
    limit_reasons = models.JSONField(_("limit reasons"))

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        ordering = ["-computed_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-computed_at"])]
        permissions = [("rescore", _("Can rescore customers"))]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.score} {self.grade}"


class CreditOverride(models.Model):
    """A credit manager's manual limit and/or terms for a customer, or the unified limit of a
    group, with a reason and an end date. Above the policy's threshold a second person must
    approve it before it takes effect."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        ACTIVE = "active", pgettext_lazy("override status", "Active")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="credit_overrides", verbose_name=_("customer"))
    group = models.ForeignKey(CustomerGroup, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="credit_overrides", verbose_name=_("group"))
    credit_limit = models.DecimalField(_("credit limit"), **MONEY, null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), null=True,
                                                          blank=True)
    reason = models.TextField(_("reason"), **REASON_TEXT)
    expires_on = models.DateField(_("expires on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING, db_index=True)
    needs_approval = models.BooleanField(_("needs a second approval"), default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, **REASON_TEXT)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit override")
        verbose_name_plural = _("credit overrides")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer__isnull=False, group__isnull=True)
                | Q(customer__isnull=True, group__isnull=False),
                name="override_one_target"),
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=False) | Q(payment_terms_days__isnull=False),
                name="override_changes_something"),
            models.CheckConstraint(condition=Q(credit_limit__isnull=True)
                                   | Q(credit_limit__gte=0), name="override_limit_not_negative"),
            # At most one override in force per customer and per group.
            models.UniqueConstraint(fields=["customer"], condition=Q(status="active"),
                                    name="override_one_active_per_customer"),
            models.UniqueConstraint(fields=["group"], condition=Q(status="active"),
                                    name="override_one_active_per_group"),
        ]
        permissions = [("approve_creditoverride", _("Can approve a credit override"))]

    def __str__(self) -> str:
        return f"override {self.pk} ({self.status})"


class CreditReview(models.Model):
    """A person's periodic review of a customer's credit file; sets the next review date."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reviews",
                                 verbose_name=_("customer"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"))
    score = models.ForeignKey(CreditScore, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("score"))
    note = models.TextField(_("note"), **REASON_TEXT)
    next_review_on = models.DateField(_("next review"))

    class Meta:
        verbose_name = _("credit review")
        verbose_name_plural = _("credit reviews")
        ordering = ["-reviewed_at", "-pk"]

    def __str__(self) -> str:
        return f"review of {self.customer_id} at {self.reviewed_at:%Y-%m-%d}"


class Reservation(models.Model):
    """Credit set aside for an open order by the gate: pending → posted (invoiced) | voided
    (cancelled) | expired. A held order waits for a credit manager: held → pending (approved)
    | rejected. Only pending reservations count in the standing's `reserved`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Reserved")
        HELD = "held", _("On credit hold")
        POSTED = "posted", _("Invoiced")
        VOIDED = "voided", _("Released")
        EXPIRED = "expired", _("Expired")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="reservations", verbose_name=_("customer"))
    source = models.CharField(_("source"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=100)
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True, **REASON_TEXT)
    invoice = models.ForeignKey("ledger.Invoice", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("invoice"))

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    name="reservation_source_id"),
            models.CheckConstraint(condition=Q(amount__gt=0),
                                   name="reservation_amount_positive"),
        ]
        indexes = [models.Index(fields=["customer", "status"]),
                   models.Index(fields=["status", "expires_at"])]
        permissions = [("decide_hold", _("Can approve or reject an order on credit hold"))]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} {self.amount} ({self.status})"


class GateCheck(models.Model):
    """Every answer the order gate gave: what was asked, what it said and why, under which
    policy version."""

    class Outcome(models.TextChoices):
        ALLOW = "allow", _("Allow")
        HOLD = "hold", _("Hold")
        PREPAY_REQUIRED = "prepay_required", _("Prepayment required")
        DENY = "deny", _("Deny")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="gate_checks",
                                 verbose_name=_("customer"))
    group_id_at_check = models.BigIntegerField(_("group"), null=True, blank=True)
    at = models.DateTimeField(_("time"))
    amount = models.DecimalField(_("amount"), **MONEY)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reasons = models.JSONField(_("reasons"))
    policy_version = models.PositiveIntegerField(_("policy version"))
    grade = models.CharField(_("grade"), max_length=4, blank=True)
    available_customer = models.DecimalField(_("available credit"), **MONEY)
    available_group = models.DecimalField(_("available group credit"), **MONEY, null=True,
                                          blank=True)
    reserve = models.BooleanField(_("reservation requested"), default=False)
    source = models.CharField(_("source"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    reservation = models.ForeignKey(Reservation, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="checks",
                                    verbose_name=_("reservation"))
    actor_label = models.CharField(_("asked by"), max_length=150)

    class Meta:
        verbose_name = _("gate check")
        verbose_name_plural = _("gate checks")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["customer", "-at"])]
        permissions = [("check_gate", _("Can ask the order gate and reserve credit"))]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.amount} → {self.outcome}"

