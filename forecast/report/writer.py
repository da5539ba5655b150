"""The generated report: one directory with a self-contained HTML page, Markdown, figures
(PNG and SVG), ``summary.json`` and ``summary.csv``.

:func:`write_report` fits demand (or takes a fitted :class:`~forecast.pipeline.DemandSet`),
runs the main scenario and the compared ones, the sensitivity analysis and the
model-collapse simulation, renders every figure and writes the directory atomically: all
files are built in a temporary sibling directory that is renamed into place at the end.

``index.html`` embeds every figure as a base64 PNG data URI and uses no external
scripts, stylesheets, fonts or images, so it can be opened offline or mailed as one file.
``summary.json`` is the main scenario's ``forecast run --json`` object plus a top-level
``"compare"`` list holding the same object for each compared scenario.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jinja2
import matplotlib
import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from forecast import checks
from forecast._version import __version__
from forecast.checks import checked
from forecast.demand.model import SamplerConfig
from forecast.errors import DataError, ForecastError, SamplingWarning
from forecast.persist import json_default, resolve_target, write_directory_atomic
from forecast.pipeline import DEMAND, MODELS
from forecast.plots.style import format_tokens
from forecast.results import mc_error_text, start_note, year_with_error
from forecast.safety import csv_frame, markdown_text, terminal_text
from forecast.scenarios import SCENARIO
from forecast.units import year_text as _year

__all__ = ["DEFAULT_COMPARE", "EPOCH2024_GROWTH_OOM", "write_report"]

DEFAULT_COMPARE = (
    "epoch2024",
    "epoch2024-overtrain5x",
    "epoch2022-high-quality",
    "contaminated-web",
    "synthetic-2x",
)
#: Epoch 2024's historical growth of training-set size: 0.38 OOM/yr, 95% CI [0.27, 0.48]
#: (Villalobos et al. 2024, §2.3).
EPOCH2024_GROWTH_OOM = (0.38, 0.27, 0.48)
#: Sensitivity runs use at most this many joint draws each.
SENSITIVITY_DRAWS = 20_000
#: Columns of the report's forecast-skill table (pooled over origins, half-year maxima).
SKILL_COLUMNS = [
    "method",
    "horizon",
    "n",
    "coverage_50",
    "coverage_80",
    "coverage_80_low",
    "coverage_80_high",
    "coverage_95",
    "crps",
    "crps_low",
    "crps_high",
    "log_score",
    "width_80",
]
FIGURE_DPI = 120

QUESTION = (
    "When will the largest language-model training runs have used the whole effective "
    "stock of human-written public text? The toolkit projects the size of the largest "
    "training run (demand, Bayesian growth models fitted to notable models' training sets) "
    "and the usable stock of text (Monte Carlo over the indexed web, quality filtering, "
    "repetition and other levers), and reports the distribution of the first date at which "
    "demand reaches the stock over joint draws of both."
)

_CITATIONS = (
    'Epoch AI, "Data on Notable AI Models" (epoch.ai/data/notable-ai-models), licensed '
    "CC BY 4.0: training-set sizes, compute and dates of the bundled training-runs table.",
    "Villalobos, P., Ho, A., Sevilla, J., Besiroglu, T., Heim, L., Hobbhahn, M. (2024). "
    '"Will we run out of data? Limits of LLM scaling based on human-generated data." '
    "arXiv:2211.04325v2 (ICML 2024).",
)


def _silent(_msg: str) -> None:
    return None


# --- formatting helpers ------------------------------------------------------------------


_SHARE_WORDS = ("share", "coverage", "weight", "prob", "exhausted")
_YEAR_COLUMNS = {"median", "p10", "p90", "p2_5", "p97_5", "p5", "p95", "p25", "p75", "year"}


def _is_share(column: str) -> bool:
    """A probability or share column, shown in %: ``p_by_2030``, ``*_share``, coverage, weights."""
    name = column.lower()
    return name.startswith("p_by_") or any(word in name for word in _SHARE_WORDS)


def _is_year(column: str, v: float) -> bool:
    """A date column in decimal years (a median or interval end that looks like a year)."""
    name = column.lower()
    quantile = name.startswith("p") and name[1:].replace("_", "").isdigit()  # p10, p97_5
    dated = name in _YEAR_COLUMNS or quantile or "median" in name or "year" in name
    return dated and 1900.0 < v < 2300.0


def _fmt_cell(v, column: str = "") -> str:
    """A number for reading: dates to one decimal, shares in %, token counts as "36T",
    other numbers to 3-4 significant digits; NaN empty; booleans yes/no."""
    if v is None:
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer) and not isinstance(v, bool):
        return f"{int(v):,}" if abs(v) >= 10_000 else str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if not math.isfinite(v):
            return ""
        if _is_year(column, v):
            return f"{v:.1f}"
        if _is_share(column) and 0.0 <= v <= 1.0:
            return _pct(v)
        if "tokens" in column.lower() or abs(v) >= 1e9:
            return format_tokens(v)
        if column.lower().endswith("gain_years"):  # a change of date: signed
            return f"{v:+.2f}"
        if column.lower().startswith("r_hat"):  # against the 1.01 threshold: 1.011 fails
            return f"{v:.3f}"
        if abs(v) >= 1e5 or (abs(v) < 1e-3 and v != 0):
            return f"{v:.3g}"
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def _html_table(frame: pd.DataFrame, caption: str = "") -> Markup:
    def esc(text: str) -> str:
        return html.escape(terminal_text(text))

    head = "".join(f"<th scope='col'>{esc(str(c))}</th>" for c in frame.columns)
    body = []
    columns = [str(c) for c in frame.columns]
    for rec in frame.itertuples(index=False):
        cells = "".join(
            f"<td>{esc(_fmt_cell(v, c))}</td>" for v, c in zip(rec, columns, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return Markup(
        f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _md_table(frame: pd.DataFrame, caption: str = "") -> str:
    columns = [str(c) for c in frame.columns]

    def cell(v, column: str = "") -> str:
        return markdown_text(_fmt_cell(v, column)).replace("\n", " ")

    lines = [f"*{markdown_text(caption)}*", ""] if caption else []
    lines += [
        "| " + " | ".join(cell(c) for c in frame.columns) + " |",
        "|" + "|".join("---" for _ in frame.columns) + "|",
    ]
    lines += [
        "| " + " | ".join(cell(v, c) for v, c in zip(rec, columns, strict=True)) + " |"
        for rec in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


# --- content -----------------------------------------------------------------------------


def summary_frame(results) -> pd.DataFrame:
    """``summary.csv``: :func:`forecast.pipeline.compare` of the report's scenarios (every
    column numeric; NaN = after the horizon)."""
    from forecast.pipeline import compare

    return compare(results)


def growth_frame(demand) -> pd.DataFrame:
    """Demand growth per model (x/yr and OOM/yr, 95% intervals) beside Epoch 2024's."""
    weights = demand.weights()
    rows = []
    for name, fit in demand.fits.items():
        g = fit.growth_summary().set_index("statistic")
        w = weights.loc[name, "loo_weight"]
        rows.append(
            {
                "model": fit.model.label,
                "rows": fit.n_rows,
                "x/yr": f"{g.loc['growth_per_year', 'median']:.2f} "
                f"[{g.loc['growth_per_year', 'p2_5']:.2f}, {g.loc['growth_per_year', 'p97_5']:.2f}]",
                "OOM/yr": f"{g.loc['oom_per_year', 'median']:.3f} "
                f"[{g.loc['oom_per_year', 'p2_5']:.3f}, {g.loc['oom_per_year', 'p97_5']:.3f}]",
                "LOO weight": "n/a" if not np.isfinite(w) else f"{w:.2f}",
                "default weight": f"{weights.loc[name, 'default_weight']:.2f}",
            }
        )
    m, lo, hi = EPOCH2024_GROWTH_OOM
    rows.append(
        {
            "model": "Epoch 2024 (all notable models, bootstrap OLS)",
            "rows": "",
            "x/yr": f"{10**m:.2f} [{10**lo:.2f}, {10**hi:.2f}]",
            "OOM/yr": f"{m:.3f} [{lo:.3f}, {hi:.3f}]",
            "LOO weight": "n/a",
            "default weight": "",
        }
    )
    return pd.DataFrame(rows)


