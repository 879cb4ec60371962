"""Cmdlet arguments are typed records: each built-in cmdlet declares a ``Bound`` subclass with
one annotated attribute per parameter of its table (``args_type``), receives it in begin,
process and end, and reads every parameter it declares (a parameter that help and completion
advertise but the cmdlet never reads is a bug)."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import types
from collections.abc import Iterator

import pytest

from pjsh.commands import BUILTIN_MANIFEST
from pjsh.commands.objects import _WHERE_OPERATORS
from pjsh.remote import REMOTE_MANIFEST
from pjsh.runtime.cmdlet import Bound, Cmdlet, Param, Registry

# The built-in cmdlets and the remoting ones the console and scripted modes add.
REGISTRY = Registry.from_manifest({**BUILTIN_MANIFEST, **REMOTE_MANIFEST})
CMDLETS = sorted(set(REGISTRY.commands.values()), key=lambda c: c.spec.name)


def expected_annotation(decls: list[Param], all_sets: list[str]) -> str:
    """The annotation a parameter's record attribute must have.

    The value's type comes from the parameter type; it may be None unless the parameter is a
    switch, has a default, or is mandatory in every set without taking pipeline input (those
    are bound before ``begin``).
    """
    types: list[str] = []
    for d in decls:
        if d.type.python not in types:
            types.append(d.type.python)
    text = " | ".join(types)
    first = decls[0]
    if first.type.is_switch:
        return "bool"
    if first.default is not None or text == "object":
        return text
    in_every_set = all(not d.sets for d in decls) or set(all_sets) <= {
        s for d in decls for s in d.sets}
    always_bound = in_every_set and all(
        d.mandatory and not d.pipeline and not d.pipeline_by_name for d in decls)
    return text if always_bound else f"{text} | None"


def declared(cls: type[Cmdlet]) -> dict[str, list[Param]]:
    """The cmdlet's parameters by name (a name may be declared once per group of sets)."""
    by_name: dict[str, list[Param]] = {}
    for p in cls.spec.params:
        by_name.setdefault(p.name, []).append(p)
    return by_name


def _unqualified(annotation: str) -> str:
    """An annotation with each union member reduced to its last dotted component, so that
    ``scriptblock.ScriptBlock | None`` (qualified where an attribute shares its type's name,
    which mypy would otherwise resolve to the attribute) matches ``ScriptBlock | None``."""
    return " | ".join(m.strip().rsplit(".", 1)[-1] for m in annotation.split("|"))


def record_annotations(record: type[Bound]) -> dict[str, str]:
    """The attribute annotations of a record and its Bound bases, as written."""
    found: dict[str, str] = {}
    for klass in reversed(record.__mro__):
        if issubclass(klass, Bound) and klass is not Bound:
            found.update(inspect.get_annotations(klass))
    return found


@pytest.mark.parametrize("cls", CMDLETS, ids=lambda c: c.spec.name)
def test_every_cmdlet_declares_a_typed_record_of_exactly_its_parameters(
        cls: type[Cmdlet]) -> None:
    params = declared(cls)
    if params:
        assert cls.args_type is not Bound, f"{cls.spec.name} has no args_type"
    annotations = record_annotations(cls.args_type)
    assert set(annotations) == set(params)
    sets = cls.spec.set_names()
    for name, decls in params.items():
        assert _unqualified(annotations[name]) == _unqualified(
            expected_annotation(decls, sets)), name


@pytest.mark.parametrize("cls", CMDLETS, ids=lambda c: c.spec.name)
def test_every_cmdlet_receives_its_own_record_in_begin_process_and_end(
        cls: type[Cmdlet]) -> None:
    accepted = {k.__name__ for k in cls.args_type.__mro__ if issubclass(k, Bound)}
    for method in ("begin", "process", "end"):
        func = getattr(cls, method)
        owner = next(k for k in cls.__mro__ if method in k.__dict__)
        if owner is Cmdlet:
            continue  # not overridden
        annotation = func.__annotations__.get("args")
        assert annotation in accepted, f"{owner.__name__}.{method}(args: {annotation})"


# ---- every declared parameter is read ---------------------------------------------------------

_ARG_NAMES = {"args", "bound"}  # what cmdlets call their record


