import base64

import pytest
from pyramid import httpexceptions
from pyramid.registry import Registry
from pyramid.request import Request

from kinto.core import jsonutil
from kinto.core.resource import pagination
from kinto.core.storage import COMPARISON, MISSING, Filter, Sort


def test_token_round_trips_sort_values():
    obj = {"id": "a", "last_modified": 12, "author": {"name": "Ben"}}
    sorting = [Sort("author.name", 1), Sort("title", 1), Sort("last_modified", -1)]
    token, nonce = pagination.encode_token(obj, sorting, offset=11)
    decoded = pagination.decode_token(token)
    assert decoded.last_object == {"author.name": "Ben", "last_modified": 12}
    assert decoded.offset == 11
    assert decoded.nonce == nonce
    assert nonce.startswith("pagination-token-")


def test_token_is_standard_base64_json():
    token, _ = pagination.encode_token({"last_modified": 1}, [Sort("last_modified", -1)], 3)
    payload = jsonutil.loads(base64.b64decode(token))
    assert set(payload) == {"last_object", "offset", "nonce"}


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1]").decode(),
        base64.b64encode(b'{"last_object": 1, "offset": 0}').decode(),
        base64.b64encode(b'{"offset": 0}').decode(),
        base64.b64encode(b'{"last_object": {}}').decode(),
        base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_invalid_tokens_are_rejected(token):
    with pytest.raises(httpexceptions.HTTPBadRequest) as excinfo:
        pagination.decode_token(token)
    body = jsonutil.loads(excinfo.value.body)
    assert body["message"] == "querystring: _token has invalid content"


def test_rules_for_a_single_descending_sort():
    rules = pagination.pagination_rules([Sort("last_modified", -1)], {"last_modified": 5})
    assert rules == [[Filter("last_modified", 5, COMPARISON.LT)]]


def test_rules_for_several_sorts_are_an_or_of_prefix_equalities():
    sorting = [Sort("a", 1), Sort("b", -1), Sort("last_modified", -1)]
    rules = pagination.pagination_rules(sorting, {"a": 1, "last_modified": 9})
    assert rules == [
        [
            Filter("a", 1, COMPARISON.EQ),
            Filter("b", MISSING, COMPARISON.EQ),
            Filter("last_modified", 9, COMPARISON.LT),
        ],
        [Filter("a", 1, COMPARISON.EQ), Filter("b", MISSING, COMPARISON.LT)],
        [Filter("a", 1, COMPARISON.GT)],
    ]


def make_request(url, **settings):
    request = Request.blank(url)
    request.registry = Registry()
    request.registry.settings = settings
    return request


def test_next_page_url_keeps_parameters_and_adds_limit_and_token():
    request = make_request("http://localhost:8888/v1/buckets?_limit=5&a=1&_token=old&_sort=x")
    url = pagination.next_page_url(request, 5, "abc+/=")
    assert url == ("http://localhost:8888/v1/buckets?a=1&_sort=x&_limit=5&_token=abc%2B%2F%3D")


def test_next_page_url_honours_forced_scheme_and_host():
    request = make_request(
        "http://localhost/v1/buckets", http_scheme="https", http_host="kinto.example.com:443"
    )
    url = pagination.next_page_url(request, 10, "t")
    assert url == "https://kinto.example.com:443/v1/buckets?_limit=10&_token=t"
