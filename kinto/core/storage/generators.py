"""Object id generators.

A generator is a callable returning a new object id, and knows which ids it
accepts (:meth:`Generator.match`), so that views can reject ids given in
URLs or bodies that the resource would never have produced.
"""

from __future__ import annotations

import re
import uuid


class Generator:
    """Base class of id generators.

    Subclasses set :attr:`regexp` (the validation pattern, anchored with
    ``^...$``) and implement :meth:`__call__`. The pattern is compiled once
    per class.
    """

    #: Ids accepted by :meth:`match`. The default allows URL-safe names that
    #: start with a letter or digit.
    regexp: str = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"

    _compiled: re.Pattern[str] | None = None

    def __call__(self) -> str:
        """Return a new id that :meth:`match` accepts."""
        raise NotImplementedError

    def match(self, object_id: object) -> bool:
        """Return True when ``object_id`` is a string accepted by
        :attr:`regexp` (the whole string must match, a trailing newline
        included)."""
        if not isinstance(object_id, str):
            return False
        compiled = self._compiled
        if compiled is None or compiled.pattern != self.regexp:
            compiled = re.compile(self.regexp)
            self._compiled = compiled
        return compiled.fullmatch(object_id) is not None


class UUID4(Generator):
    """Random UUIDs, generated as lowercase dashed version-4 UUIDs.

    :meth:`match` accepts any dashed hexadecimal UUID (any version, either
    case) so that ids created by clients with their own UUID library are
    valid too.
    """

    regexp = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

    def __call__(self) -> str:
        return str(uuid.uuid4())
