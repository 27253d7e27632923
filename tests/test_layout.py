"""The package's layout holds: few top-level modules beside the subpackages, and no import cycles
among module-level imports (imports inside functions and under TYPE_CHECKING are deferred on
purpose and do not count)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "grpodx"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def eager_imports(path: Path, known: set[str]) -> set[str]:
    """grpodx modules `path` imports at module level (not in functions, not under TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node] if not isinstance(node, ast.If | ast.Try) else ast.walk(node):
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("grpodx"):
                for alias in child.names:  # `from grpodx.clinical import icd10` imports a module
                    full = f"{child.module}.{alias.name}"
                    found.add(full if full in known else child.module)
            elif isinstance(child, ast.Import):
                found |= {a.name for a in child.names if a.name.startswith("grpodx")}
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: eager_imports(path, set(files)) & set(files) for name, path in files.items()}


def test_at_most_six_top_level_modules_beside_the_subpackages():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top


def test_no_import_cycles():
    graph, state, cycles = import_graph(), {}, []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if nxt == node or nxt.startswith(node + "."):  # a package importing its own submodules is no cycle
                continue
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_sees_real_imports():
    # guards the check above against passing vacuously
    graph = import_graph()
    assert "grpodx.types" in graph["grpodx.rollout.engine"] and "grpodx.cases.schema" in graph["grpodx.types"]
