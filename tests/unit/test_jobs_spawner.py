"""The fork server (pjsh/jobs/spawner.py) seen through the process backend: no orphans when
pjsh dies, stops and pid look-ups before the server has answered, failures, environment."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.jobs import process as process_module
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import Job, JobState, PSRemotingJob
from pjsh.jobs.process import NativePipeline, ProcessBackend
from pjsh.jobs.storage import Stream

S = JobState
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not process_module.spawner_available(),
                                reason="no fork server on this platform")


def process_backend(manager: JobManager) -> ProcessBackend:
    """The manager's process backend, built and registered on first use (as the job service
    does: the manager builds no backend itself)."""
    try:
        found = manager.backend("process")
    except LookupError:
        found = ProcessBackend(manager, stop_grace=manager.stop_grace)
        manager.register_backend("process", found)
    assert isinstance(found, ProcessBackend)
    return found


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JobManager]:
    monkeypatch.setattr(ProcessBackend, "use_spawner", True)
    # Every job to the server, even the first, before it has said it serves.
    monkeypatch.setattr(ProcessBackend, "direct_until_ready", False)
    m = JobManager(spill_dir=str(tmp_path / "spill"), stop_grace=0.5)
    yield m
    m.shutdown()


@pytest.fixture
def backend(manager: JobManager) -> ProcessBackend:
    return process_backend(manager)


def child_of(job: Job) -> Job:
    (child,) = job.ChildJobs
    return child


def run(backend: ProcessBackend, *commands: list[str], **options: object) -> PSRemotingJob:
    job = backend.start_job(NativePipeline.of(*commands, **options))
    assert backend.manager.wait([job], timeout=30) == [job]
    return job


def output(job: Job) -> bytes:
    return b"".join(child_of(job).store.iter_bytes(Stream.Output, consume=False))


def spawner_pid(backend: ProcessBackend) -> int:
    run(backend, ["true"])  # the server starts on first use
    assert backend._servers
    return backend._servers[0].process.pid


def settle(backend: ProcessBackend) -> None:
    """Return once the job loop has run every callback scheduled so far (the release of a
    finished job among them), so nothing more is sent to the server unasked."""
    done = threading.Event()
    backend.manager.call_soon(done.set)
    assert done.wait(10)


def wait_exited(pids: list[int], timeout: float = 10) -> None:
    """Block until every pid (not necessarily our child) has exited, via pidfds."""
    fds = []
    for pid in pids:
        try:
            fds.append(os.pidfd_open(pid))
        except ProcessLookupError:
            continue
    try:
        pending = list(fds)
        while pending:
            ready, _, _ = select.select(pending, [], [], timeout)
            assert ready, f"processes still alive: {pids}"
            pending = [fd for fd in pending if fd not in ready]
    finally:
        for fd in fds:
            os.close(fd)


def group_members(pgid: int) -> dict[int, str]:
    """pid -> state of every process in a process group."""
    members = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            fields = text[text.rindex(")") + 2:].split()
            if int(fields[2]) == pgid:
                members[int(entry)] = fields[0]
    return members


def ignored_mask(pid: int) -> int:
    """The process's ignored-signal mask (SigIgn in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigIgn line")


def test_jobs_are_children_of_the_server_in_their_own_group(backend: ProcessBackend) -> None:
    server = spawner_pid(backend)
    job = backend.start_job(NativePipeline.of(["sleep", "100"], ["sleep", "100"]))
    pids = backend.pids(job)
    assert job.ProcessId == pids[0]
    for pid in pids:
        text = Path(f"/proc/{pid}/stat").read_text()
        ppid, pgrp = (int(f) for f in text[text.rindex(")") + 2:].split()[1:3])
        assert (ppid, pgrp) == (server, pids[0])
    assert os.getpgid(server) == server != os.getpgrp()  # Ctrl+C at the terminal is not for it
    assert backend.manager.stop(job, timeout=10) is True
    assert child_of(job).reason == "'sleep' was terminated by signal SIGTERM"
    with pytest.raises(ProcessLookupError):
        os.killpg(pids[0], 0)


