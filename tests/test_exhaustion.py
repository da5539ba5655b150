"""Tests of forecast.exhaustion: synthetic cases with known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from forecast.errors import ForecastError
from forecast.exhaustion import (
    CrossingChunk,
    ExhaustionError,
    ExhaustionResult,
    chunk_seeds,
    crossing_years,
    epoch_quantile_clipping,
    epoch_summary,
    exhaustion,
    exhaustion_chunked,
    exhaustion_chunked_shared,
)
from forecast.units import monthly_grid

GRID = monthly_grid(2024.0, 2035.0)


def loglinear(grid, log10_start, slope, t0=2024.0):
    """Tokens 10^(log10_start + slope (t - t0)); slope may be an (n, 1) column."""
    return 10.0 ** (np.asarray(log10_start) + np.asarray(slope) * (grid - t0))


def random_draws(n, grid, seed=0):
    rng = np.random.default_rng(seed)
    d0 = rng.normal(12.8, 0.3, (n, 1))
    rate = rng.normal(0.38, 0.05, (n, 1))
    s0 = rng.normal(14.5, 0.3, (n, 1))
    srate = rng.normal(0.03, 0.01, (n, 1))
    return loglinear(grid, d0, rate), loglinear(grid, s0, srate)


# --- known answers -----------------------------------------------------------------------


def test_exponential_vs_constant_stock_crosses_at_2028_exactly():
    assert 2028.0 in GRID
    demand = loglinear(GRID, 12.0, 0.5)
    stock = np.full_like(demand, 1e14)
    chunk = crossing_years(GRID, demand, stock)
    assert chunk.exhaustion_year[0] == pytest.approx(2028.0, abs=1e-12)
    assert not chunk.already_exhausted[0]
    assert chunk.stock_at_crossing[0] == pytest.approx(1e14, rel=1e-12)
    assert chunk.demand_at_crossing[0] == pytest.approx(1e14, rel=1e-12)


def test_interpolation_is_exact_in_log_space_off_grid():
    grid = 2024.03 + np.arange(200) / 12.0  # 2028.0 is not a grid point
    rates = np.array([[0.5], [0.25], [1.0], [0.4]])
    demand = loglinear(grid, 12.0, rates)
    res = exhaustion(grid, demand, np.full_like(demand, 1e14))
    np.testing.assert_allclose(res.exhaustion_year, 2024.0 + 2.0 / rates[:, 0], atol=1e-9)
    np.testing.assert_allclose(res.stock_at_crossing, 1e14, rtol=1e-9)
    np.testing.assert_allclose(res.demand_at_crossing, 1e14, rtol=1e-9)


def test_never_crossing_is_nan_and_counted():
    demand = loglinear(GRID, 10.0, 0.1)
    stock = np.full((3, GRID.size), 1e15)
    res = exhaustion(GRID, demand, stock)
    assert np.all(np.isnan(res.exhaustion_year))
    assert res.not_exhausted_share == 1.0
    assert res.already_exhausted_share == 0.0
    assert res.quantiles().isna().all()
    assert (res.prob_exhausted_by() == 0).all()
    assert res.at_crossing()["value"].isna().all()


def test_already_exhausted_is_flagged_at_the_first_grid_year():
    demand = np.vstack([loglinear(GRID, 15.0, 0.3), loglinear(GRID, 12.0, 0.5)])
    stock = np.full_like(demand, 1e14)
    res = exhaustion(GRID, demand, stock)
    assert res.already_exhausted.tolist() == [True, False]
    assert res.exhaustion_year[0] == GRID[0]
    assert res.exhaustion_year[1] == pytest.approx(2028.0)
    assert res.demand_at_crossing[0] == pytest.approx(1e15)
    assert res.stock_at_crossing[0] == pytest.approx(1e14)
    assert res.already_exhausted_share == 0.5
    assert res.prob_exhausted_by([2024]).iloc[0] == 0.5


def test_shrinking_stock():
    demand = loglinear(GRID, 12.0, 0.25)
    stock = loglinear(GRID, 14.0, -0.25)
    res = exhaustion(GRID, demand, stock)
    assert res.exhaustion_year[0] == pytest.approx(2028.0, abs=1e-12)


def test_first_crossing_is_reported_when_stock_recovers():
    t = GRID - 2024.0
    demand = np.full(GRID.size, 1e13)
    stock = 10.0 ** (13.0 + 0.25 * (t - 3.0) ** 2 - 0.25)  # dips below 1e13 in (2026, 2028)
    res = exhaustion(GRID, demand, stock)
    assert res.exhaustion_year[0] == pytest.approx(2026.0, abs=0.02)


def test_single_curve_broadcasts_against_draws():
    rates = np.array([[0.5], [1.0]])
    demand = loglinear(GRID, 12.0, rates)
    res = exhaustion(GRID, demand, np.full(GRID.size, 1e14))
    np.testing.assert_allclose(res.exhaustion_year, [2028.0, 2026.0], atol=1e-9)


def test_float32_inputs_agree_with_float64():
    demand, stock = random_draws(2000, GRID)
    r64 = exhaustion(GRID, demand, stock)
    r32 = exhaustion(GRID, demand.astype(np.float32), stock.astype(np.float32))
    both = np.isfinite(r64.exhaustion_year) & np.isfinite(r32.exhaustion_year)
    assert both.mean() > 0.99
    np.testing.assert_allclose(r32.exhaustion_year[both], r64.exhaustion_year[both], atol=1e-3)


def test_xarray_inputs_with_any_dim_order():
    demand, stock = random_draws(50, GRID)
    coords = {"year": GRID}
    d_xr = xr.DataArray(demand, dims=("draw", "year"), coords=coords)
    s_xr = xr.DataArray(stock.T, dims=("year", "draw"), coords=coords)
    res = exhaustion(GRID, d_xr, s_xr)
    np.testing.assert_array_equal(
        res.exhaustion_year, exhaustion(GRID, demand, stock).exhaustion_year
    )
    with pytest.raises(ExhaustionError, match="coordinate"):
        exhaustion(GRID + 0.5, d_xr, s_xr)


# --- monotonicity ------------------------------------------------------------------------


def test_more_stock_later_faster_demand_earlier():
    demand, stock = random_draws(3000, GRID, seed=1)
    base = exhaustion(GRID, demand, stock).exhaustion_year
    more = exhaustion(GRID, demand, 2 * stock).exhaustion_year
    fast = exhaustion(GRID, demand * 10.0 ** (0.1 * (GRID - GRID[0])), stock).exhaustion_year
    inf = np.inf
    b, m, f = (np.nan_to_num(x, nan=inf) for x in (base, more, fast))
    assert np.all(m >= b)
    interior = np.isfinite(base) & (base > GRID[0])
    assert np.all(m[interior] > b[interior])
    assert np.all(f <= b)
    assert np.all(f[interior] < b[interior])


# --- statistics --------------------------------------------------------------------------


def test_prob_exhausted_by_is_monotone_and_empirical():
    demand, stock = random_draws(5000, GRID, seed=2)
    res = exhaustion(GRID, demand, stock)
    p = res.prob_exhausted_by()
    assert p.index[0] == 2024 and p.index[-1] == 2034  # 2035 ends after the horizon
    assert np.all(np.diff(p.to_numpy()) >= 0)
    years = np.nan_to_num(res.exhaustion_year, nan=np.inf)
    for y in (2026, 2028, 2030, 2034):
        assert p.loc[y] == np.mean(years < y + 1)
    outside = res.prob_exhausted_by([2020, 2035, 2040])
    assert outside.isna().all()  # unknown: before the grid or after the horizon


def test_by_year_means_by_end_of_year():
    grid = np.arange(2024.0, 2031.0 + 1e-9, 0.25)
    demand = loglinear(grid, 12.0, 0.5)  # crosses at exactly 2028.0
    res = exhaustion(grid, demand, np.full_like(demand, 1e14))
    p = res.prob_exhausted_by([2027, 2028])
    assert p.loc[2027] == 0.0 and p.loc[2028] == 1.0


def test_quantiles_with_not_exhausted_draws():
    years = np.array([2030.0, 2031, 2032, 2033, 2034, 2035, 2036, np.nan, np.nan, np.nan])
    chunk = CrossingChunk(years, np.zeros(10, bool), years * 0 + 1e14, years * 0 + 1e14)
    res = ExhaustionResult.from_chunks(np.arange(2025.0, 2041.0), [chunk])
    q = res.quantiles()
    assert q["median"] == pytest.approx(2034.5)  # h = 4.5 -> between 5th and 6th
    assert q["p10"] == pytest.approx(2030.9)
    assert math.isnan(q["p90"]) and math.isnan(q["p97_5"])  # after the horizon
    assert res.not_exhausted_share == pytest.approx(0.3)
    d = res.to_dict()
    assert d["quantiles"]["p90"] is None
    json.dumps(d, allow_nan=False)


def test_quantiles_match_numpy_when_all_exhausted():
    demand, stock = random_draws(2001, GRID, seed=3)
    res = exhaustion(GRID, 10 * demand, stock)
    assert res.not_exhausted_share == 0.0
    q = res.quantiles()
    for name, level in (("median", 0.5), ("p10", 0.1), ("p97_5", 0.975)):
        assert q[name] == pytest.approx(np.quantile(res.exhaustion_year, level), abs=1e-9)


def test_zero_width_distribution_all_quantiles_equal():
    demand = np.tile(loglinear(GRID, 12.0, 0.5), (100, 1))
    res = exhaustion(GRID, demand, np.full_like(demand, 1e14))
    q = res.quantiles()
    assert np.all(q.to_numpy() == pytest.approx(2028.0))
    assert q.nunique() == 1


def test_horizon_truncates():
    rates = np.array([[0.5], [0.25]])  # cross at 2028 and 2032
    demand = loglinear(GRID, 12.0, rates)
    stock = np.full_like(demand, 1e14)
    res = exhaustion(GRID, demand, stock, horizon=2030.0)
    assert res.exhaustion_year[0] == pytest.approx(2028.0)
    assert math.isnan(res.exhaustion_year[1]) and math.isnan(res.stock_at_crossing[1])
    assert res.not_exhausted_share == 0.5
    assert res.prob_exhausted_by().index[-1] == 2029
    with pytest.raises(ExhaustionError, match="horizon"):
        exhaustion(GRID, demand, stock, horizon=2100.0)


def test_summary_repr_and_html():
    demand, stock = random_draws(500, GRID, seed=4)
    res = exhaustion(GRID, demand, stock)
    s = res.summary()
    assert list(s.columns) == ["statistic", "value", "unit", "note"]
    assert {"median", "p10", "p90", "p2_5", "p97_5", "not_exhausted_share"} <= set(s.statistic)
    assert "median" in repr(res) and "80%" in repr(res)
    assert "<table" in res._repr_html_()
    ac = res.at_crossing()
    assert set(ac.quantity) == {"stock", "demand"} and len(ac) == 6
    json.dumps(res.to_dict(), allow_nan=False)


# --- chunking and seeds ------------------------------------------------------------------


def _sampler(grid):
    def sample_chunk(n, seed):
        return random_draws(n, grid, seed=seed)

    return sample_chunk


def test_chunked_equals_unchunked_for_the_same_draws():
    n, size = 2500, 1000
    res = exhaustion_chunked(GRID, _sampler(GRID), n, chunk_size=size, seed=7)
    seeds = chunk_seeds(7, n, size)
    assert len(seeds) == 3
    parts = [random_draws(m, GRID, seed=s) for m, s in zip((1000, 1000, 500), seeds, strict=True)]
    demand = np.vstack([p[0] for p in parts])
    stock = np.vstack([p[1] for p in parts])
    whole = exhaustion(GRID, demand, stock)
    np.testing.assert_array_equal(res.exhaustion_year, whole.exhaustion_year)
    np.testing.assert_array_equal(res.stock_at_crossing, whole.stock_at_crossing)
    # internal row blocks do not change anything either
    small_blocks = exhaustion(GRID, demand, stock, block_rows=7)
    np.testing.assert_array_equal(small_blocks.exhaustion_year, whole.exhaustion_year)


def test_same_seed_same_numbers():
    a = exhaustion_chunked(GRID, _sampler(GRID), 1500, chunk_size=500, seed=11)
    b = exhaustion_chunked(GRID, _sampler(GRID), 1500, chunk_size=500, seed=11)
    c = exhaustion_chunked(GRID, _sampler(GRID), 1500, chunk_size=500, seed=12)
    np.testing.assert_array_equal(a.exhaustion_year, b.exhaustion_year)
    assert not np.array_equal(a.exhaustion_year, c.exhaustion_year, equal_nan=True)


def test_chunked_checks_sampler_output():
    def bad(n, seed):
        return random_draws(n + 1, GRID, seed=seed)

    with pytest.raises(ExhaustionError, match="returned"):
        exhaustion_chunked(GRID, bad, 10, chunk_size=5)


def test_shared_demand_gives_each_stock_its_own_chunked_result():
    def shared(n, seed):
        demand, stock = random_draws(n, GRID, seed=seed)
        return demand, (stock * f for f in (1.0, 3.0))

    both = exhaustion_chunked_shared(GRID, shared, 2, 2500, chunk_size=1000, seed=7)
    for factor, result in zip((1.0, 3.0), both, strict=True):

        def alone(n, seed, factor=factor):
            demand, stock = random_draws(n, GRID, seed=seed)
            return demand, stock * factor

        expected = exhaustion_chunked(GRID, alone, 2500, chunk_size=1000, seed=7)
        np.testing.assert_array_equal(result.exhaustion_year, expected.exhaustion_year)
        np.testing.assert_array_equal(result.demand_at_crossing, expected.demand_at_crossing)
    assert not np.array_equal(both[0].exhaustion_year, both[1].exhaustion_year, equal_nan=True)


@pytest.mark.parametrize(("given", "match"), [(1, "gave 1 stocks, expected 2"), (3, "more than 2")])
def test_shared_checks_the_number_of_stocks(given, match):
    def sample(n, seed):
        demand, stock = random_draws(n, GRID, seed=seed)
        return demand, [stock] * given

    with pytest.raises(ExhaustionError, match=match):
        exhaustion_chunked_shared(GRID, sample, 2, 10, chunk_size=5)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("years", "demand", "stock", "match"),
    [
        (GRID, np.ones((3, GRID.size)), np.ones((4, GRID.size)), "same joint draws"),
        (GRID, np.ones((3, GRID.size - 1)), np.ones((3, GRID.size - 1)), "columns"),
        (GRID[::-1], np.ones((2, GRID.size)), np.ones((2, GRID.size)), "strictly increasing"),
        (GRID, np.zeros((2, GRID.size)), np.ones((2, GRID.size)), "positive"),
        (GRID, np.full((2, GRID.size), np.nan), np.ones((2, GRID.size)), "NaN"),
        (GRID, -np.ones((2, GRID.size)), np.ones((2, GRID.size)), "positive"),
        (GRID, np.ones((2, 3, GRID.size)), np.ones((2, GRID.size)), "2-D"),
    ],
)
def test_bad_inputs_raise_clear_errors(years, demand, stock, match):
    with pytest.raises(ForecastError, match=match):
        exhaustion(years, demand, stock)


# --- Epoch's procedure -------------------------------------------------------------------


def test_epoch_procedure_matches_analytic_for_independent_lognormals():
    grid = np.arange(2024.0, 2036.0, 0.5)
    rng = np.random.default_rng(5)
    m = 20_000
    mu_d = 12.8 + 0.38 * (grid - 2024.0)  # log10 medians
    mu_s = 14.5 + 0.03 * (grid - 2024.0)
    sd_d, sd_s = 0.35, 0.3
    demand = 10.0 ** (mu_d + sd_d * rng.standard_normal((m, 1)))  # comonotone over years
    stock = 10.0 ** (mu_s + sd_s * rng.standard_normal((m, 1)))
    out = epoch_quantile_clipping(grid, demand, stock)
    analytic = stats.norm.cdf((mu_d - mu_s) / math.hypot(sd_d, sd_s))
    # MC error ~0.004; right-Riemann quantile grid (1%..100%) biases down by <= 0.005
    np.testing.assert_allclose(out["p_run_out"], analytic, atol=0.015)
    summary = out.attrs["summary"]
    exact_median = 2024.0 + (14.5 - 12.8) / (0.38 - 0.03)  # ~2028.86
    assert summary["median"] == pytest.approx(exact_median, abs=0.51)
    assert summary["p10"] < summary["median"] < summary["p90"]
    assert summary["median_epoch_code"] == summary["median"] - 0.5  # one grid step earlier


def test_epoch_loop_equals_vectorised():
    rng = np.random.default_rng(6)
    grid = np.arange(2024.0, 2034.0, 1.0)
    demand = 10.0 ** (12.8 + 0.38 * (grid - 2024) + 0.3 * rng.standard_normal((3000, grid.size)))
    stock = 10.0 ** (14.5 + 0.3 * rng.standard_normal((2000, 1)) + 0 * grid)  # sizes differ
    loop = epoch_quantile_clipping(grid, demand, stock, n_quantiles=50)
    vec = epoch_quantile_clipping(grid, demand, stock, n_quantiles=50, method="vectorised")
    np.testing.assert_allclose(loop["p_run_out"], vec["p_run_out"], rtol=0, atol=1e-12)
    assert loop.attrs["summary"] == pytest.approx(vec.attrs["summary"], nan_ok=True)


def test_epoch_summary_rules():
    table = pd.DataFrame({"year": [2025.0, 2026, 2027, 2028], "p_run_out": [0.0, 0.2, 0.5, 0.95]})
    s = epoch_summary(table)
    assert (s["p10"], s["median"], s["p90"]) == (2026.0, 2027.0, 2028.0)
    assert (s["p10_epoch_code"], s["median_epoch_code"], s["p90_epoch_code"]) == (
        2025.0,
        2026.0,
        2027.0,
    )
    never = epoch_summary(table.assign(p_run_out=0.0))
    assert math.isnan(never["median"])


def test_float32_overflow_is_reported_not_treated_as_a_crossing():
    demand = np.full((2, GRID.size), np.inf, dtype=np.float32)
    with pytest.raises(ExhaustionError, match="use float64"):
        exhaustion(GRID, demand, np.ones((2, GRID.size), dtype=np.float32))


def test_median_monte_carlo_error_matches_theory():
    """Batch-median standard error against the asymptotic sqrt(pi/2) sd / sqrt(n)."""
    from forecast.exhaustion import ExhaustionResult

    rng = np.random.default_rng(0)
    n = 20_000
    years = rng.normal(2030.0, 1.0, n)
    result = ExhaustionResult(
        years=np.linspace(2024, 2100, 10),
        exhaustion_year=years,
        already_exhausted=np.zeros(n, bool),
        stock_at_crossing=np.ones(n),
        demand_at_crossing=np.ones(n),
        horizon=2100.0,
    )
    theory = np.sqrt(np.pi / 2) / np.sqrt(n)
    assert 0.6 * theory < result.quantile_mc_se(0.5) < 1.6 * theory
    years[: n // 2] = np.nan  # half never run out: batch medians after the horizon
    censored = ExhaustionResult(
        years=result.years,
        exhaustion_year=years,
        already_exhausted=result.already_exhausted,
        stock_at_crossing=result.stock_at_crossing,
        demand_at_crossing=result.demand_at_crossing,
        horizon=2100.0,
    )
    assert censored.quantile_mc_se(0.5) == float("inf")
