"""The review queue page: riskiest first, filters, sorting, htmx fragment, export; the review
page (reasons, field errors, recording); "rescore now"."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core import clock
from custguard.core.models import AuditEntry, User
from custguard.credit.models import CreditReview, CreditScore
from custguard.credit.services import scoring
from custguard.credit.tests.test_scoring_support import (
    SYSTEM,
    add_invoice,
    days_ago,
    good_history,
    new_customer,
    publish_policy,
)
from custguard.customers.models import Customer, Standing

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(regions: None, personas: dict[str, User]) -> dict[str, Customer]:
    """A D customer with an old overdue invoice, a C newcomer, a good customer (A or better)
    reviewed recently (so not due), and a good customer never reviewed."""
    publish_policy()
    am = personas["account_manager"]
    late = new_customer("逾期客户", manager=am, region="130100")
    add_invoice(late, issued=days_ago(200), due=days_ago(170), amount="50000.00")
    fresh = new_customer("新客户", manager=am)
    reviewed, unreviewed = new_customer("已复核优质"), new_customer("未复核优质")
    for customer in (reviewed, unreviewed):
        good_history(customer)
    scoring.rescore(SYSTEM, [late.pk, fresh.pk, reviewed.pk, unreviewed.pk],
                    trigger=CreditScore.Trigger.BATCH)
    Standing.objects.filter(pk=late.pk).update(overdue_amount="50000.00",
                                               oldest_open_due_on=days_ago(170))
    CreditReview.objects.create(customer=reviewed, reviewed_at=clock.now(), note="ok",
                                next_review_on=days_ago(-100))
    Standing.objects.filter(pk=reviewed.pk).update(next_review_on=days_ago(-100))
    return {"late": late, "fresh": fresh, "reviewed": reviewed, "unreviewed": unreviewed}


def codes_in(response: Any) -> list[str]:
    return re.findall(r'data-code="(\d{9})"', response.content.decode())


def test_the_queue_riskiest_first(queue: dict[str, Customer], personas: dict[str, User],
                                  client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    response = client.get("/credit/reviews/")
    assert response.status_code == 200
    assert codes_in(response) == [queue["late"].code, queue["fresh"].code,
                                  queue["unreviewed"].code]
    page = response.content.decode()
    assert "credit/reviews/" + queue["late"].code in page
    assert 'data-grade="D"' in page


@pytest.mark.parametrize(("query", "expected"), [
    ({"grade": "D"}, ["late"]),
    ({"grade": ["C", "D"]}, ["late", "fresh"]),
    ({"overdue": "on"}, ["late"]),
    ({"region": "130000"}, ["late"]),  # a province matches its prefectures
    ({"q": "新客户"}, ["fresh"]),
    ({"sort": "score"}, ["late", "fresh", "unreviewed"]),
    ({"sort": "-customer"}, ["late", "unreviewed", "fresh"]),  # by code, descending
])
def test_filters_and_sorting(queue: dict[str, Customer], personas: dict[str, User],
                             client_for: Callable[[User], Client], query: dict[str, Any],
                             expected: list[str]) -> None:
    response = client_for(personas["credit_manager"]).get("/credit/reviews/", query)
    assert codes_in(response) == [queue[name].code for name in expected]


def test_account_manager_filter(queue: dict[str, Customer], personas: dict[str, User],
                                client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["auditor"])
    am = personas["account_manager"].pk
    response = client.get("/credit/reviews/", {"account_manager": am})
    assert codes_in(response) == [queue["late"].code, queue["fresh"].code]


def test_htmx_gets_the_results_fragment(queue: dict[str, Customer], personas: dict[str, User],
                                        client_for: Callable[[User], Client]) -> None:
    response = client_for(personas["credit_manager"]).get(
        "/credit/reviews/", {"grade": "D"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="review-table"' in body
    assert codes_in(response) == [queue["late"].code]


def test_export(queue: dict[str, Customer], personas: dict[str, User],
                client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["sales_manager"])
    response = client.get("/credit/reviews/export/", {"format": "csv", "grade": ["C", "D"]})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [queue["late"].code, queue["fresh"].code]
    assert rows[1][2] == "D" and rows[1][6] == "170"
    xlsx = client.get("/credit/reviews/export/", {"format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/credit/reviews/export/", {"format": "pdf"}).status_code == 404


def test_the_review_page_and_recording(queue: dict[str, Customer], personas: dict[str, User],
                                       client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    late = queue["late"]
    page = client.get(f"/credit/reviews/{late.code}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-reason="MAX_DPD_GT_90"' in body and 'data-testid="review-form"' in body
    before = (CreditReview.objects.count(), CreditScore.objects.count(),
              AuditEntry.objects.count())
    empty = client.post(f"/credit/reviews/{late.code}/", {"note": "  "})
    assert empty.status_code == 200
    assert 'data-field-error="note"' in empty.content.decode()
    assert (CreditReview.objects.count(), CreditScore.objects.count(),
            AuditEntry.objects.count()) == before
    done = client.post(f"/credit/reviews/{late.code}/", {"note": "维持先款后货"}, follow=True)
    assert done.redirect_chain[-1][0] == "/credit/reviews/"
    review = CreditReview.objects.get(customer=late)
    assert review.note == "维持先款后货"
    assert late.code not in codes_in(done)  # reviewed: no longer due
    assert client_for(personas["auditor"]).get(
        f"/credit/reviews/{late.code}/").content.decode().count('data-testid="review-form"') == 0


def test_rescore_now(queue: dict[str, Customer], personas: dict[str, User],
                     client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["credit_manager"])
    fresh = queue["fresh"]
    response = client.post(f"/credit/reviews/{fresh.code}/rescore/",
                           {"next": "/credit/reviews/?grade=C"})
    assert response["Location"] == "/credit/reviews/?grade=C"
    assert CreditScore.objects.filter(customer=fresh, trigger="manual").count() == 1
    elsewhere = client.post(f"/credit/reviews/{fresh.code}/rescore/",
                            {"next": "https://evil.example/"})
    assert elsewhere["Location"] == f"/credit/reviews/{fresh.code}/"
    assert client.get(f"/credit/reviews/{fresh.code}/rescore/").status_code == 405
    assert client.post("/credit/reviews/999999999/rescore/").status_code == 404
