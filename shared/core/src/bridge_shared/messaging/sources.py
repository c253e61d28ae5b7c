"""Who may publish on a topic: the service that owns it, named in every event's CloudEvents `source`.

A topic `bridge.<service>.<aggregate>` belongs to `<service>`, and that service's outbox stamps every
event with `source = /bridge/<service_name>`. A consumer accepts an event on a Bridge service's topic
only when its source is that owner (`/bridge/matching` on `bridge.matching.pair`); anything else is
dead-lettered as `UnexpectedSource` before any handler sees it (docs/security-kafka.md).

A service instance may carry a suffix in its name (`matching_eu`, or `matching_1a2b3c4d` in a test
run); its source `/bridge/matching_eu` still names the owner `matching`. The check is about which
service an event claims to come from; that claim is trusted because the broker's ACLs let only the
owner's principal write the topic.

Owners are the producing services of the contract topics (`bridge_shared.events.topics`); a topic of
another owner (a test's own `bridge.test.*`) is not checked.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bridge_shared.events.topics import ALL_EVENT_TOPICS

# The services that own contract topics: matching, sessions, notifications.
TOPIC_OWNERS = frozenset(t.split(".")[1] for t in ALL_EVENT_TOPICS)


def service_source(service: str) -> str:
    """The CloudEvents source a service's outbox puts on its events."""
    return f"/bridge/{service}"


def topic_owner(topic: str, prefix: str = "") -> str | None:
    """The Bridge service that owns `topic` (as named on the cluster, with `prefix`), or None."""
    name = topic[len(prefix) :] if prefix and topic.startswith(prefix) else topic
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "bridge" or parts[1] not in TOPIC_OWNERS:
        return None
    return parts[1]


def owner_source(topic: str, prefix: str = "") -> str:
    """The source an event on `topic` must carry (for tests and tools that publish as the owner)."""
    owner = topic_owner(topic, prefix)
    if owner is None:
        raise ValueError(f"{topic!r} is not a topic of a Bridge service")
    return service_source(owner)


@lru_cache(maxsize=1024)
def unexpected_source(topic: str, source: str, prefix: str = "") -> str | None:
    """Why an event with `source` may not be on `topic`, or None when it may (or the topic is not
    a Bridge service's). Cached: every record is asked about, and a cluster has few (topic, source)
    pairs (the cache is bounded, so odd sources cannot grow it)."""
    owner = topic_owner(topic, prefix)
    if owner is None:
        return None
    if re.fullmatch(rf"/bridge/{re.escape(owner)}(_[a-z0-9_-]+)?", source):
        return None
    return (
        f"source {source!r} may not publish on {topic}: the topic belongs to {owner}, "
        f"whose events carry source {service_source(owner)!r}"
    )
