"""ComputeFrontierTrend (demand v3) on a history simulated from its own generative model.

:func:`recovery_world` draws a table of training runs 2016-2026 exactly as
:class:`~forecast.demand.compute_frontier.ComputeFrontierTrend` models it, from known
parameters, and :func:`continue_world` continues that world past the data date:

- releases arrive as two Poisson processes (disclosed, undisclosed) whose yearly rates
  change exponentially (``exp(a + b (t - REF_YEAR))``);
- a run's compute is ``x = e(t) - gap + noise``: the edge ``e(t) = e_now + growth (t -
  t_now) + w(t)`` with ``w`` a random walk of the model's fixed step sd
  (:attr:`ComputeFrontierTrend.edge_step_sd`) over yearly knots, zero at the data date;
  the gap exponential with the stream's mean; the noise of the run's compute source
  (:data:`~forecast.demand.compute_frontier.COMPUTE_SD_OOM`);
- a disclosed run reports its tokens, ``log10 D = (x + rho - log10 6) / 2`` with
  ``rho = level(t) + depth (x - e(t)) + Normal(0, ratio_sd)``, ``level`` a random walk of
  the model's fixed step sd (:attr:`ComputeFrontierTrend.ratio_step_sd`) over yearly knots.

:func:`test_recovers_a_known_compute_frontier` fits the table and checks the edge's growth
(90% interval), the other parameters (95%), the sampler's health (no divergences, r_hat
<= 1.01, bulk ESS >= 400), and the posterior predictive of the record compute and of the
largest training set 1, 2 and 3 years after the data date: against one continuation of
the world (inside the 98% interval) and against 400 continuations of the true model from
the true state (the 90% interval must cover at least 80% of them, and be at most 2.5
times as wide as theirs).

Samples for a minute or two: ``pytest -m slow -s tests/demand/test_compute_frontier_recovery.py``
(``-s`` prints the intervals).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from forecast.demand.compute_frontier import (
    COMPUTE_SD_OOM,
    LOG10_6,
    LOG10_CHINCHILLA,
    RATIO_CAP_LOG10,
    REF_YEAR,
    ComputeFrontierTrend,
    ComputeLevers,
    _interp_weights,
    _knots,
)
from forecast.demand.model import RHAT_MAX, SamplerConfig
from forecast.errors import SamplingWarning, ShortHistoryWarning
from forecast.units import decimal_years, from_decimal_year

MODEL = ComputeFrontierTrend()

#: The world's parameters. Rates are yearly at REF_YEAR (2024); the edge is given by its
#: line's value at REF_YEAR (its random walk is zero at the data date, so the edge at the
#: data date is the line's value there).
TRUTH = {
    "compute_growth": 0.55,
    "edge_line_2024": 25.5,
    "gap_disclosed": 0.8,
    "gap_undisclosed": 0.4,
    "ratio_depth": -0.5,
    "ratio_sd": 0.3,
    "release_log_rate_disclosed": math.log(8.0),
    "release_growth_disclosed": 0.15,
    "release_log_rate_undisclosed": math.log(5.0),
    "release_growth_undisclosed": 0.3,
}
#: The tokens-per-parameter level (log10) at the data date (100 tokens per parameter, as
#: frontier runs of 2024-25); the walk before it is drawn backwards from it. Its projection
#: stays within [20, 10,000] (the model's assumption, RATIO_CAP_LOG10): so does the world's.
LEVEL_NOW = 2.0
START, END = 2016.0, 2026.0
HELD_OUT_YEARS = 3.0
SAMPLER = SamplerConfig(draws=1000, tune=1000, chains=4, seed=23, escalate=False)


def _poisson_times(rng, log_rate: float, growth: float, start: float, end: float) -> np.ndarray:
    """Event times of a Poisson process of rate ``exp(log_rate + growth (t - REF_YEAR))``
    on ``[start, end]``, by thinning."""
    peak = math.exp(log_rate + max(growth * (start - REF_YEAR), growth * (end - REF_YEAR)))
    n = rng.poisson(peak * (end - start))
    t = np.sort(rng.uniform(start, end, n))
    keep = rng.uniform(0.0, peak, n) < np.exp(log_rate + growth * (t - REF_YEAR))
    return t[keep]


def _brownian(rng, times: np.ndarray, sd: float) -> np.ndarray:
    """A random walk of ``sd`` per sqrt(year) at increasing ``times``, zero at ``times[0]``."""
    steps = sd * np.sqrt(np.diff(times)) * rng.standard_normal(len(times) - 1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def recovery_world(seed: int = 20260601):
    """``(models, world)``: the models table up to the data date (the last release before
    2026), and the true world at the data date: its parameters' state (the edge and the
    tokens-per-parameter level there, the knots of both walks), the record compute and the
    largest training set of the record runs (true tokens, also for the undisclosed ones),
    for :func:`continue_world`."""
    rng = np.random.default_rng(seed)
    streams = {}
    for stream in ("disclosed", "undisclosed"):
        raw = _poisson_times(
            rng,
            TRUTH[f"release_log_rate_{stream}"],
            TRUTH[f"release_growth_{stream}"],
            START,
            END,
        )
        # to the second, as a models table stores dates
        dates = pd.DatetimeIndex([from_decimal_year(float(y)) for y in raw])
        streams[stream] = (dates, np.asarray(decimal_years(dates), dtype=float))
    all_years = np.concatenate([streams[s][1] for s in streams])
    t_first, t_now = float(all_years.min()), float(all_years.max())

    # The edge: its line, and a random walk over the model's knots (each 1 January and the
    # data date), zero at the data date.
    knots = _knots(t_first, t_now)
    walk = _brownian(rng, knots, MODEL.edge_step_sd)
    walk -= walk[-1]
    edge_now = TRUTH["edge_line_2024"] + TRUTH["compute_growth"] * (t_now - REF_YEAR)
    weights = {s: _interp_weights(years, knots) for s, (_, years) in streams.items()}
    # The tokens-per-parameter level: a random walk over the same knots.
    level = _brownian(rng, knots, MODEL.ratio_step_sd)
    level += LEVEL_NOW - level[-1]

    rows = []
    for stream, (dates, years) in streams.items():
        disclosed = stream == "disclosed"
        e = edge_now + TRUTH["compute_growth"] * (years - t_now) + weights[stream] @ walk
        true_x = e - rng.exponential(TRUTH[f"gap_{stream}"], len(years))
        source = "reported" if disclosed else "estimate"
        x = true_x + COMPUTE_SD_OOM[source] * rng.standard_normal(len(years))
        rho = (
            weights[stream] @ level
            + TRUTH["ratio_depth"] * (x - e)
            + TRUTH["ratio_sd"] * rng.standard_normal(len(years))
        )
        log10_tokens = 0.5 * (x + rho - LOG10_6)
        for i in range(len(years)):
            rows.append(
                {
                    "model": f"{stream}-{i:03d}",
                    "date": dates[i],
                    "year": years[i],
                    "tokens": 10.0 ** log10_tokens[i] if disclosed else np.nan,
                    "true_log10_tokens": log10_tokens[i],
                    "compute_flop": 10.0 ** x[i],
                    "compute_source": source,
                    "family": f"{stream}-{i:03d}",
                }
            )
    table = pd.DataFrame(rows).sort_values(["year", "model"], ignore_index=True)
    table["date"] = table["date"].astype("datetime64[ns]")
    # The record runs (by the table's compute, as the model reads them) and the largest of
    # their true training sets.
    x = np.log10(table["compute_flop"].to_numpy())
    is_record = x >= np.maximum.accumulate(x)
    world = {
        "t_now": t_now,
        "edge_at_data_date": edge_now,
        "knots": knots,
        "ratio_level": level,
        "record": float(x.max()),
        "largest": float(table["true_log10_tokens"][is_record].max()),
    }
    return table.drop(columns="true_log10_tokens"), world


def continue_world(world: dict, years: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """One continuation of the true world after its data date: the record compute and the
    largest training set of the record runs at ``years`` (the record's new runs at their
    true compute, as the model projects them). The edge and the level walk on, week by
    week (the level within [20, 10,000] tokens per parameter, as the model assumes);
    releases keep the streams' growing rates."""
    t_now = world["t_now"]
    grid = t_now + np.arange(0.0, years.max() - t_now + 0.05, 1.0 / 52.0)
    walk = _brownian(rng, grid, MODEL.edge_step_sd)
    level = world["ratio_level"][-1] + _brownian(rng, grid, MODEL.ratio_step_sd)
    np.clip(level, LOG10_CHINCHILLA, RATIO_CAP_LOG10, out=level)
    times, compute, tokens = [], [], []
    for stream in ("disclosed", "undisclosed"):
        t = _poisson_times(
            rng,
            TRUTH[f"release_log_rate_{stream}"],
            TRUTH[f"release_growth_{stream}"],
            t_now,
            float(years.max()),
        )
        e = world["edge_at_data_date"] + TRUTH["compute_growth"] * (t - t_now)
        e += np.interp(t, grid, walk)
        x = e - rng.exponential(TRUTH[f"gap_{stream}"], len(t))
        rho = (
            np.interp(t, grid, level)
            + TRUTH["ratio_depth"] * (x - e)
            + TRUTH["ratio_sd"] * rng.standard_normal(len(t))
        )
        times.append(t)
        compute.append(x)
        tokens.append(0.5 * (x + rho - LOG10_6))
    order = np.argsort(np.concatenate(times))
    t, x, d = (np.concatenate(v)[order] for v in (times, compute, tokens))
    record = np.maximum.accumulate(np.concatenate([[world["record"]], x]))
    is_record = np.concatenate([[True], x >= record[1:]])
    largest = np.maximum.accumulate(
        np.where(is_record, np.concatenate([[world["largest"]], d]), -np.inf)
    )
    at = np.searchsorted(t, years, side="right")  # 0: no release yet
    return record[at], largest[at]


