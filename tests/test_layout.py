"""The package's shape, read from its source (no import): no import circle among gan_sweeps' modules, no function
longer than a screen.

The import graph counts every ``import gan_sweeps...`` / ``from gan_sweeps... import`` of a module, at module level
and inside functions (a lazy import that closes a circle still makes the modules depend on each other), plus the
``__init__`` of every package an import passes through (importing ``gan_sweeps.report.table`` runs
``gan_sweeps/report/__init__.py`` first). Imports under ``if TYPE_CHECKING:`` never run and are left out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gan_sweeps"
MAX_FUNCTION_LINES = 60

pytestmark = pytest.mark.unit


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its ``__init__.py``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    return {id(node) for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for statement in block.body for node in ast.walk(statement)}


def _imported_names(node: ast.AST, name: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the module's own package upwards
        package = name.split(".") if is_package else name.split(".")[:-1]
        base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules that importing it runs (directly)."""
    found = modules(package)
    root = package.name
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _type_checking_only(tree)
        own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        edges: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            for imported in _imported_names(node, name, path.name == "__init__.py"):
                if imported != root and not imported.startswith(root + "."):
                    continue
                while imported not in found:  # `from pkg.mod import function` -> pkg.mod
                    imported = imported.rpartition(".")[0]
                parts = imported.split(".")
                edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # the packages' __init__s too
        graph[name] = {m for m in edges if m in found and m != name and m not in own_packages}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's circles: one shortest circle through each strongly connected group of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm (the package is shallow enough for recursion)
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_shortest_circle(graph, group) for group in groups]


def _shortest_circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = [[start]]
    seen = {start}
    while paths:  # breadth first, inside the group, back to start
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & group):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append(path + [nxt])
    return sorted(group)


def long_functions(package: Path = PACKAGE, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``path:line name (N lines)`` for every function or method longer than ``limit`` lines."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_import_circle_in_the_package():
    circles = cycles(import_graph())
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_the_graph_sees_lazy_imports_package_inits_and_names_a_circle(tmp_path):
    pkg = tmp_path / "pkg"  # not named gan_sweeps: the layout's move script rewrites gan_sweeps.NAME strings
    (pkg / "report").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "report" / "__init__.py").write_text("from pkg.report.cli import main\n")
    (pkg / "report" / "cli.py").write_text("from pkg.plan import estimate\n")
    (pkg / "report" / "table.py").write_text("from pkg.report import cli\n")  # its own package: no edge
    (pkg / "plan.py").write_text("def estimate():\n    from pkg.train import run\n")
    (pkg / "train.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.plan\n"
                                  "from pkg.report.table import x\n")
    graph = import_graph(pkg)
    assert graph["pkg.train"] == {"pkg.report", "pkg.report.table"}
    assert graph["pkg.report.table"] == {"pkg.report.cli"}
    assert cycles(graph) == [["pkg.plan", "pkg.train", "pkg.report", "pkg.report.cli", "pkg.plan"]]
    (pkg / "plan.py").write_text("def estimate():\n    pass\n")
    assert cycles(import_graph(pkg)) == []


def test_no_function_over_60_lines():
    offenders = long_functions()
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(offenders)


def test_long_functions_are_named(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "big.py").write_text("def big():\n" + "    x = 1\n" * 61 + "\n\ndef small():\n    pass\n")
    assert long_functions(pkg) == ["pkg/big.py:1 big (62 lines)"]
