"""The identity provider's signing keys (JWKS), fetched over HTTPS, cached and refreshed.

* Keys are fetched on first use, then again when the cached set is older than `refresh_seconds`
  (a key the IdP removed stops validating at that refresh) and when a token names a key id the
  cache does not hold (a key the IdP added is picked up).
* At most one fetch is attempted per `min_refetch_seconds`, whatever the reason, and concurrent
  requests share one fetch: a flood of tokens with made-up key ids cannot hammer the IdP.
* Without `jwks_url`, the URL is discovered from `<issuer>/.well-known/openid-configuration`
  (whose `issuer` must be the configured one).
* The IdP unreachable: the last set fetched stays in use; with no set at all, `JwksUnavailable`
  (the services answer 503, and tokens they verify themselves are unaffected).
* Only public signature keys are kept: RSA, EC and OKP keys, never symmetric (`oct`) ones, and
  none whose `use` is not `sig`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

log = logging.getLogger(__name__)

ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
MAX_JWKS_BYTES = 512 * 1024


class JwksUnavailable(Exception):
    """The identity provider's keys could not be fetched and none are cached."""


class UnknownKey(Exception):
    """The token names a key the identity provider does not publish (after a refetch, if allowed)."""


class JwksCache:
    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str | None = None,
        refresh_seconds: float = 600.0,
        min_refetch_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._jwks_url = jwks_url
        self._discovered_url: str | None = None
        self._refresh_seconds = refresh_seconds
        self._min_refetch_seconds = min_refetch_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._keys: dict[str | None, dict[str, Any]] | None = None
        self._parsed: dict[tuple[str | None, str], PyJWK] = {}
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._attempts = 0
        self._lock = asyncio.Lock()
        self.fetches = 0
        """How many fetches of the key set were attempted (for tests and diagnostics)."""

    @property
    def key_ids(self) -> frozenset[str | None]:
        return frozenset(self._keys or {})

    async def key(self, kid: str | None, algorithm: str) -> PyJWK:
        """The public key `kid` for `algorithm`. Raises UnknownKey or JwksUnavailable."""
        if self._keys is None or self._clock() - self._fetched_at >= self._refresh_seconds:
            await self._refresh()
        if self._keys is None:
            raise JwksUnavailable(f"the identity provider's keys ({self.issuer}) could not be fetched")
        jwk = self._lookup(kid)
        if jwk is None:
            await self._refresh()
            jwk = self._lookup(kid)
        if jwk is None:
            raise UnknownKey(f"the identity provider publishes no key {kid!r}")
        return self._parse(kid, jwk, algorithm)

    def _lookup(self, kid: str | None) -> dict[str, Any] | None:
        keys = self._keys or {}
        if kid is None and len(keys) == 1:
            # A token without `kid` is accepted only when the IdP publishes a single key.
            return next(iter(keys.values()))
        return keys.get(kid) if kid is not None else None

    def _parse(self, kid: str | None, jwk: dict[str, Any], algorithm: str) -> PyJWK:
        cached = self._parsed.get((kid, algorithm))
        if cached is not None:
            return cached
        try:
            # The key's own `alg` wins (PyJWT then refuses a token whose header names another);
            # a key without one is used for the token's algorithm if its type fits.
            key = PyJWK(jwk, algorithm=jwk.get("alg") or algorithm)
        except PyJWKError as exc:
            raise UnknownKey(f"the identity provider's key {kid!r} cannot verify {algorithm}") from exc
        self._parsed[(kid, algorithm)] = key
        return key

    async def _refresh(self) -> None:
        attempts_seen = self._attempts
        async with self._lock:
            if self._attempts != attempts_seen:
                return  # another request fetched while this one waited: use its result
            if self._clock() - self._attempted_at < self._min_refetch_seconds:
                return
            self._attempted_at = self._clock()
            self._attempts += 1
            self.fetches += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning(
                    "could not fetch the identity provider's keys (%s): %s",
                    self.issuer,
                    exc,
                    extra={"cached_keys": len(self._keys or {})},
                )
                return
            if self._keys is not None and set(keys) != set(self._keys):
                log.info(
                    "identity provider keys changed",
                    extra={
                        "added": sorted(map(str, set(keys) - set(self._keys))),
                        "removed": sorted(map(str, set(self._keys) - set(keys))),
                    },
                )
            self._keys = keys
            self._parsed = {}
            self._fetched_at = self._clock()

    async def _fetch(self) -> dict[str | None, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            url = self._jwks_url or self._discovered_url or await self._discover(client)
            document = await _get_json(client, url)
        raw = document.get("keys")
        if not isinstance(raw, list):
            raise ValueError(f"{url} is not a JWK set (no keys list)")
        keys: dict[str | None, dict[str, Any]] = {}
        for jwk in raw:
            if not isinstance(jwk, dict) or jwk.get("kty") not in ASYMMETRIC_KEY_TYPES:
                continue
            if jwk.get("use", "sig") != "sig" or any(k in jwk for k in ("d", "p", "q", "k")):
                continue  # encryption keys, and anything carrying private or symmetric material
            kid = jwk.get("kid")
            if kid is not None and not isinstance(kid, str):
                continue
            keys[kid] = jwk
        if not keys:
            raise ValueError(f"{url} publishes no public signature key")
        return keys

    async def _discover(self, client: httpx.AsyncClient) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        config = await _get_json(client, url)
        if config.get("issuer") != self.issuer:
            raise ValueError(f"{url} names issuer {config.get('issuer')!r}, not {self.issuer!r}")
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ValueError(f"{url} has no jwks_uri")
        self._discovered_url = jwks_uri
        return jwks_uri


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    if len(response.content) > MAX_JWKS_BYTES:
        raise ValueError(f"{url} answered more than {MAX_JWKS_BYTES} bytes")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document
