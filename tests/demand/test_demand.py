"""Demand models: posterior recovery on synthetic data, frontier rows, health, persistence.

Every model is compiled and sampled once per session (small sampler); the synthetic tables
have known growth so each check has a true value to hit.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from forecast import demand as dm
from forecast.errors import DataError, ForecastError, SamplingWarning, ShortHistoryWarning

TRUE_SLOPE = 0.45  # OOM/yr of tokens in the synthetic growth table
TRUE_FLOP_SLOPE = 0.7  # OOM/yr of compute
CHANGE_AT, SLOPE_BEFORE, SLOPE_AFTER = 2019.0, 0.6, 0.2  # the slowdown table


def _fit(model, data, sampler):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return model.fit(data, sampler)


def _interval(draws, level=0.95):
    a = (1 - level) / 2
    return tuple(np.quantile(np.asarray(draws), [a, 1 - a]))


# --- data and fits (session scope: each model samples once) -----------------------------


@pytest.fixture(scope="session")
def growth_data(make_training_runs):
    """80 runs, 2008-2024.5, log10 tokens = 9 + 0.45 (year - 2018) + 0.3 t(4).

    Why this design makes the frontier check valid: with stationary noise the top-k
    envelope sits a constant distance above the trend once enough runs compete, so its
    slope is the population slope; the bias comes only from the first few runs (always
    on the frontier, unselected). With noise 0.3 over 16 years the frontier OLS slope
    averages 0.454 (sd 0.012) over 300 simulated tables, against 0.473 (sd 0.032) for
    noise 0.5 over 12 years, so the 95% interval is a fair test here.
    """
    return make_training_runs(seed=3)


@pytest.fixture(scope="session")
def slowdown_data(make_training_runs):
    """Slope 0.6 OOM/yr until 2019.0, then 0.2 OOM/yr; low noise (0.1 t(4)), 2012-2024.5.

    Low noise keeps the frontier close to all rows, so the post-change frontier slope is
    unbiased (simulated: 0.202, sd 0.018). The bend has the model's own shape (smooth
    hinge ~1.1 years wide = 0.3 standardised date units here): with a *sharp* hinge and
    noise this small the fixed-width softplus is misspecified and the asymptotic
    after-slope comes out biased low (~0.12-0.13 for a true 0.2).
    """
    return make_training_runs(
        start=2012.0,
        slope=SLOPE_BEFORE,
        slope_after=SLOPE_AFTER,
        change_at=CHANGE_AT,
        transition=1.1,
        noise=0.1,
        seed=6,
    )


@pytest.fixture(scope="session")
def normal_data(make_training_runs):
    """Well-specified data for the OLS comparison: Gaussian noise, sd 0.3."""
    return make_training_runs(normal=True, seed=8)


@pytest.fixture(scope="session")
def exp_fit(growth_data, small_sampler):
    return _fit(dm.ExponentialTrend(), growth_data, small_sampler)


@pytest.fixture(scope="session")
def frontier_fit(growth_data, small_sampler):
    return _fit(dm.FrontierTrend(), growth_data, small_sampler)


@pytest.fixture(scope="session")
def compute_fit(growth_data, small_sampler):
    """Non-default conversion (25 tokens/parameter, 5x overtrained): it must survive saving."""
    model = dm.ComputeTrend(tokens_per_parameter=25.0, overtraining=5.0)
    return _fit(model, growth_data, small_sampler)


@pytest.fixture(scope="session")
def slowdown_fit(slowdown_data, small_sampler):
    return _fit(dm.SlowdownTrend(), slowdown_data, small_sampler)


@pytest.fixture(scope="session")
def slowdown_frontier_fit(slowdown_data, small_sampler):
    return _fit(dm.FrontierTrend(), slowdown_data, small_sampler)


@pytest.fixture(scope="session")
def rw_slowdown_fit(slowdown_data, small_sampler):
    return _fit(dm.RandomWalkSlopeTrend(), slowdown_data, small_sampler)


@pytest.fixture(scope="session")
def rw_straight_fit(growth_data, small_sampler):
    return _fit(dm.RandomWalkSlopeTrend(), growth_data, small_sampler)


@pytest.fixture(scope="session")
def tiny_sampler():
    """Smallest sampler that still gives a usable posterior (for cache and seed checks)."""
    return dm.SamplerConfig(draws=100, tune=100, chains=2, seed=4)


# --- posterior recovery ------------------------------------------------------------------


def test_exponential_recovers_slope(exp_fit):
    lo, hi = _interval(exp_fit.slope_log10_per_year())
    assert lo < TRUE_SLOPE < hi
    assert hi - lo < 0.1  # informative, not just wide


def test_frontier_recovers_population_slope(frontier_fit, growth_data):
    assert len(frontier_fit.rows) < len(growth_data)  # the frontier is a real selection
    lo, hi = _interval(frontier_fit.slope_log10_per_year())
    assert lo < TRUE_SLOPE < hi


def test_frontier_level_at_or_above_population(frontier_fit, exp_fit):
    years = [2010.0, 2014.0, 2018.0, 2022.0, 2024.0]
    front = frontier_fit.fitted_line(years)["median"].to_numpy()
    pop = exp_fit.fitted_line(years)["median"].to_numpy()
    assert np.all(front >= pop)
    # and above the true trend line (the envelope, not the mean)
    assert np.all(np.log10(front) > 9.0 + TRUE_SLOPE * (np.array(years) - 2018.0))


def test_slowdown_recovers_changepoint_and_slopes(slowdown_fit):
    fit = slowdown_fit
    change_year = fit.posterior["changepoint"].to_numpy().ravel() * fit.scaling.x_sd
    change_year = change_year + fit.scaling.x_mean
    lo, hi = _interval(change_year)
    assert lo < CHANGE_AT < hi
    lo, hi = _interval(fit.slope_log10_per_year())  # at the latest data date
    assert lo < SLOPE_AFTER < hi
    assert hi < SLOPE_BEFORE
    lo, hi = _interval(fit.slope_log10_per_year(at_year=2013.0))
    assert lo < SLOPE_BEFORE < hi
    # the slowdown itself is detected: the slope change is credibly negative
    assert np.quantile(fit.posterior["slope_change"].to_numpy(), 0.975) < 0


def test_random_walk_slope_recovers_growth_before_and_after_a_slowdown(rw_slowdown_fit):
    """No changepoint is built in: the yearly walk must find 0.6 OOM/yr early, 0.2 late."""
    fit = rw_slowdown_fit
    lo, hi = _interval(fit.slope_log10_per_year(at_year=2015.5))
    assert lo < SLOPE_BEFORE < hi
    lo, hi = _interval(fit.slope_log10_per_year())  # at the last data date
    assert lo < SLOPE_AFTER < hi
    assert hi < SLOPE_BEFORE  # and it can tell the slope changed
    assert list(fit.posterior["knot"].to_numpy()) == list(np.arange(2013.0, 2025.0))


def test_random_walk_slope_finds_little_drift_in_a_straight_trend(rw_straight_fit):
    fit = rw_straight_fit
    tau = fit.posterior["slope_walk_sd"].to_numpy().ravel() * fit.scaling.y_sd / fit.scaling.x_sd
    assert np.median(tau) < 0.05  # OOM/yr per year, against a prior scale of 0.25
    lo, hi = _interval(fit.slope_log10_per_year())
    assert lo < TRUE_SLOPE < hi


def test_random_walk_slope_band_widens_with_horizon(rw_slowdown_fit, slowdown_frontier_fit):
    """The walk continues after the data: the 80% band grows with the horizon, unlike a
    straight trend whose band grows only through the slope's posterior spread."""
    last = float(rw_slowdown_fit.rows["year"].max())
    years = np.array([last + 1.0, last + 10.0])

    def width(fit):
        q = np.quantile(np.log10(fit.project(years, 4000, seed=2).to_numpy()), [0.1, 0.9], axis=0)
        return q[1] - q[0]

    rw, straight = width(rw_slowdown_fit), width(slowdown_frontier_fit)
    assert rw[1] - rw[0] > 2 * (straight[1] - straight[0])
    assert rw[1] > 1.0  # orders of magnitude, ten years out


