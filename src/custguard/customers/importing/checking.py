"""Checking the rows of a customer import: the header, every cell of every row, and the
room left in each region, against the registry as it was when the import started. Each
problem names the spreadsheet row and the column as written in the file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import translation
from django.utils.translation import gettext as _

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers.importing.reading import (
    ImportProblem,
    column_letter,
    header_key,
    map_header,
)
from custguard.customers.models import (
    Contact,
    Customer,
    CustomerKind,
    CustomerStatus,
    Industry,
    Region,
    ScaleBand,
    ValueTier,
    phone_validator,
)
from custguard.customers.selectors import sees_all_customers
from custguard.customers.services import CONTACT_FIELDS, CUSTOMER_FIELDS, MAX_SERIAL

REQUIRED_COLUMNS = ("name", "kind", "region")
CONTACT_COLUMNS = {"contact_name": "name", "contact_role": "role", "contact_phone": "phone",
                   "contact_email": "email"}
# The import fills every contact field the service knows; fail loudly if the two drift apart.
assert {*CONTACT_COLUMNS.values(), "is_primary"} == set(CONTACT_FIELDS)
COLUMNS = [*REQUIRED_COLUMNS, *[f for f in CUSTOMER_FIELDS if f not in REQUIRED_COLUMNS],
           *CONTACT_COLUMNS]

# Column names as they appear in files: the field name itself (any case, spaces or dashes for
# underscores) or one of these aliases.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("名称", "客户名称", "客户名"),
    "kind": ("类型", "客户类型"),
    "region": ("地区", "地区代码", "区域", "区域代码", "region_code"),
    "industry": ("行业",),
    "scale_band": ("规模", "scale"),
    "account_manager": ("客户经理",),
    "department": ("部门",),
    "value_tier": ("价值等级", "tier"),
    "status": ("状态",),
    "phone": ("电话",),
    "id_number": ("证件号码", "统一社会信用代码", "身份证号"),
    "address": ("地址",),
    "notes": ("备注",),
    "contact_name": ("联系人", "联系人姓名"),
    "contact_role": ("联系人职务",),
    "contact_phone": ("联系人电话",),
    "contact_email": ("联系人邮箱",),
}

# Chinese labels accepted for coded columns, besides the codes and the model's own labels
# (in English and in the zh-hans catalog, whichever are installed).
CHOICE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "kind": {
        CustomerKind.ENTERPRISE: ("企业", "企业客户", "公司"),
        CustomerKind.DEALER: ("经销商",),
        CustomerKind.INDIVIDUAL: ("个人", "个人客户"),
    },
    "scale_band": {
        ScaleBand.MICRO: ("微型", "微"),
        ScaleBand.SMALL: ("小型", "小"),
        ScaleBand.MEDIUM: ("中型", "中"),
        ScaleBand.LARGE: ("大型", "大"),
    },
    "value_tier": {
        ValueTier.STRATEGIC: ("战略", "战略客户"),
        ValueTier.IMPORTANT: ("重要", "重要客户"),
        ValueTier.GENERAL: ("一般", "一般客户", "普通"),
        ValueTier.POTENTIAL: ("潜在", "潜在客户"),
    },
    "status": {
        CustomerStatus.PROSPECT: ("潜在", "潜在客户", "意向", "意向客户"),
        CustomerStatus.ACTIVE: ("活跃", "正常", "有效"),
        CustomerStatus.DORMANT: ("休眠",),
        CustomerStatus.CLOSED: ("关闭", "已关闭", "注销"),
    },
    "industry": {  # the section names of GB/T 4754-2017
        Industry.AGRICULTURE: ("农、林、牧、渔业", "农林牧渔业"),
        Industry.MINING: ("采矿业",),
        Industry.MANUFACTURING: ("制造业",),
        Industry.UTILITIES: ("电力、热力、燃气及水生产和供应业",),
        Industry.CONSTRUCTION: ("建筑业",),
        Industry.TRADE: ("批发和零售业",),
        Industry.LOGISTICS: ("交通运输、仓储和邮政业",),
        Industry.HOSPITALITY: ("住宿和餐饮业",),
        Industry.IT: ("信息传输、软件和信息技术服务业",),
        Industry.FINANCE: ("金融业",),
        Industry.REAL_ESTATE: ("房地产业",),
        Industry.LEASING: ("租赁和商务服务业",),
        Industry.RESEARCH: ("科学研究和技术服务业",),
        Industry.ENVIRONMENT: ("水利、环境和公共设施管理业",),
        Industry.HOUSEHOLD: ("居民服务、修理和其他服务业",),
        Industry.EDUCATION: ("教育",),
        Industry.HEALTH: ("卫生和社会工作",),
        Industry.CULTURE: ("文化、体育和娱乐业",),
        Industry.PUBLIC: ("公共管理、社会保障和社会组织",),
    },
}
CHOICE_ENUMS = {"kind": CustomerKind, "scale_band": ScaleBand, "value_tier": ValueTier,
                "status": CustomerStatus, "industry": Industry}


_PHONE = re.compile(phone_validator.regex.pattern)


def _column_index() -> dict[str, str]:
    index = {header_key(name): name for name in COLUMNS}
    index.update({header_key(name.replace("_", " ")): name for name in COLUMNS})
    for name, aliases in COLUMN_ALIASES.items():
        index.update({header_key(alias): name for alias in aliases})
    return index


_COLUMN_INDEX = _column_index()


def canonical_column(header: str) -> str | None:
    """The field a header names (`客户名称` → `name`), or None when it names none."""
    return _COLUMN_INDEX.get(header_key(header))


def column_names(header: Sequence[str]) -> list[str]:
    """The field name of each header cell, else its text, else `(column letter)`."""
    return [canonical_column(text) or text or f"({column_letter(i)})"
            for i, text in enumerate(header)]


def _choice_index(name: str) -> dict[str, str]:
    enum = CHOICE_ENUMS[name]
    index: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            index.update({header_key(str(label)): value for value, label in enum.choices})
    for value, aliases in CHOICE_ALIASES[name].items():
        index.update({header_key(alias): str(value) for alias in aliases})
    index.update({header_key(value): value for value in enum.values})
    return index


def _choice_hint(name: str) -> str:
    """The codes with their labels in the active language (as the import page lists them)."""
    return ", ".join(f"{value} ({label})" for value, label in CHOICE_ENUMS[name].choices)


def _too_long(length: int, limit: int) -> str:
    return _("is %(length)s characters long; at most %(limit)s are allowed") % {
        "length": length, "limit": limit}


def _max_length(model: type[Customer] | type[Contact], name: str) -> int | None:
    length = model._meta.get_field(name).max_length
    return int(length) if length else None


@dataclass(slots=True)
class Row:
    """A row that passed every check: the customer's field values (by attribute name, the
    account manager as its id) and its first contact."""

    number: int
    region: str
    fields: dict[str, Any]
    contact: tuple[str, str, str, str] | None  # name, role, phone, email
    serial: int = 0


@dataclass
class Header:
    row: int
    columns: list[tuple[int, str, str]]  # (cell index, field name, header as written)
    problems: list[ImportProblem]
    blank: set[int]  # indexes of header cells left empty
    width: int

    def names(self) -> set[str]:
        return {name for _index, name, _text in self.columns}

    def text_of(self, name: str) -> str:
        return next((text for _i, known, text in self.columns if known == name), name)

    def index_of(self, name: str) -> int:
        return next(index for index, known, _text in self.columns if known == name)


def check_header(row: int, header: list[str]) -> Header:
    mapped = map_header(row, header, canonical_column, COLUMNS, REQUIRED_COLUMNS)
    return Header(row, mapped.columns, mapped.problems, mapped.blank, len(header))


class Checker:
    """Checks rows against the registry as it was when the import started (one query each for
    regions and users). `check` returns a Row, or None after appending its problems."""

    def __init__(self, actor: Actor, columns: list[tuple[int, str, str]]) -> None:
        self.actor = actor
        self.regions: dict[str, int] = dict(Region.objects.values_list("code", "last_serial"))
        self.users = {u.username: u for u in User.objects.only("id", "username", "is_active")}
        self.own_only = not sees_all_customers(actor)
        self.email = EmailValidator()
        self.headers = {name: text for _index, name, text in columns}
        at = {name: index for index, name, _text in columns}
        self.width = max(at.values(), default=-1) + 1
        self.name_at, self.kind_at, self.region_at = (at[n] for n in REQUIRED_COLUMNS)
        self.manager_at = at.get("account_manager")
        self.phone_at = at.get("phone")
        lengths = {name: _max_length(Customer, name)
                   for name in CUSTOMER_FIELDS if name != "account_manager"}
        # (field, cell index, max length, code index or None, default) of the plain and
        # coded columns the file has; the fields it lacks take their defaults.
        self.plain: list[tuple[str, int, int]] = []
        self.coded: list[tuple[str, int, dict[str, str], str]] = []
        self.absent: dict[str, Any] = {}
        for name in CUSTOMER_FIELDS:
            if name == "account_manager":
                continue
            default = (str(Customer._meta.get_field(name).get_default())
                       if name in CHOICE_ENUMS else "")
            if name not in at:
                self.absent[name] = default
            elif name in CHOICE_ENUMS:
                self.coded.append((name, at[name], _choice_index(name), default))
            else:
                self.plain.append((name, at[name], lengths[name] or 0))
        self.hints = {name: _choice_hint(name) for name in CHOICE_ENUMS}
        self.labels = {name: str(Customer._meta.get_field(name).verbose_name)
                       for name in CHOICE_ENUMS}
        self.contact_at = [(column, at.get(column),
                            _max_length(Contact, CONTACT_COLUMNS[column]) or 0)
                           for column in CONTACT_COLUMNS]
        self.has_contact = any(index is not None for _c, index, _l in self.contact_at)
        self.default_manager = (self.actor.user.pk if self.own_only and self.actor.user
                                else None)

    def check(self, number: int, cells: list[str],
              problems: list[ImportProblem]) -> Row | None:
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        found = len(problems)
        headers = self.headers

        def problem(name: str, message: str) -> None:
            problems.append(ImportProblem(number, headers.get(name, name), message))

        name, kind, region = cells[self.name_at], cells[self.kind_at], cells[self.region_at]
        if not name:
            problem("name", _("is required"))
        if not kind:
            problem("kind", _("is required"))
        if not region:
            problem("region", _("is required"))
        fields = dict(self.absent)
        for field_name, index, limit in self.plain:
            value = cells[index]
            if value and limit and len(value) > limit:
                problem(field_name, _too_long(len(value), limit))
            fields[field_name] = value
        for field_name, index, codes, default in self.coded:
            value = cells[index]
            if not value:
                fields[field_name] = default
                continue
            code = codes.get(value) or codes.get(header_key(value))
            if code is None:
                problem(field_name, _("%(value)s is not a valid %(field)s; use one of: "
                                      "%(choices)s") % {
                    "value": repr(value), "field": self.labels[field_name],
                    "choices": self.hints[field_name]})
            fields[field_name] = code
        if self.phone_at is not None and cells[self.phone_at]:
            self._phone(cells[self.phone_at], "phone", problem)
        fields["account_manager_id"] = self._manager(
            cells[self.manager_at] if self.manager_at is not None else "", problem)
        if region:
            if not (len(region) == 6 and region.isdigit()):
                problem("region", _("%(value)s is not a 6-digit region code") % {
                    "value": repr(region)})
            elif region not in self.regions:
                problem("region", _("region %(code)s is not in the region table") % {
                    "code": region})
        contact = self._contact(cells, problem) if self.has_contact else None
        if len(problems) > found:
            return None
        return Row(number, region, fields, contact)

    def _manager(self, username: str, problem: Callable[[str, str], None]) -> int | None:
        if not username:
            return self.default_manager
        user = self.users.get(username)
        if user is None:
            problem("account_manager", _("there is no user named %(username)s") % {
                "username": repr(username)})
            return None
        if not user.is_active:
            problem("account_manager", _("user %(username)s is not active") % {
                "username": repr(username)})
        elif self.own_only and (self.actor.user is None or user.pk != self.actor.user.pk):
            problem("account_manager", _("an account manager may only import customers "
                                         "assigned to themselves"))
        return int(user.pk)

    @staticmethod
    def _phone(value: str, name: str, problem: Callable[[str, str], None]) -> None:
        if _PHONE.search(value):  # the validator's own pattern, compiled once, for the good
            return
        try:
            phone_validator(value)
        except ValidationError as error:
            problem(name, " ".join(str(m) for m in error.messages))

    def _contact(self, cells: list[str], problem: Callable[[str, str], None],
                 ) -> tuple[str, str, str, str] | None:
        given = [(column, cells[index] if index is not None else "", limit)
                 for column, index, limit in self.contact_at]
        if not any(value for _column, value, _limit in given):
            return None
        (_n, name, _l), (_r, role, _l2), (_p, phone, _l3), (_e, email, _l4) = given
        if not name:
            problem("contact_name", _("is required when other contact columns are filled"))
        for column, value, limit in given:
            if limit and len(value) > limit:
                problem(column, _too_long(len(value), limit))
        if phone:
            self._phone(phone, "contact_phone", problem)
        if email:
            try:
                self.email(email)
            except ValidationError:
                problem("contact_email", _("%(value)s is not an email address") % {
                    "value": repr(email)})
        return name, role, phone, email


@dataclass
class Capacity:
    """Serials each region still has (as the import started) against the rows that claim
    them; a row past a region's room is reported instead of written."""

    regions: dict[str, int]
    header: str
    claimed: dict[str, int] = field(default_factory=dict)

    def fits(self, number: int, region: str, problems: list[ImportProblem]) -> bool:
        taken = self.claimed.get(region, 0) + 1
        self.claimed[region] = taken
        room = MAX_SERIAL - self.regions[region]
        if taken <= room:
            return True
        problems.append(ImportProblem(
            number, self.header,
            _("region %(code)s is full: it has room for %(room)s more customer(s) and "
              "this file adds %(taken)s or more; ask an administrator to split the "
              "region") % {"code": region, "room": max(room, 0), "taken": taken}))
        return False
