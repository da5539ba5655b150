"""Forecast skill earned out of sample: leave-future-out evaluation at many origins.

:func:`evaluate` refits every method on what was known before each **origin** (every
run released before it, sized or not) and scores what it predicted for the half-year
ending ``horizon`` years later. Origins are every 1 January and 1 July from 2021-07-01
(:data:`FIRST_ORIGIN`) to the last one whose first half-year has data; horizons are
0.5, 1, 2 and 3 years; the target window of (origin, horizon) is the calendar half-year
``[origin + horizon - 0.5, origin + horizon)``.

Targets (each window):

- ``compute``: the largest training compute released by the window's end (the record, from
  every run with a compute figure, disclosed or not): the quantity demand v3 projects and
  the exhaustion date uses, observed with each estimate's own error.
- ``ratio``: each run released in the window that reports tokens and (not estimated)
  compute: its tokens per parameter, given its compute (the other factor of v3's tokens).
- ``frontier``: the largest disclosed training set released in the window (each family's
  largest disclosed run with an exact size): the quantity every method can be scored on.
- ``runs``: every such run in the window, one by one, at its date.

Nothing from after the origin enters a predictive. In particular the window's largest
run is predicted without the number or the dates of the window's runs: per-run methods
(every Bayesian token model, OLS, demand v3's disclosed releases) give one run's
distribution per posterior draw at the window's months, and the number of disclosed runs
is Poisson with the rate known at the origin (demand v3: its fitted rate of disclosed
releases; the others: the disclosed runs of the year before the origin). The window's
largest of them then has, per draw, the exact CDF ``(exp(-L (1 - F(y))) - exp(-L)) /
(1 - exp(-L))`` (at least one run: the window is scored only when it has one), ``F`` the
per-run CDF averaged over the window's months, ``L`` the expected count. Frontier methods
(Epoch's bootstrap, the naive rule) predict the largest run itself.

Scores: the exact log predictive density (natural log, per order of magnitude; higher is
better; none for ``compute``, whose predictive has an atom at the origin's record), the
CRPS from 4,000 predictive samples (orders of magnitude; lower is better), the PIT
(predictive CDF at the outcome; randomised within an atom) and, from it, coverage of the
central 50/80/95% intervals. Pooled scores carry 95% bootstrap intervals that resample
origins (items from one origin share its fit, so they are not independent).

Stacking (Yao et al. 2018): weights over the methods maximising the summed log score of
the ``frontier`` items of the **earlier** origins (those before :attr:`SkillStudy.split`)
whose windows ended before the split, then *reported* on the later origins' items, which
the weights never saw.

Choices made before any result was seen: the origins, horizons and the frontier and runs
targets (issue 15); the naive rule; the 4,000 draws; the split at the middle origin; the
compute and ratio targets and the Poisson release counts (issue 35), defined before
demand v3 was scored. Nothing in the study was tuned on these scores; demand v3 was
(its edge's random walk and the continued random walk of its tokens per parameter were
added after its first scores here), so on these origins its scores are in-sample for
those two choices (docs/model.md, "Demand v3", and benchmarks/out_of_sample.py for data
they were not chosen on).
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from forecast import checks
from forecast.checks import checked
from forecast.data import dated
from forecast.demand import MODEL_CLASSES
from forecast.demand.baselines import epoch_bootstrap_at
from forecast.demand.cache import fit_cached
from forecast.demand.compute_frontier import RATIO_MIN_COMPUTE, ComputeFrontierTrend
from forecast.demand.damped import DampedFrontierTrend, exgaussian_logpdf, exgaussian_logsf
from forecast.demand.model import MIN_HISTORY_YEARS, DemandFit, SamplerConfig, health_rows
from forecast.errors import DataError, ForecastError, ShortHistoryWarning
from forecast.evaluation.scores import choose_methods, crps_from_draws
from forecast.results import Result
from forecast.units import to_decimal_year

__all__ = [
    "DEFAULT_HORIZONS",
    "DEFAULT_LFO_METHODS",
    "FIRST_ORIGIN",
    "LFO_METHODS",
    "RunPredictive",
    "SkillStudy",
    "default_origins",
    "evaluate",
    "stacking_weights",
    "study_from_items",
]

#: Token-based demand models by name, scored per run (the compute trend predicts FLOP, and
#: demand v3 is the ``default`` method).
MODEL_CLASSES_BY_NAME: dict[str, type] = {c.name: c for c in MODEL_CLASSES}
TOKEN_MODELS: dict[str, type] = {
    c.name: c
    for c in MODEL_CLASSES
    if c.value_column == "tokens" and not issubclass(c, ComputeFrontierTrend)
}
#: First leave-future-out origin (issue 15).
FIRST_ORIGIN = dt.date(2021, 7, 1)
#: Horizons in years: the target window ends this long after the origin.
DEFAULT_HORIZONS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0)
#: Central interval levels scored.
LEVELS: tuple[float, ...] = (0.5, 0.8, 0.95)
#: Predictive samples per (origin, method) for CRPS and interval widths.
N_DRAWS = 4000
#: The default demand (demand v3; :data:`forecast.registry.DEFAULT_WEIGHTS`).
DEFAULT_METHOD = "default"
#: The fit behind the default method.
DEFAULT_FIT = "compute-frontier"
#: 0.2.0's default demand: equal weights on these two fits.
V02_WEIGHTS = {"frontier": 0.5, "random-walk-slope": 0.5}
#: Baselines: no PyMC.
BASELINES: tuple[str, ...] = ("ols", "epoch-bootstrap", "naive")
#: Every method :func:`evaluate` can score.
LFO_METHODS: tuple[str, ...] = (DEFAULT_METHOD, *TOKEN_MODELS, "average-0.2", *BASELINES)
#: What the report and ``forecast backtest --lfo`` score unless told otherwise.
DEFAULT_LFO_METHODS: tuple[str, ...] = (DEFAULT_METHOD, *BASELINES)
#: Methods that predict the largest run directly (no per-run distribution).
FRONTIER_METHODS = frozenset({"epoch-bootstrap", "naive"})
#: Targets, in table order.
TARGETS: tuple[str, ...] = ("frontier", "runs", "compute", "ratio")
#: Methods that predict the compute record and the tokens per parameter.
COMPUTE_METHODS = frozenset({DEFAULT_METHOD, "naive"})
#: Measurement sd (OOM) of a new compute record: most frontier runs' compute is a
#: third-party estimate (forecast.demand.compute_frontier.COMPUTE_SD_OOM).
RECORD_SD_OOM = 0.25
#: Months of a half-year window at which per-run predictives are averaged.
WINDOW_MONTHS = 6


# --- predictive distributions ------------------------------------------------------------


@dataclass(frozen=True)
class RunPredictive:
    """Per-draw distribution of one run's log10 tokens at each of some dates.

    ``family``: ``"exgaussian"`` (``log10 D = loc - Exponential(mean shape) - Normal(0,
    scale)``: the damped model's record likelihood), ``"t"`` (Student-t, ``shape`` degrees
    of freedom) or ``"normal"``. ``loc`` has shape (draw, date); ``scale`` and ``shape``
    (draw, 1) or (draw, date). The predictive is the equal-weight mixture over draws.
    """

    family: str
    loc: np.ndarray
    scale: np.ndarray
    shape: np.ndarray | None = None

    def logpdf(self, y: np.ndarray) -> np.ndarray:
        """log density (draw, date) at log10 tokens ``y`` (date,)."""
        y = np.asarray(y, dtype=float)[None, :]
        if self.family == "exgaussian":
            return exgaussian_logpdf(-y, -self.loc, self.scale, self.shape)
        if self.family == "t":
            return stats.t.logpdf(y, self.shape, self.loc, self.scale)
        return stats.norm.logpdf(y, self.loc, self.scale)

    def logcdf(self, y: np.ndarray) -> np.ndarray:
        """log P(log10 tokens <= y) (draw, date)."""
        y = np.asarray(y, dtype=float)[None, :]
        if self.family == "exgaussian":
            return exgaussian_logsf(-y, -self.loc, self.scale, self.shape)
        if self.family == "t":
            return stats.t.logcdf(y, self.shape, self.loc, self.scale)
        return stats.norm.logcdf(y, self.loc, self.scale)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One sample per draw and date (draw, date)."""
        shape = self.loc.shape
        noise = rng.standard_normal(shape) * self.scale
        if self.family == "exgaussian":
            return self.loc - rng.exponential(1.0, shape) * self.shape - noise
        if self.family == "t":
            return self.loc + rng.standard_t(np.broadcast_to(self.shape, shape)) * self.scale
        return self.loc + noise

    def columns(self, index: Sequence[int]) -> RunPredictive:
        """The predictive at a subset of its dates."""
        index = np.asarray(index, dtype=int)

        def pick(a):
            return a if a is None or a.shape[1] == 1 else a[:, index]

        return RunPredictive(self.family, self.loc[:, index], pick(self.scale), pick(self.shape))


