"""Customer group (集团客户) pages: list, detail, create, edit, member add and remove."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from custguard.core.errors import DomainError
from custguard.customers import selectors, services
from custguard.customers.forms import GroupCreateForm, GroupForm, MemberForm
from custguard.customers.models import Customer, CustomerGroup, GroupStanding
from custguard.customers.views.common import actor, user_of


def _group_or_404(request: HttpRequest, pk: int) -> CustomerGroup:
    group = selectors.groups_for(user_of(request)).filter(pk=pk).first()
    if group is None:
        raise Http404
    return group


@login_required
@permission_required("customers.view_customergroup", raise_exception=True)
def group_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    qs = selectors.groups_for(user_of(request))
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(parent__code__startswith=q)
    page = Paginator(qs.order_by("name", "pk"), settings.CUSTGUARD_PAGE_SIZE).get_page(
        request.GET.get("page"))
    sizes = dict(Customer.objects.filter(group__in=list(page)).values_list("group")
                 .annotate(n=Count("pk")).order_by())
    for group in page:
        group.member_count = sizes.get(group.pk, 0)  # type: ignore[attr-defined]
    return render(request, "customers/group_list.html", {"page_obj": page, "q": q})


def _detail_page(request: HttpRequest, group: CustomerGroup,
                 member_form: MemberForm | None = None) -> HttpResponse:
    visible = selectors.customers_for(user_of(request)).filter(group=group).order_by("code")
    members = list(visible)
    total = group.members.count()
    try:
        standing: GroupStanding | None = group.standing
    except GroupStanding.DoesNotExist:
        standing = None
    return render(request, "customers/group_detail.html", {
        "group": group,
        "members": members,
        "hidden_members": total - len(members),
        "standing": standing,
        "member_form": member_form or MemberForm(user=user_of(request)),
    })


@login_required
@permission_required("customers.view_customergroup", raise_exception=True)
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _group_or_404(request, pk))


@login_required
@permission_required("customers.add_customergroup", raise_exception=True)
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupCreateForm(request.POST or None, user=user_of(request),
                           initial={"parent": request.GET.get("parent", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = services.create_group(actor(request), name=data["name"],
                                          parent=data["parent"], members=data["members"],
                                          notes=data["notes"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Group %(name)s created.") % {"name": group.name})
            return redirect("customers:group_detail", pk=group.pk)
    return render(request, "customers/group_form.html", {"form": form, "group": None})


@login_required
@permission_required("customers.change_customergroup", raise_exception=True)
def group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_or_404(request, pk)
    form = GroupForm(request.POST or None, initial={"name": group.name, "notes": group.notes})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_group(actor(request), group, name=form.cleaned_data["name"],
                                  notes=form.cleaned_data["notes"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, _("Group %(name)s saved.") % {
                "name": form.cleaned_data["name"]})
            return redirect("customers:group_detail", pk=group.pk)
    return render(request, "customers/group_form.html", {"form": form, "group": group})


@login_required
@permission_required("customers.change_customergroup", raise_exception=True)
@require_POST
def group_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    group = _group_or_404(request, pk)
    form = MemberForm(request.POST, user=user_of(request))
    if form.is_valid():
        customer = form.cleaned_data["customer"]
        try:
            services.add_group_member(actor(request), group, customer)
        except DomainError as error:
            form.add_error("customer", error.message)  # the form's only field
        else:
            messages.success(request, _("%(code)s %(name)s joined the group.") % {
                "code": customer.code, "name": customer.name})
            return redirect("customers:group_detail", pk=group.pk)
    return _detail_page(request, group, member_form=form)


@login_required
@permission_required("customers.change_customergroup", raise_exception=True)
@require_POST
def group_member_remove(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    group = _group_or_404(request, pk)
    customer = selectors.customers_for(user_of(request)).filter(group=group, code=code).first()
    if customer is None:
        raise Http404
    try:
        services.remove_group_member(actor(request), group, customer,
                                     reason=request.POST.get("reason", "")[:500])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(code)s %(name)s left the group.") % {
            "code": customer.code, "name": customer.name})
    return redirect("customers:group_detail", pk=group.pk)
