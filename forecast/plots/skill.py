"""Figures of forecast skill: calibration of a backtest (:func:`plot_calibration`) and the
leave-future-out study (:func:`plot_skill`). Each has a ``*_data`` twin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FuncFormatter,
)

from forecast.plots.style import (
    FIGSIZE,
    add_footer,
    interval_note,
    literal_text,
    new_figure,
    owned_figure,
    placeable,
    scenario_color,
)

__all__ = [
    "plot_calibration",
    "plot_calibration_data",
    "plot_skill",
    "plot_skill_data",
]


def plot_calibration_data(calibration: pd.DataFrame) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_calibration`: method, view, nominal, empirical, n
    (one line per ``method|view`` gid), from :func:`forecast.evaluation.backtest.calibration_table`."""
    cols = ["method", "view", "nominal", "empirical", "n"]
    return calibration[cols].sort_values(["method", "view", "nominal"]).reset_index(drop=True)


@literal_text
@placeable
def plot_calibration(calibration: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Nominal vs empirical interval coverage of each method in a rolling-origin backtest.

    Points on the diagonal are calibrated; below it, intervals are too narrow (later
    models fall outside more often than the nominal level says).
    """
    data = plot_calibration_data(calibration)
    fig, ax = new_figure(ax, FIGSIZE)
    ax.plot([0, 1], [0, 1], ls="--", color="#888888", lw=1, label="calibrated", gid="diagonal")
    ax.axhspan(0.7, 0.9, xmin=0.75, xmax=0.85, color="#dddddd", zorder=0)
    for i, ((method, view), g) in enumerate(data.groupby(["method", "view"], sort=False)):
        ax.plot(
            g["nominal"].to_numpy(),
            g["empirical"].to_numpy(),
            marker="o" if view == "population" else "s",
            ls="-" if view == "population" else ":",
            color=scenario_color(i // 2 if data["view"].nunique() > 1 else i),
            gid=f"{method}|{view}",
            label=f"{method} ({view}, n={int(g['n'].max())})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_xlabel("nominal coverage of the central interval")
    ax.set_ylabel("share of later models inside it")
    ax.set_title("Backtest calibration: do the intervals cover what happened next?")
    ax.legend(loc="upper left", fontsize=7.5, framealpha=0.92, ncol=2)
    interval_note(
        ax,
        "Pooled over rolling cutoffs; population = every later model,\n"
        "frontier = largest run per half-year. Grey box: 70-90% aim at 80%.",
        loc="lower right",
    )
    add_footer(fig, extra="rolling-origin backtest on the bundled training runs")
    return fig


#: Methods the skill figure shows beside the default (when the study has them).
SKILL_BASELINES: tuple[str, ...] = ("ols", "epoch-bootstrap")


def plot_skill_data(study) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_skill`: per (method, horizon) the pooled 80% coverage
    and CRPS of the half-year frontier maxima with their origin-bootstrap intervals
    (``panel`` ``coverage``/``crps``), and the default's PIT histogram (``panel`` ``pit``:
    ``horizon`` holds the bin's lower edge, ``value`` the count)."""
    shown = [study.default, *(m for m in SKILL_BASELINES if m in study.methods)]
    summary = study.summary()
    summary = summary[summary["method"].isin(shown)]
    parts = []
    for panel, value, low, high in (
        ("coverage", "coverage_80", "coverage_80_low", "coverage_80_high"),
        ("crps", "crps", "crps_low", "crps_high"),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "panel": panel,
                    "method": summary["method"].to_numpy(),
                    "horizon": summary["horizon"].to_numpy(dtype=float),
                    "value": summary[value].to_numpy(dtype=float),
                    "low": summary[low].to_numpy(dtype=float),
                    "high": summary[high].to_numpy(dtype=float),
                    "n": summary["n"].to_numpy(),
                }
            )
        )
    pit = study.pit_histogram()
    parts.append(
        pd.DataFrame(
            {
                "panel": "pit",
                "method": study.default,
                "horizon": pit["low"].to_numpy(dtype=float),
                "value": pit["count"].to_numpy(dtype=float),
                "low": np.nan,
                "high": np.nan,
                "n": int(pit["count"].sum()),
            }
        )
    )
    return pd.concat(parts, ignore_index=True)


@literal_text
def plot_skill(study, *, title: str | None = None, footer: bool | None = None) -> Figure:
    """Forecast skill out of sample (:func:`forecast.evaluation.skill.evaluate`): 80% coverage and
    CRPS of the largest run per half-year by horizon, the default against two baselines
    with 95% origin-bootstrap intervals, and the default's PIT histogram. ``title``
    replaces the figure title ("" for none); ``footer=True`` adds the provenance line."""

    data = plot_skill_data(study)
    fig = owned_figure(figsize=(12.0, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    methods = list(dict.fromkeys(data.loc[data["panel"] != "pit", "method"]))
    offsets = {m: (i - (len(methods) - 1) / 2) * 0.08 for i, m in enumerate(methods)}
    for ax, panel, label in (
        (axes[0], "coverage", "share inside the central 80% interval"),
        (axes[1], "crps", "CRPS (orders of magnitude; lower is better)"),
    ):
        for i, method in enumerate(methods):
            g = data[(data["panel"] == panel) & (data["method"] == method)]
            x = g["horizon"].to_numpy() + offsets[method]
            ax.errorbar(
                x,
                g["value"],
                yerr=[g["value"] - g["low"], g["high"] - g["value"]],
                marker="o",
                capsize=3,
                color=scenario_color(i),
                label=method,
                gid=f"{panel}|{method}",
            )
        ax.set_xlabel("horizon (years after the origin)")
        ax.set_ylabel(label)
        ax.set_xticks(sorted(data.loc[data["panel"] == panel, "horizon"].unique()))
    axes[0].axhline(0.8, ls="--", color="#888888", lw=1)
    axes[0].axhspan(0.7, 0.9, color="#eeeeee", zorder=0)
    axes[0].set_ylim(0, 1.02)
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    axes[0].set_title("Coverage of the half-year maximum")
    axes[0].legend(loc="lower left", fontsize=8)
    axes[1].set_title("Accuracy (CRPS)")
    pit = data[data["panel"] == "pit"]
    width = float(np.diff(pit["horizon"]).min()) if len(pit) > 1 else 0.1
    axes[2].bar(
        pit["horizon"], pit["value"], width=width, align="edge", color=scenario_color(0), gid="pit"
    )
    if len(pit):
        axes[2].axhline(pit["value"].sum() / len(pit), ls="--", color="#888888", lw=1)
    axes[2].set_xlim(0, 1)
    axes[2].set_xlabel("PIT (predictive CDF at the outcome)")
    axes[2].set_ylabel("half-year maxima")
    axes[2].set_title(f"PIT of {study.default} (flat = calibrated)")
    default = (
        f"Leave-future-out skill: {len(study.origins)} origins, bars = 95% intervals "
        "resampling origins"
    )
    fig.suptitle(default if title is None else title, fontsize=10)
    if footer:
        add_footer(fig, extra=f"default demand: {study.default}", show=True)
    return fig
