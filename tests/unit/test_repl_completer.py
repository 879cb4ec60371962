"""Tab completion reads the context from pjsh's tokens and its data from the session."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from pjsh.engine import local_options
from pjsh.repl.completer import PjshCompleter, analyze, quote_path
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import Runspace, create_runspace


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A working directory with files, directories, a hidden file and a name with a space."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "alpha.txt").write_text("a")
    (work / "beta.log").write_text("b")
    (work / "My Dir").mkdir()
    (work / "sub").mkdir()
    (work / "sub" / "inner.txt").write_text("i")
    (work / ".hidden").write_text("h")
    (work / "Upper.md").write_text("u")
    return work


@pytest.fixture
def runspace(tree: Path, tmp_path: Path) -> Runspace:
    """A runspace in ``tree`` whose PATH holds one fake executable and HOME a known folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "pjshtool-frobnicate"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "pjshtool-notexec").write_text("data")
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    env = dict(os.environ, PATH=str(bin_dir), HOME=str(home), PJSH_TEST_VAR="1")
    return create_runspace(local_options(MemoryHost(), cwd=str(tree), env=env))


@pytest.fixture
def completer(runspace: Runspace) -> PjshCompleter:
    """A completer over the runspace's session."""
    return PjshCompleter(runspace.session)


def texts(completer: PjshCompleter, line: str) -> list[str]:
    """The texts completing the end of ``line``."""
    return [c.text for c in completer.complete(line)]


# ------------------------------------------------------------------ context from tokens
@pytest.mark.parametrize(("line", "kind", "word"), [
    ("Get-Ch", "command", "Get-Ch"),
    ("Get-ChildItem | Where-O", "command", "Where-O"),
    ("$x = Get-Ch", "command", "Get-Ch"),
    ("Get-ChildItem\nGet-Lo", "command", "Get-Lo"),
    ("Get-ChildItem -Fi", "parameter", "-Fi"),
    ("Get-ChildItem -", "parameter", "-"),
    ("Write-Host -ForegroundColor R", "value", "R"),
    ("Write-Host -ForegroundColor ", "value", ""),
    ("Write-Host -ForegroundColor:R", "value", "R"),
    ("Write-Host -ForegroundColor:", "value", ""),
    ("echo $fo", "variable", "$fo"),
    ("$", "variable", "$"),
    ("cat 'My D", "path", "'My D"),
    ("Get-Content al", "path", "al"),
])
def test_context_comes_from_the_parser_tokens(line: str, kind: str, word: str) -> None:
    ctx = analyze(line)
    assert (ctx.kind, ctx.word) == (kind, word)
    assert ctx.start == len(line) - len(word)


def test_parameter_context_finds_the_command_past_nested_groups() -> None:
    ctx = analyze("Get-ChildItem -Path (Get-Location) -Fi")
    assert ctx.kind == "parameter"
    assert ctx.command == "Get-ChildItem"


def test_parameter_context_belongs_to_the_current_pipeline_element() -> None:
    assert analyze("Get-ChildItem -Path x | Sort-Object -Des").command == "Sort-Object"


def test_backtick_continued_line_stays_in_the_same_command() -> None:
    ctx = analyze("Get-ChildItem `\n  -Fi")
    assert (ctx.kind, ctx.command) == ("parameter", "Get-ChildItem")


# ------------------------------------------------------------------ commands
def test_command_names_complete_case_insensitively(completer: PjshCompleter) -> None:
    assert texts(completer, "get-childi") == ["Get-ChildItem"]


def test_command_names_include_aliases_functions_and_path_executables(
        completer: PjshCompleter, runspace: Runspace) -> None:
    runspace.run("function Get-Frobnicator { 'x' }")
    runspace.session.aliases["frobalias"] = "Get-ChildItem"
    assert "Get-Frobnicator" in texts(completer, "Get-Frob")
    assert texts(completer, "frob") == ["frobalias"]
    assert "gci" in texts(completer, "gc")
    assert texts(completer, "pjshtool-") == ["pjshtool-frobnicate"]


