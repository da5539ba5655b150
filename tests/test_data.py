"""forecast.data: loaders for the project and Epoch schemas, validation and reports."""

from __future__ import annotations

import io
import math
import pathlib
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast import data
from forecast.data import (
    COLUMNS,
    CheckReport,
    LoadReport,
    bundled_path,
    check_models_file,
    load_models,
    load_training_runs,
    models_frame_hash,
)
from forecast.errors import DataError

REPO = pathlib.Path(__file__).resolve().parent.parent
EPOCH_EXTRACT = "epoch_notable_ai_models_to_2024-06.csv"
WORDS_FACTOR = 4 / 3  # Epoch: 1 token = 0.75 words


def load_fixture(fixtures_dir, name):
    return load_models(fixtures_dir / name)


def raises_at(path, *, row, column, match=None):
    """Load ``path`` and return the DataError, checking file, row and column."""
    with pytest.raises(DataError, match=match) as info:
        load_models(path)
    err = info.value
    assert err.file == str(path)
    assert err.row == row
    assert err.column == column
    assert str(path) in str(err)
    if row is not None:
        assert f"row {row}" in str(err)
    if column is not None:
        assert f"column '{column}'" in str(err)
    return err


def check_columns(df):
    assert list(df.columns) == list(COLUMNS)
    assert df["date"].dtype == np.dtype("datetime64[ns]")
    for col in ("year", "tokens", "unique_tokens", "epochs", "parameters", "compute_flop"):
        assert df[col].dtype == np.float64, col
    for col in data.TEXT_COLUMNS:
        assert all(isinstance(v, str) for v in df[col]), col
    assert df.equals(df.sort_values(["date", "model"]).reset_index(drop=True))
    report = df.attrs["load_report"]
    assert isinstance(report, LoadReport)
    assert report.rows_read == report.rows_kept + sum(report.dropped.values())
    assert report.rows_kept == len(df)


# --- Epoch variants ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "column", "in_words"),
    [
        ("epoch_system_datapoints.csv", "Training dataset size (datapoints)", True),
        ("epoch_model_deprecated.csv", "(DEPRECATED) Training dataset size (datapoints)", True),
        ("epoch_gradients.csv", "Training dataset size (gradients)", False),
        ("epoch_total.csv", "Training dataset size (total)", False),
    ],
)
def test_epoch_variants(fixtures_dir, name, column, in_words):
    df = load_fixture(fixtures_dir, name)
    check_columns(df)
    report = df.attrs["load_report"]
    assert report.schema == f"epoch:{column}"
    # MultiB (Multimodal,Language,Vision) has a dataset size of mixed datapoints and no
    # compute: nothing of it is language demand (test_epoch_language_rows_only).
    assert list(df["model"]) == ["LangA"] + (["LangExactDup"] * (name == "epoch_total.csv"))
    factor = WORDS_FACTOR if in_words else 1.0
    tokens = df.set_index("model")["tokens"]
    assert tokens["LangA"] == pytest.approx(3e11 * factor, rel=1e-12)
    a = df.set_index("model").loc["LangA"]
    assert a["organization"] == "OrgA"
    assert a["parameters"] == 1.75e11
    assert a["compute_flop"] == 3.14e23
    assert a["epochs"] == 1.0
    assert a["confidence"] == "confident"
    assert a["source_url"] == "https://example.org/a"
    assert a["date"] == pd.Timestamp("2020-05-28")
    assert a["year"] == pytest.approx(2020 + 148 / 366)
    # Epoch records the dataset (corpus) and its passes: one epoch, so corpus = trained.
    assert a["tokens_kind"] == "corpus" and a["disclosure"] == "disclosed"
    assert a["unique_tokens"] == a["tokens_published"] == a["tokens"]
    assert (a["modality"], a["tokens_bound"], a["compute_source"]) == ("text", "exact", "estimate")
    assert a["family"] == "LangA"
    assert ("words" in a["published_size"]) == in_words
    assert ("4/3" in a["conversion"]) == in_words
    assert column in a["conversion"]
    if df["epochs"].isna().any():
        assert report.flagged == {data.FLAG_ONE_PASS: int(df["epochs"].isna().sum())}
    else:
        assert report.flagged == {}
    assert report.dropped[data.DROP_NOT_LANGUAGE] == 1
    assert report.dropped[data.DROP_NO_SIZE] == 1
    assert report.dropped[data.DROP_MULTIMODAL] == 1


