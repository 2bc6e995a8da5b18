"""Benchmark the Kinto server against a bare Pyramid floor.

Starts two servers on 127.0.0.1 with identical waitress settings -- Kinto
from a temporary INI file (memory backends unless told otherwise) and the
hello-world floor of ``floor.py`` --, creates the data set through the HTTP
API, then drives each scenario with N keep-alive connections, one worker
process per connection, for a fixed duration. Prints req/s, p50/p99 latency,
errors, the ratio to the floor's req/s and the CPU used by the server and by
the load processes (to show which side is saturated).

Usage: ``python bench/run.py [--duration 6] [--scenarios hello,read] [--rounds 3] ...``
(``--rounds``: the medians over several rounds, steadier on a noisy machine)
(``make bench BENCH_ARGS="..."``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import platform
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import loadgen
import scenarios
from wire import Connection, encode_request

HERE = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 60.0

BACKENDS = {
    "memory": {
        "storage": "kinto.core.storage.memory",
        "permission": "kinto.core.permission.memory",
        "cache": "kinto.core.cache.memory",
    },
    "postgresql": {
        "storage": "kinto.core.storage.postgresql",
        "permission": "kinto.core.permission.postgresql",
        "cache": "kinto.core.cache.postgresql",
    },
    "sqlite": {
        "storage": "kinto.core.storage.sqlite",
        "permission": "kinto.core.permission.sqlite",
        "cache": "kinto.core.cache.sqlite",
    },
}
CACHE_BACKENDS = {
    "memory": "kinto.core.cache.memory",
    "postgresql": "kinto.core.cache.postgresql",
    "sqlite": "kinto.core.cache.sqlite",
    "redis": "kinto.core.cache.redis",
}

#: The bench server's ``userid_hmac_secret`` (a throwaway local server).
USERID_HMAC_SECRET = "kinto-bench-userid-hmac-secret"

LOGGING_INI = """
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = plain

