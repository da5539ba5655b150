"""`forecast sensitivity` (one lever at a time, and --global): JSON, one-line errors, and
the same numbers on a local cluster and on a running `dask scheduler` with two workers."""

from __future__ import annotations

import json

import pytest

from forecast.studies.global_sensitivity import DEFAULT_GLOBAL_LEVERS

LEVERS = {lv.name for lv in DEFAULT_GLOBAL_LEVERS}

CLI = ["--quiet", "sensitivity", "--global", "--json", "--n", "8", "--draws", "200", "--seed", "3"]


@pytest.fixture
def cli_demand(monkeypatch, bundled_demand):
    """The command line's demand fits are the recorded ones (no sampling)."""
    import forecast.pipeline

    monkeypatch.setattr(forecast.pipeline, "fit_demand", lambda *a, **k: bundled_demand)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)


def _cli_json(capsys, argv) -> dict:
    from forecast import cli

    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def dask_scheduler(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on this machine (one thread
    each), started here and stopped after the test; yields the scheduler's address."""
    import pathlib
    import subprocess
    import sys
    import time

    dask = pathlib.Path(sys.executable).parent / "dask"
    if not dask.exists():
        pytest.skip("the dask command is not installed beside this Python")
    file = tmp_path / "scheduler.json"
    common = {"cwd": tmp_path, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                file,
            ],
            **common,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--local-directory",
                        tmp_path,
                    ],
                    **common,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_cli_global_json_same_on_a_local_and_an_external_cluster(
    capsys, monkeypatch, cli_demand, dask_scheduler
):
    """`forecast sensitivity --global --json` prints S1, ST and their intervals per lever
    and output; on a running scheduler with two workers (--scheduler, and
    DASK_SCHEDULER_ADDRESS) the numbers are those of the local cluster."""
    local = _cli_json(capsys, [*CLI, "--workers", "2"])
    assert set(local["outputs"]) == {"median", "p_by_2030", "width80"}
    for output in local["outputs"].values():
        assert set(output["levers"]) == set(LEVERS)
        for lever in output["levers"].values():
            assert lever["ST_interval"][0] <= lever["ST"] <= lever["ST_interval"][1]
            assert lever["S1_interval"][0] <= lever["S1"] <= lever["S1_interval"][1]
    external = _cli_json(capsys, [*CLI, "--scheduler", dask_scheduler])
    assert external == local
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_scheduler)
    assert _cli_json(capsys, CLI) == local
    other = _cli_json(capsys, [*CLI[:-1], "4", "--scheduler", dask_scheduler])  # seed 4
    assert other["outputs"] != local["outputs"]


def test_cli_errors_are_one_line(capsys, cli_demand):
    from forecast import cli

    for argv, match in (
        (["sensitivity", "--n", "8"], "--n go with --global"),
        (["sensitivity", "--global", "--n", "12"], "n must be a power of two"),
        (
            ["sensitivity", "--global", "--levers", "nope,feasibility ceiling"],
            "unknown lever 'nope'",
        ),
    ):
        assert cli.main(["--quiet", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0], err


def test_cli_one_at_a_time_json(capsys, cli_demand):
    payload = _cli_json(
        capsys,
        ["--quiet", "sensitivity", "--json", "--levers", "quality fraction", "--draws", "500"],
    )
    assert payload["draws"] == 500 and [r["lever"] for r in payload["levers"]] == [
        "quality fraction"
    ]
