"""Reliability classes (issue 38): each test walks *every* place of a class, not one
example (docs/bad_inputs.md, "Reliability classes, closed where they live"):

1. user text reaching a figure, a table, HTML, Markdown, CSV or a terminal: every figure
   function, the report and the command line's printers, with hostile names;
2. output paths: a symbolic link (and a link to a link), a relative path and ``..``,
   for every directory and file writer;
3. plausibility of values: every numeric column of a models table, and model names that
   differ only in case, spacing or punctuation;
4. types at the public API: every callable of ``forecast.__all__`` (and the public
   methods of what they return) with wrong types;
5. a full disk: every writer, and the command line's exit code.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pathlib
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import pytest

from forecast import cli

# --- 2. output paths: links, relative paths and "..", for every writer -----------------------


@pytest.fixture
def small_report(monkeypatch, bundled_demand):
    """``write(path)``: a fast report (the studies small, placeholder figures, as in
    tests/report/test_report.py), replacing an earlier one with ``force``."""
    from matplotlib.figure import Figure

    import forecast.collapse.simulator
    import forecast.collapse.theory
    import forecast.studies.sensitivity
    from forecast.report import writer as rp
    from tests.report.test_report import FIGURES, _placeholder_figure

    small = forecast.collapse.simulator.simulate(generations=5, n_chains=20, vocab_chains=5)
    linear = forecast.collapse.theory.simulate_linear_regression(generations=4, n_chains=10)
    sens = forecast.studies.sensitivity.sensitivity(
        "baseline", bundled_demand, levers=["overtraining"], draws=300, seed=2
    )
    monkeypatch.setattr(rp, "_save_figure", _placeholder_figure)
    # The figures themselves are walked in section 1: blank ones here.
    stems = [f for f in FIGURES if f != "skill"]
    monkeypatch.setattr(rp, "_figures", lambda *a, **k: [(f, f, "", Figure()) for f in stems])
    monkeypatch.setattr(forecast.collapse.simulator, "simulate", lambda *a, **k: small)
    monkeypatch.setattr(
        forecast.collapse.theory, "simulate_linear_regression", lambda *a, **k: linear
    )
    monkeypatch.setattr(forecast.studies.sensitivity, "sensitivity", lambda *a, **k: sens.copy())
    options = {
        "use_cache": False,
        "demand": bundled_demand,
        "draws": 500,
        "seed": 2,
        "compare": ("epoch2024",),
        "backtest": False,
        "remedies": False,
        "explorer": False,
        "progress": None,
    }
    return lambda path, force=False: rp.write_report(path, force=force, **options)


@pytest.fixture
def writers(small_report, bundled_demand, scenario_results):
    """Every writer of the package: name -> (write(path, replace), a file or directory
    name, and what the new output holds)."""
    fit = bundled_demand.fits["frontier"]
    result = scenario_results[0]
    return {
        "report": (lambda p, again: small_report(p, force=again), "index.html"),
        "demand set": (lambda p, again: bundled_demand.save(p, overwrite=again), "demand.json"),
        "scenario result": (lambda p, again: result.save(p, overwrite=again), None),
        "demand fit": (lambda p, again: fit.save(p, overwrite=again), None),
    }


#: How a path can lead to the output: a link, a link to a link, a relative path, "..".
PATH_FORMS = ("symlink", "link to a link", "relative", "dot-dot")


@pytest.mark.parametrize("form", PATH_FORMS)
@pytest.mark.parametrize("writer", ["report", "demand set", "scenario result", "demand fit"])
def test_replacing_through_any_path_leaves_only_the_new_output(
    writer, form, writers, tmp_path, monkeypatch
):
    write, inside = writers[writer]
    suffix = ".nc" if writer == "demand fit" else (".json" if inside is None else "")
    real_dir = tmp_path / "real"
    links = tmp_path / "links"
    work = tmp_path / "work"
    for d in (real_dir, links, work):
        d.mkdir()
    real = real_dir / f"out{suffix}"
    monkeypatch.chdir(work)
    if form == "symlink":
        os.symlink(real, links / f"out{suffix}")
        given = links / f"out{suffix}"
    elif form == "link to a link":
        os.symlink(real, links / f"first{suffix}")
        os.symlink(links / f"first{suffix}", links / f"out{suffix}")
        given = links / f"out{suffix}"
    elif form == "relative":
        given = os.path.relpath(real, work)  # ../real/out
    else:
        given = f"../links/../real/out{suffix}"
    write(given, False)  # the earlier output
    if inside is not None:
        (real / "old-only.txt").write_text("from the earlier run")
    before = {p.name for p in links.iterdir()}
    write(given, True)  # replaced through the same path
    assert {p.name for p in links.iterdir()} == before, "nothing new beside the link"
    assert sorted(p.name for p in real_dir.iterdir()) == [real.name]
    assert sorted(p.name for p in work.iterdir()) == []
    if inside is not None:
        assert (real / inside).is_file() and not (real / "old-only.txt").exists()
    for link in links.iterdir():
        assert link.is_symlink()


# --- 5. a full disk: every writer, and the command line's exit code ---------------------------

#: Run in a fresh process under a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored): each
#: writer's earlier output is written first, then the limit is set and the writer asked
#: to replace it; the process prints one JSON line per writer.
_FULL_DISK_SCRIPT = r"""
import hashlib, json, os, pathlib, resource, signal, sys, warnings
sys.path.insert(0, os.getcwd())
import matplotlib
matplotlib.use("Agg")
import pytest
from tests.conftest import recorded_demand
from tests.report.test_report import _placeholder_figure
import forecast, forecast.collapse.simulator, forecast.collapse.theory
import forecast.studies.sensitivity
from forecast.report import writer as rp
from forecast.demand import cache, trends

