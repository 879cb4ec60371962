"""One runspace factory: every runspace is built by create_runspace from RunspaceOptions, owns
copies of its registries, and is never patched after it is built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pjsh.commands import BUILTIN_MANIFEST, BUILTIN_MODULES, VIEW_MODULES, builtin_registry
from pjsh.engine import local_options
from pjsh.jobs.service import JobService
from pjsh.jobs.workers import worker_command
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Registry, module_commands
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


def test_a_worker_is_told_the_manifest_of_a_lazy_registry_and_rebuilds_it() -> None:
    registry = builtin_registry()
    assert registry.manifest is not None
    argv = worker_command(registry.modules, registry.manifest)
    assert argv[argv.index("--manifest") + 1] == json.dumps(
        {m: list(e) for m, e in BUILTIN_MANIFEST.items()})
    r = run("Start-Job { Get-Date | Out-Null; gal gjb | ForEach-Object Definition } | "
            "Receive-Job -Wait -AutoRemoveJob")
    assert r.errors == [] and r.output == ["Get-Job"]


def test_the_manifest_lists_exactly_what_each_command_module_provides() -> None:
    from pjsh.remote import REMOTE_MANIFEST
    for module, entries in {**BUILTIN_MANIFEST, **REMOTE_MANIFEST}.items():
        provided = [" ".join((c.spec.name, *c.spec.aliases)) for c in module_commands(module)]
        assert list(entries) == provided, module


def test_the_view_modules_are_exactly_the_command_modules_that_add_views() -> None:
    import importlib

    with_views = [m for m in BUILTIN_MANIFEST
                  if hasattr(importlib.import_module(m), "format_views")]
    assert list(VIEW_MODULES) == with_views
    from pjsh.remote import REMOTE_MANIFEST  # the remoting cmdlets add none (engine.py)
    assert not any(hasattr(importlib.import_module(m), "format_views") for m in REMOTE_MANIFEST)
    lazy, eager = builtin_registry(), Registry.from_modules(BUILTIN_MODULES)
    assert lazy.view_modules == VIEW_MODULES
    assert set(lazy.views._filled()) == set(eager.views._filled())


def test_the_lazy_table_lists_and_resolves_as_the_eager_one() -> None:
    lazy, eager = builtin_registry(), Registry.from_modules(BUILTIN_MODULES)
    assert lazy.aliases == eager.aliases
    assert "get-job" in lazy.commands and "nosuch" not in lazy.commands
    assert lazy.commands.get("get-job") is eager.commands["get-job"]
    assert list(lazy.commands.items()) == list(eager.commands.items())


def _command_modules_imported_by(script: str) -> list[str]:
    """Run ``script`` in a fresh interpreter's runspace; the command modules it imported."""
    code = textwrap.dedent(f"""
        import sys
        from pjsh.engine import local_options
        from pjsh.runtime.host import MemoryHost
        from pjsh.runtime.runspace import create_runspace
        rs = create_runspace(local_options(MemoryHost()))
        assert rs.run({script!r}).ok
        print(sorted(m for m in sys.modules if m.startswith("pjsh.commands.")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return list(eval(out))  # a printed list of module names


def test_a_runspace_imports_a_command_module_only_when_one_of_its_commands_runs() -> None:
    assert _command_modules_imported_by("'text'; 1 + 2; /bin/true") == []
    used = _command_modules_imported_by("Get-Date | Out-Null")
    assert {"pjsh.commands.utility", "pjsh.commands.output"} <= set(used)
    assert not {"pjsh.commands.jobs", "pjsh.commands.help", "pjsh.commands.json"} & set(used)


def test_an_object_that_needs_a_view_loads_the_views_of_every_module_that_adds_some() -> None:
    # A job row needs a view even with no job cmdlet run before (`&` makes a job without a
    # command module): the modules that add views are loaded, and only those.
    imported = _command_modules_imported_by("/bin/true &")
    assert set(VIEW_MODULES) <= set(imported)
    assert "pjsh.commands.jobs" not in imported
