"""The format model: objects become tables, lists and text lines, rendered twice.

The engine turns objects into :data:`Block` values (:class:`TableBlock`, :class:`ListBlock`,
:class:`TextBlock`) with :func:`build_blocks` or the streaming :class:`OutDefault`. The layout
(column widths, truncation with ``…``, blank lines) is computed once by :func:`layout_lines`;
:func:`render_text` joins its lines for pipes, files and ``Out-String``, and the console host
(``pjsh.render.rich_render``) styles the very same lines with rich. Default views per type name
live in a :class:`ViewTable`, separate from the objects, as in PowerShell; each runspace's
command registry owns one (the built-in views plus those its command modules declare).
"""

from __future__ import annotations

import datetime as _dt
import enum
import fnmatch
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from pjsh.lang.record import dataclass, replace
from pjsh.runtime.convert import to_string
from pjsh.runtime.errors import ErrorRecord, PSRuntimeError
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.values import (
    Hashtable,
    PSObject,
    is_scalar,
    lookup_property,
    ps_properties,
    type_names,
)

# $FormatEnumerationLimit: how many items of a collection a property value shows.
ENUMERATION_LIMIT = 4
ELLIPSIS = "…"

# Roles of the segments of a laid-out line; the rich renderer maps them to styles.
ROLE_TEXT = ""
ROLE_HEADER = "header"  # table header labels and their dashes ($PSStyle.Formatting.TableHeader)
ROLE_LABEL = "label"  # list labels ($PSStyle.Formatting.FormatAccent)

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

# The aliases are strings: the engine runs on Python 3.8, where builtin and collections.abc
# generics cannot be subscripted at run time (docs/architecture.md).
Segment: TypeAlias = "tuple[str, str]"  # (text, role)
StyledLine: TypeAlias = "tuple[Segment, ...]"  # () is a blank line
Evaluate: TypeAlias = "Callable[[object, object], object]"
ColumnSource: TypeAlias = "str | Callable[[object], object]"  # a property name or a getter


class FormatError(ValueError):
    """A Format-Table/Format-List argument (a calculated property) is not usable."""


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: header label, fixed width (None = as wide as its content) and alignment."""

    label: str
    width: int | None
    align: str = "left"


@dataclass(frozen=True)
class TableBlock:
    """Rows of cell text under columns.

    ``title`` is a group header shown above the table (``    Directory: /tmp``).
    ``leading_blank``/``trailing_blank`` frame the table with blank lines like pwsh; a table
    streamed row by row is sent as a head (no trailing blank), bodies (no header, no blanks)
    and an empty closing block that is only the trailing blank.
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    hide_header: bool = False
    wrap: bool = False
    title: str = ""
    leading_blank: bool = True
    trailing_blank: bool = True


@dataclass(frozen=True)
class ListBlock:
    """One entry per object, each a sequence of (label, value text) pairs."""

    entries: tuple[tuple[tuple[str, str], ...], ...]
    leading_blank: bool = True
    trailing_blank: bool = True


@dataclass(frozen=True)
class TextBlock:
    """Lines printed as they are (scalars, error text)."""

    lines: tuple[str, ...]


Block: TypeAlias = "TableBlock | ListBlock | TextBlock"
_BLOCK_TYPES = (TableBlock, ListBlock, TextBlock)


# ---------------------------------------------------------------------------------------------
# Default views
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableView:
    """A default table view: columns as (label, property name or getter, width, align).

    ``group_by`` names a property whose change starts a new table under the title
    ``    <group_label>: <value>`` (indented by ``group_indent``); ``wrap`` wraps long cells
    instead of cutting them.
    """

    columns: tuple[tuple[str, ColumnSource, int | None, str], ...]
    group_by: str | None = None
    group_label: str = ""
    wrap: bool = False
    group_indent: int = 4

    @property
    def fixed_width(self) -> bool:
        """Tell whether every column has a fixed width (rows can then be shown one by one)."""
        return all(width is not None for _, _, width, _ in self.columns)


@dataclass(frozen=True)
class ListView:
    """A default list view: entries as (label, property name or getter)."""

    entries: tuple[tuple[str, ColumnSource], ...]


View: TypeAlias = "TableView | ListView"


_FILL_LOCK = threading.Lock()


class ViewTable:
    """Default views by type name (what Format-Table/-List and Out-Default use when no
    properties are given). Each runspace has its own (see ``Registry.views``)."""

    def __init__(self, views: Mapping[str, View] | None = None,
                 fill: Callable[[ViewTable], None] | None = None) -> None:
        self._views: dict[str, View] = dict(views or {})
        self._fill = fill

    def fill_later(self, fill: Callable[[ViewTable], None]) -> None:
        """Have ``fill(table)`` add its views on first use (a lookup, a registration or a
        copy): the command modules that declare views are imported only when an object
        needs one, not when a runspace starts."""
        self._fill = fill

    def _filled(self) -> dict[str, View]:
        if self._fill is not None:
            with _FILL_LOCK:  # one thread fills; another meanwhile waits for the whole table
                fill = self._fill
                if fill is not None:
                    table = ViewTable(self._views)
                    fill(table)
                    self._views = table._views
                    self._fill = None
        return self._views

    def register(self, type_name: str, view: View) -> None:
        """Make ``view`` the default view of objects whose type names include ``type_name``."""
        self._filled()[type_name.lower()] = view

    def copy(self) -> ViewTable:
        """An independent copy (still to be filled, if this one is)."""
        return ViewTable(self._views, self._fill)

    def find(self, obj: object) -> View | None:
        """Return the view of the most specific type name of ``obj`` that has one.

        Deserialized objects (``Deserialized.<type>``) fall back to the view of ``<type>``,
        so a job table received from a remote runspace looks like a local one.
        """
        names = type_names(obj)
        views = self._filled()
        for name in names:
            view = views.get(name.lower())
            if view is not None:
                return view
        prefix = "deserialized."
        for name in names:
            low = name.lower()
            if low.startswith(prefix):
                view = views.get(low[len(prefix):])
                if view is not None:
                    return view
        return None


