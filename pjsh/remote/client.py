"""The client end of the remote engine protocol (see ``pjsh.remote.agent`` for the messages).

A :class:`RemoteEngine` is one engine serving one runspace on a host, reached over one channel
(an SSH exec channel; a local pipe in tests). It multiplexes requests by id: each
:class:`Request` collects its messages on a queue that the caller's thread drains, so records,
host calls and the end of a request arrive in the order the engine sent them. The channel's
reader (the SSH pool's loop thread) only splits lines and routes them; it never blocks.

A channel that dies ends every pending request with a "connection lost" reason, so nothing
waits forever on a dead host.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from pjsh.remote.bundle import Bundle
from pjsh.runtime.cancel import CancelToken

# A message that ends a request (the engine's own, or made up when the channel died).
Message = dict[str, Any]


class EngineStartError(Exception):
    """The remote engine could not be started (no suitable python3, a bad bundle...)."""

    def __init__(self, message: str, reason: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # "nopython", "bundle", "closed"
        self.detail = detail  # for "nopython": what was found


class Request:
    """One request's messages, in order; ``done`` holds the final message once it came."""

    def __init__(self, engine: RemoteEngine, request_id: int) -> None:
        self.engine = engine
        self.id = request_id
        self.queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self.done: Message | None = None
        self.cancelled = False

    def cancel(self) -> None:
        """Ask the engine to stop this request (it still ends with its ``done`` message)."""
        if not self.cancelled and self.done is None:
            self.cancelled = True
            self.engine.send({"id": self.id, "op": "cancel"})

    def messages(self, token: CancelToken | None = None) -> Iterator[Message]:
        """The request's messages up to and including its end; a set ``token`` sends a
        cancel once and goes on reading until the engine says the request ended."""
        wake = token.wake(self.queue) if token is not None else None
        try:
            while True:
                if token is not None and token.is_set() and not self.cancelled:
                    self.cancel()
                message = self.queue.get()
                if message is None:
                    continue  # the token woke us
                yield message
                if message.get("done"):
                    return
        finally:
            if wake is not None and token is not None:
                token.remove_callback(wake)


class ChannelIO(Protocol):
    """The engine's channel, seen from the client: thread-safe writes and a close."""

    def write(self, data: bytes) -> None:
        """Send bytes to the engine's stdin (from any thread, in call order)."""

    def close(self) -> None:
        """End the engine's stdin and close the channel."""


