"""Output and stream cmdlets: Write-Output/-Error/-Host/-Warning/-Verbose/-Debug/-Information/
-Progress, Out-Null, Out-Host, Out-String, Tee-Object, and the Format-Table / Format-List cmdlets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pjsh.commands.objects import PSOBJECT
from pjsh.lang import record as dataclasses
from pjsh.lang.record import dataclass
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandContext, CommandSpec, Param, command
from pjsh.runtime.convert import (
    INT,
    OBJECT,
    OBJECTS,
    STRING,
    STRINGS,
    SWITCH,
    as_list,
    enum_type,
    to_int,
    to_string,
)
from pjsh.runtime.errors import ErrorRecord, ExceptionInfo
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.values import FormatOutput, PSPropertyClass, lookup_property

if TYPE_CHECKING:
    from pjsh.runtime.formatting import Block, OutDefault, ViewTable


ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected",
    "InvalidArgument", "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType",
    "MetadataError", "NotImplemented", "NotInstalled", "ObjectNotFound", "OperationStopped",
    "OperationTimeout", "SyntaxError", "ParserError", "PermissionDenied", "ResourceBusy",
    "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr",
    "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError",
    "LimitsExceeded", "QuotaExceeded", "NotEnabled",
)
ERROR_CATEGORY = enum_type("System.Management.Automation.ErrorCategory", ERROR_CATEGORIES)

CONSOLE_COLORS = (
    "Black", "DarkBlue", "DarkGreen", "DarkCyan", "DarkRed", "DarkMagenta", "DarkYellow",
    "Gray", "DarkGray", "Blue", "Green", "Cyan", "Red", "Magenta", "Yellow", "White",
)
CONSOLE_COLOR = enum_type("System.ConsoleColor", CONSOLE_COLORS)

WRITE_ERROR_ID = "Microsoft.PowerShell.Commands.WriteErrorException"


# ---------------------------------------------------------------------------------------------
# The format model as pipeline objects
# ---------------------------------------------------------------------------------------------


def expand_format_output(items: Sequence[object]) -> list[object]:
    """Replace each FormatOutput in ``items`` by its blocks (build_blocks passes blocks on)."""
    out: list[object] = []
    for item in items:
        if isinstance(item, FormatOutput):
            out.extend(item.blocks)
        else:
            out.append(item)
    return out


class TextCollector:
    """Formats objects the way the host shows them and hands back plain text chunks.

    It streams like Out-Default: scalars come out at once, objects of one shape are held until
    the shape changes so their table can be sized.
    """

    def __init__(self, width: int, views: ViewTable | None = None) -> None:
        """Render at ``width`` columns with ``views`` (the runspace's default views)."""
        from pjsh.runtime.formatting import OutDefault

        self.width = width
        self.chunks: list[str] = []
        self._out: OutDefault = OutDefault(self._emit, views)

    def _emit(self, blocks: list[Block]) -> None:
        from pjsh.runtime.formatting import render_text

        self.chunks.append(render_text(blocks, self.width))

    def add(self, obj: object) -> None:
        """Take one object (a FormatOutput's blocks pass through unchanged)."""
        for item in expand_format_output([obj]):
            self._out.add(item)

    def flush(self) -> None:
        """Emit whatever is still held."""
        self._out.flush()

    def take(self) -> str:
        """Return and forget the text produced so far."""
        text = "".join(self.chunks)
        self.chunks.clear()
        return text


def render_objects(items: Sequence[object], width: int, views: ViewTable | None = None) -> str:
    """Render objects as Out-String (and Out-File) does: the host's text, one "\\n" per line."""
    collector = TextCollector(width, views)
    for item in items:
        collector.add(item)
    collector.flush()
    return collector.take()


# ---------------------------------------------------------------------------------------------
# Write-* cmdlets
# ---------------------------------------------------------------------------------------------


class WriteOutputArgs(Bound):
    """Write-Output's parameters."""

    InputObject: object
    NoEnumerate: bool


@command
class WriteOutput(Cmdlet):
    """Write-Output: send objects down the pipeline, unrolling collections."""

    spec = CommandSpec(
        name="Write-Output",
        aliases=("echo",),
        params=(
            Param("InputObject", PSOBJECT, position=0, mandatory=True, pipeline=True,
                  remaining=True, help="The objects to send down the pipeline."),
            Param("NoEnumerate", SWITCH,
                  help="Send a collection as one object instead of item by item."),
        ),
        summary="Writes the specified objects to the pipeline.",
        description=(
            "Write-Output sends objects to the success stream: to the next command, or to the "
            "display at the end of the pipeline. A collection is sent item by item unless "
            "-NoEnumerate is given."
        ),
        examples=(
            ("Write-Output 'hello'", "Output a string."),
            ("echo 1 2 3", "Output three numbers."),
            ("Write-Output -NoEnumerate 1,2,3 | Measure-Object", "Count 1: one array."),
        ),
        output_type="System.Management.Automation.PSObject",
    )
    args_type = WriteOutputArgs

    def process(self, args: WriteOutputArgs) -> None:
        """Write the input objects."""
        value = args.InputObject
        if isinstance(value, (list, tuple)) and not args.NoEnumerate:
            for item in value:
                self.ctx.write_output(item)
        else:
            self.ctx.write_output(value)


class WriteErrorArgs(Bound):
    """Write-Error's parameters."""

    Message: str | None
    Exception: object
    ErrorRecord: object
    Category: str | None
    ErrorId: str | None
    TargetObject: object
    RecommendedAction: str | None
    CategoryActivity: str | None
    CategoryReason: str | None
    CategoryTargetName: str | None
    CategoryTargetType: str | None


@command
class WriteError(Cmdlet):
    """Write-Error: write a non-terminating error."""

    spec = CommandSpec(
        name="Write-Error",
        default_set="NoException",
        params=(
            Param("Message", STRING, position=0, mandatory=True, pipeline=True,
                  aliases=("Msg",), sets=("NoException",), allow_empty=True,
                  help="The error message."),
            Param("Exception", OBJECT, mandatory=True, sets=("WithException",),
                  help="An exception whose message and type the error carries."),
            Param("Message", STRING, aliases=("Msg",), sets=("WithException",),
                  help="The error message."),
            Param("ErrorRecord", OBJECT, mandatory=True, sets=("ErrorRecord",),
                  help="An error record to write as it is."),
            Param("Category", ERROR_CATEGORY, sets=("NoException", "WithException"),
                  help="The error category (default NotSpecified)."),
            Param("ErrorId", STRING, sets=("NoException", "WithException"),
                  help="An id for the error (its FullyQualifiedErrorId)."),
            Param("TargetObject", OBJECT, sets=("NoException", "WithException"),
                  help="The object being processed when the error happened."),
            Param("RecommendedAction", STRING, help="What the user should do about it."),
            Param("CategoryActivity", STRING, aliases=("Activity",),
                  help="The activity shown in CategoryInfo (default Write-Error)."),
            Param("CategoryReason", STRING, aliases=("Reason",),
                  help="The reason shown in CategoryInfo."),
            Param("CategoryTargetName", STRING, aliases=("TargetName",),
                  help="The target name shown in CategoryInfo."),
            Param("CategoryTargetType", STRING, aliases=("TargetType",),
                  help="The target type shown in CategoryInfo."),
        ),
        summary="Writes an object to the error stream.",
        description=(
            "Write-Error writes a non-terminating error: the command goes on, the error is shown "
            "(or collected by -ErrorVariable, $Error and 2> redirection), and $? becomes false. "
            "Use throw for a terminating error."
        ),
        examples=(
            ("Write-Error 'Disk is full'", "Write an error."),
            ("Write-Error -Message 'Bad id' -Category InvalidArgument -ErrorId BadId",
             "Write an error with a category and an id."),
        ),
        output_type="",
    )
    args_type = WriteErrorArgs

    def process(self, args: WriteErrorArgs) -> None:
        """Build the error record and write it."""
        record = self._record(args)
        info = record.CategoryInfo
        if "CategoryActivity" in args:
            info.Activity = to_string(args.CategoryActivity)
        if "CategoryReason" in args:
            info.Reason = to_string(args.CategoryReason)
        if "CategoryTargetName" in args:
            info.TargetName = to_string(args.CategoryTargetName)
        if "CategoryTargetType" in args:
            info.TargetType = to_string(args.CategoryTargetType)
        if args.RecommendedAction:
            # As PowerShell's Write-Error: ErrorDetails carries the message and the action.
            from pjsh.runtime.errors import ErrorDetails

            record.ErrorDetails = ErrorDetails(record.message,
                                               to_string(args.RecommendedAction))
        self.ctx.write_error(record)

    def _record(self, args: WriteErrorArgs) -> ErrorRecord:
        if args.parameter_set == "ErrorRecord" or "ErrorRecord" in args:
            given = args.ErrorRecord
            if isinstance(given, ErrorRecord):
                # A copy, so overriding the category leaves $Error's record alone.
                return dataclasses.replace(
                    given, CategoryInfo=dataclasses.replace(given.CategoryInfo))
            return self._build(to_string(given), WRITE_ERROR_ID, "NotSpecified", None,
                               WRITE_ERROR_ID)
        message = args.Message
        exc_type = WRITE_ERROR_ID
        exception = args.Exception
        if exception is not None:
            if isinstance(exception, ExceptionInfo):
                exc_type = exception.TypeName
                exc_message = exception.Message
            else:
                found, msg = lookup_property(exception, "Message")
                exc_message = to_string(msg if found else exception)
                exc_type = "System.Exception"
            if message is None:
                message = exc_message
        error_id = to_string(args.ErrorId) if args.ErrorId else WRITE_ERROR_ID
        category = to_string(args.Category or "NotSpecified")
        return self._build(to_string(message), error_id, category, args.TargetObject,
                           exc_type)

    def _build(self, message: str, error_id: str, category: str, target: object,
               exc_type: str) -> ErrorRecord:
        record = self.ctx.error(message, error_id, category, target, exc_type)
        record.CategoryInfo.Activity = "Write-Error"
        record.CategoryInfo.Reason = exc_type.rsplit(".", 1)[-1]
        return record


def _host_text(value: object, separator: str) -> str:
    """Write-Host's text for an object: collections are flattened and joined by the separator."""
    if isinstance(value, (list, tuple)):
        return separator.join(_host_text(v, separator) for v in value)
    return to_string(value)


class WriteHostArgs(Bound):
    """Write-Host's parameters."""

    Object: object
    NoNewline: bool
    Separator: object
    ForegroundColor: str | None
    BackgroundColor: str | None


@command
class WriteHost(Cmdlet):
    """Write-Host: write text straight to the display."""

    spec = CommandSpec(
        name="Write-Host",
        params=(
            Param("Object", OBJECT, position=0, pipeline=True, remaining=True,
                  help="The objects to show; collections are joined by the separator."),
            Param("NoNewline", SWITCH, help="Do not end the output with a newline."),
            Param("Separator", OBJECT, default=" ",
                  help="Text put between the items of a collection (default a space)."),
            Param("ForegroundColor", CONSOLE_COLOR, help="The text colour."),
            Param("BackgroundColor", CONSOLE_COLOR, help="The background colour."),
        ),
        summary="Writes customized output to a host.",
        description=(
            "Write-Host writes text to the display (the information stream, tagged PSHOST), "
            "not to the pipeline, optionally in colour. Use Write-Output to send objects on."
        ),
        examples=(
            ("Write-Host 'Done' -ForegroundColor Green", "Green text."),
            ("Write-Host 1,2,3 -Separator ', '", "Shows 1, 2, 3."),
            ("Write-Host -NoNewline 'Working... '", "No newline after the text."),
        ),
        output_type="",
    )
    args_type = WriteHostArgs

    def process(self, args: WriteHostArgs) -> None:
        """Show the text."""
        separator = to_string(args.get("Separator", " "))
        text = _host_text(args.Object, separator)
        fg = args.ForegroundColor
        bg = args.BackgroundColor
        self.ctx.write_host(text, not args.NoNewline,
                            to_string(fg) if fg else None, to_string(bg) if bg else None)


def _message_spec(name: str, stream: str, summary: str, example: str) -> CommandSpec:
    return CommandSpec(
        name=name,
        params=(
            Param("Message", STRING, position=0, mandatory=True, pipeline=True,
                  aliases=("Msg",), allow_empty=True, help=f"The {stream.lower()} message."),
        ),
        summary=summary,
        description=f"{name} writes a message to the {stream.lower()} stream. " + (
            "It is shown unless $WarningPreference or -WarningAction says otherwise."
            if stream == "Warning"
            else f"It is shown only when ${stream}Preference is Continue or the command runs "
                 f"with -{stream}."
        ),
        examples=((example, f"Write a {stream.lower()} message."),),
        output_type="",
    )


class WriteWarningArgs(Bound):
    """Write-Warning's parameters."""

    Message: str | None


@command
class WriteWarning(Cmdlet):
    """Write-Warning: write to the warning stream."""

    spec = _message_spec("Write-Warning", "Warning", "Writes a warning message.",
                         "Write-Warning 'The job is taking long'")
    args_type = WriteWarningArgs

    def process(self, args: WriteWarningArgs) -> None:
        """Write the message."""
        self.ctx.write_warning(to_string(args.Message))


class WriteVerboseArgs(Bound):
    """Write-Verbose's parameters."""

    Message: str | None


@command
class WriteVerbose(Cmdlet):
    """Write-Verbose: write to the verbose stream."""

    spec = _message_spec("Write-Verbose", "Verbose", "Writes text to the verbose message stream.",
                         "Write-Verbose 'Connecting to host' -Verbose")
    args_type = WriteVerboseArgs

    def process(self, args: WriteVerboseArgs) -> None:
        """Write the message."""
        self.ctx.write_verbose(to_string(args.Message))


class WriteDebugArgs(Bound):
    """Write-Debug's parameters."""

    Message: str | None


@command
class WriteDebug(Cmdlet):
    """Write-Debug: write to the debug stream."""

    spec = _message_spec("Write-Debug", "Debug", "Writes a debug message to the console.",
                         "Write-Debug 'x is 3' -Debug")
    args_type = WriteDebugArgs

    def process(self, args: WriteDebugArgs) -> None:
        """Write the message."""
        self.ctx.write_debug(to_string(args.Message))


class WriteInformationArgs(Bound):
    """Write-Information's parameters."""

    MessageData: object
    Tags: list[str] | None


@command
class WriteInformation(Cmdlet):
    """Write-Information: write to the information stream."""

    spec = CommandSpec(
        name="Write-Information",
        params=(
            Param("MessageData", OBJECT, position=0, mandatory=True,
                  aliases=("Msg", "Message"), help="The object to write."),
            Param("Tags", STRINGS, position=1, help="Tags to filter the message by."),
        ),
        summary="Specifies how PowerShell handles information stream data for a command.",
        description=(
            "Write-Information writes an object to the information stream (stream 6). It is "
            "shown when $InformationPreference is Continue or with -InformationAction Continue."
        ),
        examples=(
            ("Write-Information 'Starting' -InformationAction Continue", "Show a message."),
        ),
        output_type="",
    )
    args_type = WriteInformationArgs

    def process(self, args: WriteInformationArgs) -> None:
        """Write the message."""
        tags = [to_string(t) for t in as_list(args.Tags)]
        self.ctx.write_information(args.MessageData, tags)


@dataclass
class ProgressRecord(PSPropertyClass):
    """One progress update (Write-Progress)."""

    ps_type_names = ("System.Management.Automation.ProgressRecord", "System.Object")
    ps_property_names = ("ActivityId", "ParentActivityId", "Activity", "StatusDescription",
                         "CurrentOperation", "PercentComplete", "SecondsRemaining", "RecordType")

    ActivityId: int = 0
    ParentActivityId: int = -1
    Activity: str = ""
    StatusDescription: str = "Processing"
    CurrentOperation: str = ""
    PercentComplete: int = -1
    SecondsRemaining: int = -1
    RecordType: str = "Processing"
    # Write-Progress -SourceId: which source the record comes from. Not a property of
    # PowerShell's ProgressRecord (the host gets it beside the record), so not listed above;
    # the console keys its activities by (SourceId, ActivityId).
    SourceId: int = 0


class WriteProgressArgs(Bound):
    """Write-Progress's parameters."""

    Activity: str | None
    Status: str
    Id: int
    PercentComplete: int
    SecondsRemaining: int
    CurrentOperation: str | None
    ParentId: int
    Completed: bool
    SourceId: int | None


@command
class WriteProgress(Cmdlet):
    """Write-Progress: report the progress of an activity."""

    spec = CommandSpec(
        name="Write-Progress",
        params=(
            Param("Activity", STRING, position=0, help="What is being done."),
            Param("Status", STRING, position=1, default="Processing",
                  help="The current state of the activity."),
            Param("Id", INT, position=2, default=0,
                  help="Distinguishes progress bars of activities running at once."),
            Param("PercentComplete", INT, default=-1, help="How much is done, 0 to 100."),
            Param("SecondsRemaining", INT, default=-1, help="Estimated seconds left."),
            Param("CurrentOperation", STRING, help="The operation under way."),
            Param("ParentId", INT, default=-1, help="The Id of the parent activity."),
            Param("Completed", SWITCH, help="The activity is done: remove its progress bar."),
            Param("SourceId", INT, help="The source of the record."),
        ),
        summary="Displays a progress bar within a PowerShell command window.",
        description=(
            "Write-Progress writes a progress record, which an interactive host shows as a "
            "progress bar; -Completed removes it. Output to pipes and files shows nothing."
        ),
        examples=(
            ("1..100 | % { Write-Progress -Activity Copy -PercentComplete $_ }",
             "A progress bar that fills up."),
            ("Write-Progress -Activity Copy -Completed", "Remove the bar."),
        ),
        output_type="",
    )
    args_type = WriteProgressArgs

    def process(self, args: WriteProgressArgs) -> None:
        """Write the progress record."""
        record = ProgressRecord(
            ActivityId=to_int(args.Id or 0),
            ParentActivityId=to_int(args.get("ParentId", -1)),
            Activity=to_string(args.Activity),
            StatusDescription=to_string(args.Status or "Processing"),
            CurrentOperation=to_string(args.CurrentOperation),
            PercentComplete=to_int(args.get("PercentComplete", -1)),
            SecondsRemaining=to_int(args.get("SecondsRemaining", -1)),
            RecordType="Completed" if args.Completed else "Processing",
            SourceId=to_int(args.SourceId or 0),
        )
        self.ctx.write_progress(record)


# ---------------------------------------------------------------------------------------------
# Out-* cmdlets
# ---------------------------------------------------------------------------------------------


class OutNullArgs(Bound):
    """Out-Null's parameters."""

    InputObject: object


@command
class OutNull(Cmdlet):
    """Out-Null: discard the input."""

    spec = CommandSpec(
        name="Out-Null",
        params=(Param("InputObject", PSOBJECT, pipeline=True, help="The object to discard."),),
        summary="Hides the output instead of sending it down the pipeline or displaying it.",
        description="Out-Null discards its input; errors still go to the error stream.",
        examples=(("Start-Job { 1 } | Out-Null", "Start a job without showing it."),),
        output_type="",
    )
    args_type = OutNullArgs


class OutHostArgs(Bound):
    """Out-Host's parameters."""

    InputObject: object
    Paging: bool


@command
class OutHost(Cmdlet):
    """Out-Host: format the input and show it on the display."""

    spec = CommandSpec(
        name="Out-Host",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True, help="The object to show."),
            Param("Paging", SWITCH, help="Show a screenful at a time on a terminal (space: next "
                  "page, enter: next line, q: quit); plain output elsewhere."),
        ),
        summary="Sends output to the command line.",
        description=(
            "Out-Host formats its input like the end of a pipeline does and shows it on the "
            "display, so nothing goes on down the pipeline."
        ),
        examples=(("Get-Job | Out-Host", "Show the jobs even inside a script that collects "
                                        "output."),),
        output_type="",
    )
    args_type = OutHostArgs

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._out: OutDefault | None = None
        self._paged: TextCollector | None = None

    def begin(self, args: OutHostArgs) -> None:
        """Start the formatter."""
        from pjsh.runtime.formatting import OutDefault

        host = self.ctx.session.host
        if args.get("Paging"):
            # Paging needs the whole text's lines: collect, and page it through the host at end.
            self._paged = TextCollector(host.width, self.ctx.session.registry.views)
            return
        self._out = OutDefault(host.write_format, self.ctx.session.registry.views)

    def process(self, args: OutHostArgs) -> None:
        """Format one object (shown as soon as its block is ready)."""
        if "InputObject" not in args:
            return
        if self._paged is not None:
            self._paged.add(args.InputObject)
            return
        if self._out is None:
            return
        for item in expand_format_output([args.InputObject]):
            self._out.add(item)

    def end(self, args: OutHostArgs) -> None:
        """Show what is still held (with -Paging: all of it, a page at a time)."""
        if self._paged is not None:
            self._paged.flush()
            self.ctx.session.host.write_paged(self._paged.take())
        if self._out is not None:
            self._out.flush()