def test_random_walk_slope_projection_never_falls_after_the_data(rw_slowdown_fit):
    fit = rw_slowdown_fit
    last = float(fit.rows["year"].max())
    years = np.arange(2020.0, 2060.0, 0.5)
    values = fit.project(years, 2000, seed=3).to_numpy()
    future = values[:, years > last]
    assert (np.diff(future, axis=1) >= 0).all()
    # the order of the requested dates does not matter
    order = np.random.default_rng(0).permutation(len(years))
    shuffled = fit.project(years[order], 2000, seed=3)
    np.testing.assert_allclose(shuffled.sel(year=years).to_numpy()[:, years > last], future)


def test_knot_years_are_calendar_years_inside_the_data():
    np.testing.assert_array_equal(
        dm.RandomWalkSlopeTrend.knot_years(2018.44, 2021.0), [2019.0, 2020.0]
    )
    assert len(dm.RandomWalkSlopeTrend.knot_years(2018.2, 2018.9)) == 0


def test_short_history_warns(growth_data, tiny_sampler):
    short = growth_data[(growth_data["year"] >= 2020.0) & (growth_data["year"] < 2022.0)]
    with pytest.warns(ShortHistoryWarning, match="span only 1"):
        _fit(dm.ExponentialTrend(), short, tiny_sampler)


def test_compute_recovers_flop_slope_and_halves_it_for_tokens(compute_fit):
    flop = compute_fit.slope_log10_per_year()
    lo, hi = _interval(flop)
    assert lo < TRUE_FLOP_SLOPE < hi
    np.testing.assert_allclose(compute_fit.token_growth_log10_per_year(), flop / 2)
    # projected tokens are the Chinchilla conversion of the projected FLOP (same draws)
    as_flop = replace(compute_fit, model=dm.FrontierTrend())  # identity to_tokens
    years = [2025.0, 2030.0]
    flop_draws = as_flop.project(years, n_draws=200, seed=1).to_numpy()
    tokens = compute_fit.project(years, n_draws=200, seed=1).to_numpy()
    np.testing.assert_allclose(tokens, dm.chinchilla_tokens(flop_draws, 25.0, 5.0), rtol=1e-12)
    assert np.median(flop_draws[:, 0]) > 1e24  # FLOP, not tokens


