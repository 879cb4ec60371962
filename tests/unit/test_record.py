"""The lean dataclass stand-in used on the start-up path."""

from __future__ import annotations

from typing import ClassVar

import pytest

from pjsh.lang.record import FrozenInstanceError, dataclass, field, fields, replace


@dataclass
class Base:
    a: int
    b: str = "x"


@dataclass
class Child(Base):
    c: list[int] = field(default_factory=list)
    d: int = field(default=0, kw_only=True)
    kind: ClassVar[str] = "child"


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0


def test_init_takes_inherited_fields_first_and_keyword_only_last() -> None:
    c = Child(1, "y", [2], d=4)
    assert (c.a, c.b, c.c, c.d) == (1, "y", [2], 4)
    assert [f.name for f in fields(c)] == ["a", "b", "c", "d"]


def test_default_factories_give_each_instance_its_own_value() -> None:
    one, two = Child(1), Child(2)
    one.c.append(5)
    assert two.c == []


def test_class_variables_are_not_fields() -> None:
    assert "kind" not in [f.name for f in fields(Child)]
    assert Child.kind == "child"


def test_equality_repr_and_replace() -> None:
    assert Base(1) == Base(1)
    assert Base(1) != Base(2)
    assert Base(1) != Child(1)
    assert repr(Base(1)) == "Base(a=1, b='x')"
    assert replace(Child(1, d=3), b="z") == Child(1, "z", d=3)


def test_frozen_records_hash_and_refuse_assignment() -> None:
    p = Point(1, 2)
    assert hash(p) == hash(Point(1, 2))
    with pytest.raises(FrozenInstanceError):
        p.x = 3  # type: ignore[misc]


def test_mutable_records_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Base(1))
