"""Get-Command, the CommandInfo objects it returns, and the syntax lines that Get-Help and the
generated docs share (built from each command's parameter table)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from pjsh.lang.record import dataclass, field
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import (
    INT,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    as_list,
    to_string,
)
from pjsh.runtime.operators import has_wildcard, wildcard_regex
from pjsh.runtime.values import Hashtable, PSObject, PSPropertyClass

if TYPE_CHECKING:
    from pjsh.runtime.session import Session

# ---------------------------------------------------------------------------------------------
# Syntax lines
# ---------------------------------------------------------------------------------------------

# How pwsh spells parameter types in syntax lines: C# keywords and type accelerators.
_SHORT_TYPE_NAMES = {
    "system.string": "string",
    "system.int32": "int",
    "system.int64": "long",
    "system.uint32": "uint",
    "system.double": "double",
    "system.boolean": "bool",
    "system.char": "char",
    "system.object": "Object",
    "system.datetime": "datetime",
    "system.timespan": "timespan",
    "system.guid": "guid",
    "system.collections.hashtable": "hashtable",
    "system.management.automation.scriptblock": "scriptblock",
    "system.management.automation.psobject": "psobject",
    "system.management.automation.pscredential": "pscredential",
    "system.management.automation.switchparameter": "switch",
}

# The common parameters the engine gives every cmdlet (pjsh adds -AsJob).
COMMON_PARAMETERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Verbose", "System.Management.Automation.SwitchParameter", ("vb",)),
    ("Debug", "System.Management.Automation.SwitchParameter", ("db",)),
    ("ErrorAction", "System.Management.Automation.ActionPreference", ("ea",)),
    ("WarningAction", "System.Management.Automation.ActionPreference", ("wa",)),
    ("InformationAction", "System.Management.Automation.ActionPreference", ("infa",)),
    ("ProgressAction", "System.Management.Automation.ActionPreference", ("proga",)),
    ("ErrorVariable", "System.String", ("ev",)),
    ("WarningVariable", "System.String", ("wv",)),
    ("InformationVariable", "System.String", ("iv",)),
    ("OutVariable", "System.String", ("ov",)),
    ("OutBuffer", "System.Int32", ("ob",)),
    ("PipelineVariable", "System.String", ("pv",)),
    ("AsJob", "System.Management.Automation.SwitchParameter", ()),
)


def type_display_name(type_name: str) -> str:
    """A .NET type name as pwsh writes it in syntax lines: ``System.Int32[]`` → ``int[]``."""
    suffix = ""
    base = type_name
    while base.endswith("[]"):
        suffix += "[]"
        base = base[:-2]
    short = _SHORT_TYPE_NAMES.get(base.lower(), base.rsplit(".", 1)[-1])
    return short + suffix


def _params_in_set(spec: CommandSpec, set_name: str) -> list[Param]:
    """The parameters of one parameter set, each name once (the declaration for that set)."""
    chosen: dict[str, Param] = {}
    for p in spec.params:
        if p.sets and set_name not in p.sets and set_name != "__AllParameterSets":
            continue
        key = p.name.lower()
        # A declaration naming this set wins over one that applies to all sets.
        if key not in chosen or (p.sets and not chosen[key].sets):
            chosen[key] = p
    return list(chosen.values())


def _syntax_part(p: Param) -> str:
    if p.type.is_switch:
        return f"-{p.name}" if p.mandatory else f"[-{p.name}]"
    if p.type.choices:
        shown = "{" + " | ".join(p.type.choices) + "}"
    else:
        shown = f"<{type_display_name(p.type.name)}>"
    name = f"[-{p.name}]" if p.position is not None else f"-{p.name}"
    core = f"{name} {shown}"
    return core if p.mandatory else f"[{core}]"


def syntax_lines(spec: CommandSpec) -> list[str]:
    """One syntax line per parameter set, default set first, as ``Get-Command -Syntax`` shows:
    ``Get-Job [[-Id] <int[]>] [-IncludeChildJob] ... [<CommonParameters>]``."""
    lines: list[str] = []
    for set_name in spec.set_names():
        params = _params_in_set(spec, set_name)
        positional = sorted((p for p in params if p.position is not None),
                            key=lambda p: p.position if p.position is not None else 0)
        named = [p for p in params if p.position is None]
        parts = [spec.name, *(_syntax_part(p) for p in positional + named),
                 "[<CommonParameters>]"]
        lines.append(" ".join(parts))
    return lines


# ---------------------------------------------------------------------------------------------
# CommandInfo objects
# ---------------------------------------------------------------------------------------------

# pwsh's CommandTypes values: results sort by them, then by name.
COMMAND_TYPES = ("Alias", "Function", "Filter", "Cmdlet", "ExternalScript", "Application",
                 "Script", "Configuration", "All")
_TYPE_ORDER = {name: i for i, name in enumerate(COMMAND_TYPES)}
_DEFAULT_TYPES = frozenset({"Alias", "Function", "Filter", "Cmdlet"})
_ALL_TYPES = frozenset(COMMAND_TYPES) - {"All"}


def _command_types(value: object) -> object:
    """Convert -CommandType: one name, several names, or 'Alias,Cmdlet'."""
    canon = {c.lower(): c for c in COMMAND_TYPES}
    names: list[str] = []
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        for part in to_string(item).split(","):
            text = part.strip()
            found = canon.get(text.lower())
            if found is None:
                raise ConversionError(
                    f'Cannot convert value "{text}" to type '
                    '"System.Management.Automation.CommandTypes". Error: "Unable to match the '
                    f"identifier name {text} to a valid enumerator name. Specify one of the "
                    f'following enumerator names and try again:\n{", ".join(COMMAND_TYPES)}"')
            names.append(found)
    return names


COMMAND_TYPES_SPEC = TypeSpec("System.Management.Automation.CommandTypes", _command_types,
                              choices=COMMAND_TYPES, python="list[str]")


def _parameter_metadata(name: str, type_name: str, aliases: Sequence[str],
                        position: int | None = None) -> PSObject:
    return PSObject(
        (("Name", name), ("ParameterType", type_name), ("Aliases", list(aliases)),
         ("SwitchParameter", type_name.endswith("SwitchParameter")),
         ("Position", position if position is not None else "Named")),
        type_names=("System.Management.Automation.ParameterMetadata", "System.Object"),
    )


def _spec_parameters(spec: CommandSpec) -> Hashtable:
    table = Hashtable()
    for p in spec.params:
        if p.name not in table:
            table[p.name] = _parameter_metadata(p.name, p.type.name, p.aliases, p.position)
    for name, type_name, aliases in COMMON_PARAMETERS:
        if name not in table and (name != "AsJob" or spec.supports_as_job):
            table[name] = _parameter_metadata(name, type_name, aliases)
    return table


_BASE_PROPERTIES = ("CommandType", "Name", "Version", "Source", "Definition", "DisplayName",
                    "ModuleName", "Parameters")


@dataclass
class CommandInfo(PSPropertyClass):
    """What Get-Command returns for one command (base of the per-kind classes)."""

    ps_type_names: ClassVar[tuple[str, ...]] = ("System.Management.Automation.CommandInfo",
                                                "System.Object")
    ps_property_names: ClassVar[tuple[str, ...]] = _BASE_PROPERTIES

    Name: str
    CommandType: str
    Definition: str = ""
    Version: str = ""
    Source: str = ""
    Parameters: Hashtable = field(default_factory=Hashtable)

    @property
    def DisplayName(self) -> str:
        """The name as tables show it."""
        return self.Name

    @property
    def Verb(self) -> str:
        """The verb part of Verb-Noun."""
        return self.Name.split("-", 1)[0] if "-" in self.Name else ""

    @property
    def Noun(self) -> str:
        """The noun part of Verb-Noun."""
        return self.Name.split("-", 1)[1] if "-" in self.Name else ""

    @property
    def ModuleName(self) -> str:
        """The module the command comes from ('' for none)."""
        return self.Source if self.CommandType in ("Cmdlet",) else ""

    def syntax(self) -> str:
        """The text Get-Command -Syntax outputs for this command."""
        return self.Definition


@dataclass
class CmdletInfo(CommandInfo):
    """A built-in cmdlet."""

    ps_type_names = ("System.Management.Automation.CmdletInfo",
                     "System.Management.Automation.CommandInfo", "System.Object")
    ps_property_names = (*_BASE_PROPERTIES, "Verb", "Noun", "OutputType", "ParameterSets")

    spec: CommandSpec | None = None
    OutputType: str = ""

    @property
    def ParameterSets(self) -> list[str]:
        """The names of the parameter sets."""
        return self.spec.set_names() if self.spec else []

    def syntax(self) -> str:
        """Each parameter set's syntax line, separated by blank lines."""
        lines = syntax_lines(self.spec) if self.spec else [self.Name]
        return "\n" + "\n\n".join(lines) + "\n"


