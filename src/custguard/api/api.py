"""The Django Ninja API at /api/v1/, assembled from each app's router."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from custguard.api import problems
from custguard.api.auth import BearerToken, SessionAuth
from custguard.classification.api import router as classification_router
from custguard.conduct.api import router as conduct_router
from custguard.core.api import router as core_router
from custguard.credit.api import router as credit_router
from custguard.customers.api import router as customers_router
from custguard.ledger.api import router as ledger_router
from custguard.rewards.api import router as rewards_router


class CustguardAPI(NinjaAPI):
    """The API whose OpenAPI document also lists the problem responses of every operation."""

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        problems.document_problems(schema)
        return schema


api = CustguardAPI(
    title="custguard API",
    version="1",
    description="Customer conduct, credit and rewards management. Errors are "
                "application/problem+json (RFC 9457).",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
)
problems.install(api)
api.add_router("/", customers_router)
api.add_router("/", core_router)
api.add_router("/", ledger_router)
api.add_router("/", credit_router)
api.add_router("/", conduct_router)
api.add_router("/", classification_router)
api.add_router("/", rewards_router)
