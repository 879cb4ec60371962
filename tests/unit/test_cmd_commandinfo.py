"""Get-Command and syntax lines: what is found, in which order, how aliases, functions and PATH
executables look, and the syntax text built from a parameter table."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

import pjsh.commands.objects
import pjsh.commands.output  # registers the cmdlets the tests look up
from pjsh.commands.commandinfo import (
    AliasInfo,
    ApplicationInfo,
    CmdletInfo,
    FunctionInfo,
    GetCommand,
    syntax_lines,
    type_display_name,
)
from pjsh.runtime.cmdlet import CommandSpec, Param
from pjsh.runtime.convert import INT, INTS, STRING, STRINGS, SWITCH, enum_type
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import Session
from pjsh.runtime.values import type_names
from tests.fakes import FakeContext, fake_session, run_cmdlet
from tests.harness import run, show

JOB_STATE = enum_type("System.Management.Automation.JobState", ("Running", "Completed"))

SPEC = CommandSpec(
    name="Get-Thing",
    default_set="ById",
    params=(
        Param("Id", INTS, position=0, sets=("ById",)),
        Param("Name", STRINGS, position=0, mandatory=True, sets=("ByName",)),
        Param("State", JOB_STATE, sets=("ById",)),
        Param("Force", SWITCH),
        Param("Count", INT, mandatory=True, sets=("ByName",)),
        Param("Confirm", SWITCH, mandatory=True, sets=("ByName",)),
        Param("Label", STRING, position=1),
    ),
)


def gcm(session: Session | None = None, **params: object) -> FakeContext:
    """Run Get-Command with the given parameters."""
    return run_cmdlet(GetCommand, params=params, session=session)


def make_executable(path: Path) -> Path:
    """Write a tiny executable script."""
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# ------------------------------------------------------------------------------ syntax lines


def test_syntax_lines_follow_pwsh_conventions() -> None:
    assert syntax_lines(SPEC) == [
        "Get-Thing [[-Id] <int[]>] [[-Label] <string>] [-State {Running | Completed}] [-Force] "
        "[<CommonParameters>]",
        "Get-Thing [-Name] <string[]> [[-Label] <string>] [-Force] -Count <int> -Confirm "
        "[<CommonParameters>]",
    ]


def test_syntax_without_parameter_sets_is_one_line() -> None:
    spec = CommandSpec(name="Do-It", params=(Param("Path", STRING, position=0, mandatory=True),))
    assert syntax_lines(spec) == ["Do-It [-Path] <string> [<CommonParameters>]"]


def test_type_display_names() -> None:
    assert type_display_name("System.Int32[]") == "int[]"
    assert type_display_name("System.Management.Automation.ScriptBlock") == "scriptblock"
    assert type_display_name("System.Object") == "Object"
    assert type_display_name("Microsoft.PowerShell.Commands.Foo") == "Foo"


def test_real_cmdlet_syntax_lines() -> None:
    (line,) = syntax_lines(pjsh.commands.objects.SortObject.spec)[:1]
    assert line.startswith("Sort-Object [[-Property] <Object[]>] [-InputObject <psobject>]")
    where = syntax_lines(pjsh.commands.objects.WhereObject.spec)
    assert where[0] == ("Where-Object [-Property] <string> [[-Value] <Object>] "
                        "[-InputObject <psobject>] [-EQ] [<CommonParameters>]")
    assert "Where-Object [-FilterScript] <scriptblock> [-InputObject <psobject>] " \
           "[<CommonParameters>]" in where


# ------------------------------------------------------------------------------ Get-Command


def test_get_command_lists_aliases_then_cmdlets_sorted_by_name() -> None:
    out = gcm().output
    kinds = [o.CommandType for o in out]
    assert kinds == sorted(kinds, key=["Alias", "Function", "Cmdlet"].index)
    cmdlets = [o.Name for o in out if o.CommandType == "Cmdlet"]
    assert cmdlets == sorted(cmdlets, key=str.lower)
    assert "Where-Object" in cmdlets and "Get-Command" in cmdlets
    assert not any(isinstance(o, ApplicationInfo) for o in out)


def test_get_command_cmdlet_info() -> None:
    (info,) = gcm(Name=["get-command"]).output
    assert isinstance(info, CmdletInfo)
    assert info.Name == "Get-Command" and info.CommandType == "Cmdlet"
    assert (info.Verb, info.Noun, info.Source) == ("Get", "Command", "pjsh")
    assert "Name" in info.Parameters and "ErrorAction" in info.Parameters
    # Two parameter sets, the default (verbs and nouns) first, as in PowerShell.
    assert info.Definition.startswith("Get-Command [-Verb <string[]>] [-Noun <string[]>]")
    assert "Get-Command [[-Name] <string[]>] [-CommandType" in info.Definition
    assert type_names(info)[:2] == ["System.Management.Automation.CmdletInfo",
                                    "System.Management.Automation.CommandInfo"]


def test_get_command_alias_resolves_and_displays_with_an_arrow() -> None:
    (info,) = gcm(Name=["gcm"]).output
    assert isinstance(info, AliasInfo)
    assert info.Definition == "Get-Command"
    assert info.DisplayName == "gcm -> Get-Command"
    assert isinstance(info.ResolvedCommand, CmdletInfo)
    assert info.ResolvedCommandName == "Get-Command"


def test_get_command_user_alias_and_function() -> None:
    session = fake_session(host=MemoryHost())
    body = SimpleNamespace(params=[SimpleNamespace(name="Path", type_name="string",
                                                   mandatory=True, position=None, switch=False),
                                   SimpleNamespace(name="Force", type_name=None,
                                                   mandatory=False, position=None, switch=True)])
    session.functions["Get-Stuff"] = SimpleNamespace(name="Get-Stuff", body=body,
                                                     text="function Get-Stuff { 1 }")
    session.aliases["gs"] = "Get-Stuff"
    (fn,) = gcm(session, Name=["get-stuff"]).output
    assert isinstance(fn, FunctionInfo)
    assert fn.CommandType == "Function" and fn.Verb == "Get"
    assert list(fn.Parameters.keys()) == ["Path", "Force"]
    assert fn.syntax() == "\nGet-Stuff [-Path] <string> [-Force]\n"
    (alias,) = gcm(session, Name=["gs"]).output
    assert isinstance(alias, AliasInfo) and isinstance(alias.ResolvedCommand, FunctionInfo)


def test_get_command_wildcards_filter_names() -> None:
    out = gcm(Name=["*-Object"], CommandType=["Cmdlet"]).output
    got = {o.Name for o in out}
    assert {"Where-Object", "Select-Object", "Sort-Object"} <= got
    assert all(name.endswith("-Object") for name in got)


def test_get_command_unknown_name_is_an_error_but_no_wildcard_match_is_not() -> None:
    ctx = gcm(Name=["no-such-command-xyz"])
    assert ctx.output == []
    (error,) = ctx.errors
    assert error.message.startswith(
        "The term 'no-such-command-xyz' is not recognized as a name of a cmdlet, function, "
        "script file, or executable program.")
    assert error.FullyQualifiedErrorId == "CommandNotFoundException"
    assert error.CategoryInfo.Category == "ObjectNotFound"
    ctx = gcm(Name=["no-such-*-xyz"])
    assert ctx.output == [] and ctx.errors == []


def test_get_command_finds_executables_on_path(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    make_executable(first / "pjshtool")
    make_executable(second / "pjshtool")
    (first / "notexec").write_text("x")
    monkeypatch.setenv("PATH", os.pathsep.join([str(first), str(second)]))
    (info,) = gcm(Name=["pjshtool"]).output
    assert isinstance(info, ApplicationInfo)
    assert info.CommandType == "Application"
    assert info.Source == info.Path == str(first / "pjshtool")
    assert [o.Source for o in gcm(Name=["pjshtool"], All=True).output] == [
        str(first / "pjshtool"), str(second / "pjshtool")]
    assert [o.Name for o in gcm(Name=["pjsh*"], CommandType=["Application"]).output] == [
        "pjshtool"]
    assert gcm(Name=["notexec"]).errors


def test_get_command_finds_a_command_by_path(tmp_path: Path) -> None:
    tool = make_executable(tmp_path / "run.sh")
    session = fake_session(host=MemoryHost(), cwd=str(tmp_path))
    (info,) = gcm(session, Name=["./run.sh"]).output
    assert info.Definition == str(tool)


def test_get_command_command_type_and_all_types() -> None:
    aliases = gcm(CommandType=["Alias"]).output
    assert aliases and all(isinstance(a, AliasInfo) for a in aliases)
    with_all = gcm(Name=["Get-Command"], CommandType=["All"]).output
    assert [o.Name for o in with_all] == ["Get-Command"]


def test_get_command_verb_noun_parameter_name_and_total_count() -> None:
    writes = [o.Name for o in gcm(Verb=["Write"]).output]
    assert "Write-Output" in writes and all(n.startswith("Write-") for n in writes)
    objects = [o.Name for o in gcm(Noun=["Object"]).output]
    assert "Where-Object" in objects and all(n.endswith("-Object") for n in objects)
    with_param = [o.Name for o in gcm(Name=["*-Object"], CommandType=["Cmdlet"],
                                      ParameterName=["ExpandProperty"]).output]
    assert with_param == ["Select-Object"]
    assert len(gcm(TotalCount=2).output) == 2


def test_get_command_syntax_of_cmdlet_and_alias() -> None:
    (text,) = gcm(Name=["Sort-Object"], Syntax=True).output
    assert text.startswith("\nSort-Object [[-Property] <Object[]>]")
    assert "\n\nSort-Object [[-Property] <Object[]>] [-InputObject <psobject>] [-Descending]" \
           in text
    (alias_text,) = gcm(Name=["where"], Syntax=True).output
    assert alias_text.startswith("where (alias) -> Where-Object\n\nWhere-Object [-Property]")


def test_question_mark_is_a_wildcard_for_get_command() -> None:
    names = {o.Name for o in gcm(Name=["?"]).output}
    assert {"%", "?"} <= names


# ------------------------------------------------------------------------------ through the engine


def test_engine_get_command_table_on_the_host() -> None:
    text = show("gcm Where-Object").text
    assert "CommandType     Name" in text
    assert "Cmdlet          Where-Object" in text


def test_engine_get_command_of_a_script_function() -> None:
    result = run('function f { param([string]$Path, [switch]$Force) "x" }; '
                 "Get-Command f -Syntax; (Get-Command f).Definition")
    assert result.output == ["\nf [[-Path] <string>] [-Force]\n",
                             ' param([string]$Path, [switch]$Force) "x" ']


def test_engine_get_command_unknown_name_error_display() -> None:
    (error,) = run("Get-Command nope-nope").errors
    assert error.describe().startswith(
        "Get-Command: The term 'nope-nope' is not recognized as a name of a cmdlet")


def test_engine_get_command_names_and_verbs_are_different_parameter_sets() -> None:
    mixed = run("Get-Command -Name Get-Job -Verb Get")
    assert mixed.output == []
    (error,) = mixed.errors
    assert "Parameter set cannot be resolved" in str(error)
    by_verb = run("Get-Command -Verb Receive -Noun Job")
    assert [c.Name for c in by_verb.output] == ["Receive-Job"]
    assert [c.Name for c in run("Get-Command Receive-Job").output] == ["Receive-Job"]
