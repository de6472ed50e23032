"""No import circles in the core or the plugins: no module imports one that imports it back.

The graph is read from the sources with :mod:`ast`: every ``import`` and ``from ... import``
counts, at module level or inside a function (a local import runs too, only later), except
those under ``if TYPE_CHECKING:`` (annotations only). ``from package import name`` is an
edge to the submodule ``package.name`` when there is one, else to the package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "src", *sorted(ROOT.glob("plugins/*/src")), ROOT / "examples/provider-plugin/src"]


def _modules(roots: list[Path]) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, whether it is a package's ``__init__``)."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, module: str, is_package: bool) -> list[tuple[str, str | None]]:
    """(module, name) pairs the run-time imports in ``node`` ask for (name None: ``import x``)."""
    asked: list[tuple[str, str | None]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child.test):
            for statement in child.orelse:
                asked += _imported(
                    ast.Module(body=[statement], type_ignores=[]), module, is_package
                )
        elif isinstance(child, ast.Import):
            asked += [(alias.name, None) for alias in child.names]
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                package = module.split(".")[: None if is_package else -1]
                package = package[: len(package) - child.level + 1]
                base = ".".join([*package, base] if base else package)
            asked += [(base, alias.name) for alias in child.names]
        else:
            asked += _imported(child, module, is_package)
    return asked


def import_graph(roots: list[Path]) -> dict[str, set[str]]:
    """Each module's run-time imports among the modules under ``roots``."""
    modules = _modules(roots)
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = set()
        for base, name in _imported(tree, module, is_package):
            target = f"{base}.{name}" if f"{base}.{name}" in modules else base
            if target in modules and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def _way_back(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A shortest path from ``start`` back to itself (breadth first), or None."""
    paths = {start: [start]}
    queue = [start]
    for current in queue:
        for target in sorted(graph[current]):
            if target == start:
                return [*paths[current], start]
            if target not in paths:
                paths[target] = [*paths[current], target]
                queue.append(target)
    return None


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest circle through each module that is on one, as ``[a, b, ..., a]``."""
    found: dict[frozenset[str], list[str]] = {}
    for start in sorted(graph):
        circle = _way_back(graph, start)
        if circle is not None:
            found.setdefault(frozenset(circle), circle)
    return list(found.values())


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = import_graph(SOURCES)

    found = [" -> ".join(circle) for circle in circles(graph)]

    assert len(graph) > 60  # the core and the plugins were read
    assert found == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"a.py": "from . import b\n", "b.py": "from .a import x\n"},
            [["pkg.a", "pkg.b", "pkg.a"]],
        ),
        (
            {"a.py": "import pkg.b\n", "b.py": "def f():\n    from . import a\n"},
            [["pkg.a", "pkg.b", "pkg.a"]],
        ),
        (
            {
                "a.py": "from .b import y\n",
                "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from .a import x\n",
            },
            [],
        ),
        (
            {
                "a.py": "from .b import y\n",
                "b.py": "if TYPE_CHECKING:\n    pass\nelse:\n    import pkg.a\n",
            },
            [["pkg.a", "pkg.b", "pkg.a"]],
        ),
        (
            {"__init__.py": "from .a import x\n", "a.py": "from . import y\n"},
            [["pkg", "pkg.a", "pkg"]],
        ),
        (
            {"__init__.py": "from .a import x\n", "a.py": "from . import b\n", "b.py": ""},
            [],
        ),
        (
            {"a.py": "from .b import y\n", "b.py": "from .c import z\n", "c.py": "import pkg.a\n"},
            [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]],
        ),
    ],
    ids=[
        "relative-both-ways",
        "function-local-import",
        "type-only-import",
        "else-of-type-checking",
        "name-from-the-package",
        "submodule-from-the-package",
        "three-modules",
    ],
)
def test_the_graph_finds_a_circle_exactly_when_there_is_one(
    files: dict[str, str], expected: list[list[str]], tmp_path: Path
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    for name, text in {"__init__.py": "", **files}.items():
        (package / name).write_text(text, encoding="utf-8")

    found = circles(import_graph([tmp_path]))

    assert found == expected
