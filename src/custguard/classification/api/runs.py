"""The monthly classification runs over the API: the list, one month's run with its report, and
running this month's classification now (what the monthly job does on the run day). Thin: the
run is classification.services.runs, which checks the permission again and audits.

    GET  /classification/runs            newest month first (paginated)
    GET  /classification/runs/{month}    YYYY-MM, with its report (kept at the close, or
                                         counted now while the run is open)
    POST /classification/runs            run this month now (201: the month's first run;
                                         200: run again, changing only what differs)
    GET  /classification/migration       the class changes per month and move over a period
                                         (the ABC migration report)
"""
# No `from __future__ import annotations`: Django Ninja resolves the annotations at import.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from custguard.api.pagination import Pages
from custguard.api.schemas import InputSchema
from custguard.classification import selectors
from custguard.classification.api.common import (
    MONTH_PATTERN,
    PAGE_SIZE,
    Rows,
    month_text,
    require,
)
from custguard.classification.models import ClassificationRun
from custguard.classification.services import runs
from custguard.core import clock
from custguard.core.actors import actor_from_request
from custguard.core.errors import ValidationFailed
from custguard.core.transactions import atomic_with_retry

router = Router(tags=["classification"])


class ClassRunOut(Schema):
    month: str = Field(description="YYYY-MM")
    status: str = Field(description="open (proposals being decided) | closed")
    policy_version: int
    ran_at: dt.datetime
    ran_by: str
    closes_at: dt.datetime
    closed_at: dt.datetime | None
    customers: int = Field(description="customers classified")


def run_out(run: ClassificationRun) -> dict[str, Any]:
    return {"month": month_text(run.month), "status": run.status,
            "policy_version": run.policy_version, "ran_at": run.ran_at, "ran_by": run.ran_by,
            "closes_at": run.closes_at, "closed_at": run.closed_at,
            "customers": run.customers}


class ClassRegionCountOut(Schema):
    region: str = Field(description="the sales region: the first digits of the region code "
                                    "the policy ranks by ('*': all customers together)")
    region_name: str
    abc: str
    customers: int


class ClassMoveCountOut(Schema):
    move: str = Field(description="e.g. A→B; -→A is a first class")
    from_class: str | None = Field(description="null for a first class")
    to_class: str
    customers: int


class ClassReportOut(Schema):
    live: bool = Field(description="true: counted now (the run is open); false: kept when "
                                   "the run closed")
    by_region: list[ClassRegionCountOut] = Field(description="customers per sales region and class")
    moves: list[ClassMoveCountOut] = Field(description="the class changes the run made "
                                                  "(approved moves included)")
    pending_proposals: int = Field(description="proposals still waiting for a decision")
    overdue_reminders: int = Field(description="reminders not answered by their day")


class ClassRunDetailOut(ClassRunOut):
    report: ClassReportOut


def report_out(report: selectors.Report) -> dict[str, Any]:
    return {
        "live": report.live,
        "by_region": [{"region": region, "region_name": name, "abc": abc, "customers": n}
                      for region, name, abc, n in report.by_region],
        "moves": [{"move": m.move, "from_class": m.from_class or None,
                   "to_class": m.to_class, "customers": m.customers} for m in report.moves],
        "pending_proposals": report.pending_proposals,
        "overdue_reminders": report.overdue_reminders,
    }


@router.get("/classification/runs", response=list[ClassRunOut],
            summary="The monthly classification runs, newest first")
@paginate(Pages, page_size=PAGE_SIZE)
def list_runs(request: HttpRequest) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classificationrun")
    return Rows(selectors.all_runs(), run_out)


@router.get("/classification/runs/{month}", response=ClassRunDetailOut,
            summary="One month's classification run with its report")
def get_run(request: HttpRequest,
            month: str = Path(..., pattern=MONTH_PATTERN, description="YYYY-MM")) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classificationrun")
    run = selectors.run_of(selectors.parse_month(month))
    return run_out(run) | {"report": report_out(selectors.report_of(run))}


