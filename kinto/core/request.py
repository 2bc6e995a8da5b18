"""The request class of the application.

Pyramid attaches ``config.add_request_method(..., reify=True)`` properties by
building a new class for every request, which costs more than a whole
``GET /v1/`` of our own code. The properties every request of this project
uses are therefore declared here, on a ``Request`` subclass installed with
``config.set_request_factory``, and :func:`drop_duplicate_extensions`
removes the per-request copies that libraries (Cornice, pyramid_tm) or our
own modules registered, so Pyramid has nothing left to apply.
"""

from __future__ import annotations

from cornice.util import current_service
from pyramid.decorator import reify
from pyramid.interfaces import IRequestExtensions
from pyramid.request import Request as PyramidRequest
from pyramid_tm import create_tm

from kinto.core.authentication import authenticated_identity, get_identity


class Request(PyramidRequest):
    # Bodies are read whole into memory by the JSON parser anyway; spooling
    # them to a temporary file above webob's 10 KiB default only adds a file
    # that is never closed.
    request_body_tempfile_limit = 8 * 1024 * 1024

    @reify
    def prefixed_userid(self) -> str | None:
        """``"<policy prefix>:<user id>"`` or None when anonymous."""
        return authenticated_identity(self).userid

    @reify
    def prefixed_principals(self) -> list[str]:
        """User id first, ``system.Everyone``, ``system.Authenticated``,
        then group URIs."""
        return list(get_identity(self).principals)

    @reify
    def authn_type(self) -> str | None:
        """Name of the authentication policy that recognised the caller."""
        return authenticated_identity(self).authn_type

    @reify
    def bound_data(self) -> dict:
        """Per-request storage shared by a batch and its subrequests."""
        return {}

    @reify
    def tm(self):
        """The transaction manager (pyramid_tm's ``request.tm``)."""
        return create_tm(self)

    @reify
    def current_service(self):
        """The Cornice service matching the request, or None."""
        return current_service(self)


def drop_duplicate_extensions(registry) -> None:
    """Forget the request extensions this class already provides."""
    extensions = registry.queryUtility(IRequestExtensions)
    if extensions is None:
        return
    for name in list(extensions.descriptors):
        if name in Request.__dict__:
            del extensions.descriptors[name]
