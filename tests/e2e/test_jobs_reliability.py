"""Job reliability through the installed ``pjsh``: many concurrent jobs lose no line, a job
writing a gigabyte is received byte-exact in bounded memory, bytes that are not UTF-8 survive,
a job killed from outside fails with a reason, and leaving pjsh in any way (``exit``, end of
input, SIGTERM, SIGHUP) leaves no process of any job behind.

The figures (time, throughput, peak RSS) are printed; run with ``-s`` to see them."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_cli import pjsh_command, pjsh_env, script
from tests.e2e.test_jobs_cli import Shell, live_group_members

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")]

GIB = 1 << 30
# A fast deterministic generator of every byte value (AES-CTR over zeros), so the bytes the
# job wrote can be produced again for the comparison.
GENERATOR = ("openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0 -nosalt "
             f"-in /dev/zero 2>/dev/null | head -c {GIB}")


def vm_hwm_kib(lines: list[str]) -> int:
    """The VmHWM figure (KiB) from a ``(Get-Content /proc/$PID/status) -match 'VmHWM'`` line."""
    (line,) = [x for x in lines if x.startswith("VmHWM:")]
    return int(line.split()[1])


def children_of(pid: int) -> list[int]:
    """The direct children of a process (from /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def alive(pid: int) -> bool:
    """True while a process exists and is not a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return text[text.rindex(")") + 2:].split()[0] != "Z"


# ---------------------------------------------------------------------------- many jobs

def test_200_concurrent_jobs_of_1000_lines_lose_nothing(tmp_path: Path) -> None:
    lock = tmp_path / "gate.lock"
    lock.touch()
    with open(lock) as held, Shell(tmp_path) as sh:
        # Every job waits on the lock the test holds, so all 200 really run at once.
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        sh.run(f"$jobs = foreach ($i in 1..200) {{ "
               f"sh -c \"flock -s {lock} true; seq -f 'J$i-%g' 1 1000\" & }}")
        assert sh.run("@($jobs | Where-Object State -eq Running).Count") == ["200"]
        fcntl.flock(held, fcntl.LOCK_UN)
        lines = sh.run("foreach ($j in $jobs) { Receive-Job $j -Wait }", timeout=120)
        elapsed = time.monotonic() - started
        states = sh.run("($jobs | Wait-Job).State | Sort-Object -Unique")
    expected = [f"J{i}-{n}" for i in range(1, 201) for n in range(1, 1001)]
    assert len(lines) == len(expected)
    assert lines == expected  # every line, in order per job
    assert states == ["Completed"]
    print(f"\n200 jobs x 1000 lines: started, ran and received in {elapsed:.2f} s")


# ---------------------------------------------------------------------------- a gigabyte

def test_a_job_writing_a_gibibyte_is_received_byte_exact_in_bounded_memory(
        tmp_path: Path) -> None:
    started = time.monotonic()
    with Shell(tmp_path) as sh:
        sh.run(f"$j = Start-Job {{ sh -c '{GENERATOR}' }}")
        assert sh.run("$j | Wait-Job | Out-Null; $j.State", timeout=120) == ["Completed"]
        captured = time.monotonic()
        assert sh.run("Receive-Job $j > big.bin; $j.HasMoreData", timeout=300) == ["False"]
        received = time.monotonic()
        hwm = vm_hwm_kib(sh.run("(Get-Content /proc/$PID/status) -match 'VmHWM'"))
    digest = hashlib.sha256()
    with open(tmp_path / "big.bin", "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    reference = hashlib.sha256()
    with subprocess.Popen(["sh", "-c", GENERATOR], stdout=subprocess.PIPE) as gen:
        assert gen.stdout is not None
        while chunk := gen.stdout.read(1 << 20):
            reference.update(chunk)
    size = (tmp_path / "big.bin").stat().st_size
    print(f"\n1 GiB job: captured in {captured - started:.1f} s "
          f"({GIB / (captured - started) / 1e6:.0f} MB/s), received into a file in "
          f"{received - captured:.1f} s, pjsh peak RSS {hwm / 1024:.1f} MiB, file {size} bytes")
    assert hwm < 150 * 1024
    assert size == GIB
    assert digest.hexdigest() == reference.hexdigest()


# ---------------------------------------------------------------------------- bytes

def test_invalid_utf8_from_a_native_job_is_kept_byte_exact(tmp_path: Path) -> None:
    payload = bytes(range(256)) + b"\xff\xfe\r\n\xc3(\x00mid\r\nlast-without-newline\xe2\x82"
    (tmp_path / "payload.bin").write_bytes(payload)
    r = script("$j = Start-Job { cat payload.bin }\n$j | Wait-Job | Out-Null\n"
               "Receive-Job $j > out.bin\n", cwd=tmp_path)
    assert r.stderr == ""
    assert (tmp_path / "out.bin").read_bytes() == payload


def test_invalid_utf8_lines_from_a_worker_job_survive(tmp_path: Path) -> None:
    # In a worker, a native's output becomes lines (strings) as in a pipeline; the bytes of
    # each line still survive the trip.
    (tmp_path / "lines.bin").write_bytes(b"ok\xff\xfe\n\xc3(\n")
    r = script("$j = Start-Job { 'first'; cat lines.bin }\n$j | Wait-Job | Out-Null\n"
               "Receive-Job $j > out.bin\n", cwd=tmp_path)
    assert r.stderr == ""
    assert (tmp_path / "out.bin").read_bytes() == b"first\nok\xff\xfe\n\xc3(\n"


# ---------------------------------------------------------------------------- killed jobs

def test_kill_9_of_a_jobs_process_fails_it_with_a_reason(tmp_path: Path) -> None:
    with Shell(tmp_path) as sh:
        sh.run("$n = Start-Job { sleep 300 }; $w = Start-Job { Start-Sleep 300 }")
        sh.run("kill -9 $n.ProcessId $w.ProcessId")
        assert sh.run("Wait-Job $n, $w | Out-Null; $n.State; $w.State") == ["Failed", "Failed"]
        assert sh.run("$n.ChildJobs[0].JobStateInfo.Reason; $n.ExitCode") == [
            "'sleep' was terminated by signal SIGKILL", "137"]
        assert sh.run("$w.ChildJobs[0].JobStateInfo.Reason") == [
            "The job's process was terminated by signal SIGKILL."]
        # The shell goes on as before, jobs included.
        assert sh.run("'alive'; Start-Job { 'next' } | Receive-Job -Wait") == ["alive", "next"]
    assert "SIGKILL" not in sh.stderr


# ---------------------------------------------------------------------------- Stop-Job

def test_stop_job_ends_a_deep_process_tree(tmp_path: Path) -> None:
    # Two levels of shells under the job, ten sleeps, for a native job and for a worker job.
    tree = ("sh -c 'for i in 1 2 3 4 5; do sh -c \"sleep 300 & sleep 301 & wait\" & done; "
            "echo up; wait'")
    with Shell(tmp_path) as sh:
        (native,) = sh.run(f"$n = Start-Job {{ {tree} }}; "
                           "Receive-Job $n -Wait | Select-Object -First 1 | Out-Null; $n.ProcessId")
        (worker,) = sh.run(f"$w = Start-Job {{ 'w'; {tree} }}; "
                           "Receive-Job $w -Wait | Select-Object -First 2 | Out-Null; $w.ProcessId")
        assert len(live_group_members(int(native))) >= 6
        assert len(live_group_members(int(worker))) >= 7
        assert sh.run("$n, $w | Stop-Job; $n.State; $w.State") == ["Stopped", "Stopped"]
        assert live_group_members(int(native)) == {}
        assert live_group_members(int(worker)) == {}


# ---------------------------------------------------------------------------- leaving pjsh

def start_job_trees(sh: Shell) -> tuple[list[int], list[int]]:
    """A native job and a worker job, each with grandchildren: their process groups, and the
    worker processes pjsh holds (busy and spare)."""
    (native,) = sh.run("$n = Start-Job { sh -c 'sleep 300 & sleep 301 & echo up; wait' }; "
                       "Receive-Job $n -Wait | Select-Object -First 1 | Out-Null; $n.ProcessId")
    (worker,) = sh.run("$w = Start-Job { 'w'; sh -c 'sleep 302 & sleep 303 & echo up; wait' }; "
                       "Receive-Job $w -Wait | Select-Object -First 2 | Out-Null; $w.ProcessId")
    groups = [int(native), int(worker)]
    assert len(live_group_members(groups[0])) == 3
    assert len(live_group_members(groups[1])) == 4
    workers = [pid for pid in children_of(sh.pid)
               if b"pjsh.jobs.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert int(worker) in workers and len(workers) >= 2  # the busy one and a warm spare
    return groups, workers


def assert_nothing_left(groups: list[int], workers: list[int]) -> None:
    for pgid in groups:
        assert live_group_members(pgid) == {}, pgid
    assert [pid for pid in workers if alive(pid)] == []


@pytest.mark.parametrize("how", ["exit", "end of input", "SIGTERM", "SIGHUP"])
def test_leaving_pjsh_stops_its_jobs_and_their_process_trees(tmp_path: Path, how: str) -> None:
    sh = Shell(tmp_path)
    with sh:
        groups, workers = start_job_trees(sh)
        if how == "exit":
            sh.send("exit 3")
            code = sh.close()
            assert code == 3
        elif how == "end of input":
            assert sh.close() == 0
        else:
            signum = signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP
            os.kill(sh.pid, signum)
            assert sh.proc.wait(60) == 128 + signum
    assert_nothing_left(groups, workers)
    assert "stopping 2 running job(s) before exit: Job1, Job3" in sh.stderr


def token_processes(token: str) -> list[int]:
    """Live processes (zombies excluded) whose environment carries ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if f"PJSH_TEST_TOKEN={token}".encode() in environ and alive(int(entry)):
            found.append(int(entry))
    return found


def wait_gone(pid: int, timeout: float = 30) -> None:
    """Block until process ``pid`` (not necessarily our child) has exited (a pidfd)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        assert select.select([fd], [], [], timeout)[0], f"process {pid} still running"
    finally:
        os.close(fd)


def test_a_thread_job_started_as_pjsh_leaves_leaves_no_native_behind() -> None:
    # The job's native starts while leaving pjsh is already stopping the job (the stop may
    # come before the native is watched); a few statements first move that moment around.
    for run in range(30):
        token = f"{os.getpid()}-{run}-{random.getrandbits(32)}"
        busy = "" if run % 3 == 0 else f"foreach ($i in 1..{run * 20}) {{}}; "
        started = time.monotonic()
        done = subprocess.run(
            [*pjsh_command(), "-c", f"$t = Start-ThreadJob {{ {busy}sleep 30 }}"],
            env=pjsh_env(PJSH_TEST_TOKEN=token), capture_output=True, timeout=60)
        took = time.monotonic() - started
        for pid in token_processes(token):
            # pjsh's guard (it has pjsh's environment) ends once it has seen pjsh go and
            # killed what pjsh left; what is left after it, pjsh and its guard both missed.
            if b"-I\0-S\0-c" in Path(f"/proc/{pid}/cmdline").read_bytes():
                wait_gone(pid)
        left = token_processes(token)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        assert (done.returncode, left) == (0, []), done.stderr
        # The job manager's shutdown gives up waiting after 10 s: longer, the stop was lost.
        assert took < 8, f"run {run} took {took:.1f} s"


# ---------------------------------------------------------------------------- bytes to natives

def test_a_thread_jobs_native_output_is_received_byte_exact(tmp_path: Path) -> None:
    rng = random.Random(8420)
    payload = (bytes(rng.getrandbits(8) for _ in range(2_000_000))
               + b"\r\n\r\x00\xff\xfe\xc3(\r\nno newline at the end\r")
    (tmp_path / "rand.bin").write_bytes(payload)
    with Shell(tmp_path) as sh:
        assert sh.run("$t = Start-ThreadJob { cat rand.bin }; $null = Wait-Job $t; "
                      "Receive-Job $t > got.bin; $t.State") == ["Completed"]
    assert (tmp_path / "got.bin").read_bytes() == payload


def test_a_jobs_bytes_stream_to_a_native_in_bounded_memory(tmp_path: Path) -> None:
    size = 300 * 1000 * 1000
    generator = GENERATOR.replace(f"head -c {GIB}", f"head -c {size}")
    reference = hashlib.sha256(subprocess.run(["sh", "-c", generator], check=True,
                                              capture_output=True).stdout).hexdigest()
    with Shell(tmp_path) as sh:
        sh.run(f"$j = sh -c '{generator}' &; $null = Wait-Job $j")
        started = time.monotonic()
        # One "line" of 300 MB: before, it was decoded and split in memory (GBs of RSS).
        sh.run("Receive-Job $j -Keep | cat > piped.bin", timeout=300)
        piped = time.monotonic() - started
        started = time.monotonic()
        sh.run("Receive-Job $j -Keep > copy.bin", timeout=300)
        filed = time.monotonic() - started
        hwm = vm_hwm_kib(sh.run("(Get-Content /proc/$PID/status) -match 'VmHWM'"))
    print(f"\n300 MB job through a native: {piped:.2f} s ({size / piped / 1e6:.0f} MB/s); "
          f"into a file {filed:.2f} s; pjsh peak RSS {hwm / 1024:.1f} MiB")
    digest = hashlib.sha256((tmp_path / "piped.bin").read_bytes()).hexdigest()
    assert digest == reference
    assert hwm < 200 * 1024


def test_a_line_oriented_job_streams_to_a_native_and_objects_are_written_in_blocks(
        tmp_path: Path) -> None:
    lines = 5_000_000
    total = sum(len(str(n)) + 1 for n in range(1, lines + 1))
    with Shell(tmp_path) as sh:
        sh.run(f"$j = seq 1 {lines} &; $null = Wait-Job $j")
        started = time.monotonic()
        counted = sh.run("Receive-Job $j -Keep | wc -lc", timeout=300)
        piped = time.monotonic() - started
        started = time.monotonic()
        sh.run("Receive-Job $j -Keep > copy.txt", timeout=300)
        filed = time.monotonic() - started
        # Objects to a native: one write() per block, not per object.
        started = time.monotonic()
        objects = sh.run("1..300000 | wc -l", timeout=300)
        per_object = (time.monotonic() - started) / 300000
    assert counted[0].split() == [str(lines), str(total)]
    assert objects == ["300000"]
    print(f"\n{total} bytes of lines to a native: {piped:.2f} s; into a file {filed:.2f} s; "
          f"objects to a native {per_object * 1e6:.1f} µs each")


# ---------------------------------------------------------------------------- hangs

def test_a_native_that_stops_reading_stops_the_pipeline_before_it(tmp_path: Path) -> None:
    started = time.monotonic()
    r = script("1..2000000000 | head -n 1\n& { while ($true) { 'y' } } | head -n 2\n'after'\n",
               cwd=tmp_path)
    assert (r.stdout, r.returncode) == ("1\ny\ny\nafter\n", 0)
    print(f"\nupstream stopped by head: {time.monotonic() - started:.2f} s")


def escaped_sleep(tmp_path: Path) -> str:
    """sh script text: a sleep that leaves the job's group (setsid) holding its pipes, its pid
    in esc.pid."""
    return ("setsid sh -c \"echo \\$\\$ > esc.pid; exec sleep 1000\" & "
            f"while [ ! -s {tmp_path}/esc.pid ]; do sleep 0.01; done; echo started")


def kill_escaped(tmp_path: Path) -> None:
    pid = int((tmp_path / "esc.pid").read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def test_a_job_completes_when_its_group_has_exited_though_an_escaped_process_holds_its_pipe(
        tmp_path: Path) -> None:
    try:
        with Shell(tmp_path) as sh:
            sh.run(f"$j = sh -c '{escaped_sleep(tmp_path)}' &")
            assert sh.run("$null = Wait-Job $j -Timeout 60; $j.State; Receive-Job $j") == [
                "Completed", "started"]
            # A process the job left in its own group is still the job's: waited for.
            sh.run("$k = sh -c '(sleep 0.5; echo late) & echo early' &")
            assert sh.run("$null = Wait-Job $k -Timeout 60; $k.State; Receive-Job $k") == [
                "Completed", "early", "late"]
    finally:
        kill_escaped(tmp_path)


def test_stop_job_ends_a_job_whose_escaped_process_holds_its_pipe(tmp_path: Path) -> None:
    try:
        with Shell(tmp_path) as sh:
            sh.run(f"$j = sh -c '{escaped_sleep(tmp_path)}; sleep 1000' &; "
                   "Receive-Job $j -Wait | Select-Object -First 1 | Out-Null")
            started = time.monotonic()
            assert sh.run("Stop-Job $j; $j.State") == ["Stopped"]
            assert sh.run("Wait-Job $j | Out-Null; Remove-Job $j -Force; 'removed'") == [
                "removed"]
            elapsed = time.monotonic() - started
            assert elapsed < 10
    finally:
        kill_escaped(tmp_path)
