"""Backtests: train the demand models on the past, score them on what happened next.

:func:`backtest` fits every demand method **only on models released before a cutoff**
(``date < cutoff``) and scores its predictive distribution against every language model
released on or after the cutoff (``date >= cutoff``) that has a token count.
:func:`rolling_origin` repeats this over several cutoffs and :func:`calibration_table`
pools the interval hits into nominal-vs-empirical coverage. :func:`evaluate` (from
:mod:`forecast.evaluation.skill`) is the leave-future-out study at many half-yearly origins with
exact scores and stacking weights: the forecast-skill numbers the report shows.

Methods (``METHODS``):

- ``exponential``: :class:`forecast.demand.ExponentialTrend` on all models (population);
- ``frontier``: :class:`forecast.demand.FrontierTrend` (top-5 at release);
- ``slowdown``: :class:`forecast.demand.SlowdownTrend` (frontier with a changepoint);
- ``random-walk-slope``: :class:`forecast.demand.RandomWalkSlopeTrend` (frontier with a
  drifting growth rate);
- ``average``: :class:`forecast.demand.ModelAverage` of frontier + random-walk-slope with
  :data:`forecast.demand.DEFAULT_WEIGHTS` (equal), fitted before the cutoff. This is the
  toolkit's default demand and the ``default`` of a :class:`BacktestResult`;
- ``ols``: :func:`forecast.demand.baselines.ols_trend`, statsmodels OLS prediction intervals;
- ``epoch-bootstrap``: :func:`forecast.demand.baselines.epoch_bootstrap`, Epoch AI's 2024
  bootstrap-OLS procedure, started at the cutoff with a re-anchored starting prior (below).

Two views, because the methods predict different things:

- **population view** (``BacktestResult.methods``, ``per_model``): each later model's log10
  tokens against the method's predictive distribution at its release date. Population
  methods (``exponential``, ``ols``) predict *a typical new model*. Frontier methods
  (``frontier``, ``slowdown``, ``random-walk-slope``, ``average``, ``epoch-bootstrap``)
  predict *the largest runs*, so they are scored as they are but **are expected to be
  biased high on typical models** (low coverage, high CRPS there is by design, not a bug).
- **frontier view** (``BacktestResult.frontier``, ``frontier_scores``): for each half-year
  period after the cutoff (``"2023H1"``: January-June, ``"2023H2"``: July-December), the
  largest training set released in it, against the method's band (p10, p50, p90) at the
  period midpoint. This is where frontier methods should be judged. A cutoff inside a
  half-year keeps that period, with only its post-cutoff releases.

Scores, all on **log10 tokens** and computed from the projection draws:

- ``coverage_50/80/95``: share of observations inside the central 50/80/95% interval
  (``p25..p75``, ``p10..p90``, ``p2.5..p97.5``; bounds inclusive);
- ``crps``: continuous ranked probability score in orders of magnitude, lower is better,
  via the energy form ``CRPS = E|X - y| - 1/2 E|X - X'|`` over the draws (the exact CRPS
  of the draws' empirical distribution; :func:`crps_from_draws`);
- ``log_score``: mean log predictive density of log10 tokens, **higher is better**
  (natural log, density per order of magnitude). The density comes from a Gaussian kernel
  density estimate of the draws with Silverman's bandwidth (:func:`log_score_from_draws`):
  it follows mixtures (the model average) and heavy tails inside the range of the draws,
  but beyond the most extreme draw it decays like a Gaussian of the (small) bandwidth,
  so one observation far outside every draw costs a very large negative number.
  Read it with the CRPS, which is robust to that.

Epoch's starting prior re-anchored at a cutoff: Epoch AI (2024) put the size of the
largest training run on 2024-01-01 at 3T-13T tokens (90% interval, lognormal). The
largest disclosed run before 2024 in the bundled table is Falcon-180B with 3.5T tokens;
the upper end reflects undisclosed frontier runs (GPT-4's reported ~13T tokens seen). The
backtest keeps that *relative* uncertainty: the 90% interval is
``[3/3.5, 13/3.5] x (largest token count released before the cutoff)``, starting at the
cutoff date. At a 2024-01-01 cutoff on the bundled data this reproduces 3T-13T exactly;
at earlier cutoffs it uses only what was known then.

Sampling: backtests use :data:`BACKTEST_SAMPLER`, the forecast's own settings (4 chains x
1,000 draws after 1,000 tuning steps), so a backtest judges the fits the forecast uses. A
rolling-origin study on the bundled data (35 fits) takes about 3.5 minutes the first time
and is cached. A reduced sampler (2 chains x 500) left 20 of 35 (cutoff, method) rows
below the health thresholds; with these settings every fit with at least 3 years of
history passes, and the three that fail are 7-9-model fits at the 2020-2021 cutoffs
(r_hat 1.014-1.025). Such problems are **reported, not hidden**: the usual
:class:`forecast.errors.SamplingWarning` is emitted and every fit's diagnostics are kept in
``BacktestResult.diagnostics`` and its problems in ``BacktestResult.messages``.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from forecast import registry
from forecast.data import dated
from forecast.demand import MODEL_CLASSES
from forecast.demand.baselines import EPOCH_START_RATIO, epoch_bootstrap_at, ols_trend
from forecast.demand.cache import fit_cached
from forecast.demand.combine import ModelAverage
from forecast.demand.model import (
    MIN_HISTORY_YEARS,
    DemandFit,
    DemandModel,
    SamplerConfig,
    health_rows,
)
from forecast.errors import DataError, ForecastError, ShortHistoryWarning
from forecast.evaluation.scores import (
    choose_methods,
    crps_from_draws,
    interval_hits,
    log_score_from_draws,
)
from forecast.persist import json_float, json_records
from forecast.registry import DEFAULT_WEIGHTS
from forecast.results import Result
from forecast.units import from_decimal_year, to_decimal_year

__all__ = [
    "BACKTEST_SAMPLER",
    "DEFAULT_CUTOFFS",
    "DEFAULT_METHOD",
    "EPOCH_START_RATIO",
    "LEVELS",
    "METHODS",
    "BacktestResult",
    "backtest",
    "calibration_by_history",
    "calibration_table",
    "crps_from_draws",
    "frontier_periods",
    "interval_hits",
    "log_score_from_draws",
    "rolling_origin",
]

#: NUTS settings for backtests: the forecast's own (health problems are reported).
BACKTEST_SAMPLER = SamplerConfig()
#: Every method a backtest can score, in table order (:func:`forecast.registry.backtest_methods`).
METHODS: tuple[str, ...] = registry.backtest_methods()
#: The toolkit's default demand method.
DEFAULT_METHOD = "default"
#: Population-view methods (predict a typical new model); the rest predict the frontier.
POPULATION_METHODS: frozenset[str] = registry.population_methods()
#: Central interval levels scored in the population view.
LEVELS: tuple[float, ...] = (0.5, 0.8, 0.95)
DEFAULT_CUTOFFS: tuple[str, ...] = (
    "2020-01-01",
    "2021-01-01",
    "2022-01-01",
    "2023-01-01",
    "2024-01-01",
)

_SCORE_COLUMNS = ("coverage_50", "coverage_80", "coverage_95", "crps", "log_score")
#: Columns of ``BacktestResult.methods``, in order.
_METHOD_COLUMNS = (
    "method",
    "kind",
    *_SCORE_COLUMNS,
    "n",
    "frontier_coverage_80",
    "frontier_crps",
    "frontier_n",
)


# --- inputs ------------------------------------------------------------------------------


def _parse_cutoff(cutoff) -> pd.Timestamp:
    if isinstance(cutoff, bool):
        raise ForecastError(f"cannot use {cutoff!r} as a backtest cutoff date")
    try:
        if isinstance(cutoff, int | float | np.integer | np.floating):
            ts = from_decimal_year(float(cutoff))
        else:
            ts = pd.Timestamp(cutoff)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ForecastError(
            f"cannot parse the backtest cutoff {cutoff!r}: give a date like 2023-01-01"
        ) from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ForecastError(f"the backtest cutoff {cutoff!r} is not a date")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts


def _methods(methods) -> tuple[str, ...]:
    return choose_methods(methods, METHODS, METHODS, "backtest method")


def _check_columns(models: pd.DataFrame) -> None:
    missing = [c for c in ("model", "date", "tokens") if c not in models.columns]
    if missing:
        raise DataError(
            f"the models table lacks column(s) {', '.join(missing)} needed for a backtest",
            column=missing[0],
        )


def frontier_periods(test: pd.DataFrame) -> pd.DataFrame:
    """Largest training set released in each half-year of ``test`` (rows with tokens).

    Columns: period (``"2023H1"``), midpoint (decimal year of the half-year's middle),
    model (the largest run), date, observed (tokens). Sorted by period.
    """
    rows = test.dropna(subset=["tokens"])
    cols = ["period", "midpoint", "model", "date", "observed"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    dates = pd.DatetimeIndex(rows["date"])
    half = np.where(dates.month <= 6, 1, 2)
    labels = [f"{y}H{h}" for y, h in zip(dates.year, half, strict=True)]
    rows = rows.assign(period=labels).sort_values(["period", "tokens", "date"])
    top = rows.groupby("period", sort=True).tail(1).sort_values("period")
    out = []
    for _, r in top.iterrows():
        year, h = int(r["period"][:4]), int(r["period"][-1])
        start = to_decimal_year(dt.date(year, 1 if h == 1 else 7, 1))
        end = to_decimal_year(dt.date(year, 7, 1) if h == 1 else dt.date(year + 1, 1, 1))
        out.append(
            {
                "period": r["period"],
                "midpoint": (start + end) / 2,
                "model": r["model"],
                "date": r["date"],
                "observed": float(r["tokens"]),
            }
        )
    return pd.DataFrame(out, columns=cols)


# --- result ------------------------------------------------------------------------------


@dataclass
class BacktestResult(Result):
    """Scores of every method trained before ``cutoff`` on the models released after it.

    - ``methods``: one row per method: coverage_50/80/95, crps, log_score, n (population
      view), frontier_coverage_80, frontier_crps, frontier_n (frontier view), kind
      (``population`` or ``frontier``: what the method predicts).
    - ``frontier``: the default method's frontier view: period, midpoint, model, observed,
      p10, p50, p90 (tokens), in_80, crps (log10). ``frontier_all`` has the same for every
      method (column ``method``); ``frontier_scores`` summarises it per method.
    - ``per_model``: one row per (test model, method): model, date, year, tokens, method,
      p10, p50, p90 (tokens), crps, log_score, in_50, in_80, in_95.
    - ``diagnostics``: sampler health of each PyMC fit; ``weights``: the model-average
      weights (:data:`forecast.demand.DEFAULT_WEIGHTS`); ``messages``: anything the reader must know (no test models,
      unhealthy fits, fallbacks).
    """

    cutoff: pd.Timestamp
    n_train: int
    n_test: int
    default: str
    methods: pd.DataFrame
    frontier: pd.DataFrame
    per_model: pd.DataFrame
    frontier_all: pd.DataFrame = field(default_factory=pd.DataFrame)
    frontier_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame)
    weights: dict[str, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    #: Years between the first and last training model with tokens.
    history_years: float = float("nan")

    @property
    def short_history(self) -> bool:
        """Whether the training history is shorter than :data:`MIN_HISTORY_YEARS`."""
        return bool(self.history_years < MIN_HISTORY_YEARS)

    def to_json_dict(self) -> dict:
        """JSON-safe summary: floats or None (undefined), dates as ISO strings."""
        methods = {
            str(r["method"]): {c: json_float(r[c]) for c in _SCORE_COLUMNS}
            for r in self.methods.to_dict(orient="records")
        }
        frontier = json_records(
            self.frontier[["period", "observed", "p10", "p50", "p90"]].astype({"period": str})
        )
        columns = ["model", "date", "tokens", "method", "p10", "p50", "p90", "crps", "log_score"]
        hits = ["in_50", "in_80", "in_95"]
        per_model = self.per_model[columns + hits].astype(
            {"model": str, "method": str, **dict.fromkeys(hits, bool)}
        )
        per_model["date"] = [pd.Timestamp(d).date().isoformat() for d in per_model["date"]]
        return {
            "cutoff": self.cutoff.date().isoformat(),
            "n_train": int(self.n_train),
            "n_test": int(self.n_test),
            "default": self.default,
            "methods": methods,
            "frontier": frontier,
            "per_model": json_records(per_model),
        }

    def _header(self) -> str:
        return (
            f"Backtest at cutoff {self.cutoff.date().isoformat()}: trained on {self.n_train} "
            f"models, scored on {self.n_test} later models (default method: {self.default})"
        )

    def _method_table(self) -> pd.DataFrame:
        return self.methods[list(_METHOD_COLUMNS)]

    def _frontier_table(self) -> pd.DataFrame:
        return self.frontier[["period", "model", "observed", "p10", "p50", "p90"]]

    def __repr__(self) -> str:
        parts = [self._header()]
        if not self.methods.empty:
            parts.append(self._method_table().to_string(index=False, float_format="{:.3g}".format))
        if not self.frontier.empty:
            parts.append(f"frontier view ({self.default}):")
            parts.append(
                self._frontier_table().to_string(index=False, float_format="{:.3g}".format)
            )
        parts.extend(f"note: {m}" for m in self.messages)
        return "\n".join(parts)

    def summary(self) -> pd.DataFrame:
        """One row per method (numeric scores); the frontier view is :attr:`frontier`."""
        return self._method_table()

    def _repr_html_(self) -> str:
        out = [f"<b>{html.escape(self._header())}</b>"]
        if not self.methods.empty:
            out.append(self._method_table().to_html(index=False, float_format="{:.3g}".format))
        if not self.frontier.empty:
            out.append(f"<p>Frontier view ({html.escape(self.default)})</p>")
            out.append(self._frontier_table().to_html(index=False, float_format="{:.3g}".format))
        if self.messages:
            out.append("<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in self.messages))
            out.append("</ul>")
        return "".join(out)


# --- fitting -----------------------------------------------------------------------------


#: The Bayesian demand models a backtest fits, by method name: every token model (the
#: compute model projects FLOP, converted to tokens, and is not scored).
_MODEL_CLASSES: dict[str, type[DemandModel]] = {
    cls.name: cls for cls in MODEL_CLASSES if cls.value_column == "tokens"
}


def _min_train(methods: Sequence[str]) -> tuple[int, str]:
    """The most training rows any of ``methods`` needs, and that method's name."""
    best = max(methods, key=registry.min_rows)
    return registry.min_rows(best), best


def _fit_methods(
    train: pd.DataFrame,
    methods: Sequence[str],
    sampler: SamplerConfig,
    cutoff_year: float,
    seed: int,
    messages: list[str],
    use_cache: bool,
    cache_dir,
) -> tuple[dict, pd.DataFrame, dict[str, float]]:
    """Fit what ``methods`` need; returns projectors by name, diagnostics and weights.

    ``train``: every run released before the cutoff; the baselines use those with tokens.
    """
    fits: dict[str, DemandFit] = {}
    wanted = {fit for m in methods for fit in registry.fits_used(m)}
    for name, cls in _MODEL_CLASSES.items():
        if name in wanted:
            try:
                fits[name] = fit_cached(cls(), train, sampler, cache_dir, use_cache=use_cache)
            except DataError as exc:
                raise DataError(
                    f"backtest cutoff {from_decimal_year(cutoff_year).date().isoformat()}: "
                    f"cannot fit the '{name}' method on the models released before it: "
                    f"{exc.reason}",
                    column=exc.column,
                ) from exc

    diag_rows, problems = health_rows(fits)
    messages.extend(problems)

    projectors: dict = {n: f for n, f in fits.items() if n in methods}
    weights: dict[str, float] = {}
    if "default" in methods:
        weights = dict(DEFAULT_WEIGHTS)
        projectors["default"] = ModelAverage.default(fits)
    train = train.dropna(subset=["tokens"])
    if "ols" in methods:
        projectors["ols"] = ols_trend(train)
    if "epoch-bootstrap" in methods:
        projectors["epoch-bootstrap"] = epoch_bootstrap_at(train, cutoff_year, seed)
    diagnostics = pd.DataFrame(
        diag_rows,
        columns=["method", "rows", "r_hat_max", "ess_bulk_min", "divergences", "healthy"],
    )
    return projectors, diagnostics, weights


class _Log10Model:
    """A demand model whose ``to_tokens`` is the identity: projections stay in log10 units.

    ``DemandFit.project`` returns ``10**x`` tokens, which overflows to ``inf`` for the far
    Student-t tails a small ``nu`` allows; scoring needs the log10 draws themselves. The
    same random stream is used, so the draws are exactly ``log10`` of ``project``'s.
    """

    def __init__(self, model) -> None:
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def to_tokens(self, log10_values, out=None):
        return np.asarray(log10_values, dtype=float)  # already in ``out`` when given


def _log10_fit(fit: DemandFit) -> DemandFit:
    return replace(fit, model=_Log10Model(fit.model))


def _log10_draws(projector, years: np.ndarray, n_draws: int, seed: int) -> np.ndarray:
    """Projection draws of log10 tokens, shape (draw, year), without overflowing."""
    if isinstance(projector, DemandFit):
        if type(projector.model).to_tokens is not DemandModel.to_tokens:
            raise ForecastError(f"backtest cannot score the {projector.name!r} model in log10")
        return _log10_fit(projector).project(years, n_draws=n_draws, seed=seed).to_numpy()
    if isinstance(projector, ModelAverage):
        fits = [_log10_fit(f) for f in projector.fits]
        avg = ModelAverage(fits, projector.weights, name=projector.name)
        return avg.project(years, n_draws=n_draws, seed=seed).to_numpy()
    with np.errstate(divide="ignore", over="ignore"):
        values = np.log10(projector.project(years, n_draws=n_draws, seed=seed).to_numpy())
    if not np.isfinite(values).all():
        raise ForecastError(f"the {projector.name!r} projection overflowed")
    return values


def _quantiles_tokens(log10_draws: np.ndarray) -> np.ndarray:
    """p10, p50, p90 in tokens, shape (3, n_obs)."""
    return 10.0 ** np.quantile(log10_draws, [0.1, 0.5, 0.9], axis=1)


def _score_points(log10_draws: np.ndarray, tokens: np.ndarray) -> dict[str, np.ndarray]:
    y = np.log10(tokens)
    q = _quantiles_tokens(log10_draws)
    out = {
        "p10": q[0],
        "p50": q[1],
        "p90": q[2],
        "crps": crps_from_draws(log10_draws, y),
        "log_score": log_score_from_draws(log10_draws, y),
    }
    for level in LEVELS:
        out[f"in_{round(level * 100)}"] = interval_hits(log10_draws, y, level)
    return out


# --- backtest ----------------------------------------------------------------------------


def backtest(
    models: pd.DataFrame,
    cutoff: str | dt.date,
    *,
    sampler: SamplerConfig | None = None,
    seed: int = 0,
    n_draws: int = 4000,
    methods: Sequence[str] | None = None,
    use_cache: bool = True,
    cache_dir=None,
) -> BacktestResult:
    """Fit each method on models released before ``cutoff``; score it on those released after.

    ``models`` is a models frame (:func:`forecast.data.load_models`); rows without tokens
    are ignored for training and scoring. ``cutoff`` is an ISO date string, a date or a
    timestamp (or a decimal year). Training uses ``date < cutoff``, testing
    ``date >= cutoff``. ``sampler`` defaults to :data:`BACKTEST_SAMPLER` with ``seed``;
    a given sampler is used as is. ``seed`` also seeds the projections, so the same seed
    gives the same numbers. ``methods`` is a subset of :data:`METHODS` (default: all).
    Fits are cached like every demand fit (:func:`forecast.demand.fit_cached`, keyed by the
    training rows and settings); ``use_cache=False`` always samples.

    Population-view scores of the frontier methods (``frontier``, ``slowdown``,
    ``random-walk-slope``, ``average``, ``epoch-bootstrap``) are expected to be biased high, because they predict
    the largest runs, not typical models; judge them on the frontier view.

    Raises :class:`DataError` when too few models with tokens precede the cutoff to fit
    the requested methods, :class:`ForecastError` for an unparseable cutoff or an unknown
    method. With no scored models after the cutoff the result has ``n_test == 0``, NaN
    scores and a message saying so.
    """
    cutoff_ts = _parse_cutoff(cutoff)
    chosen = _methods(methods)
    if n_draws < 10:
        raise ForecastError(f"n_draws must be >= 10 for interval scores, got {n_draws}")
    _check_columns(models)
    sampler = sampler if sampler is not None else replace(BACKTEST_SAMPLER, seed=seed)
    default = DEFAULT_METHOD if DEFAULT_METHOD in chosen else chosen[0]
    label = cutoff_ts.date().isoformat()

    train, known, test, messages, history_years = _split_at_cutoff(models, cutoff_ts, chosen, label)
    cutoff_year = to_decimal_year(cutoff_ts)
    with warnings.catch_warnings():  # said once, in messages
        warnings.simplefilter("ignore", ShortHistoryWarning)
        projectors, diagnostics, weights = _fit_methods(
            known, chosen, sampler, cutoff_year, seed, messages, use_cache, cache_dir
        )

    periods = frontier_periods(test)
    test_years = test["year"].to_numpy(dtype=float)
    all_years = np.unique(np.concatenate([test_years, periods["midpoint"].to_numpy(dtype=float)]))
    per_model_parts, frontier_parts, method_rows = [], [], []
    method_seeds = np.random.default_rng(seed).integers(0, 2**32, size=len(METHODS))
    for name in chosen:
        row: dict = {
            "method": name,
            "kind": "population" if name in POPULATION_METHODS else "frontier",
        }
        if len(test):
            draws_seed = int(method_seeds[METHODS.index(name)])
            log10 = _log10_draws(projectors[name], all_years, n_draws, draws_seed)
            part, fpart = _score_method(name, log10, all_years, test, periods, row)
            per_model_parts.append(part)
            frontier_parts.append(fpart)
        else:
            row.update({c: np.nan for c in _SCORE_COLUMNS})
            row.update({"n": 0, "frontier_coverage_80": np.nan, "frontier_crps": np.nan})
            row["frontier_n"] = 0
        method_rows.append(row)

    if not len(test):
        messages.insert(
            0,
            f"no models with tokens released on or after the cutoff {label}: nothing to score "
            "(n_test = 0, scores are NaN)",
        )
    per_model = _concat(per_model_parts, _PER_MODEL_COLUMNS)
    frontier_all = _concat(frontier_parts, _FRONTIER_COLUMNS)
    methods_df = pd.DataFrame(method_rows)[list(_METHOD_COLUMNS)]
    frontier_scores = methods_df[
        ["method", "frontier_coverage_80", "frontier_crps", "frontier_n"]
    ].rename(
        columns={"frontier_coverage_80": "coverage_80", "frontier_crps": "crps", "frontier_n": "n"}
    )
    frontier = (
        frontier_all[frontier_all["method"] == default]
        .drop(columns="method")
        .reset_index(drop=True)
    )
    return BacktestResult(
        cutoff=cutoff_ts,
        n_train=len(train),
        n_test=len(test),
        default=default,
        methods=methods_df,
        frontier=frontier,
        per_model=per_model,
        frontier_all=frontier_all,
        frontier_scores=frontier_scores,
        diagnostics=diagnostics,
        weights=weights,
        messages=messages,
        history_years=history_years,
    )


_PER_MODEL_COLUMNS = [
    "model",
    "date",
    "year",
    "tokens",
    "method",
    "p10",
    "p50",
    "p90",
    "crps",
    "log_score",
    "in_50",
    "in_80",
    "in_95",
]
_FRONTIER_COLUMNS = [
    "period",
    "midpoint",
    "model",
    "date",
    "observed",
    "method",
    "p10",
    "p50",
    "p90",
    "in_80",
    "crps",
]


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return frame[columns]


def _split_at_cutoff(models: pd.DataFrame, cutoff_ts: pd.Timestamp, chosen, label: str):
    """``(train, known, test, messages, history_years)``: runs with tokens before the
    cutoff, every run before it (demand v2 uses the compute of runs without a size), runs
    with tokens from the cutoff on, and what to tell the user. Raises :class:`DataError`
    when too few runs precede the cutoff for ``chosen``."""
    frame = dated(models)
    with_tokens = frame.dropna(subset=["tokens"])
    train = with_tokens[with_tokens["date"] < cutoff_ts].sort_values(["date", "model"])
    known = frame[frame["date"] < cutoff_ts].sort_values(["date", "model"])
    test = with_tokens[with_tokens["date"] >= cutoff_ts].sort_values(["date", "model"])
    messages: list[str] = []

    if train.empty:
        first = with_tokens["date"].min()
        when = "" if pd.isna(first) else f" (the first is from {first.date().isoformat()})"
        raise DataError(
            f"no models with tokens released before the backtest cutoff {label}{when}: "
            "choose a later cutoff",
            column="date",
        )
    need, which = _min_train(chosen)
    if len(train) < need:
        raise DataError(
            f"only {len(train)} models with tokens released before the backtest cutoff "
            f"{label}; the '{which}' method needs at least {need}: choose a later cutoff",
            column="date",
        )
    untested = int(((frame["date"] >= cutoff_ts) & frame["tokens"].isna()).sum())
    if untested:
        messages.append(
            f"{untested} model(s) released after the cutoff have no token count and are not scored"
        )
    history_years = float(np.ptp(train["year"].to_numpy(dtype=float)))
    if history_years < MIN_HISTORY_YEARS:
        messages.append(
            f"the training models span only {history_years:.1f} years (< "
            f"{MIN_HISTORY_YEARS:g}): short-history cutoff, its scores measure extrapolation "
            "far beyond the data"
        )
    return train, known, test, messages, history_years


def _score_method(name, log10, all_years, test, periods, row: dict):
    """Score one method's ``log10`` draws (draw, year on ``all_years``) against every
    test run and every frontier period; adds the method's averages to ``row`` and
    returns its per-run and per-period tables."""
    col = {y: i for i, y in enumerate(all_years)}
    pts = log10[:, [col[y] for y in test["year"].to_numpy(dtype=float)]].T  # (obs, draw)
    scores = _score_points(pts, test["tokens"].to_numpy(dtype=float))
    part = test[["model", "date", "year", "tokens"]].reset_index(drop=True)
    part.insert(4, "method", name)
    for k, v in scores.items():
        part[k] = v
    row.update(
        {
            "coverage_50": float(scores["in_50"].mean()),
            "coverage_80": float(scores["in_80"].mean()),
            "coverage_95": float(scores["in_95"].mean()),
            "crps": float(scores["crps"].mean()),
            "log_score": float(scores["log_score"].mean()),
            "n": len(test),
        }
    )
    fpts = log10[:, [col[y] for y in periods["midpoint"].to_numpy(dtype=float)]].T
    fs = _score_points(fpts, periods["observed"].to_numpy(dtype=float))
    fpart = periods.assign(
        method=name, p10=fs["p10"], p50=fs["p50"], p90=fs["p90"], in_80=fs["in_80"], crps=fs["crps"]
    )
    row.update(
        {
            "frontier_coverage_80": float(fs["in_80"].mean()),
            "frontier_crps": float(fs["crps"].mean()),
            "frontier_n": len(periods),
        }
    )
    return part, fpart


# --- rolling origin ----------------------------------------------------------------------


def rolling_origin(models: pd.DataFrame, cutoffs: Sequence = DEFAULT_CUTOFFS, **kw) -> pd.DataFrame:
    """Backtest at each cutoff; one row per (cutoff, method) with the scores.

    Columns: cutoff (ISO date), method, kind, n_train, n_test, history_years (span of the
    training models' dates), coverage_50,
    coverage_80, coverage_95, crps, log_score, n, frontier_coverage_80, frontier_crps,
    frontier_n, healthy (whether every PyMC fit behind the method passed the health
    checks; True for the non-Bayesian baselines). ``kw`` goes to :func:`backtest`.
    Note the test sets of successive cutoffs overlap (a 2025 model is scored from every
    earlier cutoff). Pool the coverages with :func:`calibration_table`.
    """
    if not len(cutoffs):
        raise ForecastError("rolling_origin needs at least one cutoff")
    rows = []
    for cutoff in cutoffs:
        result = backtest(models, cutoff, **kw)
        unhealthy = set(result.diagnostics.loc[~result.diagnostics["healthy"], "method"])
        for _, r in result.methods.iterrows():
            parts = set(registry.fits_used(r["method"]))
            rows.append(
                {
                    "cutoff": result.cutoff.date().isoformat(),
                    "n_train": result.n_train,
                    "n_test": result.n_test,
                    "history_years": result.history_years,
                    **r.to_dict(),
                    "healthy": not (parts & unhealthy),
                }
            )
    cols = [
        "cutoff",
        "method",
        "kind",
        "n_train",
        "n_test",
        "history_years",
        *_SCORE_COLUMNS,
        "n",
        "frontier_coverage_80",
        "frontier_crps",
        "frontier_n",
        "healthy",
    ]
    return pd.DataFrame(rows)[cols]


def calibration_table(table: pd.DataFrame, min_history_years: float | None = None) -> pd.DataFrame:
    """Nominal vs empirical interval coverage per method, pooled over a rolling-origin table.

    ``min_history_years`` keeps only cutoffs whose training models span at least that
    many years (e.g. :data:`MIN_HISTORY_YEARS`); None pools every cutoff.

    Pools the hits of every (cutoff, test model) pair: each cutoff's coverage weighted by
    its number of scored models ``n``. Rows: (method, view, nominal); ``view`` is
    ``population`` (50/80/95% intervals over every later model) or ``frontier`` (80% band
    against the largest run per half-year). Columns: method, view, nominal, empirical,
    gap (empirical - nominal), n.
    """
    if min_history_years is not None:
        table = table[table["history_years"] >= min_history_years]
    out = []
    for method, group in table.groupby("method", sort=False):
        n = group["n"].to_numpy(dtype=float)
        for level in LEVELS:
            cov = group[f"coverage_{round(level * 100)}"].to_numpy(dtype=float)
            ok = np.isfinite(cov) & (n > 0)
            emp = float((cov[ok] * n[ok]).sum() / n[ok].sum()) if ok.any() else np.nan
            out.append(
                {
                    "method": method,
                    "view": "population",
                    "nominal": level,
                    "empirical": emp,
                    "n": int(n[ok].sum()),
                }
            )
        fn = group["frontier_n"].to_numpy(dtype=float)
        fcov = group["frontier_coverage_80"].to_numpy(dtype=float)
        ok = np.isfinite(fcov) & (fn > 0)
        emp = float((fcov[ok] * fn[ok]).sum() / fn[ok].sum()) if ok.any() else np.nan
        out.append(
            {
                "method": method,
                "view": "frontier",
                "nominal": 0.8,
                "empirical": emp,
                "n": int(fn[ok].sum()),
            }
        )
    res = pd.DataFrame(out, columns=["method", "view", "nominal", "empirical", "n"])
    res.insert(4, "gap", res["empirical"] - res["nominal"])
    return res


def calibration_by_history(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibration_table` over every cutoff, then over the cutoffs with at least
    :data:`MIN_HISTORY_YEARS` of training history, stacked; column ``cutoffs`` says which
    (``"all"`` or ``">= 3 years of history"``)."""
    guarded = f">= {MIN_HISTORY_YEARS:g} years of history"
    parts = [
        calibration_table(table).assign(cutoffs="all"),
        calibration_table(table, MIN_HISTORY_YEARS).assign(cutoffs=guarded),
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[["cutoffs", *out.columns[:-1]]]
