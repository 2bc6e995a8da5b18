"""Kinto's permission inheritance (permissions.md §3.1).

Named by the ``multiauth.authorization_policy`` setting, whose default is
``kinto.authorization.AuthorizationPolicy``.
"""

from kinto.core.authorization import InheritanceTable

_BUCKET_READERS = ["write", "read"]


class AuthorizationPolicy(InheritanceTable):
    plurals = {
        "buckets": "bucket",
        "collections": "collection",
        "groups": "group",
        "records": "record",
    }

    tree = {
        "bucket": {
            "read": {"bucket": ["write", "read", "collection:create", "group:create"]},
            "write": {"bucket": ["write"]},
            "collection:create": {"bucket": ["write", "collection:create"]},
            "group:create": {"bucket": ["write", "group:create"]},
        },
        "collection": {
            "read": {
                "bucket": _BUCKET_READERS,
                "collection": ["write", "read", "record:create"],
            },
            "write": {"bucket": ["write"], "collection": ["write"]},
            "record:create": {"bucket": ["write"], "collection": ["write", "record:create"]},
        },
        "group": {
            "read": {"bucket": _BUCKET_READERS, "group": ["write", "read"]},
            "write": {"bucket": ["write"], "group": ["write"]},
        },
        "record": {
            "read": {
                "bucket": _BUCKET_READERS,
                "collection": ["write", "read"],
                "record": ["write", "read"],
            },
            "write": {"bucket": ["write"], "collection": ["write"], "record": ["write"]},
        },
    }

    # What one permission implies on the same object, as listed by the
    # /permissions endpoint.
    expansions = {
        "bucket": {
            "write": ["read", "read:attributes", "collection:create", "group:create"],
            "read": ["read:attributes"],
            "collection:create": ["read:attributes"],
            "group:create": ["read:attributes"],
        },
        "collection": {
            "write": ["read", "read:attributes", "record:create"],
            "read": ["read:attributes"],
            "record:create": ["read:attributes"],
        },
        "group": {"write": ["read"]},
        "record": {"write": ["read"]},
    }
