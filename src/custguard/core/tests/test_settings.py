"""Settings come from the environment through helpers that fail fast, naming the variable."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from custguard.env import (
    ConfigurationError,
    database_from_url,
    env_bool,
    env_currency,
    env_int,
    env_list,
    env_path,
    env_str,
    env_time_zone,
)

VAR = "CUSTGUARD_TEST_VARIABLE"


# --- the helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), (" on ", True),
    ("false", False), ("0", False), ("No", False), ("off", False), ("", False),
])
def test_env_bool_reads_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, raw: str,
                                            expected: bool) -> None:
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, not expected) is expected


def test_env_bool_default_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_bool(VAR, True) is True
    assert env_bool(VAR, False) is False


@pytest.mark.parametrize("raw", ["maybe", "ture", "2", "y e s"])
def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                            raw: str) -> None:
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ConfigurationError, match=VAR) as refused:
        env_bool(VAR, False)
    assert repr(raw) in str(refused.value)
    assert "boolean" in str(refused.value)


def test_env_int(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_int(VAR, 5) == 5
    monkeypatch.setenv(VAR, "12")
    assert env_int(VAR, 5, minimum=1) == 12
    monkeypatch.setenv(VAR, "twelve")
    with pytest.raises(ConfigurationError, match=f"{VAR}='twelve' is not an integer"):
        env_int(VAR, 5)
    monkeypatch.setenv(VAR, "1.5")
    with pytest.raises(ConfigurationError, match=VAR):
        env_int(VAR, 5)
    monkeypatch.setenv(VAR, "0")
    with pytest.raises(ConfigurationError, match=f"{VAR}=0 must be at least 1"):
        env_int(VAR, 5, minimum=1)


def test_env_str_list_and_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_str(VAR) is None
    assert env_str(VAR, "x") == "x"
    assert env_list(VAR, ["a"]) == ["a"]
    assert env_path(VAR, tmp_path) == tmp_path
    monkeypatch.setenv(VAR, " a.example.com, ,b.example.com ")
    assert env_list(VAR, []) == ["a.example.com", "b.example.com"]
    monkeypatch.setenv(VAR, str(tmp_path / "sub" / ".." / "data"))
    assert env_path(VAR, Path("/nowhere")) == tmp_path / "data"


def test_env_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_time_zone(VAR, "Asia/Shanghai") == "Asia/Shanghai"
    monkeypatch.setenv(VAR, "Europe/Berlin")
    assert env_time_zone(VAR, "Asia/Shanghai") == "Europe/Berlin"
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "Asia/"):
        monkeypatch.setenv(VAR, bad)
        with pytest.raises(ConfigurationError, match=f"{VAR}=.*not a known IANA time zone"):
            env_time_zone(VAR, "Asia/Shanghai")


def test_env_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_currency(VAR, "CNY") == "CNY"
    monkeypatch.setenv(VAR, " eur ")
    assert env_currency(VAR, "CNY") == "EUR"
    for bad in ("EURO", "E1R", "¥", ""):
        monkeypatch.setenv(VAR, bad)
        with pytest.raises(ConfigurationError, match=f"{VAR}=.*not an ISO 4217 currency code"):
            env_currency(VAR, "CNY")


# --- database URLs ------------------------------------------------------------------------


def test_sqlite_relative_path_is_inside_the_data_dir(tmp_path: Path) -> None:
    db = database_from_url("sqlite:///custguard.sqlite3", data_dir=tmp_path)
    assert db["ENGINE"] == "custguard.core.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "custguard.sqlite3")
    assert db["TEST"] == {"NAME": str(tmp_path / "test_custguard.sqlite3")}
    options = db["OPTIONS"]
    assert isinstance(options, dict)
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "busy_timeout" in options["init_command"]
    assert "journal_mode=WAL" in options["init_command"]
    nested = database_from_url("sqlite:///db/main.db", data_dir=tmp_path)
    assert nested["NAME"] == str(tmp_path / "db" / "main.db")


def test_sqlite_absolute_path(tmp_path: Path) -> None:
    db = database_from_url(f"sqlite:///{tmp_path}/abs.db", data_dir=Path("/elsewhere"))
    assert db["NAME"] == str(tmp_path / "abs.db")
    assert db["TEST"] == {"NAME": str(tmp_path / "test_abs.db")}


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:////"])
def test_sqlite_without_a_file_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CUSTGUARD_DATABASE_URL.*names no database"):
        database_from_url(url, data_dir=tmp_path)


def test_postgresql_url_with_everything(tmp_path: Path) -> None:
    db = database_from_url(
        "postgresql://cg%40ops:p%40ss%3Aword@db.internal:6543/custguard?sslmode=require"
        "&connect_timeout=5", data_dir=tmp_path)
    assert db["ENGINE"] == "custguard.core.backends.postgresql"
    assert db["NAME"] == "custguard"
    assert db["USER"] == "cg@ops"
    assert db["PASSWORD"] == "p@ss:word"
    assert db["HOST"] == "db.internal"
    assert db["PORT"] == "6543"
    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5",
                             "prepare_threshold": 5}


@pytest.mark.parametrize(("query", "binding", "threshold"), [
    ("server_side_binding=false", False, 5),
    ("prepare_threshold=", None, None),
    ("prepare_threshold=0&server_side_binding=TRUE", True, 0),
])
def test_postgresql_statement_options_are_typed(query: str, binding: bool | None,
                                                threshold: int | None, tmp_path: Path) -> None:
    db = database_from_url(f"postgresql://h/cg?{query}", data_dir=tmp_path)
    options = db["OPTIONS"]
    assert isinstance(options, dict)
    assert (options.get("server_side_binding"), options["prepare_threshold"]) == (
        binding, threshold)


@pytest.mark.parametrize(("query", "named"), [
    ("server_side_binding=yes", "server_side_binding"),
    ("prepare_threshold=-1", "prepare_threshold"),
    ("prepare_threshold=five", "prepare_threshold"),
])
def test_bad_statement_options_are_refused_naming_them(query: str, named: str,
                                                      tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=f"CUSTGUARD_DATABASE_URL.*{named}"):
        database_from_url(f"postgresql://h/cg?{query}", data_dir=tmp_path)


def test_postgres_alias_and_minimal_url(tmp_path: Path) -> None:
    db = database_from_url("postgres://localhost/cg", data_dir=tmp_path)
    assert db["ENGINE"] == "custguard.core.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "cg", "", "", "localhost", "")


def test_postgresql_without_a_database_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CUSTGUARD_DATABASE_URL.*names no database"):
        database_from_url("postgresql://user:pw@host:5432/", data_dir=tmp_path)


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "custguard.sqlite3", "", "http://x/y"])
def test_other_schemes_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CUSTGUARD_DATABASE_URL.*scheme"):
        database_from_url(url, data_dir=tmp_path)


def test_a_bad_port_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CUSTGUARD_DATABASE_URL"):
        database_from_url("postgresql://u@host:notaport/db", data_dir=tmp_path)


# --- importing the settings in a clean process --------------------------------------------


def _clean_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT")
           if key in os.environ}
    env |= {"CUSTGUARD_DATA_DIR": str(tmp_path / "data"), "CUSTGUARD_TESTING": "false"}
    env |= variables
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert "DJANGO_SETTINGS_MODULE" not in env
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=120, check=False)


PROBE = ("import sys; import custguard.settings as s; "
         "assert 'pytest' not in sys.modules; print(s.DEBUG, s.TESTING, s.DATABASES['default']"
         "['ENGINE'])")


def test_settings_refuse_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = _run(["-c", PROBE], _clean_env(tmp_path), tmp_path)
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert "CUSTGUARD_SECRET_KEY is required" in result.stderr


def test_settings_start_without_a_secret_key_in_debug(tmp_path: Path) -> None:
    result = _run(["-c", PROBE], _clean_env(tmp_path, CUSTGUARD_DEBUG="true"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "custguard.core.backends.sqlite3"]


def test_settings_start_with_a_secret_key(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, CUSTGUARD_SECRET_KEY=secrets.token_urlsafe(50),
                     CUSTGUARD_AUDIT_KEY=secrets.token_urlsafe(32))
    result = _run(["-c", PROBE], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "custguard.core.backends.sqlite3"]


def test_settings_refuse_to_start_without_an_audit_key(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, CUSTGUARD_SECRET_KEY=secrets.token_urlsafe(50))
    result = _run(["-c", PROBE], env, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("custguard.env.ConfigurationError")
    assert "CUSTGUARD_AUDIT_KEY is required" in last_line


def test_settings_refuse_a_short_audit_key(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, CUSTGUARD_SECRET_KEY=secrets.token_urlsafe(50),
                     CUSTGUARD_AUDIT_KEY="short")
    result = _run(["-c", PROBE], env, tmp_path)
    assert result.returncode != 0
    assert "CUSTGUARD_AUDIT_KEY is too short" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(("variable", "value"), [
    ("CUSTGUARD_DEBUG", "perhaps"),
    ("CUSTGUARD_TIME_ZONE", "Moon/Base"),
    ("CUSTGUARD_CURRENCY", "YUAN"),
    ("CUSTGUARD_SESSION_HOURS", "ten"),
    ("CUSTGUARD_DATABASE_URL", "mysql://db/custguard"),
    ("CUSTGUARD_TRUSTED_PROXIES", "10.0.0.1, proxy.example.com"),
    ("CUSTGUARD_TOKEN_MAX_DAYS", "0"),
])
def test_a_bad_variable_stops_start_up_naming_it(tmp_path: Path, variable: str,
                                                 value: str) -> None:
    env = _clean_env(tmp_path, CUSTGUARD_SECRET_KEY=secrets.token_urlsafe(50),
                     CUSTGUARD_AUDIT_KEY=secrets.token_urlsafe(32))
    env[variable] = value
    result = _run(["-c", PROBE], env, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("custguard.env.ConfigurationError")
    assert variable in last_line


@pytest.mark.budget(3, why="starts a fresh interpreter and a whole Django with production "
                             "settings: the point of the test is that nothing is loaded yet")
def test_deploy_check_passes_with_the_documented_production_variables(tmp_path: Path) -> None:
    env = _clean_env(
        tmp_path,
        CUSTGUARD_SECRET_KEY=secrets.token_urlsafe(50),
        CUSTGUARD_AUDIT_KEY=secrets.token_urlsafe(32),
        CUSTGUARD_ALLOWED_HOSTS="custguard.example.com",
        CUSTGUARD_DEBUG="false",
        CUSTGUARD_TESTING="false",
        CUSTGUARD_HTTPS="true",
    )
    result = _run(["-m", "custguard", "check", "--deploy", "--fail-level", "WARNING"], env,
                  tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_when_https_is_off(tmp_path: Path) -> None:
    """The check is not vacuous: the same variables without HTTPS produce warnings."""
    env = _clean_env(
        tmp_path,
        CUSTGUARD_SECRET_KEY=secrets.token_urlsafe(50),
        CUSTGUARD_AUDIT_KEY=secrets.token_urlsafe(32),
        CUSTGUARD_ALLOWED_HOSTS="custguard.example.com",
        CUSTGUARD_HTTPS="false",
    )
    result = _run(["-m", "custguard", "check", "--deploy", "--fail-level", "WARNING",
                   "--tag", "security"], env, tmp_path)
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS
