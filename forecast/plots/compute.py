"""Figure of the training compute behind the demand: the compute the projected largest run
needs, beside the physical limits of Sevilla et al. 2024 (:func:`plot_compute`), with its
``*_data`` twin (see :mod:`forecast.plots.figures` for the conventions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from forecast.plots.style import (
    FIGSIZE,
    add_footer,
    literal_text,
    new_figure,
    placeable,
    scatter_models,
)

__all__ = ["plot_compute", "plot_compute_data"]

_DEMAND = "#0072B2"
_LIMIT = "#D55E00"
_WALL = "#222222"
#: Draws of the 2030 limits for their quantiles (fixed seed: the figure is reproducible).
_LIMIT_DRAWS = 100_000
_LIMIT_SEED = 2030
_COLUMNS = ["series", "year", "median", "p10", "p90", "p2_5", "p97_5"]


def _limit_rows() -> list[dict]:
    """The 2030 ceiling (the lower of the power and chip limits) and the latency wall."""
    from forecast.demand.feasibility import CEILING_YEAR, Feasibility, latency_wall_log10

    rng = np.random.default_rng(_LIMIT_SEED)
    ceiling = 10.0 ** Feasibility.draw(_LIMIT_DRAWS, CEILING_YEAR, rng).ceiling_2030
    q = np.quantile(ceiling, [0.5, 0.1, 0.9, 0.025, 0.975])
    wall = 10.0 ** latency_wall_log10()
    return [
        dict(zip(_COLUMNS, ["feasible largest run in 2030", CEILING_YEAR, *q], strict=True)),
        {"series": "latency wall", "year": np.nan, "median": wall},
    ]


def plot_compute_data(result) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_compute`: ``series``, ``year`` (decimal), ``median``,
    ``p10``, ``p90``, ``p2_5``, ``p97_5`` (FLOP). Series: "demand compute" (the training
    compute of the scenario's largest run, by year: for demand v3 its own record runs, for
    token trends 6 D^2 / r with the scenario's tokens per parameter), "recorded compute"
    (notable models' compute, median only), "feasible largest run in 2030" (the lower of
    the power and chip limits, data/feasibility.csv) and "latency wall" (a hard cap, median
    only). Gids: ``band:compute``, ``line:compute``, ``limit:2030``, ``wall``."""
    bands = result.compute_bands
    parts = []
    if not bands.empty:
        demand = bands[["year", "median", "p10", "p90", "p2_5", "p97_5"]].copy()
        demand.insert(0, "series", "demand compute")
        parts.append(demand)
    models = result.models
    if "compute_flop" in models:
        rec = models.dropna(subset=["compute_flop"])
        parts.append(
            pd.DataFrame(
                {"series": "recorded compute", "year": rec["year"], "median": rec["compute_flop"]}
            )
        )
    parts.append(pd.DataFrame(_limit_rows()))
    return pd.concat(parts, ignore_index=True).reindex(columns=_COLUMNS)


@literal_text
@placeable
def plot_compute(result, ax: Axes | None = None) -> Figure:
    """The training compute of the scenario's largest run (median, 80% and 95% bands)
    beside notable models' recorded compute, the feasible largest run in 2030 (median,
    80% and 95% intervals of the lower of the power and chip limits) and the latency wall
    (Sevilla et al. 2024, data/feasibility.csv)."""
    data = plot_compute_data(result)
    fig, ax = new_figure(ax, FIGSIZE)
    rec = data[data["series"] == "recorded compute"]
    if len(rec):
        scatter_models(ax, rec["year"], rec["median"], size=12, alpha=0.5, label="notable models")
    d = data[data["series"] == "demand compute"]
    if len(d):
        d = d[d["year"] <= max(2045.0, float(d["year"].min()) + 15.0)]
        ax.fill_between(
            d["year"], d["p2_5"], d["p97_5"], color=_DEMAND, alpha=0.10, lw=0, gid="band:compute"
        )
        ax.fill_between(d["year"], d["p10"], d["p90"], color=_DEMAND, alpha=0.22, lw=0)
        ax.plot(
            d["year"],
            d["median"],
            color=_DEMAND,
            lw=2,
            label=f"largest run's compute, {result.scenario.name} (median, 80%, 95%)",
            gid="line:compute",
        )
    lim = data[data["series"] == "feasible largest run in 2030"].iloc[0]
    ax.errorbar(
        [lim["year"]],
        [lim["median"]],
        yerr=[[lim["median"] - lim["p2_5"]], [lim["p97_5"] - lim["median"]]],
        fmt="none",
        ecolor=_LIMIT,
        elinewidth=1.0,
        capsize=4,
        zorder=5,
    )
    ax.errorbar(
        [lim["year"]],
        [lim["median"]],
        yerr=[[lim["median"] - lim["p10"]], [lim["p90"] - lim["median"]]],
        fmt="s",
        color=_LIMIT,
        elinewidth=3.0,
        ms=6,
        zorder=6,
        label="feasible largest run in 2030: power and chips (median, 80%, 95%)",
        gid="limit:2030",
    )
    wall = float(data.loc[data["series"] == "latency wall", "median"].iloc[0])
    ax.axhline(wall, color=_WALL, lw=1.2, ls="--", gid="wall")
    ax.text(
        0.01,
        wall,
        f" latency wall {wall:.0e} FLOP (hard cap)",
        transform=ax.get_yaxis_transform(),
        va="bottom",
        fontsize=8,
    )
    ax.set_yscale("log")
    ax.set_ylabel("training compute (FLOP)")
    ax.set_xlabel("year")
    ax.set_title("Training compute the demand implies, beside physical limits")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.92)
    add_footer(
        fig,
        data_date=result.data_date,
        seed=result.seed,
        scenario=result.scenario.name,
        extra="limits: Sevilla et al. 2024 (data/feasibility.csv)",
    )
    return fig
