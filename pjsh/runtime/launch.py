"""The one launcher: how pjsh starts the processes of a native pipeline.

Foreground pipelines (:class:`pjsh.runtime.native.NativeGroup`, and so a pipeline that is
lent the terminal and may become a job with Ctrl+Z) and ``&`` jobs started in pjsh's own
process (:mod:`pjsh.jobs.process`) start their stages through :func:`start_chain`, and the
fork server (:mod:`pjsh.jobs.spawner`, a separate small process that imports nothing from
pjsh) loads this file by its path and starts each stage with :func:`spawn`. So every native
process gets the same treatment: chained by OS pipes, placed in one process group of its own
when asked (stopped and signalled as a unit), the same signals at their default action, the
same choice between ``posix_spawn`` and ``subprocess.Popen``, and, when a later stage cannot
start, the stages already running killed and reaped. What differs between the callers is
only who waits for the processes: the foreground (or the terminal owner, on a terminal), the
job engine's loop, or the fork server.

Standard library only, Python 3.8+, and nothing imported that the fork server would not
need at start-up (``subprocess`` only when Popen is used).
"""

from __future__ import annotations

import os
import signal
import sys

# Not ``typing.TYPE_CHECKING``: importing typing would cost the fork server's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:  # novm: never runs
    import subprocess
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

_posix_spawn = getattr(os, "posix_spawn", None)
_DUP2: int = getattr(os, "POSIX_SPAWN_DUP2", 0)

# Signals a native starts with at their default action: SIGPIPE and SIGXFSZ, as Popen restores
# them, and the job-control stops, which a console that ignores them would otherwise hand down
# across exec (a job brought to the foreground must stop on Ctrl+Z). Other signals pjsh
# ignores stay ignored in its natives (exec keeps SIG_IGN), as in any shell.
DEFAULT_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ", "SIGTSTP", "SIGTTIN", "SIGTTOU")
    if hasattr(signal, name)
)
# A stage's ``stderr`` given as this goes where its ``stdout`` goes (``2>&1``).
MERGE = -2

_sealed = False


class LaunchFailed(Exception):
    """A stage could not be started (``stage`` is its index; ``error`` the OSError). The
    stages started before it have been killed and reaped."""

    def __init__(self, stage: int, error: OSError) -> None:
        super().__init__(str(error))
        self.stage = stage
        self.error = error


