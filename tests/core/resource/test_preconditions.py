import pytest
from pyramid import httpexceptions
from pyramid.request import Request

from kinto.core import jsonutil
from kinto.core.resource import preconditions
from kinto.core.resource.preconditions import ANY, Kind, Preconditions


def request_with(**headers):
    return Request.blank("/", headers=headers)


def test_headers_are_parsed():
    request = request_with(**{"If-Match": '"123"', "If-None-Match": "*"})
    assert preconditions.parse(request) == Preconditions(123, ANY)
    assert preconditions.parse(request_with()) == Preconditions(None, None)


@pytest.mark.parametrize("value", ["123", '"abc"', 'W/"1"', '"1", "2"'])
def test_malformed_headers_are_rejected(value):
    with pytest.raises(httpexceptions.HTTPBadRequest) as excinfo:
        preconditions.parse(request_with(**{"If-Match": value}))
    body = jsonutil.loads(excinfo.value.body)
    assert body["message"] == (
        "If-Match in header: The value should be integer between double quotes."
    )


def check(if_match=None, if_none_match=None, kind=Kind.READ, timestamp=10, **kwargs):
    preconditions.check(None, Preconditions(if_match, if_none_match), kind, timestamp, **kwargs)


def test_read_with_matching_if_none_match_is_not_modified():
    with pytest.raises(httpexceptions.HTTPNotModified) as excinfo:
        check(if_none_match=10)
    assert excinfo.value.headers["ETag"] == '"10"'
    assert "Last-Modified" in excinfo.value.headers


def test_other_kinds_ignore_if_none_match_timestamps():
    check(if_none_match=10, kind=Kind.MODIFY)
    check(if_none_match=10, kind=Kind.CREATE_OR_REPLACE)
    check(if_none_match=11)


@pytest.mark.parametrize("kind", list(Kind))
def test_if_none_match_star_fails_on_existing_targets(kind):
    with pytest.raises(httpexceptions.HTTPPreconditionFailed) as excinfo:
        check(if_none_match=ANY, kind=kind, existing={"id": "a", "last_modified": 10})
    body = jsonutil.loads(excinfo.value.body)
    assert body["errno"] == 114
    assert body["message"] == "Resource was modified meanwhile"
    assert body["details"] == {"existing": {"id": "a", "last_modified": 10}}
    assert excinfo.value.headers["ETag"] == '"10"'


def test_if_none_match_star_allows_creation():
    check(if_none_match=ANY, kind=Kind.CREATE_OR_REPLACE, exists=False)


def test_if_match_on_missing_target_fails():
    for value in (ANY, 10):
        with pytest.raises(httpexceptions.HTTPPreconditionFailed) as excinfo:
            check(if_match=value, kind=Kind.CREATE_OR_REPLACE, exists=False)
        assert "details" not in jsonutil.loads(excinfo.value.body)


def test_if_match_compares_timestamps():
    check(if_match=10)
    check(if_match=ANY)
    with pytest.raises(httpexceptions.HTTPPreconditionFailed):
        check(if_match=9, kind=Kind.MODIFY)


def test_expected_timestamp_is_only_a_real_timestamp():
    assert Preconditions(12, None).expected_timestamp == 12
    assert Preconditions(ANY, None).expected_timestamp is None


def test_timestamps_beyond_64_bits_are_rejected():
    with pytest.raises(httpexceptions.HTTPBadRequest):
        preconditions.parse(request_with(**{"If-None-Match": '"99999999999999999999"'}))