def test_epoch_row_counts_and_reasons(fixtures_dir):
    report = load_fixture(fixtures_dir, "epoch_system_datapoints.csv").attrs["load_report"]
    assert (report.rows_read, report.rows_kept) == (5, 1)
    assert report.dropped == {
        data.DROP_MULTIMODAL: 1,
        data.DROP_NOT_LANGUAGE: 1,
        data.DROP_NO_SIZE: 1,
        data.DROP_BAD_SIZE: 1,
    }
    text = str(report)
    assert "read 5 rows, kept 1" in text and "not a language model" in text
    assert "\n" not in text

    report = load_fixture(fixtures_dir, "epoch_total.csv").attrs["load_report"]
    assert (report.rows_read, report.rows_kept) == (6, 2)
    assert report.dropped == {
        data.DROP_MULTIMODAL: 1,
        data.DROP_NOT_LANGUAGE: 1,  # the comma-joined vision size is not even parsed
        data.DROP_NO_SIZE: 1,
        data.DROP_DUPLICATE: 1,
    }


def test_epoch_notes_keep_multiline_text(fixtures_dir):
    df = load_fixture(fixtures_dir, "epoch_system_datapoints.csv")
    assert df.set_index("model").loc["LangA", "notes"] == "300B words, quoted\nover two lines"


def test_epoch_size_column_preference(fixtures_dir):
    df = load_fixture(fixtures_dir, "epoch_total_and_datapoints.csv")
    assert df.attrs["load_report"].schema == "epoch:Training dataset size (total)"
    assert df["tokens"].tolist() == [4e11]
    assert df["organization"].tolist() == [""]


def test_epoch_conflicting_duplicate_names_both_rows(fixtures_dir):
    err = raises_at(
        fixtures_dir / "epoch_conflicting_duplicate.csv", row=4, column="tokens", match="LangA"
    )
    assert "rows 2 and 4" in str(err)


# --- project schema ------------------------------------------------------------------


def test_project_valid(fixtures_dir):
    df = load_fixture(fixtures_dir, "project_valid.csv")
    check_columns(df)
    report = df.attrs["load_report"]
    assert report.schema == "project"
    assert (report.rows_read, report.rows_kept) == (4, 4)
    assert report.dropped == {}
    assert report.flagged == {data.FLAG_NO_TOKENS: 1}
    assert report.ignored_columns == ["reviewer"]
    assert "no disclosed token count" in str(report) and "reviewer" in str(report)
    assert list(df["model"]) == ["GPT-3", "Chinchilla", "GPT-4", "Llama 3-70B"]
    by = df.set_index("model")
    assert by.loc["Chinchilla", "tokens"] == 1.4e12  # "1,400,000,000,000"
    assert by.loc["GPT-3", "parameters"] == 1.75e11  # "1.75E+11"
    assert by.loc["GPT-3", "unique_tokens"] == 4.99e11
    assert by.loc["GPT-3", "epochs"] == 0.6
    assert by.loc["GPT-3", "date"] == pd.Timestamp("2020-05-01")  # YYYY-MM
    assert by.loc["GPT-3", "notes"] == 'trained on 300B of 499B tokens, "quoted"'
    assert by.loc["GPT-4", "date"] == pd.Timestamp("2023-01-01")  # YYYY
    assert math.isnan(by.loc["GPT-4", "tokens"])
    assert by.loc["Llama 3-70B", "date"] == pd.Timestamp("2024-04-18")  # ISO datetime, Z
    assert by.loc["Llama 3-70B", "confidence"] == "likely"
    assert by.loc["Chinchilla", "year"] == pytest.approx(2022 + 87 / 365)
    assert df.attrs["source"] == str(fixtures_dir / "project_valid.csv")


def test_project_exact_duplicates_counted(fixtures_dir):
    df = load_fixture(fixtures_dir, "dup_exact_project.csv")
    assert df["model"].tolist() == ["A", "B"]
    assert df.attrs["load_report"].dropped == {data.DROP_DUPLICATE: 1}


def test_bom_and_crlf(tmp_path):
    path = tmp_path / "bom_crlf.csv"
    path.write_bytes(
        b"\xef\xbb\xbfmodel,date,tokens,notes\r\n"
        b'A,2020-01-01,1e9,"two\r\nlines"\r\n'
        b'B,2021-06,"2,000,000,000",\r\n'
    )
    df = load_models(path)
    assert df["model"].tolist() == ["A", "B"]
    assert df["tokens"].tolist() == [1e9, 2e9]
    assert df["notes"].tolist() == ["two\r\nlines", ""]


