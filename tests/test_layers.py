"""The package's layers (docs/ARCHITECTURE.md): imports run one way, from the catalogue up to
the web glue, with no circle and no import hidden inside a function to dodge one."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "liushou_dash"
# A layer may import the layers below it, never one beside or above it.
LAYERS = {"catalog": 0, "core": 1, "ingest": 2, "indicators": 2, "workflow": 3, "reports": 3,
          "web": 4, "demo": 4, "cli": 5, "__main__": 6}
LAZY_ALLOWED = {"cli", "migrations"}  # the command line loads a command's modules on demand


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            .removesuffix(".__init__"): path
            for path in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "package"


def _imports(module: str, path: Path, modules) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) of every import of this package."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {id(node) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
              for node in ast.walk(fn) if node is not fn}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith("liushou_dash"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.append((name if name in modules else node.module, node.lineno,
                              id(node) in nested))
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = module.split(".")[: len(module.split(".")) - node.level
                                     + (path.name == "__init__.py")]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{target}.{alias.name}"
                found.append((name if name in modules else target, node.lineno,
                              id(node) in nested))
    return found


def _graph():
    modules = _modules()
    return modules, {m: _imports(m, p, modules) for m, p in modules.items()
                     if _layer(m) != "migrations"}


def test_every_module_lives_in_a_layer():
    modules, _ = _graph()
    strays = [m for m in modules if _layer(m) not in {*LAYERS, "migrations", "package"}]
    assert strays == []


def test_imports_run_from_the_catalogue_up():
    _, graph = _graph()
    wrong = [f"{m}:{line} imports {target}"
             for m, imports in graph.items() for target, line, _ in imports
             if _layer(target) != _layer(m) and _layer(target) != "package"
             and LAYERS[_layer(target)] >= LAYERS[_layer(m)]]
    assert wrong == []


def test_no_import_hides_inside_a_function():
    _, graph = _graph()
    hidden = [f"{m}:{line} imports {target}" for m, imports in graph.items()
              for target, line, inside in imports if inside and _layer(m) not in LAZY_ALLOWED]
    assert hidden == []


def test_no_circle():
    _, graph = _graph()
    edges = {m: {t for t, _, _ in imports if t in graph and t != m}
             for m, imports in graph.items()}
    seen, on_path, circles = set(), [], []

    def visit(node):
        if node in on_path:
            circles.append(" -> ".join([*on_path[on_path.index(node):], node]))
            return
        if node in seen:
            return
        seen.add(node)
        on_path.append(node)
        for nxt in sorted(edges[node]):
            visit(nxt)
        on_path.pop()

    for module in sorted(edges):
        visit(module)
    assert circles == []


@pytest.mark.parametrize("bad", ["liushou_dash.web.cache", "liushou_dash.indicators.cards"])
def test_the_direction_check_can_fail(bad, tmp_path, monkeypatch):
    """A catalogue module that imported a higher layer would be reported."""
    stray = PACKAGE / "catalog" / "_stray_for_test.py"
    stray.write_text(f"import liushou_dash\nfrom {bad.rsplit('.', 1)[0]} import {bad.rsplit('.', 1)[1]}\n")
    try:
        with pytest.raises(AssertionError):
            test_imports_run_from_the_catalogue_up()
    finally:
        stray.unlink()
