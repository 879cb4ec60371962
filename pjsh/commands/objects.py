"""The object-pipeline cmdlets: Where-Object, ForEach-Object, Select-Object, Sort-Object,
Measure-Object and Group-Object."""

from __future__ import annotations

import functools
import math
import re
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from pjsh.lang.record import dataclass, field
from pjsh.runtime.cmdlet import (
    Bound,
    Cmdlet,
    CommandContext,
    CommandSpec,
    Param,
    Taken,
    command,
    validate_range,
    write_all,
)
from pjsh.runtime.convert import (
    INT,
    INTS,
    OBJECT,
    OBJECTS,
    SCRIPTBLOCK,
    SCRIPTBLOCKS,
    STRING,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    as_list,
    to_bool,
    to_int,
    to_number,
    to_string,
)
from pjsh.runtime.errors import StopUpstreamSignal
from pjsh.runtime.members import MemberError, call_method, get_member, has_member, list_members
from pjsh.runtime.operators import OperatorError, compare, comparison, wildcard_regex
from pjsh.runtime.scriptblock import ScriptBlock
from pjsh.runtime.values import (
    Hashtable,
    PSObject,
    PSPropertyClass,
    lookup_property,
    ps_properties,
    type_names,
)

if TYPE_CHECKING:
    from pjsh.commands.parallel import ParallelRun
    from pjsh.runtime.formatting import ViewTable

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def first_or_list(values: Sequence[object]) -> object:
    """A script block's output as one value: $null for none, the item for one, else a list."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return list(values)


def property_value(obj: object, name: str) -> tuple[bool, object]:
    """Read a property the way the object cmdlets do: (found, value).

    Properties of objects, hashtable keys (PowerShell 6+ lets Sort/Group/Measure read them)
    and the intrinsic members of strings and collections (``Length``, ``Count``); unlike
    ``$x.Name`` there is no member enumeration over arrays.
    """
    found, value = lookup_property(obj, name)
    if found:
        return True, value
    if isinstance(obj, Hashtable):
        return (True, obj[name]) if name in obj else (False, None)
    if obj is None or isinstance(obj, PSObject):
        return False, None
    if has_member(obj, name):
        return True, get_member(obj, name)
    return False, None


def property_names(obj: object) -> list[str]:
    """The property names a wildcard in -Property expands against (hashtable keys included)."""
    if isinstance(obj, Hashtable):
        return [to_string(k) for k in obj]
    if isinstance(obj, str):
        return ["Length"]  # a string's one property, as `"abc" | Select-Object *` shows
    return [name for name, _ in ps_properties(obj)]


def _has_wildcard(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _keep_blocks(value: object) -> object:
    # A string parameter that lets a script block through unchanged: `Where-Object { ... }`
    # and `ForEach-Object { ... }` then work whichever parameter set the binder picks.
    if isinstance(value, ScriptBlock):
        return value
    return STRING.convert(value)


NAME_OR_BLOCK = TypeSpec("System.String", _keep_blocks, python="str | ScriptBlock")
# Input objects are taken as they are; the name is what pwsh's syntax lines show.
PSOBJECT = TypeSpec("System.Management.Automation.PSObject", OBJECT.convert, python="object")


def _key_kind(key: object, allowed: Sequence[str]) -> str | None:
    """Match a calculated-property key to one of ``allowed``: any unambiguous prefix works."""
    text = to_string(key).lower()
    if not text:
        return None
    hits = [k for k in allowed if k.lower().startswith(text)]
    return hits[0] if len(hits) == 1 else None


@dataclass(frozen=True)
class PropertySpec:
    """One -Property argument: a property name (maybe a wildcard), a script block, or a
    calculated property hashtable resolved to a label and an expression."""

    label: str
    expression: str | ScriptBlock
    descending: bool | None = None
    calculated: bool = False

    @property
    def is_wildcard(self) -> bool:
        """True for a plain name that holds wildcard characters."""
        return isinstance(self.expression, str) and not self.calculated and _has_wildcard(
            self.expression)


def parse_property_specs(
    ctx_throw: Callable[[str, str, str], None],
    items: Sequence[object],
    allowed: Sequence[str] = ("Name", "Label", "Expression"),
) -> list[PropertySpec]:
    """Turn -Property values into specs; a bad hashtable is a terminating error via
    ``ctx_throw(message, error_id, category)``."""
    specs: list[PropertySpec] = []
    for item in items:
        if isinstance(item, ScriptBlock):
            specs.append(PropertySpec(str(item).strip(), item, calculated=True))
            continue
        if not isinstance(item, Hashtable):
            name = to_string(item)
            specs.append(PropertySpec(name, name))
            continue
        label: str | None = None
        expression: str | ScriptBlock | None = None
        descending: bool | None = None
        for key, value in item.items():
            kind = _key_kind(key, allowed)
            if kind is None:
                ctx_throw(f"The {to_string(key)} key is not valid.", "IllegalKey",
                          "InvalidArgument")
                continue
            if kind in ("Name", "Label"):
                label = to_string(value)
            elif kind == "Expression":
                if isinstance(value, ScriptBlock):
                    expression = value
                else:
                    expression = to_string(value)
            elif kind == "Ascending":
                descending = not to_bool(value)
            elif kind == "Descending":
                descending = to_bool(value)
        if expression is None:
            ctx_throw("The Expression key is missing.", "KeyMissing", "InvalidArgument")
            continue
        if label is None:
            label = str(expression).strip() if isinstance(expression, ScriptBlock) else expression
        specs.append(PropertySpec(label, expression, descending, calculated=True))
    return specs


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _order(a: object, b: object, case_sensitive: bool) -> int:
    """Order two values like Sort-Object: nulls first, mixed types by their text."""
    if case_sensitive and isinstance(a, str) and isinstance(b, str):
        # Culture order, as .NET compares: letters first, then lower case before upper case.
        ka, kb = (a.lower(), a.swapcase()), (b.lower(), b.swapcase())
        return (ka > kb) - (ka < kb)
    try:
        return compare(a, b, case_sensitive)
    except (OperatorError, ConversionError, TypeError):
        sa, sb = to_string(a), to_string(b)
        if not case_sensitive:
            sa, sb = sa.lower(), sb.lower()
        return (sa > sb) - (sa < sb)


class _Evaluating(Cmdlet):
    """Base of cmdlets that evaluate -Property specs against input objects."""

    def _throw(self, message: str, error_id: str, category: str) -> None:
        self.ctx.throw(message, error_id, category)

    def _run_block(self, block: ScriptBlock, obj: object) -> object:
        return first_or_list(self.ctx.invoke(block, dollar_under=obj))

    def _spec_value(self, spec: PropertySpec, obj: object) -> tuple[bool, object]:
        """Evaluate one non-wildcard spec on ``obj``: (found, value)."""
        if isinstance(spec.expression, ScriptBlock):
            return True, self._run_block(spec.expression, obj)
        return property_value(obj, spec.expression)

    def _expand(self, spec: PropertySpec, obj: object) -> list[tuple[str, object]]:
        """The (name, value) pairs a spec yields on ``obj`` (wildcards expand, missing → [])."""
        if spec.is_wildcard:
            assert isinstance(spec.expression, str)
            rx = wildcard_regex(spec.expression)
            out = []
            for name in property_names(obj):
                if rx.match(name):
                    out.append((name, property_value(obj, name)[1]))
            return out
        found, value = self._spec_value(spec, obj)
        return [(spec.label, value)] if found else []


# ---------------------------------------------------------------------------------------------
# Where-Object
# ---------------------------------------------------------------------------------------------

# (switch parameter, parameter set, operator passed to operators.comparison)
_WHERE_OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("EQ", "EqualSet", "eq"),
    ("CEQ", "CaseSensitiveEqualSet", "ceq"),
    ("NE", "NotEqualSet", "ne"),
    ("CNE", "CaseSensitiveNotEqualSet", "cne"),
    ("GT", "GreaterThanSet", "gt"),
    ("CGT", "CaseSensitiveGreaterThanSet", "cgt"),
    ("LT", "LessThanSet", "lt"),
    ("CLT", "CaseSensitiveLessThanSet", "clt"),
    ("GE", "GreaterOrEqualSet", "ge"),
    ("CGE", "CaseSensitiveGreaterOrEqualSet", "cge"),
    ("LE", "LessOrEqualSet", "le"),
    ("CLE", "CaseSensitiveLessOrEqualSet", "cle"),
    ("Like", "LikeSet", "like"),
    ("CLike", "CaseSensitiveLikeSet", "clike"),
    ("NotLike", "NotLikeSet", "notlike"),
    ("CNotLike", "CaseSensitiveNotLikeSet", "cnotlike"),
    ("Match", "MatchSet", "match"),
    ("CMatch", "CaseSensitiveMatchSet", "cmatch"),
    ("NotMatch", "NotMatchSet", "notmatch"),
    ("CNotMatch", "CaseSensitiveNotMatchSet", "cnotmatch"),
    ("Contains", "ContainsSet", "contains"),
    ("CContains", "CaseSensitiveContainsSet", "ccontains"),
    ("NotContains", "NotContainsSet", "notcontains"),
    ("CNotContains", "CaseSensitiveNotContainsSet", "cnotcontains"),
    ("In", "InSet", "in"),
    ("CIn", "CaseSensitiveInSet", "cin"),
    ("NotIn", "NotInSet", "notin"),
    ("CNotIn", "CaseSensitiveNotInSet", "cnotin"),
    ("Is", "IsSet", "is"),
    ("IsNot", "IsNotSet", "isnot"),
)
_VALUE_SETS = tuple(s for _, s, _ in _WHERE_OPERATORS)
_PROPERTY_SETS = (*_VALUE_SETS, "Not")

# Short type names scripts write in `-Is [int]` and their .NET names.
_TYPE_ALIASES = {
    "string": "system.string", "int": "system.int32", "int32": "system.int32",
    "long": "system.int64", "int64": "system.int64", "double": "system.double",
    "bool": "system.boolean", "boolean": "system.boolean", "hashtable":
    "system.collections.hashtable", "array": "system.array", "object": "system.object",
    "pscustomobject": "system.management.automation.pscustomobject",
    "scriptblock": "system.management.automation.scriptblock", "datetime": "system.datetime",
}


def is_type(value: object, type_value: object) -> bool:
    """The -is test against a type given as a name or a type object."""
    if type_value is None:
        return False
    name = type_value if isinstance(type_value, str) else None
    if name is None:
        for prop in ("FullName", "Name"):
            found, v = lookup_property(type_value, prop)
            if found and v:
                name = to_string(v)
                break
    if name is None:
        name = to_string(type_value)
    wanted = name.strip().strip("[]").lower()
    wanted = _TYPE_ALIASES.get(wanted, wanted)
    if wanted == "system.object":
        return value is not None
    names = [n.lower() for n in type_names(value)]
    if isinstance(value, (list, tuple)) and wanted == "system.array":
        return True
    return any(n == wanted or n.rsplit(".", 1)[-1] == wanted for n in names)


class WhereObjectArgs(Bound):
    """Where-Object's parameters."""

    InputObject: object
    FilterScript: ScriptBlock | None
    Property: str | ScriptBlock | None
    Value: object
    EQ: bool
    CEQ: bool
    NE: bool
    CNE: bool
    GT: bool
    CGT: bool
    LT: bool
    CLT: bool
    GE: bool
    CGE: bool
    LE: bool
    CLE: bool
    Like: bool
    CLike: bool
    NotLike: bool
    CNotLike: bool
    Match: bool
    CMatch: bool
    NotMatch: bool
    CNotMatch: bool
    Contains: bool
    CContains: bool
    NotContains: bool
    CNotContains: bool
    In: bool
    CIn: bool
    NotIn: bool
    CNotIn: bool
    Is: bool
    IsNot: bool
    Not: bool


