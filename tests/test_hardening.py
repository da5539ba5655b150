"""Hardening: bad input never crashes the toolkit, never gives silently wrong numbers.

Every bad input either loads correctly (the numbers are asserted) or raises
``DataError``/``ScenarioError`` naming the file, the 1-based spreadsheet row (header =
row 1) and the column. ``docs/bad_inputs.md`` lists each case with the test that covers
it. Fixtures: ``tests/fixtures/bad/`` (text files, byte-exact) and bytes generated here
(BOM, CRLF, binary). Builds on ``tests/test_data.py`` (which covers the original
fixtures) rather than repeating it.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import pathlib
import re
import tempfile
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from forecast import scenarios
from forecast.data import DROP_MULTIMODAL, load_models, load_training_runs, parse_number
from forecast.errors import DataError, ForecastError, SamplingWarning, ScenarioError
from forecast.exhaustion import exhaustion_chunked
from forecast.units import monthly_grid

BAD = pathlib.Path(__file__).resolve().parent / "fixtures" / "bad"
PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "forecast"
WORDS = 4 / 3  # Epoch's (datapoints) columns hold words; 1 token = 0.75 words

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def check_report(df: pd.DataFrame) -> None:
    """No row is lost without a reason: read == kept + sum(dropped)."""
    report = df.attrs["load_report"]
    assert report.rows_read == report.rows_kept + sum(report.dropped.values())
    assert report.rows_kept == len(df)


def assert_located(err: DataError, path, row, column) -> None:
    """The error and its one-line message name the file, the row and the column."""
    assert err.file == str(path)
    assert err.row == row
    assert err.column == column
    text = str(err)
    assert str(path) in text and "\n" not in text
    if row is not None:
        assert f"row {row}" in text
    if column is not None:
        assert f"column '{column}'" in text


def write(tmp_path, payload: bytes, name: str = "input.csv") -> pathlib.Path:
    path = tmp_path / name
    path.write_bytes(payload)
    return path


# --- CSV: files that must be rejected, with file, row and column ----------------------------

REJECTED = [
    # fixture, row, column, message fragment
    ("tab_delimited.csv", 1, None, "separated by tabs"),
    ("semicolon_delimited.csv", 1, None, "separated by semicolons"),
    ("duplicate_header.csv", 1, "tokens", "appears twice"),
    ("duplicate_header_case.csv", 1, "Tokens", "same column"),
    ("overflow_1e400.csv", 3, "tokens", "too large"),
    ("date_us_slashes.csv", 3, "date", "'12/31/2023' is not a date"),
    ("date_month_13.csv", 2, "date", "'2023-13-01' is not a date"),
    ("date_yesterday.csv", 4, "date", "'yesterday' is not a date"),
    ("date_excel_serial.csv", 2, "date", "'45000' is not a date"),
    ("date_before_1900.csv", 2, "date", "before 1900"),
    ("european_decimal.csv", 2, "tokens", "'1,5' is not a number"),
    ("space_thousands.csv", 2, "tokens", "not a number"),
    ("hex_number.csv", 2, "tokens", "not a number"),
    ("underscore_number.csv", 2, "tokens", "not a number"),
    ("percent.csv", 2, "tokens", "not a number"),
    ("negative_zero.csv", 2, "tokens", "must be positive"),
    ("missing_model_name.csv", 3, "model", "missing model name"),
    ("empty_header.csv", 1, None, "header"),
    ("epoch_overflow.csv", 3, "Training dataset size (total)", "too large"),
    ("epoch_bad_date.csv", 2, "Publication date", "not a date"),
    ("epoch_negative_size.csv", 2, "(DEPRECATED) Training dataset size (datapoints)", "positive"),
    ("epoch_blank_name.csv", 3, "System", "missing model name"),
    ("epoch_missing_domain.csv", None, None, "without a 'Domain' column"),
    ("epoch_no_size_column.csv", None, None, "without a dataset-size column"),
    ("epoch_no_language.csv", None, None, "2 not a language model"),
]


@pytest.mark.parametrize(("name", "row", "column", "match"), REJECTED, ids=[r[0] for r in REJECTED])
def test_bad_csv_rejected_with_location(name, row, column, match):
    path = BAD / name
    with pytest.raises(DataError, match=re.escape(match)) as info:
        load_models(path)
    assert_located(info.value, path, row, column)


# --- CSV: odd but valid files load with the right numbers -----------------------------------


def test_huge_but_finite_values_load_exactly():
    df = load_models(BAD / "huge_1e300.csv").set_index("model")
    assert df.loc["Big", "tokens"] == 1e300
    assert df.loc["Small", "tokens"] == 1.5e12


def test_year_month_date_is_first_of_month():
    df = load_models(BAD / "date_year_month.csv")
    assert df["date"].iloc[0] == pd.Timestamp("2023-06-01")


def test_unicode_names_emoji_cjk_rtl_kept_verbatim():
    df = load_models(BAD / "unicode_names.csv").set_index("model")
    assert df.loc["\U0001f680 Rocket-7B", "tokens"] == 1e12
    assert df.loc["\U0001f680 Rocket-7B", "organization"] == "\u6df1\u5ea6\u6c42\u7d22"
    assert df.loc["\u901a\u4e49\u5343\u95ee-72B", "tokens"] == 3e12
    assert df.loc["\u05de\u05d5\u05d3\u05dc \u05e2\u05d1\u05e8\u05d9", "tokens"] == 2e11
    check_report(df.reset_index())


def test_quoted_newline_in_name_is_one_row():
    df = load_models(BAD / "quoted_newline_name.csv").set_index("model")
    assert df.loc["GPT\nfour", "tokens"] == 1.3e13
    assert df.loc["GPT\nfour", "notes"] == "line one\nline two"
    assert df.loc["B", "tokens"] == 2e9
    assert df.attrs["load_report"].rows_read == 2


def test_fullwidth_digits_are_the_same_number():
    # Python reads Unicode decimal digits; the value is what the cell says.
    assert load_models(BAD / "fullwidth_digits.csv")["tokens"].iloc[0] == 123.0


def test_signs_spaces_and_thousands_separators():
    df = load_models(BAD / "signs_and_spaces.csv").set_index("model")
    assert df.loc["A", "tokens"] == 1.5e12
    assert df.loc["B", "tokens"] == 2e6


def test_formula_like_names_are_plain_text():
    df = load_models(BAD / "formula_name.csv")
    assert set(df["model"]) == {'=HYPERLINK("http://x","y")', "@SUM(1+1)"}


def test_blank_rows_in_the_middle_are_counted_not_lost():
    df = load_models(BAD / "blank_rows_middle.csv")
    report = df.attrs["load_report"]
    assert list(df["tokens"]) == [1e9, 2e9]
    assert report.rows_read == 4 and report.dropped == {"blank row": 2}
    check_report(df)


def test_short_row_keeps_model_and_flags_missing_tokens():
    df = load_models(BAD / "short_row.csv").set_index("model")
    assert math.isnan(df.loc["A", "tokens"]) and df.loc["B", "tokens"] == 2e9
    assert df.attrs["load_report"].flagged == {"no disclosed token count": 1}


def test_padded_header_names_are_stripped():
    assert load_models(BAD / "padded_header.csv")["tokens"].iloc[0] == 1e9


def test_epoch_thousands_scientific_lowercase_domain():
    df = load_models(BAD / "epoch_thousands_sci.csv").set_index("model")
    assert df.loc["A", "tokens"] == pytest.approx(3e6 * WORDS, rel=1e-15)
    assert df.loc["B", "tokens"] == pytest.approx(4.5e11 * WORDS, rel=1e-15)
    assert df.loc["B", "date"] == pd.Timestamp("2021-06-01")
    assert math.isnan(df.loc["A", "parameters"]) and df.loc["B", "parameters"] == 1e9
    report = df.attrs["load_report"]
    assert any("'Parameters'" in note for note in report.notes)  # 'seven' -> NaN, reported
    check_report(df.reset_index())


# --- CSV: bytes (BOM, CRLF, binary, encodings) -----------------------------------------------

HEADER = "model,date,tokens"


def test_bom_crlf_header_only(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n\r\n")
    with pytest.raises(DataError, match="only a header") as info:
        load_models(path)
    assert_located(info.value, path, None, None)


@pytest.mark.parametrize("payload", [b"", b"\xef\xbb\xbf", b" \n\r\n\t\n"], ids=["0b", "bom", "ws"])
def test_empty_files(tmp_path, payload):
    path = write(tmp_path, payload)
    with pytest.raises(DataError, match="file is empty") as info:
        load_models(path)
    assert_located(info.value, path, None, None)


def test_bom_crlf_quoted_crlf_loads(tmp_path):
    text = HEADER + ',notes\r\nA,2020-01-01,"1,000","a\r\nb"\r\nB,2021-01-01,2e9,\r\n'
    df = load_models(write(tmp_path, b"\xef\xbb\xbf" + text.encode()))
    assert list(df["tokens"]) == [1000.0, 2e9]
    assert df["notes"].iloc[0] == "a\r\nb"


def test_old_mac_cr_line_endings(tmp_path):
    df = load_models(write(tmp_path, (HEADER + "\rA,2020-01-01,1e9\rB,2021-01-01,2e9\r").encode()))
    assert list(df["tokens"]) == [1e9, 2e9]


BINARY = {
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 1, None, "UTF-8"),
    "gzip": (gzip.compress(b"model,date,tokens\nA,2020-01-01,1e9\n"), 1, None, "UTF-8"),
    "utf16_bom": ((HEADER + "\nA,2020-01-01,1e9\n").encode("utf-16"), 1, None, "UTF-8"),
    "utf16le_no_bom": ((HEADER + "\nA,2020-01-01,1e9\n").encode("utf-16-le"), 1, None, "NUL"),
    "nul_in_cell": (
        (HEADER + "\nA,2020-01-01,1e9\nB\x00,2021-01-01,2e9\n").encode(),
        3,
        "model",
        "NUL",
    ),
    "latin1_date": (
        (HEADER + "\nA,2020-01-01,1e9\n").encode() + b"B,2021\xa001-01,2e9\n",
        3,
        "date",
        "UTF-8",
    ),
}


@pytest.mark.parametrize("kind", sorted(BINARY))
def test_binary_and_wrong_encoding_files(tmp_path, kind):
    payload, row, column, match = BINARY[kind]
    path = write(tmp_path, payload)
    with pytest.raises(DataError, match=match) as info:
        load_models(path)
    assert_located(info.value, path, row, column)


def test_cell_larger_than_csv_field_limit(tmp_path):
    big = "x" * 200_000  # csv's default field limit is 131072 characters
    path = write(
        tmp_path, f"{HEADER},notes\nA,2020-01-01,1e9,ok\nB,2021-01-01,2e9,{big}\n".encode()
    )
    with pytest.raises(DataError, match="malformed CSV") as info:
        load_models(path)
    assert_located(info.value, path, 3, None)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="is a directory") as info:
        load_models(tmp_path)
    assert info.value.file == str(tmp_path)


def test_unreachable_url_is_a_data_error(no_network):
    url = "https://example.invalid/models.csv"
    with pytest.raises(DataError, match="could not download") as info:
        load_models(url)
    assert info.value.file == url
    assert no_network, "the URL must be the only network attempt"


# --- CSV: property tests over every Epoch header variant ------------------------------------

EPOCH_SIZES = [
    ("Training dataset size (datapoints)", True),
    ("(DEPRECATED) Training dataset size (datapoints)", True),
    ("Training dataset size (gradients)", False),
    ("Training dataset size (total)", False),
]
NAME_CHARS = st.characters(
    categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x00\r\x85\u2028\u2029"
) | st.sampled_from(list("\U0001f680\u4e2d\u6587\u05e2\u05d1\u0645\u0631\u202e\n,\"'"))
names = st.text(NAME_CHARS, min_size=1, max_size=12).filter(lambda s: s.strip() == s and s != "")
epoch_row = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["ok", "ok", "ok", "vision", "nosize", "blank", "alternatives", "nodate"]
        ),
        "size": st.integers(min_value=1, max_value=10**16),
        "fmt": st.sampled_from(["plain", "sci", "thousands"]),
        "date": st.dates(
            min_value=pd.Timestamp("1950-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()
        ),
        "domain": st.sampled_from(
            ["Language", "language", "Multimodal,Language", " Language , Vision"]
        ),
    }
)


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _fmt(value: int, fmt: str) -> str:
    if fmt == "sci":
        return f"{value:.17e}"
    if fmt == "thousands":
        return _q(f"{value:,}")
    return str(value)


@FUZZ
@given(
    st.sampled_from(EPOCH_SIZES),
    st.sampled_from(["Model", "System"]),
    st.lists(st.tuples(names, epoch_row), min_size=1, max_size=8, unique_by=lambda t: t[0]),
    st.booleans(),
    st.booleans(),
)
def test_property_epoch_variants(size, name_col, rows, crlf, bom):
    size_col, in_words = size
    eol = "\r\n" if crlf else "\n"
    lines = [f"{name_col},Publication date,Domain,{_q(size_col)},Notes"]
    expected: dict[str, float] = {}
    dropped: dict[str, int] = {}
    for name, r in rows:
        kind = r["kind"]
        cells = [
            _q(name),
            r["date"].isoformat(),
            _q(r["domain"]),
            _fmt(r["size"], r["fmt"]),
            _q("n,o\nte"),
        ]
        multimodal = {d.strip().lower() for d in r["domain"].split(",")} != {"language"}
        if multimodal and kind in ("ok", "alternatives", "nodate"):
            # a size of mixed datapoints and no compute: not language demand
            dropped[DROP_MULTIMODAL] = dropped.get(DROP_MULTIMODAL, 0) + 1
        elif kind == "ok":
            expected[name] = r["size"] * (WORDS if in_words else 1.0)
        elif kind == "vision":
            cells[2] = "Vision"
            dropped["not a language model"] = dropped.get("not a language model", 0) + 1
        elif kind == "nosize":
            cells[3] = ""
            key = "no dataset size and no training compute"
            dropped[key] = dropped.get(key, 0) + 1
        elif kind == "alternatives":
            cells[3] = _q("1000,2000")
            key = "unparseable dataset size (e.g. comma-joined alternatives)"
            dropped[key] = dropped.get(key, 0) + 1
        elif kind == "nodate":
            cells[1] = ""
            dropped["no publication date"] = dropped.get("no publication date", 0) + 1
        else:
            cells = [""] * 5
            dropped["blank row"] = dropped.get("blank row", 0) + 1
        lines.append(",".join(cells))
    payload = (eol.join(lines) + eol).encode()
    # a trailing blank record is not a row; keep the last record non-blank for exact counts
    assume(rows[-1][1]["kind"] != "blank")
    with tempfile.TemporaryDirectory() as tmp:
        path = write(pathlib.Path(tmp), (b"\xef\xbb\xbf" if bom else b"") + payload)
        if not expected:
            with pytest.raises(DataError, match="no usable rows"):
                load_models(path)
            return
        df = load_models(path)
    report = df.attrs["load_report"]
    assert report.schema == f"epoch:{size_col}"
    assert report.rows_read == len(rows)
    assert report.dropped == dropped
    check_report(df)
    got = dict(zip(df["model"], df["tokens"], strict=True))
    assert got.keys() == expected.keys()
    for name, tokens in expected.items():
        assert got[name] == pytest.approx(tokens, rel=1e-15)


def _project_file(cells: dict[tuple[int, str], str]) -> bytes:
    columns = ("model", "date", "tokens", "parameters", "compute_flop", "confidence")
    base = [
        ["A", "2019-02-14", "4e10", "1.5e9", "", "likely"],
        ["B", "2020-05-28", "3e11", "1.75e11", "3.14e23", "confident"],
        ["C", "2022-03-29", "1.4e12", "7e10", "5.76e23", "confident"],
    ]
    for (i, col), text in cells.items():
        base[i][columns.index(col)] = text
    lines = [",".join(columns)] + [",".join(_q(c) for c in row) for row in base]
    return ("\n".join(lines) + "\n").encode()


@FUZZ
@given(
    st.integers(min_value=0, max_value=2),
    st.sampled_from(["date", "tokens", "parameters", "compute_flop", "confidence"]),
    st.text(max_size=30)
    | st.sampled_from(
        ["1e400", "-1", "0", "nan", "1,5", "2023-13-01", "12/31/2023", "yesterday", "1e300"]
    ),
)
def test_property_any_cell_text(index, column, text):
    """Any text in any cell: loads with that exact value, or an error at that row/column."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write(pathlib.Path(tmp), _project_file({(index, column): text}))
        try:
            df = load_models(path)
        except DataError as err:
            assert_located(err, path, index + 2, column)
            return
    check_report(df)
    by = df.set_index("model")
    untouched = {"A": 4e10, "B": 3e11, "C": 1.4e12}
    for name, tokens in untouched.items():
        if not (column == "tokens" and name == "ABC"[index]):
            assert by.loc[name, "tokens"] == tokens
    if column in ("tokens", "parameters", "compute_flop"):
        value = parse_number(text)
        got = by.loc["ABC"[index], column]
        assert (value is None and math.isnan(got)) or got == value > 0


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda s: (HEADER + "\n" + s).encode()))
def test_property_random_bytes_never_crash(payload):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(pathlib.Path(tmp), payload)
        try:
            df = load_models(path)
        except DataError as err:
            assert err.file == str(path) and str(path) in str(err)
            return
    check_report(df)
    tokens = df["tokens"].to_numpy()
    assert np.all(np.isnan(tokens) | (np.isfinite(tokens) & (tokens > 0)))


