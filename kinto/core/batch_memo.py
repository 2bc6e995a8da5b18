"""What one ``POST /batch`` remembers between its subrequests.

The subrequests of a batch often ask the same questions: 25 record creates
in one collection read the same parent collection and ask the same
``create`` question on the same records list. The :class:`BatchMemo` keeps
the answers for the next subrequests of the same batch, so that they do not
ask the storage and permission backends again. It sits above the backends
(memory, SQLite and PostgreSQL all benefit).

The rule (a remembered answer is never stale):

* **Scope.** The batch view creates the memo in the batch's shared
  ``request.bound_data`` (:func:`start`) and removes it when its
  subrequests are done (:func:`stop`). Outside a batch there is no memo:
  :func:`current` is ``None`` and every question goes to the backends as
  usual. Nothing is remembered across requests.
* **What.** Only *positive* facts, whose truth can only be undone by a
  removal: an object that exists (as the storage returned it, e.g. the
  parent collection of records, see :meth:`BatchMemo.remember_object`), and
  an authorization question (``permission``, ``uri``, caller's principals)
  that was answered *yes* (:meth:`BatchMemo.remember_granted`). A *no* is
  never remembered (a creation, even an implicit one, may turn it into a
  yes). A question on a URI that names an object of a *volatile* resource
  (records: ``/buckets/b/collections/c/records/r``, or below it) is never
  remembered: its answer depends on ACEs the memo-keeping subrequests write.
* **Where.** The memo is read and filled only while a subrequest routed to a
  *memo-keeping* route runs (:func:`keep_across`; Kinto declares the two
  records routes): those subrequests write only objects of their volatile
  resource and those objects' own ACEs, which no remembered fact depends
  on. Any other subrequest neither reads nor fills it.
* **Invalidation.** After each subrequest the batch view calls
  :meth:`BatchMemo.clear` unless *every* subrequest it invoked for that
  entry (redirects included) was routed to a memo-keeping route and, if it
  wrote, succeeded. So the memo is forgotten after any write of buckets,
  collections, groups (membership changes principals and group deletions
  remove ACEs), permissions of anything, accounts, plugin resources; after
  any read outside the records routes (the implicit creations of the
  personal bucket); after any failed write (its savepoint was rolled back,
  and may have undone a creation it made).

Within one batch the caller's identity is computed once (permissions.md
§2), and a remembered fact holds for the rest of the batch as a parent read
once per request holds for the rest of that request: writes committed
meanwhile by *other* transactions are not seen, as within one request.
"""

from __future__ import annotations

#: Key of the memo in ``request.bound_data`` (present only during a batch).
MEMO_KEY = "kinto.batch_memo"


class BatchMemo:
    """Facts remembered by one batch (see the module documentation)."""

    __slots__ = ("routes", "volatile", "objects", "granted")

    def __init__(self, routes: frozenset[str], volatile: frozenset[str]) -> None:
        #: Names of the memo-keeping routes.
        self.routes = routes
        #: Resource names whose objects' questions are never remembered.
        self.volatile = volatile
        #: ``{object URI: object}`` of objects known to exist.
        self.objects: dict[str, dict] = {}
        #: ``(permission, uri, principals)`` answered *yes*.
        self.granted: set[tuple[str, str, tuple[str, ...]]] = set()

    def clear(self) -> None:
        """Forget everything."""
        self.objects.clear()
        self.granted.clear()

    def recall_object(self, uri: str) -> dict | None:
        """The object ``uri`` as remembered, or None if not known."""
        return self.objects.get(uri)

    def remember_object(self, uri: str, obj: dict) -> None:
        """Remember that the object ``uri`` exists and is ``obj`` (as read
        from the storage during this subrequest)."""
        self.objects[uri] = obj

    def is_granted(self, permission: str, uri: str, principals: tuple[str, ...]) -> bool:
        """True if ``permission`` on ``uri`` was granted to ``principals``."""
        return (permission, uri, principals) in self.granted

    def remember_granted(self, permission: str, uri: str, principals: tuple[str, ...]) -> None:
        """Remember that ``principals`` hold ``permission`` on ``uri``."""
        self.granted.add((permission, uri, principals))

    def keeps(self, subrequest) -> bool:
        """True when ``subrequest`` was routed to a memo-keeping route."""
        route = getattr(subrequest, "matched_route", None)
        return route is not None and route.name in self.routes


def keep_across(config, resource_name: str, route_names) -> None:
    """Declare that the routes ``route_names`` write only objects of the
    resource ``resource_name`` and those objects' own ACEs (never their
    parents, other resources, groups or anything else): the memo of a batch
    survives them. Questions on URIs naming such an object become volatile
    (never remembered)."""
    registry = config.registry
    routes = getattr(registry, "batch_memo_routes", frozenset())
    volatile = getattr(registry, "batch_memo_volatile", frozenset())
    registry.batch_memo_routes = routes | frozenset(route_names)
    registry.batch_memo_volatile = volatile | {resource_name}


def start(request) -> BatchMemo | None:
    """Create the memo of the batch ``request`` (None when no route keeps
    it: nothing could ever be remembered)."""
    registry = request.registry
    routes = getattr(registry, "batch_memo_routes", frozenset())
    if not routes:
        return None
    memo = BatchMemo(routes, getattr(registry, "batch_memo_volatile", frozenset()))
    request.bound_data[MEMO_KEY] = memo
    return memo


def stop(request) -> None:
    """Remove the memo of the batch ``request``."""
    request.bound_data.pop(MEMO_KEY, None)


def current(request) -> BatchMemo | None:
    """The memo usable by ``request``: the batch's, when ``request`` is a
    subrequest of a batch routed to a memo-keeping route; else None."""
    memo = request.bound_data.get(MEMO_KEY)
    if memo is None or not memo.keeps(request):
        return None
    return memo