@command
class WhereObject(Cmdlet):
    """Where-Object: pass on the input objects for which a test is true."""

    spec = CommandSpec(
        name="Where-Object",
        aliases=("where", "?"),
        default_set="EqualSet",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True,
                  help="The object to test; usually piped."),
            Param("FilterScript", SCRIPTBLOCK, position=0, mandatory=True,
                  sets=("ScriptBlockSet",),
                  help="A script block run with $_ set to each object; true passes it on."),
            Param("Property", NAME_OR_BLOCK, position=0, mandatory=True, sets=_PROPERTY_SETS,
                  help="The property to compare (comparison statement form)."),
            Param("Value", OBJECT, position=1, sets=_VALUE_SETS,
                  help="The value the property is compared with."),
            *(Param(switch, SWITCH, mandatory=(set_name != "EqualSet"), sets=(set_name,),
                    help=f"Compare with the -{op} operator.")
              for switch, set_name, op in _WHERE_OPERATORS),
            Param("Not", SWITCH, mandatory=True, sets=("Not",),
                  help="Pass on objects whose property is false or missing."),
        ),
        summary="Selects objects from a collection based on their property values.",
        description=(
            "Where-Object passes on the input objects for which a test is true. The test is a "
            "script block ({ $_.State -eq 'Running' }) or a comparison statement: a property "
            "name, an operator switch such as -EQ, -Like or -GT, and a value "
            "(Where-Object State -EQ Running). A property name alone tests the property's "
            "truth; -Not inverts that."
        ),
        examples=(
            ("Get-Job | Where-Object { $_.State -eq 'Completed' }",
             "Keep the jobs that have completed."),
            ("Get-Job | where State -eq Running", "The same test as a comparison statement."),
            ("Get-ChildItem | ? Length -gt 1mb", "Files larger than one megabyte."),
        ),
        output_type="System.Object",
    )
    args_type = WhereObjectArgs
    bulk_parameter = "InputObject"
    # A block being filtered: the strings that passed, their places in the block, where the
    # block is, and the producer's count of what was taken (its value when the block began).
    _passed: list[object] | None = None
    _places: list[int] = []
    _place = 0
    _taken: Taken | None = None
    _base = 0

    def process_many(self, args: WhereObjectArgs, values: Sequence[object],
                     taken: Taken) -> None:
        """A block of plain strings and a comparison statement (``Where-Object Length -gt
        3``): the operator is found once and the strings that pass go on as one block. A
        script block, -Not or a property alone take the one-by-one loop."""
        prop = args.Property
        if (isinstance(prop, ScriptBlock) or isinstance(args.FilterScript, ScriptBlock)
                or args.Not or "Value" not in args):
            super().process_many(args, values, taken)
            return
        name = to_string(prop)
        op = next((operator for switch, _, operator in _WHERE_OPERATORS if args.get(switch)),
                  "eq")
        right = args.Value
        self._passed, self._places, self._taken, self._base = [], [], taken, taken.count
        try:
            for place, value in enumerate(values):
                self._place = place
                if self._test(op, property_value(value, name)[1], right, value):
                    self._passed.append(value)
                    self._places.append(place)
            self._emit_passed(len(values))
        finally:
            self._passed, self._places, self._taken = None, [], None

    def _emit_passed(self, upto: int) -> None:
        """Write the strings that passed so far; the producer's count then covers the block
        up to ``upto``, or, if downstream stopped, up to the string taken last: what output
        one at a time would have counted."""
        passed, places, taken = self._passed, self._places, self._taken
        assert passed is not None and taken is not None
        self._passed, self._places = [], []
        sent = Taken()
        try:
            if passed:
                write_all(self.ctx, passed, sent)
        except BaseException:
            if sent.count:
                taken.count = self._base + places[sent.count - 1] + 1
            raise
        taken.count = self._base + upto

    def process(self, args: WhereObjectArgs) -> None:
        """Test one input object and write it if the test holds."""
        if "InputObject" not in args:
            return  # no pipeline input: nothing to filter (pwsh skips AutomationNull)
        obj = args.InputObject
        block = args.FilterScript
        prop = args.Property
        if isinstance(prop, ScriptBlock):
            block = prop
        if isinstance(block, ScriptBlock):
            if to_bool(first_or_list(self.ctx.invoke(block, dollar_under=obj))):
                self.ctx.write_output(obj)
            return
        name = to_string(prop)
        if args.Not:
            if not to_bool(property_value(obj, name)[1]):
                self.ctx.write_output(obj)
            return
        op = "eq"
        explicit = False
        for switch, _, operator in _WHERE_OPERATORS:
            if args.get(switch):
                op, explicit = operator, True
                break
        value = property_value(obj, name)[1]
        if "Value" not in args:
            if explicit:
                self.ctx.throw(
                    "The specified operator requires both the -Property and -Value parameters. "
                    "Supply both parameters and retry.",
                    "OperatorRequiresPropertyAndValue", "InvalidArgument")
            # `Where-Object Name` alone: the property's truth decides.
            if to_bool(value):
                self.ctx.write_output(obj)
            return
        if self._test(op, value, args.Value, obj):
            self.ctx.write_output(obj)

    def _test(self, op: str, left: object, right: object, obj: object) -> bool:
        if op in ("is", "isnot"):
            return is_type(left, right) == (op == "is")
        try:
            result, _ = comparison(op, left, right)
        except OperatorError as e:
            if self._passed is not None:
                # Inside a block: what passed before goes out first, as one by one it would.
                self._emit_passed(self._place + 1)
            self.ctx.write_error(self.ctx.error(e.message, e.error_id, "InvalidOperation", obj))
            return False
        return to_bool(result)


