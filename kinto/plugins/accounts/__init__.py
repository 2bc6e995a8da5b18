"""The accounts plugin (``kinto.plugins.accounts``, plugins.md §1).

User accounts stored in Kinto itself, with bcrypt-hashed passwords:

* :mod:`.views`: the ``/accounts`` resource;
* :mod:`.authentication`: :class:`AccountsPolicy`, the ``account``
  authentication policy (``multiauth.policy.<name>.use =
  kinto.plugins.accounts.AccountsPolicy``);
* :mod:`.hashing`: password hashing;
* :mod:`.scripts`: ``kinto create-user``.

Settings: ``account_create_principals`` (who may create accounts, e.g.
``system.Everyone`` for self sign-up), ``account_write_principals``
(administrators: every account), ``account_read_principals``,
``account_cache_ttl_seconds``.
"""

from __future__ import annotations

import logging

from pyramid.exceptions import ConfigurationError
from pyramid.settings import aslist

from kinto.core.authentication import EVERYONE, BasicAuthAuthenticationPolicy
from kinto.plugins.accounts.authentication import AccountsPolicy

__all__ = ["AccountsPolicy", "includeme"]

logger = logging.getLogger(__name__)

#: Permission inheritance of accounts: no parent, object ACEs only.
#: Creation is granted by ``account_create_principals`` alone.
INHERITANCE = {
    "read": {"account": ["write", "read"]},
    "write": {"account": ["write"]},
}
EXPANSIONS = {"write": ["read"]}


def _position(policies: list, policy_class: type) -> int | None:
    return next((i for i, policy in enumerate(policies) if isinstance(policy, policy_class)), None)


def _configured_but_unlisted(config) -> list[str]:
    """Names of ``multiauth.policy.<name>.use`` settings naming an
    :class:`AccountsPolicy` (listed in ``multiauth.policies`` or not)."""
    names = []
    for key, value in config.get_settings().items():
        if not (key.startswith("multiauth.policy.") and key.endswith(".use")):
            continue
        try:
            policy_class = config.maybe_dotted(value)
        except ImportError:
            continue
        if isinstance(policy_class, type) and issubclass(policy_class, AccountsPolicy):
            names.append(key[len("multiauth.policy.") : -len(".use")])
    return names


def check_configuration(config) -> None:
    """Raise :class:`ConfigurationError` when no policy uses
    :class:`AccountsPolicy`, when a Basic Auth policy is tried before it,
    or when a principal of ``account_create_principals`` (other than
    ``system.Everyone``) is not in ``account_write_principals``."""
    registry = config.registry
    settings = registry.settings
    policies = registry.authentication_policies
    accounts_at = _position(policies, AccountsPolicy)
    if accounts_at is None:
        unlisted = _configured_but_unlisted(config)
        if not unlisted:
            raise ConfigurationError(
                "'kinto.plugins.accounts' is included, but no policy of 'multiauth.policies' "
                "uses 'kinto.plugins.accounts.AccountsPolicy'."
            )
        logger.warning(
            "Policy %r is not listed in 'multiauth.policies': accounts cannot log in.",
            unlisted[0],
        )
    else:
        basicauth_at = _position(policies, BasicAuthAuthenticationPolicy)
        if basicauth_at is not None and basicauth_at < accounts_at:
            raise ConfigurationError(
                f"'{policies[basicauth_at].name}' should not be mentioned before "
                f"'{policies[accounts_at].name}' in 'multiauth.policies' setting."
            )

    creators = set(aslist(settings.get("account_create_principals") or ""))
    administrators = set(aslist(settings.get("account_write_principals") or ""))
    stray = sorted(creators - administrators - {EVERYONE})
    if stray:
        raise ConfigurationError(
            "Principals of 'account_create_principals' that are not in "
            "'account_write_principals' could only create their own account. "
            f"Add them to 'account_write_principals' or remove them: {', '.join(stray)}"
        )


def includeme(config) -> None:
    """Check the configuration, register the ``account`` resource type with
    the authorizer, the ``accounts`` capability and the views."""
    check_configuration(config)
    config.registry.authorizer.register("accounts", "account", INHERITANCE, EXPANSIONS)
    config.add_api_capability(
        "accounts",
        description="Manage user accounts.",
        url="https://kinto.readthedocs.io/en/latest/api/1.x/accounts.html",
        validation_enabled=False,
    )
    config.include("kinto.plugins.accounts.views")
