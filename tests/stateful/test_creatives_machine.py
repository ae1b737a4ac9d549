"""The creatives state machine (submissions, decisions, review tasks, stored files) over every
storage."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from catalyst_contracts.state_machines import machine_settings, storage_factory
from catalyst_contracts.state_machines.creatives import CreativesMachine


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_creatives_machine(kind: str, request: pytest.FixtureRequest, sqlite_template: Path,
                           tmp_path: Path) -> None:
    postgres = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    factory = storage_factory(kind, sqlite_template=sqlite_template, directory=tmp_path,
                              postgres=postgres)
    machine = type(f"CreativesMachineOn{kind.title()}", (CreativesMachine,),
                   {"storage_factory": staticmethod(factory)})
    run_state_machine_as_test(machine, settings=machine_settings(kind))
