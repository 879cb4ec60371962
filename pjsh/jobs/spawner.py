"""A spawn server for native jobs: a tiny helper process that starts them on pjsh's behalf.

Why: with ``posix_spawn`` (vfork) pjsh waits, GIL held, until each child has exec'd (0.5-1.4 ms
per job on a small VM); forking pjsh itself copies a 30 MB image. This helper is a bare
``python -I -S`` that does the ``posix_spawn`` and its wait, while pjsh only sends a request and
goes on (on two cores, pjsh's next job overlaps this one's exec, as with bash).

The helper runs this file as a script and imports only os, socket, signal, select, struct, json, errno.
It talks to pjsh over one ``AF_UNIX``/``SOCK_SEQPACKET`` socket (one message per request or
reply, descriptors passed with ``SCM_RIGHTS``). Messages are JSON objects:

pjsh -> helper (one request per message, or several start requests without descriptors, one
per line)
  ``{"i": id, "c": cwd, "e": env|null, "E": env|absent, "g": [ignored signals],
  "s": [[executable, argv, stdin, stdout, stderr], ...]}``: start a pipeline; the three numbers
  of each stage index the descriptors sent with the message, or name one this helper makes:
  -1 the capture pipe of the job's output, -2 that of its errors, -3 ``/dev/null``. ``e`` is
  this job's own environment; null means the default one, which ``E`` replaces when pjsh's
  changed.
  ``{"z": pgid, "p": [pid, ...]}``: pjsh has sent SIGSTOP to the job's group: say when each
  of these stages has stopped (or exited). Only the parent learns that from the kernel
  without polling (waitid); SIGCHLD wakes this loop (through a wake-up pipe) while such a
  question is open, and only then.
  ``{"r": [pgid, ...], "a": 1|absent}``: the jobs have ended; reap their zombie group leaders (until then
  the leader stays unreaped, so the group id stays reserved and pjsh may ``killpg`` it
  safely); with ``a``, say when it is done.
helper -> pjsh (several replies may share one datagram, one per line)
  ``{"k": 1}``: the first message, sent as soon as the helper serves (pjsh starts jobs
  directly until then rather than wait for this process's start-up).
  ``{"i": id, "p": [pid, ...]}``: the stages were forked (the first pid is the group id);
  ``"f": message`` is added when a stage failed to start (the stages started are killed);
  a message starting with NUL names a working directory that could not be entered.
  ``{"x": pid, "c": code, "e": message|absent}``: a stage exited (``code`` as
  ``os.waitstatus_to_exitcode``; ``e`` when its exec failed).
  ``{"Z": pgid}``: every stage asked about in ``z`` has stopped or exited.
  ``{"R": pgid}``: the group leader is reaped (asked for by a stop, so a stopped job's group
  is gone, as on the direct path, before pjsh reports the job Stopped).
  ``{"h": pgid, "s": 1|2}`` with one descriptor: the job's output (1) or error (2) capture
  pipe, handed over the moment it has data; pjsh reads it from then on.
  ``{"q": pgid, "s": mask}``: those capture pipes (1, 2, or 3 for both) reached EOF without
  a byte: nothing to read, and pjsh never touched them.

Capture pipes are made here, not in pjsh, and held until they have data: most `&` jobs write
nothing, and then pjsh spends no system call and no loop wake-up on their pipes. The bytes
themselves never pass through this helper (a pipe with data is handed over unread).

If pjsh's end closes (pjsh exited, or was killed), the helper SIGKILLs every process group
whose job pjsh had not yet seen end, reaps its children and exits: no orphans.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys

TYPE_CHECKING = False  # typing is not imported: it would cost this helper's start-up
if TYPE_CHECKING:  # novm: never runs
    from types import ModuleType

# Signals a stage starts with at their default action unless pjsh ignores them too (this
# process ignores the terminal's and the common kill signals, Python ignores SIGPIPE and
# SIGXFSZ; the job-control stops must work in a job brought to the foreground).
_IGNORED_HERE = tuple(
    getattr(signal, name) for name in
    ("SIGINT", "SIGQUIT", "SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGTSTP",
     "SIGTTIN", "SIGTTOU")
    if hasattr(signal, name)
)
_DEFAULTS = (*_IGNORED_HERE, signal.SIGPIPE, signal.SIGXFSZ)
_MAX_MESSAGE = 1 << 20
_MAX_FDS = 250  # below the kernel's SCM_MAX_FD (253)
_REQUESTS_PER_ROUND = 16  # then replies go out and exits are looked at (epoll is level-triggered)
_BATCH = 64  # replies per datagram
_BATCH_BYTES = 32768
_CAPTURE_OUT, _CAPTURE_ERR, _NULL = -1, -2, -3  # stage descriptors this helper makes


def _pidfd_open_syscall(pid: int) -> int:
    """``os.pidfd_open`` for Python 3.8 (Linux 5.3+): the raw system call. This script cannot
    import pjsh, so it has its own copy of pjsh.runtime.posix's."""
    import ctypes

    syscall = ctypes.CDLL(None, use_errno=True).syscall
    fd = int(syscall(ctypes.c_long(434), ctypes.c_int(pid), ctypes.c_uint(0)))  # __NR_pidfd_open
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return fd


