"""Host specs, option merging, known_hosts helpers and argv quoting of the SSH transport,
without an sshd."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pjsh.remote.ssh import (
    ConnectOptions,
    HostSpec,
    HostSpecError,
    NativeResult,
    RemoteConnectionError,
    quote_argv,
)

if TYPE_CHECKING:
    from pjsh.remote.transport import Target

# ---- HostSpec ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("web1", HostSpec("web1")),
    ("alice@web1", HostSpec("web1", "alice")),
    ("web1:2222", HostSpec("web1", None, 2222)),
    ("alice@web1.example.com:2222", HostSpec("web1.example.com", "alice", 2222)),
    ("10.0.0.5:22", HostSpec("10.0.0.5", None, 22)),
    ("[::1]:2222", HostSpec("::1", None, 2222)),
    ("bob@[fe80::1%eth0]:2200", HostSpec("fe80::1%eth0", "bob", 2200)),
    ("[::1]", HostSpec("::1")),
    ("::1", HostSpec("::1")),
    ("a.b@host", HostSpec("host", "a.b")),
    ("  web1  ", HostSpec("web1")),
])
def test_a_host_spec_parses_user_host_and_port(text: str, expected: HostSpec) -> None:
    assert HostSpec.parse(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("web1:", "port '' in 'web1:'"),
    ("web1:0", "1 to 65535"),
    ("web1:65536", "1 to 65535"),
    ("web1:ssh", "port 'ssh'"),
    ("@web1", "user name ''"),
    ("[::1", "no closing ']'"),
    ("[::1]2222", "Unexpected '2222'"),
    ("[nothex]:22", "not a valid IPv6 address"),
    ("web 1", "host name 'web 1'"),
    ("we/b", "host name 'we/b'"),
])
def test_a_bad_host_spec_is_refused_saying_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(HostSpecError) as info:
        HostSpec.parse(text)
    assert message in str(info.value)


def test_explicit_user_name_and_port_override_the_spec() -> None:
    spec = HostSpec.parse("alice@web1:2222", user="bob", port=22)
    assert spec == HostSpec("web1", "bob", 22)
    with pytest.raises(HostSpecError, match="1 to 65535"):
        HostSpec.parse("web1", port=70000)


@pytest.mark.parametrize("text", ["web1", "alice@web1:2222", "[::1]:22", "bob@::1"])
def test_a_host_spec_prints_as_it_parses(text: str) -> None:
    spec = HostSpec.parse(text)
    assert HostSpec.parse(str(spec)) == spec


# ---- option merging ----------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake HOME with an ssh_config; the system config is not read by these tests."""
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(
        "Host web-*\n"
        "    HostName %h.example.com\n"
        "    User deploy\n"
        "    Port 2200\n"
        "    IdentityFile ~/.ssh/web_key\n"
        "    ServerAliveInterval 9\n"
        "    ConnectTimeout 4\n"
        "Host db\n"
        "    HostName 10.1.1.1\n"
        "    ProxyJump bastion,alice@jump2:2222\n"
        "    HashKnownHosts yes\n"
        "    StrictHostKeyChecking accept-new\n"
        "    UserKnownHostsFile ~/.ssh/kh_db\n"
        "Host *\n"
        "    User fallback\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _resolve(text: str, **options: Any) -> Target:
    from pjsh.remote.transport import resolve_target
    return resolve_target(HostSpec.parse(text), ConnectOptions(**options),
                          config_files=["~/.ssh/config"])


def test_ssh_config_host_patterns_give_host_name_user_port_and_key(home: Path) -> None:
    target = _resolve("web-1")
    assert (target.name, target.host, target.user, target.port) == (
        "web-1", "web-1.example.com", "deploy", 2200)
    assert target.identity_files == (str(home / ".ssh" / "web_key"),)
    assert (target.keepalive_interval, target.connect_timeout) == (9, 4)
    assert target.key == ("deploy", "web-1.example.com", 2200)


def test_the_first_matching_value_wins_and_host_star_fills_the_rest(home: Path) -> None:
    target = _resolve("db")
    assert (target.host, target.user, target.port) == ("10.1.1.1", "fallback", 22)
    assert target.proxy_jump == ("bastion", "alice@jump2:2222")
    assert target.hash_known_hosts and target.accept_new
    assert target.user_known_hosts == (str(home / ".ssh" / "kh_db"),)


def test_options_win_over_ssh_config_and_explicit_parameters_win_over_both(home: Path) -> None:
    target = _resolve("web-1", options={"User": "ops", "Port": "2300", "ServerAliveInterval": 2})
    assert (target.user, target.port, target.keepalive_interval) == ("ops", 2300, 2)
    target = _resolve("root@web-1:2400", options={"User": "ops", "Port": "2300"})
    assert (target.user, target.port) == ("root", 2400)


def test_an_explicit_key_file_comes_before_the_configured_identities(home: Path) -> None:
    target = _resolve("web-1", key_file="~/mykey", options={"IdentityFile": "/k/opt"})
    assert target.identity_files == (str(home / "mykey"), "/k/opt", str(home / ".ssh" / "web_key"))
    assert target.key_file == str(home / "mykey")


def test_defaults_where_nothing_is_configured(home: Path) -> None:
    target = _resolve("plain")
    assert (target.host, target.port, target.user) == ("plain", 22, "fallback")
    assert (target.keepalive_interval, target.keepalive_count) == (5, 3)
    assert target.connect_timeout is None
    assert not target.accept_new and not target.hash_known_hosts and not target.batch_mode
    assert target.user_known_hosts[0] == str(home / ".ssh" / "known_hosts")
    assert target.proxy_jump == ()


def test_connecting_timeout_is_milliseconds_and_wins_over_connect_timeout(home: Path) -> None:
    assert _resolve("web-1", connecting_timeout_ms=1500).connect_timeout == 1.5
    assert _resolve("web-1", connecting_timeout_ms=-1).connect_timeout is None  # pwsh: infinite


def test_accept_new_comes_from_the_parameter_or_strict_host_key_checking(home: Path) -> None:
    assert _resolve("plain", accept_new_host_key=True).accept_new
    assert _resolve("plain", options={"StrictHostKeyChecking": "accept-new"}).accept_new
    assert not _resolve("plain", options={"StrictHostKeyChecking": "yes"}).accept_new


@pytest.mark.parametrize(("options", "message"), [
    ({"NoSuchOption": "1"}, "The SSH option 'NoSuchOption' is not supported."),
    ({"Host": "x"}, "cannot be given with -Options"),
    ({"Port": "abc"}, "Invalid Port integer value: abc"),
    ({"User": ""}, "needs a value"),
])
def test_bad_options_are_reported_as_configuration_errors(home: Path, options: dict[str, str],
                                                          message: str) -> None:
    with pytest.raises(RemoteConnectionError) as info:
        _resolve("plain", options=options)
    assert info.value.reason == "config"
    assert message in str(info.value)
    assert str(info.value).startswith("[plain] Bad SSH configuration: ")


def test_without_a_config_file_the_local_user_and_port_22_apply(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USER", "someone")
    monkeypatch.setenv("LOGNAME", "someone")
    target = _resolve("h")
    assert (target.user, target.port, target.host) == ("someone", 22, "h")


# ---- known_hosts -------------------------------------------------------------------------------


def _key(tmp_path: Path) -> object:
    import asyncssh
    path = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return asyncssh.read_public_key(str(path) + ".pub")


@pytest.mark.parametrize("hashed", [False, True])
def test_a_recorded_host_key_is_found_again_hashed_or_plain(tmp_path: Path, hashed: bool) -> None:
    from pjsh.remote.transport import find_known_keys, record_known_host
    key = _key(tmp_path)
    path = str(tmp_path / "ssh" / "known_hosts")
    record_known_host(path, "10.0.0.7", 2222, key, hashed)
    text = Path(path).read_text()
    assert text.startswith("|1|" if hashed else "[10.0.0.7]:2222 ssh-ed25519 ")
    assert Path(path).stat().st_mode & 0o777 == 0o600
    assert Path(path).parent.stat().st_mode & 0o777 == 0o700
    (entry,) = find_known_keys([path], "10.0.0.7", "", 2222)
    assert (entry.key, entry.line) == (key, 1)
    assert find_known_keys([path], "10.0.0.8", "", 2222) == []


def test_recording_after_a_line_without_newline_starts_a_new_line(tmp_path: Path) -> None:
    from pjsh.remote.transport import find_known_keys, record_known_host
    key = _key(tmp_path)
    path = tmp_path / "known_hosts"
    path.write_text("# a comment without newline")
    record_known_host(str(path), "h", 22, key, False)
    assert path.read_text().splitlines()[1].startswith("h ssh-ed25519 ")
    assert [e.line for e in find_known_keys([str(path)], "h", "", 22)] == [2]


@pytest.mark.parametrize("hashed", [False, True])
def test_openssh_finds_the_line_pjsh_recorded(tmp_path: Path, hashed: bool) -> None:
    from pjsh.remote.transport import record_known_host
    key = _key(tmp_path)
    path = tmp_path / "known_hosts"
    record_known_host(str(path), "10.0.0.7", 2222, key, hashed)  # type: ignore[arg-type]
    found = subprocess.run(["ssh-keygen", "-F", "[10.0.0.7]:2222", "-f", str(path)],
                           capture_output=True, text=True)
    assert found.returncode == 0
    assert "Host [10.0.0.7]:2222 found: line 1" in found.stdout


# ---- argv and results ------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["echo", "plain"],
    ["printf", "%s\\n", "'; touch x'", "$(id)", "`id`", "*", "a\nb", "", '"q"', "~", "a b"],
])
def test_quoted_argv_splits_back_into_the_same_words(argv: list[str]) -> None:
    assert shlex.split(quote_argv(argv)) == argv


