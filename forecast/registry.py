"""One registry of named things: every demand model and demand projection, every backtest
baseline, every stock model. Each list of names elsewhere is derived from here:

- :data:`forecast.scenarios.DEMAND_MODELS` / ``COMPUTE_DEMAND_MODELS`` / ``STOCK_MODELS``
  (what a scenario's ``demand.model`` and ``stock.model`` accept);
- :data:`forecast.demand.MODEL_CLASSES` (what :func:`forecast.fit_demand` fits, in order);
- :data:`forecast.evaluation.backtest.METHODS` and ``POPULATION_METHODS``, the minimum training rows
  of each method, and :data:`forecast.evaluation.skill.TOKEN_MODELS`;
- the demand choices of the report's explorer, with their labels.

Adding a demand model is one :class:`~forecast.demand.model.DemandModel` subclass and one
:class:`DemandEntry` here (tests/test_registry.py checks that the two agree). This module
imports nothing heavy: classes are named as ``"module:attribute"`` and loaded on use.

:class:`Projector` is the protocol every demand projection satisfies (a fit, the default
combination, the baselines, a scenario's demand): a ``name`` and
``project(years, n_draws, seed)`` returning token draws with dims ``("draw", "year")``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_WEIGHTS",
    "DEMAND",
    "DEMAND_ALIASES",
    "STOCK",
    "DemandEntry",
    "Projector",
    "StockEntry",
    "backtest_methods",
    "compute_demand_names",
    "demand_label",
    "fits_used",
    "fitted_classes",
    "min_rows",
    "population_methods",
    "scenario_demand_names",
    "stock_class",
    "stock_model_names",
]


@runtime_checkable
class Projector(Protocol):
    """A demand projection: ``project(years, n_draws, seed)`` -> tokens, dims
    ``("draw", "year")`` (an ``xarray.DataArray``); same seed, same draws."""

    name: str

    def project(self, years, n_draws: int = ..., seed: int | None = ...) -> Any:
        """Token draws at decimal ``years``."""
        ...


def _load(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class DemandEntry:
    """One named demand projection.

    ``kind``: "fit" (a fitted :class:`~forecast.demand.model.DemandModel`, ``cls`` names it and
    ``fit_order`` places it in :func:`forecast.fit_demand`), "combination" (built from
    fits: the default average, Epoch 2024's mixture), "published" (Epoch 2022's fixed
    projection, no fit) or "baseline" (a backtest baseline, not a scenario demand).
    ``compute``: compute-based demand (the overtraining lever applies). ``population``:
    predicts a typical new model rather than the frontier (backtests score it so).
    ``backtest``: scored by :func:`forecast.evaluation.backtest.backtest`. ``uses``: the fits a
    combination's projection draws on (a fit uses itself; ``default_mix``: the fits of
    :data:`DEFAULT_WEIGHTS`). ``min_rows_of``: the fitted model whose
    minimum of training rows a baseline needs (a backtest refuses a cutoff with fewer).
    """

    name: str
    label: str
    kind: str
    cls: str | None = None
    fit_order: int | None = None
    compute: bool = False
    population: bool = False
    backtest: bool = False
    uses: tuple[str, ...] = ()
    default_mix: bool = False
    min_rows_of: str | None = None

    def load_class(self):
        """The model class of a fitted entry (imports its module)."""
        if self.cls is None:
            raise TypeError(f"demand '{self.name}' is a {self.kind}, not a fitted model class")
        return _load(self.cls)

    @property
    def scenario(self) -> bool:
        """Whether a scenario's ``demand.model`` may name it."""
        return self.kind != "baseline"


#: The default demand (:class:`~forecast.demand.combine.ModelAverage`, scenario key
#: ``default``): demand v3 alone, the largest run from compute and tokens per parameter
#: (:class:`forecast.demand.compute_frontier.ComputeFrontierTrend`). Demand v2 (the damped
#: frontier record) and 0.2's mixture are compared methods of the forecast-skill study; a
#: combination would need weights earned out of sample (docs/model.md, "Default demand").
DEFAULT_WEIGHTS: dict[str, float] = {"compute-frontier": 1.0}
#: Scenario names kept for earlier versions: the default demand was called "average"
#: (0.2-0.8, when it was a mixture).
DEMAND_ALIASES: dict[str, str] = {"average": "default"}

