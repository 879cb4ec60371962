"""The terminal owner: the one module that hands the controlling terminal to process groups.

Only here are ``tcsetpgrp``/``tcgetattr``/``tcsetattr`` called for job control and SIGTSTP,
SIGTTIN and SIGTTOU handled. When the console is interactive on a terminal, a
:class:`TerminalOwner` puts pjsh in its own process group and takes the terminal (as bash's job
control start-up does). Each foreground native pipeline runs in its own process group, which
gets the terminal while it runs (Ctrl+C, Ctrl+Z and Ctrl+\\ reach it, not pjsh); afterwards
pjsh takes the terminal back and restores its own modes, keeping the job's modes for ``fg``.

A pipeline that stops (Ctrl+Z, or ``kill -STOP`` from outside) becomes a :class:`TerminalJob`
in the session's job table, Suspended; ``bg``/``Resume-Job`` continue it in the background,
``fg`` gives it the terminal again, ``Stop-Job`` ends its group.

Stops, continues and exits of a group are observed by one watcher thread per group, blocked in
``waitid(P_PGID, pgid, WEXITED|WSTOPPED|WCONTINUED)`` on the group's own processes, never
``waitpid(-1)``: it is the only reader (and reaper) of those children's reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import termios
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pjsh.jobs.groups import may_resume, may_suspend, resume_group, suspend_group
from pjsh.jobs.model import Job, JobState
from pjsh.runtime.posix import kill_group, signal_name

if TYPE_CHECKING:
    from pjsh.jobs.manager import JobManager
    from pjsh.runtime.launch import Process
    from pjsh.runtime.session import Session

# How long a job's group has, when pjsh leaves, between SIGHUP and SIGKILL.
_HANGUP_GRACE = 1.0
# os.CLD_STOPPED is 3.9+ (the engine runs on 3.8 too); 5 is its value in Linux's siginfo.h.
_CLD_STOPPED = getattr(os, "CLD_STOPPED", 5)
# The exit status of a command that was suspended (bash: 128 + SIGTSTP).
SUSPENDED_STATUS = 128 + int(signal.SIGTSTP)


def _status_code(info: Any) -> int:
    """Popen's returncode for a ``waitid`` exit report: the status, or minus the signal."""
    if info.si_code == os.CLD_EXITED:
        return int(info.si_status)
    return -int(info.si_status)


class ProcessGroup:
    """The processes of one pipeline started on the terminal, as its watcher sees them.

    The watcher thread is the only one that waits for (and reaps) these processes; every
    other reader takes ``cond`` and looks at ``codes``/``stopped``."""

    def __init__(self, procs: Sequence[Process], command: str,
                 on_change: Callable[[ProcessGroup], None]) -> None:
        self.procs = list(procs)
        self.pids = [p.pid for p in self.procs]
        self.pgid = self.pids[0]
        self.command = command
        self.codes: dict[int, int] = {}  # pid -> returncode, once reaped
        self.stopped: dict[int, int] = {}  # pid -> the signal that stopped it
        self.cond = threading.Condition()
        self.modes: list[Any] | None = None  # the job's terminal modes, saved when it stopped
        self.job: TerminalJob | None = None
        self._on_change = on_change
        self._thread = threading.Thread(target=self._watch, name="pjsh-tty-watch", daemon=True)
        self._thread.start()

    def all_exited(self) -> bool:
        """Every process has exited (and been reaped)."""
        return len(self.codes) == len(self.pids)

    def all_stopped(self) -> bool:
        """Every process still alive is stopped (and at least one is)."""
        return bool(self.stopped) and len(self.stopped) + len(self.codes) == len(self.pids)

    def _watch(self) -> None:
        by_pid = {p.pid: p for p in self.procs}
        while True:
            try:
                info = os.waitid(os.P_PGID, self.pgid,
                                 os.WEXITED | os.WSTOPPED | os.WCONTINUED)
            except ChildProcessError:
                break  # every process of the group is reaped
            if info is None:
                continue
            with self.cond:
                pid = info.si_pid
                if info.si_code == _CLD_STOPPED:
                    self.stopped[pid] = info.si_status
                elif info.si_code == os.CLD_CONTINUED:
                    self.stopped.pop(pid, None)
                else:
                    code = _status_code(info)
                    self.codes[pid] = code
                    self.stopped.pop(pid, None)
                    proc = by_pid.get(pid)
                    if proc is not None:
                        proc.reaped(code)  # nothing must wait for it again
                self.cond.notify_all()
            self._on_change(self)
            if self.all_exited():
                break
        with self.cond:
            for pid in self.pids:  # reaped behind our back: the group is gone all the same
                self.codes.setdefault(pid, 0)
            self.cond.notify_all()
        self._on_change(self)

    def wait_settled(self) -> None:
        """Block until every process has exited or one has stopped, other than by touching
        the terminal before it was handed over (SIGTTIN/SIGTTOU: those are continued)."""
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.all_exited() or bool(self.stopped))
                if self.all_exited() or not self.stopped_by_terminal():
                    return
            # Started and at the terminal before pjsh lent it: go on, it is ours now.
            kill_group(self.pgid, signal.SIGCONT)
            with self.cond:
                self.cond.wait_for(lambda: self.all_exited() or not self.stopped_by_terminal())

    def stopped_by_terminal(self) -> bool:
        """Every stopped process stopped for touching the terminal (call under ``cond``)."""
        return bool(self.stopped) and all(
            sig in (signal.SIGTTIN, signal.SIGTTOU) for sig in self.stopped.values())

    def wait_all_stopped(self) -> None:
        """Block until every live process is stopped (or all have exited)."""
        with self.cond:
            self.cond.wait_for(lambda: self.all_exited() or self.all_stopped())

    def wait_exited(self, timeout: float | None = None) -> bool:
        """Block until every process has exited; False on timeout."""
        with self.cond:
            return self.cond.wait_for(self.all_exited, timeout)

    def returncodes(self) -> list[int]:
        """The processes' return codes in pipeline order (after all exited)."""
        with self.cond:
            return [self.codes.get(pid, 0) for pid in self.pids]


