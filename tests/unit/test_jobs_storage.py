"""Job output storage: order across streams, the memory bound, spilling, consume vs keep."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import select
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from pjsh.jobs import storage
from pjsh.jobs.storage import (
    MAX_CHUNK,
    OutputStore,
    Record,
    Stream,
    decode_lines,
    default_spill_dir,
    ensure_private_dir,
)
from pjsh.runtime.errors import make_error
from pjsh.runtime.values import Hashtable, PSObject


@pytest.fixture
def spill_dir(tmp_path: Path) -> str:
    return str(tmp_path / "spill")


def values(records: list[Record]) -> list[object]:
    return [r.value for r in records]


def test_records_keep_their_order_across_streams() -> None:
    store = OutputStore()
    store.append_object(Stream.Output, 1)
    store.append_object(Stream.Warning, "w")
    store.append_bytes(Stream.Error, b"err\n")
    store.append_object(Stream.Output, 2)
    records = store.read()
    assert [(r.stream, r.value, r.raw) for r in records] == [
        (Stream.Output, 1, False), (Stream.Warning, "w", False),
        (Stream.Error, b"err\n", True), (Stream.Output, 2, False),
    ]


def test_consume_returns_only_newer_records_and_keep_leaves_them() -> None:
    store = OutputStore()
    store.append_object(Stream.Output, "a")
    assert values(store.read(consume=False)) == ["a"]
    assert values(store.read(consume=False)) == ["a"]  # -Keep twice
    assert store.has_more
    assert values(store.read()) == ["a"]
    assert not store.has_more
    assert store.read() == []
    store.append_object(Stream.Output, "b")
    assert values(store.read()) == ["b"]  # no gaps, no duplicates


def test_consuming_one_stream_leaves_the_others() -> None:
    store = OutputStore()
    store.append_object(Stream.Output, 1)
    store.append_object(Stream.Error, "e")
    store.append_object(Stream.Output, 2)
    assert values(store.read(streams=[Stream.Output])) == [1, 2]
    assert store.has_more and store.has_more_in(Stream.Error)
    assert not store.has_more_in(Stream.Output)
    assert values(store.read()) == ["e"]


def test_stopping_iteration_early_consumes_only_what_was_yielded() -> None:
    store = OutputStore()
    for i in range(5):
        store.append_object(Stream.Output, i)
    iterator = store.iter_records()
    assert [next(iterator).value for _ in range(2)] == [0, 1]
    del iterator  # abandoning the iterator closes it
    assert values(store.read()) == [2, 3, 4]


def test_memory_bound_then_spill_to_a_private_file(spill_dir: str) -> None:
    store = OutputStore(limit=1000, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"a" * 600)
    assert store.spill_path is None and store.memory_bytes == 600
    store.append_bytes(Stream.Output, b"b" * 600)  # over the bound: goes to disk
    path = store.spill_path
    assert path is not None and os.path.dirname(path) == spill_dir
    assert store.memory_bytes == 600 and store.disk_bytes > 600
    assert stat.S_IMODE(os.stat(spill_dir).st_mode) == 0o700
    st = store.spill_stat()
    assert st is not None and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.getuid()
    assert b"".join(store.iter_bytes()) == b"a" * 600 + b"b" * 600


def test_permissions_hold_even_with_a_permissive_umask(spill_dir: str) -> None:
    old = os.umask(0)
    try:
        store = OutputStore(limit=0, spill_dir=spill_dir)
        store.append_bytes(Stream.Output, b"x")
    finally:
        os.umask(old)
    st = store.spill_stat()
    assert st is not None and stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(spill_dir).st_mode) == 0o700
    store.close()


def test_twenty_mib_of_random_bytes_come_back_byte_exact(spill_dir: str) -> None:
    rng = random.Random(1234)
    data = rng.randbytes(20 * 1024 * 1024)
    assert b"\xff\xfe" in data or b"\xc0" in data  # invalid UTF-8 is in there
    store = OutputStore(spill_dir=spill_dir)  # default 4 MiB bound
    position = 0
    while position < len(data):
        size = rng.randint(1, 3 * 1024 * 1024)  # includes chunks larger than MAX_CHUNK
        store.append_bytes(Stream.Output, data[position:position + size])
        position += size
    assert store.memory_bytes <= storage.DEFAULT_LIMIT
    assert store.disk_bytes > 15 * 1024 * 1024
    digest = hashlib.sha256()
    largest = 0
    for chunk in store.iter_bytes():
        largest = max(largest, len(chunk))
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert largest <= MAX_CHUNK  # streamed back in bounded chunks, never all at once
    assert not store.has_more


def test_keep_reads_spilled_data_repeatedly(spill_dir: str) -> None:
    store = OutputStore(limit=10, spill_dir=spill_dir)
    for i in range(100):
        store.append_bytes(Stream.Output, f"{i}\n".encode())
    expected = "".join(f"{i}\n" for i in range(100)).encode()
    assert b"".join(store.iter_bytes(consume=False)) == expected
    assert b"".join(store.iter_bytes(consume=False)) == expected
    assert b"".join(store.iter_bytes()) == expected
    assert b"".join(store.iter_bytes()) == b""


def test_spilled_objects_and_streams_keep_their_interleaving(spill_dir: str) -> None:
    store = OutputStore(limit=200, spill_dir=spill_dir)
    expected: list[tuple[Stream, object]] = []
    for i in range(50):
        stream = [Stream.Output, Stream.Error, Stream.Warning, Stream.Verbose][i % 4]
        value: object = {"n": i, "text": "x" * i} if i % 3 else f"line {i}"
        store.append_object(stream, value)
        expected.append((stream, value))
    store.append_bytes(Stream.Output, b"\xff raw tail")
    expected.append((Stream.Output, b"\xff raw tail"))
    assert store.disk_bytes > 0
    assert [(r.stream, r.value) for r in store.read()] == expected


def test_error_records_survive_a_spill(spill_dir: str) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir)
    record = make_error("MyError", "RuntimeException")
    store.append_object(Stream.Error, record)
    (back,) = store.read()
    assert back.stream is Stream.Error
    assert str(back.value) == "MyError"


def test_spilled_objects_use_the_shared_object_encoding(spill_dir: str) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir)
    bag = PSObject({"Name": "a", "Size": 3}, ["My.Type"])
    table = Hashtable([("Key", [1, 2])])
    store.append_object(Stream.Output, bag)
    store.append_object(Stream.Output, table)
    assert store.disk_bytes > 0
    back_bag, back_table = values(store.read())
    assert isinstance(back_bag, PSObject) and back_bag.get("size") == 3
    assert back_bag.type_names == ["My.Type"]
    assert isinstance(back_table, Hashtable) and back_table["key"] == [1, 2]


def test_without_the_encoding_objects_spill_with_pickle_or_stay_pinned(
    spill_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "_serialize_module", lambda: None)
    store = OutputStore(limit=0, spill_dir=spill_dir)
    lock = threading.Lock()  # cannot be pickled: kept in memory, in its place
    store.append_object(Stream.Output, ("tuple", 1))
    store.append_object(Stream.Output, lock)
    store.append_object(Stream.Output, "after")
    assert store.disk_bytes > 0
    assert values(store.read()) == [("tuple", 1), lock, "after"]


def test_partial_stream_consumption_across_memory_and_disk(spill_dir: str) -> None:
    store = OutputStore(limit=100, spill_dir=spill_dir)
    for i in range(30):
        store.append_object(Stream.Output if i % 2 else Stream.Error, i)
    odd = values(store.read(streams=[Stream.Output]))
    assert odd == list(range(1, 30, 2))
    assert values(store.read(consume=False)) == list(range(0, 30, 2))
    assert values(store.read()) == list(range(0, 30, 2))
    assert not store.has_more


def test_fully_consumed_spill_file_is_reset_and_memory_used_again(spill_dir: str) -> None:
    store = OutputStore(limit=100, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"m" * 80)
    store.append_bytes(Stream.Output, b"d" * 80)
    assert store.disk_bytes > 0
    assert b"".join(store.iter_bytes()) == b"m" * 80 + b"d" * 80
    assert store.disk_bytes == 0 and store.memory_bytes == 0
    store.append_bytes(Stream.Output, b"n" * 50)
    assert store.disk_bytes == 0 and store.memory_bytes == 50
    assert b"".join(store.iter_bytes()) == b"n" * 50


def test_records_arriving_after_a_spill_go_to_disk_to_keep_order(spill_dir: str) -> None:
    store = OutputStore(limit=100, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"1" * 90)
    store.append_bytes(Stream.Output, b"2" * 90)  # spilled
    assert b"".join(store.iter_bytes(consume=False)) == b"1" * 90 + b"2" * 90
    store.append_bytes(Stream.Output, b"3")  # small, but disk still holds unread data
    assert b"".join(store.iter_bytes()) == b"1" * 90 + b"2" * 90 + b"3"


def test_the_spill_file_has_no_name_while_open_and_close_releases_it(spill_dir: str) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"data")
    st = store.spill_stat()
    # Unlinked as soon as it was opened: nothing is left behind even if pjsh is killed.
    assert st is not None and st.st_nlink == 0 and os.listdir(spill_dir) == []
    assert b"".join(store.iter_bytes(consume=False)) == b"data"
    store.close()
    assert store.closed and store.spill_path is None and store.spill_stat() is None
    store.append_bytes(Stream.Output, b"late")
    assert store.read() == [] and not store.has_more
    store.close()  # idempotent


def test_close_waits_for_an_active_reader(spill_dir: str) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir)
    for i in range(3):
        store.append_bytes(Stream.Output, bytes([i]) * 10)
    iterator = store.iter_bytes()
    assert next(iterator) == b"\x00" * 10
    store.close()
    assert store.spill_stat() is not None  # the reader is still scanning it
    assert list(iterator) == [b"\x01" * 10, b"\x02" * 10]
    assert store.spill_stat() is None


def test_concurrent_consumers_never_receive_the_same_record(spill_dir: str) -> None:
    store = OutputStore(limit=2000, spill_dir=spill_dir)
    for i in range(2000):
        store.append_object(Stream.Output, i)
    results: list[list[object]] = [[], []]
    barrier = threading.Barrier(2)

    def consume(slot: int) -> None:
        barrier.wait()
        for record in store.iter_records():
            results[slot].append(record.value)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    combined = results[0] + results[1]
    assert sorted(combined) == list(range(2000))  # type: ignore[type-var]


def test_iter_bytes_renders_objects_as_text_lines() -> None:
    store = OutputStore()
    store.append_bytes(Stream.Output, b"raw\n")
    store.append_object(Stream.Output, 42)
    assert b"".join(store.iter_bytes()) == b"raw\n42\n"


def test_decode_lines_splits_across_chunks_and_keeps_invalid_bytes() -> None:
    lines = list(decode_lines([b"a\r\nb", b"c\n\xff\xfe", b"\n", b"tail"]))
    assert lines == ["a", "bc", "\udcff\udcfe", "tail"]
    assert lines[2].encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_default_spill_dir_under_xdg_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    path = default_spill_dir()
    assert path == str(runtime / "pjsh")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_default_spill_dir_falls_back_to_a_private_temp_dir(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    path = default_spill_dir()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert os.stat(path).st_uid == os.getuid()


def test_an_existing_directory_is_tightened_and_a_symlink_refused(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    ensure_private_dir(str(loose))
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(loose)
    with pytest.raises(PermissionError):
        ensure_private_dir(str(link))


# ---- splice: pipe to spill file without passing through Python ---------------------------------

needs_splice = pytest.mark.skipif(not OutputStore.can_splice(), reason="needs os.splice (Linux)")


def pipe_with(data: bytes) -> int:
    """The read end of a non-blocking pipe holding ``data``, its write end closed."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return read_fd


