"""The job state machine, parent-state derivation and the Job object's PowerShell properties."""

from __future__ import annotations

import itertools

import pytest

from pjsh.jobs.model import (
    TRANSITIONS,
    InvalidJobStateTransition,
    Job,
    JobEvent,
    JobEventKind,
    JobState,
    JobStateInfo,
    PSRemotingChildJob,
    PSRemotingJob,
    ThreadJob,
    can_transition,
    derive_parent_state,
    is_finished,
    is_persistent,
)
from pjsh.jobs.storage import Stream
from pjsh.runtime.values import lookup_property, ps_properties, type_names

S = JobState

# Written out independently of the implementation's table: PowerShell's edges (reference §2)
# plus pjsh's documented additions.
EXPECTED_EDGES = {
    (S.NotStarted, S.Running), (S.NotStarted, S.Failed), (S.NotStarted, S.Stopping),
    (S.NotStarted, S.Stopped),
    (S.Running, S.Completed), (S.Running, S.Failed), (S.Running, S.Stopping),
    (S.Running, S.Blocked), (S.Running, S.AtBreakpoint), (S.Running, S.Disconnected),
    (S.Running, S.Suspending), (S.Running, S.Suspended),
    (S.Blocked, S.Running), (S.Blocked, S.Completed), (S.Blocked, S.Failed),
    (S.Blocked, S.Stopping), (S.Blocked, S.Disconnected),
    (S.AtBreakpoint, S.Running), (S.AtBreakpoint, S.Completed), (S.AtBreakpoint, S.Failed),
    (S.AtBreakpoint, S.Stopping), (S.AtBreakpoint, S.Disconnected),
    (S.Disconnected, S.Running), (S.Disconnected, S.Completed), (S.Disconnected, S.Failed),
    (S.Disconnected, S.Stopping),
    (S.Suspending, S.Suspended), (S.Suspending, S.Running), (S.Suspending, S.Failed),
    (S.Suspending, S.Stopping),
    (S.Suspended, S.Running), (S.Suspended, S.Stopping), (S.Suspended, S.Completed),
    (S.Suspended, S.Failed), (S.Suspended, S.Disconnected),
    (S.Stopping, S.Stopped), (S.Stopping, S.Failed), (S.Stopping, S.Disconnected),
}

ALL_PAIRS = [(a, b) for a, b in itertools.product(JobState, JobState) if a is not b]


def job_in(state: JobState, job_id: int = 1) -> Job:
    """A bare job forced into ``state`` through legal steps."""
    job = Job(job_id)
    path = {
        S.NotStarted: [],
        S.Running: [S.Running],
        S.Completed: [S.Running, S.Completed],
        S.Failed: [S.Running, S.Failed],
        S.Stopped: [S.Running, S.Stopping, S.Stopped],
        S.Blocked: [S.Running, S.Blocked],
        S.Suspended: [S.Running, S.Suspended],
        S.Disconnected: [S.Running, S.Disconnected],
        S.Suspending: [S.Running, S.Suspending],
        S.Stopping: [S.Running, S.Stopping],
        S.AtBreakpoint: [S.Running, S.AtBreakpoint],
    }[state]
    for step in path:
        job.set_state(step)
    return job


def test_enum_numbering_matches_powershell() -> None:
    assert [(s.name, s.value) for s in JobState] == [
        ("NotStarted", 0), ("Running", 1), ("Completed", 2), ("Failed", 3), ("Stopped", 4),
        ("Blocked", 5), ("Suspended", 6), ("Disconnected", 7), ("Suspending", 8),
        ("Stopping", 9), ("AtBreakpoint", 10),
    ]
    assert str(S.Running) == "Running"


def test_transition_table_is_exactly_the_expected_edges() -> None:
    actual = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert actual == EXPECTED_EDGES


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=lambda s: s.name)
def test_every_edge_is_allowed_or_raises(old: JobState, new: JobState) -> None:
    job = job_in(old)
    if (old, new) in EXPECTED_EDGES:
        assert can_transition(old, new)
        assert job.set_state(new, "why") is True
        assert job.JobStateInfo == JobStateInfo(new, "why")
    else:
        assert not can_transition(old, new)
        with pytest.raises(InvalidJobStateTransition, match=f"from {old.name} to {new.name}"):
            job.set_state(new)
        assert job.state is old


def test_same_state_is_a_no_op_not_an_error() -> None:
    job = job_in(S.Running)
    assert job.set_state(S.Running) is False


def test_finished_states_are_final() -> None:
    for state in (S.Completed, S.Failed, S.Stopped):
        assert TRANSITIONS[state] == frozenset()


def test_finished_and_persistent_sets() -> None:
    assert {s for s in JobState if is_finished(s)} == {S.Completed, S.Failed, S.Stopped}
    assert {s for s in JobState if is_persistent(s)} == {
        S.Completed, S.Failed, S.Stopped, S.Suspended, S.Disconnected,
    }


def test_state_info_prints_the_state_name_and_carries_a_reason() -> None:
    info = JobStateInfo(S.Failed, "'make' exited with code 2")
    assert str(info) == "Failed"
    assert ps_properties(info) == [("State", S.Failed), ("Reason", "'make' exited with code 2")]


