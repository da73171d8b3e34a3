"""Rewards: the points ledger with its lots, each customer's points account, what each paid
invoice earned, and the reward catalogue with its redemptions.

The ledger (`PointsEntry`) is append-only like the money ledger: every change is a row with its
kind, reasons, source and policy version, and the lots it took points from or gave them to
(`LotUse`). The counters (`PointsAccount` and the standing's `points_balance`, which is what the
customer may spend now) are kept in the same transaction as the entry, so reads are one row; a
reconciliation recomputes them from the lots.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from custguard.core import limits
from custguard.customers.models import Customer
from custguard.ledger.models import Invoice

MONEY = {"max_digits": 16, "decimal_places": 2}


class PointsAccount(models.Model):
    """A customer's points beyond what it may spend now (the standing's points_balance):
    earned but still held back (pending), earned while frozen or blacklisted (withheld), and
    taken back after they were spent (debt, paid off first by the next points that become
    available). Lifetime totals for the reports."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, primary_key=True,
                                    related_name="points_account", verbose_name=_("customer"))
    pending = models.BigIntegerField(_("pending points"), default=0)
    withheld = models.BigIntegerField(_("withheld points"), default=0)
    debt = models.BigIntegerField(_("points owed"), default=0)
    earned_total = models.BigIntegerField(_("points earned"), default=0)
    spent_total = models.BigIntegerField(_("points spent"), default=0)
    expired_total = models.BigIntegerField(_("points expired"), default=0)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        constraints = [
            models.CheckConstraint(condition=Q(pending__gte=0) & Q(withheld__gte=0)
                                   & Q(debt__gte=0), name="points_account_not_negative"),
        ]
        permissions = [("adjust_points", _("Can adjust a customer's points"))]

    def __str__(self) -> str:
        return str(self.customer_id)


