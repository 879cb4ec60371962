"""pjsh's end of the fork server (``pjsh/jobs/spawner.py``), kept light: the first `&` starts
the server through here *before* the job engine (asyncio and all) is imported, so the server's
own start-up overlaps that import instead of following it.

The process backend (``pjsh/jobs/process.py``) owns the servers and their runs; this module only
knows how to start one, talk to it, and hand a pre-started one over.
"""

from __future__ import annotations

import array
import contextlib
import errno
import functools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pjsh.runtime.posix import spawner_available

if TYPE_CHECKING:
    import asyncio

    from pjsh.jobs.model import Job
    from pjsh.jobs.process import _Run

# The server runs this file as a script (never imported into pjsh).
_SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spawner.py")
_prestarted: SpawnerClient | None = None
_BATCH_COUNT = 64  # queued messages sent together at most…
_BATCH_BYTES = 16384  # …and their bytes (far below any socket's message limit)
_HOLD_AT_MOST = 4096  # a larger request is never queued: it goes at once, alone
_prestart_lock = threading.Lock()


def prestart() -> None:
    """Start a fork server now, for the first native job to take (see take_prestarted);
    nothing where none can run or one is already waiting."""
    global _prestarted
    if not spawner_available():
        return
    with _prestart_lock:
        if _prestarted is None:
            with contextlib.suppress(OSError):
                _prestarted = SpawnerClient()


def prestarted() -> bool:
    """True while a server prestart() started waits to be taken."""
    return _prestarted is not None


def take_prestarted() -> SpawnerClient | None:
    """The server prestart() started, if it is still there; the caller owns it from now on."""
    global _prestarted
    with _prestart_lock:
        client, _prestarted = _prestarted, None
    if client is not None and client.process.poll() is not None:
        client.sock.close()
        return None
    return client


class RequestTooLarge(OSError):
    """A request the socket cannot carry in one message (the job starts without a server)."""


class SpawnerBusy(OSError):
    """The server's socket has no room now (the job starts without a server)."""


