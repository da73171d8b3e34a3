from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConductConfig(AppConfig):
    name = "custguard.conduct"
    label = "conduct"
    verbose_name = _("Conduct")

    def ready(self) -> None:
        from custguard.conduct.views.cases.common import register_formatters

        # How the customer's timeline shows a penalty's reasons and measures, a case's severity.
        register_formatters()
