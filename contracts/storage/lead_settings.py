"""The storage contract for lead scoring settings (LeadRepo.settings and save_settings): none until
saved, inserted then replaced exactly (doubles to the bit, lists as tuples, times in UTC), and
naming a stored client and user."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalyst_contracts.storage.alerts import EXAMPLES, assert_utc, instants
from catalyst_contracts.storage.helpers import put, read
from catalyst_contracts.storage.leads import scores
from catalyst_contracts.strategies import at, make_client, make_user, new_id, unicode_texts
from catalyst_core.errors import NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.leads.model import IdealCustomer, ScoringSettings, Thresholds, Weights


def settings_bits(s: ScoringSettings) -> list[str]:
    w, t = s.weights, s.thresholds
    return [float.hex(float(x)) for x in (w.engagement, w.demographic, w.behavioral, t.hot, t.warm)]


def scoring_settings(client_id: ClientId, user_id: UserId) -> st.SearchStrategy[ScoringSettings]:
    words = st.lists(unicode_texts(1, 40), max_size=5).map(tuple)
    return st.builds(
        ScoringSettings, client_id=st.just(client_id),
        weights=st.builds(Weights, scores() | st.floats(0, 1000), scores(), scores()),
        ideal_customer=st.builds(IdealCustomer, words, st.integers(0, 10**7), st.integers(0, 10**7),
                                 words, words),
        thresholds=st.builds(Thresholds, scores(), scores()),
        updated_at=st.none() | instants(), updated_by=st.sampled_from([None, user_id]))


class LeadSettingsContract:
    """Lead scoring settings (LeadRepo). Needs an async fixture `storage`."""

    async def test_lead_settings_are_none_until_saved(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        assert await read(storage, lambda tx: tx.leads.settings(client.id)) is None
        assert await read(storage, lambda tx: tx.leads.settings(ClientId(new_id()))) is None

    @EXAMPLES
    @given(data=st.data())
    async def test_lead_settings_are_inserted_then_replaced_exactly(self, storage: Any, data: Any) -> None:
        user, client, other = make_user(), make_client(), make_client()
        await put(storage, user, client, other)
        kept = ScoringSettings(other.id, updated_at=at(5), updated_by=user.id)
        async with storage.transaction() as tx:
            await tx.leads.save_settings(kept)
        for _ in range(2):  # the first save inserts, the second replaces
            settings = data.draw(scoring_settings(client.id, user.id))
            async with storage.transaction() as tx:
                await tx.leads.save_settings(settings)
                assert await tx.leads.settings(client.id) == settings  # the writer's connection
            got = await read(storage, lambda tx: tx.leads.settings(client.id))
            assert got == settings
            assert settings_bits(got) == settings_bits(settings)
            assert type(got.ideal_customer.industries) is tuple
            assert_utc(got.updated_at)
        assert await read(storage, lambda tx: tx.leads.settings(other.id)) == kept

    async def test_lead_settings_name_a_stored_client_and_user(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        for bad in (ScoringSettings(ClientId(new_id())),
                    ScoringSettings(client.id, updated_at=at(1), updated_by=UserId(new_id()))):
            with pytest.raises(NotFound):
                async with storage.transaction() as tx:
                    await tx.leads.save_settings(bad)
        assert await read(storage, lambda tx: tx.leads.settings(client.id)) is None