@dataclass
class FunctionInfo(CommandInfo):
    """A function defined in the session."""

    ps_type_names = ("System.Management.Automation.FunctionInfo",
                     "System.Management.Automation.CommandInfo", "System.Object")
    ps_property_names = (*_BASE_PROPERTIES, "Verb", "Noun", "ScriptBlock")

    syntax_text: str = ""

    @property
    def ScriptBlock(self) -> str:
        """The function body text."""
        return self.Definition

    def syntax(self) -> str:
        """The function's syntax line."""
        return "\n" + (self.syntax_text or self.Name) + "\n"


@dataclass
class AliasInfo(CommandInfo):
    """An alias: another name for a command."""

    ps_type_names = ("System.Management.Automation.AliasInfo",
                     "System.Management.Automation.CommandInfo", "System.Object")
    ps_property_names = (*_BASE_PROPERTIES, "ResolvedCommand", "ResolvedCommandName",
                         "ReferencedCommand")

    ResolvedCommand: CommandInfo | None = None

    @property
    def DisplayName(self) -> str:
        """``gjb -> Get-Job``, as the command table shows an alias."""
        return f"{self.Name} -> {self.Definition}"

    @property
    def ResolvedCommandName(self) -> str:
        """The name of the command the alias finally runs."""
        return self.ResolvedCommand.Name if self.ResolvedCommand else self.Definition

    @property
    def ReferencedCommand(self) -> CommandInfo | None:
        """The command the alias names."""
        return self.ResolvedCommand

    def syntax(self) -> str:
        """``gjb (alias) -> Get-Job`` followed by the target's syntax."""
        head = f"{self.Name} (alias) -> {self.Definition}"
        if self.ResolvedCommand is None:
            return head
        return head + "\n" + self.ResolvedCommand.syntax()


