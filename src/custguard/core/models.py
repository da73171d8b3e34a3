"""Users, API tokens, the audit chain and policy versions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_pii", _("Can see unmasked personal data")),
            ("manage_all_customers", _("Can see and change customers of every account manager")),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_username()

    @property
    def role_codes(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())


class ApiToken(models.Model):
    """A bearer token for machines. Only a SHA-256 digest of the secret is stored.

    A token made while acting with another token is that token's child: it acts as the same
    user, never expires after it, and is revoked with it (core/services/tokens.py)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens",
                             verbose_name=_("user"))
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("made with token"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditHead(models.Model):
    """The single row that holds the chain's tip. Locking it serialises appends."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class AuditEntry(models.Model):
    """One link of the tamper-evident audit chain. Insert-only; triggers refuse UPDATE/DELETE."""

    seq = models.BigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor_kind = models.CharField(_("actor kind"), max_length=10)
    actor_label = models.CharField(_("actor"), max_length=150, db_index=True)
    actor_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    actor_token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.DO_NOTHING,
                                    db_constraint=False, related_name="+")
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True, db_index=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["object_type", "object_id"])]
        permissions = [("verify_audit", _("Can verify the audit chain"))]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditCheckpoint(models.Model):
    """A keyed anchor of the chain's head: an HMAC (with a key kept outside the database) over
    the sequence and hash of the last entry and the entry count. Whoever rewrites the database
    cannot make a new one that verifies (see core/services/audit_checkpoints.py)."""

    seq = models.BigIntegerField(_("sequence"), db_index=True)
    entry_hash = models.CharField(_("entry hash"), max_length=64)
    entry_count = models.BigIntegerField(_("entries"))
    created_at = models.DateTimeField(_("created at"))
    key_id = models.CharField(_("key id"), max_length=16)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq", "created_at"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} at {self.created_at:%Y-%m-%d %H:%M}"


class PolicyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    number = models.PositiveIntegerField(_("version"), unique=True)
    document = models.JSONField(_("document"))
    checksum = models.CharField(_("checksum"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.DRAFT)
    note = models.CharField(_("note"), max_length=300, blank=True)
    effective_from = models.DateTimeField(_("effective from"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("published by"))

    class Meta:
        ordering = ["-number"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        permissions = [("publish_policyversion", _("Can publish a policy version"))]

    def __str__(self) -> str:
        return f"v{self.number} ({self.status})"


class JobRun(models.Model):
    """One run of a scheduled job (nightly rescoring, expiries, reconciliation, ...). The
    (job, due_at) pair is unique, so two schedulers can never queue the same slot twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=64)
    due_at = models.DateTimeField(_("due at"))
    queued_at = models.DateTimeField(_("queued at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.QUEUED)
    summary = models.TextField(_("summary"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-due_at", "-pk"]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        constraints = [models.UniqueConstraint(fields=["job", "due_at"], name="job_run_slot")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.due_at:%Y-%m-%d %H:%M} ({self.status})"
