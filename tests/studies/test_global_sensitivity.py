"""Global sensitivity (forecast.studies.global_sensitivity): the levers' distributions,
the exhaustion evaluator on common random numbers (against run_scenario), the Ishigami
function's known indices through the same Dask path, and numbers that do not depend on
the number of workers or the size of the blocks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ForecastError
from forecast.pipeline import run_scenario
from forecast.studies.global_sensitivity import (
    DEFAULT_GLOBAL_LEVERS,
    ExhaustionEvaluator,
    GlobalLever,
    GlobalSensitivity,
    Option,
    global_sensitivity,
    ishigami,
    sobol_design,
    sobol_indices,
)
from tests.conftest import dask_client

LEVERS = {lv.name: lv for lv in DEFAULT_GLOBAL_LEVERS}


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster of two worker processes (one thread each)."""
    with dask_client(workers=2, processes=True) as c:
        yield c


@pytest.fixture(scope="module")
def in_process_client():
    """One worker thread in this process."""
    with dask_client() as c:
        yield c


def _row(**chosen) -> list[float]:
    """Lever values of one setting: every default lever at its first option or median,
    ``chosen`` ones (by name, with _ for spaces) at the value (or option label) given."""
    row = []
    for lv in DEFAULT_GLOBAL_LEVERS:
        key = lv.name.replace(" ", "_")
        if key not in chosen:
            row.append(0.0 if lv.kind == "choice" else float(lv.value(0.5)))
        elif lv.kind == "choice":
            labels = [o.label for o in lv.options]
            row.append(
                float(next(i for i, lab in enumerate(labels) if lab.startswith(chosen[key])))
            )
        else:
            row.append(float(chosen[key]))
    return row


# --- levers -----------------------------------------------------------------------------


def test_choice_options_get_their_weights():
    lever = GlobalLever(
        "x",
        "choice",
        options=(Option("a", {}, 1.0), Option("b", {}, 3.0), Option("c", {}, 4.0)),
    )
    u = (np.arange(80_000) + 0.5) / 80_000
    counts = np.bincount(lever.value(u).astype(int), minlength=3) / u.size
    np.testing.assert_allclose(counts, [1 / 8, 3 / 8, 4 / 8])
    assert lever.value([0.0, 1.0]).tolist() == [0.0, 2.0]
    assert lever.describe() == "a 12%, b 38%, c 50%"


def test_continuous_levers_have_their_stated_ranges():
    quality = LEVERS["quality fraction"]
    np.testing.assert_allclose(quality.value([0.025, 0.5, 0.975]), [0.1, 0.2, 0.4], rtol=1e-9)
    epochs = LEVERS["repetition epochs"]
    np.testing.assert_allclose(epochs.value([0.0, 0.5, 1.0]), [1.0, 4.0, 16.0])
    assert epochs.overrides(4.0) == {"stock.repetition": "muennighoff", "stock.epochs": 4.0}
    assert LEVERS["quality fraction"].value(1.0) == 1.0  # clipped to its bounds
    assert "log-uniform on [1, 16]" == epochs.describe()


def test_stock_growth_range_is_the_epoch_models_own():
    """ln g = ln(pages growth) + ln(bytes per page growth), both normal: the lever's
    lognormal 95% [1.029, 1.134] is their sum's, to the 3 decimals it states."""
    from forecast.stock.estimates import _z, cached_stock_estimates, parameter_spec

    table = cached_stock_estimates()
    mu, var = 0.0, 0.0
    for row in ("pages_growth", "bytes_per_page_growth"):
        spec = parameter_spec(table, row)
        mu += 0.5 * (math.log(spec.low) + math.log(spec.high))
        var += ((math.log(spec.high) - math.log(spec.low)) / (2 * _z(spec.interval))) ** 2
    z = _z(0.95)
    lever = LEVERS["stock growth"]
    assert lever.interval == 0.95
    assert round(math.exp(mu - z * math.sqrt(var)), 3) == lever.low
    assert round(math.exp(mu + z * math.sqrt(var)), 3) == lever.high


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "normal", "key": "a"}, "kind must be one of"),
        ({"kind": "uniform", "low": 2.0, "high": 1.0, "key": "a"}, "need low < high"),
        ({"kind": "uniform", "low": 0.0, "high": 1.0}, "needs the dotted key"),
        ({"kind": "loguniform", "low": 0.0, "high": 1.0, "key": "a"}, "must be positive"),
        ({"kind": "lognormal", "low": 1.0, "high": 2.0, "key": "a"}, "0 < interval < 1"),
        ({"kind": "choice", "options": (Option("a", {}),)}, "two or more options"),
        ({"kind": "choice", "options": (Option("a", {}), Option("b", {}, 0.0))}, "positive"),
    ],
)
def test_bad_levers_are_refused(kwargs, match):
    with pytest.raises(ForecastError, match=match):
        GlobalLever("x", **kwargs)


