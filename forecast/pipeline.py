"""The main path: fit demand once, run scenarios, get results objects.

    >>> import forecast
    >>> models = forecast.load_training_runs()                 # bundled table
    >>> demand = forecast.fit_demand(models)                     # PyMC fits, LOO, average
    >>> result = forecast.run_scenario("baseline", demand)       # exhaustion-date draws

:class:`DemandSet` holds every demand fit (each cached on disk by data hash and
settings), their LOO comparison and the default demand (``average``: demand v2). :func:`run_scenario`
draws joint trajectories of demand and stock on a monthly grid, in chunks, and returns a
:class:`ScenarioResult` with the exhaustion-date distribution and everything the figures
and the report need.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _compat, checks, persist
from forecast import demand as dm
from forecast._version import __version__
from forecast.checks import checked
from forecast.demand import baselines, published
from forecast.demand.compute_frontier import ComputeFrontierTrend
from forecast.demand.feasibility import latency_wall_log10
from forecast.errors import ForecastError, require_type
from forecast.exhaustion import (
    DemandDraws,
    ExhaustionResult,
    epoch_quantile_clipping,
    exhaustion_chunked_shared,
)
from forecast.results import Result
from forecast.scenarios import SCENARIO, Scenario, load_scenario, override_name
from forecast.units import (
    compute_from_tokens,
    monthly_grid,
    tokens_from_compute,
    year_text,
)

#: Quantile levels reported for demand and stock bands (median, 50/80/90/95% intervals).
BAND_LEVELS = {
    "p2_5": 0.025,
    "p5": 0.05,
    "p10": 0.10,
    "p25": 0.25,
    "median": 0.5,
    "p75": 0.75,
    "p90": 0.90,
    "p95": 0.95,
    "p97_5": 0.975,
}
CHUNK_SIZE = 10_000
Progress = Callable[[str], None]


def _silent(_: str) -> None:
    return None


def _fmt3(value: float) -> str:
    return f"{value:.3g}"


@dataclass
class DemandSet(Result):
    """Every demand fit on one models table, their LOO comparison and the average."""

    models: pd.DataFrame
    fits: dict[str, dm.DemandFit]
    comparison: pd.DataFrame
    average: dm.ModelAverage
    epoch_bootstrap: baselines.EpochBootstrap

    def weights(self) -> pd.DataFrame:
        """Per fitted model (index ``model``): ``loo_weight``, the PSIS-LOO stacking weight
        (a diagnostic; NaN for models outside the comparison), and ``default_weight``, its
        weight in the default demand (0 if not in it)."""
        loo = self.comparison.set_index("model")["weight"]
        default = pd.Series(self.average.weights, index=[f.name for f in self.average.fits])
        index = pd.Index(list(self.fits), name="model")
        return pd.DataFrame(
            {
                "loo_weight": loo.reindex(index),
                "default_weight": default.reindex(index).fillna(0.0),
            }
        )

    def summary(self) -> pd.DataFrame:
        """One row per model: growth of tokens (x/yr, 95%), health, LOO weight (a
        diagnostic) and weight in the default demand."""
        rows = pd.concat([f.summary() for f in self.fits.values()], ignore_index=True)
        return rows.join(self.weights(), on="model")

    def _posterior_batch(self, batch: int, n_batches: int) -> DemandSet:
        """This set with every fit's posterior cut to batch ``batch`` of ``n_batches``: the
        chains split into equal consecutive blocks of draws (chains x blocks =
        ``n_batches``; each block is close to independent of the others, the fits' ESS
        being near their draw count). For the batch-means Monte Carlo error
        (:func:`mc_errors`)."""
        fits = {name: _batch_fit(fit, batch, n_batches) for name, fit in self.fits.items()}
        if self.average is None:
            return replace(self, fits=fits)
        average = dm.ModelAverage(
            [fits.get(f.name) or _batch_fit(f, batch, n_batches) for f in self.average.fits],
            self.average.weights,
            name=self.average.name,
        )
        return replace(self, fits=fits, average=average)

    def diagnostics_ok(self) -> bool:
        """True when every fit passes the sampler-health thresholds (r_hat <= 1.01, bulk
        ESS >= 400, no divergences); :meth:`summary` has the numbers per model."""
        return all(f.diagnostics().healthy for f in self.fits.values())

    def to_json_dict(self) -> list[dict]:
        """``forecast fit --json``: per model name, growth, health, LOO and default weight,
        and the rows used (:meth:`forecast.demand.DemandModel.usage`)."""
        out = []
        for _, row in self.summary().iterrows():
            weight = row["loo_weight"]
            fit = self.fits[row["model"]]
            out.append(
                {
                    "name": row["model"],
                    "rows": int(row["rows"]),
                    "growth_per_year": {
                        "median": float(row["growth_per_year"]),
                        "p2_5": float(row["growth_p2_5"]),
                        "p97_5": float(row["growth_p97_5"]),
                    },
                    "r_hat_max": float(row["r_hat_max"]),
                    "ess_bulk_min": float(row["ess_bulk_min"]),
                    "divergences": int(row["divergences"]),
                    "loo_weight": None if pd.isna(weight) else float(weight),
                    "default_weight": float(row["default_weight"]),
                    "healthy": fit.diagnostics().healthy,
                    **fit.model.usage(fit),
                }
            )
        return out

    def __repr__(self) -> str:
        return "DemandSet\n" + self.summary().to_string(index=False, float_format=_fmt3)

    _MARKER = "demand.json"

    @checked(path=checks.path(), overwrite=checks.flag())
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the set to the directory ``path``: one netCDF file per fit
        (:meth:`forecast.demand.DemandFit.save`), the models table, the LOO comparison,
        the default mix and the Epoch bootstrap in ``demand.json``. Atomic; an existing
        directory is replaced only with ``overwrite=True`` and only if it holds a saved
        set. Read it back with :func:`load_demand`; projections are then identical."""
        meta = {
            "format": "forecast.DemandSet",
            "forecast_version": __version__,
            "fits": {name: f"fit_{i}.nc" for i, name in enumerate(self.fits)},
            "average": {
                "name": self.average.name,
                "fits": [fit.name for fit in self.average.fits],  # keys of self.fits
                "weights": [float(w) for w in self.average.weights],
            },
            "comparison": persist.frame_to_json(self.comparison),
            "models": persist.frame_to_json(self.models),
            "epoch_bootstrap": {
                "slopes": persist.array_to_json(self.epoch_bootstrap.slopes),
                "start_year": self.epoch_bootstrap.start_year,
                "start_low": self.epoch_bootstrap.start_low,
                "start_high": self.epoch_bootstrap.start_high,
            },
        }

        def fill(tmp: Path) -> None:
            for name, file in meta["fits"].items():
                self.fits[name].save(tmp / file)
            text = json.dumps(meta, default=persist.json_default, allow_nan=False, indent=1)
            (tmp / self._MARKER).write_text(text, encoding="utf-8")

        return persist.write_directory_atomic(path, fill, marker=self._MARKER, overwrite=overwrite)

    def to_dict(self) -> dict:
        """JSON-safe summary: ``{"fits": [...]}``, one entry per model as
        :meth:`to_json_dict`. The exact form is :meth:`save` (posteriors as netCDF)."""
        return {"fits": self.to_json_dict()}

    @classmethod
    def from_dict(cls, payload: dict) -> DemandSet:
        """Not available: a set's posteriors are not JSON; use :meth:`save` and
        :func:`load_demand`."""
        raise ForecastError(
            "a DemandSet is stored with DemandSet.save(path) and read with "
            "forecast.load_demand(path) (its posteriors are netCDF files, not JSON)"
        )


