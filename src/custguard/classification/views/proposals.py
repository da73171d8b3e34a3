"""The approvals inbox (/classification/proposals/): the proposed class moves, waiting ones first
by default, filtered by status, month, move, region and customer, sorted and paged with htmx;
a proposal's page with its reasons and the customer's class history, where a manager approves
or rejects it (a rejection needs a note); and approving several selected proposals at once.
The writes are classification.services.moves.decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from custguard.classification import reasons, selectors
from custguard.classification.forms import DecisionForm, ProposalFilterForm
from custguard.classification.models import ClassProposal
from custguard.classification.services import moves
from custguard.classification.tables import ProposalTable, move_html, status_badge
from custguard.core.errors import Conflict, DomainError, NotFound
from custguard.core.tables import list_page
from custguard.credit.views.reviews import safe_next
from custguard.customers.views.common import actor, user_of

MAX_BULK = 200  # proposals approved in one request


def _proposal_or_404(request: HttpRequest, pk: int) -> ClassProposal:
    try:
        return selectors.proposal_in_scope(user_of(request), pk)
    except NotFound as error:
        raise Http404 from error


@login_required
@permission_required("classification.view_classproposal", raise_exception=True)
def proposal_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = ProposalFilterForm(request.GET)
    table = ProposalTable(form.apply(user, selectors.proposals_for(user)))
    waiting = form.is_valid() and form.cleaned_data["status"] in ("", ClassProposal.Status.PROPOSED)
    can_bulk = waiting and user.has_perm("classification.decide_classproposal")
    if not can_bulk:
        table.exclude = ("select",)
    return list_page(request, table, {"form": form, "can_bulk": can_bulk},
                     page="classification/proposals/list.html",
                     results="classification/proposals/results.html")


def _detail(request: HttpRequest, proposal: ClassProposal, form: DecisionForm | None = None,
            ) -> HttpResponse:
    user = user_of(request)
    return render(request, "classification/proposals/detail.html", {
        "proposal": proposal,
        "customer": proposal.customer,
        "move": move_html(proposal.from_class, proposal.to_class),
        "badge": status_badge(proposal),
        "reasons": reasons.describe_all(proposal.reasons),
        "current": selectors.class_of(proposal.customer),
        "history": selectors.history_of(proposal.customer)[:12],
        "can_decide": proposal.status == ClassProposal.Status.PROPOSED
        and user.has_perm("classification.decide_classproposal"),
        "form": form or DecisionForm(),
    })


@login_required
@permission_required("classification.view_classproposal", raise_exception=True)
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    return _detail(request, _proposal_or_404(request, proposal_id))


def _decide(request: HttpRequest, proposal_id: int, *, approve: bool) -> HttpResponse:
    proposal = _proposal_or_404(request, proposal_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            moves.decide(actor(request), proposal, approve=approve,
                         note=form.cleaned_data["note"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            text = (_("%(code)s %(name)s moves from class %(from)s to class %(to)s.")
                    if approve else
                    _("The move of %(code)s %(name)s from class %(from)s to class %(to)s was "
                      "rejected."))
            messages.success(request, text % {
                "code": proposal.customer.code, "name": proposal.customer.name,
                "from": proposal.from_class, "to": proposal.to_class})
            return redirect(safe_next(request, reverse("classification:proposals")))
    return _detail(request, _proposal_or_404(request, proposal_id), form)


@login_required
@require_POST
@permission_required("classification.decide_classproposal", raise_exception=True)
def proposal_approve(request: HttpRequest, proposal_id: int) -> HttpResponse:
    return _decide(request, proposal_id, approve=True)


@login_required
@require_POST
@permission_required("classification.decide_classproposal", raise_exception=True)
def proposal_reject(request: HttpRequest, proposal_id: int) -> HttpResponse:
    return _decide(request, proposal_id, approve=False)


@login_required
@require_POST
@permission_required("classification.decide_classproposal", raise_exception=True)
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve the selected proposals, each in its own transaction; one decided meanwhile by
    someone else (or not the user's to see) is skipped and counted."""
    back = safe_next(request, reverse("classification:proposals"))
    wanted = list(dict.fromkeys(int(value) for value in request.POST.getlist("proposal")
                                if value.isascii() and value.isdigit() and len(value) < 19))
    if not wanted:
        messages.warning(request, _("Select the proposals to approve first."))
        return redirect(back)
    if len(wanted) > MAX_BULK:
        messages.error(request, _("Approve at most %(n)d proposals at once.") % {"n": MAX_BULK})
        return redirect(back)
    found = {p.pk: p for p in selectors.proposals_for(user_of(request)).filter(pk__in=wanted)}
    who = actor(request)
    approved = skipped = 0
    for pk in wanted:
        proposal = found.get(pk)
        if proposal is None:
            skipped += 1
            continue
        try:
            moves.decide(who, proposal, approve=True)
        except Conflict:
            skipped += 1
        else:
            approved += 1
    messages.success(request, _("Proposals approved: %(approved)d; skipped: %(skipped)d "
                                "(decided already or not found).") % {"approved": approved,
                                                              "skipped": skipped})
    return redirect(back)