# ---------------------------------------------------------------------------------------------
# ForEach-Object
# ---------------------------------------------------------------------------------------------


_PARALLEL_SET = "ParallelParameterSet"


def _at_least(low: int) -> Callable[[object], str | None]:
    """A ValidateRange(low, Int32.MaxValue) check with pwsh's message."""
    def check(value: object) -> str | None:
        n = to_int(value)
        if n < low:
            return (f"The {n} argument is less than the minimum allowed range of {low}. Supply "
                    f"an argument that is greater than or equal to {low} and then try the "
                    "command again.")
        return None
    return check


class ForEachObjectArgs(Bound):
    """ForEach-Object's parameters."""

    InputObject: object
    Process: list[ScriptBlock] | None
    Begin: ScriptBlock | None
    End: ScriptBlock | None
    MemberName: str | ScriptBlock | None
    ArgumentList: list[object] | None
    Parallel: ScriptBlock | None
    ThrottleLimit: int
    TimeoutSeconds: int
    UseNewRunspace: bool


@command
class ForEachObject(Cmdlet):
    """ForEach-Object: run script blocks for each input object, or read a member of each."""

    spec = CommandSpec(
        name="ForEach-Object",
        aliases=("foreach", "%"),
        default_set="ScriptBlockSet",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True,
                  help="The object to process; usually piped."),
            Param("Process", SCRIPTBLOCKS, position=0, mandatory=True, remaining=True,
                  sets=("ScriptBlockSet",),
                  help="Script blocks run for each input object, with $_ set to it."),
            Param("Begin", SCRIPTBLOCK, sets=("ScriptBlockSet",),
                  help="A script block run once before the first input object."),
            Param("End", SCRIPTBLOCK, sets=("ScriptBlockSet",),
                  help="A script block run once after the last input object."),
            Param("MemberName", NAME_OR_BLOCK, position=0, mandatory=True,
                  sets=("PropertyAndMethodSet",),
                  help="A property to output, or a method to call, on each input object."),
            Param("ArgumentList", OBJECTS, aliases=("Args",), remaining=True,
                  sets=("PropertyAndMethodSet",),
                  help="Arguments of the method named by -MemberName."),
            Param("Parallel", SCRIPTBLOCK, mandatory=True, sets=(_PARALLEL_SET,),
                  help="A script block run for each input object on its own thread, with $_ "
                       "set to the object; $using: variables are copied in."),
            Param("ThrottleLimit", INT, default=5, sets=(_PARALLEL_SET,),
                  validate=_at_least(1),
                  help="How many -Parallel blocks run at once (default 5)."),
            Param("TimeoutSeconds", INT, default=0, sets=(_PARALLEL_SET,),
                  validate=_at_least(0),
                  help="Stop the -Parallel blocks still running after this many seconds."),
            Param("UseNewRunspace", SWITCH, sets=(_PARALLEL_SET,),
                  help="Accepted for compatibility: every block already gets a new runspace."),
        ),
        summary="Performs an operation against each item in a collection of input objects.",
        description=(
            "ForEach-Object runs its -Process script blocks once for each input object, with $_ "
            "set to the object, after running -Begin once and before running -End once. Given "
            "several script blocks and no -Begin, the first is the begin block; with three or "
            "more and no -End, the last is the end block. With a member name instead "
            "(ForEach-Object Name), it outputs that property of each object, or calls that "
            "method with -ArgumentList. With -Parallel, the block runs for each object on a "
            "thread of its own (at most -ThrottleLimit at once, $using: variables copied in) "
            "and output comes in the order the blocks produce it; -AsJob returns one job whose "
            "child jobs are the runs."
        ),
        examples=(
            ("1..3 | ForEach-Object { $_ * 2 }", "Double each number."),
            ("Get-Job | % Name", "Output the Name of each job."),
            ("'a,b' | % Split ','", "Call the Split method with ',' on each string."),
            ("1..5 | % -Begin { $t = 0 } -Process { $t += $_ } -End { $t }",
             "Sum the numbers with begin, process and end blocks."),
            ("1..10 | ForEach-Object -Parallel { Start-Sleep 1; $_ } -ThrottleLimit 10",
             "Run ten one-second blocks side by side (about one second in all)."),
            ("$j = 1..3 | ForEach-Object -Parallel { $_ * $using:k } -AsJob",
             "Get one job whose child jobs run the block per item."),
        ),
        output_type="System.Object",
    )
    args_type = ForEachObjectArgs
    own_as_job_with = ("Parallel",)

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._process: list[ScriptBlock] = []
        self._end: ScriptBlock | None = None
        self._member: str | None = None
        self._parallel: ParallelRun | None = None

    def begin(self, args: ForEachObjectArgs) -> None:
        """Sort the script blocks into begin/process/end and run the begin block."""
        if args.parameter_set == _PARALLEL_SET:
            self._begin_parallel(args)
            return
        member = args.MemberName
        blocks: list[ScriptBlock] = [b for b in as_list(args.Process)
                                     if isinstance(b, ScriptBlock)]
        if isinstance(member, ScriptBlock):
            blocks.insert(0, member)
            blocks.extend(a for a in as_list(args.ArgumentList)
                          if isinstance(a, ScriptBlock))
        elif member is not None:
            self._member = to_string(member)
            return
        begin = args.Begin
        end = args.End
        # pwsh: extra positional blocks fill begin first, then end, then process.
        if "Begin" not in args and len(blocks) >= 2:
            begin = blocks.pop(0)
        if "End" not in args and len(blocks) >= 2:
            end = blocks.pop()
        self._process = blocks
        self._end = end if isinstance(end, ScriptBlock) else None
        if isinstance(begin, ScriptBlock):
            self.ctx.invoke_to_output(begin)

    def process(self, args: ForEachObjectArgs) -> None:
        """Run the process blocks (or the member access) for one input object."""
        given = "InputObject" in args
        obj = args.InputObject if given else None
        if self._parallel is not None:
            if given:
                self._parallel.add(obj)
            return
        if self._member is not None:
            if given:
                self._member_access(obj, args)
            return
        for block in self._process:
            self.ctx.invoke_to_output(block, dollar_under=obj)

    def item_processor(self, args: ForEachObjectArgs) -> Callable[[object], None] | None:
        """One process block run on each object: the context's block runner (the block
        called straight with $_ set, its output going on to the next stage)."""
        if self._parallel is not None or self._member is not None or len(self._process) != 1:
            return None
        runner = getattr(self.ctx, "block_runner", None)
        if runner is None:
            return None
        fn: Callable[[object], None] | None = runner(self._process[0])
        return fn

    def end(self, args: ForEachObjectArgs) -> None:
        """Run the end block."""
        if self._parallel is not None:
            self._parallel.finish()
            return
        if self._end is not None:
            self.ctx.invoke_to_output(self._end)

    def _begin_parallel(self, args: ForEachObjectArgs) -> None:
        from pjsh.commands.parallel import ParallelRun

        as_job = bool(self.ctx.common_parameter("AsJob"))
        if as_job and "TimeoutSeconds" in args:
            self.ctx.throw("The 'TimeoutSeconds' parameter cannot be used with the 'AsJob' "
                           "parameter.", "ParallelCannotUseTimeoutWithJob", "InvalidOperation")
        block = args.Parallel
        assert block is not None  # mandatory in the Parallel set
        self._parallel = ParallelRun(self, block, to_int(args.ThrottleLimit),
                                     to_int(args.TimeoutSeconds), as_job)

    def _member_access(self, obj: object, args: ForEachObjectArgs) -> None:
        name = self._member or ""
        arguments = list(as_list(args.ArgumentList))
        if obj is None:
            return
        if "ArgumentList" not in args:
            found, value = property_value(obj, name)
            if found:
                self._write_unrolled(value)
                return
        try:
            result = call_method(obj, name, arguments)
        except MemberError as e:
            if e.error_id == "MethodNotFound":
                if not arguments and "ArgumentList" not in args:
                    return  # a missing property is $null outside strict mode: nothing to write
                self.ctx.write_error(self.ctx.error(
                    f'Input name "{name}" cannot be resolved to a method.', "MethodNotFound",
                    "InvalidArgument", obj))
            else:
                self.ctx.write_error(self.ctx.error(
                    f'Exception calling "{name}" with "{len(arguments)}" argument(s): '
                    f'"{e.message}"', "MethodInvocationError", "NotSpecified", obj))
            return
        self._write_unrolled(result)

    def _write_unrolled(self, value: object) -> None:
        if isinstance(value, (list, tuple)):
            for item in value:
                self.ctx.write_output(item)
        elif value is not None:
            self.ctx.write_output(value)