class TerminalJob(Job):
    """A pipeline that began in the foreground on the terminal and was suspended: it can be
    given the terminal again with ``fg``."""

    ps_type_names = ("Pjsh.TerminalJob", *Job.ps_type_names)
    default_type_name = "TerminalJob"

    def __init__(self, job_id: int, group: ProcessGroup, backend: TerminalBackend) -> None:
        super().__init__(job_id, command=group.command, backend=backend)
        self.group = group
        self.process_id = group.pgid


class TerminalBackend:
    """Drives TerminalJobs: stop, suspend and resume by signals to the job's group (the
    same group helpers as the process backends); state follows the group's watcher."""

    def __init__(self, grace: float = 2.0) -> None:
        self.grace = grace

    def start(self, job: Job) -> None:
        """A terminal job is running when it is created: nothing to start."""

    async def stop(self, job: Job) -> None:
        """SIGTERM and SIGCONT to the group, SIGKILL after the grace; Stopped once the
        watcher has seen every process exit."""
        assert isinstance(job, TerminalJob)
        group = job.group
        if not job.begin_stopping():
            return
        loop = asyncio.get_running_loop()
        from pjsh.runtime.posix import terminate_group

        timer = terminate_group(group.pgid, self.grace, loop=loop,
                                still_ours=lambda: not group.all_exited())
        await loop.run_in_executor(None, group.wait_exited)
        timer.cancel()

    async def suspend(self, job: Job) -> None:
        """SIGSTOP the group; Suspended once every process has stopped."""
        assert isinstance(job, TerminalJob)
        group = job.group
        if not may_suspend(job, not group.all_exited()):
            return
        loop = asyncio.get_running_loop()
        await suspend_group(job, group.pgid,
                            lambda: loop.run_in_executor(None, group.wait_all_stopped))

    async def resume(self, job: Job) -> None:
        """SIGCONT the group (in the background: ``bg``)."""
        assert isinstance(job, TerminalJob)
        if may_resume(job, not job.group.all_exited()):
            resume_group(job, job.group.pgid)

    def close(self) -> None:
        """Nothing to release: the jobs were stopped before."""


def _finish_job(job: TerminalJob) -> None:
    """The group is gone: end the job as the process backend ends native jobs."""
    group = job.group
    code = group.returncodes()[-1]
    job.exit_code = code if code >= 0 else 128 - code
    if code < 0 or job.state is JobState.Stopping:
        reason = f"The job was stopped by {signal_name(-code)}." if code < 0 else None
        job.finish_if_unfinished(JobState.Stopped, reason)
    elif code == 0:
        job.finish_if_unfinished(JobState.Completed)
    else:
        name = group.command.split()[0] if group.command.split() else group.command
        job.finish_if_unfinished(JobState.Failed, f"'{name}' exited with code {code}")


