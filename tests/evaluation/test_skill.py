"""forecast.evaluation.skill: exact scores of the window maximum, PIT calibration, stacking, pooling
with origin-clustered intervals, the naive rule, the baselines end to end (no PyMC) and
the `forecast backtest --lfo` JSON."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from forecast.errors import ForecastError
from forecast.evaluation import skill


def _exg(n_dates=3, draws=50, seed=0):
    rng = np.random.default_rng(seed)
    return skill.RunPredictive(
        "exgaussian",
        loc=12.0 + rng.normal(0, 0.1, (draws, n_dates)),
        scale=np.full((draws, 1), 0.15),
        shape=np.full((draws, 1), 0.4),
    )


@pytest.mark.parametrize(
    "pred",
    [
        _exg(),
        skill.RunPredictive(
            "t", np.full((20, 2), 11.0), np.full((20, 1), 0.3), np.full((20, 1), 4.0)
        ),
        skill.RunPredictive("normal", np.full((1, 4), 11.5), np.full((1, 4), 0.2)),
    ],
    ids=["exgaussian", "t", "normal"],
)
def test_maximum_density_integrates_to_one_and_matches_its_cdf(pred):
    """The exact density of the largest of n runs integrates to 1, and its integral up to
    y equals the PIT (product of the CDFs) at y."""

    def density(y):
        return np.exp(skill.score_maximum(pred, y, np.random.default_rng(0))["log_score"])

    total, _ = integrate.quad(density, 2.0, 22.0, limit=400, points=[11.0, 12.0])
    assert total == pytest.approx(1.0, abs=1e-4)
    y0 = float(np.median(pred.loc))
    below, _ = integrate.quad(density, 2.0, y0, limit=400)
    pit = skill.score_maximum(pred, y0, np.random.default_rng(0))["pit"]
    assert below == pytest.approx(pit, abs=1e-4)


def test_pit_of_outcomes_drawn_from_the_predictive_is_uniform():
    """Outcomes simulated from the predictive itself give uniform PITs and nominal coverage."""
    pred = _exg(n_dates=4, draws=1, seed=3)
    rng = np.random.default_rng(1)
    pits, hits = [], []
    for _ in range(400):
        y = float(pred.sample(rng).max())
        s = skill.score_maximum(pred, y, rng)
        pits.append(s["pit"])
        hits.append(s["in_80"])
    counts, _ = np.histogram(pits, bins=5, range=(0, 1))
    assert counts.min() > 50 and counts.max() < 110
    assert 0.74 <= np.mean(hits) <= 0.86


def test_logpdf_and_logcdf_agree_for_every_family():
    for pred in (
        _exg(n_dates=1, draws=1),
        skill.RunPredictive("t", np.full((1, 1), 0.0), np.full((1, 1), 1.0), np.full((1, 1), 3.0)),
        skill.RunPredictive("normal", np.full((1, 1), 0.0), np.full((1, 1), 1.0)),
    ):
        a, b = (-3.0, 0.5) if pred.family != "exgaussian" else (10.0, 12.0)
        mass, _ = integrate.quad(lambda y, p=pred: np.exp(p.logpdf(np.array([y]))[0, 0]), a, b)
        cdf = np.exp(pred.logcdf(np.array([b]))[0, 0] - 0) - np.exp(
            pred.logcdf(np.array([a]))[0, 0]
        )
        assert mass == pytest.approx(cdf, abs=1e-6)


def test_stacking_weights_recover_the_better_method_and_a_mixture():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1, 500)
    from scipy import stats

    good, bad = stats.norm.logpdf(y, 0, 1), stats.norm.logpdf(y, 2, 1)
    w = skill.stacking_weights(np.column_stack([good, bad]))
    assert w[0] > 0.95 and w.sum() == pytest.approx(1.0)
    # Outcomes from a 50/50 mixture of N(-2, 0.5) and N(2, 0.5): both components needed.
    z = np.where(rng.random(2000) < 0.5, -2, 2) + rng.normal(0, 0.5, 2000)
    w = skill.stacking_weights(
        np.column_stack([stats.norm.logpdf(z, -2, 0.5), stats.norm.logpdf(z, 2, 0.5)])
    )
    assert w == pytest.approx([0.5, 0.5], abs=0.05)


def test_naive_rule_is_the_median_yearly_growth_of_the_record():
    years = np.arange(2018.0, 2024.01, 0.25)
    tokens = 10 ** (10 + 0.5 * (years - 2018))
    train = pd.DataFrame({"year": years, "tokens": tokens})
    level, t0, rate, sd = skill.naive_rule(train)
    assert rate == pytest.approx(0.5) and sd == pytest.approx(0.0, abs=1e-12)
    assert level == pytest.approx(13.0) and t0 == pytest.approx(2024.0)


def test_default_origins_are_half_yearly_while_a_half_year_of_data_follows():
    models = pd.DataFrame({"date": pd.to_datetime(["2019-01-01", "2023-08-15"])})
    assert skill.default_origins(models) == [
        dt.date(2021, 7, 1),
        dt.date(2022, 1, 1),
        dt.date(2022, 7, 1),
        dt.date(2023, 1, 1),
    ]


def synthetic_study(seed: int = 0) -> skill.SkillStudy:
    """A study built from synthetic items (no fits): 8 origins, 4 horizons, 4 methods."""
    rng = np.random.default_rng(seed)
    origins = [dt.date(2021 + k // 2, 1 + 6 * (k % 2), 1) for k in range(1, 9)]
    rows = []
    quality = {"default": 0.15, "ols": 0.25, "epoch-bootstrap": 0.35, "naive": 0.5}
    for i, origin in enumerate(origins):
        for h in skill.DEFAULT_HORIZONS:
            end = pd.Timestamp(origin) + pd.DateOffset(months=round(12 * h))
            for method, err in quality.items():
                pit = float(np.clip(rng.normal(0.5, err), 0.01, 0.99))
                for target in ("frontier", "runs"):
                    rows.append(
                        {
                            "origin": origin.isoformat(),
                            "horizon": h,
                            "method": method,
                            "history_years": 2.5 + i / 2,
                            "window": f"{(end - pd.DateOffset(months=6)).date()}..{end.date()}",
                            "target": target,
                            "model": f"m{i}",
                            "observed": 12.0,
                            "n_runs": 1,
                            "log_score": float(-abs(rng.normal(0, err)) - err),
                            "pit": pit,
                            "crps": err * h,
                            "width_80": 1.0 + h,
                            "median": 12.0,
                            **{f"in_{lv}": abs(pit - 0.5) <= lv / 200 for lv in (50, 80, 95)},
                        }
                    )
    return skill.study_from_items(
        pd.DataFrame(rows), list(quality), origins, skill.DEFAULT_HORIZONS, n_boot=200
    )


def test_study_pools_guarded_origins_with_clustered_intervals_and_stacks_forward():
    study = synthetic_study()
    pooled = study.summary()
    assert set(pooled["method"]) == {"default", "ols", "epoch-bootstrap", "naive"}
    # Origins with under 3 years of history (the first) are left out of the pooled rows.
    assert (pooled["n"] == 7).all()
    assert (pooled["coverage_80_low"] <= pooled["coverage_80"]).all()
    assert (pooled["coverage_80"] <= pooled["coverage_80_high"]).all()
    assert (pooled["crps_low"] <= pooled["crps"] + 1e-12).all()
    # Weights: fitted on the origins before the split, whose windows ended by then.
    assert study.split == study.origins[4]
    assert sum(study.weights.values()) == pytest.approx(1.0)
    assert max(study.weights, key=study.weights.get) == "default"
    assert list(study.stacking["method"]) == ["stack", *study.methods]
    hist = study.pit_histogram()
    assert hist["count"].sum() == 7 * len(skill.DEFAULT_HORIZONS)


def test_json_has_the_documented_keys():
    study = synthetic_study()
    payload = json.loads(json.dumps(study.to_json_dict(), allow_nan=False))
    assert payload["default"] == "default"
    row = payload["rows"][0]
    for key in (
        "origin",
        "horizon",
        "method",
        "coverage_50",
        "coverage_80",
        "coverage_95",
        "crps",
        "log_score",
        "n",
        "history_years",
    ):
        assert key in row
    assert set(payload["stacking"]) == {"weights", "fitted_on_origins_before", "later_origins"}
    assert payload["pooled"] and payload["healthy"] is True


def test_plot_skill_data_holds_the_plotted_numbers():
    import matplotlib

    matplotlib.use("Agg")
    from forecast.plots import plot_skill, plot_skill_data

    study = synthetic_study()
    data = plot_skill_data(study)
    assert set(data["panel"]) == {"coverage", "crps", "pit"}
    assert set(data.loc[data["panel"] == "coverage", "method"]) == {
        "default",
        "ols",
        "epoch-bootstrap",
    }
    fig = plot_skill(study)
    line = [c for c in fig.axes[0].containers if c.lines[0].get_gid() == "coverage|default"]
    assert line


def test_baselines_end_to_end_on_synthetic_runs(make_training_runs):
    """The real study with the PyMC-free methods: same seed, same numbers; every window
    scored for every method."""
    runs = make_training_runs(n=120, start=2016.0, end=2026.0, seed=4)
    methods = ("ols", "epoch-bootstrap", "naive")
    a = skill.evaluate(runs, methods=methods, seed=3, n_boot=100)
    b = skill.evaluate(runs, methods=methods, seed=3, n_boot=100)
    pd.testing.assert_frame_equal(a.items, b.items)
    assert len(a.origins) >= 8
    counts = a.items[a.items["target"] == "frontier"].groupby("method").size()
    assert counts.nunique() == 1
    # Every score finite but the compute record's log score (its predictive has an atom).
    dense = a.items[a.items["target"] != "compute"]
    assert np.isfinite(dense["log_score"]).all() and (a.items["crps"] >= 0).all()
    assert a.items.loc[a.items["target"] == "compute", "log_score"].isna().all()
    # A method's numbers do not depend on the other methods in the study.
    alone = skill.evaluate(runs, methods=("naive",), seed=3, n_boot=100)
    pd.testing.assert_frame_equal(
        alone.items.reset_index(drop=True),
        a.items[a.items["method"] == "naive"].reset_index(drop=True),
    )


def test_bad_inputs_raise_one_clear_error(make_training_runs):
    runs = make_training_runs(n=40, start=2016.0, end=2025.6, seed=4)
    with pytest.raises(ForecastError, match="unknown method 'magic'"):
        skill.evaluate(runs, methods=["magic"])
    with pytest.raises(ForecastError, match=r"multiples of 0\.5"):
        skill.evaluate(runs, methods=["naive"], horizons=[0.7])


def test_cli_lfo_json(capsys, make_training_runs, tmp_path):
    from forecast.cli import main

    runs = make_training_runs(n=80, start=2016.0, end=2025.6, seed=4)
    path = tmp_path / "runs.csv"
    runs.assign(date=runs["date"].dt.date).drop(columns=["year", "organization"]).to_csv(
        path, index=False
    )
    code = main(
        ["--quiet", "backtest", "--lfo", "--models", str(path), "--methods", "ols,naive", "--json"]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["default"] == "ols"
    assert {r["method"] for r in payload["rows"]} == {"ols", "naive"}
    assert set(payload["stacking"]["weights"]) == {"ols", "naive"}
