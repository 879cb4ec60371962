"""Where-Object, ForEach-Object, Select-Object, Sort-Object, Measure-Object and Group-Object
driven directly (no interpreter): comparison statements, member names, selection, ordering,
statistics and grouping."""

from __future__ import annotations

import math

import pytest

from pjsh.commands.objects import (
    ForEachObject,
    GenericMeasureInfo,
    GroupInfo,
    GroupInfoNoElement,
    GroupObject,
    MeasureObject,
    SelectObject,
    SortObject,
    TextMeasureInfo,
    WhereObject,
    is_type,
    property_value,
)
from pjsh.runtime.cmdlet import Cmdlet
from pjsh.runtime.errors import PSRuntimeError, StopUpstreamSignal
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.values import Hashtable, PSObject, type_names
from tests.fakes import FakeContext, fake_session, run_cmdlet
from tests.harness import run, show


def obj(**props: object) -> PSObject:
    """A PSCustomObject with the given properties."""
    return PSObject(props)


PEOPLE = [obj(Name="bob", Age=30), obj(Name="Alice", Age=25), obj(Name="carl", Age=41)]


def piped(cls: type[Cmdlet], items: list[object], **params: object) -> FakeContext:
    """Run a cmdlet with ``items`` piped to -InputObject."""
    return run_cmdlet(cls, params=params, pipeline=items, pipeline_param="InputObject")


def drive(cls: type[Cmdlet], items: list[object], **params: object) -> tuple[FakeContext, int]:
    """Pipe items like the engine does, honouring StopUpstreamSignal: returns the context and
    how many input objects were consumed before upstream was stopped."""
    ctx = FakeContext(cls.spec.name, fake_session(host=MemoryHost()))
    values = {p.name: p.default for p in cls.spec.params}
    values.update(params)
    cmd = cls(ctx)  # type: ignore[arg-type]
    head = cls.args_type(dict(values), cls.spec.default_set or "")
    head.mark_explicit(set(params))
    cmd.begin(head)
    consumed = 0
    for item in items:
        bound = cls.args_type({**values, "InputObject": item}, head.parameter_set)
        bound.mark_explicit(set(params) | {"InputObject"})
        consumed += 1
        try:
            cmd.process(bound)
        except StopUpstreamSignal:
            break
    cmd.end(head)
    return ctx, consumed


def names(items: list[object]) -> list[object]:
    """The Name property of each output object."""
    return [property_value(i, "Name")[1] for i in items]


# ------------------------------------------------------------------------------ Where-Object


def test_where_comparison_statement_filters_by_operator() -> None:
    ctx = piped(WhereObject, PEOPLE, Property="Age", Value=29, GT=True)
    assert names(ctx.output) == ["bob", "carl"]


def test_where_eq_is_case_insensitive_and_ceq_is_not() -> None:
    assert names(piped(WhereObject, PEOPLE, Property="Name", Value="ALICE", EQ=True).output) \
        == ["Alice"]
    assert piped(WhereObject, PEOPLE, Property="Name", Value="ALICE", CEQ=True).output == []


def test_where_like_and_match_use_wildcards_and_regex() -> None:
    assert names(piped(WhereObject, PEOPLE, Property="Name", Value="*l*", Like=True).output) \
        == ["Alice", "carl"]
    assert names(piped(WhereObject, PEOPLE, Property="Name", Value="^b", Match=True).output) \
        == ["bob"]
    assert names(piped(WhereObject, PEOPLE, Property="Name", Value="^b",
                       NotMatch=True).output) == ["Alice", "carl"]


def test_where_contains_and_in_test_collections() -> None:
    items = [obj(Name="x", Tags=["a", "b"]), obj(Name="y", Tags=["c"])]
    assert names(piped(WhereObject, items, Property="Tags", Value="B", Contains=True).output) \
        == ["x"]
    assert names(piped(WhereObject, PEOPLE, Property="Name", Value=["bob", "carl"],
                       In=True).output) == ["bob", "carl"]
    assert names(piped(WhereObject, PEOPLE, Property="Name", Value=["bob", "carl"],
                       NotIn=True).output) == ["Alice"]