#: Argument kinds of the main path (forecast.checks).
_LOAD_HINT = "load a file first, e.g. forecast.load_models('my_models.csv')"
MODELS = checks.optional(checks.frame(_LOAD_HINT))
DEMAND = checks.optional(
    checks.instance(DemandSet, "a DemandSet", "fit it with forecast.fit_demand(models)")
)


@checked(path=checks.path())
def load_demand(path: str | Path) -> DemandSet:
    """Read a set written by :meth:`DemandSet.save` (no sampling; same projections)."""
    path = Path(path).expanduser()
    meta = persist.read_json_file(path / DemandSet._MARKER, "forecast.DemandSet")
    try:
        fits = {name: dm.load_fit(path / file) for name, file in meta["fits"].items()}
        avg = meta["average"]
        average = dm.ModelAverage([fits[n] for n in avg["fits"]], avg["weights"], avg["name"])
        boot = meta["epoch_bootstrap"]
        epoch = baselines.EpochBootstrap(
            slopes=persist.array_from_json(boot["slopes"]),
            start_year=boot["start_year"],
            start_low=boot["start_low"],
            start_high=boot["start_high"],
        )
        models = persist.frame_from_json(meta["models"])
        comparison = persist.frame_from_json(meta["comparison"])
    except KeyError as exc:
        raise ForecastError(f"{path}: saved demand set is missing {exc}") from None
    return DemandSet(models, fits, comparison, average, epoch)


@checked(path=checks.path())
def load_result(path: str | Path) -> ScenarioResult:
    """Read a result written by :meth:`ScenarioResult.save`."""
    return ScenarioResult.from_json(Path(path))


def demand_models_needed(scenario: Scenario) -> tuple[str, ...]:
    """Names of the demand fits a scenario's projection uses (none for Epoch 2022's):
    :func:`forecast.registry.fits_used`."""
    from forecast.registry import fits_used

    return fits_used(scenario.demand.model)


@checked(
    models=MODELS,
    sampler=checks.optional(
        checks.instance(dm.SamplerConfig, "a SamplerConfig", "use forecast.SamplerConfig(...)")
    ),
    names=checks.optional(
        checks.either(
            checks.text(), checks.sequence(checks.text()), what="'all', a name or a list of names"
        )
    ),
    cache_dir=checks.optional(checks.path()),
    use_cache=checks.flag(),
    progress=checks.progress(),
)
def fit_demand(
    models: pd.DataFrame | None = None,
    sampler: dm.SamplerConfig | None = None,
    *,
    names: Sequence[str] | str | None = None,
    cache_dir=None,
    use_cache: bool = True,
    progress: Progress = _silent,
) -> DemandSet:
    """Fit the demand models and the default mix.

    ``names``: which models (:data:`forecast.demand.MODEL_CLASSES` names) to fit, or
    ``"all"``; default: the default demand's model only (demand v3). The default mix's
    models are always fitted; the PSIS-LOO comparison is
    made when every model in :data:`forecast.demand.LOO_MODELS` is fitted (else it is an
    empty table). Fits are cached on disk (see :func:`forecast.demand.fit_cached`) and
    reused when the data, settings and package version match; ``use_cache=False`` always
    samples.
    """
    from forecast.data import load_training_runs

    models = load_training_runs() if models is None else models
    check_inputs(models)
    require_type(
        sampler, (dm.SamplerConfig, type(None)), "sampler", "use forecast.SamplerConfig(...)"
    )
    sampler = sampler or dm.SamplerConfig()
    classes = {cls.name: cls for cls in dm.MODEL_CLASSES}
    if names == "all":
        names = list(classes)
    elif isinstance(names, str):
        names = [names]
    wanted = {*(names or ()), *dm.DEFAULT_WEIGHTS}
    unknown = sorted(wanted - set(classes))
    if unknown:
        raise ForecastError(
            f"unknown demand model(s) {', '.join(unknown)}; known: {', '.join(classes)}"
        )
    fits: dict[str, dm.DemandFit] = {}
    for model in (cls() for name, cls in classes.items() if name in wanted):
        cached = (
            use_cache
            and dm.cache_path(model, dm.fit_key(model, models, sampler), cache_dir).exists()
        )
        progress(f"{'reading the cached fit of' if cached else 'fitting'} {model.label}")
        fits[model.name] = dm.fit_cached(model, models, sampler, cache_dir, use_cache=use_cache)
    if set(dm.LOO_MODELS) <= set(fits):
        comparison = dm.compare_cached(
            [fits[name] for name in dm.LOO_MODELS], cache_dir, use_cache=use_cache
        )
    else:
        comparison = dm.empty_comparison()
    average = dm.ModelAverage.default(fits)
    boot = baselines.epoch_bootstrap(models, seed=sampler.seed)
    return DemandSet(models, fits, comparison, average, boot)


# --- demand projections for a scenario -------------------------------------------------------


def _log10_flop(fit: dm.DemandFit, years: np.ndarray, n: int, seed: int) -> np.ndarray:
    """A compute-trend fit's log10 FLOP draws (the draws :meth:`DemandFit.project` turns
    into tokens: same seed, same draws), clipped as projections are."""
    raw = fit.model.project_log10(fit, years, n, np.random.default_rng(seed))
    return np.clip(raw, 0.0, dm.MAX_LOG10, out=raw)


