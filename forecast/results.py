"""What every results object shares: one set of default interval levels, their column
names, and the display and serialisation every results class gets from :class:`Result`.

- :data:`DEFAULT_LEVELS`: the central intervals reported unless asked otherwise, 80% and
  95% (``p10``-``p90`` and ``p2_5``-``p97_5``). :func:`interval_names` names the ends of
  any level, :func:`quantile_levels` gives the median and both ends of each level.
- :class:`Result`: ``summary()`` (a DataFrame with numeric columns, each class's own),
  ``to_dict()`` and ``from_dict()``, and ``_repr_html_`` built from the summary, with one
  number format, so every results object shows the same way in Jupyter.

``to_dict()`` is JSON-safe and exact: the class's short JSON schema (``to_json_dict``, what
``forecast ... --json`` prints) where it has one, plus ``"format"`` and ``"fields"``, every
field of the object encoded by :func:`encode` (tables column by column and arrays
bit-exact, see :mod:`forecast.persist`), from which ``from_dict`` rebuilds an equal
object. Two classes keep their own exact form: ``ScenarioResult`` (``to_dict`` /
``from_dict`` / ``save``) and ``DemandSet``, whose posteriors are netCDF files
(``save`` / ``load_demand``); its ``to_dict`` is the summary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import importlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast import persist
from forecast.errors import ForecastError
from forecast.units import year_text

__all__ = [
    "DEFAULT_LEVELS",
    "Result",
    "check_levels",
    "decode",
    "encode",
    "interval_names",
    "mc_error_text",
    "quantile_levels",
    "start_note",
    "summary_html",
    "supported_decimals",
    "year_with_error",
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


# --- honest precision: a number printed to what its Monte Carlo error supports -----------


def supported_decimals(se, most: int = 2, unknown: int = 1) -> int:
    """Decimals a number with Monte Carlo standard error ``se`` supports:
    ``floor(-log10(2 se))`` clipped to [0, ``most``], so half a unit of the last digit is
    at least ``se``; ``unknown`` when there is no error (None, NaN, infinite or zero)."""
    if se is None or not math.isfinite(float(se)) or float(se) <= 0:
        return unknown
    return int(min(most, max(0, math.floor(-math.log10(2.0 * float(se))))))


def mc_error_text(se) -> str:
    """One standard error for reading, to one significant digit (``"0.01"``, ``"0.3"``)."""
    se = float(se)
    return f"{se:.1g}" if se >= 0.001 else "<0.001"


def _mc_error(result, key: str):
    errors = getattr(result, "mc_error", None) or {}
    value = errors.get(key)
    return None if value is None or not math.isfinite(float(value)) else float(value)


def year_with_error(result, key: str = "median", *, error: bool = True) -> str:
    """A scenario result's exhaustion-year statistic (``median``, ``p10``, ``p90``,
    ``p2_5``, ``p97_5``) rounded to the decimals its total Monte Carlo error
    (``result.mc_error``) supports, with the error when ``error``: ``"2029.8 (Monte
    Carlo error ±0.01 years)"``. One decimal and no error when it was not estimated;
    "after the horizon" past it."""
    q = {"median": 0.5, "p10": 0.1, "p90": 0.9, "p2_5": 0.025, "p97_5": 0.975}[key]
    value = float(result.exhaustion.quantile(q))
    se = _mc_error(result, key)
    text = year_text(value, supported_decimals(se))
    if error and se is not None and math.isfinite(value):
        text += f" (Monte Carlo error ±{mc_error_text(se)} years)"
    return text


def start_note(result) -> str:
    """One sentence when the lower end of the 95% (and the 80%) interval is the start of
    the projection because more than 2.5% (10%) of the draws have demand at or above the
    stock already there ("" otherwise): ``"The 95% interval starts at the data date
    2026-07-16: 3.0% of the draws have demand at or above the stock already."``"""
    share = float(result.exhaustion.already_exhausted_share)
    ends = [name for name, tail in (("median", 0.5), ("80%", 0.1), ("95%", 0.025)) if share > tail]
    if not ends:
        return ""
    if ends[0] == "median":
        what = "The median and both intervals start"
    elif len(ends) == 2:
        what = "The 80% and 95% intervals start"
    else:
        what = "The 95% interval starts"
    start = float(result.scenario.start)
    models = getattr(result, "models", None)
    data_year = float(models["year"].max()) if models is not None and len(models) else math.nan
    where = (
        f"the data date {result.data_date}"
        if abs(start - data_year) < 1e-3
        else f"the start of the projection ({start:.2f})"
    )
    return (
        f"{what} at {where}: {100 * share:.1f}% of the draws have demand at or above the "
        "stock already."
    )


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


