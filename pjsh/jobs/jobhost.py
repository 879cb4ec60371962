"""The host a job's engine runs under: every stream goes to a writer, nothing to a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pjsh.runtime.errors import ErrorRecord

if TYPE_CHECKING:
    from pjsh.runtime.formatting import Block


class StreamWriter(Protocol):
    """Where a job's records go (the thread backend's JobWriter, or the worker's pipe)."""

    def write_output(self, value: object) -> None:
        """Success output."""

    def write_error(self, record: object) -> None:
        """An error record."""

    def write_warning(self, text: str) -> None:
        """A warning."""

    def write_verbose(self, text: str) -> None:
        """A verbose message."""

    def write_debug(self, text: str) -> None:
        """A debug message."""

    def write_information(self, value: object, tags: Sequence[str] = ()) -> None:
        """An information record (Write-Host lands here too, as in PowerShell)."""

    def write_progress(self, record: object) -> None:
        """A progress record."""


class JobHost:
    """A Host for code running as a job: records, not text; natives are captured."""

    def __init__(self, writer: StreamWriter) -> None:
        self.writer = writer

    @property
    def width(self) -> int:
        return 120

    def write_format(self, blocks: Sequence[Block]) -> None:
        from pjsh.runtime.formatting import render_text

        for line in render_text(blocks, 120).splitlines():
            self.writer.write_output(line)

    def write_error(self, record: ErrorRecord) -> None:
        self.writer.write_error(record)

    def write_stream(self, stream: str, text: str) -> None:
        if stream == "Warning":
            self.writer.write_warning(text)
        elif stream == "Verbose":
            self.writer.write_verbose(text)
        elif stream == "Debug":
            self.writer.write_debug(text)
        else:
            self.writer.write_information(text)

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        self.writer.write_information(text, ("PSHOST",))

    def write_progress(self, record: object) -> None:
        self.writer.write_progress(record)

    def native_stdio(self) -> tuple[int | None, int | None]:
        return None, None

    def flush(self) -> None:
        return

    def clear(self) -> None:
        return
