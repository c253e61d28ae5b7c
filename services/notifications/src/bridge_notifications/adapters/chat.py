"""Chat over Slack- and Teams-compatible incoming webhooks (HTTP POST of a JSON payload: Slack
mrkdwn text, or a Teams message with an Adaptive Card; built in `domain/chat_messages.py`).

2xx is success; 408, 429 and 5xx (and network errors) are transient; any other 4xx is permanent
(the webhook was removed or the payload refused), so it is recorded, not retried.
"""

from __future__ import annotations

import httpx

from bridge_notifications.adapters.errors import PermanentDeliveryError, TransientDeliveryError
from bridge_notifications.domain.chat_messages import payload_for
from bridge_notifications.domain.webhook_policy import webhook_refusal


class ChatChannel:
    def __init__(
        self, client: httpx.AsyncClient, *, allowed_hosts: list[str], require_https: bool = True
    ) -> None:
        self.client = client
        self.allowed_hosts = allowed_hosts
        self.require_https = require_https

    async def send(self, url: str, fmt: str | None, subject: str, text: str, *, dedup_key: str) -> None:
        refusal = webhook_refusal(url, allowed_hosts=self.allowed_hosts, require_https=self.require_https)
        if refusal is not None:
            raise PermanentDeliveryError(refusal)
        try:
            response = await self.client.post(
                url, json=payload_for(fmt, subject, text), headers={"X-Bridge-Dedup-Key": dedup_key}
            )
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        code = response.status_code
        if 200 <= code < 300:
            return
        detail = f"webhook HTTP {code}: {response.text[:200]}"
        if code in (408, 425, 429) or code >= 500:
            raise TransientDeliveryError(detail)
        raise PermanentDeliveryError(detail)
