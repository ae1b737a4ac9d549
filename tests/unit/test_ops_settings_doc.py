"""docs/operations.md lists every setting as the Settings class defines it, and from_env reads each
variable the table names (issue 13: the reference cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from catalyst_api import settings_doc
from catalyst_api.settings import Settings


def test_the_operations_guide_carries_the_generated_table() -> None:
    document = settings_doc.OPERATIONS.read_text(encoding="utf-8")
    assert settings_doc.replace_section(document) == document, (
        "docs/operations.md is out of date: run python -m catalyst_api.settings_doc --write")
    assert settings_doc.main([]) == 0


def test_every_setting_names_its_variable_and_its_effect() -> None:
    undocumented = [e.name for e in settings_doc.entries() if not e.doc]
    assert not undocumented, f"give these Settings fields setting(env, doc): {undocumented}"
    envs = [e.env for e in settings_doc.entries()]
    assert len(envs) == len(set(envs))
    assert all(env.startswith("CATALYST_") for env in envs)


def _sample(f: attrs.Attribute[Any]) -> str:
    """A value for `f`'s variable that differs from its default."""
    if f.metadata.get("example") is not None:
        return str(f.metadata["example"])
    if f.type in (bool, "bool"):
        return "0" if f.default else "1"
    if f.type in (int, "int"):
        return str(f.default + 7)
    if f.type in (float, "float"):
        return str(f.default + 2.5)
    pytest.fail(f"give {f.name} an example= in setting(...): the test cannot guess a {f.type}")


@pytest.mark.parametrize("field", attrs.fields(Settings), ids=lambda f: f.name)
def test_from_env_reads_the_documented_variable(field: attrs.Attribute[Any], tmp_path: Path) -> None:
    entry = next(e for e in settings_doc.entries() if e.name == field.name)
    env = {"CATALYST_DATA_DIR": str(tmp_path)}
    baseline = getattr(Settings.from_env(env), field.name)
    env[entry.env] = _sample(field)
    assert getattr(Settings.from_env(env), field.name) != baseline, (
        f"{entry.env} did not change Settings.{field.name}")


def test_help_lists_every_variable() -> None:
    text = settings_doc.environment_help()
    assert all(e.env in text for e in settings_doc.entries())