def _growth_sentence(demand, data_date: str) -> str:
    """The default demand's growth and its ingredients, against Epoch 2024's trend, in
    words; every number comes from the fits."""
    epoch = EPOCH2024_GROWTH_OOM[0]
    text = (
        f"Epoch 2024 estimated {epoch:.2f} OOM/yr [{EPOCH2024_GROWTH_OOM[1]:.2f}, "
        f"{EPOCH2024_GROWTH_OOM[2]:.2f}] for the largest training sets, from a bootstrap "
        "regression over all notable language models with data to early 2024."
    )
    recent = demand.models.loc[demand.models["year"] >= 2024.0, "tokens"].dropna()
    if len(recent):
        text += (
            f" The table, which runs to {data_date}, has {len(recent)} runs since 2024 that "
            f"publish their size, the largest {recent.max() / 1e12:.3g}T tokens."
        )
    v3 = demand.fits.get("compute-frontier")
    if v3 is not None:
        text += " " + _v3_sentence(v3)
    return text


def _v3_sentence(fit) -> str:
    """The default demand's compute, tokens per parameter and implied undisclosed sizes."""
    used = fit.model.usage(fit)
    edge = fit.posterior["compute_growth"].to_numpy().reshape(-1)
    g = np.quantile(edge, [0.1, 0.5, 0.9])
    ratio = used["tokens_per_parameter_at_data_date"]
    growth = {row["at"]: row for row in used["growth_oom_per_year"]}
    first = next(iter(growth))
    biggest = sorted(used["undisclosed"], key=lambda u: -u["compute_flop"])[:3]
    named = ", ".join(
        f"{u['model']} ~{u['tokens_median'] / 1e12:.0f}T (80% {u['tokens_p10'] / 1e12:.0f}-"
        f"{u['tokens_p90'] / 1e12:.0f}T)"
        for u in biggest
    )
    return (
        f"The default demand (v3) builds the largest run from its training compute: the "
        f"frontier's compute grows {g[1]:.2f} OOM/yr ({10 ** g[1]:.1f}x; 80% interval "
        f"{g[0]:.2f} to {g[2]:.2f}) in {len(used['compute_rows'])} runs with a compute figure "
        f"(Sevilla et al. 2024 assume about 4x, 0.6 OOM/yr), and the frontier's tokens per "
        f"parameter at the data date are {ratio['median']:.0f} (80% {ratio['p10']:.0f}-"
        f"{ratio['p90']:.0f}), from {len(used['ratio_rows'])} runs reporting both tokens and "
        f"compute ({len(used['censored'])} of them as bounds). Its largest run's training set "
        f"grows {growth[first]['oom_per_year']:.2f} OOM/yr over the year after the data date "
        f"(80% {growth[first]['oom_p10']:.2f} to {growth[first]['oom_p90']:.2f}). The same "
        f"model implies the sizes of undisclosed runs: {named}."
    )


REMEDY_COLUMNS = [
    "remedy",
    "verifier_accuracy",
    "median",
    "p10",
    "p90",
    "p2_5",
    "p97_5",
    "p_by_2030",
    "median_gain_years",
]


def _remedies_sentence(study) -> str:
    """What each remedy moves, computed from the study's table."""
    t = study.table.set_index("remedy")
    gain = t["median_gain_years"]
    synthetic = t[t["verifier_accuracy"].notna() & ~t.index.str.startswith("both")]
    both = t[t.index.str.startswith("both")]

    def years(v: float) -> str:
        return "an unknown amount (a median after the horizon)" if np.isnan(v) else f"{v:+.1f}"

    parts = []
    if "isolation" in t.index:
        parts.append(
            f"Isolation moves the median by {years(gain['isolation'])} years: it keeps AI "
            "text out by giving up the unverified text written since the cutoff, so it buys "
            "cleanliness, not time."
        )
    if len(synthetic):
        lo, hi = synthetic.iloc[0], synthetic.iloc[-1]
        parts.append(
            f"Verified synthetic data moves it by {years(lo['median_gain_years'])} years "
            f"(verifier accuracy {lo['verifier_accuracy']:g}) to "
            f"{years(hi['median_gain_years'])} years (accuracy {hi['verifier_accuracy']:g}); "
            f"P(exhausted by 2030) goes from {100 * t['p_by_2030'].iloc[0]:.0f}% to "
            f"{100 * hi['p_by_2030']:.0f}%."
        )
    if len(both):
        parts.append(f"Both together: {years(both['median_gain_years'].iloc[0])} years.")
    if study.results:
        parts.append(_multiplier_sentence(study.results[0]))
    parts.append("Differences below about 0.1 year are within Monte Carlo error.")
    return " ".join(parts)


def _multiplier_sentence(result) -> str:
    """What doubling the stock buys, from the result's own growth rates: log(k) /
    (demand growth - stock growth) in orders of magnitude per year."""
    demand = float(np.median(result.demand_growth_oom))
    bands = result.stock_bands
    start = float(bands["year"].iloc[0])
    later = bands.iloc[(bands["year"] - (start + 5.0)).abs().argmin()]
    span = float(later["year"]) - start
    stock = (
        math.log10(float(later["median"]) / float(bands["median"].iloc[0])) / span
        if span > 0
        else 0.0
    )
    text = "Multiplying the stock by k moves the date by log(k) / (demand growth - stock growth)"
    if demand <= stock:
        return text + "."
    return text + (
        f": with the largest run's training set growing {10**demand:.1f}x a year and the stock "
        f"{10**stock:.2f}x (medians over the next five years), doubling the stock moves the "
        f"date by about {math.log10(2.0) / (demand - stock):.1f} years."
    )


def _mc_sentence(sens: pd.DataFrame, draws: int, main=None) -> str:
    """What the sensitivity table's Monte Carlo error covers, from its numbers, beside the
    main scenario's total error."""
    finite = sens["mc_se"][np.isfinite(sens["mc_se"])]
    worst = f"at most {finite.max():.2f} years" if len(finite) else "not estimable"
    text = (
        f"Each median comes from {draws:,} joint draws; mc_se (the largest of the row's "
        f"three runs, from 20 batches of those draws) is {worst}. It is the projection's "
        "error only, given the one posterior sample of the demand fit every row shares; "
        "the sampling error of that posterior comes on top of it."
    )
    se = None if main is None else (main.mc_error or {}).get("median")
    if se is not None and math.isfinite(se):
        text += (
            f" The total Monte Carlo error of the {main.name} median, posterior sampling and "
            f"projection together, is ±{mc_error_text(se)} years at its {main.draws:,} draws."
        )
    return text + (
        " All runs share one seed and one posterior sample, so the differences between a "
        "row's medians are more precise than either."
    )


def _skill_sentence(study) -> str:
    """The issue-15 aims, met or missed, in words (:meth:`SkillStudy.aims`)."""
    aims = study.aims()
    parts = []
    if aims["n"]:
        verdict = "within" if aims["coverage_aim_met"] else "outside"
        parts.append(
            f"The default's 80% intervals covered {aims['coverage_80']:.0%} of {aims['n']} "
            f"half-year frontier maxima at horizons of 1-3 years ({verdict} the 70-90% aim)"
        )
    wins = [f"{h:g} y" for h, beaten in aims["crps_beaten_by"].items() if not beaten]
    losses = [
        f"{h:g} y (not below {', '.join(beaten)})"
        for h, beaten in aims["crps_beaten_by"].items()
        if beaten
    ]
    if wins or losses:
        parts.append(
            "its CRPS was below every baseline's at "
            + (", ".join(wins) if wins else "no horizon")
            + ("; " + "; ".join(losses) if losses else "")
        )
    if study.weights:
        w = ", ".join(f"{m} {v:.2f}" for m, v in study.weights.items())
        parts.append(f"stacking weights fitted on origins before {study.split.isoformat()}: {w}")
    unhealthy = study.diagnostics[~study.diagnostics["healthy"].astype(bool)]
    if len(unhealthy):
        parts.append(
            f"{len(unhealthy)} of {len(study.diagnostics)} origin fits failed the sampler-"
            f"health thresholds ({', '.join(sorted(set(unhealthy['origin'])))}); their "
            "scores are kept and flagged"
        )
    return "; ".join(parts) + "." if parts else "No half-year maxima to score."


