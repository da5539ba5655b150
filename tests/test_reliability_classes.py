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

import dataclasses
import errno
import hashlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from matplotlib import cbook
from matplotlib.text import Text

import forecast
import forecast.plots
from forecast import cli
from forecast import data as data_module
from forecast.errors import DataError, DataWarning
from forecast.plots import style
from forecast.scenarios import load_scenario

# --- 1. user text reaching figures, tables, HTML, Markdown, CSV and terminals --------------

#: Names a careless or hostile user can give a scenario or a model: unbalanced math text
#: and a backslash (matplotlib's ParseFatalException in 0.8.4), TeX specials, HTML, an
#: escape sequence, a spreadsheet formula and a Markdown table pipe.
HOSTILE = (
    r"GPT $\frac{x$ \bad",
    "cost $5 $x^$ a_b^c{d}%#&~",
    "<script>alert(1)</script>",
    "evil\x1b[2J\x07",
    "=cmd|' /C calc'!A0",
    "pipe | in a name",
)


def _fragments(text: str) -> list[str]:
    """Pieces of a hostile string that survive as one run of characters in a figure."""
    return [p for p in re.split(r"[\x00-\x1f]", text) if len(p) >= 4]


def _figure_texts(fig) -> list[Text]:
    return list(fig.findobj(Text))


#: The math text matplotlib's own number formatters write (``10^3`` on a log axis).
_FORMATTER_MATH = re.compile(r"^\$\\mathdefault\{[^$]*\}\$$")


def assert_drawn_literally(fig, expected=()):
    """``fig`` renders (math text is parsed when drawn) and no text in it is
    parsed as math or TeX but the package's own labels; each of ``expected`` is shown
    character for character."""
    fig.savefig(io.BytesIO(), format="png", dpi=30)
    shown = []
    for text in _figure_texts(fig):
        content = text.get_text()
        if content in style.MATH_TEXTS or _FORMATTER_MATH.match(content):
            continue
        assert not (text.get_parse_math() and cbook.is_math_text(content)), content
        if any(f in content for h in HOSTILE for f in _fragments(h)):
            assert not text.get_parse_math() and not text.get_usetex(), content
        shown.append(content)
    for item in expected:
        for fragment in _fragments(item):
            assert any(fragment in s for s in shown), (fragment, "\n".join(shown))


@pytest.fixture(scope="module")
def hostile_runs():
    """The bundled table with its largest and its latest run renamed (the main figure
    labels both by name)."""
    runs = forecast.load_training_runs()
    runs.loc[runs["tokens"].idxmax(), "model"] = HOSTILE[0]
    runs.loc[runs.dropna(subset=["tokens"])["date"].idxmax(), "model"] = HOSTILE[2]
    return runs


@pytest.fixture(scope="module")
def hostile_results(bundled_demand, hostile_runs):
    demand = dataclasses.replace(bundled_demand, models=hostile_runs)
    main = load_scenario("baseline").with_overrides(name=HOSTILE[1], description=HOSTILE[3])
    other = load_scenario("epoch2024").with_overrides(name=HOSTILE[4])
    return forecast.run_scenarios([main, other], demand, draws=500, seed=2)


