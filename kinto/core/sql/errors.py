"""Translation of driver errors into storage errors, installed on every
engine (SQLAlchemy's ``handle_error`` event), so that errors raised while
executing a statement, connecting, committing or rolling back all reach the
application as:

* :class:`kinto.core.storage.IntegrityError` (HTTP 409) for integrity
  constraint violations;
* :class:`kinto.core.storage.BackendError` (HTTP 503 + ``Retry-After``) for
  unreachable servers, lost connections, lock timeouts, "database is
  locked" and other operational failures.

Programming errors (bad SQL, wrong parameters) are left alone: they are bugs
and must show as such.
"""

from __future__ import annotations

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import Engine

from kinto.core.storage import BackendError, IntegrityError, StorageError

_OPERATIONAL = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.InternalError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
)
_SQLITE_ERROR = 1


def translate(error: BaseException, disconnect: bool = False) -> StorageError | None:
    """The storage error standing for a SQLAlchemy ``error``, or None if it
    should propagate unchanged. ``disconnect`` tells that the connection was
    lost (then the error carries ``disconnect = True``)."""
    if isinstance(error, StorageError):
        return error
    if isinstance(error, sqlalchemy.exc.IntegrityError):
        return IntegrityError(original=error, message=_describe(error))
    if isinstance(error, _OPERATIONAL) and not _sqlite_programming_error(error):
        translated = BackendError(original=error, message=_describe(error))
        translated.disconnect = disconnect or bool(getattr(error, "connection_invalidated", False))
        return translated
    return None


def _sqlite_programming_error(error: BaseException) -> bool:
    """The standard SQLite driver raises ``OperationalError`` for syntax
    errors and unknown tables or columns too: those carry the generic
    ``SQLITE_ERROR`` code, unlike busy, I/O, full or read-only errors."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return code is not None and code & 0xFF == _SQLITE_ERROR


def _describe(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return f"{type(original).__name__}: {text[0] if text else ''}"


def install(engine: Engine) -> None:
    """Translate the errors of ``engine`` (once per engine)."""

    @event.listens_for(engine, "handle_error")
    def on_error(context) -> BaseException | None:
        if context.is_pre_ping:
            # The pool's liveness check handles these itself.
            return None
        error = context.sqlalchemy_exception or context.original_exception
        return translate(error, disconnect=context.is_disconnect)
