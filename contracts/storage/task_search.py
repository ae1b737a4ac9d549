"""The storage contract for task text search: one answer on every storage, for any Unicode text.

A task matches when the casefolded query (Unicode's full case folding, `str.casefold`) occurs in
its casefolded name or description, code point by code point: no wildcards, no locale, no
normalisation (a precomposed "é" and "e" + U+0301 are different text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import evolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_contracts.storage.helpers import ALL, put, read
from catalyst_contracts.strategies import UNICODE, make_client, make_membership, make_task, make_user
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import Task, TaskQuery

EXAMPLES = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Where case rules disagree (SQLite's lower() is ASCII only, PostgreSQL's follows its locale, and
# lower() is not casefold(): "ß", "ẞ", "ς", long s, the micro sign, ligatures, Greek iota subscript),
# letters they fold to, combining marks, and LIKE's metacharacters. Most drawn characters are
# these, so that examples meet them; the rest come from all of Unicode.
TRICKY = ("É", "é", "E", "e", "\u0301", "ß", "ẞ", "S", "s", "ss", "İ", "I", "\u0131", "i", "\u0307",
          "ς", "\u03c3", "Σ", "\u017f", "\u00b5", "\u03bc", "ﬃ", "ffi", "\u1fb3", "\u2126", "\u03a9",
          "\u212a", "k", "ǅ", "👍", "🏽", "%", "_", "/", "\\", "[", " ")
_CHARS = st.one_of(st.sampled_from(TRICKY), st.sampled_from(TRICKY), st.sampled_from(TRICKY),
                   UNICODE)
_NAMES = st.lists(_CHARS, min_size=1, max_size=12).map("".join)
_DESCRIPTIONS = st.one_of(st.none(), st.lists(_CHARS, max_size=16).map("".join))
_SHORT = st.lists(_CHARS, min_size=1, max_size=3).map("".join)
_CASES = (str, str.upper, str.lower, str.casefold, str.swapcase, str.title)


@st.composite
def _pieces(draw: Any, texts: Sequence[str]) -> str:
    """A piece of some stored text in another case, so that matches are common."""
    text = draw(st.sampled_from(texts))
    start = draw(st.integers(0, len(text) - 1))
    piece = text[start:start + draw(st.integers(1, len(text) - start))]
    return draw(st.sampled_from(_CASES))(piece)


def searched(tasks: Sequence[Task], text: str) -> set[Any]:
    """The model: the ids of the tasks whose casefolded name or description holds the casefolded text."""
    needle = text.casefold()
    return {t.id for t in tasks
            if needle in t.name.casefold() or needle in (t.description or "").casefold()}


async def found(storage: Any, query: TaskQuery, page: PageRequest = ALL) -> set[Any]:
    got = await read(storage, lambda tx: tx.tasks.list(query, page, SortSpec()))
    assert got.total_items == len(got.items), query
    return {t.id for t in got.items}


class TaskSearchContract:
    """TaskQuery.text on every storage. Needs an async fixture `storage`."""

    async def test_search_folds_case_as_unicode_does(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        specs = {
            "precomposed": ("Café Été", None), "combining": ("Cafe\u0301", "e\u0301te\u0301"),
            "sharp s": ("Straße", "GROSSE Pläne"), "capital sharp s": ("STRAẞE", None),
            "dotted I": ("İstanbul", None), "dotless i": ("\u0131slak", None),
            "final sigma": ("ΟΔΟΣ", "οδός"), "ligature": ("oﬃce", ""), "emoji": ("👍🏽 ship it", None),
            "percent": ("100% done", "50%"), "underscore": ("snake_case", None),
            "slash": ("a/b path", None), "backslash": ("back\\slash", "C:\\tmp"),
        }
        tasks = {key: make_task(client, user, name=name, description=description)
                 for key, (name, description) in specs.items()}
        await put(storage, user, client, *tasks.values())
        cases = {
            "É": {"precomposed"}, "é": {"precomposed"}, "CAFÉ": {"precomposed"},
            "e\u0301": {"combining"}, "CAFE": {"combining"},
            "ss": {"sharp s", "capital sharp s"}, "ß": {"sharp s", "capital sharp s"},
            "ẞ": {"sharp s", "capital sharp s"}, "STRASSE": {"sharp s", "capital sharp s"},
            "große": {"sharp s"},
            "İ": {"dotted I"}, "i\u0307stanbul": {"dotted I"}, "istanbul": set(), "ISLAK": set(),
            "\u0131": {"dotless i"},
            "\u03c3": {"final sigma"}, "Σ": {"final sigma"}, "ς": {"final sigma"}, "ΟΔΌΣ": {"final sigma"},
            "FFI": {"ligature"}, "OFFICE": {"ligature"},
            "👍": {"emoji"}, "🏽": {"emoji"},
            "%": {"percent"}, "0%": {"percent"}, "_": {"underscore"}, "e_c": {"underscore"},
            "/": {"slash"}, "a/b": {"slash"}, "\\": {"backslash"}, "k\\s": {"backslash"},
            "C:\\TMP": {"backslash"}, "a%b": set(), "s_a": set(),
        }
        for text, keys in cases.items():
            expected = {tasks[k].id for k in keys}
            assert searched(list(tasks.values()), text) == expected, text  # the model agrees
            assert await found(storage, TaskQuery(client_id=client.id, text=text)) == expected, text

    async def test_search_follows_every_write(self, storage: Any) -> None:
        """The searched forms are written by add, add_many and save (and cleared with the text)."""
        user, client = make_user(), make_client()
        await put(storage, user, client)
        one = make_task(client, user, name="plain", description="ÜBER")
        many = [make_task(client, user, name=f"bulk {n}", description="Maße") for n in range(3)]
        async with storage.transaction() as tx:
            await tx.tasks.add(one)
            await tx.tasks.add_many(many)
        by_client = TaskQuery(client_id=client.id)
        assert await found(storage, evolve(by_client, text="über")) == {one.id}
        assert await found(storage, evolve(by_client, text="MASSE")) == {t.id for t in many}
        async with storage.transaction() as tx:
            await tx.tasks.save(evolve(one, name="Straße", description=None))
            await tx.tasks.save(evolve(many[0], description="ΣΟΦΊΑ"))
        assert await found(storage, evolve(by_client, text="über")) == set()
        assert await found(storage, evolve(by_client, text="STRASSE")) == {one.id}
        assert await found(storage, evolve(by_client, text="σοφία")) == {many[0].id}
        assert await found(storage, evolve(by_client, text="masse")) == {t.id for t in many[1:]}

    @EXAMPLES
    @given(names=st.lists(_NAMES, min_size=1, max_size=8),
           descriptions=st.lists(_DESCRIPTIONS, min_size=8, max_size=8), data=st.data())
    async def test_search_agrees_with_casefold_for_any_unicode(
            self, storage: Any, names: list[str], descriptions: list[str | None], data: Any) -> None:
        user, client, other = make_user(), make_client(), make_client()
        tasks = [make_task(client, user, name=name, description=description)
                 for name, description in zip(names, descriptions, strict=False)]
        # A task of another client holding every text: a search never reaches past the client.
        decoy = make_task(other, user, name="".join(names)[:80], description="".join(
            d or "" for d in descriptions))
        await put(storage, user, client, other, make_membership(client, user), decoy)
        async with storage.transaction() as tx:
            await tx.tasks.add_many(tasks)
        texts = [*names, *(d for d in descriptions if d)]
        queries = data.draw(st.lists(st.one_of(_pieces(texts), _SHORT), min_size=1, max_size=6))
        for text in queries:
            expected = searched(tasks, text)
            assert await found(storage, TaskQuery(client_id=client.id, text=text)) == expected, text
            # The other path of the list: the caller's clients, through their memberships.
            assert await found(storage, TaskQuery(visible_to=user.id, text=text)) == expected, text
