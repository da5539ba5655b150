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
import inspect
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
    sens = sensitivity(main.scenario, bundled_demand, levers=["compute growth"], draws=300, seed=2)
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
        "plot_compute": (lambda: P.plot_compute(main), [HOSTILE[1]]),
        "plot_global_sensitivity": (
            lambda: P.plot_global_sensitivity(_hostile_global_sensitivity()),
            [HOSTILE[0], HOSTILE[1], HOSTILE[3]],
        ),
    }


def _hostile_global_sensitivity():
    """A GlobalSensitivity of the report's three outputs whose lever and scenario names are
    hostile text (the numbers are made up)."""
    from forecast.studies.global_sensitivity import GlobalSensitivity

    names = [HOSTILE[0], HOSTILE[1]]
    outputs = {
        "median": "median exhaustion year",
        "p_by_2030": "P(exhausted by the end of 2030)",
        "width80": "width of the 80% interval",
    }
    indices = pd.DataFrame(
        [
            {
                "output": o,
                "lever": name,
                "S1": s1,
                "S1_low": s1 - 0.1,
                "S1_high": s1 + 0.1,
                "ST": s1 + 0.1,
                "ST_low": s1,
                "ST_high": s1 + 0.2,
            }
            for o in outputs
            for name, s1 in zip(names, (0.5, 0.2), strict=True)
        ]
    )
    interactions = pd.DataFrame(
        [
            {
                "output": o,
                "mean": 2030.0,
                "sd": 3.0,
                "sum_S1": 0.7,
                "interactions": 0.3,
                "interactions_low": 0.2,
                "interactions_high": 0.4,
            }
            for o in outputs
        ]
    )
    levers = pd.DataFrame(
        {"lever": names, "distribution": names, "applies_when": ["", ""], "source": names}
    )
    return GlobalSensitivity(
        indices=indices,
        interactions=interactions,
        levers=levers,
        outputs=pd.DataFrame({"output": list(outputs), "description": list(outputs.values())}),
        values=np.zeros((8, 3)),
        settings={
            "scenario": HOSTILE[3],
            "seed": 0,
            "draws": 100,
            "evaluations": 8,
            "n_base": 2,
            "conf_level": 0.95,
        },
    )


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
        "baseline", bundled_demand, levers=["compute growth"], draws=300, seed=2
    )
    monkeypatch.setattr(forecast.collapse.simulator, "simulate", lambda *a, **k: small)
    monkeypatch.setattr(
        forecast.collapse.theory, "simulate_linear_regression", lambda *a, **k: linear
    )
    monkeypatch.setattr(forecast.studies.sensitivity, "sensitivity", lambda *a, **k: sens.copy())
    import forecast.studies.global_sensitivity as gs

    monkeypatch.setattr(gs, "global_sensitivity", lambda *a, **k: _hostile_global_sensitivity())
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
        "baseline", bundled_demand, levers=["compute growth"], draws=300, seed=2
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
        "global_analysis": False,
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
    "baseline", demand, levers=["compute growth"], draws=300, seed=2)
rp._save_figure = _placeholder_figure
forecast.collapse.simulator.simulate = lambda *a, **k: small
forecast.collapse.theory.simulate_linear_regression = lambda *a, **k: linear
forecast.studies.sensitivity.sensitivity = lambda *a, **k: sens.copy()

def report(path, again):
    return rp.write_report(path, force=again, use_cache=False, demand=demand, draws=500,
        seed=2, compare=("epoch2024",), backtest=False, remedies=False, explorer=False,
        global_analysis=False, progress=None)

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
    argv = ["--quiet", "report", "--out", str(out), "--force", "--no-backtest", "--no-global"]
    argv += ["--draws", "500"]
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


# --- 4. types at the public API: every callable, every argument, wrong types -------------------

import datetime as _dt  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from forecast.errors import ForecastError  # noqa: E402


class _Reached(Exception):
    """A call got past its argument checks into the work (which the test stubs out)."""


def _reach(*_args, **_kwargs):
    raise _Reached


_BIG = pd.DataFrame({"model": [f"m{i}" for i in range(500)], "tokens": np.arange(500.0)})

