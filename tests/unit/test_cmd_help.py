"""Get-Help: help built from the parameter tables (views, one parameter, aliases, functions),
listings for patterns, the about_* topics, errors for unknown names, the help objects'
properties, the Markdown reference, and that every cmdlet's table carries help text."""

from __future__ import annotations

import io
import os
import re
import stat
from contextlib import redirect_stdout
from pathlib import Path
from typing import TypeVar

import pytest

from pjsh.commands.help import (
    HelpInfo,
    HelpSummary,
    ParameterHelp,
    markdown_reference,
    topic_names,
    topic_synopsis,
    topic_text,
    wrap_syntax,
)
from pjsh.commands.help import main as help_main
from pjsh.runtime.binder import COMMON_PARAMS
from pjsh.runtime.cmdlet import CommandSpec
from pjsh.runtime.runspace import Runspace
from pjsh.runtime.values import PSObject
from tests.harness import new_runspace, run, show

T = TypeVar("T")

NOT_FOUND = ('Get-Help could not find {0} in a help file in this session. To list the commands '
             'pjsh knows, type: "Get-Command". To list the help topics, type: "Get-Help about_*".')
BRIEF_TOPICS = ("about_pjsh", "about_Jobs", "about_Background_Operator", "about_Pipelines",
                "about_Parsing", "about_Redirection", "about_Operators", "about_Variables",
                "about_Error_Handling", "about_Scripts", "about_CommonParameters")


def registry_specs() -> list[CommandSpec]:
    """The spec of every cmdlet a session has."""
    return [cls.spec for cls in new_runspace().session.registry.commands.values()]


def outputs(kind: type[T], text: str, rs: Runspace | None = None) -> list[T]:
    """Run text that writes no errors and only ``kind`` objects; return them."""
    r = run(text, rs)
    assert r.messages == []
    assert all(isinstance(o, kind) for o in r.output), r.output
    return [o for o in r.output if isinstance(o, kind)]


def one(text: str, rs: Runspace | None = None) -> HelpInfo:
    """Run text that outputs one help object, without errors."""
    [info] = outputs(HelpInfo, text, rs)
    return info


# ---------------------------------------------------------------- a cmdlet's help

def test_default_view_has_pwsh_sections_and_the_syntax_from_the_table() -> None:
    text = show("Get-Help Get-Job").text
    assert text.startswith("\nNAME\n    Get-Job\n\nSYNOPSIS\n    Gets the background jobs of the "
                           "current session.\n\nSYNTAX\n    Get-Job [[-Id] <int[]>] ")
    assert "\nDESCRIPTION\n    Without parameters, every top-level job" in text
    assert "\nALIASES\n    gjb\n    jobs\n" in text
    assert ('REMARKS\n    To see the examples, type: "Get-Help Get-Job -Examples".\n'
            '    For more information, type: "Get-Help Get-Job -Detailed".\n'
            '    For technical information, type: "Get-Help Get-Job -Full".\n') in text
    assert "PARAMETERS" not in text and "EXAMPLES" not in text


def test_every_parameter_set_gets_a_syntax_line() -> None:
    info = one("Get-Help Get-Job")
    assert info.Syntax[0].startswith("Get-Job [[-Id] <int[]>] [-IncludeChildJob]")
    assert any(line.startswith("Get-Job [-Job] <Job[]>") for line in info.Syntax)
    assert any(line.startswith("Get-Job [-Name] <string[]>") for line in info.Syntax)
    assert all(line.endswith("[<CommonParameters>]") for line in info.Syntax)


def test_help_object_properties_are_readable_from_scripts() -> None:
    r = run("$h = Get-Help Wait-Job; $h.Synopsis; $h.Category; $h.Name; $h.ModuleName; "
            "$h.Aliases; $h.Examples[0].Code; $h.Parameters[0].Name")
    assert r.output == ["Waits until one or all of the given jobs are finished.", "Cmdlet",
                        "Wait-Job", "pjsh", "wjb", "Get-Job | Wait-Job", "Id"]


def test_out_string_gives_the_same_text_as_the_display() -> None:
    shown = show("Get-Help Stop-Job").text
    r = run("Get-Help Stop-Job | Out-String")
    assert r.output == [shown]
    assert str(one("Get-Help Stop-Job")) + "\n" == shown


