"""The remedies: the synthetic-data measurements table, the lever defaults derived from
it, the verifier in the synthetic lever, and the remedies study."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast import scenarios as sc
from forecast.errors import DataError, ScenarioError
from forecast.stock.estimates import load_stock_estimates, parameter_spec
from forecast.stock.levers import Synthetic, kept_valid_share
from forecast.stock.models import Epoch2024Stock
from forecast.studies.remedies import (
    REMEDY_ACCURACIES,
    RemedyStudy,
    load_synthetic_data,
    remedy_scenarios,
    what_remedies_buy,
)

YEARS = np.array([2024.0, 2030.0])


@pytest.fixture(scope="module")
def measurements():
    return load_synthetic_data()


def _interval(name: str) -> tuple[float, float]:
    spec = parameter_spec(load_stock_estimates(), name)
    assert spec.distribution == "lognormal" and spec.interval == 0.9
    return spec.low, spec.high


# ------------------------------------------------------------------ the table


def test_table_has_verified_sources(measurements):
    assert len(measurements) >= 10
    assert measurements["id"].is_unique
    assert (measurements["status"] == "V").sum() >= 0.8 * len(measurements)
    assert measurements["source_url"].str.startswith("https://").all()
    for needed in ("nemotron", "phi4", "kimi", "rewire", "kang", "synthllm"):
        assert measurements["id"].str.contains(needed).any(), needed


def test_efficiency_range_covers_every_verified_measurement(measurements):
    low, high = _interval("synthetic_efficiency")
    rows = measurements[
        (measurements["implied_quantity"] == "efficiency") & (measurements["status"] == "V")
    ]
    values = pd.concat([rows["implied_value_low"], rows["implied_value_high"]]).dropna()
    assert len(values) >= 3
    assert values.between(low, high).all(), values.tolist()


def test_cap_range_covers_the_verified_volume_multipliers(measurements):
    low, high = _interval("synthetic_cap")
    verified = measurements[measurements["status"] == "V"]
    share = verified[verified["implied_quantity"] == "synthetic_share"]
    # A synthetic share s of the mix at its best is a volume multiplier 1 / (1 - s).
    implied = 1.0 / (1.0 - share["implied_value_high"])
    multipliers = verified[verified["implied_quantity"] == "multiplier"]
    points = multipliers[multipliers["implied_value_low"] == multipliers["implied_value_high"]]
    values = pd.concat([implied, points["implied_value_low"]])
    assert len(values) >= 4
    assert values.between(low, high).all(), values.tolist()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("year", "20x5", "year must be"),
        ("implied_quantity", "speed", "unknown implied_quantity"),
        ("implied_value_low", "abc", "not a number"),
        ("implied_value_low", "9", "implied_value_low 9.0 > implied_value_high"),
        ("status", "maybe", "unknown status"),
        ("source_url", "ftp://x", "https://"),
    ],
)
def test_bad_cells_name_file_row_and_column(tmp_path, measurements, column, value, message):
    frame = pd.read_csv(
        measurements.attrs["path"], dtype=str, keep_default_na=False
    )  # the raw text
    target = frame.index[frame["implied_value_high"] != ""][0]
    frame.loc[target, column] = value
    path = tmp_path / "synthetic.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        load_synthetic_data(path)
    text = str(info.value)
    assert str(path) in text and f"row {target + 2}" in text and column in text
    assert message in text


# ------------------------------------------------------------------ the lever


def test_kept_valid_share():
    assert kept_valid_share(0.5, 0.3) == pytest.approx(0.3)
    assert kept_valid_share(1.0, 0.3) == pytest.approx(1.0)
    assert kept_valid_share(0.9, 0.5) == pytest.approx(0.9)
    a = np.linspace(0.5, 1.0, 11)
    assert np.all(np.diff(kept_valid_share(a, 0.4)) > 0)


def test_verifier_accuracy_scales_the_synthetic_multiplier():
    def multiplier(**kw):
        model = Epoch2024Stock(synthetic=Synthetic(ratio=1.0, efficiency=0.8, cap=5.0, **kw))
        return model.sample_parameters(100, 0)["synthetic_multiplier"]

    np.testing.assert_allclose(multiplier(), 1.8)
    np.testing.assert_allclose(multiplier(verifier_accuracy=1.0), 1.8)
    np.testing.assert_allclose(multiplier(verifier_accuracy=0.5, valid_share=0.25), 1.2)
    weak = multiplier(verifier_accuracy=0.6)  # table valid share 0.5: kept valid 0.6
    np.testing.assert_allclose(weak, 1.0 + 0.8 * 0.6)


def test_fixed_synthetic_multiplier_in_python_and_toml(tmp_path):
    assert Synthetic.fixed(2.5) == Synthetic(ratio=1.5, efficiency=1.0, cap=2.5)
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[stock]\nsynthetic = 2.0\n')
    scenario = sc.load_scenario(path)
    params = scenario.stock.build().sample_parameters(50, 1)
    np.testing.assert_allclose(params["synthetic_multiplier"], 2.0)
    path.write_text('name = "x"\n[stock]\nsynthetic = 0.5\n')
    with pytest.raises(ScenarioError, match=r"stock\.synthetic"):
        sc.load_scenario(path)
    path.write_text('name = "x"\n[stock]\nsynthetic = { verifier_accuracy = 0.3 }\n')
    with pytest.raises(ScenarioError, match="verifier_accuracy"):
        sc.load_scenario(path)


def test_default_synthetic_multiplier_from_the_table():
    p = Epoch2024Stock(synthetic=True).sample_parameters(50_000, 0)["synthetic_multiplier"]
    # ratio median 1.10 x efficiency median 0.50, capped near 2: median about 1.5.
    assert 1.4 < np.median(p) < 1.6
    # The cap (lognormal 90% [1.4, 3]) bounds it: the 95th percentile stays below 3.
    assert 1.0 < np.quantile(p, 0.05) and np.quantile(p, 0.95) < 3.0


# ------------------------------------------------------------------ the study


def test_remedy_scenarios_change_one_thing_each():
    scenarios = remedy_scenarios()
    names = [s.name for s in scenarios]
    assert names[0] == "no remedy" and names[1] == "isolation"
    assert names[-1] == "both (verifier 0.9)"
    assert len(scenarios) == 3 + len(REMEDY_ACCURACIES)
    base = scenarios[0].stock
    assert base.contamination is True and base.isolation is None and base.synthetic is None
    assert scenarios[1].stock.isolation is True and scenarios[1].stock.synthetic is None
    for s, a in zip(scenarios[2:-1], REMEDY_ACCURACIES, strict=True):
        assert s.stock.synthetic == {"verifier_accuracy": a} and s.stock.isolation is None
    assert scenarios[-1].stock.isolation is True


def test_what_remedies_buy(bundled_demand):
    study = what_remedies_buy(bundled_demand, draws=3000, seed=4, accuracies=(0.6, 1.0))
    table = study.summary()
    assert list(table.index) == [
        "no remedy",
        "isolation",
        "synthetic, verifier 0.6",
        "synthetic, verifier 1",
        "both (verifier 0.9)",
    ]
    assert table.loc["no remedy", "median_gain_years"] == 0.0
    # Shared demand draws: synthetic data can only move the date later, and a better
    # verifier at least as far; isolation can only move it earlier.
    assert table.loc["synthetic, verifier 0.6", "median"] >= table.loc["no remedy", "median"]
    assert (
        table.loc["synthetic, verifier 1", "median"]
        >= table.loc["synthetic, verifier 0.6", "median"]
    )
    assert table.loc["isolation", "median"] <= table.loc["no remedy", "median"]
    assert math.isnan(table.loc["isolation", "verifier_accuracy"])
    payload = study.to_json_dict()
    assert payload["settings"] == {"base": "contaminated-web", "draws": 3000, "seed": 4}
    assert payload["rows"][1]["verifier_accuracy"] is None
    assert "RemedyStudy" in repr(study)


def test_remedy_study_json_has_no_nan():
    table = pd.DataFrame({"remedy": ["a"], "median": [float("nan")], "horizon": [2100.0]})
    study = RemedyStudy(table=table, settings={"base": "b", "draws": 1, "seed": 0})
    assert study.to_json_dict()["rows"][0]["median"] is None
