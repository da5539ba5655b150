"""Command line: ``forecast <command> ...``; ``forecast --help`` lists the commands.

Exit codes: 0 ok; 1 runtime failure (also a file that could not be written: a full disk,
no permission); 2 usage or data error. An error is one line on stderr; ``--debug`` shows
the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from forecast._version import __version__
from forecast.checks import unexpandable
from forecast.errors import ForecastError, SamplingWarning, WriteError
from forecast.limits import (
    COLLAPSE_LIMITS,
    DRAWS_RANGE,
    SAMPLER_LIMITS,
    SEED_RANGE,
    VERIFIER_ACCURACY_RANGE,
)
from forecast.safety import terminal_text

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

EXAMPLES = """\
examples:
  forecast report --out report                      # full report from the bundled data
  forecast run --scenario epoch2024                 # Epoch AI 2024 assumptions, readable table
  forecast run --scenario my.toml --json            # a custom scenario, JSON output
  forecast run --scenario baseline --models notable_ai_models.csv   # Epoch AI's CSV
  forecast fit --json                               # demand models: growth, health, LOO weights
  forecast scenarios                                # built-in scenarios, one line each
  forecast scenarios show baseline > my.toml        # start a custom scenario from a built-in
  forecast data check data/training_runs.csv        # validate a models table
  forecast collapse --generations 50 --samples 100  # model-collapse simulator
  forecast sensitivity --global --json              # which assumption matters (Sobol indices)
  forecast backtest --cutoff 2023-01-01             # forecast skill against later models
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and exit code 2."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"forecast: error: {message} (see '{self.prog} --help')\n")


