"""Model comparison and combination: PSIS-LOO comparison with stacking weights of fits to
the same rows (:func:`compare`, cached by :func:`compare_cached`) and the weighted mixture
of fits (:class:`ModelAverage`; the default demand is the registry's
:data:`~forecast.registry.DEFAULT_WEIGHTS`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _compat
from forecast.demand.cache import value_cached
from forecast.demand.model import DemandFit
from forecast.errors import ForecastError
from forecast.registry import DEFAULT_WEIGHTS

#: Frontier token models fitted to the same rows, compared by PSIS-LOO (:func:`compare`).
LOO_MODELS: tuple[str, ...] = ("frontier", "slowdown", "random-walk-slope")


def compare(fits: Sequence[DemandFit]) -> pd.DataFrame:
    """PSIS-LOO comparison with stacking weights (Yao et al. 2018) of frontier models.

    Only models fitted to the *same* rows can be compared by LOO, so this takes the
    frontier token models (FrontierTrend, SlowdownTrend). Columns: model, elpd_loo,
    se, p_loo, weight, pareto_k_max.
    """
    _compat.settle_arviz_stamp()
    import arviz as az

    if len({len(f.rows) for f in fits}) != 1:
        raise ForecastError("LOO comparison needs fits to the same rows")
    by_name = {f.name: f.idata for f in fits}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = _compat.compare(by_name, method="stacking")
        k_max = {
            name: float(np.max(_pareto_k(az.loo(idata, pointwise=True))))
            for name, idata in by_name.items()
        }
    elpd_col = "elpd_loo" if "elpd_loo" in table.columns else "elpd"
    p_col = "p_loo" if "p_loo" in table.columns else "p"
    out = pd.DataFrame(
        {
            "model": table.index,
            "elpd_loo": table[elpd_col].to_numpy(dtype=float),
            "se": table["se"].to_numpy(dtype=float),
            "p_loo": table[p_col].to_numpy(dtype=float),
            "weight": table["weight"].to_numpy(dtype=float),
        }
    )
    out["pareto_k_max"] = out["model"].map(k_max)
    return out.reset_index(drop=True)


def compare_cached(
    fits: Sequence[DemandFit], cache_dir: str | Path | None = None, *, use_cache: bool = True
) -> pd.DataFrame:
    """:func:`compare`, saved beside the cached fits and reused while they are the same
    fits (their :func:`fit_key` keys) and ArviZ is the same version: a run whose fits all
    come from the cache then needs no ArviZ (on 0.x about 300 MB of memory and 2 s to
    import) and no PSIS-LOO. Fits without a key (``use_cache=False``) are compared afresh.
    """
    keys = [f._stored.attrs.get("forecast_key") for f in fits]
    if not use_cache or not all(isinstance(k, str) for k in keys):
        return compare(fits)
    from importlib.metadata import version

    inputs = {"fits": keys, "arviz": version("arviz")}
    return value_cached("compare", inputs, lambda: compare(fits), cache_dir, what="comparison")


#: Columns of :func:`compare`'s table.
COMPARISON_COLUMNS: tuple[str, ...] = ("model", "elpd_loo", "se", "p_loo", "weight", "pareto_k_max")


def empty_comparison() -> pd.DataFrame:
    """:func:`compare`'s table with no rows (the models it compares were not all fitted)."""
    return pd.DataFrame(
        {c: pd.Series(dtype=object if c == "model" else float) for c in COMPARISON_COLUMNS}
    )


def _pareto_k(loo) -> np.ndarray:
    k = loo.pareto_k if hasattr(loo, "pareto_k") else loo["pareto_k"]
    return np.asarray(getattr(k, "values", k), dtype=float)


def shuffled_rows(blocks: Iterable[np.ndarray], order: np.ndarray, width: int) -> np.ndarray:
    """``np.concatenate(blocks)[order]`` without the concatenated copy: each block's rows
    are written straight to their places (``order`` a permutation of all the rows), and a
    block can be freed before the next one is made."""
    out = np.empty((len(order), width))
    place = np.empty_like(order)
    place[order] = np.arange(len(order))  # row k of the concatenation goes to place[k]
    start = 0
    for block in blocks:
        out[place[start : start + len(block)]] = block
        start += len(block)
        del block  # not held while the next block is made
    if start != len(order):
        raise ForecastError(f"shuffled_rows: {start} rows for a permutation of {len(order)}")
    return out


@dataclass
class ModelAverage:
    """Stacking-weighted mixture of fits: each projected draw comes from one model.

    The default demand is :data:`DEFAULT_WEIGHTS` over the frontier and random-walk-slope
    fits; any weights (e.g. the LOO stacking weights of :func:`compare`) can be given.
    """

    fits: list[DemandFit]
    weights: np.ndarray
    name: str = "default"

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=float)
        if len(self.weights) != len(self.fits) or not np.isclose(self.weights.sum(), 1.0):
            raise ForecastError("model-average weights must match the fits and sum to 1")

    def project(self, years, n_draws: int = 4000, seed: int | None = 0) -> xr.DataArray:
        """Draws of tokens (dims draw, year) from the weighted mixture of the fits."""
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n_draws, self.weights)
        seeds = rng.integers(0, 2**32, size=len(self.fits))
        used = [(fit, int(n), int(s)) for fit, n, s in zip(self.fits, counts, seeds, strict=True)]
        used = [u for u in used if u[1] > 0]
        years = np.atleast_1d(np.asarray(years, dtype=float))
        if len(used) == 1:
            values = used[0][0].project(years, n_draws=used[0][1], seed=used[0][2]).to_numpy()
        else:  # shuffled so that every chunk of draws mixes the models
            values = shuffled_rows(
                (fit.project(years, n_draws=n, seed=s).to_numpy() for fit, n, s in used),
                rng.permutation(n_draws),
                len(years),
            )
        return xr.DataArray(
            values,
            dims=("draw", "year"),
            coords={"year": years},
            name="tokens",
            attrs={"units": "tokens", "model": self.name},
        )

    @classmethod
    def default(cls, fits: Mapping[str, DemandFit]) -> ModelAverage:
        """The default demand: :data:`DEFAULT_WEIGHTS` over ``fits`` (by model name)."""
        return cls([fits[name] for name in DEFAULT_WEIGHTS], list(DEFAULT_WEIGHTS.values()))

    def token_growth_log10_per_year(self, n_draws: int = 4000, seed: int | None = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n_draws, self.weights)
        draws = [
            rng.choice(fit.token_growth_log10_per_year(), size=int(n))
            for fit, n in zip(self.fits, counts, strict=True)
        ]
        return np.concatenate(draws)
