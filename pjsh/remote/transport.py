"""The asyncssh side of the SSH transport (imported only when a connection is first needed).

What is here: ssh_config resolution (asyncssh's OpenSSH config parser, with -Options applied
first so they win as ``ssh -o`` does), the known_hosts policy (unknown keys refused unless
accept-new, changed keys always refused), authentication (keys, the agent, passwords and
passphrases through a secret reader that is never called where no one can answer), the connect
timeout that does not count the time a user spends typing a password, and native commands run
over exec channels.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import getpass
import hashlib
import hmac
import os
import shlex
import socket
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

with warnings.catch_warnings():
    # asyncssh imports cryptography's DSA names, which warn on import; users must not see that.
    warnings.simplefilter("ignore")
    import asyncssh
    import asyncssh.config as _asyncssh_config
    from asyncssh.config import ConfigParseError, SSHClientConfig, SSHConfig

from pjsh.remote.ssh import (
    DEFAULT_PORT,
    ConnectOptions,
    HostSpec,
    HostSpecError,
    NativeResult,
    RemoteConnectionError,
    SecretReader,
    quote_argv,
)


class _MemoShlex:
    """asyncssh's config parser splits every line of ~/.ssh/config with shlex on every host it
    resolves (the file is parsed per host, its Host blocks matched as it goes): 11 ms per host
    with 50 Host blocks, which made a 50-host fan-out spend half a second in it. The same
    lines split the same way, so their splits are remembered (copied out: callers may keep
    them)."""

    def __init__(self) -> None:
        self._split = functools.lru_cache(maxsize=8192)(lambda line: tuple(shlex.split(line)))

    def split(self, line: str) -> list[str]:
        """``shlex.split``, remembered per line."""
        return list(self._split(line))


_asyncssh_config.shlex = _MemoShlex()  # type: ignore[assignment,attr-defined]

# OpenSSH's defaults where ssh_config is silent.
USER_CONFIG = "~/.ssh/config"
SYSTEM_CONFIG = "/etc/ssh/ssh_config"
USER_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
DEFAULT_IDENTITIES = ("~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk",
                      "~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk")
# Keepalives are on by default (OpenSSH's are off) so a dead peer is noticed within ~15 s.
DEFAULT_ALIVE_INTERVAL = 5
DEFAULT_ALIVE_COUNT = 3
DEFAULT_PASSWORD_PROMPTS = 3


class _Config(SSHClientConfig):
    """asyncssh's client config, plus the keywords pjsh reads itself, and -Options applied as
    if they came first on the command line."""

    _handlers = {
        **SSHClientConfig._handlers,
        **{option.lower(): (option, handler) for option, handler in (
            ("BatchMode", SSHConfig._set_bool),
            ("HashKnownHosts", SSHConfig._set_bool),
            ("NumberOfPasswordPrompts", SSHConfig._set_int),
            ("StrictHostKeyChecking", SSHConfig._set_bool_or_str),
        )},
    }

    def apply(self, options: Mapping[str, object]) -> None:
        """Set -Options' keywords; the first value of each wins, as in an ssh_config file."""
        for key, value in options.items():
            lkey = str(key).lower()
            if lkey in self._conditionals or lkey == "include":
                raise ConfigParseError(f"The SSH option '{key}' cannot be given with -Options.")
            entry = self._handlers.get(lkey)
            if entry is None:
                raise ConfigParseError(f"The SSH option '{key}' is not supported.")
            option, handler = entry
            text = str(value)
            args = [text] if lkey in self._no_split else shlex.split(text)
            if not args:
                raise ConfigParseError(f"The SSH option '{key}' needs a value.")
            handler(self, option, args)
            if args:
                raise ConfigParseError(f"The SSH option '{key}' has extra data: {' '.join(args)}")