# ---------------------------------------------------------------------------------------------
# Select-Object
# ---------------------------------------------------------------------------------------------

# [ValidateRange(0, int.MaxValue)] on -First, -Last, -Skip and -SkipLast, as in pwsh.
_COUNT = validate_range(0, 2**31 - 1)

_PSCUSTOMOBJECT = "System.Management.Automation.PSCustomObject"


def _unique_key(value: object, case_insensitive: bool) -> object:
    """A hashable stand-in for a value, equal for values Select-Object -Unique treats as one."""
    if value is None:
        return ("null",)
    if isinstance(value, str):
        return ("s", value.lower() if case_insensitive else value)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, (list, tuple)):
        return ("l", tuple(_unique_key(v, case_insensitive) for v in value))
    props = ps_properties(value)
    if props:
        return ("o", tuple((n.lower(), _unique_key(v, case_insensitive)) for n, v in props))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return ("v", value)


class SelectObjectArgs(Bound):
    """Select-Object's parameters."""

    InputObject: object
    Property: list[object] | None
    ExcludeProperty: list[str] | None
    ExpandProperty: str | None
    Unique: bool
    CaseInsensitive: bool
    Last: int | None
    First: int | None
    Skip: int | None
    SkipLast: int | None
    Wait: bool
    Index: list[int] | None
    SkipIndex: list[int] | None


@command
class SelectObject(_Evaluating):
    """Select-Object: pick properties of objects, or pick objects by position."""

    spec = CommandSpec(
        name="Select-Object",
        aliases=("select",),
        default_set="DefaultParameter",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True,
                  help="The object to select from; usually piped."),
            Param("Property", OBJECTS, position=0,
                  help="Properties to keep: names (wildcards allowed) or calculated properties "
                       "@{Name='n'; Expression={...}}."),
            Param("ExcludeProperty", STRINGS, help="Properties to leave out (wildcards allowed)."),
            Param("ExpandProperty", STRING,
                  help="A property whose value (each element, for a collection) is output "
                       "instead of the object."),
            Param("Unique", SWITCH, help="Output each distinct object once."),
            Param("CaseInsensitive", SWITCH,
                  help="With -Unique, compare strings without regard to case."),
            Param("Last", INT, sets=("DefaultParameter",), validate=_COUNT,
                  help="Output only the last N objects."),
            Param("First", INT, sets=("DefaultParameter",), validate=_COUNT,
                  help="Output only the first N objects, then stop the commands before."),
            Param("Skip", INT, sets=("DefaultParameter",), validate=_COUNT,
                  help="Skip N objects (from the end, with -Last)."),
            Param("SkipLast", INT, sets=("SkipLastParameter",), validate=_COUNT,
                  help="Skip the last N objects."),
            Param("Wait", SWITCH, sets=("DefaultParameter", "IndexParameter"),
                  help="Let upstream commands run to their end instead of stopping them "
                       "once -First or -Index is satisfied."),
            Param("Index", INTS, sets=("IndexParameter",),
                  help="Output the objects at these 0-based positions."),
            Param("SkipIndex", INTS, sets=("SkipIndexParameter",),
                  help="Output all objects except those at these 0-based positions."),
        ),
        summary="Selects objects or object properties.",
        description=(
            "Select-Object makes new objects holding only the chosen properties (names, "
            "wildcards or calculated properties), or expands one property with "
            "-ExpandProperty, or picks objects by position with -First, -Last, -Skip, "
            "-SkipLast and -Index. -Unique drops repeats. Once -First has what it needs, the "
            "commands before it in the pipeline are stopped."
        ),
        examples=(
            ("Get-Job | Select-Object Id, Name, State", "Keep three properties of each job."),
            ("Get-Job | select -First 1", "Only the first job."),
            ("Get-Job | select -ExpandProperty Name", "The job names as plain strings."),
            ("1..10 | select -Last 3", "The last three numbers."),
            ("Get-Job | select Name, @{n='Done'; e={$_.State -eq 'Completed'}}",
             "A calculated property."),
        ),
        output_type="System.Management.Automation.PSObject",
    )
    args_type = SelectObjectArgs
    bulk_parameter = "InputObject"

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._specs: list[PropertySpec] | None = None
        self._exclude: list[re.Pattern[str]] = []
        self._count = 0
        self._first_emitted = 0  # with -First and -Last together: positions already output
        self._last: deque[tuple[int, object]] | None = None
        self._delay: deque[object] | None = None
        self._seen: set[object] = set()
        self._index: set[int] = set()
        self._max_index = -1

    def begin(self, args: SelectObjectArgs) -> None:
        """Parse the property list and set up the selection mode."""
        if args.Property is not None:
            self._specs = parse_property_specs(self._throw, list(args.Property))
        self._exclude = [wildcard_regex(to_string(p)) for p in as_list(args.ExcludeProperty)]
        if args.Last is not None:  # given (a bound Int32 is never None)
            last = max(0, args.Last)
            skip = max(0, to_int(args.Skip or 0))
            self._last = deque(maxlen=last + skip) if last + skip > 0 else deque(maxlen=0)
        if "SkipLast" in args:
            self._delay = deque()
        if "Index" in args:
            self._index = {int(i) for i in (args.Index or [])}
            self._max_index = max(self._index, default=-1)
        elif "SkipIndex" in args:
            self._index = {int(i) for i in (args.SkipIndex or [])}

    def process(self, args: SelectObjectArgs) -> None:
        """Select from one input object."""
        if "InputObject" not in args:
            return
        obj = args.InputObject
        position = self._count
        self._count += 1
        if self._last is not None:
            if self._last.maxlen:
                self._last.append((position, obj))
            if args.First is not None and position < max(0, args.First):
                # -First N -Last M: the first N go out now, the last M at the end.
                self._emit(obj, args)
                self._first_emitted = position + 1
            return
        if self._delay is not None:
            self._delay.append(obj)
            assert args.SkipLast is not None  # the delay exists only with -SkipLast
            if len(self._delay) > max(0, args.SkipLast):
                self._emit(self._delay.popleft(), args)
            return
        if "Index" in args:
            if position in self._index:
                self._emit(obj, args)
            if position >= self._max_index and not args.Wait:
                raise StopUpstreamSignal()
            return
        if "SkipIndex" in args:
            if position not in self._index:
                self._emit(obj, args)
            return
        skip = max(0, to_int(args.Skip or 0))
        if position < skip:
            return
        if args.First is not None:
            first = max(0, args.First)
            # -Wait turns the optimisation off: upstream runs to its end, the rest is dropped.
            if position - skip >= first:
                if args.Wait:
                    return
                raise StopUpstreamSignal()
            self._emit(obj, args)
            if position - skip + 1 >= first and not args.Wait:
                raise StopUpstreamSignal()
            return
        self._emit(obj, args)

    def end(self, args: SelectObjectArgs) -> None:
        """Output what -Last kept."""
        if self._last is not None:
            items = list(self._last)
            skip = max(0, to_int(args.Skip or 0))
            assert args.Last is not None  # the buffer exists only with -Last
            last = max(0, args.Last)
            kept = items[: len(items) - skip] if skip else items
            for position, obj in kept[-last:] if last else []:
                if position >= self._first_emitted:
                    self._emit(obj, args)

    def _emit(self, obj: object, args: SelectObjectArgs) -> None:
        for item in self._select(obj, args):
            if args.Unique:
                key = _unique_key(item, bool(args.CaseInsensitive))
                if key in self._seen:
                    continue
                self._seen.add(key)
            self.ctx.write_output(item)

    def _excluded(self, name: str) -> bool:
        return any(rx.match(name) for rx in self._exclude)

    def _select(self, obj: object, args: SelectObjectArgs) -> list[object]:
        expand = args.ExpandProperty
        if expand:
            return self._expand_property(obj, to_string(expand))
        if self._specs is None and not self._exclude:
            return [obj]
        return [self._new_object(obj)]

    def _selected_pairs(self, obj: object) -> list[tuple[str, object]]:
        pairs: list[tuple[str, object]] = []
        taken: set[str] = set()

        def add(name: str, value: object, explicit: bool) -> None:
            if name.lower() in taken:
                if explicit:
                    self.ctx.write_error(self.ctx.error(
                        f'The property cannot be processed because the property "{name}" '
                        "already exists.", "AlreadyExistingUserSpecifiedPropertyNoExpand",
                        "InvalidOperation", obj))
                return
            taken.add(name.lower())
            pairs.append((name, value))

        if self._specs is None:
            for name in property_names(obj):
                if not self._excluded(name):
                    add(name, property_value(obj, name)[1], False)
            return pairs
        for spec in self._specs:
            if spec.is_wildcard:
                for name, value in self._expand(spec, obj):
                    if not self._excluded(name):
                        add(name, value, False)
                continue
            if spec.calculated:
                add(spec.label, self._spec_value(spec, obj)[1], True)
                continue
            name = spec.label
            if self._excluded(name):
                continue
            real = next((n for n in property_names(obj) if n.lower() == name.lower()), name)
            add(real, property_value(obj, name)[1], True)
        return pairs

    def _new_object(self, obj: object) -> PSObject:
        names = type_names(obj)
        first = names[0] if names else "System.Object"
        result = PSObject(type_names=(f"Selected.{first}", _PSCUSTOMOBJECT, "System.Object"))
        for name, value in self._selected_pairs(obj):
            result.set(name, value)
        return result

    def _expand_property(self, obj: object, name: str) -> list[object]:
        found, value = property_value(obj, name)
        if not found and _has_wildcard(name):
            rx = wildcard_regex(name)
            matches = [n for n in property_names(obj) if rx.match(n)]
            if len(matches) == 1:
                found, value = property_value(obj, matches[0])
        if not found:
            self.ctx.write_error(self.ctx.error(
                f'Property "{name}" cannot be found.', "ExpandPropertyNotFound",
                "InvalidArgument", obj))
            return []
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        items = [i for i in items if i is not None]
        if self._specs is not None:
            extra = self._selected_pairs(obj)
            for item in items:
                if not isinstance(item, PSObject):
                    continue
                for prop_name, prop_value in extra:
                    if item.has(prop_name):
                        self.ctx.write_error(self.ctx.error(
                            "The property cannot be processed because the property "
                            f'"{prop_name}" already exists.',
                            "AlreadyExistingUserSpecifiedPropertyExpand", "InvalidOperation",
                            item))
                        continue
                    item.set(prop_name, prop_value)
        return items


