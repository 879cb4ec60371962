"""The console host: the engine's output on an interactive terminal.

Success output is rendered with rich (colours from :mod:`pjsh.render.rich_render`); with
``NO_COLOR`` set or stdout not a terminal it falls back to the same plain text the scripted host
writes. Errors, warnings, verbose and debug messages go to stderr in PowerShell's colours;
progress is a transient one-line bar on stderr. rich is imported only when a rich console is
first needed, so building a host costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING

from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import (
    DEBUG,
    INFORMATION,
    VERBOSE,
    WARNING,
    YES_NO_ALL,
    Choice,
    HostException,
    ask_choice,
    non_interactive_error,
)

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output
    from rich.console import Console

    from pjsh.runtime.formatting import Block

# PowerShell's ConsoleColor names → ANSI colours as pwsh emits them on Unix
# (the Dark* names are the normal 30-37 colours, the plain names the bright 90-97 ones).
CONSOLE_COLORS: dict[str, str] = {
    "black": "black",
    "darkblue": "blue",
    "darkgreen": "green",
    "darkcyan": "cyan",
    "darkred": "red",
    "darkmagenta": "magenta",
    "darkyellow": "yellow",
    "gray": "white",
    "darkgray": "bright_black",
    "blue": "bright_blue",
    "green": "bright_green",
    "cyan": "bright_cyan",
    "red": "bright_red",
    "magenta": "bright_magenta",
    "yellow": "bright_yellow",
    "white": "bright_white",
}

# $PSStyle.Formatting.Warning / Verbose / Debug are all bold yellow in pwsh 7.2+.
STREAM_STYLES: dict[str, str] = {
    WARNING: "bold yellow",
    VERBOSE: "bold yellow",
    DEBUG: "bold yellow",
}

_CLEAR_LINE = "\r\x1b[2K"
_BAR_CELLS = 30

# Out-Host -Paging's prompt, as pwsh's console host words it.
PAGING_PROMPT = "<SPACE> next page; <CR> next line; Q quit"

# What a process given the terminal is wrapped in (the tty module plugs its process-group
# hand-over in here: `tcsetpgrp` to the child and back). Entered after the prompt stepped aside.
TerminalHandoff = Callable[[], contextlib.AbstractContextManager[None]]


def console_style(fg: str | None, bg: str | None) -> str | None:
    """A rich style string for Write-Host's -ForegroundColor/-BackgroundColor (None: unstyled)."""
    parts: list[str] = []
    if fg and fg.lower() in CONSOLE_COLORS:
        parts.append(CONSOLE_COLORS[fg.lower()])
    if bg and bg.lower() in CONSOLE_COLORS:
        parts.append("on " + CONSOLE_COLORS[bg.lower()])
    return " ".join(parts) or None


