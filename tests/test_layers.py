"""No import cycles between callgate's top-level packages.

Every module under src/callgate is parsed (not imported, so optional heavy dependencies do not
matter) and every ``callgate.X`` import, at module level or inside a function, is an edge from the
importing module's top-level package to ``X``. Imports inside functions count too: they hide a cycle
from Python's import machinery, not from the design.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "callgate"

# Cycles tolerated, as unordered package pairs: none. Add nothing here: move the shared piece to
# the lower layer instead (the agent seam's clock, latency model and environment live in agents/,
# which simulation/ imports, never the other way round).
KNOWN_CYCLES: set[tuple[str, str]] = set()

Edges = dict[str, dict[str, list[str]]]  # package -> imported package -> importing files


def _package(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported(node: ast.AST, module: list[str]) -> list[str]:
    """Absolute module names an import statement names; ``module``: the importer's dotted path."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against the module's own package path
            base = module[: len(module) - node.level]
            module = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # from . import a, b: each name may be a module
                return [f"{module}.{a.name}" for a in node.names]
            return [module]
        return [node.module] if node.module else []
    return []


def import_edges(root: Path = SRC) -> Edges:
    edges: Edges = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        source = _package(path, root)
        module = ["callgate", *path.relative_to(root).with_suffix("").parts]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _imported(node, module):
                parts = name.split(".")
                if parts[0] != "callgate" or len(parts) < 2 or parts[1] == source:
                    continue
                edges[source][parts[1]].append(str(path.relative_to(root)))
    return edges


def _allowed(a: str, b: str) -> bool:
    return (a, b) in KNOWN_CYCLES or (b, a) in KNOWN_CYCLES


def find_cycle(edges: Edges) -> list[str] | None:
    """One cycle of packages (first package repeated at the end), ignoring edges between the
    two packages of a known cycle; None when there is none."""
    graph = {a: sorted(b for b in targets if not _allowed(a, b)) for a, targets in edges.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def describe(cycle: list[str], edges: Edges) -> str:
    steps = [
        f"  {a} -> {b} (in {', '.join(sorted(set(edges[a][b]))[:3])})"
        for a, b in itertools.pairwise(cycle)
    ]
    return "import cycle " + " -> ".join(cycle) + ":\n" + "\n".join(steps)


def test_no_import_cycle_between_packages() -> None:
    edges = import_edges()
    assert "gate" in edges["cli"], "the scan found no imports: is SRC right?"
    cycle = find_cycle(edges)
    assert cycle is None, describe(cycle, edges)


def test_the_cycle_finder_reports_a_cycle(tmp_path: Path) -> None:
    for name, text in {
        "a/__init__.py": "",
        "a/x.py": "from callgate.b.y import f\n",
        "b/__init__.py": "",
        "b/y.py": "def f():\n    from callgate.c import z\n",
        "c/__init__.py": "",
        "c/z.py": "import callgate.a.x\n",
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    edges = import_edges(tmp_path)
    cycle = find_cycle(edges)
    assert cycle == ["a", "b", "c", "a"]
    assert "b -> c (in b/y.py)" in describe(cycle, edges)
    del edges["a"]
    assert find_cycle(edges) is None
