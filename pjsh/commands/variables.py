"""Variables and aliases as commands: the *-Variable and *-Alias cmdlets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from pjsh.lang.record import dataclass, field
from pjsh.runtime import fastpath
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import OBJECT, STRING, STRINGS, SWITCH, as_list, to_string
from pjsh.runtime.operators import has_wildcard, wildcard_regex
from pjsh.runtime.scopes import Scope
from pjsh.runtime.values import PSPropertyClass

if TYPE_CHECKING:
    from pjsh.commands.commandinfo import AliasInfo
    from pjsh.runtime.formatting import ViewTable
    from pjsh.runtime.interpreter import Frame, Interpreter

_NS = "Microsoft.PowerShell.Commands"
_PSVARIABLE = "System.Management.Automation.PSVariable"

# Variables the interpreter answers itself (they live in no scope table) but that pwsh lists.
_AUTOMATIC = ("true", "false", "null", "PID", "PWD", "HOME", "Error", "LASTEXITCODE")
_AUTOMATIC_OPTIONS = {"true": "Constant, AllScope", "false": "Constant, AllScope",
                      "null": "None", "pid": "Constant, AllScope", "home": "ReadOnly, AllScope",
                      "pwd": "None", "error": "Constant", "lastexitcode": "None"}


@dataclass
class PSVariable(PSPropertyClass):
    """What the *-Variable cmdlets output: a variable's name and value."""

    ps_type_names: ClassVar[tuple[str, ...]] = (_PSVARIABLE, "System.Object")
    ps_property_names: ClassVar[tuple[str, ...]] = (
        "Name", "Description", "Value", "Visibility", "Module", "ModuleName", "Options",
        "Attributes")

    Name: str
    Value: object = None
    Description: str = ""
    Visibility: str = "Public"
    Module: object = None
    ModuleName: str = ""
    Options: str = "None"
    Attributes: list[object] = field(default_factory=list)

    def __str__(self) -> str:
        return self.Name


def format_views(table: ViewTable) -> None:
    """This module's default views: pwsh's Variable view, the name in 30 columns, the value
    in the rest."""
    from pjsh.runtime.formatting import TableView

    table.register(_PSVARIABLE, TableView((("Name", "Name", 30, "left"),
                                           ("Value", "Value", None, "left"))))


def caller(cmd: Cmdlet) -> tuple[Interpreter, Frame]:
    """The interpreter and frame running this cmdlet: variables are read and set there."""
    return cmd.ctx.caller()


def resolve_scope(cmd: Cmdlet, current: Scope, scope: object, command_class: str) -> Scope:
    """The scope -Scope names: Global, Script, Local/Private, or a number of levels up."""
    text = to_string(scope).strip()
    low = text.lower()
    if low in ("", "local", "private"):
        return current
    if low == "global":
        return current.global_scope
    if low == "script":
        return current.script_scope
    if text.isdigit():
        target: Scope | None = current
        for _ in range(int(text)):
            target = target.parent if target is not None else None
            if target is None:  # past the global scope: a huge number must not spin
                break
        if target is not None:
            return target
        cmd.ctx.throw(f"The scope number '{text}' exceeds the number of active scopes. "
                      f"(Parameter 'Scope')\nActual value was {text}.",
                      f"ArgumentOutOfRange,{_NS}.{command_class}", "InvalidArgument", text,
                      "System.Management.Automation.PSArgumentOutOfRangeException")
    cmd.ctx.throw(f"The scope \"{text}\" is not valid: use Global, Script, Local or a number.",
                  f"Argument,{_NS}.{command_class}", "InvalidArgument", text,
                  "System.Management.Automation.PSArgumentException")
    raise AssertionError("unreachable")


def _patterns(names: object) -> list[re.Pattern[str]]:
    return [wildcard_regex(to_string(n)) for n in as_list(names)]


def _excluded(name: str, exclude: list[re.Pattern[str]], include: list[re.Pattern[str]]) -> bool:
    if include and not any(rx.match(name) for rx in include):
        return True
    return any(rx.match(name) for rx in exclude)


def _owner(scope: Scope, name: str) -> Scope | None:
    """The scope (this one or an ancestor) that holds a variable."""
    current: Scope | None = scope
    while current is not None:
        if current.get_local(name)[0]:
            return current
        current = current.parent
    return None


def _not_found(cmd: Cmdlet, name: str, command_class: str) -> None:
    cmd.ctx.write_error(cmd.ctx.error(
        f"Cannot find a variable with the name '{name}'.",
        f"VariableNotFound,{_NS}.{command_class}", "ObjectNotFound", name,
        "System.Management.Automation.ItemNotFoundException"))