# ---------------------------------------------------------------------------------------------
# Sort-Object
# ---------------------------------------------------------------------------------------------


class SortObjectArgs(Bound):
    """Sort-Object's parameters."""

    InputObject: object
    Property: list[object] | None
    Descending: bool
    Unique: bool
    CaseSensitive: bool
    Stable: bool
    Top: int | None
    Bottom: int | None


@command
class SortObject(_Evaluating):
    """Sort-Object: sort the input objects by property values (stable)."""

    spec = CommandSpec(
        name="Sort-Object",
        aliases=(),  # `sort` is the Unix program, as in pwsh on Linux
        default_set="Default",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True,
                  help="The object to sort; usually piped."),
            Param("Property", OBJECTS, position=0,
                  help="Sort keys: property names, script blocks, or hashtables "
                       "@{Expression=...; Descending=$true}."),
            Param("Descending", SWITCH, help="Sort in descending order."),
            Param("Unique", SWITCH, help="Drop objects whose sort keys repeat."),
            Param("CaseSensitive", SWITCH, help="Compare strings with regard to case."),
            Param("Stable", SWITCH, sets=("Default",),
                  help="Keep equal objects in input order (always the case in pjsh)."),
            Param("Top", INT, mandatory=True, sets=("Top",),
                  help="Output only the first N objects of the sorted result."),
            Param("Bottom", INT, mandatory=True, sets=("Bottom",),
                  help="Output only the last N objects of the sorted result."),
        ),
        summary="Sorts objects by property values.",
        description=(
            "Sort-Object collects its input and outputs it sorted by the given keys, or by "
            "the objects themselves. Strings compare without regard to case unless "
            "-CaseSensitive; numbers compare as numbers; $null sorts first. Objects with equal "
            "keys keep their input order. -Unique keeps one object per distinct key."
        ),
        examples=(
            ("Get-Job | Sort-Object State, Id", "Jobs ordered by state, then Id."),
            ("3,1,2 | Sort-Object -Descending", "3, 2, 1."),
            ("Get-Process | Sort-Object CPU -Top 5 -Descending",
             "The five processes that used the most CPU."),
            ("'b','a','B' | Sort-Object -Unique", "a, b."),
        ),
        output_type="System.Object",
    )
    args_type = SortObjectArgs

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._items: list[object] = []

    def process(self, args: SortObjectArgs) -> None:
        """Collect one input object."""
        if "InputObject" in args:
            self._items.append(args.InputObject)

    def end(self, args: SortObjectArgs) -> None:
        """Sort and output everything collected."""
        specs = (parse_property_specs(self._throw, list(args.Property),
                                      ("Expression", "Ascending", "Descending"))
                 if args.Property is not None else [])
        descending = bool(args.Descending)
        cs = bool(args.CaseSensitive)
        keyed = [(self._keys(specs, obj), obj) for obj in self._items]
        flags = [descending if s.descending is None else s.descending for s in specs] or [
            descending]

        def cmp(a: tuple[list[object], object], b: tuple[list[object], object]) -> int:
            for i, flag in enumerate(flags):
                c = _order(a[0][i], b[0][i], cs)
                if c:
                    return -c if flag else c
            return 0

        keyed.sort(key=functools.cmp_to_key(cmp))
        if args.Unique:
            unique: list[tuple[list[object], object]] = []
            for entry in keyed:
                if not unique or cmp(unique[-1], entry) != 0:
                    unique.append(entry)
            keyed = unique
        result = [obj for _, obj in keyed]
        if args.Top is not None:
            result = result[: max(0, args.Top)]
        elif args.Bottom is not None:
            n = max(0, args.Bottom)
            result = result[len(result) - n:] if n else []
        for obj in result:
            self.ctx.write_output(obj)

    def _keys(self, specs: list[PropertySpec], obj: object) -> list[object]:
        if not specs:
            return [obj]
        keys: list[object] = []
        for spec in specs:
            if spec.is_wildcard:
                pairs = self._expand(spec, obj)
                keys.append(pairs[0][1] if pairs else None)
            else:
                keys.append(self._spec_value(spec, obj)[1])
        return keys


