"""Conduct: violation cases and their evidence, penalties and fines, notices to the customer,
the credit blacklist with its recovery plans and partner matches, and appeals.

States move only through conduct.services, each step audited. Codes (violation types, ladder
steps, measures, criteria) come from the policy version that decided, which every record keeps.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import limits
from custguard.customers.models import Customer

MONEY = {"max_digits": 16, "decimal_places": 2}
NOTE_TEXT = limits.model_text(limits.NOTE)  # free text: core/limits.py
USER = settings.AUTH_USER_MODEL


class ViolationCase(models.Model):
    """A reported violation: reported → investigating → confirmed | dismissed. Only confirmed
    violations count anywhere (ladder, scorecard, blacklist)."""

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        INVESTIGATING = "investigating", _("Investigating")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="violation_cases", verbose_name=_("customer"))
    violation_type = models.CharField(_("violation type"), max_length=64)
    severity = models.CharField(_("severity"), max_length=10)
    points = models.PositiveSmallIntegerField(_("points"))
    occurred_on = models.DateField(_("occurred on"))
    description = models.TextField(_("description"), **NOTE_TEXT)
    source = models.CharField(_("source"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices,
                              default=Status.REPORTED, db_index=True)
    reported_at = models.DateTimeField(_("reported at"))
    reported_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reported by"))
    reported_by_label = models.CharField(_("reported by"), max_length=150)
    investigator = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("investigator"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decision_reason = models.TextField(_("decision reason"), blank=True, **NOTE_TEXT)
    policy_version = models.PositiveIntegerField(_("policy version"))

    class Meta:
        verbose_name = _("violation case")
        verbose_name_plural = _("violation cases")
        ordering = ["-reported_at", "-pk"]
        constraints = [
            # The same incident is one case, however often it is reported.
            models.UniqueConstraint(fields=["customer", "violation_type", "occurred_on"],
                                    name="case_one_per_incident"),
            models.UniqueConstraint(fields=["source", "external_id"],
                                    condition=~Q(external_id=""), name="case_source_id"),
        ]
        indexes = [models.Index(fields=["customer", "status", "occurred_on"])]
        permissions = [("investigate_violationcase",
                        _("Can investigate, confirm and dismiss violation cases"))]

    def __str__(self) -> str:
        return f"{self.violation_type} {self.customer_id} {self.occurred_on}"


class Evidence(models.Model):
    """A file attached to a case, kept in the configured storage with its SHA-256."""

    case = models.ForeignKey(ViolationCase, on_delete=models.PROTECT, related_name="evidence",
                             verbose_name=_("case"))
    file = models.FileField(_("file"), upload_to="evidence/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    note = models.CharField(_("note"), max_length=300, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"))
    uploaded_by_label = models.CharField(_("uploaded by"), max_length=150)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "sha256"],
                                               name="evidence_once_per_case")]

    def __str__(self) -> str:
        return self.original_name


class ContractClause(models.Model):
    """A penalty clause of the customer's contract: the fine it sets for a violation type (or
    for any violation when the type is blank) replaces the policy's amount while it is valid."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="contract_clauses", verbose_name=_("customer"))
    contract_number = models.CharField(_("contract number"), max_length=64)
    violation_type = models.CharField(_("violation type"), max_length=64, blank=True)
    fine_amount = models.DecimalField(_("fine"), **MONEY)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("contract clause")
        verbose_name_plural = _("contract clauses")
        ordering = ["customer", "-valid_from"]
        constraints = [models.CheckConstraint(condition=Q(fine_amount__gte=0),
                                              name="clause_fine_not_negative")]

    def __str__(self) -> str:
        return f"{self.contract_number} {self.violation_type or '*'} {self.fine_amount}"


