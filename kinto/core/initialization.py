"""Set-up steps run by :func:`kinto.core.includeme`, and the tweens.

Everything a request needs is computed here once, from the settings, and
stored on the registry; the tweens only read those precomputed values.

Two tweens are installed:

* :func:`response_tween_factory`, outermost (over ``pyramid_tm`` and the
  exception view tween): security headers, ``Backoff``, soft end-of-service
  ``Alert``, ``Retry-After`` on 503/409, CORS on errors and redirects, the
  ``request.summary`` log line, and a last-resort conversion of any
  exception escaping the inner layers (e.g. a failing commit) into the
  error envelope.
* :func:`request_checks_tween_factory`, just above the views (inside the
  exception view tween, so what it raises is rendered by the error views):
  invalid UTF-8 in path/query (400), hard end-of-service (410), read-only
  mode (405), and the ``http_scheme``/``http_host`` overrides.
"""

from __future__ import annotations

import datetime
import gc
import importlib
import logging
import random
import socket
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

from dateutil import parser as dateparser
from pyramid import httpexceptions
from pyramid.exceptions import ConfigurationError
from pyramid.settings import aslist
from pyramid.threadlocal import get_current_request
from pyramid.tweens import EXCVIEW

from kinto.core import errors, jsonutil
from kinto.core.services import apply_cors_headers, cornice_errors_response
from kinto.core.utils import SAFE_METHODS

summary_logger = logging.getLogger("request.summary")

CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
EOS_MESSAGE = "The service you are trying to connect no longer exists at this location."
#: Query-string parameters never written to logs: names containing one of
#: these words (``_token``, a pagination token, excepted)...
SECRET_PARAMETERS = ("password", "secret", "token", "code")
#: ... and these exact names (the OpenID ``state`` ties a browser to a login).
SECRET_PARAMETER_NAMES = frozenset(("state",))
MASK = "***"


# Garbage collector ----------------------------------------------------------

_startup_frozen = False


def freeze_startup_objects() -> None:
    """Keep the objects alive once the first application of the process is
    built (modules, registries, views, settings) out of the garbage
    collector's full passes: they live as long as the process, and walking
    them again and again cost a server about a tenth of its CPU. Full
    passes then only walk what requests and data created. Once per process
    (later calls do nothing), after a collection, so that no garbage of the
    start-up is kept."""
    global _startup_frozen
    if _startup_frozen:
        return
    _startup_frozen = True
    gc.collect()
    gc.freeze()


# JSON renderer ---------------------------------------------------------------


class JSONRenderer:
    """Pyramid renderer factory using :mod:`kinto.core.jsonutil` (orjson).

    Sets ``Content-Type: application/json`` unless the view chose another
    one; a ``204`` gets no body. ``render_errors`` lets Cornice services
    declared with plain ``cornice.Service`` render validation errors as the
    error envelope too.
    """

    def __call__(self, info):
        return self.render

    @staticmethod
    def render(value: Any, system: dict) -> bytes:
        request = system.get("request")
        if request is not None:
            response = request.response
            if response.status_code == 204:
                response.content_type = None
                return b""
            if response.content_type == response.default_content_type:
                response.content_type = "application/json"
        return jsonutil.dumps(value)

    @staticmethod
    def render_errors(request):
        return cornice_errors_response(request)


def setup_json_renderer(config) -> None:
    """Register the renderer as ``json``, ``cornicejson`` and under the name
    of the ``json_renderer`` setting."""
    renderer = JSONRenderer()
    names = {"json", "cornicejson", config.registry.settings.get("json_renderer") or "json"}
    for name in sorted(names):
        config.add_renderer(name, renderer)


# Cornice & capabilities --------------------------------------------------------


def setup_cornice(config) -> None:
    config.include("cornice")


def add_api_capability(config, identifier: str, description: str = "", url: str = "", **kw):
    """Configurator directive: expose ``identifier`` in hello ``capabilities``.

    Registering the same name twice is a :class:`ConfigurationError`.
    """
    capabilities = config.registry.api_capabilities
    if identifier in capabilities:
        raise ConfigurationError(f"The capability {identifier!r} is already registered.")
    capabilities[identifier] = {"description": description, "url": url, **kw}


