"""The remote engine protocol without SSH: the real launcher and bootstrap run the real agent
as a local process (HOME is a temporary directory), and the client's RemoteEngine talks to it
over pipes. The SSH end-to-end tests are in tests/e2e/test_remoting.py."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pjsh.remote import bundle
from pjsh.remote.agent import decode_blocks, encode_blocks
from pjsh.remote.client import Message, RemoteEngine
from pjsh.remote.sessions import native_argv
from pjsh.runtime.cancel import CancelToken
from pjsh.runtime.convert import to_string
from pjsh.runtime.formatting import Column, ListBlock, TableBlock, TextBlock
from pjsh.runtime.serialize import decode, encode


class PipeIO:
    """The engine's channel as a local process's stdin/stdout."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def close(self) -> None:
        with self.lock:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass


def start_local_engine(home: Path, env: dict[str, str] | None = None,
                       built: bundle.Bundle | None = None) -> tuple[RemoteEngine,
                                                                   subprocess.Popen[bytes]]:
    """The agent started by the real launcher and bootstrap, as on a host."""
    built = built or bundle.engine_bundle()
    full_env = {"HOME": str(home), "PATH": os.environ["PATH"],
                "PJSH_PYTHON": sys.executable, **(env or {})}
    proc = subprocess.Popen(["/bin/sh", "-c", bundle.LAUNCHER, "pjsh-remote", built.digest,
                             bundle.BOOTSTRAP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env, cwd=str(home))
    engine = RemoteEngine("local", PipeIO(proc))
    engine.offer(built)

    def pump() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            engine.feed(chunk)
        proc.wait()
        engine.lost(f"the engine exited with status {proc.returncode}")

    threading.Thread(target=pump, daemon=True).start()
    return engine, proc


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[RemoteEngine]:
    home = tmp_path / "home"
    home.mkdir()
    eng, proc = start_local_engine(home)
    assert eng.ready.wait(60)
    assert eng.start_error is None
    open_runspace(eng)
    yield eng
    eng.close()
    proc.wait(30)


def open_runspace(engine: RemoteEngine, rs: int = 1) -> None:
    """Make runspace ``rs`` in the engine (the requests below name it)."""
    done = list(engine.request("open", rs=rs).messages())[-1]
    assert done["ok"], done


def messages(engine: RemoteEngine, op: str, rs: int = 1, **fields: object) -> list[Message]:
    """Every message of one request in runspace ``rs``, up to its end."""
    return list(engine.request(op, rs=rs, **fields).messages())


def outputs(found: list[Message]) -> list[object]:
    return [decode(m["x"], deserialized=True) for m in found if m.get("s") == "o"]


def test_the_engine_is_uploaded_once_into_a_private_cache_named_by_its_hash(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    built = bundle.engine_bundle()
    for attempt in range(2):
        eng, proc = start_local_engine(home)
        assert eng.ready.wait(60) and eng.start_error is None
        asked = [n for n in eng.notes if n.get("need")]
        # The first start asks for the bundle; the second finds it in the cache.
        assert len(asked) == (1 if attempt == 0 else 0)
        eng.close()
        proc.wait(30)
    cache = home / ".cache" / "pjsh"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert [p.name for p in cache.iterdir()] == [built.digest]


def test_a_tampered_cache_is_not_run_but_replaced(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    eng, proc = start_local_engine(home)
    assert eng.ready.wait(60)
    eng.close()
    proc.wait(30)
    agent = home / ".cache" / "pjsh" / bundle.engine_bundle().digest / "pjsh" / "remote" / \
        "agent.py"
    agent.write_text("raise SystemExit('tampered code ran')\n")
    eng, proc = start_local_engine(home)
    assert eng.ready.wait(60) and eng.start_error is None
    assert [n for n in eng.notes if n.get("need")]  # asked for the bundle again
    assert "tampered" not in agent.read_text()
    eng.close()
    proc.wait(30)


def test_the_content_hash_of_the_source_matches_the_bootstraps_hash_of_the_extraction(
        tmp_path: Path) -> None:
    import io
    import zipfile
    built = bundle.build()
    zipfile.ZipFile(io.BytesIO(built.data)).extractall(tmp_path)
    entries = []
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            entries.append((path.relative_to(tmp_path).as_posix(), path.read_bytes()))
    assert bundle.content_digest(entries) == built.digest
    assert bundle.build().data == built.data  # deterministic: the same zip every time


def test_no_suitable_python_says_what_is_missing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    old = bin_dir / "python3"
    old.write_text("#!/bin/sh\necho '{\"old\":\"3.6.15\",\"exe\":\"/opt/py36\"}'\nexit 99\n")
    old.chmod(0o755)
    eng, proc = start_local_engine(home, env={"PATH": f"{bin_dir}:/nonexistent",
                                              "PJSH_PYTHON": ""})
    assert eng.ready.wait(60)
    assert eng.start_error is not None and eng.start_error.reason == "nopython"
    assert "3.8 or later" in eng.start_error.message
    assert "/opt/py36 is 3.6.15" in eng.start_error.message
    assert eng.start_error.detail == "only older ones were found (/opt/py36 is 3.6.15)"
    proc.wait(30)


def test_an_invoke_streams_objects_with_their_string_form(engine: RemoteEngine) -> None:
    found = messages(engine, "invoke", script="Get-Location; 1..3; Write-Warning careful",
                     w=80)
    out = outputs(found)
    assert to_string(out[0]) == engine.info["home"]  # a deserialized PathInfo prints as its path
    assert out[1:] == [1, 2, 3]
    warnings = [decode(m["x"]) for m in found if m.get("s") == "w"]
    assert warnings == ["careful"]
    assert found[-1]["done"] and found[-1]["ok"]


def test_a_runspace_keeps_its_state_between_requests(engine: RemoteEngine) -> None:
    messages(engine, "invoke", script="$x = 41; function f { $x + 1 }; Set-Location /tmp")
    assert outputs(messages(engine, "invoke", script="f; (Get-Location).Path")) == [42, "/tmp"]
    done = messages(engine, "invoke", script="1")[-1]
    assert done["cwd"] == "/tmp"


def test_arguments_and_using_values_arrive_as_values(engine: RemoteEngine) -> None:
    found = messages(engine, "invoke", script='param($a, $b) "$a-$b-$using:u"',
                     args=encode([1, "two words"]), using=encode({"using:u": "x;y"}))
    assert outputs(found) == ["1-two words-x;y"]


def test_a_line_is_formatted_remotely_and_natives_bytes_come_raw(engine: RemoteEngine) -> None:
    found = messages(engine, "line", text="Get-Item / | Select-Object Name; printf 'a\\0b'",
                     w=80)
    blocks = [b for m in found if m.get("s") == "fmt" for b in decode_blocks(m["x"])]
    assert any(isinstance(b, TableBlock) and b.columns[0].label == "Name" for b in blocks)
    raw = b"".join(base64.b64decode(m["x"]) for m in found if m.get("s") == "raw")
    assert raw == b"a\0b"


def test_natives_bytes_come_before_what_the_line_shows_after_them(
        engine: RemoteEngine) -> None:
    found = messages(engine, "line", text="printf first; 'second'", w=80)
    kinds = [m.get("s") for m in found if not m.get("done")]
    assert kinds == ["raw", "fmt"]


def test_a_cancel_stops_the_running_request_not_the_engine(engine: RemoteEngine) -> None:
    request = engine.request("invoke", rs=1, script="'started'; Start-Sleep 60; 'not reached'")
    token = CancelToken()
    seen: list[object] = []
    for message in request.messages(token):
        if message.get("s") == "o":
            seen.append(decode(message["x"]))
            token.set()
        if message.get("done"):
            assert message["reason"] == "stopped"
    assert seen == ["started"]
    assert outputs(messages(engine, "invoke", script="'still here'")) == ["still here"]


def test_a_host_call_is_answered_by_the_client(engine: RemoteEngine) -> None:
    request = engine.request("invoke", rs=1, script='"hello " + (Read-Host "name")')
    out: list[object] = []
    for message in request.messages():
        if "call" in message:
            assert message["m"] == "read_line" and message["a"] == ["name: "]
            engine.reply(message["call"], "ada")
        elif message.get("s") == "o":
            out.append(decode(message["x"]))
    assert out == ["hello ada"]


def test_a_host_call_the_client_cannot_answer_is_a_host_error(engine: RemoteEngine) -> None:
    request = engine.request("invoke", rs=1, script="Read-Host 'pin' -AsSecureString")
    errors = []
    for message in request.messages():
        if "call" in message:
            engine.reply(message["call"], error="no one to ask")
        elif message.get("done"):
            errors.append(message.get("reason"))
        elif message.get("s") == "e":
            errors.append(to_string(decode(message["x"])))
    assert any("no one to ask" in str(e) for e in errors)


def test_closing_the_session_stops_the_jobs_it_kept(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    eng, proc = start_local_engine(home)
    assert eng.ready.wait(60)
    open_runspace(eng)
    out = outputs(messages(eng, "invoke", script="(Start-Job { sleep 300 }).Id; "
                                                 "(Get-Job)[0].ChildJobs[0].ProcessId"))
    assert out[0] == 1
    eng.close()
    assert proc.wait(30) == 0
    child = out[1]
    assert isinstance(child, int)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_a_request_on_a_dead_engine_ends_with_the_reason(engine: RemoteEngine) -> None:
    found = messages(engine, "invoke", script="Stop-Process -Id $PID")
    assert found[-1].get("lost") and not found[-1]["ok"]
    again = messages(engine, "invoke", script="1")
    assert again[-1].get("lost") and "exited" in str(again[-1]["reason"])


def test_format_blocks_survive_the_wire() -> None:
    blocks = [TableBlock((Column("A", 3, "right"), Column("B", None)), (("1", "x"),),
                         title="  t", leading_blank=False),
              ListBlock(((("K", "v"),),)), TextBlock(("plain", ""))]
    import json
    assert decode_blocks(json.loads(json.dumps(encode_blocks(blocks)))) == blocks


@pytest.mark.parametrize(("text", "argv"), [
    ("hostname", ["hostname"]),
    ("ls -la /tmp 'a b' \"c;d\" 5", ["ls", "-la", "/tmp", "a b", "c;d", "5"]),
    ("ls *.txt", None),          # the engine expands wildcards for natives
    ("cat ~/x", None),           # and ~
    ("ls $HOME", None),
    ("Get-ChildItem", None),     # a cmdlet
    ("gci", None),               # an alias
    ("ls | wc -l", None),
    ("ls; pwd", None),
    ("ls > f", None),
    ("& ls", None),
])
def test_only_one_native_with_literal_arguments_skips_the_engine(
        text: str, argv: list[str] | None) -> None:
    known = {"get-childitem", "gci"}
    assert native_argv(text, lambda name: name.lower() in known) == argv


def test_the_bundle_holds_the_engine_and_agent_but_nothing_of_the_console() -> None:
    names = [rel for rel, _full in bundle.bundle_files()]
    assert "pjsh/remote/agent.py" in names and "pjsh/runtime/interpreter.py" in names
    assert any(n.startswith("pjsh/help/") and n.endswith(".md") for n in names)
    assert not any(n.startswith(("pjsh/repl/", "pjsh/render/", "pjsh/cli"))
                   or n in ("pjsh/remote/transport.py", "pjsh/remote/ssh.py") for n in names)
    digest = hashlib.sha256()
    assert len(bundle.engine_bundle().digest) == len(digest.hexdigest())


def test_runspaces_of_one_engine_are_separate_and_run_side_by_side(
        engine: RemoteEngine) -> None:
    open_runspace(engine, 2)
    messages(engine, "invoke", rs=1, script="$who = 'one'; Set-Location /tmp")
    messages(engine, "invoke", rs=2, script="$who = 'two'")
    assert outputs(messages(engine, "invoke", rs=1, script="$who; $PWD.Path")) == ["one", "/tmp"]
    assert outputs(messages(engine, "invoke", rs=2, script="$who; $PWD.Path")) == \
        ["two", engine.info["home"]]
    # A long command in one runspace does not hold up the other.
    slow = engine.request("invoke", rs=1, script="'go'; Start-Sleep 60")
    token = CancelToken()
    stream = slow.messages(token)
    assert decode(next(stream)["x"]) == "go"
    assert outputs(messages(engine, "invoke", rs=2, script="'meanwhile'")) == ["meanwhile"]
    token.set()
    last = list(stream)[-1]
    assert last["reason"] == "stopped", last


def test_dropping_a_runspace_stops_its_jobs_and_forgets_it(engine: RemoteEngine) -> None:
    open_runspace(engine, 3)
    out = outputs(messages(engine, "invoke", rs=3,
                           script="(Start-Job { sleep 300 }).ChildJobs[0].ProcessId"))
    pid = out[0]
    assert isinstance(pid, int)
    assert messages(engine, "drop", rs=3)[-1]["ok"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert messages(engine, "invoke", rs=3, script="1")[-1]["reason"] == \
        "That runspace is not open."


@pytest.mark.parametrize("op", ["line", "invoke"])
def test_a_cancel_ends_a_running_native_there_is_no_terminal_to_interrupt_it(
        engine: RemoteEngine, op: str) -> None:
    script = "sh -c 'echo $$; exec sleep 300'"
    fields = {"text": script} if op == "line" else {"script": script}
    request = engine.request(op, rs=1, w=80, **fields)
    token = CancelToken()
    pid = None
    for message in request.messages(token):
        if message.get("s") == "raw":
            pid = int(base64.b64decode(message["x"]).split()[0])
            token.set()
        elif message.get("s") == "o":
            pid = int(str(decode(message["x"])))
            token.set()
        elif message.get("done"):
            assert message["reason"] == "stopped"
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
