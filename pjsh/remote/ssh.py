"""The SSH transport: host specs, connection options, a pool of authenticated connections, and
native commands run over exec channels with their argv quoted.

This module is the light, public face of the transport: importing it does not import asyncssh.
Everything that touches asyncssh lives in ``pjsh.remote.transport`` and is imported the first
time a connection (or an ssh_config lookup) is actually needed, so ``pjsh -c`` and scripts that
never go remote pay nothing for it.

Threads: the pool owns one asyncio loop on a daemon thread ("pjsh-ssh"), started on first use.
Its ``async`` methods must run on that loop (``pool.loop``); its ``*_sync`` methods and
``call()`` are for any other thread (the interpreter's, a thread job's). Output callbacks run on
the pool's loop thread, so they must be quick and thread-safe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import re
import shlex
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pjsh.runtime.loopthread import start_loop_thread

if TYPE_CHECKING:
    from pjsh.remote.transport import NativeProcess, SSHConnection, Target

T = TypeVar("T")

__all__ = [
    "ConnectOptions",
    "HostSpec",
    "HostSpecError",
    "NativeResult",
    "RemoteConnectionError",
    "SSHPool",
    "SecretReader",
    "quote_argv",
    "run_native",
]

# Reads a secret (a password, a key's passphrase) without echo: the Host's ``read_secret``.
SecretReader = Callable[[str], str]

DEFAULT_PORT = 22


# ---- errors ----------------------------------------------------------------------------------


class HostSpecError(ValueError):
    """A host given as ``[user@]host[:port]`` that cannot be parsed."""


class RemoteConnectionError(Exception):
    """A connection to a host could not be opened or was lost.

    ``str()`` is pwsh's shape, ``[host] message``; ``reason`` says which failure it was
    (refused, unresolved, timeout, auth, password-required, host-key-unknown, host-key-changed,
    key-file, config, closed, network) so callers can choose an error id and category without
    parsing the text. PowerShell raises these as PSRemotingTransportException, category
    OpenError, error id PSSessionOpenFailed (New-/Enter-PSSession) or PSSessionStateBroken
    (Invoke-Command).
    """

    def __init__(self, host: str, message: str, reason: str,
                 error_id: str = "PSSessionOpenFailed") -> None:
        super().__init__(f"[{host}] {message}")
        self.host = host
        self.message = message
        self.reason = reason
        self.error_id = error_id
        self.category = "OpenError"


# ---- host specs --------------------------------------------------------------------------------

# A user name as OpenSSH accepts it on the command line: no whitespace, no '@', not empty.
_USER = re.compile(r"^[^\s@:/]+$")
# A DNS name or IPv4 address, or an ssh_config alias (which may hold any of these characters).
_HOST = re.compile(r"^[A-Za-z0-9_.%-]+$")


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise HostSpecError(
            f"The port '{text}' in '{spec}' is not valid: a port is a number from 1 to 65535.")
    return int(text)


@dataclass(frozen=True)
class HostSpec:
    """A host as the user names it: ``[user@]host[:port]``; ``None`` means 'not given' (the
    ssh_config or the defaults decide)."""

    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str, *, user: str | None = None, port: int | None = None) -> HostSpec:
        """Parse ``[user@]host[:port]`` (IPv6 in brackets: ``[::1]:2222``, or bare without a
        port); explicit ``user``/``port`` (-UserName, -Port) override the ones in the text."""
        spec = text.strip()
        if not spec:
            raise HostSpecError("The host name is empty: expected [user@]host[:port].")
        given_user: str | None = None
        if "@" in spec:
            given_user, _, spec = spec.rpartition("@")
            if not _USER.match(given_user):
                raise HostSpecError(
                    f"The user name '{given_user}' in '{text}' is not valid: "
                    "expected [user@]host[:port].")
        given_port: int | None = None
        if spec.startswith("["):
            close = spec.find("]")
            if close < 0:
                raise HostSpecError(f"The host '{text}' has no closing ']': expected [address]:port.")
            host, rest = spec[1:close], spec[close + 1:]
            if rest:
                if not rest.startswith(":"):
                    raise HostSpecError(
                        f"Unexpected '{rest}' after ']' in '{text}': expected [address]:port.")
                given_port = _parse_port(rest[1:], text)
            _check_address(host, text)
        elif spec.count(":") > 1:
            host = spec  # a bare IPv6 address: no port can be given this way
            _check_address(host, text)
        else:
            host, colon, port_text = spec.partition(":")
            if colon:
                given_port = _parse_port(port_text, text)
            if not host or not _HOST.match(host):
                raise HostSpecError(
                    f"The host name '{host}' in '{text}' is not valid: expected [user@]host[:port].")
        if port is not None and not 1 <= port <= 65535:
            raise HostSpecError(
                f"The port '{port}' is not valid: a port is a number from 1 to 65535.")
        if user is not None and not _USER.match(user):
            raise HostSpecError(f"The user name '{user}' is not valid.")
        return cls(host=host, user=user if user is not None else given_user,
                   port=port if port is not None else given_port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.port is not None else self.host
        text = f"{self.user}@{host}" if self.user else host
        return f"{text}:{self.port}" if self.port is not None else text


def _check_address(host: str, text: str) -> None:
    try:
        ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        raise HostSpecError(f"'{host}' in '{text}' is not a valid IPv6 address.") from None


# ---- options -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectOptions:
    """How to connect, beyond the host spec: what -KeyFilePath, -Options, -AcceptNewHostKey and
    -ConnectingTimeout give, plus the Host's secret reader (None where no one can answer)."""

    key_file: str | None = None
    # ssh_config keywords and values (-Options); they win over ~/.ssh/config, as `ssh -o` does.
    options: Mapping[str, str] = field(default_factory=dict)
    accept_new_host_key: bool = False
    # Milliseconds, as pwsh's -ConnectingTimeout; None: ConnectTimeout of ssh_config, or none.
    connecting_timeout_ms: int | None = None
    # Not part of equality: two callers asking the same thing with different hosts share a key.
    read_secret: SecretReader | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NativeResult:
    """What a native command run over an exec channel left: its exit status (None when a signal
    ended it), the signal's name, and its output as bytes (empty where a callback took it)."""

    exit_status: int | None
    signal: str | None
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def returncode(self) -> int:
        """The exit status, or 128 + the signal's number as a POSIX shell reports it (255 when
        the signal is not a known one), so ``$LASTEXITCODE`` has one number to show."""
        if self.exit_status is not None:
            return self.exit_status
        import signal as _signal
        try:
            return 128 + int(_signal.Signals["SIG" + (self.signal or "")])
        except KeyError:
            return 255


