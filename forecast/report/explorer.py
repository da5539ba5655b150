"""The report's interactive scenario explorer: the draws it embeds, the settings a reader
can change, and the Python reference of the computation the page does in the browser.

The page (``forecast/report/templates/explorer.js``) holds, for ``n`` joint draws (2,000 by
default), each demand model's trajectory on a yearly grid from the data date to the
horizon (log10 tokens, quantised to 1/65,535 of the model's range and compressed) and
every stock parameter draw of the baseline's stock model with every lever switched on.
Each parameter is drawn from its own random stream keyed by its name
(:func:`forecast.stock._rng`), so the parameters of any lever combination are a selection
of these arrays: the page recomputes the stock exactly as
:meth:`forecast.stock._StockModel.trajectories` does, finds the first crossing per draw as
:func:`forecast.exhaustion.crossing_years` does, and shows the median, the 80% and 95%
intervals and P(exhausted by year).

:func:`explore` is the same computation in Python through the package's own stock model
(tests compare the page with it draw for draw, and it with
:func:`forecast.run_scenario` within Monte Carlo error). Differences from ``forecast run``
for the same settings: fewer draws (Monte Carlo error, shown on the page), a yearly
instead of a monthly grid (crossings are interpolated log-linearly between grid points,
as on the monthly grid) and demand rounded to a step below 5e-4 in log10 (an error
below 0.06% of the tokens).
"""

from __future__ import annotations

import base64
import dataclasses
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from forecast import checks
from forecast.checks import checked
from forecast.errors import ScenarioError
from forecast.exhaustion import ExhaustionResult, exhaustion
from forecast.limits import SYNTHETIC_MULTIPLIER_RANGE, VERIFIER_ACCURACY_RANGE
from forecast.scenarios import SCENARIO, Scenario, _toml_value, load_scenario
from forecast.stock.estimates import parameter_spec

__all__ = [
    "EXPLORER_DEMAND_MODELS",
    "EXPLORER_DRAWS",
    "ExplorerDraws",
    "ExplorerSettings",
    "explore",
    "explorer_draws",
]

#: Joint draws embedded in the page (Monte Carlo error of the median about 0.05 years).
EXPLORER_DRAWS = 2_000
#: Demand models the reader can choose (those fitted are offered; labels from
#: :data:`forecast.registry.DEMAND`).
EXPLORER_DEMAND_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("Default (v3): today's tokens per parameter, its random walk on", {}),
    "chinchilla": (
        "v3 at Chinchilla's 20 tokens per parameter",
        {"demand.tokens_per_parameter": "chinchilla"},
    ),
    "overtrained-5x": (
        "v3 at 5x Chinchilla (100 tokens per parameter) from 2025",
        {"demand.tokens_per_parameter": "chinchilla", "demand.overtraining": 5.0},
    ),
    "trend": (
        "v3, tokens per parameter still rising (trend)",
        {"demand.tokens_per_parameter": "trend"},
    ),
    "no-ceiling": (
        "v3 without the power, chip and latency ceiling",
        {"demand.feasibility": "none"},
    ),
    "winter": (
        "v3 with an investment winter (a 2-10-year stall)",
        {"demand.stall_probability": 1.0},
    ),
}
#: The demand choices of the page, in menu order.
EXPLORER_DEMAND_MODELS: tuple[str, ...] = tuple(EXPLORER_DEMAND_VARIANTS)
#: Stock parameters the page needs: the baseline's stock model with every lever on.
STOCK_KEYS = (
    "raw_base",
    "log_growth",
    "quality",
    "repetition_flat",
    "consent_anchor",
    "consent_plateau",
    "consent_rate",
    "consent_anchor_year",
    "ai_plateau",
    "ai_timescale",
    "ai_onset",
    "isolation_cutoff",
    "isolation_verified",
    "synthetic_ratio",
    "synthetic_efficiency",
    "synthetic_cap",
    "synthetic_valid_share",
)
SYNTHETIC_CHOICES = ("none", "measured", "fixed")
_QUANT_LEVELS = 65_535
#: Embedded demand is capped at 10^30 tokens (see :func:`_encode_demand`).
DEMAND_LOG10_CAP = 30.0


