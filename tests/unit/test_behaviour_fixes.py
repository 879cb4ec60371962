"""Behaviours pinned after defects found against pwsh: bareword expansion, deserialized objects'
strings, the session environment through [Environment], nested values in formatting, table
widths, ForEach-Object -Parallel, Format-Table -GroupBy and comment-based help."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pjsh.commands.help import HelpInfo, ParameterHelp, parse_comment_help
from pjsh.commands.location import PathInfo
from pjsh.jobs.model import Job
from pjsh.lang import ast
from pjsh.lang.parser import parse
from pjsh.runtime import serialize
from pjsh.runtime.convert import to_string
from pjsh.runtime.formatting import Column, TableBlock, render_text
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.values import PSObject, type_names
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


# ------------------------------------------------------------ ForEach-Object -Parallel

def test_foreach_parallel_runs_the_block_per_item_with_dollar_under_and_using() -> None:
    assert sorted(values("$k = 10; 1..4 | ForEach-Object -Parallel { $_ * $using:k }")) == [
        10, 20, 30, 40]


def test_foreach_parallel_outputs_in_completion_order(tmp_path: Path) -> None:
    # Item 1 finishes only after item 2 has written its output and its signal file.
    out = values(f"$d = '{tmp_path}'; 1..2 | ForEach-Object -Parallel {{ "
                 "if ($_ -eq 1) { while (-not (Test-Path \"$using:d/two\")) "
                 "{ Start-Sleep -Milliseconds 5 }; 'one' } "
                 "else { 'two'; $null = New-Item \"$using:d/two\" } }")
    assert out == ["two", "one"]


def test_foreach_parallel_throttle_limit_one_runs_the_items_one_after_another(
        tmp_path: Path) -> None:
    log = tmp_path / "log"
    values(f"1..3 | ForEach-Object -Parallel {{ Add-Content '{log}' \"start $_\"; "
           f"Add-Content '{log}' \"end $_\" }} -ThrottleLimit 1")
    assert log.read_text().split("\n")[:-1] == [
        "start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]


def test_foreach_parallel_errors_reach_the_error_stream() -> None:
    r = run("1..3 | ForEach-Object -Parallel { if ($_ -eq 2) { Write-Error \"bad $_\" } "
            "elseif ($_ -eq 3) { throw 'boom' } else { $_ } }")
    assert r.output == [1]
    assert sorted(r.messages) == ["bad 2", "boom"]


def test_foreach_parallel_as_job_returns_one_job_with_a_child_per_item() -> None:
    r = run("$j = 1..3 | ForEach-Object -Parallel { $_ * 2 } -AsJob; $j; "
            "$j.ChildJobs.Count; $j | Receive-Job -Wait | Sort-Object; $j.State; (Get-Job).Count")
    assert r.messages == []
    job, count, *rest = r.output
    assert isinstance(job, Job)
    assert type_names(job)[0] == "System.Management.Automation.PSTasks.PSTaskJob"
    assert (job.PSJobTypeName, job.Location) == ("PSTaskJob", "PowerShell")
    assert count == 3
    assert rest == [2, 4, 6, "Completed", 1]


def test_foreach_parallel_validates_throttle_limit_and_timeout_with_as_job() -> None:
    r = run("1 | ForEach-Object -Parallel { $_ } -ThrottleLimit 0")
    assert r.errors[0].FullyQualifiedErrorId.startswith("ParameterArgumentValidationError")
    r = run("1 | ForEach-Object -Parallel { $_ } -TimeoutSeconds 5 -AsJob")
    assert r.messages == ["The 'TimeoutSeconds' parameter cannot be used with the 'AsJob' "
                          "parameter."]


def test_foreach_parallel_stops_its_tasks_when_the_pipeline_stops(tmp_path: Path) -> None:
    log = tmp_path / "log"
    out = values(f"1..50 | ForEach-Object -Parallel {{ Add-Content '{log}' $_; "
                 "Start-Sleep -Milliseconds 100; $_ } -ThrottleLimit 2 | Select-Object -First 1")
    assert len(out) == 1
    assert len(log.read_text().split()) < 50  # the queued items never ran


@pytest.mark.slow
def test_foreach_parallel_timeout_stops_the_running_blocks() -> None:
    started = time.monotonic()
    assert values("1..2 | ForEach-Object -Parallel { Start-Sleep 30; 'late' } "
                  "-TimeoutSeconds 1") == []
    assert time.monotonic() - started < 15


# ------------------------------------------------------------ Format-Table -GroupBy

_GROUP_INPUT = ("$a = @([pscustomobject]@{N='a'; S='x'}, [pscustomobject]@{N='b'; S='x'}, "
                "[pscustomobject]@{N='c'; S='y'}, [pscustomobject]@{N='d'; S='x'}); ")


def test_format_table_group_by_makes_a_table_per_run_of_equal_values_unsorted() -> None:
    r = show(_GROUP_INPUT + "$a | Format-Table -GroupBy S")
    assert r.text == ("\n   S: x\n\nN S\n- -\na x\nb x\n"
                      "\n   S: y\n\nN S\n- -\nc y\n"
                      "\n   S: x\n\nN S\n- -\nd x\n\n")


def test_format_table_group_by_a_script_block_or_calculated_property() -> None:
    r = show(_GROUP_INPUT + "$a | Format-Table N -GroupBy { $_.N -lt 'c' }")
    assert r.text == ("\n   $_.N -lt 'c': True\n\nN\n-\na\nb\n"
                      "\n   $_.N -lt 'c': False\n\nN\n-\nc\nd\n\n")
    r = show(_GROUP_INPUT + "$a | Format-Table N -GroupBy @{Label='Kind'; Expression={$_.S}}")
    assert [line for line in r.text.splitlines() if "Kind" in line] == [
        "   Kind: x", "   Kind: y", "   Kind: x"]


def test_format_table_group_by_applies_to_default_views_too() -> None:
    r = show("$j = Start-ThreadJob { 1 }; $null = $j | Wait-Job; "
             "Get-Job | Format-Table -GroupBy State")
    lines = r.text.splitlines()
    assert lines[1] == "   State: Completed"
    assert lines[3].startswith("Id     Name")


# ------------------------------------------------------------ comment-based help

_HELPED = """<#
.SYNOPSIS
    Greets someone.
