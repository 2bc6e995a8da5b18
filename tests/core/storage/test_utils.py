import enum

import pytest

from kinto.core.storage import COMPARISON, MISSING, Filter, Sort
from kinto.core.storage.utils import (
    compile_filter,
    compile_filters,
    json_copy,
    like_pattern,
    sort_key,
    sort_objects,
    text_form,
)


def test_sort_key_orders_types_like_jsonb():
    values = [[], None, "", "b", -1, 2.5, False, True, [None], [1, 2], {}, {"a": 1}, MISSING]
    shuffled = values[1::2] + values[::2]
    assert sorted(shuffled, key=sort_key) == values


def test_sort_key_puts_empty_arrays_first_only_at_top_level():
    assert sort_key([]) < sort_key(None)
    assert sort_key([[]]) > sort_key([None])


def test_sort_key_equality_is_json_equality():
    assert sort_key(1) == sort_key(1.0)
    assert sort_key(True) != sort_key(1)
    assert sort_key({"a": 1, "bb": [1]}) == sort_key({"bb": [1], "a": 1})
    assert sort_key([1, 2]) != sort_key([2, 1])


def test_sort_key_compares_objects_by_size_first():
    assert sort_key({"z": 1}) < sort_key({"a": 1, "b": 1})


def test_sort_key_treats_subclasses_like_their_json_type():
    class Colour(enum.StrEnum):
        RED = "red"

    assert sort_key(Colour.RED) == sort_key("red")


def test_sort_key_rejects_non_json_values():
    with pytest.raises(TypeError):
        sort_key(object())


def test_json_copy_is_deep():
    original = {"a": [1, {"b": 2}]}
    copied = json_copy(original)
    copied["a"][1]["b"] = 3
    assert original == {"a": [1, {"b": 2}]}


def test_json_copy_keeps_integers_beyond_64_bits():
    assert json_copy({"big": 2**70, "items": (1, 2)}) == {"big": 2**70, "items": [1, 2]}


def test_text_form_of_values():
    assert text_form("Abc") == "Abc"
    assert text_form(12) == "12"
    assert text_form(True) == "true"
    assert text_form(["a", 1]) == '["a", 1]'
    assert text_form(None) is None
    assert text_form(MISSING) is None


def test_like_pattern_only_star_is_a_wildcard():
    pattern = like_pattern("a*b.c")
    assert pattern.fullmatch("AxyzB.C")
    assert not pattern.fullmatch("axbxc")


def test_compile_filters_returns_none_when_nothing_filters():
    assert compile_filters() is None
    assert compile_filters([], []) is None


def test_in_with_a_single_value_is_a_one_item_list():
    matches = compile_filter(Filter("v", "ab", COMPARISON.IN))
    assert matches({"v": "ab"})
    assert not matches({"v": "a"})


def test_last_modified_filter_accepts_digit_strings():
    matches = compile_filter(Filter("last_modified", "100", COMPARISON.GT))
    assert matches({"last_modified": 101})
    assert not matches({"last_modified": 99})


def test_like_with_a_non_string_value_matches_nothing():
    assert not compile_filter(Filter("v", 12, COMPARISON.LIKE))({"v": 12})


SAMPLES = [None, "", "a", "b", -1, 0, 0.5, 1, 1.0, 2, False, True, [], [1], {"a": 1}, MISSING]
KEY_COMPARISONS = {
    COMPARISON.LT: lambda a, b: a < b,
    COMPARISON.MAX: lambda a, b: a <= b,
    COMPARISON.GT: lambda a, b: a > b,
    COMPARISON.MIN: lambda a, b: a >= b,
    COMPARISON.EQ: lambda a, b: a == b,
    COMPARISON.NOT: lambda a, b: a != b,
}


@pytest.mark.parametrize("op", list(KEY_COMPARISONS))
def test_comparisons_agree_with_sort_keys_for_every_pair_of_values(op):
    for value in SAMPLES:
        matches = compile_filter(Filter("v", value, op))
        for stored in SAMPLES:
            obj = {} if stored is MISSING else {"v": stored}
            expected = KEY_COMPARISONS[op](sort_key(stored), sort_key(value))
            assert matches(obj) is expected, (stored, op, value)


@pytest.mark.parametrize("op", [COMPARISON.IN, COMPARISON.EXCLUDE])
def test_membership_agrees_with_sort_keys(op):
    listed = ["a", 1, None, [1]]
    keys = {sort_key(v) for v in listed}
    matches = compile_filter(Filter("v", listed, op))
    for stored in SAMPLES:
        obj = {} if stored is MISSING else {"v": stored}
        assert matches(obj) is ((sort_key(stored) in keys) == (op == COMPARISON.IN)), stored


def test_sorting_on_id_with_mixed_types_falls_back_to_jsonb_order():
    objects = [{"id": "b", "g": 1}, {"id": 2, "g": 1}, {"id": "a", "g": 0}]
    sort_objects(objects, [Sort("g", 1), Sort("id", 1)])
    assert [o["id"] for o in objects] == ["a", "b", 2]


def test_sorting_keeps_the_order_of_equal_objects():
    objects = [{"id": "x", "n": 1}, {"id": "y", "n": 0}, {"id": "z", "n": 1}]
    sort_objects(objects, [Sort("n", -1)])
    assert [o["id"] for o in objects] == ["x", "z", "y"]


def test_native_fields_sort_like_jsonb_keys():
    objects = [{"id": i, "last_modified": (i * 7) % 10} for i in range(10)]
    native, generic = list(objects), list(objects)
    sort_objects(native, [Sort("last_modified", -1)], native_fields=("last_modified",))
    sort_objects(generic, [Sort("last_modified", -1)])
    assert native == generic