def test_select_object_reads_help_properties() -> None:
    [selected] = outputs(PSObject, "Get-Help Get-Job | Select-Object Name, Category")
    assert (selected.get("Name"), selected.get("Category")) == ("Get-Job", "Cmdlet")


def test_full_view_lists_each_parameter_with_its_attributes() -> None:
    text = show("Get-Help Get-Job -Full").text
    block = text[text.index("    -Id <System.Int32[]>"):]
    block = block[:block.index("\n\n    -Job ")]
    assert block.splitlines() == [
        "    -Id <System.Int32[]>",
        "        Ids of the jobs.",
        "",
        "        Required?                    false",
        "        Position?                    0",
        "        Default value                None",
        "        Accept pipeline input?       True (ByPropertyName)",
        "        Parameter set name           SessionIdParameterSet",
        "        Aliases                      SessionId",
        "        Accept wildcard characters?  false",
    ]
    assert "    -Name <System.String[]>" in text
    assert "Accepted values: NotStarted, Running, Completed" in text
    assert "    <CommonParameters>\n        This cmdlet supports the common parameters: Verbose" in text
    assert "\nINPUTS\n    System.Management.Automation.Job\n" in text
    assert "\nOUTPUTS\n    System.Management.Automation.Job\n" in text
    assert "\nEXAMPLES\n" in text and "    PS > Get-Job -State Running" in text
    assert "REMARKS" not in text


def test_detailed_view_describes_parameters_without_the_attribute_table() -> None:
    text = show("Get-Help Receive-Job -Detailed").text
    assert "PARAMETERS\n    -Job <System.Management.Automation.Job[]>\n        The jobs to receive" in text
    assert "    -Keep [<SwitchParameter>]\n        Keep the results" in text
    assert "Required?" not in text
    assert "EXAMPLES" in text
    assert 'REMARKS\n    For technical information, type: "Get-Help Receive-Job -Full".' in text


def test_examples_view_shows_name_synopsis_and_examples_only() -> None:
    text = show("Get-Help Receive-Job -Examples").text
    assert text.startswith("\nNAME\n    Receive-Job\n\nSYNOPSIS\n    Gets the results of "
                           "background jobs.\n\n")
    assert "    -------------------------- Example 1 --------------------------\n\n" \
           "    PS > Receive-Job -Id 3 -Keep\n\n    Results so far, kept for later.\n" in text
    assert "PS > $j | Receive-Job -Wait -AutoRemoveJob" in text
    assert "SYNTAX" not in text and "PARAMETERS" not in text


def test_a_cmdlet_without_examples_says_so_in_the_examples_view() -> None:
    text = show("Get-Help Suspend-Job -Examples").text
    assert "There are no examples for Suspend-Job." in text


# ---------------------------------------------------------------- -Parameter

def test_parameter_shows_one_block_with_its_aliases() -> None:
    [ph] = outputs(ParameterHelp, "Get-Help Get-Job -Parameter Id")
    assert (ph.Name, ph.Type, ph.Required, ph.Position, ph.PipelineInput, ph.Aliases) == (
        "Id", "System.Int32[]", "false", "0", "True (ByPropertyName)", ["SessionId"])
    text = show("Get-Help Get-Job -Parameter Id").text
    assert text.startswith("-Id <System.Int32[]>\n    Ids of the jobs.\n")
    assert "    Aliases                      SessionId\n" in text


def test_parameter_reports_defaults_wildcards_and_pipeline_by_value() -> None:
    timeout, job, name = outputs(ParameterHelp, "Get-Help Wait-Job -Parameter Timeout, Job; "
                                                "Get-Help Get-Job -Parameter Name")
    assert (timeout.DefaultValue, timeout.Aliases) == ("-1", ["TimeoutSec"])
    assert job.PipelineInput == "True (ByValue, ByPropertyName)"
    assert name.Globbing == "true"


def test_parameter_merges_declarations_that_differ_between_sets() -> None:
    # Start-Job's -InitializationScript is one declaration for all sets; Remove-Job's -Force
    # is declared for five of its sets only.
    [force] = outputs(ParameterHelp, "Get-Help Remove-Job -Parameter Force")
    assert force.ParameterSetName.startswith("SessionIdParameterSet, JobParameterSet")
    assert force.Required == "false"


