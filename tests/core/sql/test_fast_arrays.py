"""Array parameters, per-dialect texts and writes of the driver-level
statements (:mod:`kinto.core.sql.fast`), on SQLite and PostgreSQL."""

import pytest

from kinto.core.sql import fast
from kinto.core.storage import IntegrityError
from tests.core.sql.test_database import current_request, names
from tests.sql_support import captured_statements

AMONG = fast.RawStatement("SELECT name FROM items WHERE name = ANY(:names) ORDER BY name")
ADD = fast.RawStatement("INSERT INTO items (name) VALUES (:name)")
ADD_MANY = fast.RawStatement(
    "INSERT INTO items (name) SELECT * FROM unnest(CAST(:names AS TEXT[]))",
    sqlite="INSERT INTO items (name) SELECT value FROM json_each(:names)",
    arrays=("names",),
)
REMOVE_AMONG = fast.RawStatement("DELETE FROM items WHERE name = ANY(:names)")


def add(database, *values):
    for value in values:
        database.run(lambda c, value=value: fast.execute(c, ADD, {"name": value}))


def among(database, values):
    rows = database.run(lambda c: fast.fetch_all(c, AMONG, {"names": values}), write=False)
    return [name for (name,) in rows]


def test_sqlite_text_is_derived_from_any_membership():
    assert AMONG.render("sqlite") == (
        "SELECT name FROM items WHERE name IN (SELECT value FROM json_each(:names)) ORDER BY name"
    )
    assert AMONG.render("postgresql") == (
        "SELECT name FROM items WHERE name = ANY(%(names)s) ORDER BY name"
    )
    assert AMONG.arrays == {"names"}


def test_statements_without_arrays_render_as_before():
    statement = fast.RawStatement("SELECT name FROM items WHERE name LIKE '%' || :suffix")
    assert statement.arrays == frozenset()
    assert statement.render("sqlite") == statement.text
    assert statement.render("postgresql") == (
        "SELECT name FROM items WHERE name LIKE '%%' || %(suffix)s"
    )


def test_array_membership_matches_the_listed_values_only(database):
    add(database, "a", "b", "c")
    assert among(database, ["c", "a", "z"]) == ["a", "c"]


def test_an_empty_array_matches_nothing(database):
    add(database, "a")
    assert among(database, []) == []


@pytest.mark.parametrize("make", [tuple, set, lambda values: (v for v in values)])
def test_an_array_parameter_takes_any_iterable(database, make):
    add(database, "a", "b")
    assert among(database, make(["a", "b"])) == ["a", "b"]


def test_array_values_are_literal_whatever_their_characters(database):
    odd = ["it's", 'say "hi"', "100%", "%(name)s", ":name", "a,b", "{x}", "zoë", "🦊", "a\\b"]
    add(database, *odd, "plain")
    assert among(database, odd) == sorted(odd)


def test_a_long_array_is_one_statement(database):
    values = [f"item-{n}" for n in range(20_000)]
    database.run(lambda c: fast.execute(c, ADD_MANY, {"names": values}))
    with captured_statements(database.engine) as sent:
        assert len(among(database, values[::2])) == 10_000
    assert len(sent) == 1


def test_a_text_for_sqlite_replaces_the_statement_there(database):
    assert database.run(lambda c: fast.execute(c, ADD_MANY, {"names": ["x", "y"]})) == 2
    assert names(database) == ["x", "y"]


def test_execute_returns_the_number_of_rows_changed(database):
    add(database, "a", "b", "c")
    removed = database.run(lambda c: fast.execute(c, REMOVE_AMONG, {"names": ["a", "c", "z"]}))
    assert removed == 2
    assert names(database) == ["b"]


def test_writes_of_an_aborted_request_are_rolled_back(database):
    with current_request(method="POST") as request:
        request.tm.begin()
        add(database, "a")
        assert among(database, ["a"]) == ["a"]
        request.tm.abort()
    assert names(database) == []


def test_writes_of_a_committed_request_are_kept(database):
    with current_request(method="POST") as request, request.tm:
        add(database, "a")
    assert names(database) == ["a"]


def test_a_constraint_violation_is_an_integrity_error(database):
    add(database, "a")
    with pytest.raises(IntegrityError):
        add(database, "a")
    assert names(database) == ["a"]
