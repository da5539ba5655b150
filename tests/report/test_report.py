"""forecast.report.write_report: directory contents, self-contained HTML, summary files,
overwrite refusal, --force and atomicity."""

from __future__ import annotations

import dataclasses
import html
import json
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from forecast.demand.model import SamplerConfig
from forecast.errors import ForecastError
from forecast.report import writer as rp

FIGURES = (
    "skill",
    "main",
    "prob_exhausted",
    "compute",
    "stock_waterfall",
    "sensitivity_global",
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
    """Keyword arguments for a fast report (small draws, one compared scenario, no backtest,
    remedies or explorer; the module's ``written`` report covers those sections). Nothing
    is cached: the module's small stand-in collapse studies must not be filed under the
    real studies' key."""
    return {
        "use_cache": False,
        "demand": bundled_demand,
        "draws": 500,
        "seed": 2,
        "compare": ("epoch2024",),
        "backtest": False,
        "remedies": False,
        "global_analysis": False,
        "explorer": False,
    }


@pytest.fixture(scope="module")
def fast_collapse():
    from forecast.collapse.simulator import simulate

    result = simulate(generations=10, n_chains=100, vocab_chains=10)
    return result


@pytest.fixture(scope="module")
def fast_sensitivity(bundled_demand):
    from forecast.studies.sensitivity import sensitivity

    return sensitivity(
        "baseline", bundled_demand, levers=["tokens per parameter"], draws=300, seed=2
    )


@pytest.fixture(scope="module")
def fast_global(bundled_demand):
    """A small real global analysis (one in-process Dask worker)."""
    from forecast.studies.global_sensitivity import global_sensitivity
    from tests.conftest import dask_client

    with dask_client() as client:
        return global_sensitivity(
            "baseline", bundled_demand, n=16, draws=200, seed=2, resamples=100, client=client
        )


@pytest.fixture(scope="module")
def fast_linear():
    from forecast.collapse.theory import simulate_linear_regression

    return simulate_linear_regression(generations=5, n_chains=50)


#: The real writer (the module's autouse fixture replaces it with a placeholder).
_SAVE_FIGURE = rp._save_figure


def _placeholder_figure(fig, directory, stem):
    """Stands in for ``report._save_figure`` where only the directory's handling is
    tested (the module's full report renders every figure): a 1 x 1 PNG and an empty SVG."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    plt.close(fig)
    out = io.BytesIO()
    Image.new("P", (1, 1)).save(out, format="PNG")
    (directory / f"{stem}.png").write_bytes(out.getvalue())
    (directory / f"{stem}.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _small_extras(monkeypatch, fast_collapse, fast_sensitivity, fast_linear, fast_global):
    """Every report but the module's full one reuses a small collapse and sensitivity run
    and writes placeholder figures (issue 16: rendering took 9 of every report's 14 s)."""
    import forecast.collapse.simulator
    import forecast.collapse.theory
    import forecast.studies.sensitivity

    monkeypatch.setattr(rp, "_save_figure", _placeholder_figure)

    # The verification sweep calls simulate too: it gets the same small result.
    monkeypatch.setattr(forecast.collapse.simulator, "simulate", lambda *a, **k: fast_collapse)
    monkeypatch.setattr(
        forecast.collapse.theory, "simulate_linear_regression", lambda *a, **k: fast_linear
    )
    monkeypatch.setattr(
        forecast.studies.sensitivity, "sensitivity", lambda *a, **k: fast_sensitivity.copy()
    )
    import forecast.studies.global_sensitivity

    monkeypatch.setattr(
        forecast.studies.global_sensitivity, "global_sensitivity", lambda *a, **k: fast_global
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory, bundled_demand, fast_global):
    from forecast.collapse.simulator import simulate

    mp = pytest.MonkeyPatch()
    import forecast.collapse.simulator

    small = simulate(generations=10, n_chains=100, vocab_chains=10)
    mp.setattr(forecast.collapse.simulator, "simulate", lambda *a, **k: small)
    import forecast.evaluation.skill

    real_evaluate = forecast.evaluation.skill.evaluate

    skill_options: dict = {}

    def baselines_only(models, **kw):  # the real study, without PyMC fits (fast)
        skill_options.update(kw)
        return real_evaluate(models, methods=("ols", "epoch-bootstrap", "naive"), **kw)

    mp.setattr(forecast.evaluation.skill, "evaluate", baselines_only)
    import forecast.studies.global_sensitivity as gs

    mp.setattr(gs, "global_sensitivity", lambda *a, **k: fast_global)
    messages: list[str] = []
    out = tmp_path_factory.mktemp("rep") / "report"
    fit_options = {
        "sampler": SamplerConfig(draws=321, tune=123, chains=2, seed=9),
        "use_cache": False,
        "cache_dir": tmp_path_factory.mktemp("fits"),
    }
    try:
        path = rp.write_report(
            out,
            demand=bundled_demand,
            draws=500,
            seed=2,
            compare=("epoch2024", "synthetic-2x"),
            progress=messages.append,
            **fit_options,
        )
    finally:
        mp.undo()
    assert {k: skill_options[k] for k in fit_options} == fit_options, (
        "the skill study's fits must take the report's sampler and cache options"
    )
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
        "global_sensitivity.json",
        "figures",
        rp.REPORT_MARKER,
    }
    skill = json.loads((path / "skill.json").read_text())
    assert skill["default"] == "ols" and skill["rows"] and skill["stacking"]["weights"]
    md = (path / "report.md").read_text()
    assert "### Forecast skill out of sample" in md
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
    for ref in srcs:  # embedded figures and in-page links only
        assert ref.startswith(("data:image/png;base64,", "#")), ref[:60]
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text)
    assert "@import" not in text and "url(" not in text
    # Two inline scripts, both the explorer's: its data and its code (no src=).
    scripts = re.findall(r"<script([^>]*)>", text)
    assert scripts == [' id="explorer-data" type="application/json"', ""]
    assert text.count("data:image/png;base64,") == len(FIGURES)
    for heading in (
        "The answer",
        "What drives the uncertainty",
        "What changes the date",
        "Try it: the scenario explorer",
        "How we know",
        "Reproduction of published estimates",
        "Technical appendix",
        "Sampler diagnostics",
    ):
        assert heading in text
    assert "{{" not in text and "{%" not in text
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
    # The headline: each date to the decimals its total Monte Carlo error supports, the
    # median with that error (issue 37).
    from forecast.results import mc_error_text, supported_decimals

    se = payload["mc_error"]
    median = f"{ey['median']:.{supported_decimals(se['median'])}f}"
    p10 = f"{ey['p10']:.{supported_decimals(se['p10'])}f}"
    assert (
        f"text in {median} (median; Monte Carlo error ±{mc_error_text(se['median'])} years); "
        f"80% likely between {p10}" in text
    )


