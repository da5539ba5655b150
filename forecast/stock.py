"""Monte Carlo models of the stock of usable human-written text (tokens by year).

Two published models are reproduced from their exact inputs (``data/stock_estimates.csv``):

- :class:`Epoch2024Stock`: Villalobos et al. 2024 (arXiv:2211.04325v2) as coded in
  github.com/epoch-research/data-stock ``src/indexed_web.py`` and ``src/stock_adjust.py``::

      raw(y)    = pages x bytes_per_page / bytes_per_token
                  x (page_growth x n_pages_growth)**(y - 2024)
      effective = raw x quality_fraction x repetition_multiplier

- :class:`Epoch2022HighQualityStock`: the 2022 high-quality language stock
  (``v1/src/stocks/lang/high_quality.squiggle``): (GitHub code + scientific papers +
  books) / fraction represented x growth**(y - 2022), in words, converted to tokens at the
  edge with :func:`forecast.units.words_to_tokens` (tokens = words x 4/3).

Both take the same levers (validated constructor options): ``quality_fraction``,
``stock_growth``, ``repetition`` ("flat" / "muennighoff" / "none") with ``epochs``,
``consent_restriction`` (:class:`ConsentPath`), ``contamination``
(:class:`ContaminationPath`), ``isolation`` (:class:`Isolation`) and ``synthetic``
(:class:`Synthetic`). Their default numbers are rows of the table.

Each draw is one coherent trajectory: its parameters are drawn once and the stock is
evaluated at any years, so ``sample_parameters(n_draws, seed)`` and
``trajectories(params, years)`` can be used separately (e.g. chunks of draws on a monthly
grid to 2100; see :func:`iter_trajectories`). Epoch's code redraws every input for every
year; the per-year marginal distributions are the same.

Randomness: each parameter has its own stream, ``numpy.random.default_rng`` seeded by
``SeedSequence(seed, spawn_key=(crc32(name),))``, so the same seed gives the same numbers,
and switching a lever on or off leaves every other parameter's draws unchanged (common
random numbers: scenarios differ draw by draw only through the lever).

Steps, as variables of :meth:`sample_components` (each equal to the previous one when its
lever is off): ``raw`` -> ``quality_filtered`` -> ``repetition_adjusted`` ->
``consent_restricted`` -> ``contamination_adjusted`` -> ``synthetic_augmented`` (= the
effective stock returned by :meth:`sample`).
"""

from __future__ import annotations

import math
import pathlib
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from statistics import NormalDist

import numpy as np
import pandas as pd
import xarray as xr

from forecast.errors import DataError, LeverError, ScenarioError  # noqa: F401  (LeverError: re-exported)
from forecast.limits import SYNTHETIC_MULTIPLIER_RANGE, VERIFIER_ACCURACY_RANGE
from forecast.units import words_to_tokens