#: Values a careless or hostile caller passes; each kind below says which would be right.
JUNK = (
    None,
    True,
    False,
    0,
    -1,
    150,
    10**13,
    150.9,
    1e5,
    float("nan"),
    float("inf"),
    "",
    "x",
    "2030",
    "20x0",
    b"2030",
    [1, 2],
    ["x"],
    [2030.5],
    ("baseline",),
    {"a": 1},
    {1, 2},
    np.float64(150.9),
    np.int64(2030),
    np.array([[1.0, 2.0]]),
    _BIG,
    object(),
    1 + 2j,
    _dt.date(2023, 1, 1),
)


def _is_int(v, low=None, high=None):
    ok = isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)
    return ok and (low is None or v >= low) and (high is None or v <= high)


def _is_number(v, low=None, high=None, open_=False):
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer | np.floating):
        return False
    if (isinstance(v, int) and abs(v) > 2**1000) or not np.isfinite(float(v)):
        return False
    if open_:
        return (low is None or v > low) and (high is None or v < high)
    return (low is None or v >= low) and (high is None or v <= high)


def _is_year(v):
    if isinstance(v, str):
        return bool(re.fullmatch(r"\s*[+-]?\d{1,6}\s*", v)) and 1000 <= int(v) <= 9999
    return _is_number(v, 1000, 9999) and float(v).is_integer()


def _seq(v, item):
    if isinstance(v, str | bytes | dict | set) or not isinstance(v, list | tuple | np.ndarray):
        return False
    return np.ndim(v) == 1 and all(item(x) for x in v)


#: Each argument kind: which values are right. A value that is not is the wrong type
#: (or out of the kind's range) and must be a ForecastError; "maybe" kinds only promise
#: no other exception (their meaning is checked where they are read).
KINDS = {
    "path": lambda v: isinstance(v, str | os.PathLike),
    "path?": lambda v: v is None or isinstance(v, str | os.PathLike),
    "frame": lambda v: isinstance(v, pd.DataFrame),
    "frame?": lambda v: v is None or isinstance(v, pd.DataFrame),
    "flag": lambda v: isinstance(v, bool | np.bool_),
    "text": lambda v: isinstance(v, str),
    "text?": lambda v: v is None or isinstance(v, str),
    "texts?": lambda v: v is None or _seq(v, lambda x: isinstance(x, str)),
    "text(s)?": lambda v: v is None or isinstance(v, str) or _seq(v, lambda x: isinstance(x, str)),
    "draws": lambda v: _is_int(v, 100, 5_000_000),
    "draws?": lambda v: v is None or _is_int(v, 100, 5_000_000),
    "seed": lambda v: _is_int(v, 0, 2**32 - 1),
    "seed?": lambda v: v is None or _is_int(v, 0, 2**32 - 1),
    "workers": lambda v: _is_int(v, 1),
    "count": lambda v: _is_int(v, 1),
    "count?": lambda v: v is None or _is_int(v, 1),
    "digits": lambda v: _is_int(v, 0, 6),
    "number": _is_number,
    "number?": lambda v: v is None or _is_number(v),
    "q": lambda v: _is_number(v, 0, 1),
    "levels": lambda v: _seq(v, lambda x: _is_number(x, 0, 1, True)),
    "levels?": lambda v: v is None or _seq(v, lambda x: _is_number(x, 0, 1, True)),
    "year": _is_year,
    "years": lambda v: _seq(v, _is_year),
    "years?": lambda v: v is None or _seq(v, _is_year),
    "year(s)?": lambda v: v is None or _is_year(v) or _seq(v, _is_year),
    "numbers": lambda v: _seq(v, _is_number),
    "function": callable,
    "progress": lambda v: v is None or callable(v),
    "scenario": lambda v: isinstance(v, str | os.PathLike | forecast.Scenario),
    "demand": lambda v: isinstance(v, forecast.DemandSet),
    "demand?": lambda v: v is None or isinstance(v, forecast.DemandSet),
    "result(s)": lambda v: (
        isinstance(v, forecast.ScenarioResult)
        or _seq(v, lambda x: isinstance(x, forecast.ScenarioResult))
    ),
    "results": lambda v: _seq(v, lambda x: isinstance(x, forecast.ScenarioResult)),
    "dict": lambda v: isinstance(v, dict),
    "sampler?": lambda v: v is None or isinstance(v, forecast.SamplerConfig),
    "explorer draws": lambda v: type(v).__name__ == "ExplorerDraws",
    "settings?": lambda v: v is None or isinstance(v, forecast.ExplorerSettings),
    # maybe kinds: the type layer lets more through, their readers decide
    "maybe": lambda v: True,
}


