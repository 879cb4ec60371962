"""Get-Location, Set-Location, Push-Location and Pop-Location against real directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pjsh.commands import builtin_registry
from pjsh.commands.location import GetLocation, PathInfo, PopLocation, PushLocation, SetLocation
from pjsh.runtime.errors import PSRuntimeError
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import Session
from tests.fakes import fake_session, run_cmdlet


@pytest.fixture()
def session(tmp_path: Path) -> Session:
    (tmp_path / "alpha").mkdir()
    (tmp_path / "alpha" / "inner").mkdir()
    (tmp_path / "beta").mkdir()
    (tmp_path / "file.txt").write_text("x")
    return fake_session(host=MemoryHost(), cwd=str(tmp_path))


def test_get_location_outputs_a_pathinfo_whose_string_is_the_path(session: Session) -> None:
    ctx = run_cmdlet(GetLocation, session=session)
    [info] = ctx.output
    assert isinstance(info, PathInfo)
    assert info.Path == session.cwd
    assert str(info) == session.cwd
    assert info.ps_type_names[0] == "System.Management.Automation.PathInfo"


def test_set_location_moves_relative_to_the_logical_cwd_not_the_process(session: Session,
                                                                        tmp_path: Path) -> None:
    before = os.getcwd()
    run_cmdlet(SetLocation, {"Path": "alpha"}, session=session)
    assert session.cwd == str(tmp_path / "alpha")
    run_cmdlet(SetLocation, {"Path": "inner"}, session=session)
    assert session.cwd == str(tmp_path / "alpha" / "inner")
    run_cmdlet(SetLocation, {"Path": "../.."}, session=session)
    assert session.cwd == str(tmp_path)
    assert os.getcwd() == before


def test_set_location_dash_returns_to_the_previous_location(session: Session,
                                                            tmp_path: Path) -> None:
    run_cmdlet(SetLocation, {"Path": "beta"}, session=session)
    assert session.previous_location == str(tmp_path)
    run_cmdlet(SetLocation, {"Path": "-"}, session=session)
    assert session.cwd == str(tmp_path)
    run_cmdlet(SetLocation, {"Path": "-"}, session=session)
    assert session.cwd == str(tmp_path / "beta")


def test_set_location_dash_without_history_is_an_error(session: Session) -> None:
    ctx = run_cmdlet(SetLocation, {"Path": "-"}, session=session)
    assert [e.message for e in ctx.errors] == [
        "There is no location history left to navigate backwards."]


def test_set_location_without_a_path_goes_home(session: Session, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "beta"))
    run_cmdlet(SetLocation, session=session)
    assert session.cwd == str(tmp_path / "beta")
    run_cmdlet(SetLocation, {"Path": "~/../alpha"}, session=session)
    assert session.cwd == str(tmp_path / "alpha")


def test_set_location_to_a_missing_directory_is_a_non_terminating_not_found_error(
        session: Session, tmp_path: Path) -> None:
    cwd = session.cwd
    ctx = run_cmdlet(SetLocation, {"Path": "nope"}, session=session)
    [err] = ctx.errors
    missing = str(tmp_path / "nope")
    assert err.message == f"Cannot find path '{missing}' because it does not exist."
    assert err.FullyQualifiedErrorId == (
        "PathNotFound,Microsoft.PowerShell.Commands.SetLocationCommand")
    assert err.CategoryInfo.Category == "ObjectNotFound"
    assert err.Exception.TypeName == "System.Management.Automation.ItemNotFoundException"
    assert err.describe().startswith("Set-Location: Cannot find path")
    assert session.cwd == cwd
    assert session.previous_location is None


def test_set_location_to_a_file_is_not_found(session: Session, tmp_path: Path) -> None:
    ctx = run_cmdlet(SetLocation, {"Path": "file.txt"}, session=session)
    assert ctx.errors[0].message == (
        f"Cannot find path '{tmp_path / 'file.txt'}' because it does not exist.")


def test_set_location_accepts_a_wildcard_matching_one_directory(session: Session,
                                                                tmp_path: Path) -> None:
    run_cmdlet(SetLocation, {"Path": "al*"}, session=session)
    assert session.cwd == str(tmp_path / "alpha")


def test_set_location_rejects_a_wildcard_matching_several_directories(session: Session) -> None:
    cwd = session.cwd
    ctx = run_cmdlet(SetLocation, {"Path": "*a"}, session=session)
    assert "resolved to multiple containers" in ctx.errors[0].message
    assert session.cwd == cwd


def test_set_location_literal_path_does_not_expand_wildcards(session: Session,
                                                             tmp_path: Path) -> None:
    (tmp_path / "[x]").mkdir()
    run_cmdlet(SetLocation, {"LiteralPath": "[x]"}, session=session)
    assert session.cwd == str(tmp_path / "[x]")


def test_set_location_passthru_outputs_the_new_location(session: Session, tmp_path: Path) -> None:
    ctx = run_cmdlet(SetLocation, {"Path": "beta", "PassThru": True}, session=session)
    assert ctx.output == [PathInfo(str(tmp_path / "beta"))]
    assert run_cmdlet(SetLocation, {"Path": "alpha"}, session=session).output == []


def test_push_and_pop_location_round_trip(session: Session, tmp_path: Path) -> None:
    run_cmdlet(PushLocation, {"Path": "alpha"}, session=session)
    run_cmdlet(PushLocation, {"Path": "inner"}, session=session)
    assert session.location_stack == [str(tmp_path), str(tmp_path / "alpha")]
    stack = run_cmdlet(GetLocation, {"Stack": True}, session=session).output
    assert [p.Path for p in stack] == [str(tmp_path / "alpha"), str(tmp_path)]
    run_cmdlet(PopLocation, session=session)
    assert session.cwd == str(tmp_path / "alpha")
    ctx = run_cmdlet(PopLocation, {"PassThru": True}, session=session)
    assert session.cwd == str(tmp_path)
    assert ctx.output == [PathInfo(str(tmp_path))]
    assert session.location_stack == []


def test_pop_location_on_an_empty_stack_does_nothing(session: Session) -> None:
    cwd = session.cwd
    ctx = run_cmdlet(PopLocation, session=session)
    assert (ctx.output, ctx.errors, session.cwd) == ([], [], cwd)


def test_push_location_to_a_missing_directory_leaves_the_stack_unchanged(
        session: Session) -> None:
    ctx = run_cmdlet(PushLocation, {"Path": "nope"}, session=session)
    assert ctx.errors and session.location_stack == []


def test_push_location_without_a_path_only_saves(session: Session) -> None:
    run_cmdlet(PushLocation, session=session)
    assert session.location_stack == [session.cwd]


def test_location_aliases_follow_pwsh_on_linux() -> None:
    for alias, name in (("cd", "Set-Location"), ("sl", "Set-Location"),
                        ("chdir", "Set-Location"), ("gl", "Get-Location"),
                        ("pwd", "Get-Location"), ("pushd", "Push-Location"),
                        ("popd", "Pop-Location")):
        assert builtin_registry().aliases[alias] == name


def test_fake_context_throw_is_not_used_for_missing_paths(session: Session) -> None:
    # pwsh reports a bad location as a non-terminating error, so scripts go on.
    try:
        run_cmdlet(SetLocation, {"Path": "nope"}, session=session)
    except PSRuntimeError:  # pragma: no cover - would be a regression
        pytest.fail("Set-Location threw a terminating error")


def test_engine_cd_then_get_location_and_back(tmp_path: Path) -> None:
    from tests.harness import new_runspace, run

    (tmp_path / "sub").mkdir()
    rs = new_runspace(str(tmp_path))
    assert run("cd sub; (Get-Location).Path", runspace=rs).output == [str(tmp_path / "sub")]
    assert run("cd -; \"$(Get-Location)\"", runspace=rs).output == [str(tmp_path)]
    assert run("pushd sub; popd; pwd", runspace=rs).output == [PathInfo(str(tmp_path))]
    result = run("cd nowhere; 'still here'", runspace=rs)
    assert result.output == ["still here"]
    assert result.messages == [f"Cannot find path '{tmp_path / 'nowhere'}' because it does "
                               "not exist."]
