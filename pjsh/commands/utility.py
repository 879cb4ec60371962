"""Small utilities: Start-Sleep, Clear-Host, Get-History, Get-Date, Select-String and
Measure-Command."""

from __future__ import annotations

import datetime as _dt
import os
import re
import time
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from pjsh.commands.items import (
    UTF8_NO_BOM,
    FileInfo,
    _decoded_chunks,
    _io_error,
    _start_text,
    existing_items,
    split_lines,
)
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command, validate_range
from pjsh.runtime.convert import (
    DATETIME,
    DOUBLE,
    INT,
    INTS,
    OBJECT,
    SCRIPTBLOCK,
    STRING,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    as_list,
    to_double,
    to_int,
    to_string,
)
from pjsh.runtime.operators import OperatorError, compile_regex
from pjsh.runtime.values import PSPropertyClass

if TYPE_CHECKING:
    import datetime

    from pjsh.runtime.scriptblock import ScriptBlock

# ---------------------------------------------------------------------------------------------
# Start-Sleep
# ---------------------------------------------------------------------------------------------

_MAX_MS = 2**31 - 1


class StartSleepArgs(Bound):
    """Start-Sleep's parameters."""

    Seconds: float | None
    Milliseconds: int | None


@command
class StartSleep(Cmdlet):
    """Start-Sleep: wait for a number of seconds or milliseconds."""

    spec = CommandSpec(
        name="Start-Sleep",
        default_set="Seconds",
        summary="Suspends the activity in a script or session for the specified period of time.",
        description=(
            "Waits for the given time. Fractional seconds are allowed. Ctrl+C ends the wait. "
            "(`sleep` is the native program on Unix and is not an alias of Start-Sleep.)"
        ),
        examples=(
            ("Start-Sleep 1.5", "Wait one and a half seconds."),
            ("Start-Sleep -Milliseconds 200", "Wait 200 ms."),
        ),
        params=(
            Param("Seconds", DOUBLE, position=0, mandatory=True, pipeline=True,
                  pipeline_by_name=True, sets=("Seconds",), validate=validate_range(0, _MAX_MS // 1000),
                  help="How long to wait, in seconds (fractions allowed)."),
            Param("Milliseconds", INT, mandatory=True, aliases=("ms",), pipeline_by_name=True,
                  sets=("Milliseconds",), validate=validate_range(0, _MAX_MS),
                  help="How long to wait, in milliseconds."),
        ),
    )
    args_type = StartSleepArgs

    def process(self, args: StartSleepArgs) -> None:
        """Sleep."""
        if args.parameter_set == "Milliseconds" or "Milliseconds" in args:
            seconds = to_int(args.Milliseconds) / 1000
        else:
            seconds = to_double(args.Seconds)
        # One wait on the pipeline's cancel token: a stop (Stop-Job on a thread job, the
        # interpreter's stop request) wakes it at once; Ctrl+C in the main thread interrupts
        # it with KeyboardInterrupt. (The loop only guards against a wake-up before the time.)
        deadline = time.monotonic() + max(seconds, 0.0)
        while not self.ctx.stopping:
            left = deadline - time.monotonic()
            if left <= 0 or self.ctx.cancel.wait(left):
                return


# ---------------------------------------------------------------------------------------------
# Clear-Host
# ---------------------------------------------------------------------------------------------


class ClearHostArgs(Bound):
    """Clear-Host's parameters."""


@command
class ClearHost(Cmdlet):
    """Clear-Host: clear the screen."""

    spec = CommandSpec(
        name="Clear-Host",
        aliases=("cls",),
        summary="Clears the display in the host program.",
        description=(
            "Clears the terminal. (`clear` is the native program on Unix and is not an alias "
            "of Clear-Host.)"
        ),
        examples=(("cls", "Clear the screen."),),
    )
    args_type = ClearHostArgs

    def process(self, args: ClearHostArgs) -> None:
        """Ask the host to clear its display."""
        self.ctx.session.host.clear()


# ---------------------------------------------------------------------------------------------
# Get-History
# ---------------------------------------------------------------------------------------------

_HISTORY_CLS = "Microsoft.PowerShell.Commands.GetHistoryCommand"


class GetHistoryArgs(Bound):
    """Get-History's parameters."""

    Id: list[int] | None
    Count: int | None


@command
class GetHistory(Cmdlet):
    """Get-History: the command lines run in this session."""

    spec = CommandSpec(
        name="Get-History",
        aliases=("h", "history", "ghy"),
        summary="Gets a list of the commands entered during the current session.",
        description=(
            "Outputs the session's history entries, oldest first. -Count limits the output to "
            "the most recent entries; -Id picks entries, and with -Count gives the entries "
            "up to that one."
        ),
        examples=(
            ("Get-History", "All commands run so far."),
            ("h -Count 5", "The last five."),
            ("Get-History 12", "Entry number 12."),
        ),
        output_type="Microsoft.PowerShell.Commands.HistoryInfo",
        params=(
            Param("Id", INTS, position=0, pipeline=True, validate=validate_range(1, 2**63 - 1),
                  help="Ids of the entries to get."),
            Param("Count", INT, position=1, validate=validate_range(0, 32767),
                  help="How many of the most recent entries to get."),
        ),
    )
    args_type = GetHistoryArgs

    def process(self, args: GetHistoryArgs) -> None:
        """Write the requested entries."""
        history = list(self.ctx.session.history)
        count_given = "Count" in args and args.Count is not None
        ids = [to_int(i) for i in as_list(args.Id)]
        if not ids:
            entries = history[-to_int(args.Count):] if count_given else history
            if count_given and to_int(args.Count) == 0:
                entries = []
            for entry in entries:
                self.ctx.write_output(entry)
            return
        if not count_given:
            by_id = {e.Id: e for e in history}
            for hid in ids:
                found = by_id.get(hid)
                if found is None:
                    self.ctx.write_error(self.ctx.error(
                        f"Cannot locate the history for Id {hid}.",
                        f"GetHistoryNoHistoryForId,{_HISTORY_CLS}", "ObjectNotFound", hid,
                        "System.ArgumentException"))
                else:
                    self.ctx.write_output(found)
            return
        if len(ids) > 1:
            self.ctx.throw("The count cannot be combined with multiple Ids.",
                           f"GetHistoryNoCountWithMultipleIds,{_HISTORY_CLS}", "InvalidArgument",
                           args.Count, "System.ArgumentException")
        count = to_int(args.Count)
        upto = [e for e in history if e.Id <= ids[0]]
        for entry in (upto[-count:] if count else []):
            self.ctx.write_output(entry)


# ---------------------------------------------------------------------------------------------
# Get-Date and its two format languages
# ---------------------------------------------------------------------------------------------

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")

# .NET standard formats, as the en-US culture spells them out.
_STANDARD = {
    "d": "M/d/yyyy",
    "D": "dddd, MMMM d, yyyy",
    "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt",
    "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d",
    "M": "MMMM d",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "h:mm tt",
    "T": "h:mm:ss tt",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, MMMM d, yyyy h:mm:ss tt",
    "y": "MMMM yyyy",
    "Y": "MMMM yyyy",
}
# pwsh's own names for file-friendly stamps; the Universal ones use UTC.
_FILE_FORMATS = {
    "filedate": ("yyyyMMdd", False),
    "filedateuniversal": ("yyyyMMdd'Z'", True),
    "filedatetime": ("yyyyMMdd'T'HHmmssffff", False),
    "filedatetimeuniversal": ("yyyyMMdd'T'HHmmssffff'Z'", True),
}


class DateFormatError(ValueError):
    """A .NET date format string is not valid."""


def _offset(value: _dt.datetime) -> _dt.timedelta | None:
    """The UTC offset of a date (None for a UTC date); naive dates count as local time."""
    if value.tzinfo is not None:
        off = value.utcoffset()
        return None if off == _dt.timedelta(0) and value.tzname() == "UTC" else off
    return value.astimezone().utcoffset()


def _offset_text(off: _dt.timedelta | None, style: int) -> str:
    minutes = int((off or _dt.timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    if style == 1:
        return f"{sign}{hours}"
    if style == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{mins:02d}"


def _run_length(fmt: str, i: int) -> int:
    n = 1
    while i + n < len(fmt) and fmt[i + n] == fmt[i]:
        n += 1
    return n


def dotnet_date_format(value: _dt.datetime, fmt: str) -> str:
    """Format a date with a .NET standard (``o``, ``d``…) or custom (``yyyy-MM-dd``) format."""
    if len(fmt) == 1:
        if fmt not in _STANDARD:
            raise DateFormatError("Input string was not in a correct format.")
        if fmt in "rRU":
            value = _to_utc(value)
        if fmt in "rR":
            value = value.replace(tzinfo=_dt.timezone.utc)
        return dotnet_date_format(value, _STANDARD[fmt])
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch in "'\"":
            end = fmt.find(ch, i + 1)
            if end < 0:
                raise DateFormatError(f"Cannot find a matching quote character for the "
                                      f"character '{ch}'.")
            out.append(fmt[i + 1:end])
            i = end + 1
            continue
        if ch == "\\":
            if i + 1 < len(fmt):
                out.append(fmt[i + 1])
            i += 2
            continue
        if ch == "%":
            if i + 1 < len(fmt) and fmt[i + 1] != "%":
                out.append(_custom(value, fmt[i + 1], 1))
            i += 2
            continue
        n = _run_length(fmt, i)
        if ch in "dfFhHKmMstyz":
            out.append(_custom(value, ch, n))
        elif ch == "g":
            out.append("A.D.")
        else:
            out.append(ch * n)
        i += n
    return "".join(out)


def _custom(value: _dt.datetime, ch: str, n: int) -> str:
    if ch == "d":
        if n == 1:
            return str(value.day)
        if n == 2:
            return f"{value.day:02d}"
        name = _DAYS[value.weekday()]
        return name[:3] if n == 3 else name
    if ch in "fF":
        digits = f"{value.microsecond:06d}0"[:min(n, 7)]
        return digits.rstrip("0") if ch == "F" else digits
    if ch == "h":
        hour = value.hour % 12 or 12
        return str(hour) if n == 1 else f"{hour:02d}"
    if ch == "H":
        return str(value.hour) if n == 1 else f"{value.hour:02d}"
    if ch == "K":
        off = _offset(value)
        return "Z" if off is None else _offset_text(off, 3)
    if ch == "m":
        return str(value.minute) if n == 1 else f"{value.minute:02d}"
    if ch == "M":
        if n == 1:
            return str(value.month)
        if n == 2:
            return f"{value.month:02d}"
        name = _MONTHS[value.month - 1]
        return name[:3] if n == 3 else name
    if ch == "s":
        return str(value.second) if n == 1 else f"{value.second:02d}"
    if ch == "t":
        mark = "AM" if value.hour < 12 else "PM"
        return mark[0] if n == 1 else mark
    if ch == "y":
        if n == 1:
            return str(value.year % 100)
        if n == 2:
            return f"{value.year % 100:02d}"
        return f"{value.year:0{n}d}"
    if ch == "z":
        return _offset_text(_offset(value), min(n, 3))
    return ch * n


def _to_utc(value: _dt.datetime) -> _dt.datetime:
    aware = value if value.tzinfo is not None else value.astimezone()
    return aware.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def uformat_date(value: _dt.datetime, fmt: str) -> str:
    """Format a date with pwsh's -UFormat specifiers (a strftime dialect)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%" or i + 1 >= len(fmt):
            out.append(ch)
            i += 1
            continue
        spec = fmt[i + 1]
        i += 2
        out.append(_uformat_one(value, spec))
    return "".join(out)


# -UFormat specifiers that are a .NET custom format in disguise.
_UFORMAT_SIMPLE = {
    "A": "dddd", "a": "ddd", "B": "MMMM", "b": "MMM", "h": "MMM",
    "c": "ddd MMM dd HH:mm:ss yyyy", "D": "MM/dd/yy", "x": "MM/dd/yy", "d": "dd",
    "F": "yyyy-MM-dd", "H": "HH", "k": "HH", "I": "hh", "l": "hh", "M": "mm", "m": "MM",
    "p": "tt", "R": "HH:mm", "r": "hh:mm:ss tt", "S": "ss", "T": "HH:mm:ss", "X": "HH:mm:ss",
    "Y": "yyyy", "y": "yy", "Z": "zz",
}


def _uformat_one(value: _dt.datetime, spec: str) -> str:
    simple = _UFORMAT_SIMPLE.get(spec)
    if simple is not None:
        return dotnet_date_format(value, simple)
    if spec == "C":
        return f"{value.year // 100:02d}"
    if spec == "e":
        return f"{value.day:>2}"
    if spec == "G":
        return str(value.isocalendar()[0])
    if spec == "g":
        return f"{value.isocalendar()[0] % 100:02d}"
    if spec == "j":
        return f"{value.timetuple().tm_yday:03d}"
    if spec == "n":
        return "\n"
    if spec == "t":
        return "\t"
    if spec == "s":
        return str(int(_to_utc(value).replace(tzinfo=_dt.timezone.utc).timestamp()))
    if spec == "u":
        return str(value.isoweekday())
    if spec == "w":
        return str(value.isoweekday() % 7)
    if spec in "UW":
        return value.strftime("%W")
    if spec == "V":
        return f"{value.isocalendar()[1]:02d}"
    return spec


class GetDateArgs(Bound):
    """Get-Date's parameters."""

    Date: datetime.datetime | None
    UnixTimeSeconds: int | None
    Year: int | None
    Month: int | None
    Day: int | None
    Hour: int | None
    Minute: int | None
    Second: int | None
    Millisecond: int | None
    Format: str | None
    UFormat: str | None
    AsUTC: bool


@command
class GetDate(Cmdlet):
    """Get-Date: the current date and time, or a given one, optionally formatted."""

    spec = CommandSpec(
        name="Get-Date",
        default_set="DateAndFormat",
        summary="Gets the current date and time.",
        description=(
            "Outputs a date (now, or -Date, adjusted by -Year/-Month/-Day/-Hour/-Minute/"
            "-Second/-Millisecond). -Format takes a .NET format (`yyyy-MM-dd`, `o`, "
            "`FileDateTime`…) and -UFormat a Unix one (`%Y-%m-%d`, `%s`…); both output a "
            "string instead of a date."
        ),
        examples=(
            ("Get-Date", "Now."),
            ("Get-Date -Format 'yyyy-MM-dd HH:mm'", "Now as text."),
            ("Get-Date -UFormat %s", "Seconds since 1970 (UTC)."),
            ("(Get-Date).AddDays(-1)", "This time yesterday."),
            ("Get-Date -Date '2024-02-29' -Format dddd", "The weekday of a date."),
        ),
        output_type="System.DateTime, System.String",
        params=(
            Param("Date", DATETIME, position=0, pipeline=True, pipeline_by_name=True,
                  aliases=("LastWriteTime",), help="The date to use instead of now."),
            Param("UnixTimeSeconds", INT, aliases=("UnixTime",),
                  help="The date as seconds since 1970-01-01 00:00:00 UTC."),
            Param("Year", INT, help="Replace the year."),
            Param("Month", INT, help="Replace the month."),
            Param("Day", INT, help="Replace the day (days past the month's end roll over)."),
            Param("Hour", INT, help="Replace the hour."),
            Param("Minute", INT, help="Replace the minute."),
            Param("Second", INT, help="Replace the second."),
            Param("Millisecond", INT, help="Replace the millisecond."),
            Param("Format", STRING, sets=("DateAndFormat",),
                  help=".NET format of the output string (yyyy-MM-dd, o, s, FileDate, …)."),
            Param("UFormat", STRING, mandatory=True, sets=("DateAndUFormat",),
                  help="Unix (strftime-like) format of the output string (%Y-%m-%d, %s, …)."),
            Param("AsUTC", SWITCH, help="Convert the date to UTC."),
        ),
    )
    args_type = GetDateArgs

    def process(self, args: GetDateArgs) -> None:
        """Compute, then output the date or its formatted text."""
        if args.UnixTimeSeconds is not None:
            value = _dt.datetime.fromtimestamp(to_int(args.UnixTimeSeconds))
        elif args.Date is not None:
            value = args.Date
        else:
            value = _dt.datetime.now()
        try:
            value = _adjust(value, args)
        except (ValueError, OverflowError) as exc:
            self.ctx.throw(str(exc), "ArgumentOutOfRange,Microsoft.PowerShell.Commands."
                           "GetDateCommand", "InvalidArgument", None,
                           "System.ArgumentOutOfRangeException")
            return
        if args.AsUTC:
            value = _to_utc(value)
        if args.UFormat is not None:
            self.ctx.write_output(uformat_date(value, args.UFormat))
            return
        if args.Format is not None:
            fmt = args.Format
            special = _FILE_FORMATS.get(fmt.lower())
            if special is not None:
                fmt, universal = special
                if universal:
                    value = _to_utc(value)
            try:
                self.ctx.write_output(dotnet_date_format(value, fmt))
            except DateFormatError as exc:
                self.ctx.throw(str(exc), "System.FormatException,Microsoft.PowerShell."
                               "Commands.GetDateCommand", "NotSpecified", fmt,
                               "System.FormatException")
            return
        self.ctx.write_output(value)


def _adjust(value: _dt.datetime, args: GetDateArgs) -> _dt.datetime:
    if args.Year is not None:
        value = _replace_month(value, to_int(args.Year), value.month)
    if args.Month is not None:
        value = _replace_month(value, value.year, to_int(args.Month))
    if args.Day is not None:
        value = value.replace(day=1) + _dt.timedelta(days=to_int(args.Day) - 1)
    if args.Hour is not None:
        value = value.replace(hour=to_int(args.Hour))
    if args.Minute is not None:
        value = value.replace(minute=to_int(args.Minute))
    if args.Second is not None:
        value = value.replace(second=to_int(args.Second))
    if args.Millisecond is not None:
        value = value.replace(microsecond=to_int(args.Millisecond) * 1000)
    return value


def _replace_month(value: _dt.datetime, year: int, month: int) -> _dt.datetime:
    # Keep the day where it exists in the new month, else clamp (Jan 31 → Feb 29).
    import calendar

    last = calendar.monthrange(year, month)[1]
    return value.replace(year=year, month=month, day=min(value.day, last))


# ---------------------------------------------------------------------------------------------
# Select-String
# ---------------------------------------------------------------------------------------------

_SLS_CLASS = "Microsoft.PowerShell.Commands.SelectStringCommand"
_INPUT_STREAM = "InputStream"


class RegexGroup(PSPropertyClass):
    """One group of a regex match (``System.Text.RegularExpressions.Group``)."""

    ps_type_names: ClassVar[tuple[str, ...]] = ("System.Text.RegularExpressions.Group",
                                                "System.Object")
    ps_property_names: ClassVar[tuple[str, ...]] = (
        "Success", "Name", "Captures", "Index", "Length", "Value")

    def __init__(self, name: str, index: int, value: str | None) -> None:
        """A group that matched ``value`` at ``index`` (None: it did not take part)."""
        self.Success = value is not None
        self.Name = name
        self.Index = index
        self.Value = value or ""
        self.Length = len(self.Value)
        self.Captures = [self] if self.Success else []

    def __str__(self) -> str:
        return self.Value


class RegexMatch(RegexGroup):
    """A regex match (``System.Text.RegularExpressions.Match``): its groups and value."""

    ps_type_names = ("System.Text.RegularExpressions.Match",
                     "System.Text.RegularExpressions.Group", "System.Object")
    ps_property_names = ("Groups", "Success", "Name", "Captures", "Index", "Length", "Value")

    def __init__(self, m: re.Match[str]) -> None:
        """Wrap a Python match."""
        super().__init__("0", m.start(), m.group(0))
        names = {index: name for name, index in m.re.groupindex.items()}
        self.Groups = [self] + [
            RegexGroup(names.get(i, str(i)), m.start(i), m.group(i))
            for i in range(1, (m.re.groups or 0) + 1)]


class MatchInfoContext(PSPropertyClass):
    """The lines around a match (-Context)."""

    ps_type_names = ("Microsoft.PowerShell.Commands.MatchInfoContext", "System.Object")
    ps_property_names = ("PreContext", "PostContext", "DisplayPreContext", "DisplayPostContext")

    def __init__(self, pre: list[str], display_pre: list[str]) -> None:
        """The lines before the match; the ones after are added as they are read."""
        self.PreContext = pre
        self.DisplayPreContext = display_pre
        self.PostContext: list[str] = []
        self.DisplayPostContext: list[str] = []


class MatchInfo(PSPropertyClass):
    """One line Select-String found."""

    ps_type_names = ("Microsoft.PowerShell.Commands.MatchInfo", "System.Object")
    ps_property_names = ("IgnoreCase", "LineNumber", "Line", "Filename", "Path", "Pattern",
                         "Context", "Matches")

    def __init__(self, line: str, line_number: int, path: str, pattern: str,
                 ignore_case: bool, matches: list[RegexMatch], cwd: str) -> None:
        """A matching line of ``path`` (``InputStream`` for piped text)."""
        self.Line = line
        self.LineNumber = line_number
        self.Path = path
        self.Filename = path if path == _INPUT_STREAM else os.path.basename(path)
        self.Pattern = pattern
        self.IgnoreCase = ignore_case
        self.Matches = matches
        self.Context: MatchInfoContext | None = None
        self._cwd = cwd

    def _lines(self, relative_to: str | None) -> list[str]:
        path = self.Path
        if relative_to and path.startswith(relative_to.rstrip("/") + "/"):
            path = path[len(relative_to.rstrip("/")) + 1:]

        def shown(text: str, n: int) -> str:
            return text if self.Path == _INPUT_STREAM else f"{path}:{n}:{text}"
        if self.Context is None:
            return [shown(self.Line, self.LineNumber)]
        pre = self.Context.DisplayPreContext
        post = self.Context.DisplayPostContext
        first = self.LineNumber - len(pre)
        out = [f"  {shown(t, first + i)}" for i, t in enumerate(pre)]
        out.append(f"> {shown(self.Line, self.LineNumber)}")
        out.extend(f"  {shown(t, self.LineNumber + 1 + i)}" for i, t in enumerate(post))
        return out

    def ps_display_lines(self) -> list[str]:
        """The lines the host shows: paths relative to the directory of the search."""
        return self._lines(self._cwd)

    def __str__(self) -> str:
        return "\n".join(self._lines(None))


class _Pending:
    """A match waiting for the lines after it (-Context)."""

    __slots__ = ("info", "open", "wanted")

    def __init__(self, info: MatchInfo, wanted: int) -> None:
        self.info = info
        self.wanted = wanted
        self.open = True  # its displayed context ends at the next match


class _Searcher:
    """Matches one input's lines (a file, or the whole piped stream), keeping -Context."""

    def __init__(self, cmd: SelectString, path: str) -> None:
        self.cmd = cmd
        self.path = path
        self.line_number = 0
        self.before: deque[str] = deque(maxlen=cmd.pre or None)
        self.pending: deque[_Pending] = deque()
        self.last_shown = 0  # number of the last line that is displayed (match or context)
        self.done = False

    def feed(self, line: str) -> None:
        """Take the next line; emit the matches that are complete."""
        cmd = self.cmd
        self.line_number += 1
        found = cmd.match(line)
        is_hit = (found is None) if cmd.args.NotMatch else (found is not None)
        for p in self.pending:
            if p.wanted > 0:
                p.wanted -= 1
                ctx = p.info.Context
                assert ctx is not None
                ctx.PostContext.append(line)
                if is_hit:
                    p.open = False
                elif p.open:
                    ctx.DisplayPostContext.append(line)
                    self.last_shown = self.line_number
        if is_hit:
            self._hit(line, found)
        self._emit_ready()
        if cmd.pre:
            self.before.append(line)

    def _hit(self, line: str, found: tuple[str, list[re.Match[str]]] | None) -> None:
        cmd = self.cmd
        pattern, matches = found if found is not None else (cmd.patterns[0][0], [])
        info = MatchInfo(line, self.line_number, self.path, pattern, not cmd.args.CaseSensitive,
                         [RegexMatch(m) for m in matches], cmd.ctx.session.cwd)
        if cmd.pre or cmd.post:
            pre = list(self.before)
            first = self.line_number - len(pre)
            display = [t for i, t in enumerate(pre) if first + i > self.last_shown]
            info.Context = MatchInfoContext(pre, display)
        self.last_shown = self.line_number
        self.pending.append(_Pending(info, cmd.post))
        if cmd.args.List or cmd.args.Quiet:
            self.done = True

    def _emit_ready(self) -> None:
        while self.pending and (self.pending[0].wanted == 0 or self.done):
            self.cmd.emit(self.pending.popleft().info)

    def finish(self) -> None:
        """The input ended: emit what waits for context."""
        while self.pending:
            self.cmd.emit(self.pending.popleft().info)


def _context(value: object) -> object:
    counts = [to_int(v) for v in as_list(value)]
    if not 1 <= len(counts) <= 2:
        raise ConversionError("The number of provided arguments is not valid: -Context takes "
                              "one or two numbers.")
    if any(n < 0 for n in counts):
        raise ConversionError("The -Context counts cannot be negative.")
    return counts


CONTEXT = TypeSpec("System.Int32[]", _context, is_array=True, python="list[int]")


class SelectStringArgs(Bound):
    """Select-String's parameters."""

    Pattern: list[str]
    Path: list[str] | None
    LiteralPath: list[str] | None
    InputObject: object
    Raw: bool
    Quiet: bool
    SimpleMatch: bool
    CaseSensitive: bool
    NotMatch: bool
    AllMatches: bool
    List: bool
    Context: list[int] | None


@command
class SelectString(Cmdlet):
    """Select-String: find lines that match patterns, in files or piped text."""

    spec = CommandSpec(
        name="Select-String",
        aliases=("sls",),
        default_set="File",
        summary="Finds text in strings and files.",
        description=(
            "Searches files (-Path, wildcards allowed, or -LiteralPath) or piped strings line "
            "by line for regular expressions (case-insensitive unless -CaseSensitive; "
            "-SimpleMatch for plain text) and outputs a MatchInfo per matching line, shown as "
            "`file:line:text` (or just the text for piped input). Files piped from "
            "Get-ChildItem are searched. -Context N[,M] adds lines around each match, "
            "-AllMatches finds every match on a line, -NotMatch the lines that do not match, "
            "-List the first match per file, -Quiet outputs $true if anything matches, and -Raw "
            "the matching lines as strings."
        ),
        examples=(
            ("Select-String -Pattern TODO -Path *.py", "Lines containing TODO in Python files."),
            ("Get-Content log.txt | sls 'error \\d+' -AllMatches", "Every error code."),
            ("sls -Path notes.md -Pattern '^#' -Context 0,2", "Headings and two lines after."),
            ("Get-ChildItem -Recurse *.ps1 | Select-String Invoke -List",
             "The first use in each script."),
            ("if (sls secret config.ini -Quiet) { 'found' }", "A yes/no test."),
        ),
        output_type="Microsoft.PowerShell.Commands.MatchInfo",
        params=(
            Param("Pattern", STRINGS, position=0, mandatory=True,
                  help="Regular expressions to look for (any of them matches)."),
            Param("Path", STRINGS, position=1, mandatory=True, pipeline_by_name=True,
                  sets=("File", "FileRaw"), completer="path",
                  help="Files to search (wildcards allowed)."),
            Param("LiteralPath", STRINGS, mandatory=True, pipeline_by_name=True,
                  aliases=("PSPath", "LP"), sets=("LiteralFile", "LiteralFileRaw"),
                  completer="path", help="Files to search, taken exactly as written."),
            Param("InputObject", OBJECT, mandatory=True, pipeline=True,
                  sets=("Object", "ObjectRaw"),
                  help="Text to search (each object as a line; files are searched)."),
            Param("Raw", SWITCH, mandatory=True, sets=("FileRaw", "LiteralFileRaw", "ObjectRaw"),
                  help="Output the matching lines as strings, not MatchInfo objects."),
            Param("Quiet", SWITCH, sets=("File", "LiteralFile", "Object"),
                  help="Output $true at the first match (nothing if none)."),
            Param("SimpleMatch", SWITCH, help="The patterns are plain text, not regexes."),
            Param("CaseSensitive", SWITCH, help="Match case (the default ignores it)."),
            Param("NotMatch", SWITCH, help="Find the lines that do not match."),
            Param("AllMatches", SWITCH, help="Find every match in each line, not the first."),
            Param("List", SWITCH, help="Only the first match of each file."),
            Param("Context", CONTEXT,
                  help="Lines to show before and after each match: N, or N,M."),
        ),
    )
    args_type = SelectStringArgs

    def begin(self, args: SelectStringArgs) -> None:
        """Compile the patterns; a bad regex ends the command."""
        self.args = args
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for raw in as_list(args.Pattern):
            text = to_string(raw)
            source = re.escape(text) if args.SimpleMatch else text
            try:
                rx = compile_regex(source, bool(args.CaseSensitive))
            except OperatorError as exc:
                self.ctx.throw(f"The string '{text}' is not a valid regular expression: "
                               f"{exc.message.rsplit(': ', 1)[-1]}",
                               f"InvalidRegex,{_SLS_CLASS}", "InvalidArgument", text,
                               "System.ArgumentException")
            self.patterns.append((text, rx))
        counts = [] if args.Raw else list(args.Context or [])
        self.pre = counts[0] if counts else 0
        self.post = counts[1] if len(counts) > 1 else self.pre
        self.stream: _Searcher | None = None
        self.found = False
        self.finished = False

    def match(self, line: str) -> tuple[str, list[re.Match[str]]] | None:
        """The first pattern that matches the line and its matches, or None."""
        for text, rx in self.patterns:
            if self.args.AllMatches:
                found = list(rx.finditer(line))
                if found:
                    return text, found
            else:
                m = rx.search(line)
                if m is not None:
                    return text, [m]
        return None

    def emit(self, info: MatchInfo) -> None:
        """Write one result as the switches ask."""
        if self.finished:
            return
        self.found = True
        if self.args.Quiet:
            self.finished = True
            self.ctx.write_output(True)
        elif self.args.Raw:
            self.ctx.write_output(info.Line)
        else:
            self.ctx.write_output(info)

    def process(self, args: SelectStringArgs) -> None:
        """Search the files named, the file piped, or the piped line."""
        if self.finished:
            return
        if args.parameter_set.startswith("Object"):
            value = args.InputObject
            if isinstance(value, FileInfo):
                self._search_file(value.FullName)
                return
            if value is None:
                return
            if self.stream is None:
                self.stream = _Searcher(self, _INPUT_STREAM)
            if not self.stream.done:
                self.stream.feed(to_string(value))
            return
        # Hidden files match wildcards only when named with a dot, as without -Force.
        for path in existing_items(self, args, "SelectStringCommand", force=False):
            if self.finished:
                return
            if not os.path.isdir(path):
                self._search_file(path)

    def _search_file(self, path: str) -> None:
        searcher = _Searcher(self, path)
        try:
            with open(path, "rb") as fh:
                decoder, first = _start_text(fh, UTF8_NO_BOM)
                for line in split_lines(_decoded_chunks(fh, decoder, first)):
                    searcher.feed(line)
                    if searcher.done or self.finished or self.ctx.stopping:
                        break
        except OSError as exc:
            _io_error(self.ctx, exc, path, "ProcessingFile", "SelectStringCommand",
                      "ReadError")
        searcher.finish()

    def end(self, args: SelectStringArgs) -> None:
        """Emit the piped matches still waiting for context."""
        if self.stream is not None:
            self.stream.finish()


# ---------------------------------------------------------------------------------------------
# Measure-Command
# ---------------------------------------------------------------------------------------------


class MeasureCommandArgs(Bound):
    """Measure-Command's parameters."""

    Expression: ScriptBlock
    InputObject: object


@command
class MeasureCommand(Cmdlet):
    """Measure-Command: time a script block."""

    spec = CommandSpec(
        name="Measure-Command",
        summary="Measures the time it takes to run script blocks and cmdlets.",
        description=(
            "Runs the script block in the current scope (once per piped object, which is $_ "
            "inside it), discards what it outputs and outputs the total time taken as a "
            "TimeSpan (TotalMilliseconds, TotalSeconds…)."
        ),
        examples=(
            ("Measure-Command { Get-ChildItem -Recurse }", "How long a listing takes."),
            ("(Measure-Command { sleep 1 }).TotalSeconds", "Just the seconds."),
            ("1..3 | Measure-Command { $_ * 2 }", "The block runs once per object."),
        ),
        output_type="System.TimeSpan",
        params=(
            Param("Expression", SCRIPTBLOCK, position=0, mandatory=True,
                  help="The script block to time."),
            Param("InputObject", OBJECT, pipeline=True,
                  help="Objects to run the block for ($_ in the block)."),
        ),
    )
    args_type = MeasureCommandArgs

    def begin(self, args: MeasureCommandArgs) -> None:
        """Nothing timed yet."""
        self._elapsed = 0.0

    def process(self, args: MeasureCommandArgs) -> None:
        """Run the block once, timing it; its output is dropped."""
        piped = "InputObject" in args
        value = args.InputObject
        start = time.perf_counter()
        try:
            self.ctx.invoke(args.Expression, dollar_under=value if piped else ...,
                            input=[value] if piped else None)
        finally:
            self._elapsed += time.perf_counter() - start

    def end(self, args: MeasureCommandArgs) -> None:
        """Output the total time."""
        self.ctx.write_output(_dt.timedelta(seconds=self._elapsed))
