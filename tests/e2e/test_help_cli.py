"""Get-Help through the installed pjsh (cmdlet help, topics read from the installed package
data, the unknown-name error and its exit status) and the Markdown reference generator run
as ``python -m pjsh.commands.help --markdown``."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.e2e.test_cli import command, pjsh_env, script


def test_get_help_start_job_prints_pwshs_layout() -> None:
    r = command("Get-Help Start-Job")
    assert (r.stderr, r.returncode) == ("", 0)
    assert r.stdout.startswith("\nNAME\n    Start-Job\n\nSYNOPSIS\n    Starts a background job "
                               "that runs in a separate process.\n\nSYNTAX\n    Start-Job "
                               "[-ScriptBlock] <scriptblock>\n"
                               "        [[-InitializationScript] <scriptblock>] ")
    assert "\nALIASES\n    sajb\n" in r.stdout
    assert 'To see the examples, type: "Get-Help Start-Job -Examples".' in r.stdout


def test_help_text_pipes_to_native_commands_as_lines() -> None:
    r = command("Get-Help Get-Job -Parameter Id | grep Aliases")
    assert (r.stdout, r.stderr, r.returncode) == (
        "    Aliases                      SessionId\n", "", 0)


def test_about_topic_comes_from_the_installed_package() -> None:
    r = command("Get-Help about_Jobs")
    assert (r.stderr, r.returncode) == ("", 0)
    assert r.stdout.startswith("\n# about_Jobs\n\n## Short description\n")
    assert "Receive-Job" in r.stdout


def test_topic_listing_in_scripted_mode() -> None:
    r = script("Get-Help about_* | ForEach-Object Name\n")
    assert r.returncode == 0
    names = r.stdout.split()
    assert "about_Jobs" in names and "about_pjsh" in names


def test_unknown_name_fails_with_the_help_not_found_message() -> None:
    r = command("Get-Help NoSuchThing")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == ('Get-Help: Get-Help could not find NoSuchThing in a help file in this '
                        'session. To list the commands pjsh knows, type: "Get-Command". To list '
                        'the help topics, type: "Get-Help about_*".\n')


def test_markdown_generator_prints_the_cmdlet_reference() -> None:
    proc = subprocess.run([sys.executable, "-m", "pjsh.commands.help", "--markdown"],
                          capture_output=True, text=True, env=pjsh_env(), timeout=60,
                          check=False)
    assert (proc.stderr, proc.returncode) == ("", 0)
    md = proc.stdout
    assert md.startswith("# pjsh cmdlet reference\n")
    headings = re.findall(r"^## (.+)$", md, re.M)
    assert headings[0] == "Common parameters"
    assert headings[1:] == sorted(headings[1:], key=str.lower)
    assert {"Get-Help", "Get-Job", "Receive-Job", "Start-Job", "Wait-Job"} <= set(headings)
    section = md[md.index("## Start-Job\n"):]
    section = section[:section.index("\n## ", 1)]
    assert "### Syntax\n\n```\nStart-Job [-ScriptBlock] <scriptblock>" in section
    assert "| `-ArgumentList` | Object\\[\\] | named | false |  | -Args, -Arguments |" in section


def test_markdown_generator_needs_its_flag() -> None:
    proc = subprocess.run([sys.executable, "-m", "pjsh.commands.help"], capture_output=True,
                          text=True, env=pjsh_env(), timeout=60, check=False)
    assert (proc.stdout, proc.returncode) == ("", 2)
    assert "usage: python -m pjsh.commands.help --markdown" in proc.stderr
