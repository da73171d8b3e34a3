"""Page-number pagination with bounds the database can hold.

Django Ninja's own `PageNumberPagination` takes any whole number as `page` and silently cuts
`page_size` to the maximum; a page number past 2**63 then reached the database as an OFFSET it
cannot store (a 500). Here both are bounded in the schema, so the OpenAPI says so and a value
beyond them is a 422 naming the parameter."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import PageNumberPagination

MAX_PAGE_SIZE: int = ninja_settings.PAGINATION_MAX_PER_PAGE_SIZE
# Any page past this is empty for every list custguard has; (page - 1) * MAX_PAGE_SIZE stays far
# inside a 64-bit OFFSET.
MAX_PAGE = 10**9


class Pages(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="1 for the first page")
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE,
                                      description="rows per page (default: the list's own)")
