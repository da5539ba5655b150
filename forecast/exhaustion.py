"""When does demand for training text reach the stock? First crossing per joint draw.

Inputs are a grid of decimal years ``years`` (shape ``(T,)``, strictly increasing, e.g.
``forecast.units.monthly_grid(2025, 2100)``) and draws of demand (tokens in the largest
training run) and of the effective stock (tokens), each ``(n, T)`` as numpy arrays or
``xarray.DataArray`` with dims ``("draw", "year")``. Row ``i`` of demand and row ``i`` of
stock are **one joint draw**: whatever the two share (e.g. a bytes-per-token draw) stays
correlated, so the distribution of crossing dates is the distribution over joint draws.

Per draw, the exhaustion date is the first grid date where ``demand >= stock``, refined
by linear interpolation of ``log10(demand) - log10(stock)`` between the last grid point
below and the first at or above, so it is continuous rather than quantised to the grid.
Interpolating in log space is exact for log-linear (exponential) curves, which is what
the demand and stock models produce locally.

Semantics (the same everywhere in this module):

- **already exhausted**: ``demand >= stock`` at the first grid point. The exhaustion year
  is then the first grid year (an upper bound: the crossing happened at or before it) and
  the draw is flagged in ``already_exhausted``.
- **not exhausted**: no crossing at or before the horizon (default: the last grid year).
  The exhaustion year is NaN; for quantiles and probabilities it counts as +infinity.
- **first crossing**: if demand crosses the stock and later falls back below it (possible
  only for non-monotone curves, e.g. a shrinking stock that recovers), the first crossing
  is reported.
- **by year Y** means by the end of calendar year Y: exhaustion decimal year ``< Y + 1``.

Memory: :func:`crossing_years` works through rows in blocks and only compares raw values
(``demand >= stock`` into a reused boolean block); logarithms are taken only of the two
grid points bracketing each crossing, in float64. Inputs are never copied or up-cast, so
float32 draws cost half the memory and lose nothing in precision: the comparison is
exact in the inputs' own precision and the interpolation runs in float64 on the
bracketing values. Beware float32's range, though: it overflows above 3.4e38 tokens,
which demand extrapolated at ~0.38 orders of magnitude per year passes before 2100
(the overflow is reported as an error, never silently treated as a crossing).
:func:`exhaustion_chunked` draws ~10k draws at a time so 100k draws x a monthly grid to
2100 (912 points) never needs the 100k x 912 arrays.

:func:`epoch_quantile_clipping` re-implements Epoch AI's 2024 procedure (Villalobos et
al. 2024, code ``src/projections.py``), which treats demand and stock as independent
marginals, for comparison with the joint-draw crossing computed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from forecast import checks
from forecast.checks import checked
from forecast.errors import ExhaustionError, ForecastError  # noqa: F401  (ExhaustionError: re-exported)
from forecast.persist import json_float
from forecast.results import DEFAULT_LEVELS, Result, check_levels, interval_names, quantile_levels
from forecast.units import year_text

__all__ = [
    "QUANTILE_LEVELS",
    "CrossingChunk",
    "ExhaustionError",
    "ExhaustionResult",
    "chunk_seeds",
    "crossing_years",
    "epoch_quantile_clipping",
    "epoch_summary",
    "exhaustion",
    "exhaustion_chunked",
    "exhaustion_chunked_shared",
]

#: Quantile levels reported by :meth:`ExhaustionResult.quantiles` (name -> probability):
#: the median and the ends of :data:`forecast.results.DEFAULT_LEVELS` (80% and 95%).
QUANTILE_LEVELS: dict[str, float] = quantile_levels(DEFAULT_LEVELS)

#: Default number of rows processed at once inside :func:`crossing_years`.
DEFAULT_BLOCK_ROWS = 8192

_YEAR_TOL = 1e-9


# --- input handling ----------------------------------------------------------------------


def _validate_years(years) -> np.ndarray:
    try:
        grid = np.asarray(years, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ExhaustionError(f"years must be numeric decimal years: {exc}") from None
    if grid.ndim != 1 or grid.size == 0:
        raise ExhaustionError(
            f"years must be a non-empty 1-D grid of decimal years, got shape {grid.shape}"
        )
    if not np.all(np.isfinite(grid)):
        raise ExhaustionError("years must be finite (found NaN or inf in the grid)")
    steps = np.diff(grid)
    if steps.size and not np.all(steps > 0):
        bad = int(np.argmin(steps > 0))
        raise ExhaustionError(
            "years must be strictly increasing; "
            f"years[{bad}] = {grid[bad]!r} is followed by years[{bad + 1}] = {grid[bad + 1]!r}"
        )
    return grid


def _as_draw_matrix(name: str, values, grid: np.ndarray) -> np.ndarray:
    """A ``(n, T)`` float array (a view where possible) from numpy or xarray input."""
    if hasattr(values, "dims") and hasattr(values, "transpose"):  # xarray.DataArray
        dims = tuple(values.dims)
        if "year" not in dims:
            raise ExhaustionError(f"{name} must have a 'year' dimension, got dims {dims}")
        extra = set(dims) - {"draw", "year"}
        if extra:
            raise ExhaustionError(
                f"{name} must have dims ('draw', 'year'), got {dims} (unexpected {sorted(extra)})"
            )
        if "year" in getattr(values, "coords", {}):
            coord = np.asarray(values["year"].values, dtype=float)
            if coord.shape != grid.shape or not np.allclose(coord, grid, rtol=0, atol=1e-6):
                raise ExhaustionError(
                    f"{name}'s 'year' coordinate does not match the years grid "
                    f"({coord.size} vs {grid.size} points)"
                )
        order = ("draw", "year") if "draw" in dims else ("year",)
        values = values.transpose(*order).values
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.floating):
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise ExhaustionError(f"{name} must be numeric tokens, got dtype {arr.dtype}")
        arr = arr.astype(float)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise ExhaustionError(f"{name} must be 2-D (draw, year), got shape {arr.shape}")
    if arr.shape[1] != grid.size:
        raise ExhaustionError(
            f"{name} has {arr.shape[1]} columns but the years grid has {grid.size} points "
            f"({name} shape {arr.shape}; expected (n_draws, {grid.size}))"
        )
    if arr.shape[0] == 0:
        raise ExhaustionError(f"{name} has no draws")
    lo, hi = arr.min(), arr.max()  # NaN propagates, so NaN fails the test below
    if not (lo > 0 and hi < np.inf):
        problem = "NaN" if np.isnan(lo) or np.isnan(hi) else ("inf" if hi == np.inf else "<= 0")
        hint = ""
        if problem == "inf" and arr.dtype.itemsize < 8:
            hint = (
                f" ({arr.dtype} overflows above {np.finfo(arr.dtype).max:.3g} tokens; use float64)"
            )
        raise ExhaustionError(
            f"{name} must be positive and finite tokens (log scale); found a value {problem} "
            f"(min {lo!r}, max {hi!r}){hint}"
        )
    return arr


def _pair(grid, demand, stock) -> tuple[np.ndarray, np.ndarray, int]:
    d = _as_draw_matrix("demand", demand, grid)
    s = _as_draw_matrix("stock", stock, grid)
    nd, ns = d.shape[0], s.shape[0]
    if nd != ns and 1 not in (nd, ns):
        raise ExhaustionError(
            f"demand and stock must hold the same joint draws: demand has {nd} draws, "
            f"stock has {ns} (a single curve, shape (T,) or (1, T), is broadcast)"
        )
    n = max(nd, ns)
    return np.broadcast_to(d, (n, grid.size)), np.broadcast_to(s, (n, grid.size)), n


def _resolve_horizon(grid: np.ndarray, horizon) -> float:
    if horizon is None:
        return float(grid[-1])
    h = float(horizon)
    if not math.isfinite(h) or h < grid[0] - _YEAR_TOL or h > grid[-1] + _YEAR_TOL:
        raise ExhaustionError(
            f"horizon {horizon!r} must lie within the years grid [{grid[0]}, {grid[-1]}]: "
            "nothing is known after the last grid year"
        )
    return min(max(h, float(grid[0])), float(grid[-1]))


# --- crossing per draw -------------------------------------------------------------------


class DemandDraws(NamedTuple):
    """Demand draws with the compute behind them: ``tokens`` and ``compute`` (FLOP of the
    largest run), both (n, T); what a ``sample_chunk`` may return instead of tokens alone."""

    tokens: np.ndarray
    compute: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class CrossingChunk:
    """First crossings for one block of joint draws (all arrays shape ``(n,)``).

    ``exhaustion_year`` is NaN where demand stays below stock over the whole grid, and
    the first grid year where ``already_exhausted``. ``stock_at_crossing`` and
    ``demand_at_crossing`` (tokens) are log-linearly interpolated to the crossing, so they
    are equal there up to rounding; for already-exhausted draws they are the values at the
    first grid point (demand >= stock). NaN where not crossed. ``compute_at_crossing``
    (FLOP of the largest run, log-linearly interpolated in the same way) is None when the
    demand carried no compute.
    """

    exhaustion_year: np.ndarray
    already_exhausted: np.ndarray
    stock_at_crossing: np.ndarray
    demand_at_crossing: np.ndarray
    compute_at_crossing: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.exhaustion_year.shape[0])


def crossing_years(
    years, demand, stock, *, compute=None, block_rows: int = DEFAULT_BLOCK_ROWS
) -> CrossingChunk:
    """Per joint draw, the first date where ``demand >= stock`` on the grid ``years``.

    Parameters
    ----------
    years : (T,) strictly increasing decimal years.
    demand, stock : (n, T) positive finite tokens (numpy or DataArray with dims
        ``("draw", "year")``); row ``i`` of each is joint draw ``i``. A single curve,
        shape ``(T,)`` or ``(1, T)``, is broadcast against the other's draws.
    compute : optional (n, T) FLOP of the largest run behind each demand draw; its value
        at the crossing is interpolated like demand's (``compute_at_crossing``).
    block_rows : rows compared at once (bounds the temporary boolean block).

    Between the last grid point ``i`` below and the first point ``j = i + 1`` at or above,
    the date is interpolated linearly in ``g = log10(demand) - log10(stock)``:
    ``year = years[i] + (years[j] - years[i]) * g_i / (g_i - g_j)``, and the stock and
    demand at the crossing are log-linear interpolations at the same fraction. No loop over
    draws: a boolean block, ``argmax`` along the grid, then gathers of the two bracketing
    columns.
    """
    grid = _validate_years(years)
    d, s, n = _pair(grid, demand, stock)
    if block_rows < 1:
        raise ExhaustionError(f"block_rows must be >= 1, got {block_rows}")
    T = grid.size
    first = np.empty(n, dtype=np.intp)
    crossed = np.empty(n, dtype=bool)
    buf = np.empty((min(block_rows, n), T), dtype=bool)
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        above = buf[: stop - start]
        np.greater_equal(d[start:stop], s[start:stop], out=above)
        idx = above.argmax(axis=1)
        first[start:stop] = idx
        crossed[start:stop] = above[np.arange(stop - start), idx]

    already = crossed & (first == 0)
    year = np.full(n, np.nan)
    stock_x = np.full(n, np.nan)
    demand_x = np.full(n, np.nan)

    c = None
    if compute is not None:
        c = np.asarray(getattr(compute, "values", compute), dtype=float)
        if c.shape != d.shape:
            raise ExhaustionError(f"compute has shape {c.shape}, demand {d.shape}")
    compute_x = None if c is None else np.full(n, np.nan)

    rows = np.flatnonzero(already)
    year[rows] = grid[0]
    stock_x[rows] = s[rows, 0]
    demand_x[rows] = d[rows, 0]
    if c is not None:
        compute_x[rows] = c[rows, 0]

    rows = np.flatnonzero(crossed & (first > 0))
    if rows.size:
        j = first[rows]
        i = j - 1
        ld0 = np.log10(d[rows, i].astype(np.float64))
        ld1 = np.log10(d[rows, j].astype(np.float64))
        ls0 = np.log10(s[rows, i].astype(np.float64))
        ls1 = np.log10(s[rows, j].astype(np.float64))
        g0 = ld0 - ls0  # < 0 (<= 0 after rounding)
        g1 = ld1 - ls1  # >= 0
        denom = g1 - g0
        safe = np.where(denom > 0, denom, 1.0)
        frac = np.clip(np.where(denom > 0, -g0 / safe, 1.0), 0.0, 1.0)
        year[rows] = grid[i] + frac * (grid[j] - grid[i])
        stock_x[rows] = 10.0 ** (ls0 + frac * (ls1 - ls0))
        demand_x[rows] = 10.0 ** (ld0 + frac * (ld1 - ld0))
        if c is not None:
            lc0, lc1 = np.log10(c[rows, i]), np.log10(c[rows, j])
            compute_x[rows] = 10.0 ** (lc0 + frac * (lc1 - lc0))
    return CrossingChunk(year, already, stock_x, demand_x, compute_x)


# --- result ------------------------------------------------------------------------------


def _quantile_with_censoring(sorted_finite: np.ndarray, n: int, q: float) -> float:
    """``np.quantile(x, q)`` (linear method) where ``x`` holds ``sorted_finite`` plus
    ``n - len(sorted_finite)`` values at +infinity; NaN if the quantile needs one of those.
    """
    if not 0.0 <= q <= 1.0:
        raise ExhaustionError(f"quantile level must be in [0, 1], got {q!r}")
    k = sorted_finite.size
    h = (n - 1) * q
    lo = math.floor(h)
    frac = h - lo
    if frac < 1e-12:
        frac = 0.0
    elif frac > 1 - 1e-12:
        lo, frac = lo + 1, 0.0
    hi = lo + 1 if frac > 0 else lo
    if hi >= k:
        return math.nan
    a = float(sorted_finite[lo])
    return a if frac == 0 else a + frac * (float(sorted_finite[hi]) - a)


@dataclass(frozen=True, repr=False, eq=False)
class ExhaustionResult(Result):
    """Exhaustion dates over joint draws of demand and stock.

    Attributes
    ----------
    years : (T,) the decimal-year grid the crossings were computed on.
    exhaustion_year : (n,) decimal year of the first crossing; NaN = not exhausted by
        ``horizon``; the first grid year for draws already exhausted at the start.
    already_exhausted : (n,) bool, demand >= stock at the first grid point.
    stock_at_crossing, demand_at_crossing : (n,) tokens at the crossing (NaN if none).
    horizon : last decimal year considered; crossings after it count as not exhausted.
    compute_at_crossing : (n,) FLOP of the largest run at the crossing, or None when the
        demand carried no compute.

    Intervals: the 80% interval ``[p10, p90]`` is the range holding the central 80% of
    joint draws of demand and stock (10% of draws run out earlier, 10% later or never);
    the 95% interval ``[p2_5, p97_5]`` holds the central 95%. They are quantiles of the
    exhaustion date over joint draws, not of demand or stock separately. Not-exhausted
    draws count as +infinity, so a quantile that falls among them is NaN, meaning "after
    the horizon" (e.g. p90 is NaN when more than 10% of draws never cross).
    """

    years: np.ndarray
    exhaustion_year: np.ndarray
    already_exhausted: np.ndarray
    stock_at_crossing: np.ndarray
    demand_at_crossing: np.ndarray
    horizon: float
    compute_at_crossing: np.ndarray | None = None
    _sorted: np.ndarray = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        finite = self.exhaustion_year[np.isfinite(self.exhaustion_year)]
        object.__setattr__(self, "_sorted", np.sort(finite))

    # construction ---------------------------------------------------------------------

    @classmethod
    def from_chunks(
        cls, years, chunks: Sequence[CrossingChunk], horizon: float | None = None
    ) -> ExhaustionResult:
        """Concatenate chunks computed on the same grid; crossings after ``horizon`` become
        "not exhausted" (NaN). ``horizon`` defaults to the last grid year."""
        grid = _validate_years(years)
        chunks = list(chunks)
        if not chunks or sum(len(c) for c in chunks) == 0:
            raise ExhaustionError("no draws: from_chunks needs at least one non-empty chunk")
        h = _resolve_horizon(grid, horizon)
        year = np.concatenate([c.exhaustion_year for c in chunks]).astype(float)
        already = np.concatenate([c.already_exhausted for c in chunks]).astype(bool)
        stock_x = np.concatenate([c.stock_at_crossing for c in chunks]).astype(float)
        demand_x = np.concatenate([c.demand_at_crossing for c in chunks]).astype(float)
        compute_x = None
        if all(c.compute_at_crossing is not None for c in chunks):
            compute_x = np.concatenate([c.compute_at_crossing for c in chunks]).astype(float)
        late = year > h + _YEAR_TOL
        year[late] = np.nan
        stock_x[late] = np.nan
        demand_x[late] = np.nan
        if compute_x is not None:
            compute_x[late] = np.nan
        return cls(grid, year, already, stock_x, demand_x, h, compute_x)

    # basic properties -----------------------------------------------------------------

    @property
    def n_draws(self) -> int:
        return int(self.exhaustion_year.shape[0])

    @property
    def exhausted(self) -> np.ndarray:
        """(n,) bool: the draw crosses at or before the horizon (incl. already exhausted)."""
        return np.isfinite(self.exhaustion_year)

    @property
    def not_exhausted_share(self) -> float:
        """Share of draws with no crossing by the horizon."""
        return 1.0 - self._sorted.size / self.n_draws

    @property
    def already_exhausted_share(self) -> float:
        """Share of draws with demand >= stock at the first grid point."""
        return float(np.count_nonzero(self.already_exhausted)) / self.n_draws

    # statistics -----------------------------------------------------------------------

    @checked(q=checks.number(0, 1))
    def quantile(self, q: float) -> float:
        """Quantile ``q`` of the exhaustion year over joint draws (numpy's linear method),
        with not-exhausted draws at +infinity: NaN means "after the horizon". A quantile
        that falls among already-exhausted draws equals the first grid year ("at or
        before the start")."""
        return _quantile_with_censoring(self._sorted, self.n_draws, float(q))

    @checked(q=checks.number(0, 1), batches=checks.integer(2, 10_000))
    def quantile_mc_se(self, q: float = 0.5, batches: int = 20) -> float:
        """Monte Carlo standard error (years) of :meth:`quantile` by batch quantiles: the
        draws (independent) in ``batches`` contiguous batches, ``sd(batch q) / sqrt(b)``.
        +inf when a batch's quantile is after the horizon, NaN with too few draws."""
        if self.n_draws < 10 * batches:
            return float("nan")
        years = np.where(np.isfinite(self.exhaustion_year), self.exhaustion_year, np.inf)
        size = self.n_draws // batches
        parts = np.quantile(years[: size * batches].reshape(batches, size), q, axis=1)
        if not np.isfinite(parts).all():
            return float("inf")
        return float(np.std(parts, ddof=1) / np.sqrt(batches))

    @checked(levels=checks.optional(checks.LEVELS))
    def quantiles(self, levels: Sequence[float] | None = None) -> pd.Series:
        """Median and the ends of the central ``levels`` intervals of the exhaustion year
        (decimal years); default 80% and 95%: median, p10, p90, p2_5, p97_5.

        ``[p10, p90]`` is the 80% interval (central 80% of joint draws of demand and
        stock), ``[p2_5, p97_5]`` the 95% interval. NaN = after the horizon: the quantile
        falls among draws that are not exhausted by ``horizon`` (treated as +infinity).
        """
        return pd.Series(
            {name: self.quantile(q) for name, q in quantile_levels(levels).items()},
            name="exhaustion_year",
            dtype=float,
        )

    @checked(years=checks.optional(checks.years()))
    def prob_exhausted_by(self, years: Sequence[int] | int | None = None) -> pd.Series | float:
        """P(exhausted by the end of year Y) for integer years Y (a float for one year,
        e.g. ``prob_exhausted_by(2030)``; a Series by year for several).

        "By year Y" means by the end of calendar year Y, i.e. exhaustion decimal year
        ``< Y + 1`` (a crossing exactly at 1 January of Y+1 counts for Y+1). The
        probability is the share of all joint draws (not-exhausted draws count as not
        exhausted); it is non-decreasing in Y.

        Default ``years``: every year from the first grid year up to the last year that
        ends within the horizon (``Y + 1 <= horizon``). A requested Y that ends after the
        horizon, or ends before the grid starts, is NaN (unknown from this grid).
        """
        if np.ndim(years) == 0 and years is not None:
            return float(self.prob_exhausted_by([years]).iloc[0])
        if years is None:
            first = math.floor(self.years[0])
            last = math.floor(self.horizon + _YEAR_TOL) - 1
            ys = np.arange(first, max(last, first - 1) + 1)
        else:
            ys = np.asarray(years)
            if ys.ndim != 1 or not np.all(np.mod(ys, 1) == 0):
                raise ExhaustionError(f"years must be a 1-D sequence of integers, got {years!r}")
            ys = ys.astype(int)
        ends = ys.astype(float) + 1.0
        counts = np.searchsorted(self._sorted, ends, side="left")
        prob = counts / self.n_draws
        unknown = (ends > self.horizon + _YEAR_TOL) | (ends <= self.years[0])
        prob = np.where(unknown, np.nan, prob)
        return pd.Series(prob, index=pd.Index(ys, name="year"), name="prob_exhausted_by")

    def at_crossing(self) -> pd.DataFrame:
        """Tidy table (quantity, statistic, value, n_draws) of median/p10/p90 of stock and
        demand at the crossing, in tokens, and of the largest run's compute there, in FLOP
        (when the demand carried compute), over exhausted draws only (including draws
        already exhausted at the start, whose values are those at the first grid point).
        Values are NaN if no draw is exhausted."""
        mask = self.exhausted
        n = int(np.count_nonzero(mask))
        rows = []
        quantities = [("stock", self.stock_at_crossing), ("demand", self.demand_at_crossing)]
        if self.compute_at_crossing is not None:
            quantities.append(("compute", self.compute_at_crossing))
        for quantity, arr in quantities:
            vals = arr[mask]
            for stat, q in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
                v = float(np.quantile(vals, q)) if n else math.nan
                rows.append({"quantity": quantity, "statistic": stat, "value": v, "n_draws": n})
        return pd.DataFrame(rows)

    @checked(levels=checks.optional(checks.LEVELS))
    def summary(self, levels: Sequence[float] | None = None) -> pd.DataFrame:
        """One row per statistic: columns ``statistic``, ``value`` (numeric), ``unit``,
        ``note``; the quantiles are the median and the ends of ``levels`` (default 80% and
        95%)."""
        q = self.quantiles(levels)
        rows: list[tuple[str, float, str, str]] = [
            ("n_draws", float(self.n_draws), "draws", "joint draws of demand and stock"),
            ("horizon", self.horizon, "decimal year", "last date considered"),
        ]
        notes = {"median": "half of joint draws exhausted by then"}
        for level in check_levels(levels):
            lo, hi = interval_names(level)
            notes[lo] = f"{100 * level:g}% interval, lower end"
            notes[hi] = f"{100 * level:g}% interval, upper end"
        for name, value in q.items():
            note = notes[name] + ("" if np.isfinite(value) else "; NaN = after the horizon")
            rows.append((name, float(value), "decimal year", note))
        rows += [
            ("not_exhausted_share", self.not_exhausted_share, "share", "no crossing by horizon"),
            (
                "already_exhausted_share",
                self.already_exhausted_share,
                "share",
                "demand >= stock at the first grid year",
            ),
        ]
        ac = self.at_crossing()
        for quantity in ("stock", "demand"):
            v = ac.loc[(ac.quantity == quantity) & (ac.statistic == "median"), "value"].iloc[0]
            rows.append(
                (f"{quantity}_at_crossing_median", float(v), "tokens", "exhausted draws only")
            )
        return pd.DataFrame(rows, columns=["statistic", "value", "unit", "note"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the summary (None where a value is undefined, e.g. "after the
        horizon") plus the exact draws (``format``, ``fields``; :meth:`from_dict`)."""
        ac = self.at_crossing()
        return {
            **self._exact_fields(),
            "n_draws": self.n_draws,
            "horizon": float(self.horizon),
            "grid_start": float(self.years[0]),
            "quantiles": {k: json_float(v) for k, v in self.quantiles().items()},
            "not_exhausted_share": float(self.not_exhausted_share),
            "already_exhausted_share": float(self.already_exhausted_share),
            "at_crossing": {
                f"{r.quantity}_{r.statistic}": json_float(r.value) for r in ac.itertuples()
            },
            "prob_exhausted_by": {
                str(int(y)): json_float(p) for y, p in self.prob_exhausted_by().items()
            },
        }

    @checked(digits=checks.integer(0, 6))
    def year_texts(self, digits: int = 1) -> dict[str, str]:
        """The median and the ends of the 80% and 95% intervals for reading (``"2028.3"``,
        or "after the horizon"): keys median, p10, p90, p2_5, p97_5."""
        return {k: year_text(v, digits) for k, v in self.quantiles().items()}

    def meaning(self) -> str:
        """The intervals in words (the report's sentence under the answer)."""
        y = self.year_texts()
        return (
            f"Under the scenario's assumptions, half of the {self.n_draws:,} joint draws of "
            f"demand and stock run out of text by {y['median']}; 80% of draws run out "
            f"between {y['p10']} and {y['p90']} (10% earlier, 10% later or "
            f"never) and 95% between {y['p2_5']} and {y['p97_5']}. "
            f"{self.not_exhausted_share:.1%} of draws are not exhausted by "
            f"{self.horizon:g}. These intervals express uncertainty inside the model; "
            "they do not cover the chance that the model's structure is wrong."
        )

    def __repr__(self) -> str:
        y = self.year_texts(2)
        return (
            f"ExhaustionResult(n_draws={self.n_draws}, grid {self.years[0]:.2f}-"
            f"{self.years[-1]:.2f}, horizon={self.horizon:.2f}): "
            f"median {y['median']}, 80% [{y['p10']}, {y['p90']}], "
            f"95% [{y['p2_5']}, {y['p97_5']}]; "
            f"not exhausted by horizon {self.not_exhausted_share:.1%}, "
            f"already exhausted at start {self.already_exhausted_share:.1%}"
        )

    def _title(self) -> str:
        return f"ExhaustionResult: {self.n_draws} joint draws, horizon {self.horizon:.2f}"


# --- drivers -----------------------------------------------------------------------------


def exhaustion(
    years, demand, stock, horizon: float | None = None, *, block_rows: int = DEFAULT_BLOCK_ROWS
) -> ExhaustionResult:
    """Exhaustion dates for draws that fit in memory (see :func:`crossing_years`)."""
    grid = _validate_years(years)
    chunk = crossing_years(grid, demand, stock, block_rows=block_rows)
    return ExhaustionResult.from_chunks(grid, [chunk], horizon)


def chunk_seeds(seed: int | None, n_draws: int, chunk_size: int) -> list[int]:
    """The integer seed handed to each chunk by :func:`exhaustion_chunked`.

    ``numpy.random.SeedSequence(seed).spawn(n_chunks)``, one 64-bit integer per child.
    Chunk ``k`` always gets the same seed for a given ``seed``, so results are
    reproducible; they depend on ``chunk_size`` (which draws come from which stream).
    """
    if n_draws < 1:
        raise ExhaustionError(f"n_draws must be >= 1, got {n_draws}")
    if chunk_size < 1:
        raise ExhaustionError(f"chunk_size must be >= 1, got {chunk_size}")
    n_chunks = -(-n_draws // chunk_size)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    return [int(c.generate_state(1, dtype=np.uint64)[0]) for c in children]


def exhaustion_chunked(
    years,
    sample_chunk: Callable[[int, int], tuple[Any, Any]],
    n_draws: int,
    chunk_size: int = 10_000,
    seed: int | None = 0,
    horizon: float | None = None,
) -> ExhaustionResult:
    """Draw ``n_draws`` joint draws in chunks and compute their exhaustion dates.

    ``sample_chunk(n, seed) -> (demand, stock)`` must return ``n`` joint draws on the grid
    ``years`` (each ``(n, T)``, numpy or DataArray), using ``numpy.random.default_rng(seed)``.
    Chunk ``k`` gets ``chunk_seeds(seed, n_draws, chunk_size)[k]`` and the last chunk is
    smaller if ``chunk_size`` does not divide ``n_draws``. Only one chunk of draws is held
    at a time.

    Reproducibility: the same ``seed``, ``n_draws`` and ``chunk_size`` give identical
    numbers. Results DO depend on ``chunk_size`` (it decides which random stream each draw
    comes from), so keep the default fixed when comparing runs; different chunk sizes
    give statistically equivalent, not identical, results. ``seed=None`` is not
    reproducible.
    """

    def one_stock(n: int, chunk_seed: int):
        demand, stock = sample_chunk(n, chunk_seed)
        return demand, (stock,)

    return exhaustion_chunked_shared(
        years, one_stock, 1, n_draws, chunk_size=chunk_size, seed=seed, horizon=horizon
    )[0]


def exhaustion_chunked_shared(
    years,
    sample_chunk: Callable[[int, int], tuple[Any, Iterable[Any]]],
    n_stocks: int,
    n_draws: int,
    chunk_size: int = 10_000,
    seed: int | None = 0,
    horizon: float | None = None,
) -> list[ExhaustionResult]:
    """:func:`exhaustion_chunked` for ``n_stocks`` stocks against one demand: each chunk's
    demand is drawn once and compared with every stock.

    ``sample_chunk(n, seed) -> (demand, stocks)``: ``demand`` is tokens or a
    :class:`DemandDraws` (tokens and compute); ``stocks`` yields ``n_stocks`` arrays
    (a generator keeps one in memory at a time). Result ``i`` is what
    :func:`exhaustion_chunked` gives for a ``sample_chunk`` returning ``(demand, stock_i)``:
    the same chunks, seeds and numbers.
    """
    grid = _validate_years(years)
    seeds = chunk_seeds(seed, int(n_draws), int(chunk_size))
    chunks: list[list[CrossingChunk]] = [[] for _ in range(n_stocks)]
    for k, chunk_seed in enumerate(seeds):
        n = min(chunk_size, n_draws - k * chunk_size)
        demand, stocks = sample_chunk(n, chunk_seed)
        used = 0
        for i, stock in enumerate(stocks):
            if i >= n_stocks:
                raise ExhaustionError(f"sample_chunk gave more than {n_stocks} stocks")
            if isinstance(demand, DemandDraws):
                chunk = crossing_years(grid, demand.tokens, stock, compute=demand.compute)
            else:
                chunk = crossing_years(grid, demand, stock)
            if len(chunk) != n:
                raise ExhaustionError(
                    f"sample_chunk({n}, seed) returned {len(chunk)} joint draws, expected {n}"
                )
            chunks[i].append(chunk)
            used = i + 1
        if used != n_stocks:
            raise ExhaustionError(f"sample_chunk gave {used} stocks, expected {n_stocks}")
    return [ExhaustionResult.from_chunks(grid, c, horizon) for c in chunks]


# --- Epoch AI's 2024 procedure -----------------------------------------------------------

# np.isclose defaults, as used by Epoch's `np.isclose(samples, stock_quantile)`.
_EPOCH_RTOL = 1e-5
_EPOCH_ATOL = 1e-8


def _epoch_probability_loop(d: np.ndarray, s: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Literal transcription of Epoch's ``aggregate_projection(y)`` for each grid year."""
    levels = np.linspace(0, 1, n_quantiles + 1)
    prob = np.empty(d.shape[1])
    for t in range(d.shape[1]):
        stock_t = s[:, t]
        demand_t = d[:, t]
        stock_quantiles = [np.quantile(stock_t, q) for q in levels]
        run_out = []
        for i in range(n_quantiles):
            samples = demand_t.clip(0, stock_quantiles[i + 1])
            run_out.append(np.isclose(samples, stock_quantiles[i + 1]))
        prob[t] = np.concatenate(run_out).mean()
    return prob


def _epoch_probability_vectorised(d: np.ndarray, s: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Same numbers as the loop: counts of demand >= (quantile - isclose tolerance)."""
    levels = np.linspace(0, 1, n_quantiles + 1)[1:]
    sq = np.quantile(s, levels, axis=0)  # (n_quantiles, T)
    # isclose(min(D, q), q)  <=>  q - min(D, q) <= atol + rtol*|q|  <=>  D >= q - tol
    thresholds = sq - (_EPOCH_ATOL + _EPOCH_RTOL * np.abs(sq))
    d_sorted = np.sort(d, axis=0)
    m = d.shape[0]
    counts = np.empty(d.shape[1])
    for t in range(d.shape[1]):  # loop over years only; draws and quantiles vectorised
        below = np.searchsorted(d_sorted[:, t], thresholds[:, t], side="left")
        counts[t] = np.sum(m - below)
    return counts / (m * n_quantiles)


def _first_year_at_or_above(grid: np.ndarray, prob: np.ndarray, level: float) -> float:
    hit = np.flatnonzero(prob >= level)
    return float(grid[hit[0]]) if hit.size else math.nan


def _epoch_code_year(grid: np.ndarray, prob: np.ndarray, level: float) -> float:
    """Epoch's literal ``x[np.searchsorted(run_out_probs, level) - 1]``: the grid year
    *before* the first one with P >= level (for non-decreasing P); the last grid year if
    P never reaches the level. Index -1 (P >= level at the first grid year) would wrap to
    the last grid year in their code; here it is NaN."""
    idx = int(np.searchsorted(prob, level)) - 1
    return float(grid[idx]) if idx >= 0 else math.nan


def epoch_summary(probability: pd.DataFrame) -> dict[str, float]:
    """Median and 80% band from a per-year table of :func:`epoch_quantile_clipping`.

    ``median``/``p10``/``p90``: first grid year with P >= 0.5/0.1/0.9 (the rule stated in
    the paper, Villalobos et al. 2024); NaN if P never reaches the level on the grid.
    ``*_epoch_code``: the rule as Epoch's ``projections.py`` evaluates it,
    ``x[searchsorted(P, level) - 1]``, one grid step earlier (their grid,
    ``linspace(2015, 2039, 100)``, has steps of ~0.24 years).
    """
    grid = probability["year"].to_numpy(dtype=float)
    prob = probability["p_run_out"].to_numpy(dtype=float)
    out: dict[str, float] = {}
    for name, level in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
        out[name] = _first_year_at_or_above(grid, prob, level)
    for name, level in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
        out[f"{name}_epoch_code"] = _epoch_code_year(grid, prob, level)
    return out


def epoch_quantile_clipping(
    years,
    demand_samples,
    stock_samples,
    n_quantiles: int = 100,
    *,
    method: str = "loop",
) -> pd.DataFrame:
    """Epoch AI's 2024 run-out probability (Villalobos et al. 2024, ``projections.py``).

    For each grid year y, with stock quantiles ``q_k`` at levels ``k / n_quantiles``
    (k = 1..n_quantiles, so the 0% quantile is skipped and the 100% one, the sample
    maximum, is used), ``P(y) = mean_k mean_draws isclose(clip(D(y), 0, q_k), q_k)``,
    i.e. the average over stock quantiles of the share of demand samples at or above
    (within ``np.isclose``'s tolerance) each quantile. Demand and stock samples are
    treated as **independent marginals** year by year (any joint structure between them
    is ignored, as in Epoch's code); their numbers of draws may differ.

    ``method="loop"`` (default) is a literal Python loop over years and quantiles like
    Epoch's code (the reference; ~30 s for 10k samples x 912 monthly grid years);
    ``method="vectorised"`` gives the same numbers (tested) about 20x faster.
    Epoch redraws demand samples for every stock quantile; here the same demand samples
    are reused for every quantile (same expectation, less noise).

    Returns a DataFrame with columns ``year`` and ``p_run_out``; ``df.attrs["summary"]``
    holds :func:`epoch_summary` (median, p10, p90 by the first-year-with-P>=level rule,
    plus the ``*_epoch_code`` variants).
    """
    grid = _validate_years(years)
    d = np.asarray(_as_draw_matrix("demand_samples", demand_samples, grid), dtype=float)
    s = np.asarray(_as_draw_matrix("stock_samples", stock_samples, grid), dtype=float)
    if int(n_quantiles) != n_quantiles or n_quantiles < 1:
        raise ExhaustionError(f"n_quantiles must be a positive integer, got {n_quantiles!r}")
    if method == "loop":
        prob = _epoch_probability_loop(d, s, int(n_quantiles))
    elif method == "vectorised":
        prob = _epoch_probability_vectorised(d, s, int(n_quantiles))
    else:
        raise ExhaustionError(f"method must be 'loop' or 'vectorised', got {method!r}")
    out = pd.DataFrame({"year": grid, "p_run_out": prob})
    out.attrs["summary"] = epoch_summary(out)
    return out
