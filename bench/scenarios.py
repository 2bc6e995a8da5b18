"""Benchmark scenarios: data set-up through the HTTP API and request drivers.

``setup()`` runs once in the parent process and returns a *context*: plain
picklable data (ids, timestamps, credentials). Each load process turns the
context into a :class:`Driver` for its own connection with
``make_driver(name, context, index)``; a driver hands out pre-encoded
requests and judges each response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from wire import Connection, Response, basic_auth, encode_request

BUCKET = "bench"
BUCKET_PATH = f"/v1/buckets/{BUCKET}"
ITEMS = f"{BUCKET_PATH}/collections/items/records"
CREATED = f"{BUCKET_PATH}/collections/created/records"
# Not "batched": the batch endpoint refuses any path containing "/batch".
BULK = f"{BUCKET_PATH}/collections/bulk/records"
PATCHED = f"{BUCKET_PATH}/collections/patched/records"
SHARED = f"{BUCKET_PATH}/collections/shared/records"
COLLECTIONS = ("items", "created", "bulk", "patched", "shared")

OWNER = ("alice", "alice-bench-secret")
READER = ("bob", "bob-bench-secret")

BATCH_SIZE = 25
SINCE_CHANGES = 10  # records newer than the `_since` timestamp
FILTER_CATEGORY = "c3"  # one record in ten
PAGE_SIZE = 100
PAGE_QUERY = f"{ITEMS}?_limit={PAGE_SIZE}"
LIST_QUERY = f"{ITEMS}?category={FILTER_CATEGORY}&_sort=-rank,title&_limit={PAGE_SIZE}"


class SetupError(RuntimeError):
    """The server did not answer the set-up requests as the spec says."""


class Api:
    """JSON over one keep-alive connection, for set-up (not timed)."""

    def __init__(self, host: str, port: int, credentials: tuple[str, str]) -> None:
        self.host = f"{host}:{port}"
        self.conn = Connection(host, port)
        self.auth = basic_auth(*credentials)

    def call(self, method, path, body=None, headers=None, expect=(200, 201)):
        all_headers = {"Authorization": self.auth, **(headers or {})}
        payload = None if body is None else json.dumps(body).encode()
        raw = encode_request(method, path, self.host, all_headers, payload)
        response = self.conn.request(raw)
        if response.status not in expect:
            raise SetupError(f"{method} {path} -> {response.status}: {response.body[:300]!r}")
        return response, (json.loads(response.body) if response.body else None)

    def create_many(self, path: str, bodies: list[dict]) -> list[dict]:
        """POST every body to a plural endpoint through ``/batch``; return the objects."""
        created = []
        for start in range(0, len(bodies), BATCH_SIZE):
            chunk = bodies[start : start + BATCH_SIZE]
            batch = {
                "defaults": {"method": "POST", "path": path[len("/v1") :]},
                "requests": [{"body": body} for body in chunk],
            }
            _, result = self.call("POST", "/v1/batch", batch, expect=(200,))
            for sub in result["responses"]:
                if sub["status"] != 201:
                    raise SetupError(f"batch create in {path} -> {sub['status']}: {sub['body']}")
                created.append(sub["body"]["data"])
        return created

    def close(self) -> None:
        self.conn.close()


def item(i: int) -> dict:
    return {
        "title": f"Item number {i}",
        "n": i,
        "rank": (i * 7919) % 1000,
        "category": f"c{i % 10}",
        "done": i % 2 == 0,
        "tags": ["bench", f"t{i % 3}"],
    }


def setup(
    host: str, port: int, records: int, connections: int, shared_records: int = 1000
) -> dict:
    """Create the benchmark data; return the context shared by all drivers.

    User A (``OWNER``) owns bucket ``bench`` and its collections; ``items``
    holds ``records`` records and ``shared`` ``shared_records``; user B (``READER``) gets
    ``read`` on every tenth record of ``shared`` only.
    """
    owner = Api(host, port, OWNER)
    reader = Api(host, port, READER)
    try:
        _, hello = reader.call("GET", "/v1/", expect=(200,))
        if "user" not in (hello or {}):
            raise SetupError("GET /v1/ shows no authenticated user: is basicauth enabled?")
        reader_id = hello["user"]["id"]

        owner.call("DELETE", BUCKET_PATH, expect=(200, 403, 404))
        owner.call("PUT", BUCKET_PATH, {"data": {}})
        for name in COLLECTIONS:
            owner.call("PUT", f"{BUCKET_PATH}/collections/{name}", {"data": {}})

        items = owner.create_many(ITEMS, [{"data": item(i)} for i in range(records)])
        shared = [
            {"data": item(i), "permissions": {"read": [reader_id]} if i % 10 == 0 else {}}
            for i in range(shared_records)
        ]
        owner.create_many(SHARED, shared)
        patched = owner.create_many(PATCHED, [{"data": {"counter": 0}}] * connections)

        timestamps = sorted(obj["last_modified"] for obj in items)
        since = timestamps[-SINCE_CHANGES - 1] if len(timestamps) > SINCE_CHANGES else 0
        context = {
            "host": owner.host,
            "owner_auth": owner.auth,
            "reader_auth": reader.auth,
            "item_ids": [obj["id"] for obj in items],
            "since": since,
            "patched": [(obj["id"], obj["last_modified"]) for obj in patched],
            "shared_records": shared_records,
        }
        context["checks"] = check_context(owner, reader, context)
        return context
    finally:
        owner.close()
        reader.close()


def check_context(owner: Api, reader: Api, context: dict) -> list[str]:
    """One request per list scenario, to report result sizes (and catch bugs)."""
    lines = []
    for name, api, path, expected in (
        ("page", owner, PAGE_QUERY, min(PAGE_SIZE, len(context["item_ids"]))),
        ("list", owner, LIST_QUERY, min(PAGE_SIZE, len(context["item_ids"]) // 10)),
        ("since", owner, f"{ITEMS}?_since={context['since']}", SINCE_CHANGES),
        ("shared", reader, SHARED, (context["shared_records"] + 9) // 10),
    ):
        _, body = api.call("GET", path, expect=(200,))
        got = len(body["data"])
        status = "ok" if got == expected else f"MISMATCH, expected {expected}"
        lines.append(f"{name}: {got} records ({status})")
    return lines


def teardown(host: str, port: int) -> None:
    owner = Api(host, port, OWNER)
    try:
        owner.call("DELETE", BUCKET_PATH, expect=(200, 403, 404))
    finally:
        owner.close()


class Driver:
    """Requests of one connection: ``next()`` the bytes to send, ``check()`` a response."""

    def __init__(self, requests: list[bytes], expected: int) -> None:
        self.requests = requests
        self.expected = expected
        self.position = 0

    def next(self) -> bytes:
        raw = self.requests[self.position]
        self.position = (self.position + 1) % len(self.requests)
        return raw

    def check(self, response: Response) -> bool:
        return response.status == self.expected


class BatchDriver(Driver):
    """A batch is an error if it or any of its subrequests failed."""

    def check(self, response: Response) -> bool:
        if response.status != 200:
            return False
        subs = json.loads(response.body)["responses"]
        return all(sub["status"] == 201 for sub in subs)


class PatchDriver(Driver):
    """PATCH this connection's own record, always with its latest ETag."""

    def __init__(self, host: str, auth: str, path: str, last_modified: int) -> None:
        super().__init__([], 200)
        self.host = host
        self.auth = auth
        self.path = path
        self.etag = f'"{last_modified}"'
        self.counter = 0

    def next(self) -> bytes:
        self.counter += 1
        body = b'{"data":{"counter":%d}}' % self.counter
        headers = {"Authorization": self.auth, "If-Match": self.etag}
        return encode_request("PATCH", self.path, self.host, headers, body)

    def check(self, response: Response) -> bool:
        # 200 and 412 both carry the record's current ETag.
        self.etag = response.headers.get("etag", self.etag)
        return response.status == 200


