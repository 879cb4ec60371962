"""Error records and the exceptions that carry them (terminating errors, flow control)."""

from __future__ import annotations

from pjsh.lang.record import dataclass, field
from pjsh.lang.source import Span, caret_lines, line_col
from pjsh.runtime.values import PSPropertyClass


@dataclass
class ExceptionInfo(PSPropertyClass):
    """The .NET-like exception inside an error record: a type name and a message."""

    ps_type_names = ("System.Exception",)
    ps_property_names = ("Message", "InnerException")

    Message: str
    TypeName: str = "System.Management.Automation.RuntimeException"
    # The wrapped .NET exception (1/$x is a RuntimeException around DivideByZeroException);
    # `catch [System.DivideByZeroException]` matches it.
    InnerException: ExceptionInfo | None = None
    WasThrownFromThrowStatement: bool = False

    def __str__(self) -> str:
        return self.Message


@dataclass
class CategoryInfo(PSPropertyClass):
    """Category, reason and target of an error, as PowerShell's ErrorCategoryInfo."""

    ps_type_names = ("System.Management.Automation.ErrorCategoryInfo",)
    ps_property_names = ("Category", "Activity", "Reason", "TargetName", "TargetType")
    ps_method_names = ("GetMessage",)

    Category: str = "NotSpecified"
    Activity: str = ""
    Reason: str = ""
    TargetName: str = ""
    TargetType: str = ""

    def __str__(self) -> str:
        return (f"{self.Category}: ({self.TargetName}:{self.TargetType}) [{self.Activity}], "
                f"{self.Reason}")

    def GetMessage(self) -> str:
        """The one-line summary (what ``ToString()`` gives)."""
        return str(self)


@dataclass
class ErrorDetails(PSPropertyClass):
    """``$error.ErrorDetails``: a replacement message and what the user should do about it."""

    ps_type_names = ("System.Management.Automation.ErrorDetails",)
    ps_property_names = ("Message", "RecommendedAction")

    Message: str = ""
    RecommendedAction: str = ""

    def __str__(self) -> str:
        return self.Message


@dataclass
class InvocationInfo(PSPropertyClass):
    """Where an error happened: the command, and the script position if known."""

    ps_type_names = ("System.Management.Automation.InvocationInfo",)
    ps_property_names = ("MyCommand", "ScriptName", "ScriptLineNumber", "OffsetInLine", "Line",
                         "PositionMessage")

    MyCommand: str = ""
    ScriptLineNumber: int = 0
    OffsetInLine: int = 0
    Line: str = ""
    PositionMessage: str = ""
    ScriptName: str = ""  # the script file the error happened in ('' for typed input)


@dataclass
class ErrorRecord(PSPropertyClass):
    """A PowerShell error record: what went wrong, its id, category, target and position."""

    ps_type_names = ("System.Management.Automation.ErrorRecord",)
    ps_property_names = (
        "Exception",
        "TargetObject",
        "CategoryInfo",
        "FullyQualifiedErrorId",
        "InvocationInfo",
        "PSComputerName",
        "ErrorDetails",
    )

    Exception: ExceptionInfo
    FullyQualifiedErrorId: str = "RuntimeException"
    CategoryInfo: CategoryInfo = field(default_factory=CategoryInfo)
    TargetObject: object = None
    InvocationInfo: InvocationInfo = field(default_factory=InvocationInfo)
    PSComputerName: str | None = None
    ErrorDetails: ErrorDetails | None = None

    @property
    def message(self) -> str:
        """The error's message text."""
        return self.Exception.Message

    @property
    def command(self) -> str:
        """The command the error is attributed to ('' when none)."""
        return self.InvocationInfo.MyCommand

    def __str__(self) -> str:
        return self.Exception.Message

    def describe(self) -> str:
        """Render as PowerShell's ConciseView: ``Reason: message``, where the reason is the
        command (or Exception for ``throw``, else the category or exception type); errors in a
        script file or below a multi-line input's first line get the ``Line |`` block."""
        if self.FullyQualifiedErrorId.startswith("NativeCommandError") or \
                self.CategoryInfo.Category == "ParserError":
            return self.message
        reason = self.reason()
        info = self.InvocationInfo
        if info.PositionMessage and (info.ScriptName or info.ScriptLineNumber > 1):
            where = f"{info.ScriptName}:{info.ScriptLineNumber}" if info.ScriptName else ""
            body = "\n".join(f"     | {line}" for line in self.message.splitlines() or [""])
            return f"{reason}: {where}\n{info.PositionMessage}\n{body}"
        return f"{reason}: {self.message}"

    def reason(self) -> str:
        """The word before the colon in ConciseView, chosen in PowerShell's order."""
        if self.Exception.WasThrownFromThrowStatement:
            return "Exception"
        if self.InvocationInfo.MyCommand:
            return self.InvocationInfo.MyCommand
        if self.CategoryInfo.Activity:
            return self.CategoryInfo.Activity
        if self.CategoryInfo.Category and self.CategoryInfo.Category != "NotSpecified":
            return self.CategoryInfo.Category
        if self.CategoryInfo.Reason:
            return self.CategoryInfo.Reason
        return self.Exception.TypeName.rsplit(".", 1)[-1] or "Error"


