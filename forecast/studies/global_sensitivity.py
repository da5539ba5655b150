"""Which assumption matters: global (variance-based) sensitivity of the exhaustion date.

The one-at-a-time study (:mod:`forecast.studies.sensitivity`) moves each lever to its two
ends with every other lever fixed; it cannot say how much of the uncertainty a lever
carries, nor see interactions (a low stock matters more when demand grows fast). This
study moves every lever at once over its documented range and splits the variance of
three outputs of the forecast by lever, with Sobol indices:

- ``S1`` (first order): the share of the output's variance that learning the lever
  exactly would remove on average, through the lever alone;
- ``ST`` (total): the share the lever takes part in, alone or through interactions with
  other levers (the variance left on average if every lever *but* this one were
  learned). The lever with the largest ``ST`` is the one whose range matters most;
  a lever with ``ST`` near 0 could be fixed anywhere in its range;
- ``1 - sum(S1)``: the share of the variance that interactions carry.

Outputs of a lever setting (each over ``draws`` joint draws of demand and stock):
``median`` (the median exhaustion year), ``p_by_<year>`` (P(exhausted by the end of the
year), default 2030) and ``width80`` (p90 - p10, years). A quantile after the horizon
counts as the horizon (2100), so a lever that pushes the date past it is understated.

How (every step a library's, none hand-written):

1. Design: SALib's Sobol' sequence (scrambled, seeded) with Saltelli's cross-sampling,
   ``n`` base rows and ``n (D + 2)`` lever settings for ``D`` levers
   (``SALib.sample.sobol.sample``, first and total order only). Every lever is a uniform
   coordinate ``u`` in (0, 1) mapped to its value by its distribution's quantile function
   (:meth:`GlobalLever.value`), so the levers are independent, as the estimators need.
2. Evaluation: each setting becomes dotted scenario overrides
   (:meth:`forecast.scenarios.Scenario.with_overrides`) and is evaluated on common random
   numbers (:class:`ExhaustionEvaluator`): the same demand seed for every demand model,
   every stock parameter from its own named stream with the same stock seed
   (:mod:`forecast.stock.estimates`), so two settings differ only by their levers, never by
   sampling noise. Demand and stock on a yearly grid from the data date to the horizon,
   first crossing per draw (:func:`forecast.exhaustion.crossing_years`; log-linear
   interpolation between grid years).
3. Distribution: the settings run on Dask (``dask.distributed``): a ``LocalCluster`` on
   this machine by default, or an existing cluster (``scheduler="tcp://host:port"``). The
   evaluator is scattered once; each task evaluates a fixed block of rows of the design;
   results are gathered in design order, so the numbers do not depend on the number of
   workers (tested: a cluster of two worker processes, one in-process worker, a plain loop
   and an external ``dask scheduler`` give identical arrays).
4. Estimators: ``SALib.analyze.sobol.analyze`` (Saltelli 2010 for ``S1``, Jansen for
   ``ST``) with bootstrap intervals (``resamples`` resamples of the base rows; SALib's
   interval is the estimate +- z x the bootstrap standard deviation, 95% by default).

Discrete levers (on/off, a model choice) are honest categorical inputs: the uniform
coordinate is cut at the cumulative weights of the options (:class:`Option`), so each
option has its stated probability and the estimators, which only need independent inputs,
apply unchanged. Their indices answer "how much would learning which option holds narrow
the output, under these odds": the odds (even, unless stated) are an assumption and are
printed with every result. A lever that applies only with another lever's value
(``when``, e.g. a lever of one demand model only) changes nothing in the
other settings; its indices then include that interaction.

The test of the code path: :func:`ishigami` (the Ishigami function, whose indices are
known analytically) runs through the same design, Dask evaluation and estimators.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast import checks
from forecast.checks import checked
from forecast.errors import ForecastError, ScenarioError
from forecast.persist import json_float
from forecast.results import Result
from forecast.scenarios import SCENARIO, Scenario, load_scenario

__all__ = [
    "DEFAULT_GLOBAL_LEVERS",
    "EXHAUSTION_OUTPUTS",
    "ExhaustionEvaluator",
    "GlobalLever",
    "GlobalSensitivity",
    "Ishigami",
    "Option",
    "dask_client",
    "demand_fits_needed",
    "global_sensitivity",
    "ishigami",
    "pick_levers",
    "sobol_design",
    "sobol_indices",
]

KINDS = ("uniform", "loguniform", "lognormal", "choice")
#: Default base rows of the design (a power of two): 26,624 settings of the eleven default
#: levers. The cost and the intervals' widths at this n are measured in
#: benchmarks/README.md, "Global sensitivity" (0.8-era levers: the leading lever's total
#: index interval was 0.07-0.09 wide at n = 2,048, below 0.05 at n = 8,192).
DEFAULT_N = 2048
#: Default joint draws per lever setting: against 2,000 the indices moved by at most 0.012
#: (common random numbers: the same draws in every setting).
DEFAULT_DRAWS = 1000
#: Base rows per Dask task: a block holds whole Saltelli groups (A, AB_1..AB_D, B), whose
#: settings share most of their demand and stock.
BASE_ROWS_PER_BLOCK = 16


# --- levers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option of a discrete lever: a label, its dotted scenario overrides and its
    weight (relative probability)."""

    label: str
    overrides: Mapping[str, Any]
    weight: float = 1.0


