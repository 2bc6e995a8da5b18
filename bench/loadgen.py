"""Load generation: one worker process per keep-alive connection.

The parent hands every worker a :class:`Job` with absolute deadlines on the
system-wide monotonic clock, so all connections warm up together, measure
over the same window and stop at the same time. Each worker returns its
latencies and its own CPU time, and the parent merges them into a
:class:`Summary`.
"""

from __future__ import annotations

import math
import os
import time
from array import array
from dataclasses import dataclass

import scenarios
from wire import Connection


@dataclass(frozen=True)
class Job:
    scenario: str
    context: dict
    index: int
    port: int
    start: float  # time.monotonic() at which measurement starts (warm-up before)
    until: float  # time.monotonic() at which the connection stops
    max_requests: int  # hard bound on measured requests of this connection


@dataclass
class ConnectionResult:
    requests: int
    errors: int
    latencies: array  # seconds, one per measured request
    cpu: float  # CPU seconds of this process during the measured window
    first_error: str | None


def run_connection(job: Job) -> ConnectionResult:
    """Drive one connection: warm up until ``job.start``, measure until ``job.until``."""
    driver = scenarios.make_driver(job.scenario, job.context, job.index)
    conn = Connection("127.0.0.1", job.port)
    latencies = array("d")
    errors = 0
    first_error = None
    clock = time.perf_counter
    monotonic = time.monotonic

    # Warm-up: same traffic, not recorded.
    while monotonic() < job.start:
        try:
            driver.check(conn.request(driver.next()))
        except OSError:
            pass
    cpu_before = time.process_time()

    while len(latencies) < job.max_requests and monotonic() < job.until:
        raw = driver.next()
        started = clock()
        try:
            response = conn.request(raw)
        except OSError as exc:
            latencies.append(clock() - started)
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            continue
        latencies.append(clock() - started)
        if not driver.check(response):
            errors += 1
            first_error = first_error or f"HTTP {response.status}: {response.body[:200]!r}"

    cpu = time.process_time() - cpu_before
    conn.close()
    return ConnectionResult(len(latencies), errors, latencies, cpu, first_error)


@dataclass
class Summary:
    name: str
    requests: int
    errors: int
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    client_cpu: float  # CPU seconds of all load processes per wall second
    server_cpu: float | None  # same for the server process, when measurable
    server_sys: float | None  # the kernel's part of server_cpu
    first_error: str | None

    @property
    def server_cpu_per_request(self) -> float | None:
        """CPU seconds of the server process per request (None if unknown)."""
        if self.server_cpu is None or not self.rate:
            return None
        return self.server_cpu / self.rate


def percentile(sorted_values, fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 if empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(name, results, window: float, server_cpu=None, server_sys=None) -> Summary:
    latencies = sorted(value for result in results for value in result.latencies)
    requests = len(latencies)
    first_error = next((r.first_error for r in results if r.first_error), None)
    return Summary(
        name=name,
        requests=requests,
        errors=sum(result.errors for result in results),
        rate=requests / window,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        client_cpu=sum(result.cpu for result in results) / window,
        server_cpu=server_cpu,
        server_sys=server_sys,
        first_error=first_error,
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> tuple[float, float] | None:
    """User and system CPU time of a process (Linux ``/proc``), else ``None``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime 14 and stime 15.
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def run_scenario(pool, name, context, port, connections, warmup, duration, max_requests, pid):
    """Run one scenario on ``connections`` worker processes; return its :class:`Summary`."""
    start = time.monotonic() + max(warmup, 0.2)
    until = start + duration
    jobs = [
        Job(name, context, index, port, start, until, max_requests) for index in range(connections)
    ]
    pending = pool.map_async(run_connection, jobs, chunksize=1)

    time.sleep(max(0.0, start - time.monotonic()))
    cpu_before = process_cpu_seconds(pid)
    time.sleep(max(0.0, until - time.monotonic()))
    cpu_after = process_cpu_seconds(pid)
    results = pending.get(timeout=duration + warmup + 120)

    server_cpu = server_sys = None
    if cpu_before is not None and cpu_after is not None:
        user = cpu_after[0] - cpu_before[0]
        system = cpu_after[1] - cpu_before[1]
        server_cpu = (user + system) / duration
        server_sys = system / duration
    return summarise(name, results, duration, server_cpu, server_sys)
