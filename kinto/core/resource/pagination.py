"""Pagination tokens and the ``Next-Page`` URL (querying.md §5).

A token is ``base64(JSON {"last_object", "offset", "nonce"})``:
``last_object`` holds, for each sort field, the value of the last object of
the page (absent fields omitted). The next page is the set of objects that
sort strictly after that object, expressed as storage pagination rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlencode

from kinto.core import errors, jsonutil, utils
from kinto.core.resource import schema
from kinto.core.storage import COMPARISON, MISSING, Filter, PaginationRules, Sort

NONCE_PREFIX = "pagination-token-"
_TOKEN_ESCAPES = str.maketrans({"+": "%2B", "/": "%2F", "=": "%3D"})
_NOT_FOUND = object()


class Token(NamedTuple):
    """A decoded pagination token."""

    last_object: dict[str, Any]
    offset: int
    nonce: str | None


def encode_token(obj: dict, sorting: Iterable[Sort], offset: int) -> tuple[str, str]:
    """Build the token resuming after ``obj``; return ``(token, nonce)``."""
    last_object = {}
    for sort in sorting:
        value = utils.find_nested_value(obj, sort.field, _NOT_FOUND)
        if value is not _NOT_FOUND:
            last_object[sort.field] = value
    nonce = f"{NONCE_PREFIX}{uuid.uuid4()}"
    payload = {"last_object": last_object, "offset": offset, "nonce": nonce}
    return utils.encode64(jsonutil.dumps_str(payload)), nonce


def decode_token(token: str) -> Token:
    """Decode a token, raising the 400 ``_token has invalid content`` error."""
    try:
        text = utils.decode64(token)
        payload = jsonutil.loads(text)
    except ValueError:
        text, payload = "", None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("last_object"), dict)
        or "offset" not in payload
        # No stored value holds a NUL (bodies are checked), and PostgreSQL
        # cannot even compare with one.
        or ("\\u0000" in text and schema.contains_nul(payload["last_object"]))
    ):
        errors.raise_invalid("querystring", None, "_token has invalid content")
    offset = payload["offset"]
    if type(offset) is not int:
        offset = 0
    nonce = payload.get("nonce")
    return Token(payload["last_object"], offset, nonce if isinstance(nonce, str) else None)


def pagination_rules(sorting: list[Sort], last_object: dict[str, Any]) -> PaginationRules:
    """Rules selecting the objects sorted strictly after ``last_object``.

    For sorts ``f1..fn``: OR over ``k`` of (``f1 = v1 ... f(k-1) = v(k-1)``
    and ``fk`` after ``vk`` in its direction). Absent values are
    :data:`~kinto.core.storage.MISSING`.
    """
    rules = []
    values = [last_object.get(sort.field, MISSING) for sort in sorting]
    for k in range(len(sorting) - 1, -1, -1):
        rule = [Filter(sorting[i].field, values[i], COMPARISON.EQ) for i in range(k)]
        operator = COMPARISON.LT if sorting[k].direction < 0 else COMPARISON.GT
        rule.append(Filter(sorting[k].field, values[k], operator))
        rules.append(rule)
    return rules


def next_page_url(request, limit: int, token: str) -> str:
    """Absolute URL of the next page: the request URL with every original
    parameter, ``_limit`` and ``_token``. Scheme and host are the request's
    (``http_scheme``/``http_host`` apply), a default port left out."""
    settings = request.registry.settings
    scheme = settings.get("http_scheme")
    host = settings.get("http_host")
    if scheme or host:
        origin = f"{scheme or request.scheme}://{host or request.host}"
    else:
        origin = request.host_url
    params = [(k, v) for k, v in request.GET.items() if k not in ("_limit", "_token")]
    # The token is standard base64: only "+", "/" and "=" need escaping
    # (as urlencode would, without its per-character pass).
    own = f"_limit={limit}&_token={token.translate(_TOKEN_ESCAPES)}"
    query = f"{urlencode(params)}&{own}" if params else own
    return f"{origin}{request.path}?{query}"