@dataclass(frozen=True)
class ExplorerSettings:
    """One position of the explorer's controls (defaults: the baseline scenario).

    ``demand_model``: a variant of demand v3 (:data:`EXPLORER_DEMAND_VARIANTS`: the
    default, Chinchilla, 5x overtrained, the ratio's trend, no ceiling, an investment
    winter). ``quality_fraction`` / ``stock_growth``: None = the table's uncertain default,
    a number fixes it. ``synthetic``: "none", "measured" (the ranges from
    data/synthetic_data.csv, optionally through a verifier of ``verifier_accuracy``) or
    "fixed" (a fixed ``synthetic_multiplier``).
    """

    demand_model: str = "default"
    repetition: str = "muennighoff"
    epochs: float = 4.0
    quality_fraction: float | None = None
    stock_growth: float | None = None
    consent_restriction: bool = False
    contamination: bool = False
    isolation: bool = False
    synthetic: str = "none"
    synthetic_multiplier: float = 2.0
    verifier_accuracy: float | None = None

    def __post_init__(self) -> None:
        number, flag = checks.number(), checks.flag()
        checks.fields(
            self,
            demand_model=checks.text(),
            repetition=checks.text(),
            epochs=number,
            quality_fraction=checks.optional(number),
            stock_growth=checks.optional(number),
            consent_restriction=flag,
            contamination=flag,
            isolation=flag,
            synthetic=checks.text(),
            synthetic_multiplier=number,
            verifier_accuracy=checks.optional(number),
        )
        if self.demand_model not in EXPLORER_DEMAND_MODELS:
            raise ScenarioError(
                f"demand_model must be one of {', '.join(EXPLORER_DEMAND_MODELS)}, "
                f"got {self.demand_model!r}"
            )
        if self.synthetic not in SYNTHETIC_CHOICES:
            raise ScenarioError(
                f"synthetic must be one of {', '.join(SYNTHETIC_CHOICES)}, got {self.synthetic!r}"
            )
        lo, hi = VERIFIER_ACCURACY_RANGE
        if self.verifier_accuracy is not None and not lo <= self.verifier_accuracy <= hi:
            raise ScenarioError(f"verifier_accuracy must be in [{lo}, {hi}]")
        lo, hi = SYNTHETIC_MULTIPLIER_RANGE
        if not lo <= self.synthetic_multiplier <= hi:
            raise ScenarioError(f"synthetic_multiplier must be in [{lo}, {hi}]")

    @checked(base=SCENARIO)
    def overrides(self, base: Scenario | str = "baseline") -> dict[str, Any]:
        """The dotted overrides of :func:`forecast.run_scenario` (and ``forecast run
        --set``) that give these settings on ``base``; only what differs from it."""
        base = load_scenario(base)
        want: dict[str, Any] = {
            "demand.model": "default",
            "demand.tokens_per_parameter": "frontier",
            "demand.overtraining": 1.0,
            "demand.feasibility": "sevilla2024",
            "demand.stall_probability": 0.0,
            **EXPLORER_DEMAND_VARIANTS[self.demand_model][1],
            "stock.repetition": self.repetition,
            "stock.epochs": float(self.epochs) if self.repetition == "muennighoff" else None,
            "stock.quality_fraction": self.quality_fraction,
            "stock.stock_growth": self.stock_growth,
            "stock.consent_restriction": True if self.consent_restriction else None,
            "stock.contamination": True if self.contamination else None,
            "stock.isolation": True if self.isolation else None,
            "stock.synthetic": self._synthetic_value(),
        }
        out = {}
        for key, value in want.items():
            section, leaf = key.split(".")
            current = getattr(getattr(base, section), leaf)
            if key == "stock.repetition" and current is None:
                current = "flat"  # the stock models' default
            if key == "demand.tokens_per_parameter" and current is None:
                current = "frontier"  # demand v3's default
            if value is None:
                if key != "stock.epochs" and current not in (None, False):
                    out[key] = False  # a lever the base switches on, switched off
            elif not _same(current, value):
                out[key] = value
        return out

    def _synthetic_value(self):
        if self.synthetic == "fixed":
            return float(self.synthetic_multiplier)
        if self.synthetic == "measured":
            if self.verifier_accuracy is None:
                return True
            return {"verifier_accuracy": float(self.verifier_accuracy)}
        return None

    @checked(base=SCENARIO)
    def scenario(self, base: Scenario | str = "baseline") -> Scenario:
        """``base`` with these settings."""
        return load_scenario(base).with_overrides(**self.overrides(base))

    @checked(base=checks.text())
    def command(self, base: str = "baseline") -> str:
        """The ``forecast run`` command line for these settings."""
        parts = [f"forecast run --scenario {base}"]
        for key, value in self.overrides(base).items():
            parts.append(f"--set {key}={_toml_literal(value)}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe field values (the page's control state uses the same names)."""
        return dataclasses.asdict(self)


def _same(a, b) -> bool:
    numbers = (int, float, np.integer, np.floating)
    bools = isinstance(a, bool) or isinstance(b, bool)
    if isinstance(a, numbers) and isinstance(b, numbers) and not bools:
        return math.isclose(float(a), float(b))
    return a == b or (a == "default" and b is True)


def _toml_literal(value) -> str:
    """A ``--set`` value: the scenario files' TOML writer, an inline table quoted for the
    shell."""
    text = _toml_value(value)
    return f"'{text}'" if isinstance(value, dict) else text


@dataclass
class ExplorerDraws:
    """What the page embeds: the grid, each demand model's log10 tokens (n, T) as the page
    decodes them, and the stock parameter draws (n,) of every lever (``STOCK_KEYS``)."""

    scenario: Scenario
    years: np.ndarray
    demand_log10: dict[str, np.ndarray]
    demand_codes: dict[str, dict[str, Any]]
    stock_params: dict[str, np.ndarray]
    stock_seed: int
    r_star: float
    stock_base_year: float
    seed: int

    @property
    def n_draws(self) -> int:
        """Joint draws embedded."""
        return next(iter(self.stock_params.values())).size

    def payload(self) -> dict[str, Any]:
        """JSON-safe object the page reads (arrays base64: demand as zlib-compressed
        uint16 time differences, stock parameters as little-endian float32)."""
        stock = {
            k: base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
            for k, v in self.stock_params.items()
        }
        return {
            "format": "forecast-explorer/1",
            "scenario": self.scenario.name,
            "seed": self.seed,
            "n": self.n_draws,
            "years": [float(y) for y in self.years],
            "start": float(self.years[0]),
            "horizon": float(self.years[-1]),
            "r_star": self.r_star,
            "base_year": self.stock_base_year,
            "demand": self.demand_codes,
            "demand_overrides": {k: EXPLORER_DEMAND_VARIANTS[k][1] for k in self.demand_codes},
            "stock": stock,
            "defaults": ExplorerSettings().to_dict(),
        }


def _encode_demand(log10: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Quantise log10 tokens to uint16 over their range, difference along time (mod
    2**16) and deflate; returns the values the page will decode and the code."""
    # Above 10^30 tokens (more than 5 orders of magnitude beyond any stock the controls
    # allow; tested) a trajectory has long crossed; the cap keeps the quantum small.
    log10 = np.minimum(log10, DEMAND_LOG10_CAP)
    lo, hi = float(log10.min()), float(log10.max())
    step = max(hi - lo, 1e-9) / _QUANT_LEVELS
    q = np.rint((log10 - lo) / step).astype(np.int64)
    decoded = lo + q * step
    diff = np.diff(q, axis=1, prepend=0).astype(np.uint16)  # wraps mod 2**16
    data = zlib.compress(diff.astype("<u2").tobytes(), 9)
    code = {
        "lo": lo,
        "step": step,
        "shape": list(q.shape),
        "data": base64.b64encode(data).decode("ascii"),
    }
    return decoded, code


def _demand_set(value) -> bool:
    from forecast.pipeline import DemandSet

    return isinstance(value, DemandSet)


@checked(
    demand=checks.accept("a DemandSet (from forecast.fit_demand)", _demand_set),
    scenario=SCENARIO,
    n_draws=checks.integer(10, 100_000),
    seed=checks.optional(checks.SEED),
    demand_models=checks.optional(checks.sequence(checks.text())),
)
def explorer_draws(
    demand,
    scenario: Scenario | str = "baseline",
    n_draws: int = EXPLORER_DRAWS,
    seed: int | None = None,
    demand_models=None,
) -> ExplorerDraws:
    """The draws the explorer embeds, from a fitted :class:`~forecast.pipeline.DemandSet`.

    ``scenario`` (default the baseline) gives the start (data date), horizon, seed and the
    stock model; ``demand_models``: the choices offered (default every one of
    :data:`EXPLORER_DEMAND_MODELS` that ``demand`` can project).
    """
    from forecast.pipeline import _at_data_date, demand_models_needed, demand_projector

    base = _at_data_date(load_scenario(scenario), demand)
    stock_model = base.stock.build()
    seed = base.seed if seed is None else int(seed)
    years = np.union1d([base.start], np.arange(math.ceil(base.start), base.horizon + 1e-9))
    if demand_models is None:
        demand_models = [
            m
            for m in EXPLORER_DEMAND_MODELS
            if set(demand_models_needed(ExplorerSettings(demand_model=m).scenario(base)))
            <= set(demand.fits)
        ]
    demand_seed, stock_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    log10s, codes = {}, {}
    for model in demand_models:
        spec = ExplorerSettings(demand_model=model).scenario(base)
        tokens = demand_projector(spec, demand)(years, n_draws, demand_seed)
        log10s[model], codes[model] = _encode_demand(np.log10(tokens))
    return ExplorerDraws(
        scenario=base,
        years=years,
        demand_log10=log10s,
        demand_codes=codes,
        stock_params=_all_lever_parameters(stock_model, n_draws, stock_seed),
        stock_seed=stock_seed,
        r_star=float(parameter_spec(stock_model.table(), "muennighoff_rd_star").central),
        stock_base_year=float(stock_model.base_year),
        seed=seed,
    )


def _all_lever_parameters(stock_model, n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-draw parameters of the base stock model with every lever on (flat repetition,
    so its multiplier is drawn; verified synthetic data, so the valid share is drawn)."""
    from forecast.stock.levers import Synthetic

    model = dataclasses.replace(
        stock_model,
        repetition="flat",
        epochs=None,
        consent_restriction=True,
        contamination=True,
        isolation=True,
        synthetic=Synthetic(verifier_accuracy=0.75),
        quality_fraction=None,
        stock_growth=None,
    )
    p = model.sample_parameters(n, seed)
    p["repetition_flat"] = p.pop("repetition")
    missing = [k for k in STOCK_KEYS if k not in p]
    if missing:
        raise ScenarioError(
            f"the explorer needs the {stock_model.name} stock model's parameters "
            f"{', '.join(missing)}"
        )
    return {k: np.asarray(p[k], dtype=float) for k in STOCK_KEYS}


@checked(
    draws=checks.instance(ExplorerDraws, "ExplorerDraws (from forecast.explorer_draws)"),
    settings=checks.optional(checks.instance(ExplorerSettings, "ExplorerSettings")),
)
def explore(draws: ExplorerDraws, settings: ExplorerSettings | None = None) -> ExhaustionResult:
    """Exhaustion dates for ``settings`` over the embedded draws: what the page shows.

    The stock comes from the package's stock model for the scenario these settings give
    (same stock seed as the page's parameters), the demand from the embedded (rounded)
    trajectories; crossings on the yearly grid.
    """
    settings = settings or ExplorerSettings()
    if settings.demand_model not in draws.demand_log10:
        raise ScenarioError(f"demand model {settings.demand_model!r} is not embedded")
    scenario = settings.scenario(draws.scenario)
    stock_model = scenario.stock.build()
    y = draws.years
    stock = stock_model.trajectories(
        stock_model.sample_parameters(draws.n_draws, draws.stock_seed), y
    )
    log_demand = draws.demand_log10[settings.demand_model]
    with np.errstate(invalid="ignore"):
        return exhaustion(y, 10.0**log_demand, stock, horizon=float(y[-1]))


def page_context(draws: ExplorerDraws) -> dict[str, Any]:
    """What ``templates/explorer.html.j2`` needs: labels, defaults, the payload (JSON, safe
    inside a ``<script>`` element) and the script."""
    import json
    from importlib.resources import files

    from markupsafe import Markup

    quality = np.quantile(draws.stock_params["quality"], [0.05, 0.95])
    growth = np.exp(np.quantile(draws.stock_params["log_growth"], [0.05, 0.95]))
    payload = json.dumps(draws.payload(), separators=(",", ":"), allow_nan=False)
    script = files("forecast.report").joinpath("templates/explorer.js").read_text(encoding="utf-8")
    baseline = explore(draws)
    return {
        "n": draws.n_draws,
        "mc_se": f"{baseline.quantile_mc_se():.2f}",
        "scenario": draws.scenario.name,
        "full_draws": draws.scenario.draws,
        "horizon": draws.years[-1],
        "demand_labels": {k: EXPLORER_DEMAND_VARIANTS[k][0] for k in draws.demand_codes},
        "defaults": ExplorerSettings().to_dict(),
        "quality_default": (
            f"uncertain, table default (90% of draws {100 * quality[0]:.0f}-"
            f"{100 * quality[1]:.0f}%)"
        ),
        "growth_default": (
            f"uncertain, table default (90% of draws {growth[0]:.2f}-{growth[1]:.2f}x per year)"
        ),
        # "</" cannot end the script element early once escaped as "<\/".
        "payload_json": Markup(payload.replace("</", "<\\/")),
        "script": Markup(script.replace("</script", "<\\/script")),
    }