# --- figures ------------------------------------------------------------------------------


def _figures(
    main, results, sens, demand, collapse, skill=None, remedies=None, glob=None
) -> list[tuple[str, str, str, Figure]]:
    """(file stem, title, caption, figure) of every figure, in report order.

    ``collapse`` is a dict: ``simulation`` (CollapseResult), ``linear``
    (LinearCollapseResult) and ``verification`` (the accuracy sweep)."""
    from forecast.plots import (
        plot_collapse_tails,
        plot_collapse_variance,
        plot_collapse_vocabulary,
        plot_demand_models,
        plot_diagnostics,
        plot_linear_collapse,
        plot_main,
        plot_prob_exhausted,
        plot_real_weight,
        plot_remedies,
        plot_sensitivity,
        plot_stock_waterfall,
        plot_verification,
    )

    sim = collapse["simulation"]

    figures = [
        (
            "main",
            "Training-set sizes, projected demand and stock, exhaustion dates",
            "Points: notable models' training sets. Blue: projected size of the largest run "
            "(median, central 50/80/95% bands). Green: effective stock of the main scenario "
            "(median, 90% band); dotted, in a scenario's colour: the stock of each compared "
            "scenario whose stock differs. Bottom: exhaustion-date median (diamond) and 80% "
            "interval (bar) per scenario; open circles are published medians.",
            plot_main(results),
        ),
        (
            "prob_exhausted",
            "Probability of exhaustion by year",
            _prob_caption(results),
            plot_prob_exhausted(results),
        ),
        *_compute_figure(main),
        (
            "stock_waterfall",
            "The stock, step by step",
            "Effective stock after each adjustment at the scenario start: bar = median, "
            "whisker = 90% interval; steps the scenario does not apply are omitted.",
            plot_stock_waterfall(main),
        ),
        *_global_figure(glob),
        (
            "sensitivity",
            "Sensitivity of the median exhaustion year",
            "Each lever moved to its low and high end with the others held at the scenario's "
            "values (same seed); levers sorted by swing.",
            plot_sensitivity(sens),
        ),
        (
            "demand_models",
            "Demand growth models",
            "Fitted trend (posterior median) and 80% posterior predictive band of each growth "
            "model; legend: growth per year (95% interval; for the random-walk slope, the rate "
            "at the last data date) and LOO stacking weight.",
            plot_demand_models(demand),
        ),
        (
            "diagnostics",
            "Sampler diagnostics",
            "Top: observed values against 80/95% posterior predictive intervals. Below: rank "
            "histograms per chain; flat lines near the dashed expectation mean the chains agree.",
            plot_diagnostics(demand),
        ),
        (
            "collapse_variance",
            "Model collapse: variance",
            "Training each generation on the previous model's output shrinks the fitted "
            "variance (replace); keeping real data (accumulate, mix) prevents it.",
            plot_collapse_variance(sim),
        ),
        (
            "collapse_tails",
            "Model collapse: tails",
            "Probability mass beyond 3 original standard deviations, relative to the original.",
            plot_collapse_tails(sim),
        ),
        (
            "collapse_vocabulary",
            "Model collapse: vocabulary",
            "Share of a Zipf vocabulary still produced after n generations.",
            plot_collapse_vocabulary(sim),
        ),
        (
            "collapse_linear",
            "Model collapse in linear regression: the closed forms",
            "Excess test error of least squares refitted on labels generated by the previous "
            "generation. Replacing the data grows the error linearly (n times generation 1); "
            "accumulating it stays below pi^2/6 times generation 1; a fixed training budget "
            "drawn from the accumulated data degrades slowly. Dotted: closed forms.",
            plot_linear_collapse(collapse["linear"]),
        ),
        (
            "collapse_verification",
            "Model collapse with a verifier",
            "The verify regime after the last generation at each verifier accuracy (0.5 = a "
            "coin flip, 1 = perfect); dotted: no verifier (replace).",
            plot_verification(collapse["verification"], generations=sim.settings["generations"]),
        ),
        (
            "collapse_real_weight",
            "The weight on real data that minimises the error",
            "Long-run error of an estimate refitted each generation on n fresh real and m "
            "synthetic samples, against the weight on the real ones (closed form); dots mark "
            "the minima, 61.8% (1/golden ratio) when m = n.",
            plot_real_weight(),
        ),
    ]
    if remedies is not None:
        figures.append(
            (
                "remedies",
                "What the remedies buy",
                "Exhaustion date per remedy on a web where AI-written text accumulates: dot = "
                "median, thick bar = 80% interval, thin = 95%; dotted line = no remedy. Same "
                "seed for every row, so the demand draws are shared.",
                plot_remedies(remedies),
            )
        )
    if skill is not None:
        from forecast.plots import plot_skill

        figures.append(
            (
                "skill",
                "Forecast skill out of sample",
                f"Leave-future-out study at {len(skill.origins)} half-yearly origins: each "
                "method refitted on what was known at the origin and scored on the largest "
                "disclosed run of the half-year ending 0.5-3 years later. Left: share inside "
                "the central 80% interval (grey band: the 70-90% aim); middle: CRPS; bars "
                "are 95% intervals resampling origins. Right: the default's PIT histogram.",
                plot_skill(skill),
            )
        )
    return figures


def _prob_caption(results) -> str:
    """The probability figure's caption, with why its curves start above zero (from the
    results' numbers)."""
    text = "Share of joint draws exhausted by the end of each year, per scenario."
    data_year = float(results[0].models["year"].max())
    at_data = [r for r in results if abs(float(r.scenario.start) - data_year) < 1e-3]
    if not at_data:
        return text
    first_year = math.floor(data_year)
    at_first = [float(r.exhaustion.prob_exhausted_by([first_year]).iloc[0]) for r in at_data]
    already = [float(r.exhaustion.already_exhausted_share) for r in at_data]
    if max(at_first) <= 0.0:
        return text

    def span(values: list[float]) -> str:
        lo, hi = min(values), max(values)
        return _pct(lo) if _pct(lo) == _pct(hi) else f"{_pct(lo)} to {_pct(hi)}"

    return text + (
        f" The curves start above zero: by the end of {first_year}, the year of the data "
        f"date ({results[0].data_date}), {span(at_first)} of the draws of the scenarios "
        f"starting there have run out; "
        f"{span(already)} already at the start, where demand is at or above the stock (the "
        "largest runs are already close to it), the rest in the months that follow."
    )


def _save_figure(fig: Figure, directory: Path, stem: str) -> bytes:
    """Write ``stem``.png (a 256-colour palette PNG, about a third of the size of
    matplotlib's RGBA one and indistinguishable for line art) and ``stem``.svg; returns
    the PNG bytes embedded in index.html."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    buf.seek(0)
    with Image.open(buf) as image:
        palette = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        out = io.BytesIO()
        palette.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    (directory / f"{stem}.png").write_bytes(png)
    # The PNG's draw laid the figure out; without its layout engine the SVG keeps that
    # layout and is drawn once instead of laid out and drawn again (issue 16).
    fig.set_layout_engine(None)
    # No creation date and element ids from a fixed salt instead of a random one: the
    # same report gives the same SVG bytes (no clock read, nothing random in the output).
    with matplotlib.rc_context({"svg.hashsalt": "forecast"}):
        fig.savefig(directory / f"{stem}.svg", format="svg", metadata={"Date": None})
    return png


# --- documents ------------------------------------------------------------------------------


TEMPLATES = Path(__file__).parent / "templates"
#: Years whose P(exhausted by) the first screen shows.
ANSWER_YEARS = (2028, 2030, 2035)


def _environment(fmt: str) -> jinja2.Environment:
    """The templates' environment: HTML autoescaped; Markdown text escaped by ``| t``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_visible,  # every value: control characters shown, never written raw
    )
    env.filters["t"] = (lambda text: text) if fmt == "html" else markdown_text
    env.filters["html_table"] = _html_table
    env.filters["md_table"] = _md_table
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env


