from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "custguard.credit"
    label = "credit"
    verbose_name = _("Credit")

    def ready(self) -> None:
        from custguard.credit import reasons
        from custguard.customers.views.common import register_value_formatter

        def gate_reasons(value: Any) -> str:
            """The gate's reasons in a customer's timeline, in words (codes as a fallback)."""
            if not isinstance(value, list):
                return str(value)
            return reasons.summary(item for item in value if isinstance(item, dict))

        register_value_formatter("credit.reservation", "reasons", gate_reasons)
