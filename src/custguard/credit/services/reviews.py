"""Credit reviews: the queue of customers due for one, and recording one.

A customer is due for review when its next review date has come, or when no person has ever
reviewed it. The review interval is the grade's `review_interval_days` in the policy in force,
so riskier grades come back sooner (with the default policy: BB and B every 90 days, C every
60, D every 30). Closed customers are not reviewed.

Recording a review rescores the customer now (trigger "review"), stores the review with the
score it looked at and a note, and moves the standing's next review date to today + the
interval of the grade the customer has now — all in one transaction, audited.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext as _

from custguard.core import clock, limits
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused, ValidationFailed
from custguard.core.models import User
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.credit.models import CreditReview, CreditScore
from custguard.credit.services import scoring
from custguard.customers import selectors
from custguard.customers.models import Customer, CustomerStatus, Standing
from custguard.policy.codes import GradeCode

MAX_NOTE = limits.REASON
UNRATED_RANK = -1  # customers without a grade come after every graded one


def risk_rank() -> Case:
    """Higher is riskier: D first ... AAA last, unrated after all of them."""
    return Case(*[When(standing__grade=code.value, then=Value(code.rank)) for code in GradeCode],
                default=Value(UNRATED_RANK), output_field=IntegerField())


def review_queue(who: User | Actor, today: dt.date | None = None) -> QuerySet[Customer]:
    """Customers `who` may see that are due for review, riskiest first: worst grade, then the
    oldest unpaid due date, then the largest overdue amount, then the earliest review date."""
    today = today or clock.today()
    reviewed = CreditReview.objects.filter(customer=OuterRef("pk"))
    last = reviewed.order_by("-reviewed_at", "-pk").values("reviewed_at")[:1]
    return (selectors.customers_for(who)
            .exclude(status=CustomerStatus.CLOSED)
            .annotate(ever_reviewed=Exists(reviewed), last_reviewed_at=Subquery(last),
                      risk=risk_rank())
            .filter(Q(standing__next_review_on__lte=today)
                    | Q(standing__next_review_on__isnull=True) | Q(ever_reviewed=False))
            .order_by(*RISK_ORDER))


RISK_ORDER = [F("risk").desc(), F("standing__oldest_open_due_on").asc(nulls_last=True),
              F("standing__overdue_amount").desc(nulls_last=True),
              F("standing__next_review_on").asc(nulls_first=True), F("code").asc()]


def record_review(actor: Actor, customer: Customer, *, note: str) -> CreditReview:
    """Review `customer` (already scoped to what the actor may see) now."""
    if not actor.can("credit.add_creditreview"):
        raise PermissionRefused(_("your role may not record credit reviews"))
    text = (note or "").strip()
    if not text:
        raise ValidationFailed(_("a review needs a note: what was looked at and concluded"),
                               field="note")
    if len(text) > MAX_NOTE:
        raise ValidationFailed(_("the note is longer than %(max)s characters") % {
            "max": MAX_NOTE}, field="note")
    if customer.status == CustomerStatus.CLOSED:
        raise Conflict(_("customer %(code)s is closed") % {"code": customer.code},
                       field="customer")
    today = clock.today()
    with transaction.atomic():
        scoring.rescore_customers(actor, [customer.pk], trigger=CreditScore.Trigger.REVIEW)
        score = scoring.latest_score(customer.pk)
        if score is None:  # cannot happen: every customer has a standing row to score
            raise ValidationFailed(_("the customer could not be scored"), field="customer")
        _version, policy = policy_in_force()
        interval = policy.grade_band(score.grade).review_interval_days
        next_review = today + dt.timedelta(days=interval)
        standing = Standing.objects.select_for_update().get(pk=customer.pk)
        previous = standing.next_review_on
        review = CreditReview.objects.create(
            customer=customer, reviewed_by=actor.user, reviewed_at=clock.now(), score=score,
            note=text, next_review_on=next_review)
        standing.next_review_on = next_review
        standing.updated_at = clock.now()
        standing.save(update_fields=["next_review_on", "updated_at"])
        audit.record(actor, "credit.review", review, customer_id=customer.pk,
                     before={"next_review_on": previous},
                     after={"score": score.score, "grade": score.grade,
                            "credit_limit": standing.credit_limit,
                            "policy_version": score.policy_version,
                            "next_review_on": next_review, "interval_days": interval},
                     reason=text)
    return review


def rescore_now(actor: Actor, customer: Customer) -> CreditScore:
    """A person's "rescore now" for one customer (already scoped). The request itself is
    audited (with the score it produced) even when nothing changed, unlike batch rescoring."""
    if not actor.can("credit.rescore"):
        raise PermissionRefused(_("your role may not rescore customers"))
    with transaction.atomic():
        score = scoring.rescore_customer(actor, customer, trigger=CreditScore.Trigger.MANUAL)
        audit.record(actor, "credit.rescore_now", score, customer_id=customer.pk,
                     after={"score": score.score, "grade": score.grade,
                            "credit_limit": score.credit_limit,
                            "policy_version": score.policy_version})
    return score
