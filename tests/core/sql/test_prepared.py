"""Prepared statements on PostgreSQL (:mod:`kinto.core.sql.prepared`): the
statements of :mod:`kinto.core.sql.fast` are prepared once per connection,
answer as plain ones would, and survive failures."""

import pytest

from kinto.core.sql import fast, get_database, prepared
from kinto.core.sql.prepared import parameter_type
from kinto.core.storage import IntegrityError
from tests.sql_support import captured_statements, unprepared

ON_POSTGRESQL = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

TYPED = fast.RawStatement(
    "SELECT :s = 'a', CAST(:n AS NUMERIC) + 1, :b AND TRUE, 'x' = ANY(:texts),"
    " 5 = ANY(:ints), CAST(:none AS BIGINT) IS NULL, 7 = ANY(:empty), :s || 'z'",
    arrays=("texts", "ints", "empty"),
)


@ON_POSTGRESQL
def test_a_statement_is_prepared_once_per_connection_then_executed(database):
    statement = fast.RawStatement("SELECT name FROM items WHERE name <> :name /* once */")
    with captured_statements(database.engine) as seen:
        database.run(
            lambda c: [fast.fetch_all(c, statement, {"name": "x"}) for _ in range(3)], write=False
        )
    assert [text.split(" ", 1)[0] for text in seen] == ["PREPARE", "EXECUTE", "EXECUTE"]


@ON_POSTGRESQL
@pytest.mark.parametrize(
    "values",
    [
        {"s": "a", "n": 1, "b": True, "texts": ["x"], "ints": [5], "none": None, "empty": []},
        {"s": "b", "n": 2**70, "b": False, "texts": [], "ints": [2**70], "none": 3, "empty": [7]},
        {
            "s": "'",
            "n": 1.5,
            "b": True,
            "texts": ["y", "x"],
            "ints": [1.5],
            "none": None,
            "empty": [],
        },
    ],
)
def test_values_of_every_type_answer_as_in_a_plain_statement(database, values):
    def read(c):
        return fast.fetch_all(c, TYPED, values)

    with unprepared(database.engine):
        plain = database.run(read, write=False)
    for _ in range(2):  # preparing, then prepared
        assert database.run(read, write=False) == plain


@ON_POSTGRESQL
def test_a_failed_statement_that_prepared_is_followed_by_a_reset(database):
    insert = fast.RawStatement("INSERT INTO items (name) VALUES (:name) /* reset */")
    count = fast.RawStatement("SELECT COUNT(*) FROM items /* reset */")

    def work(c):
        fast.execute(c, fast.RawStatement("INSERT INTO items VALUES (:n)"), {"n": "a"})
        with pytest.raises(IntegrityError):
            fast.execute(c, insert, {"name": "a"})  # prepared, or not?
        with captured_statements(database.engine) as seen:
            (total,) = fast.fetch_all(c, count, {})
            fast.execute(c, insert, {"name": "b"})  # prepared again
        return total, seen

    total, seen = database.run(work, write=False)
    assert total == (1,)
    assert seen[0].startswith("DEALLOCATE ALL;PREPARE")
    assert seen[1].startswith("PREPARE")
    assert database.run(lambda c: fast.fetch_all(c, count, {}), write=False) == [(2,)]


@ON_POSTGRESQL
def test_a_connection_drops_its_least_recently_used_statement_when_full(database, monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 2)
    first, second, third = (
        fast.RawStatement(f"SELECT {n} FROM items /* full */") for n in (1, 2, 3)
    )

    def work(c):
        c.exec_driver_sql("DEALLOCATE ALL")  # those of earlier tests
        c.connection.info.pop(prepared.PREPARED, None)
        with captured_statements(database.engine) as seen:
            for statement in (first, second, first, third, first, second):
                fast.fetch_all(c, statement, {})
        held = c.exec_driver_sql("SELECT COUNT(*) FROM pg_prepared_statements").scalar()
        return seen, held

    seen, held = database.run(work, write=False)
    assert [text.split(" ", 2)[:2] for text in seen] == [
        ["PREPARE", first.shape.form(())[0]],
        ["PREPARE", second.shape.form(())[0]],
        ["EXECUTE", first.shape.form(())[0]],
        ["DEALLOCATE", second.shape.form(())[0] + ";PREPARE"],
        ["EXECUTE", first.shape.form(())[0]],
        ["DEALLOCATE", third.shape.form(())[0] + ";PREPARE"],
    ]
    assert held == 2


@ON_POSTGRESQL
def test_a_statement_planned_for_its_values_is_never_prepared(database):
    statement = fast.RawStatement("SELECT name FROM items /* values */", prepare=False)
    with captured_statements(database.engine) as seen:
        database.run(lambda c: [fast.fetch_all(c, statement, {}) for _ in range(2)], write=False)
    assert seen == ["SELECT name FROM items /* values */"] * 2


@ON_POSTGRESQL
def test_prepared_statements_can_be_turned_off(database, postgresql_url):
    plain = get_database(
        {"storage_url": postgresql_url, "storage_prepared_statements": "false"}, "storage_"
    )
    with captured_statements(plain.engine) as seen:
        plain.run(lambda c: fast.fetch_all(c, TYPED, TYPED_VALUES), write=False)
    assert seen and not any("PREPARE" in text or "EXECUTE" in text for text in seen)


@ON_POSTGRESQL
def test_prepared_statements_are_planned_once_for_all_values(database, postgresql_url):
    def mode(c):
        return c.exec_driver_sql("SHOW plan_cache_mode").scalar()

    plain = get_database(
        {"storage_url": postgresql_url, "storage_prepared_statements": "false"}, "storage_"
    )
    assert database.run(mode, write=False) == "force_generic_plan"
    assert plain.run(mode, write=False) == "auto"


TYPED_VALUES = {"s": "a", "n": 1, "b": True, "texts": [], "ints": [], "none": None, "empty": []}


@pytest.mark.parametrize(
    ("value", "declared"),
    [
        ("text", "unknown"),
        (None, "unknown"),
        ([], "unknown"),
        (True, "boolean"),
        (42, "bigint"),
        (2**63, "numeric"),
        (0.5, "numeric"),
        (["a", "b"], "text[]"),
        ([1, 2], "bigint[]"),
        ([1, 2.5], "numeric[]"),
        ([True], "boolean[]"),
        (["a", 1], "unknown"),
        (type("Name", (str,), {})("n"), "unknown"),
        ([type("Name", (str,), {})("n")], "text[]"),
        (type("Count", (int,), {})(3), "bigint"),
        (object(), "unknown"),
    ],
)
def test_parameters_are_declared_as_the_driver_types_their_literals(value, declared):
    assert parameter_type(value) == declared
