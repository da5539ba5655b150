"""Scenarios: built-ins, TOML round trip, inheritance, validation messages, overrides."""

from __future__ import annotations

import pytest

from forecast import scenarios as sc
from forecast.errors import ScenarioError

BUILTINS = sc.builtin_names()


def test_builtin_names_listed_in_display_order():
    assert BUILTINS[:4] == [
        "baseline",
        "epoch2024",
        "epoch2024-overtrain5x",
        "epoch2022-high-quality",
    ]
    assert len(BUILTINS) == len(set(BUILTINS)) >= 11


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_loads_and_builds(name):
    s = sc.load_scenario(name)
    assert s.name == name
    assert s.description
    s.stock.build()  # the stock model accepts the levers


@pytest.mark.parametrize("name", BUILTINS)
def test_toml_round_trip(name):
    s = sc.load_scenario(name)
    back = sc.from_toml(s.to_toml(), source=s.source)
    assert back == s
    assert sc.from_dict(s.to_dict(), source=s.source) == s


def test_round_trip_of_tables_and_odd_strings():
    s = sc.from_dict(
        {
            "name": "odd",
            "description": 'quotes " and backslash \\ and\nnewline',
            "stock": {
                "quality_fraction": [0.1, 0.3, 0.9],
                "synthetic": {"ratio": 2.0, "efficiency": 0.5, "cap": 2.0},
                "consent_restriction": 0.2,
                "contamination": True,
            },
            "published": {"median": 2030.0, "source": "x"},
        }
    )
    assert sc.from_toml(s.to_toml(), source="<dict>") == s


def test_extends_merges_sections():
    base = sc.load_scenario("baseline")
    child = sc.from_toml('name = "child"\nextends = "baseline"\ndraws = 500\n[stock]\nepochs = 8\n')
    assert child.draws == 500
    assert child.stock.epochs == 8
    # keys not overridden come from the parent, section by section
    assert child.stock.repetition == base.stock.repetition == "muennighoff"
    assert child.stock.model == base.stock.model
    assert child.demand == base.demand
    assert child.start == base.start and child.horizon == base.horizon
    # published numbers are not inherited (they belong to the parent's assumptions)
    grandchild = sc.from_toml('name = "g"\nextends = "contaminated-web"\n')  # two levels deep
    assert grandchild.stock.contamination is True
    assert grandchild.stock.repetition == "muennighoff"
    # built-ins do one thing each: synthetic-2x changes only the synthetic lever
    two_x = sc.load_scenario("synthetic-2x")
    assert two_x.stock.contamination is None and two_x.stock.synthetic == 2.0
    assert sc.from_toml('name = "c"\nextends = "epoch2024"\n').published == {}
    # the built-in that extends epoch2024 keeps its own published number
    assert sc.load_scenario("epoch2024-overtrain5x").published["median"] == 2027.0


def test_extends_unknown_parent():
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        sc.from_toml('name = "c"\nextends = "nope"\n')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\ncolour = "red"\n', r"unknown key\(s\) \['colour'\]"),
        (
            'name = "x"\n[demand]\nmodle = "average"\n',
            r"unknown key\(s\) \['modle'\] in \[demand\]",
        ),
        ('name = "x"\n[stock]\nqualty = 0.2\n', r"unknown key\(s\) \['qualty'\] in \[stock\]"),
        ('name = "x"\n[shock]\nmodel = "a"\n', r"unknown key\(s\) \['shock'\]"),
        ('name = "x"\ndraws = 5\n', r"draws must be between 100 and 5,000,000, got 5"),
        ('name = "x"\ndraws = 1000.5\n', r"draws must be an integer"),
        ('name = "x"\nseed = -1\n', r"seed must be an integer from 0 to 2\*\*32 - 1"),
        (
            'name = "x"\n[demand]\novertraining = 0.5\n',
            r"demand\.overtraining = 0\.5 is out of range",
        ),
        ('name = "x"\n[demand]\nmodel = "magic"\n', r"demand\.model = 'magic' is not one of"),
        ('name = "x"\n[stock]\nquality_fraction = 1.5\n', r"stock\.quality_fraction = 1\.5 is out"),
        (
            'name = "x"\n[stock]\nquality_fraction = [0.4, 0.1]\n',
            r"stock\.quality_fraction: low 0\.4 is above high 0\.1",
        ),
        ('name = "x"\n[stock]\nstock_growth = [1.0]\n', r"stock\.stock_growth must be a number or"),
        ('name = "x"\n[stock]\nrepetition = "lots"\n', r"stock\.repetition = 'lots' is not one of"),
        ('name = "x"\n[stock]\nepochs = 4\n', r"stock\.epochs is only used with"),
        ('name = "x"\n[stock]\ncontamination = "yes"\n', r"stock\.contamination must be true"),
        (
            'name = "x"\n[stock]\nsynthetic = { ratio = 2.0, boost = 1 }\n',
            r"unknown key\(s\) \['boost'\] in stock\.synthetic",
        ),
        ('name = "x"\nstart = 2050.0\nhorizon = 2050.5\n', r"horizon \(2050\.5\) must be more"),
        ('name = "x"\nstart = "2024"\n', r"start must be a decimal year or 'data'"),
        ('name = "x"\ndemand = 3\n', r"\[demand\] must be a table"),
        ('description = "no name"\n', r"missing required key 'name'"),
        ('name = ""\n', r"scenario name must be a non-empty string"),
        ('name = "x"\ndraws = = 3\n', r"invalid TOML"),
        ('name = "x\n', r"invalid TOML"),
    ],
)
def test_invalid_scenarios_are_scenario_errors(text, message):
    with pytest.raises(ScenarioError, match=message) as info:
        sc.from_toml(text, source="my.toml")
    assert str(info.value).startswith("my.toml: ")  # every message names the file


