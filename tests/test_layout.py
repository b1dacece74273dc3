"""The package's shape: how its subpackages may import one another, and
which of its files ship.

Read from the source (every import statement, those inside functions
included), so a lazy import counts as much as a module-level one:

- the subpackages' imports form no circle (``report`` may use ``pipeline``
  or the reverse, never both);
- a subpackage reaches another only through its public ``__init__``, never
  into its private ``_module``;
- no module grows past 500 lines without saying why at its top.
"""

import ast
import re
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

import kura_sklearn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - depends on the Python
    import tomli as tomllib

PACKAGE = Path(kura_sklearn.__file__).parent


def _imports():
    """(importing module, its subpackage, imported module path) for every
    import of a ``kura_sklearn`` module in the package's source."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = parts[:-1]  # where relative imports start
        own = parts[1] if len(parts) > 2 else None  # None: a top-level module
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = list(package[: len(package) - node.level + 1])
                    target = base + (node.module.split(".") if node.module else [])
                else:
                    target = (node.module or "").split(".")
                targets = [target]
                if not node.module:  # from . import x: x may be a module
                    targets = [target + [alias.name] for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name.split(".") for alias in node.names]
            else:
                continue
            for target in targets:
                if target[0] == "kura_sklearn" and len(target) > 1:
                    yield module, own, target


def _subpackages():
    return {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }


def test_no_import_circle_among_subpackages():
    subpackages = _subpackages()
    graph = {name: set() for name in subpackages}
    for _, own, target in _imports():
        if own in subpackages and target[1] in subpackages and target[1] != own:
            graph[own].add(target[1])

    # depth-first search for a back edge; the circle is reported if found
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_private_module_of_another_subpackage_is_imported():
    subpackages = _subpackages()
    crossing = sorted(
        {
            f"{module} imports {'.'.join(target)}"
            for module, own, target in _imports()
            if target[1] in subpackages
            and target[1] != own
            and any(part.startswith("_") for part in target[2:])
        }
    )
    assert crossing == []


def test_the_checks_see_lazy_imports():
    # the pipeline's report shortcut imports report inside a method: the
    # graph above must contain that edge, or it proves nothing
    edges = {(own, target[1]) for _, own, target in _imports()}
    assert ("pipeline", "report") in edges
    assert ("cluster", "utils") in edges


MAX_LINES = 500
REASON = "Over 500 lines:"


def _module_lengths():
    """(path relative to the package, line count, module docstring)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        yield path.relative_to(PACKAGE).as_posix(), len(text.splitlines()), docstring


def _gives_reason(docstring):
    return any(
        line.strip().startswith(REASON) and line.strip() != REASON
        for line in docstring.splitlines()
    )


def test_no_module_is_over_500_lines_without_a_reason():
    # a long module says why in a docstring line "Over 500 lines: ..."
    unexplained = [
        f"{name} ({n_lines} lines)"
        for name, n_lines, docstring in _module_lengths()
        if n_lines > MAX_LINES and not _gives_reason(docstring)
    ]
    assert unexplained == [], (
        f"split these modules, or start a line of their docstring with {REASON!r} "
        "and the reason"
    )


def test_a_reason_line_is_recognised():
    assert _gives_reason("Tables.\n\nOver 500 lines: one dialect table per language.")
    assert not _gives_reason("Over 500 lines:")
    assert not _gives_reason("Tables, over 500 lines: no reason at the start.")


def test_every_data_file_ships():
    # a file that is not Python (the report's template, styles and script,
    # the embedder's model, the sample) is in the wheel only when a
    # package-data pattern in pyproject.toml names it
    pyproject = PACKAGE.parent / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("an installed package: no pyproject.toml beside it")
    with pyproject.open("rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]

    def shipped(path):
        for package, patterns in package_data.items():
            root = PACKAGE.parent.joinpath(*package.split("."))
            if root in path.parents:
                parts = path.relative_to(root).parts
                for pattern in patterns:
                    wanted = pattern.split("/")  # setuptools: * stops at a /
                    if len(wanted) == len(parts) and all(
                        fnmatchcase(part, want) for part, want in zip(parts, wanted)
                    ):
                        return True
        return False

    data_files = [
        path
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and path.suffix not in (".py", ".pyc")
        and "__pycache__" not in path.parts
    ]
    assert any(path.name == "report.js" for path in data_files)
    missing = sorted(str(p.relative_to(PACKAGE)) for p in data_files if not shipped(p))
    assert missing == []


def test_no_benchmark_tables_in_the_code():
    # issue 14, item 4: measured figures live in benchmarks/RESULTS.md with
    # the command that made them, not in tables inside docstrings, where
    # they age unseen
    table_rule = re.compile(r"^\s*=+(\s+=+)+\s*$|^\s*\|.*\|.*\|\s*$")
    tables = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if table_rule.match(line)
    ]
    assert tables == []


def test_docstrings_are_literals():
    # issue 14, item 6: a docstring assembled at import (``__doc__ = f"..."``)
    # is invisible to IDEs and to readers of the source
    assembled = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.match(r"\s*__doc__\s*[+]?=", line)
    ]
    assert assembled == []