def _draws(fit, name: str) -> np.ndarray:
    values = fit.posterior[name].to_numpy()
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


@pytest.mark.slow
def test_recovers_a_known_compute_frontier():
    start = time.perf_counter()
    models, world = recovery_world()
    rows = MODEL.select(models)
    n_compute, n_ratio = int(rows["role_compute"].sum()), int(rows["role_ratio"].sum())
    assert n_compute == len(models) and n_ratio >= 30, (n_compute, n_ratio)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)  # checked below, with the numbers
        warnings.simplefilter("ignore", ShortHistoryWarning)
        fit = MODEL.fit(models, SAMPLER)
    t_now = MODEL.data_year(fit)
    assert t_now == pytest.approx(world["t_now"])
    np.testing.assert_allclose(
        fit.posterior["knot"].to_numpy(), world["knots"][-len(fit.posterior["knot"]) :]
    )
    diag = fit.diagnostics()
    print(
        f"\nrecovery fit of {n_compute} compute runs ({n_ratio} ratio runs) "
        f"in {time.perf_counter() - start:.0f} s: {diag}"
    )
    failed = []  # every check prints before the test fails, so one run shows them all

    def check(ok: bool, message: str) -> None:
        if not ok:
            failed.append(message)

    check(diag.divergences == 0, f"{diag.divergences} divergent transitions")
    check(diag.r_hat_max <= RHAT_MAX, f"r_hat {diag.r_hat_max:.3f} > {RHAT_MAX}")
    check(diag.ess_bulk_min >= 400, f"bulk ESS {diag.ess_bulk_min:.0f} < 400")

    def interval(draws: np.ndarray, level: float) -> np.ndarray:
        a = (1.0 - level) / 2.0
        return np.quantile(draws, [a, 1.0 - a], axis=0)

    def covered(name: str, true: float, draws: np.ndarray, level: float) -> bool:
        lo, hi = interval(draws, level)
        print(f"  {name:<30} truth {true:8.3f}   {level:.0%} [{lo:8.3f}, {hi:8.3f}]")
        return bool(lo <= true <= hi)

    growth = _draws(fit, "compute_growth")
    check(covered("compute_growth", TRUTH["compute_growth"], growth, 0.9), "growth not covered")
    # informative: the edge's random walk alone leaves the 10-year mean growth an sd of
    # about edge_step_sd / sqrt(10) = 0.08 OOM/yr; the prior's sd is 0.2
    check(growth.std() < 0.12, f"growth posterior sd {growth.std():.3f}")

    others = {
        "edge_at_data_date": world["edge_at_data_date"],
        **{k: v for k, v in TRUTH.items() if k not in ("compute_growth", "edge_line_2024")},
        "ratio_at_data_date": world["ratio_level"][-1],
    }
    for name, true in others.items():
        check(covered(name, true, _draws(fit, name), 0.95), f"{name} not covered")

    # The posterior predictive of the three years after the data date (the world has no
    # ceiling) against the world's own: one continuation, and 400 more of the true model
    # from the true state at the data date (a single realisation lands outside a 90%
    # interval one time in ten however good the model).
    years = t_now + np.arange(1.0, HELD_OUT_YEARS + 0.5)
    tokens, compute = MODEL.simulate(
        fit, years, 4000, np.random.default_rng(1), ComputeLevers(feasibility="none")
    )
    realised = continue_world(world, years, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    oracle = np.array([continue_world(world, years, rng) for _ in range(400)])  # (k, 2, year)
    for q, (name, draws) in enumerate(
        (("record compute", compute), ("largest training set", tokens))
    ):
        lo, hi = interval(draws, 0.9)
        o_lo, o_hi = interval(oracle[:, q], 0.9)
        for j in range(len(years)):
            label = f"{name} +{j + 1} yr"
            inside = np.mean((oracle[:, q, j] >= lo[j]) & (oracle[:, q, j] <= hi[j]))
            pit = np.mean(draws[:, j] < realised[q][j])
            print(
                f"  {label:<30} predictive 90% [{lo[j]:7.3f}, {hi[j]:7.3f}], true model's "
                f"[{o_lo[j]:7.3f}, {o_hi[j]:7.3f}]: covers {inside:.0%} of its draws; "
                f"realised {realised[q][j]:7.3f} at PIT {pit:.3f}"
            )
            check(inside >= 0.8, f"{label}: the 90% predictive covers {inside:.0%}")
            check(
                hi[j] - lo[j] < 2.5 * (o_hi[j] - o_lo[j]),
                f"{label}: the 90% predictive is {hi[j] - lo[j]:.2f} OOM wide",
            )
            check(0.01 <= pit <= 0.99, f"{label}: realised value outside the 98% predictive")
    print(f"recovery test: {time.perf_counter() - start:.0f} s")
    assert not failed, failed
