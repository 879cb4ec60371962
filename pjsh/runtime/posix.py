"""POSIX process helpers shared by the interpreter's natives and every job backend.

One place for: signal names, signalling a process group (and ending one with a grace period),
confirming that SIGSTOP/SIGCONT took effect, and finding an executable on PATH. It lives in
the runtime layer so both ``pjsh.runtime`` and ``pjsh.jobs`` can use it.

The job engine's rule holds here: nothing reaps a child it did not start. These helpers only
signal and observe (``waitid`` with ``WNOWAIT``, pidfds); reaping stays with the owner of the
process, which keeps a group's zombie leader until the group has been killed, so the group id
cannot be recycled under a pending SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio

    from pjsh.runtime.ioloop import IOLoop

_SIGNAL_NAMES = {int(getattr(signal, n)): n for n in dir(signal)
                 if n.startswith("SIG") and not n.startswith("SIG_")}
# Where a name has aliases (SIGABRT/SIGIOT, SIGCHLD/SIGCLD), the canonical enum name wins.
_SIGNAL_NAMES.update({int(s): s.name for s in signal.Signals})


def signal_name(signum: int) -> str:
    """``SIGKILL`` for 9; ``signal 77`` for a number without a name."""
    return _SIGNAL_NAMES.get(signum, f"signal {signum}")


# ---- signalling groups -----------------------------------------------------------------------

def kill_group(pgid: int, sig: int) -> bool:
    """Signal process group ``pgid``; False when no process of it is left (or it is not ours
    to signal). Never signals our own group (0) or every process (-1)."""
    if pgid <= 0:
        return False
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# ---- the guard: no job process outlives pjsh -----------------------------------------------------

# The guard is a tiny stdlib-only process holding the read end of a pipe whose only write end
# is pjsh's. pjsh names the process groups of its jobs' processes ("+pgid"/"-pgid" lines);
# when the pipe reaches EOF (pjsh exited, or was killed with SIGKILL: the kernel closes its
# descriptors either way) the guard SIGKILLs the groups still named, and exits. Chosen over
# PR_SET_PDEATHSIG, which needs a preexec_fn (a fork instead of vfork for every native, and
# Python code run in the child of a threaded process) and fires when the *thread* that
# spawned the child ends, not the process.
_GUARD_CODE = r"""
import os, signal
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM, signal.SIGTSTP,
          signal.SIGTTIN, signal.SIGTTOU, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups = set()
tail = b""
while True:
    try:
        data = os.read(0, 65536)
    except InterruptedError:
        continue
    if not data:
        break
    *lines, tail = (tail + data).split(b"\n")
    for line in lines:
        if line[:1] == b"+":
            groups.add(int(line[1:]))
        elif line[:1] == b"-":
            groups.discard(int(line[1:]))
for pgid in groups:
    if pgid > 1:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
"""
# The same guard in awk, run by sh after it ignores those signals (ignored dispositions
# survive exec): it starts in ~1 ms where a Python interpreter takes ~15 ms of CPU, which on a
# small machine competes with a script's first `&`. The Python guard remains for a system
# without awk.
_GUARD_AWK = (r'/^\+/ { g[substr($0, 2)] = 1 } /^-/ { delete g[substr($0, 2)] } '
              r'END { for (p in g) if (p + 0 > 1) system("kill -9 -" p " 2>/dev/null") }')
_GUARD_SH = "trap '' INT QUIT HUP TERM TSTP TTIN TTOU PIPE; exec \"$1\" \"$0\""


def guard_argv(use_awk: bool = True) -> list[str]:
    """The guard's command line: awk under sh where both are found, else Python."""
    if use_awk and os.path.exists("/bin/sh"):
        for awk in ("/usr/bin/awk", "/bin/awk"):
            if os.access(awk, os.X_OK):
                return ["/bin/sh", "-c", _GUARD_SH, _GUARD_AWK, awk]
    import sys

    return [sys.executable, "-I", "-S", "-c", _GUARD_CODE]


_guard_lock = threading.Lock()
_guard_fd: int | None = None
_guard_pid = 0  # the process the guard belongs to (a forked child must start its own)


def _guard_write(line: bytes, start: bool) -> None:
    global _guard_fd, _guard_pid
    with _guard_lock:
        if _guard_fd is not None and _guard_pid != os.getpid():
            _guard_fd = None  # inherited across a fork: that guard watches our parent
        if _guard_fd is None:
            if not start:
                return
            import subprocess  # the guard starts with the first job process that needs it

            read_end, write_end = os.pipe()
            try:
                subprocess.Popen(
                    guard_argv(), stdin=read_end,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True,
                    start_new_session=True, cwd="/")
            except OSError:
                os.close(write_end)
                return
            finally:
                os.close(read_end)
            # The guard is never waited for (it outlives pjsh by design); the Popen object
            # is dropped, and pjsh's exit closes the pipe.
            _guard_fd = write_end
            _guard_pid = os.getpid()
        if not line:
            return
        try:
            os.write(_guard_fd, line)
        except OSError:
            pass  # the guard is gone: nothing else to do


