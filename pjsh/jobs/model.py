"""The job model: states and their legal transitions, and the Job object scripts see.

A job is a typed state machine. Backends (process, thread, remote, fake) move a job between
states with :meth:`Job.set_state`; the transition table below decides what is legal, and an
illegal move raises. A parent job (``Start-Job``'s BackgroundJob, ``Invoke-Command -AsJob``'s
RemoteJob) has no backend of its own: its state is derived from its children's, as PowerShell's
``PSRemotingJob`` does. Every state change and every piece of output is an event delivered to
the job's observers; entering a finished state also sets the job's ``finished`` event so
synchronous code can block on it without polling.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Protocol

from pjsh.jobs.storage import PENDING_MAX, OutputStore, Record, Stream, decode_lines
from pjsh.lang.record import dataclass
from pjsh.runtime.values import PSPropertyClass

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    import uuid
    from collections.abc import Collection
    from typing import TypeAlias

    _ObjectListBase = list[object]
else:
    _ObjectListBase = list  # Python 3.8 cannot subscript list at run time (the engine runs there)


class JobState(Enum):
    """PowerShell's ``System.Management.Automation.JobState``, with the same numbering."""

    NotStarted = 0
    Running = 1
    Completed = 2
    Failed = 3
    Stopped = 4
    Blocked = 5
    Suspended = 6
    Disconnected = 7
    Suspending = 8
    Stopping = 9
    AtBreakpoint = 10

    # Identity hash in C, as for Stream (storage.py): states key the transition table.
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.name


_S = JobState

# Legal transitions. PowerShell's own (reference §2) plus, with the reason for each extra edge:
# - Running <-> Suspended directly: pjsh job control (SIGSTOP/SIGCONT, Ctrl+Z) has no
#   intermediate Suspending step; Suspending stays for backends that need one.
# - Running -> Failed also covers a dropped connection (remote backend).
# - NotStarted -> Failed: a job that cannot start (command not found) fails before running.
# - NotStarted -> Stopping/Stopped: a throttled thread job stopped while still queued.
# - Suspended -> Stopping/Completed/Failed/Disconnected: a suspended process can be stopped, be
#   killed from outside, or be continued behind our back and finish; a remote one can lose its
#   connection.
# - Blocked/AtBreakpoint/Disconnected -> finished states: a parent's state is derived from its
#   children, and the last child may finish while the parent shows Blocked or AtBreakpoint.
# - Stopping -> Failed/Disconnected: a parent being stopped ends Failed if a child failed, or
#   Disconnected if a child was disconnected (derivation rule 4).
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _S.NotStarted: frozenset({_S.Running, _S.Failed, _S.Stopping, _S.Stopped}),
    _S.Running: frozenset({
        _S.Completed, _S.Failed, _S.Stopping, _S.Blocked, _S.AtBreakpoint, _S.Disconnected,
        _S.Suspending, _S.Suspended,
    }),
    _S.Blocked: frozenset({_S.Running, _S.Completed, _S.Failed, _S.Stopping, _S.Disconnected}),
    _S.AtBreakpoint: frozenset({
        _S.Running, _S.Completed, _S.Failed, _S.Stopping, _S.Disconnected,
    }),
    _S.Disconnected: frozenset({_S.Running, _S.Completed, _S.Failed, _S.Stopping}),
    _S.Suspending: frozenset({_S.Suspended, _S.Running, _S.Failed, _S.Stopping}),
    _S.Suspended: frozenset({
        _S.Running, _S.Stopping, _S.Completed, _S.Failed, _S.Disconnected,
    }),
    _S.Stopping: frozenset({_S.Stopped, _S.Failed, _S.Disconnected}),
    _S.Completed: frozenset(),
    _S.Failed: frozenset(),
    _S.Stopped: frozenset(),
}

_FINISHED = frozenset({_S.Completed, _S.Failed, _S.Stopped})
_PERSISTENT = _FINISHED | {_S.Suspended, _S.Disconnected}


