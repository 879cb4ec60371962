"""Job output storage: one ordered record log per job, in memory up to a bound, then on disk.

Every record a job produces (native byte chunks, objects, error records, warnings…) goes into a
single sequence, so the interleaving across streams is kept for Receive-Job. Records stay in
memory until the job holds more than ``limit`` bytes of them; later records are appended to a
private spill file (0600, in a 0700 directory) and read back lazily, so a job writing gigabytes
neither fills memory nor loses a byte. Reading consumes per stream (Receive-Job) unless asked to
keep (``-Keep``). The file is unlinked as soon as it is open (it is read and written through
its descriptor), so nothing is left behind even if pjsh is killed.

All stores of a process share one :class:`MemoryBudget` (64 MiB unless ``PJSH_JOB_MEMORY``
says otherwise): past it, the stores that have held memory longest move their records to their
spill files (oldest first), so the memory of captured output stays bounded whatever the number
of jobs. Objects written to a spilling store are encoded into a batch and written in blocks of
``SPILL_BATCH`` bytes, not one system call each; readers, the job's end and eviction flush the
batch first.

A thread job's own output sink appends its success objects to the store's ``pending_output``
queue without the lock, a C-level append, and has them stored in blocks of ``PENDING_MAX``:
every operation on the store first stores the pending objects, in order, so no reader ever
misses one and no other record overtakes one written before it.

Output that cannot be kept (the spill file system is full, the directory is gone) is never an
exception for the writer: the store keeps what it already has, drops every later record and
counts the dropped bytes (``lost_bytes``, ``lost_reason``). What was kept is then a clean
prefix of the job's output, and the job's end turns that into a Failed state (see
``pjsh.jobs.model``).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import importlib
import os
import stat
import struct
import sys
import threading
import weakref
from bisect import bisect_right
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from enum import Enum
from itertools import accumulate, repeat
from operator import itemgetter
from types import ModuleType
from typing import NamedTuple

DEFAULT_LIMIT = 4 * 1024 * 1024
# The memory all stores together may hold (records in memory and spill batches not yet written).
DEFAULT_BUDGET = 64 * 1024 * 1024
BUDGET_ENV = "PJSH_JOB_MEMORY"
# Spilled objects are written in blocks of about this size.
SPILL_BATCH = 256 * 1024
# A store tells the budget of its memory in steps of this size (and when it starts or stops
# holding any): the budget's count is each store's within this much.
CHARGE_STEP = 8 * 1024
# Large native chunks are cut so that a spilled frame is read back with bounded memory.
MAX_CHUNK = 1024 * 1024
# A job's own thread leaves at most this many Output objects pending (see pending_output).
PENDING_MAX = 256
_READ_BLOCK = 1024 * 1024


class Stream(Enum):
    """PowerShell's output streams, in their conventional order."""

    Output = "Output"
    Error = "Error"
    Warning = "Warning"
    Verbose = "Verbose"
    Debug = "Debug"
    Information = "Information"
    Progress = "Progress"

    # Members are singletons compared by identity: hash them by identity too, in C (Enum's
    # own __hash__ is Python code, and stores key dictionaries by stream on every record).
    __hash__ = object.__hash__


_STREAMS = tuple(Stream)
_STREAM_CODE = {s: i for i, s in enumerate(_STREAMS)}
_OUTPUT_CODE = _STREAM_CODE[Stream.Output]


class Record(NamedTuple):
    """One stored item: raw native bytes (``raw``) or an object, on one stream."""

    # A named tuple, not a record class: one is made per stored object, and building a
    # tuple costs a fifth of building a frozen record.
    stream: Stream
    value: object
    raw: bool = False


# Spill file frame: stream code, kind, payload length; then the payload.
_FRAME = struct.Struct("<BBI")
# splice(2) moves pipe pages into the spill file inside the kernel (Linux only).
_splice = getattr(os, "splice", None)
_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)
_pwritev = getattr(os, "pwritev", None)
_KIND_RAW = 0
_KIND_SERIALIZED = 1  # pjsh.runtime.serialize text, UTF-8
_KIND_PICKLE = 2
_KIND_PINNED = 3  # payload is a key into the store's in-memory table (not serializable)
_KIND_TEXT = 4  # a plain str, UTF-8 (surrogatepass): the common object, without the codec
_PIN = struct.Struct("<Q")
# What a memory entry holds (its fourth field): one object, one chunk of native bytes, or a
# block of plain strings on Output, records seq .. seq + len - 1 (see _take_pending).
_ENTRY_OBJECT = 0
_ENTRY_RAW = 1
_ENTRY_TEXTS = 2
_TEXT_OVERHEAD = 50  # what _rough_size adds to a string's length


# ---- the private spill directory ---------------------------------------------------------------

_fallback_dir: str | None = None
_fallback_lock = threading.Lock()


