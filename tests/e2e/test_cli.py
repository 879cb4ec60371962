"""The installed ``pjsh`` command end to end: scripted stdin mode (statements run as they
arrive, continuation lines joined), ``-c``, script files with arguments, exit statuses,
``--version`` and ``-h``. Helpers here are shared by the other e2e modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from pjsh import __version__


def pjsh_command() -> list[str]:
    """The installed ``pjsh`` executable, else the module run by this Python."""
    exe = shutil.which("pjsh")
    return [exe] if exe else [sys.executable, "-m", "pjsh"]


def pjsh_env(**extra: str) -> dict[str, str]:
    """The environment for a pjsh child: plain output, no colour, no terminal width guess."""
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "COLUMNS": "120", "LC_ALL": "C.UTF-8"})
    env.update(extra)
    return env


def pjsh(args: Sequence[str], stdin: str | bytes | None = None, cwd: str | Path | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run pjsh with arguments (and stdin text), capturing text output."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run([*pjsh_command(), *args], input=data, capture_output=True,
                          cwd=cwd, env=pjsh_env(), timeout=timeout, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "surrogateescape"),
                                       proc.stderr.decode("utf-8", "surrogateescape"))


def script(text: str, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """Scripted mode: the text arrives on stdin (not a terminal)."""
    return pjsh(["-NoProfile"], stdin=text, cwd=cwd)


def command(text: str, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """``pjsh -NoProfile -c text``."""
    return pjsh(["-NoProfile", "-c", text], cwd=cwd)


# ---------------------------------------------------------------- scripted stdin mode

def test_issue_example_in_scripted_mode() -> None:
    r = script("$x = 1..5 | Where-Object { $_ -gt 2 }; \"n=$($x.Count)\"\n")
    assert (r.stdout, r.stderr, r.returncode) == ("n=3\n", "", 0)


def test_issue_example_through_a_shell_pipe() -> None:
    cmd = " ".join(pjsh_command())
    line = "'$x = 1..5 | Where-Object { $_ -gt 2 }; \"n=$($x.Count)\"'"
    r = subprocess.run(["sh", "-c", f"echo {line} | {cmd} -NoProfile"], capture_output=True,
                       text=True, env=pjsh_env(), timeout=60, check=False)
    assert (r.stdout, r.returncode) == ("n=3\n", 0)


def test_continuation_lines_are_joined_while_a_statement_is_incomplete() -> None:
    text = (
        "function f {\n  param($a)\n  \"got $a\"\n}\nf 1\n"
        "$x = @(\n1,\n2)\n$x.Count\n"
        "\"multi\nline\"\n"
        "1 +\n2\n"
        "1,2,3 |\n  Measure-Object |\n  ForEach-Object Count\n"
        "$h = @{\n a = 1\n}\n$h.a\n"
        "@\"\nhere $(1+1)\n\"@\n"
        "<# block\ncomment #> 'bc'\n"
        "Write-Output `\n  cont\n"
        "if ($true) {\n'in if'\n}\n"
    )
    r = script(text)
    assert r.stderr == ""
    assert r.stdout.splitlines() == ["got 1", "2", "multi", "line", "3", "3", "1", "here 2",
                                     "bc", "cont", "in if"]
    assert r.returncode == 0


def test_statements_run_as_they_arrive() -> None:
    proc = subprocess.Popen([*pjsh_command(), "-NoProfile"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=pjsh_env())
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"'first'\n")
        proc.stdin.flush()
        # The first statement's output arrives while stdin is still open.
        assert proc.stdout.readline() == b"first\n"
        proc.stdin.write(b"function g {\n")
        proc.stdin.flush()
        proc.stdin.write(b"'second' }\ng\n")
        proc.stdin.close()
        assert proc.stdout.read() == b"second\n"
    finally:
        proc.kill() if proc.poll() is None else None
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_a_native_does_not_swallow_the_rest_of_the_script() -> None:
    r = script("cat\n'after cat'\n")
    assert r.stdout == "after cat\n" and r.returncode == 0


def test_exit_statement_stops_reading_and_sets_the_status() -> None:
    r = script("'one'\nexit 7\n'never'\n")
    assert (r.stdout, r.returncode) == ("one\n", 7)


def test_scripted_mode_status_is_that_of_the_last_statement() -> None:
    assert script("Write-Error 'x'\n'ok'\n").returncode == 0
    r = script("'ok'\nWrite-Error 'x'\n")
    assert r.returncode == 1 and r.stderr == "Write-Error: x\n"


def test_an_unfinished_statement_at_end_of_input_is_a_parse_error() -> None:
    r = script("'ok'\nif ($true) {\n")
    assert r.stdout == "ok\n" and r.returncode == 1
    assert "Missing closing '}' in statement block or type definition." in r.stderr


def test_output_is_plain_without_escape_sequences() -> None:
    r = script("[pscustomobject]@{ A = 1; B = 'x' }\nWrite-Warning 'w'\n")
    assert "\x1b" not in r.stdout + r.stderr
    assert r.stdout.split() == ["A", "B", "-", "-", "1", "x"]
    assert r.stderr == "WARNING: w\n"


# ---------------------------------------------------------------- -c and script files

def test_dash_c_runs_and_exits_with_the_last_statement_status() -> None:
    r = command("'a'; 'b'")
    assert (r.stdout, r.returncode) == ("a\nb\n", 0)
    assert command("'a'; Write-Error 'e'").returncode == 1
    assert command("Write-Error 'e'; 'a'").returncode == 0


def test_dash_c_joins_remaining_arguments() -> None:
    r = pjsh(["-NoProfile", "-c", "Write-Output", "a", "b"])
    assert r.stdout == "a\nb\n"


@pytest.mark.parametrize(("text", "status"), [
    ("exit 5", 5), ("exit 0", 0), ("exit", 0), ("exit 256", 0), ("exit 300", 44),
    ("exit -1", 255), ("throw 'x'", 1), ("nosuch-command", 1), ("1/0", 1), ("$true", 0),
])
def test_exit_statuses(text: str, status: int) -> None:
    assert command(text).returncode == status


def test_command_option_spellings() -> None:
    for flag in ("-Command", "-command", "--command"):
        assert pjsh(["-NoProfile", flag, "'x'"]).stdout == "x\n"
    assert pjsh(["-NoProfile", "-NonInteractive", "-c", "'y'"]).stdout == "y\n"


def test_script_file_with_arguments(tmp_path: Path) -> None:
    f = tmp_path / "s.ps1"
    f.write_text("#!/usr/bin/env pjsh\n\"n=$($args.Count)\"\n$args[0]\n$args[1]\n"
                 "\"root=$PSScriptRoot\"\nexit 4\n")
    r = pjsh(["-NoProfile", str(f), "one", "two words"])
    assert r.stdout.splitlines() == ["n=2", "one", "two words", f"root={tmp_path}"]
    assert r.returncode == 4
    r = pjsh(["-NoProfile", "-File", str(f), "x"])
    assert r.stdout.splitlines()[:2] == ["n=1", "x"]


def test_script_file_functions_and_statement_errors(tmp_path: Path) -> None:
    f = tmp_path / "s.ps1"
    f.write_text("function Add($a, $b) { $a + $b }\nnosuch-in-script\nAdd 2 3\n")
    r = pjsh(["-NoProfile", str(f)])
    assert r.stdout == "5\n" and r.returncode == 0
    assert r.stderr.splitlines() == [
        f"nosuch-in-script: {f}:2",
        "Line |",
        "   2 |  nosuch-in-script",
        "     |  ~~~~~~~~~~~~~~~~",
        "     | The term 'nosuch-in-script' is not recognized as a name of a cmdlet, function, "
        "script file, or executable program.",
        "     | Check the spelling of the name, or if a path was included, verify that the path is "
        "correct and try again.",
    ]


def test_script_file_parse_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.ps1"
    f.write_text("'fine'\n$x = (1 +* 2)\n")
    r = pjsh(["-NoProfile", str(f)])
    assert r.stdout == "" and r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == f"ParserError: {f}:2:10"
    assert lines[2] == "   2 |  $x = (1 +* 2)"
    assert lines[3] == "     |           ^"


def test_missing_script_file() -> None:
    r = pjsh(["-NoProfile", "/nonexistent/x.ps1"])
    assert r.returncode == 64
    assert "The argument '/nonexistent/x.ps1' is not recognized as the name of a script file." \
        in r.stderr


# ---------------------------------------------------------------- own options

def test_version() -> None:
    r = pjsh(["--version"])
    assert (r.stdout, r.returncode) == (f"pjsh {__version__}\n", 0)


@pytest.mark.parametrize("flag", ["-h", "-Help", "--help", "-?"])
def test_help(flag: str) -> None:
    r = pjsh([flag])
    assert r.returncode == 0 and r.stdout.startswith("Usage: pjsh")
    assert "-NoProfile" in r.stdout and "--version" in r.stdout


def test_unknown_option() -> None:
    r = pjsh(["-Bogus"])
    assert r.returncode == 64
    assert r.stderr == "pjsh: Unknown option '-Bogus'. Run 'pjsh -h' for usage.\n"


def test_missing_command_text() -> None:
    r = pjsh(["-c"])
    assert r.returncode == 64 and "Missing the argument for -Command." in r.stderr


def test_batch_modes_do_not_import_the_console_libraries() -> None:
    probe = ("import sys; from pjsh.cli import main; code = main(['-NoProfile', '-c', "
             "'1..3 | % { $_ }']); heavy = [m for m in ('rich', 'prompt_toolkit', 'pygments', "
             "'asyncssh') if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       env=pjsh_env(), timeout=60, check=False)
    assert r.stdout.splitlines()[-1] == "[]"


def test_input_holds_stdin_lines_in_command_mode() -> None:
    result = pjsh(["-NoProfile", "-c", "$input | ForEach-Object { \"got $_\" }"], stdin="a\nb\n")
    assert result.stdout.splitlines() == ["got a", "got b"]


def test_stdin_stays_with_a_native_when_input_is_not_used() -> None:
    result = pjsh(["-NoProfile", "-c", "wc -l"], stdin="1\n2\n3\n")
    assert result.stdout.strip() == "3"


def test_leaving_with_running_jobs_stops_them_and_says_so() -> None:
    result = pjsh(["-NoProfile", "-c", "$j = sleep 300 &; $j.ChildJobs[0].ProcessId"])
    pid = int(result.stdout.strip().splitlines()[-1])
    assert "stopping 1 running job(s) before exit: Job1" in result.stderr
    assert not os.path.exists(f"/proc/{pid}") or _zombie_or_gone(pid)


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_script_file_param_block_binds_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "p.ps1"
    path.write_text('param([int]$Count = 1, [switch]$Loud, $Name)\n'
                    '"count=$Count loud=$Loud name=$Name args=$args"\n')
    named = pjsh(["-NoProfile", str(path), "-Count", "3", "-L", "-Name", "bob", "extra"])
    assert named.stdout.strip() == "count=3 loud=True name=bob args=extra"
    positional = pjsh(["-NoProfile", str(path), "7", "joe"])
    assert positional.stdout.strip() == "count=7 loud=False name=joe args="
    bad = pjsh(["-NoProfile", str(path), "-Count", "x"])
    assert bad.returncode == 1
    assert "Cannot process argument transformation on parameter 'Count'" in bad.stderr


def test_leaving_runs_exit_handlers_flushes_output_and_keeps_the_status() -> None:
    program = ("import atexit, sys\n"
               "from pjsh.cli import leave\n"
               "atexit.register(lambda: sys.stdout.write(' and bye'))\n"
               "sys.stdout.write('unflushed')\n"
               "leave(3)\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=30)
    assert (done.returncode, done.stdout) == (3, "unflushed and bye")


def test_the_exit_status_of_a_script_reaches_the_caller_with_all_its_output() -> None:
    done = subprocess.run([*pjsh_command(), "-NoProfile", "-c", "1..3; /bin/true &; exit 7"],
                          capture_output=True, text=True, timeout=60, env=pjsh_env())
    assert done.returncode == 7
    assert done.stdout.startswith("1\n2\n3\n") and "BackgroundJob" in done.stdout


# ---------------------------------------------------------------- Ctrl+C ends a blocking wait

def interrupt_when_ready(text: str, cwd: Path) -> tuple[int, float]:
    """Run ``pjsh -c text`` (which prints 'ready' first), send SIGINT once that arrives;
    return the exit status and the seconds from SIGINT to exit."""
    import signal
    import time

    proc = subprocess.Popen([*pjsh_command(), "-NoProfile", "-c", text], cwd=cwd,
                            env=pjsh_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        return proc.returncode, time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_during_start_sleep_100_returns_at_once(tmp_path: Path) -> None:
    code, took = interrupt_when_ready("'ready'; Start-Sleep 100; 'after'", tmp_path)
    assert code == 130
    assert took < 5


def test_ctrl_c_during_get_content_wait_returns_at_once(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text("one\n")
    code, took = interrupt_when_ready("'ready'; Get-Content app.log -Wait", tmp_path)
    assert code == 130
    assert took < 5
