"""Command line: argv → mode (REPL, -c, script file, scripted stdin)."""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO

from pjsh import __version__
from pjsh.lang.record import dataclass, field

if TYPE_CHECKING:
    from pjsh.runtime.runspace import Runspace

USAGE = """\
Usage: pjsh [-NoProfile] [-NonInteractive] [-c|-Command] <text> ...
       pjsh [-NoProfile] [-NonInteractive] [-File] <script.ps1> [args ...]
       commands | pjsh [-NoProfile]
       pjsh --version | -h

  -c, -Command <text>   Run the text (remaining arguments are joined with spaces) and exit.
  -File <path> [args]   Run a script file; $args holds the arguments. A bare path works too.
  -NoProfile            Do not run ~/.config/pjsh/profile.ps1.
  -NonInteractive       Never prompt; with no command, read statements from stdin.
  --version             Print the version and exit.
  -h, -Help, --help     Print this help and exit.

With no command and stdin a terminal, pjsh starts the interactive shell. With stdin not a
terminal it runs the statements it reads, as if typed, and exits with the last one's status.
Exit status: 0 if the last statement succeeded, 1 if not, or N from `exit N`.
"""


@dataclass
class Options:
    """Parsed command-line options."""

    command: str | None = None
    file: str | None = None
    args: list[str] = field(default_factory=list)
    no_profile: bool = False
    non_interactive: bool = False
    version: bool = False
    help: bool = False
    error: str | None = None


def parse_args(argv: list[str]) -> Options:
    """Parse pjsh's own options (case-insensitive, pwsh spellings and Unix ones)."""
    opts = Options()
    i = 0
    while i < len(argv):
        a = argv[i]
        low = a.lower()
        if low in ("-c", "-command", "--command"):
            rest = argv[i + 1:]
            if not rest:
                opts.error = "Missing the argument for -Command."
                return opts
            opts.command = " ".join(rest)
            return opts
        if low in ("-noprofile", "-nop", "--noprofile", "--no-profile"):
            opts.no_profile = True
        elif low in ("-noninteractive", "-noni", "--noninteractive", "--non-interactive"):
            opts.non_interactive = True
        elif low in ("--version", "-version", "-v"):
            opts.version = True
        elif low in ("-h", "-help", "--help", "-?", "/?"):
            opts.help = True
        elif low in ("-file", "-f", "--file"):
            if i + 1 >= len(argv):
                opts.error = "Missing the argument for -File."
                return opts
            opts.file = argv[i + 1]
            opts.args = argv[i + 2:]
            return opts
        elif low == "-" :
            return opts
        elif a.startswith("-"):
            opts.error = f"Unknown option '{a}'. Run 'pjsh -h' for usage."
            return opts
        else:
            opts.file = a
            opts.args = argv[i + 1:]
            return opts
        i += 1
    return opts


def _exit_status(ok: bool, exit_code: int | None) -> int:
    if exit_code is not None:
        return exit_code & 0xFF  # as the OS truncates it: exit -1 is 255, like bash and pwsh
    return 0 if ok else 1


def entry() -> NoReturn:
    """The ``pjsh`` command (and ``python -m pjsh``): run main(), then leave."""
    open_standard_fds()
    leave(main())


def open_standard_fds() -> None:
    """Started with fd 0, 1 or 2 closed (``2>&-``), pjsh gets /dev/null there instead: the
    next file or pipe pjsh opened would otherwise take the number, and its messages or a
    native's output would land in it."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if getattr(sys, name) is None:
                setattr(sys, name, open(fd, "r" if fd == 0 else "w",  # noqa: SIM115
                                        closefd=False))


def leave(code: int) -> NoReturn:
    """Exit with ``code`` once pjsh's own exit work is done, skipping the interpreter's
    object-by-object teardown.

    By the time main() returns, everything leaving pjsh must do is done: jobs stopped, fork
    servers closed, output flushed. What Python would still do is free every object one by
    one (30 ms after a script of a thousand jobs) and join threads the job engine already
    stopped. Exit handlers still run, and the standard streams are flushed.
    """
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pjsh`` command; returns the process exit status."""
    # The parser and interpreter recurse per nesting level; Python 3.11+ frames cost no C
    # stack, so a higher limit lets deeply nested scripts work instead of failing at ~60 levels.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 8000))
    opts = parse_args(list(sys.argv[1:] if argv is None else argv))
    if opts.error:
        sys.stderr.write(f"pjsh: {opts.error}\n")
        return 64
    if opts.help:
        sys.stdout.write(USAGE)
        return 0
    if opts.version:
        sys.stdout.write(f"pjsh {__version__}\n")
        return 0
    interactive = (opts.command is None and opts.file is None and not opts.non_interactive
                   and sys.stdin.isatty() and sys.stdout.isatty())
    if interactive:
        from pjsh.repl.app import run_repl

        return run_repl(no_profile=opts.no_profile)
    return run_batch(opts)


