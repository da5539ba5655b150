"""The report: :func:`write_report` (HTML, Markdown, figures, JSON and CSV from one
template body, :mod:`forecast.report.writer`) and the in-page scenario explorer
(:mod:`forecast.report.explorer`). Imported on first use, so that the explorer's
computation does not load matplotlib and Jinja2.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "DEFAULT_COMPARE": "forecast.report.writer",
    "EPOCH2024_GROWTH_OOM": "forecast.report.writer",
    "REPORT_MARKER": "forecast.report.writer",
    "check_output_dir": "forecast.report.writer",
    "write_report": "forecast.report.writer",
    "ExplorerDraws": "forecast.report.explorer",
    "ExplorerSettings": "forecast.report.explorer",
    "explore": "forecast.report.explorer",
    "explorer_draws": "forecast.report.explorer",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES})
