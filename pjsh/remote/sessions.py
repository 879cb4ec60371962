"""Remote runspaces over SSH: sessions, running script blocks on hosts, fan-out, remote jobs
and the entered session (Enter-Session).

Everything here runs on the client. A :class:`PSSession` owns one :class:`RemoteEngine` (the
engine on the host, over one exec channel of the pooled connection); Invoke-Command with
``-HostName`` opens a temporary engine per host, or, for a script block that is one native
command with literal arguments, skips the engine and runs the command over a plain exec
channel (its argv quoted; its output stays bytes).

Threads: the SSH pool's loop thread only routes messages (``RemoteEngine.feed``). Fan-out
runs each host's work on a thread of a pool sized by -ThrottleLimit; what a host produces
goes to an emitter: the cmdlet's own thread for a plain Invoke-Command (so output enters the
pipeline on the pipeline's thread, and host calls are answered by the local Host there), or
a child job's store for -AsJob.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import itertools
import os
import queue
import select
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pjsh.remote.client import EngineStartError, Message, RemoteEngine, Request
from pjsh.remote.ssh import (
    ConnectOptions,
    HostSpec,
    HostSpecError,
    RemoteConnectionError,
    SSHPool,
)
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.errors import (
    CategoryInfo,
    ErrorDetails,
    ErrorRecord,
    ExceptionInfo,
    make_error,
)
from pjsh.runtime.values import PSObject, PSPropertyClass

if TYPE_CHECKING:
    from pjsh.jobs.model import Job
    from pjsh.runtime.host import Host
    from pjsh.runtime.session import Session

TRANSPORT_EXCEPTION = "System.Management.Automation.Remoting.PSRemotingTransportException"
DEFAULT_THROTTLE = 32

_POOL: SSHPool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> SSHPool:
    """The process's SSH connection pool (one connection per user, host and port)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = SSHPool()
        return _POOL


# ---- errors ----------------------------------------------------------------------------------


class RemotingError(Exception):
    """A failure to report as one error record naming the host."""

    def __init__(self, record: ErrorRecord, reason: str = "", detail: str = "") -> None:
        super().__init__(record.message)
        self.record = record
        self.reason = reason  # "nopython" when the host has no python3 for the engine
        self.detail = detail  # then: what was found


def connection_error(host: str, message: str, error_id: str) -> ErrorRecord:
    """pwsh's record for a connection that failed: ``[host] message``, OpenError."""
    if message.startswith("[") and "] " in message:
        message = message.split("] ", 1)[1]  # the transport's own label: the user's spelling wins
    text = f"[{host}] {message}"
    record = make_error(text, error_id, "OpenError", target=host,
                        exception_type=TRANSPORT_EXCEPTION)
    record.ErrorDetails = ErrorDetails(text)
    record.PSComputerName = host
    return record


def _error_from(exc: BaseException, host: str, error_id: str) -> ErrorRecord:
    if isinstance(exc, RemotingError):
        return exc.record
    if isinstance(exc, RemoteConnectionError):
        return connection_error(host, str(exc), error_id)
    if isinstance(exc, EngineStartError):
        return connection_error(host, exc.message, error_id)
    if isinstance(exc, HostSpecError):
        return make_error(str(exc), "InvalidHostName", "InvalidArgument", target=host)
    return connection_error(host, f"{type(exc).__name__}: {exc}", error_id)


# ---- the session object ------------------------------------------------------------------------


class PSSession(PSPropertyClass):
    """A remote runspace as scripts see it (New-Session's output): a runspace of the engine
    that serves its host's pooled connection."""

    ps_type_names: ClassVar[tuple[str, ...]] = (
        "System.Management.Automation.Runspaces.PSSession", "System.Object")
    ps_property_names: ClassVar[tuple[str, ...]] = (
        "Id", "Name", "Transport", "ComputerName", "ComputerType", "State",
        "ConfigurationName", "Availability", "InstanceId", "UserName")

    def __init__(self, session_id: int, name: str | None, spec: str, remote: RemoteRunspace,
                 user: str) -> None:
        self.Id = session_id
        self.Name = name or f"Runspace{session_id}"
        self.spec = spec
        self.remote = remote
        self.UserName = user
        self.InstanceId = uuid.uuid4()
        self.busy = 0

    Transport = "SSH"
    ComputerType = "RemoteMachine"
    ConfigurationName = "DefaultShell"

    @property
    def engine(self) -> RemoteEngine:
        """The engine serving this session's runspace."""
        return self.remote.engine

    @property
    def ComputerName(self) -> str:
        """The host as the user named it."""
        return self.spec

    @property
    def State(self) -> str:
        """Opened, Broken (the connection or engine died) or Closed."""
        if self.remote.closed:
            return "Closed"
        return "Opened" if self.engine.alive else "Broken"

    @property
    def Availability(self) -> str:
        """Available, Busy (a command is running) or None (not usable)."""
        if self.State != "Opened":
            return "None"
        return "Busy" if self.busy else "Available"

    def close(self) -> None:
        """Close the remote runspace (it stops its jobs); the engine stays for others."""
        self.remote.close()

    def __str__(self) -> str:
        return f"[PSSession]{self.Name}"


@dataclass
class SessionTable:
    """The sessions of one local runspace."""

    sessions: list[PSSession] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        """The next session id (never reused)."""
        return next(self.ids)


