"""The thread backend (Start-ThreadJob): a Python callable on a worker thread of the shell.

At most ``throttle_limit`` thread jobs run at once (default 5, per manager, like the ThreadJob
module's session-wide setting); the rest wait in a queue as NotStarted. The callable receives a
:class:`JobWriter` to produce output on each stream; stopping is cooperative: the writer's
``stopping`` flag is set and the callable (the interpreter, between statements) checks it.

Jobs run on a pool of long-lived threads, at most one per running job, so starting a job is a
queue put: creating a thread per job would make the caller wait for the new thread to get the
GIL and say it has started, which on a busy interpreter costs milliseconds.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pjsh.jobs.model import (
    RESUME_NOT_SUPPORTED,
    SUSPEND_NOT_SUPPORTED,
    Job,
    JobError,
    JobState,
    ThreadJob,
)
from pjsh.jobs.storage import Stream
from pjsh.runtime.cancel import CancelToken

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.jobs.manager import JobManager


class JobStopped(Exception):
    """Raised by :meth:`JobWriter.check_stopping` to unwind a callable whose job is stopping."""


class JobWriter:
    """What a thread job's callable writes through: one method per stream."""

    def __init__(self, job: Job, stopping: CancelToken) -> None:
        self.job = job
        self.stopping = stopping

    @property
    def stop_requested(self) -> bool:
        """True once Stop-Job asked this job to stop."""
        return self.stopping.is_set()

    def check_stopping(self) -> None:
        """Raise JobStopped if the job is being stopped (call between steps)."""
        if self.stopping.is_set():
            raise JobStopped()

    def write(self, stream: Stream, value: object) -> None:
        """Write an object to any stream."""
        self.job.write(stream, value)

    def write_output(self, value: object) -> None:
        """Success output."""
        self.job.write(Stream.Output, value)

    def output_sink(self) -> JobOutputSink:
        """The sink for the job's success output (objects and a native's bytes)."""
        return JobOutputSink(self.job)

    def write_bytes(self, data: bytes) -> None:
        """A native's raw output, stored as bytes (Receive-Job > file is then byte-exact)."""
        self.job.write_bytes(Stream.Output, data)

    def write_error(self, record: object) -> None:
        """An error record (non-terminating)."""
        self.job.write(Stream.Error, record)

    def write_warning(self, text: str) -> None:
        """A warning message."""
        self.job.write(Stream.Warning, text)

    def write_verbose(self, text: str) -> None:
        """A verbose message."""
        self.job.write(Stream.Verbose, text)

    def write_debug(self, text: str) -> None:
        """A debug message."""
        self.job.write(Stream.Debug, text)

    def write_information(self, value: object, tags: Sequence[str] = ()) -> None:
        """An information record (Write-Information / Write-Host)."""
        self.job.write(Stream.Information, value)

    def write_progress(self, record: object) -> None:
        """A progress record."""
        self.job.write(Stream.Progress, record)


class JobOutputSink:
    """A thread job's success output, as the sink of its script: while no observer hears
    the job's OUTPUT events, each object is a lock-free append to the store's pending queue
    (stored in blocks of PENDING_MAX, and by any reader or writer of the store before it
    acts); while one does, each object is stored and told at once, as Job.write does. The
    observers are looked at after the append: one added meanwhile reads the store after
    adding itself, so it sees the object, or is told of it here."""

    native_fd: int | None = None

    def __init__(self, job: Job) -> None:
        self._job = job
        self._pending = job.store.pending_output

    def send(self, value: object) -> None:
        """One success object."""
        pending = self._pending
        pending.append(value)
        if len(pending) >= self._job.pending_limit:  # 1 while an observer hears output
            self._job.take_output()

    def write_bytes(self, data: bytes) -> None:
        """A native's raw output, stored as bytes (after the objects before it)."""
        self._job.write_bytes(Stream.Output, data)


ThreadTarget: TypeAlias = "Callable[[JobWriter], None]"