def test_design_is_saltellis_and_seeded():
    levers, _ = ishigami()
    a = sobol_design(levers, 8, seed=3)
    assert a.shape == (8 * 5, 3)
    np.testing.assert_array_equal(a, sobol_design(levers, 8, seed=3))
    assert not np.array_equal(a, sobol_design(levers, 8, seed=4))
    groups = a.reshape(8, 5, 3)  # per base row: A, AB_1, AB_2, AB_3, B
    for j in range(3):
        changed = groups[:, 1 + j] != groups[:, 0]
        assert changed[:, j].all() and not np.delete(changed, j, axis=1).any()
        np.testing.assert_array_equal(groups[:, 1 + j, j], groups[:, 4, j])
    with pytest.raises(ForecastError, match="power of two"):
        sobol_design(levers, 12)


# --- the evaluator ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluator(bundled_demand):
    return ExhaustionEvaluator("baseline", bundled_demand, DEFAULT_GLOBAL_LEVERS, 400, seed=2)


def test_settings_become_scenario_overrides(evaluator):
    s = evaluator.setting(
        _row(
            compute_growth="0.7",
            tokens_per_parameter="Chinchilla",
            feasibility_ceiling="off",
            investment_winter="a stall",
            quality_fraction=0.3,
            consent_restriction="on",
        )
    )
    assert s.demand.model == "default" and s.demand.compute_growth == 0.7
    assert s.demand.tokens_per_parameter == "chinchilla" and s.demand.feasibility == "none"
    assert s.demand.stall_probability == 1.0
    assert s.stock.quality_fraction == 0.3 and s.stock.repetition == "muennighoff"
    assert s.stock.consent_restriction is True and s.stock.contamination is False
    # the first option of each demand lever is the baseline's own demand
    assert evaluator.setting(_row()).demand == evaluator.scenario.demand
    assert all(not lv.when for lv in DEFAULT_GLOBAL_LEVERS)


def test_common_random_numbers(evaluator):
    """Two settings that differ in a stock lever share the demand draws; two that differ
    in a demand lever share the stock draws; the same setting gives the same numbers."""
    base = _row()
    low_quality = _row(quality_fraction=0.1)
    a, b = evaluator.setting(base), evaluator.setting(low_quality)
    assert evaluator.demand_draws(a) is evaluator.demand_draws(b)
    ratio = evaluator.stock_draws(b) / evaluator.stock_draws(a)
    np.testing.assert_allclose(ratio, 0.1 / 0.2, rtol=1e-9)  # only the quality moved
    c = evaluator.setting(_row(tokens_per_parameter="recent"))
    assert evaluator.stock_draws(c) is evaluator.stock_draws(a)
    fresh = ExhaustionEvaluator("baseline", evaluator.demand, DEFAULT_GLOBAL_LEVERS, 400, seed=2)
    values = np.array([base, low_quality, _row(tokens_per_parameter="recent")])
    np.testing.assert_array_equal(evaluator(values), fresh(values))
    other = ExhaustionEvaluator("baseline", evaluator.demand, DEFAULT_GLOBAL_LEVERS, 400, seed=3)
    assert not np.array_equal(evaluator(values), other(values))