@dataclass(frozen=True)
class Target:
    """A host spec resolved against ssh_config, -Options and the explicit parameters."""

    name: str  # the host as the user named it (an alias, perhaps): what messages show
    host: str
    port: int
    user: str
    identity_files: tuple[str, ...]
    key_file: str | None
    proxy_jump: tuple[str, ...]
    connect_timeout: float | None
    keepalive_interval: float
    keepalive_count: int
    user_known_hosts: tuple[str, ...]
    global_known_hosts: tuple[str, ...]
    hash_known_hosts: bool
    accept_new: bool
    batch_mode: bool
    password_prompts: int
    config: _Config = field(compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str, int]:
        """The pool's key: one connection per (user, host, port)."""
        return (self.user, self.host, self.port)

    @property
    def label(self) -> str:
        """``user@host:port`` for messages that need the whole address."""
        return f"{self.user}@{_host_port(self.host, self.port)}"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _expand(path: str) -> str:
    return os.path.expanduser(path)


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root" if os.geteuid() == 0 else str(os.geteuid())


def resolve_target(spec: HostSpec, options: ConnectOptions,
                   config_files: Sequence[str] | None = None) -> Target:
    """Merge the explicit parameters, -Options and the ssh_config files (``~/.ssh/config``,
    then ``/etc/ssh/ssh_config``; HOME decides where ``~`` is), first value winning."""
    files = [USER_CONFIG, SYSTEM_CONFIG] if config_files is None else list(config_files)
    config = _Config(cast(Any, None), False, False, False, _local_user(),
                     spec.user if spec.user is not None else (),  # type: ignore[arg-type]
                     spec.host,
                     spec.port if spec.port is not None else ())  # type: ignore[arg-type]
    try:
        config.apply(options.options)
        for each in files:
            path = Path(_expand(each))
            if os.access(path, os.R_OK) and path.is_file():
                config.parse(path)
    except (ConfigParseError, ValueError) as exc:
        raise RemoteConnectionError(spec.host, f"Bad SSH configuration: {exc}", "config") from None

    def get(option: str, default: Any = None) -> Any:
        return config.get(option, default)

    host = str(get("Hostname", spec.host) or spec.host)
    identities: list[str] = []
    if options.key_file:
        identities.append(_expand(options.key_file))
    identities += [_expand(p) for p in get("IdentityFile", []) or []]
    jump = get("ProxyJump")
    strict = get("StrictHostKeyChecking")
    accept_new = options.accept_new_host_key or strict is False or (
        isinstance(strict, str) and strict.lower() in ("accept-new", "off"))
    if options.connecting_timeout_ms is not None:
        timeout = options.connecting_timeout_ms / 1000 if options.connecting_timeout_ms > 0 else None
    else:
        seconds = get("ConnectTimeout")
        timeout = float(seconds) if seconds else None
    user_kh = get("UserKnownHostsFile")
    global_kh = get("GlobalKnownHostsFile")
    return Target(
        name=spec.host,
        host=host,
        port=int(get("Port", DEFAULT_PORT) or DEFAULT_PORT),
        user=str(get("User") or _local_user()),
        identity_files=tuple(dict.fromkeys(identities)),
        key_file=_expand(options.key_file) if options.key_file else None,
        proxy_jump=tuple(j.strip() for j in str(jump).split(",") if j.strip())
        if jump and str(jump).lower() != "none" else (),
        connect_timeout=timeout,
        keepalive_interval=float(get("ServerAliveInterval", DEFAULT_ALIVE_INTERVAL)),
        keepalive_count=int(get("ServerAliveCountMax", DEFAULT_ALIVE_COUNT)),
        user_known_hosts=tuple(_expand(p) for p in (USER_KNOWN_HOSTS if user_kh is None
                                                     else user_kh)),
        global_known_hosts=tuple(_expand(p) for p in (GLOBAL_KNOWN_HOSTS if global_kh is None
                                                       else global_kh)),
        hash_known_hosts=bool(get("HashKnownHosts", False)),
        accept_new=accept_new,
        batch_mode=bool(get("BatchMode", False)),
        password_prompts=int(get("NumberOfPasswordPrompts", DEFAULT_PASSWORD_PROMPTS)),
        config=config,
    )


# ---- known_hosts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownEntry:
    """A known_hosts line that names a host: where it is and the key it holds."""

    path: str
    line: int
    key: asyncssh.SSHKey


