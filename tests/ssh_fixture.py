"""A real OpenSSH sshd on 127.0.0.1 for the remoting tests, started once per test session.

It runs ``/usr/sbin/sshd -D -e -f <generated config>`` on a free port with generated host keys
(ed25519 and rsa) and a client key, all in a temporary directory. Tests run as root, so the
remote side is a throwaway user (``pjshremote<random>``, created with ``useradd -m`` and deleted
at the end) whose authorized_keys holds the client key: ``whoami`` and ``$HOME`` differ
observably between local and "remote".

Each test gets its own fake HOME (``SSHServer.make_home``) with ``.ssh/config`` (the alias
``pjsh-test`` → 127.0.0.1, the port, the client key) and ``.ssh/known_hosts`` (the host keys),
so tests that record or remove keys do not disturb each other.

Without /usr/sbin/sshd (or without root) the tests fail with a clear message in CI (CI=true;
``.ci/run`` installs openssh-server) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
ALIAS = "pjsh-test"
_READY_DEADLINE = 20.0


def unavailable(reason: str) -> None:
    """Fail in CI (the remoting tests must run there), skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the SSH tests need {reason} (CI installs openssh-server via .ci/run)",
                    pytrace=False)
    pytest.skip(f"the SSH tests need {reason}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, kind: str) -> None:
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"pjsh-test-{kind}", "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL)


def fingerprint(pub: Path) -> str:
    """``SHA256:…`` of a public key file, as ``ssh-keygen -lf`` prints it."""
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


@dataclass
class SSHServer:
    """A running sshd and what a client needs to reach it."""

    port: int
    user: str
    password: str
    user_home: str
    directory: Path
    client_key: Path
    host_keys: dict[str, Path]  # "ed25519"/"rsa" → the public key file
    process: subprocess.Popen[bytes]
    log: Path
    homes: list[Path] = field(default_factory=list)
    # The python3 the remote side runs pjsh's engine with (None: the host's own python3).
    remote_python: str | None = None

    host: str = "127.0.0.1"

    @property
    def spec(self) -> str:
        """``user@127.0.0.1:port``."""
        return f"{self.user}@{self.host}:{self.port}"

    def known_hosts_lines(self) -> list[str]:
        """The host keys as known_hosts lines for ``[127.0.0.1]:port``."""
        lines = []
        for pub in self.host_keys.values():
            kind, blob = pub.read_text().split()[:2]
            lines.append(f"[{self.host}]:{self.port} {kind} {blob}")
        return lines

    def make_home(self, path: Path, *, known: bool = True, config_extra: str = "") -> Path:
        """A fake HOME: ``.ssh/config`` with the alias, ``.ssh/known_hosts`` with the host keys
        (or empty when ``known`` is False)."""
        ssh = path / ".ssh"
        ssh.mkdir(parents=True, mode=0o700, exist_ok=True)
        (ssh / "config").write_text(
            f"Host {ALIAS}\n"
            f"    HostName {self.host}\n"
            f"    Port {self.port}\n"
            f"    User {self.user}\n"
            f"    IdentityFile {self.client_key}\n"
            f"{config_extra}")
        known_hosts = ssh / "known_hosts"
        known_hosts.write_text("".join(line + "\n" for line in self.known_hosts_lines())
                               if known else "")
        known_hosts.chmod(0o600)
        return path

    def log_text(self) -> str:
        """sshd's log so far (for failure messages)."""
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until sshd answers with its banner on the port (or exits, or the deadline passes)."""
    deadline = time.monotonic() + _READY_DEADLINE
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(2)
                if s.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd did not answer on port {port}:\n"
                               f"{log.read_text(errors='replace')}")
        time.sleep(0.05)  # between connection attempts only; readiness is the banner


def find_oldest_python() -> tuple[str, str] | None:
    """(version folder, "3.N") of the oldest python3 >= 3.8 under pyenv that is older than
    the running one: the remote side of the SSH tests runs under it (hosts run older
    pythons than clients); None where there is none."""
    import glob
    import sys
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    for minor in range(8, sys.version_info[1]):
        for root in dict.fromkeys(r for r in roots if r):
            for folder in sorted(glob.glob(f"{root}/versions/3.{minor}.*")):
                if os.access(f"{folder}/bin/python3.{minor}", os.X_OK):
                    return folder, f"3.{minor}"
    return None


def _copy_python(folder: str, version: str, into: Path) -> Path:
    """A copy of a pyenv python the throwaway user can run (pyenv's root is closed to it):
    the interpreter, its shared library and its standard library (with its byte code: the
    user cannot write it there) without tests."""
    skip = {"test", "tests", "site-packages", "idlelib", "tkinter",
            "turtledemo", "lib2to3", "ensurepip", "unittest"}
    (into / "bin").mkdir(parents=True)
    shutil.copy2(f"{folder}/bin/python{version}", into / "bin" / f"python{version}")
    lib = into / "lib"
    lib.mkdir()
    for name in os.listdir(f"{folder}/lib"):
        if name.startswith("libpython"):
            shutil.copy2(f"{folder}/lib/{name}", lib / name, follow_symlinks=False)
    shutil.copytree(f"{folder}/lib/python{version}", lib / f"python{version}",
                    ignore=lambda _d, names: [n for n in names if n in skip], symlinks=True)
    for path, _dirs, files in os.walk(into):
        os.chmod(path, 0o755)
        for name in files:
            os.chmod(os.path.join(path, name), 0o755)
    return into / "bin" / f"python{version}"


def _user_pids(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def start_sshd(oldest_python: bool = True,
               remote_path: str | None = None) -> Iterator[SSHServer]:
    """Start sshd and the throwaway user; yields the server and cleans everything up. The
    remote side runs the oldest python3 there is (False: the host's own python3);
    ``remote_path`` replaces the PATH its commands get (a host without python3)."""
    if not os.path.exists(SSHD):
        unavailable(f"OpenSSH's server at {SSHD}")
    if os.geteuid() != 0:
        unavailable("root (to create a throwaway user for the remote side)")
    for tool in ("useradd", "userdel", "chpasswd", "ssh-keygen"):
        if shutil.which(tool) is None:
            unavailable(f"the '{tool}' command")
    directory = Path(tempfile.mkdtemp(prefix="pjsh-sshd-"))
    extra_dirs: list[Path] = []
    user = "pjshremote" + secrets.token_hex(3)
    password = secrets.token_urlsafe(12)
    proc: subprocess.Popen[bytes] | None = None
    created = False
    try:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", user], check=True,
                       capture_output=True)
        created = True
        # sshd without PAM refuses a locked account ('!' password), even for keys.
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n".encode(), check=True,
                       capture_output=True)
        entry = pwd.getpwnam(user)
        host_keys = {}
        for kind in ("ed25519", "rsa"):
            _keygen(directory / f"ssh_host_{kind}_key", kind)
            host_keys[kind] = directory / f"ssh_host_{kind}_key.pub"
        client_key = directory / "client_ed25519"
        _keygen(client_key, "ed25519")
        ssh_dir = Path(entry.pw_dir) / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(Path(str(client_key) + ".pub").read_text())
        for p in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(p, entry.pw_uid, entry.pw_gid)
        (ssh_dir / "authorized_keys").chmod(0o600)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        # The remote side runs the oldest python3 there is (the engine must run on 3.8);
        # $PJSH_PYTHON is where pjsh's launcher looks first.
        remote_env = ""
        python = None
        oldest = find_oldest_python() if oldest_python and remote_path is None else None
        if oldest is not None:
            shared = Path(tempfile.mkdtemp(prefix="pjsh-remote-python-"))
            shared.chmod(0o755)
            extra_dirs.append(shared)
            python = _copy_python(oldest[0], oldest[1], shared / "python")
            remote_env = (f"SetEnv PJSH_PYTHON={python} "
                          f"LD_LIBRARY_PATH={shared / 'python' / 'lib'}\n")
        log = directory / "sshd.log"
        for _ in range(5):
            port = _free_port()
            config = directory / "sshd_config"
            config.write_text(
                f"Port {port}\n"
                "ListenAddress 127.0.0.1\n"
                + "".join(f"HostKey {directory}/ssh_host_{k}_key\n" for k in host_keys)
                + f"PidFile {directory}/sshd.pid\n"
                "UsePAM no\n"
                "StrictModes no\n"
                "PubkeyAuthentication yes\n"
                "PasswordAuthentication yes\n"
                "KbdInteractiveAuthentication no\n"
                "PermitRootLogin no\n"
                f"AllowUsers {user}\n"
                "AllowTcpForwarding yes\n"
                "MaxStartups 200\n"
                "MaxSessions 200\n"
                "ClientAliveInterval 0\n"
                "LogLevel VERBOSE\n"
                "Subsystem sftp internal-sftp\n"
                + remote_env
                + (f"SetEnv PATH={remote_path}\n" if remote_path is not None else ""))
            subprocess.run([SSHD, "-t", "-f", str(config)], check=True, capture_output=True)
            with open(log, "ab") as out:
                proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                        start_new_session=True)
            try:
                _wait_ready(proc, port, log)
                break
            except RuntimeError:
                # Most likely another process took the free port first: try another one.
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc = None
        if proc is None:
            raise RuntimeError(f"sshd would not start:\n{log.read_text(errors='replace')}")
        yield SSHServer(port=port, user=user, password=password, user_home=entry.pw_dir,
                        directory=directory, client_key=client_key, host_keys=host_keys,
                        process=proc, log=log,
                        remote_python=str(python) if python is not None else None)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if created:
            uid = pwd.getpwnam(user).pw_uid
            # Session processes sshd started for the throwaway user outlive the listener.
            for pid in _user_pids(uid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["userdel", "-f", "-r", user], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)
        for extra in extra_dirs:
            shutil.rmtree(extra, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd() -> Iterator[SSHServer]:
    """The session's sshd (started on first use)."""
    yield from start_sshd()


@pytest.fixture
def ssh_home(sshd: SSHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh fake HOME for this test (alias config, known host keys), with no SSH agent."""
    home = sshd.make_home(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home
