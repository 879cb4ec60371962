"""The pjsh worker process: runs one job's script block and streams its records back.

Started ahead of need (warm) by the worker backend as ``python -m pjsh.jobs.worker``. It
imports the engine, says ``{"ready": true}``, waits for exactly one request line, runs it,
streams one JSON line per record, ends with a ``done`` line and exits: no process ever
serves two jobs. The protocol uses a private copy of the original stdout; the worker's own
fd 1 and 2 point at /dev/null so stray writes can never corrupt it.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from pjsh.runtime.cmdlet import Registry
    from pjsh.runtime.runspace import Runspace

PROTOCOL_VERSION = 1


class PipeWriter:
    """Writes job records as JSON lines: ``{"s": stream, "x": <serialized value>}``."""

    def __init__(self, out: IO[str]) -> None:
        from pjsh.runtime.serialize import dumps

        self._dumps = dumps
        self.out = out

    def _send(self, stream: str, value: object, extra: str = "") -> None:
        self.out.write('{"s":"' + stream + '"' + extra + ',"x":' + self._dumps(value) + "}\n")
        self.out.flush()

    def write_output(self, value: object) -> None:
        self._send("o", value)

    def write_error(self, record: object) -> None:
        self._send("e", record)

    def write_warning(self, text: str) -> None:
        self._send("w", text)

    def write_verbose(self, text: str) -> None:
        self._send("v", text)

    def write_debug(self, text: str) -> None:
        self._send("d", text)

    def write_information(self, value: object, tags: Sequence[str] = ()) -> None:
        self._send("i", value)

    def write_progress(self, record: object) -> None:
        self._send("p", record)

    def done(self, ok: bool, reason: str | None, error: object = None,
             exit_code: int | None = None) -> None:
        """The final line: success, or the failure reason (and its error record), and the
        last native exit code ($LASTEXITCODE) for the job's ExitCode."""
        payload: dict[str, object] = {"done": True, "ok": ok, "reason": reason}
        if exit_code is not None:
            payload["exit"] = exit_code
        text = json.dumps(payload)
        if error is not None:
            text = text[:-1] + ',"x":' + self._dumps(error) + "}"
        self.out.write(text + "\n")
        self.out.flush()


def run_request(request: dict[str, object], writer: PipeWriter, registry: Registry) -> None:
    """Run one job request (see the worker backend for its fields) with ``registry``'s
    commands."""
    from pjsh.jobs.engine import LocalJobEngine
    from pjsh.jobs.jobhost import JobHost
    from pjsh.runtime.runspace import DEVNULL, RunspaceOptions, create_runspace

    env = request.get("env")
    options = RunspaceOptions(
        host=JobHost(writer, str(request.get("name") or "") or None), registry=registry,
        cwd=str(request.get("cwd") or os.getcwd()),
        env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else None,
        native_stdin=DEVNULL, jobs=LocalJobEngine())
    with create_runspace(options) as rs:
        _run(rs, request, writer)


def _run(rs: Runspace, request: dict[str, object], writer: PipeWriter) -> None:
    from pjsh.lang.parser import parse
    from pjsh.runtime.errors import PSRuntimeError
    from pjsh.runtime.interpreter import Frame
    from pjsh.runtime.scriptblock import ScriptBlock
    from pjsh.runtime.serialize import decode
    from pjsh.runtime.streams import CallbackSink

    g = rs.session.global_scope
    def make_scriptblock(text: str) -> object:
        # A copied script block variable (`$sb = {...}; & $sb &`) must stay runnable code.
        parsed = parse(text)
        return ScriptBlock(parsed.body, text, text) if parsed.body is not None else text

    variables = (decode(request["vars"], make_scriptblock=make_scriptblock)
                 if request.get("vars") is not None else None)
    if variables is not None:
        from pjsh.jobs.service import install_copied_variables

        install_copied_variables(g, {str(k): v for k, v in variables.items()})  # type: ignore[attr-defined]
    out = CallbackSink(writer.write_output)
    init = request.get("init")
    if isinstance(init, str) and init.strip():
        rs.run(init, out=out)
    script = str(request.get("script", ""))
    parsed = parse(script)
    if parsed.error is not None or parsed.body is None:
        err = parsed.error
        reason = err.describe() if err is not None else "The script block could not be parsed."
        writer.done(False, reason)
        return
    block = ScriptBlock(parsed.body, script, script)
    args = (decode(request["args"], make_scriptblock=make_scriptblock)
            if request.get("args") is not None else [])
    input_items = decode(request["input"]) if request.get("input") is not None else None
    interp = rs.interp
    frame = Frame(g, rs.streams, script)
    session = rs.session
    try:
        interp.invoke_block(block, frame, list(args) if isinstance(args, list) else [args],
                            input_items=(list(input_items) if isinstance(input_items, list)
                                         else None),
                            new_scope=False, out=out)
    except PSRuntimeError as e:
        writer.done(False, e.record.message, e.record, session.last_exit_code)
        return
    except Exception as e:  # the job fails with the reason; the worker never leaks a traceback
        writer.done(False, f"{type(e).__name__}: {e}", exit_code=session.last_exit_code)
        return
    failed_native = session.last_native_failure
    if failed_native:
        writer.done(False, failed_native, exit_code=session.last_exit_code)
        return
    writer.done(True, None, exit_code=session.last_exit_code)


def watch_parent() -> None:
    """End the worker's whole process group the moment pjsh is gone (killed, crashed, its
    terminal closed): pjsh holds the only write end of our stdin, so EOF there means exactly
    that, without a timer."""
    import threading

    def wait_for_eof() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        import signal

        os.killpg(os.getpgrp(), signal.SIGKILL)  # the worker and every native it started

    threading.Thread(target=wait_for_eof, name="pjsh-parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    """Worker entry point: announce readiness, take one request, run it, exit. The arguments
    name the command modules of the caller's registry (``--commands a,b,c``) and, for a
    registry built from a manifest, what each provides (``--manifest <json>``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    modules = args[args.index("--commands") + 1].split(",") if "--commands" in args else []
    modules = [m for m in modules if m]
    manifest = json.loads(args[args.index("--manifest") + 1]) if "--manifest" in args else None
    proto_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    out = open(proto_fd, "w", encoding="utf-8", errors="surrogateescape",  # noqa: SIM115
               buffering=1 << 16)
    # Warm up: import the engine before saying ready, so a job starts without this cost.
    import pjsh.runtime.runspace
    import pjsh.runtime.serialize  # noqa: F401
    from pjsh.runtime.cmdlet import Registry

    registry = Registry.from_manifest(manifest) if manifest else Registry.from_modules(modules)
    out.write(f'{{"ready":true,"v":{PROTOCOL_VERSION}}}\n')
    out.flush()
    if manifest:
        # Ready before the command modules are imported, so the first Start-Job (which waits
        # for this line) does not wait for them; a spare then imports them while it waits,
        # unless a request is already there (it imports what it uses).
        for module in modules:
            if select.select([0], [], [], 0)[0]:
                break
            importlib.import_module(module)
    line = sys.stdin.buffer.readline()
    if not line:
        return 0
    request = json.loads(line.decode("utf-8", "surrogateescape"))
    watch_parent()
    writer = PipeWriter(out)
    try:
        run_request(request, writer, registry)
    except BrokenPipeError:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
