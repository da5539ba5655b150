"""The analyst notebooks in ``notebooks/`` run top to bottom and are committed clean.

Each notebook is executed on a fresh kernel of the running interpreter with
``FORECAST_NOTEBOOK_QUICK=1`` (short sampler runs, few draws) and a private
``FORECAST_CACHE_DIR``; any cell error fails the test. That cache starts with recorded
posteriors (tests/fixtures/record_demand.py), so no kernel compiles or samples; a kernel
that has to fit fails the test.
A second check asserts every committed notebook has no outputs and no execution counts.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO_DIR = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_DIR / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell


#: The notebooks' quick sampler (their first cell, with FORECAST_NOTEBOOK_QUICK=1).
QUICK_SAMPLER = {"draws": 200, "tune": 200, "chains": 2}
NOTEBOOK_RECORDING = REPO_DIR / "tests" / "fixtures" / "recorded_demand_notebook"


@pytest.fixture(scope="session")
def notebook_env(tmp_path_factory, load_recorded_demand, filed_in_cache) -> dict[str, str]:
    """Environment of the notebook kernels: quick mode, a private fit cache, no display.

    The cache starts with recorded posteriors (tests/fixtures/record_demand.py) filed
    under the notebooks' quick sampler: the bundled table's (conftest's
    ``load_recorded_demand``) and those of the table bring_your_own_data builds, with
    their LOO comparisons, so no kernel compiles or samples a demand model (about 35 s
    per compile, issue 16).
    """
    import forecast

    cache = tmp_path_factory.mktemp("forecast-cache")
    quick = forecast.SamplerConfig(**QUICK_SAMPLER)
    for path in (None, NOTEBOOK_RECORDING):
        # recorded_demand checks that the bundled recording's table is the bundled one
        demand = load_recorded_demand() if path is None else load_recorded_demand(path)
        filed_in_cache(demand, cache, quick)
    env = dict(os.environ)
    env.update(
        {
            "FORECAST_NOTEBOOK_QUICK": "1",
            "FORECAST_CACHE_DIR": str(cache),
            "MPLBACKEND": "Agg",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
    )
    return env


def _kernel_manager():
    """A kernel manager that starts ``ipykernel`` on *this* interpreter (not whatever
    ``python3`` kernelspec happens to be installed)."""
    from jupyter_client.manager import KernelManager

    class ThisInterpreterKernel(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            args = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
            return args + list(extra_arguments or [])

    return ThisInterpreterKernel(kernel_name="python3")


def test_notebooks_found() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {
        "quickstart.ipynb",
        "reproduce_epoch.ipynb",
        "policy_scenarios.ipynb",
        "bring_your_own_data.ipynb",
        "model_collapse.ipynb",
        "write_a_brief.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stripped(path: pathlib.Path) -> None:
    """Committed notebooks carry no outputs or execution counts (outputs stripped in git)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: pathlib.Path, notebook_env: dict[str, str]) -> None:
    """Execute the notebook in quick mode; a cell error raises CellExecutionError."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        km=_kernel_manager(),
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    cache = pathlib.Path(notebook_env["FORECAST_CACHE_DIR"])
    before = set(cache.iterdir())
    client.execute(env=notebook_env, cwd=str(NOTEBOOK_DIR))
    fitted = sorted(p.name for p in set(cache.iterdir()) - before)
    assert not fitted, (
        f"{path.name} fitted {fitted} in its kernel instead of reading the recorded "
        "posteriors: run `python tests/fixtures/record_demand.py` to record them again"
    )
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    # Every cell that draws a figure must show it inline (a Figure made without pyplot
    # only renders once the inline backend is on: ``%matplotlib inline``).
    blank = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and "forecast.plots.plot_" in cell.source
        and not any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
    ]
    assert not blank, f"{path.name}: cells {blank} draw a figure but show no image"
