"""Demand v3: the largest training run, built from its training compute.

The quantity projected is **the training set of the largest training run (by compute)
released to date**, in tokens: ``D = sqrt(C r / 6)`` with ``C`` its training compute and
``r`` its tokens per active parameter (``C = 6 N D``, ``D = r N``). In log10 units,
``d = (c + rho - log10 6) / 2``. Both factors are modelled:

**Compute.** Every run with a training-compute figure (one per family: its largest) is a
release below a frontier edge that grows along a line in log10 FLOP with a random walk
around it: ``x_i = e(t_i) - g_i + noise_i``, ``e(t) = e_now + growth (t - t_now) + w(t)``
(``w`` a random walk over yearly knots, zero at the data date), with a gap
``g_i ~ Exponential`` (mean ``gap_disclosed`` for runs that publish a token count,
``gap_undisclosed`` for the others: frontier labs disclose less) and measurement noise of
known size (:data:`COMPUTE_SD_OOM`: 0.1 OOM for reported and 6ND-derived figures, 0.25 for
third-party estimates). Releases arrive as two Poisson processes (disclosed, undisclosed)
whose yearly rates change exponentially; their rates are fitted too, so a forecast of
"the largest run by date T" needs nothing from after its origin.

**Tokens per parameter.** Runs that report both tokens and (not estimated) compute give
``rho_i = log10(6 D_i^2 / C_i)``: ``rho_i = level(t_i) + depth (x_i - e(t_i)) + N(0, ratio_sd)``.
``level`` is the ratio of a run at the compute edge; it follows a random walk over yearly
knots (the move from undertrained 2020-21 runs through Chinchilla to today's
overtraining was a change of regime, not a line), ``depth`` says how much more
overtrained runs below the edge are. Bounds ("over 15T") are censored observations.

**Projection** (:meth:`ComputeFrontierTrend.simulate`): per trajectory a posterior draw,
then on a fixed monthly lattice from the data date (the values at a date never depend on
the other dates asked for):

- the edge grows at the posterior rate (or a scenario's ``compute_growth``), stops during
  an investment winter if the scenario has one (``stall_probability``), and never exceeds
  the feasibility ceiling (:mod:`forecast.demand.feasibility`: Sevilla et al. 2024's power
  and chip limits, the latency wall as a hard cap);
- each month's releases (the fitted rates at the data date) give the month's largest
  release exactly (the smallest of a Poisson number of exponential gaps has a closed-form
  inverse), and the record is their running maximum from the largest run observed at the
  data date; it never shrinks;
- the edge also continues its fitted random walk around its line (the frontier's compute
  has surged and paused);
- the record run's tokens per parameter: the edge level at the data date with its fitted
  random walk continued (``tokens_per_parameter = "frontier"``, the default: the median
  stays, the spread grows), held (``"held"``), with its recent trend continued
  (``"trend"``, capped at 10,000 tokens per parameter), Chinchilla's 20, or any number;
  plus its depth below the edge and one residual per trajectory; overtraining multiplies
  it from ``overtraining_from``.

Every draw carries its compute (:meth:`ComputeFrontierTrend.simulate` returns both), so a
crossing has a compute, and no draw exceeds the latency wall.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _compat
from forecast.demand.feasibility import (
    CEILING_YEAR,
    Feasibility,
    compute_ceiling,
    latency_wall_log10,
)
from forecast.demand.model import (
    _PAD_KNOT,
    DemandFit,
    DemandModel,
    _predictive_frame,
    _Scaling,
    drop_padding,
    growth_frame,
)
from forecast.errors import DataError, ForecastError

pm = _compat.lazy_module("pymc")
pt = _compat.lazy_module("pytensor.tensor")

__all__ = [
    "COMPUTE_SD_OOM",
    "LOG10_CHINCHILLA",
    "RATIO_CAP_LOG10",
    "ComputeFrontierTrend",
    "ComputeLevers",
]

#: Measurement sd (OOM) of a training-compute figure by its source: developer-reported
#: and 6ND-derived figures 0.1 (6ND leaves out attention and counts only active
#: parameters: about +-25%); third-party estimates (hardware x time x utilisation) 0.25
#: (Epoch AI: good to a factor of 2-3).
COMPUTE_SD_OOM: dict[str, float] = {"reported": 0.1, "derived-6ND": 0.1, "estimate": 0.25}
#: sd for a compute figure of unknown source.
UNKNOWN_COMPUTE_SD_OOM = 0.25
#: Runs below this compute do not enter the tokens-per-parameter fit: far below the
#: frontier (GPT-2-scale and smaller) training practice says little about it.
RATIO_MIN_COMPUTE = 1e22
#: Reference date of the fitted rates and levels.
REF_YEAR = 2024.0
LOG10_6 = math.log10(6.0)
#: Chinchilla's tokens per parameter (Hoffmann et al. 2022), log10.
LOG10_CHINCHILLA = math.log10(20.0)
#: A projected record run's tokens per parameter (the model's own modes "frontier", "held"
#: and "trend", its depth and residual included; a number or "chinchilla" is used as
#: given) stays within [20, 10,000]: no future frontier run trains below compute-optimal
#: (Hoffmann et al. 2022; the 2020-21 runs at 1-3 tokens per parameter followed Kaplan et
#: al.'s 2020 law, which Chinchilla replaced), and none above 10,000 (SmolLM2 1.7B, trained
#: on 11T tokens, is about 6,500). Without the bounds the level's random walk would wander
#: by sqrt(75) x 0.6 = 5 OOM by 2100.
RATIO_CAP_LOG10 = 4.0
#: Knots of the ratio level (each 1 January) are padded to a multiple of this, so fits at
#: different origins share one compiled sampler.
KNOT_BLOCK = 16
#: Steps per year of the projection lattice.
STEPS_PER_YEAR = 12
TOKENS_PER_PARAMETER_MODES = ("frontier", "held", "trend", "chinchilla")


@dataclass(frozen=True)
class ComputeLevers:
    """The scenario levers of demand v3 (``[demand]`` keys of a scenario file).

    ``tokens_per_parameter``: "frontier" (the edge's level at the data date, its fitted
    random walk continued: the median stays, the spread grows), "held" (the level held,
    no future change), "trend" (its change over the last two years continued, with the
    walk), "chinchilla" (20) or a number. ``overtraining``: a factor on the
    tokens per parameter from ``overtraining_from``. ``compute_growth``: None (the
    fitted rate), a number, or ``(low, high[, interval])`` (a normal 90% interval by
    default) in OOM/yr. ``feasibility``: "sevilla2024" or "none". ``stall_probability``:
    the chance that frontier compute stops growing for a while (an investment winter).
    """

    tokens_per_parameter: str | float = "frontier"
    overtraining: float = 1.0
    overtraining_from: float = 2025.0
    compute_growth: float | tuple | None = None
    feasibility: str = "sevilla2024"
    stall_probability: float = 0.0

    def __post_init__(self) -> None:
        r = self.tokens_per_parameter
        if isinstance(r, str):
            if r not in TOKENS_PER_PARAMETER_MODES:
                raise ForecastError(
                    f"tokens_per_parameter must be one of {', '.join(TOKENS_PER_PARAMETER_MODES)} "
                    f"or a number, got {r!r}"
                )
        elif isinstance(r, bool) or not isinstance(r, int | float) or not 1.0 <= r <= 1e4:
            raise ForecastError(f"tokens_per_parameter must be in [1, 10000], got {r!r}")
        if self.feasibility not in ("sevilla2024", "none"):
            raise ForecastError(
                f"feasibility must be 'sevilla2024' or 'none', got {self.feasibility!r}"
            )
        if not 0.0 <= float(self.stall_probability) <= 1.0:
            raise ForecastError(
                f"stall_probability must be in [0, 1], got {self.stall_probability!r}"
            )
        g = self.compute_growth
        if g is not None and not isinstance(g, int | float):
            if not isinstance(g, tuple | list) or len(g) not in (2, 3):
                raise ForecastError(
                    f"compute_growth must be a number or (low, high[, interval]), got {g!r}"
                )

    def growth_spec(self) -> tuple[float, float] | None:
        """(mean, sd) of the future compute growth, or None for the fitted rate."""
        g = self.compute_growth
        if g is None:
            return None
        if isinstance(g, int | float):
            return float(g), 0.0
        low, high = float(g[0]), float(g[1])
        interval = float(g[2]) if len(g) == 3 else 0.9
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + interval / 2.0)
        return 0.5 * (low + high), (high - low) / (2.0 * z)


def _knots(first_year: float, last_year: float) -> np.ndarray:
    """Each 1 January from the year of ``first_year`` up to ``last_year`` (the data date),
    and the data date itself as the last knot (so the level "now" is a knot, informed by
    the runs before it, not an interpolation toward a knot the data never reach)."""
    jan = np.arange(math.floor(first_year), math.floor(last_year) + 1.0, dtype=float)
    jan = jan[jan < last_year - 1e-6]
    return np.concatenate([jan, [last_year]])


def _interp_weights(years: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Linear-interpolation weights (date, knot) of ``years`` between the knots (constant
    beyond the ends)."""
    years = np.clip(np.asarray(years, dtype=float), knots[0], knots[-1])
    j = np.clip(np.searchsorted(knots, years, side="right") - 1, 0, len(knots) - 2)
    frac = (years - knots[j]) / (knots[j + 1] - knots[j])
    w = np.zeros((len(years), len(knots)))
    w[np.arange(len(years)), j] = 1.0 - frac
    w[np.arange(len(years)), j + 1] = frac
    return w


