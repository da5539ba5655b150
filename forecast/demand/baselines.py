"""Non-Bayesian baselines for the demand trend, for comparison tables and backtests.

- :func:`ols_trend`: statsmodels OLS of log10 tokens on decimal year, with its
  prediction intervals (Student-t, parameter + residual uncertainty).
- :func:`quantile_trends`: statsmodels quantile regression at chosen quantiles.
- :func:`epoch_bootstrap`: Epoch AI's 2024 procedure (its public code, epoch-research/data-stock): 10,000 bootstrap
  resamples of the OLS slope, then projections ``D(d) = g**d * S`` with the daily growth
  ``g`` lognormal between the bootstrap's 2.5% and 97.5% slopes (95% credibility) and the
  starting size ``S`` lognormal with 90% interval 3T-13T tokens on 2024-01-01.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from forecast._compat import lazy_module
from forecast.errors import DataError

sm = lazy_module("statsmodels.api")

_Z90 = stats.norm.ppf(0.95)
_Z95 = stats.norm.ppf(0.975)


def _xy(models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    rows = models.dropna(subset=["tokens"])
    if len(rows) < 3 or np.ptp(rows["year"].to_numpy(dtype=float)) <= 0:
        raise DataError(
            "a trend needs at least 3 models with tokens on at least two dates", column="tokens"
        )
    return rows["year"].to_numpy(dtype=float), np.log10(rows["tokens"].to_numpy(dtype=float))


def _tokens_array(values: np.ndarray, years: np.ndarray, name: str) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("draw", "year"),
        coords={"year": years},
        name="tokens",
        attrs={"units": "tokens", "model": name},
    )


@dataclass
class OLSTrend:
    """OLS of log10 tokens on year (statsmodels), projected with prediction intervals."""

    result: object  # statsmodels RegressionResults
    name: str = "ols"

    @property
    def oom_per_year(self) -> tuple[float, float, float]:
        """Slope in orders of magnitude per year: (estimate, 2.5%, 97.5%)."""
        lo, hi = self.result.conf_int(0.05)[1]
        return float(self.result.params[1]), float(lo), float(hi)

    def predict(self, years, alpha: float = 0.2) -> pd.DataFrame:
        """Mean and prediction interval (default 80%) of log10 tokens, in tokens."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        frame = self.result.get_prediction(sm.add_constant(years, has_constant="add"))
        table = frame.summary_frame(alpha=alpha)
        return pd.DataFrame(
            {
                "year": years,
                "median": 10 ** table["mean"].to_numpy(),
                "lower": 10 ** table["obs_ci_lower"].to_numpy(),
                "upper": 10 ** table["obs_ci_upper"].to_numpy(),
            }
        )

    def project(self, years, n_draws: int = 4000, seed: int | None = 0) -> xr.DataArray:
        """Draws from the OLS predictive (Student-t with the residual degrees of freedom)."""
        rng = np.random.default_rng(seed)
        years = np.atleast_1d(np.asarray(years, dtype=float))
        exog = sm.add_constant(years, has_constant="add")
        mean = exog @ self.result.params
        # Predictive sd at each date: parameter covariance plus residual variance.
        sd = np.sqrt(
            np.einsum("ij,jk,ik->i", exog, self.result.cov_params(), exog) + self.result.scale
        )
        t = rng.standard_t(self.result.df_resid, size=(n_draws, 1))
        return _tokens_array(10 ** (mean[None, :] + t * sd[None, :]), years, self.name)


def ols_trend(models: pd.DataFrame) -> OLSTrend:
    """Fit OLS of log10 tokens on decimal year to every row with tokens."""
    x, y = _xy(models)
    return OLSTrend(sm.OLS(y, sm.add_constant(x)).fit())


