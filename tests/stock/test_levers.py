"""forecast.stock.levers: each stock lever is one component owning its keys, its bounds (one
check for the Python constructors and the scenario files), its sampling and its factor."""

from __future__ import annotations

import itertools
from dataclasses import fields

import numpy as np
import pytest

from forecast import scenarios as sc
from forecast.errors import LeverError, ScenarioError
from forecast.stock.levers import LEVER_KEYS, STOCK_LEVERS, StockLever
from forecast.stock.models import COMPONENTS, Epoch2024Stock

YEARS = np.array([2024.0, 2027.0, 2035.0])


def test_every_lever_key_is_a_stock_field_and_a_scenario_key():
    model_fields = {f.name for f in fields(Epoch2024Stock)}
    assert set(LEVER_KEYS) <= model_fields
    assert set(LEVER_KEYS) <= sc._STOCK_KEYS
    assert len(LEVER_KEYS) == len(set(LEVER_KEYS))  # each key has one owner
    for lever in STOCK_LEVERS:
        assert isinstance(lever, StockLever) and lever.keys
        assert lever.step is None or lever.step in COMPONENTS


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("quality_fraction", 1.5, r"quality_fraction = 1\.5 is out of range"),
        ("stock_growth", 0.1, r"stock_growth = 0\.1 is out of range"),
        ("epochs", 2000, r"epochs = 2000\.0 is out of range \[1\.0, 1000\.0\]"),
        ("consent_restriction", 1.2, r"consent_restriction = 1\.2 is out of range"),
        ("synthetic", 0.5, r"synthetic = 0\.5 is out of range"),
    ],
)
def test_one_bound_for_constructor_and_scenario_file(key, value, message):
    """The same check, the same words: from Python and from a scenario (with 'stock.')."""
    extra = {"repetition": "muennighoff"} if key == "epochs" else {}
    with pytest.raises(LeverError, match=message):
        Epoch2024Stock(**{key: value}, **extra)
    toml_extra = {f"stock.{k}": v for k, v in extra.items()}
    with pytest.raises(ScenarioError, match="stock." + message):
        sc.load_scenario("baseline").with_overrides(**{f"stock.{key}": value, **toml_extra})


def test_unknown_table_keys_are_named():
    with pytest.raises(ScenarioError, match=r"unknown key\(s\) \['speed'\] in stock.isolation"):
        sc.load_scenario("baseline").with_overrides(**{"stock.isolation": {"speed": 1}})


def test_levers_off_leave_the_stock_at_its_steps():
    """Each step equals the previous one when its lever is off; the last is the stock."""
    model = Epoch2024Stock(repetition="none", quality_fraction=1.0)
    comps = model.sample_components(YEARS, 200, seed=1)
    for a, b in itertools.pairwise(COMPONENTS):
        np.testing.assert_allclose(comps[a], comps[b], rtol=0)
    np.testing.assert_allclose(comps["synthetic_augmented"], model.sample(YEARS, 200, seed=1))


def test_every_lever_on_matches_its_steps():
    model = Epoch2024Stock(
        consent_restriction=True, contamination=True, isolation=True, synthetic=True
    )
    comps = model.sample_components(YEARS, 500, seed=2)
    np.testing.assert_allclose(
        comps["synthetic_augmented"], model.sample(YEARS, 500, seed=2), rtol=1e-12
    )
    assert bool((comps["consent_restricted"] <= comps["repetition_adjusted"]).all())
    assert bool((comps["contamination_adjusted"] <= comps["consent_restricted"] * 1.0000001).all())
    assert bool((comps["synthetic_augmented"] >= comps["contamination_adjusted"]).all())


def test_a_lever_changes_only_its_own_draws():
    """Common random numbers: switching a lever on leaves every other parameter's draws."""
    off = Epoch2024Stock().sample_parameters(300, seed=4)
    on = Epoch2024Stock(contamination=True).sample_parameters(300, seed=4)
    for key, values in off.items():
        np.testing.assert_array_equal(values, on[key])
    assert set(on) - set(off) == {"ai_plateau", "ai_timescale", "ai_onset"}
