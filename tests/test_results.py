"""forecast.results: one set of default levels and one display/serialisation contract
(summary, to_dict/from_dict, _repr_html_) shared by every results object."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ForecastError
from forecast.exhaustion import QUANTILE_LEVELS, exhaustion
from forecast.pipeline import DemandSet
from forecast.results import DEFAULT_LEVELS, Result, check_levels, interval_names, quantile_levels


def test_levels_and_their_names():
    assert DEFAULT_LEVELS == (0.8, 0.95)
    assert interval_names(0.8) == ("p10", "p90")
    assert interval_names(0.95) == ("p2_5", "p97_5")
    assert interval_names(0.9) == ("p5", "p95")
    assert interval_names(0.5) == ("p25", "p75")
    assert quantile_levels() == QUANTILE_LEVELS
    assert list(QUANTILE_LEVELS) == ["median", "p10", "p90", "p2_5", "p97_5"]
    assert quantile_levels((0.5,)) == {"median": 0.5, "p25": 0.25, "p75": 0.75}
    for bad in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ForecastError, match="between 0 and 1"):
            check_levels(bad)


def _exhaustion():
    y = np.arange(2025.0, 2040.0)
    rng = np.random.default_rng(0)
    d = 10 ** (13 + 0.4 * (y - 2025))[None, :] * np.exp(rng.normal(0, 1, (400, 1)))
    return exhaustion(y, d, np.full((400, y.size), 1e17))


def _same(a, b) -> None:
    """Equal values, tables (dtypes aside from object/number) and arrays (NaN = NaN)."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, Result) and dataclasses.is_dataclass(a):
        assert type(a) is type(b)
        for f in dataclasses.fields(a):
            if f.init:
                _same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def _check(result: Result, title: str) -> None:
    assert isinstance(result, Result)
    summary = result.summary()
    assert isinstance(summary, pd.DataFrame) and len(summary)
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    if not isinstance(result, DemandSet):  # its exact form is save()/load_demand()
        back = type(result).from_dict(payload)
        _same(back, result)
        pd.testing.assert_frame_equal(back.summary(), summary)
        if hasattr(result, "to_json_dict"):
            assert json.dumps(back.to_json_dict(), default=str) == json.dumps(
                result.to_json_dict(), default=str
            )
        with pytest.raises(ForecastError, match="not a "):
            type(result).from_dict({"format": "forecast.Other", "fields": {}})
    page = result._repr_html_()
    assert title in page and "<table" in page


def test_exhaustion_summary_at_any_levels():
    r = _exhaustion()
    s = r.summary(levels=(0.5, 0.9)).set_index("statistic")
    assert {"median", "p25", "p75", "p5", "p95"} <= set(s.index)
    assert s.loc["p5", "value"] <= s.loc["p25", "value"] <= s.loc["median", "value"]
    assert s.loc["p95", "note"].startswith("90% interval")
    assert r.quantiles((0.9,))["p5"] == pytest.approx(r.quantile(0.05))
    default = r.summary().set_index("statistic")
    assert {"p10", "p90", "p2_5", "p97_5"} <= set(default.index)
    assert pd.api.types.is_float_dtype(default["value"])
    _check(r, "ExhaustionResult")


def test_collapse_results_share_the_contract():
    from forecast.collapse.simulator import simulate
    from forecast.collapse.theory import simulate_linear_regression

    c = simulate(generations=4, n_chains=20, vocab_chains=4)
    _check(c, "CollapseResult")
    assert c.summary()["regime"].tolist()[:3] == ["replace", "accumulate", "mix"]
    _check(simulate_linear_regression(generations=3, n_chains=20), "LinearCollapseResult")


