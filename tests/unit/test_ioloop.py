"""The job manager's I/O loop (pjsh/runtime/ioloop.py): what it runs before asyncio exists,
and the upgrade to asyncio that keeps every reader, timer and callback, in order, on the same
thread; and native jobs started before the upgrade, stopped, suspended and received after."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.jobs import process as process_module
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import JobState
from pjsh.jobs.process import NativePipeline, ProcessBackend
from pjsh.jobs.storage import Stream
from pjsh.runtime.ioloop import IOLoop

S = JobState


@pytest.fixture
def io() -> Iterator[IOLoop]:
    loop = IOLoop("test-io")
    yield loop
    loop.stop()
    loop.thread.join(10)
    assert not loop.thread.is_alive()


def on_loop(io: IOLoop, fn: object, *args: object) -> None:
    """Run ``fn(*args)`` on the loop thread and wait for it."""
    done = threading.Event()

    def call() -> None:
        fn(*args)  # type: ignore[operator]
        done.set()

    io.call_soon_threadsafe(call)
    assert done.wait(10)


def test_callbacks_readers_and_timers_run_on_the_loop_thread_in_order(io: IOLoop) -> None:
    seen: list[tuple[str, bool]] = []
    done = threading.Event()
    r, w = os.pipe()

    def note(what: str) -> None:
        seen.append((what, io.in_thread()))
        if what == "late":
            done.set()

    def schedule() -> None:
        io.call_later(0.02, note, "late")
        io.call_later(0.01, note, "early")
        io.call_soon(note, "soon")
        cancelled = io.call_soon(note, "cancelled")
        cancelled.cancel()
        io.add_reader(r, lambda: (note("read"), os.read(r, 1), io.remove_reader(r)))

    on_loop(io, schedule)
    os.write(w, b"x")
    assert done.wait(10)
    assert ("cancelled", True) not in seen
    assert seen[0] == ("soon", True)
    assert [s for s in seen if s[0] != "read"] == [("soon", True), ("early", True),
                                                   ("late", True)]
    assert ("read", True) in seen
    os.close(r)
    os.close(w)


def test_the_upgrade_keeps_pending_callbacks_readers_and_timers_in_order_on_one_thread(
        io: IOLoop) -> None:
    seen: list[str] = []
    threads: set[threading.Thread] = set()
    hold = threading.Event()
    r, w = os.pipe()
    fired = threading.Event()

    def note(what: str) -> None:
        seen.append(what)
        threads.add(threading.current_thread())
        if what == "timer":
            fired.set()

    def setup() -> None:
        io.add_reader(r, lambda: (note("read"), os.read(r, 1)))
        io.call_later(0.05, note, "timer")

    on_loop(io, setup)
    io.call_soon_threadsafe(hold.wait)  # the loop is busy: what follows stays queued
    for name in ("one", "two", "three"):
        io.call_soon_threadsafe(note, name)
    result: list[object] = []
    upgrader = threading.Thread(target=lambda: result.append(io.upgrade()))
    upgrader.start()
    hold.set()
    upgrader.join(10)
    real = result[0]
    assert io.upgraded and io.upgrade() is real
    io.call_soon_threadsafe(note, "after")
    os.write(w, b"x")
    assert fired.wait(10)
    on_loop(io, lambda: None)
    assert seen[:3] == ["one", "two", "three"]  # queued before the upgrade, run first
    assert seen.index("after") > 2 and {"read", "timer"} <= set(seen)
    assert threads == {io.thread}
    import asyncio

    # asyncio's own APIs work on it from now on.
    async def where() -> bool:
        return asyncio.get_running_loop() is real and io.in_thread()

    assert asyncio.run_coroutine_threadsafe(where(), real).result(10)  # type: ignore[arg-type]
    io.remove_reader(r)
    os.close(r)
    os.close(w)


def test_an_upgrade_asked_by_a_callback_hands_the_rest_of_the_queue_to_asyncio(
        io: IOLoop) -> None:
    seen: list[str] = []
    done = threading.Event()

    def first() -> None:
        seen.append("first")
        io.upgrade()  # on the loop thread: at once
        seen.append("upgraded" if io.upgraded else "not")

    def queue() -> None:
        io.call_soon(first)
        io.call_soon(seen.append, "second")
        io.call_soon(done.set)

    on_loop(io, queue)
    assert done.wait(10)
    assert seen == ["first", "upgraded", "second"]


def test_upgrade_after_stop_raises_and_the_thread_ends() -> None:
    io = IOLoop("test-io")
    io.stop()
    io.thread.join(10)
    assert not io.thread.is_alive()
    with pytest.raises(RuntimeError):
        io.upgrade()


# ---- native jobs started before asyncio exists ---------------------------------------------

@pytest.fixture(params=["direct", "spawner"])
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessBackend]:
    if request.param == "spawner" and not process_module.spawner_available():
        pytest.skip("no fork server here")
    monkeypatch.setattr(ProcessBackend, "use_spawner", request.param == "spawner")
    monkeypatch.setattr(ProcessBackend, "direct_until_ready", request.param == "direct")
    manager = JobManager(spill_dir=str(tmp_path / "spill"), stop_grace=0.5)
    backend = ProcessBackend(manager, stop_grace=0.5)
    manager.register_backend("process", backend)
    yield backend
    manager.shutdown()


def fifo_job(backend: ProcessBackend, tmp_path: Path) -> tuple[object, str]:
    """A job that writes "a", then copies a FIFO (so the test decides when it goes on)."""
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    job = backend.start_job(NativePipeline.of(["sh", "-c", f"printf a; cat {fifo}; printf c"]))
    assert backend.manager.wait_for_activity([job], timeout=30)  # "a" is in its store
    return job, fifo


def received(job: object) -> bytes:
    (child,) = job.ChildJobs  # type: ignore[attr-defined]
    return b"".join(child.store.iter_bytes(Stream.Output, consume=True))


def test_a_job_started_on_the_io_loop_keeps_its_output_across_the_upgrade(
        backend: ProcessBackend, tmp_path: Path) -> None:
    job, fifo = fifo_job(backend, tmp_path)
    assert not backend.manager.io.upgraded
    backend.manager.loop  # noqa: B018 - the upgrade, with the job's pipes being read
    assert backend.manager.io.upgraded
    with open(fifo, "wb") as f:
        f.write(b"b")
    assert backend.manager.wait([job], timeout=30) == [job]
    assert job.state is S.Completed  # type: ignore[attr-defined]
    assert received(job) == b"abc"


def test_a_job_started_before_the_upgrade_can_be_suspended_resumed_and_stopped(
        backend: ProcessBackend, tmp_path: Path) -> None:
    job, fifo = fifo_job(backend, tmp_path)
    manager = backend.manager
    assert not manager.io.upgraded
    manager.suspend(job)  # a coroutine: the loop becomes asyncio's under the running job
    assert job.state is S.Suspended  # type: ignore[attr-defined]
    manager.resume(job)
    assert job.state is S.Running  # type: ignore[attr-defined]
    with open(fifo, "wb") as f:
        f.write(b"b")
    assert manager.wait([job], timeout=30) == [job]
    assert received(job) == b"abc" and job.state is S.Completed  # type: ignore[attr-defined]


def test_a_job_started_before_the_upgrade_can_be_stopped(
        backend: ProcessBackend, tmp_path: Path) -> None:
    job, _fifo = fifo_job(backend, tmp_path)
    assert not backend.manager.io.upgraded
    assert backend.manager.stop(job, timeout=10) is True
    assert job.state is S.Stopped  # type: ignore[attr-defined]
    assert received(job) == b"a"