_pidfd_open = os.pidfd_open if hasattr(os, "pidfd_open") else _pidfd_open_syscall  # novm


def _load_launch() -> ModuleType:
    """pjsh's launcher (``pjsh/runtime/launch.py``), loaded by its path: this script cannot
    import pjsh, and every native stage must start the same way wherever it is started.
    (``importlib.util`` would cost this helper's start-up 8 ms; the loader alone, 1 ms.)"""
    from importlib.machinery import SourceFileLoader

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "runtime", "launch.py")
    module = type(sys)("_pjsh_launch")
    module.__file__ = path
    SourceFileLoader("_pjsh_launch", path).exec_module(module)
    return module


_launch = _load_launch()


class Server:
    """The helper's state: its socket, its children and their groups."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self.poll = select.epoll()
        self.poll.register(sock.fileno(), select.EPOLLIN)
        self.env: dict[bytes, bytes] = dict(os.environb)
        self.outbox: list[tuple[bytes, int]] = []  # (reply, descriptor to pass or -1)
        self.pidfds: dict[int, int] = {}  # pidfd -> pid
        self.captures: dict[int, tuple[int, int]] = {}  # capture pipe -> (pgid, 1 or 2)
        self.quiet: dict[int, int] = {}  # pgid -> capture pipes at EOF this round (mask)
        self.null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.leaders: set[int] = set()  # group leaders not yet released by pjsh
        self.held: set[int] = set()  # leaders that exited and are kept as zombies
        self.stop_waits: dict[int, set[int]] = {}  # pgid -> stages not yet seen stopped
        self.sigchld_fd = -1  # read end of the signal wake-up pipe, made on first need
        self.closed = False

    # ---- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until pjsh's end of the socket closes."""
        sock_fd = self.sock.fileno()
        while not self.closed:
            if self.outbox:
                self.flush()
            # While a stop is being confirmed, look again now and then: a stage blocked in
            # vfork() on a child that the SIGSTOP caught before its exec never stops and
            # never says so (see _vfork_blocked).
            for fd, events in self.poll.poll(0.05 if self.stop_waits else -1):
                if fd == sock_fd:
                    if events & select.EPOLLOUT:
                        self.flush()
                    if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                        self.read_requests()
                elif fd in self.captures:
                    self.on_capture(fd, events)
                elif fd == self.sigchld_fd:
                    try:
                        while os.read(fd, 512):
                            pass
                    except BlockingIOError:
                        pass  # drained
                    self.check_stops()
                else:
                    self.on_exit(fd)
            if self.stop_waits:
                self.check_stops()
            if self.quiet:
                for pgid, mask in self.quiet.items():
                    self.send({"q": pgid, "s": mask})
                self.quiet.clear()
        self.shut_down()

    def read_requests(self) -> None:
        """Handle the requests waiting on the socket (a bounded number: during a long burst
        the replies and exits must not wait for its end)."""
        for _ in range(_REQUESTS_PER_ROUND):
            try:
                data, fds = receive(self.sock)
            except BlockingIOError:
                return
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self.closed = True
                return
            try:
                # Several start requests may share a message (one per line, none of them
                # passing descriptors): replies go out as they are made, every few.
                for number, line in enumerate(data.split(b"\n"), 1):
                    self.handle_line(line, fds)
                    if number % _REQUESTS_PER_ROUND == 0:
                        self.flush()
            finally:
                for fd in fds:
                    os.close(fd)

    def handle_line(self, line: bytes, fds: list[int]) -> None:
        """One request line. A request this helper cannot carry out fails its own job (when
        it names one) and nothing else: the other jobs depend on this process living on."""
        request: object = None
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise TypeError(f"a request is an object, not {type(request).__name__}")
            self.handle(request, fds)
        except Exception as exc:  # any: see the docstring
            if isinstance(request, dict) and isinstance(request.get("i"), int) \
                    and "r" not in request:
                self.send({"i": request["i"], "p": [], "f": f"bad request: {exc}"})

    def handle(self, request: dict[str, object], fds: list[int]) -> None:
        """One request: start a pipeline, or release a finished job's group leader."""
        if "z" in request:
            pgid, stages = request["z"], request["p"]
            assert isinstance(pgid, int) and isinstance(stages, list)
            self.stop_waits[pgid] = set(stages)
            self.watch_children(True)
            self.check_stops()
            return
        if "r" in request:
            pgids = request["r"]
            assert isinstance(pgids, list)
            for pgid in pgids:
                self.leaders.discard(pgid)
                # Capture pipes still held: something outside the job's group keeps them
                # open (pjsh gave them up); they are not the job's any more.
                for fd in [f for f, (owner, _s) in self.captures.items() if owner == pgid]:
                    del self.captures[fd]
                    self.poll.unregister(fd)
                    os.close(fd)
                if pgid in self.held:
                    self.held.discard(pgid)
                    reap(pgid)
                if request.get("a"):
                    self.send({"R": pgid})
            return
        if "E" in request:
            self.env = encode_env(request["E"])
        env = self.env if request.get("e") is None else encode_env(request["e"])
        stages = request["s"]
        ignored = request.get("g") or []
        cwd = request["c"]
        assert isinstance(stages, list) and isinstance(ignored, list) and isinstance(cwd, str)
        pids: list[int] = []
        reply: dict[str, object] = {"i": request["i"], "p": pids}
        # This helper's own descriptors by their negative numbers: capture pipes (read end,
        # write end) and /dev/null.
        pipes: dict[int, tuple[int, int]] = {}
        own = {_NULL: self.null}
        try:
            for stage in stages:
                for number in stage[2:]:
                    if number in (_CAPTURE_OUT, _CAPTURE_ERR) and number not in pipes:
                        pipes[number] = os.pipe()
                        own[number] = pipes[number][1]
            for executable, argv, stdin, stdout, stderr in stages:
                stdio = (own[stdin] if stdin < 0 else fds[stdin],
                         own[stdout] if stdout < 0 else fds[stdout],
                         own[stderr] if stderr < 0 else fds[stderr])
                if not pids:
                    # posix_spawn cannot change directory; this process has nothing else
                    # that depends on its own, so it moves to the job's (every time: the
                    # directory may have been replaced since).
                    try:
                        os.chdir(cwd)
                    except OSError:
                        reply["f"] = "\0" + cwd  # pjsh words it: the directory is missing
                        break
                pid = self.fork_stage(executable, argv, stdio, env, ignored,
                                      pids[0] if pids else 0)
                pids.append(pid)
        except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
            # ValueError: what posix_spawn refuses (a NUL in an argument, '=' in a name);
            # the others: a malformed stage. pjsh checks first; this is the last line.
            reply["f"] = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            if pids:
                kill_group(pids[0], signal.SIGKILL)
        if pids:
            self.leaders.add(pids[0])
        self.send(reply)
        for number, (read_end, write_end) in pipes.items():
            os.close(write_end)
            if pids and "f" not in reply:
                self.captures[read_end] = (pids[0], 1 if number == _CAPTURE_OUT else 2)
                self.poll.register(read_end, select.EPOLLIN)
            else:
                os.close(read_end)  # a failed start's output goes, as on the direct path

    def fork_stage(self, executable: str, argv: list[str], stdio: tuple[int, int, int],
                   env: dict[bytes, bytes], ignored: list[int], pgid: int) -> int:
        """Start one stage in group ``pgid`` (0: a new group it leads).

        ``posix_spawn`` (vfork + exec) waits here for the exec, which is the point: this small
        process waits, pjsh does not. A plain fork of even this small image copies page
        tables and takes copy-on-write faults on both sides, which measured slower.
        """
        pid: int = _launch.spawn(executable, argv, stdio, env, pgid,
                                 [signum for signum in _DEFAULTS if signum not in ignored])
        try:
            pidfd = _pidfd_open(pid)
        except OSError:
            # Without a pidfd its exit would go unreported: treat it as a failed start.
            os.kill(pid, signal.SIGKILL)
            reap(pid)
            raise
        self.pidfds[pidfd] = pid
        self.poll.register(pidfd, select.EPOLLIN)
        return pid

    def on_capture(self, fd: int, events: int) -> None:
        """A capture pipe has data (hand it to pjsh, unread) or is at EOF without any."""
        pgid, stream = self.captures.pop(fd)
        self.poll.unregister(fd)
        if events & select.EPOLLIN:
            self.send({"h": pgid, "s": stream}, fd)
        else:
            self.quiet[pgid] = self.quiet.get(pgid, 0) | stream
            os.close(fd)

    def watch_children(self, on: bool) -> None:
        """Have SIGCHLD (a child stopped or exited) wake the loop, or stop that. Off while
        no stop is being confirmed, so an ordinary exit costs no extra wake-up."""
        if on and self.sigchld_fd < 0:
            read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
            self.poll.register(read_end, select.EPOLLIN)
            self.sigchld_fd = read_end
        signal.signal(signal.SIGCHLD, _ignore_signal if on else signal.SIG_DFL)

    def check_stops(self) -> None:
        """Answer the stop questions whose stages have all stopped (or exited)."""
        for pgid, pids in list(self.stop_waits.items()):
            for pid in list(pids):
                try:
                    done = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WEXITED | os.WNOHANG
                                     | os.WNOWAIT) is not None or _vfork_blocked(pid)
                except ChildProcessError:
                    done = True  # reaped: gone
                if done:
                    pids.discard(pid)
            if not pids:
                del self.stop_waits[pgid]
                self.send({"Z": pgid})
        if not self.stop_waits:
            self.watch_children(False)

    def on_exit(self, pidfd: int) -> None:
        """A stage exited: report its status; reap it unless it leads an unreleased group."""
        pid = self.pidfds.pop(pidfd)
        self.poll.unregister(pidfd)
        os.close(pidfd)
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            info = None
        if info is None:
            code = 0
        elif info.si_code == os.CLD_EXITED:
            code = info.si_status
        else:
            code = -info.si_status
        message: dict[str, object] = {"x": pid, "c": code}
        if pid in self.leaders:
            self.held.add(pid)
        else:
            reap(pid)
        self.send(message)

    # ---- replies -----------------------------------------------------------------------------

    def send(self, message: dict[str, object], fd: int = -1) -> None:
        """Queue a reply (with a descriptor to pass, closed here once sent); never block on
        pjsh (it may be busy sending us requests). Replies queued while requests are being
        read go out together after them."""
        self.outbox.append((json.dumps(message, separators=(",", ":")).encode(), fd))

    def flush(self) -> None:
        """Send what the socket takes, several replies per datagram (one line each, so pjsh
        wakes once for a burst; passed descriptors in the order of their lines); wait for
        EPOLLOUT for the rest."""
        while self.outbox:
            batch: list[bytes] = []
            passed: list[int] = []
            size = 0
            for data, fd in self.outbox[:_BATCH]:
                if batch and size + len(data) > _BATCH_BYTES:
                    break  # pjsh reads datagrams of up to 64 KiB
                batch.append(data)
                size += len(data) + 1
                if fd >= 0:
                    passed.append(fd)
            try:
                if passed:
                    # What socket.send_fds does (it is 3.9+; the engine runs on 3.8 too).
                    self.sock.sendmsg([b"\n".join(batch)], [(
                        socket.SOL_SOCKET, socket.SCM_RIGHTS,
                        struct.pack(f"{len(passed)}i", *passed))])
                else:
                    self.sock.send(b"\n".join(batch))
            except BlockingIOError:
                break
            except OSError:
                self.closed = True
                break
            for fd in passed:
                os.close(fd)
            del self.outbox[:len(batch)]
        mask = select.EPOLLIN | (select.EPOLLOUT if self.outbox else 0)
        self.poll.modify(self.sock.fileno(), mask)

    def shut_down(self) -> None:
        """pjsh is gone: kill every group whose job had not ended, reap everything, exit."""
        for pgid in self.leaders:
            kill_group(pgid, signal.SIGKILL)
        for fd in self.captures:
            os.close(fd)
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue


def receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One message and its descriptors, received close-on-exec (socket.recv_fds drops its
    flags argument), so a stage inherits only its own three."""
    data, ancillary, _flags, _addr = sock.recvmsg(
        _MAX_MESSAGE, socket.CMSG_SPACE(_MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
    return data, fds


def encode_env(env: object) -> dict[bytes, bytes]:
    """JSON's str mapping (surrogate-escaped like os.environ) back to bytes."""
    assert isinstance(env, dict)
    return {os.fsencode(k): os.fsencode(v) for k, v in env.items()}


def reap(pid: int) -> None:
    """Collect one child's exit status."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _proc_state(pid: int) -> str:
    """The process's state letter from /proc (R, S, D, T, Z...), '' if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return ""


def _vfork_blocked(pid: int) -> bool:
    """True if ``pid`` waits in vfork() for a child that is stopped (the group's SIGSTOP
    caught the child between vfork and exec, as with a shell running ``a; b``): the parent
    cannot stop until the child execs, so it is as stopped as it will get."""
    if _proc_state(pid) != "D":
        return False
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return False
    return any(_proc_state(c) == "T" for c in children)


def _ignore_signal(_signum: int, _frame: object) -> None:
    """A Python-level handler, so the signal reaches the wake-up pipe."""


def kill_group(pgid: int, sig: int) -> None:
    """killpg that never targets our own group (0) or everything (-1)."""
    if pgid > 0:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def main(argv: list[str]) -> int:
    """Serve on the socket whose descriptor number is ``argv[1]``."""
    # Terminal signals are not ours to act on (we are in our own group anyway); pjsh's end of
    # the socket closing is what ends us.
    # Ignoring them here also lets a stage inherit an ignored disposition pjsh asks for (the
    # signals it does not ask for are reset with setsigdef).
    for signum in _IGNORED_HERE:
        signal.signal(signum, signal.SIG_IGN)
    fd = int(argv[1])
    os.set_inheritable(fd, False)  # passed to us inheritable; the jobs must not hold it
    sock = socket.socket(fileno=fd)
    server = Server(sock)
    server.send({"k": 1})  # serving: pjsh may send its jobs here from now on
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