def test_parameter_accepts_wildcards_and_includes_the_common_parameters() -> None:
    found = outputs(ParameterHelp, "Get-Help Get-Job -Parameter *Action")
    assert [p.Name for p in found] == ["ErrorAction", "WarningAction", "InformationAction",
                                       "ProgressAction"]
    assert found[0].Aliases == ["ea"]
    assert [p.Name for p in outputs(ParameterHelp, "Get-Help Get-Job -Parameter AsJob")] == [
        "AsJob"]


def test_parameter_that_matches_nothing_is_an_error() -> None:
    r = run("Get-Help Get-Job -Parameter Nope")
    assert r.output == []
    assert r.messages == ["No parameter matches criteria Nope."]
    assert r.errors[0].FullyQualifiedErrorId == \
        "NoParmsFound,Microsoft.PowerShell.Commands.GetHelpCommand"


# ---------------------------------------------------------------- aliases and functions

def test_an_alias_resolves_to_its_command() -> None:
    assert one("Get-Help gjb").Name == "Get-Job"
    assert one("help rcjb").Name == "Receive-Job"  # `help` is Get-Help's alias


def test_man_is_not_an_alias_of_get_help() -> None:
    r = run("Get-Command man -CommandType Alias -ErrorAction SilentlyContinue")
    assert r.output == []


def test_function_help_shows_syntax_from_its_param_block() -> None:
    rs = new_runspace()
    run("function Get-Square { param([int]$Number = 2, [switch]$Negate, "
        "[Parameter(Mandatory)][string[]]$Tag) $Number * $Number }", rs)
    info = one("Get-Help Get-Square", rs)
    assert (info.Name, info.Category) == ("Get-Square", "Function")
    assert info.Syntax == ["Get-Square [[-Number] <int>] [-Tag] <string[]> [-Negate]"]
    assert info.Synopsis == info.Syntax[0]
    text = show("Get-Help Get-Square", rs).text
    assert text.startswith("\nNAME\n    Get-Square\n\nSYNTAX\n    Get-Square [[-Number] <int>]")
    assert "<CommonParameters>" not in text
    [number] = outputs(ParameterHelp, "Get-Help Get-Square -Parameter Number", rs)
    assert (number.Type, number.DefaultValue, number.Position) == ("int", "2", "0")
    r = run("Get-Help Get-Square -Parameter Verbose", rs)
    assert r.messages == ["No parameter matches criteria Verbose."]


def test_function_without_param_block_has_a_bare_syntax() -> None:
    rs = new_runspace()
    run("function hello { 'hi' }", rs)
    assert one("Get-Help hello", rs).Syntax == ["hello"]
    assert "\nPARAMETERS\n    None\n" in show("Get-Help hello -Full", rs).text


# ---------------------------------------------------------------- patterns and listings

def test_wildcard_lists_matches_as_name_category_synopsis() -> None:
    rows = outputs(HelpSummary, "Get-Help *-Job")
    names = [o.Name for o in rows]
    assert names == sorted(names, key=str.lower)
    assert {"Get-Job", "Receive-Job", "Start-Job", "Wait-Job"} <= set(names)
    row = next(o for o in rows if o.Name == "Get-Job")
    assert (row.Category, row.Synopsis) == ("Cmdlet", "Gets the background jobs of the current "
                                                      "session.")
    text = show("Get-Help *-Job").text
    assert re.search(r"^Name +Category Synopsis$", text, re.M)
    assert re.search(r"^Get-Job +Cmdlet +Gets the background jobs", text, re.M)


def test_listing_puts_aliases_first_and_names_their_target() -> None:
    rows = outputs(HelpSummary, "Get-Help *job*")
    categories = [o.Category for o in rows]
    assert categories == sorted(categories, key=["Alias", "Cmdlet", "Function",
                                                 "HelpFile"].index)
    assert (rows[0].Name, rows[0].Category, rows[0].Synopsis) == ("jobs", "Alias", "Get-Job")
    assert {"Get-Job", "about_Jobs"} <= {o.Name for o in rows}
    rows = outputs(HelpSummary, "Get-Help -Category Alias r*")
    assert {o.Category for o in rows} == {"Alias"}
    assert ("rcjb", "Receive-Job") in {(o.Name, o.Synopsis) for o in rows}


