"""The parameter binder: named, ``-Name:value``, positional, switches, unique-prefix
abbreviation, aliases, parameter sets, pipeline binding by value and by property name,
type conversion, validation and mandatory parameters. It reads each command's Param table."""

from __future__ import annotations

from pjsh.lang.record import dataclass, field
from pjsh.runtime import fastpath
from pjsh.runtime.cmdlet import Bound, CommandSpec, Param
from pjsh.runtime.convert import (
    BOOL,
    INT,
    OBJECT,
    STRING,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    enum_type,
    to_string,
)
from pjsh.runtime.values import lookup_property

ACTION_PREFERENCE = enum_type(
    "System.Management.Automation.ActionPreference",
    ["SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend", "Break"],
)

# PowerShell's common parameters, available on every cmdlet (declared once, here).
COMMON_PARAMS: tuple[Param, ...] = (
    Param("Verbose", SWITCH, aliases=("vb",), help="Show verbose messages."),
    Param("Debug", SWITCH, aliases=("db",), help="Show debug messages."),
    Param("ErrorAction", ACTION_PREFERENCE, aliases=("ea",),
          help="What to do on a non-terminating error."),
    Param("WarningAction", ACTION_PREFERENCE, aliases=("wa",), help="What to do on a warning."),
    Param("InformationAction", ACTION_PREFERENCE, aliases=("infa",),
          help="What to do with information messages."),
    Param("ProgressAction", ACTION_PREFERENCE, aliases=("proga",),
          help="What to do with progress records."),
    Param("ErrorVariable", STRING, aliases=("ev",), help="Also store errors in this variable."),
    Param("WarningVariable", STRING, aliases=("wv",), help="Also store warnings in this variable."),
    Param("InformationVariable", STRING, aliases=("iv",),
          help="Also store information records in this variable."),
    Param("OutVariable", STRING, aliases=("ov",), help="Also store output in this variable."),
    Param("OutBuffer", INT, aliases=("ob",), help="Accepted for compatibility; ignored."),
    Param("PipelineVariable", STRING, aliases=("pv",),
          help="Store the current pipeline object in this variable."),
)
AS_JOB = Param("AsJob", SWITCH, help="Run the command as a background thread job.")
COMMON_NAMES = frozenset(p.name for p in COMMON_PARAMS) | {"AsJob"}


class BindingError(Exception):
    """A binding failure with PowerShell's error id and message."""

    def __init__(self, error_id: str, message: str, category: str = "InvalidArgument",
                 span_index: int | None = None) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.category = category
        self.span_index = span_index  # which argument (by index) the error points at


@dataclass
class Argument:
    """One evaluated command-line element handed to the binder."""

    name: str | None  # parameter name as typed (without dash), None for positional values
    value: object = None
    has_value: bool = False  # True for -Name:value, or for positional values
    text: str = ""  # original text, for messages
    index: int = 0  # position among the command's elements (for carets)
    end_of_params: bool = False  # the `--` marker


@dataclass
class BindResult:
    """What the binder decided before pipeline input arrives."""

    values: dict[str, object]
    explicit: set[str]
    candidate_sets: list[str]
    common: dict[str, object] = field(default_factory=dict)
    expects_pipeline: list[Param] = field(default_factory=list)
    # The per-stage plan for binding pipeline objects (see CommandBinder.pipeline_plan).
    plan: PipelinePlan | None = field(default=None, compare=False, repr=False)

    def bound(self, parameter_set: str, args_type: type[Bound] = Bound) -> Bound:
        """The values as an ``args_type`` record."""
        b = args_type(dict(self.values), parameter_set)
        b.mark_explicit(set(self.explicit))
        return b


ALL_SETS = "__AllParameterSets"


class PipelinePlan:
    """What binding a pipeline object needs that does not depend on the object, worked out
    once per stage: the pipeline parameters to try by value and by property name, each with
    the sets it belongs to (the per-object part is only the type test and the conversion)."""

    __slots__ = ("by_name", "by_value", "direct")

    def __init__(self, by_value: list[tuple[Param, frozenset[str], int]],
                 by_name: list[tuple[Param, frozenset[str], int]]) -> None:
        self.by_value = by_value
        self.by_name = by_name
        # When every object binds the same way (one by-value parameter that takes any object
        # unchanged: InputObject), the outcome but the value is known after the first object:
        # (parameter, the explicit names, the chosen set). See _bind_pipeline_planned.
        self.direct: tuple[str, set[str], str] | None = None


