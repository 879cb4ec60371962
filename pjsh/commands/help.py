"""Get-Help: help for cmdlets, aliases and functions built from their parameter tables, the
about_* topics (package data in :mod:`pjsh.help`, read only when asked for), and the Markdown
cmdlet reference printed by ``python -m pjsh.commands.help --markdown``.

Imported at start-up to register the cmdlet: module level holds only declarations; help text
is built, and textwrap, importlib.resources and the topics are loaded, when help is asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from pjsh.commands.commandinfo import (
    AliasInfo,
    ApplicationInfo,
    CmdletInfo,
    CommandInfo,
    CommandTable,
    FunctionInfo,
    syntax_lines,
    type_display_name,
)
from pjsh.lang.record import dataclass, field, replace
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, Registry, command
from pjsh.runtime.convert import STRING, STRINGS, SWITCH, TypeSpec, as_list, to_string

# The formatter is loaded by the first statement a session runs (its output sink) anyway.
from pjsh.runtime.formatting import TextBlock
from pjsh.runtime.operators import has_wildcard, wildcard_regex
from pjsh.runtime.values import PSPropertyClass

if TYPE_CHECKING:
    from pjsh.runtime.session import Session

# Prose is wrapped to this many columns: help objects are rendered before the console width
# is known (they travel through pipelines, files and jobs as text).
WRAP_WIDTH = 80
_INDENT = "    "
_TOPIC_PACKAGE = "pjsh.help"
OVERVIEW_TOPIC = "about_pjsh"

# The categories pjsh has help for, in the order a listing shows them.
CATEGORIES = ("Alias", "Cmdlet", "Function", "HelpFile")
_CATEGORY_ORDER = {name: i for i, name in enumerate(CATEGORIES)}

# ---------------------------------------------------------------------------------------------
# Help objects
# ---------------------------------------------------------------------------------------------
# A help object *is* a text block: the formatter shows a TextBlock's lines as they are, so
# `Get-Help X` and `Get-Help X | Out-String` print pwsh's help layout, while scripts still read
# its properties (`(Get-Help X).Synopsis`) through ps_property_names.


@dataclass(frozen=True, eq=False)
class HelpText(TextBlock, PSPropertyClass):
    """Base of the help objects: properties for scripts, text lines for display."""

    def __str__(self) -> str:
        """The displayed text (so ``"$(Get-Help X)"`` and ``[string]`` give the help)."""
        return "\n".join(self.lines)


@dataclass(frozen=True, eq=False)
class ParameterHelp(HelpText):
    """One parameter's help (``Get-Help X -Parameter Name``); shows as pwsh's parameter block."""

    ps_type_names = ("MamlCommandHelpInfo#parameter", "System.Object")
    ps_property_names = ("Name", "Type", "Required", "Position", "DefaultValue", "PipelineInput",
                         "ParameterSetName", "Aliases", "Globbing", "Description")

    Name: str = ""
    Type: str = ""
    Required: str = "false"
    Position: str = "named"
    DefaultValue: str = "None"
    PipelineInput: str = "False"
    ParameterSetName: str = "(All)"
    Aliases: list[str] = field(default_factory=list)
    Globbing: str = "false"
    Description: str = ""

@dataclass(frozen=True, eq=False)
class ExampleHelp(HelpText):
    """One example of a command's help: its title, code and what it does."""

    ps_type_names = ("MamlCommandHelpInfo#example", "System.Object")
    ps_property_names = ("Title", "Code", "Remarks")

    Title: str = ""
    Code: str = ""
    Remarks: str = ""

@dataclass(frozen=True, eq=False)
class HelpInfo(HelpText):
    """What Get-Help returns for one command or topic; shows as pwsh's help layout."""

    ps_type_names = ("HelpInfo", "System.Object")
    ps_property_names = ("Name", "Category", "Synopsis", "ModuleName", "Syntax", "Description",
                         "Parameters", "Examples", "Aliases", "Inputs", "Outputs")

    Name: str = ""
    Category: str = ""
    Synopsis: str = ""
    ModuleName: str = ""
    Syntax: list[str] = field(default_factory=list)
    Description: str = ""
    Parameters: list[ParameterHelp] = field(default_factory=list)
    Examples: list[ExampleHelp] = field(default_factory=list)
    Aliases: list[str] = field(default_factory=list)
    Inputs: list[str] = field(default_factory=list)
    Outputs: list[str] = field(default_factory=list)

class HelpSummary(PSPropertyClass):
    """One row of a Get-Help listing (a pattern that matches several commands or topics)."""

    ps_type_names = ("HelpInfoShort", "System.Object")
    ps_property_names = ("Name", "Category", "Synopsis")
    __slots__ = ("Category", "Name", "Synopsis", "target")

    def __init__(self, name: str, category: str, synopsis: str = "",
                 target: object = None) -> None:
        """A row; ``target`` is what the row expands to when it is the only match."""
        self.Name = name
        self.Category = category
        self.Synopsis = synopsis
        self.target = target

    def __repr__(self) -> str:
        return f"HelpSummary({self.Name!r}, {self.Category!r})"


# ---------------------------------------------------------------------------------------------
# Building help from a parameter table
# ---------------------------------------------------------------------------------------------


