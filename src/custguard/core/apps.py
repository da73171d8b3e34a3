from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "custguard.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from custguard.core.roles import sync_roles

        # Roles need the permissions that post_migrate creates, so they are synced after it
        # (and again after a test flush) rather than in a data migration.
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="custguard-sync-roles")
