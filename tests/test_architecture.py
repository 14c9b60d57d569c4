"""The rule between the layers holds (import-linter's contracts in pyproject.toml), a
deliberate upward import breaks it, and no layer below ``api/`` builds an HTTP URL."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("studyhall", "ingest", "retriever", "generator", "api", "eval", "demos", "bench",
            "corpus", "deploy")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Below api/ a string may mention a route in prose, but none may start with one of its paths.
API_PATHS = ("/v1/", "/v1", "/lti/", "/mcp", "/static/", "/embed.js", "/instructor", "/healthz")
BELOW_API = ("ingest", "retriever", "generator", "eval", "demos", "corpus", "studyhall/core",
             "studyhall/services.py")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=tree,
                          capture_output=True, text=True, timeout=120)


def copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "results", "genai-basics"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "upward", "contract"), [
    ("retriever/base.py", "from generator import answer", "Each layer imports only"),
    ("studyhall/core/settings.py", "import ingest.catalog", "Each layer imports only"),
    ("demos/registry.py", "import generator.answer", "Each layer imports only"),
    ("generator/gate.py", "import fastapi", "nothing speaks HTTP"),
])
def test_an_upward_import_breaks_a_contract(tmp_path, module, upward, contract):
    tree = copy_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{upward}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in broken


def _strings(tree: ast.AST):
    """Every string constant, and the leading literal of every f-string, with its line;
    docstrings left out (prose may name a route)."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings):
            yield node.lineno, node.value


def test_no_url_is_built_below_api():
    found = []
    for part in BELOW_API:
        root = ROOT / part
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
                if text.startswith(API_PATHS):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert found == []


def test_the_url_check_finds_a_route_path_in_code():
    code = 'def url(run):\n    return f"/v1/tools/runs/{run}"\n'
    assert "/v1/tools/runs/" in [text for _, text in _strings(ast.parse(code))]
    assert list(_strings(ast.parse('"""Served at /v1/search."""\n'))) == []