def run_batch(opts: Options) -> int:
    """-c, script files and scripted stdin: plain output, no prompts."""
    from pjsh.engine import local_options
    from pjsh.lifecycle import exit_on_signals, flush_quietly, stop_jobs_on_exit
    from pjsh.runtime.host import StreamHost
    from pjsh.runtime.runspace import DEVNULL, create_runspace

    # Prompts (Read-Host) read stdin: in scripted mode the line after the statement asking.
    host = StreamHost(input=_stdin_buffer(), non_interactive=opts.non_interactive)
    scripted = opts.command is None and opts.file is None
    # Scripted stdin: natives read /dev/null, so none swallows the rest of the script.
    from pjsh.remote import REMOTE_MANIFEST
    rs = create_runspace(local_options(host, native_stdin=DEVNULL if scripted else None,
                                       script_args=tuple(opts.args),
                                       extra_commands=REMOTE_MANIFEST, reads_lines=scripted))
    exit_on_signals()
    if opts.command is not None or opts.file is not None:
        # `cmds | pjsh -c '$input | ...'`: stdin lines, read only if the script asks for them
        # (a native started by the script may want stdin for itself).
        rs.session.global_scope.set("input", StdinLines(sys.stdin))
    try:
        if opts.command is not None:
            result = rs.run(opts.command)
            if result.incomplete and result.parse_error is not None:
                rs.report_parse_error(result.parse_error)
                return 1
            return _exit_status(result.ok, result.exit_code)
        if opts.file is not None:
            result = rs.run_file(opts.file, opts.args)
            return _exit_status(result.ok, result.exit_code)
        return run_stdin(rs)
    except KeyboardInterrupt:
        host.flush()
        return 130
    finally:
        try:
            flush_quietly(host)
        finally:
            stop_jobs_on_exit(rs)
            rs.close()


def _stdin_buffer() -> IO[bytes] | None:
    """stdin's byte stream, or None when pjsh was started without one."""
    try:
        return sys.stdin.buffer if sys.stdin is not None else None
    except (AttributeError, ValueError):
        return None


class StdinLines(list):  # type: ignore[type-arg]
    """``$input`` in -c and script modes: stdin's lines, read on first use."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream: TextIO | None = stream

    def _load(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None or stream.isatty():
            return
        try:
            data = stream.buffer.read()
        except (OSError, ValueError):
            return
        text = data.decode("utf-8", "surrogateescape")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        super().extend(line[:-1] if line.endswith("\r") else line for line in lines)

    def __iter__(self) -> Iterator[object]:
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def __getitem__(self, index: Any) -> Any:
        self._load()
        return super().__getitem__(index)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __repr__(self) -> str:
        self._load()
        return super().__repr__()


def run_stdin(rs: Runspace) -> int:
    """Scripted mode: run statements as they arrive, joining lines while input is incomplete."""
    from pjsh.lifecycle import leave_if_signalled

    stream = sys.stdin.buffer
    pending = ""
    ok = True
    line_no = 0
    while True:
        raw = stream.readline()
        if not raw:
            break
        line_no += 1
        line = raw.decode("utf-8", "surrogateescape")
        pending += line
        if not pending.strip():
            pending = ""
            continue
        parsed = rs.parse(pending)
        if parsed.incomplete:
            continue
        pushed = rs.session.pushed
        if pushed is not None:
            # Enter-Session: the line runs in the remote runspace.
            ok = pushed.run_line(pending)
            pending = ""
            leave_if_signalled()
            continue
        result = rs.run(pending, parsed=parsed)
        pending = ""
        leave_if_signalled()
        if result.exit_code is not None:
            return _exit_status(result.ok, result.exit_code)
        ok = result.ok
    pushed = rs.session.pushed
    if pushed is not None:
        if pending.strip():
            ok = pushed.run_line(pending)
            pending = ""
        pushed.leave()  # the input ended: a temporary session closes (and says so)
    if pending.strip():
        result = rs.run(pending)
        if result.incomplete and result.parse_error is not None:
            rs.report_parse_error(result.parse_error)
            return 1
        if result.exit_code is not None:
            return _exit_status(result.ok, result.exit_code)
        ok = result.ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