@dataclass(frozen=True)
class GlobalLever:
    """A lever of the global analysis: a name, a distribution over its documented range
    with its source, and how a value becomes scenario overrides.

    ``kind``: "uniform" or "loguniform" on ``[low, high]``; "lognormal" with the central
    ``interval`` mass in ``[low, high]`` (the way ``data/stock_estimates.csv`` states a
    distribution), clipped to ``bounds`` if given; "choice" among ``options``. A number
    goes to the dotted ``key`` (with ``also``, overrides that come with any value); a
    choice's option carries its own overrides. ``when``: the lever applies only in
    settings whose scenario has one of the given values at each dotted key (checked after
    the levers without a condition are applied); elsewhere it changes nothing.
    """

    name: str
    kind: str
    low: float = math.nan
    high: float = math.nan
    interval: float | None = None
    bounds: tuple[float, float] | None = None
    key: str | None = None
    options: tuple[Option, ...] = ()
    also: Mapping[str, Any] = field(default_factory=dict)
    when: Mapping[str, tuple] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ForecastError("a lever needs a name")
        if self.kind not in KINDS:
            raise ForecastError(f"lever {self.name!r}: kind must be one of {', '.join(KINDS)}")
        if self.kind == "choice":
            if len(self.options) < 2:
                raise ForecastError(f"lever {self.name!r}: a choice needs two or more options")
            weights = [o.weight for o in self.options]
            if not all(math.isfinite(w) and w > 0 for w in weights):
                raise ForecastError(f"lever {self.name!r}: option weights must be positive")
            return
        if self.key is None:
            raise ForecastError(f"lever {self.name!r}: a number needs the dotted key it sets")
        lo, hi = float(self.low), float(self.high)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ForecastError(f"lever {self.name!r}: need low < high, got {lo!r}, {hi!r}")
        if self.kind in ("loguniform", "lognormal") and lo <= 0:
            raise ForecastError(f"lever {self.name!r}: a {self.kind} range must be positive")
        if self.kind == "lognormal" and not (self.interval and 0 < self.interval < 1):
            raise ForecastError(f"lever {self.name!r}: a lognormal needs 0 < interval < 1")

    def value(self, u) -> np.ndarray:
        """Values at uniform coordinates ``u`` in [0, 1] (the quantile function); for a
        choice, the index of the option."""
        u = np.asarray(u, dtype=float)
        lo, hi = float(self.low), float(self.high)
        if self.kind == "choice":
            weights = np.array([o.weight for o in self.options], dtype=float)
            edges = np.cumsum(weights) / weights.sum()
            index = np.searchsorted(edges, u, side="right")
            return np.minimum(index, len(self.options) - 1).astype(float)
        if self.kind == "uniform":
            out = lo + u * (hi - lo)
        elif self.kind == "loguniform":
            out = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        else:
            from scipy.stats import norm

            z = norm.ppf(0.5 + float(self.interval) / 2.0)
            mu = 0.5 * (math.log(lo) + math.log(hi))
            sigma = (math.log(hi) - math.log(lo)) / (2.0 * z)
            out = np.exp(mu + sigma * norm.ppf(u))
        if self.bounds is not None:
            out = np.clip(out, *self.bounds)
        return out

    def overrides(self, value) -> dict[str, Any]:
        """The dotted scenario overrides of a value (of :meth:`value`)."""
        if self.kind == "choice":
            return dict(self.options[int(value)].overrides)
        return {**self.also, self.key: float(value)}

    def applies(self, scenario: Scenario) -> bool:
        """Whether the lever acts in a setting whose scenario is ``scenario``."""
        return all(_dotted(scenario, key) in allowed for key, allowed in self.when.items())

    def label(self, value) -> str:
        """A value for reading (an option's label, a number to 3 significant digits)."""
        if self.kind == "choice":
            return self.options[int(value)].label
        return f"{float(value):.3g}"

    def describe(self) -> str:
        """The distribution in words, e.g. "log-uniform on [1, 16]"."""
        if self.kind == "choice":
            total = sum(o.weight for o in self.options)
            return ", ".join(f"{o.label} {o.weight / total:.0%}" for o in self.options)
        if self.kind == "lognormal":
            return f"lognormal, {self.interval:.0%} in [{self.low:g}, {self.high:g}]"
        name = {"uniform": "uniform", "loguniform": "log-uniform"}[self.kind]
        return f"{name} on [{self.low:g}, {self.high:g}]"

    def condition(self) -> str:
        """``when`` in words ("" when the lever always applies)."""
        return "; ".join(f"{k} in {', '.join(map(str, v))}" for k, v in self.when.items())


def _dotted(scenario: Scenario, key: str):
    section, _, leaf = key.rpartition(".")
    return getattr(getattr(scenario, section) if section else scenario, leaf)


def _on_off(key: str, on_label: str) -> tuple[Option, Option]:
    return (Option("off", {key: False}), Option(on_label, {key: True}))


_EVEN_ODDS = (
    "Even odds (an assumption: the index says how much learning which holds would narrow "
    "the output)."
)

