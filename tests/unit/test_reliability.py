"""Reproduced crashes and PowerShell deviations (the "Reliability" issue): each input gives
PowerShell's result or a PowerShell error record, never a pjsh internal error."""

from __future__ import annotations

import os
import sys

import pytest

from pjsh.engine import local_options
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import create_runspace
from tests.harness import run

INTERNAL = "pjsh internal error"


def no_internal_error(src: str) -> list[str]:
    """Run src and return its error messages, none of which may be an internal error."""
    r = run(src)
    assert not any(INTERNAL in m for m in r.messages), r.messages
    return r.messages


# ---------------------------------------------------------------- begin blocks' output

def test_output_of_foreach_object_begin_reaches_a_later_cmdlet() -> None:
    r = run('1..3 | ForEach-Object -Begin {"header"} -Process {$_} | Sort-Object; "after"')
    assert r.errors == []
    assert r.output == [1, 2, 3, "header", "after"]


def test_output_of_a_function_begin_block_reaches_a_later_cmdlet_first() -> None:
    r = run('function f { begin {"b"} process {$_} }; 1..2 | f | ForEach-Object { "<$_>" }')
    assert r.errors == []
    assert r.output == ["<b>", "<1>", "<2>"]


def test_output_of_a_begin_block_reaches_a_native_as_text() -> None:
    r = run('function f { begin {"b"} process {$_} }; 1..2 | f | /bin/cat')
    assert r.errors == []
    assert r.output == ["b", "1", "2"]


def test_select_first_satisfied_by_begin_output_stops_an_endless_upstream() -> None:
    r = run('function g { while ($true) { 1 } }; function f { begin {"b"; "c"} process {$_} }; '
            'g | f | Select-Object -First 1; "after"')
    assert r.errors == []
    assert r.output == ["b", "after"]


def test_begin_blocks_still_run_first_to_last() -> None:
    r = run('& { begin { Write-Output "1st" } } | & { begin { "2nd" } process { "got $_" } }')
    assert r.output == ["2nd", "got 1st"]


def test_call_operator_block_can_be_a_later_pipeline_stage() -> None:
    assert run('1, 2 | & { process { $_ * 10 } }').output == [10, 20]
    assert "An empty pipe element is not allowed." in run('1 | && 2').messages[0]


# ---------------------------------------------------------------- what no spawn can take

NUL_ARG = ("Program '/bin/echo' failed to run: Cannot process argument because the value of "
           "argument \"a`0b\" is not valid: a program's arguments cannot contain a NUL character.")


def test_a_nul_in_a_native_argument_is_an_error_naming_the_argument() -> None:
    r = run('/bin/echo "a`0b"; "after"')
    assert r.messages == [NUL_ARG]
    assert r.errors[0].FullyQualifiedErrorId == "NativeCommandFailed"
    assert r.output == ["after"]


def test_the_native_with_the_nul_argument_is_the_one_named_in_a_pipeline() -> None:
    r = run('1 | /bin/cat | /bin/echo "a`0b"; "after"')
    assert r.messages == [NUL_ARG]
    assert r.output == ["after"]


def test_an_environment_name_with_equals_is_refused_and_natives_still_run() -> None:
    r = run('${env:A=B} = "c"; $? ; /bin/echo still')
    assert r.messages == ["Environment variable name cannot contain equal character."]
    assert r.output == [False, "still"]


def test_a_nul_in_an_environment_value_is_refused_and_natives_still_run() -> None:
    r = run('$env:PJSH_NUL_TEST = "a`0b"; $env:PJSH_NUL_TEST -eq $null; /bin/echo still')
    assert r.messages == ['Cannot process argument because the value of argument "value" is not '
                          'valid. Change the value of the "value" argument and run the operation '
                          'again.']
    assert r.output == [True, "still"]


def test_an_environment_the_session_cannot_pass_on_fails_a_native_with_an_error() -> None:
    # An environment handed in from outside (a job's options), not set through $env:.
    env = {**os.environ, "X": "a\0b"}
    rs = create_runspace(local_options(MemoryHost(), env=env))
    r = run('/bin/true; "after"', runspace=rs)
    assert len(r.messages) == 1
    assert "(environment variable 'X')" in r.messages[0]
    assert r.output == ["after"]


# ---------------------------------------------------------------- operators and cmdlets

def test_bnot_of_a_non_number_is_a_conversion_error() -> None:
    r = run('-bnot "x"; "after"')
    assert r.messages == ['Cannot convert value "x" to type "System.Int32". Error: "The input '
                          "string 'x' was not in a correct format.\""]
    assert r.output == ["after"]


def test_split_with_an_empty_separator_list_is_a_bad_operator_argument() -> None:
    r = run('"abc" -split @(); "after"')
    assert r.messages == ["Bad argument to operator '-split': System.Object[]."]
    assert r.errors[0].FullyQualifiedErrorId == "BadOperatorArgument"
    assert r.output == ["after"]


def test_split_with_an_infinite_limit_is_a_conversion_error() -> None:
    r = run('"a b" -split (" ", 1e400); "after"')
    assert r.messages == ['Cannot convert value "Infinity" to type "System.Int32".']
    assert r.output == ["after"]


