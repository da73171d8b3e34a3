"""The request-path baseline: a bare Django Ninja app doing the trivial endpoint's one read.

`/api/v1/regions/{code}` reads the region as custguard does (one ORM get by primary key);
`/api/v1/raw/regions/{code}` reads the same row with one raw SELECT (the ORM's own cost).

Served by bench/request_path.py under the same server (granian, WSGI) and worker count as
`custguard serve`, on the same database and with the same connection settings (custguard's
`database_from_url`: persistent connections, health checks, SQLite's WAL pragmas). No
middleware, no authentication, no sessions, no translation: the ceiling of this stack for one
read on this machine.

    granian --interface wsgi --workers 2 --working-dir bench bare_ninja:application
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from custguard.env import database_from_url  # noqa: E402 - after the path is set

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ["CUSTGUARD_SECRET_KEY"],
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_I18N=False,
    DATABASES={"default": database_from_url(os.environ["CUSTGUARD_DATABASE_URL"],
                                            data_dir=Path(os.environ["CUSTGUARD_DATA_DIR"]))},
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.http import Http404, HttpRequest  # noqa: E402
from django.urls import path  # noqa: E402
from ninja import Field, NinjaAPI, Schema  # noqa: E402

api = NinjaAPI(urls_namespace="bare")


class RegionOut(Schema):
    code: str
    name: str
    parent: str | None
    customers_created: int


class Region(models.Model):
    """custguard's region table, read through the ORM as custguard reads it."""

    code = models.CharField(max_length=6, primary_key=True)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, on_delete=models.DO_NOTHING)
    last_serial = models.PositiveSmallIntegerField()

    class Meta:
        app_label = "bare"
        db_table = "customers_region"
        managed = False

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RegionRowOut(Schema):
    code: str
    name: str
    parent: str | None = Field(None, alias="parent_id")
    customers_created: int = Field(alias="last_serial")


@api.get("/regions/{code}", response=RegionRowOut)
def region(request: HttpRequest, code: str) -> Region:
    """The same read as custguard's GET /regions/{code}: one ORM get by primary key."""
    try:
        return Region.objects.get(pk=code)
    except Region.DoesNotExist:
        raise Http404 from None


@api.get("/raw/regions/{code}", response=RegionOut)
def raw_region(request: HttpRequest, code: str) -> dict[str, object]:
    """The same row by one raw SELECT: what the ORM itself costs, for reference."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, name, parent_id, last_serial FROM customers_region "
                       "WHERE code = %s", [code])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return {"code": row[0], "name": row[1], "parent": row[2], "customers_created": row[3]}


urlpatterns = [path("api/v1/", api.urls)]
application = get_wsgi_application()
