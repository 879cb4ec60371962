"""JSON: ConvertTo-Json and ConvertFrom-Json, shaped like PowerShell 7's (Newtonsoft) output.

The standard library's ``json`` module is imported only when a conversion runs.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import (
    INT,
    OBJECT,
    STRING,
    SWITCH,
    enum_type,
    format_double,
    to_int,
    to_string,
)
from pjsh.runtime.values import Hashtable, PSObject, ps_properties

if TYPE_CHECKING:
    from json import JSONDecodeError

    _PairListBase = list[tuple[str, object]]
else:
    _PairListBase = list  # Python 3.8 cannot subscript list at run time (the engine runs there)

_TO_JSON = "Microsoft.PowerShell.Commands.ConvertToJsonCommand"
_FROM_JSON = "Microsoft.PowerShell.Commands.ConvertFromJsonCommand"


# ---------------------------------------------------------------------------------------------
# Objects → JSON
# ---------------------------------------------------------------------------------------------


def json_datetime(value: _dt.datetime) -> str:
    """Format a date as Newtonsoft does: ISO 8601, up to 7 fraction digits with trailing zeros
    dropped, and the UTC offset (a date without a time zone is taken as local time)."""
    aware = value if value.tzinfo is not None else value.astimezone()
    text = aware.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{aware.microsecond:06d}0".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = aware.utcoffset() or _dt.timedelta(0)
    if value.tzinfo is not None and offset == _dt.timedelta(0) and value.tzname() == "UTC":
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _json_number(value: float) -> str:
    # Newtonsoft writes doubles with .NET's round-trip format and always keeps a '.0'.
    text = format_double(value)
    if text in ("NaN", "Infinity", "-Infinity"):
        return '"' + text + '"'
    if "." not in text and "E" not in text:
        text += ".0"
    return text


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f", "\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML = {"<": "\\u003c", ">": "\\u003e", "'": "\\u0027", "&": "\\u0026"}
_NEEDS_ESCAPE = re.compile("[\"\\\\\x00-\x1f\u0085\u2028\u2029]")


def json_string(text: str, escape: str = "Default") -> str:
    """Quote a string the way Newtonsoft does under the given EscapeHandling."""
    def one(ch: str) -> str:
        if ch in _ESCAPES:
            return _ESCAPES[ch]
        if escape == "EscapeHtml" and ch in _HTML:
            return _HTML[ch]
        code = ord(ch)
        if code < 0x20 or (escape == "EscapeNonAscii" and code > 0x7E):
            if code > 0xFFFF:
                high, low = divmod(code - 0x10000, 0x400)
                return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
            return f"\\u{code:04x}"
        return ch

    if escape == "Default" and not _NEEDS_ESCAPE.search(text):
        return '"' + text + '"'
    return '"' + "".join(one(ch) for ch in text) + '"'


class _Null:
    """Marker for JSON null inside the intermediate tree."""


# Intermediate tree: str, bool, int, float, _NULL, lists, and _JsonObject for objects.
_NULL = _Null()


class _JsonObject(_PairListBase):
    """An ordered JSON object in the intermediate tree."""


class JsonWriter:
    """Turn PowerShell values into JSON text under a depth limit, as ConvertTo-Json does."""

    def __init__(self, depth: int = 2, compress: bool = False, enums_as_strings: bool = False,
                 escape: str = "Default") -> None:
        self.depth = depth
        self.compress = compress
        self.enums_as_strings = enums_as_strings
        self.escape = escape
        self.truncated = False

    def dumps(self, value: object) -> str:
        """Serialize one value."""
        return "".join(self._write(self._node(value, 0), 0))

    def _node(self, value: object, depth: int) -> object:
        if value is None:
            return _NULL
        if isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, enum.Enum):
            if self.enums_as_strings or not isinstance(value.value, int):
                return value.name
            return value.value
        if isinstance(value, _dt.datetime):
            return json_datetime(value)
        if isinstance(value, (bytes, bytearray)):
            value = list(value)
        if depth > self.depth:
            # Past -Depth an object becomes its string form, as in pwsh.
            self.truncated = True
            return "System.Collections.Hashtable" if isinstance(value, dict) else to_string(value)
        if isinstance(value, (list, tuple)):
            return [self._node(v, depth + 1) for v in value]
        if isinstance(value, (Hashtable, dict)):
            return _JsonObject((to_string(k), self._node(v, depth + 1)) for k, v in value.items())
        if isinstance(value, _dt.timedelta):
            return self._node(_timespan(value), depth)
        props = ps_properties(value)
        if props or isinstance(value, PSObject) or hasattr(value, "ps_property_names"):
            return _JsonObject((name, self._node(v, depth + 1)) for name, v in props)
        return to_string(value)

    def _write(self, node: object, level: int) -> Iterator[str]:
        if node is _NULL:
            yield "null"
        elif node is True:
            yield "true"
        elif node is False:
            yield "false"
        elif isinstance(node, int):
            yield str(node)
        elif isinstance(node, float):
            yield _json_number(node)
        elif isinstance(node, str):
            yield json_string(node, self.escape)
        elif isinstance(node, _JsonObject):
            yield from self._container(
                "{", "}", [(json_string(k, self.escape), v) for k, v in node], level)
        elif isinstance(node, list):
            yield from self._container("[", "]", [(None, v) for v in node], level)
        else:  # pragma: no cover - every node kind is handled above
            yield json_string(to_string(node), self.escape)

    def _container(self, open_: str, close: str, items: list[tuple[str | None, object]],
                   level: int) -> Iterator[str]:
        if not items:
            yield open_ + close
            return
        colon = ":" if self.compress else ": "
        inner = "" if self.compress else "\n" + "  " * (level + 1)
        yield open_
        for i, (key, value) in enumerate(items):
            if i:
                yield ","
            yield inner
            if key is not None:
                yield key + colon
            yield from self._write(value, level + 1)
        if not self.compress:
            yield "\n" + "  " * level
        yield close


def _timespan(value: _dt.timedelta) -> PSObject:
    total = value.total_seconds()
    ticks = (value.days * 86400 + value.seconds) * 10_000_000 + value.microseconds * 10
    sign = -1 if total < 0 else 1
    a = abs(value)
    return PSObject({
        "Ticks": ticks, "Days": sign * a.days,
        "Hours": sign * (a.seconds // 3600), "Milliseconds": sign * (a.microseconds // 1000),
        "Minutes": sign * (a.seconds // 60 % 60), "Seconds": sign * (a.seconds % 60),
        "TotalDays": total / 86400, "TotalHours": total / 3600,
        "TotalMilliseconds": total * 1000, "TotalMinutes": total / 60, "TotalSeconds": total,
    })


def _depth_range(value: object) -> str | None:
    n = to_int(value)
    if n < 0 or n > 100:
        bound = ("less than the minimum allowed range of 0. Supply an argument that is greater "
                 "than or equal to 0") if n < 0 else (
                 "greater than the maximum allowed range of 100. Supply an argument that is "
                 "less than or equal to 100")
        return f"The {n} argument is {bound} and then try the command again."
    return None


class ConvertToJsonArgs(Bound):
    """ConvertTo-Json's parameters."""

    InputObject: object
    Depth: int
    Compress: bool
    EnumsAsStrings: bool
    AsArray: bool
    EscapeHandling: str


