"""Membership tiers: each month's evaluation run, every customer's tier status (with the day
it fell below its tier, from which the grace runs), the history of tier changes with their
reasons and facts, manual assignments with their second approval, and the notices that tell
the customer.

`Standing.tier` and `Standing.tier_term_bonus_days` are the O(1) copies that earning and credit
read; `TierStatus` is the rewards-owned state behind them. Tiers change only through
rewards.services (tier_evaluation, tier_assignments), each step audited.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from custguard.core import limits
from custguard.customers.models import Customer


class TierRun(models.Model):
    """One month's evaluation of every customer (re-run on demand in the same month: only
    what differs is written)."""

    month = models.DateField(_("month"), unique=True)  # the first day of the month
    policy_version = models.PositiveIntegerField(_("policy version"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ran_by = models.CharField(_("ran by"), max_length=150)
    customers = models.PositiveIntegerField(_("customers evaluated"), default=0)
    upgraded = models.PositiveIntegerField(_("moved up"), default=0)
    downgraded = models.PositiveIntegerField(_("moved down"), default=0)
    in_grace = models.PositiveIntegerField(_("below their tier, in grace"), default=0)
    manual = models.PositiveIntegerField(_("kept by a manual tier"), default=0)
    counts = models.JSONField(_("customers per tier"), default=dict, blank=True)

    class Meta:
        verbose_name = _("tier run")
        verbose_name_plural = _("tier runs")
        ordering = ["-month"]
        permissions = [("run_tiers", _("Can evaluate the membership tiers"))]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


class TierAssignment(models.Model):
    """A tier given by hand until expires_on: proposed → active (approved by someone other
    than the proposer) | rejected; active → expired (its last day passed) | ended (ended early,
    or replaced by a newer assignment)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        REJECTED = "rejected", _("Rejected")
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        ENDED = "ended", _("Ended")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="tier_assignments", verbose_name=_("customer"))
    tier = models.CharField(_("tier"), max_length=20)
    reason = models.TextField(_("reason"), **limits.model_text(limits.REASON))
    expires_on = models.DateField(_("expires on"))  # the last day the tier holds
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PROPOSED)
    policy_version = models.PositiveIntegerField(_("policy version"))
    proposed_at = models.DateTimeField(_("proposed at"))
    proposed_by = models.ForeignKey("core.User", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("proposed by"))
    proposed_label = models.CharField(_("proposed by"), max_length=150)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey("core.User", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("decided by"))
    decision_note = models.TextField(_("decision note"), blank=True,
                                     **limits.model_text(limits.REASON))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier assignment")
        verbose_name_plural = _("tier assignments")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(status="proposed"),
                                    name="one_proposed_tier_assignment"),
            models.UniqueConstraint(fields=["customer"], condition=Q(status="active"),
                                    name="one_active_tier_assignment"),
        ]
        indexes = [models.Index(fields=["status", "expires_on"])]
        permissions = [("assign_tier", _("Can propose a manual membership tier")),
                       ("approve_tier", _("Can approve or reject a manual membership tier"))]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier} → {self.expires_on}"


class TierChange(models.Model):
    """A change of a customer's tier, or the start of its grace below it: the history, never
    edited. Reasons, the facts they stand on and the policy version make it reproducible."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("First tier")
        UPGRADE = "upgrade", _("Moved up")
        DOWNGRADE = "downgrade", _("Moved down")
        GRACE = "grace", _("Below the tier, kept in grace")
        MANUAL = "manual", _("Manual tier")
        MANUAL_END = "manual_end", _("Manual tier ended")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="tier_changes", verbose_name=_("customer"))
    run = models.ForeignKey(TierRun, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="changes", verbose_name=_("run"))
    assignment = models.ForeignKey(TierAssignment, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="changes",
                                   verbose_name=_("manual assignment"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    from_tier = models.CharField(_("from"), max_length=20, blank=True)
    to_tier = models.CharField(_("to"), max_length=20)
    reasons = models.JSONField(_("reasons"), default=list)
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    # (definition code, idempotency key) of the coupons the tier's benefits issue on reaching
    # it; the coupons service issues them (see tier_evaluation._entitlements_reached).
    entitlements = models.JSONField(_("coupon entitlements"), default=list, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"))
    effective_on = models.DateField(_("effective on"))
    decided_at = models.DateTimeField(_("decided at"))
    decided_by = models.CharField(_("decided by"), max_length=150)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-effective_on", "-pk"]
        indexes = [models.Index(fields=["customer", "-effective_on"]),
                   models.Index(fields=["effective_on", "kind"])]

    def __str__(self) -> str:
        return f"{self.from_tier or '-'} → {self.to_tier}"

    @property
    def moves_tier(self) -> bool:
        return self.from_tier != self.to_tier


class TierStatus(models.Model):
    """A customer's tier now and since when; below_since is the first evaluation that found it
    below that tier (its grace runs from then), null while it qualifies. `assignment` is the
    active manual tier, which wins over the rules until it expires."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, primary_key=True,
                                    related_name="tier_status", verbose_name=_("customer"))
    tier = models.CharField(_("tier"), max_length=20)
    since = models.DateField(_("since"))
    below_since = models.DateField(_("below the tier since"), null=True, blank=True)
    changed_on = models.DateField(_("last moved on"))
    assignment = models.OneToOneField(TierAssignment, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("manual assignment"))

    class Meta:
        verbose_name = _("tier status")
        verbose_name_plural = _("tier statuses")
        indexes = [models.Index(fields=["tier"])]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier}"


class TierNotice(models.Model):
    """The message that tells the customer of a tier change (or of its grace): queued with the
    change, e-mailed by the notices job; without an address it is recorded as not sent, for
    the account manager to pass on."""

    class Delivery(models.TextChoices):
        PENDING = "pending", _("E-mail queued")
        SENT = "sent", _("Sent by e-mail")
        FAILED = "failed", _("E-mail failed")
        NO_ADDRESS = "no_address", _("No e-mail address")

    PII_FIELDS: ClassVar[dict[str, str]] = {"recipient": "email"}  # core/pii.py

    change = models.OneToOneField(TierChange, on_delete=models.PROTECT, related_name="notice",
                                  verbose_name=_("tier change"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="tier_notices", verbose_name=_("customer"))
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices,
                                default=Delivery.PENDING)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier notice")
        verbose_name_plural = _("tier notices")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["delivery"])]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.delivery}"
