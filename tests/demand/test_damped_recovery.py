"""DampedFrontierTrend (forecast/damped.py) on data simulated from its own generative model.

- :func:`test_recovers_known_frontier`: one synthetic table (disclosed, lower-bound and
  undisclosed runs, and runs reporting tokens and compute) with known trend, gap, noise and
  tokens-per-parameter trend; the posterior must cover the truth and exclude wrong values.
- :func:`test_simulation_based_calibration`: SBC (Talts et al. 2018, arXiv:1804.06788):
  parameters drawn from the prior (:meth:`DampedFrontierTrend.sample_prior`), data simulated
  from them, the model fitted; the rank of the true value among posterior draws must be
  uniform for every trend parameter.

Both sample for minutes: ``pytest -m slow -s tests/demand/test_damped_recovery.py`` (``-s`` prints
the intervals and the SBC summary).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecast.demand.damped import (
    COMPUTE_ESTIMATE_SD_OOM,
    LOG10_6,
    RATIO_LOG10_COMPUTE,
    RATIO_YEAR,
    DampedFrontierTrend,
)
from forecast.demand.model import SamplerConfig
from forecast.errors import SamplingWarning, ShortHistoryWarning
from forecast.units import decimal_years, from_decimal_year

MODEL = DampedFrontierTrend()

#: The trend, gap and noise of the recovery table.
TRUTH = {
    "long_run_rate": 0.4,
    "persistence": 0.7,
    "rate_innovation_sd": 0.1,
    "gap_scale": 0.3,
    "noise_sd": 0.05,
    "level_start": 11.0,
}
#: Tokens-per-parameter trend: rho = a + b (t - 2024) + c (log10 C - 25) + Normal(0, sd).
RATIO_TRUTH = {"intercept": 1.5, "time_slope": 0.15, "compute_slope": 0.1, "sd": 0.25}
#: The trend parameters checked by the SBC (one value per draw).
SBC_PARAMETERS = (
    "long_run_rate",
    "persistence",
    "rate_innovation_sd",
    "gap_scale",
    "noise_sd",
    "level_start",
)


# --- helpers ---------------------------------------------------------------------------


def _as_dates(raw_years: np.ndarray) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Dates of decimal years, and the decimal years of those dates (second resolution)."""
    dates = pd.DatetimeIndex([from_decimal_year(float(y)) for y in raw_years])
    return dates, np.asarray(decimal_years(dates), dtype=float)


def _frame(rows: list[dict]) -> pd.DataFrame:
    """A models frame (the columns :meth:`DampedFrontierTrend.select` reads)."""
    frame = pd.DataFrame(rows)
    dates, years = _as_dates(frame["raw_year"].to_numpy(dtype=float))
    frame = frame.drop(columns="raw_year")
    frame.insert(1, "date", dates.astype("datetime64[ns]"))
    frame.insert(2, "year", years)
    return frame


def _row(name: str, year: float, log10_tokens: float | None, **extra) -> dict:
    disclosed = log10_tokens is not None
    row = {
        "model": name,
        "raw_year": year,
        "tokens": 10.0**log10_tokens if disclosed else np.nan,
        "tokens_bound": "exact" if disclosed else np.nan,
        "compute_flop": np.nan,
        "compute_source": np.nan,
        "disclosure": "disclosed" if disclosed else "undisclosed",
        "family": name,  # one family per run unless stated otherwise
    }
    row.update(extra)
    return row


def _frontier(params: dict, years: np.ndarray) -> np.ndarray:
    """f (log10 tokens) of one parameter set at ``years``."""
    return MODEL._mean(params, np.asarray(years, dtype=float)[None, :])[0]


def _fit(models: pd.DataFrame, sampler: SamplerConfig):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        warnings.simplefilter("ignore", ShortHistoryWarning)
        return MODEL.fit(models, sampler)


def _draws(fit, name: str) -> np.ndarray:
    """Posterior draws (draw, ...) of one variable, chains pooled."""
    values = fit.posterior[name].to_numpy()
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def _interval(draws: np.ndarray, level: float) -> np.ndarray:
    a = (1.0 - level) / 2.0
    return np.quantile(draws, [a, 1.0 - a], axis=0)


# --- recovery of one known frontier ----------------------------------------------------


