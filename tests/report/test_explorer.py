"""forecast.report.explorer: the embedded draws, the settings and their mapping to scenario
overrides, and agreement of the explorer's computation with forecast.run_scenario."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest

from forecast.errors import ScenarioError
from forecast.report.explorer import (
    EXPLORER_DEMAND_VARIANTS,
    STOCK_KEYS,
    ExplorerSettings,
    explore,
    explorer_draws,
)
from forecast.scenarios import load_scenario


@pytest.fixture(scope="module")
def draws(bundled_demand):
    return explorer_draws(bundled_demand, n_draws=2000, seed=5)


def test_draws_cover_the_grid_and_every_lever(draws):
    y = draws.years
    assert y[0] == draws.scenario.start and y[-1] == draws.scenario.horizon
    assert np.all(np.diff(y) > 0) and np.all(np.diff(y) <= 1.0 + 1e-9)
    assert set(draws.demand_log10) == set(EXPLORER_DEMAND_VARIANTS)
    for values in draws.demand_log10.values():
        assert values.shape == (2000, y.size) and np.isfinite(values).all()
    assert tuple(draws.stock_params) == STOCK_KEYS
    for values in draws.stock_params.values():
        assert values.shape == (2000,) and np.isfinite(values).all()


def test_payload_decodes_to_the_draws_python_uses(draws):
    """The page decodes exactly the demand explore() uses (uint16 deltas mod 2**16)."""
    payload = json.loads(json.dumps(draws.payload()))
    for model, code in payload["demand"].items():
        raw = zlib.decompress(base64.b64decode(code["data"]))
        diffs = np.frombuffer(raw, dtype="<u2").reshape(code["shape"]).astype(np.int64)
        q = np.cumsum(diffs, axis=1) % 65536
        decoded = code["lo"] + q * code["step"]
        np.testing.assert_allclose(decoded, draws.demand_log10[model], rtol=0, atol=1e-12)
        assert code["step"] < 5e-4  # log10 tokens: a rounding of at most 0.06%
    raw = base64.b64decode(payload["stock"]["raw_base"])
    np.testing.assert_allclose(
        np.frombuffer(raw, dtype="<f4"), draws.stock_params["raw_base"], rtol=1e-7
    )


def test_the_stock_never_reaches_the_demand_cap(draws):
    """Demand is capped at 10^30 tokens; the largest stock any control allows is far below."""
    from forecast.report.explorer import DEMAND_LOG10_CAP

    p = draws.stock_params
    years = draws.years[-1] - 2024.0
    most = np.log10(p["raw_base"] * 1.0 * p["repetition_flat"].max() * 16.4 * 3.0)
    most = most + years * np.log10(1.2)
    assert most.max() < DEMAND_LOG10_CAP - 5


def test_default_settings_are_the_baseline():
    assert ExplorerSettings().overrides() == {}
    assert ExplorerSettings().scenario() == load_scenario("baseline")
    assert ExplorerSettings().command() == "forecast run --scenario baseline"


def test_settings_map_to_overrides_and_a_command():
    s = ExplorerSettings(
        demand_model="overtrained-5x",
        repetition="flat",
        quality_fraction=0.3,
        contamination=True,
        synthetic="measured",
        verifier_accuracy=0.9,
    )
    assert s.overrides() == {
        "demand.tokens_per_parameter": "chinchilla",
        "demand.overtraining": 5.0,
        "stock.repetition": "flat",
        "stock.quality_fraction": 0.3,
        "stock.contamination": True,
        "stock.synthetic": {"verifier_accuracy": 0.9},
    }
    scenario = s.scenario()
    assert scenario.stock.epochs is None and scenario.demand.overtraining == 5.0
    # The command line parses back (through the CLI's own --set parser) to the same levers.
    from forecast.cli import _override

    parts = s.command().split(" --set ")[1:]
    parsed = dict(_override(p.replace("'", "")) for p in parts)
    assert parsed == s.overrides()
    # A lever the base switches on is switched off explicitly.
    contaminated = load_scenario("contaminated-web")
    assert ExplorerSettings().overrides(contaminated) == {"stock.contamination": False}
    assert (
        ExplorerSettings(synthetic="fixed", synthetic_multiplier=2.0).overrides("synthetic-2x")
        == {}
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"demand_model": "nope"},
        {"synthetic": "lots"},
        {"demand_model": "compute"},  # not a variant of demand v3
        {"verifier_accuracy": 0.2},
        {"synthetic_multiplier": 0.5},
    ],
)
def test_bad_settings_raise_one_clear_error(kwargs):
    with pytest.raises(ScenarioError):
        ExplorerSettings(**kwargs)


SETTINGS = [
    ExplorerSettings(),
    ExplorerSettings(epochs=12),
    ExplorerSettings(repetition="flat", quality_fraction=0.2),
    ExplorerSettings(contamination=True, isolation=True),
    ExplorerSettings(consent_restriction=True, stock_growth=1.1),
    ExplorerSettings(synthetic="measured", verifier_accuracy=0.75),
    ExplorerSettings(synthetic="fixed", synthetic_multiplier=3.0, repetition="none"),
    ExplorerSettings(demand_model="overtrained-5x"),
    ExplorerSettings(demand_model="trend"),
    ExplorerSettings(demand_model="winter"),
    ExplorerSettings(demand_model="no-ceiling", epochs=8),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.command()[30:] or "baseline")
def test_explorer_agrees_with_run_scenario(draws, bundled_demand, settings):
    """Same settings, independent draws: the medians and 80% intervals agree within
    Monte Carlo error (4 standard errors of the difference) plus 0.05 years for the yearly
    grid and the rounding of demand."""
    from forecast.pipeline import run_scenario

    mine = explore(draws, settings)
    run = run_scenario("baseline", bundled_demand, draws=20_000, seed=9, **settings.overrides())
    for q in (0.5, 0.1, 0.9):
        a, b = mine.quantile(q), run.exhaustion.quantile(q)
        if np.isnan(a) or np.isnan(b):
            assert (np.isnan(a) and np.isnan(b)) or q == 0.9
            continue
        se = np.hypot(mine.quantile_mc_se(q), run.exhaustion.quantile_mc_se(q))
        assert abs(a - b) <= 4 * se + 0.05, (q, a, b, se)
    p_mine, p_run = mine.prob_exhausted_by(2030), run.exhaustion.prob_exhausted_by(2030)
    assert abs(p_mine - p_run) <= 4 * np.sqrt(p_run * (1 - p_run) / 2000) + 0.01


def test_levers_move_the_date_the_expected_way(draws):
    base = explore(draws).quantile(0.5)
    assert explore(draws, ExplorerSettings(epochs=16)).quantile(0.5) > base
    assert explore(draws, ExplorerSettings(quality_fraction=0.05)).quantile(0.5) < base
    assert (
        explore(draws, ExplorerSettings(synthetic="fixed", synthetic_multiplier=3.0)).quantile(0.5)
        > base
    )
    assert explore(draws, ExplorerSettings(contamination=True)).quantile(0.5) <= base


def test_same_seed_same_payload(bundled_demand):
    a = explorer_draws(bundled_demand, n_draws=300, seed=1).payload()
    b = explorer_draws(bundled_demand, n_draws=300, seed=1).payload()
    c = explorer_draws(bundled_demand, n_draws=300, seed=2).payload()
    assert a == b and a != c
