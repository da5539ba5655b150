"""Tests of forecast.stock: published numbers, levers, seeding, table validation.

Monte Carlo tolerances: with N = 100,000 draws, the relative standard error of a sample
quantile q of a lognormal with log-sd sigma is sigma sqrt(q(1-q)/N) / phi(z_q): for the
effective stock (sigma ~ 0.79) that is 0.3% at the median and ~0.6% at the 5th/95th
percentiles. The published values are rounded to 2-3 significant digits (up to ~1.6%).
A 5% relative tolerance is therefore > 5 standard errors plus rounding.
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from forecast.errors import DataError, LeverError, ScenarioError
from forecast.stock.estimates import load_stock_estimates, lognormal_from_interval, parameter_spec
from forecast.stock.levers import (
    ConsentPath,
    ContaminationPath,
    Isolation,
    Synthetic,
    muennighoff_multiplier,
)
from forecast.stock.models import (
    COMPONENTS,
    Epoch2022HighQualityStock,
    Epoch2024Stock,
    iter_trajectories,
    stock_summary,
)
from forecast.units import to_decimal_year, tokens_to_words, words_to_tokens

N = 100_000
SEED = 20240601
RTOL = 0.05


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_stock_estimates()


@pytest.fixture(scope="module")
def epoch2024(table):
    ds = Epoch2024Stock().sample_components([2024.0, 2026.0, 2028.0, 2030.0, 2032.0], N, SEED)
    return ds


def _q(da, year, q):
    return float(da.sel(year=year).quantile(q, dim="draw"))


def _reported(table, name):
    r = table.loc[table["parameter"] == name].iloc[0]
    return r["central"], r["low"], r["high"], r["interval"]


# --- the table --------------------------------------------------------------------------


def test_table_loads_with_explicit_units(table):
    assert len(table) >= 40
    assert table["parameter"].is_unique
    assert (table["unit"].str.len() > 0).all()
    assert set(table["distribution"]) <= {"lognormal", "normal", "fixed", "reported"}
    assert set(table["status"]) <= {"V", "R", "S", "U", "A"}
    units = dict(zip(table["parameter"], table["unit"], strict=True))
    assert units["hq_stock_words_2022"] == "words"
    assert units["effective_stock_2024"] == "tokens"
    assert units["bytes_per_page"] == "bytes/page"
    spec = parameter_spec(table, "indexed_pages")
    assert (spec.low, spec.high, spec.interval) == (75e9, 1e12, 0.95)
    assert parameter_spec(table, "muennighoff_rd_star").central == 15.387756


def test_lognormal_from_interval_matches_squigglepy_semantics():
    rng = np.random.default_rng(0)
    x = lognormal_from_interval(2.0, 5.0, 0.95, 200_000, rng)
    assert np.median(x) == pytest.approx(math.sqrt(10.0), rel=0.01)
    assert np.mean((x >= 2.0) & (x <= 5.0)) == pytest.approx(0.95, abs=0.003)
    y = lognormal_from_interval(21, 65, 0.90, 200_000, rng)
    assert np.mean((y >= 21) & (y <= 65)) == pytest.approx(0.90, abs=0.003)
    with pytest.raises(ValueError):
        lognormal_from_interval(0.0, 1.0, 0.9, 10, rng)


# --- Epoch 2024 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "row"),
    [
        ("raw", "indexed_web_tokens_2024"),
        ("quality_filtered", "quality_adjusted_stock_2024"),
        ("repetition_adjusted", "effective_stock_2024"),
    ],
)
def test_epoch2024_reproduces_published_2024(table, epoch2024, component, row):
    central, low, high, interval = _reported(table, row)
    da = epoch2024[component]
    tail = (1.0 - interval) / 2.0
    assert _q(da, 2024.0, 0.5) == pytest.approx(central, rel=RTOL)
    assert _q(da, 2024.0, tail) == pytest.approx(low, rel=RTOL)
    assert _q(da, 2024.0, 1.0 - tail) == pytest.approx(high, rel=RTOL)


def test_epoch2024_effective_95_interval_and_later_medians(epoch2024):
    eff = epoch2024["synthetic_augmented"]  # no levers: the effective stock
    np.testing.assert_array_equal(eff.values, epoch2024["repetition_adjusted"].values)
    assert _q(eff, 2024.0, 0.025) == pytest.approx(6.5e13, rel=RTOL)
    assert _q(eff, 2024.0, 0.975) == pytest.approx(1.68e15, rel=RTOL)
    for year, median in [
        (2026.0, 3.75e14),
        (2028.0, 4.38e14),
        (2030.0, 5.11e14),
        (2032.0, 5.96e14),
    ]:
        assert _q(eff, year, 0.5) == pytest.approx(median, rel=RTOL)


def test_bytes_per_token_floor():
    raw = Epoch2024Stock(bytes_per_token_floor=None).sample_parameters(N, SEED)
    floored = Epoch2024Stock().sample_parameters(N, SEED)
    share_negative = np.mean(raw["bytes_per_token"] <= 0)
    assert 0.0003 < share_negative < 0.002  # Epoch's 6 - lognormal(1, 4) goes negative ~0.1%
    assert floored["bytes_per_token"].min() >= 1.0
    assert np.median(floored["bytes_per_token"]) == pytest.approx(4.0, rel=0.01)
    # the floor moves ~0.1% of draws from below zero to the upper tail: quantiles shift by
    # <~0.1 percentile point (~0.7% at p5)
    a = np.quantile(raw["raw_base"], [0.05, 0.5, 0.95])
    b = np.quantile(floored["raw_base"], [0.05, 0.5, 0.95])
    np.testing.assert_allclose(a, b, rtol=0.01)
    assert np.all(floored["raw_base"] > 0)


def test_growth_is_monotonic():
    years = np.arange(2020.0, 2051.0)
    model = Epoch2024Stock()
    params = model.sample_parameters(20_000, SEED)
    traj = model.trajectories(params, years)
    summary = stock_summary(model.sample(years, 20_000, SEED))
    for column in ("p5", "median", "p95"):
        assert np.all(np.diff(summary[column]) > 0)
    growing = params["log_growth"] > 0
    assert growing.mean() > 0.99  # ~0.1% of Epoch's draws have a shrinking web
    assert np.all(np.diff(traj[growing], axis=1) > 0)


# --- Epoch 2022 high quality ------------------------------------------------------------


def test_epoch2022_hq_median_and_interval_in_words(table):
    central, low, high, _ = _reported(table, "hq_stock_words_2022")
    model = Epoch2022HighQualityStock()
    ds = model.sample_components([2022.0, 2026.0, 2030.0], N, SEED)
    words = tokens_to_words(ds["raw"].sel(year=2022.0).values)
    assert np.median(words) == pytest.approx(central, rel=RTOL)
    assert np.quantile(words, 0.05) == pytest.approx(low, rel=RTOL)
    assert np.quantile(words, 0.95) == pytest.approx(high, rel=RTOL)
    assert tokens_to_words(_q(ds["raw"], 2026.0, 0.5)) == pytest.approx(9.5e12, rel=RTOL)
    assert tokens_to_words(_q(ds["raw"], 2030.0, 0.5)) == pytest.approx(1.1e13, rel=RTOL)
    # the parts add up to the total, and tokens = words x 4/3
    parts = sum(ds[k] for k in ("github", "papers", "books", "unrepresented"))
    np.testing.assert_allclose(parts.values, ds["raw"].values, rtol=1e-12)
    params = model.sample_parameters(1000, SEED)
    np.testing.assert_allclose(params["raw_base"], params["raw_words"] * 4.0 / 3.0)
    assert words_to_tokens(3.0) == 4.0
    # default: no quality filter, no repetition
    np.testing.assert_array_equal(ds["raw"].values, ds["synthetic_augmented"].values)


def test_epoch2022_component_medians():
    ds = Epoch2022HighQualityStock().sample_components([2022.0], N, SEED)
    for part, median in [("github", 1.2e12), ("papers", 7.8e11), ("books", 1.06e12)]:
        assert tokens_to_words(_q(ds[part], 2022.0, 0.5)) == pytest.approx(median, rel=RTOL)


# --- repetition -------------------------------------------------------------------------


def test_muennighoff_multiplier_values():
    assert muennighoff_multiplier(1) == 1.0
    assert muennighoff_multiplier(4) == pytest.approx(3.73, abs=0.005)
    assert muennighoff_multiplier(16) == pytest.approx(10.6, abs=0.05)
    assert muennighoff_multiplier(1e9) == pytest.approx(16.387756, rel=1e-9)
    assert np.all(np.diff(muennighoff_multiplier(np.arange(1.0, 50.0))) > 0)
    with pytest.raises(LeverError):
        muennighoff_multiplier(0.5)


def test_muennighoff_lever():
    years = [2024.0]
    one = Epoch2024Stock(repetition="muennighoff", epochs=1).sample_components(years, 1000, 1)
    np.testing.assert_array_equal(one["repetition_adjusted"].values, one["quality_filtered"].values)
    four = Epoch2024Stock(repetition="muennighoff").sample_components(years, 1000, 1)
    ratio = four["repetition_adjusted"] / four["quality_filtered"]
    np.testing.assert_allclose(ratio.values, muennighoff_multiplier(4.0))
    spread = Epoch2024Stock(repetition="muennighoff", epochs=(2, 8)).sample_parameters(5000, 1)
    assert 1.0 <= spread["repetition"].min() < spread["repetition"].max() < 16.4


# --- levers -----------------------------------------------------------------------------

YEARS = np.array([2020.0, 2022.0, 2023.0, 2024.0, 2026.0, 2030.0, 2040.0, 2060.0])


@pytest.fixture(scope="module")
def base():
    return Epoch2024Stock().sample(YEARS, 20_000, SEED).values


def test_quality_and_growth_overrides():
    ds = Epoch2024Stock(quality_fraction=0.25, stock_growth=1.0).sample_components(YEARS, 500, 3)
    np.testing.assert_allclose((ds["quality_filtered"] / ds["raw"]).values, 0.25)
    raw = ds["raw"].values
    np.testing.assert_allclose(raw, raw[:, :1] * np.ones_like(raw))
    q = Epoch2024Stock(quality_fraction=(0.3, 0.5)).sample_parameters(20_000, 3)["quality"]
    assert np.median(q) == pytest.approx(math.sqrt(0.15), rel=0.02)
    assert np.mean((q >= 0.3) & (q <= 0.5)) == pytest.approx(0.90, abs=0.01)  # 90%, every lever
    q95 = Epoch2024Stock(quality_fraction=(0.3, 0.5, 0.95)).sample_parameters(20_000, 3)
    assert np.mean((q95["quality"] >= 0.3) & (q95["quality"] <= 0.5)) == pytest.approx(
        0.95, abs=0.01
    )


def test_consent_restriction_shrinks_the_stock(base):
    default = Epoch2024Stock(consent_restriction="longpre2024").sample(YEARS, 20_000, SEED).values
    less = Epoch2024Stock(consent_restriction=ConsentPath(plateau=0.3)).sample(YEARS, 20_000, SEED)
    more = Epoch2024Stock(consent_restriction=ConsentPath(plateau=0.6)).sample(YEARS, 20_000, SEED)
    assert np.all(default <= base)
    # with s(anchor) held fixed, a higher plateau restricts more from the anchor on (and,
    # being steeper, slightly less before it)
    after = YEARS >= 2024.3
    assert np.all(more.values[:, after] < less.values[:, after])
    assert np.median(more.values[:, -1] / base[:, -1]) == pytest.approx(0.4, abs=0.01)
    constant = Epoch2024Stock(consent_restriction=0.2).sample(YEARS, 20_000, SEED).values
    np.testing.assert_allclose(constant / base, 0.8)
    # the anchor: ~5% of web tokens closed at the Longpre et al. audit (2024.3)
    at_anchor = Epoch2024Stock(consent_restriction=True).sample([2024.3], 20_000, SEED).values
    ref = Epoch2024Stock().sample([2024.3], 20_000, SEED).values
    assert 1 - np.median(at_anchor / ref) == pytest.approx(0.05, abs=0.005)


def test_consent_on_hq_applies_to_unrepresented_share_only():
    with pytest.raises(LeverError):
        Epoch2022HighQualityStock(consent_restriction=1.0)
    hq = Epoch2022HighQualityStock(consent_restriction=0.5)
    ds = hq.sample_components([2022.0], 2000, 4)
    p = hq.sample_parameters(2000, 4)
    ratio = (ds["consent_restricted"] / ds["raw"]).values[:, 0]
    np.testing.assert_allclose(ratio, 1 - 0.5 * (1 - p["fraction_represented"]))


def test_contamination_and_isolation_shrink_the_stock(base):
    growing = Epoch2024Stock().sample_parameters(20_000, SEED)["log_growth"] > 0
    cont = Epoch2024Stock(contamination=True).sample(YEARS, 20_000, SEED).values
    # Strict isolation (v = 0); the default v (lognormal 90% [0.03, 0.3]) is checked below.
    strict = Isolation(verified_fraction=0.0)
    iso = Epoch2024Stock(isolation=strict).sample(YEARS, 20_000, SEED).values
    both = Epoch2024Stock(contamination=True, isolation=strict).sample(YEARS, 20_000, SEED).values
    default = Epoch2024Stock(isolation=True).sample(YEARS, 20_000, SEED).values
    verified = Epoch2024Stock(
        contamination=True, isolation=Isolation(verified_fraction=0.3)
    ).sample(YEARS, 20_000, SEED)
    before = YEARS < 2022.9
    for arr in (cont, iso, both):
        np.testing.assert_allclose(arr[:, before], base[:, before])  # nothing before the onset
        assert np.all(arr[growing][:, ~before] < base[growing][:, ~before])
    assert np.all(both[growing] <= cont[growing] * (1 + 1e-12))
    assert np.all(verified.values[growing] >= both[growing] * (1 - 1e-12))
    assert np.all(verified.values[growing] <= cont[growing] * (1 + 1e-12))
    later = np.median(cont[:, -1] / base[:, -1])
    assert later < np.median(cont[:, -3] / base[:, -3]) < 1.0
    # The default verified fraction: between strict isolation and none (v <= 1 per draw).
    assert np.all(default[growing] >= iso[growing] * (1 - 1e-12))
    assert np.all(default[growing] <= base[growing] * (1 + 1e-12))
    assert np.median(default[:, -1] / base[:, -1]) < 0.5


def test_contamination_anchor_and_closed_form():
    """a(t) hits Graphite's anchors at the medians; H(t) equals a numerical integral."""
    m = ContaminationPath(plateau=0.5, timescale=(0.4, 1.0))
    tau = math.sqrt(0.4 * 1.0)
    assert 0.5 * (1 - math.exp(-1 / tau)) == pytest.approx(0.39, abs=0.02)
    assert 0.5 * (1 - math.exp(-2 / tau)) == pytest.approx(0.48, abs=0.01)
    model = Epoch2024Stock(contamination=m, stock_growth=(1.05, 1.3))
    params = model.sample_parameters(50, 11)
    assert params["ai_onset"][0] == pytest.approx(to_decimal_year("2022-11-30"), abs=1e-3)
    onset = params["ai_onset"][0]
    grid = np.linspace(onset, 2040.0, 200_001)
    r = params["log_growth"][:, None]
    s = np.exp(r * (grid - onset))  # stock relative to S(onset)
    a = params["ai_plateau"][:, None] * (
        1 - np.exp(-(grid - onset) / params["ai_timescale"][:, None])
    )
    integrand = (1 - a) * r * s
    human = 1 + np.concatenate(
        [
            np.zeros((50, 1)),
            np.cumsum((integrand[:, 1:] + integrand[:, :-1]) / 2 * np.diff(grid), axis=1),
        ],
        axis=1,
    )
    idx = np.searchsorted(grid, [2023.5, 2025.0, 2031.0, 2040.0])
    expected = human[:, idx] / s[:, idx]
    got = model._human_ratio(params, grid[idx][None, :])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_synthetic_enlarges_the_stock(base):
    syn = Epoch2024Stock(synthetic=True).sample(YEARS, 20_000, SEED).values
    assert np.all(syn >= base)
    mult = syn[:, 0] / base[:, 0]
    p = Epoch2024Stock(synthetic=True).sample_parameters(20_000, SEED)
    np.testing.assert_allclose(mult, p["synthetic_multiplier"], rtol=1e-12)
    # Defaults derived from data/synthetic_data.csv: median multiplier ~1.5, never above 5.
    assert 1.35 < np.median(mult) < 1.65 and mult.max() < 5.0
    fixed = Epoch2024Stock(synthetic=2.0).sample(YEARS, 2000, SEED).values
    np.testing.assert_allclose(fixed / base[:2000], 2.0)
    capped = Epoch2024Stock(synthetic=Synthetic(ratio=10.0, efficiency=0.5, cap=2.0))
    np.testing.assert_allclose(capped.sample(YEARS, 2000, SEED).values / base[:2000], 2.0)


