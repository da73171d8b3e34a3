"""The Content-Security-Policy header: built once (core/middleware.py), the same as django-csp's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from custguard.core.middleware import StaticCSPMiddleware
from custguard.core.models import User

pytestmark = pytest.mark.django_db


def _django_csp_header() -> str:
    response = CSPMiddleware(lambda request: HttpResponse()).process_response(
        RequestFactory().get("/"), HttpResponse())
    return str(response["Content-Security-Policy"])


def test_pages_and_api_answers_carry_django_csps_policy(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    expected = _django_csp_header()
    assert "default-src 'self'" in expected and "frame-ancestors 'none'" in expected
    client = client_for(personas["auditor"])
    for url in ("/", "/api/v1/regions/110000", "/login/", "/no-such-page/"):
        assert client.get(url)["Content-Security-Policy"] == expected, url
    assert Client().get("/api/v1/regions")["Content-Security-Policy"] == expected  # a 401


def test_a_per_view_policy_still_goes_through_django_csp() -> None:
    @csp_update({"img-src": ["https://maps.example"]})
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("map")

    request = RequestFactory().get("/map")
    middleware = StaticCSPMiddleware(view)
    response = middleware.process_response(request, view(request))
    assert "img-src 'self' data: https://maps.example" in response["Content-Security-Policy"]
    plain = middleware.process_response(request, HttpResponse())
    assert plain["Content-Security-Policy"] == _django_csp_header()
