import uuid

import pytest

from kinto.core.storage.generators import UUID4, Generator


class Digits(Generator):
    regexp = r"^[0-9]+$"

    def __call__(self):
        return "123"


def test_uuid4_generates_lowercase_dashed_version_4_uuids():
    generated = UUID4()()
    assert generated == str(uuid.UUID(generated))
    assert uuid.UUID(generated).version == 4
    assert generated == generated.lower()


def test_uuid4_generates_distinct_ids():
    generator = UUID4()
    assert len({generator() for _ in range(100)}) == 100


def test_uuid4_matches_its_own_ids():
    generator = UUID4()
    assert generator.match(generator())


@pytest.mark.parametrize(
    "object_id",
    [
        "4B8E1F3A-3C1D-4E4F-9A0B-1C2D3E4F5A6B",
        "4b8e1f3a-3c1d-1e4f-9a0b-1c2d3e4f5a6b",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_uuid4_accepts_any_dashed_uuid(object_id):
    assert UUID4().match(object_id)


@pytest.mark.parametrize(
    "object_id",
    [
        "",
        "abc",
        "4b8e1f3a3c1d4e4f9a0b1c2d3e4f5a6b",
        "4b8e1f3a-3c1d-4e4f-9a0b-1c2d3e4f5a6",
        "4b8e1f3a-3c1d-4e4f-9a0b-1c2d3e4f5a6b\n",
        " 4b8e1f3a-3c1d-4e4f-9a0b-1c2d3e4f5a6b",
        "4b8e1f3a-3c1d-4e4f-9a0b-1c2d3e4f5a6g",
    ],
)
def test_uuid4_rejects_other_strings(object_id):
    assert not UUID4().match(object_id)


def test_match_rejects_non_strings():
    assert not UUID4().match(None)
    assert not Digits().match(123)


def test_regexp_is_anchored():
    assert UUID4.regexp.startswith("^") and UUID4.regexp.endswith("$")
    assert Generator.regexp.startswith("^") and Generator.regexp.endswith("$")


def test_base_generator_has_no_default_id():
    with pytest.raises(NotImplementedError):
        Generator()()


@pytest.mark.parametrize("object_id", ["a", "abc-def_1", "1", "A_B"])
def test_base_generator_accepts_url_safe_names(object_id):
    assert Generator().match(object_id)


@pytest.mark.parametrize("object_id", ["", "-a", "_a", "a b", "a/b", "a.b", "é"])
def test_base_generator_rejects_other_names(object_id):
    assert not Generator().match(object_id)


def test_subclasses_validate_with_their_own_regexp():
    digits, base = Digits(), Generator()
    assert digits.match("123") and not digits.match("abc")
    assert base.match("abc")
    assert digits.match(digits())
