"""Value segments (战略 / 重要 / 一般 / 潜在), set with the monthly run from the facts it has
already gathered: no scan of its own. The segment is kept on the standing row, where the
customer list filters on it and coupons and communications can use it as a condition; each
change is listed in the run's audit entries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from custguard.classification.models import ClassificationRun
from custguard.core.actors import Actor
from custguard.core.services import audit
from custguard.customers.models import Standing
from custguard.policy.classification import ClassFacts, value_segment
from custguard.policy.schema_rewards import Classification

AUDIT_BATCH = 500  # segment changes listed per audit entry


def apply(actor: Actor, run: ClassificationRun, rules: Classification,
          facts: Sequence[ClassFacts]) -> int:
    """Bring each customer's value segment in line with its facts. Returns how many changed."""
    wanted = {item.customer_id: value_segment(rules.value_tiers, item.paid_sales,
                                              item.previous_sales).outcome.code
              for item in facts}
    current = dict(Standing.objects.filter(pk__in=list(wanted))
                   .values_list("pk", "value_segment"))
    moves: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, code in wanted.items():
        if pk in current and current[pk] != code:
            moves[(current[pk], code)].append(pk)
    for (before, after), pks in sorted(moves.items()):
        for start in range(0, len(pks), AUDIT_BATCH):
            batch = pks[start:start + AUDIT_BATCH]
            Standing.objects.filter(pk__in=batch).update(value_segment=after)
            audit.record(actor, "classification.value_segment", run,
                         object_id=f"{run.pk}:{before or '-'}>{after}:{start // AUDIT_BATCH + 1}",
                         before={"value_segment": before},
                         after={"value_segment": after, "customers": batch})
    return sum(len(pks) for pks in moves.values())