def known_host_name(host: str, port: int) -> str:
    """The host as known_hosts names it: ``host`` on port 22, ``[host]:port`` elsewhere."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def find_known_keys(paths: Sequence[str], host: str, addr: str, port: int) -> list[KnownEntry]:
    """Every known_hosts line (hashed or plain, patterns included) trusting a key for the host,
    as asyncssh matches them."""
    found: list[KnownEntry] = []
    match_port = port if port != DEFAULT_PORT else None
    for path in paths:
        for number, line in enumerate(_read_lines(path), 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                keys = asyncssh.import_known_hosts(text).match(host, addr, match_port)[0]
            except (ValueError, asyncssh.KeyImportError):
                continue
            found += [KnownEntry(path, number, key) for key in keys]
    return found


def hashed_host(name: str, salt: bytes | None = None) -> str:
    """OpenSSH's hashed form of a known_hosts host name: ``|1|salt|HMAC-SHA1(salt, name)``."""
    salt = salt if salt is not None else os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def record_known_host(path: str, host: str, port: int, key: asyncssh.SSHKey,
                      hashed: bool) -> None:
    """Append one line for ``key`` to known_hosts, creating the file 0600 (and its directory
    0700) if missing."""
    name = known_host_name(host, port)
    line = f"{hashed_host(name) if hashed else name} {key.export_public_key().decode().split()[0]} " \
        f"{key.export_public_key().decode().split()[1]}\n"
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        if f.tell() > 0:
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write("\n")
        f.write(line)


def key_type(key: asyncssh.SSHKey) -> str:
    """The key's type as ssh-keygen -l shows it: ED25519, RSA, ECDSA…"""
    algorithm = key.get_algorithm()
    for marker, name in (("ed25519", "ED25519"), ("ed448", "ED448"), ("rsa", "RSA"),
                         ("ecdsa", "ECDSA"), ("dss", "DSA")):
        if marker in algorithm:
            return name + ("-SK" if "sk-" in algorithm else "")
    return algorithm


# ---- one connection attempt --------------------------------------------------------------------


class _Attempt:
    """What one connection attempt learns on the way: the host key verdict, whether a password
    was wanted, how long a user spent answering (which the connect timeout does not count)."""

    def __init__(self, target: Target, read_secret: SecretReader | None) -> None:
        self.target = target
        self.read_secret = None if target.batch_mode else read_secret
        self.failure: RemoteConnectionError | None = None
        self.new_key: tuple[str, int, asyncssh.SSHKey] | None = None
        self.password_wanted = False
        self.password_tries = 0
        self.encrypted_skipped: list[str] = []
        self.prompt_error: str | None = None
        self.prompting = False
        self.prompt_seconds = 0.0
        self.changed = asyncio.Event()
        self.conn_lost: Callable[[], None] | None = None

    async def ask(self, prompt: str) -> str | None:
        """Ask the user through the secret reader on a worker thread (it blocks); None when it
        cannot answer. The answer is never logged or kept."""
        reader = self.read_secret
        if reader is None:
            return None
        loop = asyncio.get_running_loop()
        self.prompting = True
        self.changed.set()
        started = time.monotonic()
        try:
            return await loop.run_in_executor(None, reader, prompt)
        except Exception as exc:  # a Host that cannot ask (HostException) or an ended stdin
            self.prompt_error = str(exc) or type(exc).__name__
            self.read_secret = None
            return None
        finally:
            self.prompt_seconds += time.monotonic() - started
            self.prompting = False
            self.changed.set()

    def check_host_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        """asyncssh asks this for a key that known_hosts does not trust: a host with other known
        keys has CHANGED (refused); an unknown one is recorded only with accept-new."""
        target = self.target
        files = [*target.user_known_hosts, *target.global_known_hosts]
        known = find_known_keys(files, host, addr, port)
        shown = known_host_name(host, port)
        fingerprint = key.get_fingerprint("sha256")
        kind = key_type(key)
        if known:
            same = [e for e in known if key_type(e.key) == kind] or known
            old = same[0]
            self.failure = RemoteConnectionError(
                target.name,
                f"The host key for '{shown}' has CHANGED: known_hosts holds a "
                f"{key_type(old.key)} key with fingerprint {old.key.get_fingerprint('sha256')} "
                f"({old.path}:{old.line}), but the host now presents a {kind} key with fingerprint "
                f"{fingerprint}. Someone could be intercepting the connection, or the host was "
                f"reinstalled. The connection is refused; if the change is expected, remove the "
                f"old key (ssh-keygen -R '{known_host_name(host, port)}') and connect again.",
                "host-key-changed")
            return False
        if target.accept_new:
            self.new_key = (host, port, key)
            return True
        where = target.user_known_hosts[0] if target.user_known_hosts else "~/.ssh/known_hosts"
        self.failure = RemoteConnectionError(
            target.name,
            f"The authenticity of host '{shown}' cannot be established: its {kind} key "
            f"fingerprint is {fingerprint} and it is not in {where}. The connection is refused. "
            f"If you trust this fingerprint, connect again with -AcceptNewHostKey to record "
            f"the key in {where}.",
            "host-key-unknown")
        return False


