"""Speed and memory of every stage, cold and warm, beside Epoch's Monte Carlo procedure.

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--skip-cold] [--json FILE]``.
Prints one table per section; numbers are for the machine it runs on (record them in
benchmarks/README.md with the machine description). Nothing here is a test: targets are
printed beside the measurements, never asserted.

Sections
1. stages (in this process, warm compile cache): load, each demand fit (PyMC NUTS and, if
   installed, nutpie), stock draws, exhaustion, one scenario end to end, figures, report.
2. Epoch's procedure doing the same job (bootstrap of the OLS growth + quantile-clipping
   loop, FACTS.md §A0) vs the toolkit's joint-draw crossing, and the ratio.
3. scaling: exhaustion with 10k / 100k / 1M draws; demand fits on the models table x1 / x10
   (synthetic rows around the fitted trend).
4. end to end: ``forecast report`` in fresh processes: cold (empty PyTensor compile cache
   and fit cache), warm compile cache (fits re-sampled), warm fit cache; wall time and peak
   memory (max RSS) of each.
5. floor (``--only-floor``; skipped by ``--skip-cold``): demand v2's numba compile (empty
   cache, then warm cache in a new process) and its sampling on the bundled table and at
   the skill study's origins, each timed alone. Their sum is a lower bound of the cold
   report, which must compile and sample all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")
ROWS: list[dict] = []


@contextmanager
def timed(section: str, stage: str, target: str = "", **extra):
    start = time.perf_counter()
    record = {"section": section, "stage": stage, "target": target, **extra}
    yield record
    record["seconds"] = round(time.perf_counter() - start, 3)
    record["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    ROWS.append(record)
    note = f"  [{target}]" if target else ""
    print(f"{section:10s} {stage:48s} {record['seconds']:9.2f} s{note}", flush=True)


def machine() -> dict:
    import pymc

    return {
        "python": platform.python_version(),
        "pymc": pymc.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def stages(quick: bool) -> None:
    import logging

    logging.getLogger("pymc").setLevel(logging.ERROR)
    from forecast import demand as dm
    from forecast import pipeline
    from forecast.data import load_training_runs
    from forecast.demand.baselines import epoch_bootstrap
    from forecast.exhaustion import exhaustion
    from forecast.stock.models import Epoch2024Stock
    from forecast.units import monthly_grid

    with timed("stages", "load bundled training runs"):
        models = load_training_runs()
    sampler = dm.SamplerConfig(draws=300, tune=300, chains=2) if quick else dm.SamplerConfig()
    classes = dm.MODEL_CLASSES
    samplers = ["pymc"]
    try:
        import nutpie  # noqa: F401

        samplers.append("nutpie")
    except ImportError:
        print("nutpie not installed: `pip install nutpie` to compare it with PyMC's NUTS")
    for name in samplers:
        config = dm.SamplerConfig(**{**sampler.__dict__, "nuts_sampler": name})
        total = 0.0
        for cls in classes:
            with timed("stages", f"fit {cls.name} ({name})") as rec:
                fit = cls().fit(models, config)
            d = fit.diagnostics()
            rec.update(r_hat_max=d.r_hat_max, ess_bulk_min=d.ess_bulk_min)
            total += rec["seconds"]
        ROWS.append(
            {"section": "stages", "stage": f"fit set total ({name})", "seconds": round(total, 2)}
        )
        print(f"{'stages':10s} {'fit set total (' + name + ')':48s} {total:9.2f} s")
    # The default demand, fitted again in this process: nutpie reuses the compiled models
    # (new data would be swapped in the same way), so this is the "warm (compiled)" time.
    default_classes = [c for c in classes if c.name in dm.DEFAULT_WEIGHTS]
    for name in samplers:
        config = dm.SamplerConfig(**{**sampler.__dict__, "nuts_sampler": name})
        with timed("stages", f"default demand again, compiled ({name})", "warm <= 3 s"):
            for cls in default_classes:
                cls().fit(models, config)
    with timed("stages", "Epoch bootstrap of the growth (10k resamples)"):
        epoch_bootstrap(models, n_boot=10_000, seed=0)

    grid = monthly_grid(2024.0, 2100.0)
    with timed("stages", "stock: 100k draws x monthly grid to 2100"):
        stock = Epoch2024Stock().sample(grid, 100_000, seed=0)
    rng = np.random.default_rng(0)
    demand = 10 ** (12.8 + rng.normal(0.45, 0.05, (100_000, 1)) * (grid[None, :] - 2024))
    with timed("stages", "exhaustion: 100k joint draws x 912 months", "<= 1 s"):
        exhaustion(grid, demand, stock.to_numpy())
    del stock, demand

    with timed("stages", "fit_demand (set + LOO + average, cache off)"):
        ds = pipeline.fit_demand(models, sampler, use_cache=False)
    with timed("stages", "run_scenario baseline (100k draws)", "<= 1 s"):
        result = pipeline.run_scenario("baseline", ds)
    with timed("stages", "run_scenario epoch2024 (100k draws)"):
        epoch = pipeline.run_scenario("epoch2024", ds)

    from forecast.plots import plot_main, plot_prob_exhausted

    with timed("stages", "figures: main + P(exhausted)"):
        plot_main([result, epoch]).savefig(os.devnull, format="png", dpi=120)
        plot_prob_exhausted([result, epoch]).savefig(os.devnull, format="png", dpi=120)

    from forecast.report.writer import write_report

    with tempfile.TemporaryDirectory() as tmp, timed("stages", "report (all scenarios, figures)"):
        write_report(Path(tmp) / "r", models=models, demand=ds, progress=None)
    epoch_versus_toolkit(ds)
    scaling(ds, models, sampler)


def epoch_versus_toolkit(ds) -> None:
    """The same job two ways: Epoch's loops vs the toolkit's vectorised crossing."""
    from forecast.exhaustion import epoch_quantile_clipping, exhaustion
    from forecast.pipeline import demand_projector
    from forecast.scenarios import load_scenario

    scenario = load_scenario("epoch2024")
    project = demand_projector(scenario, ds)
    stock_model = scenario.stock.build()
    years = np.linspace(2024, 2040, 65)  # quarterly, Epoch's figure range
    n = 100_000
    demand = project(years, n, 1)
    stock = stock_model.trajectories(stock_model.sample_parameters(n, 2), years)
    with timed("epoch", "Epoch procedure: quantile-clipping loop, 100k") as rec:
        table = epoch_quantile_clipping(years, demand, stock, method="loop")
    loop = rec["seconds"]
    with timed("epoch", "toolkit: first crossing per joint draw, 100k") as rec:
        result = exhaustion(years, demand, stock)
    print(
        f"{'epoch':10s} {'ratio (Epoch loop / toolkit)':48s} {loop / max(rec['seconds'], 1e-9):9.1f} x"
        f"   medians: Epoch {table.attrs['summary']['median']:.2f}, toolkit "
        f"{result.quantiles()['median']:.2f}"
    )


def scaling(ds, models, sampler) -> None:
    from forecast import demand as dm
    from forecast import pipeline

    for n in (10_000, 100_000, 1_000_000):
        with timed("scaling", f"run_scenario epoch2024, {n:,} draws"):
            pipeline.run_scenario("epoch2024", ds, draws=n)
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = models.dropna(subset=["tokens"])
    for factor in (1, 10):
        if factor == 1:
            table = frame
        else:  # noisy copies: tokens x 10^N(0, 0.3), dates jittered by up to 60 days
            copies = []
            for i in range(factor):
                c = frame.copy()
                c["tokens"] = c["tokens"] * 10 ** rng.normal(0, 0.3, len(c))
                c["year"] = c["year"] + rng.uniform(-60, 60, len(c)) / 365.25
                c["model"] = c["model"] + f" #{i}"
                copies.append(c)
            table = pd.concat(copies, ignore_index=True)
        with timed("scaling", f"fit exponential, {len(table)} rows (x{factor})"):
            dm.ExponentialTrend().fit(table, sampler)


def large_tables() -> None:
    """Memory with 30,000 and 300,000 rows (issue 20): loading the CSV, the frontier
    selection and Epoch's bootstrap baseline must grow linearly with the rows."""
    import tempfile
    import tracemalloc

    import pandas as pd

    from forecast.data import load_models
    from forecast.demand.baselines import epoch_bootstrap
    from forecast.demand.trends import frontier_rows

    rng = np.random.default_rng(0)
    for n in (30_000, 300_000):
        days = rng.integers(0, 4000, n)
        frame = pd.DataFrame(
            {
                "model": [f"m{i}" for i in range(n)],
                "organization": "synthetic",
                "date": (pd.Timestamp("2015-01-01") + pd.to_timedelta(days, "D")).strftime(
                    "%Y-%m-%d"
                ),
                "tokens": 10 ** rng.uniform(8, 13, n),
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.csv"
            frame.to_csv(path, index=False)

            def measure(label, work, n=n):
                tracemalloc.start()
                with timed(
                    "large", f"{label}, {n:,} rows", target="peak grows linearly, <= 1 GB"
                ) as record:
                    result = work()
                record["peak_traced_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
                tracemalloc.stop()
                print(f"{'':10s} {'peak traced memory':48s} {record['peak_traced_mb']:9.1f} MB")
                return result

            loaded = measure("load CSV", lambda p=path: load_models(p))
            measure("frontier rows", lambda t=loaded: frontier_rows(t))
            measure("Epoch bootstrap baseline", lambda t=loaded: epoch_bootstrap(t))


def _child(args: list[str], env: dict) -> tuple[subprocess.CompletedProcess, str | None]:
    """Run ``python *args`` in a fresh process with ``env``; its result is what follows the
    last line it printed starting with ``@@ `` (None if it printed none)."""
    proc = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=False
    )
    results = [x[3:] for x in proc.stdout.splitlines() if x.startswith("@@ ")]
    return proc, (results[-1] if results else None)


def end_to_end(skip_cold: bool) -> None:
    """``forecast report`` in fresh processes, with max RSS of each."""
    # Peak memory from the child's own VmHWM: ru_maxrss would include the parent's peak,
    # which Linux carries across fork + exec.
    code = (
        "import sys, time; t = time.perf_counter();"
        "from forecast.cli import main; rc = main(sys.argv[1:]);"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0];"
        "print('@@', rc, time.perf_counter() - t, int(hwm.split()[1]) / 1024)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # (label, compile cache, fit cache, studies computed again): from 0.8.4 the
        # report also files its collapse and skill studies in the fit cache, so "warm"
        # is measured twice: with those studies computed (the first report after the
        # fits) and read (every later report of the same data, seed and sampler).
        runs = [
            ("cold: empty compile + fit caches", "cc1", "fit1", False),
            ("warm compile cache, fits re-sampled", "cc1", "fit2", False),
            ("warm fits, collapse + skill studies computed", "cc1", "fit2", True),
            ("warm fits and studies (a later report)", "cc1", "fit2", False),
        ]
        if skip_cold:
            runs = runs[1:]
        for i, (label, compiledir, fitdir, recompute) in enumerate(runs):
            if recompute:
                for study in ("collapse-studies-*.json", "skill-*.json"):
                    for path in (tmp / fitdir).glob(study):
                        path.unlink()
            env = dict(os.environ)
            # base_compiledir, not compiledir: PyTensor keeps its numba cache in
            # base_compiledir/numba, which compiledir alone would leave warm (a fresh
            # machine compiles demand v2 in 60-80 s instead of about 32 s).
            env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp / compiledir}"
            env["FORECAST_CACHE_DIR"] = str(tmp / fitdir)
            # As a newcomer meets it (issue 36): an empty HOME (no ~/.cache, ~/.pytensor,
            # matplotlib or ArviZ state) and an empty numba cache for the package's own
            # kernels, shared by the later (warm) rows.
            env["HOME"] = str(tmp / f"home-{compiledir}")
            env["NUMBA_CACHE_DIR"] = str(tmp / compiledir / "numba-forecast")
            (tmp / f"home-{compiledir}").mkdir(exist_ok=True)
            out = tmp / f"report{i}"
            start = time.perf_counter()
            proc, result = _child(["-c", code, "--quiet", "report", "--out", str(out)], env)
            wall = time.perf_counter() - start
            rss = float(result.split()[2]) if result else float("nan")
            # Issue 36's aims are ratios to 0.8.4 on the same machine (0.8.4 on this
            # 2-core machine, 2026-12-07: warm report 28.3 s; benchmarks/README.md).
            target = (
                "cold <= 1/4 of 0.8.4's" if i == 0 and not skip_cold else "warm <= 1/2 of 0.8.4's"
            )
            ROWS.append(
                {
                    "section": "end2end",
                    "stage": f"forecast report: {label}",
                    "seconds": round(wall, 2),
                    "max_rss_mb": round(rss, 1),
                    "target": target + ", peak <= 1.2 GB",
                    "returncode": proc.returncode,
                }
            )
            print(f"{'end2end':10s} {label:48s} {wall:9.2f} s  peak {rss:7.0f} MB  [{target}]")
            if proc.returncode != 0:
                print(proc.stderr[-2000:])
            elif i == len(runs) - 1:  # issue 19: the page with its explorer stays small
                size = (out / "index.html").stat().st_size / 1e6
                ROWS.append(
                    {
                        "section": "end2end",
                        "stage": "index.html size (figures + explorer)",
                        "megabytes": round(size, 2),
                        "target": "< 3 MB",
                    }
                )
                print(f"{'end2end':10s} {'index.html size':48s} {size:9.2f} MB  [< 3 MB]")


def floor_child(compile_only: bool) -> None:
    """(Run in a fresh process by :func:`floor`.) Demand v2's compile and sampling, each
    timed alone, for the fit on the bundled table and the skill study's origin fits
    (``compile_only``: just the first compile)."""
    import logging

    logging.getLogger("pymc").setLevel(logging.ERROR)
    import pandas as pd

    from forecast import demand as dm
    from forecast.data import load_training_runs
    from forecast.demand.damped import DampedFrontierTrend
    from forecast.evaluation import skill

    def fit_timed(rows: pd.DataFrame) -> dict:
        model = DampedFrontierTrend()
        values, _ = model.prepare(model.select(rows))
        new = model.structure(values) not in dm._COMPILED
        start = time.perf_counter()
        dm._compiled_nutpie(model, values)
        compile_s = time.perf_counter() - start if new else 0.0
        if compile_only:
            return {"compile": compile_s}
        start = time.perf_counter()
        fit = model.fit(rows)
        return {
            "compile": compile_s,
            "sample": time.perf_counter() - start,
            "retried": fit.sampler.escalated_from is not None,
            "healthy": fit.diagnostics().healthy,
        }

    models = load_training_runs()
    out = {"full": fit_timed(models), "origins": []}
    if compile_only:
        print("@@", json.dumps(out))
        return
    # Peak memory of a process that has compiled and sampled demand v2 once.
    status = Path("/proc/self/status").read_text().splitlines()
    hwm = next(x for x in status if x.startswith("VmHWM"))
    out["full"]["peak_mb"] = int(hwm.split()[1]) / 1024
    # The skill study's rows at each origin (the bundled table's dates are datetimes).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for origin in skill.default_origins(models):
            out["origins"].append(fit_timed(models[models["date"] < pd.Timestamp(origin)]))
    print("@@", json.dumps(out))


def floor(skip_cold: bool) -> None:
    """What a cold report cannot avoid with demand v2 sampled by nutpie: compiling its
    graph (numba) and sampling it on the bundled table and at the skill study's origins.
    Their sum is a lower bound of the cold report's time (the report does more)."""
    if skip_cold:
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp}"}
        runs = []
        for stage in ("cold", "warm"):  # empty numba cache, then the one the first left
            proc, result = _child([__file__, "--floor-child", stage], env)
            if result is None:
                print(proc.stderr[-2000:])
                return
            runs.append(json.loads(result))
    cold, warm = runs
    origins = cold["origins"]
    rows = [
        ("compile demand v2 (empty numba cache)", cold["full"]["compile"], "fit <= 15 s cold"),
        ("compile demand v2 (numba cache warm, new process)", warm["full"]["compile"], ""),
        ("sample demand v2, bundled table (compiled)", cold["full"]["sample"], "warm <= 3 s"),
        (
            f"compile the origins' other structures ({len(origins)} origins)",
            sum(o["compile"] for o in origins),
            "",
        ),
        (
            f"sample the {len(origins)} origin fits ({sum(o['retried'] for o in origins)} "
            f"retried, {sum(not o['healthy'] for o in origins)} unhealthy)",
            sum(o["sample"] for o in origins),
            "",
        ),
    ]
    total = cold["full"]["compile"] + cold["full"]["sample"] + sum(r[1] for r in rows[3:])
    rows.append(("sum: a lower bound of the cold report", total, "cold <= 60 s"))
    for stage, seconds, target in rows:
        ROWS.append(
            {"section": "floor", "stage": stage, "seconds": round(seconds, 2), "target": target}
        )
        note = f"  [{target}]" if target else ""
        print(f"{'floor':10s} {stage:48s} {seconds:9.2f} s{note}", flush=True)
    peak = cold["full"]["peak_mb"]
    label = "peak memory after compiling and sampling demand v2"
    ROWS.append(
        {"section": "floor", "stage": label, "max_rss_mb": round(peak, 1), "target": "<= 1 GB"}
    )
    print(f"{'floor':10s} {label:48s} {peak:9.0f} MB  [<= 1 GB]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sampler settings")
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold end-to-end run")
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--only-end-to-end", action="store_true")
    parser.add_argument(
        "--only-large-tables", action="store_true", help="just the 30k/300k-row memory check"
    )
    parser.add_argument(
        "--only-floor", action="store_true", help="just demand v2's compile and sampling floor"
    )
    parser.add_argument("--floor-child", choices=("cold", "warm"), help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()
    if args.floor_child:
        floor_child(compile_only=args.floor_child == "warm")
        return
    info = machine()
    print("machine:", json.dumps(info))
    if args.only_floor:
        floor(skip_cold=False)
    elif args.only_large_tables:
        large_tables()
    elif not args.only_end_to_end:
        stages(args.quick)
        large_tables()
    if not (args.skip_end_to_end or args.only_large_tables or args.only_floor):
        end_to_end(args.skip_cold)
        floor(args.skip_cold)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "rows": ROWS}, indent=2))


if __name__ == "__main__":
    main()
