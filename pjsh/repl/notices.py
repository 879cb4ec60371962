"""Job notices: one line above the prompt when a background job ends or is suspended.

The job manager calls :meth:`NoticeQueue.on_job_event` on its own thread (the console passes
it down as a job-event subscriber, so the engine never imports the console). A notice found
while the prompt is showing goes at once to the writer the REPL attached: the ``sys.stdout``
of ``patch_stdout``, whose proxy prints above the prompt with ``run_in_terminal`` and redraws
the line being typed unchanged. A notice found while a command runs waits in the queue and is
written just before the next prompt (bash's default, not ``set -b``), so it never lands in the
middle of a command's output.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pjsh.lang.record import dataclass

if TYPE_CHECKING:
    from pjsh.jobs.model import Job, JobEvent

# States a notice is given for (PowerShell's names): the finished ones, and a stop at the
# terminal or by Suspend-Job.
NOTICE_STATES = frozenset({"Completed", "Failed", "Stopped", "Suspended"})

# The longest command text a notice shows (a script block can be long).
_COMMAND_WIDTH = 60


@dataclass(frozen=True)
class JobNotice:
    """One job's change, as the notice line shows it."""

    id: int
    state: str
    command: str
    detail: str = ""
    elapsed: float | None = None

    def line(self) -> str:
        """``[3] Completed  make -j4  (12.4 s)``; ``[4] Failed  pytest  exit code 1 (0.8 s)``;
        a stop reads as bash's ``[3]+  Suspended  vim notes.txt`` (it is now the current job,
        and how long it ran so far is not news)."""
        if self.state == "Suspended":
            return f"[{self.id}]+  Suspended  {self.command}"
        parts = [f"[{self.id}] {self.state}", self.command]
        tail = self.detail
        if self.elapsed is not None:
            tail = (tail + " " if tail else "") + f"({format_elapsed(self.elapsed)})"
        if tail:
            parts.append(tail)
        return "  ".join(p for p in parts if p)


def format_elapsed(seconds: float) -> str:
    """``0.8 s``, ``12.4 s``, ``3 min 05 s``, ``2 h 03 min``: precise when short."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _COMMAND_WIDTH else flat[: _COMMAND_WIDTH - 1] + "…"


def notice_for(job: Job, state: str) -> JobNotice:
    """The notice of ``job`` having reached ``state``."""
    detail = ""
    if state == "Failed":
        code = job.ExitCode
        if code is not None and code != 0:
            detail = f"exit code {code}"
        else:
            reason = job.JobStateInfo.Reason
            if reason:
                detail = _one_line(str(reason))
    begin, end = job.PSBeginTime, job.PSEndTime
    elapsed: float | None = None
    if isinstance(begin, datetime.datetime):
        stop = end if isinstance(end, datetime.datetime) else datetime.datetime.now()
        elapsed = max(0.0, (stop - begin).total_seconds())
    return JobNotice(job.Id, state, _one_line(job.Command or job.Name), detail, elapsed)


class NoticeQueue:
    """Job notices waiting for the prompt, fed from the job manager's thread."""

    def __init__(self, enabled: Callable[[], bool] = lambda: True) -> None:
        """``enabled`` is asked per notice (the console reads ``$PjshNotifyJobs``)."""
        self._enabled = enabled
        self._lock = threading.Lock()
        self._pending: list[JobNotice] = []
        self._writer: Callable[[str], object] | None = None
        # Job ids counted for the toolbar: running now, and finished since start.
        self.running: set[int] = set()
        self.finished = 0
        self.failed = 0

    # ---- fed by the job manager ------------------------------------------------------------
    def on_job_event(self, event: JobEvent) -> None:
        """A job event (any thread): top-level jobs reaching a notice state are queued."""
        job = event.job
        if event.state is None or job.parent is not None:
            return
        state = event.state.State.name
        with self._lock:
            if state == "Running":
                self.running.add(job.Id)
            elif state in ("Completed", "Failed", "Stopped"):
                self.running.discard(job.Id)
                self.finished += 1
                if state == "Failed":
                    self.failed += 1
        if state not in NOTICE_STATES or not self._enabled():
            return
        if job.in_foreground and state != "Suspended":
            return  # it ended where the user watched it (``fg``)
        self.push(notice_for(job, state))

    def push(self, notice: JobNotice) -> None:
        """Show ``notice`` now if the prompt is up, else before the next prompt."""
        with self._lock:
            writer = self._writer
            if writer is None:
                self._pending.append(notice)
                return
        writer(notice.line() + "\n")

    # ---- drained by the REPL ---------------------------------------------------------------
    def take(self) -> list[JobNotice]:
        """The waiting notices, oldest first; the queue is left empty."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def attach(self, writer: Callable[[str], object]) -> None:
        """The prompt is up: write waiting notices through ``writer``, and later ones at once."""
        with self._lock:
            self._writer = writer
            pending, self._pending = self._pending, []
        if pending:
            writer("".join(n.line() + "\n" for n in pending))

    def detach(self) -> None:
        """The prompt is gone (a command runs): notices wait again."""
        with self._lock:
            self._writer = None

    def toolbar_text(self) -> str:
        """The bottom toolbar's job counts: ``jobs: 2 running, 5 finished (1 failed)``."""
        with self._lock:
            running, finished, failed = len(self.running), self.finished, self.failed
        text = f"jobs: {running} running, {finished} finished"
        if failed:
            text += f" ({failed} failed)"
        return text
