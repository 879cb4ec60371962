"""The engine bundle: the stdlib-only engine as a zip named by its content hash, and the
bootstrap that installs it on a host and starts the remote engine (``pjsh.remote.agent``).

On the host the bundle lives in ``~/.cache/pjsh/<hash>/`` (the directory is 0700): extracted,
not imported from the zip, so the engine's fork server and workers start from real files and
Python caches their byte code there (a zip import would compile the whole engine on every
start). Before each use the bootstrap hashes the extracted files again and compares with the
name, so a partial or altered copy is never run; when the hash does not match (or nothing is
there yet) it asks for the zip in-band, on the very channel the engine is about to serve, so
an upload costs no extra channel and works where the SFTP subsystem is off.

The content hash is SHA-256 over the sorted relative paths of the files with their sizes and
bytes (``__pycache__`` left out): the client computes it from the source tree, the bootstrap
from what it extracted.
"""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pjsh

# What of the package goes to the host: the engine and the agent, nothing of the console.
_ENGINE_PACKAGES = ("lang", "runtime", "commands", "jobs", "help")
_ENGINE_FILES = ("__init__.py", "engine.py", "lifecycle.py", "remote/__init__.py",
                 "remote/agent.py")
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)

# The exit status of the bootstrap when the python3 it runs under is older than 3.8: the shell
# loop then tries the next candidate.
TOO_OLD = 99
# The python3 names tried in order (after $PJSH_PYTHON, where the host's admin set one).
PYTHONS = ("python3", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10",
           "python3.9", "python3.8", "/usr/libexec/platform-python")

# Runs under whatever python3 the host has; only syntax every Python 3 (and 2.7) parses, so a
# too-old interpreter can say what it is instead of failing with a SyntaxError.
BOOTSTRAP = r'''
import sys, os
if sys.version_info < (3, 8):
    sys.stdout.write('{"old":"%d.%d.%d","exe":"%s"}\n' % (sys.version_info[:3] + (sys.executable,)))
    sys.stdout.flush()
    sys.exit(99)
import hashlib, io, shutil, tempfile, zipfile
want = sys.argv[1]
base = os.path.join(os.path.expanduser("~"), ".cache", "pjsh")
os.makedirs(base, mode=0o700, exist_ok=True)
os.chmod(base, 0o700)
root = os.path.join(base, want)
def digest(top):
    files = []
    for path, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            full = os.path.join(path, name)
            files.append((os.path.relpath(full, top).replace(os.sep, "/"), full))
    h = hashlib.sha256()
    for rel, full in sorted(files):
        with open(full, "rb") as f:
            data = f.read()
        h.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()
if not (os.path.isdir(root) and digest(root) == want):
    sys.stdout.write('{"need":"bundle"}\n')
    sys.stdout.flush()
    size = int(sys.stdin.buffer.readline())
    data = sys.stdin.buffer.read(size)
    if len(data) != size:
        sys.exit(3)
    tmp = tempfile.mkdtemp(prefix=".new-", dir=base)
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp)
    if digest(tmp) != want:
        shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.write('{"bad":"bundle"}\n')
        sys.stdout.flush()
        sys.exit(4)
    if os.path.isdir(root):
        old = tempfile.mkdtemp(prefix=".old-", dir=base)
        os.rename(root, os.path.join(old, "x"))
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.rename(tmp, root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if digest(root) != want:
            raise
sys.path.insert(0, root)
sys.stdout.flush()
from pjsh.remote.agent import main
sys.exit(main())
'''

# The login shell runs this (through /bin/sh, whatever the user's shell): $1 is the hash,
# $2 the bootstrap. It tries each candidate python3 until one is 3.8 or newer.
LAUNCHER = (
    'h=$1; b=$2; for p in ${PJSH_PYTHON:+"$PJSH_PYTHON"} ' + " ".join(PYTHONS) + '; do '
    'command -v "$p" >/dev/null 2>&1 || continue; '
    '"$p" -c "$b" "$h"; rc=$?; [ "$rc" -eq ' + str(TOO_OLD) + ' ] || exit "$rc"; done; '
    'echo \'{"nopython":true}\'; exit 127'
)


@dataclass(frozen=True)
class Bundle:
    """The engine zip and its content hash."""

    digest: str
    data: bytes

    def command(self) -> str:
        """The exec channel's command line that installs (if needed) and starts the engine."""
        argv = ["/bin/sh", "-c", LAUNCHER, "pjsh-remote", self.digest, BOOTSTRAP]
        return " ".join(shlex.quote(word) for word in argv)


def _package_root() -> str:
    return os.path.dirname(os.path.abspath(pjsh.__file__))


def bundle_files(root: str | None = None) -> list[tuple[str, str]]:
    """(path in the bundle, path on disk) of every file that goes to the host, sorted."""
    root = root or _package_root()
    found: list[tuple[str, str]] = []
    for rel in _ENGINE_FILES:
        found.append(("pjsh/" + rel, os.path.join(root, *rel.split("/"))))
    for package in _ENGINE_PACKAGES:
        top = os.path.join(root, package)
        for path, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in names:
                if name.endswith((".pyc", ".pyo")):
                    continue
                full = os.path.join(path, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                found.append(("pjsh/" + rel, full))
    return sorted(found)


def content_digest(entries: Iterable[tuple[str, bytes]]) -> str:
    """The bundle's name: SHA-256 over sorted (path, size, bytes), as the bootstrap computes."""
    h = hashlib.sha256()
    for rel, data in sorted(entries):
        h.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


def build(files: Sequence[tuple[str, str]] | None = None) -> Bundle:
    """Zip the engine (deterministically: fixed dates and order) and name it by its content."""
    entries: list[tuple[str, bytes]] = []
    for rel, full in files if files is not None else bundle_files():
        with open(full, "rb") as f:
            entries.append((rel, f.read()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for rel, data in sorted(entries):
            info = zipfile.ZipInfo(rel, _ZIP_DATE)
            info.external_attr = 0o600 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return Bundle(content_digest(entries), buffer.getvalue())


@lru_cache(maxsize=1)
def engine_bundle() -> Bundle:
    """This pjsh's engine bundle (built once per process)."""
    return build()
