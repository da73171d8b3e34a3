"""Evaluating the membership tiers: every customer's facts over the window (`tier_facts`) are
held against the policy's tiers (`policy.membership`): up at once to the highest tier it
qualifies for, below its tier kept for the tier's grace months and then one tier down. An
active manual tier wins until it expires. Moves are applied in bulk in one transaction:
`TierStatus`, the standing's tier and term bonus (credit terms re-applied where the bonus
changes), a `TierChange` with its reasons and facts, a queued `TierNotice`, audit entries in
batches. Monthly on the policy's evaluation_day (the job in rewards/tasks.py) and on demand
for one customer or all. Running it again with the same facts changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, PermissionRefused
from custguard.core.services import audit
from custguard.core.services.policies import policy_in_force
from custguard.credit.services import scoring
from custguard.customers.models import Standing
from custguard.policy import membership as rules
from custguard.policy.decisions import Decision
from custguard.policy.schema_membership import Membership
from custguard.rewards.models import TierChange, TierRun, TierStatus
from custguard.rewards.services import coupon_issuing, tier_facts, tier_notices

AUDIT_BATCH = 500  # tier changes listed per audit entry of a run
PER_CUSTOMER_AUDIT = 50  # up to this many changes, each gets its own entry (customer timeline)
Progress = Callable[[int], None] | None
KIND = {"INITIAL": TierChange.Kind.INITIAL, "UPGRADE": TierChange.Kind.UPGRADE,
        "DOWNGRADE": TierChange.Kind.DOWNGRADE, "GRACE_STARTED": TierChange.Kind.GRACE}


@dataclass
class EvaluationResult:
    run: TierRun | None
    customers: int = 0
    upgraded: int = 0
    downgraded: int = 0
    initial: int = 0
    in_grace: int = 0
    recovered: int = 0
    manual: int = 0
    changes: list[TierChange] = field(default_factory=list)


def _require(actor: Actor) -> None:
    if not actor.can("rewards.run_tiers"):
        raise PermissionRefused(_("your role may not evaluate the membership tiers"))


def bonus_days(section: Membership, tier: str) -> int:
    found = section.tier(tier)
    return found.benefits.payment_term_bonus_days if found is not None else 0


def evaluate(actor: Actor, *, today: dt.date | None = None,
             customer_ids: Iterable[int] | None = None, progress: Progress = None,
             ended: frozenset[int] = frozenset()) -> EvaluationResult:
    """Evaluate every active or dormant customer in this month's run (customer_ids None), or
    only the given ones (on demand, outside any run). `ended`: customers whose manual tier
    just ended; they take at once the tier their facts qualify them for."""
    _require(actor)
    today = today or clock.today()
    version, policy = policy_in_force()
    section = policy.membership
    with transaction.atomic(), audit.deferred():
        run = _open_run(actor, today, version) if customer_ids is None else None
        found = tier_facts.gather(section, today, customer_ids)
        result = _apply(actor, section, version, run, found, today, ended)
        if run is not None:
            counts = dict(sorted(Counter(TierStatus.objects.values_list("tier", flat=True))
                                 .items()))
            TierRun.objects.filter(pk=run.pk).update(
                finished_at=clock.now(), customers=len(found), upgraded=result.upgraded
                + result.initial, downgraded=result.downgraded, in_grace=result.in_grace,
                manual=result.manual, counts=counts, policy_version=version)
            audit.record(actor, "rewards.tier_run", run, after={
                "month": run.month, "policy_version": version, "customers": len(found),
                "initial": result.initial, "upgraded": result.upgraded,
                "downgraded": result.downgraded, "in_grace": result.in_grace,
                "recovered": result.recovered, "manual": result.manual})
        else:
            ids = [row.customer_id for row in found]
            audit.record(actor, "rewards.tier_evaluate", object_type="rewards.tierstatus",
                         object_id=ids[0] if len(ids) == 1 else "",
                         customer_id=ids[0] if len(ids) == 1 else None,
                         after={"customers": len(ids), "changes": len(result.changes),
                                "on": today})
        if progress is not None:
            progress(len(found))
    if run is not None:
        result.run = TierRun.objects.get(pk=run.pk)
    if customer_ids is not None:
        tier_notices.send_pending(actor, [c.pk for c in result.changes])
    return result


def _open_run(actor: Actor, today: dt.date, version: int) -> TierRun:
    month = today.replace(day=1)
    run = TierRun.objects.select_for_update().filter(month=month).first()
    now = clock.now()
    if run is None:
        try:
            with transaction.atomic():
                run = TierRun.objects.create(month=month, policy_version=version,
                                             started_at=now, ran_by=actor.label[:150])
        except IntegrityError:  # another run of the month started at the same moment
            raise Conflict(_("the tier evaluation of %(month)s is being run; try again when "
                             "it is done") % {"month": month.strftime("%Y-%m")},
                           field="month") from None
    else:
        TierRun.objects.filter(pk=run.pk).update(started_at=now, finished_at=None,
                                                 ran_by=actor.label[:150])
    return run


def _apply(actor: Actor, section: Membership, version: int, run: TierRun | None,
           found: Sequence[tier_facts.CustomerFacts], today: dt.date,
           ended: frozenset[int] = frozenset()) -> EvaluationResult:
    result = EvaluationResult(run, customers=len(found))
    statuses = {s.customer_id: s for s in TierStatus.objects.select_for_update().filter(
        customer_id__in=[f.customer_id for f in found])} if len(found) < 2000 else {
        s.customer_id: s for s in TierStatus.objects.select_for_update()}
    now = clock.now()
    label = actor.label[:150]
    changes: list[TierChange] = []
    fresh: list[TierStatus] = []
    moved: list[TierStatus] = []
    standings: dict[int, tuple[str, int]] = {}
    for row in found:
        status = statuses.get(row.customer_id)
        if status is not None and status.assignment_id is not None:
            result.manual += 1
            continue
        state = (rules.TierState(status.tier, status.below_since, status.changed_on)
                 if status is not None else rules.TierState(row.tier))
        after_manual = row.customer_id in ended
        decision = rules.move(section, rules.TierState() if after_manual else state,
                              rules.qualifying(section, row.facts), today)
        outcome = decision.outcome
        action = outcome.action
        if after_manual:
            changes.append(_change(row, state.tier, outcome.tier, TierChange.Kind.MANUAL_END,
                                   decision, run, version, today, now, label))
        elif action in KIND:
            changes.append(_change(row, state.tier, outcome.tier, KIND[action], decision,
                                   run, version, today, now, label))
        if outcome.changes_tier:
            result.initial += action == "INITIAL"
            result.upgraded += action == "UPGRADE"
            result.downgraded += action == "DOWNGRADE"
        result.in_grace += action in ("GRACE", "GRACE_STARTED")
        result.recovered += action == "RECOVERED"
        if status is None:
            fresh.append(TierStatus(customer_id=row.customer_id, tier=outcome.tier, since=today,
                                    below_since=outcome.below_since, changed_on=today))
        elif after_manual or outcome.changes_tier or action in ("GRACE_STARTED", "RECOVERED"):
            if outcome.tier != status.tier:
                status.tier, status.since, status.changed_on = outcome.tier, today, today
            status.below_since = outcome.below_since
            moved.append(status)
        wanted = (outcome.tier, bonus_days(section, outcome.tier))
        if (row.tier, row.term_bonus_days) != wanted:
            standings[row.customer_id] = wanted
    reached = entitlements_reached(actor, changes, section)
    TierChange.objects.bulk_create(changes)
    TierStatus.objects.bulk_create(fresh, batch_size=2000)
    if moved:
        TierStatus.objects.bulk_update(moved, ["tier", "since", "below_since", "changed_on"],
                                       batch_size=2000)
    set_standings(actor, standings)
    issue_entitlements(actor, reached)
    tier_notices.queue(section, [c for c in changes if notify(section, c)])
    _audit(actor, run, changes)
    result.changes = changes
    return result


def _change(row: tier_facts.CustomerFacts, was: str, tier: str, kind: str,
            decision: Decision[rules.TierMove], run: TierRun | None, version: int,
            today: dt.date, now: dt.datetime, label: str) -> TierChange:
    return TierChange(
        customer_id=row.customer_id, run=run, kind=kind, from_tier=was, to_tier=tier,
        reasons=[reason.as_dict() for reason in decision.reasons],
        facts=tier_facts.snapshot(row.facts), policy_version=version, effective_on=today,
        decided_at=now, decided_by=label)


def notify(section: Membership, change: TierChange) -> bool:
    """Every change is told to the customer, except a first tier that is the entry tier."""
    return not (change.kind == TierChange.Kind.INITIAL and change.to_tier == section.entry.code)


def set_standings(actor: Actor, wanted: dict[int, tuple[str, int]]) -> None:
    """Copy the tiers (and their term bonus) to the standing rows; a customer whose bonus
    changed gets its credit terms re-applied at once."""
    if not wanted:
        return
    rows = list(Standing.objects.select_for_update().filter(pk__in=sorted(wanted))
                .order_by("pk").only("pk", "tier", "tier_term_bonus_days"))
    rebonused = []
    for standing in rows:
        tier, bonus = wanted[standing.pk]
        if standing.tier_term_bonus_days != bonus:
            rebonused.append(standing.pk)
        standing.tier, standing.tier_term_bonus_days = tier, bonus
    Standing.objects.bulk_update(rows, ["tier", "tier_term_bonus_days"], batch_size=2000)
    for pk in rebonused:
        standing = Standing.objects.select_for_update().get(pk=pk)
        scoring.reapply_terms(actor, standing, action="rewards.tier_credit_terms",
                              context={"tier": standing.tier,
                                       "term_bonus_days": standing.tier_term_bonus_days})


def entitlements_reached(actor: Actor, changes: Iterable[TierChange],
                          section: Membership) -> list[tuple[int, str, str]]:
    """The coupons each customer gets for reaching a higher tier (the tier's
    benefits.coupons_on_reaching), one idempotency key per customer, tier and day, recorded on
    the change; the evaluation then issues them (`coupon_issuing.issue_automatic`, idempotent
    by the key, so a re-run issues nothing twice)."""
    reached: list[tuple[int, str, str]] = []
    for change in changes:
        if not _moves_up(section, change):
            continue
        tier = section.tier(change.to_tier)
        assert tier is not None
        for code in tier.benefits.coupons_on_reaching:
            key = (f"tier:{change.customer_id}:{change.to_tier}:{change.effective_on:%Y%m%d}"
                   f":{code}")
            change.entitlements = [*change.entitlements, [code, key]]
            reached.append((change.customer_id, code, key))
    return reached


COUPON_RULE = "TIER_REACHED"  # the coupons section's rule kind (not a tier reason code)


def issue_entitlements(actor: Actor, reached: Iterable[tuple[int, str, str]]) -> None:
    """Issue the coupons for reaching a tier, in the caller's transaction."""
    for customer_id, code, key in reached:
        coupon_issuing.issue_automatic(actor, customer_id=customer_id, definition_code=code,
                                       rule=COUPON_RULE, key=key)