def session_table(session: Session) -> SessionTable:
    """The remote sessions of a local runspace (made on first use)."""
    table = session.extensions.get("remote.sessions")
    if not isinstance(table, SessionTable):
        table = SessionTable()
        session.extensions["remote.sessions"] = table
    return table


# ---- opening an engine ------------------------------------------------------------------------


async def _start_engine(spec: HostSpec, connect: ConnectOptions, engine: RemoteEngine,
                        io: SSHChannelIO) -> None:
    """Open the engine's channel on the pooled connection (on the pool's loop); the engine's
    handshake (upload, ready) then runs on the messages it receives."""
    from pjsh.remote import transport
    from pjsh.remote.bundle import BOOTSTRAP, LAUNCHER, engine_bundle

    bundle = engine_bundle()
    ssh = pool()
    engine.offer(bundle)
    argv = ["/bin/sh", "-c", LAUNCHER, "pjsh-remote", bundle.digest, BOOTSTRAP]
    stderr: list[bytes] = []

    def keep_stderr(data: bytes) -> None:
        stderr.append(bytes(data[-4096:]))
        del stderr[:-8]

    conn = await ssh.connect(spec, connect)
    try:
        process = await transport.start_native(conn, argv, on_stdout=engine.feed,
                                               on_stderr=keep_stderr)
    except transport.ChannelUnavailable:
        conn.close()
        conn = await ssh.connect(spec, connect)
        process = await transport.start_native(conn, argv, on_stdout=engine.feed,
                                               on_stderr=keep_stderr)
    io.attach(process)

    async def watch() -> None:
        try:
            result = await process.wait()
            lines = b"".join(stderr).decode("utf-8", "replace").strip().splitlines()
            detail = (": " + " ".join(lines[-3:])) if lines else ""
            if engine.closing and engine.ready.is_set():
                reason = f"The session to {engine.name} was closed."
            else:
                reason = (f"The remote engine on {engine.name} ended (exit status "
                          f"{result.returncode}){detail}.")
        except RemoteConnectionError as exc:
            reason = str(exc)
        engine.lost(reason)

    engine.watcher = ssh.loop.create_task(watch())


@dataclass
class RemoteRunspace:
    """One runspace in a host's engine: what requests name with ``rs``."""

    engine: RemoteEngine
    rs: int
    closed: bool = False
    cwd: str = ""

    def request(self, op: str, **fields: object) -> Request:
        """Start a request in this runspace."""
        return self.engine.request(op, rs=self.rs, **fields)

    def close(self) -> None:
        """Drop the runspace (its jobs stop there); nobody waits for it."""
        if not self.closed:
            self.closed = True
            if self.engine.alive:
                self.engine.request("drop", rs=self.rs)


# The engines of this process, one per pooled connection (user, host, port), reused by every
# session, Invoke-Command and remote job to that host: only the first use pays the start.
_ENGINES: dict[tuple[str, str, int], RemoteEngine] = {}
_STARTING: dict[tuple[str, str, int], Any] = {}
_RS_IDS = itertools.count(1)


async def _pooled_engine(spec: HostSpec, connect: ConnectOptions) -> RemoteEngine:
    """The engine of the connection ``spec`` leads to, started if there is none (on the loop;
    concurrent callers share one start)."""
    import asyncio

    from pjsh.remote import transport
    ssh = pool()
    target = transport.resolve_target(spec, connect)
    key = target.key
    engine = _ENGINES.get(key)
    if engine is not None and not engine.closing and engine.lost_reason is None and \
            engine.start_error is None:
        return engine
    starting = _STARTING.get(key)
    if starting is None:
        io = SSHChannelIO(ssh)
        fresh = RemoteEngine(target.label, io)
        starting = asyncio.ensure_future(_start_engine(spec, connect, fresh, io))
        _STARTING[key] = starting

        def settle(done: Any) -> None:
            if _STARTING.get(key) is done:
                del _STARTING[key]
            if not done.cancelled() and done.exception() is None:
                _ENGINES[key] = fresh
        starting.add_done_callback(settle)
        await asyncio.shield(starting)
        return fresh
    await asyncio.shield(starting)
    found = _ENGINES.get(key)
    assert found is not None
    return found


def open_engine(spec_text: str, connect: ConnectOptions, token: CancelToken | None,
                *, user: str | None = None, port: int | None = None) -> RemoteEngine:
    """The started engine of a host's pooled connection (connecting and uploading the engine
    once per version if needed); raises RemotingError with pwsh's record when that fails. A
    set token (Ctrl+C) gives up."""
    try:
        spec = HostSpec.parse(spec_text, user=user, port=port)
    except HostSpecError as exc:
        raise RemotingError(make_error(str(exc), "InvalidHostName", "InvalidArgument",
                                       target=spec_text)) from None
    ssh = pool()
    wake: queue.SimpleQueue[None] = queue.SimpleQueue()
    future = ssh.submit(_pooled_engine(spec, connect))
    future.add_done_callback(lambda _f: wake.put(None))
    key = token.wake(wake) if token is not None else None
    try:
        while not future.done():
            if token is not None and token.is_set():
                future.cancel()
                raise RemotingError(connection_error(spec_text, "The connection was cancelled.",
                                                     "PSSessionOpenFailed"))
            wake.get()
        try:
            engine = future.result()
        except BaseException as exc:  # becomes the host's error record
            raise RemotingError(_error_from(exc, spec_text, "PSSessionOpenFailed")) from None
        engine.add_ready_callback(lambda: wake.put(None))
        while not engine.ready.is_set():
            if token is not None and token.is_set():
                raise RemotingError(connection_error(spec_text, "The connection was cancelled.",
                                                     "PSSessionOpenFailed"))
            wake.get()
    finally:
        if key is not None and token is not None:
            token.remove_callback(key)
    if engine.start_error is not None:
        raise RemotingError(connection_error(spec_text, engine.start_error.message,
                                             "PSSessionOpenFailed"), engine.start_error.reason,
                            engine.start_error.detail)
    return engine


