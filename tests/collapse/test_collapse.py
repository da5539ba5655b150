"""Tests of the model-collapse simulator and its figures."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy.special import polygamma

from forecast.collapse import simulator as collapse
from forecast.collapse.simulator import (
    REGIMES,
    analytic_mean_variance_ratio,
    analytic_median_variance_ratio,
    expected_log_variance_factor,
    simulate,
)
from forecast.plots import (
    plot_collapse_tails,
    plot_collapse_tails_data,
    plot_collapse_variance,
    plot_collapse_variance_data,
    plot_collapse_vocabulary,
    plot_collapse_vocabulary_data,
)
from forecast.plots.style import FOOTER_GID, add_footer, format_tokens, new_figure

M = 100


@pytest.fixture(scope="module")
def result():
    return simulate(generations=50, samples=M, seed=0, n_chains=2000)


def _row(frame, regime, generation):
    sel = frame[(frame["regime"] == regime) & (frame["generation"] == generation)]
    assert len(sel) == 1
    return sel.iloc[0]


# ---------------------------------------------------------------------- analytic


def test_expected_log_factor_matches_series():
    k = M - 1
    # E ln(chi2_k / k) = -1/k - 1/(3k^2) + O(k^-4)
    assert expected_log_variance_factor(M) == pytest.approx(-1 / k - 1 / (3 * k**2), rel=1e-4)


def test_analytic_curves():
    n = np.array([0, 10, 50])
    np.testing.assert_allclose(analytic_mean_variance_ratio(n, M), 1.0)
    np.testing.assert_allclose(
        analytic_median_variance_ratio(n, M, exact=False), np.exp(-n / (M - 1))
    )
    exact = analytic_median_variance_ratio(n, M)
    assert exact[0] == 1.0
    np.testing.assert_allclose(exact, np.exp(-n / (M - 1)), rtol=2e-3)


def test_analytic_median_matches_direct_monte_carlo():
    # Independent check of the formula by sampling the chi-square product directly
    # (FACTS.md: M=100, n=500 -> ~0.0063).
    n, chains = 500, 20000
    rng = np.random.default_rng(123)
    logs = np.log(rng.chisquare(M - 1, size=(chains, n)) / (M - 1)).sum(axis=1)
    se_median_log = 1.2533 * np.sqrt(n * polygamma(1, (M - 1) / 2)) / np.sqrt(chains)
    pred = float(analytic_median_variance_ratio(n, M))
    assert abs(np.median(logs) - np.log(pred)) < 4 * se_median_log + 0.01
    assert pred == pytest.approx(0.0063, abs=1e-4)


# ---------------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("n", [1, 5, 10, 25, 50])
def test_replace_median_variance_matches_analytic(result, n):
    sim = _row(result.gaussian, "replace", n)["variance_ratio"]
    pred = float(analytic_median_variance_ratio(n, M))
    # ln sigma2_n is a sum of n iid ln(chi2_k/k), each with variance psi'(k/2).
    sd_log = np.sqrt(n * polygamma(1, (M - 1) / 2))
    se_median_log = 1.2533 * sd_log / np.sqrt(result.settings["n_chains"])
    assert abs(np.log(sim) - np.log(pred)) < 4 * se_median_log + 0.005


@pytest.mark.parametrize("n", [1, 10, 25])
def test_replace_mean_variance_is_a_martingale(result, n):
    mean = _row(result.gaussian, "replace", n)["variance_ratio_mean"]
    # Var(sigma2_n) = (1 + 2/(M-1))^n - 1
    se = np.sqrt(((1 + 2 / (M - 1)) ** n - 1) / result.settings["n_chains"])
    assert abs(mean - 1.0) < 4 * se


def test_generation_zero_is_the_original(result):
    g0 = result.gaussian[result.gaussian["generation"] == 0]
    assert len(g0) == len(REGIMES)
    np.testing.assert_allclose(g0["variance_ratio"], 1.0)
    np.testing.assert_allclose(g0["variance_ratio_mean"], 1.0)
    np.testing.assert_allclose(g0["tail_mass_ratio"], 1.0)
    np.testing.assert_allclose(g0["error"], 0.0)


def test_accumulate_error_bounded_replace_grows(result):
    g = result.gaussian
    rep = {n: _row(g, "replace", n)["error"] for n in (10, 25, 50)}
    acc = {n: _row(g, "accumulate", n)["error"] for n in (10, 25, 50)}
    # replace: W2^2 grows roughly linearly (E mu_n^2 = n/M alone).
    assert rep[10] < rep[25] < rep[50]
    assert rep[50] > 0.5
    # accumulate: bounded, and not growing between generations 25 and 50.
    assert acc[50] < 0.05
    assert acc[50] < acc[25] * 1.15
    assert acc[50] < rep[50] / 10


def test_mix_stays_near_original(result):
    g = result.gaussian
    for n in (25, 50):
        row = _row(g, "mix", n)
        assert 0.9 < row["variance_ratio"] < 1.1
        assert row["error"] < 0.15
        assert 0.7 < row["tail_mass_ratio"] < 1.5
    assert _row(g, "replace", 50)["tail_mass_ratio"] < 0.5


def test_accumulate_variance_stays_near_one(result):
    row = _row(result.gaussian, "accumulate", 50)
    assert 0.95 < row["variance_ratio"] < 1.02


# ---------------------------------------------------------------------- vocabulary


def test_vocabulary_regimes(result):
    v = result.vocabulary
    rep = v[v["regime"] == "replace"]["surviving_fraction"].to_numpy()
    acc = v[v["regime"] == "accumulate"]["surviving_fraction"].to_numpy()
    mix = v[v["regime"] == "mix"]["surviving_fraction"].to_numpy()
    assert rep[0] == acc[0] == mix[0] == 1.0
    assert np.all(np.diff(rep) <= 0)
    assert rep[-1] < 0.5 * rep[1]
    # accumulate: the support is fixed by the first (real) sample.
    np.testing.assert_allclose(acc[1:], acc[1])
    assert mix[-1] > rep[-1] + 0.2
    assert acc[-1] > mix[-1]


def test_vocabulary_replace_monotone_per_chain():
    # A token that vanished never comes back in replace, in every single chain.
    rng = np.random.default_rng(5)
    p0 = collapse.zipf_probabilities(200, 1.1)
    rep = collapse._simulate_vocabulary("replace", 20, 500, 5, 0, p0, rng)
    assert np.all(np.diff(rep) <= 0)


# ---------------------------------------------------------------------- API


def test_same_seed_same_numbers_different_seed_differs():
    kw = {"generations": 5, "samples": 20, "n_chains": 200, "vocab_size": 100, "vocab_chains": 10}
    a = simulate(seed=1, **kw)
    b = simulate(seed=1, **kw)
    c = simulate(seed=2, **kw)
    pd.testing.assert_frame_equal(a.gaussian, b.gaussian)
    pd.testing.assert_frame_equal(a.vocabulary, b.vocabulary)
    assert a.to_json_dict() == b.to_json_dict()
    assert not np.allclose(a.gaussian["variance_ratio"][1:], c.gaussian["variance_ratio"][1:])


def test_fresh_fraction_zero_mix_equals_replace_in_distribution():
    r = simulate(generations=20, samples=50, n_chains=4000, fresh_fraction=0.0, vocab_size=100)
    rep = _row(r.gaussian, "replace", 20)["variance_ratio"]
    mix = _row(r.gaussian, "mix", 20)["variance_ratio"]
    assert mix == pytest.approx(rep, rel=0.1)


def test_json_schema_exact(result):
    d = result.to_json_dict()
    json.dumps(d)
    assert set(d) == {"gaussian", "vocabulary", "settings"}
    assert set(d["gaussian"]) == set(REGIMES)
    assert set(d["vocabulary"]) == set(REGIMES)
    for regime in REGIMES:
        assert len(d["gaussian"][regime]) == 51
        assert len(d["vocabulary"][regime]) == 51
        for rec in d["gaussian"][regime]:
            assert set(rec) == {"generation", "variance_ratio", "tail_mass_ratio"}
            assert type(rec["generation"]) is int
            assert type(rec["variance_ratio"]) is float
            assert type(rec["tail_mass_ratio"]) is float
        for rec in d["vocabulary"][regime]:
            assert set(rec) == {"generation", "surviving_fraction"}
            assert type(rec["generation"]) is int
            assert type(rec["surviving_fraction"]) is float
    assert d["settings"]["samples"] == M
    assert d["settings"]["seed"] == 0


def test_frames_columns(result):
    assert list(result.gaussian.columns[:6]) == [
        "regime",
        "generation",
        "variance_ratio",
        "variance_ratio_mean",
        "tail_mass_ratio",
        "tail_mass_ratio_mean",
    ]
    assert "error" in result.gaussian.columns
    assert list(result.vocabulary.columns) == ["regime", "generation", "surviving_fraction"]


def test_summary_and_repr(result):
    table = result.summary_table()
    assert list(table.index) == [*REGIMES, "analytic (replace)"]
    assert table.loc["analytic (replace)", "variance_ratio_mean"] == 1.0
    text = repr(result)
    assert "CollapseResult" in text and "accumulate" in text
    assert "<table" in result._repr_html_()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"generations": 0}, "generations"),
        ({"samples": 1}, "samples"),
        ({"fresh_fraction": 1.5}, "fresh_fraction"),
        ({"fresh_fraction": -0.1}, "fresh_fraction"),
        ({"n_chains": 0}, "n_chains"),
        ({"vocab_size": 1}, "vocab_size"),
    ],
)
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(**kwargs)


# ---------------------------------------------------------------------- figures


def _lines_by_gid(fig):
    ax = fig.axes[0]
    return {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}


@pytest.mark.parametrize(
    ("plot", "data", "expected"),
    [
        (
            plot_collapse_variance,
            plot_collapse_variance_data,
            {*REGIMES, "analytic_median", "analytic_mean", "replace_mean"},
        ),
        (plot_collapse_tails, plot_collapse_tails_data, {*REGIMES, "original"}),
        (plot_collapse_vocabulary, plot_collapse_vocabulary_data, set(REGIMES)),
    ],
)
def test_figure_matches_data_twin(result, plot, data, expected):
    fig = plot(result)
    frame = data(result)
    lines = _lines_by_gid(fig)
    assert set(lines) == expected
    assert set(frame.columns) == {"generation", *expected}
    for gid, line in lines.items():
        np.testing.assert_array_equal(line.get_xdata(), frame["generation"].to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), frame[gid].to_numpy())
    ax = fig.axes[0]
    assert ax.get_title()
    assert ax.get_xlabel().startswith("generation")
    assert ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(expected)
    assert any(label.startswith("replace") for label in labels)
    footer = [t for t in fig.texts if t.get_gid() == FOOTER_GID]
    assert len(footer) == 1 and footer[0].get_text().startswith("forecast v")
    assert "seed 0" in footer[0].get_text()
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_variance_figure_log_scale_and_analytic(result):
    fig = plot_collapse_variance(result)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    line = _lines_by_gid(fig)["analytic_median"]
    assert line.get_linestyle() == "--"
    np.testing.assert_allclose(
        line.get_ydata(), analytic_median_variance_ratio(np.arange(51), M), rtol=1e-12
    )


def test_plot_on_given_axes(result):
    fig, ax = new_figure()
    out = plot_collapse_vocabulary(result, ax=ax)
    assert out is fig


# ---------------------------------------------------------------------- style


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e12, "1T"), (1e15, "1P"), (1e9, "1B"), (1e6, "1M"), (2.5e13, "25T"), (0, "0"), (500, "500")],
)
def test_token_formatter(value, text):
    assert format_tokens(value) == text


def test_add_footer_replaces():
    fig, _ = new_figure()
    add_footer(fig, seed=3, scenario="baseline", data_date="2024-06-30", extra="x")
    add_footer(fig, seed=4)
    texts = [t.get_text() for t in fig.texts if t.get_gid() == FOOTER_GID]
    assert texts == [texts[0]]
    assert "seed 4" in texts[0]
