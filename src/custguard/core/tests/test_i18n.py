"""Translations: the zh_Hans catalog is complete, the shipped .mo files match the .po files, and
pages and API problems speak Simplified Chinese by default and English on request."""

from __future__ import annotations

import ast
import gettext
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from custguard.core.actors import Actor
from custguard.core.models import User
from custguard.customers import services
from custguard.customers.models import CustomerGroup, Region

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ("zh_Hans", "en")


@pytest.fixture(autouse=True)
def _default_language_afterwards() -> Iterator[None]:
    """Requests activate their language in this thread; leave the default for later tests."""
    yield
    translation.deactivate()


# --- the catalogs ---------------------------------------------------------------------------


def po_entries(path: Path) -> list[dict[str, Any]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr / msgstr[n] (as one
    list) and flags. Enough of the format for the catalogs makemessages writes."""
    entries: list[dict[str, Any]] = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict[str, Any] = {"flags": set(), "msgstr": []}
        key = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                text = ast.literal_eval(line)
                if key == "msgstr":
                    entry["msgstr"][-1] += text
                else:
                    entry[key] += text
            else:
                keyword, _space, literal = line.partition(" ")
                key = "msgstr" if keyword.startswith("msgstr") else keyword
                text = ast.literal_eval(literal)
                if key == "msgstr":
                    entry["msgstr"].append(text)
                else:
                    entry[key] = text
        entries.append(entry)
    return entries


def test_the_catalogs_exist_with_their_compiled_files() -> None:
    for language in LANGUAGES:
        directory = LOCALE_DIR / language / "LC_MESSAGES"
        assert (directory / "django.po").is_file(), directory
        assert (directory / "django.mo").is_file(), directory


def test_every_message_has_a_chinese_translation_and_none_is_fuzzy() -> None:
    entries = po_entries(LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po")
    header, messages = entries[0], entries[1:]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    assert len(messages) > 300
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"])]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []
    # zh has one plural form: every plural message has exactly one msgstr[0].
    wrong_plurals = [e["msgid"] for e in messages
                     if "msgid_plural" in e and len(e["msgstr"]) != 1]
    assert wrong_plurals == []


def test_the_english_catalog_lists_the_same_messages() -> None:
    def keys(language: str) -> set[tuple[str, str]]:
        entries = po_entries(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")[1:]
        return {(e.get("msgctxt", ""), e["msgid"]) for e in entries}

    assert keys("en") == keys("zh_Hans")


def _catalog(mo: Path) -> dict[Any, str]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_up_to_date(language: str, tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext (msgfmt) is not installed")
    directory = LOCALE_DIR / language / "LC_MESSAGES"
    fresh = tmp_path / "django.mo"
    # --check also verifies that every translation keeps the placeholders of its msgid.
    subprocess.run([msgfmt, "--check", "-o", str(fresh), str(directory / "django.po")],
                   check=True, capture_output=True)
    assert _catalog(directory / "django.mo") == _catalog(fresh), (
        f"{directory}/django.mo is stale: run `custguard compilemessages` in src/custguard")


# --- pages ----------------------------------------------------------------------------------


def set_language(client: Client, language: str, next_url: str) -> None:
    response = client.post("/i18n/setlang/", {"language": language, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url


@pytest.mark.django_db
def test_the_login_page_is_chinese_by_default_and_english_after_switching() -> None:
    client = Client()
    page = client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录您的账号" in page and "Log in to your account" not in page

    set_language(client, "en", "/login/")
    page = client.get("/login/").content.decode()
    assert '<html lang="en">' in page
    assert "Log in to your account" in page and "登录您的账号" not in page


@pytest.mark.django_db
def test_the_customer_list_is_chinese_by_default_and_english_after_switching(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    client = client_for(personas["sales_manager"])
    url = reverse("customers:list")
    page = client.get(url).content.decode()
    # Template text, a navigation label, a filter's choice label, a table's empty text.
    for chinese in ("新建客户", "导出 CSV", "集团客户", "战略客户", "没有符合条件的客户。"):
        assert chinese in page, chinese
    assert "New customer" not in page and "No customers match." not in page

    set_language(client, "en", url)
    page = client.get(url).content.decode()
    for english in ("New customer", "Export CSV", "Groups", "Strategic", "No customers match."):
        assert english in page, english
    assert "新建客户" not in page and "没有符合条件的客户。" not in page


@pytest.mark.django_db
def test_a_service_refusal_reaches_the_page_in_the_readers_language(
        regions: None, personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    sales = personas["sales_manager"]
    actor = Actor.for_user(sales)
    first, second = (services.create_customer(actor, region=Region.objects.get(pk="110000"),
                                              name=name, kind="enterprise")
                     for name in ("甲公司", "乙公司"))
    services.create_group(actor, name="甲集团", parent=first)
    client = client_for(sales)
    url = reverse("customers:group_create")
    body = {"name": "甲集团", "parent": second.code, "members": "", "notes": ""}

    page = client.post(url, body).content.decode()
    assert "名为 甲集团 的集团已存在" in page
    set_language(client, "en", url)
    page = client.post(url, body).content.decode()
    assert "a group named 甲集团 already exists" in page
    assert CustomerGroup.objects.count() == 1


# --- the API --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_problems_are_chinese_by_default_and_english_on_request(
        regions: None, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    client = Client()
    headers = bearer_for(personas["sales_manager"])
    body = {"name": "新客户", "kind": "enterprise", "region": "999999"}

    def post(payload: dict[str, Any], **extra: str) -> dict[str, Any]:
        response = client.post("/api/v1/customers", payload, content_type="application/json",
                               **headers, **extra)
        assert response.status_code == 422, response.content
        problem: dict[str, Any] = response.json()
        assert problem["type"].endswith("/validation_failed")
        return problem

    # A domain error raised by the service (the region does not exist).
    chinese = post(body)
    assert chinese["title"] == "校验未通过"
    assert chinese["detail"] == "region: 地区 999999 不存在"
    assert chinese["errors"] == [{"field": "region", "reason": "地区 999999 不存在"}]
    english = post(body, HTTP_ACCEPT_LANGUAGE="en")
    assert english["title"] == "Validation failed"
    assert english["detail"] == "region 999999 does not exist"  # already names the field
    assert english["errors"] == [{"field": "region", "reason": "region 999999 does not exist"}]

    # A schema error found before any service runs (a missing and an unknown field).
    bad = {"name": "新客户", "region": "110000", "code": "110000001"}
    chinese = post(bad)
    reasons = {e["field"]: e["reason"] for e in chinese["errors"]}
    assert reasons == {"kind": "此字段为必填项", "code": "未知字段"}
    assert "kind: 此字段为必填项" in chinese["detail"]
    english = post(bad, HTTP_ACCEPT_LANGUAGE="en")
    reasons = {e["field"]: e["reason"] for e in english["errors"]}
    assert reasons == {"kind": "this field is required", "code": "unknown field"}


@pytest.mark.django_db
def test_an_unauthenticated_api_call_is_answered_in_the_requested_language(
        client: Client) -> None:
    chinese = client.get("/api/v1/customers").json()
    assert (chinese["title"], chinese["detail"]) == ("未认证", "请提供有效的 Bearer 令牌或先登录")
    english = client.get("/api/v1/customers", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (english["title"], english["detail"]) == ("Unauthorized",
                                                     "send a valid bearer token or log in")


# --- the receivables and credit apps --------------------------------------------------------


@pytest.mark.django_db
def test_one_english_word_takes_the_chinese_of_its_context(
        personas: dict[str, User], client_for: Callable[[User], Client]) -> None:
    """"Open" is an invoice status (未结清), an order state (待开票) and a button (查看); "Active"
    is an override's status (生效中) and a customer's (有效): pgettext contexts keep them apart."""
    finance = client_for(personas["finance"])
    credit = client_for(personas["credit_manager"])
    pages = [(finance, reverse("ledger:invoices"), "未结清", "Open"),
             (finance, reverse("ledger:orders"), "待开票", "Open"),
             (credit, reverse("credit:overrides"), "生效中", "Active")]
    for client, url, chinese, english in pages:
        page = client.get(url).content.decode()
        assert f">{chinese}</option>" in page, (url, chinese)
        assert f">{english}</option>" not in page, (url, english)
    invoices = finance.get(reverse("ledger:invoices")).content.decode()
    assert "没有符合条件的发票。" in invoices and "应收账款" in invoices

    for client, url, chinese, english in pages:
        set_language(client, "en", url)
        page = client.get(url).content.decode()
        assert f">{english}</option>" in page, (url, english)
        assert f">{chinese}</option>" not in page, (url, chinese)
    invoices = finance.get(reverse("ledger:invoices")).content.decode()
    assert "No invoices match." in invoices and "Receivables" in invoices


@pytest.mark.django_db
def test_a_ledger_schema_error_is_worded_in_the_requested_language(
        regions: None, personas: dict[str, User],
        bearer_for: Callable[[User], dict[str, str]]) -> None:
    customer = services.create_customer(Actor.for_user(personas["sales_manager"]),
                                        region=Region.objects.get(pk="110000"),
                                        name="账款客户", kind="enterprise")
    client = Client()
    headers = bearer_for(personas["erp_integration"])
    body = {"customer": customer.code, "source": "erp", "external_id": "A\x00B",
            "issued_on": "2025-01-01", "due_on": "2025-01-31", "amount": "100.00"}

    def reasons(**extra: str) -> dict[str, str]:
        response = client.post("/api/v1/invoices", body, content_type="application/json",
                               **headers, **extra)
        assert response.status_code == 422, response.content
        return {e["field"]: e["reason"] for e in response.json()["errors"]}

    assert reasons() == {"external_id": "不得包含 NUL 字符"}
    assert reasons(HTTP_ACCEPT_LANGUAGE="en") == {
        "external_id": "must not contain NUL characters"}