@needs_splice
def test_splice_moves_pipe_bytes_into_the_spill_file_in_record_order(spill_dir: str) -> None:
    store = OutputStore(limit=60, spill_dir=spill_dir)
    store.append_object(Stream.Output, "first")  # memory
    assert not store.spilling
    store.append_bytes(Stream.Error, b"e" * 20)  # over the bound: disk from here on
    assert store.spilling
    fd = pipe_with(b"\xff\xfe spliced bytes")
    try:
        assert store.splice_from(Stream.Output, fd) == 16
        assert store.splice_from(Stream.Output, fd) == 0  # end of file
    finally:
        os.close(fd)
    store.append_object(Stream.Warning, "after")
    assert [(r.stream, r.value) for r in store.read(consume=False)] == [
        (Stream.Output, "first"), (Stream.Error, b"e" * 20),
        (Stream.Output, b"\xff\xfe spliced bytes"), (Stream.Warning, "after"),
    ]
    assert b"".join(store.iter_bytes(Stream.Output)) == b"first\n\xff\xfe spliced bytes"


@needs_splice
def test_splice_of_an_empty_pipe_raises_blocking_and_stores_nothing(spill_dir: str) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir)
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    try:
        with pytest.raises(BlockingIOError):
            store.splice_from(Stream.Output, read_fd)
        assert store.read() == [] and not store.has_more
    finally:
        os.close(read_fd)
        os.close(write_fd)