def _logmeanexp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    return special.logsumexp(a, axis=axis) - np.log(a.shape[axis])


def score_maximum(pred: RunPredictive, observed: float, rng) -> dict[str, float]:
    """Scores of the largest of the runs at ``pred``'s dates (their number and dates
    given: for tests and studies of a known set of runs; :func:`evaluate` uses
    :func:`score_window_max`), observed ``observed``."""
    y = np.full(pred.loc.shape[1], observed)
    log_f, log_cdf = pred.logpdf(y), pred.logcdf(y)
    log_cdf_all = log_cdf.sum(axis=1)
    log_density = special.logsumexp(log_f - log_cdf, axis=1) + log_cdf_all
    samples = pred.sample(rng).max(axis=1)
    return _scores(
        float(_logmeanexp(log_density)), float(np.exp(log_cdf_all).mean()), samples, observed
    )


def score_runs(pred: RunPredictive, observed: np.ndarray, rng) -> list[dict[str, float]]:
    """Scores of each run at its own date."""
    log_dens = _logmeanexp(pred.logpdf(observed))
    pit = np.exp(pred.logcdf(observed)).mean(axis=0)
    samples = pred.sample(rng)
    return [
        _scores(float(log_dens[i]), float(pit[i]), samples[:, i], float(observed[i]))
        for i in range(len(observed))
    ]


def score_window_max(pred: RunPredictive, expected: np.ndarray, observed: float, rng) -> dict:
    """Scores of a window's largest run, observed ``observed``, when the number of runs
    is Poisson with mean ``expected`` (per draw, or a number) and each run's distribution
    is ``pred`` at a date drawn uniformly from ``pred``'s dates (the window's months);
    conditioned on at least one run."""
    lam = np.broadcast_to(np.asarray(expected, dtype=float).reshape(-1, 1), (pred.loc.shape[0], 1))
    y = np.full(pred.loc.shape[1], observed)
    log_f = _logmeanexp(pred.logpdf(y), axis=1)[:, None]
    cdf = np.exp(pred.logcdf(y)).mean(axis=1, keepdims=True)
    log_none = -lam
    log_at_least_one = np.log(-np.expm1(-lam))
    log_density = np.log(lam) + log_f - lam * (1.0 - cdf) - log_at_least_one
    below = np.exp(-lam * (1.0 - cdf))
    pit = (below - np.exp(log_none)) / (1.0 - np.exp(log_none))
    return _scores(
        float(_logmeanexp(log_density[:, 0])),
        float(pit.mean()),
        _window_max_samples(pred, lam[:, 0], rng),
        observed,
    )