def start_guard() -> None:
    """Start the guard if it is not running yet; call it before starting a process group
    that :func:`guard_group` will name. Started only once the group exists, the guard's
    spawn (an exec wait, longer under load) lay between the group's first process and the
    line naming it: pjsh killed then (a worker killed by its own pjsh's guard) left that
    group running."""
    _guard_write(b"", True)


def guard_group(pgid: int) -> None:
    """Have the guard SIGKILL process group ``pgid`` should pjsh die before
    :func:`unguard_group` (the natives of in-process jobs, workers, directly spawned jobs)."""
    if pgid > 1:
        _guard_write(b"+%d\n" % pgid, True)


def unguard_group(pgid: int) -> None:
    """The group has ended (its leader reaped): the guard must forget it."""
    if pgid > 1:
        _guard_write(b"-%d\n" % pgid, False)


class Cancellable(Protocol):
    """Something scheduled that can be called off (a timer handle)."""

    def cancel(self) -> None:
        """Call it off."""


class _GraceTimer:
    """SIGKILL for a group once the grace has passed, unless cancelled first.

    The thread blocks on an Event with the grace as its timeout: cancel wakes it at once,
    and nothing spins."""

    def __init__(self, grace: float, fire: Callable[[], None]) -> None:
        self._cancelled = threading.Event()
        self._fire = fire
        thread = threading.Thread(target=self._run, args=(grace,), name="pjsh-kill-grace",
                                  daemon=True)
        thread.start()

    def _run(self, grace: float) -> None:
        if not self._cancelled.wait(grace):
            self._fire()

    def cancel(self) -> None:
        """Call the SIGKILL off."""
        self._cancelled.set()


def terminate_group(
    pgid: int,
    grace: float,
    *,
    loop: asyncio.AbstractEventLoop | IOLoop | None = None,
    still_ours: Callable[[], bool] | None = None,
) -> Cancellable:
    """Ask a process group to end: SIGTERM and SIGCONT (a stopped process must run to act
    on SIGTERM) now, SIGKILL once ``grace`` seconds have passed.

    The SIGKILL is scheduled on ``loop`` (call from its thread) or, without one, on a
    thread waiting on an event; cancel the returned handle when the group is known gone.
    ``still_ours`` is asked just before the SIGKILL: the owner answers False once it has
    reaped the group's leader (its id may then be recycled), which calls the kill off.
    """
    kill_group(pgid, signal.SIGTERM)
    kill_group(pgid, signal.SIGCONT)

    def fire() -> None:
        if still_ours is None or still_ours():
            kill_group(pgid, signal.SIGKILL)

    if loop is not None:
        return loop.call_later(grace, fire)
    return _GraceTimer(grace, fire)


# ---- what Python 3.8 lacks ---------------------------------------------------------------------
# The engine also runs on a remote host's python3, which may be 3.8 (docs/architecture.md, "The
# engine runs on Python 3.8"): these are the standard library's own functions where it has them
# (3.9+, so nothing changes there), else equivalents.

