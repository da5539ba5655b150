"""Forecast skill earned out of sample: leave-future-out evaluation at many origins.

:func:`evaluate` refits every method on what was known before each **origin** (every
run released before it, sized or not) and scores what it predicted for the half-year
ending ``horizon`` years later. Origins are every 1 January and 1 July from 2021-07-01
(:data:`FIRST_ORIGIN`) to the last one whose first half-year has data; horizons are
0.5, 1, 2 and 3 years; the target window of (origin, horizon) is the calendar half-year
``[origin + horizon - 0.5, origin + horizon)``.

Targets (each window, each method):

- ``frontier`` (a): the largest disclosed training set released in the window, the
  quantity that meets the stock. Runs are each family's largest disclosed run with an
  exact size (``tokens_bound`` not lower/upper), as in :class:`forecast.demand.damped.DampedFrontierTrend`.
- ``runs`` (b): every such run in the window, one by one.
- ``undisclosed`` (c): the compute-implied log10 tokens of undisclosed runs in the window
  (posterior median of the damped model fitted to all data: a model-derived value, not
  an observation; shown separately, never pooled with (a) or (b)).

Predictives are each method's own, in log10 tokens:

- per-run methods (every Bayesian demand model, OLS) give each run's distribution at its
  date per posterior draw; the window's largest of ``n`` runs then has, per draw, the
  exact density ``sum_i f_i(y) prod_{j != i} F_j(y)`` and CDF ``prod_i F_i(y)``, averaged
  over draws. ``n`` and the dates are those of the window's runs (conditioned on).
- frontier methods (Epoch's bootstrap, the naive rule) predict the largest run itself;
  the window's largest run is scored against their distribution at the window's end.

Scores: the exact log predictive density (natural log, per order of magnitude; higher is
better), the CRPS from 4,000 predictive samples (orders of magnitude; lower is better),
the PIT (predictive CDF at the outcome) and, from it, coverage of the central 50/80/95%
intervals. Pooled scores carry 95% bootstrap intervals that resample origins (items from
one origin share its fit, so they are not independent).

Stacking (Yao et al. 2018): weights over the methods maximising the summed log score of
the (a) items of the **earlier** origins (those before :attr:`SkillStudy.split`) whose
windows ended before the split, then *reported* on the later origins' items, which the
weights never saw.

Choices made before any result was seen: the origins, horizons and targets (set by
issue 15); the naive rule; the 4,000 draws; the split at the middle origin. Nothing here
was tuned on these scores.
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
from forecast.demand.damped import DampedFrontierTrend, exgaussian_logpdf, exgaussian_logsf
from forecast.demand.model import MIN_HISTORY_YEARS, DemandFit, SamplerConfig, health_rows
from forecast.errors import DataError, ForecastError, ShortHistoryWarning
from forecast.evaluation.scores import choose_methods, crps_from_draws
from forecast.registry import DEFAULT_WEIGHTS
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

#: Token-based demand models by name (the compute model predicts FLOP, not tokens).
TOKEN_MODELS: dict[str, type] = {c.name: c for c in MODEL_CLASSES if c.value_column == "tokens"}
#: First leave-future-out origin (issue 15).
FIRST_ORIGIN = dt.date(2021, 7, 1)
#: Horizons in years: the target window ends this long after the origin.
DEFAULT_HORIZONS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0)
#: Central interval levels scored.
LEVELS: tuple[float, ...] = (0.5, 0.8, 0.95)
#: Predictive samples per (origin, method) for CRPS and interval widths.
N_DRAWS = 4000
#: The default demand (its weights are :data:`forecast.demand.DEFAULT_WEIGHTS`).
DEFAULT_METHOD = "default"
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
TARGETS: tuple[str, ...] = ("frontier", "runs", "undisclosed")


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
    """Scores of the largest of the runs at ``pred``'s dates, observed ``observed``."""
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


def naive_rule(train: pd.DataFrame) -> tuple[float, float, float, float]:
    """The naive forecast's parameters: (record log10 tokens, its date, median yearly
    growth of the record in OOM/yr, sd of that yearly growth).

    The record is the largest disclosed run to date; its year-over-year change is taken
    every half-year over the training span. Forecast: a random walk with that drift,
    ``Normal(record + rate (t - t_record), sd sqrt(t - t_record))``.
    """
    rows = train.sort_values("year")
    years = rows["year"].to_numpy(dtype=float)
    values = np.log10(rows["tokens"].to_numpy(dtype=float))
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
        target=checks.text(("frontier", "runs", "undisclosed")),
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
            list(DEFAULT_WEIGHTS)
            if m == DEFAULT_METHOD
            else list(V02_WEIGHTS)
            if m == "average-0.2"
            else [m]
            if m in TOKEN_MODELS
            else []
        )
        need += [p for p in parts if p not in need]
    return need