def demand_projector(scenario: Scenario, demand: DemandSet | None) -> ScenarioDemand:
    """The scenario's demand: ``f(years, n, seed) -> (n, len(years))`` tokens, also a
    :class:`~forecast.registry.Projector` (``f.project(years, n_draws, seed)``);
    ``f.with_compute(years, n, seed)`` gives the tokens with the compute behind them (a
    :class:`~forecast.exhaustion.DemandDraws`): the largest run's own for compute-based
    demand, ``6 D^2 / r`` at the scenario's tokens per parameter (default 20) for token
    trends."""
    spec = scenario.demand
    if spec.model not in PUBLISHED_DEMAND and demand is None:
        raise ForecastError(f"scenario '{scenario.name}' needs fitted demand (fit_demand)")
    missing = [
        n for n in demand_models_needed(scenario) if demand is not None and n not in demand.fits
    ]
    if missing:
        raise ForecastError(
            f"scenario '{scenario.name}' needs the demand fit(s) {', '.join(missing)}, which "
            f"this demand set does not have: fit_demand(models, names={missing!r})"
        )
    ratio = spec.chinchilla_ratio()

    def chinchilla(log10_flop: np.ndarray, years: np.ndarray) -> DemandDraws:
        # Overtraining applies here and in demand v3 only: compute-based demand assumes a
        # tokens-per-parameter ratio; token trends already contain the industry's move to
        # overtraining (DemandSpec refuses the lever for them).
        flop = np.power(10.0, log10_flop)
        boost = np.where(years >= spec.overtraining_from, spec.overtraining, 1.0)
        return DemandDraws(tokens_from_compute(flop, ratio * boost[None, :]), flop)

    def implied(tokens: np.ndarray) -> DemandDraws:
        return DemandDraws(tokens, compute_from_tokens(tokens, ratio))

    def v3(fit):
        def draws(years, n, seed):
            rng = np.random.default_rng(seed)
            log_tokens, log_flop = fit.model.simulate(fit, years, n, rng, spec.compute_levers())
            np.clip(log_tokens, 0.0, dm.MAX_LOG10, out=log_tokens)
            return DemandDraws(np.power(10.0, log_tokens), np.power(10.0, log_flop))

        return draws

    def compute_trend(years, n, seed):
        return chinchilla(_log10_flop(demand.fits["compute"], years, n, seed), years)

    def epoch2024(years, n, seed):
        # Equal mixture (P24 Eq. 4) of the bootstrap trend and the compute projection; the
        # halves use their own seeds, so the permutation can be drawn first.
        rng = np.random.default_rng(seed)
        n_hist = rng.binomial(n, 0.5)
        s1, s2 = rng.integers(0, 2**32, size=2)

        def halves():
            hist = implied(demand.epoch_bootstrap.project(years, n_hist, int(s1)).to_numpy())
            comp = chinchilla(published.epoch2024_compute(years, n - n_hist, int(s2)), years)
            for part in (hist, comp):
                yield np.concatenate([part.tokens, part.compute], axis=1)

        both = dm.shuffled_rows(halves(), rng.permutation(n), 2 * len(years))
        return DemandDraws(both[:, : len(years)], both[:, len(years) :])

    def fitted(years, n, seed):
        return implied(demand.fits[spec.model].project(years, n, seed).to_numpy())

    default = _default_fit(demand) if spec.model == "default" and demand is not None else None
    special = {
        "epoch2022": lambda years, n, seed: implied(published.epoch2022_tokens(years, n, seed)),
        "epoch2030": lambda years, n, seed: chinchilla(
            published.epoch2030_compute(years, n, seed), years
        ),
        "compute": compute_trend,
        "epoch2024": epoch2024,
    }
    if spec.model == "default":
        draws = (
            v3(default)
            if isinstance(getattr(default, "model", None), ComputeFrontierTrend)
            else (lambda years, n, seed: implied(demand.average.project(years, n, seed).to_numpy()))
        )
    elif spec.model == "compute-frontier":
        draws = v3(demand.fits["compute-frontier"])
    else:
        draws = special.get(spec.model, fitted)
    return ScenarioDemand(scenario.name, draws)


#: Demand projections that need no fitted demand set.
PUBLISHED_DEMAND = ("epoch2022", "epoch2030")


def _default_fit(demand: DemandSet) -> dm.DemandFit | None:
    """The default demand's one fit, when the default is a single model (None for a mix)."""
    fits = demand.average.fits
    return fits[0] if len(fits) == 1 else None


@dataclass(frozen=True)
class ScenarioDemand:
    """A scenario's demand projection (a :class:`forecast.registry.Projector`): calling it
    gives a plain ``(n, len(years))`` array of tokens, :meth:`project` the same draws as a
    DataArray with dims ``("draw", "year")``, :meth:`with_compute` the tokens and the
    compute behind them."""

    name: str
    _draws: Callable[[np.ndarray, int, int], DemandDraws]

    def with_compute(self, years, n: int, seed: int) -> DemandDraws:
        """Tokens and the largest run's compute (FLOP), each ``(n, len(years))``."""
        return self._draws(np.asarray(years, dtype=float), n, seed)

    def __call__(self, years, n: int, seed: int) -> np.ndarray:
        return self.with_compute(years, n, seed).tokens

    def project(self, years, n_draws: int = 4000, seed: int | None = 0) -> xr.DataArray:
        """Token draws at decimal ``years``, dims ``("draw", "year")``."""
        y = np.asarray(years, dtype=float)
        values = self(y, n_draws, seed)
        return xr.DataArray(
            values,
            dims=("draw", "year"),
            coords={"draw": np.arange(values.shape[0]), "year": y},
            name="tokens",
            attrs={"units": "tokens", "model": self.name},
        )


# --- results -----------------------------------------------------------------------------


def _bands(values: np.ndarray, years: np.ndarray) -> pd.DataFrame:
    q = np.quantile(values, list(BAND_LEVELS.values()), axis=0)
    frame = pd.DataFrame(q.T, columns=list(BAND_LEVELS))
    frame.insert(0, "year", years)
    return frame