def _pidfd_open_syscall(pid: int) -> int:
    """``os.pidfd_open`` for Python 3.8 on Linux: the raw system call (kernel 5.3+); OSError
    where the kernel or the platform has none, as ``os.pidfd_open`` raises."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "pidfd_open is not available")
    import ctypes  # only on 3.8, and only once a pidfd is wanted

    syscall = ctypes.CDLL(None, use_errno=True).syscall
    fd = int(syscall(ctypes.c_long(434), ctypes.c_int(pid), ctypes.c_uint(0)))  # __NR_pidfd_open
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return fd


pidfd_open: Callable[[int], int] = (
    os.pidfd_open if hasattr(os, "pidfd_open") else _pidfd_open_syscall)  # novm


def spawner_available() -> bool:
    """True where the job engine's fork server (``pjsh/jobs/spawner.py``) can run (Linux:
    pidfds, SCM_RIGHTS, SEQPACKET), unless the ``PJSH_SPAWNER=0`` switch turns it off. Asks
    ``_socket`` (C, already loaded by little) rather than ``socket``, whose import costs a
    few ms on the first `&`, which may not need the server at all."""
    if os.environ.get("PJSH_SPAWNER", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    import _socket

    return hasattr(_socket, "SOCK_SEQPACKET") and hasattr(os, "fork") \
        and hasattr(_socket, "MSG_CMSG_CLOEXEC") and pidfds_available()


def pidfds_available() -> bool:
    """Whether :func:`pidfd_open` can work here: Python 3.9+ has it where the platform does;
    3.8 asks the kernel once."""
    global _pidfds
    if _pidfds is None:
        if hasattr(os, "pidfd_open"):  # novm
            _pidfds = True
        else:
            try:
                os.close(_pidfd_open_syscall(os.getpid()))
                _pidfds = True
            except OSError:
                _pidfds = False
    return _pidfds


_pidfds: bool | None = None

if sys.version_info >= (3, 9):  # novm
    waitstatus_to_exitcode = os.waitstatus_to_exitcode
else:
    def waitstatus_to_exitcode(status: int) -> int:
        """The exit code of a wait status, or minus the signal that ended the process."""
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        if os.WIFSIGNALED(status):
            return -os.WTERMSIG(status)
        raise ValueError(f"invalid wait status: {status!r}")


# ---- stop / continue confirmation --------------------------------------------------------------

def wait_stopped(pids: Iterable[int]) -> None:
    """Block until each of our child processes ``pids`` is stopped (or has exited, or waits
    in vfork() on a stopped child), leaving its status unread (``WNOWAIT``: the owner's own
    wait still sees the exit). SIGSTOP is asynchronous; call this before reporting a job
    Suspended.

    It looks again at growing intervals rather than blocking in ``waitid``: a process that
    vforked a child which the SIGSTOP caught before its exec (a shell running ``a; b``) can
    never stop, and the kernel sends no notice of that state."""
    for pid in pids:
        delay = 0.0005
        while True:
            try:
                if os.waitid(os.P_PID, pid,
                             os.WSTOPPED | os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
            except (ChildProcessError, OSError):
                break
            if vfork_blocked(pid):
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def proc_state(pid: int) -> str:
    """A process's state letter from /proc (R, S, D, T, Z...), '' if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return ""


def vfork_blocked(pid: int) -> bool:
    """True if ``pid`` waits in vfork() for a child that is stopped: the parent cannot stop
    until that child execs, so it is as stopped as it will get (the fork server keeps its own
    copy of this test: it imports nothing from pjsh)."""
    if proc_state(pid) != "D":
        return False
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return False
    return any(proc_state(c) == "T" for c in children)


def wait_continued(pids: Iterable[int]) -> None:
    """Block until each of our child processes ``pids`` has continued (or exited), status
    left unread (``waitid(WCONTINUED | WEXITED | WNOWAIT)``)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitid(os.P_PID, pid, os.WCONTINUED | os.WEXITED | os.WNOWAIT)


def has_exited(pid: int) -> bool:
    """True if our child ``pid`` has exited, without reaping it or blocking."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True  # reaped already: it is certainly gone


def wait_exited(pids: Iterable[int], timeout: float | None = None) -> bool:
    """Block until every process in ``pids`` has exited, ours or not, without reaping any:
    each is watched with a pidfd (readable on exit). False if ``timeout`` passed first.
    A zombie counts as exited. Without pidfds, our children are waited for with waitid."""
    fds: list[int] = []
    fallback: list[int] = []
    try:
        for pid in pids:
            try:
                fds.append(pidfd_open(pid))
            except ProcessLookupError:
                continue  # gone already
            except (AttributeError, OSError):
                fallback.append(pid)
        if fallback:
            for pid in fallback:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        if not fds:
            return True
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        left = set(fds)
        deadline = None if timeout is None else time.monotonic() + timeout
        while left:
            wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            ready = poller.poll(wait_ms)
            if not ready:
                return False
            for fd, _events in ready:
                poller.unregister(fd)
                left.discard(fd)
        return True
    finally:
        for fd in fds:
            os.close(fd)


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a group, from /proc (empty where there is none)."""
    members: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return members
    for name in names:
        if not name.isdigit():
            continue
        state = _proc_stat(int(name))
        if state is not None and state[0] != b"Z" and len(state) > 2 and int(state[2]) == pgid:
            members.append(int(name))
    return members


def _proc_stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name: state ppid pgrp ...; None if
    the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2:].split()


# ---- finding programs --------------------------------------------------------------------------

def is_executable_file(path: str) -> bool:
    """A regular file (after links) that we may execute."""
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_executable(name: str, path_env: str | None, cwd: str) -> str | None:
    """The absolute executable a command name means, or None.

    One set of rules for the interpreter and the job backends: a name with a slash is a
    path (``~`` expanded, relative to ``cwd``, never searched); otherwise each PATH entry is
    tried in order, an empty entry meaning ``cwd`` (as POSIX execvp) and PATH unset meaning
    the system default; only regular files we may execute count, directories and files
    without the execute bit are passed over. ``cwd`` is the session's logical directory,
    never the process's."""
    if "/" in name:
        full = os.path.expanduser(name) if name.startswith("~") else name
        full = os.path.join(cwd, full)
        return full if is_executable_file(full) else None
    for entry in (os.defpath if path_env is None else path_env).split(os.pathsep):
        full = os.path.join(cwd, entry, name)
        if is_executable_file(full):
            return full
    return None