__all__ = [
    "COMPONENTS",
    "ConsentPath",
    "ContaminationPath",
    "Epoch2022HighQualityStock",
    "Epoch2024Stock",
    "Isolation",
    "LeverError",
    "ParamSpec",
    "Synthetic",
    "iter_trajectories",
    "kept_valid_share",
    "load_stock_estimates",
    "lognormal_from_interval",
    "muennighoff_multiplier",
    "normal_from_interval",
    "parameter_spec",
    "stock_summary",
    "take_draws",
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

#: Names of the adjustment steps, in order (variables of ``sample_components``).
COMPONENTS = (
    "raw",
    "quality_filtered",
    "repetition_adjusted",
    "consent_restricted",
    "contamination_adjusted",
    "synthetic_augmented",
)

_SHARE_CAP = 0.99  # restricted / AI-written shares are clipped to [0, 0.99]
HQ_BOOKS_GROWTH_FLOOR = 1.005  # see Epoch2022HighQualityStock._base_parameters
_TABLE_CACHE: dict[tuple, pd.DataFrame] = {}


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


def _parse_float(text: str, file: str, row: int, column: str) -> float:
    text = text.strip()
    if text == "":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"not a number: {text!r}", file=file, row=row, column=column) from None
    if not np.isfinite(value):
        raise DataError(f"must be finite, got {text!r}", file=file, row=row, column=column)
    return value


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
    are floats, NaN where blank). Raises :class:`DataError` naming the file, the 1-based
    row (header = row 1) and the column for: a missing column, a duplicate parameter, a
    non-numeric number, an unknown distribution or status, low > high, non-positive
    lognormal bounds, an interval outside (0, 1), or a fixed value without ``central``.
    """
    file_path = pathlib.Path(path) if path is not None else _default_path()
    name = str(file_path)
    try:
        # blank lines are kept (and skipped below) so row numbers match the file
        raw = pd.read_csv(file_path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except FileNotFoundError:
        raise DataError("file not found", file=name) from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot parse as CSV: {exc}", file=name) from None
    raw.columns = [c.strip() for c in raw.columns]
    for column in COLUMNS:
        if column not in raw.columns:
            raise DataError("missing column", file=name, column=column)
    records, seen = [], {}
    for i, cells in enumerate(raw[list(COLUMNS)].itertuples(index=False)):
        row = i + 2
        rec = {c: str(v).strip() for c, v in zip(COLUMNS, cells, strict=True)}
        if not any(rec.values()):
            continue
        if rec["parameter"] == "":
            raise DataError("empty parameter name", file=name, row=row, column="parameter")
        if rec["parameter"] in seen:
            raise DataError(
                f"duplicate parameter {rec['parameter']!r} (first on row {seen[rec['parameter']]})",
                file=name,
                row=row,
                column="parameter",
            )
        seen[rec["parameter"]] = row
        for column in NUMERIC_COLUMNS:
            rec[column] = _parse_float(rec[column], name, row, column)
        _validate_row(rec, name, row)
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    for column in NUMERIC_COLUMNS:
        df[column] = df[column].astype(float)
    df.attrs["path"] = name
    return df


def cached_stock_estimates(path=None) -> pd.DataFrame:
    """:func:`load_stock_estimates`, parsed once per file version (path, mtime, size)."""
    path = pathlib.Path(path) if path else _default_path()
    try:
        stat = path.stat()
    except OSError:
        return load_stock_estimates(path)  # raises the DataError naming the file
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _TABLE_CACHE:
        _TABLE_CACHE[key] = load_stock_estimates(path)
    return _TABLE_CACHE[key]


def parameter_spec(table: pd.DataFrame, parameter: str) -> ParamSpec:
    """The :class:`ParamSpec` of one row of a :func:`load_stock_estimates` table."""
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
        raise LeverError(f"{name}: expected a number or (low, high[, interval]), got {value!r}")
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if not np.isfinite(v):
            raise LeverError(f"{name} must be finite, got {value!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi) or (positive and v <= 0):
            raise LeverError(f"{name} = {v!r} is outside its range {_range_text(lo, hi, positive)}")
        return ParamSpec.fixed(name, v)
    if isinstance(value, tuple | list) and len(value) in (2, 3):
        try:
            low, high = float(value[0]), float(value[1])
            interval = float(value[2]) if len(value) == 3 else default_interval
        except (TypeError, ValueError):
            raise LeverError(
                f"{name}: (low, high[, interval]) must be numbers, got {value!r}"
            ) from None
        if not (0.0 < low < high) or not np.isfinite(high):
            raise LeverError(f"{name}: need 0 < low < high, got ({low!r}, {high!r})")
        if not 0.0 < interval < 1.0:
            raise LeverError(f"{name}: interval must be in (0, 1), got {interval!r}")
        if (lo is not None and low < lo) or (hi is not None and high > hi):
            raise LeverError(
                f"{name}: ({low!r}, {high!r}) is outside its range {_range_text(lo, hi, positive)}"
            )
        return ParamSpec(name, "lognormal", low, high, interval)
    raise LeverError(f"{name}: expected a number or (low, high[, interval]), got {value!r}")


def _range_text(lo, hi, positive) -> str:
    left = f"[{lo}" if lo is not None else ("(0" if positive else "(-inf")
    right = f"{hi}]" if hi is not None else "inf)"
    return f"{left}, {right}"


@dataclass(frozen=True)
class ConsentPath:
    """Share of the web stock closed to AI crawlers, a logistic path in time.

    ``s(t) = P / (1 + (P / s0 - 1) exp(-k (t - anchor_year)))``, anchored on Longpre et al.
    2024 ("Consent in Crisis", arXiv:2407.14933): ``s0`` ~5% of all C4 tokens fully
    restricted by robots.txt at the April-2024 audit; the plateau ``P`` between the
    28%+ of the most critical sources and the 45% of C4 restricted by terms of service;
    the rate ``k`` such that the 2023-2024 rise (~1% -> 5%) is the early logistic phase.
    Each field: None = the table row (``consent_share_anchor`` lognormal 90% [0.04, 0.065],
    ``consent_share_plateau`` 90% [0.08, 0.45], ``consent_rate`` 90% [0.5, 2.0]/yr,
    ``consent_anchor_year`` 2024.3), a number (fixed) or ``(low, high[, interval])``
    (lognormal, 90% unless given). Per draw ``P`` is raised to at least ``s0`` and both
    are capped at 0.99. Applied as ``stock x (1 - web_share x s(t))`` to the whole stock at
    date t (re-crawled text follows today's robots.txt). Because ``s(anchor)`` is held at
    ``s0``, a higher plateau restricts more after the anchor and slightly less before it.
    """

    share_anchor: SpecLike = None
    plateau: SpecLike = None
    rate: SpecLike = None
    anchor_year: float | None = None

    def __post_init__(self) -> None:
        _as_spec(self.share_anchor, "consent share_anchor", lo=0.0, hi=_SHARE_CAP)
        _as_spec(self.plateau, "consent plateau", lo=0.0, hi=_SHARE_CAP)
        _as_spec(self.rate, "consent rate", positive=True)
        if self.anchor_year is not None:
            _as_spec(self.anchor_year, "consent anchor_year", lo=1990.0, hi=2100.0)

    @classmethod
    def constant(cls, share: float) -> ConsentPath:
        """A share closed at every date (s0 = P = share)."""
        _as_spec(share, "consent_restriction", lo=0.0, hi=_SHARE_CAP)
        return cls(share_anchor=float(share), plateau=float(share), rate=1.0)


@dataclass(frozen=True)
class ContaminationPath:
    """AI-written share of NEWLY ADDED text, ``a(t) = A (1 - exp(-(t - onset) / tau))``.

    ``a = 0`` before ``onset`` (ChatGPT, 2022-11-30). Anchored on Graphite (Oct 2025):
    ~39% of new English web articles 12 months after ChatGPT, ~50% from Nov 2024, flat since
    (follow-up with 3 detectors: 36% / 48% / ~50%). Defaults (table): plateau ``A`` normal
    90% [0.3, 0.7] (clipped to [0.01, 0.99]), time constant ``tau`` lognormal 90% [0.4, 1.0]
    years (median 0.63 gives 0.40 at 12 and 0.48 at 24 months with A = 0.5).

    The clean human stock integrates the human share of the increments exactly:
    ``H(t) = S(onset) + integral_onset^t (1 - a(u)) dS(u)``; with the per-draw exponential
    stock ``S(u) = S(onset) e^{r (u - onset)}`` this has a closed form, so the result does
    not depend on the year grid. A shrinking stock (r < 0) adds nothing (ratio 1).
    """

    plateau: SpecLike = None
    timescale: SpecLike = None
    onset: float | None = None

    def __post_init__(self) -> None:
        _as_spec(self.plateau, "contamination plateau", lo=0.0, hi=_SHARE_CAP)
        _as_spec(self.timescale, "contamination timescale", positive=True)
        if self.onset is not None:
            _as_spec(self.onset, "contamination onset", lo=1990.0, hi=2100.0)


@dataclass(frozen=True)
class Isolation:
    """Data isolation: only text collected before ``cutoff`` counts, plus a
    ``verified_fraction`` of the (human) text added since.

    usable(t) = H(cutoff) + v x max(H(t) - H(cutoff), 0) for t > cutoff, else H(t), where
    H is the human stock (the whole stock S when no :class:`ContaminationPath` is set: later
    text is then of unknown provenance and only the verified fraction v counts). Defaults
    (table): cutoff 2022-11-30 (2022.9123); v lognormal 90% [0.03, 0.3] (median 0.095),
    a documented prior built from proxies, not a measurement: curated sources with known
    authorship are ~8% of an open web-scale corpus (RedPajama-1T), provenance signatures
    cover almost no text, and detectors classify text but do not prove who wrote it
    (``data/stock_estimates.csv``, model ``isolation``). Text collected before the cutoff
    is kept even if the live web later shrinks.
    """

    cutoff: float | None = None
    verified_fraction: SpecLike = None

    def __post_init__(self) -> None:
        if self.cutoff is not None:
            _as_spec(self.cutoff, "isolation cutoff", lo=1990.0, hi=2100.0)
        _as_spec(self.verified_fraction, "isolation verified_fraction", lo=0.0, hi=1.0)


def kept_valid_share(accuracy, valid_share):
    """Share of valid tokens among those a verifier keeps (Feng et al. 2024's selection).

    The generator's output has a share ``valid_share`` (pi) of valid tokens; a verifier of
    accuracy ``a`` keeps a valid token with probability a and an invalid one with 1 - a,
    so the kept share is ``a pi / (a pi + (1 - a)(1 - pi))``: pi at a = 0.5 (no
    information), 1 at a = 1. Works on arrays.
    """
    a = np.asarray(accuracy, dtype=float)
    pi = np.asarray(valid_share, dtype=float)
    kept_valid = a * pi
    return kept_valid / (kept_valid + (1.0 - a) * (1.0 - pi))


@dataclass(frozen=True)
class Synthetic:
    """Synthetic data as an effective multiplier of the usable stock:
    ``min(1 + ratio x efficiency x kept_valid, cap)``.

    ``ratio``: synthetic tokens trained on (kept after filtering) per usable human token;
    ``efficiency``: value of one verified synthetic token relative to one human token;
    ``cap``: largest multiplier synthetic data can give. Defaults (table rows
    ``synthetic_*``, derived from the measurements in ``data/synthetic_data.csv``; see
    docs/model.md, "Synthetic data"): ratio lognormal 90% [0.4, 3], efficiency lognormal
    90% [0.25, 1] (clipped at 1), cap lognormal 90% [1.4, 3]; median multiplier ~1.5.

    ``verifier_accuracy`` (0.5..1, default None): the measured efficiencies come from
    pipelines that filter their synthetic data, so they are read as the value of a
    verified token. Given an accuracy ``a``, only the share
    :func:`kept_valid_share` ``(a, valid_share)`` of kept tokens is valid and the rest is
    worth nothing; ``valid_share`` (default: table row ``synthetic_valid_share``, 0.5, an
    assumption) is the share of valid tokens the generator produces. None = a perfect
    verifier (a = 1). Constant in time. ``Synthetic.fixed(2.0)`` is a fixed 2x multiplier.
    """

    ratio: SpecLike = None
    efficiency: SpecLike = None
    cap: SpecLike = None
    verifier_accuracy: float | None = None
    valid_share: SpecLike = None

    def __post_init__(self) -> None:
        _as_spec(self.ratio, "synthetic ratio", lo=0.0)
        _as_spec(self.efficiency, "synthetic efficiency", lo=0.0, hi=1.0)
        _as_spec(self.cap, "synthetic cap", lo=1.0)
        if self.verifier_accuracy is not None:
            lo, hi = VERIFIER_ACCURACY_RANGE
            _as_spec(self.verifier_accuracy, "synthetic verifier_accuracy", lo=lo, hi=hi)
        _as_spec(self.valid_share, "synthetic valid_share", lo=0.0, hi=1.0)

    @classmethod
    def fixed(cls, multiplier: float) -> Synthetic:
        """A fixed multiplier of the usable stock (``synthetic = 2.0`` in a scenario file)."""
        lo, hi = SYNTHETIC_MULTIPLIER_RANGE
        _as_spec(multiplier, "synthetic", lo=lo, hi=hi)
        m = float(multiplier)
        return cls(ratio=m - 1.0, efficiency=1.0, cap=m)


def _coerce_lever(value, cls, name: str, presets: tuple[str, ...]):
    """None/False -> None; True/preset string -> cls(); instance -> itself."""
    if value is None or value is False:
        return None
    if value is True or (isinstance(value, str) and value in presets):
        return cls()
    if isinstance(value, cls):
        return value
    raise LeverError(
        f"{name}: expected None, True, one of {presets} or a {cls.__name__}, got {value!r}"
    )


def muennighoff_multiplier(epochs, r_star: float = 15.387756):
    """Effective-data multiplier of ``epochs`` passes over unique data (Muennighoff et al.
    2023, arXiv:2305.16264): ``D'/U = 1 + R* (1 - exp(-R / R*))``, ``R = epochs - 1``.

    1 epoch -> 1; 4 epochs -> 3.73; 16 -> 10.6; limit ``1 + R*`` = 16.39.
    """
    e = np.asarray(epochs, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(e < 1.0):
        raise LeverError(f"epochs must be finite and >= 1, got {epochs!r}")
    if not (np.isfinite(r_star) and r_star > 0):
        raise LeverError(f"r_star must be positive, got {r_star!r}")
    out = 1.0 + r_star * -np.expm1(-(e - 1.0) / r_star)
    return float(out) if out.ndim == 0 else out


# --- shared machinery --------------------------------------------------------------------


def _rng(entropy, name: str) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(entropy, spawn_key=(zlib.crc32(name.encode()),))
    )


def _years(years) -> np.ndarray:
    y = np.atleast_1d(np.asarray(years, dtype=float))
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)):
        raise LeverError("years must be a non-empty 1-D sequence of finite decimal years")
    return y


def take_draws(params: Mapping[str, np.ndarray], index) -> dict[str, np.ndarray]:
    """The parameters of a subset of draws (``index``: slice, integer or boolean array)."""
    return {k: np.asarray(v)[index] for k, v in params.items()}


def iter_trajectories(
    model, params: Mapping[str, np.ndarray], years, chunk_size: int = 10_000
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(draw_slice, trajectories)`` chunks of ``model.trajectories(params, years)``,
    so 100k draws x a monthly grid to 2100 never sit in memory at once."""
    if chunk_size < 1:
        raise LeverError(f"chunk_size must be >= 1, got {chunk_size!r}")
    n = len(next(iter(params.values())))
    for start in range(0, n, chunk_size):
        sl = slice(start, min(start + chunk_size, n))
        yield sl, model.trajectories(take_draws(params, sl), years)


@dataclass(frozen=True)
class _StockModel:
    """Levers shared by every stock model (see the module docstring)."""

    quality_fraction: SpecLike = None
    stock_growth: SpecLike = None
    repetition: str = "flat"
    epochs: SpecLike = None
    consent_restriction: ConsentPath | float | bool | str | None = None
    contamination: ContaminationPath | bool | str | None = None
    isolation: Isolation | bool | str | None = None
    synthetic: Synthetic | float | bool | str | None = None
    estimates_path: str | pathlib.Path | None = None

    base_year = 2024.0
    name = "stock"
    #: A ``(low, high)`` a user gives is a 90% interval in every lever and model (as in
    #: Squiggle's ``a to b``); give ``(low, high, interval)`` for another.

    def __post_init__(self) -> None:
        _as_spec(self.quality_fraction, "quality_fraction", lo=1e-9, hi=1.0)
        _as_spec(self.stock_growth, "stock_growth", lo=0.5, hi=3.0)
        if self.repetition not in ("flat", "muennighoff", "none"):
            raise LeverError(
                f"repetition must be 'flat', 'muennighoff' or 'none', got {self.repetition!r}"
            )
        if self.epochs is not None:
            if self.repetition != "muennighoff":
                raise LeverError("epochs only applies with repetition='muennighoff'")
            _as_spec(self.epochs, "epochs", lo=1.0, hi=1e4)
        if isinstance(self.consent_restriction, int | float) and not isinstance(
            self.consent_restriction, bool
        ):
            object.__setattr__(
                self, "consent_restriction", ConsentPath.constant(self.consent_restriction)
            )
        presets = ("longpre2024", "default")
        consent = _coerce_lever(
            self.consent_restriction, ConsentPath, "consent_restriction", presets
        )
        object.__setattr__(self, "consent_restriction", consent)
        presets = ("graphite2025", "default")
        contamination = _coerce_lever(
            self.contamination, ContaminationPath, "contamination", presets
        )
        object.__setattr__(self, "contamination", contamination)
        isolation = _coerce_lever(self.isolation, Isolation, "isolation", ("default",))
        object.__setattr__(self, "isolation", isolation)
        if isinstance(self.synthetic, int | float) and not isinstance(self.synthetic, bool):
            object.__setattr__(self, "synthetic", Synthetic.fixed(self.synthetic))
        object.__setattr__(
            self, "synthetic", _coerce_lever(self.synthetic, Synthetic, "synthetic", ("default",))
        )

    # -- hooks for subclasses --------------------------------------------------------------

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        """Per-draw ``raw_base`` (tokens at ``base_year``), ``log_growth`` (ln of the
        yearly factor) and any model-specific inputs."""
        raise NotImplementedError

    def _default_quality(self, table) -> ParamSpec | None:
        return None

    def _default_repetition(self, table) -> ParamSpec | None:
        return None

    def _web_share(self, params) -> np.ndarray:
        """Share of the stock that consent restrictions apply to."""
        return np.ones_like(params["raw_base"])

    def _extra_components(self, params, growth) -> dict[str, np.ndarray]:
        return {}

    # -- parameters --------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """The validated inputs table (:func:`cached_stock_estimates`)."""
        return cached_stock_estimates(self.estimates_path)

    def sample_parameters(self, n_draws: int, seed: int | None = None) -> dict[str, np.ndarray]:
        """Per-draw parameters (dict of arrays of shape ``(n_draws,)``); same seed, same numbers."""
        if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
            raise LeverError(f"n_draws must be a positive integer, got {n_draws!r}")
        n = int(n_draws)
        table = self.table()
        entropy = np.random.SeedSequence(seed).entropy

        def draw(spec: ParamSpec) -> np.ndarray:
            return spec.sample(n, _rng(entropy, spec.name))

        def spec(value, row: str, **kw) -> ParamSpec:
            return _as_spec(value, row, **kw) or parameter_spec(table, row)

        p = self._base_parameters(table, draw)
        if self.stock_growth is not None:
            growth = _as_spec(self.stock_growth, "stock_growth")
            p["log_growth"] = np.log(draw(growth))

        q = _as_spec(self.quality_fraction, "quality_fraction")
        q = q or self._default_quality(table)
        p["quality"] = np.minimum(draw(q), 1.0) if q is not None else np.ones(n)

        if self.repetition == "flat":
            rep = self._default_repetition(table) or parameter_spec(table, "repetition_multiplier")
            p["repetition"] = draw(rep)
        elif self.repetition == "muennighoff":
            epochs = np.maximum(draw(spec(self.epochs, "muennighoff_epochs")), 1.0)
            r_star = parameter_spec(table, "muennighoff_rd_star").central
            p["repetition"] = muennighoff_multiplier(epochs, r_star)
        else:
            p["repetition"] = np.ones(n)

        c = self.consent_restriction
        if c is not None:
            s0 = np.clip(draw(spec(c.share_anchor, "consent_share_anchor")), 0.0, _SHARE_CAP)
            plateau = np.clip(draw(spec(c.plateau, "consent_share_plateau")), 0.0, _SHARE_CAP)
            p["consent_anchor"] = s0
            p["consent_plateau"] = np.maximum(plateau, s0)
            p["consent_rate"] = draw(spec(c.rate, "consent_rate"))
            p["consent_anchor_year"] = draw(spec(c.anchor_year, "consent_anchor_year"))

        m = self.contamination
        if m is not None:
            a = draw(spec(m.plateau, "contamination_plateau"))
            p["ai_plateau"] = np.clip(a, 0.01, _SHARE_CAP)
            p["ai_timescale"] = draw(spec(m.timescale, "contamination_timescale"))
            p["ai_onset"] = draw(spec(m.onset, "contamination_onset"))

        iso = self.isolation
        if iso is not None:
            p["isolation_cutoff"] = draw(spec(iso.cutoff, "isolation_cutoff"))
            v = draw(spec(iso.verified_fraction, "isolation_verified_fraction"))
            p["isolation_verified"] = np.clip(v, 0.0, 1.0)

        syn = self.synthetic
        if syn is not None:
            ratio = draw(spec(syn.ratio, "synthetic_ratio"))
            eff = np.clip(draw(spec(syn.efficiency, "synthetic_efficiency")), 0.0, 1.0)
            cap = draw(spec(syn.cap, "synthetic_cap"))
            # The inputs are kept too: the report's explorer recombines them in the browser.
            p["synthetic_ratio"], p["synthetic_efficiency"], p["synthetic_cap"] = ratio, eff, cap
            if syn.verifier_accuracy is not None:
                valid = np.clip(draw(spec(syn.valid_share, "synthetic_valid_share")), 0.0, 1.0)
                p["synthetic_valid_share"] = valid
                eff = eff * kept_valid_share(float(syn.verifier_accuracy), valid)
            p["synthetic_multiplier"] = np.minimum(1.0 + ratio * eff, np.maximum(cap, 1.0))
        return p

    # -- trajectories ------------------------------------------------------------------------

    def _consent_factor(self, p, y) -> np.ndarray | None:
        """``1 - web_share x s(t)``, shape (n, m); None when the lever is off."""
        if "consent_plateau" not in p:
            return None
        s0, plat = p["consent_anchor"], p["consent_plateau"]
        ok = s0 > 0  # s0 = 0 means nothing is ever closed
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(ok, plat / np.where(ok, s0, 1.0) - 1.0, 0.0)
        top = np.where(ok, plat, 0.0) * self._web_share(p)
        # s(t) = P / (1 + odds exp(-k (t - t0))), computed in place on one (n, m) block
        z = np.subtract(y, p["consent_anchor_year"][:, None])
        z *= -p["consent_rate"][:, None]
        np.exp(z, out=z)
        z *= odds[:, None]
        z += 1.0
        np.divide(top[:, None], z, out=z)
        np.subtract(1.0, z, out=z)
        return z

    @staticmethod
    def _human_ratio(p, t) -> np.ndarray:
        """H(t) / S(t): clean human share of the stock at dates ``t`` (broadcast (n, m)).

        ``H/S = 1 - A (1 - e^{-rx}) + A r x e^{-rx} exprel((r - 1/tau) x)``, x = t - onset
        (>= 0), r = max(ln g, 0); exprel(z) = (e^z - 1)/z is stable at z -> 0.
        """
        if "ai_plateau" not in p:
            return np.ones(np.broadcast_shapes(p["raw_base"][:, None].shape, np.shape(t)))
        a = p["ai_plateau"][:, None]
        r = np.maximum(p["log_growth"], 0.0)[:, None]
        beta = r - 1.0 / p["ai_timescale"][:, None]
        x = np.subtract(t, p["ai_onset"][:, None])
        x = np.broadcast_to(x, np.broadcast_shapes(x.shape, a.shape)).copy()
        np.maximum(x, 0.0, out=x)
        decay = np.multiply(x, -r)
        np.exp(decay, out=decay)
        # x exprel(beta x) = expm1(beta x) / beta (= x where beta = 0): numpy's expm1 is
        # about 13x faster than scipy's exprel on a (100k, 912) block and as accurate.
        term = np.multiply(x, beta)
        np.expm1(term, out=term)
        flat = beta[:, 0] == 0.0
        term /= np.where(flat, 1.0, beta[:, 0])[:, None]
        if flat.any():
            term[flat] = x[flat]
        term *= decay
        term *= a * r
        decay *= a
        decay += 1.0 - a
        decay += term
        return decay

    def _provenance_ratio(self, p, y) -> np.ndarray | None:
        """Contamination and isolation as a ratio to the stock S(t), or None if both off."""
        if "isolation_cutoff" not in p:
            return self._human_ratio(p, y) if "ai_plateau" in p else None
        c, v = p["isolation_cutoff"][:, None], p["isolation_verified"][:, None]
        h_t = self._human_ratio(p, y)
        # human stock at the cutoff relative to S(t): h(c) S(c)/S(t)
        h_c = self._human_ratio(p, c) * np.exp(-p["log_growth"][:, None] * (y - c))
        after = h_c + v * np.maximum(h_t - h_c, 0.0)
        return np.where(y > c, after, h_t)

    def trajectories(self, params: Mapping[str, np.ndarray], years) -> np.ndarray:
        """Effective stock in tokens, shape ``(n_draws, n_years)`` (float64)."""
        y = _years(years)[None, :]
        p = params
        scale = p["raw_base"] * p["quality"] * p["repetition"]
        if "synthetic_multiplier" in p:
            scale = scale * p["synthetic_multiplier"]
        out = p["log_growth"][:, None] * (y - self.base_year)
        np.exp(out, out=out)
        out *= scale[:, None]
        for factor in (self._consent_factor(p, y), self._provenance_ratio(p, y)):
            if factor is not None:
                out *= factor
        return out

    def component_trajectories(self, params, years) -> dict[str, np.ndarray]:
        """Every adjustment step (see :data:`COMPONENTS`) plus model-specific parts, tokens."""
        y = _years(years)[None, :]
        p = params
        growth = np.exp(p["log_growth"][:, None] * (y - self.base_year))
        out = {"raw": p["raw_base"][:, None] * growth}
        out["quality_filtered"] = out["raw"] * p["quality"][:, None]
        out["repetition_adjusted"] = out["quality_filtered"] * p["repetition"][:, None]
        consent = self._consent_factor(p, y)
        out["consent_restricted"] = (
            out["repetition_adjusted"] * consent
            if consent is not None
            else out["repetition_adjusted"]
        )
        prov = self._provenance_ratio(p, y)
        out["contamination_adjusted"] = (
            out["consent_restricted"] * prov if prov is not None else out["consent_restricted"]
        )
        syn = p.get("synthetic_multiplier")
        out["synthetic_augmented"] = (
            out["contamination_adjusted"] * syn[:, None]
            if syn is not None
            else out["contamination_adjusted"]
        )
        out.update(self._extra_components(p, growth))
        return out

    # -- convenience wrappers ----------------------------------------------------------------

    def _attrs(self) -> dict:
        levers = {f.name: repr(getattr(self, f.name)) for f in fields(self)}
        return {
            "units": "tokens",
            "model": self.name,
            **{f"lever_{k}": v for k, v in levers.items()},
        }

    def sample(self, years, n_draws: int = 10_000, seed: int | None = None) -> xr.DataArray:
        """Effective stock, ``DataArray`` dims ("draw", "year"), tokens."""
        y = _years(years)
        values = self.trajectories(self.sample_parameters(n_draws, seed), y)
        return xr.DataArray(
            values,
            dims=("draw", "year"),
            coords={"draw": np.arange(values.shape[0]), "year": y},
            name="stock",
            attrs=self._attrs(),
        )

    def sample_components(
        self, years, n_draws: int = 10_000, seed: int | None = None
    ) -> xr.Dataset:
        """Each adjustment step as a variable (dims "draw", "year"; tokens), for waterfalls.

        ``synthetic_augmented`` equals :meth:`sample` with the same seed.
        """
        y = _years(years)
        comps = self.component_trajectories(self.sample_parameters(n_draws, seed), y)
        n = next(iter(comps.values())).shape[0]
        coords = {"draw": np.arange(n), "year": y}
        ds = xr.Dataset(
            {
                k: xr.DataArray(v, dims=("draw", "year"), attrs={"units": "tokens"})
                for k, v in comps.items()
            },
            coords=coords,
            attrs=self._attrs(),
        )
        return ds


@dataclass(frozen=True)
class Epoch2024Stock(_StockModel):
    """Villalobos et al. 2024 indexed-web stock, exactly as Epoch's code (epoch-research/data-stock, src/).

    Defaults (table rows, 95% lognormal intervals, as ``sq.to(..., credibility=95)``):
    ``indexed_pages`` [75e9, 1e12]; ``bytes_per_page`` [6100, 8200]; bytes per token
    ``6 - lognormal[1, 4]`` (median 4, 95% [2, 5]); ``bytes_per_page_growth`` [1.02, 1.04]
    and ``pages_growth`` [1.00, 1.10] per year; ``quality_fraction`` [0.1, 0.4];
    ``repetition="flat"``: ``repetition_multiplier`` [2, 5]. The whole stock is web text,
    so ``consent_restriction`` applies to all of it.

    ``bytes_per_token_floor`` (default 1.0): Epoch's ``6 - lognormal`` falls below 1 byte
    per token in ~0.5% of draws and below 0 in ~0.1% (a negative stock). A byte-level BPE
    token holds at least one byte, so draws are floored at 1; None keeps Epoch's raw
    values. Neither choice moves the published quantiles (tests).
    Overrides given as ``(low, high)`` are 90% intervals, as in every lever (until 0.6.0
    they were 95% here); write ``(0.1, 0.4, 0.95)`` for Epoch's 95%.
    """

    bytes_per_token_floor: float | None = 1.0

    name = "epoch2024"
    base_year = 2024.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.bytes_per_token_floor is not None:
            _as_spec(
                self.bytes_per_token_floor, "bytes_per_token_floor", lo=0.0, hi=6.0, positive=True
            )

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        pages = draw(parameter_spec(table, "indexed_pages"))
        bytes_per_page = draw(parameter_spec(table, "bytes_per_page"))
        ceiling = parameter_spec(table, "bytes_per_token_ceiling").central
        bytes_per_token = ceiling - draw(parameter_spec(table, "bytes_per_token_shortfall"))
        if self.bytes_per_token_floor is not None:
            bytes_per_token = np.maximum(bytes_per_token, self.bytes_per_token_floor)
        page_growth = draw(parameter_spec(table, "bytes_per_page_growth"))
        n_pages_growth = draw(parameter_spec(table, "pages_growth"))
        return {
            "indexed_pages": pages,
            "bytes_per_page": bytes_per_page,
            "bytes_per_token": bytes_per_token,
            "raw_base": pages * bytes_per_page / bytes_per_token,
            "log_growth": np.log(page_growth * n_pages_growth),
        }

    def _default_quality(self, table) -> ParamSpec:
        return parameter_spec(table, "quality_fraction")


@dataclass(frozen=True)
class Epoch2022HighQualityStock(_StockModel):
    """Epoch 2022 high-quality language stock (Epoch's v1 code,
    ``v1/src/stocks/lang/high_quality.squiggle``; all 90% lognormal intervals).

    words(2022) = [GitHub TB [21, 65] x source share [0.05, 0.5] x 200e9 words/TB
    + papers [100M, 170M] x 6000 words
    + books x 100k words] / fraction represented [0.3, 0.5],
    books = (direct [10M, 30M] + published/yr [1M, 3M] x digital [0.02, 0.2] / ln g) / 2,
    stock(t) = words(2022) x g^(t - 2022), g = ``hq_growth`` [1.02, 1.06] (the same draw in
    the books estimate, as in Squiggle). Converted to tokens with
    :func:`forecast.units.words_to_tokens` (x 4/3). Published 2022: 8.2e12 words
    [4.9e12, 1.7e13] (90%).

    Defaults differ from :class:`Epoch2024Stock`: no quality filter (the stock is already
    "high quality"), ``repetition="none"`` (Epoch 2022 did not adjust for repetition).
    ``consent_restriction`` applies to the unrepresented share ``1 - fraction represented``
    (news, Wikipedia, filtered web), not to code, papers and books. Components add the
    parts ``github``, ``papers``, ``books``, ``unrepresented`` (tokens).
    """

    repetition: str = "none"

    name = "epoch2022-high-quality"
    base_year = 2022.0

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        def d(row):
            return draw(parameter_spec(table, row))

        def c(row):
            return parameter_spec(table, row).central

        growth = d("hq_growth")
        github = d("hq_github_size_tb") * d("hq_github_source_share") * c("hq_words_per_tb")
        papers = d("hq_papers_count") * c("hq_words_per_paper")
        # books published to date = yearly output / ln(g) (a geometric series). The 90%
        # lognormal on g puts ~0.2% of draws at g <= 1, where that sum diverges or turns
        # negative (a negative stock); the series is evaluated with g floored at 1.005.
        indirect = (
            d("hq_books_published_per_year")
            * d("hq_books_digital_fraction")
            / np.log(np.maximum(growth, HQ_BOOKS_GROWTH_FLOOR))
        )
        books = 0.5 * (d("hq_books_direct") + indirect) * c("hq_words_per_book")
        represented = d("hq_fraction_represented")
        words = (github + papers + books) / represented
        return {
            "github_words": github,
            "papers_words": papers,
            "books_words": books,
            "fraction_represented": represented,
            "raw_words": words,
            "raw_base": words_to_tokens(words),
            "log_growth": np.log(growth),
        }

    def _web_share(self, params) -> np.ndarray:
        return 1.0 - params["fraction_represented"]

    def _extra_components(self, params, growth) -> dict[str, np.ndarray]:
        out = {
            part: words_to_tokens(params[f"{part}_words"])[:, None] * growth
            for part in ("github", "papers", "books")
        }
        out["unrepresented"] = (
            words_to_tokens(
                params["raw_words"]
                - params["github_words"]
                - params["papers_words"]
                - params["books_words"]
            )[:, None]
            * growth
        )
        return out


# --- summaries ---------------------------------------------------------------------------

_QUANTILES = {
    "median": 0.5,
    "p5": 0.05,
    "p95": 0.95,
    "p2_5": 0.025,
    "p97_5": 0.975,
    "p10": 0.10,
    "p90": 0.90,
}


def stock_summary(da: xr.DataArray, years=None) -> pd.DataFrame:
    """Tidy quantiles over draws: columns year, median, p5, p95, p2_5, p97_5, p10, p90.

    ``years`` (optional) selects grid years (nearest within 1e-6 of a year).
    """
    if "draw" not in da.dims or "year" not in da.dims:
        raise LeverError(f"expected dims ('draw', 'year'), got {da.dims}")
    if years is not None:
        try:
            da = da.sel(year=_years(years), method="nearest", tolerance=1e-6)
        except KeyError:
            raise LeverError(f"years {list(np.atleast_1d(years))} not all on the grid") from None
    values = da.transpose("draw", "year").values
    qs = np.quantile(values, list(_QUANTILES.values()), axis=0)
    df = pd.DataFrame({"year": da["year"].values.astype(float)})
    for i, key in enumerate(_QUANTILES):
        df[key] = qs[i]
    return df