class OutStringArgs(Bound):
    """Out-String's parameters."""

    InputObject: object
    Stream: bool
    Width: int | None
    NoNewline: bool


@command
class OutString(Cmdlet):
    """Out-String: format the input as the display would and output the text."""

    spec = CommandSpec(
        name="Out-String",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True, help="The object to format."),
            Param("Stream", SWITCH, help="Output one string per line instead of one string."),
            Param("Width", INT, help="Line width (default: the display's width)."),
            Param("NoNewline", SWITCH, help="Remove the newlines from the text."),
        ),
        summary="Outputs input objects as a string.",
        description=(
            "Out-String formats its input exactly as the display would show it and outputs the "
            "text: one string ending with a newline, or with -Stream one string per line as "
            "the lines become ready."
        ),
        examples=(
            ("Get-Job | Out-String", "The job table as one string."),
            ("Get-Job | Out-String -Stream | Select-String Running", "Grep the job table."),
        ),
        output_type="System.String",
    )
    args_type = OutStringArgs

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._collector: TextCollector | None = None

    def begin(self, args: OutStringArgs) -> None:
        """Start the formatter at the requested width."""
        width = to_int(args.Width) if args.Width else self.ctx.session.host.width
        self._collector = TextCollector(max(1, width), self.ctx.session.registry.views)

    def process(self, args: OutStringArgs) -> None:
        """Format one object; with -Stream, write the lines that are ready."""
        if "InputObject" not in args or self._collector is None:
            return
        self._collector.add(args.InputObject)
        if args.Stream:
            self._write_lines()

    def end(self, args: OutStringArgs) -> None:
        """Write the text (or the remaining lines)."""
        if self._collector is None:
            return
        self._collector.flush()
        if args.Stream:
            self._write_lines()
            return
        text = self._collector.take()
        if args.NoNewline:
            text = text.replace("\n", "")
        self.ctx.write_output(text)

    def _write_lines(self) -> None:
        assert self._collector is not None
        text = self._collector.take()
        if not text:
            return
        for line in text[:-1].split("\n") if text.endswith("\n") else text.split("\n"):
            self.ctx.write_output(line)