def open_remote(spec_text: str, connect: ConnectOptions, token: CancelToken | None,
                *, user: str | None = None, port: int | None = None) -> RemoteRunspace:
    """A new runspace on a host (its engine started or reused); RemotingError on failure."""
    engine = open_engine(spec_text, connect, token, user=user, port=port)
    remote = RemoteRunspace(engine, next(_RS_IDS), cwd=str(engine.info.get("cwd") or ""))
    done = run_request(engine.request("open", rs=remote.rs), Emitter(), token)
    if not done.get("ok"):
        raise RemotingError(connection_error(
            spec_text, str(done.get("reason") or "The remote runspace could not be opened."),
            "PSSessionOpenFailed"))
    remote.cwd = str(done.get("cwd") or remote.cwd)
    return remote


class SSHChannelIO:
    """An engine's exec channel on the pool's loop: writes from any thread keep their order
    (they are queued on the loop, or written at once from it), and those made before the
    channel opened are sent when it does."""

    def __init__(self, ssh: SSHPool) -> None:
        self.ssh = ssh
        self.loop = ssh.loop
        self.process: Any = None
        self.pending: list[bytes] = []
        self.closed = False

    def attach(self, process: Any) -> None:
        """The channel is open (on the loop): send what was written before."""
        self.process = process
        pending, self.pending = self.pending, []
        for data in pending:
            self._now(data)
        if self.closed:
            self._close_now()

    def write(self, data: bytes) -> None:
        """Send bytes (thread-safe)."""
        if self.ssh.in_loop_thread():
            self._now(data)
        else:
            self.loop.call_soon_threadsafe(self._now, data)

    def _now(self, data: bytes) -> None:
        if self.process is None:
            self.pending.append(data)
            return
        try:
            self.process.write(data)
        except Exception:  # the channel closed: the watcher reports the loss
            pass

    def close(self) -> None:
        """End stdin and close the channel (the engine stops its jobs and exits)."""
        self.closed = True
        try:
            self.loop.call_soon_threadsafe(self._close_now)
        except RuntimeError:  # the loop is gone (pjsh is exiting)
            pass

    def _close_now(self) -> None:
        if self.process is not None:
            try:
                self.process.write_eof()
            except Exception:  # already closed
                pass


# ---- what a request produces ---------------------------------------------------------------------


class Emitter:
    """Where one host's results go (the cmdlet's thread, or a child job)."""

    host_name: str = ""

    def output(self, value: object) -> None:
        """A success object (PSComputerName already added)."""

    def raw(self, data: bytes) -> None:
        """Bytes of a native's stdout (the exec-channel path)."""

    def error(self, record: ErrorRecord) -> None:
        """A non-terminating error."""

    def stream(self, kind: str, value: object) -> None:
        """Warning, Verbose, Debug, Information or Progress."""

    def host_call(self, engine: RemoteEngine, message: Message) -> None:
        """Answer a host call of the remote script."""
        engine.reply(int(message["call"]), error="The remote command asked for input, but no "
                     "one can answer it here.")


def stamp(value: object, host: str, show: bool = True) -> object:
    """Add PSComputerName (and PSShowComputerName) to a deserialized object, as pwsh does."""
    if isinstance(value, PSObject):
        value.set("PSComputerName", host)
        value.set("PSShowComputerName", show)
    elif isinstance(value, ErrorRecord):
        value.PSComputerName = host
    return value


def _decode(message: Message) -> object:
    from pjsh.runtime.serialize import decode
    return decode(message["x"], deserialized=True)


def run_request(request: Request, emitter: Emitter, token: CancelToken | None,
                show_computer: bool = True) -> Message:
    """Route one invoke request's messages to ``emitter`` until it ends; returns the end."""
    host = emitter.host_name
    for message in request.messages(token):
        if message.get("done"):
            return message
        if "call" in message:
            emitter.host_call(request.engine, message)
            continue
        kind = message.get("s")
        if kind == "o":
            emitter.output(stamp(_decode(message), host, show_computer))
        elif kind == "e":
            record = _decode(message)
            if isinstance(record, ErrorRecord):
                emitter.error(stamp(record, host))  # type: ignore[arg-type]
        elif kind == "f":
            from pjsh.remote.agent import decode_blocks
            from pjsh.runtime.values import FormatOutput
            emitter.output(FormatOutput(decode_blocks(message["x"])))
        elif kind in ("w", "v", "d", "i", "p"):
            emitter.stream(kind, _decode(message))
    raise AssertionError("a request ends with its done message")  # pragma: no cover


