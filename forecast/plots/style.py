"""Shared figure style helpers for every ``forecast.plots`` figure.

Library code never selects a matplotlib backend; figures are created as plain
:class:`matplotlib.figure.Figure` objects (not through ``pyplot``), so they are not kept
alive by pyplot's figure manager and are not shown twice in notebooks.
"""

from __future__ import annotations

import functools
import inspect
import math
import weakref

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from forecast.safety import figure_state, literal_figure_text

__all__ = [
    "FIGSIZE",
    "FOOTER_GID",
    "MAIN_FIGSIZE",
    "POINT_COLOR",
    "REGIME_COLORS",
    "SCENARIO_COLORS",
    "add_footer",
    "format_tokens",
    "interval_note",
    "literal_text",
    "log_token_axis",
    "math_text",
    "new_figure",
    "scatter_models",
    "scenario_color",
    "token_formatter",
]

#: Report-size figures (inches).
FIGSIZE = (9.0, 5.5)
#: The main figure is wider: its legend sits to the right of the axes.
MAIN_FIGSIZE = (12.0, 5.8)
#: Colour of the notable models' points.
POINT_COLOR = "#444444"

#: ``gid`` of the footer text, so a second :func:`add_footer` replaces the first.
FOOTER_GID = "forecast-footer"

#: Consistent colours for the model-collapse regimes (colour-blind-safe Okabe-Ito).
REGIME_COLORS = {
    "replace": "#D55E00",
    "accumulate": "#0072B2",
    "mix": "#009E73",
    "verify": "#CC79A7",
    "accumulate-subsample": "#56B4E9",
    "analytic": "#444444",
}

#: Colours for scenarios, in order (Okabe-Ito without yellow, readable on white).
SCENARIO_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

_TOKEN_SUFFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def format_tokens(value: float, _pos: int | None = None) -> str:
    """Short token count: 1e12 -> "1T", 2.5e15 -> "2.5P", 3e9 -> "3B", 1e6 -> "1M".

    Suffixes: K (1e3), M (1e6), B (1e9), T (1e12), P (1e15); up to three significant
    digits, trailing zeros dropped. Values below 1000 are printed as plain numbers.
    """
    if value is None or not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mag = abs(value)
    for scale, suffix in _TOKEN_SUFFIXES:
        if mag >= scale * (1 - 1e-9):
            return f"{sign}{mag / scale:.3g}{suffix}"
    return f"{sign}{mag:.3g}"


def token_formatter() -> FuncFormatter:
    """A matplotlib tick formatter for token axes (see :func:`format_tokens`)."""
    return FuncFormatter(format_tokens)


#: Figures made by :func:`new_figure`: only these get a footer unless one is asked for.
_OWNED: weakref.WeakSet = weakref.WeakSet()


def owned_figure(**kwargs) -> Figure:
    """A new matplotlib Figure that this package owns (it gets the footer)."""
    fig = Figure(**kwargs)
    _OWNED.add(fig)
    return fig


def owns(fig: Figure) -> bool:
    """True when ``fig`` was made by this package (not a figure the user passed an Axes of)."""
    return fig in _OWNED


def new_figure(
    ax: Axes | None = None, figsize: tuple[float, float] = (8, 5)
) -> tuple[Figure, Axes]:
    """``(fig, ax)``: ``ax``'s figure when an axes is given, else a new constrained-layout figure.

    The new figure reserves a strip at the bottom for :func:`add_footer`.
    """
    if ax is not None:
        return ax.figure, ax
    fig = owned_figure(figsize=figsize, layout="constrained")
    fig.get_layout_engine().set(rect=(0.0, 0.04, 1.0, 0.96))
    ax = fig.add_subplot()
    ax.grid(True, which="major", alpha=0.3, linewidth=0.6)
    return fig, ax


def _version() -> str:
    try:
        from forecast._version import __version__
    except ImportError:  # pragma: no cover - only during broken installs
        return "?"
    return str(__version__)


def footer_text(
    *,
    data_date: str | None = None,
    seed: int | None = None,
    scenario: str | None = None,
    extra: str | None = None,
) -> str:
    """The footer string: "forecast vX.Y.Z · seed S · scenario · data as of D · extra"."""
    parts = [f"forecast v{_version()}"]
    if seed is not None:
        parts.append(f"seed {seed}")
    if scenario:
        parts.append(f"scenario {scenario}")
    if data_date:
        parts.append(f"data as of {data_date}")
    if extra:
        parts.append(str(extra))
    return " · ".join(parts)


def add_footer(
    fig: Figure,
    *,
    data_date: str | None = None,
    seed: int | None = None,
    scenario: str | None = None,
    extra: str | None = None,
    show: bool | None = None,
):
    """Write the provenance footer small at the bottom-left of ``fig``; returns the Text.

    A figure has at most one footer: calling this again replaces the earlier one.
    ``show``: None (default) shows it only on figures this package made, never on a
    figure whose Axes the user passed in (it would sit over their x-labels); True or False
    force it. A hidden footer is still there (``set_visible(True)`` shows it).
    """
    for text in list(fig.texts):
        if text.get_gid() == FOOTER_GID:
            text.remove()
    text = fig.text(
        0.01,
        0.008,
        footer_text(data_date=data_date, seed=seed, scenario=scenario, extra=extra),
        ha="left",
        va="bottom",
        fontsize=7,
        color="#555555",
        gid=FOOTER_GID,
        parse_math=False,  # scenario names are user text: a "$" is a dollar sign
        usetex=False,
    )
    text.set_visible(owns(fig) if show is None else bool(show))
    return text


