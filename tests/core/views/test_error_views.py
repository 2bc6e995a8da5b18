"""Error responses: the envelope for every error (errors.md), redirects and
404s for unknown URLs (resources.md §0.1)."""

import logging

import pytest
import webob
from pyramid import httpexceptions

from kinto.core import errors, storage
from kinto.core.services import Service

RAISED = {
    "backend": lambda: storage.BackendError(message="db down"),
    "integrity": lambda: storage.IntegrityError(message="collision"),
    "unicity": lambda: storage.UnicityError("id", {"id": "a"}),
    "not-found": lambda: storage.ObjectNotFoundError(),
    "modified": lambda: storage.ModifiedMeanwhileError({"id": "a", "last_modified": 1}),
    "crash": lambda: ValueError("boom"),
    "forbidden": lambda: httpexceptions.HTTPForbidden(),
    "bare-404": lambda: httpexceptions.HTTPNotFound(),
    "bare-400": lambda: httpexceptions.HTTPBadRequest("Nope"),
    "bare-418": lambda: httpexceptions.HTTPClientError(),
    "bare-500": lambda: httpexceptions.HTTPInternalServerError(),
    "envelope-401": lambda: errors.http_error(
        httpexceptions.HTTPUnauthorized(), errno=errors.ERRORS.MISSING_AUTH_TOKEN
    ),
    "envelope-412": lambda: errors.http_error(
        httpexceptions.HTTPPreconditionFailed(), errno=errors.ERRORS.MODIFIED_MEANWHILE
    ),
}


def add_toy_views(config):
    def raising(request):
        raise RAISED[request.matchdict["kind"]]()

    raiser = Service(name="raiser", path="/raise/{kind}")
    raiser.add_view("GET", raising)
    config.add_cornice_service(raiser)

    strict = Service(name="strict", path="/strict")
    strict.add_view("GET", lambda request: {"ok": True}, accept="application/json")
    strict.add_view("POST", lambda request: {"ok": True}, content_type="application/json")
    config.add_cornice_service(strict)


@pytest.fixture
def toy_app(make_core_app):
    return make_core_app(configure=add_toy_views)


def assert_envelope(response, code, errno, error=None):
    assert response.status_code == code
    assert response.content_type == "application/json"
    body = response.json
    assert body["code"] == code
    assert body["errno"] == errno
    if error is not None:
        assert body["error"] == error
    return body


# Unknown URLs and redirects -----------------------------------------------------


def test_unknown_url_is_404_errno_111(toy_app):
    body = assert_envelope(toy_app.get("/v1/unknown", status=404), 404, 111, "Not Found")
    assert body["message"] == "The resource you are looking for could not be found."


def test_unprefixed_path_redirects_to_the_current_version(toy_app):
    response = toy_app.get("/buckets/a?_limit=2&x=y", status=307)
    assert response.headers["Location"] == "http://localhost/v1/buckets/a?_limit=2&x=y"
    assert "Cache-Control" not in response.headers


def test_unprefixed_root_redirects_to_hello(toy_app):
    assert toy_app.get("/", status=307).headers["Location"] == "http://localhost/v1/"


def test_version_redirect_has_cache_headers_when_ttl_is_set(make_core_app):
    app = make_core_app(version_prefix_redirect_ttl_seconds="60")
    response = app.get("/buckets", status=307)
    assert response.headers["Cache-Control"] == "max-age=60"
    assert "Expires" in response.headers


def test_version_redirect_can_be_disabled(make_core_app):
    app = make_core_app(version_prefix_redirect_enabled="false")
    assert_envelope(app.get("/buckets", status=404), 404, 111)


