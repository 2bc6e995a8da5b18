"""Server-side prepared statements for the hottest statements on PostgreSQL.

PostgreSQL parses, analyses and plans every statement it receives. The
statements that serve a request in one round trip (a read with its
authorization, a page with its parent and ACLs, see :mod:`kinto.core.sql.fast`)
are long: planning them costs the database more CPU than running them (about
0.3 ms for a page of records against 0.05 ms to execute it). In a deployment
where many application processes share one database, that CPU is the
resource that does not scale out.

So, on each connection, a :class:`~kinto.core.sql.fast.RawStatement` is sent
the first time as ``PREPARE kinto_<hash>(<types>) AS <text>;EXECUTE
kinto_<hash>(<values>)`` (still one round trip), then as ``EXECUTE`` alone.
PostgreSQL keeps the parse tree, and the plan too: such connections are
opened with ``plan_cache_mode = force_generic_plan`` (PostgreSQL 12 and
later; :mod:`kinto.core.sql.engines`), since PostgreSQL would otherwise
plan again each statement whose generic plan it estimates costlier than
one for the values at hand, which it does for most of these (the
statements are written for index scans whatever the values: the index
tests check both plans). A read then costs the database about half the
CPU, a page of records about a quarter. A statement whose good plan
depends on its values (``RawStatement(..., prepare=False)``: the
permission checks joining an array of pairs, the accessible objects by
URI ranges) is sent as text and planned for them on every run.

* Values are sent as literals in ``EXECUTE``, as before. Parameter types
  are declared from the Python values, the way the driver's literals type
  them: ``unknown`` (inferred from the statement, as a quoted literal is)
  for strings, None and empty lists; ``bigint``/``numeric`` for numbers,
  ``boolean``, and the array of those for non-empty lists. A statement is
  prepared once per list of types (the hash covers both).
* Prepared statements outlive transactions and their rollbacks. When a
  statement that prepared one fails, whether the ``PREPARE`` took effect is
  unknown: the connection's next statement is preceded by ``DEALLOCATE
  ALL`` and everything is prepared again. A connection keeps at most
  :data:`MAX_PER_CONNECTION` statements (about 45 kB of the database
  server's memory each): preparing another drops the least recently used
  (``DEALLOCATE``, sent in the same round trip).
* ``<prefix>prepared_statements = false`` turns this off, e.g. behind a
  connection pooler in transaction mode (PgBouncer), where a session's
  prepared statements may be missing from the next transaction's server
  connection.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

#: Key of the connection ``info`` holding what it has prepared.
PREPARED = "kinto_prepared"
#: Most statements kept prepared on one connection (then the least recently
#: used one is dropped).
MAX_PER_CONNECTION = 64

_PLACEHOLDER = re.compile(r"(?<!%)%\((\w+)\)s")
_INT8 = (-(2**63), 2**63 - 1)


class _Prepared:
    """What one connection has prepared (``names``, least recently used
    first), and whether it may hold more than that (``unsure``: a statement
    that prepared one failed)."""

    __slots__ = ("raw", "names", "unsure")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.names: dict[str, None] = {}
        self.unsure = False


class Shape:
    """A statement's PostgreSQL text in ``PREPARE`` form (``$n``
    placeholders) and, per list of parameter types, its ``PREPARE`` and
    ``EXECUTE`` texts."""

    __slots__ = ("names", "text", "_forms")

    def __init__(self, driver_text: str) -> None:
        names: list[str] = []

        def number(match: re.Match) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        # Still driver text: "%%" stays escaped, as the driver formats the
        # whole text (the EXECUTE's values).
        self.text = _PLACEHOLDER.sub(number, driver_text)
        #: Parameter names, in the order of their ``$n``.
        self.names = tuple(names)
        self._forms: dict[tuple[str, ...], tuple[str, str, str]] = {}

    def form_for(self, params: Mapping[str, Any]) -> tuple[str, str, str]:
        """:meth:`form` for the types of these parameter values."""
        return self.form(tuple([parameter_type(params[name]) for name in self.names]))

    def form(self, types: tuple[str, ...]) -> tuple[str, str, str]:
        """``(name, PREPARE text, EXECUTE text)`` for these parameter types."""
        form = self._forms.get(types)
        if form is None:
            digest = hashlib.blake2b(
                f"{','.join(types)}|{self.text}".encode(), digest_size=12
            ).hexdigest()
            name = f"kinto_{digest}"
            declared = f"({', '.join(types)})" if types else ""
            values = ", ".join(f"%({n})s" for n in self.names)
            execute = f"EXECUTE {name}({values})" if self.names else f"EXECUTE {name}"
            form = (name, f"PREPARE {name}{declared} AS {self.text}", execute)
            if len(self._forms) < 64:
                self._forms[types] = form
        return form


_SCALARS = {str: "unknown", type(None): "unknown", bool: "boolean", float: "numeric"}


def parameter_type(value: Any) -> str:
    """The type ``PREPARE`` declares for a parameter sent as ``value``."""
    kind = type(value)
    declared = _SCALARS.get(kind)
    if declared is not None:
        return declared
    if kind is int:
        return "bigint" if _INT8[0] <= value <= _INT8[1] else "numeric"
    if kind is list or kind is tuple:
        if not value:
            return "unknown"
        if all(type(v) is str for v in value) or all(isinstance(v, str) for v in value):
            return "text[]"
        types = {parameter_type(v) for v in value}
        if types == {"boolean"}:
            return "boolean[]"
        if types == {"bigint"}:
            return "bigint[]"
        if types <= {"bigint", "numeric"}:
            return "numeric[]"
        return "unknown"
    return parameter_type(_plain(value))


def _plain(value: Any) -> Any:
    """``value`` of a subclass of a parameter type as its base type."""
    for base in (bool, int, float, str, list, tuple):
        if isinstance(value, base):
            return base(value)
    return None


def statement_text(
    info: dict, raw: Any, shape: Shape, params: Mapping[str, Any]
) -> tuple[str, str | None]:
    """The text to send for ``shape`` on the connection (``info``: its
    pool ``info``; ``raw``: the driver connection), and the name it
    prepares (None when prepared already). Call :func:`prepared` or
    :func:`failed` once the driver answered."""
    state = info.get(PREPARED)
    if state is None or state.raw is not raw:
        state = info[PREPARED] = _Prepared(raw)
    name, prepare, execute = shape.form_for(params)
    names = state.names
    if name in names and not state.unsure:
        names[name] = names.pop(name)  # the most recently used
        return execute, None
    reset = ""
    if state.unsure:
        reset = "DEALLOCATE ALL;"
        names.clear()
        state.unsure = False
    elif len(names) >= MAX_PER_CONNECTION:
        oldest = next(iter(names))
        del names[oldest]
        reset = f"DEALLOCATE {oldest};"
    return f"{reset}{prepare};{execute}", name


def prepared(info: dict, name: str) -> None:
    """The statement that prepared ``name`` succeeded."""
    state = info.get(PREPARED)
    if state is not None:
        state.names[name] = None


def failed(info: dict) -> None:
    """The statement that prepared a statement failed: the connection may
    hold it or not."""
    state = info.get(PREPARED)
    if state is not None:
        state.unsure = True
