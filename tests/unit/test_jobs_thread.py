"""The thread backend: ThreadJob shape, throttling, failures, streams and cooperative stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import Job, JobError, JobEvent, JobState, ThreadJob
from pjsh.jobs.storage import Stream
from pjsh.jobs.thread import JobWriter, ThreadBackend, ThreadTarget
from pjsh.runtime.errors import PSRuntimeError, make_error

S = JobState


def thread_backend(manager: JobManager) -> ThreadBackend:
    """The manager's thread backend, built and registered on first use (as the job service
    does: the manager builds no backend itself)."""
    try:
        found = manager.backend("thread")
    except LookupError:
        found = ThreadBackend(manager)
        manager.register_backend("thread", found)
    assert isinstance(found, ThreadBackend)
    return found


@pytest.fixture
def manager() -> Iterator[JobManager]:
    m = JobManager()
    yield m
    m.shutdown()


@pytest.fixture
def backend(manager: JobManager) -> ThreadBackend:
    return thread_backend(manager)


def reached(job: Job, state: JobState, timeout: float = 10) -> bool:
    """Block (on the job's events) until it is in ``state``."""
    arrived = threading.Event()

    def observer(event: JobEvent) -> None:
        if job.state is state:
            arrived.set()

    job.add_observer(observer)
    try:
        return job.state is state or arrived.wait(timeout)
    finally:
        job.remove_observer(observer)


def blocked_on(gate: threading.Event) -> ThreadTarget:
    """A job body that runs until ``gate`` is set."""

    def work(writer: JobWriter) -> None:
        assert gate.wait(10)

    return work


def test_thread_job_shape_and_output(backend: ThreadBackend, manager: JobManager) -> None:
    def work(writer: JobWriter) -> None:
        writer.write_output(1)
        writer.write_output({"a": 1})

    job = backend.start_job(work, command=" 1 ")
    assert isinstance(job, ThreadJob)
    assert manager.wait([job], timeout=10) == [job]
    assert job.State == "Completed"
    assert job.PSJobTypeName == "ThreadJob" and job.Location == "PowerShell"
    assert job.ChildJobs == [] and job.Command == " 1 "
    assert job.PSBeginTime is not None and job.PSEndTime is not None
    assert job.Output == [1, {"a": 1}]
    assert [r.value for r in job.read()] == [1, {"a": 1}]  # live objects, not copies
    assert not job.HasMoreData


def test_every_stream_of_the_writer_is_stored_in_order(
    backend: ThreadBackend, manager: JobManager
) -> None:
    error = make_error("not fatal", "MyError")

    def work(writer: JobWriter) -> None:
        writer.write_output("o")
        writer.write_error(error)
        writer.write_warning("w")
        writer.write_verbose("v")
        writer.write_debug("d")
        writer.write_information("i")
        writer.write_progress("p")

    job = backend.start_job(work)
    manager.wait([job], timeout=10)
    assert [(r.stream, r.value) for r in job.read()] == [
        (Stream.Output, "o"), (Stream.Error, error), (Stream.Warning, "w"),
        (Stream.Verbose, "v"), (Stream.Debug, "d"), (Stream.Information, "i"),
        (Stream.Progress, "p"),
    ]
    assert job.state is S.Completed  # a non-terminating error does not fail the job


def test_an_exception_fails_the_job_with_its_message(
    backend: ThreadBackend, manager: JobManager
) -> None:
    def work(writer: JobWriter) -> None:
        writer.write_output("before")
        raise PSRuntimeError(make_error("MyError!"))

    job = backend.start_job(work)
    manager.wait([job], timeout=10)
    assert job.state is S.Failed
    assert job.JobStateInfo.Reason == "MyError!"
    assert isinstance(job.failure, PSRuntimeError)
    assert job.Output == ["before"]


def test_throttle_queues_extra_jobs_as_not_started(
    backend: ThreadBackend, manager: JobManager
) -> None:
    gates = [threading.Event() for _ in range(6)]
    assert backend.throttle_limit == 5
    jobs = [backend.start_job(blocked_on(gate)) for gate in gates]
    assert [j.State for j in jobs] == ["Running"] * 5 + ["NotStarted"]
    assert jobs[5].HasMoreData is False and jobs[5].PSBeginTime is None
    gates[2].set()
    assert reached(jobs[5], S.Running)
    for gate in gates:
        gate.set()
    assert manager.wait(jobs, timeout=10) == jobs


def test_raising_the_throttle_starts_queued_jobs(
    backend: ThreadBackend, manager: JobManager
) -> None:
    gate = threading.Event()
    backend.throttle_limit = 1
    first = backend.start_job(blocked_on(gate))
    second = backend.start_job(lambda w: None)
    assert (first.state, second.state) == (S.Running, S.NotStarted)
    backend.throttle_limit = 2
    assert manager.wait([second], timeout=10) == [second]
    gate.set()
    manager.wait([first], timeout=10)


def test_start_job_throttle_limit_is_session_wide(backend: ThreadBackend) -> None:
    backend.start_job(lambda w: None, throttle_limit=3)
    assert backend.throttle_limit == 3


def test_stop_is_cooperative(backend: ThreadBackend, manager: JobManager) -> None:
    started = threading.Event()

    def work(writer: JobWriter) -> None:
        started.set()
        while True:
            writer.stopping.wait(10)
            writer.check_stopping()

    job = backend.start_job(work)
    assert started.wait(10)
    assert manager.stop(job, timeout=10) is True
    assert job.state is S.Stopped
    assert job.reason is None


def test_stop_a_queued_job_never_runs_it(backend: ThreadBackend, manager: JobManager) -> None:
    gate = threading.Event()
    ran = threading.Event()
    backend.throttle_limit = 1
    blocker = backend.start_job(blocked_on(gate))
    queued = backend.start_job(lambda w: ran.set())
    assert manager.stop(queued, timeout=10) is True
    assert queued.state is S.Stopped
    gate.set()
    manager.wait([blocker], timeout=10)
    assert not ran.is_set()


def test_thread_jobs_cannot_be_suspended(backend: ThreadBackend, manager: JobManager) -> None:
    gate = threading.Event()
    job = backend.start_job(blocked_on(gate))
    with pytest.raises(JobError, match="Suspending jobs is not supported"):
        manager.suspend(job)
    gate.set()
    manager.wait([job], timeout=10)


def test_a_thousand_thread_jobs(backend: ThreadBackend, manager: JobManager) -> None:
    jobs = [backend.start_job(lambda w: w.write_output(1)) for _ in range(1000)]
    assert manager.wait(jobs, timeout=60) == jobs
    assert all(j.Output == [1] for j in jobs)
    assert len({j.Id for j in jobs}) == 1000


def pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pjsh-thread-jobs-")]


def test_jobs_reuse_pool_threads_instead_of_one_thread_each(manager: JobManager) -> None:
    before = set(pool_threads())
    backend = thread_backend(manager)
    for _ in range(3):
        jobs = [backend.start_job(lambda w: w.write_output(threading.current_thread().name))
                for _ in range(40)]
        assert manager.wait(jobs, timeout=30) == jobs
    names = {str(name) for job in jobs for name in job.Output}
    assert all(name.startswith("pjsh-thread-jobs-") for name in names)
    assert len(set(pool_threads()) - before) <= backend.throttle_limit


def test_starting_a_job_does_not_wait_for_a_thread_to_start(manager: JobManager) -> None:
    # The pool's threads already exist: a start is a queue put, even while they are busy.
    backend = thread_backend(manager)
    gate = threading.Event()
    first = [backend.start_job(blocked_on(gate)) for _ in range(backend.throttle_limit)]
    threads = set(pool_threads())
    queued = [backend.start_job(lambda w: None) for _ in range(50)]
    assert set(pool_threads()) == threads
    assert all(job.state is S.NotStarted for job in queued)
    gate.set()
    assert manager.wait(first + queued, timeout=30) == first + queued


def test_shutdown_ends_the_pool_threads() -> None:
    manager = JobManager()
    before = set(pool_threads())
    jobs = [thread_backend(manager).start_job(lambda w: None) for _ in range(10)]
    assert manager.wait(jobs, timeout=10) == jobs
    mine = set(pool_threads()) - before
    assert mine
    manager.shutdown()
    for thread in mine:
        thread.join(10)
        assert not thread.is_alive()