def test_chinchilla_conversion():
    # Chinchilla: 70B parameters x 1.4T tokens x 6 = 5.88e23 FLOP; 5.76e23 in the paper.
    assert dm.chinchilla_tokens(5.76e23) == pytest.approx(1.386e12, rel=1e-3)
    assert dm.chinchilla_tokens(5.76e23) / 1e12 == pytest.approx(1.39, abs=0.005)
    # k-times overtraining -> sqrt(k) more tokens at equal compute
    for k in (4.0, 5.0, 100.0):
        ratio = dm.chinchilla_tokens(1e25, overtraining=k) / dm.chinchilla_tokens(1e25)
        assert ratio == pytest.approx(np.sqrt(k), rel=1e-12)
    log10_flop = np.array([24.0, 26.0])
    np.testing.assert_allclose(
        dm.ComputeTrend(overtraining=4.0).to_tokens(log10_flop),
        2.0 * dm.ComputeTrend().to_tokens(log10_flop),
    )


def test_bayesian_slope_agrees_with_ols_on_normal_data(normal_data, small_sampler):
    fit = _fit(dm.ExponentialTrend(), normal_data, small_sampler)
    ols = sm.OLS(
        np.log10(normal_data["tokens"].to_numpy()), sm.add_constant(normal_data["year"].to_numpy())
    ).fit()
    slope, se = float(ols.params[1]), float(ols.bse[1])
    draws = fit.slope_log10_per_year()
    # Student-t likelihood + weak priors vs OLS: same answer within a fraction of the SE
    # (MC error of the median with ~300 effective draws is ~0.07 SE).
    assert abs(np.median(draws) - slope) < 0.3 * se
    assert 0.75 < np.std(draws) / se < 1.3


# --- reproducibility -----------------------------------------------------------------------


def test_same_seed_same_draws_different_seed_differs(growth_data, exp_fit, small_sampler):
    again = _fit(dm.ExponentialTrend(), growth_data, small_sampler)
    np.testing.assert_array_equal(
        again.posterior["slope"].to_numpy(), exp_fit.posterior["slope"].to_numpy()
    )
    years = [2024.0, 2030.0]
    np.testing.assert_array_equal(
        again.project(years, 1000, seed=7).to_numpy(),
        exp_fit.project(years, 1000, seed=7).to_numpy(),
    )
    other = _fit(
        dm.ExponentialTrend(), growth_data, dm.SamplerConfig(draws=300, tune=300, chains=2, seed=12)
    )
    assert not np.array_equal(
        other.posterior["slope"].to_numpy(), exp_fit.posterior["slope"].to_numpy()
    )
    # and the projection seed matters on its own
    assert not np.array_equal(
        exp_fit.project(years, 1000, seed=7).to_numpy(),
        exp_fit.project(years, 1000, seed=8).to_numpy(),
    )


def test_projection_shape_and_units(exp_fit):
    years = np.array([2024.0, 2025.5, 2030.0])
    proj = exp_fit.project(years, n_draws=500, seed=0)
    assert proj.dims == ("draw", "year")
    assert proj.shape == (500, 3)
    np.testing.assert_array_equal(proj["year"].to_numpy(), years)
    assert proj.attrs["units"] == "tokens"
    assert np.all(np.isfinite(proj.to_numpy())) and np.all(proj.to_numpy() > 0)
    # default n_draws = every posterior draw (chains x draws; twice the draws asked for
    # when the fit needed the automatic longer retry)
    sizes = exp_fit.posterior.sizes
    assert exp_fit.project(years).sizes["draw"] == sizes["chain"] * sizes["draw"]
    asked = exp_fit.sampler.escalated_from or exp_fit.sampler.draws
    assert sizes["draw"] == asked * (2 if exp_fit.sampler.escalated_from else 1)


# --- frontier rows -------------------------------------------------------------------------


def _table(rows):
    df = pd.DataFrame(rows, columns=["model", "date", "tokens"])
    df["date"] = pd.to_datetime(df["date"])
    return df


HAND_MADE = [
    ("A", "2020-01-01", 10.0),
    ("B", "2020-01-01", 10.0),  # tie with A on the same date
    ("C", "2020-06-01", 5.0),
    ("D", "2021-01-01", 20.0),
    ("E", "2021-01-01", 1.0),  # same date as the larger D
    ("F", "2021-06-01", 10.0),  # ties A and B, below D
    ("G", "2022-01-01", 8.0),
    ("H", "2022-01-01", 30.0),  # same date as G, larger
    ("I", "2022-06-01", np.nan),  # never disclosed: never on the frontier
]


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, ["A", "B", "D", "H"]),
        (2, ["A", "B", "D", "F", "H"]),
        (3, ["A", "B", "C", "D", "F", "H"]),
        (6, ["A", "B", "C", "D", "E", "F", "G", "H"]),
    ],
)
def test_frontier_rows_hand_made(k, expected):
    df = _table(HAND_MADE)
    assert sorted(dm.frontier_rows(df, k=k)["model"]) == expected
    # independent of input order
    shuffled = df.sample(frac=1.0, random_state=1)
    assert sorted(dm.frontier_rows(shuffled, k=k)["model"]) == expected