class Penalty(models.Model):
    """Measures the ladder recommended for a confirmed violation: proposed → approved →
    notified → active → completed | lifted (early, with a reason) | overturned (by appeal);
    a proposal may also be rejected. While active its lasting measures are on the standing
    row."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        NOTIFIED = "notified", _("Notified")
        ACTIVE = "active", pgettext_lazy("penalty", "Active")
        COMPLETED = "completed", _("Completed")
        LIFTED = "lifted", _("Lifted early")
        OVERTURNED = "overturned", _("Overturned")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="penalties",
                                 verbose_name=_("customer"))
    case = models.ForeignKey(ViolationCase, on_delete=models.PROTECT, related_name="penalties",
                             verbose_name=_("violation case"))
    step_code = models.CharField(_("ladder step"), max_length=64)
    measures = models.JSONField(_("measures"))
    reasons = models.JSONField(_("reasons"))
    policy_version = models.PositiveIntegerField(_("policy version"))
    fine_amount = models.DecimalField(_("fine"), **MONEY, default=Decimal("0.00"))
    # The customer's contract clause that set the fine, when one did (else the policy's).
    fine_clause = models.ForeignKey(ContractClause, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("contract clause"))
    points_deduction = models.PositiveIntegerField(_("points to deduct"), default=0)
    # What was actually taken when the penalty started (never more than the balance held).
    points_deducted = models.PositiveIntegerField(_("points deducted"), default=0)
    credit_limit_percent = models.DecimalField(_("share of the limit left"), max_digits=5,
                                               decimal_places=2, default=Decimal("100.00"))
    duration_days = models.PositiveIntegerField(_("duration (days)"), null=True, blank=True)
    rectification_days = models.PositiveIntegerField(_("days to rectify"), null=True,
                                                     blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PROPOSED, db_index=True)
    proposed_at = models.DateTimeField(_("proposed at"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"))
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True, db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.TextField(_("reason it ended"), blank=True, **NOTE_TEXT)
    rectification_due_on = models.DateField(_("rectify by"), null=True, blank=True)
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    rectification_note = models.TextField(_("rectification note"), blank=True, **NOTE_TEXT)
    escalated_to = models.ForeignKey(ViolationCase, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="escalated_from",
                                     verbose_name=_("escalated as"))
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by", verbose_name=_("replaces"))
    decision_note = models.TextField(_("decision note"), blank=True, **NOTE_TEXT)

    class Meta:
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        ordering = ["-proposed_at", "-pk"]
        indexes = [models.Index(fields=["customer", "status"])]
        permissions = [("approve_penalty", _("Can approve penalties the policy lets the role "
                                             "approve")),
                       ("lift_penalty", _("Can lift a penalty early"))]

    def __str__(self) -> str:
        return f"{self.step_code} {self.customer_id} ({self.status})"


class Fine(models.Model):
    class Status(models.TextChoices):
        DUE = "due", _("Due")
        PAID = "paid", _("Paid")
        WAIVED = "waived", _("Waived")

    penalty = models.OneToOneField(Penalty, on_delete=models.PROTECT, related_name="fine",
                                   verbose_name=_("penalty"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="fines",
                                 verbose_name=_("customer"))
    amount = models.DecimalField(_("amount"), **MONEY)
    clause = models.ForeignKey(ContractClause, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("contract clause"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.DUE)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    settled_by_label = models.CharField(_("settled by"), max_length=150, blank=True)
    note = models.TextField(_("note"), blank=True, **NOTE_TEXT)

    class Meta:
        verbose_name = _("fine")
        verbose_name_plural = _("fines")
        ordering = ["-due_on", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="fine_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} ({self.status})"


class Notice(models.Model):
    """The letter that tells the customer what was found and decided and how to respond or
    appeal; rendered from a template in the customer's language, kept as HTML and PDF."""

    class Delivery(models.TextChoices):
        PENDING = "pending", _("E-mail queued")
        SENT = "sent", _("Sent by e-mail")
        FAILED = "failed", _("E-mail failed")
        NO_ADDRESS = "no_address", _("No e-mail address: deliver by post")

    PII_FIELDS: ClassVar[dict[str, str]] = {"recipient": "email"}  # core/pii.py

    penalty = models.ForeignKey(Penalty, on_delete=models.PROTECT, related_name="notices",
                                verbose_name=_("penalty"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="notices",
                                 verbose_name=_("customer"))
    language = models.CharField(_("language"), max_length=10)
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    subject = models.CharField(_("subject"), max_length=300)
    body_html = models.TextField(_("letter"))
    pdf = models.FileField(_("PDF"), upload_to="notices/%Y/%m/")
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivery_error = models.TextField(_("delivery error"), blank=True)
    response_due_on = models.DateField(_("respond by"))
    appeal_deadline = models.DateField(_("appeal by"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    response = models.TextField(_("customer's response"), blank=True, **NOTE_TEXT)
    response_recorded_by = models.CharField(_("response recorded by"), max_length=150,
                                            blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        permissions = [("record_response", _("Can record a customer's response to a notice"))]

    def __str__(self) -> str:
        return self.reference


class BlacklistEntry(models.Model):
    """信用黑名单: proposed (by the daily criteria job or a penalty) → active (approved) →
    expired | lifted (early, with a reason) | overturned (by appeal); a proposal may be
    rejected. While active the gate denies the customer's orders."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACTIVE = "active", pgettext_lazy("blacklist", "Active")
        EXPIRED = "expired", _("Expired")
        LIFTED = "lifted", _("Lifted")
        OVERTURNED = "overturned", _("Overturned")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="blacklist_entries", verbose_name=_("customer"))
    criterion = models.CharField(_("criterion"), max_length=64)
    reasons = models.JSONField(_("evidence"))
    policy_version = models.PositiveIntegerField(_("policy version"))
    penalty = models.ForeignKey(Penalty, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="blacklist_entries", verbose_name=_("penalty"))
    duration_days = models.PositiveIntegerField(_("duration (days)"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PROPOSED, db_index=True)
    proposed_at = models.DateTimeField(_("proposed at"))
    proposed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("proposed by"))
    proposed_by_label = models.CharField(_("proposed by"), max_length=150)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decision_note = models.TextField(_("decision note"), blank=True, **NOTE_TEXT)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True, db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.TextField(_("reason it ended"), blank=True, **NOTE_TEXT)

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist entries")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            # One open entry (proposed or active) per customer.
            models.UniqueConstraint(fields=["customer"],
                                    condition=Q(status__in=["proposed", "active"]),
                                    name="blacklist_one_open_per_customer"),
        ]
        permissions = [("decide_blacklistentry", _("Can approve, reject and lift blacklist "
                                                   "entries")),
                       ("share_blacklist", _("Can exchange blacklist files with partners"))]

    def __str__(self) -> str:
        return f"{self.criterion} {self.customer_id} ({self.status})"


class RecoveryPlan(models.Model):
    """信用修复: attached when an entry is lifted — installments, and the credit limit restored
    step by step as they are paid."""

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("recovery plan", "In progress")
        COMPLETED = "completed", _("Completed")
        DEFAULTED = "defaulted", _("Defaulted")

    entry = models.OneToOneField(BlacklistEntry, on_delete=models.PROTECT,
                                 related_name="recovery_plan", verbose_name=_("blacklist entry"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="recovery_plans", verbose_name=_("customer"))
    total_amount = models.DecimalField(_("total to repay"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created at"))
    created_by_label = models.CharField(_("created by"), max_length=150)

    class Meta:
        verbose_name = _("recovery plan")
        verbose_name_plural = _("recovery plans")

    def __str__(self) -> str:
        return f"recovery of {self.customer_id} ({self.status})"


class RecoveryInstallment(models.Model):
    plan = models.ForeignKey(RecoveryPlan, on_delete=models.CASCADE,
                             related_name="installments", verbose_name=_("plan"))
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), **MONEY)
    limit_percent_after = models.DecimalField(_("limit restored to (%)"), max_digits=5,
                                              decimal_places=2)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"],
                                               name="installment_number")]

    def __str__(self) -> str:
        return f"{self.number}: {self.amount}"


class PartnerMatch(models.Model):
    """A customer whose hashed identifier appears on a partner company's blacklist file. It
    is an alert for a person to look at — never a blacklist entry by itself."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REVIEWED = "reviewed", _("Reviewed")

    partner = models.CharField(_("partner"), max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="partner_matches", verbose_name=_("customer"))
    identifier_kind = models.CharField(_("matched on"), max_length=20)
    partner_category = models.CharField(_("partner's reason"), max_length=64, blank=True)
    partner_listed_on = models.DateField(_("listed by the partner on"), null=True, blank=True)
    file_digest = models.CharField(_("file SHA-256"), max_length=64)
    imported_at = models.DateTimeField(_("imported at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.OPEN)
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, **NOTE_TEXT)

    class Meta:
        verbose_name = _("partner match")
        verbose_name_plural = _("partner matches")
        ordering = ["-imported_at", "-pk"]
        constraints = [models.UniqueConstraint(
            fields=["partner", "customer", "identifier_kind", "file_digest"],
            name="partner_match_once_per_file")]

    def __str__(self) -> str:
        return f"{self.partner}: {self.customer_id}"


class Appeal(models.Model):
    """申诉 against a violation, a penalty or a blacklist entry: filed → under review → upheld |
    overturned | reduced | withdrawn. The reviewer may not be the person who decided."""

    class Status(models.TextChoices):
        FILED = "filed", _("Filed")
        UNDER_REVIEW = "under_review", _("Under review")
        UPHELD = "upheld", _("Upheld")
        OVERTURNED = "overturned", _("Overturned")
        REDUCED = "reduced", _("Reduced")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Through staff")
        API = "api", _("Through the API")
        PORTAL = "portal", _("Through the portal")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="appeals",
                                 verbose_name=_("customer"))
    case = models.ForeignKey(ViolationCase, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="appeals", verbose_name=_("violation case"))
    penalty = models.ForeignKey(Penalty, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="appeals", verbose_name=_("penalty"))
    blacklist_entry = models.ForeignKey(BlacklistEntry, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="appeals",
                                        verbose_name=_("blacklist entry"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    grounds = models.TextField(_("grounds"), **NOTE_TEXT)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.FILED, db_index=True)
    filed_at = models.DateTimeField(_("filed at"))
    filed_by_label = models.CharField(_("filed by"), max_length=150)
    review_due_on = models.DateField(_("decide by"))
    reviewer = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("reviewer"))
    review_started_at = models.DateTimeField(_("review started at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, **NOTE_TEXT)
    replacement = models.ForeignKey(Penalty, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("lighter penalty"))

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-filed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(case__isnull=False, penalty__isnull=True,
                             blacklist_entry__isnull=True)
                           | Q(case__isnull=True, penalty__isnull=False,
                               blacklist_entry__isnull=True)
                           | Q(case__isnull=True, penalty__isnull=True,
                               blacklist_entry__isnull=False)),
                name="appeal_one_target"),
            # One open appeal per decision.
            *[models.UniqueConstraint(fields=[target],
                                      condition=Q(status__in=["filed", "under_review"]),
                                      name=f"appeal_one_open_per_{target}")
              for target in ("case", "penalty", "blacklist_entry")],
        ]
        permissions = [("review_appeal", _("Can review and decide appeals"))]

    def __str__(self) -> str:
        return f"appeal {self.pk} ({self.status})"