# --- scenario TOML --------------------------------------------------------------------------

TOML_REJECTED = [
    ("bad_syntax", 'name = "x"\ndraws = \n', "invalid TOML"),
    ("duplicate_key", 'name = "x"\nname = "y"\n', "invalid TOML"),
    ("empty", "", "missing required key 'name'"),
    ("unknown_top_key", 'name = "x"\ncolour = "red"\n', "unknown key(s) ['colour']"),
    (
        "unknown_demand_key",
        'name = "x"\n[demand]\ngrowth = 3\n',
        "unknown key(s) ['growth'] in [demand]",
    ),
    ("unknown_lever_key", 'name = "x"\n[stock]\nsynthetic = {ratio = 2, speed = 1}\n', "['speed']"),
    ("draws_zero", 'name = "x"\ndraws = 0\n', "draws must be between"),
    ("draws_float", 'name = "x"\ndraws = 1e5\n', "draws must be an integer"),
    ("draws_string", 'name = "x"\ndraws = "100000"\n', "draws must be an integer"),
    ("seed_negative", 'name = "x"\nseed = -1\n', "seed must be an integer from 0 to 2**32 - 1"),
    ("horizon_inf", 'name = "x"\nhorizon = inf\n', "horizon = inf is out of range"),
    ("horizon_1e400", 'name = "x"\nhorizon = 1e400\n', "horizon = inf is out of range"),
    ("start_nan", 'name = "x"\nstart = nan\n', "start = nan is out of range"),
    ("start_date_literal", 'name = "x"\nstart = 2024-01-01\n', "start must be a number"),
    (
        "horizon_before_start",
        'name = "x"\nstart = 2030.0\nhorizon = 2030.5\n',
        "more than a year after",
    ),
    ("name_blank", 'name = "  "\n', "name must be a non-empty string"),
    ("name_number", "name = 5\n", "name must be a non-empty string"),
    ("description_number", 'name = "x"\ndescription = 5\n', "description must be a string"),
    ("demand_not_table", 'name = "x"\ndemand = "frontier"\n', "[demand] must be a table"),
    ("demand_model_list", 'name = "x"\n[demand]\nmodel = ["frontier"]\n', "demand.model"),
    ("demand_model_unknown", 'name = "x"\n[demand]\nmodel = "magic"\n', "not one of"),
    ("overtraining_bool", 'name = "x"\n[demand]\novertraining = true\n', "must be a number"),
    ("overtraining_range", 'name = "x"\n[demand]\novertraining = 0.5\n', "out of range"),
    (
        "quality_reversed",
        'name = "x"\n[stock]\nquality_fraction = [0.4, 0.1]\n',
        "low 0.4 is above high 0.1",
    ),
    (
        "quality_one_item",
        'name = "x"\n[stock]\nquality_fraction = [0.4]\n',
        "must be a number or [low, high]",
    ),
    ("quality_string", 'name = "x"\n[stock]\nquality_fraction = "high"\n', "must be a number"),
    (
        "epochs_without_muennighoff",
        'name = "x"\n[stock]\nepochs = 4\n',
        "stock.epochs is only used",
    ),
    (
        "consent_string",
        'name = "x"\n[stock]\nconsent_restriction = "yes"\n',
        "true, false, a number, or a table",
    ),
    (
        "lever_value_string",
        'name = "x"\n[stock]\nconsent_restriction = {plateau = "x"}\n',
        "consent plateau",
    ),
    ("lever_negative", 'name = "x"\n[stock]\nsynthetic = {ratio = -1}\n', "synthetic ratio"),
    (
        "published_text_median",
        'name = "x"\n[published]\nmedian = "soon"\n',
        "published.median must be a number",
    ),
    (
        "extends_unknown",
        'name = "x"\nextends = "nope"\n',
        "extends = 'nope' is neither a built-in scenario",
    ),
    ("extends_number", 'name = "x"\nextends = 5\n', "extends must be a scenario name or path"),
    ("binary", "\udcff", "not UTF-8 text"),
]


