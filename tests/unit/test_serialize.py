"""Object serialization across processes: versioned envelopes and exact round trips."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pjsh.runtime.errors import ErrorRecord, make_error
from pjsh.runtime.formatting import build_blocks, render_text
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.serialize import (
    FORMAT_VERSION,
    SerializationError,
    decode,
    dumps,
    encode,
    loads,
)
from pjsh.runtime.values import Hashtable, PSObject


def roundtrip(value: object, **kwargs: Any) -> object:
    return loads(dumps(value), **kwargs)


def same(a: object, b: object) -> bool:
    """Structural equality that also checks types, order, key spelling and NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                      math.copysign(1, b))
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Hashtable):
        assert isinstance(b, Hashtable)
        return list(a.keys()) == list(b.keys()) and all(
            same(a[k], b[k]) for k in a)
    if isinstance(a, PSObject):
        assert isinstance(b, PSObject)
        pa, pb = a.property_items(), b.property_items()
        return a.type_names == b.type_names and [n for n, _ in pa] == [n for n, _ in pb] and all(
            same(x, y) for (_, x), (_, y) in zip(pa, pb, strict=True))
    return a == b


# --- Envelope ----------------------------------------------------------------------------------


def test_format_version_is_one_and_in_every_envelope() -> None:
    assert FORMAT_VERSION == 1
    assert encode(5) == {"v": 1, "d": 5}
    assert json.loads(dumps([1, "a"])) == {"v": 1, "d": [1, "a"]}


def test_other_versions_are_refused() -> None:
    with pytest.raises(SerializationError, match="version 2"):
        decode({"v": 2, "d": 1})


@pytest.mark.parametrize("text", ["not json", "[1,2]", '{"d": 1}', '{"v":1,"d":{"t":"nope"}}',
                                  '{"v":1,"d":{"t":"bytes","v":"***"}}', '{"v":1,"d":{"x":1}}'])
def test_malformed_data_raises_serialization_error(text: str) -> None:
    with pytest.raises(SerializationError):
        loads(text)


def test_hostile_deep_nesting_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError, match="nested too deeply"):
        loads('{"v":1,"d":' + "[" * 100000 + "]" * 100000 + "}")
    nested: object = 1
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(SerializationError, match="nested too deeply"):
        decode({"v": 1, "d": nested})


def test_dumps_output_is_ascii_even_for_unicode_and_surrogates() -> None:
    text = dumps(["日本", "bad\udcffbyte"])
    assert text.isascii()


# --- Scalars -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**64, -(2**200), 1.5, -0.0, 1e308,
     float("inf"), float("-inf"), "", "text", "ünïcödé ✓", b"", b"\x00\xff\x80"],
)
def test_scalars_round_trip_exactly(value: object) -> None:
    assert same(roundtrip(value), value)


def test_nan_round_trips() -> None:
    result = roundtrip(float("nan"))
    assert isinstance(result, float) and math.isnan(result)


def test_integers_beyond_the_decimal_digit_limit_round_trip() -> None:
    huge = 7 ** 20000  # more digits than int('...') accepts by default
    assert roundtrip(huge) == huge


def test_lone_surrogates_from_surrogateescape_survive() -> None:
    raw = b"caf\xe9 \xff"
    text = raw.decode("utf-8", "surrogateescape")
    result = roundtrip(text)
    assert result == text
    assert isinstance(result, str) and result.encode("utf-8", "surrogateescape") == raw


def test_surrogates_survive_a_non_ascii_json_writer() -> None:
    # The encoded form must not depend on json.dumps escaping surrogates for us.
    data = encode("x\udc80")
    text = json.dumps(data, ensure_ascii=False)
    text.encode("utf-8")  # would raise if a raw surrogate were left in
    assert decode(json.loads(text)) == "x\udc80"


def test_datetimes_and_timespans_round_trip() -> None:
    naive = dt.datetime(2024, 5, 6, 7, 8, 9, 123456)
    aware = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    span = dt.timedelta(days=1, seconds=2, microseconds=3)
    assert roundtrip([naive, aware, span]) == [naive, aware, span]


def test_enum_members_travel_as_their_names() -> None:
    class State(enum.Enum):
        Completed = 2

    assert roundtrip(State.Completed) == "Completed"


def test_unknown_types_travel_as_their_string_form() -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    assert roundtrip(Thing()) == "a thing"


def test_tuples_become_lists() -> None:
    assert roundtrip((1, (2, 3))) == [1, [2, 3]]


# --- Containers and objects --------------------------------------------------------------------


def test_hashtable_keeps_order_spelling_and_case_insensitivity() -> None:
    table = Hashtable([("Zeta", 1), ("alpha", [1, 2]), (3, "int key")])
    result = roundtrip(table)
    assert isinstance(result, Hashtable)
    assert list(result.keys()) == ["Zeta", "alpha", 3]
    assert result["ZETA"] == 1 and result["Alpha"] == [1, 2] and result[3] == "int key"


def test_plain_dicts_decode_as_hashtables() -> None:
    result = roundtrip({"a": 1})
    assert isinstance(result, Hashtable) and result["A"] == 1


def test_psobject_keeps_type_names_exactly_by_default() -> None:
    obj = PSObject([("Name", "x"), ("Nested", PSObject({"n": 1}))], ["My.Type", "System.Object"])
    result = roundtrip(obj)
    assert same(result, obj)


def test_deserialized_flag_prefixes_type_names_once() -> None:
    obj = PSObject({"a": PSObject({"b": 1}, ["Inner"])}, ["Outer", "Deserialized.Already"])
    result = roundtrip(obj, deserialized=True)
    assert isinstance(result, PSObject)
    assert result.type_names == ["Deserialized.Outer", "Deserialized.Already"]
    inner = result.get("a")
    assert isinstance(inner, PSObject) and inner.type_names == ["Deserialized.Inner"]


