"""The roster ``roster.xlsx``: writing, reading back, and the clerk's mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from xlsxflow.errors import UsageError
from xlsxflow.excel.roster_book import read_roster, write_roster
from xlsxflow.roster import (
    COMMITTEE_COLUMNS,
    COMMITTEE_SHEET,
    LEADER_COLUMNS,
    LEADER_SHEET,
    Committee,
    Leader,
    Roster,
)
from xlsxflow.sample_county import sample_roster

HEADER = [label for _, label, _ in COMMITTEE_COLUMNS]
LEADER_HEADER = [label for _, label, _ in LEADER_COLUMNS]


def row(
    code="T01",
    name="莲溪镇党委",
    kind="乡镇党委",
    contact="王建华",
    phone="13800000000",
    email="t01@example.invalid",
    leader="张卫东",
):
    return [code, name, kind, contact, phone, email, leader]


def make_book(
    path: Path,
    rows: list[list],
    *,
    header: list[str] | None = None,
    sheet: str = COMMITTEE_SHEET,
    leaders: list[list] | None = None,
) -> Path:
    """A roster as a clerk might have saved it from Excel."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(HEADER if header is None else header)
    for values in rows:
        ws.append(values)
    if leaders is not None:
        ls = book.create_sheet(LEADER_SHEET)
        ls.append(LEADER_HEADER)
        for values in leaders:
            ls.append(values)
    book.save(path)
    return path


def roster_error(path: Path) -> UsageError:
    with pytest.raises(UsageError) as info:
        read_roster(path)
    assert info.value.exit_code == 2
    assert str(path) in str(info.value)
    return info.value


# -- round trip ----------------------------------------------------------------------------


def test_sample_roster_round_trips(tmp_path):
    roster = sample_roster()
    write_roster(tmp_path / "roster.xlsx", roster)
    assert read_roster(tmp_path / "roster.xlsx") == roster


def test_sample_county_is_realistic():
    roster = sample_roster()
    kinds = [c.kind for c in roster.committees]
    assert kinds.count("township") >= 15
    assert kinds.count("zone") >= 1
    assert kinds.count("organ") == 10
    assert len(set(roster.codes())) == len(roster.committees) == 30
    assert all(c.email.endswith(".invalid") for c in roster.committees)
    assert all(le.email.endswith(".invalid") for le in roster.leaders)
    assert roster.leaders
    assert len(sample_roster(100).committees) == 100
    assert len(set(sample_roster(100).codes())) == 100
    assert sample_roster(3).codes() == ["T01", "T02", "T03"]


def test_written_roster_is_what_a_clerk_expects(tmp_path):
    path = tmp_path / "roster.xlsx"
    write_roster(path, sample_roster())
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [COMMITTEE_SHEET, LEADER_SHEET]
    ws = book[COMMITTEE_SHEET]
    assert [c.value for c in ws[1]] == HEADER
    assert ws["A2"].value == "T01"
    assert ws["B2"].value == "莲溪镇党委"
    assert ws["C2"].value == "乡镇党委"  # the kind in Chinese, as in the drop-down
    assert ws.freeze_panes == "A2"
    kind_lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(kind_lists) == 1
    assert "乡镇党委" in kind_lists[0].formula1
    assert "C2" in kind_lists[0].sqref
    leaders = book[LEADER_SHEET]
    assert [c.value for c in leaders[1]] == LEADER_HEADER
    assert leaders["D2"].value == "是"
    # every cell is text, so codes like 0101 and phone numbers keep their digits
    assert all(c.data_type == "s" for r in ws.iter_rows(min_row=2) for c in r)


def test_writing_twice_gives_identical_bytes(tmp_path):
    write_roster(tmp_path / "a.xlsx", sample_roster())
    write_roster(tmp_path / "b.xlsx", sample_roster())
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_hostile_text_round_trips_as_plain_text(tmp_path):
    hostile = Committee(
        code="X1",
        name='=HYPERLINK("http://x","y")',
        kind="organ",
        contact="+1+1",
        phone="@SUM(A1)",
        email="x1@example.invalid",
        leader="-2+3",
    )
    roster = Roster(
        committees=(hostile,),
        leaders=(Leader(name="=1+1", email="l@example.invalid", receives_summary=False),),
    )
    path = tmp_path / "roster.xlsx"
    write_roster(path, roster)
    assert read_roster(path) == roster
    ws = openpyxl.load_workbook(path)[COMMITTEE_SHEET]
    assert ws["B2"].data_type == "s"
    assert ws["B2"].value == '=HYPERLINK("http://x","y")'