def test_markdown_links_figures(written):
    path, _ = written
    md = (path / "report.md").read_text(encoding="utf-8")
    for stem in FIGURES:
        assert f"](figures/{stem}.png)" in md
    assert md.startswith("# ")
    assert "{{" not in md and "{%" not in md and "\n\n\n" not in md


def test_html_and_markdown_have_the_same_sections(written):
    """One template body renders both: every HTML heading is a Markdown heading."""
    path, _ = written
    text = (path / "index.html").read_text(encoding="utf-8")
    md = (path / "report.md").read_text(encoding="utf-8")
    h2 = [html.unescape(t) for t in re.findall(r"<h2 id=\"[^\"]+\">([^<]+)</h2>", text)]
    assert h2[0] == "The answer" and h2[-1] == "Technical appendix"
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == h2
    h3 = [html.unescape(t) for t in re.findall(r"<h3>([^<]+)</h3>", text)]
    assert [line[4:] for line in md.splitlines() if line.startswith("### ")] == h3


def test_first_screen_is_the_answer(written):
    """Headline, P(by 2028/2030/2035) and the main figure come before any other section."""
    path, _ = written
    text = (path / "index.html").read_text(encoding="utf-8")
    payload = json.loads((path / "summary.json").read_text())
    first = text[: text.index('<h2 id="levers">')]
    for year in ("2028", "2030", "2035"):
        p = payload["prob_exhausted_by"][year]
        assert (
            f'{100 * p:.0f}%</span><span class="kpi-label">probability exhausted by the end of {year}'
            in first
        )
    assert 'id="fig-main"' in first and "What drives the uncertainty" in first
    assert first.count("<table") == 0


