"""Process-level tests: real ``kinto migrate`` and ``kinto start``
processes on SQLite files and PostgreSQL databases, driven over HTTP on
127.0.0.1.

* :class:`KintoServer`: one configuration (INI file on a database), started,
  stopped (SIGTERM), killed (SIGKILL) and restarted at will; every process
  it starts is ended at teardown.
* :class:`Client`: a small HTTP client over one keep-alive connection, safe
  to use from one thread (give each thread its own).
* :class:`ServerFactory` (fixture ``make_server``): servers on a database,
  migrated with ``kinto migrate``.
* Fixtures: ``sql_url`` (an empty database of each kind, parametrized),
  ``postgresql_empty_url``.

Every wait is bounded (start-up, requests, process exits). The modules put
their tests in the ``integration`` xdist group, so that they run one at a
time in one worker and do not compete for the CPU with each other.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import secrets
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kinto.core.sql import dispose_all
from tests.e2e.conftest import LOGGING_INI, free_port, kinto_command, wait_until_ready
from tests.integration.databases import empty_postgresql_database

#: Bound of every command run to completion (``kinto migrate``).
COMMAND_TIMEOUT = 60
#: Bound of one HTTP request.
REQUEST_TIMEOUT = 15
#: Bound of a process exit after SIGTERM/SIGKILL.
EXIT_TIMEOUT = 15

INI_TEMPLATE = (
    """\
[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = %(http_port)s
threads = {threads}

[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.{backend}
kinto.storage_url = {url}
kinto.permission_backend = kinto.core.permission.{backend}
kinto.permission_url = {url}
kinto.cache_backend = kinto.core.cache.{backend}
kinto.cache_url = {url}
kinto.userid_hmac_secret = {secret}
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated
{extra}
"""
    + LOGGING_INI
)


def basic_auth(user: str, password: str = "secret") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:300]!r}>"


class Client:
    """HTTP/1.1 client of one server over one keep-alive connection.

    ``request`` raises ``OSError`` (or ``http.client.HTTPException``) when
    the server cannot be reached or the connection breaks; the next call
    opens a new connection."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        # url: http://127.0.0.1:<port>/v1
        address, self.prefix = url.removeprefix("http://").split("/", 1)
        self.host, port = address.split(":")
        self.port = int(port)
        self.prefix = "/" + self.prefix
        self.headers = headers or {}
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self.host, self.port, timeout=REQUEST_TIMEOUT
            )
        all_headers = {**self.headers, **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            self._connection.request(method, self.prefix + path, payload, all_headers)
            response = self._connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs) -> Response:
        return self.request("PUT", path, body, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> Response:
        return self.request("POST", path, body, **kwargs)

    def delete(self, path: str, **kwargs) -> Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def run_command(*args: str) -> subprocess.CompletedProcess:
    """Run ``kinto <args>`` to completion (bounded); fail the test on a
    non-zero exit, showing its output."""
    result = subprocess.run(
        [*kinto_command(), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(f"kinto {' '.join(args)} exited with {result.returncode}:\n{result.stderr}")
    return result


class KintoServer:
    """A ``kinto start`` process on ``ini``; ``start()`` may be called again
    after ``stop()`` or ``kill()`` (on a new port: the old one may linger in
    TIME_WAIT)."""

    def __init__(self, ini: Path, log: Path):
        self.ini = ini
        self.log = log
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._clients: list[Client] = []

    def start(self) -> str:
        """Start the server; return its root URL once it answers."""
        assert self.process is None, "already running"
        port = free_port()
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(
                [*kinto_command(), "start", "--ini", str(self.ini), "--port", str(port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_until_ready(f"{self.url}/", self.process, self.log)
        except RuntimeError as e:
            self.kill()
            pytest.fail(str(e))
        return self.url

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        self._end(signal.SIGKILL)

    def _end(self, signum: int) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=EXIT_TIMEOUT)

    def client(self, user: str | None = "alice") -> Client:
        """A client of the running server, as ``user`` (Basic Auth) or
        anonymous (None); see :meth:`close_clients`."""
        client = Client(self.url, basic_auth(user) if user else {})
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close the connections of every client made so far (once no
        thread uses them any more)."""
        for client in self._clients:
            client.close()
        self._clients.clear()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def write_ini(
    path: Path, backend: str, url: str, secret: str, threads: int = 8, **settings: Any
) -> Path:
    """Write the INI of a server on ``backend`` (``sqlite``/``postgresql``)
    at ``url`` with ``secret`` as HMAC secret of user ids; ``settings`` are
    extra ``kinto.*`` settings."""
    extra = "\n".join(f"kinto.{name} = {value}" for name, value in settings.items())
    path.write_text(
        INI_TEMPLATE.format(
            backend=backend,
            url=url,
            threads=threads,
            secret=secret,
            extra=extra,
        )
    )
    return path


@pytest.fixture
def postgresql_empty_url(request):
    """URL of a new, empty PostgreSQL database, dropped afterwards."""
    with empty_postgresql_database(request.node.originalname) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request, tmp_path):
    """``(backend, url)``: a new, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "kinto.sqlite"
        yield "sqlite", f"sqlite:///{path}"
        dispose_all(str(path))
    else:
        yield "postgresql", request.getfixturevalue("postgresql_empty_url")


class ServerFactory:
    """Makes migrated, not yet started :class:`KintoServer` instances whose
    files live in ``directory``; they share one user id secret (a user is
    the same user on all of them). ``close()`` kills them all."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.secret = secrets.token_hex(32)
        self.servers: list[KintoServer] = []

    def __call__(
        self, backend: str, url: str, name: str = "kinto", **settings: Any
    ) -> KintoServer:
        ini = write_ini(self.directory / f"{name}.ini", backend, url, self.secret, **settings)
        run_command("migrate", "--ini", str(ini))
        server = KintoServer(ini, self.directory / f"{name}.log")
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.kill()
            server.close_clients()


@pytest.fixture
def make_server(tmp_path):
    """``make_server(backend, url, name="kinto", **settings)``: see
    :class:`ServerFactory`; every server is killed at teardown."""
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()