def _wrap(text: str, indent: str, width: int = WRAP_WIDTH) -> list[str]:
    """Indented, wrapped lines of prose; blank lines separate paragraphs."""
    import textwrap

    out: list[str] = []
    for para in text.strip().split("\n\n"):
        if out:
            out.append("")
        joined = " ".join(line.strip() for line in para.splitlines())
        out.extend(textwrap.wrap(joined, width=max(20, width - len(indent)),
                                 break_long_words=False, break_on_hyphens=False)
                   or [""])
    return [indent + line if line else "" for line in out]


def _syntax_parts(line: str) -> list[str]:
    """A syntax line's parts: split at spaces outside brackets, so ``[[-Id] <int[]>]`` and
    ``{A | B}`` stay whole."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in line:
        if ch in "[{<":
            depth += 1
        elif ch in "]}>":
            depth = max(0, depth - 1)
        if ch == " " and depth == 0:
            if current:
                parts.append(current)
            current = ""
            continue
        current += ch
    if current:
        parts.append(current)
    return parts


def wrap_syntax(line: str, width: int = WRAP_WIDTH) -> list[str]:
    """A syntax line wrapped between parameters, continuation lines indented further."""
    out: list[str] = []
    current = _INDENT
    words: list[str] = []
    for part in _syntax_parts(line):
        # A part longer than a line (a long list of choices) breaks between its words.
        words += part.split(" ") if len(part) > width - 2 * len(_INDENT) else [part]
    for part in words:
        if current.strip() and len(current) + 1 + len(part) > width:
            out.append(current)
            current = _INDENT * 2 + part
        else:
            current = current + part if not current.strip() else f"{current} {part}"
    out.append(current)
    return out


def _section(title: str, body: Sequence[str]) -> list[str]:
    return [title, *body, ""]


def grouped_params(params: Iterable[Param]) -> list[list[Param]]:
    """A command's parameters by name (a parameter declared once per group of sets is one)."""
    groups: dict[str, list[Param]] = {}
    for p in params:
        groups.setdefault(p.name.lower(), []).append(p)
    return [g for g in groups.values() if not g[0].name.startswith("__")]


def _per_set(decls: Sequence[Param], of: Callable[[Param], object]) -> str:
    """One value if every declaration agrees, else ``value (SetA, SetB), other (SetC)``."""
    shown: dict[str, list[str]] = {}
    for d in decls:
        key = to_string(of(d))
        shown.setdefault(key, []).extend(d.sets or ["(All)"])
    if len(shown) == 1:
        return next(iter(shown))
    return ", ".join(f"{k} ({', '.join(v)})" for k, v in shown.items())


def _default_text(p: Param) -> str:
    if p.default is None:
        return "False" if p.type.is_switch else "None"
    if isinstance(p.default, (list, tuple)):
        return ", ".join(to_string(v) for v in p.default)
    return to_string(p.default)


def _pipeline_text(decls: Sequence[Param]) -> str:
    kinds = []
    if any(d.pipeline for d in decls):
        kinds.append("ByValue")
    if any(d.pipeline_by_name for d in decls):
        kinds.append("ByPropertyName")
    return f"True ({', '.join(kinds)})" if kinds else "False"


def accepts_wildcards(p: Param) -> bool:
    """Whether a parameter's help says it takes wildcards (the table has no separate flag)."""
    return "wildcard" in p.help.lower()


def _type_label(p: Param) -> str:
    return "SwitchParameter" if p.type.is_switch else p.type.name


def parameter_help(decls: Sequence[Param]) -> ParameterHelp:
    """The help block of one parameter (all its declarations, for every parameter set)."""
    first = decls[0]
    aliases: list[str] = []
    for d in decls:
        aliases.extend(a for a in d.aliases if a not in aliases)
    description = next((d.help for d in decls if d.help), "")
    sets: list[str] = []
    for d in decls:
        sets.extend(s for s in d.sets if s not in sets)
    if any(not d.sets for d in decls):
        sets = ["(All)"]
    required = _per_set(decls, lambda d: "true" if d.mandatory else "false")
    position = _per_set(decls, lambda d: "named" if d.position is None else d.position)
    ph = ParameterHelp(
        (), Name=first.name, Type=_type_label(first), Required=required, Position=position,
        DefaultValue=_default_text(first), PipelineInput=_pipeline_text(decls),
        ParameterSetName=", ".join(sets), Aliases=aliases,
        Globbing="true" if any(accepts_wildcards(d) for d in decls) else "false",
        Description=description)
    return replace(ph, lines=tuple(_parameter_lines(ph, first.type, full=True)))


def _parameter_head(name: str, type_label: str) -> str:
    return f"-{name} [<{type_label}>]" if type_label == "SwitchParameter" \
        else f"-{name} <{type_label}>"


def _parameter_lines(ph: ParameterHelp, type_spec: TypeSpec, full: bool,
                     indent: str = "") -> list[str]:
    """pwsh's parameter block: header, description, then (``full``) the attribute table."""
    lines = [indent + _parameter_head(ph.Name, ph.Type)]
    inner = indent + _INDENT
    if ph.Description:
        lines.extend(_wrap(ph.Description, inner))
    if type_spec.choices:
        lines.extend(_wrap("Accepted values: " + ", ".join(type_spec.choices), inner))
    if full:
        lines.append("")
        for label, value in (("Required?", ph.Required), ("Position?", ph.Position),
                             ("Default value", ph.DefaultValue),
                             ("Accept pipeline input?", ph.PipelineInput),
                             ("Parameter set name", ph.ParameterSetName),
                             ("Aliases", ", ".join(ph.Aliases) or "None"),
                             ("Accept wildcard characters?", ph.Globbing)):
            lines.append(f"{inner}{label:<29}{value}")
    lines.append("")
    return lines


