"""The stock models' inputs: ``data/stock_estimates.csv`` (one row per parameter, with its
distribution and source) and the distributions it names.

:func:`load_stock_estimates` validates the table (file, row, column errors) and
:func:`cached_stock_estimates` parses each file version once; :func:`parameter_spec`
turns a row into a :class:`ParamSpec`; :func:`_as_spec` turns a user's lever value (a
number, ``(low, high[, interval])`` or a ParamSpec) into one, within the lever's bounds.
Every parameter is drawn from its own stream (:func:`_rng`, keyed by its name), so
switching one lever leaves every other parameter's draws unchanged.
"""

from __future__ import annotations

import math
import pathlib
import zlib
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from forecast.checks import describe
from forecast.errors import DataError, LeverError

__all__ = [
    "ParamSpec",
    "cached_stock_estimates",
    "load_stock_estimates",
    "lognormal_from_interval",
    "normal_from_interval",
    "parameter_spec",
]

STOCK_FILE = "stock_estimates.csv"
COLUMNS = (
    "parameter",
    "model",
    "description",
    "unit",
    "distribution",
    "low",
    "high",
    "interval",
    "central",
    "source",
    "source_url",
    "status",
    "notes",
)
NUMERIC_COLUMNS = ("low", "high", "interval", "central")
#: lognormal/normal: central ``interval`` mass in [low, high]; fixed: the value ``central``;
#: reported: a published summary kept for reference and tests, never sampled.
DISTRIBUTIONS = ("lognormal", "normal", "fixed", "reported")
#: Source status (data/README.md): V, R, S, U, plus A = assumption of this toolkit (anchored as its notes say).
STATUSES = ("V", "R", "S", "U", "A")

_TABLE_CACHE: dict[tuple, pd.DataFrame] = {}
#: Every cached table's rows as ParamSpecs, by the table's id (the table itself is kept
#: beside them, and alive in _TABLE_CACHE, so an id is never taken for another table):
#: a lookup is a dict access instead of a pandas selection (~2 ms, which made up 90% of
#: ``sample_parameters``).
_SPECS_BY_TABLE: dict[int, tuple[pd.DataFrame, dict[str, ParamSpec]]] = {}


# --- distributions -----------------------------------------------------------------------


def _z(interval: float) -> float:
    """Standard-normal quantile bounding the central ``interval`` mass."""
    return NormalDist().inv_cdf(0.5 + interval / 2.0)


def lognormal_from_interval(low, high, interval, size, rng: np.random.Generator) -> np.ndarray:
    """Lognormal draws whose central ``interval`` mass is ``[low, high]``.

    Same as squigglepy's ``sq.to(low, high, credibility=100 * interval)`` (and Squiggle's
    ``low to high`` with ``interval=0.9``): ``mu = (ln low + ln high) / 2``,
    ``sigma = (ln high - ln low) / (2 z)``, ``z = Phi^-1((1 + interval) / 2)``; the median
    is ``sqrt(low x high)``.
    """
    low, high, interval = float(low), float(high), float(interval)
    if not (0.0 < low < high) or not np.isfinite(high):
        raise ValueError(f"lognormal bounds need 0 < low < high, got low={low!r}, high={high!r}")
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1), got {interval!r}")
    mu = 0.5 * (math.log(low) + math.log(high))
    sigma = (math.log(high) - math.log(low)) / (2.0 * _z(interval))
    return rng.lognormal(mu, sigma, size)


def normal_from_interval(low, high, interval, size, rng: np.random.Generator) -> np.ndarray:
    """Normal draws whose central ``interval`` mass is ``[low, high]``."""
    low, high, interval = float(low), float(high), float(interval)
    if not low < high:
        raise ValueError(f"normal bounds need low < high, got low={low!r}, high={high!r}")
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1), got {interval!r}")
    sd = (high - low) / (2.0 * _z(interval))
    return rng.normal(0.5 * (low + high), sd, size)