@pytest.fixture(scope="module")
def figure_cases(hostile_results, bundled_demand):
    """Every public figure function, called with hostile text wherever it takes text:
    name -> (make the figure, the texts it must show literally)."""
    from forecast.collapse.simulator import simulate, verification_sweep
    from forecast.collapse.theory import simulate_linear_regression
    from forecast.studies.sensitivity import sensitivity
    from tests.evaluation.test_skill import synthetic_study

    title = HOSTILE[5] + " " + HOSTILE[0]
    main = hostile_results[0]
    labels = {r.name: f"label {h}" for r, h in zip(hostile_results, HOSTILE[3:], strict=False)}
    sens = sensitivity(main.scenario, bundled_demand, levers=["overtraining"], draws=300, seed=2)
    sens = sens.assign(lever=HOSTILE[1], low_label=HOSTILE[2], high_label=HOSTILE[0])
    sim = simulate(generations=5, n_chains=20, vocab_chains=5)
    sweep = verification_sweep(generations=5, n_chains=10, accuracies=(0.6, 1.0))
    table = pd.DataFrame(
        {
            "remedy": [HOSTILE[0], HOSTILE[4]],
            "median": [2030.0, 2032.0],
            "p10": [2028.0, 2029.0],
            "p90": [2034.0, 2036.0],
            "p2_5": [2027.0, 2028.0],
            "p97_5": [2040.0, 2041.0],
            "horizon": [2100.0, 2100.0],
        }
    )
    remedies = type("Study", (), {"table": table, "settings": {"seed": 0, "draws": 500}})()
    calibration = pd.DataFrame(
        {
            "method": [HOSTILE[0]] * 3,
            "view": ["population"] * 3,
            "nominal": [0.5, 0.8, 0.95],
            "empirical": [0.4, 0.7, 0.9],
            "n": [10, 10, 10],
        }
    )
    P = forecast.plots
    return {
        "plot_main": (
            lambda: P.plot_main(hostile_results, labels=labels, title=title),
            [HOSTILE[0], HOSTILE[2], title, *labels.values()],
        ),
        "plot_prob_exhausted": (
            lambda: P.plot_prob_exhausted(hostile_results, title=title),
            [title, HOSTILE[1], HOSTILE[4]],
        ),
        "plot_stock_waterfall": (lambda: P.plot_stock_waterfall(main, title=title), [title]),
        "plot_sensitivity": (lambda: P.plot_sensitivity(sens), list(HOSTILE[:3])),
        "plot_demand_models": (lambda: P.plot_demand_models(bundled_demand, title=title), [title]),
        "plot_diagnostics": (lambda: P.plot_diagnostics(bundled_demand, title=title), [title]),
        "plot_collapse_variance": (lambda: P.plot_collapse_variance(sim, title=title), [title]),
        "plot_collapse_tails": (lambda: P.plot_collapse_tails(sim, title=title), [title]),
        "plot_collapse_vocabulary": (
            lambda: P.plot_collapse_vocabulary(sim, title=title),
            [title],
        ),
        "plot_linear_collapse": (
            lambda: P.plot_linear_collapse(
                simulate_linear_regression(generations=4, n_chains=10), title=title
            ),
            [title],
        ),
        "plot_real_weight": (lambda: P.plot_real_weight(title=title), [title]),
        "plot_verification": (
            lambda: P.plot_verification(sweep, generations=5, title=title),
            [title],
        ),
        "plot_remedies": (lambda: P.plot_remedies(remedies, title=title), [HOSTILE[0], title]),
        "plot_calibration": (lambda: P.plot_calibration(calibration, title=title), [HOSTILE[0]]),
        "plot_skill": (lambda: P.plot_skill(synthetic_study(), title=title), [title]),
    }


def test_every_figure_function_draws_user_text_literally(figure_cases):
    public = {n for n in forecast.plots.__all__ if n.startswith("plot_") and "_data" not in n}
    assert set(figure_cases) == public, "a figure function without a case here"
    for name, (make, expected) in figure_cases.items():
        try:
            assert_drawn_literally(make(), expected)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_figure_text_is_never_tex_even_when_the_user_turns_tex_on(figure_cases):
    # With text.usetex on in a matplotlibrc, a name would go to LaTeX (and "%" or "_"
    # break it); the package's texts from user input have TeX off. Built, not drawn
    # (this machine has no LaTeX).
    with matplotlib.rc_context({"text.usetex": True}):
        for name, (make, _expected) in figure_cases.items():
            fig = make()
            for text in _figure_texts(fig):
                if any(f in text.get_text() for h in HOSTILE for f in _fragments(h)):
                    assert not text.get_usetex(), (name, text.get_text())


def test_own_math_labels_keep_math_text_and_a_users_axes_keep_theirs(figure_cases):
    from matplotlib.figure import Figure

    from forecast.collapse.simulator import simulate

    fig = figure_cases["plot_linear_collapse"][0]()
    maths = [t for t in _figure_texts(fig) if t.get_text() in style.MATH_TEXTS]
    assert maths and all(t.get_parse_math() for t in maths)
    # On an Axes the caller passes, the caller's own texts keep their settings.
    users = Figure()
    mine, passed = users.subplots(1, 2)
    mine.set_xlabel(r"$\beta$ mine")
    mine.set_yticks([0, 1], [r"$\gamma$", "b"])
    fig = forecast.plots.plot_collapse_tails(simulate(generations=3, n_chains=5), ax=passed)
    assert fig is users
    assert mine.xaxis.label.get_parse_math()
    assert all(t.get_parse_math() for t in mine.get_yticklabels())
    assert not passed.title.get_parse_math()
    users.savefig(io.BytesIO(), format="png", dpi=40)


