"""What the two remedies for model collapse buy: data isolation and verified synthetic data.

Owns the table of published synthetic-data measurements (``data/synthetic_data.csv``,
from which the synthetic lever's default ranges are derived: docs/model.md, "Synthetic
data") and the remedies study: the exhaustion date on a web where AI-written text
accumulates (``contaminated-web``), then with isolation, with verified synthetic data at
several verifier accuracies, and with both. Every run uses the same seed, so the demand
draws are shared and the differences between rows are the remedies'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecast import checks
from forecast.checks import checked
from forecast.errors import DataError
from forecast.limits import VERIFIER_ACCURACY_RANGE
from forecast.persist import json_records
from forecast.results import Result
from forecast.scenarios import SCENARIO

__all__ = [
    "REMEDY_ACCURACIES",
    "SYNTHETIC_DATA_FILE",
    "RemedyStudy",
    "load_synthetic_data",
    "remedy_scenarios",
    "what_remedies_buy",
]

SYNTHETIC_DATA_FILE = "synthetic_data.csv"

#: Verifier accuracies of the study: 0.6 (weak) to 1 (perfect).
REMEDY_ACCURACIES: tuple[float, ...] = (0.6, 0.75, 0.9, 1.0)
#: The accuracy used for "both remedies".
BOTH_ACCURACY = 0.9

_COLUMNS = (
    "id",
    "year",
    "study",
    "model_and_tokens",
    "measured",
    "result",
    "implied_quantity",
    "implied_value_low",
    "implied_value_high",
    "derivation",
    "source_url",
    "status",
)
_QUANTITIES = ("efficiency", "multiplier", "synthetic_share", "plateau_tokens", "other")
_STATUSES = ("V", "S", "U")


def load_synthetic_data(path: str | Path | None = None) -> pd.DataFrame:
    """Published results on training with synthetic or rephrased text, one row per result.

    Columns as in data/README.md; ``implied_value_low``/``high`` are floats (NaN when the
    study gives none). Raises :class:`DataError` naming the file, row and column of the
    first bad cell.
    """
    from forecast.data import bundled_path

    path = Path(path) if path is not None else bundled_path(SYNTHETIC_DATA_FILE)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read: {exc}", file=str(path)) from None
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}", file=str(path), column=missing[0])
    seen: set[str] = set()
    for i, rec in enumerate(table.to_dict("records")):
        row = i + 2  # as a spreadsheet shows it, header = row 1

        def err(message: str, column: str, row: int = row) -> DataError:
            return DataError(message, file=str(path), row=row, column=column)

        if not rec["id"].strip() or rec["id"] in seen:
            raise err(f"empty or duplicate id {rec['id']!r}", "id")
        seen.add(rec["id"])
        if not rec["year"].isdigit() or not 2000 <= int(rec["year"]) <= 2100:
            raise err(f"year must be a year such as 2025, got {rec['year']!r}", "year")
        if rec["implied_quantity"] not in _QUANTITIES:
            raise err(
                f"unknown implied_quantity {rec['implied_quantity']!r} (expected one of "
                f"{_QUANTITIES})",
                "implied_quantity",
            )
        if rec["status"] not in _STATUSES:
            raise err(f"unknown status {rec['status']!r} (expected one of {_STATUSES})", "status")
        values = []
        for column in ("implied_value_low", "implied_value_high"):
            text = rec[column].strip()
            try:
                value = float(text) if text else math.nan
            except ValueError:
                raise err(f"not a number: {text!r}", column) from None
            if not (math.isnan(value) or (math.isfinite(value) and value >= 0)):
                raise err(f"must be a non-negative number, got {text!r}", column)
            values.append(value)
        low, high = values
        if low > high:
            raise err(f"implied_value_low {low} > implied_value_high {high}", "implied_value_low")
        if not rec["source_url"].startswith("https://"):
            raise err("source_url must be an https:// address", "source_url")
    for column in ("implied_value_low", "implied_value_high"):
        table[column] = pd.to_numeric(table[column].replace("", np.nan))
    table["year"] = table["year"].astype(int)
    table.attrs["path"] = str(path)
    return table


# --------------------------------------------------------------------------------------
# The study
# --------------------------------------------------------------------------------------


#: The scenario the remedies study starts from: the web as it is, AI-written text in it.
REMEDY_BASE = "contaminated-web"


def remedy_scenarios(
    base: str = REMEDY_BASE,
    accuracies: tuple[float, ...] = REMEDY_ACCURACIES,
    both_accuracy: float = BOTH_ACCURACY,
) -> list:
    """The scenarios of the study, in order: no remedy, isolation, verified synthetic data
    at each accuracy, both remedies. Each keeps ``base``'s other levers; isolation is
    the table default (cutoff 2022-11-30, verified fraction lognormal 90% [0.03, 0.3])."""
    from forecast.scenarios import load_scenario

    scenario = load_scenario(base)
    stock = scenario.stock

    def variant(name: str, description: str, **levers):
        return replace(scenario, name=name, description=description, stock=replace(stock, **levers))

    out = [variant("no remedy", f"{base}: AI-written text counts only as its human share")]
    out.append(
        variant(
            "isolation",
            "only text collected before 2022-11-30, plus a verified fraction of later text",
            isolation=True,
        )
    )
    for a in accuracies:
        out.append(
            variant(
                f"synthetic, verifier {a:g}",
                f"synthetic data (measured ranges) kept by a verifier of accuracy {a:g}",
                synthetic={"verifier_accuracy": float(a)},
            )
        )
    out.append(
        variant(
            f"both (verifier {both_accuracy:g})",
            "isolation and verified synthetic data together",
            isolation=True,
            synthetic={"verifier_accuracy": float(both_accuracy)},
        )
    )
    return out


@dataclass
class RemedyStudy(Result):
    """Output of :func:`what_remedies_buy`.

    ``table``: one row per remedy with :func:`forecast.compare`'s numeric columns
    (median, ``p10``/``p90``, ``p2_5``/``p97_5``, ``p_by_<year>``, shares, health) plus
    ``remedy``, ``verifier_accuracy`` (NaN where no synthetic data) and
    ``median_gain_years`` (median date minus the no-remedy median; NaN where either is
    after the horizon). ``results``: the :class:`~forecast.pipeline.ScenarioResult` per
    row. ``settings``: base scenario, draws and seed.
    """

    table: pd.DataFrame
    results: list = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def _title(self) -> str:
        return "RemedyStudy: what isolation and verified synthetic data buy"

    def summary(self) -> pd.DataFrame:
        """The table, indexed by remedy."""
        return self.table.set_index("remedy")

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-safe rows (NaN as None) and settings."""
        return {"rows": json_records(self.table), "settings": dict(self.settings)}

    def __repr__(self) -> str:
        cols = ["median", "p10", "p90", "p2_5", "p97_5", "median_gain_years"]
        with pd.option_context("display.float_format", "{:.1f}".format, "display.width", 120):
            return (
                f"RemedyStudy: base {self.settings['base']!r}, {self.settings['draws']:,} draws, "
                f"seed {self.settings['seed']}\n{self.summary()[cols].to_string()}"
            )


