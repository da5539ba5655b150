"""The 0.2-era demand models: log-linear trends of training-set size (tokens) or
training compute (FLOP) over time, each a :class:`~forecast.demand.model.DemandModel`
(standardised units and Student-t residuals: see :mod:`forecast.demand.model`).

- :class:`ExponentialTrend`: log-linear trend over all notable language models
  (the population model, comparable to Epoch AI's bootstrap regression).
- :class:`FrontierTrend`: the same on the *frontier* rows only (see
  :func:`frontier_rows`): the largest training sets, which is what meets the stock.
- :class:`SlowdownTrend`: frontier growth with a smooth changepoint in the slope, so
  "is growth slowing?" is answered by the data (posterior of the slope change).
- :class:`RandomWalkSlopeTrend`: frontier growth whose rate changes every year by a
  random step (an integrated random walk); projections continue the walk, so their band
  widens with the horizon as fast as growth has changed in the past.
- :class:`ComputeTrend`: the frontier training-compute trend (FLOP), converted to
  tokens by Chinchilla-optimal allocation ``D = sqrt(r * k * C / 6)``.

Projections are draws of the fitted quantity at the requested dates: each draw is a
posterior draw of the trend line (for the random walk: plus its future steps) and one
residual drawn once per trajectory, so every date's marginal is the posterior predictive
and each trajectory is smooth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _compat
from forecast.demand.model import (
    _PAD_KNOT,
    CHINCHILLA_TOKENS_PER_PARAMETER,
    DemandModel,
    _Scaling,
    chinchilla_tokens,
    drop_padding,
)
from forecast.errors import ForecastError

pm = _compat.lazy_module("pymc")
pt = _compat.lazy_module("pytensor.tensor")

#: Number of largest runs at release that define the frontier.
FRONTIER_K = 5


def frontier_rows(models: pd.DataFrame, value: str = "tokens", k: int = FRONTIER_K) -> pd.DataFrame:
    """Rows that were among the ``k`` largest (by ``value``) of all runs released up to their date.

    A ``family`` column (runs sharing one corpus and release) counts each family once,
    by its largest run.

    Why this definition: exhaustion happens when the *largest* runs meet the stock, so
    the frontier, not the typical model, is what must be projected. A strict record
    (k = 1) keeps too few points to estimate a trend with its uncertainty; top-5 at
    release keeps the upper envelope while using every row to decide membership.
    """
    rows = models.dropna(subset=[value]).sort_values(["date", "model"])
    if "family" in rows.columns:
        # Runs that share one corpus and release (e.g. Llama 2 7B/13B/70B) are one piece
        # of evidence about the frontier, not three: keep each family's largest run.
        family = rows["family"].where(rows["family"].astype(str) != "", rows["model"])
        order = rows.assign(_family=family, _neg=-rows[value].to_numpy(dtype=float))
        keep = order.sort_values(["_neg", "date", "model"]).drop_duplicates("_family").index
        rows = rows.loc[rows.index.isin(keep)]
    return rows[_top_k_at_release(rows["date"].to_numpy(), rows[value].to_numpy(float), k)]


def _top_k_at_release(dates: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Mask of rows with fewer than ``k`` strictly larger values among the rows released
    no later than them (same date included). O(n log k) time and O(n) memory: a heap of
    the ``k`` largest values so far, updated one release date at a time."""
    import heapq

    keep = np.zeros(len(values), dtype=bool)
    order = np.argsort(dates, kind="stable")
    top: list[float] = []  # min-heap of the k largest values seen
    start = 0
    while start < len(order):
        end = start
        while end < len(order) and dates[order[end]] == dates[order[start]]:
            end += 1
        group = order[start:end]
        for v in values[group]:
            if len(top) < k:
                heapq.heappush(top, v)
            elif v > top[0]:
                heapq.heapreplace(top, v)
        # fewer than k strictly larger values <=> fewer than k seen, or the k-th largest <= v
        keep[group] = True if len(top) < k else values[group] >= top[0]
        start = end
    return keep


class ExponentialTrend(DemandModel):
    """Log-linear growth of all notable language models' training sets (population)."""


class FrontierTrend(DemandModel):
    """Log-linear growth of the frontier: the ``k`` largest runs at release."""

    name = "frontier"
    label = "Frontier exponential trend"
    frontier = True

    def __init__(self, k: int = FRONTIER_K) -> None:
        if k < 1:
            raise ForecastError(f"frontier k must be >= 1, got {k}")
        self.k = k

    def config(self) -> dict:
        return {**super().config(), "k": self.k}

    def select(self, models: pd.DataFrame) -> pd.DataFrame:
        return frontier_rows(models, self.value_column, self.k)


