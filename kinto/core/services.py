"""The Cornice ``Service`` every endpoint of the project is declared with.

It renders with the project's JSON renderer, turns Cornice validation errors
(400, 406, 415) into the error envelope (errno 107, ``"Invalid parameters"``)
and applies the CORS settings of the application serving the request
(``cors_origins``, ``cors_max_age_seconds``), read from the registry at
request time so one service object can serve several applications.

Usage::

    from kinto.core.services import Service

    records = Service(name="record-plural", path="/buckets/{bucket_id}/...")
    records.add_view("GET", get_records, cors_headers=LIST_EXPOSED_HEADERS)
    config.add_cornice_service(records)

``cors_headers`` given to ``add_view`` *extend* :data:`EXPOSED_HEADERS`.
Prefer building services inside ``includeme`` (one instance per
application): Cornice mutates a service's definitions each time it is
registered.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

import cornice
from pyramid.threadlocal import get_current_request
from webob import Response

from kinto.core import errors

#: Headers exposed to browsers on every response (resources.md §0.3).
EXPOSED_HEADERS = ("Backoff", "Retry-After", "Alert", "Content-Length", "Content-Type")


class Service(cornice.Service):
    """Cornice service pre-configured for the project (see module doc).

    ``operation_ids`` (``{"GET": "server_info"}``) names the operations in
    the OpenAPI document; when absent they are derived from the service name.
    """

    renderer = "json"
    default_cors_headers = EXPOSED_HEADERS

    def __init__(
        self,
        name: str,
        path: str | None = None,
        description: str | None = None,
        operation_ids: dict[str, str] | None = None,
        depth: int = 2,
        **kw,
    ):
        self._explicit_cors_origins: tuple[str, ...] = ()
        self._explicit_cors_max_age: int | None = None
        self.operation_ids = {k.upper(): v for k, v in (operation_ids or {}).items()}
        super().__init__(name, path=path, description=description, depth=depth, **kw)
        if self._cors_enabled is None:
            self._cors_enabled = True

    # CORS settings: explicit values win, else those of the application
    # currently serving a request. Cornice copies ``cors_origins`` into each
    # definition when a view is added (no request then, so an empty list),
    # and falls back to the service attribute at request time.

    @property
    def cors_origins(self) -> tuple[str, ...]:
        if self._explicit_cors_origins:
            return self._explicit_cors_origins
        request = get_current_request()
        if request is None:
            return ()
        return getattr(request.registry, "cors_origins", ())

    @cors_origins.setter
    def cors_origins(self, value: Iterable[str]) -> None:
        self._explicit_cors_origins = tuple(value or ())

    @property
    def cors_max_age(self) -> int | None:
        if self._explicit_cors_max_age is not None:
            return self._explicit_cors_max_age
        request = get_current_request()
        if request is None:
            return None
        return getattr(request.registry, "cors_max_age", None)

    @cors_max_age.setter
    def cors_max_age(self, value: int | None) -> None:
        self._explicit_cors_max_age = value

    # Per-method CORS answers depend only on the view definitions: computed
    # once per method (and again when a view is added), not per request.

    def _per_method(self, what: str, method: str | None, compute):
        cache = self.__dict__.setdefault("_cors_cache", {})
        key = (what, method, len(self.definitions))
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = compute(method)
            return value

    def cors_supported_headers_for(self, method=None):
        return self._per_method(
            "headers",
            method,
            lambda m: frozenset(super(Service, self).cors_supported_headers_for(m)),
        )

    def cors_support_credentials_for(self, method=None):
        return self._per_method("credentials", method, super().cors_support_credentials_for)

    def cors_origins_for(self, method):
        declared = self._per_method("origins", method, self._declared_origins)
        return declared or self.cors_origins

    def _declared_origins(self, method: str) -> frozenset:
        method = method.upper()
        origins: set[str] = set()
        for declared_method, _, args in self.definitions:
            if declared_method.upper() == method:
                origins.update(args.get("cors_origins", ()))
        return frozenset(origins)

    def error_handler(self, request):
        """Render Cornice's ``request.errors`` as the error envelope."""
        return cornice_errors_response(request)


def cornice_errors_response(request):
    """Build the errno 107 error from Cornice's ``request.errors``."""
    found = []
    for error in request.errors:
        description = error.get("description")
        if isinstance(description, bytes):
            description = description.decode("utf-8", "replace")
        found.append(
            {
                "location": error.get("location"),
                "name": error.get("name"),
                "description": description if description is not None else "",
            }
        )
    if not found:
        found = [{"location": "body", "name": "", "description": "Invalid parameters"}]
    status = getattr(request.errors, "status", 400) or 400
    return errors.json_invalid_error(found, code=status)


def origin_allowed(origin: str, origins: Iterable[str]) -> bool:
    """True when ``origin`` matches one of the fnmatch ``origins``."""
    return any(fnmatch.fnmatchcase(origin, pattern) for pattern in origins)


def apply_cors_headers(request, response: Response) -> None:
    """Add ``Access-Control-Allow-Origin`` and the default exposed headers
    when the request's ``Origin`` is allowed. Used for responses Cornice does
    not handle: errors, unknown URLs, redirects."""
    origin = request.headers.get("Origin")
    if not origin:
        return
    origins = getattr(request.registry, "cors_origins", ())
    if not origin_allowed(origin, origins):
        return
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
    if "Access-Control-Expose-Headers" not in headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
