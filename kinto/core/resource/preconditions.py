"""``If-Match`` / ``If-None-Match`` handling (querying.md §8).

Header values are ``"<digits>"`` or ``*``. :func:`check` applies the matrix
for one request once the current state of its target is known; it raises
``304`` or ``412`` responses.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

from pyramid import httpexceptions

from kinto.core import errors
from kinto.core.resource import headers

ANY = "*"
_QUOTED = re.compile(r'^"(\d+)"$')


class Kind(enum.Enum):
    """How a request treats its target (columns of the matrix)."""

    READ = "read"  # GET/HEAD: If-None-Match "<ts>" may give 304
    CREATE_OR_REPLACE = "put"  # PUT, POST: a missing target is fine
    MODIFY = "modify"  # PATCH, DELETE, plural DELETE: the target must exist


class Preconditions(NamedTuple):
    """Parsed headers: an ``int`` timestamp, :data:`ANY` or ``None``."""

    if_match: int | str | None
    if_none_match: int | str | None

    @property
    def expected_timestamp(self) -> int | None:
        """The timestamp to pass to the storage ``if_match`` argument."""
        return self.if_match if isinstance(self.if_match, int) else None


def _parse(request, name: str, key: str) -> int | str | None:
    value = request.environ.get(key)
    if value is None:
        return None
    value = value.strip()
    if value == ANY:
        return ANY
    match = _QUOTED.match(value)
    if match is None or len(match.group(1)) > 19 or int(match.group(1)) >= 2**63:
        errors.raise_invalid("header", name, "The value should be integer between double quotes.")
    return int(match.group(1))


def parse(request) -> Preconditions:
    """Parse both headers; a malformed one raises the 400 error."""
    return Preconditions(
        _parse(request, "If-Match", "HTTP_IF_MATCH"),
        _parse(request, "If-None-Match", "HTTP_IF_NONE_MATCH"),
    )


def check(
    request,
    preconditions: Preconditions,
    kind: Kind,
    timestamp: int,
    exists: bool = True,
    existing: dict | None = None,
) -> None:
    """Raise ``304`` or ``412`` as the matrix says.

    ``timestamp`` is the current timestamp of the target (object or list);
    ``exists`` tells whether the target exists; ``existing`` (the current
    object) goes into the 412 ``details`` on object endpoints.
    """
    if_match, if_none_match = preconditions
    if if_none_match is not None:
        if if_none_match == ANY:
            if exists:
                raise precondition_failed(timestamp, existing)
        elif kind is Kind.READ and exists and if_none_match == timestamp:
            raise not_modified(timestamp)
    if if_match is not None:
        if not exists or (if_match != ANY and if_match != timestamp):
            raise precondition_failed(timestamp, existing)


def not_modified(timestamp: int) -> httpexceptions.HTTPException:
    response = httpexceptions.HTTPNotModified()
    headers.set_timestamp(response, timestamp)
    return response


def precondition_failed(
    timestamp: int | None, existing: dict | None = None
) -> httpexceptions.HTTPException:
    """The 412 error (errno 114), with ``details.existing`` when given."""
    details = {"existing": existing} if existing is not None else None
    error = errors.http_error(
        httpexceptions.HTTPPreconditionFailed(),
        errno=errors.ERRORS.MODIFIED_MEANWHILE,
        message="Resource was modified meanwhile",
        details=details,
    )
    if timestamp is not None:
        headers.set_timestamp(error, timestamp)
    return error
