"""Tests of forecast.evaluation.backtest: scoring rules, the backtest on synthetic data, errors, JSON."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.demand.model import MIN_HISTORY_YEARS, SamplerConfig
from forecast.errors import DataError, ForecastError, SamplingWarning, ShortHistoryWarning
from forecast.evaluation.backtest import (
    METHODS,
    BacktestResult,
    backtest,
    calibration_by_history,
    calibration_table,
    crps_from_draws,
    frontier_periods,
    interval_hits,
    log_score_from_draws,
    rolling_origin,
)
from forecast.units import decimal_years

SMALL = SamplerConfig(draws=300, tune=300, chains=2)
FAST_METHODS = ("exponential", "ols", "epoch-bootstrap")

TRUE_INTERCEPT = 9.0  # log10 tokens in 2015
TRUE_SLOPE = 0.4  # OOM per year
NOISE_SCALE = 0.25
NOISE_DF = 5


def synthetic_models(n: int = 120, seed: int = 1) -> pd.DataFrame:
    """Stationary log-linear growth with Student-t noise, release dates uniform 2015-2025."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.integers(0, 3652, size=n))
    dates = pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")
    year = decimal_years(dates)
    log10 = TRUE_INTERCEPT + TRUE_SLOPE * (year - 2015) + NOISE_SCALE * rng.standard_t(NOISE_DF, n)
    return pd.DataFrame(
        {
            "model": [f"m{i:03d}" for i in range(n)],
            "date": pd.DatetimeIndex(dates),
            "year": year,
            "tokens": 10.0**log10,
        }
    )


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return synthetic_models()


@pytest.fixture(scope="module")
def result(synthetic) -> BacktestResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return backtest(synthetic, "2020-01-01", sampler=SMALL, methods=FAST_METHODS, n_draws=2000)


# --- scoring rules -------------------------------------------------------------------------