def is_finished(state: JobState) -> bool:
    """Completed, Failed or Stopped: final states (PowerShell's ``IsFinishedState``)."""
    return state in _FINISHED


def is_persistent(state: JobState) -> bool:
    """A finished state, Suspended or Disconnected: where Wait-Job stops waiting."""
    return state in _PERSISTENT


def can_transition(old: JobState, new: JobState) -> bool:
    """Tell whether the transition table allows ``old -> new``."""
    return new in TRANSITIONS[old]


class InvalidJobStateTransition(ValueError):
    """A backend tried a state change the transition table forbids."""

    def __init__(self, job_id: int, old: JobState, new: JobState) -> None:
        super().__init__(f"Job {job_id} cannot change state from {old.name} to {new.name}.")
        self.old = old
        self.new = new


class JobError(Exception):
    """A job operation that cannot be done (not supported by the job type, wrong state)."""


# PowerShell's wording (RemotingErrorIdStrings); the job cmdlets add the parameter suffix.
SUSPEND_NOT_SUPPORTED = (
    "Cannot suspend the job that has an ID of {0}. Suspending jobs is not supported for some "
    "job types. For more information about support for suspending jobs, see the Help topic for "
    "the job type."
)
RESUME_NOT_SUPPORTED = (
    "Cannot resume the job that has an ID of {0}. Resuming jobs is not supported for some job "
    "types. For more information about support for resuming jobs, see the Help topic for the "
    "job type."
)
CANNOT_REMOVE_RUNNING = (
    "The command cannot remove the job with the job ID {0} because the job is not finished. "
    "To remove the job, first stop the job, or use the Force parameter."
)
CANNOT_REMOVE_CHILD = (
    "The command cannot remove the job because it does not exist or because it is a child job. "
    "Child jobs can be removed only by removing the parent job."
)


def output_lost_reason(store: OutputStore) -> str:
    """The Reason of a job whose output could not all be kept."""
    return (f"{store.lost_bytes} bytes of the job's output could not be kept "
            f"({store.lost_reason}); the output kept is complete up to the first byte lost.")


class JobFailureReason(str):
    """``$job.JobStateInfo.Reason``: an exception in PowerShell, so scripts read
    ``.Reason.Message``; a str here, so it still reads, prints and compares as its message."""

    ps_type_names = ("System.Exception", "System.Object")
    ps_property_names = ("Message",)

    @property
    def Message(self) -> str:
        """The failure's message."""
        return str.__str__(self)


_STREAM_ITEM_TYPES = {
    Stream.Output: "System.Management.Automation.PSObject",
    Stream.Error: "System.Management.Automation.ErrorRecord",
    Stream.Progress: "System.Management.Automation.ProgressRecord",
    Stream.Verbose: "System.Management.Automation.VerboseRecord",
    Stream.Debug: "System.Management.Automation.DebugRecord",
    Stream.Warning: "System.Management.Automation.WarningRecord",
    Stream.Information: "System.Management.Automation.InformationRecord",
}


class PSDataCollection(_ObjectListBase):
    """A job's stream as scripts see it (``$job.Output``, ``.Error``, ``.Verbose``…), like
    PowerShell's PSDataCollection: Count, indexing, enumeration and ``ReadAll()``.

    It is a snapshot of the stream's unreceived records when the property was read:
    ``ReadAll()`` empties this collection, while the job's stored output stays for
    Receive-Job (whose bookkeeping of partly output native lines must not be bypassed).
    """

    ps_method_names = ("ReadAll",)

    def __init__(self, items: Iterable[object], item_type: str) -> None:
        super().__init__(items)
        self.ps_type_names = (
            f"System.Management.Automation.PSDataCollection`1[[{item_type}]]", "System.Object")

    def ReadAll(self) -> list[object]:
        """Every item, removed from the collection."""
        items = list(self)
        self.clear()
        return items


@dataclass(frozen=True)
class JobStateInfo(PSPropertyClass):
    """A job's state and, for a failure, why (``$job.JobStateInfo``)."""

    ps_type_names = ("System.Management.Automation.JobStateInfo", "System.Object")
    ps_property_names = ("State", "Reason")

    State: JobState
    Reason: str | None = None

    def __str__(self) -> str:
        return self.State.name


