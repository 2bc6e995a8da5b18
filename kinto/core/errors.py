"""The error envelope and errno table (errors.md).

Every error response body is ``{code, errno, error, message?, details?,
info?}``. Views raise the exceptions built by :func:`http_error` or
:func:`raise_invalid`; exception views in :mod:`kinto.core.views.errors`
turn everything else into the envelope.
"""

from __future__ import annotations

import enum
from typing import Any

from pyramid import httpexceptions

from kinto.core import jsonutil


class ERRORS(enum.IntEnum):
    MISSING_AUTH_TOKEN = 104
    INVALID_AUTH_TOKEN = 105
    BADJSON = 106
    INVALID_PARAMETERS = 107
    MISSING_PARAMETERS = 108
    INVALID_POSTED_DATA = 109
    INVALID_RESOURCE_ID = 110
    MISSING_RESOURCE = 111
    MISSING_CONTENT_LENGTH = 112
    REQUEST_TOO_LARGE = 113
    MODIFIED_MEANWHILE = 114
    METHOD_NOT_ALLOWED = 115
    VERSION_NOT_AVAILABLE = 116
    CLIENT_REACHED_CAPACITY = 117
    FORBIDDEN = 121
    CONSTRAINT_VIOLATED = 122
    BACKEND = 201
    SERVICE_DEPRECATED = 202
    UNDEFINED = 999


INVALID_PARAMETERS_TITLE = "Invalid parameters"


def build_envelope(
    code: int,
    errno: int,
    error: str,
    message: str | None = None,
    info: str | None = None,
    details: Any = None,
) -> dict:
    """Return the error body; ``message``, ``info`` and ``details`` are
    omitted when empty."""
    body: dict[str, Any] = {"code": code, "errno": int(errno), "error": error}
    if message is not None:
        body["message"] = message
    if info is not None:
        body["info"] = info
    if details not in (None, [], {}):
        body["details"] = details
    return body


def http_error(
    httpexception: httpexceptions.HTTPException,
    errno: int | None = None,
    code: int | None = None,
    error: str | None = None,
    message: str | None = None,
    info: str | None = None,
    details: Any = None,
) -> httpexceptions.HTTPException:
    """Turn a Pyramid HTTP exception into one carrying the JSON envelope.

    The returned exception can be raised or returned by a view.
    """
    code = code or httpexception.code
    errno = ERRORS.UNDEFINED if errno is None else errno
    error = error or httpexception.title
    body = build_envelope(code, errno, error, message, info, details)
    response = httpexception
    response.status_code = code
    response.body = jsonutil.dumps(body)
    response.content_type = "application/json"
    response.charset = None
    return response


def format_message(location: str, name: str | None, description: str) -> str:
    """Build the human message of a validation error (errors.md §3)."""
    if name is None:
        return f"{location}: {description}"
    if name and name not in description:
        return f"{name} in {location}: {description}"
    return description


def json_invalid_error(
    errors: list[dict],
    code: int = 400,
) -> httpexceptions.HTTPException:
    """Build the 400/406/415 validation error from ``[{location, name,
    description}]``; details are sorted by name, the message comes from the
    first one."""
    errors = sorted(errors, key=lambda e: e.get("name") or "")
    first = errors[0]
    message = format_message(first["location"], first.get("name"), first["description"])
    exc_class = {
        406: httpexceptions.HTTPNotAcceptable,
        415: httpexceptions.HTTPUnsupportedMediaType,
    }.get(code, httpexceptions.HTTPBadRequest)
    return http_error(
        exc_class(),
        errno=ERRORS.INVALID_PARAMETERS,
        code=code,
        error=INVALID_PARAMETERS_TITLE,
        message=message,
        details=errors,
    )


def raise_invalid(
    location: str = "body",
    name: str | None = "",
    description: str = "",
    code: int = 400,
) -> None:
    """Raise a validation error (errno 107) for one parameter."""
    raise json_invalid_error(
        [{"location": location, "name": name, "description": description}], code=code
    )
