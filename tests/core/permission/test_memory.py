import threading

from pyramid.config import Configurator

from kinto.core.permission import memory
from kinto.core.permission.testing import COLLECTION, PermissionSuite


class TestMemoryPermission(PermissionSuite):
    backend = memory
    settings = {}


def test_load_from_config_builds_a_memory_backend():
    backend = memory.load_from_config(Configurator(settings={}))
    assert isinstance(backend, memory.Permission)


def test_two_backends_share_nothing():
    first, second = memory.Permission(), memory.Permission()
    first.add_principal_to_ace(COLLECTION, "read", "alice")
    first.add_user_principal("alice", "/buckets/b/groups/g")
    assert second.get_accessible_objects(["alice"]) == {}
    assert second.get_user_principals("alice") == set()


def _in_threads(target, count=8):
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_grants_and_revokes_keep_aces_and_index_consistent():
    backend = memory.Permission()
    records = [f"{COLLECTION}/records/r{i}" for i in range(200)]

    def grant_then_revoke_odd(worker):
        principal = f"user{worker}"
        for uri in records:
            backend.add_principal_to_ace(uri, "read", principal)
            backend.add_principal_to_ace(uri, "read", "shared")
        for uri in records[1::2]:
            backend.remove_principal_from_ace(uri, "read", principal)

    _in_threads(grant_then_revoke_odd)

    workers = {f"user{n}" for n in range(8)}
    assert backend.get_object_permission_principals(records[0], "read") == workers | {"shared"}
    assert backend.get_object_permission_principals(records[1], "read") == {"shared"}
    bound = [(f"{COLLECTION}/records/*", "read")]
    for principal in workers:
        accessible = backend.get_accessible_objects([principal], bound, with_children=False)
        assert set(accessible) == set(records[::2])
    assert len(backend.get_accessible_objects(["shared"], bound)) == len(records)


def test_concurrent_group_membership_changes_are_all_kept():
    backend = memory.Permission()

    def join_groups(worker):
        for group in range(50):
            backend.add_user_principal(f"user{worker}", f"/buckets/b/groups/g{group}")
        backend.remove_principal(f"/buckets/b/groups/g{worker}")

    _in_threads(join_groups)

    for worker in range(8):
        principals = backend.get_user_principals(f"user{worker}")
        assert all(f"/buckets/b/groups/g{n}" not in principals for n in range(worker + 1, 8))
        assert {f"/buckets/b/groups/g{n}" for n in range(8, 50)} <= principals
