"""Member access (``$x.Name``), member enumeration over arrays, and the few methods scripts call."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from pjsh.runtime.convert import to_int, to_string
from pjsh.runtime.values import Hashtable, PSObject, lookup_property


class MemberError(Exception):
    """A method call failed; carries PowerShell's error id and message."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


_MISSING = object()


def _intrinsic(obj: object, name: str) -> object:
    """Properties every value has in PowerShell (Count/Length) and Python-side basics."""
    low = name.lower()
    if low == "psobject" and obj is not None:
        from pjsh.runtime.values import ps_properties, type_names

        # The extended-type-system view of a value: its type names and property names.
        return PSObject({"TypeNames": list(type_names(obj)),
                         "Properties": [n for n, _ in ps_properties(obj)],
                         "BaseObject": obj}, ("System.Management.Automation.PSObject",))
    if isinstance(obj, str):
        if low == "length":
            return len(obj)
        return _MISSING
    if isinstance(obj, (list, tuple)):
        if low in ("count", "length"):
            return len(obj)
        return _MISSING
    if isinstance(obj, Hashtable):
        if low == "count":
            return len(obj)
        if low == "keys":
            return list(obj.keys())
        if low == "values":
            return list(obj.values())
        if name in obj:
            return obj[name]
        return _MISSING
    if isinstance(obj, _dt.datetime):
        attrs = {"year": obj.year, "month": obj.month, "day": obj.day, "hour": obj.hour,
                 "minute": obj.minute, "second": obj.second, "millisecond": obj.microsecond // 1000,
                 "dayofweek": obj.strftime("%A"), "date": obj.replace(hour=0, minute=0, second=0,
                                                                      microsecond=0),
                 "ticks": int(obj.timestamp() * 10_000_000)}
        return attrs.get(low, _MISSING)
    if isinstance(obj, _dt.timedelta):
        attrs2 = {"totalseconds": obj.total_seconds(),
                  "totalmilliseconds": obj.total_seconds() * 1000,
                  "totalminutes": obj.total_seconds() / 60, "seconds": obj.seconds % 60,
                  "milliseconds": obj.microseconds // 1000, "days": obj.days}
        return attrs2.get(low, _MISSING)
    return _MISSING


def get_member(obj: object, name: str) -> object:
    """Read a property; on arrays, enumerate members of the elements (``$jobs.Name``).
    Missing properties are $null, as in PowerShell's non-strict mode."""
    found, value = lookup_property(obj, name)
    if found:
        return value
    v = _intrinsic(obj, name)
    if v is not _MISSING:
        return v
    if isinstance(obj, (list, tuple)):
        out: list[object] = []
        for item in obj:
            r = get_member(item, name)
            if isinstance(r, list):
                out.extend(r)
            elif r is not None:
                out.append(r)
        return out
    if name.lower() in ("count", "length"):
        # PowerShell's intrinsic members: $null has 0 items, any single object has 1.
        return 0 if obj is None else 1
    return None


def has_member(obj: object, name: str) -> bool:
    """Tell whether a value has a property of that name."""
    found, _ = lookup_property(obj, name)
    return found or _intrinsic(obj, name) is not _MISSING


def set_member(obj: object, name: str, value: object) -> None:
    """Assign a property (PSObject note properties, hashtable keys)."""
    if isinstance(obj, PSObject):
        if not obj.has(name):
            raise MemberError("PropertyNotFound",
                              f"The property '{name}' cannot be found on this object. "
                              "Verify that the property exists and can be set.")
        obj.set(name, value)
        return
    if isinstance(obj, Hashtable):
        obj[name] = value
        return
    names = getattr(obj, "ps_property_names", None)
    if names is not None:
        for n in names:
            if n.lower() == name.lower():
                try:
                    setattr(obj, n, value)
                    return
                except AttributeError:
                    break
    raise MemberError("PropertyAssignmentException" if names else "PropertyNotFound",
                      f"'{name}' is a ReadOnly property." if names else
                      f"The property '{name}' cannot be found on this object. "
                      "Verify that the property exists and can be set.")


def _arg(args: list[object], i: int, default: object = None) -> object:
    return args[i] if i < len(args) else default


def _width(a: list[object]) -> int:
    """PadLeft/PadRight's total width, bounded like every string pjsh builds."""
    from pjsh.runtime.operators import MAX_CHARS

    width = to_int(_arg(a, 0, 0))
    if width < 0:
        raise MemberError("ArgumentOutOfRangeException",
                          "Non-negative number required. (Parameter 'totalWidth')")
    if width > MAX_CHARS:
        raise MemberError("OutOfMemoryException",
                          "Exception of type 'System.OutOfMemoryException' was thrown.")
    return width


def _str_methods() -> dict[str, Callable[[str, list[object]], object]]:
    def split(s: str, a: list[object]) -> object:
        if not a:
            return s.split()
        seps = to_string(a[0])
        if len(seps) <= 1:
            return s.split(seps) if seps else [s]
        # .NET String.Split(char[]) splits on any of the characters.
        out, cur = [], ""
        for ch in s:
            if ch in seps:
                out.append(cur)
                cur = ""
            else:
                cur += ch
        out.append(cur)
        return out

    def substring(s: str, a: list[object]) -> object:
        start = to_int(_arg(a, 0, 0))
        if start < 0:
            raise MemberError("ArgumentOutOfRangeException",
                              "StartIndex cannot be less than zero. (Parameter 'startIndex')")
        if start > len(s):
            raise MemberError("ArgumentOutOfRangeException",
                              "startIndex cannot be larger than length of string.")
        if len(a) > 1:
            length = to_int(a[1])
            if length < 0 or start + length > len(s):
                raise MemberError("ArgumentOutOfRangeException",
                                  "Index and length must refer to a location within the "
                                  "string. (Parameter 'length')")
            return s[start:start + length]
        return s[start:]

    def insert(s: str, a: list[object]) -> object:
        index = to_int(_arg(a, 0, 0))
        if not 0 <= index <= len(s):
            raise MemberError("ArgumentOutOfRangeException",
                              "Specified argument was out of the range of valid values. "
                              "(Parameter 'startIndex')")
        return s[:index] + to_string(_arg(a, 1, "")) + s[index:]

    def trim_chars(a: list[object]) -> str | None:
        return "".join(to_string(x) for x in a) if a else None

    return {
        "toupper": lambda s, a: s.upper(),
        "tolower": lambda s, a: s.lower(),
        "trim": lambda s, a: s.strip(trim_chars(a)),
        "trimstart": lambda s, a: s.lstrip(trim_chars(a)),
        "trimend": lambda s, a: s.rstrip(trim_chars(a)),
        "split": split,
        "substring": substring,
        "replace": lambda s, a: s.replace(to_string(_arg(a, 0, "")), to_string(_arg(a, 1, ""))),
        "contains": lambda s, a: to_string(_arg(a, 0, "")) in s,
        "startswith": lambda s, a: s.startswith(to_string(_arg(a, 0, ""))),
        "endswith": lambda s, a: s.endswith(to_string(_arg(a, 0, ""))),
        "indexof": lambda s, a: s.find(to_string(_arg(a, 0, ""))),
        "lastindexof": lambda s, a: s.rfind(to_string(_arg(a, 0, ""))),
        "padleft": lambda s, a: s.rjust(_width(a), to_string(_arg(a, 1, " "))[:1] or " "),
        "padright": lambda s, a: s.ljust(_width(a), to_string(_arg(a, 1, " "))[:1] or " "),
        "tostring": lambda s, a: s,
        "equals": lambda s, a: s == to_string(_arg(a, 0, "")),
        "gethashcode": lambda s, a: hash(s) & 0x7FFFFFFF,
        "tochararray": lambda s, a: list(s),
        "insert": insert,
        "remove": lambda s, a: (s[:to_int(_arg(a, 0, 0))] + (s[to_int(a[0]) + to_int(a[1]):]
                                                              if len(a) > 1 else "")),
    }


_STR_METHODS = _str_methods()


def _date_methods() -> dict[str, Callable[[_dt.datetime, list[object]], object]]:
    from pjsh.runtime.convert import to_double

    def add(unit: str) -> Callable[[_dt.datetime, list[object]], object]:
        return lambda d, a: d + _dt.timedelta(**{unit: to_double(_arg(a, 0, 0))})

    def to_text(d: _dt.datetime, a: list[object]) -> object:
        if a:
            from pjsh.runtime.dotnet import format_operator
            return format_operator("{0:" + to_string(a[0]) + "}", [d])
        return to_string(d)

    return {
        "addseconds": add("seconds"), "addminutes": add("minutes"), "addhours": add("hours"),
        "adddays": add("days"), "addmilliseconds": add("milliseconds"),
        "tostring": to_text,
        "touniversaltime": lambda d, a: d.astimezone(_dt.timezone.utc).replace(tzinfo=None),
        "tolocaltime": lambda d, a: d,
    }


_DATE_METHODS = _date_methods()


def call_method(obj: object, name: str, args: list[object]) -> object:
    """Call one of the supported methods on a value, or raise MemberError MethodNotFound."""
    low = name.lower()
    if isinstance(obj, str) and low in _STR_METHODS:
        return _STR_METHODS[low](obj, args)
    if isinstance(obj, _dt.datetime) and low in _DATE_METHODS:
        return _DATE_METHODS[low](obj, args)
    if low == "tostring":
        return to_string(obj)
    if low == "gettype":
        from pjsh.runtime.values import type_names
        names = type_names(obj)
        return PSObject({"Name": (names[0].rsplit(".", 1)[-1] if names else "Object"),
                         "FullName": names[0] if names else "System.Object"},
                        type_names=("System.RuntimeType",))
    if low == "equals":
        # Value types and strings compare by value, other objects by reference (as .NET).
        other = _arg(args, 0)
        if isinstance(obj, (bool, int, float, str)) or obj is None:
            return type(obj) is type(other) and obj == other
        return obj is other
    if low == "gethashcode":
        hashed: object = obj if isinstance(obj, (bool, int, float, str)) else id(obj)
        return hash(hashed) & 0x7FFFFFFF
    if isinstance(obj, list):
        if low == "contains":
            from pjsh.runtime.operators import equals
            return any(equals(i, _arg(args, 0)) for i in obj)
        if low == "indexof":
            from pjsh.runtime.operators import equals
            for i, item in enumerate(obj):
                if equals(item, _arg(args, 0)):
                    return i
            return -1
        if low in ("add", "remove", "clear"):
            raise MemberError("NotSupported", "Collection was of a fixed size.")
    if isinstance(obj, Hashtable):
        if low == "containskey":
            return _arg(args, 0) in obj
        if low == "containsvalue":
            return _arg(args, 0) in list(obj.values())
        if low == "add":
            key = _arg(args, 0)
            if key in obj:
                raise MemberError(
                    "ArgumentException",
                    f"Item has already been added. Key in dictionary: '{key}'  Key being added: '{key}'")
            obj[key] = _arg(args, 1)
            return None
        if low == "remove":
            obj.pop(_arg(args, 0), None)
            return None
        if low == "clear":
            obj.clear()
            return None
    # Methods exposed by Python classes: ps_methods = ("Name", ...), implemented as attributes.
    methods = getattr(obj, "ps_method_names", ())
    for m in methods:
        if m.lower() == low:
            return getattr(obj, m)(*args)
    if isinstance(obj, PSObject):
        v = obj.get(name)
        if callable(v):
            return v(*args)
    type_name = "System.Object"
    from pjsh.runtime.values import type_names as _tn
    tn = _tn(obj)
    if tn:
        type_name = tn[0]
    raise MemberError("MethodNotFound",
                      f"Method invocation failed because [{type_name}] does not contain a method "
                      f"named '{name}'.")


# ---------------------------------------------------------------------------------------------
# Member listing (Get-Member): what the functions above let scripts read and call
# ---------------------------------------------------------------------------------------------

# .NET type names as pwsh's member definitions spell them (its type accelerators).
_SHORT_TYPES = {
    "System.Int32": "int", "System.Int64": "long", "System.String": "string",
    "System.Boolean": "bool", "System.Double": "double", "System.DateTime": "datetime",
    "System.TimeSpan": "timespan", "System.Collections.Hashtable": "hashtable",
    "System.Management.Automation.ScriptBlock": "scriptblock", "System.Char": "char",
    "System.Object[]": "Object[]",
}

_COMMON_METHODS = {
    "Equals": "bool Equals(System.Object obj)",
    "GetHashCode": "int GetHashCode()",
    "GetType": "type GetType()",
    "ToString": "string ToString()",
}

_STRING_METHODS = {
    "Contains": "bool Contains(string value)",
    "EndsWith": "bool EndsWith(string value)",
    "Equals": "bool Equals(System.Object obj), bool Equals(string value)",
    "IndexOf": "int IndexOf(string value)",
    "Insert": "string Insert(int startIndex, string value)",
    "LastIndexOf": "int LastIndexOf(string value)",
    "PadLeft": "string PadLeft(int totalWidth), string PadLeft(int totalWidth, char paddingChar)",
    "PadRight": "string PadRight(int totalWidth), string PadRight(int totalWidth, "
                "char paddingChar)",
    "Remove": "string Remove(int startIndex), string Remove(int startIndex, int count)",
    "Replace": "string Replace(string oldValue, string newValue)",
    "Split": "string[] Split(Params char[] separator)",
    "StartsWith": "bool StartsWith(string value)",
    "Substring": "string Substring(int startIndex), string Substring(int startIndex, int length)",
    "ToCharArray": "char[] ToCharArray()",
    "ToLower": "string ToLower()",
    "ToUpper": "string ToUpper()",
    "Trim": "string Trim(), string Trim(Params char[] trimChars)",
    "TrimEnd": "string TrimEnd(), string TrimEnd(Params char[] trimChars)",
    "TrimStart": "string TrimStart(), string TrimStart(Params char[] trimChars)",
}

_DATE_PROPERTIES = {
    "Date": "datetime", "Day": "int", "DayOfWeek": "System.DayOfWeek", "Hour": "int",
    "Millisecond": "int", "Minute": "int", "Month": "int", "Second": "int", "Ticks": "long",
    "Year": "int",
}

_DATE_METHODS_DEF = {
    "AddDays": "datetime AddDays(double value)",
    "AddHours": "datetime AddHours(double value)",
    "AddMilliseconds": "datetime AddMilliseconds(double value)",
    "AddMinutes": "datetime AddMinutes(double value)",
    "AddSeconds": "datetime AddSeconds(double value)",
    "ToLocalTime": "datetime ToLocalTime()",
    "ToString": "string ToString(), string ToString(string format)",
    "ToUniversalTime": "datetime ToUniversalTime()",
}

_TIMESPAN_PROPERTIES = {
    "Days": "int", "Milliseconds": "int", "Seconds": "int", "TotalMilliseconds": "double",
    "TotalMinutes": "double", "TotalSeconds": "double",
}

_HASHTABLE_METHODS = {
    "Add": "void Add(System.Object key, System.Object value)",
    "Clear": "void Clear()",
    "ContainsKey": "bool ContainsKey(System.Object key)",
    "ContainsValue": "bool ContainsValue(System.Object value)",
    "Remove": "void Remove(System.Object key)",
}

_ARRAY_METHODS = {
    "Contains": "bool Contains(System.Object value)",
    "IndexOf": "int IndexOf(System.Object value)",
}

# [type]::Member of the types pjsh's dotnet module answers, by the first type name of a value.
_STATIC_MEMBERS: dict[str, list[tuple[str, str, str]]] = {
    "System.String": [
        ("Concat", "Method", "static string Concat(Params System.Object[] args)"),
        ("Empty", "Property", "static string Empty"),
        ("Format", "Method", "static string Format(string format, Params System.Object[] args)"),
        ("IsNullOrEmpty", "Method", "static bool IsNullOrEmpty(string value)"),
        ("IsNullOrWhiteSpace", "Method", "static bool IsNullOrWhiteSpace(string value)"),
        ("Join", "Method", "static string Join(string separator, Params System.Object[] values)"),
        ("new", "Method", "string new(char c, int count)"),
    ],
    "System.Int32": [
        ("MaxValue", "Property", "static int MaxValue = 2147483647"),
        ("MinValue", "Property", "static int MinValue = -2147483648"),
        ("Parse", "Method", "static int Parse(string s)"),
    ],
    "System.Int64": [
        ("MaxValue", "Property", "static long MaxValue = 9223372036854775807"),
        ("MinValue", "Property", "static long MinValue = -9223372036854775808"),
        ("Parse", "Method", "static long Parse(string s)"),
    ],
    "System.Double": [
        ("MaxValue", "Property", "static double MaxValue = 1.79769313486232E+308"),
        ("NaN", "Property", "static double NaN = NaN"),
        ("Parse", "Method", "static double Parse(string s)"),
        ("PositiveInfinity", "Property", "static double PositiveInfinity = Infinity"),
    ],
    "System.DateTime": [
        ("Now", "Property", "static datetime Now {get;}"),
        ("Parse", "Method", "static datetime Parse(string s)"),
        ("Today", "Property", "static datetime Today {get;}"),
        ("UtcNow", "Property", "static datetime UtcNow {get;}"),
    ],
    "System.TimeSpan": [
        ("FromMilliseconds", "Method", "static timespan FromMilliseconds(double value)"),
        ("FromSeconds", "Method", "static timespan FromSeconds(double value)"),
    ],
}


def short_type_name(value: object) -> str:
    """The type of a value as a member definition names it (``int``, ``string``, ``Object[]``)."""
    from pjsh.runtime.values import type_names

    if value is None:
        return "System.Object"
    names = type_names(value)
    first = names[0] if names else "System.Object"
    return _SHORT_TYPES.get(first, first)


def _property_definition(obj: object, name: str, value: object) -> str:
    # Read-only when the Python class makes it a property without a setter.
    attr = getattr(type(obj), name, None)
    settable = not isinstance(attr, property) or attr.fset is not None
    access = "{get;set;}" if settable and not isinstance(obj, (str, list, tuple)) else "{get;}"
    return f"{short_type_name(value)} {name} {access}"


def _method_definition(obj: object, name: str) -> str:
    import inspect

    try:
        sig = inspect.signature(getattr(obj, name))
    except (TypeError, ValueError):
        return f"System.Object {name}()"
    params = ", ".join(f"System.Object {p}" for p in sig.parameters)
    return f"System.Object {name}({params})"


def list_members(obj: object, static: bool = False,
                 force: bool = False) -> list[tuple[str, str, str]]:
    """The members scripts can use on a value, as (name, member type, definition) sorted like
    Get-Member (by member type, then name). ``static`` lists ``[type]::`` members instead;
    ``force`` adds the intrinsic ``psobject`` member set."""
    from pjsh.runtime.values import ps_properties, type_names

    if static:
        names = type_names(obj)
        found = list(_STATIC_MEMBERS.get(names[0] if names else "", []))
        return sorted(found, key=lambda m: (m[1].lower(), m[0].lower()))
    methods: dict[str, str] = dict(_COMMON_METHODS)
    members: list[tuple[str, str, str]] = []
    if isinstance(obj, str):
        methods.update(_STRING_METHODS)
        members.append(("Length", "Property", "int Length {get;}"))
    elif isinstance(obj, (list, tuple)):
        methods.update(_ARRAY_METHODS)
        members.append(("Count", "AliasProperty", "Count = Length"))
        members.append(("Length", "Property", "int Length {get;}"))
    elif isinstance(obj, Hashtable):
        methods.update(_HASHTABLE_METHODS)
        members.append(("Count", "Property", "int Count {get;}"))
        members.append(("Keys", "Property", "System.Collections.ICollection Keys {get;}"))
        members.append(("Values", "Property", "System.Collections.ICollection Values {get;}"))
    elif isinstance(obj, _dt.datetime):
        methods.update(_DATE_METHODS_DEF)
        members.extend((n, "Property", f"{t} {n} {{get;}}") for n, t in _DATE_PROPERTIES.items())
    elif isinstance(obj, _dt.timedelta):
        members.extend((n, "Property", f"{t} {n} {{get;}}")
                       for n, t in _TIMESPAN_PROPERTIES.items())
    elif isinstance(obj, PSObject):
        for name, value in obj.property_items():
            if value is None:
                shown = "object", "null"
            elif isinstance(value, (list, tuple)):
                shown = "Object[]", "System.Object[]"
            else:
                shown = short_type_name(value), to_string(value)
            members.append((name, "NoteProperty", f"{shown[0]} {name}={shown[1]}"))
    else:
        members.extend((name, "Property", _property_definition(obj, name, value))
                       for name, value in ps_properties(obj))
    for name in getattr(obj, "ps_method_names", ()):
        methods[name] = _method_definition(obj, name)
    members.extend((name, "Method", definition) for name, definition in methods.items())
    if force and obj is not None:
        members.append(("psobject", "MemberSet", "psobject {BaseObject, Properties, TypeNames}"))
    return sorted(members, key=lambda m: (m[1].lower(), m[0].lower()))
