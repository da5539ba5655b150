"""Monte Carlo models of the stock of usable human-written text (tokens by year).

Two published models are reproduced from their exact inputs (``data/stock_estimates.csv``):

- :class:`Epoch2024Stock`: Villalobos et al. 2024 (arXiv:2211.04325v2) as coded in
  github.com/epoch-research/data-stock ``src/indexed_web.py`` and ``src/stock_adjust.py``::

      raw(y)    = pages x bytes_per_page / bytes_per_token
                  x (page_growth x n_pages_growth)**(y - 2024)
      effective = raw x quality_fraction x repetition_multiplier

- :class:`Epoch2022HighQualityStock`: the 2022 high-quality language stock
  (``v1/src/stocks/lang/high_quality.squiggle``): (GitHub code + scientific papers +
  books) / fraction represented x growth**(y - 2022), in words, converted to tokens at the
  edge with :func:`forecast.units.words_to_tokens` (tokens = words x 4/3).

Both take the same levers (validated constructor options): ``quality_fraction``,
``stock_growth``, ``repetition`` ("flat" / "muennighoff" / "none") with ``epochs``,
``consent_restriction`` (:class:`ConsentPath`), ``contamination``
(:class:`ContaminationPath`), ``isolation`` (:class:`Isolation`) and ``synthetic``
(:class:`Synthetic`). Their default numbers are rows of the table.

Each draw is one coherent trajectory: its parameters are drawn once and the stock is
evaluated at any years, so ``sample_parameters(n_draws, seed)`` and
``trajectories(params, years)`` can be used separately (e.g. chunks of draws on a monthly
grid to 2100; see :func:`iter_trajectories`). Epoch's code redraws every input for every
year; the per-year marginal distributions are the same.

Randomness: each parameter has its own stream, ``numpy.random.default_rng`` seeded by
``SeedSequence(seed, spawn_key=(crc32(name),))``, so the same seed gives the same numbers,
and switching a lever on or off leaves every other parameter's draws unchanged (common
random numbers: scenarios differ draw by draw only through the lever).

Steps, as variables of :meth:`sample_components` (each equal to the previous one when its
lever is off): ``raw`` -> ``quality_filtered`` -> ``repetition_adjusted`` ->
``consent_restricted`` -> ``contamination_adjusted`` -> ``synthetic_augmented`` (= the
effective stock returned by :meth:`sample`).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import xarray as xr

from forecast import checks
from forecast.errors import LeverError
from forecast.stock.estimates import (
    ParamSpec,
    SpecLike,
    _as_spec,
    _rng,
    cached_stock_estimates,
    parameter_spec,
)
from forecast.stock.levers import (
    STOCK_LEVERS,
    ConsentPath,
    ContaminationPath,
    Isolation,
    Synthetic,
    human_ratio,
)
from forecast.units import words_to_tokens

__all__ = [
    "COMPONENTS",
    "Epoch2022HighQualityStock",
    "Epoch2024Stock",
    "Sevilla2024DataStock",
    "iter_trajectories",
    "stock_summary",
    "take_draws",
]

#: Names of the adjustment steps, in order (variables of ``sample_components``).
COMPONENTS = (
    "raw",
    "quality_filtered",
    "repetition_adjusted",
    "consent_restricted",
    "contamination_adjusted",
    "synthetic_augmented",
)

HQ_BOOKS_GROWTH_FLOOR = 1.005  # see Epoch2022HighQualityStock._base_parameters
# --- shared machinery --------------------------------------------------------------------


def _years(years) -> np.ndarray:
    y = np.atleast_1d(np.asarray(years, dtype=float))
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)):
        raise LeverError("years must be a non-empty 1-D sequence of finite decimal years")
    return y


def take_draws(params: Mapping[str, np.ndarray], index) -> dict[str, np.ndarray]:
    """The parameters of a subset of draws (``index``: slice, integer or boolean array)."""
    return {k: np.asarray(v)[index] for k, v in params.items()}


def iter_trajectories(
    model, params: Mapping[str, np.ndarray], years, chunk_size: int = 10_000
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(draw_slice, trajectories)`` chunks of ``model.trajectories(params, years)``,
    so 100k draws x a monthly grid to 2100 never sit in memory at once."""
    if chunk_size < 1:
        raise LeverError(f"chunk_size must be >= 1, got {chunk_size!r}")
    n = len(next(iter(params.values())))
    for start in range(0, n, chunk_size):
        sl = slice(start, min(start + chunk_size, n))
        yield sl, model.trajectories(take_draws(params, sl), years)


