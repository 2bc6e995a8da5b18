"""Re-dispatch a ``/buckets/default...`` request to the real bucket URL.

The subrequest keeps the method, the query string, the headers and the body
of the request; it runs without tweens, inside the request's transaction,
with its identity and its ``bound_data`` (so that its events are delivered
with the request's, once). Exceptions raised by the real view propagate and
are rendered by the request's exception views.
"""

from __future__ import annotations

from kinto.core import jsonutil
from kinto.core.authentication import IDENTITY_ENVIRON_KEY
from kinto.core.request import Request

DEFAULT_ID = "default"

#: Environ keys the subrequest shares with the request (identity,
#: transaction, request id), as batch subrequests do.
_SHARED_ENVIRON_KEYS = (
    "REMOTE_ADDR",
    IDENTITY_ENVIRON_KEY,
    "tm.active",
    "tm.manager",
    "kinto.request_id",
)
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


def real_path_info(request, bucket_id: str) -> str:
    """The request's WSGI ``PATH_INFO`` with ``default`` replaced by
    ``bucket_id`` (``/v1/buckets/default/x`` → ``/v1/buckets/<id>/x``)."""
    head = f"/{request.registry.route_prefix}/buckets/"
    path_info = request.environ["PATH_INFO"]
    rest = path_info[len(head) + len(DEFAULT_ID) :]
    return f"{head}{bucket_id}{rest}"


def rewritten_body(request, bucket_id: str) -> bytes | None:
    """The body with ``data.id`` ``"default"`` replaced by ``bucket_id``,
    or None when there is nothing to rewrite (the body is then forwarded
    as is, and the real endpoint reports its errors)."""
    if request.method not in _BODY_METHODS or not request.body:
        return None
    try:
        body = jsonutil.loads(request.body)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    if not isinstance(data, dict) or data.get("id") != DEFAULT_ID:
        return None
    return jsonutil.dumps({**body, "data": {**data, "id": bucket_id}})


def forward(request, bucket_id: str, rewrite_id: bool = False):
    """Return the response of the real URL of ``request``.

    With ``rewrite_id`` (requests on the bucket itself), a body
    ``data.id`` of ``"default"`` becomes ``bucket_id``.
    """
    environ = request.environ
    subrequest = Request.blank("/", base_url=request.application_url)
    sub_environ = subrequest.environ
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            sub_environ[key] = value
    for key in _SHARED_ENVIRON_KEYS:
        if key in environ:
            sub_environ[key] = environ[key]
    if "CONTENT_TYPE" in environ:
        sub_environ["CONTENT_TYPE"] = environ["CONTENT_TYPE"]
    sub_environ["REQUEST_METHOD"] = request.method
    sub_environ["PATH_INFO"] = real_path_info(request, bucket_id)
    sub_environ["QUERY_STRING"] = environ.get("QUERY_STRING", "")

    body = rewritten_body(request, bucket_id) if rewrite_id else None
    if body is None:
        body = request.body
    if body:
        subrequest.body = body
    subrequest.bound_data = request.bound_data
    return request.invoke_subrequest(subrequest, use_tweens=False)