def test_load_training_runs_explicit_path(fixtures_dir):
    df = load_training_runs(fixtures_dir / "project_valid.csv")
    assert len(df) == 4


def test_load_training_runs_rejects_epoch_file(fixtures_dir):
    with pytest.raises(DataError, match="missing required column"):
        load_training_runs(fixtures_dir / "epoch_total.csv")


# --- broken files: one per error case ------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match="file not found") as info:
        load_models(path)
    assert info.value.file == str(path)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("empty.csv", "file is empty"),
        ("header_only.csv", "no data rows"),
    ],
)
def test_empty_files(fixtures_dir, name, match):
    raises_at(fixtures_dir / name, row=None, column=None, match=match)


def test_missing_column_names_columns_present(fixtures_dir):
    err = raises_at(fixtures_dir / "missing_column.csv", row=None, column=None)
    assert "tokens" in err.reason
    assert "'model', 'organization', 'date', 'size'" in err.reason


def test_unknown_header(fixtures_dir):
    err = raises_at(fixtures_dir / "unknown_header.csv", row=None, column=None)
    assert "unrecognised header" in err.reason and "'how_much'" in err.reason


@pytest.mark.parametrize(
    ("name", "row", "column", "match"),
    [
        ("bad_date.csv", 3, "date", "not a date"),
        ("missing_date.csv", 3, "date", "missing date"),
        ("future_date.csv", 3, "date", "in the future"),
        ("nan_tokens.csv", 3, "tokens", "not a finite number"),
        ("inf_tokens.csv", 3, "tokens", "not a finite number"),
        ("zero_tokens.csv", 3, "tokens", "must be positive"),
        ("negative_tokens.csv", 3, "tokens", "must be positive"),
        ("garbage_tokens.csv", 3, "tokens", "not a number"),
        ("bad_parameters.csv", 2, "parameters", "not a number"),
        ("bad_confidence.csv", 2, "confidence", "not one of"),
        ("duplicate_conflict.csv", 4, "tokens", "rows 2 and 4"),
        ("too_many_cells.csv", 2, None, "header has 3 columns"),
        ("multiline_then_bad.csv", 3, "tokens", "'lots' is not a number"),
        ("unclosed_quote.csv", 3, None, "never closed"),
        ("text_after_quote.csv", 2, None, "malformed CSV"),
    ],
)
def test_row_errors(fixtures_dir, name, row, column, match):
    raises_at(fixtures_dir / name, row=row, column=column, match=match)


def test_non_utf8_names_row_and_column(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"model,organization,date,tokens\nA,Org,2020-01-01,1e9\nB,Soci\xe9t\xe9,2021-01-01,2e9\n"
    )
    raises_at(path, row=3, column="organization", match="not valid UTF-8")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2024-03-05", True),
        ("2024-03", True),
        ("2024", True),
        ("2024-03-05T10:30:00", True),
        ("2024-03-05 10:30", True),
        ("2024-03-05T23:30:00-05:00", True),
        ("05/03/2024", False),
        ("March 2024", False),
        ("2024-13-01", False),
        ("2024-02-30", False),
        ("24-03-05", False),
    ],
)
def test_parse_date(text, ok):
    if ok:
        assert isinstance(data.parse_date(text), __import__("datetime").datetime)
    else:
        with pytest.raises(ValueError):
            data.parse_date(text)


def test_parse_date_zoned_to_utc():
    assert data.parse_date("2024-03-05T23:30:00-05:00") == pd.Timestamp("2024-03-06T04:30")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,400,000,000,000", 1.4e12),
        ("1.4e12", 1.4e12),
        ("1.4E+12", 1.4e12),
        (" 3000 ", 3000.0),
        ("1,234.5", 1234.5),
        (".5", 0.5),
        ("", None),
    ],
)
def test_parse_number_accepts(text, value):
    assert data.parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["nan", "NaN", "inf", "-Infinity", "1e999", "12,34", "1.4T", "1,000,000,2", "x"]
)
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        data.parse_number(text)


# --- check_models_file, hash, bundled ------------------------------------------------


