"""The package structure: an acyclic import graph, and a light ``import divergences``.

The graph is read from the source with :mod:`ast` (every ``import`` statement, at module level
or inside a function, except those under ``if TYPE_CHECKING:``), so a cycle hidden behind a
lazy import inside a function is still a cycle. The light import is checked in a fresh
interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("divergences", "gan_theory")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from a import b`` counts ``a.b`` when it is
    a module, else ``a``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _resolve(name, path, node)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_reader_sees_the_known_edges() -> None:
    # guards the test itself: a reader that found no edges would find no cycle either
    graph = import_graph()
    assert "divergences.fdivergence" in graph["divergences"]
    assert "divergences.registry.entry" in graph["divergences.registry.builtin"]
    assert "divergences.numeric.emit.printer" in graph["divergences.numeric.emit.select"]
    # a function-level import counts; an import under TYPE_CHECKING does not
    assert "divergences.numeric.emit" in graph["divergences.fdivergence"]
    assert "divergences.fdivergence" not in graph["divergences.numeric.discrete"]


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_import_graph_is_acyclic() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_divergences_never_imports_gan_theory() -> None:
    graph = import_graph()
    offenders = {
        (name, target)
        for name, targets in graph.items()
        if name.startswith("divergences")
        for target in targets
        if target.startswith("gan_theory")
    }
    assert not offenders


def test_the_emitter_never_imports_fdivergence() -> None:
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("divergences.numeric.emit"):
            assert "divergences.fdivergence" not in targets, name


def test_the_symbolic_layer_imports_nothing_numeric() -> None:
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith(("divergences.symbolic", "divergences.registry")):
            numeric = {t for t in targets if t.startswith("divergences.numeric")}
            assert not numeric, (name, numeric)


_HEAVY = (
    "divergences.numeric.analytic",
    "divergences.numeric.emit",
    "scipy.integrate",
    "ot",
    "sklearn",
)


@pytest.mark.parametrize("statement", ["import divergences", "import divergences.losses"])
def test_import_is_light(statement: str) -> None:
    code = (
        f"import sys, json; {statement}; "
        f"print(json.dumps([m for m in {list(_HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_import_does_no_torch_computation() -> None:
    # a profiler around the import sees no aten operator run
    code = (
        "import torch\n"
        "from torch.profiler import profile, ProfilerActivity\n"
        "with profile(activities=[ProfilerActivity.CPU]) as prof:\n"
        "    import divergences, divergences.losses\n"
        "print(len([e for e in prof.events() if e.name.startswith('aten::')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "0"
