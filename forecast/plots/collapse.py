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

from forecast.collapse.simulator import REGIMES, CollapseResult
from forecast.plots.style import (
    REGIME_COLORS,
    SCENARIO_COLORS,
    add_footer,
    literal_text,
    math_text,
    new_figure,
    placeable,
)

__all__ = [
    "REAL_WEIGHT_RATIOS",
    "plot_collapse_tails",
    "plot_collapse_tails_data",
    "plot_collapse_variance",
    "plot_collapse_variance_data",
    "plot_collapse_vocabulary",
    "plot_collapse_vocabulary_data",
    "plot_linear_collapse",
    "plot_linear_collapse_data",
    "plot_real_weight",
    "plot_real_weight_data",
    "plot_verification",
    "plot_verification_data",
]

_REGIME_LABELS = {
    "replace": "replace (train only on previous model's output)",
    "accumulate": "accumulate (keep real + all synthetic data)",
    "mix": "mix ({pct:g}% fresh human data each generation)",
    "verify": "verify (synthetic data kept by a {acc:g}-accurate verifier)",
}


def _regime_label(regime: str, result: CollapseResult) -> str:
    pct = 100.0 * float(result.settings["fresh_fraction"])
    return _REGIME_LABELS[regime].format(pct=pct, acc=result.settings["verifier_accuracy"])


def _short_label(regime: str, result: CollapseResult) -> str:
    if regime == "mix":
        return f"mix ({100.0 * float(result.settings['fresh_fraction']):g}% fresh)"
    if regime == "verify":
        return f"verify (accuracy {result.settings['verifier_accuracy']:g})"
    return regime