def test_frontier_rows_later_runs_do_not_count():
    # A is on the frontier at release even though larger runs came later.
    df = _table([("A", "2020-01-01", 1.0), ("B", "2021-01-01", 100.0), ("C", "2022-01-01", 1000.0)])
    assert list(dm.frontier_rows(df, k=1)["model"]) == ["A", "B", "C"]


def test_frontier_k_validated():
    with pytest.raises(ForecastError, match="k must be >= 1"):
        dm.FrontierTrend(k=0)


# --- sampler health ------------------------------------------------------------------------


def test_diagnostics_problems_messages():
    assert dm.Diagnostics(1.0, 1000.0, 0).problems == []
    assert dm.Diagnostics(dm.RHAT_MAX, dm.ESS_BULK_MIN, 0).healthy  # thresholds inclusive
    (msg,) = dm.Diagnostics(1.05, 1000.0, 0).problems
    assert "r_hat 1.050 > 1.01" in msg and "--tune" in msg
    (msg,) = dm.Diagnostics(1.0, 120.0, 0).problems
    assert "bulk ESS 120 < 400" in msg and "--mcmc-draws" in msg
    (msg,) = dm.Diagnostics(1.0, 1000.0, 3).problems
    assert "3 divergent transitions" in msg and "target_accept" in msg
    bad = dm.Diagnostics(float("nan"), float("nan"), 1)
    assert len(bad.problems) == 3 and not bad.healthy  # NaN never passes


def test_bad_fit_warns_with_remedy(growth_data):
    with pytest.warns(SamplingWarning, match=r"--mcmc-draws|--tune") as record:
        fit = dm.ExponentialTrend().fit(
            growth_data, dm.SamplerConfig(draws=20, tune=5, chains=2, seed=0)
        )
    assert not fit.diagnostics().healthy
    messages = [str(w.message) for w in record if issubclass(w.category, SamplingWarning)]
    assert all(m.startswith(dm.ExponentialTrend.label) for m in messages)


def test_an_unhealthy_fit_reused_from_the_cache_warns_again(growth_data, tmp_path):
    sampler = dm.SamplerConfig(draws=20, tune=5, chains=2, seed=0, escalate=False)
    with pytest.warns(SamplingWarning):
        dm.fit_cached(dm.ExponentialTrend(), growth_data, sampler, tmp_path)
    with pytest.warns(SamplingWarning, match="--mcmc-draws|--tune|divergent"):
        reused = dm.fit_cached(dm.ExponentialTrend(), growth_data, sampler, tmp_path)
    assert not reused.diagnostics().healthy


def test_sampler_config_validated():
    with pytest.raises(ForecastError, match="draws"):
        dm.SamplerConfig(draws=0)
    with pytest.raises(ForecastError, match="target_accept"):
        dm.SamplerConfig(target_accept=1.0)


# --- persistence and cache -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".nc", ".npz"])
@pytest.mark.parametrize("which", ["exp_fit", "slowdown_fit", "rw_slowdown_fit"])
def test_save_load_round_trip(which, suffix, request, tmp_path):
    fit = request.getfixturevalue(which)
    path = fit.save(tmp_path / f"fit{suffix}")
    with pytest.raises(ForecastError, match="exists; pass overwrite=True"):
        fit.save(path)  # nothing of the user's is overwritten without being asked
    fit.save(path, overwrite=True)
    loaded = dm.load_fit(path)
    assert loaded.model.config() == fit.model.config()
    assert loaded.sampler == fit.sampler
    assert loaded.scaling == fit.scaling
    years = [2024.0, 2027.5, 2035.0]
    np.testing.assert_array_equal(
        loaded.project(years, 2000, seed=5).to_numpy(), fit.project(years, 2000, seed=5).to_numpy()
    )
    np.testing.assert_array_equal(
        loaded.slope_log10_per_year(), fit.slope_log10_per_year()
    )  # the changepoint model needs the rows' decimal years for this
    pd.testing.assert_frame_equal(loaded.summary(), fit.summary())


def test_loaded_fit_reads_its_stored_health_which_equals_a_recomputation(exp_fit, tmp_path):
    import dataclasses

    loaded = dm.load_fit(exp_fit.save(tmp_path / "fit.nc"))
    stored = loaded.diagnostics()
    assert stored == exp_fit.diagnostics()
    recomputed = dataclasses.replace(loaded, _diagnostics=None).diagnostics()
    assert recomputed == stored