#: The default levers (one entry each; a new ``demand.*`` or ``stock.*`` lever is one more).
DEFAULT_GLOBAL_LEVERS: tuple[GlobalLever, ...] = (
    GlobalLever(
        "compute growth",
        "choice",
        options=(
            Option("fitted (about 0.5 OOM/yr)", {}),
            Option("0.35 OOM/yr", {"demand.compute_growth": 0.35}),
            Option("0.7 OOM/yr", {"demand.compute_growth": 0.7}),
        ),
        source="The frontier's compute growth of demand v3: its fitted posterior, or fixed at "
        "the one-at-a-time study's ends, 0.35 OOM/yr (2.2x/yr) and 0.7 OOM/yr (5x/yr; Sevilla "
        "et al. 2024 measure 4-5x/yr to 2024). Three options, not a continuum: each setting "
        "of a continuous growth would re-project demand (60 ms per 1,000 draws, 26 minutes "
        "of CPU at the default n). " + _EVEN_ODDS,
    ),
    GlobalLever(
        "tokens per parameter",
        "choice",
        options=(
            Option("frontier level, random walk (default)", {}),
            Option("Chinchilla (20)", {"demand.tokens_per_parameter": "chinchilla"}),
            Option("recent trend continued", {"demand.tokens_per_parameter": "trend"}),
        ),
        source="How record runs split compute between parameters and tokens (docs/model.md, "
        "'Demand v3'): the frontier's ratio with its random walk (the default), Hoffmann et "
        "al. 2022's 20, or the ratio's recent upward trend. " + _EVEN_ODDS,
    ),
    GlobalLever(
        "feasibility ceiling",
        "choice",
        options=(
            Option("on (Sevilla et al. 2024)", {"demand.feasibility": "sevilla2024"}),
            Option("off", {"demand.feasibility": "none"}),
        ),
        source="The power, chip and latency limits on training compute of Sevilla et al. "
        "2024 (data/feasibility.csv). " + _EVEN_ODDS,
    ),
    GlobalLever(
        "investment winter",
        "choice",
        options=(
            Option("none", {}),
            Option("a stall", {"demand.stall_probability": 1.0}),
        ),
        source="A stall of the frontier's growth for 2-10 years starting by 2032 (data/"
        "feasibility.csv; scenario investment-winter), a what-if with no measured odds. "
        + _EVEN_ODDS,
    ),
    GlobalLever(
        "quality fraction",
        "lognormal",
        0.1,
        0.4,
        interval=0.95,
        bounds=(1e-9, 1.0),
        key="stock.quality_fraction",
        source="data/stock_estimates.csv row quality_fraction: Villalobos et al. 2024, "
        "section 2.3, lognormal 95% [0.1, 0.4] (the Epoch 2024 model's own distribution).",
    ),
    GlobalLever(
        "stock growth",
        "lognormal",
        1.029,
        1.134,
        interval=0.95,
        key="stock.stock_growth",
        source="The Epoch 2024 model's own yearly growth: pages (data/stock_estimates.csv "
        "pages_growth, 95% [1.00, 1.10]) x bytes per page (bytes_per_page_growth, [1.02, "
        "1.04]), Villalobos et al. 2024 section 2.1; the product of the two lognormals is "
        "lognormal, 95% [1.029, 1.134].",
    ),
    GlobalLever(
        "repetition epochs",
        "loguniform",
        1.0,
        16.0,
        key="stock.epochs",
        also={"stock.repetition": "muennighoff"},
        source="Muennighoff et al. 2023 (arXiv:2305.16264): 1 epoch = no repetition; up to "
        "4 epochs (the baseline, this range's median) 'negligible' loss; 16 epochs are worth "
        "10.6x unique data, near the 16.4x limit.",
    ),
    GlobalLever(
        "consent restriction",
        "choice",
        options=_on_off("stock.consent_restriction", "on (Longpre et al. 2024 path)"),
        source="Longpre et al. 2024 (arXiv:2407.14933); the path's parameters are drawn per "
        "joint draw from data/stock_estimates.csv. Whether restrictions bind (archived crawls "
        "stay usable, their legal weight is unsettled) is not known. " + _EVEN_ODDS,
    ),
    GlobalLever(
        "AI contamination",
        "choice",
        options=_on_off("stock.contamination", "on (Graphite 2025 path)"),
        source="Graphite (Oct 2025): ~50% of new English web articles AI-written; only the "
        "human share of text added since ChatGPT counts (data/stock_estimates.csv). " + _EVEN_ODDS,
    ),
    GlobalLever(
        "data isolation",
        "choice",
        options=_on_off("stock.isolation", "on (pre-ChatGPT text + a verified fraction)"),
        source="A remedy, not a fact: only text collected before 2022-11-30 counts, plus a "
        "verified fraction (lognormal 90% [0.03, 0.3]) of later text (data/"
        "stock_estimates.csv). " + _EVEN_ODDS,
    ),
    GlobalLever(
        "synthetic data",
        "choice",
        options=_on_off("stock.synthetic", "on (measured ranges)"),
        source="Synthetic data as a multiplier of the usable stock, median ~1.5x, from the "
        "measurements in data/synthetic_data.csv (docs/model.md, 'Synthetic data'). " + _EVEN_ODDS,
    ),
)


def pick_levers(levers=None) -> tuple[GlobalLever, ...]:
    """Levers by object or by the name of a default lever (None: every default lever)."""
    if levers is None:
        return DEFAULT_GLOBAL_LEVERS
    by_name = {lv.name: lv for lv in DEFAULT_GLOBAL_LEVERS}
    out = []
    for lv in levers:
        if isinstance(lv, GlobalLever):
            out.append(lv)
        elif lv in by_name:
            out.append(by_name[lv])
        else:
            raise ForecastError(
                f"unknown lever {lv!r}; use a GlobalLever or one of {', '.join(by_name)}"
            )
    names = [lv.name for lv in out]
    if len(set(names)) != len(names) or len(out) < 2:
        raise ForecastError(f"the levers need two or more distinct names, got {names}")
    return tuple(out)


