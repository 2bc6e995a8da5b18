"""The storage conformance suite on PostgreSQL (this worker's database),
plus what is specific to the PostgreSQL backend."""

import functools
import multiprocessing

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from kinto.core import sql
from kinto.core.storage import (
    COMPARISON,
    Filter,
    IntegrityError,
    ModifiedMeanwhileError,
    Sort,
    postgresql,
)
from kinto.core.storage.testing import StorageTest
from kinto.core.utils import msec_time
from tests.core.sql.test_database import current_request
from tests.sql_support import (
    captured_statements,
    explain_generic,
    postgresql_url,  # noqa: F401
    unprepared,
    with_parameters,
)


class TestPostgreSQLStorage(StorageTest):
    backend = postgresql

    @pytest.fixture(autouse=True)
    def _database(self, postgresql_url):  # noqa: F811
        self.settings = {"storage_url": postgresql_url}


def load(**settings):
    return postgresql.load_from_config(Configurator(settings=settings))


def test_a_sqlite_url_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="postgresql"):
        load(storage_url=f"sqlite:///{tmp_path}/x.db")


@pytest.fixture
def storage(postgresql_url):  # noqa: F811
    backend = load(storage_url=postgresql_url)
    backend.flush()
    yield backend
    backend.flush()


@pytest.fixture
def statements(storage):
    """The SQL statements the backend sends, recorded while the test runs."""
    with captured_statements(storage.database.engine) as sent:
        yield sent


class TestRoundTrips:
    """Each request-level operation is one statement (the failure paths may
    read again)."""

    def test_create_update_delete_and_reads_are_one_statement_each(self, storage, statements):
        def count(operation):
            statements.clear()
            result = operation()
            assert len(statements) == 1, statements
            return result

        obj = count(lambda: storage.create("record", "/p", {"title": "a"}))
        count(lambda: storage.get("record", "/p", obj["id"]))
        obj = count(
            lambda: storage.update(
                "record", "/p", obj["id"], {"title": "b"}, if_match=obj["last_modified"]
            )
        )
        count(lambda: storage.update("record", "/p", obj["id"], {"title": "c"}))
        count(lambda: storage.list_all("record", "/p", sorting=[Sort("last_modified", -1)]))
        count(lambda: storage.count_all("record", "/p"))
        count(lambda: storage.resource_timestamp("record", "/p"))
        count(lambda: storage.delete("record", "/p", obj["id"]))

    def test_parent_list_timestamp_and_page_are_one_statement(self, storage, statements):
        storage.create("collection", "/buckets/b", {"id": "c"})
        for rank in range(3):
            storage.create("record", "/buckets/b/collections/c", {"rank": rank})
        statements.clear()
        parent, timestamp, page = storage.get_with_list_page(
            "collection",
            "/buckets/b",
            "c",
            "record",
            "/buckets/b/collections/c",
            filters=[Filter("rank", 0, COMPARISON.GT)],
            sorting=[Sort("rank", -1)],
            limit=10,
        )
        assert len(statements) == 1, statements
        assert parent["id"] == "c"
        assert timestamp == storage.resource_timestamp("record", "/buckets/b/collections/c")
        assert [obj.load()["rank"] for obj in page] == [2, 1]

    def test_writes_with_a_forced_timestamp_take_three_statements(self, storage, statements):
        obj = storage.create("record", "/p", {})
        statements.clear()
        forced = obj["last_modified"] + 1000
        storage.update("record", "/p", obj["id"], {"last_modified": forced})
        # Lock the list, read the object, write both.
        assert len(statements) == 3, statements