def test_where_property_alone_tests_its_truth() -> None:
    items = ["hi", "", "there"]
    assert piped(WhereObject, items, Property="Length").output == ["hi", "there"]


def test_where_not_passes_false_and_missing_properties() -> None:
    items = [obj(Name="a", Done=True), obj(Name="b", Done=False), obj(Name="c")]
    assert names(piped(WhereObject, items, Property="Done", Not=True).output) == ["b", "c"]


def test_where_missing_property_compares_as_null() -> None:
    items = [obj(Name="a"), obj(Name="b", State="Running")]
    assert names(piped(WhereObject, items, Property="State", Value=None, EQ=True).output) \
        == ["a"]


def test_where_operator_without_value_is_a_terminating_error() -> None:
    with pytest.raises(PSRuntimeError) as info:
        piped(WhereObject, PEOPLE, Property="Age", GT=True)
    assert "requires both the -Property and -Value parameters" in info.value.record.message


def test_where_without_input_outputs_nothing() -> None:
    ctx = run_cmdlet(WhereObject, params={"Property": "Name"})
    assert ctx.output == []


def test_where_is_tests_type_names() -> None:
    items = [obj(V=1), obj(V="1"), obj(V=1.5)]
    ctx = piped(WhereObject, items, Property="V", Value="int", Is=True)
    assert ctx.output == [items[0]]
    assert is_type("x", "System.String") and not is_type(None, "object")


def test_where_bad_regex_is_a_non_terminating_error() -> None:
    ctx = piped(WhereObject, PEOPLE, Property="Name", Value="(", Match=True)
    assert ctx.output == [] and len(ctx.errors) == 3


# ------------------------------------------------------------------------------ ForEach-Object


def test_foreach_member_name_outputs_the_property() -> None:
    assert piped(ForEachObject, PEOPLE, MemberName="Name").output == ["bob", "Alice", "carl"]


def test_foreach_member_name_unrolls_collections() -> None:
    items = [obj(Tags=["a", "b"]), obj(Tags=["c"])]
    assert piped(ForEachObject, items, MemberName="Tags").output == ["a", "b", "c"]


def test_foreach_member_name_calls_methods_with_arguments() -> None:
    assert piped(ForEachObject, ["a,b", "c"], MemberName="Split",
                 ArgumentList=[","]).output == ["a", "b", "c"]
    assert piped(ForEachObject, ["abc"], MemberName="ToUpper").output == ["ABC"]


def test_foreach_unknown_method_with_arguments_is_an_error() -> None:
    ctx = piped(ForEachObject, [1], MemberName="Frob", ArgumentList=[2])
    assert ctx.output == []
    assert ctx.errors[0].message == 'Input name "Frob" cannot be resolved to a method.'
    assert ctx.errors[0].FullyQualifiedErrorId == "MethodNotFound"


def test_foreach_missing_property_writes_nothing() -> None:
    ctx = piped(ForEachObject, [obj(A=1)], MemberName="B")
    assert ctx.output == [] and ctx.errors == []


# ------------------------------------------------------------------------------ Select-Object


def test_select_makes_selected_objects_with_chosen_properties() -> None:
    ctx = piped(SelectObject, PEOPLE[:1], Property=["name"])
    out = ctx.output[0]
    assert isinstance(out, PSObject)
    # The object's own spelling of the property wins, as in pwsh.
    assert out.property_items() == [("Name", "bob")]
    assert type_names(out)[:2] == ["Selected.System.Management.Automation.PSCustomObject",
                                   "System.Management.Automation.PSCustomObject"]


def test_select_type_name_of_a_scalar() -> None:
    out = piped(SelectObject, [5], Property=["Length"]).output[0]
    assert type_names(out)[0] == "Selected.System.Int32"


def test_select_missing_property_is_null_not_an_error() -> None:
    ctx = piped(SelectObject, PEOPLE[:1], Property=["Name", "Nope"])
    assert ctx.output[0].property_items() == [("Name", "bob"), ("Nope", None)]
    assert ctx.errors == []


