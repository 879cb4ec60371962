"""The REPL's prompt driven by keystrokes through prompt_toolkit's pipe input (DummyOutput):
Tab takes a single match at once, Ctrl+R then Enter runs the found line, Escape keeps it for
editing; Tab completes job ids, job names and the members of a variable's value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from pjsh.engine import local_options
from pjsh.repl.app import build_session
from pjsh.repl.completer import PjshCompleter
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import Runspace, create_runspace
from tests.harness import run


@pytest.fixture
def runspace(tmp_path: Path) -> Runspace:
    """An interactive runspace in an empty directory holding one file with a space."""
    (tmp_path / "only file.txt").write_text("x")
    return create_runspace(local_options(MemoryHost(), interactive=True, cwd=str(tmp_path)))


@pytest.fixture
def pipe() -> Iterator[PipeInput]:
    """Keystrokes for the prompt."""
    with create_pipe_input() as p:
        yield p


def prompt(runspace: Runspace, pipe: PipeInput, keys: str,
           history: list[str] | None = None) -> str:
    """Type ``keys`` at the REPL's prompt; the line it submits."""
    past = InMemoryHistory()
    for line in history or []:
        past.append_string(line)
    session = build_session(runspace, past, input=pipe, output=DummyOutput())
    pipe.send_text(keys)
    return session.prompt("PS> ")


def test_a_single_quoted_path_match_is_taken_with_one_tab(runspace: Runspace,
                                                           pipe: PipeInput) -> None:
    assert prompt(runspace, pipe, "Get-Item on\t\r") == "Get-Item 'only file.txt'"


def test_a_second_tab_after_a_single_match_does_not_revert_it(runspace: Runspace,
                                                              pipe: PipeInput) -> None:
    assert prompt(runspace, pipe, "Get-Item on\t\t\r") == "Get-Item 'only file.txt'"


def test_ctrl_r_then_enter_runs_the_found_line(runspace: Runspace, pipe: PipeInput) -> None:
    line = prompt(runspace, pipe, "\x12Get-Da\r", ["Get-Date -Format yyyy", "ls"])
    assert line == "Get-Date -Format yyyy"


def test_escape_keeps_the_found_line_for_editing(runspace: Runspace, pipe: PipeInput) -> None:
    line = prompt(runspace, pipe, "\x12Get-Da\x1b MM\r", ["Get-Date -Format yyyy", "ls"])
    assert line == "Get-Date -Format yyyy MM"


# ------------------------------------------------------------------ job and member completion
def texts(runspace: Runspace, line: str) -> list[str]:
    """The texts completing the end of ``line``."""
    return [c.text for c in PjshCompleter(runspace.session).complete(line)]


@pytest.fixture
def with_jobs(runspace: Runspace) -> Runspace:
    """The runspace with two finished thread jobs, Job1 "build" and Job2 "test", in $j."""
    run("$j = Start-ThreadJob -Name build { 1 }; $k = Start-ThreadJob -Name test { 2 }; "
        "$j, $k | Wait-Job | Out-Null", runspace)
    return runspace


def test_job_ids_complete_for_id_and_positionally(with_jobs: Runspace) -> None:
    assert texts(with_jobs, "Receive-Job -Id ") == ["1", "2"]
    assert texts(with_jobs, "fg ") == ["1", "2"]
    assert texts(with_jobs, "Stop-Job 2") == ["2"]


def test_job_names_complete_for_name_and_bg(with_jobs: Runspace) -> None:
    assert texts(with_jobs, "Wait-Job -Name b") == ["build"]
    assert texts(with_jobs, "bg te") == ["test"]


def test_job_parameter_completes_a_get_job_expression(with_jobs: Runspace) -> None:
    assert texts(with_jobs, "Receive-Job -Job 2") == ["(Get-Job -Id 2)"]


def test_no_job_completion_starts_the_job_engine(runspace: Runspace) -> None:
    assert texts(runspace, "fg ") == []
    assert not runspace.session.has_jobs


def test_member_names_of_a_variable_complete(with_jobs: Runspace) -> None:
    assert texts(with_jobs, "$j.St") == ["State", "StatusMessage"]


def test_members_through_properties_and_constant_indexes(with_jobs: Runspace) -> None:
    run("$both = @($j, $k)", with_jobs)
    assert texts(with_jobs, "$both[1].Na") == ["Name"]
    assert texts(with_jobs, "$j.JobStateInfo.St") == ["State"]


def test_members_of_a_child_job(runspace: Runspace) -> None:
    run("$w = Start-Job { 1 }; $w | Wait-Job | Out-Null", runspace)
    assert "JobStateInfo" in texts(runspace, "$w.ChildJobs[0].")


def test_member_completion_never_calls_methods(runspace: Runspace) -> None:
    run("$calls = 0; $o = [pscustomobject]@{ Name = 'n' }", runspace)
    assert texts(runspace, "$o.GetType().") == []
    assert texts(runspace, "$o.Na") == ["Name"]


def test_parameter_values_resolve_prefixes_like_the_binder(with_jobs: Runspace) -> None:
    # `-Na` is a unique prefix of -Name for the binder, so its value completes job names.
    assert texts(with_jobs, "Get-Job -Na b") == ["build"]