def test_save_load_keeps_compute_conversion(compute_fit, tmp_path):
    loaded = dm.load_fit(compute_fit.save(tmp_path / "compute.nc"))
    assert loaded.model.overtraining == 5.0
    assert loaded.model.tokens_per_parameter == 25.0
    np.testing.assert_array_equal(
        loaded.project([2030.0], 500, seed=2).to_numpy(),
        compute_fit.project([2030.0], 500, seed=2).to_numpy(),
    )


def test_the_cache_format_keeps_every_variable_exactly(exp_fit, tmp_path):
    """``.npz`` (the fit cache's format, issue 16) holds what netCDF holds: every group,
    variable, dtype and value, and the attributes; an archive that is not a fit is refused."""
    nc = dm.load_fit(exp_fit.save(tmp_path / "fit.nc"))._stored
    npz = dm.load_fit(exp_fit.save(tmp_path / "fit.npz"))._stored
    assert sorted(npz.children) == sorted(nc.children)
    assert dict(npz.attrs) == dict(nc.attrs)
    for name in nc.children:
        assert sorted(npz[name].variables) == sorted(nc[name].variables)
        for var in nc[name].variables:
            a, b = npz[name][var], nc[name][var]
            assert a.dims == b.dims and a.dtype == b.dtype, (name, var)
            np.testing.assert_array_equal(a.values, b.values)
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(ForecastError, match=r"other\.npz: not a forecast demand fit"):
        dm.load_fit(tmp_path / "other.npz")


def test_load_fit_rejects_foreign_file(exp_fit, tmp_path):
    from forecast import _compat

    idata = exp_fit.idata.copy()
    for key in list(idata.attrs):
        if key.startswith("forecast_"):
            del idata.attrs[key]
    _compat.save(idata, tmp_path / "plain.nc")
    with pytest.raises(ForecastError, match="not a forecast demand fit"):
        dm.load_fit(tmp_path / "plain.nc")


@pytest.fixture
def counted_fit(monkeypatch):
    """Patch DemandModel.fit to count calls (and optionally fail after the first)."""
    calls = {"n": 0, "fail_after": None}
    real = dm.DemandModel.fit

    def fit(self, models, sampler=None):
        calls["n"] += 1
        if calls["fail_after"] is not None and calls["n"] > calls["fail_after"]:
            raise AssertionError("fit_cached re-sampled instead of reusing the cached fit")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            return real(self, models, sampler)

    monkeypatch.setattr(dm.DemandModel, "fit", fit)
    return calls


def test_fit_cached_reuses_without_resampling(counted_fit, growth_data, tiny_sampler, tmp_path):
    counted_fit["fail_after"] = 1
    model = dm.ExponentialTrend()
    first = dm.fit_cached(model, growth_data, tiny_sampler, tmp_path)
    second = dm.fit_cached(model, growth_data, tiny_sampler, tmp_path)
    # the progress bar does not change the fit
    third = dm.fit_cached(model, growth_data, replace(tiny_sampler, progress=True), tmp_path)
    assert counted_fit["n"] == 1
    assert third.sampler.progress is True
    assert len(list(tmp_path.glob("*.npz"))) == 1  # the cache's format (fast to read)
    np.testing.assert_array_equal(
        first.posterior["slope"].to_numpy(), second.posterior["slope"].to_numpy()
    )
    np.testing.assert_array_equal(
        first.project([2030.0], 500, seed=1).to_numpy(),
        second.project([2030.0], 500, seed=1).to_numpy(),
    )


def test_fit_cached_detects_changes(counted_fit, growth_data, tiny_sampler, tmp_path):
    model = dm.ExponentialTrend()
    dm.fit_cached(model, growth_data, tiny_sampler, tmp_path)
    assert counted_fit["n"] == 1

    # edited data -> different key -> refit
    edited = growth_data.copy()
    edited.loc[edited.index[-1], "tokens"] *= 2.0
    refit = dm.fit_cached(model, edited, tiny_sampler, tmp_path)
    assert counted_fit["n"] == 2
    assert refit.idata.attrs["forecast_key"] == dm.fit_key(model, edited, tiny_sampler)

    # other sampler settings -> refit
    dm.fit_cached(
        model, growth_data, dm.SamplerConfig(draws=100, tune=100, chains=2, seed=5), tmp_path
    )
    assert counted_fit["n"] == 3

    # a file at the expected path whose stored key does not match is never used silently
    key = dm.fit_key(model, edited, tiny_sampler)
    path = dm.cache_path(model, key, tmp_path)
    other = dm.cache_path(model, dm.fit_key(model, growth_data, tiny_sampler), tmp_path)
    shutil.copyfile(other, path)
    with pytest.warns(UserWarning, match="does not match"):
        fit = dm.fit_cached(model, edited, tiny_sampler, tmp_path)
    assert counted_fit["n"] == 4
    assert fit.idata.attrs["forecast_key"] == key
    assert dm.load_fit(path).idata.attrs["forecast_key"] == key  # replaced on disk

    # a corrupt file is refitted with a warning, not fatal
    path.write_bytes(b"not netcdf")
    with pytest.warns(UserWarning, match="unreadable cached fit"):
        dm.fit_cached(model, edited, tiny_sampler, tmp_path)
    assert counted_fit["n"] == 5