class PointsEntry(models.Model):
    """One change of a customer's points; never edited or deleted."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        WITHHOLD = "withhold", _("Withheld")
        RELEASE = "release", _("Released")
        FORFEIT = "forfeit", _("Forfeited")
        REVERSE = "reverse", _("Taken back")
        EXPIRE = "expire", _("Expired")
        DEDUCT = "deduct", _("Deducted by a penalty")
        RESTORE = "restore", _("Given back")
        ADJUST = "adjust", _("Adjusted")
        MATURE = "mature", _("Became available")
        REDEEM = "redeem", _("Redeemed")
        REFUND = "refund", _("Redemption cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="points_entries", verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # What the customer holds (available + pending) moves by `points`; what is withheld by
    # `withheld`; a MATURE entry moves pending to available and has 0 here.
    points = models.BigIntegerField(pgettext_lazy("points ledger", "points"))
    withheld = models.BigIntegerField(_("withheld"), default=0)
    on = models.DateField(_("date"))
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("invoice"))
    penalty = models.ForeignKey("conduct.Penalty", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("penalty"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, **limits.model_text(limits.REASON))
    # Set by a machine (an ERP adjustment): posting the same key again changes nothing.
    source = models.CharField(_("source"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    condition=~Q(external_id=""),
                                    name="points_entry_source_id"),
        ]
        indexes = [
            models.Index(fields=["customer", "-id"]),
            models.Index(fields=["customer", "kind", "on"]),
            models.Index(fields=["penalty", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class PointsLot(models.Model):
    """Points earned (or given) together: pending until available_on, then available until
    expires_on (the last day they can be used). Spending takes from the lots that expire first;
    `remaining` is what is left of `points`."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="points_lots",
                                 verbose_name=_("customer"))
    entry = models.ForeignKey(PointsEntry, on_delete=models.PROTECT, related_name="lots",
                              verbose_name=_("entry"))
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("invoice"))
    points = models.BigIntegerField(pgettext_lazy("points ledger", "points"))
    remaining = models.BigIntegerField(_("remaining"))
    earned_on = models.DateField(_("earned on"))
    available_on = models.DateField(_("available from"))
    expires_on = models.DateField(_("expires on"))
    available = models.BooleanField(_("available"), default=False)
    expiry_noticed_on = models.DateField(_("expiry notice sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        ordering = ["expires_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0) & Q(remaining__gte=0)
                                   & Q(remaining__lte=models.F("points")),
                                   name="points_lot_remaining_within"),
            models.CheckConstraint(condition=Q(available_on__lte=models.F("expires_on")),
                                   name="points_lot_available_before_expiry"),
        ]
        indexes = [
            models.Index(fields=["customer", "available", "expires_on"]),
            models.Index(fields=["available", "available_on"]),
            models.Index(fields=["expires_on"], condition=Q(remaining__gt=0),
                         name="points_lot_open_by_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points} → {self.expires_on}"


class LotUse(models.Model):
    """Points an entry took from a lot (positive) or gave back to it (negative)."""

    entry = models.ForeignKey(PointsEntry, on_delete=models.PROTECT, related_name="uses",
                              verbose_name=_("entry"))
    lot = models.ForeignKey(PointsLot, on_delete=models.PROTECT, related_name="uses",
                            verbose_name=_("lot"))
    points = models.BigIntegerField(pgettext_lazy("points ledger", "points"))

    class Meta:
        verbose_name = _("lot use")
        verbose_name_plural = _("lot uses")

    def __str__(self) -> str:
        return f"{self.points} of lot {self.lot_id}"


class InvoiceEarning(models.Model):
    """What a paid invoice earned: the points and the money (`basis`: paid, net of credit
    notes) they stand on. A credit note takes back the same share of the points; an invoice
    reopened by a reversed payment gives all of them back and earns again once paid."""

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, primary_key=True,
                                   related_name="points_earning", verbose_name=_("invoice"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    # The order the invoice belongs to ("" when it names none): the per-order cap's key.
    order_key = models.CharField(_("order"), max_length=151, blank=True)
    basis = models.DecimalField(_("paid amount"), **MONEY)
    points = models.BigIntegerField(pgettext_lazy("points ledger", "points"))
    withheld = models.BooleanField(_("withheld"), default=False)
    # The penalties and blacklist entries that withheld it (to tell overturned from lapsed).
    withheld_by = models.JSONField(_("withheld by"), default=dict, blank=True)
    lot = models.ForeignKey(PointsLot, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="+", verbose_name=_("lot"))
    earned_on = models.DateField(_("earned on"))
    policy_version = models.PositiveIntegerField(_("policy version"))

    class Meta:
        verbose_name = _("invoice earning")
        verbose_name_plural = _("invoice earnings")
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=0), name="invoice_earning_points"),
        ]
        indexes = [
            models.Index(fields=["order_key"], condition=~Q(order_key=""),
                         name="invoice_earning_order"),
            models.Index(fields=["customer", "withheld"]),
            models.Index(fields=["customer", "earned_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.points}"


class Reward(models.Model):
    """An item of the reward catalogue, bought with points. Stock (None: unlimited) falls with
    each redemption in the same conditional UPDATE that checks it, so two customers racing for
    the last one cannot both get it."""

    class Kind(models.TextChoices):
        GIFT = "gift", _("Gift")
        CASH_BACK = "cash_back", _("Cash back (credit note from the ERP)")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.PositiveIntegerField(_("points each"))
    stock = models.PositiveIntegerField(_("in stock"), null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(_("limit per customer"), null=True,
                                                     blank=True)
    available_from = models.DateField(_("available from"), null=True, blank=True)
    available_until = models.DateField(_("available until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True,
                                   **limits.model_text(limits.NOTE))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=1), name="reward_points_positive"),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True) | Q(available_until__isnull=True)
                | Q(available_until__gte=models.F("available_from")),
                name="reward_window_ordered"),
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    """Points spent on a reward: placed → fulfilled (the gift delivered, the credit note
    booked by the ERP) | cancelled (points and stock come back)."""

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT,
                                 related_name="redemptions", verbose_name=_("customer"))
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions",
                               verbose_name=_("reward"))
    quantity = models.PositiveIntegerField(_("quantity"))
    points = models.BigIntegerField(pgettext_lazy("points ledger", "points"))
    cash_amount = models.DecimalField(_("cash back"), **MONEY, null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PLACED)
    entry = models.OneToOneField(PointsEntry, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("points entry"))
    source = models.CharField(_("source"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=100)
    placed_at = models.DateTimeField(_("placed at"))
    placed_by = models.CharField(_("placed by"), max_length=150)
    reference = models.CharField(_("delivery or credit note reference"), max_length=100,
                                 blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.CharField(_("ended by"), max_length=150, blank=True)
    end_reason = models.TextField(_("reason"), blank=True, **limits.model_text(limits.REASON))

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-placed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    name="redemption_source_id"),
            models.CheckConstraint(condition=Q(quantity__gte=1) & Q(points__gte=1),
                                   name="redemption_positive"),
        ]
        indexes = [models.Index(fields=["customer", "reward", "status"]),
                   models.Index(fields=["status", "placed_at"])]
        permissions = [("fulfil_redemption", _("Can fulfil or cancel a redemption"))]

    def __str__(self) -> str:
        return f"{self.reward_id} × {self.quantity}"
