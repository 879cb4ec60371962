"""The process backend: a native pipeline run as a job, in its own process group.

Every process of the pipeline joins ONE new process group, so Stop-Job, Suspend-Job and
shutdown act on the whole tree with one ``killpg``. Processes are chained with OS pipes (bytes
never pass through Python between stages); the last stage's stdout and every stage's stderr are
read by the manager's asyncio loop straight into the job's output store. Exits are watched with
pidfds (a thread per process where pidfds are missing) *without reaping*: the zombie group leader
keeps the process-group id reserved until we have killed any leftovers, so a recycled id can
never be hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pjsh.jobs.model import (
    RESUME_NOT_SUPPORTED,
    SUSPEND_NOT_SUPPORTED,
    Job,
    JobError,
    JobState,
    PSRemotingChildJob,
    PSRemotingJob,
)
from pjsh.jobs.storage import Stream

if TYPE_CHECKING:
    from pjsh.jobs.manager import JobManager

# PowerShell's CommandNotFoundException text.
COMMAND_NOT_FOUND = (
    "The term '{0}' is not recognized as a name of a cmdlet, function, script file, or executable "
    "program.\nCheck the spelling of the name, or if a path was included, verify that the path is "
    "correct and try again."
)
WORKING_DIRECTORY_NOT_FOUND = "Cannot find the WorkingDirectory path {0}."
# Every pipe is read into one scratch buffer (all reads happen on the loop thread); the store
# copies what it keeps in memory and writes spilled data straight from it.
_READ_SIZE = 1024 * 1024
_PIPE_DEFAULT = 65536


@dataclass(frozen=True)
class NativePipeline:
    """What to run: argv lists chained by pipes, where, with what input and redirections."""

    commands: tuple[tuple[str, ...], ...]
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    stdin: bytes | None = None
    stdout_path: str | None = None
    stdout_append: bool = False
    stderr_path: str | None = None
    stderr_append: bool = False

    @classmethod
    def of(cls, *commands: Sequence[str], **options: Any) -> NativePipeline:
        """Build from argv sequences: ``NativePipeline.of(["seq", "3"], ["wc", "-l"])``."""
        return cls(tuple(tuple(c) for c in commands), **options)

    def text(self) -> str:
        """The pipeline as a command line (the job's Command when none is given)."""
        return " | ".join(shlex.join(argv) for argv in self.commands)


def signal_name(signum: int) -> str:
    """``SIGKILL`` for 9; ``signal 77`` for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class _StartFailure(Exception):
    """The pipeline could not be started; the message is the job's failure reason."""


@dataclass
class _Run:
    """A started pipeline: its processes and the futures the supervisor waits on."""

    spec: NativePipeline
    popens: list[subprocess.Popen[bytes]] = field(default_factory=list)
    pgid: int = 0
    exits: list[asyncio.Future[None]] = field(default_factory=list)
    eofs: list[asyncio.Future[None]] = field(default_factory=list)
    stopping: bool = False
    kill_timer: asyncio.TimerHandle | None = None
    feeder: asyncio.Task[None] | None = None
    supervisor: asyncio.Task[None] | None = None  # referenced so it is not collected
    reaped: bool = False


class ProcessBackend:
    """Runs native pipelines as jobs (the BackgroundJob of a native-only script block)."""

    def __init__(self, manager: JobManager, stop_grace: float = 2.0) -> None:
        self.manager = manager
        self.stop_grace = stop_grace
        self._pending: dict[Job, NativePipeline] = {}
        self._runs: dict[Job, _Run] = {}
        self._lock = threading.Lock()
        self._scratch = bytearray(_READ_SIZE)

    # ---- creating jobs -----------------------------------------------------------------------

    def create_job(
        self, pipeline: NativePipeline, *, name: str | None = None, command: str | None = None
    ) -> PSRemotingJob:
        """A BackgroundJob parent with one child that runs ``pipeline`` (not yet started)."""
        parent_id = self.manager.next_id()
        child = self.create_child(pipeline, command=command)
        return PSRemotingJob(
            parent_id, name=name, command=child.command, children=[child],
            store=self.manager.new_store(),
        )

    def create_child(
        self, pipeline: NativePipeline, *, command: str | None = None, location: str = "localhost"
    ) -> PSRemotingChildJob:
        """A leaf job driven by this backend (for composing other job shapes)."""
        if not pipeline.commands or not all(pipeline.commands):
            raise ValueError("a native pipeline needs at least one non-empty command")
        job = PSRemotingChildJob(
            self.manager.next_id(), command=pipeline.text() if command is None else command,
            location=location, backend=self, store=self.manager.new_store(),
        )
        with self._lock:
            self._pending[job] = pipeline
        return job

    def start_job(
        self, pipeline: NativePipeline, *, name: str | None = None, command: str | None = None
    ) -> PSRemotingJob:
        """Create and start a BackgroundJob; it is Running (or Failed) on return."""
        job = self.create_job(pipeline, name=name, command=command)
        self.manager.start(job)
        return job

    def pids(self, job: Job) -> list[int]:
        """The pids of a running job's processes, pipeline order (first = group leader); a
        parent job answers for its children. Empty once the job has ended."""
        if job.children:
            return [pid for child in job.children for pid in self.pids(child)]
        with self._lock:
            run = self._runs.get(job)
            return [] if run is None or run.reaped else [p.pid for p in run.popens]

    # ---- JobBackend --------------------------------------------------------------------------

    def start(self, job: Job) -> None:
        """Spawn the pipeline in a new process group (on the caller's thread: a fork/exec
        costs less than a hop to the loop), then let the loop watch it."""
        with self._lock:
            spec = self._pending.pop(job, None)
        if spec is None:
            raise JobError(f"Job {job.id} has no pipeline to start.")
        run = _Run(spec)
        try:
            pipes = self._spawn(job, run)
        except _StartFailure as exc:
            job.failure = exc
            job.set_state(JobState.Failed, str(exc))
            return
        with self._lock:
            self._runs[job] = run
        job.process_id = run.pgid
        job.set_state(JobState.Running)
        self.manager.call_soon(self._watch, job, run, *pipes)

    def _watch(self, job: Job, run: _Run, out_r: int | None, err_r: int | None,
               stdin_w: int | None) -> None:
        """On the loop: watch exits, read the output pipes, feed stdin, supervise."""
        loop = asyncio.get_running_loop()
        for popen in run.popens:
            run.exits.append(self._watch_exit(loop, popen.pid))
        if out_r is not None:
            run.eofs.append(self._read_into(loop, out_r, job, Stream.Output))
        if err_r is not None:
            run.eofs.append(self._read_into(loop, err_r, job, Stream.Error))
        if stdin_w is not None:
            assert run.spec.stdin is not None
            run.feeder = loop.create_task(_feed(loop, stdin_w, run.spec.stdin))
        run.supervisor = loop.create_task(self._supervise(job, run))

    async def stop(self, job: Job) -> None:
        """SIGTERM the whole group (SIGCONT too, for a suspended one); SIGKILL after a grace."""
        with self._lock:
            run = self._runs.get(job)
            if run is None and self._pending.pop(job, None) is not None:
                job.try_set_state(JobState.Stopped)
                return
        if run is None or run.reaped or run.stopping or job.is_finished():
            return
        run.stopping = True
        job.try_set_state(JobState.Stopping)
        _kill_group(run.pgid, signal.SIGTERM)
        _kill_group(run.pgid, signal.SIGCONT)
        loop = asyncio.get_running_loop()
        run.kill_timer = loop.call_later(self.stop_grace, self._kill_leftovers, run)

    async def suspend(self, job: Job) -> None:
        """SIGSTOP the group; Suspended once every process of the pipeline has stopped."""
        run = self._runs.get(job)
        if run is None or job.state is not JobState.Running:
            if job.state is JobState.Suspended:
                return
            raise JobError(SUSPEND_NOT_SUPPORTED.format(job.id))
        _kill_group(run.pgid, signal.SIGSTOP)
        # SIGSTOP takes effect asynchronously; report Suspended only when it really holds.
        pids = [p.pid for p in run.popens]
        await asyncio.get_running_loop().run_in_executor(None, _wait_stopped, pids)
        if not job.is_finished():
            job.try_set_state(JobState.Suspended)

    async def resume(self, job: Job) -> None:
        """SIGCONT the group; Running again."""
        run = self._runs.get(job)
        if run is None or job.state is not JobState.Suspended:
            if job.state is JobState.Running:
                return
            raise JobError(RESUME_NOT_SUPPORTED.format(job.id))
        _kill_group(run.pgid, signal.SIGCONT)
        job.try_set_state(JobState.Running)

    # ---- spawning ----------------------------------------------------------------------------

    def _spawn(self, job: Job, run: _Run) -> tuple[int | None, int | None, int | None]:
        """Start every stage; return the read ends of stdout/stderr and stdin's write end."""
        spec = run.spec
        cwd = spec.cwd or os.getcwd()
        if not os.path.isdir(cwd):
            raise _StartFailure(WORKING_DIRECTORY_NOT_FOUND.format(cwd))
        # No env given: the children inherit ours without Python re-encoding it per spawn.
        env = None if spec.env is None else dict(spec.env)
        path = (os.environ if env is None else env).get("PATH", os.defpath)
        executables = [_resolve(argv[0], cwd, path) for argv in spec.commands]
        owned: list[int] = []  # parent-side fds to close once the children have them

        def target(path: str | None, append: bool) -> int:
            assert path is not None
            flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
            flags |= os.O_APPEND if append else os.O_TRUNC
            try:
                fd = os.open(os.path.join(cwd, path), flags, 0o666)
            except OSError as exc:
                raise _StartFailure(f"Could not open '{path}': {exc.strerror}.") from exc
            owned.append(fd)
            return fd

        out_r = err_r = stdin_w = None
        try:
            if spec.stdin is not None:
                stdin_r, stdin_w = os.pipe()
                owned.append(stdin_r)
                first_in: int = stdin_r
            else:
                first_in = subprocess.DEVNULL
            if spec.stdout_path is not None:
                last_out = target(spec.stdout_path, spec.stdout_append)
            else:
                out_r, last_out = os.pipe()
                owned.append(last_out)
            if spec.stderr_path is not None:
                err_w = target(spec.stderr_path, spec.stderr_append)
            else:
                err_r, err_w = os.pipe()
                owned.append(err_w)
            prev = first_in
            for index, (argv, executable) in enumerate(zip(spec.commands, executables,
                                                          strict=True)):
                if index < len(spec.commands) - 1:
                    next_r, out = os.pipe()
                    owned.extend((next_r, out))
                else:
                    next_r, out = -1, last_out
                run.popens.append(self._popen(argv, executable, prev, out, err_w, cwd, env,
                                              run.pgid))
                if index == 0:
                    run.pgid = run.popens[0].pid
                prev = next_r
        except BaseException as exc:
            for fd in (out_r, err_r, stdin_w):
                if fd is not None:
                    os.close(fd)
            if run.popens:
                # A later stage could not start: take down the stages already running.
                _kill_group(run.pgid, signal.SIGKILL)
                for popen in run.popens:
                    popen.wait()
            if isinstance(exc, OSError):
                name = spec.commands[len(run.popens)][0]
                raise _StartFailure(f"Program '{name}' failed to run: {exc.strerror}") from exc
            raise
        finally:
            for fd in owned:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return out_r, err_r, stdin_w

    @staticmethod
    def _popen(argv: tuple[str, ...], executable: str, stdin: int, stdout: int, stderr: int,
               cwd: str, env: dict[str, str] | None, pgid: int) -> subprocess.Popen[bytes]:
        kwargs: dict[str, Any] = {}
        if sys.version_info >= (3, 11):
            kwargs["process_group"] = pgid  # 0: a new group led by this process
        else:  # pragma: no cover - Python 3.10
            kwargs["preexec_fn"] = functools.partial(os.setpgid, 0, pgid)
        return subprocess.Popen(
            list(argv), executable=executable, stdin=stdin, stdout=stdout, stderr=stderr,
            cwd=cwd, env=env, close_fds=True, **kwargs,
        )

    # ---- watching ----------------------------------------------------------------------------

    @staticmethod
    def _watch_exit(loop: asyncio.AbstractEventLoop, pid: int) -> asyncio.Future[None]:
        """A future set when ``pid`` exits; the process is left unreaped (a zombie)."""
        future: asyncio.Future[None] = loop.create_future()
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            def wait_in_thread() -> None:
                with contextlib.suppress(ChildProcessError):
                    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
                loop.call_soon_threadsafe(_set_done, future)

            threading.Thread(target=wait_in_thread, name=f"pjsh-wait-{pid}", daemon=True).start()
            return future

        def on_exit() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            _set_done(future)

        loop.add_reader(pidfd, on_exit)
        return future

    def _read_into(self, loop: asyncio.AbstractEventLoop, fd: int, job: Job,
                   stream: Stream) -> asyncio.Future[None]:
        """Copy a pipe into the job's store as it becomes readable; the future marks EOF."""
        future: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        scratch = self._scratch
        grown = False

        def on_readable() -> None:
            nonlocal grown
            try:
                count = os.readv(fd, [scratch])
            except BlockingIOError:
                return
            except OSError:
                count = 0
            if count:
                if not grown and count >= _PIPE_DEFAULT:
                    # A fast writer filled the pipe: a bigger buffer means far fewer wake-ups.
                    # Only then, so hundreds of small jobs do not eat the per-user pipe quota.
                    grown = True
                    _grow_pipe(fd)
                try:
                    job.write_bytes(stream, memoryview(scratch)[:count])
                except OSError as exc:
                    # The spill disk is full: keep draining so the job is not blocked, but say
                    # why output is missing.
                    job.status_message = f"output lost: {exc.strerror}"
                return
            loop.remove_reader(fd)
            os.close(fd)
            _set_done(future)

        loop.add_reader(fd, on_readable)
        return future

    async def _supervise(self, job: Job, run: _Run) -> None:
        """Wait for every exit and for EOF, reap, and set the final state."""
        await asyncio.gather(*run.exits)
        if run.stopping:
            # The stages are gone; anything they left in the group goes too, while the zombie
            # leader still reserves the group id.
            _kill_group(run.pgid, signal.SIGKILL)
        await asyncio.gather(*run.eofs)
        if run.kill_timer is not None:
            run.kill_timer.cancel()
        if run.feeder is not None:
            run.feeder.cancel()
        codes = []
        for popen in run.popens:
            try:
                _, status = os.waitpid(popen.pid, 0)
                code = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                code = popen.returncode if popen.returncode is not None else 0
            # Tell subprocess it is reaped, so Popen.__del__ never waits on a recycled pid.
            popen.returncode = code
            codes.append(code)
        run.reaped = True
        with self._lock:
            self._runs.pop(job, None)
        self._finish(job, run, codes[-1])

    @staticmethod
    def _finish(job: Job, run: _Run, code: int) -> None:
        name = run.spec.commands[-1][0]
        job.exit_code = code if code >= 0 else 128 - code
        if code < 0:
            reason: str | None = f"'{name}' was terminated by signal {signal_name(-code)}"
        elif code != 0:
            reason = f"'{name}' exited with code {code}"
        else:
            reason = None
        if run.stopping:
            job.try_set_state(JobState.Stopped, reason if code < 0 else None)
        elif reason is not None:
            job.try_set_state(JobState.Failed, reason)
        else:
            job.try_set_state(JobState.Completed)

    @staticmethod
    def _kill_leftovers(run: _Run) -> None:
        if not run.reaped:
            _kill_group(run.pgid, signal.SIGKILL)


def _resolve(name: str, cwd: str, search_path: str) -> str:
    """The executable file for argv[0], searched on the job's PATH; _StartFailure if none."""
    if os.sep in name:
        candidate = os.path.join(cwd, name)
        if os.path.isfile(candidate):
            return candidate
        raise _StartFailure(COMMAND_NOT_FOUND.format(name))
    found = shutil.which(name, path=search_path)
    if found is None:
        raise _StartFailure(COMMAND_NOT_FOUND.format(name))
    return found if os.path.isabs(found) else os.path.join(cwd, found)


def _grow_pipe(fd: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, _READ_SIZE)


def _kill_group(pgid: int, sig: int) -> None:
    if pgid <= 0:
        return  # never signal our own group (0) or "every process" (-1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_stopped(pids: list[int]) -> None:
    """Block until each process is stopped (or has exited), without consuming its status."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _feed(loop: asyncio.AbstractEventLoop, fd: int, data: bytes) -> None:
    """Write ``data`` to the first stage's stdin without blocking the loop, then close it."""
    os.set_blocking(fd, False)
    view = memoryview(data)
    try:
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                writable: asyncio.Future[None] = loop.create_future()
                loop.add_writer(fd, _set_done, writable)
                try:
                    await writable
                finally:
                    loop.remove_writer(fd)
                continue
            except (BrokenPipeError, ConnectionResetError):
                return  # the reader quit early, as `head` does
            view = view[written:]
    finally:
        os.close(fd)
