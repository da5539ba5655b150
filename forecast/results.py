"""What every results object shares: one set of default interval levels, their column
names, and the display and serialisation every results class gets from :class:`Result`.

- :data:`DEFAULT_LEVELS`: the central intervals reported unless asked otherwise, 80% and
  95% (``p10``-``p90`` and ``p2_5``-``p97_5``). :func:`interval_names` names the ends of
  any level, :func:`quantile_levels` gives the median and both ends of each level.
- :class:`Result`: ``summary()`` (a DataFrame with numeric columns, each class's own),
  ``to_dict()`` (JSON-safe; the class's ``to_json_dict`` where it has one) and
  ``_repr_html_`` built from the summary, with one number format, so every results object
  shows the same way in Jupyter.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from forecast.errors import ForecastError

__all__ = [
    "DEFAULT_LEVELS",
    "Result",
    "check_levels",
    "interval_names",
    "quantile_levels",
    "summary_html",
]

#: Central intervals reported by default: 80% and 95%.
DEFAULT_LEVELS: tuple[float, ...] = (0.8, 0.95)


def check_levels(levels: Sequence[float] | float | None) -> tuple[float, ...]:
    """Levels as a tuple (None = :data:`DEFAULT_LEVELS`), each strictly between 0 and 1."""
    if levels is None:
        return DEFAULT_LEVELS
    if isinstance(levels, int | float):
        levels = (levels,)
    out = tuple(float(v) for v in levels)
    for v in out:
        if not 0.0 < v < 1.0:
            raise ForecastError(f"interval levels must be between 0 and 1, got {v!r}")
    return out


def _name(q: float) -> str:
    text = f"{100 * q:.10g}".replace(".", "_")
    return f"p{text}"


def interval_names(level: float) -> tuple[str, str]:
    """Column names of the ends of the central ``level`` interval: 0.8 -> ("p10", "p90"),
    0.95 -> ("p2_5", "p97_5")."""
    (level,) = check_levels(level)
    tail = (1.0 - level) / 2.0
    return _name(round(tail, 12)), _name(round(1.0 - tail, 12))


def quantile_levels(levels: Sequence[float] | None = None) -> dict[str, float]:
    """``{"median": 0.5, "p10": 0.1, "p90": 0.9, ...}`` for the central ``levels``."""
    out = {"median": 0.5}
    for level in check_levels(levels):
        lo, hi = interval_names(level)
        tail = (1.0 - level) / 2.0
        out[lo], out[hi] = round(tail, 12), round(1.0 - tail, 12)
    return out


def _cell(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return f"{v:.4g}"
    return str(v)


def summary_html(title: str, frame: pd.DataFrame) -> str:
    """A bold title over the summary table (numbers to 4 significant digits)."""
    table = frame.to_html(index=False, na_rep="NaN", formatters=None, float_format=_cell)
    return f"<div><b>{html.escape(title)}</b>{table}</div>"


class Result:
    """Mixin of every results object (see the module docstring)."""

    def summary(self) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _title(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``json.dumps`` works on it as is)."""
        to_json = getattr(self, "to_json_dict", None)
        if to_json is None:  # pragma: no cover - every subclass has one or overrides this
            raise NotImplementedError
        out = to_json()
        return out if isinstance(out, dict) else {"items": out}

    def _repr_html_(self) -> str:
        return summary_html(self._title(), self.summary())
