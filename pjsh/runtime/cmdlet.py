"""The cmdlet model: how a cmdlet is declared (one parameter table per command, read by the
binder, help, completion and the generated docs), the context a running cmdlet writes to, and
the command registry a runspace owns.

A leaf module: the runtime (binder, pipeline) and the command modules both import it, and it
imports nothing above the runtime.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pjsh.lang.record import dataclass
from pjsh.runtime import fastpath
from pjsh.runtime.convert import OBJECT, TypeSpec
from pjsh.runtime.errors import ErrorRecord

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    from typing import TypeAlias

    from pjsh.runtime.cancel import CancelToken
    from pjsh.runtime.formatting import ViewTable
    from pjsh.runtime.interpreter import Frame, Interpreter
    from pjsh.runtime.scriptblock import ScriptBlock
    from pjsh.runtime.session import Session

# A validator returns None when the value is fine, else PowerShell's validator message.
Validator: TypeAlias = "Callable[[object], str | None]"


def validate_range(low: float, high: float | None = None) -> Validator:
    """``[ValidateRange(low, high)]``: PowerShell's messages for a number out of range. Any
    number is judged, infinities and NaN included (NaN counts as below the minimum, as .NET
    orders it)."""

    def check(value: object) -> str | None:
        from pjsh.runtime.convert import ConversionError, to_number, to_string

        values = value if isinstance(value, list) else [value]
        for item in values:
            try:
                n = to_number(item)
            except ConversionError:
                continue  # the parameter's type conversion reports it
            shown = to_string(n)
            if n != n or n < low:
                return (f"The {shown} argument is less than the minimum allowed range of "
                        f"{to_string(low)}. Supply an argument that is greater than or equal to "
                        f"{to_string(low)} and then try the command again.")
            if high is not None and n > high:
                return (f"The {shown} argument is greater than the maximum allowed range of "
                        f"{to_string(high)}. Supply an argument that is less than or equal to "
                        f"{to_string(high)} and then try the command again.")
        return None

    return check


@dataclass(frozen=True)
class Param:
    """One parameter of a command, in the parameter sets it belongs to (``()`` = all sets).

    A parameter whose position or mandatoriness differs between sets is declared once per
    group of sets, with the same name; the binder merges them.
    """

    name: str
    type: TypeSpec = OBJECT
    position: int | None = None
    mandatory: bool = False
    aliases: tuple[str, ...] = ()
    pipeline: bool = False
    pipeline_by_name: bool = False
    sets: tuple[str, ...] = ()
    default: object = None
    help: str = ""
    validate: Validator | None = None
    completer: str | None = None  # "path", "directory", "command", "job", "variable", "host"
    remaining: bool = False  # ValueFromRemainingArguments: unbound positional args collect here
    # [AllowNull][AllowEmptyString][AllowEmptyCollection]: a mandatory text parameter that
    # takes $null, '' and @() (pwsh refuses them for every other mandatory text parameter).
    allow_empty: bool = False


@dataclass(frozen=True)
class CommandSpec:
    """A command's name, aliases, parameters and help text."""

    name: str
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    default_set: str | None = None
    summary: str = ""
    description: str = ""
    examples: tuple[tuple[str, str], ...] = ()  # (code, what it does)
    output_type: str = ""
    supports_as_job: bool = True

    def set_names(self) -> list[str]:
        """All parameter set names declared by the parameters, default set first."""
        names: list[str] = []
        if self.default_set:
            names.append(self.default_set)
        for p in self.params:
            for s in p.sets:
                if s not in names:
                    names.append(s)
        return names or ["__AllParameterSets"]


class Bound:
    """The values bound for one invocation. Each cmdlet declares a subclass with one typed
    attribute per parameter (its ``args_type``), so ``args.Name`` is typed where the cmdlet
    reads it; unbound parameters hold their default. ``"Name" in args`` tells whether the
    caller gave it. (The script binder uses this class itself, through :meth:`get`.)"""

    def __init__(self, values: dict[str, object], parameter_set: str) -> None:
        self.__dict__.update(values)
        self._values = values
        self.parameter_set = parameter_set
        self._explicit: set[str] = set()

    @classmethod
    def sharing_explicit(cls, values: dict[str, object], parameter_set: str,
                         explicit: set[str]) -> Bound:
        """``cls(values, parameter_set)`` marked explicit with ``explicit`` itself, not a copy
        (the binder hands one never-changed set to every object of a stage)."""
        b = cls.__new__(cls)
        state = b.__dict__
        state.update(values)
        state["_values"] = values
        state["parameter_set"] = parameter_set
        state["_explicit"] = explicit
        return b

    def __contains__(self, name: str) -> bool:
        return name in self._explicit

    def mark_explicit(self, names: set[str]) -> None:
        """Record which parameters the caller actually supplied."""
        self._explicit = set(names)

    def explicit_names(self) -> frozenset[str]:
        """The parameters the caller supplied (the command line's and the pipeline's)."""
        return frozenset(self._explicit)

    def get(self, name: str, default: object = None) -> object:
        """Return a parameter's value or ``default``."""
        return self._values.get(name, default)

    def as_dict(self) -> dict[str, object]:
        """Return all values (defaults included)."""
        return dict(self._values)


