"""Demand v2: the size of the largest training run, a latent frontier with a damped trend.

The object is ``f(t)``, log10 tokens trained by the largest run at date ``t`` (decimal
years). Everything is in natural units: log10 tokens, decimal years, orders of magnitude
(OOM) per year.

**Trend.** The growth rate is constant within each calendar year (segments start at the
first data date and at every 1 January) and follows an AR(1) toward a long-run rate:

- ``rate_0 = mu + s0 z_0`` (``s0`` = :attr:`DampedFrontierTrend.initial_rate_sd`);
- ``rate_j = mu + phi (rate_{j-1} - mu) + sigma_eta z_j`` at each 1 January;
- ``f(t) = level_start + integral of the rate from the first data date to t``.

``sigma_eta -> 0`` is the straight line of :class:`forecast.demand.FrontierTrend`;
``phi -> 1`` is the random-walk slope of :class:`forecast.demand.RandomWalkSlopeTrend`.
With ``phi < 1`` the spread of the rate stays bounded at any horizon (it can bend, but
not explode), and the data decide how fast a deviation from ``mu`` fades.

**Observations.** Every run released (one per family: runs sharing one corpus are one
piece of evidence) sits a non-negative gap below the frontier, plus reporting noise:
``log10 D_i = f(t_i) - g_i + e_i``, ``g_i ~ Exponential(mean gap_scale)``,
``e_i ~ Normal(0, noise_sd)``, so ``-log10 D_i ~ ExGaussian(-f(t_i), noise_sd, gap_scale)``.
No row is selected by its own size. Rows published as bounds ("over 15T") are censored
observations. Runs whose size is undisclosed but whose training compute ``C`` is estimated
(not derived from 6ND of the same row) enter through ``C = 6 N D``:
``log10 D = (log10 C + rho - log10 6) / 2`` with ``rho`` = log10 tokens per active
parameter, from a regression on date and compute fitted to the runs that report both
(with at least :data:`RATIO_MIN_COMPUTE` FLOP)
(``rho ~ Normal(a + b (t - 2024) + c (log10 C - 25), ratio_sd)``), plus the compute
estimate's own error (:data:`COMPUTE_ESTIMATE_SD_OOM`). Their sizes are latent variables
with posteriors (``undisclosed_log10_tokens``).

**Projection.** From the data date each trajectory continues the AR(1) of the rate with
fresh innovations every 1 January (parameter uncertainty and the future's own), and the
largest run never shrinks (a trajectory's running maximum: the largest run can always
reuse its predecessor's data). Nothing is frozen per trajectory.

Priors (natural units; justified in docs/model.md, "Demand v2", and checked by
:func:`prior_predictive_checks`) are the class attributes of :class:`DampedFrontierTrend`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _compat
from forecast.demand.model import (
    _PAD_KNOT,
    DemandFit,
    DemandModel,
    _predictive_frame,
    _Scaling,
    drop_padding,
    growth_frame,
)
from forecast.errors import DataError

pm = _compat.lazy_module("pymc")
pt = _compat.lazy_module("pytensor.tensor")

#: sd (OOM) of an estimated training compute (hardware x time x utilisation). Epoch AI
#: describes its estimates as good to about a factor of 2-3; 0.2 OOM is a factor of 1.6
#: at one sd, 2.5 at two.
COMPUTE_ESTIMATE_SD_OOM = 0.2
#: The tokens-per-parameter regression uses runs of at least this compute (FLOP): every
#: undisclosed run it extrapolates to has 7.7e23-5e26 FLOP, and small runs are trained
#: far past their compute-optimal size (SmolLM2 1.7B: 6,500 tokens per parameter).
RATIO_MIN_COMPUTE = 1e24
#: Reference date and compute of the tokens-per-parameter regression.
RATIO_YEAR = 2024.0
RATIO_LOG10_COMPUTE = 25.0
LOG10_6 = float(np.log10(6.0))
#: log-sd of the LogNormal prior of the rate's yearly innovation.
INNOVATION_LOG_SD = 0.75
#: log-sd of the LogNormal prior of the noise around the frontier.
NOISE_LOG_SD = 0.5
#: Rows of the padded blocks (see :meth:`DampedFrontierTrend.graph_values`).
BLOCK = 8
#: Undisclosed runs are padded to multiples of this (at least one block): their latent
#: sizes are parameters, so their number fixes the compiled graph. 24 covers the bundled
#: table (18) and every backtest origin with one compile.
UNDISCLOSED_BLOCK = 24

_IDENTITY = _Scaling(0.0, 1.0, 0.0, 1.0)


def _pad(n: int, block: int = BLOCK, minimum: int = 0) -> int:
    return max(n + (-n % block), minimum)


def _frontier(fit: DemandFit) -> pd.DataFrame:
    """The fit's frontier rows (one run per family; ``role_frontier``)."""
    return fit.rows[fit.rows["role_frontier"].astype(bool)]