def _is_record(node: ast.expr) -> bool:
    """``args`` or ``bound``, or an object's ``.args`` (a helper keeping its cmdlet's record)."""
    return (isinstance(node, ast.Name) and node.id in _ARG_NAMES) or (
        isinstance(node, ast.Attribute) and node.attr in _ARG_NAMES)


def _reads(node: ast.AST) -> Iterator[str]:
    """Parameter names read from a record inside ``node``: ``args.Name``, ``"Name" in args``,
    ``args.get("Name")``."""
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and _is_record(n.value):
            yield n.attr
        elif isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant) \
                and isinstance(n.left.value, str) and any(
                    isinstance(c, ast.Name) and c.id in _ARG_NAMES for c in n.comparators):
            yield n.left.value
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr == "get" and isinstance(n.func.value, ast.Name) \
                and n.func.value.id in _ARG_NAMES and n.args \
                and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str):
            yield n.args[0].value


def _called_names(node: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _tree(obj: type | types.FunctionType) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(obj)))


def parameters_read(cls: type[Cmdlet]) -> set[str]:
    """Every parameter name the cmdlet's code reads: its class and base classes, and the
    functions and helper classes of the command modules they call (transitively)."""
    found: set[str] = set()
    todo: list[type | types.FunctionType] = [
        k for k in cls.__mro__ if k not in (Cmdlet, object) and issubclass(k, Cmdlet)]
    seen: set[object] = set(todo)
    while todo:
        current = todo.pop()
        tree = _tree(current)
        found.update(_reads(tree))
        namespace = vars(importlib.import_module(current.__module__))
        for name in _called_names(tree):
            target = namespace.get(name)
            if (inspect.isfunction(target) or inspect.isclass(target)) \
                    and target.__module__.startswith(("pjsh.commands.", "pjsh.remote.commands")) \
                    and target not in seen:
                seen.add(target)
                todo.append(target)
    return found


_JOB_FILTER = ("-Filter selects the Filter set, whose branch in select_jobs warns that the "
               "parameter applies only to custom job types (as pwsh documents); the hashtable "
               "itself has nothing to match in pjsh")

# Declared parameters a cmdlet may leave unread, each with the reason. Keep this short: a
# parameter that does nothing should be implemented or removed from its table instead.
UNREAD_ALLOWED: dict[str, dict[str, str]] = {
    **{name: {"Filter": _JOB_FILTER} for name in (
        "Get-Job", "Wait-Job", "Stop-Job", "Remove-Job", "Resume-Job", "Enter-Job")},
    "Suspend-Job": {
        "Filter": _JOB_FILTER,
        "Force": "pwsh's -Force skips waiting for a workflow checkpoint; pjsh jobs have none "
                 "and are always suspended at once",
    },
    "Where-Object": {
        switch: "the operator switches are read in one loop over _WHERE_OPERATORS"
        for switch, _, _ in _WHERE_OPERATORS},
    "Out-Null": {"InputObject": "Out-Null discards its input: binding it is all it does"},
    "Sort-Object": {"Stable": "the sort is always stable (Python's sort is)"},
    "Stop-Process": {"Force": "pwsh's -Force only skips the confirmation prompt for other "
                              "users' processes; pjsh never asks"},
    "Get-Process": {"IncludeUserName": "every process object carries UserName already"},
    "ForEach-Object": {"UseNewRunspace": "every -Parallel task already runs in a runspace of "
                                         "its own (a thread job's), so the switch changes "
                                         "nothing"},
}


@pytest.mark.parametrize("cls", CMDLETS, ids=lambda c: c.spec.name)
def test_every_declared_parameter_is_read_by_its_cmdlet(cls: type[Cmdlet]) -> None:
    read = parameters_read(cls)
    allowed = set(UNREAD_ALLOWED.get(cls.spec.name, {}))
    unread = set(declared(cls)) - read - allowed
    assert not unread, f"{cls.spec.name} never reads: {sorted(unread)}"
    stale = allowed - (set(declared(cls)) - read)
    assert not stale, f"{cls.spec.name}: allowed to leave unread but read or gone: {stale}"


def test_the_allow_list_names_only_registered_cmdlets() -> None:
    assert set(UNREAD_ALLOWED) <= {c.spec.name for c in CMDLETS}
