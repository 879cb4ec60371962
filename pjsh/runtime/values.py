"""The object model: property bags, hashtables and the property protocol every value speaks.

Plain Python values stand for PowerShell's primitives: ``int``, ``float``, ``str``, ``bool``,
``None`` ($null), ``list`` (arrays). Richer objects are either :class:`PSObject` property bags
or Python classes that declare ``ps_type_names`` and ``ps_property_names`` (for example jobs
and file entries); :func:`ps_properties` reads both the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pjsh.runtime.formatting import Block

    _MappingBase = MutableMapping[object, object]
    _BlockListBase = list[Block]
else:
    # Python 3.8 (where the engine also runs) cannot subscript these at run time; the
    # parameters only matter to type checkers, and 3.9+ builds the same class either way.
    _MappingBase = MutableMapping
    _BlockListBase = list


class PSObject:
    """A property bag with PowerShell type names; property names are case-insensitive."""

    __slots__ = ("_props", "type_names")

    def __init__(
        self,
        properties: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
        type_names: Sequence[str] = ("System.Management.Automation.PSCustomObject",),
    ) -> None:
        self.type_names: list[str] = list(type_names)
        self._props: dict[str, tuple[str, object]] = {}
        items = properties.items() if isinstance(properties, Mapping) else (properties or ())
        for name, value in items:
            self.set(name, value)

    def set(self, name: str, value: object) -> None:
        """Set a property, keeping the spelling and position of an existing one."""
        key = name.lower()
        old = self._props.get(key)
        self._props[key] = (old[0] if old else name, value)

    def get(self, name: str, default: object = None) -> object:
        """Return a property's value, or ``default`` when it does not exist."""
        entry = self._props.get(name.lower())
        return entry[1] if entry else default

    def has(self, name: str) -> bool:
        """Tell whether the property exists."""
        return name.lower() in self._props

    def remove(self, name: str) -> None:
        """Delete a property if present."""
        self._props.pop(name.lower(), None)

    def property_items(self) -> list[tuple[str, object]]:
        """Return (name, value) pairs in definition order."""
        return list(self._props.values())

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PSObject)
            and self.type_names == other.type_names
            and self.property_items() == other.property_items()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = "; ".join(f"{k}={v!r}" for k, v in self.property_items())
        return f"PSObject({self.type_names[0] if self.type_names else ''}: {inner})"


class DeserializedObject(PSObject):
    """A property bag rebuilt from another process: keeps the original's string form, as
    pwsh's deserialized objects keep their ToString."""

    __slots__ = ("text",)

    def __init__(
        self,
        properties: Mapping[str, object] | Iterable[tuple[str, object]] | None,
        type_names: Sequence[str],
        text: str,
    ) -> None:
        super().__init__(properties, type_names)
        self.text = text


