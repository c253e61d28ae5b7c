"""One-click unsubscribe tokens (RFC 8058): ``<participant id>.<signature>``, both base64url.

The token names the recipient by their participant id (pseudonymous, never the e-mail address) and
carries an HMAC-SHA256 (128 bits kept) over a versioned label and that id, so it cannot be forged
or pointed at someone else. It does not expire: an unsubscribe link must keep working in an old
e-mail. Rotating the key invalidates every link sent before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_LABEL = b"unsubscribe:v1:"
_MAC_BYTES = 16
MAX_TOKEN_CHARS = 256


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, participant_id: str) -> bytes:
    return hmac.new(key, _LABEL + participant_id.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(key: bytes, participant_id: str) -> str:
    return f"{_b64(participant_id.encode())}.{_b64(_mac(key, participant_id))}"


def read_token(key: bytes, token: str) -> str | None:
    """The participant id the token was made for, or None when it is malformed or forged."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    head, sig = token.split(".")
    try:
        participant_id = _unb64(head).decode()
        mac = _unb64(sig)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not participant_id or not hmac.compare_digest(mac, _mac(key, participant_id)):
        return None
    return participant_id
