"""Internal errors the grammar fuzzer (tests/fuzz) found, each pinned as the PowerShell
behaviour that replaces it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pjsh.lang.parser import parse
from tests.harness import run


def test_lastexitcode_holds_any_assigned_value_and_reads_it_back() -> None:
    r = run("$LASTEXITCODE = @(); $LASTEXITCODE.GetType().Name; $LASTEXITCODE = 'x'; "
            "$LASTEXITCODE; $LASTEXITCODE = 7; $LASTEXITCODE + 1")
    assert r.errors == []
    assert r.output == ["Object[]", "x", 8]


def test_lastexitcode_assigned_null_reads_null() -> None:
    r = run("$LASTEXITCODE = $null; $null -eq $LASTEXITCODE")
    assert r.errors == [] and r.output == [True]


@pytest.mark.parametrize("text", ["'a' -like '[z-a]'", "Get-Variable '[z-a]'",
                                  "Get-ChildItem '[z-a]'", "'a' -like '[]'"])
def test_an_invalid_wildcard_range_is_a_wildcard_pattern_error(text: str) -> None:
    r = run(f"try {{ {text} }} catch {{ $_.FullyQualifiedErrorId; $_.Exception.Message }}")
    assert r.output == ["WildcardPattern_Invalid",
                        "The specified wildcard character pattern is not valid: "
                        + text.rsplit(" ", 1)[-1].strip("'")]


def test_wildcard_brackets_hold_only_literal_members() -> None:
    r = run("'b' -like '[a-c]'; '\\' -like '[\\]'; '-' -like '[a-]'; 'd' -like '[a-c]'; "
            "']' -like '[`]]'")
    assert r.errors == [] and r.output == [True, True, True, False, True]


def test_a_trailing_backtick_in_a_wildcard_is_literal() -> None:
    r = run("'a`' -like 'a`'; 'ab' -like 'a`'; Remove-Variable -Name nosuch -Include 'x`' "
            "-ErrorAction Ignore; 'done'")
    assert r.errors == [] and r.output == [True, False, "done"]


def test_start_job_with_an_empty_string_is_a_script_block_binding_error() -> None:
    r = run("Start-Job ''")
    assert r.output == [] and r.messages == [
        'Cannot bind parameter \'ScriptBlock\'. Cannot convert the "" value of type '
        '"System.String" to type "System.Management.Automation.ScriptBlock".']
    assert r.errors[0].FullyQualifiedErrorId.startswith("CannotConvertArgumentNoMessage,")


def test_a_cast_applies_to_a_unary_expression() -> None:
    r = run("[int]-not 0; [bool]!$true; [int]-bnot 5; $x = 3; [int]-$x")
    assert r.errors == [] and r.output == [1, False, -6, -3]


@pytest.mark.parametrize("text", ["-@{a=1}", "$x = -@{a = 1}", "(+@{'a' = 1})"])
def test_a_unary_operator_before_a_hashtable_is_a_runtime_error_not_a_parse_error(
        text: str) -> None:
    r = run(text)
    assert r.output == [] and len(r.errors) == 1
    assert r.messages[0].startswith('Cannot convert the "System.Collections.Hashtable" value')


@pytest.mark.parametrize("text", ["foreach ($v in -@()) { }", "$x = -@()", "-[double]@()",
                                  "+@{}", "[int]--3", "[int] -eq [int]"])
def test_a_unary_minus_before_an_array_or_a_cast_parses_as_an_expression(text: str) -> None:
    result = parse(text)
    assert result.error is None and result.body is not None


def test_a_unary_minus_before_a_cast_negates_the_cast_value() -> None:
    r = run("-[double]'2'; [int] -eq [int]")
    assert r.errors == [] and r.output == [-2.0, True]


def test_select_string_with_an_empty_pattern_array_is_a_binding_error() -> None:
    r = run("Select-String -Pattern @() -InputObject 'a' -NotMatch -AllMatches")
    assert r.output == []
    assert r.messages == ["Cannot bind argument to parameter 'Pattern' because it is an empty "
                          "array."]
    assert r.errors[0].FullyQualifiedErrorId.startswith(
        "ParameterArgumentValidationErrorEmptyArrayNotAllowed,")


@pytest.mark.parametrize("cmdlet", ["Set-Content", "Add-Content"])
def test_as_byte_stream_refuses_a_string_that_is_not_a_byte(cmdlet: str, tmp_path: Path) -> None:
    r = run(f"{cmdlet} o.bin -Value 'abc' -AsByteStream; 'next'", cwd=str(tmp_path))
    assert r.output == ["next"]
    assert r.messages == ['Cannot convert value "abc" to type "System.Byte". Error: "The input '
                          'string \'abc\' was not in a correct format."']


def test_as_byte_stream_writes_numbers_as_bytes(tmp_path: Path) -> None:
    r = run("Set-Content o.bin -Value 65, 66 -AsByteStream", cwd=str(tmp_path))
    assert r.errors == [] and (tmp_path / "o.bin").read_bytes() == b"AB"



def test_start_job_with_a_null_file_path_is_an_error_not_an_internal_one() -> None:
    r = run("Start-Job -FilePath $null")
    assert r.output == [] and len(r.errors) == 1
    assert r.messages == ["Cannot bind argument to parameter 'FilePath' because it is null."]
    assert r.errors[0].FullyQualifiedErrorId.startswith(
        "ParameterArgumentValidationErrorNullNotAllowed,")


@pytest.mark.parametrize(("text", "parameter", "what"), [
    ("Remove-Item -LiteralPath '' -Recurse", "LiteralPath", "an empty string"),
    ("Remove-Item -Path $null", "Path", "null"),
    ("Remove-Item -Path 'x', ''", "Path", "an empty string"),
    ("Get-Content -Path @()", "Path", "an empty array"),
    ("Set-Location -LiteralPath ''", "LiteralPath", "an empty string"),
    ("Set-Alias x ''", "Value", "an empty string"),
])
def test_a_mandatory_text_parameter_refuses_null_and_empty(
        text: str, parameter: str, what: str, tmp_path: Path) -> None:
    # fuzz seed ci:1871: `Remove-Item -LiteralPath '' -Recurse` deleted the current directory.
    (tmp_path / "x").write_text("kept")
    r = run(f"{text}; 'next'", cwd=str(tmp_path))
    assert r.output == ["next"]
    assert r.messages == [f"Cannot bind argument to parameter '{parameter}' because it is {what}."]
    assert (tmp_path / "x").read_text() == "kept"


def test_parameters_that_allow_empty_text_take_it() -> None:
    r = run("Test-Path ''; Write-Warning ''; Write-Error '' -ErrorAction SilentlyContinue; 'next'")
    assert r.output == [False, "next"] and r.messages == []


@pytest.mark.parametrize("text", ["1 | ForEach-Object -TimeoutSeconds 1",
                                  "1 | ForEach-Object -ThrottleLimit 3"])
def test_piped_input_does_not_satisfy_a_missing_mandatory_parameter(text: str) -> None:
    # fuzz seed ci:1382: the stage began in the Parallel set without its -Parallel block.
    r = run(f"{text}; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["Cannot process command because of one or more missing mandatory "
                          "parameters: Parallel."]
    assert r.errors[0].FullyQualifiedErrorId.startswith("MissingMandatoryParameter,")


def test_piped_input_still_binds_a_mandatory_pipeline_parameter() -> None:
    r = run("'a', 'b' | Select-String b | ForEach-Object Line")
    assert r.errors == [] and r.output == ["b"]


@pytest.mark.parametrize(("mode", "pattern"), [("regex", "+\\d+"), ("wildcard", "[z-a]")])
def test_a_bad_switch_pattern_is_the_scripts_error(mode: str, pattern: str) -> None:
    # hypothesis (tests/unit/test_fuzz.py): an invalid switch -regex pattern was internal.
    r = run(f"switch -{mode} ('foo123') {{ '{pattern}' {{ 'hit' }} default {{ 'miss' }} }}; "
            "'next'")
    assert r.output == ["next"] and len(r.errors) == 1
    assert "pattern" in r.messages[0] and "internal" not in r.messages[0]


@pytest.mark.parametrize("command", ["Set-Variable -Name x -Value 1", "Get-Variable -Name x",
                                     "New-Variable -Name x -Value 1"])
def test_a_huge_scope_number_is_out_of_range_at_once(command: str) -> None:
    # fuzz seed stop13:2518: -Scope 99999999999 walked that many parents (a hang at 100% CPU).
    r = run(f"{command} -Scope 99999999999; 'next'")
    assert r.output == ["next"]
    assert r.messages[0].startswith("The scope number '99999999999' exceeds the number of active "
                                    "scopes.")


def test_an_int32_parameter_refuses_a_value_past_int32() -> None:
    # fuzz seed stop13:9923: Out-File -Width 2147483648 was taken and formatted 2 GiB lines.
    r = run("'x' | Out-String -Width 2147483648; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["Cannot bind parameter 'Width'. Cannot convert value \"2147483648\" to "
                          "type \"System.Int32\". Error: \"Value was either too large or too small "
                          "for an Int32.\""]


def test_the_widest_int32_width_formats_without_building_the_width() -> None:
    # A left-aligned last column may be as wide as the line: it is not padded to it.
    r = run("@{a = 7}, [pscustomobject]@{A = 1; B = 'xx'} | Out-String -Width 2147483647")
    assert r.errors == [] and max(len(line) for line in r.output[0].splitlines()) < 40


def test_a_custom_objects_text_shows_an_array_property_as_its_type() -> None:
    # fuzz seed stop13:10123: a self-nesting $fb expanded every array level into its text,
    # so `$fb -notlike $fb` matched thousands of items against a 300,000-character pattern.
    r = run("\"$([pscustomobject]@{x = 1, 2; h = @{k = 1}; s = 'a b'})\"")
    assert r.output == ["@{x=System.Object[]; h=System.Collections.Hashtable; s=a b}"]


def test_a_call_depth_overflow_unwinds_the_whole_recursion() -> None:
    # fuzz seed stop13b:10121: each level reported the overflow and looped on, so a recursion
    # that loops twice per level made 2**500 calls. pjsh raises Python's limit as the CLI does.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 8000))
    try:
        r = run("$n = 0; $sb = { $script:n++; $i = 0; do { $i++; & $sb > /dev/null } "
                "while ($i -lt 2) }; & $sb; \"n=$n $?\"; function f { f }; f; \"after $?\"")
    finally:
        sys.setrecursionlimit(limit)
    assert r.output == ["n=500 False", "after False"]
    assert r.messages == ["The script failed due to call depth overflow."] * 2
