"""Write-* stream cmdlets, Out-Null/Out-Host/Out-String and Format-Table/Format-List driven
directly: what each writes where, and the text Out-String produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from pjsh.commands.output import (
    FormatList,
    FormatOutput,
    FormatTable,
    OutHost,
    OutNull,
    OutString,
    ProgressRecord,
    WriteDebug,
    WriteError,
    WriteHost,
    WriteInformation,
    WriteOutput,
    WriteProgress,
    WriteVerbose,
    WriteWarning,
    render_objects,
)
from pjsh.runtime.cmdlet import Bound, Cmdlet
from pjsh.runtime.errors import ExceptionInfo, PSRuntimeError, make_error
from pjsh.runtime.formatting import ListBlock, TableBlock, TextBlock
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.values import Hashtable, PSObject
from tests.fakes import FakeContext, fake_session, run_cmdlet
from tests.harness import run, show

ROWS = [PSObject({"Name": "a", "N": 1}), PSObject({"Name": "bb", "N": 22})]


def piped(cls: type[Cmdlet], items: list[object], **params: object) -> FakeContext:
    """Run a cmdlet with ``items`` piped to -InputObject."""
    return run_cmdlet(cls, params=params, pipeline=items, pipeline_param="InputObject")


# ------------------------------------------------------------------------------ Write-Output


def test_write_output_unrolls_collections() -> None:
    assert run_cmdlet(WriteOutput, params={"InputObject": [1, [2, 3]]}).output == [1, [2, 3]]


def test_write_output_no_enumerate_sends_one_object() -> None:
    ctx = run_cmdlet(WriteOutput, params={"InputObject": [1, 2], "NoEnumerate": True})
    assert ctx.output == [[1, 2]]


def test_write_output_scalar_null_and_hashtable_are_single_objects() -> None:
    table = Hashtable({"a": 1})
    assert run_cmdlet(WriteOutput, params={"InputObject": "x"}).output == ["x"]
    assert run_cmdlet(WriteOutput, params={"InputObject": None}).output == [None]
    assert run_cmdlet(WriteOutput, params={"InputObject": table}).output == [table]


# ------------------------------------------------------------------------------ Write-Error


def test_write_error_defaults() -> None:
    ctx = run_cmdlet(WriteError, params={"Message": "Disk is full"})
    assert ctx.output == []
    (record,) = ctx.errors
    assert record.message == "Disk is full"
    assert record.FullyQualifiedErrorId == "Microsoft.PowerShell.Commands.WriteErrorException"
    assert record.CategoryInfo.Category == "NotSpecified"
    assert record.CategoryInfo.Activity == "Write-Error"
    assert record.CategoryInfo.Reason == "WriteErrorException"
    assert record.command == "Write-Error"


def test_write_error_with_id_category_and_target() -> None:
    ctx = run_cmdlet(WriteError, params={"Message": "Bad id", "ErrorId": "BadId",
                                         "Category": "InvalidArgument", "TargetObject": 7,
                                         "CategoryActivity": "Checking"})
    (record,) = ctx.errors
    assert record.FullyQualifiedErrorId == "BadId"
    assert record.CategoryInfo.Category == "InvalidArgument"
    assert record.CategoryInfo.Activity == "Checking"
    assert record.TargetObject == 7


def test_write_error_from_exception() -> None:
    exc = ExceptionInfo("nope", "System.IO.IOException")
    (record,) = run_cmdlet(WriteError, params={"Exception": exc}).errors
    assert record.message == "nope"
    assert record.Exception.TypeName == "System.IO.IOException"
    (record,) = run_cmdlet(WriteError, params={"Exception": exc, "Message": "other"}).errors
    assert record.message == "other"


def test_write_error_record_is_copied_before_overrides() -> None:
    original = make_error("boom", "Boom", "InvalidData")
    (record,) = run_cmdlet(WriteError, params={"ErrorRecord": original,
                                               "CategoryReason": "Why"}).errors
    assert record.message == "boom" and record.FullyQualifiedErrorId == "Boom"
    assert record.CategoryInfo.Reason == "Why"
    assert original.CategoryInfo.Reason == ""


# ------------------------------------------------------------------------------ host and streams


def test_write_host_joins_collections_with_the_separator() -> None:
    ctx = run_cmdlet(WriteHost, params={"Object": [1, [2, 3]], "Separator": ", "})
    assert ctx.streams == [("Host", "1, 2, 3\n")]


def test_write_host_no_newline_and_empty_call() -> None:
    assert run_cmdlet(WriteHost, params={"Object": "x", "NoNewline": True}).streams == \
        [("Host", "x")]
    assert run_cmdlet(WriteHost).streams == [("Host", "\n")]


class ColourContext(FakeContext):
    """A fake context that also records the colours given to write_host."""

    def __init__(self) -> None:
        super().__init__("Write-Host", fake_session(host=MemoryHost()))
        self.colours: list[tuple[str | None, str | None]] = []

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        super().write_host(text, newline, fg, bg)
        self.colours.append((fg, bg))


def test_write_host_passes_colours_to_the_host() -> None:
    ctx = ColourContext()
    values = {p.name: p.default for p in WriteHost.spec.params}
    values.update(Object="hi", ForegroundColor="Green")
    WriteHost(ctx).process(Bound(values, ""))  # type: ignore[arg-type]
    assert ctx.colours == [("Green", None)]
    assert ctx.streams == [("Host", "hi\n")]


def test_message_cmdlets_write_their_streams() -> None:
    assert run_cmdlet(WriteWarning, params={"Message": "w"}).streams == [("Warning", "w")]
    assert run_cmdlet(WriteVerbose, params={"Message": "v"}).streams == [("Verbose", "v")]
    assert run_cmdlet(WriteDebug, params={"Message": "d"}).streams == [("Debug", "d")]
    assert run_cmdlet(WriteInformation, params={"MessageData": 5}).streams == \
        [("Information", 5)]


def test_write_progress_builds_a_progress_record() -> None:
    ctx = run_cmdlet(WriteProgress, params={"Activity": "Copy", "Status": "Half",
                                            "PercentComplete": 50, "Id": 2})
    ((stream, record),) = ctx.streams
    assert stream == "Progress"
    assert record == ProgressRecord(ActivityId=2, Activity="Copy", StatusDescription="Half",
                                    PercentComplete=50)
    ctx = run_cmdlet(WriteProgress, params={"Activity": "Copy", "Completed": True})
    record = ctx.streams[0][1]
    assert isinstance(record, ProgressRecord)
    assert record.RecordType == "Completed" and record.StatusDescription == "Processing"


# ------------------------------------------------------------------------------ Out-*


def test_out_null_discards_everything() -> None:
    ctx = piped(OutNull, [1, "x", ROWS[0]])
    assert ctx.output == [] and ctx.errors == [] and ctx.streams == []


def test_out_string_of_a_scalar_ends_with_a_newline() -> None:
    assert piped(OutString, ["hello"]).output == ["hello\n"]


def test_out_string_of_nothing_is_empty() -> None:
    assert piped(OutString, []).output == [""]


def test_out_string_renders_a_table_like_the_host() -> None:
    (text,) = piped(OutString, ROWS).output
    assert text == "\nName  N\n----  -\na     1\nbb   22\n\n"


def test_out_string_stream_writes_one_string_per_line() -> None:
    out = piped(OutString, ["x\ny", *ROWS], Stream=True).output
    assert out == ["x", "y", "", "Name  N", "----  -", "a     1", "bb   22", ""]


def test_out_string_width_cuts_long_values() -> None:
    long = PSObject({"Text": "z" * 50})
    (text,) = piped(OutString, [long], Width=20).output
    assert max(len(line) for line in text.split("\n")) <= 20
    assert "…" in text


def test_out_string_no_newline() -> None:
    assert piped(OutString, ["a", "b"], NoNewline=True).output == ["ab"]


def test_out_host_shows_formatted_output_on_the_host() -> None:
    host = MemoryHost()
    ctx = run_cmdlet(OutHost, pipeline=["hi", *ROWS], pipeline_param="InputObject",
                     session=fake_session(host=host))
    assert ctx.output == []
    assert host.output == "hi\n\nName  N\n----  -\na     1\nbb   22\n\n"


# ------------------------------------------------------------------------------ Format-*


def test_format_table_emits_one_format_output_with_a_table() -> None:
    out = piped(FormatTable, ROWS, Property=["N"]).output
    assert len(out) == 1 and isinstance(out[0], FormatOutput)
    (block,) = out[0].blocks
    assert isinstance(block, TableBlock)
    assert [c.label for c in block.columns] == ["N"]
    assert block.rows == (("1",), ("22",))


def test_format_table_hide_headers_autosize_wrap() -> None:
    out = piped(FormatTable, ROWS, HideTableHeaders=True, AutoSize=True, Wrap=True).output
    (block,) = out[0].blocks
    assert isinstance(block, TableBlock) and block.hide_header and block.wrap


def test_format_list_emits_list_entries() -> None:
    (fo,) = piped(FormatList, ROWS, Property=["Name"]).output
    (block,) = fo.blocks
    assert isinstance(block, ListBlock)
    assert block.entries == ((("Name", "a"),), (("Name", "bb"),))


def test_format_output_is_the_list_of_its_blocks() -> None:
    (fo,) = piped(FormatList, ROWS).output
    assert list(fo) == fo.blocks and len(fo) == 1


def test_format_without_input_outputs_nothing() -> None:
    assert piped(FormatTable, []).output == []


def test_format_bad_calculated_property_is_terminating() -> None:
    with pytest.raises(PSRuntimeError):
        piped(FormatTable, ROWS, Property=[Hashtable({"Bogus": 1})])


def test_out_string_renders_format_output_blocks_as_they_are() -> None:
    (fo,) = piped(FormatList, ROWS[:1]).output
    (text,) = piped(OutString, [fo]).output
    assert text == "\nName : a\nN    : 1\n\n"
    assert render_objects([fo], 80) == text


def test_format_output_passes_through_another_format_command() -> None:
    (fo,) = piped(FormatList, ROWS[:1]).output
    (again,) = piped(FormatTable, [fo, "x"]).output
    assert isinstance(again.blocks[0], ListBlock)
    assert again.blocks[-1] == TextBlock(("x",))


# ------------------------------------------------------------------------------ through the engine


def test_engine_write_output_binds_remaining_arguments() -> None:
    assert run("Write-Output 1 2 3").output == [1, 2, 3]
    assert run("echo -NoEnumerate 1,2 | Measure-Object | % Count").output == [1]


def test_engine_write_error_is_non_terminating() -> None:
    result = run('Write-Error boom; "after"')
    assert result.output == ["after"]
    assert [e.describe() for e in result.errors] == ["Write-Error: boom"]


def test_engine_write_host_goes_to_the_host_not_the_pipeline() -> None:
    result = run('Write-Host a b -Separator ","')
    assert result.output == [] and result.text == "a,b\n"


def test_engine_warning_stream() -> None:
    assert ("Warning", "w") in run("Write-Warning w").host.streams


def test_engine_format_table_calculated_column_renders_through_out_string() -> None:
    result = run('[pscustomobject]@{a=2} | Format-Table @{L="Double"; E={$_.a * 2}} | Out-String')
    assert result.output == ["\nDouble\n------\n     4\n\n"]


def test_engine_format_list_shows_on_the_host() -> None:
    assert show("[pscustomobject]@{a=1} | Format-List").text == "\na : 1\n\n"


def test_engine_out_string_stream_feeds_the_next_command() -> None:
    assert run('1..3 | Out-String -Stream | % { "[$_]" }').output == ["[1]", "[2]", "[3]"]


def test_engine_format_output_renders_in_files(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    run(f"[pscustomobject]@{{a=1}} | Format-Table > '{target}'")
    assert target.read_text() == "\na\n-\n1\n\n"
    run(f"[pscustomobject]@{{a=1}} | Format-List | Out-File '{target}'")
    assert target.read_text() == "\na : 1\n\n"


def test_engine_captured_format_output_shows_like_the_original() -> None:
    assert show("$x = [pscustomobject]@{a=1} | Format-List; $x").text == "\na : 1\n\n"


# --- Tee-Object ------------------------------------------------------------------------------


def test_tee_object_passes_objects_on_and_writes_their_text(tmp_path: Path) -> None:
    r = run("1..3 | Tee-Object out.txt | ForEach-Object { $_ * 10 }", cwd=str(tmp_path))
    assert r.output == [10, 20, 30]
    assert (tmp_path / "out.txt").read_text() == "1\n2\n3\n"


def test_tee_object_writes_objects_formatted_like_out_file(tmp_path: Path) -> None:
    run("[pscustomobject]@{A=1; B='x'} | Tee-Object t.txt | Out-Null", cwd=str(tmp_path))
    run("[pscustomobject]@{A=1; B='x'} | Out-File o.txt", cwd=str(tmp_path))
    assert (tmp_path / "t.txt").read_text() == (tmp_path / "o.txt").read_text()


def test_tee_object_replaces_the_file_unless_append(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("old\n")
    run("'a' | Tee-Object t.txt | Out-Null", cwd=str(tmp_path))
    assert (tmp_path / "t.txt").read_text() == "a\n"
    run("'b' | Tee-Object -FilePath t.txt -Append | Out-Null", cwd=str(tmp_path))
    assert (tmp_path / "t.txt").read_text() == "a\nb\n"


def test_tee_object_literal_path(tmp_path: Path) -> None:
    run("'z' | Tee-Object -LiteralPath '[t].txt' | Out-Null", cwd=str(tmp_path))
    assert (tmp_path / "[t].txt").read_text() == "z\n"


def test_tee_object_variable_collects_the_objects() -> None:
    r = run("1..3 | Tee-Object -Variable seen | Out-Null; $seen.Count; $seen[2]")
    assert r.output == [3, 3]


def test_tee_object_input_object_is_passed_whole() -> None:
    r = run("Tee-Object -InputObject 1, 2 -Variable v | ForEach-Object Count; $v.Count")
    assert r.output == [2, 1]


def test_tee_object_unwritable_path_is_an_error(tmp_path: Path) -> None:
    r = run("'x' | Tee-Object nodir/x.txt", cwd=str(tmp_path))
    assert r.messages == [f"Could not find a part of the path '{tmp_path / 'nodir/x.txt'}'."]


def test_tee_object_has_no_tee_alias() -> None:
    from pjsh.commands.output import TeeObject

    assert TeeObject.spec.aliases == ()
