"""Typed readers for environment variables that fail fast on bad values.

Settings read the environment only through these helpers, so a typo in a
deployment shows up as one clear error at start-up instead of a surprise later.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigurationError(RuntimeError):
    """A configuration variable is missing or has a value we cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str, *, name: str = "value") -> tuple[IPNetwork, ...]:
    """Comma-separated IP addresses and CIDR blocks ("10.0.0.1, 192.168.0.0/16, ::1")."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))  # host bits set: refused
        except ValueError:
            raise ConfigurationError(
                f"{name}: {item!r} is not an IP address or a CIDR block (e.g. 10.0.0.0/8)",
            ) from None
    return tuple(networks)


def env_networks(name: str) -> tuple[IPNetwork, ...]:
    """IP addresses and CIDR blocks from a comma-separated variable; none when unset."""
    return parse_networks(os.environ.get(name, ""), name=name)


def env_secret(name: str, *, required: bool, min_length: int, hint: str) -> str:
    """A secret such as a key: "" when unset and not required; too short is refused."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        if required:
            raise ConfigurationError(f"{name} is required unless CUSTGUARD_DEBUG=true ({hint})")
        return ""
    if len(value) < min_length:
        raise ConfigurationError(
            f"{name} is too short: it needs at least {min_length} characters ({hint})")
    return value


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


def env_time_zone(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"{name}={value!r} is not a known IANA time zone") from None
    return value


def env_currency(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ConfigurationError(f"{name}={value!r} is not an ISO 4217 currency code")
    return value


# The order gate's written-out statements are prepared (see core/backends/postgresql) once a
# connection has run them this many times.
PREPARE_THRESHOLD = 5


def _statement_options(url: str, given: dict[str, str]) -> dict[str, object]:
    """`prepare_threshold` (PREPARE_THRESHOLD unless given; empty turns preparing off, as a
    transaction-pooling PgBouncer needs) and, when given, `server_side_binding`, typed."""
    options: dict[str, object] = {}
    if "server_side_binding" in given:
        binding = given["server_side_binding"].lower()
        if binding not in {"true", "false"}:
            raise ConfigurationError(
                f"CUSTGUARD_DATABASE_URL={url!r}: server_side_binding must be true or false")
        options["server_side_binding"] = binding == "true"
    threshold_text = given.get("prepare_threshold", str(PREPARE_THRESHOLD))
    threshold: int | None = None
    if threshold_text:
        try:
            threshold = int(threshold_text)
        except ValueError:
            threshold = -1
        if threshold < 0:
            raise ConfigurationError(
                f"CUSTGUARD_DATABASE_URL={url!r}: prepare_threshold must be a whole number "
                "of 0 or more, or empty to prepare nothing")
    options["prepare_threshold"] = threshold
    return options


def database_from_url(url: str, *, data_dir: Path) -> dict[str, object]:
    """Turn `sqlite:///path` or `postgresql://user:pw@host:port/name` into a DATABASES entry."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        raw_path = unquote(parts.path)
        # sqlite:///relative.db is relative to the data dir; sqlite:////abs/path is absolute
        if not raw_path.strip("/"):
            raise ConfigurationError(f"CUSTGUARD_DATABASE_URL={url!r} names no database file")
        # sqlite:///name.db is relative to the data dir, sqlite:////abs/name.db is absolute
        path = Path(raw_path[1:])
        if not path.is_absolute():
            path = data_dir / path
        return {
            "ENGINE": "custguard.core.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                    # 64 MB of page cache per connection (the default is 2 MB): a bulk import
                    # or rescoring touches more pages than that, and every miss is a read.
                    "PRAGMA cache_size=-65536;"
                ),
            },
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
        }
    if scheme in {"postgres", "postgresql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigurationError(f"CUSTGUARD_DATABASE_URL={url!r} names no database")
        # An empty value is dropped, except where it means something (prepare_threshold).
        options = {key: values[-1]
                   for key, values in parse_qs(parts.query, keep_blank_values=True).items()
                   if values[-1] or key == "prepare_threshold"}
        options.update(_statement_options(url, options))
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError(
                f"CUSTGUARD_DATABASE_URL={url!r}: the port must be a number from 1 to 65535"
            ) from None
        return {
            "ENGINE": "custguard.core.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ConfigurationError(
        f"CUSTGUARD_DATABASE_URL={url!r}: the scheme must be sqlite:// or postgresql://"
    )