def test_components_order_and_sample_equals_last_component():
    model = Epoch2024Stock(
        consent_restriction=True, contamination=True, isolation=True, synthetic=True
    )
    ds = model.sample_components(YEARS, 2000, 5)
    assert list(ds.data_vars)[: len(COMPONENTS)] == list(COMPONENTS)
    np.testing.assert_allclose(
        ds["synthetic_augmented"].values, model.sample(YEARS, 2000, 5).values, rtol=1e-12
    )
    assert ds["synthetic_augmented"].attrs["units"] == "tokens"


# --- seeding and chunking ---------------------------------------------------------------


def test_same_seed_same_numbers_and_common_random_numbers():
    a = Epoch2024Stock(consent_restriction=True).sample(YEARS, 1000, 7)
    b = Epoch2024Stock(consent_restriction=True).sample(YEARS, 1000, 7)
    c = Epoch2024Stock(consent_restriction=True).sample(YEARS, 1000, 8)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert a.dims == ("draw", "year")
    np.testing.assert_array_equal(a["year"].values, YEARS)
    # switching levers on leaves the other draws unchanged
    plain = Epoch2024Stock().sample_components(YEARS, 1000, 7)
    full = Epoch2024Stock(consent_restriction=True, synthetic=True).sample_components(
        YEARS, 1000, 7
    )
    np.testing.assert_array_equal(
        plain["repetition_adjusted"].values, full["repetition_adjusted"].values
    )


