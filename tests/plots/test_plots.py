"""Figures of forecast.plots.figures: each renders, shows what it should, and its
DataFrame twin holds exactly the plotted numbers."""

from __future__ import annotations

import dataclasses
import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from forecast.plots import (
    plot_demand_models,
    plot_demand_models_data,
    plot_diagnostics,
    plot_diagnostics_data,
    plot_main,
    plot_main_data,
    plot_prob_exhausted,
    plot_prob_exhausted_data,
    plot_sensitivity,
    plot_sensitivity_data,
    plot_stock_waterfall,
    plot_stock_waterfall_data,
)
from forecast.plots.style import FOOTER_GID, format_tokens
from forecast.studies.sensitivity import DEFAULT_LEVERS, Lever, sensitivity


def _render(fig: Figure) -> None:
    fig.savefig(io.BytesIO(), format="png", dpi=50)


def _by_gid(fig: Figure, gid: str):
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def _footer(fig: Figure) -> str:
    texts = [t for t in fig.texts if t.get_gid() == FOOTER_GID]
    assert len(texts) == 1
    return texts[0].get_text()


def test_main_figure(scenario_results):
    fig = plot_main(scenario_results)
    _render(fig)
    data = plot_main_data(scenario_results)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_xlim() == (2018, 2040)
    # token axis labels in T/P
    assert format_tokens(1e12) == "1T" and format_tokens(1e15) == "1P"
    assert ax.yaxis.get_major_formatter()(1e12, 0) == "1T"
    (line,) = _by_gid(fig, "demand_median")
    d = data[data["series"] == "demand_median"]
    np.testing.assert_allclose(line.get_xdata(), d["year"])
    np.testing.assert_allclose(line.get_ydata(), d["tokens"])
    (stock,) = _by_gid(fig, "stock_median")
    np.testing.assert_allclose(
        stock.get_ydata(), data.loc[data["series"] == "stock_median", "tokens"]
    )
    np.testing.assert_allclose(
        stock.get_ydata(), scenario_results[0].stock_bands["median"].to_numpy()
    )
    for tag in ("50", "80", "95"):
        assert _by_gid(fig, f"demand_band_{tag}")
    assert _by_gid(fig, "stock_band_90")
    pts = _by_gid(fig, "models")[0].get_offsets()
    models = data[data["series"] == "models"]
    np.testing.assert_allclose(np.asarray(pts)[:, 1], models["tokens"])
    # one exhaustion marker + bar per scenario, at the median / p10-p90
    for r in scenario_results:
        (marker,) = _by_gid(fig, f"exhaustion_median:{r.name}")
        assert marker.get_xdata()[0] == pytest.approx(r.exhaustion.quantile(0.5))
        (bar,) = _by_gid(fig, f"exhaustion:{r.name}")
        hi = r.exhaustion.quantile(0.9)  # NaN = after the horizon: the bar runs off the plot
        np.testing.assert_allclose(
            bar.get_xdata(), [r.exhaustion.quantile(0.1), hi if np.isfinite(hi) else 2040]
        )
    texts = " ".join(t.get_text() for t in ax.texts)
    for label in ("GPT-1", "GPT-2", "GPT-3", "Chinchilla", "Llama 3"):
        assert label in texts
    assert "(largest)" in texts
    legend = ax.get_legend()
    assert legend is not None and "80%" in legend.get_title().get_text()
    assert "seed 3" in _footer(fig) and "data as of" in _footer(fig)


def test_main_figure_single_result_and_given_axes(scenario_results):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_main(scenario_results[0], ax=ax) is fig
    _render(fig)


def test_prob_exhausted(scenario_results):
    fig = plot_prob_exhausted(scenario_results)
    _render(fig)
    data = plot_prob_exhausted_data(scenario_results)
    assert list(data.columns) == ["year"] + [r.name for r in scenario_results]
    for r in scenario_results:
        (line,) = _by_gid(fig, r.name)
        np.testing.assert_allclose(line.get_ydata(), data[r.name], equal_nan=True)
        expected = r.exhaustion.prob_exhausted_by(data["year"].to_numpy())
        np.testing.assert_allclose(data[r.name], expected.to_numpy(), equal_nan=True)
    ref = {round(line.get_ydata()[0], 3) for line in fig.axes[0].lines if line.get_gid() is None}
    assert {0.1, 0.5, 0.9} <= ref
    assert fig.axes[0].get_legend() is not None


