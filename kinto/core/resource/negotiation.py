"""Content negotiation of resource endpoints (resources.md §0.2): the
response is always JSON (``Accept`` → 406) and request bodies are JSON
(``Content-Type`` → 415)."""

from __future__ import annotations

from collections.abc import Sequence

from kinto.core import errors

JSON = "application/json"
BODY_TYPES = (JSON,)
PATCH_TYPES = (JSON, "application/merge-patch+json", "application/json-patch+json")
_OFFERS = [JSON]
#: Media ranges that accept JSON when listed without parameters (no ``q``).
_JSON_RANGES = frozenset((JSON, "application/*", "*/*"))


def check_accept(request) -> None:
    """406 unless the ``Accept`` header (if any) accepts JSON."""
    accept = request.environ.get("HTTP_ACCEPT")
    if accept is None:
        return
    if ";" not in accept and not _JSON_RANGES.isdisjoint(
        media.strip().lower() for media in accept.split(",")
    ):
        # The common headers, without quality values: no need to parse.
        return
    if not request.accept.acceptable_offers(_OFFERS):
        description = f"Accept header should be one of {_OFFERS}"
        raise errors.json_invalid_error(
            [{"location": "header", "name": "Accept", "description": description}], code=406
        )


def content_type(request) -> str:
    """The request media type, lower-cased, without parameters (``""`` when
    absent)."""
    return request.content_type.lower()


def check_content_type(request, allowed: Sequence[str]) -> None:
    """415 unless the request has no ``Content-Type`` or one of ``allowed``
    (case-insensitive; parameters such as ``charset`` are ignored)."""
    content_type = request.content_type.lower()
    if content_type and content_type not in allowed:
        description = f"Content-Type header should be one of {list(allowed)}"
        raise errors.json_invalid_error(
            [{"location": "header", "name": "Content-Type", "description": description}],
            code=415,
        )
