"""Authentication: who is calling.

Policies are listed, in order, in the ``multiauth.policies`` setting; each
name ``N`` is built from ``multiauth.policy.N.use`` (a dotted class) and its
``multiauth.policy.N.<option>`` settings. The first policy that recognises
the request wins. The resulting identity is exposed on the request:

* ``request.prefixed_userid``: ``"<prefix>:<raw id>"`` or ``None``;
* ``request.prefixed_principals``: user id first, ``system.Everyone``,
  ``system.Authenticated``, then the group URIs the user belongs to;
* ``request.authn_type``: the name of the policy that authenticated.

The identity is computed once per request and stored in the WSGI environ
under :data:`IDENTITY_ENVIRON_KEY`; batch subrequests copy that key so that
a whole batch shares one identity. It is built in two steps: the policies
recognise the caller (no backend call), then the groupfinder adds the group
principals (a permission backend call). Until the second step the identity
is *pending* (``principals`` is None): the user id is known, and the
authorizer may look the groups up in the same backend call as the ACLs it
needs (:func:`resolve_identity`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from typing import Any, NamedTuple

from pyramid.security import Allowed, Denied
from pyramid.settings import aslist

from kinto.core import utils

logger = logging.getLogger(__name__)

EVERYONE = "system.Everyone"
AUTHENTICATED = "system.Authenticated"
IDENTITY_ENVIRON_KEY = "kinto.identity"


class Identity(NamedTuple):
    """Who is calling. ``principals`` is None while the groups are not
    looked up yet; ``known`` holds the principals known without them (user
    id, ``system.Everyone``, ``system.Authenticated``, policy extras)."""

    userid: str | None
    principals: tuple[str, ...] | None
    authn_type: str | None
    known: tuple[str, ...] = ()


class AuthenticationPolicy:
    """Base class of authentication policies.

    Subclasses implement :meth:`authenticate`. ``name`` is the settings
    name of the policy; ``prefix`` (the user id prefix) defaults to it, and a
    subclass may force it with a class attribute ``prefix``.
    """

    prefix: str | None = None

    def __init__(self, name: str, settings: dict, options: dict[str, Any]):
        self.name = name
        self.settings = settings
        self.options = options
        self.realm = options.get("realm", "Realm")
        if self.prefix is None:
            self.prefix = name.lower()

    def authenticate(self, request) -> str | None:
        """Return the raw user id of the request's credentials, or None."""
        raise NotImplementedError

    def extra_principals(self, request, userid: str) -> list[str]:
        """Principals this policy grants beyond the user id (none by default)."""
        return []

    def challenge(self, request) -> list[tuple[str, str]]:
        """Headers inviting an anonymous client to authenticate."""
        return []


def parse_basic_credentials(request) -> tuple[str, str] | None:
    """Return ``(username, password)`` from a Basic ``Authorization`` header."""
    authorization = request.environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


class BasicAuthAuthenticationPolicy(AuthenticationPolicy):
    """Any ``username:password`` pair is an identity: the user id is the HMAC
    of the pair keyed with ``userid_hmac_secret``. An empty username is
    anonymous."""

    def __init__(self, name: str, settings: dict, options: dict[str, Any]):
        super().__init__(name, settings, options)
        self.secret = settings.get("userid_hmac_secret") or ""

    def authenticate(self, request) -> str | None:
        credentials = parse_basic_credentials(request)
        if credentials is None or not credentials[0]:
            return None
        username, password = credentials
        return utils.hmac_digest(self.secret, f"{username}:{password}")

    def challenge(self, request) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", f'Basic realm="{self.realm}"')]