def _get(context: dict, path: str, auth_key: str = "owner_auth") -> bytes:
    return encode_request("GET", path, context["host"], {"Authorization": context[auth_key]})


def anonymous(context: dict, index: int) -> Driver:
    return Driver([encode_request("GET", "/v1/", context["host"])], 200)


def hello(context: dict, index: int) -> Driver:
    return Driver([_get(context, "/v1/")], 200)


def create(context: dict, index: int) -> Driver:
    headers = {"Authorization": context["owner_auth"]}
    body = json.dumps({"data": item(index)}).encode()
    return Driver([encode_request("POST", CREATED, context["host"], headers, body)], 201)


def read(context: dict, index: int) -> Driver:
    ids = context["item_ids"]
    offset = (index * 97) % len(ids)
    order = ids[offset:] + ids[:offset]
    return Driver([_get(context, f"{ITEMS}/{rid}") for rid in order], 200)


def page(context: dict, index: int) -> Driver:
    return Driver([_get(context, PAGE_QUERY)], 200)


def list_filtered(context: dict, index: int) -> Driver:
    return Driver([_get(context, LIST_QUERY)], 200)


def since(context: dict, index: int) -> Driver:
    return Driver([_get(context, f"{ITEMS}?_since={context['since']}")], 200)


def patch(context: dict, index: int) -> Driver:
    record_id, last_modified = context["patched"][index]
    path = f"{PATCHED}/{record_id}"
    return PatchDriver(context["host"], context["owner_auth"], path, last_modified)


