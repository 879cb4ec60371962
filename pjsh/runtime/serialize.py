"""A small, versioned JSON encoding of objects for worker processes and remote runspaces.

Every encoded value travels in an envelope ``{"v": FORMAT_VERSION, "d": <data>}``. Inside,
JSON's own types carry what they can carry exactly (null, booleans, integers up to 64 bits,
finite floats, strings without surrogates, arrays); everything else is a tagged object
``{"t": <tag>, ...}``:

======  ======================================================================================
tag     value
======  ======================================================================================
int     an integer beyond 64 bits, as hex (``"x"``): safe for any JSON reader, no digit limit
float   NaN or ±Infinity (``"v"``: "nan", "inf", "-inf"), which JSON cannot spell
str     a string holding lone surrogates (undecodable bytes kept by ``surrogateescape``), as
        base64 of its UTF-8 with ``surrogatepass``: survives any JSON writer and reader
bytes   base64 (``"v"``)
ht      a Hashtable (or dict) as ordered ``[key, value]`` pairs (``"v"``)
obj     a property bag: type names (``"n"``) and ordered ``[name, value]`` pairs (``"p"``),
        and the original's string form (``"s"``) unless it was a plain property bag
err     an ErrorRecord: message, error id, category, target (as text), command, position
dt      a datetime in ISO 8601 (``"v"``), with its UTC offset when it has one
span    a timedelta as ``[days, seconds, microseconds]``
sb      a script block as its text (``"v"``)
======  ======================================================================================

Objects exposing ``ps_type_names``/``ps_property_names`` (jobs, file entries, ...) are encoded
as property bags, so the receiver gets a :class:`PSObject` with the same type names that
formats the same way. With ``deserialized=True`` the receiver prefixes type names with
``Deserialized.`` as PowerShell does for objects that crossed a process boundary.

Script blocks decode to their text (a ``str``), which is what PowerShell's deserializer does
too: a script block does not survive a process boundary as code. A receiver that can parse
passes ``make_scriptblock`` to rebuild one from the text.

Containers deeper than ``depth`` (default 20), and a container met again inside itself (a
cycle), are replaced by their string form, as PowerShell does past its depth. Enum members
travel as their names; any other value travels as its string conversion.
"""

from __future__ import annotations

import base64
import datetime as _dt
import enum
import json
import math
import re
from collections.abc import Callable
from typing import Any

from pjsh.runtime.convert import to_string
from pjsh.runtime.errors import (
    CategoryInfo,
    ErrorDetails,
    ErrorRecord,
    ExceptionInfo,
    InvocationInfo,
)
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.values import (
    DeserializedObject,
    Hashtable,
    PSObject,
    ps_properties,
    type_names,
)

FORMAT_VERSION = 1
DEFAULT_DEPTH = 20
DESERIALIZED_PREFIX = "Deserialized."

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")

JSONValue = Any  # what json.dumps accepts: dict / list / str / int / float / bool / None


class SerializationError(ValueError):
    """Encoded data is malformed or of an unsupported format version."""


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def encode(value: object, *, depth: int = DEFAULT_DEPTH) -> dict[str, JSONValue]:
    """Encode a value as a JSON-able envelope ``{"v": FORMAT_VERSION, "d": ...}``."""
    return {"v": FORMAT_VERSION, "d": _encode(value, depth)}


def dumps(value: object, *, depth: int = DEFAULT_DEPTH) -> str:
    """Encode a value as JSON text (ASCII only, so it is safe on any byte channel)."""
    return json.dumps(encode(value, depth=depth), separators=(",", ":"), allow_nan=False)


def _encode_str(text: str) -> JSONValue:
    if _SURROGATE.search(text) is None:
        return text
    raw = text.encode("utf-8", "surrogatepass")
    return {"t": "str", "v": base64.b64encode(raw).decode("ascii")}


def _shallow_text(value: object) -> str:
    """The string form of a container that is not descended into (depth limit or cycle)."""
    if isinstance(value, (list, tuple)):
        return "System.Object[]"
    if isinstance(value, (Hashtable, dict)):
        return "System.Collections.Hashtable"
    return _safe_text(value)