#: Every demand projection, in the order scenarios list them.
DEMAND: dict[str, DemandEntry] = {
    e.name: e
    for e in (
        DemandEntry(
            "default",
            "default demand (v3: largest run from compute and tokens per parameter)",
            "combination",
            compute=True,
            backtest=True,
            default_mix=True,
        ),
        DemandEntry(
            "compute-frontier",
            "Largest run from compute and tokens per parameter (demand v3)",
            "fit",
            cls="forecast.demand.compute_frontier:ComputeFrontierTrend",
            fit_order=0,
            compute=True,
            backtest=True,
        ),
        DemandEntry(
            "damped-trend",
            "Frontier record with a damped trend (demand v2)",
            "fit",
            cls="forecast.demand.damped:DampedFrontierTrend",
            fit_order=1,
            backtest=True,
        ),
        DemandEntry(
            "frontier",
            "Frontier exponential trend (no slowdown)",
            "fit",
            cls="forecast.demand.trends:FrontierTrend",
            fit_order=3,
            backtest=True,
        ),
        DemandEntry(
            "slowdown",
            "Changepoint (slowdown) model",
            "fit",
            cls="forecast.demand.trends:SlowdownTrend",
            fit_order=4,
            backtest=True,
        ),
        DemandEntry(
            "random-walk-slope",
            "Frontier trend with a random-walk slope",
            "fit",
            cls="forecast.demand.trends:RandomWalkSlopeTrend",
            fit_order=5,
            backtest=True,
        ),
        DemandEntry(
            "exponential",
            "Exponential trend (all notable LMs)",
            "fit",
            cls="forecast.demand.trends:ExponentialTrend",
            fit_order=2,
            population=True,
            backtest=True,
        ),
        DemandEntry(
            "compute",
            "Compute trend, Chinchilla tokens (overtraining applies)",
            "fit",
            cls="forecast.demand.trends:ComputeTrend",
            fit_order=6,
            compute=True,
        ),
        DemandEntry(
            "epoch2024",
            "Epoch 2024: bootstrap trend and anchored compute projection, half each",
            "combination",
            compute=True,
        ),
        DemandEntry("epoch2022", "Epoch 2022 historical projection", "published"),
        DemandEntry(
            "epoch2030",
            "Sevilla et al. 2024: ~4x/yr compute from the 2025 frontier, Chinchilla tokens",
            "published",
            compute=True,
        ),
        DemandEntry(
            "ols",
            "Least-squares trend of log tokens (baseline)",
            "baseline",
            population=True,
            backtest=True,
            min_rows_of="exponential",
        ),
        DemandEntry(
            "epoch-bootstrap",
            "Epoch 2024 bootstrap trend (baseline)",
            "baseline",
            backtest=True,
            min_rows_of="exponential",
        ),
    )
}


def demand_label(name: str) -> str:
    """What a scenario's ``demand.model`` is, for readers (legends, ``forecast run``,
    ``forecast scenarios show``): its label, e.g. "default demand (v3: largest run from
    compute and tokens per parameter)"; an old alias ("average") reads as the name it
    stands for, an unknown name as itself."""
    entry = DEMAND.get(DEMAND_ALIASES.get(name, name))
    return name if entry is None else entry.label


def fits_used(name: str) -> tuple[str, ...]:
    """Names of the fits demand ``name``'s projection uses, in fit order (none for a
    published projection or a baseline)."""
    entry = DEMAND[name]
    if entry.kind == "fit":
        return (name,)
    if entry.default_mix:
        return tuple(DEFAULT_WEIGHTS)
    return entry.uses


def min_rows(name: str) -> int:
    """Fewest training rows method ``name`` needs: its model's, the largest of its
    fits', or that of the model named by ``min_rows_of``."""
    entry = DEMAND[name]
    names = (entry.min_rows_of,) if entry.min_rows_of else fits_used(name)
    return max(DEMAND[n].load_class().min_rows for n in names)


@dataclass(frozen=True)
class StockEntry:
    """One stock model: its class (``"module:attribute"``) and label."""

    name: str
    label: str
    cls: str


#: Every stock model a scenario's ``stock.model`` may name.
STOCK: dict[str, StockEntry] = {
    e.name: e
    for e in (
        StockEntry(
            "epoch2024",
            "Epoch 2024 indexed-web stock (Villalobos et al. 2024)",
            "forecast.stock.models:Epoch2024Stock",
        ),
        StockEntry(
            "epoch2022-high-quality",
            "Epoch 2022 high-quality language stock",
            "forecast.stock.models:Epoch2022HighQualityStock",
        ),
        StockEntry(
            "sevilla2024-data",
            "Sevilla et al. 2024 data stock by 2030 (multimodal, multi-epoch)",
            "forecast.stock.models:Sevilla2024DataStock",
        ),
    )
}


def scenario_demand_names() -> tuple[str, ...]:
    """What a scenario's ``demand.model`` accepts."""
    return tuple(name for name, e in DEMAND.items() if e.scenario)


def compute_demand_names() -> tuple[str, ...]:
    """Scenario demand models that are compute-based (the overtraining lever applies)."""
    return tuple(name for name, e in DEMAND.items() if e.compute and e.scenario)


def fitted_classes() -> tuple[type, ...]:
    """Every fitted demand model class, in the order :func:`forecast.fit_demand` fits them."""
    fitted = sorted((e for e in DEMAND.values() if e.kind == "fit"), key=lambda e: e.fit_order)
    return tuple(e.load_class() for e in fitted)


def backtest_methods() -> tuple[str, ...]:
    """Every method the single-cutoff backtest scores, in table order: the token models
    in fit order, the default average, then the baselines."""
    models = [c.name for c in fitted_classes() if DEMAND[c.name].backtest]
    rest = [n for n, e in DEMAND.items() if e.backtest and e.kind != "fit"]
    return (*models, *rest)


def population_methods() -> frozenset[str]:
    """Methods predicting a typical new model (scored against every later run)."""
    return frozenset(n for n, e in DEMAND.items() if e.population)


def stock_model_names() -> tuple[str, ...]:
    """What a scenario's ``stock.model`` accepts."""
    return tuple(STOCK)


def stock_class(name: str):
    """The stock model class registered as ``name``."""
    return _load(STOCK[name].cls)
