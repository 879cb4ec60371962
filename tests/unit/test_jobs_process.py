"""The process backend with real processes: output, exit status, signals, process groups."""

from __future__ import annotations

import errno
import hashlib
import os
import select
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pjsh.jobs import process as process_module
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import Job, JobError, JobState, PSRemotingChildJob, PSRemotingJob
from pjsh.jobs.process import NativePipeline, ProcessBackend
from pjsh.jobs.storage import Stream

S = JobState
pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test runs on the fork-server path and on the direct one, except those that pick
    their spawn path themselves (``spawn_path``)."""
    if "spawn_path" not in metafunc.fixturenames:
        metafunc.parametrize("path", ["spawner", "direct"], indirect=True)


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


@pytest.fixture(autouse=True)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Select the fork server (pjsh/jobs/spawner.py) or the direct posix_spawn/Popen path."""
    param = getattr(request, "param", None)
    if param is not None:
        if param == "spawner" and not process_module.spawner_available():
            pytest.skip("no fork server here")
        monkeypatch.setattr(ProcessBackend, "use_spawner", param == "spawner")
        monkeypatch.setattr(ProcessBackend, "direct_until_ready", False)
    return param


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[JobManager]:
    m = JobManager(spill_dir=str(tmp_path / "spill"), stop_grace=0.5)
    yield m
    m.shutdown()


@pytest.fixture
def backend(manager: JobManager) -> ProcessBackend:
    return process_backend(manager)


def run(backend: ProcessBackend, *commands: list[str], **options: object) -> PSRemotingJob:
    """Start a pipeline and wait for it to end."""
    job = backend.start_job(NativePipeline.of(*commands, **options))
    assert backend.manager.wait([job], timeout=30) == [job]
    return job


def child_of(job: Job) -> Job:
    (child,) = job.ChildJobs
    return child


def output(job: Job, stream: Stream = Stream.Output) -> bytes:
    return b"".join(child_of(job).store.iter_bytes(stream, consume=False))


