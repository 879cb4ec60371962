"""The JobManager: a runspace's job table, and the event loop that owns all job I/O.

The interpreter is synchronous; the manager runs one event loop on a daemon thread (started
on first use, so a ``pjsh -c`` that starts no job pays nothing) and drives backends there. The
loop starts as a small selectors loop (``pjsh.runtime.ioloop.IOLoop``), which is all native jobs need, and
becomes an asyncio loop the first time a coroutine must run on it (``loop``, ``call``): a
script's first `&` does not wait for asyncio's import. Its public methods are synchronous
and thread-safe. Waiting is event-driven: waiters register an observer on the jobs and block
on a queue the observers feed, so nothing polls.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pjsh.jobs.model import (
    CANNOT_REMOVE_CHILD,
    CANNOT_REMOVE_RUNNING,
    Job,
    JobBackend,
    JobError,
    JobEvent,
    JobEventKind,
    JobObserver,
    JobState,
    is_finished,
    is_persistent,
)
from pjsh.jobs.storage import DEFAULT_LIMIT, MemoryBudget, OutputStore
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.ioloop import IOLoop

if TYPE_CHECKING:
    import asyncio

__all__ = ["CancelToken", "JobBackend", "JobManager"]

T = TypeVar("T")

# After asking every job to stop at shutdown, how long to wait for them to end.
_SHUTDOWN_WAIT = 10.0


class JobManager:
    """A runspace's jobs: ids, the job table, waiting, stopping, and the I/O loop."""

    def __init__(
        self,
        *,
        output_limit: int = DEFAULT_LIMIT,
        spill_dir: str | None = None,
        output_budget: MemoryBudget | None = None,
        stop_grace: float = 2.0,
        backends: Mapping[str, JobBackend] | None = None,
    ) -> None:
        self.output_limit = output_limit
        # The memory all this manager's stores share (the process's budget by default).
        self.output_budget = output_budget
        self.spill_dir = spill_dir
        # Read by the backends that signal processes (how long SIGTERM gets before SIGKILL).
        self.stop_grace = stop_grace
        self._lock = threading.RLock()
        self._next_id = 1
        self._top: dict[int, Job] = {}
        self._all: dict[int, Job] = {}
        self._subscribers: list[JobObserver] = []
        self._io: IOLoop | None = None
        self._closed = False
        self._shutdown_hooks: list[Callable[[], Awaitable[None] | None]] = []
        # Backends are registered by whoever builds the manager (the job service, a test): the
        # manager drives jobs only through the JobBackend protocol and imports no backend.
        self._backends: dict[str, JobBackend] = {}
        for kind, backend in (backends or {}).items():
            self.register_backend(kind, backend)

    # ---- ids, stores, backends ---------------------------------------------------------------

    def next_id(self) -> int:
        """The next job Id; parents and children share this counter."""
        with self._lock:
            job_id = self._next_id
            self._next_id += 1
            return job_id

    def new_store(self) -> OutputStore:
        """An output store with this manager's memory bound and spill directory."""
        return OutputStore(self.output_limit, self.spill_dir, self.output_budget)

    def register_backend(self, kind: str, backend: JobBackend) -> None:
        """Register the backend for one kind of job ("process", "thread", "worker"…); it is
        closed at shutdown, in registration order. A kind is registered once."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager has been shut down")
            if kind in self._backends:
                raise ValueError(f"a job backend of kind {kind!r} is already registered")
            self._backends[kind] = backend

    def backend(self, kind: str) -> JobBackend:
        """The backend registered for ``kind``; LookupError if there is none."""
        with self._lock:
            found = self._backends.get(kind)
        if found is None:
            raise LookupError(f"no job backend of kind {kind!r} is registered")
        return found

    def backend_kinds(self) -> list[str]:
        """The registered kinds, in registration order."""
        with self._lock:
            return list(self._backends)

    # ---- the event loop ----------------------------------------------------------------------

    @property
    def io(self) -> IOLoop:
        """The manager's I/O loop (readers, writers, timers, callbacks), started on its own
        daemon thread on first use; asyncio is not imported for it."""
        io = self._io
        if io is not None:
            return io
        with self._lock:
            if self._io is None:
                if self._closed:
                    raise RuntimeError("the job manager has been shut down")
                self._io = IOLoop("pjsh-jobs")
            return self._io

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The manager's loop as an asyncio loop (the I/O loop upgraded on first use: asyncio
        is imported then), for coroutines and asyncio's own APIs."""
        return self.io.upgrade()

    def in_loop_thread(self) -> bool:
        """True when called from the manager's own loop thread."""
        io = self._io
        return io is not None and io.in_thread()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and wait for its result (not from the loop thread)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("JobManager.call() from the loop thread would deadlock")
        try:
            loop = self.loop
        except RuntimeError:
            coro.close()
            raise
        import asyncio  # imported by now: the loop is asyncio's

        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        """Schedule a plain callback on the loop from any thread (it may use asyncio: the
        loop is asyncio's by then; a backend that needs only the I/O loop uses ``io``)."""
        self.loop.call_soon_threadsafe(callback, *args)

    # ---- the job table -----------------------------------------------------------------------

    def add(self, job: Job) -> Job:
        """Register a job (and its children) so Get-Job sees it and subscribers hear it."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager has been shut down")
            if job.id in self._all:
                return job
            if job.parent is None:
                self._top[job.id] = job
            for each in _walk(job):
                if each.id not in self._all:
                    self._all[each.id] = each
                    # Output events only reach subscribers (see subscribe).
                    each.add_observer(self._forward, output=bool(self._subscribers))
        return job

    def get(self, job_id: int) -> Job | None:
        """A job or child job by Id."""
        with self._lock:
            return self._all.get(job_id)

    def jobs(self) -> list[Job]:
        """Top-level jobs sorted by Id (what bare Get-Job lists)."""
        with self._lock:
            return sorted(self._top.values(), key=lambda j: j.id)

    def all_jobs(self) -> list[Job]:
        """Every job including children, sorted by Id (children follow their parent)."""
        with self._lock:
            return sorted(self._all.values(), key=lambda j: j.id)

    def remove(self, job: Job, force: bool = False, cancel: CancelToken | None = None) -> None:
        """Forget a top-level job and delete its stored output; a running one needs ``force``
        (which stops it first; a set ``cancel`` gives up waiting for that and leaves the job
        listed). Raises JobError with PowerShell's message otherwise."""
        with self._lock:
            if job.id not in self._top:
                raise JobError(CANNOT_REMOVE_CHILD)
        if not job.is_finished():
            if not force:
                raise JobError(CANNOT_REMOVE_RUNNING.format(job.id))
            if not self.stop(job, wait=True, cancel=cancel):
                return  # the caller stopped waiting: the job stays listed until it ends
        with self._lock:
            self._top.pop(job.id, None)
            for each in _walk(job):
                self._all.pop(each.id, None)
                each.remove_observer(self._forward)
        job.close()

    # ---- events ------------------------------------------------------------------------------

    def subscribe(self, callback: JobObserver) -> Callable[[], None]:
        """Hear every event of every registered job; returns a function that unsubscribes.

        Callbacks run on the thread that produced the event and must be quick.
        """
        with self._lock:
            first = not self._subscribers
            self._subscribers = [*self._subscribers, callback]
            if first:
                # Jobs registered while nobody subscribed left their OUTPUT events out.
                for each in self._all.values():
                    each.remove_observer(self._forward)
                    each.add_observer(self._forward)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s != callback]

        return unsubscribe

    def _forward(self, event: JobEvent) -> None:
        for callback in self._subscribers:
            try:
                callback(event)
            except Exception:
                import logging

                logging.getLogger("pjsh.jobs").exception("job subscriber failed")

    # ---- running, stopping, suspending -------------------------------------------------------

    def start(self, job: Job) -> Job:
        """Register and start a job: a parent becomes Running, then its leaves start."""
        self.add(job)
        if self._closed:
            raise RuntimeError("the job manager has been shut down")
        if job.children and job.state is JobState.NotStarted:
            job.set_state(JobState.Running)
        for leaf in _leaves(job):
            if leaf.state is not JobState.NotStarted:
                continue
            if leaf.backend is None:
                leaf.set_state(JobState.Running)
                continue
            try:
                pending = leaf.backend.start(leaf)
                if pending is not None:
                    self.call(_awaited(pending))
            except Exception as exc:
                # A backend bug must not leave the job hanging in NotStarted forever (unless
                # the backend did end it before raising).
                leaf.failure = exc
                leaf.finish_if_unfinished(JobState.Failed, str(exc) or type(exc).__name__)
        return job

    def stop(self, job: Job, wait: bool = True, timeout: float | None = None,
             cancel: CancelToken | None = None) -> bool:
        """Stop a job and everything under it; with ``wait``, return once it is finished
        (True) or the timeout/cancel came first (False)."""
        if job.is_finished():
            return True
        for each in _walk(job):
            each.stop_requested = True
        for each in _walk(job):
            if each.children:
                # A parent whose last child ends meanwhile is finished: nothing to stop.
                each.begin_stopping()
        leaves = [j for j in _leaves(job) if not j.is_finished()]
        if leaves:
            self.call(self._stop_all(leaves))
        if not wait:
            return job.is_finished()
        return bool(self.wait([job], timeout=timeout, cancel=cancel, force=True))

    async def _stop_all(self, leaves: list[Job]) -> None:
        import asyncio  # running on it

        results = await asyncio.gather(
            *(self._stop_leaf(leaf) for leaf in leaves), return_exceptions=True
        )
        for leaf, result in zip(leaves, results):
            if isinstance(result, Exception) and not leaf.is_finished():
                leaf.failure = result
                leaf.finish_if_unfinished(JobState.Failed, str(result) or type(result).__name__)

    @staticmethod
    async def _stop_leaf(leaf: Job) -> None:
        if leaf.backend is not None:
            await leaf.backend.stop(leaf)
        else:
            leaf.finish_if_unfinished(JobState.Stopped)

    def suspend(self, job: Job) -> None:
        """Suspend every running leaf of a job (SIGSTOP for processes); JobError if the job
        type cannot be suspended."""
        leaves = [j for j in _leaves(job) if not is_persistent(j.state)]
        if leaves:
            self.call(self._suspend_all(leaves))

    def resume(self, job: Job) -> None:
        """Resume every suspended leaf of a job; JobError if the job type cannot."""
        leaves = [j for j in _leaves(job) if j.state is JobState.Suspended]
        if leaves:
            self.call(self._resume_all(leaves))

    @staticmethod
    async def _suspend_all(leaves: list[Job]) -> None:
        for leaf in leaves:
            await _backend_of(leaf, "suspend").suspend(leaf)

    @staticmethod
    async def _resume_all(leaves: list[Job]) -> None:
        for leaf in leaves:
            await _backend_of(leaf, "resume").resume(leaf)

    # ---- waiting -----------------------------------------------------------------------------

    def wait(
        self,
        jobs: Iterable[Job],
        any_: bool = False,
        timeout: float | None = None,
        cancel: CancelToken | None = None,
        force: bool = False,
    ) -> list[Job]:
        """Block until all (or, with ``any_``, one) of ``jobs`` stop running; return them.

        Jobs count as done in a finished state, or also Suspended/Disconnected unless
        ``force`` (Wait-Job -Force). On timeout (seconds; None or negative = forever) or when
        ``cancel`` is set, return [] and leave the jobs alone; setting it wakes the wait at
        once.
        """
        unique = list({id(j): j for j in jobs}.values())
        if not unique:
            return []
        done = is_finished if force else is_persistent
        wake: queue.SimpleQueue[Job | None] = queue.SimpleQueue()

        def observer(event: JobEvent) -> None:
            # Only arrivals in a done state are recorded, so ``order`` is the finishing order.
            if event.kind is JobEventKind.STATE_CHANGED and event.state is not None \
                    and done(event.state.State):
                wake.put(event.job)

        # Waiting for many jobs: re-checking them all on every event would be quadratic, so
        # a cursor skips the prefix already seen done (confirmed again before returning).
        cursor = 0

        def ready(order: list[Job]) -> list[Job] | None:
            nonlocal cursor
            if any_:
                return _wait_result(unique, order, True, done)
            while cursor < len(unique) and done(unique[cursor].state):
                cursor += 1
            if cursor < len(unique):
                return None
            if all(done(j.state) for j in unique):
                return unique
            cursor = 0  # a job left a done state (resumed): look again
            return None

        return self._blocking_wait(unique, observer, wake, timeout, cancel, ready, output=False)

    def wait_for_activity(
        self, jobs: Iterable[Job], timeout: float | None = None,
        cancel: CancelToken | None = None,
    ) -> bool:
        """Block until any of ``jobs`` (or their children) has unread data, or all of them are
        done (finished, Suspended or Disconnected): Receive-Job -Wait's heartbeat. False on
        timeout or cancel."""
        roots = list({id(j): j for j in jobs}.values())
        if not roots:
            return True
        flat = [j for root in roots for j in _walk(root)]
        wake: queue.SimpleQueue[Job | None] = queue.SimpleQueue()

        def observer(event: JobEvent) -> None:
            wake.put(event.job)

        def ready(_order: list[Job]) -> list[Job] | None:
            if any(j.store.has_more for j in flat) or all(is_persistent(j.state) for j in roots):
                return roots
            return None

        return bool(self._blocking_wait(flat, observer, wake, timeout, cancel, ready,
                                        output=True))

    @staticmethod
    def _blocking_wait(
        watched: list[Job],
        observer: JobObserver,
        wake: queue.SimpleQueue[Job | None],
        timeout: float | None,
        cancel: CancelToken | None,
        ready: Callable[[list[Job]], list[Job] | None],
        output: bool,
    ) -> list[Job]:
        # Observers go on before the first check, so no event can slip between check and sleep.
        for job in watched:
            job.add_observer(observer, output=output)
        # The token puts None on the queue: a cancel wakes the wait like a job event would.
        token = cancel.wake(wake) if cancel is not None else None
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        order: list[Job] = []
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    return []
                result = ready(order)
                if result is not None:
                    return result
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                try:
                    item = wake.get(timeout=remaining)
                except queue.Empty:
                    continue
                while True:
                    if item is not None:
                        order.append(item)
                    try:
                        item = wake.get_nowait()
                    except queue.Empty:
                        break
        finally:
            for job in watched:
                job.remove_observer(observer)
            if token is not None and cancel is not None:
                cancel.remove_callback(token)

    # ---- shutdown ----------------------------------------------------------------------------

    def add_shutdown_hook(self, hook: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``hook`` on the loop at shutdown, after the jobs have stopped and before the loop
        ends (a backend's own clean-up, such as killing a spare worker process)."""
        with self._lock:
            self._shutdown_hooks.append(hook)

    async def _run_shutdown_hooks(self, hooks: list[Callable[[], Awaitable[None] | None]],
                                  ) -> None:
        for hook in hooks:
            try:
                pending = hook()
                if pending is not None:
                    await pending
            except Exception:
                import logging

                logging.getLogger("pjsh.jobs").exception("job shutdown hook failed")

    def shutdown(self, timeout: float = _SHUTDOWN_WAIT) -> None:
        """Stop every unfinished job (whole process groups, no orphans), delete all stored
        output and stop the loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            tops = list(self._top.values())
        running = [j for j in tops if not j.is_finished()]
        if running:
            for job in running:
                for each in _walk(job):
                    each.stop_requested = True
                    if each.children:
                        each.begin_stopping()
            leaves = [leaf for job in running for leaf in _leaves(job) if not leaf.is_finished()]
            if leaves:
                self.call(self._stop_all(leaves), timeout)
            self.wait(running, timeout=timeout, force=True)
        with self._lock:
            hooks, self._shutdown_hooks = self._shutdown_hooks, []
        if hooks:
            self.call(self._run_shutdown_hooks(hooks), timeout)
        with self._lock:
            self._closed = True
            io = self._io
            backends = list(self._backends.values())
        for backend in backends:
            try:
                pending = backend.close()
                if pending is None:
                    continue
                if io is None:
                    # The loop never ran, so the backend started nothing that needs it.
                    if isinstance(pending, Coroutine):
                        pending.close()
                    continue
                import asyncio

                asyncio.run_coroutine_threadsafe(_awaited(pending), io.upgrade()).result(timeout)
            except Exception:
                import logging

                logging.getLogger("pjsh.jobs").exception("job backend close failed")
        for job in tops:
            job.close()
        with self._lock:
            self._top.clear()
            self._all.clear()
        if io is not None:
            io.stop()
            if not io.in_thread():
                io.thread.join(timeout)


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


def _backend_of(leaf: Job, operation: str) -> JobBackend:
    if leaf.backend is None:
        raise JobError(f"Job {leaf.id} has no backend to {operation} it.")
    return leaf.backend


def _walk(job: Job) -> list[Job]:
    """The job and all its descendants, parents first."""
    out = [job]
    for child in job.children:
        out.extend(_walk(child))
    return out


def _leaves(job: Job) -> list[Job]:
    """The jobs under ``job`` that a backend drives (the job itself if it has no children)."""
    children = job.children
    if not children:
        return [job]
    return [leaf for child in children for leaf in _leaves(child)]


def _wait_result(
    jobs: list[Job], order: list[Job], any_: bool, done: Callable[[JobState], bool]
) -> list[Job] | None:
    if any_:
        # The first job seen finishing wins; before any event, the first already-done one.
        for job in [*order, *jobs]:
            if done(job.state):
                return [job]
        return None
    if all(done(j.state) for j in jobs):
        return jobs
    return None