def test_numbers_typed_by_the_clerk_are_read_as_text(tmp_path):
    path = make_book(tmp_path / "r.xlsx", [row(code=101, phone=13800000000)])
    committee = read_roster(path).committees[0]
    assert committee.code == "101"
    assert committee.phone == "13800000000"


def test_columns_may_be_reordered_and_extra_columns_kept(tmp_path):
    header = ["备注", *reversed(HEADER)]
    values = ["随便写", *reversed(row())]
    roster = read_roster(make_book(tmp_path / "r.xlsx", [values], header=header))
    assert roster.committees[0].name == "莲溪镇党委"
    assert roster.committees[0].kind == "township"


def test_kind_may_be_the_code_and_cells_are_trimmed(tmp_path):
    path = make_book(
        tmp_path / "r.xlsx",
        [row(kind="zone", name="  银湖新区党工委 ", email=" t01@example.invalid ")],
    )
    committee = read_roster(path).committees[0]
    assert committee.kind == "zone"
    assert committee.name == "银湖新区党工委"
    assert committee.email == "t01@example.invalid"


def test_blank_rows_are_skipped_but_count_for_row_numbers(tmp_path):
    path = make_book(
        tmp_path / "r.xlsx",
        [row(), [None] * 7, row(code="T02", email="bad-address")],
    )
    err = roster_error(path)
    assert "第 4 行" in str(err)


def test_leaders_sheet_is_optional_and_read_with_flags(tmp_path):
    path = make_book(tmp_path / "r.xlsx", [row()])
    assert read_roster(path).leaders == ()
    path = make_book(
        tmp_path / "r2.xlsx",
        [row()],
        leaders=[
            ["张卫东", "部长", "bz@example.invalid", "是"],
            ["李慧敏", "副部长", "fbz@example.invalid", "否"],
            ["陈志强", "", "kz@example.invalid", None],
        ],
    )
    leaders = read_roster(path).leaders
    assert [(le.name, le.receives_summary) for le in leaders] == [
        ("张卫东", True),
        ("李慧敏", False),
        ("陈志强", True),
    ]


NAME = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() == s and s.strip())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(NAME, min_size=1, max_size=5))
def test_any_valid_names_round_trip(tmp_path, names):
    committees = tuple(
        Committee(code=f"C{i}", name=name, kind="organ", email=f"c{i}@example.invalid")
        for i, name in enumerate(names)
    )
    roster = Roster(committees=committees)
    path = tmp_path / "roster.xlsx"
    write_roster(path, roster)
    assert read_roster(path) == roster


# -- errors --------------------------------------------------------------------------------


def test_duplicate_code_names_both_rows(tmp_path):
    path = make_book(
        tmp_path / "r.xlsx",
        [row(), row(code="T02", email="t02@example.invalid"), row(name="另一个党委")],
    )
    err = roster_error(path)
    assert err.code == "roster.duplicate_code"
    assert "第 4 行" in str(err)
    assert "第 2 行" in str(err)
    assert "“T01”" in str(err)


def test_duplicate_code_written_by_write_roster(tmp_path):
    one = sample_roster(2).committees
    roster = Roster(committees=(one[0], one[1], one[0]))
    write_roster(tmp_path / "roster.xlsx", roster)
    err = roster_error(tmp_path / "roster.xlsx")
    assert err.fields["row"] == 4
    assert err.fields["first_row"] == 2