def test_chunked_trajectories_match_full():
    model = Epoch2024Stock(consent_restriction=True, contamination=True)
    params = model.sample_parameters(2500, 9)
    years = np.linspace(2020, 2100, 961)
    full = model.trajectories(params, years)
    pieces = [arr for _, arr in iter_trajectories(model, params, years, chunk_size=1000)]
    np.testing.assert_array_equal(np.vstack(pieces), full)
    assert full.shape == (2500, 961)


def test_stock_summary_columns():
    da = Epoch2024Stock().sample([2024.0, 2030.0], 5000, 1)
    s = stock_summary(da, [2030.0])
    assert list(s.columns) == ["year", "median", "p5", "p95", "p2_5", "p97_5", "p10", "p90"]
    assert s["year"].tolist() == [2030.0]
    row = s.iloc[0]
    values = [row[k] for k in ("p2_5", "p5", "p10", "median", "p90", "p95", "p97_5")]
    assert np.all(np.diff(values) > 0)
    with pytest.raises(LeverError):
        stock_summary(da, [2031.0])


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"repetition": "bogus"}, "repetition"),
        ({"epochs": 4}, "muennighoff"),
        ({"repetition": "muennighoff", "epochs": 0.5}, "epochs"),
        ({"quality_fraction": 1.5}, "quality_fraction"),
        ({"quality_fraction": (0.4, 0.1)}, "low < high"),
        ({"stock_growth": 0.08}, "stock_growth"),
        ({"consent_restriction": 1.2}, "consent"),
        ({"consent_restriction": "sometimes"}, "consent_restriction"),
        ({"contamination": lambda: ContaminationPath(plateau=(0.2, 0.5, 1.5))}, "interval"),
        ({"synthetic": lambda: Synthetic(cap=0.5)}, "cap"),
        ({"isolation": lambda: Isolation(verified_fraction=2.0)}, "verified_fraction"),
        ({"isolation": "strict"}, "isolation"),
    ],
)
def test_lever_errors(kwargs, match):
    with pytest.raises(LeverError, match=match) as info:
        Epoch2024Stock(**{k: v() if callable(v) else v for k, v in kwargs.items()})
    assert isinstance(info.value, ScenarioError)
    assert isinstance(info.value, ValueError)


