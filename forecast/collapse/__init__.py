"""Model collapse: what training on AI-written text does, simulated and in closed form.

- :mod:`forecast.collapse.simulator`: the refitting loops (replace, accumulate, mix,
  verify) on a Gaussian and a Zipf vocabulary (:func:`simulate`, :func:`verification_sweep`);
- :mod:`forecast.collapse.theory`: the literature's closed forms (linear regression,
  the real-data weight) and the Monte Carlo that checks them.
"""

from __future__ import annotations

from forecast.collapse.simulator import (
    REGIMES,
    CollapseResult,
    analytic_mean_variance_ratio,
    analytic_median_variance_ratio,
    expected_log_variance_factor,
    original_tail_mass,
    simulate,
    verification_sweep,
    zipf_probabilities,
)
from forecast.collapse.theory import (
    LINEAR_WORKFLOWS,
    LinearCollapseResult,
    analytic_linear_test_error,
    optimal_real_weight,
    real_weight_table,
    simulate_linear_regression,
    simulate_real_weight,
    stationary_mean_error,
)

__all__ = [
    "LINEAR_WORKFLOWS",
    "REGIMES",
    "CollapseResult",
    "LinearCollapseResult",
    "analytic_linear_test_error",
    "analytic_mean_variance_ratio",
    "analytic_median_variance_ratio",
    "expected_log_variance_factor",
    "optimal_real_weight",
    "original_tail_mass",
    "real_weight_table",
    "simulate",
    "simulate_linear_regression",
    "simulate_real_weight",
    "stationary_mean_error",
    "verification_sweep",
    "zipf_probabilities",
]