class Hashtable(_MappingBase):
    """PowerShell's @{} : insertion-ordered, with case-insensitive string keys."""

    __slots__ = ("_data",)

    def __init__(self, items: Mapping[object, object] | Iterable[tuple[object, object]] = ()) -> None:
        self._data: dict[object, tuple[object, object]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for k, v in pairs:
            self[k] = v

    @staticmethod
    def _key(key: object) -> object:
        return key.lower() if isinstance(key, str) else key

    def __getitem__(self, key: object) -> object:
        return self._data[self._key(key)][1]

    def __setitem__(self, key: object, value: object) -> None:
        k = self._key(key)
        old = self._data.get(k)
        self._data[k] = (old[0] if old else key, value)

    def __delitem__(self, key: object) -> None:
        del self._data[self._key(key)]

    def __iter__(self) -> Iterator[object]:
        return (orig for orig, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return self._key(key) in self._data

    def __repr__(self) -> str:
        return "@{" + "; ".join(f"{k}={v!r}" for k, v in self.items()) + "}"


class PSPropertyClass:
    """Mixin for Python classes exposed to scripts: list the properties scripts may read."""

    ps_type_names: ClassVar[tuple[str, ...]] = ("System.Object",)
    ps_property_names: ClassVar[tuple[str, ...]] = ()


def type_names(value: object) -> list[str]:
    """Return the PowerShell type names of a value, most specific first."""
    if isinstance(value, PSObject):
        return value.type_names
    names = getattr(value, "ps_type_names", None)
    if names is not None:
        return list(names)
    if value is None:
        return []
    if isinstance(value, bool):
        return ["System.Boolean"]
    if isinstance(value, int):
        return ["System.Int32"] if -(2**31) <= value < 2**31 else ["System.Int64"]
    if isinstance(value, float):
        return ["System.Double"]
    if isinstance(value, str):
        return ["System.String"]
    if isinstance(value, Hashtable):
        return ["System.Collections.Hashtable"]
    if isinstance(value, (list, tuple)):
        return ["System.Object[]"]
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return ["System.DateTime"]
    if isinstance(value, _dt.timedelta):
        return ["System.TimeSpan"]
    return [f"Python.{type(value).__name__}"]


def is_scalar(value: object) -> bool:
    """Tell whether a value formats as a single line (no property table)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, PSObject):
        return False
    if getattr(value, "ps_property_names", None) is not None:
        return False
    return not isinstance(value, (Hashtable, dict))


def ps_properties(value: object) -> list[tuple[str, object]]:
    """Return a value's displayable (name, value) properties in order; [] for scalars."""
    if isinstance(value, PSObject):
        return value.property_items()
    names = getattr(value, "ps_property_names", None)
    if names is not None:
        return [(n, getattr(value, n, None)) for n in names]
    return []


def lookup_property(value: object, name: str) -> tuple[bool, Any]:
    """Find a property by case-insensitive name: (found, value)."""
    if isinstance(value, PSObject):
        if value.has(name):
            return True, value.get(name)
        return False, None
    names = getattr(value, "ps_property_names", None)
    if names is not None:
        # A lower-case index per class (checked against the names it was built from, which
        # an instance may override): formatting looks up every column of every row.
        cls = type(value)
        entry = _NAME_INDEX.get(cls)
        if entry is None or entry[0] is not names:
            index: dict[str, str] = {}
            for n in names:
                index.setdefault(n.lower(), n)
            entry = _NAME_INDEX[cls] = (names, index)
        attr = entry[1].get(name.lower())
        if attr is not None:
            return True, getattr(value, attr, None)
    return False, None


_NAME_INDEX: dict[type, tuple[object, dict[str, str]]] = {}


# The file system provider, as PowerShell names it.
PROVIDER_NAME = "Microsoft.PowerShell.Core\\FileSystem"


class PathInfo(PSPropertyClass):
    """A location (``System.Management.Automation.PathInfo``); its string form is the path."""

    ps_type_names = ("System.Management.Automation.PathInfo", "System.Object")
    # Only Path is listed, so a PathInfo shows as pwsh shows it: a one-column table.
    ps_property_names = ("Path",)

    __slots__ = ("Path",)

    def __init__(self, path: str) -> None:
        self.Path = path

    @property
    def ProviderPath(self) -> str:
        """The path as the file system knows it (the same on Unix)."""
        return self.Path

    @property
    def Provider(self) -> str:
        """The provider's name."""
        return PROVIDER_NAME

    @property
    def Drive(self) -> str:
        """The drive: ``/`` on Unix."""
        return "/"

    def __str__(self) -> str:
        return self.Path

    def __repr__(self) -> str:
        return f"PathInfo({self.Path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathInfo) and other.Path == self.Path

    def __hash__(self) -> int:
        return hash(self.Path)


class FormatOutput(_BlockListBase, PSPropertyClass):
    """What Format-Table / Format-List output: already formatted blocks.

    It is a list of blocks so that anything that formats output (the host, Out-String,
    Out-File, ``>`` redirection) enumerates it and passes the blocks through unchanged instead
    of formatting the object again.
    """

    ps_type_names = ("Microsoft.PowerShell.Commands.Internal.Format.FormatEntryData",)
    ps_property_names = ()

    def __init__(self, blocks: Iterable[Block] = ()) -> None:
        """Hold ``blocks``."""
        super().__init__(blocks)

    @property
    def blocks(self) -> list[Block]:
        """The formatted blocks."""
        return list(self)

    def __repr__(self) -> str:
        return f"FormatOutput({list.__repr__(self)})"
