"""A deterministic demo of the conduct capability: violation cases at every stage of their
lives for the demo's customers, written through the conduct services by the demo's people.

Each *story* is one customer's conduct history told as a generator: it yields the moment of
its next step and, when resumed, takes that step (report, investigate, confirm, approve,
respond, rectify, lift, appeal, decide, settle a fine, blacklist, pay an installment). All
stories run together in time order under a frozen clock (`core.clock.frozen_at`), with the
daily jobs (penalties completed and blacklist entries expired when their period is over)
running each night in between — so every record carries the moments it would have in real
life, periods are realistic, and the audit entries are appended in time order.

The stories cover every stage: a case just reported, one under investigation, one dismissed;
penalties proposed, rejected, in force, completed, lifted early and overturned; notices
answered and not; rectifications done, due and overdue; fines due, overdue and paid (one set by
a contract clause); a blacklist proposal waiting for approval, an active entry, and a lifted
one with a recovery plan half paid; appeals filed (one overdue), under review, upheld,
overturned, reduced and withdrawn. Further customers get a confirmed violation or two over the
last year, so the conduct overview has a history to chart.

The same customers, seed and day always give the same records, except what the services make
random or time-stamped on purpose (notice references, the notices' PDF files).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db.models import Count, Q, Sum
from django.utils import timezone

from custguard.conduct.models import (
    Appeal,
    BlacklistEntry,
    ContractClause,
    Fine,
    Notice,
    Penalty,
    RecoveryInstallment,
    ViolationCase,
)
from custguard.conduct.services import (
    appeals,
    blacklist,
    cases,
    clauses,
    fines,
    notices,
    penalties,
)
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.services import policies
from custguard.credit.models import CreditScore
from custguard.credit.services import scoring
from custguard.customers.models import Customer, CustomerStatus, Standing

Story = Iterator[dt.datetime]
HISTORY_DAYS = 365  # the background violations occurred within the last year
POLICY_LEAD_DAYS = 400  # a policy must be in force this long before today for the history

# --- what people write ------------------------------------------------------------------------

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "LATE_PAYMENT": (
        "当月货款逾期未付，经客户经理三次电话催收后才到账",
        "到期货款拖延付款，财务多次发函催收",
    ),
    "LATE_RECONCILIATION": (
        "季度对账单发出后超过15个工作日未签字确认回传",
        "送货签收单据未按约定在5个工作日内回传",
    ),
    "UNJUSTIFIED_REJECTION": (
        "货物送达后以“包装破损”为由拒收，现场核查外包装完好，物流签收照片齐全",
    ),
    "CROSS_REGION_SALES": (
        "在授权区域以外的市场发现该客户渠道编码的产品，批号与其进货记录一致",
        "经销区域外的电商店铺销售该客户进货批次产品，物流单据显示由其仓库发出",
    ),
    "PRICE_DISRUPTION": (
        "在电商平台以低于指导价12%的价格销售主力型号",
        "门店促销价低于公司指导价，扰乱区域市场价格",
    ),
    "CONTRACT_BREACH": (
        "未按年度合同约定完成季度最低采购量，且未提前书面说明",
        "擅自将代理产品转授权给第三方销售，违反合同约定",
    ),
    "BRAND_MISUSE": ("门店招牌及宣传物料擅自使用我司注册商标及“授权旗舰店”字样",),
    "STAFF_MISCONDUCT": ("对上门对账的财务人员言语辱骂并威胁，有通话录音为证",),
    "MALICIOUS_DEFAULT": ("账面资金充足但以各种理由拒付到期货款，逾期已超过90天",),
    "FALSE_INFORMATION": ("申请授信时提供的年度财务报表与税务申报数据严重不符",),
    "RETURN_FRAUD": ("以过期产品冒充近期批次申请退换货，批号与出库记录不符",),
    "COUNTERFEIT_GOODS": ("门店销售的产品经鉴定为假冒我司品牌，防伪码无法验证",),
}
EVIDENCE: dict[str, tuple[tuple[str, str], ...]] = {
    # (file name, what it records)
    "UNJUSTIFIED_REJECTION": (("物流签收记录.csv",
                               "运单号,签收时间,签收状态\nSF{n},{day} 14:20,拒收\n"),
                              ("现场核查记录.txt", "核查日期：{day}\n外包装完好，无破损。\n")),
    "CROSS_REGION_SALES": (("窜货核查记录.txt", "核查日期：{day}\n发现地点：授权区域外\n"
                            "产品批号与客户进货记录一致。\n"),
                           ("物流单据.csv", "运单号,发货仓,收货地\nYT{n},客户仓库,区域外\n")),
    "PRICE_DISRUPTION": (("电商平台价格记录.txt", "记录日期：{day}\n平台售价低于指导价12%。\n"),),
    "CONTRACT_BREACH": (("合同履约核查.txt", "核查日期：{day}\n未达到合同约定的最低采购量。\n"),),
    "BRAND_MISUSE": (("门店核查记录.txt", "核查日期：{day}\n招牌擅自使用注册商标。\n"),),
    "STAFF_MISCONDUCT": (("通话录音记录.txt",
                          "通话时间：{day} 16:05\n客户方人员辱骂并威胁我方员工。\n"),),
    "MALICIOUS_DEFAULT": (("催收记录.txt", "催收日期：{day}\n客户承认有能力付款但拒绝支付。\n"),),
    "FALSE_INFORMATION": (("资料核验报告.txt", "核验日期：{day}\n财务报表与税务申报数据不符。\n"),),
    "RETURN_FRAUD": (("退货核查记录.txt", "核查日期：{day}\n退货批号与出库记录不符。\n"),),
    "COUNTERFEIT_GOODS": (("产品鉴定报告.txt",
                           "鉴定日期：{day}\n送检产品为假冒产品，防伪码无效。\n"),),
}
CONFIRM_REASONS = ("经调查核实，情况属实", "证据充分，客户亦未能提供合理解释",
                   "核对单据与现场记录一致，确认违规")
RESPONSES = ("客户回复：已知悉，将按要求整改并按期付款",
             "客户书面回复：对处理结果无异议，已安排专人跟进",
             "客户来电表示接受处理，并承诺不再发生类似情况")
# The background violations: (violation type, weight).
BACKGROUND_TYPES = (("LATE_PAYMENT", 30), ("LATE_RECONCILIATION", 25),
                    ("UNJUSTIFIED_REJECTION", 10), ("CROSS_REGION_SALES", 8),
                    ("PRICE_DISRUPTION", 8), ("CONTRACT_BREACH", 6), ("STAFF_MISCONDUCT", 3),
                    ("BRAND_MISUSE", 3))


# --- the people and the steps -----------------------------------------------------------------


@dataclass(frozen=True)
class People:
    """Who does what: account managers report, the credit manager investigates, decides and
    approves, the sales manager approves and reviews appeals against the credit manager's
    decisions (and the other way round), customer service files appeals and records answers,
    finance settles fines and installments, the administrator approves terminations."""

    credit: Actor
    sales: Actor
    service: Actor
    finance: Actor
    admin: Actor
    managers: dict[int, Actor]  # account managers by user id

    @classmethod
    def of(cls, users: dict[str, User]) -> People:
        def person(name: str) -> Actor:
            return Actor.for_user(users[name])

        return cls(credit=person("credit_manager"), sales=person("sales_manager"),
                   service=person("customer_service"), finance=person("finance"),
                   admin=person("admin"),
                   managers={u.pk: Actor.for_user(u) for u in users.values()
                             if u.groups.filter(name="account_manager").exists()})

    def manager(self, customer: Customer) -> Actor:
        """The customer's account manager (else the sales manager reports)."""
        return self.managers.get(customer.account_manager_id or 0, self.sales)


