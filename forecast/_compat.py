"""Differences between ArviZ 0.x (``InferenceData``, PyMC 5) and ArviZ 1.x (``DataTree``, PyMC 6).

Everything that touches a version-specific API goes through this module.
"""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import xarray as xr


class _LazyModule(types.ModuleType):
    """A module imported on first attribute access."""

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self.__name__), attribute)


def lazy_module(name: str) -> types.ModuleType:
    """``name``, imported when first used: PyMC and statsmodels take about 0.9 s to
    import, ArviZ about 1 s, and loading a cached fit and projecting it needs none of
    them (issue 16)."""
    return _LazyModule(name)


az = lazy_module("arviz")


def as_dataset(obj) -> xr.Dataset:
    """A Dataset from a Dataset (ArviZ 0.x results) or a DataTree node (ArviZ 1.x)."""
    return obj if isinstance(obj, xr.Dataset) else obj.to_dataset()


def group(idata, name: str) -> xr.Dataset:
    """One group (``posterior``, ``sample_stats``, ...) of a fit as an ``xarray.Dataset``."""
    return as_dataset(idata[name])


def save(idata, path: Path) -> None:
    idata.to_netcdf(str(path))


def load(path: Path) -> xr.DataTree:
    """A saved fit as an in-memory ``xarray.DataTree`` (the file is closed): reading it
    needs no ArviZ, so projecting a cached fit does not import it. :func:`native` turns
    it into ArviZ's own type when an ArviZ function or the user needs one."""
    with xr.open_datatree(str(path)) as tree:
        return tree.load()


def native(idata):
    """``idata`` as the installed ArviZ's fit type: an ``InferenceData`` for ArviZ 0.x
    (from a DataTree read by :func:`load`), unchanged otherwise (ArviZ 1.x uses DataTree)."""
    if isinstance(idata, xr.DataTree) and hasattr(
        getattr(az, "InferenceData", None), "from_datatree"
    ):
        return az.InferenceData.from_datatree(idata)
    return idata


def compare(compare_dict, method: str = "stacking"):
    """``az.compare`` with unrounded numbers (ArviZ 1.x rounds elpd, se and weights by default)."""
    import inspect

    if "round_to" in inspect.signature(az.compare).parameters:
        return az.compare(compare_dict, method=method, round_to="none")
    return az.compare(compare_dict, method=method)


def group_names(idata) -> list[str]:
    """Names of the groups of a fit object (``posterior``, ``sample_stats``, ...)."""
    if hasattr(idata, "groups") and callable(idata.groups):
        return list(idata.groups())
    return list(idata.children)


def with_groups(idata, **groups: xr.Dataset):
    """A new fit object of the same kind with exactly these groups, keeping ``idata.attrs``."""
    attrs = dict(getattr(idata, "attrs", None) or {})
    if not isinstance(idata, xr.DataTree) and isinstance(idata, getattr(az, "InferenceData", ())):
        out = az.InferenceData(**groups)
    else:
        out = xr.DataTree.from_dict(dict(groups))
    out.attrs.update(attrs)
    return out


def with_group(idata, name: str, dataset: xr.Dataset):
    """``idata`` with group ``name`` added (or replaced)."""
    groups = {g: group(idata, g) for g in group_names(idata)}
    groups[name] = dataset
    return with_groups(idata, **groups)