def test_select_wildcards_and_exclude_property() -> None:
    item = obj(Name="a", NameLength=1, Size=3)
    out = piped(SelectObject, [item], Property=["Name*", "Size"],
                ExcludeProperty=["*Length"]).output[0]
    assert [n for n, _ in out.property_items()] == ["Name", "Size"]
    only_exclude = piped(SelectObject, [item], ExcludeProperty=["Size"]).output[0]
    assert [n for n, _ in only_exclude.property_items()] == ["Name", "NameLength"]


def test_select_calculated_property_with_a_property_name_expression() -> None:
    table = Hashtable({"N": "Years", "E": "Age"})
    out = piped(SelectObject, PEOPLE[:1], Property=["Name", table]).output[0]
    assert out.property_items() == [("Name", "bob"), ("Years", 30)]


def test_select_bad_calculated_key_is_terminating() -> None:
    with pytest.raises(PSRuntimeError) as info:
        piped(SelectObject, PEOPLE, Property=[Hashtable({"Foo": 1, "E": "Age"})])
    assert info.value.record.message == "The Foo key is not valid."


def test_select_expand_property_enumerates_and_reports_missing() -> None:
    items = [obj(Tags=["a", "b"]), obj(Other=1)]
    ctx = piped(SelectObject, items, ExpandProperty="Tags")
    assert ctx.output == ["a", "b"]
    assert ctx.errors[0].message == 'Property "Tags" cannot be found.'
    assert ctx.errors[0].FullyQualifiedErrorId == "ExpandPropertyNotFound"


def test_select_expand_property_with_property_adds_note_properties() -> None:
    inner = obj(X=1)
    out = piped(SelectObject, [obj(Name="n", Child=inner)], ExpandProperty="Child",
                Property=["Name"]).output
    assert out == [inner] and inner.get("Name") == "n"


def test_select_first_stops_upstream_after_n_objects() -> None:
    ctx, consumed = drive(SelectObject, list(range(100)), First=3)
    assert ctx.output == [0, 1, 2]
    assert consumed == 3


def test_select_first_with_skip() -> None:
    ctx, consumed = drive(SelectObject, list(range(10)), First=2, Skip=3)
    assert ctx.output == [3, 4] and consumed == 5


def test_select_first_zero_outputs_nothing() -> None:
    ctx, consumed = drive(SelectObject, list(range(10)), First=0)
    assert ctx.output == [] and consumed == 1


def test_select_last_and_skip_counts_from_the_end() -> None:
    assert piped(SelectObject, list(range(10)), Last=3).output == [7, 8, 9]
    assert piped(SelectObject, list(range(10)), Last=2, Skip=1).output == [7, 8]
    assert piped(SelectObject, list(range(3)), Last=5).output == [0, 1, 2]


def test_select_first_and_last_together_output_both_ends_once() -> None:
    assert piped(SelectObject, list(range(10)), First=2, Last=2).output == [0, 1, 8, 9]
    assert piped(SelectObject, list(range(3)), First=2, Last=2).output == [0, 1, 2]


def test_select_skip_and_skip_last() -> None:
    assert piped(SelectObject, list(range(5)), Skip=2).output == [2, 3, 4]
    assert piped(SelectObject, list(range(5)), SkipLast=2).output == [0, 1, 2]


def test_select_index_and_skip_index() -> None:
    ctx, consumed = drive(SelectObject, list(range(10)), Index=[3, 1])
    assert ctx.output == [1, 3] and consumed == 4
    assert piped(SelectObject, list(range(5)), SkipIndex=[0, 4]).output == [1, 2, 3]


def test_select_unique_is_case_sensitive_unless_asked() -> None:
    assert piped(SelectObject, ["a", "A", "a", "b"], Unique=True).output == ["a", "A", "b"]
    assert piped(SelectObject, ["a", "A", "b"], Unique=True,
                 CaseInsensitive=True).output == ["a", "b"]


def test_select_unique_compares_selected_property_values() -> None:
    items = [obj(K=1, V="x"), obj(K=1, V="y"), obj(K=2, V="z")]
    out = piped(SelectObject, items, Property=["K"], Unique=True).output
    assert [o.get("K") for o in out] == [1, 2]


