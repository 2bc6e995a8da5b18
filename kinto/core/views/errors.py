"""Exception views: every error leaves the application as the envelope of
:mod:`kinto.core.errors`.

* Unknown URLs: version-prefix and trailing-slash redirects (307), other
  API versions (404 errno 116), else 404 errno 111.
* ``HTTPForbidden`` without envelope: 401 errno 104 with the
  ``WWW-Authenticate`` challenges when anonymous, else 403 errno 121.
* Other HTTP errors without envelope get one (errno from the status).
* Storage errors: ``BackendError`` → 503 errno 201, integrity conflicts →
  409 errno 122 (``Retry-After`` on both).
* Anything else: 500 errno 999 with ``info``, and the exception is logged.
"""

from __future__ import annotations

import logging
import re

from cornice.renderer import JSONError
from pyramid import httpexceptions
from pyramid.exceptions import URLDecodeError
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from kinto.core import errors, initialization, storage
from kinto.core.authentication import challenge_headers
from kinto.core.errors import ERRORS
from kinto.core.services import EXPOSED_HEADERS, cornice_errors_response, origin_allowed

logger = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "The resource you are looking for could not be found."
METHOD_NOT_ALLOWED_MESSAGE = "Method not allowed on this endpoint."
UNAUTHORIZED_MESSAGE = "Please authenticate yourself to use this endpoint."
FORBIDDEN_MESSAGE = "This user cannot access this resource."
VERSION_MESSAGE = "The requested API version is not available on this server."
BACKEND_MESSAGE = (
    "Service temporary unavailable due to overloading or maintenance, please retry later."
)
INTEGRITY_MESSAGE = "Integrity constraint violated, please retry."
INTERNAL_MESSAGE = "A programmatic error occurred, developers have been informed."

#: errno of an HTTP error raised without envelope, by status code.
ERRNO_BY_STATUS = {
    400: ERRORS.INVALID_PARAMETERS,
    401: ERRORS.MISSING_AUTH_TOKEN,
    403: ERRORS.FORBIDDEN,
    404: ERRORS.MISSING_RESOURCE,
    405: ERRORS.METHOD_NOT_ALLOWED,
    409: ERRORS.CONSTRAINT_VIOLATED,
    410: ERRORS.SERVICE_DEPRECATED,
    412: ERRORS.MODIFIED_MEANWHILE,
    503: ERRORS.BACKEND,
}
MESSAGE_BY_STATUS = {
    404: NOT_FOUND_MESSAGE,
    405: METHOD_NOT_ALLOWED_MESSAGE,
    503: BACKEND_MESSAGE,
}

_VERSION_PREFIX = re.compile(r"^/v\d+(/|$)")


def has_envelope(response) -> bool:
    return response.content_type == "application/json" and bool(response.body)


# HTTP exceptions ------------------------------------------------------------------


def http_error_view(exc, request):
    """Any ``HTTPException``: redirects and successes pass through, errors
    get the envelope if they lack one."""
    if exc.code < 400:
        return exc
    if isinstance(exc, JSONError):
        return cornice_errors_response(request)
    if exc.code == 401 and "WWW-Authenticate" not in exc.headers:
        add_challenges(request, exc)
    if has_envelope(exc):
        return exc
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else None
    info = request.registry.settings.get("error_info_link") if exc.code == 500 else None
    return errors.http_error(
        exc,
        errno=ERRNO_BY_STATUS.get(exc.code, ERRORS.UNDEFINED),
        message=message or MESSAGE_BY_STATUS.get(exc.code, INTERNAL_MESSAGE if info else None),
        info=info,
    )


def forbidden_view(exc, request):
    """401 for anonymous callers (with challenges), 403 otherwise."""
    if has_envelope(exc):
        if exc.code == 401 and "WWW-Authenticate" not in exc.headers:
            add_challenges(request, exc)
        return exc
    if is_authenticated(request):
        return errors.http_error(
            httpexceptions.HTTPForbidden(), errno=ERRORS.FORBIDDEN, message=FORBIDDEN_MESSAGE
        )
    response = errors.http_error(
        httpexceptions.HTTPUnauthorized(),
        errno=ERRORS.MISSING_AUTH_TOKEN,
        message=UNAUTHORIZED_MESSAGE,
    )
    add_challenges(request, response)
    return response


def is_authenticated(request) -> bool:
    return request.prefixed_userid is not None


def add_challenges(request, response) -> None:
    for name, value in challenge_headers(request):
        response.headers.add(name, value)


# Unknown URLs ----------------------------------------------------------------------