def _encode(value: object, depth: int, path: set[int] | None = None) -> JSONValue:
    # Leaves first: they never count against the depth limit.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        return {"t": "int", "x": format(value, "x")}
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"t": "float", "v": "nan" if value != value else ("inf" if value > 0 else "-inf")}
    if isinstance(value, str):
        return _encode_str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, _dt.datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {"t": "span", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, enum.Enum):
        return _encode_str(value.name)
    if isinstance(value, ScriptBlock):
        return {"t": "sb", "v": _encode_str(value.text)}
    if isinstance(value, ErrorRecord):
        return _encode_error(value)

    is_bag = isinstance(value, PSObject) or getattr(value, "ps_property_names", None) is not None
    if not (is_bag or isinstance(value, (list, tuple, Hashtable, dict))):
        return _encode_str(_safe_text(value))
    # A container that contains itself is cut where it repeats, like one past the depth limit.
    path = path if path is not None else set()
    if depth <= 0 or id(value) in path:
        return _encode_str(_shallow_text(value))
    path.add(id(value))
    try:
        inner = depth - 1
        if isinstance(value, (list, tuple)):
            return [_encode(v, inner, path) for v in value]
        if isinstance(value, (Hashtable, dict)):
            pairs = [[_encode(k, inner, path), _encode(v, inner, path)] for k, v in value.items()]
            return {"t": "ht", "v": pairs}
        encoded = {
            "t": "obj",
            "n": [_encode_str(n) for n in type_names(value)],
            "p": [[_encode_str(n), _encode(v, inner, path)] for n, v in ps_properties(value)],
        }
        # pwsh's deserialized objects keep the original's ToString (a PathInfo prints as its
        # path); a plain property bag's string form is its properties, rebuilt on arrival.
        if not isinstance(value, PSObject) or isinstance(value, DeserializedObject):
            encoded["s"] = _encode_str(_safe_text(value))
        return encoded
    finally:
        path.discard(id(value))


def _encode_error(record: ErrorRecord) -> JSONValue:
    info = record.InvocationInfo
    category = record.CategoryInfo
    target = record.TargetObject
    details = record.ErrorDetails
    return {
        "t": "err",
        "m": _encode_str(record.Exception.Message),
        "et": _encode_str(record.Exception.TypeName),
        "id": _encode_str(record.FullyQualifiedErrorId),
        "c": _encode_str(category.Category),
        "ca": _encode_str(category.Activity),
        "cr": _encode_str(category.Reason),
        "tn": _encode_str(category.TargetName),
        "tt": _encode_str(category.TargetType),
        "ed": None if details is None else [_encode_str(details.Message),
                                            _encode_str(details.RecommendedAction)],
        "tg": None if target is None else _encode_str(_safe_text(target)),
        "cmd": _encode_str(info.MyCommand),
        "pos": _encode_str(info.PositionMessage),
        "ln": info.ScriptLineNumber,
        "col": info.OffsetInLine,
        "line": _encode_str(info.Line),
        "pc": None if record.PSComputerName is None else _encode_str(record.PSComputerName),
    }


def _safe_text(value: object) -> str:
    try:
        return to_string(value)
    except RecursionError:
        names = type_names(value)
        return names[0] if names else ""


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


def decode(
    data: JSONValue,
    *,
    deserialized: bool = False,
    make_scriptblock: Callable[[str], object] | None = None,
) -> object:
    """Decode an envelope made by :func:`encode`.

    ``deserialized`` prefixes property bags' type names with ``Deserialized.``;
    ``make_scriptblock`` rebuilds script blocks from their text (default: keep the text).
    """
    if not isinstance(data, dict) or "v" not in data or "d" not in data:
        raise SerializationError("not a pjsh object envelope")
    version = data["v"]
    if version != FORMAT_VERSION:
        raise SerializationError(
            f"unsupported object format version {version!r} (this pjsh reads {FORMAT_VERSION})"
        )
    try:
        return _Decoder(deserialized, make_scriptblock).decode(data["d"])
    except RecursionError:
        # Only hostile input nests this deep: encode() never goes past its depth limit.
        raise SerializationError("object data is nested too deeply") from None


