"""Fixtures shared by every app's tests: personas for each role, regions, API clients, and
data built once per module (see docs/testing.md, "Shared data")."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.utils import translation

from custguard.core import audit_triggers
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.roles import ALL_ROLES
from custguard.core.services import tokens
from custguard.testing.shared import fresh_copy

_counter = itertools.count(1)


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return ("transactional_db" in request.fixturenames
            or "live_server" in request.fixturenames
            or bool(marker and marker.kwargs.get("transaction")))


_module_transaction_open = False


@pytest.fixture(scope="module")
def module_db(django_db_setup: None, django_db_blocker: Any,
              ) -> Iterator[Callable[[], contextlib.AbstractContextManager[None]]]:
    """One transaction around a whole test module, rolled back when the module ends.

    Module-scoped fixtures build their read-only data inside it (`with module_db(): ...`
    lets them reach the database), and every test of the module then runs in its own savepoint
    inside it (pytest-django's function-scoped `db`), so a test's writes are undone after it
    while the shared data stays — what Django's `TestCase.setUpTestData` does for a class.
    Only for modules whose tests do not need real commits."""
    global _module_transaction_open
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    _module_transaction_open = True
    try:
        yield django_db_blocker.unblock
    finally:
        _module_transaction_open = False
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language (zh-hans): a request through the test client
    leaves its language active in the thread, which would make a later test's outcome depend
    on the random order."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests end with a flush, which the audit table's triggers refuse; lift the
    triggers just for that flush and put them back for the next test."""
    transactional = _is_transactional(request)
    if transactional and _module_transaction_open:
        raise pytest.UsageError(
            f"{request.node.nodeid} needs real commits, but its module shares data in one "
            "transaction (module_db): move it to a module of its own")
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    audit_triggers.install(connection)
    yield
    audit_triggers.remove(connection)


def _load_regions() -> None:
    """The shipped region table (a flush by an earlier transactional test may have removed it)."""
    from custguard.customers.models import Region
    from custguard.customers.regions import load_default_table

    if not Region.objects.exists():
        load_default_table(Region)


@pytest.fixture
def regions(db: None) -> None:
    _load_regions()


@pytest.fixture(scope="module")
def module_regions(module_db: Callable[[], contextlib.AbstractContextManager[None]]) -> None:
    with module_db():
        _load_regions()


def _make_user(role: str | None = None, username: str | None = None, **extra: Any) -> User:
    name = username or f"{role or 'user'}{next(_counter)}"
    user = User.objects.create_user(username=name, password="pw-" + name,
                                    display_name=extra.pop("display_name", name), **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    return _make_user


def _personas() -> dict[str, User]:
    """One user per role, plus a second account manager (the 'colleague')."""
    people = {role: _make_user(role, username=role) for role in ALL_ROLES}
    people["account_manager_2"] = _make_user("account_manager", username="account_manager_2")
    people["outsider"] = _make_user(None, username="outsider")
    return people


@pytest.fixture
def personas(db: None) -> dict[str, User]:
    return _personas()


@pytest.fixture(scope="module")
def module_personas(module_db: Callable[[], contextlib.AbstractContextManager[None]],
                    ) -> dict[str, User]:
    """The personas, created once for the module (see `module_db`); a module that uses them
    overrides `personas` with `shared_personas`."""
    with module_db():
        return _personas()


@pytest.fixture
def shared_personas(db: None, module_personas: dict[str, User]) -> dict[str, User]:
    return fresh_copy(module_personas)


@pytest.fixture
def client_for(db: None) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client
    return make


@pytest.fixture
def bearer_for(db: None) -> Callable[[User], dict[str, str]]:
    """Authorization headers with a fresh API token of the user."""
    def make(user: User) -> dict[str, str]:
        _token, secret = tokens.create_token(Actor.system("tests"), user=user, name="tests")
        return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    return make


@pytest.fixture(scope="module")
def module_credentials(module_db: Callable[[], contextlib.AbstractContextManager[None]],
                       module_personas: dict[str, User],
                       ) -> dict[int, tuple[Any, dict[str, str]]]:
    """A signed-in session (its cookies) and an API token (its header) of every persona,
    created once for the module; see `shared_client_for` and `shared_bearer_for`."""
    credentials: dict[int, tuple[Any, dict[str, str]]] = {}
    with module_db():
        for user in module_personas.values():
            client = Client()
            client.force_login(user)
            _token, secret = tokens.create_token(Actor.system("tests"), user=user, name="tests")
            credentials[user.pk] = (client.cookies, {"HTTP_AUTHORIZATION": f"Bearer {secret}"})
    return credentials


@pytest.fixture
def shared_client_for(db: None, module_credentials: dict[int, tuple[Any, dict[str, str]]],
                      ) -> Callable[[User], Client]:
    """Like `client_for`, with the persona's session of the module."""
    def make(user: User) -> Client:
        client = Client()
        client.cookies = fresh_copy(module_credentials[user.pk][0])
        return client
    return make


@pytest.fixture
def shared_bearer_for(db: None, module_credentials: dict[int, tuple[Any, dict[str, str]]],
                      ) -> Callable[[User], dict[str, str]]:
    """Like `bearer_for`, with the persona's token of the module."""
    def make(user: User) -> dict[str, str]:
        return dict(module_credentials[user.pk][1])
    return make


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture(scope="session")
def fuzz_schema() -> Any:
    """The API's OpenAPI document loaded by schemathesis, once per worker (testing/fuzz.py)."""
    from custguard.testing import fuzz

    return fuzz.api_schema()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page: Any) -> Callable[[str, str], None]:
    def log_in(username: str, password: str) -> None:
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=current-user]")
    return log_in
