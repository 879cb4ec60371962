"""The worker backend: a script block that uses cmdlets runs in a pjsh worker process.

Starting Python and importing the engine costs tens of milliseconds, so one spare worker is
started ahead of need and kept warm (it has imported everything and waits for its request);
Start-Job hands the request to the spare and starts the next spare in the background. Each
worker serves exactly one job and lives in its own process group, so Stop-Job ends the whole
tree it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pjsh.jobs.groups import may_resume, may_suspend, resume_group, suspend_group
from pjsh.jobs.model import (
    Job,
    JobError,
    JobState,
    PSRemotingChildJob,
    PSRemotingJob,
)
from pjsh.jobs.storage import Stream
from pjsh.runtime.posix import (
    Cancellable,
    group_members,
    guard_group,
    kill_group,
    pidfd_open,
    signal_name,
    terminate_group,
    unguard_group,
    wait_stopped,
)

if TYPE_CHECKING:
    from pjsh.jobs.manager import JobManager

_STREAMS = {"o": Stream.Output, "e": Stream.Error, "w": Stream.Warning, "v": Stream.Verbose,
            "d": Stream.Debug, "i": Stream.Information, "p": Stream.Progress}
_LINE_LIMIT = 1 << 30
_MAX_SPARES = 4


@dataclass
class WorkerRequest:
    """What a worker runs: script text, arguments, piped input, copied variables, directory."""

    script: str
    cwd: str
    env: dict[str, str]
    args: list[object] = field(default_factory=list)
    input: list[object] | None = None
    variables: dict[str, object] = field(default_factory=dict)
    init: str | None = None
    job_name: str | None = None  # named in errors of the job's host (a job cannot prompt)

    def to_line(self) -> bytes:
        """The request as one JSON line."""
        from pjsh.runtime.serialize import encode
        from pjsh.runtime.values import Hashtable

        payload: dict[str, Any] = {
            "v": 1, "script": self.script, "cwd": self.cwd, "env": self.env, "init": self.init,
            "name": self.job_name, "args": encode(list(self.args)),
            "input": encode(list(self.input)) if self.input is not None else None,
            "vars": encode(Hashtable(self.variables.items())),
        }
        return (json.dumps(payload, ensure_ascii=True) + "\n").encode()


def worker_command(command_modules: Sequence[str] = (),
                   manifest: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """How to start a worker with this interpreter, loading these command modules (on first
    use of one of their commands, given the manifest of what each provides)."""
    argv = [sys.executable, "-m", "pjsh.jobs.worker", "--commands", ",".join(command_modules)]
    if manifest is not None:
        argv += ["--manifest", json.dumps({m: list(e) for m, e in manifest.items()})]
    return argv


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # Make sure the worker imports this very pjsh, even from a source checkout.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class _Worker:
    """One started worker process and its protocol pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stopping = False
        self.kill_timer: Cancellable | None = None


