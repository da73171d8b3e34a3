"""The monthly ABC classification: each month's run, every customer's current class and its
history, the reminders an A customer gets before it may be moved down, and the proposed moves
that wait for a manager's approval.

The class is a decision like the others: each change keeps the reasons (rank, score and the
numbers behind it), the policy version and who decided it. Classes change only through
classification.services, each step audited.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from custguard.core import limits
from custguard.customers.models import Customer

CLASS_CHOICES = [("A", "A"), ("B", "B"), ("C", "C")]


class ClassificationRun(models.Model):
    """One month's run: open (proposals being decided) until it is closed by the policy's
    close day and time; the report's counts are kept when it closes."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    month = models.DateField(_("month"), unique=True)  # the first day of the month
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.OPEN)
    policy_version = models.PositiveIntegerField(_("policy version"))
    ran_at = models.DateTimeField(_("ran at"))
    ran_by = models.CharField(_("ran by"), max_length=150)
    closes_at = models.DateTimeField(_("closes at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers classified"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("classification run")
        verbose_name_plural = _("classification runs")
        ordering = ["-month"]
        permissions = [("run_classification", _("Can run and close the monthly classification"))]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


class CustomerClass(models.Model):
    """A customer's class now (what the order gate, the visit duties and the treatments read)."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, primary_key=True,
                                    related_name="abc_class", verbose_name=_("customer"))
    abc = models.CharField(_("class"), max_length=1, choices=CLASS_CHOICES)
    since = models.DateField(_("since"))
    change = models.ForeignKey("ClassChange", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("change"))

    class Meta:
        verbose_name = _("customer class")
        verbose_name_plural = _("customer classes")
        indexes = [models.Index(fields=["abc"])]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.abc}"


class ClassChange(models.Model):
    """A customer's class changed (or was first set): the history, never edited."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial class")
        RULE = "rule", _("By rule")
        APPROVED = "approved", _("Approved move")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="class_changes", verbose_name=_("customer"))
    run = models.ForeignKey(ClassificationRun, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="changes", verbose_name=_("run"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    from_class = models.CharField(_("from"), max_length=1, choices=CLASS_CHOICES, blank=True)
    to_class = models.CharField(_("to"), max_length=1, choices=CLASS_CHOICES)
    reasons = models.JSONField(_("reasons"), default=list)
    policy_version = models.PositiveIntegerField(_("policy version"))
    proposal = models.OneToOneField("ClassProposal", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="change",
                                    verbose_name=_("proposal"))
    decided_at = models.DateTimeField(_("decided at"))
    decided_by = models.CharField(_("decided by"), max_length=150)

    class Meta:
        verbose_name = _("class change")
        verbose_name_plural = _("class changes")
        ordering = ["-decided_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.from_class or '-'} → {self.to_class}"


class ClassProposal(models.Model):
    """A proposed move one class up or down: proposed → approved | rejected, or superseded when
    a later run proposes otherwise."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="class_proposals", verbose_name=_("customer"))
    run = models.ForeignKey(ClassificationRun, on_delete=models.PROTECT,
                            related_name="proposals", verbose_name=_("run"))
    from_class = models.CharField(_("from"), max_length=1, choices=CLASS_CHOICES)
    to_class = models.CharField(_("to"), max_length=1, choices=CLASS_CHOICES)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PROPOSED)
    reasons = models.JSONField(_("reasons"), default=list)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2)
    policy_version = models.PositiveIntegerField(_("policy version"))
    proposed_at = models.DateTimeField(_("proposed at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    note = models.TextField(_("note"), blank=True, **limits.model_text(limits.REASON))

    class Meta:
        verbose_name = _("class proposal")
        verbose_name_plural = _("class proposals")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(status="proposed"),
                                    name="one_open_class_proposal"),
        ]
        indexes = [models.Index(fields=["status", "run"])]
        permissions = [("decide_classproposal", _("Can approve or reject class moves"))]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_class} → {self.to_class}"


class ClassReminder(models.Model):
    """An A customer ranked below its share: recorded with the reasons found, for its account
    manager to answer (what is being done about it) within the policy's days. Only a second
    miss in a row may lead to a proposal to move it down."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="class_reminders", verbose_name=_("customer"))
    run = models.ForeignKey(ClassificationRun, on_delete=models.PROTECT,
                            related_name="reminders", verbose_name=_("run"))
    reasons = models.JSONField(_("reasons"), default=list)
    respond_by = models.DateField(_("answer by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.CharField(_("answered by"), max_length=150, blank=True)
    answer = models.TextField(_("answer"), blank=True, **limits.model_text(limits.NOTE))

    class Meta:
        verbose_name = _("class reminder")
        verbose_name_plural = _("class reminders")
        ordering = ["-run__month", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "run"], name="one_reminder_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.run_id})"