def _visible(value):
    """A template value with its control characters made visible
    (:func:`forecast.safety.terminal_text`): a report is also read with ``cat``. Markup
    (the tables, built from cells that passed here) is left as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return terminal_text(value)
    return value


def _answer(main) -> dict:
    """The first screen: the date with its total Monte Carlo error, the intervals in words
    (each rounded to what its own error supports), why the lower ends are the data date
    when they are, P(by year)."""
    prob = main.exhaustion.prob_exhausted_by(list(ANSWER_YEARS))

    def end(key: str) -> str:
        return year_with_error(main, key, error=False)

    se = (main.mc_error or {}).get("median")
    error = (
        f"; Monte Carlo error ±{mc_error_text(se)} years"
        if se is not None and math.isfinite(se)
        else ""
    )
    head = (
        f"The largest training runs reach the effective stock of public human-written text "
        f"in {end('median')} (median{error}); 80% likely between {end('p10')} and "
        f"{end('p90')}, 95% between {end('p2_5')} and {end('p97_5')}."
    )
    note = start_note(main)
    if note:
        head += " " + note
    kpis = [("median exhaustion year", end("median"))]
    kpis += [(f"probability exhausted by the end of {y}", _pct(p)) for y, p in prob.items()]
    kpis.append(
        (
            f"not exhausted by {main.scenario.horizon:g}",
            _pct(main.exhaustion.not_exhausted_share),
        )
    )
    return {
        "head": head,
        "kpis": kpis,
        "meaning": main.exhaustion.meaning(),
        "precision": _precision_sentence(main),
    }


def _precision_sentence(main) -> str:
    """What the headline's Monte Carlo error covers, from the result's own estimate."""
    se = (main.mc_error or {}).get("median")
    if se is None or not math.isfinite(se):
        why = (
            "could not be estimated (a batch's median is after the horizon)"
            if main.mc_error
            else "was not estimated"
        )
        return f"The Monte Carlo error of these numbers {why}; they are rounded to one decimal."
    return (
        f"Monte Carlo error: one standard error of the median, ±{mc_error_text(se)} years, "
        f"from posterior sampling and the projection together (the fit's draws and the "
        f"{main.draws:,} joint draws, by {int(main.mc_error.get('batches', 0))} batch means); "
        "a fresh fit and run, e.g. on another machine, gives a median within about twice "
        "that. Every date is rounded to the decimals its own error supports."
    )


def _pct(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{100 * p:.1f}%" if 0 < 100 * p < 1 else f"{100 * p:.0f}%"


def _reach(sens: pd.DataFrame) -> pd.Series:
    """How far each lever moves the median from the scenario's (years, the farther of its
    two ends; a median after the horizon counts as the horizon), by row of ``sens``."""
    horizon = float(sens.attrs.get("horizon", 2100.0))
    base = sens["base_median"].fillna(horizon)
    low = (sens["median_low"].fillna(horizon) - base).abs()
    high = (sens["median_high"].fillna(horizon) - base).abs()
    return np.maximum(low, high)


def _move(r) -> str:
    """A lever's two ends in words: "2027.9 with 1 epoch, 2031.2 with 16 epochs"."""
    return f"{_year(r.median_low)} with {r.low_label}, {_year(r.median_high)} with {r.high_label}"


def _oat_sentence(sens: pd.DataFrame) -> str:
    """Which lever moves the median furthest from the scenario's, computed from the
    one-at-a-time table; when the tornado's order (by the swing between a lever's two
    ends) puts another lever first, that one too."""
    reach = _reach(sens)
    far = sens.loc[reach.idxmax()]
    swing = sens.iloc[0]  # sorted by swing (forecast.studies.sensitivity)
    text = (
        f"Moving one lever at a time from the scenario (the tornado below), {far['lever']} "
        f"moves the median furthest from the scenario's {_year(far['base_median'])}: "
        f"{_move(far)} ({reach.max():.1f} years)"
    )
    if swing["lever"] != far["lever"]:
        text += (
            f"; {swing['lever']} has the widest swing between its two ends ({_move(swing)}), "
            "which is what the tornado sorts by"
        )
    return text + "."


def _drivers(main, sens: pd.DataFrame) -> list[str]:
    """Three sentences on what drives the uncertainty, from the sensitivity table and the
    main result's interval."""
    out = []
    if len(sens):
        out.append(_oat_sentence(sens))
    if len(sens) >= 3:
        reach = _reach(sens)
        order = sens.assign(reach=reach).sort_values("reach", ascending=False, kind="stable")
        rows = list(order.itertuples(index=False))
        text = (
            f"Next come {rows[1].lever} ({_move(rows[1])}) and {rows[2].lever} ({_move(rows[2])})"
        )
        if len(rows) > 3:
            rest = max(r.reach for r in rows[3:])
            text += f"; every other lever moves it by at most {rest:.1f} years"
        out.append(text + ".")
    ey = main.exhaustion_year()
    if ey["median"] is not None and ey["p10"] is not None:
        early = ey["median"] - ey["p10"]
        late = "after the horizon" if ey["p90"] is None else f"{ey['p90'] - ey['median']:.1f}"
        out.append(
            f"The 80% interval is lopsided ({early:.1f} years before the median, {late} "
            "after): today's runs are already close to the stock, so a date cannot be much "
            "earlier, while the draws in which the largest run's growth slows (its compute "
            "meeting the power and chip limits, or fewer record runs) push it out by a decade "
            "or more. " + _multiplier_sentence(main)
        )
    return out


def _compute_sentence(main) -> str:
    """The compute at the crossing beside the 2030 limits ("" when demand has no compute)."""
    if main.compute_bands.empty:
        return ""
    from forecast.plots import plot_compute_data

    table = main.exhaustion.at_crossing()
    rows = table[table["quantity"] == "compute"].set_index("statistic")["value"]
    data = plot_compute_data(main).set_index("series")
    limit = data.loc["feasible largest run in 2030"]
    wall = float(data.loc["latency wall", "median"])
    text = (
        f"The largest run's training compute at the crossing is {rows['median']:.1e} FLOP "
        f"(median over exhausted draws; 80% interval {rows['p10']:.1e} to {rows['p90']:.1e}). "
        if len(rows) and math.isfinite(rows["median"])
        else ""
    )
    shares = main.ceiling_share_by_year()
    held = [
        f"{shares[y]['at_ceiling']:.0%} by {y}" for y in ("2030", "2035", "2040") if y in shares
    ]
    if held:
        text += (
            "Share of draws whose frontier compute is held at the feasibility ceiling: "
            f"{', '.join(held)}. "
        )
    return text + (
        f"The largest run the power and chips of 2030 can supply is {limit['median']:.1e} "
        f"FLOP (median; 80% interval {limit['p10']:.1e} to {limit['p90']:.1e}; Sevilla et "
        f"al. 2024), and no draw exceeds the latency wall of {wall:.0e} FLOP. For token "
        "trends the compute is the one their tokens imply at the scenario's tokens per "
        "parameter (6 D^2 / r)."
    )


def _compute_figure(main) -> list[tuple[str, str, str, Figure]]:
    """The training compute behind the main scenario's demand, beside physical limits
    (none when the result has no compute bands)."""
    if main.compute_bands.empty:
        return []
    from forecast.plots import plot_compute

    return [
        (
            "compute",
            "Training compute the demand implies, beside physical limits",
            "Blue: training compute of the projected largest run (median, central 80% and 95% "
            "bands); for demand v3 these are its own record runs, capped per draw by the "
            "feasibility ceiling. Orange: the largest run the power and chips available in "
            "2030 can supply (the lower of the two limits; median, 80% and 95% intervals; "
            "Sevilla et al. 2024, data/feasibility.csv). Dashed: the latency wall, a hard "
            "cap on every draw. Grey: notable models' recorded compute.",
            plot_compute(main),
        )
    ]


def _global_figure(glob) -> list[tuple[str, str, str, Figure]]:
    """The global analysis's figure (none when it did not run)."""
    if glob is None:
        return []
    from forecast.plots import plot_global_sensitivity

    s = glob.settings
    return [
        (
            "sensitivity_global",
            "Which assumption matters: share of the uncertainty of the median year",
            f"Every lever varied at once over its documented range ({s['evaluations']:,} "
            f"settings, {s['draws']:,} joint draws each on common random numbers). Bar: total "
            "Sobol index, the share of the median's variance a lever takes part in, alone or "
            "with others; dot: first-order index, the share learning it exactly would remove "
            f"on average; whiskers: {s['conf_level']:.0%} bootstrap intervals.",
            plot_global_sensitivity(glob),
        )
    ]