def common_params() -> tuple[Param, ...]:
    """The common parameters every cmdlet takes (the binder's table), then -AsJob."""
    from pjsh.runtime.binder import AS_JOB, COMMON_PARAMS

    return (*COMMON_PARAMS, AS_JOB)


def _common_names(spec: CommandSpec) -> list[str]:
    return [p.name for p in common_params()
            if p.name != "AsJob" or spec.supports_as_job]


def _example_help(index: int, code: str, what: str) -> ExampleHelp:
    title = f"Example {index}"
    lines = [f"{_INDENT}{'-' * 26} {title} {'-' * 26}", ""]
    lines.extend(f"{_INDENT}PS > {line}" if i == 0 else f"{_INDENT}{line}"
                 for i, line in enumerate(code.splitlines() or [""]))
    lines.append("")
    if what:
        lines.extend(_wrap(what, _INDENT))
        lines.append("")
    return ExampleHelp(tuple(lines), Title=title, Code=code, Remarks=what)


def _element_type(name: str) -> str:
    return name[:-2] if name.endswith("[]") else name


def _inputs(spec: CommandSpec) -> list[str]:
    """Types accepted from the pipeline by value (what can be piped in)."""
    out: list[str] = []
    for p in spec.params:
        if p.pipeline:
            name = _element_type(p.type.name)
            if name not in out:
                out.append(name)
    return out


def _outputs(spec: CommandSpec) -> list[str]:
    return [t.strip() for t in spec.output_type.split(",") if t.strip()]


class CommandHelpSource:
    """What a command's help is built from: its table and how the session knows it."""

    __slots__ = ("aliases", "category", "common", "spec", "syntax")

    def __init__(self, spec: CommandSpec, category: str, aliases: tuple[str, ...],
                 syntax: tuple[str, ...], common: bool) -> None:
        """``category`` is "Cmdlet" or "Function"; ``common``: takes the common parameters."""
        self.spec = spec
        self.category = category
        self.aliases = aliases
        self.syntax = syntax
        self.common = common


def _cmdlet_command(spec: CommandSpec, aliases: Iterable[str]) -> CommandHelpSource:
    return CommandHelpSource(spec, "Cmdlet", tuple(aliases), tuple(syntax_lines(spec)), True)


_DIRECTIVE = r"^\s*\.(\w+)(\s+(\S.*))?\s*$"
_NBSP_BLANKS = " \t\u00a0"


@dataclass(frozen=True)
class CommentHelp:
    """A function's comment-based help, read as pwsh's HelpCommentsParser reads it."""

    synopsis: str = ""
    description: str = ""
    parameters: dict[str, str] = field(default_factory=dict)  # upper-case name -> text
    examples: tuple[tuple[str, str], ...] = ()  # (code, remarks)


def _comment_section(lines: list[str], i: int) -> tuple[str, int]:
    """The text of the section whose directive is ``lines[i]``: up to the next directive,
    without the blank lines before it and the first line's indentation; and the index of
    its last line."""
    import re

    out: list[str] = []
    indent = -1
    i += 1
    while i < len(lines):
        line = lines[i]
        if indent < 0 and not line.strip():
            i += 1
            continue
        if re.match(_DIRECTIVE, line):
            break
        if indent < 0:
            indent = len(line) - len(line.lstrip(_NBSP_BLANKS))
        strip = 0
        while strip < min(indent, len(line)) and line[strip] in _NBSP_BLANKS:
            strip += 1
        out.append(line[strip:])
        i += 1
    return "\n".join(out).strip("\n"), i - 1


def parse_comment_help(text: str) -> CommentHelp | None:
    """Read comment-based help (markers already stripped); None when it is not help: no
    directive, an unknown one, or text outside the sections (as pwsh decides)."""
    import re

    lines = [line.lstrip("#") for line in text.replace("\r\n", "\n").split("\n")]
    synopsis = description = ""
    parameters: dict[str, str] = {}
    examples: list[tuple[str, str]] = []
    found = False
    i = 0
    while i < len(lines):
        match = re.match(_DIRECTIVE, lines[i])
        if match is None:
            if lines[i].strip():
                return None
            i += 1
            continue
        found = True
        word, argument = match.group(1).upper(), match.group(3)
        if argument is not None:
            if word != "PARAMETER":
                if word in ("FORWARDHELPTARGETNAME", "FORWARDHELPCATEGORY",
                            "REMOTEHELPRUNSPACE", "EXTERNALHELP"):
                    i += 1
                    continue
                return None
            section, i = _comment_section(lines, i)
            parameters.setdefault(argument.strip().upper(), section)
        elif word in ("SYNOPSIS", "DESCRIPTION", "NOTES", "LINK", "EXAMPLE", "INPUTS", "OUTPUTS",
                      "COMPONENT", "ROLE", "FUNCTIONALITY"):
            section, i = _comment_section(lines, i)
            if word == "SYNOPSIS":
                synopsis = section
            elif word == "DESCRIPTION":
                description = section
            elif word == "EXAMPLE":
                examples.append(_example_sections(section))
        else:
            return None
        i += 1
    if not found:
        return None
    return CommentHelp(synopsis, description, parameters, tuple(examples))


