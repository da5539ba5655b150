"""The literature's exact collapse results, checked against simulations of the refitting
loop; the verify regime; the new collapse figures and their data twins."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from forecast.collapse.simulator import REGIMES, simulate, verification_sweep
from forecast.collapse.theory import (
    _random_subsets,
    analytic_linear_test_error,
    optimal_real_weight,
    real_weight_table,
    simulate_linear_regression,
    simulate_real_weight,
    stationary_mean_error,
)
from forecast.plots import (
    plot_linear_collapse,
    plot_linear_collapse_data,
    plot_real_weight,
    plot_real_weight_data,
    plot_verification,
    plot_verification_data,
)

GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@pytest.fixture(scope="module")
def linear():
    return simulate_linear_regression(generations=15, dim=8, samples=40, n_chains=3000, seed=3)


# ------------------------------------------------------------------ closed forms


def test_replace_grows_linearly_and_accumulate_is_bounded():
    n = np.arange(1, 201)
    first = 1.0 * 10 / (50 - 10 - 1)
    rep = analytic_linear_test_error(n, 10, 50, workflow="replace")
    acc = analytic_linear_test_error(n, 10, 50, workflow="accumulate")
    np.testing.assert_allclose(rep, first * n)
    assert acc[0] == pytest.approx(first)
    assert acc[1] == pytest.approx(first * 1.25)
    assert np.all(np.diff(acc) > 0) and acc[-1] < np.pi**2 / 6 * first
    assert acc[-1] == pytest.approx(np.pi**2 / 6 * first, rel=0.01)


def test_closed_form_needs_more_samples_than_dimensions():
    with pytest.raises(ValueError, match="samples must exceed dim"):
        analytic_linear_test_error([1], dim=10, samples=11, workflow="replace")
    with pytest.raises(ValueError, match="no closed form"):
        analytic_linear_test_error([1], workflow="accumulate-subsample")


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_simulation_matches_closed_form(linear, workflow):
    c = linear.curves[linear.curves["workflow"] == workflow]
    z = (c["test_error"] - c["analytic"]) / c["test_error_se"]
    # 15 generations, each within 4 Monte Carlo standard errors of the closed form.
    assert np.all(np.abs(z) < 4), z.to_numpy()


def test_fixed_budget_degrades_slowly(linear):
    c = linear.curves.set_index(["workflow", "generation"])["test_error"]
    for gen in (5, 10, 15):
        assert c["accumulate", gen] < c["accumulate-subsample", gen] < c["replace", gen]
    # Between generations 10 and 15 replace grows by half; the fixed budget far less.
    assert c["replace", 15] / c["replace", 10] > 1.4
    assert c["accumulate-subsample", 15] / c["accumulate-subsample", 10] < 1.15


def test_linear_same_seed_same_numbers_and_streams_independent(linear):
    again = simulate_linear_regression(generations=15, dim=8, samples=40, n_chains=3000, seed=3)
    assert again.curves.equals(linear.curves)
    alone = simulate_linear_regression(
        generations=15, dim=8, samples=40, n_chains=3000, seed=3, workflows=("accumulate",)
    )
    both = linear.curves[linear.curves["workflow"] == "accumulate"].reset_index(drop=True)
    np.testing.assert_array_equal(alone.curves["test_error"], both["test_error"])


def test_linear_json_shape(linear):
    payload = linear.to_json_dict()
    assert set(payload) == {"replace", "accumulate", "accumulate_subsample"}
    assert payload["accumulate_subsample"][0]["analytic"] is None
    assert payload["replace"][2]["generation"] == 3
    assert "ratio_to_generation_1" in linear.summary()


@pytest.mark.parametrize(("n", "k"), [(10, 3), (50, 50), (2500, 50)])
def test_random_subsets_are_distinct_and_uniform(n, k):
    """The fixed budget's draw: k distinct indices per row, each index equally likely."""
    rows = 20_000
    picked = _random_subsets(np.random.default_rng(n), n, k, rows)
    assert picked.shape == (rows, k) and picked.min() >= 0 and picked.max() < n
    assert all(len(set(r)) == k for r in picked[:500])
    counts = np.bincount(picked.ravel(), minlength=n)
    expected = rows * k / n
    # every index's inclusion count within 5 binomial standard deviations of rows * k / n
    sd = np.sqrt(rows * (k / n) * (1 - k / n)) or 1.0
    assert np.all(np.abs(counts - expected) <= 5 * sd + 1e-9)


def test_linear_regression_replace_and_accumulate_unchanged():
    """Values of 0.8.1's quadratic implementation (seed 0, 12 generations, 200 chains).

    The linear-time one gives them to the last bit here; the tolerance allows only for
    another machine's LAPACK. The fixed budget now draws its subsets differently.
    """
    curves = simulate_linear_regression(generations=12, n_chains=200).curves
    last = curves[curves["generation"] == 12].set_index("workflow")["test_error"]
    assert last["replace"] == pytest.approx(2.873392379302228, rel=1e-9)
    assert last["accumulate"] == pytest.approx(0.39484572161757714, rel=1e-9)


def test_linear_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown workflow"):
        simulate_linear_regression(generations=2, workflows=("nope",))
    with pytest.raises(ValueError, match="noise_sd"):
        simulate_linear_regression(generations=2, noise_sd=0)


# ------------------------------------------------------------------ real-data weight