def _client_factory(attempt: _Attempt) -> Callable[[], asyncssh.SSHClient]:
    target = attempt.target

    class _Client(asyncssh.SSHClient):
        def connection_lost(self, exc: Exception | None) -> None:
            if attempt.conn_lost is not None:
                attempt.conn_lost()

        def validate_host_public_key(self, host: str, addr: str, port: int,
                                     key: asyncssh.SSHKey) -> bool:
            return attempt.check_host_key(host, addr, port, key)

        async def password_auth_requested(self) -> str | None:
            attempt.password_wanted = True
            if attempt.read_secret is None or attempt.password_tries >= target.password_prompts:
                return None
            attempt.password_tries += 1
            return await attempt.ask(f"{target.user}@{target.host}'s password: ")

        def kbdint_auth_requested(self) -> str | None:
            attempt.password_wanted = True
            # '' lets the server choose the submethods; None skips keyboard-interactive.
            return "" if attempt.read_secret is not None else None

        async def kbdint_challenge_received(
                self, name: str, instructions: str, lang: str,
                prompts: Sequence[tuple[str, bool]]) -> list[str] | None:
            if not prompts:
                return []
            if attempt.read_secret is None or attempt.password_tries >= target.password_prompts:
                return None
            attempt.password_tries += 1
            answers: list[str] = []
            for prompt, _echo in prompts:
                answer = await attempt.ask(prompt if prompt.strip() else
                                           f"{target.user}@{target.host}'s password: ")
                if answer is None:
                    return None
                answers.append(answer)
            return answers

    return _Client


def _is_passphrase_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "passphrase must be specified" in text


async def _load_keys(target: Target, attempt: _Attempt) -> list[asyncssh.SSHKeyPair]:
    """The identity files' key pairs (each with its -cert.pub), asking for the passphrase of an
    encrypted one through the secret reader, or skipping it where no one can answer."""
    if target.key_file and not os.path.exists(target.key_file):
        raise RemoteConnectionError(target.name, f"The specified key file {target.key_file} "
                                    "was not found.", "key-file", "PathNotFound")
    paths = list(target.identity_files) or [_expand(p) for p in DEFAULT_IDENTITIES]
    loop = asyncio.get_running_loop()
    keys: list[asyncssh.SSHKeyPair] = []
    for path in paths:
        if not os.path.isfile(path):
            continue
        passphrase: str | None = None
        for _ in range(DEFAULT_PASSWORD_PROMPTS + 1):
            try:
                # Decrypting a key (bcrypt) takes a while: off the loop.
                loaded = await loop.run_in_executor(
                    None, functools.partial(asyncssh.load_keypairs, [path], passphrase))
                keys += loaded
                break
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError) as exc:
                if not _is_passphrase_error(exc) and "passphrase" not in str(exc).lower():
                    if path == target.key_file:
                        raise RemoteConnectionError(
                            target.name, f"Load key '{path}': {exc}", "key-file") from None
                    break  # OpenSSH also skips an unreadable default key
                passphrase = await attempt.ask(f"Enter passphrase for key '{path}': ")
                if passphrase is None:
                    attempt.encrypted_skipped.append(path)
                    break
            except OSError:
                break
    return keys