def _example_sections(content: str) -> tuple[str, str]:
    """An example's code and remarks: a leading prompt (``PS C:\\>``) is dropped, the code
    ends at the first blank line (pwsh's GetExampleSections)."""
    import re

    prompt = re.match(r"^.*?>", content)
    if prompt is not None:
        content = content[prompt.end():]
    split = re.match(r"^(?P<code>.*?)\r?\n\r?\n(?P<remarks>.*)$", content, re.DOTALL)
    if split is None:
        return content.strip(), ""
    return split.group("code").strip(), split.group("remarks")


def function_spec(name: str, definition: object) -> CommandSpec:
    """The CommandSpec of a script function: its param() block, as the binder sees it, and
    the text of its comment-based help."""
    from pjsh.runtime.pipeline import script_spec

    body = getattr(definition, "body", None)
    decls = list(getattr(body, "params", None) or [])
    spec = script_spec(name, decls)
    source = to_string(getattr(definition, "source", ""))
    # Defaults are expressions: show their source text, as pwsh's syntax/help does.
    params: list[Param] = []
    by_name = {to_string(getattr(d, "name", "")).lower(): d for d in decls}
    for p in spec.params:
        if p.name.startswith("__"):
            continue
        decl = by_name.get(p.name.lower())
        default = getattr(decl, "default", None)
        span = getattr(default, "span", None)
        if span is not None and source:
            p = replace(p, default=source[span.start:span.end])
        params.append(p)
    comment = getattr(definition, "help_comment", None)
    help_text = parse_comment_help(comment) if isinstance(comment, str) else None
    if help_text is None:
        return CommandSpec(name=name, params=tuple(params), supports_as_job=False)
    params = [replace(p, help=help_text.parameters.get(p.name.upper(), p.help)) for p in params]
    return CommandSpec(name=name, params=tuple(params), supports_as_job=False,
                       summary=help_text.synopsis, description=help_text.description,
                       examples=help_text.examples)


def _function_command(name: str, definition: object, aliases: Iterable[str]) -> CommandHelpSource:
    spec = function_spec(name, definition)
    # Script functions do not take the common parameters in pjsh (the binder refuses them).
    syntax = tuple(line.replace(" [<CommonParameters>]", "") for line in syntax_lines(spec))
    return CommandHelpSource(spec, "Function", tuple(aliases), syntax, False)


def command_help(cmd: CommandHelpSource, view: str = "default") -> HelpInfo:
    """A command's help in one of pwsh's views: "default", "detailed", "full", "examples"."""
    spec = cmd.spec
    name = spec.name
    params = [parameter_help(g) for g in grouped_params(spec.params)]
    examples = [_example_help(i, code, what)
                for i, (code, what) in enumerate(spec.examples, start=1)]
    synopsis = spec.summary or "\n".join(cmd.syntax)
    inputs = _inputs(spec)
    outputs = _outputs(spec)

    lines: list[str] = [""]
    lines += _section("NAME", [_INDENT + name])
    if view == "examples":
        lines += _section("SYNOPSIS", _wrap(synopsis, _INDENT))
        for ex in examples:
            lines += ex.lines
        if not examples:
            lines += [f"{_INDENT}There are no examples for {name}.", ""]
        return _help_info(lines, cmd, synopsis, params, examples, inputs, outputs)
    if spec.summary:
        lines += _section("SYNOPSIS", _wrap(spec.summary, _INDENT))
    syntax: list[str] = []
    for line in cmd.syntax:
        syntax += [*wrap_syntax(line), ""]
    lines += ["SYNTAX", *syntax]
    if spec.description:
        lines += _section("DESCRIPTION", _wrap(spec.description, _INDENT))
    if view in ("detailed", "full"):
        lines.append("PARAMETERS")
        groups = grouped_params(spec.params)
        for g, ph in zip(groups, params):
            lines += _parameter_lines(ph, g[0].type, view == "full", _INDENT)
        if not groups and not cmd.common:
            lines += [f"{_INDENT}None", ""]
        if cmd.common:
            names = _common_names(spec)
            listed = ", ".join(names[:-1]) + f", and {names[-1]}"
            lines += [f"{_INDENT}<CommonParameters>",
                      *_wrap(f"This cmdlet supports the common parameters: {listed}. For more "
                             'information, type: "Get-Help about_CommonParameters".',
                             _INDENT * 2), ""]
    if view == "full":
        lines += _section("INPUTS", [_INDENT + t for t in inputs] or [_INDENT + "None"])
        if outputs:
            lines += _section("OUTPUTS", [_INDENT + t for t in outputs])
    lines += _section("ALIASES", [_INDENT + a for a in cmd.aliases] or [_INDENT + "None"])
    if view in ("detailed", "full") and examples:
        lines.append("EXAMPLES")
        for ex in examples:
            lines += ex.lines
    if view == "default":
        remarks = []
        if examples:
            remarks.append(f'To see the examples, type: "Get-Help {name} -Examples".')
        remarks += [f'For more information, type: "Get-Help {name} -Detailed".',
                    f'For technical information, type: "Get-Help {name} -Full".']
        lines += _section("REMARKS", [_INDENT + r for r in remarks])
    elif view == "detailed":
        lines += _section("REMARKS", [
            f'{_INDENT}For technical information, type: "Get-Help {name} -Full".'])
    return _help_info(lines, cmd, synopsis, params, examples, inputs, outputs)