def test_select_passes_objects_through_without_properties() -> None:
    assert piped(SelectObject, PEOPLE).output == PEOPLE


# ------------------------------------------------------------------------------ Sort-Object


def test_sort_by_property_is_case_insensitive_by_default() -> None:
    assert names(piped(SortObject, PEOPLE, Property=["Name"]).output) == ["Alice", "bob", "carl"]


def test_sort_case_sensitive_puts_lower_case_first() -> None:
    ctx = piped(SortObject, ["b", "B", "a", "A"], CaseSensitive=True)
    assert ctx.output == ["a", "A", "b", "B"]
    assert piped(SortObject, ["B", "b"], CaseSensitive=True, Unique=True).output == ["b", "B"]


def test_sort_numbers_numerically_and_nulls_first() -> None:
    assert piped(SortObject, [10, 9, None, 100]).output == [None, 9, 10, 100]


def test_sort_descending_and_top_bottom() -> None:
    assert piped(SortObject, [3, 1, 2], Descending=True).output == [3, 2, 1]
    assert piped(SortObject, [5, 1, 4, 2], Top=2).output == [1, 2]
    assert piped(SortObject, [5, 1, 4, 2], Bottom=2).output == [4, 5]


def test_sort_is_stable_for_equal_keys() -> None:
    items = [obj(K=1, I=i) for i in range(5)] + [obj(K=0, I=9)]
    out = piped(SortObject, items, Property=["K"]).output
    assert [o.get("I") for o in out] == [9, 0, 1, 2, 3, 4]
    out = piped(SortObject, items, Property=["K"], Descending=True).output
    assert [o.get("I") for o in out] == [0, 1, 2, 3, 4, 9]


def test_sort_unique_drops_repeated_keys_case_insensitively() -> None:
    assert piped(SortObject, ["b", "a", "B"], Unique=True).output == ["a", "b"]


def test_sort_hashtable_key_sets_direction_per_property() -> None:
    items = [obj(A=1, B=1), obj(A=1, B=2), obj(A=0, B=5)]
    spec = ["A", Hashtable({"Expression": "B", "Descending": True})]
    out = piped(SortObject, items, Property=spec).output
    assert [(o.get("A"), o.get("B")) for o in out] == [(0, 5), (1, 2), (1, 1)]


def test_sort_mixed_types_do_not_fail() -> None:
    assert len(piped(SortObject, ["x", 1, obj(A=1), None]).output) == 4


# ------------------------------------------------------------------------------ Measure-Object


def test_measure_counts_and_leaves_unrequested_stats_null() -> None:
    out = piped(MeasureObject, [1, 2, 3]).output
    assert out == [GenericMeasureInfo(Count=3)]


def test_measure_all_stats() -> None:
    info = piped(MeasureObject, [1, 2, 3, 4, 5], AllStats=True).output[0]
    assert isinstance(info, GenericMeasureInfo)
    assert (info.Count, info.Sum, info.Average, info.Maximum, info.Minimum) == (5, 15, 3, 5, 1)
    assert info.StandardDeviation is not None
    assert math.isclose(info.StandardDeviation, 1.58113883008419)


def test_measure_property_and_wildcards() -> None:
    out = piped(MeasureObject, PEOPLE, Property=["Age"], Sum=True, Maximum=True).output
    assert out == [GenericMeasureInfo(Count=3, Sum=96.0, Maximum=41.0, Property="Age")]
    items = [obj(PagedA=1, PagedB=10), obj(PagedA=2, PagedB=20)]
    out = piped(MeasureObject, items, Property=["Paged*"], Maximum=True).output
    assert [(m.Property, m.Maximum) for m in out] == [("PagedA", 2), ("PagedB", 20)]


def test_measure_property_missing_everywhere_is_an_error() -> None:
    ctx = piped(MeasureObject, PEOPLE, Property=["Nope"])
    assert ctx.output == []
    assert ctx.errors[0].message == \
        'The property "Nope" cannot be found in the input for any objects.'


