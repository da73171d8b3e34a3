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
        self._clear_token_cache_on_access_changes()

    @staticmethod
    def _clear_token_cache_on_access_changes() -> None:
        """A revoked token, a deactivated user, a changed role: forget this worker's cached
        tokens at once (core/services/token_cache.py)."""
        from django.contrib.auth.models import Group, Permission
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from custguard.core.models import ApiToken, User
        from custguard.core.services import token_cache

        for model in (ApiToken, User, Group, Permission):
            for signal in (post_save, post_delete):
                signal.connect(token_cache.clear, sender=model,
                               dispatch_uid=f"custguard-token-cache-{signal}-{model.__name__}")
        for through in (User.groups.through, User.user_permissions.through,
                        Group.permissions.through):
            m2m_changed.connect(token_cache.clear, sender=through,
                                dispatch_uid=f"custguard-token-cache-m2m-{through.__name__}")
