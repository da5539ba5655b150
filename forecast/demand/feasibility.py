"""Physical limits of the largest training run, and the investment-winter stall.

``data/feasibility.csv`` holds the inputs with their sources (Sevilla et al. 2024, "Can AI
scaling continue through 2030?", Epoch AI; status S = secondary summaries, A = this
toolkit's assumption, as in ``data/stock_estimates.csv``):

- ``power_2030`` and ``chips_2030``: the largest run the power and the AI chips available
  to one developer can supply in 2030 (FLOP, lognormal); the binding one is the lower.
- ``feasible_growth_after_2030``: how fast both ceilings rise after 2030 (OOM/yr).
- ``latency_wall``: a hard cap (FLOP) no draw ever exceeds.
- ``stall_years`` and ``stall_start_latest``: the length of an investment winter and the
  window in which it can begin (the stall's probability is a scenario setting).

:class:`Feasibility` draws one ceiling path per trajectory: from the frontier at the data
date, a straight line in log10 FLOP to the draw's 2030 ceiling (a low 2030 ceiling slows
growth from today, it does not cut it in 2030), then the post-2030 growth, never above the
latency wall. :func:`compute_ceiling` evaluates it at any dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from forecast.stock.estimates import ParamSpec, load_stock_estimates, parameter_spec

__all__ = [
    "CEILING_YEAR",
    "FEASIBILITY_FILE",
    "Feasibility",
    "compute_ceiling",
    "feasibility_table",
    "latency_wall_log10",
]

FEASIBILITY_FILE = "feasibility.csv"
#: The year the published ceilings refer to.
CEILING_YEAR = 2030.0

_TABLE = None


def feasibility_table():
    """The inputs table (``data/feasibility.csv``), read and checked once per process."""
    global _TABLE
    if _TABLE is None:
        from forecast.data import bundled_path

        _TABLE = load_stock_estimates(bundled_path(FEASIBILITY_FILE))
    return _TABLE


def _spec(name: str) -> ParamSpec:
    return parameter_spec(feasibility_table(), name)


def latency_wall_log10() -> float:
    """log10 FLOP of the latency wall: no draw of any demand exceeds it."""
    return math.log10(_spec("latency_wall").central)


@dataclass(frozen=True)
class Feasibility:
    """Per-trajectory draws of the limits (log10 FLOP, OOM/yr, years).

    ``ceiling_2030``: the lower of the power and chip limits in 2030; ``growth_after``:
    their growth after 2030; ``stall_start`` and ``stall_years``: when an investment
    winter would begin and how long it lasts (used only where a trajectory stalls).
    """

    ceiling_2030: np.ndarray
    growth_after: np.ndarray
    stall_start: np.ndarray
    stall_years: np.ndarray

    @classmethod
    def draw(cls, n: int, data_year: float, rng: np.random.Generator) -> Feasibility:
        """``n`` draws, always consuming the same random numbers in the same order (so a
        lever switched on or off leaves every other draw unchanged)."""
        power = np.log10(_spec("power_2030").sample(n, rng))
        chips = np.log10(_spec("chips_2030").sample(n, rng))
        growth = _spec("feasible_growth_after_2030").sample(n, rng)
        latest = max(float(_spec("stall_start_latest").central), data_year)
        start = data_year + (latest - data_year) * rng.random(n)
        years = _spec("stall_years").sample(n, rng)
        return cls(np.minimum(power, chips), growth, start, years)


def compute_ceiling(
    feasibility: Feasibility, frontier_now: np.ndarray, data_year: float, years: np.ndarray
) -> np.ndarray:
    """log10 FLOP of the feasible largest run (draw, date) at decimal ``years`` after the
    data date: the line from ``frontier_now`` (log10 FLOP at ``data_year``, per draw) to
    the 2030 ceiling, then the post-2030 growth, capped by the latency wall."""
    years = np.asarray(years, dtype=float)[None, :]
    now = np.asarray(frontier_now, dtype=float)[:, None]
    c2030 = np.maximum(feasibility.ceiling_2030[:, None], now)
    span = max(CEILING_YEAR - data_year, 1e-9)
    before = now + (c2030 - now) * np.clip((years - data_year) / span, 0.0, 1.0)
    after = c2030 + feasibility.growth_after[:, None] * np.maximum(years - CEILING_YEAR, 0.0)
    ceiling = np.where(years <= CEILING_YEAR, before, after)
    return np.minimum(ceiling, latency_wall_log10())