@dataclass(frozen=True)
class _StockModel:
    """Levers shared by every stock model (see the module docstring)."""

    quality_fraction: SpecLike = None
    stock_growth: SpecLike = None
    repetition: str = "flat"
    epochs: SpecLike = None
    consent_restriction: ConsentPath | float | bool | str | None = None
    contamination: ContaminationPath | bool | str | None = None
    isolation: Isolation | bool | str | None = None
    synthetic: Synthetic | float | bool | str | None = None
    estimates_path: str | pathlib.Path | None = None

    base_year = 2024.0
    name = "stock"
    #: A ``(low, high)`` a user gives is a 90% interval in every lever and model (as in
    #: Squiggle's ``a to b``); give ``(low, high, interval)`` for another.

    def __post_init__(self) -> None:
        checks.fields(self, repetition=checks.text(), estimates_path=checks.optional(checks.path()))
        # Each lever checks and normalises its own fields (forecast.stock.levers), once.
        for lever in STOCK_LEVERS:
            values = lever.coerce({k: getattr(self, k) for k in lever.keys})
            for key, value in values.items():
                object.__setattr__(self, key, value)

    #: H(t)/S(t), the clean human share (:func:`forecast.stock.levers.human_ratio`).
    _human_ratio = staticmethod(human_ratio)

    # -- hooks for subclasses --------------------------------------------------------------

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        """Per-draw ``raw_base`` (tokens at ``base_year``), ``log_growth`` (ln of the
        yearly factor) and any model-specific inputs."""
        raise NotImplementedError

    def _default_quality(self, table) -> ParamSpec | None:
        return None

    def _default_repetition(self, table) -> ParamSpec | None:
        return None

    def _web_share(self, params) -> np.ndarray:
        """Share of the stock that consent restrictions apply to."""
        return np.ones_like(params["raw_base"])

    def _extra_components(self, params, growth) -> dict[str, np.ndarray]:
        return {}

    # -- parameters --------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """The validated inputs table (:func:`cached_stock_estimates`)."""
        return cached_stock_estimates(self.estimates_path)

    def sample_parameters(
        self, n_draws: int, seed: int | None = None, *, memo: dict | None = None
    ) -> dict[str, np.ndarray]:
        """Per-draw parameters (dict of arrays of shape ``(n_draws,)``); same seed, same numbers.

        ``memo``: a dict that keeps each drawn parameter between calls, by its distribution,
        ``n_draws`` and seed (the same numbers, drawn once: a global sensitivity analysis
        builds thousands of lever settings on common draws); its arrays are read-only.
        """
        if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
            raise LeverError(f"n_draws must be a positive integer, got {n_draws!r}")
        n = int(n_draws)
        table = self.table()
        entropy = np.random.SeedSequence(seed).entropy

        def draw(spec: ParamSpec) -> np.ndarray:
            if memo is None or spec.distribution == "fixed":
                return spec.sample(n, _rng(entropy, spec.name))
            numbers = (spec.low, spec.high, spec.interval, spec.central)
            key = (
                n,
                entropy,
                spec.name,
                spec.distribution,
                *(None if v != v else v for v in numbers),
            )
            if key not in memo:
                values = spec.sample(n, _rng(entropy, spec.name))
                values.flags.writeable = False
                memo[key] = values
            return memo[key]

        def spec(value, row: str, **kw) -> ParamSpec:
            return _as_spec(value, row, **kw) or parameter_spec(table, row)

        p = self._base_parameters(table, draw)
        for lever in STOCK_LEVERS:
            values = {k: getattr(self, k) for k in lever.keys}
            lever.sample(self, values, table, draw, spec, p, n)
        return p

    # -- trajectories ------------------------------------------------------------------------

    def trajectories(self, params: Mapping[str, np.ndarray], years) -> np.ndarray:
        """Effective stock in tokens, shape ``(n_draws, n_years)`` (float64)."""
        y = _years(years)[None, :]
        p = params
        scale = p["raw_base"]
        for lever in STOCK_LEVERS:
            m = lever.scale(p)
            if m is not None:
                scale = scale * m
        out = p["log_growth"][:, None] * (y - self.base_year)
        np.exp(out, out=out)
        out *= scale[:, None]
        for lever in STOCK_LEVERS:
            lever.multiply_into(self, p, y, out)
        return out

    def component_trajectories(self, params, years) -> dict[str, np.ndarray]:
        """Every adjustment step (see :data:`COMPONENTS`) plus model-specific parts, tokens."""
        y = _years(years)[None, :]
        p = params
        growth = np.exp(p["log_growth"][:, None] * (y - self.base_year))
        current = p["raw_base"][:, None] * growth
        out = {"raw": current}
        for step in COMPONENTS[1:]:
            for lever in STOCK_LEVERS:
                if lever.step != step:
                    continue
                m, factor = lever.scale(p), lever.factor(self, p, y)
                if m is not None:
                    current = current * m[:, None]
                if factor is not None:
                    current = current * factor
            out[step] = current
        out.update(self._extra_components(p, growth))
        return out

    # -- convenience wrappers ----------------------------------------------------------------

    def _attrs(self) -> dict:
        levers = {f.name: repr(getattr(self, f.name)) for f in fields(self)}
        return {
            "units": "tokens",
            "model": self.name,
            **{f"lever_{k}": v for k, v in levers.items()},
        }

    def sample(self, years, n_draws: int = 10_000, seed: int | None = None) -> xr.DataArray:
        """Effective stock, ``DataArray`` dims ("draw", "year"), tokens."""
        y = _years(years)
        values = self.trajectories(self.sample_parameters(n_draws, seed), y)
        return xr.DataArray(
            values,
            dims=("draw", "year"),
            coords={"draw": np.arange(values.shape[0]), "year": y},
            name="stock",
            attrs=self._attrs(),
        )

    def sample_components(
        self, years, n_draws: int = 10_000, seed: int | None = None
    ) -> xr.Dataset:
        """Each adjustment step as a variable (dims "draw", "year"; tokens), for waterfalls.

        ``synthetic_augmented`` equals :meth:`sample` with the same seed.
        """
        y = _years(years)
        comps = self.component_trajectories(self.sample_parameters(n_draws, seed), y)
        n = next(iter(comps.values())).shape[0]
        coords = {"draw": np.arange(n), "year": y}
        ds = xr.Dataset(
            {
                k: xr.DataArray(v, dims=("draw", "year"), attrs={"units": "tokens"})
                for k, v in comps.items()
            },
            coords=coords,
            attrs=self._attrs(),
        )
        return ds


