"""Which chat webhook URLs the service may call.

Participants and HR paste webhook URLs into their preferences; without a host allowlist the
notifications service could be made to POST to internal addresses (SSRF). The allowlist is checked
when a URL is saved and again before every send.
"""

from __future__ import annotations

from fnmatch import fnmatch
from urllib.parse import urlsplit


def webhook_refusal(url: str, *, allowed_hosts: list[str], require_https: bool) -> str | None:
    """None when the URL may be called; otherwise the reason it may not."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http"):
        return "webhook URLs must be http(s)"
    if require_https and parts.scheme != "https":
        return "webhook URLs must use https"
    if parts.username or parts.password:
        return "webhook URLs must not carry credentials"
    if not host or not any(fnmatch(host, pattern.lower()) for pattern in allowed_hosts):
        return f"webhook host {host or '(none)'!r} is not in the allowed list ({', '.join(allowed_hosts)})"
    return None