def demand_fits_needed(scenario: str | Scenario, levers=None) -> tuple[str, ...]:
    """The demand fits the settings of ``levers`` on ``scenario`` can use (every option of
    every discrete lever, each with the others at their first option)."""
    from forecast.pipeline import demand_models_needed

    base = load_scenario(scenario)
    variants = [base]
    for lever in pick_levers(levers):
        if lever.kind == "choice":
            variants += [base.with_overrides(**o.overrides) for o in lever.options]
    return tuple(sorted({m for v in variants for m in demand_models_needed(v)}))


# --- the exhaustion date of a lever setting, on common random numbers -------------------------------

#: What each output of :class:`ExhaustionEvaluator` is (``{year}``: ``by_year``).
EXHAUSTION_OUTPUTS: dict[str, str] = {
    "median": "median exhaustion year (decimal year; after the horizon counts as the horizon)",
    "p_by": "P(exhausted by the end of {year})",
    "width80": "width of the 80% interval, p90 - p10 (years; p90 after the horizon counts as "
    "the horizon)",
}
#: Demand specs and stock specs whose draws each worker keeps, least recently used
#: forgotten first (both are reused inside a Saltelli group: a stock lever's row has the
#: demand of the group's first row; a discrete demand model recurs in most groups).
_KEEP = 48


