"""Finding and running native programs: PATH lookup, argv building, OS-pipe wiring.

Arguments always reach programs as an argv list, never through a shell string. A run of
native commands in one pipeline is connected with OS pipes so their bytes never pass
through Python; only the edges that meet cmdlets (or a capturing caller) are read or fed.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import selectors
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence

from pjsh.lang.record import dataclass
from pjsh.runtime.convert import to_string
from pjsh.runtime.launch import MERGE, LaunchFailed, Process, start_chain
from pjsh.runtime.posix import guard_group, start_guard, unguard_group


def expand_native_arg(value: object, bareword: bool, cwd: str) -> list[str]:
    """Turn one argument value into argv strings: arrays become several arguments,
    unquoted ``~`` and wildcards expand like pwsh on Unix (no match: passed literally)."""
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            out.extend(expand_native_arg(v, False, cwd))
        return out
    if value is None:
        return []  # like pwsh: a $null argument is no argument ("" is an empty one)
    text = to_string(value)
    if bareword:
        if text == "~" or text.startswith("~/"):
            text = os.path.expanduser(text)
        if any(c in text for c in "*?[") and not text.startswith("-"):
            pattern = text if os.path.isabs(text) else os.path.join(cwd, text)
            matches = sorted(glob.glob(pattern))
            if matches:
                if not os.path.isabs(text):
                    return [os.path.relpath(m, cwd) for m in matches]
                return matches
    return [text]


class LaunchRefused(ValueError):
    """Arguments or an environment that no program can be started with; the message says
    which, in PowerShell's words, and ``stage`` which command of the pipeline it concerns."""

    def __init__(self, message: str, stage: int = 0) -> None:
        super().__init__(message)
        self.stage = stage


def shown(text: str) -> str:
    """Text for a message, with a NUL written as PowerShell's escape (`` `0 ``)."""
    return text.replace("\0", "`0")


def env_entry_problem(name: str, value: str | None) -> str | None:
    """Why an environment variable cannot be set (None: it can). The kernel's environment
    is ``NAME=value`` C strings: a name holds no ``=``, and neither part a NUL."""
    if not name or "=" in name:
        return "Environment variable name cannot contain equal character."
    if "\0" in name:
        return ('Cannot process argument because the value of argument "name" is not valid. '
                'Change the value of the "name" argument and run the operation again.')
    if value is not None and "\0" in value:
        return ('Cannot process argument because the value of argument "value" is not valid. '
                'Change the value of the "value" argument and run the operation again.')
    return None


def check_launch(argvs: Iterable[Sequence[str]], env: Mapping[str, str] | None) -> None:
    """Refuse what no spawn could take, before any spawn path (foreground natives, both paths
    of ``&`` jobs) sees it: a NUL in an argument, a bad environment entry. Raises
    :class:`LaunchRefused`."""
    for stage, argv in enumerate(argvs):
        for arg in argv:
            if "\0" in arg:
                raise LaunchRefused(
                    f'Cannot process argument because the value of argument "{shown(arg)}" is '
                    "not valid: a program's arguments cannot contain a NUL character.", stage)
    if env is None:
        return
    # Every `&` job passes through here: look at all names and all values at once first.
    names = "".join(env)
    if "=" not in names and "\0" not in names and "\0" not in "".join(env.values()) \
            and "" not in env:
        return
    for name, value in env.items():
        problem = env_entry_problem(name, value)
        if problem is not None:
            raise LaunchRefused(f"{problem} (environment variable '{shown(name)}')")