def _help_info(lines: list[str], cmd: CommandHelpSource, synopsis: str,
               params: list[ParameterHelp], examples: list[ExampleHelp],
               inputs: list[str], outputs: list[str]) -> HelpInfo:
    while len(lines) > 1 and lines[-1] == "":
        lines.pop()
    lines.append("")
    return HelpInfo(tuple(lines), Name=cmd.spec.name, Category=cmd.category,
                    Synopsis=synopsis, ModuleName="pjsh" if cmd.category == "Cmdlet" else "",
                    Syntax=list(cmd.syntax), Description=cmd.spec.description,
                    Parameters=params, Examples=examples, Aliases=list(cmd.aliases),
                    Inputs=inputs, Outputs=outputs)


# ---------------------------------------------------------------------------------------------
# about_* topics (package data, read only when asked for)
# ---------------------------------------------------------------------------------------------


def topic_names() -> list[str]:
    """The about_* topics shipped with pjsh, sorted (file names only; nothing is read)."""
    from importlib import resources

    try:
        if sys.version_info >= (3, 9):  # novm
            entries = [entry.name for entry in resources.files(_TOPIC_PACKAGE).iterdir()]
        else:  # the engine runs on 3.8 too, where files() is missing
            entries = list(resources.contents(_TOPIC_PACKAGE))
    except (ModuleNotFoundError, OSError):
        # An engine shipped without its help data (as to a remote host) has no topics.
        return []
    names = [entry[:-3] for entry in entries
             if entry.startswith("about_") and entry.endswith(".md")]
    return sorted(names, key=str.lower)


def topic_text(name: str) -> str:
    """The text of one topic (``name`` as returned by :func:`topic_names`)."""
    from importlib import resources

    if sys.version_info >= (3, 9):  # novm
        return resources.files(_TOPIC_PACKAGE).joinpath(f"{name}.md").read_text(encoding="utf-8")
    # The engine runs on 3.8 too, where files() is missing.
    return resources.read_text(_TOPIC_PACKAGE, f"{name}.md", encoding="utf-8")


def topic_synopsis(text: str) -> str:
    """A topic's short description: the paragraph under ``## Short description``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower() == "## short description":
            para: list[str] = []
            for follow in lines[i + 1:]:
                if not follow.strip():
                    if para:
                        break
                    continue
                if follow.startswith("#"):
                    break
                para.append(follow.strip())
            return " ".join(para)
    return next((ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")), "")


def topic_help(name: str) -> HelpInfo:
    """An about_* topic as a help object whose display is the topic's text."""
    text = topic_text(name)
    lines = ["", *text.rstrip("\n").split("\n"), ""]
    return HelpInfo(tuple(lines), Name=name, Category="HelpFile", Synopsis=topic_synopsis(text))


# ---------------------------------------------------------------------------------------------
# Finding help
# ---------------------------------------------------------------------------------------------


class HelpIndex:
    """The help a session has: its cmdlets, aliases and functions, and the shipped topics."""

    def __init__(self, session: Session) -> None:
        """Read the session's command table."""
        self.session = session
        self.table = CommandTable(session)

    def aliases_of(self, target: str) -> list[str]:
        """Every alias (built-in or user-defined) that names ``target``, sorted."""
        low = target.lower()
        return sorted((spelled for spelled, tgt in self.table.alias_targets().values()
                       if tgt.lower() == low), key=str.lower)

    def command_for(self, info: object) -> CommandHelpSource | None:
        """The help source of a CommandInfo (an alias resolves to what it runs)."""
        if isinstance(info, AliasInfo):
            info = info.ResolvedCommand
        if isinstance(info, CmdletInfo) and info.spec is not None:
            return _cmdlet_command(info.spec, self.aliases_of(info.Name))
        if isinstance(info, FunctionInfo):
            for key, defn in self.session.functions.items():
                if key.lower() == info.Name.lower():
                    return _function_command(info.Name, defn, self.aliases_of(info.Name))
        return None

    def lookup(self, name: str, categories: frozenset[str]) -> list[CommandInfo]:
        """The command a literal name runs (alias, function, cmdlet, program), if any."""
        kinds = {"Application", "ExternalScript"}
        kinds |= {c for c in ("Alias", "Function", "Cmdlet") if c in categories}
        return self.table.lookup(name, frozenset(kinds), False)

    def topic(self, name: str) -> str | None:
        """The spelling of a topic named ``name`` (any case), if pjsh ships it."""
        low = name.lower()
        return next((t for t in topic_names() if t.lower() == low), None)

    def summaries(self, pattern: str, categories: frozenset[str]) -> list[HelpSummary]:
        """Everything whose name matches a wildcard pattern, as listing rows."""
        rx = wildcard_regex(pattern)
        rows: list[HelpSummary] = []
        if "Alias" in categories:
            rows += [HelpSummary(a.Name, "Alias", a.Definition, a) for a in self.table.aliases()
                     if rx.match(a.Name)]
        if "Cmdlet" in categories:
            rows += [HelpSummary(c.Name, "Cmdlet", c.spec.summary, c) for c in self.table.cmdlets()
                     if c.spec is not None and rx.match(c.Name)]
        if "Function" in categories:
            rows += [self._function_row(f) for f in self.table.functions() if rx.match(f.Name)]
        if "HelpFile" in categories:
            rows += [self._topic_row(t) for t in topic_names() if rx.match(t)]
        return _sorted(rows)

    def search(self, word: str, categories: frozenset[str]) -> list[HelpSummary]:
        """Help whose text mentions ``word`` (pwsh's content search for an unknown name)."""
        low = word.lower()
        rows: list[HelpSummary] = []
        if "Cmdlet" in categories:
            for c in self.table.cmdlets():
                if c.spec is not None and low in _spec_text(c.spec).lower():
                    rows.append(HelpSummary(c.Name, "Cmdlet", c.spec.summary, c))
        if "HelpFile" in categories:
            for t in topic_names():
                if low in topic_text(t).lower():
                    rows.append(self._topic_row(t))
        return _sorted(rows)

    def _function_row(self, f: FunctionInfo) -> HelpSummary:
        cmd = self.command_for(f)
        return HelpSummary(f.Name, "Function", " ".join(cmd.syntax) if cmd else f.Name, f)

    @staticmethod
    def _topic_row(name: str) -> HelpSummary:
        return HelpSummary(name, "HelpFile", topic_synopsis(topic_text(name)), name)