@command
class ConvertToJson(Cmdlet):
    """ConvertTo-Json: serialize objects as JSON text."""

    spec = CommandSpec(
        name="ConvertTo-Json",
        summary="Converts an object to a JSON-formatted string.",
        description=(
            "Serializes its input as JSON: one input object becomes a JSON value, several "
            "become an array. Objects nested deeper than -Depth (default 2) are written as "
            "their string form, with a warning. Dates become ISO 8601 strings."
        ),
        examples=(
            ("@{name='x'; size=3} | ConvertTo-Json", "A hashtable as a JSON object."),
            ("Get-Process -Id $PID | ConvertTo-Json -Depth 1", "A process object."),
            ("1,2,3 | ConvertTo-Json -Compress", "[1,2,3] on one line."),
        ),
        output_type="System.String",
        params=(
            Param("InputObject", OBJECT, position=0, pipeline=True,
                  help="The objects to convert."),
            Param("Depth", INT, default=2, validate=_depth_range,
                  help="How many levels of nested objects to include (0-100, default 2)."),
            Param("Compress", SWITCH, help="Omit whitespace and indentation."),
            Param("EnumsAsStrings", SWITCH, help="Write enumeration values by name."),
            Param("AsArray", SWITCH, help="Always output a JSON array."),
            Param("EscapeHandling",
                  enum_type("Newtonsoft.Json.StringEscapeHandling",
                            ("Default", "EscapeNonAscii", "EscapeHtml")),
                  default="Default",
                  help="Which characters to escape: Default, EscapeNonAscii or EscapeHtml."),
        ),
    )
    args_type = ConvertToJsonArgs

    def begin(self, args: ConvertToJsonArgs) -> None:
        """Start collecting."""
        self._items: list[object] = []

    def process(self, args: ConvertToJsonArgs) -> None:
        """Collect one input."""
        if "InputObject" in args:
            self._items.append(args.InputObject)

    def end(self, args: ConvertToJsonArgs) -> None:
        """Serialize everything collected."""
        if not self._items and not args.AsArray:
            return
        writer = JsonWriter(to_int(args.Depth), bool(args.Compress),
                            bool(args.EnumsAsStrings), to_string(args.EscapeHandling or "Default"))
        value: object = self._items
        if len(self._items) == 1 and not args.AsArray:
            value = self._items[0]
        text = writer.dumps(value)
        if writer.truncated:
            self.ctx.write_warning("Resulting JSON is truncated as serialization has exceeded "
                                   f"the set depth of {to_int(args.Depth)}.")
        self.ctx.write_output(text)


