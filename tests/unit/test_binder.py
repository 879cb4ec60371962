"""The parameter binder, on test cmdlets whose parameter tables exercise every rule: named,
``-Name:value``, positional, switches, unique-prefix abbreviation and ambiguity, parameter
and command aliases, parameter sets, pipeline binding by value and by property name, type
conversion and validation errors, mandatory parameters, remaining arguments, common
parameters — directly on CommandBinder and through the interpreter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pjsh.commands import builtin_registry
from pjsh.engine import local_options
from pjsh.runtime.binder import Argument, BindingError, CommandBinder
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, Registry
from pjsh.runtime.convert import INT, OBJECT, STRING, STRINGS, SWITCH
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import create_runspace
from pjsh.runtime.values import PSObject
from tests.harness import RunResult, run

NAMES = ("Name", "Id", "Force", "Count", "Tags", "Rest", "Value")


def _report(ctx_args: Bound) -> dict[str, object]:
    got: dict[str, object] = {"set": ctx_args.parameter_set}
    for n in NAMES:
        if n in ctx_args:
            got[n] = ctx_args.get(n)
    return got


def _positive(value: object) -> str | None:
    if isinstance(value, int) and value < 0:
        return (f"The {value} argument is less than the minimum allowed range of 0. Supply an "
                "argument that is greater than or equal to 0 and then try the command again.")
    return None


class GetThing(Cmdlet):
    """Two parameter sets sharing position 0, a switch, an int, an array and aliases."""

    spec = CommandSpec(
        "Get-Thing",
        params=(
            Param("Name", STRING, position=0, pipeline_by_name=True, aliases=("ThingName", "N"),
                  sets=("ByName",)),
            Param("Id", INT, position=0, mandatory=True, pipeline=True, pipeline_by_name=True,
                  sets=("ById",), validate=_positive),
            Param("Force", SWITCH),
            Param("Count", INT, position=1),
            Param("Tags", STRINGS, aliases=("Labels",)),
        ),
        aliases=("gth",),
        default_set="ByName",
    )

    def process(self, args: Bound) -> None:
        """Report what was bound."""
        self.ctx.write_output(_report(args))


class SetThing(Cmdlet):
    """A mandatory pipeline parameter by value, and remaining arguments."""

    spec = CommandSpec(
        "Set-Thing",
        params=(
            Param("Value", OBJECT, mandatory=True, pipeline=True),
            Param("Rest", OBJECT, remaining=True, position=0),
        ),
    )

    def process(self, args: Bound) -> None:
        """Report what was bound."""
        self.ctx.write_output(_report(args))


class NoInput(Cmdlet):
    """A command that takes no pipeline input at all."""

    spec = CommandSpec("Get-NoInput", params=(Param("Name", STRING, position=0),))

    def process(self, args: Bound) -> None:
        """Report what was bound."""
        self.ctx.write_output(_report(args))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    reg = builtin_registry()
    for cls in (GetThing, SetThing, NoInput):
        reg.add(cls)
    yield reg


def prun(text: str, registry: Registry) -> RunResult:
    rs = create_runspace(local_options(MemoryHost()).derive(registry=registry))
    return run(text, rs)


def bound(text: str, registry: Registry) -> list[object]:
    r = prun(text, registry)
    assert r.errors == [], r.messages
    return r.output


def fails(text: str, registry: Registry) -> tuple[str, str]:
    r = prun(text, registry)
    assert len(r.errors) == 1, r.messages
    return r.errors[0].FullyQualifiedErrorId.split(",")[0], r.messages[0]


# ---------------------------------------------------------------- through the interpreter

def test_named_colon_and_positional_binding(registry: Registry) -> None:
    assert bound("Get-Thing -Name a -Count 3", registry) == [
        {"set": "ByName", "Name": "a", "Count": 3}]
    assert bound("Get-Thing -Name:a -Count:3", registry) == [
        {"set": "ByName", "Name": "a", "Count": 3}]
    assert bound("Get-Thing a 3", registry) == [{"set": "ByName", "Name": "a", "Count": 3}]
    assert bound("Get-Thing -Count 3 a", registry) == [{"set": "ByName", "Name": "a", "Count": 3}]
    assert bound("Get-Thing -Name a 3", registry) == [{"set": "ByName", "Name": "a", "Count": 3}]


def test_case_insensitive_names_and_command_alias(registry: Registry) -> None:
    assert bound("get-thing -NAME a; GTH -name b", registry) == [
        {"set": "ByName", "Name": "a"}, {"set": "ByName", "Name": "b"}]


def test_switches(registry: Registry) -> None:
    assert bound("Get-Thing x -Force", registry) == [{"set": "ByName", "Name": "x", "Force": True}]
    assert bound("Get-Thing x -Force:$false", registry) == [
        {"set": "ByName", "Name": "x", "Force": False}]
    r = prun("Get-Thing x -Force:'yes'", registry)
    assert r.messages and r.messages[0].startswith("Cannot bind parameter 'Force'.")


def test_unique_prefix_abbreviation(registry: Registry) -> None:
    assert bound("Get-Thing -Na a -Co 2 -Fo -Ta x,y", registry) == [
        {"set": "ByName", "Name": "a", "Count": 2, "Force": True, "Tags": ["x", "y"]}]


def test_ambiguous_prefix_lists_every_match(registry: Registry) -> None:
    assert bound("Get-Thing -F", registry) == [{"set": "ByName", "Force": True}]
    error_id, message = fails("Get-Thing -I 1", registry)
    assert error_id == "AmbiguousParameter"
    assert message == ("Parameter cannot be processed because the parameter name 'I' is "
                       "ambiguous. Possible matches include: -Id -InformationAction "
                       "-InformationVariable.")


def test_an_exact_name_wins_over_longer_prefixes(registry: Registry) -> None:
    # -N is an alias of Name, even though it is also a prefix of nothing else here.
    assert bound("Get-Thing -N a", registry) == [{"set": "ByName", "Name": "a"}]


def test_parameter_aliases(registry: Registry) -> None:
    assert bound("Get-Thing -ThingName a -Labels x", registry) == [
        {"set": "ByName", "Name": "a", "Tags": ["x"]}]


def test_unknown_parameter(registry: Registry) -> None:
    assert fails("Get-Thing -Bogus 1", registry) == (
        "NamedParameterNotFound",
        "A parameter cannot be found that matches parameter name 'Bogus'.")


def test_parameter_given_twice(registry: Registry) -> None:
    error_id, message = fails("Get-Thing -Name a -Name b", registry)
    assert error_id == "ParameterAlreadyBound"
    assert message.startswith("Cannot bind parameter because parameter 'Name' is specified more "
                              "than once.")


def test_missing_argument_for_a_parameter(registry: Registry) -> None:
    assert fails("Get-Thing -Count", registry) == (
        "MissingArgument", "Missing an argument for parameter 'Count'. Specify a parameter of type "
        "'System.Int32' and try again.")


def test_too_many_positional_arguments(registry: Registry) -> None:
    assert fails("Get-Thing a 1 extra", registry) == (
        "PositionalParameterNotFound",
        "A positional parameter cannot be found that accepts argument 'extra'.")


def test_type_conversion_and_its_error(registry: Registry) -> None:
    assert bound("Get-Thing -Id '7'", registry) == [{"set": "ById", "Id": 7}]
    assert bound("Get-Thing a '5'", registry) == [{"set": "ByName", "Name": "a", "Count": 5}]
    error_id, message = fails("Get-Thing a -Count abc", registry)
    assert error_id == "CannotConvertArgumentNoMessage"
    assert message == ("Cannot bind parameter 'Count'. Cannot convert value \"abc\" to type "
                       "\"System.Int32\". Error: \"The input string 'abc' was not in a correct "
                       "format.\"")


def test_validation_error(registry: Registry) -> None:
    error_id, message = fails("Get-Thing -Id -2", registry)
    assert error_id == "ParameterArgumentValidationError"
    assert message == ("Cannot validate argument on parameter 'Id'. The -2 argument is less than "
                       "the minimum allowed range of 0. Supply an argument that is greater than or "
                       "equal to 0 and then try the command again.")


def test_parameter_sets_chosen_by_named_parameters(registry: Registry) -> None:
    assert bound("Get-Thing -Id 4", registry) == [{"set": "ById", "Id": 4}]
    assert bound("Get-Thing", registry) == [{"set": "ByName"}]
    error_id, _ = fails("Get-Thing -Name a -Id 3", registry)
    assert error_id == "AmbiguousParameterSet"


def test_positional_value_goes_to_the_set_whose_type_fits(registry: Registry) -> None:
    # Position 0 is Name (ByName, the default set) or Id (ById): a string binds to Name.
    assert bound("Get-Thing 42", registry) == [{"set": "ByName", "Name": "42"}]


def test_mandatory_parameter_missing(registry: Registry) -> None:
    assert fails("Set-Thing", registry) == (
        "MissingMandatoryParameter",
        "Cannot process command because of one or more missing mandatory parameters: Value.")


def test_remaining_arguments_collect(registry: Registry) -> None:
    assert bound("Set-Thing -Value 1 a b c", registry) == [
        {"set": "__AllParameterSets", "Value": 1, "Rest": ["a", "b", "c"]}]


def test_pipeline_binding_by_value(registry: Registry) -> None:
    assert bound("1, 2 | Set-Thing", registry) == [
        {"set": "__AllParameterSets", "Value": 1}, {"set": "__AllParameterSets", "Value": 2}]
    assert bound("5 | Get-Thing", registry) == [{"set": "ById", "Id": 5}]


def test_pipeline_binding_by_property_name(registry: Registry) -> None:
    src = ("[pscustomobject]@{ Name = 'a' }, [pscustomobject]@{ ThingName = 'b' }, "
           "[pscustomobject]@{ Id = 9 } | Get-Thing")
    assert bound(src, registry) == [
        {"set": "ByName", "Name": "a"}, {"set": "ByName", "Name": "b"}, {"set": "ById", "Id": 9}]


def test_command_line_values_combine_with_pipeline_values(registry: Registry) -> None:
    assert bound("[pscustomobject]@{ Name = 'p' } | Get-Thing -Count 2 -Force", registry) == [
        {"set": "ByName", "Name": "p", "Count": 2, "Force": True}]


def test_input_that_binds_to_nothing_is_a_non_terminating_error(registry: Registry) -> None:
    r = prun("'a', 'b' | Get-NoInput; 'next'", registry)
    assert r.output == ["next"]
    assert [e.FullyQualifiedErrorId.split(",")[0] for e in r.errors] == ["InputObjectNotBound"] * 2
    assert r.messages[0].startswith("The input object cannot be bound to any parameters for the "
                                    "command")


def test_an_object_matching_no_pipeline_parameter_is_reported(registry: Registry) -> None:
    r = prun("[pscustomobject]@{ Other = 1 }, 'x' | Get-Thing -Force; 'next'", registry)
    assert r.output == ["next"]
    assert [e.FullyQualifiedErrorId for e in r.errors] == ["InputObjectNotBound,GetThing"] * 2


def test_common_parameters_on_every_cmdlet(registry: Registry) -> None:
    r = prun("Get-Thing a -Verbose -ErrorAction SilentlyContinue -OutVariable o; $o.Count",
             registry)
    assert r.errors == [] and r.output[-1] == 1
    r = prun("Get-Thing a -ea Stop -wa Continue -ov o2 -ev e2", registry)
    assert r.errors == []


def test_binding_errors_point_at_the_argument(registry: Registry) -> None:
    r = prun("'line one'\nGet-Thing  -Bogus 1", registry)
    info = r.errors[0].InvocationInfo
    assert info.ScriptLineNumber == 2 and info.OffsetInLine == 12
    assert "~~~~~~" in info.PositionMessage


# ---------------------------------------------------------------- CommandBinder directly

def binder() -> CommandBinder:
    return CommandBinder(GetThing.spec)


def test_binder_resolves_exact_alias_prefix_and_common_names() -> None:
    b = binder()
    assert b.resolve_name("name") == ("Name", False)
    assert b.resolve_name("labels") == ("Tags", False)
    assert b.resolve_name("Cou") == ("Count", False)
    assert b.resolve_name("ea") == ("ErrorAction", True)
    assert b.resolve_name("Verb") == ("Verbose", True)
    with pytest.raises(BindingError) as e:
        b.resolve_name("W")
    assert e.value.error_id == "AmbiguousParameter"
    assert "-WarningAction -WarningVariable" in e.value.message


def test_binder_result_keeps_defaults_explicit_names_and_common_values() -> None:
    result = binder().bind([Argument("Name", "x", True, index=0),
                            Argument("ErrorAction", "stop", True, index=1)],
                           has_pipeline_input=False)
    assert result.explicit == {"Name"}
    assert result.values["Force"] is False and result.values["Count"] is None
    assert result.common == {"ErrorAction": "Stop"}
    assert result.candidate_sets == ["ByName"]


def test_binder_marks_which_argument_failed() -> None:
    with pytest.raises(BindingError) as e:
        binder().bind([Argument(None, "a", True, index=0), Argument("Count", "zz", True, index=1)],
                      has_pipeline_input=False)
    assert e.value.span_index == 1


def test_binder_defers_mandatory_checks_to_pipeline_input() -> None:
    b = CommandBinder(SetThing.spec)
    result = b.bind([], has_pipeline_input=True)
    got = b.bind_pipeline(result, 42)
    assert got.get("Value") == 42 and "Value" in got


def test_binder_by_value_is_strict_for_strings() -> None:
    b = CommandBinder(GetThing.spec)
    result = b.bind([], has_pipeline_input=True)
    obj = PSObject({"Name": "n"})
    got = b.bind_pipeline(result, obj)
    assert got.parameter_set == "ByName" and got.get("Name") == "n"
