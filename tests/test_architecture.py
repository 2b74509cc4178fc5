"""The import rules of ARCHITECTURE.md, read from the source (ast), not from a running import.

Every ``import`` counts, also those inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "paraser"

GROUND = {"paraser", "audio", "parallel", "results"}
#: Unit (top-level module or subpackage of paraser) -> the units it may import.
ALLOWED: dict[str, set[str]] = {
    "paraser": set(),  # the package root: a version and a lazy table of names
    "audio": set(),
    "parallel": set(),
    "results": set(),
    "corpora": GROUND,
    "datasets": GROUND,
    "features": GROUND | {"corpora"},
    "experiments": GROUND,  # no other stage: experiments work on arrays and frames
    "reports": GROUND | {"corpora"},
    "runs": GROUND | {"corpora", "datasets", "features", "experiments", "reports"},
    "cli_options": set(),  # option definitions only
    "cli": GROUND
    | {"corpora", "datasets", "features", "experiments", "reports", "runs"}
    | {"cli_options"},
}
#: Names of files in a results folder, known to paraser/results.py alone: every file-name
#: constant it defines (results.csv, config.json, report.md, shift.csv, ...).
RESULTS_FILES = {
    value
    for name, value in vars(__import__("paraser.results").results).items()
    if name.endswith("_FILE") and isinstance(value, str)
}
#: Modules that use one of those names for another file: a Hugging Face model folder's
#: ``config.json`` is not a results folder's.
OTHER_MEANING = {"paraser.features.ssl"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> set[str]:
    """paraser modules imported anywhere in ``module`` (``from pkg import sub`` -> pkg.sub)."""
    found: set[str] = set()
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "paraser"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "paraser":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return found - {module}


GRAPH = {module: _imports(module) for module in MODULES}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "paraser"


def test_every_unit_has_a_layer() -> None:
    assert {_unit(m) for m in MODULES} <= set(ALLOWED), "add the new unit to ALLOWED"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_lower_layers(module: str) -> None:
    unit = _unit(module)
    wrong = sorted(
        target
        for target in GRAPH[module]
        if _unit(target) != unit and _unit(target) not in ALLOWED[unit]
    )
    assert not wrong, f"{module} ({unit}) may not import {wrong}"


def test_no_import_cycle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module] & MODULES.keys():
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def _string_literals(tree: ast.AST) -> set[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    }  # fmt: skip


@pytest.mark.parametrize("module", sorted(set(MODULES) - {"paraser.results"} - OTHER_MEANING))
def test_only_the_results_module_names_results_files(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text())
    named = sorted(RESULTS_FILES & _string_literals(tree))
    assert not named, f"{module} names {named}: use paraser.results"


def test_the_lazy_api_is_listed() -> None:
    import paraser

    assert set(paraser.__all__) <= set(dir(paraser))


#: Writers of files outside a results folder: a saved model, and ``paraser predict``'s CSV
#: at a path the user names.
WRITES_ELSEWHERE = {"paraser.runs.models"}
_FILE_WRITES = {"write_text", "write_bytes", "to_parquet"}


def _file_writes(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attribute = node.func.attr
            # to_csv() with no path returns text; with one it writes a file.
            if attribute in _FILE_WRITES or (attribute == "to_csv" and node.args):
                found.append(f"line {node.lineno}: .{attribute}(...)")
    return found


@pytest.mark.parametrize(
    "module",
    sorted(
        m
        for m in MODULES
        if m.startswith(("paraser.reports", "paraser.runs")) and m not in WRITES_ELSEWHERE
    ),
)
def test_reports_and_runs_write_results_files_through_the_results_module(module: str) -> None:
    writes = _file_writes(ast.parse(MODULES[module].read_text()))
    assert not writes, f"{module} writes files itself ({writes}): use paraser.results' writers"
