"""Default bucket plugin (plugins.md §2): ``/buckets/default`` is an alias of
the caller's personal bucket, created on first use.

Enabled with ``includes = kinto.plugins.default_bucket``. The bucket id is
derived from the user id with ``default_bucket_hmac_secret``
(:func:`~kinto.plugins.default_bucket.ids.default_bucket_id`); hello shows
it as ``user.bucket``.

``/buckets/default`` also matches the patterns of the bucket routes
(``/buckets/{id}``...), which are registered first: the plugin's routes are
moved to the front of the route list once the configuration is committed,
so that they win.
"""

from __future__ import annotations

from pyramid.interfaces import PHASE3_CONFIG
from pyramid.settings import asbool

from kinto.core.resource.registration import PLURAL_HEAD_HEADERS, load_options
from kinto.core.services import Service
from kinto.plugins.default_bucket.ids import default_bucket_id
from kinto.plugins.default_bucket.views import Options, make_view
from kinto.views.collections import Collection

__all__ = ["default_bucket_id", "includeme"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: ``(service name, path)``; the subpath never ends with ``/`` so that such
#: URLs get the usual trailing-slash redirect.
ROUTES = (
    ("default_bucket", "/buckets/default"),
    ("default_bucket_subpath", "/buckets/default/{subpath:.*[^/]}"),
)


def user_bucket(secret: str):
    """Hello ``user`` extra: ``bucket`` = the personal bucket id."""

    def add_bucket(request, user: dict) -> None:
        user["bucket"] = default_bucket_id(secret, user["id"])

    return add_bucket


def give_precedence(config, route_names: set[str]) -> None:
    """Once every route is connected, move ``route_names`` to the front of
    the route list (routes match in list order)."""
    mapper = config.get_routes_mapper()

    def reorder() -> None:
        routes = mapper.get_routes()
        first = [route for route in routes if route.name in route_names]
        routes[:] = first + [route for route in routes if route.name not in route_names]

    # Route connections are ordinary actions (order 0): run after them.
    config.action(None, reorder, order=PHASE3_CONFIG + 1)


def includeme(config) -> None:
    settings = config.get_settings()
    secret = settings.get("default_bucket_hmac_secret") or ""
    options = Options(
        secret=secret,
        explicit_permissions=asbool(settings.get("explicit_permissions", True)),
        collection_ids=load_options(config, Collection).id_generator,
    )
    view = make_view(options)
    for name, path in ROUTES:
        service = Service(name=name, path=path, description="The user's personal bucket")
        for method in METHODS:
            service.add_view(method, view, cors_headers=PLURAL_HEAD_HEADERS)
        config.add_cornice_service(service)
    give_precedence(config, {name for name, _ in ROUTES})

    config.registry.hello_user_extras.append(user_bucket(secret))
    config.add_api_capability(
        "default_bucket",
        description="The default bucket is an alias for a personal bucket where "
        "collections are created implicitly.",
        url="https://kinto.readthedocs.io/en/latest/api/1.x/buckets.html#personal-bucket-default",
    )
