"""``/buckets/{bucket_id}/history``: the history entries of a bucket.

A plural endpoint only (``GET``/``HEAD``, ``DELETE``; other methods 405,
no object URL) on the generic resource framework, with a closed schema.
Reading needs bucket ``read``/``write`` (or ``history_read_principals``) for
the whole list, else only the entries whose ``read`` ACL names one of the
caller's principals are listed. Deleting needs bucket ``write``.
"""

from __future__ import annotations

from pyramid.settings import asbool
from webob.multidict import MultiDict

from kinto.core import jsonutil, utils
from kinto.core.resource import negotiation, querystring
from kinto.core.resource.base import ResourceBase
from kinto.core.resource.plural import PluralViews
from kinto.core.resource.registration import PLURAL_GET_HEADERS, load_options
from kinto.core.services import Service
from kinto.core.storage import COMPARISON
from kinto.plugins.history.listener import RESOURCE_NAME

ENTRY_FIELDS = (
    "action",
    "resource_name",
    "uri",
    "user_id",
    "date",
    "bucket_id",
    "collection_id",
    "group_id",
    "record_id",
    "target",
)
#: Fields whose filter values are always strings (``?record_id=2``).
STRING_FIELDS = ("bucket_id", "collection_id", "group_id", "record_id")
_LIST_OPERATORS = (COMPARISON.IN.value, COMPARISON.EXCLUDE.value)
_SCALAR_OPERATORS = frozenset(
    op.value
    for op in COMPARISON
    if op not in (COMPARISON.HAS, COMPARISON.CONTAINS, COMPARISON.CONTAINS_ANY)
)

#: Authorization of the ``history`` resource type (see module doc).
INHERITANCE = {
    "read": {"bucket": ["read", "write"], "history": ["read"]},
    "write": {"bucket": ["write"]},
}


def _string_operator(param: str) -> str | None:
    """The operator of a filter on a :data:`STRING_FIELDS` field (``"eq"``
    for a bare field name), or None."""
    for field in STRING_FIELDS:
        if param == field:
            return COMPARISON.EQ.value
        if param.endswith(field) and param[: -len(field)].endswith("_"):
            operator = param[: -len(field) - 1]
            if operator in _SCALAR_OPERATORS:
                return operator
    return None


def _as_json_string(raw: str) -> str:
    """A query value the query parser reads as the string ``raw``."""
    return raw if isinstance(utils.native_value(raw), str) else jsonutil.dumps_str(raw)


def quote_string_filters(params) -> MultiDict | None:
    """``params`` with the values of id filters quoted as JSON strings, or
    None when no parameter needs it."""
    changed = False
    items = []
    for param, value in params.items():
        operator = _string_operator(param)
        if operator is not None:
            if operator in _LIST_OPERATORS:
                quoted = ",".join(_as_json_string(item) for item in value.split(","))
            else:
                quoted = _as_json_string(value)
            changed = changed or quoted != value
            value = quoted
        items.append((param, value))
    return MultiDict(items) if changed else None


class History(PluralViews, ResourceBase):
    name = RESOURCE_NAME
    plural_path = "/buckets/{bucket_id}/history"
    object_path = plural_path + "/{id}"
    permissions = ("read",)
    known_fields = ENTRY_FIELDS

    def list_query(self) -> querystring.ListQuery:
        params = self.request.GET
        params = quote_string_filters(params) or params
        return querystring.parse_list_query(params, self.known_fields)

    def plural_get(self):
        """``HEAD`` answers like ``GET`` without body and without
        ``Total-Objects``."""
        response = super().plural_get()
        if self.request.method == "HEAD":
            del response.headers["Total-Objects"]
            del response.headers["Total-Records"]
        return response

    def count(self, query, ids) -> int:
        # Only HEAD counts, and the count is not sent (see plural_get).
        return 0


def _view(options, handler: str):
    def view(request):
        negotiation.check_accept(request)
        return getattr(History(request, options), handler)()

    view.__name__ = f"history_{handler}"
    return view


def register(config) -> Service:
    """Add the ``history-plural`` service (``DELETE`` only when not read-only)."""
    settings = config.get_settings()
    options = load_options(config, History)
    service = Service(
        name="history-plural",
        path=History.plural_path,
        description="History of a bucket",
        operation_ids={"GET": "get_history", "DELETE": "delete_history"},
    )
    service.add_view("GET", _view(options, "plural_get"), cors_headers=PLURAL_GET_HEADERS)
    if not asbool(settings.get("readonly", False)):
        service.add_view("DELETE", _view(options, "plural_delete"))
    config.add_cornice_service(service)
    return service