def make_error(
    message: str,
    error_id: str = "RuntimeException",
    category: str = "NotSpecified",
    *,
    target: object = None,
    command: str = "",
    exception_type: str = "System.Management.Automation.RuntimeException",
    span: Span | None = None,
    source: str = "",
    script_name: str = "",
) -> ErrorRecord:
    """Build an error record; ``span`` and ``source`` add a position message with a caret."""
    info = InvocationInfo(MyCommand=command, ScriptName=script_name)
    if span is not None and source:
        line, col = line_col(source, span.start)
        text, caret = caret_lines(source, span)
        info.ScriptLineNumber = line
        info.OffsetInLine = col
        info.Line = text
        info.PositionMessage = f"Line |\n{line:>4} |  {text}\n     |  {caret}"
    return ErrorRecord(
        Exception=ExceptionInfo(message, exception_type),
        FullyQualifiedErrorId=error_id,
        CategoryInfo=CategoryInfo(Category=category, TargetName=str(target) if target else ""),
        TargetObject=target,
        InvocationInfo=info,
    )


# Base classes of the exception types pjsh raises, so `catch [T]` also catches subclasses.
EXCEPTION_BASES: dict[str, str] = {
    "system.dividebyzeroexception": "system.arithmeticexception",
    "system.overflowexception": "system.arithmeticexception",
    "system.arithmeticexception": "system.systemexception",
    "system.io.filenotfoundexception": "system.io.ioexception",
    "system.io.directorynotfoundexception": "system.io.ioexception",
    "system.outofmemoryexception": "system.systemexception",
    "system.io.ioexception": "system.systemexception",
    "system.unauthorizedaccessexception": "system.systemexception",
    "system.management.automation.psargumentexception": "system.argumentexception",
    "system.argumentoutofrangeexception": "system.argumentexception",
    "system.argumentnullexception": "system.argumentexception",
    "system.argumentexception": "system.systemexception",
    "system.management.automation.psinvalidoperationexception":
        "system.invalidoperationexception",
    "system.invalidoperationexception": "system.systemexception",
    "system.invalidcastexception": "system.systemexception",
    "system.formatexception": "system.systemexception",
    "system.notsupportedexception": "system.systemexception",
    "system.management.automation.itemnotfoundexception":
        "system.management.automation.sessionstateexception",
    "system.management.automation.sessionstateunauthorizedaccessexception":
        "system.management.automation.sessionstateexception",
    "system.management.automation.sessionstateexception":
        "system.management.automation.runtimeexception",
    "system.management.automation.parameterbindingexception":
        "system.management.automation.runtimeexception",
    "system.management.automation.commandnotfoundexception":
        "system.management.automation.runtimeexception",
    "system.management.automation.parseexception": "system.management.automation.runtimeexception",
    "system.management.automation.actionpreferencestopexception":
        "system.management.automation.runtimeexception",
    "system.management.automation.remoteexception": "system.management.automation.runtimeexception",
    "system.management.automation.methodinvocationexception":
        "system.management.automation.methodexception",
    "system.management.automation.methodexception": "system.management.automation.runtimeexception",
    "system.management.automation.runtimeexception": "system.systemexception",
    "system.systemexception": "system.exception",
}


def exception_type_chain(type_name: str) -> list[str]:
    """A type name and its known base classes, lower-cased, most derived first."""
    chain: list[str] = []
    t: str | None = type_name.lower()
    while t is not None and t not in chain:
        chain.append(t)
        t = EXCEPTION_BASES.get(t)
    if "system.exception" not in chain:
        chain.append("system.exception")
    return chain


class PSRuntimeError(Exception):
    """A terminating error: unwinds to the nearest try/catch or the top of the statement."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(record.message)
        self.record = record


class CallDepthOverflow(RecursionError):
    """Script blocks and functions nested past the depth limit. Unlike a statement's error it
    unwinds the whole script (as pwsh's ScriptCallDepthException): a recursion that also loops
    must not go on at every level, doubling its calls per level. A RecursionError, so what
    handles Python's own (the runspace's top level) handles it the same way."""

    def __init__(self) -> None:
        super().__init__("The script failed due to call depth overflow.")


class FlowControl(Exception):
    """Base of break/continue/return/exit signals."""


class BreakSignal(FlowControl):
    """``break`` out of the innermost (or labelled) loop."""

    def __init__(self, label: str | None = None) -> None:
        super().__init__(label or "")
        self.label = label


class ContinueSignal(FlowControl):
    """``continue`` with the next iteration of the innermost (or labelled) loop."""

    def __init__(self, label: str | None = None) -> None:
        super().__init__(label or "")
        self.label = label


class ReturnSignal(FlowControl):
    """``return`` from the current function or script block."""


class ExitSignal(FlowControl):
    """``exit N``: leave the script or the shell with an exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(str(code))
        self.code = code


class PipelineStoppedSignal(BaseException):
    """The running script was asked to stop (Ctrl+C, Stop-Job, a time budget). A BaseException,
    so neither ``catch`` nor a cmdlet's ``except Exception`` swallows it; ``finally`` runs."""

    def __init__(self) -> None:
        super().__init__("The pipeline has been stopped.")


class StopUpstreamSignal(FlowControl):
    """Raised by a command (Select-Object -First) that needs no more input: the pipeline stops
    the commands before it and finishes the ones after it normally."""
