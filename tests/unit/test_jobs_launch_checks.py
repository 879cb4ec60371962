"""What no program can be started with (a NUL in an argument, '=' or NUL in an environment
name, NUL in a value) fails that one job with a reason on both start paths of ``&`` jobs; and
the fork server survives a request it cannot carry out, with its other jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.jobs import process as process_module
from pjsh.jobs.manager import JobManager
from pjsh.jobs.model import JobState, PSRemotingJob
from pjsh.jobs.process import NativePipeline, ProcessBackend
from tests.unit.test_jobs_spawner import child_of, process_backend

BAD = [
    pytest.param({"commands": (("/bin/echo", "a\0b"),)}, "a`0b", id="NUL in an argument"),
    pytest.param({"commands": (("/bin/true",),), "env": {"A=B": "c"}},
                 "cannot contain equal character", id="= in an environment name"),
    pytest.param({"commands": (("/bin/true",),), "env": {"X": "a\0b"}},
                 "(environment variable 'X')", id="NUL in an environment value"),
]


@pytest.fixture(params=["spawner", "direct"])
def backend(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessBackend]:
    if request.param == "spawner" and not process_module.spawner_available():
        pytest.skip("no fork server on this platform")
    monkeypatch.setattr(ProcessBackend, "use_spawner", request.param == "spawner")
    monkeypatch.setattr(ProcessBackend, "direct_until_ready", False)  # served from the first
    manager = JobManager(spill_dir=str(tmp_path / "spill"), stop_grace=0.5)
    yield process_backend(manager)
    manager.shutdown()


def process_state(pid: int) -> str | None:
    """The state letter of a process (Z: a zombie), None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return text[text.rindex(")") + 2:].split()[0]


def start(backend: ProcessBackend, **spec: object) -> PSRemotingJob:
    return backend.start_job(NativePipeline(**spec))  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "named"), BAD)
def test_an_unlaunchable_job_fails_with_a_reason_and_a_running_job_lives_on(
        backend: ProcessBackend, spec: dict[str, object], named: str) -> None:
    running = start(backend, commands=(("sleep", "30"),))
    bad = start(backend, **spec)
    assert backend.manager.wait([bad], timeout=30) == [bad]
    assert bad.state is JobState.Failed
    reason = str(child_of(bad).JobStateInfo.Reason)
    assert "failed to run" in reason and named in reason
    assert running.state is JobState.Running
    backend.manager.stop(running)
    assert running.state is JobState.Stopped


@pytest.mark.skipif(not process_module.spawner_available(), reason="no fork server")
@pytest.mark.parametrize(("spec", "named"), BAD)
def test_the_fork_server_survives_a_request_it_cannot_spawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: dict[str, object],
        named: str) -> None:
    # pjsh's own check is bypassed, so the bad request reaches the server (defence in depth).
    monkeypatch.setattr(process_module, "check_launch", lambda argvs, env: None)
    monkeypatch.setattr(ProcessBackend, "use_spawner", True)
    monkeypatch.setattr(ProcessBackend, "direct_until_ready", False)
    manager = JobManager(spill_dir=str(tmp_path / "spill"), stop_grace=0.5)
    try:
        backend = process_backend(manager)
        running = start(backend, commands=(("sleep", "30"),))
        server = backend._servers[0]
        bad = start(backend, **spec)
        assert manager.wait([bad], timeout=30) == [bad]
        assert bad.state is JobState.Failed
        reason = str(child_of(bad).JobStateInfo.Reason)
        assert "failed to run" in reason and "spawner exited" not in reason
        after = start(backend, commands=(("echo", "still served"),))
        assert manager.wait([after], timeout=30) == [after]
        assert after.state is JobState.Completed
        assert running.state is JobState.Running
        assert process_state(server.process.pid) not in ("Z", "X", None) and not server.lost
        manager.stop(running)
        assert running.state is JobState.Stopped
    finally:
        manager.shutdown()
