"""The job cmdlets: Start-Job, Start-ThreadJob, Get-Job, Receive-Job, Wait-Job, Stop-Job,
Remove-Job, Suspend-Job, Resume-Job and Enter-Job (``fg``), with PowerShell's parameter sets,
aliases, pipeline bindings, defaults and messages."""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Callable
from typing import TYPE_CHECKING

from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, Taken, command, write_all
from pjsh.runtime.convert import (
    BOOL,
    DATETIME,
    INT,
    INTS,
    OBJECTS,
    SCRIPTBLOCK,
    STRING,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    as_list,
    enum_type,
    to_string,
)
from pjsh.runtime.errors import ErrorRecord, make_error

if TYPE_CHECKING:
    import datetime

    from pjsh.jobs.manager import JobManager
    from pjsh.jobs.model import Job
    from pjsh.jobs.service import JobService
    from pjsh.runtime import scriptblock
    from pjsh.runtime.cancel import CancelToken
    from pjsh.runtime.interpreter import Frame, Interpreter

STATE_NAMES = ["NotStarted", "Running", "Completed", "Failed", "Stopped", "Blocked", "Suspended",
               "Disconnected", "Suspending", "Stopping", "AtBreakpoint"]
JOB_STATE = enum_type("System.Management.Automation.JobState", STATE_NAMES)


def _jobs_convert(value: object) -> object:
    from pjsh.jobs.model import Job

    out = []
    for v in as_list(value):
        if not isinstance(v, Job):
            raise ConversionError(
                f'Cannot convert the "{to_string(v)}" value of type "{type(v).__name__}" to type '
                '"System.Management.Automation.Job".')
        out.append(v)
    return out


JOBS = TypeSpec("System.Management.Automation.Job[]", _jobs_convert, is_array=True,
                python="list[Job]")


def _not_negative_one(value: object) -> str | None:
    assert isinstance(value, int)
    if value < -1:
        return (f"The {value} argument is less than the minimum allowed range of -1. Supply an "
                "argument that is greater than or equal to -1 and then try the command again.")
    return None


def _not_blank(value: object) -> str | None:
    if value is None or not to_string(value).strip():
        return ("The argument is null, empty, or consists of only white-space characters. Provide "
                "an argument that contains non white-space characters, and then try the command "
                "again.")
    return None


# ---- shared selectors (PowerShell's JobCmdletBase) ------------------------------------------
ID_SET, JOB_SET, NAME_SET, INSTANCE_SET, STATE_SET, COMMAND_SET, FILTER_SET = (
    "SessionIdParameterSet", "JobParameterSet", "NameParameterSet", "InstanceIdParameterSet",
    "StateParameterSet", "CommandParameterSet", "FilterParameterSet")


def selector_params(with_job: bool = True, with_command: bool = False,
                    id_mandatory: bool = True) -> tuple[Param, ...]:
    """The -Id/-Job/-Name/-InstanceId/-State/-Filter selectors, each in its own set."""
    params = [
        Param("Id", INTS, position=0, mandatory=id_mandatory, sets=(ID_SET,),
              aliases=("SessionId",), pipeline_by_name=True, completer="job",
              help="Ids of the jobs."),
        Param("Name", STRINGS, position=0, mandatory=True, sets=(NAME_SET,),
              pipeline_by_name=True, completer="job", help="Names of the jobs (wildcards)."),
        Param("InstanceId", STRINGS, position=0, mandatory=True, sets=(INSTANCE_SET,),
              pipeline_by_name=True, help="Instance ids (GUIDs) of the jobs."),
        Param("State", JOB_STATE, position=0, mandatory=True, sets=(STATE_SET,),
              pipeline_by_name=True, help="Only jobs in this state."),
        Param("Filter", OBJECTS, position=0, mandatory=True, sets=(FILTER_SET,),
              help="Custom job types only; accepted for compatibility."),
    ]
    if with_job:
        params.insert(1, Param("Job", JOBS, position=0, mandatory=True, sets=(JOB_SET,),
                               pipeline=True, pipeline_by_name=True, help="The job objects."))
    if with_command:
        params.append(Param("Command", STRINGS, sets=(COMMAND_SET,), pipeline_by_name=True,
                            help="Jobs whose command matches (wildcards)."))
    return tuple(params)


def service(cmd: Cmdlet) -> JobService:
    """The session's job service (the job cmdlets need the local job engine's own API)."""
    from pjsh.jobs.service import JobService

    jobs = cmd.ctx.session.jobs
    if not isinstance(jobs, JobService):
        cmd.ctx.throw(f"The {cmd.spec.name} command cannot manage the jobs of this runspace.",
                      "JobServiceNotSupported", "NotImplemented")
    assert isinstance(jobs, JobService)
    return jobs


