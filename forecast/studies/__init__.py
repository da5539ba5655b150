"""Studies built on the main path: what moves the date (:mod:`forecast.studies.sensitivity`:
``forecast.studies.sensitivity.sensitivity``, one lever at a time), which assumption carries
the uncertainty (:mod:`forecast.studies.global_sensitivity`: Sobol indices of every lever
at once, on Dask) and what data isolation and verified synthetic data buy
(:mod:`forecast.studies.remedies`). The package exports no name that is also a
submodule's, so ``forecast.studies.sensitivity`` is always the module.
"""

from __future__ import annotations

from forecast.studies.global_sensitivity import (
    DEFAULT_GLOBAL_LEVERS,
    GlobalLever,
    GlobalSensitivity,
)
from forecast.studies.remedies import (
    REMEDY_ACCURACIES,
    RemedyStudy,
    load_synthetic_data,
    remedy_scenarios,
    what_remedies_buy,
)
from forecast.studies.sensitivity import DEFAULT_LEVERS, Lever

__all__ = [
    "DEFAULT_GLOBAL_LEVERS",
    "DEFAULT_LEVERS",
    "REMEDY_ACCURACIES",
    "GlobalLever",
    "GlobalSensitivity",
    "Lever",
    "RemedyStudy",
    "load_synthetic_data",
    "remedy_scenarios",
    "what_remedies_buy",
]