def _prop(name: str) -> Callable[[object], object]:
    def get(obj: object) -> object:
        return lookup_property(obj, name)[1]

    return get


def _first_prop(*names: str) -> Callable[[object], object]:
    def get(obj: object) -> object:
        for name in names:
            found, value = lookup_property(obj, name)
            if found:
                return value
        return None

    return get


def _numeric(name: str, scale: float) -> Callable[[object], object]:
    """A column showing a number property divided by ``scale``, with two decimals."""
    def get(obj: object) -> object:
        value = lookup_property(obj, name)[1]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value / scale:,.2f}"
        return value

    return get


def _megabytes(name: str) -> Callable[[object], object]:
    return _numeric(name, 1048576)


def _two_decimals(name: str) -> Callable[[object], object]:
    return _numeric(name, 1)


def _short_time(name: str) -> Callable[[object], object]:
    # pwsh's '{0:d} {0:HH}:{0:mm}' in en-US: 1/2/2024 09:05
    def get(obj: object) -> object:
        value = lookup_property(obj, name)[1]
        if isinstance(value, _dt.datetime):
            return f"{value.month}/{value.day}/{value.year} {value:%H}:{value:%M}"
        return value

    return get


def _command_name(obj: object) -> object:
    # Aliases show as 'gjb -> Get-Job' when the object offers a DisplayName.
    if to_string(lookup_property(obj, "CommandType")[1]).lower() == "alias":
        found, display = lookup_property(obj, "DisplayName")
        if found and display:
            return display
    return lookup_property(obj, "Name")[1]


JOB_VIEW = TableView(
    (
        ("Id", "Id", 6, "left"),
        ("Name", "Name", 15, "left"),
        ("PSJobTypeName", "PSJobTypeName", 15, "left"),
        ("State", "State", 13, "left"),
        ("HasMoreData", "HasMoreData", 15, "left"),
        ("Location", "Location", 20, "left"),
        ("Command", "Command", 25, "left"),
    )
)

PSSESSION_VIEW = TableView(
    (
        ("Id", "Id", 3, "right"),
        ("Name", "Name", 15, "left"),
        ("Transport", "Transport", 9, "left"),
        ("ComputerName", "ComputerName", 15, "left"),
        ("ComputerType", "ComputerType", 15, "left"),
        ("State", "State", 13, "left"),
        ("ConfigurationName", "ConfigurationName", 20, "left"),
        ("Availability", "Availability", 13, "right"),
    )
)

# pwsh's "childrenWithUnixStat" view (the one pwsh shows on Linux and macOS).
FILESYSTEM_VIEW = TableView(
    (
        ("UnixMode", "UnixMode", 10, "left"),
        ("User", "User", 10, "right"),
        ("Group", "Group", 10, "left"),
        ("LastWriteTime", _short_time("LastWriteTime"), 16, "right"),
        ("Size", "Size", 12, "right"),
        ("Name", _first_prop("NameString", "Name"), None, "left"),
    ),
    group_by="PSParentPath",
    group_label="Directory",
    wrap=True,
)

# pwsh's "process" view without NPM(K), which is always 0 on Linux.
PROCESS_VIEW = TableView(
    (
        ("PM(M)", _megabytes("PM"), 8, "right"),
        ("WS(M)", _megabytes("WS"), 10, "right"),
        ("CPU(s)", _two_decimals("CPU"), 10, "right"),
        ("Id", "Id", 7, "right"),
        ("SI", "SI", 3, "right"),
        ("ProcessName", "ProcessName", None, "left"),
    )
)

HISTORY_VIEW = TableView((("Id", "Id", 4, "right"), ("CommandLine", "CommandLine", None, "left")))

COMMAND_VIEW = TableView(
    (
        ("CommandType", "CommandType", 15, "left"),
        ("Name", _command_name, 50, "left"),
        ("Version", "Version", 10, "left"),
        ("Source", "Source", None, "left"),
    )
)

DICTIONARY_ENTRY_VIEW = TableView((("Name", "Name", 30, "left"), ("Value", "Value", None, "left")))

DICTIONARY_ENTRY_TYPE = "System.Collections.DictionaryEntry"