def normal_crps(mu, sigma, y):
    z = (y - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_matches_normal_closed_form():
    rng = np.random.default_rng(0)
    mu, sigma = 1.5, 0.7
    draws = rng.normal(mu, sigma, size=(1, 200_000))
    for y in (-1.0, 1.2, 1.5, 3.9):
        expected = normal_crps(mu, sigma, y)
        assert crps_from_draws(draws, [y])[0] == pytest.approx(expected, rel=0.01, abs=2e-3)


def test_crps_is_vectorised_and_exact_for_small_samples():
    draws = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    y = np.array([1.0, 0.5])
    # Brute force E|X - y| - 1/2 E|X - X'| over all ordered pairs.
    brute = [
        np.abs(d - v).mean() - 0.5 * np.abs(d[:, None] - d[None, :]).mean()
        for d, v in zip(draws, y, strict=True)
    ]
    np.testing.assert_allclose(crps_from_draws(draws, y), brute)
    assert crps_from_draws(draws, y)[1] == pytest.approx(1.5)  # point mass: |2 - 0.5|


def test_log_score_matches_normal_density():
    rng = np.random.default_rng(3)
    draws = rng.normal(0.0, 1.0, size=(3, 50_000))
    y = np.array([0.0, 1.0, -2.0])
    got = log_score_from_draws(draws, y)
    np.testing.assert_allclose(got, stats.norm.logpdf(y), atol=0.05)
    # Far outside every draw it is a large negative number, never -inf or NaN.
    far = log_score_from_draws(draws[:1], [40.0])
    assert np.isfinite(far).all() and far[0] < -100


def test_interval_hits_hand_made():
    draws = np.tile(np.arange(1.0, 102.0), (4, 1))  # 1..101: p10 = 11, p90 = 91
    y = np.array([11.0, 91.0, 10.9, 50.0])
    np.testing.assert_array_equal(interval_hits(draws, y, 0.8), [True, True, False, True])
    np.testing.assert_array_equal(interval_hits(draws, y, 0.5), [False, False, False, True])
    with pytest.raises(ForecastError):
        interval_hits(draws, y, 1.0)


def test_frontier_periods_takes_largest_per_half_year():
    test = pd.DataFrame(
        {
            "model": ["a", "b", "c", "d", "e"],
            "date": pd.to_datetime(
                ["2023-01-10", "2023-06-30", "2023-07-01", "2023-12-31", "2024-02-02"]
            ),
            "tokens": [5.0, 7.0, 3.0, np.nan, 1.0],
        }
    )
    out = frontier_periods(test)
    assert list(out["period"]) == ["2023H1", "2023H2", "2024H1"]
    assert list(out["model"]) == ["b", "c", "e"]
    assert list(out["observed"]) == [7.0, 3.0, 1.0]
    assert out["midpoint"].iloc[0] == pytest.approx(2023.25, abs=0.01)
    assert out["midpoint"].iloc[1] == pytest.approx(2023.75, abs=0.01)


# --- backtest on synthetic data -----------------------------------------------------------


def test_exponential_is_calibrated_on_stationary_growth(result):
    m = result.methods.set_index("method")
    assert result.n_test >= 50
    assert 0.6 <= m.loc["exponential", "coverage_80"] <= 0.95
    assert 0.8 <= m.loc["exponential", "coverage_95"] <= 1.0
    assert 0.6 <= m.loc["ols", "coverage_80"] <= 0.95
    assert m.loc["exponential", "crps"] < 0.3


def test_true_model_beats_flat_trend(result, synthetic):
    train = synthetic[synthetic["date"] < result.cutoff]
    y_train = np.log10(train["tokens"].to_numpy())
    exp = result.per_model[result.per_model["method"] == "exponential"]
    y = np.log10(exp["tokens"].to_numpy())
    # A deliberately mis-specified forecaster: no growth, the training data's spread.
    rng = np.random.default_rng(0)
    flat = rng.normal(y_train.mean(), y_train.std(), size=(len(y), 4000))
    assert exp["crps"].mean() < 0.5 * crps_from_draws(flat, y).mean()


def test_per_model_and_frontier_tables(result):
    pm_ = result.per_model
    assert set(pm_["method"]) == set(FAST_METHODS)
    assert len(pm_) == result.n_test * len(FAST_METHODS)
    assert (pm_["p10"] <= pm_["p50"]).all() and (pm_["p50"] <= pm_["p90"]).all()
    assert (pm_["date"] >= result.cutoff).all()
    # Coverage in the methods table is the mean of the per-model hits.
    exp = pm_[pm_["method"] == "exponential"]
    m = result.methods.set_index("method")
    assert m.loc["exponential", "coverage_80"] == pytest.approx(exp["in_80"].mean())
    assert m.loc["exponential", "crps"] == pytest.approx(exp["crps"].mean())
    # Default is the first method when "average" is not requested.
    assert result.default == "exponential"
    assert list(result.frontier.columns[:5]) == ["period", "midpoint", "model", "date", "observed"]
    assert result.frontier["period"].is_monotonic_increasing
    assert set(result.frontier_scores["method"]) == set(FAST_METHODS)


def test_json_schema_exact_keys(result):
    d = result.to_json_dict()
    json.dumps(d, allow_nan=False)
    assert set(d) == {
        "cutoff",
        "n_train",
        "n_test",
        "default",
        "methods",
        "frontier",
        "per_model",
    }
    assert d["cutoff"] == "2020-01-01"
    assert set(d["methods"]) == set(FAST_METHODS)
    for scores in d["methods"].values():
        assert set(scores) == {"coverage_50", "coverage_80", "coverage_95", "crps", "log_score"}
        assert all(v is None or isinstance(v, float) for v in scores.values())
    assert d["frontier"]
    for row in d["frontier"]:
        assert set(row) == {"period", "observed", "p10", "p50", "p90"}
    assert len(d["per_model"]) == result.n_test * len(FAST_METHODS)
    assert {"model", "date", "tokens", "method", "p10", "p50", "p90", "crps", "in_80"} <= set(
        d["per_model"][0]
    )


def test_repr_is_compact_table(result):
    text = repr(result)
    assert "cutoff 2020-01-01" in text and "exponential" in text
    assert "<table" in result._repr_html_()


def test_same_seed_same_numbers(synthetic):
    kw = {"sampler": SMALL, "methods": ("exponential", "ols", "epoch-bootstrap"), "n_draws": 500}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = backtest(synthetic, "2022-06-01", seed=5, **kw)
        b = backtest(synthetic, "2022-06-01", seed=5, **kw)
    pd.testing.assert_frame_equal(a.methods, b.methods)
    pd.testing.assert_frame_equal(a.per_model, b.per_model)


# --- errors and edge cases -------------------------------------------------------------------


def test_no_models_before_cutoff_is_data_error(synthetic):
    with pytest.raises(DataError, match="before the backtest cutoff 2014-01-01"):
        backtest(synthetic, "2014-01-01", sampler=SMALL, methods=FAST_METHODS)


def test_too_few_models_before_cutoff_is_data_error(synthetic):
    cutoff = synthetic["date"].iloc[2] + pd.Timedelta(days=1)  # 3 models before
    with pytest.raises(DataError, match="needs at least 6"):
        backtest(synthetic, cutoff, sampler=SMALL)  # slowdown/average need 6


def test_bad_cutoff_and_method():
    df = synthetic_models(20)
    with pytest.raises(ForecastError, match="cutoff"):
        backtest(df, "not a date", sampler=SMALL)
    with pytest.raises(ForecastError, match="unknown backtest method"):
        backtest(df, "2020-01-01", sampler=SMALL, methods=["bogus"])


def test_no_models_after_cutoff(synthetic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = backtest(synthetic, "2030-01-01", sampler=SMALL, methods=("ols", "epoch-bootstrap"))
    assert res.n_test == 0
    assert res.per_model.empty and res.frontier.empty
    assert res.methods["crps"].isna().all() and res.methods["coverage_80"].isna().all()
    assert any("no models with tokens released on or after" in m for m in res.messages)
    d = res.to_json_dict()
    json.dumps(d, allow_nan=False)
    assert d["n_test"] == 0 and d["methods"]["ols"]["crps"] is None
    assert "nothing to score" in repr(res)


def test_epoch_start_prior_reanchored_at_cutoff(synthetic):
    res = backtest(synthetic, "2021-01-01", sampler=SMALL, methods=("epoch-bootstrap",))
    assert res.n_test > 0
    train = synthetic[synthetic["date"] < pd.Timestamp("2021-01-01")]
    largest = train["tokens"].max()
    # Right after the cutoff the band is Epoch's 3/3.5..13/3.5 of the largest known run.
    from forecast.evaluation.backtest import EPOCH_START_RATIO, _fit_methods

    proj, _, _ = _fit_methods(train, ["epoch-bootstrap"], SMALL, 2021.0, 0, [], False, None)
    eb = proj["epoch-bootstrap"]
    assert eb.start_year == 2021.0
    assert eb.start_low == pytest.approx(EPOCH_START_RATIO[0] * largest)
    assert eb.start_high == pytest.approx(EPOCH_START_RATIO[1] * largest)
    assert EPOCH_START_RATIO[0] * 3.5e12 == pytest.approx(3e12)


def test_calibration_table_pools_by_n():
    table = pd.DataFrame(
        {
            "cutoff": ["a", "b"],
            "method": ["m", "m"],
            "coverage_50": [0.5, 0.0],
            "coverage_80": [1.0, 0.5],
            "coverage_95": [1.0, 1.0],
            "n": [10, 30],
            "frontier_coverage_80": [1.0, math.nan],
            "frontier_n": [4, 0],
        }
    )
    cal = calibration_table(table).set_index(["view", "nominal"])
    assert cal.loc[("population", 0.8), "empirical"] == pytest.approx((10 + 15) / 40)
    assert cal.loc[("population", 0.5), "n"] == 40
    assert cal.loc[("frontier", 0.8), "empirical"] == pytest.approx(1.0)
    assert cal.loc[("population", 0.8), "gap"] == pytest.approx(0.625 - 0.8)


def test_calibration_without_short_history_cutoffs():
    """The guard drops cutoffs with less training history than MIN_HISTORY_YEARS."""
    table = pd.DataFrame(
        {
            "cutoff": ["a", "b"],
            "method": ["m", "m"],
            "history_years": [MIN_HISTORY_YEARS - 1.5, MIN_HISTORY_YEARS + 0.5],
            "coverage_50": [0.0, 0.5],
            "coverage_80": [0.0, 0.75],
            "coverage_95": [0.0, 1.0],
            "n": [10, 20],
            "frontier_coverage_80": [0.0, 1.0],
            "frontier_n": [3, 2],
        }
    )
    guarded = calibration_table(table, MIN_HISTORY_YEARS).set_index(["view", "nominal"])
    assert guarded.loc[("population", 0.8), "empirical"] == pytest.approx(0.75)
    assert guarded.loc[("population", 0.8), "n"] == 20
    both = calibration_by_history(table)
    assert list(both.columns) == ["cutoffs", "method", "view", "nominal", "empirical", "gap", "n"]
    pooled = both[(both["cutoffs"] == "all") & (both["view"] == "population")]
    assert pooled.set_index("nominal").loc[0.8, "empirical"] == pytest.approx(15 / 30)
    assert set(both["cutoffs"]) == {"all", f">= {MIN_HISTORY_YEARS:g} years of history"}


def test_short_history_cutoff_is_flagged(synthetic):
    """Two years of training models: the result says so instead of warning per fit."""
    late = synthetic[synthetic["date"] >= "2018-01-01"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        warnings.simplefilter("error", ShortHistoryWarning)  # said in messages, not warned
        res = backtest(late, "2020-01-01", sampler=SMALL, methods=["exponential"], n_draws=200)
    assert res.history_years == pytest.approx(2.0, abs=0.1)
    assert res.short_history
    assert any("short-history cutoff" in m for m in res.messages)
    assert not backtest(synthetic, "2020-01-01", methods=["ols"], n_draws=200).short_history


# --- full method set (PyMC frontier + changepoint fits) ---------------------------------------


@pytest.mark.slow
def test_all_methods_with_model_average(synthetic):
    """Every method of the single-cutoff backtest (five PyMC models, five compiles: about
    a minute, so in the slow suite)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = backtest(synthetic, "2022-01-01", sampler=SMALL, n_draws=1000)
    assert res.default == "average"
    assert list(res.methods["method"]) == [
        "damped-trend",
        "exponential",
        "frontier",
        "slowdown",
        "random-walk-slope",
        "average",
        "ols",
        "epoch-bootstrap",
    ]
    assert res.weights == {"damped-trend": 1.0}
    assert np.isfinite(res.methods["crps"]).all()
    assert set(res.diagnostics["method"]) == {
        "damped-trend",
        "exponential",
        "frontier",
        "slowdown",
        "random-walk-slope",
    }
    m = res.methods.set_index("method")
    # Frontier methods predict the largest runs: biased high on typical models.
    bias = (
        res.per_model.assign(err=np.log10(res.per_model["p50"] / res.per_model["tokens"]))
        .groupby("method")["err"]
        .mean()
    )
    assert bias["frontier"] > bias["exponential"]
    assert m.loc["frontier", "coverage_50"] <= m.loc["exponential", "coverage_50"] + 0.1
    assert (res.frontier_all.groupby("method").size() == len(res.frontier)).all()


@pytest.mark.slow
def test_rolling_origin_on_bundled_data():
    from forecast.data import load_training_runs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = rolling_origin(load_training_runs())
    assert len(table) == 5 * len(METHODS)
    assert set(table["cutoff"]) == {
        "2020-01-01",
        "2021-01-01",
        "2022-01-01",
        "2023-01-01",
        "2024-01-01",
    }
    assert np.isfinite(table["crps"]).all()
    assert table.groupby("cutoff")["history_years"].first().round(1).to_dict() == {
        "2020-01-01": 1.4,
        "2021-01-01": 2.4,
        "2022-01-01": 3.5,
        "2023-01-01": 4.4,
        "2024-01-01": 5.5,
    }
    cal = calibration_table(table)
    assert set(cal["method"]) == set(table["method"])