@pytest.mark.parametrize(
    ("case", "text", "match"), TOML_REJECTED, ids=[c[0] for c in TOML_REJECTED]
)
def test_bad_scenario_toml(tmp_path, case, text, match):
    path = tmp_path / f"{case}.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ScenarioError, match=re.escape(match)) as info:
        scenarios.load_scenario(path)
    message = str(info.value)
    assert "\n" not in message or "invalid TOML" in message
    if case != "extends_unknown":
        assert str(path) in message


def test_extends_loop_is_reported(tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\nextends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('name = "b"\nextends = "a.toml"\n')
    (tmp_path / "self.toml").write_text('name = "s"\nextends = "self.toml"\n')
    for name in ("a.toml", "self.toml"):
        with pytest.raises(ScenarioError, match="loops back"):
            scenarios.load_scenario(tmp_path / name)


def test_extends_is_relative_to_the_file(tmp_path, monkeypatch):
    (tmp_path / "base.toml").write_text(
        'name = "base"\ndraws = 1234\n[demand]\nmodel = "epoch2022"\n'
    )
    (tmp_path / "child.toml").write_text('name = "child"\nextends = "base.toml"\nseed = 5\n')
    monkeypatch.chdir(tmp_path.parent)  # not the files' directory
    child = scenarios.load_scenario(tmp_path / "child.toml")
    assert (child.draws, child.seed, child.demand.model) == (1234, 5, "epoch2022")


def test_extends_baseline_with_flat_repetition():
    child = scenarios.from_toml('name = "c"\nextends = "baseline"\n[stock]\nrepetition = "flat"\n')
    assert child.stock.repetition == "flat" and child.stock.epochs is None


def test_toml_bom_and_crlf(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbfname = "x"\r\ndraws = 1000\r\n')
    assert scenarios.load_scenario(path).draws == 1000


def test_unreadable_toml_is_a_scenario_error(tmp_path, monkeypatch):
    path = tmp_path / "locked.toml"
    path.write_text('name = "x"\n')

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pathlib.Path, "read_text", denied)
    with pytest.raises(ScenarioError, match="cannot read: Permission denied"):
        scenarios.load_scenario(path)


def test_unicode_and_control_characters_round_trip():
    sc = scenarios.Scenario(
        name="\U0001f680 \u6a21\u578b \u05de\u05d5\u05d3\u05dc",
        description='tab\there, quote " back\\slash, CR\r, bell\x07, RTL \u202e',
    )
    back = scenarios.from_toml(sc.to_toml())
    assert back.to_dict() == sc.to_dict()


def test_toml_values_are_data_never_code():
    sc = scenarios.from_toml(
        "name = \"__import__('os').system('echo hi')\"\ndescription = \"${HOME}\"\n"
    )
    assert sc.name == "__import__('os').system('echo hi')" and sc.description == "${HOME}"


TOML_VALUE = st.recursive(
    st.none().map(lambda _: True)
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(
        [
            0.1,
            0.4,
            1.05,
            2.0,
            4,
            2024.0,
            2100.0,
            1000,
            "flat",
            "muennighoff",
            "frontier",
            "epoch2022",
        ]
    )
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["plateau", "ratio", "cutoff", "x"]), inner, max_size=2)
    ),
    max_leaves=6,
)
TOP = ["name", "description", "start", "horizon", "draws", "seed", "bogus"]
DEMAND = ["model", "overtraining", "overtraining_from", "tokens_per_parameter"]
STOCK = [
    "model",
    "quality_fraction",
    "stock_growth",
    "repetition",
    "epochs",
    "consent_restriction",
    "contamination",
    "isolation",
    "synthetic",
]