# ---------------------------------------------------------------------------------------------
# Format-* cmdlets
# ---------------------------------------------------------------------------------------------


class FormatArgs(Bound):
    """The parameters every Format-* cmdlet has."""

    Property: list[object] | None
    InputObject: object


class _Format(Cmdlet):
    """Collects the input and emits one FormatOutput at the end."""

    view = "auto"

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._items: list[object] = []

    def process(self, args: FormatArgs) -> None:
        """Collect one input object."""
        if "InputObject" in args:
            self._items.extend(expand_format_output([args.InputObject]))

    def end(self, args: FormatArgs) -> None:
        """Format everything collected."""
        from pjsh.runtime.formatting import FormatError, build_blocks

        if not self._items:
            return
        auto_size = wrap = hide_header = False
        group_by: object = None
        if isinstance(args, FormatTableArgs):  # the table-only options
            auto_size, wrap, hide_header = args.AutoSize, args.Wrap, args.HideTableHeaders
            group_by = args.GroupBy
        evaluate = self._evaluator()
        try:
            blocks = build_blocks(
                self._items,
                view=self.view,
                properties=args.Property,
                auto_size=auto_size,
                wrap=wrap,
                hide_header=hide_header,
                evaluate=evaluate,
                views=self.ctx.session.registry.views,
                group_by=group_by,
            )
        except FormatError as e:
            self.ctx.throw(str(e), "DictionaryKeyIllegal", "InvalidArgument")
            return
        self.ctx.write_output(FormatOutput(blocks))

    def _evaluator(self) -> Callable[[object, object], object]:
        from pjsh.commands.objects import first_or_list

        def evaluate(block: object, obj: object) -> object:
            if not isinstance(block, ScriptBlock):
                return None
            return first_or_list(self.ctx.invoke(block, dollar_under=obj))

        return evaluate