def test_fit_key_depends_on_model_settings(growth_data, tiny_sampler):
    keys = {
        dm.fit_key(m, growth_data, tiny_sampler)
        for m in (
            dm.FrontierTrend(),
            dm.FrontierTrend(k=3),
            dm.ComputeTrend(),
            dm.ComputeTrend(overtraining=5.0),
        )
    }
    assert len(keys) == 4
    # ... and on the class's sampling settings (0.8.2 doubled the random-walk slope's
    # draws; a fit cached before must not be reused)
    doubled = dm.FrontierTrend()
    doubled.draws_factor = 2
    assert dm.fit_key(doubled, growth_data, tiny_sampler) not in keys


# --- data errors -------------------------------------------------------------------------------


def test_too_few_rows_is_a_data_error(growth_data):
    with pytest.raises(DataError, match="at least 3"):
        dm.ExponentialTrend().fit(growth_data.head(2))
    with pytest.raises(DataError, match="at least 6"):
        dm.SlowdownTrend().fit(growth_data.head(5))
    no_tokens = growth_data.assign(tokens=np.nan)
    with pytest.raises(DataError, match="got 0") as info:
        dm.ExponentialTrend().fit(no_tokens)
    assert info.value.column == "tokens"


def test_all_rows_on_one_date_is_a_data_error(growth_data):
    same = growth_data.head(10).assign(date=pd.Timestamp("2023-03-14"), year=2023.2)
    with pytest.raises(DataError, match="different dates") as info:
        dm.ExponentialTrend().fit(same)
    assert info.value.column == "date"


# --- comparison and averaging -----------------------------------------------------------------


def test_compare_weights_sum_to_one(slowdown_fit, slowdown_frontier_fit):
    table = dm.compare([slowdown_frontier_fit, slowdown_fit])
    assert list(table.columns) == ["model", "elpd_loo", "se", "p_loo", "weight", "pareto_k_max"]
    assert set(table["model"]) == {"frontier", "slowdown"}
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert (table["weight"] >= -1e-12).all()
    by = table.set_index("model")
    # a real slope change: the changepoint model predicts better and gets the weight
    assert by.loc["slowdown", "elpd_loo"] > by.loc["frontier", "elpd_loo"]
    assert by.loc["slowdown", "weight"] > 0.5
    # unrounded numbers on both ArviZ lines (ArviZ 1.x rounds by default)
    assert by["elpd_loo"].map(lambda v: v != round(v, 1)).any()


def test_compare_requires_same_rows(slowdown_fit, frontier_fit):
    with pytest.raises(ForecastError, match="same rows"):
        dm.compare([frontier_fit, slowdown_fit])


class _ConstantFit:
    """Stand-in fit whose projection is a constant, to trace which model a draw came from."""

    def __init__(self, value, name):
        self.value, self.name = value, name

    def project(self, years, n_draws=None, seed=None):
        import xarray as xr

        years = np.atleast_1d(np.asarray(years, dtype=float))
        return xr.DataArray(
            np.full((n_draws, len(years)), self.value),
            dims=("draw", "year"),
            coords={"year": years},
        )


