"""forecast.report.write_report: directory contents, self-contained HTML, summary files,
overwrite refusal, --force and atomicity."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from forecast import report as rp
from forecast.errors import ForecastError

FIGURES = (
    "skill",
    "main",
    "prob_exhausted",
    "stock_waterfall",
    "sensitivity",
    "demand_models",
    "diagnostics",
    "collapse_variance",
    "collapse_tails",
    "collapse_vocabulary",
    "collapse_linear",
    "collapse_verification",
    "collapse_real_weight",
    "remedies",
)


@pytest.fixture(scope="module")
def fast(bundled_demand):
    """Keyword arguments for a fast report (small draws, one compared scenario, no backtest;
    the module's ``written`` report covers the backtest section)."""
    return {
        "demand": bundled_demand,
        "draws": 500,
        "seed": 2,
        "compare": ("epoch2024",),
        "backtest": False,
    }


@pytest.fixture(scope="module")
def fast_collapse():
    from forecast.collapse import simulate

    result = simulate(generations=10, n_chains=100, vocab_chains=10)
    return result


@pytest.fixture(scope="module")
def fast_sensitivity(bundled_demand):
    from forecast.sensitivity import sensitivity

    return sensitivity("baseline", bundled_demand, levers=["overtraining"], draws=300, seed=2)


@pytest.fixture(scope="module")
def fast_linear():
    from forecast.collapse_theory import simulate_linear_regression

    return simulate_linear_regression(generations=5, n_chains=50)


@pytest.fixture(autouse=True)
def _small_extras(monkeypatch, fast_collapse, fast_sensitivity, fast_linear):
    """Every report but the module's full one reuses a small collapse and sensitivity run."""
    import forecast.collapse
    import forecast.collapse_theory
    import forecast.sensitivity

    # The verification sweep calls simulate too: it gets the same small result.
    monkeypatch.setattr(forecast.collapse, "simulate", lambda *a, **k: fast_collapse)
    monkeypatch.setattr(
        forecast.collapse_theory, "simulate_linear_regression", lambda *a, **k: fast_linear
    )
    monkeypatch.setattr(
        forecast.sensitivity, "sensitivity", lambda *a, **k: fast_sensitivity.copy()
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory, bundled_demand):
    from forecast.collapse import simulate

    mp = pytest.MonkeyPatch()
    import forecast.collapse

    small = simulate(generations=10, n_chains=100, vocab_chains=10)
    mp.setattr(forecast.collapse, "simulate", lambda *a, **k: small)
    import forecast.skill

    real_evaluate = forecast.skill.evaluate

    def baselines_only(models, **kw):  # the real study, without PyMC fits (fast)
        return real_evaluate(models, methods=("ols", "epoch-bootstrap", "naive"), **kw)

    mp.setattr(forecast.skill, "evaluate", baselines_only)
    messages: list[str] = []
    out = tmp_path_factory.mktemp("rep") / "report"
    try:
        path = rp.write_report(
            out,
            demand=bundled_demand,
            draws=500,
            seed=2,
            compare=("epoch2024", "synthetic-2x"),
            progress=messages.append,
        )
    finally:
        mp.undo()
    return path, messages


def test_directory_contents(written):
    path, messages = written
    assert {p.name for p in path.iterdir()} == {
        "index.html",
        "report.md",
        "summary.json",
        "summary.csv",
        "skill.json",
        "remedies.json",
        "figures",
        rp.REPORT_MARKER,
    }
    skill = json.loads((path / "skill.json").read_text())
    assert skill["default"] == "ols" and skill["rows"] and skill["stacking"]["weights"]
    md = (path / "report.md").read_text()
    assert "## Forecast skill out of sample (leave-future-out)" in md
    assert "half-year frontier maxima at horizons of 1-3 years" in md
    names = {p.name for p in (path / "figures").iterdir()}
    assert names == {f"{s}.{ext}" for s in FIGURES for ext in ("png", "svg")}
    for stem in FIGURES:
        assert (path / "figures" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (path / "figures" / f"{stem}.svg").read_text()[:2000]
    assert any("sensitivity" in m for m in messages)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_summary_json_schema(written, scenario_results):
    path, _ = written
    payload = json.loads((path / "summary.json").read_text())
    compare = payload.pop("compare")
    expected_keys = set(scenario_results[0].to_json_dict())
    assert set(payload) == expected_keys
    assert payload["scenario"] == "baseline" and payload["draws"] == 500 and payload["seed"] == 2
    assert [c["scenario"] for c in compare] == ["epoch2024", "synthetic-2x"]
    for c in compare:
        assert set(c) == expected_keys


def test_summary_csv(written):
    path, _ = written
    frame = pd.read_csv(path / "summary.csv")
    assert list(frame.columns) == [
        "scenario",
        "median",
        "p10",
        "p90",
        "p2_5",
        "p97_5",
        "p_by_2028",
        "p_by_2030",
        "p_by_2035",
        "not_exhausted_share",
        "already_exhausted_share",
        "horizon",
        "reliable",
        "published_median",
    ]
    assert list(frame["scenario"]) == ["baseline", "epoch2024", "synthetic-2x"]
    assert frame["p_by_2030"].between(0, 1).all()
    payload = json.loads((path / "summary.json").read_text())
    assert frame["median"].iloc[0] == pytest.approx(payload["exhaustion_year"]["median"])
    assert frame.set_index("scenario").loc["epoch2024", "published_median"] == 2028.0


def test_html_self_contained(written):
    path, _ = written
    text = (path / "index.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    srcs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', text)
    assert srcs, "expected embedded images"
    for ref in srcs:
        assert ref.startswith("data:image/png;base64,"), ref[:60]
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text)
    assert "<script" not in text.lower() and "@import" not in text and "url(" not in text
    assert text.count("data:image/png;base64,") == len(FIGURES)
    for heading in ("The question", "Headline", "Reproduction", "Demand growth", "diagnostics"):
        assert heading in text
    assert "0.38 OOM/yr" in text and "CC BY 4.0" in text and "Villalobos" in text


def test_html_numbers_match_summary(written):
    path, _ = written
    text = (path / "index.html").read_text(encoding="utf-8")
    payload = json.loads((path / "summary.json").read_text())
    for entry in [payload, *payload["compare"]]:
        ey = entry["exhaustion_year"]
        for key in ("median", "p10", "p90"):
            if ey[key] is not None:
                assert f"{ey[key]:.1f}" in text
    ey = payload["exhaustion_year"]
    assert f"Median exhaustion year {ey['median']:.1f}" in text


def test_markdown_links_figures(written):
    path, _ = written
    md = (path / "report.md").read_text(encoding="utf-8")
    for stem in FIGURES:
        assert f"](figures/{stem}.png)" in md
    assert md.startswith("# ")


def test_refuses_non_empty_directory(tmp_path, fast):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ForecastError, match="not empty"):
        rp.write_report(out, progress=None, **fast)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_empty_directory_is_used(tmp_path, fast):
    out = tmp_path / "rep"
    out.mkdir()
    rp.write_report(out, progress=None, **fast)
    assert (out / "index.html").is_file()


def test_force_replaces(tmp_path, fast):
    out = tmp_path / "rep"
    out.mkdir()
    (out / rp.REPORT_MARKER).write_text("an earlier report")
    (out / "old.txt").write_text("old")
    path = rp.write_report(out, force=True, progress=None, **fast)
    assert path == out.absolute()
    assert not (out / "old.txt").exists()
    assert (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


@pytest.mark.parametrize("force", [False, True])
def test_failure_leaves_old_directory_and_no_temp(tmp_path, fast, monkeypatch, force):
    out = tmp_path / "rep"
    if force:
        out.mkdir()
        (out / rp.REPORT_MARKER).write_text("an earlier report")
        (out / "old.txt").write_text("old")

    def boom(ctx):
        raise RuntimeError("simulated failure while writing")

    monkeypatch.setattr(rp, "_documents", boom)
    with pytest.raises(RuntimeError, match="simulated failure"):
        rp.write_report(out, force=force, progress=None, **fast)
    if force:
        assert (out / "old.txt").read_text() == "old"
        assert sorted(p.name for p in out.iterdir()) == sorted([rp.REPORT_MARKER, "old.txt"])
        assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    else:
        assert not out.exists()
        assert list(tmp_path.iterdir()) == []


def test_failure_during_install_restores_old(tmp_path, fast, monkeypatch):
    out = tmp_path / "rep"
    out.mkdir()
    (out / rp.REPORT_MARKER).write_text("an earlier report")
    (out / "old.txt").write_text("old")
    real_rename = rp.os.rename
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new directory into place
            raise OSError("simulated rename failure")
        return real_rename(src, dst)

    monkeypatch.setattr(rp.os, "rename", flaky)
    with pytest.raises(OSError, match="simulated rename"):
        rp.write_report(out, force=True, progress=None, **fast)
    assert (out / "old.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_warning_box_when_unreliable(tmp_path, fast, monkeypatch):
    from forecast.pipeline import ScenarioResult

    monkeypatch.setattr(ScenarioResult, "reliable", property(lambda self: False))
    out = rp.write_report(tmp_path / "rep", progress=None, **fast)
    text = (out / "index.html").read_text(encoding="utf-8")
    assert 'class="warning"' in text and "WARNING" in text
    assert "WARNING" in (out / "report.md").read_text(encoding="utf-8")


def test_skill_sentence_states_the_aims_from_the_study():
    """Coverage and CRPS aims are computed from the study's numbers, met or missed."""
    from tests.test_skill import synthetic_study

    study = synthetic_study()
    text = rp._skill_sentence(study)
    mine = study.items.query(
        "method == 'default' and target == 'frontier' and horizon >= 1 and guarded"
    )
    assert f"covered {mine['in_80'].mean():.0%} of {len(mine)} half-year" in text
    assert "CRPS was below every baseline's" in text
    assert "stacking weights fitted on origins before" in text


def test_growth_sentence_compares_with_epoch_from_the_data():
    """On a table without post-2024 runs and slow growth, the text says so."""
    from types import SimpleNamespace

    import numpy as np

    def fit(oom):
        return SimpleNamespace(token_growth_log10_per_year=lambda: np.full(10, oom))

    demand = SimpleNamespace(
        fits={"exponential": fit(0.2), "frontier": fit(0.25)},
        models=pd.DataFrame({"year": [2020.0, 2023.5], "tokens": [1e11, 1e12]}),
    )
    text = rp._growth_sentence(demand, "2023-06-30")
    assert "frontier model 0.25 OOM/yr (slower than Epoch's)" in text
    assert "since 2024" not in text and "random-walk" not in text and "compute" not in text


def test_force_never_replaces_what_is_not_a_report(tmp_path, monkeypatch, fast):
    """Data-loss class (issue 20): --force replaces an earlier report only; never the
    current directory, its parents or the home directory, even when empty."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    with pytest.raises(ForecastError, match="not a forecast report"):
        rp.write_report(project, force=True, progress=None, **fast)
    assert (project / "notes.txt").read_text() == "mine"
    monkeypatch.chdir(project)
    for target in (".", "..", str(project)):
        with pytest.raises(ForecastError, match="current directory"):
            rp.write_report(target, force=True, progress=None, **fast)
    empty = project / "sub"
    empty.mkdir()
    monkeypatch.chdir(empty)
    with pytest.raises(ForecastError, match="current directory"):
        rp.write_report(".", progress=None, **fast)
    assert (project / "notes.txt").read_text() == "mine"


def test_an_earlier_report_without_marker_is_recognised(tmp_path):
    old = tmp_path / "old"
    (old / "figures").mkdir(parents=True)
    for name in ("index.html", "summary.json", "summary.csv", "report.md"):
        (old / name).write_text("x")
    assert rp._is_report(old)
    (old / "thesis.docx").write_text("x")
    assert not rp._is_report(old)


def test_remedies_section_and_json(written):
    import json

    path, _ = written
    payload = json.loads((path / "remedies.json").read_text())
    remedies = [r["remedy"] for r in payload["rows"]]
    assert remedies[0] == "no remedy" and "isolation" in remedies
    assert remedies[-1].startswith("both")
    assert payload["rows"][0]["median_gain_years"] == 0.0
    assert payload["settings"]["draws"] == 500
    text = (path / "report.md").read_text()
    assert "## What the remedies buy" in text
    assert "Isolation moves the median by" in text
    assert "golden ratio" in text or "61.8%" in text


@pytest.mark.parametrize(
    ("value", "column", "text"),
    [
        (2028.2624, "median", "2028.3"),
        (2026.53, "p2_5", "2026.5"),
        (2029.04, "median_high", "2029.0"),
        (0.7779, "p_by_2030", "78%"),
        (0.004, "not_exhausted_share", "0.4%"),
        (0.0197, "not exhausted", "2%"),
        (4.5, "history_years", "4.5"),
        (0.7623, "coverage_80", "76%"),
        (3.6e13, "median", "36T"),
        (1.2e15, "stock_tokens", "1.2P"),
        (0.3418, "median_gain_years", "+0.34"),
        (-0.2332, "median_gain_years", "-0.23"),
        (0.02703, "crps", "0.027"),
        (1.0109, "r_hat_max", "1.01"),
        (float("nan"), "median", ""),
        (True, "reliable", "yes"),
        (123456, "rows", "123,456"),
    ],
)
def test_numbers_for_reading(value, column, text):
    assert rp._fmt_cell(value, column) == text
