"""``POST /batch``: several API requests in one (batch.md).

The payload is validated as a whole before anything runs. Each subrequest
is then built from the batch request (headers inherited, ``/v1`` prefix
added) and invoked *without tweens*, in order, so that all of them share:

* the transaction of the batch request (``pyramid_tm`` is not re-entered);
* ``request.bound_data``, hence the per-request caches and the accumulated
  resource events, which the batch request's tween dispatches once;
* the identity, computed once for the whole batch (permissions.md §2).

A subrequest error (4xx) is embedded in the responses; a 5xx makes the whole
batch fail with that response, which aborts the transaction.

What a client is told was stored is stored: each writing subrequest runs
within a ``transaction.savepoint()``; when it fails (4xx), the savepoint is
rolled back, undoing its own writes (and dropping its events) while the
writes of the other subrequests stay. When a data manager of the transaction
cannot roll back to a savepoint, a failed write is embedded as before unless
it is a 409 (an integrity conflict may have left partial writes or a failed
database transaction): then the whole batch answers that 409 and nothing is
committed, rather than reporting earlier writes as done.

The batch owns a memo (:mod:`kinto.core.batch_memo`, which states the rule)
living in its ``bound_data`` while its subrequests run: consecutive record
subrequests read their parent collection and ask list-level authorization
questions (``create`` on a records list...) once. It is cleared after every
subrequest that did not run on a records route only, and after every failed
write (rolled back).
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote, urlsplit

from pyramid import httpexceptions
from pyramid_tm import is_tm_active

from kinto.core import batch_memo, errors, jsonutil, utils
from kinto.core.authentication import IDENTITY_ENVIRON_KEY
from kinto.core.events import EVENTS_KEY
from kinto.core.request import Request
from kinto.core.services import Service

VALID_METHODS = ("GET", "HEAD", "DELETE", "TRACE", "POST", "PUT", "PATCH")
#: Subrequests that do not write, run without a savepoint.
READ_METHODS = frozenset(("GET", "HEAD", "TRACE", "OPTIONS"))
REQUEST_FIELDS = frozenset(("method", "path", "headers", "body"))
PAYLOAD_FIELDS = frozenset(("defaults", "requests"))
DEFAULT_MAX_REQUESTS = 25
#: Redirects followed for one subrequest before giving up.
MAX_REDIRECTS = 5
RECURSION_MESSAGE = "Recursive call on /batch endpoint is forbidden."
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

#: Printable ASCII stays as is in subrequest paths; the rest is %-encoded.
_SAFE_PATH_CHARS = "".join(chr(c) for c in range(33, 127))
#: Batch request headers not passed on to subrequests.
_DROPPED_HEADERS = frozenset(("content-length",))
#: Environ keys copied from the batch request to every subrequest.
_SHARED_ENVIRON_KEYS = (
    "REMOTE_ADDR",
    IDENTITY_ENVIRON_KEY,
    "tm.active",
    "tm.manager",
    "kinto.request_id",
)


# Validation -----------------------------------------------------------------


def _error(name: str, description: str) -> dict:
    return {"location": "body", "name": name, "description": description}


def _check_request_fields(spec: Any, name: str, found: list[dict]) -> None:
    """Check the shape of one request (or of ``defaults``)."""
    if not isinstance(spec, dict):
        found.append(_error(name, "Should be an object"))
        return
    for key in spec.keys() - REQUEST_FIELDS:
        found.append(_error(f"{name}.{key}", f"Unknown field {key!r}"))
    method = spec.get("method")
    if method is not None and method not in VALID_METHODS:
        found.append(
            _error(f"{name}.method", f"{method!r} is not one of {', '.join(VALID_METHODS)}")
        )
    path = spec.get("path")
    if path is not None and not (isinstance(path, str) and path.startswith("/")):
        found.append(_error(f"{name}.path", "Should be a string starting with '/'"))
    headers = spec.get("headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
    ):
        found.append(_error(f"{name}.headers", "Should be an object of string values"))
    body = spec.get("body")
    if body is not None and not isinstance(body, dict):
        found.append(_error(f"{name}.body", "Should be an object"))


def _too_many_requests(max_requests: int):
    # The reference message keeps the "<name> in <location>: " head even
    # though the name appears in the description (errors.md §3).
    description = f"Number of requests is limited to {max_requests}"
    return errors.http_error(
        httpexceptions.HTTPBadRequest(),
        errno=errors.ERRORS.INVALID_PARAMETERS,
        error=errors.INVALID_PARAMETERS_TITLE,
        message=f"requests in body: {description}",
        details=[_error("requests", description)],
    )


def merge_defaults(defaults: dict, spec: dict) -> dict:
    """Return ``spec`` completed with ``defaults``, recursively: values set
    by ``spec`` win, nested objects are merged key by key. Neither input is
    modified."""
    merged = dict(spec)
    for key, value in defaults.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = merge_defaults(value, merged[key])
    return merged


def validate_payload(payload: Any, max_requests: int | None) -> list[dict]:
    """Validate a batch payload; return the requests with defaults merged.

    Raises the 400 validation error (errno 107) listing what is wrong.
    """
    if not isinstance(payload, dict):
        raise errors.json_invalid_error([_error("", "Should be an object")])
    found: list[dict] = []
    for key in payload.keys() - PAYLOAD_FIELDS:
        found.append(_error(key, f"Unknown field {key!r}"))
    requests = payload.get("requests")
    if requests is None:
        found.append(_error("requests", "Required"))
    elif not isinstance(requests, list):
        found.append(_error("requests", "Should be an array"))
    elif max_requests and len(requests) > max_requests:
        raise _too_many_requests(max_requests)
    defaults = payload.get("defaults")
    if defaults is not None:
        _check_request_fields(defaults, "defaults", found)
    if isinstance(requests, list):
        for index, spec in enumerate(requests):
            _check_request_fields(spec, f"requests.{index}", found)
    if found:
        raise errors.json_invalid_error(found)

    merged = [merge_defaults(defaults, spec) for spec in requests] if defaults else requests
    for index, spec in enumerate(merged):
        path = spec.get("path")
        if path is None:
            found.append(_error(f"requests.{index}.path", "Required"))
        elif "/batch" in path:
            found.append(_error("path", RECURSION_MESSAGE))
    if found:
        raise errors.json_invalid_error(found)
    return merged


def _check_content_type(request) -> None:
    if request.content_type not in ("", "application/json"):
        raise errors.json_invalid_error(
            [
                {
                    "location": "header",
                    "name": "Content-Type",
                    "description": "Content-Type header should be one of ['application/json']",
                }
            ],
            code=415,
        )


def _max_requests(settings) -> int | None:
    value = settings.get("batch_max_requests", DEFAULT_MAX_REQUESTS)
    return int(value) if value not in (None, "") else None


# Subrequests ------------------------------------------------------------------


class _BatchContext:
    """What every subrequest of one batch inherits, computed once."""

    def __init__(self, request) -> None:
        self.request = request
        # Touch the principals so that the identity is computed once, on the
        # batch request, and shared through the environ.
        getattr(request, "prefixed_principals", None)
        environ = request.environ
        self.environ = {key: environ[key] for key in _SHARED_ENVIRON_KEYS if key in environ}
        self.headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _DROPPED_HEADERS
        ]
        self.application_url = request.application_url
        self.script_name = request.script_name
        # The API prefix is the first segment of the batch path (``/v1``).
        self.prefix = "/" + request.path_info.split("/")[1]
        self.bound_data = request.bound_data

    def full_path(self, path: str) -> str:
        if not path.isascii():
            path = quote(path, safe=_SAFE_PATH_CHARS)
        prefix = self.prefix
        if path == prefix or path.startswith((prefix + "/", prefix + "?")):
            return path
        return prefix + path

    def build(self, method: str, path: str, headers: dict | None, body: Any) -> Request:
        subrequest = Request.blank(self.full_path(path), base_url=self.application_url)
        subrequest.method = method
        subrequest.environ.update(self.environ)
        sub_headers = subrequest.headers
        for name, value in self.headers:
            sub_headers[name] = value
        if headers:
            for name, value in headers.items():
                if name.lower() not in _DROPPED_HEADERS:
                    sub_headers[name] = value
        if body is not None:
            subrequest.body = jsonutil.dumps(body)
            sub_headers["Content-Type"] = JSON_CONTENT_TYPE
        subrequest.bound_data = self.bound_data
        subrequest.parent = self.request
        return subrequest

    def redirect_path(self, location: str) -> str:
        parts = urlsplit(location)
        path = parts.path
        if self.script_name and path.startswith(self.script_name):
            path = path[len(self.script_name) :]
        return path + ("?" + parts.query if parts.query else "")


def _invoke(request, subrequest: Request):
    """Response of ``subrequest``; exceptions are rendered by the exception
    views (as the exception view tween would), or re-raised if none
    applies."""
    try:
        return request.invoke_subrequest(subrequest, use_tweens=False)
    except Exception as exc:
        exc_info = sys.exc_info()
        try:
            return subrequest.invoke_exception_view(exc_info)
        except httpexceptions.HTTPNotFound:
            if isinstance(exc, httpexceptions.HTTPException):
                return exc
            raise exc from None
        finally:
            del exc_info


def _with_envelope(response):
    """Error responses without a JSON body get the envelope (errno 999)."""
    if response.status_code < 400 or response.content_type == "application/json":
        return response
    if not isinstance(response, httpexceptions.HTTPException):
        response = httpexceptions.exception_response(response.status_code)
    return errors.http_error(response, errno=errors.ERRORS.UNDEFINED)


def _response_body(method: str, response) -> Any:
    if method == "HEAD":
        return ""
    raw = response.body
    content_type = response.content_type or ""
    if raw and (content_type == "application/json" or content_type.endswith("+json")):
        try:
            return jsonutil.loads(raw)
        except ValueError:
            pass
    return raw.decode(response.charset or "utf-8", "replace")


class _Savepoint:
    """A savepoint of the batch transaction and of the pending events,
    taken before a writing subrequest."""

    def __init__(self, request) -> None:
        txn = request.tm.get()
        # Asking a data manager without savepoint support for a savepoint
        # would make the transaction fail: check first.
        resources = getattr(txn, "_resources", ())
        supported = all(_has_savepoints(resource) for resource in resources)
        self.savepoint = txn.savepoint() if supported else None
        self.bound_data = request.bound_data
        pending = self.bound_data.get(EVENTS_KEY) or {}
        self.events = {key: len(entry[1]) for key, entry in pending.items()}

    def rollback(self) -> bool:
        """Undo what happened since; False if a data manager cannot."""
        if self.savepoint is None:
            return False
        self.savepoint.rollback()
        pending = self.bound_data.get(EVENTS_KEY)
        if pending:
            for key in list(pending):
                if key not in self.events:
                    del pending[key]
                else:
                    del pending[key][1][self.events[key] :]
        return True


def _has_savepoints(data_manager) -> bool:
    try:
        data_manager.savepoint  # noqa: B018 (a property that may raise)
    except AttributeError:
        return False
    return True


def _refuse_recursion(request) -> None:
    """400 when this batch runs as a subrequest of another one, whatever
    path reached it (``/%62atch``, ``/buckets/../batch``, a redirect...)."""
    if getattr(request, "parent", None) is not None:
        raise errors.json_invalid_error([_error("path", RECURSION_MESSAGE)])


def post_batch(request):
    """Run the subrequests in order and return their responses."""
    _refuse_recursion(request)
    _check_content_type(request)
    specs = validate_payload(utils.json_body(request), _max_requests(request.registry.settings))
    context = _BatchContext(request)
    memo = batch_memo.start(request)
    try:
        return _run(request, context, specs, memo)
    finally:
        batch_memo.stop(request)


def _run(request, context: _BatchContext, specs: list[dict], memo):
    """The batch's body (``{"responses": [...]}``), or the response the whole
    batch answers when a subrequest fails it."""
    transactional = is_tm_active(request)
    responses = []
    for spec in specs:
        method = spec.get("method", "GET")
        path = spec["path"]
        writes = method not in READ_METHODS
        savepoint = None
        if transactional and writes:
            savepoint = _Savepoint(request)
        keeps_memo = True
        for _ in range(MAX_REDIRECTS + 1):
            subrequest = context.build(method, path, spec.get("headers"), spec.get("body"))
            response = _invoke(request, subrequest)
            if memo is not None and not memo.keeps(subrequest):
                keeps_memo = False
            if response.status_code != 307 or not response.location:
                break
            path = context.redirect_path(response.location)

        response = _with_envelope(response)
        status = response.status_code
        if status >= 500:
            # The whole batch fails with this error: pyramid_tm aborts.
            return response
        if memo is not None and (not keeps_memo or (writes and status >= 400)):
            # Something a remembered fact depends on may have changed (or
            # been rolled back): see kinto.core.batch_memo.
            memo.clear()
        if status >= 400 and savepoint is not None and not savepoint.rollback():
            if status == 409:
                # Earlier writes cannot be kept apart from this one's.
                return response
        responses.append(
            {
                "status": status,
                "path": subrequest.path_info,
                "headers": dict(response.headerlist),
                "body": _response_body(method, response),
            }
        )
    return {"responses": responses}


def includeme(config) -> None:
    """Register the ``batch`` service (``POST /batch``)."""
    service = Service(
        name="batch",
        path="/batch",
        description="Batch operations",
        operation_ids={"POST": "batch"},
    )
    service.add_view("POST", post_batch)
    config.add_cornice_service(service)