def recovery_table(seed: int = 20260101):
    """A synthetic models table 2018-2026 drawn from the model's generative story.

    Returns ``(models, truth)``; ``truth`` has the segments and their true rates, and the
    true log10 tokens of the undisclosed runs in the model's order (date, then name).

    - 60 disclosed runs with exact sizes and 6 published as lower bounds (a number
      0.05-0.4 OOM below the true size, marked "lower"): ``f(t) - gap + noise``;
    - 8 undisclosed runs with an estimated compute: true tokens from the frontier, the true
      compute from those tokens through the tokens-per-parameter trend, then an estimate
      error of :data:`COMPUTE_ESTIMATE_SD_OOM`;
    - 16 runs reporting tokens and compute (>= 1e24 FLOP) drawn from the
      tokens-per-parameter trend. They share the family of the largest disclosed run, so
      the one-run-per-family rule keeps them out of the frontier: they inform only the
      regression (``role_ratio``), which then conditions on compute as it assumes.
    """
    rng = np.random.default_rng(seed)
    t_first, t_last = 2018.05, 2025.95  # 8 segments: one compile for the table
    n_exact, n_lower, n_und, n_ratio = 60, 6, 8, 16
    n_front = n_exact + n_lower + n_und
    raw = np.concatenate([[t_first, t_last], rng.uniform(t_first, t_last, n_front - 2)])
    # Undisclosed runs are recent (compute estimates exist for 2021 onwards).
    raw[-n_und:] = np.sort(rng.uniform(2021.0, t_last, n_und))
    _, years = _as_dates(raw)
    starts, ends = MODEL.segments(years.min(), years.max())

    mu, phi = TRUTH["long_run_rate"], TRUTH["persistence"]
    sigma = TRUTH["rate_innovation_sd"]
    rates = np.empty(len(starts))
    rates[0] = mu + sigma / np.sqrt(1.0 - phi**2) * rng.standard_normal()
    for j in range(1, len(starts)):
        rates[j] = mu + phi * (rates[j - 1] - mu) + sigma * rng.standard_normal()
    params = {
        "level_start": np.array([[TRUTH["level_start"]]]),
        "rate": rates[None, :],
        "seg_start": starts,
        "seg_end": ends,
    }
    f = _frontier(params, years)
    gap = rng.exponential(TRUTH["gap_scale"], n_front)
    log10_tokens = f - gap + TRUTH["noise_sd"] * rng.standard_normal(n_front)

    a, b, c, sd = (RATIO_TRUTH[k] for k in ("intercept", "time_slope", "compute_slope", "sd"))
    rows = []
    for i in range(n_exact):
        rows.append(_row(f"exact-{i:02d}", raw[i], log10_tokens[i]))
    for i in range(n_exact, n_exact + n_lower):
        published = log10_tokens[i] - rng.uniform(0.05, 0.4)
        rows.append(_row(f"lower-{i:02d}", raw[i], published, tokens_bound="lower"))
    und_true = []
    for k, i in enumerate(range(n_exact + n_lower, n_front)):
        # log10 D = (L + rho - log10 6) / 2 with rho = a + b tau + c (L - 25) + eps.
        tau = years[i] - RATIO_YEAR
        eps = sd * rng.standard_normal()
        log10_compute = (
            2.0 * log10_tokens[i] + LOG10_6 - a - b * tau + c * RATIO_LOG10_COMPUTE - eps
        ) / (1.0 + c)
        estimate = log10_compute + COMPUTE_ESTIMATE_SD_OOM * rng.standard_normal()
        name = f"undisclosed-{k:02d}"
        rows.append(
            _row(
                name,
                raw[i],
                None,
                compute_flop=10.0**estimate,
                compute_source="estimate",
            )
        )
        und_true.append((years[i], name, log10_tokens[i]))

    largest = int(np.argmax(log10_tokens[:n_exact]))
    ratio_raw = rng.uniform(2020.0, t_last, n_ratio)
    _, ratio_years = _as_dates(ratio_raw)
    log10_compute = rng.uniform(24.0, 25.5, n_ratio)
    rho = (
        a
        + b * (ratio_years - RATIO_YEAR)
        + c * (log10_compute - RATIO_LOG10_COMPUTE)
        + sd * rng.standard_normal(n_ratio)
    )
    ratio_tokens = (log10_compute + rho - LOG10_6) / 2.0
    assert ratio_tokens.max() < log10_tokens[largest] - 0.1  # stays out of the frontier
    for k in range(n_ratio):
        rows.append(
            _row(
                f"ratio-{k:02d}",
                ratio_raw[k],
                ratio_tokens[k],
                compute_flop=10.0 ** log10_compute[k],
                compute_source="derived-6ND",
                family=f"exact-{largest:02d}",
            )
        )

    und_true.sort()
    truth = {
        "seg_start": starts,
        "rate": rates,
        "undisclosed_log10_tokens": np.array([v for *_, v in und_true]),
        "undisclosed_names": [n for _, n, _ in und_true],
    }
    return _frame(rows), truth