def _global_drivers(glob, sens: pd.DataFrame) -> list[str]:
    """Sentences on which lever carries the uncertainty, from the global analysis's numbers
    (largest total index first) and the one-at-a-time table's order."""
    ind = glob.indices
    inter = glob.interactions.set_index("output")
    med = ind[ind["output"] == "median"].reset_index(drop=True)
    top = med.iloc[0]
    level = f"{glob.settings.get('conf_level', 0.95):.0%}"
    first = (
        f"Varied together over their documented ranges, {top['lever']} carries the largest "
        f"share of the uncertainty about the median exhaustion year: its total Sobol index is "
        f"{top['ST']:.2f} ({level} interval {top['ST_low']:.2f} to {top['ST_high']:.2f}), the share "
        "of the median's variance it takes part in; learning it exactly would remove about "
        f"{max(top['S1'], 0.0):.0%} of that variance on average."
    )
    if len(med) >= 3:
        first += (
            f" Next come {med['lever'][1]} ({med['ST'][1]:.2f}) and {med['lever'][2]} "
            f"({med['ST'][2]:.2f})"
        )
        if len(med) > 3:
            first += f"; every other lever's total index is at most {med['ST'][3:].max():.2f}"
        first += "."
    out = [first]
    m = inter.loc["median"]
    verdict = (
        ", not distinguishable from none at this sample size"
        if m["interactions_low"] <= 0 <= m["interactions_high"]
        else ""
    )
    out.append(
        f"Interactions between levers carry {m['interactions']:.0%} of that variance (one "
        f"minus the sum of the first-order indices; {level} interval {m['interactions_low']:.0%} "
        f"to {m['interactions_high']:.0%}){verdict}: the rest is each lever's own effect."
    )
    by = [o for o in glob.outputs["output"] if str(o).startswith("p_by_")]
    if by:
        rows = ind[ind["output"] == by[0]].reset_index(drop=True)
        year = by[0].removeprefix("p_by_")
        order = ", ".join(f"{r.lever} ({r.ST:.2f})" for r in rows.head(3).itertuples())
        out.append(
            f"For the probability of exhaustion by the end of {year}, the largest total "
            f"indices are {order}; interactions carry {inter.loc[by[0], 'interactions']:.0%}."
        )
    if len(sens):
        oat = _oat_sentence(sens)
        far = str(sens["lever"].iloc[int(np.argmax(_reach(sens).to_numpy()))])
        if far != top["lever"]:
            oat += (
                " That differs from the global ranking: how far one lever moves the date "
                "with every other lever fixed says how far it can move the date, not how "
                "much of the uncertainty it carries, and it cannot see interactions."
            )
        out.append(oat)
    return out


def _global_table(glob) -> pd.DataFrame:
    """Per lever (largest total index for the median first): total and first-order index
    of the median, the total indices of the other outputs, and the lever's range."""
    ind = glob.indices
    med = ind[ind["output"] == "median"]
    table = med[["lever", "ST", "ST_low", "ST_high", "S1"]].rename(
        columns={
            "ST": "ST_median",
            "ST_low": "ST_median_low",
            "ST_high": "ST_median_high",
            "S1": "S1_median",
        }
    )
    for output in glob.outputs["output"][1:]:
        other = ind[ind["output"] == output].set_index("lever")["ST"]
        table[f"ST_{output}"] = table["lever"].map(other)
    ranges = glob.levers.set_index("lever")["distribution"]
    table["range"] = table["lever"].map(ranges)
    return table.reset_index(drop=True)


_SUMMARY_CAPTION = (
    "One row per scenario. median, p10-p90 (80% interval) and p2_5-p97_5 (95% interval) are "
    "decimal years, empty when after the horizon; p_by_Y is the probability of exhaustion by "
    "the end of year Y; not_exhausted_share is the share of draws with no crossing by the "
    "horizon; published_median is the number the scenario reproduces, if any."
)


def _template_context(ctx: dict) -> dict:
    """Every value the templates read, from the assembled report context."""
    main = ctx["main"]
    summary = ctx["summary"]
    keep = ["scenario", "median", "p10", "p90"] + [
        f"p_by_{y}" for y in ANSWER_YEARS if f"p_by_{y}" in summary
    ]
    meta = (
        f"forecast v{__version__} · generated {ctx['created']} · scenario {main.name} · "
        f"seed {main.seed} · {main.draws:,} joint draws · data as of {main.data_date}"
    )
    out = {
        "title": "When do LLM training sets exhaust the stock of human-written text?",
        "meta": meta,
        "css": Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        "reliable": main.reliable,
        "unreliable_text": (
            "WARNING: the demand fits failed the sampler-health thresholds (r_hat <= 1.01, "
            "bulk ESS >= 400, no divergences). The numbers below are unreliable; see the "
            "sampler diagnostics in the appendix and refit with more draws or tuning steps."
        ),
        "answer": _answer(main),
        "drivers": ctx["drivers"],
        "figures": ctx["figures"],
        "summary_table": summary[keep],
        "summary_caption": (
            "The scenarios compared (decimal years; p10-p90 is the 80% interval; p_by_Y is "
            "the probability of exhaustion by the end of year Y). Every column: the full "
            "table in the appendix and summary.csv."
        ),
        "summary_full": summary,
        "summary_full_caption": _SUMMARY_CAPTION,
        "sensitivity": ctx["sensitivity"],
        "sensitivity_caption": (
            "One lever at a time moved to its low and high end, every other lever at the "
            "main scenario's value, same seed: median_low and median_high are the median "
            "exhaustion years (decimal years) at the two ends, base_median the scenario's; "
            "mc_se is the largest Monte Carlo standard error of the row's medians (years; "
            "the projection's, given the fitted posterior)."
        ),
        "mc_sentence": _mc_sentence(ctx["sensitivity"], ctx["sensitivity_draws"], main),
        "global_table": None if ctx.get("global") is None else _global_table(ctx["global"]),
        "global_caption": (
            "Sobol indices per lever: ST_median is the total index of the median exhaustion "
            "year (with its 95% bootstrap interval), S1_median its first-order index; "
            "ST_p_by_2030 and ST_width80 are the total indices of P(exhausted by 2030) and of "
            "the 80% interval's width; range is the lever's distribution (sources: "
            "global_sensitivity.json)."
        ),
        "explorer_levers": (
            None
            if ctx.get("global") is None
            else "Which levers matter most for the median year (total Sobol index, above): "
            + ", ".join(
                f"{r.lever} {r.ST:.2f}"
                for r in ctx["global"].indices.query("output == 'median'").itertuples()
            )
            + "."
        ),
        "explorer": ctx.get("explorer"),
        "remedies": None,
        "question": QUESTION,
        "provenance": ctx["provenance"],
        "growth": ctx["growth"],
        "growth_caption": (
            "Growth of the training-set size per model: x/yr is the yearly factor and OOM/yr "
            "its log10 (posterior median [95% interval]); rows: training runs used; LOO "
            "weight: PSIS-LOO stacking weight (a diagnostic); default weight: weight in the "
            "default demand."
        ),
        "growth_sentence": ctx["growth_sentence"],
        "compute_sentence": ctx["compute_sentence"],
        "skill": None,
        "reproduction": None if ctx["reproduction"].empty else ctx["reproduction"],
        "reproduction_caption": (
            "Published medians beside this toolkit's for the same assumptions (decimal "
            "years). Epoch procedure median applies Epoch's quantile-clipping summary "
            "(independent marginals of demand and stock) to the same projections."
        ),
        "collapse_intro": (
            "A toy simulation of repeated refitting on model output (Shumailov et al. 2024) "
            "in four regimes: replace (train only on the previous model's output), "
            "accumulate (keep the real data and every synthetic set), mix (10% fresh real "
            "data each generation) and verify (synthetic samples kept or dropped by a "
            "verifier, Feng et al. 2024)."
        ),
        "collapse_linear_intro": (
            "The literature's exact results: linear regression (Dohmatob et al. 2024; "
            "Gerstgrasser et al. 2024; Kazdan et al. 2025), checked by simulation, and the "
            "weight on real data that minimises the long-run error (He, Xu and Cheng 2025)."
        ),
        "diagnostics": ctx["diagnostics"],
        "all_fits_healthy": bool(ctx["diagnostics"]["healthy"].astype(bool).all()),
        "diagnostics_caption": (
            "Sampler health of each demand fit. Thresholds: r_hat <= 1.01, bulk effective "
            "sample size >= 400, no divergent transitions; healthy is yes when all hold."
        ),
        "comparison": ctx["comparison"],
        "comparison_caption": (
            "PSIS-LOO comparison of the frontier models: elpd_loo is the expected log "
            "predictive density (higher is better), weight the stacking weight."
        ),
        "real_weight": ctx["real_weight"],
        "real_weight_caption": (
            "With n fresh real samples and m synthetic ones per generation: the weight on "
            "real data that minimises the long-run error and that error, in units of noise "
            "variance / n; pooling by count gives weight n / (n + m)."
        ),
        "citations": _CITATIONS,
        "reproducibility": (
            f"Random seed {main.seed}; {main.draws:,} joint draws per scenario; sensitivity "
            f"runs {ctx['sensitivity_draws']:,} draws each; forecast v{__version__}. Files: "
            "summary.json (the forecast run --json object plus 'compare'), summary.csv, "
            "skill.json (the forecast backtest --lfo --json object, when the study ran), "
            "remedies.json (the remedies study, when it ran), global_sensitivity.json (the "
            "forecast sensitivity --global --json object, when the analysis ran), "
            "figures/*.png and *.svg."
        ),
    }
    if ctx.get("remedies") is not None:
        study = ctx["remedies"]
        out["remedies"] = {
            "intro": _REMEDIES_INTRO,
            "table": study.table[REMEDY_COLUMNS],
            "caption": (
                "Exhaustion date per remedy on the contaminated web (decimal years; p10-p90 "
                "is the 80% interval, p2_5-p97_5 the 95%; p_by_2030 the probability of "
                "exhaustion by the end of 2030; median_gain_years the median minus the "
                "no-remedy median)."
            ),
            "sentence": _remedies_sentence(study),
        }
    if ctx["backtest"] is not None:
        out["skill"] = _skill_context(ctx["backtest"])
    return out