def finish_error(done: Message, host: str) -> ErrorRecord | None:
    """The error a request's end reports (a terminating error there, a lost connection), as a
    non-terminating error here (pwsh's rule for remote terminating errors)."""
    if done.get("ok"):
        return None
    reason = str(done.get("reason") or "")
    if done.get("lost"):
        return connection_error(host, reason, "PSSessionStateBroken")
    if reason == "stopped":
        return None
    if done.get("x") is not None:
        from pjsh.runtime.serialize import decode
        record = decode(done["x"], deserialized=True)
        if isinstance(record, ErrorRecord):
            record.PSComputerName = host
            return record
    if not reason:
        return None
    record = make_error(reason, "RemoteScriptFailed", "OperationStopped", target=host)
    record.PSComputerName = host
    return record


# ---- native-only script blocks over a plain exec channel -----------------------------------------


def native_argv(text: str, known: Callable[[str], bool]) -> list[str] | None:
    """The argv of a script block that is one native command with literal arguments (or
    None): such a block may run over a plain exec channel, no engine needed. Unquoted words
    with wildcards or a leading ``~`` are left to the engine (it expands them, as pwsh does
    for natives on Unix)."""
    from pjsh.lang import ast
    from pjsh.lang.parser import parse

    parsed = parse(text)
    body = parsed.body
    if parsed.error is not None or body is None or body.params or body.begin or \
            body.process or body.end or len(body.statements) != 1:
        return None
    chain = body.statements[0]
    if not isinstance(chain, ast.PipelineChain) or chain.rest or chain.background:
        return None
    if len(chain.first.elements) != 1:
        return None
    cmd = chain.first.elements[0]
    if not isinstance(cmd, ast.Command) or cmd.redirections or cmd.invocation is not None:
        return None
    words: list[str] = []
    name = _literal(cmd.name)
    if name is None or not name or known(name):
        return None
    words.append(name)
    for element in cmd.elements:
        if isinstance(element, ast.CommandParameter):
            if element.argument is not None:
                return None
            words.append(element.text)
            continue
        literal = _literal(element.value)
        if literal is None:
            return None
        words.append(literal)
    return words


def _literal(node: object) -> str | None:
    from pjsh.lang import ast
    if not isinstance(node, ast.Constant):
        return None
    spelled = node.text
    if spelled[:1] in ("'", '"'):
        return node.value if isinstance(node.value, str) else None
    if not spelled or any(c in spelled for c in "*?[") or spelled.startswith("~") or \
            spelled.startswith(("$", "@", "(", "{")):
        return None
    return spelled


