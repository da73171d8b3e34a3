from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from custguard.core.forms import StyledFormMixin


class StyledAuthenticationForm(StyledFormMixin, AuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True
    authentication_form = StyledAuthenticationForm
