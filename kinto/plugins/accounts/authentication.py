"""The ``account`` authentication policy: HTTP Basic credentials checked
against the bcrypt hash stored in the account (plugins.md §1).

Every request with Basic credentials takes the same path whether the
username exists or not: when there is no account (or no usable hash), the
password is checked against :func:`~.hashing.dummy_hash`, of the same cost
as real hashes, and the answer is thrown away.

A successful check is remembered in the cache for
``account_cache_ttl_seconds`` (TTL refreshed on each hit), under
:func:`verified_cache_key`, with an HMAC of the password as value: neither
the username nor the password is stored in clear. The entry is dropped
whenever the account changes (:func:`forget_verified`).
"""

from __future__ import annotations

import hmac
from typing import Any

from kinto.core import utils
from kinto.core.authentication import AuthenticationPolicy, parse_basic_credentials
from kinto.core.storage import ObjectNotFoundError
from kinto.plugins.accounts import hashing

#: Storage resource name of accounts.
ACCOUNT_RESOURCE = "account"
#: Prefix of account user ids, whatever the policy is called in settings.
ACCOUNT_PREFIX = "account"
DEFAULT_CACHE_TTL = 30


def verified_cache_key(secret: str, username: str) -> str:
    """Cache key of the verified credentials of ``username``."""
    return utils.hmac_digest(secret, f"accounts:{username}:verified")


def forget_verified(registry, username: str) -> None:
    """Drop the verified credentials of ``username`` from the cache."""
    secret = registry.settings.get("userid_hmac_secret") or ""
    registry.cache.delete(verified_cache_key(secret, username))


def get_account(storage, username: str) -> dict | None:
    """The account ``username`` (stored with the username as parent id)."""
    try:
        return storage.get(ACCOUNT_RESOURCE, username, username)
    except ObjectNotFoundError:
        return None


class AccountsPolicy(AuthenticationPolicy):
    """Basic auth against accounts; user ids are ``account:<username>``.

    Options (``multiauth.policy.<name>.*``): ``realm`` of the Basic
    challenge. Settings: ``userid_hmac_secret`` (cache keys and values),
    ``account_cache_ttl_seconds``.
    """

    prefix = ACCOUNT_PREFIX

    def __init__(self, name: str, settings: dict, options: dict[str, Any]):
        super().__init__(name, settings, options)
        self.secret = settings.get("userid_hmac_secret") or ""
        ttl = settings.get("account_cache_ttl_seconds")
        self.cache_ttl = int(ttl) if ttl not in (None, "") else DEFAULT_CACHE_TTL
        # Pay for the dummy hash at start-up, not on the first unknown user.
        hashing.dummy_hash()

    def authenticate(self, request) -> str | None:
        """The username if the Basic credentials match its account."""
        credentials = parse_basic_credentials(request)
        if credentials is None:
            return None
        username, password = credentials
        registry = request.registry
        cache = registry.cache
        cache_key = verified_cache_key(self.secret, username)
        fingerprint = utils.hmac_digest(self.secret, password)

        remembered = cache.get(cache_key)
        if isinstance(remembered, str) and hmac.compare_digest(remembered, fingerprint):
            cache.expire(cache_key, self.cache_ttl)
            return username

        account = get_account(registry.storage, username)
        hashed = account.get("password") if account is not None else None
        if not isinstance(hashed, str):
            # Same work as for a real account: no answer is faster.
            hashing.check_password(password, hashing.dummy_hash())
            return None
        if not hashing.check_password(password, hashed):
            return None
        cache.set(cache_key, fingerprint, self.cache_ttl)
        return username

    def challenge(self, request) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", f'Basic realm="{self.realm}"')]
