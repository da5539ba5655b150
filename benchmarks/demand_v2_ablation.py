"""What moved the baseline headline from 0.2's demand to demand v2, one change at a time.

Runs the ``baseline`` scenario (100,000 joint draws, seed 0, bundled data) with the full
demand v2 and with each of its changes undone on its own:

- ``0.2 default mix``: 0.2's equal mixture of the straight frontier trend and the
  random-walk slope, on the same data and grid;
- ``grid from 2024.0``: the grid starts at 2024.0 instead of the data date;
- ``no undisclosed runs``: runs without a published size are left out;
- ``bounds as exact``: sizes published as bounds are taken as exact.

Prints one row per variant: median, 80% and 95% intervals, P(exhausted by 2030), the
shares not exhausted by 2100 and already exhausted at the start. Usage::

    python benchmarks/demand_v2_ablation.py [--draws 100000] [--markdown]
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings

import pandas as pd

from forecast import demand as dm
from forecast.data import load_training_runs
from forecast.demand.damped import DampedFrontierTrend
from forecast.pipeline import fit_demand, run_scenario


def _with_default(demand, fits: dict, weights: dict):
    fits = {**demand.fits, **fits}
    average = dm.ModelAverage([fits[n] for n in weights], list(weights.values()))
    return dataclasses.replace(demand, fits=fits, average=average)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    models = load_training_runs()
    sampler = dm.SamplerConfig()
    demand = fit_demand(models, sampler, names=["damped-trend", "frontier", "random-walk-slope"])
    v2 = demand.fits["damped-trend"]
    variants = {
        "demand v2 (0.4 default)": (demand, {}),
        "0.2 default mix": (
            _with_default(demand, {}, {"frontier": 0.5, "random-walk-slope": 0.5}),
            {},
        ),
        "grid from 2024.0": (demand, {"start": 2024.0}),
    }
    for label, model in (
        ("no undisclosed runs", DampedFrontierTrend(undisclosed=False)),
        ("bounds as exact", DampedFrontierTrend(censored=False)),
    ):
        fit = dm.fit_cached(model, models, sampler)
        variants[label] = (_with_default(demand, {"damped-trend": fit}, {"damped-trend": 1.0}), {})
    rows = []
    for label, (d, overrides) in variants.items():
        r = run_scenario("baseline", d, draws=args.draws, seed=0, **overrides)
        q = r.exhaustion_year()
        prob = r.exhaustion.prob_exhausted_by([2030])
        rows.append(
            {
                "variant": label,
                "median": q["median"],
                "p10": q["p10"],
                "p90": q["p90"],
                "p2_5": q["p2_5"],
                "p97_5": q["p97_5"],
                "P(by 2030)": float(prob.iloc[0]),
                "not by 2100": r.exhaustion.not_exhausted_share,
                "exhausted at start": r.exhaustion.already_exhausted_share,
                "healthy": all(f.diagnostics().healthy for f in d.fits.values()),
            }
        )
    table = pd.DataFrame(rows)
    print(f"damped-trend fit healthy: {v2.diagnostics().healthy} ({v2.diagnostics()})")
    years = ["median", "p10", "p90", "p2_5", "p97_5"]
    shown = table.copy()
    for column in shown.columns:
        if column in years:
            shown[column] = [("after 2100" if v != v else f"{v:.1f}") for v in shown[column]]
        elif shown[column].dtype == float:
            shown[column] = [f"{v:.3f}" for v in shown[column]]
    if args.markdown:
        print("| " + " | ".join(shown.columns) + " |")
        print("|---" * len(shown.columns) + "|")
        for row in shown.itertuples(index=False):
            print("| " + " | ".join(str(v) for v in row) + " |")
    else:
        print(shown.to_string(index=False))


if __name__ == "__main__":
    main()