def test_measure_skips_objects_without_the_property() -> None:
    items = [obj(A=1), obj(B=2), obj(A=3)]
    assert piped(MeasureObject, items, Property=["A"], Sum=True).output[0].Sum == 4


def test_measure_non_numeric_sum_is_an_error() -> None:
    ctx = piped(MeasureObject, [1, "x", 2], Sum=True)
    assert ctx.errors[0].message == 'Input object "x" is not numeric.'
    assert ctx.output[0].Sum == 3


def test_measure_minimum_maximum_of_strings() -> None:
    info = piped(MeasureObject, ["pear", "apple", "zoo"], Maximum=True, Minimum=True).output[0]
    assert (info.Maximum, info.Minimum) == ("zoo", "apple")


def test_measure_text_counts_lines_words_characters() -> None:
    ctx = piped(MeasureObject, ["One, Two", "Three", "Four Five"], Line=True, Word=True,
                Character=True)
    assert ctx.output == [TextMeasureInfo(Lines=3, Words=5, Characters=22)]
    ctx = piped(MeasureObject, ["One\nTwo\nThree"], Line=True)
    assert ctx.output == [TextMeasureInfo(Lines=3)]
    ctx = piped(MeasureObject, ["a b"], Character=True, IgnoreWhiteSpace=True)
    assert ctx.output[0].Characters == 2


# ------------------------------------------------------------------------------ Group-Object


def test_group_sorts_groups_by_name_and_keeps_member_order() -> None:
    items = [obj(S="b", I=1), obj(S="a", I=2), obj(S="B", I=3)]
    out = piped(GroupObject, items, Property=["S"]).output
    assert [(g.Name, g.Count) for g in out] == [("a", 1), ("b", 2)]
    assert isinstance(out[1], GroupInfo)
    assert [m.get("I") for m in out[1].Group] == [1, 3]
    assert out[1].Values == ["b"]


def test_group_numbers_sort_numerically() -> None:
    out = piped(GroupObject, [7, 1, 3, 7]).output
    assert [g.Name for g in out] == ["1", "3", "7"]


def test_group_case_sensitive() -> None:
    out = piped(GroupObject, ["a", "A", "a"], CaseSensitive=True).output
    assert sorted((g.Name, g.Count) for g in out) == [("A", 1), ("a", 2)]


def test_group_by_several_properties_joins_the_name() -> None:
    items = [obj(A=1, B="x"), obj(A=1, B="x"), obj(A=2, B="y")]
    out = piped(GroupObject, items, Property=["A", "B"]).output
    assert [(g.Name, g.Count, g.Values) for g in out] == [("1, x", 2, [1, "x"]),
                                                          ("2, y", 1, [2, "y"])]


def test_group_no_element() -> None:
    out = piped(GroupObject, ["a", "b", "a"], NoElement=True).output
    assert out == [GroupInfoNoElement(2, "a", ["a"]), GroupInfoNoElement(1, "b", ["b"])]
    assert type_names(out[0])[0] == "Microsoft.PowerShell.Commands.GroupInfoNoElement"


def test_group_as_hashtable() -> None:
    out = piped(GroupObject, [*PEOPLE, obj(Name="x", Age=30)], Property=["Age"],
                AsHashTable=True).output
    assert len(out) == 1 and isinstance(out[0], Hashtable)
    table = out[0]
    assert list(table.keys()) == [25, 30, 41]
    assert names(table[30]) == ["bob", "x"]  # type: ignore[arg-type]
    as_string = piped(GroupObject, PEOPLE, Property=["Age"], AsHashTable=True,
                      AsString=True).output[0]
    assert list(as_string.keys()) == ["25", "30", "41"]


# ------------------------------------------------------------------------------ through the engine
# Script blocks (filters, process blocks, calculated properties) need the interpreter.


def test_engine_where_script_block_filters() -> None:
    assert run("1..5 | Where-Object { $_ -gt 2 }").output == [3, 4, 5]
    assert run("1..5 | ? { $_ % 2 }").output == [1, 3, 5]