@pytest.mark.slow
def test_recovers_known_frontier():
    start = time.perf_counter()
    models, truth = recovery_table()
    rows = MODEL.select(models)
    front = rows[rows["role_frontier"]]
    assert len(front) == 74 and int(rows["role_ratio"].sum()) == 16
    assert not front["model"].str.startswith("ratio").any()
    assert front["model"][front["tokens"].isna()].tolist() == truth["undisclosed_names"]

    fit = _fit(models, SamplerConfig(draws=1000, tune=1000, chains=4, seed=7))
    np.testing.assert_allclose(fit.posterior["segment"].to_numpy(), truth["seg_start"], atol=1e-6)
    diag = fit.diagnostics()
    print(f"\nrecovery fit ({time.perf_counter() - start:.0f} s): {diag}")
    # Every check runs and prints before the test fails, so one run shows them all.
    failed = [] if diag.healthy else [f"unhealthy fit: {diag.problems}"]

    def check(ok: bool, message: str) -> None:
        if not ok:
            failed.append(message)

    def interval(name, true, draws, level=0.95):
        lo, hi = _interval(draws, level)
        print(f"  {name:<22} truth {true:7.3f}   {level:.0%} [{lo:7.3f}, {hi:7.3f}]")
        return lo, hi

    for name in ("long_run_rate", "gap_scale", "noise_sd"):
        lo, hi = interval(name, TRUTH[name], _draws(fit, name))
        check(lo <= TRUTH[name] <= hi, f"{name} {TRUTH[name]} outside [{lo:.3f}, {hi:.3f}]")
        if name == "gap_scale":  # clearly wrong gaps are excluded
            check(hi < 3.0 * TRUTH[name] and lo > TRUTH[name] / 3.0, f"{name} too wide")
        if name == "noise_sd":
            check(hi < 4.0 * TRUTH[name], f"{name} interval reaches {hi:.3f}")
    for name in ("persistence", "rate_innovation_sd", "level_start"):
        interval(name, TRUTH[name], _draws(fit, name))  # weakly identified: shown only
    for name, key in (
        ("ratio_intercept", "intercept"),
        ("ratio_time_slope", "time_slope"),
        ("ratio_compute_slope", "compute_slope"),
        ("ratio_sd", "sd"),
    ):
        interval(name, RATIO_TRUTH[key], _draws(fit, name))

    rate = _draws(fit, "rate")
    lo, hi = _interval(rate, 0.95)
    for j, start_year in enumerate(truth["seg_start"]):
        interval(f"rate from {start_year:.2f}", truth["rate"][j], rate[:, j])
    covered = (lo <= truth["rate"]) & (truth["rate"] <= hi)
    check(covered.mean() >= 0.8, f"segment rates covered: {covered.tolist()}")
    # The mean in-sample growth is pinned down (95% interval narrower than 0.2 OOM/yr).
    span = np.diff(truth["seg_start"], append=float(front["year"].max()))
    true_mean = truth["rate"] @ span / span.sum()
    lo_m, hi_m = interval("mean in-sample rate", true_mean, rate @ span / span.sum())
    check(lo_m <= true_mean <= hi_m, "mean in-sample rate not covered")
    check(hi_m - lo_m < 0.2, f"mean in-sample rate interval {hi_m - lo_m:.3f} OOM/yr wide")

    tokens = _draws(fit, "undisclosed_log10_tokens")
    true_tokens = truth["undisclosed_log10_tokens"]
    lo, hi = _interval(tokens, 0.90)
    for j, name in enumerate(truth["undisclosed_names"]):
        interval(name, true_tokens[j], tokens[:, j], 0.90)
    covered = (lo <= true_tokens) & (true_tokens <= hi)
    check(covered.sum() >= 6, f"undisclosed tokens covered: {covered.tolist()}")
    # ... by informative intervals (the median 90% interval narrower than 1 OOM).
    check(np.median(hi - lo) < 1.0, f"undisclosed intervals {np.median(hi - lo):.2f} OOM wide")
    print(f"recovery test: {time.perf_counter() - start:.0f} s")
    assert not failed, failed


# --- simulation-based calibration ------------------------------------------------------

