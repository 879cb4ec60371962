"""The format model: which objects become tables, lists or text, and how they are laid out."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pjsh.runtime.errors import make_error
from pjsh.runtime.formatting import (
    ROLE_HEADER,
    ROLE_LABEL,
    Block,
    Column,
    FormatError,
    ListBlock,
    ListView,
    OutDefault,
    TableBlock,
    TableView,
    TextBlock,
    build_blocks,
    builtin_views,
    display_width,
    format_value,
    layout_lines,
    render_text,
)
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.values import Hashtable, PSObject

JOB_TYPES = ("System.Management.Automation.PSRemotingJob", "System.Management.Automation.Job")


class FakeJob:
    """A job-shaped object: declares its type names and properties like the real Job class."""

    ps_type_names = JOB_TYPES
    ps_property_names = ("Id", "Name", "PSJobTypeName", "State", "HasMoreData", "Location",
                         "Command")

    def __init__(self, job_id: int, command: str, state: str = "Running",
                 location: str = "localhost") -> None:
        self.Id = job_id
        self.Name = f"Job{job_id}"
        self.PSJobTypeName = "BackgroundJob"
        self.State = state
        self.HasMoreData = True
        self.Location = location
        self.Command = command


class FakeSession:
    """A PSSession-shaped object."""

    ps_type_names = ("System.Management.Automation.Runspaces.PSSession",)
    ps_property_names = ("Id", "Name", "Transport", "ComputerName", "ComputerType", "State",
                         "ConfigurationName", "Availability")

    def __init__(self, session_id: int, name: str) -> None:
        self.Id = session_id
        self.Name = name
        self.Transport = "SSH"
        self.ComputerName = "localhost"
        self.ComputerType = "RemoteMachine"
        self.State = "Opened"
        self.ConfigurationName = "DefaultShell"
        self.Availability = "Available"


def ht(mapping: dict[str, object]) -> Hashtable:
    """A Hashtable from a dict literal (keeps mypy happy about the key type)."""
    return Hashtable(list(mapping.items()))


def sb(text: str) -> ScriptBlock:
    """A script block value for calculated properties (the body is not needed here)."""
    return ScriptBlock(cast(Any, None), text)


def lines_of(blocks: list[Block], width: int = 120) -> list[str]:
    return render_text(blocks, width).split("\n")[:-1]


# --- Job and PSSession views (reference §5) ----------------------------------------------------


def test_job_table_matches_pwsh_layout_exactly() -> None:
    long_command = "Microsoft.PowerShell.Management\\Set-Location"
    jobs = [FakeJob(1, " Start-Sleep 10"), FakeJob(3, long_command, state="Completed")]
    assert lines_of(build_blocks(jobs)) == [
        "",
        "Id     Name            PSJobTypeName   State         HasMoreData     Location"
        "             Command",
        "--     ----            -------------   -----         -----------     --------"
        "             -------",
        "1      Job1            BackgroundJob   Running       True            localhost"
        "             Start-Sleep 10",
        "3      Job3            BackgroundJob   Completed     True            localhost"
        "            Microsoft.PowerShell.Manageme…",
        "",
    ]


def test_the_last_column_takes_the_rest_of_the_line_then_is_cut_with_an_ellipsis() -> None:
    command = "abcdefghijklmnopqrstuvwxyz0123"
    # At 120 columns Command starts at 90: thirty cells, beyond its view's 25.
    assert lines_of(build_blocks([FakeJob(1, command)]))[3][90:] == command
    cell = lines_of(build_blocks([FakeJob(1, command + "4")]))[3][90:]
    assert cell == command[:29] + "…"
    wide = render_text(build_blocks([FakeJob(1, command * 2)]), 160).split("\n")[3]
    assert wide[90:] == command * 2


def test_command_of_exactly_the_column_width_is_not_cut() -> None:
    command = "x" * 25
    row = lines_of(build_blocks([FakeJob(1, command)]))[3]
    assert row.endswith(" " + command)
    assert "…" not in row


def test_job_view_is_found_through_any_type_name_and_deserialized_names() -> None:
    views = builtin_views()
    job = FakeJob(1, "x")
    assert isinstance(views.find(job), TableView)
    remote = PSObject({"Id": 1}, ["Deserialized.System.Management.Automation.Job"])
    assert views.find(remote) is views.find(job)
    assert views.find(PSObject({"Id": 1})) is None


def test_pssession_table_right_aligns_id_and_availability() -> None:
    lines = lines_of(build_blocks([FakeSession(1, "Runspace1")]))
    assert lines[1] == (" Id Name            Transport ComputerName    ComputerType    State"
                        "         ConfigurationName     Availability")
    assert lines[2] == (" -- ----            --------- ------------    ------------    -----"
                        "         -----------------     ------------")
    assert lines[3] == ("  1 Runspace1       SSH       localhost       RemoteMachine   Opened"
                        "        DefaultShell             Available")


def test_right_aligned_values_are_cut_at_the_head() -> None:
    lines = lines_of(build_blocks([FakeSession(12345, "s")]))
    assert lines[3].startswith("…45 ")


def test_columns_are_separated_by_one_space_and_dashes_match_labels() -> None:
    block = TableBlock((Column("Alpha", 8), Column("B", None)), (("x", "y"),))
    assert lines_of([block]) == ["", "Alpha    B", "-----    -", "x        y", ""]


# --- Table layout rules ---------------------------------------------------------------------


def test_auto_width_is_the_widest_of_label_and_values() -> None:
    block = TableBlock((Column("N", None), Column("Last", None)),
                       (("abc", "1"), ("abcdef", "2")))
    assert lines_of([block]) == ["", "N      Last", "-      ----", "abc    1", "abcdef 2", ""]


def test_last_column_is_not_padded_and_no_line_has_trailing_spaces() -> None:
    block = TableBlock((Column("A", 10), Column("B", 10)), (("x", "y"), ("", "")))
    text = render_text([block])
    assert all(line == line.rstrip() for line in text.split("\n"))
    assert "x          y\n" in text


def test_last_column_takes_only_the_remaining_width() -> None:
    block = TableBlock((Column("Key", 5), Column("Value", None)), (("k", "v" * 50),))
    lines = lines_of([block], width=20)
    assert lines[3] == "k     " + "v" * 13 + "…"
    assert max(display_width(line) for line in lines) == 20


def test_columns_that_do_not_fit_the_width_are_dropped() -> None:
    jobs = [FakeJob(1, "cmd")]
    lines = lines_of(build_blocks(jobs), width=60)
    assert lines[1].split() == ["Id", "Name", "PSJobTypeName", "State"]
    assert all(display_width(line) <= 60 for line in lines)


def test_label_longer_than_fixed_width_is_cut_too() -> None:
    block = TableBlock((Column("LongLabel", 4), Column("X", None)), (("a", "b"),))
    lines = lines_of([block])
    assert lines[1] == "Lon… X"
    assert lines[2] == "---- -"


def test_multiline_cell_shows_its_first_line_marked_as_cut() -> None:
    block = TableBlock((Column("A", None), Column("B", None)), (("one\ntwo", "z"),))
    assert lines_of([block])[3] == "one… z"


def test_wrap_puts_long_and_multiline_cells_on_several_lines() -> None:
    block = TableBlock((Column("A", 4), Column("B", None)), (("abcdefghij", "x\ny"),), wrap=True)
    assert lines_of([block]) == ["", "A    B", "-    -", "abcd x", "efgh y", "ij", ""]


def test_hidden_header_keeps_the_blank_lines() -> None:
    blocks = build_blocks([PSObject({"a": 1})], view="table", hide_header=True)
    assert render_text(blocks) == "\n1\n\n"


def test_wide_characters_take_two_cells() -> None:
    assert display_width("日本") == 4
    block = TableBlock((Column("Name", 5), Column("X", None)), (("日本語です", "1"),))
    assert lines_of([block])[3] == "日本… 1"


def test_title_is_shown_above_the_table() -> None:
    block = TableBlock((Column("A", None),), (("1",),), title="    Directory: /tmp")
    assert lines_of([block]) == ["", "    Directory: /tmp", "", "A", "-", "1", ""]


@settings(max_examples=200, deadline=None)
@given(
    widths=st.lists(st.one_of(st.none(), st.integers(1, 30)), min_size=1, max_size=6),
    cells=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
                           max_size=40), min_size=6, max_size=6),
    labels=st.lists(st.text(alphabet="abcXYZ ", min_size=1, max_size=12), min_size=6,
                    max_size=6),
    width=st.integers(10, 140),
    wrap=st.booleans(),
    right=st.booleans(),
)
def test_table_lines_never_exceed_the_width_nor_end_in_spaces(
    widths: list[int | None], cells: list[str], labels: list[str], width: int, wrap: bool,
    right: bool,
) -> None:
    align = "right" if right else "left"
    columns = tuple(Column(labels[i], w, align) for i, w in enumerate(widths))
    block = TableBlock(columns, (tuple(cells[: len(columns)]),), wrap=wrap)
    for line in render_text([block], width).split("\n"):
        assert display_width(line) <= width
        assert line == line.rstrip(" ")


# --- Choosing table, list or text ------------------------------------------------------------


def test_scalars_become_text_lines_and_null_is_skipped() -> None:
    blocks = build_blocks(["a", None, 3, 2.0, 0.1, 1e20, True, "two\nlines"])
    assert blocks == [TextBlock(("a", "3", "2", "0.1", "1E+20", "True", "two", "lines"))]
    assert render_text(blocks) == "a\n3\n2\n0.1\n1E+20\nTrue\ntwo\nlines\n"


def test_text_lines_are_printed_as_is() -> None:
    assert render_text(build_blocks(["  padded  ", ""])) == "  padded  \n\n"


def test_script_block_output_shows_its_text() -> None:
    assert build_blocks([sb(" 1 + 1 ")]) == [TextBlock((" 1 + 1 ",))]


def test_enum_values_show_their_name() -> None:
    class State(enum.Enum):
        Running = 1

    assert build_blocks([State.Running]) == [TextBlock(("Running",))]
    assert format_value(State.Running) == "Running"


def test_four_properties_make_a_table_five_make_a_list() -> None:
    four = PSObject({"a": 1, "b": 2, "c": 3, "d": 4})
    five = PSObject({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert isinstance(build_blocks([four])[0], TableBlock)
    assert isinstance(build_blocks([five])[0], ListBlock)


def test_objects_of_one_shape_share_a_table_and_a_new_shape_starts_a_block() -> None:
    blocks = build_blocks([
        PSObject({"a": 1, "b": "x"}),
        PSObject({"a": 22, "b": "yy"}),
        PSObject({"c": 3}),
        "text",
        PSObject({"c": 4}),
    ])
    assert [type(b).__name__ for b in blocks] == ["TableBlock", "TableBlock", "TextBlock",
                                                 "TableBlock"]
    first = blocks[0]
    assert isinstance(first, TableBlock)
    assert first.rows == (("1", "x"), ("22", "yy"))


def test_different_first_type_names_do_not_share_a_table() -> None:
    blocks = build_blocks([PSObject({"a": 1}, ["T.One"]), PSObject({"a": 2}, ["T.Two"])])
    assert len(blocks) == 2


def test_numbers_are_right_aligned_in_tables_without_a_view() -> None:
    blocks = build_blocks([PSObject({"Name": "a", "Count": 5}),
                           PSObject({"Name": "bb", "Count": 12345})])
    assert lines_of(blocks) == ["", "Name Count", "---- -----", "a        5", "bb   12345", ""]


def test_adjacent_blocks_are_separated_by_one_blank_line() -> None:
    blocks = build_blocks([PSObject({"a": 1}), PSObject({"b": 2})])
    assert render_text(blocks) == "\na\n-\n1\n\nb\n-\n2\n\n"


def test_table_after_text_and_text_after_table() -> None:
    blocks = build_blocks(["before", PSObject({"a": 1}), "after"])
    assert render_text(blocks) == "before\n\na\n-\n1\n\nafter\n"


def test_hashtable_shows_as_name_value_table() -> None:
    table = ht({"Alpha": 1, "b": [1, 2]})
    assert lines_of(build_blocks([table])) == [
        "",
        "Name                           Value",
        "----                           -----",
        "Alpha                          1",
        "b                              {1, 2}",
        "",
    ]


def test_consecutive_hashtables_share_the_table() -> None:
    blocks = build_blocks([ht({"a": 1}), ht({"b": 2})])
    assert len(blocks) == 1
    assert isinstance(blocks[0], TableBlock) and len(blocks[0].rows) == 2


def test_hashtable_as_list_shows_name_key_and_value() -> None:
    blocks = build_blocks([ht({"a": 1})], view="list")
    assert blocks == [ListBlock(((("Name", "a"), ("Key", "a"), ("Value", "1")),))]


def test_error_record_reaching_the_formatter_prints_its_description() -> None:
    record = make_error("The job failed.", command="Get-Job")
    assert build_blocks([record]) == [TextBlock(("Get-Job: The job failed.",))]


def test_object_arrays_are_enumerated() -> None:
    blocks = build_blocks([[PSObject({"a": 1}), PSObject({"a": 2})]])
    assert isinstance(blocks[0], TableBlock) and len(blocks[0].rows) == 2


def test_empty_property_bag_shows_nothing() -> None:
    assert build_blocks([PSObject()]) == []


def test_format_blocks_pass_through() -> None:
    block = TextBlock(("x",))
    assert build_blocks([PSObject({"a": 1}), block])[1] is block


# --- Property values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([1, 2, 3], "{1, 2, 3}"),
        ([1, 2, 3, 4], "{1, 2, 3, 4}"),
        ([1, 2, 3, 4, 5, 6], "{1, 2, 3, 4…}"),
        ([], "{}"),
        ([1, [2, 3]], "{1, System.Object[]}"),
        (ht({"a": 1}), "{[a, 1]}"),
        (None, ""),
        (True, "True"),
        (2.5, "2.5"),
        (PSObject({"x": 1}), "@{x=1}"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "01/02/2024 03:04:05"),
    ],
)
def test_property_values_as_cell_text(value: object, text: str) -> None:
    assert format_value(value) == text


# --- Forced views and selected properties ------------------------------------------------------


def test_format_table_forces_a_table_for_many_properties() -> None:
    obj = PSObject({k: i for i, k in enumerate("abcdef")})
    blocks = build_blocks([obj], view="table")
    assert isinstance(blocks[0], TableBlock) and len(blocks[0].columns) == 6


def test_format_list_shows_all_properties_of_an_object_with_a_table_view() -> None:
    blocks = build_blocks([FakeJob(1, "cmd")], view="list")
    assert isinstance(blocks[0], ListBlock)
    assert [label for label, _ in blocks[0].entries[0]] == list(FakeJob.ps_property_names)


def test_unknown_view_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown view"):
        build_blocks([1], view="wide")


def test_properties_by_name_use_the_real_spelling() -> None:
    blocks = build_blocks([FakeJob(7, "cmd")], view="table", properties=["id", "STATE"])
    assert lines_of(blocks)[1:4] == ["Id State", "-- -----", " 7 Running"]


def test_missing_property_gives_an_empty_column_labelled_as_typed() -> None:
    blocks = build_blocks([PSObject({"a": 1})], view="table", properties=["a", "nope"])
    assert isinstance(blocks[0], TableBlock)
    assert [c.label for c in blocks[0].columns] == ["a", "nope"]
    assert blocks[0].rows == (("1", ""),)


def test_wildcard_properties_expand_on_the_object() -> None:
    obj = PSObject({"PSJobTypeName": "x", "Name": "n", "PSBeginTime": "t"})
    blocks = build_blocks([obj], view="list", properties=["PS*"])
    assert [label for label, _ in cast(ListBlock, blocks[0]).entries[0]] == [
        "PSJobTypeName", "PSBeginTime"]


def test_star_selects_every_property_once() -> None:
    obj = PSObject({"a": 1, "b": 2})
    blocks = build_blocks([obj], view="table", properties=["a", "*"])
    assert [c.label for c in cast(TableBlock, blocks[0]).columns] == ["a", "b"]


def test_calculated_property_with_script_block_uses_the_evaluate_callback() -> None:
    calls: list[tuple[str, object]] = []

    def evaluate(block: object, obj: object) -> object:
        calls.append((str(block), obj))
        return cast(PSObject, obj).get("n") * 2  # type: ignore[operator]

    obj = PSObject({"n": 21})
    prop = ht({"Name": "Double", "Expression": sb(" $_.n * 2 ")})
    blocks = build_blocks([obj], view="table", properties=["n", prop], evaluate=evaluate)
    assert lines_of(blocks)[1:4] == [" n Double", " - ------", "21     42"]
    assert calls == [(" $_.n * 2 ", obj)]


@pytest.mark.parametrize("keys", [("N", "E"), ("L", "Expression"), ("Label", "Exp"),
                                  ("name", "e")])
def test_calculated_property_keys_may_be_abbreviated(keys: tuple[str, str]) -> None:
    prop = ht({keys[0]: "Renamed", keys[1]: "a"})
    blocks = build_blocks([PSObject({"a": "v"})], view="list", properties=[prop])
    assert blocks == [ListBlock(((("Renamed", "v"),),))]


def test_calculated_property_without_label_is_named_after_its_expression() -> None:
    blocks = build_blocks([PSObject({"a": 1})], view="list",
                          properties=[ht({"E": sb(" $_.a ")})], evaluate=lambda b, o: 1)
    assert cast(ListBlock, blocks[0]).entries[0][0] == (" $_.a ", "1")


def test_calculated_property_width_and_alignment() -> None:
    prop = ht({"L": "Val", "E": "a", "Width": 6, "Alignment": "Right"})
    blocks = build_blocks([PSObject({"a": "x", "b": "y"})], view="table", properties=[prop, "b"])
    assert lines_of(blocks)[1:4] == ["   Val b", "   --- -", "     x y"]


def test_calculated_property_format_string() -> None:
    prop = ht({"L": "MB", "E": "a", "FormatString": "N2"})
    blocks = build_blocks([PSObject({"a": 1234.5})], view="list", properties=[prop])
    assert cast(ListBlock, blocks[0]).entries[0] == (("MB", "1,234.50"),)


def test_calculated_property_without_evaluator_shows_empty() -> None:
    prop = ht({"N": "x", "E": sb("1")})
    blocks = build_blocks([PSObject({"a": 1})], view="list", properties=[prop])
    assert cast(ListBlock, blocks[0]).entries[0] == (("x", ""),)


def test_invalid_calculated_property_key_is_an_error() -> None:
    with pytest.raises(FormatError, match=r'The "Bogus" key is not valid\.'):
        build_blocks([PSObject({"a": 1})], properties=[ht({"Bogus": 1, "E": "a"})])


def test_calculated_property_width_must_be_a_number() -> None:
    with pytest.raises(FormatError, match="Width"):
        build_blocks([PSObject({"a": 1})], view="table",
                     properties=[ht({"E": "a", "Width": "wide"})])


def test_calculated_property_needs_an_expression() -> None:
    with pytest.raises(FormatError, match="Expression"):
        build_blocks([PSObject({"a": 1})], properties=[ht({"Name": "x"})])


def test_explicit_properties_put_objects_of_any_type_in_one_table() -> None:
    objs = [PSObject({"Name": "a"}, ["T.One"]), PSObject({"Name": "b"}, ["T.Two"])]
    blocks = build_blocks(objs, view="table", properties=["Name"])
    assert len(blocks) == 1


def test_auto_size_replaces_fixed_widths_with_content_widths() -> None:
    blocks = build_blocks([FakeJob(1, "cmd")], auto_size=True)
    table = cast(TableBlock, blocks[0])
    assert all(c.width is None for c in table.columns)
    assert lines_of(blocks)[1] == "Id Name PSJobTypeName State   HasMoreData Location  Command"


# --- List layout -------------------------------------------------------------------------------


def test_list_labels_are_padded_to_the_longest_and_entries_separated_by_a_blank() -> None:
    block = ListBlock(((("Id", "1"), ("LongName", "x")), (("Id", "2"), ("LongName", ""))))
    assert render_text([block]) == (
        "\nId       : 1\nLongName : x\n\nId       : 2\nLongName :\n\n"
    )


def test_list_multiline_values_are_indented_under_the_value() -> None:
    block = ListBlock(((("Reason", "first\nsecond"), ("Id", "1")),))
    assert lines_of([block]) == ["", "Reason : first", "         second", "Id     : 1", ""]


def test_list_long_values_wrap_under_the_value_column() -> None:
    block = ListBlock(((("Key", "a" * 30),),))
    assert lines_of([block], width=20) == ["", "Key : " + "a" * 14, "      " + "a" * 14,
                                           "      aa", ""]


def test_list_labels_carry_the_label_role() -> None:
    lines = layout_lines([ListBlock(((("Id", "1"),),))])
    assert lines[1][0] == ("Id", ROLE_LABEL)


def test_table_header_lines_carry_the_header_role() -> None:
    lines = layout_lines([TableBlock((Column("A", None),), (("1",),))])
    assert lines[1] == (("A", ROLE_HEADER),)
    assert lines[2] == (("-", ROLE_HEADER),)


# --- Other default views -----------------------------------------------------------------------


def test_file_view_groups_by_directory_like_pwsh_on_linux() -> None:
    item = PSObject(
        {"UnixMode": "-rw-r--r--", "User": "me", "Group": "staff",
         "LastWriteTime": dt.datetime(2024, 1, 2, 9, 5), "Size": 123, "Name": "notes.txt",
         "PSParentPath": "/home/me"},
        ["System.IO.FileInfo", "System.IO.FileSystemInfo"],
    )
    other = PSObject({"UnixMode": "drwxr-xr-x", "Name": "sub", "PSParentPath": "/tmp"},
                     ["System.IO.DirectoryInfo"])
    lines = lines_of(build_blocks([item, other]))
    assert lines[:6] == [
        "",
        "    Directory: /home/me",
        "",
        "UnixMode         User Group         LastWriteTime         Size Name",
        "--------         ---- -----         -------------         ---- ----",
        "-rw-r--r--         me staff        1/2/2024 09:05          123 notes.txt",
    ]
    assert lines[6:9] == ["", "    Directory: /tmp", ""]


def test_file_view_wraps_long_names() -> None:
    item = PSObject({"UnixMode": "-", "Name": "n" * 30}, ["System.IO.FileInfo"])
    lines = lines_of(build_blocks([item]), width=80)
    # Name starts after 10+10+10+16+12 cells and five separators: 63; 17 cells remain.
    assert lines[3].endswith(" " + "n" * 17)
    assert lines[4] == " " * 63 + "n" * 13


def test_process_view_shows_megabytes_and_seconds() -> None:
    proc = PSObject({"Id": 42, "ProcessName": "bash", "CPU": 1.5, "WS": 5 * 1048576,
                     "PM": 1048576 // 2, "SI": 7}, ["System.Diagnostics.Process"])
    lines = lines_of(build_blocks([proc]))
    assert lines[1] == "   PM(M)      WS(M)     CPU(s)      Id  SI ProcessName"
    assert lines[3] == "    0.50       5.00       1.50      42   7 bash"


def test_history_and_command_views() -> None:
    history = PSObject({"Id": 3, "CommandLine": "Get-Job"},
                       ["Microsoft.PowerShell.Commands.HistoryInfo"])
    assert lines_of(build_blocks([history]))[1:4] == ["  Id CommandLine", "  -- -----------",
                                                      "   3 Get-Job"]
    alias = PSObject({"CommandType": "Alias", "Name": "gjb", "DisplayName": "gjb -> Get-Job",
                      "Version": "", "Source": ""},
                     ["System.Management.Automation.AliasInfo",
                      "System.Management.Automation.CommandInfo"])
    lines = lines_of(build_blocks([alias]))
    assert lines[1].split() == ["CommandType", "Name", "Version", "Source"]
    assert lines[3].rstrip() == "Alias           gjb -> Get-Job"


def test_registered_list_view_is_used_by_default() -> None:
    views = builtin_views()
    views.register("Test.Formatting.ListOnly", ListView((("Label", "a"), ("Other", "b"))))
    obj = PSObject({"a": 1, "b": 2, "c": 3}, ["Test.Formatting.ListOnly"])
    assert build_blocks([obj], views=views) == [ListBlock(((("Label", "1"), ("Other", "2")),))]


def test_registered_view_column_may_compute_its_value() -> None:
    views = builtin_views()
    views.register("Test.Formatting.Computed",
                   TableView((("Twice", lambda o: cast(PSObject, o).get("n") * 2, 6, "right"),)))  # type: ignore[operator]
    obj = PSObject({"n": 4}, ["Test.Formatting.Computed"])
    assert lines_of(build_blocks([obj], views=views))[3] == "     8"


def test_a_view_registered_in_one_runspace_is_not_seen_by_another() -> None:
    from tests.harness import new_runspace

    first, second = new_runspace(), new_runspace()
    first.session.registry.views.register("Test.Formatting.Private",
                                          ListView((("Only", "a"),)))
    obj = PSObject({"a": 1, "b": 2}, ["Test.Formatting.Private"])
    assert first.session.registry.views.find(obj) is not None
    assert second.session.registry.views.find(obj) is None
    assert builtin_views().find(obj) is None


# --- OutDefault --------------------------------------------------------------------------------


class Recorder:
    """Collects what OutDefault emits, one list per emit call."""

    def __init__(self) -> None:
        self.calls: list[list[Block]] = []

    def __call__(self, blocks: list[Block]) -> None:
        self.calls.append(blocks)

    @property
    def blocks(self) -> list[Block]:
        return [b for call in self.calls for b in call]

    def text(self) -> str:
        return "".join(render_text(call) for call in self.calls)


def test_out_default_emits_scalars_at_once() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add("hello")
    assert rec.blocks == [TextBlock(("hello",))]
    out.add(None)
    assert len(rec.calls) == 1


def test_out_default_buffers_objects_of_one_shape_until_flush() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add(PSObject({"a": 1}))
    out.add(PSObject({"a": 22}))
    assert rec.calls == []
    out.flush()
    assert rec.blocks == build_blocks([PSObject({"a": 1}), PSObject({"a": 22})])


def test_out_default_emits_the_buffer_when_the_shape_changes() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add(PSObject({"a": 1}))
    out.add(PSObject({"b": 2}))
    assert len(rec.blocks) == 1 and cast(TableBlock, rec.blocks[0]).rows == (("1",),)
    out.add("text")
    assert [type(b).__name__ for b in rec.blocks] == ["TableBlock", "TableBlock", "TextBlock"]


def test_out_default_streams_job_rows_with_the_header_only_once() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add(FakeJob(1, "a"))
    assert len(rec.blocks) == 1
    head = cast(TableBlock, rec.blocks[0])
    assert not head.hide_header and not head.trailing_blank
    out.add(FakeJob(2, "b"))
    assert len(rec.blocks) == 2
    body = cast(TableBlock, rec.blocks[1])
    assert body.hide_header and not body.leading_blank and body.rows[0][0] == "2"
    out.flush()
    assert rec.text() == render_text(build_blocks([FakeJob(1, "a"), FakeJob(2, "b")]))


def test_out_default_streamed_text_matches_the_batch_rendering_for_mixed_output() -> None:
    objects: list[object] = [
        FakeJob(1, "a"), FakeJob(2, "b"), "note", FakeJob(3, "c"),
        PSObject({"x": 1}), PSObject({"x": 2}), FakeSession(1, "s"), 3.5,
        ht({"k": "v"}),
    ]
    rec = Recorder()
    out = OutDefault(rec)
    for obj in objects:
        out.add(obj)
    out.flush()
    assert rec.text() == render_text(build_blocks(objects))


def test_out_default_new_job_run_after_text_repeats_the_header() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add(FakeJob(1, "a"))
    out.add("between")
    out.add(FakeJob(2, "b"))
    out.flush()
    assert rec.text().count("PSJobTypeName") == 2


def test_out_default_flush_twice_emits_nothing_more() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add(FakeJob(1, "a"))
    out.flush()
    count = len(rec.calls)
    out.flush()
    assert len(rec.calls) == count


def test_out_default_passes_format_blocks_through_in_order() -> None:
    rec = Recorder()
    out = OutDefault(rec)
    out.add(PSObject({"a": 1}))
    formatted = build_blocks([PSObject({"b": 1})], view="list")
    for block in formatted:
        out.add(block)
    assert [type(b).__name__ for b in rec.blocks] == ["TableBlock", "ListBlock"]
