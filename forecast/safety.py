"""One output-safety layer: user text leaves the toolkit neutralised for where it lands.

User-controlled strings (scenario names and descriptions, model names from a CSV, file
paths) reach spreadsheets, Markdown/HTML, the terminal and matplotlib. Each sink has one
function here, and every writer uses it:

- :func:`csv_cell` / :func:`csv_frame`: a cell beginning with ``= + - @``, tab or carriage
  return gets a leading apostrophe, so a spreadsheet shows it as text instead of running
  it as a formula (OWASP "CSV injection"). Numbers are left alone.
- :func:`markdown_text`: what could open a tag, an autolink, an entity or a block quote
  as HTML entities and ``|`` escaped, so text cannot open tags or break a table in
  ``report.md``; every other ``< > &`` is left as written (``->``, ``<=``), so the file
  reads as it renders (HTML is escaped by :func:`html.escape` already).
- :func:`terminal_text`: control characters (ANSI escape sequences, backspace, bell, ...)
  shown as ``\\x1b``-style escapes; newlines and tabs kept.
- :func:`literal_figure_text`: every text a figure function drew (titles, axis labels,
  legends, annotations, notes, footers, tick labels given as text) is drawn literally,
  with matplotlib's math text and TeX off, so no user string is ever parsed: ``$x^$``,
  ``\\frac{``, ``_`` and ``%`` are characters, never markup, and never an error;
  control characters are shown as on a terminal (:func:`terminal_text`). Only
  the figures' own mathematical labels (named to it in ``math``) keep math text. Every
  ``forecast.plots`` figure function passes through it (``forecast.plots.style.literal_text``).
- :func:`plot_label`: ``$`` escaped, for text drawn where math text is on (outside the
  package's figures, e.g. a label you add to one of them yourself).
"""

from __future__ import annotations

import functools
import re

import pandas as pd

__all__ = [
    "csv_cell",
    "csv_frame",
    "figure_state",
    "literal_figure_text",
    "markdown_text",
    "plot_label",
    "terminal_text",
]

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


#: What could open raw HTML or an autolink in Markdown: ``<`` before a letter, ``/``,
#: ``!`` or ``?``, up to the ``>`` closing it (CommonMark, "Raw HTML" and "Autolinks").
_MARKDOWN_TAG = re.compile(r"<(?=[A-Za-z/!?])([^<>]*)(>?)")
#: An ``&`` that would start an entity or a numeric character reference.
_MARKDOWN_ENTITY = re.compile(r"&(?=#|[A-Za-z][A-Za-z0-9]*;)")
#: A ``>`` opening a line (after at most three spaces): a block quote.
_MARKDOWN_QUOTE = re.compile(r"^( {0,3})>", re.MULTILINE)


def markdown_text(text: str) -> str:
    """``text`` for Markdown, written as it reads: no raw HTML, no table-breaking pipes.

    Only what Markdown would interpret is escaped: a ``<`` that could open a tag, comment
    or autolink (and the ``>`` closing it) as ``&lt;`` / ``&gt;``, an ``&`` that would
    start an entity as ``&amp;``, a ``>`` opening a line as ``&gt;``, and ``|`` as ``\\|``.
    Every other ``<``, ``>`` and ``&`` stays, so ``->``, ``<=`` and ``R&D`` read as written
    in report.md (HTML is escaped by :func:`html.escape`)."""
    out = _MARKDOWN_ENTITY.sub("&amp;", str(text))
    out = _MARKDOWN_TAG.sub(lambda m: f"&lt;{m.group(1)}{'&gt;' if m.group(2) else ''}", out)
    out = _MARKDOWN_QUOTE.sub(r"\1&gt;", out)
    return out.replace("|", "\\|")


def terminal_text(text: str) -> str:
    """``text`` with control characters other than newline and tab made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def plot_label(text: str) -> str:
    """``text`` drawn literally by matplotlib (no math text)."""
    return str(text).replace("$", r"\$")


def figure_state(fig) -> dict:
    """Every text artist of a matplotlib figure with its current text (by ``id``) and the
    tick formatters of its Axes: what :func:`literal_figure_text` compares against to
    find what a figure function drew into a figure it did not make."""
    from matplotlib.text import Text

    return {
        "texts": {id(t): (t, t.get_text()) for t in fig.findobj(Text)},
        "formatters": {
            id(f)
            for ax in fig.axes
            for axis in (ax.xaxis, ax.yaxis)
            for f in (axis.get_major_formatter(), axis.get_minor_formatter())
        },
    }


def literal_figure_text(fig, *, before=None, math=frozenset()) -> None:
    """Draw every text of ``fig`` literally: math text and TeX off.

    ``before``: :func:`figure_state` taken before the figure function drew into a figure
    it did not make (an Axes passed in); then only texts that are new or whose text
    changed, and tick labels of formatters set since, are touched, and the caller's own
    texts keep their settings. ``math``: texts (exact strings) that are the package's own
    mathematical labels and keep math text.

    Tick labels that a formatter computes from numbers (``10^3`` on a log axis, offsets)
    are the package's and are left alone; tick labels given as text (categories, names)
    are drawn literally, every one of them (the ticks are made here, so none is made
    later with matplotlib's defaults).
    """
    before = before or {"texts": {}, "formatters": set()}
    formatted: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatted.add(id(axis.offsetText))
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                formatted.update((id(tick.label1), id(tick.label2)))
    for key, (text, content) in figure_state(fig)["texts"].items():
        if key in formatted or content in math:
            continue
        if key in before["texts"] and before["texts"][key][1] == content:
            continue
        _literal(text)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for ticks, formatter, locs in (
                (axis.get_major_ticks, axis.get_major_formatter(), axis.get_majorticklocs),
                (axis.get_minor_ticks, axis.get_minor_formatter(), axis.get_minorticklocs),
            ):
                if id(formatter) in before["formatters"] or not _text_labels(formatter):
                    continue
                for tick in ticks(len(locs())):
                    _literal(tick.label1)
                    _literal(tick.label2)


def _text_labels(formatter) -> bool:
    """Whether ``formatter`` holds tick labels given as text (``set_ticks(x, labels)``:
    a ``FixedFormatter``, or the position-to-label ``FuncFormatter`` matplotlib 3.8+
    makes for fixed ticks); their control characters are made visible here, since the
    label is set again from the formatter at every draw."""
    from matplotlib.ticker import FixedFormatter

    if isinstance(formatter, FixedFormatter):
        formatter.seq = [terminal_text(label) for label in formatter.seq]
        return True
    func = getattr(formatter, "func", None)
    if isinstance(func, functools.partial) and func.func.__name__ == "_format_with_dict":
        labels = func.args[0]
        labels.update({k: terminal_text(v) for k, v in labels.items()})
        return True
    return False


def _literal(text) -> None:
    """One text artist drawn as the characters it holds (control characters shown as
    ``\\x1b``, as on a terminal: a font has no glyph for them)."""
    text.set_parse_math(False)
    text.set_usetex(False)
    content = text.get_text()
    visible = terminal_text(content)
    if visible != content:
        text.set_text(visible)