def test_pattern_with_one_match_shows_that_help() -> None:
    assert one("Get-Help Get-Jo*").Name == "Get-Job"
    info = one("Get-Help about_Jo*")
    assert (info.Name, info.Category) == ("about_Jobs", "HelpFile")


def test_category_filters_and_lists_without_a_name() -> None:
    rows = outputs(HelpSummary, "Get-Help -Category Cmdlet")
    assert {o.Category for o in rows} == {"Cmdlet"}
    assert len(rows) == len(registry_specs())
    rows = outputs(HelpSummary, "Get-Help * -Category HelpFile")
    assert [o.Name for o in rows] == topic_names()


def test_category_is_validated_against_pwsh_names() -> None:
    r = run("Get-Help x -Category Nope")
    assert r.messages[0].startswith("Cannot validate argument on parameter 'Category'. The "
                                    'argument "Nope" does not belong to the set "Alias,Cmdlet,')
    assert run("Get-Help Get-Job -Category Provider").messages == [NOT_FOUND.format("Get-Job")]


# ---------------------------------------------------------------- topics

def test_about_topic_prints_its_text() -> None:
    info = one("Get-Help about_Jobs")
    assert (info.Name, info.Category) == ("about_Jobs", "HelpFile")
    assert info.Synopsis == ("How pjsh runs commands in the background as jobs, and how to get "
                             "their results.")
    text = show("Get-Help about_jobs").text  # topic names are case-insensitive
    assert text == "\n" + topic_text("about_Jobs").rstrip("\n") + "\n\n"


def test_about_star_lists_every_topic() -> None:
    rows = outputs(HelpSummary, "Get-Help about_*")
    assert [o.Name for o in rows] == topic_names()
    assert set(BRIEF_TOPICS) <= set(topic_names())
    assert all(o.Category == "HelpFile" and o.Synopsis for o in rows)


def test_every_topic_has_a_short_description_and_is_listed_in_the_overview() -> None:
    overview = topic_text("about_pjsh")
    for name in topic_names():
        text = topic_text(name)
        assert text.startswith(f"# {name}\n"), name
        assert topic_synopsis(text), name
        if name != "about_pjsh":
            assert name in overview, name


def test_common_parameters_topic_covers_the_binders_table() -> None:
    text = topic_text("about_CommonParameters")
    for p in COMMON_PARAMS:
        assert f"-{p.name} (-{p.aliases[0]})" in text, p.name
    assert "-AsJob" in text


def test_bare_get_help_shows_the_overview() -> None:
    info = one("Get-Help")
    assert info.Name == "about_pjsh"
    assert "Get-Help about_*" in str(info)


def test_a_name_that_is_no_command_or_topic_lists_the_help_that_mentions_it() -> None:
    # "spill" is only in about_Jobs: one match shows the topic, as pwsh's content search does.
    assert one("Get-Help spill").Name == "about_Jobs"
    rows = outputs(HelpSummary, "Get-Help SIGSTOP")
    assert {o.Name for o in rows} >= {"Suspend-Job", "about_Jobs"}


# ---------------------------------------------------------------- errors

def test_unknown_name_is_pwshs_error_with_pjshs_next_steps() -> None:
    r = run("Get-Help NoSuchThing; $?")
    assert r.messages == [NOT_FOUND.format("NoSuchThing")]
    assert r.output == [False]
    err = r.errors[0]
    assert err.FullyQualifiedErrorId == "HelpNotFound,Microsoft.PowerShell.Commands.GetHelpCommand"
    assert err.CategoryInfo.Category == "ResourceUnavailable"
    assert run("Get-Help NoSuch*").messages == [NOT_FOUND.format("NoSuch*")]