@needs_splice
def test_spliced_chunks_are_bounded_and_byte_exact(spill_dir: str) -> None:
    data = random.Random(7).randbytes(3 * MAX_CHUNK + 12345)
    store = OutputStore(limit=0, spill_dir=spill_dir)
    read_fd, write_fd = os.pipe()
    received = 0

    def writer() -> None:
        with open(write_fd, "wb") as f:
            f.write(data)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while True:
            select.select([read_fd], [], [], 10)
            try:
                moved = store.splice_from(Stream.Output, read_fd, count=10 * MAX_CHUNK)
            except BlockingIOError:
                continue  # readable, but the writer had not refilled the pipe yet
            assert moved <= MAX_CHUNK  # a spliced frame is never bigger than a chunk
            if moved == 0:
                break
            received += moved
    finally:
        thread.join()
        os.close(read_fd)
    assert received == len(data)
    assert hashlib.sha256(b"".join(store.iter_bytes())).digest() == hashlib.sha256(data).digest()


@needs_splice
def test_splice_after_close_drains_and_drops(spill_dir: str) -> None:
    store = OutputStore(limit=0, spill_dir=spill_dir)
    store.close()
    fd = pipe_with(b"late")
    try:
        assert store.splice_from(Stream.Output, fd) == 4
    finally:
        os.close(fd)
    assert store.read() == [] and store.spill_path is None


