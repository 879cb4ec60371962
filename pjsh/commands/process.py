"""Processes: Get-Process and Stop-Process.

Process data comes from ``/proc`` on Linux and from ``ps`` elsewhere; each platform has its
own pair of module-level reader functions, chosen once at import.
"""

from __future__ import annotations

import datetime as _dt
import os
import signal
import sys
from collections.abc import Callable, Iterable

from pjsh.lang.record import dataclass
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import INTS, OBJECTS, STRINGS, SWITCH, as_list, to_int, to_string
from pjsh.runtime.members import get_member
from pjsh.runtime.operators import has_wildcard, wildcard_regex
from pjsh.runtime.values import PSPropertyClass

_PROCESS_EXCEPTION = "Microsoft.PowerShell.Commands.ProcessCommandException"


@dataclass(eq=False)
class ProcessInfo(PSPropertyClass):
    """A snapshot of one process (``System.Diagnostics.Process``)."""

    ps_type_names = ("System.Diagnostics.Process", "System.ComponentModel.Component",
                     "System.Object")
    ps_property_names = (
        "Name", "Id", "ProcessName", "ParentProcessId", "UserName", "CPU", "WS", "PM", "VM",
        "NPM", "SI", "StartTime", "Path", "CommandLine", "WorkingSet64", "PagedMemorySize64",
        "VirtualMemorySize64", "SessionId",
    )

    Id: int
    ProcessName: str
    ParentProcessId: int = 0
    UserName: str | None = None
    CPU: float | None = None  # seconds of user + system time
    WorkingSet64: int = 0
    PagedMemorySize64: int = 0
    VirtualMemorySize64: int = 0
    SessionId: int = 0
    StartTime: _dt.datetime | None = None
    Path: str | None = None
    CommandLine: str | None = None

    @property
    def Name(self) -> str:
        """Alias of ProcessName."""
        return self.ProcessName

    @property
    def WS(self) -> int:
        """Alias of WorkingSet64 (resident memory, bytes)."""
        return self.WorkingSet64

    @property
    def PM(self) -> int:
        """Alias of PagedMemorySize64 (swapped-out memory on Linux, bytes)."""
        return self.PagedMemorySize64

    @property
    def VM(self) -> int:
        """Alias of VirtualMemorySize64 (bytes)."""
        return self.VirtualMemorySize64

    @property
    def NPM(self) -> int:
        """Non-paged memory: always 0 on Unix."""
        return 0

    @property
    def SI(self) -> int:
        """Alias of SessionId."""
        return self.SessionId

    def __str__(self) -> str:
        return f"System.Diagnostics.Process ({self.ProcessName})"


# ---------------------------------------------------------------------------------------------
# Linux: /proc
# ---------------------------------------------------------------------------------------------

_COMM_MAX = 15  # the kernel truncates comm to TASK_COMM_LEN - 1 characters


@dataclass(frozen=True)
class _ProcfsClock:
    """Constants needed to turn /proc numbers into seconds, bytes and times."""

    ticks: int
    page: int
    boot: float


