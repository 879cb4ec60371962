"""A lean stand-in for :mod:`dataclasses`, used by every module on the start-up path.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``, ``linecache``):
about 12 ms, a sixth of ``pjsh -c exit``. The engine only needs generated ``__init__``,
``__repr__``, ``__eq__``/``__hash__``, frozen instances, defaults and default factories,
keyword-only fields, ``fields()`` and ``replace()``, which this module provides in the same
spelling. Type checkers see it as a dataclass through :pep:`681` (``dataclass_transform``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

__all__ = ["Field", "FrozenInstanceError", "dataclass", "field", "fields", "replace"]

_T = TypeVar("_T")
_MISSING: Any = object()

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_kwargs: object) -> Callable[[_T], _T]:
        """Runtime no-op: the marker only matters to type checkers."""
        return lambda f: f


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen instance."""


class Field:
    """One field: its name, default or default factory, and flags."""

    __slots__ = ("compare", "default", "default_factory", "kw_only", "name", "repr")

    def __init__(self, default: Any = _MISSING, default_factory: Any = _MISSING,
                 kw_only: bool = False, repr: bool = True, compare: bool = True) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.kw_only = kw_only
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
          kw_only: bool = False, repr: bool = True, compare: bool = True) -> Any:
    """Declare a field with a default, a default factory or flags (as dataclasses.field)."""
    return Field(default, _MISSING if default_factory is None else default_factory, kw_only,
                 repr, compare)


def fields(obj: object) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    cls = obj if isinstance(obj, type) else type(obj)
    return tuple(getattr(cls, "__record_fields__", ()))


def replace(obj: _T, **changes: Any) -> _T:
    """A copy of a record with some fields changed."""
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _collect(cls: type) -> list[Field]:
    merged: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            merged[f.name] = f
    # The class's own annotations only (inherited fields come from __record_fields__ above).
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        merged[name] = f
        if isinstance(value, Field):
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    return list(merged.values())


def _build(cls: type, frozen: bool, eq: bool, add_repr: bool) -> type:
    all_fields = _collect(cls)
    names: dict[str, Any] = {"_MISSING": _MISSING, "_setattr": object.__setattr__}
    params: list[str] = []
    lines: list[str] = []
    kw_started = False
    ordered = [f for f in all_fields if not f.kw_only] + [f for f in all_fields if f.kw_only]
    for f in ordered:
        if f.kw_only and not kw_started:
            params.append("*")
            kw_started = True
        if f.default_factory is not _MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
        elif f.default is not _MISSING:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        if frozen:
            lines.append(f"    _setattr(self, {f.name!r}, {value})")
        else:
            lines.append(f"    self.{f.name} = {value}")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(lines) or "    pass")
    namespace: dict[str, Any] = {}
    exec(source, names, namespace)  # generated from field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    shown = tuple(f.name for f in all_fields if f.repr)
    compared = tuple(f.name for f in all_fields if f.compare)
    if add_repr:
        def __repr__(self: Any) -> str:
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
            return f"{type(self).__qualname__}({inner})"

        cls.__repr__ = __repr__  # type: ignore[assignment]
    if eq:
        # One C-level attrgetter builds the compared values (a tuple for several fields):
        # no getattr per field in Python, and nothing to compile at import.
        key: Callable[[Any], object] = (
            operator.attrgetter(*compared) if compared else (lambda _self: ()))

        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is not self.__class__:
                return NotImplemented
            return self is other or key(self) == key(other)

        cls.__eq__ = __eq__  # type: ignore[assignment]
        if frozen:
            def __hash__(self: Any) -> int:
                return hash(key(self))

            cls.__hash__ = __hash__  # type: ignore[assignment]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
    if frozen:
        def __setattr__(self: Any, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self: Any, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

        cls.__setattr__ = __setattr__  # type: ignore[method-assign, assignment]
        cls.__delattr__ = __delattr__  # type: ignore[method-assign, assignment]
    cls.__record_fields__ = tuple(all_fields)  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(  # type: ignore[misc, attr-defined]
        f.name for f in all_fields if not f.kw_only)
    return cls


@overload
def dataclass(cls: type[_T], /) -> type[_T]: ...


@overload
def dataclass(*, frozen: bool = False, eq: bool = True,
              repr: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: type[_T] | None = None, /, *, frozen: bool = False, eq: bool = True,
              repr: bool = True) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Turn a class with annotated fields into a record class (like dataclasses.dataclass)."""
    def wrap(c: type[_T]) -> type[_T]:
        return _build(c, frozen, eq, repr)

    if cls is None:
        return wrap
    return wrap(cls)
