"""Operator semantics in isolation: equality and ordering with PowerShell's conversions,
wildcards, .NET regexes and $Matches, array filtering, -replace substitutions, -split limits,
arithmetic types, shifts, size bounds, and -f formatting."""

from __future__ import annotations

import pytest

from pjsh.runtime import operators as ops
from pjsh.runtime.dotnet import TypeError_, cast, format_operator, is_type
from pjsh.runtime.values import Hashtable

# ---------------------------------------------------------------- equality and ordering


@pytest.mark.parametrize(("left", "right", "cs", "expected"), [
    ("abc", "ABC", False, True),
    ("abc", "ABC", True, False),
    (1, "1", False, True),
    (1, "1.0", False, True),
    ("1.0", 1, False, False),  # the right side converts to the left side's type: string
    (True, "False", False, True),  # any non-empty string is $true
    (None, None, False, True),
    (None, 0, False, False),
    (0, None, False, False),
    (1.0, 1, False, True),
])
def test_equals(left: object, right: object, cs: bool, expected: bool) -> None:
    assert ops.equals(left, right, cs) is expected


def test_compare_orders_strings_case_insensitively_and_nulls_first() -> None:
    assert ops.compare("a", "B") < 0
    assert ops.compare("a", "B", case_sensitive=True) > 0
    assert ops.compare(None, 1) < 0 and ops.compare(1, None) > 0 and ops.compare(None, None) == 0
    assert ops.compare(10, "9") > 0
    assert ops.compare("10", 9) < 0  # string comparison: "10" < "9"


def test_comparing_a_number_with_non_numeric_text_fails_like_powershell() -> None:
    with pytest.raises(ops.OperatorError) as e:
        ops.compare(5, "abc")
    assert e.value.error_id == "ComparisonFailure"
    assert e.value.message.startswith('Could not compare "5" to "abc".')


def test_sort_key_never_raises_on_mixed_values() -> None:
    values: list[object] = [3, "b", None, "A", 1]
    assert sorted(values, key=ops.sort_key()) == [None, 1, 3, "A", "b"]  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "base", "cs"), [
    ("eq", "eq", False), ("ceq", "eq", True), ("ieq", "eq", False), ("cnotlike", "notlike", True),
    ("ccontains", "contains", True), ("ireplace", "replace", False), ("csplit", "split", True),
    ("join", "join", False), ("in", "in", False), ("cin", "in", True),
])
def test_split_op(name: str, base: str, cs: bool) -> None:
    assert ops.split_op(name) == (base, cs)


# ---------------------------------------------------------------- wildcards and regexes

@pytest.mark.parametrize(("value", "pattern", "expected"), [
    ("hello", "h*", True), ("hello", "H?LLO", True), ("hello", "h?", False),
    ("abd", "a[bc]d", True), ("axd", "a[bc]d", False), ("a1", "a[0-9]", True),
    ("a*", "a`*", True), ("ab", "a`*", False), ("", "*", True), ("x.y", "x.y", True),
    ("xzy", "x.y", False), ("line\nbreak", "line*", True),
])
def test_like(value: str, pattern: str, expected: bool) -> None:
    assert ops.like(value, pattern) is expected


def test_like_case_sensitive() -> None:
    assert ops.like("Hello", "h*") and not ops.like("Hello", "h*", case_sensitive=True)


def test_dotnet_named_groups_fill_matches() -> None:
    rx = ops.compile_regex(r"(?<year>\d{4})-(\d\d)")
    m = rx.search("on 2024-05 ok")
    assert m is not None
    groups = ops.match_groups(m)
    assert isinstance(groups, Hashtable)
    assert groups[0] == "2024-05" and groups["year"] == "2024" and groups[2] == "05"


def test_a_bad_regex_is_an_operator_error() -> None:
    with pytest.raises(ops.OperatorError) as e:
        ops.compile_regex("(")
    assert e.value.error_id == "InvalidRegularExpression"
    assert e.value.message.startswith("The regular expression pattern ( is not valid")