class TestPreparedLists:
    """List statements are rendered once per shape and carry no values."""

    QUERY = {
        "sorting": [Sort("rank", -1), Sort("title", 1)],
        "pagination_rules": None,
        "limit": 10,
        "include_deleted": False,
    }

    def prepare(self, storage, *filters):
        return storage.queries.prepared("record", "/p", list(filters), **self.QUERY)

    def test_filters_on_json_fields_are_prepared_once_per_shape(self, storage):
        first, _ = self.prepare(storage, Filter("category", "c3", COMPARISON.EQ))
        second, params = self.prepare(storage, Filter("category", "c4", COMPARISON.EQ))
        assert first is second
        assert '"c4"' in params.values()

    def test_prepared_text_holds_no_filter_value(self, storage):
        ids = Filter("id", ["secret-id", "other-id"], COMPARISON.IN)
        prepared, _ = self.prepare(storage, Filter("category", "secret", COMPARISON.EQ), ids)
        assert "secret" not in prepared.text

    def test_a_list_of_ids_is_one_parameter_whatever_its_size(self, storage):
        few, _ = self.prepare(storage, Filter("id", ["a"], COMPARISON.IN))
        many, _ = self.prepare(storage, Filter("id", [str(i) for i in range(500)], COMPARISON.IN))
        assert few is many

    def test_another_field_is_another_shape(self, storage):
        first, _ = self.prepare(storage, Filter("category", "c3", COMPARISON.EQ))
        second, _ = self.prepare(storage, Filter("kind", "c3", COMPARISON.EQ))
        assert first is not second


def explain(storage, operation, verbose: bool = False, generic: bool = False) -> str:
    """The query plan of the statement ``operation`` sends (with each
    node's output columns if ``verbose``): planned for its values, or
    ``generic`` (prepared, planned once for any values, as the backend's
    prepared statements are, see kinto.core.sql.prepared)."""
    engine = storage.database.engine
    with unprepared(engine), captured_statements(engine, with_parameters) as captured:
        operation()
    statement, parameters = captured[-1]
    command = "EXPLAIN VERBOSE " if verbose else "EXPLAIN "
    with engine.connect() as connection:
        if not generic:
            rows = connection.exec_driver_sql(command + statement, parameters).all()
        else:
            rows = explain_generic(connection, statement, parameters, command)
    return "\n".join(row[0] for row in rows)


@pytest.fixture(scope="module")
def big_list(postgresql_url):  # noqa: F811
    backend = load(storage_url=postgresql_url)
    backend.flush()

    def fill(connection):
        connection.exec_driver_sql(
            "INSERT INTO objects (resource_name, parent_id, id, last_modified, deleted, data)"
            " SELECT 'record', '/big', 'r' || n, 1000000 + n, FALSE,"
            " jsonb_build_object('n', n, 'category', 'c' || mod(n, 10))"
            " FROM generate_series(1, 50000) AS n"
        )
        connection.exec_driver_sql("INSERT INTO timestamps VALUES ('record', '/big', 1050000)")
        connection.exec_driver_sql("ANALYZE objects")

    backend.database.run(fill)
    yield backend
    backend.flush()