def _scope_items(cmd: Cmdlet, frame: Frame, interp: Interpreter, args: GetVariableArgs,
                 command_class: str) -> list[tuple[str, object]]:
    """(name, value) of the variables visible (or, with -Scope, defined) in the asked scope."""
    if args.Scope is not None:
        scope = resolve_scope(cmd, frame.scope, args.Scope, command_class)
        items = [(n, scope.get_local(n)[1]) for n in scope.local_names()]
        automatic = scope.parent is None
    else:
        items = frame.scope.items()
        automatic = True
    if automatic:
        known = {n.lower() for n, _ in items}
        for name in _AUTOMATIC:
            if name.lower() not in known:
                items.append((name, interp.get_variable(frame, name, None)))
    return items


def _variable(name: str, value: object) -> PSVariable:
    return PSVariable(Name=name, Value=value,
                      Options=_AUTOMATIC_OPTIONS.get(name.lower(), "None"))


# ---------------------------------------------------------------------------------------------
# Get-Variable
# ---------------------------------------------------------------------------------------------


class GetVariableArgs(Bound):
    """Get-Variable's parameters."""

    Name: list[str] | None
    ValueOnly: bool
    Include: list[str] | None
    Exclude: list[str] | None
    Scope: str | None


@command
class GetVariable(Cmdlet):
    """Get-Variable: the variables of the current (or a given) scope."""

    spec = CommandSpec(
        name="Get-Variable",
        aliases=("gv",),
        summary="Gets the variables in the current console.",
        description=(
            "Outputs PSVariable objects (Name, Value), sorted by name. -Name takes wildcards; "
            "a name without wildcards that matches nothing is an error. -Scope limits the "
            "output to the variables defined in that scope (Global, Script, Local or a number "
            "of levels up). -ValueOnly outputs the values instead."
        ),
        examples=(
            ("Get-Variable", "Every variable visible here."),
            ("Get-Variable -Name m*", "The variables whose names start with m."),
            ("Get-Variable x -ValueOnly", "The value of $x."),
            ("Get-Variable -Scope Global", "The variables defined in the global scope."),
        ),
        output_type="System.Management.Automation.PSVariable",
        params=(
            Param("Name", STRINGS, position=0, pipeline=True, pipeline_by_name=True,
                  completer="variable", help="Names of the variables (wildcards allowed)."),
            Param("ValueOnly", SWITCH, help="Output the values, not PSVariable objects."),
            Param("Include", STRINGS, help="Only names matching these wildcards."),
            Param("Exclude", STRINGS, help="Leave out names matching these wildcards."),
            Param("Scope", STRING, help="Global, Script, Local, or a number of levels up."),
        ),
    )
    args_type = GetVariableArgs

    def process(self, args: GetVariableArgs) -> None:
        """Write the matching variables."""
        interp, frame = caller(self)
        items = _scope_items(self, frame, interp, args, "GetVariableCommand")
        exclude, include = _patterns(args.Exclude), _patterns(args.Include)
        names = [to_string(n) for n in as_list(args.Name)] or ["*"]
        found: dict[str, tuple[str, object]] = {}
        for pattern in names:
            rx = wildcard_regex(pattern)
            hits = [(n, v) for n, v in items if rx.match(n) and not _excluded(n, exclude, include)]
            if not hits and not has_wildcard(pattern):
                _not_found(self, pattern, "GetVariableCommand")
            for n, v in hits:
                found.setdefault(n.lower(), (n, v))
        for name, value in sorted(found.values(), key=lambda nv: nv[0].lower()):
            self.ctx.write_output(value if args.ValueOnly else _variable(name, value))


# ---------------------------------------------------------------------------------------------
# Set-Variable / New-Variable
# ---------------------------------------------------------------------------------------------


class AssignArgs(Bound):
    """The parameters Set-Variable and New-Variable share."""

    Name: list[str] | None
    Value: object
    Scope: str | None
    PassThru: bool


class _Assigning(Cmdlet):
    """Set-Variable and New-Variable: a value given once, or collected from the pipeline."""

    command_class: ClassVar[str] = ""

    def begin(self, args: AssignArgs) -> None:
        """Start collecting."""
        self._values: list[object] = []

    def process(self, args: AssignArgs) -> None:
        """Collect one value (each pipeline object, or the -Value argument)."""
        self._values.append(args.Value)

    def end(self, args: AssignArgs) -> None:
        """Assign: one value as itself, several pipeline objects as an array."""
        if not self._values:
            self._values.append(args.Value)
        value = self._values[0] if len(self._values) == 1 else list(self._values)
        interp, frame = caller(self)
        scope = resolve_scope(self, frame.scope, args.Scope, self.command_class)
        for raw in as_list(args.Name):
            name = to_string(raw)
            if not self.check(args, scope, name):
                continue
            interp.set_variable(frame.child(scope=scope), name, value)
            if args.PassThru:
                self.ctx.write_output(_variable(name, value))

    def check(self, args: AssignArgs, scope: Scope, name: str) -> bool:
        """Tell whether the variable may be assigned."""
        return True


