"""Studies built on the main path: what moves the date (:mod:`forecast.studies.sensitivity`:
``forecast.studies.sensitivity.sensitivity``) and what data isolation and verified synthetic
data buy (:mod:`forecast.studies.remedies`). The package exports no name that is also a
submodule's, so ``forecast.studies.sensitivity`` is always the module.
"""

from __future__ import annotations

from forecast.studies.remedies import (
    REMEDY_ACCURACIES,
    RemedyStudy,
    load_synthetic_data,
    remedy_scenarios,
    what_remedies_buy,
)
from forecast.studies.sensitivity import DEFAULT_LEVERS, Lever

__all__ = [
    "DEFAULT_LEVERS",
    "REMEDY_ACCURACIES",
    "Lever",
    "RemedyStudy",
    "load_synthetic_data",
    "remedy_scenarios",
    "what_remedies_buy",
]