class ClassRunIn(InputSchema):
    month: str | None = Field(None, pattern=MONTH_PATTERN,
                              description="YYYY-MM: must be the current month (a guard "
                                          "against running the wrong one); default the "
                                          "current month")


class ClassRunResultOut(Schema):
    run: ClassRunOut
    created: bool = Field(description="true: the month's first run; false: run again")
    assigned: int = Field(description="classes set at once (first classes, classes by rule)")
    reminded: int = Field(description="class A customers reminded")
    proposed: int = Field(description="moves proposed for approval")
    superseded: int = Field(description="open proposals this run replaced")
    treated: int = Field(description="customers whose class treatment (order priority, "
                                     "payment term bonus) changed")
    segmented: int = Field(description="customers whose value segment changed")


@router.post("/classification/runs", response={200: ClassRunResultOut, 201: ClassRunResultOut},
             summary="Run this month's classification now")
def run_now(request: HttpRequest, payload: ClassRunIn) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.run_classification")
    today = clock.today()
    month = today.replace(day=1)
    if payload.month and selectors.parse_month(payload.month) != month:
        raise ValidationFailed(_("only the current month (%(month)s) can be run") % {
            "month": month.strftime("%Y-%m")}, field="month")
    created = not ClassificationRun.objects.filter(month=month).exists()
    result = atomic_with_retry(lambda: runs.run_month(actor, today))
    return Status(201 if created else 200, {
        "run": run_out(result.run), "created": created, "assigned": result.assigned,
        "reminded": result.reminded, "proposed": result.proposed,
        "superseded": result.superseded, "treated": result.treated,
        "segmented": result.segmented})


class ClassMigrationMoveOut(Schema):
    from_class: str | None = Field(description="null for a first class")
    to_class: str
    direction: str = Field(description="up (towards A) | down (towards C) | first")
    customers: int


class ClassMigrationMonthOut(Schema):
    month: str = Field(description="YYYY-MM: the month of the run that made the changes")
    upgrades: int
    downgrades: int
    first_classes: int
    moves: list[ClassMigrationMoveOut]


class ClassMigrationOut(Schema):
    since: str
    until: str
    region: str = Field(description="the region code asked for; empty for every region")
    upgrades: int
    downgrades: int
    first_classes: int
    months: list[ClassMigrationMonthOut] = Field(description="every month of the period, "
                                                             "oldest first")


def _moves_out(moves: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    return [{"from_class": before or None, "to_class": after,
             "direction": selectors.move_direction(before, after), "customers": n}
            for (before, after), n in sorted(moves.items())]


@router.get("/classification/migration", response=ClassMigrationOut,
            summary="The ABC migration: class changes per month and move over a period")
def get_migration(request: HttpRequest,
                  since: str | None = Query(None, pattern=MONTH_PATTERN,
                                            description="YYYY-MM; default 11 months before "
                                                        "the current one"),
                  until: str | None = Query(None, pattern=MONTH_PATTERN,
                                            description="YYYY-MM; default the current month"),
                  region: str = Query("", max_length=6,
                                      description="a region code: it and the regions "
                                                  "under it")) -> Any:
    actor = actor_from_request(request)
    require(actor, "classification.view_classificationrun")
    first, last = selectors.default_period()
    found = selectors.migration_between(
        selectors.parse_month(since, "since") if since else first,
        selectors.parse_month(until, "until") if until else last, region)
    return {
        "since": month_text(found.since), "until": month_text(found.until),
        "region": found.region, "upgrades": found.total("up"),
        "downgrades": found.total("down"), "first_classes": found.total("first"),
        "months": [{"month": month_text(m.month), "upgrades": m.count("up"),
                    "downgrades": m.count("down"), "first_classes": m.count("first"),
                    "moves": _moves_out(m.moves)} for m in found.months],
    }