def _spec_text(spec: CommandSpec) -> str:
    parts = [spec.summary, spec.description, *(p.help for p in spec.params)]
    parts += [f"{code} {what}" for code, what in spec.examples]
    return "\n".join(parts)


def _sorted(rows: list[HelpSummary]) -> list[HelpSummary]:
    return sorted(rows, key=lambda r: (_CATEGORY_ORDER.get(r.Category, 9), r.Name.lower()))


def not_found_message(name: str) -> str:
    """pwsh's message for help nobody has, with pjsh's own next steps (it has no Update-Help)."""
    return (f"Get-Help could not find {name} in a help file in this session. To list the "
            'commands pjsh knows, type: "Get-Command". To list the help topics, type: '
            '"Get-Help about_*".')


def native_message(name: str, path: str) -> str:
    """The message for a program on PATH: pjsh has no help for it, man does."""
    return (f"{name} is a native program ({path}), not a pjsh command, so pjsh has no help for "
            f'it. Try "man {name}" or "{name} --help".')


# ---------------------------------------------------------------------------------------------
# Get-Help
# ---------------------------------------------------------------------------------------------

# PowerShell's HelpCategory names (Get-Help -Category validates against this set); pjsh has
# help of the kinds in CATEGORIES, the others are accepted and match nothing.
HELP_CATEGORIES = ("Alias", "Cmdlet", "Function", "HelpFile", "Provider", "General", "FAQ",
                   "Glossary", "ScriptCommand", "Filter", "ExternalScript", "All", "DefaultHelp",
                   "DscResource", "Class", "Configuration")

_GET_HELP_ID = "Microsoft.PowerShell.Commands.GetHelpCommand"


def _categories(value: object) -> object:
    """-Category: names in pwsh's spelling, case-insensitively; unknown names stay for the
    validator's message."""
    canon = {c.lower(): c for c in HELP_CATEGORIES}
    return [canon.get(to_string(v).lower(), to_string(v)) for v in as_list(value)]


def _validate_categories(value: object) -> str | None:
    for v in as_list(value):
        if v not in HELP_CATEGORIES:
            return (f'The argument "{to_string(v)}" does not belong to the set '
                    f'"{",".join(HELP_CATEGORIES)}" specified by the ValidateSet attribute. '
                    "Supply an argument that is in the set and then try the command again.")
    return None


CATEGORY = TypeSpec("System.String[]", _categories, is_array=True, python="list[str]")


class GetHelpArgs(Bound):
    """Get-Help's parameters."""

    Name: str | None
    Category: list[str] | None
    Full: bool
    Detailed: bool
    Examples: bool
    Parameter: list[str] | None
    Online: bool
    ShowWindow: bool


