"""Demand v2 (forecast/damped.py): rows, graph data, likelihood pieces and projections.

Projections and summaries are tested on fake posteriors (``arviz.from_dict``) with known
parameters, so they need no sampling; the fit itself is tested once on the bundled data
(``bundled_demand``) and, for recovery and calibration, in the slow tests
(tests/demand/test_damped_recovery.py).
"""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast import demand as dm
from forecast.demand.damped import (
    BLOCK,
    UNDISCLOSED_BLOCK,
    DampedFrontierTrend,
    exgaussian_logcdf,
    exgaussian_logpdf,
    exgaussian_logsf,
)
from forecast.errors import DataError, ScenarioError
from forecast.scenarios import load_scenario
from forecast.units import decimal_years


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["year"] = np.asarray(decimal_years(frame["date"]), dtype=float)
    for column, default in (
        ("tokens_bound", "exact"),
        ("compute_flop", np.nan),
        ("compute_source", np.nan),
        ("family", ""),
    ):
        if column not in frame:
            frame[column] = default
    frame["disclosure"] = np.where(frame["tokens"].notna(), "disclosed", "undisclosed")
    frame.loc[frame["tokens"].isna(), "tokens_bound"] = np.nan
    return frame


@pytest.fixture
def runs() -> pd.DataFrame:
    return _frame(
        [
            {"model": "A", "date": "2019-03-01", "tokens": 1e10},
            {"model": "B", "date": "2020-06-01", "tokens": 3e11, "family": "b"},
            {"model": "B small", "date": "2020-06-01", "tokens": 1e11, "family": "b"},
            {"model": "C", "date": "2021-05-01", "tokens": 4e11},
            {"model": "D", "date": "2022-04-01", "tokens": 1.4e12},
            {
                "model": "E",
                "date": "2023-07-01",
                "tokens": 2e12,
                "compute_flop": 8e23,
                "compute_source": "derived-6ND",
            },
            {
                "model": "F",
                "date": "2024-04-01",
                "tokens": 1.5e13,
                "tokens_bound": "lower",
                "compute_flop": 6e24,
                "compute_source": "derived-6ND",
            },
            {
                "model": "G",
                "date": "2024-07-01",
                "tokens": 1.56e13,
                "compute_flop": 3.8e25,
                "compute_source": "reported",
            },
            {
                "model": "H",
                "date": "2025-03-01",
                "tokens": np.nan,
                "compute_flop": 3e26,
                "compute_source": "estimate",
            },
            {
                "model": "I",
                "date": "2025-06-01",
                "tokens": np.nan,
                "compute_flop": 1e25,
                "compute_source": "derived-6ND",
            },
        ]
    )


# --- rows -------------------------------------------------------------------------------


def test_select_one_run_per_family_and_no_self_derived_compute(runs):
    rows = DampedFrontierTrend().select(runs)
    front = rows[rows["role_frontier"]]
    assert "B small" not in set(front["model"])  # family b counted once, by its largest run
    assert "B" in set(front["model"])
    assert "H" in set(front["model"])  # undisclosed with an estimate
    # compute derived from 6ND of the same row is no evidence of an unknown size
    assert "I" not in set(rows["model"])
    # ratio rows: exact tokens and compute >= 1e24 (E is below, F is a bound)
    assert set(rows.loc[rows["role_ratio"], "model"]) == {"G"}


def test_graph_values_pad_segments_and_rows_to_blocks(runs):
    model = DampedFrontierTrend()
    values = model.graph_values(model.select(runs))
    assert len(values["seg_start"]) % BLOCK == 0
    real = values["seg_real"].astype(bool)
    # first data date, then each 1 January up to the data date's year
    assert values["seg_start"][real][0] == pytest.approx(runs["year"].min())
    assert list(values["seg_start"][real][1:]) == [2020.0, 2021.0, 2022.0, 2023.0, 2024.0, 2025.0]
    assert values["und_mask"].sum() == 1 and len(values["und_mask"]) == UNDISCLOSED_BLOCK
    assert values["cens_lower"].sum() == 1 and values["cens_upper"].sum() == 0
    # censored rows are stored as -log10(bound): the likelihood is P(-log10 D <= -log10 b)
    assert values["cens_value"][0] == pytest.approx(-np.log10(1.5e13))
    # padding touches nothing: zero overlap with every segment
    assert not values["und_overlap"][1:].any()
    assert not values["obs_overlap"][:, ~real].any()


def test_structure_is_shared_by_data_of_other_lengths(runs):
    model = DampedFrontierTrend()
    full = model.graph_values(model.select(runs))
    fewer = model.graph_values(model.select(runs[runs["model"] != "C"]))
    assert model.structure(full) == model.structure(fewer)
    # Censored rows are observations: dropping them all keeps the compiled graph.
    uncensored = runs.assign(tokens_bound="exact")
    assert model.structure(model.graph_values(model.select(uncensored))) == model.structure(full)