class SecurityPolicy:
    """Pyramid security policy over the configured authentication policies.

    Pyramid view permissions are not used by this project (resources
    authorize explicitly through :mod:`kinto.core.authorization`), so
    :meth:`permits` only allows views that require no permission.
    """

    def __init__(self, policies: list[AuthenticationPolicy]):
        self.policies = policies

    def identity(self, request) -> Identity:
        return get_identity(request)

    def authenticated_userid(self, request) -> str | None:
        return authenticated_identity(request).userid

    def permits(self, request, context, permission):
        if permission is None:
            return Allowed("No permission required")
        return Denied("View permissions are not used")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return challenge_headers(request)


def authenticate(request) -> Identity:
    """Run the policies in order: the pending identity of the caller (the
    anonymous identity is complete)."""
    policies: list[AuthenticationPolicy] = request.registry.authentication_policies
    for policy in policies:
        raw = policy.authenticate(request)
        if raw:
            userid = f"{policy.prefix}:{raw}"
            known = [userid, EVERYONE, AUTHENTICATED]
            known.extend(policy.extra_principals(request, userid))
            return Identity(userid, None, policy.name, tuple(dict.fromkeys(known)))
    return Identity(None, (EVERYONE,), None, (EVERYONE,))


def authenticated_identity(request) -> Identity:
    """The identity of the request, pending or complete (no backend call)."""
    identity = request.environ.get(IDENTITY_ENVIRON_KEY)
    if identity is None:
        identity = authenticate(request)
        request.environ[IDENTITY_ENVIRON_KEY] = identity
    return identity


def resolve_identity(request, groups: Iterable[str]) -> Identity:
    """Complete the pending identity of ``request`` with the ``groups``
    the groupfinder would return, and keep it for the request."""
    identity = authenticated_identity(request)
    principals = tuple(dict.fromkeys((*identity.known, *groups)))
    identity = identity._replace(principals=principals)
    request.environ[IDENTITY_ENVIRON_KEY] = identity
    return identity


def get_identity(request) -> Identity:
    """The complete identity of the request (groups looked up if needed)."""
    identity = authenticated_identity(request)
    if identity.principals is None:
        groups = request.registry.groupfinder(identity.userid, request)
        identity = resolve_identity(request, groups)
    return identity


def challenge_headers(request) -> list[tuple[str, str]]:
    """``WWW-Authenticate`` headers of every configured policy."""
    headers: list[tuple[str, str]] = []
    for policy in request.registry.authentication_policies:
        headers.extend(policy.challenge(request))
    return headers


def load_policies(config) -> list[AuthenticationPolicy]:
    """Build the policies named in ``multiauth.policies`` from settings."""
    settings = config.get_settings()
    policies = []
    for name in aslist(settings.get("multiauth.policies") or ""):
        option_prefix = f"multiauth.policy.{name}."
        options = {
            key[len(option_prefix) :]: value
            for key, value in settings.items()
            if key.startswith(option_prefix)
        }
        dotted = options.pop("use", None)
        if not dotted:
            raise config_error(f"Missing setting 'multiauth.policy.{name}.use'")
        try:
            policy_class = config.maybe_dotted(dotted)
        except ImportError as e:
            raise config_error(f"Cannot import authentication policy {dotted!r}: {e}") from e
        policies.append(policy_class(name, settings, options))
    return policies


def config_error(message: str):
    from pyramid.exceptions import ConfigurationError

    return ConfigurationError(message)


def includeme(config) -> None:
    """Install the security policy, the group finder and the authorizer.
    The identity request attributes are declared on
    :class:`kinto.core.request.Request`."""
    from kinto.core import authorization

    policies = load_policies(config)
    config.registry.authentication_policies = policies
    settings = config.get_settings()
    groupfinder = settings.get("multiauth.groupfinder") or authorization.groupfinder
    config.registry.groupfinder = config.maybe_dotted(groupfinder)
    config.set_security_policy(SecurityPolicy(policies))

    config.registry.authorizer = authorization.Authorizer.from_config(config)

    if any(isinstance(p, BasicAuthAuthenticationPolicy) for p in policies):
        config.add_api_capability(
            "basicauth",
            description="Very basic authentication sessions. Not for production use.",
            url="http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html",
        )