def test_options_on_unprefixed_path_answers_200_with_cors(toy_app):
    response = toy_app.options(
        "/buckets",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        status=200,
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET"


def test_other_api_version_is_404_errno_116(toy_app):
    assert_envelope(toy_app.get("/v2/buckets", status=404), 404, 116, "Not Found")
    assert_envelope(toy_app.get("/v0", status=404), 404, 116)


def test_version_without_slash_redirects_to_hello(toy_app):
    response = toy_app.get("/v1", status=307)
    assert response.headers["Location"] == "http://localhost/v1/"


def test_trailing_slash_redirects_with_cache_headers(toy_app):
    response = toy_app.get("/v1/__heartbeat__/?a=1", status=307)
    assert response.headers["Location"] == "http://localhost/v1/__heartbeat__?a=1"
    assert response.headers["Cache-Control"] == "max-age=3600"
    assert "Expires" in response.headers


def test_trailing_slash_redirect_ttl_zero_means_no_cache(make_core_app):
    response = make_core_app(trailing_slash_redirect_ttl_seconds="0").get(
        "/v1/__heartbeat__/", status=307
    )
    assert "no-cache" in response.headers["Cache-Control"]


def test_trailing_slash_redirect_ttl_minus_one_sends_no_cache_headers(make_core_app):
    response = make_core_app(trailing_slash_redirect_ttl_seconds="-1").get(
        "/v1/__heartbeat__/", status=307
    )
    assert "Cache-Control" not in response.headers
    assert "Expires" not in response.headers


def test_trailing_slash_redirect_can_be_disabled(make_core_app):
    app = make_core_app(trailing_slash_redirect_enabled="false")
    assert_envelope(app.get("/v1/__heartbeat__/", status=404), 404, 111)
    assert_envelope(app.get("/v1", status=404), 404, 111)


def test_redirects_honour_http_host_and_scheme(make_core_app):
    app = make_core_app(http_scheme="https", http_host="kinto.example.com")
    assert app.get("/buckets", status=307).headers["Location"] == (
        "https://kinto.example.com/v1/buckets"
    )


def test_redirects_carry_cors_headers(toy_app):
    response = toy_app.get("/buckets", headers={"Origin": "https://a.example.com"}, status=307)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_invalid_utf8_in_path_is_400(toy_app):
    body = assert_envelope(toy_app.get("/v1/%82%AC", status=400), 400, 107, "Bad Request")
    assert body["message"] == "Invalid URL path."


def test_invalid_utf8_in_unprefixed_path_is_400(toy_app):
    assert_envelope(toy_app.get("/%82%AC", status=400), 400, 107, "Bad Request")


def test_invalid_utf8_in_querystring_is_400(toy_app):
    assert_envelope(toy_app.get("/v1/?x=%82%AC", status=400), 400, 107, "Bad Request")


def test_valid_utf8_in_path_and_querystring_is_accepted(toy_app):
    toy_app.get("/v1/?name=%C3%A9t%C3%A9+ok", status=200)
    assert_envelope(toy_app.get("/v1/%C3%A9t%C3%A9", status=404), 404, 111)


# Methods and validation -------------------------------------------------------------


def test_undefined_method_is_405_errno_115_with_allow(toy_app):
    response = toy_app.post("/v1/", status=405)
    body = assert_envelope(response, 405, 115, "Method Not Allowed")
    assert body["message"] == "Method not allowed on this endpoint."
    assert "GET" in response.headers["Allow"]


def test_unacceptable_accept_header_is_406_invalid_parameters(toy_app):
    response = toy_app.get("/v1/strict", headers={"Accept": "text/html"}, status=406)
    body = assert_envelope(response, 406, 107, "Invalid parameters")
    assert body["message"] == "Accept header should be one of ['application/json']"
    assert body["details"] == [
        {"location": "header", "name": "Accept", "description": body["message"]}
    ]


def test_unsupported_content_type_is_415_invalid_parameters(toy_app):
    response = toy_app.post(
        "/v1/strict", "a=1", headers={"Content-Type": "text/plain"}, status=415
    )
    body = assert_envelope(response, 415, 107, "Invalid parameters")
    assert body["details"][0]["name"] == "Content-Type"


def test_cornice_validation_errors_use_the_envelope(make_core_app):
    def configure(config):
        def must_have_x(request, **kwargs):
            if "x" not in request.GET:
                request.errors.add("querystring", "x", "x is required")

        service = Service(name="validated", path="/validated")
        service.add_view("GET", lambda request: {}, validators=(must_have_x,))
        config.add_cornice_service(service)

    app = make_core_app(configure=configure)
    body = assert_envelope(app.get("/v1/validated", status=400), 400, 107, "Invalid parameters")
    assert body["message"] == "x is required"
    app.get("/v1/validated?x=1", status=200)


# Authorization ------------------------------------------------------------------------


def test_forbidden_for_anonymous_is_401_with_challenge(toy_app):
    response = toy_app.get("/v1/raise/forbidden", status=401)
    body = assert_envelope(response, 401, 104, "Unauthorized")
    assert body["message"] == "Please authenticate yourself to use this endpoint."
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_forbidden_for_authenticated_user_is_403(toy_app, auth_headers):
    response = toy_app.get("/v1/raise/forbidden", headers=auth_headers("bob"), status=403)
    body = assert_envelope(response, 403, 121, "Forbidden")
    assert body["message"] == "This user cannot access this resource."
    assert "WWW-Authenticate" not in response.headers


def test_enveloped_401_gets_the_challenge_headers(toy_app):
    response = toy_app.get("/v1/raise/envelope-401", status=401)
    assert_envelope(response, 401, 104)
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


# Other errors -------------------------------------------------------------------------------


def test_enveloped_errors_raised_by_views_are_kept(toy_app):
    assert_envelope(toy_app.get("/v1/raise/envelope-412", status=412), 412, 114)


def test_bare_404_raised_by_a_view_gets_the_envelope(toy_app):
    assert_envelope(toy_app.get("/v1/raise/bare-404", status=404), 404, 111)


def test_bare_http_errors_get_the_envelope_with_their_detail(toy_app):
    body = assert_envelope(toy_app.get("/v1/raise/bare-400", status=400), 400, 107)
    assert body["message"] == "Nope"
    assert_envelope(toy_app.get("/v1/raise/bare-418", status=400), 400, 107)


def test_backend_error_is_503_errno_201_with_retry_after(toy_app):
    response = toy_app.get("/v1/raise/backend", status=503)
    body = assert_envelope(response, 503, 201, "Service Unavailable")
    assert "retry later" in body["message"]
    assert response.headers["Retry-After"] == "3"


def test_retry_after_follows_the_setting(make_core_app):
    app = make_core_app(configure=add_toy_views, retry_after_seconds="30")
    assert app.get("/v1/raise/backend", status=503).headers["Retry-After"] == "30"


def test_integrity_error_is_409_errno_122_with_retry_after(toy_app):
    response = toy_app.get("/v1/raise/integrity", status=409)
    body = assert_envelope(response, 409, 122, "Conflict")
    assert body["message"] == "Integrity constraint violated, please retry."
    assert response.headers["Retry-After"] == "3"
    assert_envelope(toy_app.get("/v1/raise/unicity", status=409), 409, 122)


def test_uncaught_storage_lookups_are_404_and_412(toy_app):
    assert_envelope(toy_app.get("/v1/raise/not-found", status=404), 404, 110)
    body = assert_envelope(toy_app.get("/v1/raise/modified", status=412), 412, 114)
    assert body["details"]["existing"] == {"id": "a", "last_modified": 1}


def test_unexpected_exception_is_500_errno_999_and_logged(toy_app, caplog):
    with caplog.at_level(logging.ERROR, logger="kinto.core.views.errors"):
        response = toy_app.get("/v1/raise/crash", status=500)
    body = assert_envelope(response, 500, 999, "Internal Server Error")
    assert body["message"] == "A programmatic error occurred, developers have been informed."
    assert body["info"] == "https://github.com/Kinto/kinto/issues/"
    assert "Retry-After" not in response.headers
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)