def test_engine_where_comparison_statement_binds_property_and_value() -> None:
    assert run('"ab", "c", "abc" | where Length -eq 2').output == ["ab"]
    assert run('"ab", "c", "abc" | ? Length -gt 1 | Sort-Object -Descending').output == \
        ["abc", "ab"]
    assert run("1, 2 | where { $_ -is [int] } | Measure-Object | % Count").output == [2]


def test_engine_foreach_begin_process_end_blocks() -> None:
    result = run('1..3 | ForEach-Object -Begin { "b" } -Process { $_ * 2 } -End { "e" }')
    assert result.output == ["b", 2, 4, 6, "e"]


def test_engine_foreach_three_positional_blocks_are_begin_process_end() -> None:
    assert run('1..2 | % { "b" } { $_ } { "e" }').output == ["b", 1, 2, "e"]
    assert run('1..2 | % { "b" } { $_ }').output == ["b", 1, 2]


def test_engine_foreach_runs_in_the_callers_scope() -> None:
    assert run("$t = 0; 1..5 | % { $t += $_ }; $t").output == [15]


def test_engine_foreach_member_name_and_method() -> None:
    assert run('"a,b", "c" | % Split ","').output == ["a", "b", "c"]
    assert run('"abc" | % Length').output == [3]


def test_engine_select_calculated_property_runs_the_script_block() -> None:
    assert run('1..3 | Select-Object @{n="x"; e={$_ * 10}} | % x').output == [10, 20, 30]


def test_engine_select_first_stops_the_commands_before_it() -> None:
    result = run("$n = 0; 1..100 | Where-Object { $n++; $true } | Select-Object -First 3; $n")
    assert result.output == [1, 2, 3, 3]


def test_engine_select_first_stops_a_foreach_producer() -> None:
    result = run("$n = 0; 1..100 | % { $n++; $_ } | Select-Object -First 3; $n")
    assert result.output == [1, 2, 3, 3]


def test_engine_select_first_wait_lets_the_producer_run_to_its_end() -> None:
    result = run("$n = 0; 1..100 | % { $n++; $_ } | Select-Object -First 3 -Wait; $n")
    assert result.output == [1, 2, 3, 100]


def test_engine_select_index_wait_lets_the_producer_run_to_its_end() -> None:
    result = run("$n = 0; 1..10 | % { $n++; $_ } | Select-Object -Index 1, 2 -Wait; $n")
    assert result.output == [2, 3, 10]


def test_engine_select_index_without_wait_stops_after_the_last_index() -> None:
    result = run("$n = 0; 1..10 | % { $n++; $_ } | Select-Object -Index 1, 2; $n")
    assert result.output == [2, 3, 3]


def test_engine_sort_by_script_block_and_hashtable_keys() -> None:
    result = run("1..6 | Sort-Object { $_ % 3 }, @{Expression={$_}; Descending=$true}")
    assert result.output == [6, 3, 4, 1, 5, 2]


def test_engine_group_by_script_block() -> None:
    assert run("1..10 | Group-Object { $_ % 2 } -NoElement | % Count").output == [5, 5]
    assert run("1..10 | group { $_ % 3 } | % Name").output == ["0", "1", "2"]


def test_engine_measure_script_block_property() -> None:
    (info,) = run("1..3 | Measure-Object { $_ * 2 } -Sum").output
    assert isinstance(info, GenericMeasureInfo)
    assert (info.Sum, info.Property) == (12, "$_ * 2")


def test_engine_group_table_shows_count_name_group() -> None:
    text = show("1..4 | Group-Object { $_ % 2 }").text
    assert text == "\nCount Name Group\n----- ---- -----\n    2 0    {2, 4}\n    2 1    {1, 3}\n\n"
    assert show("1..4 | group { $_ % 2 } -NoElement").text == \
        "\nCount Name\n----- ----\n    2 0\n    2 1\n\n"


# --- Get-Member ------------------------------------------------------------------------------


def _members(text: str) -> list[tuple[str, str, str]]:
    from tests.harness import run

    r = run(text)
    assert r.errors == []
    return [(m.TypeName, m.Name, m.MemberType) for m in r.output]


def test_get_member_lists_string_property_and_methods() -> None:
    found = _members("'abc' | Get-Member")
    assert ("System.String", "Length", "Property") in found
    assert ("System.String", "ToUpper", "Method") in found