def setup_registry_extras(config) -> None:
    """``add_api_capability`` directive, public settings, heartbeats, CORS."""
    registry = config.registry
    settings = registry.settings
    registry.api_capabilities = {}
    config.add_directive("add_api_capability", add_api_capability)
    registry.public_settings = {"batch_max_requests", "readonly", "explicit_permissions"}
    registry.heartbeats = {}

    registry.cors_origins = tuple(aslist(settings.get("cors_origins") or ""))
    max_age = settings.get("cors_max_age_seconds")
    registry.cors_max_age = int(max_age) if max_age not in (None, "") else None


# Backends --------------------------------------------------------------------------


def load_backend(config, setting: str):
    """Import the module named by ``setting`` and call its
    ``load_from_config(config)``; a missing module is a start-up error
    naming the setting."""
    dotted = config.registry.settings.get(setting)
    if not dotted:
        raise ConfigurationError(f"Setting '{setting}' is empty: a backend module is required.")
    try:
        module = importlib.import_module(dotted)
    except ImportError as e:
        raise ConfigurationError(
            f"Setting '{setting}': cannot import backend module {dotted!r} ({e})."
        ) from e
    factory = getattr(module, "load_from_config", None)
    if factory is None:
        raise ConfigurationError(
            f"Setting '{setting}': module {dotted!r} has no load_from_config()."
        )
    return factory(config)


def setup_backends(config) -> None:
    """Load storage, permission and cache backends and their heartbeats."""
    registry = config.registry
    for name in ("storage", "permission", "cache"):
        backend = load_backend(config, f"{name}_backend")
        setattr(registry, name, backend)
        registry.heartbeats[name] = _heartbeat_check(backend)


def _heartbeat_check(backend):
    def check(request) -> bool:
        return backend.heartbeat()

    return check


# Parts written elsewhere -------------------------------------------------


def setup_authentication(config) -> None:
    config.include("kinto.core.authentication")


def setup_request_factory(config) -> None:
    """Our :class:`~kinto.core.request.Request` class, and once every
    include ran, no per-request copy of the properties it declares."""
    from pyramid.interfaces import PHASE3_CONFIG

    from kinto.core.request import Request, drop_duplicate_extensions

    config.set_request_factory(Request)
    config.action(
        ("kinto", "request extensions"),
        lambda: drop_duplicate_extensions(config.registry),
        order=PHASE3_CONFIG + 1,
    )


def setup_events(config) -> None:
    config.include("kinto.core.events")


def setup_views(config) -> None:
    config.include("kinto.core.views")


# Tweens --------------------------------------------------------------------------


def parse_eos(value: Any) -> datetime.datetime | None:
    """Parse the ``eos`` setting (any date string) into a naive datetime."""
    if value in (None, ""):
        return None
    try:
        parsed = dateparser.parse(str(value))
    except (ValueError, OverflowError) as e:
        raise ConfigurationError(f"Setting 'eos': invalid date {value!r}.") from e
    return parsed.replace(tzinfo=None)


def setup_tweens(config) -> None:
    """Precompute what the tweens need, then register them."""
    registry = config.registry
    settings = registry.settings

    registry.eos_date = parse_eos(settings.get("eos"))
    alert = {
        "code": "soft-eol",
        "message": settings.get("eos_message"),
        "url": settings.get("eos_url") or settings.get("project_docs"),
    }
    registry.eos_soft_alert = jsonutil.dumps_str(alert)
    registry.eos_hard_alert = jsonutil.dumps_str({**alert, "code": "hard-eol"})

    backoff = settings.get("backoff")
    registry.backoff = str(backoff) if backoff not in (None, "") else None
    percentage = settings.get("backoff_percentage")
    registry.backoff_percentage = float(percentage) if percentage not in (None, "") else None
    registry.retry_after = str(settings.get("retry_after_seconds"))
    registry.readonly = bool(settings.get("readonly"))
    registry.http_scheme = settings.get("http_scheme") or None
    registry.http_host = settings.get("http_host") or None

    config.add_tween(
        "kinto.core.initialization.response_tween_factory",
        over=("pyramid_tm.tm_tween_factory", EXCVIEW),
    )
    config.add_tween("kinto.core.initialization.request_checks_tween_factory", under=EXCVIEW)


