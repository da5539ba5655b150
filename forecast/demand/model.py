"""The demand model base: :class:`DemandModel` (a PyMC graph per model, its fit and
projection), :class:`DemandFit` (a posterior plus what projecting it needs),
:class:`SamplerConfig`, sampler health (:class:`Diagnostics`) and the NUTS samplers
(nutpie, compiled once per model structure and process; or PyMC's own).

The base class is itself a model: a log-linear trend of log10 size against decimal
years with Student-t residuals, in standardised units (``x = (year - mean) / sd``,
``y = (log10 value - mean) / sd``) so the same weakly informative priors fit any data
set (intercept and slope Normal(0, 1), sigma HalfNormal(1), nu Gamma(2, 0.1): Juárez and
Steel 2010). Subclasses change the rows (:meth:`DemandModel.select`), the graph and the
projection; the 0.2-era trends are in :mod:`forecast.demand.trends`, the default in
:mod:`forecast.demand.damped`.

A fit to less than :data:`MIN_HISTORY_YEARS` of data warns (:class:`ShortHistoryWarning`).
"""

from __future__ import annotations

import inspect
import io
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _compat, checks, persist
from forecast._version import __version__
from forecast.errors import DataError, ForecastError, SamplingWarning, ShortHistoryWarning
from forecast.limits import SAMPLER_LIMITS, SEED_RANGE
from forecast.units import CHINCHILLA_TOKENS_PER_PARAMETER

pm = _compat.lazy_module("pymc")
pt = _compat.lazy_module("pytensor.tensor")

#: Sampler-health thresholds (issue: r_hat <= 1.01, bulk ESS >= 400, no divergences).
RHAT_MAX = 1.01
ESS_BULK_MIN = 400
#: Fits to fewer years of history than this warn (:class:`ShortHistoryWarning`): in the
#: backtest, every method fitted to 1.4 or 2.4 years (the 2020 and 2021 cutoffs) missed
#: what followed by one to three orders of magnitude; from 3.5 years on (2022) the
#: default's 80% intervals covered most later models.
MIN_HISTORY_YEARS = 3.0
#: Upper clip of projected log10 values (see DemandFit.project); the lower clip is 0.
MAX_LOG10 = 200.0