def test_command_completion_shows_what_each_name_is(completer: PjshCompleter) -> None:
    metas = {c.text: c.display_meta_text for c in completer.complete("gc")}
    assert metas["gci"] == "alias → Get-ChildItem"
    tool = completer.complete("pjshtool-f")[0]
    assert tool.display_meta_text.endswith("/pjshtool-frobnicate")


def test_command_wildcard_matches_like_pwsh(completer: PjshCompleter) -> None:
    assert "Get-Location" in texts(completer, "*-Location")


def test_command_position_with_a_path_completes_files(completer: PjshCompleter) -> None:
    assert texts(completer, "./s") == ["./sub/"]


# ------------------------------------------------------------------ parameters
def test_parameters_complete_from_the_cmdlet_table_with_help(completer: PjshCompleter) -> None:
    found = {c.text: c.display_meta_text for c in completer.complete("Get-ChildItem -Fi")}
    assert set(found) == {"-Filter", "-File"}
    assert all(found.values())  # each shows the parameter's help text


def test_common_parameters_are_offered_on_every_cmdlet(completer: PjshCompleter) -> None:
    assert texts(completer, "Write-Output -ErrorA") == ["-ErrorAction"]
    assert "-OutVariable" in texts(completer, "Write-Output -Out")


def test_parameters_of_an_alias_are_its_cmdlets(completer: PjshCompleter) -> None:
    assert texts(completer, "gci -Rec") == ["-Recurse"]


def test_parameters_of_a_script_function(completer: PjshCompleter, runspace: Runspace) -> None:
    runspace.run("function Invoke-Thing { param($Alpha, [switch]$Beta) }")
    assert texts(completer, "Invoke-Thing -") == ["-Alpha", "-Beta"]


def test_native_commands_get_no_parameter_guesses(completer: PjshCompleter) -> None:
    assert texts(completer, "pjshtool-frobnicate --ver") == []


# ------------------------------------------------------------------ parameter values
def test_enum_parameter_values_complete_from_the_type_choices(completer: PjshCompleter) -> None:
    assert texts(completer, "Write-Host x -ForegroundColor DarkG") == ["DarkGreen", "DarkGray"]
    assert texts(completer, "Write-Host x -ForegroundColor:ye") == ["Yellow"]


def test_enum_values_after_an_abbreviated_parameter(completer: PjshCompleter) -> None:
    assert texts(completer, "Write-Output 1 -ErrorAction S") == [
        "SilentlyContinue", "Stop", "Suspend"]
    assert texts(completer, "Write-Output 1 -ea Ig") == ["Ignore"]


def test_a_switch_takes_no_value_so_the_next_word_is_a_path(completer: PjshCompleter) -> None:
    assert texts(completer, "Get-ChildItem -Recurse al") == ["alpha.txt"]


# ------------------------------------------------------------------ variables
def test_variables_complete_from_the_session_scope(completer: PjshCompleter,
                                                   runspace: Runspace) -> None:
    runspace.run("$myCounter = 1; $myName = 'x'")
    assert texts(completer, "echo $my") == ["$myCounter", "$myName"]


def test_automatic_variables_are_offered(completer: PjshCompleter) -> None:
    assert texts(completer, "$LASTEX") == ["$LASTEXITCODE"]
    assert "$PSItem" in texts(completer, "$PSI")


def test_environment_variables_complete_after_env_drive(completer: PjshCompleter) -> None:
    assert texts(completer, "$env:PJSH_TEST") == ["$env:PJSH_TEST_VAR"]
    assert "$env:" in texts(completer, "$en")


def test_scope_qualified_variables(completer: PjshCompleter, runspace: Runspace) -> None:
    runspace.run("$shared = 1")
    assert texts(completer, "$global:sha") == ["$global:shared"]