def _window_max_samples(pred: RunPredictive, lam: np.ndarray, rng) -> np.ndarray:
    """One sample per draw of the largest of a zero-truncated Poisson(``lam``) number of
    runs at dates drawn from ``pred``'s."""
    n, dates = pred.loc.shape
    count = rng.poisson(lam)
    while (count == 0).any():  # zero-truncated: at least one run
        zero = count == 0
        count[zero] = rng.poisson(lam[zero])
    width = int(min(count.max(), 200))
    cols = rng.integers(0, dates, size=(n, width))
    rows = np.arange(n)[:, None]

    def pick(a):
        return None if a is None else np.broadcast_to(a, (n, dates))[rows, cols]

    runs = RunPredictive(pred.family, pick(pred.loc), pick(pred.scale), pick(pred.shape))
    values = runs.sample(rng)
    values[np.arange(width)[None, :] >= count[:, None]] = -np.inf
    return values.max(axis=1)


def score_samples(samples: np.ndarray, observed: float, rng, atom: float | None = None) -> dict:
    """Scores from predictive samples alone (no density: ``log_score`` NaN). ``atom``:
    a value the predictive puts mass on (the origin's record), where the PIT is drawn
    uniformly within the atom's mass."""
    samples = np.asarray(samples, dtype=float)
    below = float(np.mean(samples < observed))
    equal = float(np.mean(samples == observed)) if atom is not None else 0.0
    pit = below + equal * float(rng.random())
    return _scores(float("nan"), pit, samples, observed)


def _scores(log_score: float, pit: float, samples: np.ndarray, observed: float) -> dict:
    lo, hi = np.quantile(samples, [0.1, 0.9])
    out = {
        "log_score": log_score,
        "pit": pit,
        "crps": float(crps_from_draws(samples, observed)[0]),
        "width_80": float(hi - lo),
        "median": float(np.median(samples)),
    }
    for level in LEVELS:
        out[f"in_{round(level * 100)}"] = bool((1 - level) / 2 <= pit <= (1 + level) / 2)
    return out


# --- methods at an origin ------------------------------------------------------------------


def _bayesian_predictive(fit: DemandFit, years: np.ndarray, n: int, rng) -> RunPredictive:
    """A fitted demand model's per-run predictive at ``years``."""
    model = fit.model
    if isinstance(model, DampedFrontierTrend):
        params = model.draw_params(fit, model._draw_index(fit, n, rng))
        state, _ = model._simulate(params, years, rng, with_rate=False)
        return RunPredictive("exgaussian", state, params["noise_sd"], params["gap_scale"])
    nu, sigma = fit._flat("nu"), fit._flat("sigma")
    idx = rng.integers(0, len(nu), size=n)
    mean = model.projected_mean(fit, idx, rng, fit.scaling.x(years)[None, :])
    return RunPredictive(
        "t",
        fit.scaling.log10(mean),
        sigma[idx, None] * fit.scaling.y_sd,
        nu[idx, None],
    )


def _mixture(parts: Sequence[RunPredictive], weights: Sequence[float], n: int, rng):
    """Equal-family mixture: ``n`` draws split by ``weights`` among ``parts``."""
    counts = rng.multinomial(n, np.asarray(weights, dtype=float))
    keep = [(p, c) for p, c in zip(parts, counts, strict=True) if c > 0]

    def stack(get):
        arrays = [np.broadcast_to(get(p), (p.loc.shape[0], get(p).shape[1]))[:c] for p, c in keep]
        return np.concatenate(arrays)

    return RunPredictive(
        keep[0][0].family,
        stack(lambda p: p.loc),
        stack(lambda p: p.scale),
        None if keep[0][0].shape is None else stack(lambda p: p.shape),
    )


def _ols_predictive(train: pd.DataFrame, years: np.ndarray, n: int, rng) -> RunPredictive:
    """OLS of log10 tokens on year (every sized run before the origin): parameters drawn
    from their sampling distribution, residuals Student-t with the residual df."""
    import statsmodels.api as sm

    x = train["year"].to_numpy(dtype=float)
    y = np.log10(train["tokens"].to_numpy(dtype=float))
    result = sm.OLS(y, sm.add_constant(x)).fit()
    beta = rng.multivariate_normal(result.params, result.cov_params(), size=n)
    loc = beta[:, :1] + beta[:, 1:] * years[None, :]
    scale = np.full((n, 1), np.sqrt(result.scale))
    return RunPredictive("t", loc, scale, np.full((n, 1), float(result.df_resid)))


def _epoch_predictive(train: pd.DataFrame, origin: float, years: np.ndarray, seed: int):
    """Epoch AI's 2024 procedure started at the origin (:func:`epoch_bootstrap_at`, as in
    :mod:`forecast.evaluation.backtest`); its predictive is exactly Normal in log10
    (:meth:`EpochBootstrap.log10_normal`)."""
    mean, sd = epoch_bootstrap_at(train, origin, seed).log10_normal(years)
    return _repeated(RunPredictive("normal", mean[None, :], sd[None, :]))


def _repeated(pred: RunPredictive) -> RunPredictive:
    """A closed-form predictive (one row) as :data:`N_DRAWS` identical rows, so that its
    samples (CRPS, widths) are as many as a posterior's."""

    def rows(a):
        return None if a is None else np.repeat(np.atleast_2d(a), N_DRAWS, axis=0)

    return RunPredictive(pred.family, rows(pred.loc), rows(pred.scale), rows(pred.shape))


def naive_rule(train: pd.DataFrame, column: str = "tokens") -> tuple[float, float, float, float]:
    """The naive forecast's parameters: (record log10 value, its date, median yearly
    growth of the record in OOM/yr, sd of that yearly growth), for ``column`` (tokens, or
    ``compute_flop`` for the compute record).

    The record is the largest run to date; its year-over-year change is taken every
    half-year over the training span. Forecast: a random walk with that drift,
    ``Normal(record + rate (t - t_record), sd sqrt(t - t_record))``.
    """
    rows = train[train[column].gt(0)].sort_values("year")
    years = rows["year"].to_numpy(dtype=float)
    values = np.log10(rows[column].to_numpy(dtype=float))
    record = np.maximum.accumulate(values)
    grid = np.arange(years[0] + 1.0, years[-1] + 1e-9, 0.5)
    if len(grid) < 2:
        raise DataError("the naive rule needs at least 1.5 years of sized runs", column="date")

    def at(t):
        return record[np.searchsorted(years, t, side="right") - 1]

    changes = np.array([at(t) - at(t - 1.0) for t in grid])
    best = int(np.argmax(values))
    return (
        float(values[best]),
        float(years[best]),
        float(np.median(changes)),
        float(changes.std(ddof=1)),
    )