def test_bad_n_draws():
    with pytest.raises(ValueError):
        Epoch2024Stock().sample([2024.0], 0, 1)


def _write_modified(tmp_path, table, name, changes):
    raw = pd.read_csv(table.attrs["path"], dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(raw["parameter"] == name)[0])
    for column, value in changes.items():
        raw.loc[i, column] = value
    path = tmp_path / "stock.csv"
    raw.to_csv(path, index=False)
    return path, i + 2


@pytest.mark.parametrize(
    ("parameter", "changes", "column"),
    [
        ("quality_fraction", {"low": "0.5"}, "low"),  # low > high
        ("indexed_pages", {"low": "0"}, "low"),  # non-positive lognormal bound
        ("bytes_per_page", {"distribution": "weibull"}, "distribution"),
        ("pages_growth", {"interval": "1.5"}, "interval"),
        ("pages_growth", {"interval": "0"}, "interval"),
        ("hq_growth", {"high": "abc"}, "high"),
        ("synthetic_valid_share", {"central": ""}, "central"),
        ("quality_fraction", {"status": "X"}, "status"),
        ("repetition_multiplier", {"parameter": "quality_fraction"}, "parameter"),
    ],
)
def test_table_validation_names_row_and_column(tmp_path, table, parameter, changes, column):
    path, row = _write_modified(tmp_path, table, parameter, changes)
    with pytest.raises(DataError) as info:
        load_stock_estimates(path)
    err = info.value
    assert err.row == row
    assert err.column == column
    assert str(path) in str(err)
    assert f"row {row}" in str(err)