def test_check_models_file_ok(fixtures_dir):
    result = check_models_file(fixtures_dir / "project_valid.csv")
    assert isinstance(result, CheckReport)
    assert result.ok and result.error is None
    assert "schema: project" in result.text
    assert "rows read: 4" in result.text
    assert "date range: 2020-05-01 to 2024-04-18" in result.text
    assert "models with tokens trained: 3 of 4" in result.text
    assert "largest run: Llama 3-70B (1.5e+13 tokens trained, 2024-04-18)" in result.text
    # the fixture has none of the descriptive columns: defaults, said in the report
    assert "by disclosure: disclosed 3, undisclosed 1" in result.text
    assert "by tokens_kind: trained 3, corpus 0, (none) 1" in result.text
    assert "read with defaults" in result.text
    assert "no disclosed token count" in result.text


def test_check_models_file_reports_drops(fixtures_dir):
    result = check_models_file(fixtures_dir / "epoch_system_datapoints.csv")
    assert result.ok
    assert "not a language model: 1" in result.text
    assert "no dataset size and no training compute: 1" in result.text


def test_check_models_file_invalid(fixtures_dir):
    result = check_models_file(fixtures_dir / "bad_date.csv")
    assert not result.ok
    assert result.error is not None and "\n" not in result.error
    assert "row 3" in result.error and "column 'date'" in result.error
    assert result.error in result.text


def test_models_frame_hash(fixtures_dir):
    df = load_fixture(fixtures_dir, "project_valid.csv")
    h = models_frame_hash(df)
    assert len(h) == 64
    assert models_frame_hash(df.iloc[::-1]) == h  # row order does not matter
    changed_notes = df.assign(notes="x")
    assert models_frame_hash(changed_notes) == h  # other columns do not matter
    changed = df.copy()
    changed.loc[0, "tokens"] = changed.loc[0, "tokens"] * (1 + 1e-15)
    assert models_frame_hash(changed) != h
    assert models_frame_hash(load_fixture(fixtures_dir, "project_valid.csv")) == h


def test_bundled_path_missing():
    with pytest.raises(DataError, match="not found"):
        bundled_path("no_such_file.csv")


def test_bundled_training_runs():
    try:
        path = bundled_path("training_runs.csv")
    except DataError:
        pytest.skip("data/training_runs.csv not written yet")
    df = load_training_runs()
    check_columns(df)
    report = df.attrs["load_report"]
    assert report.schema == "project"
    assert report.dropped == {}, str(report)
    assert df.attrs["source"] == str(path)
    assert set(df["confidence"]) <= set(data.CONFIDENCE_LEVELS)
    assert df["tokens"].notna().sum() >= 10
    assert (df["tokens"].dropna() > 0).all()
    assert df["date"].min() >= pd.Timestamp("2010-01-01")
    header = path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header == list(data.PROJECT_COLUMNS)
    by = df.set_index("model")["tokens"]
    for name, tokens in [("Chinchilla", 1.4e12), ("Llama 3-70B", 1.5e13)]:
        if name in by.index:
            assert by[name] == pytest.approx(tokens)


# --- the real Epoch extract ----------------------------------------------------------


@pytest.fixture(scope="module")
def epoch_extract(reference_dir):
    path = reference_dir / EPOCH_EXTRACT
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return load_models(path)


