"""The generic resource framework.

A resource is declared by subclassing :class:`Resource` and registered with
:func:`register`::

    class Record(Resource):
        name = "record"
        plural_path = "/buckets/{bucket_id}/collections/{collection_id}/records"
        object_path = plural_path + "/{id}"

    register(config, Record)

Modules, one concern each: :mod:`.base` (declaration, per-request state,
hooks), :mod:`.plural` and :mod:`.objects` (the generic handlers),
:mod:`.registration` (Cornice services), :mod:`.querystring`,
:mod:`.pagination`, :mod:`.preconditions`, :mod:`.patch`, :mod:`.schema`,
:mod:`.negotiation`, :mod:`.headers`, :mod:`.caching`.
"""

from kinto.core.resource.base import ResourceBase, ResourceOptions
from kinto.core.resource.objects import ObjectViews
from kinto.core.resource.plural import PluralViews
from kinto.core.resource.registration import register

__all__ = ["Resource", "ResourceOptions", "register"]


class Resource(PluralViews, ObjectViews, ResourceBase):
    """A resource with plural and object endpoints (see :class:`ResourceBase`
    for what to declare and the hooks to override)."""
