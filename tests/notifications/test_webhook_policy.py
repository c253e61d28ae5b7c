"""Chat webhooks can only point at allowed hosts: no SSRF through a pasted URL."""

from __future__ import annotations

import pytest

from bridge_notifications.domain.webhook_policy import webhook_refusal
from bridge_notifications.settings import NotificationsSettings
from tests.service_harness import RunningService, auth

DEFAULT_HOSTS = NotificationsSettings.model_fields["chat_webhook_allowed_hosts"].default


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T000/B000/XXXX",
        "https://contoso.webhook.office.com/webhookb2/abc",
        "https://prod-12.westeurope.logic.azure.com:443/workflows/abc",
    ],
)
def test_slack_and_teams_webhooks_are_allowed_by_default(url: str) -> None:
    assert webhook_refusal(url, allowed_hosts=DEFAULT_HOSTS, require_https=True) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "https"),
        ("https://169.254.169.254/latest/meta-data/", "not in the allowed list"),
        ("https://postgres.internal:5432/", "not in the allowed list"),
        ("https://hooks.slack.com.evil.example/x", "not in the allowed list"),
        ("https://user:pw@hooks.slack.com/services/x", "credentials"),
        ("ftp://hooks.slack.com/x", "http"),
    ],
)
def test_other_hosts_and_schemes_are_refused(url: str, reason: str) -> None:
    refusal = webhook_refusal(url, allowed_hosts=DEFAULT_HOSTS, require_https=True)
    assert refusal is not None
    assert reason in refusal


async def test_saving_a_webhook_to_a_host_outside_the_list_is_a_field_error(svc: RunningService) -> None:
    r = await svc.client.put(
        "/me/preferences",
        headers=auth("participant", sub="E-ssrf-1"),
        json={"channels": ["chat"], "chat_webhook_url": "http://10.0.0.5/admin", "chat_format": "slack"},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"][0]["field"] == "chat_webhook_url"
    assert "not in the allowed list" in body["detail"]


async def test_the_channel_refuses_a_disallowed_url_even_if_one_was_stored() -> None:
    import httpx

    from bridge_notifications.adapters.chat import ChatChannel
    from bridge_notifications.adapters.errors import PermanentDeliveryError

    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"must not call {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(never)) as client:
        channel = ChatChannel(client, allowed_hosts=DEFAULT_HOSTS, require_https=True)
        with pytest.raises(PermanentDeliveryError, match="not in the allowed list"):
            await channel.send("https://10.0.0.5/hook", "slack", "s", "t", dedup_key="k")
