"""A thread job's success objects appended without the store's lock (OutputStore.pending_output,
JobOutputSink): every reader and writer of the store sees them in order, exactly as if each had
been stored by append_object; observers of output are told of each object at once."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pjsh.jobs.model import Job, JobEvent, JobEventKind
from pjsh.jobs.storage import PENDING_MAX, OutputStore, Record, Stream
from pjsh.jobs.thread import JobOutputSink


class _Line(str):
    """A str subclass (as Receive-Job's NativeLine): kept with its type in memory."""


# One step on a store: ("pending", v) appends to the pending queue (take_pending once
# PENDING_MAX wait, as the sink does); ("object", stream, v), ("bytes", stream, b);
# ("read", consume, stream or None); ("some", n) consumes the first n records only (a reader
# that stops early); ("take",); ("evict",) moves memory to the spill file; ("probe",) reads
# the counters. Pending runs ("many", texts) append a run of strings at once.
STEPS = st.lists(st.one_of(
    st.tuples(st.just("pending"), st.one_of(st.integers(), st.text(max_size=30))),
    st.tuples(st.just("many"), st.lists(st.one_of(st.text(max_size=12),
                                                  st.builds(_Line, st.text(max_size=12))),
                                        min_size=1, max_size=40)),
    st.tuples(st.just("some"), st.integers(min_value=0, max_value=30)),
    st.tuples(st.just("evict")),
    st.tuples(st.just("object"), st.sampled_from([Stream.Output, Stream.Error, Stream.Warning]),
              st.text(max_size=30)),
    st.tuples(st.just("bytes"), st.sampled_from([Stream.Output, Stream.Error]),
              st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("read"), st.booleans(),
              st.sampled_from([None, Stream.Output, Stream.Error])),
    st.tuples(st.just("take")),
    st.tuples(st.just("probe")),
), max_size=60)


def _apply(store: OutputStore, steps: list[tuple[object, ...]], pending: bool) -> list[object]:
    """Run the steps; ``pending`` False stores what would be pending with append_object."""
    seen: list[object] = []
    for step in steps:
        kind = step[0]
        if kind in ("pending", "many"):
            values = step[1] if kind == "many" else [step[1]]
            assert isinstance(values, list)
            for value in values:
                if pending:
                    store.pending_output.append(value)
                    if len(store.pending_output) >= PENDING_MAX:
                        store.take_pending()
                else:
                    store.append_object(Stream.Output, value)
        elif kind == "some":
            assert isinstance(step[1], int)
            records = store.iter_records()
            some = [(r.stream, r.value, type(r.value), r.raw)
                    for r in islice(records, step[1])]
            records.close()
            seen.append(some)
        elif kind == "evict":
            seen.append(store.evict())
        elif kind == "object":
            assert isinstance(step[1], Stream)
            store.append_object(step[1], step[2])
        elif kind == "bytes":
            assert isinstance(step[1], Stream) and isinstance(step[2], bytes)
            store.append_bytes(step[1], step[2])
        elif kind == "read":
            assert step[2] is None or isinstance(step[2], Stream)
            records: list[Record] = store.read(consume=bool(step[1]),
                                               streams=None if step[2] is None else (step[2],))
            seen.append([(r.stream, r.value, type(r.value), r.raw) for r in records])
        elif kind == "take":
            if pending:
                store.take_pending()
        else:
            seen.append((store.has_more, store.has_more_in(Stream.Output), store.memory_bytes,
                         store.disk_bytes, store.charged_bytes, store.spilling))
    seen.append([(r.stream, r.value, type(r.value), r.raw) for r in store.read(consume=False)])
    return seen


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(steps=STEPS, limit=st.sampled_from([0, 200, 1 << 20]))
def test_pending_objects_read_and_order_as_if_appended_at_once(
        steps: list[tuple[object, ...]], limit: int, tmp_path: Path) -> None:
    reference = OutputStore(limit=limit, spill_dir=str(tmp_path / "a"))
    store = OutputStore(limit=limit, spill_dir=str(tmp_path / "b"))
    try:
        assert _apply(store, steps, pending=True) == _apply(reference, steps, pending=False)
    finally:
        store.close()
        reference.close()


def test_a_closed_store_drops_pending_objects() -> None:
    store = OutputStore()
    store.pending_output.append("x")
    store.close()
    assert store.read() == []
    assert not store.pending_output


def test_the_sink_stores_in_blocks_while_nobody_hears_output() -> None:
    job = Job(1)
    sink = JobOutputSink(job)
    for i in range(PENDING_MAX - 1):
        sink.send(i)
    assert len(job.store.pending_output) == PENDING_MAX - 1  # not stored one by one
    sink.send("last")
    assert not job.store.pending_output
    assert [r.value for r in job.read()] == [*range(PENDING_MAX - 1), "last"]


def test_a_reader_sees_pending_objects_at_once() -> None:
    job = Job(1)
    sink = JobOutputSink(job)
    sink.send(1)
    sink.send(2)
    assert job.HasMoreData
    assert [r.value for r in job.read()] == [1, 2]


def test_each_object_is_told_to_an_output_observer_and_states_only_ones_hear_none() -> None:
    job = Job(1)
    sink = JobOutputSink(job)
    told: list[JobEvent] = []
    states: list[JobEvent] = []
    sink.send("before")
    job.add_observer(states.append, output=False)
    job.add_observer(told.append)
    assert [r.value for r in job.read()] == ["before"]  # what an observer reads first
    sink.send("a")
    assert [e.kind for e in told] == [JobEventKind.OUTPUT]
    assert not job.store.pending_output  # stored before the observer was told
    sink.send("b")
    assert [e.kind for e in told] == [JobEventKind.OUTPUT] * 2
    assert states == []
    sink.write_bytes(b"raw\n")
    assert [(r.value, r.raw) for r in job.read()] == [("a", False), ("b", False),
                                                      (b"raw\n", True)]


def test_objects_pending_when_the_job_ends_are_stored_before_its_state() -> None:
    from pjsh.jobs.model import JobState

    job = Job(1)
    sink = JobOutputSink(job)
    sink.send("x")
    job.set_state(JobState.Running)
    job.set_state(JobState.Completed)
    assert not job.store.pending_output
    assert [r.value for r in job.read()] == ["x"]


def test_concurrent_writers_and_a_consuming_reader_lose_and_repeat_nothing(tmp_path: Path) -> None:
    import threading

    job = Job(1, store=OutputStore(limit=4096, spill_dir=str(tmp_path)))
    sink = JobOutputSink(job)
    count = 5000

    def objects() -> None:
        for i in range(count):
            sink.send(i)

    def errors() -> None:
        for i in range(count):
            job.write(Stream.Error, i)

    writers = [threading.Thread(target=objects), threading.Thread(target=errors)]
    for w in writers:
        w.start()
    got: list[Record] = []
    while any(w.is_alive() for w in writers):
        got += job.read()
    for w in writers:
        w.join()
    got += job.read()
    assert [r.value for r in got if r.stream is Stream.Output] == list(range(count))
    assert [r.value for r in got if r.stream is Stream.Error] == list(range(count))


def test_a_subscriber_added_after_a_job_was_registered_hears_its_output(tmp_path: Path) -> None:
    from pjsh.jobs.manager import JobManager

    manager = JobManager(spill_dir=str(tmp_path))
    try:
        job = manager.add(Job(manager.next_id()))
        assert not job.output_heard  # nobody listens: the sink may store in blocks
        heard: list[JobEventKind] = []
        manager.subscribe(lambda event: heard.append(event.kind))
        assert job.output_heard
        JobOutputSink(job).send("x")
        assert heard == [JobEventKind.OUTPUT]
    finally:
        manager.shutdown()


def test_a_block_of_strings_read_in_part_then_evicted_matches_storing_one_by_one(
        tmp_path: Path) -> None:
    steps: list[tuple[object, ...]] = [
        ("many", ["a", _Line("bé"), "c" * 20, "", "d"]), ("some", 2), ("probe",),
        ("many", ["e", "f"]), ("some", 1), ("probe",), ("evict",), ("probe",),
        ("read", True, None), ("probe",)]
    for limit in (1 << 20, 200):
        reference = OutputStore(limit=limit, spill_dir=str(tmp_path / f"a{limit}"))
        store = OutputStore(limit=limit, spill_dir=str(tmp_path / f"b{limit}"))
        try:
            assert _apply(store, steps, pending=True) == _apply(reference, steps, pending=False)
        finally:
            store.close()
            reference.close()


def test_a_thread_jobs_strings_past_the_memory_bound_read_back_in_order(tmp_path: Path) -> None:
    job = Job(1, store=OutputStore(limit=4096, spill_dir=str(tmp_path)))
    sink = JobOutputSink(job)
    # ASCII, non-ASCII, a lone surrogate, and strings past a short frame header's lengths.
    values = [f"ligne é {i}" if i % 7 == 0 else "x" * (100 + i % 60) if i % 11 == 0
              else f"\udc80 {i}" if i % 13 == 0 else f"line {i}" for i in range(3000)]
    got: list[object] = []
    for i, value in enumerate(values):
        sink.send(value)
        if i % 1000 == 999:
            got += [r.value for r in job.read()]  # while it runs, memory then disk
    got += [r.value for r in job.read()]
    assert got == values


@given(texts=st.lists(st.one_of(st.text(max_size=20), st.text(min_size=120, max_size=200),
                                st.text(alphabet="abc", min_size=126, max_size=130)),
                      max_size=20),
       stream=st.sampled_from([Stream.Output, Stream.Error]))
def test_a_block_of_strings_is_framed_as_each_string_alone(texts: list[str],
                                                           stream: Stream) -> None:
    from pjsh.jobs.storage import _FRAME, _KIND_TEXT, _STREAM_CODE, _text_frames

    code = _STREAM_CODE[stream]
    alone = b"".join(_FRAME.pack(code, _KIND_TEXT, len(payload)) + payload
                     for payload in (t.encode("utf-8", "surrogatepass") for t in texts))
    assert _text_frames(code, texts) == alone