class WorkerBackend:
    """Runs script blocks in pjsh worker processes (BackgroundJob children)."""

    def __init__(self, manager: JobManager, stop_grace: float = 2.0,
                 command_modules: Sequence[str] = (),
                 command_manifest: Mapping[str, Sequence[str]] | None = None) -> None:
        self.manager = manager
        self.stop_grace = stop_grace
        # The caller's registry, rebuilt in each worker from its module names (and manifest).
        self.command_modules = tuple(command_modules)
        self.command_manifest = command_manifest
        self._pending: dict[Job, WorkerRequest] = {}
        self._workers: dict[Job, _Worker] = {}
        # Warm spares, oldest first. One is kept normally; a burst of Start-Jobs that finds
        # none ready raises the target (up to _MAX_SPARES) so spares start side by side
        # instead of one Python start-up after another; served bursts lower it again.
        self._spares: deque[asyncio.Task[_Worker]] = deque()
        self._want = 1
        # Every worker process started and not yet reaped, so shutdown can kill a spare that
        # is still importing the engine instead of waiting for it to say it is ready.
        self._procs: set[asyncio.subprocess.Process] = set()
        self._lock = threading.Lock()
        self._closed = False

    # ---- creating jobs -------------------------------------------------------------------
    def create_job(self, request: WorkerRequest, *, name: str | None = None,
                   command: str = "") -> PSRemotingJob:
        """A BackgroundJob parent with one child that runs ``request`` (not yet started)."""
        parent_id = self.manager.next_id()
        child = PSRemotingChildJob(self.manager.next_id(), command=command, location="localhost",
                                   backend=self, store=self.manager.new_store())
        parent = PSRemotingJob(parent_id, name=name, command=command, children=[child],
                               store=self.manager.new_store())
        if request.job_name is None:
            request.job_name = parent.name
        with self._lock:
            self._pending[child] = request
        return parent

    def warm(self) -> None:
        """Start a spare worker now (in the background) so the next job starts at once."""
        self.manager.call_soon(self._ensure_spare)

    def _ensure_spare(self) -> None:
        loop = asyncio.get_running_loop()
        while len(self._spares) < self._want and not self._closed:
            self._spares.append(loop.create_task(self._spawn()))

    async def _spawn(self) -> _Worker:
        kwargs: dict[str, Any] = {}
        if sys.version_info >= (3, 11):
            kwargs["process_group"] = 0
        else:  # pragma: no cover - Python 3.10
            kwargs["preexec_fn"] = os.setpgrp
        proc = await asyncio.create_subprocess_exec(
            *worker_command(self.command_modules, self.command_manifest),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=_worker_env(),
            cwd="/", limit=_LINE_LIMIT, **kwargs)
        self._procs.add(proc)
        guard_group(proc.pid)  # a worker and what it started must not outlive pjsh
        worker = _Worker(proc)
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line.startswith(b'{"ready"'):
            kill_group(proc.pid, signal.SIGKILL)
            await proc.wait()
            self._procs.discard(proc)
            unguard_group(proc.pid)
            raise JobError("The pjsh worker process did not start.")
        return worker

    async def _take_worker(self) -> _Worker:
        ready = [t for t in self._spares if t.done()]
        worker: _Worker | None = None
        for task in ready:
            self._spares.remove(task)
            candidate = None if task.cancelled() or task.exception() else task.result()
            if candidate is not None and candidate.proc.returncode is None:
                worker = candidate
                break
        if worker is not None:
            self._want = max(1, self._want - 1)
        else:
            # No spare was ready: this is a burst, so keep more spares starting in parallel.
            self._want = min(_MAX_SPARES, self._want + 1)
            if self._spares:
                task = self._spares.popleft()
                try:
                    worker = await task
                except Exception:
                    worker = None
            if worker is None or worker.proc.returncode is not None:
                worker = await self._spawn()
        self._ensure_spare()
        return worker

    # ---- JobBackend ----------------------------------------------------------------------
    async def start(self, job: Job) -> None:
        """Hand the request to a warm worker; the job is Running on return."""
        with self._lock:
            request = self._pending.pop(job, None)
        if request is None:
            raise JobError(f"Job {job.id} has nothing to run.")
        if not os.path.isdir(request.cwd):
            job.set_state(JobState.Failed,
                          f"Cannot find the WorkingDirectory path {request.cwd}.")
            return
        worker = await self._take_worker()
        proc = worker.proc
        assert proc.stdin is not None
        proc.stdin.write(request.to_line())
        with contextlib.suppress(ConnectionError):
            await proc.stdin.drain()
        self._workers[job] = worker
        job.process_id = proc.pid
        job.set_state(JobState.Running)
        asyncio.get_running_loop().create_task(self._pump(job, worker))
        if job.stop_requested:
            # A stop that arrived while a worker was being taken found nothing to signal.
            await self.stop(job)

    async def _pump(self, job: Job, worker: _Worker) -> None:
        from pjsh.jobs.jobhost import JobScriptFailed
        from pjsh.runtime.serialize import decode

        proc = worker.proc
        assert proc.stdout is not None
        done: dict[str, Any] | None = None
        failure_record: object = None
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not line:
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("done"):
                done = msg
                if "x" in msg:
                    # The terminating error is part of the job's error stream (as in
                    # PowerShell, $job.ChildJobs[0].Error holds it) and is its Reason.
                    failure_record = decode(msg["x"], deserialized=True)
                    job.write(Stream.Error, failure_record)
                continue
            stream = _STREAMS.get(str(msg.get("s")))
            if stream is None:
                continue
            job.write(stream, decode(msg["x"], deserialized=stream is not Stream.Error))
        code = await proc.wait()
        self._procs.discard(proc)
        self._workers.pop(job, None)
        if worker.kill_timer is not None:
            worker.kill_timer.cancel()
        # Whatever the worker started in its group must not outlive the job: kill it and wait
        # until it has really ended, so a Stopped/Completed job has no process left.
        if kill_group(proc.pid, signal.SIGKILL):
            await _group_ended(proc.pid)
        unguard_group(proc.pid)
        exit_code = done.get("exit") if done is not None else None
        if isinstance(exit_code, int) and code >= 0:
            job.exit_code = exit_code
        else:
            job.exit_code = code if code >= 0 else 128 - code
        # The manager may have ended the job already (a stop that raised marks it Failed):
        # hence finish_if_unfinished, the only race here.
        if worker.stopping or job.stop_requested:
            job.finish_if_unfinished(JobState.Stopped)
        elif done is not None and done.get("ok"):
            job.finish_if_unfinished(JobState.Completed)
        elif done is not None:
            reason = str(done.get("reason") or "The job failed.")
            job.failure = JobScriptFailed(reason, failure_record,
                                          in_stream=failure_record is not None)
            job.finish_if_unfinished(JobState.Failed, reason)
        elif code < 0:
            job.finish_if_unfinished(
                JobState.Failed, f"The job's process was terminated by signal {signal_name(-code)}.")
        else:
            job.finish_if_unfinished(
                JobState.Failed, f"The job's process exited unexpectedly with code {code}.")

    async def stop(self, job: Job) -> None:
        """SIGTERM the worker's group (SIGCONT too); SIGKILL after a grace period."""
        with self._lock:
            if self._pending.pop(job, None) is not None:
                job.set_state(JobState.Stopped)  # never started: still NotStarted
                return
        worker = self._workers.get(job)
        if worker is None or worker.stopping or job.is_finished():
            return
        worker.stopping = True
        job.set_state(JobState.Stopping)  # on the loop, as the job's end: no race
        proc = worker.proc
        # The SIGKILL is called off once asyncio has reaped the worker (its id is free then).
        worker.kill_timer = terminate_group(proc.pid, self.stop_grace,
                                            loop=asyncio.get_running_loop(),
                                            still_ours=lambda: proc.returncode is None)

    async def suspend(self, job: Job) -> None:
        """SIGSTOP the worker's process group; Suspended once the worker has stopped."""
        worker = self._workers.get(job)
        if may_suspend(job, worker is not None):
            assert worker is not None
            pid = worker.proc.pid
            loop = asyncio.get_running_loop()
            await suspend_group(job, pid,
                                lambda: loop.run_in_executor(None, wait_stopped, [pid]))

    async def resume(self, job: Job) -> None:
        """SIGCONT the worker's process group."""
        worker = self._workers.get(job)
        if may_resume(job, worker is not None):
            assert worker is not None
            resume_group(job, worker.proc.pid)

    async def close(self) -> None:
        """Kill the spare workers and any worker still starting (shutdown)."""
        self._closed = True
        spares = list(self._spares)
        self._spares.clear()
        killed = self._kill_idle()
        for task in spares:
            # A spare still being spawned registers its process only when the spawn returns:
            # wait for each, then kill what appeared meanwhile.
            with contextlib.suppress(Exception):
                await task
        killed += self._kill_idle()
        for proc in killed:
            await proc.wait()
            self._procs.discard(proc)
            unguard_group(proc.pid)

    def _kill_idle(self) -> list[asyncio.subprocess.Process]:
        """SIGKILL every started worker process that serves no job."""
        busy = {w.proc for w in self._workers.values()}
        idle = [p for p in self._procs if p not in busy and p.returncode is None]
        for proc in idle:
            kill_group(proc.pid, signal.SIGKILL)
        return idle


async def _group_ended(pgid: int, limit: float = 10.0) -> None:
    """Wait until every process of a (SIGKILLed) group has exited, watching each with a pidfd;
    zombies count as ended (their parent or init reaps them)."""
    loop = asyncio.get_running_loop()
    waits: list[asyncio.Future[None]] = []
    for pid in group_members(pgid):
        try:
            pidfd = pidfd_open(pid)
        except (AttributeError, OSError):
            continue  # already gone, or no pidfds on this system
        future: asyncio.Future[None] = loop.create_future()

        def on_exit(fd: int = pidfd, fut: asyncio.Future[None] = future) -> None:
            loop.remove_reader(fd)
            os.close(fd)
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(pidfd, on_exit)
        waits.append(future)
    if waits:
        # SIGKILL cannot be ignored; the limit only guards against a process stuck in the
        # kernel (uninterruptible I/O), which must not hang the job table.
        await asyncio.wait(waits, timeout=limit)
