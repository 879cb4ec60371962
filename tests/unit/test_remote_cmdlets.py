"""The remoting cmdlets where no host is needed: Invoke-Command's InProcess set, the session
table's errors, and Enter-Session's host check (tests/e2e/test_remoting.py covers the rest
against a real sshd)."""

from __future__ import annotations

from pjsh.engine import local_options
from pjsh.remote import REMOTE_MANIFEST
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import create_runspace
from pjsh.runtime.streams import ListSink


def run(text: str, *, reads_lines: bool = False) -> tuple[list[object], list[str], MemoryHost]:
    """Output and error messages of ``text`` in a runspace with the remoting cmdlets."""
    host = MemoryHost()
    rs = create_runspace(local_options(host, extra_commands=REMOTE_MANIFEST,
                                       reads_lines=reads_lines))
    sink = ListSink()
    rs.run(text, out=sink)
    return sink.items, [e.message for e in host.errors], host


def test_invoke_command_in_process_runs_in_a_child_scope_with_arguments_and_input() -> None:
    out, errors, _ = run("$x = 1; Invoke-Command { param($a) $x = 5; $a * 2 } -ArgumentList 21;"
                         " $x; 1, 2 | Invoke-Command { $input | ForEach-Object { $_ + 10 } }")
    assert errors == []
    assert out == [42, 1, 11, 12]


def test_invoke_command_no_new_scope_changes_the_callers_variables() -> None:
    out, errors, _ = run("$x = 1; Invoke-Command -NoNewScope { $x = 5 }; $x")
    assert errors == [] and out == [5]


def test_the_pssession_names_are_aliases_and_an_empty_table_lists_nothing() -> None:
    out, errors, _ = run("Get-PSSession; (Get-Alias gsn).Definition; "
                         "(Get-Alias New-PSSession).Definition")
    assert errors == [] and out == ["Get-Session", "New-Session"]


def test_unknown_session_ids_and_names_say_so_as_pwsh_does() -> None:
    _, errors, _ = run("Get-Session -Id 7; Get-Session -Name web; Remove-Session -Id 3")
    assert errors == ["The remote session with the session ID 7 is not available.",
                      "The remote session with the name web  is not available.",
                      "The remote session with the session ID 3 is not available."]


def test_exit_session_outside_a_session_does_nothing() -> None:
    out, errors, _ = run("Exit-Session; Exit-PSSession; 'ok'")
    assert errors == [] and out == ["ok"]


def test_enter_session_needs_a_host_that_reads_more_lines() -> None:
    _, errors, _ = run("Enter-Session -HostName somewhere")
    assert errors == ["The host does not support Enter-PSSession and Exit-PSSession."]


def test_a_host_name_that_cannot_be_parsed_is_one_clear_error() -> None:
    out, errors, _ = run("Invoke-Command -HostName 'a@b@c:x' { 1 }; 'after'")
    assert out == ["after"]
    assert len(errors) == 1 and "a@b@c:x" in errors[0]


def test_a_missing_key_file_is_named_before_connecting() -> None:
    _, errors, _ = run("New-Session -HostName h -KeyFilePath /nonexistent/key")
    assert errors == ["The specified key file /nonexistent/key was not found."]
