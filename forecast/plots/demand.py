"""Figures of the demand models: each model's fitted trend and predictive band
(:func:`plot_demand_models`) and the sampler diagnostics (posterior predictive check and
rank plots, :func:`plot_diagnostics`). Each has a ``*_data`` twin (see
:mod:`forecast.plots.figures` for the conventions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from forecast.plots.style import (
    FIGSIZE,
    add_footer,
    interval_note,
    literal_text,
    log_token_axis,
    new_figure,
    owned_figure,
    placeable,
    scatter_models,
)

__all__ = [
    "plot_demand_models",
    "plot_demand_models_data",
    "plot_diagnostics",
    "plot_diagnostics_data",
]

_MODEL_STYLES = {
    "exponential": ":",
    "frontier": "-",
    "slowdown": "--",
    "random-walk-slope": (0, (5, 1, 1, 1)),
    "compute": "-.",
}
_MODEL_COLORS = {
    "exponential": "#999999",
    "frontier": "#0072B2",
    "slowdown": "#D55E00",
    "random-walk-slope": "#009E73",
    "compute": "#CC79A7",
}


# --------------------------------------------------------------------------------------
# Demand models
# --------------------------------------------------------------------------------------


def plot_demand_models_data(
    demand_set, years=None, *, n_draws: int = 4000, seed: int = 0
) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_demand_models`, long format: ``model``, ``year``,
    ``fit_median`` (trend line without residual), ``p10``, ``median``, ``p90`` (posterior
    predictive projection of the largest run, tokens). Gids: ``fit:<model>``,
    ``band:<model>``."""
    if years is None:
        years = np.arange(2018.0, 2035.0 + 1e-9, 0.25)
    years = np.asarray(years, dtype=float)
    parts = []
    for i, (name, fit) in enumerate(demand_set.fits.items()):
        line = fit.fitted_line(years)
        proj = fit.project(years, n_draws, seed + i).to_numpy()
        q = np.quantile(proj, [0.1, 0.5, 0.9], axis=0)
        parts.append(
            pd.DataFrame(
                {
                    "model": name,
                    "year": years,
                    "fit_median": line["median"].to_numpy(),
                    "p10": q[0],
                    "median": q[1],
                    "p90": q[2],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@literal_text
@placeable
def plot_demand_models(demand_set, years=None, ax: Axes | None = None) -> Figure:
    """Each growth model's fitted trend (solid) and projection's 80% band over the data.

    Legend: growth of tokens per year (median [95% interval]) and LOO stacking weight
    (n/a for models outside the comparison: population and compute models)."""
    data = plot_demand_models_data(demand_set, years)
    fig, ax = new_figure(ax, FIGSIZE)
    models = demand_set.models.dropna(subset=["tokens"])
    scatter_models(ax, models["year"], models["tokens"], size=12, alpha=0.5, label="notable models")
    summary = demand_set.summary().set_index("model")
    for name, fit in demand_set.fits.items():
        d = data[data["model"] == name]
        color = _MODEL_COLORS.get(name, "#333333")
        s = summary.loc[name]
        w = s["loo_weight"]
        w_txt = "n/a" if not np.isfinite(w) else f"{w:.2f}"
        label = (
            f"{fit.model.label}: {s['growth_per_year']:.2f}x/yr "
            f"[{s['growth_p2_5']:.2f}-{s['growth_p97_5']:.2f}], LOO weight {w_txt}"
        )
        ax.fill_between(
            d["year"], d["p10"], d["p90"], color=color, alpha=0.08, lw=0, gid=f"band:{name}"
        )
        ax.plot(
            d["year"],
            d["fit_median"],
            color=color,
            lw=2,
            ls=_MODEL_STYLES.get(name, "-"),
            label=label,
            gid=f"fit:{name}",
        )
    front = demand_set.fits.get("frontier")
    if front is not None:
        ax.scatter(
            front.rows["year"],
            front.rows["tokens"],
            s=30,
            facecolors="none",
            edgecolors="#111111",
            linewidths=0.8,
            zorder=4,
            label="frontier rows (5 largest at release)",
            gid="frontier_rows",
        )
    log_token_axis(ax)
    ax.set_xlim(float(data["year"].min()), float(data["year"].max()))
    ax.set_ylim(1e9, 1e16)
    ax.set_xlabel("year")
    ax.set_ylabel("tokens of the largest training run (log scale)")
    ax.set_title("Demand: growth models fitted to the training runs")
    ax.legend(loc="upper left", fontsize=7.5, framealpha=0.92)
    interval_note(
        ax,
        "Lines: posterior median trend; shading: 80% posterior predictive interval\n"
        "Legend: growth of tokens per year, median [95% interval]",
        loc="lower right",
    )
    date = pd.Timestamp(demand_set.models["date"].max()).date().isoformat()
    add_footer(
        fig,
        data_date=date,
        seed=_sampler_seed(demand_set),
        extra="frontier = 5 largest runs at release · compute model: Chinchilla tokens",
    )
    return fig


def _sampler_seed(demand_set):
    for fit in demand_set.fits.values():
        return fit.sampler.seed
    return None


# --------------------------------------------------------------------------------------
# Sampler diagnostics: posterior predictive check and rank plots
# --------------------------------------------------------------------------------------

_RANK_BINS = 20
_DIAGNOSTIC_COLUMNS = (
    "kind",
    "model",
    "year",
    "observed",
    "p2_5",
    "p10",
    "median",
    "p90",
    "p97_5",
    "parameter",
    "chain",
    "bin",
    "count",
    "expected",
)


def _ppc(fit, n_draws: int, seed: int) -> pd.DataFrame:
    """Posterior predictive log10 values at the fitted rows (the model's own quantity)."""
    return fit.model.predictive_rows(fit, n_draws, seed)


def _ranks(fit) -> pd.DataFrame:
    post = fit.posterior
    rows = []
    for param in fit.model.rank_parameters:
        if param not in post.data_vars:
            continue
        values = post[param].to_numpy()  # (chain, draw)
        n_chain, n_draw = values.shape[:2]
        values = values.reshape(n_chain, n_draw)
        ranks = (
            values.reshape(-1)
            .argsort(kind="stable")
            .argsort(kind="stable")
            .reshape(n_chain, n_draw)
        )
        edges = np.linspace(0, n_chain * n_draw, _RANK_BINS + 1)
        for c in range(n_chain):
            counts, _ = np.histogram(ranks[c], bins=edges)
            for b, count in enumerate(counts):
                rows.append(
                    {
                        "kind": "rank",
                        "model": fit.name,
                        "parameter": param,
                        "chain": c,
                        "bin": b,
                        "count": float(count),
                        "expected": n_draw / _RANK_BINS,
                    }
                )
    return pd.DataFrame(rows)


def plot_diagnostics_data(demand_set, *, n_draws: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_diagnostics`, long format with a ``kind`` column.

    ``kind == "ppc"``: per frontier model and fitted row, ``year``, ``observed`` (log10 of
    the fitted quantity: tokens, or FLOP for the compute model) and the posterior
    predictive ``p2_5``, ``p10``, ``median``, ``p90``, ``p97_5`` (log10).
    ``kind == "rank"``: per model, ``parameter``, ``chain``, ``bin``: ``count`` of that
    chain's draws whose rank among all chains falls in the bin, and the ``expected``
    count if chains agree (uniform ranks).
    """
    parts = []
    for i, (_name, fit) in enumerate(demand_set.fits.items()):
        if fit.model.shows_predictive_check():
            parts.append(_ppc(fit, n_draws, seed + i).assign(kind="ppc"))
    for fit in demand_set.fits.values():
        parts.append(_ranks(fit))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    extra = [c for c in frame.columns if c not in _DIAGNOSTIC_COLUMNS]
    return frame.reindex(columns=[*_DIAGNOSTIC_COLUMNS, *extra])


@literal_text
def plot_diagnostics(demand_set, *, title: str | None = None, footer: bool | None = None) -> Figure:
    """Posterior predictive checks (top row, one panel per frontier model) and rank plots
    (rows below: one per model, one panel per main parameter of that model
    (``rank_parameters``); one line per chain; flat
    around the dashed line = chains agree). Gids ``ppc:<model>``, ``observed:<model>``,
    ``rank:<model>:<parameter>:<chain>``. ``title`` replaces the figure title ("" for
    none); ``footer=False`` hides the provenance line."""
    data = plot_diagnostics_data(demand_set)
    ppc = data[data["kind"] == "ppc"]
    ranks = data[data["kind"] == "rank"]
    ppc_models = list(dict.fromkeys(ppc["model"]))
    rank_models = list(dict.fromkeys(ranks["model"]))
    params = {
        name: list(dict.fromkeys(ranks.loc[ranks["model"] == name, "parameter"]))
        for name in rank_models
    }
    n_cols = max((len(p) for p in params.values()), default=1)
    n_rows = 1 + len(rank_models)
    fig = owned_figure(figsize=(11, 3.2 + 1.45 * len(rank_models)), layout="constrained")
    fig.get_layout_engine().set(rect=(0.0, 0.03, 1.0, 0.97))
    outer = fig.add_gridspec(n_rows, 1, height_ratios=[2.3] + [1.0] * len(rank_models))
    top = outer[0].subgridspec(1, max(len(ppc_models), 1))
    for j, name in enumerate(ppc_models):
        ax = fig.add_subplot(top[0, j])
        d = ppc[ppc["model"] == name].sort_values("year")
        x = d["year"].to_numpy()
        ax.vlines(
            x,
            d["p2_5"],
            d["p97_5"],
            color="#9ecae1",
            lw=3,
            gid=f"ppc95:{name}",
            label="95% predictive",
        )
        ax.vlines(
            x, d["p10"], d["p90"], color="#3182bd", lw=3, gid=f"ppc:{name}", label="80% predictive"
        )
        ax.scatter(
            x,
            d["observed"],
            s=12,
            color="black",
            zorder=3,
            gid=f"observed:{name}",
            label="observed",
        )
        inside = np.mean((d["observed"] >= d["p10"]) & (d["observed"] <= d["p90"]))
        fit = demand_set.fits[name]
        unit = "FLOP" if fit.model.value_column == "compute_flop" else "tokens"
        ax.set_title(f"{fit.model.label}\n{inside:.0%} of rows inside the 80% interval", fontsize=9)
        ax.set_ylabel(f"log10 {unit}", fontsize=8.5)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3, lw=0.6)
        if j == 0:
            ax.legend(loc="upper left", fontsize=7.5, framealpha=0.9)
    grid = outer[1:, 0].subgridspec(len(rank_models), n_cols) if rank_models else None
    chain_colors = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
    diag = {name: fit.diagnostics() for name, fit in demand_set.fits.items()}
    for i, name in enumerate(rank_models):
        for j, param in enumerate(params[name]):
            ax = fig.add_subplot(grid[i, j])
            d = ranks[(ranks["model"] == name) & (ranks["parameter"] == param)]
            ax.tick_params(labelsize=7)
            ax.set_title(param, fontsize=8)
            for c, dc in d.groupby("chain"):
                ax.step(
                    dc["bin"],
                    dc["count"],
                    where="mid",
                    lw=1.1,
                    color=chain_colors[int(c) % len(chain_colors)],
                    gid=f"rank:{name}:{param}:{int(c)}",
                )
            expected = float(d["expected"].iloc[0])
            ax.axhline(expected, color="#333333", ls="--", lw=0.8)
            ax.set_ylim(0, expected * 2)
            ax.set_xticks([])
            if j == 0:
                dg = diag[name]
                ax.set_ylabel(
                    f"{name}\nr_hat {dg.r_hat_max:.3f}",
                    fontsize=8,
                    rotation=0,
                    ha="right",
                    va="center",
                )
    default = (
        "Sampler diagnostics: posterior predictive checks (top) and rank plots per chain (below)"
    )
    fig.suptitle(default if title is None else title, fontsize=11)
    date = pd.Timestamp(demand_set.models["date"].max()).date().isoformat()
    add_footer(
        fig,
        data_date=date,
        seed=_sampler_seed(demand_set),
        extra=f"rank plots: {_RANK_BINS} bins of pooled ranks, one line per chain; "
        "dashed = expected count if chains agree",
        show=footer,
    )
    return fig


# --------------------------------------------------------------------------------------
# Backtest calibration
# --------------------------------------------------------------------------------------