def _overlap(years: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Years of each segment ``[start, end)`` elapsed by each date: (date, segment)."""
    years = np.asarray(years, dtype=float).reshape(-1, 1)
    return np.clip(years - starts[None, :], 0.0, ends[None, :] - starts[None, :])


class DampedFrontierTrend(DemandModel):
    """The largest run's size: latent frontier with a damped local linear trend (v2)."""

    name = "damped-trend"
    label = "Frontier record with a damped trend (v2)"
    value_column = "tokens"
    frontier = False  # not fitted to the top-5 rows: not LOO-comparable with them
    min_rows = 6
    dense_mass = True
    #: The frontier is an edge with little noise: steps must be small near it (fits at
    #: 0.95 had 1-15 divergences on simulated frontiers, at 0.99 up to 44 on the 2024
    #: backtest cutoff's data; 0 at 0.995).
    min_target_accept = 0.995

    # --- priors (natural units) ----------------------------------------------------
    #: Long-run growth of the largest run, OOM/yr: Normal(mean, sd). Epoch AI measured
    #: 0.38 OOM/yr (95% 0.27-0.48) for the largest datasets to 2024 and a compute trend of
    #: 4-5x/yr implies 0.30-0.35 OOM/yr of tokens under Chinchilla allocation.
    long_run_rate_prior = (0.35, 0.15)
    #: Yearly persistence of a deviation of the rate from the long-run rate: Beta(a, b).
    #: Mean 0.8: half of a deviation fades in about three years.
    persistence_prior = (8.0, 2.0)
    #: Normal sd (OOM/yr) of the first segment's rate around the long-run rate. A fixed
    #: scale, not the AR(1)'s stationary one (which diverges as persistence -> 1 and
    #: made the sampler's geometry a funnel).
    initial_rate_sd = 0.5
    #: Median of the LogNormal prior (log-sd :data:`INNOVATION_LOG_SD`: 95% 0.035-0.65)
    #: of the yearly innovation of the rate, OOM/yr per year. Zero-avoiding: with a
    #: HalfNormal or Gamma(2) prior the centred rates made a funnel at innovations below
    #: 0.02 (divergences in the recovery tests); the straight-line limit is approached,
    #: not reached.
    innovation_prior_median = 0.15
    #: Normal sd (OOM) of the frontier's level at the first data date, around the
    #: largest run of the data's first year.
    level_prior_sd = 1.0
    #: HalfNormal scale (OOM) of the mean gap of a run below the frontier.
    gap_prior_sd = 1.0
    #: Median (OOM) of the LogNormal prior (log-sd :data:`NOISE_LOG_SD`: 95% 0.038-0.27)
    #: of the scatter of runs around the frontier edge. Zero-avoiding: as it goes to 0
    #: the gap distribution becomes a hard edge the sampler cannot traverse (divergences
    #: at 0.004-0.006 in backtest fits with a Gamma(2) prior); token counts are reported
    #: to 10-30% (0.04-0.11 OOM), so the floor is physical.
    noise_prior_median = 0.1
    #: Tokens-per-parameter regression: Normal priors of the intercept (log10 ratio at
    #: 2024 and 1e25 FLOP; 1.5 = 32 tokens per parameter), the time and compute slopes,
    #: and the HalfNormal scale of its residual.
    ratio_intercept_prior = (1.5, 1.0)
    ratio_time_prior_sd = 0.3
    ratio_compute_prior_sd = 0.5
    ratio_sd_prior = 0.5

    #: Rates parametrised centred (their AR(1) as prior density) or non-centred.
    centred = True

    def __init__(self, undisclosed: bool = True, censored: bool = True) -> None:
        #: Use undisclosed runs through their compute (else they are left out).
        self.undisclosed = bool(undisclosed)
        #: Treat published bounds as censored (else as exact sizes, as 0.2 did).
        self.censored = bool(censored)

    def config(self) -> dict:
        out = {"name": self.name, "value_column": self.value_column}
        # Ablations (benchmarks/demand_v2_ablation.py) only; the defaults keep 0.3's key.
        if not self.undisclosed:
            out["undisclosed"] = False
        if not self.censored:
            out["censored"] = False
        return out

    stored_columns = (
        "model",
        "date",
        "year",
        "tokens",
        "tokens_bound",
        "compute_flop",
        "compute_source",
        "disclosure",
        "family",
        "role_frontier",
        "role_ratio",
    )

    # --- rows ------------------------------------------------------------------------

    def select(self, models: pd.DataFrame) -> pd.DataFrame:
        """Every run with a size or an independent compute estimate, one per family
        (``role_frontier``), and the runs reporting both tokens and compute, for the
        tokens-per-parameter regression (``role_ratio``)."""
        rows = models.sort_values(["date", "model"]).copy()
        tokens = pd.to_numeric(rows["tokens"], errors="coerce")
        if "compute_flop" not in rows.columns:
            rows["compute_flop"] = np.nan
        compute = pd.to_numeric(rows["compute_flop"], errors="coerce")
        bound = rows.get("tokens_bound", pd.Series("exact", index=rows.index)).fillna("exact")
        source = rows.get("compute_source", pd.Series("", index=rows.index)).fillna("")
        rows["compute_source"] = source  # "" = unknown: treated as an estimate
        has_tokens = tokens.gt(0)
        has_compute = compute.gt(0)
        # Compute derived from 6ND of the same row is that row's size again, not evidence.
        independent = has_compute & source.ne("derived-6ND")
        candidate = has_tokens | (independent if self.undisclosed else False)
        family = rows.get("family", pd.Series("", index=rows.index)).fillna("").astype(str)
        family = family.where(family != "", rows["model"].astype(str))
        order = pd.DataFrame(
            {
                "family": family,
                "disclosed": has_tokens.astype(int),
                "size": np.where(has_tokens, tokens, compute).astype(float),
            },
            index=rows.index,
        )[candidate]
        keep = order.sort_values(["disclosed", "size"], ascending=False)
        keep = keep[~keep["family"].duplicated()].index
        rows["role_frontier"] = rows.index.isin(keep)
        # Ratio rows: sizes with compute that is not itself an estimate (an estimate's
        # error would enter the ratio's scatter and then again for undisclosed runs).
        rows["role_ratio"] = (
            has_tokens & compute.ge(RATIO_MIN_COMPUTE) & bound.eq("exact") & source.ne("estimate")
        )
        if "tokens_bound" not in rows.columns:
            rows["tokens_bound"] = np.where(has_tokens, "exact", "")
        if not self.censored:
            rows["tokens_bound"] = np.where(has_tokens, "exact", rows["tokens_bound"])
        return rows[rows["role_frontier"] | rows["role_ratio"]]

    def _check_rows(self, rows: pd.DataFrame) -> None:
        front = rows[rows["role_frontier"]]
        if len(front) > 1 and np.ptp(front["year"].to_numpy(dtype=float)) <= 0:
            raise DataError(
                f"the {self.label} needs models released on at least two different dates "
                "to estimate growth; all selected models share one date",
                column="date",
            )
        disclosed = front[front["tokens"].notna()]
        if len(disclosed) < self.min_rows:
            raise DataError(
                f"the {self.label} needs at least {self.min_rows} models with 'tokens' "
                f"(one per family), got {len(disclosed)}",
                file=None,
                column="tokens",
            )

    # --- graph -----------------------------------------------------------------------

    @staticmethod
    def segments(first_year: float, last_year: float) -> tuple[np.ndarray, np.ndarray]:
        """Starts and ends (decimal years) of the constant-rate segments of the data span:
        the first data date, then each 1 January; the last ends at the data date."""
        knots = np.arange(np.floor(first_year) + 1.0, np.ceil(last_year), dtype=float)
        starts = np.concatenate([[first_year], knots])
        ends = np.concatenate([knots, [last_year]])
        return starts, ends

    def prepare(self, rows: pd.DataFrame) -> tuple[dict[str, np.ndarray], _Scaling]:
        return self.graph_values(rows), _IDENTITY

    def graph_values(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every data-dependent value of the graph (``pm.Data``), in natural units.

        Segments and censored rows are padded to blocks of :data:`BLOCK`, undisclosed
        runs to at least :data:`UNDISCLOSED_BLOCK` (padding touches no likelihood term and
        is dropped from the posterior), so fits to data of different spans share one
        compiled sampler: only the segments' and undisclosed runs' padded counts fix it.
        """
        front = rows[rows["role_frontier"]]
        t_first, t_last = (float(v) for v in front["year"].agg(["min", "max"]))
        starts, ends = self.segments(t_first, t_last)
        n_seg = len(starts)
        pad = _pad(n_seg) - n_seg
        starts = np.concatenate([starts, np.full(pad, _PAD_KNOT)])
        ends = np.concatenate([ends, np.full(pad, _PAD_KNOT)])

        tokens = front["tokens"].to_numpy(dtype=float)
        bound = front["tokens_bound"].fillna("exact").astype(str).to_numpy()
        years = front["year"].to_numpy(dtype=float)
        disclosed = np.isfinite(tokens) & (tokens > 0)
        exact = disclosed & ~np.isin(bound, ["lower", "upper"])
        censored = disclosed & ~exact
        undisclosed = ~disclosed

        def padded(values: np.ndarray, block: int = BLOCK) -> np.ndarray:
            values = np.asarray(values, dtype=float)
            size = _pad(len(values), block, minimum=0 if block == BLOCK else block)
            return np.concatenate([values, np.zeros((size - len(values), *values.shape[1:]))])

        def und(values: np.ndarray) -> np.ndarray:
            return padded(values, UNDISCLOSED_BLOCK)

        compute_u = front["compute_flop"].to_numpy(dtype=float)[undisclosed]
        ratio = rows[rows["role_ratio"]]
        r_tokens = ratio["tokens"].to_numpy(dtype=float)
        r_compute = ratio["compute_flop"].to_numpy(dtype=float)
        first_year = disclosed & (years <= t_first + 1.0)
        anchor = np.log10(tokens[first_year].max() if first_year.any() else np.nanmax(tokens))
        last = np.zeros(len(starts))
        last[n_seg - 1] = 1.0
        return {
            "seg_start": starts,
            "seg_end": ends,
            "last_segment": last,
            "seg_real": (starts < _PAD_KNOT).astype(float),
            "level_anchor": np.array(anchor),
            "obs_overlap": _overlap(years[exact], starts, ends),
            "obs_value": -np.log10(tokens[exact]),
            "cens_overlap": padded(_overlap(years[censored], starts, ends)),
            "cens_value": padded(-np.log10(tokens[censored])),
            "cens_lower": padded((bound[censored] == "lower").astype(float)),
            "cens_upper": padded((bound[censored] == "upper").astype(float)),
            "und_overlap": und(_overlap(years[undisclosed], starts, ends)),
            "und_log10_compute": und(np.log10(compute_u) - RATIO_LOG10_COMPUTE),
            "und_time": und(years[undisclosed] - RATIO_YEAR),
            "und_mask": und(np.ones(int(undisclosed.sum()))),
            "und_compute_sd": und(
                np.where(
                    front["compute_source"].fillna("").to_numpy()[undisclosed] == "reported",
                    0.0,
                    COMPUTE_ESTIMATE_SD_OOM,
                )
            ),
            "ratio_value": np.log10(6.0 * r_tokens**2 / r_compute),
            "ratio_time": ratio["year"].to_numpy(dtype=float) - RATIO_YEAR,
            "ratio_log10_compute": np.log10(r_compute) - RATIO_LOG10_COMPUTE,
        }

    #: Data whose length may change without recompiling (see DemandModel.structure).
    _OBSERVATIONS = (
        "obs_overlap",
        "obs_value",
        "cens_overlap",
        "cens_value",
        "cens_lower",
        "cens_upper",
        "ratio_value",
        "ratio_time",
        "ratio_log10_compute",
    )

    #: Data used to label the posterior, not by the graph.
    _LABELS_ONLY = ("seg_start", "seg_end")

    def _build(self, values: Mapping[str, np.ndarray]) -> pm.Model:
        n_seg = len(values["seg_start"])
        with pm.Model() as model:
            d = {
                name: pm.Data(name, value)
                for name, value in values.items()
                if name not in self._LABELS_ONLY
            }
            mu = pm.Normal("long_run_rate", *self.long_run_rate_prior)
            phi = pm.Beta("persistence", *self.persistence_prior)
            sigma_eta = pm.LogNormal(
                "rate_innovation_sd", np.log(self.innovation_prior_median), INNOVATION_LOG_SD
            )
            if self.centred:
                rate = self._centred_rates(mu, phi, sigma_eta, d["seg_real"], n_seg)
            else:
                rate = self._non_centred_rates(mu, phi, sigma_eta, n_seg)
            pm.Deterministic("rate_now", pt.dot(d["last_segment"], rate))
            # Non-centred, so the sampler's starting point does not depend on the data
            # (a compiled sampler reused for new data keeps its first initial point).
            level_z = pm.Normal("level_start_z", 0.0, 1.0)
            level = pm.Deterministic(
                "level_start", d["level_anchor"] + self.level_prior_sd * level_z
            )
            gap = pm.HalfNormal("gap_scale", self.gap_prior_sd)
            noise = pm.LogNormal("noise_sd", np.log(self.noise_prior_median), NOISE_LOG_SD)

            def frontier(overlap):
                return level + pt.dot(overlap, rate)

            pm.ExGaussian(
                "y",
                mu=-frontier(d["obs_overlap"]),
                sigma=noise,
                nu=gap,
                observed=d["obs_value"],
            )
            cens = pm.ExGaussian.dist(mu=-frontier(d["cens_overlap"]), sigma=noise, nu=gap)
            pm.Potential(
                "censored",
                pt.sum(
                    d["cens_lower"] * pm.logcdf(cens, d["cens_value"])
                    + d["cens_upper"] * pm.logccdf(cens, d["cens_value"])
                ),
            )
            a = pm.Normal("ratio_intercept", *self.ratio_intercept_prior)
            b = pm.Normal("ratio_time_slope", 0.0, self.ratio_time_prior_sd)
            c = pm.Normal("ratio_compute_slope", 0.0, self.ratio_compute_prior_sd)
            ratio_sd = pm.HalfNormal("ratio_sd", self.ratio_sd_prior)
            pm.Normal(
                "ratio",
                a + b * d["ratio_time"] + c * d["ratio_log10_compute"],
                ratio_sd,
                observed=d["ratio_value"],
            )
            n_und = len(values["und_mask"])
            u = pm.Normal("undisclosed_z", 0.0, 1.0, shape=n_und)
            rho = a + b * d["und_time"] + c * d["und_log10_compute"]
            # The compute error enters log10 D directly and through the regression's
            # compute term: (1 + c) times it.
            spread = pt.sqrt(ratio_sd**2 + ((1.0 + c) * d["und_compute_sd"]) ** 2)
            log10_tokens = pm.Deterministic(
                "undisclosed_log10_tokens",
                0.5 * (d["und_log10_compute"] + RATIO_LOG10_COMPUTE + rho + spread * u - LOG10_6),
            )
            und = pm.ExGaussian.dist(mu=-frontier(d["und_overlap"]), sigma=noise, nu=gap)
            pm.Potential("undisclosed", pt.sum(d["und_mask"] * pm.logp(und, -log10_tokens)))
        return model

    def _centred_rates(self, mu, phi, sigma_eta, real, n_seg):
        # The AR(1) written as the rates' prior density. Padded segments touch no data and
        # get a unit-normal placeholder density.
        rate = pm.Flat("rate", shape=n_seg)
        mean = mu + phi * (pt.concatenate([pt.stack([mu]), rate[:-1]]) - mu)
        sd = pt.concatenate(
            [pt.stack([pt.as_tensor(self.initial_rate_sd)]), pt.ones(n_seg - 1) * sigma_eta]
        )
        pm.Potential(
            "rate_prior",
            pt.sum(
                real * pm.logp(pm.Normal.dist(mean, sd), rate)
                + (1.0 - real) * pm.logp(pm.Normal.dist(0.0, 1.0), rate)
            ),
        )
        return rate

    def _non_centred_rates(self, mu, phi, sigma_eta, n_seg):
        # rate_j - mu = sum_k phi^(j-k) innovation_k: standard-normal innovations scaled.
        z = pm.Normal("rate_z", 0.0, 1.0, shape=n_seg)
        lag = np.subtract.outer(np.arange(n_seg), np.arange(n_seg))
        decay = pt.where(lag >= 0, phi ** np.maximum(lag, 0), 0.0)
        innovations = pt.concatenate([self.initial_rate_sd * z[:1], sigma_eta * z[1:]])
        return pm.Deterministic("rate", mu + pt.dot(decay, innovations))

    def label_posterior(self, posterior: xr.Dataset, scaling: _Scaling, values) -> xr.Dataset:
        """Segments get the dimension ``segment`` (start years), undisclosed runs the
        dimension ``undisclosed`` (row order of ``role_frontier`` rows without tokens);
        padding is dropped."""
        real_seg = values["seg_start"] < _PAD_KNOT
        real_und = values["und_mask"] > 0
        vectors = {name: ("segment", real_seg) for name in ("rate", "rate_z")}
        vectors |= {
            name: ("undisclosed", real_und)
            for name in ("undisclosed_z", "undisclosed_log10_tokens")
        }
        return drop_padding(
            posterior,
            vectors,
            {
                "segment": np.round(values["seg_start"][real_seg], 6),
                "undisclosed": np.arange(int(real_und.sum())),
            },
        )

    # --- posterior draws -------------------------------------------------------------

    @staticmethod
    def _segment_bounds(fit: DemandFit) -> tuple[np.ndarray, np.ndarray, float]:
        t_last = float(_frontier(fit)["year"].max())
        starts = fit.posterior["segment"].to_numpy().astype(float)
        ends = np.concatenate([starts[1:], [t_last]])
        return starts, ends, t_last

    def draw_params(self, fit: DemandFit, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
        post = fit.posterior
        out = {}
        for name in (
            "level_start",
            "rate",
            "long_run_rate",
            "persistence",
            "rate_innovation_sd",
            "gap_scale",
            "noise_sd",
        ):
            values = post[name].to_numpy()
            values = values.reshape(values.shape[0] * values.shape[1], -1)
            out[name] = values if idx is None else values[idx]
        out["seg_start"], out["seg_end"], out["t_last"] = self._segment_bounds(fit)
        return out

    def _mean(self, params: dict, x):
        """Fitted frontier f (draw, date) at decimal years ``x`` (1, date), held flat
        after the data date (use :meth:`project_log10` beyond it)."""
        overlap = _overlap(np.ravel(x), params["seg_start"], params["seg_end"])
        mean = params["rate"] @ overlap.T
        mean += params["level_start"]  # in place: the same sum, one (draw, date) array less
        return mean

    def _slope(self, params: dict, x: float) -> np.ndarray:
        inside = np.flatnonzero(params["seg_start"] <= x)
        return params["rate"][:, inside[-1] if len(inside) else 0]

    def simulate(
        self, params: dict, years: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frontier state and growth rate (draw, year), before the running maximum.

        Dates up to the data date follow the fitted path; later ones continue the AR(1)
        of the rate with a fresh innovation every 1 January.
        """
        return self._simulate(params, years, rng, with_rate=True)

    def _simulate(self, params, years, rng, with_rate: bool):
        years = np.asarray(years, dtype=float)
        t_last = params["t_last"]
        n = len(params["level_start"])
        past_years = np.minimum(years, t_last)
        past = self._mean(params, past_years[None, :])
        # Every 1 January after the data date (and on it, when the data date is one).
        knots = np.arange(np.ceil(t_last), years.max(initial=t_last), dtype=float)
        mu = params["long_run_rate"][:, 0]
        phi = params["persistence"][:, 0]
        sigma = params["rate_innovation_sd"][:, 0]
        rates = np.empty((n, len(knots) + 1))
        rates[:, 0] = params["rate"][:, -1]
        shocks = rng.standard_normal((n, len(knots)))
        for k in range(len(knots)):
            rates[:, k + 1] = mu + phi * (rates[:, k] - mu) + sigma * shocks[:, k]
        starts = np.concatenate([[t_last], knots])
        ends = np.concatenate([knots, [np.inf]])
        covered = np.clip(years[:, None] - starts[None, :], 0.0, ends - starts)  # (year, seg)
        state = rates @ covered.T
        state += past  # in place: the same sum, one (draw, date) array less
        del past
        if not with_rate:
            return state, None
        # The rate in force at each date: the fitted segment's (as :meth:`_slope`) up to
        # the data date, the projected one after it.
        fitted = np.clip(
            np.searchsorted(params["seg_start"], past_years, side="right") - 1, 0, None
        )
        projected = np.clip(np.searchsorted(starts, years, side="right") - 1, 0, None)
        rate = np.where(years[None, :] > t_last, rates[:, projected], params["rate"][:, fitted])
        return state, rate

    def _draw_index(self, fit: DemandFit, n_draws: int | None, rng) -> np.ndarray:
        """Posterior draws to use: all of them, or ``n_draws`` resampled."""
        total = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
        return np.arange(total) if n_draws is None else rng.integers(0, total, size=n_draws)

    def project_log10(self, fit, years, n_draws, rng) -> np.ndarray:
        """The largest run: the frontier state's running maximum along each trajectory."""
        params = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        state, _ = self._simulate(params, years, rng, with_rate=False)
        return np.maximum.accumulate(state, axis=1, out=state)

    def growth_draws(
        self, fit: DemandFit, years, n_draws: int = 4000, seed: int | None = 0
    ) -> np.ndarray:
        """Draws (draw, year) of the growth rate in OOM/yr at ``years``."""
        rng = np.random.default_rng(seed)
        params = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        _, rate = self.simulate(params, np.atleast_1d(years), rng)
        return rate

    # --- prior -----------------------------------------------------------------------

    def sample_prior(
        self, values: Mapping[str, np.ndarray], n: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """``n`` draws of the trend's parameters from the prior, in :meth:`draw_params`'s
        layout, for the segments of ``values`` (:meth:`graph_values`)."""
        real = values["seg_start"] < _PAD_KNOT
        starts = values["seg_start"][real]
        ends = values["seg_end"][real]
        mu = rng.normal(*self.long_run_rate_prior, size=(n, 1))
        phi = rng.beta(*self.persistence_prior, size=(n, 1))
        sigma = self.innovation_prior_median * np.exp(
            INNOVATION_LOG_SD * rng.standard_normal((n, 1))
        )
        rate = np.empty((n, len(starts)))
        rate[:, 0] = mu[:, 0] + self.initial_rate_sd * rng.standard_normal(n)
        for j in range(1, len(starts)):
            rate[:, j] = (
                mu[:, 0]
                + phi[:, 0] * (rate[:, j - 1] - mu[:, 0])
                + sigma[:, 0] * rng.standard_normal(n)
            )
        return {
            "level_start": rng.normal(float(values["level_anchor"]), self.level_prior_sd, (n, 1)),
            "rate": rate,
            "long_run_rate": mu,
            "persistence": phi,
            "rate_innovation_sd": sigma,
            "gap_scale": np.abs(rng.normal(0.0, self.gap_prior_sd, size=(n, 1))),
            "noise_sd": self.noise_prior_median
            * np.exp(NOISE_LOG_SD * rng.standard_normal((n, 1))),
            "seg_start": starts,
            "seg_end": ends,
            "t_last": float(ends[-1]),
        }

    def prior_predictive_checks(
        self, models: pd.DataFrame, at_year: float = 2035.0, n: int = 20_000, seed: int = 0
    ) -> dict[str, float]:
        """What the priors alone say about ``at_year`` (no data beyond the dates):
        P(growth rate above 2 OOM/yr) and P(frontier below its level at the data date)."""
        rows = self.select(models)
        values = self.graph_values(rows)
        rng = np.random.default_rng(seed)
        params = self.sample_prior(values, n, rng)
        years = np.array([params["t_last"], at_year])
        state, rate = self.simulate(params, years, rng)
        return {
            "year": float(at_year),
            "p_rate_above_2_oom": float(np.mean(rate[:, 1] > 2.0)),
            "p_below_data_date": float(np.mean(state[:, 1] < state[:, 0])),
            "draws": int(n),
        }

    # --- checks ----------------------------------------------------------------------

    def _rows_arrays(self, fit: DemandFit):
        front = _frontier(fit)
        tokens = front["tokens"].to_numpy(dtype=float)
        bound = front["tokens_bound"].fillna("exact").astype(str).to_numpy()
        return front, tokens, bound

    def log_likelihood(self, fit: DemandFit) -> np.ndarray:
        """Pointwise log-likelihood (draw, row) of the disclosed frontier rows: the
        density for exact sizes, the probability of the bound for censored ones."""
        front, tokens, bound = self._rows_arrays(fit)
        keep = np.isfinite(tokens)
        params = self.draw_params(fit)
        f = self._mean(params, front["year"].to_numpy(dtype=float)[keep][None, :])
        v = -np.log10(tokens[keep])[None, :]
        args = (v, -f, params["noise_sd"], params["gap_scale"])
        kind = bound[keep][None, :]
        return np.where(
            kind == "lower",
            exgaussian_logcdf(*args),
            np.where(kind == "upper", exgaussian_logsf(*args), exgaussian_logpdf(*args)),
        )

    def predictive_rows(self, fit: DemandFit, n_draws: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        front, tokens, _ = self._rows_arrays(fit)
        keep = np.isfinite(tokens)
        years = front["year"].to_numpy(dtype=float)[keep]
        params = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        f = self._mean(params, years[None, :])
        gap = rng.exponential(1.0, f.shape) * params["gap_scale"]
        pred = f - gap + rng.standard_normal(f.shape) * params["noise_sd"]
        return _predictive_frame(fit.name, years, np.log10(tokens[keep]), pred)

    def n_rows_used(self, rows: pd.DataFrame) -> int:
        """Frontier runs (one per family); the ratio regression's extra rows not counted."""
        return int(rows["role_frontier"].astype(bool).sum())

    def usage(self, fit: DemandFit) -> dict:
        """Rows used (the frontier rows: one per family), the censored rows with their
        bound, the undisclosed runs with their posterior tokens, the rows of the
        tokens-per-parameter regression, the growth table and the prior checks."""
        front, tokens, bound = self._rows_arrays(fit)
        censored = np.isin(bound, ["lower", "upper"]) & np.isfinite(tokens)
        undisclosed = self.undisclosed_table(fit)
        growth = self.growth_table(fit)
        return {
            "rows_used": [str(m) for m in front["model"]],
            "censored": [
                {"model": str(m), "tokens": float(t), "bound": str(b)}
                for m, t, b in zip(
                    front["model"][censored], tokens[censored], bound[censored], strict=True
                )
            ],
            "undisclosed": [
                {
                    "model": str(r.model),
                    "compute_flop": float(r.compute_flop),
                    "tokens_median": float(r.tokens_median),
                    "tokens_p10": float(r.tokens_p10),
                    "tokens_p90": float(r.tokens_p90),
                }
                for r in undisclosed.itertuples()
            ],
            "ratio_rows": [
                str(m) for m in fit.rows.loc[fit.rows["role_ratio"].astype(bool), "model"]
            ],
            "growth_oom_per_year": [
                {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
                for row in growth[["at", "oom_per_year", "oom_p10", "oom_p90"]].to_dict("records")
            ],
            "prior_predictive": self.prior_predictive_checks(fit.rows),
        }

    def undisclosed_table(self, fit: DemandFit) -> pd.DataFrame:
        """Undisclosed runs used: compute, and the posterior median and 80% interval of
        their tokens (the frontier and the tokens-per-parameter trend together)."""
        front = _frontier(fit)
        und = front[~np.isfinite(front["tokens"].to_numpy(dtype=float))]
        draws = fit.posterior["undisclosed_log10_tokens"].to_numpy()
        draws = draws.reshape(-1, draws.shape[-1])
        q = 10 ** np.quantile(draws, [0.1, 0.5, 0.9], axis=0) if len(und) else np.zeros((3, 0))
        return pd.DataFrame(
            {
                "model": und["model"].to_numpy(),
                "year": und["year"].to_numpy(dtype=float),
                "compute_flop": und["compute_flop"].to_numpy(dtype=float),
                "tokens_median": q[1],
                "tokens_p10": q[0],
                "tokens_p90": q[2],
            }
        )

    def growth_table(
        self, fit: DemandFit, at_years=(2030.0, 2035.0), n_draws: int = 4000, seed: int = 0
    ) -> pd.DataFrame:
        """Growth of the largest run in OOM/yr and x/yr: at the data date, at ``at_years``
        and in the long run (median and 80% interval)."""
        _, _, t_last = self._segment_bounds(fit)
        years = np.array([t_last, *at_years], dtype=float)
        rate = self.growth_draws(fit, years, n_draws, seed)
        long_run = fit.posterior["long_run_rate"].to_numpy().reshape(-1)
        labels = [f"data date ({t_last:.1f})", *(f"{y:g}" for y in at_years), "long run"]
        return growth_frame(labels, [*rate.T, long_run])


# --- the ExGaussian in closed form (scipy's exponnorm integrates its cdf numerically) -----
# X = Normal(mu, sigma) + Exponential(mean nu); z = (x - mu) / sigma.


def _exgaussian_tail(x, mu, sigma, nu):
    """log of exp(-(x - mu)/nu + sigma^2/(2 nu^2)) * Phi(z - sigma/nu)."""
    from scipy.special import log_ndtr

    return (mu - x) / nu + sigma**2 / (2.0 * nu**2) + log_ndtr((x - mu) / sigma - sigma / nu)


def exgaussian_logpdf(x, mu, sigma, nu):
    """log density of the ExGaussian (PyMC's parametrisation: ``nu`` is the exponential's mean)."""
    return -np.log(nu) + _exgaussian_tail(x, mu, sigma, nu)


def exgaussian_logcdf(x, mu, sigma, nu):
    """log P(X <= x) = log(Phi(z) - tail)."""
    from scipy.special import log_ndtr

    head = log_ndtr((x - mu) / sigma)
    diff = np.minimum(_exgaussian_tail(x, mu, sigma, nu) - head, -1e-300)
    return head + np.log(-np.expm1(diff))


def exgaussian_logsf(x, mu, sigma, nu):
    """log P(X > x) = log(Phi(-z) + tail)."""
    from scipy.special import log_ndtr

    return np.logaddexp(log_ndtr(-(x - mu) / sigma), _exgaussian_tail(x, mu, sigma, nu))
