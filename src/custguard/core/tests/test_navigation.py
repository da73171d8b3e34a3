"""The menu shows each role the pages it may open, and every one of them opens."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from custguard.core.context_processors import NAVIGATION, Link, Menu
from custguard.core.models import User
from custguard.core.roles import ALL_ROLES

pytestmark = pytest.mark.django_db

ALL_LINKS = [entry for item in NAVIGATION
             for entry in (item.links if isinstance(item, Menu) else (item,))]


@pytest.mark.parametrize("role", [*ALL_ROLES, "outsider"])
def test_the_menu_holds_exactly_the_pages_the_role_may_open(
        role: str, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    user = personas[role]
    client = client_for(user)
    page = client.get("/").content.decode()
    shown = set(re.findall(r'class="(?:nav-link|dropdown-item)[^"]*" href="([^"]+)" '
                           r'data-nav="([^"]+)"', page))
    expected = {link.key for link in ALL_LINKS
                if link.permission is None or user.has_perm(link.permission)}
    assert {key for _url, key in shown} == expected
    for url, key in shown:
        if key in expected:
            assert client.get(url).status_code == 200, (role, url)


def test_every_link_has_a_permission_but_home() -> None:
    assert [link.key for link in ALL_LINKS if link.permission is None] == ["home"]
    assert all(isinstance(item, Link | Menu) for item in NAVIGATION)