@dataclass
class ApplicationInfo(CommandInfo):
    """An executable file found on PATH (or by path)."""

    ps_type_names = ("System.Management.Automation.ApplicationInfo",
                     "System.Management.Automation.CommandInfo", "System.Object")
    ps_property_names = (*_BASE_PROPERTIES, "Path", "Extension")

    @property
    def Path(self) -> str:
        """The full path of the executable."""
        return self.Definition

    @property
    def Extension(self) -> str:
        """The file name extension ('' for most Unix programs)."""
        return os.path.splitext(self.Definition)[1]

    def syntax(self) -> str:
        """An application's syntax is its path."""
        return self.Definition


# ---------------------------------------------------------------------------------------------
# Finding commands
# ---------------------------------------------------------------------------------------------


def _version() -> str:
    import pjsh

    return pjsh.__version__


def cmdlet_info(spec: CommandSpec) -> CmdletInfo:
    """The CmdletInfo of a built-in command."""
    return CmdletInfo(
        Name=spec.name, CommandType="Cmdlet", Definition="\n".join(syntax_lines(spec)),
        Version=_version(), Source="pjsh", Parameters=_spec_parameters(spec), spec=spec,
        OutputType=spec.output_type)


def _function_parts(defn: object) -> tuple[str, str, list[object]]:
    """(name, body text, parameter declarations) of a stored function, whatever its shape."""
    name = to_string(getattr(defn, "name", ""))
    body = getattr(defn, "body", None)
    params = list(getattr(body, "params", None) or [])
    text = getattr(defn, "text", None)
    if text is None:
        text = str(defn)
    return name, to_string(text), params