class TestIndexes:
    """At scale, a page, ``_since`` and a single read only touch the rows
    they return (index scans, no sort of the whole list), whether planned
    for the values or once for all (prepared statements)."""

    @pytest.fixture(params=["for the values", "generic"])
    def explain(self, request):
        return functools.partial(explain, generic=request.param == "generic")

    def test_first_page_in_timestamp_order_reads_the_index(self, big_list, explain):
        plan = explain(
            big_list,
            lambda: big_list.list_all(
                "record", "/big", sorting=[Sort("last_modified", -1)], limit=10
            ),
        )
        assert "objects_list_last_modified" in plan
        assert "Sort" not in plan

    def test_since_near_the_end_reads_the_index(self, big_list, explain):
        since = [Filter("last_modified", 1049990, COMPARISON.GT)]
        plan = explain(
            big_list,
            lambda: big_list.list_all(
                "record", "/big", filters=since, sorting=[Sort("last_modified", -1)], limit=100
            ),
        )
        assert "objects_list_last_modified" in plan
        assert "Seq Scan" not in plan

    def test_single_read_uses_the_primary_key(self, big_list, explain):
        plan = explain(big_list, lambda: big_list.get("record", "/big", "r123"))
        assert "objects_pkey" in plan
        assert "Seq Scan" not in plan

    def test_a_page_sorted_on_a_field_renders_only_its_rows_as_text(self, big_list, explain):
        plan = explain(
            big_list,
            lambda: big_list.list_all("record", "/big", sorting=[Sort("n", -1)], limit=10),
            verbose=True,
        )
        outputs = [line for line in plan.splitlines() if "Output:" in line]
        # The sorted scan hands the documents up; the text is rendered last.
        assert "Sort" in plan
        assert "data)::text" in outputs[0]
        assert not any("data)::text" in line for line in outputs[1:])

    def test_listed_objects_come_back_whole(self, big_list):
        page = big_list.list_all("record", "/big", sorting=[Sort("last_modified", -1)], limit=2)
        assert page == [
            {"id": "r50000", "last_modified": 1050000, "n": 50000, "category": "c0"},
            {"id": "r49999", "last_modified": 1049999, "n": 49999, "category": "c9"},
        ]


def _process_writer(url, barrier, object_id, expected, count, results):
    """In another process: write ``count`` objects in one list, then try a
    conditional update of ``object_id`` expecting ``expected``."""
    sql.dispose_all(close=False)  # the parent's pooled connections
    storage = load(storage_url=url)
    barrier.wait()
    stamps = [storage.create("record", "/processes", {})["last_modified"] for _ in range(count)]
    barrier.wait()
    try:
        storage.update("record", "/processes", object_id, {"won": True}, if_match=expected)
        won = True
    except ModifiedMeanwhileError:
        won = False
    results.put((stamps, won))


class TestSeveralProcesses:
    processes = 3
    writes = 30

    def test_processes_sharing_a_database_get_unique_ordered_timestamps(
        self,
        storage,
        postgresql_url,  # noqa: F811
    ):
        contested = storage.create("record", "/processes", {"id": "contested"})
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(self.processes)
        results = context.Queue()
        args = (postgresql_url, barrier, "contested", contested["last_modified"], self.writes)
        workers = [
            context.Process(target=_process_writer, args=(*args, results))
            for _ in range(self.processes)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)

        stamps = []
        for written, _ in outcomes:
            assert written == sorted(set(written))
            stamps.extend(written)
        assert len(set(stamps)) == self.processes * self.writes
        assert [won for _, won in outcomes].count(True) == 1
        listed = storage.list_all("record", "/processes", sorting=[Sort("last_modified", 1)])
        assert storage.resource_timestamp("record", "/processes") == listed[-1]["last_modified"]


