"""Import paths of 0.8 that moved in 0.9's layout, kept working until 0.10.

``import forecast.skill`` (or ``from forecast.damped import ...``) gives a module that
forwards every attribute, read or set, to the module's new home and warns once with a
``DeprecationWarning`` naming it; nothing is copied, so monkeypatching the old path
patches the new module. One table, :data:`MOVED`, is the whole list.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

#: Old module path -> new module path (0.9); the old paths go in 0.10.
MOVED: dict[str, str] = {
    "forecast.damped": "forecast.demand.damped",
    "forecast.baselines": "forecast.demand.baselines",
    "forecast.levers": "forecast.stock.levers",
    "forecast.estimates": "forecast.stock.estimates",
    "forecast.backtest": "forecast.evaluation.backtest",
    "forecast.skill": "forecast.evaluation.skill",
    "forecast.sensitivity": "forecast.studies.sensitivity",
    "forecast.remedies": "forecast.studies.remedies",
    "forecast.collapse_theory": "forecast.collapse.theory",
    "forecast.explorer": "forecast.report.explorer",
}
REMOVED_IN = "0.10"


class _Alias(types.ModuleType):
    """A stand-in for a moved module: attribute reads and writes go to the new module."""

    def __getattr__(self, name: str):
        return getattr(importlib.import_module(self.__dict__["_target"]), name)

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("__") and name.endswith("__"):
            super().__setattr__(name, value)  # the import system's own attributes
        else:
            setattr(importlib.import_module(self.__dict__["_target"]), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(importlib.import_module(self.__dict__["_target"]), name)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self.__dict__["_target"]))


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = _Alias(spec.name)
        module.__dict__["_target"] = MOVED[spec.name]
        return module

    def exec_module(self, module) -> None:
        new = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {new} in forecast 0.9; the old path works until "
            f"{REMOVED_IN}: import {new} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        importlib.import_module(new)


_FINDER = _Finder()


def install() -> None:
    """Let the old paths import (once per process)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