def test_outputs_are_the_results_numbers(evaluator):
    result = evaluator.exhaustion(_row(compute_growth="0.35"))
    median, p_by, width = evaluator.outputs_of(result)
    h = result.horizon
    assert median == pytest.approx(np.nan_to_num(result.quantile(0.5), nan=h))
    assert p_by == pytest.approx(result.prob_exhausted_by(2030))
    p90 = np.nan_to_num(result.quantile(0.9), nan=h)
    assert width == pytest.approx(p90 - result.quantile(0.1))
    assert evaluator.outputs == ("median", "p_by_2030", "width80")


@pytest.mark.parametrize(
    "chosen",
    [
        {"compute_growth": "fitted", "quality_fraction": 0.15, "consent_restriction": "on"},
        {
            "tokens_per_parameter": "Chinchilla",
            "feasibility_ceiling": "off",
            "repetition_epochs": 10.0,
            "AI_contamination": "on",
            "data_isolation": "on",
            "synthetic_data": "on",
            "stock_growth": 1.05,
        },
    ],
)
def test_a_setting_agrees_with_run_scenario(bundled_demand, chosen):
    """The yearly grid on common draws gives run_scenario's numbers (monthly grid, its own
    draws) within Monte Carlo error."""
    n = 20_000
    ev = ExhaustionEvaluator("baseline", bundled_demand, DEFAULT_GLOBAL_LEVERS, n, seed=4)
    row = _row(**chosen)
    fast = ev.exhaustion(row)
    full = run_scenario(ev.setting(row), bundled_demand, draws=n, seed=11).exhaustion
    se = math.hypot(fast.quantile_mc_se(0.5), full.quantile_mc_se(0.5))
    assert abs(fast.quantile(0.5) - full.quantile(0.5)) < 4 * se + 0.05
    p, q = fast.prob_exhausted_by(2030), full.prob_exhausted_by(2030)
    assert abs(p - q) < 4 * math.sqrt(2 * max(p * (1 - p), 1e-4) / n) + 0.005


def test_missing_fit_and_bad_by_year_are_named(bundled_demand):
    from forecast.pipeline import DemandSet

    fits = {k: v for k, v in bundled_demand.fits.items() if k != "frontier"}
    partial = DemandSet(
        bundled_demand.models,
        fits,
        bundled_demand.comparison,
        bundled_demand.average,
        bundled_demand.epoch_bootstrap,
    )
    frontier = GlobalLever(
        "token trend",
        "choice",
        options=(Option("v3", {}), Option("frontier", {"demand.model": "frontier"})),
    )
    ev = ExhaustionEvaluator("baseline", partial, (frontier, LEVERS["quality fraction"]), 200)
    with pytest.raises(ForecastError, match="'token trend' at frontier needs"):
        ev.check()
    with pytest.raises(ForecastError, match="by_year 2200"):
        ExhaustionEvaluator("baseline", bundled_demand, DEFAULT_GLOBAL_LEVERS, 200, by_year=2200)
    with pytest.raises(ForecastError, match="unknown lever 'nope'"):
        global_sensitivity("baseline", bundled_demand, ["nope", "feasibility ceiling"], n=4)


# --- through Dask -------------------------------------------------------------------------


def test_ishigami_indices_are_recovered(client):
    """The same design, Dask evaluation and estimators recover the Ishigami function's
    analytic indices (S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244)."""
    levers, function = ishigami()
    result = sobol_indices(levers, function, n=8192, seed=1, client=client, base_rows_per_block=256)
    got = result.indices.set_index("lever")
    exact = function.analytic().set_index("lever")
    for index in ("S1", "ST"):
        error = (got[index] - exact[index]).abs()
        assert (error < 0.03).all(), (index, got[index].to_dict())
        half = (got[f"{index}_high"] - got[f"{index}_low"]) / 2
        assert (error <= 1.5 * half).all(), (index, half.to_dict())
        assert (half < 0.04).all()
    assert result.ranking() == ["x1", "x2", "x3"]
    inter = result.interactions.iloc[0]
    assert inter["interactions"] == pytest.approx(exact["ST"]["x3"], abs=0.04)  # V13 / V


