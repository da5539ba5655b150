"""The analyst's workflow (issue 18): renaming on overrides, batch runs, your own stock,
saving and loading results and demand sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast.errors import DataError, ForecastError, ScenarioError
from forecast.pipeline import load_demand, load_result, run_scenario, run_scenarios
from forecast.scenarios import load_scenario, override_name
from forecast.stock.models import Epoch2024Stock

DRAWS = 1500


# ------------------------------------------------------------------ names


def test_override_name():
    assert override_name("baseline", {}) == "baseline"
    assert override_name("baseline", {"draws": 5, "seed": 1}) == "baseline"
    assert (
        override_name("baseline", {"demand.overtraining": 10, "stock.repetition": "flat"})
        == "baseline [demand.overtraining=10, stock.repetition='flat']"
    )


def test_overrides_rename_unless_a_name_is_given(bundled_demand):
    renamed = run_scenario(
        "baseline", bundled_demand, draws=DRAWS, **{"stock.quality_fraction": 0.3}
    )
    assert renamed.name == "baseline [stock.quality_fraction=0.3]"
    named = run_scenario(
        "baseline", bundled_demand, draws=DRAWS, name="q30", **{"stock.quality_fraction": 0.3}
    )
    assert named.name == "q30"
    np.testing.assert_array_equal(
        named.exhaustion.exhaustion_year, renamed.exhaustion.exhaustion_year
    )
    assert run_scenario("baseline", bundled_demand, draws=DRAWS, seed=4).name == "baseline"


def test_bare_lever_name_suggests_the_dotted_one(bundled_demand):
    with pytest.raises(ScenarioError, match=r"did you mean 'demand\.overtraining'"):
        run_scenario("baseline", bundled_demand, draws=DRAWS, overtraining=10)
    with pytest.raises(ScenarioError, match=r"did you mean 'stock\.epochs'"):
        load_scenario("baseline").with_overrides(epochs=3)


# ------------------------------------------------------------------ batch


def test_run_scenarios_matches_one_by_one_and_threads(bundled_demand):
    items = ["baseline", ("baseline", {"stock.repetition": "flat"}), "contaminated-web"]
    one = run_scenarios(items, bundled_demand, draws=DRAWS, seed=2)
    two = run_scenarios(items, bundled_demand, draws=DRAWS, seed=2, workers=2)
    assert [r.name for r in one] == [
        "baseline",
        "baseline [stock.repetition='flat']",
        "contaminated-web",
    ]
    single = run_scenario("contaminated-web", bundled_demand, draws=DRAWS, seed=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a.exhaustion.exhaustion_year, b.exhaustion.exhaustion_year)
    np.testing.assert_array_equal(
        one[2].exhaustion.exhaustion_year, single.exhaustion.exhaustion_year
    )
    messages: list[str] = []
    named = run_scenarios(
        [("baseline", {"name": "mine", "demand.overtraining_from": 2026.0})],
        bundled_demand,
        draws=DRAWS,
        progress=messages.append,
    )
    assert named[0].name == "mine"
    assert messages == ["Monte Carlo error: 8 posterior batches per scenario", "scenario 1/1: mine"]
    # The Monte Carlo error is as reproducible as the numbers it qualifies.
    assert one[2].mc_error == single.mc_error == two[2].mc_error
    assert one[2].mc_error["batches"] == 8


def test_scenarios_that_differ_in_stock_share_demand_draws(bundled_demand, monkeypatch):
    """simulate_exhaustions: the same numbers as one run each, and the demand drawn once
    per chunk for the scenarios whose demand draws are the same."""
    import forecast.pipeline as pipeline

    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 1000)  # three chunks of 2,500 draws
    base = load_scenario("baseline").with_overrides(draws=2500, seed=3)
    runs = [
        base,
        base.with_overrides(**{"stock.quality_fraction": 0.3}),
        load_scenario("contaminated-web").with_overrides(draws=2500, seed=3),
        base.with_overrides(**{"demand.model": "frontier"}),  # other demand
        base.with_overrides(seed=4),  # other draws
    ]
    alone = [pipeline.simulate_exhaustion(sc, bundled_demand) for sc in runs]
    calls = []
    projector = pipeline.demand_projector

    def counting(scenario, demand):
        inner = projector(scenario, demand)
        return pipeline.ScenarioDemand(
            inner.name,
            lambda y, n, s: calls.append(scenario.demand.model) or inner.with_compute(y, n, s),
        )

    monkeypatch.setattr(pipeline, "demand_projector", counting)
    messages: list[str] = []
    together = pipeline.simulate_exhaustions(runs, bundled_demand, progress=messages.append)
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a.exhaustion_year, b.exhaustion_year)
        np.testing.assert_array_equal(a.stock_at_crossing, b.stock_at_crossing)
    # three groups of three chunks: the first three scenarios share one demand draw
    assert sorted(calls) == ["default"] * 6 + ["frontier"] * 3
    assert messages == ["3 scenarios share demand 'default': 2,500 joint draws each"]
    threaded = pipeline.simulate_exhaustions(runs, bundled_demand, workers=2)
    for a, b in zip(alone, threaded, strict=True):
        np.testing.assert_array_equal(a.exhaustion_year, b.exhaustion_year)
    with pytest.raises(ForecastError, match="1 stocks for 5 scenarios"):
        pipeline.simulate_exhaustions(runs, bundled_demand, [None])
    with pytest.raises(ForecastError, match="workers must be a positive integer"):
        pipeline.simulate_exhaustions(runs, bundled_demand, workers=0)


@pytest.mark.parametrize(
    ("items", "kwargs", "match"),
    [
        ([("baseline",)], {}, "pair"),
        ([("baseline", 3)], {}, "pair"),
        (["baseline"], {"workers": 0}, "workers must be a positive integer"),
    ],
)
def test_run_scenarios_rejects_bad_items(bundled_demand, items, kwargs, match):
    with pytest.raises(ForecastError, match=match):
        run_scenarios(items, bundled_demand, draws=DRAWS, **kwargs)


# ------------------------------------------------------------------ your own stock


def test_own_stock_model(bundled_demand):
    mine = Epoch2024Stock(repetition="muennighoff", epochs=4)
    result = run_scenario("baseline", bundled_demand, draws=DRAWS, stock=mine)
    base = run_scenario("baseline", bundled_demand, draws=DRAWS)
    assert result.name == "baseline [stock='Epoch2024Stock']"
    # The baseline's own levers, given as an object: the same numbers.
    np.testing.assert_array_equal(
        result.exhaustion.exhaustion_year, base.exhaustion.exhaustion_year
    )
    with pytest.raises(ForecastError, match="stock must be a stock model"):
        run_scenario("baseline", bundled_demand, draws=DRAWS, stock=42)


def _copy_table(tmp_path, change=None):
    from forecast.data import bundled_path

    frame = pd.read_csv(bundled_path("stock_estimates.csv"), dtype=str, keep_default_na=False)
    if change:
        change(frame)
    path = tmp_path / "my_estimates.csv"
    frame.to_csv(path, index=False)
    return path


def test_own_estimates_table_in_python_and_toml(tmp_path, bundled_demand):
    def halve_pages(frame):
        row = frame["parameter"] == "indexed_pages"
        frame.loc[row, "low"] = str(float(frame.loc[row, "low"].iloc[0]) / 2)
        frame.loc[row, "high"] = str(float(frame.loc[row, "high"].iloc[0]) / 2)

    path = _copy_table(tmp_path, halve_pages)
    smaller = run_scenario("baseline", bundled_demand, draws=DRAWS, stock=path)
    base = run_scenario("baseline", bundled_demand, draws=DRAWS)
    assert smaller.scenario.stock.estimates == str(path.resolve())
    assert "stock.estimates" in smaller.name
    assert smaller.exhaustion.quantile(0.5) < base.exhaustion.quantile(0.5)
    # The same table from a TOML file, named relative to the file.
    toml = tmp_path / "mine.toml"
    toml.write_text(
        'name = "mine"\nextends = "baseline"\n[stock]\nestimates = "my_estimates.csv"\n'
    )
    scenario = load_scenario(toml)
    assert scenario.stock.estimates == str(path.resolve())
    from_toml = run_scenario(scenario, bundled_demand, draws=DRAWS)
    np.testing.assert_array_equal(
        from_toml.exhaustion.exhaustion_year, smaller.exhaustion.exhaustion_year
    )


def test_bad_estimates_table_names_row_and_column(tmp_path):
    def break_cell(frame):
        frame.loc[frame["parameter"] == "bytes_per_page", "high"] = "lots"

    _copy_table(tmp_path, break_cell)
    toml = tmp_path / "bad.toml"
    toml.write_text('name = "bad"\n[stock]\nestimates = "my_estimates.csv"\n')
    with pytest.raises(DataError) as info:
        load_scenario(toml)
    text = str(info.value)
    assert "my_estimates.csv" in text and "row 3" in text and "'high'" in text


# ------------------------------------------------------------------ save and load


def test_result_round_trip(tmp_path, bundled_demand):
    result = run_scenario("contaminated-web", bundled_demand, draws=DRAWS, seed=5)
    back = forecast.ScenarioResult.from_json(result.to_json())
    assert back.scenario == result.scenario
    np.testing.assert_array_equal(
        back.exhaustion.exhaustion_year, result.exhaustion.exhaustion_year
    )
    np.testing.assert_array_equal(back.demand_growth_oom, result.demand_growth_oom)
    pd.testing.assert_frame_equal(forecast.compare(back), forecast.compare(result))
    pd.testing.assert_frame_equal(back.stock_bands, result.stock_bands.reset_index(drop=True))
    assert back.to_json_dict() == result.to_json_dict()
    path = result.save(tmp_path / "r.json")
    assert load_result(path).name == "contaminated-web"
    with pytest.raises(ForecastError, match="exists; pass overwrite=True"):
        result.save(path)
    result.save(path, overwrite=True)
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ForecastError, match=r"not a forecast\.ScenarioResult file"):
        load_result(tmp_path / "other.json")


def test_demand_set_round_trip(tmp_path, bundled_demand):
    path = bundled_demand.save(tmp_path / "demand")
    loaded = load_demand(path)
    assert list(loaded.fits) == list(bundled_demand.fits)
    pd.testing.assert_frame_equal(loaded.weights(), bundled_demand.weights())
    a = run_scenario("baseline", bundled_demand, draws=DRAWS, seed=1)
    b = run_scenario("baseline", loaded, draws=DRAWS, seed=1)
    np.testing.assert_array_equal(a.exhaustion.exhaustion_year, b.exhaustion.exhaustion_year)
    with pytest.raises(ForecastError, match="exists; pass overwrite=True"):
        bundled_demand.save(path)
    bundled_demand.save(path, overwrite=True)
    stranger = tmp_path / "not_mine"
    stranger.mkdir()
    (stranger / "keep.txt").write_text("user data")
    with pytest.raises(ForecastError, match="not written by forecast"):
        bundled_demand.save(stranger, overwrite=True)
    assert (stranger / "keep.txt").read_text() == "user data"
