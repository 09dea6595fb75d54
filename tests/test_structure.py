"""The structure drawn from the imports: no circle anywhere; pruning_core <- pipelines <- app; inside pruning_core no
module imports from a layer above its own (`pruning_core.LAYERS`).

The graph is read from the source with `ast` (nothing is imported): every import of this repository's modules,
those inside functions too, relative ones resolved. `from package import name` points at the module
package.name when there is one, else at the package. Imports under `if TYPE_CHECKING:` never run and are left
out. The app's files are named both as `app.<path>` and as the app folder's own imports see them
(`dashboard.reads`: Streamlit puts app/ on the path).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pruning_core import LAYERS

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("pruning_core", "pipelines", "app", "benchmarks")


def module_name(path: Path) -> str:
    """pruning_core/analysis/keywords.py -> pruning_core.analysis.keywords; a package's __init__.py -> the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def repo_modules() -> dict[str, Path]:
    """Every module of the four parts by its dotted name; the app's also by the name app/'s own imports use."""
    modules = {}
    for part in PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            name = module_name(path)
            modules[name] = path
            if part == "app" and name != "app":
                modules.setdefault(name.removeprefix("app."), path)
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of a module, nested ones included, without those under `if TYPE_CHECKING:`."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def imported(name: str, source: str, modules: dict[str, Path], package: bool = False) -> set[Path]:
    """The repository's files that module `name` (whose code is `source`; `package`: an __init__.py) imports."""
    anchor = name if package else name.rpartition(".")[0]
    targets = set()
    for node in _imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            wanted = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = anchor.split(".")
                base = ".".join([*parts[:len(parts) - (node.level - 1)], *([base] if base else [])])
            wanted = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in wanted:
            while target and target not in modules:   # `import a.b.c` of a package a.b: the deepest module there is
                target = target.rpartition(".")[0]
            if target:
                targets.add(modules[target])
    return targets - {modules.get(name)}


def import_graph() -> dict[str, set[str]]:
    """File -> the files it imports, as paths relative to the repository (one node per file)."""
    modules = repo_modules()
    named = {path: name for name, path in modules.items() if not name.startswith(("dashboard", "views", "Home"))}
    return {str(path.relative_to(ROOT)): {str(target.relative_to(ROOT)) for target in
                                          imported(name, path.read_text(encoding="utf-8"), modules,
                                                   package=path.name == "__init__.py")}
            for path, name in named.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's circles: one path around each strongly connected component of more than one node."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def visit(node: str) -> None:   # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle(graph, set(component)) for component in components]


def _circle(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """One closed path through a strongly connected component, from its first node back to it."""
    start = min(members)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                frontier.append(target)
    raise AssertionError(f"not a component: {sorted(members)}")


def layer_of(file: str) -> int | None:
    """The layer of a file of pruning_core (its top-level module or package under pruning_core); None for
    pruning_core/__init__.py, which only names things lazily."""
    parts = Path(file).with_suffix("").parts
    if len(parts) == 2 and parts[1] == "__init__":
        return None
    top = parts[1]
    for number, layer in enumerate(LAYERS):
        if top in layer:
            return number
    raise AssertionError(f"{file} has no layer: add {top!r} to pruning_core.LAYERS (pruning_core/__init__.py).")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def arrows(graph: dict[str, set[str]], source: str, target: str) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() if a.startswith(source + "/")
                  for b in targets if b.startswith(target + "/"))


def test_the_reader_resolves_relative_nested_and_package_imports_and_skips_type_checking():
    modules = {name: Path(name) for name in ("lib", "lib.a", "lib.b", "lib.sub", "lib.sub.c", "lib.sub.d", "app.x")}
    source = ("import os\nfrom . import b\nfrom ..a import f\nimport lib.sub.missing\n"
              "def later():\n    from .d import g\n"
              "if TYPE_CHECKING:\n    from app import x\n")
    assert imported("lib.sub.c", source, modules) == {Path("lib.sub"), Path("lib.a"), Path("lib.sub.d")}
    assert imported("lib", "from . import a, nothing\n", modules, package=True) == {Path("lib.a")}
    assert imported("lib.a", "from lib.b import name\nfrom lib import sub\n", modules) == {Path("lib.b"),
                                                                                         Path("lib.sub")}


def test_the_graph_holds_the_four_parts_and_the_apps_own_imports(graph):
    assert "pruning_core/trace.py" in graph["pruning_core/analysis/keywords.py"]
    assert any(target.startswith("pruning_core/") for target in graph["pipelines/analyze.py"])
    views = [file for file in graph if file.startswith("app/views/")]
    assert views and all(any(t.startswith("app/dashboard/") for t in graph[view]) for view in views), \
        "every page imports the dashboard (as `dashboard.x` or `app.dashboard.x`)"
    assert any(file.startswith("benchmarks/") for file in graph)


def test_a_circle_is_found_with_its_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_no_import_circle_anywhere(graph):
    found = cycles(graph)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(circle) for circle in found)


def test_imports_point_one_way_library_pipelines_app(graph):
    assert arrows(graph, "pruning_core", "pipelines") + arrows(graph, "pruning_core", "app") == []
    assert arrows(graph, "pruning_core", "benchmarks") == []
    assert arrows(graph, "pipelines", "app") == []


def test_inside_the_library_no_arrow_runs_up_a_layer(graph):
    upward = [f"{source} (layer {layer_of(source)}) -> {target} (layer {layer_of(target)})"
              for source, targets in sorted(graph.items()) if source.startswith("pruning_core/")
              for target in sorted(targets) if target.startswith("pruning_core/")
              if None not in (layer_of(source), layer_of(target)) and layer_of(target) > layer_of(source)]
    assert not upward, "arrows up a layer (pruning_core.LAYERS):\n" + "\n".join(upward)


def test_every_library_module_has_a_layer(graph):
    for file in graph:
        if file.startswith("pruning_core/"):
            layer_of(file)   # raises for a module no layer names