[formatter_plain]
format = %(asctime)s %(levelname)s [%(name)s] %(message)s
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load = parser.add_argument_group("load")
    load.add_argument("--duration", type=float, default=6.0, help="seconds per scenario")
    load.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per scenario")
    load.add_argument("--connections", type=int, default=8, help="concurrent connections")
    load.add_argument(
        "--max-requests",
        type=int,
        default=1_000_000,
        help="hard bound on measured requests per connection",
    )
    load.add_argument(
        "--scenarios",
        default=",".join(scenarios.SCENARIOS),
        help="comma-separated subset of: %(default)s",
    )
    load.add_argument("--records", type=int, default=10000, help="records of the items list")
    load.add_argument(
        "--shared-records", type=int, default=1000, help="records of the shared list"
    )
    load.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    load.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the scenarios this many times, each round between two floor runs; with "
        "more than one, also print each scenario's median over the rounds",
    )

    server = parser.add_argument_group("waitress (same for Kinto and the floor)")
    server.add_argument("--threads", type=int, default=4)
    server.add_argument("--connection-limit", type=int, default=100)
    server.add_argument("--backlog", type=int, default=1024)
    server.add_argument("--channel-timeout", type=int, default=120)

    backends = parser.add_argument_group("Kinto backends")
    backends.add_argument("--backend", choices=sorted(BACKENDS), default="memory")
    backends.add_argument(
        "--storage-url",
        default="",
        help="e.g. postgresql://u:p@host/db; sqlite defaults to a file in the temporary folder",
    )
    backends.add_argument("--permission-url", help="defaults to --storage-url")
    backends.add_argument("--cache-backend", choices=sorted(CACHE_BACKENDS))
    backends.add_argument("--cache-url", help="defaults to --storage-url")
    backends.add_argument("--keep-data", action="store_true", help="leave the bench bucket")
    backends.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra Kinto setting for the INI, e.g. kinto.storage_synchronous_commit=off",
    )

    args = parser.parse_args(argv)
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(scenarios.SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.duration <= 0 or args.connections < 1:
        parser.error("--duration and --connections must be positive")
    if args.backend == "postgresql" and not args.storage_url:
        parser.error("--backend postgresql needs --storage-url")
    return args


def waitress_settings(args) -> dict:
    return {
        "threads": args.threads,
        "connection_limit": args.connection_limit,
        "backlog": args.backlog,
        "channel_timeout": args.channel_timeout,
    }


def backend_settings(args, workdir: Path | None = None) -> dict:
    """``kinto.*_backend`` and ``kinto.*_url`` settings for the command line."""
    modules = dict(BACKENDS[args.backend])
    if args.cache_backend:
        modules["cache"] = CACHE_BACKENDS[args.cache_backend]
    storage_url = args.storage_url
    if not storage_url and args.backend == "sqlite" and workdir is not None:
        storage_url = f"sqlite:///{workdir / 'kinto.sqlite'}"
    urls = {
        "storage": storage_url,
        "permission": args.permission_url if args.permission_url is not None else storage_url,
        "cache": args.cache_url if args.cache_url is not None else storage_url,
    }
    if modules["cache"] == CACHE_BACKENDS["memory"]:
        urls["cache"] = ""
    settings = {}
    for part in ("storage", "permission", "cache"):
        settings[f"kinto.{part}_backend"] = modules[part]
        settings[f"kinto.{part}_url"] = urls[part]
    return settings


def write_ini(directory: Path, args) -> Path:
    settings = {
        **backend_settings(args, directory),
        # Fixed, so that the users are the same in every run and a run can
        # delete the data an interrupted run left in a SQL database.
        "kinto.userid_hmac_secret": USERID_HMAC_SECRET,
        "multiauth.policies": "basicauth",
        "kinto.bucket_create_principals": "system.Authenticated",
        "kinto.batch_max_requests": str(scenarios.BATCH_SIZE),
    }
    for setting in args.setting:
        name, _, value = setting.partition("=")
        settings[name.strip()] = value.strip()
    lines = ["[app:main]", "use = egg:kinto"]
    lines += [f"{name} = {value}".rstrip() for name, value in settings.items()]
    path = directory / "bench.ini"
    path.write_text("\n".join(lines) + "\n" + LOGGING_INI)
    return path


def kinto_command() -> list[str]:
    script = Path(sys.executable).with_name("kinto")
    if script.exists():
        return [str(script)]
    found = shutil.which("kinto")
    return [found] if found else [sys.executable, "-m", "kinto"]


def migrate(ini: Path) -> None:
    """``kinto migrate`` on the temporary INI; its output is shown on failure only."""
    command = [*kinto_command(), "migrate", "--ini", str(ini)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


#: Tables of the PostgreSQL backends whose statistics the set-up changes.
POSTGRESQL_TABLES = (
    "objects",
    "timestamps",
    "access_control_entries",
    "user_principals",
    "cache_entries",
)


def vacuum_analyze(settings: dict) -> None:
    """``VACUUM ANALYZE`` the backends' tables after the set-up (PostgreSQL).

    The data set is created in seconds, before autovacuum would look at it
    (and autovacuum may be off, as on the development machines): without
    statistics the planner takes a 10,000-record list for a one-row table
    and sorts the whole list to serve its first page."""
    import sqlalchemy

    urls = {settings[f"kinto.{part}_url"] for part in ("storage", "permission", "cache")}
    for url in filter(None, urls):
        url = url.replace("postgres://", "postgresql://", 1)
        engine = sqlalchemy.create_engine(
            url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                for table in POSTGRESQL_TABLES:
                    exists = connection.exec_driver_sql(
                        "SELECT to_regclass(%(t)s) IS NOT NULL", {"t": table}
                    ).scalar()
                    if exists:
                        connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
        finally:
            engine.dispose()


class Server:
    """A ``serve.py`` subprocess; its stderr goes to a log file."""

    def __init__(self, name: str, app_args: list[str], waitress: dict, log_path: Path):
        self.name = name
        self.argv = [sys.executable, str(HERE / "serve.py"), *app_args]
        self.argv += ["--waitress", json.dumps(waitress)]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
            )

    def wait_port(self, deadline: float) -> int:
        """Read the ``PORT <n>`` line the server prints once it listens."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.2):
                    line = self.process.stdout.readline().decode().strip()
                    if line.startswith("PORT "):
                        self.port = int(line.split()[1])
                        return self.port
                    if not line and self.process.poll() is not None:
                        break
                elif self.process.poll() is not None:
                    break
        raise RuntimeError(f"{self.name} server did not start:\n{self.log_tail()}")

    def wait_ready(self, path: str, deadline: float) -> None:
        """Poll ``GET path`` until it answers 200."""
        conn = Connection("127.0.0.1", self.port, timeout=5)
        raw = encode_request("GET", path, f"127.0.0.1:{self.port}")
        last = "no answer"
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    response = conn.request(raw)
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}: {response.body[:200]!r}"
                except OSError as exc:
                    last = str(exc)
                time.sleep(0.1)
        finally:
            conn.close()
        raise RuntimeError(f"{self.name} server not ready ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process.stdout.close()


def describe_environment(args, settings: dict) -> list[str]:
    backends = backend_settings(args)
    short = {
        part: backends[f"kinto.{part}_backend"].rsplit(".", 1)[-1]
        for part in ("storage", "permission", "cache")
    }
    waitress_args = " ".join(f"{name}={value}" for name, value in settings.items())
    return [
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        f"waitress {version('waitress')}, Pyramid {version('pyramid')}"
        f" on 127.0.0.1: {waitress_args} (Kinto and floor alike)",
        "Kinto backends: "
        + ", ".join(f"{part}={name}" for part, name in short.items())
        + "".join(f"; {setting}" for setting in args.setting),
        f"Load: {args.connections} keep-alive connections per scenario, one process each; "
        f"{args.warmup:g} s warm-up then {args.duration:g} s measured per scenario",
    ]


def format_table(floors, results) -> list[str]:
    """The results table; ratios are to the mean rate of the ``floors`` runs."""
    floor_rate = sum(summary.rate for summary in floors) / len(floors)
    header = (
        f"{'scenario':<9} {'description':<44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'errors':>7} {'x floor':>8} {'srv CPU':>8} {'of sys':>7} {'us/req':>7}"
        f" {'cli CPU':>8}"
    )
    lines = [header, "-" * len(header)]
    descriptions = {name: s.description for name, s in scenarios.SCENARIOS.items()}
    descriptions["floor"] = scenarios.FLOOR.description
    descriptions["floor-end"] = scenarios.FLOOR.description + ", again at the end"
    rows = [floors[0], *results, *floors[1:]]
    for summary in rows:
        ratio = summary.rate / floor_rate if floor_rate else 0.0
        server_cpu = server_sys = per_request = "n/a"
        if summary.server_cpu is not None:
            server_cpu = f"{summary.server_cpu:.0%}"
            server_sys = f"{summary.server_sys:.0%}"
        if summary.server_cpu_per_request is not None:
            per_request = f"{summary.server_cpu_per_request * 1e6:.0f}"
        lines.append(
            f"{summary.name:<9} {descriptions[summary.name]:<44} {summary.rate:>9.1f}"
            f" {summary.p50_ms:>8.2f} {summary.p99_ms:>8.2f} {summary.errors:>7}"
            f" {ratio:>8.2f} {server_cpu:>8} {server_sys:>7} {per_request:>7}"
            f" {summary.client_cpu:>8.0%}"
        )
    lines += [
        f"x floor: ratio to the mean floor rate ({floor_rate:.1f} req/s) measured before and "
        "after the scenarios; a large gap between the two floor rows means a busy machine.",
        "CPU columns: CPU seconds per wall second of the server process (of which in the "
        "kernel: 'of sys') and of all load processes together (100% = one core); 'us/req': "
        "server CPU microseconds per request.",
        f"'batch' counts one request per /batch call ({scenarios.BATCH_SIZE} creates).",
    ]
    for summary in rows:
        if summary.first_error:
            lines.append(f"first error in {summary.name}: {summary.first_error}")
    return lines


def format_medians(rounds) -> list[str]:
    """Each scenario's median over the ``(floors, results)`` rounds: req/s,
    ratio to its own round's mean floor (and the range of those ratios),
    server CPU per request."""
    ratios: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for floors, results in rounds:
        floor_rate = sum(summary.rate for summary in floors) / len(floors)
        for summary in results:
            rates.setdefault(summary.name, []).append(summary.rate)
            ratios.setdefault(summary.name, []).append(
                summary.rate / floor_rate if floor_rate else 0.0
            )
            if summary.server_cpu_per_request is not None:
                cpu.setdefault(summary.name, []).append(summary.server_cpu_per_request * 1e6)
    header = f"{'scenario':<9} {'median req/s':>13} {'x floor':>8} {'range':>12} {'us/req':>7}"
    lines = [f"Medians over {len(rounds)} rounds:", header, "-" * len(header)]
    for name, values in rates.items():
        spread = f"{min(ratios[name]):.2f}-{max(ratios[name]):.2f}"
        per_request = f"{statistics.median(cpu[name]):.0f}" if cpu.get(name) else "n/a"
        lines.append(
            f"{name:<9} {statistics.median(values):>13.1f}"
            f" {statistics.median(ratios[name]):>8.2f} {spread:>12} {per_request:>7}"
        )
    lines.append("x floor: each round's ratio to that round's mean floor, then the median.")
    return lines


def run(args) -> int:
    settings = waitress_settings(args)
    for line in describe_environment(args, settings):
        print(line)

    workdir = Path(tempfile.mkdtemp(prefix="kinto-bench-"))
    ini = write_ini(workdir, args)
    kinto = Server("Kinto", ["--ini", str(ini)], settings, workdir / "kinto.log")
    floor = Server("floor", ["--floor"], settings, workdir / "floor.log")
    context = None
    try:
        if args.backend != "memory":
            migrate(ini)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        kinto.start()
        floor.start()
        for server in (kinto, floor):
            server.wait_port(deadline)
            server.wait_ready("/v1/", deadline)
        print(f"Servers ready: Kinto on port {kinto.port}, floor on port {floor.port}")

        context = scenarios.setup(
            "127.0.0.1", kinto.port, args.records, args.connections, args.shared_records
        )
        print("Set-up checks: " + "; ".join(context.pop("checks")))
        if args.backend == "postgresql":
            vacuum_analyze(backend_settings(args))
        floor_context = {"host": f"127.0.0.1:{floor.port}"}

        def measure(pool, name, ctx, server):
            summary = loadgen.run_scenario(
                pool,
                name,
                ctx,
                server.port,
                args.connections,
                args.warmup,
                args.duration,
                args.max_requests,
                server.process.pid,
            )
            print(f"  {name:<9} {summary.rate:>9.1f} req/s, {summary.errors} errors", flush=True)
            return summary

        print("Running:", flush=True)
        rounds = []
        with multiprocessing.Pool(args.connections) as pool:
            for number in range(args.rounds):
                if args.rounds > 1:
                    print(f" round {number + 1} of {args.rounds}", flush=True)
                floors = [measure(pool, "floor", floor_context, floor)]
                results = [measure(pool, name, context, kinto) for name in args.scenarios]
                last = measure(pool, "floor", floor_context, floor)
                floors.append(dataclasses.replace(last, name="floor-end"))
                rounds.append((floors, results))

        for floors, results in rounds:
            print()
            for line in format_table(floors, results):
                print(line)
        if len(rounds) > 1:
            print()
            for line in format_medians(rounds):
                print(line)
        every = [summary for floors, results in rounds for summary in [*floors, *results]]
        if args.json:
            document = {
                "environment": describe_environment(args, settings),
                "waitress": settings,
                "results": [dataclasses.asdict(s) for s in every],
            }
            Path(args.json).write_text(json.dumps(document, indent=2))
        return 1 if any(s.errors for s in every) else 0
    finally:
        if context is not None and not args.keep_data and kinto.process.poll() is None:
            try:
                scenarios.teardown("127.0.0.1", kinto.port)
            except (OSError, scenarios.SetupError) as exc:
                print(f"teardown failed: {exc}", file=sys.stderr)
        kinto.stop()
        floor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    """Run the benchmark: 0 all good, 1 some requests failed, 2 could not run."""
    args = parse_args(argv)
    try:
        return run(args)
    except (RuntimeError, OSError, scenarios.SetupError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
