"""The remote engine: one runspace served over stdin/stdout in versioned JSON lines.

This module runs on the remote host (shipped there in the engine bundle, see
``pjsh.remote.bundle``) under the host's ``python3`` (3.8 or later), so it imports only the
standard library and the engine. The client side is ``pjsh.remote.client``.

The protocol (version :data:`PROTOCOL_VERSION`), one JSON object per line:

client → agent (every request but ``open`` names its runspace: ``"rs": K``)
    ``{"id": N, "op": "open", "rs": K}`` make runspace K (one engine serves every session of
        one SSH connection, each in a runspace of its own, on a thread of its own).
    ``{"id": N, "op": "drop", "rs": K}`` stop runspace K's jobs and forget it.
    ``{"id": N, "op": "invoke", "script": text, "args": enc, "using": enc, "w": width}``
        run a script block; its records come back on their streams as objects.
    ``{"id": N, "op": "line", "text": text, "w": width, "tty": [rows, cols]}``
        run a line typed in an entered session (Enter-Session): output is formatted here and
        shown through the client's Host, as if the line had been typed there. With ``tty``
        (the client is a terminal) its natives get a pseudo-terminal of that size.
    ``{"op": "stdin", "rs": K, "x": base64}`` keys typed at the client, for that terminal.
    ``{"id": N, "op": "complete", "kind": "dir"|"commands", "path": text}`` completion data.
    ``{"id": N, "op": "cancel"}``  stop request N (Ctrl+C, Stop-Job).
    ``{"op": "reply", "call": K, "v": value}`` or ``{"op": "reply", "call": K, "err": text}``
        the answer to host call K.
    ``{"op": "close"}`` (or end of input)  stop every runspace's jobs and exit.

agent → client
    ``{"ready": true, "v": 1, ...}`` once, with the host's facts (user, home, cwd, python).
    ``{"id": N, "s": stream, ...}`` a record of request N: ``o`` output, ``e`` error, ``w``
    ``v`` ``d`` warning/verbose/debug text, ``i`` information, ``p`` progress (the
    serialized value in ``x``); for ``line`` requests also ``fmt`` (format blocks), ``err``
    (an error shown by the host), ``str`` (a stream message shown by the host), ``host``
    (Write-Host text), ``raw`` (bytes a native wrote to the terminal: ``n`` is 1 or 2, ``x``
    base64), ``clear``.
    ``{"id": N, "call": K, "m": method, "a": [args]}`` a host call (Read-Host, a
    confirmation, a credential prompt) the client answers with a ``reply``.
    ``{"id": N, "done": true, "ok": bool, "reason": text|null, "cwd": path, "exit": code}``
    the end of request N.

A runspace's requests run one at a time, in order (its directory, variables, functions and
jobs persist between them), as a PowerShell runspace runs one pipeline at a time; runspaces
run side by side. The reader thread answers ``cancel`` and ``reply`` while requests run.
The protocol stream is a private copy of the original stdout: the agent's fd 1 and 2 point
at /dev/null, natives of entered sessions write to pipes whose bytes travel as ``raw``
records, so nothing a native writes can corrupt the protocol.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import queue
import select
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from pjsh.jobs.worker import PipeWriter

if TYPE_CHECKING:
    from pjsh.jobs.jobhost import JobHost
    from pjsh.runtime.errors import ErrorRecord
    from pjsh.runtime.formatting import Block
    from pjsh.runtime.host import Choice
    from pjsh.runtime.runspace import Runspace

PROTOCOL_VERSION = 1
# Parsed script blocks by their text (see Agent._invoke).
_PARSED: dict[str, Any] = {}
_CHUNK = 1 << 16


# ---- format blocks on the wire ------------------------------------------------------------


def encode_blocks(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """The format model as JSON data (it is all text, numbers and flags)."""
    from pjsh.runtime.formatting import ListBlock, TableBlock

    out: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TableBlock):
            out.append({"k": "table", "c": [[c.label, c.width, c.align] for c in block.columns],
                        "r": [list(row) for row in block.rows], "h": block.hide_header,
                        "w": block.wrap, "t": block.title, "lb": block.leading_blank,
                        "tb": block.trailing_blank})
        elif isinstance(block, ListBlock):
            out.append({"k": "list", "e": [[list(pair) for pair in entry]
                                           for entry in block.entries],
                        "lb": block.leading_blank, "tb": block.trailing_blank})
        else:
            out.append({"k": "text", "l": list(block.lines)})
    return out


def decode_blocks(data: Sequence[dict[str, Any]]) -> list[Block]:
    """The format model back from :func:`encode_blocks`' data."""
    from pjsh.runtime.formatting import Column, ListBlock, TableBlock, TextBlock

    blocks: list[Block] = []
    for item in data:
        kind = item.get("k")
        if kind == "table":
            blocks.append(TableBlock(
                tuple(Column(str(c[0]), None if c[1] is None else int(c[1]), str(c[2]))
                      for c in item["c"]),
                tuple(tuple(str(cell) for cell in row) for row in item["r"]),
                bool(item["h"]), bool(item["w"]), str(item["t"]), bool(item["lb"]),
                bool(item["tb"])))
        elif kind == "list":
            blocks.append(ListBlock(
                tuple(tuple((str(p[0]), str(p[1])) for p in entry) for entry in item["e"]),
                bool(item["lb"]), bool(item["tb"])))
        else:
            blocks.append(TextBlock(tuple(str(line) for line in item.get("l", ()))))
    return blocks