def test_table_row_numbers_count_blank_lines(tmp_path, table):
    lines = pathlib.Path(table.attrs["path"]).read_text().splitlines()
    bad = [line.replace("0.1,0.4,0.95", "0.5,0.4,0.95") for line in lines]
    row = next(i for i, line in enumerate(bad, start=1) if line.startswith("quality_fraction,"))
    path = tmp_path / "blank.csv"
    path.write_text("\n".join([bad[0], "", *bad[1:]]) + "\n")
    with pytest.raises(DataError) as info:
        load_stock_estimates(path)
    assert (info.value.row, info.value.column) == (row + 1, "low")


def test_table_missing_column_and_file(tmp_path, table):
    raw = pd.read_csv(table.attrs["path"], dtype=str, keep_default_na=False)
    path = tmp_path / "no_interval.csv"
    raw.drop(columns=["interval"]).to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        load_stock_estimates(path)
    assert info.value.column == "interval"
    with pytest.raises(DataError):
        load_stock_estimates(tmp_path / "absent.csv")


def test_models_use_a_custom_table(tmp_path, table):
    path, _ = _write_modified(tmp_path, table, "quality_fraction", {"low": "0.2", "high": "0.8"})
    q = Epoch2024Stock(estimates_path=path).sample_parameters(20_000, 1)["quality"]
    assert np.median(q) == pytest.approx(0.4, rel=0.02)


