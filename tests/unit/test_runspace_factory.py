"""One runspace factory: every runspace is built by create_runspace from RunspaceOptions, owns
copies of its registries, and is never patched after it is built."""

from __future__ import annotations

import os

import pytest

from pjsh.commands import BUILTIN_MODULES, builtin_registry
from pjsh.engine import local_options
from pjsh.jobs.service import JobService
from pjsh.jobs.workers import worker_command
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Registry
from pjsh.runtime.formatting import ListView
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import DEVNULL, RunspaceOptions, create_runspace
from pjsh.runtime.values import PSObject
from tests.harness import run


class Probe(Cmdlet):
    """A command only one runspace has."""

    spec = CommandSpec("Get-Probe")

    def process(self, args: Bound) -> None:
        """Say it ran."""
        self.ctx.write_output("probe")


def test_a_runspace_is_built_from_its_options_and_keeps_them(tmp_path: os.PathLike[str]) -> None:
    options = local_options(MemoryHost(), cwd=str(tmp_path), env={"A": "1"},
                            script_args=("x", "y"))
    rs = create_runspace(options)
    assert rs.options is options and rs.session.options is options
    assert rs.session.cwd == str(tmp_path)
    assert rs.session.env == {"A": "1"}
    assert run("$args; $env:A", rs).output == ["x", "y", "1"]


def test_each_runspace_owns_a_copy_of_its_command_registry() -> None:
    options = local_options(MemoryHost())
    first, second = create_runspace(options), create_runspace(options)
    first.session.registry.add(Probe)
    assert run("Get-Probe", first).output == ["probe"]
    assert "get-probe" not in second.session.registry.commands
    assert "get-probe" not in options.registry.commands
    assert "get-probe" not in builtin_registry().commands
    assert run("Get-Probe", second).messages[0].startswith("The term 'Get-Probe' is not")


def test_each_runspace_owns_a_copy_of_its_format_views() -> None:
    options = local_options(MemoryHost())
    first, second = create_runspace(options), create_runspace(options)
    first.session.registry.views.register("Test.Probe", ListView((("Only", "a"),)))
    obj = PSObject({"a": 1, "b": 2}, ["Test.Probe"])
    assert first.session.registry.views.find(obj) is not None
    assert second.session.registry.views.find(obj) is None


def test_the_builtin_registry_holds_every_marked_cmdlet_of_every_command_module() -> None:
    import importlib

    registry = builtin_registry()
    assert registry.modules == BUILTIN_MODULES
    for name in BUILTIN_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__dict__.get("_builtin_command"):
                assert registry.commands[value.spec.name.lower()] is value
    assert registry.aliases["gjb"] == "Get-Job"


def test_a_missing_command_module_is_an_error_not_skipped() -> None:
    with pytest.raises(ModuleNotFoundError):
        Registry.from_modules(["pjsh.commands.no_such_module"])


def test_a_job_runspace_derives_from_its_callers_options_with_its_own_registry() -> None:
    rs = create_runspace(local_options(MemoryHost()))
    run("Set-Location /", rs)
    service = rs.session.jobs
    assert isinstance(service, JobService)
    options = service.job_options()
    assert options.cwd == "/" and options.env == rs.session.env
    assert options.jobs is rs.options.jobs
    job_rs = create_runspace(options)
    assert job_rs.session.registry is not rs.session.registry
    assert job_rs.session.registry.commands == rs.session.registry.commands


def test_a_thread_job_runs_in_its_callers_directory_with_the_callers_commands() -> None:
    rs = create_runspace(local_options(MemoryHost()))
    r = run("Set-Location /tmp; Start-ThreadJob { (Get-Location).Path; (Get-Command gjb).Name }"
            " | Wait-Job | Receive-Job", rs)
    assert r.errors == []
    assert r.output == ["/tmp", "gjb"]


def test_a_devnull_stdin_is_opened_by_the_runspace_and_closed_with_it() -> None:
    before = len(os.listdir("/proc/self/fd"))
    with create_runspace(local_options(MemoryHost(), native_stdin=DEVNULL)) as rs:
        fd = rs.session.native_stdin
        assert fd is not None and os.readlink(f"/proc/self/fd/{fd}") == os.devnull
        assert len(os.listdir("/proc/self/fd")) == before + 1
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_runspace_without_a_job_engine_says_it_cannot_run_jobs() -> None:
    rs = create_runspace(RunspaceOptions(host=MemoryHost(), registry=builtin_registry()))
    r = run("'before'; Get-Date &; 'after'", rs)
    assert r.output[0] == "before" and r.output[-1] == "after"
    assert r.messages == ["This runspace cannot run jobs."]


def test_a_sandboxed_runspace_starts_no_program() -> None:
    rs = create_runspace(local_options(MemoryHost()).derive(natives_enabled=False))
    assert rs.interp.natives_enabled is False
    assert run("sh -c 'echo hi'", rs).output == []


def test_a_worker_is_told_the_command_modules_of_its_callers_registry() -> None:
    argv = worker_command(BUILTIN_MODULES)
    assert argv[-2:] == ["--commands", ",".join(BUILTIN_MODULES)]
