"""Demand v3 (forecast/demand/compute_frontier.py), its feasibility ceiling
(forecast/demand/feasibility.py) and the published projections (forecast/demand/published.py).

Projections are tested two ways, neither of which samples:

- on the real v3 fit of the bundled table (``bundled_demand``, recorded posteriors): grid
  independence, reproducibility, monotonicity, the latency wall and the direction of every
  lever, with common random numbers;
- on fake posteriors (``arviz.from_dict``) with known parameters, where the projection has
  a closed form: the largest of two Poisson streams of releases below a flat edge, the
  edge's random walk, the stall's length and the 2030 ceiling.

Parameter recovery from a synthetic history is the slow test
(tests/demand/test_compute_frontier_recovery.py).
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast import demand as dm
from forecast.demand import published
from forecast.demand.compute_frontier import (
    LOG10_6,
    LOG10_CHINCHILLA,
    MONTHLY_YEARS,
    RATIO_CAP_LOG10,
    RATIO_MIN_COMPUTE,
    REF_YEAR,
    ComputeFrontierTrend,
    ComputeLevers,
    _lattice,
    _LatticeState,
)
from forecast.demand.feasibility import (
    CEILING_YEAR,
    Feasibility,
    compute_ceiling,
    feasibility_table,
    latency_wall_log10,
)
from forecast.demand.model import _Scaling
from forecast.errors import DataError, ForecastError
from forecast.stock.estimates import parameter_spec
from forecast.units import from_decimal_year, words_to_tokens

WALL = latency_wall_log10()
LOG10_20 = math.log10(20.0)


@pytest.fixture(scope="module")
def v3(bundled_demand):
    """The real demand v3 fit of the bundled table (recorded posterior)."""
    return bundled_demand.fits["compute-frontier"]


def _simulate(fit, years, n=2000, seed=5, **levers):
    return fit.model.simulate(
        fit, np.asarray(years, dtype=float), n, np.random.default_rng(seed), ComputeLevers(**levers)
    )


def _lattice_points(fit, end: float) -> np.ndarray:
    """The projection's own lattice dates up to ``end``: between two of them there is one
    step, so at most one new record run."""
    points = _lattice(fit.model.data_year(fit), end)
    return points[points <= end]


def _new_record_ratios(tokens: np.ndarray, compute: np.ndarray) -> np.ndarray:
    """log10 tokens per parameter ``log10(6 D^2 / C)`` of the runs that set a new largest
    training set, on a grid of consecutive lattice points."""
    new = np.diff(tokens, axis=1) > 0
    assert not (new & ~(np.diff(compute, axis=1) > 0)).any()  # a new training set is a record
    return (2.0 * tokens - compute + LOG10_6)[:, 1:][new]


# --- fake posteriors -----------------------------------------------------------------------

T_NOW = 2026.0
#: The past record runs of the fake table: (year, log10 FLOP, log10 tokens).
PAST_RECORDS = ((2024.0, 18.0, 10.0), (2025.0, 19.0, 10.5), (T_NOW, 20.0, 10.2))


def _fake_fit(
    *,
    n: int = 4000,
    growth: float = 0.0,
    edge: float = 27.0,
    gap_disclosed: float = 0.5,
    gap_undisclosed: float = 1.0,
    rate_disclosed: float = 4.0,
    rate_undisclosed: float = 0.0,
    rate_growth: float = 0.0,
    level: float = 2.0,
    depth: float = 0.0,
    ratio_sd: float = 0.0,
    edge_step_sd: float = 0.0,
    ratio_step_sd: float = 0.0,
) -> dm.DemandFit:
    """A v3 fit whose every posterior draw is the given parameters. Rates are per year at
    the data date :data:`T_NOW` (the log rates are stored at :data:`REF_YEAR`, with growth
    ``rate_growth``); the record at the data date is 1e20 FLOP, far below the edge."""
    model = ComputeFrontierTrend()
    model.edge_step_sd = edge_step_sd
    model.ratio_step_sd = ratio_step_sd
    frame = pd.DataFrame(
        {
            "model": [f"run-{i}" for i in range(len(PAST_RECORDS))],
            "date": pd.to_datetime([from_decimal_year(y) for y, _, _ in PAST_RECORDS]),
            "year": [y for y, _, _ in PAST_RECORDS],
            "tokens": [10.0**d for *_, d in PAST_RECORDS],
            "compute_flop": [10.0**c for _, c, _ in PAST_RECORDS],
            "compute_source": "reported",
        }
    )
    rows = model.select(frame)
    shape = (2, n // 2)

    def const(v):
        return np.full(shape, float(v))

    def log_rate(rate):
        rate = max(rate, 1e-200)  # no releases at all
        return math.log(rate) - rate_growth * (T_NOW - REF_YEAR)

    knots = np.array([2024.0, 2025.0, T_NOW])
    posterior = {
        "compute_growth": const(growth),
        "edge_at_data_date": const(edge),
        "gap_disclosed": const(gap_disclosed),
        "gap_undisclosed": const(gap_undisclosed),
        "ratio_depth": const(depth),
        "ratio_sd": const(ratio_sd),
        "ratio_at_data_date": const(level),
        "release_log_rate_disclosed": const(log_rate(rate_disclosed)),
        "release_growth_disclosed": const(rate_growth),
        "release_log_rate_undisclosed": const(log_rate(rate_undisclosed)),
        "release_growth_undisclosed": const(rate_growth),
        "ratio_level": np.full((*shape, len(knots)), level),
        "edge_walk": np.zeros((*shape, len(knots))),
    }
    idata = az.from_dict(
        posterior=posterior,
        coords={"knot": knots, "edge_knot": knots},
        dims={"ratio_level": ["knot"], "edge_walk": ["edge_knot"]},
    )
    return dm.DemandFit(
        model=model,
        idata=idata,
        rows=rows,
        scaling=_Scaling(0.0, 1.0, 0.0, 1.0),
        sampler=dm.SamplerConfig(),
    )


# --- projection: grid, seed, monotonicity --------------------------------------------------


def test_a_dates_value_does_not_depend_on_the_other_dates_asked_for(v3):
    t_now = v3.model.data_year(v3)
    short = np.concatenate([[2020.0, t_now], np.arange(2027.0, 2041.0)])
    long = np.concatenate([[2020.0, t_now], np.arange(2027.0, 2101.0)])
    a_tokens, a_compute = _simulate(v3, short, seed=3)
    b_tokens, b_compute = _simulate(v3, long, seed=3)
    np.testing.assert_array_equal(a_tokens, b_tokens[:, : len(short)])
    np.testing.assert_array_equal(a_compute, b_compute[:, : len(short)])
    # a subset, out of order, off the yearly grid's neighbours
    subset = np.array([2095.0, 2035.0, 2030.0, 2061.0])
    c_tokens, c_compute = _simulate(v3, subset, seed=3)
    at = [int(np.flatnonzero(long == y)[0]) for y in subset]
    np.testing.assert_array_equal(c_tokens, b_tokens[:, at])
    np.testing.assert_array_equal(c_compute, b_compute[:, at])
    # ... across the switch from monthly to quarterly lattice steps, and for other levers
    for levers in ({"stall_probability": 0.5}, {"tokens_per_parameter": "trend"}):
        early, _ = _simulate(v3, [2030.0, t_now + MONTHLY_YEARS - 0.01], seed=4, **levers)
        late, _ = _simulate(v3, [2030.0, t_now + MONTHLY_YEARS - 0.01, 2100.0], seed=4, **levers)
        np.testing.assert_array_equal(early, late[:, :2])


def test_same_seed_same_draws_other_seed_other_draws(v3):
    years = [2030.0, 2040.0, 2060.0]
    a = _simulate(v3, years, n=500, seed=11)
    b = _simulate(v3, years, n=500, seed=11)
    c = _simulate(v3, years, n=500, seed=12)
    for x, y, z in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(x, y)
        assert np.mean(x != z) > 0.9  # almost every draw differs
        # ... but not the distribution: medians agree to MC error
        np.testing.assert_allclose(np.median(x, 0), np.median(z, 0), atol=0.3)


@pytest.mark.parametrize(
    "levers",
    [
        {},
        {"feasibility": "none"},
        {"stall_probability": 1.0},
        {"tokens_per_parameter": "trend"},
        {"compute_growth": (0.2, 1.2)},
    ],
)
def test_the_largest_run_never_shrinks(v3, levers):
    years = np.arange(2018.0, 2100.01, 0.25)
    tokens, compute = _simulate(v3, years, n=1000, **levers)
    assert np.all(np.diff(tokens, axis=1) >= 0)
    assert np.all(np.diff(compute, axis=1) >= 0)
    # ... and it does grow (most draws gain compute and tokens after the data date)
    assert np.mean(compute[:, -1] > compute[:, 40] + 1.0) > 0.9
    assert np.mean(tokens[:, -1] > tokens[:, 40]) > 0.9


def test_past_dates_are_the_recorded_record_runs(v3):
    model = v3.model
    events = model.record_events(v3)
    assert np.all(np.diff(events["log10_compute"].to_numpy()) > 0)  # each a new record
    # up to the last record run with a published token count, the past is fixed: its
    # compute, and the largest published training set of the record runs so far
    known = events[events["log10_tokens"].notna()]
    until = float(known["year"].iloc[-1])
    assert events["log10_tokens"][events["year"] <= until].notna().all()
    years = np.array([float(known["year"].iloc[1]), until])
    tokens, compute = _simulate(v3, years, n=300)
    for j, year in enumerate(years):
        so_far = events[events["year"] <= year]
        np.testing.assert_allclose(compute[:, j], so_far["log10_compute"].iloc[-1])
        np.testing.assert_allclose(tokens[:, j], so_far["log10_tokens"].max())
    # the projection starts where the data end: the data date and just after agree
    t_now = model.data_year(v3)
    tokens, compute = _simulate(v3, [t_now, t_now + 1e-4], n=300)
    np.testing.assert_array_equal(tokens[:, 0], tokens[:, 1])
    np.testing.assert_array_equal(compute[:, 1], events["log10_compute"].iloc[-1])


# --- feasibility through the projection ----------------------------------------------------


def test_no_draw_exceeds_the_latency_wall(v3):
    assert WALL == pytest.approx(math.log10(3e31))
    years = np.arange(2027.0, 2100.01, 1.0)
    for levers in ({}, {"compute_growth": 1.5}, {"tokens_per_parameter": "trend"}):
        _, compute = _simulate(v3, years, n=2000, **levers)
        assert compute.max() <= WALL + 1e-12
        # the wall binds: by 2100 most draws are within 0.05 OOM of it
        assert np.mean(compute[:, -1] > WALL - 0.05) > 0.8
    # without the feasibility lever most draws pass the wall by 2100 (the lever acts)
    _, free = _simulate(v3, years, n=2000, feasibility="none")
    assert np.mean(free[:, -1] > WALL) > 0.8
    assert np.median(free[:, -1]) > WALL + 10.0


def test_the_ceiling_caps_a_fast_edge_at_the_sevilla_2030_limits():
    # growth 3 OOM/yr from 1e26 meets the ceiling long before 2030: the record in 2030 is
    # the ceiling at the middle of the last step, whose 2030 value is the lower of the
    # power and chip limits
    fit = _fake_fit(growth=3.0, edge=26.0, gap_disclosed=1e-6, rate_disclosed=1e5)
    years = np.array([2030.0, 2035.0, 2100.0])
    _, compute = _simulate(fit, years, n=4000, seed=8)
    f = (CEILING_YEAR - 1.0 / 24.0 - T_NOW) / (CEILING_YEAR - T_NOW)  # the last step's middle
    ceiling_2030 = 26.0 + (compute[:, 0] - 26.0) / f
    power = parameter_spec(feasibility_table(), "power_2030")
    chips = parameter_spec(feasibility_table(), "chips_2030")

    def log10_normal(spec):
        z = NormalDist().inv_cdf(0.5 + spec.interval / 2.0)
        mean = 0.5 * (math.log10(spec.low) + math.log10(spec.high))
        return NormalDist(mean, (math.log10(spec.high) - math.log10(spec.low)) / (2.0 * z))

    p, c = log10_normal(power), log10_normal(chips)

    def cdf(x):
        x = np.asarray(x)
        sp = 1.0 - stats.norm.cdf(x, p.mean, p.stdev)
        sc = 1.0 - stats.norm.cdf(x, c.mean, c.stdev)
        return 1.0 - sp * sc

    assert stats.kstest(ceiling_2030, cdf).pvalue > 0.001
    # after 2030 the ceiling grows at feasible_growth_after_2030 (lognormal, 90% 0.1-0.5
    # OOM/yr; its upper tail is cut by the wall here, so its 5% and 50% points)
    after = (compute[:, 1] - ceiling_2030) / (2035.0 - 1.0 / 24.0 - CEILING_YEAR)
    np.testing.assert_allclose(np.quantile(after, [0.05, 0.5]), [0.1, math.sqrt(0.05)], atol=0.01)
    # the latency wall: never passed, and reached by 2100 in all but a few draws
    assert compute.max() <= WALL + 1e-12
    assert np.mean(compute[:, -1] > WALL - 1e-4) > 0.99


# --- levers --------------------------------------------------------------------------------


def test_faster_compute_growth_gives_more_compute_in_every_draw(v3):
    years = [2030.0, 2035.0, 2040.0]
    for feasibility in ("sevilla2024", "none"):
        _, fast = _simulate(v3, years, feasibility=feasibility, compute_growth=0.7)
        _, slow = _simulate(v3, years, feasibility=feasibility, compute_growth=0.35)
        assert np.all(fast >= slow)  # common random numbers: every draw, every date
        gain = np.median(fast[:, 1]) - np.median(slow[:, 1])
        assert gain > (2.0 if feasibility == "none" else 0.3), (feasibility, gain)
    # without the ceiling the median gain by 2035 is about 0.35 OOM/yr x 8.5 years
    assert gain == pytest.approx(0.35 * (2035.0 - v3.model.data_year(v3)), abs=0.6)


def test_compute_growth_interval_is_a_normal_90_percent_interval():
    assert ComputeLevers().growth_spec() is None
    assert ComputeLevers(compute_growth=0.5).growth_spec() == (0.5, 0.0)
    mean, sd = ComputeLevers(compute_growth=(0.4, 0.7)).growth_spec()
    assert mean == pytest.approx(0.55)
    assert sd == pytest.approx(0.15 / 1.6448536, rel=1e-6)
    mean, sd = ComputeLevers(compute_growth=(0.4, 0.7, 0.8)).growth_spec()
    assert sd == pytest.approx(0.15 / 1.2815516, rel=1e-6)


def test_compute_growth_interval_spreads_the_edges_growth():
    # flat edge with no walk and dense tiny gaps: the record follows the line, so its
    # growth over 2027-2037 (before any ceiling: feasibility off) is the drawn growth
    fit = _fake_fit(gap_disclosed=1e-6, rate_disclosed=1e5, edge=20.0)
    years = [2027.0, 2037.0]
    _, compute = _simulate(fit, years, n=4000, feasibility="none", compute_growth=(0.4, 0.7))
    growth = np.diff(compute, axis=1)[:, 0] / 10.0
    lo, hi = np.quantile(growth, [0.05, 0.95])
    assert lo == pytest.approx(0.4, abs=0.02)
    assert hi == pytest.approx(0.7, abs=0.02)


def test_tokens_per_parameter_levers_leave_compute_unchanged(v3):
    years = _lattice_points(v3, 2045.0)
    _, base = _simulate(v3, years, n=1000)
    for mode in ("held", "trend", "chinchilla", 50.0):
        _, compute = _simulate(v3, years, n=1000, tokens_per_parameter=mode)
        np.testing.assert_array_equal(compute, base)
    _, compute = _simulate(v3, years, n=1000, overtraining=5.0)
    np.testing.assert_array_equal(compute, base)


@pytest.mark.parametrize("mode, ratio", [("chinchilla", 20.0), (50.0, 50.0), (7, 7.0)])
def test_a_fixed_ratio_sets_every_new_record_runs_tokens(v3, mode, ratio):
    years = _lattice_points(v3, 2040.0)
    tokens, compute = _simulate(v3, years, n=1000, tokens_per_parameter=mode)
    rho = _new_record_ratios(tokens, compute)
    assert rho.size > 1000
    np.testing.assert_allclose(rho, math.log10(ratio), atol=1e-9)  # D = sqrt(C r / 6)


def test_chinchilla_trains_on_fewer_tokens_than_todays_frontier(v3):
    years = [2030.0, 2040.0, 2060.0]
    chin, _ = _simulate(v3, years, n=2000, tokens_per_parameter="chinchilla")
    front, _ = _simulate(v3, years, n=2000)
    # today's frontier trains at about 10x Chinchilla's ratio: 0.5 OOM more tokens
    gap = np.median(front, 0) - np.median(chin, 0)
    assert np.all(gap > 0.3) and gap[2] > 0.5, gap


def test_overtraining_multiplies_the_ratio_from_its_date(v3):
    years = _lattice_points(v3, 2045.0)
    plain, compute = _simulate(v3, years, n=1000, tokens_per_parameter="chinchilla")
    over, _ = _simulate(
        v3, years, n=1000, tokens_per_parameter="chinchilla", overtraining=5.0,
        overtraining_from=2035.0,
    )  # fmt: skip
    new = np.diff(plain, axis=1) > 0
    rho = (2.0 * over - compute + LOG10_6)[:, 1:]
    # a record run's step has its middle between the two lattice points
    after = years[1:] > 2035.0 + 1.0 / 12.0
    before = years[1:] <= 2035.0
    np.testing.assert_allclose(rho[new & before[None, :]], LOG10_20, atol=1e-9)
    np.testing.assert_allclose(rho[new & after[None, :]], math.log10(100.0), atol=1e-9)
    # k x the ratio -> sqrt(k) x the tokens, once a run after the date holds the record
    latest = over[:, -1] > plain[:, -1]
    assert latest.mean() > 0.9
    np.testing.assert_allclose(over[latest, -1] - plain[latest, -1], 0.5 * math.log10(5.0))


def test_ratio_levers_order_the_tokens(v3):
    years = [2040.0, 2060.0]
    held, _ = _simulate(v3, years, n=3000, tokens_per_parameter="held")
    front, _ = _simulate(v3, years, n=3000)
    trend, _ = _simulate(v3, years, n=3000, tokens_per_parameter="trend")
    # the fitted level rose over the data's last two years: its trend continued trains on
    # more tokens than the level held
    assert np.median(trend[:, 0]) > np.median(held[:, 0]) + 0.3
    # "frontier": the level's random walk continued, so the spread grows
    iqr = [np.subtract(*np.quantile(x[:, 1], [0.75, 0.25])) for x in (held, front)]
    assert iqr[1] > 1.5 * iqr[0]


def test_a_certain_stall_gives_less_compute(v3):
    years = [2030.0, 2035.0, 2040.0]
    _, none = _simulate(v3, years, n=3000, stall_probability=0.0)
    _, stall = _simulate(v3, years, n=3000, stall_probability=1.0)
    drop = np.median(none, 0) - np.median(stall, 0)
    assert drop[1] > 0.5 and drop[2] > 0.2, drop


def test_a_stall_lasts_its_documented_length():
    # growth 0.5 OOM/yr, no walk, dense tiny gaps: by 2050 (a stall starts by 2032 and
    # lasts 2-10 years, 90%) the record trails the unstalled line by 0.5 x its length
    fit = _fake_fit(growth=0.5, edge=26.0, gap_disclosed=1e-6, rate_disclosed=1e5)
    _, compute = _simulate(fit, [2050.0], n=4000, seed=2, feasibility="none", stall_probability=1)
    mid = 2050.0 - 0.125  # the middle of the last quarterly step
    length = (26.0 + 0.5 * (mid - T_NOW) - compute[:, 0]) / 0.5
    spec = parameter_spec(feasibility_table(), "stall_years")
    assert (spec.low, spec.high, spec.interval) == (2.0, 10.0, 0.9)
    q = np.quantile(length, [0.05, 0.5, 0.95])
    np.testing.assert_allclose(q, [2.0, math.sqrt(20.0), 10.0], rtol=0.08)
    # a stall probability of one half stalls half the trajectories
    _, half = _simulate(fit, [2050.0], n=4000, seed=2, feasibility="none", stall_probability=0.5)
    stalled = (26.0 + 0.5 * (mid - T_NOW) - half[:, 0]) > 0.05
    assert stalled.mean() == pytest.approx(0.5, abs=0.03)


def test_levers_are_validated():
    for bad in (
        {"tokens_per_parameter": "optimal"},
        {"tokens_per_parameter": 0.5},
        {"tokens_per_parameter": 2e4},
        {"tokens_per_parameter": True},
        {"feasibility": "sevilla2030"},
        {"stall_probability": 1.5},
        {"compute_growth": (0.1,)},
        {"compute_growth": "fast"},
    ):
        with pytest.raises(ForecastError):
            ComputeLevers(**bad)


def test_scenario_levers_reach_the_model(bundled_demand, v3):
    from forecast.pipeline import demand_projector
    from forecast.scenarios import load_scenario

    scenario = load_scenario("baseline").with_overrides(
        demand__tokens_per_parameter="chinchilla",
        demand__compute_growth=[0.3, 0.5],
        demand__stall_probability=0.25,
        demand__overtraining=2.0,
    )
    levers = scenario.demand.compute_levers()
    assert levers == ComputeLevers(
        tokens_per_parameter="chinchilla",
        overtraining=2.0,
        compute_growth=(0.3, 0.5),
        stall_probability=0.25,
    )
    years = np.array([2030.0, 2050.0])
    draws = demand_projector(scenario, bundled_demand).with_compute(years, 400, 9)
    tokens, compute = v3.model.simulate(v3, years, 400, np.random.default_rng(9), levers)
    np.testing.assert_allclose(draws.tokens, 10.0**tokens)
    np.testing.assert_allclose(draws.compute, 10.0**compute)


# --- the release process and the edge's walk (fake posteriors) -----------------------------


def test_the_record_is_the_largest_of_two_poisson_streams_of_releases():
    # flat edge (no growth, no walk): after T years the record is the edge minus the
    # smallest gap of Poisson(T r_d) Exp(mean g_d) gaps and Poisson(T r_u) Exp(g_u) gaps:
    # P(smallest gap <= g) = 1 - exp(-T sum_s r_s (1 - exp(-g / g_s)))
    rates, gaps = (3.0, 2.0), (0.5, 1.5)
    fit = _fake_fit(
        rate_disclosed=rates[0],
        rate_undisclosed=rates[1],
        gap_disclosed=gaps[0],
        gap_undisclosed=gaps[1],
        rate_growth=0.3,  # stored at 2024: the rates at the data date are the ones given
    )
    span = 2.0
    _, compute = _simulate(fit, [T_NOW + span], n=4000, seed=1, feasibility="none")
    smallest = 27.0 - compute[:, 0]

    def cdf(g):
        g = np.asarray(g)
        return 1.0 - np.exp(
            -span * sum(r * -np.expm1(-g / s) for r, s in zip(rates, gaps, strict=True))
        )

    assert stats.kstest(smallest, cdf).pvalue > 0.001

    # the check has power: one stream only, or the rates at REF_YEAR (not at the data
    # date), are rejected
    def one_stream(g):
        return 1.0 - np.exp(-span * rates[0] * -np.expm1(-np.asarray(g) / gaps[0]))

    def at_ref_year(g):
        return 1.0 - (1.0 - cdf(g)) ** math.exp(-0.3 * (T_NOW - REF_YEAR))

    assert stats.kstest(smallest, one_stream).pvalue < 1e-6
    assert stats.kstest(smallest, at_ref_year).pvalue < 1e-6


def test_without_releases_the_record_stays():
    fit = _fake_fit(rate_disclosed=0.0, rate_undisclosed=0.0, growth=1.0)
    tokens, compute = _simulate(fit, [2030.0, 2100.0], n=200, feasibility="none")
    np.testing.assert_array_equal(compute, PAST_RECORDS[-1][1])
    np.testing.assert_array_equal(tokens, max(d for *_, d in PAST_RECORDS))


def test_the_edge_walks_with_its_step_sd_per_sqrt_year():
    # dense releases with tiny gaps: the record is the running maximum of the edge's walk
    # over the lattice's monthly steps, each N(0, sd^2 / 12)
    sd = 0.25
    fit = _fake_fit(edge_step_sd=sd, gap_disclosed=1e-6, rate_disclosed=1e5)
    _, compute = _simulate(fit, [T_NOW + 5.0], n=4000, seed=6, feasibility="none")
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(0.0, sd / math.sqrt(12.0), (4000, 60)), axis=1)
    reference = walk.max(axis=1)
    assert stats.ks_2samp(compute[:, 0] - 27.0, reference).pvalue > 0.001
    assert stats.ks_2samp(compute[:, 0] - 27.0, 2.0 * reference).pvalue < 1e-6


def test_a_new_record_runs_tokens_follow_its_compute_and_the_ratio():
    # held level 100 tokens per parameter, no depth or residual: D = sqrt(C 100 / 6)
    fit = _fake_fit(level=2.0, growth=0.5)
    years = _lattice_points(fit, 2035.0)
    for mode in ("held", "frontier", "trend"):  # no walk, no trend in this posterior
        tokens, compute = _simulate(
            fit, years, n=500, feasibility="none", tokens_per_parameter=mode
        )
        np.testing.assert_allclose(_new_record_ratios(tokens, compute), 2.0, atol=1e-9)
    # depth: a run 1 OOM below the edge at depth -0.5 is 0.5 OOM more overtrained, within
    # the [20, 10,000] bound on a record run's ratio
    deep = _fake_fit(level=2.0, depth=-0.5, gap_disclosed=1.0, rate_disclosed=1.0)
    tokens, compute = _simulate(deep, years, n=500, feasibility="none", tokens_per_parameter="held")
    new = np.diff(tokens, axis=1) > 0
    rho = (2.0 * tokens - compute + LOG10_6)[:, 1:][new]
    expected = np.clip(2.0 - 0.5 * (compute[:, 1:][new] - 27.0), LOG10_20, RATIO_CAP_LOG10)
    np.testing.assert_allclose(rho, expected, atol=1e-9)
    assert (expected == RATIO_CAP_LOG10).any() and (expected < RATIO_CAP_LOG10).any()


# --- the ratio's level and the lattice -----------------------------------------------------


def _state(levers: ComputeLevers, n: int = 3, trend: float = 0.0) -> _LatticeState:
    feas = Feasibility.draw(n, T_NOW, np.random.default_rng(0))
    return _LatticeState(
        t_now=T_NOW,
        edge_now=np.full(n, 27.0),
        growth=np.full(n, 0.5),
        edge_step_sd=np.zeros(n),
        stalled=np.zeros(n, dtype=bool),
        feasibility=feas,
        levers=levers,
        depth=np.zeros(n),
        residual=np.zeros(n),
        level_now=np.full(n, 2.0),
        level_step_sd=0.6,
        trend=np.full(n, trend),
        rates=np.ones((2, n)),
        gaps=np.ones((2, n)),
    )


def test_the_projected_level_is_clamped_to_chinchilla_and_ten_thousand():
    assert RATIO_CAP_LOG10 == 4.0 and LOG10_CHINCHILLA == pytest.approx(LOG10_20)
    t = np.array([2030.0, 2040.0, 2050.0])
    compute = np.full((3, 3), 27.0)
    walk = np.array([[-5.0, 0.5, 5.0]] * 3)
    front = _state(ComputeLevers()).ratio(t, compute, compute, walk)
    np.testing.assert_allclose(front, [[LOG10_20, 2.5, 4.0]] * 3)
    # "held" ignores the walk; "trend" adds its yearly change, within the same bounds
    held = _state(ComputeLevers(tokens_per_parameter="held")).ratio(t, compute, compute, walk)
    np.testing.assert_allclose(held, 2.0)
    trend = _state(ComputeLevers(tokens_per_parameter="trend"), trend=0.1)
    np.testing.assert_allclose(
        trend.ratio(t, compute, compute, np.zeros((3, 3))),
        np.clip(2.0 + 0.1 * (t - T_NOW), None, 4.0)[:, None] * np.ones((1, 3)),
    )
    big = _state(ComputeLevers(tokens_per_parameter="trend"), trend=0.3)
    assert big.ratio(t, compute, compute, np.zeros((3, 3))).max() == 4.0


def test_no_projected_record_run_leaves_the_documented_ratio_bounds(v3):
    years = _lattice_points(v3, 2060.0)
    for mode in ("frontier", "trend"):
        tokens, compute = _simulate(v3, years, n=1000, tokens_per_parameter=mode)
        rho = _new_record_ratios(tokens, compute)
        assert rho.min() >= LOG10_20 - 1e-9, (mode, 10 ** rho.min())
        assert rho.max() <= RATIO_CAP_LOG10 + 1e-9, (mode, 10 ** rho.max())


def test_the_lattice_is_monthly_for_fifteen_years_then_quarterly():
    t = 2026.3
    lattice = _lattice(t, 2100.0)
    steps = np.diff(lattice)
    np.testing.assert_allclose(steps[: 12 * MONTHLY_YEARS], 1.0 / 12.0)
    np.testing.assert_allclose(steps[12 * MONTHLY_YEARS :], 0.25)
    assert lattice[0] == t and lattice[-1] >= 2100.0 and lattice[-2] <= 2100.0 + 0.25
    # a shorter lattice is a prefix of a longer one
    for end in (2027.0, t + MONTHLY_YEARS, 2050.0):
        short = _lattice(t, end)
        assert short[-1] >= end
        np.testing.assert_array_equal(short, lattice[: len(short)])


# --- rows ----------------------------------------------------------------------------------


def _table(rows: list[tuple]) -> pd.DataFrame:
    """(model, year, tokens, compute_flop, compute_source, family) rows as a models frame."""
    frame = pd.DataFrame(
        rows, columns=["model", "year", "tokens", "compute_flop", "compute_source", "family"]
    )
    frame["date"] = pd.to_datetime([from_decimal_year(y) for y in frame["year"]])
    return frame


def test_select_roles_follow_the_documented_rules():
    rows = (
        ComputeFrontierTrend()
        .select(
            _table(
                [
                    ("small", 2019.0, 1e11, 5e21, "reported", ""),  # below RATIO_MIN_COMPUTE
                    ("at-min", 2020.0, 2e11, RATIO_MIN_COMPUTE, "derived-6ND", ""),
                    ("est", 2021.0, 3e11, 1e23, "estimate", ""),  # an estimate: no ratio
                    ("big", 2022.0, 1e12, 1e24, "reported", "fam"),
                    ("big-mini", 2022.5, 2e12, 1e23, "reported", "fam"),  # not its family's largest
                    ("hidden", 2023.0, np.nan, 1e25, "estimate", ""),
                    ("no-compute", 2024.0, 1e13, np.nan, "", ""),
                ]
            )
        )
        .set_index("model")
    )
    assert RATIO_MIN_COMPUTE == 1e22
    assert rows["role_ratio"].to_dict() == {
        "small": False,
        "at-min": True,
        "est": False,
        "big": True,
        "big-mini": True,  # a ratio run whatever its family
        "hidden": False,
        "no-compute": False,
    }
    compute_roles = rows.index[rows["role_compute"]]
    assert set(compute_roles) == {"small", "at-min", "est", "big", "hidden"}
    assert "no-compute" in rows.index  # kept: it sets the data date


def test_select_falls_back_to_estimates_when_fewer_than_three_are_measured():
    table = _table(
        [(f"m{i}", 2019.0 + i, 1e11 * 3**i, 1e22 * 5**i, "estimate", "") for i in range(4)]
    )
    with pytest.warns(UserWarning, match="fewer than 3 runs"):
        rows = ComputeFrontierTrend().select(table)
    assert rows["role_ratio"].all()


def test_check_rows_needs_compute_runs_and_ratio_runs():
    model = ComputeFrontierTrend()
    few = _table([(f"m{i}", 2019.0 + i, 1e11, 1e22 * 3**i, "reported", "") for i in range(5)])
    with pytest.raises(DataError, match="at least 6"):
        model._check_rows(model.select(few))
    no_ratio = _table(
        [(f"m{i}", 2019.0 + i, np.nan, 1e22 * 3**i, "reported", "") for i in range(7)]
    )
    with pytest.raises(DataError, match="at least 3 models reporting both"):
        model._check_rows(model.select(no_ratio))
    same_date = _table([(f"m{i}", 2020.0, 1e12, 1e22 * 3**i, "reported", "") for i in range(7)])
    with pytest.raises(DataError, match="two different dates"):
        model._check_rows(model.select(same_date))


# --- tables --------------------------------------------------------------------------------


def test_ratio_table_is_the_level_per_knot_in_tokens_per_parameter(v3):
    table = v3.model.ratio_table(v3)
    assert list(table.columns) == ["year", "median", "p10", "p90"]
    # each 1 January, then the data date
    assert table["year"].iloc[-1] == pytest.approx(v3.model.data_year(v3))
    np.testing.assert_array_equal(table["year"].iloc[:-1] % 1.0, 0.0)
    level = v3.posterior["ratio_level"].to_numpy().reshape(-1, len(table))
    np.testing.assert_allclose(table["median"], 10 ** np.median(level, axis=0))
    assert np.all((table["p10"] < table["median"]) & (table["median"] < table["p90"]))
    # the data date's row is the posterior's ratio_at_data_date
    now = 10 ** np.median(v3.posterior["ratio_at_data_date"].to_numpy())
    assert table["median"].iloc[-1] == pytest.approx(now)


def test_undisclosed_table_lists_compute_runs_without_tokens(v3):
    table = v3.model.undisclosed_table(v3, n_draws=1000, seed=1)
    assert list(table.columns) == [
        "model",
        "year",
        "compute_flop",
        "tokens_median",
        "tokens_p10",
        "tokens_p90",
        "active_parameters_median",
    ]
    rows = v3.rows
    hidden = rows[rows["compute_flop"].gt(0) & ~rows["tokens"].gt(0)]
    assert list(table["model"]) == list(hidden["model"]) and len(table) > 0
    np.testing.assert_allclose(table["compute_flop"], hidden["compute_flop"].astype(float))
    assert np.all(table["tokens_p10"] < table["tokens_median"])
    assert np.all(table["tokens_median"] < table["tokens_p90"])
    # units: C = 6 N D within the spread of the draws (a factor of 10 either way)
    implied = 6.0 * table["tokens_median"] * table["active_parameters_median"]
    assert np.all(np.abs(np.log10(implied / table["compute_flop"])) < 1.0)
    # tokens per parameter of these runs: between 1 and 100,000
    ratio = table["tokens_median"] / table["active_parameters_median"]
    assert np.all((ratio > 1.0) & (ratio < 1e5))
    again = v3.model.undisclosed_table(v3, n_draws=1000, seed=1)
    pd.testing.assert_frame_equal(table, again)


def test_growth_table_units(v3):
    table = v3.model.growth_table(v3, at_years=(2030.0, 2035.0), n_draws=1000)
    assert list(table["at"])[1:] == ["2030", "2035", "compute edge (fitted)"]
    np.testing.assert_allclose(table["growth_per_year"], 10 ** table["oom_per_year"])
    np.testing.assert_allclose(table["growth_p10"], 10 ** table["oom_p10"])
    np.testing.assert_allclose(table["growth_p90"], 10 ** table["oom_p90"])
    assert np.all(table["oom_p10"] <= table["oom_per_year"])
    assert np.all(table["oom_per_year"] <= table["oom_p90"])
    # token growth never negative (the largest run never shrinks) ...
    assert table["oom_p10"].iloc[:-1].min() >= 0.0
    # ... and the edge row is the posterior growth of compute
    edge = v3.posterior["compute_growth"].to_numpy().reshape(-1)
    assert table["oom_per_year"].iloc[-1] == pytest.approx(np.median(edge))


# --- feasibility.py ------------------------------------------------------------------------


def test_feasibility_inputs_are_the_documented_numbers():
    table = feasibility_table()

    def spec(name):
        return parameter_spec(table, name)

    assert (spec("power_2030").low, spec("power_2030").high) == (1e28, 2e30)
    assert spec("power_2030").interval == 0.9
    assert (spec("chips_2030").low, spec("chips_2030").high, spec("chips_2030").interval) == (
        1e29,
        5e30,
        0.8,
    )
    assert spec("latency_wall").central == 3e31
    assert spec("stall_start_latest").central == 2032.0


@pytest.mark.parametrize(
    "name, low, high, interval",
    [
        ("power_2030", 1e28, 2e30, 0.9),
        ("chips_2030", 1e29, 5e30, 0.8),
        ("feasible_growth_after_2030", 0.1, 0.5, 0.9),
        ("stall_years", 2.0, 10.0, 0.9),
    ],
)
def test_sampled_limits_have_their_documented_quantiles(name, low, high, interval):
    draws = parameter_spec(feasibility_table(), name).sample(40_000, np.random.default_rng(4))
    a = (1.0 - interval) / 2.0
    q = np.log10(np.quantile(draws, [a, 0.5, 1.0 - a]))
    expected = np.log10([low, math.sqrt(low * high), high])
    np.testing.assert_allclose(q, expected, atol=0.02)


def test_feasibility_draw_takes_the_lower_limit_and_a_stall_window():
    n = 20_000
    f = Feasibility.draw(n, 2026.5, np.random.default_rng(3))
    # the lower of two independent lognormals: P(min <= x) = 1 - (1 - Fp)(1 - Fc)
    power = stats.norm(0.5 * (28.0 + math.log10(2e30)), math.log10(200.0) / (2 * 1.6448536))
    chips = stats.norm(0.5 * (29.0 + math.log10(5e30)), math.log10(50.0) / (2 * 1.2815516))
    cdf = lambda x: 1.0 - power.sf(x) * chips.sf(x)  # noqa: E731
    assert stats.kstest(f.ceiling_2030, cdf).pvalue > 0.001
    assert stats.kstest(f.ceiling_2030, power.cdf).pvalue < 1e-6  # not the power limit alone
    assert stats.kstest(f.stall_start, stats.uniform(2026.5, 2032.0 - 2026.5).cdf).pvalue > 0.001
    # after the window's end a stall starts at the data date
    late = Feasibility.draw(100, 2040.0, np.random.default_rng(3))
    np.testing.assert_array_equal(late.stall_start, 2040.0)


def test_compute_ceiling_path():
    feas = Feasibility(
        ceiling_2030=np.array([29.0, 25.0, 30.0]),
        growth_after=np.array([0.2, 0.2, 10.0]),
        stall_start=np.zeros(3),
        stall_years=np.zeros(3),
    )
    now = np.array([26.0, 26.0, 26.0])
    years = np.array([2026.0, 2028.0, 2030.0, 2035.0, 2100.0])
    c = compute_ceiling(feas, now, 2026.0, years)
    # a straight line from today's frontier to the 2030 ceiling, then its growth
    np.testing.assert_allclose(c[0, :4], [26.0, 27.5, 29.0, 30.0])
    assert c[0, 4] == pytest.approx(WALL)  # 29 + 0.2 x 70 passes the wall: capped
    # a 2030 ceiling below today's frontier holds the frontier until 2030
    np.testing.assert_allclose(c[1, :3], 26.0)
    np.testing.assert_allclose(c[1, 3], 27.0)
    # the latency wall is a hard cap, whatever the growth
    assert c.max() == pytest.approx(WALL) and c.max() <= WALL
    np.testing.assert_allclose(c[2, 3:], WALL)


# --- published.py --------------------------------------------------------------------------


def test_epoch2024_compute_reproduces_its_anchor_and_growth():
    years = np.array([2026.0, 2028.0, 2030.0, 2035.0])
    draws = published.epoch2024_compute(years, 40_000, seed=1)
    year, flop = published.EPOCH2024_ANCHOR
    assert (year, flop) == (2028.0, 5e28)
    anchor = draws[:, 1]
    assert np.median(anchor) == pytest.approx(math.log10(5e28), abs=0.01)
    assert anchor.std() == pytest.approx(published.EPOCH2024_ANCHOR_SD_OOM, rel=0.02)
    growth = (draws[:, 2] - draws[:, 0]) / 4.0  # straight through the anchor until 2030
    np.testing.assert_allclose((draws[:, 1] - draws[:, 0]) / 2.0, growth)
    lo, hi = np.quantile(growth, [0.05, 0.95])
    assert (lo, hi) == pytest.approx(published.EPOCH2024_GROWTH_OOM_90, abs=0.005)
    # halved from 2030
    np.testing.assert_allclose((draws[:, 3] - draws[:, 2]) / 5.0, 0.5 * growth)
    np.testing.assert_array_equal(draws, published.epoch2024_compute(years, 40_000, seed=1))


def test_epoch2022_tokens_start_from_two_trillion_words():
    years = np.array([published.EPOCH2022_START_YEAR, 2030.0])
    draws = published.epoch2022_tokens(years, 40_000, seed=2)
    np.testing.assert_allclose(draws[:, 0], words_to_tokens(2e12))
    assert words_to_tokens(2e12) == pytest.approx(2e12 / 0.75)
    growth = np.log10(draws[:, 1] / draws[:, 0]) / (2030.0 - published.EPOCH2022_START_YEAR)
    lo, hi = np.quantile(growth, [0.05, 0.95])
    assert (lo, hi) == pytest.approx((0.265, 0.392), abs=0.002)


def test_epoch2030_compute_grows_about_4x_from_the_2025_frontier():
    years = np.array([2020.0, 2025.52, 2030.0])
    draws = published.epoch2030_compute(years, 40_000, seed=3)
    np.testing.assert_allclose(draws[:, :2], math.log10(5e26))  # never below the start
    growth = (draws[:, 2] - draws[:, 1]) / (2030.0 - 2025.52)
    lo, mid, hi = np.quantile(growth, [0.05, 0.5, 0.95])
    assert 10**lo == pytest.approx(3.0, rel=0.01) and 10**hi == pytest.approx(5.0, rel=0.01)
    assert 10**mid == pytest.approx(math.sqrt(15.0), rel=0.05)  # about 4x per year


def test_nothing_warns(v3):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _simulate(v3, [2030.0, 2100.0], n=200)
        _simulate(v3, [2030.0, 2100.0], n=200, feasibility="none", stall_probability=1.0)
