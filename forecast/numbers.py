"""Generated numbers: every result number README.md and docs/ print comes from one run.

A printed result is a marker, ``<!--n:KEY-->TEXT<!--/n-->``, whose TEXT this module
writes (``python -m forecast.numbers write``) and checks (``... check``; CI runs it after
the report). KEY is

- ``SCENARIO.STAT``: a scenario's exhaustion-year ``median``, ``p10``, ``p90``, ``p2_5``,
  ``p97_5`` (decimal years; "after 2100" past the horizon), ``median_se`` (the median's
  total Monte Carlo error, years), or ``prob_by_2030``, ``not_exhausted_by_horizon``,
  ``already_exhausted_at_start`` (percent);
- ``SCENARIO[KEY=VALUE,...].STAT``: the same for the scenario with levers overridden as
  ``forecast run --set KEY=VALUE`` would (``baseline[demand.feasibility=none].median``);
- ``data.rows`` and ``data.date``: the bundled training-runs table's rows and data date.

Scenario numbers are those of :func:`forecast.run_scenarios` at the scenario's own draws
and seed (100,000 and 0 by default) on the default demand fit, the report's code path;
with ``--report DIR`` the scenarios that report ran are read from its ``summary.json``
and only the others are run. Each carries its total Monte Carlo error
(:func:`forecast.pipeline.mc_errors`, one standard error ``se``) and is printed to the
decimals it supports: ``d = floor(-log10(2 se))``, so half a unit of the last digit is at
least ``se``. A check fails when a printed number differs from the recomputed one by more
than ``3 se`` plus half a unit of its last printed digit, when it prints more decimals
than its error supports, or when an exact number (``data.*``) differs at all. Same
machine and seed give the same bits; another machine (numba and BLAS compile for the
host CPU) gives the same within that error.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from forecast.errors import ForecastError
from forecast.results import mc_error_text, supported_decimals

__all__ = [
    "MARKER",
    "Number",
    "check_files",
    "compute_numbers",
    "find_markers",
    "main",
    "write_files",
]

#: A generated number in Markdown: ``<!--n:KEY-->TEXT<!--/n-->`` (not right after a
#: backtick: the syntax quoted in inline code is not a marker).
MARKER = re.compile(
    r"(?<!`)<!--n:(?P<key>[A-Za-z0-9_.\-]+(?:\[[^\]>]*\])?\.[a-z0-9_]+|data\.[a-z]+)-->"
    r"(?P<text>.*?)<!--/n-->",
    re.S,
)

YEAR_STATS = ("median", "p10", "p90", "p2_5", "p97_5")
PERCENT_STATS = ("prob_by_2030", "not_exhausted_by_horizon", "already_exhausted_at_start")
SCENARIO_STATS = (*YEAR_STATS, "median_se", *PERCENT_STATS)
DATA_KEYS = ("data.rows", "data.date")
#: How far a printed Monte Carlo error may be from the recomputed one (a factor): with 8
#: batches the error's own estimate is uncertain by about a quarter (chi-square, 7 df).
SE_FACTOR = 3.0
#: Standard errors a printed number may be from the recomputed one.
TOLERANCE_SE = 3.0


def decimals(se: float, most: int = 2) -> int:
    """Decimals a number with standard error ``se`` supports (the report's rule,
    :func:`forecast.results.supported_decimals`; ``most`` when the error is unknown)."""
    return supported_decimals(se, most=most, unknown=most)


@dataclass(frozen=True)
class Number:
    """One generated number: ``value`` (years, a fraction, a count or text) and its Monte
    Carlo standard error ``se`` in the same unit (None: exact)."""

    key: str
    value: float | int | str
    se: float | None = None
    horizon: float = 2100.0

    @property
    def kind(self) -> str:
        stat = self.key.rsplit(".", 1)[-1]
        if self.key in DATA_KEYS:
            return "exact"
        if stat == "median_se":
            return "se"
        return "percent" if stat in PERCENT_STATS else "year"

    def _scaled(self) -> tuple[float, float]:
        """(value, se) in printed units (percent points for percents)."""
        scale = 100.0 if self.kind == "percent" else 1.0
        se = math.nan if self.se is None else self.se
        return float(self.value) * scale, se * scale

    def text(self) -> str:
        """The number as printed."""
        if self.kind == "exact":
            return f"{self.value:,}" if isinstance(self.value, int) else str(self.value)
        value, se = self._scaled()
        if self.kind == "se":
            return mc_error_text(value) if math.isfinite(value) else "n/a"
        if not math.isfinite(value):
            return f"after {self.horizon:.0f}"
        d = decimals(se, most=1 if self.kind == "percent" else 2)
        return f"{value:.{d}f}%" if self.kind == "percent" else f"{value:.{d}f}"

    def disagreement(self, printed: str) -> str | None:
        """Why ``printed`` is not this number within its error (None: it is)."""
        printed = printed.strip()
        if self.kind == "exact":
            return None if printed == self.text() else f"expected exactly {self.text()}"
        value, se = self._scaled()
        if printed.startswith("after "):
            if math.isfinite(value):
                return f"recomputed {self.text()}, not after the horizon"
            return None
        match = re.fullmatch(r"<?([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)%?", printed.replace(",", ""))
        if match is None:
            return "not a number"
        number = float(match.group(1))
        if not math.isfinite(value):
            return f"recomputed after {self.horizon:.0f}"
        if self.kind == "se":
            low, high = value / SE_FACTOR, value * SE_FACTOR
            if printed.startswith("<") or low <= number <= high:
                return None
            return f"recomputed error {value:.2g}, more than {SE_FACTOR:g}x away"
        shown = len(match.group(1).split(".")[1]) if "." in match.group(1) else 0
        supported = decimals(se / 2.0, most=1 if self.kind == "percent" else 2)
        if shown > supported:
            return f"{shown} decimals where its error ({se:.2g}) supports {decimals(se)}"
        tolerance = TOLERANCE_SE * (se if math.isfinite(se) else 0.0) + 0.5 * 10.0**-shown
        if abs(number - value) > tolerance:
            unit = " points" if self.kind == "percent" else " years"
            return (
                f"recomputed {value:.3f}{'%' if self.kind == 'percent' else ''} "
                f"(Monte Carlo error {se:.2g}); "
                f"differs by {abs(number - value):.3g}{unit} > {tolerance:.3g}"
            )
        return None


# --------------------------------------------------------------------------------------
# Markers in files
# --------------------------------------------------------------------------------------


def default_files(root: str | Path = ".") -> list[Path]:
    """README.md and every Markdown file under docs/ (those that exist)."""
    root = Path(root)
    files = [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]
    return [f for f in files if f.is_file()]


def find_markers(text: str) -> list[tuple[str, str, int]]:
    """Every marker in ``text``: (key, printed text, line number)."""
    return [
        (m.group("key"), m.group("text"), text.count("\n", 0, m.start()) + 1)
        for m in MARKER.finditer(text)
    ]


def keys_in(files: Iterable[Path]) -> set[str]:
    """Every marker key in ``files``."""
    keys = set()
    for path in files:
        keys |= {k for k, _, _ in find_markers(_read(path))}
    return keys


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ForecastError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _split_key(key: str) -> tuple[str, str]:
    if key in DATA_KEYS:
        return "data", key.split(".", 1)[1]
    if "]" in key:
        end = key.rindex("]") + 1
        scenario, stat = key[:end], key[end + 1 :] if key[end : end + 1] == "." else ""
    else:
        scenario, _, stat = key.rpartition(".")
    if not scenario or stat not in SCENARIO_STATS:
        raise ForecastError(
            f"unknown number key {key!r}: use SCENARIO.STAT with STAT one of "
            f"{', '.join(SCENARIO_STATS)}, or one of {', '.join(DATA_KEYS)}"
        )
    return scenario, stat


def _scenario_item(scenario: str):
    """``name`` or ``name[k=v,...]`` as a :func:`forecast.run_scenarios` item (each
    ``k=v`` as ``forecast run --set`` reads it: :func:`forecast.scenarios.parse_override`)."""
    from forecast.scenarios import parse_override

    if "[" not in scenario:
        return scenario
    name, _, inner = scenario.partition("[")
    try:
        changes = dict(parse_override(part) for part in inner.rstrip("]").split(","))
    except ForecastError as exc:
        raise ForecastError(f"number key {scenario!r}: {exc}") from None
    return (name, {"name": scenario, **changes})


# --------------------------------------------------------------------------------------
# Computing the numbers
# --------------------------------------------------------------------------------------


def _scenario_numbers(name: str, payload: Mapping) -> dict[str, Number]:
    """Numbers of one scenario from its ``forecast run --json`` object."""
    years = payload["exhaustion_year"]
    errors = payload.get("mc_error") or {}
    horizon = float(payload.get("horizon", 2100.0))

    def value(v):
        return math.nan if v is None else float(v)

    def se(k):
        return value(errors.get(k))

    out = {
        f"{name}.{k}": Number(f"{name}.{k}", value(years.get(k)), se(k), horizon)
        for k in YEAR_STATS
    }
    out[f"{name}.median_se"] = Number(f"{name}.median_se", se("median"), None, horizon)
    out[f"{name}.prob_by_2030"] = Number(
        f"{name}.prob_by_2030",
        value(payload["prob_exhausted_by"].get("2030")),
        se("prob_by_2030"),
        horizon,
    )
    for k in ("not_exhausted_by_horizon", "already_exhausted_at_start"):
        out[f"{name}.{k}"] = Number(f"{name}.{k}", value(payload[k]), se(k), horizon)
    return out


def _report_payloads(report: str | Path) -> dict[str, dict]:
    """Per scenario: its ``forecast run --json`` object from a report's summary.json."""
    path = Path(report) / "summary.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ForecastError(
            f"{path}: no such file (write a report with `forecast report`)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ForecastError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(payload, dict) or "exhaustion_year" not in payload:
        raise ForecastError(f"{path}: not a report's summary.json")
    payloads = {payload["scenario"]: payload}
    for item in payload.get("compare") or []:
        payloads[item["scenario"]] = item
    for name, item in payloads.items():
        if not item.get("mc_error"):
            raise ForecastError(
                f"{path}: scenario {name!r} has no Monte Carlo error (a report of 0.9.0 or "
                "later has one): write the report again"
            )
    return payloads


