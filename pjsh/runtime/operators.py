"""PowerShell operator semantics: arithmetic, comparison, wildcard and regex matching, ordering."""

from __future__ import annotations

import datetime as _dt
import fnmatch
import functools
import re
from collections.abc import Callable

from pjsh.runtime.convert import ConversionError, parse_number, to_int, to_number, to_string
from pjsh.runtime.errors import PSRuntimeError, make_error
from pjsh.runtime.values import Hashtable


class OperatorError(Exception):
    """An operator could not be applied; carries PowerShell's error id and message."""

    def __init__(self, error_id: str, message: str, inner_type: str = "") -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.inner_type = inner_type  # the .NET exception a RuntimeException would wrap


def _invalid_wildcard(pattern: str) -> PSRuntimeError:
    """pwsh's WildcardPatternException for a pattern it cannot parse."""
    return PSRuntimeError(make_error(
        f"The specified wildcard character pattern is not valid: {pattern}",
        "WildcardPattern_Invalid", "InvalidArgument", target=pattern,
        exception_type="System.Management.Automation.WildcardPatternException"))


def _bracket_class(pattern: str, body: str) -> str:
    """A regex character class for the inside of a wildcard ``[...]``: each member escaped
    (so it can never make an invalid regex), ranges checked as pwsh does."""
    chars: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "`" and i + 1 < len(body):
            i += 1
        chars.append(body[i])
        i += 1
    if not chars:
        raise _invalid_wildcard(pattern)
    members: list[str] = []
    j = 0
    while j < len(chars):
        if j + 2 < len(chars) and chars[j + 1] == "-":
            low, high = chars[j], chars[j + 2]
            if low > high:
                raise _invalid_wildcard(pattern)
            members.append(f"{re.escape(low)}-{re.escape(high)}")
            j += 3
        else:
            members.append(re.escape(chars[j]))
            j += 1
    return "[" + "".join(members) + "]"


@functools.lru_cache(maxsize=512)
def wildcard_regex(pattern: str, case_sensitive: bool = False) -> re.Pattern[str]:
    """Compile a PowerShell wildcard (``* ? [a-z]``, backtick escapes) to an anchored regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "`" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = i + 1
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "`" else 1  # `] is a member, not the end
            if end >= len(pattern):
                out.append(re.escape(c))
            else:
                out.append(_bracket_class(pattern, pattern[i + 1:end]))
                i = end
        else:
            # A trailing backtick escapes nothing: it is literal.
            out.append(re.escape(c))
        i += 1
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile("".join(out) + r"\Z", flags)


def has_wildcard(text: str) -> bool:
    """Tell whether a string contains wildcard characters."""
    return any(ch in text for ch in "*?[")


def like(value: object, pattern: object, case_sensitive: bool = False) -> bool:
    """The -like test for one value."""
    return wildcard_regex(to_string(pattern), case_sensitive).match(to_string(value)) is not None


def fnmatch_names(names: list[str], pattern: str) -> list[str]:
    """Filter names by a case-insensitive wildcard pattern."""
    rx = wildcard_regex(pattern)
    return [n for n in names if rx.match(n)] if has_wildcard(pattern) else fnmatch.filter(
        names, pattern)


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str, case_sensitive: bool = False) -> re.Pattern[str]:
    """Compile a .NET-style regex (mostly Python-compatible), raising OperatorError if bad."""
    # .NET named groups (?<name>...) → Python (?P<name>...)
    py = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern)
    try:
        return re.compile(py, 0 if case_sensitive else re.IGNORECASE)
    except re.error as e:
        raise OperatorError(
            "InvalidRegularExpression",
            f'The regular expression pattern {pattern} is not valid: {e}.',
        ) from None


def match_groups(m: re.Match[str]) -> Hashtable:
    """Build the $Matches hashtable from a regex match."""
    table = Hashtable()
    table[0] = m.group(0)
    for i, g in enumerate(m.groups(), start=1):
        if g is not None:
            table[i] = g
    for name, g in m.groupdict().items():
        if g is not None:
            table[name] = g
    return table


def _is_numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def coerce_like(left: object, right: object) -> object:
    """Convert the right operand toward the left operand's type, as PowerShell comparisons do."""
    if isinstance(left, bool):
        from pjsh.runtime.convert import to_bool
        return to_bool(right)
    if _is_numeric(left):
        if _is_numeric(right):
            return right
        if isinstance(right, bool):
            return int(right)
        if isinstance(right, str):
            n = parse_number(right)
            if n is None:
                return right
            return n
        if right is None:
            return right
        return right
    if isinstance(left, str):
        return to_string(right) if right is not None else None
    return right


def equals(left: object, right: object, case_sensitive: bool = False) -> bool:
    """The -eq test for two scalars."""
    if left is None or right is None:
        return left is None and right is None
    r = coerce_like(left, right)
    if isinstance(left, str) and isinstance(r, str):
        return left == r if case_sensitive else left.lower() == r.lower()
    if _is_numeric(left) and isinstance(r, str):
        return False
    try:
        return bool(left == r)
    except Exception:
        return False


