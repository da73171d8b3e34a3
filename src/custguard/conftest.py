"""Fixtures shared by every app's tests: personas for each role, regions, API clients."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from custguard.core import audit_triggers
from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.core.roles import ALL_ROLES
from custguard.core.services import tokens

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Transactional tests end with a flush, which the audit table's triggers refuse; lift the
    triggers just for that flush and put them back for the next test."""
    marker = request.node.get_closest_marker("django_db")
    transactional = ("transactional_db" in request.fixturenames
                     or "live_server" in request.fixturenames
                     or bool(marker and marker.kwargs.get("transaction")))
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    audit_triggers.install(connection)
    yield
    audit_triggers.remove(connection)


@pytest.fixture
def regions(db: None) -> None:
    """The shipped region table (a flush by an earlier transactional test may have removed it)."""
    from custguard.customers.models import Region
    from custguard.customers.regions import load_default_table

    if not Region.objects.exists():
        load_default_table(Region)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str | None = None, username: str | None = None, **extra: Any) -> User:
        name = username or f"{role or 'user'}{next(_counter)}"
        user = User.objects.create_user(username=name, password="pw-" + name,
                                        display_name=extra.pop("display_name", name), **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user
    return make


@pytest.fixture
def personas(make_user: Callable[..., User]) -> dict[str, User]:
    """One user per role, plus a second account manager (the 'colleague')."""
    people = {role: make_user(role, username=role) for role in ALL_ROLES}
    people["account_manager_2"] = make_user("account_manager", username="account_manager_2")
    people["outsider"] = make_user(None, username="outsider")
    return people


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


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


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