def ensure_private_dir(path: str) -> str:
    """Create ``path`` as a 0700 directory owned by us, or check an existing one; return it."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    # A symlink or someone else's directory could expose job output: refuse it.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise PermissionError(f"unsafe spill directory: {path}")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def default_spill_dir() -> str:
    """``$XDG_RUNTIME_DIR/pjsh`` when usable, else a private temporary directory."""
    global _fallback_dir
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        try:
            return ensure_private_dir(os.path.join(runtime, "pjsh"))
        except OSError:
            pass
    with _fallback_lock:
        if _fallback_dir is None or not os.path.isdir(_fallback_dir):
            import tempfile  # only when no private directory can be made (slow import)

            base = tempfile.gettempdir()
            _reap_stale_dirs(base)
            # The pid in the name lets a later pjsh remove it should this one be killed.
            _fallback_dir = tempfile.mkdtemp(prefix=f"pjsh-{os.getpid()}-", dir=base)
            atexit.register(_remove_empty_dir, _fallback_dir)
        return _fallback_dir


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's
    return True


def reap_stale_spill_files(directory: str) -> None:
    """Remove spill files of pjsh processes that no longer run (``job-<pid>-*.out``): a pjsh
    killed in the instant between creating a spill file and unlinking it."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    me = os.getpid()
    for name in names:
        if not (name.startswith("job-") and name.endswith(".out")):
            continue
        pid_text = name[4:].partition("-")[0]
        if pid_text.isdigit() and int(pid_text) != me and not _pid_alive(int(pid_text)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))


