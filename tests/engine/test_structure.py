"""The engine's shape: no import cycle among perflab's modules, settings read in one place."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from book_helpers import ROOT

ENGINE = ROOT / "perflab"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _perflab_imports(path: Path, modules: set[str]) -> set[str]:
    """perflab modules that `path` imports anywhere in its body (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in modules:
                found.add(node.module)
            # `from perflab import book` names a module too
            found.update(m for m in (f"{node.module}.{a.name}" for a in node.names) if m in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → perflab modules it imports (package __init__ files excluded as targets)."""
    paths = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    modules = {m for m, p in paths.items() if p.name != "__init__.py"}
    return {m: _perflab_imports(p, modules) - {m} for m, p in paths.items() if m in modules}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, …, a], or None (graphlib names the cycle it finds)."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_cycle_finder_finds_a_cycle():
    found = _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert found is not None and set(found) == {"a", "b", "c"} and found[0] == found[-1]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_engines_modules():
    graph = import_graph()
    assert "perflab.book" in graph and "perflab.measure" in graph["perflab.book"]
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def _reads_a_setting(node: ast.AST) -> bool:
    """os.environ["PERFLAB_…"] read, os.environ.get("PERFLAB_…") or os.getenv("PERFLAB_…")."""

    def named(arg: ast.AST) -> bool:
        return isinstance(arg, ast.Constant) and str(arg.value).startswith("PERFLAB_")

    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        return ast.unparse(node.value) == "os.environ" and named(node.slice)
    if isinstance(node, ast.Call) and node.args:
        return ast.unparse(node.func) in ("os.environ.get", "os.getenv") and named(node.args[0])
    return False


def test_the_setting_reader_finder_tells_reads_from_writes():
    found = [_reads_a_setting(n) for n in ast.walk(ast.parse(
        'os.environ["PERFLAB_A"] = "1"\nenv = {"PERFLAB_B": "2"}\n'
        'x = os.environ.get("PERFLAB_C")\ny = os.environ["PERFLAB_D"]\nz = os.getenv("HOME")'
    ))]  # fmt: skip
    assert sum(found) == 2


def test_perflab_settings_are_read_only_in_the_settings_module():
    # 每个 PERFLAB_* 设置只在 perflab/settings.py 里读；引擎、钩子与页面模块都经由它
    readers = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for folder in ("perflab", "hooks", "pages")
        for path in (ROOT / folder).rglob("*.py")
        if path != ENGINE / "settings.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _reads_a_setting(node)
    ]
    assert not readers, readers