class FormatTableArgs(FormatArgs):
    """Format-Table's parameters."""

    AutoSize: bool
    Wrap: bool
    HideTableHeaders: bool
    GroupBy: object


@command
class FormatTable(_Format):
    """Format-Table: show objects as a table."""

    view = "table"
    spec = CommandSpec(
        name="Format-Table",
        aliases=("ft",),
        params=(
            Param("Property", OBJECTS, position=0,
                  help="Columns: property names (wildcards allowed) or calculated properties "
                       "@{Label=..; Expression={..}; Width=..; Alignment=..}."),
            Param("AutoSize", SWITCH, help="Size the columns to their content."),
            Param("Wrap", SWITCH, help="Wrap long values onto more lines instead of cutting."),
            Param("HideTableHeaders", SWITCH, help="Leave out the column headers."),
            Param("GroupBy", OBJECT,
                  help="A table per run of equal values of this property, script block or "
                       "calculated property, each under a '   Name: value' header (the input "
                       "is not sorted)."),
            Param("InputObject", PSOBJECT, pipeline=True, help="The object to format."),
        ),
        summary="Formats the output as a table.",
        description=(
            "Format-Table shows objects as a table with one column per property: the type's "
            "default columns, or the ones chosen with -Property. Its output is for display "
            "(or Out-String / Out-File), not for further processing."
        ),
        examples=(
            ("Get-Job | Format-Table Id, Name, State", "Three columns."),
            ("Get-Process | ft ProcessName, @{L='MB'; E={$_.WS / 1mb}; FormatString='N1'}",
             "A calculated column."),
            ("Get-Job | Sort-Object State | Format-Table -GroupBy State",
             "A table of jobs per state."),
        ),
        output_type="Microsoft.PowerShell.Commands.Internal.Format.FormatEntryData",
    )
    args_type = FormatTableArgs