class CommandContext(Protocol):
    """What a running cmdlet can do: write to its streams, reach its session, run script blocks."""

    command_name: str
    session: Session

    def write_output(self, value: object) -> None:
        """Send one object down the pipeline (lists are sent as one object)."""

    def write_error(self, record: ErrorRecord) -> None:
        """Write a non-terminating error."""

    def write_warning(self, text: str) -> None:
        """Write to the warning stream."""

    def write_verbose(self, text: str) -> None:
        """Write to the verbose stream."""

    def write_debug(self, text: str) -> None:
        """Write to the debug stream."""

    def write_information(self, value: object, tags: Sequence[str] = ()) -> None:
        """Write to the information stream."""

    def write_progress(self, record: object) -> None:
        """Write a progress record."""

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        """Write straight to the host (information stream tagged PSHOST)."""

    def error(self, message: str, error_id: str, category: str = "NotSpecified",
              target: object = None,
              exception_type: str = "System.Management.Automation.RuntimeException",
              ) -> ErrorRecord:
        """Build an error record attributed to this command."""

    def throw(self, message: str, error_id: str, category: str = "NotSpecified",
              target: object = None,
              exception_type: str = "System.Management.Automation.RuntimeException",
              ) -> None:
        """Raise a terminating error attributed to this command."""

    def invoke(self, block: ScriptBlock, args: Sequence[object] = (),
               dollar_under: object = ..., input: Sequence[object] | None = None,
               ) -> list[object]:
        """Run a script block in a child scope and return its output as a list."""

    def invoke_to_output(self, block: ScriptBlock, args: Sequence[object] = (),
                         dollar_under: object = ...) -> None:
        """Run a script block, streaming its output down this command's pipeline."""

    def common_parameter(self, name: str) -> object:
        """The value of a common parameter given to this command (``AsJob``,
        ``ErrorAction``...), None if it was not given."""

    def caller(self) -> tuple[Interpreter, Frame]:
        """The interpreter and frame running this command, for cmdlets that read or set the
        caller's variables (Get-Variable, jobs copying ``$using:`` values)."""

    def byte_writer(self) -> Callable[[bytes], None] | None:
        """Where raw bytes (a job's native output) may go downstream without decoding, or
        None when the next consumer needs objects."""

    @property
    def stopping(self) -> bool:
        """True once the pipeline is being stopped (Ctrl+C, Select-Object -First)."""

    @property
    def cancel(self) -> CancelToken:
        """The token a stop of this pipeline sets: pass it to every blocking wait."""


# ---- bulk input (fast paths) -------------------------------------------------------------------
# Producers of many plain strings (Receive-Job's native lines, Get-Content) hand them down in
# blocks; a consumer that declares ``bulk_parameter`` takes a block in one call instead of one
# binding and one ``process`` per line. pjsh.runtime.fastpath.ENABLED turns these off with the
# interpreter's fast paths (tests compare both ways; PJSH_NO_FASTPATH=1).


