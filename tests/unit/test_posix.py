"""pjsh.runtime.posix on real processes: signal names, ending a process group with a grace
period, stop/continue confirmation, and the one PATH lookup the shell and the jobs share."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.runtime.posix import (
    find_executable,
    group_members,
    has_exited,
    kill_group,
    signal_name,
    terminate_group,
    wait_continued,
    wait_exited,
    wait_stopped,
)
from tests.unit.test_cmd_jobs import proc_state


def group_leader(script: str) -> subprocess.Popen[bytes]:
    """``sh -c script`` leading a new process group; returns once it has printed a line."""
    proc = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, process_group=0)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        kill_group(proc.pid, signal.SIGKILL)
        proc.wait()


# ---- signal names ---------------------------------------------------------------------------

def test_signal_name_names_a_signal_by_its_canonical_name() -> None:
    assert signal_name(9) == "SIGKILL"
    assert signal_name(int(signal.SIGTERM)) == "SIGTERM"
    assert signal_name(int(signal.SIGCHLD)) == "SIGCHLD"  # not its alias SIGCLD
    assert signal_name(int(signal.SIGABRT)) == "SIGABRT"  # not its alias SIGIOT


def test_signal_name_of_a_number_without_a_name_says_the_number() -> None:
    assert signal_name(77) == "signal 77"


# ---- groups ---------------------------------------------------------------------------------

def test_kill_group_never_signals_our_own_group_or_every_process() -> None:
    assert kill_group(0, 0) is False
    assert kill_group(-1, 0) is False


def test_kill_group_says_when_no_process_of_the_group_is_left(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("echo ready; exec sleep 100")
    procs.append(proc)
    assert kill_group(proc.pid, 0) is True
    kill_group(proc.pid, signal.SIGKILL)
    proc.wait()
    assert kill_group(proc.pid, 0) is False


def test_terminate_group_ends_a_group_that_obeys_sigterm_at_once(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("echo ready; exec sleep 100")
    procs.append(proc)
    began = time.monotonic()
    pending = terminate_group(proc.pid, 30.0)
    assert proc.wait(timeout=10) == -signal.SIGTERM
    pending.cancel()
    assert time.monotonic() - began < 10  # not the 30 s grace


def test_terminate_group_kills_a_group_ignoring_sigterm_after_the_grace(
        procs: list[subprocess.Popen[bytes]]) -> None:
    # The shell's child sleeps with SIGTERM ignored (inherited across exec).
    proc = group_leader("trap '' TERM; echo ready; exec sleep 100")
    procs.append(proc)
    began = time.monotonic()
    terminate_group(proc.pid, 0.3)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert time.monotonic() - began >= 0.3


def test_terminate_group_continues_a_stopped_group_so_it_can_act_on_sigterm(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("echo ready; exec sleep 100")
    procs.append(proc)
    kill_group(proc.pid, signal.SIGSTOP)
    wait_stopped([proc.pid])
    pending = terminate_group(proc.pid, 30.0)
    assert proc.wait(timeout=10) == -signal.SIGTERM
    pending.cancel()


def test_a_cancelled_grace_sends_no_sigkill(procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("trap '' TERM; echo ready; exec sleep 100")
    procs.append(proc)
    pending = terminate_group(proc.pid, 0.2)
    pending.cancel()
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.6)  # well past the grace: still alive
    assert proc_state(proc.pid) not in (None, "Z")


def test_the_grace_kill_asks_whether_the_group_is_still_ours(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("trap '' TERM; echo ready; exec sleep 100")
    procs.append(proc)
    asked: list[bool] = []

    def still_ours() -> bool:
        asked.append(True)
        return False  # e.g. the owner reaped the leader: the id may be someone else's

    terminate_group(proc.pid, 0.1, still_ours=still_ours)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.6)
    assert asked == [True]


def test_the_grace_kill_runs_on_an_event_loop_when_given_one(
        procs: list[subprocess.Popen[bytes]]) -> None:
    import asyncio

    proc = group_leader("trap '' TERM; echo ready; exec sleep 100")
    procs.append(proc)

    async def main() -> None:
        terminate_group(proc.pid, 0.1, loop=asyncio.get_running_loop())
        await asyncio.get_running_loop().run_in_executor(None, wait_exited, [proc.pid])

    asyncio.run(main())
    assert proc.wait(timeout=10) == -signal.SIGKILL


def test_group_members_lists_the_live_processes_of_a_group(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("sleep 100 & echo ready; wait")
    procs.append(proc)
    members = group_members(proc.pid)
    assert proc.pid in members and len(members) == 2


# ---- stop / continue confirmation -----------------------------------------------------------

def test_wait_stopped_returns_once_sigstop_holds_and_leaves_the_status_unread(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("echo ready; exec sleep 100")
    procs.append(proc)
    kill_group(proc.pid, signal.SIGSTOP)
    wait_stopped([proc.pid])
    assert proc_state(proc.pid) == "T"
    kill_group(proc.pid, signal.SIGCONT)
    wait_continued([proc.pid])
    assert proc_state(proc.pid) != "T"
    assert not has_exited(proc.pid)


def test_wait_stopped_returns_for_a_process_that_exited_without_reaping_it(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("echo ready")
    procs.append(proc)
    wait_stopped([proc.pid])
    assert has_exited(proc.pid)
    assert proc_state(proc.pid) == "Z"  # still ours to reap
    assert proc.wait() == 0


def test_wait_exited_watches_processes_without_reaping_them(
        procs: list[subprocess.Popen[bytes]]) -> None:
    proc = group_leader("echo ready; exec sleep 100")
    procs.append(proc)
    assert wait_exited([proc.pid], timeout=0.05) is False
    kill_group(proc.pid, signal.SIGKILL)
    assert wait_exited([proc.pid]) is True
    assert proc_state(proc.pid) == "Z"


# ---- finding programs -----------------------------------------------------------------------

@pytest.fixture
def bins(tmp_path: Path) -> Path:
    for name, mode in (("tool", 0o755), ("plain", 0o644)):
        (tmp_path / "bin").mkdir(exist_ok=True)
        path = tmp_path / "bin" / name
        path.write_text("#!/bin/sh\n")
        path.chmod(mode)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "plain").write_text("#!/bin/sh\n")
    (tmp_path / "other" / "plain").chmod(0o755)
    (tmp_path / "other" / "tool").mkdir()  # a directory never counts
    (tmp_path / "here").write_text("#!/bin/sh\n")
    (tmp_path / "here").chmod(0o755)
    return tmp_path


def test_lookup_searches_path_in_order_and_skips_non_executables(bins: Path) -> None:
    path = f"{bins}/other:{bins}/bin"
    assert find_executable("tool", path, "/") == f"{bins}/bin/tool"  # the directory is skipped
    assert find_executable("plain", f"{bins}/bin:{bins}/other", "/") == f"{bins}/other/plain"
    assert find_executable("missing", path, "/") is None


def test_lookup_reads_relative_and_empty_path_entries_from_the_session_directory(
        bins: Path) -> None:
    assert find_executable("tool", "bin", str(bins)) == f"{bins}/bin/tool"
    assert find_executable("here", f"{bins}/bin:", str(bins)) == f"{bins}/here"
    assert find_executable("here", f"{bins}/bin", str(bins)) is None


def test_lookup_of_a_name_with_a_slash_is_a_path_never_searched(bins: Path) -> None:
    assert find_executable("bin/tool", "/nowhere", str(bins)) == f"{bins}/bin/tool"
    assert find_executable(f"{bins}/bin/tool", None, "/") == f"{bins}/bin/tool"
    assert find_executable("bin/plain", f"{bins}/other", str(bins)) is None  # not executable
    assert find_executable("./tool", f"{bins}/bin", str(bins)) is None


def test_lookup_without_path_uses_the_system_default(bins: Path) -> None:
    found = find_executable("sh", None, str(bins))
    assert found is not None and os.path.isabs(found)
