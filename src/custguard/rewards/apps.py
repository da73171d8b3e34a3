from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "custguard.rewards"
    label = "rewards"
    verbose_name = _("Rewards")

    def ready(self) -> None:
        from custguard.conduct import hooks as conduct_hooks
        from custguard.ledger import hooks as ledger_hooks
        from custguard.rewards import reasons
        from custguard.rewards.services import adjustments, earning

        # Paid, credited and reopened invoices earn and give back points in their transaction;
        # a penalty's points deduction goes through the points ledger; a lifted freeze
        # releases or forfeits what it withheld.
        ledger_hooks.on_invoices_changed(earning.invoices_changed)
        conduct_hooks.keep_points_with(adjustments.ConductKeeper())
        conduct_hooks.on_effects_changed(earning.effects_changed)
        # The points reasons in plain language (pages, API, exports, timelines).
        reasons.install()

        # Coupons: a cancelled, expired or invoiced order releases or converts its coupon.
        from custguard.credit import hooks as credit_hooks
        from custguard.rewards.services import coupon_redemption

        credit_hooks.on_reservation_ended(coupon_redemption.reservation_ended)