class Writer:
    """The steps of the stories, each through the conduct services, at the frozen moment."""

    def __init__(self, people: People, today: dt.date, rng: random.Random) -> None:
        self.people = people
        self.today = today
        self.rng = rng
        self.touched: set[int] = set()
        self._serial = 0

    def day(self, days_ago: int) -> dt.date:
        return self.today - dt.timedelta(days=days_ago)

    def at(self, days_ago: int, hour: int = 10, minute: int = 0) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.day(days_ago),
                                                       dt.time(hour, minute)))

    def report(self, customer: Customer, code: str, occurred_days_ago: int, *,
               by: Actor | None = None, evidence: bool = False) -> ViolationCase:
        self.touched.add(customer.pk)
        reporter = by or self.people.manager(customer)
        case = cases.report(reporter, customer, violation_type=code,
                            occurred_on=self.day(occurred_days_ago),
                            description=self.rng.choice(DESCRIPTIONS[code])).case
        if evidence:
            for name, text in EVIDENCE.get(code, ()):
                self._serial += 1
                body = text.format(day=self.day(occurred_days_ago).isoformat(),
                                   n=f"{customer.code}{self._serial:04d}")
                cases.add_evidence(reporter, case, ContentFile(body.encode("utf-8"), name=name),
                                   content_type="text/csv" if name.endswith(".csv")
                                   else "text/plain")
        return case

    def confirm(self, case: ViolationCase, by: Actor | None = None) -> Penalty:
        penalty = cases.confirm(by or self.people.credit, case,
                                reason=self.rng.choice(CONFIRM_REASONS))
        assert penalty is not None, f"the ladder proposed nothing for case {case.pk}"
        return penalty

    def approve(self, penalty: Penalty, by: Actor | None = None, note: str = "") -> Penalty:
        return penalties.approve(by or self.people.credit, penalty, note=note)

    def respond(self, penalty: Penalty, text: str = "") -> None:
        notice = Notice.objects.filter(penalty=penalty).order_by("pk").first()
        assert notice is not None
        notices.record_response(self.people.service, notice,
                                response=text or self.rng.choice(RESPONSES))

    def pay_fine(self, penalty: Penalty) -> None:
        fine = Fine.objects.get(penalty=penalty)
        fines.settle(self.people.finance, fine, status=Fine.Status.PAID,
                     note=f"银行回单 HD{self.today:%Y}{fine.pk:06d}")

    def rectified(self, penalty: Penalty, note: str) -> None:
        penalties.record_rectification(self.people.sales, penalty, note=note)