class RemoteEngine:
    """The engine on a host: a ready handshake, then requests multiplexed over one channel."""

    def __init__(self, name: str, io: ChannelIO) -> None:
        self.name = name  # the host as the user named it
        self.io = io
        self._write = io.write
        self.closing = False
        self.watcher: object = None  # the task that notices the channel's end
        self._ready_callbacks: list[Callable[[], None]] = []
        self._buffer = b""
        self._ids = itertools.count(1)
        self._requests: dict[int, Request] = {}
        self._lock = threading.Lock()
        self.info: Message = {}  # the engine's ready message (user, home, cwd, python)
        self.notes: list[Message] = []  # handshake lines before ready ("old" pythons...)
        self.ready = threading.Event()
        self.start_error: EngineStartError | None = None
        self.lost_reason: str | None = None
        self._bundle: Bundle | None = None
        self.on_handshake: Callable[[Message], None] | None = None

    # ---- incoming (the channel's reader thread) ----------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes from the engine's stdout: complete lines are routed."""
        self._buffer += data
        if b"\n" not in self._buffer:
            return
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line:
                self._route(line)

    def _route(self, line: bytes) -> None:
        try:
            message = json.loads(line.decode("utf-8", "surrogateescape"))
        except ValueError:
            return  # a stray line of a login script: not ours
        if not isinstance(message, dict):
            return
        if not self.ready.is_set():
            self._handshake(message)
            return
        request = self._requests.get(message.get("id", 0))
        if request is None:
            return
        if message.get("done"):
            request.done = message
            with self._lock:
                self._requests.pop(request.id, None)
        request.queue.put(message)

    def _handshake(self, message: Message) -> None:
        if not message.get("ready"):
            self.notes.append(message)
        if message.get("ready"):
            self.info = message
            self._set_ready()
        elif message.get("need") == "bundle" and self._bundle is not None:
            data = self._bundle.data
            self._write(b"%d\n" % len(data) + data)
        elif message.get("nopython"):
            olds = [n for n in self.notes if "old" in n]
            found = ", ".join(f"{n.get('exe')} is {n.get('old')}" for n in olds)
            detail = (f"only older ones were found ({found})" if found else
                      "none was found")
            self.fail_start(EngineStartError(
                f"[{self.name}] pjsh needs python3 3.8 or later on the host to run its engine "
                f"({detail}). Native commands with literal arguments still run there.",
                "nopython", detail))
        elif message.get("bad"):
            self.fail_start(EngineStartError(
                f"[{self.name}] the engine bundle arrived damaged (its hash did not match).",
                "bundle"))
        if self.on_handshake is not None:
            self.on_handshake(message)

    def fail_start(self, error: EngineStartError) -> None:
        """The engine will not come: wake whoever waits for it."""
        if not self.ready.is_set():
            self.start_error = error
            self._set_ready()

    def _set_ready(self) -> None:
        self.ready.set()
        with self._lock:
            callbacks, self._ready_callbacks = self._ready_callbacks, []
        for callback in callbacks:
            callback()

    def add_ready_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the engine is ready or failed to start (now if it is)."""
        with self._lock:
            if not self.ready.is_set():
                self._ready_callbacks.append(callback)
                return
        callback()

    def lost(self, reason: str) -> None:
        """The channel ended: every pending request ends with the reason."""
        if self.lost_reason is None:
            self.lost_reason = reason
        self.fail_start(EngineStartError(f"[{self.name}] {reason}", "closed"))
        with self._lock:
            pending = list(self._requests.values())
            self._requests.clear()
        for request in pending:
            done: Message = {"id": request.id, "done": True, "ok": False, "reason": reason,
                             "lost": True}
            request.done = done
            request.queue.put(done)

    # ---- outgoing ------------------------------------------------------------------------------

    def offer(self, bundle: Bundle) -> None:
        """The bundle to upload if the host asks for it."""
        self._bundle = bundle

    def send(self, message: Message) -> None:
        """Send one message (from any thread)."""
        self._write(json.dumps(message, separators=(",", ":")).encode("utf-8",
                                                                      "surrogateescape") + b"\n")

    def request(self, op: str, **fields: object) -> Request:
        """Start a request; read its messages with :meth:`Request.messages`."""
        request = Request(self, next(self._ids))
        if self.lost_reason is not None:
            request.done = {"id": request.id, "done": True, "ok": False,
                            "reason": self.lost_reason, "lost": True}
            request.queue.put(request.done)
            return request
        with self._lock:
            self._requests[request.id] = request
        self.send({"id": request.id, "op": op, **fields})
        return request

    def reply(self, call: int, value: object = None, error: str | None = None,
              error_id: str | None = None) -> None:
        """Answer a host call."""
        message: Message = {"op": "reply", "call": call}
        if error is not None:
            message["err"] = error
            if error_id:
                message["eid"] = error_id
        else:
            message["v"] = value
        self.send(message)

    @property
    def alive(self) -> bool:
        """True while the channel is up and the engine started."""
        return self.lost_reason is None and self.start_error is None and self.ready.is_set()

    def close(self) -> None:
        """Ask the engine to end (it stops its jobs) and close the channel."""
        if self.closing:
            return
        self.closing = True
        if self.lost_reason is None:
            try:
                self.send({"op": "close"})
            except Exception:  # the channel may already be gone
                pass
        self.io.close()