def test_stock_waterfall(scenario_results):
    base = scenario_results[0]
    data = plot_stock_waterfall_data(base)
    assert data["step"].iloc[0] == "raw"
    assert set(data["step"]) <= set(base.stock_steps["step"])
    assert (data["year"] == np.floor(base.scenario.start)).all()
    fig = plot_stock_waterfall(base)
    _render(fig)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    for rec in data.itertuples():
        (bar,) = _by_gid(fig, rec.step)
        assert bar.get_height() == pytest.approx(rec.median)
    # lever-off steps (no change) are omitted and named in the note
    assert "consent_restricted" not in set(data["step"])
    later = plot_stock_waterfall_data(base, year=2030)
    assert (later["year"] == 2030).all()


def test_sensitivity_frame_and_tornado(bundled_demand):
    levers = [DEFAULT_LEVERS[1], "quality fraction", Lever("noop", "a", {}, "b", {})]
    sens = sensitivity("baseline", bundled_demand, levers=levers, draws=1000, seed=1)
    assert list(sens.columns) == [
        "lever",
        "low_label",
        "high_label",
        "median_low",
        "median_high",
        "base_median",
        "swing",
        "mc_se",
    ]
    assert (sens["mc_se"] > 0).all()  # Monte Carlo error of the medians, reported
    assert sens["swing"].is_monotonic_decreasing
    noop = sens.set_index("lever").loc["noop"]
    assert noop["median_low"] == pytest.approx(noop["base_median"])
    ot = sens.set_index("lever").loc["tokens per parameter"]
    assert ot["median_high"] < ot["median_low"]  # the ratio's trend exhausts sooner than 20
    fig = plot_sensitivity(sens)
    _render(fig)
    data = plot_sensitivity_data(sens)
    for rec in data.itertuples():
        (low,) = _by_gid(fig, f"low:{rec.lever}")
        assert low.get_x() + low.get_width() == pytest.approx(rec.low_plot)
        (high,) = _by_gid(fig, f"high:{rec.lever}")
        assert high.get_x() + high.get_width() == pytest.approx(rec.high_plot)
    ax = fig.axes[0]
    ticks = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True))
    assert [label for _, label in ticks[::-1]] == list(data["lever"])  # largest swing on top


def test_sensitivity_rejects_unknown_lever(bundled_demand):
    from forecast.errors import ForecastError

    with pytest.raises(ForecastError, match="unknown sensitivity lever"):
        sensitivity("baseline", bundled_demand, levers=["nope"], draws=200)


def test_demand_models(bundled_demand):
    years = np.arange(2018.0, 2031.0, 0.5)
    fig = plot_demand_models(bundled_demand, years)
    _render(fig)
    data = plot_demand_models_data(bundled_demand, years)
    assert set(data["model"]) == set(bundled_demand.fits)
    for name, fit in bundled_demand.fits.items():
        (line,) = _by_gid(fig, f"fit:{name}")
        np.testing.assert_allclose(line.get_ydata(), data.loc[data["model"] == name, "fit_median"])
        np.testing.assert_allclose(line.get_ydata(), fit.fitted_line(years)["median"])
        assert _by_gid(fig, f"band:{name}")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("LOO weight n/a" in t for t in labels)
    assert any("x/yr" in t for t in labels)


def test_diagnostics(bundled_demand):
    fig = plot_diagnostics(bundled_demand)
    _render(fig)
    data = plot_diagnostics_data(bundled_demand)
    ppc = data[data["kind"] == "ppc"]
    frontier = [n for n, f in bundled_demand.fits.items() if f.model.shows_predictive_check()]
    assert "compute-frontier" in frontier
    assert set(ppc["model"]) == set(frontier)
    assert (ppc["p2_5"] <= ppc["p10"]).all() and (ppc["p90"] <= ppc["p97_5"]).all()
    for name in frontier:
        obs = _by_gid(fig, f"observed:{name}")[0]
        np.testing.assert_allclose(
            np.asarray(obs.get_offsets())[:, 1],
            ppc.loc[ppc["model"] == name].sort_values("year", kind="stable")["observed"],
        )
    ranks = data[data["kind"] == "rank"]
    fit = bundled_demand.fits["frontier"]
    n_draws = fit.posterior.sizes["draw"]
    per_chain = ranks[(ranks["model"] == "frontier") & (ranks["parameter"] == "slope")]
    assert per_chain.groupby("chain")["count"].sum().eq(n_draws).all()
    (line,) = _by_gid(fig, "rank:frontier:slope:0")
    np.testing.assert_allclose(line.get_ydata(), per_chain[per_chain["chain"] == 0]["count"])
    assert "seed" in _footer(fig)