def _naive_predictive(train: pd.DataFrame, years: np.ndarray) -> RunPredictive:
    level, t0, rate, sd = naive_rule(train)
    dt_years = np.maximum(years[None, :] - t0, 1e-6)
    return _repeated(
        RunPredictive("normal", level + rate * dt_years, max(sd, 1e-3) * np.sqrt(dt_years))
    )


# --- the study -----------------------------------------------------------------------------


def default_origins(models: pd.DataFrame) -> list[dt.date]:
    """Every 1 January and 1 July from :data:`FIRST_ORIGIN` while the half-year after it
    ends no later than the last release in ``models``."""
    last = pd.Timestamp(pd.to_datetime(models["date"]).max())
    out, current = [], pd.Timestamp(FIRST_ORIGIN)
    while current + pd.DateOffset(months=6) <= last + pd.Timedelta(days=1):
        out.append(current.date())
        current = current + pd.DateOffset(months=6)
    return out


def _window(origin: pd.Timestamp, horizon: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    months = round(horizon * 12)
    return origin + pd.DateOffset(months=months - 6), origin + pd.DateOffset(months=months)


def _targets(models: pd.DataFrame) -> pd.DataFrame:
    """Each family's largest disclosed run with an exact size; and undisclosed runs."""
    rows = DampedFrontierTrend().select(models)
    front = rows[rows["role_frontier"]]
    bound = front["tokens_bound"].fillna("exact").astype(str)
    sized = front["tokens"].gt(0)
    return front.assign(
        target=np.where(
            sized & ~bound.isin(["lower", "upper"]),
            "exact",
            np.where(sized, "bound", "undisclosed"),
        )
    )


@dataclass
class SkillStudy(Result):
    """Result of :func:`evaluate`; every table numeric, one row per item or group.

    ``items``: one row per (origin, horizon, method, target, item) with its scores.
    ``rows``: per (origin, horizon, method, target) means (the JSON ``rows``).
    ``pooled``: per (method, horizon, target) over origins with at least
    ``min_history_years`` of history, with origin-clustered bootstrap intervals.
    ``weights``: stacking weights; ``stacking``: the stack against each method on the
    later origins. ``diagnostics``: each Bayesian fit's health.
    """

    default: str
    methods: tuple[str, ...]
    origins: tuple[dt.date, ...]
    horizons: tuple[float, ...]
    items: pd.DataFrame
    rows: pd.DataFrame
    pooled: pd.DataFrame
    weights: dict[str, float]
    stacking: pd.DataFrame
    split: dt.date | None
    diagnostics: pd.DataFrame
    messages: list[str] = field(default_factory=list)
    min_history_years: float = MIN_HISTORY_YEARS
    data_name: str = ""

    def _title(self) -> str:
        return f"SkillStudy: {len(self.origins)} origins, leave-future-out"

    @checked(
        target=checks.text(TARGETS),
        levels=checks.sequence(checks.accept("one of 0.5, 0.8, 0.95", lambda v: v in LEVELS)),
    )
    def summary(self, target: str = "frontier", levels: Sequence[float] = LEVELS) -> pd.DataFrame:
        """Pooled coverage (``levels``), CRPS, log score and 80% width by method and horizon."""
        p = self.pooled[self.pooled["target"] == target]
        cols = ["method", "horizon", "n", *(f"coverage_{round(lv * 100)}" for lv in levels)]
        cols += ["coverage_80_low", "coverage_80_high", "crps", "crps_low", "crps_high"]
        cols += ["log_score", "width_80"]
        return p[cols].reset_index(drop=True)

    @checked(method=checks.optional(checks.text()), bins=checks.integer(1, 1000))
    def pit_histogram(self, method: str | None = None, bins: int = 10) -> pd.DataFrame:
        """Counts of the (a) items' PIT values in ``bins`` equal bins (the PIT figure's data)."""
        method = method or self.default
        pit = self.items.query("method == @method and target == 'frontier' and guarded")["pit"]
        counts, edges = np.histogram(pit.to_numpy(dtype=float), bins=bins, range=(0.0, 1.0))
        return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "count": counts})

    def aims(self) -> dict:
        """Issue 15's aims computed from the study: ``coverage_80`` and ``n``, the default's
        80% coverage of the guarded half-year maxima at horizons of 1 year or more;
        ``coverage_aim_met`` (70-90%); ``crps_beaten_by``, per horizon of 1 year or more,
        the baselines whose pooled CRPS is not above the default's (empty: the default
        is best there)."""
        items = self.items
        mine = items[
            items["guarded"]
            & (items["target"] == "frontier")
            & (items["horizon"] >= 1.0)
            & (items["method"] == self.default)
        ]
        coverage = float(mine["in_80"].mean()) if len(mine) else float("nan")
        pooled = self.pooled[(self.pooled["target"] == "frontier") & (self.pooled["horizon"] >= 1)]
        beaten_by = {}
        for h, g in pooled.groupby("horizon"):
            own = g.loc[g["method"] == self.default, "crps"]
            rivals = g[g["method"].isin(BASELINES)]
            if len(own) and len(rivals):
                beaten_by[float(h)] = rivals.loc[
                    rivals["crps"] <= float(own.iloc[0]), "method"
                ].tolist()
        return {
            "coverage_80": coverage,
            "n": len(mine),
            "coverage_aim_met": bool(0.7 <= coverage <= 0.9),
            "crps_beaten_by": beaten_by,
        }

    @property
    def healthy(self) -> bool:
        """True when every origin fit passed the sampler-health thresholds."""
        return bool(self.diagnostics["healthy"].all()) if len(self.diagnostics) else True

    def to_json_dict(self) -> dict:
        """The ``forecast backtest --lfo --json`` object: ``default``, ``rows``, ``pooled``,
        ``stacking``, ``diagnostics`` and ``healthy`` (numbers to 6 significant digits)."""

        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records", double_precision=6))

        return {
            "default": self.default,
            "data": self.data_name,
            "methods": list(self.methods),
            "origins": [o.isoformat() for o in self.origins],
            "horizons": list(self.horizons),
            "min_history_years": self.min_history_years,
            "rows": records(self.rows),
            "pooled": records(self.pooled),
            "stacking": {
                "weights": self.weights,
                "fitted_on_origins_before": None if self.split is None else self.split.isoformat(),
                "later_origins": records(self.stacking),
            },
            "diagnostics": records(self.diagnostics),
            "healthy": bool(self.healthy),
            "messages": list(self.messages),
        }

    def __repr__(self) -> str:
        table = self.summary()[["method", "horizon", "n", "coverage_80", "crps", "log_score"]]
        head = (
            f"Leave-future-out study: {len(self.origins)} origins "
            f"({self.origins[0].isoformat()}..{self.origins[-1].isoformat()}), horizons "
            f"{', '.join(f'{h:g}' for h in self.horizons)} years; default {self.default!r}"
        )
        return f"{head}\n{table.round(3).to_string(index=False)}"


