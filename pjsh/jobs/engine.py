"""The local job engine's factory: how a runspace gets its job service (on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pjsh.jobs.service import JobService
    from pjsh.runtime.session import Session


class LocalJobEngine:
    """Builds a session's local job service; the runspace options carry one of these, so the
    runtime starts jobs without importing the job engine (which stays unloaded until then)."""

    def prepare(self) -> None:
        """The first ``&`` is coming: start the fork server now, so it boots while the job
        engine (asyncio and all) is imported."""
        from pjsh.jobs.spawnclient import prestart

        prestart()

    def __call__(self, session: Session) -> JobService:
        """The job service of ``session``."""
        from pjsh.jobs.service import JobService

        return JobService(session)