def test_out_of_range_through_extends():
    with pytest.raises(ScenarioError, match=r"stock\.quality_fraction = 1\.5"):
        sc.from_toml('name = "x"\nextends = "baseline"\n[stock]\nquality_fraction = 1.5\n')


def test_with_overrides_dotted_keys():
    base = sc.load_scenario("baseline")
    s = base.with_overrides(
        **{"demand.tokens_per_parameter": 40.0, "stock.epochs": 16, "draws": 2000}
    )
    assert s.demand.tokens_per_parameter == 40.0
    assert s.stock.epochs == 16
    assert s.draws == 2000
    assert s.demand.model == base.demand.model  # untouched keys kept
    assert base.demand.overtraining == 1.0  # the original is unchanged (frozen)
    # double underscore spelling (usable as Python keyword arguments)
    assert base.with_overrides(stock__quality_fraction=[0.2, 0.5]).stock.quality_fraction == [
        0.2,
        0.5,
    ]
    with pytest.raises(ScenarioError, match=r"demand\.overtraining = 0\.1 is out of range"):
        base.with_overrides(**{"demand.overtraining": 0.1})
    with pytest.raises(ScenarioError, match=r"unknown key\(s\) \['tempo'\] in \[demand\]"):
        base.with_overrides(**{"demand.tempo": 1})


def test_load_scenario_from_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nextends = "baseline"\n[demand]\nmodel = "compute"\novertraining = 2.0\n'
    )
    s = sc.load_scenario(path)
    assert s.name == "mine" and s.demand.overtraining == 2.0
    assert sc.load_scenario(str(path)) == s
    assert sc.load_scenario(s) is s
    with pytest.raises(ScenarioError, match="scenario file not found"):
        sc.load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="unknown scenario 'nonesuch'"):
        sc.load_scenario("nonesuch")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        sc.load_scenario(bad)


def test_published_numbers_of_reproduction_scenarios():
    e24 = sc.load_scenario("epoch2024").published
    assert (e24["median"], e24["p10"], e24["p90"]) == (2028.0, 2026.0, 2032.0)
    e22 = sc.load_scenario("epoch2022-high-quality").published
    assert (e22["median"], e22["p5"], e22["p95"]) == (2024.5, 2023.5, 2025.7)  # FACTS.md §B1


def test_an_overridden_scenario_says_so_in_its_description():
    """Issue 37: after ``--set stock.epochs=8`` the description still said "4 epochs"."""
    base = sc.load_scenario("baseline")
    assert "(4 epochs)" in base.description
    eight = base.with_overrides(**{"stock.epochs": 8})
    assert eight.description == base.description + " Overridden: stock.epochs=8."
    # one note per lever, the latest value; sampling keys change nothing
    again = eight.with_overrides(**{"stock.epochs": 6, "demand.feasibility": "none"}, draws=500)
    assert again.description == (
        base.description + " Overridden: demand.feasibility='none', stock.epochs=6."
    )
    assert base.with_overrides(seed=3, draws=500).description == base.description
    # a description given with the change is the caller's; later levers are added to it
    mine = base.with_overrides(description="Mine", **{"stock.epochs": 2})
    assert mine.description == "Mine"
    assert (
        mine.with_overrides(**{"stock.epochs": 3}).description == "Mine; overridden: stock.epochs=3"
    )
    # equality and TOML are those of the levers and the (changed) description
    assert eight == base.with_overrides(**{"stock.epochs": 8})
    assert sc.from_toml(eight.to_toml(), source=eight.source) == eight


def test_run_scenario_with_overrides_describes_them(bundled_demand):
    from forecast.pipeline import run_scenario

    result = run_scenario(
        "baseline", bundled_demand, draws=500, seed=1, mc_error=False, **{"stock.epochs": 8}
    )
    assert result.name == "baseline [stock.epochs=8]"
    assert result.scenario.description.endswith("Overridden: stock.epochs=8.")
    assert result.to_json_dict()["description"] == result.scenario.description