def test_diagnostics_of_the_default_alone(bundled_demand):
    """The report's demand set holds only the default (demand v3): its own check (compute
    runs' log10 FLOP) and its own parameters' rank plots."""
    name = "compute-frontier"
    alone = dataclasses.replace(bundled_demand, fits={name: bundled_demand.fits[name]})
    fig = plot_diagnostics(alone)
    _render(fig)
    data = plot_diagnostics_data(alone)
    ppc = data[data["kind"] == "ppc"]
    fit = alone.fits[name]
    assert len(ppc) == int(fit.rows["role_compute"].astype(bool).sum())
    assert set(data.loc[data["kind"] == "rank", "parameter"]) == set(fit.model.rank_parameters)
    assert _by_gid(fig, f"rank:{name}:compute_growth:0")
    assert _by_gid(fig, f"observed:{name}")


def test_figures_have_footer_and_titles(scenario_results, bundled_demand):
    figs = [
        plot_main(scenario_results),
        plot_prob_exhausted(scenario_results),
        plot_stock_waterfall(scenario_results[0]),
        plot_demand_models(bundled_demand),
    ]
    for fig in figs:
        assert "forecast v" in _footer(fig)
        assert fig.axes[0].get_title()
        assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    assert isinstance(plot_main_data(scenario_results), pd.DataFrame)


# --- figures placed on the user's own Axes (issue 18) -------------------------------------


