"""The host protocol: how the engine shows output and errors, asks the user for input, and
hands a process the terminal.

The engine only talks to a :class:`Host`. The console host (``pjsh.repl``) renders with rich and
prompts with prompt_toolkit; :class:`StreamHost` writes plain text to file descriptors and reads
answers from stdin (scripted mode, ``-c``, pipes); :class:`MemoryHost` records everything and
answers prompts from a script, for tests. A host that cannot ask (``-NonInteractive``, a job, no
input left) raises :class:`HostException` at once: a prompt never waits for input that cannot
come.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Protocol

from pjsh.lang.record import dataclass, field
from pjsh.runtime.errors import ErrorRecord

if TYPE_CHECKING:
    from pjsh.runtime.formatting import Block

# Stream names used by write_stream.
WARNING = "Warning"
VERBOSE = "Verbose"
DEBUG = "Debug"
INFORMATION = "Information"

# pwsh's words when -NonInteractive meets Read-Host or a confirmation prompt.
NON_INTERACTIVE_MESSAGE = ("PowerShell is in NonInteractive mode. Read and Prompt functionality "
                           "is not available.")
NON_INTERACTIVE_ERROR_ID = "System.Management.Automation.PSInvalidOperationException"
NO_INPUT_ERROR_ID = "System.Management.Automation.Host.HostException"


class HostException(Exception):
    """The host cannot do what was asked (no user to prompt, input ended); raised at once,
    never after waiting. Cmdlets report it as a terminating error with its id and category."""

    def __init__(self, message: str, error_id: str = NO_INPUT_ERROR_ID,
                 category: str = "ResourceUnavailable") -> None:
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category


def non_interactive_error() -> HostException:
    """The error of a prompt under ``-NonInteractive`` (pwsh's message and exception type)."""
    return HostException(NON_INTERACTIVE_MESSAGE, NON_INTERACTIVE_ERROR_ID, "InvalidOperation")


@dataclass(frozen=True)
class Choice:
    """One answer of a confirmation prompt: ``&Yes`` (the ``&`` marks its hot key) and the
    line ``?`` shows for it."""

    label: str
    help: str = ""

    @property
    def hotkey(self) -> str:
        """The key that picks this choice (the letter after ``&``, else the first letter)."""
        at = self.label.find("&")
        if 0 <= at < len(self.label) - 1:
            return self.label[at + 1].upper()
        return self.label[:1].upper()

    @property
    def text(self) -> str:
        """The label without its ``&``."""
        return self.label.replace("&", "", 1)


# ShouldContinue's choices, in pwsh's order.
YES = Choice("&Yes", "Continue with only the next step of the operation.")
YES_TO_ALL = Choice("Yes to &All", "Continue with all the steps of the operation.")
NO = Choice("&No", "Skip this operation and proceed with the next operation.")
NO_TO_ALL = Choice("No to A&ll", "Skip this operation and all subsequent operations.")
YES_NO: tuple[Choice, ...] = (YES, NO)
YES_NO_ALL: tuple[Choice, ...] = (YES, YES_TO_ALL, NO, NO_TO_ALL)


def choice_prompt(choices: Sequence[Choice], default: int = 0) -> str:
    """pwsh's choice line: ``[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help
    (default is "Y"): ``."""
    parts = [f"[{c.hotkey}] {c.text}" for c in choices]
    text = "  ".join([*parts, "[?] Help"])
    if 0 <= default < len(choices):
        text += f' (default is "{choices[default].hotkey}")'
    return text + ": "


def match_choice(answer: str, choices: Sequence[Choice], default: int = 0) -> int | None:
    """The index an answer picks: empty is the default, else a hot key or a whole label
    (any case); None when it picks nothing (the prompt is asked again)."""
    text = answer.strip()
    if not text:
        return default if 0 <= default < len(choices) else None
    for i, c in enumerate(choices):
        if text.upper() == c.hotkey or text.lower() == c.text.lower():
            return i
    return None


def ask_choice(read: Callable[[str], str], write: Callable[[str], None], caption: str,
               message: str, choices: Sequence[Choice], default: int = 0) -> int:
    """Ask until an answer picks a choice (``?`` lists their help), as pwsh's PromptForChoice;
    every host builds its ``confirm`` on this with its own ``read_line``."""
    if caption:
        write(caption + "\n")
    if message:
        write(message + "\n")
    while True:
        answer = read(choice_prompt(choices, default))
        if answer.strip() == "?":
            for c in choices:
                write(f"{c.hotkey} - {c.help or c.text}\n")
            continue
        picked = match_choice(answer, choices, default)
        if picked is not None:
            return picked


class Host(Protocol):
    """What the engine needs from whoever shows its output."""

    def write_format(self, blocks: Sequence[Block]) -> None:
        """Show formatted success output (tables, lists, text lines)."""

    def write_error(self, record: ErrorRecord) -> None:
        """Show an error record."""

    def write_stream(self, stream: str, text: str) -> None:
        """Show a warning, verbose, debug or information message."""

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        """Write-Host: text straight to the display."""

    def write_progress(self, record: object) -> None:
        """Show or update a progress record."""

    def native_stdio(self) -> tuple[int | None, int | None]:
        """File descriptors a foreground native may inherit for stdout and stderr
        (None: its output must be captured and shown through this host)."""

    def flush(self) -> None:
        """Flush buffered text before a native process writes to the same descriptor."""

    @property
    def width(self) -> int:
        """Display width in columns."""

    def clear(self) -> None:
        """Clear the screen (Clear-Host)."""

    def read_line(self, prompt: str) -> str:
        """Show ``prompt`` and read one line (without its newline); HostException when no
        user can answer."""

    def read_secret(self, prompt: str) -> str:
        """As :meth:`read_line` without echo; the text never reaches history, logs or
        transcripts."""

    def confirm(self, caption: str, message: str, choices: Sequence[Choice] = YES_NO_ALL,
                default: int = 0) -> int:
        """Ask a ShouldContinue-style question; the index of the chosen answer."""

    def terminal(self) -> contextlib.AbstractContextManager[None]:
        """Within this context a process owns the terminal (the prompt, progress bar and
        notices step aside)."""

    def write_paged(self, text: str) -> None:
        """Out-Host -Paging: show text a screenful at a time where the user can page (plain
        output elsewhere)."""


def _plain_progress(record: object) -> str:
    from pjsh.runtime.values import lookup_property

    _, activity = lookup_property(record, "Activity")
    _, status = lookup_property(record, "StatusDescription")
    return f"{activity}: {status}" if status else str(activity)


class StreamHost:
    """Plain-text host over file descriptors: uncoloured (scripted mode, -c). Prompts read
    lines from ``input`` (stdin: in scripted mode the line after the statement that asks);
    with ``non_interactive`` or no input they fail at once."""

    def __init__(self, out_fd: int = 1, err_fd: int = 2, width: int | None = None, *,
                 input: IO[bytes] | None = None, non_interactive: bool = False) -> None:
        self.out_fd = out_fd
        self.err_fd = err_fd
        self.input = input
        self.non_interactive = non_interactive
        self._out = open(out_fd, "w", encoding="utf-8", errors="surrogateescape",  # noqa: SIM115
                         closefd=False, buffering=1 << 16)
        self._err = open(err_fd, "w", encoding="utf-8", errors="surrogateescape",  # noqa: SIM115
                         closefd=False, buffering=1 << 16)
        self._width = width

    @property
    def width(self) -> int:
        if not self._width:
            # Asked once: batch output rarely changes width, and asking per table is costly.
            env = os.environ.get("COLUMNS")
            if env and env.isdigit():
                self._width = int(env)
            else:
                try:
                    self._width = os.get_terminal_size(self.out_fd).columns
                except OSError:
                    self._width = 120
        return self._width

    def write_format(self, blocks: Sequence[Block]) -> None:
        from pjsh.runtime.formatting import render_text

        self._write(self._out, render_text(blocks, self.width))

    def write_error(self, record: ErrorRecord) -> None:
        self._out.flush()
        self._write(self._err, record.describe() + "\n")
        self._err.flush()

    def write_stream(self, stream: str, text: str) -> None:
        if stream == INFORMATION:
            self._write(self._out, text + "\n")
            return
        self._out.flush()
        self._write(self._err, f"{stream.upper()}: {text}\n")
        self._err.flush()

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        self._write(self._out, text + ("\n" if newline else ""))

    def write_progress(self, record: object) -> None:
        # Progress bars only make sense on a terminal; pipes and files get nothing, like pwsh.
        return

    def native_stdio(self) -> tuple[int | None, int | None]:
        return self.out_fd, self.err_fd

    def flush(self) -> None:
        self._out.flush()
        self._err.flush()

    def clear(self) -> None:
        if os.isatty(self.out_fd):
            self._write(self._out, "\x1b[H\x1b[2J")

    def read_line(self, prompt: str) -> str:
        """Write the prompt to stdout and read the next input line."""
        return self._read(prompt, secret=False)

    def read_secret(self, prompt: str) -> str:
        """As read_line; on a terminal the typed text is not echoed."""
        return self._read(prompt, secret=True)

    def confirm(self, caption: str, message: str, choices: Sequence[Choice] = YES_NO_ALL,
                default: int = 0) -> int:
        """Ask on stdout, read answers from the input."""
        if self.non_interactive:
            raise non_interactive_error()
        return ask_choice(self.read_line, lambda text: self._write(self._out, text), caption,
                          message, choices, default)

    @contextlib.contextmanager
    def terminal(self) -> Iterator[None]:
        """Nothing to step aside for: flush what is buffered, so the process writes after it."""
        self.flush()
        yield

    def write_paged(self, text: str) -> None:
        """No one to page for: plain output."""
        self._write(self._out, text)

    def _read(self, prompt: str, secret: bool) -> str:
        if self.non_interactive:
            raise non_interactive_error()
        stream = self.input
        if stream is None:
            raise HostException("Cannot read input: this host has no input stream.")
        self._write(self._out, prompt)
        self.flush()
        tty = _isatty(stream)
        try:
            raw = _read_hidden(stream) if secret and tty else stream.readline()
        except (OSError, ValueError) as e:
            raise HostException(f"Cannot read input: {e}.") from None
        if not raw:
            self._write(self._out, "\n")
            self._out.flush()
            raise HostException("Cannot read input: the input has ended (there is no line "
                                "left to answer the prompt).")
        if not tty or secret:
            # Piped answers (and hidden ones) leave the cursor after the prompt: end the line.
            self._write(self._out, "\n")
            self._out.flush()
        line = raw.decode("utf-8", "surrogateescape")
        line = line.rstrip("\n")
        return line[:-1] if line.endswith("\r") else line  # str.removesuffix is 3.9+

    def _write(self, stream: object, text: str) -> None:
        try:
            stream.write(text)  # type: ignore[attr-defined]
        except BrokenPipeError:
            # The reader went away (`pjsh -c ... | head`): stop writing quietly, like bash.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out_fd)
                os.close(devnull)
            except OSError:
                pass
            sys.exit(141)


def _isatty(stream: IO[bytes]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _read_hidden(stream: IO[bytes]) -> bytes:
    """A line from a terminal with echo off (restored even when interrupted)."""
    import termios

    fd = stream.fileno()
    old = termios.tcgetattr(fd)
    new = list(old)
    new[3] = new[3] & ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSAFLUSH, new)
    try:
        return stream.readline()
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)