class Process:
    """One started stage: its pid, its return code once reaped, and the ``Popen`` when Popen
    started it (kept until reaped: a collected Popen would reap the pid by itself)."""

    __slots__ = ("pid", "popen", "returncode")

    def __init__(self, pid: int, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.popen = popen
        self.returncode: int | None = None

    def reaped(self, code: int) -> None:
        """Someone else waited for it (a watcher): record its code, so nothing waits again."""
        self.returncode = code
        if self.popen is not None:
            self.popen.returncode = code

    def poll(self) -> int | None:
        """Its return code if it has exited (reaping it), else None."""
        if self.returncode is None:
            self._wait(os.WNOHANG)
        return self.returncode

    def wait(self) -> int:
        """Block until it exits; its return code (minus the signal that ended it)."""
        while self.returncode is None:
            self._wait(0)
        return self.returncode

    def _wait(self, flags: int) -> None:
        if self.popen is not None:
            code = self.popen.poll() if flags else self.popen.wait()
            if code is not None:
                self.returncode = code
            return
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:
            self.returncode = 0  # reaped behind our back: gone all the same
            return
        except InterruptedError:  # pragma: no cover - PEP 475 retries; a handler may raise
            return
        if pid:
            self.returncode = _exit_code(status)

    def send_signal(self, signum: int) -> None:
        """Signal it, unless it was reaped (then its pid may belong to another process)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        """SIGTERM (see :meth:`send_signal`)."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL (see :meth:`send_signal`)."""
        self.send_signal(signal.SIGKILL)


def _exit_code(status: int) -> int:
    """``os.waitstatus_to_exitcode`` (3.9+): the exit status, or minus the signal."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def seal_inherited_fds() -> None:
    """Make descriptors inherited from our own parent close-on-exec, once per process.

    posix_spawn has no close_fds: it relies on every descriptor being close-on-exec, which
    holds for all that Python opens (PEP 446) but not for those the shell was started with.
    """
    global _sealed
    if _sealed:
        return
    _sealed = True
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = os.listdir("/dev/fd") if os.path.isdir("/dev/fd") else []
    for name in names:
        fd = int(name)
        if fd > 2:
            try:
                if os.get_inheritable(fd):
                    os.set_inheritable(fd, False)
            except OSError:
                pass


def spawn(executable: str, argv: Sequence[str], stdio: Sequence[int],
          env: Mapping[Any, Any], pgid: int | None,
          default_signals: Sequence[int] = DEFAULT_SIGNALS) -> int:
    """Start one stage with ``posix_spawn`` (vfork + exec in C, no Python between them) on
    descriptors ``stdio`` (all above 2), in process group ``pgid`` (0: a new group it leads;
    None: the caller's); its pid."""
    assert _posix_spawn is not None
    options: dict[str, Any] = {"setsigdef": default_signals}
    if pgid is not None:
        options["setpgroup"] = pgid
    pid: int = _posix_spawn(
        executable, list(argv), env,
        file_actions=[(_DUP2, fd, target) for target, fd in enumerate(stdio)], **options)
    return pid


def start_stage(executable: str, argv: Sequence[str], stdin: int, stdout: int, stderr: int,
                *, pgid: int | None, cwd: str, env: Mapping[str, str] | None,
                fast: bool = True, detached: bool = False) -> Process:
    """Start one stage; ``pgid`` as for :func:`spawn`.

    ``posix_spawn`` when it can do the job: the stage starts in pjsh's own directory (it
    cannot change directory) and on descriptors above 2 (a dup2 onto itself would keep
    close-on-exec on some libcs). Otherwise ``Popen``, which closes every other descriptor
    itself. ``detached``: the stage needs no terminal (before Python 3.11, a group of its own
    is then made with ``setsid`` in C rather than a ``preexec_fn``, which costs 3 ms a spawn).
    """
    if stderr == MERGE:
        stderr = stdout
    if fast and _posix_spawn is not None and min(stdin, stdout, stderr) > 2 \
            and cwd == _getcwd():
        seal_inherited_fds()
        pid = spawn(executable, argv, (stdin, stdout, stderr),
                    os.environ if env is None else env, pgid)
        return Process(pid)
    import subprocess

    group: dict[str, Any] = {}
    if pgid is not None:
        if sys.version_info >= (3, 11):
            group["process_group"] = pgid
        elif detached and pgid == 0:  # pragma: no cover - Python 3.8 to 3.10
            group["start_new_session"] = True
        else:  # pragma: no cover - Python 3.8 to 3.10
            import functools

            group["preexec_fn"] = functools.partial(os.setpgid, 0, pgid)
    popen = subprocess.Popen(
        list(argv), executable=executable, stdin=stdin, stdout=stdout, stderr=stderr,
        cwd=cwd, env=env, close_fds=True, restore_signals=True, **group)
    return Process(popen.pid, popen)


def start_chain(stages: Sequence[tuple[str, Sequence[str]]], stdin: int, stdout: int,
                stderrs: Sequence[int], *, cwd: str, env: Mapping[str, str] | None,
                new_group: bool, fast: bool = True, detached: bool = False,
                guard: Callable[[int], None] | None = None,
                unguard: Callable[[int], None] | None = None) -> list[Process]:
    """Start ``stages`` (executable, argv) chained by OS pipes: the first reads ``stdin``,
    the last writes ``stdout``, stage i writes its errors to ``stderrs[i]`` (or
    :data:`MERGE`). With ``new_group`` they share a new process group led by the first, and
    ``guard(pgid)`` is called as soon as the group exists (pjsh's guard, which kills it
    should pjsh die).

    A stage that cannot start raises :class:`LaunchFailed`, after the ones before it were
    killed and reaped (and ``unguard(pgid)`` called). So does anything else raised meanwhile,
    a signal's SystemExit included: nothing started here outlives a failed start. The caller
    keeps its own descriptors (this closes only the pipes it made between stages)."""
    procs: list[Process] = []
    # What the next stage reads: the caller's stdin, else a pipe's read end made here and
    # still open (closed here once that stage has it, or on a failure).
    previous = stdin
    guarded = 0
    try:
        for index, (executable, argv) in enumerate(stages):
            last = index == len(stages) - 1
            next_read, write = (stdin, stdout) if last else os.pipe()
            try:
                pgid = (procs[0].pid if procs else 0) if new_group else None
                # Before Python 3.11 a single detached stage gets a session of its own.
                alone = detached and len(stages) == 1
                procs.append(start_stage(
                    executable, argv, previous, write, stderrs[index], pgid=pgid, cwd=cwd,
                    env=env, fast=fast, detached=alone))
            except OSError as exc:
                raise LaunchFailed(index, exc) from exc
            finally:
                if not last:
                    os.close(write)  # the parent's copy: the reader must see EOF
                if previous != stdin:
                    os.close(previous)
                previous = next_read
            if index == 0 and new_group and guard is not None:
                # At once, not after the last stage: the first may already be running.
                guarded = procs[0].pid  # first: the guard may hear of it, then fail
                guard(guarded)
    except BaseException:
        if previous != stdin:
            os.close(previous)  # the read end for a stage that was never started
        _take_down(procs, new_group)
        if guarded and unguard is not None:
            unguard(guarded)
        raise
    return procs


def _take_down(procs: Sequence[Process], grouped: bool) -> None:
    """A later stage could not start: kill and reap the ones already running."""
    if not procs:
        return
    if grouped:
        try:
            os.killpg(procs[0].pid, signal.SIGKILL)
        except OSError:
            pass
    for proc in procs:
        proc.kill()
        proc.wait()


def _getcwd() -> str:
    """The process's directory, or "" when it was deleted under us."""
    try:
        return os.getcwd()
    except OSError:
        return ""
