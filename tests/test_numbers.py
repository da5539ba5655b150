"""Generated numbers (forecast.numbers) and the Monte Carlo error they are printed with."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from forecast import numbers as nb
from forecast.errors import ForecastError


@pytest.mark.parametrize(
    ("se", "expected"),
    [(0.014, 1), (0.18, 0), (0.004, 2), (0.0001, 2), (3.0, 0), (math.nan, 2), (0.0, 2)],
)
def test_decimals_follow_the_error(se, expected):
    assert nb.decimals(se) == expected


def test_printed_text_is_rounded_to_what_the_error_supports():
    assert nb.Number("baseline.median", 2029.8181, 0.014).text() == "2029.8"
    assert nb.Number("baseline.p97_5", 2043.04, 0.18).text() == "2043"
    assert nb.Number("baseline.p97_5", math.nan, math.nan).text() == "after 2100"
    assert nb.Number("baseline.prob_by_2030", 0.6412, 0.004).text() == "64%"
    assert nb.Number("baseline.already_exhausted_at_start", 0.0241, 0.0004).text() == "2.4%"
    assert nb.Number("baseline.median_se", 0.014).text() == "0.01"
    assert nb.Number("data.rows", 115).text() == "115"
    assert nb.Number("data.date", "2026-07-16").text() == "2026-07-16"


def test_disagreement_within_and_beyond_the_error():
    n = nb.Number("baseline.median", 2029.8181, 0.014)
    assert n.disagreement("2029.8") is None
    assert n.disagreement("2029.9") is None  # 0.08 <= 3 se + half of 0.1
    assert "differs" in n.disagreement("2030.0")
    assert "decimals" in n.disagreement("2029.8181")  # false precision
    assert n.disagreement("after 2100") is not None
    assert n.disagreement("soon") == "not a number"
    late = nb.Number("baseline.p97_5", math.nan, math.nan)
    assert late.disagreement("after 2100") is None
    assert "after" in late.disagreement("2043")
    se = nb.Number("baseline.median_se", 0.014)
    assert se.disagreement("0.01") is None and se.disagreement("0.04") is None
    assert se.disagreement("0.1") is not None
    assert nb.Number("data.rows", 115).disagreement("114") is not None


def test_unknown_keys_are_named():
    with pytest.raises(ForecastError, match=r"unknown number key 'baseline\.mean'"):
        nb.compute_numbers(["baseline.mean"])


def _report_dir(tmp_path, results):
    main, *rest = results
    payload = main.to_json_dict() | {"compare": [r.to_json_dict() for r in rest]}
    report = tmp_path / "report"
    report.mkdir()
    (report / "summary.json").write_text(json.dumps(payload, default=str))
    return report


def test_write_then_check_then_detect_an_edit(tmp_path, scenario_results):
    report = _report_dir(tmp_path, scenario_results)
    doc = tmp_path / "README.md"
    doc.write_text(
        "Median <!--n:baseline.median-->?<!--/n--> (±<!--n:baseline.median_se-->?<!--/n-->), "
        "80% <!--n:baseline.p10-->?<!--/n-->-<!--n:baseline.p90-->?<!--/n-->, by 2030 "
        "<!--n:epoch2024.prob_by_2030-->?<!--/n-->; <!--n:data.rows-->?<!--/n--> rows.\n"
    )
    keys = nb.keys_in([doc])
    numbers = nb.compute_numbers(keys, report=report)
    assert "?" in doc.read_text() and nb.check_files([doc], numbers)
    assert nb.write_files([doc], numbers) == [doc]
    assert nb.check_files([doc], numbers) == []
    assert nb.write_files([doc], numbers) == []  # nothing left to change
    main = scenario_results[0]
    median = main.exhaustion_year()["median"]
    assert numbers["baseline.median"].value == pytest.approx(median)
    assert numbers["baseline.median"].se == main.mc_error["median"] > 0
    text = doc.read_text()
    printed = nb.find_markers(text)[0][1]
    moved = f"{float(printed) + 1:.{len(printed.split('.')[1]) if '.' in printed else 0}f}"
    doc.write_text(text.replace(f"-->{printed}<", f"-->{moved}<", 1))
    (problem,) = nb.check_files([doc], numbers)
    assert problem.startswith(f"{doc}:1: baseline.median printed")


def test_a_report_without_the_error_is_refused(tmp_path, scenario_results):
    report = _report_dir(tmp_path, scenario_results[:1])
    payload = json.loads((report / "summary.json").read_text())
    payload["mc_error"] = None
    (report / "summary.json").write_text(json.dumps(payload))
    with pytest.raises(ForecastError, match="no Monte Carlo error"):
        nb.compute_numbers(["baseline.median"], report=report)


def test_the_repositorys_markers_all_have_known_keys():
    files = nb.default_files(nb.Path(__file__).parents[1])
    for key in nb.keys_in(files):
        nb._split_key(key)  # raises on an unknown key


def test_mc_error_is_in_the_json_and_covers_every_statistic(scenario_results):
    payload = scenario_results[0].to_json_dict()["mc_error"]
    assert payload["batches"] >= 8
    for key in nb.YEAR_STATS:
        assert payload[key] is None or payload[key] >= 0
    assert 0 < payload["median"] < 1
    assert 0 <= payload["prob_by_2030"] < 0.1


def test_two_seeds_agree_within_the_stated_error(tmp_path):
    """Another machine is another posterior sample: fits with seeds 0 and 1 (4 chains)
    give baseline medians that agree within their combined Monte Carlo error."""
    from forecast.demand.model import SamplerConfig
    from forecast.pipeline import fit_demand, run_scenario

    medians, errors = [], []
    for seed in (0, 1):
        sampler = SamplerConfig(draws=500, tune=500, chains=4, seed=seed)
        demand = fit_demand(sampler=sampler, cache_dir=tmp_path / "fits")
        assert demand.diagnostics_ok(), demand.summary()
        result = run_scenario("baseline", demand, draws=20_000, seed=seed)
        medians.append(result.exhaustion_year()["median"])
        errors.append(result.mc_error["median"])
    assert medians[0] != medians[1]
    combined = math.sqrt(np.sum(np.square(errors)))
    assert abs(medians[0] - medians[1]) <= 3 * combined, (medians, errors)


def test_override_keys_name_a_scenario_with_changed_levers():
    key = "baseline[demand.feasibility=none,stock.epochs=8].p90"
    assert nb._split_key(key) == ("baseline[demand.feasibility=none,stock.epochs=8]", "p90")
    item = nb._scenario_item("baseline[demand.feasibility=none,stock.epochs=8]")
    assert item == (
        "baseline",
        {
            "name": "baseline[demand.feasibility=none,stock.epochs=8]",
            "demand.feasibility": "none",
            "stock.epochs": 8,
        },
    )
    (found,) = nb.find_markers(f"x <!--n:{key}-->2035<!--/n--> y")
    assert found == (key, "2035", 1)
    assert nb.find_markers("syntax: `<!--n:KEY-->TEXT<!--/n-->`") == []
    with pytest.raises(ForecastError, match="expected KEY=VALUE"):
        nb._scenario_item("baseline[demand.feasibility]")
