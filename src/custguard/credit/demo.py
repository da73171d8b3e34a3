"""A deterministic demo credit history: 12–18 months of orders, invoices, credit notes, payments
and bounced payments for the demo customers, ending today, with realistic payment behaviour
(most pay on time or a little late, some chronically late, a few with invoices more than 90
days overdue), seasonal order volumes and group members that behave like their parent; then a
few dozen answers of the order gate (reservations, held orders left in the queue, prepayment
and denials).

`plan_credit_history` is pure (no database, no clock): the same customers, seed and day always
give the same plan. `build_credit_demo` posts the plan through the ledger services, month by
month, in one `posting()` batch: after each past month the customers known by then are scored
as of the month's last day (set-based), so every customer has a real score history; each
customer is refreshed and scored as of today once, when the batch ends.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum

from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.credit.models import CreditOverride, CreditScore, GateCheck, Reservation
from custguard.credit.services import gate, overrides, reviews, scoring
from custguard.customers.models import (
    Customer,
    CustomerGroup,
    CustomerKind,
    CustomerStatus,
    GroupStanding,
    Standing,
)
from custguard.ledger import services as ledger
from custguard.ledger.models import Invoice, Order, Payment
from custguard.policy.codes import GradeCode

SOURCE = "erp"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HISTORY_MONTHS = 18  # calendar months, the current one included

# --- payment behaviour ------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How a customer pays: the share of invoices paid late and by how many days, how often a
    payment bounces, an order is cancelled or an invoice is split into two payments."""

    code: str
    weight: int
    late_share: float
    late_days: tuple[int, int]
    early_days: int  # on-time payments arrive up to this many days before the due date
    bounce_share: float = 0.0
    cancel_share: float = 0.02
    split_share: float = 0.0
    unpaid_invoices: tuple[int, int] = (0, 0)  # invoices never paid (disputed), 95–220 days old


PROFILES: dict[str, Profile] = {p.code: p for p in (
    Profile("exemplary", 20, 0.0, (0, 0), 10, cancel_share=0.01),
    Profile("reliable", 28, 0.06, (1, 6), 7),
    Profile("fair", 18, 0.16, (2, 20), 5, bounce_share=0.01),
    Profile("slow", 13, 0.38, (4, 32), 3, bounce_share=0.02, cancel_share=0.04,
            split_share=0.15),
    Profile("chronic", 9, 0.7, (12, 60), 0, bounce_share=0.04, cancel_share=0.07,
            split_share=0.35),
    Profile("delinquent", 5, 0.75, (20, 80), 0, bounce_share=0.05, cancel_share=0.08,
            split_share=0.3, unpaid_invoices=(1, 3)),
    Profile("newcomer", 7, 0.12, (1, 15), 5),  # started 3–9 months ago
)}
# Group parents and members are going concerns: they get the better profiles.
GROUP_PROFILES = {"exemplary": 30, "reliable": 40, "fair": 20, "slow": 10}

# Order volume by calendar month: stocking up before the Spring Festival and at the year end,
# a quiet February, the mid-year (618) and autumn peaks.
SEASON = {1: 1.25, 2: 0.55, 3: 0.95, 4: 1.0, 5: 1.0, 6: 1.12, 7: 0.9, 8: 0.88, 9: 1.1,
          10: 0.95, 11: 1.18, 12: 1.3}
# Typical order (CNY) by scale band, and orders per month by kind.
ORDER_SIZE = {"micro": 9000, "small": 32000, "medium": 120000, "large": 420000}
KIND_SIZE = {CustomerKind.ENTERPRISE: 1.0, CustomerKind.DEALER: 0.75,
             CustomerKind.INDIVIDUAL: 0.45}
ORDERS_PER_MONTH = {CustomerKind.ENTERPRISE: 1.0, CustomerKind.DEALER: 1.4,
                    CustomerKind.INDIVIDUAL: 0.7}
CANCEL_REASONS = ("客户取消订单", "交期无法满足，客户撤单", "规格变更，重新下单")
BOUNCE_REASONS = ("银行承兑汇票退票", "付款账户余额不足退回", "收款账户信息有误退回")


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCustomer:
    """What the plan needs to know about a demo customer."""

    index: int
    code: str
    kind: str
    scale_band: str
    status: str
    group: int | None = None
    is_parent: bool = False


# Facts of one day are posted in this order.
RANK = {"order": 0, "cancel": 1, "invoice": 2, "credit_note": 3, "payment": 4, "reversal": 5}