def test_optimal_weight_is_the_reciprocal_golden_ratio_for_equal_counts():
    assert optimal_real_weight(100, 100) == pytest.approx(GOLDEN)
    assert stationary_mean_error(GOLDEN, 1, 1) == pytest.approx(GOLDEN)
    assert stationary_mean_error(0.5, 1, 1) == pytest.approx(2 / 3)
    assert optimal_real_weight(1, 0) == 1.0


@pytest.mark.parametrize("ratio", [0.25, 0.5, 1.0, 3.0, 10.0])
def test_optimal_weight_minimises_and_solves_the_quadratic(ratio):
    best = optimal_real_weight(1.0, ratio)
    assert best**2 == pytest.approx((1.0 / ratio) * (1.0 - best))
    grid = np.linspace(0.001, 1.0, 20001)
    errors = stationary_mean_error(grid, 1.0, ratio)
    assert grid[np.argmin(errors)] == pytest.approx(best, abs=1e-3)
    assert stationary_mean_error(best, 1.0, ratio) < 1.0  # beats real data alone


@pytest.mark.parametrize("weight", [0.4, GOLDEN, 0.9])
def test_weighted_recursion_simulation_matches_fixed_point(weight):
    simulated = simulate_real_weight(weight, real=4, synthetic=4, n_chains=4000, seed=1)
    expected = stationary_mean_error(weight, 4, 4)
    # 100 post-burn-in generations x 4000 chains, autocorrelated: 3% is ~4 standard errors.
    assert simulated == pytest.approx(expected, rel=0.03)


def test_real_weight_table():
    table = real_weight_table((1.0, 4.0))
    row = table.iloc[0]
    assert row["optimal_real_weight"] == pytest.approx(GOLDEN)
    assert row["error_optimal"] < row["error_pooled"] < row["error_real_only"]
    assert table["optimal_real_weight"].is_monotonic_decreasing


# ------------------------------------------------------------------ verify regime


@pytest.fixture(scope="module")
def sweep():
    return verification_sweep(
        accuracies=(0.5, 0.75, 1.0), generations=30, samples=50, n_chains=600, vocab_chains=20
    )


def test_verify_is_a_regime_with_its_own_stream():
    full = simulate(generations=5, samples=20, n_chains=50, vocab_chains=5, vocab_size=100)
    assert full.regimes == REGIMES and "verify" in full.to_json_dict()["gaussian"]
    alone = simulate(
        generations=5, samples=20, n_chains=50, vocab_chains=5, vocab_size=100, regimes=("replace",)
    )
    a = alone.gaussian
    f = full.gaussian[full.gaussian["regime"] == "replace"].reset_index(drop=True)
    np.testing.assert_array_equal(a["variance_ratio"], f["variance_ratio"])
    assert full.settings["verify_short_fits"] == 0


def test_coin_flip_verifier_is_replace_and_a_good_one_slows_collapse(sweep):
    s = sweep.set_index(sweep["accuracy"].fillna(-1))
    rep, coin, good = s.loc[-1], s.loc[0.5], s.loc[1.0]
    # a = 0.5 keeps a random half: the same process as replace (different draws).
    assert coin["variance_ratio"] == pytest.approx(rep["variance_ratio"], rel=0.15)
    assert good["w2_error"] < 0.25 * rep["w2_error"]
    assert good["variance_ratio"] > rep["variance_ratio"] + 0.1
    assert good["tail_mass_ratio"] > rep["tail_mass_ratio"]


def test_verifier_cannot_revive_extinct_tokens():
    from forecast.collapse.simulator import _simulate_vocabulary

    p0 = np.full(10, 0.1)
    rng = np.random.default_rng(0)
    # 3 tokens per generation: at most 3 of 10 survive generation 1, and never more.
    surv = _simulate_vocabulary("verify", 10, 3, 20, 0, p0, rng, accuracy=1.0)
    assert surv[1] <= 0.3 and np.all(np.diff(surv) <= 1e-12)


@pytest.mark.parametrize("accuracy", [0.49, 1.01, float("nan"), True])
def test_verifier_accuracy_bounds(accuracy):
    with pytest.raises(ValueError, match="verifier_accuracy"):
        simulate(generations=2, samples=10, verifier_accuracy=accuracy)


# ------------------------------------------------------------------ figures


def _lines(fig):
    return {ln.get_gid(): ln for ln in fig.axes[0].get_lines() if ln.get_gid()}


def _assert_every_line_is_a_column(fig, data, x_column: str) -> None:
    """Each gid'd line is exactly one column of the data twin, and every column is drawn."""
    lines = _lines(fig)
    assert set(lines) == set(data.columns) - {x_column}
    for gid, line in lines.items():
        np.testing.assert_array_equal(line.get_ydata(), data[gid].to_numpy())
    fig.savefig(io.BytesIO(), format="png")


def test_linear_figure_matches_twin(linear):
    fig = plot_linear_collapse(linear)
    _assert_every_line_is_a_column(fig, plot_linear_collapse_data(linear), "generation")


def test_real_weight_figure_matches_twin():
    fig = plot_real_weight((1.0, 2.0))
    data = plot_real_weight_data((1.0, 2.0))
    lines = _lines(fig)
    assert {"m/n=1", "m/n=2", "real_only"} <= set(lines)
    np.testing.assert_array_equal(lines["m/n=1"].get_ydata(), data["m/n=1"].to_numpy())
    np.testing.assert_array_equal(lines["m/n=1"].get_xdata(), data["weight"].to_numpy())
    fig.savefig(io.BytesIO(), format="png")


def test_verification_figure_matches_twin(sweep):
    fig = plot_verification(sweep, generations=30)
    _assert_every_line_is_a_column(fig, plot_verification_data(sweep), "accuracy")
