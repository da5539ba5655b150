"""Reliability (issue 20), one section per class of failure, each fixed at its root:
resource guards, output safety, no data loss, no silently wrong input, exit codes instead
of raw exceptions, and validation before any expensive work (docs/bad_inputs.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import forecast
from forecast import cli, data, safety
from forecast.demand.model import SamplerConfig
from forecast.demand.trends import _top_k_at_release, frontier_rows
from forecast.errors import DataError, ForecastError, ScenarioError
from forecast.scenarios import from_toml, load_scenario

# --- 1. resource guards ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [{"draws": 10**9}, {"tune": 200_000}, {"chains": 0}, {"chains": 64}, {"seed": -1}],
)
def test_sampler_settings_are_bounded(settings):
    with pytest.raises(ForecastError, match="must be"):
        SamplerConfig(**settings)


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "--mcmc-draws", "1000000000"],
        ["fit", "--chains", "0"],
        ["run", "--tune", "-5"],
        ["run", "--seed", "-1"],
        ["fit", "--seed", "-1"],
        ["backtest", "--seed", "-1", "--lfo"],
        ["run", "--draws", "0"],
        ["run", "--models", ""],
        ["report", "--out", ""],
    ],
)
def test_bad_arguments_exit_2_before_any_work(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "forecast: error: argument" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_or_device_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "models.csv"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(DataError, match="not a regular file"):
        data.load_models(fifo)
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(str(pipe))
    if os.path.exists("/dev/zero"):
        with pytest.raises(DataError, match="not a regular file"):
            data.load_models("/dev/zero")
    assert time.monotonic() - start < 5
    assert not data.check_models_file(fifo).ok


def test_files_larger_than_the_limit_are_refused(tmp_path, monkeypatch):
    import forecast.scenarios

    monkeypatch.setattr(data, "MAX_INPUT_BYTES", 100)
    monkeypatch.setattr(forecast.scenarios, "MAX_INPUT_BYTES", 100)
    big = tmp_path / "big.csv"
    big.write_text("model,date,tokens\n" + "m,2020-01-01,1e9\n" * 20)
    with pytest.raises(DataError, match="larger than a models table can be"):
        data.load_models(big)
    toml = tmp_path / "big.toml"
    toml.write_text('name = "x"\n' + "# padding\n" * 20)
    with pytest.raises(ScenarioError, match="larger than a scenario file can be"):
        load_scenario(str(toml))


def test_frontier_selection_is_sort_based_and_exact():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, k = int(rng.integers(1, 50)), int(rng.integers(1, 6))
        dates, values = rng.integers(0, 12, n), rng.integers(0, 7, n).astype(float)
        larger = (dates[None, :] <= dates[:, None]) & (values[None, :] > values[:, None])
        assert (_top_k_at_release(dates, values, k) == (larger.sum(axis=1) < k)).all()
    # 100,000 rows: an n x n matrix would be 10 GB (80 GB as floats); the heap takes
    # well under a second.
    n = 100_000
    big = pd.DataFrame(
        {
            "model": [f"m{i}" for i in range(n)],
            "date": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 4000, n), "D"),
            "tokens": 10 ** rng.uniform(8, 13, n),
        }
    )
    tracemalloc.start()
    frontier_rows(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 400e6


def test_bootstrap_memory_is_linear_in_rows():
    from forecast.demand.baselines import bootstrap_slopes

    rng = np.random.default_rng(1)
    x = rng.uniform(2015, 2025, 30_000)
    y = 0.5 * x + rng.normal(0, 1, x.size)
    tracemalloc.start()
    slopes = bootstrap_slopes(x, y, 10_000, 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(slopes) == 10_000 and abs(np.median(slopes) - 0.5) < 0.01
    assert peak < 300e6  # 10,000 x 30,000 at once: 7 GB


# --- 2. output safety ----------------------------------------------------------------------


def test_the_output_safety_layer():
    assert safety.csv_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    for start in "=+-@\t\r":
        assert safety.csv_cell(start + "x").startswith("'")
    assert safety.csv_cell("baseline") == "baseline" and safety.csv_cell(-1.5) == -1.5
    frame = safety.csv_frame(pd.DataFrame({"scenario": ["@SUM(A1)", "ok"], "median": [1.0, 2.0]}))
    assert frame["scenario"].tolist() == ["'@SUM(A1)", "ok"] and frame["median"].tolist() == [1, 2]
    assert safety.markdown_text("<script>|") == "&lt;script&gt;\\|"
    # Only what Markdown would interpret is escaped: report.md reads as written (issue 37)
    assert safety.markdown_text("r_hat <= 1.01, ESS >= 400, a -> b <- c") == (
        "r_hat <= 1.01, ESS >= 400, a -> b <- c"
    )
    assert safety.markdown_text("R&D, x < 5 > y") == "R&D, x < 5 > y"
    assert safety.markdown_text("&amp; &#60; <b>x</b> <!-- c --> <http://x>") == (
        "&amp;amp; &amp;#60; &lt;b&gt;x&lt;/b&gt; &lt;!-- c --&gt; &lt;http://x&gt;"
    )
    assert safety.markdown_text("> quoted\n   > too") == "&gt; quoted\n   &gt; too"
    assert safety.terminal_text("a\x1b[2Jb\x07\n\tc") == "a\\x1b[2Jb\\x07\n\tc"
    assert safety.plot_label("$5 $x$") == r"\$5 \$x\$"


def test_scenario_text_with_escape_sequences_prints_escaped(tmp_path, capsys):
    toml = tmp_path / "evil.toml"
    toml.write_text(
        'name = "evil\\u001b[2J"\ndescription = "x\\u001b[1Aexhaustion 2099"\n'
        'extends = "epoch2022-high-quality"\n',
        encoding="utf-8",
    )
    code = cli.main(["--quiet", "run", "--scenario", str(toml), "--draws", "1000"])
    out = capsys.readouterr().out
    assert code == 0 and "\x1b" not in out and "evil\\x1b[2J" in out


def test_math_text_in_names_draws_literally():
    import matplotlib

    matplotlib.use("Agg")
    from forecast.plots import plot_prob_exhausted

    result = forecast.run_scenario(
        load_scenario("epoch2022-high-quality").with_overrides(name="cost $5 $x^$"), draws=1000
    )
    fig = plot_prob_exhausted([result])
    fig.savefig(os.devnull, format="png")  # "$x^$" would fail to parse as math text


# --- 3. no data loss (report directories: tests/report/test_report.py) ------------------------------


def test_sigterm_goes_through_the_cleanup_paths():
    previous = signal.getsignal(signal.SIGTERM)
    try:
        cli._terminate_on_sigterm()
        with pytest.raises(SystemExit) as exc:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        assert exc.value.code == 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- 4. no silently wrong input --------------------------------------------------------------


def test_extends_is_relative_to_the_file_that_names_it(tmp_path, monkeypatch):
    (tmp_path / "base.toml").write_text('name = "cwd-base"\nextends = "baseline"\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "child.toml").write_text('name = "child"\nextends = "base.toml"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError, match="nor a file next to it"):
        load_scenario(str(sub / "child.toml"))
    (sub / "base.toml").write_text('name = "sub-base"\nextends = "epoch2024"\n')
    assert load_scenario(str(sub / "child.toml")).demand.model == "epoch2024"


def test_a_late_start_that_validates_also_runs():
    result = forecast.run_scenario(
        load_scenario("epoch2022-high-quality").with_overrides(start=2060.0, horizon=2100.0),
        draws=1000,
    )
    assert result.scenario.start == 2060.0


# --- 5. exit codes, not raw exceptions -------------------------------------------------------


def test_deeply_nested_scenario_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="nested too deeply"):
        from_toml("a = " + "[" * 5000 + "]" * 5000)


def test_unwritable_cache_warns_and_keeps_the_fit(tmp_path, monkeypatch):
    from forecast.demand.cache import fit_cached
    from forecast.demand.trends import ExponentialTrend

    class FakeFit:
        def __init__(self):
            self.idata = type("I", (), {"attrs": {}})()

        def save(self, path):
            raise AssertionError("not reached: the directory cannot be made")

    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a directory should be")
    monkeypatch.setattr(ExponentialTrend, "fit", lambda self, models, sampler: FakeFit())
    runs = pd.DataFrame(
        {"model": ["a", "b"], "date": pd.to_datetime(["2020-01-01", "2021-01-01"])}
    ).assign(year=[2020.0, 2021.0], tokens=[1e9, 1e10])
    with pytest.warns(UserWarning, match="continuing without caching"):
        fit = fit_cached(ExponentialTrend(), runs, SamplerConfig(), blocker / "cache")
    assert isinstance(fit, FakeFit)


def test_a_closed_pipe_exits_quietly():
    # `| true` closes the pipe before the command writes (its imports alone take a
    # second), so every write meets a closed pipe; `| head -c 10` closes it after the
    # first bytes. A small collapse run keeps this cheap (issue 16).
    command = f"{sys.executable} -m forecast.cli collapse --generations 5 --samples 20 --json"
    for reader, expected in (("true", 0), ("head -c 10", 10)):
        proc = subprocess.run(
            f"{command} | {reader}",
            shell=True,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert len(proc.stdout) == expected
        assert "BrokenPipe" not in proc.stderr and "Exception ignored" not in proc.stderr


# --- 6. validation before expensive work -----------------------------------------------------


def test_report_target_is_checked_before_fitting(tmp_path, monkeypatch, capsys):
    import forecast.pipeline

    monkeypatch.setattr(forecast.pipeline, "fit_demand", lambda *a, **k: pytest.fail("fitted"))
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["--quiet", "report", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_backtest_takes_the_sampler_flags():
    args = cli.build_parser().parse_args(["backtest", "--lfo", "--chains", "2", "--no-cache"])
    assert cli._fit_options(args)["sampler"].chains == 2
    assert cli._fit_options(args)["use_cache"] is False


@pytest.mark.parametrize(
    "call",
    [
        lambda: forecast.fit_demand("models.csv"),
        lambda: forecast.run_scenario("baseline", "not a demand set"),
        lambda: forecast.evaluate_skill("models.csv"),
        lambda: __import__("forecast.studies.sensitivity").sensitivity.sensitivity("baseline", "x"),
        lambda: __import__("forecast.report.writer").report.write_report("unused", demand="x"),
    ],
    ids=["fit_demand", "run_scenario", "evaluate_skill", "sensitivity", "write_report"],
)
def test_library_entry_points_check_their_arguments(call):
    with pytest.raises(ForecastError, match="must be a"):
        call()