# --- the stories ------------------------------------------------------------------------------
# Each takes the writer and its customer and yields the moment of each next step. Days are
# counted back from today; a story's steps follow the policy's deadlines (appeals within 15
# days of the notice, decided within 10; fines due 15 days after the start).


def reported(w: Writer, c: Customer) -> Story:
    """A case just reported, not yet looked at."""
    yield w.at(2, 10, 20)
    w.report(c, "LATE_RECONCILIATION", 5)


def investigating(w: Writer, c: Customer) -> Story:
    yield w.at(9, 15, 40)
    case = w.report(c, "CROSS_REGION_SALES", 12, evidence=True)
    yield w.at(8, 9, 30)
    cases.investigate(w.people.credit, case)


def dismissed(w: Writer, c: Customer) -> Story:
    yield w.at(43, 11)
    case = w.report(c, "PRICE_DISRUPTION", 45, evidence=True)
    yield w.at(42, 9)
    cases.investigate(w.people.sales, case)
    yield w.at(38, 16)
    cases.dismiss(w.people.sales, case, reason="经核实为厂家统一组织的限时促销活动，价格经区域经理"
                                               "事先批准，不构成乱价")


def proposed(w: Writer, c: Customer) -> Story:
    """Confirmed; the warning the ladder proposed waits for approval."""
    yield w.at(4, 14)
    case = w.report(c, "LATE_PAYMENT", 6, by=w.people.finance)
    yield w.at(2, 10)
    w.confirm(case)


def rejected(w: Writer, c: Customer) -> Story:
    yield w.at(15, 10)
    case = w.report(c, "LATE_RECONCILIATION", 16)
    yield w.at(14, 11)
    penalty = w.confirm(case)
    yield w.at(13, 15)
    penalties.reject(w.people.sales, penalty, reason="客户系首次延误且已补签，口头提醒即可，"
                                                    "不予书面警告")


def prepay_with_clause(w: Writer, c: Customer) -> Story:
    """The contract sets the fine; prepayment only for 90 days, the fine overdue, the notice
    unanswered, the rectification due in ten days."""
    yield w.at(30, 9)
    clauses.add(w.people.sales, c, contract_number=f"HT-{w.day(400):%Y}-{c.code[-3:]}",
                violation_type="CROSS_REGION_SALES", fine_amount="8000.00",
                valid_from=w.day(400).replace(month=1, day=1),
                valid_to=w.day(400).replace(month=12, day=31) + dt.timedelta(days=3 * 365))
    yield w.at(24, 10)
    case = w.report(c, "CROSS_REGION_SALES", 26, evidence=True)
    yield w.at(23, 9)
    cases.investigate(w.people.credit, case)
    yield w.at(21, 16)
    penalty = w.confirm(case)
    yield w.at(20, 10)
    w.approve(penalty, note="按合同违约条款处罚")