class Taken:
    """How many values of a block a consumer has taken: on an exception (a stop upstream
    from Select-Object -First) the producer knows where to resume; the value whose
    processing raised counts as taken, as with one-by-one output."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


def write_all(ctx: CommandContext, values: Sequence[object], taken: Taken | None = None) -> None:
    """Write ``values`` downstream in order, exactly as one ``write_output`` each would; in
    one call where the context and the next stage take blocks (``write_many``)."""
    tally = taken if taken is not None else Taken()
    bulk = getattr(ctx, "write_many", None) if fastpath.ENABLED else None
    if bulk is not None:
        bulk(values, tally)
        return
    write = ctx.write_output
    for value in values:
        tally.count += 1
        write(value)


def bulk_strings(values: Sequence[object]) -> bool:
    """True when every value is a plain string (``str``, or a subclass marked
    ``plain_str``: a string with attributes, such as a received native line, that formats,
    converts and binds as its text): what the bulk handlers take."""
    # The distinct types, gathered in C: a block is one or two types however long it is.
    return all(t is str or getattr(t, "plain_str", False) for t in set(map(type, values)))


class Cmdlet:
    """Base of every built-in command. ``process`` runs once per pipeline input (with the
    pipeline parameters rebound), or once if the command has no pipeline input."""

    spec: ClassVar[CommandSpec]
    # The typed record of this cmdlet's parameters, which the binder builds for each call.
    args_type: ClassVar[type[Bound]] = Bound
    _builtin_command: ClassVar[bool] = False  # set by @command
    # Parameters whose presence means the cmdlet makes its own job for -AsJob (ForEach-Object
    # -Parallel returns a job of per-item tasks) instead of running whole as a thread job.
    own_as_job_with: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: CommandContext) -> None:
        self.ctx = ctx

    # ``args`` is the cmdlet's own ``args_type`` record: each cmdlet annotates it with that
    # type (tests/test_cmdlet_args.py checks), which the base cannot name.
    def begin(self, args: Any) -> None:
        """Run once before the first input."""

    def process(self, args: Any) -> None:
        """Run for each input object."""

    def end(self, args: Any) -> None:
        """Run once after the last input."""

    def item_processor(self, args: Any) -> Callable[[object], None] | None:
        """A callable doing ``process`` for one pipeline object, for a stage whose every
        object binds as ``args`` did with only the object changed (the binder's direct
        plan: ``args`` is the first object's record, already processed); None when there
        is none (``process`` with a new record each time). A fast path: the same output,
        errors and side effects as ``process``."""
        return None

    # The pipeline parameter a block of plain strings binds to (each string by value, with no
    # conversion): set by cmdlets whose ``process_many`` takes such blocks.
    bulk_parameter: ClassVar[str | None] = None

    def process_many(self, args: Any, values: Sequence[object], taken: Taken) -> None:
        """Process plain strings as ``process`` would, one after the other, ``args`` being
        bound for the first (the bulk parameter is replaced for each); ``taken`` counts
        them. Cmdlets override it where a whole block is cheaper."""
        name = self.bulk_parameter
        assert name is not None
        fields = args.__dict__
        bound = fields["_values"]
        process = self.process
        for value in values:
            taken.count += 1
            fields[name] = bound[name] = value
            process(args)


def module_commands(name: str) -> list[type[Cmdlet]]:
    """The cmdlet classes a command module marks with :func:`command`, in definition order
    (importing the module; an import error propagates: a missing command module is a broken
    installation, not something to skip)."""
    module = importlib.import_module(name)
    return [value for value in vars(module).values()
            if isinstance(value, type) and value.__dict__.get("_builtin_command")
            and value.__module__ == module.__name__]


if TYPE_CHECKING:
    _TableBase = MutableMapping[str, "type[Cmdlet]"]
else:  # subscripting collections.abc at run time needs 3.9; the engine runs on 3.8 hosts
    _TableBase = MutableMapping


class CommandTable(_TableBase):
    """Lower-case command name → cmdlet class. Names a manifest promises are resolved on
    demand: their module is imported when one of them is first looked up (or the table is
    listed), so start-up does not pay for the command families a script never uses."""

    def __init__(self, loaded: Mapping[str, type[Cmdlet]] | None = None,
                 pending: Mapping[str, str] | None = None,
                 order: Sequence[str] = ()) -> None:
        self._loaded: dict[str, type[Cmdlet]] = dict(loaded or {})
        self._pending: dict[str, str] = dict(pending or {})  # name → module that provides it
        self._order = tuple(order)  # the manifest's order: listing never depends on use

    def __getitem__(self, name: str) -> type[Cmdlet]:
        found = self._loaded.get(name)
        if found is None:
            module = self._pending.get(name)
            if module is None:
                raise KeyError(name)
            self._load(module)
            found = self._loaded[name]
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._pending

    def __setitem__(self, name: str, cls: type[Cmdlet]) -> None:
        self._pending.pop(name, None)
        self._loaded[name] = cls

    def __delitem__(self, name: str) -> None:
        if self._pending.pop(name, None) is None:
            del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        if self._pending:
            for module in dict.fromkeys(self._pending.values()):
                self._load(module)
            ranked = {name: self._loaded[name] for name in self._order if name in self._loaded}
            for name, cls in self._loaded.items():  # added ones after the manifest's
                ranked.setdefault(name, cls)
            self._loaded = ranked
        return iter(list(self._loaded))

    def __len__(self) -> int:
        return len(self._loaded) + len(self._pending)

    def copy(self) -> CommandTable:
        """An independent table with the same commands (loaded or not)."""
        return CommandTable(self._loaded, self._pending, self._order)

    def _load(self, module: str) -> None:
        for cls in module_commands(module):
            name = cls.spec.name.lower()
            if self._pending.get(name) == module:  # not replaced meanwhile by add()
                del self._pending[name]
                self._loaded[name] = cls
        missing = [name for name, owner in self._pending.items() if owner == module]
        if missing:
            raise ImportError(f"{module} does not provide the commands its manifest lists: "
                              f"{', '.join(missing)}")


class Registry:
    """A command table: canonical name → cmdlet class, plus command aliases.

    Built explicitly from a list of command modules (:meth:`from_modules`, which imports them)
    or from a manifest of what each provides (:meth:`from_manifest`, which imports a module
    when one of its commands is first used), never filled by import side effects; each
    runspace owns a copy, so one runspace (a thread job, a remote session) cannot change
    another's commands.
    """

    def __init__(self, commands: CommandTable | None = None,
                 aliases: dict[str, str] | None = None, modules: tuple[str, ...] = (),
                 views: ViewTable | None = None,
                 manifest: Mapping[str, Sequence[str]] | None = None,
                 view_modules: tuple[str, ...] | None = None) -> None:
        self.commands: CommandTable = commands.copy() if commands is not None \
            else CommandTable()
        self.aliases: dict[str, str] = dict(aliases or {})
        # The modules the table was built from, and what each provides if the table was built
        # from a manifest: a worker process rebuilds the same table the same way.
        self.modules = modules
        self.manifest = manifest
        # The modules that add format views, when known: the first table shown (the row of
        # the first `&` job) then imports those two, not every command module.
        self.view_modules = view_modules
        self._views = views

    @property
    def views(self) -> ViewTable:
        """The default format views: the runtime's own plus those each command module adds
        through its ``format_views(table)`` function (those on first lookup)."""
        if self._views is None:
            from pjsh.runtime.formatting import builtin_views

            modules = self.view_modules if self.view_modules is not None else self.modules

            def add_module_views(table: ViewTable) -> None:
                for name in modules:
                    add_views = getattr(importlib.import_module(name), "format_views", None)
                    if add_views is not None:
                        add_views(table)

            self._views = builtin_views()
            # The modules' views are added when an object first needs a view: a runspace
            # that only ever prints strings imports no command module for them.
            self._views.fill_later(add_module_views)
        return self._views

    def add(self, cls: type[Cmdlet]) -> type[Cmdlet]:
        """Register a cmdlet class under its name and aliases."""
        self.commands[cls.spec.name.lower()] = cls
        for alias in cls.spec.aliases:
            self.aliases[alias.lower()] = cls.spec.name
        fastpath.definitions_changed()
        return cls

    def copy(self) -> Registry:
        """An independent copy (the cmdlet classes themselves are shared: they are immutable)."""
        views = self._views.copy() if self._views is not None else None
        return Registry(self.commands, self.aliases, self.modules, views, self.manifest,
                        self.view_modules)

    @classmethod
    def from_modules(cls, names: Iterable[str]) -> Registry:
        """Import the named command modules and register the cmdlets each one marks with
        :func:`command`, in module order."""
        names = tuple(names)
        registry = cls(modules=names)
        for name in names:
            for command_class in module_commands(name):
                registry.add(command_class)
        return registry

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Sequence[str]],
                      view_modules: Sequence[str] | None = None) -> Registry:
        """A registry of what each command module promises (module → ``"Name alias ..."``
        entries), importing a module only when one of its commands is first looked up;
        ``view_modules`` are those with a ``format_views`` (all are asked if not given)."""
        pending: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for module, entries in manifest.items():
            for entry in entries:
                name, *names = entry.split()
                pending[name.lower()] = module
                aliases.update((alias.lower(), name) for alias in names)
        return cls(CommandTable(pending=pending, order=tuple(pending)), aliases,
                   tuple(manifest), manifest={m: tuple(e) for m, e in manifest.items()},
                   view_modules=None if view_modules is None else tuple(view_modules))


def command(cls: type[Cmdlet]) -> type[Cmdlet]:
    """Class decorator: mark a cmdlet class as one its module provides (see
    :meth:`Registry.from_modules`). It registers nothing by itself."""
    cls._builtin_command = True
    return cls