def _param_sets(p: Param, spec: CommandSpec) -> list[str]:
    return list(p.sets) if p.sets else spec.set_names()


class CommandBinder:
    """Binds arguments for one command invocation according to its spec."""

    def __init__(self, spec: CommandSpec, args_type: type[Bound] = Bound) -> None:
        self.spec = spec
        self.args_type = args_type  # the record the cmdlet receives
        self.sets = spec.set_names()
        # name → declarations (a name may be declared per group of sets)
        self.by_name: dict[str, list[Param]] = {}
        for p in spec.params:
            self.by_name.setdefault(p.name, []).append(p)
        self.common: dict[str, Param] = {p.name: p for p in COMMON_PARAMS}
        self.script_params = False  # binding a function's param() rather than a cmdlet
        self._sets_of: dict[str, frozenset[str]] = {}  # sets_of, per name (asked per item)
        # choose_set(pipeline=False) depends only on the candidate sets and the names bound:
        # remembered per such pair, so each pipeline object does not redo it.
        self._chosen: dict[tuple[tuple[str, ...], frozenset[str]], str] = {}
        if spec.supports_as_job and "AsJob" not in self.by_name:
            self.common["AsJob"] = AS_JOB
        # With one parameter set and distinct positions, positional values bind in position
        # order (the fast path of bind); None where the general loop must decide.
        self._positional_only: list[Param] | None = None
        positional = sorted((p for p in spec.params if p.position is not None),
                            key=lambda p: p.position or 0)
        if len(self.sets) == 1 and not any(p.sets for p in spec.params) and len(
                {p.position for p in positional}) == len(positional) and len(
                {p.name for p in spec.params}) == len(spec.params):
            self._positional_only = positional

    # ---------------------------------------------------------------- lookup
    def _all_names(self) -> list[tuple[str, str, bool]]:
        """(spelling, canonical, is_common) for every name and alias."""
        out: list[tuple[str, str, bool]] = []
        for name, decls in self.by_name.items():
            out.append((name, name, False))
            for d in decls:
                for a in d.aliases:
                    out.append((a, name, False))
        for name, p in self.common.items():
            out.append((name, name, True))
            for a in p.aliases:
                out.append((a, name, True))
        return out

    def resolve_name(self, typed: str) -> tuple[str, bool]:
        """Resolve a typed parameter name to (canonical, is_common) or raise BindingError."""
        low = typed.lower()
        names = self._all_names()
        exact = {canon: common for spelling, canon, common in names if spelling.lower() == low}
        if len(exact) == 1:
            canon, common = next(iter(exact.items()))
            return canon, common
        matches: dict[str, bool] = {}
        for spelling, canon, common in names:
            if spelling.lower().startswith(low):
                matches.setdefault(canon, common)
        if not matches:
            raise BindingError("NamedParameterNotFound",
                               f"A parameter cannot be found that matches parameter name '{typed}'.")
        if len(matches) > 1:
            listed = "".join(" -" + m for m in matches)
            raise BindingError(
                "AmbiguousParameter",
                f"Parameter cannot be processed because the parameter name '{typed}' is ambiguous. "
                f"Possible matches include:{listed}.")
        canon, common = next(iter(matches.items()))
        return canon, common

    def decl_for(self, name: str, sets: list[str]) -> Param:
        """The declaration of ``name`` that applies to one of ``sets`` (else the first)."""
        decls = self.by_name[name]
        for d in decls:
            if not d.sets or any(s in d.sets for s in sets):
                return d
        return decls[0]

    def sets_of(self, name: str) -> frozenset[str]:
        """Every set a parameter belongs to."""
        found = self._sets_of.get(name)
        if found is None:
            out: set[str] = set()
            for d in self.by_name[name]:
                out.update(_param_sets(d, self.spec))
            found = self._sets_of[name] = frozenset(out)
        return found

    # ---------------------------------------------------------------- conversion
    def convert(self, p: Param, value: object) -> object:
        """Convert and validate a value for a parameter, or raise BindingError."""
        try:
            converted = p.type.convert(value)
        except ConversionError as e:
            # Script parameters convert through an argument transformation, cmdlets bind.
            lead = (f"Cannot process argument transformation on parameter '{p.name}'."
                    if self.script_params else f"Cannot bind parameter '{p.name}'.")
            # pwsh's ids: a cmdlet's binder cannot convert, a script's transformation fails.
            raise BindingError("ParameterArgumentTransformationError" if self.script_params
                               else "CannotConvertArgumentNoMessage", f"{lead} {e}",
                               "InvalidData" if self.script_params else "InvalidArgument"
                               ) from None
        if p.mandatory and not p.allow_empty and p.type in (STRING, STRINGS):
            _refuse_empty_text(p, value, converted)
        if p.validate is not None:
            problem = p.validate(converted)
            if problem:
                raise BindingError("ParameterArgumentValidationError",
                                   f"Cannot validate argument on parameter '{p.name}'. {problem}",
                                   "InvalidData")
        return converted

    # ---------------------------------------------------------------- binding
    def bind(self, args: list[Argument], has_pipeline_input: bool) -> BindResult:
        """Bind command-line arguments; pipeline parameters are bound later per input object."""
        values: dict[str, object] = {}
        explicit: set[str] = set()
        common: dict[str, object] = {}
        positional: list[Argument] = []
        candidates = list(self.sets)
        if fastpath.ENABLED and self._positional_only is not None and all(
                a.name is None and not a.end_of_params for a in args):
            return self._bind_positional_only(args, has_pipeline_input)
        i = 0
        end_of_params = False
        while i < len(args):
            a = args[i]
            i += 1
            if a.end_of_params:
                end_of_params = True
                continue
            if a.name is None:
                positional.append(a)
                continue
            if end_of_params:
                # After `--`, `-x` is the text "-x", not a parameter.
                text = a.text or "-" + a.name
                value = text + to_string(a.value) if a.has_value else text
                positional.append(Argument(None, value, True, text, a.index))
                continue
            try:
                canon, is_common = self.resolve_name(a.name)
            except BindingError as e:
                e.span_index = a.index
                raise
            p = self.common[canon] if is_common else self.decl_for(canon, candidates)
            if canon in explicit or canon in common:
                raise BindingError("ParameterAlreadyBound",
                                   f"Cannot bind parameter because parameter '{canon}' is specified "
                                   "more than once. To provide multiple values to parameters that "
                                   "can accept multiple values, use the array syntax. For example, "
                                   '"-parameter value1,value2,value3".', span_index=a.index)
            if a.has_value:
                raw = a.value
            elif p.type.is_switch:
                raw = True
            else:
                if i < len(args) and args[i].name is None and not args[i].end_of_params:
                    raw = args[i].value
                    i += 1
                else:
                    raise BindingError(
                        "MissingArgument",
                        f"Missing an argument for parameter '{canon}'. Specify a parameter of "
                        f"type '{p.type.name}' and try again.", span_index=a.index)
            try:
                converted = self.convert(p, raw)
            except BindingError as e:
                e.span_index = a.index
                raise
            if is_common:
                common[canon] = converted
                continue
            values[canon] = converted
            explicit.add(canon)
            narrowed = [s for s in candidates if s in self.sets_of(canon)]
            if not narrowed:
                raise BindingError(
                    "AmbiguousParameterSet",
                    "Parameter set cannot be resolved using the specified named parameters. One or "
                    "more parameters issued cannot be used together or an insufficient number of "
                    "parameters were provided.", span_index=a.index)
            candidates = narrowed
        # Positional binding: each value goes to the unbound positional parameter with the
        # lowest position (among the candidate sets) not below the previous one.
        position = 0
        remaining_values: list[object] = []
        for a in positional:
            bound_here = False
            while not bound_here:
                next_pos = self._next_position(position, candidates, explicit)
                if next_pos is None:
                    break
                options = self._positional_options(next_pos, candidates, explicit)
                first_error: BindingError | None = None
                for p in options:
                    try:
                        values[p.name] = self.convert(p, a.value)
                    except BindingError as e:
                        # pwsh reports the failure of the default set's parameter (tried first).
                        first_error = first_error or e
                        continue
                    explicit.add(p.name)
                    candidates = [s for s in candidates if s in self.sets_of(p.name)]
                    bound_here = True
                    break
                if not bound_here and first_error is not None:
                    first_error.span_index = a.index
                    raise first_error
                position = next_pos + 1
            if bound_here:
                continue
            remaining = self._remaining_param(candidates)
            if remaining is None:
                raise BindingError("PositionalParameterNotFound",
                                   "A positional parameter cannot be found that accepts argument "
                                   f"'{to_string(a.value) if a.text == '' else a.text}'.",
                                   span_index=a.index)
            remaining_values.append(a.value)
        return self._finish(values, explicit, candidates, common, remaining_values,
                            has_pipeline_input)

    def _bind_positional_only(self, args: list[Argument], has_pipeline_input: bool) -> BindResult:
        """``bind`` for a command with one parameter set and distinct positions given only
        positional values (a function call ``f $a $b``): the k-th value goes to the k-th
        positional parameter, the rest to the remaining-arguments parameter, exactly as the
        general loop decides for such a command."""
        order = self._positional_only
        assert order is not None
        values: dict[str, object] = {}
        explicit: set[str] = set()
        remaining_values: list[object] = []
        for k, a in enumerate(args):
            if k < len(order):
                p = order[k]
                try:
                    values[p.name] = self.convert(p, a.value)
                except BindingError as e:
                    e.span_index = a.index
                    raise
                explicit.add(p.name)
                continue
            if self._remaining_param(self.sets) is None:
                raise BindingError("PositionalParameterNotFound",
                                   "A positional parameter cannot be found that accepts argument "
                                   f"'{to_string(a.value) if a.text == '' else a.text}'.",
                                   span_index=a.index)
            remaining_values.append(a.value)
        return self._finish(values, explicit, list(self.sets), {}, remaining_values,
                            has_pipeline_input)

    def _finish(self, values: dict[str, object], explicit: set[str], candidates: list[str],
                common: dict[str, object], remaining_values: list[object],
                has_pipeline_input: bool) -> BindResult:
        """The end of ``bind``: remaining arguments, defaults, the pipeline parameters and
        the parameter set."""
        if remaining_values:
            rp = self._remaining_param(candidates)
            assert rp is not None
            existing = values.get(rp.name) if rp.name in explicit else None
            merged = (list(existing) if isinstance(existing, list) else
                      ([existing] if existing is not None else [])) + remaining_values
            values[rp.name] = self.convert(rp, merged if rp.type.is_array or len(merged) > 1
                                           else merged[0])
            explicit.add(rp.name)
            candidates = [s for s in candidates if s in self.sets_of(rp.name)]
        # Defaults for everything unbound.
        for name, decls in self.by_name.items():
            if name not in values:
                values[name] = decls[0].default if not decls[0].type.is_switch else bool(
                    decls[0].default)
        pipeline_params = [
            d for name, decls in self.by_name.items() for d in decls
            if (d.pipeline or d.pipeline_by_name) and name not in explicit
            and any(s in candidates for s in _param_sets(d, self.spec))
        ]
        result = BindResult(values, explicit, candidates, common, pipeline_params)
        if not has_pipeline_input:
            if fastpath.ENABLED:
                key = (tuple(candidates), frozenset(explicit))
                chosen = self._chosen.get(key)
                if chosen is None:
                    chosen = self._chosen[key] = self.choose_set(result, pipeline=False)
                result.candidate_sets = [chosen]
                return result
            result.candidate_sets = [self.choose_set(result, pipeline=False)]
            return result
        # With pipeline input, a set stays a candidate only if every mandatory parameter the
        # pipeline cannot supply was given; none left is pwsh's missing-mandatory error, raised
        # before any input is read (a stage must never begin in a set it cannot run).
        complete = [s for s in candidates if not self.missing_mandatory(result, s, pipeline=True)]
        if not complete:
            self.choose_set(result, pipeline=True)  # raises, naming what is missing
        result.candidate_sets = complete
        return result

    def _positional_options(self, position: int, candidates: list[str],
                            explicit: set[str]) -> list[Param]:
        """Parameters at this position in the candidate sets, default set first."""
        ordered_sets = sorted(candidates, key=lambda s: 0 if s == self.spec.default_set else 1)
        out: list[Param] = []
        seen: set[str] = set()
        for s in ordered_sets:
            for name, decls in self.by_name.items():
                if name in explicit or name in seen:
                    continue
                for d in decls:
                    in_set = (not d.sets) or s in d.sets
                    if in_set and d.position == position:
                        out.append(d)
                        seen.add(name)
                        break
        return out

    def _next_position(self, start: int, candidates: list[str], explicit: set[str]) -> int | None:
        """The lowest position >= start of an unbound parameter in the candidate sets."""
        best: int | None = None
        for name, decls in self.by_name.items():
            if name in explicit:
                continue
            for d in decls:
                if d.position is None or d.position < start:
                    continue
                if d.sets and not any(s in d.sets for s in candidates):
                    continue
                if best is None or d.position < best:
                    best = d.position
        return best

    def _remaining_param(self, candidates: list[str]) -> Param | None:
        for decls in self.by_name.values():
            for d in decls:
                if d.remaining and (not d.sets or any(s in d.sets for s in candidates)):
                    return d
        return None

    def choose_set(self, result: BindResult, pipeline: bool) -> str:
        """Pick the parameter set; raise for missing mandatory parameters or ambiguity."""
        candidates = result.candidate_sets
        complete = [s for s in candidates if not self.missing_mandatory(result, s, pipeline)]
        if complete:
            if self.spec.default_set in complete:
                return self.spec.default_set or complete[0]
            if len(complete) == 1:
                return complete[0]
            # Prefer the set whose parameters were most used.
            scored = sorted(complete, key=lambda s: -sum(
                1 for n in result.explicit if s in self.sets_of(n)))
            best = scored[0]
            if len(scored) > 1 and sum(1 for n in result.explicit if scored[1] in self.sets_of(n)) \
                    == sum(1 for n in result.explicit if best in self.sets_of(n)) \
                    and not result.explicit:
                # Nothing given at all: the first declared set wins (PowerShell's default).
                return self.sets[0]
            return best
        target = self.spec.default_set if self.spec.default_set in candidates else candidates[0]
        if len(candidates) > 1 and self.spec.default_set not in candidates:
            missing_all = [self.missing_mandatory(result, s, pipeline) for s in candidates]
            if all(missing_all):
                target = candidates[0]
        missing = self.missing_mandatory(result, target, pipeline)
        raise BindingError(
            "MissingMandatoryParameter",
            "Cannot process command because of one or more missing mandatory parameters: "
            f"{' '.join(missing)}.", "InvalidArgument")

    def missing_mandatory(self, result: BindResult, parameter_set: str, pipeline: bool) -> list[str]:
        """Mandatory parameters of a set that are still unbound."""
        missing = []
        for name, decls in self.by_name.items():
            for d in decls:
                in_set = (not d.sets) or parameter_set in d.sets
                if not in_set or not d.mandatory:
                    continue
                if name in result.explicit:
                    continue
                if pipeline and (d.pipeline or d.pipeline_by_name):
                    continue
                missing.append(name)
        return missing

    def pipeline_plan(self, result: BindResult) -> PipelinePlan:
        """The stage's binding plan (made on the first object, kept on ``result``)."""
        plan = result.plan
        if plan is None:
            entries = [(d, frozenset(_param_sets(d, self.spec)), _by_value_kind(d.type))
                       for d in result.expects_pipeline]
            plan = result.plan = PipelinePlan([e for e in entries if e[0].pipeline],
                                              [e for e in entries if e[0].pipeline_by_name])
        return plan

    def bind_pipeline(self, result: BindResult, item: object) -> Bound:
        """Bind one pipeline object (by value, then by property name) and pick the set."""
        if fastpath.ENABLED:
            return self._bind_pipeline_planned(result, item)
        values = dict(result.values)
        explicit = set(result.explicit)
        candidates = list(result.candidate_sets)
        bound_any = False
        # By value first, then by property name (PowerShell's order).
        for by_value in (True, False):
            for d in result.expects_pipeline:
                if d.name in explicit:
                    continue
                if not any(s in candidates for s in _param_sets(d, self.spec)):
                    continue
                if by_value and d.pipeline:
                    if not _accepts_by_value(d.type, item):
                        continue
                    try:
                        values[d.name] = self.convert(d, item)
                    except BindingError:
                        continue
                elif not by_value and d.pipeline_by_name:
                    found, value = lookup_property(item, d.name)
                    if not found:
                        for a in d.aliases:
                            found, value = lookup_property(item, a)
                            if found:
                                break
                    if not found:
                        continue
                    try:
                        values[d.name] = self.convert(d, value)
                    except BindingError:
                        continue
                else:
                    continue
                explicit.add(d.name)
                bound_any = True
                candidates = [s for s in candidates if s in self.sets_of(d.name)]
            if bound_any:
                break
        if not bound_any:
            raise BindingError(
                "InputObjectNotBound",
                "The input object cannot be bound to any parameters for the command either because "
                "the command does not take pipeline input or the input and its properties do not "
                "match any of the parameters that take pipeline input.", "InvalidArgument")
        r = BindResult(values, explicit, candidates, result.common, [])
        chosen = self.choose_set(r, pipeline=False)
        b = self.args_type(values, chosen)
        b.mark_explicit(explicit)
        return b


    def _bind_pipeline_planned(self, result: BindResult, item: object) -> Bound:
        """bind_pipeline through the stage's plan: the same steps in the same order, minus
        the work that is the same for every object."""
        plan = result.plan or self.pipeline_plan(result)
        direct = plan.direct
        if direct is not None:
            values = dict(result.values)
            values[direct[0]] = item
            return self.args_type.sharing_explicit(values, direct[2], direct[1])
        values = dict(result.values)
        explicit = set(result.explicit)
        candidates = result.candidate_sets
        bound_any = False
        for entry in plan.by_value:
            d = entry[0]
            if d.name in explicit or entry[1].isdisjoint(candidates):
                continue
            kind = entry[2]
            if kind and not (isinstance(item, (str, int, float, bool)) or item is None
                             if kind == 1 else isinstance(item, bool)):
                continue  # _accepts_by_value's test, its type part decided by the plan
            try:
                values[d.name] = self.convert(d, item)
            except BindingError:
                continue
            explicit.add(d.name)
            bound_any = True
            mine = self.sets_of(d.name)
            candidates = [s for s in candidates if s in mine]
        if not bound_any:
            for entry in plan.by_name:
                d = entry[0]
                if d.name in explicit or entry[1].isdisjoint(candidates):
                    continue
                found, value = lookup_property(item, d.name)
                if not found:
                    for a in d.aliases:
                        found, value = lookup_property(item, a)
                        if found:
                            break
                if not found:
                    continue
                try:
                    values[d.name] = self.convert(d, value)
                except BindingError:
                    continue
                explicit.add(d.name)
                bound_any = True
                mine = self.sets_of(d.name)
                candidates = [s for s in candidates if s in mine]
        if not bound_any:
            raise BindingError(
                "InputObjectNotBound",
                "The input object cannot be bound to any parameters for the command either because "
                "the command does not take pipeline input or the input and its properties do not "
                "match any of the parameters that take pipeline input.", "InvalidArgument")
        key = (tuple(candidates), frozenset(explicit))
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = self.choose_set(BindResult(values, explicit, list(candidates),
                                                result.common, []), pipeline=False)
            self._chosen[key] = chosen
        if len(plan.by_value) == 1 and bound_any and _takes_anything(plan.by_value[0]) \
                and plan.by_value[0][0].name in explicit \
                and plan.by_value[0][0].name not in result.explicit:
            # The one by-value parameter takes every object as it is, so every later object
            # binds exactly like this one (by_name is never reached), to the same set.
            plan.direct = (plan.by_value[0][0].name, set(explicit), chosen)
        b = self.args_type(values, chosen)
        b.mark_explicit(explicit)
        return b