# --- exact JSON encoding of a results object's fields ------------------------------------


def _encode_frame(frame: pd.DataFrame) -> dict[str, Any]:
    index = None
    if not frame.index.equals(pd.RangeIndex(len(frame))) or any(frame.index.names):
        index = [None if n is None else str(n) for n in frame.index.names]
        frame = frame.reset_index()
    columns = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col) or pd.api.types.is_numeric_dtype(col):
            data = persist.frame_to_json(col.to_frame())["columns"][0]
            columns.append({"name": encode(name), "kind": data["kind"], "data": data["data"]})
        else:
            values = [encode(v) for v in col.astype(object).tolist()]
            columns.append(
                {"name": encode(name), "kind": "values", "dtype": str(col.dtype), "data": values}
            )
    return {"columns": columns, "rows": len(frame), "index": index}


def _decode_frame(payload: dict[str, Any]) -> pd.DataFrame:
    data = {}
    for col in payload["columns"]:
        name = decode(col["name"])
        if col["kind"] == "values":
            values = pd.Series([decode(v) for v in col["data"]], dtype=object)
            data[name] = values if col["dtype"] == "object" else values.astype(col["dtype"])
        else:
            stored = {"columns": [{**col, "name": "c"}], "attrs": {}, "rows": payload["rows"]}
            data[name] = persist.frame_from_json(stored)["c"]
    frame = pd.DataFrame(data, index=pd.RangeIndex(payload["rows"]))
    if payload.get("index") is not None:
        names = payload["index"]
        frame = frame.set_index([c for c in frame.columns[: len(names)]])
        frame.index.names = names
    return frame


def encode(value: Any) -> Any:
    """``value`` as JSON-safe data that :func:`decode` turns back into an equal value:
    numbers, text, None, tables (index kept), arrays, dates and timestamps, tuples, lists,
    dicts (any keys) and nested results objects."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, pd.DataFrame):
        return {"frame": _encode_frame(value)}
    if isinstance(value, np.ndarray):
        return {"array": persist.array_to_json(value)}
    if isinstance(value, pd.Timestamp):
        return {"timestamp": value.isoformat()}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, Result):
        cls = type(value)
        return {"result": f"{cls.__module__}:{cls.__qualname__}", "dict": value.to_dict()}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot encode a {type(value).__name__} exactly")


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "result" in data:
        module, _, name = str(data["result"]).partition(":")
        if not module.startswith("forecast."):
            raise ForecastError(f"not a stored forecast results object ({data['result']!r})")
        return getattr(importlib.import_module(module), name).from_dict(data["dict"])
    if len(data) != 1:
        raise ForecastError(f"not a stored value (keys {sorted(data)})")
    ((tag, payload),) = data.items()
    decoders = {
        "float": float,
        "frame": _decode_frame,
        "array": persist.array_from_json,
        "timestamp": pd.Timestamp,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "tuple": lambda items: tuple(decode(v) for v in items),
        "dict": lambda pairs: {decode(k): decode(v) for k, v in pairs},
    }
    if tag not in decoders:
        raise ForecastError(f"not a stored value (unknown tag {tag!r})")
    return decoders[tag](payload)


class Result:
    """Mixin of every results object (see the module docstring)."""

    def summary(self) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _title(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and exact: the short JSON schema (``to_json_dict``) plus ``format``
        and ``fields``, from which :meth:`from_dict` rebuilds an equal object."""
        to_json = getattr(self, "to_json_dict", None)
        out = dict(to_json()) if to_json is not None else {}
        return {**out, **self._exact_fields()}

    def _exact_fields(self) -> dict[str, Any]:
        fields = {f.name: encode(getattr(self, f.name)) for f in dataclasses.fields(self) if f.init}
        return {"format": f"forecast.{type(self).__name__}", "fields": fields}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]):
        """The object :meth:`to_dict` wrote (also after a JSON round trip)."""
        expected = f"forecast.{cls.__name__}"
        if not isinstance(payload, dict) or payload.get("format") != expected:
            found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise ForecastError(f"not a stored {cls.__name__} (format {found!r}, not {expected!r})")
        try:
            return cls(**{name: decode(v) for name, v in payload["fields"].items()})
        except (KeyError, TypeError, ValueError) as exc:
            raise ForecastError(f"stored {cls.__name__} is damaged ({exc})") from None

    def _repr_html_(self) -> str:
        return summary_html(self._title(), self.summary())
