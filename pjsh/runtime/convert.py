"""Type conversion as PowerShell does it, and the parameter type table the binder reads."""

from __future__ import annotations

import datetime as _dt
import re
import sys
from collections.abc import Callable, Sequence

from pjsh.lang.record import dataclass
from pjsh.runtime.values import DeserializedObject, Hashtable, PSObject


class ConversionError(Exception):
    """A value could not be converted to the wanted type; the message says why."""


def to_string(value: object) -> str:
    """Convert a value to text the way PowerShell's string conversion does."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, (list, tuple)):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if isinstance(value, DeserializedObject):
        return value.text
    if isinstance(value, PSObject):
        if value.has("ToString"):
            return to_string(value.get("ToString"))
        # A property holding an array shows as .NET's ToString of the array, as in pwsh
        # (`"$([pscustomobject]@{x = 1, 2})"` is `@{x=System.Object[]}`), not expanded.
        inner = "; ".join(f"{k}={'System.Object[]' if isinstance(v, (list, tuple)) else to_string(v)}"
                          for k, v in value.property_items())
        return "@{" + inner + "}"
    if isinstance(value, _dt.datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if type(value).__str__ is object.__str__:
        # No string form of its own (str() would be the Python repr): .NET's Object.ToString
        # gives the type's full name, as pwsh prints "$job" as
        # System.Management.Automation.PSRemotingJob.
        names = getattr(value, "ps_type_names", None)
        if names:
            return str(names[0])
    return str(value)


def format_double(value: float) -> str:
    """Format a double like .NET's default (R) formatting: 3 not 3.0, 0.1 not 0.1000..."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}E{sign}{exp.lstrip('+-').zfill(2)}"
    return text


_INT_RE = re.compile(r"^\s*[+-]?(0x[0-9a-f]+|\d+)\s*$", re.IGNORECASE)
_NUM_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$", re.IGNORECASE)


def parse_number(text: str) -> int | float | None:
    """Parse numeric text (decimal, hex, float, kb/mb/gb suffixes); None if it is not one."""
    t = text.strip().lower()
    mult = 1
    for suffix, m in (("kb", 1024), ("mb", 1024**2), ("gb", 1024**3), ("tb", 1024**4)):
        if t.endswith(suffix):
            t, mult = t[:-2], m
            break
    if not t:
        return None
    if _INT_RE.match(t):
        neg = t.startswith("-")
        body = t.lstrip("+-")
        n = int(body, 16) if body.startswith("0x") else int(body)
        return (-n if neg else n) * mult
    if _NUM_RE.match(t):
        f = float(t) * mult
        return f
    return None


def to_number(value: object) -> int | float:
    """Convert to a number for arithmetic; raise ConversionError when it is not numeric."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        if value.strip() == "":
            return 0
        n = parse_number(value)
        if n is None:
            raise ConversionError(
                f'Cannot convert value "{value}" to type "System.Int32". '
                "Error: \"The input string '" + value + "' was not in a correct format.\""
            )
        return n
    raise ConversionError(
        f'Cannot convert the "{to_string(value)}" value of type "{type_name_of(value)}" '
        'to type "System.Int32".'
    )


def type_name_of(value: object) -> str:
    """Return the .NET-style type name used in conversion messages."""
    from pjsh.runtime.values import type_names

    names = type_names(value)
    return names[0] if names else "null"


def to_int(value: object) -> int:
    """Convert to an integer, rounding half to even like .NET."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    n = to_number(value)
    if isinstance(n, float):
        if n != n or n in (float("inf"), float("-inf")):
            raise ConversionError(f'Cannot convert value "{to_string(n)}" to type "System.Int32".')
        return round(n)
    return n


def to_double(value: object) -> float:
    """Convert to a floating-point number."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return float(to_number(value))


def to_bool(value: object) -> bool:
    """PowerShell truthiness: $null, 0, '', empty arrays are false; one-element arrays unwrap."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return False
        if len(value) == 1:
            return to_bool(value[0])
        return True
    return True


if sys.version_info >= (3, 11):
    _fromisoformat = _dt.datetime.fromisoformat
else:
    _ISO_FRACTION = re.compile(r"(T?\d\d:\d\d:\d\d)[.,](\d+)")

    def _fromisoformat(text: str) -> _dt.datetime:
        """datetime.fromisoformat before 3.11 (the engine runs on 3.8) takes only what
        isoformat() writes: accept 3.11's common extras too, a ``Z`` offset and any number of
        fraction digits."""
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        text = _ISO_FRACTION.sub(lambda m: f"{m[1]}.{m[2][:6].ljust(6, '0')}", text, count=1)
        return _dt.datetime.fromisoformat(text)


