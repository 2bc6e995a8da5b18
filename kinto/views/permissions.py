"""``GET /permissions``: what the caller may do, object by object
(permissions.md §5).

Entries come from the caller's explicit ACEs in the permission backend and
from settings-based grants (``<resource>_<perm>_principals``), which expand
to every existing object of that type. Inherited objects are not expanded.
The list is small (one entry per object the caller holds an ACE on), so it
is filtered, sorted and paginated in memory with the storage's own
comparison semantics.
"""

from __future__ import annotations

from pyramid.settings import asbool, aslist

from kinto.core import utils
from kinto.core.authorization import forbidden
from kinto.core.resource import pagination, preconditions, querystring
from kinto.core.resource.headers import set_timestamp
from kinto.core.resource.preconditions import Kind
from kinto.core.services import Service
from kinto.core.storage import Sort
from kinto.core.storage.utils import compile_filters, sort_objects

ENTRY_FIELDS = (
    "uri",
    "resource_name",
    "permissions",
    "bucket_id",
    "collection_id",
    "group_id",
    "record_id",
    "account_id",
)
DEFAULT_SORT = [Sort("uri", -1)]
HEAD_EXPOSED = (
    *("Next-Page", "Last-Modified", "ETag", "Cache-Control", "Expires", "Pragma"),
    *("Total-Objects", "Total-Records"),
)

#: Permissions of each object type that settings may grant everywhere.
SETTINGS_EXPANDED = {
    "bucket": ("read", "write", "collection:create", "group:create"),
    "collection": ("read", "write", "record:create"),
    "group": ("read", "write"),
}
#: Root-level creation grants: ``setting -> permission name``.
ROOT_GRANTS = {
    "bucket_create_principals": "bucket:create",
    "account_create_principals": "account:create",
}


def is_enabled(settings: dict) -> bool:
    includes = aslist(settings.get("includes") or "")
    return asbool(settings.get("experimental_permissions_endpoint")) or (
        "kinto.plugins.admin" in includes
    )


def make_entry(authorizer, uri: str, permissions) -> dict | None:
    """The listing entry of ``uri``, or None if it is not a listed type."""
    parsed = authorizer.parse(uri)
    if parsed is None or parsed.list_resource is not None:
        return None
    resource_name = parsed.resource_name
    if resource_name == "history":
        return None
    entry = {
        "uri": uri,
        "resource_name": resource_name,
        "permissions": sorted(authorizer.expand(resource_name, permissions)),
    }
    for name, object_uri in parsed.lineage:
        entry[f"{name}_id"] = object_uri.rsplit("/", 1)[-1]
    entry["id"] = entry[f"{resource_name}_id"]
    return entry


def settings_entries(request, principals: set[str]) -> dict[str, set[str]]:
    """``{uri: permissions}`` granted by settings to one of ``principals``."""
    settings = request.registry.settings
    storage = request.registry.storage
    granted: dict[str, set[str]] = {}

    root = {
        perm
        for setting, perm in ROOT_GRANTS.items()
        if principals.intersection(aslist(settings.get(setting) or ""))
    }
    if root:
        granted["/"] = root

    held = {}
    for resource_name, perms in SETTINGS_EXPANDED.items():
        setting = "{}_{}_principals"
        held[resource_name] = [
            perm
            for perm in perms
            if principals.intersection(
                aslist(settings.get(setting.format(resource_name, perm.replace(":", "_"))) or "")
            )
        ]
    if not any(held.values()):
        return granted

    # Rare administrative path: one listing per bucket is acceptable here.
    for bucket in storage.list_all("bucket", ""):
        bucket_uri = f"/buckets/{bucket['id']}"
        if held["bucket"]:
            granted.setdefault(bucket_uri, set()).update(held["bucket"])
        for resource_name in ("collection", "group"):
            if not held[resource_name]:
                continue
            for obj in storage.list_all(resource_name, bucket_uri):
                uri = f"{bucket_uri}/{resource_name}s/{obj['id']}"
                granted.setdefault(uri, set()).update(held[resource_name])
    return granted


def collect_entries(request) -> list[dict]:
    authorizer = request.registry.authorizer
    principals = set(request.prefixed_principals)
    by_uri: dict[str, set[str]] = {}
    accessible = request.registry.permission.get_accessible_objects(principals)
    for uri, perms in accessible.items():
        by_uri.setdefault(uri, set()).update(perms)
    for uri, perms in settings_entries(request, principals).items():
        by_uri.setdefault(uri, set()).update(perms)

    entries = []
    for uri, perms in by_uri.items():
        if uri == "/":
            entries.append({"uri": "/", "resource_name": "root", "permissions": sorted(perms)})
            continue
        entry = make_entry(authorizer, uri, perms)
        if entry is not None:
            entries.append(entry)
    return entries


def get_permissions(request):
    settings = request.registry.settings
    principals = aslist(settings.get("permissions_read_principals") or "")
    if not set(principals).intersection(request.prefixed_principals):
        raise forbidden(request)

    query = querystring.parse_list_query(request.GET, ENTRY_FIELDS)
    sorting = [s for s in query.sorting if s.field != "last_modified"] or DEFAULT_SORT
    # Entries have no timestamp: filters on it match nothing but never fail.
    filters = [f for f in query.filters if f.field != "last_modified"]

    timestamp = utils.msec_time()
    conditions = preconditions.parse(request)
    preconditions.check(request, conditions, Kind.READ, timestamp)

    entries = collect_entries(request)
    predicate = compile_filters(filters)
    if predicate is not None:
        entries = [entry for entry in entries if predicate(entry)]
    response = request.response
    set_timestamp(response, timestamp)

    if request.method == "HEAD":
        response.headers["Total-Objects"] = response.headers["Total-Records"] = str(len(entries))
        response.content_type = "application/json"
        return response

    sort_objects(entries, sorting)
    if query.token:
        token = pagination.decode_token(query.token)
        rules = pagination.pagination_rules(sorting, token.last_object)
        after = compile_filters(pagination_rules=rules)
        entries = [entry for entry in entries if after(entry)]
        offset = token.offset
    else:
        offset = 0

    max_fetch = settings.get("storage_max_fetch_size") or 10000
    paginate_by = settings.get("paginate_by")
    limit = query.limit or paginate_by or max_fetch
    if paginate_by:
        limit = min(limit, paginate_by)
    limit = min(limit, max_fetch)
    if len(entries) > limit:
        entries = entries[:limit]
        token, _ = pagination.encode_token(entries[-1], sorting, offset + limit + 1)
        response.headers["Next-Page"] = pagination.next_page_url(request, limit, token)

    if query.fields:
        keep = ["id", *query.fields]
        entries = [utils.dict_subset(entry, keep) for entry in entries]
    return {"data": entries}


def includeme(config) -> None:
    settings = config.get_settings()
    if not is_enabled(settings):
        return
    service = Service(
        name="permissions",
        path="/permissions",
        description="List of user permissions",
        operation_ids={"GET": "get_permissions", "HEAD": "head_permissions"},
    )
    # Cornice registers HEAD along with GET.
    service.add_view("GET", get_permissions, cors_headers=HEAD_EXPOSED)
    config.add_cornice_service(service)
    config.add_api_capability(
        "permissions_endpoint",
        description="The permissions endpoint can be used to list all user objects permissions.",
        url="https://kinto.readthedocs.io/en/latest/configuration/settings.html#activating-the-permissions-endpoint",
    )
