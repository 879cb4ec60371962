"""Native commands through the installed pjsh: exact argv, OS pipes between natives (bytes
never cross Python), lines becoming strings at a cmdlet, objects becoming text at a native,
byte-exact file redirection, stderr handling, exit codes, ``$?`` and ``&&``/``||``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli import command, pjsh, script

PY = sys.executable
ARGV_PRINTER = f"& '{PY}' -c 'import sys,json;print(json.dumps(sys.argv[1:]))'"


def argv_of(args_text: str, cwd: str | Path | None = None) -> list[str]:
    """The argv a native receives for the given pjsh argument text."""
    r = command(f"{ARGV_PRINTER} {args_text}", cwd=cwd)
    assert r.returncode == 0, r.stderr
    value = json.loads(r.stdout)
    assert isinstance(value, list)
    return [str(v) for v in value]


# ---------------------------------------------------------------- argv

def test_arguments_reach_the_program_exactly() -> None:
    home = os.environ.get("HOME", "")
    got = argv_of("plain 'two words' '' 'q\"uote' \"it's\" ünïcödé '$notvar' \"$HOME\" `$esc "
                  "--flag -x:1 1.50 0x10 a=b 'tab\there' \"x`ty\"")
    assert got == ["plain", "two words", "", 'q"uote', "it's", "ünïcödé", "$notvar", home,
                   "$esc", "--flag", "-x:1", "1.50", "0x10", "a=b", "tab\there", "x\ty"]


def test_null_and_array_arguments() -> None:
    assert argv_of("$null before $nothing after") == ["before", "after"]
    assert argv_of("@('a', 'b c') (1, 2)") == ["a", "b c", "1", "2"]
    assert argv_of("\"$nothing\"") == [""]


def test_unquoted_wildcards_expand_and_quoted_ones_stay(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "c.log"):
        (tmp_path / name).write_text("")
    assert argv_of("*.txt '*.txt' nomatch*.zz", cwd=tmp_path) == [
        "a.txt", "b.txt", "*.txt", "nomatch*.zz"]


def test_tilde_expands_only_when_unquoted() -> None:
    home = os.path.expanduser("~")
    assert argv_of("~ ~/x '~'") == [home, f"{home}/x", "~"]


def test_splatted_array_and_subexpression_arguments() -> None:
    assert argv_of("@(1..3) $(2 + 2)") == ["1", "2", "3", "4"]


# ---------------------------------------------------------------- native pipelines

def test_seq_into_wc_counts_five_million_lines() -> None:
    r = command("seq 1 5000000 | wc -l")
    assert r.returncode == 0 and r.stdout.strip() == "5000000"


def _own_cpu_ticks(stat_line: str) -> tuple[int, int]:
    """(utime + stime, cutime + cstime) in clock ticks from a /proc/<pid>/stat line."""
    fields = stat_line.rsplit(")", 1)[1].split()
    # After the ')' closing comm, fields are numbered from 3 (state): utime is field 14.
    utime, stime, cutime, cstime = (int(fields[i - 3]) for i in (14, 15, 16, 17))
    return utime + stime, cutime + cstime


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_bytes_between_natives_never_cross_python() -> None:
    """Two gigabytes flow from head to wc while pjsh's *own* CPU time stays at its start-up cost.

    Method: after the pipeline, the same pjsh process runs ``cat /proc/$PID/stat``; $PID is
    pjsh itself, so fields 14-15 (utime, stime) are pjsh's own CPU time, excluding its
    children, while 16-17 hold the children's (head, wc, cat) once reaped. A baseline run
    without the pipeline gives the start-up cost. Measured on this machine, a Python loop that
    merely copies with os.read/os.write in 64 KiB chunks spends about 0.16 s of CPU per GB, so
    copying 2 GB would add over 0.3 s; pjsh must stay within 0.12 s of its baseline.
    """
    tick = os.sysconf("SC_CLK_TCK")
    r = command("head -c 2000000000 /dev/zero | wc -c; cat /proc/$PID/stat")
    assert r.returncode == 0, r.stderr
    count, stat = r.stdout.splitlines()
    assert count.strip() == "2000000000"
    own, children = _own_cpu_ticks(stat)
    base_own = min(_own_cpu_ticks(command("cat /proc/$PID/stat").stdout)[0] for _ in range(2))
    assert children > 0  # head and wc did the work
    assert own - base_own <= 0.12 * tick, (own, base_own, children)


@pytest.mark.slow
def test_a_long_native_pipeline_is_fast() -> None:
    r = command("head -c 50000000 /dev/zero | cat | cat | wc -c")
    assert r.stdout.strip() == "50000000"


def test_native_output_met_by_a_cmdlet_becomes_strings() -> None:
    r = command("printf 'a\\r\\nb\\nlast' | ForEach-Object { \"<$_>\" + $_.GetType().Name }")
    assert r.stdout.splitlines() == ["<a>String", "<b>String", "<last>String"]


def test_native_output_captured_in_a_variable_is_an_array_of_lines() -> None:
    r = command("$v = printf 'x\\ny\\n'; $v.Count; $v[1]; $one = echo solo; $one.GetType().Name")
    assert r.stdout.splitlines() == ["2", "y", "String"]


def test_natives_between_cmdlets() -> None:
    r = command("1..3 | cat | ForEach-Object { [int]$_ * 2 }")
    assert r.stdout.splitlines() == ["2", "4", "6"]


def test_objects_piped_into_a_native_become_their_formatted_text() -> None:
    r = command("[pscustomobject]@{ N = 1; M = 'a' }, [pscustomobject]@{ N = 2; M = 'b' } | cat")
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert [line.split() for line in lines] == [["N", "M"], ["-", "-"], ["1", "a"], ["2", "b"]]
    assert command("1, 'two', 3.5, $true | cat").stdout == "1\ntwo\n3.5\nTrue\n"
    assert command("1..3 | wc -l").stdout.strip() == "3"


def test_invalid_utf8_survives_redirection_to_a_file_byte_exact(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 64 + b"\xff\xfe\x00\xc3(\n"
    (tmp_path / "gen.py").write_bytes(
        b"import sys\nsys.stdout.buffer.write(" + repr(payload).encode() + b")\n")
    r = command(f"& '{PY}' gen.py > out.bin; & '{PY}' gen.py >> out.bin", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.bin").read_bytes() == payload * 2


def test_invalid_utf8_lines_survive_a_cmdlet_and_a_file(tmp_path: Path) -> None:
    r = command("printf 'ok\\xff\\xfe\\n' | ForEach-Object { $_ } > via.txt", cwd=tmp_path)
    assert r.returncode == 0
    assert (tmp_path / "via.txt").read_bytes() == b"ok\xff\xfe\n"


def test_a_foreground_native_writes_in_order_with_pjsh_output() -> None:
    r = command("'before'; printf 'native\\n'; 'after'")
    assert r.stdout == "before\nnative\nafter\n"


# ---------------------------------------------------------------- stderr, exit codes, $?

def test_stderr_passes_through_by_default() -> None:
    r = command("sh -c 'echo out; echo err >&2'")
    assert (r.stdout, r.stderr) == ("out\n", "err\n")


def test_stderr_merged_into_output() -> None:
    r = command("sh -c 'echo out; echo err >&2' 2>&1 | ForEach-Object { \"[$_]\" }")
    assert sorted(r.stdout.splitlines()) == ["[err]", "[out]"]
    assert r.stderr == ""


def test_stderr_to_a_file_and_to_null(tmp_path: Path) -> None:
    r = command("sh -c 'echo out; echo err >&2' 2> err.txt; sh -c 'echo gone >&2' 2> $null",
                cwd=tmp_path)
    assert (r.stdout, r.stderr) == ("out\n", "")
    assert (tmp_path / "err.txt").read_text() == "err\n"


def test_stdout_to_null_keeps_stderr() -> None:
    r = command("sh -c 'echo out; echo err >&2' > $null")
    assert (r.stdout, r.stderr) == ("", "err\n")


def test_lastexitcode_and_dollar_question_after_a_failing_native() -> None:
    r = command("sh -c 'exit 3'; \"code=$LASTEXITCODE ok=$?\"; true; \"code=$LASTEXITCODE ok=$?\"")
    assert r.stdout.splitlines() == ["code=3 ok=False", "code=0 ok=True"]
    assert r.stderr == ""  # a failing native is not an error record


def test_exit_status_of_dash_c_follows_the_last_native() -> None:
    assert command("sh -c 'exit 3'").returncode == 1
    assert command("sh -c 'exit 3'; exit $LASTEXITCODE").returncode == 3
    assert command("true").returncode == 0


def test_native_killed_by_a_signal() -> None:
    r = command("sh -c 'kill -TERM $$'; \"code=$LASTEXITCODE ok=$?\"")
    assert r.stdout == "code=143 ok=False\n"
    assert r.stderr == "OperationStopped: Program 'sh' was terminated by signal SIGTERM.\n"


def test_and_and_or_with_natives() -> None:
    r = command("false && echo no; false || echo yes; true && echo yes2; "
                "sh -c 'exit 1' || sh -c 'echo rescued'; true || echo never")
    assert r.stdout.splitlines() == ["yes", "yes2", "rescued"]


def test_a_native_that_does_not_exist_then_the_next_statement() -> None:
    r = script("no-such-native-abc\n'next'\n")
    assert r.stdout == "next\n"
    assert r.stderr.startswith("no-such-native-abc: The term 'no-such-native-abc' is not "
                               "recognized")


def test_a_file_without_execute_permission_is_not_run(tmp_path: Path) -> None:
    f = tmp_path / "noexec.sh"
    f.write_text("#!/bin/sh\necho ran\n")
    r = command("./noexec.sh; 'next'", cwd=tmp_path)
    assert r.stdout == "next\n"
    assert "The term './noexec.sh' is not recognized" in r.stderr


def test_native_in_a_script_file_runs_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "s.ps1").write_text("sh -c pwd\nsh -c 'echo $0' arg0\n")
    r = pjsh(["-NoProfile", str(tmp_path / "s.ps1")], cwd=tmp_path)
    assert r.stdout.splitlines() == [str(tmp_path), "arg0"]