def batch(context: dict, index: int) -> Driver:
    payload = {
        "defaults": {"method": "POST", "path": BULK[len("/v1") :]},
        "requests": [{"body": {"data": item(index * BATCH_SIZE + i)}} for i in range(BATCH_SIZE)],
    }
    headers = {"Authorization": context["owner_auth"]}
    body = json.dumps(payload).encode()
    raw = encode_request("POST", "/v1/batch", context["host"], headers, body)
    return BatchDriver([raw], 200)


def shared(context: dict, index: int) -> Driver:
    return Driver([_get(context, SHARED, "reader_auth")], 200)


def floor(context: dict, index: int) -> Driver:
    return Driver([encode_request("GET", "/v1/", context["host"])], 200)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    driver: Callable[[dict, int], Driver]


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("anon", "GET /v1/ without credentials (no backend call)", anonymous),
        Scenario("hello", "GET /v1/", hello),
        Scenario("create", "POST a record", create),
        Scenario("read", "GET one record (cycling over the items)", read),
        Scenario("page", "GET records ?_limit=100 (first page)", page),
        Scenario("list", "GET records ?category=c3&_sort=-rank,title&_limit=100", list_filtered),
        Scenario("since", "GET records ?_since=<ts> (10 newer records)", since),
        Scenario("patch", "PATCH own record with If-Match", patch),
        Scenario("batch", "POST /batch of 25 creates", batch),
        Scenario("shared", "GET records, reader sees 1 in 10", shared),
    )
}
FLOOR = Scenario("floor", "bare Pyramid hello world", floor)


def paths_driver(context: dict, index: int) -> Driver:
    """GET ``context["paths"]`` in turn (each connection from its own
    offset), as the owner: the requests of ``scale.py``."""
    paths = context["paths"]
    offset = (index * 97) % len(paths)
    return Driver([_get(context, path) for path in paths[offset:] + paths[:offset]], 200)


def make_driver(name: str, context: dict, index: int) -> Driver:
    if name.startswith("scale-"):
        return paths_driver(context, index)
    scenario = FLOOR if name == FLOOR.name else SCENARIOS[name]
    return scenario.driver(context, index)
