"""Behaviours pinned after defects found against pwsh: bareword expansion, deserialized objects'
strings, the session environment through [Environment], nested values in formatting, table
widths, ForEach-Object -Parallel, Format-Table -GroupBy and comment-based help."""

from __future__ import annotations

import os
from pathlib import Path

from pjsh.commands.location import PathInfo
from pjsh.lang import ast
from pjsh.lang.parser import parse
from pjsh.runtime import serialize
from pjsh.runtime.convert import to_string
from pjsh.runtime.formatting import Column, TableBlock, render_text
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.values import PSObject
from tests.harness import run, show


def values(text: str) -> list[object]:
    """Run text, insist on no errors, and return the output objects."""
    r = run(text)
    assert r.errors == [], r.messages
    return r.output


# ------------------------------------------------------------ barewords with variables

def test_a_variable_after_a_bareword_prefix_keeps_the_suffix_as_text() -> None:
    assert values("$k = 3; Write-Output MyVm$k.txt") == ["MyVm3.txt"]


def test_a_bareword_suffix_after_a_variable_is_not_member_access() -> None:
    r = parse("echo a$k.b")
    assert r.body is not None
    stmt = r.body.statements[0]
    assert isinstance(stmt, ast.PipelineChain)
    cmd = stmt.first.elements[0]
    assert isinstance(cmd, ast.Command)
    arg = cmd.elements[0]
    assert isinstance(arg, ast.CommandArgument)
    assert isinstance(arg.value, ast.ExpandableString)
    assert arg.value.parts[0] == "a" and isinstance(arg.value.parts[1], ast.Variable)
    assert arg.value.parts[2] == ".b"


def test_an_argument_starting_with_a_variable_still_takes_member_access() -> None:
    assert values("$s = 'abcd'; Write-Output $s.Length") == [4]


def test_an_indexer_after_a_bareword_prefix_stays_text() -> None:
    assert values("$s = 'abc'; Write-Output x$s[0]") == ["xabc[0]"]


def test_set_content_in_a_loop_writes_one_file_per_suffixed_name(tmp_path: Path) -> None:
    values(f"Set-Location '{tmp_path}'; "
           "for ($k = 1; $k -le 3; $k++) { Set-Content -Path MyVm$k.txt -Value $k }")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MyVm1.txt", "MyVm2.txt", "MyVm3.txt"]
    assert (tmp_path / "MyVm2.txt").read_text().strip() == "2"


# ------------------------------------------------------------ deserialized objects' strings

def test_a_deserialized_object_keeps_the_string_form_of_the_original() -> None:
    original = PathInfo("/tmp")
    back = serialize.loads(serialize.dumps(original), deserialized=True)
    assert isinstance(back, PSObject)
    assert back.type_names[0] == "Deserialized.System.Management.Automation.PathInfo"
    assert to_string(back) == "/tmp"
    # It crosses a second boundary with the same text.
    assert to_string(serialize.loads(serialize.dumps(back))) == "/tmp"


def test_a_deserialized_property_bag_still_prints_its_properties() -> None:
    bag = PSObject({"a": 1, "b": "x"})
    data = serialize.encode(bag)["d"]
    assert "s" not in data
    assert to_string(serialize.decode(serialize.encode(bag), deserialized=True)) == "@{a=1; b=x}"


def test_a_job_result_in_a_string_is_the_original_string_form(tmp_path: Path) -> None:
    assert values(f"Set-Location '{tmp_path}'; "
                  '"$(Start-ThreadJob { Get-Location } | Wait-Job | Receive-Job)"') == [
        str(tmp_path)]


def test_an_object_without_a_string_form_converts_to_its_type_name() -> None:
    assert values('$j = Start-ThreadJob { 1 }; "$j"; $null = $j | Wait-Job') == [
        "ThreadJob.ThreadJob"]


# ------------------------------------------------------------ [Environment] and $env:

def test_environment_get_variable_reads_the_session_environment() -> None:
    assert values("$env:PJSH_ONLY_IN_SESSION = 'yes'; "
                  "[Environment]::GetEnvironmentVariable('PJSH_ONLY_IN_SESSION')") == ["yes"]
    assert "PJSH_ONLY_IN_SESSION" not in os.environ


def test_environment_set_variable_writes_the_session_environment() -> None:
    r = run("[Environment]::SetEnvironmentVariable('PJSH_SET_HERE', 'v1'); $env:PJSH_SET_HERE; "
            "[Environment]::SetEnvironmentVariable('PJSH_SET_HERE', ''); $null -eq $env:PJSH_SET_HERE")
    assert (r.output, r.messages) == (["v1", True], [])
    assert "PJSH_SET_HERE" not in os.environ


def test_environment_get_variables_lists_the_session_environment() -> None:
    assert values("$env:PJSH_LISTED = 'x'; "
                  "[Environment]::GetEnvironmentVariables()['PJSH_LISTED']") == ["x"]


def test_environment_user_and_machine_variables_are_null_on_unix() -> None:
    assert values("$env:PJSH_T = 'x'; $null -eq "
                  "[Environment]::GetEnvironmentVariable('PJSH_T', 'User')") == [True]


# ------------------------------------------------------------ nested values in formatting

def test_objects_in_a_collection_cell_show_their_name_property() -> None:
    r = show("[pscustomobject]@{Kids = @([pscustomobject]@{Id = 7; Name = 'Job7'}, "
             "[pscustomobject]@{Id = 8})} | Format-List")
    assert r.text.strip() == "Kids : {Job7, 8}"


def test_format_list_shows_child_jobs_by_name() -> None:
    r = show("$j = Start-Job { 1 }; $null = $j | Wait-Job; $j | Format-List ChildJobs, Id")
    lines = r.text.strip().splitlines()
    assert lines[0] == "ChildJobs : {Job2}"


def test_a_job_past_the_json_depth_is_its_type_name_not_a_python_repr() -> None:
    out = values("$j = Start-Job { 1 }; $null = $j | Wait-Job; "
                 "@{j = @{k = $j}} | ConvertTo-Json -Depth 1 -WarningAction Ignore")
    assert out == ['{\n  "j": {\n    "k": "System.Management.Automation.PSRemotingJob"\n  }\n}']


# ------------------------------------------------------------ table widths

def test_the_job_table_command_column_takes_the_rest_of_a_wide_terminal() -> None:
    r = show("$j = Start-ThreadJob { 'a command text well past twenty-five cells' }; "
             "$null = $j | Wait-Job")
    rs = r.runspace
    assert rs is not None
    host = rs.session.host
    assert isinstance(host, MemoryHost)
    host.columns = 160
    row = show("Get-Job", rs).text.splitlines()[3]
    assert row[90:] == " 'a command text well past twenty-five cells'"


def test_a_right_aligned_last_column_keeps_its_width() -> None:
    text = render_text([TableBlock((Column("A", 3), Column("N", 4, "right")),
                                   (("x", "12"),))], 80)
    assert text.splitlines()[3] == "x     12"
