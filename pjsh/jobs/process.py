"""The process backend: a native pipeline run as a job, in its own process group.

Every process of the pipeline joins ONE new process group, so Stop-Job, Suspend-Job and
shutdown act on the whole tree with one ``killpg``. Processes are chained with OS pipes (bytes
never pass through Python between stages); the last stage's stdout and every stage's stderr are
read by the manager's loop straight into the job's output store. That loop is the manager's
I/O loop (``pjsh.runtime.ioloop``): everything here but the stop and suspend coroutines runs on
it without asyncio, so a script's first `&` never waits for asyncio's import.

On Linux the processes are started by a spawn server (``pjsh/jobs/spawner.py``): pjsh sends
the request and goes on, never waiting for an exec; the server reports pids and exit codes
over its socket and keeps each group leader unreaped until pjsh releases the job. Elsewhere
(or with ``PJSH_SPAWNER=0``) they are started directly with ``posix_spawn`` or ``Popen`` and
their exits watched with pidfds (a thread per process where pidfds are missing) *without
reaping*. On both paths the zombie group leader keeps the process-group id reserved until we
have killed any leftovers, so a recycled id can never be hit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import itertools
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pjsh.jobs.model import (
    Job,
    JobError,
    JobState,
    PSRemotingChildJob,
    PSRemotingJob,
)
from pjsh.jobs.storage import OutputStore, Stream
from pjsh.lang.record import dataclass, field
from pjsh.runtime.ioloop import Handle, IOLoop
from pjsh.runtime.launch import LaunchFailed, seal_inherited_fds, start_chain
from pjsh.runtime.native import LaunchRefused, check_launch
from pjsh.runtime.posix import (
    Cancellable,
    find_executable,
    group_members,
    guard_group,
    has_exited,
    kill_group,
    pidfd_open,
    signal_name,
    spawner_available,
    start_guard,
    terminate_group,
    unguard_group,
    wait_stopped,
    waitstatus_to_exitcode,
)

if TYPE_CHECKING:  # novm: never runs (typing.TypeAlias is 3.10+)
    import asyncio
    from typing import TypeAlias

    from pjsh.jobs.manager import JobManager
    from pjsh.jobs.spawnclient import SpawnerClient

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
_posix_spawn = getattr(os, "posix_spawn", None)
# Signals whose being ignored by pjsh a job inherits (exec keeps SIG_IGN), as on the direct
# path; the fork server's children start from defaults and then ignore these the same way.
_INHERITED_IGNORES = tuple(
    getattr(signal, name) for name in
    ("SIGINT", "SIGQUIT", "SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM")
    if hasattr(signal, name)
)
# signal.getsignal wraps the answer in an enum member, which costs more than the lookup.
_getsignal: Callable[[int], object] = getattr(signal, "_signal", signal).getsignal
# How long a caller asking for a job's pids waits for the fork server's reply at most.
_PID_WAIT = 30.0
# Every stage exited but a capture pipe is open: look at the job's group after this long
# (seconds), by when the pipe's EOF, if it is coming, has been read.
_GROUP_CHECK_DELAY = 0.05
# Reads taken from a pipe given up (at most ~1 MiB each): what the job wrote before its end.
_ABANDON_READS = 64


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
    # The absolute executable of each command when the caller has already found them on
    # ``env``'s PATH from ``cwd`` (the shell resolves a name before choosing this path):
    # saves a second search per job. None: searched at start.
    executables: tuple[str, ...] | None = None

    @classmethod
    def of(cls, *commands: Sequence[str], **options: Any) -> NativePipeline:
        """Build from argv sequences: ``NativePipeline.of(["seq", "3"], ["wc", "-l"])``."""
        return cls(tuple(tuple(c) for c in commands), **options)

    def text(self) -> str:
        """The pipeline as a command line (the job's Command when none is given)."""
        import shlex  # only here: a job's row shows its command

        return " | ".join(shlex.join(argv) for argv in self.commands)


class _StartFailure(Exception):
    """The pipeline could not be started; the message is the job's failure reason."""


class _SpawnerGone(Exception):
    """The fork server could not take a request: start this job on the direct path."""


class NativeChildJob(PSRemotingChildJob):
    """The child job of a native pipeline; reading ``process_id`` waits for the fork server
    to have forked the pipeline (it replies asynchronously)."""

    _pid: int | None = None
    _ready: threading.Event | None = None

    @property
    def process_id(self) -> int | None:
        """The group leader's pid, once known."""
        ready = self._ready
        if ready is not None and not ready.is_set():
            backend = self.backend
            if not (isinstance(backend, ProcessBackend) and backend.manager.in_loop_thread()):
                ready.wait(_PID_WAIT)
        return self._pid

    @process_id.setter
    def process_id(self, value: int | None) -> None:
        self._pid = value


@dataclass
class _Run:
    """A started pipeline and what the loop still waits for before the job can end.

    The job ends once every stage has exited *and* every output pipe is at EOF. The pipes are
    watched first; exits are checked without a watcher when the last pipe closes (nearly
    always the processes are gone by then), and pidfds are opened only for stages still
    running at that point, or when a stop needs to know the moment the stages are gone.
    """

    spec: NativePipeline
    pids: list[int] = field(default_factory=list)
    popens: list[subprocess.Popen[bytes]] = field(default_factory=list)  # the fallback path
    pgid: int = 0
    open_pipes: int = 0
    exited: set[int] = field(default_factory=set)
    exit_watchers: dict[int, int] = field(default_factory=dict)  # pid -> pidfd being watched
    stopping: bool = False
    kill_timer: Cancellable | None = None
    feeder: _Feeder | None = None
    reaped: bool = False
    watching: bool = False  # the loop watches its pipes (set by _watch)
    # The fork-server path: the pids arrive asynchronously (``known``, ``ready``), and so do
    # the exit codes (``codes``); an exec or fork failure becomes the job's failure reason.
    served: bool = False
    known: bool = True
    replied: bool = False  # the fork server's pid reply has been handled (under the lock)
    ready: threading.Event | None = None
    codes: dict[int, int] = field(default_factory=dict)
    start_error: str | None = None
    server: SpawnerClient | None = None  # the fork server that started it
    # Capture pipes the fork server made and still holds (it hands one over when it has
    # data, or says it ended empty); each is also counted in open_pipes.
    held: int = 0
    # The pipes pjsh reads (fd -> its reader), so they can be given up (see _check_group).
    readers: dict[int, Callable[[], None]] = field(default_factory=dict)
    # Every stage has exited but a pipe is still open: the pending check of the group, and
    # pidfds of the group's remaining processes (pidfd -> pid).
    group_check: Handle | None = None
    member_watchers: dict[int, int] = field(default_factory=dict)

    def all_exited(self) -> bool:
        """True once every stage is known to have exited (they are still unreaped)."""
        return self.known and len(self.exited) == len(self.pids)


_Pipes: TypeAlias = "tuple[int | None, int | None, int | None]"


class ProcessBackend:
    """Runs native pipelines as jobs (the BackgroundJob of a native-only script block)."""

    # posix_spawn (vfork + exec in C) where it can do all that is needed; Popen otherwise.
    # Tests turn it off to cover the Popen path.
    use_posix_spawn: bool = _posix_spawn is not None
    # splice(2) a pipe into the spill file once the job's output no longer fits in memory.
    use_splice: bool = OutputStore.can_splice()
    # The fork server (pjsh/jobs/spawner.py): pjsh never waits for an exec. Off with
    # PJSH_SPAWNER=0, and where it cannot run; the direct paths above are the fallback.
    # The socket features it needs are checked (spawner_available) when a first server is
    # wanted: loading _socket is not free, and a script's lone `&` starts none.
    use_spawner: bool = os.environ.get("PJSH_SPAWNER", "1") != "0" \
        and sys.platform.startswith("linux")
    # Jobs start directly while the fork server boots, rather than wait for it (see
    # _get_spawner). Tests of the served path turn it off (PJSH_SPAWNER=served: every job
    # goes to a server, the first one waiting for its start-up).
    direct_until_ready: bool = os.environ.get("PJSH_SPAWNER") != "served"

    def __init__(self, manager: JobManager, stop_grace: float = 2.0) -> None:
        self.manager = manager
        self.stop_grace = stop_grace
        self._pending: dict[Job, NativePipeline] = {}
        self._runs: dict[Job, _Run] = {}
        self._lock = threading.Lock()
        # Made at the first read that returns data (zero-filling 1 MiB costs ~1 ms, and most
        # `&` jobs write nothing: their pipes are read only for their EOF).
        self._scratch: bytearray | None = None
        # Started runs waiting for the loop to watch them, and whether a drain is scheduled:
        # a burst of `&` jobs wakes the loop once, not once per job.
        self._incoming: list[tuple[Job, _Run, _Pipes]] = []
        self._drain_scheduled = False
        self._devnull: int | None = None
        # The fork servers, started as needed (see _get_spawner); each keeps its own runs.
        self._servers: list[SpawnerClient] = []
        self._spawner_failed = False
        self._served_wanted = False  # a native job has started: the next one starts a server
        self._request_ids = itertools.count(1)
        self._cwd_seen: str | None = None
        if self.use_posix_spawn:
            seal_inherited_fds()

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
        job = NativeChildJob(
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
        if run is not None and run.ready is not None and not run.ready.is_set() \
                and not self.manager.in_loop_thread():
            run.ready.wait(_PID_WAIT)
        with self._lock:
            return [] if run is None or run.reaped else list(run.pids)

    # ---- JobBackend --------------------------------------------------------------------------

    def start(self, job: Job) -> None:
        """Spawn the pipeline in a new process group (on the caller's thread: a spawn costs
        less than a hop to the loop), then let the loop watch it."""
        with self._lock:
            spec = self._pending.pop(job, None)
        if spec is None:
            raise JobError(f"Job {job.id} has no pipeline to start.")
        run = _Run(spec)
        spawner = self._get_spawner() if self.use_spawner else None
        try:
            try:
                pipes = self._spawn(run, job, spawner)
            except _SpawnerGone:
                run = _Run(spec)
                pipes = self._spawn(run, job, None)
        except _StartFailure as exc:
            job.failure = exc
            job.set_state(JobState.Failed, str(exc))
            return
        with self._lock:
            self._runs[job] = run
        if not run.served:
            job.process_id = run.pgid
        elif isinstance(job, NativeChildJob):
            job._ready = run.ready  # process_id waits for the fork server's reply
        job.set_state(JobState.Running)
        with self._lock:
            self._incoming.append((job, run, pipes))
            # A served run whose pids are still to come needs no wake-up: the loop drains
            # when the fork server's reply arrives (which saves waking the loop per `&` job).
            later = run.served and not run.replied and run.server is not None \
                and not run.server.lost
            wake = not later and not self._drain_scheduled
            if wake:
                self._drain_scheduled = True
        if wake:
            self.manager.io.call_soon_threadsafe(self._drain_incoming)

    def _drain_incoming(self) -> None:
        """On the loop: start watching every run started since the last drain."""
        with self._lock:
            batch, self._incoming = self._incoming, []
            self._drain_scheduled = False
        loop = self.manager.io
        for job, run, pipes in batch:
            self._watch(loop, job, run, pipes)

    def _watch(self, loop: IOLoop, job: Job, run: _Run, pipes: _Pipes) -> None:
        """Read the output pipes and feed stdin; with no pipe to read, watch the exits."""
        out_r, err_r, stdin_w = pipes
        for fd, stream in ((out_r, Stream.Output), (err_r, Stream.Error)):
            if fd is not None:
                run.open_pipes += 1
                self._read_into(loop, fd, job, run, stream)
        if stdin_w is not None:
            assert run.spec.stdin is not None
            run.feeder = _Feeder(loop, stdin_w, run.spec.stdin)
        run.watching = True
        if run.open_pipes == 0:
            self._check_exits(loop, job, run)
        elif run.stopping or not run.served:
            # Stopped before the loop got to it; or started directly: no fork server reports
            # the exits, and a process that left the job's group (setsid) may hold a pipe
            # open after every stage has exited, so they are watched from the start (before,
            # such a direct job stayed Running for ever; the first job is direct now).
            self._watch_exits(loop, job, run)

    async def stop(self, job: Job) -> None:
        """SIGTERM the whole group (SIGCONT too, for a suspended one); SIGKILL after a grace."""
        with self._lock:
            run = self._runs.get(job)
            if run is None and self._pending.pop(job, None) is not None:
                job.set_state(JobState.Stopped)  # never started: still NotStarted
                return
        if run is None or run.reaped or run.stopping or job.is_finished():
            return
        run.stopping = True
        if not job.begin_stopping():
            return  # it ended before the stop arrived
        loop = self.manager.io
        if not run.known:
            return  # the pids are not back from the fork server yet: they get the signals then
        self._signal_stop(loop, run)
        # Leftovers in the group (a background grandchild holding a pipe open) are killed as
        # soon as the stages are gone, so the exits must be watched from now on. (If they are
        # gone already, the leftovers got SIGTERM and the timer brings SIGKILL.)
        with self._lock:
            waiting = any(item[1] is run for item in self._incoming)
        if not waiting and not run.all_exited():
            self._watch_exits(loop, job, run)

    def _signal_stop(self, loop: IOLoop, run: _Run) -> None:
        # No SIGKILL once the leader is reaped: the group id may belong to someone else then.
        run.kill_timer = terminate_group(run.pgid, self.stop_grace, loop=loop,
                                         still_ours=lambda: not run.reaped)

    async def suspend(self, job: Job) -> None:
        """SIGSTOP the group; Suspended once every process of the pipeline has stopped."""
        from pjsh.jobs.groups import may_suspend, suspend_group

        run = self._runs.get(job)
        if not may_suspend(job, run is not None):
            return
        assert run is not None
        loop = self.manager.loop  # asyncio's: this coroutine runs on it
        if run.ready is not None and not run.ready.is_set():
            await loop.run_in_executor(None, run.ready.wait, _PID_WAIT)
        if run.reaped or job.state is not JobState.Running:
            return
        pids = list(run.pids)
        server = run.server if run.served else None
        if server is None:
            await suspend_group(job, run.pgid,
                                lambda: loop.run_in_executor(None, wait_stopped, pids))
        else:
            # The fork server's children are not ours to waitid on: their parent says when
            # they have stopped.
            await suspend_group(job, run.pgid, lambda: self._served_stopped(server, run, pids))

    async def _served_stopped(self, server: SpawnerClient, run: _Run, pids: list[int]) -> None:
        """Ask the fork server to say when these stages have stopped; wait for its answer
        (or for it to be gone: then it has killed them)."""
        future = server.stop_confirms.get(run.pgid)
        if future is None:
            future = server.stop_confirms[run.pgid] = self.manager.loop.create_future()
            try:
                if server.post({"z": run.pgid, "p": pids}):
                    self._await_room(server)
            except OSError:
                server.stop_confirms.pop(run.pgid, None)
                return
        await future

    async def resume(self, job: Job) -> None:
        """SIGCONT the group; Running again."""
        from pjsh.jobs.groups import may_resume, resume_group

        run = self._runs.get(job)
        if may_resume(job, run is not None):
            assert run is not None
            resume_group(job, run.pgid)

    # ---- spawning ----------------------------------------------------------------------------

    def _spawn(self, run: _Run, job: Job, spawner: SpawnerClient | None) -> _Pipes:
        """Start every stage (or have the fork server start them: ``spawner``); return the
        read ends of stdout/stderr and stdin's write end."""
        spec = run.spec
        try:
            # Refused here, before either path: a NUL in an argument or a bad environment
            # entry would make posix_spawn/Popen raise mid-start, or the fork server fail.
            check_launch(spec.commands, spec.env)
        except LaunchRefused as exc:
            raise _StartFailure(self._failed_to_run(run, exc.stage, str(exc))) from None
        if spawner is not None and spec.cwd is not None and spec.cwd == self._cwd_seen:
            # Checked when last used; should it have gone since, the server's chdir fails and
            # the job fails with the same reason. (Saves two system calls per `&` job.)
            cwd = here = spec.cwd
        else:
            cwd = spec.cwd or os.getcwd()
            here = _getcwd()
            # The shell's own directory exists (or getcwd would have failed): no stat needed.
            if cwd != here and not os.path.isdir(cwd):
                raise _StartFailure(WORKING_DIRECTORY_NOT_FOUND.format(cwd))
            self._cwd_seen = cwd
        # No env given: the children inherit ours without Python re-encoding it per spawn.
        env = None if spec.env is None else dict(spec.env)
        path = (os.environ if env is None else env).get("PATH")
        if spec.executables is not None and cwd == spec.cwd \
                and len(spec.executables) == len(spec.commands):
            executables = list(spec.executables)
        else:
            executables = [_resolve(argv[0], cwd, path) for argv in spec.commands]
        if spawner is not None and len(spec.commands) * 3 > _MAX_SERVED_FDS:
            spawner = None  # more descriptors than one message can carry
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
        # The fork server makes the capture pipes and /dev/null itself (see spawner.py):
        # a job that writes nothing then costs pjsh no pipe at all.
        served = spawner is not None
        try:
            if spec.stdin is not None:
                stdin_r, stdin_w = os.pipe()
                owned.append(stdin_r)
                first_in: int = stdin_r
            else:
                first_in = _SERVER_NULL if served else self._null_input()
            if spec.stdout_path is not None:
                last_out = target(spec.stdout_path, spec.stdout_append)
            elif served:
                last_out = _SERVER_OUT
                run.held += 1
            else:
                out_r, last_out = os.pipe()
                owned.append(last_out)
            if spec.stderr_path is not None:
                err_w = target(spec.stderr_path, spec.stderr_append)
            elif served:
                err_w = _SERVER_ERR
                run.held += 1
            else:
                err_r, err_w = os.pipe()
                owned.append(err_w)
            if spawner is not None:
                run.open_pipes = run.held  # before the request: the replies may come at once
                self._request(spawner, job, run, cwd, env, executables, first_in, last_out,
                              err_w, owned)
                return out_r, err_r, stdin_w
            # The one launcher (pjsh.runtime.launch), as a foreground pipeline's natives.
            # Guarded from the first stage on: no fork server kills it should pjsh die.
            start_guard()
            procs = start_chain(
                list(zip(executables, spec.commands)), first_in, last_out,
                [err_w] * len(spec.commands), cwd=cwd, env=env, new_group=True,
                fast=self.use_posix_spawn, guard=guard_group, unguard=unguard_group)
            run.pids = [proc.pid for proc in procs]
            run.popens = [proc.popen for proc in procs if proc.popen is not None]
            run.pgid = run.pids[0]
        except BaseException as exc:
            for fd in (out_r, err_r, stdin_w):
                if fd is not None:
                    os.close(fd)
            if isinstance(exc, LaunchFailed):
                name = spec.commands[exc.stage][0]
                raise _StartFailure(
                    f"Program '{name}' failed to run: {exc.error.strerror}") from exc
            raise
        finally:
            for fd in owned:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return out_r, err_r, stdin_w

    def _request(self, spawner: SpawnerClient, job: Job, run: _Run, cwd: str,
                 env: dict[str, str] | None, executables: list[str], first_in: int,
                 last_out: int, err_w: int, owned: list[int]) -> None:
        """Send the pipeline to the fork server; its pids and exits come back on the loop."""
        from pjsh.jobs import spawnclient  # loaded by now: the server exists

        fds: list[int] = []
        index: dict[int, int] = {}

        def slot(fd: int) -> int:
            if fd < 0:
                return fd  # one the server makes
            if fd not in index:
                index[fd] = len(fds)
                fds.append(fd)
            return index[fd]

        stages: list[list[object]] = []
        prev = first_in
        count = len(run.spec.commands)
        for number, (argv, executable) in enumerate(zip(run.spec.commands, executables)):
            if number < count - 1:
                next_r, out = os.pipe()
                owned.extend((next_r, out))
            else:
                next_r, out = -1, last_out
            stages.append([executable, argv, slot(prev), slot(out), slot(err_w)])
            prev = next_r
        run.served = True
        run.known = False
        run.ready = threading.Event()
        run.server = spawner
        request_id = next(self._request_ids)
        with self._lock:
            spawner.requests[request_id] = (job, run)
        message: dict[str, object] = {
            "i": request_id, "c": cwd, "e": env, "s": stages,
            "g": [s for s in _INHERITED_IGNORES if _getsignal(s) == signal.SIG_IGN],
        }
        try:
            if fds:
                spawner.send(message, fds, env=env)
            elif spawner.submit(message, env=env):  # held while the server owes a reply
                self.manager.io.call_soon_threadsafe(self._await_room, spawner)
        except (spawnclient.RequestTooLarge, spawnclient.SpawnerBusy) as exc:
            with self._lock:
                spawner.requests.pop(request_id, None)
            run.server = None
            raise _SpawnerGone from exc  # this job starts directly; the server stays
        except OSError as exc:
            with self._lock:
                spawner.requests.pop(request_id, None)
            self._spawner_lost(spawner)
            raise _SpawnerGone from exc

    # ---- the fork server ---------------------------------------------------------------------

    def _get_spawner(self) -> SpawnerClient | None:
        """The fork server for the next job; None where none can run.

        A server starts jobs one at a time, each ``posix_spawn`` waiting for its exec; during
        a burst of jobs a second one (up to one per CPU, at most _MAX_SERVERS) lets those
        waits overlap, as bash's forks overlap its children's execs. A job goes to the server
        with the fewest requests still unanswered; another server starts only when every
        running one has a request outstanding, so a lone job never pays for it.

        With ``direct_until_ready`` (the default), a job never waits for a server's start-up
        (a Python start-up, ~40 ms): None (start directly) while the chosen server has not
        said it serves. And the first native job starts no server at all (unless one was
        prestarted): a script's lone `&` needs none, and the second job starts it.
        """
        with self._lock:
            if self._spawner_failed:
                return None
            servers = self._servers
            best = min(servers, key=_backlog) if servers else None
            if best is not None and (not best.requests or len(servers) >= _server_limit()):
                return self._usable(best)
            if best is None and self.direct_until_ready and not self._served_wanted:
                self._served_wanted = True  # the next job starts one
                # Not even loaded (its socket and json imports are not free): none prestarted.
                loaded = sys.modules.get("pjsh.jobs.spawnclient")
                if loaded is None or not loaded.prestarted():
                    return None
            if best is None and not spawner_available():
                self._spawner_failed = True  # no server can run here: every job starts directly
                return None
            from pjsh.jobs import spawnclient

            try:
                # The first may have been started already, while the job engine loaded.
                spawner = (spawnclient.take_prestarted() if best is None else None) \
                    or spawnclient.SpawnerClient()
            except OSError:
                if best is None:
                    self._spawner_failed = True
                return self._usable(best) if best is not None else None
            servers.append(spawner)
        self.manager.io.call_soon_threadsafe(self._attach_spawner, spawner)
        return self._usable(spawner)

    def _usable(self, spawner: SpawnerClient) -> SpawnerClient | None:
        """The server, if a job may go to it now (see _get_spawner); None: start directly."""
        if spawner.ready or not self.direct_until_ready:
            return spawner
        # Its first message may be there, not yet read by the loop.
        try:
            if not spawner.lost and select.select([spawner.sock], [], [], 0)[0]:
                return spawner
        except (OSError, ValueError):  # its socket was just closed: the server is gone
            pass
        return None

    def _attach_spawner(self, spawner: SpawnerClient) -> None:
        self.manager.io.add_reader(spawner.sock.fileno(), self._on_spawner, spawner)

    def _on_spawner(self, spawner: SpawnerClient) -> None:
        """On the loop: every reply the fork server has sent (pids, exits, capture pipes)."""
        import socket  # loaded with the server's client

        flags = socket.MSG_DONTWAIT | socket.MSG_CMSG_CLOEXEC
        space = socket.CMSG_SPACE(253 * 4) if hasattr(socket, "CMSG_SPACE") else 0
        while True:
            fds: list[int] = []
            try:
                data, ancillary, _flags, _addr = spawner.sock.recvmsg(65536, space, flags)
                fds = _received_fds(ancillary)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                for fd in fds:
                    os.close(fd)
                loop = self.manager.io
                loop.remove_reader(spawner.sock.fileno())
                if spawner.awaiting_room:
                    loop.remove_writer(spawner.sock.fileno())
                spawner.sock.close()
                self._spawner_lost(spawner)
                return
            fds.reverse()  # handed over in the order of their lines; popped from the end
            try:
                self._on_replies(spawner, data, fds)
            finally:
                # Requests held back while these replies were owed go now, whatever happened
                # above: nothing else would send them.
                try:
                    if spawner.flush():
                        self._await_room(spawner)
                except OSError:
                    pass  # the server is gone: the next read says so
                for fd in fds:
                    os.close(fd)  # handed over for lines that could not be handled
            if self._incoming:
                self._drain_incoming()  # runs that waited for their pids (see start)

    def _on_replies(self, spawner: SpawnerClient, data: bytes, fds: list[int]) -> None:
        """One datagram of replies, a line each; ``fds`` holds the descriptors handed over,
        the next one last."""
        from json import loads  # loaded with the server's client

        for line in data.split(b"\n"):
            try:
                reply = loads(line)
                if "x" in reply:
                    self._on_served_exit(spawner, reply["x"], reply["c"])
                elif "q" in reply:
                    self._on_quiet_capture(spawner, reply["q"], reply["s"])
                elif "h" in reply:
                    self._on_handed_capture(spawner, reply["h"], reply["s"], fds.pop())
                elif "k" in reply:
                    spawner.ready = True  # it serves: jobs go to it from now on
                elif "Z" in reply:
                    confirmed = spawner.stop_confirms.pop(reply["Z"], None)
                    if confirmed is not None and not confirmed.done():
                        confirmed.set_result(None)
                elif "R" in reply:
                    with self._lock:
                        entry = spawner.releasing.pop(reply["R"], None)
                    if entry is not None:
                        self._settle_served(*entry)
                else:
                    spawner.answered()
                    self._on_served_pids(spawner, reply["i"], reply["p"], reply.get("f"))
            except Exception:
                # A bug handling one reply must not lose the others in the message (their
                # jobs would wait for ever): report it and go on.
                _report_reply_failure(line)

    def _on_served_pids(self, spawner: SpawnerClient, request_id: int, pids: list[int],
                        failure: str | None) -> None:
        with self._lock:
            job, run = spawner.requests.pop(request_id)
            run.replied = True
            run.pids = pids
            run.pgid = pids[0] if pids else 0
            for pid in pids:
                spawner.by_pid[pid] = (job, run)
        if failure is not None:
            run.start_error = WORKING_DIRECTORY_NOT_FOUND.format(failure[1:]) \
                if failure.startswith("\0") else self._failed_to_run(run, len(pids), failure)
        run.known = True
        if run.held:
            if failure is None and pids:
                with self._lock:
                    spawner.captures[run.pgid] = (job, run)
            else:  # a failed start: the server closed the capture pipes
                run.open_pipes -= run.held
                run.held = 0
        job.process_id = run.pgid or None
        assert run.ready is not None
        run.ready.set()
        if run.stopping and not run.reaped:
            self._signal_stop(self.manager.io, run)
        if run.all_exited():
            self._on_all_exited(job, run)

    def _on_served_exit(self, spawner: SpawnerClient, pid: int, code: int) -> None:
        with self._lock:
            entry = spawner.by_pid.pop(pid, None)
        if entry is None:
            return
        job, run = entry
        run.exited.add(pid)
        run.codes[pid] = code
        if run.all_exited():
            self._on_all_exited(job, run)

    def _on_quiet_capture(self, spawner: SpawnerClient, pgid: int, mask: int) -> None:
        """Capture pipes (a mask of output 1, error 2) ended without a byte."""
        entry = self._held_capture(spawner, pgid, 2 if mask == 3 else 1)
        if entry is None:
            return
        job, run = entry
        run.open_pipes -= 2 if mask == 3 else 1
        if run.open_pipes == 0 and run.watching:
            self._check_exits(self.manager.io, job, run)

    def _on_handed_capture(self, spawner: SpawnerClient, pgid: int, stream: int,
                           fd: int) -> None:
        """A capture pipe has data: read it from now on (it stays counted in open_pipes)."""
        entry = self._held_capture(spawner, pgid, 1)
        if entry is None:
            os.close(fd)
            return
        job, run = entry
        self._read_into(self.manager.io, fd, job, run,
                        Stream.Output if stream == 1 else Stream.Error)

    def _held_capture(self, spawner: SpawnerClient, pgid: int,
                      count: int) -> tuple[Job, _Run] | None:
        """The run whose ``count`` capture pipes the server no longer holds."""
        with self._lock:
            entry = spawner.captures.get(pgid)
            if entry is None:
                return None
            run = entry[1]
            run.held -= count
            if run.held <= 0:
                del spawner.captures[pgid]
        return entry

    @staticmethod
    def _failed_to_run(run: _Run, stage: int, message: str) -> str:
        return f"Program '{run.spec.commands[stage][0]}' failed to run: {message}"

    def _spawner_lost(self, spawner: SpawnerClient) -> None:
        """A fork server is gone: later jobs start directly (one that died unasked says
        something is wrong); runs it served end now (it killed their groups as it went)."""
        with self._lock:
            if spawner.lost:
                return
            spawner.lost = True
            if spawner in self._servers:
                self._servers.remove(spawner)
            self._spawner_failed = True
            requests, spawner.requests = spawner.requests, {}
            by_pid, spawner.by_pid = spawner.by_pid, {}
            releasing, spawner.releasing = spawner.releasing, {}
            captures, spawner.captures = spawner.captures, {}
            spawner.drop_queue()  # never sent: their runs are among the requests
        loop = self.manager.io
        # Served runs queued to wait for their pids will never hear them: watch them now.
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to watch
            loop.call_soon_threadsafe(self._drain_incoming)
        for job, run in releasing.values():
            loop.call_soon_threadsafe(self._settle_served, job, run)
        # Suspends waiting for its word: it killed their groups as it went.
        loop.call_soon_threadsafe(_release_all, spawner.stop_confirms)
        if spawner.closing:
            return
        lost = "the process spawner exited"
        for _job, run in requests.values():
            run.start_error = self._failed_to_run(run, 0, lost)
            run.known = True
            assert run.ready is not None
            run.ready.set()
        for pid, (_job, run) in by_pid.items():
            # Killed by the server had it ended normally; if it was killed itself, its jobs
            # must not outlive it either.
            kill_group(run.pgid, signal.SIGKILL)
            run.exited.add(pid)
            run.codes[pid] = -signal.SIGKILL
        for job, run in {id(r): (j, r) for j, r in [
                *requests.values(), *by_pid.values(), *captures.values()]}.values():
            loop.call_soon_threadsafe(self._after_loss, job, run)

    def _after_loss(self, job: Job, run: _Run) -> None:
        # The capture pipes it still held went with it: nothing more will come from them.
        run.open_pipes -= run.held
        run.held = 0
        if run.all_exited():
            self._on_all_exited(job, run)

    def _null_input(self) -> int:
        """A shared read-only /dev/null descriptor for stages without input."""
        with self._lock:
            if self._devnull is None:
                self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            return self._devnull

    # ---- watching ----------------------------------------------------------------------------

    def _read_into(self, loop: IOLoop, fd: int, job: Job, run: _Run,
                   stream: Stream) -> None:
        """Copy a pipe into the job's store as it becomes readable, then count its EOF.

        While the store keeps records in memory, each read lands in one shared scratch buffer
        and the store copies it. Once the store spills to disk, the pipe is spliced into the
        spill file instead, so bulk output never enters Python at all.
        """
        os.set_blocking(fd, False)
        store = job.store
        grown = False
        splice = self.use_splice

        def on_readable() -> None:
            nonlocal grown, splice
            count = -1
            if splice and store.spilling:
                # The store drains the pipe itself when it cannot keep the bytes (a full
                # disk): a pipe left readable would wake this reader again at once.
                try:
                    count = store.splice_from(stream, fd)
                except BlockingIOError:
                    return
                except OSError:  # EINVAL: no splice into this file system: read instead
                    splice = False
                    count = -1
            if count < 0:
                scratch = self._scratch
                try:
                    if scratch is None:
                        # No scratch yet: a read of its own, which costs nothing at EOF.
                        data: bytes | memoryview = os.read(fd, _READ_SIZE)
                        count = len(data)
                        if count:
                            self._scratch = bytearray(_READ_SIZE)
                    else:
                        count = os.readv(fd, [scratch])
                        data = memoryview(scratch)[:count]
                except BlockingIOError:
                    return
                except OSError:
                    count = 0
                if count:
                    # Never raises for want of room: the store counts what it drops.
                    job.write_bytes(stream, data)
            elif count:
                job._emit_output(stream)  # the bytes went in behind write_bytes' back
            if count:
                if not grown and count >= _PIPE_DEFAULT:
                    # A fast writer filled the pipe: a bigger buffer means far fewer wake-ups.
                    # Only then, so hundreds of small jobs do not eat the per-user pipe quota.
                    grown = True
                    _grow_pipe(fd)
                return
            loop.remove_reader(fd)
            os.close(fd)
            run.readers.pop(fd, None)
            run.open_pipes -= 1
            if run.open_pipes == 0:
                self._check_exits(loop, job, run)

        run.readers[fd] = on_readable
        loop.add_reader(fd, on_readable)

    def _check_exits(self, loop: IOLoop, job: Job, run: _Run) -> None:
        """The pipes are at EOF: finish if every stage has exited, else watch the rest."""
        if run.served:  # the fork server reports every exit
            if run.all_exited():
                self._finish_run(job, run)
            return
        for pid in run.pids:
            if pid not in run.exited and has_exited(pid):
                run.exited.add(pid)
        if run.all_exited():
            self._finish_run(job, run)
        else:
            self._watch_exits(loop, job, run)

    def _watch_exits(self, loop: IOLoop, job: Job, run: _Run) -> None:
        """Watch each stage not yet known to have exited (pidfd, or a waitid thread)."""
        if run.served:
            return  # the fork server reports every exit
        for pid in run.pids:
            if pid in run.exited or pid in run.exit_watchers:
                continue
            try:
                pidfd = pidfd_open(pid)
            except (AttributeError, OSError):
                run.exit_watchers[pid] = -1
                threading.Thread(target=_wait_exit_in_thread,
                                 args=(loop, pid, self._on_exit, job, run),
                                 name=f"pjsh-wait-{pid}", daemon=True).start()
                continue
            run.exit_watchers[pid] = pidfd
            loop.add_reader(pidfd, self._on_exit, job, run, pid)

    def _on_exit(self, job: Job, run: _Run, pid: int) -> None:
        """On the loop: one stage has exited (still unreaped)."""
        pidfd = run.exit_watchers.pop(pid, -1)
        if pidfd >= 0:
            self.manager.io.remove_reader(pidfd)
            os.close(pidfd)
        if pid in run.exited:
            return
        run.exited.add(pid)
        if run.all_exited():
            self._on_all_exited(job, run)

    def _on_all_exited(self, job: Job, run: _Run) -> None:
        if run.stopping:
            # The stages are gone; anything they left in the group goes too, while the zombie
            # leader still reserves the group id.
            kill_group(run.pgid, signal.SIGKILL)
        if run.open_pipes == 0 and run.watching:
            self._finish_run(job, run)
        elif run.watching and run.group_check is None and not run.member_watchers:
            # A pipe is still open although every stage has exited. Nearly always its EOF is
            # simply next in the loop; if not, something else holds it (see _check_group).
            run.group_check = self.manager.io.call_later(
                _GROUP_CHECK_DELAY, self._check_group, job, run)

    def _check_group(self, job: Job, run: _Run) -> None:
        """Every stage has exited and a capture pipe is still open. The job ends when its
        process group is empty: a process the job left in its group (a `cmd &` of its
        script) is still the job's, and its output is waited for; one that left the group
        (`setsid`, a daemon) is not, so the pipe it holds is drained of what is in it and
        given up. Decided by process, as bash decides a job's end, not by the pipe."""
        run.group_check = None
        if run.reaped or run.open_pipes == 0:
            return
        loop = self.manager.io
        members = [pid for pid in group_members(run.pgid) if pid not in run.pids] \
            if run.pgid > 0 else []
        for pid in members:
            try:
                pidfd = pidfd_open(pid)
            except ProcessLookupError:
                continue
            except (AttributeError, OSError):
                # No pidfds: look again later (this only happens in this rare case).
                run.group_check = loop.call_later(_GROUP_CHECK_DELAY, self._check_group,
                                                  job, run)
                return
            run.member_watchers[pidfd] = pid
            loop.add_reader(pidfd, self._on_member_exit, job, run, pidfd)
        if run.member_watchers:
            return
        if members:  # they were gone before their pidfds were opened: look again
            run.group_check = loop.call_soon(self._check_group, job, run)
            return
        self._abandon_pipes(loop, job, run)

    def _on_member_exit(self, job: Job, run: _Run, pidfd: int) -> None:
        """A process left in the job's group has exited; once all have, look again (one of
        them may have started another)."""
        loop = self.manager.io
        loop.remove_reader(pidfd)
        os.close(pidfd)
        run.member_watchers.pop(pidfd, None)
        if not run.member_watchers and run.group_check is None:
            run.group_check = loop.call_soon(self._check_group, job, run)

    def _abandon_pipes(self, loop: IOLoop, job: Job, run: _Run) -> None:
        """The job's group is empty, yet a process outside it holds a capture pipe: keep
        what the job's processes wrote (it is in the pipe already), stop reading, finish."""
        for fd, reader in list(run.readers.items()):
            for _ in range(_ABANDON_READS):
                if fd not in run.readers or not select.select([fd], [], [], 0)[0]:
                    break
                reader()
            if fd in run.readers:
                del run.readers[fd]
                loop.remove_reader(fd)
                os.close(fd)
                run.open_pipes -= 1
        if run.reaped:
            return
        if run.held:
            # Pipes the fork server still holds (nothing was written to them): it closes
            # them when the job is released.
            run.open_pipes -= run.held
            run.held = 0
            server = run.server
            if server is not None:
                with self._lock:
                    server.captures.pop(run.pgid, None)
        if run.open_pipes <= 0:
            run.open_pipes = 0
            self._finish_run(job, run)

    def _finish_run(self, job: Job, run: _Run) -> None:
        """Reap every stage and set the final state from the last stage's status."""
        if run.reaped:
            return
        if run.kill_timer is not None:
            run.kill_timer.cancel()
        if run.feeder is not None:
            run.feeder.cancel()
        loop = self.manager.io
        if run.group_check is not None:
            run.group_check.cancel()
            run.group_check = None
        for pidfd in run.member_watchers:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        run.member_watchers.clear()
        for pidfd in run.exit_watchers.values():
            if pidfd >= 0:
                loop.remove_reader(pidfd)
                os.close(pidfd)
        run.exit_watchers.clear()
        if run.served:
            self._finish_served(job, run)
            return
        codes = []
        popens = {popen.pid: popen for popen in run.popens}
        for pid in run.pids:
            try:
                _, status = os.waitpid(pid, 0)
                code = waitstatus_to_exitcode(status)
            except ChildProcessError:
                popen = popens.get(pid)
                code = popen.returncode if popen is not None and popen.returncode is not None \
                    else 0
            popen = popens.get(pid)
            if popen is not None:
                # Tell subprocess it is reaped, so Popen.__del__ never waits on a recycled pid.
                popen.returncode = code
            codes.append(code)
        run.reaped = True
        unguard_group(run.pgid)
        with self._lock:
            self._runs.pop(job, None)
        self._finish(job, run, codes[-1])

    def _finish_served(self, job: Job, run: _Run) -> None:
        """The fork server's run has ended: have it reap the group leader; the job's state is
        set once it has (``_settle_served``), so a finished job's group is gone, as on the
        direct path."""
        run.reaped = True
        # A stopped job's group must be gone when it reports Stopped: wait for the server to
        # say so. A job that ended by itself needs no such wait (its leader is a zombie).
        acknowledge = run.stopping
        spawner = run.server
        with self._lock:
            self._runs.pop(job, None)
            if spawner is not None and spawner.lost:
                spawner = None
            if spawner is not None and run.pgid and acknowledge:
                spawner.releasing[run.pgid] = (job, run)
        if spawner is not None and run.pgid:
            if not acknowledge:
                # Batched: a burst of ending jobs costs the server one message.
                if not spawner.releases:
                    self.manager.io.call_soon(self._send_releases, spawner)
                spawner.releases.append(run.pgid)
            else:
                try:
                    if spawner.post({"r": [run.pgid], "a": 1}):
                        self._await_room(spawner)
                    return
                except OSError:
                    with self._lock:
                        spawner.releasing.pop(run.pgid, None)
        self._settle_served(job, run)

    def _send_releases(self, spawner: SpawnerClient) -> None:
        releases, spawner.releases = spawner.releases, []
        if not spawner.lost and releases:
            with contextlib.suppress(OSError):
                if spawner.post({"r": releases}):
                    self._await_room(spawner)

    def _await_room(self, spawner: SpawnerClient) -> None:
        """On the loop: send the server's queue once its socket has room again."""
        if not spawner.lost and not spawner.awaiting_room:
            spawner.awaiting_room = True
            self.manager.io.add_writer(spawner.sock.fileno(), self._on_room, spawner)

    def _on_room(self, spawner: SpawnerClient) -> None:
        try:
            left = not spawner.lost and spawner.flush()
        except OSError:
            left = False  # the server is gone: the reader sees the end
        if not left:
            spawner.awaiting_room = False
            self.manager.io.remove_writer(spawner.sock.fileno())

    def _settle_served(self, job: Job, run: _Run) -> None:
        """Set a served run's final state from its exit codes or its start failure."""
        if run.start_error is not None:
            failure = _StartFailure(run.start_error)
            job.failure = failure
            if run.stopping:
                job.finish_if_unfinished(JobState.Stopped)
            else:
                job.finish_if_unfinished(JobState.Failed, str(failure))
            return
        self._finish(job, run, run.codes.get(run.pids[-1], 0))

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
        # The manager may have ended the job first (a stop that raised marks it Failed).
        if run.stopping:
            job.finish_if_unfinished(JobState.Stopped, reason if code < 0 else None)
        elif reason is not None:
            job.finish_if_unfinished(JobState.Failed, reason)
        else:
            job.finish_if_unfinished(JobState.Completed)

    def close(self) -> None:
        """Release the shared /dev/null descriptor and end the fork server (after the jobs
        have ended)."""
        with self._lock:
            devnull, self._devnull = self._devnull, None
            servers, self._servers = self._servers, []
            idle = [not (s.requests or s.by_pid or s.captures or s.releasing) for s in servers]
        if devnull is not None:
            os.close(devnull)
        for spawner, nothing_left in zip(servers, idle):
            spawner.close(idle=nothing_left)


def _resolve(name: str, cwd: str, search_path: str | None) -> str:
    """The executable file for argv[0], found with the shell's rules on the job's PATH;
    _StartFailure (with this backend's message) if none."""
    found = find_executable(name, search_path, cwd)
    if found is not None:
        return found
    # Checked here so the start fails at once on every path (the fork server would only
    # learn it from the exec, after the job is Running).
    if "/" in name and os.path.isfile(os.path.join(cwd, os.path.expanduser(name))):
        raise _StartFailure(f"Program '{name}' failed to run: {os.strerror(errno.EACCES)}")
    raise _StartFailure(COMMAND_NOT_FOUND.format(name))


def _report_reply_failure(line: bytes) -> None:
    import logging  # lazy: only on this rare path

    logging.getLogger("pjsh.jobs").exception("fork server reply not handled: %r", line[:200])


def _grow_pipe(fd: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, _READ_SIZE)


def _release_all(waiters: dict[int, asyncio.Future[None]]) -> None:
    """Resolve every waiting future of the map and empty it (on the loop)."""
    for future in waiters.values():
        if not future.done():
            future.set_result(None)
    waiters.clear()


def _wait_exit_in_thread(loop: IOLoop, pid: int,
                         on_exit: Callable[[Job, _Run, int], None], job: Job, run: _Run) -> None:
    """Where pidfds are missing: block on the exit (without reaping), then tell the loop."""
    with contextlib.suppress(ChildProcessError):
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    loop.call_soon_threadsafe(on_exit, job, run, pid)


def _getcwd() -> str:
    """The shell process's directory, or "" when it was deleted under us."""
    try:
        return os.getcwd()
    except OSError:
        return ""


class _Feeder:
    """Writes ``data`` to the first stage's stdin without blocking the loop, then closes it;
    ``cancel()`` (the job ended) stops and closes it at once."""

    def __init__(self, loop: IOLoop, fd: int, data: bytes) -> None:
        self._loop = loop
        self._fd = fd
        self._view = memoryview(data)
        self._waiting = False
        os.set_blocking(fd, False)
        self._write()

    def _write(self) -> None:
        fd = self._fd
        while self._view:
            try:
                written = os.write(fd, self._view)
            except BlockingIOError:
                if not self._waiting:
                    self._waiting = True
                    self._loop.add_writer(fd, self._write)
                return
            except (BrokenPipeError, ConnectionResetError):
                break  # the reader quit early, as `head` does
            self._view = self._view[written:]
        self.cancel()

    def cancel(self) -> None:
        """Stop writing and close the pipe (once)."""
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        if self._waiting:
            self._waiting = False
            self._loop.remove_writer(fd)
        self._view = memoryview(b"")
        os.close(fd)


_MAX_SERVED_FDS = 240  # SCM_RIGHTS carries at most 253 descriptors per message
_MAX_SERVERS = 4  # fork servers at most (each is a small Python process)
# Stage descriptors the fork server makes itself (see spawner.py): the capture pipes of the
# job's output and errors, and /dev/null.
_SERVER_OUT, _SERVER_ERR, _SERVER_NULL = -1, -2, -3


def _received_fds(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    """The descriptors passed with a message (SCM_RIGHTS)."""
    import socket  # loaded with the server's client

    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds.extend(int.from_bytes(payload[i:i + 4], sys.byteorder, signed=True)
                       for i in range(0, usable, 4))
    return fds


@functools.lru_cache(maxsize=None)  # functools.cache is 3.9+; the engine runs on 3.8
def _server_limit() -> int:
    """How many fork servers may run: one per CPU this process may use, up to _MAX_SERVERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_SERVERS))


def _backlog(spawner: SpawnerClient) -> int:
    """The requests a fork server has not answered yet."""
    return len(spawner.requests)