def test_error_info_link_follows_the_setting(make_core_app):
    app = make_core_app(configure=add_toy_views, error_info_link="https://example.com/bugs")
    assert app.get("/v1/raise/crash", status=500).json["info"] == "https://example.com/bugs"


def test_errors_carry_cors_headers_for_allowed_origins(toy_app):
    response = toy_app.get("/v1/unknown", headers={"Origin": "https://a.example.com"}, status=404)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    response = toy_app.get(
        "/v1/raise/backend", headers={"Origin": "https://a.example.com"}, status=503
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_errors_carry_no_cors_headers_for_other_origins(make_core_app):
    app = make_core_app(cors_origins="https://*.good.com")
    response = app.get("/v1/unknown", headers={"Origin": "https://evil.com"}, status=404)
    assert "Access-Control-Allow-Origin" not in response.headers
    response = app.get("/v1/unknown", headers={"Origin": "https://a.good.com"}, status=404)
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.good.com"


def test_raw_non_utf8_bytes_in_querystring_are_400(toy_app):
    request = webob.Request.blank("/v1/")
    request.environ["QUERY_STRING"] = "x=\x82\xac"  # raw bytes, as WSGI passes them
    response = request.get_response(toy_app.app)
    assert response.status_code == 400
    assert response.json["errno"] == 107


def test_bare_500_raised_by_a_view_gets_the_envelope_with_info(toy_app):
    body = assert_envelope(toy_app.get("/v1/raise/bare-500", status=500), 500, 999)
    assert body["info"] == "https://github.com/Kinto/kinto/issues/"
    assert body["message"] == "A programmatic error occurred, developers have been informed."
