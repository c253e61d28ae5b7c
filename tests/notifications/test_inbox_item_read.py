"""Issue 20, item 4: one inbox item can be read on its own, `GET /me/notifications/{item_id}`: only by
its owner (another participant's item is not found), without marking it read; HR has no inbox."""

from __future__ import annotations

import uuid

import pytest

from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.support import at, form_pair, ref
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


async def test_one_inbox_item_is_read_by_its_owner_only(svc: RunningService, clock: FrozenClock) -> None:
    clock.set(at(2025, 10, 1, 9))
    me, other = ref("Mina Okafor"), ref("Jon Berg")
    await form_pair(svc, other, me, formed_at=clock.now())
    h = auth("participant", sub=me.employee_id)
    items = (await svc.client.get("/me/notifications", headers=h)).json()
    assert items
    item = items[0]

    r = await svc.client.get(f"/me/notifications/{item['id']}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == item
    assert r.json()["read_at"] is None  # reading it is not marking it read
    assert (await svc.client.get("/me/notifications/unread-count", headers=h)).json()["unread"] == len(items)

    mine_for_other = await svc.client.get(
        f"/me/notifications/{item['id']}", headers=auth("participant", sub=other.employee_id)
    )
    assert mine_for_other.status_code == 404
    assert mine_for_other.headers["content-type"] == "application/problem+json"
    assert (
        await svc.client.get(f"/me/notifications/{item['id']}", headers=auth("hr_admin"))
    ).status_code == 403
    assert (await svc.client.get(f"/me/notifications/{uuid.uuid4()}", headers=h)).status_code == 404
