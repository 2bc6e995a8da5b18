"""``kinto.plugins.statsd``: metrics sent to a real UDP socket on
127.0.0.1 (plugins.md §8)."""

import socket

import pytest
from pyramid.exceptions import ConfigurationError

from kinto.plugins.statsd import StatsDClient, StatsDService, flatten, key_prefix, parse_url

PLUGIN = "kinto.plugins.statsd"


@pytest.fixture
def receiver():
    """A UDP socket standing for the StatsD server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def url_of(receiver):
    host, port = receiver.getsockname()
    return f"udp://{host}:{port}"


def receive_until(receiver, predicate, limit=500):
    """Read packets until one line satisfies ``predicate``; return every
    line read."""
    lines = []
    for _ in range(limit):
        packet, _ = receiver.recvfrom(65535)
        lines.extend(packet.decode("utf-8").splitlines())
        if any(predicate(line) for line in lines):
            return lines
    raise AssertionError(f"no matching line among {lines}")


def test_client_sends_one_statsd_line_per_measure(receiver):
    host, port = receiver.getsockname()
    service = StatsDService(StatsDClient(host, port, prefix="kinto"))
    service.count("cache_hits")
    service.count("users", 1, (("auth", "account"), ("userid", "bob")))
    service.timing("backend_storage_seconds", 0.25, (("method", "get"),))
    service.observe("request_size", 512, (("endpoint", "hello"),))
    service.timer("listeners_redis_seconds")(0.002)
    received = [receiver.recvfrom(1024)[0].decode() for _ in range(5)]
    assert received == [
        "kinto.cache_hits:1|c",
        "kinto.users:auth.account.userid.bob|s",
        "kinto.backend_storage_seconds.method.get:250.000|ms",
        "kinto.request_size.endpoint.hello:512|g",
        "kinto.listeners_redis_seconds:2.000|ms",
    ]


def test_label_values_cannot_break_the_line_protocol():
    assert flatten([("userid", "a:b|c@d e")]) == "userid.a_b_c_d_e"


def test_requests_are_sent_to_the_statsd_url(make_app, receiver, auth_headers):
    app = make_app(includes=PLUGIN, statsd_url=url_of(receiver))
    app.put_json("/v1/buckets/b", {}, headers=auth_headers("alice"))
    lines = receive_until(receiver, lambda line: line.startswith("kinto.request_summary:"))
    summary = next(line for line in lines if line.startswith("kinto.request_summary:"))
    assert summary == (
        "kinto.request_summary:method.put.endpoint.bucket-object.bucket_id.b."
        "collection_id..group_id..record_id..status.201|s"
    )
    assert any(line.startswith("kinto.backend_storage_seconds.method.create:") for line in lines)
    assert any(
        line.startswith("kinto.request_duration_seconds.method.put.endpoint.bucket-object.")
        and line.endswith("|ms")
        for line in lines
    )


def test_keys_are_prefixed_with_the_project_name(make_app, receiver):
    app = make_app(includes=PLUGIN, statsd_url=url_of(receiver), project_name="edge")
    app.get("/v1/")
    lines = receive_until(receiver, lambda line: "request_summary" in line)
    assert all(line.startswith("edge.") for line in lines)


def test_prefix_falls_back_to_statsd_prefix_without_project_name():
    assert key_prefix({"project_name": "", "statsd_prefix": "kinto.core"}) == "kinto.core"
    assert key_prefix({"project_name": "kinto", "statsd_prefix": "kinto.core"}) == "kinto"


def test_statsd_url_is_required(make_app):
    with pytest.raises(ConfigurationError, match="statsd_url"):
        make_app(includes=PLUGIN)


@pytest.mark.parametrize("url", ["tcp://localhost:8125", "udp://localhost", "udp://:8125"])
def test_statsd_url_must_be_udp_host_and_port(url):
    with pytest.raises(ConfigurationError):
        parse_url(url)


def test_parse_url():
    assert parse_url("udp://localhost:8125") == ("localhost", 8125)


def test_unreachable_server_does_not_break_requests(make_app):
    # Nobody listens on this port: datagrams are dropped, requests succeed.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(includes=PLUGIN, statsd_url=f"udp://127.0.0.1:{port}")
    for _ in range(3):
        app.get("/v1/", status=200)