def test_splice_unavailable_raises_and_stores_nothing(
    spill_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "_splice", None)
    store = OutputStore(limit=0, spill_dir=spill_dir)
    fd = pipe_with(b"data")
    try:
        with pytest.raises(OSError):
            store.splice_from(Stream.Output, fd)
        assert os.read(fd, 10) == b"data"  # left in the pipe for a plain read
    finally:
        os.close(fd)
    assert store.read() == []


def test_frames_written_at_offsets_survive_a_reset_of_the_file(spill_dir: str) -> None:
    # Frames go to explicit offsets (the file is not O_APPEND): after a full consumption
    # truncates the file, new frames start at offset 0 again.
    store = OutputStore(limit=0, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"one")
    assert b"".join(store.iter_bytes()) == b"one"
    assert store.disk_bytes == 0
    store.append_bytes(Stream.Output, b"two")
    st = store.spill_stat()
    assert st is not None and st.st_size == store.disk_bytes
    assert b"".join(store.iter_bytes()) == b"two"


# ---- output that cannot be kept ------------------------------------------------------------

def _fail_spills_after(monkeypatch: pytest.MonkeyPatch, frames: int) -> None:
    """Make the spill file system full after ``frames`` frames were written."""
    real = storage._write_all
    written = [0]

    def write_all(fd: int, header: bytes, payload: bytes | memoryview, offset: int) -> None:
        if written[0] >= frames:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written[0] += 1
        real(fd, header, payload, offset)

    monkeypatch.setattr(storage, "_write_all", write_all)


def test_output_that_cannot_be_spilled_is_counted_and_what_was_kept_stays_readable(
        spill_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_spills_after(monkeypatch, 2)
    store = OutputStore(limit=10, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"a" * 8)  # memory
    store.append_bytes(Stream.Output, b"b" * 8)  # spilled
    store.append_object(Stream.Output, "kept")  # spilled
    store.append_bytes(Stream.Output, b"c" * 100)  # the disk is full: lost
    assert store.lost_bytes == 100 and store.lost_reason == os.strerror(errno.ENOSPC)
    monkeypatch.undo()  # room again: later output is dropped all the same (no hole)
    store.append_bytes(Stream.Output, b"d" * 7)
    store.append_bytes(Stream.Error, b"e" * 5)
    assert store.lost_bytes == 112
    assert [r.value for r in store.read()] == [b"a" * 8, b"b" * 8, "kept"]


def test_splice_into_a_full_spill_file_drains_the_pipe_and_counts_the_loss(
        spill_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert OutputStore.can_splice()  # Linux

    def splice(*args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    store = OutputStore(limit=0, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"first")
    monkeypatch.setattr(storage, "_splice", splice)
    r, w = os.pipe()
    try:
        os.write(w, b"x" * 5000)
        os.set_blocking(r, False)
        # The pipe is drained (the reader is not woken again for the same bytes)…
        assert store.splice_from(Stream.Output, r) == 5000
        with pytest.raises(BlockingIOError):
            store.splice_from(Stream.Output, r)
        os.close(w)
        assert store.splice_from(Stream.Output, r) == 0
    finally:
        os.close(r)
    # …the bytes are counted, and what was kept stays readable.
    assert store.lost_bytes == 5000
    assert b"".join(store.iter_bytes()) == b"first"


def test_a_spill_directory_removed_under_the_store_changes_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "spill"
    store = OutputStore(limit=0, spill_dir=str(directory))
    store.append_bytes(Stream.Output, b"one")
    os.rmdir(directory)  # empty: the spill file was unlinked when it was opened
    store.append_bytes(Stream.Output, b"two")
    assert b"".join(store.iter_bytes()) == b"onetwo" and store.lost_bytes == 0


def test_stale_spill_files_of_dead_processes_are_removed(spill_dir: str) -> None:
    ensure_private_dir(spill_dir)
    proc = subprocess.Popen(["true"])  # its pid is dead once waited for
    proc.wait()
    stale = os.path.join(spill_dir, f"job-{proc.pid}-{'0' * 32}.out")
    mine = os.path.join(spill_dir, f"job-{os.getpid()}-{'1' * 32}.out")
    for path in (stale, mine):
        with open(path, "wb"):
            pass
    store = OutputStore(limit=0, spill_dir=spill_dir)
    store.append_bytes(Stream.Output, b"x")
    assert sorted(os.listdir(spill_dir)) == [os.path.basename(mine)]
    store.close()
