"""The host protocol: how the engine shows output and errors, and hands a process the terminal.

The engine only talks to a :class:`Host`. The console host (``pjsh.repl``) renders with rich;
:class:`StreamHost` writes plain text to file descriptors (scripted mode, ``-c``, pipes);
:class:`MemoryHost` records everything for tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pjsh.lang.record import dataclass, field
from pjsh.runtime.errors import ErrorRecord

if TYPE_CHECKING:
    from pjsh.runtime.formatting import Block

# Stream names used by write_stream.
WARNING = "Warning"
VERBOSE = "Verbose"
DEBUG = "Debug"
INFORMATION = "Information"


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


def _plain_progress(record: object) -> str:
    from pjsh.runtime.values import lookup_property

    _, activity = lookup_property(record, "Activity")
    _, status = lookup_property(record, "StatusDescription")
    return f"{activity}: {status}" if status else str(activity)


class StreamHost:
    """Plain-text host over file descriptors: uncoloured, no prompts (scripted mode, -c)."""

    def __init__(self, out_fd: int = 1, err_fd: int = 2, width: int | None = None) -> None:
        self.out_fd = out_fd
        self.err_fd = err_fd
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


@dataclass
class MemoryHost:
    """A host that records what it is given, for tests and for capturing output."""

    blocks: list[object] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    streams: list[tuple[str, str]] = field(default_factory=list)
    progress: list[object] = field(default_factory=list)
    columns: int = 120

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

    @property
    def output(self) -> str:
        """Everything shown as text so far."""
        return "".join(self.text)
