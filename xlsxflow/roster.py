"""The roster (名册): committees the department works with, and leaders who get summaries.

The clerk keeps it in ``roster.xlsx``; ``excel.roster_book`` reads and writes that file
through the column lists below, so the headers are spelled once.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xlsxflow.filenames import safe_component

CommitteeKind = Literal["township", "zone", "organ"]

# Letters, digits, '-' and '_': committee codes end up in file names and instance ids.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$"
# A deliberately plain address check: no spaces or line breaks can reach a mail header.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
# C0/C1 controls and the Unicode line separators: all end a header line somewhere.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

COMMITTEE_SHEET = "基层党委名册"
LEADER_SHEET = "领导名单"
COMMITTEE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("code", "编号", 10),
    ("name", "党委名称", 30),
    ("kind", "类别", 22),
    ("contact", "联系人", 10),
    ("phone", "联系电话", 16),
    ("email", "电子邮箱", 30),
    ("leader", "分管领导", 10),
)
LEADER_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("name", "姓名", 10),
    ("title", "职务", 30),
    ("email", "电子邮箱", 30),
    ("receives_summary", "接收汇总", 10),
)


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("含有换行或不可见字符，请删除")
    return value


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Committee(_Row):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=60)
    kind: CommitteeKind
    contact: str = Field("", max_length=20)
    phone: str = Field("", max_length=30)
    email: str = Field(pattern=EMAIL_PATTERN)
    leader: str = Field("", max_length=20)

    _check_text = field_validator("name", "contact", "phone", "leader")(_no_control)

    @property
    def folder(self) -> str:
        """The name of this committee's folder in outbox/ and feedback/. Unique on the
        roster ignoring case (``excel.roster_book``): codes may hold ``_``, so "T02" +
        "A_镇" and "T02_A" + "镇" would otherwise share one."""
        return safe_component(f"{self.code}_{self.name}")


class Leader(_Row):
    name: str = Field(min_length=1, max_length=20)
    title: str = Field("", max_length=60)
    email: str = Field(pattern=EMAIL_PATTERN)
    receives_summary: bool = True

    _check_text = field_validator("name", "title")(_no_control)


class Roster(BaseModel):
    model_config = ConfigDict(frozen=True)

    committees: tuple[Committee, ...]
    leaders: tuple[Leader, ...] = ()

    def committee(self, code: str) -> Committee:
        """The committee with ``code`` (KeyError if none): a dict look-up, as the
        register asks once per row."""
        return self._by_code[code]

    def name_of(self, code: str, fallback: str = "") -> str:
        """The name of the committee with ``code``, or ``fallback`` if none (one look-up:
        the register asks it for every row of most of its sheets)."""
        found = self._by_code.get(code)
        return found.name if found is not None else fallback

    def coded(self, code: str) -> Committee | None:
        """The committee whose code is ``code`` ignoring case (codes are unique so: a
        code typed over a form's own, in another case, still names that committee)."""
        return self._by_folded_code.get(code.casefold())

    @cached_property
    def _by_folded_code(self) -> dict[str, Committee]:
        found: dict[str, Committee] = {}
        for c in self.committees:
            found.setdefault(c.code.casefold(), c)
        return found

    def named(self, name: str) -> Committee | None:
        """The committee called ``name``, if one is (a dict look-up: asked of returns
        whose header names a committee other than the one they were issued to)."""
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Committee]:
        found: dict[str, Committee] = {}
        for c in self.committees:
            found.setdefault(c.name, c)
        return found

    def codes(self) -> list[str]:
        return [c.code for c in self.committees]

    def has(self, code: str) -> bool:
        """Whether ``code`` is on the roster (a set lookup: called once per return)."""
        return code in self._code_set

    @cached_property
    def _code_set(self) -> frozenset[str]:
        return frozenset(c.code for c in self.committees)

    @cached_property
    def _by_code(self) -> dict[str, Committee]:
        found: dict[str, Committee] = {}
        for c in self.committees:
            found.setdefault(c.code, c)  # the first, as the scan it replaced
        return found
