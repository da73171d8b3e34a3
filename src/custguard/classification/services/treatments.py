"""What a class brings, kept on the standing row in the transaction that sets the class: the
order gate's priority flag and the payment term bonus, which credit adds to the terms the
grade gives (the terms are re-applied at once for a customer whose bonus changed)."""

from __future__ import annotations

from collections.abc import Iterable

from custguard.classification.models import CustomerClass
from custguard.core.actors import Actor
from custguard.credit.services import scoring
from custguard.customers.models import Standing
from custguard.policy.schema_rewards import Classification

FIELDS = ["abc_class", "priority_allocation", "payment_term_bonus_days"]


def wanted(rules: Classification, abc: str) -> dict[str, object]:
    if not abc:
        return {"abc_class": "", "priority_allocation": False, "payment_term_bonus_days": 0}
    treatment = rules.treatment(abc)
    return {"abc_class": abc, "priority_allocation": treatment.priority_allocation,
            "payment_term_bonus_days": treatment.payment_term_bonus_days}


def apply(actor: Actor, rules: Classification, customer_ids: Iterable[int] | None = None,
          ) -> int:
    """Bring the standing rows of these customers (default: every classified one) in line with
    their class's treatment. Returns how many changed."""
    classes = CustomerClass.objects.all()
    if customer_ids is not None:
        classes = classes.filter(customer_id__in=list(customer_ids))
    current = dict(classes.values_list("customer_id", "abc"))
    rows = Standing.objects.filter(pk__in=list(current)).values_list(
        "pk", "abc_class", "priority_allocation", "payment_term_bonus_days")
    changed = [pk for pk, *values in rows
               if dict(zip(FIELDS, values, strict=True)) != wanted(rules, current[pk])]
    for pk in sorted(changed):
        standing = Standing.objects.select_for_update().get(pk=pk)
        bonus_before = standing.payment_term_bonus_days
        for name, value in wanted(rules, current[pk]).items():
            setattr(standing, name, value)
        standing.save(update_fields=FIELDS)
        if standing.payment_term_bonus_days != bonus_before:
            scoring.reapply_terms(actor, standing, action="classification.credit_terms",
                                  context={"class": current[pk],
                                           "term_bonus_days": standing.payment_term_bonus_days})
    return len(changed)