def warning_answered(w: Writer, c: Customer) -> Story:
    yield w.at(60, 9, 30)
    case = w.report(c, "LATE_PAYMENT", 62, by=w.people.finance)
    yield w.at(58, 14)
    penalty = w.confirm(case)
    yield w.at(57, 10)
    w.approve(penalty, by=w.people.manager(c))
    yield w.at(52, 15)
    w.respond(penalty, "客户回复：因集团资金调拨延误，已于次日付清，今后将按期付款")


def rectification_overdue(w: Writer, c: Customer) -> Story:
    """A second minor violation within 180 days: a written reminder, points deducted and a
    rectification the customer promised but has not made."""
    yield w.at(148, 10)
    first = w.report(c, "UNJUSTIFIED_REJECTION", 150, evidence=True)
    yield w.at(146, 11)
    penalty = w.confirm(first)
    yield w.at(145, 10)
    w.approve(penalty, by=w.people.manager(c))
    yield w.at(50, 10)
    second = w.report(c, "LATE_RECONCILIATION", 52)
    yield w.at(48, 14)
    penalty = w.confirm(second)
    yield w.at(47, 10)
    w.approve(penalty, by=w.people.sales)
    yield w.at(44, 16)
    w.respond(penalty, "客户承诺本月底前完成全部对账单签回")


def rectified(w: Writer, c: Customer) -> Story:
    yield w.at(118, 10)
    first = w.report(c, "LATE_PAYMENT", 120, by=w.people.finance)
    yield w.at(117, 11)
    penalty = w.confirm(first)
    yield w.at(116, 10)
    w.approve(penalty, by=w.people.manager(c))
    yield w.at(68, 10)
    second = w.report(c, "LATE_RECONCILIATION", 70)
    yield w.at(66, 15)
    penalty = w.confirm(second)
    yield w.at(65, 10)
    w.approve(penalty)
    yield w.at(61, 11)
    w.respond(penalty)
    yield w.at(40, 17)
    w.rectified(penalty, "客户已完成全部对账单签回，并指定专人负责对账")


def completed(w: Writer, c: Customer) -> Story:
    """Prepayment only for 90 days, ended by the nightly job; the fine paid, rectified."""
    yield w.at(203, 10)
    case = w.report(c, "CONTRACT_BREACH", 205, evidence=True)
    yield w.at(202, 9)
    cases.investigate(w.people.credit, case)
    yield w.at(200, 15)
    penalty = w.confirm(case)
    yield w.at(199, 10)
    w.approve(penalty)
    yield w.at(195, 14)
    w.respond(penalty)
    yield w.at(190, 11)
    w.pay_fine(penalty)
    yield w.at(185, 16)
    w.rectified(penalty, "客户已补足季度采购量并提交书面说明")


def lifted(w: Writer, c: Customer) -> Story:
    yield w.at(74, 10)
    case = w.report(c, "STAFF_MISCONDUCT", 75, evidence=True)
    yield w.at(71, 15)
    penalty = w.confirm(case)
    yield w.at(70, 10)
    w.approve(penalty)
    yield w.at(60, 11)
    w.pay_fine(penalty)
    yield w.at(35, 15)
    penalties.lift(w.people.credit, penalty, reason="客户已书面道歉并更换对接人员，经销售管理部同意"
                                                   "提前解除")


def suspended_under_review(w: Writer, c: Customer) -> Story:
    """A second major violation within a year: orders blocked and points frozen for 30 days;
    the customer's appeal is under review."""
    yield w.at(128, 10)
    first = w.report(c, "PRICE_DISRUPTION", 130, evidence=True)
    yield w.at(126, 14)
    penalty = w.confirm(first)
    yield w.at(125, 10)
    w.approve(penalty)
    yield w.at(110, 11)
    w.pay_fine(penalty)
    yield w.at(13, 10)
    second = w.report(c, "BRAND_MISUSE", 14, evidence=True)
    yield w.at(11, 15)
    penalty = w.confirm(second)
    yield w.at(10, 10)
    w.approve(penalty, by=w.people.sales, note="一年内第二次一般违规，暂停供货")
    yield w.at(8, 14)
    appeal = appeals.file(w.people.service, penalty,
                          grounds="客户称门店招牌系装修公司误用，接到通知后已全部拆除")
    yield w.at(6, 9, 30)
    appeals.start_review(w.people.credit, appeal)


