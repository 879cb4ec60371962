"""The job manager's I/O loop: a small selectors loop that becomes asyncio when asked.

Importing asyncio costs 70-90 ms on this VM (it pulls in ssl, logging, inspect and
concurrent.futures), which was almost all of what a script's first `&` cost. Native jobs need
none of it: their backend (``pjsh/jobs/process.py``) only registers readers and writers, calls
callbacks and sets timers. So the manager's loop thread starts as this loop, and the first
thing that needs asyncio itself (a coroutine: Stop-Job, Suspend-Job, a worker or thread job)
*upgrades* it: on the loop's own thread, between two callbacks, every reader, writer, timer and
pending callback it holds moves to a new asyncio loop, in order, and that loop runs from then
on. Nothing is lost or reordered, and callbacks always run on the same thread, before and after.

``IOLoop`` stays the façade: after the upgrade its methods forward to the asyncio loop, so a
callback that kept a reference to it (a pipe's reader) goes on working unchanged.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

__all__ = ["Handle", "IOLoop"]


class Handle:
    """A callback scheduled on an IOLoop (soon, at a time, or on an fd's readiness); after the
    upgrade it is run by asyncio, and cancelling it cancels asyncio's handle too."""

    __slots__ = ("_args", "_callback", "_cancelled", "_real")

    def __init__(self, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._real: asyncio.Handle | None = None

    def cancel(self) -> None:
        """Call it off (a no-op once it has run)."""
        self._cancelled = True
        real = self._real
        if real is not None:
            real.cancel()

    def cancelled(self) -> bool:
        """True once cancelled."""
        return self._cancelled

    def _run(self) -> None:
        if self._cancelled:
            return
        try:
            self._callback(*self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            _report(self._callback)


def _report(callback: object) -> None:
    import logging  # only when a callback fails

    logging.getLogger("pjsh.jobs").exception("job I/O callback %r failed", callback)


class IOLoop:
    """Readers, writers, timers and callbacks on a daemon thread of its own (started at
    construction); ``upgrade()`` turns it into an asyncio loop on that same thread."""

    def __init__(self, name: str) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._masks: dict[int, int] = {}  # fd -> the events registered for it
        self._readers: dict[int, Handle] = {}
        self._writers: dict[int, Handle] = {}
        self._ready: deque[Handle] = deque()
        self._timers: list[tuple[float, int, Handle]] = []
        self._order = itertools.count()  # timers due at the same time run in call order
        # Guards what other threads touch: the ready queue, the wake-up pipe, the flags.
        self._lock = threading.Lock()
        self._woken = False  # a byte is in the wake-up pipe, not yet drained
        self._stopping = False
        self._want_upgrade = False
        self._asyncio: asyncio.AbstractEventLoop | None = None
        self._ended = threading.Event()  # upgraded (or stopped without): upgrade() may return
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    # ---- what the backends call (on the loop thread, except the *_threadsafe ones) -----------

    def time(self) -> float:
        """The loop's clock (asyncio's: ``time.monotonic``)."""
        return time.monotonic()

    def call_soon(self, callback: Callable[..., object], *args: object) -> Handle:
        """Run ``callback(*args)`` on the next iteration (from the loop thread)."""
        handle = Handle(callback, args)
        real = self._asyncio
        if real is not None:
            handle._real = real.call_soon(handle._run)
        else:
            self._ready.append(handle)
        return handle

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: object) -> Handle:
        """Run ``callback(*args)`` on the loop thread soon; from any thread."""
        handle = Handle(callback, args)
        with self._lock:
            real = self._asyncio
            if real is None:
                self._ready.append(handle)
                self._wake()
                return handle
        handle._real = real.call_soon_threadsafe(handle._run)
        return handle

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> Handle:
        """Run ``callback(*args)`` after ``delay`` seconds (from the loop thread)."""
        return self.call_at(time.monotonic() + delay, callback, *args)

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> Handle:
        """Run ``callback(*args)`` at ``when`` on the loop's clock (from the loop thread)."""
        handle = Handle(callback, args)
        real = self._asyncio
        if real is not None:
            handle._real = real.call_at(when, handle._run)
        else:
            heapq.heappush(self._timers, (when, next(self._order), handle))
        return handle

    def add_reader(self, fd: int, callback: Callable[..., object], *args: object) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable (replaces its reader)."""
        self._add(fd, self._readers, selectors.EVENT_READ, callback, args)

    def add_writer(self, fd: int, callback: Callable[..., object], *args: object) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is writable (replaces its writer)."""
        self._add(fd, self._writers, selectors.EVENT_WRITE, callback, args)

    def remove_reader(self, fd: int) -> bool:
        """Stop watching ``fd`` for reading; True if it was watched."""
        real = self._asyncio
        if real is not None:
            return real.remove_reader(fd)
        return self._remove(fd, self._readers, selectors.EVENT_READ)

    def remove_writer(self, fd: int) -> bool:
        """Stop watching ``fd`` for writing; True if it was watched."""
        real = self._asyncio
        if real is not None:
            return real.remove_writer(fd)
        return self._remove(fd, self._writers, selectors.EVENT_WRITE)

    def _add(self, fd: int, table: dict[int, Handle], event: int,
             callback: Callable[..., object], args: tuple[object, ...]) -> None:
        real = self._asyncio
        if real is not None:
            if event == selectors.EVENT_READ:
                real.add_reader(fd, callback, *args)
            else:
                real.add_writer(fd, callback, *args)
            return
        old = table.get(fd)
        if old is not None:
            old.cancel()
        table[fd] = Handle(callback, args)
        self._update(fd, self._masks.get(fd, 0) | event)

    def _remove(self, fd: int, table: dict[int, Handle], event: int) -> bool:
        handle = table.pop(fd, None)
        if handle is None:
            return False
        handle.cancel()
        self._update(fd, self._masks.get(fd, 0) & ~event)
        return True

    def _update(self, fd: int, mask: int) -> None:
        old = self._masks.get(fd, 0)
        if mask == old:
            return
        if not mask:
            del self._masks[fd]
            self._selector.unregister(fd)
        elif not old:
            self._selector.register(fd, mask)
            self._masks[fd] = mask
        else:
            self._selector.modify(fd, mask)
            self._masks[fd] = mask

    # ---- control (any thread) ----------------------------------------------------------------

    def in_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self.thread

    @property
    def upgraded(self) -> bool:
        """True once asyncio runs the loop thread."""
        return self._asyncio is not None

    def upgrade(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop that runs this thread from now on, made (asyncio imported) on
        first call. From another thread this waits until the loop thread has handed its work
        over; on the loop thread it hands over at once (the rest of the current iteration's
        callbacks then run under asyncio). RuntimeError once the loop has stopped."""
        real = self._asyncio
        if real is not None:
            return real
        if self.in_thread():
            return self._hand_over()
        with self._lock:
            if self._asyncio is None and not self._stopping:
                self._want_upgrade = True
                self._wake()
        self._ended.wait()
        real = self._asyncio
        if real is None:
            raise RuntimeError("the job manager's loop has stopped")
        return real

    def stop(self) -> None:
        """End the loop (asyncio's, once upgraded) after the callbacks already due; the
        thread then ends. From any thread."""
        with self._lock:
            real = self._asyncio
            if real is None:
                self._stopping = True
                self._wake()
                return
        real.call_soon_threadsafe(real.stop)

    def _wake(self) -> None:
        # Under the lock: the pipe is closed under it too, so no write lands on a reused fd.
        if not self._woken and self._wake_w >= 0:
            self._woken = True
            try:
                os.write(self._wake_w, b"\0")
            except BlockingIOError:
                pass  # full: the loop is woken anyway

    # ---- the loop ----------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while self._asyncio is None:
                if self._want_upgrade:
                    self._hand_over()
                    break
                if self._stopping:
                    break
                self._run_once()
        finally:
            with self._lock:
                real = self._asyncio
                if real is None:
                    self._close()
            self._ended.set()
        if real is not None:
            from pjsh.runtime.loopthread import run_loop

            if self._stopping:
                real.call_soon(real.stop)
            run_loop(real)

    def _run_once(self) -> None:
        ready = self._ready
        timers = self._timers
        if ready:
            timeout: float | None = 0.0
        elif timers:
            timeout = max(0.0, timers[0][0] - time.monotonic())
        else:
            timeout = None
        events = self._selector.select(timeout)
        for key, mask in events:
            fd = key.fd
            if fd == self._wake_r:
                try:
                    while os.read(fd, 4096):
                        pass
                except BlockingIOError:
                    pass
                with self._lock:
                    self._woken = False
                continue
            if mask & selectors.EVENT_READ:
                handle = self._readers.get(fd)
                if handle is not None:
                    ready.append(handle)
            if mask & selectors.EVENT_WRITE:
                handle = self._writers.get(fd)
                if handle is not None:
                    ready.append(handle)
        if timers:
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                ready.append(heapq.heappop(timers)[2])
        # Only what is due now: callbacks scheduled by these run on the next iteration.
        for _ in range(len(ready)):
            if self._asyncio is not None or not ready:
                return  # handed over to asyncio meanwhile, with the rest of the queue
            ready.popleft()._run()

    def _hand_over(self) -> asyncio.AbstractEventLoop:
        """On the loop thread: move everything to a new asyncio loop, in order."""
        import asyncio

        real = asyncio.new_event_loop()
        asyncio.set_event_loop(real)
        for fd, handle in self._readers.items():
            real.add_reader(fd, handle._run)
        for fd, handle in self._writers.items():
            real.add_writer(fd, handle._run)
        self._readers.clear()
        self._writers.clear()
        for when, _order, handle in sorted(self._timers):
            if not handle._cancelled:
                handle._real = real.call_at(when, handle._run)
        self._timers.clear()
        with self._lock:
            # Under the lock: a callback another thread queues from now on goes to asyncio,
            # after these.
            while self._ready:
                handle = self._ready.popleft()
                if not handle._cancelled:
                    handle._real = real.call_soon(handle._run)
            self._asyncio = real
            self._close()
        self._ended.set()
        return real

    def _close(self) -> None:
        """Release the selector and the wake-up pipe (under the lock, or once alone)."""
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
