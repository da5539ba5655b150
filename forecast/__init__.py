"""forecast: when do large language models run out of human-written text?

The main path is three lines::

    import forecast
    models = forecast.load_training_runs()               # tokens, dates, sources (pandas)
    demand = forecast.fit_demand(models)                 # PyMC growth models + default mix
    result = forecast.run_scenario("baseline", demand)   # exhaustion-date distribution

Public API (imported lazily, so ``import forecast`` does not load PyMC):

- data: :func:`load_training_runs`, :func:`load_models` (project schema or Epoch AI's
  CSV, auto-detected), :func:`check_models_file`; units in :mod:`forecast.units`.
- demand: :func:`fit_demand` -> :class:`DemandSet` (``.save(dir)``, :func:`load_demand`);
  model classes in :mod:`forecast.demand` (the default in :mod:`forecast.demand.damped`,
  the 0.2-era trends in :mod:`forecast.demand.trends`, baselines in
  :mod:`forecast.demand.baselines`).
- stock: :class:`Epoch2024Stock`, :class:`Epoch2022HighQualityStock` (:mod:`forecast.stock`;
  levers in :mod:`forecast.stock.levers`).
- exhaustion: :func:`forecast.exhaustion.exhaustion` (first crossing per joint draw).
- scenarios: :func:`load_scenario`, :func:`run_scenario` -> :class:`ScenarioResult`,
  :func:`run_scenarios` for several at once; ``result.save(path)`` / :func:`load_result`
  (exact JSON round trip);
  :func:`compare` puts results side by side (numeric: quantiles, P(by year), shares).
- figures in :mod:`forecast.plots`, the report in :mod:`forecast.report`, the collapse
  simulator in :mod:`forecast.collapse`, backtests in :mod:`forecast.evaluation`.
- forecast skill: :func:`evaluate_skill` (leave-future-out study at half-yearly origins,
  exact scores, stacking weights; :mod:`forecast.evaluation.skill`) -> :class:`SkillStudy`.
- remedies: :func:`what_remedies_buy` (exhaustion date with isolation, verified synthetic
  data and both; :mod:`forecast.studies.remedies`) -> :class:`RemedyStudy`; the collapse
  literature's closed forms in :mod:`forecast.collapse.theory`.
- which assumption matters: :func:`global_sensitivity` (Sobol indices of every lever at
  once, on Dask; :mod:`forecast.studies.global_sensitivity`, docs/global_sensitivity.md)
  -> :class:`GlobalSensitivity`.
- explorer: :func:`explorer_draws` (the draws the report's interactive explorer embeds),
  :class:`ExplorerSettings` (one position of its controls; ``.overrides()`` for
  :func:`run_scenario`, ``.command()`` for ``forecast run --set``) and :func:`explore`
  (the page's computation in Python; :mod:`forecast.report.explorer`).

The layout (docs/architecture.md): ``demand/``, ``stock/``, ``evaluation/``, ``studies/``,
``collapse/``, ``report/``, ``plots/`` beside the main path (``scenarios``, ``pipeline``,
``exhaustion``). Modules that moved in 0.9 keep their old import path until 0.10, with a
``DeprecationWarning`` (:mod:`forecast._moved`).

Units: tokens for text, decimal years for dates, everywhere inside.
"""

from __future__ import annotations

import importlib
import warnings

from forecast import _moved
from forecast._version import __version__

# PyTensor warns on import when pip's NumPy offers no BLAS to link for its C backend. The
# fits compile through numba (nutpie), so the warning says nothing about them and only
# clutters scripts and notebooks (issue 18); this one message is silenced, nothing else.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)

_LAZY = {
    "load_training_runs": "forecast.data",
    "load_models": "forecast.data",
    "check_models_file": "forecast.data",
    "fit_demand": "forecast.pipeline",
    "DemandSet": "forecast.pipeline",
    "run_scenario": "forecast.pipeline",
    "run_scenarios": "forecast.pipeline",
    "load_demand": "forecast.pipeline",
    "load_result": "forecast.pipeline",
    "compare": "forecast.pipeline",
    "ScenarioResult": "forecast.pipeline",
    "reproduction_table": "forecast.pipeline",
    "load_scenario": "forecast.scenarios",
    "Scenario": "forecast.scenarios",
    "Epoch2024Stock": "forecast.stock.models",
    "Epoch2022HighQualityStock": "forecast.stock.models",
    "SamplerConfig": "forecast.demand",
    "ForecastError": "forecast.errors",
    "DataError": "forecast.errors",
    "ScenarioError": "forecast.errors",
    "ShortHistoryWarning": "forecast.errors",
    "SkillStudy": "forecast.evaluation.skill",
    "what_remedies_buy": "forecast.studies.remedies",
    "RemedyStudy": "forecast.studies.remedies",
    "global_sensitivity": "forecast.studies.global_sensitivity",
    "GlobalSensitivity": "forecast.studies.global_sensitivity",
    "ExplorerSettings": "forecast.report.explorer",
    "explore": "forecast.report.explorer",
    "explorer_draws": "forecast.report.explorer",
}
#: Public names that differ from the attribute in their module.
_ALIASES = {"evaluate_skill": ("forecast.evaluation.skill", "evaluate")}

__all__ = ["__version__", *sorted([*_LAZY, *_ALIASES])]


_SUBMODULES = {
    "collapse",
    "data",
    "demand",
    "evaluation",
    "exhaustion",
    "pipeline",
    "plots",
    "registry",
    "report",
    "scenarios",
    "stock",
    "studies",
    "units",
}

_moved.install()


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _ALIASES:
        module, attribute = _ALIASES[name]
        return getattr(importlib.import_module(module), attribute)
    if name in _SUBMODULES:  # ``forecast.plots`` works after a bare ``import forecast``
        return importlib.import_module(f"forecast.{name}")
    if f"forecast.{name}" in _moved.MOVED:  # ``forecast.skill``: the 0.8 path, deprecated
        return importlib.import_module(f"forecast.{name}")
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
