"""``/__api__``: an OpenAPI 2.0 (Swagger) description of the registered
Cornice services.

Operation ids come from ``Service.operation_ids`` when given, else from the
service name: resource services ``<name>-plural``/``<name>-object`` get
``get_<name>s``, ``create_<name>``, ``delete_<name>s``, ``get_<name>``,
``update_<name>``, ``patch_<name>``, ``delete_<name>``; ``HEAD`` reuses the
``GET`` id with ``head_`` in place of ``get_``; other services get
``<method>_<name>``.

Security definitions: a ``basic`` scheme per authentication policy that
challenges with ``Basic``, plus ``registry.openapi_security_definitions``
(a dict plugins may fill, e.g. OpenID ``oauth2`` providers).
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.interfaces import IRoutesMapper

from kinto.core.services import Service

IGNORED_METHODS = ("OPTIONS",)
BODY_METHODS = ("POST", "PUT", "PATCH")

_PLACEHOLDER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_STAR = re.compile(r"\*(\w+)$")
_NOT_IDENTIFIER = re.compile(r"\W+")

#: Ids of well-known services declared without ``operation_ids``.
KNOWN_OPERATIONS = {("batch", "POST"): "batch"}

RESOURCE_OPERATIONS = {
    "plural": {"GET": "get_{}s", "POST": "create_{}", "DELETE": "delete_{}s"},
    "object": {
        "GET": "get_{}",
        "PUT": "update_{}",
        "PATCH": "patch_{}",
        "DELETE": "delete_{}",
        "POST": "create_{}",
    },
}


def swagger_path(pattern: str) -> tuple[str, list[str]]:
    """``/buckets/{id:\\w+}/*sub`` → (``/buckets/{id}/{sub}``, ``[id, sub]``)."""
    pattern = _STAR.sub(r"{\1}", pattern)
    names = _PLACEHOLDER.findall(pattern)
    path = _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", pattern)
    if not path.startswith("/"):
        path = "/" + path
    return path, names


def operation_id(service, method: str) -> str:
    explicit = getattr(service, "operation_ids", None) or {}
    if method in explicit:
        return explicit[method]
    if (service.name, method) in KNOWN_OPERATIONS:
        return KNOWN_OPERATIONS[(service.name, method)]
    if method == "HEAD":
        get_id = operation_id(service, "GET")
        return "head_" + get_id[4:] if get_id.startswith("get_") else "head_" + get_id
    name, _, kind = service.name.rpartition("-")
    templates = RESOURCE_OPERATIONS.get(kind) if name else None
    resource = _NOT_IDENTIFIER.sub("_", name)
    if templates and method in templates:
        return templates[method].format(resource)
    return f"{method.lower()}_{_NOT_IDENTIFIER.sub('_', service.name)}"


def service_pattern(registry, service, prefix: str) -> str:
    if service.pyramid_route:
        route = registry.queryUtility(IRoutesMapper).get_route(service.pyramid_route)
        pattern = route.pattern if route is not None else service.pyramid_route
    else:
        pattern = service.path
    pattern = "/" + pattern.lstrip("/")
    if pattern == prefix or pattern.startswith(prefix + "/"):
        pattern = pattern[len(prefix) :] or "/"
    return pattern


def build_paths(registry) -> dict[str, Any]:
    """The ``paths`` object of every registered Cornice service."""
    prefix = "/" + registry.route_prefix
    paths: dict[str, Any] = {}
    used_ids: set[str] = set()
    services = sorted(registry.cornice_services.values(), key=lambda s: s.name)
    for service in services:
        path, names = swagger_path(service_pattern(registry, service, prefix))
        item = paths.setdefault(path, {})
        for method in service.defined_methods:
            if method in IGNORED_METHODS or method.lower() in item:
                continue
            op_id = operation_id(service, method)
            unique, n = op_id, 2
            while unique in used_ids:
                unique, n = f"{op_id}_{n}", n + 1
            used_ids.add(unique)
            parameters: list[dict[str, Any]] = [
                {"name": name, "in": "path", "required": True, "type": "string"} for name in names
            ]
            if method in BODY_METHODS:
                parameters.append(
                    {"name": "body", "in": "body", "required": False, "schema": {"type": "object"}}
                )
            operation: dict[str, Any] = {
                "operationId": unique,
                "tags": [service.name.rpartition("-")[0] or service.name],
                "responses": {"default": {"description": "JSON response or error envelope."}},
            }
            if service.description:
                operation["summary"] = service.description
            if parameters:
                operation["parameters"] = parameters
            item[method.lower()] = operation
    return paths


def security_definitions(request) -> dict[str, Any]:
    registry = request.registry
    definitions: dict[str, Any] = {}
    for policy in getattr(registry, "authentication_policies", ()):
        challenges = policy.challenge(request)
        if any(value.startswith("Basic") for _, value in challenges):
            definitions[policy.name] = {"type": "basic"}
    definitions.update(getattr(registry, "openapi_security_definitions", {}))
    return definitions


def get_openapi(request):
    registry = request.registry
    settings = registry.settings
    paths = getattr(registry, "openapi_paths", None)
    if paths is None:
        paths = registry.openapi_paths = build_paths(registry)
    return {
        "swagger": "2.0",
        "info": {
            "title": settings["project_name"],
            "version": settings["http_api_version"],
        },
        "host": request.host,
        "basePath": "/" + registry.route_prefix,
        "schemes": [request.scheme],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": security_definitions(request),
        "paths": paths,
    }


def includeme(config) -> None:
    api = Service(
        name="openapi",
        path="/__api__",
        description="OpenAPI description",
        operation_ids={"GET": "get_openapi_spec"},
    )
    api.add_view("GET", get_openapi)
    config.add_cornice_service(api)
