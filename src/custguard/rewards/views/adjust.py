"""Adjusting a customer's points from its points page. Points to add are added at once; points
to take are asked again (a confirmation page that writes nothing) before the service takes
them. A refusal shows the page again (422) with the reason next to the field the service names.
Thin: `rewards.services.adjustments.adjust` checks the permission again, writes and audits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from custguard.core.errors import DomainError, PermissionRefused
from custguard.customers.views.common import actor, get_customer_or_404
from custguard.rewards import selectors
from custguard.rewards.forms import AdjustForm
from custguard.rewards.services import adjustments
from custguard.rewards.views.customer import points_page


@login_required
@require_POST
@permission_required(["rewards.view_pointsentry", "rewards.adjust_points"],
                     raise_exception=True)
def adjust_points(request: HttpRequest, points_code: str) -> HttpResponse:
    customer = get_customer_or_404(request, points_code)
    form = AdjustForm(request.POST, prefix="adjust")
    if form.is_valid():
        points, note = form.cleaned_data["points"], form.cleaned_data["note"]
        if points < 0 and not form.cleaned_data["confirmed"]:
            available = selectors.available_points(customer)
            return render(request, "rewards/customer/adjust_confirm.html", {
                "customer": customer, "form": form, "taking": -points,
                "available": available, "after": available + points})
        try:
            entry, _created = adjustments.adjust(actor(request), customer, points, note=note)
        except DomainError as error:
            if isinstance(error, PermissionRefused):
                raise PermissionDenied(error.message) from error
            form.add_domain_error(error)
        else:
            text = (_("%(points)s points added to %(code)s.") if entry.points > 0
                    else _("%(points)s points taken from %(code)s."))
            messages.success(request, text % {"points": abs(entry.points),
                                              "code": customer.code})
            return redirect("rewards:customer", points_code=customer.code)
    response = points_page(request, customer, adjust_form=form)
    response.status_code = 422  # shown again because refused: not a success
    return response
