"""The cancellation token: one type for "stop what you are doing" across pjsh.

The interpreter's stop request (Ctrl+C, a stop of the pipeline), Stop-Job on a thread job and
every blocking wait (Wait-Job, Receive-Job -Wait, Stop-Job, Start-Sleep, Get-Content -Wait,
the job manager's waits) use a :class:`CancelToken`, so a stop wakes a blocked wait at once
instead of being noticed by a poll.

``set()`` is safe to call from a signal handler (and from any thread): it assigns a flag and
puts a marker on each waiter's ``queue.SimpleQueue``, whose ``put`` is reentrant by design;
it takes no lock that the interrupted thread could be holding. Callbacks added with
:meth:`CancelToken.add_callback` run in the thread that calls ``set()``, so they must be quick
and, where a signal handler sets the token, signal-safe themselves.
"""

from __future__ import annotations

import itertools
import queue
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CancelToken:
    """A cancel flag that wakes every wait using it the moment it is set."""

    def __init__(self) -> None:
        self._set = False
        self._callbacks: dict[int, Callable[[], None]] = {}
        # Run before a wait on this token blocks (see before_blocking).
        self._idle: dict[int, Callable[[], None]] = {}
        self._waiters: dict[int, queue.SimpleQueue[None]] = {}
        # itertools.count's next() is atomic under the GIL: ids need no lock.
        self._ids = itertools.count()

    def is_set(self) -> bool:
        """True once cancellation was requested (until clear())."""
        return self._set

    def set(self) -> None:
        """Request cancellation: wake every waiter, run the callbacks (signal-safe)."""
        self._set = True
        for waiter in list(self._waiters.values()):
            waiter.put(None)
        for callback in list(self._callbacks.values()):
            callback()

    def clear(self) -> None:
        """Withdraw the request (the interpreter does, to run a ``finally`` block)."""
        self._set = False

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the token is set or ``timeout`` seconds passed; True if set."""
        if self._set:
            return True
        if timeout is not None and timeout <= 0:
            return False
        self.before_blocking()
        waiter: queue.SimpleQueue[None] = queue.SimpleQueue()
        key = next(self._ids)
        self._waiters[key] = waiter
        try:
            if self._set:  # set between the first check and registering: no put reached us
                return True
            try:
                waiter.get(timeout=timeout)
            except queue.Empty:
                pass
            return self._set
        finally:
            del self._waiters[key]

    def add_callback(self, callback: Callable[[], None]) -> int:
        """Run ``callback`` whenever the token is set; returns an id for remove_callback."""
        key = next(self._ids)
        self._callbacks[key] = callback
        return key

    def remove_callback(self, key: int) -> None:
        """Forget a callback added with add_callback."""
        self._callbacks.pop(key, None)

    def wake(self, waiter: queue.SimpleQueue[T | None]) -> int:
        """Have ``set()`` put None on ``waiter`` (a wait that also waits for other things,
        such as job events, on the same queue); returns an id for remove_callback."""
        return self.add_callback(lambda: waiter.put(None))

    def add_idle(self, callback: Callable[[], None]) -> int:
        """Run ``callback`` each time a wait on this token is about to block (a pipeline's
        producer going idle: a native fed in batches gets what is buffered); returns an id
        for remove_idle."""
        key = next(self._ids)
        self._idle[key] = callback
        return key

    def remove_idle(self, key: int) -> None:
        """Forget a callback added with add_idle."""
        self._idle.pop(key, None)

    def before_blocking(self) -> None:
        """Run the idle callbacks: the caller is about to block (a wait that does not go
        through :meth:`wait`, such as Receive-Job -Wait, calls it itself)."""
        for callback in list(self._idle.values()):
            callback()
