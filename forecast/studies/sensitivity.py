"""One-at-a-time sensitivity of the median exhaustion year to each lever.

:func:`sensitivity` re-runs a scenario with one lever at its low end, then at its high
end (every other lever at the scenario's value) and reports the median exhaustion year
of each run beside the base run's. :func:`forecast.plots.plot_sensitivity` draws it as a
tornado. The default levers and their ends (:data:`DEFAULT_LEVERS`):

=====================  ===============================  =================================
lever                  low end                          high end
=====================  ===============================  =================================
compute growth         0.35 OOM/yr (2.2x/yr)            0.7 OOM/yr (5x/yr)
tokens per parameter   Chinchilla (20)                  recent trend continued
feasibility ceiling    on (Sevilla et al. 2024)         off (no power, chip or latency limit)
investment winter      off                              a stall of 2-10 years (certain)
repetition epochs      1 epoch (no repetition)          16 epochs (Muennighoff: 10.6x unique)
quality fraction       fixed 0.1 of the web usable      fixed 0.4
stock growth           fixed 1.0/yr (no new text)       fixed 1.15/yr
consent restriction    off                              constant 45% of the web closed
AI contamination       off                              on (Graphite 2025 path)
synthetic data         off                              synthetic-2x table (2x stock cap)
=====================  ===============================  =================================

The demand levers are demand v3's (the default): its compute growth (the fitted rate is
about 0.5 OOM/yr; Sevilla et al. 2024 assume 4x, 0.6), its tokens per parameter (the
frontier's level with its random walk by default), the physical ceiling and an investment
winter (``investment-winter``).
Every run uses the same seed, so differences come from the lever, not from sampling noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecast.errors import ForecastError, ScenarioError
from forecast.scenarios import Scenario, load_scenario

__all__ = ["DEFAULT_LEVERS", "Lever", "sensitivity"]


@dataclass(frozen=True)
class Lever:
    """A lever and the dotted scenario overrides (``Scenario.with_overrides``) of its ends."""

    name: str
    low_label: str
    low: dict = field(default_factory=dict)
    high_label: str = ""
    high: dict = field(default_factory=dict)


_SYNTHETIC_2X = {"ratio": 2.0, "efficiency": 0.5, "cap": 2.0}

#: The default levers (see the module docstring for the sources of each end).
DEFAULT_LEVERS: tuple[Lever, ...] = (
    Lever(
        "compute growth",
        "0.35 OOM/yr",
        {"demand.compute_growth": 0.35},
        "0.7 OOM/yr",
        {"demand.compute_growth": 0.7},
    ),
    Lever(
        "tokens per parameter",
        "Chinchilla (20)",
        {"demand.tokens_per_parameter": "chinchilla"},
        "trend continued",
        {"demand.tokens_per_parameter": "trend"},
    ),
    Lever(
        "feasibility ceiling",
        "on",
        {"demand.feasibility": "sevilla2024"},
        "off",
        {"demand.feasibility": "none"},
    ),
    Lever(
        "investment winter",
        "none",
        {"demand.stall_probability": 0.0},
        "a stall",
        {"demand.stall_probability": 1.0},
    ),
    Lever(
        "repetition epochs",
        "1 epoch",
        {"stock.repetition": "muennighoff", "stock.epochs": 1},
        "16 epochs",
        {"stock.repetition": "muennighoff", "stock.epochs": 16},
    ),
    Lever(
        "quality fraction",
        "0.1",
        {"stock.quality_fraction": 0.1},
        "0.4",
        {"stock.quality_fraction": 0.4},
    ),
    Lever(
        "stock growth",
        "1.0/yr",
        {"stock.stock_growth": 1.0},
        "1.15/yr",
        {"stock.stock_growth": 1.15},
    ),
    Lever(
        "consent restriction",
        "off",
        {"stock.consent_restriction": False},
        "45% closed",
        {"stock.consent_restriction": 0.45},
    ),
    Lever(
        "AI contamination",
        "off",
        {"stock.contamination": False},
        "on",
        {"stock.contamination": True},
    ),
    Lever(
        "synthetic data",
        "off",
        {"stock.synthetic": False},
        "2x",
        {"stock.synthetic": dict(_SYNTHETIC_2X)},
    ),
)


def _pick_levers(levers) -> list[Lever]:
    if levers is None:
        return list(DEFAULT_LEVERS)
    by_name = {lv.name: lv for lv in DEFAULT_LEVERS}
    out = []
    for lv in levers:
        if isinstance(lv, Lever):
            out.append(lv)
        elif lv in by_name:
            out.append(by_name[lv])
        else:
            raise ForecastError(
                f"unknown sensitivity lever {lv!r}; use a Lever or one of {', '.join(by_name)}"
            )
    return out


def _median(result) -> tuple[float, float]:
    """Median exhaustion year and its Monte Carlo standard error (years)."""
    return float(result.quantile(0.5)), result.quantile_mc_se(0.5)


def _data_date(demand) -> str | None:
    if demand is None:
        return None
    return pd.Timestamp(demand.models["date"].max()).date().isoformat()


def sensitivity(
    scenario: str | Scenario,
    demand,
    levers: Sequence[Lever | str] | None = None,
    draws: int = 20_000,
    seed: int = 0,
    *,
    progress: Callable[[str], None] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Median exhaustion year with each lever at its low and high end.

    Returns one row per lever: ``lever``, ``low_label``, ``high_label``, ``median_low``,
    ``median_high``, ``base_median`` (decimal years; NaN = after the horizon), ``swing``
    (``|median_high - median_low|``, horizon in place of NaN), ``mc_se`` (the largest
    Monte Carlo standard error of the three medians, years, from 20 batches; +inf when a
    batch's median is after the horizon), sorted by swing, largest first. ``attrs`` hold
    scenario, draws, seed, horizon and data_date. ``workers`` > 1 runs the levers on demand
    in threads beside those on the stock (the same numbers).
    """
    from forecast.pipeline import check_inputs, simulate_exhaustions

    check_inputs(demand=demand)
    base_scenario = load_scenario(scenario).with_overrides(draws=int(draws), seed=int(seed))
    say = progress or (lambda _m: None)
    chosen, runs = [], [base_scenario]
    for lv in _pick_levers(levers):
        try:
            ends = [base_scenario.with_overrides(**changes) for changes in (lv.low, lv.high)]
        except ScenarioError as exc:
            if levers is not None:  # asked for by name: an error, not a silent skip
                raise
            say(f"sensitivity: lever '{lv.name}' does not apply to this scenario ({exc})")
            continue
        chosen.append(lv)
        runs += ends
    say(f"sensitivity: '{base_scenario.name}' and {len(chosen)} levers at both ends")
    # One call: the runs whose demand is the base's (levers on the stock) share its draws.
    results = iter(simulate_exhaustions(runs, demand, progress=say, workers=workers))
    base_median, base_se = _median(next(results))
    horizon = float(base_scenario.horizon)
    rows = []
    for lv in chosen:
        medians, errors = {}, [base_se]
        for end in ("low", "high"):
            medians[end], se = _median(next(results))
            errors.append(se)
        lo = medians["low"] if np.isfinite(medians["low"]) else np.nan
        hi = medians["high"] if np.isfinite(medians["high"]) else np.nan
        swing = abs(np.nan_to_num(hi, nan=horizon) - np.nan_to_num(lo, nan=horizon))
        rows.append(
            {
                "lever": lv.name,
                "low_label": lv.low_label,
                "high_label": lv.high_label,
                "median_low": lo,
                "median_high": hi,
                "base_median": base_median,
                "swing": swing,
                "mc_se": max(errors),
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs.update(
        {
            "scenario": base_scenario.name,
            "draws": int(draws),
            "seed": int(seed),
            "horizon": horizon,
            "data_date": _data_date(demand),
        }
    )
    return frame
