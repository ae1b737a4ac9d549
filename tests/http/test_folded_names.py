"""Names at their longest whose casefolded sort key is longer still ("ß" folds to "ss", "ΐ" to
three code points) are stored and sorted on every storage (PostgreSQL once answered 500)."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from tests.helpers import Cast, cast, register

GROWS = ("ß", "ΐ", "ﬃ")


@pytest.fixture
async def scene(api: Any, clock: FrozenClock) -> Cast:
    return await cast(api)


@pytest.mark.parametrize("char", GROWS)
async def test_the_longest_names_that_grow_when_folded(scene: Cast, api: Any, char: str) -> None:
    person = await register(api, char * 200)
    assert person.user["name"] == char * 200
    status, reply = await scene.admin.post("/clients", json={"name": char * 200})
    assert status == 201, reply
    status, reply = await scene.admin.post("/tasks", json={"client_id": scene.client, "name": char * 255})
    assert status == 201, reply
    status, reply = await scene.admin.get("/tasks", params={"client_id": scene.client, "sort": "name",
                                                            "order": "asc"})
    assert status == 200 and reply["data"]["tasks"][0]["name"] == char * 255
    status, reply = await scene.member.post("/creative-submissions", json={
        "client_id": scene.client, "name": char * 255, "ad_type": "text"})
    assert status == 201, reply
    status, reply = await scene.admin.get("/creative-submissions", params={"sort": "name"})
    assert status == 200 and reply["data"]["submissions"][0]["name"] == char * 255
