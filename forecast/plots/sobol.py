"""Figure of the global sensitivity study
(:func:`forecast.studies.global_sensitivity.global_sensitivity`).

``plot_global_sensitivity`` draws, for one output, each lever's total Sobol index (bar,
with its bootstrap interval) and first-order index (dot, with its interval), levers by
total index, largest on top; ``plot_global_sensitivity_data`` returns exactly the plotted
numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from forecast.plots.style import add_footer, literal_text, new_figure, placeable

__all__ = ["plot_global_sensitivity", "plot_global_sensitivity_data"]

_TOTAL, _FIRST = "#0072B2", "#D55E00"


def plot_global_sensitivity_data(result, output: str | None = None) -> pd.DataFrame:
    """Plotted numbers, top bar first: ``lever``, ``ST``, ``ST_low``, ``ST_high``, ``S1``,
    ``S1_low``, ``S1_high`` (shares of the output's variance; the intervals at the
    result's ``conf_level``) of ``output`` (default: the first, the median year)."""
    names = list(result.outputs["output"])
    output = names[0] if output is None else output
    if output not in names:
        raise ValueError(f"output must be one of {', '.join(names)}, got {output!r}")
    rows = result.indices[result.indices["output"] == output]
    rows = rows.sort_values("ST", ascending=False, kind="stable", na_position="last")
    columns = ["lever", "ST", "ST_low", "ST_high", "S1", "S1_low", "S1_high"]
    return rows[columns].reset_index(drop=True)


@literal_text
@placeable
def plot_global_sensitivity(result, output: str | None = None, ax: Axes | None = None) -> Figure:
    """Which lever matters for ``output``: total index (bar: the share of the variance the
    lever takes part in, alone or with others) and first-order index (dot: the share
    learning it would remove on average), each with its bootstrap interval (whiskers).
    Artist gids ``ST:<lever>`` and ``S1:<lever>``."""
    data = plot_global_sensitivity_data(result, output)
    output = output or str(result.outputs["output"].iloc[0])
    described = dict(zip(result.outputs["output"], result.outputs["description"], strict=True))
    fig, ax = new_figure(ax, (8.0, 0.42 * len(data) + 2.2))
    y = np.arange(len(data))[::-1]
    for yi, rec in zip(y, data.itertuples(index=False), strict=True):
        st = 0.0 if np.isnan(rec.ST) else rec.ST
        (bar,) = ax.barh([yi], [st], height=0.6, color=_TOTAL, alpha=0.55, zorder=2)
        bar.set_gid(f"ST:{rec.lever}")
        ax.plot([rec.ST_low, rec.ST_high], [yi, yi], color=_TOTAL, lw=1.4, zorder=3)
        ax.plot([rec.S1_low, rec.S1_high], [yi - 0.18, yi - 0.18], color=_FIRST, lw=1.0)
        ax.plot([rec.S1], [yi - 0.18], "o", ms=4, color=_FIRST, gid=f"S1:{rec.lever}", zorder=4)
        ax.text(max(st, rec.ST_high) + 0.01, yi, f"{st:.2f}", va="center", fontsize=7.5)
    ax.axvline(0.0, color="#222222", lw=0.8)
    ax.set_yticks(y, [str(name) for name in data["lever"]], fontsize=8.5)
    ax.grid(False, axis="y")
    top = float(np.nanmax([1.0, *data["ST_high"].to_numpy(dtype=float)]))
    ax.set_xlim(
        min(-0.05, float(np.nanmin(data["S1_low"].to_numpy(dtype=float), initial=0))), top + 0.08
    )
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.set_xlabel(f"share of the variance of the {described.get(output, output).split(' (')[0]}")
    s = result.settings
    where = f" ({s['scenario']})" if "scenario" in s else ""
    ax.set_title(f"Which assumption matters: Sobol indices{where}", parse_math=False)
    level = f"{s.get('conf_level', 0.95):.0%}"
    ax.legend(
        [Patch(color=_TOTAL, alpha=0.55), Line2D([], [], color=_FIRST, marker="o", lw=1.0)],
        ["total index ST (alone or with others)", "first-order index S1 (alone)"],
        loc="lower right",
        fontsize=8,
        framealpha=0.92,
    )
    draws = s.get("draws")
    add_footer(
        fig,
        data_date=s.get("data_date"),
        seed=s.get("seed"),
        scenario=s.get("scenario"),
        extra=f"{s.get('evaluations', 0):,} settings"
        + (f" x {draws:,} draws" if draws else "")
        + f" · whiskers: {level} bootstrap",
    )
    return fig