def progress_line(record: object, width: int) -> str:
    """One line for a progress record: ``Activity [=====     ]  45% Status``, cut to ``width``."""
    from pjsh.runtime.convert import to_string
    from pjsh.runtime.values import lookup_property

    _, activity = lookup_property(record, "Activity")
    _, status = lookup_property(record, "StatusDescription")
    _, percent = lookup_property(record, "PercentComplete")
    _, operation = lookup_property(record, "CurrentOperation")
    text = to_string(activity)
    pct = percent if isinstance(percent, int) else -1
    if pct >= 0:
        pct = min(pct, 100)
        filled = _BAR_CELLS * pct // 100
        text += f" [{'=' * filled}{' ' * (_BAR_CELLS - filled)}] {pct:>3}%"
    for extra in (status, operation):
        if extra:
            text += " " + to_string(extra)
    # One cell short of the width: a line that wraps could no longer be erased with \r.
    limit = max(1, width - 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ConsoleHost:
    """A :class:`pjsh.runtime.host.Host` for a terminal: rich colours, transient progress."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None, *,
                 console: Console | None = None, err_console: Console | None = None,
                 plain: bool | None = None, progress: bool | None = None,
                 prompt_input: Input | None = None, prompt_output: Output | None = None,
                 non_interactive: bool = False, handoff: TerminalHandoff | None = None,
                 read_key: Callable[[], str] | None = None) -> None:
        """Build a host on ``out``/``err`` (default: stdout/stderr).

        ``console``/``err_console`` inject rich consoles (tests); ``plain`` forces plain text
        (default: when ``NO_COLOR`` is set or ``out`` is not a terminal); ``progress`` forces
        the progress bar on or off (default: when ``err`` is a terminal).
        ``prompt_input``/``prompt_output`` are prompt_toolkit's input and output for Read-Host
        and confirmations (tests pass a pipe input and DummyOutput); ``handoff`` wraps a
        process that owns the terminal; ``read_key`` reads one key for Out-Host -Paging.
        """
        if console is not None:
            out = out or console.file
        if err_console is not None:
            err = err or err_console.file
        self._out: IO[str] = out or sys.stdout
        self._err: IO[str] = err or (console.file if console is not None else sys.stderr)
        self._console = console
        self._err_console = err_console if err_console is not None else console
        if plain is None:
            plain = console is None and ("NO_COLOR" in os.environ or not _isatty(self._out))
        self.plain = plain
        self.show_progress = _isatty(self._err) if progress is None else progress
        # Activity id → latest record; the most recently updated one is drawn.
        self._activities: dict[tuple[int, int], object] = {}
        self._bar_drawn = False
        self.prompt_input = prompt_input
        self.prompt_output = prompt_output
        self.non_interactive = non_interactive
        self.handoff = handoff
        self._read_key = read_key

    # ------------------------------------------------------------------ consoles
    def _out_console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self._out, highlight=False)
        return self._console

    def _error_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(file=self._err, highlight=False)
        return self._err_console

    # ------------------------------------------------------------------ Host protocol
    @property
    def width(self) -> int:
        """Display width in columns (the terminal's, re-read on every call)."""
        if self._console is not None:
            return self._console.width
        env = os.environ.get("COLUMNS")
        if env and env.isdigit() and int(env) > 0:
            return int(env)
        try:
            return os.get_terminal_size(self._out.fileno()).columns or 120
        except (OSError, AttributeError, ValueError):
            return 120

    def write_format(self, blocks: Sequence[Block]) -> None:
        """Show formatted success output: rich colours, or plain text."""
        self._clear_bar()
        if self.plain:
            from pjsh.runtime.formatting import render_text

            self._write(self._out, render_text(blocks, self.width))
            return
        from pjsh.render.rich_render import render_blocks

        render_blocks(blocks, self._out_console())

    def write_error(self, record: ErrorRecord) -> None:
        """Show an error record in red (plain text without colour)."""
        self._clear_bar()
        self._flush_out()
        if self.plain:
            self._write(self._err, record.describe() + "\n")
            self._err.flush()
            return
        from pjsh.render.rich_render import render_error

        render_error(record, self._error_console())

    def write_stream(self, stream: str, text: str) -> None:
        """Show a warning/verbose/debug message with its label, or information text."""
        self._clear_bar()
        if stream == INFORMATION:
            self._write(self._out, text + "\n")
            self._out.flush()
            return
        self._flush_out()
        line = f"{stream.upper()}: {text}"
        style = STREAM_STYLES.get(stream)
        if self.plain or style is None:
            self._write(self._err, line + "\n")
            self._err.flush()
            return
        from rich.text import Text

        self._error_console().print(Text(line, style=style), soft_wrap=True, highlight=False)

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        """Write-Host: the text as given, in the requested ConsoleColors."""
        self._clear_bar()
        end = "\n" if newline else ""
        style = None if self.plain else console_style(fg, bg)
        if style is None:
            # Unstyled text goes out untouched, so escape sequences and \r work as typed.
            self._write(self._out, text + end)
            self._out.flush()
            return
        from rich.text import Text

        self._out_console().print(Text(text, style=style), end=end, soft_wrap=True,
                                  highlight=False)

    def write_progress(self, record: object) -> None:
        """Draw (or, for a Completed record, remove) the one-line progress bar."""
        if not self.show_progress:
            return
        from pjsh.runtime.values import lookup_property

        _, activity_id = lookup_property(record, "ActivityId")
        _, record_type = lookup_property(record, "RecordType")
        # As PowerShell's host: an activity is identified by its source and its id.
        source_id = getattr(record, "SourceId", 0)
        key = (source_id if isinstance(source_id, int) else 0,
               activity_id if isinstance(activity_id, int) else 0)
        self._activities.pop(key, None)
        if str(record_type) != "Completed":
            self._activities[key] = record
        self._draw_bar()

    def native_stdio(self) -> tuple[int | None, int | None]:
        """Foreground natives inherit the terminal's stdout and stderr."""
        return 1, 2

    def flush(self) -> None:
        """Remove the progress bar and flush both streams before a native writes."""
        self._clear_bar()
        self._flush_out()
        try:
            self._err.flush()
        except (OSError, ValueError):
            pass

    def clear(self) -> None:
        """Clear-Host: clear the screen and put the cursor home."""
        self._clear_bar()
        if self._console is not None or not self.plain:
            self._out_console().clear()
        elif _isatty(self._out):
            self._write(self._out, "\x1b[H\x1b[2J")
            self._out.flush()

    def read_line(self, prompt: str) -> str:
        """Read-Host: a one-line prompt_toolkit prompt (its own history, never the shell's)."""
        return self._prompt(prompt, secret=False)

    def read_secret(self, prompt: str) -> str:
        """Read-Host -AsSecureString/-MaskInput: a password prompt (shown as ``*``)."""
        return self._prompt(prompt, secret=True)

    def confirm(self, caption: str, message: str, choices: Sequence[Choice] = YES_NO_ALL,
                default: int = 0) -> int:
        """A ShouldContinue question: caption and message, then pwsh's choice line."""
        if self.non_interactive:
            raise non_interactive_error()
        self.flush()
        return ask_choice(self.read_line, self._write_flushed, caption, message, choices,
                          default)

    @contextlib.contextmanager
    def terminal(self) -> Iterator[None]:
        """Give a process the terminal: the progress bar and any running prompt step aside
        (prompt_toolkit's in_terminal), then the hand-over hook runs around the process."""
        self.flush()
        with _prompt_aside():
            if self.handoff is None:
                yield
            else:
                with self.handoff():
                    yield

    def write_paged(self, text: str) -> None:
        """Out-Host -Paging: a screenful, then pwsh's paging prompt (space: page, enter:
        line, q: quit); plain output when stdout or stdin is not a terminal."""
        self._clear_bar()
        lines = text.splitlines(keepends=True)
        reader = self._read_key
        if reader is None and not (_isatty(self._out) and _isatty(sys.stdin)):
            self._write(self._out, text)
            self._flush_out()
            return
        key_reader = reader if reader is not None else _read_terminal_key
        page = max(1, self.height - 1)
        shown = 0
        step = page
        while shown < len(lines):
            chunk = lines[shown: shown + step]
            self._write(self._out, "".join(chunk))
            shown += len(chunk)
            if shown >= len(lines):
                break
            self._write(self._out, PAGING_PROMPT)
            self._flush_out()
            key = key_reader()
            self._write(self._out, _CLEAR_LINE)
            if key in ("q", "Q", "\x03", "\x04", ""):
                break
            step = 1 if key in ("\r", "\n") else page
        self._flush_out()

    @property
    def height(self) -> int:
        """Display height in rows (for paging)."""
        env = os.environ.get("LINES")
        if env and env.isdigit() and int(env) > 0:
            return int(env)
        try:
            return os.get_terminal_size(self._out.fileno()).lines or 24
        except (OSError, AttributeError, ValueError):
            return 24

    # ------------------------------------------------------------------ extras for the REPL
    def end_command(self) -> None:
        """A command line finished: forget its progress activities (pwsh removes its bars)."""
        self._activities.clear()
        self.flush()

    # ------------------------------------------------------------------ helpers
    def _prompt(self, prompt: str, secret: bool) -> str:
        if self.non_interactive:
            raise non_interactive_error()
        self.flush()
        from prompt_toolkit import PromptSession
        from prompt_toolkit.formatted_text import ANSI

        # A fresh session each time with an in-memory history: what is typed here (a
        # password above all) never reaches the shell's history file.
        session: PromptSession[str] = PromptSession(input=self.prompt_input,
                                                    output=self.prompt_output)
        try:
            return session.prompt(ANSI(prompt), is_password=secret)
        except EOFError:
            raise HostException("Cannot read input: the input has ended (Ctrl+D).") from None

    def _write_flushed(self, text: str) -> None:
        self._write(self._out, text)
        self._flush_out()

    def _draw_bar(self) -> None:
        if not self._activities:
            self._clear_bar()
            return
        record = next(reversed(self._activities.values()))
        self._write(self._err, _CLEAR_LINE + progress_line(record, self.width))
        self._err.flush()
        self._bar_drawn = True

    def _clear_bar(self) -> None:
        # Any other output first erases the bar, so text never lands on top of it; the next
        # progress record draws it again below that text.
        if self._bar_drawn:
            self._bar_drawn = False
            self._write(self._err, _CLEAR_LINE)
            self._err.flush()

    def _flush_out(self) -> None:
        try:
            self._out.flush()
        except (OSError, ValueError):
            pass

    @staticmethod
    def _write(stream: IO[str], text: str) -> None:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.write(text.encode(encoding, "replace").decode(encoding, "replace"))


@contextlib.contextmanager
def _prompt_aside() -> Iterator[None]:
    """Suspend a prompt_toolkit application running on another thread for the duration
    (its in_terminal(): the input line is erased, the terminal left in cooked mode)."""
    from prompt_toolkit.application.current import get_app_or_none

    app = get_app_or_none()
    loop = getattr(app, "loop", None)
    import asyncio
    import threading

    try:
        current = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    # On the application's own thread it cannot be waited for (that would deadlock).
    if app is None or not app.is_running or loop is None or loop is current:
        yield
        return

    from prompt_toolkit.application.run_in_terminal import in_terminal

    entered = threading.Event()
    release = threading.Event()

    async def hold() -> None:
        async with in_terminal():
            entered.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait)

    future = asyncio.run_coroutine_threadsafe(hold(), loop)
    entered.wait()
    try:
        yield
    finally:
        release.set()
        future.result()


def _read_terminal_key() -> str:
    """One key from stdin in raw mode (Out-Host -Paging)."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        return os.read(fd, 1).decode("utf-8", "replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