.DESCRIPTION
    Writes a greeting
    for the name given.
.PARAMETER Name
    Who to greet.
.EXAMPLE
    Get-Greeting -Name World

    Writes Hello, World.
#>
function Get-Greeting {
    param([string]$Name = 'you')
    "Hello, $Name"
}
"""


def _function_help(src: str) -> str | None:
    r = parse(src)
    assert r.body is not None
    stmt = r.body.statements[-1]
    assert isinstance(stmt, ast.FunctionDefinition)
    return stmt.help_comment


def test_the_parser_keeps_the_help_comment_before_the_function_keyword() -> None:
    text = _function_help(_HELPED)
    assert text is not None and ".SYNOPSIS" in text and "Who to greet." in text


def test_the_parser_keeps_help_at_the_start_or_end_of_the_body() -> None:
    lines = _function_help("function f {\n  # .SYNOPSIS\n  # Inner.\n  param($x)\n}")
    assert lines == " .SYNOPSIS\n Inner."
    start = _function_help("function f {\n  <# .SYNOPSIS\n  Inner. #>\n  param($x) }")
    assert start is not None and "Inner." in start
    end = _function_help("function f { 1\n  # .DESCRIPTION\n  # At the end.\n}")
    assert end is not None and "At the end." in end


def test_a_plain_comment_or_one_too_far_above_is_no_help() -> None:
    assert _function_help("# just a note\nfunction f { 1 }") is None
    assert _function_help("<# .SYNOPSIS\nx #>\n\n\nfunction f { 1 }") is None


def _help_lines(text: str) -> str:
    info = values(text)[0]
    assert isinstance(info, HelpInfo)
    return "\n".join(info.lines)


def test_get_help_shows_the_comment_help_of_a_function() -> None:
    text = _help_lines(_HELPED + "Get-Help Get-Greeting")
    assert "SYNOPSIS\n    Greets someone." in text
    assert "DESCRIPTION\n    Writes a greeting for the name given." in text
    assert 'To see the examples, type: "Get-Help Get-Greeting -Examples".' in text


def test_get_help_full_examples_and_parameter_of_a_commented_function() -> None:
    full = _help_lines(_HELPED + "Get-Help Get-Greeting -Full")
    assert "    -Name <string>\n        Who to greet." in full
    assert "    PS > Get-Greeting -Name World\n\n    Writes Hello, World." in full
    examples = _help_lines(_HELPED + "Get-Help Get-Greeting -Examples")
    assert "    PS > Get-Greeting -Name World" in examples.splitlines()
    param = values(_HELPED + "Get-Help Get-Greeting -Parameter Name")[0]
    assert isinstance(param, ParameterHelp)
    assert param.Description == "Who to greet."


def test_comment_help_is_read_as_pwsh_reads_it() -> None:
    assert parse_comment_help("\n.SYNOPSIS Greets\n") is None  # no argument on .SYNOPSIS
    assert parse_comment_help("text outside\n.SYNOPSIS\nx") is None
    assert parse_comment_help(".BOGUS\nx") is None
    got = parse_comment_help(".EXAMPLE\n  PS C:\\> f -x 1\n\n  Remarks here.\n.PARAMETER x\n  An x.")
    assert got is not None
    assert got.examples == (("f -x 1", "Remarks here."),)
    assert got.parameters == {"X": "An x."}
