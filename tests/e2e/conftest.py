"""A real ``kinto start`` server for end-to-end tests.

The server runs as a subprocess from a temporary INI file (memory backends,
Basic Auth for any user/password pair) on a free port of 127.0.0.1. Start-up
is bounded in time; the process is terminated when the module's tests end.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 30.0

#: Logging of the test servers: warnings and errors on stderr (the log file).
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

INI_TEMPLATE = (
    """\
[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = %(http_port)s

[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory
kinto.userid_hmac_secret = {secret}
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated
"""
    + LOGGING_INI
)


def kinto_command() -> list[str]:
    """The ``kinto`` console script of this virtualenv."""
    script = Path(sys.executable).with_name("kinto")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kinto"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            last_error = str(exc)
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise RuntimeError(f"kinto start did not answer on {url} ({last_error}):\n{tail}")


@contextlib.contextmanager
def running_server(directory: Path, ini_text: str):
    """Run ``kinto start`` on ``ini_text`` (written in ``directory``) on a
    free port; yield its root URL (``http://127.0.0.1:<port>/v1``) once it
    answers, and stop it on exit."""
    ini = directory / "kinto.ini"
    ini.write_text(ini_text)
    log = directory / "server.log"
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*kinto_command(), "start", "--ini", str(ini), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(f"{url}/", process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """Root URL (``http://127.0.0.1:<port>/v1``) of a running ``kinto start``."""
    directory = tmp_path_factory.mktemp("kinto-e2e")
    with running_server(directory, INI_TEMPLATE.format(secret=secrets.token_hex(32))) as url:
        yield url
