"""The client's IP behind trusted proxies, and the login lockout keyed on account + client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from custguard.core.client_ip import client_ip_from
from custguard.core.models import User
from custguard.env import ConfigurationError, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.10, 2001:db8::/32")


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    # directly exposed: REMOTE_ADDR, whatever the client writes in X-Forwarded-For
    ("203.0.113.7", "", "203.0.113.7"),
    ("203.0.113.7", "1.1.1.1", "203.0.113.7"),
    # behind a trusted proxy: the right-most address that is not a trusted proxy
    ("10.0.0.2", "203.0.113.7", "203.0.113.7"),
    ("10.0.0.2", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the left one is the client's
    ("10.0.0.2", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # two proxies
    ("192.168.1.10", "203.0.113.7, 192.168.1.10", "203.0.113.7"),
    ("10.0.0.2", "203.0.113.7:51000", "203.0.113.7"),  # with a port
    ("2001:db8::1", "[2001:db8:ffff::9]:443, 2606:4700::1", "2606:4700::1"),
    ("::ffff:10.0.0.2", "203.0.113.7", "203.0.113.7"),  # IPv4-mapped proxy address
    # a trusted proxy with no header, only proxies in it, or a garbled hop
    ("10.0.0.2", "", "10.0.0.2"),
    ("10.0.0.2", "10.9.9.9, 10.1.1.1", "10.9.9.9"),
    ("10.0.0.2", "203.0.113.7, not-an-ip", "10.0.0.2"),
    ("10.0.0.2", "not-an-ip, 10.1.1.1", "10.1.1.1"),
    # an untrusted address next to trusted ones is not a proxy
    ("192.168.1.11", "203.0.113.7", "192.168.1.11"),
])
def test_client_ip(remote: str, forwarded: str, expected: str) -> None:
    assert client_ip_from(remote, forwarded, PROXIES) == expected


def test_without_trusted_proxies_x_forwarded_for_is_ignored() -> None:
    assert client_ip_from("10.0.0.2", "203.0.113.7", ()) == "10.0.0.2"


@pytest.mark.parametrize("raw", ["10.0.0.300", "proxy.example.com", "10.0.0.1/8"])
def test_a_bad_trusted_proxy_fails_fast(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="CUSTGUARD_TRUSTED_PROXIES"):
        parse_networks(raw, name="CUSTGUARD_TRUSTED_PROXIES")


# --- the login lockout -------------------------------------------------------------------------

LIMIT = 3


@pytest.fixture
def lockout(settings: Any) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT


def _login(username: str, password: str, remote: str, forwarded: str = "") -> int:
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    response = Client().post("/login/", {"username": username, "password": password}, **extra)
    return response.status_code


def _fail(username: str, remote: str, forwarded: str = "") -> None:
    for _attempt in range(LIMIT):
        _login(username, "wrong", remote, forwarded)


@pytest.mark.django_db
def test_direct_lockout_is_per_account_and_client(lockout: None,
                                                  make_user: Callable[..., User]) -> None:
    alice, bob = make_user(username="alice"), make_user(username="bob")
    _fail("alice", "203.0.113.7")
    assert _login("alice", "pw-alice", "203.0.113.7") == 429  # locked from that client
    assert _login("alice", "pw-alice", "198.51.100.1") == 302  # not from another one
    assert _login("bob", "pw-bob", "203.0.113.7") == 302  # nor another account from it
    assert alice.is_active and bob.is_active


@pytest.mark.django_db
def test_a_spoofed_x_forwarded_for_does_not_escape_the_lockout(
        lockout: None, settings: Any, make_user: Callable[..., User]) -> None:
    settings.CUSTGUARD_TRUSTED_PROXIES = PROXIES
    make_user(username="alice")
    for attempt in range(LIMIT):  # a new made-up client address on every try
        _login("alice", "wrong", "203.0.113.7", forwarded=f"198.51.100.{attempt}")
    assert _login("alice", "pw-alice", "203.0.113.7", forwarded="198.51.100.99") == 429


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_lockout(
        lockout: None, settings: Any, make_user: Callable[..., User]) -> None:
    """Every request comes from the proxy: keyed on the proxy's address, one attacker's
    failures would lock the account for everyone behind it."""
    settings.CUSTGUARD_TRUSTED_PROXIES = PROXIES
    make_user(username="alice")
    _fail("alice", "10.0.0.2", forwarded="203.0.113.7")
    assert _login("alice", "pw-alice", "10.0.0.2", forwarded="203.0.113.7") == 429
    assert _login("alice", "pw-alice", "10.0.0.2", forwarded="198.51.100.1") == 302
    # the client cannot pick its address by prepending one: the proxy appended the real one
    assert _login("alice", "pw-alice", "10.0.0.2",
                  forwarded="198.51.100.1, 203.0.113.7") == 429