_REMEDIES_INTRO = (
    "The two remedies for model collapse, on the contaminated-web scenario (only the "
    "human-written share of text added since ChatGPT counts, which assumes AI text could be "
    "told apart perfectly): data isolation (only text collected before 2022-11-30 counts, "
    "plus a verified fraction of later human text, lognormal 90% [3%, 30%]) and verified "
    "synthetic data (ranges derived from published measurements, data/synthetic_data.csv; a "
    "verifier of accuracy a keeps a valid synthetic token with probability a and an invalid "
    "one with 1 - a, and invalid tokens count for nothing)."
)
_SKILL_CAPTION = (
    "Pooled over origins: coverage_50/80/95 is the share of outcomes inside the central "
    "50/80/95% interval (aim for 80%: 70-90%), with coverage_80_low/high its 95% bootstrap "
    "interval over origins; crps is the continuous ranked probability score in orders of "
    "magnitude (lower is better) with its interval; log_score the log predictive density "
    "(higher is better); width_80 the mean width of the 80% interval (orders of magnitude)."
)


def _skill_context(study) -> dict:
    """The forecast-skill study: one table and one figure in the body, the rest in the
    appendix."""
    table = study.summary()[SKILL_COLUMNS]
    body = [
        c for c in SKILL_COLUMNS if c not in ("coverage_50", "coverage_95", "crps_low", "crps_high")
    ]
    undisclosed = None
    if (study.pooled["target"] == "undisclosed").any():
        undisclosed = study.summary("undisclosed")[[*SKILL_COLUMNS[:6], "crps"]]
    # No stacking with one method, or without origins on both sides of the split.
    stacked = bool(len(study.stacking)) and study.split is not None
    return {
        "intro": (
            f"Every method is refitted on what was known before each of {len(study.origins)} "
            f"origins ({study.origins[0].isoformat()} to {study.origins[-1].isoformat()}, "
            "every half-year) and scored on the largest disclosed training run of the "
            "half-year ending 0.5, 1, 2 and 3 years later (each family's largest run, exact "
            f"sizes), pooled over origins with at least {study.min_history_years:g} years of "
            "history. The 50% and 95% coverages and the CRPS intervals are in the appendix "
            "and in skill.json."
        ),
        "table": table[body],
        "caption": _SKILL_CAPTION,
        "sentence": _skill_sentence(study),
        "runs": study.summary("runs")[[*SKILL_COLUMNS[:6], "crps"]],
        "runs_caption": (
            "Every method at every later run (each family's largest), one by one; columns "
            "as in the skill table."
        ),
        "all_methods": table,
        "undisclosed": undisclosed,
        "undisclosed_caption": (
            "The compute-implied sizes of undisclosed runs (model-derived, not "
            "observations); columns as in the skill table."
        ),
        "stacking": study.stacking if stacked else None,
        "stacking_caption": (
            "Stacking: weights fitted on the earlier origins' half-year maxima (windows "
            f"ending by {study.split.isoformat()}), scored on the later origins' only (mean "
            "log score, 80% coverage)."
            if stacked
            else ""
        ),
        "diagnostics": None if study.healthy else study.diagnostics,
        "diagnostics_caption": "Sampler health of the origin fits that failed a threshold.",
    }


def _documents(ctx: dict) -> tuple[str, str]:
    """(index.html, report.md), rendered from one context by the two templates."""
    values = _template_context(ctx)
    html_doc = _environment("html").get_template("report.html.j2").render(values)
    md_doc = _environment("md").get_template("report.md.j2").render(values)
    return html_doc, re.sub(r"\n{3,}", "\n\n", md_doc)


def _is_bundled_table(models: pd.DataFrame) -> bool:
    """Whether ``models`` holds the bundled training-runs table (the columns a fit reads:
    :func:`forecast.data.models_frame_hash`), however it was passed in."""
    from forecast.data import load_training_runs, models_frame_hash

    try:
        return models_frame_hash(models) == models_frame_hash(load_training_runs())
    except DataError:
        return False


def _provenance(main) -> str:
    """Where the training runs came from: the bundled table whenever the table the report
    used equals it (also when it was passed in as ``models``), else a user-supplied one."""
    source = (
        "the bundled training-runs table"
        if _is_bundled_table(main.models)
        else "a user-supplied models table"
    )
    n = len(main.models)
    with_tokens = int(main.models["tokens"].notna().sum())
    return (
        f"Training runs: {source}, {n} rows ({with_tokens} with a disclosed training-set "
        f"size), latest release {main.data_date}. Stock inputs: the bundled "
        "stock_estimates.csv (Epoch 2024 indexed-web stock and levers)."
    )


# --- the writer ------------------------------------------------------------------------------


#: Written into every report directory: ``--force`` replaces only directories holding it.
REPORT_MARKER = ".forecast-report"
#: Files of a report written before the marker existed (0.5.0), recognised as one.
_LEGACY_REPORT_FILES = frozenset(
    {"index.html", "report.md", "summary.json", "summary.csv", "skill.json", "figures"}
)


def _is_report(directory: Path) -> bool:
    """Whether ``directory`` holds an earlier report of this toolkit."""
    if (directory / REPORT_MARKER).is_file():
        return True
    names = {p.name for p in directory.iterdir()}
    return names <= _LEGACY_REPORT_FILES and {"index.html", "summary.json"} <= names


