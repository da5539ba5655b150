"""Non-Bayesian baselines: OLS, quantile regression, Epoch AI's bootstrap projection."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.data import load_training_runs
from forecast.demand import baselines
from forecast.errors import DataError


@pytest.fixture(scope="module")
def runs(make_training_runs):
    return make_training_runs(seed=21)


@pytest.fixture(scope="module")
def bundled():
    return load_training_runs()


def test_ols_slope_equals_polyfit(runs):
    trend = baselines.ols_trend(runs)
    slope, intercept = np.polyfit(runs["year"], np.log10(runs["tokens"]), 1)
    est, lo, hi = trend.oom_per_year
    assert est == pytest.approx(slope, rel=1e-10)
    assert float(trend.result.params[0]) == pytest.approx(intercept, rel=1e-10)
    assert lo < est < hi
    assert lo < 0.45 < hi  # the synthetic truth


def test_ols_projection_matches_prediction_interval(runs):
    trend = baselines.ols_trend(runs)
    years = np.array([2020.0, 2030.0])
    table = trend.predict(years, alpha=0.2)
    draws = trend.project(years, n_draws=40_000, seed=0).to_numpy()
    assert draws.shape == (40_000, 2)
    q = np.quantile(np.log10(draws), [0.1, 0.5, 0.9], axis=0)
    np.testing.assert_allclose(q[1], np.log10(table["median"]), atol=0.01)
    np.testing.assert_allclose(q[0], np.log10(table["lower"]), atol=0.02)
    np.testing.assert_allclose(q[2], np.log10(table["upper"]), atol=0.02)
    # wider further from the data
    width = np.log10(table["upper"] / table["lower"]).to_numpy()
    assert width[1] > width[0]


def test_quantile_trends_are_ordered(runs):
    table = baselines.quantile_trends(runs, quantiles=(0.1, 0.5, 0.9), years=[2015.0, 2022.0])
    assert list(table.columns) == ["quantile", "year", "tokens", "oom_per_year"]
    wide = table.pivot(index="year", columns="quantile", values="tokens")
    assert (wide[0.1] < wide[0.5]).all() and (wide[0.5] < wide[0.9]).all()
    assert table.loc[table["quantile"] == 0.5, "oom_per_year"].iloc[0] == pytest.approx(
        0.45, abs=0.05
    )


def test_bootstrap_slopes_vectorised_equals_loop():
    rng = np.random.default_rng(0)
    x = np.array([2018.0, 2019.5, 2020.0, 2022.25])  # 4 rows: some resamples are degenerate
    y = 9 + 0.4 * (x - 2018) + rng.normal(0, 0.3, x.size)
    n_boot, seed = 300, 17
    fast = baselines.bootstrap_slopes(x, y, n_boot, seed)
    # the slow way, same random stream: one np.polyfit per resample, skipping resamples
    # with a single distinct date (no slope)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    slow = np.array([np.polyfit(x[i], y[i], 1)[0] for i in idx if np.ptp(x[i]) > 0])
    assert fast.size == slow.size < n_boot  # the degenerate resamples were dropped
    np.testing.assert_allclose(fast, slow, rtol=1e-9)
    assert np.all(np.isfinite(fast))


def test_lognormal_90_interval():
    draws = baselines.lognormal_90(3e12, 13e12, 200_000, np.random.default_rng(1))
    lo, med, hi = np.quantile(draws, [0.05, 0.5, 0.95])
    assert lo == pytest.approx(3e12, rel=0.02)
    assert hi == pytest.approx(13e12, rel=0.02)
    assert med == pytest.approx(np.sqrt(3e12 * 13e12), rel=0.01)


def test_epoch_bootstrap_projection(bundled):
    boot = baselines.epoch_bootstrap(bundled, seed=0)
    assert boot.slopes.size > 9_900  # 10,000 resamples, at most a few degenerate ones
    med, lo, hi = boot.oom_per_year
    assert lo < med < hi
    # a growth rate in the range every source reports (FACTS.md §A5: 0.27-0.49 OOM/yr)
    assert 0.25 < med < 0.6

    n = 40_000
    draws = boot.project([2024.0, 2025.0, 2030.0], n_draws=n, seed=3).to_numpy()
    # start size: 90% interval 3T-13T tokens on 2024-01-01 (MC error of the 5%/95%
    # quantiles at 40k lognormal draws ~0.5%)
    q5, q95 = np.quantile(draws[:, 0], [0.05, 0.95])
    assert q5 == pytest.approx(3e12, rel=0.03)
    assert q95 == pytest.approx(13e12, rel=0.03)
    # yearly growth = daily growth ** 365.25, lognormal between the bootstrap's 2.5% and
    # 97.5% slopes (95% credibility): the per-draw log ratio of 2025 to 2024 has them
    # as its 2.5%/97.5% quantiles.
    growth = np.log10(draws[:, 1] / draws[:, 0])
    q_lo, q_hi = np.quantile(boot.slopes, [0.025, 0.975])
    g_lo, g_med, g_hi = np.quantile(growth, [0.025, 0.5, 0.975])
    sd = (q_hi - q_lo) / (2 * stats.norm.ppf(0.975))
    assert g_lo == pytest.approx(q_lo, abs=0.05 * sd + 1e-3)
    assert g_hi == pytest.approx(q_hi, abs=0.05 * sd + 1e-3)
    assert g_med == pytest.approx((q_lo + q_hi) / 2, abs=0.03 * sd + 1e-3)
    # the 2030 projection compounds six years of growth
    np.testing.assert_allclose(np.log10(draws[:, 2] / draws[:, 0]), 6 * growth, rtol=1e-9)


def test_epoch_bootstrap_reproducible(bundled):
    a = baselines.epoch_bootstrap(bundled, n_boot=500, seed=4)
    b = baselines.epoch_bootstrap(bundled, n_boot=500, seed=4)
    c = baselines.epoch_bootstrap(bundled, n_boot=500, seed=5)
    np.testing.assert_array_equal(a.slopes, b.slopes)
    assert not np.array_equal(a.slopes, c.slopes)
    np.testing.assert_array_equal(
        a.project([2026.0], 100, seed=1).to_numpy(), b.project([2026.0], 100, seed=1).to_numpy()
    )


def test_baselines_need_three_rows_on_two_dates(runs):
    with pytest.raises(DataError, match="at least 3"):
        baselines.ols_trend(runs.head(2))
    one_date = runs.head(5).assign(year=2020.0)
    with pytest.raises(DataError, match="two dates"):
        baselines.epoch_bootstrap(one_date)


def test_epoch_closed_form_matches_its_monte_carlo():
    """EpochBootstrap.log10_normal is project()'s distribution in closed form (the skill
    study's exact Epoch density rests on it)."""
    import numpy as np

    from forecast.demand.baselines import EpochBootstrap

    epoch = EpochBootstrap(np.random.default_rng(0).normal(0.4, 0.05, 10_000), 2024.0)
    years = np.array([2024.0, 2026.0, 2030.0])
    draws = np.log10(epoch.project(years, n_draws=200_000, seed=1).to_numpy())
    mean, sd = epoch.log10_normal(years)
    assert np.allclose(draws.mean(axis=0), mean, atol=0.005)
    assert np.allclose(draws.std(axis=0), sd, rtol=0.01)
