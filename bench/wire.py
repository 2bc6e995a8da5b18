"""A minimal HTTP/1.1 keep-alive client for load generation.

``http.client`` parses headers with the ``email`` package and costs about
three times the CPU per request of this module (measured: ~180 µs against
~65 µs, the floor server needing ~300 µs); load processes share the cores
with the server, so that difference lowers the measured rates. This module
speaks just enough HTTP/1.1 for the benchmark: pre-encoded requests, one
request in flight per connection, responses framed by ``Content-Length`` or
chunked encoding. It only talks to the servers the benchmark starts on 127.0.0.1.
"""

from __future__ import annotations

import base64
import socket
from typing import NamedTuple

RECV_SIZE = 65536


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


class ConnectionClosed(OSError):
    """The server closed the connection before a complete response."""


def basic_auth(user: str, password: str) -> str:
    """``Authorization`` header value for HTTP basic auth."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def encode_request(
    method: str,
    path: str,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """Serialise one request; encode once, send many times."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if headers:
        lines.extend(f"{name}: {value}" for name, value in headers.items())
    if body is not None:
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class Connection:
    """One persistent connection; reconnects lazily after a failure."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        return sock

    def request(self, raw: bytes) -> Response:
        """Send a pre-encoded request and read the whole response.

        Raises ``OSError`` (including :class:`ConnectionClosed` and timeouts)
        on transport failures; the connection is then closed and the next
        call opens a new one.
        """
        sock = self.sock or self._connect()
        try:
            sock.sendall(raw)
            response = self._read_response(sock)
        except OSError:
            self.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def _recv(self, sock: socket.socket) -> bytes:
        chunk = sock.recv(RECV_SIZE)
        if not chunk:
            raise ConnectionClosed("connection closed by server")
        return chunk

    def _read_response(self, sock: socket.socket) -> Response:
        data = self.buffer
        end = data.find(b"\r\n\r\n")
        while end < 0:
            data += self._recv(sock)
            end = data.find(b"\r\n\r\n")
        head = data[:end].decode("latin-1").split("\r\n")
        rest = data[end + 4 :]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(rest) < length:
                rest += self._recv(sock)
            body, self.buffer = rest[:length], rest[length:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked(sock, rest)
        elif status in (204, 304) or 100 <= status < 200:
            body, self.buffer = b"", rest
        else:
            # Body delimited by the end of the connection.
            parts = [rest]
            try:
                while True:
                    parts.append(self._recv(sock))
            except ConnectionClosed:
                pass
            body = b"".join(parts)
            headers["connection"] = "close"
        return Response(status, headers, body)

    def _read_chunked(self, sock: socket.socket, data: bytes) -> bytes:
        body = []
        while True:
            line_end = data.find(b"\r\n")
            while line_end < 0:
                data += self._recv(sock)
                line_end = data.find(b"\r\n")
            size = int(data[:line_end].split(b";", 1)[0], 16)
            data = data[line_end + 2 :]
            if size == 0:
                # Skip trailers up to the final empty line.
                while not data.startswith(b"\r\n"):
                    trailer_end = data.find(b"\r\n")
                    if trailer_end >= 0:
                        data = data[trailer_end + 2 :]
                    else:
                        data += self._recv(sock)
                self.buffer = data[2:]
                return b"".join(body)
            while len(data) < size + 2:
                data += self._recv(sock)
            body.append(data[:size])
            data = data[size + 2 :]
