"""Figures of the model-collapse simulator (:mod:`forecast.collapse`).

Each ``plot_*`` function takes a :class:`~forecast.collapse.CollapseResult` and an
optional axes and returns the figure; its ``*_data`` twin returns a wide DataFrame
holding exactly the plotted numbers: a ``generation`` column plus one column per line,
and each plotted line carries that column name as its matplotlib ``gid``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from forecast.collapse import REGIMES, CollapseResult
from forecast.plots._style import REGIME_COLORS, add_footer, new_figure

__all__ = [
    "plot_collapse_tails",
    "plot_collapse_tails_data",
    "plot_collapse_variance",
    "plot_collapse_variance_data",
    "plot_collapse_vocabulary",
    "plot_collapse_vocabulary_data",
]

_REGIME_LABELS = {
    "replace": "replace (train only on previous model's output)",
    "accumulate": "accumulate (keep real + all synthetic data)",
    "mix": "mix ({pct:g}% fresh human data each generation)",
}


def _regime_label(regime: str, result: CollapseResult) -> str:
    pct = 100.0 * float(result.settings["fresh_fraction"])
    return _REGIME_LABELS[regime].format(pct=pct)


def _short_label(regime: str, result: CollapseResult) -> str:
    if regime == "mix":
        return f"mix ({100.0 * float(result.settings['fresh_fraction']):g}% fresh)"
    return regime


def _wide(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    wide = frame.pivot(index="generation", columns="regime", values=column)
    wide = wide[list(REGIMES)].reset_index()
    wide.columns.name = None
    return wide


def _footer(fig: Figure, result: CollapseResult, what: str) -> None:
    s = result.settings
    add_footer(fig, seed=s["seed"], extra=what)


def _plain_log_ticks(ax: Axes, lo: float, hi: float) -> None:
    """Log y axis over [lo, hi] with plain tick labels (0.6, 0.8, 1 rather than 10^-0.2)."""
    lo = max(float(lo), 1e-300)
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    if hi / lo < 10:
        # Less than a decade: a log locator would leave at most one labelled tick.
        locator = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10])
    else:
        locator = LogLocator(base=10, subs=(1.0, 2.0, 5.0))
    ax.yaxis.set_major_locator(locator)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
    ax.yaxis.set_minor_locator(NullLocator())


_GENERATION_LABEL = "generation n (0 = original distribution)"


def _regime_lines(ax: Axes, data: pd.DataFrame, label) -> np.ndarray:
    """One solid line per regime (gid = the regime, ``label(regime)``); returns x."""
    x = data["generation"].to_numpy()
    for regime in REGIMES:
        ax.plot(
            x,
            data[regime].to_numpy(),
            color=REGIME_COLORS[regime],
            lw=2,
            label=label(regime),
            gid=regime,
        )
    return x


def _reference_line(ax: Axes, x, data: pd.DataFrame, gid: str, label: str, **style) -> None:
    style = {"color": REGIME_COLORS["analytic"], "ls": ":", "lw": 1, **style}
    ax.plot(x, data[gid].to_numpy(), label=label, gid=gid, **style)


def _finish(ax: Axes, x, ylabel: str, title: str) -> None:
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel(_GENERATION_LABEL)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)


def _log_axis_for(ax: Axes, data: pd.DataFrame, headroom: float) -> None:
    values = data.drop(columns="generation").to_numpy()
    _plain_log_ticks(ax, 0.8 * values.min(), headroom * max(values.max(), 1.0))


# --------------------------------------------------------------------------------------
# Variance
# --------------------------------------------------------------------------------------


def plot_collapse_variance_data(result: CollapseResult) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_collapse_variance`.

    Columns: ``generation``; ``replace``, ``accumulate``, ``mix`` (median over chains of
    sigma2_n / sigma2_0); ``replace_mean`` (mean over chains, replace regime);
    ``analytic_median`` (``exp(n E ln(chi2_{M-1}/(M-1)))`` ~= ``exp(-n/(M-1))``);
    ``analytic_mean`` (1).
    """
    wide = _wide(result.gaussian, "variance_ratio")
    g = result.gaussian
    rep = g[g["regime"] == "replace"].set_index("generation")["variance_ratio_mean"]
    wide["replace_mean"] = rep.reindex(wide["generation"]).to_numpy()
    a = result.analytic.set_index("generation")
    wide["analytic_median"] = a["median_variance_ratio"].reindex(wide["generation"]).to_numpy()
    wide["analytic_mean"] = a["mean_variance_ratio"].reindex(wide["generation"]).to_numpy()
    return wide