def builtin_views() -> ViewTable:
    """A new table of the runtime's own default views (jobs, sessions, files, processes,
    history, commands, dictionary entries)."""
    table = ViewTable()
    table.register("System.Management.Automation.Job", JOB_VIEW)
    table.register("System.Management.Automation.Runspaces.PSSession", PSSESSION_VIEW)
    table.register("System.IO.FileInfo", FILESYSTEM_VIEW)
    table.register("System.IO.DirectoryInfo", FILESYSTEM_VIEW)
    table.register("System.Diagnostics.Process", PROCESS_VIEW)
    table.register("Microsoft.PowerShell.Commands.HistoryInfo", HISTORY_VIEW)
    for command_type in ("CommandInfo", "AliasInfo", "ApplicationInfo", "CmdletInfo",
                         "ExternalScriptInfo", "FilterInfo", "FunctionInfo", "ScriptInfo"):
        table.register(f"System.Management.Automation.{command_type}", COMMAND_VIEW)
    table.register(DICTIONARY_ENTRY_TYPE, DICTIONARY_ENTRY_VIEW)
    return table


_default_views: ViewTable | None = None


def default_views() -> ViewTable:
    """The built-in views, for formatting done outside any runspace (it is never changed)."""
    global _default_views
    if _default_views is None:
        _default_views = builtin_views()
    return _default_views


# ---------------------------------------------------------------------------------------------
# Values as cell text
# ---------------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scalar_text(value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.name
    return to_string(value)


# pwsh names an object inside a collection by its first property called like these (its
# formatter's GetDisplayNameExpression), else by its string form: ChildJobs shows as {Job2}.
_DISPLAY_NAMES = ("name", "id", "key")


def _display_name(value: object) -> str | None:
    """The text pwsh shows for an object in a collection cell, or None for its string form."""
    names = [n for n, _ in ps_properties(value)]
    if not names:
        return None
    lowered = [n.lower() for n in names]
    for want in _DISPLAY_NAMES:
        if want in lowered:
            return _scalar_text(lookup_property(value, names[lowered.index(want)])[1])
    for want in ("key", "name", "id"):  # then pwsh's *key, *name, *id
        for i, n in enumerate(lowered):
            if n.endswith(want):
                return _scalar_text(lookup_property(value, names[i])[1])
    return None


def _element_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "System.Object[]"
    if isinstance(value, (Hashtable, dict)):
        return "System.Collections.Hashtable"
    if not is_scalar(value):
        name = _display_name(value)
        if name is not None:
            return name
    return _scalar_text(value)


def _enumeration(items: list[str]) -> str:
    shown = items[:ENUMERATION_LIMIT]
    more = ELLIPSIS if len(items) > ENUMERATION_LIMIT else ""
    return "{" + ", ".join(shown) + more + "}"


def format_value(value: object) -> str:
    """Return a property value as table or list cell text.

    Collections show as ``{a, b, c}`` (at most four items, then ``…``), hashtables as
    ``{[k, v]}``, nested objects through their string conversion.
    """
    if type(value) in (str, int):  # most cells: what to_string would return, without its checks
        return str(value)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return _enumeration([_element_text(v) for v in value[: ENUMERATION_LIMIT + 1]])
    if isinstance(value, (Hashtable, dict)):
        pairs = list(value.items())[: ENUMERATION_LIMIT + 1]
        return _enumeration([f"[{_element_text(k)}, {_element_text(v)}]" for k, v in pairs])
    return _scalar_text(value)


# ---------------------------------------------------------------------------------------------
# From objects to pieces of blocks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """One displayed property: label, how to get the value, optional width and alignment."""

    label: str
    source: Callable[[object], object]
    width: int | None = None
    align: str | None = None


@dataclass
class _Options:
    views: ViewTable
    view: str = "auto"
    properties: Sequence[object] | None = None
    auto_size: bool = False
    wrap: bool = False
    hide_header: bool = False
    evaluate: Evaluate | None = None
    group_by: _Spec | None = None


@dataclass
class _Text:
    lines: list[str]


@dataclass
class _Rows:
    key: tuple[object, ...]
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]]
    title: str = ""
    wrap: bool = False
    hide_header: bool = False
    streamable: bool = False


@dataclass
class _Entries:
    entries: list[tuple[tuple[str, str], ...]]


_Piece: TypeAlias = "_Text | _Rows | _Entries | TableBlock | ListBlock | TextBlock"

_CALC_KEYS = ("name", "label", "expression", "width", "alignment", "formatstring")


def _calc_key(key: object) -> str:
    # Like PowerShell, any unambiguous prefix names a key: N, L, E, Exp, W, A ...
    text = to_string(key).lower()
    matches = [k for k in _CALC_KEYS if k.startswith(text)] if text else []
    if len(matches) != 1:
        raise FormatError(f'The "{to_string(key)}" key is not valid.')
    return matches[0]


_NUMBER_FORMAT = re.compile(r"(?:\{0:)?([NnFfDdPpXx])(\d{0,2})\}?")


def _format_number(value: object, spec: str) -> object:
    """Apply a .NET standard numeric format (N2, F1, D5, P0, X) to a number; else leave it."""
    match = _NUMBER_FORMAT.fullmatch(spec)
    if match is None or not _is_number(value):
        return value
    assert isinstance(value, (int, float))
    code, digits = match.group(1), match.group(2)
    places = int(digits) if digits else 2
    upper = code.upper()
    if upper == "N":
        return f"{value:,.{places}f}"
    if upper == "F":
        return f"{value:.{places}f}"
    if upper == "P":
        return f"{value * 100:,.{places}f} %"
    if not isinstance(value, int):
        return value
    if upper == "D":
        return f"{value:0{int(digits or 0)}d}"
    return f"{value:0{int(digits or 0)}{'X' if code == 'X' else 'x'}}"