# ---------------------------------------------------------------------------------------------
# Measure-Object
# ---------------------------------------------------------------------------------------------


@dataclass
class GenericMeasureInfo(PSPropertyClass):
    """Measure-Object's statistics of one property (unrequested ones are $null)."""

    ps_type_names = ("Microsoft.PowerShell.Commands.GenericMeasureInfo",
                     "Microsoft.PowerShell.Commands.MeasureInfo", "System.Object")
    ps_property_names = ("Count", "Average", "Sum", "Maximum", "Minimum", "StandardDeviation",
                         "Property")

    Count: int = 0
    Average: float | None = None
    Sum: float | None = None
    Maximum: object = None
    Minimum: object = None
    StandardDeviation: float | None = None
    Property: str | None = None


@dataclass
class TextMeasureInfo(PSPropertyClass):
    """Measure-Object's line, word and character counts (unrequested ones are $null)."""

    ps_type_names = ("Microsoft.PowerShell.Commands.TextMeasureInfo",
                     "Microsoft.PowerShell.Commands.MeasureInfo", "System.Object")
    ps_property_names = ("Lines", "Words", "Characters", "Property")

    Lines: int | None = None
    Words: int | None = None
    Characters: int | None = None
    Property: str | None = None


@dataclass
class _Stats:
    count: int = 0
    total: float = 0.0
    numbers: int = 0
    mean: float = 0.0
    m2: float = 0.0  # Welford's running sum of squared deviations
    maximum: object = None
    minimum: object = None
    lines: int = 0
    words: int = 0
    chars: int = 0


_GENERIC_SWITCHES = ("Sum", "Average", "Maximum", "Minimum", "StandardDeviation")


class MeasureObjectArgs(Bound):
    """Measure-Object's parameters."""

    InputObject: object
    Property: list[object] | None
    StandardDeviation: bool
    Sum: bool
    AllStats: bool
    Average: bool
    Maximum: bool
    Minimum: bool
    Line: bool
    Word: bool
    Character: bool
    IgnoreWhiteSpace: bool


# What str.splitlines breaks at (each looked for with a substring search: memchr speed).
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


@command
class MeasureObject(_Evaluating):
    """Measure-Object: count objects, and sum/average/extremes of property values, or lines,
    words and characters of text."""

    spec = CommandSpec(
        name="Measure-Object",
        aliases=("measure",),
        default_set="GenericMeasure",
        params=(
            Param("InputObject", PSOBJECT, pipeline=True,
                  help="The object to measure; usually piped."),
            Param("Property", OBJECTS, position=0,
                  help="Properties to measure (wildcards allowed) or script blocks."),
            Param("StandardDeviation", SWITCH, sets=("GenericMeasure",),
                  help="Compute the sample standard deviation."),
            Param("Sum", SWITCH, sets=("GenericMeasure",), help="Compute the sum."),
            Param("AllStats", SWITCH, sets=("GenericMeasure",),
                  help="Compute every statistic."),
            Param("Average", SWITCH, sets=("GenericMeasure",), help="Compute the average."),
            Param("Maximum", SWITCH, sets=("GenericMeasure",), help="Find the largest value."),
            Param("Minimum", SWITCH, sets=("GenericMeasure",), help="Find the smallest value."),
            Param("Line", SWITCH, sets=("TextMeasure",), help="Count lines of text."),
            Param("Word", SWITCH, sets=("TextMeasure",), help="Count words of text."),
            Param("Character", SWITCH, sets=("TextMeasure",), help="Count characters of text."),
            Param("IgnoreWhiteSpace", SWITCH, sets=("TextMeasure",),
                  help="Leave white space out of the character count."),
        ),
        summary="Calculates the numeric properties of objects, and the characters, words, and "
                "lines in string objects.",
        description=(
            "Measure-Object counts its input objects and, on request, computes the sum, "
            "average, maximum, minimum and standard deviation of their values or of the given "
            "properties (one result per property). With -Line, -Word or -Character it counts "
            "the lines, words and characters of text instead."
        ),
        examples=(
            ("Get-Job | Measure-Object", "Count the jobs."),
            ("1..5 | measure -Sum -Average", "Sum 15, average 3."),
            ("Get-ChildItem | measure Length -Maximum", "The size of the largest file."),
            ("Get-Content notes.txt | measure -Line -Word -Character", "Count the text."),
        ),
        output_type="Microsoft.PowerShell.Commands.GenericMeasureInfo",
    )
    args_type = MeasureObjectArgs

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._specs: list[PropertySpec] | None = None
        self._stats: dict[str, tuple[str, _Stats]] = {}  # key → (display name, stats)
        self._text = False
        self._wanted: set[str] = set()

    def begin(self, args: MeasureObjectArgs) -> None:
        """Work out which measurements were asked for."""
        if args.Property is not None:
            self._specs = parse_property_specs(self._throw, list(args.Property), ())
            for spec in self._specs:
                if not spec.is_wildcard:
                    self._stats.setdefault(spec.label.lower(), (spec.label, _Stats()))
        self._text = args.parameter_set == "TextMeasure" or (
            args.Line or args.Word or args.Character or args.IgnoreWhiteSpace)
        if args.AllStats:
            self._wanted = set(_GENERIC_SWITCHES)
        else:
            asked = {"Sum": args.Sum, "Average": args.Average, "Maximum": args.Maximum,
                     "Minimum": args.Minimum, "StandardDeviation": args.StandardDeviation}
            self._wanted = {s for s in _GENERIC_SWITCHES if asked[s]}

    def process(self, args: MeasureObjectArgs) -> None:
        """Add one input object to the measurements."""
        if "InputObject" not in args:
            return
        obj = args.InputObject
        if self._specs is None:
            if obj is None:
                return
            self._add("", "", obj, args)
            return
        for spec in self._specs:
            for name, value in self._expand(spec, obj):
                if value is not None:  # a $null value is not measured, like a missing one
                    self._add(name.lower(), name, value, args)

    def item_processor(self, args: MeasureObjectArgs) -> Callable[[object], None] | None:
        """The objects themselves measured (no -Property, not text): ``process`` with a
        plain ``int``/``float`` counted and summed here when neither the extremes nor the
        deviation are asked for (``_add``'s sums in its order), anything else by ``_add``."""
        if self._specs is not None or self._text:
            return None
        add = self._add
        # The one entry _add (or end, for no input) makes for the objects themselves.
        stats = self._stats.setdefault("", ("", _Stats()))[1]
        wanted = self._wanted
        if not wanted:
            def count(obj: object) -> None:
                if obj is not None:
                    stats.count += 1

            return count
        if not wanted <= {"Sum", "Average"}:
            def measure(obj: object) -> None:
                if obj is not None:
                    add("", "", obj, args)

            return measure

        def total(obj: object) -> None:
            t = type(obj)
            if t is int or t is float:
                stats.count += 1
                stats.numbers += 1
                stats.total += float(obj)  # type: ignore[arg-type]
            elif obj is not None:
                add("", "", obj, args)

        return total

    bulk_parameter = "InputObject"

    def process_many(self, args: MeasureObjectArgs, values: Sequence[object],
                     taken: Taken) -> None:
        """A block of plain strings: counted (and measured as text) in C-level loops; the
        same sums ``_add`` makes one string at a time."""
        if self._specs is not None or (self._wanted and not self._text):
            super().process_many(args, values, taken)
            return
        texts = cast("Sequence[str]", values)
        _, stats = self._stats.setdefault("", ("", _Stats()))
        stats.count += len(texts)
        if self._text:
            # Only what end() shows is counted (the others stay unseen).
            if args.Line:
                joined = "".join(texts)
                if not any(ch in joined for ch in _LINE_BREAKS):
                    # No string breaks into lines: each non-empty one is one line.
                    stats.lines += len(texts) - list(texts).count("")
                else:
                    stats.lines += sum(map(len, map(str.splitlines, texts)))
            if args.Word:
                stats.words += sum(map(len, map(str.split, texts)))
            if not args.Character:
                pass
            elif args.IgnoreWhiteSpace:
                stats.chars += sum(1 for text in texts for ch in text if not ch.isspace())
            else:
                stats.chars += sum(map(len, texts))
        taken.count += len(texts)

    def _add(self, key: str, name: str, value: object, args: MeasureObjectArgs) -> None:
        entry = self._stats.get(key)
        if entry is None:
            entry = self._stats[key] = (name, _Stats())
        stats = entry[1]
        stats.count += 1
        if self._text:
            text = to_string(value)
            stats.lines += len(text.splitlines())
            stats.words += len(text.split())
            if args.IgnoreWhiteSpace:
                stats.chars += sum(1 for ch in text if not ch.isspace())
            else:
                stats.chars += len(text)
            return
        if not self._wanted:
            return
        number: float | None
        if type(value) is int or type(value) is float:
            number = float(value)  # what to_number gives a plain number, without the call
        else:
            try:
                number = float(to_number(value)) if not isinstance(value, (list, tuple)) \
                    else None
            except ConversionError:
                number = None
        if number is None or (isinstance(value, str) and not value.strip()):
            if self._wanted & {"Sum", "Average", "StandardDeviation"}:
                self.ctx.write_error(self.ctx.error(
                    f'Input object "{to_string(value)}" is not numeric.',
                    "NonNumericInputObject", "InvalidType", value))
                stats.count -= 1
                return
            extreme: object = value
        else:
            extreme = number
            stats.numbers += 1
            stats.total += number
            delta = number - stats.mean
            stats.mean += delta / stats.numbers
            stats.m2 += delta * (number - stats.mean)
        if "Maximum" not in self._wanted and "Minimum" not in self._wanted:
            return  # the extremes are shown only when asked for (_order costs per object)
        if stats.maximum is None or _order(extreme, stats.maximum, False) > 0:
            stats.maximum = extreme
        if stats.minimum is None or _order(extreme, stats.minimum, False) < 0:
            stats.minimum = extreme

    def end(self, args: MeasureObjectArgs) -> None:
        """Write one result per measured property."""
        if not self._stats:
            self._stats[""] = ("", _Stats())
        for key, (name, stats) in self._stats.items():
            prop = name if self._specs is not None else None
            if self._specs is not None and stats.count == 0 and key:
                self.ctx.write_error(self.ctx.error(
                    f'The property "{name}" cannot be found in the input for any objects.',
                    "GenericMeasurePropertyNotFound", "InvalidArgument", name))
                continue
            if self._text:
                self.ctx.write_output(TextMeasureInfo(
                    Lines=stats.lines if args.Line else None,
                    Words=stats.words if args.Word else None,
                    Characters=stats.chars if args.Character else None,
                    Property=prop))
                continue
            info = GenericMeasureInfo(Count=stats.count, Property=prop)
            if "Sum" in self._wanted:
                info.Sum = stats.total
            if "Average" in self._wanted and stats.numbers:
                info.Average = stats.total / stats.numbers
            if "Maximum" in self._wanted:
                info.Maximum = stats.maximum
            if "Minimum" in self._wanted:
                info.Minimum = stats.minimum
            if "StandardDeviation" in self._wanted:
                info.StandardDeviation = (math.sqrt(stats.m2 / (stats.numbers - 1))
                                          if stats.numbers > 1 else 0.0)
            self.ctx.write_output(info)


