"""The local job engine's factory: how a runspace gets its job service (on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pjsh.jobs.model import JobObserver
    from pjsh.jobs.service import JobService
    from pjsh.runtime.session import Session


class LocalJobEngine:
    """Builds a session's local job service; the runspace options carry one of these, so the
    runtime starts jobs without importing the job engine (which stays unloaded until then).

    ``subscribers`` hear every job event of an interactive session's jobs (the console's job
    notices); the runspaces of jobs, built from the same options but not interactive, have
    none, so a job's own jobs never show notices at the prompt.
    """

    def __init__(self, subscribers: Sequence[JobObserver] = ()) -> None:
        self.subscribers = tuple(subscribers)

    def prepare(self) -> None:
        """The first ``&`` is coming: nothing to start early. That job starts directly
        (posix_spawn) on the I/O loop, waiting neither for asyncio's import nor for a fork
        server's start-up; the second native job starts the server (see
        ``ProcessBackend._get_spawner``)."""

    def __call__(self, session: Session) -> JobService:
        """The job service of ``session``."""
        from pjsh.jobs.service import JobService

        service = JobService(session)
        if session.interactive:
            for callback in self.subscribers:
                service.manager.subscribe(callback)
        return service