@command
class GetHelp(Cmdlet):
    """Get-Help: show help for commands and about_* topics."""

    spec = CommandSpec(
        name="Get-Help",
        aliases=("help",),
        default_set="AllUsersView",
        params=(
            Param("Name", STRING, position=0, pipeline_by_name=True, completer="command",
                  help="A command, alias, function or about_ topic; a name with wildcards "
                       "lists every match."),
            Param("Category", CATEGORY, validate=_validate_categories,
                  help="Only help of these kinds: Alias, Cmdlet, Function or HelpFile (All for "
                       "every kind)."),
            Param("Full", SWITCH, sets=("AllUsersView",),
                  help="The whole help: parameters with their attributes, inputs, outputs and "
                       "examples."),
            Param("Detailed", SWITCH, mandatory=True, sets=("DetailedView",),
                  help="Add parameter descriptions and examples."),
            Param("Examples", SWITCH, mandatory=True, sets=("Examples",),
                  help="Only the name, synopsis and examples."),
            Param("Parameter", STRINGS, mandatory=True, sets=("Parameters",),
                  help="Only these parameters, with their attributes (wildcards allowed)."),
            Param("Online", SWITCH, mandatory=True, sets=("Online",),
                  help="Not supported: pjsh has no online help."),
            Param("ShowWindow", SWITCH, mandatory=True, sets=("ShowWindow",),
                  help="Not supported: pjsh has no help window."),
        ),
        summary="Displays information about pjsh commands and concepts.",
        description=(
            "Get-Help shows the help of a cmdlet, of an alias (the help of the command it "
            "runs) or of a function, built from the command's parameter table, and the "
            "about_ topics that explain pjsh's concepts. A name with wildcards lists every "
            "match as a table of Name, Category and Synopsis; a pattern with one match shows "
            "that help. A name that is neither a command nor a topic lists the help that "
            "mentions it. Without a name, Get-Help shows the about_pjsh overview."
        ),
        examples=(
            ("Get-Help Start-Job", "The syntax and description of Start-Job."),
            ("Get-Help Receive-Job -Full", "Everything, including each parameter's attributes."),
            ("Get-Help Get-Job -Parameter Id", "One parameter: type, position, aliases."),
            ("Get-Help *-Job", "List the job cmdlets."),
            ("Get-Help about_*", "List the help topics."),
            ("Get-Help about_Jobs", "Read about jobs."),
            ("(Get-Help Wait-Job).Synopsis", "Just the one-line summary."),
        ),
        output_type="HelpInfo",
    )
    args_type = GetHelpArgs

    def process(self, args: GetHelpArgs) -> None:
        """Find the help asked for and write it."""
        for switch, given, missing in (("Online", args.Online, "online help"),
                                       ("ShowWindow", args.ShowWindow, "help window")):
            if given:
                self.ctx.throw(
                    f"The -{switch} parameter is not supported in pjsh: it has no {missing}. "
                    'Use "Get-Help <name> -Full" instead.',
                    f"{switch}NotSupported,{_GET_HELP_ID}", "NotImplemented",
                    exception_type="System.NotSupportedException")
        categories = self._categories(args)
        name = to_string(args.Name or "")
        index = HelpIndex(self.ctx.session)
        if not name:
            if "Category" not in args:
                if index.topic(OVERVIEW_TOPIC) is None:  # an engine without its help data
                    self._write_command(_cmdlet_command(self.spec, ("help",)), args)
                else:
                    self.ctx.write_output(topic_help(OVERVIEW_TOPIC))
                return
            name = "*"  # `Get-Help -Category Cmdlet` lists every cmdlet, as in pwsh
        if has_wildcard(name):
            self._write_rows(index, index.summaries(name, categories), name, args)
            return
        found = index.lookup(name, categories)
        for info in found:
            source = None if isinstance(info, ApplicationInfo) else index.command_for(info)
            if source is not None:
                self._write_command(source, args)
                return
        topic = index.topic(name) if "HelpFile" in categories else None
        if topic is not None:
            self.ctx.write_output(topic_help(topic))
            return
        programs = [i for i in found if isinstance(i, ApplicationInfo)]
        if programs:
            # A program on PATH: pjsh has no help for it, but can say where help is.
            self._not_found(native_message(programs[0].Name, programs[0].Definition),
                            name)
            return
        # pwsh's last resort for a name it does not know: the help that mentions it.
        self._write_rows(index, index.search(name, categories), name, args)

    @staticmethod
    def _categories(args: GetHelpArgs) -> frozenset[str]:
        given = [to_string(c) for c in as_list(args.Category)]
        if not given or "All" in given:
            return frozenset(CATEGORIES)
        return frozenset(given)

    def _write_rows(self, index: HelpIndex, rows: list[HelpSummary], name: str,
                    args: GetHelpArgs) -> None:
        if not rows:
            self._not_found(not_found_message(name), name)
            return
        if len(rows) > 1:
            for row in rows:
                self.ctx.write_output(row)
            return
        # One match shows its help, as pwsh does for `Get-Help about_Jo*`.
        target = rows[0].target
        if isinstance(target, str):
            self.ctx.write_output(topic_help(target))
            return
        source = index.command_for(target)
        if source is None:
            self.ctx.write_output(rows[0])
            return
        self._write_command(source, args)

    def _write_command(self, source: CommandHelpSource, args: GetHelpArgs) -> None:
        if args.parameter_set == "Parameters":
            self._write_parameters(source, [to_string(p) for p in as_list(args.Parameter)])
            return
        if args.Detailed:
            view = "detailed"
        elif args.Examples:
            view = "examples"
        else:
            view = "full" if args.Full else "default"
        self.ctx.write_output(command_help(source, view))

    def _write_parameters(self, source: CommandHelpSource, patterns: list[str]) -> None:
        groups = grouped_params(source.spec.params)
        if source.common:
            # pjsh's help also covers the common parameters (their table is the binder's).
            have = {g[0].name.lower() for g in groups}
            groups += [[p] for p in common_params()
                       if p.name.lower() not in have
                       and (p.name != "AsJob" or source.spec.supports_as_job)]
        for pattern in patterns:
            rx = wildcard_regex(pattern)
            matched = [g for g in groups if rx.match(g[0].name)]
            if not matched:
                self.ctx.write_error(self.ctx.error(
                    f"No parameter matches criteria {pattern}.",
                    f"NoParmsFound,{_GET_HELP_ID}", "InvalidArgument", pattern,
                    "System.ArgumentException"))
            for g in matched:
                self.ctx.write_output(parameter_help(g))

    def _not_found(self, message: str, name: str) -> None:
        self.ctx.write_error(self.ctx.error(
            message, f"HelpNotFound,{_GET_HELP_ID}", "ResourceUnavailable", name,
            "Microsoft.PowerShell.Commands.HelpNotFoundException"))