def quote_argv(argv: Sequence[str]) -> str:
    """The command line an exec channel carries for ``argv``: every word single-quoted for the
    remote POSIX login shell, so ``;``, ``$(...)``, backticks, quotes, newlines and globs reach
    the program literally and run nothing."""
    if not argv:
        raise ValueError("a native command needs at least a program name")
    return " ".join(shlex.quote(word) for word in argv)


# ---- the pool ----------------------------------------------------------------------------------


class SSHPool:
    """One authenticated connection per (user, host, port), shared by every caller.

    Concurrent connects to the same key share one attempt; a connection that died (keepalive
    timeout, peer gone) is dropped and the next use reconnects. ``close()`` closes them all and
    stops the loop thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        # Both are touched on the pool's loop only.
        self._connections: dict[tuple[str, str, int], SSHConnection] = {}
        self._pending: dict[tuple[str, str, int], asyncio.Future[SSHConnection]] = {}
        self._known_hosts_lock: asyncio.Lock | None = None

    # ---- the loop thread ----------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The pool's event loop, started on its own daemon thread on first use."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the SSH connection pool has been closed")
            if self._loop is None:
                self._loop, self._thread = start_loop_thread("pjsh-ssh")
            return self._loop

    def in_loop_thread(self) -> bool:
        """True when called from the pool's own loop thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the pool's loop from any thread (another asyncio loop can
        await it through ``asyncio.wrap_future``)."""
        try:
            loop = self.loop
        except RuntimeError:
            coro.close()
            raise
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the pool's loop and wait for its result (not from the loop)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("SSHPool.call() from the pool's loop thread would deadlock")
        return self.submit(coro).result(timeout)

    # ---- connections (on the loop) ------------------------------------------------------------

    async def connect(self, spec: HostSpec | str,
                      options: ConnectOptions | None = None) -> SSHConnection:
        """The pooled, authenticated connection for ``spec`` (opened if needed); raises
        RemoteConnectionError, HostSpecError."""
        from pjsh.remote import transport
        if isinstance(spec, str):
            spec = HostSpec.parse(spec)
        options = options or ConnectOptions()
        target = transport.resolve_target(spec, options)
        key = target.key
        alive = self._connections.get(key)
        if alive is not None:
            if alive.is_alive():
                return alive
            del self._connections[key]
        pending = self._pending.get(key)
        if pending is None:
            if self._known_hosts_lock is None:
                self._known_hosts_lock = asyncio.Lock()
            task = asyncio.ensure_future(
                transport.open_connection(target, options, self._known_hosts_lock))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
            pending = task
        # shield: one caller giving up (cancelled) must not cancel the attempt others share.
        return await asyncio.shield(pending)

    def _settle(self, key: tuple[str, str, int], done: asyncio.Future[SSHConnection]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled() and done.exception() is None:
            conn = done.result()
            if self._closed:
                conn.close()
            else:
                self._connections[key] = conn
                conn.on_close(lambda: self._forget(key, conn))

    def _forget(self, key: tuple[str, str, int], conn: SSHConnection) -> None:
        if self._connections.get(key) is conn:
            del self._connections[key]

    def connections(self) -> list[SSHConnection]:
        """The open pooled connections (on the loop, or for a test's eyes)."""
        return [c for c in self._connections.values() if c.is_alive()]

    async def start_native(self, spec: HostSpec | str, argv: Sequence[str], *,
                           options: ConnectOptions | None = None,
                           on_stdout: Callable[[bytes], None] | None = None,
                           on_stderr: Callable[[bytes], None] | None = None) -> NativeProcess:
        """Start ``argv`` on the host over a new exec channel of the pooled connection; a
        connection found dead when the channel opens is replaced once (nothing ran on it)."""
        from pjsh.remote import transport
        conn = await self.connect(spec, options)
        try:
            return await transport.start_native(conn, argv, on_stdout=on_stdout,
                                                on_stderr=on_stderr)
        except transport.ChannelUnavailable:
            conn.close()
            self._forget(conn.target.key, conn)
            conn = await self.connect(spec, options)
            return await transport.start_native(conn, argv, on_stdout=on_stdout,
                                                on_stderr=on_stderr)

    async def run_native(self, spec: HostSpec | str, argv: Sequence[str], *,
                         options: ConnectOptions | None = None, stdin: bytes | None = None,
                         on_stdout: Callable[[bytes], None] | None = None,
                         on_stderr: Callable[[bytes], None] | None = None) -> NativeResult:
        """Run ``argv`` on the host and wait for it: output returned as bytes, or handed to the
        callbacks as it arrives."""
        process = await self.start_native(spec, argv, options=options, on_stdout=on_stdout,
                                          on_stderr=on_stderr)
        if stdin:
            process.write(stdin)
        process.write_eof()
        return await process.wait()

    async def aclose(self) -> None:
        """Close every pooled connection and wait for them to go (on the loop)."""
        self._closed = True
        for pending in list(self._pending.values()):
            pending.cancel()
        conns = list(self._connections.values())
        self._connections.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            await conn.wait_closed()

    # ---- the sync façade ----------------------------------------------------------------------

    def connect_sync(self, spec: HostSpec | str,
                     options: ConnectOptions | None = None) -> SSHConnection:
        """``connect`` from a thread other than the pool's."""
        return self.call(self.connect(spec, options))

    def run_native_sync(self, spec: HostSpec | str, argv: Sequence[str], *,
                        options: ConnectOptions | None = None, stdin: bytes | None = None,
                        on_stdout: Callable[[bytes], None] | None = None,
                        on_stderr: Callable[[bytes], None] | None = None) -> NativeResult:
        """``run_native`` from a thread other than the pool's."""
        return self.call(self.run_native(spec, argv, options=options, stdin=stdin,
                                         on_stdout=on_stdout, on_stderr=on_stderr))

    def close(self) -> None:
        """Close every connection and stop the loop thread (idempotent; not from the loop)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if self._closed and loop is None:
                return
        if loop is not None and thread is not None and thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(10)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
        with self._lock:
            self._closed = True
            self._loop = self._thread = None


async def run_native(conn: SSHConnection, argv: Sequence[str], *, stdin: bytes | None = None,
                     on_stdout: Callable[[bytes], None] | None = None,
                     on_stderr: Callable[[bytes], None] | None = None) -> NativeResult:
    """Run ``argv`` over a new exec channel of ``conn`` (on the connection's loop): argv quoted so
    it arrives literally, stdout/stderr as bytes (returned, or streamed to the callbacks)."""
    from pjsh.remote import transport
    process = await transport.start_native(conn, argv, on_stdout=on_stdout, on_stderr=on_stderr)
    if stdin:
        process.write(stdin)
    process.write_eof()
    return await process.wait()


def resolve(spec: HostSpec | str, options: ConnectOptions | None = None) -> Target:
    """Where ``spec`` leads once ssh_config, -Options and the explicit parameters are merged
    (host name, port, user, keys, timeouts, known_hosts files); no network."""
    from pjsh.remote import transport
    if isinstance(spec, str):
        spec = HostSpec.parse(spec)
    return transport.resolve_target(spec, options or ConnectOptions())
