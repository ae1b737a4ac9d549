"""ReadPacer: while writes arrive, at most `per_turn` reads start per turn of the event loop, in
arrival order; without writes, reads never wait."""

from __future__ import annotations

import asyncio

import pytest

from catalyst_api.pacing import ReadPacer


async def turns_taken(pacer: ReadPacer, reads: int) -> list[int]:
    """Start `reads` reads in one turn of the loop; the turn (counted from 0) in which each was let
    through, in arrival order."""
    turn = 0
    admitted: list[tuple[int, int]] = []

    async def read(i: int) -> None:
        await pacer.admit()
        admitted.append((i, turn))

    async def count_turns() -> None:
        nonlocal turn
        while len(admitted) < reads:
            await asyncio.sleep(0)
            turn += 1

    counter = asyncio.create_task(count_turns())
    await asyncio.gather(*(read(i) for i in range(reads)))
    await counter
    assert [i for i, _ in admitted] == list(range(reads))  # first come, first served
    return [t for _, t in admitted]


async def test_while_writes_arrive_reads_start_a_few_per_turn_in_arrival_order() -> None:
    pacer = ReadPacer(per_turn=2)
    loop = asyncio.get_running_loop()
    pacer.wrote(loop.time())
    assert pacer.pacing(loop.time())
    turns = await turns_taken(pacer, 7)
    # Two at once, then two per later turn: never more than two reads start in one turn.
    assert turns[:2] == [turns[0]] * 2
    per_turn = {t: turns.count(t) for t in turns}
    assert max(per_turn.values()) == 2, turns
    assert turns == sorted(turns)
    assert len(per_turn) == 4


async def test_without_writes_reads_are_not_paced() -> None:
    pacer = ReadPacer(per_turn=1)
    now = asyncio.get_running_loop().time()
    assert not pacer.pacing(now)
    pacer.wrote(now - 10)
    assert not pacer.pacing(now)  # the last write is long past


async def test_a_read_whose_client_left_gives_its_place_to_the_next() -> None:
    pacer = ReadPacer(per_turn=1)
    pacer.wrote(asyncio.get_running_loop().time())
    first, gone, waiting = (asyncio.create_task(pacer.admit()) for _ in range(3))
    await asyncio.sleep(0)  # all three arrived in one turn: the first runs, the others wait
    assert first.done() and not gone.done() and not waiting.done()
    gone.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert waiting.done()  # the next turn's one place went to the read still there
    with pytest.raises(asyncio.CancelledError):
        await gone


def test_per_turn_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ReadPacer(per_turn=0)
