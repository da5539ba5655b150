"""Cost of the global sensitivity analysis (forecast.studies.global_sensitivity), to plan a
cluster run. Nothing here is a test: aims are printed beside the measurements.

Run: ``.venv/bin/python benchmarks/global_sensitivity.py [--only default|throughput|large]
[--fit] [--json FILE]``.

1. default: the global analysis at its defaults (n = DEFAULT_N base rows, DEFAULT_DRAWS
   joint draws per setting) on a LocalCluster of 2 worker processes: wall time including
   the cluster's start, and the CPU time of the evaluations (what 2 otherwise idle cores
   would take; the machine is shared, so the wall time can be longer); the widest 95%
   interval of S1 and ST per output. Aims: <= 60 s on 2 cores, intervals narrower than
   0.05.
2. throughput: settings per CPU-second of one worker (the evaluating thread's CPU time,
   so other load on the machine does not count) at 1,000 and 10,000 joint draws per
   setting, and what that makes of a large run (10^5 settings x 10^4 draws) on K workers.
3. large: n = 8192 (90,112 settings, the order of 10^5) x DEFAULT_DRAWS on the same 2
   workers: wall and CPU time, interval widths (how large n must be for every interval to
   be narrower than 0.05).

Demand: the recorded posteriors of the tests (tests/fixtures/recorded_demand: every
default model, a small sampler) unless ``--fit`` (the default fits, cached after the first
run). The cost per setting hardly depends on which: demand v3's projections are drawn once
per combination of its four discrete demand levers and worker (36 at most).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _demand(fit: bool):
    if fit:
        from forecast.pipeline import fit_demand

        return fit_demand()
    from forecast.pipeline import load_demand

    return load_demand(REPO / "tests" / "fixtures" / "recorded_demand")


def _widths(result) -> dict:
    ind = result.indices
    out = {}
    for output, rows in ind.groupby("output", sort=False):
        st = rows["ST_high"] - rows["ST_low"]
        s1 = rows["S1_high"] - rows["S1_low"]
        top = rows["lever"].iloc[0]
        rest = rows["lever"] != top
        out[output] = {
            "ST_max": float(st.max()),
            "S1_max": float(s1.max()),
            "widest_lever": str(rows.loc[(st + s1).idxmax(), "lever"]),
            "ST_max_others": float(st[rest].max()),
            "S1_max_others": float(s1[rest].max()),
            "first": top,
        }
    return out


def _print_widths(widths: dict) -> None:
    for output, w in widths.items():
        print(
            f"  {output:<10} widest ST {w['ST_max']:.3f}, S1 {w['S1_max']:.3f} "
            f"({w['widest_lever']}); other levers: ST {w['ST_max_others']:.3f}, "
            f"S1 {w['S1_max_others']:.3f}   [aim < 0.05]"
        )


class _Timed:
    """An evaluator that also returns the CPU time its thread spent per row (a last
    column), so a loaded machine's waiting does not count as the work of a setting."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.outputs = (*inner.outputs, "cpu_seconds")

    def __call__(self, values):
        import numpy as np

        start = time.thread_time()
        out = self.inner(values)
        cpu = time.thread_time() - start
        return np.column_stack([out, np.full(len(out), cpu / len(out))])


