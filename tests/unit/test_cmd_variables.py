"""Get/Set/New/Remove/Clear-Variable and Get/Set/New-Alias through the engine: scopes,
wildcards, pipeline values, PSVariable/AliasInfo output and pwsh's error messages."""

from __future__ import annotations

from pjsh.commands.commandinfo import AliasInfo
from pjsh.commands.variables import PSVariable
from tests.harness import run, show

# --- Get-Variable ----------------------------------------------------------------------------


def test_get_variable_outputs_psvariable_objects_with_name_and_value() -> None:
    r = run("$answer = 42; Get-Variable answer")
    assert len(r.output) == 1
    var = r.output[0]
    assert isinstance(var, PSVariable)
    assert (var.Name, var.Value) == ("answer", 42)


def test_get_variable_shows_pwsh_name_value_table() -> None:
    text = show("$answer = 42; Get-Variable answer").text
    assert text.splitlines()[1:4] == ["Name                           Value",
                                      "----                           -----",
                                      "answer                         42"]


def test_get_variable_name_wildcards_sorted_by_name() -> None:
    r = run("$zb = 2; $za = 1; $y = 3; Get-Variable z* | ForEach-Object Name")
    assert r.output == ["za", "zb"]


def test_get_variable_value_only_outputs_values() -> None:
    assert run("$v = 'x'; gv v -ValueOnly").output == ["x"]


def test_get_variable_exclude_and_include_filter_names() -> None:
    r = run("$qa = 1; $qb = 2; $qc = 3; (gv q* -Exclude qb).Name; (gv q* -Include qc).Name")
    assert r.output == ["qa", "qc", "qc"]


def test_get_variable_missing_name_is_variable_not_found() -> None:
    r = run("Get-Variable nosuchvar")
    assert r.messages == ["Cannot find a variable with the name 'nosuchvar'."]
    assert r.errors[0].FullyQualifiedErrorId == (
        "VariableNotFound,Microsoft.PowerShell.Commands.GetVariableCommand")


def test_get_variable_wildcard_matching_nothing_is_not_an_error() -> None:
    r = run("Get-Variable nosuch*")
    assert (r.output, r.errors) == ([], [])


def test_get_variable_lists_automatic_variables() -> None:
    names = run("(Get-Variable).Name").output
    assert {"true", "false", "null", "PID", "HOME"} <= set(names)


def test_get_variable_scope_limits_to_that_scope() -> None:
    r = run("$outer = 1; & { $inner = 2; (gv -Scope Local).Name; (gv -Scope 1 outer).Value }")
    assert "inner" in r.output and "outer" not in r.output
    assert r.output[-1] == 1


def test_get_variable_scope_number_too_large_is_an_error() -> None:
    r = run("Get-Variable x -Scope 99")
    assert r.messages[0].startswith(
        "The scope number '99' exceeds the number of active scopes.")


# --- Set-Variable / New-Variable -------------------------------------------------------------


def test_set_variable_assigns_in_the_current_scope() -> None:
    assert run("Set-Variable -Name x -Value 5; $x").output == [5]


def test_set_variable_aliases_set_and_sv() -> None:
    assert run("set a 1; sv b 2; $a + $b").output == [3]


def test_set_variable_scope_global_from_a_child_scope() -> None:
    assert run("& { Set-Variable g 7 -Scope Global }; $g").output == [7]


def test_set_variable_numeric_scope_sets_the_parent() -> None:
    assert run("& { & { Set-Variable p 3 -Scope 1 }; $p }; $null -eq $p").output == [3, True]


def test_set_variable_piped_values_become_an_array() -> None:
    r = run("1..3 | Set-Variable nums; $nums.Count; $nums[2]")
    assert r.output == [3, 3]


def test_set_variable_passthru_outputs_the_variable() -> None:
    out = run("Set-Variable t 'v' -PassThru").output
    assert [(v.Name, v.Value) for v in out if isinstance(v, PSVariable)] == [("t", "v")]


def test_set_variable_refuses_constants() -> None:
    r = run("Set-Variable true 1")
    assert "Cannot overwrite variable true" in r.messages[0]


def test_new_variable_creates_a_variable() -> None:
    assert run("New-Variable days 7; $days").output == [7]


def test_new_variable_existing_is_variable_already_exists() -> None:
    r = run("$d = 1; New-Variable d 2; $d")
    assert r.messages == ["A variable with name 'd' already exists."]
    assert r.errors[0].FullyQualifiedErrorId == (
        "VariableAlreadyExists,Microsoft.PowerShell.Commands.NewVariableCommand")
    assert r.output == [1]


