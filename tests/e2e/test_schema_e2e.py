"""End to end: the ``kinto_http`` client against ``kinto start`` with JSON
schema validation on; a record the collection's schema rejects."""

import secrets
import uuid

import pytest
from kinto_http import Client, KintoException

from tests.e2e.conftest import INI_TEMPLATE, running_server

pytestmark = pytest.mark.xdist_group("e2e")

SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "done": {"type": "boolean"}},
    "required": ["title"],
}


@pytest.fixture(scope="module")
def schema_server_url(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kinto-e2e-schema")
    base = INI_TEMPLATE.format(secret=secrets.token_hex(32))
    setting = "kinto.experimental_collection_schema_validation = true\n"
    ini_text = base.replace("use = egg:kinto\n", f"use = egg:kinto\n{setting}")
    assert ini_text != base
    with running_server(directory, ini_text) as url:
        yield url


@pytest.fixture
def tasks(schema_server_url):
    client = Client(server_url=schema_server_url, auth=(f"erin-{uuid.uuid4().hex}", "secret"))
    bucket = f"b{uuid.uuid4().hex[:8]}"
    client.create_bucket(id=bucket)
    client.create_collection(id="tasks", bucket=bucket, data={"schema": SCHEMA})
    return Client(
        server_url=schema_server_url, auth=client.session.auth, bucket=bucket, collection="tasks"
    )


def test_schema_capability_is_announced(tasks):
    assert "schema" in tasks.server_info()["capabilities"]


def test_record_matching_the_schema_is_stored_with_the_schema_version(tasks):
    record = tasks.create_record(data={"title": "write tests", "done": False})["data"]
    collection = tasks.get_collection()["data"]
    assert record["schema"] == collection["last_modified"]


def test_record_violating_the_schema_is_rejected_with_errno_107(tasks):
    with pytest.raises(KintoException) as raised:
        tasks.create_record(data={"done": "not a boolean"})
    response = raised.value.response
    assert response.status_code == 400
    body = response.json()
    assert body["errno"] == 107
    assert body["error"] == "Invalid parameters"
    assert body["details"][0]["location"] == "body"
    assert tasks.get_records() == []