def test_scenario_result_to_dict_from_dict_is_exact(scenario_results):
    from forecast.pipeline import ScenarioResult

    result = scenario_results[0]
    back = ScenarioResult.from_dict(json.loads(json.dumps(result.to_dict())))
    np.testing.assert_array_equal(
        back.exhaustion.exhaustion_year, result.exhaustion.exhaustion_year
    )
    pd.testing.assert_frame_equal(back.stock_bands, result.stock_bands)
    assert back.to_json_dict() == result.to_json_dict()
    with pytest.raises(ForecastError, match="not a"):
        ScenarioResult.from_dict({"format": "something else"})
    _check(result, f"ScenarioResult: {result.name}")
    summary = result.summary().set_index("statistic")
    assert pd.api.types.is_float_dtype(summary["value"])
    assert summary.loc["median", "value"] == pytest.approx(result.exhaustion.quantile(0.5))
    assert summary.loc["demand_growth_per_year_median", "unit"] == "x/year"
    halves = result.summary(levels=(0.5,)).set_index("statistic")
    assert halves.loc["p25", "value"] == pytest.approx(result.exhaustion.quantile(0.25))
    assert "p10" not in halves.index
    assert "exhaustion year, median" in repr(result)  # the short text table stays for repr


def test_demand_set_and_studies_share_the_contract(bundled_demand):
    from forecast.evaluation.skill import evaluate

    _check(bundled_demand, "DemandSet")
    assert list(bundled_demand.to_dict()) == ["fits"]
    study = evaluate(bundled_demand.models, methods=("ols", "naive"), seed=1)
    _check(study, "SkillStudy")


def test_remedy_study_and_backtest_round_trip(bundled_demand):
    from forecast.evaluation.backtest import backtest
    from forecast.studies.remedies import what_remedies_buy

    study = what_remedies_buy(bundled_demand, draws=400, seed=1)
    _check(study, "RemedyStudy")
    back = type(study).from_dict(json.loads(json.dumps(study.to_dict())))
    assert [r.name for r in back.results] == [r.name for r in study.results]
    result = backtest(
        bundled_demand.models, "2023-01-01", methods=("ols", "epoch-bootstrap"), n_draws=200
    )
    _check(result, "Backtest at cutoff")


# --- honest precision (issue 37) ---------------------------------------------------------


def test_supported_decimals_and_error_text():
    from forecast.results import mc_error_text, supported_decimals

    # floor(-log10(2 se)), clipped to [0, 2]: half a unit of the last digit >= se
    assert supported_decimals(0.001) == 2
    assert supported_decimals(0.01) == 1
    assert supported_decimals(0.04) == 1
    assert supported_decimals(0.06) == 0
    assert supported_decimals(3.0) == 0
    for unknown in (None, float("nan"), float("inf"), 0.0):
        assert supported_decimals(unknown) == 1
    assert mc_error_text(0.0123) == "0.01" and mc_error_text(0.0004) == "<0.001"


def test_year_with_error_and_start_note(scenario_results):
    import types

    from forecast.results import mc_error_text, start_note, supported_decimals, year_with_error

    main = scenario_results[0]
    se = main.mc_error["median"]
    median = main.exhaustion.quantile(0.5)
    assert year_with_error(main) == (
        f"{median:.{supported_decimals(se)}f} (Monte Carlo error ±{mc_error_text(se)} years)"
    )
    assert year_with_error(main, "p10", error=False) == (
        f"{main.exhaustion.quantile(0.1):.{supported_decimals(main.mc_error['p10'])}f}"
    )
    unestimated = dataclasses.replace(main, mc_error={})
    assert year_with_error(unestimated) == f"{median:.1f}"

    def at_start(share: float):
        ex = types.SimpleNamespace(already_exhausted_share=share)
        return start_note(dataclasses.replace(main, exhaustion=ex))

    assert at_start(0.02) == ""
    assert at_start(0.03) == (
        f"The 95% interval starts at the data date {main.data_date}: 3.0% of the draws have "
        "demand at or above the stock already."
    )
    assert at_start(0.15).startswith("The 80% and 95% intervals start at the data date")
    assert at_start(0.6).startswith("The median and both intervals start")
    # a scenario with its own start: not the data date
    own = dataclasses.replace(main, scenario=dataclasses.replace(main.scenario, start=2025.0))
    ex = types.SimpleNamespace(already_exhausted_share=0.05)
    assert "the start of the projection (2025.00)" in start_note(
        dataclasses.replace(own, exhaustion=ex)
    )
