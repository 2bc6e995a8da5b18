"""Count the SQL round trips of each bench scenario, in process.

Builds the Kinto application on a SQL backend (the same settings as
``bench/run.py`` writes), creates a small data set through the API, then
sends each scenario's request a few times through WebTest and prints, per
request: the statements sent to the database (``BEGIN``, ``COMMIT``,
``ROLLBACK`` and ``SAVEPOINT`` included, since each is a round trip) and the
single-threaded time per request, and the CPU time of the process per
request (Kinto's own cost, without the database server's). ``--profile
NAME`` prints a cProfile of that scenario instead.

Usage::

    .venv/bin/python bench/statements.py --backend postgresql \\
        --storage-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python bench/statements.py --backend sqlite --show read
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import webtest
from sqlalchemy import event

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import kinto  # noqa: E402
from kinto.core import sql  # noqa: E402

BUCKET = "/v1/buckets/bench"
ITEMS = f"{BUCKET}/collections/items/records"
CREATED = f"{BUCKET}/collections/created/records"
SHARED = f"{BUCKET}/collections/shared/records"
PATCHED = f"{BUCKET}/collections/patched/records"


def auth(user: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{user}-secret".encode()).decode()
    return {"Authorization": f"Basic {token}"}


OWNER, READER = auth("alice"), auth("bob")


class StatementLog:
    """Every round trip to the database: statements, and the ``COMMIT`` or
    ``ROLLBACK`` that the driver sends when a transaction is open (a
    ``BEGIN`` sent with the first statement counts with it)."""

    def __init__(self, engine) -> None:
        self.statements: list[str] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._execute)
        for name in ("commit", "rollback"):
            event.listen(engine, name, self._verb(name.upper()))

    def _execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.active:
            self.statements.append(" ".join(statement.split())[:110])

    def _verb(self, name):
        def record(conn) -> None:
            if not self.active:
                return
            raw = conn.connection.dbapi_connection
            status = getattr(raw, "info", None)
            if status is not None:  # psycopg2
                open_ = status.transaction_status != 0
            else:  # sqlite3
                open_ = raw.in_transaction
            if open_:
                self.statements.append(name)

        return record


def build(args, workdir: Path):
    url = args.storage_url or f"sqlite:///{workdir / 'kinto.sqlite'}"
    settings = {
        "multiauth.policies": "basicauth",
        "userid_hmac_secret": "bench",
        "bucket_create_principals": "system.Authenticated",
        "includes": "",
    }
    for kind in ("storage", "permission", "cache"):
        settings[f"{kind}_backend"] = f"kinto.core.{kind}.{args.backend}"
        settings[f"{kind}_url"] = url
    database = sql.get_database({"x_url": url}, "x_")
    for kind in ("storage", "permission", "cache"):
        database.initialize_schema(kind)
    application = kinto.main({}, **settings)
    return webtest.TestApp(application), application.registry.storage.database


def populate(app, records: int) -> dict:
    app.delete(BUCKET, headers=OWNER, status=(200, 403, 404))
    app.put_json(BUCKET, {"data": {}}, headers=OWNER)
    for name in ("items", "created", "shared", "patched"):
        app.put_json(f"{BUCKET}/collections/{name}", {"data": {}}, headers=OWNER)
    reader_id = app.get("/v1/", headers=READER).json["user"]["id"]
    ids = []
    for start in range(0, records, 25):
        body = {
            "defaults": {"method": "POST", "path": ITEMS[3:]},
            "requests": [
                {"body": {"data": {"n": i, "category": f"c{i % 10}", "rank": i * 7919 % 1000}}}
                for i in range(start, min(records, start + 25))
            ],
        }
        responses = app.post_json("/v1/batch", body, headers=OWNER).json["responses"]
        ids += [response["body"]["data"]["id"] for response in responses]
        body["defaults"]["path"] = SHARED[3:]
        for i, sub in enumerate(body["requests"]):
            if (start + i) % 10 == 0:
                sub["body"]["permissions"] = {"read": [reader_id]}
        app.post_json("/v1/batch", body, headers=OWNER)
    since = app.get(f"{ITEMS}?_sort=-last_modified&_limit=11", headers=OWNER).json["data"][-1]
    patched = app.post_json(PATCHED, {"data": {"counter": 0}}, headers=OWNER).json["data"]
    return {"ids": ids, "since": since["last_modified"], "patched": patched}


def scenarios(app, context):
    state = {"etag": f'"{context["patched"]["last_modified"]}"', "n": 0, "i": 0}
    ids = context["ids"]

    def read():
        state["i"] = (state["i"] + 1) % len(ids)
        app.get(f"{ITEMS}/{ids[state['i']]}", headers=OWNER)

    def patch():
        state["n"] += 1
        headers = {**OWNER, "If-Match": state["etag"]}
        path = f"{PATCHED}/{context['patched']['id']}"
        response = app.patch_json(path, {"data": {"counter": state["n"]}}, headers=headers)
        state["etag"] = response.headers["ETag"]

    batch_body = {
        "defaults": {"method": "POST", "path": CREATED[3:]},
        "requests": [{"body": {"data": {"n": i}}} for i in range(25)],
    }
    return {
        "hello": lambda: app.get("/v1/", headers=OWNER),
        "create": lambda: app.post_json(CREATED, {"data": {"n": 1}}, headers=OWNER, status=201),
        "read": read,
        "list": lambda: app.get(f"{ITEMS}?category=c3&_sort=-rank,title", headers=OWNER),
        "page": lambda: app.get(f"{ITEMS}?_limit=10", headers=OWNER),
        "since": lambda: app.get(f"{ITEMS}?_since={context['since']}", headers=OWNER),
        "patch": patch,
        "batch": lambda: app.post_json("/v1/batch", batch_body, headers=OWNER),
        "shared": lambda: app.get(SHARED, headers=READER),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--storage-url", default="")
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per scenario")
    parser.add_argument("--show", action="append", default=[], help="print the statements")
    parser.add_argument("--profile", help="cProfile this scenario")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--lines", type=int, default=45, help="cProfile lines")
    args = parser.parse_args(argv)
    if args.backend == "postgresql" and not args.storage_url:
        parser.error("--backend postgresql needs --storage-url")

    with tempfile.TemporaryDirectory(prefix="kinto-statements-") as workdir:
        app, database = build(args, Path(workdir))
        log = StatementLog(database.engine)
        context = populate(app, args.records)
        runs = scenarios(app, context)
        if args.profile:
            runs[args.profile]()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.repeat):
                runs[args.profile]()
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
            app.delete(BUCKET, headers=OWNER)
            return 0
        print(f"{'scenario':<8} {'stmts':>6} {'ms/req':>8} {'cpu ms':>7}  statements")
        for name, run in runs.items():
            run()  # warm caches
            log.statements.clear()
            log.active = True
            run()
            log.active = False
            kinds = Counter(s.split()[0] for s in log.statements)
            count = args.repeat if name != "batch" else max(args.repeat // 25, 2)
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                run()
            elapsed = (time.perf_counter() - started) / count * 1000
            cpu = (time.process_time() - cpu) / count * 1000
            summary = " ".join(f"{k}:{n}" for k, n in sorted(kinds.items()))
            print(f"{name:<8} {len(log.statements):>6} {elapsed:>8.2f} {cpu:>7.2f}  {summary}")
            if name in args.show:
                for statement in log.statements:
                    print(f"         {statement}")
        app.delete(BUCKET, headers=OWNER)
    sql.dispose_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
