"""Facts from the ERP: orders, invoices and payments, with credit notes, cancellations and
reversals as new facts that reference the one they correct. A fact is never edited; the only
columns that change after insert are the derived `open_amount`/`settled_on` of an invoice and
`unapplied_amount` of a payment, kept by the services from the allocation rows (which are facts
themselves) so that ageing and scoring never have to replay history."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from custguard.customers.models import Customer

MONEY = {"max_digits": 16, "decimal_places": 2}


class Fact(models.Model):
    """Every fact posted by a machine carries (source, external_id); posting it again returns
    the first result and changes nothing."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"))
    source = models.CharField(_("source"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=100)
    number = models.CharField(_("document number"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Order(Fact):
    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        CANCELLATION = "cancellation", _("Cancellation")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders",
                                 verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ORDER)
    ordered_on = models.DateField(_("order date"))
    cancels = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="cancellation", verbose_name=_("cancels"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="order_source_id"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="order", cancels__isnull=True)
                | Q(kind="cancellation", cancels__isnull=False),
                name="order_cancellation_refers"),
        ]
        indexes = [models.Index(fields=["customer", "ordered_on"])]
        permissions = [("import_facts", _("Can import orders, invoices and payments"))]


class Invoice(Fact):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices",
                                 verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices,
                            default=Kind.INVOICE)
    issued_on = models.DateField(_("issue date"))
    due_on = models.DateField(_("due date"), null=True, blank=True)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="credit_notes", verbose_name=_("corrects"))
    # The gate reservation this invoice turns into posted exposure, if any.
    order_source = models.CharField(_("order source"), max_length=50, blank=True)
    order_external_id = models.CharField(_("order external id"), max_length=100, blank=True)
    # Derived from the allocations: still to be paid, and the day it was paid in full.
    open_amount = models.DecimalField(_("open amount"), **MONEY, default=Decimal("0.00"))
    settled_on = models.DateField(_("settled on"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="invoice_source_id"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(condition=Q(open_amount__gte=0)
                                   & Q(open_amount__lte=models.F("amount")),
                                   name="invoice_open_within_amount"),
            models.CheckConstraint(
                condition=Q(kind="invoice", due_on__isnull=False, corrects__isnull=True)
                | Q(kind="credit_note", corrects__isnull=False),
                name="invoice_kind_fields"),
        ]
        indexes = [
            models.Index(fields=["customer", "due_on"]),
            models.Index(fields=["customer", "settled_on"]),
            models.Index(fields=["order_source", "order_external_id"]),
        ]


class Payment(Fact):
    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REVERSAL = "reversal", _("Reversal")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments",
                                 verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices,
                            default=Kind.PAYMENT)
    received_on = models.DateField(_("received on"))
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversal", verbose_name=_("reverses"))
    # Derived: the part of a payment not applied to any invoice (a credit on account).
    unapplied_amount = models.DecimalField(_("unapplied amount"), **MONEY,
                                           default=Decimal("0.00"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="payment_source_id"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="payment", reverses__isnull=True)
                | Q(kind="reversal", reverses__isnull=False),
                name="payment_reversal_refers"),
        ]
        indexes = [models.Index(fields=["customer", "received_on"])]


class Allocation(models.Model):
    """Part of a payment or a credit note applied to an invoice. A reversal writes the negative
    of the allocations it undoes, so an invoice's open amount is always its amount minus the
    sum of its allocations."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations",
                                verbose_name=_("invoice"))
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="allocations", verbose_name=_("payment"))
    credit_note = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="applied", verbose_name=_("credit note"))
    amount = models.DecimalField(_("amount"), **MONEY)
    applied_on = models.DateField(_("applied on"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.CheckConstraint(
                condition=Q(payment__isnull=False, credit_note__isnull=True)
                | Q(payment__isnull=True, credit_note__isnull=False),
                name="allocation_one_source"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice}"
