"""Leaving pjsh: the signals that end it through the normal exit path, and stopping the
jobs of a runspace on the way out (shared by the console and batch modes)."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pjsh.jobs.model import Job
    from pjsh.runtime.host import Host
    from pjsh.runtime.runspace import Runspace


def running_jobs(rs: Runspace) -> list[Job]:
    """The runspace's top-level jobs that have not finished (none if it never used jobs)."""
    if not rs.session.has_jobs:
        return []
    from pjsh.jobs.service import JobService

    service = rs.session.jobs
    assert isinstance(service, JobService)
    return [j for j in service.manager.jobs() if not j.is_finished()]


def stop_jobs_on_exit(rs: Runspace) -> None:
    """Leaving pjsh stops its running jobs and their process trees, and says so. Saying so
    may fail (the terminal was closed: EIO; stderr closed or its reader gone); stopping the
    jobs must not, or their processes would outlive pjsh."""
    session = rs.session
    if not session.has_jobs:
        return
    try:
        running = running_jobs(rs)
        if running:
            names = ", ".join(j.name for j in running)
            say(f"pjsh: stopping {len(running)} running job(s) before exit: {names}\n")
    finally:
        session.shutdown()


def say(text: str) -> None:
    """Write a message of pjsh's own to stderr, if there is still anyone to read it."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):  # ValueError: stderr is closed
        pass


def flush_quietly(host: Host) -> None:
    """Flush the host's output on the way out; a terminal that is gone (EIO) or a closed
    stream is no reason not to go on leaving (the jobs are stopped next)."""
    try:
        host.flush()
    except (OSError, ValueError):
        pass


# Signals that asked pjsh to leave, in arrival order (see exit_on_signals).
_signalled: list[int] = []


def _leave_now(signum: int) -> None:
    raise SystemExit(128 + signum)


def leave_if_signalled() -> None:
    """Leave now if a signal asked pjsh to (its SystemExit may have been dropped, raised in a
    finaliser while a command ran); the console checks between commands."""
    if _signalled:
        raise SystemExit(128 + _signalled[0])


def exit_on_signals(interactive: bool = False) -> None:
    """SIGTERM and SIGHUP (and SIGQUIT, outside the console) end pjsh through the normal exit
    path (jobs are stopped, no orphans), with the conventional 128+N status. The console
    ignores SIGQUIT as bash does: Ctrl+\\ is for the foreground job (which has the terminal)
    and must not end the shell; it is a handler, so programs pjsh starts get the default."""

    def leave(signum: int, _frame: object) -> None:
        _signalled.append(signum)
        asyncio = sys.modules.get("asyncio")  # not imported: no loop can be running
        try:
            loop = asyncio.get_running_loop() if asyncio is not None else None
        except RuntimeError:  # none in this (the main) thread
            loop = None
        if loop is not None:
            # Raised from a callback of the running loop (the prompt's), which asyncio lets
            # through, not from here: a handler runs between any two bytecodes, also inside a
            # finaliser (an old loop's __del__), where Python prints the SystemExit and drops it.
            loop.call_soon(_leave_now, signum)
            return
        raise SystemExit(128 + signum)

    def ignore(_signum: int, _frame: object) -> None:
        return

    try:
        signal.signal(signal.SIGQUIT, ignore if interactive else leave)
    except (ValueError, OSError):
        pass
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, leave)
        except (ValueError, OSError):  # not the main thread, or not supported
            pass