def test_tables_have_captions_and_readable_numbers(written):
    path, _ = written
    text = (path / "index.html").read_text(encoding="utf-8")
    tables = re.findall(r"<table[^>]*>(.*?)</table>", text, flags=re.S)
    assert len(tables) >= 10
    for table in tables:
        assert "<caption>" in table, table[:200]
    # no raw floats with many digits (0.02703) outside the explorer's data
    body = re.sub(r"<script.*?</script>", "", text, flags=re.S)
    body = re.sub(r"data:image/png;base64,[^\"]+", "", body)
    for cell in re.findall(r"<td>-?([\d.]+)</td>", body):
        if "." in cell and not re.fullmatch(r"\d{3,}\.\d", cell):  # dates 2028.3, ESS 598.7
            if re.fullmatch(r"1\.0\d\d", cell):  # r_hat to three decimals: 1.011 > 1.01
                continue
            assert len(cell.replace(".", "").lstrip("0")) <= 3, cell


def test_page_under_three_megabytes_with_explorer(written):
    path, _ = written
    assert (path / "index.html").stat().st_size < 3_000_000
    text = (path / "index.html").read_text(encoding="utf-8")
    data = re.search(
        r'<script id="explorer-data" type="application/json">(.*?)</script>', text, re.S
    )
    payload = json.loads(data.group(1).replace("<\\/", "</"))
    assert payload["format"] == "forecast-explorer/1" and payload["n"] == 2000
    # every control is a native element with a label
    for control in re.findall(r"<(?:input|select)[^>]*>", text):
        cid = re.search(r'id="([^"]+)"', control).group(1)
        assert f'<label for="{cid}"' in text or re.search(
            rf"<label><input[^>]*id=\"{cid}\"", text
        ), control


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


def test_a_report_on_the_default_fit_alone(tmp_path, fast):
    """``forecast report`` fits only the default demand (v3): every figure and section
    must be built from that set alone (0.9.0's first CI run failed on the diagnostics)."""
    name = "compute-frontier"
    demand = fast["demand"]
    alone = dataclasses.replace(demand, fits={name: demand.fits[name]})
    out = tmp_path / "rep"
    rp.write_report(out, progress=None, **{**fast, "demand": alone})
    text = (out / "report.md").read_text(encoding="utf-8")
    assert f"| {name} " in text[text.index("Sampler diagnostics") :]


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
    from tests.evaluation.test_skill import synthetic_study

    study = synthetic_study()
    text = rp._skill_sentence(study)
    mine = study.items.query(
        "method == 'default' and target == 'frontier' and horizon >= 1 and guarded"
    )
    assert f"covered {mine['in_80'].mean():.0%} of {len(mine)} half-year" in text
    assert "CRPS was below every baseline's" in text
    assert "stacking weights fitted on origins before" in text


def test_growth_sentence_compares_with_epoch_from_the_data(bundled_demand):
    """The demand sentence: Epoch's trend, the table's recent runs, and demand v3's
    compute growth, tokens per parameter and implied sizes, every number from the fits."""
    from types import SimpleNamespace

    old = SimpleNamespace(
        fits={}, models=pd.DataFrame({"year": [2020.0, 2023.5], "tokens": [1e11, 1e12]})
    )
    text = rp._growth_sentence(old, "2023-06-30")
    assert text.startswith("Epoch 2024 estimated 0.38 OOM/yr")
    assert "since 2024" not in text and "demand (v3)" not in text
    text = rp._growth_sentence(bundled_demand, "2026-07-16")
    fit = bundled_demand.fits["compute-frontier"]
    used = fit.model.usage(fit)
    ratio = used["tokens_per_parameter_at_data_date"]["median"]
    assert (
        "The default demand (v3)" in text and f"parameter at the data date are {ratio:.0f}" in text
    )
    assert "GPT-4.5" in text or "Grok 4" in text  # the largest undisclosed runs' implied sizes


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
    assert "### What the remedies buy" in text
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
        (1.0109, "r_hat_max", "1.011"),  # 0.8.1 printed "1.01", as if it passed
        (1.0038, "r_hat_max", "1.004"),
        (float("nan"), "median", ""),
        (True, "reliable", "yes"),
        (123456, "rows", "123,456"),
    ],
)
def test_numbers_for_reading(value, column, text):
    assert rp._fmt_cell(value, column) == text


# --- the explorer in a real browser ---------------------------------------------------------


