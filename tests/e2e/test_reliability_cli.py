"""Reproduced crashes through the installed ``pjsh``: each input gives PowerShell's result or
a PowerShell error, never "pjsh internal error", and the rest of the -c script still runs."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import command, pjsh_command, pjsh_env

INTERNAL = "pjsh internal error"


def test_begin_block_output_reaches_later_stages_in_a_dash_c_script() -> None:
    r = command('1..3 | ForEach-Object -Begin {"header"} -Process {$_} | Sort-Object; '
                'function f { begin {"b"} process {$_} }; 1..2 | f | sort; '
                '1..2 | f | /bin/cat; "after"')
    assert INTERNAL not in r.stderr and r.stderr == ""
    assert r.stdout.split() == ["1", "2", "3", "header", "1", "2", "b", "b", "1", "2", "after"]


def test_a_running_background_job_survives_a_bad_one_started_next_to_it() -> None:
    r = command('$good = /bin/sleep 2 &; $bad = /bin/echo "x`0y" &; '
                'Wait-Job $bad | Out-Null; "bad:" + $bad.State; "good:" + $good.State; '
                '$bad.ChildJobs[0].JobStateInfo.Reason.Message; '
                'Wait-Job $good | Out-Null; "good:" + $good.State; "after"')
    assert INTERNAL not in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "bad:Failed" and lines[1] == "good:Running"
    assert lines[2].startswith("Program '/bin/echo' failed to run: Cannot process argument")
    assert lines[3:] == ["good:Completed", "after"]


def test_bad_environment_assignments_are_errors_and_natives_keep_working() -> None:
    r = command('${env:A=B} = "c"; $env:X = "a`0b"; /bin/echo "a`0b"; /bin/echo works; '
                '$j = /bin/echo job &; Wait-Job $j | Out-Null; Receive-Job $j; "after"')
    assert INTERNAL not in r.stderr
    assert r.stdout == "works\njob\nafter\n"
    assert r.stderr.count("\n") == 3
    assert "Environment variable name cannot contain equal character." in r.stderr


def test_300_asjob_jobs_under_a_256_descriptor_limit_leak_nothing() -> None:
    # Each -AsJob job's runspace opens /dev/null for its natives; a leak of one descriptor per
    # job would exhaust the limit well before the 300th job.
    script = ("foreach ($i in 1..300) { Get-Date -AsJob | Out-Null }; "
              "Get-Job | Wait-Job | Remove-Job; 'jobs left: ' + @(Get-Job).Count; "
              "'fds: ' + @(Get-ChildItem /proc/$PID/fd).Count; 'after'")
    quoted = script.replace("'", "'\\''")
    r = subprocess.run(["bash", "-c", f"ulimit -n 256; exec {' '.join(pjsh_command())} "
                        f"-NoProfile -c '{quoted}'"],
                       capture_output=True, text=True, env=pjsh_env(), timeout=120, check=False)
    assert "Too many open files" not in r.stderr and "Traceback" not in r.stderr
    assert r.stderr == "" and r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "jobs left: 0" and lines[-1] == "after"
    assert int(lines[1].split()[1]) < 64


def test_operator_sleep_and_write_failures_are_errors_and_the_script_goes_on() -> None:
    r = command("-bnot 'x'; 'abc' -split @(); Start-Sleep -Seconds 1e400; 'x' > /dev/full; "
                "'x' *> /dev/full; Set-Content /dev/full x; 'x' | Tee-Object /dev/full; 'after'")
    assert INTERNAL not in r.stderr
    assert r.stdout == "after\n"
    assert r.stderr.count("No space left on device : '/dev/full'") == 4
    assert "Bad argument to operator '-split'" in r.stderr
    assert "Cannot validate argument on parameter 'Seconds'" in r.stderr


def _gone_within(pid: int, timeout: float) -> bool:
    """True once the process has exited (waited for through a pidfd, not polled)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


@pytest.mark.slow
@pytest.mark.parametrize("stderr_kind", ["closed", "pipe without reader", "hung-up terminal"])
def test_leaving_stops_a_thread_jobs_native_even_when_the_goodbye_cannot_be_written(
        tmp_path: Path, stderr_kind: str) -> None:
    pid_file = tmp_path / "pid"
    script = (f"$f = '{pid_file}'; "
              "$j = Start-ThreadJob { param($f) /bin/sh -c \"echo `$`$ > $f; exec sleep 300\" } "
              "-ArgumentList $f; "
              "while (-not (Test-Path $f) -or -not (Get-Content $f)) { Start-Sleep -Milliseconds 20 }; "
              "'started'")
    argv = [*pjsh_command(), "-NoProfile", "-c", script]
    if stderr_kind == "closed":
        proc = subprocess.Popen(["bash", "-c", 'exec "$@" 2>&-', "bash", *argv],
                                stdout=subprocess.PIPE, env=pjsh_env())
    elif stderr_kind == "pipe without reader":
        read_end, write_end = os.pipe()
        os.close(read_end)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=write_end, env=pjsh_env())
        os.close(write_end)
    else:
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=pjsh_env())
        os.close(slave)
        os.close(master)  # the terminal is gone: writes to it now fail with EIO
    out, _ = proc.communicate(timeout=60)
    assert out.decode().splitlines() == ["started"]
    sleeper = int(pid_file.read_text())
    assert _gone_within(sleeper, 10), f"the job's process {sleeper} outlived pjsh"


def test_native_comma_lists_and_deviations_through_pjsh() -> None:
    r = command("ps -eo pid,cmd | Select-Object -First 1; function g {}; $e = g; @($e).Count; "
                "function r { r }; r; $?; '{0:X}' -f 'abc'; [regex]'('; "
                "1..3 | Select-Object -First -1; 'after'")
    assert INTERNAL not in r.stderr
    assert r.stdout.split() == ["PID", "CMD", "0", "False", "after"]
    assert r.stderr.count("\n") == 4