@dataclass(frozen=True)
class Event:
    """One fact to post. `ref` is the external id of the fact it refers to: the order of an
    invoice or cancellation, the invoice of a credit note or payment, the payment a reversal
    undoes."""

    day: dt.date
    kind: str
    customer: int  # DemoCustomer.index
    external_id: str
    amount: Decimal
    ref: str = ""
    due_on: dt.date | None = None
    number: str = ""
    reason: str = ""

    @property
    def sort_key(self) -> tuple[dt.date, int, int, str]:
        return (self.day, RANK[self.kind], self.customer, self.external_id)


@dataclass(frozen=True)
class CustomerHistory:
    customer: int
    profile: str
    terms_days: int
    typical_order: Decimal
    events: tuple[Event, ...]


@dataclass(frozen=True)
class CreditPlan:
    start: dt.date
    today: dt.date
    histories: tuple[CustomerHistory, ...]

    def events(self) -> list[Event]:
        return sorted((e for h in self.histories for e in h.events), key=lambda e: e.sort_key)

    def profiles(self) -> dict[str, int]:
        return dict(Counter(h.profile for h in self.histories if h.events).most_common())


def month_start(day: dt.date, months_back: int) -> dt.date:
    total = day.year * 12 + day.month - 1 - months_back
    return dt.date(total // 12, total % 12 + 1, 1)


def month_end(first: dt.date) -> dt.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _money(value: float) -> Decimal:
    return Decimal(max(1, round(value * 100))).scaleb(-2).quantize(CENT)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: small means only, deterministic for a seeded generator."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _terms(customer: DemoCustomer) -> int:
    if customer.kind == CustomerKind.INDIVIDUAL:
        return 15
    if customer.kind == CustomerKind.DEALER:
        return 30
    return {"large": 60, "medium": 45}.get(customer.scale_band, 30)


def _deck(rng: random.Random, count: int) -> list[str]:
    """Profiles for `count` customers in the weights' proportions (largest remainder), every
    profile at least once when there are enough customers, shuffled."""
    weights = {code: p.weight for code, p in PROFILES.items()}
    total = sum(weights.values())
    shares = {code: count * w / total for code, w in weights.items()}
    counts = {code: int(share) for code, share in shares.items()}
    if count >= 2 * len(weights):
        counts = {code: max(1, n) for code, n in counts.items()}
    rest = sorted(weights, key=lambda code: (-(shares[code] - int(shares[code])), code))
    i = 0
    while sum(counts.values()) < count:
        counts[rest[i % len(rest)]] += 1
        i += 1
    while sum(counts.values()) > count:  # the minimum of one each overshot: trim the largest
        largest = max(counts, key=lambda code: (counts[code], code))
        counts[largest] -= 1
    deck = [code for code in weights for _ in range(counts[code])]
    rng.shuffle(deck)
    return deck


def _assign_profiles(rng: random.Random, customers: Sequence[DemoCustomer]) -> dict[int, str]:
    with_history = [c for c in customers if c.status != CustomerStatus.PROSPECT]
    grouped = [c for c in with_history if c.group is not None]
    single = [c for c in with_history if c.group is None]
    profiles = dict(zip([c.index for c in single], _deck(rng, len(single)), strict=True))
    for customer in grouped:
        profiles[customer.index] = rng.choices(list(GROUP_PROFILES),
                                               weights=list(GROUP_PROFILES.values()))[0]
    return profiles


def plan_credit_history(customers: Sequence[DemoCustomer], *, seed: int,
                        today: dt.date) -> CreditPlan:
    """The credit history of the demo customers as plain data. Pure: no database, no clock."""
    rng = random.Random(f"credit-demo:{seed}")
    profiles = _assign_profiles(rng, customers)
    start = month_start(today, HISTORY_MONTHS - 1)
    histories = []
    for customer in customers:
        profile = profiles.get(customer.index)
        if profile is None:  # a prospect: no history yet
            histories.append(CustomerHistory(customer.index, "", _terms(customer), ZERO, ()))
            continue
        histories.append(_history(random.Random(f"credit-demo:{seed}:{customer.index}"),
                                  customer, PROFILES[profile], start, today))
    return CreditPlan(start=start, today=today, histories=tuple(histories))


@dataclass
class _Writer:
    """Collects one customer's events and numbers its documents."""

    customer: DemoCustomer
    today: dt.date
    events: list[Event] = field(default_factory=list)
    orders: int = 0
    payments: int = 0

    def add(self, event: Event) -> bool:
        if event.day > self.today:
            return False
        self.events.append(event)
        return True

    def payment(self, day: dt.date, invoice: str, amount: Decimal) -> str | None:
        self.payments += 1
        external_id = f"RC-{self.customer.code}-{self.payments:04d}"
        number = f"SK{day:%Y%m%d}{self.payments:04d}"
        if self.add(Event(day, "payment", self.customer.index, external_id, amount, ref=invoice,
                          number=number)):
            return external_id
        return None


def _history(rng: random.Random, customer: DemoCustomer, profile: Profile, start: dt.date,
             today: dt.date) -> CustomerHistory:
    months = HISTORY_MONTHS
    # Newcomers started 3–9 months ago; everyone else 12–18 months ago.
    first = months - rng.randint(3, 9) if profile.code == "newcomer" else rng.randint(0, 5)
    last = months - 1
    if customer.status == CustomerStatus.DORMANT:
        last = months - 1 - rng.randint(5, 8)
    elif customer.status == CustomerStatus.CLOSED:
        last = months - 1 - rng.randint(9, 12)
    first = min(first, last)
    terms = _terms(customer)
    size = ORDER_SIZE.get(customer.scale_band, 30000) * KIND_SIZE.get(customer.kind, 1.0)
    size *= rng.uniform(0.6, 1.5)
    rate = ORDERS_PER_MONTH.get(customer.kind, 1.0) * rng.uniform(0.7, 1.3)
    writer = _Writer(customer, today)
    invoices: list[tuple[str, dt.date, Decimal]] = []  # (external id, issued, still payable)
    for offset in range(first, last + 1):
        first_day = month_start(start, -offset)
        days = calendar.monthrange(first_day.year, first_day.month)[1]
        season = SEASON[first_day.month]
        count = max(1 if offset == first else 0, _poisson(rng, rate * season ** 0.5))
        for day in sorted(first_day + dt.timedelta(days=rng.randrange(days))
                          for _ in range(count)):
            if day > today:
                continue
            writer.orders += 1
            n = writer.orders
            order_id = f"SO-{customer.code}-{n:04d}"
            amount = _money(size * season * rng.lognormvariate(0, 0.35))
            writer.add(Event(day, "order", customer.index, order_id, amount,
                             number=f"XS{day:%Y%m}{n:04d}"))
            if rng.random() < profile.cancel_share:
                writer.add(Event(day + dt.timedelta(days=rng.randint(1, 5)), "cancel",
                                 customer.index, f"{order_id}-X", amount, ref=order_id,
                                 reason=rng.choice(CANCEL_REASONS)))
                continue
            issued = day + dt.timedelta(days=rng.randint(0, 6))
            invoice_id = f"INV-{customer.code}-{n:04d}"
            due = issued + dt.timedelta(days=terms)
            if not writer.add(Event(issued, "invoice", customer.index, invoice_id, amount,
                                    ref=order_id, due_on=due,
                                    number=f"{rng.randrange(10**7, 10**8)}")):
                continue
            payable = amount
            if rng.random() < 0.04:  # returned goods or a price adjustment
                credit = _money(float(amount) * rng.uniform(0.03, 0.12))
                if writer.add(Event(issued + dt.timedelta(days=rng.randint(1, 4)),
                                    "credit_note", customer.index, f"CN-{customer.code}-{n:04d}",
                                    credit, ref=invoice_id, number=f"HC{issued:%Y%m}{n:04d}")):
                    payable -= credit
            invoices.append((invoice_id, issued, payable))
    unpaid = _unpaid(rng, profile, invoices, today)
    for invoice_id, issued, payable in invoices:
        if invoice_id in unpaid:
            continue
        _pay(rng, writer, profile, invoice_id, issued + dt.timedelta(days=terms), issued,
             payable, ended=customer.status in (CustomerStatus.DORMANT, CustomerStatus.CLOSED))
    return CustomerHistory(customer=customer.index, profile=profile.code, terms_days=terms,
                           typical_order=_money(size), events=tuple(writer.events))


def _unpaid(rng: random.Random, profile: Profile, invoices: list[tuple[str, dt.date, Decimal]],
            today: dt.date) -> set[str]:
    """A delinquent customer's disputed invoices: issued long enough ago to be > 90 days
    overdue today."""
    low, high = profile.unpaid_invoices
    if not high:
        return set()
    old = [i for i in invoices if 160 <= (today - i[1]).days <= 280]
    return {i[0] for i in rng.sample(old, min(len(old), rng.randint(low, high)))}


def _pay(rng: random.Random, writer: _Writer, profile: Profile, invoice_id: str, due: dt.date,
         issued: dt.date, payable: Decimal, *, ended: bool) -> None:
    if rng.random() < profile.late_share:
        delay = rng.randint(*profile.late_days)
    else:
        delay = -rng.randint(0, profile.early_days)
    if ended:  # a dormant or closed customer settled everything it owed
        delay = min(delay, 20)
    paid_on = max(issued + dt.timedelta(days=1), due + dt.timedelta(days=delay))
    if rng.random() < profile.split_share and payable > Decimal("2000"):
        first = (payable * Decimal(rng.choice(("0.4", "0.5", "0.6")))).quantize(
            CENT, rounding=ROUND_HALF_UP)
        early = max(issued + dt.timedelta(days=1), paid_on - dt.timedelta(days=rng.randint(10, 25)))
        writer.payment(early, invoice_id, first)
        payable -= first
    paid = writer.payment(paid_on, invoice_id, payable)
    if paid is None or rng.random() >= profile.bounce_share:
        return
    bounced = paid_on + dt.timedelta(days=rng.randint(3, 7))
    if writer.add(Event(bounced, "reversal", writer.customer.index, f"{paid}-R", payable,
                        ref=paid, reason=rng.choice(BOUNCE_REASONS))):
        writer.payment(bounced + dt.timedelta(days=rng.randint(6, 25)), invoice_id, payable)


# --- writing the plan -------------------------------------------------------------------------


def _post(actor: Actor, customer: Customer, event: Event) -> None:
    if event.kind == "order":
        ledger.post_order(actor, customer, source=SOURCE, external_id=event.external_id,
                          ordered_on=event.day, amount=event.amount, number=event.number)
    elif event.kind == "cancel":
        ledger.cancel_order(actor, customer, source=SOURCE, external_id=event.external_id,
                            order_source=SOURCE, order_external_id=event.ref,
                            cancelled_on=event.day, reason=event.reason)
    elif event.kind == "invoice":
        assert event.due_on is not None
        ledger.post_invoice(actor, customer, source=SOURCE, external_id=event.external_id,
                            issued_on=event.day, due_on=event.due_on, amount=event.amount,
                            number=event.number, order_source=SOURCE,
                            order_external_id=event.ref)
    elif event.kind == "credit_note":
        ledger.post_credit_note(actor, customer, source=SOURCE, external_id=event.external_id,
                                issued_on=event.day, amount=event.amount,
                                corrects_source=SOURCE, corrects_external_id=event.ref,
                                number=event.number)
    elif event.kind == "payment":
        ledger.post_payment(actor, customer, source=SOURCE, external_id=event.external_id,
                            received_on=event.day, amount=event.amount, number=event.number,
                            allocations=[ledger.AllocationRequest(SOURCE, event.ref,
                                                                  event.amount)])
    elif event.kind == "reversal":
        ledger.reverse_payment(actor, customer, source=SOURCE, external_id=event.external_id,
                               payment_source=SOURCE, payment_external_id=event.ref,
                               reversed_on=event.day, reason=event.reason)
    else:  # pragma: no cover - the plan only makes the kinds above
        raise ValueError(f"unknown event kind {event.kind}")


def demo_customers(customers: Sequence[Customer]) -> list[DemoCustomer]:
    parents = set(Customer.objects.filter(parent_of_group__isnull=False,
                                          pk__in=[c.pk for c in customers])
                  .values_list("pk", flat=True))
    return [DemoCustomer(index=i, code=c.code, kind=c.kind, scale_band=c.scale_band,
                         status=c.status, group=c.group_id, is_parent=c.pk in parents)
            for i, c in enumerate(customers)]


def write_history(actor: Actor, customers: Sequence[Customer], plan: CreditPlan,
                  progress: Callable[[int], None] | None = None) -> int:
    """Post the plan month by month in one batch; after each month that has ended, score the
    customers that had history by then as of its last day. Returns the facts posted."""
    by_index = dict(enumerate(customers))
    first_day: dict[int, dt.date] = {}
    for history in plan.histories:
        if history.events:
            first_day[history.customer] = min(e.day for e in history.events)
    by_month: dict[dt.date, list[Event]] = defaultdict(list)
    for event in plan.events():
        by_month[event.day.replace(day=1)].append(event)
    posted = 0
    with ledger.posting(actor):
        for first in sorted(by_month):
            for event in by_month[first]:
                _post(actor, by_index[event.customer], event)
                posted += 1
            if progress:
                progress(len(by_month[first]))
            last = month_end(first)
            if last < plan.today:
                known = sorted(by_index[i].pk for i, day in first_day.items() if day <= last)
                scoring.rescore_customers(actor, known, trigger=CreditScore.Trigger.BATCH,
                                          as_of=last)
    return posted


# --- the order gate ---------------------------------------------------------------------------


@dataclass
class GateDemo:
    """What the gate answered today, and what became of the held orders and reservations."""

    answers: Counter[str] = field(default_factory=Counter)
    held_waiting: int = 0
    approved: int = 0
    rejected: int = 0
    invoiced: int = 0
    cancelled: int = 0


def _round_order(value: Decimal) -> Decimal:
    step = Decimal(100) if value < 100000 else Decimal(1000)
    return max(step, (value / step).to_integral_value() * step).quantize(CENT)


def run_gate(actor: Actor, customers: Sequence[Customer], plan: CreditPlan, *, seed: int,
             credit_manager: User | None) -> GateDemo:
    """The ERP asks the gate about today's orders: most are allowed and reserve credit (some
    are then invoiced, a few cancelled), some exceed the limit and wait on credit hold (one
    approved, one rejected, the rest left in the queue), some need prepayment, a few are
    denied for invoices more than 90 days overdue, and a few are questions without reserving.
    """
    rng = random.Random(f"credit-demo:{seed}:gate")
    today = clock.today()
    typical = {h.customer: h.typical_order for h in plan.histories}
    standings = {s.pk: s for s in Standing.objects.filter(pk__in=[c.pk for c in customers])}
    active = [(i, c) for i, c in enumerate(customers) if c.status == CustomerStatus.ACTIVE
              and typical[i] > 0]
    denied, prepay, room, tight = [], [], [], []
    for index, customer in active:
        standing = standings[customer.pk]
        if standing.days_past_due(today) > 90:
            denied.append((index, customer))
        elif standing.prepay_only or standing.credit_limit <= 0:
            prepay.append((index, customer))
        elif standing.available > typical[index] * 2:
            room.append((index, customer))
        elif standing.available > 0:
            tight.append((index, customer))
    rng.shuffle(room)
    rng.shuffle(tight)
    demo = GateDemo()
    asks: list[tuple[int, Customer, Decimal, bool]] = []
    # A member of the group with the least room left asks for more than the group has.
    groups = {g.pk: g for g in GroupStanding.objects.filter(
        has_limit=True, pk__in={c.group_id for c in customers if c.group_id})}
    members = [(i, c) for i, c in room if c.group_id in groups]
    if members:
        index, member = min(members, key=lambda item: (groups[item[1].group_id].available,
                                                       item[1].pk))
        group_row = groups[member.group_id]
        asks.append((index, member, _round_order(max(group_row.available, ZERO)
                                                 + group_row.credit_limit * Decimal("0.1")),
                     True))
        room = [item for item in room if item[1].pk != member.pk]
    over = (tight + room[24:])[:7]
    allow = room[:24]
    for index, customer in allow[:18]:
        asks.append((index, customer, _round_order(typical[index] * Decimal(
            rng.choice(("0.6", "0.8", "1.0", "1.3")))), True))
    for index, customer in allow[18:]:  # a question before quoting: no reservation
        asks.append((index, customer, _round_order(typical[index]), False))
    for index, customer in over:
        standing = standings[customer.pk]
        asks.append((index, customer, _round_order(standing.available
                                                   + standing.credit_limit * Decimal("0.25")),
                     True))
    closed = [(i, c) for i, c in enumerate(customers) if c.status == CustomerStatus.CLOSED
              and typical[i] > 0]
    for index, customer in prepay[:5] + denied[:4] + closed[:1]:
        asks.append((index, customer, _round_order(typical[index]), True))
    reserved: list[tuple[Customer, Reservation]] = []
    held: list[Reservation] = []
    for number, (_index, customer, amount, reserve) in enumerate(asks, start=1):
        answer = gate.check(actor, customer, amount, reserve=reserve, source=SOURCE,
                            external_id=f"SO-{customer.code}-G{number:02d}" if reserve else "")
        demo.answers[answer.check.outcome] += 1
        if answer.reservation is None:
            continue
        if answer.reservation.status == Reservation.Status.PENDING:
            reserved.append((customer, answer.reservation))
        elif answer.reservation.status == Reservation.Status.HELD:
            held.append(answer.reservation)
    decider = Actor.for_user(credit_manager) if credit_manager is not None else actor
    if len(held) >= 3:  # the first (over the group's limit) stays in the queue
        approved = gate.approve_hold(decider, held[1],
                                     reason="长期合作客户，旺季备货，已电话确认回款计划")
        reserved.append((approved.customer, approved))
        gate.reject_hold(decider, held[2], reason="逾期款项未结清前不再放货")
        demo.approved, demo.rejected = 1, 1
        held = [held[0], *held[3:]]
    demo.held_waiting = len(held)
    # The ERP accepts the reserved orders; a third are invoiced today, one or two cancelled.
    with ledger.posting(actor):
        for position, (customer, reservation) in enumerate(reserved):
            ledger.post_order(actor, customer, source=SOURCE,
                              external_id=reservation.external_id, ordered_on=today,
                              amount=reservation.amount,
                              number=f"XS{today:%Y%m}{reservation.external_id[-3:]}")
            if position % 3 == 0:
                ledger.post_invoice(
                    actor, customer, source=SOURCE,
                    external_id=reservation.external_id.replace("SO-", "INV-"),
                    issued_on=today, due_on=today + dt.timedelta(
                        days=standings[customer.pk].payment_terms_days or 30),
                    amount=reservation.amount, order_source=SOURCE,
                    order_external_id=reservation.external_id,
                    number=f"{rng.randrange(10**7, 10**8)}")
                demo.invoiced += 1
            elif position % 7 == 5 and demo.cancelled < 2:
                ledger.cancel_order(actor, customer, source=SOURCE,
                                    external_id=f"{reservation.external_id}-X",
                                    order_source=SOURCE,
                                    order_external_id=reservation.external_id,
                                    cancelled_on=today, reason=CANCEL_REASONS[0])
                demo.cancelled += 1
    return demo


# --- overrides and reviews --------------------------------------------------------------------


@dataclass
class OverrideDemo:
    """The overrides' statuses, and how many groups got a unified limit."""

    statuses: Counter[str] = field(default_factory=Counter)
    group_limits: int = 0


def _round_limit(value: Decimal) -> Decimal:
    step = Decimal(10000)
    return max(step, (value / step).to_integral_value() * step).quantize(CENT)


def build_overrides(customers: Sequence[Customer], *, seed: int, requester: User,
                    approver: User | None) -> OverrideDemo:
    """The credit manager sets a unified limit for every demo group (above the policy's
    threshold a second person approves; one waits) and a handful of customer overrides: a
    raised limit approved, one awaiting approval, one rejected, longer terms for a strategic
    customer, and a cut limit for a chronic late payer."""
    rng = random.Random(f"credit-demo:{seed}:overrides")
    today = clock.today()
    ask = Actor.for_user(requester)
    decide = Actor.for_user(approver) if approver is not None else None
    demo = OverrideDemo()
    ids = [c.pk for c in customers]
    group_ids = sorted({c.group_id for c in customers if c.group_id is not None})
    groups = CustomerGroup.objects.filter(pk__in=group_ids).order_by("pk")
    member_sums = {row["group_id"]: row for row in Customer.objects.filter(
        group_id__in=group_ids).values("group_id").annotate(
        limit=Sum("standing__credit_limit"),
        exposure=Sum("standing__posted") + Sum("standing__reserved")).order_by()}
    tight = rng.choice(group_ids) if group_ids else None
    for number, group in enumerate(groups):
        sums = member_sums.get(group.pk, {"limit": ZERO, "exposure": ZERO})
        exposure = _total(sums["exposure"])
        if group.pk == tight:
            limit = _round_limit(exposure * Decimal("1.08") + Decimal(20000))
        else:
            limit = _round_limit(max(_total(sums["limit"]) * Decimal("0.7"),
                                     exposure * Decimal("1.3") + Decimal(50000)))
        override = overrides.request_override(
            ask, group=group, credit_limit=limit,
            reason="集团统一授信：按成员额度合计的七成核定，成员共享",
            expires_on=today + dt.timedelta(days=rng.choice((180, 270, 360))))
        if override.status == CreditOverride.Status.PENDING and decide is not None and (
                number < len(groups) - 1 or len(groups) == 1):
            override = overrides.approve_override(decide, override, note="同意，按季度复核")
        demo.statuses[override.status] += 1
        demo.group_limits += override.status == CreditOverride.Status.ACTIVE
    standings = {s.pk: s for s in Standing.objects.filter(pk__in=ids)}
    active = [c for c in customers if c.status == CustomerStatus.ACTIVE and c.group_id is None
              and standings[c.pk].grade]
    good = [c for c in active if standings[c.pk].grade in ("AAA", "AA", "A")]
    weak = [c for c in active if standings[c.pk].grade in ("BB", "B")
            and standings[c.pk].days_past_due(today) <= 90]
    rng.shuffle(good)
    rng.shuffle(weak)
    expiry = today + dt.timedelta(days=180)
    plans: list[tuple[Customer, dict[str, object], str, str]] = []
    for customer, action in zip(good, ("approve", "wait"), strict=False):
        plans.append((customer, {"credit_limit": _round_limit(
            max(standings[customer.pk].credit_limit * Decimal("1.5"), Decimal(600000)))},
            "旺季备货需求大，历史回款良好，申请临时提高额度", action))
    longer = [c for c in good[2:] if standings[c.pk].payment_terms_days <= 60]
    if longer:  # within the longest terms a grade earns: in force without a second person
        plans.append((longer[0], {"payment_terms_days": standings[longer[0].pk]
                                  .payment_terms_days + 30},
                      "战略客户年度框架合同约定账期，延长30天", "terms"))
    for customer, action in zip(weak, ("cut", "reject"), strict=False):
        standing = standings[customer.pk]
        if action == "cut":
            plans.append((customer, {"credit_limit": _round_limit(
                min(standing.credit_limit / 2, Decimal(200000)))},
                "逾期频繁，临时压降额度，回款正常后恢复", action))
        else:
            plans.append((customer, {"credit_limit": Decimal(800000)},
                          "客户经理申请提高额度以承接新项目", action))
    for customer, values, reason, action in plans:
        override = overrides.request_override(ask, customer=customer, reason=reason,
                                              expires_on=expiry, **values)  # type: ignore[arg-type]
        if override.status == CreditOverride.Status.PENDING and decide is not None:
            if action == "approve":
                override = overrides.approve_override(decide, override,
                                                      note="回款记录良好，同意")
            elif action == "reject":
                override = overrides.reject_override(decide, override,
                                                     note="近期多次逾期，暂不提高额度")
        demo.statuses[override.status] += 1
    return demo


REVIEW_NOTES = {
    "good": ("年度信用复核：回款及时，经营稳定，维持现有额度。",
             "复核：订货量稳定增长，付款记录良好。"),
    "watch": ("复核：偶有逾期，已提醒客户经理跟进回款节奏。",
              "复核：付款略有延迟，维持额度并加强关注。"),
    "weak": ("复核：逾期较多，已与客户财务沟通还款计划，严格控制发货。",),
    "new": ("首次评估：暂无交易记录，先款后货，待建立付款记录后再评。",),
}


def build_reviews(customers: Sequence[Customer], *, seed: int, reviewer: User) -> int:
    """The credit manager has reviewed most customers; the riskiest half of the weak grades,
    some prospects and a few others are still due, so the review queue has real work."""
    rng = random.Random(f"credit-demo:{seed}:reviews")
    actor = Actor.for_user(reviewer)
    standings = {s.pk: s for s in Standing.objects.filter(pk__in=[c.pk for c in customers])}
    done = 0
    for customer in customers:
        if customer.status == CustomerStatus.CLOSED:
            continue
        grade = standings[customer.pk].grade
        if customer.status == CustomerStatus.PROSPECT:
            kind, chance = "new", 0.5
        elif grade in ("AAA", "AA", "A"):
            kind, chance = "good", 0.92
        elif grade in ("BBB", "BB"):
            kind, chance = "watch", 0.8
        else:
            kind, chance = "weak", 0.5
        if rng.random() < chance:
            reviews.record_review(actor, customer, note=rng.choice(REVIEW_NOTES[kind]))
            done += 1
    return done


# --- the builder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditDemoSummary:
    months: int
    facts: dict[str, int]
    profiles: dict[str, int]
    scores: int
    grades: list[tuple[str, int]]
    gate: GateDemo
    posted: Decimal
    reserved: Decimal
    overdue: Decimal
    over_90: int
    overrides: OverrideDemo | None  # None: no credit manager to request them
    reviews: int

    def _overrides(self) -> str:
        if self.overrides is None:
            return "none (no credit manager user)"
        if not self.overrides.statuses:
            return "none"
        return (" / ".join(f"{CreditOverride.Status(k).label} {n}"
                           for k, n in self.overrides.statuses.most_common())
                + f" ({self.overrides.group_limits} group limits)")

    def rows(self) -> list[tuple[str, str]]:
        facts = self.facts
        answers = " / ".join(f"{GateCheck.Outcome(k).label} {n}"
                             for k, n in self.gate.answers.most_common())
        return [
            ("credit history", f"{self.months} months: {facts['orders']} orders "
             f"({facts['cancellations']} cancelled), {facts['invoices']} invoices, "
             f"{facts['credit_notes']} credit notes, {facts['payments']} payments "
             f"({facts['reversals']} bounced)"),
            ("payment behaviour", " / ".join(f"{k} {n}" for k, n in self.profiles.items())),
            ("credit scores", f"{self.scores} score records"),
            ("grades", " / ".join(f"{g or '—'} {n}" for g, n in self.grades)),
            ("receivables", f"{self.posted:,.2f} posted, {self.overdue:,.2f} overdue "
             f"({self.over_90} customers > 90 days)"),
            ("gate answers", f"{sum(self.gate.answers.values())} ({answers})"),
            ("orders on credit hold", f"{self.gate.held_waiting} waiting, "
             f"{self.gate.approved} approved, {self.gate.rejected} rejected"),
            ("open orders reserved", f"{self.reserved:,.2f} ({self.gate.invoiced} invoiced "
             f"today, {self.gate.cancelled} cancelled)"),
            ("credit overrides", self._overrides()),
            ("credit reviews", f"{self.reviews} recorded"),
        ]


def _total(value: object) -> Decimal:
    amount = Decimal(str(value if value is not None else ZERO)).quantize(CENT)
    return amount if amount != 0 else ZERO


def build_credit_demo(*, seed: int, actor: Actor, customers: Sequence[Customer],
                      users: dict[str, User],
                      progress: Callable[[int], None] | None = None,
                      plan: CreditPlan | None = None) -> CreditDemoSummary:
    """Write the credit history of `customers` (in the order the registry demo created them),
    score them, and ask the gate about today's orders."""
    customers = list(customers)
    today = clock.today()
    plan = plan or plan_credit_history(demo_customers(customers), seed=seed, today=today)
    ids = [c.pk for c in customers]
    write_history(actor, customers, plan, progress)
    unscored = [c.pk for i, c in enumerate(customers) if not plan.histories[i].events]
    if unscored:
        scoring.rescore_customers(actor, unscored, trigger=CreditScore.Trigger.BATCH)
    manager = users.get("credit_manager")
    override_demo = None
    if manager is not None:
        override_demo = build_overrides(customers, seed=seed, requester=manager,
                                        approver=users.get("admin"))
    demo = run_gate(actor, customers, plan, seed=seed, credit_manager=manager)
    reviewed = build_reviews(customers, seed=seed, reviewer=manager) if manager else 0
    standing = Standing.objects.filter(pk__in=ids)
    totals = standing.aggregate(posted=Sum("posted"), reserved=Sum("reserved"),
                                overdue=Sum("overdue_amount"),
                                over_90=Count("pk", filter=Q(
                                    oldest_open_due_on__lt=today - dt.timedelta(days=90))))
    grades = dict(standing.values_list("grade").annotate(n=Count("pk")).order_by())
    order = [grade.value for grade in GradeCode]  # best first
    return CreditDemoSummary(
        months=HISTORY_MONTHS,
        facts={
            "orders": Order.objects.filter(customer_id__in=ids,
                                           kind=Order.Kind.ORDER).count(),
            "cancellations": Order.objects.filter(customer_id__in=ids,
                                                  kind=Order.Kind.CANCELLATION).count(),
            "invoices": Invoice.objects.filter(customer_id__in=ids,
                                               kind=Invoice.Kind.INVOICE).count(),
            "credit_notes": Invoice.objects.filter(customer_id__in=ids,
                                                   kind=Invoice.Kind.CREDIT_NOTE).count(),
            "payments": Payment.objects.filter(customer_id__in=ids,
                                               kind=Payment.Kind.PAYMENT).count(),
            "reversals": Payment.objects.filter(customer_id__in=ids,
                                                kind=Payment.Kind.REVERSAL).count(),
        },
        profiles=plan.profiles(),
        scores=CreditScore.objects.filter(customer_id__in=ids).count(),
        grades=sorted(grades.items(), key=lambda item: (
            order.index(item[0]) if item[0] in order else len(order), item[0])),
        gate=demo,
        posted=_total(totals["posted"]),
        reserved=_total(totals["reserved"]),
        overdue=_total(totals["overdue"]),
        over_90=totals["over_90"],
        overrides=override_demo,
        reviews=reviewed,
    )