@dataclass
class MemoryHost:
    """A host that records what it is given, for tests and for capturing output."""

    blocks: list[object] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    streams: list[tuple[str, str]] = field(default_factory=list)
    progress: list[object] = field(default_factory=list)
    columns: int = 120
    # Scripted answers for prompts, taken in order; with none left a prompt fails at once.
    answers: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    non_interactive: bool = False
    # How many times a process was given the terminal (terminal() entered).
    terminal_handoffs: int = 0

    @property
    def width(self) -> int:
        return self.columns

    def write_format(self, blocks: Sequence[Block]) -> None:
        from pjsh.runtime.formatting import render_text

        self.blocks.extend(blocks)
        self.text.append(render_text(blocks, self.columns))

    def write_error(self, record: ErrorRecord) -> None:
        self.errors.append(record)

    def write_stream(self, stream: str, text: str) -> None:
        self.streams.append((stream, text))
        if stream == INFORMATION:
            self.text.append(text + "\n")

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        self.text.append(text + ("\n" if newline else ""))

    def write_progress(self, record: object) -> None:
        self.progress.append(record)

    def native_stdio(self) -> tuple[int | None, int | None]:
        return None, None

    def flush(self) -> None:
        return

    def clear(self) -> None:
        self.text.clear()

    def read_line(self, prompt: str) -> str:
        """The next scripted answer; the prompt and the answer are recorded as shown."""
        answer = self._answer(prompt)
        self.text.append(prompt + answer + "\n")
        return answer

    def read_secret(self, prompt: str) -> str:
        """The next scripted answer; only the prompt is recorded, never the secret."""
        answer = self._answer(prompt)
        self.text.append(prompt + "\n")
        return answer

    def confirm(self, caption: str, message: str, choices: Sequence[Choice] = YES_NO_ALL,
                default: int = 0) -> int:
        """Answer from the script, as the console would read it."""
        if self.non_interactive:
            raise non_interactive_error()
        return ask_choice(self.read_line, self.text.append, caption, message, choices, default)

    @contextlib.contextmanager
    def terminal(self) -> Iterator[None]:
        """Count the hand-over (tests check a process was given the terminal)."""
        self.terminal_handoffs += 1
        yield

    def write_paged(self, text: str) -> None:
        """Recorded as plain output."""
        self.text.append(text)

    def _answer(self, prompt: str) -> str:
        if self.non_interactive:
            raise non_interactive_error()
        self.prompts.append(prompt)
        if not self.answers:
            raise HostException("Cannot read input: no scripted answer is left.")
        return self.answers.pop(0)

    @property
    def output(self) -> str:
        """Everything shown as text so far."""
        return "".join(self.text)
