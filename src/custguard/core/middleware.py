"""Middleware of the core app."""

from __future__ import annotations

from typing import Any

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse


class StaticCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy built once per process.

    django-csp builds the header anew for every response (twice: policy and report-only),
    because a nonce or a view's decorator may change it. custguard uses neither (no nonces, no
    csp_update/csp_replace/csp_exempt), so the header is the same for every response; building
    it cost ~13 % of a trivial API request (bench/request_path.py). A response that does carry a
    per-view policy, a request that asked for a nonce, and DEBUG (which exempts its error
    pages) still go through django-csp."""

    _PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
                     "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro")
    _built: dict[str, str] | None = None

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        if settings.DEBUG or getattr(request, "_csp_nonce", None) is not None or any(
                hasattr(response, name) for name in self._PER_RESPONSE):
            return super().process_response(request, response)
        if StaticCSPMiddleware._built is None:
            probe = super().process_response(request, HttpResponse())
            StaticCSPMiddleware._built = {header: value for header, value in probe.items()
                                          if header.lower().startswith("content-security")}
        for header, value in StaticCSPMiddleware._built.items():
            if header not in response:
                response[header] = value
        return response