def quantile_trends(models: pd.DataFrame, quantiles=(0.1, 0.5, 0.9), years=None) -> pd.DataFrame:
    """Quantile-regression lines of log10 tokens on year: one row per (quantile, year).

    Columns: quantile, year, tokens, oom_per_year.
    """
    x, y = _xy(models)
    years = np.linspace(x.min(), x.max(), 50) if years is None else np.asarray(years, dtype=float)
    rows = []
    for q in quantiles:
        params = sm.QuantReg(y, sm.add_constant(x)).fit(q=q).params
        rows.append(
            pd.DataFrame(
                {
                    "quantile": q,
                    "year": years,
                    "tokens": 10 ** (params[0] + params[1] * years),
                    "oom_per_year": params[1],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def bootstrap_slopes(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int | None) -> np.ndarray:
    """OLS slopes of ``n_boot`` bootstrap resamples, vectorised (no Python loop)."""
    rng = np.random.default_rng(seed)
    # In chunks of about 2 million resampled points, so memory stays linear in the rows
    # (10,000 x 30,000 rows at once would be 7 GB); the random stream is the same as
    # drawing every index at once.
    chunk = max(1, 2_000_000 // max(len(x), 1))
    parts = []
    for begin in range(0, n_boot, chunk):
        idx = rng.integers(0, len(x), size=(min(chunk, n_boot - begin), len(x)))
        xb, yb = x[idx], y[idx]
        xc = xb - xb.mean(axis=1, keepdims=True)
        yc = yb - yb.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append((xc * yc).sum(axis=1) / (xc * xc).sum(axis=1))
    slopes = np.concatenate(parts)
    return slopes[np.isfinite(slopes)]


def lognormal_90(low: float, high: float, size, rng: np.random.Generator) -> np.ndarray:
    """Lognormal draws whose 90% central interval is [low, high] (Squiggle's ``low to high``)."""
    mu = (np.log(low) + np.log(high)) / 2
    sigma = (np.log(high) - np.log(low)) / (2 * _Z90)
    return rng.lognormal(mu, sigma, size)


@dataclass
class EpochBootstrap:
    """Epoch AI's 2024 historical projection (bootstrap-OLS growth x 3T-13T start)."""

    slopes: np.ndarray  # bootstrap OLS slopes, OOM per year
    start_year: float = 2024.0
    start_low: float = 3e12
    start_high: float = 13e12
    name: str = "epoch-bootstrap"

    @property
    def oom_per_year(self) -> tuple[float, float, float]:
        q = np.quantile(self.slopes, [0.5, 0.025, 0.975])
        return float(q[0]), float(q[1]), float(q[2])

    def log10_normal(self, years) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of log10 tokens at ``years``: :meth:`project`'s distribution in
        closed form. The start (lognormal, 90% interval) and the growth (lognormal daily
        factor from the slopes' 95% interval) are both Gaussian in log10, so is the sum."""
        years = np.atleast_1d(np.asarray(years, dtype=float))
        lo, hi = np.log10(self.start_low), np.log10(self.start_high)
        q_lo, q_hi = np.quantile(self.slopes, [0.025, 0.975])
        elapsed = years - self.start_year
        mean = (lo + hi) / 2 + (q_lo + q_hi) / 2 * elapsed
        sd = np.hypot((hi - lo) / (2 * _Z90), (q_hi - q_lo) / (2 * _Z95) * elapsed)
        return mean, sd

    def project(self, years, n_draws: int = 4000, seed: int | None = 0) -> xr.DataArray:
        """Epoch's ``D(d) = daily_growth**d * start`` with d days since the start date."""
        rng = np.random.default_rng(seed)
        years = np.atleast_1d(np.asarray(years, dtype=float))
        q_lo, q_hi = np.quantile(self.slopes, [0.025, 0.975])
        # sq.to(10**q2.5, 10**q97.5, credibility=95) on the *daily* growth factor.
        lo, hi = 10 ** (q_lo / 365.25), 10 ** (q_hi / 365.25)
        mu = (np.log(lo) + np.log(hi)) / 2
        sigma = (np.log(hi) - np.log(lo)) / (2 * _Z95)
        daily = rng.lognormal(mu, sigma, (n_draws, 1))
        start = lognormal_90(self.start_low, self.start_high, (n_draws, 1), rng)
        days = (years[None, :] - self.start_year) * 365.25
        tokens = daily**days
        tokens *= start  # in place: the same products, one (draw, date) array less
        return _tokens_array(tokens, years, self.name)


def epoch_bootstrap(
    models: pd.DataFrame, n_boot: int = 10_000, seed: int | None = 0, **start
) -> EpochBootstrap:
    """Epoch's bootstrap of the OLS growth rate over every row with tokens."""
    x, y = _xy(models)
    return EpochBootstrap(bootstrap_slopes(x, y, n_boot, seed), **start)


#: Epoch's 3T-13T starting prior relative to the largest disclosed run before 2024 (3.5T).
EPOCH_START_RATIO: tuple[float, float] = (3.0 / 3.5, 13.0 / 3.5)


def epoch_bootstrap_at(
    models: pd.DataFrame, start_year: float, seed: int | None = 0
) -> EpochBootstrap:
    """Epoch's procedure started at ``start_year`` (a backtest cutoff or a skill-study
    origin) with its 3T-13T start re-anchored: :data:`EPOCH_START_RATIO` times the largest
    token count in ``models`` (what was known then)."""
    largest = float(models["tokens"].max())
    return epoch_bootstrap(
        models,
        seed=seed,
        start_year=start_year,
        start_low=EPOCH_START_RATIO[0] * largest,
        start_high=EPOCH_START_RATIO[1] * largest,
    )
