"""Figures of the exhaustion forecast: the main figure, P(exhausted by year), the stock
waterfall and the sensitivity tornado, plus the helpers every figure module shares (the
demand models and diagnostics are in :mod:`forecast.plots.demand`, forecast skill in
:mod:`forecast.plots.skill`, model collapse in :mod:`forecast.plots.collapse`).

Each ``plot_*`` function takes results objects (:class:`~forecast.pipeline.ScenarioResult`,
:class:`~forecast.pipeline.DemandSet` or a sensitivity frame) and an optional axes and
returns a plain :class:`matplotlib.figure.Figure` (no pyplot state). Its ``plot_*_data``
twin returns a DataFrame holding exactly the plotted numbers; every plotted line or
collection carries a ``gid`` naming the rows of the twin it shows (see each docstring).
Token axes are log scale with T (1e12) / P (1e15) labels.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import (
    FuncFormatter,
    MaxNLocator,
    MultipleLocator,
)

from forecast.plots.style import (
    FIGSIZE,
    MAIN_FIGSIZE,
    POINT_COLOR,
    add_footer,
    format_tokens,
    interval_note,
    legend_place,
    literal_text,
    log_token_axis,
    new_figure,
    placeable,
    scatter_models,
    scenario_color,
)
from forecast.registry import demand_label
from forecast.units import year_text as _year

__all__ = [
    "MILESTONES",
    "STOCK_STEPS",
    "plot_main",
    "plot_main_data",
    "plot_prob_exhausted",
    "plot_prob_exhausted_data",
    "plot_sensitivity",
    "plot_sensitivity_data",
    "plot_stock_waterfall",
    "plot_stock_waterfall_data",
]

#: Room (years) an exhaustion-bar label needs to the right of its bar.
_LABEL_YEARS = 5.0

#: Milestone runs labelled on the main figure: (label, model-name prefix). A prefix
#: matches a name equal to it or starting with it plus a space ("Llama 3" matches
#: "Llama 3 70B", not "Llama 3.1 405B"); the largest matching run is labelled.
MILESTONES = (
    ("GPT-1", "GPT-1"),
    ("GPT-2", "GPT-2"),
    ("GPT-3", "GPT-3"),
    ("Chinchilla", "Chinchilla"),
    ("Llama 3", "Llama 3"),
)

#: The stock's adjustment steps, in the order they are applied (waterfall order).
STOCK_STEPS = (
    ("raw", "indexed web (raw)"),
    ("quality_filtered", "quality filter"),
    ("repetition_adjusted", "repetition"),
    ("consent_restricted", "consent restrictions"),
    ("contamination_adjusted", "AI contamination"),
    ("synthetic_augmented", "synthetic data"),
)

_DEMAND_COLOR = "#0072B2"
_STOCK_COLOR = "#009E73"


def _as_list(results) -> list:
    if isinstance(results, list | tuple):
        return list(results)
    return [results]


@dataclass
class _BareResult:
    """An :class:`~forecast.exhaustion.ExhaustionResult` dressed as a scenario result for
    the figures that need only the exhaustion dates."""

    exhaustion: Any
    name: str

    @property
    def draws(self) -> int:
        return int(self.exhaustion.exhaustion_year.size)

    seed = None
    data_date = None

    @property
    def scenario(self):
        return SimpleNamespace(start=float(self.exhaustion.years[0]), published={})


def _as_results(results) -> list:
    """Scenario results as given; bare ExhaustionResults wrapped (named "result", "result 2", ...)."""
    from forecast.exhaustion import ExhaustionResult

    out = []
    for i, r in enumerate(_as_list(results)):
        if isinstance(r, ExhaustionResult):
            r = _BareResult(r, "result" if i == 0 else f"result {i + 1}")
        out.append(r)
    return out


def _display_labels(results: list, labels) -> list[str]:
    """One display label per result: ``labels`` as a list (same length) or a mapping from
    result name to label; default the result names."""
    if labels is None:
        return [r.name for r in results]
    if isinstance(labels, Mapping):
        return [str(labels.get(r.name, r.name)) for r in results]
    labels = [str(label) for label in labels]
    if len(labels) != len(results):
        raise ValueError(f"labels: {len(labels)} given for {len(results)} results")
    return labels


def _footer_for(
    fig: Figure, results: list, extra: str | None = None, show: bool | None = None
) -> None:
    first = results[0]
    names = ", ".join(r.name for r in results)
    if len(results) > 2:
        names = f"{first.name} + {len(results) - 1} compared"
    draws = f"{first.draws:,}"
    add_footer(
        fig,
        data_date=first.data_date,
        seed=first.seed,
        scenario=names,
        extra=f"{draws} joint draws" + (f" · {extra}" if extra else ""),
        show=show,
    )


# --------------------------------------------------------------------------------------
# Main figure
# --------------------------------------------------------------------------------------


def _milestones(models: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    rows = models.dropna(subset=["tokens"])
    out: list[tuple[str, pd.Series]] = []
    names = rows["model"].astype(str)
    for label, prefix in MILESTONES:
        hit = rows[(names == prefix) | names.str.startswith(prefix + " ")]
        if len(hit):
            out.append(
                (label, hit.sort_values(["tokens", "date"], ascending=[False, True]).iloc[0])
            )
    if len(rows):
        largest = rows.sort_values(["tokens", "date"], ascending=[False, True]).iloc[0]
        latest = rows.sort_values(["date", "tokens"], ascending=[False, False]).iloc[0]
        taken = {r["model"] for _, r in out}
        for tag, row in (("largest", largest), ("latest", latest)):
            if row["model"] not in taken:
                out.append((f"{row['model']} ({tag})", row))
                taken.add(row["model"])
    return out


def _same_bands(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["year", "median", "p5", "p95"]
    if a.shape[0] != b.shape[0] or not set(cols) <= set(a.columns) & set(b.columns):
        return False
    return bool(
        np.allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-12, equal_nan=True)
    )


def _stock_results(results: list) -> list:
    """The results whose stock bands are drawn: the first, then each later one whose
    stock differs from every one before it (one band per distinct stock)."""
    drawn: list = []
    for r in results:
        if not any(_same_bands(r.stock_bands, d.stock_bands) for d in drawn):
            drawn.append(r)
    return drawn


def plot_main_data(results) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_main`, long format.

    Columns ``series``, ``label``, ``year``, ``tokens``. Series: ``models`` (one row per
    training run, label = model name); ``milestones`` (the labelled runs);
    ``demand_<q>`` for the demand band quantiles of the first result (``q`` in median,
    p25, p75, p10, p90, p2_5, p97_5); ``stock_<q>`` (``q`` in median, p5, p95; label
    "stock") for the first result's stock and ``stock_<q>:<scenario>`` (label = scenario
    name) for each later result whose stock differs from every one before it;
    ``exhaustion_median`` / ``exhaustion_p10`` / ``exhaustion_p90`` /
    ``published_median`` per scenario (label = scenario name, tokens NaN).
    """
    results = _as_list(results)
    first = results[0]
    models = first.models.dropna(subset=["tokens"])
    parts = [
        pd.DataFrame(
            {
                "series": "models",
                "label": models["model"].astype(str).to_numpy(),
                "year": models["year"].to_numpy(dtype=float),
                "tokens": models["tokens"].to_numpy(dtype=float),
            }
        )
    ]
    ms = _milestones(first.models)
    parts.append(
        pd.DataFrame(
            {
                "series": "milestones",
                "label": [label for label, _ in ms],
                "year": [float(r["year"]) for _, r in ms],
                "tokens": [float(r["tokens"]) for _, r in ms],
            }
        )
    )
    demand_cols = ("median", "p25", "p75", "p10", "p90", "p2_5", "p97_5")
    bands_of = [("demand", "", "demand", first.demand_bands, demand_cols)]
    for r in _stock_results(results):
        own = r is first
        suffix, label = ("", "stock") if own else (f":{r.name}", r.name)
        bands_of.append(("stock", suffix, label, r.stock_bands, ("median", "p5", "p95")))
    for prefix, suffix, label, bands, cols in bands_of:
        for col in cols:
            parts.append(
                pd.DataFrame(
                    {
                        "series": f"{prefix}_{col}{suffix}",
                        "label": label,
                        "year": bands["year"].to_numpy(dtype=float),
                        "tokens": bands[col].to_numpy(dtype=float),
                    }
                )
            )
    rows = []
    for r in results:
        for series, q in (
            ("exhaustion_median", 0.5),
            ("exhaustion_p10", 0.1),
            ("exhaustion_p90", 0.9),
        ):
            rows.append((series, r.name, float(r.exhaustion.quantile(q)), np.nan))
        pub = r.scenario.published or {}
        if pub.get("median") is not None:
            rows.append(("published_median", r.name, float(pub["median"]), np.nan))
    parts.append(pd.DataFrame(rows, columns=["series", "label", "year", "tokens"]))
    return pd.concat(parts, ignore_index=True)