def to_datetime(value: object) -> _dt.datetime:
    """Convert text or a timestamp to a datetime."""
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value)
    text = to_string(value).strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            return _dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return _fromisoformat(text)
    except ValueError:
        raise ConversionError(
            f'Cannot convert value "{text}" to type "System.DateTime". '
            "Error: \"String '" + text + "' was not recognized as a valid DateTime.\""
        ) from None


def as_list(value: object) -> list[object]:
    """Treat a value as a collection: arrays as they are, $null as empty, others as one item."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


@dataclass(frozen=True)
class TypeSpec:
    """A parameter type: its .NET-style name (for messages) and the converter the binder uses."""

    name: str
    convert: Callable[[object], object]
    is_switch: bool = False
    is_array: bool = False
    choices: tuple[str, ...] = ()
    # The Python type of a converted value, as written in a cmdlet's typed arguments record
    # (tests/test_cmdlet_args.py checks every record against its parameter table).
    python: str = "object"


def _identity(value: object) -> object:
    return value


def _string(value: object) -> object:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return to_string(value[0])
        raise ConversionError(
            f'Cannot convert "{to_string(value)}" to "System.String" because it is an array.'
        )
    return to_string(value)


def _array(inner: Callable[[object], object]) -> Callable[[object], object]:
    def convert(value: object) -> object:
        return [inner(v) for v in as_list(value)]

    return convert


def _scriptblock(value: object) -> object:
    from pjsh.runtime.scriptblock import ScriptBlock

    if isinstance(value, ScriptBlock):
        return value
    raise ConversionError(
        f'Cannot convert the "{to_string(value)}" value of type "{type_name_of(value)}" '
        'to type "System.Management.Automation.ScriptBlock".'
    )


def _hashtable(value: object) -> object:
    if isinstance(value, Hashtable):
        return value
    raise ConversionError(
        f'Cannot convert the "{to_string(value)}" value of type "{type_name_of(value)}" '
        'to type "System.Collections.Hashtable".'
    )


def _bool_param(value: object) -> object:
    if isinstance(value, (bool, int, float)) or value is None:
        return to_bool(value)
    raise ConversionError(
        f'Cannot convert value "{to_string(value)}" to type "System.Boolean". Boolean parameters '
        "accept only Boolean values and numbers, such as $True, $False, 1 or 0."
    )


def _int_conv(value: object) -> object:
    try:
        result = to_int(value)
    except ConversionError:
        raise ConversionError(
            f'Cannot convert value "{to_string(value)}" to type "System.Int32". '
            "Error: \"The input string '" + to_string(value) + "' was not in a correct format.\""
        ) from None
    if isinstance(result, int) and not -0x80000000 <= result <= 0x7FFFFFFF:
        # An Int32 parameter: -Width 2147483648 must not become a 2 GiB line to format.
        raise ConversionError(
            f'Cannot convert value "{to_string(value)}" to type "System.Int32". '
            'Error: "Value was either too large or too small for an Int32."')
    return result


STRING = TypeSpec("System.String", _string, python="str")
STRINGS = TypeSpec("System.String[]", _array(to_string), is_array=True, python="list[str]")
INT = TypeSpec("System.Int32", _int_conv, python="int")
INTS = TypeSpec("System.Int32[]", _array(_int_conv), is_array=True, python="list[int]")
DOUBLE = TypeSpec("System.Double", lambda v: to_double(v), python="float")
BOOL = TypeSpec("System.Boolean", _bool_param, python="bool")
SWITCH = TypeSpec("System.Management.Automation.SwitchParameter", _bool_param, is_switch=True,
                  python="bool")
OBJECT = TypeSpec("System.Object", _identity)
OBJECTS = TypeSpec("System.Object[]", _array(_identity), is_array=True, python="list[object]")
SCRIPTBLOCK = TypeSpec("System.Management.Automation.ScriptBlock", _scriptblock,
                       python="ScriptBlock")
SCRIPTBLOCKS = TypeSpec("System.Management.Automation.ScriptBlock[]", _array(_scriptblock),
                        is_array=True, python="list[ScriptBlock]")
HASHTABLE = TypeSpec("System.Collections.Hashtable", _hashtable, python="Hashtable")
DATETIME = TypeSpec("System.DateTime", to_datetime, python="datetime.datetime")


def enum_type(name: str, choices: Sequence[str]) -> TypeSpec:
    """A parameter type that accepts one of ``choices`` (case-insensitive), canonically spelled."""
    canon = {c.lower(): c for c in choices}

    def convert(value: object) -> object:
        text = to_string(value)
        found = canon.get(text.lower())
        if found is None:
            raise ConversionError(
                f'Cannot convert value "{text}" to type "{name}". Error: "Unable to match the '
                f'identifier name {text} to a valid enumerator name. Specify one of the following '
                f'enumerator names and try again:\n{", ".join(choices)}"'
            )
        return found

    return TypeSpec(name, convert, choices=tuple(choices), python="str")
