"""The console on a real pty (pexpect): job notices above a half-typed line, Ctrl+R then Enter,
Tab completion of job names and members, and Read-Host secrets that never echo."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_repl_pty import Shell, line_out

pytestmark = pytest.mark.slow


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    """An interactive pjsh, already at its first prompt."""
    sh = Shell(tmp_path).start()
    try:
        sh.expect_exact(sh.prompt)
        yield sh
    finally:
        sh.kill()


def test_a_notice_appears_above_a_half_typed_line_which_stays_intact(shell: Shell,
                                                                      tmp_path: Path) -> None:
    flag = tmp_path / "go"
    shell.run(f"$j = Start-ThreadJob -Name waiter {{ while (-not (Test-Path '{flag}')) "
              "{ Start-Sleep -Milliseconds 20 } }; 'st' + 'arted'", line_out("started"))
    shell.pty.send("'half' + 'typed")
    shell.expect_exact("'typed")
    flag.write_text("")
    shell.expect(r"\[1\] Completed  .*\(\d+\.\d s\)")
    shell.pty.send("'\r")
    shell.expect(line_out("halftyped"))


def test_pjsh_notify_jobs_false_prints_no_notice(shell: Shell) -> None:
    shell.run("$PjshNotifyJobs = $false; Start-ThreadJob { 1 } | Wait-Job | Out-Null; "
              "'qu' + 'iet'", line_out("quiet"))
    seen = shell.run("'ne' + 'xt'", line_out("next"))
    assert "Completed" not in seen


def test_ctrl_r_then_enter_runs_the_found_line(shell: Shell) -> None:
    shell.run("'fou' + 'nd-it'", line_out("found-it"))
    shell.run("'other'", line_out("other"))
    shell.pty.sendcontrol("r")
    shell.pty.send("'fou")
    shell.expect_exact("'fou")
    shell.pty.send("\r")
    shell.expect(line_out("found-it"))
    shell.expect_exact(shell.prompt)
    shell.run("(Get-History).Count", line_out("3"))


def test_tab_completes_job_names_and_members(shell: Shell) -> None:
    shell.run("$j = Start-ThreadJob -Name buildjob { 'built' }; $j | Wait-Job | Out-Null; "
              "'wa' + 'ited'", line_out("waited"))
    shell.pty.send("Receive-Job -Keep -Name bui\t")
    shell.expect_exact("buildjob")
    shell.pty.send("\r")
    shell.expect(line_out("built"))
    shell.expect_exact(shell.prompt)
    shell.pty.send("$j.JobStateInfo.Sta\t")
    shell.expect_exact("State")
    shell.pty.send("\r")
    shell.expect(line_out("Completed"))


def test_read_host_secret_is_not_echoed(shell: Shell) -> None:
    log = io.StringIO()
    shell.pty.logfile_read = log
    shell.pty.send("$s = Read-Host pw -AsSecureString\r")
    shell.expect_exact("pw:")
    shell.pty.send("hunter2\r")
    shell.expect_exact(shell.prompt)
    shell.run("$s.Length", line_out("7"))
    shell.run("\"$s\"", line_out("System.Security.SecureString"))
    assert "hunter2" not in log.getvalue()
