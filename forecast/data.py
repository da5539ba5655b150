"""Load and validate the tables of training runs (tokens per model, by date).

Two input schemas are accepted, detected from the header:

- the **project schema** (``data/training_runs.csv``): ``model, organization, date,
  disclosure, tokens, tokens_bound, tokens_kind, unique_tokens, epochs, modality,
  text_share, family, parameters, compute_flop, compute_source, published_size,
  conversion, confidence, source_url, notes``; only ``model``, ``date`` and ``tokens``
  are required (an older file without the descriptive columns loads with documented
  defaults, listed in the load report) and the sizes are already in **tokens**;
- **Epoch AI's "Notable AI Models" CSV** (any of its public header variants); only
  language models are kept: rows whose ``Domain`` lists ``Language`` and whose ``Task``
  lists a text task (:data:`EPOCH_TEXT_TASKS`; "Morse translation" or image captioning
  alone is not one), with a dataset size or a training compute. The size is converted to
  tokens where Epoch's column holds words. A row whose ``Domain`` lists other domains
  too (multimodal) counts images, video or audio datapoints in its size, so the size is
  not used (the row is kept for its training compute, dropped without one). Every
  dropped row is counted by reason in the load report.

Every loader returns the same columns (see ``docs/architecture.md``): text quantities in
tokens (float, NaN where unknown), ``date`` as ``datetime64[ns]`` and ``year`` as a
decimal year. In the loaded frame ``tokens`` is always **tokens trained** (all epochs),
the quantity every demand model fits and the one the effective stock (which includes a
repetition allowance) is compared with: the file's number when ``tokens_kind`` is
``trained``, the file's corpus size times ``epochs`` when it is ``corpus`` (one pass
assumed, and counted in the load report, when the epochs are unknown). The number as
the file gives it is kept in ``tokens_published``. Problems a user can fix raise :class:`forecast.errors.DataError` naming the
file, the 1-based spreadsheet row (header = row 1; rows are CSV *records*, so a quoted
cell spanning several text lines is one row) and the column. Rows are never dropped
silently: every dropped row is counted by reason in ``df.attrs["load_report"]``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import importlib.resources
import io
import math
import os
import pathlib
import re
import unicodedata
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast import checks
from forecast.checks import checked
from forecast.errors import DataError, DataWarning
from forecast.limits import MAX_INPUT_BYTES
from forecast.units import WORDS_PER_TOKEN, decimal_years

__all__ = [
    "COLUMNS",
    "PLAUSIBLE",
    "CheckReport",
    "LoadReport",
    "Plausible",
    "bundled_path",
    "check_models_file",
    "load_models",
    "load_stock_estimates",
    "load_training_runs",
    "models_frame_hash",
    "normalised_name",
]

#: Output columns of every models loader, in order.
COLUMNS: tuple[str, ...] = (
    "model",
    "organization",
    "date",
    "year",
    "disclosure",
    "tokens",
    "tokens_published",
    "tokens_bound",
    "tokens_kind",
    "unique_tokens",
    "epochs",
    "modality",
    "text_share",
    "family",
    "parameters",
    "compute_flop",
    "compute_source",
    "published_size",
    "conversion",
    "confidence",
    "source_url",
    "notes",
)
NUMERIC_COLUMNS: tuple[str, ...] = (
    "tokens",
    "tokens_published",
    "unique_tokens",
    "epochs",
    "text_share",
    "parameters",
    "compute_flop",
)
#: Numeric columns read from a project file (``tokens_published`` is the file's ``tokens``).
_FILE_NUMERIC: tuple[str, ...] = ("unique_tokens", "epochs", "parameters", "compute_flop")
TEXT_COLUMNS: tuple[str, ...] = (
    "model",
    "organization",
    "disclosure",
    "tokens_bound",
    "tokens_kind",
    "modality",
    "family",
    "compute_source",
    "published_size",
    "conversion",
    "confidence",
    "source_url",
    "notes",
)
#: Columns of the project schema (``data/training_runs.csv``); the first three are required.
PROJECT_COLUMNS: tuple[str, ...] = tuple(
    c for c in COLUMNS if c not in ("year", "tokens_published")
)
PROJECT_REQUIRED: tuple[str, ...] = ("model", "date", "tokens")
CONFIDENCE_LEVELS: tuple[str, ...] = ("confident", "likely", "speculative")
#: Allowed values of the categorical columns (data/README.md, "Data dictionary").
DISCLOSURE_LEVELS: tuple[str, ...] = ("disclosed", "undisclosed")
TOKENS_BOUNDS: tuple[str, ...] = ("exact", "lower", "upper")
TOKENS_KINDS: tuple[str, ...] = ("trained", "corpus")
MODALITIES: tuple[str, ...] = ("text", "multimodal")
COMPUTE_SOURCES: tuple[str, ...] = ("reported", "derived-6ND", "estimate")
#: What a project file without a descriptive column is read as (said in the load report).
PROJECT_DEFAULTS: dict[str, str] = {
    "disclosure": "from tokens (disclosed if present)",
    "tokens_bound": "exact",
    "tokens_kind": "trained",
    "modality": "text",
    "family": "the model's own name",
    "compute_source": "estimate",
}

#: Epoch dataset-size columns, most preferred first, with whether they hold words.
#: The ``(datapoints)`` variants hold WORDS for language models (Epoch's convention
#: 1 token = 0.75 words); ``(total)`` and ``(gradients)`` hold tokens.
EPOCH_SIZE_COLUMNS: tuple[tuple[str, bool], ...] = (
    ("Training dataset size (total)", False),
    ("Training dataset size (gradients)", False),
    ("Training dataset size (datapoints)", True),
    ("(DEPRECATED) Training dataset size (datapoints)", True),
)
EPOCH_NAME_COLUMNS: tuple[str, ...] = ("Model", "System")
EPOCH_DATE_COLUMN = "Publication date"
#: Epoch column -> output column, for the optional values.
EPOCH_NUMERIC: dict[str, str] = {
    "Parameters": "parameters",
    "Training compute (FLOP)": "compute_flop",
    "Epochs": "epochs",
}

EPOCH_TASK_COLUMN = "Task"
#: Epoch ``Task`` labels of text: a row whose ``Domain`` lists Language is a language
#: model when its ``Task`` cell lists one of these (or is empty). "Morse translation"
#: (Pandemonium, 1959), entity or protein embeddings, image captioning or search
#: ranking alone are not text the stock is made of.
EPOCH_TEXT_TASKS = frozenset(
    {
        "automated theorem proving",
        "chat",
        "code autocompletion",
        "code generation",
        "document classification",
        "document representation",
        "instruction interpretation",
        "language generation",
        "language modeling",
        "language modeling/generation",
        "language structure modeling",
        "mathematical reasoning",
        "named entity recognition (ner)",
        "part-of-speech tagging",
        "quantitative reasoning",
        "question answering",
        "relation extraction",
        "retrieval-augmented generation",
        "semantic embedding",
        "semantic search",
        "sentiment classification",
        "table tasks",
        "text autocompletion",
        "text classification",
        "text summarization",
        "translation",
        "word sense disambiguation",
    }
)

# Reasons used in LoadReport.dropped / LoadReport.flagged.
DROP_BLANK = "blank row"
DROP_NOT_LANGUAGE = "not a language model"
DROP_NO_TEXT_TASK = "Domain lists Language but Task lists no text task (e.g. Morse translation)"
DROP_MULTIMODAL = (
    "multimodal without training compute (its dataset size counts images, video or audio "
    "too, not text tokens)"
)
DROP_NO_SIZE = "no dataset size and no training compute"
DROP_BAD_SIZE = "unparseable dataset size (e.g. comma-joined alternatives)"
DROP_NO_DATE = "no publication date"
DROP_DUPLICATE = "duplicate row"
FLAG_NO_TOKENS = "no disclosed token count"
FLAG_MULTIMODAL = (
    "multimodal: its dataset size is not used as text tokens (it counts images, video or "
    "audio too); kept for its training compute"
)
FLAG_ONE_PASS = "corpus size without epochs (one pass assumed for tokens trained)"
FLAG_LOWER_BOUND = (
    "token count that is a lower bound (censored by the default demand: at least the stated "
    "value; the 0.2 token trends fit it at that value)"
)
FLAG_UPPER_BOUND = (
    "token count that is an upper bound (censored by the default demand: at most the stated "
    "value; the 0.2 token trends fit it at that value)"
)


@dataclass(frozen=True)
class Plausible:
    """The plausible range of one numeric column of a models table.

    A value below ``low`` or above ``high`` loads, with a :class:`DataWarning` naming the
    file, row and column (``forecast data check`` lists them); a value below ``minimum``
    is impossible and a :class:`DataError`. ``why`` says where the bounds come from.
    """

    low: float
    high: float
    minimum: float | None
    unit: str
    why: str


#: Plausible ranges of the numeric columns (docs/bad_inputs.md, "Plausible values"). The
#: bounds hold every row of the bundled table and of Epoch AI's "Notable AI Models"
#: language models to 2024-06 (the extremes below), with room on both sides; a value
#: outside is a slip (a count in trillions or words, a wrong exponent) more often than a
#: real run. ``tokens`` is the file's number (corpus or tokens trained), ``unique_tokens``
#: the corpus, both in tokens (Epoch's word counts converted first).
PLAUSIBLE: dict[str, Plausible] = {
    "tokens": Plausible(
        1e3,
        1e16,
        1.0,
        "tokens",
        "Epoch's smallest language-model dataset is 1.4e3 tokens (2002), the largest "
        "1.5e13 (the bundled table's 4e13); the whole stock of public human text is "
        "about 3e14 tokens, so 1e16 is over 30 times it. Fewer than 1 token is impossible",
    ),
    "unique_tokens": Plausible(
        1e3, 1e16, 1.0, "tokens", "as tokens: a corpus is a count of tokens"
    ),
    "epochs": Plausible(
        0.01,
        1e4,
        None,
        "passes",
        "Epoch's values run from 0.6 to 8,000 passes (small benchmark corpora); "
        "under 0.01 a run saw less than 1% of its corpus. Zero or fewer is an error",
    ),
    "parameters": Plausible(
        100,
        1e14,
        1.0,
        "parameters",
        "Epoch's language models have 276 (1999) to 1.8e12 parameters, the bundled "
        "table up to 3e12; 1e14 is over 30 times the largest. Under 1 is impossible",
    ),
    "compute_flop": Plausible(
        1e6,
        1e30,
        1.0,
        "FLOP",
        "Epoch's language models used 6e8 (1959) to 5e25 FLOP, the bundled table up to "
        "5e26; 1e30 is 2,000 times the largest. Under 1 FLOP is impossible",
    ),
    "text_share": Plausible(
        0.01,
        1.0,
        None,
        "of the training data",
        "a share: above 1 or at most 0 is an error; under 1% text is hardly a language "
        "model's training set",
    ),
}
#: Release dates: before 1900 or in the future is an error; before this year a warning
#: (Epoch's earliest language model is from 1959).
PLAUSIBLE_FROM_YEAR = 1950
#: At most this many warnings of one load are shown (all are in the load report).
_SHOWN_WARNINGS = 10

_BUNDLED_DIR = "_bundled_data"
_REPO_DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / "data"


# --- reports -------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What a loader read, kept and dropped (row counts; dropped rows by reason).

    ``rows_read`` counts every record after the header (blank rows included), so
    ``rows_read == rows_kept + sum(dropped.values())``. ``flagged`` counts kept rows
    with a caveat (e.g. no disclosed token count); ``ignored_columns`` lists header
    columns the loader does not use (project schema); ``notes`` holds other remarks;
    ``warnings`` the values outside their plausible range (:data:`PLAUSIBLE`) and model
    names that differ only in case, spacing or punctuation, each located.
    """

    file: str
    schema: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Values outside their plausible range and near-duplicate names
    #: (:class:`~forecast.errors.DataWarning`, each naming file, row and column).
    warnings: list[DataWarning] = field(default_factory=list)

    def drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` dropped rows under ``reason``."""
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def flag(self, reason: str, n: int = 1) -> None:
        """Count ``n`` kept rows with the caveat ``reason``."""
        self.flagged[reason] = self.flagged.get(reason, 0) + n

    def __str__(self) -> str:
        parts = [
            f"{self.file} (schema {self.schema}): read {self.rows_read} rows, kept {self.rows_kept}"
        ]
        n_dropped = sum(self.dropped.values())
        if n_dropped:
            reasons = ", ".join(f"{n} {r}" for r, n in self.dropped.items())
            parts.append(f"dropped {n_dropped} ({reasons})")
        else:
            parts.append("dropped none")
        text = "; ".join(parts) + "."
        if self.flagged:
            text += " Kept with caveats: " + ", ".join(f"{n} {r}" for r, n in self.flagged.items())
            text += "."
        if self.ignored_columns:
            text += " Ignored columns: " + ", ".join(self.ignored_columns) + "."
        for note in self.notes:
            text += " " + note.rstrip(".") + "."
        if self.warnings:
            text += (
                f" {len(self.warnings)} warning(s): values outside their plausible range or "
                "names that differ only in case, spacing or punctuation."
            )
        return text


@dataclass
class CheckReport:
    """Result of :func:`check_models_file`: ``ok``, a readable ``text`` and the ``error``.

    ``error`` is the one-line :class:`DataError` message when the file is invalid (else
    None); ``frame`` is the loaded table when it is valid; ``warnings`` the values outside
    their plausible range and near-duplicate names (the text's status is then WARNINGS).
    """

    ok: bool
    text: str
    error: str | None = None
    frame: pd.DataFrame | None = None
    warnings: list = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


# --- locating files ------------------------------------------------------------------


def bundled_path(name: str) -> pathlib.Path:
    """Path of a data file shipped with the package (e.g. ``"training_runs.csv"``).

    Looks first in the wheel's ``forecast/_bundled_data/`` (installed packages), then in
    the repository's ``data/`` next to the package (editable installs). Raises
    :class:`DataError` if neither holds the file.
    """
    tried = []
    try:
        candidate = importlib.resources.files("forecast") / _BUNDLED_DIR / name
        tried.append(str(candidate))
        if candidate.is_file():
            return pathlib.Path(str(candidate))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    repo_candidate = _REPO_DATA_DIR / name
    tried.append(str(repo_candidate))
    if repo_candidate.is_file():
        return repo_candidate
    raise DataError(
        f"bundled data file {name!r} not found (looked in: {'; '.join(tried)}); "
        "reinstall the package or pass an explicit path",
        file=name,
    )


def _is_url(path_or_url) -> bool:
    return isinstance(path_or_url, str) and path_or_url.lower().startswith(("http://", "https://"))


def _read_bytes(path_or_url) -> tuple[bytes, str]:
    """Raw bytes and a display name of a local file or an explicit http(s) URL."""
    if _is_url(path_or_url):
        try:
            with urllib.request.urlopen(path_or_url, timeout=60) as response:
                raw = response.read(MAX_INPUT_BYTES + 1)
        except (OSError, ValueError) as exc:  # URLError is an OSError
            raise DataError(f"could not download: {exc}", file=path_or_url) from exc
        _check_size(len(raw), path_or_url)
        return raw, path_or_url
    if not isinstance(path_or_url, str | os.PathLike) or not str(path_or_url).strip():
        raise DataError(f"a models file must be a non-empty path, got {path_or_url!r}")
    path = pathlib.Path(path_or_url).expanduser()
    name = str(path_or_url)
    if not path.exists():
        raise DataError("file not found", file=name)
    if path.is_dir():
        raise DataError("is a directory, not a CSV file", file=name)
    if not path.is_file():
        # A named pipe or a device (/dev/zero) would block or never end.
        raise DataError("is not a regular file (a pipe or a device?)", file=name)
    _check_size(path.stat().st_size, name)
    try:
        return path.read_bytes(), name
    except OSError as exc:
        raise DataError(f"could not read file: {exc}", file=name) from exc


def _check_size(size: int, name: str) -> None:
    if size > MAX_INPUT_BYTES:
        raise DataError(
            f"is larger than a models table can be ({MAX_INPUT_BYTES:,} bytes, "
            "forecast.limits.MAX_INPUT_BYTES)",
            file=name,
        )


# --- CSV records ---------------------------------------------------------------------


def _first_cell(text: str, bad) -> tuple[int | None, str | None]:
    """(1-based row, column name) of the first CSV cell where ``bad(cell)`` is true."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None, None
    header = records[0] if records else []
    for i, record in enumerate(records):
        for j, cell in enumerate(record):
            if bad(cell):
                column = (
                    header[j].strip().replace("\x00", "") if 0 < i and j < len(header) else None
                )
                return i + 1, column
    return None, None


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 text (a leading BOM removed); non-UTF-8 bytes raise DataError with the row."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex().upper()
        message = (
            f"not valid UTF-8 (byte 0x{bad} at offset {exc.start}); "
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)"
        )
        text = raw.decode("utf-8", errors="surrogateescape")
        row, column = _first_cell(text, re.compile("[\udc80-\udcff]").search)
        raise DataError(message, file=name, row=row, column=column) from None
    if "\x00" in text:
        # Valid UTF-8 but NUL bytes: a binary file, or UTF-16 text without a BOM.
        row, column = _first_cell(text, lambda cell: "\x00" in cell)
        raise DataError(
            "contains NUL bytes (a binary file, or UTF-16 text); save the file as UTF-8 CSV",
            file=name,
            row=row,
            column=column,
        )
    return text


def _records(text: str, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (stripped names) and ``(spreadsheet row, cells)`` for each record."""
    if not text.strip():
        raise DataError("file is empty", file=name)
    # strict: a quote that is never closed is an error, not a cell that swallows the
    # rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    index = 0
    try:
        for index, record in enumerate(reader, start=1):
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            rows.append((index, record))
    except csv.Error as exc:
        hint = ""
        if "end of data" in str(exc):
            hint = " (a quoted cell starting in this row is never closed)"
        elif "expected after" in str(exc):
            hint = ' (text after a closing quote; write a literal quote as "")'
        raise DataError(f"malformed CSV: {exc}{hint}", file=name, row=index + 1) from None
    if not header or not any(header):
        raise DataError("the first row (header) is empty", file=name, row=1)
    if len(header) == 1 and ("\t" in header[0] or ";" in header[0]):
        sep = "tabs" if "\t" in header[0] else "semicolons"
        raise DataError(
            f"the header is a single column separated by {sep}: the file is not "
            "comma-separated; save it as CSV with commas (CSV UTF-8 in a spreadsheet)",
            file=name,
            row=1,
        )
    seen: dict[str, int] = {}
    for j, col in enumerate(header):
        if col and col in seen:
            raise DataError(
                f"column name {col!r} appears twice in the header "
                f"(positions {seen[col] + 1} and {j + 1})",
                file=name,
                row=1,
                column=col,
            )
        seen[col] = j
    # Trailing blank lines at the end of a file are not rows.
    while rows and not any(cell.strip() for cell in rows[-1][1]):
        rows.pop()
    if not rows:
        raise DataError("no data rows (the file has only a header)", file=name)
    width = len(header)
    for row_number, cells in rows:
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise DataError(
                f"row has {len(cells)} cells but the header has {width} columns "
                "(an unquoted comma or a broken quote?)",
                file=name,
                row=row_number,
            )
    return header, rows


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


# --- cell parsers --------------------------------------------------------------------

_NUMBER = re.compile(
    r"""^[+-]?
    (?: \d{1,3}(?:,\d{3})+(?:\.\d*)?     # 1,400,000,000,000 (thousands separators)
      | \d+(?:\.\d*)?                     # 1400 or 1.4
      | \.\d+ )                           # .5
    (?:[eE][+-]?\d+)?$""",
    re.VERBOSE,
)
_NONFINITE = re.compile(r"^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


def parse_number(text: str) -> float | None:
    """A numeric cell -> float; blank -> None. Thousands separators and ``1.4e12`` OK.

    Raises ValueError (with a readable reason) for NaN/inf, garbage and values that
    overflow a float. Sign is not checked here.
    """
    s = text.strip()
    if not s:
        return None
    if _NONFINITE.match(s):
        raise ValueError(f"{s!r} is not a finite number")
    if not _NUMBER.match(s):
        raise ValueError(f"{s!r} is not a number")
    value = float(s.replace(",", ""))
    if not math.isfinite(value):
        raise ValueError(f"{s!r} is too large")
    return value


_DATE_Y = re.compile(r"^(\d{4})$")
_DATE_YM = re.compile(r"^(\d{4})-(\d{1,2})$")
_DATE_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATE_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_date(text: str) -> dt.datetime:
    """A date cell -> naive datetime (UTC for zoned ISO datetimes).

    Accepts ``YYYY-MM-DD``, ``YYYY-MM`` (first of the month), ``YYYY`` (1 January) and
    ISO datetimes; raises ValueError otherwise.
    """
    s = text.strip()
    try:
        if m := _DATE_Y.match(s):
            return dt.datetime(int(m[1]), 1, 1)
        if m := _DATE_YM.match(s):
            return dt.datetime(int(m[1]), int(m[2]), 1)
        if m := _DATE_YMD.match(s):
            return dt.datetime(int(m[1]), int(m[2]), int(m[3]))
        if _DATE_ISO.match(s):
            iso = s[:-1] + "+00:00" if s.endswith("Z") else s
            value = dt.datetime.fromisoformat(iso)
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value
    except ValueError:
        pass
    raise ValueError(f"{s!r} is not a date (use YYYY-MM-DD, YYYY-MM, YYYY or an ISO datetime)")


class _Validator:
    """Cell checks that raise DataError located at (file, row, column)."""

    def __init__(self, name: str, today: dt.date | None = None) -> None:
        self.name = name
        self.today = today or dt.date.today()
        self.model_column = "model"  # the file's spelling, set by the schema's loader

    def error(self, message: str, row: int | None = None, column: str | None = None):
        return DataError(message, file=self.name, row=row, column=column)

    def date(self, text: str, row: int, column: str) -> dt.datetime:
        if not text:
            raise self.error("missing date", row, column)
        try:
            value = parse_date(text)
        except ValueError as exc:
            raise self.error(str(exc), row, column) from None
        if value.date() > self.today:
            raise self.error(
                f"date {text!r} is in the future (today is {self.today.isoformat()})",
                row,
                column,
            )
        if value.year < 1900:
            raise self.error(f"date {text!r} is before 1900", row, column)
        return value

    def positive(self, text: str, row: int, column: str) -> float:
        """A positive finite number, or NaN for a blank cell."""
        try:
            value = parse_number(text)
        except ValueError as exc:
            raise self.error(str(exc), row, column) from None
        if value is None:
            return math.nan
        if value <= 0:
            raise self.error(f"{text.strip()!r} must be positive", row, column)
        return value


# --- plausibility -------------------------------------------------------------------


def normalised_name(name: str) -> str:
    """A model name as compared for near-duplicates: Unicode-normalised (NFKC), case-folded,
    without spaces, hyphens and other punctuation, except a decimal point or comma between
    two digits ("Qwen2.5 7B" is not "Qwen 2 57B"). "GPT-4", "gpt 4" and "GPT_4" are all
    "gpt4"."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return ".".join(re.sub(r"[\W_]+", "", part) for part in re.split(r"(?<=\d)[.,](?=\d)", folded))


def _impossible(field_name: str, value: float) -> str | None:
    """Why ``value`` cannot be a ``field_name`` (below :data:`PLAUSIBLE`'s minimum), or None."""
    rng = PLAUSIBLE[field_name]
    if rng.minimum is None or value >= rng.minimum:
        return None
    return (
        f"{value:g} is less than {rng.minimum:g} {rng.unit.rstrip('s')}: impossible (the "
        f"column holds a count of {rng.unit}, e.g. 1.5e12 for 1.5 trillion)"
    )


def _check_plausible(
    v: _Validator, report: LoadReport, row: int, values: dict[str, tuple[float, str]]
) -> None:
    """Each ``field -> (value, file column)`` of one row against :data:`PLAUSIBLE`: an
    impossible value is a DataError, one outside the plausible range a DataWarning (the
    value loads as given); NaN (blank) passes."""
    for field_name, (value, column) in values.items():
        if math.isnan(value):
            continue
        impossible = _impossible(field_name, value)
        if impossible:
            raise v.error(impossible, row, column)
        rng = PLAUSIBLE[field_name]
        if not rng.low <= value <= rng.high:
            side = "below" if value < rng.low else "above"
            report.warnings.append(
                DataWarning(
                    f"{value:g} is {side} the plausible range of {field_name} ({rng.low:g} to "
                    f"{rng.high:g} {rng.unit}; forecast.data.PLAUSIBLE): loaded as given, "
                    "check the value and its unit",
                    file=v.name,
                    row=row,
                    column=column,
                )
            )


def _check_date(v: _Validator, report: LoadReport, row: int, value: dt.datetime, column: str):
    if value.year < PLAUSIBLE_FROM_YEAR:
        report.warnings.append(
            DataWarning(
                f"{value:%Y-%m-%d} is before {PLAUSIBLE_FROM_YEAR}, earlier than any language "
                "model in Epoch AI's database: loaded as given, check the date",
                file=v.name,
                row=row,
                column=column,
            )
        )


def _near_duplicates(records: list[dict], report: LoadReport, v: _Validator, column: str) -> None:
    """Model names that differ only in case, spacing or punctuation ("GPT-4", "gpt 4"):
    one warning per later row, naming both rows. Both are kept (names that normalise
    alike can still be two models); exact duplicates were handled by :func:`_dedupe`."""
    first: dict[str, dict] = {}
    for rec in records:
        key = normalised_name(rec["model"])
        prev = first.setdefault(key, rec)
        if prev is not rec:
            report.warnings.append(
                DataWarning(
                    f"model names {prev['model']!r} (row {prev['_row']}) and {rec['model']!r} "
                    f"(row {rec['_row']}) differ only in case, spacing or punctuation: the "
                    "same model twice? Both rows are kept; spell it one way, or tell the two "
                    "apart",
                    file=v.name,
                    row=rec["_row"],
                    column=column,
                )
            )


# --- the two schemas -----------------------------------------------------------------


def _detect_schema(header: Sequence[str]) -> str:
    """``"project"``, ``"epoch"`` or raise DataError listing the columns present."""
    cols = set(header)
    lower = {c.lower() for c in header}
    if EPOCH_DATE_COLUMN in cols and cols & set(EPOCH_NAME_COLUMNS):
        return "epoch"
    if "model" in lower:
        return "project"
    return "unknown"


def _missing_columns_error(name: str, header: Sequence[str], what: str) -> DataError:
    present = ", ".join(repr(c) for c in header if c) or "(none)"
    return DataError(f"{what}; columns present: {present}", file=name)


def _choice(v: _Validator, text: str, allowed: Sequence[str], row: int, column: str) -> str:
    """A categorical cell (case-insensitive) -> its canonical spelling, or DataError."""
    for value in allowed:
        if text.lower() == value.lower():
            return value
    raise v.error(f"{column} {text!r} is not one of {', '.join(allowed)}", row, column)


def _flag(rec: dict, reason: str) -> None:
    """Note a caveat on a row; counted in the load report once duplicates are removed."""
    rec.setdefault("_flags", []).append(reason)


def _tokens_trained(rec: dict) -> None:
    """Fill ``tokens`` (tokens trained) from the published number, its kind and epochs."""
    published = rec["tokens_published"]
    rec["tokens"] = published
    if math.isnan(published):
        _flag(rec, FLAG_NO_TOKENS)
        return
    if rec["tokens_kind"] == "corpus":
        if math.isnan(rec["unique_tokens"]):
            rec["unique_tokens"] = published
        if math.isnan(rec["epochs"]):
            _flag(rec, FLAG_ONE_PASS)
        else:
            rec["tokens"] = published * rec["epochs"]
    if rec["tokens_bound"] == "lower":
        _flag(rec, FLAG_LOWER_BOUND)
    elif rec["tokens_bound"] == "upper":
        _flag(rec, FLAG_UPPER_BOUND)


def _project_categories(
    rec: dict,
    get: dict[str, str],
    present: set[str],
    row: int,
    v: _Validator,
    name: Callable[[str], str],
) -> None:
    """Validate the descriptive columns of one project row (or apply their defaults).

    ``name`` gives a column's spelling in the file's header, for the error messages.
    """
    has_tokens = not math.isnan(rec["tokens_published"])
    has_compute = not math.isnan(rec["compute_flop"])
    if "disclosure" in present:
        disclosure = _choice(v, get["disclosure"], DISCLOSURE_LEVELS, row, name("disclosure"))
        if disclosure == "disclosed" and not has_tokens:
            raise v.error("disclosure is 'disclosed' but tokens is empty", row, name("tokens"))
        if disclosure == "undisclosed" and has_tokens:
            raise v.error(
                "disclosure is 'undisclosed' but tokens has a value (leave it empty)",
                row,
                name("tokens"),
            )
    else:
        disclosure = "disclosed" if has_tokens else "undisclosed"
    rec["disclosure"] = disclosure
    for column, allowed in (("tokens_bound", TOKENS_BOUNDS), ("tokens_kind", TOKENS_KINDS)):
        if column not in present:
            rec[column] = PROJECT_DEFAULTS[column] if has_tokens else ""
        elif has_tokens:
            if not get[column]:
                raise v.error(f"{column} is required when tokens has a value", row, name(column))
            rec[column] = _choice(v, get[column], allowed, row, name(column))
        elif get[column]:
            raise v.error(f"{column} {get[column]!r} given but tokens is empty", row, name(column))
        else:
            rec[column] = ""
    if "modality" in present:
        if not get["modality"]:
            raise v.error("modality is required (text or multimodal)", row, name("modality"))
        rec["modality"] = _choice(v, get["modality"], MODALITIES, row, name("modality"))
    else:
        rec["modality"] = PROJECT_DEFAULTS["modality"]
    share = v.positive(get["text_share"], row, name("text_share"))
    if share > 1:
        raise v.error(f"text_share {share:g} must be a fraction in (0, 1]", row, name("text_share"))
    rec["text_share"] = share
    rec["family"] = get["family"] or rec["model"]
    if "compute_source" not in present:
        rec["compute_source"] = PROJECT_DEFAULTS["compute_source"] if has_compute else ""
    elif has_compute:
        if not get["compute_source"]:
            raise v.error(
                "compute_source is required when compute_flop has a value",
                row,
                name("compute_source"),
            )
        rec["compute_source"] = _choice(
            v, get["compute_source"], COMPUTE_SOURCES, row, name("compute_source")
        )
    elif get["compute_source"]:
        raise v.error(
            f"compute_source {get['compute_source']!r} given but compute_flop is empty",
            row,
            name("compute_source"),
        )
    else:
        rec["compute_source"] = ""


def _load_project(
    header: list[str], rows: list[tuple[int, list[str]]], name: str, v: _Validator
) -> tuple[list[dict], LoadReport]:
    lower = [c.lower() for c in header]
    for j, col in enumerate(lower):
        if col in PROJECT_COLUMNS and col in lower[:j]:
            first = lower.index(col)
            raise DataError(
                f"column names {header[first]!r} and {header[j]!r} are the same column "
                f"(names are not case-sensitive; positions {first + 1} and {j + 1})",
                file=name,
                row=1,
                column=header[j],
            )
    missing = [c for c in PROJECT_REQUIRED if c not in lower]
    if missing:
        raise _missing_columns_error(
            name, header, f"missing required column(s) {', '.join(missing)}"
        )
    index = {c: lower.index(c) for c in PROJECT_COLUMNS if c in lower}
    present = set(index)
    report = LoadReport(file=name, schema="project")
    report.ignored_columns = [c for c in header if c and c.lower() not in PROJECT_COLUMNS]
    absent = [c for c in PROJECT_DEFAULTS if c not in present]
    if absent:
        report.notes.append(
            "column(s) absent, read with defaults: "
            + ", ".join(f"{c} = {PROJECT_DEFAULTS[c]}" for c in absent)
        )

    def column_name(col: str) -> str:
        return header[index[col]] if col in index else col

    v.model_column = column_name("model")
    records: list[dict] = []
    for row, cells in rows:
        report.rows_read += 1
        if not any(c.strip() for c in cells):
            report.drop(DROP_BLANK)
            continue
        get = {c: _cell(cells, index.get(c)) for c in PROJECT_COLUMNS}
        if not get["model"]:
            raise v.error("missing model name", row, column_name("model"))
        rec: dict = {"_row": row, "model": get["model"]}
        rec["date"] = v.date(get["date"], row, column_name("date"))
        rec["tokens_published"] = v.positive(get["tokens"], row, column_name("tokens"))
        for col in _FILE_NUMERIC:
            rec[col] = v.positive(get[col], row, column_name(col))
        _project_categories(rec, get, present, row, v, column_name)
        _check_plausible(
            v,
            report,
            row,
            {
                "tokens": (rec["tokens_published"], column_name("tokens")),
                **{c: (rec[c], column_name(c)) for c in (*_FILE_NUMERIC, "text_share")},
            },
        )
        _check_date(v, report, row, rec["date"], column_name("date"))
        _tokens_trained(rec)
        confidence = get["confidence"].lower()
        if confidence and confidence not in CONFIDENCE_LEVELS:
            raise v.error(
                f"confidence {get['confidence']!r} is not one of {', '.join(CONFIDENCE_LEVELS)}",
                row,
                column_name("confidence"),
            )
        for col in ("organization", "published_size", "conversion", "source_url", "notes"):
            rec[col] = get[col]
        rec["confidence"] = confidence
        records.append(rec)
    return records, report


def _epoch_size_column(header: Sequence[str]) -> tuple[str, bool] | None:
    for col, words in EPOCH_SIZE_COLUMNS:
        if col in header:
            return col, words
    return None


def _load_epoch(
    header: list[str], rows: list[tuple[int, list[str]]], name: str, v: _Validator
) -> tuple[list[dict], LoadReport]:
    size = _epoch_size_column(header)
    if size is None:
        raise _missing_columns_error(
            name,
            header,
            "Epoch file without a dataset-size column (expected one of "
            + ", ".join(repr(c) for c, _ in EPOCH_SIZE_COLUMNS)
            + ")",
        )
    if "Domain" not in header:
        raise _missing_columns_error(name, header, "Epoch file without a 'Domain' column")
    size_col, in_words = size
    name_col = next(c for c in EPOCH_NAME_COLUMNS if c in header)
    v.model_column = name_col
    idx = {c: i for i, c in enumerate(header)}
    report = LoadReport(file=name, schema=f"epoch:{size_col}")
    if in_words:
        conversion = (
            f"Epoch '{size_col}' holds words for language models; "
            f"tokens = words / {WORDS_PER_TOKEN} (x 4/3)"
        )
    else:
        conversion = f"Epoch '{size_col}': tokens as published"
    bad_optional: dict[str, int] = {}
    records: list[dict] = []
    no_text_task: list[str] = []
    for row, cells in rows:
        report.rows_read += 1
        if not any(c.strip() for c in cells):
            report.drop(DROP_BLANK)
            continue
        domains = [d.strip().lower() for d in _cell(cells, idx["Domain"]).split(",")]
        if "language" not in domains:
            report.drop(DROP_NOT_LANGUAGE)
            continue
        task = _cell(cells, idx.get(EPOCH_TASK_COLUMN))
        tasks = {t.strip().lower() for t in task.split(",") if t.strip()}
        if tasks and not tasks & EPOCH_TEXT_TASKS:
            report.drop(DROP_NO_TEXT_TASK)
            no_text_task.append(_cell(cells, idx[name_col]))
            continue
        # Language with other domains (vision, video, audio, ...): Epoch counts each
        # domain's datapoints in its own unit, so the size is not a count of text tokens
        # (Perceiver IO's optical flow: 7e13 "tokens"). Only its compute is used.
        multimodal = bool(set(domains) - {"language"})
        raw_size = "" if multimodal else _cell(cells, idx[size_col])
        size_given = bool(_cell(cells, idx[size_col]))
        numbers: dict[str, float] = {}
        for src, dst in EPOCH_NUMERIC.items():
            numbers[dst] = math.nan
            if src not in idx:
                continue
            try:
                number = parse_number(_cell(cells, idx[src]))
            except ValueError:
                number = None
                bad_optional[src] = bad_optional.get(src, 0) + 1
            if number is not None and (number <= 0 or _impossible(dst, number)):
                bad_optional[src] = bad_optional.get(src, 0) + 1
                number = None
            numbers[dst] = math.nan if number is None else number
        if not raw_size and math.isnan(numbers["compute_flop"]):
            report.drop(DROP_MULTIMODAL if multimodal and size_given else DROP_NO_SIZE)
            continue
        value = None
        if raw_size:
            try:
                value = parse_number(raw_size)
            except ValueError:
                if _NONFINITE.match(raw_size):
                    raise v.error(f"{raw_size!r} is not a finite number", row, size_col) from None
                if _NUMBER.match(raw_size):  # a number, but too large for a float
                    raise v.error(f"{raw_size!r} is too large", row, size_col) from None
                report.drop(DROP_BAD_SIZE)
                continue
            if value is None or value <= 0:
                raise v.error(f"dataset size {raw_size!r} must be positive", row, size_col)
        model = _cell(cells, idx[name_col])
        if not model:
            raise v.error("missing model name", row, name_col)
        raw_date = _cell(cells, idx[EPOCH_DATE_COLUMN])
        if not raw_date:
            report.drop(DROP_NO_DATE)
            continue
        rec: dict = {"_row": row, "model": model, **numbers}
        rec["date"] = v.date(raw_date, row, EPOCH_DATE_COLUMN)
        _check_date(v, report, row, rec["date"], EPOCH_DATE_COLUMN)
        size = math.nan if value is None else (value / WORDS_PER_TOKEN if in_words else value)
        _check_plausible(
            v,
            report,
            row,
            {
                "tokens": (size, size_col),
                **{dst: (numbers[dst], src) for src, dst in EPOCH_NUMERIC.items() if src in idx},
            },
        )
        rec["unique_tokens"] = math.nan
        rec["text_share"] = math.nan
        rec["family"] = model
        rec["modality"] = "text" if set(domains) <= {"language"} else "multimodal"
        rec["compute_source"] = "" if math.isnan(rec["compute_flop"]) else "estimate"
        if value is None:
            # A language model whose training compute is known but whose data is not (or
            # whose dataset size is not a count of text tokens: multimodal).
            rec["disclosure"] = "undisclosed"
            rec["tokens_published"] = math.nan
            rec["tokens_bound"] = rec["tokens_kind"] = ""
            rec["published_size"] = "not disclosed"
            rec["conversion"] = ""
            if multimodal and size_given:
                rec["published_size"] = (
                    f"{_cell(cells, idx[size_col])} datapoints (multimodal; not text tokens)"
                )
                _flag(rec, FLAG_MULTIMODAL)
        else:
            rec["disclosure"] = "disclosed"
            # Epoch's convention is 1 token = 0.75 words, so tokens = words x 4/3. (Epoch's
            # own 2024 code multiplies the stored words by 4/5 to "convert to tokens",
            # which goes the wrong way: it shrinks word counts instead of enlarging them.)
            rec["tokens_published"] = value / WORDS_PER_TOKEN if in_words else value
            rec["tokens_bound"] = "exact"
            rec["tokens_kind"] = _epoch_tokens_kind(rec)
            rec["published_size"] = f"{raw_size} {'words' if in_words else 'tokens'}"
            rec["conversion"] = conversion
        _tokens_trained(rec)
        rec["organization"] = _cell(cells, idx.get("Organization"))
        rec["confidence"] = _cell(cells, idx.get("Confidence")).lower()
        rec["source_url"] = _cell(cells, idx.get("Link"))
        rec["notes"] = _cell(cells, idx.get("Dataset size notes"))
        records.append(rec)
    for src, n in bad_optional.items():
        report.notes.append(
            f"{n} unparseable, non-positive or impossible '{src}' value(s) set to NaN"
        )
    if no_text_task:
        shown = ", ".join(no_text_task[:30])
        more = f" and {len(no_text_task) - 30} more" if len(no_text_task) > 30 else ""
        report.notes.append(f"dropped for no text task: {shown}{more}")
    return records, report


FLAG_EPOCHS_IGNORED = (
    "Epochs value ignored: the dataset size already matches compute as tokens trained (C = 6ND)"
)


def _epoch_tokens_kind(rec: dict) -> str:
    """``corpus`` (Epoch records a dataset and its passes) unless compute says otherwise.

    Epoch's size column holds the dataset and ``Epochs`` the passes over it, but some rows
    already hold the tokens processed. Where parameters and compute are known, C = 6·N·D
    decides: if the size alone matches the compute better (in log ratio) than the size
    times the epochs, the size is taken as tokens trained and the epochs are ignored.
    """
    epochs, size = rec["epochs"], rec["tokens_published"]
    n, flop = rec["parameters"], rec["compute_flop"]
    if math.isnan(epochs) or epochs == 1 or math.isnan(n) or math.isnan(flop):
        return "corpus"
    as_trained = abs(math.log10(6 * n * size / flop))
    as_corpus = abs(math.log10(6 * n * size * epochs / flop))
    if as_trained < as_corpus:
        _flag(rec, FLAG_EPOCHS_IGNORED)
        rec["unique_tokens"] = math.nan
        return "trained"
    return "corpus"


_COMPARE = (
    "organization",
    "date",
    "disclosure",
    "tokens",
    "tokens_bound",
    "tokens_kind",
    "unique_tokens",
    "epochs",
    "modality",
    "family",
    "parameters",
    "compute_flop",
    "compute_source",
    "confidence",
)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def _dedupe(records: list[dict], report: LoadReport, v: _Validator) -> list[dict]:
    """Exact duplicates (same model and values) count once; conflicting ones are errors."""
    first: dict[str, dict] = {}
    out = []
    for rec in records:
        prev = first.get(rec["model"])
        if prev is None:
            first[rec["model"]] = rec
            out.append(rec)
            continue
        differing = [c for c in _COMPARE if not _same(prev[c], rec[c])]
        if differing:
            raise v.error(
                f"model {rec['model']!r} appears in rows {prev['_row']} and {rec['_row']} "
                f"with different values ({', '.join(differing)})",
                rec["_row"],
                differing[0],
            )
        report.drop(DROP_DUPLICATE)
    return out


def _frame(records: list[dict]) -> pd.DataFrame:
    data: dict[str, object] = {}
    for col in TEXT_COLUMNS:
        data[col] = pd.Series([r[col] for r in records], dtype=object).astype(str)
    data["date"] = pd.Series(pd.to_datetime([r["date"] for r in records]), dtype="datetime64[ns]")
    for col in NUMERIC_COLUMNS:
        data[col] = np.array([r[col] for r in records], dtype=float)
    df = pd.DataFrame(data)
    df = df.sort_values(["date", "model"], kind="mergesort").reset_index(drop=True)
    df["year"] = np.asarray(decimal_years(df["date"]), dtype=float)
    return df[list(COLUMNS)]


def _parse(raw: bytes, name: str, *, expect: str | None = None) -> pd.DataFrame:
    text = _decode(raw, name)
    header, rows = _records(text, name)
    schema = _detect_schema(header)
    if expect == "project" and schema != "project":
        schema = "project"  # reports the missing project columns below
    v = _Validator(name)
    if schema == "project":
        records, report = _load_project(header, rows, name, v)
    elif schema == "epoch":
        records, report = _load_epoch(header, rows, name, v)
    else:
        raise _missing_columns_error(
            name,
            header,
            "unrecognised header: expected the project schema (model, date, tokens, ...) "
            "or an Epoch AI models file (Model/System, Publication date, Domain, "
            "Training dataset size ...)",
        )
    records = _dedupe(records, report, v)
    _near_duplicates(records, report, v, v.model_column)
    report.warnings.sort(key=lambda w: w.row or 0)  # in the file's order
    for rec in records:
        for reason in rec.get("_flags", ()):
            report.flag(reason)
    report.rows_kept = len(records)
    if not records:
        raise DataError(f"no usable rows: {report}", file=name)
    df = _frame(records)
    df.attrs["load_report"] = report
    df.attrs["source"] = name
    for warning in report.warnings[:_SHOWN_WARNINGS]:
        warnings.warn(warning, stacklevel=4)  # the caller of load_models (past checks)
    if len(report.warnings) > _SHOWN_WARNINGS:
        more = len(report.warnings) - _SHOWN_WARNINGS
        warnings.warn(
            DataWarning(
                f"{more} more warning(s): df.attrs['load_report'].warnings, or "
                "`forecast data check`, lists them all",
                file=name,
            ),
            stacklevel=4,
        )
    return df


# --- public loaders ------------------------------------------------------------------


def dated(models: pd.DataFrame) -> pd.DataFrame:
    """A copy of a models table with ``date`` as datetimes and ``year`` as decimal years
    (computed from ``date`` when the table has no ``year`` column)."""
    frame = models.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    if "year" not in frame.columns:
        frame["year"] = decimal_years(frame["date"])
    return frame


@checked(path_or_url=checks.path("a path or an http(s):// URL (a str or pathlib.Path)"))
def load_models(path_or_url) -> pd.DataFrame:
    """Load any models CSV (project schema or Epoch AI's, auto-detected from the header).

    ``path_or_url`` is a local path or an explicit ``http(s)://`` URL. Returns one row per
    model with the columns in :data:`COLUMNS`: sizes in **tokens** (float, NaN where
    unknown), ``compute_flop`` in FLOP, ``date`` as ``datetime64[ns]``, ``year`` as a
    decimal year; sorted by date then model. ``df.attrs["load_report"]`` is a
    :class:`LoadReport`, ``df.attrs["source"]`` the path or URL. Raises
    :class:`DataError` (file, 1-based row, column) for invalid input.
    """
    raw, name = _read_bytes(path_or_url)
    return _parse(raw, name)


@checked(path=checks.optional(checks.path()))
def load_training_runs(path=None) -> pd.DataFrame:
    """The bundled ``training_runs.csv`` (or ``path``, a file in the project schema).

    Same columns and attrs as :func:`load_models`; sizes in tokens.
    """
    if path is None:
        path = bundled_path("training_runs.csv")
    raw, name = _read_bytes(path)
    return _parse(raw, name, expect="project")


STOCK_REQUIRED: tuple[str, ...] = ("parameter", "distribution")
STOCK_NUMERIC: tuple[str, ...] = ("low", "high", "interval", "central")


def load_stock_estimates(path=None) -> pd.DataFrame:
    """The stock-model inputs (bundled ``stock_estimates.csv`` or ``path``), one row per parameter.

    Keeps every column of the file as text, except ``low``, ``high``, ``interval`` and
    ``central``, which become floats (NaN if blank; units are given per row in ``unit``).
    Checks only what is generic: ``parameter`` present and unique, numbers finite,
    ``low <= high``, ``0 < interval < 1``. What each distribution needs is checked by
    :func:`forecast.stock.estimates.load_stock_estimates`, which reads the file through this.
    Raises :class:`DataError` (file, row, column).
    """
    if path is None:
        path = bundled_path("stock_estimates.csv")
    raw, name = _read_bytes(path)
    header, rows = _records(_decode(raw, name), name)
    missing = [c for c in STOCK_REQUIRED if c not in header]
    if missing:
        raise _missing_columns_error(
            name, header, f"missing required column(s) {', '.join(missing)}"
        )
    v = _Validator(name)
    columns = [c for c in header if c]
    idx = {c: header.index(c) for c in columns}
    out: dict[str, list] = {c: [] for c in columns}
    first_row: dict[str, int] = {}
    report = LoadReport(file=name, schema="stock_estimates")
    for row, cells in rows:
        report.rows_read += 1
        if not any(c.strip() for c in cells):
            report.drop(DROP_BLANK)
            continue
        parameter = _cell(cells, idx["parameter"])
        if not parameter:
            raise v.error("missing parameter name", row, "parameter")
        if parameter in first_row:
            raise v.error(
                f"parameter {parameter!r} appears in rows {first_row[parameter]} and {row}",
                row,
                "parameter",
            )
        first_row[parameter] = row
        values: dict[str, object] = {}
        for col in columns:
            text = _cell(cells, idx[col])
            if col in STOCK_NUMERIC:
                try:
                    number = parse_number(text)
                except ValueError as exc:
                    raise v.error(str(exc), row, col) from None
                values[col] = math.nan if number is None else number
            else:
                values[col] = text
        low, high = values.get("low", math.nan), values.get("high", math.nan)
        if low > high:  # False when either is NaN
            raise v.error(f"low ({low:g}) is larger than high ({high:g})", row, "low")
        interval = values.get("interval", math.nan)
        if not math.isnan(interval) and not 0 < interval < 1:
            raise v.error(f"interval {interval:g} must be between 0 and 1", row, "interval")
        for col in columns:
            out[col].append(values[col])
    report.rows_kept = len(first_row)
    if not first_row:
        raise DataError("no data rows", file=name)
    df = pd.DataFrame(
        {c: np.array(out[c], dtype=float) if c in STOCK_NUMERIC else out[c] for c in columns}
    )
    df.attrs["load_report"] = report
    df.attrs["source"] = name
    df.attrs["rows"] = list(first_row.values())  # each row's line in the file (header = 1)
    return df


#: Categorical columns counted by ``forecast data check``, with their allowed values.
_COUNTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("disclosure", DISCLOSURE_LEVELS),
    ("tokens_bound", TOKENS_BOUNDS),
    ("tokens_kind", TOKENS_KINDS),
    ("modality", MODALITIES),
    ("compute_source", COMPUTE_SOURCES),
)


def _category_counts(df: pd.DataFrame) -> list[str]:
    """One line per categorical column: ``by disclosure: disclosed 120, undisclosed 20``."""
    lines = []
    for column, allowed in _COUNTED:
        counts = df[column].value_counts()
        parts = [f"{value} {int(counts.get(value, 0))}" for value in allowed]
        blank = int(counts.get("", 0))
        if blank:
            parts.append(f"(none) {blank}")
        lines.append(f"by {column}: " + ", ".join(parts))
    undisclosed = df["disclosure"] == "undisclosed"
    with_compute = int((undisclosed & df["compute_flop"].notna()).sum())
    lines.append(
        f"undisclosed runs with training compute: {with_compute} of {int(undisclosed.sum())}"
    )
    return lines


@checked(path=checks.path("a path or an http(s):// URL (a str or pathlib.Path)"))
def check_models_file(path) -> CheckReport:
    """Validate a models CSV and describe it (schema, row counts, date range, largest run).

    Never raises :class:`DataError`: an invalid file gives ``ok=False`` and the one-line
    error in ``error``. Values outside their plausible range (:data:`PLAUSIBLE`) and model
    names that differ only in case, spacing or punctuation are listed, each with its row
    and column, and make the status ``WARNINGS`` (``ok`` stays True: the table loads).
    Sizes in the text are tokens. Prints nothing and warns nothing.
    """
    try:
        with warnings.catch_warnings():  # listed in the text below instead
            warnings.simplefilter("ignore", DataWarning)
            df = load_models(path)
    except DataError as exc:
        text = f"{path}: INVALID\nproblem: {exc}"
        return CheckReport(ok=False, text=text, error=str(exc))
    report: LoadReport = df.attrs["load_report"]
    lines = [
        f"file: {report.file}",
        f"schema: {report.schema}",
        f"rows read: {report.rows_read}",
        f"rows kept: {report.rows_kept}",
    ]
    if report.dropped:
        lines.append(f"rows dropped: {sum(report.dropped.values())}")
        lines.extend(f"  - {reason}: {n}" for reason, n in report.dropped.items())
    else:
        lines.append("rows dropped: 0")
    lines.append(f"date range: {df['date'].min():%Y-%m-%d} to {df['date'].max():%Y-%m-%d}")
    with_tokens = df["tokens"].notna()
    lines.append(f"models with tokens trained: {int(with_tokens.sum())} of {len(df)}")
    if with_tokens.any():
        top = df.loc[df.loc[with_tokens, "tokens"].idxmax()]
        lines.append(
            f"largest run: {top['model']} ({top['tokens']:.3g} tokens trained, "
            f"{top['date']:%Y-%m-%d})"
        )
    lines.extend(_category_counts(df))
    families = df["family"].nunique()
    lines.append(f"families (runs sharing one corpus and release): {families} for {len(df)} rows")
    problems = [f"{n} row(s) kept with {r}" for r, n in report.flagged.items()]
    if report.ignored_columns:
        problems.append("ignored column(s): " + ", ".join(report.ignored_columns))
    problems.extend(report.notes)
    lines.append("problems: " + ("none" if not problems else "; ".join(problems)))
    if report.warnings:
        lines.append(f"warnings: {len(report.warnings)}")
        lines.extend(f"  - {w}" for w in report.warnings)
        lines.append(
            f"status: WARNINGS ({len(report.warnings)}): the table loads, but check the "
            "values and names above (forecast.data.PLAUSIBLE has the ranges)"
        )
    else:
        lines.append("status: OK")
    return CheckReport(
        ok=True, text="\n".join(lines), error=None, frame=df, warnings=list(report.warnings)
    )


def models_frame_hash(df: pd.DataFrame) -> str:
    """Stable sha256 (hex) of the columns a demand fit reads: ``model``, ``date``,
    ``tokens``, ``compute_flop``, ``family``, ``tokens_bound`` and ``compute_source``.

    Independent of row order and of other columns; tokens and FLOP are hashed exactly
    (``float.hex``), NaN as ``nan``. Used as a cache key for fits. ``tokens`` is required;
    a frame without ``date`` is hashed on ``year`` (decimal years), a missing ``model``
    or ``compute_flop`` column hashes as empty names / NaN, a missing ``family`` as the
    model names (each run its own family), a missing ``tokens_bound`` or
    ``compute_source`` (or an empty cell) as empty text.
    """
    if "tokens" not in df.columns or not ({"date", "year"} & set(df.columns)):
        raise DataError(
            "models frame needs a 'tokens' column and a 'date' or 'year' column; "
            f"columns present: {', '.join(map(str, df.columns))}"
        )

    def fmt(x) -> str:
        x = float(x)
        return "nan" if math.isnan(x) else x.hex()

    n = len(df)
    if "date" in df.columns:
        dates = pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%dT%H:%M:%S").tolist()
    else:
        dates = ["y" + fmt(y) for y in df["year"].tolist()]
    models = df["model"].astype(str).tolist() if "model" in df.columns else [""] * n
    flops = df["compute_flop"].tolist() if "compute_flop" in df.columns else [math.nan] * n
    families = df["family"].astype(str).tolist() if "family" in df.columns else models

    def text(column: str) -> list[str]:
        if column not in df.columns:
            return [""] * n
        return df[column].fillna("").astype(str).tolist()

    columns = zip(
        models, dates, df["tokens"].tolist(), flops, families, text("tokens_bound"),
        text("compute_source"), strict=True,
    )  # fmt: skip
    lines = sorted("\t".join([m, d, fmt(t), fmt(c), f, b, s]) for m, d, t, c, f, b, s in columns)
    digest = hashlib.sha256()
    # v3: tokens_bound and compute_source, which the damped trend reads, joined the key.
    digest.update(b"forecast-models-v3\n")
    for line in lines:
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()