def test_epoch_extract(epoch_extract):
    df = epoch_extract
    check_columns(df)
    report = df.attrs["load_report"]
    assert report.schema == "epoch:Training dataset size (total)"
    assert report.rows_read == 827
    assert df["tokens"].notna().sum() == 244
    # 244 language-only rows with a size, plus 35 with compute but no usable size
    # (undisclosed, or multimodal: a size of mixed datapoints, kept for its compute)
    assert report.rows_kept == 279
    assert report.dropped == {
        data.DROP_NOT_LANGUAGE: 467,
        data.DROP_NO_SIZE: 54,
        data.DROP_NO_TEXT_TASK: 21,
        data.DROP_MULTIMODAL: 6,
    }
    assert report.flagged[data.FLAG_MULTIMODAL] == 11
    assert (df["disclosure"] == "undisclosed").sum() == 35
    assert df.loc[df["disclosure"] == "undisclosed", "tokens"].isna().all()
    assert df.loc[df["disclosure"] == "undisclosed", "compute_flop"].notna().all()
    by = df.set_index("model")
    assert by.loc["Llama 3-70B", "tokens"] == 1.5e13
    assert by.loc["Chinchilla", "tokens"] == 1.4e12
    # Epochs multiply the dataset into tokens trained: RoBERTa's 48 passes over ~4.3e10
    assert by.loc["RoBERTa Large", "tokens_kind"] == "corpus"
    assert by.loc["RoBERTa Large", "tokens"] == pytest.approx(2.048e12)
    # ... unless C = 6ND says the size already counts tokens trained (H3: 509 "epochs")
    assert by.loc["Hybrid H3-2.7B", "tokens_kind"] == "trained"
    assert by.loc["Hybrid H3-2.7B", "tokens"] == 4e11
    # Language rows only (issue 37): the largest run is a language model, not Perceiver
    # IO's optical flow (7e13 "tokens" of mixed datapoints), and a 1959 Morse translator
    # is not a language model; multimodal rows keep their compute, never their size.
    assert df.loc[df["tokens"].idxmax(), "model"] == "Llama 3-70B"
    assert "Perceiver IO (optical flow)" not in set(df["model"])
    assert "Pandemonium (morse)" not in set(df["model"])
    assert any("Pandemonium (morse)" in note for note in report.notes)
    assert df.loc[df["modality"] == "multimodal", "tokens"].isna().all()
    assert by.loc["GPT-4 (Mar 2023)", "compute_flop"] == 2.1e25
    assert df["date"].min() >= pd.Timestamp("1990-01-01")
    assert df["date"].max() <= pd.Timestamp("2024-06-30")
    disclosed = df[df["disclosure"] == "disclosed"]
    assert (disclosed["confidence"].value_counts().get("confident", 0)) == 148