def test_match_sets_matches_and_notmatch_does_not() -> None:
    result, groups = ops.comparison("match", "abc123", r"\d+")
    assert result is True and groups is not None and groups[0] == "123"
    result, groups = ops.comparison("notmatch", "abc", r"\d")
    assert result is True and groups is None


# ---------------------------------------------------------------- arrays

def test_array_on_the_left_filters_instead_of_answering() -> None:
    assert ops.comparison("gt", [1, 5, 3], 2) == ([5, 3], None)
    assert ops.comparison("eq", [1, None, 2], None) == ([None], None)
    assert ops.comparison("like", ["ab", "cd"], "a*") == (["ab"], None)
    assert ops.comparison("ne", [], 1) == ([], None)


def test_contains_and_in_use_equality_with_conversion() -> None:
    assert ops.comparison("contains", [1, 2, 3], "2") == (True, None)
    assert ops.comparison("notcontains", [1, 2], 3) == (True, None)
    assert ops.comparison("in", "A", ["a", "b"]) == (True, None)
    assert ops.comparison("cin", "A", ["a", "b"]) == (False, None)
    assert ops.comparison("contains", "abc", "abc") == (True, None)


# ---------------------------------------------------------------- replace, split, join

@pytest.mark.parametrize(("left", "right", "expected"), [
    ("a.b.c", [r"\.", "-"], "a-b-c"),
    ("John Smith", [r"(\w+) (\w+)", "$2 $1"], "Smith John"),
    ("abc", ["(?<x>b)", "[${x}]"], "a[b]c"),
    ("abc", ["b", "$$"], "a$c"),
    ("abc", ["b", "$&$&"], "abbc"),
    ("abc", "b", "ac"),
    ("ABC", ["b", "x"], "AxC"),
    ("a\\b", [r"\\", "/"], "a/b"),
])
def test_replace(left: str, right: object, expected: str) -> None:
    assert ops.replace(left, right) == expected


def test_replace_case_sensitive_and_on_arrays() -> None:
    assert ops.replace("ABC", ["b", "x"], case_sensitive=True) == "ABC"
    assert ops.replace(["ab", "cb"], ["b", "!"]) == ["a!", "c!"]


def test_split_with_regex_limit_and_unary_form() -> None:
    assert ops.split("a1b2c", r"\d") == ["a", "b", "c"]
    assert ops.split("a,b,c", [",", 2]) == ["a", "b,c"]
    assert ops.split("a,,b", ",") == ["a", "", "b"]
    assert ops.split("  a  b ", None) == ["a", "b"]
    assert ops.split(["a-b", "c"], "-") == ["a", "b", "c"]


def test_join() -> None:
    assert ops.join([1, 2, 3], ", ") == "1, 2, 3"
    assert ops.join("x", "-") == "x"
    assert ops.join([True, None, 1.5], "|") == "True||1.5"


# ---------------------------------------------------------------- arithmetic

def test_add_by_left_operand_type() -> None:
    assert ops.add(1, 2) == 3
    assert ops.add("a", 1) == "a1"
    assert ops.add(1, "2") == 3
    assert ops.add([1], 2) == [1, 2]
    assert ops.add([1], [2, 3]) == [1, 2, 3]
    assert ops.add(None, 5) == 5
    merged = ops.add(Hashtable([("a", 1)]), Hashtable([("b", 2)]))
    assert isinstance(merged, Hashtable) and dict(merged) == {"a": 1, "b": 2}
    with pytest.raises(ops.OperatorError):
        ops.add(Hashtable([("a", 1)]), Hashtable([("A", 2)]))
    with pytest.raises(ops.OperatorError) as e:
        ops.add(1, "x")
    assert e.value.message.startswith('Cannot convert value "x" to type "System.Int32".')


def test_division_keeps_integers_when_exact() -> None:
    assert ops.divide(6, 3) == 2 and type(ops.divide(6, 3)) is int
    assert ops.divide(7, 2) == 3.5
    assert ops.divide("9", "3") == 3


def test_division_and_modulo_by_zero() -> None:
    for fn in (ops.divide, ops.modulo):
        with pytest.raises(ops.OperatorError) as e:
            fn(1, 0)
        assert e.value.message == "Attempted to divide by zero."
        assert e.value.inner_type == "System.DivideByZeroException"