#: Fixed design of the SBC tables: 25 disclosed runs with exact sizes, evenly spread over
#: 2019.1-2025.9 (7 segments, padded to 8: one compile serves every fit).
SBC_YEARS = np.linspace(2019.1, 2025.9, 25)
SBC_DATA_SETS = 150
SBC_THIN = 99  # posterior draws kept per fit: ranks 0..99
SBC_BINS = 10
SBC_SAMPLER = SamplerConfig(draws=800, tune=800, chains=2, escalate=False)
#: Tokens-per-parameter ratios of the 25 runs (fixed): each run's compute is 6 D^2 / 10^rho,
#: so runs of >= 1e24 FLOP are ratio rows. Without undisclosed runs the ratio regression
#: and the trend share no term of the likelihood, so their posteriors are independent.
SBC_RHO = 1.5 + 0.1 * (SBC_YEARS - RATIO_YEAR) + 0.2 * np.sin(np.arange(25.0))


def sbc_table(log10_tokens: np.ndarray) -> pd.DataFrame:
    compute = 6.0 * 10.0 ** (2.0 * log10_tokens - SBC_RHO)
    return _frame(
        [
            _row(
                f"sbc-{i:02d}",
                SBC_YEARS[i],
                log10_tokens[i],
                compute_flop=compute[i],
                compute_source="derived-6ND",
            )
            for i in range(len(SBC_YEARS))
        ]
    )


def sbc_ranks(n_sets: int = SBC_DATA_SETS, seed: int = 2018):
    """Ranks (data set, parameter) of the true values among SBC_THIN posterior draws, and
    each data set's true parameters and sampler diagnostics (a frame)."""
    rng = np.random.default_rng(seed)
    # The segments of the fixed design (the tokens only set the level anchor: 12). Not
    # exact SBC for level_start: each fit centres its level prior on its own data's
    # anchor (the largest run of the first year), not on this one.
    reference = MODEL.graph_values(MODEL.select(sbc_table(np.full(len(SBC_YEARS), 12.0))))
    _, years = _as_dates(SBC_YEARS)
    ranks = np.empty((n_sets, len(SBC_PARAMETERS)), dtype=int)
    records = []
    for k in range(n_sets):
        truth = MODEL.sample_prior(reference, 1, rng)
        f = _frontier(truth, years)
        gap = rng.exponential(1.0, len(years)) * truth["gap_scale"][0, 0]
        noise = truth["noise_sd"][0, 0] * rng.standard_normal(len(years))
        models = sbc_table(f - gap + noise)
        fit = _fit(models, replace(SBC_SAMPLER, seed=1000 + k))
        segments = fit.posterior["segment"].to_numpy()
        np.testing.assert_allclose(segments, truth["seg_start"], atol=1e-6)
        diag = fit.diagnostics()
        records.append({**{n: float(truth[n][0, 0]) for n in SBC_PARAMETERS}, **vars(diag)})
        for p, name in enumerate(SBC_PARAMETERS):
            draws = _draws(fit, name).reshape(-1)
            keep = draws[np.linspace(0, len(draws) - 1, SBC_THIN).round().astype(int)]
            ranks[k, p] = int(np.sum(keep < truth[name][0, 0]))
    return ranks, pd.DataFrame(records)


@pytest.mark.slow
def test_simulation_based_calibration():
    start = time.perf_counter()
    ranks, fits = sbc_ranks()
    elapsed = time.perf_counter() - start
    print(
        f"\nSBC: {len(ranks)} data sets of {len(SBC_YEARS)} runs, {SBC_THIN} of "
        f"{SBC_SAMPLER.chains * SBC_SAMPLER.draws} draws per fit, {SBC_BINS} bins, "
        f"{elapsed:.0f} s\n  fits with divergences: {int((fits['divergences'] > 0).sum())} "
        f"(median {fits['divergences'].median():.0f}), r_hat > 1.01: "
        f"{int((fits['r_hat_max'] > 1.01).sum())}, median of the fits' least bulk ESS: "
        f"{fits['ess_bulk_min'].median():.0f}"
    )
    expected = len(ranks) / SBC_BINS
    p_values = {}
    for p, name in enumerate(SBC_PARAMETERS):
        counts = np.bincount(ranks[:, p] * SBC_BINS // (SBC_THIN + 1), minlength=SBC_BINS)
        p_values[name] = stats.chisquare(counts, np.full(SBC_BINS, expected)).pvalue
        print(f"  {name:<20} chi2 p = {p_values[name]:.3f}   bins {counts.tolist()}")
    assert ranks.min() >= 0 and ranks.max() <= SBC_THIN
    # One test per parameter at 0.001: a family-wise false alarm rate under 1%.
    assert all(p >= 0.001 for p in p_values.values()), p_values