@dataclass(frozen=True)
class ParamSpec:
    """One model input: a distribution (lognormal/normal by interval, or fixed)."""

    name: str
    distribution: str
    low: float = math.nan
    high: float = math.nan
    interval: float = math.nan
    central: float = math.nan

    @classmethod
    def fixed(cls, name: str, value: float) -> ParamSpec:
        return cls(name, "fixed", central=float(value))

    def median(self) -> float:
        """Median of the distribution (the value itself when fixed)."""
        if self.distribution == "lognormal":
            return math.sqrt(self.low * self.high)
        if self.distribution == "normal":
            return 0.5 * (self.low + self.high)
        return self.central

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.distribution == "lognormal":
            return lognormal_from_interval(self.low, self.high, self.interval, size, rng)
        if self.distribution == "normal":
            return normal_from_interval(self.low, self.high, self.interval, size, rng)
        if self.distribution == "fixed":
            return np.full(size, self.central, dtype=float)
        raise ValueError(f"parameter {self.name!r} ({self.distribution}) cannot be sampled")


# --- the table ---------------------------------------------------------------------------


def _default_path() -> pathlib.Path:
    from forecast.data import bundled_path

    return bundled_path(STOCK_FILE)


def _validate_row(rec: dict, file: str, row: int) -> None:
    def err(message: str, column: str) -> DataError:
        return DataError(f"{rec['parameter'] or '?'}: {message}", file=file, row=row, column=column)

    dist = rec["distribution"]
    low, high, interval, central = (rec[c] for c in NUMERIC_COLUMNS)
    has = {c: not math.isnan(rec[c]) for c in NUMERIC_COLUMNS}
    if dist not in DISTRIBUTIONS:
        raise err(
            f"unknown distribution {dist!r} (expected one of {DISTRIBUTIONS})", "distribution"
        )
    if rec["status"] not in STATUSES:
        raise err(f"unknown status {rec['status']!r} (expected one of {STATUSES})", "status")
    if dist == "fixed":
        if not has["central"]:
            raise err("a fixed parameter needs its value in 'central'", "central")
        return
    if dist in ("lognormal", "normal"):
        for column in ("low", "high", "interval"):
            if not has[column]:
                raise err(f"a {dist} parameter needs '{column}'", column)
    elif has["low"] != has["high"]:
        raise err("give both 'low' and 'high' or neither", "high" if has["low"] else "low")
    if has["low"] and has["high"]:
        if dist == "lognormal" and low <= 0:
            raise err(f"lognormal bounds must be positive, low = {low!r}", "low")
        if low > high:
            raise err(f"low ({low!r}) > high ({high!r})", "low")
        if dist in ("lognormal", "normal") and low == high:
            raise err(f"low == high ({low!r}); use distribution 'fixed'", "high")
        if not has["interval"]:
            raise err("a low-high range needs its 'interval' (e.g. 0.9 or 0.95)", "interval")
        if has["central"] and not low <= central <= high:
            raise err(f"central {central!r} outside [{low!r}, {high!r}]", "central")
    if has["interval"] and not 0.0 < interval < 1.0:
        raise err(f"interval must be in (0, 1), got {interval!r}", "interval")


def load_stock_estimates(path=None) -> pd.DataFrame:
    """The stock-model inputs, one row per parameter (``data/stock_estimates.csv``).

    Columns: parameter, model, description, unit, distribution, low, high, interval,
    central, source, source_url, status, notes (``low``/``high``/``interval``/``central``
    are floats, NaN where blank). The file is read and checked generically by
    :func:`forecast.data.load_stock_estimates` (encoding, unique parameters, numbers,
    low <= high, 0 < interval < 1); this adds what the stock model needs. Raises
    :class:`DataError` naming the file, the 1-based row (header = row 1) and the column
    for: a missing column, a duplicate parameter, a non-numeric number, an unknown
    distribution or status, low > high, non-positive lognormal bounds, an interval
    outside (0, 1), or a fixed value without ``central``.
    """
    from forecast.data import load_stock_estimates as read_table

    file_path = pathlib.Path(path) if path is not None else _default_path()
    name = str(file_path)
    table = read_table(file_path)
    for column in COLUMNS:
        if column not in table.columns:
            raise DataError("missing column", file=name, column=column)
    rows = table.attrs["rows"]
    table = table[list(COLUMNS)].reset_index(drop=True)
    for row, rec in zip(rows, table.to_dict("records"), strict=True):
        _validate_row(rec, name, row)
    table.attrs["path"] = name
    return table