def _connect_error(target: Target, attempt: _Attempt, exc: BaseException) -> RemoteConnectionError:
    """The pwsh-style error for a failed connect (no traceback, the host named)."""
    name, host, port = target.name, target.host, target.port
    if attempt.failure is not None:
        return attempt.failure
    if isinstance(exc, RemoteConnectionError):
        return exc
    if isinstance(exc, asyncssh.PermissionDenied):
        if attempt.prompt_error:
            return RemoteConnectionError(
                name, f"{target.user}@{host} requires a password, which could not be read: "
                f"{attempt.prompt_error}", "password-required")
        skipped = "".join(f" The key {p} needs a passphrase, which could not be asked for."
                          for p in attempt.encrypted_skipped)
        if attempt.password_wanted and attempt.password_tries == 0:
            return RemoteConnectionError(
                name, f"{target.user}@{host} requires a password; pjsh cannot ask for it in a "
                "non-interactive session (script, -c, or job); use a key or the SSH agent."
                + skipped, "password-required")
        return RemoteConnectionError(
            name, f"{target.user}@{host}: Permission denied: no key, agent identity or password "
            f"was accepted.{skipped}", "auth")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return RemoteConnectionError(name, f"Host key verification failed: {exc.reason}",
                                     "host-key-unknown")
    if isinstance(exc, asyncssh.ConnectionLost):
        return RemoteConnectionError(name, f"Connection closed by {host} port {port}.", "closed")
    if isinstance(exc, asyncssh.DisconnectError):
        return RemoteConnectionError(name, f"ssh: {exc.reason}", "closed")
    if isinstance(exc, socket.gaierror):
        return RemoteConnectionError(
            name, f"ssh: Could not resolve hostname {host}: {exc.strerror or exc}", "unresolved")
    if isinstance(exc, ConnectionRefusedError):
        return RemoteConnectionError(
            name, f"ssh: connect to host {host} port {port}: Connection refused", "refused")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        seconds = target.connect_timeout or 0
        return RemoteConnectionError(
            name, f"SSH connection attempt failed after time out: {seconds:g} seconds.",
            "timeout")
    if isinstance(exc, OSError):
        return RemoteConnectionError(
            name, f"ssh: connect to host {host} port {port}: {exc.strerror or exc}", "network")
    if isinstance(exc, (asyncssh.Error, ValueError)):
        return RemoteConnectionError(name, f"ssh: {exc}", "network")
    raise exc