def test_new_variable_force_overwrites() -> None:
    assert run("$d = 1; nv d 2 -Force; $d").output == [2]


# --- Remove-Variable / Clear-Variable --------------------------------------------------------


def test_remove_variable_deletes_it() -> None:
    r = run("$r = 1; Remove-Variable r; $null -eq $r; @(Get-Variable r -Scope Global "
            "-ErrorAction SilentlyContinue).Count")
    assert r.output == [True, 0]


def test_remove_variable_missing_is_variable_not_found() -> None:
    r = run("Remove-Variable nothere")
    assert r.messages == ["Cannot find a variable with the name 'nothere'."]
    assert r.errors[0].FullyQualifiedErrorId == (
        "VariableNotFound,Microsoft.PowerShell.Commands.RemoveVariableCommand")


def test_remove_variable_wildcards_remove_every_match() -> None:
    r = run("$tmp1 = 1; $tmp2 = 2; rv tmp*; (gv tmp*).Count")
    assert r.output == [0]


def test_remove_variable_from_a_child_scope_removes_the_parent_variable() -> None:
    assert run("$w = 1; & { Remove-Variable w }; $null -eq $w").output == [True]


def test_clear_variable_sets_null_and_keeps_the_variable() -> None:
    r = run("$c = 5; Clear-Variable c; $null -eq $c; (Get-Variable c).Name")
    assert r.output == [True, "c"]


def test_clear_variable_missing_is_variable_not_found() -> None:
    r = run("clv nothere")
    assert r.errors[0].FullyQualifiedErrorId == (
        "VariableNotFound,Microsoft.PowerShell.Commands.ClearVariableCommand")


# --- Aliases ---------------------------------------------------------------------------------


def test_get_alias_outputs_alias_info_shown_as_name_arrow_definition() -> None:
    r = run("Get-Alias gjb")
    assert isinstance(r.output[0], AliasInfo)
    assert r.output[0].Definition == "Get-Job"
    text = show("Get-Alias gjb").text
    assert "Alias           gjb -> Get-Job" in text
    assert "CommandType     Name" in text


def test_get_alias_wildcards_sorted_by_name() -> None:
    names = run("(Get-Alias g*).Name").output
    assert names == sorted(names, key=str.lower)
    assert "gal" in names and "gv" in names


def test_get_alias_definition_finds_aliases_of_a_command() -> None:
    assert run("(Get-Alias -Definition Get-Variable).Name").output == ["gv"]


def test_get_alias_missing_name_is_an_error() -> None:
    r = run("Get-Alias nosuchalias")
    assert r.messages == ["This command cannot find a matching alias because an alias with the "
                          "name 'nosuchalias' does not exist."]


def test_set_alias_defines_an_alias_the_shell_runs() -> None:
    assert run("Set-Alias say Write-Output; say hi").output == ["hi"]


def test_set_alias_replaces_an_existing_alias() -> None:
    assert run("sal say Write-Output; sal say Get-Date; (Get-Alias say).Definition").output == [
        "Get-Date"]


def test_set_alias_passthru_outputs_alias_info() -> None:
    out = run("Set-Alias ll Get-ChildItem -PassThru").output
    assert [(a.Name, a.Definition) for a in out if isinstance(a, AliasInfo)] == [
        ("ll", "Get-ChildItem")]


def test_new_alias_defines_an_alias() -> None:
    assert run("New-Alias say Write-Output; say x").output == ["x"]


def test_new_alias_existing_is_alias_already_exists() -> None:
    r = run("New-Alias gjb Get-Date")
    assert r.messages == ["The alias is not allowed, because an alias with the name 'gjb' "
                          "already exists."]
    assert r.errors[0].FullyQualifiedErrorId == (
        "AliasAlreadyExists,Microsoft.PowerShell.Commands.NewAliasCommand")


def test_new_alias_force_replaces() -> None:
    r = run("nal say Write-Output; nal say Get-Date -Force; (Get-Alias say).Definition")
    assert (r.output, r.errors) == (["Get-Date"], [])


def test_no_alias_shadows_a_unix_program() -> None:
    r = run("(Get-Alias -Definition Tee-Object, Select-String, Measure-Command, Get-Member).Name")
    assert sorted(r.output) == ["gm", "sls"]
