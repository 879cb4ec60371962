"""ConvertTo-Json and ConvertFrom-Json: pwsh 7's layout, depth rules and parsing quirks."""

from __future__ import annotations

import datetime as dt
import enum
import json

import pytest

from pjsh.commands.json import (
    ConvertFromJson,
    ConvertToJson,
    JsonConversionError,
    json_datetime,
    parse_json,
)
from pjsh.runtime.errors import PSRuntimeError
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import Session
from pjsh.runtime.values import Hashtable, PSObject, PSPropertyClass
from tests.fakes import FakeContext, fake_session, run_cmdlet


@pytest.fixture()
def session() -> Session:
    return fake_session(host=MemoryHost())


def to_json(value: object, session: Session, **params: object) -> FakeContext:
    return run_cmdlet(ConvertToJson, {"InputObject": value, **params}, session=session)


def from_json(texts: list[str], session: Session, **params: object) -> FakeContext:
    return run_cmdlet(ConvertFromJson, params, pipeline=list(texts),
                      pipeline_param="InputObject", session=session)


# --- ConvertTo-Json --------------------------------------------------------------------------


def test_pretty_output_uses_two_space_indentation_like_pwsh(session: Session) -> None:
    value = Hashtable({"name": "x", "list": [1, 2], "empty": [], "obj": Hashtable(),
                       "none": None, "yes": True})
    assert to_json(value, session).output == [
        '{\n'
        '  "name": "x",\n'
        '  "list": [\n'
        '    1,\n'
        '    2\n'
        '  ],\n'
        '  "empty": [],\n'
        '  "obj": {},\n'
        '  "none": null,\n'
        '  "yes": true\n'
        '}'
    ]


def test_compress_writes_one_line(session: Session) -> None:
    value = PSObject({"a": 1, "b": [True, None, "s"]})
    assert to_json(value, session, Compress=True).output == ['{"a":1,"b":[true,null,"s"]}']


def test_numbers_follow_newtonsoft(session: Session) -> None:
    assert to_json([1, 2.5, 3.0, 1e20, -0.001], session, Compress=True).output == [
        "[1,2.5,3.0,1E+20,-0.001]"]


def test_several_piped_inputs_become_an_array_and_one_stays_a_value(session: Session) -> None:
    many = run_cmdlet(ConvertToJson, {"Compress": True}, pipeline=[1, "two"],
                      pipeline_param="InputObject", session=session)
    one = run_cmdlet(ConvertToJson, {"Compress": True}, pipeline=["x"],
                     pipeline_param="InputObject", session=session)
    as_array = run_cmdlet(ConvertToJson, {"Compress": True, "AsArray": True}, pipeline=["x"],
                          pipeline_param="InputObject", session=session)
    assert many.output == ['[1,"two"]']
    assert one.output == ['"x"']
    assert as_array.output == ['["x"]']


def test_null_input_is_null_and_no_input_is_nothing(session: Session) -> None:
    assert to_json(None, session).output == ["null"]
    assert run_cmdlet(ConvertToJson, session=session).output == []
    assert run_cmdlet(ConvertToJson, {"AsArray": True}, session=session).output == ["[]"]


def test_objects_deeper_than_depth_become_strings_with_a_warning(session: Session) -> None:
    deep = Hashtable({"a": Hashtable({"b": Hashtable({"c": Hashtable({"d": 1})})})})
    ctx = to_json(deep, session, Compress=True)
    assert ctx.output == ['{"a":{"b":{"c":"System.Collections.Hashtable"}}}']
    assert ctx.streams == [("Warning", "Resulting JSON is truncated as serialization has "
                                       "exceeded the set depth of 2.")]
    ok = to_json(Hashtable({"a": Hashtable({"b": Hashtable({"c": 1})})}), session, Compress=True)
    assert ok.output == ['{"a":{"b":{"c":1}}}'] and ok.streams == []
    custom = to_json(PSObject({"a": PSObject({"b": 1})}), session, Compress=True, Depth=0)
    assert custom.output == ['{"a":"@{b=1}"}']


def test_dates_are_iso_strings(session: Session) -> None:
    utc = dt.datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=dt.timezone.utc)
    plus2 = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert json_datetime(utc) == "2024-01-02T03:04:05.12Z"
    assert json_datetime(plus2) == "2024-01-02T03:04:05+02:00"
    local = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert json_datetime(local).startswith("2024-01-02T03:04:05")
    assert to_json(utc, session).output == ['"2024-01-02T03:04:05.12Z"']


def test_strings_are_escaped_like_newtonsoft(session: Session) -> None:
    text = 'q"b\\n\n\t\x01é<'
    assert to_json(text, session).output == ['"q\\"b\\\\n\\n\\t\\u0001é<"']
    assert to_json("é<", session, EscapeHandling="EscapeNonAscii").output == ['"\\u00e9<"']
    assert to_json("<&>", session, EscapeHandling="EscapeHtml").output == [
        '"\\u003c\\u0026\\u003e"']


class Color(enum.Enum):
    RED = 1
    GREEN = 2


def test_enums_are_numbers_unless_enums_as_strings(session: Session) -> None:
    assert to_json(Color.GREEN, session).output == ["2"]
    assert to_json(Color.GREEN, session, EnumsAsStrings=True).output == ['"GREEN"']