def test_native_program_points_at_man(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prog = tmp_path / "pjshtestprog"
    prog.write_text("#!/bin/sh\n")
    prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    r = run("Get-Help pjshtestprog")
    assert r.messages == [f"pjshtestprog is a native program ({prog}), not a pjsh command, so "
                          'pjsh has no help for it. Try "man pjshtestprog" or "pjshtestprog '
                          '--help".']


def test_online_and_show_window_are_refused_clearly() -> None:
    r = run("Get-Help Get-Job -Online; 'after'")
    assert r.messages == ['The -Online parameter is not supported in pjsh: it has no online '
                          'help. Use "Get-Help <name> -Full" instead.']
    assert r.output == ["after"]  # statement-terminating
    r = run("Get-Help Get-Job -ShowWindow")
    assert r.messages[0].startswith("The -ShowWindow parameter is not supported in pjsh")


def test_views_are_mutually_exclusive_parameter_sets() -> None:
    r = run("Get-Help Get-Job -Full -Examples")
    assert r.output == []
    assert r.messages == ["Parameter set cannot be resolved using the specified named "
                          "parameters. One or more parameters issued cannot be used together "
                          "or an insufficient number of parameters were provided."]


# ---------------------------------------------------------------- the tables themselves

def test_every_cmdlet_has_a_summary_and_every_parameter_help_text() -> None:
    missing = [spec.name for spec in registry_specs() if not spec.summary.strip()]
    missing += [f"{spec.name} -{p.name}" for spec in registry_specs() for p in spec.params
                if not p.help.strip()]
    missing += [f"common -{p.name}" for p in COMMON_PARAMS if not p.help.strip()]
    assert missing == []


def test_every_cmdlet_renders_in_every_view() -> None:
    for spec in registry_specs():
        for view in ("", " -Full", " -Detailed", " -Examples"):
            assert one(f"Get-Help {spec.name}{view}").Name == spec.name, view


def test_syntax_wraps_between_parameters() -> None:
    lines = wrap_syntax("Get-Job [[-Id] <int[]>] [-IncludeChildJob] [-HasMoreData <bool>] "
                        "[-Before <datetime>] [-After <datetime>] [<CommonParameters>]", width=50)
    assert lines == ["    Get-Job [[-Id] <int[]>] [-IncludeChildJob]",
                     "        [-HasMoreData <bool>] [-Before <datetime>]",
                     "        [-After <datetime>] [<CommonParameters>]"]


# ---------------------------------------------------------------- the Markdown reference

def test_markdown_reference_has_one_section_per_cmdlet_in_name_order() -> None:
    registry = new_runspace().session.registry
    md = markdown_reference(registry)
    headings = re.findall(r"^## (.+)$", md, re.M)
    names = sorted((cls.spec.name for cls in registry.commands.values()), key=str.lower)
    assert headings == ["Common parameters", *names]
    section = md[md.index("## Get-Job\n"):md.index("## Get-Location\n")]
    assert "Gets the background jobs of the current session." in section
    assert "Aliases: `gjb`, `jobs`" in section
    assert "```\nGet-Job [[-Id] <int[]>] [-IncludeChildJob]" in section
    assert ("| `-Id` | int\\[\\] | 0 | false | ByPropertyName | -SessionId | Ids of the jobs. |"
            in section)
    assert "```powershell\nGet-Job -State Running\n```\n\nRunning jobs." in section
    assert "| `-ErrorAction` | ActionPreference | -ea |" in md


def test_markdown_main_prints_the_reference() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert help_main(["--markdown"]) == 0
    assert out.getvalue().startswith("# pjsh cmdlet reference\n")
    assert "\n## Start-Job\n" in out.getvalue()


def test_markdown_main_refuses_other_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert help_main([]) == 2
    assert "usage: python -m pjsh.commands.help --markdown" in capsys.readouterr().err


def test_command_infos_pipe_into_get_help_by_name() -> None:
    infos = outputs(HelpInfo, "Get-Command Get-Job, gjb | Get-Help")
    assert [i.Name for i in infos] == ["Get-Job", "Get-Job"]


def test_an_engine_without_its_help_data_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import pjsh.commands.help as help_module

    # As on a remote host that received the engine packages only.
    monkeypatch.setattr(help_module, "_TOPIC_PACKAGE", "pjsh.no_such_help_package")
    assert topic_names() == []
    assert one("Get-Help").Name == "Get-Help"
    assert run("Get-Help about_Nothing*").messages == [NOT_FOUND.format("about_Nothing*")]