def test_properties_in_select_object_star_order() -> None:
    names = [name for name, _ in ps_properties(Job(1))]
    assert names == [
        "State", "HasMoreData", "StatusMessage", "Location", "Command", "JobStateInfo",
        "Finished", "InstanceId", "Id", "Name", "ChildJobs", "PSBeginTime", "PSEndTime",
        "PSJobTypeName", "Output", "Error", "Progress", "Verbose", "Debug", "Warning",
        "Information", "ExitCode", "ProcessId",
    ]


def test_defaults_name_state_and_type_names() -> None:
    job = Job(7, command=" 1 + 1 ")
    assert job.Name == "Job7" and job.Id == 7
    assert job.State == "NotStarted" and isinstance(job.State, str)
    assert job.Command == " 1 + 1 "
    assert lookup_property(job, "state") == (True, "NotStarted")
    assert type_names(job)[0] == "System.Management.Automation.Job"
    assert type_names(PSRemotingJob(1))[:2] == [
        "System.Management.Automation.PSRemotingJob", "System.Management.Automation.Job",
    ]
    assert "System.Management.Automation.Job" in type_names(ThreadJob(1))
    assert PSRemotingJob(1).PSJobTypeName == "BackgroundJob"
    assert PSRemotingChildJob(1).PSJobTypeName == ""
    assert ThreadJob(1).PSJobTypeName == "ThreadJob"
    assert Job(1, name="build").Name == "build"
    assert Job(1).InstanceId != Job(1).InstanceId


def test_begin_time_on_first_running_and_end_time_on_finish() -> None:
    job = Job(1)
    assert job.PSBeginTime is None and job.PSEndTime is None
    job.set_state(S.Running)
    begin = job.PSBeginTime
    assert begin is not None and job.PSEndTime is None
    job.set_state(S.Suspended)
    job.set_state(S.Running)
    assert job.PSBeginTime is begin  # only the first Running counts
    job.set_state(S.Completed)
    assert job.PSEndTime is not None and job.PSEndTime >= begin


def test_finished_event_is_set_after_observers_hear_the_change() -> None:
    job = Job(1)
    seen: list[tuple[JobEventKind, str | None, bool]] = []

    def observer(event: JobEvent) -> None:
        state = event.state.State.name if event.state else None
        seen.append((event.kind, state, job.finished.is_set()))

    job.add_observer(observer)
    job.set_state(S.Running)
    assert not job.Finished.is_set()
    job.set_state(S.Failed, "boom")
    assert job.finished.is_set()
    assert seen == [
        (JobEventKind.STARTED, "Running", False),
        (JobEventKind.STATE_CHANGED, "Running", False),
        (JobEventKind.STATE_CHANGED, "Failed", False),
    ]
    assert job.reason == "boom"


def test_output_events_and_removed_observers() -> None:
    job = Job(1)
    events: list[JobEvent] = []
    job.add_observer(events.append)
    job.write(Stream.Warning, "careful")
    job.write_bytes(Stream.Output, b"x\n")
    job.remove_observer(events.append)
    job.write(Stream.Output, 1)
    assert [(e.kind, e.stream) for e in events] == [
        (JobEventKind.OUTPUT, Stream.Warning), (JobEventKind.OUTPUT, Stream.Output),
    ]


def test_a_failing_observer_does_not_break_the_state_change() -> None:
    job = Job(1)

    def broken(event: JobEvent) -> None:
        raise RuntimeError("observer bug")

    job.add_observer(broken)
    job.set_state(S.Running)
    assert job.state is S.Running


# ---- parent state derived from children --------------------------------------------------------

@pytest.mark.parametrize(("children", "stop", "expected"), [
    ([S.Completed, S.Completed], False, S.Completed),
    ([S.Completed, S.Failed], False, S.Failed),
    ([S.Failed, S.Stopped], True, S.Failed),
    ([S.Completed, S.Completed], True, S.Stopped),
    ([S.Completed, S.Stopped], False, S.Stopped),
    ([S.Disconnected, S.Failed], False, S.Disconnected),
    ([S.Completed, S.Running], False, None),
    ([S.Running, S.Blocked], False, S.Blocked),
    ([S.Running, S.AtBreakpoint], False, S.AtBreakpoint),
    ([S.Suspended, S.Completed], False, S.Suspended),
    ([S.Suspended, S.Running], False, None),
    ([S.NotStarted, S.Running], False, None),
])
def test_derive_parent_state_rules(
    children: list[JobState], stop: bool, expected: JobState | None
) -> None:
    assert derive_parent_state(S.Running, children, stop) is expected


def test_derived_parent_returns_to_running_when_no_child_blocks() -> None:
    assert derive_parent_state(S.Blocked, [S.Running, S.Running], False) is S.Running
    assert derive_parent_state(S.AtBreakpoint, [S.Running], False) is S.Running
    assert derive_parent_state(S.Suspended, [S.Running], False) is S.Running
    assert derive_parent_state(S.Stopping, [S.Running, S.Blocked], True) is None
    assert derive_parent_state(S.Completed, [S.Failed], False) is None


