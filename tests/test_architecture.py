"""The architecture, checked on every `make test`: the import contracts in .importlinter (layers,
pure rules, no cycles), ruff over the code, and mypy strict on the pure rule modules
(pyproject.toml, [tool.ruff] and [tool.mypy]). The tools are dev dependencies: missing is a failure."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Pure or database-independent: the PostgreSQL pass of CI skips this module (conftest.py).
pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# [tool.mypy] makes these strict; the list here is what the test runs mypy on.
PURE = [
    "app/scoring/rulesets.py",
    "app/scoring/standing.py",
    "app/dueprocess/machine.py",
    "app/referrals/machine.py",
    "app/referrals/deadlines.py",
    "app/shared/workdays.py",
]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: it is a dev dependency (pip install -e '.[dev]')")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold():
    done = _run(_tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_nothing():
    done = _run(_tool("ruff"), "check", "--no-cache", "app", "tests", "bench", "migrations")
    assert done.returncode == 0, done.stdout + done.stderr


def test_pure_modules_type_check_strictly():
    done = _run(_tool("mypy"), "--no-incremental", *PURE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_module_imports_itself_round_a_circle():
    """No cycle among app's modules at all, also across packages and at call time (import-linter
    checks cycles within each package; this walks every import, however deep in a function)."""
    modules = {}
    for path in (ROOT / "app").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            graph[name] |= {t for t in targets if t in modules and t != name}
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    assert cycles == [], f"import cycles: {cycles}"