def request_checks_tween_factory(handler, registry):
    """Reject what must not reach a view (see module doc)."""
    eos_date = registry.eos_date
    hard_alert = registry.eos_hard_alert
    readonly = registry.readonly
    scheme = registry.http_scheme
    host = registry.http_host

    def request_checks_tween(request):
        environ = request.environ
        check_utf8(environ)
        if eos_date is not None and datetime.datetime.now() >= eos_date:
            error = errors.http_error(
                httpexceptions.HTTPGone(),
                errno=errors.ERRORS.SERVICE_DEPRECATED,
                message=EOS_MESSAGE,
            )
            error.headers["Alert"] = hard_alert
            raise error
        if readonly and request.method not in SAFE_METHODS:
            error = errors.http_error(
                httpexceptions.HTTPMethodNotAllowed(),
                errno=errors.ERRORS.METHOD_NOT_ALLOWED,
                message="Method not allowed on this endpoint.",
            )
            error.allow = SAFE_METHODS
            raise error
        if scheme is not None:
            environ["wsgi.url_scheme"] = scheme
        if host is not None:
            environ["HTTP_HOST"] = host
        return handler(request)

    return request_checks_tween


def check_utf8(environ: dict) -> None:
    """Raise the 400 error (errno 107) when the path or the query string is
    not valid UTF-8 once percent-decoded."""
    path = environ.get("PATH_INFO", "")
    if not path.isascii():
        try:
            path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise invalid_url_error("Invalid URL path.") from None
    query = environ.get("QUERY_STRING", "")
    if query and ("%" in query or not query.isascii()):
        try:
            unquote_to_bytes(query.encode("latin-1").replace(b"+", b" ")).decode("utf-8")
        except UnicodeError:
            raise invalid_url_error("Invalid URL querystring.") from None


def invalid_url_error(message: str):
    return errors.http_error(
        httpexceptions.HTTPBadRequest(),
        errno=errors.ERRORS.INVALID_PARAMETERS,
        message=message,
    )


def response_tween_factory(handler, registry):
    """Decorate every response (see module doc)."""
    from kinto.core.views.errors import error_response

    backoff = registry.backoff
    backoff_percentage = registry.backoff_percentage
    eos_date = registry.eos_date
    soft_alert = registry.eos_soft_alert
    retry_after = registry.retry_after

    def response_tween(request):
        start = time.perf_counter()
        try:
            response = handler(request)
        except Exception as exc:
            response = error_response(exc, request)
        # One pass over the header list (``response.headers`` rescans it
        # for every header set).
        headerlist = response.headerlist
        present = {name.lower() for name, _ in headerlist}
        if "content-security-policy" not in present:
            headerlist.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        if "x-content-type-options" not in present:
            headerlist.append(("X-Content-Type-Options", "nosniff"))
        if backoff is not None and (
            backoff_percentage is None or random.random() * 100 < backoff_percentage
        ):
            response.headers["Backoff"] = backoff
        if eos_date is not None and "alert" not in present:
            headerlist.append(("Alert", soft_alert))
        status = response.status_code
        if status >= 300:
            if status in (503, 409):
                response.headers["Retry-After"] = retry_after
            apply_cors_headers(request, response)
        if summary_logger.isEnabledFor(logging.INFO):
            log_summary(request, response, time.perf_counter() - start)
        return response

    return response_tween


# Request summary -------------------------------------------------------------------


def request_id(request) -> str:
    """The request id: the ``X-Request-Id`` header, else a generated one."""
    environ = request.environ
    rid = environ.get("kinto.request_id")
    if rid is None:
        rid = environ.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex
        environ["kinto.request_id"] = rid
    return rid