def _predictives(method, fits, train, origin_year, years, seed, rng) -> RunPredictive:
    if method in TOKEN_MODELS:
        return _bayesian_predictive(fits[method], years, N_DRAWS, rng)
    if method in (DEFAULT_METHOD, "average-0.2"):
        weights = DEFAULT_WEIGHTS if method == DEFAULT_METHOD else V02_WEIGHTS
        parts = [_bayesian_predictive(fits[n], years, N_DRAWS, rng) for n in weights]
        families = {p.family for p in parts}
        if len(parts) == 1:
            return parts[0]
        if len(families) > 1:
            raise ForecastError(f"cannot mix predictives of families {sorted(families)}")
        return _mixture(parts, list(weights.values()), N_DRAWS, rng)
    if method == "ols":
        return _ols_predictive(train, years, N_DRAWS, rng)
    if method == "epoch-bootstrap":
        return _epoch_predictive(train, origin_year, years, seed)
    return _naive_predictive(train, years)


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
    targets = _targets(frame)
    fit_names = _needed_fits(chosen)
    implied = _implied_undisclosed(frame, sampler, use_cache, cache_dir) if fit_names else {}

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
                    TOKEN_MODELS[name](), known, sampler, cache_dir, use_cache=use_cache
                )
        rows, problems = health_rows(fits, f"{origin.isoformat()} ", origin=origin.isoformat())
        diag += rows
        messages += problems

        windows = []
        for h in horizons:
            start, end = _window(o_ts, h)
            inside = targets[(targets["date"] >= start) & (targets["date"] < end)]
            windows.append((h, start, end, inside))
        dates = sorted(
            {float(y) for *_, w in windows for y in w["year"]}
            | {float(to_decimal_year(end)) for _, _, end, _ in windows}
        )
        years = np.array(dates) if dates else np.array([o_year + 0.5])
        col = {y: k for k, y in enumerate(years)}
        for method in chosen:
            # One stream per (seed, origin, method): a method's numbers do not depend on
            # which other methods are in the study.
            stream = np.random.SeedSequence([seed, i, LFO_METHODS.index(method)])
            rng = np.random.default_rng(stream)
            method_seed = int(stream.generate_state(1)[0])
            pred = _predictives(method, fits, train, o_year, years, method_seed, rng)
            for h, start, end, inside in windows:
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
                    at = (
                        [col[float(to_decimal_year(end))]]
                        if method in FRONTIER_METHODS
                        else [col[float(t)] for t in exact["year"]]
                    )
                    top = exact.iloc[int(np.argmax(y))]
                    items.append(
                        {
                            **base,
                            "target": "frontier",
                            "model": top["model"],
                            "observed": float(y.max()),
                            "n_runs": len(exact),
                            **score_maximum(pred.columns(at), float(y.max()), rng),
                        }
                    )
                    items += _run_items(base, "runs", exact, y, pred, col, rng)
                und = inside[inside["model"].isin(list(implied))]
                if len(und):
                    y = np.array([implied[m] for m in und["model"]])
                    items += _run_items(base, "undisclosed", und, y, pred, col, rng)

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


def _run_items(base, target, rows, observed, pred, col, rng) -> list[dict]:
    """One scored item per run of ``rows`` (observed log10 tokens ``observed``)."""
    scores = score_runs(pred.columns([col[float(t)] for t in rows["year"]]), observed, rng)
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


def _implied_undisclosed(frame, sampler, use_cache, cache_dir) -> dict[str, float]:
    """Posterior median log10 tokens of each undisclosed run, damped model on all data."""
    model = DampedFrontierTrend()
    rows = model.select(frame)
    if not (rows["role_frontier"] & ~rows["tokens"].gt(0)).any():
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)
        fit = fit_cached(model, frame, sampler, cache_dir, use_cache=use_cache)
    table = model.undisclosed_table(fit)
    return {str(r["model"]): float(np.log10(r["tokens_median"])) for _, r in table.iterrows()}


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
