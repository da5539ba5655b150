"""benchmarks/out_of_sample.py: the realised compute frontier (running maximum, what was
known before the origin, strict records, ``date < T``), the record counts of simulated
paths, and the clean exit without reference files. No model is fitted."""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "out_of_sample.py"


@pytest.fixture(scope="module")
def oos():
    spec = importlib.util.spec_from_file_location("out_of_sample", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["out_of_sample"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("out_of_sample", None)


def _frame(rows):
    return pd.DataFrame(rows, columns=["model", "date", "compute_flop"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_realised_frontier_running_max_and_known_before_origin(oos):
    known = _frame(
        [
            ("old", "2023-01-10", 1e24),
            ("big-before", "2024-03-01", 5e25),
            # In the fitted table but released after the origin: not known at it.
            ("leak", "2024-08-01", 9e26),
        ]
    )
    later = _frame(
        [
            # Before the origin, missing from the fitted table: still known at the origin.
            ("csv-only-before", "2024-06-01", 6e25),
            ("below", "2024-09-01", 3e25),
            ("rec1", "2025-02-01", 1e26),
            ("tie", "2025-03-01", 1e26),  # a tie is not a new record
            ("smaller", "2025-04-01", 8e25),
            ("on-the-date", "2025-07-01", 2e26),  # counts only at dates after 2025-07-01
            ("rec2", "2025-09-01", 4e26),
            ("nan", "2025-10-01", np.nan),  # no compute: ignored
        ]
    )
    out = oos.realised_frontier(
        known, later, "2024-06-30", ["2024-12-31", "2025-07-01", "2025-07-02", "2026-01-01"]
    )
    assert (out["origin_record"] == np.log10(6e25)).all()
    assert (out["origin_model"] == "csv-only-before").all()
    assert out["record"].tolist() == pytest.approx(np.log10([6e25, 1e26, 2e26, 4e26]))
    assert out["new_records"].tolist() == [0, 1, 2, 3]
    assert out["record_model"].tolist() == ["csv-only-before", "rec1", "on-the-date", "rec2"]
    assert out.loc[3, "new_record_models"] == "rec1, on-the-date, rec2"


def test_realised_frontier_same_day_runs_in_increasing_compute(oos):
    known = _frame([("a", "2024-01-01", 1e25)])
    later = _frame([("y", "2025-01-01", 3e25), ("x", "2025-01-01", 2e25)])
    out = oos.realised_frontier(known, later, "2024-06-30", ["2025-06-01"])
    assert out.loc[0, "new_records"] == 2
    assert out.loc[0, "record_model"] == "y"


def test_realised_frontier_needs_a_record_before_the_origin(oos):
    known = _frame([("late", "2025-01-01", 1e25)])
    with pytest.raises(ValueError, match="before the origin"):
        oos.realised_frontier(known, known.iloc[:0], "2024-06-30", ["2025-06-01"])


def test_record_count_paths_counts_strict_increases(oos):
    paths = np.array([[25.0, 25.0, 25.5, 25.5, 26.0], [25.0, 25.0, 25.0, 25.0, 25.0]])
    assert oos.record_count_paths(paths).tolist() == [[0, 0, 1, 1, 2], [0, 0, 0, 0, 0]]


def test_record_events_running_max(oos):
    frame = _frame(
        [("a", "2009-01-01", 1e20), ("b", "2012-01-01", 1e19), ("c", "2013-01-01", 1e21)]
    ).assign(year=[2009.0, 2012.0, 2013.0])
    assert oos.record_events(frame)["model"].tolist() == ["a", "c"]
    assert oos.record_events(frame, since=2010.0)["model"].tolist() == ["c"]


def test_exits_zero_with_a_message_without_reference_files(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--reference-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "reference files not found" in lines[0]
    assert str(tmp_path) in lines[0]