class SlowdownTrend(FrontierTrend):
    """Frontier growth whose slope can change once, smoothly, at an unknown date.

    ``mean = a + b1 x + (b2 - b1) * w * softplus((x - c) / w)``: slope ``b1`` before the
    changepoint ``c`` and ``b2`` after it, with a transition about ``w`` wide. The slope
    change has a Normal(0, 0.5) prior (half the slope's scale: a bend, not a new trend). ``c`` has
    a Beta(2, 2) prior stretched over the middle 80% of the data's dates, so it is never
    placed where no data can inform it. The posterior of ``slope_after - slope`` answers
    "is growth slowing?".
    """

    name = "slowdown"
    label = "Frontier trend with a changepoint"
    min_rows = 6
    transition_width = 0.3  # standardised date units (~0.5-1 year on the bundled data)

    def graph_data(self, x, y, scaling) -> dict[str, np.ndarray]:
        lo, hi = np.quantile(x, [0.1, 0.9])
        return {**super().graph_data(x, y, scaling), "changepoint_range": np.array([lo, hi])}

    def _trend_priors(self, data: dict, values) -> dict:
        lo, hi = data["changepoint_range"][0], data["changepoint_range"][1]
        position = pm.Beta("changepoint_position", 2.0, 2.0)
        return {
            "intercept": pm.Normal("intercept", 0.0, 1.0),
            "slope": pm.Normal("slope", 0.0, 1.0),
            "slope_change": pm.Normal("slope_change", 0.0, 0.5),
            "changepoint": pm.Deterministic("changepoint", lo + (hi - lo) * position),
        }

    def _mean(self, params: dict, x):
        w = self.transition_width
        z = (x - params["changepoint"]) / w
        softplus = pt.softplus(z) if isinstance(z, pt.TensorVariable) else np.logaddexp(0.0, z)
        return params["intercept"] + params["slope"] * x + params["slope_change"] * w * softplus

    def _slope(self, params: dict, x: float) -> np.ndarray:
        z = (x - params["changepoint"][:, 0]) / self.transition_width
        weight = 1.0 / (1.0 + np.exp(-z))  # d softplus / dz
        return params["slope"][:, 0] + params["slope_change"][:, 0] * weight


