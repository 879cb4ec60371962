"""A runspace's state: host, current directory, scopes, commands, history and errors."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from pjsh.lang.record import dataclass, field
from pjsh.runtime.cmdlet import Registry
from pjsh.runtime.host import Host
from pjsh.runtime.scopes import Scope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pjsh.lang import ast
    from pjsh.runtime.binder import BindResult, CommandBinder
    from pjsh.runtime.cmdlet import Cmdlet
    from pjsh.runtime.errors import ErrorRecord
    from pjsh.runtime.interpreter import Frame, FunctionInfo, Interpreter
    from pjsh.runtime.launch import Process
    from pjsh.runtime.pipeline import PipelineRunner, Stage
    from pjsh.runtime.runspace import RunspaceOptions


class JobEngine(Protocol):
    """What the runtime needs from a session's job service (the jobs layer provides it; the
    runtime never imports it)."""

    def background(self, interp: Interpreter, chain: ast.PipelineChain, frame: Frame) -> object:
        """Start ``chain &`` as a job and return the job."""

    def asjob_stage(self, runner: PipelineRunner, frame: Frame, node: ast.Command, name: str,
                    cls: type[Cmdlet], binder: CommandBinder, result: BindResult) -> Stage:
        """A pipeline stage that runs a bound cmdlet as a job (``-AsJob``)."""

    def shutdown(self) -> None:
        """Stop every running job and its process tree (leaving the shell)."""


class ForegroundTerminal(Protocol):
    """The console's terminal, lent to foreground native pipelines (``pjsh.jobs.tty``
    provides it; present only in an interactive session that owns a terminal)."""

    def run_foreground(self, session: Session, procs: Sequence[Process],
                       command: str) -> list[int] | None:
        """Give the terminal to the group led by ``procs[0]`` until it ends (its return
        codes) or is suspended (None: it became a job)."""


class PushedRunspace(Protocol):
    """A runspace the user entered (Enter-Session): the lines the console or scripted stdin
    reads next run there instead of here, until it pops itself (``exit``)."""

    def prompt(self) -> str:
        """The prompt for the next line (``[host]: PS /remote/dir> ``)."""

    def run_line(self, text: str) -> bool:
        """Run one complete piece of input there; the resulting ``$?``."""

    def leave(self, quiet: bool = False) -> None:
        """Pop back to the local runspace (the console is exiting, or ``exit`` was typed)."""


class JobEngineFactory(Protocol):
    """Builds a session's job service on first use."""

    def prepare(self) -> None:
        """Get ready for a first job that is about to be started (start helpers early)."""

    def __call__(self, session: Session) -> JobEngine:
        """The job service of ``session``."""


@dataclass
class HistoryEntry:
    """One line run at the prompt (Get-History)."""

    ps_type_names = ("Microsoft.PowerShell.Commands.HistoryInfo",)
    ps_property_names = ("Id", "CommandLine", "ExecutionStatus", "StartExecutionTime",
                         "EndExecutionTime")

    Id: int
    CommandLine: str
    ExecutionStatus: str = "Completed"
    StartExecutionTime: object = None
    EndExecutionTime: object = None


@dataclass
class Session:
    """Everything one runspace owns. Built once by the CLI (or a test) and passed down."""

    host: Host
    cwd: str = field(default_factory=os.getcwd)
    registry: Registry = field(default_factory=Registry)
    global_scope: Scope = field(default_factory=Scope)
    history: list[HistoryEntry] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    interactive: bool = False
    script_args: list[object] = field(default_factory=list)
    exit_code: int | None = None
    # $LASTEXITCODE: a native's exit status, or whatever a script assigned (pwsh stores any
    # value there); ``last_exit_code`` is its integer reading.
    last_exit_value: object = 0
    max_errors: int = 256
    # Functions defined by scripts (lower-case name -> FunctionInfo) and aliases (name -> command).
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    location_stack: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # stdin for foreground natives: None inherits ours; scripted-stdin mode gives /dev/null so a
    # native never swallows the rest of the script.
    native_stdin: int | None = None
    # Set after each pipeline: why its last native failed (None if it did not).
    last_native_failure: str | None = None
    previous_location: str | None = None
    # A job's runspace: its natives get their own process group, so Stop-Job can end them.
    isolate_natives: bool = False
    # The terminal foreground native pipelines get (interactive console only; None: natives
    # stay in pjsh's process group, as in scripts).
    terminal: ForegroundTerminal | None = field(default=None, repr=False)
    # Builds the job service on first use (scripts without jobs pay nothing).
    job_factory: JobEngineFactory | None = field(default=None, repr=False)
    # The options the runspace was built from (a job's runspace derives its own from them).
    options: RunspaceOptions | None = field(default=None, repr=False)
    # The entered remote runspace (Enter-Session), where the next input lines go.
    pushed: PushedRunspace | None = field(default=None, repr=False)
    # State an upper layer keeps per runspace (the remote sessions table), by a dotted key.
    extensions: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def last_exit_code(self) -> int:
        """$LASTEXITCODE as an exit status (0 when a script stored something that is not one)."""
        value = self.last_exit_value
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @last_exit_code.setter
    def last_exit_code(self, code: int) -> None:
        self.last_exit_value = code

    def resolve_path(self, path: str) -> str:
        """Make a path absolute against the session's current directory (``~`` expanded)."""
        if path == "~" or path.startswith("~/"):
            path = os.path.expanduser(path)
        return os.path.normpath(os.path.join(self.cwd, path))

    def set_location(self, path: str) -> str:
        """Change the current directory; raise FileNotFoundError/NotADirectoryError if bad."""
        target = self.resolve_path(path)
        if not os.path.exists(target):
            raise FileNotFoundError(target)
        if not os.path.isdir(target):
            raise NotADirectoryError(target)
        self.cwd = target
        return target

    def record_error(self, record: ErrorRecord) -> None:
        """Put an error at the front of ``$Error``, bounded like $MaximumErrorCount."""
        self.errors.insert(0, record)
        del self.errors[self.max_errors:]

    # ---- jobs (the service is created on first use: scripts without jobs pay nothing) ----
    _job_service: JobEngine | None = field(default=None, repr=False)

    @property
    def jobs(self) -> JobEngine:
        """This session's job service."""
        if self._job_service is None:
            if self.job_factory is None:
                from pjsh.runtime.errors import PSRuntimeError, make_error

                raise PSRuntimeError(make_error(
                    "This runspace cannot run jobs.", "JobsNotSupported", "NotImplemented"))
            self._job_service = self.job_factory(self)
        return self._job_service

    def prepare_jobs(self) -> None:
        """A first job is about to start: let the job engine get ready early."""
        if self._job_service is None and self.job_factory is not None:
            self.job_factory.prepare()

    @property
    def has_jobs(self) -> bool:
        """True once any job machinery was used."""
        return self._job_service is not None

    def shutdown(self) -> None:
        """Stop running jobs and their process trees (leaving the shell)."""
        if self._job_service is not None:
            self._job_service.shutdown()
