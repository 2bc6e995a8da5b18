import pytest
from pyramid import httpexceptions

from kinto.core import jsonutil
from kinto.core.resource import patch


def error_of(function, *args):
    with pytest.raises(httpexceptions.HTTPBadRequest) as excinfo:
        function(*args)
    return jsonutil.loads(excinfo.value.body)


def test_plain_merge_is_shallow_and_stores_null():
    data = {"a": 1, "b": {"x": 1, "y": 2}}
    assert patch.merge_plain(data, {"a": None, "b": {"x": 3}}) == {"a": None, "b": {"x": 3}}
    assert data == {"a": 1, "b": {"x": 1, "y": 2}}


def test_merge_patch_is_recursive_and_null_removes():
    data = {"a": 1, "b": {"x": 1, "y": 2}, "c": 3}
    result = patch.merge_patch(data, {"a": None, "b": {"x": None, "z": 0}, "d": False, "e": {}})
    assert result == {"b": {"y": 2, "z": 0}, "c": 3, "d": False, "e": {}}
    assert data == {"a": 1, "b": {"x": 1, "y": 2}, "c": 3}


def test_merge_patch_replaces_non_objects():
    assert patch.merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
    assert patch.merge_patch({"a": 1}, {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}


def test_permission_edits():
    assert patch.replace_permissions(["read", "write"], {"read": ["a"]}) == {
        "read": ["a"],
        "write": [],
    }
    assert patch.update_permissions({"read": ["a"], "write": None}) == {"read": ["a"]}
    assert patch.merge_permissions({"read": ["a"], "write": None}) == {
        "read": ["a"],
        "write": [],
    }


def apply(data, permissions, operations):
    return patch.apply_json_patch(data, permissions, patch.validate_operations(operations))


def test_json_patch_edits_data():
    data = {"title": "a", "tags": ["x"]}
    new_data, _ = apply(
        data,
        {"read": [], "write": []},
        [
            {"op": "replace", "path": "/data/title", "value": "b"},
            {"op": "add", "path": "/data/tags/-", "value": "y"},
            {"op": "copy", "from": "/data/title", "path": "/data/copy"},
            {"op": "test", "path": "/data/tags/0", "value": "x"},
        ],
    )
    assert new_data == {"title": "b", "tags": ["x", "y"], "copy": "b"}
    assert data == {"title": "a", "tags": ["x"]}


def test_json_patch_edits_permissions_with_principal_in_path():
    _, permissions = apply(
        {},
        {"read": ["alice"], "write": ["bob"]},
        [
            {"op": "add", "path": "/permissions/read/system.Everyone"},
            {"op": "remove", "path": "/permissions/write/bob"},
            {"op": "add", "path": "/permissions/write/~1buckets~1b~1groups~1g"},
        ],
    )
    assert sorted(permissions["read"]) == ["alice", "system.Everyone"]
    assert permissions["write"] == ["/buckets/b/groups/g"]


def test_json_patch_replaces_a_permission_with_an_array():
    _, permissions = apply(
        {},
        {"read": ["alice"], "write": []},
        [{"op": "add", "path": "/permissions/read", "value": ["x", "y"]}],
    )
    assert permissions == {"read": ["x", "y"], "write": []}


def test_json_patch_on_missing_permission_name_fails():
    body = error_of(
        apply, {}, {"read": [], "write": []}, [{"op": "add", "path": "/permissions/foo/x"}]
    )
    assert body["message"].startswith("JSON Patch operation failed:")


def test_failing_test_operation_is_rejected():
    body = error_of(
        apply, {"a": 1}, {"read": [], "write": []}, [{"op": "test", "path": "/data/a", "value": 2}]
    )
    assert body["details"][0]["description"].startswith("JSON Patch operation failed:")


def test_replacing_data_by_a_non_object_is_rejected():
    body = error_of(
        apply, {}, {"read": [], "write": []}, [{"op": "replace", "path": "/data", "value": 1}]
    )
    assert body["details"][0]["name"] == "data"


@pytest.mark.parametrize(
    "operations",
    [
        {"op": "add"},
        ["add"],
        [{"op": "destroy", "path": "/data/a"}],
        [{"op": "add", "path": "data/a", "value": 1}],
        [{"op": "add", "value": 1}],
        [{"op": "move", "path": "/data/a", "from": "nope"}],
        [{"op": "add", "path": "/data/a", "value": 1, "extra": True}],
    ],
)
def test_invalid_operations_are_rejected(operations):
    body = error_of(patch.validate_operations, operations)
    assert body["errno"] == 107
