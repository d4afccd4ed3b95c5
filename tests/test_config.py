"""The workspace configuration ``xlsxflow.toml``: rendering, loading and its errors."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsxflow.config import (
    Config,
    CycleConfig,
    MailConfig,
    NumberingConfig,
    ScoringConfig,
    load_config,
    render_config,
)
from xlsxflow.errors import CATALOGUE, UsageError
from xlsxflow.workspace import CONFIG_NAME


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def load_error(tmp_path: Path, text: str) -> UsageError:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_config(path)
    err = info.value
    assert err.exit_code == 2
    assert str(path) in str(err)
    return err


# -- defaults and rendering ------------------------------------------------------------------


def test_defaults_are_the_first_cycle_of_the_source():
    config = Config()
    cycle = config.cycle
    assert cycle.year == 2011
    assert cycle.county == "南昌县"
    assert cycle.department == "县委组织部"
    assert cycle.notice_date == dt.date(2011, 10, 28)
    assert cycle.application_deadline == dt.date(2011, 12, 31)
    assert cycle.implementation_end == dt.date(2012, 6, 30)
    assert cycle.dispatch_meetings == (
        dt.date(2012, 3, 31),
        dt.date(2012, 6, 30),
        dt.date(2012, 9, 30),
        dt.date(2012, 12, 31),
    )
    assert cycle.acceptance_deadline == dt.date(2012, 12, 31)
    assert cycle.cycle_end == dt.date(2012, 12, 31)
    scoring = config.scoring
    weights = (
        scoring.weight_goal,
        scoring.weight_satisfaction,
        scoring.weight_benefit,
        scoring.weight_extensibility,
    )
    assert weights == (40, 30, 15, 15)
    assert config.numbering.pattern.format(year=2011, type="CX", seq=7) == "NCX-2011-CX-007"
    assert config.mail.host == ""
    assert config.mail.password_env == "XLSXFLOW_SMTP_PASSWORD"


def test_render_config_loads_back_equal(tmp_path):
    text = render_config(Config())
    assert load_config(write(tmp_path, text)) == Config()


def test_rendered_config_comments_every_key_in_chinese():
    text = render_config(Config())
    lines = text.splitlines()
    sections = [line for line in lines if line.startswith("[")]
    assert sections == ["[cycle]", "[numbering]", "[compliance]", "[scoring]", "[mail]"]
    keys = [line for line in lines if " = " in line and not line.startswith("#")]
    data = tomllib.loads(text)
    assert len(keys) == sum(len(section) for section in data.values())
    for i, line in enumerate(lines):
        if line in keys:
            comment = lines[i - 1]
            assert comment.startswith("# "), line
            assert any("\u4e00" <= ch <= "\u9fff" for ch in comment), comment
    # no secret has a place in the file
    assert "password =" not in text
    assert "password_env" in data["mail"]


def test_dates_are_rendered_as_toml_dates_not_strings():
    data = tomllib.loads(render_config(Config()))
    assert data["cycle"]["notice_date"] == dt.date(2011, 10, 28)
    assert data["cycle"]["dispatch_meetings"][0] == dt.date(2012, 3, 31)


def test_for_year_moves_every_date():
    config = Config.for_year(2026)
    cycle = config.cycle
    assert cycle.year == 2026
    assert cycle.notice_date == dt.date(2026, 10, 28)
    assert cycle.application_deadline == dt.date(2026, 12, 31)
    assert cycle.implementation_end == dt.date(2027, 6, 30)
    assert cycle.dispatch_meetings == (
        dt.date(2027, 3, 31),
        dt.date(2027, 6, 30),
        dt.date(2027, 9, 30),
        dt.date(2027, 12, 31),
    )
    assert cycle.acceptance_deadline == dt.date(2027, 12, 31)
    # everything else keeps its default
    assert config.scoring == ScoringConfig()
    assert config.numbering == NumberingConfig()
    assert Config.for_year(2011) == Config()


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=2000, max_value=2100))
def test_for_year_round_trips_through_the_file(year):
    config = Config.for_year(year)
    assert config.cycle.year == year
    data = tomllib.loads(render_config(config))
    assert Config.model_validate(data) == config


TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)


@settings(max_examples=150, deadline=None)
@given(county=TEXT, department=TEXT, sender_name=st.text(max_size=40), username=st.text())
def test_any_text_value_round_trips(county, department, sender_name, username):
    """Quotes, backslashes, line breaks and control characters survive rendering."""
    config = Config(
        cycle=CycleConfig(county=county, department=department),
        mail=MailConfig(sender_name=sender_name, username=username),
    )
    data = tomllib.loads(render_config(config))
    assert Config.model_validate(data) == config


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=0, max_value=100, places=1, allow_nan=False), min_size=3, max_size=3
    )
)
def test_decimal_weights_round_trip(weights):
    rest = Decimal(100) - sum(weights)
    if not 0 <= rest <= 100:
        return
    scoring = ScoringConfig(
        weight_goal=weights[0],
        weight_satisfaction=weights[1],
        weight_benefit=weights[2],
        weight_extensibility=rest,
    )
    config = Config(scoring=scoring)
    data = tomllib.loads(render_config(config))
    assert Config.model_validate(data) == config


def test_partial_file_takes_defaults_for_the_rest(tmp_path):
    config = load_config(write(tmp_path, '[cycle]\ncounty = "青山县"\n'))
    assert config.cycle.county == "青山县"
    assert config.cycle.year == 2011
    assert config.scoring == ScoringConfig()


# -- errors --------------------------------------------------------------------------------


def test_unknown_key_names_file_and_key(tmp_path):
    text = render_config(Config()).replace("[cycle]\n", "[cycle]\nyeer = 2012\n")
    err = load_error(tmp_path, text)
    assert err.code == "config.invalid"
    assert "“cycle.yeer”" in str(err)
    assert "不认识的配置项" in str(err)


def test_unknown_section_is_rejected(tmp_path):
    err = load_error(tmp_path, render_config(Config()) + '\n[maill]\nhost = "x"\n')
    assert err.code == "config.invalid"
    assert "“maill”" in str(err)


def test_bad_date_names_the_key(tmp_path):
    text = replace_line(
        render_config(Config()), "notice_date = 2011-10-28", 'notice_date = "十月二十八日"'
    )
    err = load_error(tmp_path, text)
    assert err.code == "config.invalid"
    assert "cycle.notice_date" in str(err)
    assert "不是有效的日期" in str(err)


def test_impossible_date_is_a_syntax_error(tmp_path):
    text = replace_line(
        render_config(Config()), "notice_date = 2011-10-28", "notice_date = 2011-13-45"
    )
    err = load_error(tmp_path, text)
    assert err.code == "config.syntax"
    assert "格式错误" in str(err)


def test_deadlines_out_of_order(tmp_path):
    text = replace_line(
        render_config(Config()),
        "application_deadline = 2011-12-31",
        "application_deadline = 2011-10-01",
    )
    err = load_error(tmp_path, text)
    assert err.code == "config.invalid"
    message = str(err)
    assert "“cycle”" in message
    assert "notice_date（2011-10-28）不能晚于 application_deadline（2011-10-01）" in message


def test_dispatch_meetings_must_be_in_order(tmp_path):
    text = replace_line(
        render_config(Config()),
        "dispatch_meetings = [2012-03-31, 2012-06-30, 2012-09-30, 2012-12-31]",
        "dispatch_meetings = [2012-06-30, 2012-03-31]",
    )
    err = load_error(tmp_path, text)
    assert "dispatch_meetings" in str(err)
    assert "先后顺序" in str(err)


def test_notice_date_must_lie_in_the_cycle_year(tmp_path):
    text = replace_line(render_config(Config()), "year = 2011", "year = 2012")
    err = load_error(tmp_path, text)
    assert "notice_date" in str(err)
    assert "2012" in str(err)


def test_weights_must_sum_to_100(tmp_path):
    text = replace_line(render_config(Config()), "weight_goal = 40", "weight_goal = 50")
    err = load_error(tmp_path, text)
    assert err.code == "config.invalid"
    assert "“scoring”" in str(err)
    assert "四项权重之和必须为 100，现在是 110" in str(err)


def test_grades_must_be_ordered(tmp_path):
    text = replace_line(render_config(Config()), "grade_good = 80", "grade_good = 95")
    err = load_error(tmp_path, text)
    assert "优秀 ≥ 良好 ≥ 合格" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "key", "phrase"),
    [
        ("weight_goal = 40", "weight_goal = -40", "scoring.weight_goal", "不能小于 0"),
        ("weight_goal = 40", 'weight_goal = "很多"', "scoring.weight_goal", "应为数字"),
        ("year = 2011", "year = 1999", "cycle.year", "不能小于 2000"),
        ("year = 2011", 'year = "二〇一一"', "cycle.year", "应为整数"),
        ("decimals = 1", "decimals = 1.5", "scoring.decimals", "应为整数"),
        ("port = 465", "port = 70000", "mail.port", "不能大于 65535"),
        ('security = "ssl"', 'security = "tls"', "mail.security", "只能是"),
        ('county = "南昌县"', 'county = ""', "cycle.county", "不能为空"),
        ('county = "南昌县"', "county = 3", "cycle.county", "应为文字"),
        (
            'password_env = "XLSXFLOW_SMTP_PASSWORD"',
            'password_env = "MY PASSWORD"',
            "mail.password_env",
            "格式不正确",
        ),
        (
            "dispatch_meetings = [2012-03-31, 2012-06-30, 2012-09-30, 2012-12-31]",
            'dispatch_meetings = "每季度末"',
            "cycle.dispatch_meetings",
            "应为列表",
        ),
    ],
)
def test_field_errors_are_chinese_and_name_the_key(tmp_path, old, new, key, phrase):
    err = load_error(tmp_path, replace_line(render_config(Config()), old, new))
    assert err.code == "config.invalid"
    assert f"“{key}”" in str(err)
    assert phrase in str(err)


def test_a_value_where_a_section_belongs(tmp_path):
    err = load_error(tmp_path, "scoring = 1\n")
    assert "“scoring”：应为一个 [小节]" in str(err)


def test_toml_syntax_error(tmp_path):
    err = load_error(tmp_path, "[cycle\nyear = 2011\n")
    assert err.code == "config.syntax"
    assert str(err).startswith(f"配置文件 {tmp_path / CONFIG_NAME} 格式错误")


def test_a_file_saved_by_notepad_with_a_byte_order_mark_is_read(tmp_path):
    """Notepad's "UTF-8 with BOM": the same settings as without the mark."""
    text = render_config(Config()).replace("南昌县", "青山县")
    path = tmp_path / CONFIG_NAME
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_config(path).cycle.county == "青山县"


