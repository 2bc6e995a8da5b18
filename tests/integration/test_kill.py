"""A server killed with SIGKILL while clients write loses no write it
acknowledged: after a restart, every write answered with a 2xx is there
(a write that got no answer may or may not be), on SQLite and PostgreSQL."""

import http.client
import threading
import time

import pytest

pytestmark = pytest.mark.xdist_group("integration")

RECORDS = "/buckets/b/collections/c/records"
WRITERS = 8
#: Acknowledged writes to wait for before the kill.
WRITES_BEFORE_KILL = 400
DEADLINE = 60


class Writer(threading.Thread):
    """Writes until its connection breaks: creates records
    ``w<n>-<i>`` and, every other time, updates its previous record with a
    higher version. ``acked[id]`` is the version of the last 2xx answer for
    ``id``; ``sent[id]`` the last version sent."""

    def __init__(self, number, client, stop):
        super().__init__(daemon=True)
        self.number = number
        self.client = client
        self.stop = stop
        self.acked: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.unexpected: list = []
        self.count = 0

    def run(self):
        deadline = time.monotonic() + DEADLINE
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            record_id = f"w{self.number}-{i // 2}"
            version = i
            self.sent[record_id] = version
            try:
                response = self.client.put(f"{RECORDS}/{record_id}", {"data": {"v": version}})
            except (OSError, http.client.HTTPException):
                return  # killed: this write got no answer
            if 200 <= response.status < 300:
                self.acked[record_id] = version
                self.count += 1
            else:
                self.unexpected.append(response)
            i += 1


def all_records(client):
    records, path = [], f"{RECORDS}?_limit=500"
    while path:
        response = client.get(path)
        assert response.status == 200, response
        records += response.json["data"]
        next_page = response.headers.get("next-page")
        path = next_page.split("/v1", 1)[1] if next_page else None
    return {r["id"]: r["v"] for r in records}


def test_acknowledged_writes_survive_a_sigkill(make_server, sql_url):
    backend, url = sql_url
    server = make_server(backend, url, threads=WRITERS)
    server.start()
    setup = server.client("alice")
    assert setup.put("/buckets/b", {"data": {}}).status == 201
    assert setup.put("/buckets/b/collections/c", {"data": {}}).status == 201

    stop = threading.Event()
    writers = [Writer(n, server.client("alice"), stop) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + DEADLINE
    while sum(w.count for w in writers) < WRITES_BEFORE_KILL:
        assert time.monotonic() < deadline, "the writers are too slow"
        assert all(w.is_alive() for w in writers), [w.unexpected for w in writers]
        time.sleep(0.01)
    server.kill()  # while every writer is writing
    stop.set()
    for writer in writers:
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert writer.unexpected == []

    server.start()
    stored = all_records(server.client("alice"))

    acked = {k: v for w in writers for k, v in w.acked.items()}
    sent = {k: v for w in writers for k, v in w.sent.items()}
    assert sum(w.count for w in writers) >= WRITES_BEFORE_KILL
    lost = {k: (v, stored.get(k)) for k, v in acked.items() if stored.get(k, -1) < v}
    assert lost == {}, "acknowledged writes lost (acked version, stored version)"
    # Nothing appears that was never sent.
    assert set(stored) <= set(sent)
    assert all(stored[k] <= sent[k] for k in stored)
