"""A runspace's state: host, current directory, scopes, commands, history and errors."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pjsh.commands.base import BUILTINS, Registry
from pjsh.lang.record import dataclass, field
from pjsh.runtime.host import Host
from pjsh.runtime.scopes import Scope

if TYPE_CHECKING:
    from pjsh.jobs.service import JobService
    from pjsh.runtime.errors import ErrorRecord
    from pjsh.runtime.interpreter import FunctionInfo


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
    registry: Registry = field(default_factory=lambda: BUILTINS)
    global_scope: Scope = field(default_factory=Scope)
    history: list[HistoryEntry] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    interactive: bool = False
    script_args: list[object] = field(default_factory=list)
    exit_code: int | None = None
    last_exit_code: int = 0
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
    _job_service: JobService | None = field(default=None, repr=False)

    @property
    def jobs(self) -> JobService:
        """This session's job service."""
        if self._job_service is None:
            from pjsh.jobs.service import JobService

            self._job_service = JobService(self)
        return self._job_service

    @property
    def has_jobs(self) -> bool:
        """True once any job machinery was used."""
        return self._job_service is not None

    def shutdown(self) -> None:
        """Stop running jobs and their process trees (leaving the shell)."""
        if self._job_service is not None:
            self._job_service.shutdown()
