"""Unit conversions at the edges: bytes, gigabytes and words to tokens, and dates.

Inside the toolkit every text quantity is in **tokens** and every date is a **decimal
year** (float, e.g. 2024.5 = 2 July 2024) unless a column is explicitly a datetime.
Conversions happen only where data enter or leave, with the factor explicit.

Defaults (English text, BPE tokenizers such as GPT-2's or cl100k_base):

- ``BYTES_PER_TOKEN = 4.0``: Villalobos et al. 2024 (arXiv:2211.04325v2) App. E measure
  4.2-4.4 characters per token on RefinedWeb; their 95% range is 2-5 bytes per token.
- ``WORDS_PER_TOKEN = 0.75``: Epoch AI's database convention (1 token = 0.75 words, so
  tokens = words x 4/3). Villalobos et al. 2024 use ~0.8 words per token.
- ``BYTES_PER_GB = 1e9``: decimal gigabytes, as the papers quoting "40 GB" use them.

Tokens and training compute: :func:`tokens_from_compute` and :func:`compute_from_tokens`
convert for a given number of tokens per (active) parameter, by ``C = 6 N D``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

BYTES_PER_TOKEN: float = 4.0
WORDS_PER_TOKEN: float = 0.75
BYTES_PER_GB: float = 1e9

#: Published ranges of the factors above (Villalobos et al. 2024, §2.1), for sensitivity analyses.
BYTES_PER_TOKEN_RANGE: tuple[float, float] = (2.0, 5.0)
WORDS_PER_TOKEN_RANGE: tuple[float, float] = (0.7, 0.8)


def _convert(values, factor: float, factor_name: str, *, divide: bool, scale: float = 1.0):
    """``values x scale x factor`` (or ``/ factor``): a float for a scalar, else an array."""
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"{factor_name} must be positive and finite, got {factor!r}")
    out = np.asarray(values, dtype=float) * scale
    out = out / factor if divide else out * factor
    return float(out) if out.ndim == 0 else out


def words_to_tokens(words, words_per_token: float = WORDS_PER_TOKEN):
    """Words -> tokens: ``tokens = words / words_per_token`` (default x 4/3)."""
    return _convert(words, words_per_token, "words_per_token", divide=True)


def tokens_to_words(tokens, words_per_token: float = WORDS_PER_TOKEN):
    """Tokens -> words: ``words = tokens x words_per_token`` (default x 0.75)."""
    return _convert(tokens, words_per_token, "words_per_token", divide=False)


def bytes_to_tokens(n_bytes, bytes_per_token: float = BYTES_PER_TOKEN):
    """Bytes of plain text -> tokens: ``tokens = bytes / bytes_per_token`` (default 4)."""
    return _convert(n_bytes, bytes_per_token, "bytes_per_token", divide=True)


def tokens_to_bytes(tokens, bytes_per_token: float = BYTES_PER_TOKEN):
    """Tokens -> bytes of plain text: ``bytes = tokens x bytes_per_token``."""
    return _convert(tokens, bytes_per_token, "bytes_per_token", divide=False)


def gb_to_tokens(gigabytes, bytes_per_token: float = BYTES_PER_TOKEN):
    """Decimal gigabytes of plain text -> tokens (1 GB = 1e9 bytes)."""
    return _convert(gigabytes, bytes_per_token, "bytes_per_token", divide=True, scale=BYTES_PER_GB)


def tokens_to_gb(tokens, bytes_per_token: float = BYTES_PER_TOKEN):
    """Tokens -> decimal gigabytes of plain text (1 GB = 1e9 bytes)."""
    gb_per_byte = 1.0 / BYTES_PER_GB
    return _convert(tokens, bytes_per_token, "bytes_per_token", divide=False, scale=gb_per_byte)


# --- dates -------------------------------------------------------------------------------


def _year_bounds(year: int) -> tuple[dt.datetime, float]:
    start = dt.datetime(year, 1, 1)
    length = (dt.datetime(year + 1, 1, 1) - start).total_seconds()
    return start, length


def to_decimal_year(date) -> float:
    """A date or datetime (or ISO string) -> decimal year; 2024-07-02 -> ~2024.50."""
    ts = pd.Timestamp(date)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    start, length = _year_bounds(ts.year)
    return ts.year + (ts.to_pydatetime() - start).total_seconds() / length


def decimal_years(dates) -> np.ndarray:
    """Vectorised :func:`to_decimal_year` over a sequence or Series of dates."""
    index = pd.DatetimeIndex(pd.to_datetime(dates))
    years = index.year.to_numpy()
    starts = pd.to_datetime({"year": years, "month": 1, "day": 1})
    ends = pd.to_datetime({"year": years + 1, "month": 1, "day": 1})
    elapsed = (index - pd.DatetimeIndex(starts)).total_seconds().to_numpy()
    length = (pd.DatetimeIndex(ends) - pd.DatetimeIndex(starts)).total_seconds().to_numpy()
    return years + elapsed / length


def from_decimal_year(year: float) -> pd.Timestamp:
    """Decimal year -> pandas Timestamp (second resolution)."""
    if not np.isfinite(year):
        raise ValueError(f"decimal year must be finite, got {year!r}")
    whole = int(np.floor(year))
    start, length = _year_bounds(whole)
    return pd.Timestamp(start + dt.timedelta(seconds=round((year - whole) * length)))


def monthly_grid(start: float, stop: float) -> np.ndarray:
    """Decimal years on the first of each month from ``start`` up to and including ``stop``."""
    first = from_decimal_year(start).to_period("M").to_timestamp()
    if to_decimal_year(first) < start - 1e-9:
        first = first + pd.offsets.MonthBegin(1)
    months = pd.date_range(first, from_decimal_year(stop), freq="MS")
    return decimal_years(months)


def year_text(value, digits: int = 1) -> str:
    """A decimal year for reading (``2028.3``); None, NaN or infinity (a date after the
    horizon, in every results object) reads "after the horizon"."""
    if value is None or not math.isfinite(float(value)):
        return "after the horizon"
    return f"{float(value):.{digits}f}"


#: Training compute per parameter per token: C = 6 N D (Kaplan et al. 2020; Hoffmann et
#: al. 2022), forward and backward pass of a dense transformer (N: active parameters).
FLOP_PER_PARAMETER_TOKEN = 6.0
#: Chinchilla-optimal tokens per parameter (Hoffmann et al. 2022).
CHINCHILLA_TOKENS_PER_PARAMETER = 20.0


def tokens_from_compute(compute_flop, tokens_per_parameter=CHINCHILLA_TOKENS_PER_PARAMETER):
    """Training tokens of a run of ``compute_flop`` FLOP trained at ``tokens_per_parameter``
    tokens per (active) parameter: ``C = 6 N D`` and ``D = r N`` give ``D = sqrt(C r / 6)``.

    >>> round(tokens_from_compute(5.76e23) / 1e12, 2)  # Chinchilla: 70B params, 1.4T tokens
    1.39
    """
    c = np.asarray(compute_flop, dtype=float)
    r = np.asarray(tokens_per_parameter, dtype=float)
    out = np.sqrt(c * r / FLOP_PER_PARAMETER_TOKEN)
    return float(out) if out.ndim == 0 else out


def compute_from_tokens(tokens, tokens_per_parameter=CHINCHILLA_TOKENS_PER_PARAMETER):
    """Training compute (FLOP) of a run on ``tokens`` tokens at ``tokens_per_parameter``
    tokens per (active) parameter: ``C = 6 D^2 / r``, the inverse of
    :func:`tokens_from_compute`.

    >>> f"{compute_from_tokens(4e14):.1e}"  # Epoch 2024: the stock at ~5e28 FLOP
    '4.8e+28'
    """
    d = np.asarray(tokens, dtype=float)
    r = np.asarray(tokens_per_parameter, dtype=float)
    with np.errstate(over="ignore"):  # beyond float range (above ~1e154 tokens): inf
        out = FLOP_PER_PARAMETER_TOKEN * d**2 / r
    return float(out) if out.ndim == 0 else out