def make_parent(n: int) -> tuple[PSRemotingJob, list[PSRemotingChildJob]]:
    children = [PSRemotingChildJob(i + 2, location=f"host{i}") for i in range(n)]
    parent = PSRemotingJob(1, children=children, command="cmd")
    parent.set_state(S.Running)
    return parent, children


def test_live_parent_follows_its_children() -> None:
    parent, (a, b) = make_parent(2)
    a.set_state(S.Running)
    b.set_state(S.Running)
    a.set_state(S.Blocked)
    assert parent.state is S.Blocked
    a.set_state(S.Running)
    assert parent.state is S.Running
    a.set_state(S.Completed)
    assert parent.state is S.Running and not parent.finished.is_set()
    b.set_state(S.Failed, "'make' exited with code 2")
    assert parent.state is S.Failed
    assert parent.reason is None  # as PowerShell: the reason lives on the child
    assert parent.ChildJobs[1].JobStateInfo.Reason == "'make' exited with code 2"
    assert parent.finished.is_set() and parent.PSEndTime is not None


def test_stopped_parent_when_stop_was_requested() -> None:
    parent, (a, b) = make_parent(2)
    for child in (a, b):
        child.set_state(S.Running)
    parent.stop_requested = True
    parent.set_state(S.Stopping)
    for child in (a, b):
        child.set_state(S.Stopping)
        child.set_state(S.Stopped)
    assert parent.state is S.Stopped


def test_parent_location_command_and_single_child_extras() -> None:
    parent, (child,) = make_parent(1)
    child.exit_code, child.process_id = 2, 4242
    assert parent.Location == "host0"
    assert parent.ExitCode == 2 and parent.ProcessId == 4242
    parent2, _ = make_parent(3)
    assert parent2.Location == "host0,host1,host2"
    assert parent2.ExitCode is None


def test_child_and_parent_relationship() -> None:
    parent, children = make_parent(2)
    assert all(c.parent is parent for c in children)
    assert parent.ChildJobs == children and parent.ChildJobs is not parent.children


# ---- HasMoreData -------------------------------------------------------------------------------

def test_leaf_has_more_data_follows_unread_records() -> None:
    job = Job(1)
    assert job.HasMoreData is False
    job.write(Stream.Output, "a")
    assert job.HasMoreData is True
    job.read(consume=False)
    assert job.HasMoreData is True  # -Keep
    job.read()
    assert job.HasMoreData is False


def test_parent_has_more_data_until_finished_then_if_any_child_has_data() -> None:
    parent, (a, b) = make_parent(2)
    assert parent.HasMoreData is True  # running, nothing yet
    a.set_state(S.Running)
    b.set_state(S.Running)
    b.write(Stream.Output, 42)
    a.set_state(S.Completed)
    b.set_state(S.Completed)
    assert parent.HasMoreData is True
    records = parent.read(consume=False)
    assert [r.value for r in records] == [42]
    assert parent.HasMoreData is True
    assert [r.value for r in parent.read()] == [42]
    assert parent.HasMoreData is False


def test_stream_properties_show_unread_values_and_decode_native_lines() -> None:
    job = Job(1)
    job.write_bytes(Stream.Output, b"one\ntw")
    job.write_bytes(Stream.Output, b"o\r\nthree")
    job.write(Stream.Verbose, "v1")
    job.write_bytes(Stream.Error, b"bad\n")
    assert job.Output == ["one", "two", "three"]
    assert job.Verbose == ["v1"]
    assert job.Error == ["bad"]
    assert job.Warning == [] and job.Debug == [] and job.Progress == [] and job.Information == []
    assert job.HasMoreData  # reading the properties does not consume


def test_read_recurses_parent_then_children_in_order() -> None:
    parent, (a, b) = make_parent(2)
    a.write(Stream.Output, "a1")
    b.write(Stream.Error, "b-err")
    a.write(Stream.Output, "a2")
    assert [r.value for r in parent.read(recurse=False)] == []
    assert [r.value for r in parent.read()] == ["a1", "a2", "b-err"]


def test_a_job_whose_output_could_not_be_kept_fails_with_the_bytes_lost() -> None:
    import errno
    import os

    job = PSRemotingChildJob(1, command="x")
    job.set_state(S.Running)
    job.write(Stream.Output, "kept")
    job.store._lose(1234, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert job.StatusMessage == "Output lost: 1234 bytes (No space left on device)"
    job.finish_if_unfinished(S.Completed)
    assert job.state is S.Failed
    assert job.reason == ("1234 bytes of the job's output could not be kept (No space left on "
                          "device); the output kept is complete up to the first byte lost.")
    assert [r.value for r in job.read()] == ["kept"]


def test_a_failed_job_that_also_lost_output_says_both() -> None:
    import errno
    import os

    job = ThreadJob(1, command="x")
    job.set_state(S.Running)
    job.store._lose(10, OSError(errno.ENOENT, os.strerror(errno.ENOENT)))
    job.set_state(S.Failed, "'make' exited with code 2")
    assert job.reason is not None and job.reason.startswith("'make' exited with code 2; 10 bytes")