base = pathlib.Path(sys.argv[1])
demand = recorded_demand()
result = forecast.run_scenario("epoch2022-high-quality", draws=500, seed=1)
small = forecast.collapse.simulator.simulate(generations=5, n_chains=20, vocab_chains=5)
linear = forecast.collapse.theory.simulate_linear_regression(generations=4, n_chains=10)
sens = forecast.studies.sensitivity.sensitivity(
    "baseline", demand, levers=["overtraining"], draws=300, seed=2)
rp._save_figure = _placeholder_figure
forecast.collapse.simulator.simulate = lambda *a, **k: small
forecast.collapse.theory.simulate_linear_regression = lambda *a, **k: linear
forecast.studies.sensitivity.sensitivity = lambda *a, **k: sens.copy()

def report(path, again):
    return rp.write_report(path, force=again, use_cache=False, demand=demand, draws=500,
        seed=2, compare=("epoch2024",), backtest=False, remedies=False, explorer=False,
        progress=None)

fit = demand.fits["frontier"]
writers = {
    "report": (report, base / "report"),
    "demand set": (lambda p, again: demand.save(p, overwrite=again), base / "demand"),
    "scenario result": (lambda p, again: result.save(p, overwrite=again), base / "r.json"),
    "demand fit (netCDF)": (lambda p, again: fit.save(p, overwrite=again), base / "f.nc"),
    "demand fit (numpy)": (lambda p, again: fit.save(p, overwrite=again), base / "f.npz"),
}
for write, path in writers.values():
    write(path, False)

def state():
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(base.rglob("*"))}

earlier = state()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
for name, (write, path) in writers.items():
    try:
        write(path, True)
        out = {"error": None}
    except Exception as exc:
        out = {"error": type(exc).__name__, "message": str(exc), "oserror": isinstance(exc, OSError)}
    out.update(writer=name, path=str(path), intact=state() == earlier)
    print(json.dumps(out), flush=True)

# The fit cache only warns: a cache that cannot be written costs time, never the result.
cache_dir = base / "cache"
trends.ExponentialTrend.fit = lambda self, models, sampler: fit
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    got = cache.fit_cached(trends.ExponentialTrend(), demand.models, None, cache_dir)
    value = cache.value_cached("x", {"a": 1}, lambda: {"big": "y" * 50_000}, cache_dir)
print(json.dumps({"writer": "fit cache", "returned": got is fit and value["big"][:1] == "y",
    "warnings": [str(w.message) for w in caught],
    "left": sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []}))
"""


def _limited(limit: int):
    def preexec():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return preexec


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX resource limits")
def test_every_writer_on_a_full_disk_names_the_path_and_writes_nothing(tmp_path):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = tmp_path / "out"
    base.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, str(base)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["writer"] for r in lines] == [
        "report",
        "demand set",
        "scenario result",
        "demand fit (netCDF)",
        "demand fit (numpy)",
        "fit cache",
    ]
    for r in lines[:-1]:
        assert r["error"] == "WriteError" and r["oserror"], r
        assert r["message"].startswith(f"could not write {r['path']}"), r
        assert "File too large (EFBIG" in r["message"], r
        assert "nothing was written, the earlier one is unchanged" in r["message"], r
        assert "\n" not in r["message"] and len(r["message"]) < 300, r
        assert r["intact"], f"{r['writer']}: the earlier output changed"
    cache = lines[-1]
    assert cache["returned"] and cache["left"] == []
    assert len(cache["warnings"]) == 2
    assert all("continuing without caching" in w for w in cache["warnings"])


def test_a_full_disk_under_the_json_output_exits_1_with_one_line(tmp_path):
    out = tmp_path / "out.json"
    with open(out, "w") as handle:
        proc = subprocess.run(
            [sys.executable, "-m", "forecast.cli", "--quiet", "run", "--scenario",
             "epoch2022-high-quality", "--draws", "1000", "--json"],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            preexec_fn=_limited(1000),
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "forecast: error: could not write the output: File too large; what was printed is "
        "incomplete (nothing else was written)"
    ], proc.stderr


def test_report_on_a_full_disk_exits_1_and_keeps_the_earlier_report(
    tmp_path, monkeypatch, capsys, small_report, bundled_demand
):
    import forecast.pipeline

    out = tmp_path / "report"
    small_report(out)  # the earlier report
    earlier = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()
    }
    monkeypatch.setattr(forecast.pipeline, "fit_demand", lambda *a, **k: bundled_demand)
    real_write = pathlib.Path.write_text

    def full(self, text, *args, **kwargs):
        if self.name == "index.html":
            raise OSError(errno.EFBIG, "File too large", str(self))
        return real_write(self, text, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    argv = ["--quiet", "report", "--out", str(out), "--force", "--no-backtest", "--draws", "500"]
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"forecast: error: could not write {out}: File too large (EFBIG, ")
    assert "writing index.html); nothing was written, the earlier one is unchanged" in err
    now = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()
    }
    assert now == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
