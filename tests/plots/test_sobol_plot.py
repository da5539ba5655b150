"""The global sensitivity figure: its data twin holds the plotted numbers, bars and dots
are the indices, levers by total index."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def result():
    """Ishigami's indices (the study's code path, one in-process Dask worker)."""
    from forecast.studies.global_sensitivity import ishigami, sobol_indices
    from tests.conftest import dask_client

    levers, function = ishigami()
    with dask_client() as client:
        return sobol_indices(levers, function, n=256, seed=2, client=client, resamples=100)


def test_data_twin_is_the_indices_by_total(result):
    from forecast.plots import plot_global_sensitivity_data

    data = plot_global_sensitivity_data(result)
    assert list(data["lever"]) == result.ranking() == ["x1", "x2", "x3"]
    assert data["ST"].is_monotonic_decreasing
    want = result.indices.set_index("lever").loc[data["lever"], ["ST", "S1_low"]]
    np.testing.assert_array_equal(data[["ST", "S1_low"]].to_numpy(), want.to_numpy())
    with pytest.raises(ValueError, match="output must be one of y"):
        plot_global_sensitivity_data(result, "median")


def test_bars_and_dots_are_the_plotted_numbers(result):
    from forecast.plots import plot_global_sensitivity, plot_global_sensitivity_data

    fig = plot_global_sensitivity(result)
    data = plot_global_sensitivity_data(result)
    ax = fig.axes[0]
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    dots = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid()}
    for rec in data.itertuples(index=False):
        assert bars[f"ST:{rec.lever}"].get_width() == pytest.approx(rec.ST)
        assert dots[f"S1:{rec.lever}"].get_xdata()[0] == pytest.approx(rec.S1)
    tops = sorted(bars.values(), key=lambda p: -p.get_y())
    assert [p.get_gid() for p in tops] == [f"ST:{name}" for name in data["lever"]]
    assert "Sobol indices" in ax.get_title()