def _method_names(methods) -> tuple[str, ...]:
    return choose_methods(methods, LFO_METHODS, DEFAULT_LFO_METHODS, "method")


def _needed_fits(methods: Sequence[str]) -> list[str]:
    need: list[str] = []
    for m in methods:
        parts = (
            [DEFAULT_FIT]
            if m == DEFAULT_METHOD
            else list(V02_WEIGHTS)
            if m == "average-0.2"
            else [m]
            if m in TOKEN_MODELS
            else []
        )
        need += [p for p in parts if p not in need]
    return need


@dataclass
class _Forecast:
    """What one method predicts at one origin (None: the method does not predict it).

    ``runs(dates)``: one run's log10 tokens at each date (a :class:`RunPredictive`) and
    the disclosed exact-size runs per year (per draw, or a number), from which the
    window's largest follows; ``largest(dates)``: the largest run itself (frontier methods);
    ``record(ends)``: samples (draw, end) of the compute record observed at each end;
    ``ratio(dates, log10_compute)``: mean (draw, run) and sd of tokens per parameter.
    """

    runs: object = None
    largest: object = None
    record: object = None
    ratio: object = None


def _empirical_rate(known: pd.DataFrame, origin_year: float) -> float:
    """Disclosed exact-size runs (each family's largest) per year, from the year before
    the origin (at least one): what a per-run method's window count uses."""
    targets = _targets(known)
    exact = targets[targets["target"] == "exact"]
    return max(float((exact["year"] >= origin_year - 1.0).sum()), 1.0)


def _forecast(method, fits, known, train, origin_year, seed, rng) -> _Forecast:
    if method == DEFAULT_METHOD:
        return _v3_forecast(fits[DEFAULT_FIT], known, rng)
    if method in TOKEN_MODELS or method == "average-0.2":
        rate = _empirical_rate(known, origin_year)
        if method in TOKEN_MODELS:
            return _Forecast(
                runs=lambda years: (_bayesian_predictive(fits[method], years, N_DRAWS, rng), rate)
            )

        def mixture(years):
            parts = [_bayesian_predictive(fits[n], years, N_DRAWS, rng) for n in V02_WEIGHTS]
            return _mixture(parts, list(V02_WEIGHTS.values()), N_DRAWS, rng), rate

        return _Forecast(runs=mixture)
    if method == "ols":
        rate = _empirical_rate(known, origin_year)
        return _Forecast(runs=lambda years: (_ols_predictive(train, years, N_DRAWS, rng), rate))
    if method == "epoch-bootstrap":
        return _Forecast(largest=lambda years: _epoch_predictive(train, origin_year, years, seed))
    return _naive_forecast(known, train, rng)


def _v3_forecast(fit: DemandFit, known: pd.DataFrame, rng) -> _Forecast:
    """Demand v3 at an origin: disclosed runs' marks and release rate, the record's
    simulation, the tokens per parameter given compute."""
    model = fit.model
    targets = _targets(known)
    disclosed = targets[targets["target"].isin(["exact", "bound"])]
    share_exact = (disclosed["target"] == "exact").mean() if len(disclosed) else 1.0

    def runs(years):
        m = model.disclosed_run_marks(fit, years, N_DRAWS, rng)
        pred = RunPredictive("exgaussian", m["loc"], m["scale"], m["shape"])
        return pred, m["rate"] * share_exact

    def record(ends):
        _, log_flop = model.simulate(fit, ends, N_DRAWS, rng)
        origin_record = float(
            np.log10(known.loc[known["compute_flop"].gt(0), "compute_flop"].max())
        )
        new = log_flop > origin_record + 1e-9
        noisy = log_flop + RECORD_SD_OOM * rng.standard_normal(log_flop.shape)
        return np.where(new, np.maximum(noisy, origin_record), origin_record)

    def ratio(years, log10_compute):
        return model.ratio_predictive(fit, years, log10_compute, N_DRAWS, rng)

    return _Forecast(runs=runs, record=record, ratio=ratio)