def test_the_report_escapes_user_text_in_html_markdown_and_csv(
    tmp_path, monkeypatch, bundled_demand, hostile_runs
):
    """The whole report, real figures included, with hostile scenario and model names:
    it renders (0.8.4 failed in matplotlib) and every sink is neutralised."""
    import forecast.collapse.simulator
    import forecast.collapse.theory
    import forecast.studies.sensitivity
    from forecast.report import writer as rp

    small = forecast.collapse.simulator.simulate(generations=5, n_chains=20, vocab_chains=5)
    linear = forecast.collapse.theory.simulate_linear_regression(generations=4, n_chains=10)
    sens = forecast.studies.sensitivity.sensitivity(
        "baseline", bundled_demand, levers=["overtraining"], draws=300, seed=2
    )
    monkeypatch.setattr(forecast.collapse.simulator, "simulate", lambda *a, **k: small)
    monkeypatch.setattr(
        forecast.collapse.theory, "simulate_linear_regression", lambda *a, **k: linear
    )
    monkeypatch.setattr(forecast.studies.sensitivity, "sensitivity", lambda *a, **k: sens.copy())
    demand = dataclasses.replace(bundled_demand, models=hostile_runs)
    main = load_scenario("baseline").with_overrides(name=HOSTILE[4], description=HOSTILE[3])
    others = [load_scenario("epoch2024").with_overrides(name=h) for h in HOSTILE[2:4]]
    others.append(load_scenario("epoch2024-overtrain5x").with_overrides(name=HOSTILE[5]))
    out = rp.write_report(
        tmp_path / "rep",
        scenario=main,
        compare=others,
        demand=demand,
        draws=500,
        seed=2,
        backtest=False,
        remedies=False,
        explorer=False,
        use_cache=False,
        progress=None,
    )
    page = (out / "index.html").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    table = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
    for text in (page, markdown):
        assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "\x1b" not in text and "evil\\x1b[2J\\x07" in text
    assert "pipe \\| in a name" in markdown  # a table cell, not a new column
    assert "'" + HOSTILE[4] in set(table["scenario"])  # a formula shown as text
    assert HOSTILE[5] in set(table["scenario"])


@pytest.mark.parametrize("command", ["data check", "run", "run --models", "scenarios show"])
def test_every_command_line_printer_shows_user_text_inert(command, tmp_path, capsys, hostile_runs):
    """Model names, scenario names and descriptions, file names: every line a command
    prints (stdout, stderr, warnings) shows escape sequences as text."""
    models = tmp_path / "evil\x1b[2J.csv"
    frame = hostile_runs.copy()
    frame.loc[frame["tokens"].idxmax(), "model"] = HOSTILE[3] + HOSTILE[0]
    frame.drop(columns=["year", "tokens_published"]).assign(
        tokens=hostile_runs["tokens_published"]
    ).to_csv(models, index=False)
    toml = tmp_path / "evil.toml"
    toml.write_text(
        'name = "evil\\u001b[2J $x^$"\ndescription = "\\u001b[1A<b>|"\n'
        'extends = "epoch2022-high-quality"\n',
        encoding="utf-8",
    )
    argv = {
        "data check": ["data", "check", str(models)],
        "run": ["run", "--scenario", str(toml), "--draws", "1000"],
        "run --models": [
            "run",
            "--scenario",
            str(toml),
            "--draws",
            "1000",
            "--models",
            str(models),
        ],
        "scenarios show": ["scenarios", "show", str(toml)],
    }[command]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    shown = {
        "data check": "evil\\x1b[2J\\x07GPT $\\frac{x$ \\bad",
        "run": "evil\\x1b[2J $x^$",
        "run --models": "evil\\x1b[2J.csv",
        "scenarios show": "\\u001B[2J $x^$",
    }[command]
    assert shown in out + err, out + err


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


# --- 3. plausibility of values: every numeric column, and near-duplicate names -----------------


#: A valid project table; the walk puts one value at a time into row 3 (model "b").
_PROJECT_HEADER = "model,date,tokens,unique_tokens,epochs,parameters,compute_flop,text_share"
_PROJECT_ROWS = [
    "a,2020-01-01,1e11,1e11,1,1e9,1e21,1",
    "b,2021-01-01,2e11,2e11,1,2e9,2e21,1",
    "c,2022-01-01,3e12,3e12,1,3e10,3e22,1",
]


def _table(tmp_path, column: str, text: str, header: str = _PROJECT_HEADER, rows=None):
    rows = list(rows or _PROJECT_ROWS)
    cells = rows[1].split(",")
    cells[header.split(",").index(column)] = text
    rows[1] = ",".join(cells)
    path = tmp_path / f"{column}.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_every_numeric_column_has_a_documented_plausible_range():
    numeric = {"tokens", "text_share", *data_module._FILE_NUMERIC}
    assert set(data_module.PLAUSIBLE) == numeric
    for rng in data_module.PLAUSIBLE.values():
        assert 0 < rng.low < rng.high and rng.why
        assert rng.minimum is None or rng.minimum <= rng.low