@dataclass
class ScenarioResult(Result):
    """Everything one scenario run produced. Tokens everywhere; years are decimal years.

    - ``exhaustion``: per-draw exhaustion dates (:class:`ExhaustionResult`).
    - ``demand_bands`` / ``stock_bands``: quantiles by year (columns ``BAND_LEVELS``).
    - ``stock_steps``: the stock's adjustment steps (waterfall) at ``stock_step_years``.
    - ``epoch_procedure``: Epoch's quantile-clipping summary on the same marginals.
    """

    scenario: Scenario
    exhaustion: ExhaustionResult
    demand_bands: pd.DataFrame
    stock_bands: pd.DataFrame
    stock_steps: pd.DataFrame
    demand_growth_oom: np.ndarray
    epoch_procedure: dict
    models: pd.DataFrame
    diagnostics: pd.DataFrame
    seed: int
    draws: int
    #: Quantiles by year of the largest run's training compute behind each demand draw
    #: (FLOP; columns as ``demand_bands``): its own for compute-based demand, 6 D^2 / r at
    #: the scenario's tokens per parameter for token trends.
    compute_bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Demand v3 with its feasibility ceiling only: per whole year of the bands, the share
    #: of draws whose frontier compute is held at the ceiling (``at_ceiling``) and at the
    #: latency wall (``at_latency_wall``). Empty for other demand.
    ceiling_shares: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Total Monte Carlo error (years, one standard error) of the median and interval ends
    #: (:func:`mc_errors`): posterior sampling and projection together; ``batches``: how
    #: many batches it was estimated from. Empty when not estimated.
    mc_error: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The scenario's name (renamed when levers were overridden)."""
        return self.scenario.name

    @property
    def data_date(self) -> str:
        """Release date of the latest training run in the data, ISO ``YYYY-MM-DD``."""
        return pd.Timestamp(self.models["date"].max()).date().isoformat()

    @property
    def reliable(self) -> bool:
        """False when any demand fit failed the sampler-health thresholds."""
        if self.diagnostics.empty:
            return True
        return bool(self.diagnostics["healthy"].all())

    def exhaustion_year(self) -> dict:
        """Exhaustion date in decimal years: ``median``, ``p10``/``p90`` (80% interval) and
        ``p2_5``/``p97_5`` (95% interval); None = after the horizon."""
        q = self.exhaustion.quantiles()
        return {k: persist.json_float(q.get(k)) for k in ("median", "p10", "p90", "p2_5", "p97_5")}

    @checked(year=checks.number())
    def stock_at(self, year: float) -> dict:
        """Effective stock in tokens at the band year nearest ``year`` (decimal year):
        ``median``, ``p5`` and ``p95`` (90% interval)."""
        row = self.stock_bands.iloc[(self.stock_bands["year"] - year).abs().argmin()]
        return {"median": float(row["median"]), "p5": float(row["p5"]), "p95": float(row["p95"])}

    def compute_by_year(self) -> dict:
        """The largest run's training compute behind the demand draws, FLOP, at each whole
        year of the bands: ``{year: {median, p10, p90}}``."""
        bands = self.compute_bands
        if bands.empty:
            return {}
        whole = bands[np.isclose(bands["year"] % 1.0, 0.0)]
        return {
            str(int(r["year"])): {
                "median": float(r["median"]),
                "p10": float(r["p10"]),
                "p90": float(r["p90"]),
            }
            for r in whole.to_dict(orient="records")
        }

    def mc_error_json(self) -> dict | None:
        """:attr:`mc_error` for JSON (None when not estimated), with what it means."""
        if not self.mc_error:
            return None
        out = {k: persist.json_float(self.mc_error.get(k)) for k in MC_STATISTICS}
        out["batches"] = int(self.mc_error.get("batches", 0))
        out["meaning"] = (
            "one standard error of each statistic from Monte Carlo sampling (years for the "
            "median and interval ends, fractions for the probability and shares; the "
            "posterior's draws and the projection's together, by batch means): a fresh fit "
            "and run, e.g. on another machine, differs by about this much"
        )
        return out

    def ceiling_share_by_year(self) -> dict:
        """``{year: {at_ceiling, at_latency_wall}}``: shares of demand draws whose frontier
        compute is held at the feasibility ceiling, and at the latency wall ({} when the
        demand has no ceiling)."""
        return {
            str(int(r["year"])): {
                "at_ceiling": float(r["at_ceiling"]),
                "at_latency_wall": float(r["at_latency_wall"]),
            }
            for r in self.ceiling_shares.to_dict(orient="records")
        }

    def to_json_dict(self) -> dict:
        """The ``forecast run --json`` / ``summary.json`` schema."""
        growth = 10 ** np.quantile(self.demand_growth_oom, [0.5, 0.025, 0.975])
        as_of = pd.Timestamp(self.data_date).year  # the data's date, not the clock's
        stock_years = sorted({int(self.scenario.start), as_of, 2030})
        prob = self.exhaustion.prob_exhausted_by()
        published = {k: v for k, v in self.scenario.published.items()}
        return {
            "scenario": self.name,
            "description": self.scenario.description,
            "exhaustion_year": self.exhaustion_year(),
            "mc_error": self.mc_error_json(),
            "prob_exhausted_by": {str(int(y)): persist.json_float(p) for y, p in prob.items()},
            "not_exhausted_by_horizon": float(self.exhaustion.not_exhausted_share),
            "already_exhausted_at_start": float(self.exhaustion.already_exhausted_share),
            "horizon": self.scenario.horizon,
            "start": self.scenario.start,
            "stock_tokens": {str(y): self.stock_at(y) for y in stock_years},
            "demand_growth_per_year": {
                "median": float(growth[0]),
                "p2_5": float(growth[1]),
                "p97_5": float(growth[2]),
            },
            "at_crossing": persist.json_records(self.exhaustion.at_crossing()),
            "demand_compute_flop": self.compute_by_year(),
            "latency_wall_flop": 10.0 ** latency_wall_log10(),
            "feasibility_ceiling_share": self.ceiling_share_by_year(),
            "epoch_procedure": {k: persist.json_float(v) for k, v in self.epoch_procedure.items()},
            "published": published or None,
            "demand_model": self.scenario.demand.model,
            "stock_model": self.scenario.stock.model,
            "reliable": self.reliable,
            "diagnostics": persist.json_records(self.diagnostics),
            "draws": self.draws,
            "seed": self.seed,
            "data_date": self.data_date,
            "data_rows": len(self.models),
            "version": __version__,
            "intervals": (
                "p10-p90 is the central 80% and p2_5-p97_5 the central 95% of joint draws of "
                "demand and stock: the probability, under the model's assumptions, that the "
                "date falls inside. Null = after the horizon."
            ),
        }

    @checked(levels=checks.optional(checks.LEVELS))
    def summary(self, levels: Sequence[float] | None = None) -> pd.DataFrame:
        """One row per statistic, columns ``statistic``, ``value`` (numeric), ``unit``,
        ``note``: the exhaustion date's median and the ends of the central ``levels``
        intervals (default 80% and 95%; NaN = after the horizon), the shares not exhausted
        and already exhausted, the stock and demand at the crossing, the demand's growth
        factor per year, the published median if the scenario reproduces one, and a
        ``WARNING`` row when a demand fit failed the sampler-health thresholds."""
        frame = self.exhaustion.summary(levels)
        rows = [
            (
                "demand_growth_per_year_median",
                float(10 ** np.median(self.demand_growth_oom)),
                "x/year",
                "largest run's growth factor over the first five years",
            )
        ]
        if self.scenario.published.get("median") is not None:
            rows.append(
                (
                    "published_median",
                    float(self.scenario.published["median"]),
                    "decimal year",
                    self.scenario.published.get("source", "published analysis"),
                )
            )
        if not self.reliable:
            rows.append(("WARNING", math.nan, "", "sampler health failed: see diagnostics"))
        extra = pd.DataFrame(rows, columns=list(frame.columns))
        return pd.concat([frame, extra], ignore_index=True)

    def _text_table(self) -> pd.DataFrame:
        """The short text table of ``repr``: quantiles, shares, published numbers."""
        ey = self.exhaustion_year()
        rows = [
            ("exhaustion year, median", None if ey["median"] is None else round(ey["median"], 2)),
            ("80% interval (p10-p90)", _interval(ey["p10"], ey["p90"])),
            ("95% interval (p2.5-p97.5)", _interval(ey["p2_5"], ey["p97_5"])),
            ("P(not exhausted by horizon)", round(self.exhaustion.not_exhausted_share, 3)),
            ("P(already exhausted at start)", round(self.exhaustion.already_exhausted_share, 3)),
            (
                "demand growth, x/year (median)",
                round(float(10 ** np.median(self.demand_growth_oom)), 2),
            ),
        ]
        if self.scenario.published:
            pub = self.scenario.published
            rows.append(("published median", pub.get("median")))
        if not self.reliable:
            rows.append(("WARNING", "sampler health failed: see diagnostics"))
        return pd.DataFrame(rows, columns=["statistic", self.name])

    def __repr__(self) -> str:
        return f"ScenarioResult '{self.name}'\n" + self._text_table().to_string(index=False)

    # -- saving and loading: exact round trip ------------------------------------------------

    _FORMAT = "forecast.ScenarioResult"

    def to_json(self) -> str:
        """Everything in the result as JSON text; :meth:`from_json` reads it back equal
        (per-draw arrays exact: zlib-compressed float64 in base64). About 3.2 MB for
        100,000 draws."""
        return json.dumps(self.to_dict(), default=persist.json_default, allow_nan=False)

    def to_dict(self) -> dict:
        """Everything in the result as a JSON-safe dict (:meth:`to_json`'s content);
        :meth:`from_dict` reads it back equal. ``to_json_dict`` is the short summary."""
        ex = self.exhaustion
        payload = {
            "format": self._FORMAT,
            "forecast_version": __version__,
            "scenario": self.scenario.to_dict(),
            "scenario_source": self.scenario.source,
            "exhaustion": {
                "years": persist.array_to_json(ex.years),
                "exhaustion_year": persist.array_to_json(ex.exhaustion_year),
                "already_exhausted": persist.array_to_json(ex.already_exhausted),
                "stock_at_crossing": persist.array_to_json(ex.stock_at_crossing),
                "demand_at_crossing": persist.array_to_json(ex.demand_at_crossing),
                "compute_at_crossing": (
                    None
                    if ex.compute_at_crossing is None
                    else persist.array_to_json(ex.compute_at_crossing)
                ),
                "horizon": float(ex.horizon),
            },
            "demand_bands": persist.frame_to_json(self.demand_bands),
            "compute_bands": persist.frame_to_json(self.compute_bands),
            "ceiling_shares": persist.frame_to_json(self.ceiling_shares),
            "mc_error": {k: persist.json_float(v) for k, v in self.mc_error.items()},
            "stock_bands": persist.frame_to_json(self.stock_bands),
            "stock_steps": persist.frame_to_json(self.stock_steps),
            "demand_growth_oom": persist.array_to_json(self.demand_growth_oom),
            "epoch_procedure": self.epoch_procedure,
            "models": persist.frame_to_json(self.models),
            "diagnostics": persist.frame_to_json(self.diagnostics),
            "seed": int(self.seed),
            "draws": int(self.draws),
        }
        return payload

    @classmethod
    @checked(source=checks.path("JSON text or the path of a saved result"))
    def from_json(cls, source: str | Path) -> ScenarioResult:
        """A result from :meth:`to_json` text or from a file written by :meth:`save`."""
        if isinstance(source, Path) or not str(source).lstrip().startswith("{"):
            return cls.from_dict(persist.read_json_file(source, cls._FORMAT))
        return cls.from_dict(json.loads(source))

    @classmethod
    @checked(payload=checks.instance(dict, "a dict (from to_dict)"))
    def from_dict(cls, payload: dict) -> ScenarioResult:
        """A result from :meth:`to_dict` (exact)."""
        from forecast.scenarios import from_dict

        if not isinstance(payload, dict) or payload.get("format") != cls._FORMAT:
            raise ForecastError(f"not a {cls._FORMAT} object")
        try:
            e = payload["exhaustion"]
            exhaustion = ExhaustionResult(
                years=persist.array_from_json(e["years"]),
                exhaustion_year=persist.array_from_json(e["exhaustion_year"]),
                already_exhausted=persist.array_from_json(e["already_exhausted"]),
                stock_at_crossing=persist.array_from_json(e["stock_at_crossing"]),
                demand_at_crossing=persist.array_from_json(e["demand_at_crossing"]),
                horizon=float(e["horizon"]),
                compute_at_crossing=(
                    None
                    if e.get("compute_at_crossing") is None
                    else persist.array_from_json(e["compute_at_crossing"])
                ),
            )
            return cls(
                scenario=from_dict(
                    payload["scenario"], source=payload.get("scenario_source", "<saved result>")
                ),
                exhaustion=exhaustion,
                demand_bands=persist.frame_from_json(payload["demand_bands"]),
                compute_bands=(
                    persist.frame_from_json(payload["compute_bands"])
                    if "compute_bands" in payload
                    else pd.DataFrame()
                ),
                mc_error={
                    k: (math.nan if v is None else v)
                    for k, v in (payload.get("mc_error") or {}).items()
                },
                ceiling_shares=(
                    persist.frame_from_json(payload["ceiling_shares"])
                    if "ceiling_shares" in payload
                    else pd.DataFrame()
                ),
                stock_bands=persist.frame_from_json(payload["stock_bands"]),
                stock_steps=persist.frame_from_json(payload["stock_steps"]),
                demand_growth_oom=persist.array_from_json(payload["demand_growth_oom"]),
                epoch_procedure=payload["epoch_procedure"],
                models=persist.frame_from_json(payload["models"]),
                diagnostics=persist.frame_from_json(payload["diagnostics"]),
                seed=int(payload["seed"]),
                draws=int(payload["draws"]),
            )
        except KeyError as exc:
            raise ForecastError(f"saved result is missing {exc}") from None

    @checked(path=checks.path(), overwrite=checks.flag())
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_json` to ``path`` (atomic; an existing file only with
        ``overwrite=True``). Read it back with :meth:`from_json` or ``forecast.load_result``."""
        return persist.write_text_atomic(path, self.to_json(), overwrite=overwrite)

    def _title(self) -> str:
        return f"ScenarioResult: {self.name}"


def _interval(lo, hi) -> str:
    return f"{year_text(lo)} - {year_text(hi)}"


def diagnostics_frame(demand: DemandSet | None, used: Sequence[str] = ()) -> pd.DataFrame:
    """Health of the fits ``used`` (the scenario's projection): a fit the scenario does not
    use says nothing about its numbers (0.8.1 listed every fit of the set)."""
    fits = {} if demand is None else {n: f for n, f in demand.fits.items() if n in used}
    if not fits:
        return pd.DataFrame(
            columns=["model", "r_hat_max", "ess_bulk_min", "divergences", "healthy"]
        )
    rows = []
    for name, fit in fits.items():
        d = fit.diagnostics()
        rows.append({"model": name, **d.as_dict(), "problems": "; ".join(d.problems)})
    return pd.DataFrame(rows)


def check_inputs(models=None, demand=None) -> None:
    """One clear error (with a hint) when an entry point is given something other than a
    models table (pandas DataFrame) or a fitted :class:`DemandSet`; None passes."""
    if models is not None:
        require_type(models, pd.DataFrame, "models", _LOAD_HINT)
    require_type(
        demand, (DemandSet, type(None)), "demand", "fit it with forecast.fit_demand(models)"
    )


def _prepare(scenario, demand, draws, seed, models, progress, overrides, name=None):
    check_inputs(models, demand)
    scenario = load_scenario(scenario)
    changes = dict(overrides)
    if draws is not None:
        changes["draws"] = int(draws)
    if seed is not None:
        changes["seed"] = int(seed)
    if name is not None or changes:
        changes["name"] = name if name is not None else override_name(scenario.name, changes)
        scenario = scenario.with_overrides(**changes)
    if demand is None and scenario.demand.model != "epoch2022":
        demand = fit_demand(models, names=demand_models_needed(scenario), progress=progress)
    return _at_data_date(scenario, demand, models), demand


def _models_or_default(models: pd.DataFrame | None, demand: DemandSet | None) -> pd.DataFrame:
    """``models``, else the demand set's table, else the bundled one."""
    if models is not None:
        return models
    if demand is not None:
        return demand.models
    from forecast.data import load_training_runs

    return load_training_runs()


def _at_data_date(scenario: Scenario, demand: DemandSet | None, models=None) -> Scenario:
    """Resolve ``start = "data"`` to the latest run's release date (decimal year)."""
    if not isinstance(scenario.start, str):
        return scenario
    if demand is not None:
        models = demand.models
    if models is None:
        from forecast.data import load_training_runs

        models = load_training_runs()
    return scenario.at_data_date(float(models["year"].max()))


def _stock_model(scenario: Scenario, stock=None):
    """The scenario's stock model, or the user's: a stock model object (anything with
    ``sample_parameters``, ``trajectories`` and ``sample_components``, such as
    :class:`forecast.stock.Epoch2024Stock`) or the path of an estimates table, which
    replaces the bundled one under the scenario's levers."""
    if stock is None:
        return scenario.stock.build()
    if isinstance(stock, str | Path):
        return replace(scenario.stock, estimates=str(Path(stock).expanduser())).build()
    needed = ("sample_parameters", "trajectories", "sample_components")
    missing = [m for m in needed if not callable(getattr(stock, m, None))]
    if missing:
        raise ForecastError(
            f"stock must be a stock model (e.g. forecast.Epoch2024Stock(...)) or the path of "
            f"an estimates CSV; {type(stock).__name__} has no {', '.join(missing)}"
        )
    return stock


def simulate_exhaustion(
    scenario: Scenario, demand: DemandSet | None, stock=None
) -> ExhaustionResult:
    """The exhaustion-date draws alone: joint demand and stock trajectories on a monthly
    grid from ``scenario.start`` to ``scenario.horizon``, first crossing per draw, in
    chunks of 10,000 draws (same scenario seed, same numbers). ``stock``: see
    :func:`run_scenario`."""
    return simulate_exhaustions([scenario], demand, [stock])[0]


def _check_workers(workers) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ForecastError(f"workers must be a positive integer, got {workers!r}")


def simulate_exhaustions(
    scenarios: Sequence[Scenario],
    demand: DemandSet | None,
    stocks: Sequence | None = None,
    *,
    progress: Progress = _silent,
    workers: int = 1,
) -> list[ExhaustionResult]:
    """:func:`simulate_exhaustion` for each scenario, the same numbers, in less time: the
    scenarios whose demand draws are the same (same demand spec, start, horizon, draws and
    seed: typically levers on the stock only) share each chunk's demand draws, which are
    drawn once instead of once per scenario. Memory stays one chunk of demand and one of
    stock. ``stocks``: one entry per scenario (None = the scenario's own stock model);
    ``workers`` > 1 runs the groups of scenarios in threads (same numbers)."""
    _check_workers(workers)
    scenarios = [_at_data_date(s, demand) for s in scenarios]
    stocks = [None] * len(scenarios) if stocks is None else list(stocks)
    if len(stocks) != len(scenarios):
        raise ForecastError(f"{len(stocks)} stocks for {len(scenarios)} scenarios")
    stock_models = [_stock_model(sc, st) for sc, st in zip(scenarios, stocks, strict=True)]
    groups: dict[tuple, list[int]] = {}
    for i, sc in enumerate(scenarios):
        key = (sc.demand, float(sc.start), float(sc.horizon), int(sc.draws), sc.seed)
        groups.setdefault(key, []).append(i)
    results: list[ExhaustionResult | None] = [None] * len(scenarios)

    def run_group(members: list[int]) -> None:
        first = scenarios[members[0]]
        if len(members) > 1:
            progress(
                f"{len(members)} scenarios share demand '{first.demand.model}': "
                f"{first.draws:,} joint draws each"
            )
        project = demand_projector(first, demand)
        # The grid starts at the start date itself (the data date by default), so "already
        # exhausted" means exhausted at that date, then runs on the first of each month.
        grid = np.union1d([first.start], monthly_grid(first.start, first.horizon))

        def sample_chunk(n: int, chunk_seed: int):
            seeds = np.random.SeedSequence(chunk_seed).generate_state(2)
            d = project.with_compute(grid, n, int(seeds[0]))
            for part in d:
                part.flags.writeable = False  # shared by the group's scenarios: never changed

            def stocks():
                for i in members:
                    model = stock_models[i]
                    yield model.trajectories(model.sample_parameters(n, int(seeds[1])), grid)

            return d, stocks()

        shared = exhaustion_chunked_shared(
            grid,
            sample_chunk,
            len(members),
            first.draws,
            chunk_size=CHUNK_SIZE,
            seed=first.seed,
        )
        for i, result in zip(members, shared, strict=True):
            results[i] = result

    # Set here, not in the threads: the filters are process-wide.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if workers == 1 or len(groups) < 2:
            for members in groups.values():
                run_group(members)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run_group, groups.values()))
    return results


@checked(
    scenario=SCENARIO,
    demand=DEMAND,
    draws=checks.optional(checks.DRAWS),
    seed=checks.optional(checks.SEED),
    models=MODELS,
    progress=checks.progress(),
    name=checks.optional(checks.text()),
    stock=checks.unchecked("a stock model or an estimates path: _stock_model says which"),
    mc_error=checks.flag(),
)
def run_scenario(
    scenario: str | Scenario,
    demand: DemandSet | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    models: pd.DataFrame | None = None,
    progress: Progress = _silent,
    name: str | None = None,
    stock=None,
    mc_error: bool = True,
    **overrides,
) -> ScenarioResult:
    """Run one scenario: joint draws of demand and stock, first crossing per draw.

    ``demand`` is a :class:`DemandSet` (fitted once, reused across scenarios); it is
    fitted with default settings when omitted. ``draws`` / ``seed`` / dotted
    ``overrides`` (``**{"demand.overtraining": 5}``) change the scenario; a lever override
    renames it (``"baseline [stock.repetition='flat']"``) unless ``name`` is given.
    ``stock``: your own stock, either a stock model object (e.g.
    ``forecast.Epoch2024Stock(quality_fraction=0.3)``, or any object with
    ``sample_parameters``, ``trajectories`` and ``sample_components``) used instead of the
    scenario's, or the path of an estimates CSV (the layout of data/stock_estimates.csv)
    used under the scenario's levers. ``mc_error``: also estimate the total Monte Carlo
    error of the median and interval ends (:func:`mc_errors`; about as long again as the
    run itself).
    """
    scenario = load_scenario(scenario)
    if isinstance(stock, str | Path):  # recorded in the scenario (and its name)
        overrides["stock.estimates"] = str(Path(stock).expanduser().resolve())
        stock = None
    elif stock is not None and name is None:
        name = override_name(scenario.name, {**overrides, "stock": type(stock).__name__})
    scenario, demand = _prepare(
        scenario, demand, draws, seed, models, progress, overrides, name=name
    )
    models = _models_or_default(models, demand)
    progress(f"{scenario.name}: {scenario.draws:,} joint draws of demand and stock")
    stock_model = _stock_model(scenario, stock)
    result = simulate_exhaustion(scenario, demand, stock_model)
    errors = mc_errors([scenario], demand, [stock_model])[0] if mc_error else {}
    return _scenario_result(scenario, demand, stock_model, result, models, errors)


def _scenario_result(
    scenario: Scenario,
    demand: DemandSet | None,
    stock_model,
    result: ExhaustionResult,
    models: pd.DataFrame,
    errors: dict | None = None,
) -> ScenarioResult:
    """A :class:`ScenarioResult` around the exhaustion draws: bands, stock steps, growth,
    Epoch's procedure, the fits' health and the Monte Carlo ``errors`` (``scenario``
    already at its data date)."""
    project = demand_projector(scenario, demand)

    # Bands by year for figures and tables (a quarterly grid, fewer draws, same seed).
    # Bands to 2050 (the figures' span), or ten years past a later start; never past the
    # horizon, so every valid start/horizon pair has a band.
    band_end = min(scenario.horizon, max(2050.0, scenario.start + 10.0))
    band_years = np.arange(np.floor(scenario.start), band_end + 1e-9, 0.25)
    n_band = min(scenario.draws, 20_000)
    band_seeds = np.random.SeedSequence([scenario.seed, 1]).generate_state(3)
    band_draws = project.with_compute(band_years, n_band, int(band_seeds[0]))
    demand_draws = band_draws.tokens
    stock_params = stock_model.sample_parameters(n_band, int(band_seeds[1]))
    stock_draws = stock_model.trajectories(stock_params, band_years)
    window = (band_years >= scenario.start) & (band_years <= scenario.start + 5)
    first, last = np.flatnonzero(window)[[0, -1]]
    demand_growth = (np.log10(demand_draws[:, last]) - np.log10(demand_draws[:, first])) / (
        band_years[last] - band_years[first]
    )

    # The "as of" year is the data date's, never the clock's: same seed, same numbers.
    as_of = float(pd.Timestamp(models["date"].max()).year)
    step_years = sorted({float(np.floor(scenario.start)), as_of, 2030.0})
    components = stock_model.sample_components(step_years, n_band, int(band_seeds[1]))

    return ScenarioResult(
        scenario=scenario,
        exhaustion=result,
        demand_bands=_bands(demand_draws, band_years),
        compute_bands=_bands(band_draws.compute, band_years),
        ceiling_shares=_ceiling_shares(scenario, demand, band_years, n_band, int(band_seeds[0])),
        stock_bands=_bands(stock_draws, band_years),
        stock_steps=_steps_frame(components),
        demand_growth_oom=demand_growth,
        epoch_procedure=_epoch_procedure(scenario, project, stock_model, int(band_seeds[2])),
        models=models,
        diagnostics=diagnostics_frame(demand, demand_models_needed(scenario)),
        seed=scenario.seed,
        draws=scenario.draws,
        mc_error=dict(errors or {}),
    )


#: Batches of the batch-means Monte Carlo error (:func:`mc_errors`).
MC_BATCHES = 8
#: Statistics that carry a Monte Carlo error: the exhaustion year's median and interval
#: ends (years), the probability of exhaustion by 2030 and the shares of draws not
#: exhausted by the horizon and already exhausted at the start (fractions).
MC_STATISTICS = (
    "median",
    "p10",
    "p90",
    "p2_5",
    "p97_5",
    "prob_by_2030",
    "not_exhausted_by_horizon",
    "already_exhausted_at_start",
)


def _mc_statistics(result: ExhaustionResult) -> list[float]:
    q = result.quantiles()
    return [
        *(float(q.get(k, math.nan)) for k in MC_STATISTICS[:5]),
        float(result.prob_exhausted_by(2030)),
        float(result.not_exhausted_share),
        float(result.already_exhausted_share),
    ]


def _batch_fit(fit: dm.DemandFit, batch: int, n_batches: int) -> dm.DemandFit:
    """``fit`` with its posterior cut to one batch (see :meth:`DemandSet._posterior_batch`)."""
    post = fit.posterior
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    if n_batches % chains:
        raise ForecastError(f"{n_batches} batches do not split {chains} chains evenly")
    per_chain = n_batches // chains
    size = draws // per_chain
    if size < 1:
        raise ForecastError(f"{draws} draws per chain cannot make {per_chain} batches")
    chain, block = divmod(batch, per_chain)
    cut = post.isel(chain=[chain], draw=slice(block * size, (block + 1) * size))
    batch_fit = replace(fit, idata=_compat.with_groups(fit._stored, posterior=cut))
    batch_fit._diagnostics = fit._diagnostics
    return batch_fit


def _n_batches(demand: DemandSet | None) -> int:
    """:data:`MC_BATCHES` rounded up to a multiple of the fits' chains."""
    chains = {f.posterior.sizes["chain"] for f in (demand.fits.values() if demand else ())}
    if len(chains) > 1:
        return 0  # fits with different chain counts: no common batching
    c = chains.pop() if chains else 1
    return c * max(1, math.ceil(MC_BATCHES / c))


def mc_errors(
    scenarios: Sequence[Scenario], demand: DemandSet | None, stock_models: Sequence
) -> list[dict]:
    """The total Monte Carlo error of each scenario's :data:`MC_STATISTICS`, by batch
    means: the posterior draws are cut into batches (:meth:`DemandSet._posterior_batch`),
    each projected with 1/B of the scenario's joint draws and its own seed, and the error
    of a statistic is the standard deviation of its B batch values divided by sqrt(B).
    It covers posterior sampling and projection together (the error a fresh fit and run
    on another machine would show); with B = 8 the error estimate itself is uncertain by
    about a quarter. NaN where a batch's statistic is after the horizon."""
    n_batches = _n_batches(demand)
    if not scenarios or n_batches < 2:
        return [dict.fromkeys(MC_STATISTICS, math.nan) for _ in scenarios]
    values = np.full((n_batches, len(scenarios), len(MC_STATISTICS)), np.nan)
    for b in range(n_batches):
        batch = demand._posterior_batch(b, n_batches) if demand is not None else None
        seeds = [
            int(np.random.SeedSequence([sc.seed, 17, b]).generate_state(1)[0]) for sc in scenarios
        ]
        batched = [
            sc.with_overrides(draws=max(100, sc.draws // n_batches), seed=seed)
            for sc, seed in zip(scenarios, seeds, strict=True)
        ]
        results = simulate_exhaustions(batched, batch, stock_models)
        for i, result in enumerate(results):
            values[b, i] = _mc_statistics(result)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(values, axis=0, ddof=1) / math.sqrt(n_batches)
    se[np.isnan(values).any(axis=0)] = np.nan
    return [
        {k: float(v) for k, v in zip(MC_STATISTICS, row, strict=True)} | {"batches": n_batches}
        for row in se
    ]


def _ceiling_shares(scenario, demand, band_years, n: int, seed: int) -> pd.DataFrame:
    """Demand v3's shares of draws at the feasibility ceiling, at the bands' whole years
    (the bands' own draws: same seed, and a date's value does not depend on the grid)."""
    spec = scenario.demand
    fit = None
    if demand is not None and spec.feasibility != "none":
        if spec.model == "default":
            fit = _default_fit(demand)
        elif spec.model == "compute-frontier":
            fit = demand.fits.get("compute-frontier")
    if not isinstance(getattr(fit, "model", None), ComputeFrontierTrend):
        return pd.DataFrame()
    years = band_years[np.isclose(band_years % 1.0, 0.0) & (band_years > scenario.start)]
    return fit.model.ceiling_shares(fit, years, n, seed, spec.compute_levers())


def _is_pair(value) -> bool:
    """A ``(scenario, {overrides})`` pair of :func:`run_scenarios`."""
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict)


#: An item of run_scenarios: a scenario, or a (scenario, {overrides}) pair.
_ITEM = checks.either(
    SCENARIO,
    checks.accept("a pair", _is_pair),
    what="a scenario name, a TOML path, a Scenario or a (scenario, {overrides}) pair",
)


@checked(
    scenarios=checks.sequence(_ITEM),
    demand=DEMAND,
    draws=checks.optional(checks.DRAWS),
    seed=checks.optional(checks.SEED),
    models=MODELS,
    progress=checks.progress(),
    workers=checks.WORKERS,
    mc_error=checks.flag(),
)
def run_scenarios(
    scenarios,
    demand: DemandSet | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    models: pd.DataFrame | None = None,
    progress: Progress = _silent,
    workers: int = 1,
    mc_error: bool = True,
) -> list[ScenarioResult]:
    """Run several scenarios on one demand fit; results in the order given.

    ``scenarios``: names, TOML paths, :class:`~forecast.scenarios.Scenario` objects, or
    ``(scenario, {"demand.overtraining": 5, ...})`` pairs (renamed as in
    :func:`run_scenario`; put ``"name"`` in the dict to choose the name). ``demand`` is
    fitted once when omitted (only the models the scenarios need). ``draws`` / ``seed``
    apply to all. Scenarios whose demand draws are the same (levers on the stock only)
    share each chunk's demand draws (:func:`simulate_exhaustions`). ``workers`` > 1 runs
    the groups of scenarios and then the per-scenario bands in threads (numpy releases the
    GIL; on 2 cores the report's six scenarios at 100,000 draws took 8.6 s with 2 workers
    and 13.3 s with 1); the numbers do not depend on either. ``progress`` gets one line
    per scenario. ``mc_error``: as in :func:`run_scenario`.
    """
    items = []
    for item in scenarios:
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[1], dict):
                raise ForecastError(
                    "each scenario is a name, a path, a Scenario or a (scenario, {overrides}) "
                    f"pair; got {item!r}"
                )
            overrides = dict(item[1])
            items.append((load_scenario(item[0]), overrides.pop("name", None), overrides))
        else:
            items.append((load_scenario(item), None, {}))
    _check_workers(workers)
    check_inputs(models, demand)
    if demand is None:
        needed = sorted(
            {m for sc, _, ov in items for m in demand_models_needed(sc.with_overrides(**ov))}
        )
        if needed:
            demand = fit_demand(models, names=tuple(needed), progress=progress)

    prepared = [
        _prepare(scenario, demand, draws, seed, models, progress, overrides, name=name)[0]
        for scenario, name, overrides in items
    ]
    models = _models_or_default(models, demand)
    stock_models = [_stock_model(sc) for sc in prepared]
    # Scenarios that differ only in their stock share each chunk's demand draws.
    exhaustion = simulate_exhaustions(
        prepared, demand, stock_models, progress=progress, workers=workers
    )
    if mc_error:
        progress(f"Monte Carlo error: {_n_batches(demand)} posterior batches per scenario")
        errors = mc_errors(prepared, demand, stock_models)
    else:
        errors = [{} for _ in prepared]

    def one(i: int) -> ScenarioResult:
        progress(f"scenario {i + 1}/{len(prepared)}: {prepared[i].name}")
        return _scenario_result(
            prepared[i], demand, stock_models[i], exhaustion[i], models, errors[i]
        )

    if workers == 1 or len(items) < 2:
        return [one(i) for i in range(len(items))]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(len(items))))


def _steps_frame(components: xr.Dataset) -> pd.DataFrame:
    rows = []
    for step in components.data_vars:
        values = components[step].to_numpy()
        q = np.quantile(values, [0.05, 0.5, 0.95], axis=0)
        for j, year in enumerate(components["year"].to_numpy()):
            rows.append(
                {
                    "step": step,
                    "year": float(year),
                    "p5": q[0, j],
                    "median": q[1, j],
                    "p95": q[2, j],
                }
            )
    return pd.DataFrame(rows)


def _epoch_procedure(scenario: Scenario, project, stock_model, seed: int) -> dict:
    """Epoch's quantile-clipping summary (independent marginals) on a quarterly grid."""
    years = np.arange(scenario.start, min(scenario.horizon, scenario.start + 40) + 1e-9, 0.25)
    seeds = np.random.SeedSequence(seed).generate_state(2)
    n = 10_000
    d = project(years, n, int(seeds[0]))
    s = stock_model.trajectories(stock_model.sample_parameters(n, int(seeds[1])), years)
    table = epoch_quantile_clipping(years, d, s, method="vectorised")
    summary = table.attrs["summary"]
    return {k: summary.get(k) for k in ("median", "p10", "p90")}


_RESULT = checks.instance(ScenarioResult, "a ScenarioResult", "from forecast.run_scenario(...)")


@checked(results=checks.sequence(_RESULT))
def reproduction_table(results: list[ScenarioResult]) -> pd.DataFrame:
    """The toolkit's numbers beside the published ones, for scenarios that publish any."""
    rows = []
    for r in results:
        pub = r.scenario.published
        if not pub:
            continue
        ey = r.exhaustion_year()
        lo_key, hi_key = ("p5", "p95") if "p5" in pub else ("p10", "p90")
        ours_lo = r.exhaustion.quantile(0.05 if lo_key == "p5" else 0.10)
        ours_hi = r.exhaustion.quantile(0.95 if hi_key == "p95" else 0.90)
        rows.append(
            {
                "scenario": r.name,
                "published median": pub.get("median"),
                "toolkit median": ey["median"],
                "interval": "80%" if lo_key == "p10" else "90%",
                "published interval": _interval(pub.get(lo_key), pub.get(hi_key))
                if lo_key in pub
                else "",
                "toolkit interval": _interval(
                    persist.json_float(ours_lo), persist.json_float(ours_hi)
                ),
                "Epoch procedure median": r.epoch_procedure.get("median"),
                "source": pub.get("source", ""),
            }
        )
    return pd.DataFrame(rows)


#: Years and interval levels of :func:`compare` (and ``summary.csv``) by default.
COMPARE_YEARS: tuple[int, ...] = (2028, 2030, 2035)
COMPARE_LEVELS: tuple[float, ...] = (0.8, 0.95)


def _quantile_column(q: float) -> str:
    return "p" + f"{100 * q:g}".replace(".", "_")


@checked(
    results=checks.either(
        _RESULT, checks.sequence(_RESULT), what="a ScenarioResult or a list of them"
    ),
    years=checks.sequence(checks.year()),
    levels=checks.LEVELS,
)
def compare(
    results: Sequence[ScenarioResult] | ScenarioResult,
    years: Sequence[int] = COMPARE_YEARS,
    levels: Sequence[float] = COMPARE_LEVELS,
) -> pd.DataFrame:
    """Scenario results side by side, every column numeric: one row per result.

    Columns: ``scenario``; ``median`` and, per level L, the central interval's ends
    (``p10``/``p90`` for 0.8, ``p2_5``/``p97_5`` for 0.95), decimal years; ``p_by_<Y>``,
    P(exhausted by the end of Y) for each of ``years``; ``not_exhausted_share`` (not
    exhausted by the horizon), ``already_exhausted_share`` (exhausted at the start),
    ``horizon``, ``reliable`` (sampler health) and ``published_median``.
    A date **after the horizon is NaN**, as in :meth:`ExhaustionResult.quantile`; the
    ``not_exhausted_share`` column says how many draws that is.
    """
    if isinstance(results, ScenarioResult):
        results = [results]
    for r in results:
        require_type(r, ScenarioResult, "each result", "from forecast.run_scenario(...)")
    for level in levels:
        if not 0 < level < 1:
            raise ForecastError(f"interval levels must be between 0 and 1, got {level}")
    rows = []
    for r in results:
        ex = r.exhaustion
        row = {"scenario": r.name, "median": ex.quantile(0.5)}
        for level in levels:
            for q in ((1 - level) / 2, (1 + level) / 2):
                row[_quantile_column(q)] = ex.quantile(q)
        prob = ex.prob_exhausted_by(list(years)) if len(years) else pd.Series(dtype=float)
        row.update({f"p_by_{int(y)}": float(p) for y, p in prob.items()})
        row.update(
            {
                "not_exhausted_share": float(ex.not_exhausted_share),
                "already_exhausted_share": float(ex.already_exhausted_share),
                "horizon": float(r.scenario.horizon),
                "reliable": bool(r.reliable),
                "published_median": float((r.scenario.published or {}).get("median", np.nan)),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)