def compare(left: object, right: object, case_sensitive: bool = False) -> int:
    """Order two values: negative, zero or positive. Raises OperatorError if incomparable."""
    if left is None and right is None:
        return 0
    if left is None:
        return -1
    if right is None:
        return 1
    r = coerce_like(left, right)
    if isinstance(left, str):
        a, b = to_string(left), to_string(r)
        if not case_sensitive:
            a, b = a.lower(), b.lower()
        return (a > b) - (a < b)
    if _is_numeric(left) or isinstance(left, bool):
        if isinstance(r, str):
            raise OperatorError(
                "ComparisonFailure",
                f'Could not compare "{to_string(left)}" to "{r}". Error: "Cannot convert value '
                f'"{r}" to type "System.Int32". Error: "The input string \'{r}\' was not in a '
                'correct format.""',
            )
        try:
            a_n, b_n = to_number(left), to_number(r)
        except ConversionError as e:
            raise OperatorError("ComparisonFailure", str(e)) from None
        return (a_n > b_n) - (a_n < b_n)
    try:
        return int((left > r) - (left < r))  # type: ignore[operator]
    except TypeError:
        a, b = to_string(left).lower(), to_string(r).lower()
        return (a > b) - (a < b)


def sort_key(case_sensitive: bool = False) -> Callable[[object], object]:
    """A key function for sorting mixed values the way Sort-Object does (nulls first)."""

    def key(value: object) -> object:
        return functools.cmp_to_key(lambda a, b: _safe_compare(a, b, case_sensitive))(value)

    return key


def _safe_compare(a: object, b: object, case_sensitive: bool) -> int:
    try:
        return compare(a, b, case_sensitive)
    except OperatorError:
        sa, sb = to_string(a).lower(), to_string(b).lower()
        return (sa > sb) - (sa < sb)


def _scalar_compare(op: str, left: object, right: object, cs: bool) -> tuple[bool, Hashtable | None]:
    if op == "eq":
        return equals(left, right, cs), None
    if op == "ne":
        return not equals(left, right, cs), None
    if op in ("gt", "ge", "lt", "le"):
        if left is None or right is None:
            c = compare(left, right, cs)
        else:
            c = compare(left, right, cs)
        return {"gt": c > 0, "ge": c >= 0, "lt": c < 0, "le": c <= 0}[op], None
    if op == "like":
        return like(left, right, cs), None
    if op == "notlike":
        return not like(left, right, cs), None
    if op in ("match", "notmatch"):
        m = compile_regex(to_string(right), cs).search(to_string(left))
        groups = match_groups(m) if m else None
        return (m is not None) == (op == "match"), groups
    raise OperatorError("OperatorNotSupported", f"The operator '-{op}' is not supported.")


COMPARISON_OPS = ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch")


def split_op(name: str) -> tuple[str, bool]:
    """Split an operator name like 'ceq' / 'ieq' / 'eq' into (base, case_sensitive)."""
    n = name.lower().lstrip("-")
    if n[:1] in ("c", "i") and n[1:] in (*COMPARISON_OPS, "contains", "notcontains", "in",
                                         "notin", "replace", "split"):
        return n[1:], n[0] == "c"
    return n, False


def comparison(name: str, left: object, right: object) -> tuple[object, Hashtable | None]:
    """Apply a comparison operator; an array on the left filters. Returns (result, $Matches)."""
    op, cs = split_op(name)
    if op in ("contains", "notcontains"):
        items = left if isinstance(left, list) else [left]
        found = any(equals(i, right, cs) for i in items)
        return found == (op == "contains"), None
    if op in ("in", "notin"):
        items = right if isinstance(right, list) else [right]
        found = any(equals(i, left, cs) for i in items)
        return found == (op == "in"), None
    if isinstance(left, list):
        out = []
        for item in left:
            ok, _ = _scalar_compare(op, item, right, cs)
            if ok:
                out.append(item)
        return out, None
    return _scalar_compare(op, left, right, cs)


def replace(left: object, right: object, case_sensitive: bool = False) -> object:
    """The -replace operator: regex replace with $1/${name} substitutions."""
    pattern: object
    repl: object = ""
    if isinstance(right, list):
        pattern = right[0] if right else ""
        repl = right[1] if len(right) > 1 else ""
    else:
        pattern = right
    rx = compile_regex(to_string(pattern), case_sensitive)
    py_repl = re.sub(r"\$(\d+)|\$\{(\w+)\}|\$\$|\$&",
                     lambda m: ("\\g<" + (m.group(1) or m.group(2)) + ">") if (m.group(1) or m.group(2))
                     else ("$" if m.group(0) == "$$" else "\\g<0>"),
                     to_string(repl).replace("\\", "\\\\"))
    if isinstance(left, list):
        return [rx.sub(py_repl, to_string(v)) for v in left]
    return rx.sub(py_repl, to_string(left))


