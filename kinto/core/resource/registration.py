"""Registration of a resource's two Cornice services (``<name>-plural`` and
``<name>-object``) on a Pyramid configuration."""

from __future__ import annotations

from pyramid.settings import asbool

from kinto.core.resource import negotiation
from kinto.core.resource.base import ResourceOptions
from kinto.core.resource.caching import setting_seconds
from kinto.core.services import Service

_TIMESTAMP_HEADERS = ("Last-Modified", "ETag", "Cache-Control", "Expires", "Pragma")
#: Headers exposed to browsers per endpoint, on top of the defaults.
PLURAL_GET_HEADERS = ("Next-Page", *_TIMESTAMP_HEADERS)
PLURAL_HEAD_HEADERS = (*PLURAL_GET_HEADERS, "Total-Objects", "Total-Records")
OBJECT_GET_HEADERS = _TIMESTAMP_HEADERS

#: ``(method, handler, accepted request content types)`` per endpoint.
PLURAL_METHODS = (
    ("GET", "plural_get", None),
    ("POST", "plural_post", negotiation.BODY_TYPES),
    ("DELETE", "plural_delete", None),
)
OBJECT_METHODS = (
    ("GET", "object_get", None),
    ("PUT", "object_put", negotiation.BODY_TYPES),
    ("PATCH", "object_patch", negotiation.PATCH_TYPES),
    ("DELETE", "object_delete", None),
)


def load_options(config, resource_cls) -> ResourceOptions:
    """Read once the settings a resource needs."""
    settings = config.get_settings()
    name = resource_cls.name
    generator = settings.get(f"{name}_id_generator") or settings.get("id_generator")
    if generator is None:
        generator = "kinto.core.storage.generators.UUID4"
    generator = config.maybe_dotted(generator)
    paginate_by = settings.get("paginate_by")
    return ResourceOptions(
        id_generator=generator() if isinstance(generator, type) else generator,
        max_fetch_size=int(settings.get("storage_max_fetch_size") or 10000),
        paginate_by=int(paginate_by) if paginate_by else None,
        explicit_permissions=asbool(settings.get("explicit_permissions", True)),
        token_ttl=int(settings.get("pagination_token_validity_seconds") or 600),
        cache_expires=setting_seconds(settings, f"{name}_cache_expires_seconds"),
        settings=settings,
    )


def _make_view(resource_cls, options: ResourceOptions, handler: str, content_types):
    def view(request):
        negotiation.check_accept(request)
        if content_types is not None:
            negotiation.check_content_type(request, content_types)
        return getattr(resource_cls(request, options), handler)()

    view.__name__ = f"{resource_cls.name}_{handler}"
    return view


def _operation_ids(resource_cls, plural: bool) -> dict[str, str]:
    name = resource_cls.name
    if plural:
        plural_name = resource_cls.plural_path.rsplit("/", 1)[-1]
        return {
            "GET": f"get_{plural_name}",
            "POST": f"create_{name}",
            "DELETE": f"delete_{plural_name}",
        }
    return {
        "GET": f"get_{name}",
        "PUT": f"update_{name}",
        "PATCH": f"patch_{name}",
        "DELETE": f"delete_{name}",
    }


def register(config, resource_cls) -> tuple[Service, Service]:
    """Add the plural and object services of ``resource_cls``.

    Only ``GET``/``HEAD`` are registered in read-only mode; a method is left
    out when ``<plural|object>_<name>_<method>_enabled`` is false. Missing
    methods answer 405.
    """
    settings = config.get_settings()
    options = load_options(config, resource_cls)
    readonly = asbool(settings.get("readonly", False))
    name = resource_cls.name
    services = []
    for kind, path, methods in (
        ("plural", resource_cls.plural_path, PLURAL_METHODS),
        ("object", resource_cls.object_path, OBJECT_METHODS),
    ):
        service = Service(
            name=f"{name}-{kind}",
            path=path,
            description=f"{name.capitalize()} {kind} endpoint",
            operation_ids=_operation_ids(resource_cls, kind == "plural"),
        )
        for method, handler, content_types in methods:
            if readonly and method != "GET":
                continue
            if not asbool(settings.get(f"{kind}_{name}_{method.lower()}_enabled", True)):
                continue
            view = _make_view(resource_cls, options, handler, content_types)
            if method == "GET":
                exposed = PLURAL_GET_HEADERS if kind == "plural" else OBJECT_GET_HEADERS
                service.add_view(method, view, cors_headers=exposed)
                if kind == "plural":
                    _expose_on_head(service, PLURAL_HEAD_HEADERS)
            else:
                service.add_view(method, view)
        config.add_cornice_service(service)
        services.append(service)
    return services[0], services[1]


def _expose_on_head(service: Service, exposed: tuple[str, ...]) -> None:
    """Cornice defines ``HEAD`` with the arguments of ``GET``; give it its
    own exposed headers."""
    for index, (method, view, args) in enumerate(service.definitions):
        if method == "HEAD":
            headers = [*args.get("cors_headers", ()), *exposed]
            service.definitions[index] = (method, view, {**args, "cors_headers": headers})