class JobEventKind(Enum):
    """What a job event reports."""

    STARTED = "Started"  # first transition to Running
    OUTPUT = "Output"  # a record was stored
    STATE_CHANGED = "StateChanged"


@dataclass(frozen=True)
class JobEvent:
    """One thing that happened to a job, delivered to observers and manager subscribers."""

    kind: JobEventKind
    job: Job
    state: JobStateInfo | None = None
    previous: JobStateInfo | None = None
    stream: Stream | None = None


JobObserver: TypeAlias = "Callable[[JobEvent], None]"


class JobBackend(Protocol):
    """What drives a leaf job: stop/suspend/resume are awaited on the manager's event loop.

    The manager calls these methods only; whoever builds the manager registers the backends
    (:meth:`JobManager.register_backend`). A backend moves its jobs with ``set_state``; the
    races it can meet (a stop crossing the job's own end) go through ``begin_stopping``,
    ``finish_if_unfinished`` or ``compare_and_set``, and any other illegal move raises.

    ``start`` may be synchronous, called on the caller's thread (the process backend: Start-Job
    must return a Running job, and a hop to the loop and back costs more than the fork/exec),
    or return an awaitable that the manager runs to completion on its loop (backends whose
    start is itself I/O, such as handing a request to a worker or opening an SSH channel).
    """

    def start(self, job: Job) -> Awaitable[None] | None:
        """Start the job's work; done once it is Running, queued, or has failed to start."""

    async def stop(self, job: Job) -> None:
        """Begin stopping the job; it reaches Stopped when its work has really ended."""

    async def suspend(self, job: Job) -> None:
        """Pause the job (Suspended) or raise JobError if the job type cannot."""

    async def resume(self, job: Job) -> None:
        """Continue a suspended job (Running) or raise JobError if the job type cannot."""

    def close(self) -> Awaitable[None] | None:
        """Release the backend's resources at the manager's shutdown, after its jobs ended;
        an awaitable returned is run on the manager's loop."""


class FinishedHandle(threading.Event):
    """``$job.Finished``: set once the job reaches a finished state (a WaitHandle in .NET)."""

    def __str__(self) -> str:
        return "System.Threading.ManualResetEvent"


def derive_parent_state(
    current: JobState, children: Sequence[JobState], stop_requested: bool
) -> JobState | None:
    """The state a parent job should move to given its children's states (None: stay).

    Follows PowerShell's ``PSRemotingJob``: when every child is finished or disconnected the
    parent becomes Disconnected if any child is, else Failed if any failed, else Stopped if a stop
    was requested, else Completed; a Blocked or AtBreakpoint child makes the parent Blocked or
    AtBreakpoint until no child is. Two pjsh additions: a parent whose unfinished children are all
    Suspended shows Suspended (job control, Wait-Job must not hang on it), and a stopped child
    makes the parent Stopped rather than Completed (its work did not complete).
    """
    if is_finished(current) or not children:
        return None
    if all(is_finished(s) or s is _S.Disconnected for s in children):
        if _S.Disconnected in children:
            return _S.Disconnected
        if _S.Failed in children:
            return _S.Failed
        if stop_requested or _S.Stopped in children:
            return _S.Stopped
        return _S.Completed
    if current in (_S.NotStarted, _S.Stopping):
        return None
    if _S.Blocked in children:
        return _S.Blocked
    if _S.AtBreakpoint in children:
        return _S.AtBreakpoint
    unfinished = [s for s in children if not is_finished(s)]
    if unfinished and all(s is _S.Suspended for s in unfinished):
        return _S.Suspended
    if current in (_S.Blocked, _S.AtBreakpoint, _S.Suspended):
        return _S.Running
    return None


def _report_observer_failure() -> None:
    # An observer is someone else's code (notices, waiters); its bug must not break the backend
    # that is delivering the event, so it is reported and swallowed.
    import logging  # lazy: only on this rare path

    logging.getLogger("pjsh.jobs").exception("job observer failed")


