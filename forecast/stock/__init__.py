"""Stock: the effective stock of human-written text (tokens), as Monte Carlo draws.

- :mod:`forecast.stock.models`: :class:`Epoch2024Stock` and
  :class:`Epoch2022HighQualityStock` (Epoch AI's structures), their draws and components;
- :mod:`forecast.stock.levers`: one component per lever (quality, repetition, consent,
  AI-written text, isolation, synthetic data) and their value classes;
- :mod:`forecast.stock.estimates`: the inputs table (``data/stock_estimates.csv``), its
  distributions and the named random streams.
"""

from __future__ import annotations

from forecast.errors import LeverError
from forecast.stock.estimates import (
    COLUMNS,
    DISTRIBUTIONS,
    NUMERIC_COLUMNS,
    STATUSES,
    STOCK_FILE,
    ParamSpec,
    cached_stock_estimates,
    load_stock_estimates,
    lognormal_from_interval,
    normal_from_interval,
    parameter_spec,
)
from forecast.stock.levers import (
    LEVER_KEYS,
    STOCK_LEVERS,
    ConsentPath,
    ContaminationPath,
    Isolation,
    StockLever,
    Synthetic,
    human_ratio,
    kept_valid_share,
    muennighoff_multiplier,
)
from forecast.stock.models import (
    COMPONENTS,
    Epoch2022HighQualityStock,
    Epoch2024Stock,
    Sevilla2024DataStock,
    iter_trajectories,
    stock_summary,
    take_draws,
)

__all__ = [
    "COLUMNS",
    "COMPONENTS",
    "DISTRIBUTIONS",
    "LEVER_KEYS",
    "NUMERIC_COLUMNS",
    "STATUSES",
    "STOCK_FILE",
    "STOCK_LEVERS",
    "ConsentPath",
    "ContaminationPath",
    "Epoch2022HighQualityStock",
    "Epoch2024Stock",
    "Isolation",
    "LeverError",
    "ParamSpec",
    "Sevilla2024DataStock",
    "StockLever",
    "Synthetic",
    "cached_stock_estimates",
    "human_ratio",
    "iter_trajectories",
    "kept_valid_share",
    "load_stock_estimates",
    "lognormal_from_interval",
    "muennighoff_multiplier",
    "normal_from_interval",
    "parameter_spec",
    "stock_summary",
    "take_draws",
]