_ASSIGN_PARAMS = (
    Param("Name", STRINGS, position=0, mandatory=True, pipeline_by_name=True,
          completer="variable", help="The variable's name (without $)."),
    Param("Value", OBJECT, position=1, pipeline=True, pipeline_by_name=True,
          help="The value; several pipeline objects make an array."),
    Param("Scope", STRING, help="Global, Script, Local, or a number of levels up."),
    Param("PassThru", SWITCH, help="Output the variable as a PSVariable."),
)


class SetVariableArgs(AssignArgs):
    """Set-Variable's parameters."""


@command
class SetVariable(_Assigning):
    """Set-Variable: create or change a variable."""

    command_class = "SetVariableCommand"
    spec = CommandSpec(
        name="Set-Variable",
        aliases=("set", "sv"),
        summary="Sets the value of a variable. Creates the variable if one with the requested "
                "name does not exist.",
        description=(
            "Assigns -Value to the variables named by -Name in the current scope, or in the "
            "scope -Scope names. Piped objects become the value (several make an array). "
            "-PassThru outputs the variable."
        ),
        examples=(
            ("Set-Variable -Name x -Value 5", "Same as $x = 5."),
            ("Set-Variable total 0 -Scope Global", "Set $global:total."),
            ("1..3 | Set-Variable nums", "$nums becomes the array 1, 2, 3."),
        ),
        output_type="System.Management.Automation.PSVariable",
        params=_ASSIGN_PARAMS,
    )
    args_type = SetVariableArgs


class NewVariableArgs(AssignArgs):
    """New-Variable's parameters."""
    Force: bool


@command
class NewVariable(_Assigning):
    """New-Variable: create a variable that does not exist yet."""

    command_class = "NewVariableCommand"
    spec = CommandSpec(
        name="New-Variable",
        aliases=("nv",),
        summary="Creates a new variable.",
        description=(
            "Creates the variable in the current scope (or -Scope). It is an error if the scope "
            "already has a variable of that name, unless -Force is given."
        ),
        examples=(
            ("New-Variable -Name days -Value 7", "Create $days."),
            ("New-Variable days 8 -Force", "Replace it even though it exists."),
        ),
        output_type="System.Management.Automation.PSVariable",
        params=(*_ASSIGN_PARAMS,
                Param("Force", SWITCH, help="Overwrite a variable that already exists.")),
    )
    args_type = NewVariableArgs

    def check(self, args: AssignArgs, scope: Scope, name: str) -> bool:
        """A variable already in the target scope is an error without -Force."""
        assert isinstance(args, NewVariableArgs)  # the binder builds this cmdlet's args_type
        if args.Force or not scope.get_local(name)[0]:
            return True
        self.ctx.write_error(self.ctx.error(
            f"A variable with name '{name}' already exists.",
            f"VariableAlreadyExists,{_NS}.NewVariableCommand", "ResourceExists", name,
            "System.Management.Automation.SessionStateUnauthorizedAccessException"))
        return False


# ---------------------------------------------------------------------------------------------
# Remove-Variable / Clear-Variable
# ---------------------------------------------------------------------------------------------


class ExistingArgs(Bound):
    """The parameters Remove-Variable and Clear-Variable share."""

    Name: list[str] | None
    Include: list[str] | None
    Exclude: list[str] | None
    Scope: str | None


class _Existing(Cmdlet):
    """Remove-Variable and Clear-Variable: act on the existing variables -Name matches."""

    command_class: ClassVar[str] = ""

    def matches(self, args: ExistingArgs) -> Iterator[tuple[Scope, str]]:
        """(owning scope, name) of each matching variable; missing literal names are errors."""
        _, frame = caller(self)
        given = args.Scope is not None
        scope = resolve_scope(self, frame.scope, args.Scope, self.command_class)
        exclude, include = _patterns(args.Exclude), _patterns(args.Include)
        candidates = scope.local_names() if given else scope.names()
        for raw in as_list(args.Name):
            pattern = to_string(raw)
            rx = wildcard_regex(pattern)
            hits = [n for n in candidates if rx.match(n) and not _excluded(n, exclude, include)]
            if not hits and not has_wildcard(pattern):
                _not_found(self, pattern, self.command_class)
            for name in hits:
                owner = scope if given else _owner(scope, name)
                if owner is not None:
                    yield owner, name