def proc_stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (index 0 = state, 2 = pgrp)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def group_members(pgid: int) -> dict[int, str]:
    """pid -> state of every process in a process group."""
    members = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = proc_stat(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid:
                members[int(entry)] = fields[0]
    return members


def children_of_us() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(proc_stat(int(entry))[1]) == me:
                    found.add(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


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


def test_job_shape_background_parent_with_one_child(backend: ProcessBackend) -> None:
    job = run(backend, ["printf", "hi"])
    assert isinstance(job, PSRemotingJob) and job.PSJobTypeName == "BackgroundJob"
    child = child_of(job)
    assert isinstance(child, PSRemotingChildJob) and child.PSJobTypeName == ""
    assert job.Command == "printf hi" and job.Location == "localhost"
    assert (job.Id, child.Id) == (1, 2)
    assert job.State == "Completed" and child.State == "Completed"
    assert job.ExitCode == 0 and child.ExitCode == 0
    assert job.ProcessId is not None and job.ProcessId == child.ProcessId
    assert job.PSBeginTime is not None and job.PSEndTime is not None


def test_printf_and_seq_output_is_captured_exactly(backend: ProcessBackend) -> None:
    assert output(run(backend, ["printf", "a\\tb\\n\\377\\376 no newline"])) == \
        b"a\tb\n\xff\xfe no newline"
    assert output(run(backend, ["seq", "3"])) == b"1\n2\n3\n"
    job = run(backend, ["seq", "3"])
    assert child_of(job).Output == ["1", "2", "3"]
    assert job.HasMoreData
    assert [r.value for r in job.read()] == [b"1\n2\n3\n"]
    assert not job.HasMoreData


def test_stages_are_chained_by_pipes_and_only_the_last_status_counts(
    backend: ProcessBackend
) -> None:
    assert output(run(backend, ["seq", "100000"], ["wc", "-l"])).strip() == b"100000"
    job = run(backend, ["sh", "-c", "exit 1"], ["cat"])
    assert job.state is S.Completed


def test_stderr_goes_to_the_error_stream(backend: ProcessBackend) -> None:
    job = run(backend, ["sh", "-c", "echo out; echo err >&2"])
    assert output(job) == b"out\n"
    assert output(job, Stream.Error) == b"err\n"
    assert child_of(job).Error == ["err"]


def test_nonzero_exit_fails_with_a_reason(backend: ProcessBackend) -> None:
    job = run(backend, ["sh", "-c", "exit 3"])
    child = child_of(job)
    assert job.state is S.Failed and child.state is S.Failed
    assert child.JobStateInfo.Reason == "'sh' exited with code 3"
    assert job.ExitCode == 3


def test_command_not_found_fails_with_a_clear_reason(backend: ProcessBackend) -> None:
    job = backend.start_job(NativePipeline.of(["seq", "3"], ["pjsh-no-such-command"]))
    assert job.state is S.Failed
    reason = child_of(job).JobStateInfo.Reason
    assert reason is not None
    assert reason.startswith("The term 'pjsh-no-such-command' is not recognized as a name of a")
    assert job.ProcessId is None  # nothing was started


def test_a_missing_working_directory_fails(backend: ProcessBackend, tmp_path: Path) -> None:
    job = backend.start_job(NativePipeline.of(["true"], cwd=str(tmp_path / "gone")))
    assert child_of(job).reason == f"Cannot find the WorkingDirectory path {tmp_path / 'gone'}."


def test_working_directory_and_environment(backend: ProcessBackend, tmp_path: Path) -> None:
    job = run(backend, ["sh", "-c", 'pwd; echo "$PJSH_TEST"'], cwd=str(tmp_path),
              env={"PATH": os.environ["PATH"], "PJSH_TEST": "value"})
    assert output(job) == f"{tmp_path}\nvalue\n".encode()


def test_stdin_bytes_reach_the_first_stage_exactly(backend: ProcessBackend) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, bigger than a pipe buffer, not UTF-8
    job = run(backend, ["cat"], ["cat"], stdin=data)
    assert hashlib.sha256(output(job)).digest() == hashlib.sha256(data).digest()


def test_output_redirected_to_a_file(backend: ProcessBackend, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    job = run(backend, ["printf", "\\377x"], stdout_path=str(target))
    assert target.read_bytes() == b"\xffx"
    assert output(job) == b"" and not job.HasMoreData
    run(backend, ["printf", "y"], stdout_path=str(target), stdout_append=True)
    assert target.read_bytes() == b"\xffxy"


def test_all_stages_share_one_new_process_group(backend: ProcessBackend) -> None:
    job = backend.start_job(NativePipeline.of(["sleep", "100"], ["sleep", "100"]))
    pids = backend.pids(job)
    assert len(pids) == 2
    pgid = pids[0]
    assert job.ProcessId == pgid and pgid != os.getpgrp()
    assert [int(proc_stat(pid)[2]) for pid in pids] == [pgid, pgid]
    assert backend.manager.stop(job) is True
    assert backend.pids(job) == []


def test_stop_ends_the_whole_group(backend: ProcessBackend) -> None:
    job = backend.start_job(NativePipeline.of(["sleep", "100"]))
    pgid = job.ProcessId
    assert pgid is not None and job.State == "Running"
    assert backend.manager.stop(job, timeout=10) is True
    child = child_of(job)
    assert job.state is S.Stopped and child.state is S.Stopped
    assert child.reason == "'sleep' was terminated by signal SIGTERM"
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)


def start_ready(backend: ProcessBackend, script: str) -> PSRemotingJob:
    """Start ``sh -c script`` and wait (on the output event) until it has printed 'ready'."""
    job = backend.start_job(NativePipeline.of(["sh", "-c", script]))
    assert backend.manager.wait_for_activity([job], timeout=10)
    assert output(job) == b"ready\n"
    return job


def test_stop_reaches_grandchildren_and_escalates_to_sigkill(backend: ProcessBackend) -> None:
    # The shell and its background child ignore SIGTERM: only SIGKILL after the grace period
    # ends them, and the grandchild must not survive as an orphan.
    job = start_ready(backend, 'trap "" TERM; sleep 100 & echo ready; wait')
    pgid = job.ProcessId
    assert pgid is not None
    members = list(group_members(pgid))
    assert len(members) == 2  # the shell and its background sleep
    assert backend.manager.stop(job, timeout=10) is True
    assert child_of(job).reason == "'sh' was terminated by signal SIGKILL"
    wait_exited(members)
    assert all(state == "Z" for state in group_members(pgid).values())


def test_sigkill_from_outside_fails_the_job_with_the_signal(backend: ProcessBackend) -> None:
    job = backend.start_job(NativePipeline.of(["sleep", "100"]))
    assert job.ProcessId is not None
    os.kill(job.ProcessId, signal.SIGKILL)
    assert backend.manager.wait([job], timeout=10) == [job]
    child = child_of(job)
    assert job.state is S.Failed
    assert child.reason == "'sleep' was terminated by signal SIGKILL"
    assert job.ExitCode == 128 + signal.SIGKILL


def test_suspend_and_resume_with_sigstop_and_sigcont(backend: ProcessBackend) -> None:
    job = backend.start_job(NativePipeline.of(["sleep", "100"], ["cat"]))
    pids = backend.pids(job)
    backend.manager.suspend(job)
    assert job.State == "Suspended" and child_of(job).State == "Suspended"
    assert [proc_stat(pid)[0] for pid in pids] == ["T", "T"]
    assert backend.manager.wait([job], timeout=5) == [job]  # Suspended ends a plain wait
    backend.manager.resume(job)
    assert job.State == "Running"
    assert all(proc_stat(pid)[0] in ("S", "R") for pid in pids)
    backend.manager.suspend(job)
    assert backend.manager.stop(job, timeout=10) is True  # a suspended job can be stopped
    assert job.state is S.Stopped


def test_suspend_of_a_finished_job_is_refused(backend: ProcessBackend) -> None:
    job = run(backend, ["true"])
    with pytest.raises(JobError):
        manager_call_suspend(backend, child_of(job))


def manager_call_suspend(backend: ProcessBackend, job: Job) -> None:
    backend.manager.call(backend.suspend(job))


def test_two_hundred_concurrent_jobs_all_received_in_order(backend: ProcessBackend) -> None:
    expected = b"".join(b"%d\n" % i for i in range(1, 1001))
    jobs = [backend.start_job(NativePipeline.of(["seq", "1000"])) for _ in range(200)]
    assert backend.manager.wait(jobs, timeout=60) == jobs
    for job in jobs:
        assert job.state is S.Completed
        assert b"".join(child_of(job).store.iter_bytes()) == expected


def test_large_output_spills_and_stays_byte_exact(tmp_path: Path) -> None:
    manager = JobManager(spill_dir=str(tmp_path / "spill"), output_limit=64 * 1024)
    try:
        job = process_backend(manager).start_job(
            NativePipeline.of(["head", "-c", str(8 * 1024 * 1024), "/dev/urandom"], ["tee",
                              str(tmp_path / "copy")])
        )
        assert manager.wait([job], timeout=30) == [job]
        store = child_of(job).store
        assert store.disk_bytes > 0 and store.memory_bytes <= 64 * 1024
        got = hashlib.sha256(b"".join(store.iter_bytes())).hexdigest()
        assert got == hashlib.sha256((tmp_path / "copy").read_bytes()).hexdigest()
        spill = store.spill_path
        manager.remove(job)
        assert spill is None or not os.path.exists(spill)
    finally:
        manager.shutdown()


def test_shutdown_leaves_no_child_processes(tmp_path: Path) -> None:
    before = children_of_us()
    manager = JobManager(stop_grace=0.5)
    backend = process_backend(manager)
    sleeper = backend.start_job(NativePipeline.of(["sleep", "100"]))
    nested = start_ready(backend, "sleep 100 & sleep 100 & echo ready; wait")
    paused = backend.start_job(NativePipeline.of(["sleep", "100"], ["cat"]))
    manager.suspend(paused)
    groups = [j.ProcessId for j in (sleeper, nested, paused)]
    members = [pid for pgid in groups if pgid for pid in group_members(pgid)]
    manager.shutdown()
    assert all(j.state is S.Stopped for j in (sleeper, nested, paused))
    wait_exited(members)
    assert children_of_us() - before == set()
    for pgid in groups:
        assert pgid is not None
        assert all(state == "Z" for state in group_members(pgid).values())


# ---- spawning paths, exit watching, splice -----------------------------------------------------

@pytest.fixture(params=["spawner", "posix_spawn", "popen"])
def spawn_path(request: pytest.FixtureRequest, backend: ProcessBackend,
               monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the fork server, with posix_spawn and with the Popen fallback."""
    if request.param == "posix_spawn" and not ProcessBackend.use_posix_spawn:
        pytest.skip("no os.posix_spawn here")
    if request.param == "spawner" and not process_module.spawner_available():
        pytest.skip("no fork server here")
    monkeypatch.setattr(backend, "use_spawner", request.param == "spawner")
    monkeypatch.setattr(backend, "direct_until_ready", False)
    monkeypatch.setattr(backend, "use_posix_spawn", request.param == "posix_spawn")
    return str(request.param)


def test_both_spawn_paths_capture_exactly_and_share_a_new_group(
    backend: ProcessBackend, spawn_path: str
) -> None:
    job = run(backend, ["printf", "\\377ok"], ["cat"])
    assert output(job) == b"\xffok" and job.state is S.Completed
    job = backend.start_job(NativePipeline.of(["sleep", "100"], ["sleep", "100"]))
    pids = backend.pids(job)
    assert [int(proc_stat(pid)[2]) for pid in pids] == [pids[0], pids[0]] != [os.getpgrp()] * 2
    assert backend.manager.stop(job, timeout=10) is True
    assert job.state is S.Stopped


def test_posix_spawn_serves_jobs_in_the_shells_directory_popen_the_rest(
    backend: ProcessBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if not ProcessBackend.use_posix_spawn:
        pytest.skip("no os.posix_spawn here")
    monkeypatch.setattr(backend, "use_spawner", False)  # the direct path's own choice
    from pjsh.runtime import launch

    spawned: list[str] = []
    real_spawn = launch.spawn

    def spy(executable: str, *args: Any, **kwargs: Any) -> int:
        spawned.append(executable)
        return real_spawn(executable, *args, **kwargs)

    monkeypatch.setattr(launch, "spawn", spy)
    assert output(run(backend, ["pwd"], cwd=os.getcwd())) == os.getcwd().encode() + b"\n"
    assert len(spawned) == 1  # posix_spawn
    assert output(run(backend, ["pwd"], cwd=str(tmp_path))) == f"{tmp_path}\n".encode()
    assert len(spawned) == 1  # Popen: it can change directory


def test_posix_spawn_resets_ignored_job_control_signals(backend: ProcessBackend) -> None:
    if not ProcessBackend.use_posix_spawn:
        pytest.skip("no os.posix_spawn here")
    # A console ignores SIGTSTP; a job must not inherit that across exec. SigIgn in
    # /proc/<pid>/status is the mask of ignored signals.
    old = signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        job = backend.start_job(NativePipeline.of(["sleep", "100"]))
        (pid,) = backend.pids(job)
        status = Path(f"/proc/{pid}/status").read_text()
        ignored = int(status.split("SigIgn:")[1].split()[0], 16)
        assert not ignored & (1 << (signal.SIGTSTP - 1))
        assert not ignored & (1 << (signal.SIGPIPE - 1))
        backend.manager.stop(job, timeout=10)
    finally:
        signal.signal(signal.SIGTSTP, old)


def test_inherited_descriptors_are_sealed_before_posix_spawn(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.set_inheritable(write_fd, True)  # as if the shell had been started with it open
        from pjsh.runtime import launch

        monkeypatch.setattr(launch, "_sealed", False)
        launch.seal_inherited_fds()
        assert not os.get_inheritable(write_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_stage_that_closes_its_output_early_is_waited_for(backend: ProcessBackend) -> None:
    # Both pipes reach EOF while the process still runs: the exit is then watched by pidfd.
    job = run(backend, ["sh", "-c", "echo early; exec >&- 2>&-; sleep 0.2; exit 4"])
    assert output(job) == b"early\n"
    assert job.state is S.Failed and job.ExitCode == 4
    assert child_of(job).reason == "'sh' exited with code 4"


def test_output_redirected_on_both_streams_still_ends_the_job(
    backend: ProcessBackend, tmp_path: Path
) -> None:
    job = run(backend, ["sh", "-c", "echo out; echo err >&2"],
              stdout_path=str(tmp_path / "o"), stderr_path=str(tmp_path / "e"))
    assert job.state is S.Completed
    assert (tmp_path / "o").read_bytes() == b"out\n" and (tmp_path / "e").read_bytes() == b"err\n"


def test_stop_after_the_stage_exited_kills_a_grandchild_holding_the_pipe(
    backend: ProcessBackend
) -> None:
    job = start_ready(backend, "sleep 100 & echo ready")
    pgid = job.ProcessId
    assert pgid is not None
    members = list(group_members(pgid))
    assert job.State == "Running"  # sh is gone, but its sleep still holds stdout open
    assert backend.manager.stop(job, timeout=10) is True
    assert job.state is S.Stopped
    wait_exited(members)


@pytest.mark.parametrize("splice", [True, False])
def test_spilled_output_is_exact_with_and_without_splice(
    tmp_path: Path, splice: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if splice and not ProcessBackend.use_splice:
        pytest.skip("no splice here")
    manager = JobManager(spill_dir=str(tmp_path / "spill"), output_limit=64 * 1024)
    try:
        backend = process_backend(manager)
        monkeypatch.setattr(backend, "use_splice", splice)
        script = ("head -c 3000000 /dev/urandom | tee out.bin; "
                  "head -c 2000000 /dev/urandom | tee err.bin >&2")
        job = backend.start_job(NativePipeline.of(["sh", "-c", script], cwd=str(tmp_path)))
        assert manager.wait([job], timeout=30) == [job] and job.state is S.Completed
        store = child_of(job).store
        assert store.disk_bytes > 4_000_000
        for stream, name in ((Stream.Output, "out.bin"), (Stream.Error, "err.bin")):
            got = hashlib.sha256(b"".join(store.iter_bytes(stream, consume=False))).digest()
            assert got == hashlib.sha256((tmp_path / name).read_bytes()).digest()
    finally:
        manager.shutdown()


def test_splice_refused_by_the_file_system_falls_back_to_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pjsh.jobs import storage

    def refuse(*_args: object, **_kwargs: object) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(storage, "_splice", refuse)
    manager = JobManager(spill_dir=str(tmp_path / "spill"), output_limit=1024)
    try:
        job = process_backend(manager).start_job(NativePipeline.of(["seq", "200000"]))
        assert manager.wait([job], timeout=30) == [job]
        expected = b"".join(b"%d\n" % i for i in range(1, 200001))
        assert b"".join(child_of(job).store.iter_bytes()) == expected
    finally:
        manager.shutdown()


def test_many_jobs_started_in_a_burst_are_all_watched(backend: ProcessBackend) -> None:
    # Starts are handed to the loop in batches; none may be lost between batches.
    jobs = [backend.start_job(NativePipeline.of(["true"])) for _ in range(300)]
    assert backend.manager.wait(jobs, timeout=60) == jobs
    assert all(job.state is S.Completed and job.ExitCode == 0 for job in jobs)


def test_a_file_that_cannot_be_executed_fails_the_start_on_both_paths(
    backend: ProcessBackend, spawn_path: str, tmp_path: Path
) -> None:
    script = tmp_path / "not-executable"
    script.write_text("echo hi\n")
    job = backend.start_job(NativePipeline.of([str(script)]))
    assert job.state is S.Failed and job.ProcessId is None
    assert child_of(job).reason == f"Program '{script}' failed to run: Permission denied"


def test_a_stage_inherits_only_its_three_standard_descriptors(backend: ProcessBackend) -> None:
    # Nothing of the shell's (nor of the fork server's socket) leaks into a job; the fourth
    # entry is ls's own handle on the directory it lists.
    job = run(backend, ["ls", "/proc/self/fd"], ["cat"])
    assert output(job) == b"0\n1\n2\n3\n"


def test_a_mixed_burst_every_job_ends_with_its_own_output_state_and_reason(
    backend: ProcessBackend, tmp_path: Path
) -> None:
    """Three hundred jobs of every shape at once (silent, output only, errors only, both,
    output after a pause, failing, a pipeline, stopped mid-way): each ends in its own state
    with exactly its own bytes, whichever server or path started it."""
    kinds: list[tuple[str, list[list[str]]]] = [
        ("silent", [["true"]]),
        ("out", [["printf", "out-{n}"]]),
        ("err", [["sh", "-c", "printf err-{n} >&2"]]),
        ("both", [["sh", "-c", "printf out-{n}; printf err-{n} >&2"]]),
        ("late", [["sh", "-c", "sleep 0.05; printf out-{n}"]]),
        ("fail", [["sh", "-c", "printf err-{n} >&2; exit 3"]]),
        ("pipe", [["printf", "out-{n}"], ["cat"]]),
        ("stop", [["sleep", "100"]]),
    ]
    started = []
    for n in range(300):
        kind, commands = kinds[n % len(kinds)]
        argvs = [[arg.format(n=n) for arg in argv] for argv in commands]
        started.append((n, kind, backend.start_job(NativePipeline.of(*argvs))))
    stopped = [job for _n, kind, job in started if kind == "stop"]
    for job in stopped:
        backend.manager.stop(job, wait=False)
    jobs = [job for _n, _kind, job in started]
    assert backend.manager.wait(jobs, timeout=120) == jobs
    for n, kind, job in started:
        child = child_of(job)
        out = b"".join(child.store.iter_bytes(Stream.Output, consume=False))
        err = b"".join(child.store.iter_bytes(Stream.Error, consume=False))
        expect_out = f"out-{n}".encode() if kind in ("out", "both", "late", "pipe") else b""
        expect_err = f"err-{n}".encode() if kind in ("err", "both", "fail") else b""
        assert (out, err) == (expect_out, expect_err), (n, kind)
        if kind == "fail":
            assert job.state is S.Failed and child.reason == "'sh' exited with code 3"
        elif kind == "stop":
            assert job.state is S.Stopped
        else:
            assert job.state is S.Completed, (n, kind, child.reason)