def function_info(key: str, defn: object) -> FunctionInfo:
    """The FunctionInfo of a function stored in the session."""
    name, text, params = _function_parts(defn)
    name = name or key
    table = Hashtable()
    parts = [name]
    for index, decl in enumerate(params):
        pname = to_string(getattr(decl, "name", ""))
        if not pname:
            continue
        tname = getattr(decl, "type_name", None) or "System.Object"
        is_switch = bool(getattr(decl, "switch", False)) or str(tname).lower() == "switch"
        position = getattr(decl, "position", None)
        position = index if position is None and not is_switch else position
        table[pname] = _parameter_metadata(pname, str(tname), (), position)
        if is_switch:
            parts.append(f"[-{pname}]")
            continue
        core = f"[-{pname}] <{type_display_name(str(tname))}>"
        parts.append(core if getattr(decl, "mandatory", False) else f"[{core}]")
    return FunctionInfo(Name=name, CommandType="Function", Definition=text, Parameters=table,
                        syntax_text=" ".join(parts))


def _path_dirs() -> list[str]:
    return [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def application_info(path: str) -> ApplicationInfo:
    """The ApplicationInfo of an executable file."""
    name = os.path.basename(path)
    kind = "ExternalScript" if name.lower().endswith(".ps1") else "Application"
    return ApplicationInfo(Name=name, CommandType=kind, Definition=path,
                           Version="0.0.0.0" if kind == "Application" else "", Source=path)


def find_applications(pattern: str, all_matches: bool = False) -> list[ApplicationInfo]:
    """Executables on PATH named ``pattern`` (wildcards allowed), first in PATH order unless
    ``all_matches``."""
    found: list[ApplicationInfo] = []
    seen: set[str] = set()
    rx = wildcard_regex(pattern) if has_wildcard(pattern) else None
    for directory in _path_dirs():
        if rx is None:
            candidate = os.path.join(directory, pattern)
            if _is_executable(candidate) and (all_matches or pattern not in seen):
                seen.add(pattern)
                found.append(application_info(candidate))
            continue
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if not rx.match(entry.name) or (entry.name in seen and not all_matches):
                continue
            if _is_executable(entry.path):
                seen.add(entry.name)
                found.append(application_info(entry.path))
    return found


class CommandTable:
    """The commands a session knows, by kind, for Get-Command, Get-Help and completion."""

    def __init__(self, session: Session) -> None:
        """Read the session's cmdlets, aliases and functions."""
        self.session = session

    def cmdlets(self) -> list[CmdletInfo]:
        """Every built-in cmdlet."""
        return [cmdlet_info(cls.spec) for cls in self.session.registry.commands.values()]

    def functions(self) -> list[FunctionInfo]:
        """Every function defined in the session."""
        return [function_info(k, v) for k, v in self.session.functions.items()]

    def alias_targets(self) -> dict[str, tuple[str, str]]:
        """lower-case alias → (alias as spelled, target command name)."""
        targets: dict[str, tuple[str, str]] = {}
        for name, target in self.session.registry.aliases.items():
            targets[name.lower()] = (name, target)
        for name, target in self.session.aliases.items():
            targets[name.lower()] = (name, to_string(target))
        return targets

    def aliases(self) -> list[AliasInfo]:
        """Every alias, built-in and user-defined."""
        return [self._alias(name, target) for name, target in self.alias_targets().values()]

    def _alias(self, name: str, target: str) -> AliasInfo:
        return AliasInfo(Name=name, CommandType="Alias", Definition=target,
                         ResolvedCommand=self._resolve_target(target))

    def _resolve_target(self, target: str, depth: int = 0) -> CommandInfo | None:
        low = target.lower()
        for key, defn in self.session.functions.items():
            if key.lower() == low:
                return function_info(key, defn)
        cls = self.session.registry.commands.get(low)
        if cls is not None:
            return cmdlet_info(cls.spec)
        alias = self.alias_targets().get(low)
        if alias is not None and depth < 8:
            return self._resolve_target(alias[1], depth + 1)
        apps = find_applications(target) if "/" not in target else []
        return apps[0] if apps else None

    def lookup(self, name: str, types: frozenset[str], all_matches: bool) -> list[CommandInfo]:
        """The commands a literal name refers to, in the order the shell would pick them."""
        if "/" in name:
            path = self.session.resolve_path(name)
            if _is_executable(path) or (path.lower().endswith(".ps1") and os.path.isfile(path)):
                info = application_info(path)
                return [info] if info.CommandType in types else []
            return []
        low = name.lower()
        found: list[CommandInfo] = []
        if "Alias" in types:
            alias = self.alias_targets().get(low)
            if alias is not None:
                found.append(self._alias(*alias))
        if types & {"Function", "Filter"}:
            for key, defn in self.session.functions.items():
                if key.lower() == low:
                    found.append(function_info(key, defn))
        if "Cmdlet" in types:
            cls = self.session.registry.commands.get(low)
            if cls is not None:
                found.append(cmdlet_info(cls.spec))
        if "Application" in types and (all_matches or not found):
            found.extend(find_applications(name, all_matches))
        return found if all_matches else found[:1]

    def matching(self, pattern: str, types: frozenset[str],
                 all_matches: bool = False) -> list[CommandInfo]:
        """The commands whose names match a wildcard pattern, sorted by kind and name."""
        rx = wildcard_regex(pattern)
        found: list[CommandInfo] = []
        if "Alias" in types:
            found.extend(a for a in self.aliases() if rx.match(a.Name))
        if types & {"Function", "Filter"}:
            found.extend(f for f in self.functions() if rx.match(f.Name))
        if "Cmdlet" in types:
            found.extend(c for c in self.cmdlets() if rx.match(c.Name))
        if "Application" in types or "ExternalScript" in types:
            found.extend(a for a in find_applications(pattern, all_matches)
                         if a.CommandType in types)
        return sort_commands(found)


def sort_commands(infos: Iterable[CommandInfo]) -> list[CommandInfo]:
    """Order as Get-Command does: by command type, then name."""
    return sorted(infos, key=lambda c: (_TYPE_ORDER.get(c.CommandType, 99), c.Name.lower()))


def not_recognized_message(name: str) -> str:
    """PowerShell's message for a command name that resolves to nothing."""
    return (f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, "
            "or executable program.\nCheck the spelling of the name, or if a path was "
            "included, verify that the path is correct and try again.")


# ---------------------------------------------------------------------------------------------
# Get-Command
# ---------------------------------------------------------------------------------------------


class GetCommandArgs(Bound):
    """Get-Command's parameters."""

    Name: list[str] | None
    CommandType: list[str] | None
    Verb: list[str] | None
    Noun: list[str] | None
    ParameterName: list[str] | None
    TotalCount: int | None
    Syntax: bool
    All: bool


@command
class GetCommand(Cmdlet):
    """Get-Command: list the commands the session can run."""

    spec = CommandSpec(
        name="Get-Command",
        aliases=("gcm",),
        params=(
            # PowerShell's two sets: names and kinds (AllCommandSet), or verbs and nouns of
            # cmdlets and functions (CmdletSet, the default); -Name with -Verb is an error.
            Param("Name", STRINGS, position=0, pipeline=True, pipeline_by_name=True,
                  completer="command", sets=("AllCommandSet",),
                  help="Command names to look up (wildcards allowed)."),
            Param("CommandType", COMMAND_TYPES_SPEC, aliases=("Type",), sets=("AllCommandSet",),
                  help="Only commands of these kinds: Alias, Function, Cmdlet, Application, "
                       "ExternalScript or All."),
            Param("Verb", STRINGS, sets=("CmdletSet",),
                  help="Only cmdlets and functions with these verbs (wildcards allowed)."),
            Param("Noun", STRINGS, sets=("CmdletSet",),
                  help="Only cmdlets and functions with these nouns (wildcards allowed)."),
            Param("ParameterName", STRINGS,
                  help="Only commands that have these parameters (wildcards allowed)."),
            Param("TotalCount", INT, help="Output at most this many commands."),
            Param("Syntax", SWITCH, help="Output each command's syntax instead of the command."),
            Param("All", SWITCH,
                  help="Include every command of a name, not just the one that runs."),
        ),
        default_set="CmdletSet",
        summary="Gets all commands.",
        description=(
            "Get-Command lists cmdlets, aliases and functions, and with a name or "
            "-CommandType Application also the executables on PATH. A name without wildcards "
            "gets the command that would run (all of them with -All); a name nobody has is an "
            "error. -Syntax shows how to call the command."
        ),
        examples=(
            ("Get-Command", "Every cmdlet, alias and function."),
            ("Get-Command *-Job", "The job cmdlets."),
            ("gcm gjb", "What the gjb alias runs."),
            ("Get-Command Receive-Job -Syntax", "The parameter sets of Receive-Job."),
            ("Get-Command ls -All", "Every ls on PATH."),
        ),
        output_type="System.Management.Automation.CommandInfo",
    )
    args_type = GetCommandArgs

    def process(self, args: GetCommandArgs) -> None:
        """Find and write the commands."""
        table = CommandTable(self.ctx.session)
        names = [to_string(n) for n in as_list(args.Name)]
        requested = {to_string(t) for t in as_list(args.CommandType)}
        all_matches = bool(args.All)
        if "All" in requested:
            requested = set(_ALL_TYPES)
        results: list[CommandInfo] = []
        if not names:
            types = frozenset(requested) if requested else _DEFAULT_TYPES
            results = table.matching("*", types, all_matches)
        else:
            types = frozenset(requested) if requested else _ALL_TYPES
            for name in names:
                if has_wildcard(name):
                    results.extend(table.matching(name, types, all_matches))
                    continue
                found = table.lookup(name, types, all_matches)
                if not found:
                    self.ctx.write_error(self.ctx.error(
                        not_recognized_message(name), "CommandNotFoundException",
                        "ObjectNotFound", name,
                        "System.Management.Automation.CommandNotFoundException"))
                results.extend(found)
        results = self._filter(results, args)
        if args.TotalCount is not None:
            results = results[: max(0, int(args.TotalCount))]
        for info in results:
            self.ctx.write_output(info.syntax() if args.Syntax else info)

    def _filter(self, infos: list[CommandInfo], args: GetCommandArgs) -> list[CommandInfo]:
        verbs = [wildcard_regex(to_string(v)) for v in as_list(args.Verb)]
        nouns = [wildcard_regex(to_string(n)) for n in as_list(args.Noun)]
        pnames = [wildcard_regex(to_string(p)) for p in as_list(args.ParameterName)]
        out: list[CommandInfo] = []
        seen: set[tuple[str, str, str]] = set()
        for info in infos:
            key = (info.CommandType, info.Name.lower(), info.Definition)
            if key in seen:
                continue
            seen.add(key)
            if verbs or nouns:
                if not isinstance(info, (CmdletInfo, FunctionInfo)):
                    continue
                if verbs and not any(rx.match(info.Verb) for rx in verbs):
                    continue
                if nouns and not any(rx.match(info.Noun) for rx in nouns):
                    continue
            if pnames:
                params = info.ResolvedCommand.Parameters if isinstance(
                    info, AliasInfo) and info.ResolvedCommand else info.Parameters
                if not any(rx.match(to_string(p)) for rx in pnames for p in params):
                    continue
            out.append(info)
        return out


__all__ = [
    "COMMAND_TYPES",
    "COMMON_PARAMETERS",
    "AliasInfo",
    "ApplicationInfo",
    "CmdletInfo",
    "CommandInfo",
    "CommandTable",
    "FunctionInfo",
    "GetCommand",
    "application_info",
    "cmdlet_info",
    "find_applications",
    "function_info",
    "not_recognized_message",
    "sort_commands",
    "syntax_lines",
    "type_display_name",
]
