"""Scenarios: named, composable sets of levers, read from and written to TOML.

A scenario says which demand model to use (and how overtrained future runs are), which
stock model and which stock levers, the date grid and the number of joint draws. Built-in
scenarios live in ``forecast/scenario_files/*.toml``; ``forecast scenarios`` lists them.

TOML layout (every key optional except ``name``; unknown keys are errors)::

    name = "my-scenario"
    description = "One line shown by `forecast scenarios`."
    extends = "baseline"          # start from another scenario and override keys
    start = "data"                # first date of the monthly grid: "data" (the latest
                                  # run's date, the default) or a decimal year
    horizon = 2100.0              # last date; draws not exhausted by then are counted
    draws = 100000                # joint draws of demand and stock
    seed = 0

    [demand]
    model = "default"             # default (demand v3) | compute-frontier (the same fit) |
                                  # damped-trend (v2) | frontier | slowdown | exponential |
                                  # random-walk-slope | compute | epoch2024 (Epoch's mixture)
                                  # | epoch2022 (Epoch 2022 historical) | epoch2030 (Sevilla et al.)
    tokens_per_parameter = "frontier"  # v3: "frontier" (today's, a random walk on), "held", "trend", "chinchilla"
                                  # or a number; compute-based demand: a number (20)
    overtraining = 1.0            # k: k x the tokens per parameter -> sqrt(k) x the tokens
    overtraining_from = 2025.0    # date from which the overtraining factor applies
    compute_growth = [0.4, 0.7]   # v3: future growth of the largest run's compute, OOM/yr
                                  # (a number or a 90% interval; unset = the fitted rate)
    feasibility = "sevilla2024"   # v3: power, chip and latency limits (or "none")
    stall_probability = 0.0       # v3: chance of an investment winter (a stall of compute)

    [stock]
    model = "epoch2024"           # epoch2024 | epoch2022-high-quality
    quality_fraction = [0.1, 0.4] # a value, or [low, high]: a 90% interval, as in every
                                  # lever; [low, high, 0.95] for another interval
    stock_growth = [1.03, 1.13]   # yearly growth factor of the stock
    repetition = "muennighoff"    # flat (Epoch's 2-5x) | muennighoff | none
    epochs = 4                    # passes over the data, with repetition = "muennighoff"
    consent_restriction = true    # true (Longpre et al. 2024 path), a constant share, or a table
    contamination = false         # AI-written share of new text (true or a table)
    isolation = false             # only pre-cutoff text counts (true or a table)
    synthetic = false             # synthetic data multiplier: true, a factor (2.0) or a table
                                  # {ratio, efficiency, cap, verifier_accuracy, valid_share}

    [published]                   # optional: the published numbers this reproduces
    median = 2028.0
    p10 = 2026.0
    p90 = 2032.0
    source = "Villalobos et al. 2024"
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from forecast import checks, registry
from forecast.checks import checked
from forecast.errors import LeverError, ScenarioError
from forecast.limits import DRAWS_RANGE, MAX_INPUT_BYTES, SEED_RANGE
from forecast.stock.levers import LEVER_KEYS, REPETITION_CHOICES, STOCK_LEVERS

#: Demand models whose tokens come from compute (the overtraining lever applies to them).
COMPUTE_DEMAND_MODELS = registry.compute_demand_names()
#: Demand v3 under its scenario names (its own levers apply to them).
V3_DEMAND_MODELS = ("default", "compute-frontier")
#: ``start`` value meaning the latest run's release date.
DATA_DATE = "data"
#: What ``demand.model`` and ``stock.model`` accept (:mod:`forecast.registry`).
DEMAND_MODELS = registry.scenario_demand_names()
STOCK_MODELS = registry.stock_model_names()
REPETITION = REPETITION_CHOICES

_TOP_KEYS = {"name", "description", "extends", "start", "horizon", "draws", "seed"}
_DEMAND_KEYS = {
    "model",
    "overtraining",
    "overtraining_from",
    "tokens_per_parameter",
    "compute_growth",
    "feasibility",
    "stall_probability",
}
#: [stock] keys: the model, an estimates table, and every lever's keys (forecast.stock.levers).
_STOCK_KEYS = {"model", "estimates", *LEVER_KEYS}
_PUBLISHED_KEYS = {"median", "p10", "p90", "p5", "p95", "p2_5", "p97_5", "source", "note"}
_SECTIONS = {"demand": _DEMAND_KEYS, "stock": _STOCK_KEYS, "published": _PUBLISHED_KEYS}


@dataclass(frozen=True)
class DemandSpec:
    """Which demand projection, and its levers.

    ``model``: a name of :data:`DEMAND_MODELS` ("default" is demand v3; "average", the name
    it had until 0.8, is read as "default"). Levers of compute-based demand
    (:data:`COMPUTE_DEMAND_MODELS`): ``overtraining`` (a factor on the tokens per parameter
    from ``overtraining_from``) and ``tokens_per_parameter`` (a number; for demand v3 also
    "frontier", "trend" or "chinchilla"; None = the model's own: "frontier" for v3, 20 for
    the others). Levers of demand v3 only: ``compute_growth`` (OOM/yr: a number or
    ``[low, high]``, a 90% interval; None = the fitted rate), ``feasibility``
    ("sevilla2024" or "none") and ``stall_probability`` (an investment winter's chance).
    For token-trend demand ``tokens_per_parameter`` only converts its tokens to the
    compute they imply (default Chinchilla's 20).
    """

    model: str = "default"
    overtraining: float = 1.0
    overtraining_from: float = 2025.0
    tokens_per_parameter: float | str | None = None
    compute_growth: float | list | None = None
    feasibility: str = "sevilla2024"
    stall_probability: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.model, str) and self.model in registry.DEMAND_ALIASES:
            object.__setattr__(self, "model", registry.DEMAND_ALIASES[self.model])
        _choice("demand.model", self.model, DEMAND_MODELS)
        _number("demand.overtraining", self.overtraining, 1.0, 1000.0)
        _number("demand.overtraining_from", self.overtraining_from, 2000.0, 2100.0)
        v3 = self.model in V3_DEMAND_MODELS
        r = self.tokens_per_parameter
        if isinstance(r, str):
            allowed = ("frontier", "held", "trend", "chinchilla")
            if not v3:
                raise ScenarioError(
                    f"demand.tokens_per_parameter = {r!r} needs demand v3 "
                    f"(demand.model = {' or '.join(map(repr, V3_DEMAND_MODELS))}); give a number "
                    f"for {self.model!r}"
                )
            _choice("demand.tokens_per_parameter", r, allowed)
        elif r is not None:
            _number("demand.tokens_per_parameter", r, 1.0, 10000.0)
        if self.overtraining != 1.0 and self.model not in COMPUTE_DEMAND_MODELS:
            raise ScenarioError(
                f"demand.overtraining = {self.overtraining:g} needs compute-based demand "
                f"(demand.model = {' or '.join(map(repr, COMPUTE_DEMAND_MODELS))}, got "
                f"{self.model!r}): token trends already contain the move to overtraining "
                "(docs/model.md, 'Overtraining')"
            )
        g = self.compute_growth
        if g is not None:
            if isinstance(g, list | tuple):
                if len(g) not in (2, 3):
                    raise ScenarioError(
                        f"demand.compute_growth must be a number or [low, high], got {g!r}"
                    )
                for value in g[:2]:
                    _number("demand.compute_growth", value, 0.0, 3.0)
                if g[0] >= g[1]:
                    raise ScenarioError(
                        f"demand.compute_growth: low {g[0]} is not below high {g[1]}"
                    )
                if len(g) == 3:
                    _number("demand.compute_growth interval", g[2], 0.01, 0.99)
            else:
                _number("demand.compute_growth", g, 0.0, 3.0)
        _choice("demand.feasibility", self.feasibility, ("sevilla2024", "none"))
        _number("demand.stall_probability", self.stall_probability, 0.0, 1.0)
        changed = [
            key
            for key, default in (
                ("compute_growth", None),
                ("feasibility", "sevilla2024"),
                ("stall_probability", 0.0),
            )
            if getattr(self, key) != default
        ]
        if changed and not v3:
            raise ScenarioError(
                f"demand.{changed[0]} is a lever of demand v3 (demand.model = "
                f"{' or '.join(map(repr, V3_DEMAND_MODELS))}), not of {self.model!r}"
            )

    def compute_levers(self):
        """The :class:`~forecast.demand.compute_frontier.ComputeLevers` of demand v3."""
        from forecast.demand.compute_frontier import ComputeLevers

        g = self.compute_growth
        return ComputeLevers(
            tokens_per_parameter=(
                "frontier" if self.tokens_per_parameter is None else self.tokens_per_parameter
            ),
            overtraining=float(self.overtraining),
            overtraining_from=float(self.overtraining_from),
            compute_growth=tuple(g) if isinstance(g, list | tuple) else g,
            feasibility=self.feasibility,
            stall_probability=float(self.stall_probability),
        )

    def chinchilla_ratio(self) -> float:
        """The tokens per parameter of a numeric ``tokens_per_parameter`` (20 when unset)."""
        r = self.tokens_per_parameter
        return 20.0 if r is None or isinstance(r, str) else float(r)


@dataclass(frozen=True)
class StockSpec:
    """Which stock model, and the values of its levers (None = the table's default)."""

    model: str = "epoch2024"
    quality_fraction: Any = None
    stock_growth: Any = None
    repetition: str | None = None
    epochs: Any = None
    consent_restriction: Any = None
    contamination: Any = None
    isolation: Any = None
    synthetic: Any = None
    #: Path of a stock-estimates table (the layout of data/stock_estimates.csv); None =
    #: the bundled one. In a TOML file a relative path is relative to that file.
    estimates: str | None = None

    def __post_init__(self) -> None:
        _choice("stock.model", self.model, STOCK_MODELS)
        if self.estimates is not None:
            if not isinstance(self.estimates, str | Path):
                raise ScenarioError(
                    f"stock.estimates must be the path of a CSV file, got {self.estimates!r}"
                )
            from forecast.stock.estimates import cached_stock_estimates

            # DataError names file, row, column; parsed once per file version, so the
            # stock model built from this spec reads no file again.
            cached_stock_estimates(Path(self.estimates))
        # The stock model's own lever components check every lever (forecast.stock.levers), so
        # a scenario file and a Python constructor share one set of bounds.
        for lever in STOCK_LEVERS:
            try:
                values = {k: lever.from_toml(k, getattr(self, k)) for k in lever.keys}
                lever.coerce(values)
            except (LeverError, ValueError, TypeError) as exc:
                message = str(exc)
                key = next((k for k in lever.keys if message.startswith(k)), None)
                raise ScenarioError(
                    f"stock.{message}" if key else f"stock.{lever.keys[0]}: {message}"
                ) from None

    def build(self):
        """The :mod:`forecast.stock` model with these levers (validated there too)."""
        cls = registry.stock_class(self.model)
        kwargs: dict[str, Any] = {}
        for lever in STOCK_LEVERS:
            for key in lever.keys:
                value = getattr(self, key)
                if value is not None:
                    kwargs[key] = lever.from_toml(key, value)
        if self.estimates is not None:
            kwargs["estimates_path"] = str(self.estimates)
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            raise ScenarioError(f"stock: {exc}") from exc


@dataclass(frozen=True)
class Scenario:
    """A named set of levers. ``published`` holds the numbers it reproduces, if any."""

    name: str
    description: str = ""
    demand: DemandSpec = field(default_factory=DemandSpec)
    stock: StockSpec = field(default_factory=StockSpec)
    #: First date of the grid (decimal year), or "data": the latest run's release date,
    #: resolved when the scenario runs (:meth:`at_data_date`).
    start: float | str = DATA_DATE
    horizon: float = 2100.0
    draws: int = 100_000
    seed: int = 0
    published: dict = field(default_factory=dict)
    source: str = ""
    #: The description before :meth:`with_overrides` changed a lever, and the levers it
    #: changed (dotted key -> value; not part of equality or TOML: the description says it).
    _base_description: str | None = field(default=None, compare=False, repr=False)
    _overridden: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScenarioError("scenario name must be a non-empty string")
        for key, kind in (("demand", DemandSpec), ("stock", StockSpec), ("source", str)):
            if not isinstance(getattr(self, key), kind):
                got = checks.describe(getattr(self, key))
                raise ScenarioError(f"{key} must be a {kind.__name__}, got {got}")
        if isinstance(self.start, str):
            if self.start != DATA_DATE:
                raise ScenarioError(
                    f"start must be a decimal year or {DATA_DATE!r} (the latest run's date), "
                    f"got {checks.describe(self.start)}"
                )
        else:
            _number("start", self.start, 1990.0, 2099.0)
        _number("horizon", self.horizon, 2000.0, 2300.0)
        if not isinstance(self.start, str) and self.horizon <= self.start + 1:
            raise ScenarioError(
                f"horizon ({self.horizon}) must be more than a year after start ({self.start})"
            )
        if isinstance(self.draws, bool) or not isinstance(self.draws, int):
            raise ScenarioError(f"draws must be an integer, got {checks.describe(self.draws)}")
        if not DRAWS_RANGE[0] <= self.draws <= DRAWS_RANGE[1]:
            raise ScenarioError(
                f"draws must be between {DRAWS_RANGE[0]:,} and {DRAWS_RANGE[1]:,}, got {self.draws}"
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]
        ):
            raise ScenarioError(
                f"seed must be an integer from 0 to 2**32 - 1, got {checks.describe(self.seed)}"
            )
        if not isinstance(self.description, str):
            raise ScenarioError(
                f"description must be a string, got {checks.describe(self.description)}"
            )
        if not isinstance(self.published, dict):
            raise ScenarioError(
                f"[published] must be a table, got {checks.describe(self.published)}"
            )
        for key, value in self.published.items():
            if key in ("source", "note"):
                if not isinstance(value, str):
                    raise ScenarioError(
                        f"published.{key} must be a string, got {checks.describe(value)}"
                    )
            else:
                _number(f"published.{key}", value, 1900.0, 2300.0)

    # --- conversions -------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain dict in the TOML layout (None values left out)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "start": self.start,
            "horizon": self.horizon,
            "draws": self.draws,
            "seed": self.seed,
            "demand": _drop_none(self.demand.__dict__),
            "stock": _drop_none(self.stock.__dict__),
        }
        if self.published:
            out["published"] = dict(self.published)
        return out

    def to_toml(self) -> str:
        """TOML text that :func:`from_toml` reads back to an equal scenario."""
        return _dump_toml(self.to_dict())

    @checked(data_year=checks.number())
    def at_data_date(self, data_year: float) -> Scenario:
        """This scenario with ``start = "data"`` replaced by ``data_year`` (decimal year)."""
        if self.start != DATA_DATE:
            return self
        return replace(self, start=round(float(data_year), 4))

    def with_overrides(self, **changes) -> Scenario:
        """A copy with top-level or dotted changes, e.g. ``{"demand.overtraining": 5}``.

        The name is kept; :func:`forecast.run_scenario` renames a scenario whose levers
        changed (:func:`override_name`). The description says which levers changed
        (``"... Overridden: stock.epochs=8."``), since it was written for the old values;
        changes of :data:`SAMPLING_KEYS` leave it alone, and a ``description`` given here
        replaces it."""
        data = self.to_dict()
        keys = {key.replace("__", ".") for key in changes}
        if "stock.repetition" in keys and "stock.epochs" not in keys:
            # As with ``extends``: epochs belong to the repetition they were set with.
            data.get("stock", {}).pop("epochs", None)
        for key, value in changes.items():
            section, _, leaf = key.replace("__", ".").rpartition(".")
            target = data.setdefault(section, {}) if section else data
            target[leaf] = value
        levers = {
            key.replace("__", "."): value
            for key, value in changes.items()
            if key.replace("__", ".") not in SAMPLING_KEYS
        }
        if "description" in keys:  # the caller's own words, for these values: kept as
            base, overridden = data["description"], {}  # given (later levers added to them)
        else:
            base = self.description if self._base_description is None else self._base_description
            overridden = {**dict(self._overridden), **levers}
        if overridden:
            data["description"] = describe_overrides(base, overridden)
        scenario = from_dict(data, source=self.source)
        if not overridden:
            return scenario
        return replace(scenario, _base_description=base, _overridden=tuple(overridden.items()))


#: The argument kind of every function that takes a scenario (forecast.checks).
SCENARIO = checks.either(
    checks.path(),
    checks.instance(Scenario, "a Scenario"),
    what="a scenario name, a TOML path or a Scenario",
)

#: Overrides that change how a scenario is sampled, not what it assumes: no new name.
SAMPLING_KEYS = ("draws", "seed", "start", "horizon", "name", "description")


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` (``forecast run --set``) as ``(key, value)``: the value is TOML (a
    number, true/false, a quoted string, an inline table), or a bare word taken as a
    string. Raises :class:`~forecast.errors.ScenarioError` naming what is wrong."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not value.strip():
        raise ScenarioError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        if value.strip().replace("-", "").replace("_", "").isalnum():
            return key, value.strip()
        raise ScenarioError(
            f"{key}: {value!r} is not a TOML value (a number, true/false, a string or an "
            "inline table such as '{verifier_accuracy = 0.9}')"
        ) from None


def override_name(name: str, overrides: dict) -> str:
    """``"baseline [stock.repetition='flat']"``: the name of a scenario whose levers changed.

    Keys in :data:`SAMPLING_KEYS` do not count; with no lever change the name is kept.
    """
    levers = {k: v for k, v in overrides.items() if k.replace("__", ".") not in SAMPLING_KEYS}
    if not levers:
        return name
    return f"{name} [{_override_parts(levers)}]"


def _override_parts(overrides: dict) -> str:
    return ", ".join(
        f"{k.replace('__', '.')}={repr(v) if isinstance(v, str) else v}"
        for k, v in sorted(overrides.items())
    )


def describe_overrides(description: str, overrides: dict) -> str:
    """``description`` with the levers ``overrides`` changed named after it: ``"... (4
    epochs). Overridden: stock.epochs=8."`` (the words were written for the old values)."""
    parts = _override_parts(overrides)
    text = description.rstrip()
    if not text:
        return f"Overridden: {parts}."
    if text.endswith("."):
        return f"{text} Overridden: {parts}."
    return f"{text}; overridden: {parts}"


def from_dict(data: dict, source: str = "<dict>") -> Scenario:
    """Validate a scenario dict (TOML layout) and build the :class:`Scenario`."""
    data = copy.deepcopy(data)
    if "extends" in data:
        parent_name = data.pop("extends")
        if not isinstance(parent_name, str):
            raise ScenarioError(
                f"{source}: extends must be a scenario name or path, got {parent_name!r}"
            )
        here = Path(source)
        if parent_name not in builtin_names() and here.is_file():
            # A path is relative to the file that names it, never to the working directory.
            parent_path = Path(parent_name)
            if not parent_path.is_absolute():
                parent_path = here.parent / parent_path
            if not parent_path.is_file():
                raise ScenarioError(
                    f"{source}: extends = {parent_name!r} is neither a built-in scenario "
                    f"({', '.join(builtin_names())}) nor a file next to it ({parent_path})"
                )
            parent_name = str(parent_path)
        key = _extends_key(parent_name)
        if key in _EXTENDING:
            raise ScenarioError(f"{source}: 'extends' loops back to {parent_name!r}")
        _EXTENDING.append(key)
        try:
            parent = load_scenario(parent_name)
        finally:
            _EXTENDING.pop()
        merged = parent.to_dict()
        merged.pop("published", None)
        child_stock = data.get("stock")
        if (
            isinstance(child_stock, dict)
            and "repetition" in child_stock
            and "epochs" not in child_stock
            and child_stock["repetition"] != "muennighoff"
        ):
            merged.get("stock", {}).pop("epochs", None)  # epochs belong to the parent's repetition
        for key, value in data.items():
            if key in _SECTIONS and isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
        data = merged
    unknown = set(data) - _TOP_KEYS - set(_SECTIONS)
    if unknown:
        hints = [
            f"{section}.{key}"
            for key in sorted(unknown)
            for section, allowed in _SECTIONS.items()
            if key in allowed
        ]
        hint = f"; did you mean {', '.join(map(repr, hints))}?" if hints else ""
        raise ScenarioError(
            f"{source}: unknown key(s) {sorted(unknown)}{hint} "
            f"(allowed: {sorted(_TOP_KEYS | set(_SECTIONS))})"
        )
    for section, allowed in _SECTIONS.items():
        value = data.get(section, {})
        if not isinstance(value, dict):
            raise ScenarioError(f"{source}: [{section}] must be a table")
        bad = set(value) - allowed
        if bad:
            raise ScenarioError(
                f"{source}: unknown key(s) {sorted(bad)} in [{section}]; allowed: {sorted(allowed)}"
            )
    estimates = data.get("stock", {}).get("estimates")
    if isinstance(estimates, str) and not Path(estimates).is_absolute():
        here = Path(source)
        # A file's relative path is relative to that file; a dict's (Python) to the
        # working directory.
        base = here.parent if here.is_file() else Path.cwd()
        data["stock"]["estimates"] = str((base / estimates).resolve())
    if "name" not in data:
        raise ScenarioError(f"{source}: missing required key 'name'")
    try:
        return Scenario(
            name=data["name"],
            description=data.get("description", ""),
            demand=DemandSpec(**data.get("demand", {})),
            stock=StockSpec(**data.get("stock", {})),
            start=data.get("start", DATA_DATE),
            horizon=data.get("horizon", 2100.0),
            draws=data.get("draws", 100_000),
            seed=data.get("seed", 0),
            published=data.get("published", {}),
            source=source,
        )
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


#: Scenarios being loaded through ``extends`` (to report loops instead of recursing).
_EXTENDING: list[str] = []


def _extends_key(name: str) -> str:
    path = Path(name)
    return str(path.resolve()) if path.is_file() else name


def from_toml(text: str, source: str = "<toml>") -> Scenario:
    """Parse TOML text (``tomllib``: no code is evaluated) into a validated scenario."""
    try:
        data = tomllib.loads(text)
        return from_dict(data, source=source)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: values nested too deeply to be a scenario") from None


def _builtin_dir():
    return resources.files("forecast") / "scenario_files"


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, in display order."""
    order = {"baseline": 0, "epoch2024": 1, "epoch2024-overtrain5x": 2, "epoch2022-high-quality": 3}
    names = [p.name[: -len(".toml")] for p in _builtin_dir().iterdir() if p.name.endswith(".toml")]
    return sorted(names, key=lambda n: (order.get(n, 99), n))


@checked(name_or_path=SCENARIO)
def load_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """A built-in scenario by name, or a scenario TOML file by path."""
    if isinstance(name_or_path, Scenario):
        return name_or_path
    text_name = str(name_or_path)
    if text_name in builtin_names():
        resource = _builtin_dir() / f"{text_name}.toml"
        return from_toml(resource.read_text(encoding="utf-8"), source=f"built-in '{text_name}'")
    path = Path(text_name)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{path}: scenario file not found (or not a regular file)")
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise ScenarioError(
                f"{path}: {size:,} bytes is larger than a scenario file can be "
                f"({MAX_INPUT_BYTES:,})"
            )
        try:
            text = path.read_text(encoding="utf-8-sig")  # -sig: a BOM (Notepad) is fine
        except UnicodeDecodeError:
            raise ScenarioError(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
        _EXTENDING.append(_extends_key(str(path)))
        try:
            return from_toml(text, source=str(path))
        finally:
            _EXTENDING.pop()
    names = builtin_names()
    close = difflib.get_close_matches(text_name, names, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise ScenarioError(
        f"unknown scenario '{text_name}': {hint}use one of the {len(names)} built-in names "
        "('forecast scenarios' lists them) or a path to a .toml file"
    )


def list_scenarios() -> list[Scenario]:
    return [load_scenario(name) for name in builtin_names()]


# --- validation helpers --------------------------------------------------------------------


def _choice(key: str, value, allowed) -> None:
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value) if isinstance(value, str) else checks.describe(value)
        raise ScenarioError(f"{key} = {shown} is not one of {', '.join(allowed)}")


def _number(key: str, value, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{key} must be a number, got {checks.describe(value)}")
    if not lo <= value <= hi:
        raise ScenarioError(f"{key} = {value} is out of range [{lo}, {hi}]")


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = "".join(
            "\\\\"
            if ch == "\\"
            else '\\"'
            if ch == '"'
            else ch
            if ch == "\t" or not (ord(ch) < 0x20 or ord(ch) == 0x7F)
            else f"\\u{ord(ch):04X}"
            for ch in value
        )
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise ScenarioError(f"cannot write {value!r} to TOML")


def _dump_toml(data: dict) -> str:
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if isinstance(table, dict) and table:
            lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