# ---------------------------------------------------------------------------------------------
# Group-Object
# ---------------------------------------------------------------------------------------------


@dataclass
class GroupInfo(PSPropertyClass):
    """One group made by Group-Object: its Name, the key Values, and the Group members."""

    ps_type_names = ("Microsoft.PowerShell.Commands.GroupInfo", "System.Object")
    ps_property_names = ("Count", "Name", "Group", "Values")

    Name: str
    Values: list[object]
    Group: list[object] = field(default_factory=list)

    @property
    def Count(self) -> int:
        """How many objects the group holds."""
        return len(self.Group)


@dataclass
class GroupInfoNoElement(PSPropertyClass):
    """A group made by Group-Object -NoElement: its Name, Values and Count only."""

    ps_type_names = ("Microsoft.PowerShell.Commands.GroupInfoNoElement",
                     "Microsoft.PowerShell.Commands.GroupInfo", "System.Object")
    ps_property_names = ("Count", "Name", "Values")

    Count: int
    Name: str
    Values: list[object]


def format_views(table: ViewTable) -> None:
    """This module's default views: GroupInfo as pwsh's table (Count, Name, Group — Values is
    not shown), and Get-Member's MemberDefinition table."""
    from pjsh.runtime.formatting import TableView

    count = ("Count", "Count", None, "right")
    table.register("Microsoft.PowerShell.Commands.GroupInfoNoElement",
                   TableView((count, ("Name", "Name", None, "left"))))
    table.register("Microsoft.PowerShell.Commands.GroupInfo",
                   TableView((count, ("Name", "Name", None, "left"),
                              ("Group", "Group", None, "left"))))
    # pwsh's MemberDefinition view: one table per type under `   TypeName: X`.
    table.register("Microsoft.PowerShell.Commands.MemberDefinition", TableView(
        (("Name", "Name", None, "left"), ("MemberType", "MemberType", None, "left"),
         ("Definition", "Definition", None, "left")),
        group_by="TypeName", group_label="TypeName", group_indent=3))


def _group_key(values: list[object], case_sensitive: bool) -> tuple[str, ...]:
    texts = (to_string(v) for v in values)
    return tuple(t if case_sensitive else t.lower() for t in texts)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class GroupObjectArgs(Bound):
    """Group-Object's parameters."""

    NoElement: bool
    AsHashTable: bool
    AsString: bool
    InputObject: object
    Property: list[object] | None
    CaseSensitive: bool