def overturned(w: Writer, c: Customer) -> Story:
    yield w.at(41, 10)
    case = w.report(c, "CROSS_REGION_SALES", 42, evidence=True)
    yield w.at(38, 14)
    penalty = w.confirm(case)
    yield w.at(37, 10)
    w.approve(penalty)
    yield w.at(35, 15)
    appeal = appeals.file(w.people.service, penalty,
                          grounds="客户提供证据表明涉事货物系其他经销商冒用其渠道编码")
    yield w.at(33, 9)
    appeals.start_review(w.people.sales, appeal)
    yield w.at(30, 16)
    appeals.decide(w.people.sales, appeal, outcome=Appeal.Status.OVERTURNED,
                   note="经核查物流单据，涉事货物来自另一经销商，撤销处罚")


def reduced(w: Writer, c: Customer) -> Story:
    yield w.at(53, 10)
    case = w.report(c, "CONTRACT_BREACH", 55, evidence=True)
    yield w.at(51, 14)
    penalty = w.confirm(case)
    yield w.at(50, 10)
    w.approve(penalty)
    yield w.at(46, 11)
    appeal = appeals.file(w.people.service, penalty,
                          grounds="未完成采购量系上游停产所致，客户已提前口头告知")
    yield w.at(40, 15)
    lighter = appeals.decide(w.people.sales, appeal, outcome=Appeal.Status.REDUCED,
                             note="违约系上游停产导致，情节较轻，改为书面提醒并扣减积分",
                             lighter_step="REPEAT_MINOR_REMINDER").replacement
    assert lighter is not None
    yield w.at(20, 10)
    w.rectified(lighter, "客户已书面说明情况并调整下季度采购计划")


def upheld(w: Writer, c: Customer) -> Story:
    yield w.at(31, 10)
    case = w.report(c, "UNJUSTIFIED_REJECTION", 33, evidence=True)
    yield w.at(30, 14)
    penalty = w.confirm(case)
    yield w.at(29, 10)
    w.approve(penalty)
    yield w.at(27, 11)
    appeal = appeals.file(w.people.service, penalty, grounds="客户认为货物外包装确有破损")
    yield w.at(20, 15)
    appeals.decide(w.people.sales, appeal, outcome=Appeal.Status.UPHELD,
                   note="物流签收照片显示包装完好，维持原处理")


def withdrawn(w: Writer, c: Customer) -> Story:
    yield w.at(26, 10)
    case = w.report(c, "LATE_RECONCILIATION", 28)
    yield w.at(25, 14)
    penalty = w.confirm(case)
    yield w.at(24, 10)
    w.approve(penalty, by=w.people.manager(c))
    yield w.at(22, 11)
    appeal = appeals.file(w.people.service, case, grounds="客户称对账单已于期限内寄出")
    yield w.at(18, 15)
    appeals.withdraw(w.people.service, appeal, note="客户补签对账单后撤回申诉")


def appeal_overdue(w: Writer, c: Customer) -> Story:
    """An appeal nobody has taken up, past its review date."""
    yield w.at(22, 10)
    case = w.report(c, "LATE_PAYMENT", 24, by=w.people.finance)
    yield w.at(21, 14)
    penalty = w.confirm(case)
    yield w.at(20, 10)
    w.approve(penalty)
    yield w.at(15, 11)
    appeals.file(w.people.service, penalty, grounds="客户称付款延迟系银行系统故障所致")


