"""The session, kept in the browser: an encrypted and authenticated cookie (AES-256-GCM).

The key is derived from `session_secret` with HKDF-SHA256; the cookie's name is bound in as
associated data, so a value cannot be moved to another cookie. The JSON is compressed before it is
encrypted; a session larger than one cookie (identity providers' access tokens can be large) is
split over numbered cookies `<name>`, `<name>_1`, ... The app has no database: this is the whole
session (who is signed in, their access token, the CSRF token, the chosen language, flash messages,
a sign-in in progress).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zlib
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHUNK_BYTES = 3800
MAX_CHUNKS = 5
_NONCE_BYTES = 12


class SessionTooLarge(Exception):
    """The session does not fit in the cookies a browser keeps for it."""


class SessionCodec:
    def __init__(self, secret: str, cookie_name: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"bridge-web", info=b"session cookie v1"
        ).derive(secret.encode())
        self._aead = AESGCM(key)
        self._aad = cookie_name.encode()
        self.cookie_name = cookie_name

    def encode(self, data: dict[str, Any]) -> str:
        plain = zlib.compress(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, self._aad)
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def decode(self, value: str) -> dict[str, Any] | None:
        """The session in `value`, or None when it is missing, altered, or made with another key."""
        if not value:
            return None
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self._aad)
            data = json.loads(zlib.decompress(plain))
        except (InvalidTag, ValueError, binascii.Error, zlib.error):
            return None
        return data if isinstance(data, dict) else None

    def chunk_names(self) -> list[str]:
        return [self.cookie_name, *(f"{self.cookie_name}_{i}" for i in range(1, MAX_CHUNKS))]

    def split(self, value: str) -> list[str]:
        chunks = [value[i : i + CHUNK_BYTES] for i in range(0, len(value), CHUNK_BYTES)] or [""]
        if len(chunks) > MAX_CHUNKS:
            raise SessionTooLarge(f"the session needs {len(chunks)} cookies; at most {MAX_CHUNKS}")
        return chunks

    def join(self, cookies: dict[str, str]) -> str:
        parts: list[str] = []
        for name in self.chunk_names():
            part = cookies.get(name)
            if part is None:
                break
            parts.append(part)
        return "".join(parts)
