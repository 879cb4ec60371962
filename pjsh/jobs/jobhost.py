"""The host a job's engine runs under: every stream goes to a writer, nothing to a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from pjsh.runtime.errors import ErrorRecord
from pjsh.runtime.host import YES_NO_ALL, Choice, HostException

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
    """A Host for code running as a job: records, not text; natives are captured; prompts
    fail at once (no user watches a job)."""

    def __init__(self, writer: StreamWriter, job_name: str | None = None) -> None:
        self.writer = writer
        if job_name is None:
            job = getattr(writer, "job", None)
            job_name = getattr(job, "name", None)
        self.job_name = job_name

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

    def read_line(self, prompt: str) -> str:
        """Jobs cannot prompt: fail at once, naming the job."""
        raise self._cannot_prompt(prompt)

    def read_secret(self, prompt: str) -> str:
        """Jobs cannot prompt: fail at once, naming the job."""
        raise self._cannot_prompt(prompt)

    def confirm(self, caption: str, message: str, choices: Sequence[Choice] = YES_NO_ALL,
                default: int = 0) -> int:
        """Jobs cannot ask for confirmation: fail at once, naming the job."""
        raise self._cannot_prompt(message or caption)

    @contextlib.contextmanager
    def terminal(self) -> Iterator[None]:
        """A job never owns the terminal: nothing to hand over."""
        yield

    def write_paged(self, text: str) -> None:
        """No one pages a job's output: each line is output."""
        for line in text.splitlines():
            self.writer.write_output(line)

    def _cannot_prompt(self, prompt: str) -> HostException:
        who = f"job '{self.job_name}'" if self.job_name else "a background job"
        asked = prompt.strip().rstrip(":").strip()
        what = f" (the prompt was '{asked}')" if asked else ""
        # pwsh's words for a host without user interaction, naming the job that asked.
        return HostException(
            f"A command that prompts the user failed because {who} does not support user "
            f"interaction{what}. Pass the value to the job as an argument instead.",
            "System.Management.Automation.Host.HostException", "ResourceUnavailable")