def check_output_dir(out_dir: Path, force: bool) -> None:
    """Refuse any target whose replacement could lose the user's files. ``out_dir`` is
    judged where it leads (:func:`forecast.persist.resolve_target`: links and ``..``
    resolved), which is where the report is written."""
    target = resolve_target(out_dir)
    here = Path.cwd().resolve()
    if target == here or target in here.parents or target == Path.home().resolve():
        raise ForecastError(
            f"refusing to write the report to {out_dir}: it is the current directory, one of "
            "its parents or the home directory; choose a new or empty directory"
        )
    if target.exists() and not target.is_dir():
        raise ForecastError(f"{out_dir} exists and is not a directory")
    parent = next((p for p in target.parents if p.exists()), None)
    if parent is not None and not (parent.is_dir() and os.access(parent, os.W_OK)):
        raise ForecastError(f"cannot write the report under {parent}: not a writable directory")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise ForecastError(
                f"{out_dir} exists and is not empty; use force=True (--force) to replace an "
                "earlier report there"
            )
        if not _is_report(target):
            raise ForecastError(
                f"{out_dir} holds files that are not a forecast report (no {REPORT_MARKER}); "
                "--force replaces only an earlier report: choose a new or empty directory"
            )


def _write_json(path: Path, payload) -> None:
    path.write_text(
        json.dumps(payload, indent=2, default=json_default, allow_nan=False) + "\n",
        encoding="utf-8",
    )


def _created() -> dt.date:
    """The page footer's "generated" date: ``$SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention, seconds since 1970 UTC) when set, so a rebuilt report is byte-identical;
    else today. No number of the report depends on it."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
        except (ValueError, OverflowError, OSError):
            raise ForecastError(
                f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}"
            ) from None
    return dt.date.today()


def _build(tmp: Path, ctx: dict) -> None:
    """Write every file of the report into ``tmp`` (an empty directory)."""
    (tmp / REPORT_MARKER).write_text(
        f"forecast {__version__} report; `forecast report --force` may replace this directory\n",
        encoding="utf-8",
    )
    figdir = tmp / "figures"
    figdir.mkdir()
    ctx["figures"] = {}
    for stem, title, caption, fig in ctx.pop("figure_objects"):
        ctx["progress"](f"rendering figure {stem}")
        png = _save_figure(fig, figdir, stem)
        ctx["figures"][stem] = {
            "title": title,
            "caption": caption,
            "data": base64.b64encode(png).decode("ascii"),
        }
    doc, md = _documents(ctx)
    payload = ctx["main"].to_json_dict()
    payload["compare"] = [r.to_json_dict() for r in ctx["compare"]]
    _write_json(tmp / "summary.json", payload)
    csv_frame(ctx["summary"]).to_csv(tmp / "summary.csv", index=False)
    if ctx.get("remedies") is not None:
        _write_json(tmp / "remedies.json", ctx["remedies"].to_json_dict())
    if ctx.get("global") is not None:  # the `forecast sensitivity --global --json` object
        _write_json(tmp / "global_sensitivity.json", ctx["global"].to_json_dict())
    if ctx["backtest"] is not None:  # the `forecast backtest --lfo --json` object
        _write_json(tmp / "skill.json", ctx["backtest"].to_json_dict())
    (tmp / "report.md").write_text(md, encoding="utf-8")
    (tmp / "index.html").write_text(doc, encoding="utf-8")


#: The settings of the report's model-collapse studies (every other setting, and the
#: seeds, are the functions' defaults).
COLLAPSE_STUDIES = {"simulation": {}, "linear": {"generations": 30}, "verification": {}}


def _collapse_studies() -> dict:
    """The report's model-collapse simulations (forecast.collapse, forecast.collapse.theory)."""
    import forecast.collapse.simulator as collapse_module
    import forecast.collapse.theory as theory

    return {
        "simulation": collapse_module.simulate(**COLLAPSE_STUDIES["simulation"]),
        "linear": theory.simulate_linear_regression(**COLLAPSE_STUDIES["linear"]),
        "verification": collapse_module.verification_sweep(**COLLAPSE_STUDIES["verification"]),
    }


def _collapse_cached(cache_dir=None, use_cache: bool = True) -> dict:
    """:func:`_collapse_studies`, which depend on nothing but the package (fixed settings
    and seeds): computed once, then read from the fit cache
    (:func:`~forecast.demand.value_cached`)."""
    from forecast.demand.cache import value_cached

    return value_cached(
        "collapse-studies",
        COLLAPSE_STUDIES,
        _collapse_studies,
        cache_dir,
        use_cache=use_cache,
        what="collapse studies",
    )


def _skill_study(models: pd.DataFrame, seed: int, say, fit_options: dict):
    """:func:`forecast.evaluation.skill.evaluate` with the report's settings, computed once per data,
    seed and sampler and then read from the fit cache (its fits are cached anyway; the
    study's scoring and bootstrap took most of a warm report's 4 s)."""
    from forecast.data import models_frame_hash
    from forecast.demand.cache import sampler_key, value_cached
    from forecast.evaluation.skill import evaluate, study_sampler

    inputs = {
        "data": models_frame_hash(models),
        "seed": seed,
        "sampler": sampler_key(study_sampler(fit_options["sampler"], seed)),
    }
    return value_cached(
        "skill",
        inputs,
        lambda: evaluate(models, seed=seed, progress=say, **fit_options),
        fit_options["cache_dir"],
        use_cache=fit_options["use_cache"],
        what="forecast-skill study",
    )


def _study_cached(name: str, what: str, scenario, demand, inputs: dict, compute, fit_options):
    """``compute()`` (a study on ``scenario`` and the fits of ``demand``), computed once
    per scenario, fits, data and ``inputs`` (seed, sizes), then read from the fit cache
    (:func:`~forecast.demand.value_cached`: exact JSON, the same bits). Fits that were not
    read from or filed in the cache have no key: the study is computed."""
    from forecast.data import models_frame_hash
    from forecast.demand.cache import value_cached

    keys = {n: fit._stored.attrs.get("forecast_key") for n, fit in demand.fits.items()}
    if not all(keys.values()):
        return compute()
    inputs = {
        "scenario": scenario.to_toml(),
        "fits": keys,
        "data": models_frame_hash(demand.models),
        **inputs,
    }
    return value_cached(
        name,
        inputs,
        compute,
        fit_options["cache_dir"],
        use_cache=fit_options["use_cache"],
        what=what,
    )


def _global_study(scenario, demand, seed: int, say, workers: int, fit_options: dict):
    """:func:`forecast.studies.global_sensitivity.global_sensitivity` at its defaults,
    cached by :func:`_study_cached` (its numbers do not depend on the number of workers)."""
    from forecast.studies import global_sensitivity as gs

    def compute():
        say(f"global sensitivity: Sobol indices on {max(1, workers)} Dask worker processes")
        return gs.global_sensitivity(
            scenario, demand, seed=seed, workers=max(1, workers), progress=say
        )

    inputs = {"n": gs.DEFAULT_N, "draws": gs.DEFAULT_DRAWS, "seed": seed}
    return _study_cached(
        "global-sensitivity",
        "global sensitivity analysis",
        scenario,
        demand,
        inputs,
        compute,
        fit_options,
    )


def _sensitivity_study(scenario, demand, draws: int, seed: int, say, workers, fit_options):
    """The one-at-a-time sensitivity (:func:`forecast.studies.sensitivity.sensitivity`),
    cached by :func:`_study_cached` (its table's ``attrs`` kept)."""
    from forecast.studies.sensitivity import DEFAULT_LEVERS, sensitivity

    def compute():
        say(f"sensitivity analysis: {1 + 2 * len(DEFAULT_LEVERS)} runs of {draws:,} draws")
        frame = sensitivity(scenario, demand, draws=draws, seed=seed, progress=say, workers=workers)
        return frame, dict(frame.attrs)

    frame, attrs = _study_cached(
        "sensitivity",
        "one-at-a-time sensitivity analysis",
        scenario,
        demand,
        {"draws": draws, "seed": seed, "levers": [str(lever) for lever in DEFAULT_LEVERS]},
        compute,
        fit_options,
    )
    frame.attrs.update(attrs)
    return frame


def _remedy_study(demand, draws: int, seed: int, say, workers, fit_options):
    """:func:`forecast.studies.remedies.what_remedies_buy` at its defaults, cached by
    :func:`_study_cached` (keyed by its base scenario, accuracies, draws and seed)."""
    from forecast.scenarios import load_scenario
    from forecast.studies import remedies as rm
    from forecast.studies.remedies import what_remedies_buy

    base = load_scenario(rm.REMEDY_BASE)

    def compute():
        return what_remedies_buy(demand, draws=draws, seed=seed, progress=say, workers=workers)

    return _study_cached(
        "remedies",
        "remedies study",
        base,
        demand,
        {
            "draws": draws,
            "seed": seed,
            "accuracies": list(rm.REMEDY_ACCURACIES),
            "both": rm.BOTH_ACCURACY,
        },
        compute,
        fit_options,
    )


