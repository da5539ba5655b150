"""The package's layers (docs/architecture.md): no import circle, and no module imports a
module of its own or a higher rank. Function-level (lazy) imports count like any other.

Every module of ``forecast/`` has a rank here; a new module must be placed, which is the
point: its place in the layers is a decision, written down once.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "forecast"

#: (layer, order inside the layer). A module may import only modules of a lower rank.
RANKS: dict[str, tuple[int, int]] = {
    # 0: foundations, importing nothing of the package
    "forecast._version": (0, 0),
    "forecast._compat": (0, 0),
    "forecast._moved": (0, 0),
    "forecast.errors": (0, 0),
    "forecast.limits": (0, 0),
    "forecast.safety": (0, 0),
    "forecast.units": (0, 0),
    "forecast.checks": (0, 1),
    # 1: data, names, persistence, progress
    "forecast.data": (1, 0),
    "forecast.persist": (1, 0),
    "forecast.progress": (1, 0),
    "forecast.registry": (1, 0),
    # 2: what every results object shares
    "forecast.results": (2, 0),
    # 3: the models: demand, stock, the crossing, collapse
    "forecast.demand.model": (3, 0),
    "forecast.demand.baselines": (3, 0),
    "forecast.demand.published": (3, 0),
    "forecast.demand.trends": (3, 1),
    "forecast.demand.damped": (3, 1),
    "forecast.demand.feasibility": (3, 1),
    "forecast.demand.cache": (3, 1),
    "forecast.demand.compute_frontier": (3, 2),
    "forecast.demand.combine": (3, 2),
    "forecast.demand": (3, 3),
    "forecast.stock.estimates": (3, 0),
    "forecast.stock.levers": (3, 1),
    "forecast.stock.models": (3, 2),
    "forecast.stock": (3, 3),
    "forecast.exhaustion": (3, 0),
    "forecast.collapse.simulator": (3, 0),
    "forecast.collapse.theory": (3, 1),
    "forecast.collapse": (3, 2),
    # 4: the main path
    "forecast.scenarios": (4, 0),
    "forecast.pipeline": (4, 1),
    # 5: what is built on the main path
    "forecast.evaluation.scores": (5, 0),
    "forecast.evaluation.backtest": (5, 1),
    "forecast.evaluation.skill": (5, 1),
    "forecast.evaluation": (5, 2),
    "forecast.studies.sensitivity": (5, 0),
    "forecast.studies.remedies": (5, 0),
    "forecast.studies.global_sensitivity": (5, 0),
    "forecast.studies": (5, 1),
    # the README's and docs' generated numbers (scenario runs on the main path)
    "forecast.numbers": (5, 0),
    # 6: figures (take results objects; import no model code)
    "forecast.plots.style": (6, 0),
    "forecast.plots.figures": (6, 1),
    "forecast.plots.collapse": (6, 1),
    "forecast.plots.remedies": (6, 1),
    "forecast.plots.demand": (6, 1),
    "forecast.plots.compute": (6, 1),
    "forecast.plots.skill": (6, 1),
    "forecast.plots.sobol": (6, 1),
    "forecast.plots": (6, 2),
    # 7: the report
    "forecast.report.explorer": (7, 0),
    "forecast.report.writer": (7, 1),
    "forecast.report": (7, 2),
    # 8: the command line; 9: the public API (imports lazily, by name)
    "forecast.cli": (8, 0),
    "forecast": (9, 0),
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at any depth of the file)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:  # relative imports are not used, but resolve them anyway
                    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}"
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        edges.add(sub)
                    elif base in modules:
                        edges.add(base)
        graph[name] = edges - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_rank():
    unplaced = sorted(set(_modules()) - set(RANKS))
    assert not unplaced, f"place these modules in RANKS (and docs/architecture.md): {unplaced}"
    gone = sorted(set(RANKS) - set(_modules()))
    assert not gone, f"RANKS names modules that do not exist: {gone}"


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_no_module_imports_its_own_or_a_higher_rank():
    bad = [
        f"{a} {RANKS[a]} imports {b} {RANKS[b]}"
        for a, targets in import_graph().items()
        for b in sorted(targets)
        if RANKS[b] >= RANKS[a]
    ]
    assert not bad, "\n".join(bad)


def test_the_checks_can_fail():
    # A circle and an upward import on a made-up graph are found.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    graph = import_graph()
    assert "forecast.demand.model" in graph["forecast.demand.trends"]
    assert "forecast.demand.trends" not in graph["forecast.demand.model"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("forecast.skill", "forecast.evaluation.skill"),
        ("forecast.damped", "forecast.demand.damped"),
        ("forecast.collapse_theory", "forecast.collapse.theory"),
    ],
)
def test_moved_modules_keep_their_old_path_with_a_warning(old, new):
    import importlib
    import sys

    import forecast  # noqa: F401  (installs the finder of moved modules)

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        alias = importlib.import_module(old)
    target = importlib.import_module(new)
    name = next(n for n in dir(target) if not n.startswith("__"))
    assert getattr(alias, name) is getattr(target, name)


def test_no_package_exports_a_name_of_its_own_submodule():
    # ``forecast.studies.sensitivity`` must be the module, whatever was imported first.
    import importlib

    for init in PACKAGE.rglob("__init__.py"):
        package = _module_name(init)
        submodules = {p.stem for p in init.parent.glob("*.py") if p.stem != "__init__"}
        submodules |= {p.name for p in init.parent.iterdir() if (p / "__init__.py").exists()}
        exported = set(getattr(importlib.import_module(package), "__all__", ()))
        assert not exported & submodules, (package, sorted(exported & submodules))