def cached_stock_estimates(path=None) -> pd.DataFrame:
    """:func:`load_stock_estimates`, parsed once per file version (path, mtime, size).

    The table is shared by every caller: copy it before changing it."""
    path = pathlib.Path(path) if path else _default_path()
    try:
        stat = path.stat()
    except OSError:
        return load_stock_estimates(path)  # raises the DataError naming the file
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _TABLE_CACHE:
        table = load_stock_estimates(path)
        _TABLE_CACHE[key] = table
        _SPECS_BY_TABLE[id(table)] = (table, {})
    return _TABLE_CACHE[key]


def parameter_spec(table: pd.DataFrame, parameter: str) -> ParamSpec:
    """The :class:`ParamSpec` of one row of a :func:`load_stock_estimates` table."""
    cached = _SPECS_BY_TABLE.get(id(table))
    if cached is None or cached[0] is not table:
        return _row_spec(table, parameter)
    specs = cached[1]
    if parameter not in specs:
        specs[parameter] = _row_spec(table, parameter)
    return specs[parameter]


def _row_spec(table: pd.DataFrame, parameter: str) -> ParamSpec:
    hit = table.loc[table["parameter"] == parameter]
    if hit.empty:
        raise DataError(
            f"parameter {parameter!r} missing", file=table.attrs.get("path"), column="parameter"
        )
    r = hit.iloc[0]
    return ParamSpec(parameter, r["distribution"], r["low"], r["high"], r["interval"], r["central"])


# --- lever values ------------------------------------------------------------------------

SpecLike = float | int | tuple | ParamSpec | None


def _as_spec(
    value: SpecLike,
    name: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    positive: bool = False,
    default_interval: float = 0.9,
) -> ParamSpec | None:
    """A user value -> ParamSpec: a number (fixed), ``(low, high)`` (lognormal, interval
    ``default_interval``), ``(low, high, interval)``, or a ParamSpec; None stays None."""
    if value is None or isinstance(value, ParamSpec):
        return value
    if isinstance(value, bool):
        raise LeverError(
            f"{name} must be a number or [low, high] (or [low, high, interval]), got {describe(value)}"
        )
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if not np.isfinite(v):
            raise LeverError(f"{name} must be finite, got {describe(value)}")
        if (lo is not None and v < lo) or (hi is not None and v > hi) or (positive and v <= 0):
            raise LeverError(f"{name} = {v!r} is out of range {_range_text(lo, hi, positive)}")
        return ParamSpec.fixed(name, v)
    if isinstance(value, tuple | list) and len(value) in (2, 3):
        try:
            low, high = float(value[0]), float(value[1])
            interval = float(value[2]) if len(value) == 3 else default_interval
        except (TypeError, ValueError):
            raise LeverError(
                f"{name} must be a number or [low, high] (or [low, high, interval]) of "
                f"numbers, got {describe(value)}"
            ) from None
        if not (0.0 < low < high) or not np.isfinite(high):
            raise LeverError(
                f"{name}: low {low!r} is above high {high!r} (need 0 < low < high)"
                if low >= high
                else f"{name}: need 0 < low < high, got ({low!r}, {high!r})"
            )
        if not 0.0 < interval < 1.0:
            raise LeverError(f"{name}: interval must be in (0, 1), got {interval!r}")
        if (lo is not None and low < lo) or (hi is not None and high > hi):
            raise LeverError(
                f"{name}: ({low!r}, {high!r}) is out of range {_range_text(lo, hi, positive)}"
            )
        return ParamSpec(name, "lognormal", low, high, interval)
    raise LeverError(
        f"{name} must be a number or [low, high] (or [low, high, interval]), got {describe(value)}"
    )


def _range_text(lo, hi, positive) -> str:
    left = f"[{lo}" if lo is not None else ("(0" if positive else "(-inf")
    right = f"{hi}]" if hi is not None else "inf)"
    return f"{left}, {right}"


def _rng(entropy, name: str) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(entropy, spawn_key=(zlib.crc32(name.encode()),))
    )
