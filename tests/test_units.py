"""Unit conversions: exact factors, round-trips (hypothesis) and decimal years."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast import units

SETTINGS = settings(max_examples=50, deadline=None)
amounts = st.floats(min_value=1e-3, max_value=1e20, allow_nan=False, allow_infinity=False)
words_per_token = st.floats(min_value=0.5, max_value=1.0)
bytes_per_token = st.floats(min_value=1.0, max_value=8.0)


def test_default_factors():
    assert units.words_to_tokens(0.75) == pytest.approx(1.0)
    assert units.words_to_tokens(3e11) == pytest.approx(4e11)  # x 4/3
    assert units.tokens_to_words(4e11) == pytest.approx(3e11)
    assert units.bytes_to_tokens(4e9) == pytest.approx(1e9)
    assert units.gb_to_tokens(40) == pytest.approx(1e10)  # 40 GB at 4 bytes/token
    assert units.tokens_to_gb(1e10) == pytest.approx(40)
    assert units.tokens_to_bytes(1.0) == pytest.approx(4.0)


def test_arrays_and_scalars():
    out = units.words_to_tokens([0.75, 1.5])
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [1.0, 2.0])
    assert isinstance(units.words_to_tokens(0.75), float)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_factor_rejected(bad):
    with pytest.raises(ValueError, match="words_per_token"):
        units.words_to_tokens(1.0, words_per_token=bad)
    with pytest.raises(ValueError, match="bytes_per_token"):
        units.gb_to_tokens(1.0, bytes_per_token=bad)


@SETTINGS
@given(amounts, words_per_token)
def test_words_tokens_round_trip(x, wpt):
    assert units.tokens_to_words(units.words_to_tokens(x, wpt), wpt) == pytest.approx(x, rel=1e-12)
    assert units.words_to_tokens(units.tokens_to_words(x, wpt), wpt) == pytest.approx(x, rel=1e-12)


@SETTINGS
@given(amounts, bytes_per_token)
def test_bytes_tokens_round_trip(x, bpt):
    assert units.tokens_to_bytes(units.bytes_to_tokens(x, bpt), bpt) == pytest.approx(x, rel=1e-12)


@SETTINGS
@given(amounts, bytes_per_token)
def test_gb_tokens_round_trip(x, bpt):
    assert units.tokens_to_gb(units.gb_to_tokens(x, bpt), bpt) == pytest.approx(x, rel=1e-12)
    assert units.gb_to_tokens(x, bpt) == pytest.approx(units.bytes_to_tokens(x * 1e9, bpt))


timestamps = st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2150, 12, 31))


@SETTINGS
@given(timestamps)
def test_decimal_year_round_trip_within_one_second(ts):
    year = units.to_decimal_year(ts)
    assert ts.year <= year < ts.year + 1
    back = units.from_decimal_year(year)
    assert abs((back - pd.Timestamp(ts)).total_seconds()) <= 1.0


@SETTINGS
@given(st.lists(timestamps, min_size=1, max_size=20))
def test_decimal_years_matches_scalar(values):
    vector = units.decimal_years(values)
    expected = [units.to_decimal_year(v) for v in values]
    np.testing.assert_allclose(vector, expected, rtol=0, atol=1e-9)


def test_decimal_year_known_values():
    assert units.to_decimal_year("2024-01-01") == 2024.0
    # 2024 is a leap year: 2 July 00:00 is 183 days into 366.
    assert units.to_decimal_year("2024-07-02T00:00") == pytest.approx(2024 + 183 / 366)
    assert units.from_decimal_year(2023.0) == pd.Timestamp("2023-01-01")
    with pytest.raises(ValueError):
        units.from_decimal_year(float("nan"))


def test_monthly_grid():
    grid = units.monthly_grid(2024.0, 2025.0)
    assert len(grid) == 13
    assert grid[0] == 2024.0 and grid[-1] == 2025.0
    assert np.all(np.diff(grid) > 0)
