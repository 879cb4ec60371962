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


HOST_TAG = "PSHOST"
INFORMATION_RECORD = "System.Management.Automation.InformationRecord"


def information_record(message: object, tags: Sequence[str] = ()) -> object:
    """An InformationRecord for a job's information stream: the message and its tags
    (``PSHOST`` marks Write-Host text, which Receive-Job shows whatever the preference)."""
    from pjsh.runtime.values import PSObject

    return PSObject({"MessageData": message, "Tags": list(tags), "Source": ""},
                    (INFORMATION_RECORD, "System.Object"))


def split_information(value: object) -> tuple[object, list[str]]:
    """(message, tags) of a stored information record; any other value has no tags."""
    from pjsh.runtime.values import lookup_property, type_names

    if any(n.endswith(INFORMATION_RECORD) for n in type_names(value)):
        _, message = lookup_property(value, "MessageData")
        _, tags = lookup_property(value, "Tags")
        return message, [str(t) for t in tags] if isinstance(tags, list) else []
    return value, []


class JobScriptFailed(Exception):
    """A job's script ended with a terminating error; the message is the job's Reason.

    ``record`` is the error record when there is one; ``in_stream`` says it is already in the
    job's error stream, so Receive-Job must not report the failure a second time.
    """

    def __init__(self, reason: str, record: object = None, in_stream: bool = False) -> None:
        super().__init__(reason)
        self.record = record
        self.in_stream = in_stream


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
            self.writer.write_information(information_record(text))

    def write_host(self, text: str, newline: bool = True, fg: str | None = None,
                   bg: str | None = None) -> None:
        # As in PowerShell, Write-Host in a job lands on the information stream, tagged.
        self.writer.write_information(information_record(text, (HOST_TAG,)), (HOST_TAG,))

    def write_progress(self, record: object) -> None:
        self.writer.write_progress(record)

    def native_stdio(self) -> tuple[int | None, int | None]:
        return None, None

    def flush(self) -> None:
        return

    def clear(self) -> None:
        return
