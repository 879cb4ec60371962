"""A scripted backend for fast unit tests of the manager, the state machine and job cmdlets.

A fake job runs no code: on start it becomes Running and plays its script (outputs and state
changes); afterwards the test drives it with :meth:`FakeBackend.emit` and
:meth:`FakeBackend.finish`. Every backend call is recorded in ``calls``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pjsh.jobs.model import (
    RESUME_NOT_SUPPORTED,
    SUSPEND_NOT_SUPPORTED,
    Job,
    JobError,
    JobState,
    PSRemotingChildJob,
    PSRemotingJob,
)
from pjsh.jobs.storage import Stream

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.jobs.manager import JobManager


@dataclass(frozen=True)
class Emit:
    """Script step: write an object (or, with ``raw``, bytes) on a stream."""

    value: object
    stream: Stream = Stream.Output
    raw: bool = False


@dataclass(frozen=True)
class Transition:
    """Script step: move the job to a state."""

    state: JobState
    reason: str | None = None


Step: TypeAlias = "Emit | Transition"


class FakeBackend:
    """Records start/stop/suspend/resume calls and plays scripted steps."""

    def __init__(
        self, manager: JobManager, *, auto_stop: bool = True, can_suspend: bool = True
    ) -> None:
        self.manager = manager
        self.auto_stop = auto_stop
        self.can_suspend = can_suspend
        self.calls: list[tuple[str, int]] = []
        self._scripts: dict[Job, tuple[Step, ...]] = {}
        self._lock = threading.Lock()

    def create_job(
        self, script: Iterable[Step] = (), *, name: str | None = None, command: str = "fake",
        location: str = "localhost", type_name: str = "FakeJob",
    ) -> Job:
        """A leaf job driven by this backend."""
        job = Job(self.manager.next_id(), name=name, command=command, location=location,
                  type_name=type_name, backend=self, store=self.manager.new_store())
        self._scripts[job] = tuple(script)
        return job

    def create_parent(
        self, scripts: Sequence[Iterable[Step]], *, name: str | None = None,
        command: str = "fake", locations: Sequence[str] | None = None,
        type_name: str = "BackgroundJob",
    ) -> PSRemotingJob:
        """A parent job with one fake child per script (Ids: parent first, then children)."""
        parent_id = self.manager.next_id()
        children = []
        for index, script in enumerate(scripts):
            child = PSRemotingChildJob(
                self.manager.next_id(), command=command, backend=self,
                location=locations[index] if locations else "localhost",
                store=self.manager.new_store(),
            )
            self._scripts[child] = tuple(script)
            children.append(child)
        return PSRemotingJob(parent_id, name=name, command=command, children=children,
                             type_name=type_name, store=self.manager.new_store())

    # ---- JobBackend --------------------------------------------------------------------------

    def start(self, job: Job) -> None:
        """Become Running, then play the script."""
        self._record("start", job)
        job.set_state(JobState.Running)
        for step in self._scripts.pop(job, ()):
            self.play(job, step)

    async def stop(self, job: Job) -> None:
        """Stopping, then (with ``auto_stop``) Stopped at once; a job that finished before
        the stop arrived stays as it is (the race every backend has)."""
        self._record("stop", job)
        with job.lock:
            if job.state is JobState.NotStarted:
                job.set_state(JobState.Stopped)
                return
            if not job.begin_stopping():
                return
            if self.auto_stop:
                job.set_state(JobState.Stopped)

    async def suspend(self, job: Job) -> None:
        """Suspended, unless built with ``can_suspend=False``; a job that stopped or finished
        meanwhile is left alone."""
        self._record("suspend", job)
        if not self.can_suspend:
            raise JobError(SUSPEND_NOT_SUPPORTED.format(job.id))
        job.compare_and_set(JobState.Running, JobState.Suspended)

    async def resume(self, job: Job) -> None:
        """Running again, unless built with ``can_suspend=False``; only a job still
        Suspended resumes."""
        self._record("resume", job)
        if not self.can_suspend:
            raise JobError(RESUME_NOT_SUPPORTED.format(job.id))
        job.compare_and_set(JobState.Suspended, JobState.Running)

    def close(self) -> None:
        """Nothing to release."""

    # ---- driving from a test -----------------------------------------------------------------

    def play(self, job: Job, step: Step) -> None:
        """Apply one script step now."""
        if isinstance(step, Emit):
            if step.raw:
                assert isinstance(step.value, bytes)
                job.write_bytes(step.stream, step.value)
            else:
                job.write(step.stream, step.value)
        else:
            job.set_state(step.state, step.reason)

    def emit(self, job: Job, value: object, stream: Stream = Stream.Output) -> None:
        """Write an object as if the job produced it."""
        job.write(stream, value)

    def finish(self, job: Job, state: JobState = JobState.Completed,
               reason: str | None = None) -> bool:
        """The job's work ends in ``state``, as a real backend reports it: a job being stopped
        ends Stopped unless it failed, and one already finished (a stop won) stays as it is
        (False)."""
        with job.lock:
            if job.state is JobState.Stopping and state is JobState.Completed:
                state, reason = JobState.Stopped, None
            return job.finish_if_unfinished(state, reason)

    def _record(self, call: str, job: Job) -> None:
        with self._lock:
            self.calls.append((call, job.id))