# ---------------------------------------------------------------------------------------------
# The Markdown reference
# ---------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Plain text safe inside a Markdown table cell (no emphasis, no HTML, no column breaks)."""
    for ch in "\\`*_|[]":
        text = text.replace(ch, "\\" + ch)
    return text.replace("<", "&lt;").replace("\n", " ")


def _code_span(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _anchor(name: str) -> str:
    return name.lower().replace(" ", "-")


def _markdown_param_rows(params: Iterable[Sequence[Param]], with_position: bool) -> list[str]:
    rows: list[str] = []
    for decls in params:
        ph = parameter_help(decls)
        p = decls[0]
        help_text = ph.Description
        if p.type.choices:
            help_text += " Accepted values: " + ", ".join(p.type.choices) + "."
        cells = [f"`-{p.name}`", _cell(type_display_name(p.type.name))]
        if with_position:
            cells += [_cell(ph.Position), _cell(ph.Required),
                      _cell(ph.PipelineInput.replace("True (", "").rstrip(")")
                            if ph.PipelineInput != "False" else "")]
        cells += [_cell(", ".join(f"-{a}" for a in ph.Aliases)), _cell(help_text.strip())]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def markdown_reference(registry: Registry) -> str:
    """The cmdlet reference (docs/cmdlets.md), generated from every cmdlet's table."""
    specs = sorted((cls.spec for cls in registry.commands.values()), key=lambda s: s.name.lower())
    aliases: dict[str, list[str]] = {}
    for alias, target in registry.aliases.items():
        aliases.setdefault(target.lower(), []).append(alias)
    out = ["# pjsh cmdlet reference", "",
           "Generated from the cmdlets' parameter tables by "
           "`python -m pjsh.commands.help --markdown`; do not edit by hand. In the shell, "
           "`Get-Help <name> -Full` shows the same information.", ""]
    out += [", ".join(f"[{s.name}](#{_anchor(s.name)})" for s in specs), ""]
    out += ["## Common parameters", "",
            "Every cmdlet takes these (`-AsJob` unless its section says otherwise).", "",
            "| parameter | type | aliases | help |", "|---|---|---|---|"]
    out += _markdown_param_rows(([p] for p in common_params()), with_position=False)
    out.append("")
    for spec in specs:
        out += [f"## {spec.name}", ""]
        if spec.summary:
            out += [spec.summary, ""]
        names = sorted({*spec.aliases, *aliases.get(spec.name.lower(), [])}, key=str.lower)
        if names:
            out += ["Aliases: " + ", ".join(_code_span(a) for a in names), ""]
        out += ["### Syntax", "", "```", *syntax_lines(spec), "```", ""]
        if spec.description:
            out += ["### Description", "", spec.description, ""]
        groups = grouped_params(spec.params)
        if groups:
            out += ["### Parameters", "",
                    "| parameter | type | position | required | pipeline | aliases | help |",
                    "|---|---|---|---|---|---|---|"]
            out += _markdown_param_rows(groups, with_position=True)
            out.append("")
        notes = []
        if _inputs(spec):
            notes.append("Input: " + ", ".join(f"`{t}`" for t in _inputs(spec)) + ".")
        if _outputs(spec):
            notes.append("Output: " + ", ".join(f"`{t}`" for t in _outputs(spec)) + ".")
        if not spec.supports_as_job:
            notes.append("Does not take `-AsJob`.")
        if notes:
            out += [" ".join(notes), ""]
        if spec.examples:
            out += ["### Examples", ""]
            for code, what in spec.examples:
                out += ["```powershell", code, "```", ""]
                if what:
                    out += [what, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pjsh.commands.help --markdown``: print the cmdlet reference."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--markdown"]:
        sys.stderr.write("usage: python -m pjsh.commands.help --markdown\n")
        return 2
    from pjsh.commands import builtin_registry

    sys.stdout.write(markdown_reference(builtin_registry()))
    return 0


__all__ = [
    "CATEGORIES",
    "HELP_CATEGORIES",
    "OVERVIEW_TOPIC",
    "WRAP_WIDTH",
    "CommandHelpSource",
    "ExampleHelp",
    "GetHelp",
    "HelpIndex",
    "HelpInfo",
    "HelpSummary",
    "HelpText",
    "ParameterHelp",
    "accepts_wildcards",
    "command_help",
    "common_params",
    "function_spec",
    "grouped_params",
    "main",
    "markdown_reference",
    "native_message",
    "not_found_message",
    "parameter_help",
    "topic_help",
    "topic_names",
    "topic_synopsis",
    "topic_text",
    "wrap_syntax",
]


if __name__ == "__main__":
    sys.exit(main())
