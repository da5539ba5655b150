"""forecast.registry: one place for every named demand and stock model; every list of
names elsewhere is derived from it, and every projection satisfies ``Projector``."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast import demand, registry, scenarios
from forecast.demand.trends import FrontierTrend
from forecast.evaluation import backtest, skill


def test_fitted_entries_match_their_classes():
    fitted = [e for e in registry.DEMAND.values() if e.kind == "fit"]
    assert sorted(e.fit_order for e in fitted) == list(range(len(fitted)))
    for entry in fitted:
        cls = entry.load_class()
        assert cls.name == entry.name
        # compute-based: fitted to compute, or tokens built from compute (demand v3)
        assert (cls.value_column != "tokens" or cls.tokens_per_value_oom != 1.0) == entry.compute
    for name, entry in registry.STOCK.items():
        assert registry.stock_class(name).name == name == entry.name
    for entry in registry.DEMAND.values():
        assert entry.label and entry.kind in ("fit", "combination", "published", "baseline")
    with pytest.raises(TypeError, match="not a fitted model class"):
        registry.DEMAND["default"].load_class()


def test_every_list_of_names_is_derived_from_the_registry():
    assert scenarios.DEMAND_MODELS == registry.scenario_demand_names()
    assert scenarios.COMPUTE_DEMAND_MODELS == (
        "default",
        "compute-frontier",
        "compute",
        "epoch2024",
        "epoch2030",
    )
    assert scenarios.STOCK_MODELS == ("epoch2024", "epoch2022-high-quality", "sevilla2024-data")
    assert demand.MODEL_CLASSES == registry.fitted_classes()
    assert next(c.name for c in demand.MODEL_CLASSES) == "compute-frontier"
    assert backtest.METHODS == registry.backtest_methods()
    assert backtest.POPULATION_METHODS == {"exponential", "ols"}
    assert set(skill.TOKEN_MODELS) == {
        c.name
        for c in registry.fitted_classes()
        if c.value_column == "tokens" and c.name != skill.DEFAULT_FIT
    }
    # baselines are backtest methods, never a scenario's demand
    assert "ols" in backtest.METHODS and "ols" not in scenarios.DEMAND_MODELS


class ToyTrend(FrontierTrend):
    """A new demand model: one class..."""

    name = "toy"
    label = "Toy frontier trend"


def test_adding_a_model_is_one_class_and_one_entry(monkeypatch):
    entry = registry.DemandEntry(
        "toy", "Toy frontier trend", "fit", cls=f"{__name__}:ToyTrend", fit_order=7, backtest=True
    )
    monkeypatch.setitem(registry.DEMAND, "toy", entry)  # ...and one entry
    assert "toy" in registry.scenario_demand_names()
    assert registry.fitted_classes()[-1] is ToyTrend
    assert "toy" in registry.backtest_methods()
    assert demand.MODEL_CLASSES[-1] is ToyTrend  # what fit_demand fits
    scenarios.DemandSpec(model="frontier")  # unchanged behaviour for the others


def test_every_projection_is_a_projector(bundled_demand):
    from forecast.demand.baselines import ols_trend
    from forecast.pipeline import demand_projector

    years = np.array([2027.0, 2030.0])
    candidates = [
        *bundled_demand.fits.values(),
        bundled_demand.average,
        bundled_demand.epoch_bootstrap,
        ols_trend(bundled_demand.models.dropna(subset=["tokens"])),
        demand_projector(scenarios.load_scenario("epoch2024"), bundled_demand),
    ]
    for projector in candidates:
        assert isinstance(projector, registry.Projector), type(projector)
        draws = projector.project(years, n_draws=50, seed=1)
        assert isinstance(draws, xr.DataArray) and draws.dims == ("draw", "year")
        assert draws.shape == (50, 2) and bool((draws > 0).all())
        again = projector.project(years, n_draws=50, seed=1)
        np.testing.assert_array_equal(draws.to_numpy(), again.to_numpy())


def test_scenario_demand_call_and_project_agree(bundled_demand):
    from forecast.pipeline import demand_projector

    f = demand_projector(scenarios.load_scenario("baseline"), bundled_demand)
    years = np.linspace(2027, 2035, 5)
    np.testing.assert_array_equal(f(years, 20, 3), f.project(years, 20, 3).to_numpy())
    assert f.name == "baseline"


def test_fits_used_and_min_rows_equal_the_former_hand_written_tables():
    from forecast import registry
    from forecast.registry import DEFAULT_WEIGHTS

    # pipeline.demand_models_needed and backtest._min_train were written by hand until 0.8.
    # Since 0.9 Epoch 2024's compute half and Sevilla et al.'s projection need no fit.
    former_fits = {
        "epoch2022": (),
        "default": tuple(DEFAULT_WEIGHTS),
        "epoch2024": (),
        "epoch2030": (),
    }
    for name, entry in registry.DEMAND.items():
        if entry.kind == "baseline":
            assert registry.fits_used(name) == ()
            continue
        assert registry.fits_used(name) == former_fits.get(name, (name,))
    former_rows = {"ols": 3, "epoch-bootstrap": 3, "default": 6, "exponential": 3}
    for name in registry.backtest_methods():
        if name not in former_rows:
            former_rows[name] = registry.DEMAND[name].load_class().min_rows
        assert registry.min_rows(name) == former_rows[name]


def test_demand_label_names_what_the_default_is():
    """Issue 37: the default demand is called by what it is, never "average"."""
    label = registry.demand_label("default")
    assert label == "default demand (v3: largest run from compute and tokens per parameter)"
    assert registry.demand_label("average") == label  # 0.2-0.8's name, an alias
    assert registry.demand_label("epoch2024") == registry.DEMAND["epoch2024"].label
    assert registry.demand_label("no-such-model") == "no-such-model"
