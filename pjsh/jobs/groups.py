"""Suspend and resume for the backends whose jobs are process groups (native pipelines and
worker processes): the state checks, the signal and the confirmation are the same for both."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable

from pjsh.jobs.model import RESUME_NOT_SUPPORTED, SUSPEND_NOT_SUPPORTED, Job, JobError, JobState
from pjsh.runtime.posix import kill_group


def may_suspend(job: Job, running: bool) -> bool:
    """Whether to SIGSTOP ``job`` (``running``: its processes are there): False when it is
    Suspended already; JobError with PowerShell's message when it cannot be suspended."""
    if running and job.state is JobState.Running:
        return True
    if job.state is JobState.Suspended:
        return False
    raise JobError(SUSPEND_NOT_SUPPORTED.format(job.id))


def may_resume(job: Job, running: bool) -> bool:
    """Whether to SIGCONT ``job``: False when it is Running already; JobError when it cannot
    be resumed."""
    if running and job.state is JobState.Suspended:
        return True
    if job.state is JobState.Running:
        return False
    raise JobError(RESUME_NOT_SUPPORTED.format(job.id))


async def suspend_group(job: Job, pgid: int, confirm: Callable[[], Awaitable[object]]) -> None:
    """SIGSTOP the job's group; Suspended once ``confirm()`` says every process has stopped
    (SIGSTOP takes effect asynchronously: the state must not claim it before it holds)."""
    kill_group(pgid, signal.SIGSTOP)
    await confirm()
    # A stop (or the job's end) may have come while the SIGSTOP took hold.
    job.compare_and_set(JobState.Running, JobState.Suspended)


def resume_group(job: Job, pgid: int) -> None:
    """SIGCONT the job's group; Running again."""
    kill_group(pgid, signal.SIGCONT)
    job.compare_and_set(JobState.Suspended, JobState.Running)  # unless it ended meanwhile
