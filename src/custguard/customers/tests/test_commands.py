"""`custguard regions import|list` and `custguard import customers`."""

from __future__ import annotations

from io import BytesIO, StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command

from custguard.core.models import AuditEntry, User
from custguard.core.services.audit import verify_chain
from custguard.customers.models import Contact, Customer, Region, Standing

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exited:
        return int(exited.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


# --- regions ----------------------------------------------------------------------------------


def test_regions_import_creates_and_renames_and_is_audited(regions: None, tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_text("code,name,parent\n980000,华东大区,\n980600,上海片区,980000\n"
                    "980601,浦东,980600\n110000,北京,\n", encoding="utf-8")
    code, out, _err = run("regions", "import", str(path))
    assert code == 0
    assert out.strip() == "regions imported: 3 created, 1 updated"
    assert Region.objects.get(pk="980601").parent_id == "980600"
    assert Region.objects.get(pk="110000").name == "北京"
    entry = AuditEntry.objects.get(action="region.import")
    assert entry.after == {"rows": 4, "created": 3, "updated": 1}
    assert verify_chain() is None


def test_regions_import_reports_every_bad_row_and_writes_nothing(regions: None,
                                                                 tmp_path: Path) -> None:
    before = list(Region.objects.order_by("code").values())
    path = tmp_path / "regions.csv"
    path.write_text("code,name,parent\n98000,短码,\n980600,,\n980601,甲,990000\n"
                    "980700,乙,980701\n980701,丙,980700\n", encoding="utf-8")
    code, _out, err = run("regions", "import", str(path))
    assert code == 1
    assert "row 2: code: '98000' is not a 6-digit code" in err
    assert "row 3: name: is empty" in err
    assert "row 4: parent: parent 990000 is neither in the file nor known" in err
    assert "row 5: parent: 980700 would become its own ancestor via 980700" in err
    assert list(Region.objects.order_by("code").values()) == before
    assert not AuditEntry.objects.exists()


def test_regions_import_refuses_a_cycle_through_the_existing_table(regions: None,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    # 130100 (石家庄) has parent 130000; making 130000 a child of 130100 closes a loop.
    path.write_text("code,name,parent\n130000,河北省,130100\n", encoding="utf-8")
    code, _out, err = run("regions", "import", str(path))
    assert code == 1 and "own ancestor" in err
    assert Region.objects.get(pk="130000").parent_id is None


def test_regions_list_top_level(regions: None) -> None:
    code, out, _err = run("regions", "list", "--parent", "")
    lines = out.splitlines()
    assert code == 0 and len(lines) == Region.objects.filter(parent__isnull=True).count()
    assert lines[0].startswith("110000")


# --- customers --------------------------------------------------------------------------------

HEADER = "name,kind,region,account_manager,phone,contact_name,contact_phone\n"


@pytest.fixture
def manager(make_user: object) -> User:
    return make_user("account_manager", username="zhang")  # type: ignore[operator]


def test_import_creates_every_row_with_codes_standing_contacts_and_audit(
        regions: None, manager: User, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "甲贸易有限公司,enterprise,130100,zhang,13800138000,王伟,13900139000\n"
                    "乙经销部,dealer,130100,,,,\n", encoding="utf-8")
    code, out, _err = run("import", "customers", str(path), "--no-progress")
    assert code == 0, _err
    assert out.strip() == "2 row(s), 0 problem(s), 2 customer(s) created"
    assert list(Customer.objects.order_by("code").values_list("code", "name")) == [
        ("130100001", "甲贸易有限公司"), ("130100002", "乙经销部")]
    assert Standing.objects.count() == 2
    assert Contact.objects.get().phone == "13900139000"
    assert AuditEntry.objects.filter(action="customer.import").count() == 1
    assert verify_chain() is None


def test_import_with_bad_rows_reports_each_and_writes_nothing(regions: None, manager: User,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "好公司,enterprise,130100,,,,\n"
                    "坏公司,bogus,130100,,,,\n"
                    ",dealer,999999,nobody,call-me,,\n", encoding="utf-8")
    code, _out, err = run("import", "customers", str(path), "--no-progress")
    assert code == 1
    assert "row 3, column kind: " in err
    assert "row 4, column name: " in err
    assert "row 4, column region: " in err
    assert "row 4, column account_manager: " in err
    assert "row 4, column phone: " in err
    assert err.strip().endswith("(nothing written: fix the rows above, or use --partial)")
    assert not Customer.objects.exists()
    assert Region.objects.get(pk="130100").last_serial == 0
    assert not AuditEntry.objects.exists()


def test_import_partial_writes_the_good_rows(regions: None, manager: User,
                                             tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "好公司,enterprise,130100,,,,\n坏公司,bogus,130100,,,,\n",
                    encoding="utf-8")
    code, _out, err = run("import", "customers", str(path), "--partial", "--no-progress")
    assert code == 1  # problems were found, even though the good rows went in
    assert list(Customer.objects.values_list("name", flat=True)) == ["好公司"]
    assert "1 customer(s) created" in err


def test_import_dry_run_writes_nothing(regions: None, manager: User, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "好公司,enterprise,130100,,,,\n", encoding="utf-8")
    code, out, _err = run("import", "customers", str(path), "--dry-run", "--no-progress")
    assert code == 0 and "dry run" in out
    assert not Customer.objects.exists()


def test_import_reads_xlsx(regions: None, manager: User, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "kind", "region"])
    sheet.append(["表格公司", "enterprise", "130100"])
    buffer = BytesIO()
    book.save(buffer)
    path = tmp_path / "customers.xlsx"
    path.write_bytes(buffer.getvalue())
    code, _out, err = run("import", "customers", str(path), "--no-progress")
    assert code == 0, err
    assert Customer.objects.get().code == "130100001"


def test_import_as_an_unknown_user_is_refused(regions: None, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER, encoding="utf-8")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no active user named 'ghost'"):
        call_command("import", "customers", str(path), "--as", "ghost")


def test_import_as_a_role_without_the_permission_is_refused(regions: None, tmp_path: Path,
                                                            make_user: object) -> None:
    make_user("finance", username="cfo")  # type: ignore[operator]
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "好公司,enterprise,130100,,,,\n", encoding="utf-8")
    code, _out, err = run("import", "customers", str(path), "--as", "cfo", "--no-progress")
    assert code == 1 and "may not import" in err
    assert not Customer.objects.exists()
