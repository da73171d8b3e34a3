from django.contrib.auth import views as auth_views
from django.urls import include, path

from custguard.api.api import api
from custguard.core.forms import StyledPasswordChangeForm
from custguard.core.views.auth import LoginView
from custguard.reports.views import home

urlpatterns = [
    path("", home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(
        template_name="core/password_change.html",
        form_class=StyledPasswordChangeForm), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(
        template_name="core/password_change_done.html"), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("custguard.customers.urls")),
    path("credit/", include("custguard.credit.urls")),
    path("ledger/", include("custguard.ledger.urls")),
    path("conduct/", include("custguard.conduct.urls")),
    path("classification/", include("custguard.classification.urls")),
    path("rewards/", include("custguard.rewards.urls")),
    path("", include("custguard.core.urls")),
    path("api/v1/", api.urls),
]
