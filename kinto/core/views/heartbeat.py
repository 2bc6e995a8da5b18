"""``/__heartbeat__`` (backends and plugin checks) and ``/__lbheartbeat__``
(the process answers)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait

from kinto.core.services import Service

logger = logging.getLogger(__name__)


def run_checks(request) -> dict[str, bool | None]:
    """Run every ``registry.heartbeats`` check concurrently.

    A check that raises or does not answer within
    ``heartbeat_timeout_seconds`` counts as ``False``.
    """
    checks = request.registry.heartbeats
    timeout = request.registry.settings["heartbeat_timeout_seconds"]
    if not checks:
        return {}
    executor = ThreadPoolExecutor(max_workers=len(checks))
    try:
        futures = {name: executor.submit(check, request) for name, check in checks.items()}
        wait(futures.values(), timeout=timeout)
        results: dict[str, bool | None] = {}
        for name, future in futures.items():
            if not future.done():
                logger.error("Heartbeat check %r timed out", name)
                results[name] = False
                continue
            try:
                results[name] = future.result()
            except Exception:
                logger.exception("Heartbeat check %r failed", name)
                results[name] = False
        return results
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def get_heartbeat(request):
    results = run_checks(request)
    if any(value is False for value in results.values()):
        request.response.status_code = 503
    return results


def get_lbheartbeat(request):
    return {}


def includeme(config) -> None:
    heartbeat = Service(
        name="heartbeat",
        path="/__heartbeat__",
        description="Server health",
        operation_ids={"GET": "__heartbeat__"},
    )
    heartbeat.add_view("GET", get_heartbeat)
    config.add_cornice_service(heartbeat)

    lbheartbeat = Service(
        name="lbheartbeat",
        path="/__lbheartbeat__",
        description="Web head health",
        operation_ids={"GET": "__lbheartbeat__"},
    )
    lbheartbeat.add_view("GET", get_lbheartbeat)
    config.add_cornice_service(lbheartbeat)
