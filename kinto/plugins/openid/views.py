"""The login flow endpoints (plugins.md §7).

``GET /openid/{provider}/login?callback=<url>&scope=<scopes>[&prompt=none]``
sends the browser to the provider's authorization endpoint with a fresh
``state`` remembered in the cache. The provider sends it back to
``GET /openid/{provider}/token?code=...&state=...``, which exchanges the
code for tokens and redirects to ``<callback><url-quoted base64 of the
token endpoint's JSON answer>``.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode, urlsplit

from pyramid import httpexceptions

from kinto.core import errors
from kinto.core.services import Service
from kinto.plugins.openid import provider
from kinto.plugins.openid.policy import OpenIDConnectPolicy

INVALID_STATE_MESSAGE = "The OpenID Auth state is invalid or expired."


def _error(name: str, description: str, location: str = "querystring", **extra) -> dict:
    return {"location": location, "name": name, "description": description, **extra}


def get_policy(request) -> OpenIDConnectPolicy:
    """The policy named by ``{provider}``; 400 when there is none."""
    name = request.matchdict["provider"]
    policy = request.registry.openid_policies.get(name)
    if policy is None:
        raise errors.json_invalid_error(
            [_error("provider", f"Unknown OpenID provider {name!r}", location="path")]
        )
    return policy


def required_parameters(request, names: tuple[str, ...]) -> dict[str, str]:
    """The query-string values of ``names``; 400 listing every missing one."""
    values = {name: request.GET.get(name, "").strip() for name in names}
    missing = [_error(name, "Required") for name, value in values.items() if not value]
    if missing:
        raise errors.json_invalid_error(missing)
    return values


def is_absolute_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and parts.scheme.isascii() and bool(parts.netloc)


def redirect(location: str):
    return httpexceptions.HTTPTemporaryRedirect(location=location)


def login(request):
    policy = get_policy(request)
    params = required_parameters(request, ("callback", "scope"))
    callback, scope = params["callback"], params["scope"]
    prompt = request.GET.get("prompt")
    problems = []
    if not is_absolute_url(callback):
        problems.append(_error("callback", "Must be a URL"))
    if prompt is not None and prompt != "none":
        problems.append(_error("prompt", "Must be 'none'"))
    if policy.userid_field == "email" and "email" not in scope.split():
        problems.append(_error("scope", f"Provider {policy.name!r} requires the 'email' scope"))
    if problems:
        raise errors.json_invalid_error(problems)

    state = policy.new_state()
    request.registry.cache.set(policy.state_cache_key(state), callback, policy.state_ttl)
    query = {
        "client_id": policy.client_id,
        "response_type": "code",
        "scope": scope,
        "redirect_uri": request.route_url("openid_token", provider=policy.name),
        "state": state,
    }
    if prompt is not None:
        query["prompt"] = prompt
    if policy.audience:
        query["audience"] = policy.audience
    endpoint = policy.authorization_endpoint
    separator = "&" if "?" in endpoint else "?"
    return redirect(f"{endpoint}{separator}{urlencode(query)}")


def token(request):
    policy = get_policy(request)
    params = required_parameters(request, ("code", "state"))
    callback = request.registry.cache.delete(policy.state_cache_key(params["state"]))
    if callback is None:
        raise errors.json_invalid_error(
            [
                _error(
                    "state",
                    INVALID_STATE_MESSAGE,
                    errno=int(errors.ERRORS.INVALID_AUTH_TOKEN),
                )
            ]
        )
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": request.route_url("openid_token", provider=policy.name),
        "client_id": policy.client_id,
        "client_secret": policy.client_secret,
    }
    try:
        status, body = provider.exchange_code(policy.token_endpoint, form)
    except provider.ProviderError as e:
        raise errors.http_error(
            httpexceptions.HTTPServiceUnavailable(),
            errno=errors.ERRORS.BACKEND,
            message=f"The OpenID provider could not be reached: {e}",
        ) from e
    if status != 200 or provider.json_object(body) is None:
        raise errors.json_invalid_error(
            [_error("code", f"The OpenID provider refused the code (HTTP {status})")]
        )
    encoded = base64.b64encode(body).decode("ascii")
    return redirect(callback + quote(encoded, safe=""))


def add_views(config) -> None:
    login_service = Service(
        name="openid_login",
        path="/openid/{provider}/login",
        description="OpenID Connect login",
    )
    login_service.add_view("GET", login)
    config.add_cornice_service(login_service)

    token_service = Service(
        name="openid_token",
        path="/openid/{provider}/token",
        description="OpenID Connect code exchange",
    )
    token_service.add_view("GET", token)
    config.add_cornice_service(token_service)
