"""Out-of-sample check of demand v3's two tuned settings on Epoch AI's data.

Demand v3 (:class:`forecast.demand.compute_frontier.ComputeFrontierTrend`) has two settings
that were set after looking at the leak-free skill study on the bundled table: the compute
edge's random walk (``edge_step_sd = 0.25``) and the tokens-per-parameter level's random
walk (``ratio_step_sd = 0.6``). By the project's rule, a choice made after looking at
scores must be judged on data it was not chosen on. This script fits v3 on Epoch AI's
"Notable AI Models" extract (releases to 2024-06 only), forecasts from the data date, and
scores the forecasts against what happened later:

- ``compute``: the record training compute (running maximum over language models,
  everything known before the origin included) at 2025.0, 2025.5, 2026.0, 2026.5 and the
  end of the compute file's coverage (2026-08), realised from Epoch's compute file
  (2023-01 to 2026-08); scored as the skill study scores it (``_v3_forecast``'s record with
  its 0.25 OOM measurement error, ``score_samples``).
- ``new records``: the number of runs that set a new record after the origin, by each date.
- ``frontier tokens``: the largest disclosed exact training set of each half-year after the
  origin, realised from the bundled table (``forecast.load_training_runs``), scored as the
  skill study's ``frontier`` target (``score_window_max`` / ``score_maximum``).
- ``ratio``: each post-origin run's tokens per parameter given its compute (bundled table,
  the skill study's ``ratio`` target).

Methods: v3 as tuned; v3 with the edge's walk off (``edge_step_sd = 0``, refitted: the
"straight edge" of the first v3 skill study); v3 with the ratio held in projection
(``ratio_step_sd = 0`` after fitting, i.e. ``tokens_per_parameter = "held"``); both off;
and the skill study's baselines (naive rule, OLS, Epoch's bootstrap) plus two baselines
of this script's own for compute (OLS through the record runs since 2010) and the record
count (Poisson at the rate of records in the 3 years before the origin). These two, the
origin, the dates and the spans were fixed before any score was seen.

What is new here is the *training* table (Epoch's rows and numbers, not the project's),
not the outcomes: the post-origin record runs (Grok 3, GPT-4.5, Grok 4) and the bundled
table's post-origin runs were in the bundled table when the settings were tuned, and the
skill study has an origin at 2024-07-01. One origin also means the dates share one
forecast: a handful of dependent cases, read as such.

Fits are made twice: on the whole extract, and on its releases since 2018-06-11 (the
bundled table's first release, the span the settings were tuned on). The second span was
added after the whole-extract fit was seen to fail its sampler-health checks (before any
forecast was scored).

    .venv/bin/python benchmarks/out_of_sample.py [--reference-dir DIR] [--json FILE]

Fits are cached under /tmp (never the user's cache). Takes a few minutes cold on 2 cores.
Exits 0 with a one-line message when the reference files are absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE_DIR = REPO.parent / "shared" / "reference"
EXTRACT_FILE = "epoch_notable_ai_models_to_2024-06.csv"
COMPUTE_FILE = "epoch_language_compute_2023-01_to_2026-08.csv"
#: Cache of this script's fits: under /tmp, never the user's forecast cache.
CACHE_DIR = pathlib.Path("/tmp/forecast-out-of-sample-cache")
#: The forecast origin: the extract's cut (its data date).
ORIGIN = pd.Timestamp("2024-06-30")
#: Dates at which the compute record and the record count are scored (the coverage end of
#: the compute file is added at run time).
TARGET_DATES: tuple[str, ...] = ("2025-01-01", "2025-07-01", "2026-01-01", "2026-07-01")
#: Half-year windows after the origin for the tokens targets: [start, end).
TOKEN_WINDOWS: tuple[tuple[str, str], ...] = (
    ("2024-07-01", "2025-01-01"),
    ("2025-01-01", "2025-07-01"),
    ("2025-07-01", "2026-01-01"),
    ("2026-01-01", "2026-07-01"),
)
#: Fit spans: None is the whole extract; a date keeps releases from it on.
SPANS: tuple[str | None, ...] = (None, "2018-06-11")
#: OLS-through-records baseline: record runs from this year on.
OLS_RECORDS_FROM = 2010.0
#: Record-count baseline: the rate of records in these years before the origin.
RECORD_RATE_YEARS = 3.0
SEED = 0

V3_TUNED = "v3 tuned"
V3_RATIO_HELD = "v3 ratio held"
V3_STRAIGHT = "v3 straight edge"
V3_UNTUNED = "v3 untuned"
V3_METHODS = (V3_TUNED, V3_RATIO_HELD, V3_STRAIGHT, V3_UNTUNED)
COMPUTE_METHODS = (V3_TUNED, V3_STRAIGHT, "naive", "ols-records")
COUNT_METHODS = (V3_TUNED, V3_STRAIGHT, "poisson-rate")
TOKEN_METHODS = (*V3_METHODS, "ols", "epoch-bootstrap", "naive")
RATIO_METHODS = (*V3_METHODS, "naive")


# --- pure functions (tested in tests/evaluation/test_out_of_sample.py) ---------------------


def missing_reference_files(reference_dir) -> list[pathlib.Path]:
    """The reference files this script needs that are not in ``reference_dir``."""
    folder = pathlib.Path(reference_dir)
    return [folder / name for name in (EXTRACT_FILE, COMPUTE_FILE) if not (folder / name).is_file()]


def read_compute_table(path) -> tuple[pd.DataFrame, list[str]]:
    """Epoch's language-compute file as ``model, organization, date, compute_flop,
    confidence, domain``, and a note per excluded row (no valid date, or no positive
    compute)."""
    raw = pd.read_csv(path)
    dates = pd.to_datetime(raw["Publication date"], errors="coerce")
    compute = pd.to_numeric(raw["Training compute (FLOP)"], errors="coerce")
    frame = pd.DataFrame(
        {
            "model": raw["Model"].astype(str),
            "organization": raw.get("Organization", pd.Series("", index=raw.index)).astype(str),
            "date": dates,
            "compute_flop": compute,
            "confidence": raw.get("Confidence", pd.Series("", index=raw.index)).astype(str),
            "domain": raw.get("Domain", pd.Series("", index=raw.index)).astype(str),
        }
    )
    bad = frame["date"].isna() | ~frame["compute_flop"].gt(0)
    notes = [
        f"excluded {m!r}: no valid date or no positive compute" for m in frame.loc[bad, "model"]
    ]
    return frame[~bad].sort_values(["date", "model"], kind="stable").reset_index(drop=True), notes


def realised_frontier(
    known: pd.DataFrame, later: pd.DataFrame, origin, dates: Sequence
) -> pd.DataFrame:
    """The realised compute record and the number of new record runs at each of ``dates``.

    ``known``: the fitted table (``model, date, compute_flop``); only its rows released
    before ``origin`` count (what was known at the origin). ``later``: the compute file;
    its rows before the origin join the origin's record (known then, even if the fitted
    table lacks them), its rows from the origin on are the outcomes. A run released on
    ``date`` counts at a target date ``T`` when ``date < T`` (the skill study's rule). A new
    record is a run above every earlier one (a tie is not a record); runs of one day are
    taken in increasing compute. Records are log10 FLOP.
    """
    origin = pd.Timestamp(origin)
    cols = ["model", "date", "compute_flop"]

    def rows(frame):
        out = frame[cols].copy()
        out["date"] = pd.to_datetime(out["date"])
        return out[out["compute_flop"].gt(0)]

    k, lat = rows(known), rows(later)
    pool = pd.concat([k[k["date"] < origin], lat[lat["date"] < origin]], ignore_index=True)
    if pool.empty:
        raise ValueError("no run with a compute figure before the origin")
    top = pool.loc[pool["compute_flop"].idxmax()]
    origin_record = float(np.log10(top["compute_flop"]))
    after = lat[lat["date"] >= origin].sort_values(["date", "compute_flop"], kind="stable")
    out = []
    for when in dates:
        when = pd.Timestamp(when)
        record, model, new = origin_record, str(top["model"]), []
        for r in after[after["date"] < when].itertuples():
            x = float(np.log10(r.compute_flop))
            if x > record:
                record, model = x, str(r.model)
                new.append(str(r.model))
        out.append(
            {
                "date": when,
                "origin_record": origin_record,
                "origin_model": str(top["model"]),
                "record": record,
                "record_model": model,
                "new_records": len(new),
                "new_record_models": ", ".join(new),
            }
        )
    return pd.DataFrame(out)


def record_count_paths(log_compute: np.ndarray) -> np.ndarray:
    """New records (draw, step) by each step of record paths ``log_compute`` (draw, step),
    the first column the record at the start: the number of strict increases so far."""
    steps = np.diff(np.asarray(log_compute, dtype=float), axis=1) > 1e-12
    return np.concatenate(
        [np.zeros((steps.shape[0], 1), dtype=int), np.cumsum(steps, axis=1)], axis=1
    )


def record_events(frame: pd.DataFrame, since: float = -math.inf) -> pd.DataFrame:
    """The runs that set a new compute record when released (a running maximum over the
    whole frame, strict), from decimal year ``since`` on."""
    comp = frame[frame["compute_flop"].gt(0)].sort_values(["date", "compute_flop"])
    x = np.log10(comp["compute_flop"].to_numpy(dtype=float))
    before = np.concatenate([[-np.inf], np.maximum.accumulate(x)[:-1]])
    new = comp[x > before]
    return new[new["year"] >= since]


def interval_summary(samples: np.ndarray) -> dict[str, float]:
    """Median and central 80% and 95% intervals of predictive samples."""
    q = np.quantile(np.asarray(samples, dtype=float), [0.025, 0.1, 0.5, 0.9, 0.975])
    return {"lo95": q[0], "lo80": q[1], "median": q[2], "hi80": q[3], "hi95": q[4]}


def dispersion_note(pits: Sequence[float]) -> str:
    """A plain reading of a handful of PIT values (not a test: they come from one origin)."""
    p = np.asarray([v for v in pits if np.isfinite(v)], dtype=float)
    if not len(p):
        return "nothing scored"
    high, low = int((p > 0.9).sum()), int((p < 0.1).sum())
    if high + low == 0 and np.all((p > 0.25) & (p < 0.75)):
        return "every outcome in the central 50%: wide for these outcomes (over-dispersed?)"
    if high and not low:
        return f"{high}/{len(p)} outcomes above the 80% band: too low and/or too narrow"
    if low and not high:
        return f"{low}/{len(p)} outcomes below the 80% band: too high and/or too narrow"
    if high and low:
        return f"{high} above and {low} below the 80% band: too narrow"
    return "outcomes inside the 80% band, not all in the central half"


# --- fits ----------------------------------------------------------------------------------


_STRAIGHT_EDGE: list[type] = []


def _straight_edge_class():
    """Demand v3 with ``edge_step_sd = 0`` (made once, on first use: PyMC stays unimported
    until a fit is needed)."""
    if _STRAIGHT_EDGE:
        return _STRAIGHT_EDGE[0]
    from forecast.demand.compute_frontier import ComputeFrontierTrend

    class StraightEdgeTrend(ComputeFrontierTrend):
        """Demand v3 without the edge's random walk (``edge_step_sd = 0``), the setting
        before the tuning. Its own compiled graph (the step sd is a graph constant)."""

        edge_step_sd = 0.0

        def structure(self, values):
            config, shapes = super().structure(values)
            return (config + "|edge_step_sd=0", shapes)

    _STRAIGHT_EDGE.append(StraightEdgeTrend)
    return StraightEdgeTrend


def tail_ess_min(fit) -> float:
    """The smallest tail ESS over the variables :meth:`DemandFit.diagnostics` checks."""
    from forecast import _compat

    _compat.settle_arviz_stamp()
    import arviz as az

    post = fit.posterior
    names = [n for n in post.data_vars if n != "changepoint" and post[n].size > 0]
    ess = _compat.as_dataset(az.ess(fit.idata, var_names=names, method="tail"))
    return float(min(ess[n].min() for n in names))


def fit_v3(models: pd.DataFrame, straight: bool, cache_dir: pathlib.Path, use_cache: bool):
    """Fit demand v3 (tuned, or with a straight edge) through the fit cache; returns the
    fit and its health and timing."""
    from forecast.demand.cache import cache_path, fit_cached, fit_key, model_code_hash
    from forecast.demand.compute_frontier import ComputeFrontierTrend
    from forecast.demand.model import SamplerConfig

    sampler = SamplerConfig(seed=SEED)  # the skill study's sampler (study_sampler)
    if straight:
        model = _straight_edge_class()()
        # The fit key hashes this script, not compute_frontier.py: key the folder by it.
        cache_dir = cache_dir / f"straight-edge-{model_code_hash(ComputeFrontierTrend())}"
    else:
        model = ComputeFrontierTrend()
    path = cache_path(model, fit_key(model, models, sampler), cache_dir)
    seconds_file = path.with_name(path.stem + ".seconds.json")
    cached = use_cache and path.exists()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_cached(model, models, sampler, cache_dir, use_cache=use_cache)
    seconds = time.perf_counter() - start
    if cached and seconds_file.exists():
        fit_seconds = json.loads(seconds_file.read_text())["seconds"]
    else:
        fit_seconds = seconds
        if use_cache:
            seconds_file.write_text(json.dumps({"seconds": seconds}))
    # A cached fit is rebuilt from its configuration (the base class): put our model back.
    fit = dataclasses.replace(fit, model=model)
    health = fit.diagnostics()
    messages = sorted(
        {
            str(w.message)[:240]
            for w in caught
            if w.category.__name__ in ("SamplingWarning", "ShortHistoryWarning")
            or "measured compute" in str(w.message)
        }
    )
    info = {
        "r_hat_max": health.r_hat_max,
        "ess_bulk_min": health.ess_bulk_min,
        "ess_tail_min": tail_ess_min(fit),
        "divergences": health.divergences,
        "healthy": health.healthy,
        "draws": fit.sampler.draws,
        "tune": fit.sampler.tune,
        "chains": fit.sampler.chains,
        "escalated": fit.sampler.escalated_from is not None,
        "fit_seconds": fit_seconds,
        "this_run_seconds": seconds,
        "read_from_cache": cached,
        "rows_compute": int(fit.rows["role_compute"].sum()),
        "rows_ratio": int(fit.rows["role_ratio"].sum()),
        "data_year": float(fit.model.data_year(fit)),
        "warnings": messages,
        "posterior": _posterior_summary(fit),
    }
    return fit, info


def _posterior_summary(fit) -> dict[str, list[float]]:
    post = fit.posterior
    out = {}
    for name in ("compute_growth", "edge_at_data_date", "ratio_at_data_date", "ratio_sd"):
        out[name] = [float(v) for v in np.quantile(post[name].to_numpy().ravel(), [0.1, 0.5, 0.9])]
    return out


def ratio_held(fit):
    """The fit projected with the tokens-per-parameter level held (no random walk after
    the data date): ``ratio_step_sd = 0`` on the projecting model only (the fit keeps the
    walk it was fitted with), the same as the ``tokens_per_parameter = "held"`` lever."""
    model = type(fit.model)()
    model.ratio_step_sd = 0.0
    return dataclasses.replace(fit, model=model)


# --- forecasts and scores ------------------------------------------------------------------


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([SEED, *keys]))


def _row(span, target, label, horizon, method, samples, realised, scores, unit, **extra):
    return {
        "span": span,
        "target": target,
        "date": label,
        "horizon": horizon,
        "method": method,
        **interval_summary(samples),
        "realised": float(realised),
        "pit": float(scores["pit"]),
        "in_80": bool(scores["in_80"]),
        "in_95": bool(scores["in_95"]),
        "crps": float(scores["crps"]),
        "log_score": float(scores.get("log_score", float("nan"))),
        "unit": unit,
        **extra,
    }


def ols_records_samples(known: pd.DataFrame, ends: np.ndarray, n: int, rng) -> np.ndarray:
    """OLS of log10 compute on year through the record runs since
    :data:`OLS_RECORDS_FROM` (the skill study's ``_ols_predictive``: parameters from their
    sampling distribution, Student-t residuals); the record never falls below the origin's."""
    from forecast.evaluation.skill import _ols_predictive

    events = record_events(known, OLS_RECORDS_FROM)
    frame = events.assign(tokens=events["compute_flop"])
    pred = _ols_predictive(frame, np.asarray(ends, dtype=float), n, rng)
    origin_record = float(np.log10(known["compute_flop"].max()))
    return np.maximum(pred.sample(rng), origin_record)


def compute_targets(span, fits, known, realised, ends, labels, horizons) -> list[dict]:
    """The compute record at each date: v3 (``_v3_forecast``'s record), the naive rule and
    OLS through the records, scored with ``score_samples`` (an atom at the origin's record)."""
    from forecast.evaluation.skill import N_DRAWS, _naive_forecast, _v3_forecast, score_samples

    origin_record = float(np.log10(known.loc[known["compute_flop"].gt(0), "compute_flop"].max()))
    train = known[known["tokens"].gt(0)]
    out = []
    for m, method in enumerate(COMPUTE_METHODS):
        rng = _rng(1, 0 if method.startswith("v3") else m)
        if method == V3_TUNED:
            samples = _v3_forecast(fits["tuned"], known, rng).record(ends)
        elif method == V3_STRAIGHT:
            samples = _v3_forecast(fits["straight"], known, rng).record(ends)
        elif method == "naive":
            samples = _naive_forecast(known, train, rng).record(ends)
        else:
            samples = ols_records_samples(known, ends, N_DRAWS, rng)
        for k, label in enumerate(labels):
            observed = float(realised.iloc[k]["record"])
            scores = score_samples(samples[:, k], observed, rng, atom=origin_record)
            out.append(
                _row(
                    span,
                    "compute record",
                    label,
                    horizons[k],
                    method,
                    samples[:, k],
                    observed,
                    scores,
                    "log10 FLOP",
                    realised_model=realised.iloc[k]["record_model"],
                )
            )
    return out


def count_targets(span, fits, known, realised, ends, labels, horizons) -> list[dict]:
    """New record runs after the data date by each date: v3's simulated record paths on
    its monthly lattice (one record per month at most, by construction), and a Poisson
    count at the rate of records in the :data:`RECORD_RATE_YEARS` before the origin."""
    from forecast.evaluation.skill import N_DRAWS, score_samples
    from forecast.units import to_decimal_year

    o_year = float(to_decimal_year(ORIGIN))
    out = []
    for m, method in enumerate(COUNT_METHODS):
        rng = _rng(2, 0 if method.startswith("v3") else m)
        if method.startswith("v3"):
            fit = fits["tuned" if method == V3_TUNED else "straight"]
            t_now = fit.model.data_year(fit)
            n_steps = math.ceil((max(ends) - t_now) * 12) + 1
            grid = t_now + np.arange(n_steps + 1) / 12.0
            _, log_compute = fit.model.simulate(fit, grid, N_DRAWS, rng)
            paths = record_count_paths(log_compute)
            idx = np.searchsorted(grid, np.asarray(ends) + 1e-9, side="right") - 1
            samples = paths[:, idx].astype(float)
        else:
            events = record_events(known, o_year - RECORD_RATE_YEARS)
            rate = len(events) / RECORD_RATE_YEARS
            samples = rng.poisson(rate * (np.asarray(ends) - o_year)[None, :], (N_DRAWS, len(ends)))
            samples = samples.astype(float)
        for k, label in enumerate(labels):
            observed = float(realised.iloc[k]["new_records"])
            scores = score_samples(samples[:, k], observed, rng, atom=observed)
            out.append(
                _row(
                    span,
                    "new records",
                    label,
                    horizons[k],
                    method,
                    samples[:, k],
                    observed,
                    scores,
                    "runs",
                    realised_model=realised.iloc[k]["new_record_models"],
                )
            )
    return out


def _variant(fits, method):
    return {
        V3_TUNED: fits["tuned"],
        V3_RATIO_HELD: ratio_held(fits["tuned"]),
        V3_STRAIGHT: fits["straight"],
        V3_UNTUNED: ratio_held(fits["straight"]),
    }[method]


def token_targets(span, fits, known, bundled) -> tuple[list[dict], list[dict]]:
    """The skill study's ``frontier`` target (each half-year's largest disclosed exact
    training set, bundled table) and ``ratio`` target (each run's tokens per parameter),
    for the half-years after the origin, from forecasts made at the origin."""
    from forecast.evaluation.skill import (
        WINDOW_MONTHS,
        _forecast,
        _naive_forecast,
        _ratio_items,
        _ratio_rows,
        _targets,
        _v3_forecast,
        _window_max_samples,
        score_maximum,
        score_window_max,
    )
    from forecast.units import to_decimal_year

    o_year = float(to_decimal_year(ORIGIN))
    train = known[known["tokens"].gt(0)]
    targets = _targets(bundled)
    exact = targets[targets["target"] == "exact"]
    ratio_rows = _ratio_rows(bundled)
    # Epoch's compute figures are all loaded as estimates; the naive ratio (like v3's
    # fallback) reads them as measured, else it would have no runs at all.
    known_measured = known.assign(compute_source="")
    frontier, ratio = [], []
    for m, method in enumerate(TOKEN_METHODS):
        rng = _rng(3, 0 if method.startswith("v3") else m)
        if method in V3_METHODS:
            fc = _v3_forecast(_variant(fits, method), known, rng)
        elif method == "naive":
            fc = _naive_forecast(known_measured, train, rng)
        else:
            fc = _forecast(method, {}, known, train, o_year, SEED, rng)
        for start, end in TOKEN_WINDOWS:
            start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
            label = f"{start}..{end}"
            horizon = round((to_decimal_year(end_ts) - o_year) * 2) / 2
            inside = exact[(exact["date"] >= start_ts) & (exact["date"] < end_ts)]
            if len(inside):
                y = np.log10(inside["tokens"].to_numpy(dtype=float))
                observed = float(y.max())
                top = inside.iloc[int(np.argmax(y))]["model"]
                if fc.runs is not None:
                    months = (
                        float(to_decimal_year(start_ts)) + (np.arange(WINDOW_MONTHS) + 0.5) / 12.0
                    )
                    pred, rate = fc.runs(months)
                    lam = 0.5 * np.asarray(rate, dtype=float)
                    scores = score_window_max(pred, lam, observed, rng)
                    lam_draws = np.broadcast_to(lam.reshape(-1), (pred.loc.shape[0],))
                    samples = _window_max_samples(pred, np.array(lam_draws, dtype=float), rng)
                else:
                    pred = fc.largest(np.array([float(to_decimal_year(end_ts))]))
                    scores = score_maximum(pred, observed, rng)
                    samples = pred.sample(rng).max(axis=1)
                frontier.append(
                    _row(
                        span,
                        "frontier tokens",
                        label,
                        horizon,
                        method,
                        samples,
                        observed,
                        scores,
                        "log10 tokens",
                        realised_model=top,
                        n_runs=len(inside),
                    )
                )
            if method in RATIO_METHODS and fc.ratio is not None:
                new = ratio_rows[(ratio_rows["date"] >= start_ts) & (ratio_rows["date"] < end_ts)]
                if len(new):
                    mean, sd = fc.ratio(
                        new["year"].to_numpy(dtype=float), new["log10_compute"].to_numpy()
                    )
                    base = {"span": span, "method": method, "window": label, "horizon": horizon}
                    ratio += _ratio_items(base, new, mean, sd, rng)
    return frontier, ratio


# --- the run -------------------------------------------------------------------------------


def pre_origin_check(extract: pd.DataFrame, compute: pd.DataFrame) -> list[str]:
    """Rows of the compute file released before the origin that the loaded extract lacks
    or gives another compute figure (same snapshot: there should be none)."""
    notes = []
    loaded = extract.set_index("model")["compute_flop"]
    for r in compute[compute["date"] < ORIGIN].itertuples():
        if r.model not in loaded.index:
            notes.append(f"{r.model!r} ({r.date.date()}) is not in the loaded extract")
        elif not np.isclose(float(loaded.loc[r.model]), r.compute_flop, rtol=1e-6):
            notes.append(
                f"{r.model!r}: extract {float(loaded.loc[r.model]):.3g} FLOP, "
                f"compute file {r.compute_flop:.3g}"
            )
    return notes


def run_span(span, extract, compute, bundled, dates, labels, cache_dir, use_cache, log):
    from forecast.data import dated
    from forecast.units import to_decimal_year

    models = extract if span is None else extract[extract["date"] >= pd.Timestamp(span)]
    models = models.reset_index(drop=True)
    name = "whole extract" if span is None else f"extract since {span}"
    fits, health = {}, {}
    for key, straight in (("tuned", False), ("straight", True)):
        log(f"[{name}] fitting demand v3 ({'edge_step_sd = 0' if straight else 'as tuned'}) ...")
        fits[key], health[key] = fit_v3(models, straight, cache_dir, use_cache)
        h = health[key]
        log(
            f"[{name}] {key}: {h['fit_seconds']:.0f} s"
            f"{' (read from cache now)' if h['read_from_cache'] else ''}, r_hat max "
            f"{h['r_hat_max']:.3f}, bulk ESS min {h['ess_bulk_min']:.0f}, tail ESS min "
            f"{h['ess_tail_min']:.0f}, divergences {h['divergences']}"
            f"{', escalated to 2x draws' if h['escalated'] else ''}"
        )
    known = dated(models)
    known = known[known["date"] < ORIGIN]
    realised = realised_frontier(known, compute, ORIGIN, dates)
    ends = np.array([float(to_decimal_year(d)) for d in dates])
    o_year = float(to_decimal_year(ORIGIN))
    horizons = [round(e - o_year, 2) for e in ends]
    t0 = time.perf_counter()
    rows = compute_targets(name, fits, known, realised, ends, labels, horizons)
    rows += count_targets(name, fits, known, realised, ends, labels, horizons)
    frontier, ratio = token_targets(name, fits, known, bundled)
    rows += frontier
    return {
        "span": name,
        "rows_in_fit": len(models),
        "health": health,
        "realised": realised,
        "rows": rows,
        "ratio_items": ratio,
        "forecast_seconds": time.perf_counter() - t0,
    }


# --- printing ------------------------------------------------------------------------------


def _fmt(v, unit):
    if unit == "runs":
        return f"{v:.0f}"
    return f"{v:.2f}"


def print_table(rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    for (span, target), g in frame.groupby(["span", "target"], sort=False):
        unit = g["unit"].iloc[0]
        print(f"\n--- {span}: {target} ({unit}) ---")
        head = (
            f"{'date':<22} {'method':<17} {'median':>7} {'80% interval':>15} "
            f"{'95% interval':>15} {'realised':>8} {'in80':>4} {'in95':>4} {'PIT':>5} "
            f"{'CRPS':>6} {'logS':>6}"
        )
        print(head)
        for label, d in g.groupby("date", sort=False):
            for r in d.itertuples():
                print(
                    f"{label:<22} {r.method:<17} {_fmt(r.median, unit):>7} "
                    f"{'[' + _fmt(r.lo80, unit) + ', ' + _fmt(r.hi80, unit) + ']':>15} "
                    f"{'[' + _fmt(r.lo95, unit) + ', ' + _fmt(r.hi95, unit) + ']':>15} "
                    f"{_fmt(r.realised, unit):>8} {'yes' if r.in_80 else 'NO':>4} "
                    f"{'yes' if r.in_95 else 'NO':>4} {r.pit:>5.2f} {r.crps:>6.3f} "
                    f"{'' if not np.isfinite(r.log_score) else f'{r.log_score:.2f}':>6}"
                )
            model = d["realised_model"].iloc[0]
            if model:
                print(f"{'':<22} realised: {model}")


def ratio_summary(items: list[dict]) -> pd.DataFrame:
    if not items:
        return pd.DataFrame()
    frame = pd.DataFrame(items)
    return (
        frame.groupby(["span", "method", "window"], sort=False)
        .agg(
            n=("crps", "size"),
            mean_pit=("pit", "mean"),
            coverage_80=("in_80", "mean"),
            coverage_95=("in_95", "mean"),
            crps=("crps", "mean"),
            log_score=("log_score", "mean"),
            width_80=("width_80", "mean"),
        )
        .reset_index()
    )


def ratio_pooled(items: list[dict]) -> pd.DataFrame:
    if not items:
        return pd.DataFrame()
    frame = pd.DataFrame(items)
    return (
        frame.groupby(["span", "method"], sort=False)
        .agg(
            n=("crps", "size"),
            mean_pit=("pit", "mean"),
            coverage_80=("in_80", "mean"),
            coverage_95=("in_95", "mean"),
            crps=("crps", "mean"),
            log_score=("log_score", "mean"),
            width_80=("width_80", "mean"),
        )
        .reset_index()
    )


def verdicts(rows: list[dict], ratio_items: list[dict]) -> list[dict]:
    """Per (span, target): each method's mean CRPS and coverage, the best method, and a
    reading of v3's PITs; tuned against untuned."""
    frame = pd.DataFrame(rows)
    out = []
    for (span, target), g in frame.groupby(["span", "target"], sort=False):
        by = (
            g.groupby("method", sort=False)
            .agg(
                crps=("crps", "mean"),
                in_80=("in_80", "sum"),
                in_95=("in_95", "sum"),
                n=("crps", "size"),
            )
            .sort_values("crps")
        )
        tuned = g[g["method"] == V3_TUNED]
        untuned_name = V3_STRAIGHT if target in ("compute record", "new records") else V3_UNTUNED
        out.append(
            {
                "span": span,
                "target": target,
                "ranking": [
                    {
                        "method": m,
                        "crps": float(r.crps),
                        "in_80": int(r.in_80),
                        "in_95": int(r.in_95),
                        "n": int(r.n),
                    }
                    for m, r in by.iterrows()
                ],
                "best": str(by.index[0]),
                "v3_tuned_rank": int(list(by.index).index(V3_TUNED)) + 1,
                "v3_tuned_pits": [float(p) for p in tuned["pit"]],
                "v3_tuned_reading": dispersion_note(tuned["pit"].tolist()),
                "tuned_minus_untuned_crps": float(by.loc[V3_TUNED, "crps"])
                - float(by.loc[untuned_name, "crps"]),
                "untuned": untuned_name,
            }
        )
    if ratio_items:
        pooled = ratio_pooled(ratio_items)
        for span, g in pooled.groupby("span", sort=False):
            g = g.set_index("method").sort_values("crps")
            items = pd.DataFrame(ratio_items)
            tuned = items[(items["span"] == span) & (items["method"] == V3_TUNED)]
            out.append(
                {
                    "span": span,
                    "target": "ratio (pooled runs)",
                    "ranking": [
                        {
                            "method": m,
                            "crps": float(r.crps),
                            "in_80": float(r.coverage_80),
                            "in_95": float(r.coverage_95),
                            "n": int(r.n),
                        }
                        for m, r in g.iterrows()
                    ],
                    "best": str(g.index[0]),
                    "v3_tuned_rank": int(list(g.index).index(V3_TUNED)) + 1,
                    "v3_tuned_pits": [float(np.mean(tuned["pit"]))],
                    "v3_tuned_reading": (
                        f"coverage 80% {g.loc[V3_TUNED, 'coverage_80']:.2f}, 95% "
                        f"{g.loc[V3_TUNED, 'coverage_95']:.2f}, mean PIT "
                        f"{g.loc[V3_TUNED, 'mean_pit']:.2f}, 80% width "
                        f"{g.loc[V3_TUNED, 'width_80']:.2f} OOM"
                    ),
                    "tuned_minus_untuned_crps": float(g.loc[V3_TUNED, "crps"])
                    - float(g.loc[V3_UNTUNED, "crps"]),
                    "untuned": V3_UNTUNED,
                }
            )
    return out


def print_verdicts(items: list[dict]) -> None:
    print("\n=== Verdicts (one origin: the dates share one forecast, so few effective cases) ===")
    for v in items:
        ranking = "; ".join(
            f"{r['method']} {r['crps']:.3f}"
            + (f" ({r['in_80']}/{r['n']} in 80%)" if isinstance(r["in_80"], int) else "")
            for r in v["ranking"]
        )
        print(f"\n[{v['span']}] {v['target']}: best by mean CRPS: {v['best']}")
        print(f"  mean CRPS (lower is better): {ranking}")
        print(
            f"  v3 tuned: rank {v['v3_tuned_rank']} of {len(v['ranking'])}; "
            f"{v['v3_tuned_reading']}; tuned - {v['untuned']} CRPS "
            f"{v['tuned_minus_untuned_crps']:+.3f} "
            f"({'tuned better' if v['tuned_minus_untuned_crps'] < 0 else 'untuned better'})"
        )


def _jsonable(value):
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso", double_precision=6))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", default=str(DEFAULT_REFERENCE_DIR))
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--cache-dir", default=str(CACHE_DIR), help="fit cache (under /tmp)")
    parser.add_argument("--no-cache", action="store_true", help="always sample, save nothing")
    args = parser.parse_args(argv)
    missing = missing_reference_files(args.reference_dir)
    if missing:
        print(
            f"out_of_sample: reference files not found ({', '.join(p.name for p in missing)} "
            f"in {args.reference_dir}); nothing to score."
        )
        return 0

    import forecast
    from forecast.units import to_decimal_year

    pd.set_option("display.width", 200)
    t_start = time.perf_counter()
    folder = pathlib.Path(args.reference_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extract = forecast.load_models(folder / EXTRACT_FILE)
        bundled = forecast.load_training_runs()
    compute, excluded = read_compute_table(folder / COMPUTE_FILE)
    coverage_end = compute["date"].max() + pd.Timedelta(days=1)
    dates = [pd.Timestamp(d) for d in TARGET_DATES if pd.Timestamp(d) <= coverage_end]
    dates.append(coverage_end)
    labels = [
        *(f"{d.date()} ({to_decimal_year(d):.1f})" for d in dates[:-1]),
        f"{coverage_end.date()} (end)",
    ]
    report = extract.attrs.get("load_report")
    print("Out-of-sample check of demand v3's tuned settings (edge_step_sd, ratio_step_sd)")
    print(f"extract: {report}")
    print(
        f"compute file: {len(compute)} rows kept, {len(excluded)} excluded"
        + (f" ({'; '.join(excluded)})" if excluded else "")
        + f"; coverage to {compute['date'].max().date()}"
    )
    for note in pre_origin_check(extract, compute):
        print(f"  pre-origin mismatch: {note}")
    print(f"origin {ORIGIN.date()}; extract's last release {extract['date'].max().date()}")

    cache_dir = pathlib.Path(args.cache_dir)
    results = []
    for span in SPANS:
        results.append(
            run_span(
                span, extract, compute, bundled, dates, labels, cache_dir, not args.no_cache, print
            )
        )

    print("\n=== Realised compute record (compute file + everything known before the origin) ===")
    print(results[0]["realised"].assign(date=[str(d.date()) for d in dates]).to_string(index=False))

    print("\n=== Sampler health and timings ===")
    for res in results:
        for key, h in res["health"].items():
            post = h["posterior"]
            print(
                f"{res['span']:<26} {key:<9} rows {res['rows_in_fit']} (compute "
                f"{h['rows_compute']}, ratio {h['rows_ratio']}), data date "
                f"{h['data_year']:.3f}; r_hat max {h['r_hat_max']:.3f}, bulk ESS min "
                f"{h['ess_bulk_min']:.0f}, tail ESS min {h['ess_tail_min']:.0f}, divergences "
                f"{h['divergences']}, {'healthy' if h['healthy'] else 'UNHEALTHY'}"
                f"{' (escalated: ' + str(h['draws']) + ' draws)' if h['escalated'] else ''}; "
                f"fit {h['fit_seconds']:.0f} s"
            )
            print(
                f"{'':<36} compute growth {post['compute_growth'][1]:.2f} OOM/yr "
                f"[{post['compute_growth'][0]:.2f}, {post['compute_growth'][2]:.2f}], "
                f"ratio sd {post['ratio_sd'][1]:.2f} OOM, edge now "
                f"{post['edge_at_data_date'][1]:.2f}, ratio now {post['ratio_at_data_date'][1]:.2f}"
            )
        print(f"{res['span']:<26} forecasts and scores {res['forecast_seconds']:.0f} s")

    rows = [r for res in results for r in res["rows"]]
    print_table(rows)
    ratio_items = [r for res in results for r in res["ratio_items"]]
    if ratio_items:
        print("\n--- ratio target: post-origin runs' log10 tokens per parameter (bundled) ---")
        print(ratio_summary(ratio_items).round(3).to_string(index=False))
        print(ratio_pooled(ratio_items).round(3).to_string(index=False))
    found = verdicts(rows, ratio_items)
    print_verdicts(found)
    total = time.perf_counter() - t_start
    print(f"\ntotal {total:.0f} s")
    if args.json:
        out = {
            "origin": ORIGIN.date().isoformat(),
            "dates": labels,
            "extract_load_report": str(report),
            "compute_excluded": excluded,
            "spans": [
                {k: v for k, v in res.items() if k not in ("rows", "ratio_items")}
                for res in results
            ],
            "rows": rows,
            "ratio_items": ratio_items,
            "verdicts": found,
            "seconds": total,
        }
        pathlib.Path(args.json).write_text(json.dumps(_jsonable(out), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