def compute_numbers(
    keys: Iterable[str],
    *,
    report: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Number]:
    """The numbers ``keys`` name: scenarios from the report ``report`` when it ran them,
    the others run here on the default demand fit (cached after a first fit)."""
    say = progress or (lambda _m: None)
    keys = set(keys)
    wanted: dict[str, set[str]] = {}
    for key in keys:
        group, stat = _split_key(key)
        wanted.setdefault(group, set()).add(stat)
    out: dict[str, Number] = {}
    if "data" in wanted:
        from forecast.data import load_training_runs

        models = load_training_runs()
        date = models["date"].max()
        out["data.rows"] = Number("data.rows", len(models))
        out["data.date"] = Number("data.date", f"{date:%Y-%m-%d}")
    scenarios = sorted(g for g in wanted if g != "data")
    payloads = _report_payloads(report) if report is not None else {}
    missing = [s for s in scenarios if s not in payloads]
    if missing:
        from forecast.pipeline import demand_models_needed, fit_demand, run_scenarios
        from forecast.scenarios import load_scenario

        items = [_scenario_item(s) for s in missing]
        # Loaded here so that an unknown name or lever fails before anything is fitted.
        needed = set()
        for item in items:
            name, changes = (item, {}) if isinstance(item, str) else item
            levers = {k: v for k, v in changes.items() if k != "name"}
            needed |= set(demand_models_needed(load_scenario(name).with_overrides(**levers)))
        say("fitting the demand models the scenarios use (read from the cache when fitted before)")
        demand = fit_demand(names=sorted(needed), progress=say)
        say(f"running {len(missing)} scenario(s): {', '.join(missing)}")
        for key, result in zip(missing, run_scenarios(items, demand, progress=say), strict=True):
            payloads[key] = result.to_json_dict()
    for name in scenarios:
        out |= _scenario_numbers(name, payloads[name])
    return {k: out[k] for k in keys}


