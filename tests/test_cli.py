"""The command line: one-line errors with exit code 2, help, round trips, no network/files.

Most tests call ``forecast.cli.main([...])`` in-process; two run the real console script
in subprocesses (reproducibility across processes, nothing written outside the cache,
no network).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from forecast import cli, scenarios
from forecast.errors import ScenarioError

REPO = pathlib.Path(__file__).resolve().parent.parent
BAD = REPO / "tests" / "fixtures" / "bad"
FAST = ["--scenario", "epoch2022-high-quality", "--draws", "2000"]  # no PyMC fit needed


def run(capsys, argv):
    """``(exit code, stdout, stderr)``; argparse's SystemExit counts as an exit code."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if not line.startswith("[forecast]")]
    assert len(lines) == 1, err
    assert lines[0].startswith("forecast: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def bad_toml(tmp_path):
    def make(text: str) -> str:
        path = tmp_path / "s.toml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return make


# --- user-facing errors: one line on stderr, exit code 2 ------------------------------------


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["run", *FAST, "--models", "/nonexistent/models.csv"], "file not found"),
        (["run", *FAST, "--models", str(BAD / "tab_delimited.csv")], "row 1"),
        (["run", "--scenario", "no-such-scenario"], "unknown scenario 'no-such-scenario'"),
        (["run", "--scenario", "/nonexistent/dir/s.toml"], "scenario file not found"),
        (["run", *FAST[:2], "--draws", "0"], "--draws: 0 is not between 100 and 5,000,000"),
        (["run", *FAST, "--seed", "-3"], "--seed: -3 is not between 0 and 4,294,967,295"),
        (["report"], "the following arguments are required: --out"),
        (["run", "--bogus"], "unrecognized arguments: --bogus"),
        (["run", "--draws", "many"], "'many' is not an integer"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["scenarios", "show"], "needs a scenario name"),
        (["scenarios", "show", "nope"], "unknown scenario 'nope'"),
        (["data", "check"], "the following arguments are required: FILE"),
        (["collapse", "--generations", "0"], "--generations: 0 is not between 1 and 1,000"),
        (["collapse", "--samples", "1"], "--samples: 1 is not between 2 and 1,000,000"),
        (["collapse", "--fresh-fraction", "nan"], "fresh_fraction must be between 0 and 1"),
        (["collapse", "--seed", "-1"], "--seed must be a non-negative integer"),
        (["collapse", "--verifier-accuracy", "0.3"], "verifier_accuracy must be between 0.5"),
        (["remedies", "--accuracies", "0.2"], "--accuracies: each must be between 0.5 and 1"),
        (["remedies", "--accuracies", "high"], "--accuracies: expected numbers"),
        (["backtest"], "give --cutoff"),
        (["backtest", "--cutoff", "yesterday"], "cutoff 'yesterday'"),
        (["backtest", "--cutoff", "1990-01-01"], "no models with tokens released before"),
    ],
    ids=lambda v: "_".join(v)[:60] if isinstance(v, list) else None,
)
def test_usage_and_data_errors(capsys, argv, match):
    code, _out, err = run(capsys, argv)
    assert code == 2
    assert match in one_line_error(err)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\ndraws = \n', "invalid TOML"),
        ('name = "x"\ncolour = "red"\n', "unknown key(s) ['colour']"),
        (
            'name = "x"\n[stock]\nquality_fraction = 1.5\n',
            "stock.quality_fraction = 1.5 is out of range",
        ),
        ('name = "x"\n[demand]\novertraining = 0\n', "demand.overtraining = 0 is out of range"),
    ],
    ids=["bad_toml", "unknown_key", "out_of_range_stock", "out_of_range_demand"],
)
def test_scenario_file_errors(capsys, bad_toml, text, match):
    path = bad_toml(text)
    code, _out, err = run(capsys, ["run", "--scenario", path, "--draws", "2000"])
    assert code == 2
    line = one_line_error(err)
    assert match in line and path in line