def test_codes_differing_only_in_case_are_duplicates(tmp_path):
    """Codes name folders and files, and Windows does not tell T01 from t01."""
    path = make_book(tmp_path / "r.xlsx", [row(), row(code="t01", email="x@example.invalid")])
    err = roster_error(path)
    assert err.code == "roster.duplicate_code"
    assert "“t01”" in str(err)
    assert "第 2 行" in str(err)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("T02", "A_镇党委"), ("T02_A", "镇党委")),  # codes may hold "_"
        (("T02", "a_x"), ("T02_A", "x")),  # … and Windows ignores case
        (("T02", "A/镇党委"), ("T02_A", "镇党委")),  # "/" is made "_" in a file name
    ],
)
def test_committees_whose_folders_would_be_one_are_refused(tmp_path, first, second):
    """Templates and feedback go to ``<code>_<name>`` folders: two committees must never
    share one (each would get the other's forms, and send would mail them)."""
    path = make_book(
        tmp_path / "r.xlsx",
        [
            row(code=first[0], name=first[1]),
            row(code="T03", name="别的党委", email="t03@example.invalid"),
            row(code=second[0], name=second[1], email="x@example.invalid"),
        ],
    )
    err = roster_error(path)
    assert err.code == "roster.duplicate_folder"
    assert (err.fields["row"], err.fields["first_row"]) == (4, 2)
    assert "第 4 行" in str(err) and "第 2 行" in str(err) and "文件夹" in str(err)


@pytest.mark.parametrize(
    "email", ["not-an-address", "a@b", "a b@example.cn", "a@example.cn\nBcc: x@y.cn", ""]
)
def test_bad_email(tmp_path, email):
    err = roster_error(make_book(tmp_path / "r.xlsx", [row(email=email)]))
    assert err.code == "roster.invalid"
    assert "第 2 行" in str(err)
    assert "“电子邮箱”" in str(err)


def test_unknown_kind_lists_the_chinese_choices(tmp_path):
    err = roster_error(make_book(tmp_path / "r.xlsx", [row(kind="街道党委")]))
    assert err.code == "roster.invalid"
    message = str(err)
    assert "第 2 行“类别”" in message
    assert "乡镇党委" in message
    assert "县直单位党（工）委" in message
    assert "township" not in message


@pytest.mark.parametrize(
    ("values", "column"),
    [
        (row(code="T 01"), "编号"),
        (row(code="../x"), "编号"),
        (row(code="名称"), "编号"),
        (row(code=None), "编号"),
        (row(name=None), "党委名称"),
        (row(name="党" * 61), "党委名称"),
        (row(name="莲溪镇\n党委"), "党委名称"),
        (row(name="莲溪\r镇"), "党委名称"),
        (row(contact="王\n建华"), "联系人"),
        (row(phone="138\t0000"), "联系电话"),
    ],
)
def test_invalid_cells_name_row_and_column(tmp_path, values, column):
    err = roster_error(make_book(tmp_path / "r.xlsx", [row(code="A0", email="a@x.cn"), values]))
    assert err.code == "roster.invalid"
    assert f"第 3 行“{column}”" in str(err)


def test_newline_message_tells_what_to_do(tmp_path):
    err = roster_error(make_book(tmp_path / "r.xlsx", [row(name="莲溪镇\n党委")]))
    assert "换行" in str(err)


def test_missing_column_header(tmp_path):
    header = [label for label in HEADER if label != "电子邮箱"]
    err = roster_error(make_book(tmp_path / "r.xlsx", [row()[:-1]], header=header))
    assert err.code == "roster.column_missing"
    assert "“电子邮箱”" in str(err)
    assert f"“{COMMITTEE_SHEET}”" in str(err)


def test_missing_leader_column(tmp_path):
    path = make_book(tmp_path / "r.xlsx", [row()], leaders=[])
    book = openpyxl.load_workbook(path)
    book[LEADER_SHEET].delete_cols(4)
    book.save(path)
    err = roster_error(path)
    assert err.code == "roster.column_missing"
    assert "“接收汇总”" in str(err)


def test_bad_leader_row(tmp_path):
    path = make_book(tmp_path / "r.xlsx", [row()], leaders=[["张卫东", "部长", "nope", "是"]])
    err = roster_error(path)
    assert err.code == "roster.invalid"
    assert f"“{LEADER_SHEET}”第 2 行“电子邮箱”" in str(err)