def split(left: object, right: object | None, case_sensitive: bool = False) -> list[object]:
    """The -split operator (binary form; unary form when right is None splits on whitespace)."""
    values = left if isinstance(left, list) else [left]
    out: list[object] = []
    for v in values:
        text = to_string(v)
        if right is None:
            out.extend(p for p in text.split() if p)
            continue
        pattern: object = right
        limit = 0
        if isinstance(right, list):
            if not right:  # the separator is required (PowerShell's SplitOperator)
                raise OperatorError("BadOperatorArgument",
                                    "Bad argument to operator '-split': System.Object[].")
            pattern = right[0]
            limit = to_int(right[1]) if len(right) > 1 else 0
        rx = compile_regex(to_string(pattern), case_sensitive)
        out.extend(rx.split(text, maxsplit=max(0, limit - 1)) if limit > 0 else rx.split(text))
    return out


# Bounds on what one operator may build, so a runaway script (`$a += $a` in a loop,
# `'x' * 1tb`) gets a PowerShell error instead of exhausting the machine's memory.
MAX_ITEMS = 10_000_000
MAX_CHARS = 64 * 1024 * 1024


def check_items(n: int) -> None:
    """Raise OperatorError if an array of n elements is too large to build."""
    if n > MAX_ITEMS:
        raise OperatorError("ArrayTooLarge", "Array dimensions exceeded supported range.",
                            "System.OutOfMemoryException")


def check_chars(n: int) -> None:
    """Raise OperatorError if a string of n characters is too large to build."""
    if n > MAX_CHARS:
        raise OperatorError("OutOfMemory",
                            "Exception of type 'System.OutOfMemoryException' was thrown.",
                            "System.OutOfMemoryException")


def _num_or_raise(value: object) -> int | float:
    try:
        return to_number(value)
    except ConversionError as e:
        raise OperatorError("InvalidCastFromStringToInteger", str(e)) from None


def _normalize(n: int | float) -> int | float:
    return n


def add(left: object, right: object) -> object:
    """The + operator: numbers add, strings concatenate, arrays append, hashtables merge."""
    if isinstance(left, list):
        extra = right if isinstance(right, list) else [right]
        check_items(len(left) + len(extra))
        return left + extra
    if isinstance(left, str):
        text = to_string(right)
        check_chars(len(left) + len(text))
        return left + text
    if isinstance(left, Hashtable):
        if not isinstance(right, Hashtable):
            raise OperatorError("AddHashtableToNonHashtable",
                                "A hash table can only be added to another hash table.")
        merged = Hashtable(left)
        for k, v in right.items():
            if k in merged:
                raise OperatorError(
                    "DuplicateKeyInHashLiteral",
                    f"Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'")
            merged[k] = v
        return merged
    if left is None:
        if isinstance(right, list):
            return list(right)
        return right
    if isinstance(left, (_dt.datetime, _dt.timedelta)) and isinstance(right, _dt.timedelta):
        return left + right
    return _normalize(_num_or_raise(left) + _num_or_raise(right))


def subtract(left: object, right: object) -> object:
    """The - operator (dates subtract to a time span, as in .NET)."""
    if isinstance(left, _dt.datetime) and isinstance(right, (_dt.datetime, _dt.timedelta)):
        return left - right
    if isinstance(left, _dt.timedelta) and isinstance(right, _dt.timedelta):
        return left - right
    return _normalize(_num_or_raise(left) - _num_or_raise(right))


def multiply(left: object, right: object) -> object:
    """The * operator: numbers multiply, strings and arrays repeat."""
    if isinstance(left, str):
        times = int(_num_or_raise(right))
        check_chars(len(left) * max(times, 0))
        return left * times
    if isinstance(left, list):
        times = int(_num_or_raise(right))
        check_items(len(left) * max(times, 0))
        return left * times
    return _normalize(_num_or_raise(left) * _num_or_raise(right))


def divide(left: object, right: object) -> object:
    """The / operator: integer results stay integers when exact, else doubles."""
    a, b = _num_or_raise(left), _num_or_raise(right)
    if b == 0:
        raise OperatorError("RuntimeException", "Attempted to divide by zero.",
                            "System.DivideByZeroException")
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def modulo(left: object, right: object) -> object:
    """The % operator (sign follows the dividend, as in .NET)."""
    a, b = _num_or_raise(left), _num_or_raise(right)
    if b == 0:
        raise OperatorError("RuntimeException", "Attempted to divide by zero.",
                            "System.DivideByZeroException")
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    import math
    return math.fmod(a, b)


def shift(op: str, a: int, b: int) -> int:
    """-shl/-shr on Int32 or Int64 values: the count is masked and the result wraps, as in .NET."""
    bits = 32 if -(2**31) <= a < 2**31 else 64
    count = b & (bits - 1)
    if op == "shr":
        return a >> count
    mask = (1 << bits) - 1
    r = (a << count) & mask
    return r - (1 << bits) if r >= 1 << (bits - 1) else r


def join(left: object, right: object) -> str:
    """The -join operator."""
    items = left if isinstance(left, list) else [left]
    return to_string(right).join(to_string(i) for i in items)