@dataclass(frozen=True)
class Epoch2024Stock(_StockModel):
    """Villalobos et al. 2024 indexed-web stock, exactly as Epoch's code (epoch-research/data-stock, src/).

    Defaults (table rows, 95% lognormal intervals, as ``sq.to(..., credibility=95)``):
    ``indexed_pages`` [75e9, 1e12]; ``bytes_per_page`` [6100, 8200]; bytes per token
    ``6 - lognormal[1, 4]`` (median 4, 95% [2, 5]); ``bytes_per_page_growth`` [1.02, 1.04]
    and ``pages_growth`` [1.00, 1.10] per year; ``quality_fraction`` [0.1, 0.4];
    ``repetition="flat"``: ``repetition_multiplier`` [2, 5]. The whole stock is web text,
    so ``consent_restriction`` applies to all of it.

    ``bytes_per_token_floor`` (default 1.0): Epoch's ``6 - lognormal`` falls below 1 byte
    per token in ~0.5% of draws and below 0 in ~0.1% (a negative stock). A byte-level BPE
    token holds at least one byte, so draws are floored at 1; None keeps Epoch's raw
    values. Neither choice moves the published quantiles (tests).
    Overrides given as ``(low, high)`` are 90% intervals, as in every lever (until 0.6.0
    they were 95% here); write ``(0.1, 0.4, 0.95)`` for Epoch's 95%.
    """

    bytes_per_token_floor: float | None = 1.0

    name = "epoch2024"
    base_year = 2024.0

    def __post_init__(self) -> None:
        super().__post_init__()
        checks.fields(self, bytes_per_token_floor=checks.optional(checks.number()))
        if self.bytes_per_token_floor is not None:
            _as_spec(
                self.bytes_per_token_floor, "bytes_per_token_floor", lo=0.0, hi=6.0, positive=True
            )

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        pages = draw(parameter_spec(table, "indexed_pages"))
        bytes_per_page = draw(parameter_spec(table, "bytes_per_page"))
        ceiling = parameter_spec(table, "bytes_per_token_ceiling").central
        bytes_per_token = ceiling - draw(parameter_spec(table, "bytes_per_token_shortfall"))
        if self.bytes_per_token_floor is not None:
            bytes_per_token = np.maximum(bytes_per_token, self.bytes_per_token_floor)
        page_growth = draw(parameter_spec(table, "bytes_per_page_growth"))
        n_pages_growth = draw(parameter_spec(table, "pages_growth"))
        return {
            "indexed_pages": pages,
            "bytes_per_page": bytes_per_page,
            "bytes_per_token": bytes_per_token,
            "raw_base": pages * bytes_per_page / bytes_per_token,
            "log_growth": np.log(page_growth * n_pages_growth),
        }

    def _default_quality(self, table) -> ParamSpec:
        return parameter_spec(table, "quality_fraction")