def _inside(fig: Figure, ax) -> list[str]:
    """Unclipped texts and the legend that end up outside ``ax`` (display pixels). Texts
    clipped to the axes cannot draw outside them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    artists = [t for t in ax.texts if t.get_visible() and t.get_text() and not t.get_clip_on()]
    if ax.get_legend() is not None:
        artists.append(ax.get_legend())
    out = []
    for artist in artists:
        ext = artist.get_window_extent(renderer)
        if ext.x0 < box.x0 - 1 or ext.x1 > box.x1 + 1 or ext.y0 < box.y0 - 1 or ext.y1 > box.y1 + 1:
            out.append(getattr(artist, "get_text", lambda: "legend")())
    return out


@pytest.mark.parametrize("plot", [plot_main, plot_prob_exhausted])
def test_on_users_axes_nothing_outside_and_no_footer(scenario_results, plot):
    fig = Figure(figsize=(12, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot(scenario_results, ax=left)
    assert not [t for t in fig.texts if t.get_gid() == FOOTER_GID and t.get_visible()]
    assert left.get_legend() is not None
    assert _inside(fig, left) == []
    assert right.get_legend() is None and not right.texts


def test_labels_title_legend_and_footer_options(scenario_results):
    names = [r.name for r in scenario_results]
    fig = plot_main(
        scenario_results,
        labels={names[0]: "Our central case"},
        title="My title",
        legend=None,
        footer=False,
    )
    ax = fig.axes[0]
    assert ax.get_title() == "My title" and ax.get_legend() is None
    assert not [t for t in fig.texts if t.get_gid() == FOOTER_GID and t.get_visible()]
    assert any(t.get_text().startswith("Our central case:") for t in ax.texts)
    fig = plot_prob_exhausted(scenario_results, labels=["a", "b", "c"], legend="outside")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert [t.split(" (")[0] for t in texts] == ["a", "b", "c"]
    assert _footer(fig)  # a new figure keeps its footer
    with pytest.raises(ValueError, match="labels: 2 given for 3 results"):
        plot_prob_exhausted(scenario_results, labels=["a", "b"])
    with pytest.raises(ValueError, match="legend must be one of"):
        plot_main(scenario_results, legend="left")
    fig = Figure()
    plot_main(scenario_results, ax=fig.add_subplot(), footer=True)
    assert _footer(fig)


def test_prob_exhausted_ticks_levels_and_bare_results(scenario_results):
    fig = plot_prob_exhausted(scenario_results, levels=(0.25, 0.75))
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = ax.get_xticks()
    assert np.allclose(ticks, np.round(ticks))  # whole years, never 2027.5
    assert sorted(t.get_text() for t in ax.texts) == ["25%", "75%"]
    bare = [r.exhaustion for r in scenario_results[:2]]
    fig = plot_prob_exhausted(bare)
    assert {ln.get_gid() for ln in fig.axes[0].get_lines() if ln.get_gid()} == {
        "result",
        "result 2",
    }
    assert list(plot_prob_exhausted_data(bare).columns) == ["year", "result", "result 2"]
    with pytest.raises(TypeError, match="plot_main needs ScenarioResult"):
        plot_main(bare)


def test_interval_marker_only_when_the_interval_continues(scenario_results):
    fig = plot_main(scenario_results, xlim=(2018, 2100))
    markers = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == ">"]
    continuing = [r for r in scenario_results if not np.isfinite(r.exhaustion.quantile(0.9))]
    assert len(markers) == len(continuing)


def test_every_single_axes_figure_takes_the_placement_options(scenario_results):
    import inspect

    import forecast.plots as plots

    single = [
        name
        for name in plots.__all__
        if name.startswith("plot_")
        and not name.endswith("_data")
        and "ax" in inspect.signature(getattr(plots, name)).parameters
    ]
    assert len(single) >= 12
    for name in single:
        params = inspect.signature(getattr(plots, name)).parameters
        assert {"title", "legend", "footer"} <= set(params), name
    # On a user's Axes: no visible footer, the title and legend options applied.
    fig = Figure()
    ax = fig.add_subplot()
    plot_stock_waterfall(scenario_results[0], ax=ax, title="Stock")
    assert ax.get_title() == "Stock"
    assert not [t for t in fig.texts if t.get_gid() == FOOTER_GID and t.get_visible()]
    own = plot_stock_waterfall(scenario_results[0], footer=False, legend=None)
    assert not [t for t in own.texts if t.get_gid() == FOOTER_GID and t.get_visible()]
    assert own.axes[0].get_legend() is None
    with pytest.raises(ValueError, match="legend must be one of"):
        plot_stock_waterfall(scenario_results[0], legend="top")


def test_multi_panel_figures_take_title_and_footer(bundled_demand):
    fig = plot_diagnostics(bundled_demand, title="Health", footer=False)
    assert fig._suptitle.get_text() == "Health"
    assert not [t for t in fig.texts if t.get_gid() == FOOTER_GID and t.get_visible()]


def test_compute_figure_shows_demand_compute_and_the_limits(scenario_results):
    from forecast.demand.feasibility import Feasibility, latency_wall_log10
    from forecast.plots import plot_compute, plot_compute_data

    base = scenario_results[0]
    data = plot_compute_data(base)
    assert list(data.columns) == ["series", "year", "median", "p10", "p90", "p2_5", "p97_5"]
    demand = data[data["series"] == "demand compute"]
    np.testing.assert_allclose(demand["median"], base.compute_bands["median"])
    assert (demand["p2_5"] <= demand["p10"]).all() and (demand["p90"] <= demand["p97_5"]).all()
    # every draw is under the latency wall, and the wall is the table's
    wall = data.loc[data["series"] == "latency wall", "median"].item()
    assert wall == pytest.approx(10 ** latency_wall_log10()) and wall == pytest.approx(3e31)
    assert (demand["p97_5"] <= wall * (1 + 1e-9)).all()
    # the 2030 limit is the lower of the power and chip limits: below both medians
    limit = data[data["series"] == "feasible largest run in 2030"].iloc[0]
    assert limit["year"] == 2030.0 and limit["p10"] < limit["median"] < limit["p90"]
    assert 1e28 < limit["median"] < np.sqrt(1e28 * 2e30)  # power's median, 1.4e29
    rng = np.random.default_rng(0)
    other = np.median(10 ** Feasibility.draw(200_000, 2030.0, rng).ceiling_2030)
    assert limit["median"] == pytest.approx(other, rel=0.03)
    recorded = data[data["series"] == "recorded compute"]
    assert len(recorded) == base.models["compute_flop"].notna().sum()
    fig = plot_compute(base)
    _render(fig)
    (line,) = _by_gid(fig, "line:compute")
    kept = demand[demand["year"] <= line.get_xdata().max()]
    np.testing.assert_allclose(line.get_ydata(), kept["median"])
    assert _by_gid(fig, "wall") and _by_gid(fig, "limit:2030")
    assert base.scenario.name in _footer(fig)


# --- issue 37: every stock band, a legend clear of the crossing, both tornado ends ----------


def _crossing(data: pd.DataFrame) -> tuple[float, float]:
    """(year, tokens) where the first result's demand median first reaches its stock's."""
    demand = data[data["series"] == "demand_median"].set_index("year")["tokens"]
    stock = data[data["series"] == "stock_median"].set_index("year")["tokens"]
    both = pd.concat([demand, stock], axis=1, keys=["demand", "stock"]).dropna()
    year = both.index[(both["demand"] >= both["stock"]).to_numpy()][0]
    return float(year), float(both.loc[year, "stock"])


def test_main_figure_draws_every_scenarios_stock(scenario_results):
    fig = plot_main(scenario_results)
    _render(fig)
    data = plot_main_data(scenario_results)
    first, *others = scenario_results
    for r in others:  # each compared scenario's stock differs from the baseline's here
        suffix = f":{r.name}"
        (line,) = _by_gid(fig, f"stock_median{suffix}")
        rows = data[data["series"] == f"stock_median{suffix}"]
        assert set(rows["label"]) == {r.name}
        np.testing.assert_allclose(line.get_xdata(), rows["year"])
        np.testing.assert_allclose(line.get_ydata(), rows["tokens"])
        np.testing.assert_allclose(line.get_ydata(), r.stock_bands["median"].to_numpy())
        assert len(_by_gid(fig, f"stock_band_90{suffix}")) == 1
        for q in ("p5", "p95"):
            np.testing.assert_allclose(
                data.loc[data["series"] == f"stock_{q}{suffix}", "tokens"], r.stock_bands[q]
            )
    # a scenario with the same stock as one before it adds no band and no rows
    twice = plot_main_data([first, first])
    assert not twice["series"].str.contains(":").any()
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "default demand (v3: largest run from compute" in legend
    assert "(default)" not in legend and "average" not in legend


def test_main_legend_on_a_users_axes_leaves_the_crossing_clear(scenario_results):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(12, 4), layout="constrained")
    left, _right = fig.subplots(1, 2)
    plot_main(scenario_results, ax=left)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = left.get_legend().get_window_extent(canvas.get_renderer())
    year, tokens = _crossing(plot_main_data(scenario_results))
    assert 2026 <= year <= 2032
    x, y = left.transData.transform((year, tokens))
    assert not box.contains(x, y), (year, tokens)
    # nor the exhaustion bars at the bottom
    for r in scenario_results:
        (marker,) = _by_gid(fig, f"exhaustion_median:{r.name}")
        mx, my = marker.get_transform().transform(marker.get_xydata()[0])
        assert not box.contains(mx, my), r.name
    texts = [t.get_text() for t in left.get_legend().get_texts()]
    assert any(t.startswith("stock of epoch2024: median") for t in texts)


def test_prob_exhausted_footer_says_why_the_curves_start_above_zero(scenario_results):
    fig = plot_prob_exhausted(scenario_results)
    shares = [r.exhaustion.already_exhausted_share for r in scenario_results]
    footer = _footer(fig)
    assert "of draws exhausted already at the start" in footer
    assert f"{min(shares):.1%}" in footer and f"{max(shares):.1%}" in footer


def test_tornado_shows_both_ends_when_they_move_the_same_way():
    """Issue 37: a lever whose two ends both move the median later had its shorter bar
    hidden under the longer one; each end now has its own half of the row."""
    sens = pd.DataFrame(
        {
            "lever": ["compute growth", "quality fraction"],
            "low_label": ["0.35 OOM/yr", "0.1"],
            "high_label": ["0.7 OOM/yr", "0.4"],
            "median_low": [2030.5, 2028.9],
            "median_high": [2033.8, 2030.3],
            "base_median": [2029.8, 2029.8],
            "swing": [3.3, 1.4],
            "mc_se": [0.02, 0.02],
        }
    )
    sens.attrs.update(horizon=2100.0, scenario="baseline", draws=1000, seed=0)
    fig = plot_sensitivity(sens)
    _render(fig)
    for rec in plot_sensitivity_data(sens).itertuples():
        (low,) = _by_gid(fig, f"low:{rec.lever}")
        (high,) = _by_gid(fig, f"high:{rec.lever}")
        assert low.get_x() + low.get_width() == pytest.approx(rec.low_plot)
        assert high.get_x() + high.get_width() == pytest.approx(rec.high_plot)
        assert low.get_y() >= high.get_y() + high.get_height()  # side by side, not on top
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.35 OOM/yr: 2030.5" in texts and "0.7 OOM/yr: 2033.8" in texts