def _naive_forecast(known: pd.DataFrame, train: pd.DataFrame, rng) -> _Forecast:
    """The naive rule for the largest run, the compute record (a random walk from the
    record, never below it) and tokens per parameter (the runs of the two years before
    the origin: their median and sd, whatever the compute)."""
    compute_rows = known[known["compute_flop"].gt(0)]
    level, t0, rate, sd = naive_rule(compute_rows, "compute_flop")
    sd = max(sd, 1e-3)

    def record(ends):
        dt_years = np.maximum(np.asarray(ends, dtype=float)[None, :] - t0, 1e-6)
        draws = (
            level
            + rate * dt_years
            + sd * np.sqrt(dt_years) * rng.standard_normal((N_DRAWS, len(ends)))
        )
        return np.maximum(draws, level)

    recent = _ratio_rows(known)
    recent = recent[recent["year"] >= float(known["year"].max()) - 2.0]
    rho = recent["rho"].to_numpy(dtype=float)
    centre = float(np.median(rho)) if len(rho) else float(np.log10(20.0))
    spread = float(rho.std(ddof=1)) if len(rho) > 2 else 0.5

    def ratio(years, log10_compute):
        shape = (N_DRAWS, len(np.atleast_1d(log10_compute)))
        return np.full(shape, centre), np.full((N_DRAWS, 1), max(spread, 1e-3))

    return _Forecast(
        largest=lambda years: _naive_predictive(train, years), record=record, ratio=ratio
    )


def _ratio_rows(models: pd.DataFrame) -> pd.DataFrame:
    """Runs reporting an exact token count and a compute figure that is not an estimate,
    at least demand v3's :data:`~forecast.demand.compute_frontier.RATIO_MIN_COMPUTE`:
    with ``rho`` = log10 tokens per parameter (``6 D^2 / C``)."""
    source = models.get("compute_source", pd.Series("", index=models.index)).fillna("")
    bound = models.get("tokens_bound", pd.Series("exact", index=models.index)).fillna("exact")
    rows = models[
        models["tokens"].gt(0)
        & models["compute_flop"].ge(RATIO_MIN_COMPUTE)
        & source.ne("estimate")
        & bound.eq("exact")
    ]
    tokens = rows["tokens"].to_numpy(dtype=float)
    compute = rows["compute_flop"].to_numpy(dtype=float)
    return rows.assign(rho=np.log10(6.0 * tokens**2 / compute), log10_compute=np.log10(compute))


def study_sampler(sampler: SamplerConfig | None, seed: int) -> SamplerConfig:
    """The NUTS settings :func:`evaluate` fits with: ``sampler``, or the forecast's own
    with ``seed``."""
    return sampler if sampler is not None else SamplerConfig(seed=seed)


def _is_date(value) -> bool:
    """A date :func:`evaluate` takes as an origin: text, a date or a numpy datetime."""
    if not isinstance(value, str | dt.date | np.datetime64):
        return False
    try:
        return not pd.isna(pd.Timestamp(value))
    except (ValueError, TypeError, OverflowError):
        return False