class FakeJob:
    """A live job-like object with declared type names and properties."""

    ps_type_names = ("System.Management.Automation.PSRemotingJob",
                     "System.Management.Automation.Job")
    ps_property_names = ("Id", "Name", "PSJobTypeName", "State", "HasMoreData", "Location",
                         "Command", "ChildJobs")

    def __init__(self, job_id: int, children: list[FakeJob] | None = None) -> None:
        self.Id = job_id
        self.Name = f"Job{job_id}"
        self.PSJobTypeName = "BackgroundJob"
        self.State = "Completed"
        self.HasMoreData = False
        self.Location = "localhost"
        self.Command = " make -j4 && echo a-long-command-line"
        self.ChildJobs = children or []


def test_property_objects_become_property_bags_with_the_same_type_names() -> None:
    job = FakeJob(1, [FakeJob(2)])
    result = roundtrip(job)
    assert isinstance(result, PSObject)
    assert result.type_names == list(FakeJob.ps_type_names)
    assert result.get("Id") == 1 and result.get("hasmoredata") is False
    child = cast(list[PSObject], result.get("ChildJobs"))[0]
    assert child.get("Name") == "Job2"


def test_deserialized_jobs_format_like_live_ones() -> None:
    jobs = [FakeJob(1), FakeJob(3)]
    received = [roundtrip(j, deserialized=True) for j in jobs]
    assert render_text(build_blocks(received)) == render_text(build_blocks(jobs))


def test_error_record_round_trips_its_fields() -> None:
    record = make_error("The job failed.", "JobStateFailed", "InvalidResult",
                        target=42, command="Receive-Job",
                        exception_type="System.InvalidOperationException")
    record.InvocationInfo.PositionMessage = "At line:1 char:1"
    record.PSComputerName = "server01"
    result = roundtrip(record)
    assert isinstance(result, ErrorRecord)
    assert result.message == "The job failed."
    assert result.Exception.TypeName == "System.InvalidOperationException"
    assert result.FullyQualifiedErrorId == "JobStateFailed"
    assert result.CategoryInfo.Category == "InvalidResult"
    assert result.CategoryInfo.TargetName == "42"
    assert result.TargetObject == "42"
    assert result.command == "Receive-Job"
    assert result.InvocationInfo.PositionMessage == "At line:1 char:1"
    assert result.PSComputerName == "server01"
    assert result.describe() == record.describe()


def test_error_record_without_target_or_computer_keeps_them_null() -> None:
    result = roundtrip(make_error("x"))
    assert isinstance(result, ErrorRecord)
    assert result.TargetObject is None and result.PSComputerName is None


def test_script_block_decodes_to_its_text_by_default() -> None:
    block = ScriptBlock(cast(Any, None), " Get-Job | Wait-Job ")
    assert roundtrip(block) == " Get-Job | Wait-Job "


def test_script_block_can_be_rebuilt_by_the_receiver() -> None:
    block = ScriptBlock(cast(Any, None), " 1 + 1 ")
    result = roundtrip([block], make_scriptblock=lambda text: ("rebuilt", text))
    assert result == [("rebuilt", " 1 + 1 ")]


# --- Depth limit and cycles --------------------------------------------------------------------


def test_containers_past_the_depth_limit_become_their_string_form() -> None:
    value: list[object] = [1, [2, [3, [4]]]]
    assert roundtrip(value) == value
    assert loads(dumps(value, depth=2)) == [1, [2, "System.Object[]"]]
    obj = PSObject({"inner": PSObject({"x": 1})})
    assert loads(dumps(obj, depth=1)) == PSObject({"inner": "@{x=1}"})


def test_default_depth_is_twenty() -> None:
    value: list[object] = []
    for _ in range(25):
        value = [value]
    result = roundtrip(value)
    for _ in range(20):
        assert isinstance(result, list)
        result = result[0]
    assert result == "System.Object[]"


def test_cycles_are_cut_where_the_container_repeats() -> None:
    looped: list[object] = [1]
    looped.append(looped)
    assert roundtrip(looped) == [1, "System.Object[]"]
    bag = PSObject({"name": "me"})
    bag.set("self", bag)
    result = roundtrip(bag)
    assert isinstance(result, PSObject) and result.get("name") == "me"
    assert isinstance(result.get("self"), str)


def test_shared_but_acyclic_values_are_encoded_in_full_each_time() -> None:
    shared = [1, 2]
    assert roundtrip([shared, shared]) == [[1, 2], [1, 2]]


# --- Property test -----------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),  # includes lone surrogates
    st.binary(max_size=20),
    st.datetimes(),
)


def _hashtables(children: st.SearchStrategy[object]) -> st.SearchStrategy[Hashtable]:
    keys = st.lists(st.text(max_size=8), max_size=4, unique_by=str.lower)
    return keys.flatmap(
        lambda ks: st.lists(children, min_size=len(ks), max_size=len(ks)).map(
            lambda vs: Hashtable(list(zip(ks, vs, strict=True)))))


def _psobjects(children: st.SearchStrategy[object]) -> st.SearchStrategy[PSObject]:
    names = st.lists(st.text(min_size=1, max_size=8), max_size=4, unique_by=str.lower)
    types = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3)
    return st.tuples(names, types).flatmap(
        lambda nt: st.lists(children, min_size=len(nt[0]), max_size=len(nt[0])).map(
            lambda vs: PSObject(list(zip(nt[0], vs, strict=True)), nt[1])))


_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), _hashtables(children), _psobjects(children)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_any_nested_value_round_trips(value: object) -> None:
    text = dumps(value)
    assert text.isascii()
    assert same(loads(text), value)