@command
class GroupObject(_Evaluating):
    """Group-Object: gather objects that share property values into groups."""

    spec = CommandSpec(
        name="Group-Object",
        aliases=("group",),
        params=(
            Param("NoElement", SWITCH, help="Leave the members out of the groups."),
            Param("AsHashTable", SWITCH, aliases=("AHT",),
                  help="Output one hashtable: key → the objects with that key."),
            Param("AsString", SWITCH, help="With -AsHashTable, make the keys strings."),
            Param("InputObject", PSOBJECT, pipeline=True,
                  help="The object to group; usually piped."),
            Param("Property", OBJECTS, position=0,
                  help="Grouping keys: property names, script blocks or @{Expression=...}."),
            Param("CaseSensitive", SWITCH, help="Treat keys differing in case as different."),
        ),
        summary="Groups objects that contain the same value for specified properties.",
        description=(
            "Group-Object collects its input into groups of objects with equal values of the "
            "given properties (or equal objects), and outputs one GroupInfo per group — Count, "
            "Name (the values joined by ', '), Values and Group — sorted by the group values."
        ),
        examples=(
            ("Get-Job | Group-Object State", "How many jobs are in each state."),
            ("1..10 | group { $_ % 2 } -NoElement", "Count the odd and even numbers."),
            ("$byState = Get-Job | group State -AsHashTable -AsString",
             "A hashtable of jobs by state: $byState.Running."),
        ),
        output_type="Microsoft.PowerShell.Commands.GroupInfo",
    )
    args_type = GroupObjectArgs

    def __init__(self, ctx: CommandContext) -> None:
        super().__init__(ctx)
        self._specs: list[PropertySpec] = []
        self._groups: dict[tuple[str, ...], tuple[list[object], list[object]]] = {}

    def begin(self, args: GroupObjectArgs) -> None:
        """Parse the grouping keys."""
        if args.Property is not None:
            self._specs = parse_property_specs(self._throw, list(args.Property), ("Expression",))

    def process(self, args: GroupObjectArgs) -> None:
        """Put one input object in its group."""
        if "InputObject" not in args:
            return
        obj = args.InputObject
        if self._specs:
            values: list[object] = []
            for spec in self._specs:
                if spec.is_wildcard:
                    pairs = self._expand(spec, obj)
                    values.append(pairs[0][1] if pairs else None)
                else:
                    values.append(self._spec_value(spec, obj)[1])
        else:
            values = [obj]
        key = _group_key(values, bool(args.CaseSensitive))
        entry = self._groups.get(key)
        if entry is None:
            self._groups[key] = (values, [obj])
        else:
            entry[1].append(obj)

    def end(self, args: GroupObjectArgs) -> None:
        """Output the groups sorted by their values (or one hashtable)."""
        cs = bool(args.CaseSensitive)

        def cmp(a: list[object], b: list[object]) -> int:
            for x, y in zip(a, b):
                c = _order(x, y, cs)
                if c:
                    return c
            return 0

        def cmp_groups(a: tuple[list[object], list[object]],
                       b: tuple[list[object], list[object]]) -> int:
            return cmp(a[0], b[0])

        groups = sorted(self._groups.values(), key=functools.cmp_to_key(cmp_groups))
        if args.AsHashTable:
            table = Hashtable()
            for values, members in groups:
                name = ", ".join(to_string(v) for v in values)
                key: object = name
                if not args.AsString and len(values) == 1 and _hashable(values[0]):
                    key = values[0]
                table[key] = members
            self.ctx.write_output(table)
            return
        for values, members in groups:
            name = ", ".join(to_string(v) for v in values)
            if args.NoElement:
                self.ctx.write_output(GroupInfoNoElement(len(members), name, values))
            else:
                self.ctx.write_output(GroupInfo(name, values, members))


# ---------------------------------------------------------------------------------------------
# Get-Member
# ---------------------------------------------------------------------------------------------

# PSMemberTypes: the flags -MemberType accepts, and the groups some names stand for.
_MEMBER_TYPES = ("AliasProperty", "CodeProperty", "Property", "NoteProperty", "ScriptProperty",
                 "PropertySet", "Method", "CodeMethod", "ScriptMethod", "ParameterizedProperty",
                 "MemberSet", "Event", "Dynamic", "InferredProperty")
_MEMBER_GROUPS = {
    "properties": frozenset({"AliasProperty", "CodeProperty", "Property", "NoteProperty",
                             "ScriptProperty", "InferredProperty"}),
    "methods": frozenset({"Method", "CodeMethod", "ScriptMethod"}),
    "all": frozenset(_MEMBER_TYPES),
}
_MEMBER_TYPE_NAMES = (*_MEMBER_TYPES, "Properties", "Methods", "All")


def _member_types(value: object) -> object:
    """-MemberType: names or comma lists of PSMemberTypes, as the set of member types."""
    canon = {n.lower(): n for n in _MEMBER_TYPES}
    found: set[str] = set()
    for item in as_list(value):
        for part in to_string(item).split(","):
            text = part.strip()
            low = text.lower()
            if low in _MEMBER_GROUPS:
                found |= _MEMBER_GROUPS[low]
            elif low in canon:
                found.add(canon[low])
            else:
                raise ConversionError(
                    f'Cannot convert value "{text}" to type "System.Management.Automation.'
                    f'PSMemberTypes". Error: "Unable to match the identifier name {text} to a '
                    "valid enumerator name. Specify one of the following enumerator names and "
                    f'try again:\n{", ".join(_MEMBER_TYPE_NAMES)}"')
    return frozenset(found)


MEMBER_TYPES = TypeSpec("System.Management.Automation.PSMemberTypes", _member_types,
                        choices=_MEMBER_TYPE_NAMES, python="frozenset[str]")


@dataclass
class MemberDefinition(PSPropertyClass):
    """One member of a type, as Get-Member outputs it."""

    ps_type_names = ("Microsoft.PowerShell.Commands.MemberDefinition", "System.Object")
    ps_property_names = ("TypeName", "Name", "MemberType", "Definition")

    TypeName: str
    Name: str
    MemberType: str
    Definition: str

    def __str__(self) -> str:
        return self.Definition




class GetMemberArgs(Bound):
    """Get-Member's parameters."""

    Name: list[str] | None
    InputObject: object
    MemberType: frozenset[str] | None
    Static: bool
    Force: bool


@command
class GetMember(Cmdlet):
    """Get-Member: the properties and methods of objects, once per type."""

    spec = CommandSpec(
        name="Get-Member",
        aliases=("gm",),
        summary="Gets the properties and methods of objects.",
        description=(
            "Lists the members scripts can use on the piped objects (or -InputObject): "
            "properties, note properties of custom objects and the methods pjsh implements, "
            "with their definitions. Each distinct type is listed once, under a "
            "`TypeName:` header. -Name and -MemberType filter the members; -Static lists the "
            "type's static members ([type]::Member); -Force adds the intrinsic psobject member."
        ),
        examples=(
            ("'text' | Get-Member", "The members of a string."),
            ("Get-ChildItem | gm -MemberType Property", "The properties of files and folders."),
            ("[pscustomobject]@{a=1} | gm -Name a", "One note property."),
            ("Get-Member -InputObject 1,2", "The members of the array itself."),
            ("'' | Get-Member -Static", "[string]::Join, [string]::Empty, …"),
        ),
        output_type="Microsoft.PowerShell.Commands.MemberDefinition",
        params=(
            Param("Name", STRINGS, position=0, help="Only members with these names (wildcards)."),
            Param("InputObject", OBJECT, pipeline=True,
                  help="The object whose members to list (an array is listed as an array)."),
            Param("MemberType", MEMBER_TYPES, aliases=("Type",),
                  help="Only these kinds: Property, Method, NoteProperty, Properties, "
                       "Methods, All…"),
            Param("Static", SWITCH, help="List static members of the type instead."),
            Param("Force", SWITCH, help="Also list the intrinsic psobject member."),
        ),
    )
    args_type = GetMemberArgs

    def begin(self, args: GetMemberArgs) -> None:
        """Nothing listed yet."""
        self._seen: set[str] = set()

    def process(self, args: GetMemberArgs) -> None:
        """List the members of a type seen for the first time."""
        if "InputObject" not in args or args.InputObject is None:
            return
        obj = args.InputObject
        names = type_names(obj)
        key = "\n".join(names).lower()
        if key in self._seen:
            return
        self._seen.add(key)
        type_name = names[0] if names else "System.Object"
        patterns = [wildcard_regex(to_string(n)) for n in as_list(args.Name)]
        kinds = args.MemberType
        for name, kind, definition in list_members(obj, bool(args.Static), bool(args.Force)):
            if patterns and not any(rx.match(name) for rx in patterns):
                continue
            if kinds is not None and kind not in kinds:
                continue
            self.ctx.write_output(MemberDefinition(type_name, name, kind, definition))

    def end(self, args: GetMemberArgs) -> None:
        """No object at all is pwsh's NoObjectInGetMember error."""
        if not self._seen:
            self.ctx.write_error(self.ctx.error(
                "You must specify an object for the Get-Member cmdlet.",
                "NoObjectInGetMember,Microsoft.PowerShell.Commands.GetMemberCommand",
                "CloseError", None, "System.InvalidOperationException"))


__all__ = [
    "NAME_OR_BLOCK",
    "PSOBJECT",
    "ForEachObject",
    "GenericMeasureInfo",
    "GetMember",
    "GroupInfo",
    "GroupInfoNoElement",
    "GroupObject",
    "MeasureObject",
    "MemberDefinition",
    "PropertySpec",
    "SelectObject",
    "SortObject",
    "TextMeasureInfo",
    "WhereObject",
    "first_or_list",
    "is_type",
    "parse_property_specs",
    "property_names",
    "property_value",
]
