"""What including ``kinto.plugins.openid`` adds: capability, OpenAPI
security definitions."""

from .conftest import CLIENT_ID


def test_capability_lists_the_providers(make_openid_app, oidc):
    capability = make_openid_app(audience="kinto-api").get("/v1/").json["capabilities"]["openid"]
    assert set(capability) >= {"description", "url", "providers"}
    assert capability["providers"] == [
        {
            "name": "oidc",
            "issuer": oidc.issuer,
            "auth_path": "/openid/oidc/login",
            "client_id": CLIENT_ID,
            "audience": "kinto-api",
            "header_type": "Bearer",
            "userinfo_endpoint": f"{oidc.issuer}/userinfo",
        }
    ]


def test_no_capability_nor_routes_without_openid_policy(make_app):
    app = make_app(includes="kinto.plugins.openid")
    assert "openid" not in app.get("/v1/").json["capabilities"]
    app.get("/v1/openid/oidc/login", status=404)


def test_openapi_describes_providers_as_oauth2(make_openid_app, oidc):
    definitions = make_openid_app().get("/v1/__api__").json["securityDefinitions"]
    assert definitions["oidc"]["type"] == "oauth2"
    assert definitions["oidc"]["authorizationUrl"] == f"{oidc.issuer}/authorize"
    assert definitions["basicauth"] == {"type": "basic"}


def test_policy_works_without_the_plugin_included(make_app, oidc):
    from .conftest import openid_settings

    settings = openid_settings(oidc.issuer)
    settings["includes"] = ""
    app = make_app(**settings)
    oidc.give_token("tok", sub="frank")
    user = app.get("/v1/", headers={"Authorization": "Bearer tok"}).json["user"]
    assert user["id"] == "oidc:frank"
    assert "openid" not in app.get("/v1/").json["capabilities"]
