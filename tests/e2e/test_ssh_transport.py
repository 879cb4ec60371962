"""The SSH transport against a real OpenSSH sshd on loopback (tests/ssh_fixture.py): the
remote side is a throwaway user, the client a fake HOME with ~/.ssh/config and known_hosts."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.remote.ssh import ConnectOptions, RemoteConnectionError, SSHPool, run_native
from tests.ssh_fixture import ALIAS, SSHServer, fingerprint


@pytest.fixture
def pool(ssh_home: Path) -> Iterator[SSHPool]:
    """A connection pool for this test, closed after it."""
    p = SSHPool()
    yield p
    p.close()


def _session_pids(sshd: SSHServer) -> list[int]:
    """The sshd processes serving the throwaway user's connections (``sshd: user@notty``).
    Found by their title: sshd makes them non-dumpable, so their /proc entries belong to root."""
    title = f"sshd: {sshd.user}@".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f.read().startswith(title):
                        pids.append(int(entry))
            except OSError:
                pass
    assert pids, "no sshd session process found for the throwaway user"
    return pids


def _connect_error(pool: SSHPool, spec: str, options: ConnectOptions | None = None
                   ) -> RemoteConnectionError:
    with pytest.raises(RemoteConnectionError) as info:
        pool.run_native_sync(spec, ["true"], options=options)
    return info.value


# ---- who is on the other side ----------------------------------------------------------------


def test_a_native_runs_as_the_remote_user_in_the_remote_home(sshd: SSHServer,
                                                             pool: SSHPool) -> None:
    result = pool.run_native_sync(sshd.spec, ["sh", "-c", 'whoami; printf %s "$HOME"'],
                                  options=ConnectOptions(key_file=str(sshd.client_key)))
    assert result.exit_status == 0, result.stderr
    assert result.stdout.decode().split("\n") == [sshd.user, sshd.user_home]
    assert os.geteuid() == 0  # the local side is root: the difference is observable


def test_an_alias_from_ssh_config_reaches_its_host_name_port_user_and_key(
        sshd: SSHServer, pool: SSHPool) -> None:
    assert pool.run_native_sync(ALIAS, ["whoami"]).stdout == f"{sshd.user}\n".encode()
    (conn,) = pool.connections()
    assert conn.target.key == (sshd.user, "127.0.0.1", sshd.port)


def test_exit_status_and_stderr_come_back_apart(sshd: SSHServer, pool: SSHPool) -> None:
    result = pool.run_native_sync(ALIAS, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (result.exit_status, result.signal) == (7, None)
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


def test_stdin_reaches_the_remote_command(sshd: SSHServer, pool: SSHPool) -> None:
    result = pool.run_native_sync(ALIAS, ["cat"], stdin=b"line one\nline two\n")
    assert result.stdout == b"line one\nline two\n"


def test_a_command_killed_by_a_signal_reports_it(sshd: SSHServer, pool: SSHPool) -> None:
    # The login shell running the command is the one killed: sshd reports its signal.
    result = pool.run_native_sync(ALIAS, ["python3", "-c", "import os; os.kill(os.getppid(), 9)"])
    assert (result.exit_status, result.signal) == (None, "KILL")
    assert result.returncode == 128 + signal.SIGKILL


@pytest.mark.slow
def test_a_proxy_jump_from_ssh_config_goes_through_the_jump_host(
        sshd: SSHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = sshd.make_home(tmp_path / "jumphome", config_extra=(
        "Host pjsh-jumped\n"
        f"    HostName 127.0.0.1\n    Port {sshd.port}\n    User {sshd.user}\n"
        f"    IdentityFile {sshd.client_key}\n    ProxyJump {ALIAS}\n"))
    monkeypatch.setenv("HOME", str(home))
    pool = SSHPool()
    try:
        result = pool.run_native_sync("pjsh-jumped", ["sh", "-c", "echo $SSH_CONNECTION"])
        # Through the jump host the connection reaches sshd from sshd's own forwarding.
        assert result.stdout.split()[0] == b"127.0.0.1"
        (conn,) = pool.connections()
        assert conn.target.proxy_jump == (ALIAS,)
    finally:
        pool.close()


# ---- host keys ---------------------------------------------------------------------------------


def _fresh_home(sshd: SSHServer, path: Path, monkeypatch: pytest.MonkeyPatch,
                known: bool) -> Path:
    home = sshd.make_home(path, known=known)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_an_unknown_host_key_is_refused_naming_host_key_type_and_fingerprint(
        sshd: SSHServer, pool: SSHPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _fresh_home(sshd, tmp_path / "h", monkeypatch, known=False)
    error = _connect_error(pool, ALIAS)
    assert error.reason == "host-key-unknown"
    text = str(error)
    assert text.startswith(f"[{ALIAS}] ")
    assert f"[127.0.0.1]:{sshd.port}" in text
    assert any(kind.upper() in text and fingerprint(pub) in text
               for kind, pub in sshd.host_keys.items()), text
    assert "-AcceptNewHostKey" in text
    assert (home / ".ssh" / "known_hosts").read_text() == ""  # nothing recorded


def test_accept_new_records_exactly_one_line_and_the_next_connect_needs_it_no_more(
        sshd: SSHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _fresh_home(sshd, tmp_path / "h", monkeypatch, known=False)
    known_hosts = home / ".ssh" / "known_hosts"
    known_hosts.unlink()  # accept-new creates the file, private
    first = SSHPool()
    try:
        result = first.run_native_sync(ALIAS, ["whoami"],
                                       options=ConnectOptions(accept_new_host_key=True))
        assert result.stdout == f"{sshd.user}\n".encode()
    finally:
        first.close()
    lines = known_hosts.read_text().splitlines()
    assert len(lines) == 1
    assert known_hosts.stat().st_mode & 0o777 == 0o600
    recorded = lines[0].split()[1:]
    assert recorded in [pub.read_text().split()[:2] for pub in sshd.host_keys.values()]
    second = SSHPool()
    try:
        assert second.run_native_sync(ALIAS, ["whoami"]).stdout == f"{sshd.user}\n".encode()
    finally:
        second.close()
    assert known_hosts.read_text().splitlines() == lines


def test_a_changed_host_key_is_refused_even_with_accept_new(
        sshd: SSHServer, pool: SSHPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _fresh_home(sshd, tmp_path / "h", monkeypatch, known=False)
    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)],
                   check=True)
    kind, blob = Path(str(impostor) + ".pub").read_text().split()[:2]
    known_hosts = home / ".ssh" / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    error = _connect_error(pool, ALIAS, ConnectOptions(accept_new_host_key=True))
    assert error.reason == "host-key-changed"
    text = str(error)
    assert "CHANGED" in text
    assert fingerprint(Path(str(impostor) + ".pub")) in text  # the old, known key
    assert fingerprint(sshd.host_keys["ed25519"]) in text  # the one the host presents
    assert f"{known_hosts}:1" in text
    assert known_hosts.read_text() == f"[127.0.0.1]:{sshd.port} {kind} {blob}\n"


# ---- connection failures -----------------------------------------------------------------------


def test_a_refused_port_gives_connection_refused_naming_the_host(sshd: SSHServer,
                                                                 pool: SSHPool) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = _connect_error(pool, f"127.0.0.1:{port}")
    assert error.reason == "refused"
    assert str(error) == f"[127.0.0.1] ssh: connect to host 127.0.0.1 port {port}: Connection refused"


def test_a_name_that_does_not_resolve_says_so(sshd: SSHServer, pool: SSHPool) -> None:
    error = _connect_error(pool, "no-such-host.invalid")
    assert error.reason == "unresolved"
    assert str(error).startswith(
        "[no-such-host.invalid] ssh: Could not resolve hostname no-such-host.invalid: ")


def test_a_host_that_never_answers_times_out_after_connecting_timeout(
        sshd: SSHServer, pool: SSHPool) -> None:
    with socket.socket() as silent:  # accepts TCP (backlog) but never says SSH-2.0
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        error = _connect_error(pool, f"127.0.0.1:{port}",
                               ConnectOptions(connecting_timeout_ms=300))
    assert error.reason == "timeout"
    assert str(error) == "[127.0.0.1] SSH connection attempt failed after time out: 0.3 seconds."


def test_a_password_prompt_without_a_reader_fails_fast_with_a_clear_error(
        sshd: SSHServer, pool: SSHPool) -> None:
    # No IdentityFile applies to 127.0.0.1 and the fake HOME has no keys: only a password would do.
    error = _connect_error(pool, sshd.spec)
    assert error.reason == "password-required"
    assert "requires a password" in str(error)
    assert "non-interactive" in str(error)


def test_a_password_is_asked_through_the_reader_and_never_shown(sshd: SSHServer,
                                                                pool: SSHPool) -> None:
    prompts: list[str] = []

    def read_secret(prompt: str) -> str:
        prompts.append(prompt)
        return sshd.password

    result = pool.run_native_sync(sshd.spec, ["whoami"],
                                  options=ConnectOptions(read_secret=read_secret))
    assert result.stdout == f"{sshd.user}\n".encode()
    assert prompts == [f"{sshd.user}@127.0.0.1's password: "]
    assert sshd.password not in repr(pool.connections())


def test_a_reader_that_cannot_answer_fails_the_connect_with_its_reason(
        sshd: SSHServer, pool: SSHPool) -> None:
    def read_secret(prompt: str) -> str:
        raise RuntimeError("PowerShell is in NonInteractive mode.")

    error = _connect_error(pool, sshd.spec, ConnectOptions(read_secret=read_secret))
    assert error.reason == "password-required"
    assert "NonInteractive" in str(error)


def test_a_missing_key_file_is_named(sshd: SSHServer, pool: SSHPool, tmp_path: Path) -> None:
    missing = tmp_path / "nokey"
    error = _connect_error(pool, ALIAS, ConnectOptions(key_file=str(missing)))
    assert (error.reason, error.error_id) == ("key-file", "PathNotFound")
    assert str(error) == f"[{ALIAS}] The specified key file {missing} was not found."


# ---- data arrives exactly, arguments arrive literally -----------------------------------------


@pytest.mark.slow
def test_five_megabytes_of_binary_output_arrive_byte_exact(sshd: SSHServer,
                                                           pool: SSHPool) -> None:
    name = f"blob-{os.getpid()}"
    result = pool.run_native_sync(
        ALIAS, ["sh", "-c", f"head -c 5000000 /dev/urandom | tee {name}"])
    assert len(result.stdout) == 5_000_000
    remote = pool.run_native_sync(ALIAS, ["sha256sum", name]).stdout.split()[0].decode()
    assert hashlib.sha256(result.stdout).hexdigest() == remote
    streamed: list[bytes] = []
    again = pool.run_native_sync(ALIAS, ["cat", name], on_stdout=streamed.append)
    assert again.stdout == b""  # the callback took it
    assert b"".join(streamed) == result.stdout
    pool.run_native_sync(ALIAS, ["rm", "-f", name])


def test_every_byte_value_survives_in_both_directions(sshd: SSHServer, pool: SSHPool) -> None:
    data = bytes(range(256)) * 64
    assert pool.run_native_sync(ALIAS, ["cat"], stdin=data).stdout == data


INJECTIONS = [
    "'; touch /tmp/pjsh-injected-1'",
    "; touch pjsh-injected-2",
    "$(touch pjsh-injected-3)",
    "`touch pjsh-injected-4`",
    '"; touch pjsh-injected-5; "',
    "*",
    "line\ntouch pjsh-injected-6",
    "a | touch pjsh-injected-7 && b",
    "$HOME ~ {a,b} \\ \\\\",
    "",
]


def test_arguments_arrive_literally_and_injections_create_nothing(sshd: SSHServer,
                                                                  pool: SSHPool) -> None:
    before = pool.run_native_sync(ALIAS, ["ls", "-A"]).stdout
    result = pool.run_native_sync(
        ALIAS, ["python3", "-c", "import sys, json; print(json.dumps(sys.argv[1:]))", *INJECTIONS])
    import json
    assert json.loads(result.stdout) == INJECTIONS
    printed = pool.run_native_sync(ALIAS, ["printf", "%s\\n", *INJECTIONS])
    assert printed.stdout.decode() == "".join(word + "\n" for word in INJECTIONS)
    assert pool.run_native_sync(ALIAS, ["ls", "-A"]).stdout == before
    assert not any(Path("/tmp").glob("pjsh-injected-*"))


# ---- the pool ----------------------------------------------------------------------------------


def test_concurrent_callers_share_one_connection(sshd: SSHServer, pool: SSHPool) -> None:
    async def many() -> list[bytes]:
        runs = [pool.run_native(ALIAS, ["sh", "-c", "echo $SSH_CONNECTION"]) for _ in range(6)]
        return [r.stdout for r in await asyncio.gather(*runs)]

    outputs = pool.call(many())
    assert len(set(outputs)) == 1  # one client port: one TCP connection
    assert len(pool.connections()) == 1

    async def connects() -> set[int]:
        conns = await asyncio.gather(*(pool.connect(ALIAS) for _ in range(4)))
        return {id(c) for c in conns}

    assert len(pool.call(connects())) == 1


def test_concurrent_first_connects_share_one_attempt(sshd: SSHServer, pool: SSHPool) -> None:
    async def connects() -> set[int]:
        conns = await asyncio.gather(*(pool.connect(sshd.spec.split("@")[1], ConnectOptions(
            key_file=str(sshd.client_key))) for _ in range(5)))
        return {id(c) for c in conns}

    # The spec without a user resolves to root, whom sshd refuses: all five share one failure.
    with pytest.raises(RemoteConnectionError):
        pool.call(connects())
    spec = sshd.spec

    async def connects_ok() -> set[int]:
        conns = await asyncio.gather(*(pool.connect(spec, ConnectOptions(
            key_file=str(sshd.client_key))) for _ in range(5)))
        return {id(c) for c in conns}

    assert len(pool.call(connects_ok())) == 1
    pool.run_native_sync(spec, ["true"])  # sshd titles its process user@notty once a session ran
    assert len(_session_pids(sshd)) == 1


@pytest.mark.slow
def test_a_killed_connection_is_dropped_and_the_next_call_reconnects(
        sshd: SSHServer, pool: SSHPool) -> None:
    first = pool.run_native_sync(ALIAS, ["sh", "-c", "echo $SSH_CONNECTION"]).stdout
    (old,) = pool.connections()
    for pid in _session_pids(sshd):
        os.kill(pid, signal.SIGKILL)
    pool.call(asyncio.wait_for(old.wait_closed(), 30))
    assert not old.is_alive()
    second = pool.run_native_sync(ALIAS, ["sh", "-c", "echo $SSH_CONNECTION"]).stdout
    assert second != first  # a new TCP connection (another client port)
    (new,) = pool.connections()
    assert new is not old


@pytest.mark.slow
def test_a_killed_connection_not_yet_noticed_is_replaced_on_use(
        sshd: SSHServer, pool: SSHPool) -> None:
    pool.run_native_sync(ALIAS, ["true"])
    (old,) = pool.connections()
    for pid in _session_pids(sshd):
        os.kill(pid, signal.SIGKILL)
    # No waiting: whether or not the loss was seen yet, the call must land on a live connection.
    assert pool.run_native_sync(ALIAS, ["whoami"]).stdout == f"{sshd.user}\n".encode()
    assert pool.connections()[0] is not old


@pytest.mark.slow
def test_keepalives_notice_a_peer_that_stopped_answering(sshd: SSHServer,
                                                        pool: SSHPool) -> None:
    options = ConnectOptions(options={"ServerAliveInterval": "1", "ServerAliveCountMax": "2"})
    conn = pool.connect_sync(ALIAS, options)
    assert (conn.target.keepalive_interval, conn.target.keepalive_count) == (1, 2)
    pool.run_native_sync(ALIAS, ["true"])  # sshd titles its process user@notty once a session ran
    frozen = _session_pids(sshd)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        pool.call(asyncio.wait_for(conn.wait_closed(), 30))
        assert not conn.is_alive()
        assert pool.connections() == []
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def test_run_native_on_a_connection_from_the_loop(sshd: SSHServer, pool: SSHPool) -> None:
    async def use() -> bytes:
        conn = await pool.connect(ALIAS)
        return (await run_native(conn, ["echo", "a b", "c"])).stdout

    assert pool.call(use()) == b"a b c\n"


def test_closing_the_pool_closes_its_connections(sshd: SSHServer, ssh_home: Path) -> None:
    pool = SSHPool()
    conn = pool.connect_sync(ALIAS)
    pool.close()
    assert not conn.is_alive()
    with pytest.raises(RuntimeError):
        pool.connect_sync(ALIAS)
