"""The JobManager over the scripted FakeBackend: ids, the job table, waiting, stop, events."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest

from pjsh.jobs.fake import Emit, FakeBackend, Transition
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import Job, JobError, JobEvent, JobEventKind, JobState
from pjsh.jobs.storage import Stream
from pjsh.runtime.cancel import CancelToken

S = JobState


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[JobManager]:
    m = JobManager(spill_dir=str(tmp_path / "spill"))
    yield m
    m.shutdown()


@pytest.fixture
def fake(manager: JobManager) -> FakeBackend:
    return FakeBackend(manager)


def test_ids_are_shared_by_parents_and_children(manager: JobManager, fake: FakeBackend) -> None:
    parent = fake.create_parent([[], []])
    assert (parent.Id, [c.Id for c in parent.ChildJobs]) == (1, [2, 3])
    assert parent.Name == "Job1" and parent.ChildJobs[0].Name == "Job2"
    assert fake.create_job().Id == 4
    assert manager.next_id() == 5


def test_each_manager_has_its_own_counter(tmp_path: Path) -> None:
    first, second = JobManager(), JobManager()
    try:
        assert [first.next_id(), first.next_id(), second.next_id()] == [1, 2, 1]
    finally:
        first.shutdown()
        second.shutdown()


def test_job_table_lists_top_level_sorted_and_finds_children(
    manager: JobManager, fake: FakeBackend
) -> None:
    a = fake.create_job()
    parent = fake.create_parent([[]])
    manager.add(parent)
    manager.add(a)
    assert manager.jobs() == [a, parent]
    assert [j.Id for j in manager.all_jobs()] == [1, 2, 3]
    child = parent.ChildJobs[0]
    assert manager.get(child.Id) is child
    assert manager.get(99) is None


def test_start_makes_a_parent_running_and_plays_child_scripts(
    manager: JobManager, fake: FakeBackend
) -> None:
    parent = fake.create_parent([[Emit("hello"), Emit(b"raw\n", Stream.Error, raw=True)]])
    manager.start(parent)
    assert parent.State == "Running"
    assert parent.PSBeginTime is not None
    child = parent.ChildJobs[0]
    assert ("start", child.Id) in fake.calls
    assert child.Output == ["hello"] and child.Error == ["raw"]
    assert parent.HasMoreData


def test_a_backend_that_raises_on_start_fails_the_job(manager: JobManager) -> None:
    class Broken(FakeBackend):
        def start(self, job: Job) -> None:
            raise RuntimeError("cannot start")

    job = Broken(manager).create_job()
    manager.start(job)
    assert job.state is S.Failed and job.reason == "cannot start"


def test_an_async_start_is_run_on_the_loop_before_start_returns(manager: JobManager) -> None:
    class Async(FakeBackend):
        def start(self, job: Job) -> Awaitable[None]:
            async def on_loop() -> None:
                assert manager.in_loop_thread()
                job.set_state(S.Running)

            return on_loop()

    job = manager.start(Async(manager).create_job())
    assert job.state is S.Running


def test_wait_all_returns_the_jobs_once_all_have_finished(
    manager: JobManager, fake: FakeBackend
) -> None:
    jobs = [manager.start(fake.create_job()) for _ in range(3)]

    def finish_all() -> None:
        for job in jobs:
            fake.finish(job)

    finisher = threading.Thread(target=finish_all)
    finisher.start()
    assert manager.wait(jobs) == jobs
    finisher.join()
    assert all(j.state is S.Completed for j in jobs)


def test_wait_any_returns_the_first_job_to_finish(manager: JobManager, fake: FakeBackend) -> None:
    a, b, c = (manager.start(fake.create_job()) for _ in range(3))
    finisher = threading.Thread(target=fake.finish, args=(b, S.Failed, "boom"))
    finisher.start()
    assert manager.wait([a, b, c], any_=True) == [b]
    finisher.join()
    assert a.state is S.Running and c.state is S.Running


def test_wait_any_with_a_job_already_done_returns_it_at_once(
    manager: JobManager, fake: FakeBackend
) -> None:
    a = manager.start(fake.create_job())
    b = manager.start(fake.create_job([Transition(S.Completed)]))
    assert manager.wait([a, b], any_=True) == [b]


def test_wait_timeout_returns_nothing_and_the_job_keeps_running(
    manager: JobManager, fake: FakeBackend
) -> None:
    job = manager.start(fake.create_job())
    began = time.monotonic()
    assert manager.wait([job], timeout=0.2) == []
    assert time.monotonic() - began >= 0.2
    assert job.state is S.Running
    assert ("stop", job.Id) not in fake.calls
    assert manager.wait([job], timeout=0) == []


def test_wait_stops_at_suspended_unless_forced(manager: JobManager, fake: FakeBackend) -> None:
    job = manager.start(fake.create_job([Transition(S.Suspended)]))
    assert manager.wait([job]) == [job]
    assert manager.wait([job], force=True, timeout=0.05) == []


def test_a_cancel_token_interrupts_a_wait_promptly(manager: JobManager, fake: FakeBackend) -> None:
    job = manager.start(fake.create_job())
    cancel = CancelToken()
    timer = threading.Timer(0.1, cancel.set)
    timer.start()
    began = time.monotonic()
    assert manager.wait([job], cancel=cancel) == []
    assert time.monotonic() - began < 2
    assert job.state is S.Running  # Ctrl+C stops the waiting, never the job
    timer.join()


def test_stop_a_parent_stops_every_child(manager: JobManager, fake: FakeBackend) -> None:
    parent = manager.start(fake.create_parent([[], []]))
    seen: list[str] = []
    parent.add_observer(lambda e: seen.append(e.state.State.name) if e.state else None)
    assert manager.stop(parent) is True
    assert parent.state is S.Stopped
    assert all(c.state is S.Stopped for c in parent.ChildJobs)
    assert {("stop", c.Id) for c in parent.ChildJobs} <= set(fake.calls)
    assert seen == ["Stopping", "Stopped"]
    assert manager.stop(parent) is True  # already finished: nothing to do


def test_stop_without_waiting_then_the_backend_finishes(manager: JobManager) -> None:
    slow = FakeBackend(manager, auto_stop=False)
    job = manager.start(slow.create_job())
    assert manager.stop(job, wait=False) is False
    assert job.state is S.Stopping
    slow.finish(job, S.Stopped)
    assert manager.wait([job]) == [job]


def test_suspend_and_resume_a_parent(manager: JobManager, fake: FakeBackend) -> None:
    parent = manager.start(fake.create_parent([[], []]))
    manager.suspend(parent)
    assert parent.state is S.Suspended
    manager.resume(parent)
    assert parent.state is S.Running
    assert all(c.state is S.Running for c in parent.ChildJobs)


def test_suspend_unsupported_raises_powershells_message(manager: JobManager) -> None:
    fixed = FakeBackend(manager, can_suspend=False)
    job = manager.start(fixed.create_job())
    with pytest.raises(JobError, match=f"Cannot suspend the job that has an ID of {job.Id}"):
        manager.suspend(job)
    assert job.state is S.Running


def test_remove_refuses_a_running_job_and_keeps_it(manager: JobManager, fake: FakeBackend) -> None:
    job = manager.start(fake.create_job())
    with pytest.raises(JobError, match="because the job is not finished"):
        manager.remove(job)
    assert manager.jobs() == [job]
    manager.remove(job, force=True)
    assert manager.jobs() == [] and job.state is S.Stopped


def test_remove_a_finished_job_deletes_its_output(manager: JobManager) -> None:
    spill = FakeBackend(manager)
    manager.output_limit = 0  # every record spills, so there is a file to delete
    job = manager.start(spill.create_job([Emit("x"), Transition(S.Completed)]))
    assert job.store.spill_stat() is not None
    manager.remove(job)
    assert job.store.spill_stat() is None
    assert manager.get(job.Id) is None


def test_remove_a_child_is_refused(manager: JobManager, fake: FakeBackend) -> None:
    parent = manager.start(fake.create_parent([[Transition(S.Completed)]]))
    with pytest.raises(JobError, match="Child jobs can be removed only by removing the parent"):
        manager.remove(parent.ChildJobs[0])


def test_subscribers_hear_started_output_and_state_changes(
    manager: JobManager, fake: FakeBackend
) -> None:
    events: list[tuple[JobEventKind, int, str | None]] = []

    def listen(event: JobEvent) -> None:
        detail: str | None
        if event.stream is not None:
            detail = event.stream.name
        else:
            detail = event.state.State.name if event.state else None
        events.append((event.kind, event.job.Id, detail))

    unsubscribe = manager.subscribe(listen)
    job = manager.start(fake.create_job([Emit(1), Transition(S.Completed)]))
    unsubscribe()
    fake.create_job()  # nothing more is heard
    assert events == [
        (JobEventKind.STARTED, job.Id, "Running"),
        (JobEventKind.STATE_CHANGED, job.Id, "Running"),
        (JobEventKind.OUTPUT, job.Id, "Output"),
        (JobEventKind.STATE_CHANGED, job.Id, "Completed"),
    ]


def test_wait_for_activity_wakes_on_output_and_on_finish(
    manager: JobManager, fake: FakeBackend
) -> None:
    parent = manager.start(fake.create_parent([[]]))
    child = parent.ChildJobs[0]
    assert manager.wait_for_activity([parent], timeout=0.05) is False
    writer = threading.Thread(target=fake.emit, args=(child, "line"))
    writer.start()
    assert manager.wait_for_activity([parent]) is True
    writer.join()
    assert [r.value for r in parent.read()] == ["line"]
    fake.finish(child)
    assert manager.wait_for_activity([parent], timeout=5) is True


def test_call_from_the_loop_thread_is_refused(manager: JobManager) -> None:
    async def nested() -> str:
        async def inner() -> int:
            return 1

        try:
            manager.call(inner())
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert "deadlock" in manager.call(nested())


def test_shutdown_stops_every_running_job_and_the_loop(tmp_path: Path) -> None:
    manager = JobManager()
    fake = FakeBackend(manager)
    running = manager.start(fake.create_parent([[], []]))
    done = manager.start(fake.create_job([Transition(S.Completed)]))
    manager.shutdown()
    assert running.state is S.Stopped and done.state is S.Completed
    assert manager.jobs() == []
    io = manager._io  # started by shutdown to run the backends' stop
    assert io is not None and not io.thread.is_alive()
    manager.shutdown()  # idempotent
    with pytest.raises(RuntimeError):
        manager.start(fake.create_job())


def test_shutdown_hooks_run_on_the_loop_after_jobs_stopped() -> None:
    manager = JobManager()
    job = manager.start(FakeBackend(manager).create_job())
    seen: list[tuple[str, bool]] = []

    async def async_hook() -> None:
        seen.append(("async", manager.in_loop_thread()))

    manager.add_shutdown_hook(lambda: seen.append(("sync", job.state is S.Stopped)) and None)
    manager.add_shutdown_hook(async_hook)
    manager.shutdown()
    assert seen == [("sync", True), ("async", True)]


def test_the_loop_starts_only_when_needed() -> None:
    manager = JobManager()
    FakeBackend(manager).create_job()
    assert manager._io is None
    manager.shutdown()