class Thing(PSPropertyClass):
    ps_type_names = ("Test.Thing",)
    ps_property_names = ("Name", "Size")

    def __init__(self) -> None:
        self.Name = "t"
        self.Size = 7


def test_property_classes_serialize_their_listed_properties(session: Session) -> None:
    assert to_json(Thing(), session, Compress=True).output == ['{"Name":"t","Size":7}']


def test_output_is_valid_json_that_round_trips(session: Session) -> None:
    value = Hashtable({"n": [1, 2, {"x": "y"}], "s": "ü\u2028", "f": 0.1})
    text = to_json(value, session, Depth=5).output[0]
    assert isinstance(text, str)
    assert json.loads(text) == {"n": [1, 2, {"x": "y"}], "s": "ü\u2028", "f": 0.1}
    back = from_json([text], session).output[0]
    assert isinstance(back, PSObject)
    assert back.get("s") == "ü\u2028" and back.get("f") == 0.1


# --- ConvertFrom-Json ------------------------------------------------------------------------


def test_objects_become_pscustomobjects_and_arrays_are_enumerated(session: Session) -> None:
    ctx = from_json(['[{"a": 1, "b": {"c": [true, null]}}, 2]'], session)
    first, second = ctx.output
    assert isinstance(first, PSObject)
    assert first.type_names == ["System.Management.Automation.PSCustomObject"]
    assert first.get("A") == 1
    inner = first.get("b")
    assert isinstance(inner, PSObject) and inner.get("c") == [True, None]
    assert second == 2


def test_no_enumerate_keeps_the_array(session: Session) -> None:
    assert from_json(["[1,2]"], session, NoEnumerate=True).output == [[1, 2]]
    assert from_json(["[]"], session).output == []


def test_as_hashtable(session: Session) -> None:
    [table] = from_json(['{"b": 1, "a": {"": 2}}'], session, AsHashtable=True).output
    assert isinstance(table, Hashtable)
    assert list(table.keys()) == ["b", "a"]
    inner = table["a"]
    assert isinstance(inner, Hashtable) and inner[""] == 2


def test_iso_date_strings_become_dates(session: Session) -> None:
    [obj] = from_json(['{"d": "2024-01-02T03:04:05.5", "z": "2024-01-02T03:04:05Z", '
                       '"s": "2024-01-02"}'], session).output
    assert isinstance(obj, PSObject)
    assert obj.get("d") == dt.datetime(2024, 1, 2, 3, 4, 5, 500000)
    assert obj.get("z") == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert obj.get("s") == "2024-01-02"


def test_piped_lines_are_separate_documents_when_the_first_parses(session: Session) -> None:
    assert from_json(["1", '"two"', "[3]"], session).output == [1, "two", 3]


def test_piped_lines_are_joined_when_the_first_is_incomplete(session: Session) -> None:
    ctx = from_json(["{", '  "a": [1,', "  2]", "}"], session)
    [obj] = ctx.output
    assert isinstance(obj, PSObject) and obj.get("a") == [1, 2]


def test_bad_json_is_a_terminating_error_in_pwsh_words(session: Session) -> None:
    with pytest.raises(PSRuntimeError) as info:
        from_json(['{"a": }'], session)
    record = info.value.record
    assert record.message.startswith("Conversion from JSON failed with error: ")
    assert record.FullyQualifiedErrorId == (
        "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand")


def test_comments_and_trailing_commas_are_accepted_like_newtonsoft() -> None:
    text = '{\n  // comment\n  "a": [1, 2,], /* more */ "b": "x // not a comment",\n}'
    value = parse_json(text)
    assert isinstance(value, PSObject)
    assert value.get("a") == [1, 2] and value.get("b") == "x // not a comment"


def test_keys_differing_only_in_case_need_as_hashtable() -> None:
    with pytest.raises(JsonConversionError, match="keys with different casing"):
        parse_json('{"a": 1, "A": 2}')
    with pytest.raises(JsonConversionError, match="duplicated key 'a'"):
        parse_json('{"a": 1, "a": 2}')
    with pytest.raises(JsonConversionError, match="name is an empty string"):
        parse_json('{"": 1}')


def test_depth_limit() -> None:
    assert parse_json("[[1]]", max_depth=2) == [[1]]
    with pytest.raises(JsonConversionError, match="MaxDepth of 1 has been exceeded"):
        parse_json("[[1]]", max_depth=1)


def test_whitespace_only_input_is_null(session: Session) -> None:
    assert from_json(["  "], session).output == [None]


def test_engine_round_trips_objects_through_json() -> None:
    from tests.harness import run

    result = run("$o = @{name='x'; n=@(1,2)} | ConvertTo-Json | ConvertFrom-Json; "
                 "$o.name; $o.n.Count")
    assert result.output == ["x", 2]
    # A cmdlet's terminating error ends its statement, not the script.
    result = run("'not json' | ConvertFrom-Json | ForEach-Object { 'unreached' }; 'next'")
    assert result.output == ["next"]
    assert result.messages[0].startswith("Conversion from JSON failed with error:")
