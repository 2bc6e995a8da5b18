"""OpenID Connect (plugins.md §7): the authentication policy
:class:`OpenIDConnectPolicy` and, when this plugin is included, the login
endpoints, the ``openid`` capability, ``user.profile`` in hello and the
providers in the OpenAPI security definitions.

::

    multiauth.policies = google
    multiauth.policy.google.use = kinto.plugins.openid.OpenIDConnectPolicy
    multiauth.policy.google.issuer = https://accounts.google.com
    multiauth.policy.google.client_id = ...
    multiauth.policy.google.client_secret = ...
    kinto.includes = kinto.plugins.openid
"""

from __future__ import annotations

import logging

from kinto.plugins.openid.policy import PROFILE_ENVIRON_KEY, OpenIDConnectPolicy

__all__ = ["OpenIDConnectPolicy", "includeme"]

logger = logging.getLogger(__name__)


def add_profile(request, user: dict) -> None:
    """Hello extra: the userinfo of an OpenID-authenticated user."""
    found = request.environ.get(PROFILE_ENVIRON_KEY)
    if found is not None and found[0] == request.authn_type:
        user["profile"] = found[1]


def includeme(config) -> None:
    from kinto.plugins.openid.views import add_views

    registry = config.registry
    policies = [
        policy
        for policy in getattr(registry, "authentication_policies", ())
        if isinstance(policy, OpenIDConnectPolicy)
    ]
    if not policies:
        logger.warning("kinto.plugins.openid is included but no OpenID policy is configured.")
        return
    registry.openid_policies = {policy.name: policy for policy in policies}

    config.add_api_capability(
        "openid",
        description="OpenID connect support.",
        url="http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html",
        providers=[policy.capability() for policy in policies],
    )
    if not hasattr(registry, "hello_user_extras"):
        registry.hello_user_extras = []
    registry.hello_user_extras.append(add_profile)

    definitions = getattr(registry, "openapi_security_definitions", None)
    if definitions is None:
        definitions = registry.openapi_security_definitions = {}
    for policy in policies:
        scopes = policy.configuration.get("scopes_supported") or ["openid"]
        definitions[policy.name] = {
            "type": "oauth2",
            "flow": "implicit",
            "authorizationUrl": policy.authorization_endpoint,
            "scopes": {scope: scope for scope in scopes},
        }
    add_views(config)