_EXISTING_PARAMS = (
    Param("Name", STRINGS, position=0, mandatory=True, pipeline_by_name=True,
          completer="variable", help="Names of the variables (wildcards allowed)."),
    Param("Include", STRINGS, help="Only names matching these wildcards."),
    Param("Exclude", STRINGS, help="Leave out names matching these wildcards."),
    Param("Scope", STRING, help="Global, Script, Local, or a number of levels up."),
)


class RemoveVariableArgs(ExistingArgs):
    """Remove-Variable's parameters."""


@command
class RemoveVariable(_Existing):
    """Remove-Variable: delete variables."""

    command_class = "RemoveVariableCommand"
    spec = CommandSpec(
        name="Remove-Variable",
        aliases=("rv",),
        summary="Deletes a variable and its value.",
        description=(
            "Deletes the variables -Name matches (wildcards allowed), from the scope that "
            "defines them or from -Scope. A literal name that matches no variable is an error."
        ),
        examples=(
            ("Remove-Variable x", "Delete $x."),
            ("Remove-Variable tmp* -Scope Global", "Delete the global variables named tmp…"),
        ),
        params=_EXISTING_PARAMS,
    )
    args_type = RemoveVariableArgs

    def process(self, args: RemoveVariableArgs) -> None:
        """Delete each matching variable."""
        for scope, name in list(self.matches(args)):
            scope.remove(name)


class ClearVariableArgs(ExistingArgs):
    """Clear-Variable's parameters."""
    PassThru: bool


@command
class ClearVariable(_Existing):
    """Clear-Variable: set variables to $null, keeping them."""

    command_class = "ClearVariableCommand"
    spec = CommandSpec(
        name="Clear-Variable",
        aliases=("clv",),
        summary="Deletes the value of a variable.",
        description=(
            "Sets the variables -Name matches to $null; they still exist. A literal name that "
            "matches no variable is an error. -PassThru outputs the cleared variables."
        ),
        examples=(("Clear-Variable x", "$x is now $null."),),
        output_type="System.Management.Automation.PSVariable",
        params=(*_EXISTING_PARAMS,
                Param("PassThru", SWITCH, help="Output the cleared variables.")),
    )
    args_type = ClearVariableArgs

    def process(self, args: ClearVariableArgs) -> None:
        """Set each matching variable to $null."""
        for scope, name in list(self.matches(args)):
            scope.set(name, None)
            if args.PassThru:
                self.ctx.write_output(_variable(name, None))


# ---------------------------------------------------------------------------------------------
# Aliases
# ---------------------------------------------------------------------------------------------


def _alias_table(cmd: Cmdlet) -> dict[str, AliasInfo]:
    from pjsh.commands.commandinfo import CommandTable

    return {a.Name.lower(): a for a in CommandTable(cmd.ctx.session).aliases()}


class GetAliasArgs(Bound):
    """Get-Alias's parameters."""

    Name: list[str] | None
    Definition: list[str] | None
    Exclude: list[str] | None


@command
class GetAlias(Cmdlet):
    """Get-Alias: the session's aliases."""

    spec = CommandSpec(
        name="Get-Alias",
        aliases=("gal",),
        default_set="Default",
        summary="Gets the aliases for the current session.",
        description=(
            "Outputs AliasInfo objects (built-in and user aliases), sorted by name, shown as "
            "`gjb -> Get-Job`. -Name takes wildcards; -Definition finds the aliases of a "
            "command instead."
        ),
        examples=(
            ("Get-Alias", "Every alias."),
            ("Get-Alias g*", "The aliases starting with g."),
            ("Get-Alias -Definition Get-Job", "The aliases of Get-Job."),
        ),
        output_type="System.Management.Automation.AliasInfo",
        params=(
            Param("Name", STRINGS, position=0, pipeline=True, pipeline_by_name=True,
                  sets=("Default",), completer="command",
                  help="Names of the aliases (wildcards allowed)."),
            Param("Definition", STRINGS, sets=("Definition",), completer="command",
                  help="Get the aliases of these commands (wildcards allowed)."),
            Param("Exclude", STRINGS, help="Leave out aliases whose names match."),
        ),
    )
    args_type = GetAliasArgs

    def process(self, args: GetAliasArgs) -> None:
        """Write the matching aliases."""
        table = _alias_table(self)
        exclude = _patterns(args.Exclude)
        by_definition = args.parameter_set == "Definition" or "Definition" in args
        patterns = [to_string(n) for n in as_list(args.Definition if by_definition
                                                    else args.Name)] or ["*"]
        found: dict[str, AliasInfo] = {}
        for pattern in patterns:
            rx = wildcard_regex(pattern)
            hits = [a for a in table.values()
                    if rx.match(a.Definition if by_definition else a.Name)
                    and not any(x.match(a.Name) for x in exclude)]
            if not hits and not has_wildcard(pattern):
                what = "definition" if by_definition else "name"
                self.ctx.write_error(self.ctx.error(
                    f"This command cannot find a matching alias because an alias with the "
                    f"{what} '{pattern}' does not exist.",
                    f"ItemNotFoundException,{_NS}.GetAliasCommand", "ObjectNotFound", pattern,
                    "System.Management.Automation.ItemNotFoundException"))
            for alias in hits:
                found.setdefault(alias.Name.lower(), alias)
        for alias in sorted(found.values(), key=lambda a: a.Name.lower()):
            self.ctx.write_output(alias)


