"""The rich rendering of the format model: same layout as plain text, PowerShell's colours."""

from __future__ import annotations

import io

from rich.console import Console

from pjsh.render.rich_render import (
    ERROR_STYLE,
    TABLE_HEADER_STYLE,
    blocks_to_text,
    render_blocks,
    render_error,
)
from pjsh.runtime.errors import make_error
from pjsh.runtime.formatting import (
    Block,
    Column,
    ListBlock,
    OutDefault,
    TableBlock,
    TextBlock,
    build_blocks,
    render_text,
)
from pjsh.runtime.values import PSObject


class FakeJob:
    """A job-shaped object for the default Job view."""

    ps_type_names = ("System.Management.Automation.Job",)
    ps_property_names = ("Id", "Name", "PSJobTypeName", "State", "HasMoreData", "Location",
                         "Command")

    def __init__(self, job_id: int, command: str) -> None:
        self.Id = job_id
        self.Name = f"Job{job_id}"
        self.PSJobTypeName = "BackgroundJob"
        self.State = "Running"
        self.HasMoreData = True
        self.Location = "localhost"
        self.Command = command


def plain_console(width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, color_system=None), buffer


def colour_console(width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system="standard", force_terminal=True)
    return console, buffer


def test_job_table_cells_and_truncation() -> None:
    console, out = plain_console(120)
    render_blocks(build_blocks([FakeJob(1, "abcdefghijklmnopqrstuvwxyz012345")]), console)
    lines = out.getvalue().split("\n")
    assert lines[0] == ""
    assert lines[1].split() == ["Id", "Name", "PSJobTypeName", "State", "HasMoreData",
                                "Location", "Command"]
    assert lines[3].split() == ["1", "Job1", "BackgroundJob", "Running", "True", "localhost",
                                "abcdefghijklmnopqrstuvwxyz012…"]


def test_rich_output_equals_the_plain_text_rendering() -> None:
    blocks: list[Block] = [
        *build_blocks([FakeJob(1, " Start-Sleep 10"), FakeJob(2, "x" * 40)]),
        TextBlock(("some text",)),
        ListBlock(((("Name", "a"), ("Reason", "line one\nline two")),)),
        TableBlock((Column("N", None, "right"), Column("Value", None)), (("1", "v" * 200),)),
    ]
    for width in (40, 80, 120):
        console, out = plain_console(width)
        render_blocks(blocks, console)
        assert out.getvalue() == render_text(blocks, width)


def test_table_is_laid_out_for_the_console_width() -> None:
    console, out = plain_console(50)
    render_blocks(build_blocks([FakeJob(1, "cmd")]), console)
    assert all(len(line) <= 50 for line in out.getvalue().split("\n"))
    assert "Location" not in out.getvalue()


def test_header_and_dashes_are_bold_green() -> None:
    text = blocks_to_text([TableBlock((Column("Id", 3),), (("1",),))], 80)
    styled = {text.plain[span.start:span.end]: str(span.style) for span in text.spans}
    assert styled == {"Id": TABLE_HEADER_STYLE, "--": TABLE_HEADER_STYLE}
    console, out = colour_console(80)
    render_blocks([TableBlock((Column("Id", 3),), (("1",),))], console)
    assert "\x1b[1;32mId\x1b[0m" in out.getvalue()
    assert "1\n" in out.getvalue()


def test_list_labels_are_accented() -> None:
    text = blocks_to_text([ListBlock(((("Name", "x"),),))], 80)
    assert [text.plain[s.start:s.end] for s in text.spans] == ["Name"]


def test_markup_in_data_is_printed_literally() -> None:
    console, out = plain_console(80)
    data = "[bold red]not markup[/] :smile: 1.5"
    render_blocks(build_blocks([data, PSObject({"v": data})]), console)
    assert out.getvalue().count(data) == 2


def test_long_text_lines_are_not_wrapped_by_rich() -> None:
    console, out = plain_console(20)
    render_blocks([TextBlock(("y" * 50,))], console)
    assert out.getvalue() == "y" * 50 + "\n"


def test_nothing_is_printed_for_no_blocks() -> None:
    console, out = plain_console(80)
    render_blocks([], console)
    render_blocks(build_blocks([None]), console)
    assert out.getvalue() == ""


def test_streamed_job_rows_render_as_one_table() -> None:
    console, out = plain_console(120)
    stream = OutDefault(lambda blocks: render_blocks(blocks, console))
    jobs = [FakeJob(1, "a"), FakeJob(2, "b")]
    for job in jobs:
        stream.add(job)
    stream.flush()
    assert out.getvalue() == render_text(build_blocks(jobs), 120)


def test_error_is_printed_in_red() -> None:
    record = make_error("The command cannot find a job with the job ID 99.", command="Get-Job")
    console, out = plain_console(80)
    render_error(record, console)
    assert out.getvalue() == "Get-Job: The command cannot find a job with the job ID 99.\n"
    console, out = colour_console(80)
    render_error(record, console)
    assert ERROR_STYLE == "red"
    assert out.getvalue().startswith("\x1b[31mGet-Job: ")