def _demand_set(value) -> bool:
    from forecast.pipeline import DemandSet

    return value is None or isinstance(value, DemandSet)


_ACCURACY = checks.number(*VERIFIER_ACCURACY_RANGE)


@checked(
    demand=checks.accept("a DemandSet (from forecast.fit_demand) or None", _demand_set),
    base=SCENARIO,
    accuracies=checks.sequence(_ACCURACY),
    both_accuracy=_ACCURACY,
    draws=checks.DRAWS,
    seed=checks.SEED,
    years=checks.optional(checks.sequence(checks.year())),
    progress=checks.optional(checks.function()),
    workers=checks.WORKERS,
)
def what_remedies_buy(
    demand=None,
    *,
    base: str = REMEDY_BASE,
    accuracies: tuple[float, ...] = REMEDY_ACCURACIES,
    both_accuracy: float = BOTH_ACCURACY,
    draws: int = 20_000,
    seed: int = 0,
    years=None,
    progress=None,
    workers: int = 1,
) -> RemedyStudy:
    """The exhaustion date under each remedy (see :func:`remedy_scenarios`).

    ``demand`` is a fitted :class:`~forecast.pipeline.DemandSet` (fitted once when
    omitted); ``draws`` joint draws per remedy, the same ``seed`` for all; ``years``: the
    P(by year) columns (default :data:`forecast.pipeline.COMPARE_YEARS`); ``workers``: as
    in :func:`~forecast.pipeline.run_scenarios` (the same numbers).
    """
    from forecast.pipeline import COMPARE_YEARS, compare, run_scenarios

    scenarios = remedy_scenarios(base, accuracies, both_accuracy)
    say = {} if progress is None else {"progress": lambda m: progress(f"remedies: {m}")}
    results = run_scenarios(
        scenarios, demand, draws=draws, seed=seed, workers=workers, mc_error=False, **say
    )
    table = compare(results, years=COMPARE_YEARS if years is None else years)
    table.insert(0, "remedy", table.pop("scenario"))
    accuracy = [
        float(s.stock.synthetic["verifier_accuracy"]) if s.stock.synthetic else np.nan
        for s in scenarios
    ]
    table.insert(1, "verifier_accuracy", accuracy)
    table["median_gain_years"] = table["median"] - float(table["median"].iloc[0])
    settings = {"base": base, "draws": int(draws), "seed": int(seed)}
    return RemedyStudy(table=table, results=results, settings=settings)