class AliasWriterArgs(Bound):
    """The parameters Set-Alias and New-Alias share."""

    Name: str | None
    Value: str | None
    PassThru: bool


class _AliasWriter(Cmdlet):
    """Set-Alias and New-Alias."""

    command_class: ClassVar[str] = ""

    def process(self, args: AliasWriterArgs) -> None:
        """Define the alias (user aliases live in the session, keyed by lower-case name)."""
        name, value = to_string(args.Name), to_string(args.Value)
        if not self.check(args, name):
            return
        self.ctx.session.aliases[name.lower()] = value
        fastpath.definitions_changed()
        if args.PassThru:
            self.ctx.write_output(_alias_table(self)[name.lower()])

    def check(self, args: AliasWriterArgs, name: str) -> bool:
        """Tell whether the alias may be defined."""
        return True


_ALIAS_PARAMS = (
    Param("Name", STRING, position=0, mandatory=True, pipeline_by_name=True,
          help="The alias."),
    Param("Value", STRING, position=1, mandatory=True, pipeline_by_name=True,
          completer="command", help="The command the alias runs."),
    Param("PassThru", SWITCH, help="Output the alias as an AliasInfo."),
)


class SetAliasArgs(AliasWriterArgs):
    """Set-Alias's parameters."""


@command
class SetAlias(_AliasWriter):
    """Set-Alias: create or change an alias."""

    command_class = "SetAliasCommand"
    spec = CommandSpec(
        name="Set-Alias",
        aliases=("sal",),
        summary="Creates or changes an alias for a cmdlet or other command in the current "
                "PowerShell session.",
        description=(
            "Makes -Name another name for the command -Value names (a cmdlet, function, "
            "script or program). An existing alias of that name is replaced."
        ),
        examples=(
            ("Set-Alias -Name list -Value Get-ChildItem", "`list` now runs Get-ChildItem."),
            ("sal g git", "`g` runs the git program."),
        ),
        output_type="System.Management.Automation.AliasInfo",
        params=_ALIAS_PARAMS,
    )
    args_type = SetAliasArgs


class NewAliasArgs(AliasWriterArgs):
    """New-Alias's parameters."""
    Force: bool


@command
class NewAlias(_AliasWriter):
    """New-Alias: create an alias that does not exist yet."""

    command_class = "NewAliasCommand"
    spec = CommandSpec(
        name="New-Alias",
        aliases=("nal",),
        summary="Creates a new alias.",
        description=(
            "Like Set-Alias, but it is an error if an alias of that name already exists "
            "(built-in or user-defined), unless -Force is given."
        ),
        examples=(
            ("New-Alias list Get-ChildItem", "Create the alias `list`."),
            ("New-Alias list Get-Item -Force", "Redefine it."),
        ),
        output_type="System.Management.Automation.AliasInfo",
        params=(*_ALIAS_PARAMS,
                Param("Force", SWITCH, help="Replace an alias that already exists.")),
    )
    args_type = NewAliasArgs

    def check(self, args: AliasWriterArgs, name: str) -> bool:
        """An existing alias is an error without -Force."""
        assert isinstance(args, NewAliasArgs)  # the binder builds this cmdlet's args_type
        if args.Force or name.lower() not in _alias_table(self):
            return True
        self.ctx.write_error(self.ctx.error(
            f"The alias is not allowed, because an alias with the name '{name}' already exists.",
            f"AliasAlreadyExists,{_NS}.NewAliasCommand", "ResourceExists", name,
            "System.Management.Automation.SessionStateException"))
        return False