def test_numbers_do_not_depend_on_the_workers(client, in_process_client, bundled_demand):
    """Two worker processes, one in-process worker, another block size and a plain loop in
    this process: identical outputs and indices."""
    from distributed import get_task_stream

    kwargs = {"n": 8, "draws": 200, "seed": 5, "resamples": 50}
    with get_task_stream(client) as stream:
        two = global_sensitivity(
            "baseline", bundled_demand, client=client, base_rows_per_block=1, **kwargs
        )
    assert len({task["worker"] for task in stream.data}) == 2  # both workers had blocks
    one = global_sensitivity("baseline", bundled_demand, client=in_process_client, **kwargs)
    ev = ExhaustionEvaluator("baseline", bundled_demand, DEFAULT_GLOBAL_LEVERS, 200, seed=5)
    loop = ev(sobol_design(DEFAULT_GLOBAL_LEVERS, 8, seed=5))
    np.testing.assert_array_equal(two.values, loop)
    np.testing.assert_array_equal(one.values, loop)
    pd.testing.assert_frame_equal(two.indices, one.indices)
    pd.testing.assert_frame_equal(two.interactions, one.interactions)
    assert two.settings["rows_per_block"] != one.settings["rows_per_block"]


@pytest.fixture(scope="module")
def small(client, bundled_demand) -> GlobalSensitivity:
    return global_sensitivity(
        "baseline", bundled_demand, n=64, draws=300, seed=1, resamples=200, client=client
    )


def test_result_tables_and_json(small):
    ind = small.indices
    assert list(ind.columns) == [
        "output",
        "lever",
        "S1",
        "S1_low",
        "S1_high",
        "ST",
        "ST_low",
        "ST_high",
    ]
    assert len(ind) == 3 * len(DEFAULT_GLOBAL_LEVERS)
    for output, rows in ind.groupby("output", sort=False):
        assert rows["ST"].is_monotonic_decreasing, output
        assert (rows["ST_low"] <= rows["ST"]).all() and (rows["ST"] <= rows["ST_high"]).all()
    assert small.values.shape == (64 * (len(DEFAULT_GLOBAL_LEVERS) + 2), 3)
    payload = json.loads(json.dumps(small.to_json_dict(), allow_nan=False))
    assert set(payload["outputs"]) == {"median", "p_by_2030", "width80"}
    for output in payload["outputs"].values():
        assert set(output["levers"]) == set(LEVERS)
        for lever in output["levers"].values():
            assert set(lever) == {"S1", "S1_interval", "ST", "ST_interval"}
        assert output["interactions"] == pytest.approx(1 - output["sum_S1"])
    assert payload["settings"]["n_base"] == 64 and payload["settings"]["draws"] == 300
    assert [lv["lever"] for lv in payload["levers"]] == list(LEVERS)
    assert "compute growth" in repr(small) and "interactions (1 - sum S1)" in repr(small)


def test_result_round_trips_exactly(small):
    back = GlobalSensitivity.from_dict(json.loads(json.dumps(small.to_dict())))
    pd.testing.assert_frame_equal(back.indices, small.indices)
    pd.testing.assert_frame_equal(back.interactions, small.interactions)
    np.testing.assert_array_equal(back.values, small.values)
    assert back.settings == small.settings


def test_a_lever_that_does_nothing_has_zero_total_index(client, in_process_client, bundled_demand):
    """A lever whose options are the same scenario moves nothing: ST = S1 = 0 exactly
    (the estimators see identical rows); a constant output gives NaN, not a number."""
    idle = GlobalLever(
        "idle", "choice", options=(Option("a", {}), Option("b", {"stock.isolation": False}))
    )
    result = global_sensitivity(
        "baseline",
        bundled_demand,
        [idle, "quality fraction", "repetition epochs"],
        n=16,
        draws=200,
        client=client,
    )
    rows = result.indices[result.indices["lever"] == "idle"]
    assert (rows["ST"] == 0).all() and (rows["S1"] == 0).all()
    levers, _ = ishigami()
    constant = sobol_indices(levers, _Constant(), n=8, client=in_process_client)
    assert constant.indices["ST"].isna().all()
    assert math.isnan(constant.interactions["interactions"].iloc[0])


class _Constant:
    outputs = ("y",)

    def __call__(self, values):
        return np.ones((len(values), 1))
