"""The report: :func:`write_report` (:mod:`forecast.report.writer`: one template body ->
HTML, Markdown, figures, JSON, CSV) and its in-page scenario explorer
(:mod:`forecast.report.explorer`). The package exports no name that is also a
submodule's, so ``forecast.report.writer`` is always the module.
"""

from __future__ import annotations

from forecast.report.explorer import ExplorerSettings, explore, explorer_draws
from forecast.report.writer import DEFAULT_COMPARE, write_report

__all__ = ["DEFAULT_COMPARE", "ExplorerSettings", "explore", "explorer_draws", "write_report"]
