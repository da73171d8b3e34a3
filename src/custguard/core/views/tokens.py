"""API tokens in the UI: list, create (secret shown once), revoke."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import MaxValueValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from custguard.core import selectors
from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.services import tokens


class TokenForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. ERP order gate"))
    expires_days = forms.IntegerField(label=gettext_lazy("Expires after (days)"), required=False,
                                      min_value=1)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["expires_days"]
        limit = tokens.max_days()
        field.max_value = limit
        field.validators.append(MaxValueValidator(limit))
        field.widget.attrs["max"] = str(limit)
        field.help_text = _("Empty: the longest allowed, %(days)s days") % {"days": limit}


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    secret = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = tokens.create_token(
                Actor.for_user(user), user=user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"], expires_days=form.cleaned_data["expires_days"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Token %(name)s created. Copy the secret now: it is "
                                        "not shown again.") % {"name": token.name})
            form = TokenForm()
    return render(request, "core/tokens.html", {
        "form": form, "secret": secret,
        "tokens": selectors.tokens_for(user),  # type: ignore[arg-type]
    })


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.tokens_for(request.user).filter(pk=token_id).first()  # type: ignore[arg-type]
    if token is None:
        raise Http404
    tokens.revoke_token(Actor.for_user(request.user), token)  # type: ignore[arg-type]
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("core:tokens")
