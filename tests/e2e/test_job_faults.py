"""Faults under the job engine, through the installed ``pjsh``: the spill file system full,
the spill directory removed under a running job, the fork server or a worker killed, pjsh
itself killed with SIGKILL. Each ends with every job in a final state with a Reason, pjsh
not spinning (its CPU time over a short window stays low), and nothing left behind after
the next start: no spill file of the dead pjsh, no process of its jobs.

The spill directory is ``$XDG_RUNTIME_DIR/pjsh``; these tests point XDG_RUNTIME_DIR at a
directory of their own (a 2 MiB tmpfs for the full disk: the suite runs as root)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_jobs_cli import Shell, live_group_members
from tests.e2e.test_jobs_reliability import alive, children_of

pytestmark = pytest.mark.slow

SEQ_LINES = 2_000_000
SEQ_BYTES = sum(len(str(n)) + 1 for n in range(1, SEQ_LINES + 1))  # 14,888,896
LOST = re.compile(r"^(\d+) bytes of the job's output could not be kept \((.+)\); the output "
                  r"kept is complete up to the first byte lost\.$")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def assert_not_spinning(pid: int, window: float = 1.5) -> None:
    """pjsh uses well under a core while nothing should be happening (a reader woken again
    and again by a pipe it does not drain would use all of one)."""
    before = cpu_seconds(pid)
    time.sleep(window)  # a measurement window, not a wait for anything
    used = cpu_seconds(pid) - before
    assert used < 0.3 * window, f"pjsh used {used:.2f} s of CPU in {window} s"


def eventually(check: object, timeout: float = 20.0, what: object = None) -> None:
    """Poll ``check()`` (an effect in another process: a guard's SIGKILL) until it holds."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"condition not reached: {what() if callable(what) else ''}"
        time.sleep(0.05)


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_RUNTIME_DIR for the pjsh under test: its spill directory is ``<it>/pjsh``."""
    path = tmp_path / "runtime"
    path.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    return path


@pytest.fixture
def full_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """XDG_RUNTIME_DIR on a 2 MiB tmpfs, so the spill file system fills up."""
    path = tmp_path / "small"
    path.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(path)],
                   check=True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def spill_files(runtime: Path) -> list[str]:
    directory = runtime / "pjsh"
    return sorted(os.listdir(directory)) if directory.is_dir() else []


# ---------------------------------------------------------------------------- full disk

def test_a_full_spill_disk_fails_the_job_with_the_bytes_lost_and_keeps_a_readable_prefix(
        tmp_path: Path, full_runtime_dir: Path) -> None:
    with Shell(tmp_path) as sh:
        # A first job fills the disk; the second finds it full.
        sh.run("$fill = head -c 8000000 /dev/zero &; $null = Wait-Job $fill -Timeout 60")
        sh.run("$j = seq 1 2000000 &; $null = Wait-Job $j -Timeout 60")
        assert sh.run("$fill.State; $j.State") == ["Failed", "Failed"]
        (reason,) = sh.run("$j.ChildJobs[0].JobStateInfo.Reason.Message")
        match = LOST.match(reason)
        assert match is not None, reason
        lost = int(match.group(1))
        assert match.group(2) == os.strerror(28)  # ENOSPC
        assert sh.run("$j.ChildJobs[0].StatusMessage") == [
            f"Output lost: {lost} bytes ({os.strerror(28)})"]
        assert_not_spinning(sh.pid)
        sh.run("Receive-Job $j -Keep > kept.txt 2> $null")
        kept = (tmp_path / "kept.txt").read_bytes()
        # What was kept is the output's beginning, with no hole; kept + lost is everything.
        assert len(kept) + lost == SEQ_BYTES
        expected = b"".join(b"%d\n" % n for n in range(1, SEQ_LINES + 1))
        assert kept == expected[:len(kept)] and len(kept) > 0
        # Receive-Job reports the loss as the job's error.
        (error,) = sh.run("Receive-Job $j -Keep 2>&1 | Select-Object -Last 1")
        assert error.endswith("the output kept is complete up to the first byte lost.")
    print(f"\nfull spill disk: {len(kept)} bytes kept, {lost} lost of {SEQ_BYTES}")


def test_a_thread_job_whose_output_fills_the_disk_fails_without_a_traceback(
        tmp_path: Path, full_runtime_dir: Path) -> None:
    with Shell(tmp_path) as sh:
        sh.run("$t = Start-ThreadJob { foreach ($i in 1..200000) { \"line $i\" } }; "
               "$null = Wait-Job $t -Timeout 120")
        assert sh.run("$t.State") == ["Failed"]
        (reason,) = sh.run("$t.JobStateInfo.Reason.Message")
        assert LOST.match(reason), reason
        assert_not_spinning(sh.pid)
    assert "Traceback" not in sh.stderr


# ---------------------------------------------------------------------------- removed directory

def test_a_spill_directory_removed_under_a_running_job_changes_nothing(
        tmp_path: Path, runtime_dir: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with Shell(tmp_path) as sh:
        sh.run(f"$j = sh -c 'head -c 6000000 /dev/zero; cat {gate}; head -c 1000 /dev/zero' &")
        # The job waits on the gate; its spill directory goes, then the gate opens.
        subprocess.run(["rm", "-rf", str(runtime_dir / "pjsh")], check=True)
        with open(gate, "w") as fh:
            fh.write("through the gate\n")
        assert sh.run("$null = Wait-Job $j -Timeout 60; $j.State") == ["Completed"]
        assert sh.run("$j.ChildJobs[0].JobStateInfo.Reason") == []
        sh.run("Receive-Job $j > out.bin")
        assert_not_spinning(sh.pid)
    data = (tmp_path / "out.bin").read_bytes()
    assert data == b"\0" * 6000000 + b"through the gate\n" + b"\0" * 1000
    assert spill_files(runtime_dir) == []
    assert "Traceback" not in sh.stderr


# ---------------------------------------------------------------------------- killed helpers

def fork_servers(pjsh_pid: int) -> list[int]:
    return [pid for pid in children_of(pjsh_pid)
            if b"spawner.py" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_jobs_of_a_fork_server_killed_with_sigkill_fail_with_a_reason_and_leave_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both jobs to the server (by default the first ones start directly while it boots).
    monkeypatch.setenv("PJSH_SPAWNER", "served")
    with Shell(tmp_path) as sh:
        groups = [int(p) for p in sh.run("$a = sleep 1000 &; $b = sleep 1001 &; "
                                         "$a.ChildJobs[0].ProcessId; $b.ChildJobs[0].ProcessId")]
        servers = fork_servers(sh.pid)
        assert servers
        for pid in servers:
            os.kill(pid, signal.SIGKILL)
        assert sh.run("$null = Wait-Job $a, $b -Timeout 60; $a.State; $b.State") == [
            "Failed", "Failed"]
        assert sh.run("$a.ChildJobs[0].JobStateInfo.Reason") == [
            "'sleep' was terminated by signal SIGKILL"]
        for pgid in groups:
            assert live_group_members(pgid) == {}
        assert_not_spinning(sh.pid)
        # Later jobs still run.
        assert sh.run("$c = echo next &; Receive-Job $c -Wait") == ["next"]


def test_a_worker_killed_with_sigkill_fails_its_job_and_leaves_nothing(tmp_path: Path) -> None:
    with Shell(tmp_path) as sh:
        (pid,) = sh.run("$w = Start-Job { 'up'; sleep 1002 }; "
                        "Receive-Job $w -Wait | Select-Object -First 1 | Out-Null; $w.ProcessId")
        os.kill(int(pid), signal.SIGKILL)
        assert sh.run("$null = Wait-Job $w -Timeout 60; $w.State") == ["Failed"]
        assert sh.run("$w.ChildJobs[0].JobStateInfo.Reason") == [
            "The job's process was terminated by signal SIGKILL."]
        assert live_group_members(int(pid)) == {}
        assert_not_spinning(sh.pid)


# ---------------------------------------------------------------------------- pjsh killed

def test_pjsh_killed_with_sigkill_leaves_no_process_and_no_spill_file(
        tmp_path: Path, runtime_dir: Path) -> None:
    sh = Shell(tmp_path)
    with sh:
        groups = [int(p) for p in sh.run(
            "$n = sleep 1003 &; $w = Start-Job { 'up'; sleep 1004 }; "
            "$t = Start-ThreadJob { 'up'; sleep 1005 }; "
            "$s = Start-ThreadJob { head -c 20000000 /dev/zero; sleep 1006 }; "
            "Receive-Job $w, $t -Wait | Select-Object -First 2 | Out-Null; "
            "$n.ChildJobs[0].ProcessId; $w.ProcessId")]
        # The thread jobs' natives (sleep 1005, 1006) are pjsh's children, each in a group
        # of its own (so is the `&` job's sleep 1003: a lone first job starts directly; the
        # worker's is the worker's).
        def thread_natives() -> list[int]:
            return [p for p in children_of(sh.pid)
                    if Path(f"/proc/{p}/cmdline").read_bytes() in (b"sleep\x001005\x00",
                                                                   b"sleep\x001006\x00")]

        eventually(lambda: len(thread_natives()) == 2, what=lambda: [
            Path(f"/proc/{p}/cmdline").read_bytes()[:40] for p in children_of(sh.pid)])
        natives = thread_natives()
        workers = [pid for pid in children_of(sh.pid)
                   if b"pjsh.jobs.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert sh.run("$s.ChildJobs.Count; $s.State") == ["0", "Running"]
        os.kill(sh.pid, signal.SIGKILL)
        sh.proc.wait()
        # The fork server and the guard see pjsh's end of their pipes close and kill the
        # groups of its jobs.
        eventually(lambda: not any(live_group_members(g) for g in groups))
        eventually(lambda: not any(alive(p) for p in natives + workers))
    assert spill_files(runtime_dir) == []
    # The next start cleans up whatever a kill in the worst instant could have left.
    stale = runtime_dir / "pjsh" / f"job-{sh.pid}-{'0' * 32}.out"
    stale.parent.mkdir(mode=0o700, exist_ok=True)
    stale.write_bytes(b"left by a killed pjsh")
    with Shell(tmp_path) as again:
        again.run("$big = head -c 6000000 /dev/zero &; $null = Wait-Job $big")
        assert again.run("$big.State") == ["Completed"]
        assert spill_files(runtime_dir) == []