def test_missing_sheet(tmp_path):
    err = roster_error(make_book(tmp_path / "r.xlsx", [row()], sheet="Sheet1"))
    assert err.code == "roster.sheet_missing"
    assert f"“{COMMITTEE_SHEET}”" in str(err)


@pytest.mark.parametrize("rows", [[], [[None] * 7, ["", "", "", "", "", "", ""]]])
def test_empty_roster(tmp_path, rows):
    err = roster_error(make_book(tmp_path / "r.xlsx", rows))
    assert err.code == "roster.empty"


def test_sheet_without_header_row(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = COMMITTEE_SHEET
    book.save(tmp_path / "r.xlsx")
    err = roster_error(tmp_path / "r.xlsx")
    assert err.code == "roster.column_missing"


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04broken"])
def test_unreadable_roster(tmp_path, content):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(content)
    err = roster_error(path)
    assert err.code == "roster.unreadable"
    assert "无法打开" in str(err)
    assert "file." not in str(err)  # the reader's finding in words, not its code


def test_missing_roster_file(tmp_path):
    err = roster_error(tmp_path / "roster.xlsx")
    assert err.code == "roster.unreadable"


def test_model_rejects_what_the_reader_rejects():
    with pytest.raises(ValidationError):
        Committee(code="T01", name="a\nb", kind="township", email="a@b.cn")
    with pytest.raises(ValidationError):
        Committee(code="T01", name="甲\x07乙", kind="township", email="a@b.cn")
    with pytest.raises(ValidationError):
        Committee(code="T01", name="甲", kind="village", email="a@b.cn")
    with pytest.raises(ValidationError):
        Committee(code="T01", name="甲", kind="township", email="a@b.cn", extra="x")
    roster = sample_roster()
    assert roster.committee("T01").name == "莲溪镇党委"
    with pytest.raises(KeyError):
        roster.committee("NOPE")


def test_a_roster_read_once_is_kept_until_its_file_changes(tmp_path, monkeypatch):
    """``read_roster_kept``: the roster as read is kept in the data folder (a province's
    takes longer to read than to load) and read again when the file is another."""
    from xlsxflow.excel import roster_book

    path, kept = tmp_path / "roster.xlsx", tmp_path / "data" / "roster.json"
    roster = sample_roster()
    write_roster(path, roster)
    reads: list[Path] = []
    real = roster_book.read_roster
    monkeypatch.setattr(roster_book, "read_roster", lambda p: (reads.append(p), real(p))[1])
    assert roster_book.read_roster_kept(path, kept) == roster
    assert not kept.exists()  # (no data folder yet: nothing made for it)
    kept.parent.mkdir()
    for _ in range(3):
        assert roster_book.read_roster_kept(path, kept) == roster
    assert len(reads) == 2 and kept.exists()
    renamed = tuple(c.model_copy(update={"name": "改了名的党委"}) for c in roster.committees)
    write_roster(path, roster.model_copy(update={"committees": renamed}))
    assert roster_book.read_roster_kept(path, kept).committees[0].name == "改了名的党委"
    assert len(reads) == 3
    kept.write_text('{"key": "not JSON of a roster', encoding="utf-8")  # cut short
    assert roster_book.read_roster_kept(path, kept).committees[0].name == "改了名的党委"
    assert len(reads) == 4
    # under the right key, what the reader would refuse: read again, not believed
    found = json.loads(kept.read_text(encoding="utf-8"))
    first = found["roster"]["committees"][0]
    for bad in ([], [first, {**first, "code": first["code"].lower()}]):
        kept.write_text(json.dumps({**found, "roster": {"committees": bad}}), encoding="utf-8")
        assert len(roster_book.read_roster_kept(path, kept).committees) == len(renamed)
    kept.write_text("[" * 100_000, encoding="utf-8")  # nested too deep to parse
    assert len(roster_book.read_roster_kept(path, kept).committees) == len(renamed)
    assert len(reads) == 7
    path.unlink()
    with pytest.raises(UsageError):  # (a roster kept does not stand in for a missing file)
        roster_book.read_roster_kept(path, kept)
