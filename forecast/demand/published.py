"""Published demand projections, reproduced from their stated inputs (no fit).

- :func:`epoch2022_tokens`: Villalobos et al. 2022's historical projection (v1 code,
  ``v1/src/datasets/*.squiggle``): growth Normal with 90% interval 0.265-0.392 OOM/yr,
  from 2e12 words "as of October 2022".
- :func:`epoch2024_compute`: the compute half of Villalobos et al. 2024 (P24 Eq. 4):
  the largest run's training compute, anchored where P24 puts full use of the stock
  (Fig. 1 and 5 captions: "~4e14 tokens, ~5e28 FLOP" in 2028), growing along the
  historical trend, with investment uncertainty. Epoch's own samples (Besiroglu, Heim and
  Sevilla 2022, ``data/compute_projection.csv``) are not public offline, so the spread is
  this toolkit's reconstruction (constants below, status A).
- :func:`epoch2030_compute`: Sevilla et al. 2024 ("Can AI scaling continue through
  2030?"): compute of the largest run growing about 4x per year from the 2025 frontier.

Each returns draws (draw, year) of log10 FLOP; tokens follow by Chinchilla allocation
(:func:`forecast.units.tokens_from_compute`), with the scenario's overtraining.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from forecast.units import words_to_tokens

__all__ = [
    "EPOCH2022_GROWTH_OOM_90",
    "EPOCH2024_ANCHOR",
    "EPOCH2030_ANCHOR",
    "epoch2022_tokens",
    "epoch2024_compute",
    "epoch2030_compute",
]

_Z90 = NormalDist().inv_cdf(0.95)

#: Epoch 2022's growth, 90% interval in OOM/yr, and its start.
EPOCH2022_GROWTH_OOM_90 = (0.265, 0.392)
EPOCH2022_START_WORDS = 2e12
EPOCH2022_START_YEAR = 2022.75

#: Epoch 2024's compute anchor: (decimal year, FLOP) where P24 puts full use of the stock
#: for compute-optimal runs (~5e28 FLOP in 2028; Fig. 1 and 5).
EPOCH2024_ANCHOR = (2028.0, 5e28)
#: Growth of that compute projection, OOM/yr (90% interval): the 2010-2024 frontier trend
#: Epoch reports (4-5x/yr = 0.6-0.7 OOM/yr; Sevilla and Roldan 2024) down to 2.5x/yr
#: (0.4 OOM/yr) for the slowdown Besiroglu et al. 2022 project toward 2030 (P24: "tracks
#: the historical trend until around 2030, then slows"). Status A: a reconstruction.
EPOCH2024_GROWTH_OOM_90 = (0.4, 0.7)
#: Investment uncertainty of the anchor, sd in OOM of the 2028 compute (a factor of about
#: 2.5 at one sd): Besiroglu et al. 2022's scenarios span investment from today's trend to
#: 1% of gross world product. Status A: a reconstruction.
EPOCH2024_ANCHOR_SD_OOM = 0.4

#: P24 on its compute projection: it "tracks the historical trend until around 2030, then
#: slows" (Besiroglu et al. 2022: investment approaching 1% of gross world product). The
#: reconstruction halves the growth from 2030. Status A.
EPOCH2024_SLOWDOWN_YEAR = 2030.0
EPOCH2024_SLOWDOWN = 0.5

#: Sevilla et al. 2024's start: the 2025 frontier, Grok 4 (5e26 FLOP, Epoch AI's estimate,
#: released 2025-07-09).
EPOCH2030_ANCHOR = (2025.52, 5e26)
#: Their growth, "approximately 4x per year" (90% interval 3x-5x/yr, in OOM/yr).
EPOCH2030_GROWTH_OOM_90 = (math.log10(3.0), math.log10(5.0))


def _normal_90(low: float, high: float, size, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.5 * (low + high), (high - low) / (2.0 * _Z90), size)


def epoch2022_tokens(years: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Draws (draw, year) of tokens: Epoch 2022's historical projection."""
    rng = np.random.default_rng(seed)
    growth = _normal_90(*EPOCH2022_GROWTH_OOM_90, (n, 1), rng)
    start = words_to_tokens(EPOCH2022_START_WORDS)
    return start * 10 ** (growth * (np.asarray(years, dtype=float)[None, :] - EPOCH2022_START_YEAR))


def epoch2024_compute(years: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Draws (draw, year) of log10 FLOP: Epoch 2024's compute projection, reconstructed
    (the growth after :data:`EPOCH2024_SLOWDOWN_YEAR` is :data:`EPOCH2024_SLOWDOWN` of it)."""
    rng = np.random.default_rng(seed)
    year, flop = EPOCH2024_ANCHOR
    level = math.log10(flop) + EPOCH2024_ANCHOR_SD_OOM * rng.standard_normal((n, 1))
    growth = _normal_90(*EPOCH2024_GROWTH_OOM_90, (n, 1), rng)
    t = np.asarray(years, dtype=float)[None, :]
    before = np.minimum(t, EPOCH2024_SLOWDOWN_YEAR) - year
    after = np.maximum(t - EPOCH2024_SLOWDOWN_YEAR, 0.0)
    return level + growth * (before + EPOCH2024_SLOWDOWN * after)


def epoch2030_compute(years: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Draws (draw, year) of log10 FLOP: Sevilla et al. 2024's ~4x/yr from the 2025
    frontier (never below it)."""
    rng = np.random.default_rng(seed)
    year, flop = EPOCH2030_ANCHOR
    growth = _normal_90(*EPOCH2030_GROWTH_OOM_90, (n, 1), rng)
    elapsed = np.maximum(np.asarray(years, dtype=float)[None, :] - year, 0.0)
    return math.log10(flop) + growth * elapsed
