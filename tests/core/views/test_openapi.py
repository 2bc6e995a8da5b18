"""/__api__: OpenAPI 2.0 document (resources.md §3)."""

import openapi_spec_validator
import pytest

from kinto.core.services import Service
from kinto.core.views.openapi import swagger_path


def add_resource_services(config):
    plural = Service(name="thing-plural", path="/things")
    plural.add_view("GET", lambda request: {})
    plural.add_view("POST", lambda request: {})
    plural.add_view("DELETE", lambda request: {})
    config.add_cornice_service(plural)
    obj = Service(name="thing-object", path="/things/{id}")
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        obj.add_view(method, lambda request: {})
    config.add_cornice_service(obj)
    nested = Service(name="part-object", path="/things/{thing_id:[a-z]+}/parts/{id}")
    nested.add_view("GET", lambda request: {})
    config.add_cornice_service(nested)


@pytest.fixture
def spec(make_core_app):
    return make_core_app(configure=add_resource_services).get("/v1/__api__").json


def test_document_header_describes_the_server(spec):
    assert spec["swagger"] == "2.0"
    assert spec["info"] == {"title": "kinto", "version": "1.23"}
    assert spec["basePath"] == "/v1"
    assert spec["host"] == "localhost:80"
    assert spec["schemes"] == ["http"]
    assert spec["securityDefinitions"] == {"basicauth": {"type": "basic"}}


def test_document_honours_http_scheme_and_host(make_core_app):
    spec = make_core_app(http_scheme="https", http_host="kinto.example.com").get("/v1/__api__")
    assert spec.json["schemes"] == ["https"]
    assert spec.json["host"] == "kinto.example.com"


def test_utility_endpoints_have_their_operation_ids(spec):
    assert spec["paths"]["/"]["get"]["operationId"] == "server_info"
    assert spec["paths"]["/__api__"]["get"]["operationId"] == "get_openapi_spec"
    assert "/__heartbeat__" in spec["paths"]
    assert "options" not in spec["paths"]["/"]


def test_resource_operation_ids_are_derived_from_service_names(spec):
    paths = spec["paths"]
    assert paths["/things"]["get"]["operationId"] == "get_things"
    assert paths["/things"]["post"]["operationId"] == "create_thing"
    assert paths["/things"]["delete"]["operationId"] == "delete_things"
    assert paths["/things"]["head"]["operationId"] == "head_things"
    assert paths["/things/{id}"]["get"]["operationId"] == "get_thing"
    assert paths["/things/{id}"]["put"]["operationId"] == "update_thing"
    assert paths["/things/{id}"]["patch"]["operationId"] == "patch_thing"
    assert paths["/things/{id}"]["delete"]["operationId"] == "delete_thing"


def test_operation_ids_are_unique(spec):
    ids = [
        operation["operationId"] for item in spec["paths"].values() for operation in item.values()
    ]
    assert len(ids) == len(set(ids))


def test_path_parameters_are_declared_without_their_regex(spec):
    item = spec["paths"]["/things/{thing_id}/parts/{id}"]["get"]
    names = [p["name"] for p in item["parameters"] if p["in"] == "path"]
    assert names == ["thing_id", "id"]


def test_swagger_path_converts_pyramid_patterns():
    assert swagger_path("/a/{x:\\d+}/b/{y}") == ("/a/{x}/b/{y}", ["x", "y"])
    assert swagger_path("/admin/*subpath") == ("/admin/{subpath}", ["subpath"])


def test_document_is_a_valid_openapi_2_document(spec):
    openapi_spec_validator.validate(spec)


def test_kinto_document_lists_the_resources_and_is_valid(make_app):
    spec = make_app().get("/v1/__api__").json
    paths = spec["paths"]
    assert paths["/buckets"]["get"]["operationId"] == "get_buckets"
    assert paths["/buckets"]["post"]["operationId"] == "create_bucket"
    assert paths["/buckets/{id}"]["put"]["operationId"] == "update_bucket"
    assert paths["/batch"]["post"]["operationId"] == "batch"
    openapi_spec_validator.validate(spec)