def test_model_average_mixes_in_proportion_to_weights():
    avg = dm.ModelAverage([_ConstantFit(1.0, "a"), _ConstantFit(2.0, "b")], [0.3, 0.7])
    n = 20_000
    out = avg.project([2025.0, 2030.0], n_draws=n, seed=3)
    assert out.shape == (n, 2)
    share_a = float((out.to_numpy()[:, 0] == 1.0).mean())
    assert abs(share_a - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    # draws are mixed, not in model blocks (chunked consumers take slices)
    first = out.to_numpy()[: n // 10, 0]
    assert 0.2 < (first == 1.0).mean() < 0.4
    np.testing.assert_array_equal(
        out.to_numpy(), avg.project([2025.0, 2030.0], n, seed=3).to_numpy()
    )
    only_b = dm.ModelAverage([_ConstantFit(1.0, "a"), _ConstantFit(2.0, "b")], [0.0, 1.0])
    assert np.all(only_b.project([2025.0], 100, seed=0).to_numpy() == 2.0)


def test_model_average_weights_validated():
    fits = [_ConstantFit(1.0, "a"), _ConstantFit(2.0, "b")]
    with pytest.raises(ForecastError, match="sum to 1"):
        dm.ModelAverage(fits, [0.5, 0.6])
    with pytest.raises(ForecastError, match="match the fits"):
        dm.ModelAverage(fits, [1.0])


def test_model_average_of_real_fits(slowdown_fit, slowdown_frontier_fit):
    avg = dm.ModelAverage([slowdown_frontier_fit, slowdown_fit], [0.5, 0.5])
    out = avg.project([2024.0, 2030.0], n_draws=1000, seed=0)
    assert out.dims == ("draw", "year") and out.shape == (1000, 2)
    growth = avg.token_growth_log10_per_year(n_draws=1000, seed=0)
    assert growth.shape == (1000,)
    lo, hi = np.quantile(growth, [0.01, 0.99])
    assert lo > 0.1 and hi < 0.8


def test_projection_stays_finite_with_very_heavy_tails(bundled_demand, monkeypatch):
    """A posterior with nu ~ 0.2 (Cauchy-like residuals) would put draws at 10^+-400;
    projections are clipped to [1, 1e200] tokens so nothing downstream sees inf or 0."""
    fit = bundled_demand.fits["frontier"]
    real = fit._flat

    def heavy(name):
        values = real(name)
        return np.full_like(values, 0.2) if name == "nu" else values

    monkeypatch.setattr(fit, "_flat", heavy)
    draws = fit.project([2025.0, 2050.0, 2100.0], n_draws=20_000, seed=1).to_numpy()
    assert np.all(np.isfinite(draws))
    assert draws.min() >= 1.0
    assert draws.max() <= 1e200
    assert (draws == 1e200).any()  # the heavy tails did reach the clip
    # with the fitted posterior, no draw in 2025-2050 comes near either end of the clip
    monkeypatch.undo()
    plain = fit.project([2025.0, 2050.0], n_draws=20_000, seed=1).to_numpy()
    assert 1.0 < plain.min() and plain.max() < 1e200


# --- reproducibility across machines (fresh and warm PyTensor caches) --------------------


def test_nutpie_compiles_with_strict_float_arithmetic(growth_data, monkeypatch):
    """fastmath made a fresh machine's draws differ from a warm one's (0.8.1's known issue).

    The compiled model is taken from a stand-in for ``nutpie.compile_pymc_model`` that
    records the flag and stops, so nothing compiles or samples here.
    """
    import nutpie
    import pytensor

    seen = []

    class Stop(Exception):
        pass

    def record(model, **kwargs):
        seen.append(pytensor.config.numba__fastmath)
        raise Stop

    monkeypatch.setattr(nutpie, "compile_pymc_model", record)
    monkeypatch.setattr(dm.model, "_COMPILED", {})
    with pytest.raises(Stop):
        dm.ExponentialTrend().fit(growth_data, dm.SamplerConfig(draws=50, tune=50, chains=2))
    assert seen == [False]
    assert pytensor.config.numba__fastmath is True  # restored for everything else


def test_numbas_remark_on_compiled_code_is_not_shown_to_users(growth_data, monkeypatch):
    """Numba's performance remark on PyTensor's generated code ("np.dot() is faster on
    contiguous arrays") cannot be acted on by a user; compiling must not show it. Other
    warnings raised while compiling still are."""
    import warnings

    import nutpie

    class Stop(Exception):
        pass

    def compile_with_remarks(model, **kwargs):
        warnings.warn(
            "np.dot() is faster on contiguous arrays, called on (Array(float64, 2, 'A'),)",
            RuntimeWarning,
            stacklevel=1,
        )
        warnings.warn("something else", RuntimeWarning, stacklevel=1)
        raise Stop

    monkeypatch.setattr(nutpie, "compile_pymc_model", compile_with_remarks)
    monkeypatch.setattr(dm.model, "_COMPILED", {})
    with warnings.catch_warnings(record=True) as caught, pytest.raises(Stop):
        warnings.simplefilter("always")
        dm.ExponentialTrend().fit(growth_data, dm.SamplerConfig(draws=50, tune=50, chains=2))
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == ["something else"]


_FIT_IN_A_FRESH_PROCESS = """
import sys, numpy as np, warnings
from forecast import demand as dm, data
from forecast.demand.damped import DampedFrontierTrend
warnings.simplefilter("ignore")
fit = DampedFrontierTrend().fit(data.load_training_runs(),
    dm.SamplerConfig(draws=100, tune=100, chains=2, seed=5))
np.save(sys.argv[1], fit.posterior["long_run_rate"].to_numpy())
"""


@pytest.mark.slow
def test_same_seed_same_draws_with_an_empty_and_a_warm_pytensor_cache(tmp_path):
    """The default model fitted in two fresh processes sharing a PyTensor cache directory.

    The first finds it empty (a fresh machine, about 70 s of compiling), the second warm.
    Before 0.8.2 their draws differed; now they must be identical.
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pytensor'}"}
    draws = []
    for name in ("cold", "warm"):
        out = tmp_path / f"{name}.npy"
        subprocess.run(
            [sys.executable, "-c", _FIT_IN_A_FRESH_PROCESS, str(out)], env=env, check=True
        )
        draws.append(np.load(out))
    np.testing.assert_array_equal(draws[0], draws[1])


# --- issue 16: memory and the cached comparison ------------------------------------------


def test_shuffled_rows_is_concatenate_then_permute():
    rng = np.random.default_rng(0)
    blocks = [rng.random((n, 4)) for n in (3, 0, 5)]
    order = rng.permutation(8)
    expected = np.concatenate(blocks)[order]
    np.testing.assert_array_equal(dm.shuffled_rows(iter(blocks), order, 4), expected)
    with pytest.raises(ForecastError, match="7 rows for a permutation of 8"):
        dm.shuffled_rows(iter([blocks[0], blocks[2][:4]]), order, 4)


def test_project_works_with_a_to_tokens_without_out(bundled_demand):
    """A user's model written before ``to_tokens`` took ``out`` projects as before."""
    fit = bundled_demand.fits["frontier"]
    expected = fit.project([2025.0, 2030.0], n_draws=200, seed=4).to_numpy()

    class OldStyle(type(fit.model)):
        def to_tokens(self, log10_values):
            return np.power(10.0, log10_values)

    old = replace(fit, model=OldStyle())
    np.testing.assert_array_equal(old.project([2025.0, 2030.0], n_draws=200, seed=4), expected)


def test_comparison_is_cached_beside_the_fits(load_recorded_demand, tmp_path, monkeypatch):
    demand = load_recorded_demand()
    fits = [demand.fits[name] for name in dm.LOO_MODELS]
    for fit in fits:
        fit.idata.attrs["forecast_key"] = f"key-{fit.name}"
    first = dm.compare_cached(fits, tmp_path)
    (saved,) = tmp_path.glob("compare-*.json")
    fresh = dm.compare(fits)
    pd.testing.assert_frame_equal(first, fresh, check_exact=True)

    def refuse(_fits):
        raise AssertionError("recomputed")

    monkeypatch.setattr(dm.combine, "compare", refuse)
    pd.testing.assert_frame_equal(dm.compare_cached(fits, tmp_path), fresh, check_exact=True)
    # other fits (another key) or no cache: computed again
    fits[0].idata.attrs["forecast_key"] = "another"
    with pytest.raises(AssertionError, match="recomputed"):
        dm.compare_cached(fits, tmp_path)
    fits[0].idata.attrs["forecast_key"] = f"key-{fits[0].name}"
    with pytest.raises(AssertionError, match="recomputed"):
        dm.compare_cached(fits, tmp_path, use_cache=False)
    # a damaged file is named in a warning and recomputed, not fatal
    monkeypatch.undo()
    saved.write_text("{not json", encoding="utf-8")
    with pytest.warns(UserWarning, match="ignoring unreadable cached comparison"):
        again = dm.compare_cached(fits, tmp_path)
    pd.testing.assert_frame_equal(again, fresh, check_exact=True)


def test_a_cached_value_is_read_back_exactly_and_recomputed_when_it_must(tmp_path, monkeypatch):
    import json

    calls = []

    def compute():
        calls.append(1)
        return {"table": pd.DataFrame({"a": [0.1, 1 / 3]}), "array": np.array([np.pi]), "n": 3}

    first = dm.value_cached("thing", {"seed": 1}, compute, tmp_path)
    second = dm.value_cached("thing", {"seed": 1}, compute, tmp_path)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(second["table"], first["table"], check_exact=True)
    np.testing.assert_array_equal(second["array"], first["array"])
    assert second["n"] == 3
    (saved,) = tmp_path.glob("thing-*.json")
    dm.value_cached("thing", {"seed": 2}, compute, tmp_path)  # other inputs
    assert len(calls) == 2
    with monkeypatch.context() as m:
        m.setattr(dm.cache, "__version__", "0.0.0-other")  # another package version
        dm.value_cached("thing", {"seed": 1}, compute, tmp_path)
    assert len(calls) == 3
    files = sorted(tmp_path.iterdir())
    dm.value_cached("thing", {"seed": 9}, compute, tmp_path, use_cache=False)
    assert len(calls) == 4 and sorted(tmp_path.iterdir()) == files  # nothing saved
    key = json.loads(saved.read_text(encoding="utf-8"))["key"]
    damaged = (
        "{not json",
        json.dumps({"key": key, "value": {"result": "forecast.nowhere:Thing", "dict": {}}}),
        json.dumps({"key": key, "value": {"tuple": 3}}),
    )
    for n, text in enumerate(damaged, start=5):
        saved.write_text(text, encoding="utf-8")
        with pytest.warns(UserWarning, match="ignoring unreadable cached thing"):
            again = dm.value_cached("thing", {"seed": 1}, compute, tmp_path)
        assert len(calls) == n
        pd.testing.assert_frame_equal(again["table"], first["table"], check_exact=True)


def test_a_warm_fit_demand_imports_no_arviz(
    load_recorded_demand, filed_in_cache, small_sampler, tmp_path
):
    """Issue 16: with the fits and their comparison cached, fitting the demand set is
    loading it; ArviZ (about 300 MB on 0.x) is not imported."""
    import json
    import subprocess
    import sys

    expected = filed_in_cache(load_recorded_demand(), tmp_path, small_sampler)
    code = f"""
import sys, warnings
warnings.simplefilter("ignore")
import forecast.pipeline, forecast.demand as dm
demand = forecast.pipeline.fit_demand(sampler=dm.SamplerConfig(draws=300, tune=300, chains=2,
    seed=11), cache_dir={str(tmp_path)!r}, names="all")
print("arviz" in sys.modules, demand.comparison.to_json())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, table = out.stdout.split(" ", 1)
    assert imported == "False"
    assert json.loads(table) == json.loads(expected.to_json())
    assert len(list(tmp_path.glob("compare-*.json"))) == 1