def _evaluator(expr: object, evaluate: Evaluate | None) -> Callable[[object], object]:
    if isinstance(expr, ScriptBlock):

        def run(obj: object) -> object:
            if evaluate is None:
                return None
            try:
                return evaluate(expr, obj)
            except PSRuntimeError:
                # PowerShell shows an empty cell when a calculated property fails.
                return None

        return run
    if callable(expr):
        return expr
    return _prop(to_string(expr))


def _calculated(table: Mapping[object, object], evaluate: Evaluate | None) -> _Spec:
    parts: dict[str, object] = {}
    for key, value in table.items():
        parts[_calc_key(key)] = value
    if "expression" not in parts:
        raise FormatError('The calculated property is missing the "Expression" key.')
    expr = parts["expression"]
    label_value = parts.get("label", parts.get("name"))
    if label_value is not None:
        label = to_string(label_value)
    elif isinstance(expr, ScriptBlock):
        label = str(expr)
    else:
        label = to_string(expr)
    width_value = parts.get("width")
    width = None
    if width_value is not None:
        try:
            width = int(to_string(width_value))
        except ValueError:
            raise FormatError(
                f'The "{to_string(width_value)}" value is not valid for the Width key.'
            ) from None
    source = _evaluator(expr, evaluate)
    if "formatstring" in parts:
        fmt = to_string(parts["formatstring"])
        inner = source

        def source(obj: object) -> object:
            return _format_number(inner(obj), fmt)

    align_value = parts.get("alignment")
    align = None
    if align_value is not None:
        align = to_string(align_value).lower()
        if align not in ("left", "right", "center"):
            raise FormatError(
                f'The "{to_string(align_value)}" value is not valid for the Alignment key. '
                "Use Left, Center or Right."
            )
    return _Spec(label, source, width, align)


def _has_wildcard(name: str) -> bool:
    return any(c in name for c in "*?[")


def _resolve(obj: object, properties: Sequence[object], evaluate: Evaluate | None) -> list[_Spec]:
    """Turn -Property arguments into specs for one object (wildcards expand on its names)."""
    specs: list[_Spec] = []
    names = [n for n, _ in ps_properties(obj)]
    for item in properties:
        if isinstance(item, (Hashtable, dict)):
            specs.append(_calculated(item, evaluate))
            continue
        name = to_string(item)
        if _has_wildcard(name):
            pattern = name.lower()
            taken = {s.label.lower() for s in specs}
            for real in names:
                if fnmatch.fnmatchcase(real.lower(), pattern) and real.lower() not in taken:
                    specs.append(_Spec(real, _prop(real)))
                    taken.add(real.lower())
            continue
        spelled = next((n for n in names if n.lower() == name.lower()), name)
        specs.append(_Spec(spelled, _prop(spelled)))
    return specs


def _all_specs(obj: object) -> list[_Spec]:
    return [_Spec(name, _prop(name)) for name, _ in ps_properties(obj)
            if name != SHOW_COMPUTER_NAME]


# Remote output (Invoke-Command) carries the host it came from; pwsh adds it as a last table
# column unless PSShowComputerName is false (-HideComputerName), and never shows the flag.
SHOW_COMPUTER_NAME = "PSShowComputerName"


def _computer_name(obj: object) -> str | None:
    if not isinstance(obj, PSObject) or not obj.has("PSComputerName"):
        return None
    if obj.get(SHOW_COMPUTER_NAME, True) is False:
        return None
    return format_value(obj.get("PSComputerName"))


# Per-view memos, by id() with the view kept alongside (so an id is never reused while its
# entry lives): views are few and long-lived, and rebuilding their specs and columns for every
# object (the job row of every `&`) was a fair share of printing it.
_SPECS_CACHE: dict[int, tuple[object, list[_Spec]]] = {}
_COLUMNS_CACHE: dict[tuple[int, bool], tuple[object, tuple[Column, ...]]] = {}
_MEMO_MAX = 256


def _view_specs(view: TableView | ListView) -> list[_Spec]:
    cached = _SPECS_CACHE.get(id(view))
    if cached is not None and cached[0] is view:
        return cached[1]
    if isinstance(view, TableView):
        specs = [
            _Spec(label, _prop(src) if isinstance(src, str) else src, width, align)
            for label, src, width, align in view.columns
        ]
    else:
        specs = [
            _Spec(label, _prop(src) if isinstance(src, str) else src)
            for label, src in view.entries
        ]
    if len(_SPECS_CACHE) >= _MEMO_MAX:
        _SPECS_CACHE.clear()
    _SPECS_CACHE[id(view)] = (view, specs)
    return specs


def _view_columns(view: TableView, specs: list[_Spec], auto_size: bool) -> tuple[Column, ...]:
    """A table view's columns: with a view, no alignment depends on the values."""
    key = (id(view), auto_size)
    cached = _COLUMNS_CACHE.get(key)
    if cached is not None and cached[0] is view:
        return cached[1]
    columns = tuple(
        Column(spec.label, None if auto_size else spec.width, spec.align or "left")
        for spec in specs
    )
    if len(_COLUMNS_CACHE) >= _MEMO_MAX:
        _COLUMNS_CACHE.clear()
    _COLUMNS_CACHE[key] = (view, columns)
    return columns


def _dictionary_entry(key: object, value: object) -> PSObject:
    return PSObject((("Name", key), ("Key", key), ("Value", value)), (DICTIONARY_ENTRY_TYPE,))


