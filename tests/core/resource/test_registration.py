"""Service registration: methods, read-only mode, disabled endpoints,
content negotiation and CORS headers."""

from pyramid.interfaces import IRoutesMapper


def exposed(response):
    return {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}


DEFAULT_EXPOSED = {"Backoff", "Retry-After", "Alert", "Content-Length", "Content-Type"}
TIMESTAMPS = {"Last-Modified", "ETag", "Cache-Control", "Expires", "Pragma"}


def test_undefined_method_is_405(toy_app, alice):
    response = toy_app.put_json("/v1/toys", {}, headers=alice, status=405)
    assert response.json["errno"] == 115
    assert "GET" in response.headers["Allow"]
    toy_app.post_json("/v1/toys/t", {}, headers=alice, status=405)


def test_readonly_only_registers_reads(make_toy_app, alice):
    app = make_toy_app(readonly=True, toy_read_principals="system.Everyone")
    # A list never initialised cannot get a timestamp on a read-only instance.
    response = app.get("/v1/toys", status=503)
    assert response.json["errno"] == 201
    for method in ("post_json", "delete"):
        getattr(app, method)("/v1/toys", headers=alice, status=405)
    for method in ("put_json", "patch_json", "delete"):
        getattr(app, method)("/v1/toys/t", headers=alice, status=405)


def test_disabled_endpoints_answer_405(make_toy_app, alice):
    app = make_toy_app(plural_toy_delete_enabled=False, object_toy_patch_enabled="false")
    app.delete("/v1/toys", headers=alice, status=405)
    app.put_json("/v1/toys/t", {}, headers=alice, status=201)
    app.patch_json("/v1/toys/t", {"data": {}}, headers=alice, status=405)
    app.delete("/v1/toys/t", headers=alice, status=200)


def test_accept_must_allow_json(toy_app, alice):
    response = toy_app.get("/v1/toys", headers={**alice, "Accept": "text/html"}, status=406)
    assert response.json["errno"] == 107
    assert response.json["error"] == "Invalid parameters"
    assert response.json["message"] == "Accept header should be one of ['application/json']"
    assert response.json["details"][0]["location"] == "header"
    for accept in ("*/*", "application/*", "application/json; q=0.9, text/html"):
        toy_app.get("/v1/toys", headers={**alice, "Accept": accept}, status=200)


def test_content_type_on_post(toy_app, alice):
    toy_app.post("/v1/toys", "{}", headers={**alice, "Content-Type": "text/plain"}, status=415)
    response = toy_app.request("/v1/toys", method="POST", body=b'{"data": {}}', headers=alice)
    assert response.status_int == 201


def test_json_patch_only_on_patch(toy_app, alice):
    toy_app.post(
        "/v1/toys",
        "[]",
        headers={**alice, "Content-Type": "application/json-patch+json"},
        status=415,
    )


def test_exposed_headers_per_endpoint(toy_app, alice):
    origin = {"Origin": "http://example.com"}
    toy_app.put_json("/v1/toys/t", {}, headers=alice)
    response = toy_app.get("/v1/toys", headers={**alice, **origin})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert exposed(response) == DEFAULT_EXPOSED | TIMESTAMPS | {"Next-Page"}
    response = toy_app.head("/v1/toys", headers={**alice, **origin})
    assert exposed(response) == DEFAULT_EXPOSED | TIMESTAMPS | {
        "Next-Page",
        "Total-Objects",
        "Total-Records",
    }
    response = toy_app.get("/v1/toys/t", headers={**alice, **origin})
    assert exposed(response) == DEFAULT_EXPOSED | TIMESTAMPS
    response = toy_app.delete("/v1/toys/t", headers={**alice, **origin})
    assert exposed(response) == DEFAULT_EXPOSED


def test_preflight_needs_no_authentication(toy_app):
    response = toy_app.options(
        "/v1/toys",
        headers={"Origin": "http://example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_services_are_named_after_the_resource(toy_app):
    mapper = toy_app.app.registry.getUtility(IRoutesMapper)
    paths = {route.name: route.pattern for route in mapper.get_routes()}
    assert paths["toy-plural"] == "v1/toys"
    assert paths["toy-object"] == "v1/toys/{id}"
