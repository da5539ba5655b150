"""Leave-future-out forecast-skill study (issue 15) on the bundled table and on Epoch AI's
reference extract, with demand v2 (``damped-trend``, the default of 0.4-0.8) and 0.2.0's
default demand as extra methods beside the default (demand v3). Prints the pooled tables,
the aims and the time taken.

    .venv/bin/python benchmarks/lfo_study.py [--reference-dir ../shared/reference]
        [--methods default,damped-trend,...] [--json out.json]

Cold, it compiles and fits every Bayesian method at every origin of both data sets (about
4 fits per origin, 10-20 minutes on 2 cores); fits are cached afterwards.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
import warnings

import pandas as pd

from forecast.data import load_models, load_training_runs
from forecast.evaluation.skill import BASELINES, DEFAULT_METHOD, evaluate

METHODS = (DEFAULT_METHOD, "damped-trend", "average-0.2", *BASELINES)


def aims(study) -> dict:
    """:meth:`SkillStudy.aims` plus the 80% band's width and coverage at one year (the
    sharpness comparison with 0.2.0's default)."""
    pooled = study.pooled[study.pooled["target"] == "frontier"]
    one = pooled[pooled["horizon"] == 1.0].set_index("method")
    result = study.aims()
    return {
        **result,
        "crps_below_every_baseline": {
            f"{h:g}": not beaten for h, beaten in result["crps_beaten_by"].items()
        },
        "width_80_at_1y": {m: float(one.loc[m, "width_80"]) for m in one.index},
        "coverage_80_at_1y": {m: float(one.loc[m, "coverage_80"]) for m in one.index},
    }


def run(name, models, methods=METHODS) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = evaluate(models, methods=methods, data_name=name)
    seconds = time.perf_counter() - t0
    print(f"\n=== {name}: {len(study.origins)} origins, {seconds:.0f} s ===")
    print(study.summary().round(3).to_string(index=False))
    print(
        "weights (fitted before",
        study.split,
        "):",
        {k: round(v, 3) for k, v in study.weights.items()},
    )
    print(study.stacking.round(3).to_string(index=False))
    print(study.diagnostics.round(3).to_string(index=False))
    result = aims(study)
    print(json.dumps(result, indent=2))
    return {"name": name, "seconds": seconds, "aims": result, "study": study.to_json_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", default="../shared/reference")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated methods (default: %(default)s)",
    )
    args = parser.parse_args()
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    out = [run("bundled training runs", load_training_runs(), methods)]
    extract = pathlib.Path(args.reference_dir) / "epoch_notable_ai_models_to_2024-06.csv"
    if extract.exists():
        models = load_models(extract)
        out.append(run("Epoch AI notable models to 2024-06", models, methods))
    else:
        print(f"\n(reference extract not found at {extract}: skipped)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