def _stock_handle(color, ls, lw, alpha):
    """A legend entry for a scenario's stock: its 90% band (drawn at ``alpha``, shown a
    little stronger) under its median line."""
    return (Patch(color=color, alpha=2 * alpha, lw=0), Line2D([], [], color=color, lw=lw, ls=ls))


@literal_text
def plot_main(
    results,
    ax: Axes | None = None,
    *,
    xlim: tuple[float, float] = (2018, 2040),
    labels=None,
    title: str | None = None,
    legend: str | None = "auto",
    footer: bool | None = None,
) -> Figure:
    """Training-set sizes of notable models, projected demand and stock, exhaustion dates.

    ``results``: one :class:`~forecast.pipeline.ScenarioResult` or a list; demand bands
    come from the first, a stock band from each result whose stock differs from every one
    before it (the first's green and dashed, the others dotted in their scenario's
    colour), exhaustion dates (median marker, 80% interval bar) from each. ``labels``:
    display names (a list, or a mapping from scenario name); ``title``: replaces the title
    ("" for none); ``legend``: "outside" (right of the axes), "inside" (a compact legend in
    the lower right, above the exhaustion bars and clear of the crossing of demand and
    stock), None (no legend) or "auto" (outside on a new figure, inside on an Axes you
    pass); ``footer``: the provenance line (default: only on a new figure). Everything
    else is drawn inside the Axes; a ``>`` at the right edge means the 80% interval
    continues past it. Gids: ``models``, ``demand_median``, ``demand_band_50/80/95``,
    ``stock_median``, ``stock_band_90`` (the first result's stock),
    ``stock_median:<scenario>``, ``stock_band_90:<scenario>`` (another scenario's),
    ``exhaustion:<scenario>``, ``exhaustion_median:<scenario>``.
    """
    results = _as_list(results)
    if any(not hasattr(r, "demand_bands") for r in results):
        raise TypeError(
            "plot_main needs ScenarioResult objects (it draws their demand and stock bands); "
            "plot_prob_exhausted also takes a bare ExhaustionResult"
        )
    shown = _display_labels(results, labels)
    data = plot_main_data(results)
    fig, ax = new_figure(ax, MAIN_FIGSIZE)
    first = results[0]

    def series(name: str) -> pd.DataFrame:
        return data[data["series"] == name]

    pts = series("models")
    scatter_models(
        ax,
        pts["year"],
        pts["tokens"],
        size=14,
        alpha=0.55,
        label="notable models (training tokens)",
    )
    for _, row in series("milestones").iterrows():
        left = row["label"] == "Llama 3"
        below = row["label"].endswith("(latest)")
        ax.annotate(
            row["label"],
            (row["year"], row["tokens"]),
            xytext=(-5 if left else 5, -12 if below else 5),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize=7.5,
            color="#222222",
            zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
        )
        ax.scatter([row["year"]], [row["tokens"]], s=22, color="#111111", zorder=4)

    dy = series("demand_median")["year"].to_numpy()
    for (lo, hi), alpha, tag in (
        (("p2_5", "p97_5"), 0.12, "95"),
        (("p10", "p90"), 0.18, "80"),
        (("p25", "p75"), 0.28, "50"),
    ):
        ax.fill_between(
            dy,
            series(f"demand_{lo}")["tokens"].to_numpy(),
            series(f"demand_{hi}")["tokens"].to_numpy(),
            color=_DEMAND_COLOR,
            alpha=alpha,
            lw=0,
            gid=f"demand_band_{tag}",
            label=f"demand {tag}% interval",
        )
    ax.plot(
        dy,
        series("demand_median")["tokens"].to_numpy(),
        color=_DEMAND_COLOR,
        lw=2,
        label="largest training run, projected median:\n"
        + textwrap.fill(demand_label(first.scenario.demand.model), 48),
        gid="demand_median",
    )
    # One stock band per distinct stock: the first result's in green, each other's in its
    # scenario's colour (dotted), so a compared scenario's exhaustion bar has its stock.
    stocks = []  # (legend label, colour, (line style, line width, band alpha))
    for r in _stock_results(results):
        own = r is first
        suffix = "" if own else f":{r.name}"
        i = next(k for k, other in enumerate(results) if other is r)
        color = _STOCK_COLOR if own else scenario_color(i)
        style = ("--", 2.0, 0.18) if own else (":", 1.6, 0.10)
        sy = series(f"stock_median{suffix}")["year"].to_numpy()
        ax.fill_between(
            sy,
            series(f"stock_p5{suffix}")["tokens"].to_numpy(),
            series(f"stock_p95{suffix}")["tokens"].to_numpy(),
            color=color,
            alpha=style[2],
            lw=0,
            gid=f"stock_band_90{suffix}",
            label="stock 90% interval" if own else "_other stock",  # (one entry below)
        )
        ax.plot(
            sy,
            series(f"stock_median{suffix}")["tokens"].to_numpy(),
            color=color,
            lw=style[1],
            ls=style[0],
            label=(
                f"effective stock of human text, median ({r.scenario.stock.model})"
                if own
                else "_other stock"
            ),
            gid=f"stock_median{suffix}",
        )
        stocks.append(
            (
                "stock: median, 90% band" if own else f"stock of {shown[i]}: median, 90% band",
                color,
                style,
            )
        )

    log_token_axis(ax)
    ax.set_xlim(*xlim)
    ax.set_ylim(1e9, 1e17)
    # Exhaustion dates: one row per scenario at the bottom of the plot (axes-fraction y).
    trans = ax.get_xaxis_transform()
    n = len(results)
    for i, (r, shown_name) in enumerate(zip(results, shown, strict=True)):
        y = 0.05 + 0.055 * (n - 1 - i)
        color = scenario_color(i)
        med = r.exhaustion.quantile(0.5)
        lo, hi = r.exhaustion.quantile(0.1), r.exhaustion.quantile(0.9)
        hi_plot = hi if np.isfinite(hi) else xlim[1]
        if np.isfinite(lo):
            ax.plot(
                [lo, hi_plot],
                [y, y],
                transform=trans,
                color=color,
                lw=4,
                alpha=0.55,
                solid_capstyle="butt",
                gid=f"exhaustion:{r.name}",
            )
        if np.isfinite(med):
            ax.plot(
                [med],
                [y],
                transform=trans,
                marker="D",
                ms=7,
                color=color,
                mec="white",
                ls="none",
                gid=f"exhaustion_median:{r.name}",
            )
        pub = (r.scenario.published or {}).get("median")
        if pub is not None:
            ax.plot(
                [pub],
                [y],
                transform=trans,
                marker="o",
                ms=7,
                mfc="none",
                mec="#111111",
                ls="none",
                gid=f"published_median:{r.name}",
            )
        label = f"{shown_name}: {_year(med)} [{_year(lo)}-{_year(hi)}]"  # drawn literally
        if not np.isfinite(hi) or hi > xlim[1]:  # the interval continues past the edge
            ax.plot([xlim[1]], [y], transform=trans, marker=">", ms=6, color=color, clip_on=False)
        text_x = (hi_plot if np.isfinite(lo) else (med if np.isfinite(med) else xlim[0])) + 0.3
        if text_x < xlim[1] - _LABEL_YEARS:
            ax.text(
                text_x,
                y,
                label,
                transform=trans,
                va="center",
                fontsize=7.5,
                color=color,
                parse_math=False,
                clip_on=True,
            )
        else:  # no room right of the bar: label it above the bar, right-aligned, inside
            ax.text(
                xlim[1] - 0.2,
                y + 0.012,
                label,
                transform=trans,
                ha="right",
                va="bottom",
                fontsize=7.5,
                color=color,
                parse_math=False,
                clip_on=True,
            )

    exhaustion_handle = Line2D(
        [], [], color="#666666", marker="D", ls="-", lw=4, alpha=0.7, mec="white"
    )
    published = any((r.scenario.published or {}).get("median") is not None for r in results)
    published_handle = Line2D([], [], marker="o", mfc="none", mec="#111111", ls="none")
    place = legend_place(legend, fig, "outside")
    if place == "outside":  # wide bands leave no corner: the legend beside the Axes
        handles, legend_labels = ax.get_legend_handles_labels()
        for label, color, style in stocks[1:]:
            handles.append(_stock_handle(color, *style))
            legend_labels.append(textwrap.fill(label, 48))
        handles.append(exhaustion_handle)
        legend_labels.append("exhaustion date: median (◆) and 80% interval (bar)")
        if published:
            handles.append(published_handle)
            legend_labels.append("published median")
        box = ax.legend(
            handles,
            legend_labels,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=7.5,
            framealpha=0.92,
            title="Bands: central 50/80/95% (demand),\n90% (stock) of draws.\n"
            "Bars: central 80% of joint draws\nof the exhaustion date.",
            title_fontsize=7.5,
        )
        box.get_title().set_color("#444444")
    elif place == "inside":
        # Compact, in the lower right above the exhaustion bars: late years at small
        # sizes, where no band runs, far from the crossing of demand and stock.
        handles = [
            Line2D([], [], marker="o", ms=3.5, color=POINT_COLOR, alpha=0.7, ls="none"),
            (
                Patch(color=_DEMAND_COLOR, alpha=0.3, lw=0),
                Line2D([], [], color=_DEMAND_COLOR, lw=2),
            ),
        ]
        legend_labels = [
            "notable models (training tokens)",
            "largest run: median, 50/80/95% bands\n"
            + textwrap.fill(demand_label(first.scenario.demand.model), 40),
        ]
        for label, color, style in stocks:
            handles.append(_stock_handle(color, *style))
            legend_labels.append(textwrap.fill(label, 40))
        handles.append(exhaustion_handle)
        legend_labels.append("exhaustion date: median ◆, 80% bar")
        if published:
            handles.append(published_handle)
            legend_labels.append("published median")
        above_bars = min(0.05 + 0.055 * (n - 1) + 0.06, 0.55)
        ax.legend(
            handles,
            legend_labels,
            loc="lower right",
            bbox_to_anchor=(1.0, above_bars),
            fontsize=6.5,
            framealpha=0.92,
            handlelength=1.8,
            borderaxespad=0.3,
        )
    ax.xaxis.set_major_locator(MultipleLocator(2))
    ax.set_xlabel("year")
    ax.set_ylabel("tokens (log scale; 1T = 10¹² tokens)")
    ax.set_title(
        "When do training runs use up the stock of human-written text?" if title is None else title
    )
    _footer_for(fig, results, show=footer)
    return fig