def blacklisted(w: Writer, c: Customer) -> Story:
    """A severe violation: supply and service suspended for 60 days, a blacklist entry
    proposed with the penalty and approved by the credit manager."""
    yield w.at(31, 10)
    case = w.report(c, "FALSE_INFORMATION", 32, evidence=True)
    yield w.at(30, 9)
    cases.investigate(w.people.credit, case)
    yield w.at(27, 15)
    penalty = w.confirm(case)
    yield w.at(26, 10)
    w.approve(penalty, note="财务资料造假，暂停供货和服务")
    yield w.at(24, 11)
    entry = blacklist.open_entry(c.pk)
    assert entry is not None
    blacklist.approve(w.people.credit, entry, note="提供虚假财务资料，列入信用黑名单")
    yield w.at(20, 14)
    w.respond(penalty, "客户书面回复：对处理结果有异议，将补充提交审计报告")


def recovering(w: Writer, c: Customer) -> Story:
    """Blacklisted for a deliberate default, lifted with a recovery plan of four monthly
    installments; two are paid, so half the limit is back."""
    yield w.at(213, 10)
    case = w.report(c, "MALICIOUS_DEFAULT", 215, evidence=True, by=w.people.finance)
    yield w.at(210, 15)
    penalty = w.confirm(case)
    yield w.at(209, 10)
    w.approve(penalty)
    yield w.at(205, 11)
    entry = blacklist.open_entry(c.pk)
    assert entry is not None
    blacklist.approve(w.people.credit, entry, note="恶意拖欠货款，列入信用黑名单")
    yield w.at(180, 10)
    w.pay_fine(penalty)
    yield w.at(45, 15)
    lift_day = w.day(45)
    plan = [blacklist.InstallmentPlan(due_on=lift_day + dt.timedelta(days=15 + 30 * n),
                                      amount=Decimal("30000.00")) for n in range(4)]
    blacklist.lift(w.people.credit, entry, installments=plan,
                   reason="客户已签署分期还款协议，按期还款后逐步恢复信用额度")
    for days_ago in (31, 2):
        yield w.at(days_ago, 11)
        installment = (RecoveryInstallment.objects.filter(
            plan__entry=entry, paid_at__isnull=True).order_by("number").first())
        assert installment is not None
        blacklist.pay_installment(w.people.finance, installment)


def blacklist_proposed(w: Writer, c: Customer) -> Story:
    """A severe violation three days ago: the penalty is in force and its blacklist proposal
    waits for the credit manager."""
    yield w.at(5, 10)
    case = w.report(c, "RETURN_FRAUD", 7, evidence=True)
    yield w.at(4, 15)
    penalty = w.confirm(case)
    yield w.at(3, 10)
    w.approve(penalty)


def termination_proposed(w: Writer, c: Customer) -> Story:
    """Counterfeit goods: termination and a legal referral, which only the administrator may
    approve."""
    yield w.at(8, 10)
    case = w.report(c, "COUNTERFEIT_GOODS", 9, evidence=True)
    yield w.at(7, 9)
    cases.investigate(w.people.credit, case)
    yield w.at(2, 16)
    w.confirm(case)


STORIES: tuple[Callable[[Writer, Customer], Story], ...] = (
    reported, investigating, dismissed, proposed, rejected, prepay_with_clause,
    warning_answered, rectification_overdue, rectified, completed, lifted,
    suspended_under_review, overturned, reduced, upheld, withdrawn, appeal_overdue,
    blacklisted, recovering, blacklist_proposed, termination_proposed,
)


def background(w: Writer, c: Customer, rng: random.Random) -> Story:
    """A confirmed violation some time in the last year (now and then a second one a few weeks
    or months later), dealt with the usual way; one in five reports is dismissed."""
    codes, weights = zip(*BACKGROUND_TYPES, strict=True)
    occurred = rng.randint(20, HISTORY_DAYS - 5)
    last = occurred  # the day (counted back from today) of the story's last step
    for number in range(2):
        if number:  # a second violation for one customer in four
            if rng.random() >= 0.25 or last < 40:
                return
            occurred = rng.randint(max(15, last - 150), last - 20)
        code = rng.choices(codes, weights)[0]
        reported_days = occurred - rng.randint(1, 4)
        yield w.at(reported_days, rng.randint(9, 16), rng.choice((0, 15, 30, 45)))
        case = w.report(c, code, occurred, evidence=True)
        decided = reported_days - rng.randint(1, 6)
        yield w.at(decided, rng.randint(9, 16))
        if rng.random() < 0.2 and not number:
            cases.dismiss(w.people.credit, case, reason="经核实系误报，客户已提供合理说明")
            return
        penalty = w.confirm(case)
        approved = last = decided - 1
        yield w.at(approved, 17, 30)
        warning = set(penalty.measures) == {"WARNING"}
        w.approve(penalty, by=w.people.manager(c) if warning else w.people.credit)
        if rng.random() < 0.6 and approved > 6:
            last = approved - rng.randint(2, 5)
            yield w.at(last, 11)
            w.respond(penalty)
        if Fine.objects.filter(penalty=penalty).exists() and approved > 30 \
                and rng.random() < 0.75:
            last = approved - rng.randint(5, 25)
            yield w.at(last, 15)
            w.pay_fine(penalty)