def _kinds(**kinds):
    return kinds


@pytest.fixture(scope="module")
def api(bundled_demand, scenario_results, tmp_path_factory):
    """Every public callable: name -> (call(**arguments), valid arguments, argument kinds,
    what to stub: (module, attribute) pairs whose call means the work started)."""
    from forecast.evaluation import skill
    from tests.evaluation.test_skill import synthetic_study

    tmp = tmp_path_factory.mktemp("api")
    result = scenario_results[0]
    saved = result.save(tmp / "result.json")
    ex = result.exhaustion
    study = synthetic_study()
    draws = forecast.explorer_draws(bundled_demand, n_draws=50)
    settings_ = forecast.ExplorerSettings()
    runs = forecast.load_training_runs()
    F = forecast
    stock_kinds = _kinds(
        quality_fraction="maybe",
        stock_growth="maybe",
        repetition="maybe",
        epochs="maybe",
        consent_restriction="maybe",
        contamination="maybe",
        isolation="maybe",
        synthetic="maybe",
        estimates_path="path?",
    )
    counter = iter(range(10**9))
    return _Api(
        tmp,
        {
            "load_training_runs": (F.load_training_runs, {}, _kinds(path="path?"), []),
            "load_models": (
                F.load_models,
                {"path_or_url": data_module.bundled_path("training_runs.csv")},
                _kinds(path_or_url="path"),
                [],
            ),
            "check_models_file": (
                F.check_models_file,
                {"path": data_module.bundled_path("training_runs.csv")},
                _kinds(path="path"),
                [],
            ),
            "fit_demand": (
                F.fit_demand,
                {"models": runs},
                _kinds(
                    models="frame?",
                    sampler="sampler?",
                    names="text(s)?",
                    cache_dir="path?",
                    use_cache="flag",
                    progress="progress",
                ),
                [("forecast.demand", "fit_cached")],
            ),
            "run_scenario": (
                F.run_scenario,
                {"scenario": "baseline", "demand": bundled_demand},
                _kinds(
                    scenario="scenario",
                    demand="demand?",
                    draws="draws?",
                    seed="seed?",
                    models="frame?",
                    progress="progress",
                    name="text?",
                    stock="maybe",
                    mc_error="flag",
                ),
                [("forecast.pipeline", "simulate_exhaustions"), ("forecast.demand", "fit_cached")],
            ),
            "run_scenarios": (
                F.run_scenarios,
                {"scenarios": ["baseline"], "demand": bundled_demand},
                _kinds(
                    scenarios="maybe",
                    demand="demand?",
                    draws="draws?",
                    seed="seed?",
                    models="frame?",
                    progress="progress",
                    workers="workers",
                    mc_error="flag",
                ),
                [("forecast.pipeline", "simulate_exhaustions"), ("forecast.demand", "fit_cached")],
            ),
            "load_demand": (
                F.load_demand,
                {"path": str(pathlib.Path(__file__).parent / "fixtures" / "recorded_demand")},
                _kinds(path="path"),
                [],
            ),
            "load_result": (F.load_result, {"path": saved}, _kinds(path="path"), []),
            "compare": (
                F.compare,
                {"results": scenario_results},
                _kinds(results="result(s)", years="years", levels="levels"),
                [],
            ),
            "reproduction_table": (
                F.reproduction_table,
                {"results": scenario_results},
                _kinds(results="results"),
                [],
            ),
            "load_scenario": (
                F.load_scenario,
                {"name_or_path": "baseline"},
                _kinds(name_or_path="scenario"),
                [],
            ),
            "evaluate_skill": (
                F.evaluate_skill,
                {"models": runs},
                _kinds(
                    models="frame",
                    methods="texts?",
                    origins="maybe",
                    horizons="numbers",
                    sampler="sampler?",
                    seed="seed",
                    min_history_years="number",
                    n_boot="count",
                    use_cache="flag",
                    cache_dir="path?",
                    data_name="text",
                    progress="progress",
                ),
                [(skill.__name__, "_targets")],
            ),
            "what_remedies_buy": (
                F.what_remedies_buy,
                {"demand": bundled_demand},
                _kinds(
                    demand="demand?",
                    base="scenario",
                    accuracies="numbers",
                    both_accuracy="number",
                    draws="draws",
                    seed="seed",
                    years="years?",
                    progress="progress",
                    workers="workers",
                ),
                [("forecast.pipeline", "run_scenarios")],
            ),
            "global_sensitivity": (
                F.global_sensitivity,
                {"scenario": "baseline", "demand": bundled_demand},
                _kinds(
                    scenario="scenario",
                    demand="demand",
                    levers="maybe",
                    n="count",
                    draws="draws",
                    seed="seed",
                    by_year="year",
                    resamples="count",
                    conf_level="q",
                    client="maybe",
                    scheduler="text?",
                    workers="count?",
                    progress="progress",
                    base_rows_per_block="count",
                ),
                [("forecast.studies.global_sensitivity", "sobol_indices")],
            ),
            "GlobalSensitivity.ranking": (
                _hostile_global_sensitivity().ranking,
                {},
                _kinds(output="text?"),
                [],
            ),
            "explorer_draws": (
                F.explorer_draws,
                {"demand": bundled_demand},
                _kinds(
                    demand="demand",
                    scenario="scenario",
                    n_draws="count",
                    seed="seed?",
                    demand_models="texts?",
                ),
                [("forecast.pipeline", "demand_projector")],
            ),
            "explore": (
                F.explore,
                {"draws": draws},
                _kinds(draws="explorer draws", settings="settings?"),
                [],
            ),
            "SamplerConfig": (
                F.SamplerConfig,
                {},
                _kinds(
                    draws="count",
                    tune="count",
                    chains="count",
                    target_accept="number",
                    seed="seed",
                    progress="flag",
                    nuts_sampler="text",
                    escalate="flag",
                    escalated_from="count?",
                ),
                [],
            ),
            "Scenario": (
                F.Scenario,
                {"name": "mine"},
                _kinds(
                    name="text",
                    description="text",
                    demand="maybe",
                    stock="maybe",
                    start="maybe",
                    horizon="number",
                    draws="draws",
                    seed="seed",
                    published="dict",
                    source="text",
                ),
                [],
            ),
            "ExplorerSettings": (
                F.ExplorerSettings,
                {},
                _kinds(
                    demand_model="text",
                    repetition="text",
                    epochs="number",
                    quality_fraction="number?",
                    stock_growth="number?",
                    consent_restriction="flag",
                    contamination="flag",
                    isolation="flag",
                    synthetic="text",
                    synthetic_multiplier="number",
                    verifier_accuracy="number?",
                ),
                [],
            ),
            "Epoch2024Stock": (
                F.Epoch2024Stock,
                {},
                {**stock_kinds, "bytes_per_token_floor": "number?"},
                [],
            ),
            "Epoch2022HighQualityStock": (F.Epoch2022HighQualityStock, {}, stock_kinds, []),
            "ScenarioResult.stock_at": (result.stock_at, {"year": 2030}, _kinds(year="number"), []),
            "ScenarioResult.summary": (result.summary, {}, _kinds(levels="levels?"), []),
            "ScenarioResult.save": (
                lambda **kw: result.save(**{"path": tmp / f"r{next(counter)}.json", **kw}),
                {},
                _kinds(path="path", overwrite="flag"),
                [("forecast.persist", "write_text_atomic")],
            ),
            "ScenarioResult.from_json": (
                F.ScenarioResult.from_json,
                {"source": saved},
                _kinds(source="path"),
                [],
            ),
            "ScenarioResult.from_dict": (
                F.ScenarioResult.from_dict,
                {"payload": result.to_dict()},
                _kinds(payload="dict"),
                [],
            ),
            "DemandSet.save": (
                lambda **kw: bundled_demand.save(**{"path": tmp / f"d{next(counter)}", **kw}),
                {},
                _kinds(path="path", overwrite="flag"),
                [("forecast.persist", "write_directory_atomic")],
            ),
            "ExhaustionResult.quantile": (ex.quantile, {"q": 0.5}, _kinds(q="q"), []),
            "ExhaustionResult.quantile_mc_se": (
                ex.quantile_mc_se,
                {},
                _kinds(q="q", batches="count"),
                [],
            ),
            "ExhaustionResult.quantiles": (ex.quantiles, {}, _kinds(levels="levels?"), []),
            "ExhaustionResult.prob_exhausted_by": (
                ex.prob_exhausted_by,
                {},
                _kinds(years="year(s)?"),
                [],
            ),
            "ExhaustionResult.summary": (ex.summary, {}, _kinds(levels="levels?"), []),
            "ExhaustionResult.year_texts": (ex.year_texts, {}, _kinds(digits="digits"), []),
            "SkillStudy.summary": (
                study.summary,
                {},
                _kinds(target="text", levels="levels"),
                [],
            ),
            "SkillStudy.pit_histogram": (
                study.pit_histogram,
                {},
                _kinds(method="text?", bins="count"),
                [],
            ),
            "ExplorerSettings.overrides": (settings_.overrides, {}, _kinds(base="scenario"), []),
            "ExplorerSettings.scenario": (settings_.scenario, {}, _kinds(base="scenario"), []),
            "ExplorerSettings.command": (settings_.command, {}, _kinds(base="text"), []),
            "write_report": (
                lambda **kw: __import__("forecast.report").report.write_report(
                    **{"out_dir": tmp / f"rep{next(counter)}", **kw}
                ),
                {"demand": bundled_demand, "compare": (), "progress": None},
                _kinds(
                    out_dir="path",
                    scenario="scenario",
                    compare="maybe",
                    models="frame?",
                    demand="demand?",
                    draws="draws?",
                    seed="seed?",
                    force="flag",
                    backtest="flag",
                    remedies="flag",
                    explorer="flag",
                    global_analysis="flag",
                    sampler="sampler?",
                    use_cache="flag",
                    cache_dir="path?",
                    progress="progress",
                    workers="workers",
                ),
                [
                    ("forecast.pipeline", "run_scenarios"),
                    ("forecast.pipeline", "fit_demand"),
                    ("forecast.report.writer", "_collapse_cached"),
                    ("forecast.report.writer", "_global_study"),
                ],
            ),
            "Scenario.at_data_date": (
                forecast.load_scenario("baseline").at_data_date,
                {"data_year": 2025.5},
                _kinds(data_year="number"),
                [],
            ),
        },
    )


