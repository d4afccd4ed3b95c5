"""Strings shaped like xlsxwriter's own rich-string XML stay text in what we write."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlsxflow.excel.inert import MAX_CELL_UNITS, fit_cell, looks_rich, new_workbook

# Closes the inline string and opens a formula cell if copied into the XML unescaped.
SMUGGLED = '<r><t>a</t></r></is></c><c r="B1"><f>1+1</f><v>2</v></c><c r="C1" t="inlineStr"><is><r><t>b</t></r>'


def written(text: str, constant_memory: bool, how: str) -> bytes:
    buffer = io.BytesIO()
    book = new_workbook(buffer, constant_memory=constant_memory)
    ws = book.add_worksheet("表")
    fmt = book.add_format({"bold": True})
    if how == "write":
        ws.write(0, 0, text)
    elif how == "row":
        ws.write_row(0, 0, [text])
    else:
        ws.write_string(0, 0, text, fmt)
    book.close()
    return buffer.getvalue()


def parts(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "".join(
            zf.read(n).decode() for n in zf.namelist() if re.match(r"xl/(worksheets|shared)", n)
        )


@pytest.mark.parametrize("constant_memory", [True, False])
@pytest.mark.parametrize("how", ["write", "row", "string"])
def test_rich_looking_text_cannot_smuggle_a_formula(constant_memory: bool, how: str) -> None:
    data = written(SMUGGLED, constant_memory, how)
    assert "<f>" not in parts(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["表"]
    assert sheet["A1"].value == SMUGGLED
    assert sheet["B1"].value is None


@given(
    st.text(
        # control characters are left out: xlsxwriter escapes them twice in rich strings
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
        max_size=40,
    )
)
def test_any_text_between_rich_markers_reads_back_verbatim(middle: str) -> None:
    text = f"<r>{middle}</r>"
    data = written(text, True, "string")
    assert openpyxl.load_workbook(io.BytesIO(data))["表"]["A1"].value == text


@pytest.mark.parametrize("constant_memory", [True, False])
def test_text_that_looks_rich_only_once_cut_to_excels_limit_stays_text(
    constant_memory: bool,
) -> None:
    """32,767 code points, one of them outside the BMP (two UTF-16 units): xlsxwriter
    cuts the last character off, and what is left starts with <r> and ends with </r>."""
    head, tail = "<r>" + SMUGGLED[3:], "</t></r>"
    pad = MAX_CELL_UNITS - len(head) - len(tail) - 2  # the 𠀀 below counts twice
    text = head + "𠀀" + "x" * pad + tail + "y"
    assert len(text) == MAX_CELL_UNITS and not looks_rich(text)
    assert looks_rich(fit_cell(text))
    data = written(text, constant_memory, "string")
    assert "<f>" not in parts(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["表"]
    assert sheet["A1"].value == text[:-1]
    assert sheet["B1"].value is None