def notfound_view(exc, request):
    """Redirects and 404s for URLs no route matched (see module doc)."""
    if has_envelope(exc):
        return exc
    if request.matched_route is not None:
        return errors.http_error(exc, errno=ERRORS.MISSING_RESOURCE, message=NOT_FOUND_MESSAGE)

    settings = request.registry.settings
    path = request.path_info
    prefix = "/" + request.registry.route_prefix
    query = request.query_string

    if not _VERSION_PREFIX.match(path):
        if settings["version_prefix_redirect_enabled"]:
            if request.method == "OPTIONS":
                return preflight_response(request)
            return redirect(
                request,
                prefix + path,
                query,
                settings["version_prefix_redirect_ttl_seconds"],
            )
    elif path != prefix and not path.startswith(prefix + "/"):
        return errors.http_error(
            httpexceptions.HTTPNotFound(),
            errno=ERRORS.VERSION_NOT_AVAILABLE,
            message=VERSION_MESSAGE,
        )
    elif settings["trailing_slash_redirect_enabled"]:
        ttl = settings["trailing_slash_redirect_ttl_seconds"]
        if path == prefix:
            return redirect(request, prefix + "/", query, ttl)
        if path.endswith("/") and path != prefix + "/":
            return redirect(request, path.rstrip("/"), query, ttl)

    return errors.http_error(
        httpexceptions.HTTPNotFound(), errno=ERRORS.MISSING_RESOURCE, message=NOT_FOUND_MESSAGE
    )


def redirect(request, path: str, query: str, ttl) -> Response:
    """307 to ``path`` (query string kept); cache headers when ``ttl >= 0``
    (``0`` means no-cache)."""
    location = request.application_url + path + ("?" + query if query else "")
    response = httpexceptions.HTTPTemporaryRedirect(location=location)
    if ttl is not None and int(ttl) >= 0:
        response.cache_expires(int(ttl))
    return response


def preflight_response(request) -> Response:
    """200 answer to a CORS preflight on an unprefixed URL."""
    response = Response(status=200)
    origin = request.headers.get("Origin")
    origins = getattr(request.registry, "cors_origins", ())
    if origin and origin_allowed(origin, origins):
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
        method = request.headers.get("Access-Control-Request-Method")
        if method:
            headers["Access-Control-Allow-Methods"] = method
        requested = request.headers.get("Access-Control-Request-Headers")
        headers["Access-Control-Allow-Headers"] = ", ".join(
            [*EXPOSED_HEADERS, *([requested] if requested else [])]
        )
        max_age = getattr(request.registry, "cors_max_age", None)
        if max_age is not None:
            headers["Access-Control-Max-Age"] = str(max_age)
    return response


# Other exceptions ------------------------------------------------------------------


def url_decode_view(exc, request):
    return errors.http_error(
        httpexceptions.HTTPBadRequest(),
        errno=ERRORS.INVALID_PARAMETERS,
        message="Invalid URL path.",
    )


def backend_error_view(exc, request):
    logger.error("Backend error: %s", exc, exc_info=exc)
    response = errors.http_error(
        httpexceptions.HTTPServiceUnavailable(), errno=ERRORS.BACKEND, message=BACKEND_MESSAGE
    )
    response.headers["Retry-After"] = str(request.registry.settings["retry_after_seconds"])
    return response


def integrity_error_view(exc, request):
    logger.warning("Integrity error: %s", exc)
    response = errors.http_error(
        httpexceptions.HTTPConflict(), errno=ERRORS.CONSTRAINT_VIOLATED, message=INTEGRITY_MESSAGE
    )
    response.headers["Retry-After"] = str(request.registry.settings["retry_after_seconds"])
    return response


def object_not_found_view(exc, request):
    return errors.http_error(
        httpexceptions.HTTPNotFound(), errno=ERRORS.INVALID_RESOURCE_ID, message=NOT_FOUND_MESSAGE
    )


def modified_meanwhile_view(exc, request):
    details = {"existing": exc.existing} if exc.existing is not None else None
    return errors.http_error(
        httpexceptions.HTTPPreconditionFailed(),
        errno=ERRORS.MODIFIED_MEANWHILE,
        message="Resource was modified meanwhile",
        details=details,
    )


def internal_error_view(exc, request):
    # The query string may carry secrets (an OpenID ``code``): masked.
    path = initialization.loggable_path_qs(request)
    logger.error("Unexpected error on %s %s", request.method, path, exc_info=exc)
    return errors.http_error(
        httpexceptions.HTTPInternalServerError(),
        errno=ERRORS.UNDEFINED,
        message=INTERNAL_MESSAGE,
        info=request.registry.settings.get("error_info_link"),
    )


#: Exception class → view; the most specific class of an exception wins.
EXCEPTION_VIEWS = (
    (Exception, internal_error_view),
    (httpexceptions.HTTPException, http_error_view),
    (httpexceptions.HTTPNotFound, notfound_view),
    (httpexceptions.HTTPForbidden, forbidden_view),
    (URLDecodeError, url_decode_view),
    (storage.BackendError, backend_error_view),
    (storage.IntegrityError, integrity_error_view),
    (storage.UnicityError, integrity_error_view),
    (storage.ObjectNotFoundError, object_not_found_view),
    (storage.ModifiedMeanwhileError, modified_meanwhile_view),
)


def error_response(exc: BaseException, request):
    """Render ``exc`` like the exception views would (used by the outermost
    tween for exceptions raised outside the exception view tween)."""
    for klass in type(exc).__mro__:
        for registered, view in reversed(EXCEPTION_VIEWS):
            if klass is registered:
                try:
                    return view(exc, request)
                except Exception as e:  # a failing error view must not hide the error
                    return internal_error_view(e, request)
    return internal_error_view(exc, request)


def includeme(config) -> None:
    for context, view in EXCEPTION_VIEWS:
        config.add_view(view, context=context, permission=NO_PERMISSION_REQUIRED)