# ------------------------------------------------------------------ paths
def test_paths_relative_to_the_session_directory(completer: PjshCompleter) -> None:
    assert texts(completer, "Get-Content ") == ["alpha.txt", "beta.log", "'My Dir/'", "sub/",
                                                "Upper.md"]


def test_directories_get_a_trailing_slash_and_nest(completer: PjshCompleter) -> None:
    assert texts(completer, "Get-Content su") == ["sub/"]
    assert texts(completer, "Get-Content sub/") == ["sub/inner.txt"]


def test_names_with_spaces_are_quoted(completer: PjshCompleter) -> None:
    assert texts(completer, "cd My") == ["'My Dir/'"]
    assert texts(completer, 'cd "My') == ['"My Dir/"']
    assert texts(completer, "cd 'My D") == ["'My Dir/'"]


def test_hidden_files_only_when_asked_for(completer: PjshCompleter) -> None:
    assert ".hidden" not in texts(completer, "cat ")
    assert texts(completer, "cat .h") == [".hidden"]


def test_case_insensitive_fallback_when_nothing_matches_exactly(completer: PjshCompleter) -> None:
    assert texts(completer, "cat up") == ["Upper.md"]


def test_tilde_expands_to_the_home_directory(completer: PjshCompleter) -> None:
    assert texts(completer, "cd ~") == ["~/"]
    assert texts(completer, "cd ~/Doc") == ["~/Documents/"]


def test_absolute_paths(completer: PjshCompleter, tree: Path) -> None:
    assert texts(completer, f"cat {tree}/be") == [f"{tree}/beta.log"]


def test_directory_parameters_offer_only_directories(completer: PjshCompleter) -> None:
    # Set-Location's -Path is declared with completer="directory".
    assert texts(completer, "Set-Location -Path ") == ["'My Dir/'", "sub/"]


def test_command_parameters_offer_command_names(completer: PjshCompleter) -> None:
    # Get-Command's -Name is declared with completer="command".
    assert texts(completer, "Get-Command -Name Get-ChildI") == ["Get-ChildItem"]


def test_quote_path_escapes_quotes_of_its_own_kind() -> None:
    assert quote_path("plain.txt") == "plain.txt"
    assert quote_path("it's") == "'it''s'"
    assert quote_path('a "b" $c', '"') == '"a `"b`" `$c"'


# ------------------------------------------------------------------ prompt_toolkit API
def test_get_completions_uses_text_before_the_cursor(completer: PjshCompleter) -> None:
    line = "Get-ChildI | Sort-Object"
    doc = Document(line, cursor_position=len("Get-ChildI"))
    found = list(completer.get_completions(doc, CompleteEvent(completion_requested=True)))
    assert [c.text for c in found] == ["Get-ChildItem"]
    assert found[0].start_position == -len("Get-ChildI")


def test_completions_replace_the_whole_word_including_its_quote(completer: PjshCompleter) -> None:
    doc = Document("cat 'My D")
    found = list(completer.get_completions(doc, CompleteEvent(completion_requested=True)))
    assert found[0].start_position == -len("'My D")
    assert found[0].display_text == "My Dir/"


def test_executable_cache_notices_new_programs(completer: PjshCompleter,
                                               runspace: Runspace) -> None:
    assert texts(completer, "pjshtool-n") == []
    bin_dir = runspace.session.env["PATH"]
    new_tool = os.path.join(bin_dir, "pjshtool-new")
    with open(new_tool, "w") as fh:
        fh.write("#!/bin/sh\n")
    os.chmod(new_tool, 0o755)
    # The directory's mtime changed, so the cached listing is rebuilt.
    os.utime(bin_dir, ns=(os.stat(bin_dir).st_atime_ns, os.stat(bin_dir).st_mtime_ns + 10**9))
    assert texts(completer, "pjshtool-n") == ["pjshtool-new"]