def test_sigkill_of_pjsh_makes_the_server_kill_every_job(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from pjsh.jobs.manager import JobManager\n"
        "from pjsh.jobs.process import NativePipeline, ProcessBackend\n"
        "m = JobManager()\n"
        "b = ProcessBackend(m)\n"
        "m.register_backend('process', b)\n"
        "jobs = [b.start_job(NativePipeline.of(['sleep', '100'], ['sleep', '100'])),\n"
        "        b.start_job(NativePipeline.of(['sh', '-c', 'sleep 100 & wait']))]\n"
        "pids = [pid for job in jobs for pid in b.pids(job)]\n"
        "print(b._servers[0].process.pid, *pids, flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = {**os.environ, "PJSH_SPAWNER": "1", "PYTHONPATH": str(ROOT)}
    shell = subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        assert shell.stdout is not None
        server, *pids = (int(word) for word in shell.stdout.readline().split())
        assert len(pids) == 3
        groups = [os.getpgid(pid) for pid in pids]
        shell.kill()
        shell.wait()
        wait_exited([server, *pids])  # the server saw EOF, killed the groups and left
        for pgid in groups:  # the backgrounded grandchild went with its group
            assert all(state == "Z" for state in group_members(pgid).values())
    finally:
        shell.kill()
        shell.wait()
        if shell.stdin is not None:
            shell.stdin.close()
        if shell.stdout is not None:
            shell.stdout.close()


def test_stop_and_pid_lookups_before_the_server_has_answered(backend: ProcessBackend) -> None:
    server = spawner_pid(backend)
    os.kill(server, signal.SIGSTOP)  # requests queue up unanswered
    try:
        job = backend.start_job(NativePipeline.of(["sleep", "100"]))
        child = child_of(job)
        assert job.State == "Running"
        seen: list[int | None] = []
        reader = threading.Thread(target=lambda: seen.append(job.ProcessId))
        reader.start()
        backend.manager.stop(job, wait=False)
        assert child.state is S.Stopping
        assert seen == []  # still waiting for the reply
    finally:
        os.kill(server, signal.SIGCONT)
    reader.join(10)
    assert backend.manager.wait([job], timeout=10) == [job]
    assert job.state is S.Stopped
    assert child.reason == "'sleep' was terminated by signal SIGTERM"
    assert seen and seen[0] is not None and seen[0] > 0
    with pytest.raises(ProcessLookupError):
        os.killpg(seen[0], 0)


def test_an_exec_failure_fails_the_job_with_the_system_message(
    backend: ProcessBackend, tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus"
    bogus.write_bytes(b"\x7fELF not really")
    bogus.chmod(0o755)
    job = run(backend, ["seq", "3"], [str(bogus)])
    assert job.state is S.Failed
    assert child_of(job).reason == f"Program '{bogus}' failed to run: Exec format error"


def test_a_directory_removed_after_use_fails_the_next_job(
    backend: ProcessBackend, tmp_path: Path
) -> None:
    place = tmp_path / "place"
    place.mkdir()
    assert output(run(backend, ["pwd"], cwd=str(place))) == f"{place}\n".encode()
    place.rmdir()
    job = run(backend, ["pwd"], cwd=str(place))
    assert job.state is S.Failed
    assert child_of(job).reason == f"Cannot find the WorkingDirectory path {place}."
    place.mkdir()  # a new directory of the same name is entered, not the deleted one
    assert output(run(backend, ["pwd"], cwd=str(place))) == f"{place}\n".encode()


def test_changes_to_the_environment_reach_later_jobs(
    backend: ProcessBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PJSH_SPAWNER_TEST", "one")
    assert output(run(backend, ["printenv", "PJSH_SPAWNER_TEST"])) == b"one\n"
    monkeypatch.setenv("PJSH_SPAWNER_TEST", "two \udcff")
    assert output(run(backend, ["printenv", "PJSH_SPAWNER_TEST"])) == b"two \xff\n"
    monkeypatch.delenv("PJSH_SPAWNER_TEST")
    assert run(backend, ["printenv", "PJSH_SPAWNER_TEST"]).ExitCode == 1
    job = run(backend, ["printenv", "ONLY"], env={"ONLY": "mine"})
    assert output(job) == b"mine\n"
    # The environment travels only when it changes: a job's own, then pjsh's again.
    assert run(backend, ["printenv", "PJSH_SPAWNER_TEST"], env={"ONLY": "mine"}).ExitCode == 1
    monkeypatch.setenv("PJSH_SPAWNER_TEST", "three")
    assert output(run(backend, ["printenv", "PJSH_SPAWNER_TEST"])) == b"three\n"
    assert output(run(backend, ["printenv", "ONLY"], env={"ONLY": "again"})) == b"again\n"


def test_signals_ignored_by_pjsh_stay_ignored_the_rest_are_reset(
    backend: ProcessBackend
) -> None:
    old = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        job = backend.start_job(NativePipeline.of(["sleep", "100"]))
        (pid,) = backend.pids(job)
        mask = ignored_mask(pid)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert mask & (1 << (signal.SIGUSR1 - 1))
    for reset in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGTSTP, signal.SIGHUP):
        assert not mask & (1 << (reset - 1)), signal.Signals(reset).name
    backend.manager.stop(job, timeout=10)


def test_a_lost_server_ends_its_jobs_and_later_jobs_start_directly(
    backend: ProcessBackend
) -> None:
    server = spawner_pid(backend)
    job = backend.start_job(NativePipeline.of(["sleep", "100"]))
    pids = backend.pids(job)
    os.kill(server, signal.SIGKILL)
    assert backend.manager.wait([job], timeout=10) == [job]
    assert job.state is S.Failed
    assert child_of(job).reason == "'sleep' was terminated by signal SIGKILL"
    wait_exited(pids)
    later = run(backend, ["printf", "still here"])
    assert output(later) == b"still here" and later.state is S.Completed
    assert not backend._servers


def test_the_environment_switch_turns_the_server_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PJSH_SPAWNER", "0")
    assert not process_module.spawner_available()
    monkeypatch.setenv("PJSH_SPAWNER", "1")
    assert process_module.spawner_available()


def pipe_inodes(pid: int) -> set[str]:
    """The pipes a process holds open ("pipe:[inode]")."""
    found = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:
            continue
        if target.startswith("pipe:"):
            found.add(target)
    return found


def test_the_server_holds_a_silent_jobs_capture_pipes_and_hands_them_over_with_data(
    backend: ProcessBackend, tmp_path: Path
) -> None:
    server = spawner_pid(backend)
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    job = backend.start_job(NativePipeline.of(
        ["sh", "-c", f"read x < '{gate}'; printf 'late out'; printf 'late err' >&2"]))
    (pid,) = backend.pids(job)
    out = os.readlink(f"/proc/{pid}/fd/1")
    err = os.readlink(f"/proc/{pid}/fd/2")
    assert out.startswith("pipe:") and err.startswith("pipe:") and out != err
    # While the job is silent, its pipes are the server's, not pjsh's.
    assert {out, err} <= pipe_inodes(server)
    assert not {out, err} & pipe_inodes(os.getpid())
    with open(gate, "w") as f:
        f.write("go\n")
    assert backend.manager.wait([job], timeout=30) == [job]
    assert job.state is S.Completed
    assert output(job) == b"late out"
    assert b"".join(child_of(job).store.iter_bytes(Stream.Error, consume=False)) == b"late err"
    # Handed over and read to EOF: pjsh closed them; the server closed its copies right after
    # handing them over, before it read any later request (so certainly once one is answered).
    assert not {out, err} & pipe_inodes(os.getpid())
    run(backend, ["true"])
    assert not {out, err} & pipe_inodes(server)


def test_output_larger_than_a_pipe_arrives_whole_after_the_hand_over(
    backend: ProcessBackend
) -> None:
    job = run(backend, ["head", "-c", "3000000", "/dev/urandom"], ["od", "-An", "-tx1", "-v"])
    data = output(job)
    assert job.state is S.Completed
    assert len(data) == 3000000 // 16 * 49  # 16 bytes a line: " xx" x 16 + newline


def test_a_silent_job_and_one_writing_only_errors(backend: ProcessBackend) -> None:
    quiet = run(backend, ["true"])
    assert quiet.state is S.Completed and output(quiet) == b""
    errors = run(backend, ["sh", "-c", "echo oops >&2; exit 3"])
    assert errors.state is S.Failed and output(errors) == b""
    assert b"".join(child_of(errors).store.iter_bytes(Stream.Error, consume=False)) == b"oops\n"
    assert child_of(errors).reason == "'sh' exited with code 3"


def test_a_burst_spreads_over_a_second_server_a_lone_job_does_not_start_one(
    backend: ProcessBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_module, "_server_limit", lambda: 2)
    first = spawner_pid(backend)
    assert len(backend._servers) == 1  # one job at a time: one server
    run(backend, ["true"])
    assert len(backend._servers) == 1
    os.kill(first, signal.SIGSTOP)  # its next request stays unanswered: a backlog
    try:
        waiting = backend.start_job(NativePipeline.of(["printf", "one"]))
        second = backend.start_job(NativePipeline.of(["printf", "two"]))
        assert backend.manager.wait([second], timeout=30) == [second]
        assert len(backend._servers) == 2
        assert output(second) == b"two"
        assert waiting.state is S.Running  # still queued at the stopped server
    finally:
        os.kill(first, signal.SIGCONT)
    assert backend.manager.wait([waiting], timeout=30) == [waiting]
    assert output(waiting) == b"one"
    servers = {s.process.pid for s in backend._servers}
    assert first in servers and len(servers) == 2
    # No backlog anywhere: the next job goes to a running server, no third one starts.
    run(backend, ["true"])
    assert {s.process.pid for s in backend._servers} == servers


def test_a_prestarted_server_is_taken_by_the_first_native_job(tmp_path: Path) -> None:
    from pjsh.jobs import spawnclient

    spawnclient.prestart()
    waiting = spawnclient._prestarted
    assert waiting is not None
    manager = JobManager(spill_dir=str(tmp_path / "spill"))
    try:
        job = run(process_backend(manager), ["printf", "first"])
        assert output(job) == b"first"
        assert process_backend(manager)._servers == [waiting]
        assert spawnclient._prestarted is None
    finally:
        manager.shutdown()
    assert waiting.process.poll() is not None  # closed with its backend


def test_a_prestarted_server_that_died_is_not_used(backend: ProcessBackend) -> None:
    from pjsh.jobs import spawnclient

    spawnclient.prestart()
    dead = spawnclient._prestarted
    assert dead is not None
    dead.process.kill()
    dead.process.wait()
    job = run(backend, ["printf", "fine"])
    assert output(job) == b"fine" and job.state is S.Completed
    assert dead not in backend._servers and backend._servers


def test_the_first_background_job_waits_for_neither_asyncio_nor_a_fork_server() -> None:
    program = (
        "import sys\n"
        "from pjsh.runtime.host import MemoryHost\n"
        "from pjsh.engine import local_options\n"
        "from pjsh.runtime.runspace import create_runspace\n"
        "rs = create_runspace(local_options(MemoryHost()))\n"
        "rs.run('$j = printf ok &; $null = Wait-Job $j; Receive-Job $j; $j.State')\n"
        "loaded = [m for m in ('asyncio', 'pjsh.jobs.spawnclient') if m in sys.modules]\n"
        "print(loaded, rs.session.jobs.process_backend._servers, "
        "' '.join(''.join(rs.session.host.text).split()))\n"
        "rs.run('$s = sleep 100 &; Stop-Job $s; $s.State')\n"
        "print('asyncio' in sys.modules, ''.join(rs.session.host.text).split()[-1])\n"
        "rs.close()\n"
    )
    env = {**os.environ, "PJSH_SPAWNER": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, then = done.stdout.splitlines()[:2]
    assert first == "[] [] ok Completed"
    # Stop-Job runs a coroutine: the loop became asyncio's under the running second job.
    assert then == "True Stopped"


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_jobs_start_directly_until_the_server_started_by_the_second_one_serves(
    backend: ProcessBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "direct_until_ready", True)
    serving = threading.Event()
    on_replies = backend._on_replies

    def spy(spawner: object, data: bytes, fds: list[int]) -> None:
        on_replies(spawner, data, fds)  # type: ignore[arg-type]
        if b'"k"' in data:
            serving.set()

    monkeypatch.setattr(backend, "_on_replies", spy)
    lone = backend.start_job(NativePipeline.of(["sleep", "100"]))
    assert parent_of(backend.pids(lone)[0]) == os.getpid()
    assert backend._servers == []  # a lone job starts no server
    second = backend.start_job(NativePipeline.of(["sleep", "100"]))
    (server,) = backend._servers  # started by the second job, which did not wait for it
    assert parent_of(backend.pids(second)[0]) == os.getpid()
    assert serving.wait(30)
    served = backend.start_job(NativePipeline.of(["sleep", "100"]))
    assert parent_of(backend.pids(served)[0]) == server.process.pid
    for job in (lone, second, served):
        assert backend.manager.stop(job, timeout=10) is True
        assert job.state is S.Stopped
    assert run(backend, ["printf", "after"]).state is S.Completed


def test_start_requests_are_held_while_the_server_owes_a_reply_then_sent_together(
    backend: ProcessBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_module, "_server_limit", lambda: 1)
    server = spawner_pid(backend)
    (client,) = backend._servers
    settle(backend)
    os.kill(server, signal.SIGSTOP)
    try:
        first = backend.start_job(NativePipeline.of(["printf", "1"]))
        later = [backend.start_job(NativePipeline.of(["printf", str(n)])) for n in (2, 3, 4)]
        assert client.in_flight == 1 and len(client._queue) == 3  # only the first was sent
    finally:
        os.kill(server, signal.SIGCONT)
    jobs = [first, *later]
    assert backend.manager.wait(jobs, timeout=30) == jobs
    assert [output(job) for job in jobs] == [b"1", b"2", b"3", b"4"]
    # Every start request was sent and answered (a release may still be on its way).
    assert client.in_flight == 0 and not any(start for _data, start in client._queue)


def test_held_requests_fail_with_a_reason_when_their_server_dies(
    backend: ProcessBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_module, "_server_limit", lambda: 1)
    server = spawner_pid(backend)
    os.kill(server, signal.SIGSTOP)
    first = backend.start_job(NativePipeline.of(["sleep", "100"]))
    held = backend.start_job(NativePipeline.of(["printf", "never"]))
    os.kill(server, signal.SIGKILL)
    assert backend.manager.wait([first, held], timeout=30) == [first, held]
    assert held.state is S.Failed
    assert child_of(held).reason == "Program 'printf' failed to run: the process spawner exited"
    assert not backend._servers


def test_a_request_too_large_for_the_socket_starts_directly_and_harms_no_other_job(
    backend: ProcessBackend
) -> None:
    server = spawner_pid(backend)
    sleeper = backend.start_job(NativePipeline.of(["sleep", "100"]))
    backend.pids(sleeper)
    # 600 KB of arguments: fine for exec (ARG_MAX is 2 MB), too much for one socket message.
    words = ["w" * 3000] * 200
    big = backend.start_job(NativePipeline.of(["sh", "-c", 'echo "$#"; exec sleep 100', "sh",
                                               *words]))
    (pid,) = backend.pids(big)
    stat = Path(f"/proc/{pid}/stat").read_text()
    assert int(stat[stat.rindex(")") + 2:].split()[1]) == os.getpid()  # started by pjsh itself
    assert sleeper.state is S.Running  # the server and its jobs are untouched
    later = run(backend, ["printf", "served"])
    assert output(later) == b"served"
    assert server in {s.process.pid for s in backend._servers}
    assert backend.manager.wait_for_activity([big], timeout=30)  # its line is there to read
    assert output(big) == b"200\n"
    for job in (big, sleeper):
        assert backend.manager.stop(job, timeout=10) is True


def test_a_stopped_server_never_blocks_pjsh_and_its_queue_goes_when_it_runs_again(
    backend: ProcessBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setattr(process_module, "_server_limit", lambda: 1)
    server = spawner_pid(backend)
    (client,) = backend._servers
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # the kernel's minimum
    settle(backend)
    os.kill(server, signal.SIGSTOP)
    try:
        jobs = [backend.start_job(NativePipeline.of(["printf", f"{n:03d}" + "x" * 300]))
                for n in range(60)]
        assert len(client._queue) == 59  # ~20 KB held back: more than the socket takes
        # A job that passes a descriptor (its input) must go now, after the queue: the
        # socket has no room, so it starts without the server, at once.
        fed = backend.start_job(NativePipeline.of(["cat"], stdin=b"fed"))
        assert backend.manager.wait([fed], timeout=30) == [fed]
        assert output(fed) == b"fed"
        assert all(job.state is S.Running for job in jobs)
    finally:
        os.kill(server, signal.SIGCONT)
    assert backend.manager.wait(jobs, timeout=60) == jobs
    assert [output(job)[:3] for job in jobs] == [f"{n:03d}".encode() for n in range(60)]
    assert client._batch_bytes < 16384  # the socket refused a full batch: smaller ones went
    assert client.in_flight == 0 and not any(start for _data, start in client._queue)


def test_a_lone_silent_background_job_loads_no_socket_module_and_no_read_buffer() -> None:
    # A script's first `&` pays for what it uses only: the fork server's socket checks wait
    # for a second job, suspend/resume's helpers for a Suspend-Job, the 1 MiB read buffer for
    # a job that writes something (its pipes' EOF needs none).
    program = (
        "import sys\n"
        "from pjsh.runtime.host import MemoryHost\n"
        "from pjsh.engine import local_options\n"
        "from pjsh.runtime.runspace import create_runspace\n"
        "rs = create_runspace(local_options(MemoryHost()))\n"
        "rs.run('$j = /bin/true &; $null = Wait-Job $j; $j.State')\n"
        "loaded = [m for m in ('_socket', 'shlex', 'pjsh.jobs.groups') if m in sys.modules]\n"
        "backend = rs.session.jobs.process_backend\n"
        "print(loaded, backend._scratch is None, ''.join(rs.session.host.text).split())\n"
        "rs.run('$k = printf ok &; $null = Wait-Job $k; Receive-Job $k')\n"
        "print(backend._scratch is None, ''.join(rs.session.host.text).split()[-1])\n"
        "rs.close()\n"
    )
    env = {**os.environ, "PJSH_SPAWNER": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, then = done.stdout.splitlines()[:2]
    assert first == "[] True ['Completed']"
    assert then == "False ok"  # output: the buffer is made, and the bytes arrive whole
