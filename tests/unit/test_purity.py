"""The core imports only the standard library, attrs and itself (DESIGN.md section 2, rule 1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "catalyst_core"
ALLOWED_THIRD_PARTY = frozenset({"attrs", "attr"})  # `attr` is attrs' older import name, same package
OWN_PACKAGE = "catalyst_core"


def _allowed(module: str) -> bool:
    top = module.split(".", 1)[0]
    return top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == OWN_PACKAGE


def forbidden_imports(source: str, filename: str = "<string>") -> list[str]:
    """`file:line: module` for every import in `source` the core may not make."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import (`from . import x`) stays inside the package by construction.
            if node.level == 0 and node.module is not None:
                modules = [node.module]
        elif (
            # `importlib.import_module("x")` / `__import__("x")` with a literal name: same rule.
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id in {"__import__", "import_module"})
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            modules = [node.args[0].value]
        found.extend(f"{filename}:{node.lineno}: {m}" for m in modules if not _allowed(m))
    return found


def core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_the_core_exists_where_the_check_looks() -> None:
    # Guards against the check silently passing because it walked an empty or wrong directory.
    assert (CORE / "ports.py").is_file()
    assert len(core_files()) >= 5


def test_core_imports_only_stdlib_attrs_and_itself() -> None:
    problems = [
        problem
        for path in core_files()
        for problem in forbidden_imports(path.read_text(encoding="utf-8"), str(path.relative_to(CORE.parent)))
    ]
    assert not problems, "catalyst_core must stay pure; forbidden imports:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import sqlalchemy\n", ["x.py:1: sqlalchemy"]),
        ("import os\nimport jwt as j\n", ["x.py:2: jwt"]),
        ("from aiohttp import web\n", ["x.py:1: aiohttp"]),
        ("from passlib.context import CryptContext\n", ["x.py:1: passlib.context"]),
        ("import os, cattrs\n", ["x.py:1: cattrs"]),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import dependency_injector\n",
         ["x.py:3: dependency_injector"]),
        ("def f():\n    import redis\n", ["x.py:2: redis"]),
        ("import importlib\nimportlib.import_module('sqlalchemy.ext')\n", ["x.py:2: sqlalchemy.ext"]),
        ("__import__('yaml')\n", ["x.py:1: yaml"]),
        ("import catalyst_adapters.clock\n", ["x.py:1: catalyst_adapters.clock"]),
    ],
)
def test_checker_catches_forbidden_imports(source: str, expected: list[str]) -> None:
    assert forbidden_imports(source, "x.py") == expected


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations\n",
        "import uuid\nfrom datetime import datetime\nfrom collections.abc import Mapping\n",
        "from attrs import define, frozen\nimport attr\n",
        "from catalyst_core.errors import NotFound\nimport catalyst_core.ids\n",
        "from . import model\nfrom ..errors import Conflict\nfrom .service import X\n",
        "import importlib\nimportlib.import_module('.model', __package__)\n",
    ],
)
def test_checker_allows_stdlib_attrs_own_and_relative_imports(source: str) -> None:
    assert forbidden_imports(source, "x.py") == []