class SpawnerClient:
    """pjsh's end of the fork server: the helper process and the socket to it."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        kwargs: dict[str, Any] = {}
        if sys.version_info >= (3, 11):
            kwargs["process_group"] = 0  # Ctrl+C and Ctrl+Z at the terminal are not for it
        else:  # pragma: no cover - Python 3.10
            kwargs["preexec_fn"] = functools.partial(os.setpgid, 0, 0)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", _SERVER_SCRIPT,
                 str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, close_fds=True, **kwargs,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.closing = False
        self.lost = False  # its end closed; set under the backend's lock
        # It has said it is serving (its first message): until then a job that cannot wait
        # for its start-up starts directly (see ProcessBackend.direct_until_ready).
        self.ready = False
        self.awaiting_room = False  # the loop waits for its socket to be writable (loop only)
        # Its runs, guarded by the backend's lock: request id -> run awaiting pids, served
        # pid -> run until exit, pgid -> run until the leader is reaped; and the pgids to
        # release, sent once per loop iteration.
        self.requests: dict[int, tuple[Job, _Run]] = {}
        self.by_pid: dict[int, tuple[Job, _Run]] = {}
        self.releasing: dict[int, tuple[Job, _Run]] = {}
        self.releases: list[int] = []
        self.captures: dict[int, tuple[Job, _Run]] = {}  # pgid -> run, while pipes are held
        # pgid -> the suspend waiting for the server to confirm its stages stopped (loop only)
        self.stop_confirms: dict[int, asyncio.Future[None]] = {}
        self._send_lock = threading.Lock()
        # The environment the server uses for a request without one ("e": null), as last sent
        # ("E"): os.environ's raw bytes when it came from there, else the job's own mapping.
        self._default: object = None
        # Start requests sent and not yet answered with their pids; and the messages without
        # descriptors not yet sent, in order, each marked whether it is a start request:
        # held while the server owes a reply (see submit), or waiting for room in the socket.
        # All guarded by the send lock.
        self.in_flight = 0
        self._queue: list[tuple[bytes, bool]] = []
        self._batch_bytes = _BATCH_BYTES  # smaller should the socket refuse a batch

    def _encode(self, message: dict[str, object],
                env: Mapping[str, str] | None) -> tuple[bytes, object]:
        """A request's bytes, and the server's default environment once it has them. The
        environment (``env``, or pjsh's own when None) travels only when it differs from
        the last one sent: every `&` job passes the session's, nearly always the same. The
        caller records the new default only once the request is sent (or queued in order)."""
        default = self._default
        if "s" in message:
            if env is None:
                raw = getattr(os.environ, "_data", None)
                if raw is None or raw != default:
                    message["E"] = dict(os.environ)
                    default = None if raw is None else dict(raw)
            elif env != default:
                message["E"] = dict(env)
                default = dict(env)
            message["e"] = None
        data = json.dumps(message, separators=(",", ":")).encode("utf-8", "surrogatepass")
        return data, default

    def _send_now(self, data: bytes, fds: list[int]) -> bool:
        """Send one message without blocking; False when the socket has no room for it.

        pjsh never waits on a server: one blocked in an exec (a hung network file system)
        must not stall the job engine's loop, nor the shell."""
        # sendmsg itself: socket.send_fds drops its flags argument (Python 3.11), so it
        # would block.
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        try:
            self.sock.sendmsg([data], ancillary, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EMSGSIZE, errno.ENOBUFS):
                # Larger than the socket takes (a huge argv): the server is fine, this one
                # job is not for it.
                raise RequestTooLarge(str(exc)) from exc
            raise
        return True

    def send(self, message: dict[str, object], fds: list[int], *,
             env: Mapping[str, str] | None = None) -> None:
        """Send one message now, after everything queued before it (which must reach the
        server first). SpawnerBusy if the socket has no room for them now, RequestTooLarge
        if it cannot carry this one at all: either way the job starts without a server.
        Other OSErrors mean the server is gone."""
        with self._send_lock:
            data, default = self._encode(message, env)
            self._send_in_order(data, fds, default, "s" in message)

    def _send_in_order(self, data: bytes, fds: list[int], default: object,
                       start: bool) -> None:
        """Send the queue, then this message, now (SpawnerBusy if they do not all fit)."""
        if not self._flush() or not self._send_now(data, fds):
            raise SpawnerBusy("the process spawner is busy")
        self._default = default
        if start:
            self.in_flight += 1

    def submit(self, message: dict[str, object], *,
               env: Mapping[str, str] | None = None) -> bool:
        """Send a start request that passes no descriptors, or hold it while the server
        still owes the reply to an earlier one: the loop thread sends what is held, in one
        message, when that reply comes (flush). A burst of `&` jobs then costs pjsh's main
        thread no system call per job, and the server one read per burst of them. A large
        request goes at once, as with send (and raises like it). True when what is queued
        must be sent once the socket has room (the caller arranges for flush then)."""
        with self._send_lock:
            data, default = self._encode(message, env)
            if len(data) > _HOLD_AT_MOST:
                self._send_in_order(data, [], default, True)
                return False
            held = bool(self.in_flight or self._queue)
            if held or not self._send_now(data, []):
                self._queue.append((data, True))
                self._default = default  # queued requests go out in this order
                return not self.in_flight  # no reply is coming to trigger the flush
            self._default = default
            self.in_flight += 1
            return False

    def post(self, message: dict[str, object]) -> bool:
        """Queue a message that is not a start request (a release) behind the others and
        send what the socket takes; True when some must wait for room (see submit)."""
        data = json.dumps(message, separators=(",", ":")).encode()
        with self._send_lock:
            self._queue.append((data, False))
            return not self._flush()

    def answered(self) -> None:
        """The server replied to a start request (on the loop thread, per reply)."""
        with self._send_lock:
            self.in_flight -= 1

    def flush(self) -> bool:
        """Send what is queued, as far as the socket takes it without waiting; True when
        something is left (then call again once the socket is writable)."""
        with self._send_lock:
            return not self._flush()

    def drop_queue(self) -> None:
        """Forget what is queued (the server is gone)."""
        with self._send_lock:
            self._queue.clear()

    def _flush(self) -> bool:
        """Send the queue in messages of several lines; True once it is empty."""
        queue = self._queue
        while queue:
            count, size = 0, 0
            for data, _start in queue[:_BATCH_COUNT]:
                if count and size + len(data) > self._batch_bytes:
                    break
                count += 1
                size += len(data) + 1
            try:
                if not self._send_now(b"\n".join(data for data, _ in queue[:count]), []):
                    return False
            except RequestTooLarge:
                if count == 1:
                    raise  # not with queued messages of at most _HOLD_AT_MOST bytes
                # A socket with tiny buffers: smaller batches from now on, down to one.
                self._batch_bytes = max(len(queue[0][0]), size // 2)
                continue
            self.in_flight += sum(1 for _data, start in queue[:count] if start)
            del queue[:count]
        return True

    def close(self, idle: bool = False) -> None:
        """Close our end (the server then ends every group still running) and reap it.
        ``idle``: every job it started has ended and been seen ending, so it has nothing
        left to do but exit: it is killed instead of waited for (its Python teardown, or
        the rest of its start-up, is not worth waiting for when pjsh leaves)."""
        self.closing = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        if idle:
            with contextlib.suppress(OSError):
                self.process.kill()
            self.process.wait()
            return
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