class ExhaustionEvaluator:
    """The outputs (median, P(by ``by_year``), 80% width) of lever settings on common
    random numbers: ``evaluator(values)`` with ``values`` of shape (rows, levers) gives
    (rows, 3).

    ``scenario``: the base (its start, horizon and every key no lever sets). Joint draws:
    ``draws`` demand trajectories per demand spec from ``demand_seed`` (one seed for every
    demand model), stock parameters from ``stock_seed`` (each parameter its own named
    stream), on a yearly grid from the data date to the horizon. A setting's numbers depend
    only on its lever values: demand and stock draws are kept between settings (the same
    numbers), and the object is serialised without them (Dask sends it to each worker once).
    """

    def __init__(
        self,
        scenario: Scenario,
        demand,
        levers: Sequence[GlobalLever],
        draws: int = DEFAULT_DRAWS,
        seed: int = 0,
        by_year: int = 2030,
    ) -> None:
        from forecast.pipeline import _at_data_date

        self.scenario = _at_data_date(load_scenario(scenario), demand)
        self.demand = demand
        self.levers = tuple(levers)
        self.draws = int(draws)
        self.seed = int(seed)
        self.by_year = int(by_year)
        base = self.scenario
        self.years = np.union1d([base.start], np.arange(math.ceil(base.start), base.horizon + 1e-9))
        if not base.start < self.by_year + 1 <= base.horizon:
            raise ForecastError(
                f"by_year {self.by_year} must end between the start ({base.start:.1f}) and the "
                f"horizon ({base.horizon:g})"
            )
        seeds = np.random.SeedSequence([self.seed, 39]).generate_state(2)
        self.demand_seed, self.stock_seed = (int(s) for s in seeds)
        self._init_caches()

    def _init_caches(self) -> None:
        self._demand_draws: dict = {}
        self._stock_draws: dict = {}
        self._memo: dict = {}
        # a worker with several threads shares them: the dicts change under a lock (a
        # value computed twice at once is the same value)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for key in ("_demand_draws", "_stock_draws", "_memo", "_lock"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_caches()

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the outputs, in column order."""
        return ("median", f"p_by_{self.by_year}", "width80")

    def describe_outputs(self) -> dict[str, str]:
        return {
            name: text.format(year=self.by_year)
            for name, text in zip(self.outputs, EXHAUSTION_OUTPUTS.values(), strict=True)
        }

    def setting(self, values: Sequence[float]) -> Scenario:
        """The scenario of one row of lever values (levers with a ``when`` last)."""
        first: dict[str, Any] = {}
        for lever, value in zip(self.levers, values, strict=True):
            if not lever.when:
                first.update(lever.overrides(value))
        scenario = self.scenario.with_overrides(**first) if first else self.scenario
        later: dict[str, Any] = {}
        for lever, value in zip(self.levers, values, strict=True):
            if lever.when and lever.applies(scenario):
                later.update(lever.overrides(value))
        return scenario.with_overrides(**later) if later else scenario

    def demand_draws(self, scenario: Scenario) -> np.ndarray:
        """Demand draws (draws, years) of a setting, tokens (read-only, kept)."""
        from forecast.pipeline import demand_projector

        key = scenario.demand
        d = _recall(self._demand_draws, key, self._lock)
        if d is None:
            d = np.asarray(
                demand_projector(scenario, self.demand)(self.years, self.draws, self.demand_seed)
            )
            d.flags.writeable = False
            _keep(self._demand_draws, key, d, self._lock)
        return d

    def stock_draws(self, scenario: Scenario) -> np.ndarray:
        """Stock draws (draws, years) of a setting, tokens (read-only, kept)."""
        key = repr(scenario.stock)
        s = _recall(self._stock_draws, key, self._lock)
        if s is None:
            model = scenario.stock.build()
            with self._lock:
                params = model.sample_parameters(self.draws, self.stock_seed, memo=self._memo)
            s = model.trajectories(params, self.years)
            s.flags.writeable = False
            _keep(self._stock_draws, key, s, self._lock)
        return s

    def exhaustion(self, values: Sequence[float]):
        """The :class:`~forecast.exhaustion.ExhaustionResult` of one row of lever values."""
        from forecast.exhaustion import exhaustion

        scenario = self.setting(values)
        with np.errstate(invalid="ignore", over="ignore"):
            return exhaustion(
                self.years,
                self.demand_draws(scenario),
                self.stock_draws(scenario),
                horizon=float(self.years[-1]),
            )

    def outputs_of(self, result) -> tuple[float, float, float]:
        """(median, P(by ``by_year``), p90 - p10) of an exhaustion result; a quantile
        after the horizon counts as the horizon."""
        horizon = float(result.horizon)

        def q(level: float) -> float:
            v = result.quantile(level)
            return horizon if math.isnan(v) else v

        by = np.count_nonzero(result.exhaustion_year < self.by_year + 1) / result.n_draws
        return q(0.5), float(by), q(0.9) - q(0.1)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, dtype=float))
        out = np.empty((values.shape[0], 3))
        for i, row in enumerate(values):
            out[i] = self.outputs_of(self.exhaustion(row))
        return out

    def check(self) -> None:
        """Every option and both ends of every range give a valid scenario whose demand
        can be projected (raises :class:`ForecastError` naming the lever)."""
        from forecast.pipeline import demand_models_needed

        fitted = set(getattr(self.demand, "fits", {}) or {})
        for i, lever in enumerate(self.levers):
            ends = (
                range(len(lever.options)) if lever.kind == "choice" else lever.value([0.001, 0.999])
            )
            for value in ends:
                row = [lv.value(0.5) for lv in self.levers]
                row[i] = value
                try:
                    scenario = self.setting(row)
                except ScenarioError as exc:
                    raise ForecastError(
                        f"lever {lever.name!r} at {lever.label(value)}: {exc}"
                    ) from None
                missing = set(demand_models_needed(scenario)) - fitted
                if missing:
                    raise ForecastError(
                        f"lever {lever.name!r} at {lever.label(value)} needs the demand fit(s) "
                        f"{', '.join(sorted(missing))}, which the demand set lacks"
                    )


def _recall(cache: dict, key, lock):
    """A kept value (now the most recently used), or None."""
    with lock:
        value = cache.pop(key, None)
        if value is not None:
            cache[key] = value
        return value


def _keep(cache: dict, key, value, lock) -> None:
    """Keep ``value``, forgetting the least recently used beyond :data:`_KEEP`."""
    with lock:
        while len(cache) >= _KEEP:
            cache.pop(next(iter(cache)))
        cache[key] = value


# --- the test function with known indices --------------------------------------------------------


class Ishigami:
    """The Ishigami function ``sin x1 + a sin^2 x2 + b x3^4 sin x1`` on [-pi, pi]^3
    (``SALib.test_functions.Ishigami``), as an evaluator of :func:`sobol_indices`."""

    outputs = ("y",)

    def __init__(self, a: float = 7.0, b: float = 0.1) -> None:
        self.a, self.b = float(a), float(b)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        from SALib.test_functions import Ishigami as salib_ishigami

        return salib_ishigami.evaluate(np.asarray(values, float), A=self.a, B=self.b)[:, None]

    def analytic(self) -> pd.DataFrame:
        """The exact indices: lever, S1, ST."""
        a, b, pi = self.a, self.b, math.pi
        v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
        v2 = a**2 / 8
        v13 = 8 * b**2 * pi**8 / 225
        total = v1 + v2 + v13
        return pd.DataFrame(
            {
                "lever": ["x1", "x2", "x3"],
                "S1": [v1 / total, v2 / total, 0.0],
                "ST": [(v1 + v13) / total, v2 / total, v13 / total],
            }
        )


def ishigami(a: float = 7.0, b: float = 0.1) -> tuple[tuple[GlobalLever, ...], Ishigami]:
    """The levers (x1, x2, x3 uniform on [-pi, pi]) and evaluator of the Ishigami
    function, for :func:`sobol_indices`; ``evaluator.analytic()`` holds the exact indices."""
    levers = tuple(
        GlobalLever(f"x{i}", "uniform", -math.pi, math.pi, key=f"x{i}", source="Ishigami")
        for i in (1, 2, 3)
    )
    return levers, Ishigami(a, b)


# --- Dask -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, workers: int | None = None, *, timeout: float = 30.0
) -> Iterator[Any]:
    """A ``distributed.Client``: to the scheduler at ``scheduler`` (e.g.
    ``"tcp://host:8786"``; its workers must run the same versions of forecast and numpy,
    checked), else to a ``LocalCluster`` of ``workers`` processes (default: one per
    core), started here and shut down on leaving. Waits at most ``timeout`` seconds for
    the scheduler and a first worker."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ForecastError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=timeout)
            except TimeoutError:
                raise ForecastError(
                    f"no Dask worker joined the scheduler at {scheduler} within {timeout:g} s"
                ) from None
            _check_versions(client)
            yield client
        return
    n = int(workers) if workers else (os.cpu_count() or 1)
    if n < 1:
        raise ForecastError(f"workers must be a positive integer, got {workers!r}")
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # no dashboard; the scheduler's status page on a free local port, not 8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _versions() -> dict[str, str]:
    """The versions the numbers depend on (SALib's design uses scipy's Sobol' sequence)."""
    from importlib.metadata import version

    import numpy
    import scipy

    from forecast._version import __version__

    return {
        "forecast": __version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "SALib": version("SALib"),
    }


