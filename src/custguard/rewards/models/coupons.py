"""Coupons: what was issued to whom (`Coupon`, in batches `CouponBatch`), what was redeemed on
which order (`CouponRedemption`), and one counter row per definition (`CouponCounter`) that
keeps the definition's total limit with a conditional UPDATE, so two orders racing for the last
use cannot both get it. The definitions themselves live in the policy's `coupons` section.

Every coupon belongs to one customer and is used once: ISSUED → REDEEMED (on an order; back to
ISSUED when the order is cancelled) | EXPIRED | REVOKED.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from custguard.core import limits
from custguard.customers.models import Customer

MONEY = {"max_digits": 16, "decimal_places": 2}


class CouponBatch(models.Model):
    """Coupons of one definition issued together by a person."""

    definition = models.CharField(_("coupon definition"), max_length=64)
    count = models.PositiveIntegerField(_("coupons issued"))
    policy_version = models.PositiveIntegerField(_("policy version"))
    note = models.TextField(_("note"), blank=True, **limits.model_text(limits.NOTE))
    key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.CharField(_("created by"), max_length=150)

    class Meta:
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.definition} × {self.count}"


class Coupon(models.Model):
    class Status(models.TextChoices):
        ISSUED = "ISSUED", _("Issued")
        REDEEMED = "REDEEMED", _("Redeemed")
        EXPIRED = "EXPIRED", _("Expired")
        REVOKED = "REVOKED", _("Revoked")

    class Source(models.TextChoices):
        MANUAL = "MANUAL", _("Issued by hand")
        BATCH = "BATCH", _("Batch")
        RULE = "RULE", _("Automatic rule")

    code = models.CharField(_("coupon code"), max_length=20, unique=True)
    definition = models.CharField(_("coupon definition"), max_length=64)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="coupons",
                                 verbose_name=_("customer"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ISSUED)
    # The customer's n-th coupon of the definition: unique, so two issuers racing past the
    # per-customer limit cannot both get the same place.
    serial = models.PositiveIntegerField(_("number for the customer"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    rule = models.CharField(_("rule"), max_length=64, blank=True)
    batch = models.ForeignKey(CouponBatch, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="coupons", verbose_name=_("batch"))
    key = models.CharField(_("idempotency key"), max_length=150, unique=True)
    policy_version = models.PositiveIntegerField(_("policy version"))
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.CharField(_("issued by"), max_length=150)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")),
                                   name="coupon_window_ordered"),
            models.UniqueConstraint(fields=["customer", "definition", "serial"],
                                    name="coupon_customer_serial"),
        ]
        indexes = [models.Index(fields=["status", "valid_until"]),
                   models.Index(fields=["definition", "issued_at"])]
        permissions = [("issue_coupon", _("Can issue coupons")),
                       ("redeem_coupon", _("Can redeem and release coupons on orders"))]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    """A coupon used on an order, identified like the gate's reservation by (source,
    external_id): ACTIVE while the order is open, CONVERTED once invoiced, RELEASED when the
    order was cancelled (the coupon may be used again)."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        RELEASED = "RELEASED", _("Released")
        CONVERTED = "CONVERTED", _("Converted")

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions",
                               verbose_name=_("coupon"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    definition = models.CharField(_("coupon definition"), max_length=64)
    source = models.CharField(_("source"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=100)
    amount = models.DecimalField(_("order amount"), **MONEY)
    discount = models.DecimalField(_("discount"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.ACTIVE)
    reasons = models.JSONField(_("reasons"), default=list)
    gate_outcome = models.CharField(_("gate outcome"), max_length=10, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"))
    redeemed_at = models.DateTimeField(_("redeemed at"))
    redeemed_by = models.CharField(_("redeemed by"), max_length=150)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        ordering = ["-redeemed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"],
                                    name="coupon_redemption_order"),
            # A coupon is used by one open or invoiced order at a time.
            models.UniqueConstraint(fields=["coupon"], condition=~Q(status="RELEASED"),
                                    name="coupon_redemption_one_live"),
            models.CheckConstraint(condition=Q(discount__gte=0) & Q(amount__gte=0),
                                   name="coupon_redemption_not_negative"),
        ]
        indexes = [models.Index(fields=["definition", "redeemed_at"])]

    def __str__(self) -> str:
        return f"{self.coupon_id} @ {self.source}/{self.external_id}"


class CouponCounter(models.Model):
    """Redemptions of a definition that hold a use (active or converted): the definition's
    total limit is kept by `UPDATE … SET redeemed = redeemed + 1 WHERE redeemed < limit`."""

    definition = models.CharField(_("coupon definition"), max_length=64, primary_key=True)
    redeemed = models.PositiveIntegerField(_("redeemed"), default=0)

    class Meta:
        verbose_name = _("coupon counter")
        verbose_name_plural = _("coupon counters")

    def __str__(self) -> str:
        return f"{self.definition}: {self.redeemed}"