class RandomWalkSlopeTrend(FrontierTrend):
    """Frontier growth whose rate drifts: a random walk with one step each 1 January.

    ``mean = a + b x + sum_k delta_k * max(x - x_k, 0)``: the slope starts at ``b`` and
    changes by ``delta_k`` at each calendar-year knot ``x_k`` inside the data's date range,
    with ``delta_k ~ Normal(0, tau)`` (non-centred) and ``tau ~ HalfNormal`` of
    :attr:`walk_prior_oom` orders of magnitude per year, per year. As ``tau -> 0`` this is
    :class:`FrontierTrend`; one large ``delta_k`` is :class:`SlowdownTrend`'s changepoint.

    Projections continue the walk (Prophet's trend uncertainty, with a Gaussian walk):
    from the last data date, each trajectory's growth rate takes a fresh
    ``Normal(0, tau)`` step every 1 January, so the band widens with the horizon at the
    rate the history's own changes of growth imply. The largest training set can always
    reuse its predecessor's data, so the frontier does not shrink: while a trajectory's
    rate is negative its size stalls, and it grows again from there when the rate turns
    positive (size increments are the positive part of the rate).
    """

    name = "random-walk-slope"
    label = "Frontier trend with a random-walk slope"
    min_rows = 6
    #: Knots are padded to a multiple of this (see :meth:`graph_data`).
    KNOT_BLOCK = 8
    #: Scale of the HalfNormal prior on the yearly slope change, OOM/yr per year. 0.25 lets
    #: growth move between ~0 and ~1 OOM/yr over a few years, as it did in 2018-2024.
    walk_prior_oom = 0.25
    # The ramp basis functions are strongly correlated with each other and with the
    # slope: a dense mass matrix cuts the tree depth (and the time) several-fold.
    dense_mass = True
    # It mixes slowly: 4 chains of 1,000 draws gave a bulk ESS of 250-490 on the bundled
    # table (seeds 0-3, 1,000 to 3,000 tuning steps); 2,000 draws gave 540-620 and r_hat
    # <= 1.01 for all four (0.8.2, chosen on sampler health, not on forecast scores).
    draws_factor = 2

    @staticmethod
    def knot_years(first_year: float, last_year: float) -> np.ndarray:
        """Calendar years (1 January) strictly between two decimal years."""
        return np.arange(np.floor(first_year) + 1.0, np.ceil(last_year), dtype=float)

    def graph_data(self, x, y, scaling) -> dict[str, np.ndarray]:
        years = scaling.years(x)
        knots = scaling.x(self.knot_years(years.min(), years.max()))
        # Knots are padded to a multiple of KNOT_BLOCK with knots far after the data: their
        # ramps are zero at every observation, so their steps are prior draws that touch
        # nothing (and are dropped from the posterior). Fits whose data span different
        # numbers of years then share one compiled sampler (the backtest's cutoffs).
        padding = np.full(-len(knots) % self.KNOT_BLOCK, _PAD_KNOT)
        return {
            **super().graph_data(x, y, scaling),
            "knot_x": np.concatenate([knots, padding]),
            # The walk scale in standardised slope units (OOM/yr -> sd(log10) per sd(date)).
            "walk_scale": np.array(self.walk_prior_oom * scaling.x_sd / scaling.y_sd),
        }

    def _trend_priors(self, data: dict, values) -> dict:
        tau = pm.HalfNormal("slope_walk_sd", data["walk_scale"])
        params = {
            "intercept": pm.Normal("intercept", 0.0, 1.0),
            "slope": pm.Normal("slope", 0.0, 1.0),
            "knot_x": data["knot_x"],
        }
        n_knots = len(values["knot_x"])
        if n_knots:
            z = pm.Normal("slope_change_z", 0.0, 1.0, shape=n_knots)
            params["slope_changes"] = pm.Deterministic("slope_changes", tau * z)
        else:
            params["slope_changes"] = pt.zeros(0)
        return params

    def label_posterior(self, posterior: xr.Dataset, scaling: _Scaling, values) -> xr.Dataset:
        """The walk's vectors get the dimension ``knot`` with the knots' calendar years;
        the padding knots (see :meth:`graph_data`) are dropped."""
        if not len(values["knot_x"]):
            return posterior
        real = values["knot_x"] < _PAD_KNOT
        return drop_padding(
            posterior,
            {name: ("knot", real) for name in ("slope_change_z", "slope_changes")},
            {"knot": np.round(scaling.years(values["knot_x"][real]), 6)},
        )

    def _mean(self, params: dict, x):
        knot_x, delta = params["knot_x"], params["slope_changes"]
        trend = params["intercept"] + params["slope"] * x
        if np.ndim(x) == 1:  # graph mode
            ramp = pt.maximum(pt.as_tensor(x)[:, None] - knot_x[None, :], 0.0)
            return trend + pt.dot(ramp, delta)
        ramp = np.maximum(x.reshape(-1)[:, None] - knot_x[None, :], 0.0)  # (date, knot)
        return trend + delta @ ramp.T

    def _slope(self, params: dict, x: float) -> np.ndarray:
        passed = params["knot_x"] < x
        return params["slope"][:, 0] + params["slope_changes"][:, passed].sum(axis=1)

    def draw_params(self, fit, idx=None) -> dict[str, np.ndarray]:
        params = super().draw_params(fit, idx)
        params.pop("slope_change_z", None)
        if "slope_changes" not in params:  # data within one calendar year: no knots
            params["slope_changes"] = np.zeros((len(params["slope"]), 0))
        knots = fit.posterior["knot"].to_numpy() if "knot" in fit.posterior.coords else []
        params["knot_x"] = fit.scaling.x(np.asarray(knots, dtype=float))
        return params

    def projected_mean(self, fit, idx, rng, x) -> np.ndarray:
        params = self.draw_params(fit, idx)
        last_year = float(fit.rows["year"].max())
        x_last = float(fit.scaling.x(last_year))
        x = np.asarray(x, dtype=float).reshape(1, -1)
        mean = self._mean(params, np.minimum(x, x_last))  # fitted path, held after the data
        # The walk after the data: segments start at the last date and at each later
        # 1 January; the rate is constant within a segment.
        until = float(fit.scaling.years(np.max(x)))
        knots = fit.scaling.x(np.arange(np.ceil(last_year), until))
        starts = np.concatenate([[x_last], knots])
        ends = np.concatenate([knots, [np.inf]])
        steps = rng.standard_normal((len(mean), len(knots))) * params["slope_walk_sd"]
        rates = self._slope(params, x_last)[:, None] + np.concatenate(
            [np.zeros((len(mean), 1)), np.cumsum(steps, axis=1)], axis=1
        )  # (draw, segment)
        covered = np.clip(x.reshape(-1, 1) - starts, 0.0, ends - starts)  # (date, segment)
        return mean + np.maximum(rates, 0.0) @ covered.T


class ComputeTrend(FrontierTrend):
    """Frontier training compute (FLOP), converted to tokens by Chinchilla allocation.

    With ``C = 6 N D`` and ``D = r k N`` (``r`` tokens per parameter, default 20;
    overtraining factor ``k``), ``D = sqrt(r k C / 6)``: k-times more tokens per
    parameter means sqrt(k) more data at equal compute (Villalobos et al. 2024, overtraining).
    """

    name = "compute"
    label = "Frontier compute trend -> Chinchilla tokens"
    value_column = "compute_flop"
    tokens_per_value_oom = 0.5

    def __init__(
        self,
        k: int = FRONTIER_K,
        tokens_per_parameter: float = CHINCHILLA_TOKENS_PER_PARAMETER,
        overtraining: float = 1.0,
    ) -> None:
        super().__init__(k)
        if tokens_per_parameter <= 0 or overtraining <= 0:
            raise ForecastError("tokens_per_parameter and overtraining must be positive")
        self.tokens_per_parameter = tokens_per_parameter
        self.overtraining = overtraining

    def config(self) -> dict:
        # The token conversion is part of the model: a saved fit must project the same tokens.
        return {
            **super().config(),
            "tokens_per_parameter": self.tokens_per_parameter,
            "overtraining": self.overtraining,
        }

    def to_tokens(self, log10_values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        flop = np.power(10.0, log10_values, out=out)
        return chinchilla_tokens(flop, self.tokens_per_parameter, self.overtraining, out=out)