def loads(
    text: str | bytes,
    *,
    deserialized: bool = False,
    make_scriptblock: Callable[[str], object] | None = None,
) -> object:
    """Decode JSON text made by :func:`dumps`."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise SerializationError("object data is nested too deeply") from None
    except ValueError as exc:
        raise SerializationError(f"malformed object data: {exc}") from None
    return decode(data, deserialized=deserialized, make_scriptblock=make_scriptblock)


class _Decoder:
    """Turns the JSON form back into values."""

    def __init__(
        self, deserialized: bool, make_scriptblock: Callable[[str], object] | None
    ) -> None:
        self.deserialized = deserialized
        self.make_scriptblock = make_scriptblock

    def decode(self, data: JSONValue) -> object:
        """Decode one value of the JSON form."""
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.decode(item) for item in data]
        if not isinstance(data, dict):
            raise SerializationError(f"unexpected JSON value of type {type(data).__name__}")
        tag = data.get("t")
        handler = _HANDLERS.get(tag) if isinstance(tag, str) else None
        if handler is None:
            raise SerializationError(f"unknown object tag {tag!r}")
        try:
            return handler(self, data)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SerializationError):
                raise
            raise SerializationError(f"malformed {tag!r} value: {exc}") from None

    def text(self, data: JSONValue) -> str:
        """Decode a value that must be a string."""
        value = self.decode(data)
        if not isinstance(value, str):
            raise SerializationError(f"expected a string, got {type(value).__name__}")
        return value

    def opt_text(self, data: JSONValue) -> str | None:
        """Decode a string that may be absent (null)."""
        return None if data is None else self.text(data)

    def _int(self, data: dict[str, JSONValue]) -> object:
        return int(data["x"], 16)

    def _float(self, data: dict[str, JSONValue]) -> object:
        return float(data["v"])

    def _str(self, data: dict[str, JSONValue]) -> object:
        return base64.b64decode(data["v"], validate=True).decode("utf-8", "surrogatepass")

    def _bytes(self, data: dict[str, JSONValue]) -> object:
        return base64.b64decode(data["v"], validate=True)

    def _hashtable(self, data: dict[str, JSONValue]) -> object:
        return Hashtable((self.decode(k), self.decode(v)) for k, v in data["v"])

    def _object(self, data: dict[str, JSONValue]) -> object:
        names = [self.text(n) for n in data["n"]]
        if self.deserialized:
            names = [n if n.startswith(DESERIALIZED_PREFIX) else DESERIALIZED_PREFIX + n
                     for n in names]
        props = [(self.text(n), self.decode(v)) for n, v in data["p"]]
        if "s" in data:
            return DeserializedObject(props, names, self.text(data["s"]))
        return PSObject(props, names)

    def _error(self, data: dict[str, JSONValue]) -> object:
        target = self.opt_text(data.get("tg"))
        return ErrorRecord(
            Exception=ExceptionInfo(self.text(data["m"]), self.text(data["et"])),
            FullyQualifiedErrorId=self.text(data["id"]),
            CategoryInfo=CategoryInfo(
                Category=self.text(data["c"]),
                Activity=self.text(data.get("ca", "")),
                Reason=self.text(data.get("cr", "")),
                TargetName=self.text(data.get("tn", "")),
                TargetType=self.text(data.get("tt", "")),
            ),
            TargetObject=target,
            InvocationInfo=InvocationInfo(
                MyCommand=self.text(data.get("cmd", "")),
                ScriptLineNumber=int(data.get("ln", 0)),
                OffsetInLine=int(data.get("col", 0)),
                Line=self.text(data.get("line", "")),
                PositionMessage=self.text(data.get("pos", "")),
            ),
            PSComputerName=self.opt_text(data.get("pc")),
            ErrorDetails=self._details(data.get("ed")),
        )

    def _details(self, data: JSONValue) -> ErrorDetails | None:
        if not isinstance(data, list) or len(data) != 2:
            return None
        return ErrorDetails(self.text(data[0]), self.text(data[1]))

    def _datetime(self, data: dict[str, JSONValue]) -> object:
        return _dt.datetime.fromisoformat(data["v"])

    def _span(self, data: dict[str, JSONValue]) -> object:
        days, seconds, micros = data["v"]
        return _dt.timedelta(days=days, seconds=seconds, microseconds=micros)

    def _scriptblock(self, data: dict[str, JSONValue]) -> object:
        text = self.text(data["v"])
        return self.make_scriptblock(text) if self.make_scriptblock else text


_HANDLERS: dict[str, Callable[[_Decoder, dict[str, JSONValue]], object]] = {
    "int": _Decoder._int,
    "float": _Decoder._float,
    "str": _Decoder._str,
    "bytes": _Decoder._bytes,
    "ht": _Decoder._hashtable,
    "obj": _Decoder._object,
    "err": _Decoder._error,
    "dt": _Decoder._datetime,
    "span": _Decoder._span,
    "sb": _Decoder._scriptblock,
}

__all__ = [
    "DEFAULT_DEPTH",
    "DESERIALIZED_PREFIX",
    "FORMAT_VERSION",
    "SerializationError",
    "decode",
    "dumps",
    "encode",
    "loads",
]