def encode_text(text: str) -> bytes:
    """Encode text for a native's stdin, keeping smuggled raw bytes (surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


@dataclass
class NativeSpec:
    """One native command of a pipeline segment."""

    argv: list[str]
    path: str
    display: str


# Input of at least this size grows the stdin pipe to it (bytes).
_BIG_FEED = 1024 * 1024


class NativeGroup:
    """A run of adjacent native commands connected by OS pipes.

    ``stdin``: None = inherit, an int fd, or PIPE (fed by :meth:`feed`).
    ``stdout``: an int fd to inherit/write, or PIPE (read and passed to ``on_line``).
    """

    def __init__(self, specs: Sequence[NativeSpec], cwd: str, env: dict[str, str],
                 stdin: int | None, stdout: int | None, stderr: Sequence[int | None],
                 merge_stderr: Sequence[bool] = (),
                 on_stdout: Callable[[bytes], None] | None = None,
                 on_stderr: Callable[[bytes], None] | None = None,
                 new_group: bool = False, detached: bool = False) -> None:
        """``new_group``: the pipeline gets a process group of its own (stopped as a unit);
        ``detached``: it needs no terminal (a job's, a remote engine's natives)."""
        self.specs = list(specs)
        check_launch((spec.argv for spec in self.specs), env)
        self.procs: list[Process] = []
        self.on_stdout = on_stdout
        self.on_stderr = on_stderr
        self._sel: selectors.BaseSelector | None = None
        # The first process closed its stdin (EPIPE): nothing more should be produced for it.
        self.stdin_broken = False
        self._stdin_grown = False
        self._guarded = 0  # the process group named to the guard (posix.guard_group)
        self._pending_out = b""
        self._pending_err = b""
        # The pipes to the edges that are read or fed here; the other ends go to the
        # processes and are closed once they have them.
        self.stdin_fd: int | None = None
        self.stdout_fd: int | None = None
        self.stderr_fds: list[int] = []
        theirs: list[int] = []

        def edge(value: int | None, inherit: int) -> int:
            """The descriptor a process gets for one of its standard streams (``inherit``):
            pjsh's own, a given one, or one end of a pipe whose other end is kept here."""
            if value is None:
                return inherit
            if value == subprocess.STDOUT:
                return MERGE
            if value != subprocess.PIPE:
                return value
            read, write = os.pipe()
            if inherit == 0:
                self.stdin_fd, given = write, read
            elif inherit == 1:
                self.stdout_fd, given = read, write
            else:
                self.stderr_fds.append(read)
                given = write
            theirs.append(given)
            return given

        try:
            first_in = edge(stdin, 0)
            last_out = edge(stdout, 1)
            errs = [edge(subprocess.STDOUT if i < len(merge_stderr) and merge_stderr[i]
                         else stderr[i] if i < len(stderr) else None, 2)
                    for i in range(len(self.specs))]
            # An in-process job's natives must not outlive pjsh, even a killed one: the
            # guard runs before their group exists, and knows it from that moment on.
            if new_group:
                start_guard()
            self.procs = start_chain(
                [(spec.path, spec.argv) for spec in self.specs], first_in, last_out, errs,
                cwd=cwd, env=env, new_group=new_group, detached=detached,
                guard=guard_group if new_group else None, unguard=unguard_group)
        except BaseException as exc:
            for fd in self._ours():
                os.close(fd)
            if isinstance(exc, LaunchFailed):
                raise exc.error from None
            raise
        finally:
            for fd in theirs:  # the processes have their copies (or none was started)
                os.close(fd)
        if new_group:
            self._guarded = self.procs[0].pid
        for fd in self._ours():
            os.set_blocking(fd, False)
        self._stdin_closed = self.stdin_fd is None
        self._open_reads: set[int] = {fd for fd in [self.stdout_fd, *self.stderr_fds]
                                      if fd is not None}
        self._closed_reads = False

    def _ours(self) -> list[int]:
        """The edge pipes this side reads or feeds."""
        return [fd for fd in [self.stdin_fd, self.stdout_fd, *self.stderr_fds] if fd is not None]

    # ------------------------------------------------------------ I/O loop
    def _pump(self, write_data: bytes | bytearray | memoryview | None, finish: bool) -> None:
        """Move bytes: write ``write_data`` to stdin (if any) while draining outputs.
        With ``finish``, keep draining until every output hits EOF."""
        data = memoryview(write_data) if write_data else None
        sel = selectors.DefaultSelector()
        try:
            for fd in self._open_reads:
                sel.register(fd, selectors.EVENT_READ)
            if data is not None and not self._stdin_closed and self.stdin_fd is not None:
                sel.register(self.stdin_fd, selectors.EVENT_WRITE)
            while True:
                writing = data is not None and len(data) > 0 and not self._stdin_closed
                if not writing and not (finish and self._open_reads):
                    # Still drain what is already available without blocking.
                    if not self._open_reads:
                        break
                    events = sel.select(timeout=0)
                    if not events:
                        break
                else:
                    events = sel.select(timeout=None)
                for key, mask in events:
                    fd = int(key.fd)
                    if mask & selectors.EVENT_WRITE:
                        assert data is not None
                        try:
                            n = os.write(fd, data)
                            data = data[n:]
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            data = None
                            self.stdin_broken = True
                            self.close_stdin()
                        if data is None or len(data) == 0:
                            try:
                                sel.unregister(fd)
                            except (KeyError, ValueError):
                                pass
                        continue
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(fd)
                        self._open_reads.discard(fd)
                        self._deliver(fd, b"", eof=True)
                        continue
                    self._deliver(fd, chunk)
        finally:
            sel.close()

    def _deliver(self, fd: int, chunk: bytes, eof: bool = False) -> None:
        if fd == self.stdout_fd:
            if self.on_stdout is not None and (chunk or eof):
                self.on_stdout(chunk)
        elif self.on_stderr is not None and (chunk or eof):
            self.on_stderr(chunk)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Write bytes to the first process's stdin, draining outputs meanwhile (sets
        ``stdin_broken`` when the process no longer reads it)."""
        fd = self.stdin_fd
        if fd is None or self._stdin_closed:
            return
        view = memoryview(data)
        if len(view) >= _BIG_FEED and not self._stdin_grown:
            # Bulk input (a job's bytes): a bigger pipe means far fewer wake-ups.
            self._stdin_grown = True
            set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
            if set_size is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(fd, set_size, _BIG_FEED)
        # Straight into the pipe while it has room; a selector only when it is full (then
        # the outputs must be drained meanwhile, or the program could block on them).
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                break
            except BrokenPipeError:
                self.stdin_broken = True
                self.close_stdin()
                return
            view = view[written:]
        self._drain_ready()
        if view:
            self._pump(view, finish=False)

    def _drain_ready(self) -> None:
        """Hand on whatever the outputs hold now, without blocking (their fds are
        non-blocking): downstream sees the program's output as it comes."""
        for fd in list(self._open_reads):
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    self._open_reads.discard(fd)
                    self._deliver(fd, b"", eof=True)
                    break
                self._deliver(fd, chunk)

    def close_stdin(self) -> None:
        """Signal EOF to the first process."""
        if not self._stdin_closed and self.stdin_fd is not None:
            os.close(self.stdin_fd)
        self._stdin_closed = True

    def finish(self) -> list[int]:
        """Close stdin, drain all output, wait; returns each process's return code."""
        self.close_stdin()
        self._pump(None, finish=True)
        if not self._closed_reads:
            self._closed_reads = True
            for fd in [self.stdout_fd, *self.stderr_fds]:
                if fd is not None:
                    os.close(fd)
        codes = [p.wait() for p in self.procs]
        if self._guarded:
            unguard_group(self._guarded)
            self._guarded = 0
        return codes

    def kill(self) -> None:
        """Terminate every process (pipeline stopped early)."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()


class LineSplitter:
    """Turns a byte stream into text lines (UTF-8, invalid bytes kept via surrogateescape)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.buf = b""

    def __call__(self, chunk: bytes) -> None:
        if not chunk:
            if self.buf:
                self.emit(self._decode(self.buf))
                self.buf = b""
            return
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            self.emit(self._decode(line))

    @staticmethod
    def _decode(line: bytes) -> str:
        if line.endswith(b"\r"):
            line = line[:-1]
        return line.decode("utf-8", "surrogateescape")
