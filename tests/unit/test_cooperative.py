"""Large answers are built on the event loop a slice at a time (catalyst_core.cooperative): the
result is the plain map, and other coroutines run while it is being built."""

from __future__ import annotations

import asyncio
import time

import orjson
from hypothesis import given
from hypothesis import strategies as st

from catalyst_api.wire import dumps, encoded_list
from catalyst_core.cooperative import SLICE_SECONDS, map_sliced


@given(st.lists(st.integers()))
async def test_map_sliced_is_the_plain_map(items: list[int]) -> None:
    assert await map_sliced(lambda n: n * 3 - 1, items) == [n * 3 - 1 for n in items]
    assert await map_sliced(str, iter(items)) == list(map(str, items))  # any iterable


async def _turns_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How many times another coroutine got the loop while `work` ran."""
    turns = 0
    while not work.done():
        turns += 1
        await asyncio.sleep(0)
    await work
    return turns


async def test_other_coroutines_run_between_slices() -> None:
    # Each item holds the loop for a tenth of a slice: 300 items are 30 slices of work.
    def slow(n: int) -> int:
        until = time.perf_counter() + SLICE_SECONDS / 10
        while time.perf_counter() < until:
            pass
        return n

    work = asyncio.ensure_future(map_sliced(slow, range(300)))
    assert await _turns_while(work) >= 10
    assert work.result() == list(range(300))


async def test_a_short_map_does_not_yield() -> None:
    work = asyncio.ensure_future(map_sliced(lambda n: n, range(10)))
    assert await _turns_while(work) <= 1  # the one turn that starts it


@given(st.lists(st.dictionaries(st.text(), st.one_of(st.integers(-2**63, 2**64 - 1), st.text(),
                                                      st.none(), st.booleans()))))
async def test_encoded_list_is_the_list_encoded_at_once(items: list[dict[str, object]]) -> None:
    fragment = await encoded_list(lambda item: {"line": item}, items)
    whole = dumps({"data": [{"line": item} for item in items]})
    assert dumps({"data": fragment}) == whole
    assert orjson.loads(whole) == {"data": [{"line": item} for item in items]}
