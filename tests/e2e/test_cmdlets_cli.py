"""The everyday cmdlets through the installed pjsh: Get-Member, Select-String, Tee-Object,
Measure-Command, the *-Variable and *-Alias cmdlets, their help and Get-Command entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import command, script

NEW_CMDLETS = ("Get-Member", "Select-String", "Tee-Object", "Measure-Command", "Get-Variable",
               "Set-Variable", "New-Variable", "Remove-Variable", "Clear-Variable", "Get-Alias",
               "Set-Alias", "New-Alias")


def test_get_member_prints_type_name_header_and_member_table() -> None:
    r = command("'abc' | gm -MemberType Property")
    assert (r.stdout, r.stderr, r.returncode) == (
        "\n   TypeName: System.String\n\nName   MemberType Definition\n"
        "----   ---------- ----------\nLength Property   int Length {get;}\n\n", "", 0)


def test_get_member_without_input_reports_pwshs_error() -> None:
    r = command("Get-Member")
    assert "You must specify an object for the Get-Member cmdlet." in r.stderr


def test_select_string_prints_file_line_number_and_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("alpha\nbeta TODO\ngamma\n")
    r = command("Select-String TODO *.txt", cwd=tmp_path)
    assert (r.stdout, r.stderr, r.returncode) == ("\nnotes.txt:2:beta TODO\n\n", "", 0)


def test_select_string_filters_piped_native_output() -> None:
    r = command("printf 'one\\ntwo\\nthree\\n' | sls '^t' -Raw")
    assert (r.stdout, r.stderr) == ("two\nthree\n", "")


def test_tee_object_writes_the_file_and_passes_objects_on(tmp_path: Path) -> None:
    r = command("1..3 | Tee-Object out.txt | Measure-Object | ForEach-Object Count",
                cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("3\n", "")
    assert (tmp_path / "out.txt").read_text() == "1\n2\n3\n"


def test_tee_is_the_unix_program_not_tee_object(tmp_path: Path) -> None:
    r = command("'x' | tee t.txt", cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("x\n", "")
    assert (tmp_path / "t.txt").read_text() == "x\n"


def test_measure_command_outputs_a_timespan() -> None:
    r = command("$t = Measure-Command { 'not shown' }; $t.GetType().FullName; "
                "$t.TotalMilliseconds -ge 0")
    assert (r.stdout, r.stderr) == ("System.TimeSpan\nTrue\n", "")


def test_variable_cmdlets_in_a_script() -> None:
    r = script("Set-Variable x 5\nNew-Variable y 6\n$x + $y\nClear-Variable x\n"
               "\"[$x]\"\nRemove-Variable y\nGet-Variable y\n")
    assert r.stdout == "11\n[]\n"
    assert "Cannot find a variable with the name 'y'." in r.stderr


def test_get_variable_prints_name_value_table() -> None:
    r = command("$answer = 42; Get-Variable answer")
    assert r.stdout == ("\nName                           Value\n----                           "
                        "-----\nanswer                         42\n\n")


def test_alias_cmdlets_define_and_list_aliases() -> None:
    r = command("Set-Alias say Write-Output; say hi; New-Alias say Get-Date; Get-Alias say")
    assert "hi\n" in r.stdout
    assert "Alias           say -> Write-Output" in r.stdout
    assert "an alias with the name 'say' already exists" in r.stderr


@pytest.mark.parametrize("name", NEW_CMDLETS)
def test_new_cmdlets_have_help_and_appear_in_get_command(name: str) -> None:
    r = command(f"Get-Help {name}; (Get-Command {name}).CommandType")
    assert r.stderr == ""
    assert f"NAME\n    {name}\n" in r.stdout
    assert "SYNOPSIS" in r.stdout and "SYNTAX" in r.stdout
    assert r.stdout.endswith("Cmdlet\n")
