"""Stop/suspend/resume/finish races on every backend: no illegal state transition is ever
attempted (each would raise InvalidJobStateTransition wherever it happened: on the loop, on a
pool thread, in an observer), and every job still reaches a finished state."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.commands import BUILTIN_MODULES
from pjsh.jobs import model
from pjsh.jobs.fake import FakeBackend
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import InvalidJobStateTransition, Job, JobError, JobState
from pjsh.jobs.process import NativePipeline, ProcessBackend
from pjsh.jobs.thread import JobWriter, ThreadBackend
from pjsh.jobs.workers import WorkerBackend, WorkerRequest

S = JobState


@pytest.fixture
def illegal(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, JobState, JobState]]]:
    """Every illegal transition attempted during the test (the test asserts it stays empty:
    the exception alone could be swallowed by a thread or an observer's error report)."""
    seen: list[tuple[int, JobState, JobState]] = []
    original = InvalidJobStateTransition.__init__

    def recording(self: InvalidJobStateTransition, job_id: int, old: JobState,
                  new: JobState) -> None:
        seen.append((job_id, old, new))
        original(self, job_id, old, new)

    monkeypatch.setattr(InvalidJobStateTransition, "__init__", recording)
    yield seen


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[JobManager]:
    m = JobManager(spill_dir=str(tmp_path / "spill"), stop_grace=0.5)
    yield m
    m.shutdown()


def settle(manager: JobManager, jobs: list[Job]) -> None:
    """Wait for the jobs to finish (stopping any left running) and check they did."""
    for job in jobs:
        manager.stop(job, wait=False)
    assert manager.wait(jobs, timeout=30, force=True) == jobs
    assert all(job.is_finished() for job in jobs)


def test_illegal_transition_is_recorded_by_the_fixture(
    illegal: list[tuple[int, JobState, JobState]],
) -> None:
    job = Job(1)
    with pytest.raises(InvalidJobStateTransition):
        job.set_state(S.Completed)
    assert illegal == [(1, S.NotStarted, S.Completed)]


def test_job_has_no_silent_try_set_state() -> None:
    assert not hasattr(model.Job, "try_set_state")


# ---- the explicit race primitives --------------------------------------------------------------

def test_begin_stopping_on_a_finished_job_changes_nothing() -> None:
    job = Job(1)
    job.set_state(S.Running)
    job.set_state(S.Completed)
    assert job.begin_stopping() is False and job.state is S.Completed


def test_finish_if_unfinished_goes_through_stopping_and_leaves_a_finished_job_alone() -> None:
    job = Job(1)
    job.set_state(S.Running)
    assert job.finish_if_unfinished(S.Stopped) is True and job.state is S.Stopped
    assert job.finish_if_unfinished(S.Failed, "late") is False and job.reason is None


def test_finish_if_unfinished_still_raises_for_a_stopping_job_that_completes() -> None:
    job = Job(1)
    job.set_state(S.Running)
    job.set_state(S.Stopping)
    with pytest.raises(InvalidJobStateTransition):
        job.finish_if_unfinished(S.Completed)


def test_compare_and_set_acts_only_from_the_expected_state() -> None:
    job = Job(1)
    job.set_state(S.Running)
    job.set_state(S.Stopping)
    assert job.compare_and_set(S.Running, S.Suspended) is False and job.state is S.Stopping


# ---- fake backend --------------------------------------------------------------------------------

def test_fake_stop_racing_finish_ends_stopped_without_illegal_transition(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    fake = FakeBackend(manager, auto_stop=False)
    manager.register_backend("fake", fake)
    job = manager.start(fake.create_job())
    manager.stop(job, wait=False)
    assert job.state is S.Stopping
    fake.finish(job, S.Completed)  # the work ended on its own while the stop was underway
    assert job.state is S.Stopped and illegal == []


def test_fake_stop_after_finish_leaves_the_job_finished(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    fake = FakeBackend(manager)
    job = manager.start(fake.create_job())
    fake.finish(job, S.Failed, "boom")
    manager.call(fake.stop(job))  # a stop that was already on its way
    assert (job.state, job.reason, illegal) == (S.Failed, "boom", [])


def test_fake_suspend_and_resume_racing_stop_change_nothing(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    fake = FakeBackend(manager, auto_stop=False)
    job = manager.start(fake.create_job())
    manager.stop(job, wait=False)
    manager.call(fake.suspend(job))
    manager.call(fake.resume(job))
    assert job.state is S.Stopping
    assert fake.finish(job) is True and job.state is S.Stopped
    assert fake.finish(job) is False and illegal == []


def test_fake_parent_stopped_while_its_children_finish(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    fake = FakeBackend(manager, auto_stop=False)
    parent = manager.start(fake.create_parent([[], []]))
    first, second = parent.ChildJobs
    fake.finish(first)
    manager.stop(parent, wait=False)
    fake.finish(second)
    assert (first.state, second.state, parent.state) == (S.Completed, S.Stopped, S.Stopped)
    assert illegal == []


def test_fake_child_stopped_on_its_own_ends_its_parent_stopped_through_stopping(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    fake = FakeBackend(manager)
    parent = manager.start(fake.create_parent([[], []]))
    first, second = parent.ChildJobs
    seen: list[JobState] = []
    parent.add_observer(lambda event: seen.append(event.job.state))
    manager.stop(first)  # Stop-Job on the child, not on the parent
    assert (first.state, parent.state) == (S.Stopped, S.Running)
    fake.finish(second)
    assert (second.state, parent.state) == (S.Completed, S.Stopped)
    assert seen == [S.Stopping, S.Stopped] and illegal == []


# ---- thread backend ------------------------------------------------------------------------------

def test_thread_stop_racing_the_end_of_many_jobs(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = ThreadBackend(manager, throttle_limit=4)
    manager.register_backend("thread", backend)
    jobs = []
    for _ in range(200):
        job = backend.start_job(lambda w: None)  # ends at once, often while being stopped
        manager.stop(job, wait=False)
        jobs.append(job)
    settle(manager, jobs)
    assert {job.state for job in jobs} <= {S.Completed, S.Stopped}
    assert illegal == []


def test_thread_job_that_ignores_the_stop_flag_ends_stopped(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = ThreadBackend(manager)
    manager.register_backend("thread", backend)
    gate = threading.Event()
    job = backend.start_job(lambda w: gate.wait(10) and None)
    manager.stop(job, wait=False)
    assert job.state is S.Stopping
    gate.set()
    assert manager.wait([job], timeout=10, force=True) == [job]
    assert job.state is S.Stopped and illegal == []


def test_thread_job_ending_between_stopping_and_the_flag_ends_stopped(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    # The narrowest race: the stop has made the job Stopping but not yet raised the flag when
    # the callable returns. The flag's set() is held until the job has ended, to force it.
    backend = ThreadBackend(manager)
    manager.register_backend("thread", backend)
    gate = threading.Event()
    job = backend.start_job(lambda w: gate.wait(10) and None)
    flag = backend._stopping[job]
    real_set = flag.set

    def late_set() -> None:
        gate.set()
        job.finished.wait(10)
        real_set()

    flag.set = late_set  # type: ignore[method-assign]
    manager.stop(job, wait=True, timeout=10)
    assert job.state is S.Stopped and illegal == []


def test_thread_suspend_and_resume_are_refused_whatever_the_state(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = ThreadBackend(manager)
    manager.register_backend("thread", backend)
    gate = threading.Event()

    def work(writer: JobWriter) -> None:
        gate.wait(10)

    job = backend.start_job(work)
    with pytest.raises(JobError):
        manager.suspend(job)
    gate.set()
    # Wait for the job's own end (settle would stop it if it had not quite ended yet).
    assert manager.wait([job], timeout=30) == [job]
    with pytest.raises(JobError):
        manager.call(backend.resume(job))
    assert job.state is S.Completed and illegal == []


# ---- process backend -----------------------------------------------------------------------------

def test_process_stop_racing_the_exit_of_many_jobs(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = ProcessBackend(manager, stop_grace=0.5)
    manager.register_backend("process", backend)
    jobs: list[Job] = []
    for _ in range(40):
        job = backend.start_job(NativePipeline.of(["true"]))
        manager.stop(job, wait=False)
        jobs.append(job)
    settle(manager, jobs)
    assert {job.state for job in jobs} <= {S.Completed, S.Stopped}
    assert illegal == []


def test_process_suspend_resume_racing_exit(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = ProcessBackend(manager, stop_grace=0.5)
    manager.register_backend("process", backend)
    jobs: list[Job] = []
    for _ in range(20):
        job = backend.start_job(NativePipeline.of(["true"]))
        for operation in (manager.suspend, manager.resume):
            try:
                operation(job)
            except JobError:
                pass  # it had already ended: suspending a finished job is refused
        jobs.append(job)
    settle(manager, jobs)
    assert {job.state for job in jobs} <= {S.Completed, S.Stopped}
    assert illegal == []


def test_process_stop_of_a_suspended_job_and_suspend_of_a_stopping_one(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = ProcessBackend(manager, stop_grace=0.5)
    manager.register_backend("process", backend)
    job = backend.start_job(NativePipeline.of(["sleep", "30"]))
    manager.suspend(job)
    assert job.state is S.Suspended
    manager.stop(job, wait=False)
    child = job.ChildJobs[0]
    # Arriving after the stop: refused (JobError) or nothing to do, never a bad transition.
    for operation in (backend.suspend, backend.resume):
        with contextlib.suppress(JobError):
            manager.call(operation(child))
    settle(manager, [job])
    assert job.state is S.Stopped and illegal == []


# ---- worker backend ------------------------------------------------------------------------------

@pytest.mark.slow
def test_worker_stop_suspend_resume_races(
    manager: JobManager, illegal: list[tuple[int, JobState, JobState]],
) -> None:
    backend = WorkerBackend(manager, stop_grace=0.5, command_modules=BUILTIN_MODULES)
    manager.register_backend("worker", backend)
    cwd, env = os.getcwd(), dict(os.environ)
    quick = [backend.create_job(WorkerRequest("1", cwd, env)) for _ in range(3)]
    for job in quick:
        manager.start(job)
        manager.stop(job, wait=False)  # the job may already have ended
    slow = manager.start(backend.create_job(WorkerRequest("Start-Sleep 30", cwd, env)))
    manager.suspend(slow)
    assert slow.state is S.Suspended
    manager.resume(slow)
    assert slow.state is S.Running
    manager.stop(slow, wait=False)
    settle(manager, [*quick, slow])
    assert slow.state is S.Stopped
    assert {job.state for job in quick} <= {S.Completed, S.Stopped}
    assert illegal == []


def test_the_service_registers_its_backends_and_the_manager_imports_none() -> None:
    import ast
    import inspect

    from tests.harness import new_runspace, run

    rs = new_runspace()
    try:
        run("Start-ThreadJob { 1 } | Wait-Job | Out-Null", rs)
        service = rs.session.jobs
        assert service.manager.backend_kinds() == ["thread"]
        assert service.manager.backend("thread") is service.thread_backend
    finally:
        rs.session.jobs.shutdown()

    from pjsh.jobs import manager as manager_module

    tree = ast.parse(inspect.getsource(manager_module))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    assert not imported & {"pjsh.jobs.process", "pjsh.jobs.thread", "pjsh.jobs.workers",
                           "pjsh.jobs.fake"}
    assert "getattr" not in inspect.getsource(manager_module)
