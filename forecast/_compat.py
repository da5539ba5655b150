"""Differences between ArviZ 0.x (``InferenceData``, PyMC 5) and ArviZ 1.x (``DataTree``, PyMC 6).

Everything that touches a version-specific API goes through this module.
"""

from __future__ import annotations

import importlib
import json
import types
from pathlib import Path

import numpy as np
import xarray as xr


def settle_arviz_stamp() -> None:
    """Write ArviZ 0.23's once-a-day stamp before ArviZ (or PyMC, which imports it) is
    first imported, through a temporary file of this process's own.

    ArviZ 0.23 writes the stamp through one fixed temporary name, so two processes that
    import it at the same moment on the first import of a day race, and one fails with
    ``FileNotFoundError`` (seen with the test suite's two workers, and possible for two
    forecast runs started together). With today's stamp in place ArviZ writes nothing.
    Only the stamp's date is written; any failure here is left to ArviZ as before.
    """
    global _STAMP_SETTLED
    if _STAMP_SETTLED:
        return
    _STAMP_SETTLED = True
    import datetime
    import os

    try:
        from platformdirs import user_cache_dir

        folder = Path(user_cache_dir("arviz", "arviz"))
        stamp = folder / "daily_warning"
        today = datetime.date.today().isoformat()
        if stamp.is_file() and stamp.read_text().strip() == today:
            return
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"daily_warning.{os.getpid()}.forecast-tmp"
        tmp.write_text(today)
        os.replace(tmp, stamp)
    except Exception:  # a stamp we could not write changes nothing of ours
        return


_STAMP_SETTLED = False


class _LazyModule(types.ModuleType):
    """A module imported on first attribute access."""

    def __getattr__(self, attribute: str):
        if self.__name__.split(".")[0] in ("arviz", "pymc"):
            settle_arviz_stamp()
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
    """Write a fit: netCDF, or :func:`save_arrays`'s format for a path ending in ``.npz``.

    The netCDF file is rendered in memory and written by Python: HDF5 writing straight to
    a full disk (or past a file-size limit) printed "Exception ignored" tracebacks and
    then crashed the interpreter (issue 38), where a Python write raises an OSError that
    forecast.persist turns into one message. The file reads back identically."""
    if Path(path).suffix == ".npz":
        save_arrays(idata, path)
        return
    tree = idata if isinstance(idata, xr.DataTree) else getattr(idata, "to_datatree", None)
    try:
        data = (tree if isinstance(tree, xr.DataTree) else tree()).to_netcdf(engine="h5netcdf")
    except TypeError:  # an ArviZ or xarray that cannot render netCDF in memory
        idata.to_netcdf(str(path))
        return
    with open(path, "wb") as file:
        file.write(data)


def load(path: Path) -> xr.DataTree:
    """A saved fit as an in-memory ``xarray.DataTree`` (the file is closed): reading it
    needs no ArviZ, so projecting a cached fit does not import it. :func:`native` turns
    it into ArviZ's own type when an ArviZ function or the user needs one."""
    if Path(path).suffix == ".npz":
        return load_arrays(path)
    with xr.open_datatree(str(path)) as tree:
        return tree.load()


#: Tag of :func:`save_arrays`'s manifest.
ARRAYS_FORMAT = "forecast fit arrays 1"


def _json_default(value):
    if hasattr(value, "tolist"):  # numpy scalars and arrays in attributes
        return value.tolist()
    raise TypeError(f"attribute value {value!r} cannot be stored")


def save_arrays(idata, path: Path) -> None:
    """A fit as one uncompressed numpy archive: every group's variables (their values,
    dtypes and bytes unchanged; text as numpy strings) and a JSON manifest of names, dims
    and attributes. Read back by :func:`load_arrays` about 7x faster than netCDF through
    h5netcdf (0.04 s against 0.3 s a fit; 17 fits in a warm report), so the fit cache
    uses it (issue 16)."""
    arrays: dict[str, object] = {}
    groups = {}
    for name in group_names(idata):
        dataset = group(idata, name)
        variables = {}
        for var, array in dataset.variables.items():
            key = f"a{len(arrays)}"
            values = array.values
            arrays[key] = values.astype(str) if values.dtype == object else values
            variables[str(var)] = {
                "array": key,
                "dims": list(array.dims),
                "coord": var in dataset.coords,
                "attrs": dict(array.attrs),
            }
        groups[name] = {"attrs": dict(dataset.attrs), "variables": variables}
    attrs = dict(getattr(idata, "attrs", None) or {})
    manifest = {"format": ARRAYS_FORMAT, "attrs": attrs, "groups": groups}
    text = json.dumps(manifest, default=_json_default)
    with open(path, "wb") as file:  # a file object: numpy adds no ".npz" to the name
        np.savez(file, manifest=np.array(text), **arrays)


def load_arrays(path: Path) -> xr.DataTree:
    """A fit written by :func:`save_arrays`, as an in-memory ``xarray.DataTree``."""
    with np.load(path) as archive:  # numpy refuses pickled objects by default
        manifest = json.loads(str(archive["manifest"])) if "manifest" in archive.files else {}
        if manifest.get("format") != ARRAYS_FORMAT:
            raise ValueError(f"not a {ARRAYS_FORMAT!r} file")
        nodes = {}
        for name, entry in manifest["groups"].items():
            parts = {True: {}, False: {}}
            for var, item in entry["variables"].items():
                parts[item["coord"]][var] = (item["dims"], archive[item["array"]], item["attrs"])
            nodes[f"/{name}"] = xr.Dataset(parts[False], coords=parts[True], attrs=entry["attrs"])
    tree = xr.DataTree.from_dict(nodes)
    tree.attrs.update(manifest["attrs"])
    return tree


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