class _Collect:
    """A native's stdout split into lines, for a consumer that wants objects."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.pending = b""

    def feed(self, data: bytes) -> None:
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self.emit(line.rstrip(b"\r").decode("utf-8", "surrogateescape"))

    def close(self) -> None:
        if self.pending:
            self.emit(self.pending.rstrip(b"\r").decode("utf-8", "surrogateescape"))
            self.pending = b""


def run_native_over_exec(spec_text: str, argv: Sequence[str], connect: ConnectOptions,
                         emitter: Emitter, token: CancelToken | None, *,
                         user: str | None = None, port: int | None = None,
                         as_bytes: bool = False) -> int | None:
    """Run argv on the host over an exec channel; stdout goes to the emitter (bytes or lines),
    stderr lines become errors. Returns the exit status."""
    spec = HostSpec.parse(spec_text, user=user, port=port)
    ssh = pool()
    results: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
    future = ssh.submit(ssh.run_native(
        spec, list(argv), options=connect,
        on_stdout=lambda d: results.put(("o", bytes(d))),
        on_stderr=lambda d: results.put(("e", bytes(d)))))
    future.add_done_callback(lambda _f: results.put(("done", None)))
    wake = token.wake(results) if token is not None else None  # type: ignore[arg-type]
    lines = _Collect(lambda line: emitter.output(line))
    errors = _Collect(lambda line: emitter.error(_native_error(line, spec_text)))
    try:
        while True:
            item = results.get()
            if item is None:  # the token: stop waiting, close the channel
                future.cancel()
                break
            kind, data = item
            if kind == "done":
                break
            assert isinstance(data, bytes)
            if kind == "o":
                emitter.raw(data) if as_bytes else lines.feed(data)
            else:
                errors.feed(data)
    finally:
        if wake is not None and token is not None:
            token.remove_callback(wake)
    # What arrived after the end (callbacks run before the future settles; drain anyway).
    while not results.empty():
        item = results.get()
        if item is None or item[0] == "done":
            continue
        kind, data = item
        assert isinstance(data, bytes)
        if kind == "o":
            emitter.raw(data) if as_bytes else lines.feed(data)
        else:
            errors.feed(data)
    lines.close()
    errors.close()
    if future.cancelled():
        return None
    try:
        result = future.result()
    except BaseException as exc:  # one error naming the host
        emitter.error(_error_from(exc, spec_text, "PSSessionStateBroken"))
        return None
    return result.returncode


def _native_error(line: str, host: str) -> ErrorRecord:
    record = ErrorRecord(Exception=ExceptionInfo(line, "System.Management.Automation."
                                                       "RemoteException"),
                         FullyQualifiedErrorId="NativeCommandError",
                         CategoryInfo=CategoryInfo(Category="NotSpecified"),
                         TargetObject=line, PSComputerName=host)
    return record


# ---- fan-out --------------------------------------------------------------------------------------


@dataclass
class Target:
    """One place Invoke-Command runs: an open session, or a host to connect to."""

    name: str
    session: PSSession | None = None


@dataclass
class InvokeWork:
    """What Invoke-Command runs on each target."""

    script: str
    args: list[object]
    using: dict[str, object]
    connect: ConnectOptions
    user: str | None
    port: int | None
    width: int
    argv: list[str] | None  # a native-only block: plain exec channel for host targets
    as_bytes: bool = False
    show_computer: bool = True


def run_on_target(target: Target, work: InvokeWork, emitter: Emitter,
                  token: CancelToken | None) -> bool:
    """Run the work on one target, everything to ``emitter``; False if it failed."""
    from pjsh.runtime.serialize import encode
    emitter.host_name = target.name
    try:
        if target.session is None and work.argv is not None:
            status = run_native_over_exec(target.name, work.argv, work.connect, emitter, token,
                                          user=work.user, port=work.port,
                                          as_bytes=work.as_bytes)
            return status == 0
        session = target.session
        if session is not None and session.State != "Opened":
            emitter.error(make_error(
                f"Because the session state for session {session.Name}, {session.InstanceId}, "
                f"{session.ComputerName} is not equal to Open, you cannot run a command in the "
                "session.  The session state is " + session.State + ".",
                "InvokeCommandCommandInvalidSessionState", "InvalidOperation",
                target=session.ComputerName))
            return False
        remote = session.remote if session is not None else open_remote(
            target.name, work.connect, token, user=work.user, port=work.port)
        try:
            if session is not None:
                session.busy += 1
            request = remote.request("invoke", script=work.script, args=encode(work.args),
                                     using=encode(work.using) if work.using else None,
                                     w=work.width)
            done = run_request(request, emitter, token, work.show_computer)
            remote.cwd = str(done.get("cwd") or remote.cwd)
        finally:
            if session is not None:
                session.busy -= 1
            else:
                remote.close()
        error = finish_error(done, target.name)
        if error is not None:
            emitter.error(error)
            return False
        return bool(done.get("ok"))
    except RemotingError as exc:
        record = exc.record
        if record.FullyQualifiedErrorId == "PSSessionOpenFailed":
            record = connection_error(target.name, record.message, "PSSessionStateBroken")
        emitter.error(record)
        return False
    except (RemoteConnectionError, EngineStartError, HostSpecError) as exc:
        emitter.error(_error_from(exc, target.name, "PSSessionStateBroken"))
        return False


class QueueEmitter(Emitter):
    """Hands a host's results to the cmdlet's thread (which writes them to the pipeline)."""

    def __init__(self, out: queue.SimpleQueue[tuple[str, Any] | None]) -> None:
        self.out = out

    def output(self, value: object) -> None:
        self.out.put(("o", value))

    def raw(self, data: bytes) -> None:
        self.out.put(("raw", data))

    def error(self, record: ErrorRecord) -> None:
        self.out.put(("e", record))

    def stream(self, kind: str, value: object) -> None:
        self.out.put((kind, value))

    def host_call(self, engine: RemoteEngine, message: Message) -> None:
        answered = threading.Event()
        self.out.put(("call", (engine, message, answered)))
        answered.wait()


def answer_host_call(host: Host, engine: RemoteEngine, message: Message) -> None:
    """Answer a remote script's host call with the local Host (Read-Host, a prompt)."""
    from pjsh.runtime.host import Choice, HostException
    method = str(message.get("m"))
    args = list(message.get("a") or [])
    call = int(message["call"])
    try:
        if method == "read_line":
            engine.reply(call, host.read_line(str(args[0])))
        elif method == "read_secret":
            engine.reply(call, host.read_secret(str(args[0])))
        elif method == "confirm":
            choices = [Choice(str(c[0]), str(c[1])) for c in args[2]]
            engine.reply(call, host.confirm(str(args[0]), str(args[1]), choices, int(args[3])))
        else:
            engine.reply(call, error=f"The host call {method} is not supported.")
    except HostException as exc:
        engine.reply(call, error=exc.message, error_id=exc.error_id)
    except KeyboardInterrupt:
        engine.reply(call, error="The prompt was cancelled.")
        raise


def fan_out(targets: Sequence[Target], work: InvokeWork, throttle: int,
            emitter_for: Callable[[Target], Emitter], token: CancelToken | None,
            on_done: Callable[[Target, bool], None] | None = None) -> concurrent.futures.Executor:
    """Run the work on every target, at most ``throttle`` at once, each on its own thread;
    returns the executor (shut down once every target is done)."""
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, min(throttle or DEFAULT_THROTTLE, len(targets) or 1)),
        thread_name_prefix="pjsh-invoke")

    def one(target: Target) -> None:
        ok = False
        try:
            ok = run_on_target(target, work, emitter_for(target), token)
        except BaseException as exc:  # a bug here must still end the target
            emitter_for(target).error(_error_from(exc, target.name, "PSSessionStateBroken"))
        finally:
            if on_done is not None:
                on_done(target, ok)

    for target in targets:
        executor.submit(one, target)
    executor.shutdown(wait=False)
    return executor


