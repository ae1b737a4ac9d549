"""The Storage port's contract suite: every Storage adapter must pass it.

One module per aggregate (`accounts`, `tasks` with `task_search`, `performance`, `alerts`,
`alert_instances`, `outbox`, `leads`, `lead_settings`, `lead_lists` and `creatives`) and one for
what transactions promise across them (`transactions`); `StorageContract` combines them all. Bind it with a
subclass and an async fixture named `storage` that yields an EMPTY storage:

    class TestMyStorage(StorageContract):
        @pytest.fixture
        async def storage(self):
            s = MyStorage(...)
            yield s
            await s.close()

Every expected order is computed by the test from the rows it stored (never copied from the
adapter), with fixed, distinct timestamps, so ordering and paging are checked, not assumed."""

from __future__ import annotations

from catalyst_contracts.storage.accounts import AccountsContract
from catalyst_contracts.storage.alert_instances import AlertInstancesContract
from catalyst_contracts.storage.alerts import AlertsContract
from catalyst_contracts.storage.creatives import CreativesContract
from catalyst_contracts.storage.helpers import TaskWorld, every_page, ordered, put, read, task_matches
from catalyst_contracts.storage.lead_lists import LeadListsContract
from catalyst_contracts.storage.lead_settings import LeadSettingsContract
from catalyst_contracts.storage.leads import LeadsContract
from catalyst_contracts.storage.outbox import OutboxContract
from catalyst_contracts.storage.performance import PerformanceContract
from catalyst_contracts.storage.performance_levels import PerformanceLevelsContract
from catalyst_contracts.storage.task_search import TaskSearchContract
from catalyst_contracts.storage.tasks import TasksContract
from catalyst_contracts.storage.transactions import TransactionsContract


class StorageContract(TransactionsContract, AccountsContract, TasksContract, PerformanceContract,
                      PerformanceLevelsContract, OutboxContract, AlertsContract, AlertInstancesContract,
                      LeadsContract, LeadSettingsContract, LeadListsContract, CreativesContract,
                      TaskSearchContract):
    """The Storage port's semantics (catalyst_core.ports). Needs an async fixture `storage`."""


__all__ = ["AccountsContract", "AlertInstancesContract", "AlertsContract", "CreativesContract",
           "LeadListsContract", "LeadSettingsContract", "LeadsContract", "OutboxContract",
           "PerformanceContract", "PerformanceLevelsContract", "StorageContract", "TaskSearchContract",
           "TaskWorld", "TasksContract", "TransactionsContract", "every_page", "ordered", "put", "read",
           "task_matches"]