class TestCreationsUnderAHeldLock:
    """In a transaction that holds a list's lock (after its first write
    there), creations with a generated id in that list are queued with the
    next round trip, their timestamps chosen by the writer."""

    LIST = ("record", "/buckets/b/collections/c")

    def create(self, storage, **fields):
        return storage.create(*self.LIST, fields)

    def test_later_creations_send_nothing_until_the_commit(self, storage, statements):
        with current_request() as request, request.tm:
            first = self.create(storage, n=0)
            statements.clear()
            later = [self.create(storage, n=i) for i in range(1, 5)]
            assert statements == []
        stamps = [obj["last_modified"] for obj in [first, *later]]
        assert stamps == sorted(set(stamps))
        listed = storage.list_all(*self.LIST, sorting=[Sort("last_modified", 1)])
        assert listed == [first, *later]
        assert storage.resource_timestamp(*self.LIST) == stamps[-1]

    def test_a_chosen_id_is_created_by_its_own_statement(self, storage, statements):
        with current_request() as request, request.tm:
            self.create(storage, n=0)
            statements.clear()
            storage.create(*self.LIST, {"id": "chosen"})
            assert len(statements) == 1
        assert storage.get(*self.LIST, "chosen")["id"] == "chosen"

    def test_any_statement_sent_makes_the_next_creation_a_statement_again(
        self, storage, statements
    ):
        with current_request() as request, request.tm:
            first = self.create(storage, n=0)
            storage.update(*self.LIST, first["id"], {"n": 1})
            statements.clear()
            created = self.create(storage, n=2)
            assert len(statements) == 1
        assert created["last_modified"] == storage.resource_timestamp(*self.LIST)

    def test_a_rolled_back_savepoint_forgets_the_lock(self, storage, statements):
        with current_request() as request, request.tm:
            savepoint = request.tm.savepoint()
            self.create(storage, n=0)
            savepoint.rollback()  # released the lock taken inside it
            statements.clear()
            kept = self.create(storage, n=1)
            assert len(statements) == 1
        assert storage.list_all(*self.LIST) == [kept]

    def test_a_queued_creation_dropped_with_its_savepoint_leaves_no_trace(self, storage):
        with current_request() as request, request.tm:
            first = self.create(storage, n=0)
            savepoint = request.tm.savepoint()
            self.create(storage, n=1)
            savepoint.rollback()
            last = self.create(storage, n=2)
        listed = storage.list_all(*self.LIST, sorting=[Sort("last_modified", 1)])
        assert listed == [first, last]
        assert storage.resource_timestamp(*self.LIST) == last["last_modified"]

    def test_a_list_timestamp_already_beyond_the_chosen_one_fails_the_transaction(self, storage):
        """Never an object out of order: the queued statement refuses."""
        future = storage.create(*self.LIST, {"last_modified": msec_time() + 3_600_000})
        with pytest.raises(IntegrityError), current_request() as request, request.tm:
            self.create(storage, n=0)
            # As if the transaction had missed one of its own writes.
            storage.database.run(lambda c: make_stale(c, self.LIST))
            self.create(storage, n=1)
        assert storage.list_all(*self.LIST) == [future]


def make_stale(connection, key) -> None:
    held = sql.held_lists(connection)
    held[key] -= 5