def _chromium() -> str | None:
    import os
    import shutil

    for name in (os.environ.get("FORECAST_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    return None


@pytest.fixture(scope="module")
def browser_page(written):
    """The report's index.html in Debian's Chromium (skipped where either is missing)."""
    import os

    required = os.environ.get("FORECAST_REQUIRE_BROWSER") == "1"  # set by .ci/run
    executable = _chromium()
    if executable is None and not required:
        pytest.skip("no Chromium on PATH (apt-get install chromium, or set FORECAST_CHROMIUM)")
    if required:
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    path, _ = written
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((path / "index.html").as_uri())
        page.wait_for_selector("#explorer[data-ready=true]", timeout=30_000)
        yield page, errors
        browser.close()


def _shown(page) -> dict:
    ids = ["median", "p10", "p90", "p2_5", "p97_5", "p_by_2030", "not-exhausted"]
    return {k: float(page.locator(f"#x-{k}").get_attribute("data-value")) for k in ids}


def _python(draws, settings) -> dict:
    """The same numbers from forecast.report.explorer.explore on the draws the report embedded."""
    from forecast.report.explorer import explore

    r = explore(draws, settings)
    q = r.quantiles()
    return {
        "median": q["median"],
        "p10": q["p10"],
        "p90": q["p90"],
        "p2_5": q["p2_5"],
        "p97_5": q["p97_5"],
        "p_by_2030": r.prob_exhausted_by(2030),
        "not-exhausted": r.not_exhausted_share,
    }


@pytest.fixture(scope="module")
def embedded_draws(bundled_demand):
    """The draws write_report embedded (baseline, draws=500 and seed=2 as in ``written``)."""
    from forecast.report.explorer import explorer_draws
    from forecast.scenarios import load_scenario

    return explorer_draws(
        bundled_demand, load_scenario("baseline").with_overrides(draws=500, seed=2)
    )


def _same_numbers(shown: dict, expected: dict) -> None:
    for key, value in expected.items():
        if np.isnan(value):
            assert np.isnan(shown[key]), key
        else:
            assert shown[key] == pytest.approx(value, abs=1e-4), key


def test_explorer_in_chromium_matches_python(browser_page, embedded_draws):
    from forecast.report.explorer import ExplorerSettings

    page, errors = browser_page
    page.click("#x-reset")
    base = _shown(page)
    _same_numbers(base, _python(embedded_draws, ExplorerSettings()))
    assert page.locator("#x-command").text_content() == ExplorerSettings().command()

    # More epochs of repetition: a larger stock, a later date.
    page.fill("#x-epochs", "12")
    page.dispatch_event("#x-epochs", "input")
    more = _shown(page)
    assert more["median"] > base["median"]
    _same_numbers(more, _python(embedded_draws, ExplorerSettings(epochs=12)))
    assert "--set stock.epochs=12" in page.locator("#x-command").text_content()

    # AI-written text removed: a smaller stock, an earlier date.
    page.check("#x-contamination")
    less = _shown(page)
    assert less["median"] <= more["median"]
    _same_numbers(less, _python(embedded_draws, ExplorerSettings(epochs=12, contamination=True)))
    command = page.locator("#x-command").text_content()
    assert command == ExplorerSettings(epochs=12, contamination=True).command()

    # Demand v3 at 5x Chinchilla; synthetic data through a verifier.
    page.click("#x-reset")
    page.select_option("#x-demand", "overtrained-5x")
    page.select_option("#x-synthetic", "verified")
    page.fill("#x-accuracy", "0.9")
    page.dispatch_event("#x-accuracy", "input")
    page.fill("#x-quality", "6")  # 6 x 5% = 30%
    page.dispatch_event("#x-quality", "input")
    page.check("#x-isolation")
    page.check("#x-consent")
    settings = ExplorerSettings(
        demand_model="overtrained-5x",
        synthetic="measured",
        verifier_accuracy=0.9,
        quality_fraction=0.3,
        isolation=True,
        consent_restriction=True,
    )
    assert page.evaluate("window.forecastExplorer.settings()") == settings.to_dict()
    _same_numbers(_shown(page), _python(embedded_draws, settings))
    # The page writes its `forecast run` command itself: the same text as Python's.
    assert page.locator("#x-command").text_content() == settings.command()
    assert not errors


def test_explorer_works_from_the_keyboard(browser_page, embedded_draws):
    from forecast.report.explorer import ExplorerSettings

    page, errors = browser_page
    page.click("#x-reset")
    page.focus("#x-epochs")
    page.keyboard.press("ArrowRight")  # 4 -> 5 epochs
    assert page.input_value("#x-epochs") == "5"
    assert page.locator("#x-epochs").get_attribute("aria-valuetext") == "5 epochs"
    _same_numbers(_shown(page), _python(embedded_draws, ExplorerSettings(epochs=5)))
    page.focus("#x-isolation")
    page.keyboard.press("Space")
    assert page.is_checked("#x-isolation")
    _same_numbers(_shown(page), _python(embedded_draws, ExplorerSettings(epochs=5, isolation=True)))
    assert not errors


def test_generated_date_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    assert rp._created().isoformat() == "2026-01-01"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(ForecastError, match="SOURCE_DATE_EPOCH"):
        rp._created()


def test_health_of_every_fit_in_the_appendix_and_of_the_main_fits_on_top(written, bundled_demand):
    """The recorded small-sampler fits (2 chains x 300 draws) are partly unhealthy. The
    baseline's reliability and the warning on top follow the fit its numbers use (demand
    v3) alone; the appendix lists every fit of the set and warns."""
    path, _ = written
    text = (path / "report.md").read_text(encoding="utf-8")
    payload = json.loads((path / "summary.json").read_text())
    main_healthy = bundled_demand.fits["compute-frontier"].diagnostics().healthy
    assert payload["reliable"] is main_healthy
    top = text[: text.index("Sampler diagnostics")]
    assert ("WARNING: the demand fits failed" in top) is (not main_healthy)
    appendix = text[text.index("Sampler diagnostics") :]
    assert "At least one fit is unhealthy" in appendix
    for name in bundled_demand.fits:
        assert f"| {name} " in appendix


def test_a_figure_is_written_to_the_same_bytes_every_time(tmp_path):
    """No clock read and nothing random in the figures: the SVG has no creation date and
    its element ids come from a fixed salt (matplotlib's default salt is random)."""
    from forecast.plots import plot_real_weight

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _SAVE_FIGURE(plot_real_weight(), tmp_path / name, "fig")
    for suffix in ("png", "svg"):
        first, second = ((tmp_path / d / f"fig.{suffix}").read_bytes() for d in "ab")
        assert first == second, suffix
    assert b"<dc:date>" not in (tmp_path / "a" / "fig.svg").read_bytes()


def test_a_second_report_reads_the_studies_from_the_cache(tmp_path, fast, monkeypatch):
    """The collapse studies depend only on the package, the skill study only on the data,
    seed and sampler: a second report with the same cache computes neither and writes the
    same files."""
    import forecast.evaluation.skill

    real_evaluate = forecast.evaluation.skill.evaluate

    # The real study without PyMC fits (fast); one method, so no stacking (the report
    # failed on a study without a stacking split before 0.8.4).
    def naive_only(models, **kw):
        return real_evaluate(models, methods=("naive",), **kw)

    monkeypatch.setattr(forecast.evaluation.skill, "evaluate", naive_only)
    options = {**fast, "backtest": True, "use_cache": True, "cache_dir": tmp_path / "cache"}
    first = rp.write_report(tmp_path / "first", progress=None, **options)
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()) == [
        "collapse",
        "skill",
    ]

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(rp, "_collapse_studies", refuse)
    monkeypatch.setattr(forecast.evaluation.skill, "evaluate", refuse)
    second = rp.write_report(tmp_path / "second", progress=None, **options)
    for name in ("summary.json", "skill.json", "report.md", "index.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # Another seed or sampler is another skill study.
    fit_options = {"sampler": None, "use_cache": True, "cache_dir": options["cache_dir"]}
    rp._skill_study(fast["demand"].models, fast["seed"], None, fit_options)  # the cached one
    for seed, sampler in ((3, None), (fast["seed"], SamplerConfig(seed=fast["seed"], draws=999))):
        with pytest.raises(AssertionError, match="computed again"):
            rp._skill_study(fast["demand"].models, seed, None, fit_options | {"sampler": sampler})


def test_a_later_report_reads_the_sensitivity_and_remedies_studies(tmp_path, fast, monkeypatch):
    """Fits filed in the cache have a key: a second report on them computes neither the
    one-at-a-time sensitivity nor the remedies study (issue 36: the warm report) and
    writes the same files; another seed computes them again."""
    import forecast.studies.remedies
    import forecast.studies.sensitivity

    demand = fast["demand"]
    for name, fit in demand.fits.items():
        monkeypatch.setitem(fit._stored.attrs, "forecast_key", f"key-{name}")
    options = {**fast, "remedies": True, "use_cache": True, "cache_dir": tmp_path / "cache"}
    first = rp.write_report(tmp_path / "first", progress=None, **options)
    cached = {p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()}
    assert {"sensitivity", "remedies"} <= cached

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(forecast.studies.sensitivity, "sensitivity", refuse)
    monkeypatch.setattr(forecast.studies.remedies, "what_remedies_buy", refuse)
    second = rp.write_report(tmp_path / "second", progress=None, **options)
    for name in ("summary.json", "report.md", "index.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    with pytest.raises(AssertionError, match="computed again"):
        rp.write_report(tmp_path / "third", progress=None, **{**options, "seed": 3})


def test_global_sensitivity_leads_what_drives_the_uncertainty(written, fast_global):
    """The section names the lever with the largest total index first, says how much of
    the variance the interactions carry, shows the figure and table, and writes the
    --json object; the one-at-a-time tornado stays as the second view."""
    path, _ = written
    md = (path / "report.md").read_text(encoding="utf-8")
    section = md.split("### What drives the uncertainty")[1].split("\n## ")[0]
    top = fast_global.ranking("median")[0]
    first = section.strip().split("\n")[0]
    assert first.startswith(f"Varied together over their documented ranges, {top} carries")
    share = fast_global.interactions.set_index("output").loc["median", "interactions"]
    assert f"Interactions between levers carry {share:.0%} of that variance" in section
    assert "figures/sensitivity_global.png" in section and "| ST_median " in md
    assert md.index("figures/sensitivity_global.png") < md.index("figures/sensitivity.png")
    stored = json.loads((path / "global_sensitivity.json").read_text())
    assert stored == json.loads(json.dumps(fast_global.to_json_dict()))
    assert "Which levers matter most for the median year (total Sobol index" in md


def test_global_sentences_follow_the_numbers(fast_global, fast_sensitivity):
    """Computed from the numbers: another leading lever or interaction share changes the
    sentences; a one-at-a-time table led by another lever is said to differ."""
    import dataclasses

    ind = fast_global.indices.copy()
    med = ind["output"] == "median"
    ind.loc[med, "ST"] = np.linspace(0.9, 0.1, int(med.sum()))[::-1]
    ind = ind.sort_values(["output", "ST"], ascending=[True, False], kind="stable")
    inter = fast_global.interactions.copy()
    inter.loc[
        inter["output"] == "median", ["interactions", "interactions_low", "interactions_high"]
    ] = [0.3, 0.2, 0.4]
    other = dataclasses.replace(fast_global, indices=ind.reset_index(drop=True), interactions=inter)
    top = other.ranking("median")[0]
    oat = fast_sensitivity.copy()
    oat["lever"] = "some other lever"
    text = rp._global_drivers(other, oat)
    assert text[0].startswith(f"Varied together over their documented ranges, {top} carries")
    assert "total Sobol index is 0.90" in text[0]
    assert text[1].startswith("Interactions between levers carry 30% of that variance")
    assert "not distinguishable from none" not in text[1]
    assert text[-1].startswith(
        "Moving one lever at a time from the scenario (the tornado below), some other lever "
        "moves the median furthest from the scenario's"
    )
    assert "That differs from the global ranking" in text[-1]


# --- text a reader can trust (issue 37) ----------------------------------------------------


def test_provenance_calls_the_bundled_table_bundled(scenario_results):
    """The bundled table passed in as ``models`` is still the bundled table; only another
    table is "user-supplied"."""
    from forecast.data import load_training_runs

    main = scenario_results[0]
    bundled = dataclasses.replace(main, models=load_training_runs())
    assert "Training runs: the bundled training-runs table" in rp._provenance(bundled)
    edited = dataclasses.replace(main, models=main.models.iloc[:-1])
    assert "Training runs: a user-supplied models table" in rp._provenance(edited)


def test_a_report_from_the_bundled_models_says_bundled(tmp_path, fast):
    from forecast.data import load_training_runs

    out = rp.write_report(tmp_path / "rep", models=load_training_runs(), progress=None, **fast)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "the bundled training-runs table" in md and "user-supplied" not in md


def _oat_table(rows, base=2029.8):
    sens = pd.DataFrame(
        rows, columns=["lever", "low_label", "high_label", "median_low", "median_high"]
    ).assign(base_median=base, mc_se=0.02)
    sens["swing"] = (sens["median_high"] - sens["median_low"]).abs()
    sens = sens.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    sens.attrs.update(horizon=2100.0, scenario="baseline", draws=1000, seed=0)
    return sens


def test_sensitivity_sentences_name_the_lever_that_moves_the_median_furthest():
    """Issue 37: the sentence named the widest swing "the biggest driver" while another
    lever, whose two ends both move the median later, moved it further."""
    sens = _oat_table(
        [
            ("repetition epochs", "1 epoch", "16 epochs", 2027.5, 2031.0),  # swing 3.5
            ("compute growth", "0.35 OOM/yr", "0.7 OOM/yr", 2030.5, 2033.8),  # reach 4.0
            ("quality fraction", "0.1", "0.4", 2028.9, 2030.3),
            ("stock growth", "1.0/yr", "1.15/yr", 2029.6, 2030.0),
        ]
    )
    assert sens["lever"].iloc[0] == "repetition epochs"  # the tornado's order
    main = type("Main", (), {"exhaustion_year": lambda self: {"median": None, "p10": None}})()
    first, second = rp._drivers(main, sens)
    assert first.startswith(
        "Moving one lever at a time from the scenario (the tornado below), compute growth "
        "moves the median furthest from the scenario's 2029.8: 2030.5 with 0.35 OOM/yr, "
        "2033.8 with 0.7 OOM/yr (4.0 years); repetition epochs has the widest swing"
    )
    assert second.startswith("Next come repetition epochs (2027.5 with 1 epoch")
    assert second.endswith("every other lever moves it by at most 0.2 years.")
    # when one lever leads both ways, it is named once
    alone = _oat_table([("compute growth", "low", "high", 2026.0, 2034.0)])
    assert "widest swing" not in rp._oat_sentence(alone)


def test_first_screen_has_the_median_with_its_total_monte_carlo_error(scenario_results):
    from forecast.results import mc_error_text, start_note, supported_decimals

    main = scenario_results[0]
    answer = rp._answer(main)
    se = main.mc_error["median"]
    median = f"{main.exhaustion.quantile(0.5):.{supported_decimals(se)}f}"
    assert f"in {median} (median; Monte Carlo error ±{mc_error_text(se)} years)" in answer["head"]
    assert "posterior sampling and the projection together" in answer["precision"]
    assert f"{main.draws:,} joint draws" in answer["precision"]
    note = start_note(main)
    assert (note in answer["head"]) if note else ("starts at the data date" not in answer["head"])
    # an explicit case: 3% of the draws exhausted at the start
    ex = main.exhaustion
    flags = np.arange(ex.exhaustion_year.size) < round(0.03 * ex.exhaustion_year.size)
    many = dataclasses.replace(main, exhaustion=dataclasses.replace(ex, already_exhausted=flags))
    assert (
        f"The 95% interval starts at the data date {main.data_date}: 3.0%"
        in (rp._answer(many)["head"])
    )
    unestimated = rp._answer(dataclasses.replace(main, mc_error={}))
    assert "Monte Carlo error" not in unestimated["head"]
    assert "was not estimated" in unestimated["precision"]


def test_sensitivity_error_says_it_is_the_projections(scenario_results):
    main = scenario_results[0]
    sens = _oat_table([("quality fraction", "0.1", "0.4", 2028.9, 2030.3)])
    text = rp._mc_sentence(sens, 1000, main)
    assert "the projection's error only" in text
    assert "The total Monte Carlo error of the baseline median, posterior sampling and " in text


def test_probability_caption_explains_where_the_curves_start(scenario_results):
    caption = rp._prob_caption(scenario_results)
    at_data = [r for r in scenario_results if abs(r.scenario.start - r.models["year"].max()) < 1e-3]
    year = int(np.floor(at_data[0].scenario.start))
    assert f"The curves start above zero: by the end of {year}" in caption
    shares = {rp._pct(r.exhaustion.already_exhausted_share) for r in at_data}
    assert any(share in caption for share in shares)


def test_markdown_shows_comparisons_as_written(written):
    """report.md showed ``&lt;=`` and ``-&gt;``; index.html stays escaped."""
    path, _ = written
    md = (path / "report.md").read_text(encoding="utf-8")
    page = (path / "index.html").read_text(encoding="utf-8")
    assert "r_hat <= 1.01" in md and "&lt;" not in md and "&gt;" not in md
    assert "r_hat &lt;= 1.01" in page