# --------------------------------------------------------------------------------------
# P(exhausted by year)
# --------------------------------------------------------------------------------------


def plot_prob_exhausted_data(results, years: Sequence[int] | None = None) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_prob_exhausted`: ``year`` plus one column per result
    (P(exhausted by the end of that year); the line with gid = result name, drawn at
    x = year + 1, the end of the year). Takes scenario results or bare
    :class:`~forecast.exhaustion.ExhaustionResult` objects (named "result", "result 2")."""
    results = _as_results(results)
    if years is None:
        start = int(min(np.floor(r.scenario.start) for r in results))
        years = np.arange(start, 2051)
    years = np.asarray(years, dtype=int)
    out = pd.DataFrame({"year": years})
    for r in results:
        out[r.name] = r.exhaustion.prob_exhausted_by(years).to_numpy()
    return out


@literal_text
def plot_prob_exhausted(
    results,
    ax: Axes | None = None,
    *,
    years=None,
    labels=None,
    title: str | None = None,
    legend: str | None = "auto",
    footer: bool | None = None,
    levels: Sequence[float] | None = (0.1, 0.5, 0.9),
) -> Figure:
    """P(exhausted by the end of year Y) for each result, with reference lines at
    ``levels`` (None for none). Takes scenario results or bare ExhaustionResults.
    ``labels``, ``title``, ``legend`` ("inside", "outside", None or "auto" = inside) and
    ``footer`` as in :func:`plot_main`; everything is drawn inside the Axes. The curves
    start above zero: the footer gives the share of draws exhausted already at the start
    (demand at or above the stock there); the rest of the first point crossed within its
    year.
    """
    results = _as_results(results)
    shown = _display_labels(results, labels)
    data = plot_prob_exhausted_data(results, years)
    fig, ax = new_figure(ax, FIGSIZE)
    x_end = data["year"].iloc[-1] + 1.0
    for level in levels or ():
        ax.axhline(level, color="#888888", lw=0.8, ls=":", zorder=1)
        ax.text(
            data["year"].iloc[0] + 0.2,
            level + 0.01,
            f"{level:.0%}",
            va="bottom",
            ha="left",
            fontsize=7.5,
            color="#666666",
            clip_on=True,
        )
    for i, (r, name) in enumerate(zip(results, shown, strict=True)):
        med = r.exhaustion.quantile(0.5)
        ax.plot(  # P(by the end of Y) drawn at the end of year Y, i.e. at Y + 1
            data["year"].to_numpy() + 1.0,
            data[r.name].to_numpy(),
            lw=2,
            color=scenario_color(i),
            gid=r.name,
            label=f"{name} (median {_year(med)})",  # drawn literally (literal_text)
        )
    ax.set_ylim(0, 1.0)
    ax.set_xlim(data["year"].iloc[0], x_end)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_xlabel("date (each point: the end of a year)")
    ax.set_ylabel("P(stock exhausted by this date)")
    ax.set_title(
        "Probability that the largest training run has used up the stock"
        if title is None
        else title
    )
    place = legend_place(legend, fig, "inside")
    if place is not None:
        where = (
            {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
            if place == "outside"
            else {"loc": "lower right"}
        )
        box = ax.legend(
            **where,
            fontsize=8,
            framealpha=0.92,
            title="share of joint draws of demand and stock\nexhausted by the end of each year",
            title_fontsize=7.5,
        )
        box.get_title().set_color("#444444")
    # Why the curves start above zero: draws exhausted already at the start, and those
    # crossing in the rest of the first year.
    already = [float(r.exhaustion.already_exhausted_share) for r in results]
    extra = None
    if max(already) > 0:
        lo, hi = f"{min(already):.1%}", f"{max(already):.1%}"
        extra = (
            f"{lo if lo == hi else f'{lo}-{hi}'} of draws exhausted already at the start "
            "(demand at or above the stock)"
        )
    _footer_for(fig, results, extra=extra, show=footer)
    return fig


# --------------------------------------------------------------------------------------
# Stock waterfall
# --------------------------------------------------------------------------------------


def plot_stock_waterfall_data(result, year: float | None = None) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_stock_waterfall`: one row per plotted step.

    Columns ``step``, ``label``, ``year``, ``p5``, ``median``, ``p95`` (tokens), ``change``
    (median ratio to the previous plotted step). Steps absent from the result, and steps
    that change nothing in this scenario (lever off: median and p5/p95 equal the previous
    step's within 1e-9), are left out.
    """
    steps = result.stock_steps
    years = np.unique(steps["year"].to_numpy(dtype=float))
    want = float(np.floor(result.scenario.start)) if year is None else float(year)
    at = years[np.argmin(np.abs(years - want))]
    rows = steps[np.isclose(steps["year"].to_numpy(dtype=float), at)].set_index("step")
    out = []
    prev = None
    for step, label in STOCK_STEPS:
        if step not in rows.index:
            continue
        rec = rows.loc[step]
        vals = np.array([rec["p5"], rec["median"], rec["p95"]], dtype=float)
        if prev is not None and np.allclose(vals, prev, rtol=1e-9, atol=0):
            continue
        out.append(
            {
                "step": step,
                "label": label,
                "year": float(at),
                "p5": vals[0],
                "median": vals[1],
                "p95": vals[2],
                "change": np.nan if prev is None else vals[1] / prev[1],
            }
        )
        prev = vals
    return pd.DataFrame(out)


@literal_text
@placeable
def plot_stock_waterfall(result, year: float | None = None, ax: Axes | None = None) -> Figure:
    """The effective stock after each adjustment step at ``year`` (default: the scenario
    start): bars at the median, whiskers the 90% interval, log scale. Bar gids = step."""
    data = plot_stock_waterfall_data(result, year)
    fig, ax = new_figure(ax, FIGSIZE)
    x = np.arange(len(data))
    med = data["median"].to_numpy()
    colors = [_STOCK_COLOR if i == len(data) - 1 else "#8FBFAF" for i in range(len(data))]
    bars = ax.bar(x, med, color=colors, width=0.6, zorder=2)
    for bar, step in zip(bars, data["step"], strict=True):
        bar.set_gid(step)
    ax.errorbar(
        x,
        med,
        yerr=[med - data["p5"].to_numpy(), data["p95"].to_numpy() - med],
        fmt="none",
        ecolor="#333333",
        capsize=5,
        lw=1.2,
        zorder=3,
        gid="whiskers_90",
    )
    for i, rec in data.iterrows():
        text = format_tokens(rec["median"])
        if np.isfinite(rec["change"]):
            text += f"\n×{rec['change']:.2f}"
        ax.annotate(
            text,
            (x[i], rec["median"]),
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8,
            color="white",
            fontweight="bold",
        )
    log_token_axis(ax)
    lo = max(float(data["p5"].min()) / 5, 1e9)
    ax.set_ylim(lo, float(data["p95"].max()) * 3)
    ax.set_xticks(x, data["label"].tolist(), fontsize=8.5)
    ax.grid(False, axis="x")
    yr = data["year"].iloc[0] if len(data) else float("nan")
    ax.set_ylabel("tokens (log scale)")
    ax.set_xlabel("adjustment step (applied left to right; ×: change of the median)")
    ax.set_title(f"Stock of human-written text at {yr:.0f}: from the raw web to usable tokens")
    skipped = [
        lbl
        for s, lbl in STOCK_STEPS
        if s in set(result.stock_steps["step"]) and s not in set(data["step"])
    ]
    note = "Bars: median; whiskers: 90% interval of draws"
    if skipped:
        note += "\nNot applied in this scenario: " + ", ".join(skipped)
    interval_note(ax, note, loc="upper right")
    _footer_for(fig, [result], extra=f"stock model {result.scenario.stock.model}")
    return fig


# --------------------------------------------------------------------------------------
# Sensitivity tornado
# --------------------------------------------------------------------------------------


def plot_sensitivity_data(sens: pd.DataFrame) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_sensitivity`, top bar first: ``lever``, ``low_label``,
    ``high_label``, ``median_low``, ``median_high``, ``base_median`` (decimal years; NaN =
    after the horizon) and ``low_plot`` / ``high_plot`` (the bar ends drawn: NaN replaced
    by the horizon)."""
    out = sens.reset_index(drop=True).copy()
    horizon = float(sens.attrs.get("horizon", 2100.0))
    out["low_plot"] = out["median_low"].fillna(horizon)
    out["high_plot"] = out["median_high"].fillna(horizon)
    return out


@literal_text
@placeable
def plot_sensitivity(sens: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Tornado: the median exhaustion year when each lever is set to its low and high end,
    around the base scenario's median (vertical line). Each lever has two half-height
    bars, the low end above the high end, so both stay visible when the two ends move
    the median the same way. Bar gids ``low:<lever>`` / ``high:<lever>``. ``sens``
    comes from :func:`forecast.studies.sensitivity.sensitivity`."""
    data = plot_sensitivity_data(sens)
    fig, ax = new_figure(ax, FIGSIZE)
    base = float(data["base_median"].iloc[0]) if len(data) else float("nan")
    y = np.arange(len(data))[::-1]
    low_c, high_c = "#56B4E9", "#E69F00"
    for yi, (_, rec) in zip(y, data.iterrows(), strict=True):
        for end, color, lbl, offset in (
            ("low", low_c, rec["low_label"], 0.16),
            ("high", high_c, rec["high_label"], -0.16),
        ):
            v = rec[f"{end}_plot"]
            (bar,) = ax.barh(
                [yi + offset], [v - base], left=base, height=0.32, color=color, zorder=2
            )
            bar.set_gid(f"{end}:{rec['lever']}")
            shown = _year(rec[f"median_{end}"])
            other = rec["high_plot" if end == "low" else "low_plot"]
            if abs(v - base) > 1e-9:
                right = v > base
            else:  # no change: put the label on the side the other end does not use
                right = not other > base
            ha = "left" if right else "right"
            pad = 0.08 if right else -0.08
            ax.text(v + pad, yi + offset, f"{lbl}: {shown}", va="center", ha=ha, fontsize=7)
    ax.axvline(base, color="#222222", lw=1.2, zorder=3)
    ax.set_yticks(y, data["lever"].tolist(), fontsize=8.5)
    ax.grid(False, axis="y")
    if len(data):
        lo = float(np.nanmin([data["low_plot"].min(), data["high_plot"].min(), base]))
        hi = float(np.nanmax([data["low_plot"].max(), data["high_plot"].max(), base]))
        span = max(hi - lo, 1.0)
        ax.set_xlim(lo - 0.45 * span, hi + 0.45 * span)
        ax.set_ylim(-0.7, len(data) - 0.3)
    scen = sens.attrs.get("scenario", "")
    ax.set_xlabel("median exhaustion year")
    ax.set_title(
        f"Sensitivity: median exhaustion year as one lever moves ({scen})", parse_math=False
    )
    ax.legend(
        [Patch(color=low_c), Patch(color=high_c), Line2D([], [], color="#222222")],
        ["low end of the lever", "high end of the lever", f"base median {_year(base)}"],
        loc="lower right",
        fontsize=8,
        framealpha=0.92,
    )
    draws = sens.attrs.get("draws")
    add_footer(
        fig,
        data_date=sens.attrs.get("data_date"),
        seed=sens.attrs.get("seed"),
        scenario=scen,
        extra=(f"{draws:,} joint draws per run · " if draws else "")
        + "other levers held at the scenario's values",
    )
    return fig