def nightly_jobs(w: Writer, first: dt.date) -> Story:
    """The scheduler's daily conduct jobs, each night from `first` until last night."""
    completer = Actor.job("conduct.complete_penalties")
    expirer = Actor.job("conduct.expire_blacklist")
    days = (w.today - first).days
    for days_ago in range(days, 0, -1):
        yield w.at(days_ago, 0, 5)
        penalties.complete_due(completer)
        blacklist.expire_due(expirer)


# --- the run ----------------------------------------------------------------------------------


@dataclass
class ConductPlan:
    """Which customer tells which story (and which get a background history)."""

    stories: list[tuple[Callable[[Writer, Customer], Story], Customer]]
    background: list[Customer]


def plan_conduct(customers: Sequence[Customer], *, seed: int) -> ConductPlan:
    """The stories go to active customers with an account manager, chosen by the seed; about
    one customer in twelve more gets a background history."""
    rng = random.Random(f"conduct-demo:{seed}:customers")
    eligible = [c for c in customers
                if c.status == CustomerStatus.ACTIVE and c.account_manager_id is not None]
    rng.shuffle(eligible)
    told = list(zip(STORIES, eligible, strict=False))
    rest = eligible[len(told):]
    return ConductPlan(stories=told, background=rest[:len(customers) // 12])


def ensure_history_policy(actor: Actor, today: dt.date) -> int | None:
    """The stories need a policy in force on the days they happened. A fresh demo publishes
    its policy today; then the document in force is published once more, effective
    POLICY_LEAD_DAYS ago (under a clock frozen then), so the history is decided by the same
    rules. Returns the number of the version published, or None when none was needed."""
    start = timezone.make_aware(dt.datetime.combine(
        today - dt.timedelta(days=POLICY_LEAD_DAYS), dt.time(8, 0)))
    if policies.version_in_force(start) is not None:
        return None
    current = policies.version_in_force()
    if current is None:
        raise ValueError("the conduct demo needs a policy in force")
    document = policies.policy_in_force()[1].model_dump(mode="json")
    with clock.frozen_at(start):
        version = policies.publish_source(actor, document, note="演示数据：历史期间适用的政策")
    return version.number


@dataclass(frozen=True)
class ConductDemoSummary:
    customers: int
    cases: dict[str, int]
    penalties: dict[str, int]
    notices: int
    answered: int
    fines: dict[str, int]
    fines_due: Decimal
    blacklist: dict[str, int]
    recovery_plans: int
    appeals: dict[str, int]
    clauses: int
    restricted: dict[str, int]
    history_policy: int | None
    extra: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _states(counts: dict[str, int], labels: type) -> str:
        if not counts:
            return "none"
        return " / ".join(f"{labels(code).label} {n}" for code, n in  # type: ignore[call-arg]
                          sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("conduct cases", f"{sum(self.cases.values())} for {self.customers} customers ("
             f"{self._states(self.cases, ViolationCase.Status)})"),
            ("penalties", self._states(self.penalties, Penalty.Status)),
            ("notices", f"{self.notices} ({self.answered} answered)"),
            ("fines", f"{self._states(self.fines, Fine.Status)} "
             f"({self.fines_due:,.2f} due)"),
            ("blacklist", f"{self._states(self.blacklist, BlacklistEntry.Status)} "
             f"({self.recovery_plans} recovery plans)"),
            ("appeals", self._states(self.appeals, Appeal.Status)),
            ("contract clauses", str(self.clauses)),
            ("restrictions in force", ", ".join(f"{k} {v}" for k, v in self.restricted.items())
             or "none"),
        ]
        if self.history_policy is not None:
            rows.append(("policy for the history", f"v{self.history_policy}"))
        return rows


def _counts(qs: object, field_name: str = "status") -> dict[str, int]:
    return dict(qs.values_list(field_name).annotate(n=Count("pk")).order_by())  # type: ignore[attr-defined]


def build_conduct_demo(*, seed: int, actor: Actor, customers: Sequence[Customer],
                       users: dict[str, User],
                       progress: Callable[[int], None] | None = None,
                       plan: ConductPlan | None = None) -> ConductDemoSummary:
    """Tell the stories of `plan` (default: `plan_conduct(customers, seed=seed)`) in time
    order, then bring the touched customers' scores to today."""
    today = clock.today()
    plan = plan or plan_conduct(customers, seed=seed)
    history_policy = ensure_history_policy(actor, today)
    writer = Writer(People.of(users), today, random.Random(f"conduct-demo:{seed}:texts"))
    queue: list[tuple[dt.datetime, int, Story, bool]] = []
    order = itertools.count()  # ties in time go in the order the stories were added

    def add(story: Story, counted: bool) -> None:
        first = next(story, None)
        if first is not None:
            heapq.heappush(queue, (first, next(order), story, counted))

    for tell, customer in plan.stories:
        add(tell(writer, customer), True)
    for number, customer in enumerate(plan.background):
        add(background(writer, customer,
                       random.Random(f"conduct-demo:{seed}:background:{number}")), True)
    earliest = min((moment for moment, *_rest in queue), default=None)
    if earliest is not None:
        add(nightly_jobs(writer, timezone.localdate(earliest)), False)
    while queue:
        moment, position, story, counted = heapq.heappop(queue)
        with clock.frozen_at(moment):
            following = next(story, None)
        if following is not None:
            assert following >= moment, "a story's steps go forward in time"
            heapq.heappush(queue, (following, position, story, counted))
        elif counted and progress is not None:
            progress(1)
    # Tonight's jobs have not run yet; anything ending today ends now.
    penalties.complete_due(Actor.job("conduct.complete_penalties"))
    blacklist.expire_due(Actor.job("conduct.expire_blacklist"))
    touched = sorted(writer.touched)
    if touched:  # the scores as of today, with the violations confirmed in the stories
        scoring.rescore_customers(actor, touched, trigger=CreditScore.Trigger.BATCH)
    return summarise(touched, history_policy)


def summarise(ids: Sequence[int], history_policy: int | None) -> ConductDemoSummary:
    standing = Standing.objects.filter(pk__in=ids).aggregate(
        order_blocked=Count("pk", filter=Q(order_blocked=True)),
        service_suspended=Count("pk", filter=Q(service_suspended=True)),
        prepay_only=Count("pk", filter=Q(penalty_prepay_only=True)),
        limit_reduced=Count("pk", filter=Q(penalty_limit_percent__lt=100)),
        points_frozen=Count("pk", filter=Q(points_frozen=True)),
        blacklisted=Count("pk", filter=Q(blacklisted=True)))
    notice_rows = Notice.objects.filter(customer_id__in=ids)
    return ConductDemoSummary(
        customers=len(ids),
        cases=_counts(ViolationCase.objects.filter(customer_id__in=ids)),
        penalties=_counts(Penalty.objects.filter(customer_id__in=ids)),
        notices=notice_rows.count(),
        answered=notice_rows.filter(responded_at__isnull=False).count(),
        fines=_counts(Fine.objects.filter(customer_id__in=ids)),
        fines_due=Decimal(str(Fine.objects.filter(customer_id__in=ids, status=Fine.Status.DUE)
                              .aggregate(s=Sum("amount"))["s"] or 0)).quantize(Decimal("0.01")),
        blacklist=_counts(BlacklistEntry.objects.filter(customer_id__in=ids)),
        recovery_plans=BlacklistEntry.objects.filter(customer_id__in=ids,
                                                     recovery_plan__isnull=False).count(),
        appeals=_counts(Appeal.objects.filter(customer_id__in=ids)),
        clauses=ContractClause.objects.filter(customer_id__in=ids).count(),
        restricted={k: v for k, v in standing.items() if v},
        history_policy=history_policy,
    )
