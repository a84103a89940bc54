"""No import cycle in src/jmmctap: the module graph, with imports inside functions counted, is acyclic.

Imports under ``if TYPE_CHECKING:`` are left out (they never run). A cycle hidden in a function-level
import is counted on purpose: it is how the ADQL function registry used to be filled (issue 12).
"""

from __future__ import annotations

import ast
from pathlib import Path

import jmmctap

PACKAGE_DIR = Path(jmmctap.__file__).parent


def _module_names() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ["jmmctap", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


class _Imports(ast.NodeVisitor):
    """The jmmctap modules one module imports, anywhere except under ``if TYPE_CHECKING``."""

    def __init__(self, module: str, is_package: bool, modules: dict[str, Path]) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names if alias.name in self.modules)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        if source not in self.modules:
            return
        for alias in node.names:  # `from jmmctap.adql import geometry` imports the submodule
            submodule = f"{source}.{alias.name}"
            self.found.add(submodule if submodule in self.modules else source)


def import_graph() -> dict[str, set[str]]:
    """Module → the jmmctap modules it imports (a package's ``__init__`` is the package's name)."""
    modules = _module_names()
    graph = {}
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(), str(path)))
        graph[name] = visitor.found - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if root in state:
            continue
        path = [root]
        stack = [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following):], following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph[following])))
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_function_level_imports_but_not_type_checking_ones() -> None:
    graph = import_graph()
    assert "jmmctap.adql.registry" in graph["jmmctap.adql.expressions"]
    assert "jmmctap.adql.expressions" not in graph["jmmctap.adql.signature"]  # under TYPE_CHECKING only


def test_src_jmmctap_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])
