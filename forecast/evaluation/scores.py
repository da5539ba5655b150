"""Scoring rules and method choice shared by the backtests and the forecast-skill study.

Scores are on log10 tokens (orders of magnitude) and computed from predictive draws:
:func:`crps_from_draws` (the continuous ranked probability score, exact for the draws),
:func:`log_score_from_draws` (log predictive density from a Gaussian kernel density
estimate) and :func:`interval_hits` (coverage of central intervals). The forecast-skill
study's exact densities of a window's maximum live with its predictives
(:mod:`forecast.evaluation.skill`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

from forecast.errors import ForecastError

__all__ = ["choose_methods", "crps_from_draws", "interval_hits", "log_score_from_draws"]


def crps_from_draws(draws, observed) -> np.ndarray:
    """CRPS of each observation against its predictive draws (energy form, exact for the draws).

    ``draws`` has shape ``(n_draws,)`` or ``(n_obs, n_draws)``; ``observed`` a scalar or
    ``(n_obs,)``. ``CRPS = E|X - y| - 1/2 E|X - X'|`` where both expectations are over the
    empirical distribution of the draws; ``E|X - X'|`` uses the sorted-draws identity
    ``sum_ij |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i)``, so the cost is O(n log n), not O(n^2).
    Same units as the draws (here orders of magnitude); lower is better.
    """
    x = np.atleast_2d(np.asarray(draws, dtype=float))
    y = np.asarray(observed, dtype=float).reshape(-1)
    if x.shape[0] != y.shape[0]:
        raise ForecastError(f"{x.shape[0]} draw rows for {y.shape[0]} observations")
    n = x.shape[1]
    spread_term = np.abs(x - y[:, None]).mean(axis=1)
    weights = (2.0 * np.arange(1, n + 1) - n - 1) / n**2
    half_mean_pair = np.sort(x, axis=1) @ weights  # = 1/2 E|X - X'|
    return spread_term - half_mean_pair


def log_score_from_draws(draws, observed) -> np.ndarray:
    """Log predictive density (natural log) of each observation from a Gaussian KDE of its draws.

    Silverman's bandwidth ``0.9 * min(sd, IQR / 1.34) * n**-0.2`` per row, evaluated in log
    space (log-sum-exp) so far-away observations give large negative numbers rather than
    ``-inf``. Higher is better.
    """
    x = np.atleast_2d(np.asarray(draws, dtype=float))
    y = np.asarray(observed, dtype=float).reshape(-1)
    if x.shape[0] != y.shape[0]:
        raise ForecastError(f"{x.shape[0]} draw rows for {y.shape[0]} observations")
    n = x.shape[1]
    sd = x.std(axis=1, ddof=1) if n > 1 else np.zeros(len(x))
    q75, q25 = np.percentile(x, [75, 25], axis=1)
    spread = np.minimum(sd, (q75 - q25) / 1.34)
    spread = np.where(spread > 0, spread, sd)
    bandwidth = 0.9 * spread * n**-0.2
    bandwidth = np.where(bandwidth > 0, bandwidth, 1e-6)
    z = (x - y[:, None]) / bandwidth[:, None]
    return logsumexp(-0.5 * z**2, axis=1) - np.log(n) - np.log(bandwidth) - 0.5 * np.log(2 * np.pi)


def interval_hits(draws, observed, level: float) -> np.ndarray:
    """Whether each observation lies in the central ``level`` interval of its draws (inclusive)."""
    if not 0 < level < 1:
        raise ForecastError(f"interval level must be in (0, 1), got {level}")
    x = np.atleast_2d(np.asarray(draws, dtype=float))
    y = np.asarray(observed, dtype=float).reshape(-1)
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return (lo <= y) & (y <= hi)


def choose_methods(methods, allowed: Sequence[str], default: Sequence[str], what: str):
    """``methods`` (a name, names or None for ``default``) checked against ``allowed``,
    in the given order without repeats; one clear error for an unknown name."""
    if methods is None:
        return tuple(default)
    if isinstance(methods, str):
        methods = [methods]
    out = []
    for m in methods:
        if m not in allowed:
            raise ForecastError(f"unknown {what} {m!r}; choose from {', '.join(allowed)}")
        if m not in out:
            out.append(m)
    if not out:
        raise ForecastError(f"no {what}s given")
    return tuple(out)