@FUZZ
@given(
    st.dictionaries(st.sampled_from(TOP), TOML_VALUE, max_size=4),
    st.dictionaries(st.sampled_from(DEMAND), TOML_VALUE, max_size=2),
    st.dictionaries(st.sampled_from(STOCK), TOML_VALUE, max_size=3),
)
def test_property_scenario_dicts(top, demand, stock):
    data = {"name": "fuzz", **top}
    if demand:
        data["demand"] = demand
    if stock:
        data["stock"] = stock
    try:
        sc = scenarios.from_dict(data, source="fuzz.toml")
    except ScenarioError as err:
        assert "fuzz.toml" in str(err)
        return
    assert scenarios.from_toml(sc.to_toml()).to_dict() == sc.to_dict()
    try:
        sc.stock.build()
    except ScenarioError:
        pass


@FUZZ
@given(st.text(max_size=200))
def test_property_random_toml_text(text):
    try:
        scenarios.from_toml(text, source="t.toml")
    except ScenarioError as err:
        assert "t.toml" in str(err)


# --- numerical edge cases -------------------------------------------------------------------


def _frame(rows):
    return pd.DataFrame(
        {
            "model": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "year": [pd.Timestamp(r[1]).year + pd.Timestamp(r[1]).dayofyear / 366 for r in rows],
            "tokens": [r[2] for r in rows],
            "compute_flop": [r[2] * 1e11 for r in rows],
            "parameters": [r[2] / 20 for r in rows],
        }
    )


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([("A", "2020-01-01", 1e9)], "at least 3 models"),
        ([("A", "2020-01-01", 1e9), ("B", "2021-01-01", 2e9)], "at least 3 models"),
        (
            [("A", "2022-01-01", 1e9), ("B", "2022-01-01", 2e9), ("C", "2022-01-01", 3e9)],
            "two different dates",
        ),
    ],
    ids=["one_model", "two_models", "one_date"],
)
def test_too_few_models_for_demand_fit(rows, match):
    from forecast import demand as dm
    from forecast.pipeline import fit_demand

    models = _frame(rows)
    for model in (dm.ExponentialTrend(), dm.FrontierTrend()):
        with pytest.raises(DataError, match=match) as info:
            model.fit(models, dm.SamplerConfig(draws=100, tune=100, chains=2))
        assert "\n" not in str(info.value)
    # fit_demand fits demand v3 (the default), which needs 6 runs with compute
    with pytest.raises(DataError, match=match.replace("3", r"\d+")):
        fit_demand(models, dm.SamplerConfig(draws=100, tune=100, chains=2), use_cache=False)