def throughput(demand, workers: int) -> dict:
    """Settings per CPU-second of one worker at 1,000 and 10,000 draws (each worker's
    first block of a run pays for drawing the demand projections: included)."""
    from forecast.studies.global_sensitivity import (
        DEFAULT_GLOBAL_LEVERS,
        ExhaustionEvaluator,
        dask_client,
        sobol_indices,
    )

    out = {}
    with dask_client(workers=workers) as client:
        for draws, n in ((1_000, 256), (10_000, 32)):
            evaluator = ExhaustionEvaluator("baseline", demand, DEFAULT_GLOBAL_LEVERS, draws)
            start = time.perf_counter()
            result = sobol_indices(DEFAULT_GLOBAL_LEVERS, _Timed(evaluator), n=n, client=client)
            wall = time.perf_counter() - start
            settings = result.settings["evaluations"]
            cpu = float(result.values[:, -1].sum())
            rate = settings / cpu
            print(
                f"throughput at {draws:>6,} draws: {settings:,} settings, {cpu:.1f} CPU-s "
                f"({1e3 / rate:.2f} ms per setting): {rate:.0f} settings/s per worker; "
                f"{wall:.1f} s wall on {workers} workers"
            )
            out[draws] = {"settings": settings, "cpu": cpu, "wall": wall, "per_worker": rate}
        rate = out[10_000]["per_worker"]
        for k in (2, 16, 64, 256):
            minutes = 1e5 / (rate * k) / 60
            print(
                f"  10^5 settings x 10^4 draws on {k:>3} workers at this rate: {minutes:.1f} "
                "min of compute (+ the cluster's start, + 5 MB of evaluator sent per worker)"
            )
    return out


def _timed_run(demand, workers: int, n: int, label: str, aim: str) -> dict:
    """global_sensitivity's code path (ExhaustionEvaluator, its check, sobol_indices) with
    each block's CPU time as an extra column: wall time (the cluster's start included)
    and CPU-seconds of the evaluations."""
    from forecast.studies.global_sensitivity import (
        DEFAULT_DRAWS,
        DEFAULT_GLOBAL_LEVERS,
        ExhaustionEvaluator,
        sobol_indices,
    )

    start = time.perf_counter()
    evaluator = ExhaustionEvaluator("baseline", demand, DEFAULT_GLOBAL_LEVERS, DEFAULT_DRAWS)
    evaluator.check()
    result = sobol_indices(DEFAULT_GLOBAL_LEVERS, _Timed(evaluator), n=n, workers=workers)
    seconds = time.perf_counter() - start
    cpu = float(result.values[:, -1].sum())
    settings = result.settings["evaluations"]
    print(
        f"{label}: n = {n}, {settings:,} settings x {DEFAULT_DRAWS:,} draws on {workers} "
        f"workers: {seconds:.1f} s wall {aim}; {cpu:.1f} CPU-s of evaluations "
        f"({1e3 * cpu / settings:.2f} ms per setting), i.e. {cpu / workers:.1f} s on "
        f"{workers} otherwise idle cores"
    )
    result = _without_cpu(result)
    widths = _widths(result)
    _print_widths(widths)
    print(result)
    return {"seconds": seconds, "cpu": cpu, "evaluations": settings, "widths": widths}


def _without_cpu(result):
    """The result without the CPU-time column (an output of its own)."""
    import dataclasses

    keep = result.indices["output"] != "cpu_seconds"
    return dataclasses.replace(
        result,
        indices=result.indices[keep].reset_index(drop=True),
        interactions=result.interactions[result.interactions["output"] != "cpu_seconds"],
        outputs=result.outputs[result.outputs["output"] != "cpu_seconds"],
    )


def default(demand, workers: int) -> dict:
    from forecast.studies.global_sensitivity import DEFAULT_N

    return _timed_run(demand, workers, DEFAULT_N, "default", "[aim <= 60 s on 2 cores]")


def large(demand, workers: int) -> dict:
    return _timed_run(demand, workers, 8192, "large", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["default", "throughput", "large"])
    parser.add_argument("--fit", action="store_true", help="the default fits, not the recorded")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    demand = _demand(args.fit)
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; load average {os.getloadavg()[0]:.2f} at the start"
    )
    record: dict = {"load_at_start": os.getloadavg()[0]}
    for name, run in (("default", default), ("throughput", throughput), ("large", large)):
        if args.only not in (None, name):
            continue
        record[name] = run(demand, args.workers)
        print(f"load average {os.getloadavg()[0]:.2f} after '{name}'", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