# ---- the channel -----------------------------------------------------------------------------


class Channel:
    """The protocol's output: whole lines under one lock. Before each line, the bytes natives
    of entered sessions wrote to their terminal pipes are sent, so a native's output comes
    before what follows it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.slots: dict[int, Slot] = {}  # the runspaces whose pipes are drained

    def send(self, message: str) -> None:
        """Send one JSON line (the bytes natives wrote so far go first)."""
        with self.lock:
            self._drain_locked()
            self.out.write(message.encode("utf-8", "surrogateescape") + b"\n")
            self.out.flush()

    def drain(self) -> None:
        """Send what natives wrote so far."""
        with self.lock:
            self._drain_locked()
            self.out.flush()

    def _drain_locked(self) -> None:
        for slot in list(self.slots.values()):
            for fd, stream in list(slot.sources):
                while True:
                    try:
                        data = os.read(fd, _CHUNK)
                    except (BlockingIOError, OSError):
                        break
                    if not data:
                        break
                    self.out.write(b'{"id":%d,"s":"raw","n":%d,"x":"%s"}\n' % (
                        slot.current, stream, base64.b64encode(data)))

    def pump(self, slot: Slot) -> None:
        """Forward a runspace's natives' bytes as they come (a thread per entered session: a
        long-running native streams)."""
        wake = slot._wake[0]
        while not slot.closed:
            try:
                ready, _, _ = select.select([wake, *(fd for fd, _ in slot.sources)], [], [])
            except (OSError, ValueError):
                return
            if wake in ready:
                try:
                    os.read(wake, 64)
                except OSError:
                    return
            self.drain()


# ---- the host the remote runspace talks to --------------------------------------------------


class HostCallError(Exception):
    """The client could not answer a host call (no one to ask there)."""


class ProxyHost:
    """The remote runspace's Host: everything it would show or ask goes to the client's Host,
    as PowerShell's remote host proxy does. While an ``invoke`` request runs, what it shows
    goes back as records instead (``records``: the host a job's script gets), and only the
    questions still go to the client."""

    def __init__(self, agent: Agent, slot: Slot, raw_fds: tuple[int, int]) -> None:
        self.agent = agent
        self.slot = slot
        self._raw_fds = raw_fds
        self._width = 120
        self.records: JobHost | None = None
        self.tty: int | None = None  # the pty slave, while an entered line runs at a terminal

    def _send(self, stream: str, body: str) -> None:
        self.agent.channel.send(f'{{"id":{self.slot.current},"s":"{stream}"{body}}}')

    def write_format(self, blocks: Sequence[Block]) -> None:
        if self.records is not None:
            self.records.write_format(blocks)
            return
        self._send("fmt", ',"x":' + json.dumps(encode_blocks(blocks), separators=(",", ":")))

    def write_error(self, record: ErrorRecord) -> None:
        if self.records is not None:
            self.records.write_error(record)
            return
        from pjsh.runtime.serialize import dumps
        self._send("err", ',"x":' + dumps(record))

    def write_stream(self, stream: str, text: str) -> None:
        if self.records is not None:
            self.records.write_stream(stream, text)
            return
        self._send("str", f',"n":{json.dumps(stream)},"x":{json.dumps(text)}')

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        if self.records is not None:
            self.records.write_host(text, newline, fg, bg)
            return
        self._send("host", f',"x":{json.dumps(text)},"nl":{json.dumps(newline)},'
                           f'"fg":{json.dumps(fg)},"bg":{json.dumps(bg)}')

    def write_progress(self, record: object) -> None:
        if self.records is not None:
            self.records.write_progress(record)
            return
        from pjsh.runtime.serialize import dumps
        self._send("prog", ',"x":' + dumps(record))

    def native_stdio(self) -> tuple[int | None, int | None]:
        # An invoke request's natives are captured (their output is the script's output); an
        # entered line at a terminal gives them the slot's pseudo-terminal.
        if self.records is not None:
            return None, None
        if self.tty is not None:
            return self.tty, self.tty
        return self._raw_fds

    def flush(self) -> None:
        self.agent.channel.drain()

    @property
    def width(self) -> int:
        return self._width

    def set_width(self, width: int) -> None:
        """The client's display width, sent with each request."""
        self._width = max(20, width)

    def clear(self) -> None:
        if self.records is None:
            self._send("clear", "")

    def read_line(self, prompt: str) -> str:
        return str(self.agent.host_call(self.slot, "read_line", [prompt]))

    def read_secret(self, prompt: str) -> str:
        return str(self.agent.host_call(self.slot, "read_secret", [prompt]))

    def confirm(self, caption: str, message: str, choices: Sequence[Choice] = (),
                default: int = 0) -> int:
        from pjsh.runtime.host import YES_NO_ALL
        picked = self.agent.host_call(self.slot, "confirm", [
            caption, message, [[c.label, c.help] for c in (choices or YES_NO_ALL)], default])
        return int(str(picked))

    @contextlib.contextmanager
    def terminal(self) -> Iterator[None]:
        yield

    def write_paged(self, text: str) -> None:
        self.write_host(text.rstrip("\n"))


# ---- the records of an invoke request -------------------------------------------------------


class RecordWriter(PipeWriter):
    """Sends an ``invoke`` request's records on their streams: a worker's writer whose lines
    carry the request id and go through the channel."""

    def __init__(self, agent: Agent, request_id: int) -> None:
        from pjsh.runtime.serialize import dumps
        self._dumps = dumps
        self._agent = agent
        self._prefix = f'{{"id":{request_id},"s":"'

    def _send(self, stream: str, value: object, extra: str = "") -> None:
        self._agent.channel.send(self._prefix + stream + '"' + extra + ',"x":'
                                 + self._dumps(value) + "}")

    def write_output(self, value: object) -> None:
        from pjsh.runtime.values import FormatOutput
        if isinstance(value, FormatOutput):
            # Format-Table/-List output travels as the format model, shown as it was made.
            self._agent.channel.send(self._prefix + 'f","x":' + json.dumps(
                encode_blocks(list(value)), separators=(",", ":")) + "}")
            return
        self._send("o", value)


class _OutputSink:
    """The sink of an invoke request's success output."""

    def __init__(self, writer: RecordWriter) -> None:
        self.send = writer.write_output


# ---- the agent ------------------------------------------------------------------------------


class Slot:
    """One runspace of the engine: its requests run in order on its own thread, so a long
    command in one session does not hold up another session on the same connection."""

    def __init__(self, agent: Agent, rs_id: int) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        wake_r, wake_w = os.pipe()
        for fd in (out_r, err_r, wake_r):
            os.set_blocking(fd, False)
        self.id = rs_id
        # What the pump reads, with the stream each goes to (1 stdout, 2 stderr); the pty's
        # master joins once an entered line asks for a terminal.
        self.sources: list[tuple[int, int]] = [(out_r, 1), (err_r, 2)]
        self._wake = (wake_r, wake_w)  # tells the pump the sources changed
        self._fds = [out_r, out_w, err_r, err_w, wake_r, wake_w]
        self.pty: tuple[int, int] | None = None  # (master, slave)
        self.current = 0  # the request running (raw bytes and host output belong to it)
        self.running: int | None = None
        self.closed = False
        self.pumping = False
        self.requests: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.host = ProxyHost(agent, self, (out_w, err_w))
        self.runspace: Runspace | None = None
        self.thread: threading.Thread | None = None

    def terminal(self, rows: int, cols: int) -> int:
        """The slot's pseudo-terminal (made on first use) sized rows x cols; its slave."""
        import fcntl
        import struct
        import termios
        if self.pty is None:
            master, slave = os.openpty()
            os.set_blocking(master, False)
            # Line ends are the client terminal's business (it turns \n into \r\n, and
            # pjsh's own output between natives relies on that): not done twice.
            attrs = termios.tcgetattr(slave)
            attrs[1] &= ~termios.ONLCR
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            self.pty = (master, slave)
            self._fds += [master, slave]
            self.sources.append((master, 1))
            os.write(self._wake[1], b"x")
        fcntl.ioctl(self.pty[0], termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        return self.pty[1]

    def feed_terminal(self, data: bytes) -> None:
        """Keys typed at the client, for the native that has the terminal."""
        if self.pty is not None:
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self.pty[0], view):]
                except BlockingIOError:
                    select.select([], [self.pty[0]], [])
                except OSError:
                    return

    def release(self) -> None:
        """Close the runspace's pipes and terminal (its jobs were stopped before)."""
        self.closed = True
        try:
            os.write(self._wake[1], b"x")
        except OSError:
            pass
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass


