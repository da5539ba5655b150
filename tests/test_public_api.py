"""Every public name has a docstring, and so has every public method of a public class."""

from __future__ import annotations

import inspect
import pathlib

import pytest

import forecast

NAMES = [n for n in forecast.__all__ if n != "__version__"]


def _public_members(cls) -> list[str]:
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property | staticmethod | classmethod) or inspect.isfunction(member):
            out.append(name)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_public_name_is_documented(name):
    obj = getattr(forecast, name)
    assert inspect.getdoc(obj), f"forecast.{name} has no docstring"
    if inspect.isclass(obj):
        missing = [
            m
            for m in _public_members(obj)
            if not (getattr(vars(obj)[m], "__doc__", None) or "").strip()
        ]
        assert not missing, f"forecast.{name}: no docstring on {missing}"


def test_all_is_sorted_and_resolvable():
    assert forecast.__all__[1:] == sorted(forecast.__all__[1:])
    for name in NAMES:
        getattr(forecast, name)


def test_loading_and_projecting_does_not_import_the_samplers():
    # Issue 16: PyMC and statsmodels cost about 0.9 s to import and ArviZ about 1 s;
    # `forecast run` with a cached fit needs none of them, so they are imported on first
    # use. A loaded fit's `idata` is still ArviZ's own type, with the stored posterior.
    import subprocess
    import sys

    recorded = pathlib.Path(__file__).parent / "fixtures" / "recorded_demand"
    code = f"""
import sys
import numpy as np
import forecast.cli, forecast.pipeline, forecast.demand.damped, forecast.demand.baselines
demand = forecast.pipeline.load_demand({str(recorded)!r})
for fit in demand.fits.values():
    assert fit.project([2025.0, 2030.0], n_draws=50, seed=0).shape == (50, 2)
print(sorted(m for m in ('pymc', 'statsmodels', 'arviz') if m in sys.modules))
fit = demand.fits["damped-trend"]
idata = fit.idata
import arviz
native = getattr(arviz, "InferenceData", None) or __import__("xarray").DataTree
print(type(idata) is native, fit.idata is idata, "forecast_model" in idata.attrs)
print(all(np.array_equal(idata.posterior[v], fit.posterior[v]) for v in fit.posterior.data_vars))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["[]", "True True True", "True"]