@checked(
    models=checks.frame(
        "load a file first, e.g. forecast.load_models('my_models.csv')",
        columns=("tokens", "date"),
        one_of=(),
    ),
    methods=checks.optional(checks.sequence(checks.text())),
    origins=checks.optional(checks.sequence(checks.accept("a date ('2023-01-01')", _is_date))),
    horizons=checks.sequence(checks.number()),
    sampler=checks.optional(checks.instance(SamplerConfig, "a SamplerConfig")),
    seed=checks.SEED,
    min_history_years=checks.number(0, 100),
    n_boot=checks.integer(1, 1_000_000),
    use_cache=checks.flag(),
    cache_dir=checks.optional(checks.path()),
    data_name=checks.text(),
    progress=checks.optional(checks.function()),
)
def evaluate(
    models: pd.DataFrame,
    methods: Sequence[str] | None = None,
    origins: Sequence | None = None,
    horizons: Sequence[float] = DEFAULT_HORIZONS,
    *,
    sampler: SamplerConfig | None = None,
    seed: int = 0,
    min_history_years: float = MIN_HISTORY_YEARS,
    n_boot: int = 2000,
    use_cache: bool = True,
    cache_dir=None,
    data_name: str = "",
    progress=None,
) -> SkillStudy:
    """Leave-future-out study of ``methods`` (default :data:`DEFAULT_LFO_METHODS`).

    ``models``: a models frame (:func:`forecast.data.load_models`); ``origins``: dates
    (default :func:`default_origins`); ``horizons`` in years (multiples of 0.5).
    ``sampler``: NUTS settings of the Bayesian fits (default: the forecast's own with
    ``seed``); fits are cached like every fit. ``progress``: a callable taking a message,
    called once per origin. Same seed, same numbers.
    """
    from forecast.pipeline import check_inputs

    check_inputs(models)
    chosen = _method_names(methods)
    horizons = tuple(float(h) for h in horizons)
    if not horizons or any(h <= 0 or abs(2 * h - round(2 * h)) > 1e-9 for h in horizons):
        raise ForecastError(f"horizons must be positive multiples of 0.5 years, got {horizons}")
    frame = dated(models)
    origins = tuple(
        pd.Timestamp(o).date() for o in (default_origins(frame) if origins is None else origins)
    )
    if not origins:
        raise DataError("no leave-future-out origin has a later half-year of data", column="date")
    sampler = study_sampler(sampler, seed)
    if "compute_flop" not in frame.columns:
        frame["compute_flop"] = np.nan
    targets = _targets(frame)
    ratio_rows = _ratio_rows(frame)
    fit_names = _needed_fits(chosen)

    last_release = pd.Timestamp(frame["date"].max())
    items, diag, messages = [], [], []
    for i, origin in enumerate(origins):
        o_ts = pd.Timestamp(origin)
        o_year = float(to_decimal_year(o_ts))
        if progress is not None:
            progress(f"origin {origin.isoformat()} ({i + 1}/{len(origins)})")
        known = frame[frame["date"] < o_ts]
        train = known[known["tokens"].gt(0)]
        if len(train) < 3:
            raise DataError(f"origin {origin}: fewer than 3 sized runs before it", column="date")
        history = o_year - float(train["year"].min())
        fits = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortHistoryWarning)
            for name in fit_names:
                fits[name] = fit_cached(
                    MODEL_CLASSES_BY_NAME[name](), known, sampler, cache_dir, use_cache=use_cache
                )
        rows, problems = health_rows(fits, f"{origin.isoformat()} ", origin=origin.isoformat())
        diag += rows
        messages += problems

        windows = []
        for h in horizons:
            start, end = _window(o_ts, h)
            if end > last_release + pd.Timedelta(days=1):
                continue  # the window is not over at the data date: nothing to score yet
            inside = targets[(targets["date"] >= start) & (targets["date"] < end)]
            months = float(to_decimal_year(start)) + (np.arange(WINDOW_MONTHS) + 0.5) / 12.0
            windows.append((h, start, end, inside, months))
        if not windows:
            continue
        ends = np.array([float(to_decimal_year(end)) for *_, end, _, _ in windows])
        for method in chosen:
            # One stream per (seed, origin, method): a method's numbers do not depend on
            # which other methods are in the study.
            stream = np.random.SeedSequence([seed, i, LFO_METHODS.index(method)])
            rng = np.random.default_rng(stream)
            method_seed = int(stream.generate_state(1)[0])
            fc = _forecast(method, fits, known, train, o_year, method_seed, rng)
            records = fc.record(ends) if fc.record is not None else None
            for k, (h, start, end, inside, months) in enumerate(windows):
                base = {
                    "origin": origin.isoformat(),
                    "horizon": h,
                    "method": method,
                    "history_years": history,
                    "window": f"{start.date().isoformat()}..{end.date().isoformat()}",
                }
                exact = inside[inside["target"] == "exact"]
                if len(exact):
                    y = np.log10(exact["tokens"].to_numpy(dtype=float))
                    top = exact.iloc[int(np.argmax(y))]
                    head = {**base, "target": "frontier", "model": top["model"]}
                    head |= {"observed": float(y.max()), "n_runs": len(exact)}
                    if fc.runs is not None:
                        pred, rate = fc.runs(months)
                        window = 0.5 * np.asarray(rate, dtype=float)  # a half-year's runs
                        items.append(
                            {**head, **score_window_max(pred, window, float(y.max()), rng)}
                        )
                        run_pred, _ = fc.runs(exact["year"].to_numpy(dtype=float))
                    else:
                        pred = fc.largest(np.array([ends[k]]))
                        items.append({**head, **score_maximum(pred, float(y.max()), rng)})
                        run_pred = fc.largest(exact["year"].to_numpy(dtype=float))
                    items += _run_items(base, "runs", exact, y, run_pred, rng)
                if records is not None:
                    # The record at the window's end (the origin's when nothing larger came).
                    before = frame[(frame["date"] < end) & frame["compute_flop"].gt(0)]
                    at_origin = known[known["compute_flop"].gt(0)]
                    observed = float(np.log10(before["compute_flop"].max()))
                    origin_record = float(np.log10(at_origin["compute_flop"].max()))
                    top = before.loc[before["compute_flop"].idxmax(), "model"]
                    scores = score_samples(records[:, k], observed, rng, atom=origin_record)
                    items.append(
                        {
                            **base,
                            "target": "compute",
                            "model": top,
                            "observed": observed,
                            "n_runs": 1,
                            **scores,
                        }
                    )
                if fc.ratio is not None:
                    new = ratio_rows[(ratio_rows["date"] >= start) & (ratio_rows["date"] < end)]
                    if len(new):
                        mean, sd = fc.ratio(
                            new["year"].to_numpy(dtype=float), new["log10_compute"].to_numpy()
                        )
                        items += _ratio_items(base, new, mean, sd, rng)

    diagnostics = pd.DataFrame(diag, columns=_DIAGNOSTIC_COLUMNS)
    skipped = int((targets["target"] == "bound").sum())
    if skipped:
        messages.append(f"{skipped} run(s) with only a bound on their size are not scored")
    return study_from_items(
        pd.DataFrame(items),
        chosen,
        origins,
        horizons,
        diagnostics=diagnostics,
        messages=messages,
        min_history_years=min_history_years,
        n_boot=n_boot,
        seed=seed,
        data_name=data_name,
    )


def _ratio_items(base, rows, mean, sd, rng) -> list[dict]:
    """One scored item per run's tokens per parameter (a Normal mixture over draws)."""
    out = []
    observed = rows["rho"].to_numpy(dtype=float)
    for j, (model, y) in enumerate(zip(rows["model"], observed, strict=True)):
        log_score = float(_logmeanexp(stats.norm.logpdf(y, mean[:, j], sd[:, 0])))
        pit = float(stats.norm.cdf(y, mean[:, j], sd[:, 0]).mean())
        samples = mean[:, j] + sd[:, 0] * rng.standard_normal(len(mean))
        scores = _scores(log_score, pit, samples, float(y))
        out.append(
            {**base, "target": "ratio", "model": model, "observed": float(y), "n_runs": 1, **scores}
        )
    return out


def _run_items(base, target, rows, observed, pred, rng) -> list[dict]:
    """One scored item per run of ``rows`` (observed log10 tokens ``observed``; ``pred``
    at their dates)."""
    scores = score_runs(pred, observed, rng)
    return [
        {**base, "target": target, "model": m, "observed": float(y), "n_runs": 1, **s}
        for m, y, s in zip(rows["model"], observed, scores, strict=True)
    ]


_DIAGNOSTIC_COLUMNS = ["origin", "method", "r_hat_max", "ess_bulk_min", "divergences", "healthy"]


def study_from_items(
    items: pd.DataFrame,
    methods: Sequence[str],
    origins: Sequence[dt.date],
    horizons: Sequence[float],
    *,
    diagnostics: pd.DataFrame | None = None,
    messages: Sequence[str] = (),
    min_history_years: float = MIN_HISTORY_YEARS,
    n_boot: int = 2000,
    seed: int = 0,
    data_name: str = "",
) -> SkillStudy:
    """Pool scored items (one row per origin, horizon, method, target, run; columns as
    :attr:`SkillStudy.items`) into a :class:`SkillStudy`: per-origin rows, pooled scores
    with origin-bootstrap intervals and the stacking weights."""
    if items.empty:
        raise DataError(
            "no run released after any origin within the horizons: nothing to score",
            column="date",
        )
    items = items.assign(guarded=items["history_years"] >= min_history_years)
    methods = tuple(methods)
    origins = tuple(origins)
    split, weights, stacking = _stack(items, methods, origins)
    return SkillStudy(
        default=DEFAULT_METHOD if DEFAULT_METHOD in methods else methods[0],
        methods=methods,
        origins=origins,
        horizons=tuple(horizons),
        items=items,
        rows=_group_scores(items, ["origin", "horizon", "method", "target"]),
        pooled=_pooled(items[items["guarded"]], n_boot, seed, methods),
        weights=weights,
        stacking=stacking,
        split=split,
        diagnostics=(
            diagnostics if diagnostics is not None else pd.DataFrame(columns=_DIAGNOSTIC_COLUMNS)
        ),
        messages=list(messages),
        min_history_years=min_history_years,
        data_name=data_name,
    )