def _text_lines(text: str) -> list[str]:
    return text.split("\n")


# The one column of objects shown as lines of text: as wide as the screen, wrapping.
_LINES_COLUMNS = (Column("", 100_000),)


def _pieces(obj: object, opts: _Options) -> Iterator[_Piece]:
    """Turn one output object into the pieces (text, table rows, list entries) it shows as."""
    if obj is None:
        return
    if isinstance(obj, _BLOCK_TYPES):
        yield obj
        return
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _pieces(item, opts)
        return
    if isinstance(obj, ErrorRecord):
        # The host shows error records; one that is output as data prints its message.
        yield _Text(_text_lines(obj.describe()))
        return
    if isinstance(obj, (Hashtable, dict)):
        for entry_key, entry_value in obj.items():
            yield from _pieces(_dictionary_entry(entry_key, entry_value), opts)
        return
    if isinstance(obj, ScriptBlock) or is_scalar(obj):
        yield _Text(_text_lines(_scalar_text(obj)))
        return

    display = getattr(obj, "ps_display_lines", None)
    if opts.view == "auto" and opts.properties is None and callable(display):
        # Objects whose default view is lines of text (MatchInfo), like pwsh's custom controls:
        # framed by blank lines, shown as they come.
        yield _Rows(key=("lines",), columns=_LINES_COLUMNS, rows=[(line,) for line in display()],
                    hide_header=True, wrap=True, streamable=True)
        return
    view = None if opts.properties is not None else opts.views.find(obj)
    kind = opts.view
    if opts.properties is not None:
        specs = _resolve(obj, opts.properties, opts.evaluate)
    elif (kind == "table" and isinstance(view, TableView)) or (
        kind == "list" and isinstance(view, ListView)
    ):
        specs = _view_specs(view)
    elif kind == "auto" and view is not None:
        specs = _view_specs(view)
        kind = "table" if isinstance(view, TableView) else "list"
    else:
        view = None
        specs = _all_specs(obj)
    if kind == "auto":
        kind = "table" if len(specs) <= 4 else "list"

    if not specs:
        if not isinstance(obj, PSObject):
            yield _Text(_text_lines(_scalar_text(obj)))
        return

    values = [spec.source(obj) for spec in specs]
    if kind == "list":
        entry = tuple((s.label, format_value(v)) for s, v in zip(specs, values))
        yield _Entries([entry])
        return

    table_view = view if isinstance(view, TableView) else None
    if table_view is not None and opts.properties is None:
        columns = _view_columns(table_view, specs, opts.auto_size)
    else:
        columns = tuple(
            Column(
                spec.label,
                None if opts.auto_size else spec.width,
                spec.align or ("right" if table_view is None and _is_number(value) else "left"),
            )
            for spec, value in zip(specs, values)
        )
    row = tuple(format_value(v) for v in values)
    group_title = _group_title(obj, opts.group_by) if opts.group_by is not None else None
    computer = _computer_name(obj) if table_view is not None and opts.properties is None \
        else None
    if table_view is not None and computer is not None:
        yield _Rows(
            key=("view", id(table_view), group_title or "", opts.auto_size, "computer"),
            columns=(*columns, Column("PSComputerName", None, "left")),
            rows=[(*row, computer)], title=group_title or "",
            wrap=opts.wrap or table_view.wrap, hide_header=opts.hide_header)
        return
    if table_view is not None:
        title = group_title or ""
        if group_title is None and table_view.group_by:
            found, group = lookup_property(obj, table_view.group_by)
            group_text = format_value(group) if found else ""
            if group_text:
                label = f"{table_view.group_label}: " if table_view.group_label else ""
                title = " " * table_view.group_indent + f"{label}{group_text}"
        yield _Rows(
            key=("view", id(table_view), title, opts.auto_size),
            columns=columns,
            rows=[row],
            title=title,
            wrap=opts.wrap or table_view.wrap,
            hide_header=opts.hide_header,
            streamable=table_view.fixed_width and not opts.auto_size,
        )
        return
    labels = tuple(spec.label.lower() for spec in specs)
    if opts.properties is not None:
        key: tuple[object, ...] = ("props", labels, group_title)
    else:
        first = type_names(obj)
        key = ("type", first[0].lower() if first else "", labels, group_title)
    yield _Rows(key=key, columns=columns, rows=[row], title=group_title or "", wrap=opts.wrap,
                hide_header=opts.hide_header)


def _group_spec(group_by: object, evaluate: Evaluate | None) -> _Spec:
    """Format-Table -GroupBy: a property name, a script block or a calculated property."""
    if isinstance(group_by, (Hashtable, dict)):
        return _calculated(group_by, evaluate)
    if isinstance(group_by, ScriptBlock):
        return _Spec(str(group_by).strip(), _evaluator(group_by, evaluate))
    name = to_string(group_by)
    return _Spec(name, _prop(name))


def _group_title(obj: object, spec: _Spec) -> str:
    """The header pwsh writes above each run of equal -GroupBy values: ``   Label: value``."""
    return f"   {spec.label}: {format_value(spec.source(obj))}"


def _to_block(piece: _Rows | _Entries | _Text) -> Block:
    if isinstance(piece, _Rows):
        return TableBlock(
            piece.columns, tuple(piece.rows), piece.hide_header, piece.wrap, piece.title
        )
    if isinstance(piece, _Entries):
        return ListBlock(tuple(piece.entries))
    return TextBlock(tuple(piece.lines))