def test_too_few_runs_raise_a_data_error(runs):
    with pytest.raises(DataError, match="at least 6 models"):
        DampedFrontierTrend()._check_rows(DampedFrontierTrend().select(runs.head(4)))


# --- the ExGaussian in closed form ---------------------------------------------------------


@pytest.mark.parametrize("mu,sigma,nu", [(0.0, 0.1, 0.3), (-13.0, 0.25, 0.2), (1.0, 1.0, 2.0)])
def test_exgaussian_matches_scipy(mu, sigma, nu):
    x = mu + np.linspace(-3, 5, 17)
    ref = stats.exponnorm(nu / sigma, loc=mu, scale=sigma)
    np.testing.assert_allclose(exgaussian_logpdf(x, mu, sigma, nu), ref.logpdf(x), atol=1e-9)
    np.testing.assert_allclose(exgaussian_logcdf(x, mu, sigma, nu), ref.logcdf(x), atol=1e-7)
    np.testing.assert_allclose(exgaussian_logsf(x, mu, sigma, nu), ref.logsf(x), atol=1e-9)


# --- projections on a fake posterior -------------------------------------------------------


def _fake_fit(runs, *, mu=0.4, phi=0.5, sigma_eta=0.0, rate=None, n=400) -> dm.DemandFit:
    model = DampedFrontierTrend()
    rows = model.select(runs)
    values = model.graph_values(rows)
    starts = values["seg_start"][values["seg_real"].astype(bool)]
    rate = np.full(len(starts), mu) if rate is None else np.asarray(rate, dtype=float)
    shape = (2, n // 2)

    def const(v):
        return np.full(shape, float(v))

    posterior = {
        "long_run_rate": const(mu),
        "persistence": const(phi),
        "rate_innovation_sd": const(sigma_eta),
        "level_start": const(10.0),
        "gap_scale": const(0.3),
        "noise_sd": const(0.05),
        "rate": np.broadcast_to(rate, (*shape, len(rate))).copy(),
        "undisclosed_log10_tokens": np.full((*shape, 1), 13.5),
    }
    idata = az.from_dict(
        posterior=posterior,
        coords={"segment": starts, "undisclosed": [0]},
        dims={"rate": ["segment"], "undisclosed_log10_tokens": ["undisclosed"]},
    )
    return dm.DemandFit(
        model=model,
        idata=idata,
        rows=rows,
        scaling=model.prepare(rows)[1],
        sampler=dm.SamplerConfig(),
    )


def test_projection_without_innovations_is_the_straight_line(runs):
    fit = _fake_fit(runs, mu=0.4, sigma_eta=0.0)
    t_last = float(fit.rows.loc[fit.rows["role_frontier"], "year"].max())
    years = np.array([t_last, t_last + 1.0, t_last + 10.0])
    log10 = np.log10(fit.project(years, n_draws=50).to_numpy())
    level_now = 10.0 + 0.4 * (t_last - fit.rows["year"].min())
    np.testing.assert_allclose(log10, np.broadcast_to(level_now + 0.4 * (years - t_last), (50, 3)))


def test_projected_rate_reverts_to_the_long_run_rate(runs):
    # the last in-sample rate is 1.0 OOM/yr; mu = 0.2, phi = 0.5: the deviation halves yearly
    rate = np.full(7, 1.0)
    fit = _fake_fit(runs, mu=0.2, phi=0.5, rate=rate)
    model = fit.model
    growth = model.growth_draws(fit, [2025.4, 2026.5, 2027.5, 2040.0], n_draws=10)
    # data date 2025.16: steps on 1 January 2026, 2027, ..., 2039 (14 by 2040)
    np.testing.assert_allclose(growth[0], [1.0, 0.6, 0.4, 0.2 + 0.8 * 0.5**14])


def test_largest_run_never_shrinks(runs):
    # a negative long-run rate: the frontier state falls, the largest run stays put
    fit = _fake_fit(runs, mu=-0.3, phi=0.0, sigma_eta=0.1, rate=np.full(7, -0.3))
    years = np.linspace(2025.5, 2040, 30)
    values = fit.project(years, n_draws=200).to_numpy()
    assert np.all(np.diff(values, axis=1) >= 0)
    state, _ = fit.model.simulate(fit.model.draw_params(fit), years, np.random.default_rng(0))
    assert np.mean(state[:, -1] < state[:, 0]) > 0.9  # while the state itself falls


def test_innovations_widen_with_horizon_but_stay_bounded(runs):
    fit = _fake_fit(runs, mu=0.35, phi=0.8, sigma_eta=0.15)
    rate = fit.model.growth_draws(fit, [2027.0, 2040.0, 2090.0], n_draws=20_000, seed=1)
    sd = rate.std(axis=0)
    stationary = 0.15 / np.sqrt(1 - 0.8**2)
    assert sd[0] < sd[1]
    assert sd[2] == pytest.approx(stationary, rel=0.05)  # not growing without bound


def test_same_seed_same_projection(runs):
    fit = _fake_fit(runs, sigma_eta=0.2)
    a = fit.project([2026, 2030], n_draws=100, seed=5).to_numpy()
    b = fit.project([2026, 2030], n_draws=100, seed=5).to_numpy()
    np.testing.assert_array_equal(a, b)


def test_log_likelihood_uses_the_bound_for_censored_rows(runs):
    fit = _fake_fit(runs)
    loglik = fit.model.log_likelihood(fit)
    front = fit.rows[fit.rows["role_frontier"] & fit.rows["tokens"].notna()]
    assert loglik.shape == (400, len(front))
    i = list(front["model"]).index("F")
    f = fit.model._mean(fit.model.draw_params(fit), np.array([[front["year"].iloc[i]]]))[0, 0]
    want = stats.exponnorm(0.3 / 0.05, loc=-f, scale=0.05).logcdf(-np.log10(1.5e13))
    assert loglik[0, i] == pytest.approx(want, abs=1e-6)


def test_usage_lists_rows_bounds_and_undisclosed(runs):
    fit = _fake_fit(runs)
    used = fit.model.usage(fit)
    assert used["censored"] == [{"model": "F", "tokens": 1.5e13, "bound": "lower"}]
    assert [u["model"] for u in used["undisclosed"]] == ["H"]
    assert used["undisclosed"][0]["tokens_median"] == pytest.approx(10**13.5)
    assert used["ratio_rows"] == ["G"]
    assert {"p_rate_above_2_oom", "p_below_data_date"} <= set(used["prior_predictive"])


def test_prior_predictive_is_reproducible_and_bounded(runs):
    model = DampedFrontierTrend()
    a = model.prior_predictive_checks(runs, seed=3)
    assert a == model.prior_predictive_checks(runs, seed=3)
    assert 0 <= a["p_rate_above_2_oom"] < 0.02  # the priors rule out explosive growth
    assert 0.01 < a["p_below_data_date"] < 0.3  # but leave a stall possible


# --- the fit on the bundled data, and its place in scenarios ----------------------------------


def test_bundled_fit_reports_its_rows_and_undisclosed_runs(bundled_demand):
    """Demand v2, a compared model since 0.9 (the default is demand v3)."""
    fit = bundled_demand.fits["damped-trend"]
    assert "damped-trend" not in dm.DEFAULT_WEIGHTS
    used = fit.model.usage(fit)
    assert len(used["undisclosed"]) >= 15
    assert len(used["censored"]) >= 10
    growth = fit.model.growth_table(fit).set_index("at")
    assert 0.0 < growth.loc["long run", "oom_per_year"] < 1.0
    # forecast fit --json: rows used, censored rows, undisclosed runs' posterior tokens, health
    payload = {m["name"]: m for m in bundled_demand.to_json_dict()}
    v2 = payload["damped-trend"]
    assert v2["rows"] == len(v2["rows_used"]) == int(fit.rows["role_frontier"].sum())
    assert {"model", "tokens", "bound"} == set(v2["censored"][0])
    gpt45 = next(u for u in v2["undisclosed"] if u["model"] == "GPT-4.5")
    assert 1e12 < gpt45["tokens_p10"] < gpt45["tokens_median"] < gpt45["tokens_p90"] < 1e15
    assert isinstance(v2["healthy"], bool)
    assert payload["frontier"]["undisclosed"] == []
    json.dumps(list(payload.values()), allow_nan=False)


def test_scenarios_start_at_the_data_date(bundled_demand):
    from forecast.pipeline import run_scenario

    result = run_scenario("baseline", bundled_demand, draws=500, seed=1)
    assert result.scenario.start == pytest.approx(
        float(bundled_demand.models["year"].max()), abs=1e-3
    )
    assert load_scenario("baseline").start == "data"
    assert load_scenario("epoch2024").start == 2024.0  # a reproduction keeps its date


def test_overtraining_is_refused_for_token_trends():
    base = load_scenario("baseline").with_overrides(**{"demand.model": "damped-trend"})
    with pytest.raises(ScenarioError, match="needs compute-based demand"):
        base.with_overrides(**{"demand.overtraining": 5.0})
    ok = base.with_overrides(**{"demand.model": "compute", "demand.overtraining": 5.0})
    assert ok.demand.overtraining == 5.0
    v3 = load_scenario("baseline").with_overrides(**{"demand.overtraining": 5.0})
    assert v3.demand.overtraining == 5.0  # the default (demand v3) is compute-based