def _check_versions(client) -> None:
    here = _versions()
    for worker, theirs in client.run(_versions).items():
        if theirs != here:
            raise ForecastError(
                f"Dask worker {worker} runs {theirs}, this process {here}: the numbers could "
                "differ; install the same versions on the workers"
            )


def _evaluate_block(values: np.ndarray, evaluator) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(evaluator(values), dtype=float)


def _run_design(
    evaluator, values: np.ndarray, rows_per_block: int, client, say: Callable[[str], None]
) -> np.ndarray:
    """Every row of ``values`` through ``evaluator`` on the Dask cluster, in order."""
    from distributed import as_completed

    starts = range(0, len(values), rows_per_block)
    blocks = [values[s : s + rows_per_block] for s in starts]
    handle = client.scatter(evaluator, broadcast=True, hash=False)
    run = uuid.uuid4().hex[:12]
    futures = client.map(
        _evaluate_block,
        blocks,
        evaluator=handle,
        key=[f"forecast-sobol-{run}-{i}" for i in range(len(blocks))],
    )
    try:
        step = max(1, len(blocks) // 10)
        for done, _ in enumerate(as_completed(futures), start=1):
            if done % step == 0 or done == len(blocks):
                say(f"global sensitivity: {done}/{len(blocks)} blocks of settings")
        return np.concatenate(client.gather(futures), axis=0)
    finally:
        client.cancel([*futures, handle])


# --- the analysis ------------------------------------------------------------------------------


def _seed(seed: int, purpose: int) -> int:
    """A nonzero seed for one purpose (SALib's analyze ignores a seed of 0)."""
    return int(np.random.SeedSequence([int(seed), 39, purpose]).generate_state(1)[0]) or 1


def _problem(levers: Sequence[GlobalLever]) -> dict:
    """SALib's problem: one uniform coordinate in [0, 1] per lever."""
    return {
        "num_vars": len(levers),
        "names": [lv.name for lv in levers],
        "bounds": [[0.0, 1.0]] * len(levers),
    }


def sobol_design(levers: Sequence[GlobalLever], n: int = DEFAULT_N, seed: int = 0) -> np.ndarray:
    """The lever values of every setting, shape ``(n (D + 2), D)`` in SALib's order
    (per base row: A, AB_1, ..., AB_D, B): SALib's scrambled Sobol' sequence (seeded)
    mapped through each lever's quantile function. ``n``: a power of two."""
    from SALib.sample import sobol as sobol_sample

    if isinstance(n, bool) or not isinstance(n, int) or n < 2 or n & (n - 1):
        raise ForecastError(f"n must be a power of two (Sobol' sequence), got {n!r}")
    u = sobol_sample.sample(
        _problem(levers), n, calc_second_order=False, scramble=True, seed=_seed(seed, 1)
    )
    return np.column_stack([lv.value(u[:, j]) for j, lv in enumerate(levers)])


def sobol_indices(
    levers: Sequence[GlobalLever],
    evaluator: Callable[[np.ndarray], np.ndarray],
    *,
    n: int = DEFAULT_N,
    seed: int = 0,
    resamples: int = 1000,
    conf_level: float = 0.95,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    outputs: Sequence[str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    base_rows_per_block: int = BASE_ROWS_PER_BLOCK,
) -> GlobalSensitivity:
    """First-order and total Sobol indices of each output of ``evaluator`` over
    ``levers`` (see the module docstring): SALib's design with ``n`` base rows (a power of
    two), evaluated on Dask (``client``, else ``scheduler``, else a ``LocalCluster`` of
    ``workers`` processes), SALib's estimators with ``resamples`` bootstrap resamples.

    ``evaluator(values)`` maps (rows, levers) lever values to (rows, outputs) numbers and
    must be serialisable (Dask sends it to the workers); ``outputs`` names its columns
    (default ``evaluator.outputs``).
    ``base_rows_per_block``: base rows (of ``D + 2`` settings each) per Dask task. Same
    seed, same numbers, whatever the number of workers or the size of the blocks.
    """
    from SALib.analyze import sobol as sobol_analyze

    levers = tuple(levers)
    if not isinstance(resamples, int) or resamples < 10:
        raise ForecastError(f"resamples must be an integer >= 10, got {resamples!r}")
    if not 0 < conf_level < 1:
        raise ForecastError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    outputs = tuple(outputs if outputs is not None else evaluator.outputs)
    say = progress or (lambda _m: None)
    names = [lv.name for lv in levers]
    problem = _problem(levers)
    values = sobol_design(levers, n, seed)
    if isinstance(base_rows_per_block, bool) or not isinstance(base_rows_per_block, int):
        raise ForecastError(f"base_rows_per_block must be an integer, got {base_rows_per_block!r}")
    if base_rows_per_block < 1:
        raise ForecastError(f"base_rows_per_block must be >= 1, got {base_rows_per_block!r}")
    rows_per_block = base_rows_per_block * (len(levers) + 2)
    say(f"global sensitivity: {len(values):,} settings of {len(levers)} levers")
    if client is not None:
        y = _run_design(evaluator, values, rows_per_block, client, say)
    else:
        with dask_client(scheduler, workers) as own:
            y = _run_design(evaluator, values, rows_per_block, own, say)
    if y.shape != (len(values), len(outputs)):
        raise ForecastError(
            f"the evaluator gave shape {y.shape}, expected {(len(values), len(outputs))}"
        )

    rows, sums = [], []
    z = _normal_quantile(conf_level)
    for k, output in enumerate(outputs):
        col = y[:, k]
        if not np.all(np.isfinite(col)) or np.ptp(col) == 0:
            # constant (or broken) output: no variance to share out
            for name in names:
                rows.append(
                    {"output": output, "lever": name, **dict.fromkeys(_INDEX_COLUMNS, np.nan)}
                )
            sums.append(_sum_row(output, col, np.nan, np.nan))
            continue
        si = sobol_analyze.analyze(
            problem,
            col,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=conf_level,
            seed=_seed(seed, 2 + k),
            keep_resamples=True,
        )
        for j, name in enumerate(names):
            s1, s1c, st, stc = (float(si[c][j]) for c in ("S1", "S1_conf", "ST", "ST_conf"))
            rows.append(
                {
                    "output": output,
                    "lever": name,
                    "S1": s1,
                    "S1_low": s1 - s1c,
                    "S1_high": s1 + s1c,
                    "ST": st,
                    "ST_low": st - stc,
                    "ST_high": st + stc,
                }
            )
        total = float(np.sum(si["S1"]))
        spread = float(np.std(np.sum(si["S1_conf_all"], axis=1), ddof=1)) * z
        sums.append(_sum_row(output, col, total, spread))
    indices = pd.DataFrame(rows, columns=["output", "lever", *_INDEX_COLUMNS])
    order = {o: i for i, o in enumerate(outputs)}
    indices = indices.sort_values(
        ["output", "ST", "lever"],
        key=lambda c: c.map(order) if c.name == "output" else c,
        ascending=[True, False, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
    meta = {
        "n_base": n,
        "evaluations": len(values),
        "seed": int(seed),
        "resamples": resamples,
        "conf_level": conf_level,
        "rows_per_block": rows_per_block,
        **_versions(),
        **dict(settings or {}),
    }
    descriptions = dict(descriptions or {})
    return GlobalSensitivity(
        indices=indices,
        interactions=pd.DataFrame(sums),
        levers=pd.DataFrame(
            {
                "lever": names,
                "distribution": [lv.describe() for lv in levers],
                "applies_when": [lv.condition() for lv in levers],
                "source": [lv.source for lv in levers],
            }
        ),
        outputs=pd.DataFrame(
            {"output": list(outputs), "description": [descriptions.get(o, o) for o in outputs]}
        ),
        values=y,
        settings=meta,
    )


_INDEX_COLUMNS = ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")


def _normal_quantile(conf_level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + conf_level / 2.0))


def _sum_row(output: str, col: np.ndarray, total: float, spread: float) -> dict:
    finite = col[np.isfinite(col)]
    return {
        "output": output,
        "mean": float(np.mean(finite)) if finite.size else np.nan,
        "sd": float(np.std(finite)) if finite.size else np.nan,
        "sum_S1": total,
        "interactions": 1.0 - total,
        "interactions_low": 1.0 - total - spread,
        "interactions_high": 1.0 - total + spread,
    }


def _demand_set(value) -> bool:
    from forecast.pipeline import DemandSet

    return isinstance(value, DemandSet)


@checked(
    scenario=SCENARIO,
    demand=checks.accept("a DemandSet (from forecast.fit_demand)", _demand_set),
    levers=checks.optional(
        checks.sequence(
            checks.either(checks.instance(GlobalLever, "a GlobalLever"), checks.text()),
            what="a list of GlobalLever objects or default lever names",
        )
    ),
    n=checks.integer(2, 2**20),
    draws=checks.integer(100, 100_000),
    seed=checks.SEED,
    by_year=checks.year(),
    resamples=checks.integer(10, 100_000),
    conf_level=checks.LEVEL,
    client=checks.unchecked("a distributed.Client; Dask checks it"),
    scheduler=checks.optional(checks.text()),
    workers=checks.optional(checks.WORKERS),
    progress=checks.optional(checks.function()),
    base_rows_per_block=checks.integer(1),
)
def global_sensitivity(
    scenario: str | Scenario,
    demand,
    levers: Sequence[GlobalLever | str] | None = None,
    *,
    n: int = DEFAULT_N,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    by_year: int = 2030,
    resamples: int = 1000,
    conf_level: float = 0.95,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    base_rows_per_block: int = BASE_ROWS_PER_BLOCK,
) -> GlobalSensitivity:
    """Sobol indices of the median exhaustion year, P(exhausted by ``by_year``) and the
    80% width over ``levers`` (default :data:`DEFAULT_GLOBAL_LEVERS`, or their names),
    starting from ``scenario`` with the fitted ``demand``; ``n (levers + 2)`` settings of
    ``draws`` joint draws each, on Dask (see :func:`sobol_indices`). Same seed, same
    numbers, on any number of workers or an external cluster."""
    from forecast.pipeline import check_inputs

    check_inputs(demand=demand)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 100 <= draws <= 100_000:
        raise ForecastError(f"draws must be an integer from 100 to 100,000, got {draws!r}")
    chosen = pick_levers(levers)
    evaluator = ExhaustionEvaluator(load_scenario(scenario), demand, chosen, draws, seed, by_year)
    evaluator.check()
    base = evaluator.scenario
    data_date = None
    if demand is not None:
        data_date = pd.Timestamp(demand.models["date"].max()).date().isoformat()
    return sobol_indices(
        chosen,
        evaluator,
        n=n,
        seed=seed,
        resamples=resamples,
        conf_level=conf_level,
        client=client,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        base_rows_per_block=base_rows_per_block,
        outputs=evaluator.outputs,
        descriptions=evaluator.describe_outputs(),
        settings={
            "scenario": base.name,
            "draws": int(draws),
            "by_year": int(by_year),
            "start": float(base.start),
            "horizon": float(base.horizon),
            "grid": "yearly",
            "data_date": data_date,
        },
    )


# --- the result -----------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class GlobalSensitivity(Result):
    """Sobol indices by output and lever (see the module docstring).

    ``indices``: output, lever, S1, S1_low, S1_high, ST, ST_low, ST_high (the interval at
    ``settings["conf_level"]``), levers sorted by ST within each output. ``interactions``:
    per output its mean and sd over the settings, ``sum_S1`` and ``interactions`` = 1 -
    sum(S1) with its interval. ``levers``: each lever's distribution, condition and
    source. ``outputs``: what each output is. ``values``: every setting's outputs, in
    design order (rows, outputs). ``settings``: n, seed, draws, versions, ...
    """

    indices: pd.DataFrame
    interactions: pd.DataFrame
    levers: pd.DataFrame
    outputs: pd.DataFrame
    values: np.ndarray
    settings: dict

    def summary(self) -> pd.DataFrame:
        """The indices table (one row per output and lever)."""
        return self.indices.copy()

    @checked(output=checks.optional(checks.text()))
    def ranking(self, output: str | None = None) -> list[str]:
        """Levers by total index, largest first (``output``: default the first)."""
        names = [str(o) for o in self.outputs["output"]]
        output = output or names[0]
        if output not in names:
            raise ForecastError(f"unknown output {output!r}; use one of {', '.join(names)}")
        rows = self.indices[self.indices["output"] == output]
        return list(rows.sort_values("ST", ascending=False, kind="stable")["lever"])

    def to_json_dict(self) -> dict[str, Any]:
        """What ``forecast sensitivity --global --json`` prints: per output and lever S1, ST
        and their intervals, the interactions' share, and every lever's range and source."""
        out: dict[str, Any] = {}
        for rec in self.outputs.to_dict("records"):
            name = rec["output"]
            rows = self.indices[self.indices["output"] == name]
            inter = self.interactions[self.interactions["output"] == name].iloc[0]
            out[name] = {
                "description": rec["description"],
                "levers": {
                    r["lever"]: {
                        "S1": json_float(r["S1"]),
                        "S1_interval": [json_float(r["S1_low"]), json_float(r["S1_high"])],
                        "ST": json_float(r["ST"]),
                        "ST_interval": [json_float(r["ST_low"]), json_float(r["ST_high"])],
                    }
                    for r in rows.to_dict("records")
                },
                "sum_S1": json_float(inter["sum_S1"]),
                "interactions": json_float(inter["interactions"]),
                "interactions_interval": [
                    json_float(inter["interactions_low"]),
                    json_float(inter["interactions_high"]),
                ],
                "mean": json_float(inter["mean"]),
                "sd": json_float(inter["sd"]),
            }
        return {
            "method": "Sobol indices (SALib: Saltelli design, Saltelli 2010 S1, Jansen ST, "
            "bootstrap intervals)",
            "settings": {
                k: (json_float(v) if isinstance(v, float) else v) for k, v in self.settings.items()
            },
            "outputs": out,
            "levers": [{k: v for k, v in rec.items()} for rec in self.levers.to_dict("records")],
        }

    def _title(self) -> str:
        s = self.settings
        where = f" of '{s['scenario']}'" if "scenario" in s else ""
        return (
            f"Global sensitivity{where}: Sobol indices, {s['evaluations']:,} settings "
            f"(n = {s['n_base']:,}, seed {s['seed']})"
        )

    def __repr__(self) -> str:
        level = f"{self.settings['conf_level']:.0%}"
        lines = [self._title()]
        for rec in self.outputs.to_dict("records"):
            name = rec["output"]
            lines.append(f"\n{name}: {rec['description']}")
            lines.append(f"  {'lever':<22} {'total ST [' + level + ']':>24} {'first-order S1':>24}")
            for r in self.indices[self.indices["output"] == name].to_dict("records"):
                lines.append(
                    f"  {r['lever']:<22} {_ci(r['ST'], r['ST_low'], r['ST_high']):>24} "
                    f"{_ci(r['S1'], r['S1_low'], r['S1_high']):>24}"
                )
            inter = self.interactions[self.interactions["output"] == name].iloc[0]
            lines.append(
                "  interactions (1 - sum S1): "
                + _ci(inter["interactions"], inter["interactions_low"], inter["interactions_high"])
            )
        return "\n".join(lines)


def _ci(value, low, high) -> str:
    if not np.isfinite(value):
        return "n/a (constant)"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"