def plot_collapse_variance(result: CollapseResult, ax: Axes | None = None) -> Figure:
    """Variance ratio sigma2_n / sigma2_0 over generations, three regimes, log y axis.

    Solid: median over chains per regime. Dashed: the analytic median of ``replace``.
    Dotted: the analytic mean (1, a martingale) and the simulated ``replace`` mean.
    """
    data = plot_collapse_variance_data(result)
    fig, ax = new_figure(ax)
    m = int(result.settings["samples"])
    x = _regime_lines(ax, data, lambda r: f"{_short_label(r, result)}: median over chains")
    _reference_line(
        ax,
        x,
        data,
        "analytic_median",
        f"analytic median, replace ($\\approx e^{{-n/{m - 1}}}$)",
        ls="--",
        lw=1.5,
    )
    _reference_line(
        ax,
        x,
        data,
        "replace_mean",
        "replace: mean over chains",
        color=REGIME_COLORS["replace"],
        lw=1.5,
    )
    _reference_line(
        ax, x, data, "analytic_mean", "analytic mean, replace ($E[\\sigma^2_n] = \\sigma^2_0$)"
    )
    _log_axis_for(ax, data, 1.1)
    _finish(
        ax,
        x,
        "fitted variance / original  ($\\sigma^2_n / \\sigma^2_0$, log scale)",
        "Model collapse: the typical fitted variance shrinks",
    )
    _footer(
        fig,
        result,
        f"Gaussian refit, M = {m} samples/generation, {result.settings['n_chains']} chains"
        " · after Shumailov et al. 2024",
    )
    return fig


# --------------------------------------------------------------------------------------
# Tails
# --------------------------------------------------------------------------------------


def plot_collapse_tails_data(result: CollapseResult) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_collapse_tails`.

    Columns: ``generation``; ``replace``, ``accumulate``, ``mix`` (median over chains of
    the fitted model's mass beyond +-3 original sigmas over the original's 2*Phi(-3));
    ``original`` (1).
    """
    wide = _wide(result.gaussian, "tail_mass_ratio")
    wide["original"] = 1.0
    return wide


def plot_collapse_tails(result: CollapseResult, ax: Axes | None = None) -> Figure:
    """Tail mass beyond +-3 original sigmas, relative to the original, per regime (log y)."""
    data = plot_collapse_tails_data(result)
    fig, ax = new_figure(ax)
    x = _regime_lines(ax, data, lambda r: _regime_label(r, result))
    _reference_line(ax, x, data, "original", "original distribution")
    _log_axis_for(ax, data, 1.15)
    _finish(
        ax,
        x,
        "mass beyond ±3σ₀ / original (median over chains)",
        "Model collapse: the tails vanish",
    )
    s = result.settings
    _footer(
        fig,
        result,
        f"Gaussian refit, M = {s['samples']} samples/generation, {s['n_chains']} chains"
        " · original mass beyond ±3σ₀: 2Φ(−3) = 0.27%",
    )
    return fig


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


def plot_collapse_vocabulary_data(result: CollapseResult) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_collapse_vocabulary`.

    Columns: ``generation``; ``replace``, ``accumulate``, ``mix`` (mean over chains of the
    share of the original vocabulary still having non-zero probability).
    """
    return _wide(result.vocabulary, "surviving_fraction")


def plot_collapse_vocabulary(result: CollapseResult, ax: Axes | None = None) -> Figure:
    """Share of the original vocabulary that survives, per regime."""
    data = plot_collapse_vocabulary_data(result)
    fig, ax = new_figure(ax)
    s = result.settings
    x = _regime_lines(ax, data, lambda r: _regime_label(r, result))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{100 * v:.0f}%"))
    _finish(ax, x, "original vocabulary still present", "Model collapse: rare tokens disappear")
    _footer(
        fig,
        result,
        f"Zipf({s['zipf_exponent']:g}) over {s['vocab_size']:,} tokens, "
        f"{s['vocab_samples']:,} tokens/generation, maximum-likelihood refit, "
        f"{s['vocab_chains']} chains",
    )
    return fig
