"""Figure of the remedies study (:func:`forecast.studies.remedies.what_remedies_buy`).

``plot_remedies`` draws, per remedy, the median exhaustion date with its 80% and 95%
intervals; ``plot_remedies_data`` returns exactly the plotted numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from forecast.plots.style import add_footer, literal_text, new_figure, placeable

__all__ = ["plot_remedies", "plot_remedies_data"]


def plot_remedies_data(study) -> pd.DataFrame:
    """Plotted numbers: ``remedy``, ``median``, ``p10``, ``p90`` (80% interval),
    ``p2_5``, ``p97_5`` (95%), decimal years; NaN = after the horizon (drawn to it)."""
    return study.table[["remedy", "median", "p10", "p90", "p2_5", "p97_5"]].copy()


@literal_text
@placeable
def plot_remedies(study, ax: Axes | None = None) -> Figure:
    """Exhaustion date per remedy: thin line = 95% interval, thick = 80%, dot = median;
    the dotted vertical line is the no-remedy median. Artist gids ``<remedy>:95``,
    ``<remedy>:80`` and ``<remedy>:median``."""
    data = plot_remedies_data(study)
    fig, ax = new_figure(ax, (8.0, 0.45 * len(data) + 2.0))
    horizon = float(study.table["horizon"].max())
    y = np.arange(len(data))[::-1]
    for yi, rec in zip(y, data.itertuples(index=False), strict=True):
        lo95, hi95 = (horizon if np.isnan(v) else v for v in (rec.p2_5, rec.p97_5))
        lo80, hi80 = (horizon if np.isnan(v) else v for v in (rec.p10, rec.p90))
        ax.plot([lo95, hi95], [yi, yi], color="#0072B2", lw=1.5, gid=f"{rec.remedy}:95")
        ax.plot([lo80, hi80], [yi, yi], color="#0072B2", lw=6, alpha=0.6, gid=f"{rec.remedy}:80")
        ax.plot([rec.median], [yi], "o", color="#D55E00", gid=f"{rec.remedy}:median")
        ax.text(rec.median, yi + 0.22, f"{rec.median:.1f}", ha="center", fontsize=7.5)
    base = float(data["median"].iloc[0])
    ax.axvline(base, color="#444444", ls=":", lw=1)
    ax.set_yticks(y, list(data["remedy"]), fontsize=8.5)  # drawn literally (literal_text)
    finite = data[["p10", "p90", "median"]].to_numpy(dtype=float)
    lo = float(np.nanmin(finite))
    hi = float(np.nanmax(finite))
    ax.set_xlim(lo - 1.0, min(hi + 4.0, horizon))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year the largest training run reaches the usable stock")
    ax.set_title("What the remedies buy: exhaustion date on a web filling with AI text")
    s = study.settings
    add_footer(
        fig,
        seed=s.get("seed"),
        extra=f"{s.get('draws', 0):,} joint draws per row, shared demand draws · "
        "dot: median; thick: 80%; thin: 95% (clipped to the axes)",
    )
    return fig