# ---- remote jobs (Invoke-Command -AsJob) -------------------------------------------------------


class JobEmitter(Emitter):
    """A child job's store: what its host produced, in order, on its streams."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def output(self, value: object) -> None:
        from pjsh.jobs.storage import Stream
        self.job.write(Stream.Output, value)

    def raw(self, data: bytes) -> None:
        from pjsh.jobs.storage import Stream
        self.job.write_bytes(Stream.Output, data)

    def error(self, record: ErrorRecord) -> None:
        from pjsh.jobs.storage import Stream
        self.job.write(Stream.Error, record)

    def stream(self, kind: str, value: object) -> None:
        from pjsh.jobs.storage import Stream
        streams = {"w": Stream.Warning, "v": Stream.Verbose, "d": Stream.Debug,
                   "i": Stream.Information, "p": Stream.Progress}
        self.job.write(streams[kind], value)


class RemoteJobBackend:
    """Drives the children of Invoke-Command -AsJob: each runs its host's work on a thread of
    its command's pool (sized by -ThrottleLimit; NotStarted while it waits for a slot);
    Stop-Job cancels the request (the remote script stops)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: dict[Job, tuple[Target, InvokeWork, CancelToken,
                                    concurrent.futures.Executor]] = {}

    def prepare(self, job: Job, target: Target, work: InvokeWork,
                executor: concurrent.futures.Executor) -> None:
        """Remember what a child job will run, and on which pool."""
        with self._lock:
            self._work[job] = (target, work, CancelToken(), executor)

    def start(self, job: Job) -> None:
        """Queue the child on its pool."""
        with self._lock:
            entry = self._work.get(job)
        if entry is None:
            raise RuntimeError(f"Job {job.id} has nothing to run.")
        entry[3].submit(self._run, job)

    def _run(self, job: Job) -> None:
        from pjsh.jobs.model import JobState
        with self._lock:
            entry = self._work.get(job)
        if entry is None:
            return
        target, work, token, _executor = entry
        if token.is_set() or not job.compare_and_set(JobState.NotStarted, JobState.Running):
            job.finish_if_unfinished(JobState.Stopped)
            return
        ok = False
        try:
            ok = run_on_target(target, work, JobEmitter(job), token)
        except BaseException as exc:  # the job fails with the reason
            job.failure = exc
        finally:
            with self._lock:
                self._work.pop(job, None)
        if token.is_set():
            job.finish_if_unfinished(JobState.Stopped)
        elif ok:
            job.finish_if_unfinished(JobState.Completed)
        else:
            job.finish_if_unfinished(JobState.Failed, _last_reason(job))

    async def stop(self, job: Job) -> None:
        """Cancel the child's request; it ends Stopped once the host stopped it."""
        from pjsh.jobs.model import JobState
        with self._lock:
            entry = self._work.get(job)
        if entry is None:
            return
        if job.state is JobState.NotStarted:
            entry[2].set()
            job.finish_if_unfinished(JobState.Stopped)
            return
        if job.begin_stopping():
            entry[2].set()

    async def suspend(self, job: Job) -> None:
        """Remote jobs cannot be suspended."""
        from pjsh.jobs.model import JobError
        raise JobError(f"The job {job.id} cannot be suspended: it is a remote job.")

    async def resume(self, job: Job) -> None:
        """Remote jobs cannot be resumed."""
        from pjsh.jobs.model import JobError
        raise JobError(f"The job {job.id} cannot be resumed: it is a remote job.")

    def close(self) -> None:
        """Stop every child still running and release the pool."""
        with self._lock:
            entries = list(self._work.values())
        for entry in entries:
            entry[2].set()


def _last_reason(job: Job) -> str:
    from pjsh.jobs.storage import Stream
    last = ""
    for record in job.store.iter_records(consume=False):
        if record.stream is Stream.Error and isinstance(record.value, ErrorRecord):
            last = record.value.message
    return last or "The remote command failed."


def open_session_object(local: Session, remote: RemoteRunspace, name: str | None, spec: str,
                        *, listed: bool = True) -> PSSession:
    """A PSSession for an open remote runspace; listed sessions show in Get-Session (a
    temporary one of Enter-Session -HostName does not, as in pwsh)."""
    table = session_table(local)
    session = PSSession(table.next_id(), name, spec, remote,
                        str(remote.engine.info.get("user") or ""))
    if listed:
        table.sessions.append(session)
    return session


# ---- Enter-Session --------------------------------------------------------------------------------


def is_exit(text: str) -> bool:
    """Whether an entered line means leaving the session (``exit``, ``Exit-Session``): the
    console answers it, the remote runspace never sees it."""
    words = text.strip().rstrip(";").strip().lower()
    return words in ("exit", "exit-session", "exit-pssession", "exsn")