def _joins(current: _Rows | _Entries | _Text, piece: _Piece) -> bool:
    """Tell whether ``piece`` continues the block ``current`` (same shape)."""
    if isinstance(current, _Rows):
        return isinstance(piece, _Rows) and piece.key == current.key
    if isinstance(current, _Entries):
        return isinstance(piece, _Entries)
    return isinstance(piece, _Text)


def _extend(current: _Rows | _Entries | _Text, piece: _Piece) -> None:
    if isinstance(current, _Rows) and isinstance(piece, _Rows):
        current.rows.extend(piece.rows)
    elif isinstance(current, _Entries) and isinstance(piece, _Entries):
        current.entries.extend(piece.entries)
    elif isinstance(current, _Text) and isinstance(piece, _Text):
        current.lines.extend(piece.lines)


def _copy(piece: _Rows | _Entries | _Text) -> _Rows | _Entries | _Text:
    if isinstance(piece, _Rows):
        return replace(piece, rows=list(piece.rows))
    if isinstance(piece, _Entries):
        return _Entries(list(piece.entries))
    return _Text(list(piece.lines))


def build_blocks(
    objects: Sequence[object],
    *,
    view: str = "auto",
    properties: Sequence[object] | None = None,
    auto_size: bool = False,
    wrap: bool = False,
    hide_header: bool = False,
    evaluate: Evaluate | None = None,
    views: ViewTable | None = None,
    group_by: object = None,
) -> list[Block]:
    """Turn objects into format blocks.

    ``view`` is "auto" (default views, else PowerShell's rule: up to four properties make a
    table, more a list), "table" (Format-Table) or "list" (Format-List). ``properties`` are
    names (wildcards allowed) or calculated properties (hashtables with Name/Label and
    Expression; a script block expression is run through ``evaluate(scriptblock, obj)``).
    Consecutive objects of the same shape share a block. Blocks already in ``objects``
    (the output of an earlier Format-* command) pass through unchanged. ``views`` are the
    runspace's default views (the built-in ones if None). ``group_by`` (Format-Table -GroupBy:
    a name, script block or calculated property) starts a new table under a ``   Label:
    value`` header each time its value changes (no sorting, as pwsh).
    """
    if view not in ("auto", "table", "list"):
        raise ValueError(f"unknown view {view!r}")
    group = _group_spec(group_by, evaluate) if group_by is not None else None
    opts = _Options(views or default_views(), view, properties, auto_size, wrap, hide_header,
                    evaluate, group)
    blocks: list[Block] = []
    current: _Rows | _Entries | _Text | None = None
    for obj in objects:
        for piece in _pieces(obj, opts):
            if current is not None and _joins(current, piece):
                _extend(current, piece)
                continue
            if current is not None:
                blocks.append(_to_block(current))
                current = None
            if isinstance(piece, _BLOCK_TYPES):
                blocks.append(piece)
            else:
                current = _copy(piece)
    if current is not None:
        blocks.append(_to_block(current))
    return blocks


# ---------------------------------------------------------------------------------------------
# Streaming default output
# ---------------------------------------------------------------------------------------------


class OutDefault:
    """Streaming default output (Out-Default): objects in, blocks out through ``emit``.

    Scalars are emitted at once. Objects are buffered while they share a shape, so their
    table can be sized to its content, and emitted when the shape changes or on
    :meth:`flush`. Objects whose view has fixed widths for every column (jobs, sessions)
    need no sizing and are emitted row by row, the header only with the first row of a run.
    """

    def __init__(self, emit: Callable[[list[Block]], None], views: ViewTable | None = None,
                 ) -> None:
        """Send blocks to ``emit`` as they become ready, using ``views`` (the runspace's
        default views; the built-in ones if None)."""
        self._emit = emit
        self._options = _Options(views or default_views())
        self._pending: _Rows | _Entries | None = None
        self._stream_key: tuple[object, ...] | None = None
        self._stream_columns: tuple[Column, ...] = ()
        # Whether what was emitted last ended with a blank line: the next table or list
        # then omits its leading blank, so blocks are separated by exactly one blank line.
        self._after_blank = False

    def add(self, obj: object) -> None:
        """Take one output object."""
        for piece in _pieces(obj, self._options):
            self._take(piece)

    def flush(self) -> None:
        """Emit whatever is buffered and close a streamed table."""
        self._close_stream()
        self._close_pending()

    def _take(self, piece: _Piece) -> None:
        if isinstance(piece, _Rows) and piece.streamable:
            rows = tuple(piece.rows)
            if self._stream_key == piece.key:
                self._send(
                    TableBlock(piece.columns, rows, hide_header=True, wrap=piece.wrap,
                               leading_blank=False, trailing_blank=False)
                )
                return
            self._close_stream()
            self._close_pending()
            self._send(
                TableBlock(piece.columns, rows, hide_header=piece.hide_header, wrap=piece.wrap,
                           title=piece.title, trailing_blank=False)
            )
            self._stream_key = piece.key
            self._stream_columns = piece.columns
            return
        self._close_stream()
        if isinstance(piece, (_Rows, _Entries)):
            if self._pending is not None and _joins(self._pending, piece):
                _extend(self._pending, piece)
                return
            self._close_pending()
            copied = _copy(piece)
            assert isinstance(copied, (_Rows, _Entries))
            self._pending = copied
            return
        self._close_pending()
        if isinstance(piece, _Text):
            self._send(TextBlock(tuple(piece.lines)))
        else:
            self._send(piece)

    def _close_stream(self) -> None:
        if self._stream_key is None:
            return
        self._stream_key = None
        # The closing block has no header and no rows: it is the table's trailing blank line.
        self._send(TableBlock(self._stream_columns, (), hide_header=True, leading_blank=False))

    def _close_pending(self) -> None:
        if self._pending is None:
            return
        block = _to_block(self._pending)
        self._pending = None
        self._send(block)

    def _send(self, block: Block) -> None:
        leading, self._after_blank = _frame(block, self._after_blank)
        if isinstance(block, (TableBlock, ListBlock)) and block.leading_blank and not leading:
            block = replace(block, leading_blank=False)
        self._emit([block])


