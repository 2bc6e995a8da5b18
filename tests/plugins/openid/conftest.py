"""A small OpenID Connect provider on 127.0.0.1, run in a thread by the
tests: discovery document, authorization, token, userinfo and JWKS
endpoints, with one RSA signing key."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_ID = "test-key"
CLIENT_ID = "kinto-client"
CLIENT_SECRET = "client-secret"


@pytest.fixture(scope="session")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def foreign_key():
    """A key the provider does not publish."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeProvider:
    """State of the provider, inspected and changed by the tests."""

    def __init__(self, signing_key):
        self.signing_key = signing_key
        self.issuer = ""
        self.userinfos: dict[str, dict] = {}  # access token → userinfo
        self.codes: dict[str, dict] = {}  # authorization code → token response
        self.token_requests: list[dict[str, str]] = []
        self.calls: list[str] = []  # paths requested, in order

    def calls_to(self, path: str) -> int:
        return self.calls.count(path)

    def give_token(self, token: str, **userinfo) -> str:
        """Make ``token`` valid for a user with this userinfo."""
        self.userinfos[token] = userinfo
        return token

    def jwt_access_token(self, key=None, kid=KEY_ID, **claims) -> str:
        """A signed JWT access token (valid at userinfo for ``sub``)."""
        payload = {"iss": self.issuer, "sub": "jwt-user", "exp": int(time.time()) + 600}
        payload.update(claims)
        token = jwt.encode(
            payload, key or self.signing_key, algorithm="RS256", headers={"kid": kid}
        )
        self.userinfos[token] = {"sub": payload["sub"]}
        return token

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "scopes_supported": ["openid", "email", "profile"],
        }

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.signing_key.public_key()))
        jwk.update({"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}


def make_handler(provider: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def send_json(self, status: int, document) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = urlsplit(self.path).path
            provider.calls.append(path)
            if path == "/.well-known/openid-configuration":
                self.send_json(200, provider.discovery())
            elif path == "/jwks":
                self.send_json(200, provider.jwks())
            elif path == "/userinfo":
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                userinfo = provider.userinfos.get(token) if scheme == "Bearer" else None
                if userinfo is None:
                    self.send_json(401, {"error": "invalid_token"})
                else:
                    self.send_json(200, userinfo)
            else:
                self.send_json(404, {"error": "not_found"})

        def do_POST(self):
            path = urlsplit(self.path).path
            provider.calls.append(path)
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if path != "/token":
                self.send_json(404, {"error": "not_found"})
                return
            provider.token_requests.append(form)
            answer = provider.codes.get(form.get("code"))
            valid_client = (form.get("client_id"), form.get("client_secret")) == (
                CLIENT_ID,
                CLIENT_SECRET,
            )
            if answer is None or not valid_client:
                self.send_json(400, {"error": "invalid_grant"})
            else:
                self.send_json(200, answer)

    return Handler


@pytest.fixture
def oidc(signing_key):
    """A running provider; its URL is ``oidc.issuer``."""
    provider = FakeProvider(signing_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(provider))
    server.daemon_threads = True
    host, port = server.server_address
    provider.issuer = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    provider.server = server
    yield provider
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    """Calls to the local provider never go through a configured proxy."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def openid_settings(issuer: str, name: str = "oidc", **options) -> dict:
    settings = {
        "includes": "kinto.plugins.openid",
        "multiauth.policies": f"{name} basicauth",
        f"multiauth.policy.{name}.use": "kinto.plugins.openid.OpenIDConnectPolicy",
        f"multiauth.policy.{name}.issuer": issuer,
        f"multiauth.policy.{name}.client_id": CLIENT_ID,
        f"multiauth.policy.{name}.client_secret": CLIENT_SECRET,
    }
    settings.update({f"multiauth.policy.{name}.{key}": value for key, value in options.items()})
    return settings


@pytest.fixture
def make_openid_app(make_app, oidc):
    """``make_openid_app(**policy options)`` → app with policy ``oidc``."""

    def factory(extra_settings=None, **options):
        return make_app(**openid_settings(oidc.issuer, **options), **(extra_settings or {}))

    return factory