_JOB_TYPE_NAMES = ("System.Management.Automation.Job", "System.Object")


class Job(PSPropertyClass):
    """A job as scripts see it; backends drive leaf jobs, parents follow their children."""

    ps_type_names: ClassVar[tuple[str, ...]] = _JOB_TYPE_NAMES
    ps_property_names: ClassVar[tuple[str, ...]] = (
        "State", "HasMoreData", "StatusMessage", "Location", "Command", "JobStateInfo",
        "Finished", "InstanceId", "Id", "Name", "ChildJobs", "PSBeginTime", "PSEndTime",
        "PSJobTypeName", "Output", "Error", "Progress", "Verbose", "Debug", "Warning",
        "Information", "ExitCode", "ProcessId",
    )
    default_type_name: ClassVar[str] = ""

    def __init__(
        self,
        job_id: int,
        *,
        name: str | None = None,
        command: str = "",
        location: str = "localhost",
        type_name: str | None = None,
        children: Iterable[Job] = (),
        backend: JobBackend | None = None,
        store: OutputStore | None = None,
    ) -> None:
        self.id = job_id
        self._instance_id: uuid.UUID | None = None  # made on first use: uuid4 reads urandom
        self.name = name if name else f"Job{job_id}"
        self.command = command
        self.location = location
        self.type_name = self.default_type_name if type_name is None else type_name
        self.status_message = ""
        self.backend = backend
        self.store = store if store is not None else OutputStore()
        self.parent: Job | None = None
        self.exit_code: int | None = None
        self.process_id: int | None = None
        # The exception (or error record carrier) behind a Failed state, for Receive-Job.
        self.failure: BaseException | None = None
        self.stop_requested = False
        # The console waits on it in the foreground (``fg``): its end there is no news, as
        # in bash (no notice); a stop still is.
        self.in_foreground = False
        self._finished: FinishedHandle | None = None  # made on first use (see finished)
        self._info = JobStateInfo(_S.NotStarted)
        self._begin: datetime.datetime | None = None
        self._end: datetime.datetime | None = None
        self._lock = threading.RLock()
        self._observers: list[JobObserver] = []
        # Those of them that hear OUTPUT events too (see add_observer).
        self._output_observers: list[JobObserver] = []
        # How many Output objects the job's sink leaves pending before it stores them:
        # PENDING_MAX, or 1 while someone hears output (one attribute for the sink to read
        # per object, not a global and the observer list).
        self.pending_limit = PENDING_MAX
        self._output_event: JobEvent | None = None  # the last OUTPUT event, reused (see _emit_output)
        self._children: list[Job] = list(children)
        for child in self._children:
            child.parent = self
            child.add_observer(self._on_child_event, output=False)

    @property
    def instance_id(self) -> uuid.UUID:
        """The job's globally unique id (fixed on first read)."""
        iid = self._instance_id
        if iid is None:
            with self._lock:
                if self._instance_id is None:
                    import uuid  # here, not at start-up: it imports platform

                    self._instance_id = uuid.uuid4()
                iid = self._instance_id
        return iid

    # ---- state machine ---------------------------------------------------------------------

    @property
    def state(self) -> JobState:
        """The current state."""
        return self._info.State

    @property
    def reason(self) -> str | None:
        """Why the job is in its state (a failure message), or None."""
        return self._info.Reason

    @property
    def children(self) -> list[Job]:
        """The child jobs (a copy)."""
        return list(self._children)

    def is_finished(self) -> bool:
        """Completed, Failed or Stopped."""
        return is_finished(self._info.State)

    def set_state(self, new: JobState, reason: str | None = None) -> bool:
        """Move to ``new``; False if already there; raise InvalidJobStateTransition if illegal."""
        with self._lock:
            old = self._info
            if new is old.State:
                return False
            if not can_transition(old.State, new):
                raise InvalidJobStateTransition(self.id, old.State, new)
            if is_finished(new):
                self.store.flush()  # its last spilled objects: a failure to keep them counts
            if new in (_S.Completed, _S.Failed) and self.store.lost_bytes and not self._children:
                # The one rule for output that could not be kept, whatever the backend: the
                # job did not deliver its output, so it cannot be Completed.
                new = _S.Failed
                loss = output_lost_reason(self.store)
                reason = loss if reason is None else f"{reason}; {loss}"
            info = JobStateInfo(new, None if reason is None else JobFailureReason(reason))
            self._info = info
            now = datetime.datetime.now()
            started = new is _S.Running and self._begin is None
            if started:
                self._begin = now
            if is_finished(new):
                self._end = now
            # Observers are told under the job's lock so they see this job's changes in order.
            if started:
                self._emit(JobEvent(JobEventKind.STARTED, self, info, old))
            self._emit(JobEvent(JobEventKind.STATE_CHANGED, self, info, old))
            if is_finished(new) and self._finished is not None:
                # As PowerShell: StateChanged first, then Finished is signalled.
                self._finished.set()
            return True

    # The races a backend legitimately meets are handled by the three methods below, each
    # deciding under the job's lock; any other illegal transition is a bug and raises.

    @property
    def lock(self) -> threading.RLock:
        """The lock state changes take: hold it to check a state and act on it atomically."""
        return self._lock

    def compare_and_set(self, expected: JobState, new: JobState,
                        reason: str | None = None) -> bool:
        """Move to ``new`` only if the job is still ``expected`` (False otherwise): for a
        change decided before an await, which another change may have overtaken."""
        with self._lock:
            if self._info.State is not expected:
                return False
            return self.set_state(new, reason)

    def begin_stopping(self) -> bool:
        """Enter Stopping unless the job has already finished (False then): a stop request
        racing the job's own end. Every unfinished state may go to Stopping."""
        with self._lock:
            if self.is_finished():
                return False
            self.set_state(_S.Stopping)
            return True

    def finish_if_unfinished(self, state: JobState, reason: str | None = None) -> bool:
        """Enter the finished ``state`` unless the job already finished (False then): the
        backend's end of work racing a stop or a failure the manager recorded first. Stopped
        is reached through Stopping, as always; the move must otherwise be legal (a Stopping
        job cannot complete: its backend must report Stopped or Failed)."""
        if not is_finished(state):
            raise ValueError(f"{state.name} is not a finished state")
        with self._lock:
            if self.is_finished():
                return False
            if state is _S.Stopped and not can_transition(self._info.State, _S.Stopped):
                self.set_state(_S.Stopping)
            return self.set_state(state, reason)

    def _on_child_event(self, event: JobEvent) -> None:
        if event.kind is not JobEventKind.STATE_CHANGED:
            return
        with self._lock:
            target = derive_parent_state(
                self._info.State, [c.state for c in self._children], self.stop_requested
            )
            if target is None:
                return
            if target is _S.Stopped and not can_transition(self._info.State, _S.Stopped):
                # A child stopped on its own (Stop-Job on the child) ends a parent nobody asked
                # to stop: Stopped is reached through Stopping, as for every job.
                self.set_state(_S.Stopping)
            self.set_state(target)

    # ---- events ------------------------------------------------------------------------------

    def add_observer(self, observer: JobObserver, output: bool = True) -> None:
        """Call ``observer`` with every later event of this job (on the emitting thread);
        ``output`` False leaves out OUTPUT events, for an observer that only follows states
        (a job nobody hears the output of stores it in blocks: see JobOutputSink)."""
        with self._lock:
            self._observers = [*self._observers, observer]
            if output:
                self._output_observers = [*self._output_observers, observer]
                self.pending_limit = 1

    def remove_observer(self, observer: JobObserver) -> None:
        """Stop calling ``observer``; unknown observers are ignored."""
        with self._lock:
            self._observers = [o for o in self._observers if o != observer]
            self._output_observers = [o for o in self._output_observers if o != observer]
            self.pending_limit = 1 if self._output_observers else PENDING_MAX

    @property
    def output_heard(self) -> bool:
        """True while an observer hears OUTPUT events (each object is then stored and told
        at once)."""
        return bool(self._output_observers)

    def _emit(self, event: JobEvent) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception:
                _report_observer_failure()

    # ---- output ------------------------------------------------------------------------------

    def write(self, stream: Stream, value: object) -> None:
        """Store an object on a stream and tell observers."""
        self.store.append_object(stream, value)
        self._emit_output(stream)

    def take_output(self) -> None:
        """Store the Output objects left pending by the job's output sink, and tell the
        observers of output."""
        self.store.take_pending()
        self._emit_output(Stream.Output)

    def write_bytes(self, stream: Stream, data: bytes | bytearray | memoryview) -> None:
        """Store raw native output on a stream and tell observers (``data`` may be a reused
        buffer: it is copied or written out before this returns)."""
        if data:
            self.store.append_bytes(stream, data)
            self._emit_output(stream)

    def _emit_output(self, stream: Stream) -> None:
        observers = self._output_observers
        if observers:
            # Events are immutable: one per stream and state serves every record written
            # meanwhile (a thread job writing 100,000 objects made 100,000 equal events).
            event = self._output_event
            if event is None or event.stream is not stream or event.state is not self._info:
                event = self._output_event = JobEvent(JobEventKind.OUTPUT, self, self._info,
                                                      stream=stream)
            for observer in observers:
                try:
                    observer(event)
                except Exception:
                    _report_observer_failure()

    def read(self, consume: bool = True, recurse: bool = True,
             streams: Collection[Stream] | None = None) -> list[Record]:
        """This job's unread records, then its children's (Receive-Job's aggregation)."""
        return list(self.iter_records(consume, recurse, streams))

    def iter_records(self, consume: bool = True, recurse: bool = True,
                     streams: Collection[Stream] | None = None) -> Iterator[Record]:
        """Stream this job's unread records, then each child's, without loading them all."""
        yield from self.store.iter_records(consume=consume, streams=streams)
        if recurse:
            for child in self._children:
                yield from child.iter_records(consume, True, streams)

    def close(self) -> None:
        """Release stored output (spill files) of this job and its children."""
        self.store.close()
        for child in self._children:
            child.close()

    def _stream_values(self, stream: Stream) -> PSDataCollection:
        records = self.store.iter_records(consume=False, streams=(stream,))
        values = PSDataCollection((), _STREAM_ITEM_TYPES[stream])
        pending: list[bytes] = []
        for record in records:
            if record.raw:
                assert isinstance(record.value, bytes)
                pending.append(record.value)
                continue
            if pending:
                values.extend(decode_lines(pending))
                pending = []
            values.append(record.value)
        if pending:
            values.extend(decode_lines(pending))
        return values

    # ---- PowerShell properties ---------------------------------------------------------------

    @property
    def State(self) -> str:
        """The state name (``$job.State``)."""
        return self._info.State.name

    @property
    def HasMoreData(self) -> bool:
        """Unreceived data: a parent is True until finished, then if any child has data."""
        if self._children:
            if not self.is_finished():
                return True
            return self.store.has_more or any(c.HasMoreData for c in self._children)
        return self.store.has_more

    @property
    def StatusMessage(self) -> str:
        """A backend-specific status line (blank for local jobs); says so while output is
        being lost."""
        if self.store.lost_bytes and not self.status_message:
            return f"Output lost: {self.store.lost_bytes} bytes ({self.store.lost_reason})"
        return self.status_message

    @property
    def Location(self) -> str:
        """Where the job runs; a parent joins its children's locations with ','."""
        if self._children:
            return ",".join(c.Location for c in self._children)
        return self.location

    @property
    def Command(self) -> str:
        """The command text (the script block's text)."""
        return self.command

    @property
    def JobStateInfo(self) -> JobStateInfo:
        """State and failure reason."""
        return self._info

    @property
    def finished(self) -> FinishedHandle:
        """The event set once the job is finished; made when first asked for (most jobs
        are never waited on through it, and an Event is a lock and a condition)."""
        handle = self._finished
        if handle is None:
            with self._lock:
                handle = self._finished
                if handle is None:
                    handle = self._finished = FinishedHandle()
                    if is_finished(self._info.State):
                        handle.set()
        return handle

    @property
    def Finished(self) -> FinishedHandle:
        """Set when the job reaches a finished state."""
        return self.finished

    @property
    def InstanceId(self) -> uuid.UUID:
        """The job's globally unique id."""
        return self.instance_id

    @property
    def Id(self) -> int:
        """The session-wide job number."""
        return self.id

    @property
    def Name(self) -> str:
        """The job's name (default ``Job<Id>``)."""
        return self.name

    @property
    def ChildJobs(self) -> list[Job]:
        """The child jobs."""
        return list(self._children)

    @property
    def PSBeginTime(self) -> datetime.datetime | None:
        """When the job first became Running."""
        return self._begin

    @property
    def PSEndTime(self) -> datetime.datetime | None:
        """When the job reached a finished state."""
        return self._end

    @property
    def PSJobTypeName(self) -> str:
        """BackgroundJob, RemoteJob, ThreadJob…; blank for child jobs."""
        return self.type_name

    @property
    def Output(self) -> PSDataCollection:
        """Unreceived success output (native bytes decoded to lines)."""
        return self._stream_values(Stream.Output)

    @property
    def Error(self) -> PSDataCollection:
        """Unreceived error records (native stderr decoded to lines)."""
        return self._stream_values(Stream.Error)

    @property
    def Progress(self) -> PSDataCollection:
        """Unreceived progress records."""
        return self._stream_values(Stream.Progress)

    @property
    def Verbose(self) -> PSDataCollection:
        """Unreceived verbose messages."""
        return self._stream_values(Stream.Verbose)

    @property
    def Debug(self) -> PSDataCollection:
        """Unreceived debug messages."""
        return self._stream_values(Stream.Debug)

    @property
    def Warning(self) -> PSDataCollection:
        """Unreceived warnings."""
        return self._stream_values(Stream.Warning)

    @property
    def Information(self) -> PSDataCollection:
        """Unreceived information records."""
        return self._stream_values(Stream.Information)

    @property
    def ExitCode(self) -> int | None:
        """The native exit code (pjsh extra); a single-child parent reports its child's."""
        if self.exit_code is None and len(self._children) == 1:
            return self._children[0].ExitCode
        return self.exit_code

    @property
    def ProcessId(self) -> int | None:
        """The job's process (group leader) id (pjsh extra); from the only child for a parent."""
        if self.process_id is None and len(self._children) == 1:
            return self._children[0].ProcessId
        return self.process_id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} Id={self.id} Name={self.name!r} State={self.State}>"