def _wild(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _match(pattern: str, text: str) -> bool:
    from pjsh.runtime.operators import wildcard_regex

    return wildcard_regex(pattern).match(text) is not None


def _all_jobs(cmd: Cmdlet) -> list[Job]:
    return service(cmd).manager.all_jobs()


def _fq(cmd: Cmdlet, error_id: str) -> str:
    """PowerShell's FullyQualifiedErrorId: ``<ErrorId>,<cmdlet class>``."""
    return f"{error_id},Microsoft.PowerShell.Commands.{type(cmd).__name__}Command"


def _not_found(cmd: Cmdlet, error_id: str, message: str, target: object) -> None:
    cmd.ctx.write_error(make_error(
        message, _fq(cmd, error_id), "ObjectNotFound",
        target=target, command=cmd.ctx.command_name,
        exception_type="System.ArgumentException"))


class JobSelectorArgs(Bound):
    """The job selectors every *-Job cmdlet that acts on existing jobs has."""

    Id: list[int] | None
    Job: list[Job] | None
    Name: list[str] | None
    InstanceId: list[str] | None


class JobStateArgs(JobSelectorArgs):
    """The selectors of the cmdlets that also select by -State (and -Filter)."""

    State: str | None
    Filter: list[object] | None


class JobCommandArgs(JobStateArgs):
    """The selectors of Get-Job and Remove-Job, which also select by -Command."""

    Command: list[str] | None


def select_jobs(cmd: Cmdlet, args: JobSelectorArgs, *,
                search_children: bool = True) -> list[Job]:
    """The jobs named by whichever selector was used (with PowerShell's not-found errors)."""
    sset = args.parameter_set
    if sset == JOB_SET or (sset in _RECV_JOB_SETS and args.Job is not None):
        return list(args.Job or [])
    everything = _all_jobs(cmd) if search_children else service(cmd).manager.jobs()
    found: list[Job] = []
    if sset == ID_SET:
        for i in args.Id or []:
            matches = [j for j in everything if j.id == i]
            if not matches:
                _not_found(cmd, "JobWithSpecifiedSessionNotFound",
                           f"The command cannot find a job with the job ID {i}. Verify the value of "
                           "the Id parameter and then try the command again.", i)
            found.extend(matches)
    elif sset == NAME_SET:
        for name in args.Name or []:
            if name.startswith("%"):
                # bash's job specs: %N, %name, %+ (%% or %), %-
                spec_job = job_spec(service(cmd).manager.jobs(), name)
                if spec_job is None:
                    _not_found(cmd, "JobWithSpecifiedNameNotFound",
                               f"The command cannot find the job because the job name {name} "
                               "was not found. Verify the value of the Name parameter, and then "
                               "try the command again.", name)
                else:
                    found.append(spec_job)
                continue
            matches = [j for j in everything if _match(name, j.name)]
            if not matches and not _wild(name):
                _not_found(cmd, "JobWithSpecifiedNameNotFound",
                           f"The command cannot find the job because the job name {name} was not "
                           "found. Verify the value of the Name parameter, and then try the "
                           "command again.", name)
            found.extend(matches)
    elif sset == INSTANCE_SET:
        for iid in args.InstanceId or []:
            matches = [j for j in everything if str(j.instance_id).lower() == iid.lower()]
            if not matches:
                _not_found(cmd, "JobWithSpecifiedInstanceIdNotFound",
                           f"The command cannot find a job with the instance identifier {iid}. "
                           "Verify the value of the InstanceId parameter, and then try the "
                           "command again.", iid)
            found.extend(matches)
    elif sset == STATE_SET and isinstance(args, JobStateArgs):  # only they have the set
        found = [j for j in service(cmd).manager.jobs() if j.state.name == args.State]
    elif sset == COMMAND_SET and isinstance(args, JobCommandArgs):  # only they have the set
        found = [j for j in service(cmd).manager.jobs()
                 if any(_match(p, j.command.strip()) or _match(p, j.command)
                        for p in args.Command or [])]
    elif sset == FILTER_SET:
        cmd.ctx.write_warning("The Filter parameter is supported only for custom job types.")
        found = []
    unique: dict[int, Job] = {}
    for j in found:
        unique.setdefault(j.id, j)
    return list(unique.values())


def current_jobs(jobs: list[Job]) -> list[Job]:
    """Jobs in bash's order of currency, most current first: suspended jobs before the
    others, newer before older; unfinished jobs before finished ones. ``%+`` is the first,
    ``%-`` the second."""
    from pjsh.jobs.model import JobState

    return sorted(jobs, key=lambda j: (not j.is_finished(), j.state is JobState.Suspended,
                                       j.id), reverse=True)


def job_spec(jobs: list[Job], spec: str) -> Job | None:
    """The job a bash job spec names: ``%N`` (Id), ``%+``/``%%``/``%`` (current), ``%-``
    (previous), ``%name`` (a job's Name, else the job whose command begins with it)."""
    text = spec[1:]
    order = current_jobs(jobs)
    if text in ("", "+", "%"):
        return order[0] if order else None
    if text == "-":
        return order[1] if len(order) > 1 else None
    if text.isdigit():
        return next((j for j in jobs if j.id == int(text)), None)
    named = [j for j in order if j.name == text]
    if named:
        return named[0]
    return next((j for j in order if j.command.strip().startswith(text)), None)


# ---- Start-Job --------------------------------------------------------------------------------
def script_from_file(cmd: Cmdlet, path: str) -> scriptblock.ScriptBlock:
    """A script file as a script block (-FilePath): read, parsed, or a terminating error."""
    from pjsh.lang.parser import parse
    from pjsh.runtime.scriptblock import ScriptBlock

    full = cmd.ctx.session.resolve_path(path)
    try:
        with open(full, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    except OSError:
        cmd.ctx.throw(f"Cannot find path '{full}' because it does not exist.", _fq(cmd, "PathNotFound"),
                      "ObjectNotFound", full, "System.Management.Automation.ItemNotFoundException")
        raise AssertionError("unreachable") from None
    result = parse(text)
    if result.body is None:
        assert result.error is not None
        cmd.ctx.throw(result.error.describe(full), _fq(cmd, "ParseError"), "ParserError", full)
    assert result.body is not None
    return ScriptBlock(result.body, text, text)


class StartJobArgs(Bound):
    """Start-Job's parameters."""

    ScriptBlock: scriptblock.ScriptBlock | None
    FilePath: str | None
    LiteralPath: str | None
    InitializationScript: scriptblock.ScriptBlock | None
    Name: str | None
    WorkingDirectory: str | None
    InputObject: list[object] | None
    ArgumentList: list[object] | None


@command
class StartJob(Cmdlet):
    """Start-Job: run a script block as a background job in a separate process."""

    spec = CommandSpec(
        name="Start-Job", aliases=("sajb",), default_set="ComputerName",
        summary="Starts a background job that runs in a separate process.",
        description="Native-only script blocks run their processes directly; script blocks with "
                    "cmdlets run in a warm pjsh worker process. The job starts in the current "
                    "directory (or -WorkingDirectory) and is Running when Start-Job returns.",
        examples=(("Start-Job { make -j4 }", "Build in the background."),
                  ("$j = Start-Job { param($n) 1..$n } -ArgumentList 3", "Pass arguments."),
                  ("1..3 | Start-Job { $input | ForEach-Object { $_ * 2 } }",
                   "Piped input reaches the job as $input.")),
        output_type="System.Management.Automation.PSRemotingJob",
        params=(
            Param("ScriptBlock", SCRIPTBLOCK, position=0, mandatory=True, sets=("ComputerName",),
                  aliases=("Command",), help="The commands to run in the job."),
            Param("FilePath", STRING, position=0, mandatory=True, sets=("FilePathComputerName",),
                  completer="path", help="A script file to run in the job."),
            Param("LiteralPath", STRING, mandatory=True, sets=("LiteralFilePathComputerName",),
                  aliases=("PSPath", "LP"), completer="path", help="A script file (no wildcards)."),
            Param("InitializationScript", SCRIPTBLOCK, position=1,
                  help="Commands that run before the job's script block."),
            Param("Name", STRING, pipeline_by_name=True, help="A friendly name for the job."),
            Param("WorkingDirectory", STRING, validate=_not_blank, completer="directory",
                  help="Where the job starts (default: the current directory)."),
            Param("InputObject", OBJECTS, pipeline=True, help="Input for the job ($input)."),
            Param("ArgumentList", OBJECTS, aliases=("Args", "Arguments"),
                  help="Arguments for the script block's parameters or $args."),
        ))
    args_type = StartJobArgs

    def begin(self, args: StartJobArgs) -> None:
        self.items: list[object] = []
        self.got_input = False

    def process(self, args: StartJobArgs) -> None:
        if "InputObject" in args:
            self.got_input = True
            self.items.extend(args.InputObject or [])

    def end(self, args: StartJobArgs) -> None:
        from pjsh.runtime.scriptblock import ScriptBlock

        session = self.ctx.session
        cwd = session.cwd
        if args.WorkingDirectory is not None:
            cwd = session.resolve_path(args.WorkingDirectory)
            if not os.path.isdir(cwd):
                self.ctx.throw(f"Cannot find the WorkingDirectory path {args.WorkingDirectory}.",
                               _fq(self, "DirectoryNotFoundException"), "InvalidArgument",
                               args.WorkingDirectory, "System.IO.DirectoryNotFoundException")
        if args.parameter_set == "ComputerName":
            block = args.ScriptBlock
        else:
            # Mandatory in the FilePath and LiteralPath sets: the binder refuses $null and ''.
            path = args.FilePath or args.LiteralPath
            assert path
            block = script_from_file(self, path)
        assert isinstance(block, ScriptBlock)  # mandatory in the ComputerName set
        interp, frame = _caller(self)
        job = service(self).start_script_job(
            block, interp, frame, name=args.Name, args=list(args.ArgumentList or []),
            input_items=self.items if self.got_input else None, cwd=cwd,
            init=args.InitializationScript)
        self.ctx.write_output(job)


def _caller(cmd: Cmdlet) -> tuple[Interpreter, Frame]:
    """The interpreter and frame running this cmdlet (jobs copy variables from them)."""
    return cmd.ctx.caller()


class StartThreadJobArgs(Bound):
    """Start-ThreadJob's parameters."""

    ScriptBlock: scriptblock.ScriptBlock | None
    FilePath: str | None
    Name: str | None
    InitializationScript: scriptblock.ScriptBlock | None
    InputObject: list[object] | None
    ArgumentList: list[object] | None
    ThrottleLimit: int | None


@command
class StartThreadJob(Cmdlet):
    """Start-ThreadJob: run a script block on a thread of this shell."""

    spec = CommandSpec(
        name="Start-ThreadJob", default_set="ScriptBlock",
        summary="Starts a job that runs on a thread of the shell process.",
        description="Thread jobs start in microseconds and share nothing mutable with the shell. "
                    "At most -ThrottleLimit (default 5, session-wide) run at once; the rest wait "
                    "as NotStarted.",
        examples=(("Start-ThreadJob { Get-ChildItem -Recurse | Measure-Object }",
                   "Count files on a thread."),),
        output_type="ThreadJob.ThreadJob",
        params=(
            Param("ScriptBlock", SCRIPTBLOCK, position=0, mandatory=True, sets=("ScriptBlock",),
                  help="The commands to run."),
            Param("FilePath", STRING, position=0, mandatory=True, sets=("FilePath",),
                  completer="path", help="A script file to run."),
            Param("Name", STRING, help="A friendly name for the job."),
            Param("InitializationScript", SCRIPTBLOCK, help="Commands to run first."),
            Param("InputObject", OBJECTS, pipeline=True, help="Input for the job ($input)."),
            Param("ArgumentList", OBJECTS, aliases=("Args", "Arguments"),
                  help="Arguments for the script block."),
            Param("ThrottleLimit", INT, help="How many thread jobs may run at once (session-wide)."),
        ))
    args_type = StartThreadJobArgs

    def begin(self, args: StartThreadJobArgs) -> None:
        self.items: list[object] = []
        self.got_input = False

    def process(self, args: StartThreadJobArgs) -> None:
        if "InputObject" in args:
            self.got_input = True
            self.items.extend(args.InputObject or [])

    def end(self, args: StartThreadJobArgs) -> None:
        from pjsh.runtime.scriptblock import ScriptBlock

        if args.parameter_set == "ScriptBlock":
            block = args.ScriptBlock
        else:
            assert args.FilePath is not None  # mandatory in the FilePath set
            block = script_from_file(self, args.FilePath)
        assert isinstance(block, ScriptBlock)  # mandatory in the ScriptBlock set
        svc = service(self)
        interp, frame = _caller(self)
        job = svc.thread_job(block, name=args.Name, args=list(args.ArgumentList or []),
                             input_items=self.items if self.got_input else None,
                             init=args.InitializationScript, throttle_limit=args.ThrottleLimit,
                             variables=svc.copied_variables(block.body, frame, interp))
        self.ctx.write_output(job)


# ---- Get-Job ----------------------------------------------------------------------------------
_GET_JOB_SETS = (ID_SET, JOB_SET, INSTANCE_SET, NAME_SET, STATE_SET, COMMAND_SET)


class GetJobArgs(JobCommandArgs):
    """Get-Job's parameters."""

    IncludeChildJob: bool
    ChildJobState: str | None
    HasMoreData: bool | None
    Before: datetime.datetime | None
    After: datetime.datetime | None
    Newest: int | None


@command
class GetJob(Cmdlet):
    """Get-Job: list the session's jobs."""

    spec = CommandSpec(
        name="Get-Job", aliases=("gjb", "jobs"), default_set=ID_SET,
        summary="Gets the background jobs of the current session.",
        description="Without parameters, every top-level job sorted by Id. Name, Id and "
                    "InstanceId also find child jobs.",
        examples=(("Get-Job", "All jobs."), ("Get-Job -State Running", "Running jobs."),
                  ("Get-Job -Newest 2", "The two most recently finished jobs.")),
        output_type="System.Management.Automation.Job",
        # -Job is a pjsh addition (SPEC: Get-Job takes job objects positionally, as
        # `get-job $job` in about_Remote_Jobs does).
        params=(*selector_params(with_command=True, id_mandatory=False),
                Param("IncludeChildJob", SWITCH, sets=_GET_JOB_SETS, help="Add the child jobs."),
                Param("ChildJobState", JOB_STATE, sets=_GET_JOB_SETS,
                      help="Add only the child jobs in this state."),
                Param("HasMoreData", BOOL, sets=_GET_JOB_SETS,
                      help="Only jobs that have (True) or do not have (False) unreceived data."),
                Param("Before", DATETIME, sets=_GET_JOB_SETS, help="Jobs that ended before this."),
                Param("After", DATETIME, sets=_GET_JOB_SETS, help="Jobs that ended after this."),
                Param("Newest", INT, sets=_GET_JOB_SETS,
                      help="The N jobs that ended most recently.")),
    )
    args_type = GetJobArgs

    def process(self, args: GetJobArgs) -> None:
        if args.parameter_set == ID_SET and not args.Id:
            jobs = service(self).manager.jobs()
        elif args.parameter_set == JOB_SET:
            jobs = self._registered(list(args.Job or []))
        else:
            jobs = select_jobs(self, args)
        if "IncludeChildJob" in args or "ChildJobState" in args:
            extra: list[Job] = []
            for j in jobs:
                for c in j.children:
                    if args.ChildJobState is None or c.state.name == args.ChildJobState:
                        extra.append(c)
            seen = {j.id for j in jobs}
            jobs = jobs + [c for c in extra if c.id not in seen]
        if args.HasMoreData is not None:
            jobs = [j for j in jobs if j.HasMoreData == args.HasMoreData]
        if args.Before is not None:
            jobs = [j for j in jobs if j.PSEndTime is not None and j.PSEndTime < args.Before]
        if args.After is not None:
            jobs = [j for j in jobs if j.PSEndTime is not None and j.PSEndTime > args.After]
        if args.Newest is not None:
            import datetime as dt

            ordered = sorted(jobs, key=lambda j: j.PSEndTime or dt.datetime.min, reverse=True)
            jobs = ordered[: max(0, args.Newest)]
        for j in sorted(jobs, key=lambda j: j.id):
            self.ctx.write_output(j)

    def _registered(self, given: list[Job]) -> list[Job]:
        """The given job objects still in the session; a removed one is not found, with the
        error PowerShell gives (it looks a job object up by its name)."""
        manager = service(self).manager
        found = []
        for job in given:
            if manager.get(job.id) is job:
                found.append(job)
            else:
                _not_found(self, "JobWithSpecifiedNameNotFound",
                           f"The command cannot find the job because the job name {job.name} was "
                           "not found. Verify the value of the Name parameter, and then try the "
                           "command again.", job.name)
        return found


# ---- Receive-Job ------------------------------------------------------------------------------
class NativeLine(str):
    """A line of native output; ``eol`` is False for a final fragment without a newline, so
    redirecting received output to a file reproduces the bytes exactly."""

    eol: bool = True
    plain_str = True  # binds, formats and converts as its text (pjsh.runtime.cmdlet.bulk_strings)


def _fragment(data: bytes) -> NativeLine:
    """The last piece of a job's native output, which has no newline."""
    line = NativeLine(data.decode("utf-8", "surrogateescape"))
    line.eol = False
    return line


class _Position:
    """Where Receive-Job stands in a job's unconsumed records: ``records`` wholly output and
    not consumed (only -Wait -Keep has any), then ``offset`` bytes of the next native chunk.

    A chunk is consumed only once all of its bytes were output, so a line a job has only half
    written, or lines a stopped pipeline did not take, stay in the job: the next Receive-Job
    gets them and HasMoreData stays True meanwhile."""

    __slots__ = ("offset", "records")

    def __init__(self, records: int = 0, offset: int = 0) -> None:
        self.records = records
        self.offset = offset


class _Pending:
    """The native line being assembled from chunks: its stream, bytes, and where it starts
    (record index, byte offset) among the records read in this pass."""

    __slots__ = ("pieces", "start", "stream")

    def __init__(self, start: tuple[int, int]) -> None:
        self.stream: object = None
        self.pieces: list[bytes] = []
        self.start = start


class _Activity:
    """Wakes Receive-Job -Wait on any event (output, state change) of the watched jobs, or
    at once when the pipeline's cancel token is set (a stop, Stop-Job on the thread job
    this runs in).

    Observers are installed before the first receive and pending wake-ups are dropped
    before each receive, so nothing produced between a receive and the wait can be missed.
    Events and the token both put on one ``queue.SimpleQueue`` (safe from any thread and
    from a signal handler)."""

    def __init__(self, jobs: list[Job], cancel: CancelToken) -> None:
        self._wake: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.cancel = cancel
        self.jobs = [each for j in jobs for each in _walk(j)]
        for j in self.jobs:
            j.add_observer(self._wake.put)
        self._token = cancel.wake(self._wake)

    def clear(self) -> None:
        """Drop the wake-ups seen so far (call before receiving)."""
        while True:
            try:
                self._wake.get_nowait()
            except queue.Empty:
                return

    def wait(self, tick: float | None = None) -> bool:
        """Block until something happened (or ``tick`` seconds passed: a progress line's
        clock); False when the token was set (stop waiting)."""
        if not self.cancel.is_set():
            with contextlib.suppress(queue.Empty):
                self._wake.get(timeout=tick)
        return not self.cancel.is_set()

    def close(self) -> None:
        """Remove the observers and the token's wake-up."""
        for j in self.jobs:
            j.remove_observer(self._wake.put)
        self.cancel.remove_callback(self._token)


def _close(iterator: object) -> None:
    """Finish a store iterator now (it holds the store's reader count until closed)."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _walk(job: Job) -> list[Job]:
    """A job and its descendants, parents first (Receive-Job's aggregation order)."""
    out = [job]
    for child in job.children:
        out.extend(_walk(child))
    return out


RECEIVE_SWITCHES = (
    Param("Keep", SWITCH, help="Keep the results so a later Receive-Job gets them again."),
    Param("NoRecurse", SWITCH, help="Only the job's own results, not its child jobs'."),
    Param("Force", SWITCH, help="With -Wait: keep waiting through Suspended/Disconnected."),
    Param("Wait", SWITCH, help="Stream results until the job ends."),
    Param("AutoRemoveJob", SWITCH, help="With -Wait: remove the job afterwards."),
    Param("WriteEvents", SWITCH, help="With -Wait: also output state changes."),
    Param("WriteJobInResults", SWITCH, help="With -Wait: output the job first."),
)
_RECV_JOB_SETS = ("Location", "ComputerName", "Session")


class ReceiveJobArgs(JobSelectorArgs):
    """Receive-Job's parameters."""

    Location: list[str] | None
    ComputerName: list[str] | None
    Session: list[object] | None
    Keep: bool
    NoRecurse: bool
    Force: bool
    Wait: bool
    AutoRemoveJob: bool
    WriteEvents: bool
    WriteJobInResults: bool


@command
class ReceiveJob(Cmdlet):
    """Receive-Job: get the results of jobs."""

    spec = CommandSpec(
        name="Receive-Job", aliases=("rcjb",), default_set="Location",
        summary="Gets the results of background jobs.",
        description="Returns what the jobs produced so far and deletes it (unless -Keep); -Wait "
                    "streams until they end. Error, warning, verbose, debug and information "
                    "records come back on their own streams. Native output is kept as bytes.",
        examples=(("Receive-Job -Id 3 -Keep", "Results so far, kept for later."),
                  ("$j | Receive-Job -Wait -AutoRemoveJob", "Wait, get everything, remove.")),
        params=(
            Param("Job", JOBS, position=0, mandatory=True, sets=_RECV_JOB_SETS, pipeline=True,
                  pipeline_by_name=True, help="The jobs to receive from."),
            Param("Location", STRINGS, position=1, sets=("Location",),
                  help="Only child jobs at these locations."),
            Param("ComputerName", STRINGS, position=1, sets=("ComputerName",), aliases=("Cn",),
                  pipeline_by_name=True, help="Only child jobs on these computers (remote jobs)."),
            Param("Session", OBJECTS, position=1, sets=("Session",), pipeline_by_name=True,
                  help="Only child jobs of these sessions (remote jobs)."),
            Param("Name", STRINGS, position=0, mandatory=True, sets=(NAME_SET,),
                  pipeline_by_name=True, completer="job", help="Names of the jobs (wildcards)."),
            Param("InstanceId", STRINGS, position=0, mandatory=True, sets=(INSTANCE_SET,),
                  pipeline_by_name=True, help="Instance ids of the jobs."),
            Param("Id", INTS, position=0, mandatory=True, sets=(ID_SET,), aliases=("SessionId",),
                  pipeline_by_name=True, completer="job", help="Ids of the jobs."),
            *RECEIVE_SWITCHES,
        ))
    args_type = ReceiveJobArgs

    def begin(self, args: ReceiveJobArgs) -> None:
        # As PowerShell's BeginProcessing: the switch misuse is a terminating error even
        # before any job arrives.
        if args.Wait:
            return
        for switch, message in (
                ("AutoRemoveJob", "The -AutoRemoveJob parameter cannot be used without the -Wait "
                                  "parameter"),
                ("WriteEvents", "The WriteEvents parameter cannot be used without the Wait "
                                "parameter."),
                ("WriteJobInResults", "The -WriteJobInResults parameter cannot be used without "
                                      "the -Wait parameter"),
                ("Force", "The -Force parameter cannot be used without the -Wait parameter.")):
            if args.get(switch):
                self.ctx.throw(message, _fq(self, "InvalidOperationException"), "InvalidOperation",
                               exception_type="System.InvalidOperationException")

    def process(self, args: ReceiveJobArgs) -> None:
        jobs = self._filter_location(args, select_jobs(self, args))
        if not jobs:
            return
        if args.Wait:
            self._wait(args, jobs)
        else:
            for job in jobs:
                self.receive(job, args)

    def _filter_location(self, args: ReceiveJobArgs, jobs: list[Job]) -> list[Job]:
        from pjsh.jobs.model import PSRemotingJob

        if args.Session is not None:  # the Session set
            out: list[Job] = []
            for j in jobs:
                if not isinstance(j, PSRemotingJob):
                    self.ctx.write_error(self.ctx.error(
                        "The Session parameter can be used only with PSRemotingJob objects.",
                        "RunspaceParameterNotSupported,Microsoft.PowerShell.Commands."
                        "ReceiveJobCommand", "InvalidArgument", j))
            # No pjsh job runs in a PSSession, so no child matches any of args.Session.
            return out
        names = args.Location if args.parameter_set == "Location" else args.ComputerName
        if not names:
            return jobs
        out = []
        for j in jobs:
            if args.parameter_set == "ComputerName" and not isinstance(j, PSRemotingJob):
                self.ctx.write_error(self.ctx.error(
                    "The command cannot retrieve the jobs of the specified computers. The "
                    "ComputerName parameter can be used only with jobs created by using "
                    "PowerShell remoting.",
                    "ComputerNameParameterNotSupported,Microsoft.PowerShell.Commands."
                    "ReceiveJobCommand", "InvalidArgument", j))
                continue
            kids = j.children or [j]
            out.extend(c for c in kids if any(_match(n, c.location) for n in names))
        return out

    def receive(self, job: Job, args: ReceiveJobArgs,
                cursors: dict[int, _Position] | None = None) -> None:
        """Emit a job's unread records on their streams (then its failure, once).

        ``cursors`` (Receive-Job -Wait -Keep) remembers what was already output, since kept
        records are read again from the start each time."""
        sources = [job] if args.NoRecurse else _walk(job)
        positions = service(self).positions
        for src in sources:
            # Finished before reading means every record is already stored: the last line
            # can be output even without its newline.
            ended = src.is_finished()
            saved = positions.get(src)
            if cursors is not None:
                pos = cursors.get(src.id)
                if pos is None:
                    pos = cursors[src.id] = _Position(0, saved.offset if saved else 0)
                self._drain(src, False, pos, ended)
            elif args.Keep:
                self._drain(src, False, _Position(0, saved.offset if saved else 0), ended)
            else:
                if saved is None:
                    saved = positions[src] = _Position()
                self._drain(src, True, saved, ended)
        self._report_failure(job, args)

    def _drain(self, src: Job, consume: bool, pos: _Position, ended: bool) -> None:
        """Output the records of one job from ``pos`` on, native chunks as lines; advance
        ``pos`` and, when consuming, consume the records that were wholly output."""
        from pjsh.jobs.storage import Stream

        write_bytes = self.ctx.byte_writer()
        pending = _Pending((pos.records, pos.offset))
        records = src.store.iter_records(consume=False)
        index = -1
        try:
            for index, rec in enumerate(records):
                if index < pos.records:
                    continue
                start = pos.offset if index == pos.records else 0
                if not rec.raw:
                    if pending.pieces:
                        self._flush_pending(pending, src, (index, 0))
                    # Set first: an object whose output raised (a stopped pipeline) was taken.
                    pending.start = (index + 1, 0)
                    self.emit(rec.stream, rec.value, src)
                    continue
                assert isinstance(rec.value, (bytes, bytearray, memoryview))
                data = bytes(rec.value)[start:] if start else bytes(rec.value)
                if not data:  # wholly output before (a stop right at its end)
                    if not pending.pieces:
                        pending.start = (index + 1, 0)
                    continue
                if pending.pieces and pending.stream is not rec.stream:
                    self._flush_pending(pending, src, (index, start))
                if not pending.pieces:
                    pending.start = (index, start)
                    pending.stream = rec.stream
                if write_bytes is not None and rec.stream is Stream.Output:
                    # Output goes to a sink that takes bytes (a redirection to a file): native
                    # output is copied as it is, no lines, no decoding.
                    head = b"".join(pending.pieces)
                    pending.pieces = []
                    pending.start = (index + 1, 0)
                    write_bytes(head + data if head else data)
                    continue
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending.pieces.append(data)
                    continue
                self._emit_lines(pending, data[:cut], rec.stream, src, (index, start))
                if cut + 1 < len(data):
                    pending.pieces = [data[cut + 1:]]
                    pending.start = (index, start + cut + 1)
                else:
                    pending.pieces = []
                    pending.start = (index + 1, 0)
            if ended and pending.pieces:
                self._flush_pending(pending, src, (index + 1, 0))
        finally:
            _close(records)
            # Everything before the first byte not yet output is done with.
            done, offset = pending.start
            if consume:
                take = src.store.iter_records(consume=True)
                for _ in range(done):
                    if next(take, None) is None:
                        break
                _close(take)
                pos.records, pos.offset = 0, offset
            else:
                pos.records, pos.offset = done, offset

    def _emit_lines(self, pending: _Pending, data: bytes, stream: object, src: Job,
                    at: tuple[int, int]) -> None:
        """Output the complete lines ``pending + data`` (newline-separated, the last one's
        newline just after ``data``); on a stop, ``pending.start`` points after the last
        line taken."""
        from pjsh.jobs.storage import Stream

        head = b"".join(pending.pieces)
        # One decode per chunk, not per line: '\n' never occurs inside a UTF-8 sequence, so
        # this equals decoding line by line (undecodable bytes become surrogates).
        text = (head + data).decode("utf-8", "surrogateescape")
        lines = text.split("\n")
        # A CRLF line loses its CR too, as a foreground native's lines do (LineSplitter).
        cr = [line.endswith("\r") for line in lines] if "\r" in text else None
        if cr is not None:
            lines = [line[:-1] if ends else line for line, ends in zip(lines, cr)]
        tally = Taken()  # counted before each line: a line whose output raised was taken
        try:
            if stream is Stream.Output:
                write_all(self.ctx, lines, tally)
            else:
                for line in lines:
                    tally.count += 1
                    self.emit(stream, line, src)
        except BaseException:
            sent = tally.count
            taken = sum(len(x.encode("utf-8", "surrogateescape")) + 1 for x in lines[:sent])
            if cr is not None:
                taken += sum(cr[:sent])
            pending.pieces = []
            pending.start = (at[0], at[1] + taken - len(head))
            raise

    def _flush_pending(self, pending: _Pending, src: Job, end: tuple[int, int]) -> None:
        """Output a line that will get no more bytes (another stream or an object follows,
        or the job ended) as a fragment without a newline; ``end`` is where it ends."""
        data = b"".join(pending.pieces)
        pending.pieces = []
        pending.start = end  # set first: a line whose output raised was taken
        self.emit(pending.stream, _fragment(data), src)

    def _report_failure(self, job: Job, args: ReceiveJobArgs) -> None:
        from pjsh.jobs.jobhost import JobScriptFailed
        from pjsh.jobs.model import JobState

        reported = service(self).reported_failures
        targets = [job] if args.NoRecurse or not job.children else _walk(job)[1:]
        for j in targets:
            if j.state is not JobState.Failed or not j.reason:
                continue
            failure = j.failure
            if isinstance(failure, JobScriptFailed) and failure.in_stream:
                continue  # its error record is in the job's error stream already
            if j in reported and not args.Keep:
                continue
            if not args.Keep:
                reported.add(j)
            self.ctx.write_error(make_error(
                j.reason, "JobStateFailed", "InvalidResult", target=j,
                command=self.ctx.command_name,
                exception_type="System.Management.Automation.RemoteException"))

    def emit(self, stream: object, value: object, job: Job) -> None:
        """Re-emit one record on the matching stream."""
        from pjsh.jobs.jobhost import HOST_TAG, split_information
        from pjsh.jobs.storage import Stream

        ctx = self.ctx
        if stream is Stream.Output:
            ctx.write_output(value)
        elif stream is Stream.Error:
            if isinstance(value, ErrorRecord):
                record = value
            else:
                record = make_error(to_string(value), "NativeCommandError", "NotSpecified",
                                    target=value,
                                    exception_type="System.Management.Automation.RemoteException")
            ctx.write_error(record)
        elif stream is Stream.Warning:
            ctx.write_warning(to_string(value))
        elif stream is Stream.Verbose:
            ctx.write_verbose(to_string(value))
        elif stream is Stream.Debug:
            ctx.write_debug(to_string(value))
        elif stream is Stream.Information:
            message, tags = split_information(value)
            if HOST_TAG in tags:
                ctx.write_host(to_string(message))
            else:
                ctx.write_information(message, tags)
        elif stream is Stream.Progress:
            ctx.write_progress(value)

    def _wait(self, args: ReceiveJobArgs, jobs: list[Job]) -> None:
        from pjsh.jobs.model import JobState, is_finished, is_persistent
        from pjsh.runtime.values import PSObject

        if args.WriteJobInResults:
            for j in jobs:
                self.ctx.write_output(j)
        seen_state = {j.id: j.JobStateInfo for j in jobs}
        done = is_finished if args.Force else is_persistent
        cursors: dict[int, _Position] | None = {} if args.Keep else None
        activity = _Activity(jobs, self.ctx.cancel)
        progress = WaitProgress(self, jobs)
        try:
            while True:
                progress.update()
                activity.clear()
                # Decided before receiving: once every job was done, this pass gets the rest.
                all_done = all(done(j.state) for j in jobs)
                for j in jobs:
                    self.receive(j, args, cursors)
                    info = j.JobStateInfo
                    if args.WriteEvents and info.State is not seen_state[j.id].State:
                        self.ctx.write_output(PSObject(
                            {"JobStateInfo": info, "PreviousJobStateInfo": seen_state[j.id]},
                            ("System.Management.Automation.JobStateEventArgs",
                             "System.EventArgs", "System.Object")))
                        seen_state[j.id] = info
                if all_done:
                    break
                self.ctx.cancel.before_blocking()  # a native downstream gets what is queued
                if not activity.wait(progress.tick):
                    return  # stopped: the interpreter ends the pipeline at its next check
        finally:
            activity.close()
            progress.complete()
        if args.AutoRemoveJob:
            manager = service(self).manager
            for j in jobs:
                if j.state in (JobState.Completed, JobState.Failed, JobState.Stopped):
                    with contextlib.suppress(Exception):
                        manager.remove(j, force=True)


# ---- progress of waits on several jobs --------------------------------------------------------
class WaitProgress:
    """Wait-Job and Receive-Job -Wait on several jobs at the interactive prompt: one progress
    line (done/failed/total, elapsed) through the host's progress API, ticking once a second.
    Scripts, -c and jobs get none (their host shows no progress, or it would fill the job's
    progress stream)."""

    ACTIVITY_ID = 0x7A17  # one activity of its own, apart from the user's Write-Progress ids
    tick: float | None

    def __init__(self, cmd: Cmdlet, jobs: list[Job]) -> None:
        import time

        self.cmd = cmd
        self.jobs = jobs
        self.enabled = len(jobs) > 1 and cmd.ctx.session.interactive
        self.tick = 1.0 if self.enabled else None
        self.start = time.monotonic()
        self._shown = False

    def counts(self) -> tuple[int, int, int]:
        """(finished, failed, total)."""
        from pjsh.jobs.model import JobState, is_finished

        finished = sum(1 for j in self.jobs if is_finished(j.state))
        failed = sum(1 for j in self.jobs if j.state is JobState.Failed)
        return finished, failed, len(self.jobs)

    def update(self) -> None:
        """Draw the line with the current counts and elapsed time."""
        import time

        if not self.enabled:
            return
        from pjsh.commands.output import ProgressRecord

        finished, failed, total = self.counts()
        elapsed = time.monotonic() - self.start
        status = f"{finished} of {total} jobs done, {failed} failed ({elapsed:.0f} s)"
        self.cmd.ctx.write_progress(ProgressRecord(
            ActivityId=self.ACTIVITY_ID, Activity=self.cmd.spec.name, StatusDescription=status,
            PercentComplete=finished * 100 // total))
        self._shown = True

    def complete(self) -> None:
        """Remove the line (a Completed record)."""
        if not self._shown:
            return
        from pjsh.commands.output import ProgressRecord

        self.cmd.ctx.write_progress(ProgressRecord(
            ActivityId=self.ACTIVITY_ID, Activity=self.cmd.spec.name, RecordType="Completed"))
        self._shown = False

    def wait(self, manager: JobManager, timeout: float | None, force: bool) -> list[Job]:
        """manager.wait for all the jobs, redrawing the line each tick; [] on timeout/stop."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                self.update()
                step = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
                if step <= 0:
                    return []
                finished = manager.wait(self.jobs, timeout=step, cancel=self.cmd.ctx.cancel,
                                        force=force)
                if finished or self.cmd.ctx.cancel.is_set():
                    return finished
        finally:
            self.complete()


# ---- Wait-Job ---------------------------------------------------------------------------------
class WaitJobArgs(JobStateArgs):
    """Wait-Job's parameters."""

    Any: bool
    Timeout: int
    Force: bool


@command
class WaitJob(Cmdlet):
    """Wait-Job: wait until jobs finish."""

    spec = CommandSpec(
        name="Wait-Job", aliases=("wjb",), default_set=ID_SET,
        summary="Waits until one or all of the given jobs are finished.",
        description="Outputs the finished jobs. On timeout it outputs nothing and the jobs keep "
                    "running. Ctrl+C stops the waiting, never the jobs.",
        examples=(("Get-Job | Wait-Job", "Wait for every job."),
                  ("Wait-Job -Id 1,2 -Any -Timeout 30", "The first of two, 30 s at most.")),
        params=(*selector_params(),
                Param("Any", SWITCH, help="Return as soon as one job finishes."),
                Param("Timeout", INT, aliases=("TimeoutSec",), default=-1,
                      validate=_not_negative_one, help="Seconds to wait at most (-1: forever)."),
                Param("Force", SWITCH, help="Keep waiting through Suspended/Disconnected.")),
    )
    args_type = WaitJobArgs

    def begin(self, args: WaitJobArgs) -> None:
        self.jobs: list[Job] = []

    def process(self, args: WaitJobArgs) -> None:
        self.jobs.extend(select_jobs(self, args))

    def end(self, args: WaitJobArgs) -> None:
        from pjsh.jobs.model import JobState

        jobs = list({j.id: j for j in self.jobs}.values())
        if not jobs:
            return
        if any(j.state is JobState.Blocked for j in jobs):
            self.ctx.throw("The Wait-Job cmdlet cannot finish working, because one or more jobs "
                           "are blocked waiting for user interaction.  Process interactive job "
                           "output by using the Receive-Job cmdlet, and then try again.",
                           _fq(self, "BlockedJobsDeadlockWithWaitJob"), "DeadlockDetected")
        manager = service(self).manager
        timeout = None if args.Timeout is None or args.Timeout < 0 else float(args.Timeout)
        progress = WaitProgress(self, jobs) if not args.Any else None
        if progress is not None and progress.enabled:
            finished = progress.wait(manager, timeout, bool(args.Force))
        else:
            finished = manager.wait(jobs, any_=bool(args.Any), timeout=timeout,
                                    cancel=self.ctx.cancel, force=bool(args.Force))
        if self.ctx.stopping:
            return  # cancelled (Ctrl+C, Stop-Job of the job this runs in): the jobs go on
        if not args.Force and any(j.state in (JobState.Suspended, JobState.Disconnected)
                                  for j in finished):
            self.ctx.write_warning(
                "One or more jobs are in a suspended or disconnected state, and cannot continue "
                "without additional user input.  Specify the -Force parameter to continue to a "
                "completed, failed, or stopped state.")
        for j in finished:
            self.ctx.write_output(j)


# ---- Stop-Job / Remove-Job / Suspend-Job / Resume-Job -----------------------------------------
class StopJobArgs(JobStateArgs):
    """Stop-Job's parameters."""

    PassThru: bool


@command
class StopJob(Cmdlet):
    """Stop-Job: stop jobs and their whole process trees."""

    spec = CommandSpec(
        name="Stop-Job", aliases=("spjb",), default_set=ID_SET,
        summary="Stops background jobs (their whole process group).",
        examples=(("$j | Stop-Job", "Stop a job."), ("Stop-Job -State Running -PassThru",
                                                     "Stop all running jobs and show them.")),
        params=(*selector_params(), Param("PassThru", SWITCH, help="Output the stopped jobs.")),
    )
    args_type = StopJobArgs

    def process(self, args: StopJobArgs) -> None:
        manager = service(self).manager
        for job in select_jobs(self, args):
            # No timeout: each backend ends its jobs itself (SIGKILL after its grace for
            # processes; thread jobs' waits all wake on their token). A stop of this
            # pipeline stops the waiting.
            if not manager.stop(job, wait=True, cancel=self.ctx.cancel):
                return
            if args.PassThru:
                self.ctx.write_output(job)


class RemoveJobArgs(JobCommandArgs):
    """Remove-Job's parameters."""

    Force: bool


@command
class RemoveJob(Cmdlet):
    """Remove-Job: delete finished jobs (and their stored output)."""

    spec = CommandSpec(
        name="Remove-Job", aliases=("rjb",), default_set=ID_SET,
        summary="Deletes jobs; a running job needs -Force.",
        examples=(("Get-Job -State Completed | Remove-Job", "Forget finished jobs."),
                  ("Remove-Job -Id 3 -Force", "Stop and remove a running job.")),
        params=(*selector_params(with_command=True),
                Param("Force", SWITCH, aliases=("F",),
                      sets=(ID_SET, JOB_SET, NAME_SET, INSTANCE_SET, FILTER_SET),
                      help="Stop running jobs, then remove them.")),
    )
    args_type = RemoveJobArgs

    def process(self, args: RemoveJobArgs) -> None:
        from pjsh.jobs.model import JobError

        if args.parameter_set == COMMAND_SET and not args.Command:
            # Nothing given: the binder settles on the one set without a mandatory parameter,
            # but PowerShell binds the default set (-Id) and then misses its value.
            self.ctx.throw(
                "Cannot process command because of one or more missing mandatory parameters: Id.",
                "MissingMandatoryParameter,Microsoft.PowerShell.Commands.RemoveJobCommand",
                "InvalidArgument",
                exception_type="System.Management.Automation.ParameterBindingException")
        manager = service(self).manager
        suffix = {ID_SET: "SessionId", NAME_SET: "Name", INSTANCE_SET: "InstanceId",
                  JOB_SET: "Job"}.get(args.parameter_set, "Job")
        for job in select_jobs(self, args):
            if job.parent is not None:
                self.ctx.write_error(self.ctx.error(
                    "The command cannot remove the job because it does not exist or because it is a "
                    "child job. Child jobs can be removed only by removing the parent job.",
                    "CannotRemoveJob,Microsoft.PowerShell.Commands.RemoveJobCommand",
                    "InvalidOperation", job, "System.ArgumentException"))
                continue
            if not job.is_finished() and not args.Force:
                if args.parameter_set == NAME_SET:
                    msg = (f"The command cannot remove the job with the job ID {job.id} and the name "
                           f"{job.name} because the job is not finished. To remove the job, first "
                           "stop the job, or use the Force parameter.")
                elif args.parameter_set == INSTANCE_SET:
                    msg = (f"The command cannot remove the job with the job ID {job.id} and the "
                           f"instance identifier {job.instance_id} because the job is not finished. "
                           "To remove the job, first stop the job or use the Force parameter.")
                else:
                    msg = (f"The command cannot remove the job with the job ID {job.id} because the "
                           "job is not finished. To remove the job, first stop the job, or use the "
                           "Force parameter.")
                self.ctx.write_error(self.ctx.error(
                    f"{msg} (Parameter '{suffix}')",
                    "JobObjectNotFinishedCannotBeRemoved,Microsoft.PowerShell.Commands."
                    "RemoveJobCommand", "InvalidOperation", job, "System.ArgumentException"))
                continue
            try:
                manager.remove(job, force=bool(args.Force), cancel=self.ctx.cancel)
            except JobError as e:
                self.ctx.write_error(self.ctx.error(str(e), _fq(self, "CannotRemoveJob"), "InvalidOperation",
                                                    job))


def _resume_default(cmd: Cmdlet, args: JobStateArgs) -> list[Job]:
    """No selector: the most recent suspended job (bash's ``bg``/``fg`` habit)."""
    if args.parameter_set == ID_SET and not args.Id:
        from pjsh.jobs.model import JobState

        jobs = [j for j in service(cmd).manager.jobs() if j.state is JobState.Suspended]
        if not jobs:
            cmd.ctx.throw("There is no suspended job to resume.", _fq(cmd, "NoCurrentJob"),
                          "ObjectNotFound")
        return jobs[-1:]
    return select_jobs(cmd, args)


def _signal_jobs(cmd: Cmdlet, jobs: list[Job], operation: Callable[[Job], None],
                 error_id: str, wait_for: Callable[[object], bool] | None) -> None:
    """Suspend-Job / Resume-Job: apply ``operation`` to each job, wait (-Wait) until
    ``wait_for(job.state)`` holds, and output it; a job that cannot be suspended or resumed
    is a non-terminating error."""
    from pjsh.jobs.model import JobError

    for job in jobs:
        try:
            operation(job)
        except JobError as e:
            cmd.ctx.write_error(cmd.ctx.error(str(e), _fq(cmd, error_id), "InvalidOperation",
                                              job))
            continue
        if wait_for is not None:
            _wait_until(cmd, job, wait_for)
        cmd.ctx.write_output(job)


class SuspendJobArgs(JobStateArgs):
    """Suspend-Job's parameters."""

    Force: bool
    Wait: bool


@command
class SuspendJob(Cmdlet):
    """Suspend-Job: pause a job's processes (SIGSTOP to its process group)."""

    spec = CommandSpec(
        name="Suspend-Job", aliases=("sujb",), default_set=ID_SET,
        summary="Suspends jobs (SIGSTOP to their process group).",
        params=(*selector_params(),
                # PowerShell's -Force skips waiting for a workflow checkpoint; a pjsh job has
                # none and is always suspended at once (SIGSTOP), so it changes nothing.
                Param("Force", SWITCH, aliases=("F",),
                      help="Suspend at once (pjsh always does: jobs have no checkpoints)."),
                Param("Wait", SWITCH,
                      help="Return once the job is Suspended (or has finished).")),
    )
    args_type = SuspendJobArgs

    def process(self, args: SuspendJobArgs) -> None:
        from pjsh.jobs.model import JobState

        _signal_jobs(self, select_jobs(self, args), service(self).manager.suspend,
                     "SuspendJobNotSupported",
                     (lambda s: s is JobState.Suspended or _finished(s)) if args.Wait else None)


class ResumeJobArgs(JobStateArgs):
    """Resume-Job's parameters."""

    Wait: bool


@command
class ResumeJob(Cmdlet):
    """Resume-Job: continue suspended jobs in the background (SIGCONT)."""

    spec = CommandSpec(
        name="Resume-Job", aliases=("rujb", "bg"), default_set=ID_SET,
        summary="Resumes suspended jobs in the background (SIGCONT). Without a selector, the "
                "most recently suspended job.",
        params=(*selector_params(id_mandatory=False),
                Param("Wait", SWITCH, help="Return once the job is running again (or has "
                                           "finished).")),
    )
    args_type = ResumeJobArgs

    def process(self, args: ResumeJobArgs) -> None:
        from pjsh.jobs.model import JobState

        _signal_jobs(self, _resume_default(self, args), service(self).manager.resume,
                     "ResumeJobNotSupported",
                     (lambda s: s not in (JobState.Suspended, JobState.Suspending))
                     if args.Wait else None)


def _finished(state: object) -> bool:
    from pjsh.jobs.model import JobState, is_finished

    return isinstance(state, JobState) and is_finished(state)


def _wait_until(cmd: Cmdlet, job: Job, done: Callable[[object], bool]) -> None:
    """Block until ``done(job.state)`` holds: -Wait of Suspend-Job and Resume-Job. Event
    driven (an observer on the job); a stop of the pipeline ends the wait, never the job."""
    wake: queue.SimpleQueue[None] = queue.SimpleQueue()

    def observer(_event: object) -> None:
        wake.put(None)

    cancel = cmd.ctx.cancel
    key = cancel.wake(wake)
    job.add_observer(observer, output=False)
    try:
        while not done(job.state) and not cancel.is_set():
            wake.get()
    finally:
        job.remove_observer(observer)
        cancel.remove_callback(key)


class EnterJobArgs(JobStateArgs):
    """Enter-Job's parameters."""



@command
class EnterJob(Cmdlet):
    """Enter-Job (``fg``): bring a job to the foreground: resume it and stream its output."""

    spec = CommandSpec(
        name="Enter-Job", aliases=("fg",), default_set=ID_SET,
        summary="Brings a job to the foreground: resumes it if suspended and streams its output "
                "until it ends (the latest job when none is given).",
        params=(*selector_params(id_mandatory=False),),
    )
    args_type = EnterJobArgs

    def process(self, args: EnterJobArgs) -> None:
        from pjsh.jobs.model import JobState
        from pjsh.jobs.tty import TerminalJob, TerminalOwner

        if args.parameter_set == ID_SET and not args.Id:
            jobs = service(self).manager.jobs()
            if not jobs:
                self.ctx.throw("There is no current job.", _fq(self, "NoCurrentJob"),
                               "ObjectNotFound")
            targets = current_jobs(jobs)[:1]
        else:
            targets = select_jobs(self, args)
        manager = service(self).manager
        session = self.ctx.session
        terminal = session.terminal if isinstance(session.terminal, TerminalOwner) else None
        captured: list[Job] = []
        for job in targets:
            if isinstance(job, TerminalJob) and terminal is not None and not job.is_finished():
                # Began on the terminal: it gets the terminal back, with its own modes. Its
                # command line first, as bash says which job it continues.
                self.ctx.write_host(job.command.strip())
                session.host.flush()
                codes = terminal.foreground_job(session, job)
                if codes is not None:
                    code = codes[-1]
                    session.last_exit_code = code if code >= 0 else 128 - code
                continue
            captured.append(job)
        if not captured:
            return
        if terminal is not None:
            for job in captured:
                if not job.is_finished():
                    self.ctx.write_warning(
                        f"Job {job.id} ({job.command.strip()}) was started in the background "
                        "with its output captured, so it cannot be given the terminal. Its "
                        "output is shown here; Ctrl+C stops it, Ctrl+Z suspends it.")
        for job in captured:
            if job.state is JobState.Suspended:
                manager.resume(job)
        receiver = ReceiveJob(self.ctx)
        bound = ReceiveJobArgs({"Keep": False, "NoRecurse": False, "Force": False, "Wait": True,
                       "AutoRemoveJob": False, "WriteEvents": False, "WriteJobInResults": False},
                      "Location")
        if terminal is None:
            receiver._wait(bound, captured)
            return
        try:
            # pjsh has the terminal: Ctrl+C and Ctrl+Z come to pjsh and are passed on.
            with terminal.forwarding_stop(_raise_suspend):
                receiver._wait(bound, captured)
        except KeyboardInterrupt:
            # Stopped before the prompt comes back, as Stop-Job returns (the stop escalates
            # to SIGKILL after its grace, so this wait ends): the next command sees Stopped,
            # and no late output of the dying job lands after it.
            for job in captured:
                manager.stop(job, wait=False)
            for job in captured:
                manager.stop(job)
            raise
        except _SuspendRequest:
            for job in captured:
                if not job.is_finished():
                    with contextlib.suppress(Exception):
                        manager.suspend(job)
                    if job.state is JobState.Suspended:
                        self.ctx.write_host(f"[{job.id}]+  Suspended  {job.command.strip()}")


class _SuspendRequest(Exception):
    """Ctrl+Z while ``fg`` shows a captured job's output (raised by the SIGTSTP handler)."""


def _raise_suspend() -> None:
    raise _SuspendRequest


__all__ = ["NativeLine"]