@pytest.mark.parametrize(
    "levers",
    [
        {"contamination": True},
        {"contamination": True, "isolation": True},
        {"consent_restriction": 0.45},
    ],
    ids=["contamination", "isolation", "consent"],
)
def test_factors_applied_in_blocks_give_the_same_numbers(levers, monkeypatch):
    """trajectories multiplies each lever's factor in blocks of draws (memory): the same
    numbers as the whole (n, m) factor, also when n is not a multiple of the block."""
    import forecast.stock.levers
    from forecast.stock.levers import FACTOR_BLOCK_ROWS, STOCK_LEVERS

    model = Epoch2024Stock(**levers)
    n = 2 * FACTOR_BLOCK_ROWS + 7
    params = model.sample_parameters(n, seed=3)
    years = np.linspace(2024.0, 2060.0, 50)
    blocked = model.trajectories(params, years)
    whole = params["raw_base"][:, None] * np.exp(
        params["log_growth"][:, None] * (years[None, :] - model.base_year)
    )
    applied = 0
    for lever in STOCK_LEVERS:
        m = lever.scale(params)
        if m is not None:
            whole = whole * m[:, None]
    for lever in STOCK_LEVERS:
        factor = lever.factor(model, params, years[None, :])
        if factor is not None:
            whole = whole * factor
            applied += 1
    assert applied == 1
    np.testing.assert_allclose(blocked, whole, rtol=1e-12)
    # bit for bit against one block of all the draws (the whole factor at once)
    monkeypatch.setattr(forecast.stock.levers, "FACTOR_BLOCK_ROWS", n)
    np.testing.assert_array_equal(blocked, model.trajectories(params, years))