def _procfs_clock() -> _ProcfsClock:
    boot = 0.0
    try:
        with open("/proc/stat", "rb") as fh:
            for line in fh:
                if line.startswith(b"btime "):
                    boot = float(line.split()[1])
                    break
    except OSError:
        pass
    return _ProcfsClock(os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE"), boot)


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _user_of(uid: int) -> str:
    from pjsh.commands.items import user_name

    return user_name(uid)


def _procfs_read(pid: int, clock: _ProcfsClock | None = None) -> ProcessInfo | None:
    """Read one process from /proc; None if it does not exist (or vanished meanwhile)."""
    clock = clock or _procfs_clock()
    base = f"/proc/{pid}"
    raw = _read_bytes(base + "/stat")
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace")
    # comm may itself hold spaces and parentheses: it ends at the *last* ')'.
    comm = text[text.find("(") + 1:text.rfind(")")]
    fields = text[text.rfind(")") + 2:].split()
    if len(fields) < 22:
        return None
    cmd_raw = _read_bytes(base + "/cmdline") or b""
    argv = [a.decode("utf-8", "surrogateescape") for a in cmd_raw.split(b"\0") if a]
    name = comm
    if len(comm) >= _COMM_MAX and argv:
        full = os.path.basename(argv[0].split(" ")[0])
        if full.startswith(comm):
            name = full
    swap = 0
    status = _read_bytes(base + "/status") or b""
    for line in status.splitlines():
        if line.startswith(b"VmSwap:"):
            swap = int(line.split()[1]) * 1024
            break
    try:
        uid: int | None = os.stat(base).st_uid
    except OSError:
        uid = None
    try:
        exe: str | None = os.readlink(base + "/exe")
        if exe is not None and exe.endswith(" (deleted)"):
            exe = exe[: -len(" (deleted)")]
    except OSError:
        exe = None
    start = clock.boot + int(fields[19]) / clock.ticks if clock.boot else None
    return ProcessInfo(
        Id=pid,
        ProcessName=name,
        ParentProcessId=int(fields[1]),
        UserName=_user_of(uid) if uid is not None else None,
        CPU=(int(fields[11]) + int(fields[12])) / clock.ticks,
        WorkingSet64=int(fields[21]) * clock.page,
        PagedMemorySize64=swap,
        VirtualMemorySize64=int(fields[20]),
        SessionId=int(fields[3]),
        StartTime=_dt.datetime.fromtimestamp(start) if start is not None else None,
        Path=exe,
        CommandLine=" ".join(argv),
    )


def _procfs_list() -> list[ProcessInfo]:
    """Read every process from /proc, skipping those that end while being read."""
    clock = _procfs_clock()
    out: list[ProcessInfo] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _procfs_read(int(entry), clock)
            if info is not None:
                out.append(info)
    return out


# ---------------------------------------------------------------------------------------------
# Elsewhere (macOS, BSD): ps
# ---------------------------------------------------------------------------------------------


def _ps_seconds(text: str) -> float:
    """Parse ps's ``[[dd-]hh:]mm:ss[.xx]`` durations."""
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return days * 86400 + total


def _ps_run(args: list[str]) -> str:
    import subprocess

    try:
        done = subprocess.run(["ps", *args], capture_output=True, check=False)
    except OSError:
        return ""
    return done.stdout.decode("utf-8", "replace")


def _ps_query(pids: Iterable[int] | None) -> list[ProcessInfo]:
    select = ["-p", ",".join(str(p) for p in pids)] if pids is not None else ["-ax"]
    if select[-1] == "":
        return []
    commands: dict[int, str] = {}
    for line in _ps_run([*select, "-o", "pid=,args="]).splitlines():
        pid_text, _, args = line.strip().partition(" ")
        if pid_text.isdigit():
            commands[int(pid_text)] = args.strip()
    now = _dt.datetime.now()
    out: list[ProcessInfo] = []
    columns = "pid=,ppid=,rss=,vsz=,time=,etime=,user=,comm="
    for line in _ps_run([*select, "-o", columns]).splitlines():
        parts = line.split(None, 7)
        if len(parts) < 8 or not parts[0].isdigit():
            continue
        pid = int(parts[0])
        comm = parts[7].strip()
        try:
            cpu: float | None = _ps_seconds(parts[4])
        except ValueError:
            cpu = None
        try:
            start: _dt.datetime | None = now - _dt.timedelta(seconds=_ps_seconds(parts[5]))
        except (ValueError, OverflowError):
            start = None  # procps shows garbage elapsed times for a process just started
        out.append(ProcessInfo(
            Id=pid,
            ProcessName=os.path.basename(comm),
            ParentProcessId=int(parts[1]),
            UserName=parts[6],
            CPU=cpu,
            WorkingSet64=int(parts[2]) * 1024,
            VirtualMemorySize64=int(parts[3]) * 1024,
            StartTime=start,
            Path=comm if comm.startswith("/") else None,
            CommandLine=commands.get(pid, comm),
        ))
    return out


def _ps_read(pid: int) -> ProcessInfo | None:
    """Read one process with ps; None if it does not exist."""
    found = _ps_query([pid])
    return found[0] if found else None


def _ps_list() -> list[ProcessInfo]:
    """Read every process with ps."""
    return _ps_query(None)


def _procfs_read_one(pid: int) -> ProcessInfo | None:
    return _procfs_read(pid)


read_process: Callable[[int], ProcessInfo | None]
list_processes: Callable[[], list[ProcessInfo]]
if sys.platform.startswith("linux"):
    read_process, list_processes = _procfs_read_one, _procfs_list
else:
    read_process, list_processes = _ps_read, _ps_list


def _sorted(processes: Iterable[ProcessInfo]) -> list[ProcessInfo]:
    # pwsh sorts by name (case-insensitive), then by id.
    unique = {p.Id: p for p in processes}
    return sorted(unique.values(), key=lambda p: (p.ProcessName.lower(), p.Id))


# ---------------------------------------------------------------------------------------------
# The cmdlets
# ---------------------------------------------------------------------------------------------


def _no_id(ctx: Cmdlet, pid: int, command_class: str) -> None:
    ctx.ctx.write_error(ctx.ctx.error(
        f"Cannot find a process with the process identifier {pid}.",
        f"NoProcessFoundForGivenId,Microsoft.PowerShell.Commands.{command_class}",
        "ObjectNotFound", pid, _PROCESS_EXCEPTION))


def _no_name(ctx: Cmdlet, name: str, command_class: str) -> None:
    ctx.ctx.write_error(ctx.ctx.error(
        f'Cannot find a process with the name "{name}". Verify the process name and call the '
        "cmdlet again.",
        f"NoProcessFoundForGivenName,Microsoft.PowerShell.Commands.{command_class}",
        "ObjectNotFound", name, _PROCESS_EXCEPTION))


def _by_name(cmd: Cmdlet, names: list[str], command_class: str) -> list[ProcessInfo]:
    everything = list_processes()
    found: list[ProcessInfo] = []
    for name in names:
        rx = wildcard_regex(name)
        hits = [p for p in everything if rx.match(p.ProcessName)]
        if not hits and not has_wildcard(name):
            _no_name(cmd, name, command_class)
        found.extend(hits)
    return found


def _by_id(cmd: Cmdlet, ids: list[int], command_class: str) -> list[ProcessInfo]:
    found: list[ProcessInfo] = []
    for pid in ids:
        info = read_process(pid)
        if info is None:
            _no_id(cmd, pid, command_class)
        else:
            found.append(info)
    return found


class GetProcessArgs(Bound):
    """Get-Process's parameters."""

    Name: list[str] | None
    Id: list[int] | None
    IncludeUserName: bool


@command
class GetProcess(Cmdlet):
    """Get-Process: list running processes."""

    spec = CommandSpec(
        name="Get-Process",
        aliases=("gps",),
        default_set="Name",
        summary="Gets the processes that are running on the local computer.",
        description=(
            "Outputs one object per process (Id, ProcessName, CPU seconds, memory, StartTime, "
            "Path, CommandLine, ParentProcessId, UserName), sorted by name. Names may hold "
            "wildcards; a plain name or an id that matches nothing is an error."
        ),
        examples=(
            ("Get-Process", "All processes."),
            ("Get-Process -Id $PID", "This shell's own process."),
            ("gps python* | Sort-Object CPU -Descending", "Python processes, busiest first."),
        ),
        output_type="System.Diagnostics.Process",
        params=(
            Param("Name", STRINGS, position=0, aliases=("ProcessName",), pipeline_by_name=True,
                  sets=("Name",), help="Process names to get; wildcards allowed."),
            Param("Id", INTS, mandatory=True, aliases=("PID",), pipeline_by_name=True,
                  sets=("Id",), help="Process ids to get."),
            Param("IncludeUserName", SWITCH,
                  help="Accepted for compatibility: UserName is always filled in."),
        ),
    )
    args_type = GetProcessArgs

    def process(self, args: GetProcessArgs) -> None:
        """Write the matching processes."""
        if args.parameter_set == "Id" or "Id" in args:
            found = _by_id(self, [to_int(i) for i in as_list(args.Id)], "GetProcessCommand")
        elif args.Name is not None:
            found = _by_name(self, [to_string(n) for n in as_list(args.Name)],
                             "GetProcessCommand")
        else:
            found = list_processes()
        for info in _sorted(found):
            self.ctx.write_output(info)


class StopProcessArgs(Bound):
    """Stop-Process's parameters."""

    Id: list[int] | None
    Name: list[str] | None
    InputObject: list[object] | None
    PassThru: bool
    Force: bool


@command
class StopProcess(Cmdlet):
    """Stop-Process: kill processes."""

    spec = CommandSpec(
        name="Stop-Process",
        aliases=("spps",),
        default_set="Id",
        summary="Stops one or more running processes.",
        description=(
            "Kills processes by id, name or piped process objects. As in PowerShell on Unix "
            "the process is killed outright (SIGKILL); use the native kill command to send "
            "other signals."
        ),
        examples=(
            ("Stop-Process -Id 4242", "Kill process 4242."),
            ("Stop-Process -Name sleep", "Kill every process named sleep."),
            ("Get-Process python | Stop-Process -PassThru", "Kill and show what was killed."),
        ),
        output_type="System.Diagnostics.Process",
        params=(
            Param("Id", INTS, position=0, mandatory=True, pipeline_by_name=True, sets=("Id",),
                  help="Ids of the processes to stop."),
            Param("Name", STRINGS, mandatory=True, aliases=("ProcessName",),
                  pipeline_by_name=True, sets=("Name",),
                  help="Names of the processes to stop; wildcards allowed."),
            Param("InputObject", OBJECTS, position=0, mandatory=True, pipeline=True,
                  sets=("InputObject",), help="Process objects to stop."),
            Param("PassThru", SWITCH, help="Output the processes that were stopped."),
            Param("Force", SWITCH, help="Accepted for compatibility."),
        ),
    )
    args_type = StopProcessArgs

    def process(self, args: StopProcessArgs) -> None:
        """Kill each process named."""
        cls = "StopProcessCommand"
        if args.parameter_set == "InputObject" or "InputObject" in args:
            targets: list[ProcessInfo] = []
            for obj in as_list(args.InputObject):
                if isinstance(obj, ProcessInfo):
                    targets.append(obj)
                else:
                    targets.extend(_by_id(self, [to_int(get_member(obj, "Id"))], cls))
        elif args.parameter_set == "Name" or "Name" in args:
            targets = _by_name(self, [to_string(n) for n in as_list(args.Name)], cls)
        else:
            targets = _by_id(self, [to_int(i) for i in as_list(args.Id)], cls)
        for info in targets:
            try:
                os.kill(info.Id, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended on its own meanwhile
            except PermissionError as exc:
                self.ctx.write_error(self.ctx.error(
                    f'Cannot stop process "{info.ProcessName} ({info.Id})" because of the '
                    f"following error: {exc.strerror}",
                    f"CouldNotStopProcess,Microsoft.PowerShell.Commands.{cls}", "CloseError",
                    info, _PROCESS_EXCEPTION))
                continue
            if args.PassThru:
                self.ctx.write_output(info)
