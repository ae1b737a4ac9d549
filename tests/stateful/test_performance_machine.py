"""The performance machine (ingestion, growth and performance reports, the metrics list) driving
memory, SQLite and PostgreSQL side by side: every storage must report what the model recomputes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis.stateful import run_state_machine_as_test

from catalyst_contracts.state_machines import (
    PERFORMANCE_MACHINE_SETTINGS,
    PerformanceMachine,
    storage_factory,
)


def test_performance_machine(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> None:
    postgres = request.getfixturevalue("postgres_url")  # skips (or fails, when required) without a server
    factories = {kind: storage_factory(kind, sqlite_template=sqlite_template, directory=tmp_path,
                                       postgres=postgres) for kind in ("memory", "sqlite", "postgres")}
    machine = type("PerformanceMachineOnEveryStorage", (PerformanceMachine,),
                   {"storage_factories": factories})
    run_state_machine_as_test(machine, settings=PERFORMANCE_MACHINE_SETTINGS)
