"""Talking to an OpenID Connect provider: discovery, userinfo, code
exchange and JWT access-token verification.

Every call is bounded by :data:`HTTP_TIMEOUT`; an unreachable provider
raises :class:`ProviderError`.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt

from kinto.core import jsonutil

logger = logging.getLogger(__name__)

#: Seconds allowed for one call to the provider.
HTTP_TIMEOUT = 10
#: JWT signature algorithms accepted for access tokens: asymmetric only, so
#: that a token can never be "signed" with a public key or with ``none``.
ALLOWED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense."""


def http_call(
    url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """GET ``url`` (POST the urlencoded ``form`` when given); return the
    status and body, also for error statuses."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ProviderError(f"Refusing to call a non-HTTP URL: {url!r}")
    data = urlencode(form).encode("ascii") if form is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ProviderError(f"{url}: {e}") from e


def json_object(body: bytes) -> dict[str, Any] | None:
    """``body`` parsed as a JSON object, else None."""
    try:
        value = jsonutil.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def discover(issuer: str) -> dict[str, Any]:
    """Fetch the provider's discovery document."""
    url = issuer.rstrip("/") + DISCOVERY_PATH
    status, body = http_call(url)
    document = json_object(body) if status == 200 else None
    if document is None:
        raise ProviderError(f"{url}: no discovery document (HTTP {status})")
    return document


def fetch_userinfo(endpoint: str, token: str) -> dict[str, Any] | None:
    """The userinfo of the bearer of ``token``, or None if the provider
    rejects the token (or is unreachable: the caller stays anonymous)."""
    try:
        status, body = http_call(endpoint, headers={"Authorization": f"Bearer {token}"})
    except ProviderError as e:
        logger.warning("OpenID userinfo request failed: %s", e)
        return None
    if status != 200:
        return None
    return json_object(body)


def exchange_code(endpoint: str, form: dict[str, str]) -> tuple[int, bytes]:
    """POST the authorization-code grant ``form`` to the token endpoint."""
    return http_call(endpoint, form=form, headers={"Accept": "application/json"})


class AccessTokenVerifier:
    """Checks that an access token is a JWT signed by one of the provider's
    keys (JWKS, fetched and cached by PyJWT), for ``audience``, issued by
    ``issuer``, and not expired."""

    def __init__(self, jwks_uri: str, issuer: str, audience: str):
        self.keys = jwt.PyJWKClient(jwks_uri, timeout=HTTP_TIMEOUT)
        self.issuer = issuer
        self.audience = audience

    def __call__(self, token: str) -> bool:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm not in ALLOWED_ALGORITHMS:
                return False
            key = self.keys.get_signing_key_from_jwt(token)
            jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
            )
        except jwt.PyJWTError as e:
            logger.debug("OpenID access token rejected: %s", e)
            return False
        return True
