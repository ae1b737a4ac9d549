"""Hypothesis state machines that drive the services over real Storages and compare with a plain model.

`AccountsMachine` drives AuthService and ClientsService (users, clients, members, roles);
`TasksMachine` drives TasksService (tasks, their lifecycle, comments, events); `AlertsMachine`
drives AlertsService (runs, deduplication, resolve and dismiss, the tasks they open and close);
`CreativesMachine` drives CreativesService (submissions with links or files, the one decision,
the review task, the BlobStore holding exactly the submissions' files).
Each example gets a fresh storage from the class attribute `storage_factory` (an async callable
returning an EMPTY Storage) and its own event loop, because rules cannot be async. Bind them like this:

    Machine = type("AccountsOnX", (AccountsMachine,), {"storage_factory": staticmethod(make_empty)})
    run_state_machine_as_test(Machine, settings=MACHINE_SETTINGS)

`PerformanceMachine` drives MetricsService and ReportsService over SEVERAL storages at once (the
class attribute `storage_factories`, a mapping of kind to factory) and checks that every one of them
reports exactly what a plain recomputation from the ingested rows gives:

    Machine = type("PerformanceOnAll", (PerformanceMachine,), {"storage_factories": factories})
    run_state_machine_as_test(Machine, settings=PERFORMANCE_MACHINE_SETTINGS)
"""

from __future__ import annotations

from catalyst_contracts.state_machines.accounts import AccountsMachine
from catalyst_contracts.state_machines.alerts import AlertsMachine
from catalyst_contracts.state_machines.common import (
    MACHINE_SETTINGS,
    SQL_MACHINE_SETTINGS,
    ServiceMachine,
    machine_settings,
    storage_factory,
)
from catalyst_contracts.state_machines.creatives import CreativesMachine
from catalyst_contracts.state_machines.performance import PERFORMANCE_MACHINE_SETTINGS, PerformanceMachine
from catalyst_contracts.state_machines.tasks import TasksMachine

__all__ = ["MACHINE_SETTINGS", "PERFORMANCE_MACHINE_SETTINGS", "SQL_MACHINE_SETTINGS", "AccountsMachine",
           "AlertsMachine", "CreativesMachine",
           "PerformanceMachine", "ServiceMachine", "TasksMachine", "machine_settings", "storage_factory"]