def _epoch2022(seed: int = 1, **changes):
    from forecast.pipeline import run_scenario

    return run_scenario("epoch2022-high-quality", None, draws=1000, seed=seed, **changes)


def test_demand_already_above_stock_is_flagged():
    result = _epoch2022(start=2040.0, horizon=2060.0)
    assert result.exhaustion.already_exhausted_share == 1.0
    payload = result.to_json_dict()
    assert payload["already_exhausted_at_start"] == 1.0
    assert payload["exhaustion_year"]["median"] == pytest.approx(2040.0)
    json.dumps(payload, allow_nan=False)


def test_shrinking_stock_runs_and_exhausts_earlier():
    base = _epoch2022().exhaustion.quantile(0.5)
    shrinking = _epoch2022(**{"stock.stock_growth": 0.5}).exhaustion.quantile(0.5)
    assert shrinking <= base


def test_horizon_reached_not_exhausted_share():
    result = _epoch2022(horizon=2023.2)
    payload = result.to_json_dict()
    assert payload["not_exhausted_by_horizon"] > 0.9
    assert payload["exhaustion_year"]["p97_5"] is None  # after the horizon
    assert all(0 <= p <= 0.1 for p in payload["prob_exhausted_by"].values())
    json.dumps(payload, allow_nan=False)