# ---------------------------------------------------------------------------------------------
# JSON → objects
# ---------------------------------------------------------------------------------------------

_ISO_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$")


def _parse_date(text: str) -> _dt.datetime | None:
    """Newtonsoft turns ISO 8601 date-time strings into dates; so does ConvertFrom-Json."""
    m = _ISO_DATE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0").ljust(7, "0")[:6])
    try:
        value = _dt.datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None
    zone = m.group(8)
    if zone is None or zone == "Z":
        return value  # unspecified kind, or UTC kept as the UTC wall time
    sign = 1 if zone[0] == "+" else -1
    offset = _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
    # A date with an offset comes back as local time (RoundtripKind → Local).
    return value.replace(tzinfo=_dt.timezone(offset)).astimezone().replace(tzinfo=None)


class JsonConversionError(Exception):
    """The JSON text could not be converted; the message is the reason."""


def _strip_lenient(text: str) -> str:
    """Drop // and /* */ comments and trailing commas, which Newtonsoft (and so pwsh) accept."""
    if "/" not in text and "," not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
            continue
        if ch == "/" and i + 1 < n and text[i + 1] == "/":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if ch == "/" and i + 1 < n and text[i + 1] == "*":
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
            continue
        if ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                i += 1
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _nesting(value: object) -> int:
    """Container nesting depth: ``1`` for ``[1]``, ``2`` for ``[[1]]``, 0 for scalars."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list):
            children: list[object] = item
        elif isinstance(item, Hashtable):
            children = list(item.values())
        elif isinstance(item, PSObject):
            children = [v for _, v in item.property_items()]
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((c, level + 1) for c in children)
    return deepest


def parse_json(text: str, as_hashtable: bool = False, max_depth: int = 1024) -> object:
    """Parse JSON text into PowerShell values: objects become PSCustomObjects (or Hashtables),
    arrays lists, ISO date strings dates. Raise JsonConversionError when it is not valid."""
    import json

    def pairs(items: list[tuple[str, object]]) -> object:
        exact: set[str] = set()
        folded: dict[str, str] = {}
        for key, _ in items:
            if key in exact:
                raise JsonConversionError(
                    "Cannot convert the JSON string because a dictionary that was converted "
                    f"from the string contains the duplicated key '{key}'.")
            if not as_hashtable:
                if key == "":
                    raise JsonConversionError(
                        "The provided JSON includes a property whose name is an empty string, "
                        "this is only supported using the -AsHashTable switch.")
                other = folded.get(key.lower())
                if other is not None:
                    raise JsonConversionError(
                        "Cannot convert the JSON string because it contains keys with "
                        "different casing. Please use the -AsHashTable switch instead. The key "
                        f"that was attempted to be added to the existing key '{other}' was "
                        f"'{key}'.")
            exact.add(key)
            folded[key.lower()] = key
        converted = [(k, _date_or_value(v)) for k, v in items]
        if as_hashtable:
            return Hashtable(converted)
        return PSObject(converted)

    if not text.strip():
        return None
    try:
        value = json.loads(_strip_lenient(text), object_pairs_hook=pairs)
    except JsonConversionError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonConversionError(_decode_message(exc)) from None
    except RecursionError:
        raise JsonConversionError(
            f"The reader's MaxDepth of {max_depth} has been exceeded.") from None
    value = _date_or_value(value)
    if _nesting(value) > max_depth:
        raise JsonConversionError(f"The reader's MaxDepth of {max_depth} has been exceeded.")
    return value


def _date_or_value(value: object) -> object:
    if isinstance(value, str):
        date = _parse_date(value)
        return date if date is not None else value
    if isinstance(value, list):
        return [_date_or_value(v) for v in value]
    return value


def _decode_message(exc: JSONDecodeError) -> str:
    return f"{exc.msg}. Path '', line {exc.lineno}, position {exc.colno}."


class ConvertFromJsonArgs(Bound):
    """ConvertFrom-Json's parameters."""

    InputObject: str | None
    AsHashtable: bool
    Depth: int
    NoEnumerate: bool