class FormatListArgs(FormatArgs):
    """Format-List's parameters."""


@command
class FormatList(_Format):
    """Format-List: show each object as a list of properties."""

    view = "list"
    spec = CommandSpec(
        name="Format-List",
        aliases=("fl",),
        params=(
            Param("Property", OBJECTS, position=0,
                  help="Properties to show: names (wildcards allowed) or calculated "
                       "properties; * shows all."),
            Param("InputObject", PSOBJECT, pipeline=True, help="The object to format."),
        ),
        summary="Formats the output as a list of properties in which each property appears on "
                "a new line.",
        description=(
            "Format-List shows each object as a list of 'Name : value' lines. Use "
            "Format-List * to see every property of an object."
        ),
        examples=(
            ("Get-Job 1 | Format-List *", "Every property of job 1."),
            ("Get-Job | fl Name, State", "Two properties per job."),
        ),
        output_type="Microsoft.PowerShell.Commands.Internal.Format.FormatEntryData",
    )
    args_type = FormatListArgs


# ---------------------------------------------------------------------------------------------
# Tee-Object
# ---------------------------------------------------------------------------------------------


class TeeObjectArgs(Bound):
    """Tee-Object's parameters."""

    InputObject: object
    FilePath: str | None
    LiteralPath: str | None
    Append: bool
    Variable: str | None


