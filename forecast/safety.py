"""One output-safety layer: user text leaves the toolkit neutralised for where it lands.

User-controlled strings (scenario names and descriptions, model names from a CSV, file
paths) reach spreadsheets, Markdown/HTML, the terminal and matplotlib. Each sink has one
function here, and every writer uses it:

- :func:`csv_cell` / :func:`csv_frame`: a cell beginning with ``= + - @``, tab or carriage
  return gets a leading apostrophe, so a spreadsheet shows it as text instead of running
  it as a formula (OWASP "CSV injection"). Numbers are left alone.
- :func:`markdown_text`: ``& < >`` as HTML entities and ``|`` escaped, so text cannot open
  tags or break a table in ``report.md`` (HTML is escaped by :func:`html.escape` already).
- :func:`terminal_text`: control characters (ANSI escape sequences, backspace, bell, ...)
  shown as ``\\x1b``-style escapes; newlines and tabs kept.
- :func:`plot_label`: ``$`` escaped, so matplotlib draws it instead of parsing math text.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["csv_cell", "csv_frame", "markdown_text", "plot_label", "terminal_text"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def csv_cell(value):
    """``value`` safe for a spreadsheet cell (strings only; other values unchanged)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are :func:`csv_cell`-safe."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out


def markdown_text(text: str) -> str:
    """``text`` for Markdown: no raw HTML, no table-breaking pipes."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
    )


def terminal_text(text: str) -> str:
    """``text`` with control characters other than newline and tab made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def plot_label(text: str) -> str:
    """``text`` drawn literally by matplotlib (no math text)."""
    return str(text).replace("$", r"\$")