@command
class ConvertFromJson(Cmdlet):
    """ConvertFrom-Json: parse JSON text into objects."""

    spec = CommandSpec(
        name="ConvertFrom-Json",
        summary="Converts a JSON-formatted string to a custom object or a hash table.",
        description=(
            "Parses JSON: objects become PSCustomObjects (or ordered hashtables with "
            "-AsHashtable), arrays are output element by element (unless -NoEnumerate), and "
            "ISO 8601 date strings become dates. Piped lines are parsed one by one when the "
            "first is complete JSON, otherwise joined and parsed as one document."
        ),
        examples=(
            ("Get-Content config.json -Raw | ConvertFrom-Json", "Read a JSON file."),
            ("'{\"a\": 1}' | ConvertFrom-Json -AsHashtable", "Parse into a hashtable."),
        ),
        output_type="System.Management.Automation.PSCustomObject",
        params=(
            Param("InputObject", STRING, position=0, pipeline=True,
                  help="The JSON text to convert."),
            Param("AsHashtable", SWITCH, help="Make hashtables instead of PSCustomObjects."),
            Param("Depth", INT, default=1024,
                  help="Maximum nesting depth allowed in the JSON (default 1024)."),
            Param("NoEnumerate", SWITCH, help="Output a top-level array as one object."),
        ),
    )
    args_type = ConvertFromJsonArgs

    def begin(self, args: ConvertFromJsonArgs) -> None:
        """Start collecting."""
        self._texts: list[str] = []

    def process(self, args: ConvertFromJsonArgs) -> None:
        """Collect one input string."""
        if "InputObject" in args and args.InputObject is not None:
            self._texts.append(to_string(args.InputObject))

    def end(self, args: ConvertFromJsonArgs) -> None:
        """Parse what was collected, as pwsh does: a lone string as one document; several as
        separate documents if the first parses, else all joined by newlines."""
        texts = self._texts
        if not texts:
            return
        if len(texts) == 1:
            self._emit(self._convert(texts[0], args), args)
            return
        try:
            first = self._parse(texts[0], args)
        except JsonConversionError:
            self._emit(self._convert("\n".join(texts), args), args)
            return
        self._emit(first, args)
        for text in texts[1:]:
            self._emit(self._convert(text, args), args)

    @staticmethod
    def _parse(text: str, args: ConvertFromJsonArgs) -> object:
        return parse_json(text, bool(args.AsHashtable), to_int(args.Depth))

    def _convert(self, text: str, args: ConvertFromJsonArgs) -> object:
        try:
            return self._parse(text, args)
        except JsonConversionError as exc:
            self.ctx.throw(f"Conversion from JSON failed with error: {exc}",
                           f"System.ArgumentException,{_FROM_JSON}", "NotSpecified", text,
                           "System.ArgumentException")
            raise  # pragma: no cover - throw() raises

    def _emit(self, value: object, args: ConvertFromJsonArgs) -> None:
        if isinstance(value, list) and not args.NoEnumerate:
            for item in value:
                self.ctx.write_output(item)
        else:
            self.ctx.write_output(value)


__all__ = ["ConvertFromJson", "ConvertToJson", "JsonConversionError", "JsonWriter",
           "json_datetime", "json_string", "parse_json"]