def _wide(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    wide = frame.pivot(index="generation", columns="regime", values=column)
    present = [r for r in REGIMES if r in wide.columns]
    wide = wide[present].reset_index()
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
    for regime in [r for r in REGIMES if r in data.columns]:
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


@literal_text
@placeable
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
        math_text(f"analytic median, replace ($\\approx e^{{-n/{m - 1}}}$)"),
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
        ax,
        x,
        data,
        "analytic_mean",
        math_text("analytic mean, replace ($E[\\sigma^2_n] = \\sigma^2_0$)"),
    )
    _log_axis_for(ax, data, 1.1)
    _finish(
        ax,
        x,
        math_text("fitted variance / original  ($\\sigma^2_n / \\sigma^2_0$, log scale)"),
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


@literal_text
@placeable
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


@literal_text
@placeable
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


# --------------------------------------------------------------------------------------
# Linear regression: replace, accumulate, fixed budget
# --------------------------------------------------------------------------------------


def plot_linear_collapse_data(result) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_linear_collapse`.

    Columns: ``generation``; one per workflow (``replace``, ``accumulate``,
    ``accumulate-subsample``: simulated mean test error ``E||w_n - w*||^2``);
    ``replace_analytic`` and ``accumulate_analytic`` (the closed forms); ``bound``
    (pi^2/6 times generation 1's closed form, the accumulate ceiling).
    """
    curves = result.curves
    wide = curves.pivot(index="generation", columns="workflow", values="test_error")
    analytic = curves.pivot(index="generation", columns="workflow", values="analytic")
    wide.columns.name = None
    for workflow in ("replace", "accumulate"):
        if workflow in analytic:
            wide[f"{workflow}_analytic"] = analytic[workflow]
    from forecast.collapse.theory import analytic_linear_test_error

    s = result.settings
    first = analytic_linear_test_error(
        1, s["dim"], s["samples"], s["noise_sd"] ** 2, workflow="replace"
    )
    wide["bound"] = np.pi**2 / 6.0 * float(first)
    return wide.reset_index()


@literal_text
@placeable
def plot_linear_collapse(result, ax: Axes | None = None) -> Figure:
    """Test error of refitted least squares: replace grows linearly, accumulate stays
    below pi^2/6 times the first generation's error, a fixed budget degrades slowly.

    Solid: simulated means; dotted black: the closed forms; dashed: the accumulate bound.
    """
    data = plot_linear_collapse_data(result)
    fig, ax = new_figure(ax)
    x = data["generation"].to_numpy()
    labels = {
        "replace": "replace (fit only the newest generated labels)",
        "accumulate": "accumulate (fit real + every generated label)",
        "accumulate-subsample": "accumulate, fixed budget (fit a random T of them)",
    }
    for workflow, label in labels.items():
        if workflow in data:
            ax.plot(
                x,
                data[workflow].to_numpy(),
                color=REGIME_COLORS[workflow],
                lw=2,
                label=label,
                gid=workflow,
            )
    for gid in ("replace_analytic", "accumulate_analytic"):
        if gid in data:
            label = "closed form" if gid == "replace_analytic" else None
            _reference_line(ax, x, data, gid, label, lw=1.5)
    _reference_line(ax, x, data, "bound", "accumulate bound: π²/6 × generation 1", ls="--")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("generation n (1 = fitted on real labels)")
    ax.set_ylabel(math_text("excess test error $E\\|w_n - w^*\\|^2$ (log scale)"))
    ax.set_title("Linear regression: replacing data collapses, accumulating does not")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    s = result.settings
    add_footer(
        fig,
        seed=s["seed"],
        extra=(
            f"d = {s['dim']}, T = {s['samples']} labels/generation, noise sd {s['noise_sd']:g}, "
            f"{s['n_chains']} chains · Dohmatob et al. 2024; Gerstgrasser et al. 2024; "
            "Kazdan et al. 2025"
        ),
    )
    return fig


# --------------------------------------------------------------------------------------
# The weight on real data
# --------------------------------------------------------------------------------------

#: Synthetic samples per real sample shown in the real-weight figure.
REAL_WEIGHT_RATIOS = (0.5, 1.0, 2.0, 4.0)


def plot_real_weight_data(ratios=REAL_WEIGHT_RATIOS, points: int = 199) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_real_weight`.

    Columns: ``weight`` (on real data, 0.005..1); one column ``m/n=<ratio>`` per ratio of
    synthetic to real samples: the long-run error in units of ``s2/n`` (``n`` real
    samples per generation). :func:`forecast.collapse.theory.optimal_real_weight` gives
    each curve's minimum.
    """
    from forecast.collapse.theory import stationary_mean_error

    w = np.linspace(0.005, 1.0, points)
    data = {"weight": w}
    for ratio in ratios:
        data[f"m/n={ratio:g}"] = stationary_mean_error(w, 1.0, float(ratio))
    return pd.DataFrame(data)


@literal_text
@placeable
def plot_real_weight(ratios=REAL_WEIGHT_RATIOS, ax: Axes | None = None) -> Figure:
    """Long-run error against the weight on fresh real data, one curve per amount of
    synthetic data; dots mark the minima (1/golden ratio = 0.618 when m = n).
    """
    from forecast.collapse.theory import optimal_real_weight, stationary_mean_error

    data = plot_real_weight_data(ratios)
    fig, ax = new_figure(ax)
    w = data["weight"].to_numpy()
    for i, ratio in enumerate(ratios):
        gid = f"m/n={ratio:g}"
        color = SCENARIO_COLORS[i % len(SCENARIO_COLORS)]
        ax.plot(
            w,
            data[gid].to_numpy(),
            color=color,
            lw=2,
            gid=gid,
            label=f"{ratio:g} synthetic per real",
        )
        best = optimal_real_weight(1.0, float(ratio))
        ax.plot([best], [stationary_mean_error(best, 1.0, float(ratio))], "o", color=color)
    ax.axhline(
        1.0, color=REGIME_COLORS["analytic"], ls=":", lw=1, label="real data only", gid="real_only"
    )
    ax.set_ylim(0, 2.0)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{100 * v:.0f}%"))
    ax.set_xlabel("weight on fresh real data each generation")
    ax.set_ylabel("long-run error, in units of (noise variance / real samples)")
    ax.set_title("The best mix keeps most weight on real data, but not all")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    add_footer(
        fig,
        seed=None,
        extra="Gaussian mean, n fresh real + m synthetic samples per generation; closed form "
        "(He, Xu & Cheng 2025); dots: minima",
    )
    return fig


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------


def plot_verification_data(sweep: pd.DataFrame) -> pd.DataFrame:
    """Plotted numbers of :func:`plot_verification`: ``accuracy``, ``variance_ratio``,
    ``tail_mass_ratio``, ``surviving_vocab`` (verify regime, last generation), and the
    ``replace`` regime's values as ``*_replace`` columns (constant)."""
    verify = sweep[sweep["regime"] == "verify"].reset_index(drop=True)
    replace = sweep[sweep["regime"] == "replace"].iloc[0]
    cols = ["variance_ratio", "tail_mass_ratio", "surviving_vocab"]
    data = verify[["accuracy", *cols]].copy()
    for c in cols:
        data[f"{c}_replace"] = float(replace[c])
    return data


@literal_text
@placeable
def plot_verification(sweep: pd.DataFrame, ax: Axes | None = None, generations=None) -> Figure:
    """What the verifier's accuracy buys: the fitted variance and the tail mass (ratios
    to the original, 1 = no collapse) and the surviving vocabulary at the last
    generation, against accuracy; dotted lines: the same without verification."""
    data = plot_verification_data(sweep)
    fig, ax = new_figure(ax)
    x = data["accuracy"].to_numpy()
    series = {
        "variance_ratio": ("fitted variance / original", "#0072B2"),
        "tail_mass_ratio": ("mass beyond ±3σ₀ / original", "#D55E00"),
        "surviving_vocab": ("vocabulary still present", "#009E73"),
    }
    for col, (label, color) in series.items():
        ax.plot(x, data[col].to_numpy(), "o-", color=color, lw=2, label=label, gid=col)
        ax.plot(
            x,
            data[f"{col}_replace"].to_numpy(),
            ":",
            color=color,
            lw=1.2,
            gid=f"{col}_replace",
            label="no verifier (replace)" if col == "variance_ratio" else None,
        )
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(0, 1.2)
    ax.set_xlabel("verifier accuracy (0.5 = coin flip, 1 = perfect)")
    ax.set_ylabel("at the last generation (1 = as the original)")
    when = f" after {generations} generations" if generations else ""
    ax.set_title(f"Verification slows collapse{when}, but cannot bring back lost tokens")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9, ncol=2)
    add_footer(fig, seed=None, extra="Feng et al. 2024 (verified synthetic data); simulated")
    return fig
