from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClassificationConfig(AppConfig):
    name = "custguard.classification"
    label = "classification"
    verbose_name = _("Classification")

    def ready(self) -> None:
        from custguard.classification import reasons

        # The class decisions' reasons in plain language (pages, API, exports).
        reasons.install()
