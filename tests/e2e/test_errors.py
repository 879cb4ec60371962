"""Bad input in scripted mode, through the installed pjsh: each mistake from the issue gives a
PowerShell-style message on stderr, and the next statement still runs."""

from __future__ import annotations

import pytest

from tests.e2e.test_cli import command, script

NOT_RECOGNIZED = ("{0}: The term '{0}' is not recognized as a name of a cmdlet, function, "
                  "script file, or executable program.\nCheck the spelling of the name, or if a "
                  "path was included, verify that the path is correct and try again.\n")

CASES = [
    pytest.param("nosuch-command-x", NOT_RECOGNIZED.format("nosuch-command-x"),
                 id="unknown command"),
    pytest.param("Write-Output -Bogus 1",
                 "Write-Output: A parameter cannot be found that matches parameter name "
                 "'Bogus'.\n", id="unknown parameter"),
    pytest.param("Write-Output -In 1",
                 "Write-Output: Parameter cannot be processed because the parameter name 'In' is "
                 "ambiguous. Possible matches include: -InputObject -InformationAction "
                 "-InformationVariable.\n", id="ambiguous abbreviation"),
    pytest.param("Write-Warning",
                 "Write-Warning: Cannot process command because of one or more missing "
                 "mandatory parameters: Message.\n", id="missing mandatory parameter (cmdlet)"),
    pytest.param("function need { param([Parameter(Mandatory)]$Name) $Name }; need",
                 "need: Cannot process command because of one or more missing mandatory "
                 "parameters: Name.\n", id="missing mandatory parameter (function)"),
    pytest.param("Write-Output 1 -ErrorAction Sometimes",
                 "Write-Output: Cannot bind parameter 'ErrorAction'. Cannot convert value "
                 "\"Sometimes\" to type \"System.Management.Automation.ActionPreference\". "
                 "Error: \"Unable to match the identifier name Sometimes to a valid enumerator "
                 "name. Specify one of the following enumerator names and try again:\n"
                 "SilentlyContinue, Stop, Continue, Inquire, Ignore, Suspend, Break\"\n",
                 id="wrong type (cmdlet)"),
    pytest.param("function half([int]$n) { $n / 2 }; half abc",
                 "half: Cannot process argument transformation on parameter 'n'. Cannot convert "
                 "value \"abc\" to type \"System.Int32\". Error: \"The input string 'abc' was "
                 "not in a correct format.\"\n", id="wrong type (function)"),
    pytest.param("$z = 0; 1 / $z", "RuntimeException: Attempted to divide by zero.\n",
                 id="division by zero"),
    pytest.param("/nonexistent/dir/prog --flag", NOT_RECOGNIZED.format("/nonexistent/dir/prog"),
                 id="native path that does not exist"),
    pytest.param("no-such-native-program-xyz a b",
                 NOT_RECOGNIZED.format("no-such-native-program-xyz"),
                 id="native name not on PATH"),
    pytest.param("throw 'custom failure'", "Exception: custom failure\n", id="throw"),
    pytest.param("[int]'abc'",
                 "InvalidArgument: Cannot convert value \"abc\" to type \"System.Int32\". Error: "
                 "\"The input string 'abc' was not in a correct format.\"\n", id="bad cast"),
    pytest.param("'abc'.Substring(9)",
                 "MethodInvocationException: Exception calling \"Substring\" with \"1\" "
                 "argument(s): \"startIndex cannot be larger than length of string.\"\n",
                 id="method exception"),
]


@pytest.mark.parametrize(("bad", "message"), CASES)
def test_bad_input_reports_and_the_next_statement_runs(bad: str, message: str) -> None:
    r = script(f"'before'\n{bad}\n'after'\n")
    assert r.stdout == "before\nafter\n"
    assert r.stderr == message
    assert r.returncode == 0  # the last statement succeeded


def test_several_errors_in_a_row_all_report_and_the_script_finishes() -> None:
    bad = "\n".join(str(case.values[0]) for case in CASES)
    r = script(f"{bad}\n'survived'\n")
    assert r.stdout == "survived\n"
    assert r.stderr.count("\n") >= len(CASES)


def test_parse_error_with_caret_under_the_offending_token() -> None:
    r = script("'before'\n$x = (1 +* 2)\n'after'\n")
    assert r.stdout == "before\nafter\n"
    lines = r.stderr.splitlines()
    assert lines == [
        "ParserError: line 1, column 10",
        "Line |",
        "   1 |  $x = (1 +* 2)",
        "     |           ^",
        "     | You must provide a value expression following the '+' operator.",
    ]
    # The caret sits exactly under the '*' that could not start an operand.
    source_line, caret_line = lines[2], lines[3]
    assert source_line[caret_line.index("^")] == "*"


def test_parse_error_with_tildes_under_a_longer_token() -> None:
    r = script("'before'\nparam($a); param($b)\n'after'\n")
    assert r.stdout == "before\nafter\n"
    lines = r.stderr.splitlines()
    assert lines[-1] == "     | The param block must be the first statement in a script block."
    source_line, caret_line = lines[2], lines[3]
    start = caret_line.index("~")
    assert source_line[start:start + caret_line.count("~")] == "param"


def test_runtime_error_in_a_multi_line_statement_shows_where() -> None:
    r = script("if ($true) {\n  'in'\n  nosuch-inner-cmd\n}\n'after'\n")
    assert r.stdout == "in\nafter\n"
    assert r.stderr.splitlines() == [
        "nosuch-inner-cmd: ",
        "Line |",
        "   3 |    nosuch-inner-cmd",
        "     |    ~~~~~~~~~~~~~~~~",
        "     | The term 'nosuch-inner-cmd' is not recognized as a name of a cmdlet, function, "
        "script file, or executable program.",
        "     | Check the spelling of the name, or if a path was included, verify that the path is "
        "correct and try again.",
    ]


def test_throw_ends_a_dash_c_script_but_not_the_scripted_session() -> None:
    r = command("'a'; throw 'stop here'; 'not reached'")
    assert (r.stdout, r.returncode) == ("a\n", 1)
    assert r.stderr == "Exception: stop here\n"
    r = script("throw 'first'\n'next line runs'\n")
    assert r.stdout == "next line runs\n" and r.stderr == "Exception: first\n"


def test_error_action_stop_ends_the_statement_and_is_catchable() -> None:
    r = script("Write-Error 'stopped' -ErrorAction Stop; 'same statement'\n"
               "try { Write-Error 'c' -ea Stop } catch { \"caught $_\" }\n")
    assert r.stdout == "caught c\n"
    assert r.stderr == "Write-Error: stopped\n"


def test_non_terminating_errors_let_the_command_continue() -> None:
    r = script("1..3 | ForEach-Object { if ($_ -eq 2) { Write-Error \"bad $_\" } else { $_ } }\n")
    assert r.stdout == "1\n3\n"
    assert r.stderr == "Write-Error: bad 2\n"