@dataclass(frozen=True)
class Epoch2022HighQualityStock(_StockModel):
    """Epoch 2022 high-quality language stock (Epoch's v1 code,
    ``v1/src/stocks/lang/high_quality.squiggle``; all 90% lognormal intervals).

    words(2022) = [GitHub TB [21, 65] x source share [0.05, 0.5] x 200e9 words/TB
    + papers [100M, 170M] x 6000 words
    + books x 100k words] / fraction represented [0.3, 0.5],
    books = (direct [10M, 30M] + published/yr [1M, 3M] x digital [0.02, 0.2] / ln g) / 2,
    stock(t) = words(2022) x g^(t - 2022), g = ``hq_growth`` [1.02, 1.06] (the same draw in
    the books estimate, as in Squiggle). Converted to tokens with
    :func:`forecast.units.words_to_tokens` (x 4/3). Published 2022: 8.2e12 words
    [4.9e12, 1.7e13] (90%).

    Defaults differ from :class:`Epoch2024Stock`: no quality filter (the stock is already
    "high quality"), ``repetition="none"`` (Epoch 2022 did not adjust for repetition).
    ``consent_restriction`` applies to the unrepresented share ``1 - fraction represented``
    (news, Wikipedia, filtered web), not to code, papers and books. Components add the
    parts ``github``, ``papers``, ``books``, ``unrepresented`` (tokens).
    """

    repetition: str = "none"

    name = "epoch2022-high-quality"
    base_year = 2022.0

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        def d(row):
            return draw(parameter_spec(table, row))

        def c(row):
            return parameter_spec(table, row).central

        growth = d("hq_growth")
        github = d("hq_github_size_tb") * d("hq_github_source_share") * c("hq_words_per_tb")
        papers = d("hq_papers_count") * c("hq_words_per_paper")
        # books published to date = yearly output / ln(g) (a geometric series). The 90%
        # lognormal on g puts ~0.2% of draws at g <= 1, where that sum diverges or turns
        # negative (a negative stock); the series is evaluated with g floored at 1.005.
        indirect = (
            d("hq_books_published_per_year")
            * d("hq_books_digital_fraction")
            / np.log(np.maximum(growth, HQ_BOOKS_GROWTH_FLOOR))
        )
        books = 0.5 * (d("hq_books_direct") + indirect) * c("hq_words_per_book")
        represented = d("hq_fraction_represented")
        words = (github + papers + books) / represented
        return {
            "github_words": github,
            "papers_words": papers,
            "books_words": books,
            "fraction_represented": represented,
            "raw_words": words,
            "raw_base": words_to_tokens(words),
            "log_growth": np.log(growth),
        }

    def _web_share(self, params) -> np.ndarray:
        return 1.0 - params["fraction_represented"]

    def _extra_components(self, params, growth) -> dict[str, np.ndarray]:
        out = {
            part: words_to_tokens(params[f"{part}_words"])[:, None] * growth
            for part in ("github", "papers", "books")
        }
        out["unrepresented"] = (
            words_to_tokens(
                params["raw_words"]
                - params["github_words"]
                - params["papers_words"]
                - params["books_words"]
            )[:, None]
            * growth
        )
        return out


# --- summaries ---------------------------------------------------------------------------

_QUANTILES = {
    "median": 0.5,
    "p5": 0.05,
    "p95": 0.95,
    "p2_5": 0.025,
    "p97_5": 0.975,
    "p10": 0.10,
    "p90": 0.90,
}


def stock_summary(da: xr.DataArray, years=None) -> pd.DataFrame:
    """Tidy quantiles over draws: columns year, median, p5, p95, p2_5, p97_5, p10, p90.

    ``years`` (optional) selects grid years (nearest within 1e-6 of a year).
    """
    if "draw" not in da.dims or "year" not in da.dims:
        raise LeverError(f"expected dims ('draw', 'year'), got {da.dims}")
    if years is not None:
        try:
            da = da.sel(year=_years(years), method="nearest", tolerance=1e-6)
        except KeyError:
            raise LeverError(f"years {list(np.atleast_1d(years))} not all on the grid") from None
    values = da.transpose("draw", "year").values
    qs = np.quantile(values, list(_QUANTILES.values()), axis=0)
    df = pd.DataFrame({"year": da["year"].values.astype(float)})
    for i, key in enumerate(_QUANTILES):
        df[key] = qs[i]
    return df


@dataclass(frozen=True)
class Sevilla2024DataStock(_StockModel):
    """Sevilla et al. 2024's data stock for the largest run by 2030 (Epoch AI, "Can AI
    scaling continue through 2030?"): 400 trillion to 20 quadrillion training tokens
    (80% lognormal, row ``sevilla2024_data_tokens``), counting text, images, video and
    audio with multi-epoch use. Constant in time (the report's figure is for 2030); no
    quality filter and no repetition multiplier by default (both are in the range).
    Consent restrictions, AI-written text and synthetic data apply as to every stock.
    """

    repetition: str = "none"

    name = "sevilla2024-data"
    base_year = 2030.0

    def _base_parameters(self, table, draw) -> dict[str, np.ndarray]:
        tokens = draw(parameter_spec(table, "sevilla2024_data_tokens"))
        return {"raw_base": tokens, "log_growth": np.zeros_like(tokens)}
