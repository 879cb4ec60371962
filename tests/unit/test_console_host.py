"""The console host renders the engine's output for a terminal: rich colours, plain text without."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from pjsh.commands.output import ProgressRecord
from pjsh.engine import local_options
from pjsh.repl.console_host import ConsoleHost, console_style, progress_line
from pjsh.runtime.errors import make_error
from pjsh.runtime.formatting import Column, TableBlock, TextBlock, render_text
from pjsh.runtime.runspace import create_runspace

TABLE = TableBlock(
    [Column("Id", 4, "right"), Column("Name", 10, "left")],
    [["1", "alpha"], ["2", "beta"]],
)


def plain_console() -> Console:
    """A rich console on a string buffer, no colours (what rich's own tests use)."""
    return Console(file=io.StringIO(), width=80, color_system=None)


def color_console() -> Console:
    """A rich console on a string buffer that emits standard ANSI colours."""
    return Console(file=io.StringIO(), width=80, color_system="standard", force_terminal=True)


def output(console: Console) -> str:
    """Everything written to a buffer console."""
    buffer = console.file
    assert isinstance(buffer, io.StringIO)
    return buffer.getvalue()


# ------------------------------------------------------------------ success output
def test_tables_render_with_the_shared_layout() -> None:
    console = plain_console()
    ConsoleHost(console=console).write_format([TABLE])
    assert output(console) == render_text([TABLE], 80)


def test_table_headers_are_coloured_on_a_colour_terminal() -> None:
    console = color_console()
    ConsoleHost(console=console).write_format([TABLE])
    text = output(console)
    assert "\x1b[1;32m  Id Name\x1b[0m" in text  # bold green header, as $PSStyle has it
    assert "alpha" in text


def test_no_color_gives_exactly_the_plain_text_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out, err = io.StringIO(), io.StringIO()
    host = ConsoleHost(out, err)
    assert host.plain
    host.write_format([TABLE, TextBlock(["done"])])
    error = make_error("Something failed.", "Failed")
    host.write_error(error)
    host.write_host("hello", fg="Red")
    assert out.getvalue() == render_text([TABLE, TextBlock(["done"])], host.width) + "hello\n"
    assert err.getvalue() == error.describe() + "\n"
    assert "\x1b[" not in out.getvalue() + err.getvalue()


def test_output_that_is_not_a_terminal_is_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    host = ConsoleHost(io.StringIO(), io.StringIO())
    assert host.plain


def test_plain_width_comes_from_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "57")
    assert ConsoleHost(io.StringIO(), io.StringIO()).width == 57


def test_width_is_the_consoles() -> None:
    assert ConsoleHost(console=Console(file=io.StringIO(), width=66)).width == 66


# ------------------------------------------------------------------ errors and streams
def test_errors_are_red_on_the_error_console() -> None:
    out, err = color_console(), color_console()
    error = make_error("Boom.", "Boom")
    ConsoleHost(console=out, err_console=err).write_error(error)
    assert output(out) == ""
    assert output(err) == f"\x1b[31m{error.describe()}\x1b[0m\n"


def test_warning_verbose_and_debug_are_labelled_in_yellow() -> None:
    err = color_console()
    host = ConsoleHost(console=color_console(), err_console=err)
    host.write_stream("Warning", "careful")
    host.write_stream("Verbose", "details")
    host.write_stream("Debug", "internals")
    text = output(err)
    for label in ("WARNING: careful", "VERBOSE: details", "DEBUG: internals"):
        assert f"\x1b[1;33m{label}\x1b[0m" in text


def test_labels_without_colour() -> None:
    console = plain_console()
    ConsoleHost(console=console).write_stream("Warning", "careful")
    assert output(console) == "WARNING: careful\n"


def test_information_is_plain_text_on_stdout() -> None:
    out, err = plain_console(), plain_console()
    ConsoleHost(console=out, err_console=err).write_stream("Information", "note")
    assert (output(out), output(err)) == ("note\n", "")


# ------------------------------------------------------------------ Write-Host
@pytest.mark.parametrize(("fg", "bg", "style"), [
    ("Red", None, "bright_red"),
    ("DarkRed", None, "red"),
    ("gray", None, "white"),
    ("DarkGray", "DarkBlue", "bright_black on blue"),
    (None, "Yellow", "on bright_yellow"),
    (None, None, None),
])
def test_console_colors_map_to_ansi_like_pwsh_on_unix(fg: str | None, bg: str | None,
                                                      style: str | None) -> None:
    assert console_style(fg, bg) == style


def test_write_host_colours_the_text() -> None:
    console = color_console()
    ConsoleHost(console=console).write_host("hi", fg="Red")
    assert output(console) == "\x1b[91mhi\x1b[0m\n"


def test_write_host_without_colour_passes_text_through_untouched() -> None:
    console = plain_console()
    host = ConsoleHost(console=console)
    host.write_host("a\rb", newline=False)
    host.write_host("!")
    assert output(console) == "a\rb!\n"


# ------------------------------------------------------------------ progress
def record(percent: int = 40, completed: bool = False, activity: str = "Copying") -> ProgressRecord:
    """A progress record like Write-Progress makes."""
    return ProgressRecord(Activity=activity, StatusDescription="file 3", PercentComplete=percent,
                          RecordType="Completed" if completed else "Processing")


def test_progress_line_shows_activity_bar_percent_and_status() -> None:
    line = progress_line(record(40), 80)
    assert line.startswith("Copying [")
    assert line.endswith("]  40% file 3")
    assert line.count("=") == 12


def test_progress_line_never_wraps() -> None:
    assert len(progress_line(record(activity="x" * 200), 50)) == 49


def test_progress_is_drawn_in_place_and_removed_when_completed() -> None:
    console = plain_console()
    host = ConsoleHost(console=console, progress=True)
    host.write_progress(record(10))
    host.write_progress(record(50))
    host.write_progress(record(completed=True))
    text = output(console)
    assert text.count("\r\x1b[2KCopying [") == 2
    assert text.endswith("\r\x1b[2K")  # the completed record erased the bar
    assert "\n" not in text


def test_other_output_erases_the_bar_first() -> None:
    console = plain_console()
    host = ConsoleHost(console=console, progress=True)
    host.write_progress(record(10))
    host.write_host("line")
    assert output(console).endswith("% file 3\r\x1b[2Kline\n")


def test_end_of_command_removes_a_bar_left_behind() -> None:
    console = plain_console()
    host = ConsoleHost(console=console, progress=True)
    host.write_progress(record(10))
    host.end_command()
    assert output(console).endswith("\r\x1b[2K")


def test_no_progress_when_not_on_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    ConsoleHost(out, err).write_progress(record())
    assert err.getvalue() == ""


# ------------------------------------------------------------------ terminal
def test_natives_inherit_the_terminal() -> None:
    assert ConsoleHost(console=plain_console()).native_stdio() == (1, 2)


def test_clear_sends_the_clear_screen_sequence_to_a_terminal() -> None:
    console = color_console()
    ConsoleHost(console=console).clear()
    assert "\x1b[2J" in output(console)


def test_runspace_output_goes_through_the_console_host() -> None:
    out, err = plain_console(), plain_console()
    rs = create_runspace(local_options(ConsoleHost(console=out, err_console=err)))
    rs.run("'hello'; Write-Warning 'mind the gap'; Write-Error 'bad thing'")
    assert output(out) == "hello\n"
    assert "WARNING: mind the gap" in output(err)
    assert "bad thing" in output(err)