def test_a_file_saved_as_ansi_is_told_how_to_save_it_again(tmp_path):
    """Older Notepad saved as ANSI (GBK on a Chinese Windows) by default."""
    path = tmp_path / CONFIG_NAME
    path.write_bytes(render_config(Config()).encode("gbk"))
    with pytest.raises(UsageError) as info:
        load_config(path)
    assert info.value.code == "config.encoding"
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"配置文件 {path} 不是 UTF-8 编码")
    assert "选择“UTF-8”" in str(info.value)


def test_mail_templates_saved_by_notepad_are_read_or_told_about(tmp_path):
    from xlsxflow.mail import TEMPLATES_NAME, load_templates

    path = tmp_path / TEMPLATES_NAME
    path.write_bytes(b"\xef\xbb\xbf" + '[templates]\nsubject = "表格（{committee}）"\n'.encode())
    assert load_templates(tmp_path)["templates"]["subject"] == "表格（{committee}）"
    path.write_bytes('[templates]\nsubject = "表格（{committee}）"\n'.encode("gbk"))
    with pytest.raises(UsageError) as info:
        load_templates(tmp_path)
    assert info.value.code == "config.encoding"


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.exit_code == 2
    assert "nope.toml" in str(info.value)


@pytest.mark.parametrize(
    ("pattern", "phrase"),
    [
        ("NCX-{yr}-{seq}", "只能使用"),
        ("NCX-{0}", "只能使用"),
        ("NCX-{year}-{type}", "必须包含序号"),
        ("NCX-{seq:q}", "只能使用"),
        ("NCX-{seq", "只能使用"),
        ("NCX-{seq[0]}", "只能使用"),
        ("NCX-{year.real.x}-{seq}", "只能使用"),
        ("NCX-{seq!z}", "只能使用"),
    ],
)
def test_bad_numbering_pattern(tmp_path, pattern, phrase):
    text = replace_line(
        render_config(Config()),
        'pattern = "NCX-{year}-{type}-{seq:03d}"',
        f'pattern = "{pattern}"',
    )
    err = load_error(tmp_path, text)
    assert err.code == "config.invalid"
    assert "numbering.pattern" in str(err)
    assert phrase in str(err)


@pytest.mark.parametrize("pattern", ["{type}{year}{seq:04d}", "XM-{seq}", "{year}{seq:02d}"])
def test_good_numbering_patterns(pattern):
    numbering = NumberingConfig(pattern=pattern)
    assert numbering.pattern.format(year=2011, type="CX", seq=1) != numbering.pattern.format(
        year=2011, type="CX", seq=2
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_pattern_is_accepted_or_a_chinese_error(tmp_path_factory, pattern):
    """No pattern text makes loading crash with anything but a UsageError."""
    escaped = pattern.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(
        ch if ord(ch) >= 32 and ord(ch) != 127 else f"\\u{ord(ch):04x}" for ch in escaped
    )
    path = write(tmp_path_factory.mktemp("pattern"), f'[numbering]\npattern = "{escaped}"\n')
    try:
        config = load_config(path)
    except UsageError as err:
        assert err.exit_code == 2
        assert err.code in ("config.invalid", "config.syntax")
    else:
        assert config.numbering.pattern == pattern


def test_every_catalogue_message_is_chinese():
    for entry in CATALOGUE.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.template), entry.code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.title), entry.code