def test_zero_width_interval_when_all_draws_identical():
    years = monthly_grid(2024, 2040)
    demand = 1e12 * 10 ** (0.5 * (years - 2024))
    stock = np.full_like(years, 1e14)

    def identical(n, seed):
        return np.tile(demand, (n, 1)), np.tile(stock, (n, 1))

    result = exhaustion_chunked(years, identical, 2500, chunk_size=1000, seed=0)
    q = result.quantiles()
    assert q["p2_5"] == q["median"] == q["p97_5"] == pytest.approx(2028.0)
    prob = result.prob_exhausted_by([2027, 2028])
    assert list(prob) == [0.0, 1.0]


# --- sampler trouble ------------------------------------------------------------------------


def test_diagnostics_problems_name_a_remedy():
    from forecast.demand.model import Diagnostics

    bad = Diagnostics(r_hat_max=1.05, ess_bulk_min=50, divergences=3)
    problems = bad.problems
    assert len(problems) == 3 and not bad.healthy
    assert "r_hat 1.050" in problems[0] and "--tune" in problems[0]
    assert "ESS 50" in problems[1] and "--mcmc-draws" in problems[1]
    assert "3 divergent" in problems[2] and "target_accept" in problems[2]
    assert Diagnostics(r_hat_max=1.0, ess_bulk_min=1000, divergences=0).healthy
    assert not Diagnostics(r_hat_max=float("nan"), ess_bulk_min=1000, divergences=0).healthy


