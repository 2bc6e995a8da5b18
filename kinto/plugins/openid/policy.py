"""The OpenID Connect authentication policy (plugins.md §7)."""

from __future__ import annotations

import secrets
from typing import Any

from pyramid.exceptions import ConfigurationError

from kinto.core import utils
from kinto.core.authentication import AuthenticationPolicy
from kinto.plugins.openid import provider

#: Where :meth:`OpenIDConnectPolicy.authenticate` leaves ``(policy name,
#: userinfo)`` for the hello view (``user.profile``).
PROFILE_ENVIRON_KEY = "kinto.openid.profile"


def _int_option(options: dict[str, Any], name: str, default: int) -> int:
    value = options.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"OpenID option {name!r} must be an integer: {value!r}") from e


class OpenIDConnectPolicy(AuthenticationPolicy):
    """Authenticates ``Authorization: <header_type> <access token>``.

    The token is valid when the provider's userinfo endpoint accepts it
    (and, with ``audience`` set, when it is first a JWT signed by the
    provider for that audience). The userinfo of a valid token is cached
    for ``verification_ttl_seconds`` under an HMAC of issuer, client,
    audience and token. The user id is ``<policy name>:<userinfo
    [userid_field]>``.

    The provider's discovery document is fetched when the policy is built,
    i.e. at start-up; failing to get it is a configuration error.
    """

    def __init__(self, name: str, settings: dict, options: dict[str, Any]):
        super().__init__(name, settings, options)
        issuer = options.get("issuer")
        if not issuer:
            raise ConfigurationError(f"Missing setting 'multiauth.policy.{name}.issuer'")
        self.issuer = str(issuer)
        self.client_id = str(options.get("client_id") or "")
        self.client_secret = str(options.get("client_secret") or "")
        audience = options.get("audience")
        self.audience = str(audience) if audience not in (None, "") else None
        self.header_type = str(options.get("header_type") or "Bearer")
        self.userid_field = str(options.get("userid_field") or "sub")
        self.verification_ttl = _int_option(options, "verification_ttl_seconds", 86400)
        self.state_ttl = _int_option(options, "state_ttl_seconds", 3600)
        self.state_length = _int_option(options, "state_length", 32)
        self.hmac_secret = settings.get("userid_hmac_secret") or ""

        try:
            self.configuration = provider.discover(self.issuer)
        except provider.ProviderError as e:
            raise ConfigurationError(f"OpenID provider {name!r}: {e}") from e
        endpoints = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
        if self.audience:
            endpoints += ("jwks_uri",)
        missing = [key for key in endpoints if not self.configuration.get(key)]
        if missing:
            raise ConfigurationError(
                f"OpenID provider {name!r}: discovery document lacks {', '.join(missing)}"
            )
        self.authorization_endpoint: str = self.configuration["authorization_endpoint"]
        self.token_endpoint: str = self.configuration["token_endpoint"]
        self.userinfo_endpoint: str = self.configuration["userinfo_endpoint"]
        self.verify_access_token = None
        if self.audience:
            self.verify_access_token = provider.AccessTokenVerifier(
                self.configuration["jwks_uri"],
                issuer=self.configuration.get("issuer") or self.issuer,
                audience=self.audience,
            )
        self._scheme = self.header_type.lower()

    # Authentication -------------------------------------------------------

    def access_token(self, request) -> str | None:
        """The token of an ``Authorization: <header_type> <token>`` header."""
        authorization = request.headers.get("Authorization")
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != self._scheme or not token:
            return None
        return token

    def verification_cache_key(self, token: str) -> str:
        message = f"{self.issuer}:{self.client_id}:{self.audience or ''}:{token}"
        return "openid:verify:" + utils.hmac_digest(self.hmac_secret, message)

    def userinfo(self, cache, token: str) -> dict[str, Any] | None:
        """The userinfo of a valid ``token`` (cached), else None."""
        key = self.verification_cache_key(token)
        cached = cache.get(key)
        if cached is not None:
            return cached
        if self.verify_access_token is not None and not self.verify_access_token(token):
            return None
        userinfo = provider.fetch_userinfo(self.userinfo_endpoint, token)
        if userinfo is None:
            return None
        cache.set(key, userinfo, self.verification_ttl)
        return userinfo

    def authenticate(self, request) -> str | None:
        token = self.access_token(request)
        if token is None:
            return None
        userinfo = self.userinfo(request.registry.cache, token)
        if userinfo is None:
            return None
        userid = userinfo.get(self.userid_field)
        if userid in (None, "") or isinstance(userid, dict | list):
            return None
        request.environ[PROFILE_ENVIRON_KEY] = (self.name, userinfo)
        return str(userid)

    def challenge(self, request) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", f'{self.header_type} realm="{self.realm}"')]

    # Login flow -----------------------------------------------------------

    def new_state(self) -> str:
        """A random hex string of ``state_length`` characters."""
        return secrets.token_hex((self.state_length + 1) // 2)[: self.state_length]

    def state_cache_key(self, state: str) -> str:
        return f"openid:state:{self.name}:{state}"

    def capability(self) -> dict[str, Any]:
        """This provider's entry in the ``openid`` capability."""
        return {
            "name": self.name,
            "issuer": self.issuer,
            "auth_path": f"/openid/{self.name}/login",
            "client_id": self.client_id,
            "audience": self.audience,
            "header_type": self.header_type,
            "userinfo_endpoint": self.userinfo_endpoint,
        }
