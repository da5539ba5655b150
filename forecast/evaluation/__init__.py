"""Evaluation: how good the demand forecasts have been out of sample.

- :mod:`forecast.evaluation.scores`: CRPS, log score, interval hits and method choice;
- :mod:`forecast.evaluation.skill`: the leave-future-out study at half-yearly origins
  (:func:`evaluate` -> :class:`SkillStudy`), the report's forecast-skill numbers;
- :mod:`forecast.evaluation.backtest`: 0.2.0's single-cutoff and rolling backtests
  (``forecast.evaluation.backtest.backtest``; the package exports no name that is also
  a submodule's).
"""

from __future__ import annotations

from forecast.evaluation.backtest import (
    BacktestResult,
    calibration_by_history,
    calibration_table,
    frontier_periods,
    rolling_origin,
)
from forecast.evaluation.scores import (
    choose_methods,
    crps_from_draws,
    interval_hits,
    log_score_from_draws,
)
from forecast.evaluation.skill import (
    RunPredictive,
    SkillStudy,
    default_origins,
    evaluate,
    stacking_weights,
    study_from_items,
)

__all__ = [
    "BacktestResult",
    "RunPredictive",
    "SkillStudy",
    "calibration_by_history",
    "calibration_table",
    "choose_methods",
    "crps_from_draws",
    "default_origins",
    "evaluate",
    "frontier_periods",
    "interval_hits",
    "log_score_from_draws",
    "rolling_origin",
    "stacking_weights",
    "study_from_items",
]
