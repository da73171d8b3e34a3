"""A customer's credit page: score and grade with the reasons in plain language, limit and
terms, exposure of the customer and its group, ageing and score history charts, the gate's
answers (paged with htmx), overrides and open invoices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from custguard.core import clock
from custguard.core.services.policies import version_in_force
from custguard.credit import presenters, selectors
from custguard.credit.models import GateCheck
from custguard.credit.reasons import ReasonText
from custguard.customers.models import Customer, Standing
from custguard.customers.views.common import get_customer_or_404, user_of
from custguard.ledger import selectors as ledger_selectors

GATE_PAGE_SIZE = 10
GATE_TARGET = "gate-checks"


@dataclass(frozen=True)
class GateRow:
    check: GateCheck
    badge: str
    reasons: list[ReasonText]


def _gate_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """One page of the customer's gate answers, newest first."""
    paginator = Paginator(selectors.gate_checks(customer), GATE_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("gate_page"))
    rows = [GateRow(check, presenters.outcome_badge(check.outcome),
                    presenters.gate_reason_lines(check)) for check in page.object_list]
    return {"gate_page": page, "gate_rows": rows}


def _wants_gate_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == GATE_TARGET


@login_required
@permission_required("credit.view_creditscore", raise_exception=True)
def customer_credit(request: HttpRequest, credit_code: str) -> HttpResponse:
    """The credit page of the customer whose code is `credit_code` (the URL's name for it
    matches the permission matrix's world key)."""
    customer = get_customer_or_404(request, credit_code)
    user = user_of(request)
    may_see_gate = user.has_perm("credit.view_gatecheck")
    if _wants_gate_fragment(request) and may_see_gate:
        return render(request, "credit/customer/gate_checks.html",
                      {"customer": customer, **_gate_context(request, customer)})
    today = clock.today()
    standing = Standing.objects.filter(pk=customer.pk).first()
    score = selectors.latest_score(customer)
    policy = presenters.policy_document(score.policy_version) if score else None
    in_force = version_in_force()
    current_policy = presenters.policy_document(in_force.number) if in_force else None
    history = selectors.score_history(customer)
    group = selectors.group_exposure(customer)
    may_see_ledger = user.has_perm("ledger.view_invoice")
    context: dict[str, Any] = {
        "customer": customer,
        "standing": standing,
        "score": score,
        "grade_description": presenters.grade_description(
            policy or current_policy, standing.grade if standing else ""),
        "factors": presenters.factor_lines(score, policy) if score else [],
        "limit_lines": presenters.limit_lines(score, policy) if score else [],
        "days_past_due": standing.days_past_due(today) if standing else 0,
        "review_due": bool(standing and standing.next_review_on
                           and standing.next_review_on <= today),
        "customer_bar": presenters.exposure_bar(standing) if standing else None,
        "group": group,
        "group_bar": (presenters.exposure_bar(group.standing,
                                              has_limit=group.standing.has_limit)
                      if group else None),
        "score_chart": presenters.score_chart(history, current_policy or policy),
        "history_points": len(history),
        "may_see_gate": may_see_gate,
        "may_see_overrides": user.has_perm("credit.view_creditoverride"),
        "may_see_ledger": may_see_ledger,
    }
    if may_see_gate:
        context.update(_gate_context(request, customer))
    if context["may_see_overrides"]:
        context["overrides"] = list(selectors.overrides_of(customer)[:50])
    if may_see_ledger:
        ageing = ledger_selectors.ageing([customer.pk], today)
        context["ageing"] = ageing
        context["ageing_rows"] = [(str(presenters.AGEING_LABELS[code]), amount)
                                  for code, amount in ageing.as_list()]
        context["ageing_chart"] = presenters.ageing_chart(ageing)
        context["invoices"] = selectors.open_invoices_of(customer, today)
        context["today"] = today
    return render(request, "credit/customer/detail.html", context)
