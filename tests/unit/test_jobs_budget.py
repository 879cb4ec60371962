"""The memory budget all job output stores share, and the batched spill of objects: memory
stays within the budget by the stores' own accounting, and nothing is lost or reordered."""

from __future__ import annotations

import errno
import os
import random
import stat
from pathlib import Path

import pytest

from pjsh.jobs import storage
from pjsh.jobs.storage import MemoryBudget, OutputStore, Stream, parse_size


@pytest.fixture
def spill_dir(tmp_path: Path) -> str:
    return str(tmp_path / "spill")


def _value(rng: random.Random, i: int) -> object:
    kind = rng.randrange(4)
    if kind == 0:
        return f"line {i} " + "x" * rng.randrange(200)
    if kind == 1:
        return i
    if kind == 2:
        return {"n": i, "s": str(i)}
    return bytes([i % 256]) * rng.randrange(1, 3000)


def _append(store: OutputStore, stream: Stream, value: object) -> None:
    if isinstance(value, bytes):
        store.append_bytes(stream, value)
    else:
        store.append_object(stream, value)


def _records(store: OutputStore, consume: bool = True) -> list[tuple[Stream, object]]:
    return [(r.stream, r.value) for r in store.iter_records(consume=consume)]


def test_many_stores_stay_within_the_budget_and_keep_every_record_in_order(
        spill_dir: str) -> None:
    limit = 64 * 1024
    budget = MemoryBudget(limit, step=1)  # exact accounting: every change is told at once
    rng = random.Random(8)
    stores = [OutputStore(limit=16 * 1024, spill_dir=spill_dir, budget=budget)
              for _ in range(60)]
    expected: list[list[tuple[Stream, object]]] = [[] for _ in stores]
    for i in range(3000):
        k = rng.randrange(len(stores))
        stream = Stream.Output if rng.random() < 0.8 else Stream.Error
        value = _value(rng, i)
        _append(stores[k], stream, value)
        expected[k].append((stream, value))
        # The stores' own accounting: the total they hold never passes the budget.
        held = sum(s.charged_bytes for s in stores)
        assert held == budget.used <= limit
    assert budget.peak <= limit + 3000 + 1024  # at most one record over, before rebalancing
    assert sum(s.disk_bytes > 0 for s in stores) > 30  # the budget made most of them spill
    for store, want in zip(stores, expected, strict=True):
        assert _records(store, consume=False) == want  # -Keep
        assert _records(store) == want
        assert not store.has_more
        store.close()
    assert budget.used == 0


def test_the_oldest_holder_is_evicted_first(spill_dir: str) -> None:
    budget = MemoryBudget(10_000, step=1)
    old = OutputStore(spill_dir=spill_dir, budget=budget)
    new = OutputStore(spill_dir=spill_dir, budget=budget)
    old.append_bytes(Stream.Output, b"o" * 6000)
    new.append_bytes(Stream.Output, b"n" * 3000)
    new.append_bytes(Stream.Output, b"m" * 3000)  # over: the oldest holder goes to disk
    assert old.memory_bytes == 0 and old.disk_bytes > 6000
    assert new.memory_bytes == 6000 and new.disk_bytes == 0
    old.append_bytes(Stream.Output, b"p")  # after its records, on disk
    assert b"".join(old.iter_bytes()) == b"o" * 6000 + b"p"
    assert b"".join(new.iter_bytes()) == b"n" * 3000 + b"m" * 3000
    # Fully read: the file starts over and memory is used again.
    old.append_bytes(Stream.Output, b"q")
    assert old.disk_bytes == 0 and old.memory_bytes == 1


def test_evicting_memory_ahead_of_records_already_on_disk_keeps_their_order(
        spill_dir: str) -> None:
    budget = MemoryBudget(1 << 30, step=1)
    store = OutputStore(limit=100, spill_dir=spill_dir, budget=budget)
    store.append_object(Stream.Output, "in memory")  # 59 bytes by the store's estimate
    store.append_object(Stream.Output, "past the store's own bound: on disk")
    store.append_object(Stream.Error, 7)
    assert store.memory_bytes > 0 and store.disk_bytes > 0
    assert [v for _, v in _records(store, consume=False)][:1] == ["in memory"]
    assert store.evict() > 0
    assert store.memory_bytes == 0
    store.append_object(Stream.Output, "after")
    got = _records(store, consume=False)
    assert [v for _, v in got] == ["in memory", "past the store's own bound: on disk", 7,
                                   "after"]
    assert [v for _, v in _records(store, consume=True)][:2] == [
        "in memory", "past the store's own bound: on disk"]
    assert not store.has_more


def test_spilled_objects_are_written_in_blocks_in_order(
        spill_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = storage._write_all

    def counting(fd: int, header: bytes, payload: bytes | bytearray | memoryview,
                 offset: int) -> None:
        calls.append(len(header) + len(payload))
        real(fd, header, payload, offset)

    monkeypatch.setattr(storage, "_write_all", counting)
    store = OutputStore(limit=0, spill_dir=spill_dir, budget=MemoryBudget())
    values: list[object] = []
    for i in range(20_000):
        value: object = f"object {i}" if i % 3 else {"i": i}
        values.append(value)
        store.append_object(Stream.Output if i % 5 else Stream.Warning, value)
    assert len(calls) < 20  # blocks of SPILL_BATCH bytes, not a write per object
    st = store.spill_stat()  # writes the last block
    assert st is not None and stat.S_IMODE(st.st_mode) == 0o600 and st.st_nlink == 0
    assert stat.S_IMODE(os.stat(spill_dir).st_mode) == 0o700
    assert [r.value for r in store.iter_records()] == values


def test_a_block_that_cannot_be_written_is_lost_whole_and_the_rest_stays_a_prefix(
        spill_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir, budget=MemoryBudget())
    store.append_bytes(Stream.Output, b"kept")  # written at once (native bytes)
    store.append_object(Stream.Output, "batched")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage, "_write_all", full)
    store.flush()  # the job ended: the batch is written now, and fails
    assert store.lost_bytes > 0 and store.lost_reason == os.strerror(errno.ENOSPC)
    monkeypatch.undo()
    store.append_object(Stream.Output, "later")  # dropped too: no hole in what was kept
    assert [r.value for r in store.read()] == [b"kept"]
    assert not store.has_more


def test_a_job_whose_last_objects_cannot_be_spilled_ends_failed(
        spill_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pjsh.jobs.model import Job, JobState

    job = Job(1, store=OutputStore(limit=0, spill_dir=spill_dir, budget=MemoryBudget()))
    job.set_state(JobState.Running)
    job.write(Stream.Output, "waiting in the batch")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storage, "_write_all", full)
    job.set_state(JobState.Completed)
    assert job.state is JobState.Failed


@pytest.mark.parametrize(("text", "size"), [("1024", 1024), ("64MB", 64 << 20), ("2 gb", 2 << 30),
                                            ("512KB", 512 << 10), ("10b", 10)])
def test_budget_sizes_are_read_with_powershell_multipliers(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_the_default_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(storage.BUDGET_ENV, "8MB")
    assert storage._budget_from_env() == 8 << 20
    monkeypatch.setenv(storage.BUDGET_ENV, "lots")
    assert storage._budget_from_env() == storage.DEFAULT_BUDGET
    monkeypatch.delenv(storage.BUDGET_ENV)
    assert storage._budget_from_env() == storage.DEFAULT_BUDGET