async def _within(task: asyncio.Task[Any], attempt: _Attempt, limit: float | None) -> Any:
    """Await ``task``, cancelling it after ``limit`` seconds not spent waiting for the user."""
    if limit is None:
        return await task
    start = time.monotonic()
    try:
        while True:
            if attempt.prompting:
                timeout: float | None = None
            else:
                timeout = limit - (time.monotonic() - start - attempt.prompt_seconds)
                if timeout <= 0:
                    task.cancel()
                    raise asyncio.TimeoutError
            attempt.changed.clear()
            changed = asyncio.ensure_future(attempt.changed.wait())
            try:
                done, _ = await asyncio.wait({task, changed}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
            if task in done:
                return task.result()
    except asyncio.CancelledError:
        task.cancel()
        raise


class SSHConnection:
    """An authenticated connection (asyncssh's, in ``raw``) and how it ended."""

    def __init__(self, target: Target, raw: asyncssh.SSHClientConnection,
                 hops: Sequence[SSHConnection] = ()) -> None:
        self.target = target
        self.raw = raw
        self._hops = list(hops)
        self._closed = asyncio.Event()
        self._on_close: list[Callable[[], None]] = []
        self.opened_at = time.time()

    def _lost(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for callback in self._on_close:
            callback()
        for hop in self._hops:
            hop.close()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the loop) once the connection has gone."""
        if self._closed.is_set():
            callback()
        else:
            self._on_close.append(callback)

    def is_alive(self) -> bool:
        """False once the connection closed or was lost (keepalive timeout, peer gone)."""
        return not self._closed.is_set() and not self.raw.is_closed()

    def close(self) -> None:
        """Start closing the connection (and the jump hosts it went through)."""
        self.raw.close()
        for hop in self._hops:
            hop.close()

    async def wait_closed(self) -> None:
        """Wait until the connection has gone."""
        await self.raw.wait_closed()
        self._lost()

    def __repr__(self) -> str:
        state = "open" if self.is_alive() else "closed"
        return f"<SSHConnection {self.target.label} {state}>"


async def open_connection(target: Target, options: ConnectOptions,
                          known_hosts_lock: asyncio.Lock | None = None) -> SSHConnection:
    """Open and authenticate a connection to ``target`` (through its ProxyJump hosts, in
    order, each checked the same way); raises RemoteConnectionError."""
    hops: list[SSHConnection] = []
    try:
        if target.proxy_jump:
            for jump in target.proxy_jump:
                try:
                    hop_spec = HostSpec.parse(jump)
                except HostSpecError as exc:
                    raise RemoteConnectionError(target.name, f"Bad ProxyJump: {exc}",
                                                "config") from None
                hop_target = resolve_target(hop_spec, ConnectOptions(
                    accept_new_host_key=options.accept_new_host_key,
                    connecting_timeout_ms=options.connecting_timeout_ms,
                    read_secret=options.read_secret))
                hops.append(await _open_direct(hop_target, options, known_hosts_lock,
                                               hops[-1] if hops else None))
        return await _open_direct(target, options, known_hosts_lock, hops[-1] if hops else None,
                                  hops)
    except BaseException:
        for hop in hops:
            hop.close()
        raise


async def _open_direct(target: Target, options: ConnectOptions,
                       known_hosts_lock: asyncio.Lock | None,
                       tunnel: SSHConnection | None,
                       hops: Sequence[SSHConnection] = ()) -> SSHConnection:
    attempt = _Attempt(target, options.read_secret)
    try:
        keys = await _load_keys(target, attempt)
        known_files = [p for p in (*target.user_known_hosts, *target.global_known_hosts)
                       if os.path.isfile(p) and os.access(p, os.R_OK)]
        known_text = "\n".join("\n".join(_read_lines(p)) for p in known_files)
        # asyncssh takes a resolved config only as the base of an options object ("last
        # config"); config=[] keeps it from reading ~/.ssh/config a second time.
        base = asyncssh.SSHClientConnectionOptions(config=[], client_keys=None)
        base.config = target.config
        connect = asyncssh.connect(
            target.host, target.port, options=base,
            tunnel=tunnel.raw if tunnel is not None else None,
            config=[], agent_path=(),
            client_factory=_client_factory(attempt),
            username=target.user,
            known_hosts=asyncssh.import_known_hosts(known_text),
            client_keys=keys,
            # pjsh keeps its own timeout (_within), which leaves out the user's typing time.
            connect_timeout=None,
            keepalive_interval=target.keepalive_interval,
            keepalive_count_max=target.keepalive_count,
        )
        task = asyncio.ensure_future(connect)
        raw = await _within(task, attempt, target.connect_timeout)
    except asyncssh.PermissionDenied as exc:
        # The key exchange finished before authentication failed: the host key is proven.
        await _record_new_key(target, attempt, known_hosts_lock)
        raise _connect_error(target, attempt, exc) from None
    except (OSError, asyncio.TimeoutError, asyncssh.Error, ValueError) as exc:
        raise _connect_error(target, attempt, exc) from None
    await _record_new_key(target, attempt, known_hosts_lock)
    conn = SSHConnection(target, raw, hops)
    attempt.conn_lost = conn._lost
    if raw.is_closed():
        conn._lost()
    return conn


async def _record_new_key(target: Target, attempt: _Attempt,
                          lock: asyncio.Lock | None) -> None:
    if attempt.new_key is None or not target.user_known_hosts:
        return
    host, port, key = attempt.new_key
    attempt.new_key = None
    path = target.user_known_hosts[0]

    def record() -> None:
        # Another connection (an alias of the same host) may have recorded it meanwhile.
        if any(e.key == key for e in find_known_keys([path], host, "", port)):
            return
        record_known_host(path, host, port, key, target.hash_known_hosts)

    if lock is None:
        record()
    else:
        async with lock:
            record()


# ---- native commands over exec channels ----------------------------------------------------------


class ChannelUnavailable(Exception):
    """The connection died before the channel opened: nothing ran, so it is safe to retry."""


class _Session(asyncssh.SSHClientSession[bytes]):
    """Collects (or streams) a channel's output and its exit."""

    def __init__(self, on_stdout: Callable[[bytes], None] | None,
                 on_stderr: Callable[[bytes], None] | None) -> None:
        self.on_stdout = on_stdout
        self.on_stderr = on_stderr
        self.stdout: list[bytes] = []
        self.stderr: list[bytes] = []
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self.error: Exception | None = None
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if datatype == asyncssh.EXTENDED_DATA_STDERR:
            if self.on_stderr is not None:
                self.on_stderr(data)
            else:
                self.stderr.append(data)
        elif self.on_stdout is not None:
            self.on_stdout(data)
        else:
            self.stdout.append(data)

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = exc
        if not self.done.done():
            self.done.set_result(None)


class NativeProcess:
    """A native command running on the host over one exec channel."""

    def __init__(self, conn: SSHConnection, channel: asyncssh.SSHClientChannel[bytes],
                 session: _Session) -> None:
        self.connection = conn
        self._channel = channel
        self._session = session

    def write(self, data: bytes) -> None:
        """Send bytes to the command's stdin."""
        self._channel.write(data)

    def write_eof(self) -> None:
        """Close the command's stdin."""
        if not self._channel.is_closing():
            self._channel.write_eof()

    def signal(self, name: str) -> None:
        """Send a signal (``INT``, ``TERM``…) to the command, where the server allows it."""
        self._channel.send_signal(name)

    def close(self) -> None:
        """Close the channel (the server hangs the command up)."""
        self._channel.close()

    async def wait(self) -> NativeResult:
        """Wait for the command to end; RemoteConnectionError if the connection was lost."""
        await self._session.done
        session = self._session
        if session.exit_status is None and session.exit_signal is None and \
                not self.connection.is_alive():
            target = self.connection.target
            raise RemoteConnectionError(
                target.name, f"The connection to {target.label} was lost while the command ran.",
                "closed", "PSSessionStateBroken")
        return NativeResult(session.exit_status, session.exit_signal,
                            b"".join(session.stdout), b"".join(session.stderr))


async def start_native(conn: SSHConnection, argv: Sequence[str], *,
                       on_stdout: Callable[[bytes], None] | None = None,
                       on_stderr: Callable[[bytes], None] | None = None) -> NativeProcess:
    """Open an exec channel running ``argv`` (quoted for the login shell) on ``conn``."""
    command = quote_argv(argv)
    if not conn.is_alive():
        raise ChannelUnavailable
    try:
        channel, session = await conn.raw.create_session(
            lambda: _Session(on_stdout, on_stderr), command, encoding=None)
    except (asyncssh.ConnectionLost, asyncssh.DisconnectError, BrokenPipeError,
            ConnectionResetError) as exc:
        raise ChannelUnavailable from exc
    except asyncssh.ChannelOpenError as exc:
        # asyncssh fails pending opens with 'SSH connection closed' before it tells the
        # connection's owner that it was lost: that, too, means nothing ran.
        if not conn.is_alive() or exc.reason == "SSH connection closed":
            raise ChannelUnavailable from exc
        raise RemoteConnectionError(conn.target.name, f"ssh: channel open failed: {exc.reason}",
                                    "closed", "PSSessionStateBroken") from None
    return NativeProcess(conn, cast("asyncssh.SSHClientChannel[bytes]", channel),
                         cast(_Session, session))
