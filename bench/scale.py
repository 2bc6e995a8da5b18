"""Scale scenario: the same requests on a 10,000-record and on a
1,000,000-record collection of one PostgreSQL database.

Starts Kinto on PostgreSQL (as ``run.py`` does), creates bucket ``scale``
with collections ``small`` and ``large`` through the API, then bulk-loads
their records directly in SQL (``INSERT ... SELECT generate_series``: rows
exactly as the storage backend writes them, with increasing timestamps and
the list timestamp row moved to the newest), runs ``ANALYZE``, and measures
each request on both collections with the load generator of ``run.py``. The
table gives req/s, p50/p99 and the ratio ``large / small`` of the p50
latencies (the acceptance: within 2x).

Requests (``--page`` records per page, default 100):

* ``page``: ``GET records?_limit=100``, the first page in the default
  order (``-last_modified``);
* ``filter``: ``GET records?category=c3&_sort=-last_modified&_limit=100``,
  an equality filter on a JSON field matching one record in ten, with the
  default sort and a page limit, as a client filtering a synced list does;
* ``since``: ``GET records?_since=<ts>``, the 10 records written after
  ``<ts>`` (an incremental sync near the end of the list);
* ``read``: ``GET`` one record, cycling over 1,000 ids spread over the
  whole collection.

``--arbitrary-sort`` also times, single-threaded and a few times only,
``GET records?_sort=rank&_limit=100``: a sort on a JSON field without a
filter, which has to read and sort every record of the list (no index can
serve it): reported for information, not part of the 2x acceptance.

Usage::

    .venv/bin/python bench/scale.py --storage-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import loadgen
import run as bench
import scenarios
import sqlalchemy as sa
from wire import Connection, encode_request

BUCKET = "scale"
SIZES = {"small": 10_000, "large": 1_000_000}
REQUESTS = ("page", "filter", "since", "read")
SINCE_CHANGES = 10
READ_IDS = 1000


def records_path(collection: str) -> str:
    return f"/v1/buckets/{BUCKET}/collections/{collection}/records"


# Rows as the PostgreSQL storage writes them: ``data`` holds every field but
# ``id`` and ``last_modified``. Ids are UUIDs derived from the row number.
_LOAD = sa.text(
    """
    INSERT INTO objects (resource_name, parent_id, id, last_modified, deleted, data)
    SELECT 'record', :parent, md5(:parent || i::text)::uuid::text, :base + i, FALSE,
           jsonb_build_object(
               'title', 'Item number ' || i,
               'n', i,
               'rank', (i::bigint * 7919) % 1000,
               'category', 'c' || (i % 10),
               'done', i % 2 = 0,
               'tags', jsonb_build_array('bench', 't' || (i % 3)))
    FROM generate_series(:start, :stop) AS i
    """
)
_STAMP = sa.text(
    """
    INSERT INTO timestamps (resource_name, parent_id, last_modified)
    VALUES ('record', :parent, :stamp)
    ON CONFLICT (resource_name, parent_id) DO UPDATE SET last_modified = excluded.last_modified
    """
)
_IDS = sa.text(
    "SELECT id FROM objects WHERE resource_name = 'record' AND parent_id = :parent"
    " AND last_modified = ANY(:stamps)"
)
_CHUNK = 100_000


def bulk_load(url: str, collection: str, count: int) -> dict:
    """Fill ``collection`` with ``count`` records in SQL; return the ids to
    read and the ``_since`` timestamp."""
    parent = f"/buckets/{BUCKET}/collections/{collection}"
    engine = sa.create_engine(bench_url(url))
    base = int(time.time() * 1000) - count - 1000
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM objects WHERE resource_name = 'record' AND parent_id = :p"),
                {"p": parent},
            )
        for start in range(1, count + 1, _CHUNK):
            stop = min(count, start + _CHUNK - 1)
            with engine.begin() as connection:
                connection.execute(
                    _LOAD, {"parent": parent, "base": base, "start": start, "stop": stop}
                )
        with engine.begin() as connection:
            connection.execute(_STAMP, {"parent": parent, "stamp": base + count})
            step = max(count // READ_IDS, 1)
            stamps = [base + i for i in range(1, count + 1, step)][:READ_IDS]
            ids = connection.execute(_IDS, {"parent": parent, "stamps": stamps}).scalars().all()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE objects"))
    finally:
        engine.dispose()
    return {"ids": list(ids), "since": base + count - SINCE_CHANGES}


def drop_bucket(url: str) -> None:
    """Remove what a previous run left of bucket ``scale`` (its owner was
    another user: every run has its own HMAC secret), directly in SQL."""
    prefix = f"/buckets/{BUCKET}"
    engine = sa.create_engine(bench_url(url))
    try:
        with engine.begin() as connection:
            for statement in (
                "DELETE FROM objects WHERE parent_id = :p OR parent_id LIKE :children"
                " OR (resource_name = 'bucket' AND id = :id)",
                "DELETE FROM timestamps WHERE parent_id = :p OR parent_id LIKE :children",
                "DELETE FROM access_control_entries WHERE object_id = :p"
                " OR object_id LIKE :children",
            ):
                connection.execute(
                    sa.text(statement), {"p": prefix, "children": f"{prefix}/%", "id": BUCKET}
                )
        # A million deleted rows leave the tables' files that large: later
        # runs (run.py on the same database) would scan them. Give the
        # space back.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM FULL objects, timestamps, access_control_entries"))
    finally:
        engine.dispose()


def bench_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1).replace(
        "postgres://", "postgresql+psycopg2://", 1
    )


def paths(collection: str, loaded: dict, page: int) -> dict[str, list[str]]:
    base = records_path(collection)
    return {
        "page": [f"{base}?_limit={page}"],
        "filter": [f"{base}?category=c3&_sort=-last_modified&_limit={page}"],
        "since": [f"{base}?_since={loaded['since']}"],
        "read": [f"{base}/{record_id}" for record_id in loaded["ids"]],
    }


def check(api: scenarios.Api, collection: str, loaded: dict, page: int) -> str:
    """One request of each kind: result sizes as expected."""
    expected = {"page": page, "filter": page, "since": SINCE_CHANGES}
    found = []
    for name, urls in paths(collection, loaded, page).items():
        _, body = api.call("GET", urls[0], expect=(200,))
        size = len(body["data"]) if isinstance(body["data"], list) else 1
        wanted = expected.get(name, 1)
        found.append(f"{name}={size}" + ("" if size == wanted else f" (expected {wanted})"))
    return f"{collection}: " + ", ".join(found)


def time_arbitrary_sort(port: int, auth: str, collection: str, page: int, repeat: int) -> float:
    """Median seconds of ``?_sort=rank&_limit=<page>``, one request at a time."""
    host = f"127.0.0.1:{port}"
    raw = encode_request(
        "GET",
        f"{records_path(collection)}?_sort=rank&_limit={page}",
        host,
        {"Authorization": auth},
    )
    conn = Connection("127.0.0.1", port, timeout=600)
    times = []
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            response = conn.request(raw)
            times.append(time.perf_counter() - started)
            if response.status != 200:
                raise scenarios.SetupError(f"arbitrary sort -> {response.status}")
    finally:
        conn.close()
    return statistics.median(times)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--storage-url", required=True, help="postgresql://... (bucket scale is replaced)"
    )
    parser.add_argument("--large", type=int, default=SIZES["large"], help="records of 'large'")
    parser.add_argument("--small", type=int, default=SIZES["small"], help="records of 'small'")
    parser.add_argument("--page", type=int, default=100, help="_limit of page and filter")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--arbitrary-sort", action="store_true", help="also time ?_sort=rank")
    parser.add_argument("--keep-data", action="store_true", help="leave the scale bucket")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    run_args = bench.parse_args(
        [
            *("--backend", "postgresql", "--storage-url", args.storage_url),
            *("--threads", str(args.threads)),
        ]
    )
    waitress = bench.waitress_settings(run_args)
    workdir = Path(tempfile.mkdtemp(prefix="kinto-scale-"))
    ini = bench.write_ini(workdir, run_args)
    kinto = bench.Server("Kinto", ["--ini", str(ini)], waitress, workdir / "kinto.log")
    owner = None
    try:
        bench.migrate(ini)
        kinto.start()
        kinto.wait_port(time.monotonic() + bench.STARTUP_TIMEOUT)
        kinto.wait_ready("/v1/", time.monotonic() + bench.STARTUP_TIMEOUT)
        drop_bucket(args.storage_url)
        owner = scenarios.Api("127.0.0.1", kinto.port, scenarios.OWNER)
        owner.call("PUT", f"/v1/buckets/{BUCKET}", {"data": {}})
        sizes = {"small": args.small, "large": args.large}
        loaded = {}
        for collection, count in sizes.items():
            owner.call("PUT", f"/v1/buckets/{BUCKET}/collections/{collection}", {"data": {}})
            started = time.monotonic()
            loaded[collection] = bulk_load(args.storage_url, collection, count)
            print(
                f"Loaded {count:,} records in {collection} in {time.monotonic() - started:.0f} s"
            )
        for collection in sizes:
            print("Check: " + check(owner, collection, loaded[collection], args.page))

        context = {"host": owner.host, "owner_auth": owner.auth}
        results = {}
        with multiprocessing.Pool(args.connections) as pool:
            for name in REQUESTS:
                for collection in sizes:
                    context["paths"] = paths(collection, loaded[collection], args.page)[name]
                    summary = loadgen.run_scenario(
                        pool,
                        f"scale-{name}",
                        context,
                        kinto.port,
                        args.connections,
                        args.warmup,
                        args.duration,
                        1_000_000,
                        kinto.process.pid,
                    )
                    results[name, collection] = summary
                    print(f"  {name:<7} {collection:<6} {summary.rate:>8.1f} req/s", flush=True)

        print()
        for line in format_table(results, sizes):
            print(line)
        if args.arbitrary_sort:
            print()
            for collection, count in sizes.items():
                seconds = time_arbitrary_sort(kinto.port, owner.auth, collection, args.page, 3)
                print(
                    f"?_sort=rank&_limit={args.page} on {count:,} records: {seconds * 1000:.0f} ms"
                    " (median of 3, one request at a time)"
                )
        if args.json:
            import dataclasses
            import json

            document = {
                f"{name}/{collection}": dataclasses.asdict(summary)
                for (name, collection), summary in results.items()
            }
            Path(args.json).write_text(json.dumps(document, indent=2))
        return 1 if any(summary.errors for summary in results.values()) else 0
    finally:
        if owner is not None:
            owner.close()
        kinto.stop()
        if owner is not None and not args.keep_data:
            # In SQL: deleting a million records through the API takes minutes.
            drop_bucket(args.storage_url)
        shutil.rmtree(workdir, ignore_errors=True)


def format_table(results, sizes) -> list[str]:
    small, large = (f"{count:,}" for count in sizes.values())
    header = (
        f"{'request':<8} {small + ' req/s':>14} {'p50':>7} {'p99':>7}"
        f" {large + ' req/s':>16} {'p50':>7} {'p99':>7} {'p50 ratio':>10}"
    )
    lines = [header, "-" * len(header)]
    for name in REQUESTS:
        a, b = results[name, "small"], results[name, "large"]
        ratio = b.p50_ms / a.p50_ms if a.p50_ms else 0.0
        lines.append(
            f"{name:<8} {a.rate:>14.1f} {a.p50_ms:>7.2f} {a.p99_ms:>7.2f}"
            f" {b.rate:>16.1f} {b.p50_ms:>7.2f} {b.p99_ms:>7.2f} {ratio:>10.2f}"
        )
    lines.append("Latencies in ms; p50 ratio = large / small (acceptance: at most 2).")
    return lines


if __name__ == "__main__":
    sys.exit(main())
