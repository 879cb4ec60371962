"""Get-Process and Stop-Process against a real child process."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pjsh.commands import builtin_registry
from pjsh.commands import process as proc_mod
from pjsh.commands.process import GetProcess, ProcessInfo, StopProcess
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import Session
from pjsh.runtime.values import PSObject, lookup_property
from tests.fakes import fake_session, run_cmdlet


@pytest.fixture()
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A real child process (``cat``) that has certainly finished exec'ing: it echoed a line.

    Popen returns as soon as exec begins; the kernel renames the process and sets up its
    command line a moment later, so the echo is what makes the test deterministic."""
    child = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(b"ready\n")
        child.stdin.flush()
        assert child.stdout.readline() == b"ready\n"
        yield child
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()


@pytest.fixture()
def session() -> Session:
    return fake_session(host=MemoryHost())


def test_get_process_by_id_describes_the_child(child: subprocess.Popen[bytes],
                                               session: Session) -> None:
    ctx = run_cmdlet(GetProcess, {"Id": [child.pid]}, session=session)
    [info] = ctx.output
    assert isinstance(info, ProcessInfo)
    assert info.ps_type_names[0] == "System.Diagnostics.Process"
    assert info.Id == child.pid
    assert info.ProcessName == "cat" and info.Name == "cat"
    assert info.ParentProcessId == os.getpid()
    assert info.CommandLine == "cat"
    assert info.Path is not None and os.path.isabs(info.Path)
    assert isinstance(info.CPU, float) and info.CPU >= 0
    assert info.WS > 0 and info.WorkingSet64 == info.WS
    assert info.VM >= info.WS
    assert isinstance(info.StartTime, dt.datetime)
    assert abs((dt.datetime.now() - info.StartTime).total_seconds()) < 120
    assert info.UserName
    assert str(info) == "System.Diagnostics.Process (cat)"
    # The formatter's process view reads these through the property protocol.
    for name in ("PM", "WS", "CPU", "Id", "SI", "ProcessName"):
        assert lookup_property(info, name)[0]


def test_get_process_by_name_includes_the_child_and_sorts(child: subprocess.Popen[bytes],
                                                          session: Session) -> None:
    ctx = run_cmdlet(GetProcess, {"Name": ["CAT"]}, session=session)
    assert child.pid in [p.Id for p in ctx.output]  # type: ignore[attr-defined]
    everything = run_cmdlet(GetProcess, session=session).output
    keys = [(p.ProcessName.lower(), p.Id) for p in everything]  # type: ignore[attr-defined]
    assert keys == sorted(keys)
    assert os.getpid() in [p.Id for p in everything]  # type: ignore[attr-defined]


def test_get_process_wildcard_name_that_matches_nothing_is_silent(session: Session) -> None:
    ctx = run_cmdlet(GetProcess, {"Name": ["no-such-process-*"]}, session=session)
    assert (ctx.output, ctx.errors) == ([], [])


def test_get_process_unknown_name_and_id_are_errors_in_pwsh_words(session: Session) -> None:
    ctx = run_cmdlet(GetProcess, {"Name": ["no-such-process"]}, session=session)
    [err] = ctx.errors
    assert err.message == ('Cannot find a process with the name "no-such-process". Verify the '
                           "process name and call the cmdlet again.")
    assert err.FullyQualifiedErrorId == (
        "NoProcessFoundForGivenName,Microsoft.PowerShell.Commands.GetProcessCommand")
    assert err.CategoryInfo.Category == "ObjectNotFound"
    ctx = run_cmdlet(GetProcess, {"Id": [2**22 + 12345]}, session=session)
    assert ctx.errors[0].message == (
        f"Cannot find a process with the process identifier {2**22 + 12345}.")


def test_procfs_reader_tolerates_a_vanished_process() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert proc_mod.read_process(child.pid) is None


def test_stop_process_kills_by_id_like_pwsh(child: subprocess.Popen[bytes],
                                           session: Session) -> None:
    ctx = run_cmdlet(StopProcess, {"Id": [child.pid], "PassThru": True}, session=session)
    assert child.wait(timeout=10) == -9  # SIGKILL, as .NET's Process.Kill
    assert [p.Id for p in ctx.output] == [child.pid]  # type: ignore[attr-defined]


def test_stop_process_accepts_piped_process_objects(child: subprocess.Popen[bytes],
                                                    session: Session) -> None:
    procs = run_cmdlet(GetProcess, {"Id": [child.pid]}, session=session).output
    run_cmdlet(StopProcess, pipeline=[procs], pipeline_param="InputObject", session=session)
    assert child.wait(timeout=10) == -9


def test_stop_process_by_property_bag_id(child: subprocess.Popen[bytes],
                                         session: Session) -> None:
    bag = PSObject({"Id": child.pid})
    run_cmdlet(StopProcess, {"InputObject": [bag]}, session=session)
    assert child.wait(timeout=10) == -9


def test_stop_process_unknown_id_is_an_error(session: Session) -> None:
    ctx = run_cmdlet(StopProcess, {"Id": [2**22 + 12345]}, session=session)
    assert ctx.errors[0].FullyQualifiedErrorId == (
        "NoProcessFoundForGivenId,Microsoft.PowerShell.Commands.StopProcessCommand")


@pytest.mark.skipif(shutil.which("ps") is None, reason="needs the ps program")
def test_ps_backend_reads_the_child_too(child: subprocess.Popen[bytes]) -> None:
    # The backend used off Linux, checked here against the real ps program.
    info = proc_mod._ps_read(child.pid)
    assert info is not None
    assert info.Id == child.pid and info.ProcessName == "cat"
    assert info.ParentProcessId == os.getpid()
    assert info.CommandLine == "cat"
    assert info.WS > 0
    assert child.pid in [p.Id for p in proc_mod._ps_list()]
    assert proc_mod._ps_seconds("1-02:03:04") == 93784
    assert proc_mod._ps_seconds("0:01.50") == 1.5


def test_the_linux_backend_is_chosen_on_linux() -> None:
    if sys.platform.startswith("linux"):
        assert proc_mod.list_processes is proc_mod._procfs_list


def test_process_aliases_never_shadow_ps_or_kill() -> None:
    assert builtin_registry().aliases["gps"] == "Get-Process"
    assert builtin_registry().aliases["spps"] == "Stop-Process"
    assert "ps" not in GetProcess.spec.aliases and "kill" not in StopProcess.spec.aliases


def test_engine_gets_its_own_process() -> None:
    from tests.harness import run

    result = run("(Get-Process -Id $PID).Id; gps -Name no-such-proc-* | Measure-Object | "
                 "ForEach-Object Count")
    assert result.output == [os.getpid(), 0]