def test_epoch_extract_check_names_a_language_model(reference_dir, capsys):
    """``forecast data check`` on the extract: the largest run is a language model and
    the dropped rows are counted by reason."""
    from forecast import cli

    path = reference_dir / EPOCH_EXTRACT
    if not path.is_file():
        pytest.skip(f"{path} not found")
    assert cli.main(["data", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "largest run: Llama 3-70B" in out
    assert f"  - {data.DROP_NO_TEXT_TASK}: 21" in out
    assert f"  - {data.DROP_MULTIMODAL}: 6" in out
    assert "Perceiver IO" not in out.split("problems:")[0]


def test_epoch_language_rows_only(tmp_path):
    """A row is language demand when its Domain lists Language and its Task a text task;
    a multimodal row's size counts other datapoints: it is kept for its compute only."""
    path = tmp_path / "epoch.csv"
    path.write_text(
        "Model,Publication date,Domain,Task,Training compute (FLOP),"
        "Training dataset size (total)\n"
        "TextLM,2023-01-01,Language,Language modeling,1e24,2e12\n"
        "NoTask,2023-02-01,Language,,,1e12\n"
        "Morse,1959-02-01,Language,Morse translation,6e8,\n"
        'VLM,2023-03-01,"Multimodal,Language,Vision","Chat,Image captioning",2e25,5e12\n'
        'Flow,2020-02-08,"Multimodal,Language,Vision",Language modeling/generation,,1.5e11\n'
        'Captioner,2022-04-29,"Vision,Language",Image captioning,2e23,4e11\n',
        encoding="utf-8",
    )
    df = load_models(path)
    by = df.set_index("model")
    assert list(df["model"]) == ["TextLM", "NoTask", "VLM"]
    assert by.loc["TextLM", "tokens"] == 2e12 and by.loc["NoTask", "tokens"] == 1e12
    vlm = by.loc["VLM"]
    assert math.isnan(vlm["tokens"]) and vlm["compute_flop"] == 2e25
    assert (vlm["disclosure"], vlm["modality"]) == ("undisclosed", "multimodal")
    report = df.attrs["load_report"]
    assert report.dropped == {data.DROP_NO_TEXT_TASK: 2, data.DROP_MULTIMODAL: 1}
    assert report.flagged[data.FLAG_MULTIMODAL] == 1
    assert "dropped for no text task: Morse, Captioner" in report.notes


# --- property tests ------------------------------------------------------------------

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

row_strategy = st.fixed_dictionaries(
    {
        "tokens": st.integers(min_value=1, max_value=10**15),
        "date": st.dates(
            min_value=pd.Timestamp("1990-01-01").date(),
            max_value=pd.Timestamp("2024-12-31").date(),
        ),
        "fmt": st.sampled_from(["plain", "sci", "thousands", "quoted_thousands"]),
        "date_fmt": st.sampled_from(["ymd", "iso", "iso_z"]),
        "notes": st.sampled_from(["", "plain note", 'with "quotes", commas', "two\nlines"]),
        "compute": st.none() | st.floats(min_value=1e15, max_value=1e27),
    }
)
table_strategy = st.lists(row_strategy, min_size=1, max_size=8)


def _format_number(value: int, fmt: str) -> str:
    if fmt == "sci":
        return f"{value:.17e}"
    if fmt == "thousands":
        return f'"{value:,}"'
    if fmt == "quoted_thousands":
        return f'"{value:,}"' if value >= 1000 else f'"{value}"'
    return str(value)


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _format_date(date, fmt: str) -> str:
    if fmt == "iso":
        return f"{date.isoformat()}T00:00:00"
    if fmt == "iso_z":
        return f"{date.isoformat()}T00:00:00Z"
    return date.isoformat()


def _render(rows, *, crlf: bool, bom: bool, corrupt=None) -> bytes:
    """CSV bytes of a project-schema table; ``corrupt = (index, column, cell)``."""
    eol = "\r\n" if crlf else "\n"
    lines = ["model,date,tokens,compute_flop,notes"]
    for i, r in enumerate(rows):
        cells = {
            "model": f"model-{i}",
            "date": _format_date(r["date"], r["date_fmt"]),
            "tokens": _format_number(r["tokens"], r["fmt"]),
            "compute_flop": "" if r["compute"] is None else repr(r["compute"]),
            "notes": _quote(r["notes"].replace("\n", eol)),
        }
        if corrupt is not None and corrupt[0] == i:
            cells[corrupt[1]] = corrupt[2]
        lines.append(
            ",".join(cells[c] for c in ("model", "date", "tokens", "compute_flop", "notes"))
        )
    text = eol.join(lines) + eol
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _write(payload: bytes) -> pathlib.Path:
    handle = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
    with handle:
        handle.write(payload)
    return pathlib.Path(handle.name)


@PROPERTY
@given(table_strategy, st.booleans(), st.booleans())
def test_property_project_loader_round_trip(rows, crlf, bom):
    path = _write(_render(rows, crlf=crlf, bom=bom))
    try:
        df = load_models(path)
    finally:
        path.unlink()
    by = df.set_index("model")
    assert len(df) == len(rows)
    for i, r in enumerate(rows):
        rec = by.loc[f"model-{i}"]
        assert rec["tokens"] == pytest.approx(float(r["tokens"]), rel=1e-15)
        assert rec["date"] == pd.Timestamp(r["date"])
        if r["compute"] is None:
            assert math.isnan(rec["compute_flop"])
        else:
            assert rec["compute_flop"] == r["compute"]
        assert rec["notes"] == r["notes"].replace("\n", "\r\n" if crlf else "\n")


@PROPERTY
@given(
    table_strategy,
    st.data(),
    st.sampled_from(
        [
            ("tokens", "not-a-number"),
            ("tokens", "nan"),
            ("tokens", "1,2,3"),
            ("tokens", "-7"),
            ("date", ""),
            ("date", "yesterday"),
        ]
    ),
    st.booleans(),
)
def test_property_corruption_names_row_and_column(rows, draw, corruption, crlf):
    index = draw.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column, cell = corruption
    if cell == "1,2,3":
        cell = '"1,2,3"'
    path = _write(_render(rows, crlf=crlf, bom=False, corrupt=(index, column, cell)))
    try:
        with pytest.raises(DataError) as info:
            load_models(path)
    finally:
        path.unlink()
    assert info.value.row == index + 2  # header is row 1; multi-line notes do not shift rows
    assert info.value.column == column
    assert info.value.file == str(path)


# --- stock estimates -----------------------------------------------------------------

STOCK_HEADER = "parameter,model,unit,distribution,low,high,interval,central,notes\n"


def test_stock_estimates_fixture(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text(
        STOCK_HEADER
        + 'pages,m,pages,lognormal,75e9,1e12,0.95,,"note, with comma"\n'
        + "ceiling,m,bytes/token,fixed,,,,6,\n"
    )
    df = data.load_stock_estimates(path)
    assert df["parameter"].tolist() == ["pages", "ceiling"]
    assert df["low"].tolist()[0] == 75e9
    assert math.isnan(df["low"].tolist()[1])
    assert df["central"].tolist()[1] == 6.0
    assert df["notes"].tolist()[0] == "note, with comma"
    assert df.attrs["load_report"].rows_kept == 2


@pytest.mark.parametrize(
    ("body", "row", "column", "match"),
    [
        ("a,m,u,fixed,,,,1,\na,m,u,fixed,,,,2,\n", 3, "parameter", "rows 2 and 3"),
        ("a,m,u,lognormal,5,1,0.9,,\n", 2, "low", "larger than high"),
        ("a,m,u,lognormal,1,5,95,,\n", 2, "interval", "between 0 and 1"),
        ("a,m,u,fixed,,,,six,\n", 2, "central", "not a number"),
        (",m,u,fixed,,,,6,\n", 2, "parameter", "missing parameter"),
    ],
)
def test_stock_estimates_errors(tmp_path, body, row, column, match):
    path = tmp_path / "stock.csv"
    path.write_text(STOCK_HEADER + body)
    with pytest.raises(DataError, match=match) as info:
        data.load_stock_estimates(path)
    assert (info.value.row, info.value.column) == (row, column)


def test_bundled_stock_estimates():
    try:
        bundled_path("stock_estimates.csv")
    except DataError:
        pytest.skip("data/stock_estimates.csv not written yet")
    df = data.load_stock_estimates()
    assert df["parameter"].is_unique
    assert len(df) > 0


def test_models_frame_hash_minimal_frames():
    a = pd.DataFrame({"year": [2020.5, 2021.0], "tokens": [1e9, 2e9]})
    assert models_frame_hash(a) == models_frame_hash(a.iloc[::-1])
    assert models_frame_hash(a) != models_frame_hash(a.assign(tokens=[1e9, 3e9]))
    with pytest.raises(DataError, match="tokens"):
        models_frame_hash(pd.DataFrame({"year": [2020.0]}))


def test_url_is_read_via_urllib(monkeypatch, fixtures_dir):
    """An explicit http(s) URL is fetched with urllib (mocked here: no network in tests)."""
    payload = (fixtures_dir / "epoch_total.csv").read_bytes()
    opened = []

    class FakeResponse(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(url, timeout=None):
        opened.append(url)
        return FakeResponse(payload)

    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)
    url = "https://example.org/notable_ai_models.csv"
    df = load_models(url)
    assert opened == [url]
    assert df.attrs["source"] == url
    assert df.attrs["load_report"].file == url
    assert len(df) == 2


def test_local_path_never_touches_network(monkeypatch, fixtures_dir):
    def boom(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(data.urllib.request, "urlopen", boom)
    assert len(load_models(str(fixtures_dir / "epoch_total.csv"))) == 2


# --- descriptive columns (disclosure, bound, kind, modality, family, compute source) ------

FULL_HEADER = ",".join(data.PROJECT_COLUMNS)


def _full_row(**cells: str) -> str:
    values = {
        "model": "M",
        "date": "2024-01-01",
        "disclosure": "disclosed",
        "tokens": "1e12",
        "tokens_bound": "exact",
        "tokens_kind": "trained",
        "modality": "text",
        "family": "m",
        "compute_flop": "6e23",
        "compute_source": "derived-6ND",
        "confidence": "confident",
    }
    values.update(cells)
    return ",".join(values.get(c, "") for c in data.PROJECT_COLUMNS)


def _write_rows(tmp_path, *rows: str):
    path = tmp_path / "runs.csv"
    path.write_text(FULL_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_descriptive_columns_valid(tmp_path):
    path = _write_rows(
        tmp_path,
        _full_row(model="Trained", tokens="2e12", tokens_bound="lower"),
        _full_row(model="Corpus", tokens="4e10", tokens_kind="corpus", epochs="50"),
        _full_row(model="CorpusNoEpochs", tokens="4e10", tokens_kind="corpus"),
        _full_row(
            model="Hidden",
            disclosure="undisclosed",
            tokens="",
            tokens_bound="",
            tokens_kind="",
            modality="multimodal",
            text_share="",
            family="",
            compute_flop="5e26",
            compute_source="estimate",
        ),
        _full_row(
            model="Share", modality="MULTIMODAL", text_share="0.8", compute_source="Reported"
        ),
    )
    df = load_models(path)
    by = df.set_index("model")
    assert by.loc["Trained", "tokens"] == 2e12 and by.loc["Trained", "tokens_bound"] == "lower"
    # corpus x epochs = tokens trained; the corpus is kept as the unique tokens
    assert by.loc["Corpus", "tokens"] == pytest.approx(2e12)
    assert by.loc["Corpus", "tokens_published"] == 4e10
    assert by.loc["Corpus", "unique_tokens"] == 4e10
    assert by.loc["CorpusNoEpochs", "tokens"] == 4e10
    assert math.isnan(by.loc["Hidden", "tokens"])
    assert by.loc["Hidden", "disclosure"] == "undisclosed"
    assert by.loc["Hidden", "family"] == "Hidden"  # no family: its own
    assert by.loc["Share", "modality"] == "multimodal"  # canonical spelling
    assert by.loc["Share", "compute_source"] == "reported"
    assert by.loc["Share", "text_share"] == 0.8
    report = df.attrs["load_report"]
    assert report.flagged == {
        data.FLAG_LOWER_BOUND: 1,
        data.FLAG_ONE_PASS: 1,
        data.FLAG_NO_TOKENS: 1,
    }
    assert not report.notes  # every descriptive column present: no defaults


@pytest.mark.parametrize(
    ("cells", "column", "match"),
    [
        ({"disclosure": "secret"}, "disclosure", "not one of disclosed, undisclosed"),
        ({"disclosure": "undisclosed"}, "tokens", "leave it empty"),
        (
            {"disclosure": "disclosed", "tokens": "", "tokens_bound": "", "tokens_kind": ""},
            "tokens",
            "'disclosed' but tokens is empty",
        ),
        ({"tokens_bound": "approx"}, "tokens_bound", "not one of exact, lower, upper"),
        ({"tokens_bound": ""}, "tokens_bound", "required when tokens has a value"),
        ({"tokens_kind": "seen"}, "tokens_kind", "not one of trained, corpus"),
        ({"tokens_kind": ""}, "tokens_kind", "required"),
        ({"modality": "video"}, "modality", "not one of text, multimodal"),
        ({"modality": ""}, "modality", "required"),
        ({"text_share": "1.5"}, "text_share", "fraction"),
        ({"text_share": "0"}, "text_share", "positive"),
        ({"compute_source": "rumour"}, "compute_source", "not one of reported, derived-6ND"),
        ({"compute_source": ""}, "compute_source", "required when compute_flop"),
        ({"compute_flop": ""}, "compute_source", "given but compute_flop is empty"),
        (
            {"disclosure": "undisclosed", "tokens": "", "tokens_kind": ""},
            "tokens_bound",
            "given but tokens is empty",
        ),
    ],
)
def test_descriptive_columns_invalid(tmp_path, cells, column, match):
    path = _write_rows(tmp_path, _full_row(model="Fine"), _full_row(model="Bad", **cells))
    raises_at(path, row=3, column=column, match=match)


def test_family_counts_once_on_the_frontier():
    from forecast.demand.trends import frontier_rows

    models = pd.DataFrame(
        {
            "model": ["S", "M", "L", "Other"],
            "date": pd.to_datetime(["2023-07-18"] * 3 + ["2023-08-01"]),
            "tokens": [2e12, 2e12, 2.1e12, 1e12],
            "family": ["llama2", "llama2", "llama2", ""],
        }
    )
    # one family member (its largest run) plus the run without a family
    assert frontier_rows(models)["model"].tolist() == ["L", "Other"]
    assert len(frontier_rows(models.drop(columns="family"))) == 4


def test_descriptive_column_errors_use_the_headers_spelling(tmp_path):
    path = tmp_path / "runs.csv"
    header = FULL_HEADER.replace("modality", "Modality")
    path.write_text(header + "\n" + _full_row(modality="video") + "\n", encoding="utf-8")
    raises_at(path, row=2, column="Modality", match="not one of text, multimodal")


def test_models_frame_hash_covers_what_the_default_model_reads(fixtures_dir):
    # The damped trend reads tokens_bound (censored rows) and compute_source (6ND-derived
    # compute is not evidence); editing either must not reuse a cached fit.
    df = load_fixture(fixtures_dir, "project_valid.csv").assign(
        tokens_bound="exact", compute_source="estimated"
    )
    h = models_frame_hash(df)
    bound = df.copy()
    bound.loc[0, "tokens_bound"] = "lower"
    source = df.copy()
    source.loc[0, "compute_source"] = "derived-6ND"
    assert models_frame_hash(bound) != h
    assert models_frame_hash(source) != h
    assert models_frame_hash(df.drop(columns=["tokens_bound", "compute_source"])) == (
        models_frame_hash(df.assign(tokens_bound=None, compute_source=None))
    )
