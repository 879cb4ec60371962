"""The interpreter through the in-memory harness: every construct of SPEC §2 — statements,
pipelines, variables and scopes, values, strings, operators, control flow, functions and
script blocks, errors (terminating and not), redirections, the six streams and the common
parameters — and the stop hook that cancels a running script."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pjsh.engine import local_options
from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import create_runspace
from pjsh.runtime.streams import ListSink
from pjsh.runtime.values import Hashtable, PSObject
from tests.harness import RunResult, new_runspace, run, show

NOT_RECOGNIZED = ("The term '{0}' is not recognized as a name of a cmdlet, function, script "
                  "file, or executable program.\nCheck the spelling of the name, or if a path "
                  "was included, verify that the path is correct and try again.")


def out(src: str, cwd: str | None = None) -> list[object]:
    """Output objects of a run that must not report any error."""
    r = run(src, cwd=cwd)
    assert r.errors == [], [e.message for e in r.errors]
    return r.output


def one(src: str) -> object:
    values = out(src)
    assert len(values) == 1, values
    return values[0]


def streams(r: RunResult) -> list[tuple[str, str]]:
    return r.host.streams


# ---------------------------------------------------------------- statements and modes

def test_statements_run_in_order_across_newlines_semicolons_and_comments() -> None:
    assert out("1; 2\n3 # three\n<# block\ncomment #> 4") == [1, 2, 3, 4]


def test_expression_mode_vs_argument_mode_is_decided_by_the_first_token() -> None:
    assert out("2 + 3") == [5]
    assert out("echo 2 + 3") == [2, "+", 3]
    assert out("$x = 7; $x") == [7]
    assert out("$x = 7; Write-Output $x") == [7]


def test_command_and_parameter_names_are_case_insensitive() -> None:
    assert out("WRITE-OUTPUT a; write-output b; Write-Output -INPUTOBJECT c") == ["a", "b", "c"]


def test_command_aliases() -> None:
    assert out("1,2,3 | % { $_ * 2 }") == [2, 4, 6]
    assert out("1,2,3 | ? { $_ -gt 1 }") == [2, 3]
    assert out("1,2,3 | where { $_ -lt 2 }") == [1]
    assert out("1,2 | foreach { $_ + 1 }") == [2, 3]
    assert out("1,2,3 | select -First 2") == [1, 2]
    assert out("echo hi") == ["hi"]


def test_pwsh_on_linux_does_not_alias_names_of_unix_programs() -> None:
    rs = new_runspace()
    for name in ("ls", "cat", "ps", "kill", "sleep", "sort", "cp", "mv", "rm", "tee"):
        assert name not in rs.session.registry.aliases, name


def test_parameter_value_with_colon_switch_and_positional() -> None:
    assert out("Write-Output -InputObject:7") == [7]
    assert out("1,2,3 | Select-Object -Last:1") == [3]
    assert out("Write-Output 1,2 -NoEnumerate | % { $_.Count }") == [2]


def test_unique_prefix_abbreviation_and_the_ambiguity_error() -> None:
    assert out("Write-Output -InputO 5") == [5]
    r = run("Write-Output -In 5; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["Parameter cannot be processed because the parameter name 'In' is "
                          "ambiguous. Possible matches include: -InputObject -InformationAction "
                          "-InformationVariable."]
    assert r.errors[0].FullyQualifiedErrorId.startswith("AmbiguousParameter,")
    assert r.errors[0].command == "Write-Output"


def test_unknown_parameter_error() -> None:
    r = run("Write-Output -Bogus 1; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["A parameter cannot be found that matches parameter name 'Bogus'."]
    assert r.errors[0].describe() == ("Write-Output: A parameter cannot be found that matches "
                                      "parameter name 'Bogus'.")


def test_unknown_command_error_and_next_statement_runs() -> None:
    r = run("nosuchcommand-xyz; 'after'")
    assert r.output == ["after"]
    assert r.messages == [NOT_RECOGNIZED.format("nosuchcommand-xyz")]
    assert r.errors[0].FullyQualifiedErrorId == "CommandNotFoundException"
    assert r.errors[0].CategoryInfo.Category == "ObjectNotFound"


# ---------------------------------------------------------------- pipelines

def test_pipeline_streams_objects_between_cmdlets() -> None:
    assert out("1..5 | Where-Object { $_ % 2 } | ForEach-Object { $_ * 10 }") == [10, 30, 50]


def test_issue_example_count_of_filtered_range() -> None:
    assert out('$x = 1..5 | Where-Object { $_ -gt 2 }; "n=$($x.Count)"') == ["n=3"]


def test_an_expression_sends_array_elements_one_by_one() -> None:
    assert out("1,2,3 | Measure-Object | % Count") == [3]
    assert out(",(1,2) | % { $_.Count }") == [2]


def test_ranges_stream_lazily_into_a_pipeline_and_foreach() -> None:
    assert out("(1..50000000 | Select-Object -First 3) -join ','") == ["1,2,3"]
    assert out("$n=0; foreach ($i in 1..50000000) { if ($i -gt 4) { break }; $n += $i }; $n") \
        == [10]


def test_materialized_ranges_are_bounded() -> None:
    r = run("$a = 1..50000000; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["Array dimensions exceeded supported range."]


# ---------------------------------------------------------------- variables

def test_env_variables_read_write_and_remove() -> None:
    rs = new_runspace()
    assert run("$env:PJSH_T = 'v'; $env:PJSH_T", rs).output == ["v"]
    assert rs.session.env["PJSH_T"] == "v"
    assert run("$env:PJSH_T = $null; $env:PJSH_T", rs).output == [None]
    assert "PJSH_T" not in rs.session.env


def test_args_in_functions_and_script_blocks() -> None:
    assert out("function f { $args.Count; $args[1] }; f a b c") == [3, "b"]
    assert out("& { $args -join '+' } 1 2 3") == ["1+2+3"]


def test_dollar_underscore_and_psitem() -> None:
    assert out("1,2 | % { $_ + $PSItem }") == [2, 4]


def test_dollar_question_after_success_failure_and_statement_errors() -> None:
    assert out("Write-Output 1 | Out-Null; $?") == [True]
    r = run("nosuch-cmd; $?")
    assert r.output == [False]
    r = run("Write-Error 'x'; $?; $?")
    assert r.output == [False, True]
    r = run("$z = 0; 1 / $z; $?")
    assert r.output == [False]


def test_null_true_false_and_read_only_constants() -> None:
    assert out("$null; $true; $false") == [None, True, False]
    r = run("$true = 1; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["Cannot overwrite variable true because it is read-only or constant."]


def test_pwd_pid_and_lastexitcode_defaults(tmp_path: Path) -> None:
    import os

    r = run("$PWD.Path; \"$PWD\"; $PID; $LASTEXITCODE", cwd=str(tmp_path))
    assert r.output == [str(tmp_path), str(tmp_path), os.getpid(), 0]


def test_input_holds_pipeline_input_of_a_function() -> None:
    assert out("function f { \"in:$input\" }; 1,2,3 | f") == ["in:1 2 3"]
    assert out("function f { $input | % { $_ * 2 } }; 1,2 | f") == [2, 4]
    assert out("function f { @($input).Count }; f") == [0]


def test_error_variable_collects_errors_newest_first() -> None:
    rs = new_runspace()
    run("nosuch-a; nosuch-b", rs)
    r = run("$Error.Count; $Error[0].TargetObject; $Error[1].TargetObject", rs)
    assert r.output == [2, "nosuch-b", "nosuch-a"]
    assert run("$Error.Clear(); $Error.Count", rs).output == [0]


def test_caught_errors_are_recorded_in_error_too() -> None:
    assert out("$Error.Clear(); try { throw 'x' } catch { }; $Error.Count") == [1]


# ---------------------------------------------------------------- scopes

def test_function_locals_do_not_leak() -> None:
    assert out("$x = 1; function f { $x = 2; $y = 3; $x }; f; $x; $y") == [2, 1, None]


def test_functions_read_parent_scope_variables() -> None:
    assert out("$v = 'outer'; function f { \"v=$v\" }; f") == ["v=outer"]


def test_global_and_script_scope_modifiers() -> None:
    assert out("function f { $global:g = 5; $script:s = 6 }; f; $g; $s") == [5, 6]
    assert out("$gg = 1; function f { $gg = 2; $global:gg }; f") == [1]
    assert out("function f { $script:cnt++ }; f; f; $cnt") == [2]


def test_nested_function_definitions_are_local_to_their_function() -> None:
    r = run("function outer { function inner { 'i' }; inner }; outer; inner")
    assert r.output == ["i"]
    assert r.messages == [NOT_RECOGNIZED.format("inner")]
    assert out("function f { 1 }; function g { function f { 2 }; f }; g; f") == [2, 1]


def test_script_block_scopes_call_vs_dot_source() -> None:
    assert out("$n = 0; & { $n = 5 }; $n; . { $n = 6 }; $n") == [0, 6]


def test_dot_sourcing_a_script_file_defines_in_the_callers_scope(tmp_path: Path) -> None:
    (tmp_path / "lib.ps1").write_text("$libvar = 'L'\nfunction lib-fn { 'from lib' }\n")
    assert out(". ./lib.ps1; $libvar; lib-fn", cwd=str(tmp_path)) == ["L", "from lib"]
    r = run("./lib.ps1; $libvar", cwd=str(tmp_path))
    assert r.output == [None]


def test_script_file_gets_args(tmp_path: Path) -> None:
    (tmp_path / "s.ps1").write_text("\"n=$($args.Count) first=$($args[0])\"")
    assert out("./s.ps1 a b", cwd=str(tmp_path)) == ["n=2 first=a"]


# ---------------------------------------------------------------- values

def test_member_access_and_member_enumeration() -> None:
    assert out("$o = [pscustomobject]@{Name='n'; Size=3}; $o.Name; $o.size") == ["n", 3]
    assert out("$a = [pscustomobject]@{N=1},[pscustomobject]@{N=2}; $a.N") == [1, 2]
    assert out("$a = [pscustomobject]@{N=1},[pscustomobject]@{N=2}; ($a.N).Count") == [2]
    assert out("$x = $null; $x.Foo") == [None]
    assert out("'abc'.Length; (1,2,3).Count; @{a=1}.Count") == [3, 3, 1]


def test_indexing_negative_ranges_and_out_of_range() -> None:
    assert out("$a = 1,2,3,4,5; $a[0]; $a[-1]; $a[1..3]; $a[-2..-1]; $a[10]") == [
        1, 5, 2, 3, 4, 4, 5, None]
    assert out("'abc'[0]; 'abc'[-1]; 'abc'[0..1] -join ''") == ["a", "c", "ab"]
    assert out("$h = @{a=1; b=2}; $h['a']; $h.b; $h['zz']") == [1, 2, None]
    r = run("$n = $null; $n[0]")
    assert r.messages == ["Cannot index into a null array."]


def test_index_assignment() -> None:
    assert out("$a = 1,2,3; $a[1] = 9; $a -join ','") == ["1,9,3"]
    r = run("$a = 1,2; $a[5] = 0")
    assert r.messages == ["Index was outside the bounds of the array."]
    assert out("$h = @{}; $h.x = 1; $h['y'] = 2; $h.Count") == [2]


@pytest.mark.parametrize(("src", "expected"), [
    ("'hello'.ToUpper()", ["HELLO"]),
    ("'HeLLo'.ToLower()", ["hello"]),
    ("'a,b,c'.Split(',')", ["a", "b", "c"]),
    ("'a b'.Split()", ["a", "b"]),
    ("'hello'.Replace('l', 'L')", ["heLLo"]),
    ("'hello'.Length", [5]),
    ("'  x '.Trim()", ["x"]),
    ("'hello'.Substring(1, 3)", ["ell"]),
    ("'hello'.StartsWith('he')", [True]),
    ("'hello'.IndexOf('l')", [2]),
    ("'x'.PadLeft(3, '-')", ["--x"]),
    ("(1,2,3).Count", [3]),
    ("@{a=1}.ContainsKey('a')", [True]),
    ("(5).ToString()", ["5"]),
    ("(1.5).GetType().Name", ["Double"]),
])
def test_method_calls(src: str, expected: list[object]) -> None:
    assert out(src) == expected


def test_a_failing_method_is_a_method_invocation_error() -> None:
    r = run("'abc'.Substring(5); 'next'")
    assert r.output == ["next"]
    assert r.messages == ['Exception calling "Substring" with "1" argument(s): "startIndex cannot '
                          'be larger than length of string."']
    r = run("'abc'.NoSuchMethod()")
    assert r.messages == ["Method invocation failed because [System.String] does not contain a "
                          "method named 'NoSuchMethod'."]


def test_void_methods_write_nothing() -> None:
    assert out("$h = @{}; $h.Add('a', 1); @($h.Add('b', 2)).Count; $h.Count") == [0, 2]


def test_hashtables_arrays_and_array_subexpression() -> None:
    h = one("@{ a = 1; 'b c' = 'x' }")
    assert isinstance(h, Hashtable) and h["a"] == 1 and h["b c"] == "x"
    assert out("@(1).Count; @().Count; @(1,2).Count; @(@(1,2)).Count; @($null).Count") == [
        1, 0, 2, 2, 1]
    assert out("$a = @(); $a += 1; $a += 2; $a -join ','") == ["1,2"]
    r = run("@{ a = 1; a = 2 }")
    assert r.messages == ["Duplicate keys 'a' are not allowed in hash literals."]


def test_pscustomobject_from_hashtable() -> None:
    o = one("[pscustomobject]@{ Name = 'a'; N = 1 }")
    assert isinstance(o, PSObject) and o.get("Name") == "a"
    assert out("$o = [pscustomobject]@{Size=3}; $o.Size += 1; $o.Size") == [4]


def test_ranges_ascending_and_descending() -> None:
    assert out("1..3 -join ','; 3..1 -join ','; -1..1 -join ','") == ["1,2,3", "3,2,1", "-1,0,1"]


def test_sub_expressions_and_parentheses() -> None:
    assert out("$(1; 2).Count; (1 + 2) * 3; $($x = 4; $x * 2)") == [2, 9, 8]
    assert out("($y = 5); $y") == [5, 5]


def test_type_casts_and_conversion_errors() -> None:
    assert out("[int]'42' + 1; [string]42 + 1; [double]'1.5'; [bool]0; [int]2.5") == [
        43, "421", 1.5, False, 2]
    r = run("[int]'abc'; 'next'")
    assert r.output == ["next"]
    assert r.messages == ['Cannot convert value "abc" to type "System.Int32". Error: "The input '
                          "string 'abc' was not in a correct format.\""]
    r = run("[nosuchtype]1")
    assert r.messages == ["Unable to find type [nosuchtype]."]


# ---------------------------------------------------------------- strings

def test_literal_and_expanding_strings() -> None:
    assert out("$v = 'x'; 'lit $v'; \"exp $v\"; \"sub $(1 + 2)\"; \"a${v}b\"; \"$v.Length\"") == [
        "lit $v", "exp x", "sub 3", "axb", "x.Length"]


def test_env_and_scoped_variables_expand_in_strings() -> None:
    rs = new_runspace()
    rs.session.env["PJSH_E"] = "ev"
    assert run('"e=$env:PJSH_E"', rs).output == ["e=ev"]


def test_arrays_expand_joined_by_ofs() -> None:
    assert out('$a = 1,2,3; "$a"; $OFS = "-"; "$a"') == ["1 2 3", "1-2-3"]


def test_backtick_escapes() -> None:
    assert out('"a`tb`nc"; "`$x"; "q`"q"; "`u{263A}"') == ["a\tb\nc", "$x", 'q"q', "\u263a"]


def test_here_strings() -> None:
    assert out("$v = 2\n@\"\nline $v\n  two\n\"@\n@'\nraw $v\n'@") == ["line 2\n  two", "raw $v"]


def test_barewords_expand_variables() -> None:
    assert out("$k = 5; echo MyVm$k; echo pre-$($k + 1)-post") == ["MyVm5", "pre-6-post"]


# ---------------------------------------------------------------- operators

def test_arithmetic_int_and_double_results() -> None:
    assert out("7 / 2; 6 / 2; 7 % 3; -7 % 3; 2.5 * 2; 2 + 3 * 4; (2 + 3) * 4") == [
        3.5, 3, 1, -1, 5.0, 14, 20]
    values = out("6 / 2; 7 / 2")
    assert type(values[0]) is int and type(values[1]) is float


def test_arithmetic_with_strings_and_arrays() -> None:
    assert out("'5' + 5; 5 + '5'; '5' * 3; (1,2) * 2 -join ','; $null + 1") == [
        "55", 10, "555", "1,2,1,2", 1]


def test_division_by_zero_is_a_statement_terminating_error() -> None:
    r = run("$z = 0; 1 / $z; 'next'")
    assert r.output == ["next"]
    assert r.messages == ["Attempted to divide by zero."]
    assert r.errors[0].describe() == "RuntimeException: Attempted to divide by zero."


def test_comparison_is_case_insensitive_with_c_variants() -> None:
    assert out("'abc' -eq 'ABC'; 'abc' -ceq 'ABC'; 'abc' -ieq 'ABC'; 'a' -ne 'A'; "
               "'a' -cne 'A'") == [True, False, True, False, True]
    assert out("5 -lt 10; 'b' -gt 'A'; 'b' -cgt 'B'; 3 -ge 3; 3 -le 2") == [
        True, True, True, True, False]


def test_comparison_converts_the_right_operand_to_the_left_type() -> None:
    assert out("5 -eq '5'; '5' -eq 5; 10 -gt '9'; '10' -gt 9") == [True, True, True, False]


def test_like_match_and_matches() -> None:
    assert out("'hello' -like 'h*'; 'hello' -like 'H?LLO'; 'hello' -clike 'H*'; "
               "'x' -notlike 'y*'") == [True, True, False, True]
    assert out("'abc123' -match '(?<n>\\d+)'; $Matches[0]; $Matches.n; 'x' -notmatch 'y'") == [
        True, "123", "123", True]
    assert out("'ABC' -cmatch 'abc'") == [False]


def test_array_on_the_left_filters() -> None:
    assert out("(1,2,3,4 -gt 2) -join ','; ('a','b','A' -eq 'a') -join ','; "
               "('ab','cd' -like 'a*')") == ["3,4", "a,A", "ab"]


def test_contains_and_in() -> None:
    assert out("1,2,3 -contains 2; 1,2 -notcontains 3; 2 -in 1,2,3; 4 -notin 1,2; "
               "'A' -in 'a','b'; 'A' -cin 'a','b'") == [True, True, True, True, True, False]


def test_logical_operators_short_circuit() -> None:
    assert out("$true -and $false; $true -or $false; -not $true; !$false; $true -xor $true") == [
        False, True, False, True, False]
    assert out("$false -and (nosuch-cmd); $true -or (nosuch-cmd)") == [False, True]


def test_replace_split_join_and_format() -> None:
    assert out("'a.b.c' -replace '\\.', '-'; 'John Smith' -replace '(\\w+) (\\w+)', '$2 $1'") == [
        "a-b-c", "Smith John"]
    assert out("'a,b,,c' -split ','") == ["a", "b", "", "c"]
    assert out("-split ' a  b '") == ["a", "b"]
    assert out("(1,2,3) -join '+'; -join ('x','y')") == ["1+2+3", "xy"]
    assert out("'{0}-{1:N2}-{2,4}|' -f 'x', 3.14159, 7") == ["x-3.14-   7|"]


def test_increment_decrement_and_compound_assignment() -> None:
    assert out("$i = 1; $i++; $i; $i--; $i; $i += 5; $i; $i -= 2; $i; $i *= 3; $i; "
               "$i /= 2; $i; $i %= 4; $i") == [2, 1, 6, 4, 12, 6, 2]
    assert out("$i = 5; $j = $i++; $j; $i; $k = ++$i; $k") == [5, 6, 7]
    assert out("$s = 'a'; $s += 'b'; $s") == ["ab"]


def test_type_operators() -> None:
    assert out("5 -is [int]; 'a' -is [string]; 'a' -isnot [int]; '5' -as [int]; "
               "'x' -as [int]") == [True, True, True, 5, None]


def test_bitwise_and_shift_operators() -> None:
    assert out("6 -band 3; 6 -bor 1; 6 -bxor 2; -bnot 0; 1 -shl 4; 256 -shr 4; 1 -shl 31") == [
        2, 7, 4, -1, 16, 16, -2147483648]


def test_multiple_assignment() -> None:
    assert out("$a, $b = 1, 2; $a; $b; $c, $d = 1, 2, 3; $d -join ','") == [1, 2, "2,3"]


# ---------------------------------------------------------------- control flow

def test_if_elseif_else() -> None:
    assert out("if (1 -gt 2) { 'a' } elseif ($true) { 'b' } else { 'c' }") == ["b"]
    assert out("if ($null) { 'a' } else { 'c' }") == ["c"]
    assert out("if (@()) { 'a' } elseif (@(0)) { 'b' } elseif ('x') { 'c' }") == ["c"]


def test_for_foreach_while_do() -> None:
    assert out("for ($i = 0; $i -lt 3; $i++) { $i }") == [0, 1, 2]
    assert out("foreach ($x in 1..3) { $x * 2 }") == [2, 4, 6]
    assert out("foreach ($x in $null) { 'never' }") == []
    assert out("$i = 0; while ($i -lt 3) { $i++ }; $i") == [3]
    assert out("$i = 0; do { $i++ } while ($i -lt 5); $i") == [5]
    assert out("$i = 0; do { $i++ } until ($i -ge 7); $i") == [7]
    assert out("$i = 10; do { $i++ } while ($false); $i") == [11]


def test_a_newline_after_a_do_loops_condition_ends_the_statement() -> None:
    # Found by the grammar fuzzer: the condition swallowed the newline, so the next line was
    # read as part of the do statement ("Unexpected token").
    assert out("$i = 0; do { $i++ } while ($i -lt 4)\n\"next $i\"") == ["next 4"]
    assert out("$i = 0\ndo {\n  $i++\n}\nuntil ($i -ge 2)\n$i") == [2]


def test_break_and_continue() -> None:
    assert out("foreach ($x in 1..5) { if ($x -eq 2) { continue }; if ($x -eq 4) { break }; $x }") \
        == [1, 3]
    assert out("$i = 0; while ($true) { $i++; if ($i -gt 3) { break } }; $i") == [4]
    assert out("for ($i = 0; $i -lt 5; $i++) { if ($i % 2) { continue }; $i }") == [0, 2, 4]


def test_labeled_break_and_continue() -> None:
    assert out(":outer foreach ($a in 1..3) { foreach ($b in 1..3) { "
               "if ($b -eq 2) { continue outer }; if ($a -eq 3) { break outer }; \"$a$b\" } }") == [
        "11", "21"]
    assert out(":o while ($true) { while ($true) { break o } }; 'out'") == ["out"]


def test_switch_statement() -> None:
    assert out("switch (2) { 1 {'one'} 2 {'two'} default {'d'} }") == ["two"]
    assert out("switch (9) { 1 {'one'} default {'d'} }") == ["d"]
    assert out("switch ('ABC') { 'abc' {'ci'} }") == ["ci"]
    assert out("switch -CaseSensitive ('ABC') { 'abc' {'ci'} default {'no'} }") == ["no"]
    assert out("switch -Regex ('foo123') { '\\d+' { $Matches[0] } }") == ["123"]
    assert out("switch -Wildcard ('hello') { 'h*' {'w'} }") == ["w"]
    assert out("switch (1,2,3) { 2 {'two'; break} default {$_} }") == [1, "two"]
    assert out("switch (5) { { $_ -gt 3 } { 'big' } }") == ["big"]
    assert out("switch (1,2) { {$true} { \"a$_\"; continue } default { 'x' } }") == ["a1", "a2"]


def test_return_ends_the_function_with_output() -> None:
    assert out("function f { 'a'; return 'b'; 'c' }; f") == ["a", "b"]
    assert out("function f { return }; @(f).Count") == [0]


def test_exit_ends_the_script_with_a_code() -> None:
    r = run("'before'; exit 3; 'after'")
    assert r.output == ["before"] and r.exit_code == 3 and not r.ok
    r = run("exit")
    assert r.exit_code == 0 and r.ok


# ---------------------------------------------------------------- functions and script blocks

def test_function_params_defaults_and_positions() -> None:
    src = "function f { param($a, $b = 10) \"$a-$b\" }; "
    assert out(src + "f 1; f 1 2; f -b 3 -a 4; f -a 5 6") == ["1-10", "1-2", "4-3", "5-6"]
    assert out(src + "f 1 2 3") == ["1-2"]


def test_function_with_parenthesised_parameter_list() -> None:
    assert out("function add($x, $y) { $x + $y }; add 2 3") == [5]


def test_param_defaults_can_use_expressions_and_arrays() -> None:
    assert out("function f { param($a = (1,2), $b = 3) \"$($a.Count) $b\" }; f") == ["2 3"]


def test_switch_parameters() -> None:
    src = "function f { param([switch]$Force) [bool]$Force }; "
    assert out(src + "f; f -Force; f -Force:$false; f -f") == [False, True, False, True]


def test_typed_parameters_convert_and_report_bad_values() -> None:
    r = run("function f { param([int]$n) $n + 1 }; f '41'; f abc; 'next'")
    assert r.output == [42, "next"]
    assert r.messages == ["Cannot process argument transformation on parameter 'n'. Cannot "
                          "convert value \"abc\" to type \"System.Int32\". Error: \"The input "
                          "string 'abc' was not in a correct format.\""]
    assert r.errors[0].describe().startswith("f: Cannot process argument transformation")


def test_mandatory_parameters() -> None:
    r = run("function f { param([Parameter(Mandatory)]$Name) \"hi $Name\" }; f; f -Name x; 'n'")
    assert r.output == ["hi x", "n"]
    assert r.messages == ["Cannot process command because of one or more missing mandatory "
                          "parameters: Name."]


def test_function_parameter_binding_from_the_pipeline() -> None:
    assert out("function f { param([Parameter(ValueFromPipeline)]$InputObject) "
               "process { \"p:$InputObject\" } }; 1,2 | f") == ["p:1", "p:2"]
    assert out("function f { param([Parameter(ValueFromPipelineByPropertyName)]$Name) "
               "process { \"n:$Name\" } }; "
               "[pscustomobject]@{Name='a'},[pscustomobject]@{Name='b'} | f") == ["n:a", "n:b"]


def test_filters_and_begin_process_end() -> None:
    assert out("filter double { $_ * 2 }; 1,2,3 | double") == [2, 4, 6]
    assert out("function f { begin { 'b' } process { \"p$_\" } end { 'e' } }; 1,2 | f") == [
        "b", "p1", "p2", "e"]
    assert out("function f { begin { 'b' } process { 'p' } end { 'e' } }; f") == ["b", "p", "e"]


def test_script_blocks_are_values_and_invocable() -> None:
    assert out("$sb = { param($x, $y) $x + $y }; & $sb 2 3; $sb.Invoke(4, 5)") == [5, 9]
    assert out("$sb = { 'hi' }; $sb -is [scriptblock]; \"$sb\"") == [True, " 'hi' "]
    assert out("$f = { param($n) $n * 3 }; 1,2 | % { & $f $_ }") == [3, 6]


def test_recursion_and_call_depth_overflow() -> None:
    assert out("function fact($n) { if ($n -le 1) { 1 } else { $n * (fact ($n - 1)) } }; "
               "fact 10") == [3628800]
    r = run("function inf { inf }; inf; 'next'")
    assert r.messages and "call depth overflow" in r.messages[0]


def test_splatting_hashtables_and_arrays() -> None:
    assert out("function f { param($a, $b) \"$a/$b\" }; $h = @{ b = 2; a = 1 }; f @h; "
               "$l = 3, 4; f @l") == ["1/2", "3/4"]


# ---------------------------------------------------------------- errors

def test_throw_ends_the_script_unless_caught() -> None:
    r = run("'a'; throw 'boom'; 'not reached'")
    assert r.output == ["a"] and not r.ok
    assert r.messages == ["boom"]
    assert r.errors[0].describe() == "Exception: boom"


def test_throw_inside_a_function_unwinds_through_it() -> None:
    r = run("function f { 'in'; throw 'x'; 'no' }; f; 'no either'")
    assert r.output == ["in"] and r.messages == ["x"]


def test_try_catch_finally() -> None:
    assert out("try { throw 'boom' } catch { \"caught: $_\" } finally { 'fin' }") == [
        "caught: boom", "fin"]
    assert out("try { 'ok' } finally { 'fin' }") == ["ok", "fin"]
    assert out("try { throw } catch { $_.Exception.Message }") == ["ScriptHalted"]
    assert out("try { throw [pscustomobject]@{a=1} } catch { $_.TargetObject.a }") == [1]


def test_catch_by_type_including_base_and_wrapped_types() -> None:
    assert out("try { $z = 0; 1 / $z } catch [System.DivideByZeroException] { 'dz' } "
               "catch { 'other' }") == ["dz"]
    assert out("try { $z = 0; 5 % $z } catch [ArithmeticException] { 'ar' }") == ["ar"]
    assert out("try { nosuch-cmd } catch [System.Management.Automation.CommandNotFoundException] "
               "{ 'cnf' }") == ["cnf"]
    assert out("try { nosuch-cmd } catch [System.DivideByZeroException] { 'no' } "
               "catch { 'generic' }") == ["generic"]
    assert out("try { throw 'x' } catch [System.Management.Automation.RuntimeException] "
               "{ 'rt' }") == ["rt"]
    assert out("try { throw 'x' } catch [Exception] { 'ex' }") == ["ex"]


def test_uncaught_type_falls_through_after_finally() -> None:
    r = run("try { throw 'x' } catch [System.IO.IOException] { 'io' } finally { 'fin' }; 'no'")
    assert r.output == ["fin"] and r.messages == ["x"]


def test_nested_try_and_rethrow() -> None:
    assert out("try { try { throw 'in' } finally { 'f1' } } catch { \"outer: $_\" }") == [
        "f1", "outer: in"]
    assert out("try { try { throw 'a' } catch { throw \"re-$_\" } } catch { $_.Exception.Message }"
               ) == ["re-a"]


def test_finally_runs_on_return_break_and_continue() -> None:
    assert out("function f { try { return 'r' } finally { 'fin' } }; f") == ["r", "fin"]
    assert out("foreach ($i in 1..3) { try { if ($i -eq 2) { continue }; $i } "
               "finally { \"f$i\" } }") == [1, "f1", "f2", 3, "f3"]


def test_statement_terminating_error_lets_the_next_statement_run() -> None:
    r = run("'a'; Write-Output -Bogus; 'b'; [int]'x'; 'c'")
    assert r.output == ["a", "b", "c"] and len(r.errors) == 2


def test_non_terminating_error_is_not_caught_and_the_command_continues() -> None:
    r = run("try { Write-Error 'nt'; 'after-in-try' } catch { 'caught' }; 'after'")
    assert r.output == ["after-in-try", "after"] and r.messages == ["nt"]


def test_error_action_stop_makes_it_terminating_and_catchable() -> None:
    assert out("try { Write-Error 'x' -ErrorAction Stop; 'no' } catch { \"c:$_\" }") == ["c:x"]
    r = run("Write-Error 'e1' -ErrorAction Stop; 'not reached'")
    assert r.output == [] and r.messages == ["e1"]


def test_error_action_silently_continue_and_ignore() -> None:
    rs = new_runspace()
    r = run("Write-Error 'bad' -ErrorAction SilentlyContinue; 'x'; $Error.Count", rs)
    assert r.output == ["x", 1] and r.errors == []
    r = run("$Error.Clear(); Write-Error 'bad' -ea Ignore; $Error.Count", rs)
    assert r.output == [0] and r.errors == []


def test_error_action_preference_variable() -> None:
    r = run("$ErrorActionPreference = 'Stop'; Write-Error 'stops'; 'not here'")
    assert r.output == [] and r.messages == ["stops"]
    r = run("$ErrorActionPreference = 'SilentlyContinue'; Write-Error 'quiet'; 'here'")
    assert r.output == ["here"] and r.errors == []
    r = run("$ErrorActionPreference = 'Stop'; try { nosuch-cmd } catch { 'caught' }")
    assert r.output == ["caught"]


def test_error_variable_and_append() -> None:
    assert out("Write-Error 'a' -ErrorVariable ev -ErrorAction SilentlyContinue; $ev.Count; "
               "\"$($ev[0])\"; Write-Error 'b' -ev +ev -ea SilentlyContinue; $ev.Count") == [
        1, "a", 2]


def test_warning_action_and_variable() -> None:
    r = run("Write-Warning 'w1' -WarningVariable wv -WarningAction SilentlyContinue; $wv")
    assert r.output == ["w1"] and streams(r) == []
    r = run("$WarningPreference = 'SilentlyContinue'; Write-Warning 'q'; 'ok'")
    assert r.output == ["ok"] and streams(r) == []
    r = run("try { Write-Warning 'w' -WarningAction Stop } catch { 'stopped' }")
    assert r.output == ["stopped"]


def test_out_variable() -> None:
    assert out("Write-Output 5 -OutVariable ov | Out-Null; $ov") == [5]


def test_verbose_and_debug_common_parameters_and_preferences() -> None:
    r = run("Write-Verbose 'v' -Verbose; Write-Verbose 'hidden'; Write-Debug 'd' -Debug; "
            "Write-Debug 'hidden'")
    assert streams(r) == [("Verbose", "v"), ("Debug", "d")]
    r = run("$VerbosePreference = 'Continue'; Write-Verbose 'shown'; Write-Verbose 'no' "
            "-Verbose:$false")
    assert streams(r) == [("Verbose", "shown")]


def test_warning_and_information_and_host_streams() -> None:
    r = run("Write-Warning 'w'; Write-Information 'hidden'; "
            "Write-Information 'shown' -InformationAction Continue; Write-Host 'h'")
    assert ("Warning", "w") in streams(r) and ("Information", "shown") in streams(r)
    assert ("Information", "hidden") not in streams(r)
    assert "h\n" in r.text


def test_common_parameter_type_errors() -> None:
    r = run("Write-Output 1 -ErrorAction Bogus")
    assert r.messages and r.messages[0].startswith("Cannot bind parameter 'ErrorAction'.")


def test_parse_errors_are_reported_and_nothing_runs() -> None:
    r = run("'a'; $x = (1 +* 2)")
    assert r.output == [] and not r.ok
    assert r.errors[0].CategoryInfo.Category == "ParserError"
    assert "You must provide a value expression following the '+' operator." in r.messages[0]
    assert "^" in r.messages[0]


def test_error_positions_in_multi_line_scripts() -> None:
    r = run("'ok'\n  nosuch-cmd-x arg")
    rec = r.errors[0]
    assert rec.InvocationInfo.ScriptLineNumber == 2 and rec.InvocationInfo.OffsetInLine == 3
    assert "~~~~~~~~~~~~" in rec.InvocationInfo.PositionMessage


# ---------------------------------------------------------------- chains and redirection

def test_and_and_or_chains() -> None:
    r = run("Write-Output a && Write-Output b; Write-Error x || Write-Output c; "
            "Write-Error y && Write-Output never")
    assert r.output == ["a", "b", "c"] and r.messages == ["x", "y"]


def test_a_chain_operator_may_be_followed_by_a_call_operator() -> None:
    r = run("$sb = { 'sb' }; Write-Error x || & { 'b' }; 'a' && & $sb; "
            "Write-Error y && & { 'never' }")
    assert r.output == ["b", "a", "sb"] and r.messages == ["x", "y"]


def test_redirect_output_to_files(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    assert out("'a' > o.txt; 'b' >> o.txt; Get-Content o.txt", cwd=cwd) == ["a", "b"]
    assert (tmp_path / "o.txt").read_text() == "a\nb\n"
    assert out("'c' > o.txt; Get-Content o.txt", cwd=cwd) == ["c"]


def test_redirect_errors_to_a_file_and_to_output(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    r = run("Write-Error 'e' 2> e.txt; 'next'", cwd=cwd)
    assert r.errors == [] and r.output == ["next"]
    assert (tmp_path / "e.txt").read_text() == "Write-Error: e\n"
    r = run("Write-Error 'm' 2>&1 | ForEach-Object { \"got: $_\" }")
    assert r.output == ["got: m"] and r.errors == []
    rec = one("$r = Write-Error 'cap' 2>&1; $r")
    assert isinstance(rec, ErrorRecord) and rec.message == "cap"


def test_redirect_all_streams_keeps_their_order(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    r = run("function f { 'out'; Write-Warning 'w'; Write-Error 'e'; Write-Verbose 'v' -Verbose; "
            "'last' }; f *> all.txt", cwd=cwd)
    assert r.errors == [] and r.output == [] and streams(r) == []
    assert (tmp_path / "all.txt").read_text().splitlines() == [
        "out", "WARNING: w", "f: e", "VERBOSE: v", "last"]


def test_redirect_to_null_discards() -> None:
    r = run("'x' > $null; Write-Error 'z' 2> $null; Write-Warning 'w' 3> $null; 'done'")
    assert r.output == ["done"] and r.errors == [] and streams(r) == []


def test_merge_warning_stream_into_output() -> None:
    assert out("function f { 'o'; Write-Warning 'ww' }; f 3>&1 | % { \"[$_]\" }") == [
        "[o]", "[ww]"]


# ---------------------------------------------------------------- formatted output

def test_default_output_is_formatted_by_the_host() -> None:
    r = show("'line'; 1..2")
    assert r.text == "line\n1\n2\n"


# ---------------------------------------------------------------- the stop hook

def test_request_stop_ends_an_endless_loop_and_runs_finally() -> None:
    rs = new_runspace()
    timer = threading.Timer(0.2, rs.interp.request_stop)
    timer.start()
    started = time.monotonic()
    result = rs.run("$i = 0; try { while ($true) { $i++ } } finally { $global:fin = 'ran' }",
                    out=ListSink())
    timer.join()
    assert result.stopped and not result.ok
    assert time.monotonic() - started < 5
    sink = ListSink()
    rs.run("$fin; $i -gt 0", out=sink)
    assert sink.items == ["ran", True]


def test_a_stop_requested_while_idle_does_not_stop_the_next_run() -> None:
    rs = new_runspace()
    rs.interp.request_stop()
    sink = ListSink()
    result = rs.run("1; 2", out=sink)
    assert sink.items == [1, 2] and not result.stopped


def test_a_stop_is_not_catchable_by_script_code() -> None:
    rs = new_runspace()
    timer = threading.Timer(0.1, rs.interp.request_stop)
    timer.start()
    sink = ListSink()
    result = rs.run("try { while ($true) { } } catch { 'caught' }; 'after'", out=sink)
    timer.join()
    assert result.stopped and sink.items == []


def test_natives_can_be_disabled() -> None:
    rs = create_runspace(local_options(MemoryHost()).derive(natives_enabled=False))
    r = run("sh -c 'echo hi'", rs)
    assert r.output == [] and r.messages == [NOT_RECOGNIZED.format("sh")]


def test_a_python_exception_from_a_cmdlet_is_reported_and_the_session_goes_on() -> None:
    from pjsh.commands import builtin_registry
    from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec
    from pjsh.runtime.runspace import INTERNAL_ERROR_ID

    class Broken(Cmdlet):
        """A cmdlet with a bug."""

        spec = CommandSpec("Invoke-Broken")

        def process(self, args: Bound) -> None:
            """Fail the way a bug does."""
            raise ValueError("boom")

    reg = builtin_registry()
    reg.add(Broken)
    rs = create_runspace(local_options(MemoryHost()).derive(registry=reg))
    r = run("'before'; Invoke-Broken; 'after'", rs)
    assert r.output == ["before"]
    assert r.errors[0].FullyQualifiedErrorId == INTERNAL_ERROR_ID
    assert r.messages[0].startswith("pjsh internal error: ValueError: boom.")
    assert run("'still alive'", rs).output == ["still alive"]


def test_null_coalescing_operators() -> None:
    assert out("$x = $null; $x ?? 'default'; 5 ?? 6; $null ?? $null ?? 3") == ["default", 5, 3]
    assert out("$y ??= 7; $y ??= 8; $y") == [7]
    assert out("1 ?? (nosuch-cmd)") == [1]  # the right side is not evaluated
    assert out("$true -and $null ?? 'x'") == [False]  # ?? binds more loosely than -and


def test_select_first_stops_an_endless_function_producer() -> None:
    result = run("function g { while ($true) { 1 } }; g | Select-Object -First 2; 'after'")
    assert result.output == [1, 1, "after"]


def test_stop_signal_from_an_outer_pipeline_passes_through_nested_pipelines() -> None:
    result = run("$n = 0; 1..10 | ForEach-Object { 1..10 | ForEach-Object { $n++; $_ } } "
                 "| Select-Object -First 3; $n")
    assert result.output == [1, 2, 3, 3]


def test_assigning_to_null_discards_the_value() -> None:
    result = run("$null = Write-Output 5; 'after'")
    assert result.output == ["after"]
    assert result.errors == []


def test_count_of_null_is_zero_and_of_a_single_object_is_one() -> None:
    assert run("$null.Count; (7).Count; @().Count").output == [0, 1, 0]


def test_pwd_is_a_path_info_whose_string_is_the_path(tmp_path: Path) -> None:
    result = run("$PWD.Path; \"$PWD\"", cwd=str(tmp_path))
    assert result.output == [str(tmp_path), str(tmp_path)]


def test_pipeline_variable_holds_the_current_object_for_later_commands() -> None:
    result = run("1..3 | ForEach-Object { $_ * 10 } -PipelineVariable p | "
                 "ForEach-Object { \"$p/$_\" }")
    assert result.output == ["10/10", "20/20", "30/30"]


def test_warning_action_stop_ends_the_script() -> None:
    result = run("Write-Warning w -WarningAction Stop; 'not reached'")
    assert result.output == []
    assert "set to Stop: w" in result.messages[0]


def test_redirected_warnings_are_written_as_warning_records_display(tmp_path: Path) -> None:
    # A WarningRecord formats as "WARNING: <message>", in a file as on the console.
    target = tmp_path / "w.txt"
    run(f"Write-Warning careful 3> '{target}'")
    assert target.read_text() == "WARNING: careful\n"


def test_redirecting_success_to_the_error_stream_is_a_parse_error() -> None:
    result = run("echo a 1>&2")
    assert "The '1>&2' operator is reserved for future use." in result.messages[0]


def test_a_loop_formats_its_objects_as_one_table() -> None:
    from tests.harness import show

    result = show("foreach ($i in 1..3) { [pscustomobject]@{N=$i} }")
    assert result.text.count("N\n-\n") == 1
    assert "1\n2\n3" in result.text


def test_dates_subtract_to_time_spans_and_take_add_methods() -> None:
    result = run('$a = Get-Date -Date "2026-01-02 03:04:05"; $a.AddDays(1).Day; '
                 '$a.ToString("yyyy-MM-dd"); ($a.AddHours(2) - $a).TotalMinutes; '
                 '$a.GetType().FullName')
    assert result.output == [3, "2026-01-02", 120.0, "System.DateTime"]


def test_psobject_view_lists_type_names_and_properties() -> None:
    result = run("(1).PSObject.TypeNames; ([pscustomobject]@{a=1; b=2}).PSObject.Properties")
    assert result.output == ["System.Int32", "a", "b"]