@dataclass
class _LatticeState:
    """The projection after the data date, on a monthly lattice (see the module text).

    Per lattice step and trajectory: the edge (growth, stall, ceiling), the step's largest
    release of each stream (the smallest of a Poisson number of exponential gaps, by its
    closed-form inverse), a new record where it beats the record, and the new record
    run's tokens per parameter (the edge's level at the data date, its depth, and the
    trajectory's residual: the frontier's allocation policy, held). The record and the largest training
    set are running maxima over the lattice, so they never shrink, and their value at a
    date depends only on the lattice up to it.
    """

    t_now: float
    edge_now: np.ndarray
    growth: np.ndarray
    edge_step_sd: np.ndarray  # (draw,): the edge's random walk, OOM per sqrt(year)
    stalled: np.ndarray
    feasibility: Feasibility
    levers: ComputeLevers
    depth: np.ndarray
    residual: np.ndarray  # (draw,): the frontier's own tokens per parameter, held
    level_now: np.ndarray
    level_step_sd: float  # the ratio level's random walk, OOM per sqrt(year)
    trend: np.ndarray
    rates: np.ndarray  # (stream, draw), releases per year
    gaps: np.ndarray  # (stream, draw), OOM

    def line(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The edge's line (step, draw) at dates ``t`` after the data date, with stalls,
        and whether each date is inside a stall (its random walk does not move then)."""
        n = len(self.growth)
        elapsed = np.broadcast_to(t[:, None] - self.t_now, (len(t), n))
        frozen = np.zeros((len(t), n), dtype=bool)
        if self.stalled.any():
            start = self.feasibility.stall_start[None, :]
            end = start + self.feasibility.stall_years[None, :]
            stop = np.clip(np.minimum(t[:, None], end) - start, 0.0, None)
            elapsed = elapsed - np.where(self.stalled[None, :], stop, 0.0)
            frozen = self.stalled[None, :] & (t[:, None] > start) & (t[:, None] < end)
        return self.edge_now[None, :] + self.growth[None, :] * elapsed, frozen

    def ratio(self, t: np.ndarray, compute: np.ndarray, edge: np.ndarray, walk: np.ndarray):
        """log10 tokens per parameter (step, draw) of a record run set at ``t``, ``walk``
        the level's random walk since the data date."""
        mode = self.levers.tokens_per_parameter
        if mode == "chinchilla":
            rho = np.full(compute.shape, LOG10_CHINCHILLA)
        elif not isinstance(mode, str):
            rho = np.full(compute.shape, math.log10(float(mode)))
        else:
            level = np.broadcast_to(self.level_now[None, :], compute.shape)
            if mode != "held":
                level = level + walk
            if mode == "trend":
                level = level + self.trend[None, :] * (t[:, None] - self.t_now)
            rho = level + self.depth[None, :] * (compute - edge) + self.residual[None, :]
            # The bound is on the record run's own ratio (its depth and residual included):
            # no future frontier run trains below compute-optimal or above 10,000.
            rho = np.clip(rho, LOG10_CHINCHILLA, RATIO_CAP_LOG10)
        if self.levers.overtraining != 1.0:
            boost = np.where(
                t >= self.levers.overtraining_from, math.log10(self.levers.overtraining), 0.0
            )
            rho = rho + boost[:, None]
        return rho

    def run(
        self, years: np.ndarray, record: float, best: np.ndarray, rng, track: bool = False
    ) -> tuple[np.ndarray, ...]:
        """(log10 tokens, log10 FLOP), each (draw, year), at ``years`` (after the data
        date), from the record ``record`` (log10 FLOP) and the largest training set
        ``best`` (log10 tokens, per draw) at the data date. With ``track``, also whether
        each draw's edge is held at the feasibility ceiling, and at the latency wall, at
        each of ``years`` (bool, (draw, year)).

        The steps run in a compiled kernel (:func:`_frontier_block`, one call per block of
        :data:`_BLOCK_STEPS` lattice steps); :meth:`_run_numpy` is the same projection in
        numpy array passes, kept as the kernel's reference: both draw the same random
        numbers in the same order and give the same numbers (issue 36)."""
        n = len(self.growth)
        lattice = _lattice(self.t_now, float(years.max()))
        # The value at a date is the lattice point's at or before it.
        steps = np.searchsorted(lattice, years + 1e-9, side="right") - 1
        by_step = np.argsort(steps, kind="stable")
        sorted_steps = steps[by_step]
        tokens_out = np.empty((len(years), n))
        compute_out = np.empty((len(years), n))
        capped_out = np.zeros((len(years), n), dtype=bool)
        wall_out = np.zeros((len(years), n), dtype=bool)
        record = np.full(n, float(record))
        best = np.array(best, dtype=float)
        edge_walk = np.zeros(n)
        level_walk = np.zeros(n)
        scratch = np.empty(n), np.empty(n), np.empty(n)
        n_steps = len(lattice) - 1
        dts = np.append(np.diff(lattice), _STEP_AFTER)
        levers = self.levers
        mode = levers.tokens_per_parameter
        if mode == "chinchilla":
            mode_code, rho_fixed = _RHO_FIXED, LOG10_CHINCHILLA
        elif not isinstance(mode, str):
            mode_code, rho_fixed = _RHO_FIXED, math.log10(float(mode))
        else:
            mode_code, rho_fixed = _RHO_MODES[mode], 0.0
        boost_log10 = math.log10(levers.overtraining) if levers.overtraining != 1.0 else 0.0
        feas = self.feasibility

        def draws(a, dtype=np.float64):  # one compiled signature: C-contiguous arrays
            return np.ascontiguousarray(a, dtype=dtype)

        per_draw = (
            draws(self.edge_now),
            draws(self.growth),
            draws(self.edge_step_sd),
            draws(self.stalled, np.bool_),
            draws(feas.stall_start),
            draws(feas.stall_start + feas.stall_years),
            draws(feas.ceiling_2030),
            draws(feas.growth_after),
            draws(-self.gaps),
            draws(self.level_now),
            draws(self.trend),
            draws(self.depth),
            draws(self.residual),
        )
        settings = (
            float(self.t_now),
            bool(self.stalled.any()),
            levers.feasibility != "none",
            max(CEILING_YEAR - self.t_now, 1e-9),
            latency_wall_log10(),
            float(self.level_step_sd),
            mode_code,
            float(rho_fixed),
            bool(track),
        )
        fractions, kernel = _kernels()
        rates = draws(self.rates)
        for first in range(0, n_steps + 1, _BLOCK_STEPS):
            last = min(first + _BLOCK_STEPS, n_steps + 1)  # lattice points first..last-1
            k = last - first
            dt = dts[first:last]
            mid = lattice[first:last] + 0.5 * dt
            # Whole blocks of random numbers, whatever the last date: a lattice step's
            # numbers never depend on how far the projection runs.
            e = rng.standard_exponential((_BLOCK_STEPS, 2, n))[:k]
            z = rng.standard_normal((_BLOCK_STEPS, 2, n))
            # log(1 - E / (rate dt)) where there is a release by numpy's own log1p, as in
            # the reference: numpy's vectorised log1p and the C library's (the kernel's)
            # differ in the last bit of about one value in fifteen.
            fractions(e, dt, rates)
            log_free = np.log1p(e, out=e)
            boost = np.where(mid >= levers.overtraining_from, boost_log10, 0.0)
            lo, hi = np.searchsorted(sorted_steps, [first, last])
            kernel(
                mid,
                np.sqrt(dt),
                boost,
                log_free,
                z,
                *per_draw,
                *settings,
                sorted_steps[lo:hi] - first,
                by_step[lo:hi],
                record,
                best,
                edge_walk,
                level_walk,
                *scratch,
                tokens_out,
                compute_out,
                capped_out,
                wall_out,
            )
        if track:
            return tokens_out.T, compute_out.T, capped_out.T, wall_out.T
        return tokens_out.T, compute_out.T

    # A step without a release has gap -inf by design (never a record), so the
    # arithmetic on it is meant.
    @np.errstate(divide="ignore", invalid="ignore")
    def _run_numpy(
        self, years: np.ndarray, record: float, best: np.ndarray, rng, track: bool = False
    ) -> tuple[np.ndarray, ...]:
        """:meth:`run` in numpy array passes, step by step as documented: the compiled
        kernel's reference (tests/demand/test_compute_frontier_kernel.py)."""
        n = len(self.growth)
        lattice = _lattice(self.t_now, float(years.max()))
        # The value at a date is the lattice point's at or before it.
        steps = np.searchsorted(lattice, years + 1e-9, side="right") - 1
        tokens_out = np.empty((len(years), n))
        compute_out = np.empty((len(years), n))
        capped_out = np.zeros((len(years), n), dtype=bool)
        wall_out = np.zeros((len(years), n), dtype=bool)
        wall = latency_wall_log10()
        record = np.full(n, float(record))
        best = np.array(best, dtype=float)
        edge_walk = np.zeros(n)
        level_walk = np.zeros(n)
        n_steps = len(lattice) - 1
        dts = np.append(np.diff(lattice), _STEP_AFTER)
        ceiling_on = self.levers.feasibility != "none"
        for first in range(0, n_steps + 1, _BLOCK_STEPS):
            last = min(first + _BLOCK_STEPS, n_steps + 1)  # lattice points first..last-1
            k = last - first
            dt = dts[first:last]
            mid = lattice[first:last] + 0.5 * dt
            # Whole blocks of random numbers, whatever the last date: a lattice step's
            # numbers never depend on how far the projection runs.
            e = rng.standard_exponential((_BLOCK_STEPS, 2, n))[:k]
            z = rng.standard_normal((_BLOCK_STEPS, 2, n))[:k]
            line, frozen = self.line(mid)
            root = np.sqrt(dt)[:, None]
            edge_steps = np.where(frozen, 0.0, self.edge_step_sd[None, :] * root * z[:, 0])
            walk = edge_walk[None, :] + np.cumsum(edge_steps, axis=0)
            mid_edge = line + walk
            if ceiling_on:
                ceiling = compute_ceiling(self.feasibility, self.edge_now, self.t_now, mid).T
                capped = mid_edge > ceiling
                mid_edge = np.minimum(mid_edge, ceiling)
            levels = level_walk[None, :] + np.cumsum(self.level_step_sd * root * z[:, 1], axis=0)
            # The step's largest release, per stream: the smallest of Poisson(rate dt)
            # exponential gaps is -scale log(1 - E / (rate dt)) for E ~ Exp(1) below
            # rate dt, and there is no release otherwise.
            lam = dt[:, None, None] * self.rates[None]
            frac = np.minimum(e / lam, 1.0)
            gap = np.log1p(-frac, out=frac)  # -inf where no release
            gap *= -self.gaps[None]
            release = mid_edge - gap.min(axis=1)
            before = np.empty((k + 1, n))
            before[0] = record
            np.maximum.accumulate(np.maximum(release, record[None]), axis=0, out=before[1:])
            is_record = release > before[:-1]
            rho = self.ratio(mid, release, mid_edge, levels)
            new_tokens = np.where(is_record, 0.5 * (release + rho - LOG10_6), -np.inf)
            running = np.empty((k + 1, n))
            running[0] = best
            np.maximum.accumulate(np.maximum(new_tokens, best[None]), axis=0, out=running[1:])
            inside = (steps >= first) & (steps < last)
            rows = steps[inside] - first
            compute_out[inside] = before[rows]
            tokens_out[inside] = running[rows]
            if track and ceiling_on:
                capped_out[inside] = capped[rows]
                wall_out[inside] = capped[rows] & (ceiling[rows] >= wall - 1e-9)
            record, best = before[-1], running[-1]
            edge_walk, level_walk = walk[-1], levels[-1]
        if track:
            return tokens_out.T, compute_out.T, capped_out.T, wall_out.T
        return tokens_out.T, compute_out.T


def _lattice(t_now: float, t_end: float) -> np.ndarray:
    """The projection lattice from ``t_now``: monthly for :data:`MONTHLY_YEARS` years,
    quarterly after (fixed: a date's value never depends on the other dates asked for)."""
    monthly = t_now + np.arange(0, MONTHLY_YEARS * 12 + 1) / 12.0
    if t_end <= monthly[-1]:
        return monthly[: int(np.searchsorted(monthly, t_end + 1e-9, side="right")) + 1]
    quarterly = monthly[-1] + np.arange(1, math.ceil((t_end - monthly[-1]) * 4) + 2) / 4.0
    return np.concatenate([monthly, quarterly])


#: Years of monthly lattice steps after the data date; quarterly steps after that (a
#: release is placed at its step's middle, so the timing error is at most half a step).
MONTHLY_YEARS = 15
#: The step after the lattice's last point (never used by a requested date).
_STEP_AFTER = 1.0 / 12.0


#: Lattice steps simulated at once (memory: a few (draw, steps) arrays).
_BLOCK_STEPS = 120

#: The kernel's codes of ``tokens_per_parameter``: a fixed ratio ("chinchilla" or a
#: number), and the model's own modes.
_RHO_FIXED, _RHO_FRONTIER, _RHO_HELD, _RHO_TREND = 0, 1, 2, 3
_RHO_MODES = {"frontier": _RHO_FRONTIER, "held": _RHO_HELD, "trend": _RHO_TREND}


def _free_fractions(e, dt, rates):
    """In place, ``e`` (step, stream, draw) of exponentials becomes ``-E / (rate dt)``
    where that is above -1 (a release in the step), ready for numpy's ``log1p``, and +1
    where there is no release: numpy's ``log1p(-1) = -inf`` takes a slow path (a block
    with a third of its values at -1 took 6 times as long), so +1 marks the step and
    :func:`_frontier_block` reads -inf there. The same floating-point operations as the
    reference's ``min(E / (dt rate), 1)``."""
    for j in range(e.shape[0]):
        for s in range(e.shape[1]):
            for i in range(e.shape[2]):
                frac = e[j, s, i] / (dt[j] * rates[s, i])
                e[j, s, i] = 1.0 if frac >= 1.0 else -frac


def _frontier_block(
    mid,
    root,
    boost,
    log_free,
    z,
    edge_now,
    growth,
    edge_step_sd,
    stalled,
    stall_start,
    stall_end,
    ceiling_2030,
    growth_after,
    neg_gaps,
    level_now,
    trend,
    depth,
    residual,
    t_now,
    any_stall,
    ceiling_on,
    span,
    wall,
    level_step_sd,
    mode,
    rho_fixed,
    track,
    rows,
    cols,
    record,
    best,
    edge_walk,
    level_walk,
    sum_edge,
    sum_level,
    edge_at,
    tokens_out,
    compute_out,
    capped_out,
    wall_out,
):
    """One block of lattice steps of :meth:`_LatticeState.run`, with the formulas of
    :meth:`_LatticeState._run_numpy` in the same order of operations (so the same
    floating-point numbers); compiled by numba (:func:`_kernels`).

    Steps are the outer loop and draws the inner ones: the random numbers are (step,
    stream, draw) arrays, read this way in order, and each step's two loops over the
    draws (the edge, then the releases and the record) are simple enough for the
    compiler to vectorise (one loop over draws and steps nested the other way round
    ran about 2.5 times slower).

    Per step ``j`` (``mid[j]`` its middle, ``root[j]`` the square root of its length,
    ``boost[j]`` the overtraining's log10 factor): ``log_free[j, s, i]`` is
    ``log1p(-E / (rate dt))`` of stream ``s`` where there is a release, a positive
    number where there is none (:func:`_free_fractions`); ``z[j, 0]`` and ``z[j, 1]``
    are the normals of the edge's and the level's random walks. ``record``, ``best``,
    ``edge_walk`` and ``level_walk`` (per draw) are carried from block to block
    (updated in place); ``sum_edge`` and ``sum_level`` (the walks' running sums over the
    block, added to the carried walks as numpy's ``cumsum`` is) and ``edge_at`` are
    scratch. The outputs (year, draw) of the years at the block's lattice points
    ``rows`` (sorted, counted from the block's first) are written at their rows
    ``cols``; the ceiling flags only with ``track`` and the ceiling on.
    """
    k = len(mid)
    n = len(edge_now)
    m = len(rows)
    wall_near = wall - 1e-9
    q = 0
    for j in range(k):
        t = mid[j]
        first = j == 0
        # the years at this lattice point: the record and the largest training set before
        # its step
        q_end = q
        while q_end < m and rows[q_end] == j:
            q_end += 1
        for r in range(q, q_end):
            c = cols[r]
            for i in range(n):
                compute_out[c, i] = record[i]
                tokens_out[c, i] = best[i]
        flags = track and ceiling_on and q_end > q
        c0 = cols[q] if q_end > q else 0
        elapsed_now = t - t_now
        # forecast.demand.feasibility.compute_ceiling: the share of the way to 2030
        share = min(max((t - t_now) / span, 0.0), 1.0)
        after_2030 = max(t - _CEILING_YEAR, 0.0)
        before_2030 = t <= _CEILING_YEAR
        edge_root = root[j]
        level_root = level_step_sd * root[j]
        boost_j = boost[j]
        # the edge: its line (without its growth inside a stall), its random walk
        # (frozen inside a stall) and the ceiling
        for i in range(n):
            elapsed = elapsed_now
            step = edge_step_sd[i] * edge_root * z[j, 0, i]
            if any_stall and stalled[i]:
                elapsed = elapsed - max(min(t, stall_end[i]) - stall_start[i], 0.0)
                if t > stall_start[i] and t < stall_end[i]:
                    step = 0.0
            now = edge_now[i]
            line = now + growth[i] * elapsed
            walked = step if first else sum_edge[i] + step
            sum_edge[i] = walked
            edge = line + (edge_walk[i] + walked)
            if ceiling_on:
                c2030 = max(ceiling_2030[i], now)
                if before_2030:
                    ceiling = now + (c2030 - now) * share
                else:
                    ceiling = c2030 + growth_after[i] * after_2030
                ceiling = min(ceiling, wall)
                capped = edge > ceiling
                edge = min(edge, ceiling)
                if flags:
                    capped_out[c0, i] = capped
                    wall_out[c0, i] = capped and ceiling >= wall_near
            step = level_root * z[j, 1, i]
            sum_level[i] = step if first else sum_level[i] + step
            edge_at[i] = edge
        # the step's largest release (the smaller gap of the two streams; none: -inf),
        # a new record where it beats the record, and its training set
        for i in range(n):
            edge = edge_at[i]
            free_0 = log_free[j, 0, i]
            free_1 = log_free[j, 1, i]
            gap_0 = -np.inf if free_0 > 0.0 else free_0
            gap_1 = -np.inf if free_1 > 0.0 else free_1
            release = edge - min(gap_0 * neg_gaps[0, i], gap_1 * neg_gaps[1, i])
            if mode == _RHO_FIXED:
                rho = rho_fixed
            else:
                level = level_now[i]
                if mode != _RHO_HELD:
                    level = level + (level_walk[i] + sum_level[i])
                if mode == _RHO_TREND:
                    level = level + trend[i] * elapsed_now
                rho = level + depth[i] * (release - edge) + residual[i]
                rho = min(max(rho, _LOG10_CHINCHILLA), _RATIO_CAP_LOG10)
            tokens = 0.5 * (release + (rho + boost_j) - _LOG10_6)
            rec = record[i]
            top = best[i]
            is_record = release > rec
            record[i] = release if is_record else rec
            best[i] = max(top, tokens) if is_record else top
        if flags:  # more years at this lattice point
            for r in range(q + 1, q_end):
                c = cols[r]
                for i in range(n):
                    capped_out[c, i] = capped_out[c0, i]
                    wall_out[c, i] = wall_out[c0, i]
        q = q_end
    for i in range(n):
        edge_walk[i] = edge_walk[i] + sum_edge[i]
        level_walk[i] = level_walk[i] + sum_level[i]


# Module constants as the kernel's globals (numba freezes them at compile time).
_CEILING_YEAR = CEILING_YEAR
_LOG10_CHINCHILLA = LOG10_CHINCHILLA
_RATIO_CAP_LOG10 = RATIO_CAP_LOG10
_LOG10_6 = LOG10_6
_KERNELS = None


def _kernels():
    """:func:`_free_fractions` and :func:`_frontier_block` compiled by numba (imported and
    compiled on first use, so a command that projects no v3 demand never imports numba;
    the machine code is cached on disk: ``cache=True``). Without ``fastmath``, so every
    operation rounds as numpy's does; numpy's error model (a division by zero gives inf,
    as in numpy, instead of raising) lets the loops be vectorised."""
    global _KERNELS
    if _KERNELS is None:
        import numba

        def compile(function):
            try:
                return numba.njit(cache=True, error_model="numpy")(function)
            except RuntimeError:  # no writable cache directory: compiled every process
                return numba.njit(error_model="numpy")(function)

        _KERNELS = compile(_free_fractions), compile(_frontier_block)
    return _KERNELS


class ComputeFrontierTrend(DemandModel):
    """The largest run's training set from its compute and tokens per parameter (v3)."""

    name = "compute-frontier"
    label = "Largest run from compute and tokens per parameter (demand v3)"
    value_column = "tokens"
    frontier = False
    #: Its check: the posterior predictive of each compute run's log10 FLOP.
    predictive_check = True
    rank_parameters = (
        "compute_growth",
        "edge_at_data_date",
        "gap_disclosed",
        "gap_undisclosed",
        "ratio_at_data_date",
        "ratio_depth",
        "ratio_sd",
    )
    min_rows = 6
    dense_mass = True
    #: Tokens grow at half the compute edge's rate when the ratio holds (D = sqrt(C r / 6)).
    tokens_per_value_oom = 0.5

    # --- priors (natural units; docs/model.md, "Demand v3") ---------------------------
    #: Growth of the compute edge, OOM/yr: Normal(mean, sd). Sevilla et al. 2022
    #: ("Compute trends across three eras", Feb 2022) measured a 5.7-month doubling in
    #: the deep-learning era: 0.63 OOM/yr.
    compute_growth_prior = (0.6, 0.2)
    #: Normal sd (OOM) of the edge at the data date, around the largest compute of the
    #: data's last two years plus 0.3 (the edge lies above the runs).
    edge_prior_sd = 1.0
    #: LogNormal (median OOM, log-sd) of the mean gap of a run below the edge.
    gap_prior = (1.0, 0.5)
    #: sd of the edge's random-walk step around its line, OOM per sqrt(year): the
    #: frontier's compute has surged (GPT-4 and Gemini 1.0 Ultra in 2023, Grok 3 to Grok 4
    #: in 2025) and paused. Added after the first forecast-skill study of v3, whose straight
    #: edge made the record's predictive far too narrow (80% coverage about 0.5): tuning by
    #: the project's rule (docs/model.md). Set, not estimated: estimated (LogNormal prior,
    #: median 0.2) it made a funnel (6-151 divergent transitions per fit); its posterior
    #: median there was 0.26 (90% 0.11-0.60) on the bundled table, rounded to 0.25.
    edge_step_sd = 0.25
    #: Normal prior of the ratio level at the first knot (log10 tokens per parameter;
    #: 1.3 = Chinchilla's 20), and the sd of its random-walk step per year (a step over a
    #: shorter spacing has sd ``ratio_step_sd * sqrt(spacing)``). The step sd is set, not
    #: estimated: estimated (HalfNormal or LogNormal prior) it made a funnel with the
    #: weakly identified early knots (2-66 divergent transitions per fit at target
    #: acceptance 0.9 on the bundled table and at the skill study's origins). 0.6 OOM per
    #: sqrt(year) lets the level move by the 2023-24 shift (about 1.2 OOM in a year) at 2
    #: sd; the estimate had been 0.67 (90% 0.44-1.07). Chosen after seeing fit
    #: diagnostics, before any skill score.
    ratio_level_prior = (1.3, 1.0)
    ratio_step_sd = 0.6
    #: Normal prior of the depth slope (more overtrained below the edge: negative).
    ratio_depth_prior = (-0.5, 0.5)
    #: HalfNormal scale of the ratio's residual sd (OOM).
    ratio_sd_prior = 0.7
    #: Poisson release rates: Normal priors of the log yearly rate at 2024 and its growth.
    release_rate_prior = (math.log(10.0), 2.0)
    release_growth_prior = (0.0, 1.0)

    stored_columns = (
        "model",
        "date",
        "year",
        "tokens",
        "tokens_bound",
        "compute_flop",
        "compute_source",
        "family",
        "role_compute",
        "role_ratio",
    )

    # --- rows ------------------------------------------------------------------------

    def select(self, models: pd.DataFrame) -> pd.DataFrame:
        """Every run, flagged: ``role_compute`` (a compute figure; each family's largest),
        ``role_ratio`` (tokens and a compute figure that is not an estimate, at least
        :data:`RATIO_MIN_COMPUTE`). Runs with neither role stay (they set the data date)."""
        rows = models.sort_values(["date", "model"]).copy()
        for column, empty in (("compute_flop", np.nan), ("compute_source", ""), ("family", "")):
            if column not in rows.columns:
                rows[column] = empty
        if "tokens_bound" not in rows.columns:
            rows["tokens_bound"] = "exact"
        tokens = pd.to_numeric(rows["tokens"], errors="coerce")
        compute = pd.to_numeric(rows["compute_flop"], errors="coerce")
        source = rows["compute_source"].fillna("").astype(str)
        family = rows["family"].fillna("").astype(str)
        family = family.where(family != "", rows["model"].astype(str))
        has_compute = compute.gt(0)
        largest = (
            pd.DataFrame({"family": family, "compute": compute})[has_compute]
            .sort_values("compute", ascending=False, kind="stable")
            .drop_duplicates("family")
            .index
        )
        rows["compute_source"] = source
        rows["family"] = family
        rows["tokens_bound"] = rows["tokens_bound"].fillna("exact").astype(str)
        rows["role_compute"] = rows.index.isin(largest)
        both = tokens.gt(0) & compute.ge(RATIO_MIN_COMPUTE)
        measured = both & source.ne("estimate")
        if measured.sum() < 3 <= both.sum():
            # A table without compute sources (read as estimates): an estimate may rest on
            # an assumed tokens per parameter, but with fewer than three measured runs
            # there is nothing else to fit the ratio to.
            warnings.warn(
                f"{self.label}: fewer than 3 runs with tokens and a measured compute "
                "(compute_source 'reported' or 'derived-6ND'); the tokens-per-parameter fit "
                f"uses the {int(both.sum())} runs whose compute is an estimate",
                UserWarning,
                stacklevel=3,
            )
            measured = both
        rows["role_ratio"] = measured.to_numpy()
        return rows

    def _check_rows(self, rows: pd.DataFrame) -> None:
        comp = rows[rows["role_compute"]]
        if len(comp) > 1 and np.ptp(comp["year"].to_numpy(dtype=float)) <= 0:
            raise DataError(
                f"the {self.label} needs models released on at least two different dates "
                "to estimate growth; all models with a compute figure share one date",
                column="date",
            )
        if len(comp) < self.min_rows:
            raise DataError(
                f"the {self.label} needs at least {self.min_rows} models with 'compute_flop' "
                f"(one per family), got {len(comp)}",
                column="compute_flop",
            )
        if int(rows["role_ratio"].sum()) < 3:
            raise DataError(
                f"the {self.label} needs at least 3 models reporting both 'tokens' and "
                f"'compute_flop' (at least {RATIO_MIN_COMPUTE:.0e} FLOP), got "
                f"{int(rows['role_ratio'].sum())}",
                column="tokens",
            )

    def _warn_short_history(self, rows: pd.DataFrame) -> None:
        super()._warn_short_history(rows[rows["role_compute"]])

    def n_rows_used(self, rows: pd.DataFrame) -> int:
        """Runs the likelihood uses: compute runs and tokens-per-parameter runs."""
        return int((rows["role_compute"] | rows["role_ratio"]).sum())

    # --- graph -----------------------------------------------------------------------

    def prepare(self, rows: pd.DataFrame) -> tuple[dict[str, np.ndarray], _Scaling]:
        return self.graph_values(rows), _Scaling(0.0, 1.0, 0.0, 1.0)

    def graph_values(self, rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every data-dependent value of the graph, in natural units (dates relative to
        :data:`REF_YEAR`). Ratio knots are padded to :data:`KNOT_BLOCK`, so fits at
        different origins compile once."""
        t_now = float(rows["year"].max())
        comp = rows[rows["role_compute"]]
        ratio = rows[rows["role_ratio"]]
        c_year = comp["year"].to_numpy(dtype=float)
        c_x = np.log10(comp["compute_flop"].to_numpy(dtype=float))
        c_sd = np.array(
            [COMPUTE_SD_OOM.get(s, UNKNOWN_COMPUTE_SD_OOM) for s in comp["compute_source"]]
        )
        c_disclosed = comp["tokens"].gt(0).to_numpy().astype(float)
        recent = c_year > t_now - 2.0
        anchor = float(c_x[recent].max() if recent.any() else c_x.max())

        r_year = ratio["year"].to_numpy(dtype=float)
        r_tokens = ratio["tokens"].to_numpy(dtype=float)
        r_x = np.log10(ratio["compute_flop"].to_numpy(dtype=float))
        r_rho = np.log10(6.0 * r_tokens**2) - r_x
        bound = ratio["tokens_bound"].to_numpy()
        knots = _knots(float(r_year.min()), t_now)
        n_knots = len(knots)
        padded = n_knots + (-n_knots % KNOT_BLOCK)
        weights = np.zeros((len(r_year), padded))
        weights[:, :n_knots] = _interp_weights(r_year, knots)
        now_w = np.zeros(padded)
        now_w[:n_knots] = _interp_weights(np.array([t_now]), knots)[0]
        knot_years = np.concatenate([knots, np.full(padded - n_knots, _PAD_KNOT)])
        spacing = np.zeros(padded)
        spacing[1:n_knots] = np.diff(knots)
        e_knots = _knots(float(c_year.min()), t_now)
        n_e = len(e_knots)
        e_padded = n_e + (-n_e % KNOT_BLOCK)

        def edge_weights(years):
            w = np.zeros((len(years), e_padded))
            w[:, :n_e] = _interp_weights(years, e_knots)
            return w

        e_spacing = np.zeros(e_padded)
        e_spacing[1:n_e] = np.diff(e_knots)
        e_now = np.zeros(e_padded)
        e_now[n_e - 1] = 1.0
        return {
            "e_knot_year": np.concatenate([e_knots, np.full(e_padded - n_e, _PAD_KNOT)]),
            "e_knot_real": (np.arange(e_padded) < n_e).astype(float),
            "e_knot_spacing": e_spacing,
            "e_now_weights": e_now,
            "c_eweights": edge_weights(c_year),
            "r_eweights": edge_weights(r_year),
            "t_now": np.array(t_now - REF_YEAR),
            "t_first": np.array(float(c_year.min()) - REF_YEAR),
            "edge_anchor": np.array(anchor),
            "c_time": c_year - REF_YEAR,
            "c_x": c_x,
            "c_sd": c_sd,
            "c_disclosed": c_disclosed,
            "r_time": r_year - REF_YEAR,
            "r_x": r_x,
            "r_rho": r_rho,
            "r_exact": (bound == "exact").astype(float),
            "r_lower": (bound == "lower").astype(float),
            "r_upper": (bound == "upper").astype(float),
            "r_weights": weights,
            "knot_real": (knot_years < _PAD_KNOT).astype(float),
            "knot_spacing": spacing,
            "now_weights": now_w,
            "knot_year": knot_years,
        }

    #: Data whose length may change without recompiling (see DemandModel.structure).
    _OBSERVATIONS = (
        "c_time",
        "c_x",
        "c_sd",
        "c_disclosed",
        "r_time",
        "r_x",
        "r_rho",
        "r_exact",
        "r_lower",
        "r_upper",
        "r_weights",
        "c_eweights",
        "r_eweights",
    )
    _LABELS_ONLY = ("knot_year", "e_knot_year")

    def _build(self, values: Mapping[str, np.ndarray]) -> pm.Model:
        n_knots = len(values["knot_real"])
        n_edge = len(values["e_knot_real"])
        with pm.Model() as model:
            d = {k: pm.Data(k, v) for k, v in values.items() if k not in self._LABELS_ONLY}
            growth = pm.Normal("compute_growth", *self.compute_growth_prior)
            edge_z = pm.Normal("edge_z", 0.0, 1.0)
            edge_now = pm.Deterministic(
                "edge_at_data_date", d["edge_anchor"] + 0.3 + self.edge_prior_sd * edge_z
            )
            median, log_sd = self.gap_prior
            gap_d = pm.LogNormal("gap_disclosed", math.log(median), log_sd)
            gap_u = pm.LogNormal("gap_undisclosed", math.log(median), log_sd)

            # The edge's deviation from its line: a random walk over yearly knots, zero at
            # the data date (where edge_at_data_date is the edge itself).
            walk_sd = self.edge_step_sd
            walk_z = pm.Normal("edge_step_z", 0.0, 1.0, shape=n_edge - 1)
            raw = pt.concatenate(
                [
                    pt.zeros(1),
                    pt.cumsum(walk_sd * walk_z * pt.sqrt(d["e_knot_spacing"][1:])),
                ]
            )
            walk = pm.Deterministic("edge_walk", raw - pt.dot(d["e_now_weights"], raw))

            def edge(t, weights):
                return edge_now + growth * (t - d["t_now"]) + pt.dot(weights, walk)

            gap = d["c_disclosed"] * gap_d + (1.0 - d["c_disclosed"]) * gap_u
            pm.ExGaussian(
                "compute",
                mu=-edge(d["c_time"], d["c_eweights"]),
                sigma=d["c_sd"],
                nu=gap,
                observed=-d["c_x"],
            )

            start = pm.Normal("ratio_level_start", *self.ratio_level_prior)
            step_sd = self.ratio_step_sd
            steps = pm.Normal("ratio_step_z", 0.0, 1.0, shape=n_knots - 1)
            level = pm.Deterministic(
                "ratio_level",
                pt.concatenate(
                    [
                        pt.stack([start]),
                        start + pt.cumsum(step_sd * steps * pt.sqrt(d["knot_spacing"][1:])),
                    ]
                ),
            )
            pm.Deterministic("ratio_at_data_date", pt.dot(d["now_weights"], level))
            depth = pm.Normal("ratio_depth", *self.ratio_depth_prior)
            ratio_sd = pm.HalfNormal("ratio_sd", self.ratio_sd_prior)
            mean = pt.dot(d["r_weights"], level) + depth * (
                d["r_x"] - edge(d["r_time"], d["r_eweights"])
            )
            dist = pm.Normal.dist(mean, ratio_sd)
            pm.Potential(
                "ratio",
                pt.sum(
                    d["r_exact"] * pm.logp(dist, d["r_rho"])
                    + d["r_lower"] * pm.logccdf(dist, d["r_rho"])
                    + d["r_upper"] * pm.logcdf(dist, d["r_rho"])
                ),
            )
            for stream, flag in (
                ("disclosed", d["c_disclosed"]),
                ("undisclosed", 1.0 - d["c_disclosed"]),
            ):
                log_rate = pm.Normal(f"release_log_rate_{stream}", *self.release_rate_prior)
                rate_growth = pm.Normal(f"release_growth_{stream}", *self.release_growth_prior)
                span = d["t_now"] - d["t_first"]
                # Expected releases over the data span: integral of exp(a + b t) dt.
                small = pt.abs(rate_growth) < 1e-6
                safe = pt.switch(small, 1.0, rate_growth)
                integral = pt.exp(log_rate) * pt.switch(
                    small,
                    span * pt.exp(rate_growth * d["t_first"]),
                    pt.exp(rate_growth * d["t_first"]) * pt.expm1(safe * span) / safe,
                )
                pm.Potential(
                    f"releases_{stream}",
                    pt.sum(flag * (log_rate + rate_growth * d["c_time"])) - integral,
                )
        return model

    def label_posterior(self, posterior: xr.Dataset, scaling: _Scaling, values) -> xr.Dataset:
        """Knot vectors get the dimensions ``knot`` and ``edge_knot`` (calendar years);
        padding is dropped (also from the walks' standard-normal steps)."""
        real = values["knot_real"] > 0
        e_real = values["e_knot_real"] > 0
        out = drop_padding(
            posterior,
            {"ratio_level": ("knot", real), "edge_walk": ("edge_knot", e_real)},
            {"knot": values["knot_year"][real], "edge_knot": values["e_knot_year"][e_real]},
        )
        for name, mask, dim in (
            ("ratio_step_z", real, "step"),
            ("edge_step_z", e_real, "edge_step"),
        ):
            if name in out:
                z = out[name].to_numpy()[..., mask[1:]]
                out = out.drop_vars(name)
                out[name] = (("chain", "draw", dim), z)
        return out

    # --- posterior draws -------------------------------------------------------------

    _SCALARS = (
        "compute_growth",
        "edge_at_data_date",
        "gap_disclosed",
        "gap_undisclosed",
        "ratio_depth",
        "ratio_sd",
        "ratio_at_data_date",
        "release_log_rate_disclosed",
        "release_growth_disclosed",
        "release_log_rate_undisclosed",
        "release_growth_undisclosed",
    )

    def draw_params(self, fit: DemandFit, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Posterior draws ``idx`` (all if None): scalars as (draw,), knot levels (draw, knot)."""
        post = fit.posterior
        out = {}
        for name in (*self._SCALARS, "ratio_level", "edge_walk"):
            values = post[name].to_numpy()
            values = values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])
            out[name] = values if idx is None else values[idx]
        out["knot"] = post["knot"].to_numpy().astype(float)
        out["edge_knot"] = post["edge_knot"].to_numpy().astype(float)
        out["t_now"] = float(out["knot"][-1])  # the last knot is the data date
        return out

    @staticmethod
    def _edge(p: dict, years, t_now: float) -> np.ndarray:
        """The fitted edge (draw, date) at ``years`` up to the data date: its line and its
        random walk (held at the data date's, zero, after it)."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        line = p["edge_at_data_date"][:, None] + p["compute_growth"][:, None] * (years - t_now)
        return line + p["edge_walk"] @ _interp_weights(years, p["edge_knot"]).T

    def _slope(self, params: dict, x: float) -> np.ndarray:
        """The compute edge's growth (OOM/yr) per draw: the fitted quantity's slope
        (tokens grow at :attr:`tokens_per_value_oom` of it when the ratio holds)."""
        return params["compute_growth"]

    def _mean(self, params: dict, x) -> np.ndarray:
        """log10 tokens (draw, date) of a run at the edge at decimal years ``x`` (1, date),
        trained at the edge's tokens per parameter of its date (both held after the data
        date): the fitted frontier-run line of the demand figure."""
        years = np.ravel(np.asarray(x, dtype=float))
        t_now = float(params["t_now"])
        edge = self._edge(params, np.minimum(years, t_now), t_now)
        edge = edge + params["compute_growth"][:, None] * np.maximum(years - t_now, 0.0)
        level = params["ratio_level"] @ _interp_weights(np.minimum(years, t_now), params["knot"]).T
        return 0.5 * (edge + level - LOG10_6)

    def _draw_index(self, fit: DemandFit, n_draws: int | None, rng) -> np.ndarray:
        total = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
        return np.arange(total) if n_draws is None else rng.integers(0, total, size=n_draws)

    @staticmethod
    def data_year(fit: DemandFit) -> float:
        """The data date (decimal year): the latest release in the fitted table."""
        return float(fit.rows["year"].max())

    def record_events(self, fit: DemandFit) -> pd.DataFrame:
        """The runs that set a new compute record when released (date order): model,
        year, log10 compute and log10 tokens (NaN where undisclosed)."""
        comp = fit.rows[fit.rows["compute_flop"].gt(0)].sort_values(["year", "model"])
        x = np.log10(comp["compute_flop"].to_numpy(dtype=float))
        before = np.concatenate([[-np.inf], np.maximum.accumulate(x)[:-1]])
        new = comp[x > before]
        tokens = new["tokens"].to_numpy(dtype=float)
        return pd.DataFrame(
            {
                "model": new["model"].to_numpy(),
                "year": new["year"].to_numpy(dtype=float),
                "log10_compute": np.log10(new["compute_flop"].to_numpy(dtype=float)),
                "log10_tokens": np.where(
                    tokens > 0, np.log10(np.where(tokens > 0, tokens, 1.0)), np.nan
                ),
            }
        )

    def simulate(
        self,
        fit: DemandFit,
        years,
        n_draws: int | None,
        rng: np.random.Generator,
        levers: ComputeLevers | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draws (draw, year) of log10 tokens and log10 FLOP of the largest run (see
        :meth:`_simulate`)."""
        return self._simulate(fit, years, n_draws, rng, levers)[:2]

    def ceiling_shares(
        self,
        fit: DemandFit,
        years,
        n_draws: int,
        seed: int,
        levers: ComputeLevers | None = None,
    ) -> pd.DataFrame:
        """Per year: the share of draws whose frontier edge is held at the feasibility
        ceiling (``at_ceiling``) and, of those, at the latency wall (``at_latency_wall``),
        from ``n_draws`` draws with ``seed`` (the same draws as :meth:`simulate`'s)."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        _, _, capped, wall = self._simulate(
            fit, years, n_draws, np.random.default_rng(seed), levers, track=True
        )
        return pd.DataFrame(
            {
                "year": years,
                "at_ceiling": capped.mean(axis=0),
                "at_latency_wall": wall.mean(axis=0),
            }
        )

    def _simulate(
        self,
        fit: DemandFit,
        years,
        n_draws: int | None,
        rng: np.random.Generator,
        levers: ComputeLevers | None = None,
        track: bool = False,
    ) -> tuple[np.ndarray, ...]:
        """Draws (draw, year) of log10 tokens and log10 FLOP of the largest run (and, with
        ``track``, whether the edge is at the ceiling and at the latency wall).

        Tokens: the largest training set of the runs that set a compute record, up to
        each date (a run keeps the tokens it was trained on; a disclosed record run its
        published count, an undisclosed one its posterior predictive). Compute: the record.

        Random numbers are consumed in a fixed order whatever the levers and dates: the
        posterior draws, the past record runs' ratio residuals, the future growth, the
        feasibility and stall draws, then whole blocks of exponentials and normals for the
        lattice steps (:data:`_BLOCK_STEPS` at a time). So a date's
        value never depends on the other dates asked for, and a lever changed leaves
        every other draw as it was (common random numbers).
        """
        levers = levers or ComputeLevers()
        years = np.atleast_1d(np.asarray(years, dtype=float))
        t_now = self.data_year(fit)
        p = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        n = len(p["compute_growth"])
        events = self.record_events(fit)
        past_z = rng.standard_normal((n, len(events)))
        residual = rng.standard_normal(n) * p["ratio_sd"]
        growth_z = rng.standard_normal(n)
        feas = Feasibility.draw(n, t_now, rng)
        stall_u = rng.random(n)

        depth = np.clip(p["ratio_depth"], -1.0, 0.0)
        # Past record runs: published tokens, else the ratio at their date and depth.
        et = events["year"].to_numpy()
        ex = events["log10_compute"].to_numpy()
        e_edge = self._edge(p, et, t_now)
        e_rho = p["ratio_level"] @ _interp_weights(et, p["knot"]).T + depth[:, None] * (ex - e_edge)
        e_rho += past_z * p["ratio_sd"][:, None]
        e_tokens = np.where(
            np.isfinite(events["log10_tokens"].to_numpy())[None, :],
            events["log10_tokens"].to_numpy()[None, :],
            0.5 * (ex[None, :] + e_rho - LOG10_6),
        )
        e_best = np.maximum.accumulate(e_tokens, axis=1)

        log_tokens = np.empty((n, len(years)))
        log_compute = np.empty((n, len(years)))
        capped = np.zeros((n, len(years)), dtype=bool)
        walled = np.zeros((n, len(years)), dtype=bool)
        past = years <= t_now
        if past.any():
            i = np.clip(np.searchsorted(et, years[past], side="right") - 1, 0, None)
            log_compute[:, past] = ex[i][None, :]
            log_tokens[:, past] = e_best[:, i]
        future = ~past
        if future.any():
            spec = levers.growth_spec()
            growth = p["compute_growth"] if spec is None else spec[0] + spec[1] * growth_z
            state = _LatticeState(
                t_now=t_now,
                edge_now=p["edge_at_data_date"],
                growth=np.maximum(growth, 0.0),
                edge_step_sd=np.full(len(growth), self.edge_step_sd),
                level_step_sd=self.ratio_step_sd,
                stalled=stall_u < float(levers.stall_probability),
                feasibility=feas,
                levers=levers,
                depth=depth,
                residual=residual,
                level_now=p["ratio_at_data_date"],
                trend=(
                    p["ratio_at_data_date"]
                    - p["ratio_level"] @ _interp_weights(np.array([t_now - 2.0]), p["knot"])[0]
                )
                / 2.0,
                rates=np.stack(
                    [
                        np.exp(
                            p[f"release_log_rate_{s}"]
                            + p[f"release_growth_{s}"] * (t_now - REF_YEAR)
                        )
                        for s in ("disclosed", "undisclosed")
                    ]
                ),
                gaps=np.stack([p["gap_disclosed"], p["gap_undisclosed"]]),
            )
            out = state.run(years[future], ex[-1], e_best[:, -1], rng, track=track)
            log_tokens[:, future] = out[0]
            log_compute[:, future] = out[1]
            if track:
                capped[:, future], walled[:, future] = out[2], out[3]
        return log_tokens, log_compute, capped, walled

    # --- predictives of observable quantities (the forecast-skill study) ------------------

    def disclosed_run_marks(
        self, fit: DemandFit, years, n_draws: int, rng
    ) -> dict[str, np.ndarray]:
        """The distribution of one *disclosed* run's log10 tokens at ``years`` after the
        data date, per posterior draw, and the disclosed runs' release rate: an
        ExGaussian ``loc - Exponential(mean shape) + Normal(0, scale)`` with
        ``loc = (e(t) + level(t) - log10 6) / 2`` (the edge and the edge's tokens per
        parameter, their random walks continued from the data date: one step per draw
        over the whole span, :meth:`_future`), ``shape = (1 + depth) gap_disclosed / 2`` and
        ``scale = sqrt((1 + depth)^2 sd_c^2 + ratio_sd^2) / 2`` (sd_c: a 6ND-derived
        figure's measurement sd). Keys ``loc`` (draw, year), ``scale``, ``shape`` and
        ``rate`` (draw,): disclosed releases per year at the data date."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        p = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        t_now = self.data_year(fit)
        depth = np.clip(p["ratio_depth"], -1.0, 0.0)
        edge, level = self._future(p, years, t_now, rng)
        loc = 0.5 * (edge + level - LOG10_6)
        sd_c = COMPUTE_SD_OOM["derived-6ND"]
        scale = 0.5 * np.sqrt((1.0 + depth) ** 2 * sd_c**2 + p["ratio_sd"] ** 2)
        shape = np.maximum(0.5 * (1.0 + depth) * p["gap_disclosed"], 1e-3)
        rate = np.exp(
            p["release_log_rate_disclosed"] + p["release_growth_disclosed"] * (t_now - REF_YEAR)
        )
        return {"loc": loc, "scale": scale[:, None], "shape": shape[:, None], "rate": rate}

    def ratio_predictive(self, fit: DemandFit, years, log10_compute, n_draws: int, rng):
        """Mean (draw, run) and sd (draw, 1) of the log10 tokens per parameter of runs of
        ``log10_compute`` FLOP released at ``years`` after the data date: the edge's
        level (its random walk continued from the data date) and the depth below the
        edge."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        x = np.atleast_1d(np.asarray(log10_compute, dtype=float))
        p = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        edge, level = self._future(p, years, self.data_year(fit), rng)
        mean = level + p["ratio_depth"][:, None] * (x[None, :] - edge)
        return mean, p["ratio_sd"][:, None]

    def _future(
        self, p: dict, years: np.ndarray, t_now: float, rng
    ) -> tuple[np.ndarray, np.ndarray]:
        """The edge and the edge's ratio level (draw, date) at ``years`` after the data
        date, each random walk continued with one standard-normal step per draw (exact at
        each date; dates of one draw share the step)."""
        ahead = np.sqrt(np.maximum(years - t_now, 0.0))[None, :]
        z = rng.standard_normal((2, len(p["compute_growth"]), 1))
        edge = (
            p["edge_at_data_date"][:, None]
            + p["compute_growth"][:, None] * (years - t_now)
            + self.edge_step_sd * ahead * z[0]
        )
        level = p["ratio_at_data_date"][:, None] + self.ratio_step_sd * ahead * z[1]
        return edge, np.clip(level, LOG10_CHINCHILLA, RATIO_CAP_LOG10)

    def project_log10(self, fit, years, n_draws, rng) -> np.ndarray:
        """log10 tokens of the largest run (default levers)."""
        return self.simulate(fit, years, n_draws, rng)[0]

    def growth_draws(self, fit: DemandFit, years, n_draws: int = 4000, seed: int | None = 0):
        """Draws (draw, year) of the largest run's token growth, OOM/yr, over the year
        after each of ``years`` (default levers)."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        grid = np.concatenate([years, years + 1.0])
        tokens, _ = self.simulate(fit, grid, n_draws, np.random.default_rng(seed))
        return tokens[:, len(years) :] - tokens[:, : len(years)]

    # --- checks and tables -------------------------------------------------------------

    def log_likelihood(self, fit: DemandFit) -> np.ndarray:
        """Pointwise log-likelihood (draw, run) of the compute runs (ExGaussian) and the
        exact tokens-per-parameter runs (Normal), for PSIS-LOO."""
        from scipy import stats

        from forecast.demand.damped import exgaussian_logpdf

        p = self.draw_params(fit)
        rows = fit.rows
        t_now = self.data_year(fit)
        comp = rows[rows["role_compute"].astype(bool)]
        x = np.log10(comp["compute_flop"].to_numpy(dtype=float))
        t = comp["year"].to_numpy(dtype=float)
        sd = np.array(
            [COMPUTE_SD_OOM.get(s, UNKNOWN_COMPUTE_SD_OOM) for s in comp["compute_source"]]
        )
        disclosed = comp["tokens"].gt(0).to_numpy()
        edge = self._edge(p, t, t_now)
        gap = np.where(disclosed, p["gap_disclosed"][:, None], p["gap_undisclosed"][:, None])
        ll_c = exgaussian_logpdf(-x[None, :], -edge, sd[None, :], gap)
        ratio = rows[rows["role_ratio"].astype(bool) & rows["tokens_bound"].eq("exact")]
        rx = np.log10(ratio["compute_flop"].to_numpy(dtype=float))
        rho = np.log10(6.0 * ratio["tokens"].to_numpy(dtype=float) ** 2) - rx
        rt = ratio["year"].to_numpy(dtype=float)
        r_edge = self._edge(p, rt, t_now)
        mean = p["ratio_level"] @ _interp_weights(rt, p["knot"]).T + p["ratio_depth"][:, None] * (
            rx - r_edge
        )
        ll_r = stats.norm.logpdf(rho[None, :], mean, p["ratio_sd"][:, None])
        return np.concatenate([ll_c, ll_r], axis=1)

    def predictive_rows(self, fit: DemandFit, n_draws: int, seed: int) -> pd.DataFrame:
        """Posterior predictive of each compute run's log10 FLOP (the check's data)."""
        rng = np.random.default_rng(seed)
        p = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        comp = fit.rows[fit.rows["role_compute"].astype(bool)]
        t = comp["year"].to_numpy(dtype=float)
        disclosed = comp["tokens"].gt(0).to_numpy()
        sd = np.array(
            [COMPUTE_SD_OOM.get(s, UNKNOWN_COMPUTE_SD_OOM) for s in comp["compute_source"]]
        )
        edge = self._edge(p, t, self.data_year(fit))
        gap = np.where(disclosed, p["gap_disclosed"][:, None], p["gap_undisclosed"][:, None])
        pred = edge - rng.exponential(1.0, edge.shape) * gap + rng.standard_normal(edge.shape) * sd
        observed = np.log10(comp["compute_flop"].to_numpy(dtype=float))
        return _predictive_frame(fit.name, t, observed, pred)

    def undisclosed_table(self, fit: DemandFit, n_draws: int = 4000, seed: int = 0) -> pd.DataFrame:
        """Runs with compute but no published token count: their compute, and the median
        and 80% interval of the tokens the joint model implies (their compute with its
        measurement error, the ratio at their date and depth, the residual)."""
        rows = fit.rows
        und = rows[rows["compute_flop"].gt(0) & ~rows["tokens"].gt(0)]
        rng = np.random.default_rng(seed)
        p = self.draw_params(fit, self._draw_index(fit, n_draws, rng))
        t = und["year"].to_numpy(dtype=float)
        x_obs = np.log10(und["compute_flop"].to_numpy(dtype=float))
        sd = np.array(
            [COMPUTE_SD_OOM.get(s, UNKNOWN_COMPUTE_SD_OOM) for s in und["compute_source"]]
        )
        x = x_obs[None, :] + rng.standard_normal((len(p["ratio_sd"]), len(t))) * sd[None, :]
        edge = self._edge(p, t, self.data_year(fit))
        level = p["ratio_level"] @ _interp_weights(t, p["knot"]).T
        rho = level + p["ratio_depth"][:, None] * (x - edge)
        rho = rho + rng.standard_normal(rho.shape) * p["ratio_sd"][:, None]
        tokens = 0.5 * (x + rho - LOG10_6)
        q = 10 ** np.quantile(tokens, [0.1, 0.5, 0.9], axis=0) if len(t) else np.zeros((3, 0))
        params = 10 ** np.quantile(x - tokens + np.log10(1.0 / 6.0), 0.5, axis=0) if len(t) else []
        return pd.DataFrame(
            {
                "model": und["model"].to_numpy(),
                "year": t,
                "compute_flop": 10**x_obs,
                "tokens_median": q[1],
                "tokens_p10": q[0],
                "tokens_p90": q[2],
                "active_parameters_median": params,
            }
        )

    def growth_table(
        self, fit: DemandFit, at_years=(2030.0, 2035.0), n_draws: int = 4000, seed: int = 0
    ):
        """Token growth of the largest run in OOM/yr and x/yr over the year after the data
        date and after each of ``at_years`` (median and 80% interval), and the compute edge's
        fitted growth."""
        t_now = self.data_year(fit)
        at = np.array([t_now, *at_years], dtype=float)
        rate = self.growth_draws(fit, at, n_draws, seed)
        edge = fit.posterior["compute_growth"].to_numpy().reshape(-1)
        labels = [
            f"data date ({t_now:.1f})",
            *(f"{y:g}" for y in at_years),
            "compute edge (fitted)",
        ]
        return growth_frame(labels, [*rate.T, edge])

    def ratio_table(self, fit: DemandFit) -> pd.DataFrame:
        """The edge's tokens per parameter at each knot (1 January) and at the data date:
        median and 80% interval."""
        post = fit.posterior
        level = post["ratio_level"].to_numpy().reshape(-1, post.sizes["knot"])
        years = post["knot"].to_numpy().astype(float)
        q = 10 ** np.quantile(level, [0.1, 0.5, 0.9], axis=0)
        return pd.DataFrame({"year": years, "median": q[1], "p10": q[0], "p90": q[2]})

    def usage(self, fit: DemandFit) -> dict:
        """Rows used, censored ratio rows, undisclosed runs with their implied tokens, the
        growth table and the tokens per parameter at the data date."""
        rows = fit.rows
        ratio = rows[rows["role_ratio"].astype(bool)]
        censored = ratio[ratio["tokens_bound"].isin(["lower", "upper"])]
        now = np.quantile(
            fit.posterior["ratio_at_data_date"].to_numpy().reshape(-1), [0.1, 0.5, 0.9]
        )
        return {
            "rows_used": [
                str(m) for m in rows.loc[rows["role_compute"] | rows["role_ratio"], "model"]
            ],
            "compute_rows": [str(m) for m in rows.loc[rows["role_compute"], "model"]],
            "ratio_rows": [str(m) for m in ratio["model"]],
            "censored": [
                {"model": str(r.model), "tokens": float(r.tokens), "bound": str(r.tokens_bound)}
                for r in censored.itertuples()
            ],
            "undisclosed": [
                {
                    "model": str(r.model),
                    "compute_flop": float(r.compute_flop),
                    "tokens_median": float(r.tokens_median),
                    "tokens_p10": float(r.tokens_p10),
                    "tokens_p90": float(r.tokens_p90),
                }
                for r in self.undisclosed_table(fit).itertuples()
            ],
            "tokens_per_parameter_at_data_date": {
                "median": float(10 ** now[1]),
                "p10": float(10 ** now[0]),
                "p90": float(10 ** now[2]),
            },
            "growth_oom_per_year": [
                {k: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
                for row in self.growth_table(fit)[
                    ["at", "oom_per_year", "oom_p10", "oom_p90"]
                ].to_dict("records")
            ],
        }
