"""Policy versions in the UI: list, view, upload a draft, publish, compare two versions."""

from __future__ import annotations

import yaml
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from custguard.core.actors import Actor
from custguard.core.errors import DomainError
from custguard.core.forms import StyledFormMixin
from custguard.core.models import PolicyVersion
from custguard.core.services import policies
from custguard.policy.diff import diff_documents


class PolicyUploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=gettext_lazy("Policy file (YAML or JSON)"), required=False)
    text = forms.CharField(label=gettext_lazy("…or paste the document"), required=False,
                           widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload:
            try:
                data["source"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", _("The file is not UTF-8 text."))
        elif data.get("text", "").strip():
            data["source"] = data["text"]
        else:
            raise forms.ValidationError(_("Choose a file or paste the document."))
        return data


class PublishForm(StyledFormMixin, forms.Form):
    effective_from = forms.DateTimeField(
        label=gettext_lazy("Effective from"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("Empty: now"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


def _get(number: int) -> PolicyVersion:
    version = PolicyVersion.objects.filter(number=number).first()
    if version is None:
        raise Http404
    return version


@login_required
@permission_required("core.view_policyversion", raise_exception=True)
def policy_list(request: HttpRequest) -> HttpResponse:
    versions = PolicyVersion.objects.select_related("published_by", "created_by")
    in_force = policies.version_in_force()
    return render(request, "core/policy_list.html", {
        "versions": versions, "in_force": in_force})


@login_required
@permission_required("core.view_policyversion", raise_exception=True)
def policy_detail(request: HttpRequest, number: int) -> HttpResponse:
    version = _get(number)
    text = yaml.safe_dump(version.document, allow_unicode=True, sort_keys=False)
    return render(request, "core/policy_detail.html", {
        "version": version, "text": text, "publish_form": PublishForm(),
        "others": PolicyVersion.objects.exclude(pk=version.pk).values_list("number", flat=True),
    })


@login_required
@permission_required("core.add_policyversion", raise_exception=True)
def policy_upload(request: HttpRequest) -> HttpResponse:
    form = PolicyUploadForm(request.POST or None, request.FILES or None)
    problems: dict[str, list[str]] = {}
    if request.method == "POST" and form.is_valid():
        try:
            version = policies.create_draft(Actor.for_user(request.user),  # type: ignore[arg-type]
                                            form.cleaned_data["source"],
                                            note=form.cleaned_data["note"])
        except DomainError as error:
            problems = error.errors or {"document": [error.message]}
            messages.error(request, error.message)
        else:
            messages.success(request, _("Draft version %(n)s stored.") % {"n": version.number})
            return redirect("core:policy_detail", number=version.number)
    return render(request, "core/policy_upload.html", {"form": form, "problems": problems})


@login_required
@permission_required("core.publish_policyversion", raise_exception=True)
@require_POST
def policy_publish(request: HttpRequest, number: int) -> HttpResponse:
    version = _get(number)
    form = PublishForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                label = form.fields[field].label if field in form.fields else ""
                messages.error(request, f"{label}: {error}")
        return redirect("core:policy_detail", number=number)
    try:
        policies.publish(Actor.for_user(request.user), version,  # type: ignore[arg-type]
                         effective_from=form.cleaned_data["effective_from"],
                         reason=form.cleaned_data["reason"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Version %(n)s published.") % {"n": number})
    return redirect("core:policy_detail", number=number)


@login_required
@permission_required("core.view_policyversion", raise_exception=True)
def policy_diff(request: HttpRequest) -> HttpResponse:
    numbers = list(PolicyVersion.objects.values_list("number", flat=True))
    try:
        a = int(request.GET.get("a", ""))
        b = int(request.GET.get("b", ""))
    except ValueError:
        a = numbers[1] if len(numbers) > 1 else (numbers[0] if numbers else 0)
        b = numbers[0] if numbers else 0
    changes = []
    if a and b:
        changes = diff_documents(_get(a).document, _get(b).document)
    return render(request, "core/policy_diff.html", {
        "numbers": numbers, "a": a, "b": b, "changes": changes})