@pytest.fixture(scope="module")
def tiny_frontier_fit():
    from forecast import demand as dm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dm.FrontierTrend().fit(
            load_training_runs(), dm.SamplerConfig(draws=100, tune=100, chains=2)
        )


def test_unhealthy_fit_makes_result_unreliable(tiny_frontier_fit):
    from forecast import demand as dm
    from forecast.pipeline import DemandSet, run_scenario

    fit = tiny_frontier_fit
    models = load_training_runs()
    demand = DemandSet(models, {"frontier": fit}, None, None, None)
    scenario = scenarios.load_scenario("epoch2022-high-quality").with_overrides(
        **{"demand.model": "frontier", "draws": 1000}
    )
    fit._diagnostics = dm.Diagnostics(r_hat_max=1.0, ess_bulk_min=4000, divergences=0)
    assert run_scenario(scenario, demand).reliable is True
    fit._diagnostics = dm.Diagnostics(r_hat_max=1.05, ess_bulk_min=50, divergences=3)
    result = run_scenario(scenario, demand)
    assert result.reliable is False
    payload = result.to_json_dict()
    assert payload["reliable"] is False
    assert "--tune" in payload["diagnostics"][0]["problems"]
    assert "WARNING" in result.summary().iloc[:, 0].tolist()
    with pytest.warns(SamplingWarning) as record:
        fit.warn_if_unhealthy()
    assert len(record) == 3 and "divergent" in str(record[2].message)