class PSRemotingJob(Job):
    """A parent job: Start-Job / ``&`` (BackgroundJob) or Invoke-Command -AsJob (RemoteJob)."""

    ps_type_names = ("System.Management.Automation.PSRemotingJob", *_JOB_TYPE_NAMES)
    default_type_name = "BackgroundJob"


class PSRemotingChildJob(Job):
    """The child of a PSRemotingJob: holds the data and the failure reason."""

    ps_type_names = ("System.Management.Automation.PSRemotingChildJob", *_JOB_TYPE_NAMES)
    default_type_name = ""


class PSTaskJob(Job):
    """ForEach-Object -Parallel -AsJob: a parent job whose children run the block per item."""

    ps_type_names = ("System.Management.Automation.PSTasks.PSTaskJob", *_JOB_TYPE_NAMES)
    default_type_name = "PSTaskJob"

    @property
    def Location(self) -> str:
        """Always ``PowerShell`` (its tasks all run in this process), as pwsh shows it."""
        return self.location


class ThreadJob(Job):
    """A Start-ThreadJob job: runs on a thread of the shell process."""

    ps_type_names = (
        "ThreadJob.ThreadJob", "System.Management.Automation.Job2", *_JOB_TYPE_NAMES,
    )
    default_type_name = "ThreadJob"