def test_get_member_lists_every_string_method_pjsh_implements() -> None:
    from pjsh.runtime.members import _STR_METHODS

    names = {n.lower() for _, n, kind in _members("'x' | gm") if kind == "Method"}
    assert set(_STR_METHODS) <= names


def test_get_member_sorts_by_member_type_then_name() -> None:
    kinds = [(k, n.lower()) for _, n, k in _members("@(1, 2) | gm; gm -InputObject @(1)")]
    ints = kinds[:4]
    assert ints == sorted(ints)


def test_get_member_lists_each_type_once_in_order_seen() -> None:
    types = []
    for t, _, _ in _members("1, 'a', 2, 'b' | Get-Member"):
        if t not in types:
            types.append(t)
    assert types == ["System.Int32", "System.String"]


def test_get_member_pscustomobject_note_properties_with_definitions() -> None:
    from tests.harness import run

    out = run("[pscustomobject]@{a=1; b='x'; c=$null; d=1,2} | gm -MemberType NoteProperty").output
    assert [(m.Name, m.Definition) for m in out] == [
        ("a", "int a=1"), ("b", "string b=x"), ("c", "object c=null"),
        ("d", "Object[] d=System.Object[]")]


def test_get_member_name_filters_with_wildcards() -> None:
    assert [n for _, n, _ in _members("'x' | gm -Name T*U*")] == ["ToUpper"]


def test_get_member_member_type_groups_properties_and_methods() -> None:
    kinds = {k for _, _, k in _members("Get-Date | gm -MemberType Properties")}
    assert kinds == {"Property"}
    kinds = {k for _, _, k in _members("@{} | gm -MemberType Methods")}
    assert kinds == {"Method"}


def test_get_member_member_type_accepts_comma_lists() -> None:
    kinds = {k for _, _, k in _members("@(1) | gm -MemberType 'Method,Property'")}
    assert kinds == {"Method"}


def test_get_member_bad_member_type_is_a_binding_error() -> None:
    from tests.harness import run

    r = run("1 | gm -MemberType Bogus")
    assert "PSMemberTypes" in r.messages[0]


def test_get_member_input_object_array_lists_the_array_type() -> None:
    found = _members("Get-Member -InputObject 1, 2")
    assert {t for t, _, _ in found} == {"System.Object[]"}
    assert ("System.Object[]", "Count", "AliasProperty") in found


def test_get_member_static_lists_type_members() -> None:
    names = [n for _, n, _ in _members("1 | gm -Static")]
    assert names == ["Parse", "MaxValue", "MinValue"]


def test_get_member_force_adds_psobject_member_set() -> None:
    assert ("System.Int32", "psobject", "MemberSet") in _members("1 | gm -Force")
    assert ("System.Int32", "psobject", "MemberSet") not in _members("1 | gm")


def test_get_member_lists_properties_of_pjsh_classes() -> None:
    found = _members("Get-Command Get-Job | gm -MemberType Property")
    assert ("System.Management.Automation.CmdletInfo", "Name", "Property") in found


def test_get_member_without_input_is_no_object_error() -> None:
    from tests.harness import run

    for text in ("Get-Member", "$null | Get-Member"):
        r = run(text)
        assert r.messages == ["You must specify an object for the Get-Member cmdlet."]
        assert r.errors[0].FullyQualifiedErrorId == (
            "NoObjectInGetMember,Microsoft.PowerShell.Commands.GetMemberCommand")


def test_get_member_shows_pwsh_table_grouped_by_type_name() -> None:
    from tests.harness import show

    lines = show("'a' | gm -MemberType Property").text.splitlines()
    assert lines[:6] == ["", "   TypeName: System.String", "", "Name   MemberType Definition",
                         "----   ---------- ----------", "Length Property   int Length {get;}"]


def test_methods_listed_by_get_member_can_be_called() -> None:
    from tests.harness import run

    r = run("(1).Equals(1); (1).Equals(2); ([pscustomobject]@{}).GetHashCode() -is [int]")
    assert r.output == [True, False, True]