# --------------------------------------------------------------------------------------
# Writing and checking
# --------------------------------------------------------------------------------------


def write_files(files: Sequence[Path], numbers: Mapping[str, Number]) -> list[Path]:
    """Fill every marker of ``files`` with its number; returns the files that changed
    (each written atomically)."""
    from forecast import persist

    changed = []
    for path in files:
        text = _read(path)
        new = MARKER.sub(
            lambda m: f"<!--n:{m.group('key')}-->{numbers[m.group('key')].text()}<!--/n-->",
            text,
        )
        if new != text:
            persist.write_text_atomic(path, new, overwrite=True)
            changed.append(path)
    return changed


def check_files(files: Sequence[Path], numbers: Mapping[str, Number]) -> list[str]:
    """One line per printed number that disagrees with its recomputed value (empty: all
    agree): file, line, key, printed text and why."""
    problems = []
    for path in files:
        for key, printed, line in find_markers(_read(path)):
            why = numbers[key].disagreement(printed)
            if why:
                problems.append(f"{path}:{line}: {key} printed {printed!r}: {why}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m forecast.numbers",
        description="Fill (write) or verify (check) the generated numbers of README.md "
        "and docs/ (markers <!--n:KEY-->TEXT<!--/n-->).",
    )
    parser.add_argument("action", choices=("write", "check", "show"))
    parser.add_argument("files", nargs="*", type=Path, help="default: README.md and docs/**.md")
    parser.add_argument(
        "--report", type=Path, help="a report directory whose scenarios' numbers to use"
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="where README.md is")
    args = parser.parse_args(argv)
    files = args.files or default_files(args.root)
    try:
        keys = keys_in(files)
        numbers = compute_numbers(
            keys, report=args.report, progress=lambda m: print(f"[numbers] {m}", file=sys.stderr)
        )
        if args.action == "show":
            rows = {
                k: {"text": n.text(), "value": n.value, "se": n.se}
                for k, n in sorted(numbers.items())
            }
            print(json.dumps(rows, indent=2, default=str))
            return 0
        if args.action == "write":
            changed = write_files(files, numbers)
            print(f"{len(keys)} numbers in {len(files)} files; rewrote {len(changed)}")
            return 0
        problems = check_files(files, numbers)
    except ForecastError as exc:
        print(f"forecast.numbers: {exc}", file=sys.stderr)
        return 1
    for line in problems:
        print(line)
    n = sum(len(find_markers(_read(f))) for f in files)
    if problems:
        print(
            f"{len(problems)} of {n} printed numbers differ from a fresh computation by more "
            "than their Monte Carlo error: run `python -m forecast.numbers write` and review"
        )
        return 1
    print(f"all {n} printed numbers agree with a fresh computation within their error")
    return 0


if __name__ == "__main__":
    sys.exit(main())
