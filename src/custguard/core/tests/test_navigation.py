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


def _menu(client: Client) -> dict[str, str]:
    """The menu on the home page: link key → URL."""
    page = client.get("/").content.decode()
    return {key: url for url, key in re.findall(
        r'class="(?:nav-link|dropdown-item)[^"]*" href="([^"]+)" data-nav="([^"]+)"', page)}


@pytest.mark.parametrize("role", [*ALL_ROLES, "outsider"])
def test_the_menu_holds_exactly_the_pages_the_role_may_open(
        role: str, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    user = personas[role]
    expected = {link.key for link in ALL_LINKS
                if link.permission is None or user.has_perm(link.permission)}
    assert set(_menu(client_for(user))) == expected


# Each page once, as the administrator, who sees every link; which role may open which page
# is the UI permission matrix's job (test_ui_permissions.py), page by page and role by role.
@pytest.mark.parametrize("key", [link.key for link in ALL_LINKS])
def test_every_link_in_the_menu_opens(key: str, personas: dict[str, User],
                                      client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["admin"])
    url = _menu(client)[key]
    assert client.get(url).status_code == 200, url


def test_every_link_has_a_permission_but_home() -> None:
    assert [link.key for link in ALL_LINKS if link.permission is None] == ["home"]
    assert all(isinstance(item, Link | Menu) for item in NAVIGATION)