def _shows_lines(block: Block) -> bool:
    if isinstance(block, TableBlock):
        return bool(block.columns) and bool(block.title or not block.hide_header or block.rows)
    if isinstance(block, ListBlock):
        return any(block.entries)
    return bool(block.lines)


def _frame(block: Block, after_blank: bool) -> tuple[bool, bool]:
    """Return (print a leading blank line?, does output then end with a blank line?)."""
    if isinstance(block, TextBlock):
        return False, after_blank and not block.lines
    leading = block.leading_blank and not after_blank
    if block.trailing_blank:
        return leading, True
    if _shows_lines(block):
        return leading, False
    return leading, after_blank or leading


# ---------------------------------------------------------------------------------------------
# Layout (shared by the plain-text and the rich renderer)
# ---------------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Return how many terminal cells ``text`` takes (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cut(text: str, width: int, align: str) -> str:
    """Cut ``text`` to ``width`` cells, with a ``…`` (at the head if right-aligned)."""
    if display_width(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = width - 1
    chars = reversed(text) if align == "right" else iter(text)
    kept: list[str] = []
    used = 0
    for char in chars:
        w = _char_width(char)
        if used + w > room:
            break
        kept.append(char)
        used += w
    if align == "right":
        return ELLIPSIS + "".join(reversed(kept))
    return "".join(kept) + ELLIPSIS


def _pad(text: str, width: int, align: str) -> str:
    gap = width - display_width(text)
    if gap <= 0:
        return text
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _join_cells(cells: Sequence[tuple[str, int, str]]) -> str:
    """A table line from (text, width, align) cells, one space apart. A left-aligned last cell
    is not padded: the line's trailing space is dropped anyway, and the last column may be as
    wide as the rest of the line (-Width 2147483647 must not build a 2 GiB line)."""
    last = len(cells) - 1
    return " ".join(text if i == last and align == "left" else _pad(text, width, align)
                    for i, (text, width, align) in enumerate(cells))


def _chunks(text: str, width: int) -> list[str]:
    """Split ``text`` into pieces of at most ``width`` cells (for wrapped cells and lists)."""
    if width < 1 or display_width(text) <= width:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        w = _char_width(char)
        if w > width:
            # A double-width character cannot fit a one-cell column: show that it was cut.
            char, w = ELLIPSIS, 1
        if used + w > width and current:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += w
    pieces.append("".join(current))
    return pieces


def _value_lines(value: str) -> list[str]:
    if "\n" not in value and "\r" not in value:
        return [value]
    return [line.rstrip("\r") for line in value.rstrip("\r\n").split("\n")]


def _cell_lines(value: str, wrap: bool) -> list[str]:
    lines = _value_lines(value)
    if wrap or len(lines) == 1:
        return lines
    # A multi-line value in an unwrapped table shows its first line, marked as cut.
    return [lines[0] + ELLIPSIS]


def _plain(text: str) -> StyledLine:
    return ((text, ROLE_TEXT),)


# The fitted columns, widths and header lines of tables whose columns all have fixed widths,
# by the identity of the columns (a view's, see _view_columns; kept alongside) and the display
# width: a streamed table (the job row of every `&`) lays out the same columns once per
# statement.
_FIXED_LAYOUTS: dict[tuple[int, int], tuple[object, tuple[Column, ...], list[int],
                                             list[StyledLine]]] = {}


def _fit(columns: tuple[Column, ...], widths: list[int],
         width: int) -> tuple[tuple[Column, ...], list[int], list[StyledLine]]:
    """Keep the columns that start on the line with room for (part of) their label, the last
    one (left-aligned) as wide as what remains of the line; return them, their widths and the
    header lines."""
    width = max(1, width)
    starts: list[int] = []
    position = 0
    for i, w in enumerate(widths):
        if i and position + min(w, max(1, display_width(columns[i].label))) > width:
            break
        starts.append(position)
        position += w + 1
    columns = columns[: len(starts)]
    widths = widths[: len(starts)]
    if columns[-1].align == "left":
        # The last column takes the rest of the line (a job's Command is not cut at its
        # view's 25 cells on a wide terminal); its cells are not padded, so a short one
        # leaves no trailing space.
        widths[-1] = max(1, width - starts[-1])
    else:
        widths[-1] = max(1, min(widths[-1], width - starts[-1]))
    shown = list(zip(columns, widths))
    labels = [_cut(c.label, w, c.align) for c, w in shown]
    header = _join_cells([(t, w, c.align) for t, (c, w) in zip(labels, shown)])
    rule = _join_cells([("-" * display_width(t), w, c.align)
                        for t, (c, w) in zip(labels, shown)])
    head: list[StyledLine] = [((header.rstrip(), ROLE_HEADER),), ((rule.rstrip(), ROLE_HEADER),)]
    return columns, widths, head


def _table_lines(block: TableBlock, width: int) -> list[StyledLine]:
    columns = block.columns
    if not columns:
        return []
    if not block.rows and block.hide_header and not block.title:
        return []  # a streamed table's closing block: only its framing blank line shows
    lines: list[StyledLine] = []
    if block.title:
        lines += [_plain(block.title), ()]
    if all(column.width is not None for column in columns):
        # Fixed widths: the layout does not depend on the rows, so it is made once.
        layout = _FIXED_LAYOUTS.get((id(columns), width))
        if layout is None or layout[0] is not columns:
            fitted = _fit(columns, [max(1, c.width or 1) for c in columns], width)
            if len(_FIXED_LAYOUTS) >= _MEMO_MAX:
                _FIXED_LAYOUTS.clear()
            layout = _FIXED_LAYOUTS[(id(columns), width)] = (columns, *fitted)
        _, shown, widths, head = layout
        if not block.hide_header:
            lines += head
        if not block.wrap:
            for row in block.rows:
                text = _join_cells([
                    (_cut(_cell_lines(row[i] if i < len(row) else "", False)[0], w, c.align),
                     w, c.align)
                    for i, (c, w) in enumerate(zip(shown, widths))
                ])
                lines.append(_plain(text.rstrip()))
            return lines
        cells = [
            [_cell_lines(row[i] if i < len(row) else "", True) for i in range(len(columns))]
            for row in block.rows
        ]
    else:
        cells = [
            [_cell_lines(row[i] if i < len(row) else "", block.wrap)
             for i in range(len(columns))]
            for row in block.rows
        ]
        content_widths = [
            max(1, column.width) if column.width is not None
            else max([1, display_width(column.label),
                      *(display_width(line) for row in cells for line in row[i])])
            for i, column in enumerate(columns)
        ]
        shown, widths, head = _fit(columns, content_widths, width)
        if not block.hide_header:
            lines += head
    for cell_row in cells:
        if block.wrap:
            parts = [
                [chunk for line in cell_row[i] for chunk in _chunks(line, w)]
                for i, w in enumerate(widths)
            ]
        else:
            parts = [[_cut(cell_row[i][0], w, shown[i].align)] for i, w in enumerate(widths)]
        for k in range(max(len(p) for p in parts)):
            text = _join_cells([(p[k] if k < len(p) else "", w, c.align)
                                for p, c, w in zip(parts, shown, widths)])
            lines.append(_plain(text.rstrip()))
    return lines


def _list_lines(block: ListBlock, width: int) -> list[StyledLine]:
    lines: list[StyledLine] = []
    for index, entry in enumerate(block.entries):
        if index:
            lines.append(())
        if not entry:
            continue
        label_width = max(display_width(label) for label, _ in entry)
        indent = label_width + 3
        room = width - indent
        for label, value in entry:
            chunks: list[str] = []
            for line in _value_lines(value):
                # Too narrow a display would make one character per line: do not wrap then.
                chunks.extend(_chunks(line, room) if room >= 10 else [line])
            first = chunks[0].rstrip()
            gap = " " * (label_width - display_width(label))
            lines.append(((label, ROLE_LABEL), (gap + " :" + (" " + first if first else ""), "")))
            for chunk in chunks[1:]:
                rest = chunk.rstrip()
                lines.append(_plain(" " * indent + rest) if rest else ())
    return lines


def layout_lines(blocks: Sequence[Block], width: int = 120) -> list[StyledLine]:
    """Lay blocks out as styled lines for a display ``width`` cells wide.

    Tables and lists are framed by blank lines (one blank line between adjacent ones);
    text lines are kept as they are; no table or list line ends with a space.
    """
    lines: list[StyledLine] = []
    after_blank = False
    for block in blocks:
        leading, after = _frame(block, after_blank)
        after_blank = after
        if isinstance(block, TextBlock):
            lines.extend(_plain(line) for line in block.lines)
            continue
        if leading:
            lines.append(())
        if isinstance(block, TableBlock):
            lines.extend(_table_lines(block, width))
        else:
            lines.extend(_list_lines(block, width))
        if block.trailing_blank:
            lines.append(())
    return lines


def line_text(line: StyledLine) -> str:
    """Return a laid-out line as plain text."""
    return "".join(text for text, _ in line)


def render_text(blocks: Sequence[Block], width: int = 120) -> str:
    """Render blocks as plain text (pipes, files, Out-String, NO_COLOR), one "\\n" per line."""
    return "".join(line_text(line) + "\n" for line in layout_lines(blocks, width))


__all__ = [
    "ELLIPSIS",
    "ENUMERATION_LIMIT",
    "ROLE_HEADER",
    "ROLE_LABEL",
    "ROLE_TEXT",
    "Block",
    "Column",
    "FormatError",
    "ListBlock",
    "ListView",
    "OutDefault",
    "StyledLine",
    "TableBlock",
    "TableView",
    "TextBlock",
    "ViewTable",
    "build_blocks",
    "builtin_views",
    "default_views",
    "display_width",
    "format_value",
    "layout_lines",
    "line_text",
    "render_text",
]