class TestKeptPages:
    """``get_with_list_page`` keeps the pages it reads with their list's
    version, and the database only sends a page again when the version moved:
    every write in a list, by any path, moves it."""

    LIST = ("record", "/buckets/b/collections/c")
    PAGE = {"sorting": [Sort("last_modified", -1)], "limit": 50, "include_deleted": True}

    @pytest.fixture(autouse=True)
    def _list(self, storage):
        storage.create("collection", "/buckets/b", {"id": "c"})
        self.ids = [storage.create(*self.LIST, {"n": n})["id"] for n in range(3)]
        self.page(storage)  # kept
        assert len(storage.pages) == 1

    def page(self, storage):
        _, _, objects = storage.get_with_list_page(
            "collection", "/buckets/b", "c", *self.LIST, **self.PAGE
        )
        return [raw.load() for raw in objects]

    def listed(self, storage):
        return storage.list_all(*self.LIST, **self.PAGE)

    def test_an_unchanged_list_is_not_sent_again(self, storage):
        # Changed behind the storage's back (no version moved): the kept
        # page is what the next read answers.
        storage.database.run(
            lambda c: c.exec_driver_sql("UPDATE objects SET data = '{\"n\": 99}'")
        )
        assert [obj["n"] for obj in self.page(storage)] == [2, 1, 0]

    def test_a_list_at_the_same_version_with_another_timestamp_is_sent_again(self, storage):
        # As after a restore from a backup while servers run: the sequence
        # went back and the list holds the version of a kept page again.
        storage.database.run(
            lambda c: c.exec_driver_sql(
                "UPDATE objects SET data = '{\"n\": 99}';"
                " UPDATE timestamps SET last_modified = last_modified - 1000"
                " WHERE resource_name = 'record'"
            )
        )
        assert [obj["n"] for obj in self.page(storage)] == [99, 99, 99]

    WRITES = {
        "create": lambda s, ids, lst: s.create(*lst, {"n": 10}),
        "create with a chosen id": lambda s, ids, lst: s.create(*lst, {"id": "x", "n": 10}),
        "create with a past timestamp": lambda s, ids, lst: s.create(
            *lst, {"n": 10, "last_modified": 123}
        ),
        "create with a future timestamp": lambda s, ids, lst: s.create(
            *lst, {"n": 10, "last_modified": 2**50}
        ),
        "update": lambda s, ids, lst: s.update(*lst, ids[0], {"n": 10}),
        "update with If-Match": lambda s, ids, lst: s.update(
            *lst, ids[0], {"n": 10}, if_match=s.get(*lst, ids[0])["last_modified"]
        ),
        "update with an older timestamp": lambda s, ids, lst: s.update(
            *lst, ids[0], {"n": 10, "last_modified": 123}
        ),
        "update with a newer timestamp": lambda s, ids, lst: s.update(
            *lst, ids[0], {"n": 10, "last_modified": 2**50}
        ),
        "delete": lambda s, ids, lst: s.delete(*lst, ids[0]),
        "delete without tombstone": lambda s, ids, lst: s.delete(*lst, ids[0], with_deleted=False),
        "delete with a timestamp": lambda s, ids, lst: s.delete(*lst, ids[0], last_modified=2**50),
        "delete all": lambda s, ids, lst: s.delete_all(*lst),
        "delete all without tombstones": lambda s, ids, lst: s.delete_all(
            *lst, with_deleted=False
        ),
        "delete all under a prefix": lambda s, ids, lst: s.delete_all(
            lst[0], "/buckets/b/collections/*"
        ),
        # On tombstones only (see TOMBSTONES).
        "delete all tombstones": lambda s, ids, lst: s.delete_all(*lst, with_deleted=False),
        "purge": lambda s, ids, lst: s.purge_deleted(*lst),
        "purge before": lambda s, ids, lst: s.purge_deleted(lst[0], "/buckets/*", before=2**50),
        "purge keeping one": lambda s, ids, lst: s.purge_deleted(*lst, max_retained=1),
    }
    #: Writes on a list whose objects are all deleted.
    TOMBSTONES = {"delete all tombstones", "purge", "purge before", "purge keeping one"}

    @pytest.mark.parametrize("write", sorted(WRITES))
    def test_every_write_is_seen_by_the_next_page(self, storage, write):
        if write in self.TOMBSTONES:
            for object_id in self.ids:
                storage.delete(*self.LIST, object_id)
            self.page(storage)  # kept, with the tombstones
        self.WRITES[write](storage, self.ids, self.LIST)
        assert self.page(storage) == self.listed(storage)

    def test_creations_queued_under_a_held_lock_are_seen(self, storage):
        with current_request() as request, request.tm:
            for n in range(3):
                storage.create(*self.LIST, {"n": 10 + n})
        page = self.page(storage)
        assert page == self.listed(storage)
        assert [obj["n"] for obj in page[:3]] == [12, 11, 10]

    def test_writes_of_another_storage_are_seen(self, storage):
        other = postgresql.Storage(storage.database)
        other.update(*self.LIST, self.ids[0], {"n": 10})
        assert self.page(storage) == self.listed(storage)

    def test_a_list_created_again_is_read_again(self, storage):
        storage.flush()
        storage.create("collection", "/buckets/b", {"id": "c"})
        storage.create(*self.LIST, {"id": self.ids[0], "n": 0})
        assert self.page(storage) == self.listed(storage)

    def test_a_request_that_writes_neither_uses_nor_keeps_pages(self, storage):
        storage.pages.clear()
        with current_request() as request, request.tm:
            storage.update(*self.LIST, self.ids[0], {"n": 10})
            page = self.page(storage)
            assert page[0]["n"] == 10
            assert len(storage.pages) == 0
        assert self.page(storage) == self.listed(storage)