def test_start_sleep_out_of_range_is_a_validation_error() -> None:
    r = run('Start-Sleep -Seconds 1e400; Start-Sleep -Seconds ([double]::NaN); "after"')
    assert r.messages == [
        "Cannot validate argument on parameter 'Seconds'. The Infinity argument is greater than "
        "the maximum allowed range of 2147483. Supply an argument that is less than or equal to "
        "2147483 and then try the command again.",
        "Cannot validate argument on parameter 'Seconds'. The NaN argument is less than the "
        "minimum allowed range of 0. Supply an argument that is greater than or equal to 0 and "
        "then try the command again."]
    assert r.output == ["after"]


# ---------------------------------------------------------------- write errors

WRITERS = [
    "'x' > {0}", "'x' >> {0}", "Write-Error e 2> {0}", "Write-Output x *> {0}", "'x' *> {0}",
    "1..20000 > {0}", "'x' | Out-File {0}", "Set-Content {0} x", "Add-Content {0} x",
    "'x' | Tee-Object {0} | Out-Null",
]


@pytest.mark.parametrize("form", WRITERS)
def test_a_full_disk_is_an_error_record_naming_the_file_and_the_reason(form: str) -> None:
    r = run(form.format("/dev/full") + "; $?; 'after'")
    assert r.messages == ["No space left on device : '/dev/full'"]
    assert r.output == [False, "after"]


@pytest.mark.parametrize("form", WRITERS)
def test_a_file_that_refuses_writes_is_an_error_record_naming_it(form: str) -> None:
    r = run(form.format("/proc/version") + "; 'after'")
    assert len(r.messages) == 1 and "'/proc/version'" in r.messages[0]
    assert not any(INTERNAL in m for m in r.messages)
    assert r.output == ["after"]


# ---------------------------------------------------------------- PowerShell deviations

def argv_of(args: str) -> list[str]:
    """The argv a native receives for the given argument text."""
    r = run(f"python3 -c 'import sys; [print(a) for a in sys.argv[1:]]' {args}")
    assert r.errors == []
    return [str(x) for x in r.output]


def test_an_unquoted_comma_list_reaches_a_native_as_one_argument() -> None:
    assert argv_of("-eo pid,cmd") == ["-eo", "pid,cmd"]
    assert argv_of("1,2,3") == ["1,2,3"]


def test_a_comma_list_with_spaces_reaches_a_native_split_at_the_spaces() -> None:
    assert argv_of("a, b") == ["a,", "b"]


def test_a_comma_list_of_values_reaches_a_native_joined_by_commas() -> None:
    r = run("$y = 2; python3 -c 'import sys; print(sys.argv[1:])' 'x',$y")
    assert r.output == ["['x,2']"]


def test_a_comma_list_still_binds_as_an_array_to_a_cmdlet() -> None:
    assert run("Write-Output a,b | Measure-Object | ForEach-Object Count").output == [2]


def test_an_array_in_a_variable_still_splats_into_native_arguments() -> None:
    r = run("$a = 'x','y'; python3 -c 'import sys; print(sys.argv[1:])' $a")
    assert r.output == ["['x', 'y']"]


def test_the_result_of_a_command_that_output_nothing_is_automation_null() -> None:
    r = run("function g {}; $e = g; @($e).Count; ($e | Measure-Object).Count; $e -eq $null; "
            "$n = $null; @($n).Count; $copy = $e; @($copy).Count; function h { $e }; @(h).Count")
    assert r.errors == []
    assert r.output == [0, 0, True, 1, 0, 0]


def test_assigning_a_value_ends_automation_null() -> None:
    assert run("function g {}; $e = g; $e = 5; @($e).Count").output == [1]


def test_call_depth_overflow_leaves_dollar_question_false() -> None:
    # The pjsh command runs with this limit (cli.main); Python's default is below 500 calls.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 8000))
    try:
        r = run("function r { r }; r; $?; 'after'")
    finally:
        sys.setrecursionlimit(old)
    assert r.messages == ["The script failed due to call depth overflow."]
    assert r.output == [False, "after"]


def test_a_function_whose_body_wrote_an_error_leaves_dollar_question_false() -> None:
    r = run("function t { Write-Error x; 1 }; t; $?; "
            "function c { try { throw 'x' } catch {} }; c; $?; "
            "function q { Write-Error x -ErrorAction SilentlyContinue }; q; $?")
    assert r.output == [1, False, True, True]


def test_a_numeric_format_of_a_word_is_a_format_error() -> None:
    r = run("'{0:X}' -f 'abc'; '{0:X}' -f 1.5; '{0:X}' -f 255; 'after'")
    assert r.messages == ["Error formatting a string: Format specifier was invalid.: {0:X}."] * 2
    assert r.output == ["FF", "after"]


def test_an_invalid_regex_cast_is_a_conversion_error() -> None:
    r = run("[regex]'('; [regex]'a(?<n>b)'; 'after'")
    assert len(r.messages) == 1
    assert r.messages[0].startswith('Cannot convert value "(" to type '
                                    '"System.Text.RegularExpressions.Regex". Error: "Invalid '
                                    "pattern '('")
    assert r.output == ["a(?<n>b)", "after"]


@pytest.mark.parametrize("param", ["First", "Last", "Skip", "SkipLast"])
def test_select_object_counts_below_zero_fail_validation(param: str) -> None:
    r = run(f"1..3 | Select-Object -{param} -1; 'after'")
    assert r.messages == [
        f"Cannot validate argument on parameter '{param}'. The -1 argument is less than the "
        "minimum allowed range of 0. Supply an argument that is greater than or equal to 0 and "
        "then try the command again."]
    assert r.output == ["after"]