@command
class TeeObject(Cmdlet):
    """Tee-Object: pass objects on and also save them to a file or a variable."""

    spec = CommandSpec(
        name="Tee-Object",
        default_set="File",
        summary="Saves command output in a file or variable and also sends it down the pipeline.",
        description=(
            "Outputs each input object unchanged and also writes it to a file, formatted the "
            "way Out-File writes it (-Append adds to the file), or collects the objects in the "
            "variable -Variable names. (`tee` is the native program on Unix and is not an "
            "alias of Tee-Object.)"
        ),
        examples=(
            ("Get-Process | Tee-Object procs.txt | Sort-Object CPU", "Save and keep going."),
            ("Get-ChildItem | Tee-Object -Variable files | Measure-Object", "$files keeps them."),
            ("'line' | Tee-Object log.txt -Append", "Add to a log and show it."),
        ),
        params=(
            Param("InputObject", OBJECT, pipeline=True, help="The objects to save and pass on."),
            Param("FilePath", STRING, position=0, mandatory=True, aliases=("Path",),
                  sets=("File",), completer="path", help="The file to write."),
            Param("LiteralPath", STRING, mandatory=True, aliases=("PSPath", "LP"),
                  sets=("LiteralFile",), completer="path",
                  help="The file to write, taken exactly as written."),
            Param("Append", SWITCH, sets=("File", "LiteralFile"),
                  help="Add to the end of the file instead of replacing it."),
            Param("Variable", STRING, mandatory=True, sets=("Variable",), completer="variable",
                  help="The variable (name without $) that receives the objects."),
        ),
    )
    args_type = TeeObjectArgs

    def begin(self, args: TeeObjectArgs) -> None:
        """Create (or truncate) the file before any input, as Out-File does."""
        from pjsh.commands.items import resolve_literal

        self._objects: list[object] = []
        self._path: str | None = None
        if args.parameter_set == "Variable":
            return
        raw = args.LiteralPath if args.parameter_set == "LiteralFile" else args.FilePath
        self._path = resolve_literal(self.ctx.session, to_string(raw))
        self._collector = TextCollector(max(self.ctx.session.host.width, 1))
        self._write("", "ab" if args.Append else "wb")

    def process(self, args: TeeObjectArgs) -> None:
        """Save the object and pass it on."""
        if "InputObject" not in args:
            return
        value = args.InputObject
        if self._path is not None:
            self._collector.add(value)
            self._write(self._collector.take(), "ab")
        else:
            self._objects.append(value)
        self.ctx.write_output(value)

    def end(self, args: TeeObjectArgs) -> None:
        """Finish the file's text, or set the variable."""
        if self._path is not None:
            self._collector.flush()
            self._write(self._collector.take(), "ab")
            return
        from pjsh.commands.variables import caller

        interp, frame = caller(self)
        interp.set_variable(frame, to_string(args.Variable), list(self._objects))

    def _write(self, text: str, mode: str) -> None:
        assert self._path is not None
        try:
            with open(self._path, mode) as fh:
                fh.write(text.encode("utf-8", "surrogateescape"))
        except OSError as exc:
            if isinstance(exc, (PermissionError, IsADirectoryError)):
                reason = f"Access to the path '{self._path}' is denied."
            elif isinstance(exc, (FileNotFoundError, NotADirectoryError)):
                reason = f"Could not find a part of the path '{self._path}'."
            else:  # a full disk, an I/O error: .NET's words, the system's reason and the path
                reason = f"{exc.strerror or exc} : '{self._path}'"
            self.ctx.throw(reason,
                           "FileOpenFailure,Microsoft.PowerShell.Commands.TeeObjectCommand",
                           "OpenError", self._path, "System.IO.IOException")


__all__ = [
    "CONSOLE_COLORS",
    "ERROR_CATEGORIES",
    "WRITE_ERROR_ID",
    "FormatList",
    "FormatOutput",
    "FormatTable",
    "OutHost",
    "OutNull",
    "OutString",
    "ProgressRecord",
    "TeeObject",
    "TextCollector",
    "WriteDebug",
    "WriteError",
    "WriteHost",
    "WriteInformation",
    "WriteOutput",
    "WriteProgress",
    "WriteVerbose",
    "WriteWarning",
    "expand_format_output",
    "render_objects",
]