class EnteredSession:
    """The session lines go to after Enter-Session (a PushedRunspace): each line runs in the
    remote runspace, its output formatted there and shown by the local Host."""

    def __init__(self, local: Session, session: PSSession, temporary: bool,
                 label: str) -> None:
        self.local = local
        self.session = session
        self.temporary = temporary
        self.label = label
        self._keys: _TerminalKeys | None = None

    @property
    def name(self) -> str:
        """The host name the prompt shows."""
        return self.label

    def prompt(self) -> str:
        """``[host]: PS /remote/dir> ``, as pwsh's remote prompt."""
        return f"[{self.label}]: PS {self.session.remote.cwd}> "

    def run_line(self, text: str) -> bool:
        """Run one line remotely (``exit``/``Exit-Session`` leave); returns $?."""
        if is_exit(text):
            self.leave()
            return True
        host = self.local.host
        engine = self.session.engine
        if not engine.alive:
            host.write_error(connection_error(
                self.label, engine.lost_reason or "The session is no longer available.",
                "PSSessionStateBroken"))
            self.leave(quiet=True)
            return False
        fields: dict[str, object] = {"text": text, "w": host.width}
        keys = _TerminalKeys.start(self.session.remote) if self.local.interactive else None
        if keys is not None:
            fields["tty"] = list(keys.size)
        request = self.session.remote.request("line", **fields)
        self.session.busy += 1
        try:
            if keys is not None:
                keys.attach(request)
            self._keys = keys
            done = self._drain(request, host)
        finally:
            self.session.busy -= 1
            if keys is not None:
                keys.stop()
        self.session.remote.cwd = str(done.get("cwd") or self.session.remote.cwd)
        if done.get("lost"):
            host.write_error(connection_error(self.label, str(done.get("reason")),
                                              "PSSessionStateBroken"))
            self.leave(quiet=True)
            return False
        return bool(done.get("ok"))

    def _drain(self, request: Request, host: Host) -> Message:
        while True:
            try:
                for message in request.messages():
                    if message.get("done"):
                        return message
                    self._show(message, host, request.engine)
            except KeyboardInterrupt:
                request.cancel()  # Ctrl+C stops the remote command, not the session

    def _show(self, message: Message, host: Host, engine: RemoteEngine) -> None:
        from pjsh.remote.agent import decode_blocks
        if "call" in message:
            keys = self._keys
            with keys.paused() if keys is not None else contextlib.nullcontext():
                answer_host_call(host, engine, message)
            return
        kind = message.get("s")
        if kind == "fmt":
            host.write_format(decode_blocks(message["x"]))
        elif kind == "raw":
            data = base64.b64decode(message["x"])
            fd = host.native_stdio()[0 if message.get("n") == 1 else 1]
            if fd is not None:
                host.flush()
                _write_all(fd, data)
            else:
                host.write_host(data.decode("utf-8", "replace").rstrip("\n"))
        elif kind == "err":
            record = _decode(message)
            if isinstance(record, ErrorRecord):
                host.write_error(record)
        elif kind == "str":
            host.write_stream(str(message.get("n")), str(message.get("x")))
        elif kind == "host":
            host.write_host(str(message.get("x")), bool(message.get("nl", True)),
                            message.get("fg"), message.get("bg"))
        elif kind == "prog":
            host.write_progress(_decode(message))
        elif kind == "clear":
            host.clear()

    def _ask(self, **fields: object) -> list[object]:
        if not self.session.engine.alive:
            return []
        request = self.session.remote.request("complete", **fields)
        return [_decode(m) for m in request.messages() if m.get("s") == "o"]

    def list_dir(self, typed_dir: str) -> list[tuple[str, bool, bool]]:
        """Completion: (name, is a directory, is executable) of a remote directory, relative
        to the remote current directory (``~`` is the remote home)."""
        entries = []
        for item in self._ask(kind="dir", path=typed_dir):
            if isinstance(item, list) and len(item) == 3:
                entries.append((str(item[0]), bool(item[1]), bool(item[2])))
        return entries

    def command_names(self) -> tuple[list[str], list[str], str]:
        """Completion: the remote PATH's executables, the remote functions, the remote home."""
        for item in self._ask(kind="commands"):
            from collections.abc import Mapping
            if isinstance(item, Mapping):
                executables = item.get("executables") or []
                functions = item.get("functions") or []
                return ([str(n) for n in executables] if isinstance(executables, list) else [],
                        [str(n) for n in functions] if isinstance(functions, list) else [],
                        str(item.get("home") or ""))
        return [], [], ""

    def leave(self, quiet: bool = False) -> None:
        """Back to the local prompt; a temporary session is closed, its jobs stopped (said)."""
        if self.local.pushed is self:
            self.local.pushed = None
        if not self.temporary:
            return
        engine = self.session.engine
        if engine.alive and not quiet:
            request = self.session.remote.request(
                "invoke", script=_UNFINISHED_JOBS,
                w=80)
            count = 0
            for message in request.messages():
                if message.get("s") == "o":
                    value = _decode(message)
                    count = value if isinstance(value, int) else 0
            if count:
                noun = "job" if count == 1 else "jobs"
                self.local.host.write_stream(
                    "Warning", f"Leaving the temporary session to {self.label} stopped "
                    f"{count} running {noun}.")
        self.session.close()
        table = session_table(self.local)
        if self.session in table.sessions:
            table.sessions.remove(self.session)