def test_data_check_broken_file_names_row_and_column(capsys):
    path = BAD / "date_yesterday.csv"
    code, out, err = run(capsys, ["data", "check", str(path)])
    assert code == 2
    line = one_line_error(err)
    assert f"{path}, row 4, column 'date'" in line and "'yesterday' is not a date" in line
    assert "INVALID" in out


def test_data_check_bundled_file_ok(capsys, no_network):
    code, out, err = run(capsys, ["data", "check", str(REPO / "data" / "training_runs.csv")])
    assert code == 0, err
    assert "status: OK" in out and "schema: project" in out
    assert no_network == []


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(ScenarioError, match="unknown scenario"):
        cli.main(["--debug", "run", "--scenario", "no-such-scenario"])


def test_no_command_prints_help_and_exits_2(capsys):
    code, out, _err = run(capsys, [])
    assert code == 2 and "examples" in out


# --- help, scenarios, collapse --------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *cli.COMMANDS])
def test_help_has_examples(capsys, command):
    argv = ["--help"] if command is None else [command, "--help"]
    code, out, _err = run(capsys, argv)
    assert code == 0
    assert "examples" in out


def test_scenarios_lists_every_builtin(capsys):
    code, out, _err = run(capsys, ["scenarios"])
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert listed == scenarios.builtin_names()


def test_scenarios_show_round_trips_through_run(capsys, tmp_path, no_network):
    code, toml_text, _err = run(capsys, ["scenarios", "show", "epoch2022-high-quality"])
    assert code == 0
    path = tmp_path / "mine.toml"
    path.write_text(toml_text, encoding="utf-8")
    code, from_file, err = run(
        capsys, ["--quiet", "run", "--scenario", str(path), "--draws", "2000", "--json"]
    )
    assert code == 0, err
    code, builtin, err = run(capsys, ["--quiet", "run", *FAST, "--json"])
    assert code == 0, err
    a, b = json.loads(from_file), json.loads(builtin)
    assert a["scenario"] == b["scenario"] == "epoch2022-high-quality"
    for key in ("exhaustion_year", "prob_exhausted_by", "not_exhausted_by_horizon", "stock_tokens"):
        assert a[key] == b[key], key
    assert no_network == []


def test_run_with_a_different_seed_differs(capsys):
    outputs = []
    for seed in ("3", "4"):
        code, out, err = run(capsys, ["--quiet", "run", *FAST, "--seed", seed, "--json"])
        assert code == 0, err
        outputs.append(json.loads(out)["exhaustion_year"])
    assert outputs[0] != outputs[1]


def test_collapse_json_keys(capsys):
    code, out, err = run(capsys, ["collapse", "--generations", "3", "--samples", "10", "--json"])
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload) == {
        "gaussian",
        "vocabulary",
        "settings",
        "linear_regression",
        "linear_regression_settings",
        "real_data_weight",
    }
    assert set(payload["gaussian"]) == {"replace", "accumulate", "mix", "verify"}
    linear = payload["linear_regression"]
    assert set(linear) == {"replace", "accumulate", "accumulate_subsample"}
    first = linear["replace"][0]
    assert set(first) == {"generation", "test_error", "analytic"}
    assert first["generation"] == 1 and first["analytic"] > 0
    assert linear["accumulate_subsample"][0]["analytic"] is None
    assert len(linear["accumulate"]) == 3


# --- real processes: reproducibility, files written, network --------------------------------

NO_NETWORK_SITE = """\
import socket

def _refuse(*args, **kwargs):
    raise RuntimeError("forecast tried to use the network")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
"""

#: Files third-party libraries (not forecast) may write under $HOME: matplotlib's font
#: cache and config dir (imported by ArviZ), ArviZ 0.x's once-a-day notice stamp.
LIBRARY_CACHES = (".cache/matplotlib", ".config/matplotlib", ".cache/arviz")