class ThreadBackend:
    """Runs callables as ThreadJobs, at most ``throttle_limit`` at a time."""

    def __init__(self, manager: JobManager, throttle_limit: int = 5) -> None:
        self.manager = manager
        self._limit = max(1, throttle_limit)
        self._lock = threading.Lock()
        self._targets: dict[Job, ThreadTarget] = {}
        self._stopping: dict[Job, CancelToken] = {}
        self._queue: deque[Job] = deque()
        self._running = 0
        # The pool: work items for its threads, how many threads exist, and how many of them
        # are not claimed by a running job (each dispatched job claims one, or starts one).
        self._work: queue.SimpleQueue[tuple[Job, ThreadTarget, CancelToken] | None] = \
            queue.SimpleQueue()
        self._threads = 0
        self._free = 0
        self._closed = False

    @property
    def throttle_limit(self) -> int:
        """How many thread jobs may run at once."""
        return self._limit

    @throttle_limit.setter
    def throttle_limit(self, value: int) -> None:
        # Session-wide, as in the ThreadJob module: it applies to jobs already queued too.
        with self._lock:
            self._limit = max(1, value)
        self._pump()

    def create_job(
        self, target: ThreadTarget, *, name: str | None = None, command: str = "",
        job_id: int | None = None,
    ) -> ThreadJob:
        """A ThreadJob that will run ``target`` (not yet started); ``job_id`` 0 is for a task
        that is no job of the session (ForEach-Object -Parallel without -AsJob)."""
        job = ThreadJob(
            self.manager.next_id() if job_id is None else job_id, name=name, command=command,
            location="PowerShell",
            backend=self, store=self.manager.new_store(),
        )
        with self._lock:
            self._targets[job] = target
            # A stop also runs the token's callbacks (natives of the job get SIGTERM) and
            # wakes every wait of the job's script at once.
            self._stopping[job] = CancelToken()
        return job

    def start_job(
        self, target: ThreadTarget, *, name: str | None = None, command: str = "",
        throttle_limit: int | None = None,
    ) -> ThreadJob:
        """Create and start a ThreadJob (Running, or NotStarted while throttled)."""
        if throttle_limit is not None:
            self.throttle_limit = throttle_limit
        job = self.create_job(target, name=name, command=command)
        self.manager.start(job)
        return job

    # ---- JobBackend --------------------------------------------------------------------------

    def start(self, job: Job) -> None:
        """Queue the job; it runs at once if the throttle allows (then it is Running)."""
        with self._lock:
            if job not in self._targets:
                raise JobError(f"Job {job.id} has nothing to run.")
            self._queue.append(job)
        self._pump()

    async def stop(self, job: Job) -> None:
        """A queued job is Stopped at once; a running one is asked to stop (cooperatively)."""
        with self._lock:
            queued = job in self._queue
            if queued:
                self._queue.remove(job)
                self._targets.pop(job, None)
            stopping = self._stopping.get(job)
        if queued:
            self._stopping.pop(job, None)
            job.set_state(JobState.Stopped)  # a queued job never left NotStarted
            return
        # Stopping first: setting the flag may end the job at once (its natives are killed
        # by the flag's callbacks), and Stopped only follows Stopping. A job that ended before
        # the stop arrived stays as it is; _run reads the state under the same lock.
        if stopping is not None and job.begin_stopping():
            stopping.set()

    async def suspend(self, job: Job) -> None:
        """Thread jobs cannot be suspended."""
        raise JobError(SUSPEND_NOT_SUPPORTED.format(job.id))

    async def resume(self, job: Job) -> None:
        """Thread jobs cannot be resumed."""
        raise JobError(RESUME_NOT_SUPPORTED.format(job.id))

    # ---- running -----------------------------------------------------------------------------

    def _pump(self) -> None:
        """Start queued jobs while there is room under the throttle limit."""
        while True:
            with self._lock:
                if self._running >= self._limit or not self._queue or self._closed:
                    return
                job = self._queue.popleft()
                target = self._targets.pop(job)
                stopping = self._stopping[job]
                self._running += 1
                if self._free:
                    self._free -= 1
                    grow = False
                else:
                    self._threads += 1
                    grow = True
            job.set_state(JobState.Running)
            self._work.put((job, target, stopping))
            if grow:
                threading.Thread(target=self._serve, name=f"pjsh-thread-jobs-{self._threads}",
                                 daemon=True).start()

    def _serve(self) -> None:
        """A pool thread: run jobs until the backend closes."""
        while True:
            item = self._work.get()
            if item is None:
                return
            self._run(*item)

    def _run(self, job: Job, target: ThreadTarget, stopping: CancelToken) -> None:
        error: BaseException | None = None
        try:
            target(JobWriter(job, stopping))
        except BaseException as exc:  # the job's failure, whatever it is, ends in its state
            error = exc
        finally:
            with self._lock:
                self._running -= 1
                self._free += 1  # this thread is back in the pool before the next job starts
                self._stopping.pop(job, None)
        with job.lock:
            # A stop that made the job Stopping before it ended wins, even if the callable
            # returned before it saw the flag: a Stopping job ends Stopped. (The manager may
            # have ended the job first, marking it Failed when a stop raised.)
            if stopping.is_set() or job.state is JobState.Stopping:
                job.finish_if_unfinished(JobState.Stopped)
            elif error is not None:
                job.failure = error
                job.finish_if_unfinished(JobState.Failed, str(error) or type(error).__name__)
            else:
                job.finish_if_unfinished(JobState.Completed)
        self._pump()

    def close(self) -> None:
        """Let the pool threads end once their jobs have (the manager's shutdown)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = self._threads
        for _ in range(threads):
            self._work.put(None)
