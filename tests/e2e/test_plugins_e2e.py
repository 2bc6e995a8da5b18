"""End to end: the ``kinto_http`` client against ``kinto start`` with the
default bucket and history plugins.

The server is the one of ``conftest.py`` (memory backends, Basic Auth) with
``kinto.includes`` added; it is started once for this module.
"""

import secrets
import uuid

import pytest
from kinto_http import Client, KintoException

from tests.e2e.conftest import INI_TEMPLATE, running_server

pytestmark = pytest.mark.xdist_group("e2e")

INCLUDES = "kinto.plugins.default_bucket kinto.plugins.history"


@pytest.fixture(scope="module")
def plugins_server_url(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kinto-e2e-plugins")
    base = INI_TEMPLATE.format(secret=secrets.token_hex(32))
    ini_text = base.replace("use = egg:kinto\n", f"use = egg:kinto\nkinto.includes = {INCLUDES}\n")
    assert ini_text != base
    with running_server(directory, ini_text) as url:
        yield url


@pytest.fixture
def carol(plugins_server_url):
    """A fresh user (unique credentials) per test."""
    return Client(server_url=plugins_server_url, auth=(f"carol-{uuid.uuid4().hex}", "secret"))


@pytest.fixture
def dave(plugins_server_url):
    return Client(server_url=plugins_server_url, auth=(f"dave-{uuid.uuid4().hex}", "secret"))


def test_plugins_are_announced(carol):
    info = carol.server_info()
    assert {"default_bucket", "history"} <= set(info["capabilities"])
    assert info["user"]["bucket"]


def test_records_written_in_the_default_bucket(carol):
    personal = carol.server_info()["user"]["bucket"]
    user_id = carol.server_info()["user"]["id"]

    created = carol.create_record(bucket="default", collection="notes", data={"text": "hello"})
    with carol.batch(bucket="default", collection="notes") as batch:
        for text in ("a", "b", "c"):
            batch.create_record(data={"text": text})

    assert created["data"]["text"] == "hello"
    assert user_id in created["permissions"]["write"]
    texts = sorted(r["text"] for r in carol.get_records(bucket="default", collection="notes"))
    assert texts == ["a", "b", "c", "hello"]
    # The same records under the personal bucket's real id.
    real = carol.get_records(bucket=personal, collection="notes")
    assert sorted(r["text"] for r in real) == texts
    bucket = carol.get_bucket(id="default")
    assert bucket["data"]["id"] == personal
    assert user_id in bucket["permissions"]["write"]


def test_default_buckets_are_personal(carol, dave):
    carol.create_record(bucket="default", collection="notes", data={"text": "mine"})
    assert dave.get_records(bucket="default", collection="notes") == []
    personal = carol.server_info()["user"]["bucket"]
    with pytest.raises(KintoException) as excinfo:
        dave.get_records(bucket=personal, collection="notes")
    assert excinfo.value.response.status_code == 403


def test_history_read_back_and_a_past_version_reconstructed(carol):
    personal = carol.server_info()["user"]["bucket"]
    notes = carol.clone(bucket="default", collection="notes")
    first = notes.create_record(data={"text": "draft"})["data"]
    record_id = first["id"]
    notes.update_record(id=record_id, data={"text": "final"})
    notes.patch_record(id=record_id, data={"done": True})
    current = notes.get_record(id=record_id)["data"]
    assert (current["text"], current["done"]) == ("final", True)

    history = carol.get_history(bucket="default")
    uri = f"/buckets/{personal}/collections/notes/records/{record_id}"
    entries = [entry for entry in history if entry["uri"] == uri]
    assert [entry["action"] for entry in entries] == ["update", "update", "create"]
    assert [(e["resource_name"], e["action"]) for e in history[-2:]] == [
        ("collection", "create"),
        ("bucket", "create"),
    ]
    # Filtered on the server side too.
    assert carol.get_history(bucket="default", record_id=record_id) == entries

    # The version current at the first write, rebuilt from the history.
    at = first["last_modified"]
    past = next(e for e in entries if e["target"]["data"]["last_modified"] <= at)
    assert past["target"]["data"] == first
    # The server rebuilds the whole collection at that time.
    snapshot, _ = carol.session.request(
        "get", f"/buckets/{personal}/snapshot/collections/notes@{at}"
    )
    assert snapshot["data"] == [first]


def test_history_is_private_and_purged_by_its_owner(carol, dave):
    carol.create_record(bucket="default", collection="notes", data={})
    personal = carol.server_info()["user"]["bucket"]
    with pytest.raises(KintoException) as excinfo:
        dave.get_history(bucket=personal)
    assert excinfo.value.response.status_code == 403

    deleted = carol.purge_history(bucket="default", resource_name="record")
    assert [entry["deleted"] for entry in deleted] == [True]
    remaining = carol.get_history(bucket="default")
    assert {entry["resource_name"] for entry in remaining} == {"bucket", "collection"}
