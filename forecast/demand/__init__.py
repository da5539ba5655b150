"""Demand: Bayesian models of the size of the largest training run over time (tokens).

- :mod:`forecast.demand.model`: the base :class:`DemandModel` (a PyMC graph per model),
  :class:`DemandFit`, :class:`SamplerConfig`, sampler health (:class:`Diagnostics`);
- :mod:`forecast.demand.damped`: the default, :class:`DampedFrontierTrend` (demand v2);
- :mod:`forecast.demand.trends`: the 0.2-era trends (exponential, frontier, changepoint,
  random-walk slope, compute);
- :mod:`forecast.demand.baselines`: OLS and Epoch AI's bootstrap (no PyMC);
- :mod:`forecast.demand.cache`: the fit cache (:func:`fit_cached`, :func:`value_cached`);
- :mod:`forecast.demand.combine`: LOO comparison and :class:`ModelAverage`.

The names below are this package's public API; ``MODEL_CLASSES`` (every fitted model
class, in the order :func:`forecast.fit_demand` fits them) comes from the registry.
"""

from __future__ import annotations

from forecast.demand.baselines import EpochBootstrap, OLSTrend, epoch_bootstrap, ols_trend
from forecast.demand.cache import (
    cache_path,
    default_cache_dir,
    fit_cached,
    fit_key,
    sampler_key,
    value_cached,
)
from forecast.demand.combine import (
    COMPARISON_COLUMNS,
    LOO_MODELS,
    ModelAverage,
    compare,
    compare_cached,
    empty_comparison,
    shuffled_rows,
)
from forecast.demand.damped import DampedFrontierTrend
from forecast.demand.model import (
    CHINCHILLA_TOKENS_PER_PARAMETER,
    ESS_BULK_MIN,
    MAX_LOG10,
    MIN_HISTORY_YEARS,
    RHAT_MAX,
    DemandFit,
    DemandModel,
    Diagnostics,
    SamplerConfig,
    chinchilla_tokens,
    health_rows,
    load_fit,
    model_from_config,
)
from forecast.demand.trends import (
    FRONTIER_K,
    ComputeTrend,
    ExponentialTrend,
    FrontierTrend,
    RandomWalkSlopeTrend,
    SlowdownTrend,
    frontier_rows,
)
from forecast.registry import DEFAULT_WEIGHTS

__all__ = [
    "CHINCHILLA_TOKENS_PER_PARAMETER",
    "COMPARISON_COLUMNS",
    "DEFAULT_WEIGHTS",
    "ESS_BULK_MIN",
    "FRONTIER_K",
    "LOO_MODELS",
    "MAX_LOG10",
    "MIN_HISTORY_YEARS",
    "MODEL_CLASSES",
    "RHAT_MAX",
    "ComputeTrend",
    "DampedFrontierTrend",
    "DemandFit",
    "DemandModel",
    "Diagnostics",
    "EpochBootstrap",
    "ExponentialTrend",
    "FrontierTrend",
    "ModelAverage",
    "OLSTrend",
    "RandomWalkSlopeTrend",
    "SamplerConfig",
    "SlowdownTrend",
    "cache_path",
    "chinchilla_tokens",
    "compare",
    "compare_cached",
    "default_cache_dir",
    "empty_comparison",
    "epoch_bootstrap",
    "fit_cached",
    "fit_key",
    "frontier_rows",
    "health_rows",
    "load_fit",
    "model_from_config",
    "ols_trend",
    "sampler_key",
    "shuffled_rows",
    "value_cached",
]


def __getattr__(name: str):
    # Assembled on use from the registry (which names classes as "module:attribute").
    if name == "MODEL_CLASSES":
        from forecast.registry import fitted_classes

        return fitted_classes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