def test_modulo_sign_follows_the_dividend() -> None:
    assert ops.modulo(7, 3) == 1 and ops.modulo(-7, 3) == -1 and ops.modulo(7, -3) == 1
    assert ops.modulo(7.5, 2) == 1.5


def test_multiply_repeats_strings_and_arrays() -> None:
    assert ops.multiply("ab", 3) == "ababab"
    assert ops.multiply([1, 2], 2) == [1, 2, 1, 2]
    assert ops.multiply(2, "3") == 6


def test_shifts_wrap_like_int32_and_int64() -> None:
    assert ops.shift("shl", 1, 4) == 16
    assert ops.shift("shl", 1, 31) == -(2**31)
    assert ops.shift("shl", 1, 33) == 2  # the count is masked to 5 bits for Int32
    assert ops.shift("shr", -16, 2) == -4
    assert ops.shift("shl", 2**40, 1) == 2**41


def test_results_that_would_exhaust_memory_are_errors() -> None:
    with pytest.raises(ops.OperatorError) as e:
        ops.multiply("x", 1 << 40)
    assert e.value.inner_type == "System.OutOfMemoryException"
    with pytest.raises(ops.OperatorError) as e:
        ops.multiply([1, 2], ops.MAX_ITEMS)
    assert e.value.message == "Array dimensions exceeded supported range."
    big = ["x"] * (ops.MAX_ITEMS // 2 + 1)
    with pytest.raises(ops.OperatorError):
        ops.add(big, big)


# ---------------------------------------------------------------- -f, casts and -is

@pytest.mark.parametrize(("fmt", "args", "expected"), [
    ("{0}-{1}", ["a", 1], "a-1"),
    ("{0,5}|{0,-5}|", ["ab"], "   ab|ab   |"),
    ("{0:N2}", [1234.5], "1,234.50"),
    ("{0:F1}", [2.0], "2.0"),
    ("{0:D4}", [42], "0042"),
    ("{0:X}", [255], "FF"),
    ("{0:x4}", [255], "00ff"),
    ("{0:P0}", [0.5], "50%"),
    ("{{literal}} {0}", [1], "{literal} 1"),
    ("{0:0.00}", [3.14159], "3.14"),
    ("{0:N1}", [2.25], "2.3"),  # .NET rounds the exact value half away from zero
    ("{0:F0}", [2.5], "3"),
    ("{0:F2}", [2.675], "2.67"),  # 2.675 is 2.67499999... in binary
    ("{0:N0}", [1000000], "1,000,000"),
    ("{0:C}", [3.456], "$3.46"),
    ("{0:F2}", [float("nan")], "NaN"),
])
def test_format_operator(fmt: str, args: list[object], expected: str) -> None:
    assert format_operator(fmt, args) == expected


def test_format_operator_errors() -> None:
    with pytest.raises(TypeError_) as e:
        format_operator("{2}", [1])
    assert "Index (zero based) must be greater than or equal to zero" in e.value.message
    with pytest.raises(TypeError_):
        format_operator("{0,99999999}", [1])
    with pytest.raises(TypeError_):
        format_operator("{0:D99999}", [1])


def test_casts() -> None:
    assert cast("int", "42") == 42
    assert cast("System.Int32", 2.5) == 2 and cast("int", 3.5) == 4  # banker's rounding
    assert cast("string", 5) == "5"
    assert cast("int[]", ["1", 2]) == [1, 2]
    assert cast("bool", "") is False and cast("bool", "0") is True
    with pytest.raises(TypeError_) as e:
        cast("NoSuchType", 1)
    assert e.value.message == "Unable to find type [NoSuchType]."
    from pjsh.runtime.convert import ConversionError

    with pytest.raises(ConversionError):
        cast("int", "2147483648")
    with pytest.raises(ConversionError):
        cast("char", "ab")


def test_is_type() -> None:
    assert is_type(5, "int") and not is_type("5", "int") and is_type("s", "System.String")
    assert is_type([1], "array") and is_type(1.5, "double") and not is_type(True, "int")
    with pytest.raises(TypeError_):
        is_type(1, "NoSuchType")