def _sync_job(group: ProcessGroup) -> None:
    """On the watcher's thread: bring the job's state in line with its group's."""
    job = group.job
    if job is None:
        return
    if group.all_exited():
        _finish_job(job)
    elif group.all_stopped():
        job.compare_and_set(JobState.Running, JobState.Suspended)
    elif not group.stopped:
        job.compare_and_set(JobState.Suspended, JobState.Running)


class TerminalOwner:
    """The console's terminal: who has it, and the foreground pipelines it is lent to.

    Integration points: the console builds one with :meth:`acquire` (None when there is no
    terminal to own), passes it to the runspace's options, and calls :meth:`release` on the
    way out. ``notify(line)`` is called with the one-line notice of a job that was suspended
    in the foreground."""

    def __init__(self, fd: int, notify: Callable[[str], None] | None = None) -> None:
        self.fd = fd
        self.notify = notify or self._write_notice
        self.shell_pgid = os.getpgrp()
        self.original_pgid = self.shell_pgid
        self.modes: list[Any] | None = None
        self.groups: list[ProcessGroup] = []
        self._lock = threading.Lock()
        self._backend = TerminalBackend()
        self._saved_handlers: dict[int, Any] = {}
        self._forward: Callable[[], None] | None = None
        self.taken = False

    # ---- start-up and leaving ------------------------------------------------------------

    @classmethod
    def acquire(cls, fd: int = 0,
                notify: Callable[[str], None] | None = None) -> TerminalOwner | None:
        """Take the terminal on ``fd`` for job control, or None if it is not a terminal we
        can own."""
        if not os.isatty(fd):
            return None
        owner = cls(fd, notify)
        try:
            owner.take()
        except OSError:
            owner.release()
            return None
        return owner

    def take(self) -> None:
        """Wait until we are in the foreground, put pjsh in its own process group, ignore the
        job-control stop signals, and make our group the terminal's foreground."""
        self.original_pgid = os.tcgetpgrp(self.fd)
        while True:  # as bash: started in the background, stop until we are brought forward
            foreground = os.tcgetpgrp(self.fd)
            if foreground == os.getpgrp() or foreground <= 0:
                break
            os.killpg(os.getpgrp(), signal.SIGTTIN)
        for sig, handler in ((signal.SIGTSTP, self._on_tstp), (signal.SIGTTIN, _ignore),
                             (signal.SIGTTOU, _ignore)):
            # Python handlers, not SIG_IGN: a handler is reset to SIG_DFL by exec, so every
            # program pjsh starts has the default stop signals without a preexec_fn.
            self._saved_handlers[sig] = signal.signal(sig, handler)
        if os.getpgrp() != os.getpid() and os.getsid(0) != os.getpid():
            os.setpgid(0, 0)
        self.shell_pgid = os.getpgrp()
        self._set_foreground(self.shell_pgid)
        self.modes = termios.tcgetattr(self.fd)
        self.taken = True

    def release(self) -> None:
        """Leaving: hang up every group started on the terminal (SIGHUP and SIGCONT, SIGKILL
        after a grace), give the terminal back to whoever had it, restore the signals."""
        with self._lock:
            groups = [g for g in self.groups if not g.all_exited()]
        for g in groups:
            kill_group(g.pgid, signal.SIGHUP)
            kill_group(g.pgid, signal.SIGCONT)
        for g in groups:
            if not g.wait_exited(_HANGUP_GRACE):
                kill_group(g.pgid, signal.SIGKILL)
                g.wait_exited(_HANGUP_GRACE)
        if self.taken:
            self.taken = False
            with contextlib.suppress(OSError):
                if self.original_pgid > 0 and self.original_pgid != self.shell_pgid:
                    self._set_foreground(self.original_pgid)
        for sig, handler in self._saved_handlers.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
        self._saved_handlers.clear()

    # ---- the foreground -------------------------------------------------------------------

    def run_foreground(self, session: Session, procs: Sequence[Process],
                       command: str) -> list[int] | None:
        """Give the terminal to the process group of ``procs`` (just started, the first one
        leading the group) until it ends (its return codes) or stops (None: it is now a
        Suspended job in the session's job table, and the notice was given)."""
        group = ProcessGroup(procs, command, _sync_job)
        with self._lock:
            self.groups.append(group)
        if self._lend(group, cont=False):
            self._suspended(session, group)
            return None
        return group.returncodes()

    def foreground_job(self, session: Session, job: TerminalJob) -> list[int] | None:
        """``fg``: give a terminal job the terminal (with its saved modes) and continue it;
        its return codes when it ends (it is removed from the job table, as bash), None when
        it was suspended again."""
        group = job.group
        job.in_foreground = True
        if self._lend(group, cont=True):
            job.in_foreground = False
            self._suspended(session, group)
            return None
        _manager(session).remove(job, force=True)
        return group.returncodes()

    def _lend(self, group: ProcessGroup, cont: bool) -> bool:
        """The group has the terminal until it exits or stops; True if it stopped."""
        try:
            if group.modes is not None:
                self._set_modes(group.modes)
            self._set_foreground(group.pgid)
            if cont:
                kill_group(group.pgid, signal.SIGCONT)
                with group.cond:  # the watcher has seen every stopped process continue
                    group.cond.wait_for(lambda: group.all_exited() or not group.stopped)
                if group.job is not None:
                    group.job.compare_and_set(JobState.Suspended, JobState.Running)
            # A member that touched the terminal before it was lent is continued here.
            group.wait_settled()
            if group.all_exited():
                return False
            # One process stopped (Ctrl+Z, or a SIGSTOP from outside): the whole pipeline
            # is suspended, as a job is one unit.
            kill_group(group.pgid, signal.SIGSTOP)
            group.wait_all_stopped()
            if group.all_exited():
                return False
            with contextlib.suppress(termios.error):
                group.modes = termios.tcgetattr(self.fd)
            return True
        finally:
            self._take_back()

    def _take_back(self) -> None:
        """pjsh's group is the foreground again, with pjsh's own terminal modes."""
        with contextlib.suppress(OSError):
            self._set_foreground(self.shell_pgid)
        if self.modes is not None:
            with contextlib.suppress(OSError, termios.error):
                self._set_modes(self.modes)

    def _suspended(self, session: Session, group: ProcessGroup) -> None:
        """The group stopped in the foreground: a Suspended job (made once), and its notice."""
        job = group.job
        if job is None:
            manager = _manager(session)
            if "terminal" not in manager.backend_kinds():
                manager.register_backend("terminal", self._backend)
            job = TerminalJob(manager.next_id(), group, self._backend)
            manager.add(job)
            job.set_state(JobState.Running)
            with group.cond:
                group.job = job
        _sync_job(group)
        if job.state is JobState.Suspended:
            self.notify(f"[{job.id}]+  Suspended  {job.command}")

    # ---- forwarding Ctrl+Z while pjsh itself is in the foreground ---------------------------

    @contextlib.contextmanager
    def forwarding_stop(self, on_stop: Callable[[], None]) -> Iterator[None]:
        """While inside, Ctrl+Z (SIGTSTP to pjsh) calls ``on_stop`` (signal-handler context:
        it must only set flags) instead of doing nothing: ``fg`` on a job that cannot have
        the terminal forwards it."""
        previous, self._forward = self._forward, on_stop
        try:
            yield
        finally:
            self._forward = previous

    def _on_tstp(self, _signum: int, _frame: object) -> None:
        forward = self._forward
        if forward is not None:
            forward()
            return
        # Natives of a pipeline that meets cmdlets run in pjsh's own group and stopped with
        # the same Ctrl+Z; such a pipeline cannot be suspended, so they go on.
        with contextlib.suppress(OSError):
            os.killpg(os.getpgrp(), signal.SIGCONT)

    # ---- terminal calls (SIGTTOU blocked: pjsh may be in the background when it makes them) -

    def _set_foreground(self, pgid: int) -> None:
        with _ttou_blocked():
            os.tcsetpgrp(self.fd, pgid)

    def _set_modes(self, modes: list[Any]) -> None:
        with _ttou_blocked():
            termios.tcsetattr(self.fd, termios.TCSADRAIN, modes)

    def _write_notice(self, line: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, (line + "\r\n").encode())


def _manager(session: Session) -> JobManager:
    from pjsh.jobs.service import JobService

    service = session.jobs
    assert isinstance(service, JobService)
    return service.manager


def _ignore(_signum: int, _frame: object) -> None:
    """A stop signal for pjsh itself: ignored (as a handler, so exec resets it)."""


@contextlib.contextmanager
def _ttou_blocked() -> Iterator[None]:
    """A background process changing the terminal gets SIGTTOU unless it blocks it."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