_SCORE_AGG = {
    "coverage_50": ("in_50", "mean"),
    "coverage_80": ("in_80", "mean"),
    "coverage_95": ("in_95", "mean"),
    "crps": ("crps", "mean"),
    "log_score": ("log_score", "mean"),
    "width_80": ("width_80", "mean"),
    "n": ("crps", "size"),
    "history_years": ("history_years", "first"),
}


def _group_scores(items: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    out = items.groupby(by, sort=False).agg(**_SCORE_AGG).reset_index()
    return out


def _pooled(items: pd.DataFrame, n_boot: int, seed: int, methods: Sequence[str]) -> pd.DataFrame:
    """Pooled scores per (method, horizon, target) with 95% intervals from a bootstrap
    that resamples origins (clusters) with replacement."""
    rows = []
    rng = np.random.default_rng(seed)
    for (method, horizon, target), g in items.groupby(["method", "horizon", "target"], sort=False):
        origins = g["origin"].unique()
        by_origin = [g[g["origin"] == o] for o in origins]
        sums = np.array(
            [[b["in_80"].sum(), b["crps"].sum(), len(b)] for b in by_origin], dtype=float
        )
        pick = rng.integers(0, len(origins), size=(n_boot, len(origins)))
        boot = sums[pick].sum(axis=1)
        cov_b, crps_b = boot[:, 0] / boot[:, 2], boot[:, 1] / boot[:, 2]
        rows.append(
            {
                "method": method,
                "horizon": horizon,
                "target": target,
                "n": len(g),
                "origins": len(origins),
                "coverage_50": g["in_50"].mean(),
                "coverage_80": g["in_80"].mean(),
                "coverage_95": g["in_95"].mean(),
                "coverage_80_low": float(np.quantile(cov_b, 0.025)),
                "coverage_80_high": float(np.quantile(cov_b, 0.975)),
                "crps": g["crps"].mean(),
                "crps_low": float(np.quantile(crps_b, 0.025)),
                "crps_high": float(np.quantile(crps_b, 0.975)),
                "log_score": g["log_score"].mean(),
                "width_80": g["width_80"].mean(),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    order = {m: i for i, m in enumerate(methods)}
    targets = {t: i for i, t in enumerate(TARGETS)}
    keys = out["method"].map(order) * 1000 + out["target"].map(targets) * 100 + out["horizon"]
    return out.iloc[np.argsort(keys.to_numpy(), kind="stable")].reset_index(drop=True)


def stacking_weights(log_scores: np.ndarray) -> np.ndarray:
    """Weights on the simplex maximising ``sum_i log sum_k w_k exp(log_scores[i, k])``."""
    n_methods = log_scores.shape[1]
    if n_methods == 1:
        return np.ones(1)

    def objective(z):
        w = special.softmax(np.concatenate([[0.0], z]))
        return -special.logsumexp(log_scores + np.log(w)[None, :], axis=1).sum()

    res = optimize.minimize(objective, np.zeros(n_methods - 1), method="BFGS")
    return special.softmax(np.concatenate([[0.0], res.x]))


def _stack(items: pd.DataFrame, methods, origins):
    """Stacking weights from the earlier origins' (a) items whose windows ended by the
    split; the stack and every method scored on the later origins' (a) items."""
    if len(origins) < 4 or len(methods) < 2:
        return None, {}, pd.DataFrame()
    split = origins[len(origins) // 2]
    front = items[(items["target"] == "frontier") & items["guarded"]]
    window_end = pd.to_datetime(front["window"].str.split("..", regex=False).str[1])
    early = front[
        (pd.to_datetime(front["origin"]) < pd.Timestamp(split))
        & (window_end <= pd.Timestamp(split))
    ]
    late = front[pd.to_datetime(front["origin"]) >= pd.Timestamp(split)]
    key = ["origin", "horizon"]

    def matrix(df):
        wide = df.pivot_table(index=key, columns="method", values="log_score")
        return wide.dropna()[list(methods)]

    fit_on = matrix(early)
    if fit_on.empty:
        return split, {}, pd.DataFrame()
    w = stacking_weights(fit_on.to_numpy())
    weights = {m: float(v) for m, v in zip(methods, w, strict=True)}
    test = matrix(late)
    rows = []
    if len(test):
        stack_ls = special.logsumexp(
            test.to_numpy() + np.log(np.maximum(w, 1e-300))[None, :], axis=1
        )
        pit = late.pivot_table(index=key, columns="method", values="pit").loc[test.index][
            list(methods)
        ]
        stack_pit = pit.to_numpy() @ w
        rows.append(
            {
                "method": "stack",
                "n": len(test),
                "log_score": float(stack_ls.mean()),
                "coverage_80": float(np.mean((stack_pit >= 0.1) & (stack_pit <= 0.9))),
            }
        )
        own_ls = late.pivot_table(index=key, columns="method", values="log_score")
        own_cov = late.pivot_table(index=key, columns="method", values="in_80")
        for m in methods:
            rows.append(
                {
                    "method": m,
                    "n": len(test),
                    "log_score": float(own_ls.loc[test.index, m].mean()),
                    "coverage_80": float(own_cov.loc[test.index, m].mean()),
                }
            )
    return split, weights, pd.DataFrame(rows)