#: Where a legend goes: "auto" (the figure's own choice on a new figure, inside on an Axes
#: you pass), "inside", "outside" (right of the axes) or None (no legend).
LEGEND_PLACES = ("auto", "inside", "outside", None)


def check_legend(legend) -> None:
    """Raise ValueError unless ``legend`` is one of :data:`LEGEND_PLACES`."""
    if legend not in LEGEND_PLACES:
        raise ValueError(f"legend must be one of {LEGEND_PLACES}, got {legend!r}")


def legend_place(legend, fig: Figure, own_default: str) -> str | None:
    """Resolve ``legend``: "auto" is ``own_default`` on a figure this package made, else
    "inside" (a legend outside a user's Axes would squeeze their other subplots)."""
    check_legend(legend)
    if legend == "auto":
        return own_default if owns(fig) else "inside"
    return legend


def finish_layout(fig: Figure, ax: Axes, *, title=None, legend="auto", footer=None) -> None:
    """Apply the placement options every single-Axes figure takes: ``title`` (None keeps
    the figure's own, "" removes it), ``legend`` (:data:`LEGEND_PLACES`) and ``footer``
    (None: shown on the package's own figures only; True/False force it)."""
    place = legend_place(legend, fig, "inside")
    if title is not None:
        ax.set_title(title)
    box = ax.get_legend()
    if box is not None:
        if place is None:
            box.remove()
        elif place == "outside":
            box.set_bbox_to_anchor((1.01, 1.0), transform=ax.transAxes)
            box.set_loc("upper left")
    if footer is not None:
        for text in fig.texts:
            if text.get_gid() == FOOTER_GID:
                text.set_visible(bool(footer))


#: The figures' own mathematical labels (exact strings, registered by :func:`math_text`):
#: the only texts that keep matplotlib's math text.
MATH_TEXTS: set[str] = set()


def math_text(text: str) -> str:
    """Mark ``text``, one of the package's own labels, as math text (``$\\sigma^2$``):
    :func:`literal_text` leaves it parsed. Never for text that holds user input."""
    MATH_TEXTS.add(text)
    return text


def literal_text(func):
    """Every text a figure function draws is drawn literally
    (:func:`forecast.safety.literal_figure_text`): scenario and model names, labels and
    titles you pass, legends, notes and tick labels given as text, with math text and TeX
    off, so a ``$`` or ``\\`` is a character and never an error. The package's own
    mathematical labels (:func:`math_text`) keep math text. On an Axes you pass, only
    what the function drew is touched. Every public ``plot_*`` function has it
    (tests/test_reliability_classes.py walks them all)."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ax = signature.bind_partial(*args, **kwargs).arguments.get("ax")
        before = figure_state(ax.figure) if ax is not None else None
        fig = func(*args, **kwargs)
        literal_figure_text(fig, before=before, math=MATH_TEXTS)
        return fig

    wrapper.__signature__ = signature
    return wrapper


def placeable(func):
    """Give a single-Axes plot function the keyword options ``title=``, ``legend=`` and
    ``footer=`` (see :func:`finish_layout`); its figure is drawn inside the Axes given."""
    signature = inspect.signature(func)
    options = [
        inspect.Parameter("title", inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter("legend", inspect.Parameter.KEYWORD_ONLY, default="auto"),
        inspect.Parameter("footer", inspect.Parameter.KEYWORD_ONLY, default=None),
    ]

    @functools.wraps(func)
    def wrapper(*args, title=None, legend="auto", footer=None, **kwargs):
        check_legend(legend)  # before the work of drawing
        fig = func(*args, **kwargs)
        ax = signature.bind_partial(*args, **kwargs).arguments.get("ax") or fig.axes[0]
        finish_layout(fig, ax, title=title, legend=legend, footer=footer)
        return fig

    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *options])
    wrapper.__doc__ = (func.__doc__ or "") + (
        '\n\n    Placement: ``title`` (None keeps the default, "" removes it), ``legend``\n'
        '    ("auto", "inside", "outside" or None) and ``footer`` (None: only on a new\n'
        "    figure). Nothing is drawn outside an Axes you pass."
    )
    return wrapper


def interval_note(ax: Axes, text: str, *, loc: str = "upper left"):
    """A small grey note inside ``ax`` (e.g. "shaded: 90% interval"); returns the artist."""
    from matplotlib.offsetbox import AnchoredText

    prop = {"fontsize": 8, "color": "#555555", "parse_math": False, "usetex": False}
    note = AnchoredText(text, loc=loc, frameon=False, prop=prop)  # drawn literally
    ax.add_artist(note)
    return note


def scenario_color(i: int) -> str:
    """The ``i``-th colour of :data:`SCENARIO_COLORS` (cycling)."""
    return SCENARIO_COLORS[i % len(SCENARIO_COLORS)]


def log_token_axis(ax: Axes, axis: str = "y") -> None:
    """A log10 axis of tokens: a tick per order of magnitude, labelled "1T", "10T", ..."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_locator(LogLocator(base=10, numticks=12))
    target.set_major_formatter(token_formatter())
    target.set_minor_formatter(NullFormatter())


def scatter_models(ax: Axes, years, tokens, *, size: float, alpha: float, label: str):
    """The notable models as grey points (decimal years against tokens), ``gid`` "models"."""
    return ax.scatter(
        years,
        tokens,
        s=size,
        color=POINT_COLOR,
        alpha=alpha,
        linewidths=0,
        zorder=3,
        label=label,
        gid="models",
    )
