"""No import cycles among refman's modules, counting the imports inside functions too (a cycle hidden in a
function body is still a cycle: each module needs the other to work)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "refman"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target in modules and target != name and not _is_type_only(node, path):
                    graph[name].add(target)
    return graph


def _is_type_only(node: ast.AST, path: Path) -> bool:
    """Imports under `if TYPE_CHECKING:` are for the type checker only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for top in ast.walk(tree):
        if isinstance(top, ast.If) and "TYPE_CHECKING" in ast.unparse(top.test) and any(
                isinstance(child, type(node)) and ast.dump(child) == ast.dump(node) for child in ast.walk(top)):
            return True
    return False


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# Cycles left on purpose, each with its reason. Every other cycle fails the test below.
ALLOWED = {
    frozenset({"refman.fetch.adapters", "refman.fetch.adapters.infoq", "refman.fetch.adapters.stackexchange"}):
        "the package's __init__ is the adapters' registry and holds the types each adapter builds on",
    frozenset({"refman.store.sqlite.connection", "refman.store.sqlite.schema"}):
        "connect() upgrades an old catalog through schema, imported only then (alembic stays off start-up)",
}


def test_no_import_cycles_but_the_allowed_ones() -> None:
    """The domain modules form layers (references → catalog operations → fetch, import, citations → API); the
    big cycle through catalog, citation keys, duplicates, the fetch pipeline and search is gone for good."""
    found = {frozenset(c) for c in cycles(import_graph())}
    assert not found - set(ALLOWED), sorted(sorted(c) for c in found - set(ALLOWED))


def test_the_store_layer_never_imports_the_domain() -> None:
    """The store is the bottom layer: a cycle through it would make every domain module depend on every other."""
    mixed = [c for c in cycles(import_graph())
             if any(m.startswith("refman.store") for m in c) and not all(m.startswith("refman.store") for m in c)]
    assert not mixed, mixed


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