class _Api(dict):
    """The walk's table, and the directory its calls run in (a writer given a junk
    path writes there, never into the repository)."""

    def __init__(self, cwd, table):
        super().__init__(table)
        self.cwd = cwd


#: Public names that take no arguments to check, and why.
NOT_CALLED = {
    "ForecastError": "an exception class (takes a message)",
    "DataError": "an exception class (takes a message and its location)",
    "ScenarioError": "an exception class (takes a message)",
    "ShortHistoryWarning": "a warning class",
    "DemandSet": "a results object the package builds (fit_demand, load_demand)",
    "ScenarioResult": "a results object the package builds (run_scenario, load_result)",
    "SkillStudy": "a results object the package builds (evaluate_skill)",
    "RemedyStudy": "a results object the package builds (what_remedies_buy)",
    "GlobalSensitivity": "a results object the package builds (global_sensitivity)",
}


def _public_methods(cls) -> list[str]:
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_") or name in ("to_dict", "to_json", "to_json_dict", "to_toml"):
            continue
        func = member.__func__ if isinstance(member, classmethod | staticmethod) else member
        if inspect.isfunction(func):
            params = [
                p
                for p in inspect.signature(func).parameters.values()
                if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            if params:
                out.append(f"{cls.__name__}.{name}")
    return out


def _target(name: str):
    """The function behind an entry of ``api``: a public name, or Class.method."""
    from forecast.exhaustion import ExhaustionResult

    if name == "write_report":  # the report's entry point, beside forecast.__all__
        return __import__("forecast.report").report.write_report
    if "." not in name:
        return getattr(forecast, name)
    cls, method = name.split(".")
    owner = ExhaustionResult if cls == "ExhaustionResult" else getattr(forecast, cls)
    return getattr(owner, method)


def test_the_walk_covers_every_public_callable_and_argument(api):
    from forecast.exhaustion import ExhaustionResult

    names = {n for n in forecast.__all__ if n != "__version__"}
    assert names == {n for n in api if "." not in n} - {"write_report"} | set(NOT_CALLED)
    classes = [getattr(forecast, n) for n in names if inspect.isclass(getattr(forecast, n))]
    methods = {m for cls in [*classes, ExhaustionResult] for m in _public_methods(cls)}
    # The package's own constructor, and a method that always refuses (a set is not JSON).
    methods -= {"ExhaustionResult.from_chunks", "DemandSet.from_dict"}
    assert methods <= set(api), sorted(methods - set(api))
    for name, (_call, _valid, kinds, _stubs) in api.items():
        params = {
            p.name
            for p in inspect.signature(_target(name)).parameters.values()
            if p.name not in ("self", "cls")
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and not p.name.startswith("_")  # private fields (Scenario's override record)
        }
        assert params == set(kinds), (name, params ^ set(kinds))


def _outcome(api, name, argument, value):
    """Call ``name`` with its valid arguments and ``argument=value``; the work stubbed."""
    call, valid, _kinds, stubs = api[name]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(api.cwd)
        for module, attribute in stubs:
            mp.setattr(sys.modules[module], attribute, _reach)
        try:
            call(**{**valid, argument: value})
        except _Reached:
            return "reached"
        except ForecastError as exc:
            return exc
        return "ok"


def _assert_short(exc, name, value=None):
    """One line (a newline the value itself holds aside), at most 300 characters plus
    the value, and a table by its shape only."""
    text = str(exc)
    if isinstance(value, str) and "\n" in value:
        text = text.replace(value, "<value>")
    assert "\n" not in text and len(text) <= 300, (name, text)
    assert "rows x" not in text or "DataFrame (" in text, (name, text)


def test_every_public_callable_accepts_its_valid_arguments(api):
    # The walk's baseline calls are right: a ForecastError below is the wrong value's.
    for call, valid, _kinds, stubs in api.values():
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(api.cwd)
            for module, attribute in stubs:
                mp.setattr(sys.modules[module], attribute, _reach)
            try:
                call(**valid)
            except _Reached:
                pass


@pytest.mark.parametrize("value", JUNK, ids=[f"{type(v).__name__}:{str(v)[:12]}" for v in JUNK])
def test_every_argument_of_every_public_callable_refuses_the_wrong_type(api, value):
    """Every (callable, argument) pair with one junk value: a value of the wrong kind is a
    ForecastError with a short message before any work; any value at all gives a result,
    the work, or a ForecastError: never numpy's, pandas' or Python's own exception."""
    failures = []
    for name, (_call, _valid, kinds, _stubs) in api.items():
        for argument, kind in kinds.items():
            try:
                outcome = _outcome(api, name, argument, value)
            except Exception as exc:  # anything but a ForecastError reached the caller
                failures.append(
                    f"{name}({argument}={value!r:.30}): {type(exc).__name__}: {exc}"[:300]
                )
                continue
            wrong = not KINDS[kind](value)
            if isinstance(outcome, ForecastError):
                _assert_short(outcome, name, value)
            elif wrong:
                failures.append(f"{name}({argument}={value!r:.30}) was accepted ({outcome})")
    assert not failures, "\n".join(failures)


@settings(
    max_examples=int(os.environ.get("FORECAST_FUZZ", 150)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_property_random_values_never_escape_as_internal_errors(api, data):
    name = data.draw(st.sampled_from(sorted(api)))
    argument = data.draw(st.sampled_from(sorted(api[name][2])))
    value = data.draw(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=12),
            st.binary(max_size=4),
            st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=4)), max_size=3),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
            st.sampled_from(JUNK),
        )
    )
    kind = api[name][2][argument]
    outcome = _outcome(api, name, argument, value)
    if isinstance(outcome, ForecastError):
        _assert_short(outcome, name, value)
    elif not KINDS[kind](value):
        raise AssertionError(f"{name}({argument}={value!r}) was accepted ({outcome})")