def _int_in(low: int, high: int):
    """argparse type: an integer in [low, high], checked before any work starts."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low:,} and {high:,}")
        return value

    return parse


def _path(text: str) -> str:
    """argparse type: a non-empty path (an unset shell variable gives an empty one)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty (an unset shell variable?)")
    problem = unexpandable(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return text


_SEED = _int_in(*SEED_RANGE)


def _add_common(p: argparse.ArgumentParser, *, models=True, seed=True, draws=True) -> None:
    if models:
        p.add_argument(
            "--models",
            type=_path,
            metavar="CSV",
            help="models table: the project's schema or an Epoch AI 'Notable AI Models' CSV "
            "(auto-detected); default: the bundled data/training_runs.csv",
        )
    if seed:
        p.add_argument(
            "--seed",
            type=_SEED,
            metavar="N",
            help="random seed, 0 to 2**32-1 (default: scenario's)",
        )
    if draws:
        p.add_argument(
            "--draws",
            type=_int_in(*DRAWS_RANGE),
            metavar="N",
            help=f"joint Monte Carlo draws, {DRAWS_RANGE[0]:,} to {DRAWS_RANGE[1]:,} "
            "(default: 100000)",
        )


def _sampler_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sampler (NUTS)")
    g.add_argument(
        "--mcmc-draws",
        type=_int_in(1, SAMPLER_LIMITS["draws"]),
        default=1000,
        metavar="N",
        help="draws per chain",
    )
    g.add_argument(
        "--tune",
        type=_int_in(1, SAMPLER_LIMITS["tune"]),
        default=1000,
        metavar="N",
        help="tuning steps per chain",
    )
    g.add_argument("--chains", type=_int_in(1, SAMPLER_LIMITS["chains"]), default=4, metavar="N")
    g.add_argument(
        "--sampler",
        choices=["nutpie", "pymc"],
        default="nutpie",
        help="NUTS implementation (default nutpie: compiled once per model, chains in "
        "threads; pymc: PyMC's own NUTS; timings in benchmarks/README.md)",
    )
    g.add_argument("--no-cache", action="store_true", help="always re-sample (ignore saved fits)")
    g.add_argument(
        "--cache-dir",
        type=_path,
        metavar="DIR",
        help="where fits are saved for reuse (default: $FORECAST_CACHE_DIR or ~/.cache/forecast)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="forecast",
        description="When do large language models run out of human-written text? Bayesian "
        "demand models x a probabilistic text stock -> the exhaustion date with 80% and 95% "
        "intervals.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"forecast {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and sampler logs")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help_text, examples):
        return sub.add_parser(
            name,
            help=help_text.replace("%", "%%"),
            description=help_text,
            epilog="examples:\n" + examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command(
        "report",
        "Write a self-contained HTML report (+ PNG/SVG figures, summary.json/.csv, Markdown).",
        "  forecast report --out report\n"
        "  forecast report --scenario epoch2024 --compare baseline,contaminated-web --out r2\n"
        "  forecast report --out report --force          # replace an existing report\n",
    )
    p.add_argument(
        "--scenario", type=_path, default="baseline", metavar="NAME|FILE", help="main scenario"
    )
    p.add_argument(
        "--compare",
        metavar="S1,S2,...",
        help="scenarios to compare (default: epoch2024, epoch2024-overtrain5x, "
        "epoch2022-high-quality, contaminated-web, synthetic-2x)",
    )
    p.add_argument("--out", required=True, type=_path, metavar="DIR", help="output directory")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out directory")
    p.add_argument(
        "--no-backtest",
        action="store_true",
        help="leave out the forecast-skill study (about 2 minutes faster on the first run)",
    )
    p.add_argument(
        "--no-global",
        action="store_true",
        help="leave out the global sensitivity analysis (Sobol indices on a local Dask "
        "cluster; about a minute on 2 cores, cached after the first run)",
    )
    _add_common(p)
    _sampler_args(p)

    p = command(
        "run",
        "Run one scenario: exhaustion date (median, 80% and 95% intervals), P(exhausted by year).",
        "  forecast run --scenario baseline\n"
        "  forecast run --scenario epoch2024 --draws 20000 --seed 1 --json\n"
        "  forecast run --scenario my_scenario.toml --models my_models.csv\n"
        "  forecast run --set stock.epochs=10 --set stock.contamination=true\n"
        "  forecast run --set demand.model=compute --set demand.overtraining=5\n",
    )
    p.add_argument(
        "--scenario", type=_path, default="baseline", metavar="NAME|FILE", help="built-in or TOML"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_override,
        default=[],
        metavar="KEY=VALUE",
        help="change one lever, as in a scenario file (repeatable): a dotted key and a TOML "
        "value, e.g. stock.epochs=10, stock.isolation=true, "
        "stock.synthetic='{verifier_accuracy = 0.9}'; a bare word is a string",
    )
    p.add_argument("--json", action="store_true", help="print the JSON summary")
    _add_common(p)
    _sampler_args(p)

    p = command(
        "remedies",
        "What the remedies buy: exhaustion date with data isolation, verified synthetic data "
        "at several verifier accuracies, and both, on a web filling with AI-written text.",
        "  forecast remedies\n  forecast remedies --accuracies 0.5,0.9 --draws 50000 --json\n",
    )
    p.add_argument(
        "--accuracies",
        metavar="A,B,...",
        help="verifier accuracies, each 0.5 to 1 (default: 0.6,0.75,0.9,1)",
    )
    p.add_argument("--json", action="store_true", help="print the study as JSON")
    _add_common(p)
    _sampler_args(p)

    p = command(
        "sensitivity",
        "What drives the uncertainty: each lever moved alone to its ends (default), or Sobol "
        "indices of every lever at once over its documented range (--global, on Dask).",
        "  forecast sensitivity                            # one lever at a time\n"
        "  forecast sensitivity --global --json            # Sobol indices, a LocalCluster\n"
        "  forecast sensitivity --global --n 4096 --workers 2\n"
        "  forecast sensitivity --global --scheduler tcp://127.0.0.1:8786   # a running cluster\n",
    )
    p.add_argument(
        "--scenario", type=_path, default="baseline", metavar="NAME|FILE", help="base scenario"
    )
    p.add_argument(
        "--global",
        dest="global_analysis",
        action="store_true",
        help="Sobol first-order and total indices (with bootstrap intervals) of the median "
        "year, P(exhausted by 2030) and the 80%% width, every lever varied at once",
    )
    p.add_argument(
        "--levers",
        metavar="L1,L2",
        help="only these levers (names as printed; default: every lever)",
    )
    p.add_argument(
        "--draws",
        type=_int_in(100, 100_000),
        metavar="N",
        help="joint draws per run (default: 20000 one at a time, 1000 per --global setting)",
    )
    p.add_argument(
        "--n",
        type=_int_in(2, 2**20),
        metavar="N",
        help="--global: base rows of the Sobol' design, a power of two (default 2048: "
        "N x (levers + 2) settings)",
    )
    p.add_argument(
        "--workers",
        type=_int_in(1, 1024),
        metavar="K",
        help="--global: worker processes of the local Dask cluster (default: one per core)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="--global: a running Dask scheduler (tcp://HOST:PORT) instead of a local "
        "cluster (default: $DASK_SCHEDULER_ADDRESS if set); same seed, same numbers",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_common(p, draws=False)
    _sampler_args(p)

    p = command(
        "fit",
        "Fit the demand models: growth per year (95% interval), sampler health, LOO weights.",
        "  forecast fit\n  forecast fit --models notable_ai_models.csv --seed 3 --json\n",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_common(p, draws=False)
    _sampler_args(p)

    p = command(
        "scenarios",
        "List the built-in scenarios, or print one as TOML ('show NAME').",
        "  forecast scenarios\n  forecast scenarios show epoch2024 > mine.toml\n",
    )
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="scenario name or TOML file (for 'show')")

    p = command(
        "data",
        "Validate a models table ('check FILE'): rows, date range, largest run, problems, "
        "values outside their plausible range.",
        "  forecast data check data/training_runs.csv\n"
        "  forecast data check notable_ai_models.csv    # Epoch AI's CSV, auto-detected\n",
    )
    p.add_argument("action", choices=["check"])
    p.add_argument("file", metavar="FILE")

    p = command(
        "collapse",
        "Simulate model collapse (Gaussian and vocabulary recursions: replace, accumulate, mix,"
        " verify; linear regression: replace, accumulate and a fixed budget, with closed forms).",
        "  forecast collapse\n  forecast collapse --generations 100 --samples 50 --seed 1 --json\n"
        "  forecast collapse --verifier-accuracy 0.7\n",
    )
    p.add_argument(
        "--generations",
        type=_int_in(1, COLLAPSE_LIMITS["generations"]),
        default=50,
        metavar="N",
        help=f"generations, 1 to {COLLAPSE_LIMITS['generations']:,}",
    )
    p.add_argument(
        "--samples",
        type=_int_in(2, COLLAPSE_LIMITS["samples"]),
        default=100,
        metavar="M",
        help=f"samples per generation, 2 to {COLLAPSE_LIMITS['samples']:,}",
    )
    p.add_argument(
        "--fresh-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="share of fresh human data per generation in the 'mix' regime",
    )
    p.add_argument(
        "--verifier-accuracy",
        type=float,
        default=0.9,
        metavar="A",
        help="accuracy of the verifier in the 'verify' regime, 0.5 (coin flip) to 1 (perfect)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--json", action="store_true")

    p = command(
        "backtest",
        "Score the demand models on models released after a cutoff (coverage, CRPS, log score).",
        "  forecast backtest --cutoff 2023-01-01\n"
        "  forecast backtest --models notable_ai_models.csv --cutoff 2022-06-30 --json\n"
        "  forecast backtest --rolling                   # cutoffs 2020-2024\n"
        "  forecast backtest --lfo                       # leave-future-out, origins 2021-07..\n"
        "  forecast backtest --lfo --methods default,average-0.2,ols,epoch-bootstrap,naive\n",
    )
    p.add_argument("--cutoff", metavar="YYYY-MM-DD", help="train on models released before this")
    p.add_argument("--rolling", action="store_true", help="rolling origin: cutoffs 2020..2024")
    p.add_argument(
        "--lfo",
        action="store_true",
        help="leave-future-out study: half-yearly origins from 2021-07-01, horizons 0.5-3 years",
    )
    p.add_argument(
        "--methods",
        metavar="M1,M2",
        help="methods of the --lfo study (default: default,ols,epoch-bootstrap,naive)",
    )
    p.add_argument(
        "--horizons", metavar="H1,H2", help="horizons in years of the --lfo study (0.5,1,2,3)"
    )
    p.add_argument("--json", action="store_true")
    _add_common(p, draws=False)
    _sampler_args(p)
    return parser


# --- helpers ---------------------------------------------------------------------------------


#: The running command's progress display (forecast.progress.StepProgress), or None.
_STEPS = None


def _progress(args):
    """Progress callable of long steps: a live display on a terminal, plain lines in logs."""
    if args.quiet or _STEPS is None:
        return lambda _msg: None
    return _STEPS


def _models(args):
    from forecast.data import load_models, load_training_runs

    if getattr(args, "models", None):
        frame = load_models(args.models)
        if not args.quiet:
            print(terminal_text(f"[forecast] {frame.attrs['load_report']}"), file=sys.stderr)
        return frame
    return load_training_runs()


def _comma_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (the comma-separated flags)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _fit_options(args) -> dict:
    """The sampler flags as keyword arguments of every fitting entry point."""
    return {
        "sampler": _sampler(args),
        "use_cache": not args.no_cache,
        "cache_dir": args.cache_dir,
    }


def _sampler(args):
    from forecast.demand.model import SamplerConfig

    return SamplerConfig(
        draws=args.mcmc_draws,
        tune=args.tune,
        chains=args.chains,
        nuts_sampler=args.sampler,
        seed=args.seed if args.seed is not None else 0,
        # Off: the step display (forecast.progress) shows each fit with its elapsed time,
        # and the sampler's own live bar would fight it on the terminal.
        progress=False,
    )


def _demand(args, models, names=None):
    """The fitted demand set; ``names``: only these models (None = every model)."""
    from forecast.pipeline import fit_demand

    return fit_demand(models, names=names, progress=_progress(args), **_fit_options(args))


def _print_json(payload) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False))


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


# --- commands --------------------------------------------------------------------------------


def _override(text: str) -> tuple[str, object]:
    """argparse type of ``--set``: :func:`forecast.scenarios.parse_override`."""
    from forecast.scenarios import parse_override

    try:
        return parse_override(text)
    except ForecastError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_run(args) -> int:
    from forecast.pipeline import demand_models_needed, run_scenario
    from forecast.scenarios import load_scenario

    scenario = load_scenario(args.scenario)
    overrides = dict(args.overrides)
    # validated (one clear line) before anything is fitted
    changed = scenario.with_overrides(**overrides) if overrides else scenario
    models = _models(args)
    # Only the fits this scenario's demand uses (as forecast.run_scenarios does), so the
    # diagnostics and "reliable" are those of the models behind the numbers.
    needed = demand_models_needed(changed)
    demand = _demand(args, models, names=needed) if needed else None
    result = run_scenario(
        scenario,
        demand,
        draws=args.draws,
        seed=args.seed,
        models=models,
        progress=_progress(args),
        **overrides,
    )
    if args.json:
        _print_json(result.to_json_dict())
        return EXIT_OK
    payload = result.to_json_dict()

    from forecast.registry import demand_label
    from forecast.results import start_note, year_with_error

    def year(key: str) -> str:  # to the decimals its Monte Carlo error supports
        return year_with_error(result, key, error=False)

    rows = [
        ("scenario", f"{result.name}: {result.scenario.description}"),
        ("demand", demand_label(result.scenario.demand.model)),
        ("exhaustion year (median)", year_with_error(result)),
        ("80% interval", f"{year('p10')} - {year('p90')}"),
        ("95% interval", f"{year('p2_5')} - {year('p97_5')}"),
        ("not exhausted by horizon", f"{payload['not_exhausted_by_horizon']:.1%} of draws"),
    ]
    for y, stock in payload["stock_tokens"].items():
        rows.append(
            (
                f"stock {y} (median [90%])",
                f"{stock['median']:.3g} [{stock['p5']:.3g}, {stock['p95']:.3g}] tokens",
            )
        )
    g = payload["demand_growth_per_year"]
    rows.append(("demand growth", f"{g['median']:.2f}x/yr [{g['p2_5']:.2f}, {g['p97_5']:.2f}]"))
    if payload["published"]:
        pub = payload["published"]
        rows.append(("published median", f"{pub.get('median')} ({pub.get('source', '')})"))
    prob = payload["prob_exhausted_by"]
    for y in ("2026", "2028", "2030", "2035", "2040"):
        if y in prob:
            rows.append((f"P(exhausted by end of {y})", f"{prob[y]:.2f}"))
    print(_table(rows))
    note = start_note(result)
    if note:
        print(f"\n  {note}")
    print(
        "\n  Intervals: the central 80% / 95% of joint draws of demand and stock "
        f"({result.draws:,} draws, seed {result.seed})."
    )
    if result.mc_error:
        print(
            "  Monte Carlo error: one standard error from posterior sampling and the "
            "projection together\n  (a fresh fit and run, e.g. on another machine, differs "
            "by about this much); dates are rounded to\n  the decimals their own error "
            "supports."
        )
    if not result.reliable:
        print("  WARNING: demand fits failed sampler-health checks; see 'forecast fit'.")
    return EXIT_OK


def _print_v3(fit) -> None:
    """What demand v3 read and what it implies (``forecast fit``)."""
    import numpy as np

    used = fit.model.usage(fit)
    ratio = used["tokens_per_parameter_at_data_date"]
    edge = np.quantile(fit.posterior["compute_growth"].to_numpy().reshape(-1), [0.1, 0.5, 0.9])
    print(
        f"\n  {fit.model.label}: {len(used['compute_rows'])} runs with a compute figure (one "
        f"per family), {len(used['ratio_rows'])} reporting tokens and a measured compute "
        f"({len(used['censored'])} of them censored at a published bound)."
    )
    print(
        f"  compute edge growth: {edge[1]:.2f} OOM/yr (80% interval {edge[0]:.2f} to "
        f"{edge[2]:.2f}) = {10 ** edge[1]:.1f}x/yr; tokens per parameter at the data date: "
        f"{ratio['median']:.0f} (80% {ratio['p10']:.0f} to {ratio['p90']:.0f})"
    )
    print("  growth of the largest run's training set, OOM/yr (median, 80% interval):")
    for row in used["growth_oom_per_year"]:
        print(
            f"    {row['at']:<22} {row['oom_per_year']:5.2f} "
            f"[{row['oom_p10']:5.2f}, {row['oom_p90']:5.2f}]"
            f"  = {10 ** row['oom_per_year']:.2f}x/yr"
        )
    biggest = sorted(used["undisclosed"], key=lambda u: -u["compute_flop"])[:5]
    if biggest:
        print("  implied training sets of the largest undisclosed runs (median, 80% interval):")
        for u in biggest:
            print(
                f"    {terminal_text(u['model']):<28} {u['compute_flop']:.1e} FLOP -> "
                f"{u['tokens_median'] / 1e12:.1f}T tokens "
                f"[{u['tokens_p10'] / 1e12:.1f}T, {u['tokens_p90'] / 1e12:.1f}T]"
            )


def cmd_fit(args) -> int:
    models = _models(args)
    demand = _demand(args, models)
    if args.json:
        _print_json({"models": demand.to_json_dict()})
        return EXIT_OK
    table = demand.summary()[
        [
            "model",
            "rows",
            "growth_per_year",
            "growth_p2_5",
            "growth_p97_5",
            "doubling_months",
            "r_hat_max",
            "ess_bulk_min",
            "divergences",
            "loo_weight",
            "default_weight",
        ]
    ]
    # r_hat to three decimals: 1.011 fails the 1.01 threshold, "1.01" would hide it.
    formatters = {"r_hat_max": lambda v: f"{v:.3f}"}
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}", formatters=formatters))
    print(
        "\n  growth_per_year: multiplicative growth of the largest training sets' tokens per "
        "year (median, 95% interval);\n  for compute-frontier (demand v3, the default) half "
        "the compute edge's growth, the tokens per parameter held.\n  Epoch AI 2024: 0.38 "
        "orders of magnitude per year [0.27, 0.48] = 2.4x/yr [1.9, 3.0].\n  random-walk-slope:"
        " the growth rate at the last data date.\n  loo_weight: PSIS-LOO stacking weight of "
        "the token models fitted to the same rows (fit inside the history, a diagnostic;\n  "
        "NaN for models of other quantities); default_weight: weight in the default demand "
        "(docs/model.md, section 3)."
    )
    for fit in demand.fits.values():
        for problem in fit.diagnostics().problems:
            print(f"  WARNING: {fit.name}: {problem}")
    v3 = demand.fits.get("compute-frontier")
    if v3 is not None:
        _print_v3(v3)
    v2 = demand.fits.get("damped-trend")
    if v2 is not None:
        used = v2.model.usage(v2)
        print(
            f"\n  {v2.model.label}: {len(used['rows_used'])} runs (one per family), "
            f"{len(used['censored'])} censored at a published bound, "
            f"{len(used['undisclosed'])} undisclosed entering through their compute."
        )
        print("  growth of the largest run, OOM/yr (median, 80% interval):")
        for row in used["growth_oom_per_year"]:
            print(
                f"    {row['at']:<20} {row['oom_per_year']:5.2f} "
                f"[{row['oom_p10']:5.2f}, {row['oom_p90']:5.2f}]"
                f"  = {10 ** row['oom_per_year']:.2f}x/yr"
            )
        prior = used["prior_predictive"]
        print(
            f"  prior predictive for {prior['year']:.0f} (priors alone, docs/model.md): "
            f"P(growth above 2 OOM/yr) = {prior['p_rate_above_2_oom']:.2%}, "
            f"P(largest run below today's) = {prior['p_below_data_date']:.1%}"
        )
    return EXIT_OK


def _labelled_toml(scenario) -> str:
    """The scenario's TOML with what its demand and stock models are as comments
    (``model = "default"  # default demand (v3: ...)``); it reads back to the same
    scenario."""
    from forecast.registry import STOCK, demand_label

    labels = {
        "demand": demand_label(scenario.demand.model),
        "stock": STOCK[scenario.stock.model].label if scenario.stock.model in STOCK else "",
    }
    lines, section = [], ""
    for line in scenario.to_toml().splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line.startswith("model = ") and labels.get(section):
            line += f"  # {terminal_text(labels[section])}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def cmd_scenarios(args) -> int:
    from forecast.scenarios import list_scenarios, load_scenario

    if args.action == "show":
        if not args.name:
            raise ForecastError("'forecast scenarios show' needs a scenario name or TOML file")
        print(_labelled_toml(load_scenario(args.name)), end="")
        return EXIT_OK
    scenarios = list_scenarios()
    width = max(len(s.name) for s in scenarios)
    for s in scenarios:
        print(f"{s.name.ljust(width)}  {s.description}")
    return EXIT_OK


def cmd_data(args) -> int:
    from forecast.data import check_models_file

    report = check_models_file(args.file)
    if report.ok:
        print(report.text)
        return EXIT_OK
    if report.text:
        print(report.text)
    print(f"forecast: error: {report.error}", file=sys.stderr)
    return EXIT_USAGE


def cmd_remedies(args) -> int:
    from forecast.studies.remedies import REMEDY_ACCURACIES, what_remedies_buy

    accuracies = REMEDY_ACCURACIES
    if args.accuracies is not None:
        try:
            accuracies = tuple(float(a) for a in _comma_list(args.accuracies))
        except ValueError:
            raise ForecastError(
                f"--accuracies: expected numbers separated by commas, got {args.accuracies!r}"
            ) from None
        low, high = VERIFIER_ACCURACY_RANGE
        bad = [a for a in accuracies if not low <= a <= high]
        if bad or not accuracies:
            raise ForecastError(f"--accuracies: each must be between 0.5 and 1, got {bad}")
    models = _models(args)
    demand = _demand(args, models)
    study = what_remedies_buy(
        demand,
        accuracies=accuracies,
        draws=args.draws or 20_000,
        seed=0 if args.seed is None else args.seed,
        progress=_progress(args),
        workers=2,  # threads; the same numbers
    )
    if args.json:
        _print_json(study.to_json_dict())
    else:
        print(study)
    return EXIT_OK


def cmd_sensitivity(args) -> int:
    from forecast.scenarios import load_scenario

    scenario = load_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    levers = _comma_list(args.levers) if args.levers else None
    if not args.global_analysis:
        extra = [f for f in ("n", "workers", "scheduler") if getattr(args, f) is not None]
        if extra:
            raise ForecastError(f"--{', --'.join(extra)} go with --global")
        return _one_at_a_time(args, scenario, seed, levers)
    from forecast.studies.global_sensitivity import (
        DEFAULT_DRAWS,
        DEFAULT_N,
        demand_fits_needed,
        global_sensitivity,
        pick_levers,
    )

    chosen = pick_levers(levers)
    models = _models(args)
    needed = demand_fits_needed(scenario, chosen)
    demand = _demand(args, models, names=needed) if needed else None
    result = global_sensitivity(
        scenario,
        demand,
        chosen,
        n=args.n or DEFAULT_N,
        draws=args.draws or DEFAULT_DRAWS,
        seed=seed,
        scheduler=args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None,
        workers=args.workers,
        progress=_progress(args),
    )
    if args.json:
        _print_json(result.to_json_dict())
        return EXIT_OK
    print(result)
    level = f"{result.settings['conf_level']:.0%}"
    print(
        "\n  ST (total index): the share of the output's variance this lever takes part in, "
        "alone or with others;\n  S1 (first order): the share that learning it exactly would "
        f"remove on average; [{level} bootstrap interval].\n  Each setting: "
        f"{result.settings['draws']:,} joint draws on common random numbers; levers and "
        "sources: forecast sensitivity --global --json."
    )
    return EXIT_OK


def _one_at_a_time(args, scenario, seed: int, levers) -> int:
    from forecast.studies.sensitivity import sensitivity

    models = _models(args)
    demand = _demand(args, models)
    table = sensitivity(
        scenario,
        demand,
        levers=levers,
        draws=args.draws or 20_000,
        seed=seed,
        progress=_progress(args),
        workers=2,  # threads; the same numbers
    )
    if args.json:
        _print_json({**table.attrs, "levers": json.loads(table.to_json(orient="records"))})
        return EXIT_OK
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(
        "\n  Each lever at its low and high end, every other lever at the scenario's value, "
        f"same seed ({table.attrs['draws']:,} draws per run); swing = |median_high - median_low| "
        "(years). For every lever at once: forecast sensitivity --global."
    )
    return EXIT_OK


def cmd_collapse(args) -> int:
    from forecast.collapse.simulator import simulate
    from forecast.collapse.theory import real_weight_table, simulate_linear_regression

    if args.seed < 0:
        raise ForecastError(f"--seed must be a non-negative integer, got {args.seed}")
    try:
        result = simulate(
            generations=args.generations,
            samples=args.samples,
            seed=args.seed,
            fresh_fraction=args.fresh_fraction,
            verifier_accuracy=args.verifier_accuracy,
        )
        linear = simulate_linear_regression(generations=args.generations, seed=args.seed)
    except ValueError as exc:
        raise ForecastError(str(exc)) from None
    weights = real_weight_table()
    if args.json:
        _print_json(
            {
                **result.to_json_dict(),
                "linear_regression": linear.to_json_dict(),
                "linear_regression_settings": linear.settings,
                "real_data_weight": weights.to_dict(orient="records"),
            }
        )
    else:
        print(result)
        print()
        print(linear)
        print()
        print("Weight on fresh real data that minimises the long-run error (Gaussian mean):")
        print(weights.to_string(index=False, float_format="{:.3f}".format))
    return EXIT_OK


def cmd_report(args) -> int:
    from forecast.report.writer import check_output_dir, write_report

    # Checked before any fit, and again just before the report is moved into place.
    check_output_dir(Path(args.out).expanduser().absolute(), args.force)
    models = _models(args)
    compare = None
    if args.compare is not None:
        compare = tuple(_comma_list(args.compare))
    kwargs = {} if compare is None else {"compare": compare}
    demand = _demand(args, models)
    out = write_report(
        Path(args.out),
        scenario=args.scenario,
        models=models,
        demand=demand,
        draws=args.draws,
        seed=args.seed,
        force=args.force,
        backtest=not args.no_backtest,
        global_analysis=not args.no_global,
        progress=_progress(args),
        **_fit_options(args),
        **kwargs,
    )
    print(f"report written to {out / 'index.html'}")
    return EXIT_OK


def cmd_backtest(args) -> int:
    from forecast.evaluation import backtest

    models = _models(args)
    seed = args.seed if args.seed is not None else 0
    if args.lfo:
        return _lfo(args, models, seed)
    if args.rolling:
        table = backtest.rolling_origin(models, seed=seed, **_fit_options(args))
        calibration = backtest.calibration_by_history(table)
        if args.json:
            _print_json(
                {
                    "rolling": json.loads(table.to_json(orient="records")),
                    "calibration": json.loads(calibration.to_json(orient="records")),
                }
            )
        else:
            print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
            print(
                "\nCalibration (pooled over all cutoffs, then over those with enough "
                "history): nominal vs empirical coverage"
            )
            print(calibration.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        return EXIT_OK
    if not args.cutoff:
        raise ForecastError("give --cutoff YYYY-MM-DD or --rolling")
    result = backtest.backtest(models, args.cutoff, seed=seed, **_fit_options(args))
    if args.json:
        _print_json(result.to_json_dict())
    else:
        print(result)
    return EXIT_OK


def _lfo(args, models, seed: int) -> int:
    from forecast.evaluation.skill import DEFAULT_HORIZONS, evaluate

    try:
        horizons = (
            [float(h) for h in _comma_list(args.horizons)] if args.horizons else DEFAULT_HORIZONS
        )
    except ValueError as exc:
        raise ForecastError(f"--horizons must be numbers like 0.5,1,2,3: {exc}") from exc
    study = evaluate(
        models,
        methods=_comma_list(args.methods) if args.methods else None,
        horizons=horizons,
        seed=seed,
        progress=_progress(args),
        data_name=str(args.models or "bundled training runs"),
        **_fit_options(args),
    )
    if args.json:
        _print_json(study.to_json_dict())
        return EXIT_OK
    print(study)
    for target in ("runs", "undisclosed"):
        table = study.summary(target)
        if len(table):
            print(f"\nTarget '{target}':")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    if study.weights:
        print(
            f"\nStacking weights (fitted on origins before {study.split.isoformat()}): "
            + ", ".join(f"{m} {w:.3f}" for m, w in study.weights.items())
        )
        print(study.stacking.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for message in study.messages:
        print(f"NOTE: {message}")
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "fit": cmd_fit,
    "scenarios": cmd_scenarios,
    "data": cmd_data,
    "collapse": cmd_collapse,
    "remedies": cmd_remedies,
    "sensitivity": cmd_sensitivity,
    "report": cmd_report,
    "backtest": cmd_backtest,
}


def _quiet_libraries(debug: bool) -> None:
    if debug:
        return
    # A root handler first: PyMC then leaves its logger alone instead of logging at INFO.
    logging.basicConfig(level=logging.WARNING, format="[forecast] %(name)s: %(message)s")
    for name in ("pymc", "pytensor", "arviz"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Dask's scheduler and workers (sensitivity --global, the report) log each start,
    # connection and cancelled task. The variable is read where dask is first imported
    # (here later, and in the worker processes); if dask already is, its configuration.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    if "dask" in sys.modules:
        sys.modules["dask"].config.set({"logging.distributed": "error"})
    logging.getLogger("distributed").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*BLAS.*")
    warnings.filterwarnings("ignore", category=RuntimeWarning)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    prefix = "WARNING (sampler health)" if issubclass(category, SamplingWarning) else "warning"
    print(terminal_text(f"[forecast] {prefix}: {message}"), file=sys.stderr)


#: Exit status when stdout's reader closed early (128 + SIGPIPE, as the shell reports).
EXIT_BROKEN_PIPE = 141


def _terminate_on_sigterm() -> None:
    """SIGTERM ends the command like Ctrl-C does: through the cleanup paths (a report
    being written is removed, an earlier one left in place), not mid-write."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


class _SafeOutput:
    """stdout for a command: control characters made visible (forecast.safety), and the
    step display (if any) stopped before the first write."""

    def __init__(self, stream, steps) -> None:
        self._stream = stream
        self._steps = steps

    def write(self, text: str) -> int:
        if self._steps is not None:
            self._steps.close()
        try:
            return self._stream.write(terminal_text(text))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc) from exc

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    _quiet_libraries(args.debug)
    if not args.debug:
        warnings.showwarning = _show_warning
    global _STEPS
    from forecast.progress import StepProgress

    _STEPS = None if args.quiet else StepProgress()
    stdout = sys.stdout
    # Everything printed passes the terminal-safety filter (user text may carry escape
    # sequences), and the first result stops the live step display.
    sys.stdout = _SafeOutput(stdout, _STEPS)
    _terminate_on_sigterm()
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a full disk under `> out.json` shows here, not at exit
        return code
    except BrokenPipeError:
        # The reader went away (`forecast collapse --json | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        return EXIT_BROKEN_PIPE
    except WriteError as exc:  # a full disk, no permission: the path, nothing written
        if args.debug:
            raise
        print(terminal_text(f"forecast: error: {exc}"), file=sys.stderr)
        return EXIT_FAILURE
    except ForecastError as exc:
        if args.debug:
            raise
        print(terminal_text(f"forecast: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("forecast: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except _OutputError as exc:
        # Standard output is the one file written without forecast.persist: a redirect
        # onto a full disk (`forecast run --json > out.json`).
        if args.debug:
            raise
        _discard_output(stdout)
        print(terminal_text(f"forecast: error: {exc}"), file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            raise
        return _failed(exc)
    finally:
        sys.stdout = stdout
        if _STEPS is not None:
            _STEPS.close()


class _OutputError(OSError):
    """Standard output could not be written (not a closed pipe: a full disk, ...)."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(
            f"could not write the output: {exc.strerror or exc}; what was printed is "
            "incomplete (nothing else was written)"
        )
        self.errno = exc.errno


def _discard_output(stdout) -> None:
    """Drop what is still buffered for a standard output that cannot take it, so the
    interpreter's exit does not try (and fail) again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())


def _failed(exc: BaseException) -> int:
    """An unexpected error: one line on stderr, exit 1."""
    print(
        terminal_text(f"forecast: failed: {type(exc).__name__}: {exc} (rerun with --debug)"),
        file=sys.stderr,
    )
    return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