# --- reproducibility, code safety -----------------------------------------------------------


def test_same_seed_same_numbers_in_process():
    a, b, c = _epoch2022(), _epoch2022(), _epoch2022(seed=2)
    assert np.array_equal(
        a.exhaustion.exhaustion_year, b.exhaustion.exhaustion_year, equal_nan=True
    )
    assert a.to_json_dict()["exhaustion_year"] == b.to_json_dict()["exhaustion_year"]
    assert not np.array_equal(
        a.exhaustion.exhaustion_year, c.exhaustion.exhaustion_year, equal_nan=True
    )


def test_no_pickle_eval_or_exec_in_the_package():
    pattern = re.compile(
        r"\bpickle\b|\bcloudpickle\b|\bjoblib\b|(?<![.\w])eval\(|(?<![.\w])exec\(|allow_pickle"
    )
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_scenarios_are_parsed_with_tomllib():
    source = (PACKAGE / "scenarios.py").read_text(encoding="utf-8")
    assert "tomllib.loads(" in source
    assert not re.search(r"import (toml|yaml)\b", source)


def test_errors_are_forecast_errors():
    assert issubclass(DataError, ForecastError) and issubclass(ScenarioError, ForecastError)
    buf = io.StringIO()
    buf.write(str(DataError("x", file="f.csv", row=3, column="tokens")))
    assert buf.getvalue() == "f.csv, row 3, column 'tokens': x"