@checked(
    out_dir=checks.path(),
    scenario=SCENARIO,
    compare=checks.sequence(SCENARIO),
    models=MODELS,
    demand=DEMAND,
    draws=checks.optional(checks.DRAWS),
    seed=checks.optional(checks.SEED),
    force=checks.flag(),
    backtest=checks.flag(),
    remedies=checks.flag(),
    explorer=checks.flag(),
    global_analysis=checks.flag(),
    sampler=checks.optional(checks.instance(SamplerConfig, "a SamplerConfig")),
    use_cache=checks.flag(),
    cache_dir=checks.optional(checks.path()),
    progress=checks.progress(),
    workers=checks.WORKERS,
)
def write_report(
    out_dir: str | os.PathLike,
    *,
    scenario="baseline",
    compare: Sequence = DEFAULT_COMPARE,
    models: pd.DataFrame | None = None,
    demand=None,
    draws: int | None = None,
    seed: int | None = None,
    force: bool = False,
    backtest: bool = True,
    remedies: bool = True,
    explorer: bool = True,
    global_analysis: bool = True,
    sampler=None,
    use_cache: bool = True,
    cache_dir=None,
    progress: Callable[[str], None] | None = print,
    workers: int = 2,
) -> Path:
    """Write the report directory and return its path.

    ``scenario``: the main scenario (name, TOML path or :class:`~forecast.scenarios.Scenario`);
    ``compare``: further scenarios shown beside it. ``demand``: a fitted
    :class:`~forecast.pipeline.DemandSet` (fitted from ``models``, default the bundled
    table, when omitted). ``draws`` / ``seed`` override every scenario's own values.
    ``backtest``: include the leave-future-out forecast-skill study
    (:func:`forecast.evaluation.skill.evaluate`; its fits are cached like every fit, and the study
    itself per data, seed and sampler, so only the first report pays for them).
    ``remedies``: include "What the remedies buy" (:func:`forecast.studies.remedies.what_remedies_buy`,
    at most 20,000 draws per remedy).
    ``global_analysis``: the Sobol indices of every lever at once
    (:func:`forecast.studies.global_sensitivity.global_sensitivity` at its defaults, on a
    LocalCluster of ``workers`` processes; cached like the skill study) as the main view of
    "What drives the uncertainty".
    ``explorer``: embed the interactive scenario explorer (:mod:`forecast.report.explorer`:
    2,000 joint draws of the baseline, recomputed in the page as the reader moves levers).
    ``sampler``, ``use_cache``, ``cache_dir``: as in :func:`~forecast.pipeline.fit_demand`,
    for every fit the report makes (the demand set when ``demand`` is omitted, and the
    forecast-skill study's origin fits).
    ``progress``: called with one-line messages on long steps (None = silent).
    ``workers``: threads for the scenario runs, and when above 1 the collapse studies run
    in one more beside them (numpy releases the GIL; the numbers do not depend on it).

    Refuses (:class:`~forecast.errors.ForecastError`) to write into an existing non-empty
    directory unless ``force``. Atomic: files are built in a temporary sibling directory
    renamed into place at the end; on failure the old directory is left untouched and
    the temporary one removed. ``out_dir`` is resolved once (a symbolic link: the
    directory it points to is replaced and the link stays; ``..`` as the system resolves
    it), and nothing but the report is left there. A write that fails (a full disk, ...)
    raises :class:`~forecast.errors.WriteError` naming the directory.
    """
    from forecast.collapse.theory import real_weight_table
    from forecast.pipeline import (
        check_inputs,
        diagnostics_frame,
        fit_demand,
        reproduction_table,
        run_scenarios,
    )
    from forecast.scenarios import load_scenario

    check_inputs(models, demand)
    say = progress or _silent
    fit_options = {"sampler": sampler, "use_cache": use_cache, "cache_dir": cache_dir}
    out_dir = Path(out_dir).expanduser().absolute()
    check_output_dir(out_dir, force)

    # Every scenario (and the draws and seed given) is checked before anything is fitted.
    changes = {k: v for k, v in (("draws", draws), ("seed", seed)) if v is not None}
    scenario, *compare = (
        load_scenario(s).with_overrides(**changes) if changes else load_scenario(s)
        for s in (scenario, *compare)
    )
    if demand is None:
        say("demand: the default fit (read from the fit cache when it was fitted before)")
        demand = fit_demand(models, **fit_options, progress=say)
    with ThreadPoolExecutor(max_workers=1) as background:
        # The collapse studies need nothing above and draw from their own seeds: with
        # workers > 1 they run beside the scenario runs (the same numbers either way).
        say("model-collapse simulation")
        cache = (cache_dir, use_cache)
        collapse_job = background.submit(_collapse_cached, *cache) if workers > 1 else None
        # One call: the compared scenarios that differ from the main one only in their
        # stock share its demand draws (same numbers as one run each).
        results = run_scenarios([scenario, *compare], demand, progress=say, workers=workers)
        main, *compared = results
        sens_draws = min(main.draws, SENSITIVITY_DRAWS)
        sens = _sensitivity_study(
            main.scenario, demand, sens_draws, main.seed, say, workers, fit_options
        )
        glob = None
        if global_analysis:
            glob = _global_study(main.scenario, demand, main.seed, say, workers, fit_options)
        collapse = collapse_job.result() if collapse_job else _collapse_cached(*cache)
    remedy_study = None
    if remedies:
        remedy_study = _remedy_study(
            demand, min(main.draws, SENSITIVITY_DRAWS), main.seed, say, workers, fit_options
        )
    skill = None
    if backtest:
        say("forecast skill: leave-future-out study (fits cached after the first run)")
        # The study's fit health is in its own table, so the per-fit warnings are
        # summarised once instead of printed one by one.
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", SamplingWarning)
            skill = _skill_study(demand.models, main.seed, say, fit_options)
        bad = int((~skill.diagnostics["healthy"].astype(bool)).sum())
        if bad:
            say(
                f"forecast skill: {bad} of {len(skill.diagnostics)} origin fits below the "
                "sampler-health thresholds (listed in the report)"
            )

    explorer_page = None
    if explorer:
        from forecast.report.explorer import explorer_draws, page_context

        say("scenario explorer: embedding 2,000 joint draws")
        base = load_scenario("baseline").with_overrides(**changes)
        explorer_page = page_context(explorer_draws(demand, base))

    # Every fit of the set, also those the main scenario does not use (the growth table's).
    diagnostics = diagnostics_frame(demand, list(demand.fits))
    comparison = demand.comparison.copy()
    sens_table = sens[
        ["lever", "low_label", "median_low", "high_label", "median_high", "base_median", "mc_se"]
    ].copy()
    ctx = {
        "main": main,
        "compare": compared,
        "created": _created().isoformat(),
        "summary": summary_frame(results),
        "reproduction": reproduction_table(results),
        "growth": growth_frame(demand),
        "growth_sentence": _growth_sentence(demand, main.data_date),
        "compute_sentence": _compute_sentence(main),
        "diagnostics": diagnostics,
        "comparison": comparison,
        "sensitivity": sens_table,
        "sensitivity_draws": sens_draws,
        "provenance": _provenance(main),
        "backtest": skill,
        "remedies": remedy_study,
        "explorer": explorer_page,
        "drivers": _drivers(main, sens)
        if glob is None
        else _global_drivers(glob, sens) + _drivers(main, sens)[-1:],
        "global": glob,
        "real_weight": real_weight_table(),
        "progress": say,
    }
    say("rendering figures")
    ctx["figure_objects"] = _figures(
        main, results, sens, demand, collapse, skill, remedy_study, glob
    )

    # Built in a temporary sibling, shared (0o755: the report is meant to be read by others).
    write_directory_atomic(
        out_dir,
        lambda tmp: _build(tmp, ctx),
        check=lambda d: check_output_dir(d, force),
        mode=0o755,
    )
    say(f"report written to {out_dir}")
    return out_dir