@dataclass(frozen=True)
class SamplerConfig:
    """NUTS settings. Defaults meet the health thresholds on the bundled data."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.95
    seed: int = 0
    progress: bool = False
    #: "nutpie" (default: compiled once per model structure and process, then reused for
    #: new data; chains in parallel threads) or "pymc" (PyMC's own NUTS, chains in
    #: parallel processes). Timings: benchmarks/README.md.
    nuts_sampler: str = "nutpie"
    #: Retry an unhealthy fit once with twice the tuning steps and draws.
    escalate: bool = True
    #: Set on a fit's sampler when the retry was used: the draws first asked for.
    escalated_from: int | None = None

    def __post_init__(self) -> None:
        checks.fields(  # the kinds first (forecast.checks), then the ranges below
            self,
            **dict.fromkeys(("draws", "tune", "chains", "seed"), checks.integer()),
            target_accept=checks.number(),
            progress=checks.flag(),
            nuts_sampler=checks.text(),
            escalate=checks.flag(),
            escalated_from=checks.optional(checks.integer(1)),
        )
        if self.nuts_sampler not in ("pymc", "nutpie"):
            raise ForecastError(
                f"nuts_sampler must be 'pymc' or 'nutpie', got {self.nuts_sampler!r}"
            )
        for name, high in SAMPLER_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ForecastError(f"sampler {name} must be an integer, got {value!r}")
            if not 1 <= value <= high:
                raise ForecastError(
                    f"sampler {name} must be between 1 and {high:,} (memory grows with it), "
                    f"got {value:,}"
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ForecastError(f"sampler seed must be an integer, got {self.seed!r}")
        if not SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]:
            raise ForecastError(f"sampler seed must be between 0 and 2**32 - 1, got {self.seed}")
        if not 0.5 <= self.target_accept < 1:
            raise ForecastError(f"target_accept must be in [0.5, 1), got {self.target_accept}")


@dataclass(frozen=True)
class _Scaling:
    x_mean: float
    x_sd: float
    y_mean: float
    y_sd: float

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> _Scaling:
        return cls(
            float(x.mean()),
            float(x.std()) or 1.0,
            float(y.mean()),
            float(y.std()) or 1.0,
        )

    def x(self, years) -> np.ndarray:
        return (np.asarray(years, dtype=float) - self.x_mean) / self.x_sd

    def years(self, x_std) -> np.ndarray:
        """Inverse of :meth:`x`: standardised dates -> decimal years."""
        return np.asarray(x_std, dtype=float) * self.x_sd + self.x_mean

    def y(self, log10_values) -> np.ndarray:
        return (np.asarray(log10_values, dtype=float) - self.y_mean) / self.y_sd

    def log10(self, y_std) -> np.ndarray:
        return np.asarray(y_std) * self.y_sd + self.y_mean


class DemandModel:
    """Base class: a log-linear trend with Student-t residuals on selected rows.

    Subclasses change which rows are used (:meth:`select`), the mean function
    (:meth:`_mean`), and how a projected value becomes tokens (:meth:`to_tokens`).
    """

    name = "exponential"
    label = "Exponential trend (all notable LMs)"
    value_column = "tokens"
    #: Whether the model is fitted to the frontier rows (LOO-comparable with other frontier models).
    frontier = False
    #: Whether the diagnostics figure shows this model's posterior predictive check
    #: (:meth:`predictive_rows`); None: when it is a frontier model.
    predictive_check: bool | None = None
    #: Parameters the diagnostics figure's rank plots show (those in the posterior).
    rank_parameters: tuple[str, ...] = (
        "intercept",
        "slope",
        "slope_change",
        "slope_walk_sd",
        "sigma",
        "nu",
    )

    def shows_predictive_check(self) -> bool:
        """Whether the diagnostics figure shows this model's posterior predictive check."""
        return self.frontier if self.predictive_check is None else self.predictive_check

    min_rows = 3
    #: Whether the posterior needs a dense (or low-rank) mass matrix: PyMC's
    #: ``jitter+adapt_full`` init, nutpie's low-rank modified mass matrix.
    dense_mass = False
    #: Lowest target acceptance this model samples with (None: the sampler's).
    min_target_accept: float | None = None
    #: This model draws ``draws_factor`` times the draws asked for (a slowly mixing model).
    draws_factor: int = 1
    #: Orders of magnitude of tokens per order of magnitude of the fitted quantity: 1 for
    #: a token model, 1/2 for a compute model (``D = sqrt(r C / 6)``).
    tokens_per_value_oom: float = 1.0
    #: Keys of :meth:`graph_data` used to label the posterior, not by the graph.
    _LABELS_ONLY: tuple[str, ...] = ()

    def config(self) -> dict:
        """Settings that change the fit (stored with saved fits)."""
        return {"name": self.name, "value_column": self.value_column}

    def select(self, models: pd.DataFrame) -> pd.DataFrame:
        return models.dropna(subset=[self.value_column]).sort_values(["date", "model"])

    def _check_rows(self, rows: pd.DataFrame) -> None:
        if len(rows) < self.min_rows:
            raise DataError(
                f"the {self.label} needs at least {self.min_rows} models with "
                f"'{self.value_column}', got {len(rows)}",
                file=None,
                column=self.value_column,
            )
        if np.ptp(rows["year"].to_numpy(dtype=float)) <= 0:
            raise DataError(
                f"the {self.label} needs models released on at least two different dates "
                "to estimate growth; all selected models share one date",
                column="date",
            )

    # --- graph ---------------------------------------------------------------------

    def graph_data(self, x: np.ndarray, y: np.ndarray, scaling: _Scaling) -> dict[str, np.ndarray]:
        """Every data-dependent value of the graph (``pm.Data``), standardised.

        A compiled sampler is reused for new data whose arrays have the same shapes apart
        from the observations (:meth:`structure`), so nothing data-dependent may be a
        constant of the graph.
        """
        return {"x_std": np.asarray(x, dtype=float), "y_std": np.asarray(y, dtype=float)}

    #: Keys of :meth:`graph_data` whose length may change without recompiling.
    _OBSERVATIONS: tuple[str, ...] = ("x_std", "y_std")

    def structure(self, values: Mapping[str, np.ndarray]) -> tuple:
        """What fixes a compiled graph: the model settings and the shapes of the
        non-observation data (e.g. the number of knots)."""
        shapes = tuple(
            (k, np.shape(v)) for k, v in sorted(values.items()) if k not in self._OBSERVATIONS
        )
        return (json.dumps(self.config(), sort_keys=True), shapes)

    def _trend_priors(self, data: dict, values: Mapping[str, np.ndarray]) -> dict:
        return {
            "intercept": pm.Normal("intercept", 0.0, 1.0),
            "slope": pm.Normal("slope", 0.0, 1.0),
        }

    def label_posterior(self, posterior: xr.Dataset, scaling: _Scaling, values) -> xr.Dataset:
        """Name the posterior's vector dimensions (nothing to do for a straight trend)."""
        return posterior

    def _mean(self, params: dict, x):
        """Mean of standardised log10 size at standardised date ``x``.

        Graph mode: scalar tensors and ``x`` of shape (obs,). Array mode (projection):
        per-draw parameters of shape (draw, 1) (or (draw, knot)) and ``x`` of shape (1, date).
        """
        return params["intercept"] + params["slope"] * x

    def _slope(self, params: dict, x: float) -> np.ndarray:
        """Per-draw slope (standardised units) at standardised date ``x``."""
        return params["slope"][:, 0]

    def draw_params(self, fit: DemandFit, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Trend parameters for the posterior draws ``idx`` (all if None), for :meth:`_mean`.

        Scalars come as (draw, 1) arrays, vector parameters as (draw, n).
        """
        post = fit.posterior
        out = {}
        for name in post.data_vars:
            if name in ("sigma", "nu"):
                continue
            values = post[name].to_numpy()
            values = values.reshape(values.shape[0] * values.shape[1], -1)
            out[name] = values if idx is None else values[idx]
        return out

    def projected_mean(
        self, fit: DemandFit, idx: np.ndarray, rng: np.random.Generator, x: np.ndarray
    ) -> np.ndarray:
        """Standardised mean log size of trajectories (draw, date) at standardised dates
        ``x`` (1, date), for posterior draws ``idx``. A straight trend has no randomness
        beyond its posterior; :class:`RandomWalkSlopeTrend` adds the future's."""
        return self._mean(self.draw_params(fit, idx), x)

    def build(self, x: np.ndarray, y: np.ndarray, scaling: _Scaling) -> pm.Model:
        """The PyMC model for standardised dates ``x`` and log sizes ``y``."""
        return self._build(self.graph_data(x, y, scaling))

    def _build(self, values: Mapping[str, np.ndarray]) -> pm.Model:
        with pm.Model() as model:
            data = {name: pm.Data(name, value) for name, value in values.items()}
            params = self._trend_priors(data, values)
            sigma = pm.HalfNormal("sigma", 1.0)
            nu = pm.Gamma("nu", 2.0, 0.1)
            mu = self._mean(params, data["x_std"])
            pm.StudentT("y", nu=nu, mu=mu, sigma=sigma, observed=data["y_std"])
        return model

    # --- fitting -------------------------------------------------------------------

    def fit(self, models: pd.DataFrame, sampler: SamplerConfig | None = None) -> DemandFit:
        """Fit the model to a models frame (see :func:`forecast.data.load_models`)."""
        sampler = sampler or SamplerConfig()
        if self.draws_factor > 1:
            draws = min(self.draws_factor * sampler.draws, SAMPLER_LIMITS["draws"])
            sampler = replace(sampler, draws=draws)
        rows = self.select(models)
        self._check_rows(rows)
        self._warn_short_history(rows)
        values, scaling = self.prepare(rows)
        fit = self._sample(values, rows, scaling, sampler)
        if not fit.diagnostics().healthy and sampler.escalate:
            # One automatic retry with twice the tuning and draws (same seed, so the same
            # result every time) before the fit is reported as unhealthy.
            longer = replace(
                sampler,
                draws=min(2 * sampler.draws, SAMPLER_LIMITS["draws"]),
                tune=min(2 * sampler.tune, SAMPLER_LIMITS["tune"]),
                escalated_from=sampler.draws,
            )
            fit = self._sample(values, rows, scaling, longer)
        fit.add_log_likelihood()
        fit.warn_if_unhealthy()
        return fit

    def prepare(self, rows: pd.DataFrame) -> tuple[dict[str, np.ndarray], _Scaling]:
        """The graph's data (:meth:`graph_data`) and the scaling of the selected rows."""
        x_raw = rows["year"].to_numpy(dtype=float)
        y_raw = np.log10(rows[self.value_column].to_numpy(dtype=float))
        scaling = _Scaling.of(x_raw, y_raw)
        return self.graph_data(scaling.x(x_raw), scaling.y(y_raw), scaling), scaling

    def _sample(self, values, rows, scaling, sampler: SamplerConfig) -> DemandFit:
        if self.min_target_accept and sampler.target_accept < self.min_target_accept:
            sampler = replace(sampler, target_accept=self.min_target_accept)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*chains.*")
            # Numba's remark on the compiled graph's own code (PyTensor's), which a user
            # cannot act on; the fit's health is checked and reported either way.
            warnings.filterwarnings("ignore", message=r".* is faster on contiguous arrays")
            if sampler.nuts_sampler == "nutpie":
                idata = _sample_nutpie(self, values, sampler)
            else:
                idata = _sample_pymc(self, values, sampler)
        posterior = self.label_posterior(_compat.group(idata, "posterior"), scaling, values)
        idata = _compat.with_groups(
            idata,
            posterior=posterior,
            sample_stats=_compat.group(idata, "sample_stats"),
        )
        idata.attrs.update(
            {
                "forecast_model": json.dumps(self.config(), sort_keys=True),
                "forecast_sampler": json.dumps(asdict(sampler), sort_keys=True),
                "forecast_scaling": json.dumps(asdict(scaling)),
                "forecast_version": __version__,
            }
        )
        return DemandFit(model=self, idata=idata, rows=rows, scaling=scaling, sampler=sampler)

    def _warn_short_history(self, rows: pd.DataFrame) -> None:
        span = float(np.ptp(rows["year"].to_numpy(dtype=float)))
        if span < MIN_HISTORY_YEARS:
            warnings.warn(
                f"{self.label}: the {len(rows)} models span only {span:.1f} years "
                f"(< {MIN_HISTORY_YEARS:g}); projections further ahead than that extrapolate "
                "growth the data cannot check (see the report's forecast-skill section and "
                "docs/model.md, section 3.1)",
                ShortHistoryWarning,
                stacklevel=3,
            )

    # --- projection ----------------------------------------------------------------

    def to_tokens(self, log10_values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Projected log10 values -> tokens (``out``: an array to write them into, e.g.
        ``log10_values`` itself)."""
        return np.power(10.0, log10_values, out=out)

    def project_log10(
        self, fit: DemandFit, years: np.ndarray, n_draws: int | None, rng: np.random.Generator
    ) -> np.ndarray:
        """Draws (draw, year) of the projected log10 value (of :attr:`value_column`).

        Each trajectory is a posterior draw of the trend (for the random walk: plus its
        future steps) and one Student-t residual held for the whole trajectory, so every
        date's marginal is the posterior predictive of a frontier-set run.
        """
        nu, sigma = fit._flat("nu"), fit._flat("sigma")
        total = len(nu)
        idx = np.arange(total) if n_draws is None else rng.integers(0, total, size=n_draws)
        mean = self.projected_mean(fit, idx, rng, fit.scaling.x(years)[None, :])
        residual = rng.standard_t(nu[idx])[:, None] * sigma[idx, None]
        return fit.scaling.log10(mean + residual)

    def log_likelihood(self, fit: DemandFit) -> np.ndarray:
        """Pointwise log-likelihood (draw, row) of the fitted rows, in standardised units."""
        from scipy import stats

        x = fit.scaling.x(fit.rows["year"].to_numpy(dtype=float)).reshape(1, -1)
        y = fit.scaling.y(np.log10(fit.rows[self.value_column].to_numpy(dtype=float)))
        mu = self._mean(self.draw_params(fit), x)  # (draw, obs)
        return stats.t.logpdf(
            y[None, :], df=fit._flat("nu")[:, None], loc=mu, scale=fit._flat("sigma")[:, None]
        )

    def predictive_rows(self, fit: DemandFit, n_draws: int, seed: int) -> pd.DataFrame:
        """Posterior predictive log10 values at the fitted rows: columns model, year,
        observed and the quantiles p2_5, p10, median, p90, p97_5 (the check's data)."""
        rng = np.random.default_rng(seed)
        nu, sigma = fit._flat("nu"), fit._flat("sigma")
        idx = rng.integers(0, len(nu), size=n_draws)
        years = fit.rows["year"].to_numpy(dtype=float)
        mean = self._mean(self.draw_params(fit, idx), fit.scaling.x(years)[None, :])
        pred = fit.scaling.log10(mean + rng.standard_t(nu[idx])[:, None] * sigma[idx, None])
        observed = np.log10(fit.rows[self.value_column].to_numpy(dtype=float))
        return _predictive_frame(fit.name, years, observed, pred)

    def n_rows_used(self, rows: pd.DataFrame) -> int:
        """Runs of the selected ``rows`` the likelihood uses (all of them here)."""
        return len(rows)

    def usage(self, fit: DemandFit) -> dict:
        """The rows a fit used, for ``forecast fit --json``: ``rows_used`` (model names),
        ``censored`` and ``undisclosed`` (none here: every row is an exact size)."""
        return {
            "rows_used": [str(m) for m in fit.rows["model"]],
            "censored": [],
            "undisclosed": [],
        }

    #: Columns of the fitted rows stored with a saved fit.
    stored_columns: tuple[str, ...] = ("model", "date", "year")

    def rows_to_store(self, rows: pd.DataFrame) -> pd.DataFrame:
        columns = [*self.stored_columns, self.value_column]
        return rows[[c for c in dict.fromkeys(columns) if c in rows.columns]]


def growth_frame(labels, draws) -> pd.DataFrame:
    """Per label, the median and 80% interval of its draws of growth (OOM per year, one
    array per label): columns ``at``, ``oom_per_year``, ``oom_p10``, ``oom_p90`` and the
    same as factors per year (``growth_per_year``, ``growth_p10``, ``growth_p90``)."""
    rows = []
    for label, values in zip(labels, draws, strict=True):
        q = np.quantile(values, [0.1, 0.5, 0.9])
        rows.append(
            {
                "at": label,
                "oom_per_year": q[1],
                "oom_p10": q[0],
                "oom_p90": q[2],
                "growth_per_year": 10 ** q[1],
                "growth_p10": 10 ** q[0],
                "growth_p90": 10 ** q[2],
            }
        )
    return pd.DataFrame(rows)


def _predictive_frame(name: str, years, observed, pred: np.ndarray) -> pd.DataFrame:
    q = np.quantile(pred, [0.025, 0.1, 0.5, 0.9, 0.975], axis=0)
    return pd.DataFrame(
        {
            "kind": "ppc",
            "model": name,
            "year": np.asarray(years, dtype=float),
            "observed": observed,
            "p2_5": q[0],
            "p10": q[1],
            "median": q[2],
            "p90": q[3],
            "p97_5": q[4],
        }
    )


def drop_padding(
    posterior: xr.Dataset,
    vectors: Mapping[str, tuple[str, np.ndarray]],
    coords: Mapping[str, np.ndarray],
) -> xr.Dataset:
    """``posterior`` with each vector variable ``name`` in ``vectors`` given the dimension
    ``dim`` and only the entries of ``mask`` (``vectors[name] = (dim, mask)``): the padding
    that lets fits of different sizes share one compiled sampler is dropped. ``coords``
    label the new dimensions."""
    data_vars = {}
    for name, da in posterior.data_vars.items():
        if name in vectors:
            dim, mask = vectors[name]
            data_vars[name] = ((*da.dims[:-1], dim), da.to_numpy()[..., mask])
        else:
            data_vars[name] = (da.dims, da.to_numpy())
    coords = {
        "chain": posterior["chain"].to_numpy(),
        "draw": posterior["draw"].to_numpy(),
        **coords,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=posterior.attrs)


#: Standardised date of the padding knots: after any date a fit or projection uses.
_PAD_KNOT = 1e6

#: Compiled nutpie models of this process, by :meth:`DemandModel.structure`. Compiling
#: takes seconds (numba); swapping the data of a compiled model takes microseconds, so the
#: backtest's fits at several cutoffs compile each model structure once.
_COMPILED: dict[tuple, object] = {}


def _cores(chains: int) -> int:
    return max(1, min(chains, os.cpu_count() or 1))


def _compiled_nutpie(model: DemandModel, values: Mapping[str, np.ndarray]):
    """nutpie's compiled sampler of ``model`` holding ``values``: compiled once per model
    structure and process (benchmarks/run.py times this step alone)."""
    _compat.settle_arviz_stamp()  # nutpie imports PyMC, which imports ArviZ
    import nutpie

    key = model.structure(values)
    compiled = _COMPILED.get(key)
    if compiled is None:
        # fastmath lets LLVM reorder arithmetic differently when PyTensor's numba cache is
        # empty (pieces compiled together) than when it is warm: the same seed then gave
        # other draws on a fresh machine. Strict IEEE arithmetic makes both identical, at
        # the same sampling speed (measured in 0.8.1).
        from pytensor import config as pytensor_config

        with pytensor_config.change_flags(numba__fastmath=False):
            compiled = nutpie.compile_pymc_model(model._build(values))
        _COMPILED[key] = compiled
    else:
        # Only the data the graph uses (a variant may leave some of it out).
        known = getattr(compiled, "shared_data", None) or {}
        compiled = compiled.with_data(
            **{
                k: v
                for k, v in values.items()
                if k not in model._LABELS_ONLY and (not known or k in known)
            }
        )
    return compiled


def _sample_nutpie(model: DemandModel, values: Mapping[str, np.ndarray], sampler: SamplerConfig):
    _compat.settle_arviz_stamp()  # nutpie imports PyMC, which imports ArviZ
    import nutpie

    return nutpie.sample(
        _compiled_nutpie(model, values),
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=_cores(sampler.chains),
        seed=sampler.seed,
        target_accept=sampler.target_accept,
        progress_bar=sampler.progress,
        low_rank_modified_mass_matrix=model.dense_mass,
    )


def _sample_pymc(model: DemandModel, values: Mapping[str, np.ndarray], sampler: SamplerConfig):
    with model._build(values), warnings.catch_warnings():
        # PyMC labels its dense-mass-matrix adaptation "experimental"; the fits' health is
        # checked like every other fit's.
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt")
        return pm.sample(
            draws=sampler.draws,
            tune=sampler.tune,
            chains=sampler.chains,
            cores=_cores(sampler.chains),
            target_accept=sampler.target_accept,
            random_seed=sampler.seed,
            progressbar=sampler.progress,
            init="jitter+adapt_full" if model.dense_mass else "jitter+adapt_diag",
            compute_convergence_checks=False,
        )


def chinchilla_tokens(
    compute_flop,
    tokens_per_parameter: float = CHINCHILLA_TOKENS_PER_PARAMETER,
    overtraining: float = 1.0,
    *,
    out: np.ndarray | None = None,
):
    """Training tokens of a compute-optimal run: ``D = sqrt(r * k * C / 6)`` (``out``: an
    array to write them into, e.g. ``compute_flop`` itself).

    >>> round(chinchilla_tokens(5.76e23) / 1e12, 2)  # Chinchilla: 70B params, 1.4T tokens
    1.39
    """
    tokens = np.multiply(tokens_per_parameter * overtraining, compute_flop, out=out)
    tokens = np.divide(tokens, 6.0, out=out)
    return np.sqrt(tokens, out=out)


@dataclass
class Diagnostics:
    """Sampler health of one fit."""

    r_hat_max: float
    ess_bulk_min: float
    divergences: int

    @property
    def problems(self) -> list[str]:
        out = []
        if not self.r_hat_max <= RHAT_MAX:
            out.append(
                f"r_hat {self.r_hat_max:.3f} > {RHAT_MAX} (chains disagree): run more tuning "
                "steps (--tune, SamplerConfig.tune) or more chains (--chains, "
                "SamplerConfig.chains)"
            )
        if not self.ess_bulk_min >= ESS_BULK_MIN:
            out.append(
                f"bulk ESS {self.ess_bulk_min:.0f} < {ESS_BULK_MIN} (too few effective "
                "draws): increase the sampler draws (--mcmc-draws, SamplerConfig.draws)"
            )
        if self.divergences > 0:
            out.append(
                f"{self.divergences} divergent transitions (biased posterior): raise "
                "SamplerConfig.target_accept (closer to 1; no command-line flag) or "
                "reparametrise or simplify the model"
            )
        return out

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        """``r_hat_max``, ``ess_bulk_min``, ``divergences`` and ``healthy``: the columns of
        every fit-health table (backtest, skill study, scenario diagnostics)."""
        return {
            "r_hat_max": self.r_hat_max,
            "ess_bulk_min": self.ess_bulk_min,
            "divergences": self.divergences,
            "healthy": self.healthy,
        }


def health_rows(
    fits: Mapping[str, DemandFit], prefix: str = "", **columns
) -> tuple[list[dict], list[str]]:
    """The health of each fit in ``fits`` (by method name) for a fit-health table, and its
    problems as messages: one row ``{**columns, "method": name, "rows": ..., r_hat_max,
    ess_bulk_min, divergences, healthy}`` per fit, and ``"{prefix}{name} fit: {problem}"``
    per problem (what the backtest and the forecast-skill study both report)."""
    rows, messages = [], []
    for name, fit in fits.items():
        health = fit.diagnostics()
        rows.append({**columns, "method": name, "rows": fit.n_rows, **health.as_dict()})
        messages += [f"{prefix}{name} fit: {problem}" for problem in health.problems]
    return rows, messages


@dataclass
class DemandFit:
    """A fitted demand model: the ArviZ posterior plus what is needed to project it."""

    model: DemandModel
    idata: object
    rows: pd.DataFrame
    scaling: _Scaling
    sampler: SamplerConfig
    _diagnostics: Diagnostics | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def n_rows(self) -> int:
        """Number of runs the fit's likelihood uses (:meth:`DemandModel.n_rows_used`)."""
        return self.model.n_rows_used(self.rows)

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior draws (ArviZ group). Trend parameters are in standardised units
        (dates and log10 sizes divided by their standard deviations, see ``scaling``):
        :meth:`slope_log10_per_year` gives the growth in orders of magnitude per year and
        :meth:`project` token draws."""
        return _compat.group(self._stored, "posterior")

    @property
    def _stored(self):
        """The fit object as stored, without :class:`_NativeFit`'s conversion."""
        return self.__dict__["idata"]

    # --- health ----------------------------------------------------------------------

    def diagnostics(self) -> Diagnostics:
        if self._diagnostics is None:
            _compat.settle_arviz_stamp()
            import arviz as az

            post = self.posterior
            # Empty vectors (e.g. no undisclosed runs before a backtest cutoff) have no
            # statistics.
            names = [n for n in post.data_vars if n != "changepoint" and post[n].size > 0]
            rhat = _compat.as_dataset(az.rhat(self.idata, var_names=names))
            ess = _compat.as_dataset(az.ess(self.idata, var_names=names, method="bulk"))
            stats = _compat.group(self._stored, "sample_stats")
            self._diagnostics = Diagnostics(
                r_hat_max=float(max(rhat[n].max() for n in names)),
                ess_bulk_min=float(min(ess[n].min() for n in names)),
                divergences=int(stats["diverging"].sum()),
            )
        return self._diagnostics

    def add_log_likelihood(self) -> None:
        """Add the pointwise log-likelihood of the fitted rows (group ``log_likelihood``,
        variable ``y``, for PSIS-LOO), computed from the posterior draws with numpy."""
        post = self.posterior
        loglik = self.model.log_likelihood(self)
        shape = (post.sizes["chain"], post.sizes["draw"], loglik.shape[1])
        dataset = xr.Dataset(
            {"y": (("chain", "draw", "obs"), loglik.reshape(shape))},
            coords={"chain": post["chain"].values, "draw": post["draw"].values},
        )
        self.idata = _compat.with_group(self._stored, "log_likelihood", dataset)

    def warn_if_unhealthy(self) -> None:
        for problem in self.diagnostics().problems:
            warnings.warn(f"{self.model.label}: {problem}", SamplingWarning, stacklevel=3)

    # --- posterior draws -------------------------------------------------------------

    def _flat(self, name: str) -> np.ndarray:
        return self.posterior[name].to_numpy().reshape(-1)

    def slope_log10_per_year(self, at_year: float | None = None) -> np.ndarray:
        """Posterior draws of growth in orders of magnitude (of the fitted quantity) per year.

        For the changepoint model this is the slope at ``at_year`` (default: the latest
        data date), i.e. the recent growth rate.
        """
        at = self.rows["year"].max() if at_year is None else at_year
        slope = self.model._slope(self.model.draw_params(self), float(self.scaling.x(at)))
        return slope * self.scaling.y_sd / self.scaling.x_sd

    def token_growth_log10_per_year(self, at_year: float | None = None) -> np.ndarray:
        """Growth of projected *tokens* in OOM/year: the fitted quantity's growth times
        the model's :attr:`DemandModel.tokens_per_value_oom` (one half for compute)."""
        return self.model.tokens_per_value_oom * self.slope_log10_per_year(at_year)

    def project(
        self, years: Sequence[float] | np.ndarray, n_draws: int | None = None, seed: int | None = 0
    ) -> xr.DataArray:
        """Draws of the projected training-set size in tokens, dims ``(draw, year)``.

        ``n_draws`` defaults to the number of posterior draws; more are made by
        resampling posterior draws. What a trajectory is depends on the model
        (:meth:`DemandModel.project_log10`).
        """
        rng = np.random.default_rng(seed)
        years = np.atleast_1d(np.asarray(years, dtype=float))
        # Extreme draws (Student-t tails with small nu, or an exploding trend) could
        # overflow to 10^400 or underflow to 0. Such draws are far above any stock, or
        # below one token, either way, so they are clipped to [10^0, 10^200]: no crossing
        # date changes, and downstream code never sees inf or 0.
        raw = self.model.project_log10(self, years, n_draws, rng)
        # In place (the same numbers; a 10,000 x 900 chunk is 73 MB): the clip when the model
        # handed over an array of its own (the package's do), the clipped copy otherwise.
        own = raw.base is None and raw.flags.writeable
        log10_values = np.clip(raw, 0.0, MAX_LOG10, out=raw if own else None)
        if "out" in inspect.signature(self.model.to_tokens).parameters:
            tokens = self.model.to_tokens(log10_values, out=log10_values)
        else:  # a user's model written before to_tokens took ``out``
            tokens = self.model.to_tokens(log10_values)
        return xr.DataArray(
            tokens,
            dims=("draw", "year"),
            coords={"year": years},
            name="tokens",
            attrs={"units": "tokens", "model": self.name},
        )

    def fitted_line(self, years) -> pd.DataFrame:
        """Median and 95% band of the trend line (without residual) in tokens."""
        x = self.scaling.x(np.asarray(years, dtype=float))[None, :]
        line = self.model.to_tokens(
            self.scaling.log10(self.model._mean(self.model.draw_params(self), x))
        )
        q = np.quantile(line, [0.025, 0.5, 0.975], axis=0)
        return pd.DataFrame(
            {"year": np.asarray(years, dtype=float), "p2_5": q[0], "median": q[1], "p97_5": q[2]}
        )

    # --- summaries -------------------------------------------------------------------

    def growth_summary(self) -> pd.DataFrame:
        """Growth of projected tokens: x per year, OOM per year, doubling time (95% interval)."""
        oom = self.token_growth_log10_per_year()
        q = np.quantile(oom, [0.025, 0.5, 0.975])
        with np.errstate(divide="ignore"):
            doubling_months = 12.0 * np.log10(2.0) / q[::-1]
        return pd.DataFrame(
            {
                "statistic": ["oom_per_year", "growth_per_year", "doubling_time_months"],
                "median": [q[1], 10 ** q[1], doubling_months[1]],
                "p2_5": [q[0], 10 ** q[0], doubling_months[0]],
                "p97_5": [q[2], 10 ** q[2], doubling_months[2]],
            }
        ).assign(model=self.name)[["model", "statistic", "median", "p2_5", "p97_5"]]

    def summary(self) -> pd.DataFrame:
        """One row: growth (x/yr with 95% interval), rows used, and sampler health."""
        g = self.growth_summary().set_index("statistic")
        d = self.diagnostics()
        return pd.DataFrame(
            [
                {
                    "model": self.name,
                    "rows": self.n_rows,
                    "growth_per_year": g.loc["growth_per_year", "median"],
                    "growth_p2_5": g.loc["growth_per_year", "p2_5"],
                    "growth_p97_5": g.loc["growth_per_year", "p97_5"],
                    "oom_per_year": g.loc["oom_per_year", "median"],
                    "doubling_months": g.loc["doubling_time_months", "median"],
                    "r_hat_max": d.r_hat_max,
                    "ess_bulk_min": d.ess_bulk_min,
                    "divergences": d.divergences,
                }
            ]
        )

    def __repr__(self) -> str:
        return f"DemandFit({self.model.label})\n{self.summary().to_string(index=False)}"

    def _repr_html_(self) -> str:
        return f"<b>DemandFit: {self.model.label}</b>" + self.summary().to_html(index=False)

    # --- persistence -----------------------------------------------------------------

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fit (posterior, data rows, configuration) to a netCDF file, or for a
        path ending in ``.npz`` to a numpy archive (what the fit cache uses: read about 7x
        faster, see ``forecast._compat.save_arrays``). :func:`load_fit` reads both.

        An existing file is replaced only with ``overwrite=True``.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise ForecastError(f"{path} exists; pass overwrite=True to replace it")
        self._stored.attrs["forecast_rows"] = self.model.rows_to_store(self.rows).to_json(
            orient="records", date_format="iso", double_precision=15
        )
        # Stored so that loading a fit need not recompute r_hat and ESS (issue 16: 0.2 s
        # per fit, 17 fits in a warm report); they are those of the posterior saved here.
        health = self.diagnostics()
        self._stored.attrs["forecast_diagnostics"] = json.dumps(
            {k: getattr(health, k) for k in ("r_hat_max", "ess_bulk_min", "divergences")}
        )
        # Through a temporary sibling: a full disk leaves the earlier file, never half a
        # file (persist.write_file_atomic raises WriteError naming the path).
        persist.write_file_atomic(path, lambda tmp: _compat.save(self.idata, tmp), overwrite=True)
        return path


class _NativeFit:
    """``DemandFit.idata``: a fit read from disk is kept as the DataTree
    :func:`_compat.load` returns (reading and projecting it needs no ArviZ, about 1 s of
    imports, issue 16) and becomes the installed ArviZ's own type (``InferenceData`` on
    ArviZ 0.x) the first time anyone reads ``idata``."""

    def __get__(self, fit, owner=None):
        if fit is None:
            return self
        stored = fit.__dict__["idata"]
        native = _compat.native(stored)
        if native is not stored:
            native.attrs.update(stored.attrs)
            fit.__dict__["idata"] = native
        return native

    def __set__(self, fit, value) -> None:
        fit.__dict__["idata"] = value


# After @dataclass, which generated __init__ (``self.idata = idata`` goes through __set__).
DemandFit.idata = _NativeFit()


def model_from_config(config: dict) -> DemandModel:
    """Rebuild a demand model from :meth:`DemandModel.config`."""
    from forecast.registry import fitted_classes

    cls = {c.name: c for c in fitted_classes()}
    kwargs = {k: v for k, v in config.items() if k not in ("name", "value_column")}
    try:
        return cls[config["name"]](**kwargs)
    except (KeyError, TypeError) as exc:
        raise ForecastError(f"unknown demand model configuration {config}") from exc


def load_fit(path: str | Path) -> DemandFit:
    """Read a fit written by :meth:`DemandFit.save` (netCDF, or ``.npz``)."""
    try:
        idata = _compat.load(Path(path))
    except ValueError as exc:  # e.g. an .npz archive that is not a fit
        raise ForecastError(f"{path}: not a forecast demand fit ({exc})") from exc
    attrs = idata.attrs
    try:
        model = model_from_config(json.loads(attrs["forecast_model"]))
        sampler = SamplerConfig(**json.loads(attrs["forecast_sampler"]))
        scaling = _Scaling(**json.loads(attrs["forecast_scaling"]))
        rows = pd.read_json(io.StringIO(attrs["forecast_rows"]), orient="records")
    except KeyError as exc:
        raise ForecastError(f"{path}: not a forecast demand fit (missing {exc})") from exc
    rows["date"] = pd.to_datetime(rows["date"])
    if "year" not in rows.columns:  # files written before "year" was stored
        from forecast.units import decimal_years

        rows["year"] = np.asarray(decimal_years(rows["date"]), dtype=float)
    health = None
    if "forecast_diagnostics" in attrs:  # absent in files written before 0.8.0
        health = Diagnostics(**json.loads(attrs["forecast_diagnostics"]))
    return DemandFit(
        model=model, idata=idata, rows=rows, scaling=scaling, sampler=sampler, _diagnostics=health
    )