def test_cached_table_specs_are_the_rows_specs():
    """parameter_spec reads a cached table's rows from a dict: the same specs as the pandas
    selection, a missing row still a DataError, and an uncached table read directly."""
    from forecast.stock.estimates import _row_spec, cached_stock_estimates

    table = cached_stock_estimates()
    for name in table["parameter"]:
        a, b = parameter_spec(table, name), _row_spec(table, name)
        assert a.name == b.name and a.distribution == b.distribution
        got, want = [a.low, a.high, a.interval, a.central], [b.low, b.high, b.interval, b.central]
        np.testing.assert_array_equal(got, want)
    assert parameter_spec(table, "quality_fraction") is parameter_spec(table, "quality_fraction")
    with pytest.raises(DataError, match="'no_such_row' missing"):
        parameter_spec(table, "no_such_row")
    copy = table.copy()
    copy.loc[copy["parameter"] == "quality_fraction", "high"] = 0.5
    assert parameter_spec(copy, "quality_fraction").high == 0.5


@pytest.mark.parametrize(
    "levers",
    [
        {},
        {"quality_fraction": 0.3, "repetition": "muennighoff", "epochs": 7.0},
        {
            "consent_restriction": True,
            "contamination": True,
            "isolation": True,
            "synthetic": Synthetic(verifier_accuracy=0.8),
            "stock_growth": (1.02, 1.1),
        },
    ],
)
def test_memo_gives_the_same_parameters_read_only(levers):
    """sample_parameters(memo=...) keeps each draw between calls: the same numbers as
    without it, for any levers and across models sharing the memo; the kept arrays
    cannot be changed in place, and another seed or size draws anew."""
    memo: dict = {}
    for kwargs in ({}, levers, {}, levers):
        model = Epoch2024Stock(**kwargs)
        plain = model.sample_parameters(500, seed=9)
        kept = model.sample_parameters(500, seed=9, memo=memo)
        assert plain.keys() == kept.keys()
        for key in plain:
            np.testing.assert_array_equal(plain[key], kept[key], err_msg=key)
    assert memo and all(not v.flags.writeable for v in memo.values())
    with pytest.raises(ValueError, match="read-only"):
        next(iter(memo.values()))[0] = 1.0
    other = Epoch2024Stock(**levers).sample_parameters(500, seed=10, memo=memo)
    np.testing.assert_array_equal(
        other["raw_base"], Epoch2024Stock(**levers).sample_parameters(500, seed=10)["raw_base"]
    )
    smaller = Epoch2024Stock().sample_parameters(300, seed=9, memo=memo)
    assert smaller["raw_base"].shape == (300,)