def test_quoted_argv_run_by_a_posix_shell_gives_the_program_every_word_literally() -> None:
    words = ["$(echo no)", "`echo no`", "; echo no", "*", "a\nb", "'", '"', "\\", ""]
    out = subprocess.run(["sh", "-c", quote_argv(["printf", "[%s]", *words])],
                         capture_output=True, check=True, cwd="/").stdout.decode()
    assert out == "".join(f"[{w}]" for w in words)


def test_an_empty_argv_is_refused() -> None:
    with pytest.raises(ValueError, match="program name"):
        quote_argv([])


def test_a_native_result_gives_one_return_code() -> None:
    assert NativeResult(3, None).returncode == 3
    assert NativeResult(None, "KILL").returncode == 137
    assert NativeResult(None, "NOSUCH").returncode == 255


def test_a_connection_error_reads_as_pwsh_does() -> None:
    error = RemoteConnectionError("web1", "ssh: connect to host web1 port 22: Connection refused",
                                  "refused")
    assert str(error) == "[web1] ssh: connect to host web1 port 22: Connection refused"
    assert (error.error_id, error.category) == ("PSSessionOpenFailed", "OpenError")


def test_importing_the_transport_api_does_not_import_asyncssh() -> None:
    code = ("import sys, pjsh.remote.ssh as s; s.HostSpec.parse('a@b:1'); s.SSHPool(); "
            "print('asyncssh' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