class Agent:
    """Reads requests and hands each to its runspace's thread; answers cancels and host
    replies at once. One engine serves every session of one SSH connection (the client pools
    connections per user, host and port), each in a runspace of its own."""

    def __init__(self, out: IO[bytes], stdin: IO[bytes]) -> None:
        self.channel = Channel(out)
        self.stdin = stdin
        self.slots: dict[int, Slot] = {}
        self._calls: dict[int, queue.SimpleQueue[dict[str, Any]]] = {}
        self._call_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def _make_runspace(self, host: ProxyHost) -> Runspace:
        from pjsh.engine import local_options
        from pjsh.runtime.runspace import DEVNULL, create_runspace
        # Natives get their own process group, which a stop (Ctrl+C at the client, Stop-Job)
        # terminates: there is no terminal here to deliver the interrupt to them.
        options = local_options(host, native_stdin=DEVNULL, cwd=os.path.expanduser("~"))
        return create_runspace(options.derive(isolate_natives=True))

    # ---- reading ------------------------------------------------------------------------------

    def read_requests(self) -> None:
        """The reader thread: requests to their runspace, cancels and replies at once."""
        for raw in iter(self.stdin.readline, b""):
            try:
                message = json.loads(raw.decode("utf-8", "surrogateescape"))
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            op = message.get("op")
            if op == "cancel":
                with self._lock:
                    for slot in self.slots.values():
                        if slot.running is not None and slot.running == message.get("id") \
                                and slot.runspace is not None:
                            slot.runspace.interp.request_stop()
            elif op == "reply":
                waiter = self._calls.get(int(message.get("call") or 0))
                if waiter is not None:
                    waiter.put(message)
            elif op == "close":
                break
            elif op == "open":
                self._open(message)
            elif op == "stdin":
                with self._lock:
                    target = self.slots.get(int(message.get("rs") or 0))
                if target is not None:
                    target.feed_terminal(base64.b64decode(str(message.get("x") or "")))
            else:
                with self._lock:
                    target = self.slots.get(int(message.get("rs") or 0))
                if target is None:
                    self.channel.send(json.dumps(
                        {"id": message.get("id"), "done": True, "ok": False,
                         "reason": "That runspace is not open."}, separators=(",", ":")))
                else:
                    target.requests.put(message)
        # The client is gone or said close: host calls waiting for it fail, running requests
        # stop, and each runspace stops its jobs.
        for waiter in list(self._calls.values()):
            waiter.put({"err": "The session was closed."})
        with self._lock:
            slots = list(self.slots.values())
        for slot in slots:
            if slot.runspace is not None and slot.running is not None:
                slot.runspace.interp.request_stop()
            slot.requests.put(None)
        self.closed.set()

    def _open(self, message: dict[str, Any]) -> None:
        rs_id = int(message.get("rs") or 0)
        with self._lock:
            if rs_id in self.slots:
                return
            slot = self.slots[rs_id] = Slot(self, rs_id)
            self.channel.slots[rs_id] = slot
        thread = threading.Thread(target=self._serve_slot, args=(slot, message),
                                  name=f"pjsh-rs-{rs_id}", daemon=True)
        slot.thread = thread
        thread.start()

    def host_call(self, slot: Slot, method: str, args: list[object]) -> object:
        """Ask the client's Host and wait for its answer (a stop wakes the wait)."""
        from pjsh.runtime.errors import PipelineStoppedSignal
        from pjsh.runtime.host import HostException
        call = next(self._call_ids)
        waiter: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._calls[call] = waiter
        assert slot.runspace is not None
        token = slot.runspace.interp.stop_event
        wake = token.add_callback(lambda: waiter.put({"stop": True}))
        try:
            self.channel.send(json.dumps({"id": slot.current, "call": call, "m": method,
                                          "a": args}, separators=(",", ":")))
            answer = waiter.get()
        finally:
            token.remove_callback(wake)
            del self._calls[call]
        if answer.get("stop"):
            raise PipelineStoppedSignal()
        if "err" in answer:
            raise HostException(str(answer["err"]), str(answer.get("eid") or
                                                         "System.Management.Automation.Host."
                                                         "HostException"))
        return answer.get("v")

    # ---- running --------------------------------------------------------------------------

    def _done(self, request_id: int, ok: bool, reason: str | None, error: object = None,
              slot: Slot | None = None) -> None:
        done: dict[str, object] = {"id": request_id, "done": True, "ok": ok, "reason": reason}
        if slot is not None and slot.runspace is not None:
            session = slot.runspace.session
            done["cwd"] = session.cwd
            done["exit"] = session.last_exit_code
        text = json.dumps(done, separators=(",", ":"))
        if error is not None:
            from pjsh.runtime.serialize import dumps
            text = text[:-1] + ',"x":' + dumps(error) + "}"
        self.channel.send(text)

    def _serve_slot(self, slot: Slot, opening: dict[str, Any]) -> None:
        """A runspace's thread: make it, then run its requests in order until it closes."""
        open_id = int(opening.get("id") or 0)
        slot.current = open_id
        try:
            slot.runspace = self._make_runspace(slot.host)
        except BaseException as exc:  # the client hears why; the engine goes on
            self._done(open_id, False, f"{type(exc).__name__}: {exc}")
            self._forget(slot)
            return
        self._done(open_id, True, None, slot=slot)
        while True:
            request = slot.requests.get()
            if request is None or request.get("op") == "drop":
                self._shutdown(slot)
                if request is not None:
                    self._done(int(request.get("id") or 0), True, None)
                return
            request_id = int(request.get("id") or 0)
            slot.running = request_id
            slot.current = request_id
            if isinstance(request.get("w"), int):
                slot.host.set_width(request["w"])
            size = request.get("tty")
            if request.get("op") == "line" and isinstance(size, list) and len(size) == 2:
                slot.terminal(int(size[0]), int(size[1]))
            if request.get("op") == "line" and not slot.pumping:
                slot.pumping = True
                threading.Thread(target=self.channel.pump, args=(slot,), daemon=True,
                                 name=f"pjsh-rs-{slot.id}-pump").start()
            try:
                ok, reason, error = self._run(slot, request)
            except BaseException as exc:  # the session must outlive a bug
                ok, reason, error = False, f"{type(exc).__name__}: {exc}", None
            slot.running = None
            self._done(request_id, ok, reason, error, slot)

    def _shutdown(self, slot: Slot) -> None:
        with contextlib.suppress(Exception):
            if slot.runspace is not None:
                slot.runspace.session.shutdown()
                slot.runspace.close()
        self._forget(slot)

    def _forget(self, slot: Slot) -> None:
        with self._lock:
            self.slots.pop(slot.id, None)
            with self.channel.lock:
                self.channel.slots.pop(slot.id, None)
                slot.release()

    def serve(self) -> None:
        """Wait until the client closes the engine, then for every runspace to stop."""
        self.closed.wait()
        for slot in list(self.slots.values()):
            if slot.thread is not None:
                slot.thread.join()

    def _run(self, slot: Slot, request: dict[str, Any]) -> tuple[bool, str | None, object]:
        op = request.get("op")
        assert slot.runspace is not None
        if op == "line":
            size = request.get("tty")
            session = slot.runspace.session
            saved_stdin = session.native_stdin
            if isinstance(size, list) and len(size) == 2:
                # The client is a terminal: natives get one too (vim, top, less, colours),
                # and the keys typed there arrive as "stdin" messages.
                slot.host.tty = session.native_stdin = slot.terminal(int(size[0]),
                                                                     int(size[1]))
            try:
                result = slot.runspace.run(str(request.get("text", "")))
            finally:
                slot.host.tty = None
                session.native_stdin = saved_stdin
            stopped = result.stopped or slot.runspace.interp.stop_event.is_set()
            return result.ok and not stopped, "stopped" if stopped else None, None
        if op == "invoke":
            return self._invoke(slot, request)
        if op == "complete":
            return self._complete(slot, request)
        return False, f"unknown request {op!r}", None

    def _invoke(self, slot: Slot, request: dict[str, Any]) -> tuple[bool, str | None, object]:
        from pjsh.jobs.jobhost import JobHost
        from pjsh.jobs.service import install_copied_variables
        from pjsh.lang.parser import parse
        from pjsh.runtime.errors import FlowControl, PipelineStoppedSignal, PSRuntimeError
        from pjsh.runtime.interpreter import Frame
        from pjsh.runtime.scriptblock import ScriptBlock
        from pjsh.runtime.serialize import decode

        rs = slot.runspace
        assert rs is not None
        writer = RecordWriter(self, int(request.get("id") or 0))

        def make_scriptblock(text: str) -> object:
            parsed = parse(text)
            return ScriptBlock(parsed.body, text, text) if parsed.body is not None else text

        script = str(request.get("script", ""))
        parsed = _PARSED.get(script)
        if parsed is None:
            parsed = parse(script)
            if len(_PARSED) >= 256:
                _PARSED.clear()
            _PARSED[script] = parsed  # the same block sent again (a loop) is parsed once
        if parsed.error is not None or parsed.body is None:
            err = parsed.error
            return False, (err.describe() if err is not None
                           else "The script block could not be parsed."), None
        g = rs.session.global_scope
        using = request.get("using")
        if using is not None:
            values = decode(using, make_scriptblock=make_scriptblock)
            if isinstance(values, (dict, Mapping)):
                install_copied_variables(g, {str(k): v for k, v in values.items()})
        args = decode(request["args"], make_scriptblock=make_scriptblock) \
            if request.get("args") is not None else []
        block = ScriptBlock(parsed.body, script, script)
        interp = rs.interp
        if interp.stop_event.is_set():
            interp.stop_event.clear()
        frame = Frame(g, rs.streams, script)
        session = rs.session
        session.last_native_failure = None
        slot.host.records = JobHost(writer, "")
        try:
            interp.invoke_block(block, frame, list(args) if isinstance(args, list) else [args],
                                new_scope=False, out=_OutputSink(writer))
        except PipelineStoppedSignal:
            return False, "stopped", None
        except FlowControl:  # exit, or break/return outside a loop: the script ended
            pass
        except PSRuntimeError as e:
            return False, e.record.message, e.record
        except RecursionError:
            return False, "The script failed due to call depth overflow.", None
        finally:
            slot.host.records = None
        if interp.stop_event.is_set():
            # Stopped in its last command (a wait that a stop ends early returns quietly).
            return False, "stopped", None
        return True, None, None

    def _complete(self, slot: Slot, request: dict[str, Any]) -> tuple[bool, str | None, object]:
        """Completion data for the client's completer: a directory's entries (``dir``:
        name, is a directory, is executable) or the command names (``commands``)."""
        writer = RecordWriter(self, int(request.get("id") or 0))
        assert slot.runspace is not None
        session = slot.runspace.session
        if request.get("kind") == "dir":
            typed = str(request.get("path") or "")
            home = session.env.get("HOME") or os.path.expanduser("~")
            if typed == "~" or typed.startswith("~/"):
                folder = os.path.join(home, typed[2:])
            else:
                folder = os.path.join(session.cwd, typed)
            try:
                entries = list(os.scandir(folder))
            except OSError:
                return True, None, None
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                writer.write_output([entry.name, is_dir, os.access(entry.path, os.X_OK)])
            return True, None, None
        names: list[str] = []
        for folder in session.env.get("PATH", "").split(os.pathsep):
            try:
                with os.scandir(folder or ".") as found:
                    for entry in found:
                        if entry.is_file() and os.access(entry.path, os.X_OK):
                            names.append(entry.name)
            except OSError:
                continue
        functions = [str(getattr(info, "name", key)) for key, info in session.functions.items()]
        writer.write_output({"executables": sorted(set(names)), "functions": functions,
                             "home": session.env.get("HOME") or os.path.expanduser("~")})
        return True, None, None


def _redirect_stdio() -> tuple[IO[bytes], IO[bytes]]:
    """A private copy of stdout for the protocol; fd 1 and 2 go to /dev/null so nothing stray
    can corrupt it (natives get the terminal pipes explicitly)."""
    proto_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    out = os.fdopen(proto_fd, "wb", buffering=_CHUNK)
    return out, sys.stdin.buffer


def main(argv: Sequence[str] | None = None) -> int:
    """Serve one runspace over stdin/stdout until the client closes it."""
    import getpass
    import platform
    import socket

    out, stdin = _redirect_stdio()
    agent = Agent(out, stdin)
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry: the uid will do
        user = str(os.getuid())
    # The engine is imported before saying ready, so opening a runspace costs only its own
    # making (a fan-out opens many at once).
    import pjsh.engine  # noqa: F401
    agent.channel.send(json.dumps({
        "ready": True, "v": PROTOCOL_VERSION, "pid": os.getpid(), "user": user,
        "home": os.path.expanduser("~"), "cwd": os.path.expanduser("~"),
        "host": socket.gethostname(), "python": platform.python_version(),
    }, separators=(",", ":")))
    threading.Thread(target=agent.read_requests, name="pjsh-agent-reader", daemon=True).start()
    agent.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