def log_summary(request, response, duration: float) -> None:
    """One INFO line on ``request.summary`` with the fields of
    settings-cli.md §2.6 in ``extra``. Credentials are never logged."""
    environ = request.environ
    identity = environ.get("kinto.identity")  # set by kinto.core.authentication
    errno = None
    if response.status_code >= 400 and response.content_type == "application/json":
        try:
            errno = jsonutil.loads(response.body).get("errno")
        except (ValueError, AttributeError):
            errno = None
    path = environ.get("PATH_INFO", "")
    summary = {
        "agent": environ.get("HTTP_USER_AGENT"),
        "path": path.encode("latin-1").decode("utf-8", "replace"),
        "method": environ.get("REQUEST_METHOD"),
        "lang": environ.get("HTTP_ACCEPT_LANGUAGE"),
        "rid": request_id(request),
        "errno": errno,
        "time": datetime.datetime.now(datetime.UTC).isoformat(),
        "code": response.status_code,
        "t": int(duration * 1000),
        "uid": getattr(identity, "userid", None),
        "authn_type": getattr(identity, "authn_type", None),
        "querystring": safe_querystring(environ.get("QUERY_STRING", "")),
    }
    summary_logger.info(
        '"%s %s" %s (%s ms)',
        summary["method"],
        summary["path"],
        summary["code"],
        summary["t"],
        extra={"summary": summary},
    )


def is_secret_parameter(name: str) -> bool:
    """True if the query-string parameter ``name`` must not be logged."""
    lowered = name.lower()
    if lowered in SECRET_PARAMETER_NAMES:
        return True
    return lowered != "_token" and any(word in lowered for word in SECRET_PARAMETERS)


def safe_querystring(query: str) -> dict[str, str]:
    """Parse the query string for logging, masking secret-looking values."""
    result = {}
    for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        result[key] = MASK if is_secret_parameter(key) else value
    return result


def loggable_path_qs(request) -> str:
    """The request's path and query string, secret-looking values masked."""
    query = request.environ.get("QUERY_STRING", "")
    if not query:
        return request.path
    masked = safe_querystring(query)
    return request.path + "?" + urlencode(list(masked.items()), safe="*")


# Logging classes named in INI files ------------------------------------------------

#: Python level → syslog severity (MozLog ``Severity``).
SYSLOG_SEVERITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class StreamHandlerWithRequestID(logging.StreamHandler):
    """``StreamHandler`` adding ``rid`` (the current request id, or None) to
    every record, for formats like ``%(rid)s``."""

    def emit(self, record: logging.LogRecord) -> None:
        if not hasattr(record, "rid"):
            request = get_current_request()
            record.rid = request_id(request) if request is not None else None
        super().emit(record)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record in the MozLog 2.0 layout: ``Timestamp``
    (ns), ``Type`` (logger name), ``Logger``, ``Hostname``, ``EnvVersion``,
    ``Severity``, ``Pid`` and ``Fields`` (the message, the extra
    attributes, and the request summary fields when present)."""

    def __init__(self, fmt=None, datefmt=None, style="%", logger_name="kinto", **kw):
        super().__init__(fmt, datefmt, style, **kw)
        self.logger_name = logger_name
        self.hostname = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {}
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key != "summary":
                fields[key] = value
        fields.update(getattr(record, "summary", None) or {})
        fields["msg"] = record.getMessage()
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        document = {
            "Timestamp": int(record.created * 1_000_000_000),
            "Type": record.name,
            "Logger": self.logger_name,
            "Hostname": self.hostname,
            "EnvVersion": "2.0",
            "Severity": SYSLOG_SEVERITY.get(record.levelno, 7),
            "Pid": record.process,
            "Fields": fields,
        }
        try:
            return jsonutil.dumps_str(document)
        except TypeError:
            document["Fields"] = {key: _plain(value) for key, value in fields.items()}
            return jsonutil.dumps_str(document)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        jsonutil.dumps(value)
    except TypeError:
        return str(value)
    return value