class _TerminalKeys:
    """While an entered line runs at a terminal: the local terminal in raw mode, every key
    sent to the remote pseudo-terminal (so vim, top and less work there), as ssh -t does.
    Ctrl+C goes as a key and also stops the line's command (the remote natives have no
    controlling terminal to deliver it as a signal)."""

    def __init__(self, remote: RemoteRunspace, fd: int, saved: list[Any],
                 size: tuple[int, int]) -> None:
        self.remote = remote
        self.fd = fd
        self.saved = saved
        self.size = size
        self.request: Request | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._forward, name="pjsh-remote-keys",
                                        daemon=True)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The terminal as it was, and no forwarding: a host call (Read-Host) reads it."""
        self._halt()
        try:
            yield
        finally:
            _raw_input(self.fd, self.saved)
            self._thread = threading.Thread(target=self._forward, name="pjsh-remote-keys",
                                            daemon=True)
            self._thread.start()

    @classmethod
    def start(cls, remote: RemoteRunspace) -> _TerminalKeys | None:
        """Raw mode and key forwarding, if stdin and stdout are a terminal."""
        import termios
        if not (os.isatty(0) and os.isatty(1)):
            return None
        try:
            saved = termios.tcgetattr(0)
            size = os.get_terminal_size(1)
            _raw_input(0, saved)
        except (OSError, termios.error):
            return None
        keys = cls(remote, 0, saved, (size.lines, size.columns))
        keys._thread.start()
        return keys

    def attach(self, request: Request) -> None:
        """The request the keys' Ctrl+C stops."""
        self.request = request

    def _forward(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd, self._wake_r], [], [])
            except (OSError, ValueError):
                return
            if self._wake_r in ready:
                return
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            if not data:
                return
            self.remote.engine.send({"op": "stdin", "rs": self.remote.rs,
                                     "x": base64.b64encode(data).decode("ascii")})
            if b"\x03" in data and self.request is not None:
                self.request.cancel()

    def _halt(self) -> None:
        import termios
        os.write(self._wake_w, b"x")
        self._thread.join()
        os.read(self._wake_r, 64)
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        except (OSError, termios.error):
            pass

    def stop(self) -> None:
        """Back to the terminal's own mode; no more forwarding."""
        self._halt()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)


def _raw_input(fd: int, saved: list[Any]) -> None:
    """Keys pass through untouched (no echo, no line editing, Ctrl+C a byte), but output
    processing stays on: what pjsh itself prints meanwhile keeps its line ends."""
    import termios
    mode = list(saved)
    mode[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON)
    mode[2] = (mode[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    mode[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    cc = list(mode[6])
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0
    mode[6] = cc
    termios.tcsetattr(fd, termios.TCSANOW, mode)


# How many jobs of the remote runspace have not finished (said when a temporary session ends).
_UNFINISHED_JOBS = ("@(Get-Job | Where-Object { $_.State -in 'NotStarted','Running','Suspended',"
                    "'Blocked','Stopping','Suspending' }).Count")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# Hosts already warned about in this process (the warning is said once per host).
_WARNED_NO_PYTHON: set[str] = set()


class NativeOnlySession:
    """Enter-Session on a host without a python3 for the engine: lines that are one native
    command with literal arguments still run there, over plain exec channels (their argv
    quoted), output as bytes; anything else says what is missing."""

    def __init__(self, local: Session, spec: str, connect: ConnectOptions, user: str | None,
                 port: int | None, why: str) -> None:
        self.local = local
        self.spec = spec
        self.connect = connect
        self.user = user
        self.port = port
        self.why = why
        if spec not in _WARNED_NO_PYTHON:
            _WARNED_NO_PYTHON.add(spec)
            local.host.write_stream(
                "Warning", f"{spec} has no python3 3.8 or later for pjsh's engine ({why}): "
                "only native commands with literal arguments run there, over plain exec "
                "channels.")

    def prompt(self) -> str:
        """``[host]: PS> `` (no engine there to say its directory)."""
        return f"[{self.spec}]: PS> "

    def run_line(self, text: str) -> bool:
        """Run a native-only line over an exec channel; ``exit`` leaves."""
        if is_exit(text):
            self.leave()
            return True
        registry = self.local.registry
        argv = native_argv(text, lambda name: registry.commands.get(name.lower()) is not None
                           or name.lower() in registry.aliases)
        host = self.local.host
        if argv is None:
            host.write_error(make_error(
                f"[{self.spec}] This command needs pjsh's engine, which cannot run there: no "
                f"python3 3.8 or later ({self.why}). Run a native command with literal "
                "arguments, or install python3 3.8 or later on the host.",
                "RemoteEngineUnavailable", "ResourceUnavailable", target=self.spec))
            return False
        out_fd, err_fd = host.native_stdio()

        class _Out(Emitter):
            def raw(self, data: bytes) -> None:
                if out_fd is not None:
                    host.flush()
                    _write_all(out_fd, data)
                else:
                    host.write_host(data.decode("utf-8", "replace").rstrip("\n"))

            def error(self, record: ErrorRecord) -> None:
                if err_fd is not None and record.FullyQualifiedErrorId == "NativeCommandError":
                    _write_all(err_fd, (record.message + "\n").encode("utf-8",
                                                                       "surrogateescape"))
                else:
                    host.write_error(record)

        status = run_native_over_exec(self.spec, argv, self.connect, _Out(), None,
                                      user=self.user, port=self.port, as_bytes=True)
        return status == 0

    def leave(self, quiet: bool = False) -> None:
        """Back to the local prompt (nothing runs there to stop)."""
        if self.local.pushed is self:
            self.local.pushed = None
