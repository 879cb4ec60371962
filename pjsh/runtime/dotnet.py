"""The small slice of .NET that scripts reach for: type casts, -is/-as, -f formatting and a
few static members ([math]::Round, [datetime]::Now, [string]::IsNullOrEmpty ...)."""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import re
from collections.abc import Callable, MutableMapping

from pjsh.runtime.convert import (
    ConversionError,
    as_list,
    format_double,
    to_bool,
    to_datetime,
    to_double,
    to_int,
    to_number,
    to_string,
    type_name_of,
)
from pjsh.runtime.operators import check_chars
from pjsh.runtime.values import Hashtable, PSObject, type_names


class TypeError_(Exception):
    """Unknown type or impossible conversion; carries PowerShell's id and message."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


def _canon(name: str) -> str:
    n = name.strip().lower()
    if n.startswith("system."):
        n = n[7:]
    return n


def _to_array(value: object) -> object:
    return list(as_list(value)) if not isinstance(value, list) else value


def _to_pscustomobject(value: object) -> object:
    if isinstance(value, Hashtable):
        return PSObject([(to_string(k), v) for k, v in value.items()])
    return value


def _to_char(value: object) -> object:
    if isinstance(value, str):
        if len(value) != 1:
            raise ConversionError(
                f'Cannot convert value "{value}" to type "System.Char". Error: "String must be '
                'exactly one character long."')
        return value
    n = to_int(value)
    if not 0 <= n <= 0xFFFF:
        raise ConversionError(f'Cannot convert value "{to_string(value)}" to type "System.Char". '
                              'Error: "Value was either too large or too small for a character."')
    return chr(n)


def _to_bool_cast(value: object) -> object:
    return to_bool(value)


def _to_regex(value: object) -> object:
    """``[regex]'...'``: the pattern (pjsh keeps regexes as their text), refused when .NET
    could not compile it."""
    pattern = to_string(value)
    try:
        re.compile(re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern))
    except re.error as e:
        offset = len(pattern) if e.pos is None else e.pos
        raise ConversionError(
            f'Cannot convert value "{pattern}" to type "System.Text.RegularExpressions.Regex". '
            f"Error: \"Invalid pattern '{pattern}' at offset {offset}. {e.msg}.\"") from None
    return pattern


def _to_scriptblock(value: object) -> object:
    from pjsh.runtime.scriptblock import ScriptBlock

    if isinstance(value, ScriptBlock):
        return value
    raise ConversionError(f'Cannot convert the "{to_string(value)}" value of type '
                          f'"{type_name_of(value)}" to type "System.Management.Automation.ScriptBlock".')


def _int_cast(bits: int) -> Callable[[object], object]:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def convert(value: object) -> object:
        n = to_int(value)
        if not lo <= n <= hi:
            name = {32: "System.Int32", 64: "System.Int64", 16: "System.Int16"}.get(bits, "Int")
            raise ConversionError(f'Cannot convert value "{to_string(value)}" to type "{name}". '
                                  'Error: "Value was either too large or too small for an '
                                  f'{name.split(".")[-1]}."')
        return n

    return convert


def _byte(value: object) -> object:
    n = to_int(value)
    if not 0 <= n <= 255:
        raise ConversionError(f'Cannot convert value "{to_string(value)}" to type "System.Byte". '
                              'Error: "Value was either too large or too small for an unsigned byte."')
    return n


def _timespan(value: object) -> object:
    if isinstance(value, _dt.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.timedelta(microseconds=value / 10)
    text = to_string(value)
    m = re.fullmatch(r"(?:(\d+)\.)?(\d+):(\d+)(?::(\d+(?:\.\d+)?))?", text.strip())
    if not m:
        raise ConversionError(f'Cannot convert value "{text}" to type "System.TimeSpan".')
    d, h, mi, s = m.groups()
    return _dt.timedelta(days=int(d or 0), hours=int(h), minutes=int(mi), seconds=float(s or 0))


SCALAR_CASTS: dict[str, Callable[[object], object]] = {
    "int": _int_cast(32), "int32": _int_cast(32), "long": _int_cast(64), "int64": _int_cast(64),
    "int16": _int_cast(16), "short": _int_cast(16), "byte": _byte, "uint32": lambda v: to_int(v),
    "uint64": lambda v: to_int(v), "bigint": lambda v: to_int(v), "numerics.biginteger": lambda v: to_int(v),
    "double": to_double, "float": to_double, "single": to_double, "decimal": to_double,
    "string": to_string, "bool": _to_bool_cast, "boolean": _to_bool_cast, "char": _to_char,
    "datetime": to_datetime, "timespan": _timespan, "regex": _to_regex,
    "text.regularexpressions.regex": _to_regex,
    "scriptblock": _to_scriptblock, "management.automation.scriptblock": _to_scriptblock,
    "object": lambda v: v, "psobject": lambda v: v, "psobject[]": _to_array,
    "pscustomobject": _to_pscustomobject, "management.automation.pscustomobject": _to_pscustomobject,
    "hashtable": lambda v: _to_hashtable(v), "collections.hashtable": lambda v: _to_hashtable(v),
    "ordered": lambda v: _to_hashtable(v), "array": _to_array, "object[]": _to_array,
    "void": lambda v: None, "switch": _to_bool_cast, "switchparameter": _to_bool_cast,
}


def _to_hashtable(value: object) -> object:
    if isinstance(value, Hashtable):
        return value
    if isinstance(value, PSObject):
        return Hashtable(value.property_items())
    raise ConversionError(f'Cannot convert the "{to_string(value)}" value of type '
                          f'"{type_name_of(value)}" to type "System.Collections.Hashtable".')


def known_type(name: str) -> bool:
    """Tell whether a type name is one pjsh can cast to."""
    n = _canon(name)
    return n in SCALAR_CASTS or (n.endswith("[]") and _canon(n[:-2]) in SCALAR_CASTS) or n in STATIC_TYPES


def cast(type_name: str, value: object) -> object:
    """``[type]value``; raises TypeError_ for unknown types, ConversionError for bad values."""
    n = _canon(type_name)
    if n.endswith("[]"):
        inner = n[:-2]
        conv = SCALAR_CASTS.get(inner)
        if conv is None:
            raise TypeError_("TypeNotFound", f"Unable to find type [{type_name}].")
        return [conv(v) for v in as_list(value)]
    conv = SCALAR_CASTS.get(n)
    if conv is None:
        raise TypeError_("TypeNotFound", f"Unable to find type [{type_name}].")
    return conv(value)


_IS_CHECKS: dict[str, Callable[[object], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
    "int32": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, float), "float": lambda v: isinstance(v, float),
    "string": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool), "hashtable": lambda v: isinstance(v, Hashtable),
    "collections.hashtable": lambda v: isinstance(v, Hashtable),
    "array": lambda v: isinstance(v, list), "object[]": lambda v: isinstance(v, list),
    "object": lambda v: v is not None, "psobject": lambda v: v is not None,
    "datetime": lambda v: isinstance(v, _dt.datetime),
    "pscustomobject": lambda v: isinstance(v, PSObject),
    "valuetype": lambda v: isinstance(v, (int, float, bool)),
}


def is_type(value: object, type_name: str) -> bool:
    """The -is operator."""
    n = _canon(type_name)
    check = _IS_CHECKS.get(n)
    if check is not None:
        return check(value)
    if n in ("scriptblock", "management.automation.scriptblock"):
        from pjsh.runtime.scriptblock import ScriptBlock
        return isinstance(value, ScriptBlock)
    full = type_name.strip().lower()
    for t in type_names(value):
        tl = t.lower()
        if tl == full or tl == "system." + full or tl.rsplit(".", 1)[-1] == full:
            return True
    if not known_type(type_name):
        raise TypeError_("TypeNotFound", f"Unable to find type [{type_name}].")
    return False


def as_type(value: object, type_name: str) -> object:
    """The -as operator: convert or $null."""
    try:
        return cast(type_name, value)
    except (ConversionError, TypeError_, ValueError, OverflowError):
        return None


# ------------------------------------------------------------------ -f formatting
_FMT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:\s*,\s*(-?\d+))?(?::([^}]*))?\}")


def _decimal(n: float) -> decimal.Decimal:
    return decimal.Decimal(n)  # exact: the binary value, not its shortest repr


def _fixed(n: int | float | decimal.Decimal, decimals: int, grouped: bool) -> str:
    """Fixed-point text rounded half away from zero on the exact value, as .NET does
    (Python's format rounds half to even: 2.25 -> '2.2' where .NET gives '2.3')."""
    if isinstance(n, float):
        if n != n or n in (math.inf, -math.inf):
            return format_double(n)
        n = _decimal(n)
    if isinstance(n, decimal.Decimal):
        n = n.quantize(decimal.Decimal(1).scaleb(-decimals), rounding=decimal.ROUND_HALF_UP)
    return f"{n:{',' if grouped else ''}.{decimals}f}"


class _InvalidSpecifier(Exception):
    """A format specifier the value's type does not support (.NET's FormatException)."""


def _format_number(value: object, spec: str) -> str:
    if not spec:
        return to_string(value)
    kind, digits = spec[0].upper(), spec[1:]
    standard = kind in "NDXFPCE" and (digits == "" or digits.isdigit())
    try:
        n = to_number(value)
    except ConversionError:
        if standard and isinstance(value, str):
            raise _InvalidSpecifier from None  # a number's format for a word: .NET refuses
        return to_string(value)
    if standard and kind in "DX" and isinstance(n, float):
        raise _InvalidSpecifier  # integral formats only take integers, as in .NET
    if standard:
        prec = int(digits) if digits else None
        if prec is not None and prec > 999:
            raise TypeError_("FormatError", "Error formatting a string: Format specifier was "
                             "invalid.")
        if kind == "N":
            return _fixed(n, 2 if prec is None else prec, grouped=True)
        if kind == "F":
            return _fixed(n, 2 if prec is None else prec, grouped=False)
        if kind == "D":
            return str(int(n)).zfill(prec or 0) if n >= 0 else "-" + str(-int(n)).zfill(prec or 0)
        if kind == "X":
            text = format(int(n), "x" if spec[0] == "x" else "X")
            return text.zfill(prec or 0)
        if kind == "P":
            scaled = n * 100 if isinstance(n, int) else _decimal(n) * 100
            return _fixed(scaled, 2 if prec is None else prec, grouped=True) + "%"
        if kind == "C":
            return "$" + _fixed(n, 2 if prec is None else prec, grouped=True)
        if kind == "E":
            return f"{n:.{6 if prec is None else prec}E}"
    # Custom numeric format like 0.00 or #,##0
    if re.fullmatch(r"[#0,]*\.?[#0]*", spec):
        decimals = len(spec.split(".", 1)[1]) if "." in spec else 0
        return _fixed(n, decimals, grouped="," in spec.split(".", 1)[0])
    return to_string(value)


def format_operator(fmt: object, args: object) -> str:
    """The -f operator: .NET composite formatting ``{0}``, ``{0,5}``, ``{0:N2}``."""
    items = as_list(args) if isinstance(args, list) else [args]
    text = to_string(fmt)

    def repl(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        index = int(m.group(1))
        if index >= len(items):
            raise TypeError_("FormatError", "Error formatting a string: Index (zero based) must be "
                             "greater than or equal to zero and less than the size of the argument "
                             f"list.: {text}.")
        value = items[index]
        spec = m.group(3) or ""
        if isinstance(value, _dt.datetime) and spec:
            out = _format_datetime(value, spec)
        elif spec:
            try:
                out = _format_number(value, spec)
            except _InvalidSpecifier:
                raise TypeError_("FormatError", "Error formatting a string: Format specifier "
                                 f"was invalid.: {text}.") from None
        else:
            out = to_string(value)
        width = m.group(2)
        if width:
            w = int(width)
            if abs(w) >= 1_000_000:
                raise TypeError_("FormatError", "Error formatting a string: Input string was not "
                                 f"in a correct format.: {text}.")
            out = out.rjust(w) if w > 0 else out.ljust(-w)
        return out

    return _FMT_ITEM.sub(repl, text)


def _format_datetime(value: _dt.datetime, spec: str) -> str:
    mapping = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"),
               ("hh", "%I"), ("mm", "%M"), ("ss", "%S"), ("fff", "%f"), ("tt", "%p"),
               ("ddd", "%a"), ("MMM", "%b")]
    if spec in ("s",):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if spec == "o":
        return value.isoformat()
    out = spec
    for k, v in sorted(mapping, key=lambda kv: -len(kv[0])):
        out = out.replace(k, v)
    text = value.strftime(out)
    return text


# ------------------------------------------------------------------ static members
def _round(*args: object) -> object:
    value = to_double(args[0]) if args else 0.0
    digits = to_int(args[1]) if len(args) > 1 else 0
    result = round(value, digits)
    return float(result) if digits else float(round(value))


def _ieee(fn: Callable[..., float]) -> Callable[..., object]:
    """Wrap a math function so overflow gives Infinity and a domain error NaN, as .NET does."""
    def call(*args: object) -> object:
        try:
            return fn(*args)
        except OverflowError:
            return math.inf
        except ValueError:
            return math.nan

    return call


def _math(name: str) -> Callable[..., object]:
    table: dict[str, Callable[..., object]] = {
        "round": _round,
        "floor": lambda x: float(math.floor(to_double(x))),
        "ceiling": lambda x: float(math.ceil(to_double(x))),
        "truncate": lambda x: float(math.trunc(to_double(x))),
        "abs": lambda x: abs(to_number(x)),
        "sqrt": _ieee(lambda x: math.sqrt(to_double(x))),
        "pow": _ieee(lambda x, y: math.pow(to_double(x), to_double(y))),
        "max": lambda x, y: max(to_number(x), to_number(y)),
        "min": lambda x, y: min(to_number(x), to_number(y)),
        "log": _ieee(lambda x, *b: math.log(to_double(x), *(to_double(v) for v in b))),
        "log10": _ieee(lambda x: math.log10(to_double(x))),
        "exp": _ieee(lambda x: math.exp(to_double(x))),
        "sin": lambda x: math.sin(to_double(x)), "cos": lambda x: math.cos(to_double(x)),
        "tan": lambda x: math.tan(to_double(x)),
        "sign": lambda x: (to_number(x) > 0) - (to_number(x) < 0),
    }
    return table[name]


def _string_new(ch: object, n: object) -> str:
    count = to_int(n)
    check_chars(len(to_string(ch)) * max(count, 0))
    return to_string(ch) * count


def _string_static(name: str) -> Callable[..., object]:
    table: dict[str, Callable[..., object]] = {
        "isnullorempty": lambda s: s is None or to_string(s) == "",
        "isnullorwhitespace": lambda s: s is None or to_string(s).strip() == "",
        "join": lambda sep, *items: to_string(sep).join(
            to_string(i) for i in (as_list(items[0]) if len(items) == 1 else items)),
        "concat": lambda *items: "".join(to_string(i) for i in items),
        "format": lambda fmt, *items: format_operator(fmt, list(items)),
        "new": _string_new,
    }
    return table[name]


STATIC_TYPES = {"math", "string", "datetime", "int", "int32", "long", "int64", "double", "char",
                "environment", "io.path", "guid", "convert", "timespan", "bool", "console"}


def static_member(type_name: str, member: str) -> object:
    """``[type]::Member`` (a property)."""
    t, m = _canon(type_name), member.lower()
    if t == "math":
        if m == "pi":
            return math.pi
        if m == "e":
            return math.e
    if t == "datetime":
        if m == "now":
            return _dt.datetime.now()
        if m == "utcnow":
            return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
        if m == "today":
            return _dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    if t in ("int", "int32"):
        if m == "maxvalue":
            return 2**31 - 1
        if m == "minvalue":
            return -(2**31)
    if t in ("long", "int64"):
        if m == "maxvalue":
            return 2**63 - 1
        if m == "minvalue":
            return -(2**63)
    if t == "double":
        if m == "maxvalue":
            return 1.7976931348623157e308
        if m == "nan":
            return float("nan")
        if m == "positiveinfinity":
            return float("inf")
    if t == "string" and m == "empty":
        return ""
    if t == "environment":
        import os
        if m == "newline":
            return "\n"
        if m == "machinename":
            return os.uname().nodename
        if m == "processorcount":
            return os.cpu_count() or 1
        if m == "username":
            import getpass
            return getpass.getuser()
        if m == "currentdirectory":
            return os.getcwd()
    if t == "io.path" and m == "directoryseparatorchar":
        return "/"
    raise TypeError_("PropertyNotFound", f"The property '{member}' cannot be found on type "
                     f"[{type_name}].")


def static_call(type_name: str, member: str, args: list[object],
                env: MutableMapping[str, str] | None = None) -> object:
    """``[type]::Method(args)``; ``env`` is the session's environment (``$env:``), which
    [Environment] reads and writes (default: this process's)."""
    t, m = _canon(type_name), member.lower()
    try:
        if t == "math":
            return _math(m)(*args)
        if t == "string":
            return _string_static(m)(*args)
    except KeyError:
        pass
    except TypeError:
        raise TypeError_("MethodCountCouldNotFindBest",
                         f'Cannot find an overload for "{member}" and the argument count: '
                         f'"{len(args)}".') from None
    if t == "datetime" and m == "parse":
        return to_datetime(args[0] if args else "")
    if t in ("int", "int32", "long", "int64") and m == "parse":
        return to_int(args[0] if args else "")
    if t == "double" and m == "parse":
        return to_double(args[0] if args else "")
    if t == "guid" and m == "newguid":
        import uuid
        return str(uuid.uuid4())
    if t == "io.path":
        import os.path as p
        table2: dict[str, Callable[..., object]] = {
            "combine": lambda *a: p.join(*(to_string(x) for x in a)),
            "getfilename": lambda a: p.basename(to_string(a)),
            "getextension": lambda a: p.splitext(to_string(a))[1],
            "getdirectoryname": lambda a: p.dirname(to_string(a)),
            "getfilenamewithoutextension": lambda a: p.splitext(p.basename(to_string(a)))[0],
            "gettempath": lambda: __import__("tempfile").gettempdir() + "/",
        }
        if m in table2:
            return table2[m](*args)
    if t == "environment" and m in _ENVIRONMENT_METHODS:
        import os
        return _environment(m, member, args, env if env is not None else os.environ)
    if t == "convert":
        if m == "toint32":
            if len(args) > 1:
                try:
                    return int(to_string(args[0]), to_int(args[1]))
                except ValueError:
                    raise TypeError_("FormatException",
                                     "Could not find any recognizable digits.") from None
            return to_int(args[0])
        if m == "tostring":
            if len(args) > 1:
                base = to_int(args[1])
                n = to_int(args[0])
                return {2: bin, 8: oct, 16: hex}[base](n)[2:]
            return to_string(args[0])
        if m == "tobase64string":
            import base64
            data = args[0]
            raw = bytes(to_int(b) for b in as_list(data)) if isinstance(data, list) else \
                to_string(data).encode()
            return base64.b64encode(raw).decode()
        if m == "frombase64string":
            import base64
            try:
                return list(base64.b64decode(to_string(args[0]), validate=True))
            except ValueError:
                raise TypeError_("FormatException", "The input is not a valid Base-64 string as "
                                 "it contains a non-base 64 character, more than two padding "
                                 "characters, or an illegal character among the padding "
                                 "characters.") from None
    if t == "timespan" and m == "fromseconds":
        return _dt.timedelta(seconds=to_double(args[0]))
    if t == "timespan" and m == "frommilliseconds":
        return _dt.timedelta(milliseconds=to_double(args[0]))
    if t == "console" and m in ("writeline", "write"):
        return ("__console__", m, args)
    raise TypeError_("MethodNotFound", f"Method invocation failed because [{type_name}] does not "
                     f"contain a method named '{member}'.")


_ENVIRONMENT_METHODS = ("getenvironmentvariable", "setenvironmentvariable",
                        "getenvironmentvariables")


def _env_target(member: str, args: list[object], index: int) -> str:
    """The EnvironmentVariableTarget argument's name, checked (Process when absent)."""
    if len(args) <= index:
        return "process"
    target = args[index]
    names = {"0": "process", "1": "user", "2": "machine"}
    name = names.get(to_string(target).strip(), to_string(target).strip().lower())
    if name not in ("process", "user", "machine"):
        raise TypeError_("MethodArgumentConversionInvalidCastArgument",
                         f'Cannot convert argument "target", with value: "{to_string(target)}", '
                         f'for "{member}" to type "System.EnvironmentVariableTarget".')
    return name


def _environment(m: str, member: str, args: list[object],
                 env: MutableMapping[str, str]) -> object:
    """[Environment]'s variable methods on the session's environment. On Unix .NET keeps no
    User or Machine variables: reading one gives null, writing one does nothing."""
    if m == "getenvironmentvariables":
        if len(args) > 1:
            raise TypeError_("MethodCountCouldNotFindBest", f'Cannot find an overload for '
                             f'"{member}" and the argument count: "{len(args)}".')
        if _env_target(member, args, 0) != "process":
            return Hashtable()
        return Hashtable(sorted(env.items()))
    want = (1, 2) if m == "getenvironmentvariable" else (2, 3)
    if len(args) not in want:
        raise TypeError_("MethodCountCouldNotFindBest", f'Cannot find an overload for '
                         f'"{member}" and the argument count: "{len(args)}".')
    name = to_string(args[0])
    if not name:
        raise TypeError_("ArgumentNullException",
                         "Value cannot be null. (Parameter 'variable')")
    if m == "getenvironmentvariable":
        if _env_target(member, args, 1) != "process":
            return None
        return env.get(name)
    if _env_target(member, args, 2) != "process":
        return None
    value = args[1]
    # .NET removes the variable for a null or empty value.
    if value is None or to_string(value) == "":
        env.pop(name, None)
    else:
        env[name] = to_string(value)
    return None


__all__ = ["TypeError_", "as_type", "cast", "format_double", "format_operator", "is_type",
           "known_type", "static_call", "static_member"]
