"""The credit pages. Fixed paths come before `<str:code>/` so they are never read as codes."""

from django.urls import path  # noqa: F401

from custguard.credit.views import customer, gate_checks, holds, overview
from custguard.credit.views import overrides as override_views
from custguard.credit.views import reviews as review_views

app_name = "credit"
urlpatterns: list[object] = [
    # --- gate: credit holds and gate answers ---
    path("holds/", holds.hold_list, name="holds"),
    path("holds/export/", holds.hold_export, name="hold_export"),
    path("holds/<int:reservation_id>/", holds.hold_detail, name="hold_detail"),
    path("holds/<int:reservation_id>/decide/", holds.hold_decide, name="hold_decide"),
    path("gate/", gate_checks.check_list, name="gate_checks"),
    path("gate/export/", gate_checks.check_export, name="gate_check_export"),
    # --- scoring: reviews, overrides, rescoring ---
    path("reviews/", review_views.review_list, name="reviews"),
    path("reviews/export/", review_views.review_export, name="review_export"),
    path("reviews/<str:review_code>/", review_views.review_detail, name="review"),
    path("reviews/<str:review_code>/rescore/", review_views.rescore, name="rescore"),
    path("overrides/", override_views.override_list, name="overrides"),
    path("overrides/export/", override_views.override_export, name="override_export"),
    path("overrides/new/", override_views.override_new, name="override_new"),
    path("overrides/<int:override_id>/", override_views.override_detail,
         name="override_detail"),
    path("overrides/<int:override_id>/approve/", override_views.override_approve,
         name="override_approve"),
    path("overrides/<int:override_id>/reject/", override_views.override_reject,
         name="override_reject"),
    path("overrides/<int:override_id>/revoke/", override_views.override_revoke,
         name="override_revoke"),
    # --- overview: the customer's credit page, the credit overview ---
    path("overview/", overview.overview, name="overview"),
    path("overview/export/", overview.overview_export, name="overview_export"),
    path("customers/<str:credit_code>/", customer.customer_credit, name="customer"),
]
