"""The points pages. Fixed paths come before `<str:...>/` ones."""

from django.urls import path

from custguard.rewards.views import adjust, customer, overview

app_name = "rewards"
urlpatterns = [
    path("overview/", overview.overview, name="overview"),
    path("overview/export/", overview.overview_export, name="overview_export"),
    path("customers/<str:points_code>/", customer.customer_points, name="customer"),
    path("customers/<str:points_code>/adjust/", adjust.adjust_points, name="adjust"),
]
