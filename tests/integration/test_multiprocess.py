"""Two ``kinto start`` processes on one PostgreSQL database, with clients
writing through both at once: every write gets its own timestamp, in the
order the writes happened, and conditional writes (``If-Match``) race
safely across the processes."""

import threading
import time

import pytest

from tests.integration.conftest import ServerFactory
from tests.integration.databases import empty_postgresql_database

pytestmark = pytest.mark.xdist_group("integration")

WRITERS_PER_SERVER = 4
WRITES_PER_WRITER = 60
TIMEOUT = 60


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two started servers on one new database, with alice's bucket (for
    the whole module: each test writes in its own collection)."""
    factory = ServerFactory(tmp_path_factory.mktemp("multiprocess"))
    with empty_postgresql_database("multiprocess") as url:
        try:
            first = factory("postgresql", url, name="first")
            second = factory("postgresql", url, name="second")
            first.start()
            second.start()
            assert first.client("alice").put("/buckets/b", {"data": {}}).status == 201
            yield first, second
        finally:
            factory.close()


@pytest.fixture
def records(servers, request):
    """Path of a new collection's records, for this test only."""
    name = request.node.originalname.removeprefix("test_")[:40]
    collection = f"/buckets/b/collections/{name}"
    assert servers[0].client("alice").put(collection, {"data": {}}).status == 201
    return f"{collection}/records"


def run_threads(targets):
    """Run the callables in threads released together; re-raise the first
    failure."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait(timeout=TIMEOUT)
            target()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), "a client thread did not finish in time"
    if errors:
        raise errors[0]


def test_concurrent_writes_through_two_processes_get_unique_ordered_timestamps(servers, records):
    # Each write: (sent at, answered at, timestamp), times on one clock.
    writes: list[tuple[float, float, int]] = []

    def writer(server, number):
        client = server.client("alice")

        def write():
            for i in range(WRITES_PER_WRITER):
                body = {"data": {"writer": number, "i": i}}
                sent = time.monotonic()
                response = client.post(records, body)
                answered = time.monotonic()
                assert response.status == 201, response
                writes.append((sent, answered, response.json["data"]["last_modified"]))

        return write

    run_threads(
        [
            writer(server, f"{n}-{k}")
            for n, server in enumerate(servers)
            for k in range(WRITERS_PER_SERVER)
        ]
    )

    total = len(servers) * WRITERS_PER_SERVER * WRITES_PER_WRITER
    stamps = [stamp for _, _, stamp in writes]
    assert len(stamps) == total
    assert len(set(stamps)) == total, "two writes got the same timestamp"
    # A write that began after another was answered has a later timestamp,
    # whichever process served each.
    by_answer = sorted(writes, key=lambda w: w[1])
    latest_answered = 0
    answered_index = 0
    for sent, _, stamp in sorted(writes, key=lambda w: w[0]):
        while answered_index < len(by_answer) and by_answer[answered_index][1] < sent:
            latest_answered = max(latest_answered, by_answer[answered_index][2])
            answered_index += 1
        assert stamp > latest_answered
    # Both processes list the same records, in timestamp order, under an
    # ETag that is the newest timestamp.
    for server in servers:
        response = server.client("alice").get(f"{records}?_sort=-last_modified&_limit=10000")
        listed = [r["last_modified"] for r in response.json["data"]]
        assert listed == sorted(stamps, reverse=True)
        assert response.headers["etag"] == f'"{max(stamps)}"'


def test_exactly_one_of_racing_conditional_writes_wins_across_processes(servers, records):
    first, second = servers
    record = f"{records}/counter"
    assert first.client("alice").put(record, {"data": {"value": 0}}).status == 201
    clients = [s.client("alice") for s in servers for _ in range(WRITERS_PER_SERVER)]

    for round_number in range(10):
        current = first.client("alice").get(record)
        etag = current.headers["etag"]
        statuses = []

        def contender(client, n, value=round_number + 1, etag=etag, statuses=statuses):
            def write():
                body = {"data": {"value": value, "by": n}}
                statuses.append(client.put(record, body, headers={"If-Match": etag}).status)

            return write

        run_threads([contender(client, n) for n, client in enumerate(clients)])

        assert sorted(statuses) == [200] + [412] * (len(clients) - 1)
        stored = second.client("alice").get(record).json["data"]
        assert stored["value"] == round_number + 1


def test_no_update_is_lost_when_processes_increment_a_counter(servers, records):
    first, _ = servers
    record = f"{records}/counter"
    assert first.client("alice").put(record, {"data": {"value": 0}}).status == 201
    increments = 15
    done = []

    def incrementer(server):
        client = server.client("alice")

        def work():
            for _ in range(increments):
                while True:  # read, then write if unchanged meanwhile
                    current = client.get(record)
                    value = current.json["data"]["value"]
                    headers = {"If-Match": current.headers["etag"]}
                    response = client.put(record, {"data": {"value": value + 1}}, headers=headers)
                    if response.status == 200:
                        done.append(value + 1)
                        break
                    assert response.status == 412, response

        return work

    run_threads([incrementer(server) for server in servers for _ in range(WRITERS_PER_SERVER)])

    total = len(servers) * WRITERS_PER_SERVER * increments
    assert sorted(done) == list(range(1, total + 1))
    assert first.client("alice").get(record).json["data"]["value"] == total