@pytest.mark.parametrize("column", sorted(data_module.PLAUSIBLE))
def test_every_numeric_column_warns_outside_its_range_and_errs_where_impossible(column, tmp_path):
    rng = data_module.PLAUSIBLE[column]
    inside = _table(
        tmp_path, column, f"{(rng.low * rng.high) ** 0.5 if column != 'text_share' else 0.5:g}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        data_module.load_models(inside)
    outside = [rng.low / 10] + ([rng.high * 10] if column != "text_share" else [])
    for value in outside:
        path = _table(tmp_path, column, f"{value:g}")
        with pytest.warns(DataWarning) as caught:
            frame = data_module.load_models(path)
        (warning,) = [w.message for w in caught if isinstance(w.message, DataWarning)]
        assert (warning.file, warning.row, warning.column) == (str(path), 3, column)
        assert "plausible range" in str(warning)
        report = data_module.check_models_file(path)
        assert (
            report.ok and "status: WARNINGS (1)" in report.text and "status: OK" not in report.text
        )
        assert f"row 3, column '{column}'" in report.text
        loaded = "tokens_published" if column == "tokens" else column
        assert frame.set_index("model").loc["b", loaded] == pytest.approx(value)
    if rng.minimum is not None:
        path = _table(tmp_path, column, "1e-300")
        with pytest.raises(DataError, match="impossible") as err:
            data_module.load_models(path)
        assert (err.value.row, err.value.column) == (3, column)
        assert "status: OK" not in data_module.check_models_file(path).text


def test_dates_before_1950_warn(tmp_path):
    path = _table(tmp_path, "date", "1920-05-01")
    with pytest.warns(DataWarning, match="before 1950") as caught:
        data_module.load_models(path)
    assert [(w.message.row, w.message.column) for w in caught] == [(3, "date")]


@pytest.mark.parametrize(
    ("column", "words"),
    [("Training dataset size (total)", False), ("Training dataset size (datapoints)", True)],
)
def test_epoch_files_are_held_to_the_same_ranges(column, words, tmp_path):
    header = f"Model,Publication date,Domain,{column},Parameters,Training compute (FLOP),Epochs"
    rows = [
        "m1,2020-01-01,Language,1e11,1e9,1e21,1",
        "m2,2021-01-01,Language,2e11,2e9,2e21,1",
        "m3,2022-01-01,Language,3e11,3e9,3e21,1",
    ]
    for epoch_column, field in [(column, "tokens"), *data_module.EPOCH_NUMERIC.items()]:
        rng = data_module.PLAUSIBLE[field]
        path = _table(tmp_path, epoch_column, f"{rng.high * 100:g}", header, rows)
        with pytest.warns(DataWarning, match=f"plausible range of {field}") as caught:
            data_module.load_models(path)
        assert [(w.message.row, w.message.column) for w in caught] == [(3, epoch_column)]
    # An impossible size is an error; an impossible optional value is dropped and noted,
    # as Epoch's unparseable optional values are.
    with pytest.raises(DataError, match="impossible"):
        data_module.load_models(_table(tmp_path, column, "0.5", header, rows))
    frame = data_module.load_models(_table(tmp_path, "Parameters", "0.5", header, rows))
    assert "impossible 'Parameters'" in str(frame.attrs["load_report"])


def test_bundled_and_reference_tables_load_without_warnings(fixtures_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        report = data_module.check_models_file(data_module.bundled_path("training_runs.csv"))
        assert report.text.endswith("status: OK") and not report.warnings
        for name in ("project_valid.csv", "epoch_total.csv", "epoch_system_datapoints.csv"):
            data_module.load_models(fixtures_dir / name)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("GPT-4", "gpt 4"),
        ("GPT-4", "GPT_4 "),
        ("Llama 3.1 405B", "llama-3.1-405b"),
        ("ＧＰＴ４", "GPT4"),  # full-width letters and digits
        ("Claude 3.5 Sonnet", "claude-3.5-sonnet"),
    ],
)
def test_names_that_differ_in_case_spacing_or_punctuation_are_reported(first, second, tmp_path):
    rows = [
        f'"{first}",2023-01-01,1e12,,,,,',
        "other,2023-02-01,2e12,,,,,",
        f'"{second}",2023-03-01,3e12,,,,,',
    ]
    path = tmp_path / "names.csv"
    path.write_text(_PROJECT_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.warns(DataWarning, match="differ only in case, spacing or punctuation") as c:
        frame = data_module.load_models(path)
    (w,) = [w.message for w in c]
    assert (w.row, w.column) == (4, "model") and "row 2" in str(w) and "row 4" in str(w)
    assert len(frame) == 3  # both kept: the load is otherwise unchanged
    assert "status: WARNINGS (1)" in data_module.check_models_file(path).text


@pytest.mark.parametrize(
    ("first", "second"),
    [("Qwen2.5 7B", "Qwen 2 57B"), ("GPT-4", "GPT-4o"), ("Llama 3 8B", "Llama 3.8B")],
)
def test_different_models_are_not_near_duplicates(first, second):
    assert data_module.normalised_name(first) != data_module.normalised_name(second)