def _takes_anything(entry: tuple[Param, frozenset[str], int]) -> bool:
    """A by-value pipeline parameter that accepts every object unchanged (no type test, no
    conversion, no validation): binding it cannot fail and gives the object itself."""
    d = entry[0]
    return entry[2] == 0 and d.type.convert is OBJECT.convert and d.validate is None \
        and not (d.mandatory and not d.allow_empty and d.type in (STRING, STRINGS))


def _refuse_empty_text(p: Param, raw: object, converted: object) -> None:
    """pwsh's rule for mandatory text parameters: $null, '' and @() are not values (so
    ``Remove-Item -LiteralPath ''`` cannot mean the current directory)."""
    if raw is None:
        what, error_id = "null", "ParameterArgumentValidationErrorNullNotAllowed"
    elif isinstance(converted, list) and not converted:
        what, error_id = "an empty array", "ParameterArgumentValidationErrorEmptyArrayNotAllowed"
    elif converted == "" or (isinstance(converted, list) and "" in converted):
        what, error_id = ("an empty string",
                          "ParameterArgumentValidationErrorEmptyStringNotAllowed")
    else:
        return
    raise BindingError(error_id, f"Cannot bind argument to parameter '{p.name}' because it is "
                       f"{what}.", "InvalidData")


def _by_value_kind(t: TypeSpec) -> int:
    """Which test _accepts_by_value applies for a type: 0 none, 1 text, 2 boolean."""
    if t in (STRING, STRINGS):
        return 1
    if t is BOOL or t is SWITCH:
        return 2
    return 0


def _accepts_by_value(t: TypeSpec, item: object) -> bool:
    """ByValue binding is strict about types: strings/ints bind only from compatible values."""
    if t in (STRING, STRINGS):
        return isinstance(item, (str, int, float, bool)) or item is None
    if t is BOOL or t is SWITCH:
        return isinstance(item, bool)
    return True