def _console_script() -> list[str]:
    script = pathlib.Path(sys.executable).with_name("forecast")
    return [str(script)] if script.exists() else [sys.executable, "-m", "forecast.cli"]


def _sandbox(tmp_path):
    dirs = {name: tmp_path / name for name in ("home", "cwd", "cache", "site")}
    for d in dirs.values():
        d.mkdir()
    (dirs["site"] / "sitecustomize.py").write_text(NO_NETWORK_SITE)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "FORECAST", "XDG", "MPL"))
    }
    env.update(
        HOME=str(dirs["home"]), FORECAST_CACHE_DIR=str(dirs["cache"]), PYTHONPATH=str(dirs["site"])
    )
    return dirs, env


def _files(root: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_same_json_across_processes_no_stray_files(tmp_path):
    dirs, env = _sandbox(tmp_path)
    argv = [
        *_console_script(),
        "run",
        "--scenario",
        "epoch2022-high-quality",
        "--draws",
        "2000",
        "--seed",
        "3",
        "--json",
    ]
    payloads = []
    for _ in range(2):
        proc = subprocess.run(
            argv, cwd=dirs["cwd"], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        payloads.append(json.loads(proc.stdout))
    a, b = payloads
    for key in (
        "exhaustion_year",
        "prob_exhausted_by",
        "not_exhausted_by_horizon",
        "at_crossing",
        "stock_tokens",
    ):
        assert a[key] == b[key], key
    assert a["seed"] == 3 and a["draws"] == 2000
    assert _files(dirs["cwd"]) == []
    assert _files(dirs["cache"]) == []  # epoch2022 demand needs no fit, so nothing to cache
    stray = [f for f in _files(dirs["home"]) if not f.startswith(LIBRARY_CACHES)]
    assert stray == []


def test_console_script_error_is_one_line(tmp_path):
    dirs, env = _sandbox(tmp_path)
    proc = subprocess.run(
        [*_console_script(), "scenarios", "show", "no-such-scenario"],
        cwd=dirs["cwd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "unknown scenario 'no-such-scenario'" in one_line_error(proc.stderr)
    assert proc.stdout == ""


def test_data_check_counts_descriptive_columns(capsys, no_network):
    code, out, err = run(capsys, ["data", "check", str(REPO / "data" / "training_runs.csv")])
    assert code == 0, err
    for column in ("disclosure", "tokens_bound", "tokens_kind", "modality", "compute_source"):
        assert f"by {column}: " in out
    assert "undisclosed runs with training compute: " in out


def test_data_check_invalid_descriptive_value_exits_2(capsys, tmp_path):
    lines = (REPO / "data" / "training_runs.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = list(csv.reader(io.StringIO("\n".join(lines[1:3]))))
    rows[1][header.index("modality")] = "holographic"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path = tmp_path / "runs.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    code, _out, err = run(capsys, ["data", "check", str(path)])
    assert code == 2
    line = one_line_error(err)
    assert f"{path}, row 3, column 'modality'" in line and "holographic" in line


def test_report_passes_the_sampler_flags_to_every_fit(tmp_path, monkeypatch):
    # --cache-dir, --no-cache and the sampler flags reach the report's own fits (the
    # forecast-skill study's), not only the demand set's.
    import forecast.pipeline
    import forecast.report.writer

    seen = {}
    monkeypatch.setattr(forecast.pipeline, "fit_demand", lambda *a, **k: seen.update(demand=k))
    monkeypatch.setattr(
        forecast.report.writer, "write_report", lambda out, **k: seen.update(report=k) or out
    )
    cache = tmp_path / "fits"
    argv = ["--quiet", "report", "--out", str(tmp_path / "r"), "--no-cache"]
    assert cli.main([*argv, "--cache-dir", str(cache), "--mcmc-draws", "321"]) == 0
    for call in ("demand", "report"):
        assert seen[call]["cache_dir"] == str(cache) and seen[call]["use_cache"] is False
        assert seen[call]["sampler"].draws == 321


def test_fit_table_prints_r_hat_to_three_decimals(bundled_demand, monkeypatch, capsys):
    """1.011 fails the 1.01 threshold; 0.8.1's table printed it as "1.01"."""
    import forecast.pipeline

    monkeypatch.setattr(forecast.pipeline, "fit_demand", lambda *a, **k: bundled_demand)
    assert cli.main(["--quiet", "fit"]) == 0
    out = capsys.readouterr().out
    expected = bundled_demand.summary()["r_hat_max"]
    header, *rows = out.splitlines()[: len(expected) + 1]
    column = header.split().index("r_hat_max")
    shown = [row.split()[column] for row in rows]
    assert shown == [f"{v:.3f}" for v in expected]


def test_fit_prints_what_demand_v3_read_and_implies(bundled_demand, monkeypatch, capsys):
    import forecast.pipeline

    monkeypatch.setattr(forecast.pipeline, "fit_demand", lambda *a, **k: bundled_demand)
    assert cli.main(["--quiet", "fit"]) == 0
    out = capsys.readouterr().out
    fit = bundled_demand.fits["compute-frontier"]
    used = fit.model.usage(fit)
    assert f"{len(used['compute_rows'])} runs with a compute figure" in out
    assert f"{len(used['ratio_rows'])} reporting tokens and a measured compute" in out
    edge = float(np.median(fit.posterior["compute_growth"].to_numpy()))
    assert f"compute edge growth: {edge:.2f} OOM/yr" in out
    biggest = max(used["undisclosed"], key=lambda u: u["compute_flop"])
    assert f"{biggest['tokens_median'] / 1e12:.1f}T tokens" in out


# --- text a reader can trust (issue 37) -----------------------------------------------------


def test_run_prints_the_median_with_its_monte_carlo_error(capsys):
    from forecast.results import mc_error_text, supported_decimals

    code, out, err = run(capsys, ["--quiet", "run", *FAST, "--seed", "3"])
    assert code == 0, err
    code, payload, err = run(capsys, ["--quiet", "run", *FAST, "--seed", "3", "--json"])
    assert code == 0, err
    payload = json.loads(payload)
    se, median = payload["mc_error"]["median"], payload["exhaustion_year"]["median"]
    row = next(line for line in out.splitlines() if "exhaustion year (median)" in line)
    assert row.split("  ")[-1].strip() == (
        f"{median:.{supported_decimals(se)}f} (Monte Carlo error ±{mc_error_text(se)} years)"
    )
    assert "posterior sampling and the" in out  # what the error covers
    assert "Epoch 2022 historical projection" in out  # the demand, by what it is


def test_run_set_says_what_it_overrode(capsys):
    argv = ["--quiet", "run", *FAST, "--set", "stock.stock_growth=1.05", "--json"]
    code, out, err = run(capsys, argv)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["scenario"] == "epoch2022-high-quality [stock.stock_growth=1.05]"
    assert payload["description"].endswith("Overridden: stock.stock_growth=1.05.")


def test_scenarios_show_names_the_default_demand(capsys, tmp_path):
    code, out, _err = run(capsys, ["scenarios", "show", "baseline"])
    assert code == 0
    assert 'model = "default"  # default demand (v3: largest run from compute and tokens' in out
    assert "average" not in out
    path = tmp_path / "b.toml"
    path.write_text(out, encoding="utf-8")
    assert scenarios.load_scenario(path) == scenarios.from_toml(
        scenarios.load_scenario("baseline").to_toml(), source=str(path)
    )


def test_data_check_says_bounds_are_censored(capsys):
    code, out, _err = run(capsys, ["data", "check", str(REPO / "data" / "training_runs.csv")])
    assert code == 0
    assert "fitted at its stated value)" not in out
    assert "lower bound (censored by the default demand" in out
