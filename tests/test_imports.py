"""medalist's modules import each other without circles (decision 0042). config → contracts/model
→ gold → config was one, held open only by an import inside load_pipeline: importing
medalist.gold (or contracts.model) first in a fresh interpreter worked by luck of order. These
tests read every module's imports and fail when a circle comes back, at the top of a file or
hidden inside a function."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import medalist

SRC = Path(medalist.__file__).parent
# Imports kept inside a function although they close a circle, and why. Nothing else may.
KNOWN = {
    # `medalist aws` commands reuse the main CLI's error handling; the main CLI adds them.
    ("medalist.deploy.cli", "medalist.cli"),
    # compaction claims its runs through the controller; the slim controller zip has no engine.
    ("medalist.controller", "medalist.compaction"),
}


def _name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in SRC.rglob("*.py")}


def _module(dotted: str) -> str:
    """The medalist module an import names (`from medalist.config import Pipeline`: config)."""
    while dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted


def _with_parents(module: str) -> list[str]:
    """A module and the packages Python imports before it (medalist.notify for notify.x)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)]


def _imports(path: Path) -> Iterator[tuple[str, bool]]:
    """(medalist module imported, whether at the top of the file) of one source file; the
    imports under `if TYPE_CHECKING:` do not run and are left out."""

    def walk(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("medalist"):
                for alias in child.names:
                    yield _module(f"{child.module}.{alias.name}"), top
            elif isinstance(child, ast.Import):
                yield from ((_module(a.name), top) for a in child.names if a.name[:8] == "medalist")
            inside = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, top and not inside)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), True)


@functools.cache
def _graph() -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Top-of-file imports (module -> modules run on import, parent packages included) and the
    imports made inside functions."""
    top: dict[str, set[str]] = {name: set() for name in MODULES}
    inside: set[tuple[str, str]] = set()
    for name, path in MODULES.items():
        own = set(_with_parents(name))
        for imported, at_top in _imports(path):
            if at_top:
                top[name] |= set(_with_parents(imported)) - own
            elif imported not in own:
                inside.add((name, imported))
    return top, inside


def _reaches(top: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A chain of top-of-file imports from `start` to `goal`, if there is one."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop()
        for nxt in sorted(top[path[-1]]):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return None


def test_no_module_imports_itself_through_others_at_the_top_of_its_file() -> None:
    top, _ = _graph()
    circles = {name: _reaches(top, name, name) for name in top}
    assert {name: chain for name, chain in circles.items() if chain} == {}


def test_no_import_inside_a_function_hides_a_circle() -> None:
    """An import moved into a function to dodge a circle (config's of contracts.model was one)
    fails here: the module imported must not import the importer back at its top."""
    top, inside = _graph()
    hidden = {
        (importer, imported): chain
        for importer, imported in inside
        for package in _with_parents(imported)
        if package not in _with_parents(importer)
        and (chain := _reaches(top, package, importer))
        and (importer, imported) not in KNOWN
    }
    assert hidden == {}


def test_config_reads_pipeline_yaml_without_the_contracts() -> None:
    """The deployed functions read pipeline.yaml without DuckDB or sqlglot (decision 0035)."""
    top, _ = _graph()
    assert _reaches(top, "medalist.config", "medalist.contracts") is None
    assert _reaches(top, "medalist.loader", "medalist.contracts.model")


# Modules of the old circle, each imported first: with config importing contracts.model at its
# top, both raise ImportError (a partially initialised module).
FIRST = ["medalist.gold", "medalist.contracts.model"]


def test_each_module_of_the_old_circle_imports_first_in_a_fresh_interpreter() -> None:
    for module in FIRST:
        done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
        assert done.returncode == 0, (module, done.stderr.decode()[-2000:])


@pytest.mark.parametrize("module", sorted(KNOWN), ids=lambda pair: "→".join(pair))
def test_the_known_hidden_circles_are_still_there(module: tuple[str, str]) -> None:
    """When one of KNOWN is cut, remove it from the list so it cannot come back unnoticed."""
    top, inside = _graph()
    importer, imported = module
    assert module in inside and _reaches(top, imported, importer)