def _reap_stale_dirs(base: str) -> None:
    """Remove the fallback spill directories (``pjsh-<pid>-*``) of pjsh processes that no
    longer run, with any spill file left in them."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    uid = os.getuid()
    for name in names:
        pid_text = name[5:].partition("-")[0] if name.startswith("pjsh-") else ""
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        path = os.path.join(base, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
                continue
            reap_stale_spill_files(path)
            os.rmdir(path)
        except OSError:
            continue


def _remove_empty_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


# ---- object encoding for spilled records -------------------------------------------------------

_serializer: ModuleType | None = None
_serializer_checked = False


def _serialize_module() -> ModuleType | None:
    # pjsh.runtime.serialize is the shared object encoding; it is looked up lazily so this module
    # works (spilling with pickle) before that module exists, and costs nothing at start-up.
    global _serializer, _serializer_checked
    if not _serializer_checked:
        try:
            module = importlib.import_module("pjsh.runtime.serialize")
        except ImportError:
            module = None
        if module is not None and not (hasattr(module, "dumps") and hasattr(module, "loads")):
            module = None
        _serializer = module
        _serializer_checked = True
    return _serializer


def _rough_size(value: object) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, str):
        return len(value) + _TEXT_OVERHEAD
    return sys.getsizeof(value) + 64


def parse_size(text: str) -> int:
    """A byte count as ``PJSH_JOB_MEMORY`` takes it: digits with an optional ``KB``, ``MB`` or
    ``GB`` suffix (PowerShell's multipliers, powers of 1024); ValueError otherwise."""
    raw = text.strip().upper()
    for suffix, factor in (("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("B", 1)):
        if raw.endswith(suffix):
            return int(raw[:-len(suffix)].strip()) * factor
    return int(raw)


class MemoryBudget:
    """The memory budget the output stores share: each store charges what it holds in
    memory; once the total is over ``limit``, the stores that have held memory longest spill
    it to their files (:meth:`OutputStore.evict`) until the total fits again.

    Lock order: a store charges while holding its own lock (the budget's lock is taken inside
    it and never the other way round); eviction happens after the charging store released its
    lock, so no thread ever holds two stores' locks.
    """

    def __init__(self, limit: int = DEFAULT_BUDGET, step: int = CHARGE_STEP) -> None:
        self.limit = limit
        self.step = step  # how far a store's memory may move before it tells the budget
        self._lock = threading.Lock()
        self._used = 0
        self.peak = 0  # the most ever held at once (for tests and benchmarks)
        # Stores holding memory, oldest holder first (dicts keep insertion order).
        self._holders: weakref.WeakValueDictionary[int, OutputStore] = \
            weakref.WeakValueDictionary()

    @property
    def used(self) -> int:
        """Bytes the stores hold in memory now, by their own accounting."""
        return self._used

    def charge(self, store: OutputStore, delta: int, holding: int) -> bool:
        """Record ``delta`` more bytes held by ``store`` (``holding`` in all now); True when
        the total is over the limit, so the caller rebalances once it released its lock."""
        with self._lock:
            self._used += delta
            if self._used > self.peak:
                self.peak = self._used
            key = id(store)
            if holding <= 0:
                self._holders.pop(key, None)
            elif key not in self._holders:
                self._holders[key] = store
            return self._used > self.limit

    def release(self, amount: int) -> None:
        """Forget ``amount`` bytes of a store that is gone without closing."""
        with self._lock:
            self._used -= amount

    def rebalance(self) -> None:
        """Evict the oldest holders' memory until the total fits the limit."""
        with self._lock:
            if self._used <= self.limit:
                return
            victims = list(self._holders.values())
        for store in victims:
            store.evict()
            if self._used <= self.limit:
                return


def _budget_from_env() -> int:
    text = os.environ.get(BUDGET_ENV)
    if text:
        try:
            return max(0, parse_size(text))
        except ValueError:
            pass  # a malformed value leaves the default (start-up must not fail on it)
    return DEFAULT_BUDGET


_default_budget: MemoryBudget | None = None


def default_budget() -> MemoryBudget:
    """The process's shared budget, sized from ``PJSH_JOB_MEMORY`` when first asked for."""
    global _default_budget
    if _default_budget is None:
        with _fallback_lock:
            if _default_budget is None:
                _default_budget = MemoryBudget(_budget_from_env())
    return _default_budget


# A frame's header as latin-1 text, by payload length, for short Output strings.
_OUTPUT_TEXT_HEADERS = tuple(_FRAME.pack(_STREAM_CODE[Stream.Output], _KIND_TEXT, n).decode("latin-1")
                             for n in range(128))


def _text_frames(code: int, texts: list[str]) -> bytes:
    """The spill frames of plain strings on one stream, byte for byte as _encode makes them
    one at a time. Short ASCII strings on Output are framed by C-level calls, no bytecode per
    string: a string's UTF-8 is then its latin-1, and so is each header (all its bytes are
    below 128), so the frames are joined as text and encoded once."""
    if len(texts) > 1 and code == _OUTPUT_CODE:
        frames = [""] * (2 * len(texts))
        try:
            frames[::2] = itemgetter(*map(len, texts))(_OUTPUT_TEXT_HEADERS)
        except IndexError:  # a string of 128 characters or more
            pass
        else:
            frames[1::2] = texts
            text = "".join(frames)
            if text.isascii():  # the headers are: so is every string
                return text.encode("latin-1")
    parts: list[bytes] = []
    pack = _FRAME.pack
    for value in texts:
        payload = value.encode("utf-8", "surrogatepass")
        parts.append(pack(code, _KIND_TEXT, len(payload)))
        parts.append(payload)
    return b"".join(parts)


def _texts_size(texts: list[str]) -> int:
    """What _rough_size charges for these strings together (TypeError unless all are str)."""
    return len("".join(texts)) + _TEXT_OVERHEAD * len(texts)


def decode_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split native output into lines without their ``\\n``/``\\r\\n``; bytes that are not
    UTF-8 survive as surrogate escapes (``surrogateescape``), so re-encoding is exact."""
    tail = b""
    for chunk in chunks:
        data = tail + chunk
        lines = data.split(b"\n")
        tail = lines.pop()
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            yield line.decode("utf-8", "surrogateescape")
    if tail:
        yield tail.decode("utf-8", "surrogateescape")


class OutputStore:
    """The ordered output of one job: memory up to ``limit`` bytes, then a private spill file."""

    def __init__(self, limit: int = DEFAULT_LIMIT, spill_dir: str | None = None,
                 budget: MemoryBudget | None = None) -> None:
        self.limit = limit
        self._spill_dir = spill_dir
        self._budget = budget if budget is not None else default_budget()
        self._charged = 0  # bytes held: records in memory + the spill batch
        self._reported = 0  # what the budget was last told
        self._lock = threading.Lock()
        self._readers = 0  # iterators in progress; the spill file is only reset without any
        # (seq, stream code, value, entry kind, rough size): no Record and no Stream member in
        # it, so a string's entry holds nothing the garbage collector must track (it stops
        # tracking such tuples). A block of pending plain strings is one entry (_ENTRY_TEXTS,
        # the value a list): no tuple per string, so 100,000 strings make no work for the
        # collector (a tuple per string made a hundred collections) and cost a list slot each.
        self._mem: deque[tuple[int, int, object, int, int]] = deque()
        self._mem_bytes = 0
        self._next_seq = 0
        # Per stream: seq of the first record not yet consumed (all earlier ones are).
        self._cursor: dict[Stream, int] = dict.fromkeys(_STREAMS, 0)
        self._last_seq: dict[Stream, int] = dict.fromkeys(_STREAMS, -1)
        self._path: str | None = None
        self._fd: int | None = None
        self._disk_end = 0  # bytes in the spill file
        # The file's frames in record order, as segments [offset of the first frame that may
        # be unconsumed, end offset, that frame's seq]: one, unless memory was evicted to the
        # file's end after later records had been spilled (then that segment comes first).
        self._segments: list[list[int]] = []
        # Spilled objects not yet written (frames for offset _disk_end on), from record
        # _batch_seq on; _batch_last is _last_seq before the batch, to undo a failed write.
        self._batch = bytearray()
        self._batch_seq = 0
        self._batch_last: dict[Stream, int] | None = None
        self._pinned: dict[int, object] = {}
        self._pin_keys = 0
        self._closed = False
        # Output that could not be kept: from the first failure on, every record is dropped
        # (counted), so what was kept is a prefix of the output with no hole in it.
        self._lost_bytes = 0
        self._lost_error: str | None = None
        # Output objects appended without the lock (see pending_output). A list: the job's
        # thread only appends to its end, so a taker copies and deletes the first n at once.
        self._pending: list[object] = []

    # ---- writing -----------------------------------------------------------------------------

    def append_bytes(self, stream: Stream, data: bytes | bytearray | memoryview) -> None:
        """Store a chunk of native output, byte for byte (the buffer may be reused after)."""
        view = memoryview(data).cast("B")
        for start in range(0, len(view), MAX_CHUNK):
            self._append_raw(stream, view[start:start + MAX_CHUNK])

    @property
    def pending_output(self) -> list[object]:
        """Where the job's own thread may append Output objects without the lock (its output
        sink): the appender calls take_pending once PENDING_MAX are waiting, and every other
        operation on the store takes them first, as append_object would have stored them."""
        return self._pending

    def take_pending(self) -> None:
        """Store the pending Output objects now, in order."""
        with self._lock:
            over = self._take_pending()
        if over:
            self._budget.rebalance()

    def _take_pending(self) -> bool:
        """take_pending under the lock; True when the budget is over its limit.

        The pending objects are taken as a block: a block of strings that fits in memory
        whole becomes one memory entry, otherwise the objects that fit become an entry each;
        a block of plain strings to spill is encoded into the spill batch at once; anything
        else (a closed store, lost output, other objects to spill) goes through
        _append_locked one by one. Each record gets the sequence number,
        charged size and frame append_object would give it; the budget hears of a block's
        bytes at once (it counts in steps anyway), and the batch is written when a block ends
        past SPILL_BATCH."""
        pending = self._pending
        # Only those pending now: the job's thread may append meanwhile, but only at the end
        # (each list operation is atomic), and only the holder of the lock takes.
        count = len(pending)
        block = pending[:count]
        del pending[:count]
        if not block or self._closed or self._lost_error is not None:
            over = False
            for value in block:
                over = self._append_locked(Stream.Output, value) or over
            return over
        code = _OUTPUT_CODE
        over = False
        if self._disk_end == 0 and not self._batch:
            room = self.limit - self._mem_bytes
            seq = self._next_seq
            try:
                # One C call checks that all are strings (of any str type: they are kept
                # as they are) and sums their lengths.
                total = _texts_size(block)  # type: ignore[arg-type]
            except TypeError:
                total = -1
            if 0 <= total <= room:
                fit = len(block)
                self._mem.append((seq, code, block, _ENTRY_TEXTS, total))
            else:
                sizes = [len(v) + _TEXT_OVERHEAD if type(v) is str else _rough_size(v)
                         for v in block]
                ends = list(accumulate(sizes))
                fit = bisect_right(ends, room)
                total = ends[fit - 1] if fit else 0
                if fit:
                    self._mem.extend(zip(range(seq, seq + fit), repeat(code), block,
                                         repeat(_ENTRY_OBJECT), sizes))
            if fit:
                self._mem_bytes += total
                self._next_seq = seq + fit
                self._last_seq[Stream.Output] = seq + fit - 1
                over = self._charge(total)
                block = block[fit:]
        if not block:
            return over
        if list(map(type, block)).count(str) != len(block):
            for value in block:
                over = self._append_locked(Stream.Output, value) or over
            return over
        seq = self._next_seq
        if not self._batch:
            self._batch_seq = seq
            self._batch_last = dict(self._last_seq)
        data = _text_frames(code, block)  # type: ignore[arg-type]
        self._batch += data
        self._next_seq = seq + len(block)
        self._last_seq[Stream.Output] = seq + len(block) - 1
        over = self._charge(len(data)) or over
        if len(self._batch) >= SPILL_BATCH:
            self._flush_batch()
        return over

    def _settle(self) -> None:
        """Store the pending objects before an operation that reads the store's state."""
        if self._pending:
            self.take_pending()

    def append_object(self, stream: Stream, value: object) -> None:
        """Store an object (output value, error record, warning text…)."""
        with self._lock:
            over = self._take_pending() if self._pending else False
            over = self._append_locked(stream, value) or over
        if over:
            self._budget.rebalance()

    def _append_locked(self, stream: Stream, value: object) -> bool:
        """append_object under the lock; True when the budget is over its limit."""
        size = len(value) + _TEXT_OVERHEAD if type(value) is str else _rough_size(value)
        over = False
        if self._closed:
            return False
        if self._lost_error is not None:
            self._lost_bytes += size
            return False
        seq = self._next_seq
        # Memory only while nothing waits on disk, so that memory records always precede
        # disk records and reading memory-then-disk is in order.
        if self._disk_end == 0 and not self._batch and self._mem_bytes + size <= self.limit:
            self._mem.append((seq, _STREAM_CODE[stream], value, _ENTRY_OBJECT, size))
            self._mem_bytes += size
            over = self._charge(size)
        else:
            # Into the batch: written with the next block, not with a system call each.
            kind, payload = self._encode(value)
            if not self._batch:
                self._batch_seq = seq
                self._batch_last = dict(self._last_seq)
            self._batch += _FRAME.pack(_STREAM_CODE[stream], kind, len(payload))
            self._batch += payload
            over = self._charge(_FRAME.size + len(payload))
        self._next_seq = seq + 1
        self._last_seq[stream] = seq
        if len(self._batch) >= SPILL_BATCH:
            self._flush_batch()
        return over

    def _charge(self, delta: int) -> bool:
        """Count ``delta`` bytes more held (under the store's lock) and tell the budget once
        the change since it last heard reaches CHARGE_STEP, or the store starts or stops
        holding memory (a lock and a call per object would cost more than the append
        itself); True when the budget is over its limit."""
        charged = self._charged = self._charged + delta
        change = charged - self._reported
        step = self._budget.step
        if -step < change < step and (charged > 0) == (self._reported > 0):
            return False
        self._reported = charged
        return self._budget.charge(self, change, charged)

    def _flush_batch(self) -> None:
        """Write the batch of spilled objects (under the lock). If it cannot be written, its
        records are undone and counted as lost: what was kept stays a prefix."""
        batch = self._batch
        if not batch:
            return
        size = len(batch)
        try:
            if self._fd is None:
                self._open_spill_file()
            assert self._fd is not None
            start = self._disk_end
            _write_all(self._fd, b"", batch, start)
        except OSError as exc:
            self._next_seq = self._batch_seq
            if self._batch_last is not None:
                self._last_seq = self._batch_last
            self._lose(size, exc)
        else:
            self._add_frames(start, start + size, self._batch_seq)
        self._batch = bytearray()
        self._batch_last = None
        self._charge(-size)

    def flush(self) -> None:
        """Write any batch of spilled objects now (the job ended: a failure to keep its
        output must show before its final state is decided)."""
        self._settle()
        with self._lock:
            if not self._closed:
                self._flush_batch()

    def _add_frames(self, start: int, end: int, seq: int) -> None:
        """Frames [start, end) were written for records from ``seq`` on, after all others."""
        last = self._segments[-1] if self._segments else None
        if last is not None and last[1] == start:
            last[1] = end
        else:
            self._segments.append([start, end, seq])
        self._disk_end = end

    def evict(self) -> int:
        """Move every record held in memory (and the batch) to the spill file, in one write
        per block; the bytes of memory freed (0 when nothing could be moved)."""
        with self._lock:
            if self._pending:
                self._take_pending()  # (the budget is rebalancing already)
            if self._closed or (not self._mem and not self._batch):
                return 0
            before = self._charged
            self._flush_batch()
            if self._mem and self._lost_error is None:
                self._spill_memory()
            freed = before - self._charged
        return freed

    def _spill_memory(self) -> None:
        """Write the memory records to the file's end as the first segment (they precede
        every record on disk); on a write failure they simply stay in memory."""
        parts: list[bytes] = []
        for _seq, code, value, entry, _size in self._mem:
            if entry == _ENTRY_TEXTS:
                texts: list[str] = value  # type: ignore[assignment]
                if list(map(type, texts)).count(str) == len(texts):
                    parts.append(_text_frames(code, texts))
                else:  # a str subclass (NativeLine) is encoded with its type
                    encoded = [self._encode(text) for text in texts]
                    parts += [frame for kind, text_payload in encoded
                              for frame in (_FRAME.pack(code, kind, len(text_payload)),
                                            text_payload)]
                continue
            if entry == _ENTRY_RAW:
                payload: bytes = value  # type: ignore[assignment]
                kind = _KIND_RAW
            else:
                kind, payload = self._encode(value)
            parts.append(_FRAME.pack(code, kind, len(payload)))
            parts.append(payload)
        data = b"".join(parts)
        try:
            if self._fd is None:
                self._open_spill_file()
            assert self._fd is not None
            start = self._disk_end
            _write_all(self._fd, b"", data, start)
        except OSError:
            return  # kept in memory: over the budget, but nothing is lost
        first_seq = self._mem[0][0]
        self._segments.insert(0, [start, start + len(data), first_seq])
        self._disk_end = start + len(data)
        self._mem.clear()
        freed = self._mem_bytes
        self._mem_bytes = 0
        self._charge(-freed)

    def append(self, record: Record) -> None:
        """Store a record as given."""
        if record.raw:
            assert isinstance(record.value, (bytes, bytearray, memoryview))
            self.append_bytes(record.stream, record.value)
        else:
            self.append_object(record.stream, record.value)

    def _append_raw(self, stream: Stream, view: memoryview) -> None:
        size = len(view)
        over = False
        self._settle()
        with self._lock:
            if self._pending:
                self._take_pending()  # appended meanwhile (the budget hears at the next charge)
            if self._closed:
                return
            if self._lost_error is not None:
                self._lost_bytes += size
                return
            seq = self._next_seq
            if self._disk_end == 0 and not self._batch and self._mem_bytes + size <= self.limit:
                self._mem.append((seq, _STREAM_CODE[stream], bytes(view), _ENTRY_RAW, size))
                self._mem_bytes += size
                over = self._charge(size)
            else:
                self._flush_batch()  # earlier objects first, in order
                if self._lost_error is not None:
                    self._lost_bytes += size
                    return
                seq = self._next_seq
                # Straight from the caller's buffer to the file: no intermediate copy.
                try:
                    self._spill(stream, _KIND_RAW, view)
                except OSError as exc:
                    self._lose(size, exc)
                    return
            self._next_seq = seq + 1
            self._last_seq[stream] = seq
        if over:
            self._budget.rebalance()

    @property
    def spilling(self) -> bool:
        """True while new records go to the spill file: once one record is on disk, every
        later one follows it there (until a full consumption resets the file)."""
        self._settle()
        return self._disk_end > 0 or bool(self._batch)

    @staticmethod
    def can_splice() -> bool:
        """True where :meth:`splice_from` is available (Linux with ``os.splice``)."""
        return _splice is not None

    def splice_from(self, stream: Stream, fd: int, count: int = MAX_CHUNK) -> int:
        """Move up to ``count`` bytes of native output from the pipe ``fd`` straight into the
        spill file as one record of ``stream``, without the bytes passing through Python.

        Returns the number of bytes moved; 0 means end of file. A non-blocking pipe with
        nothing in it raises BlockingIOError; where splice cannot be used (no ``os.splice``,
        EINVAL from a file system without splice support) OSError is raised and nothing is
        stored, so the caller can fall back to reading. After close(), or once output was
        lost (``lost_bytes``), the bytes are read and dropped (counted), as appends are: the
        pipe is always drained, so the caller never spins on a pipe that stays readable.
        """
        count = min(count, MAX_CHUNK)
        self._settle()
        with self._lock:
            if self._pending:
                self._take_pending()  # appended meanwhile (the budget hears at the next charge)
            if self._closed or self._lost_error is not None:
                return self._drop_from(fd, count)
            if _splice is None:
                raise OSError(errno.EINVAL, "splice is not available")
            self._flush_batch()  # earlier objects first, in order
            if self._lost_error is not None:
                return self._drop_from(fd, count)
            try:
                if self._fd is None:
                    self._open_spill_file()
                assert self._fd is not None
                start = self._disk_end
                # The payload goes in first, after room for its header, because its length
                # is only known afterwards. Readers never look past _disk_end, so no reader
                # can see the frame before its header is written.
                moved: int = _splice(fd, self._fd, count, offset_dst=start + _FRAME.size,
                                     flags=_SPLICE_FLAGS)
                if moved == 0:
                    return 0
                os.pwrite(self._fd, _FRAME.pack(_STREAM_CODE[stream], _KIND_RAW, moved),
                          start)
            except BlockingIOError:
                raise
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    raise  # no splice into this file system: the caller reads instead
                # Not kept (ENOSPC, EDQUOT, EIO, the directory gone…): record the loss, then
                # drain what the pipe holds so the reader is not woken again at once.
                self._lose(0, exc)
                return self._drop_from(fd, count)
            seq = self._next_seq
            self._add_frames(start, start + _FRAME.size + moved, seq)
            self._next_seq = seq + 1
            self._last_seq[stream] = seq
            return moved

    def _drop_from(self, fd: int, count: int) -> int:
        """Read up to ``count`` bytes from ``fd`` and drop them (counted as lost unless the
        store is closed); the number read, 0 at end of file."""
        dropped = len(os.read(fd, count))
        if not self._closed:
            self._lost_bytes += dropped
        return dropped

    def _lose(self, size: int, exc: OSError) -> None:
        """Output could not be kept: from now on every record is dropped and counted."""
        self._lost_bytes += size
        if self._lost_error is None:
            self._lost_error = exc.strerror or str(exc)

    @property
    def lost_bytes(self) -> int:
        """Bytes of output dropped because they could not be stored (0: nothing lost)."""
        return self._lost_bytes

    @property
    def lost_reason(self) -> str | None:
        """Why output was dropped (the first error's text), or None if nothing was."""
        return self._lost_error

    def _spill(self, stream: Stream, kind: int, payload: bytes | memoryview) -> None:
        if self._fd is None:
            self._open_spill_file()
        assert self._fd is not None
        header = _FRAME.pack(_STREAM_CODE[stream], kind, len(payload))
        start = self._disk_end
        _write_all(self._fd, header, payload, start)
        self._add_frames(start, start + _FRAME.size + len(payload), self._next_seq)

    def _encode(self, value: object) -> tuple[int, bytes]:
        if type(value) is str:
            return _KIND_TEXT, value.encode("utf-8", "surrogatepass")
        codec = _serialize_module()
        if codec is not None:
            try:
                text = codec.dumps(value)
                if isinstance(text, str):
                    return _KIND_SERIALIZED, text.encode("utf-8", "surrogatepass")
            except Exception:
                pass  # fall back to pickle below
        try:
            import pickle  # only for spilled objects without a simpler encoding

            return _KIND_PICKLE, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            # Not encodable (a live lock, a generator…): keep it in memory, in sequence.
            key = self._pin_keys
            self._pin_keys += 1
            self._pinned[key] = value
            return _KIND_PINNED, _PIN.pack(key)

    def _decode(self, kind: int, payload: bytes) -> object:
        if kind == _KIND_TEXT:
            return payload.decode("utf-8", "surrogatepass")
        if kind == _KIND_SERIALIZED:
            codec = _serialize_module()
            assert codec is not None
            return codec.loads(payload.decode("utf-8", "surrogatepass"))
        if kind == _KIND_PICKLE:
            import pickle

            return pickle.loads(payload)
        if kind == _KIND_PINNED:
            return self._pinned.get(_PIN.unpack(payload)[0])
        raise ValueError(f"corrupt spill frame kind {kind}")

    def _open_spill_file(self) -> None:
        directory = ensure_private_dir(self._spill_dir) if self._spill_dir else default_spill_dir()
        reap_stale_spill_files(directory)
        path = os.path.join(directory, f"job-{os.getpid()}-{os.urandom(16).hex()}.out")
        # No O_APPEND: frames are written at explicit offsets, which splice(2) requires (it
        # refuses an O_APPEND target) and which lets a frame's header follow its payload.
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL
        flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            # The umask can only remove bits; make sure the mode is exactly 0600 anyway.
            os.fchmod(fd, 0o600)
        finally:
            # Unlinked at once: the store reads and writes through the descriptor, so the
            # data lives exactly as long as the store (or pjsh, if it is killed), and a
            # removed directory changes nothing for it.
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._fd = fd
        self._path = path

    def spill_stat(self) -> os.stat_result | None:
        """``fstat`` of the open spill file (it has no name any more), or None."""
        self._settle()
        with self._lock:
            if not self._closed:
                self._flush_batch()
            return None if self._fd is None else os.fstat(self._fd)

    # ---- reading -----------------------------------------------------------------------------

    def read(self, consume: bool = True, streams: Collection[Stream] | None = None) -> list[Record]:
        """Every record not yet consumed, in order (``consume=False`` is Receive-Job -Keep)."""
        return list(self.iter_records(consume=consume, streams=streams))

    def iter_records(
        self, consume: bool = True, streams: Collection[Stream] | None = None
    ) -> Iterator[Record]:
        """Yield unconsumed records in order, reading spilled ones lazily from disk.

        Only records present when iteration starts are yielded. With ``consume`` each record is
        claimed as it is yielded, so stopping early leaves the rest for the next reader and two
        concurrent readers never receive the same record.
        """
        wanted = frozenset(streams) if streams is not None else frozenset(_STREAMS)
        self._settle()
        with self._lock:
            if self._closed:
                return
            self._flush_batch()
            end = self._next_seq
            cursor = self._cursor
            streams = _STREAMS
            mem: list[tuple[int, Record]] = []
            for seq, code, value, entry, _ in self._mem:
                stream = streams[code]
                if stream not in wanted:
                    continue
                first = cursor[stream]
                if entry == _ENTRY_TEXTS:
                    texts: list[str] = value  # type: ignore[assignment]
                    skip = first - seq if first > seq else 0
                    if skip < len(texts):
                        mem.extend(zip(range(seq + skip, seq + len(texts)),
                                       map(Record, repeat(stream), texts[skip:])))
                elif seq >= first:
                    mem.append((seq, Record(stream, value, entry == _ENTRY_RAW)))
            fd = self._fd
            segments = [(segment, (segment[0], segment[2], segment[1]))
                        for segment in self._segments if segment[1] > segment[0]]
            self._readers += 1
        try:
            for seq, rec in mem:
                if consume and not self._claim(rec.stream, seq):
                    continue
                yield rec
            if fd is not None:
                for segment, (off, seq0, stop) in segments:
                    yield from self._iter_disk(segment, (off, seq0, stop, fd), end, wanted,
                                               consume)
        finally:
            with self._lock:
                self._readers -= 1
            self._trim()

    def _claim(self, stream: Stream, seq: int) -> bool:
        with self._lock:
            if seq < self._cursor[stream]:
                return False  # another reader took it
            self._cursor[stream] = seq + 1
            return True

    def _iter_disk(
        self, segment: list[int], disk: tuple[int, int, int, int | None], end: int,
        wanted: frozenset[Stream], consume: bool,
    ) -> Iterator[Record]:
        off, seq, stop, fd = disk
        assert fd is not None
        cursor = self._cursor
        first_unconsumed: tuple[int, int] | None = None
        # ``buf`` holds the file's bytes [buf_off, buf_off + len(buf)); it is refilled (and its
        # consumed prefix dropped) only when a frame runs past its end.
        buf = b""
        buf_off = off

        def cover(upto: int) -> None:
            nonlocal buf, buf_off
            if upto <= buf_off + len(buf):
                return
            buf = buf[off - buf_off:]
            buf_off = off
            have = buf_off + len(buf)
            size = min(max(upto - have, _READ_BLOCK), stop - have)
            buf += _pread_all(fd, size, have)

        try:
            while off < stop and seq < end:
                cover(off + _FRAME.size)
                code, kind, length = _FRAME.unpack_from(buf, off - buf_off)
                stream = _STREAMS[code]
                frame_end = off + _FRAME.size + length
                if stream in wanted and seq >= cursor[stream]:
                    cover(frame_end)
                    payload = buf[off + _FRAME.size - buf_off:frame_end - buf_off]
                    record = (Record(stream, payload, True) if kind == _KIND_RAW
                              else Record(stream, self._decode(kind, payload), False))
                    if not consume:
                        if first_unconsumed is None:
                            first_unconsumed = (off, seq)
                        yield record
                    elif self._claim(stream, seq):
                        yield record
                elif seq >= cursor[stream] and first_unconsumed is None:
                    first_unconsumed = (off, seq)
                off = frame_end
                seq += 1
        finally:
            # Frames before the first unconsumed one never need scanning again.
            head = first_unconsumed if first_unconsumed is not None else (off, seq)
            with self._lock:
                if self._fd == fd and head[0] > segment[0] and any(
                        s is segment for s in self._segments):
                    segment[0], segment[2] = head

    def _trim(self) -> None:
        with self._lock:
            if self._readers:
                return  # a reader is still scanning: the file and memory must stay put
            if self._closed:
                self._release()
                return
            cursor = self._cursor
            freed = 0
            while self._mem:
                seq, code, value, entry, size = self._mem[0]
                first = cursor[_STREAMS[code]]
                if entry == _ENTRY_TEXTS:
                    texts: list[str] = value  # type: ignore[assignment]
                    if first < seq + len(texts):
                        if first > seq:
                            # Partly consumed: the rest stays, as per-string entries would.
                            part = _texts_size(texts[:first - seq])
                            self._mem[0] = (first, code, texts[first - seq:], entry, size - part)
                            freed += part
                        break
                elif seq >= first:
                    break
                self._mem.popleft()
                freed += size
            if freed:
                self._mem_bytes -= freed
                self._charge(-freed)
            if self._fd is not None and self._disk_end and not self._batch and all(
                    s[0] >= s[1] for s in self._segments):
                # Everything on disk was consumed: start the file over so it does not grow
                # forever, and let new records use memory again.
                os.ftruncate(self._fd, 0)
                self._disk_end = 0
                self._segments = []
                self._pinned.clear()

    def iter_bytes(self, stream: Stream = Stream.Output, consume: bool = True) -> Iterator[bytes]:
        """Yield one stream's data as byte chunks without loading it all; objects on that
        stream come out as their text plus a newline."""
        for record in self.iter_records(consume=consume, streams=(stream,)):
            if record.raw:
                assert isinstance(record.value, bytes)
                yield record.value
            else:
                yield (str(record.value) + "\n").encode("utf-8", "surrogateescape")

    # ---- state -------------------------------------------------------------------------------

    @property
    def has_more(self) -> bool:
        """True while any record has not been consumed (False once closed)."""
        self._settle()
        with self._lock:
            return not self._closed and any(self._last_seq[s] >= self._cursor[s] for s in _STREAMS)

    def has_more_in(self, stream: Stream) -> bool:
        """True while a record of ``stream`` has not been consumed."""
        self._settle()
        with self._lock:
            return not self._closed and self._last_seq[stream] >= self._cursor[stream]

    @property
    def memory_bytes(self) -> int:
        """Rough bytes held in memory."""
        self._settle()
        return self._mem_bytes

    @property
    def disk_bytes(self) -> int:
        """Bytes currently in the spill file (and its batch not yet written)."""
        self._settle()
        return self._disk_end + len(self._batch)

    @property
    def charged_bytes(self) -> int:
        """Bytes this store holds in memory by the budget's accounting (records in memory
        and the batch of spilled objects not yet written)."""
        self._settle()
        return self._charged

    @property
    def budget(self) -> MemoryBudget:
        """The memory budget this store charges."""
        return self._budget

    @property
    def spill_path(self) -> str | None:
        """Where the spill file was created, once something was spilled (None after close);
        the name is unlinked at once, the store keeps the file open."""
        return self._path

    @property
    def closed(self) -> bool:
        """True once closed; later appends are dropped."""
        return self._closed

    def close(self) -> None:
        """Drop all records and delete the spill file (once no reader is scanning it)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._pending.clear()
            if not self._readers:
                self._release()

    def _release(self) -> None:
        self._mem.clear()
        self._mem_bytes = 0
        self._batch = bytearray()
        if self._charged:
            self._charge(-self._charged)
        self._pinned.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._path = None  # unlinked when it was opened

    def __del__(self) -> None:
        # A forgotten store must not leave its spill file behind.
        with contextlib.suppress(Exception):
            if not self._closed and self._path is not None:
                self.close()
        with contextlib.suppress(Exception):
            if self._reported:
                # Gone without close(): its memory is no longer held (no lock is taken in a
                # finaliser, which may run on any thread at any point).
                self._budget.release(self._reported)
                self._reported = 0


def _write_all(fd: int, header: bytes, payload: bytes | bytearray | memoryview,
               offset: int) -> None:
    """Write a frame at ``offset`` with one ``pwritev`` in the common case, finishing any
    partial write."""
    total = len(header) + len(payload)
    if _pwritev is None:  # pragma: no cover - platforms without pwritev (old macOS)
        os.lseek(fd, offset, os.SEEK_SET)
        written = os.writev(fd, [header, payload])
        while written < total:
            written += os.write(fd, memoryview(header + bytes(payload))[written:])
        return
    written = _pwritev(fd, [header, payload], offset)
    while written < total:
        if written < len(header):
            written += _pwritev(fd, [header[written:], payload], offset + written)
        else:
            written += os.pwrite(fd, memoryview(payload)[written - len(header):],
                                 offset + written)


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            raise OSError(f"spill file truncated at offset {offset}")
        parts.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(parts)