def _moves_up(section: Membership, change: TierChange) -> bool:
    if change.from_tier == change.to_tier:
        return False
    before = section.index(change.from_tier) if change.from_tier else None
    after = section.index(change.to_tier)
    return after is not None and after > 0 and (before is None or after > before)


def _audit(actor: Actor, run: TierRun | None, changes: list[TierChange]) -> None:
    if run is None or len(changes) <= PER_CUSTOMER_AUDIT:
        for change in changes:
            audit_change(actor, change)
        return
    rows = [[c.customer_id, c.from_tier, c.to_tier, c.kind] for c in changes]
    for start in range(0, len(rows), AUDIT_BATCH):
        batch = rows[start:start + AUDIT_BATCH]
        audit.record(actor, "rewards.tier_change", run,
                     object_id=f"{run.pk}:{start // AUDIT_BATCH + 1}",
                     after={"month": run.month, "count": len(batch), "rows": batch})


def audit_change(actor: Actor, change: TierChange, reason: str = "") -> None:
    audit.record(actor, "rewards.tier_change", change, customer_id=change.customer_id,
                 after={"kind": change.kind, "from": change.from_tier, "to": change.to_tier,
                        "reasons": [r["code"] for r in change.reasons],
                        "effective_on": change.effective_on}, reason=reason)


def evaluate_if_due(actor: Actor, today: dt.date | None = None) -> EvaluationResult | None:
    """The daily job: run this month's evaluation on the policy's evaluation_day (or the first
    day after it the job runs); nothing otherwise."""
    today = today or clock.today()
    _version, policy = policy_in_force()
    if today.day < policy.membership.evaluation_day:
        return None
    if TierRun.objects.filter(month=today.replace(day=1), finished_at__isnull=False).exists():
        return None
    return evaluate(actor, today=today)
