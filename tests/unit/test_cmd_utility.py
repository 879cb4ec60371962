"""Start-Sleep, Clear-Host, Get-History and Get-Date."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from pjsh.commands import builtin_registry
from pjsh.commands.utility import (
    ClearHost,
    DateFormatError,
    GetDate,
    GetHistory,
    StartSleep,
    dotnet_date_format,
    uformat_date,
)
from pjsh.runtime.errors import PSRuntimeError
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import HistoryEntry, Session
from tests.fakes import FakeContext, fake_session, run_cmdlet
from tests.harness import run, show

# A Tuesday afternoon with milliseconds, in a fixed +02:00 zone.
WHEN = dt.datetime(2019, 6, 25, 16, 7, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))


@pytest.fixture()
def session() -> Session:
    return fake_session(host=MemoryHost())


# --- Start-Sleep -----------------------------------------------------------------------------


def test_start_sleep_waits_at_least_the_time_asked(session: Session) -> None:
    start = time.monotonic()
    run_cmdlet(StartSleep, {"Milliseconds": 60}, session=session)
    run_cmdlet(StartSleep, {"Seconds": 0.04}, session=session)
    assert time.monotonic() - start >= 0.1


def test_start_sleep_ends_early_when_the_pipeline_stops(session: Session) -> None:
    class Stopped(FakeContext):
        @property
        def stopping(self) -> bool:
            return True

    ctx = Stopped("Start-Sleep", session)
    cmd = StartSleep(ctx)  # type: ignore[arg-type]
    from pjsh.runtime.cmdlet import Bound

    start = time.monotonic()
    cmd.process(Bound({"Seconds": 30.0, "Milliseconds": None}, "Seconds"))
    assert time.monotonic() - start < 1


def test_start_sleep_validators_use_pwsh_range_messages() -> None:
    seconds = next(p for p in StartSleep.spec.params if p.name == "Seconds")
    assert seconds.validate is not None
    assert seconds.validate(-1) == (
        "The -1 argument is less than the minimum allowed range of 0. Supply an argument that "
        "is greater than or equal to 0 and then try the command again.")
    assert seconds.validate(1.5) is None


# --- Clear-Host ------------------------------------------------------------------------------


def test_clear_host_clears_the_host(session: Session) -> None:
    host = session.host
    assert isinstance(host, MemoryHost)
    host.write_host("old text")
    run_cmdlet(ClearHost, session=session)
    assert host.output == ""


# --- Get-History -----------------------------------------------------------------------------


@pytest.fixture()
def history_session(session: Session) -> Session:
    session.history.extend(HistoryEntry(i, f"cmd {i}") for i in range(1, 8))
    return session


def ids(ctx: FakeContext) -> list[int]:
    return [e.Id for e in ctx.output]  # type: ignore[attr-defined]


def test_get_history_lists_everything_oldest_first(history_session: Session) -> None:
    assert ids(run_cmdlet(GetHistory, session=history_session)) == [1, 2, 3, 4, 5, 6, 7]


def test_get_history_count_gives_the_most_recent(history_session: Session) -> None:
    assert ids(run_cmdlet(GetHistory, {"Count": 3}, session=history_session)) == [5, 6, 7]


def test_get_history_by_id_and_with_count(history_session: Session) -> None:
    assert ids(run_cmdlet(GetHistory, {"Id": [2, 5]}, session=history_session)) == [2, 5]
    assert ids(run_cmdlet(GetHistory, {"Id": [5], "Count": 3},
                          session=history_session)) == [3, 4, 5]


def test_get_history_missing_id_is_an_error(history_session: Session) -> None:
    ctx = run_cmdlet(GetHistory, {"Id": [99]}, session=history_session)
    assert ctx.errors[0].message == "Cannot locate the history for Id 99."
    assert ctx.errors[0].FullyQualifiedErrorId == (
        "GetHistoryNoHistoryForId,Microsoft.PowerShell.Commands.GetHistoryCommand")


def test_get_history_count_with_several_ids_is_terminating(history_session: Session) -> None:
    with pytest.raises(PSRuntimeError, match="The count cannot be combined with multiple Ids"):
        run_cmdlet(GetHistory, {"Id": [1, 2], "Count": 1}, session=history_session)


# --- Get-Date --------------------------------------------------------------------------------


def test_get_date_returns_now_as_a_datetime(session: Session) -> None:
    before = dt.datetime.now()
    [value] = run_cmdlet(GetDate, session=session).output
    assert isinstance(value, dt.datetime) and before <= value <= dt.datetime.now()


def test_get_date_adjusts_parts_and_rolls_days_over(session: Session) -> None:
    base = dt.datetime(2023, 1, 31, 10, 0, 0)
    [feb] = run_cmdlet(GetDate, {"Date": base, "Month": 2}, session=session).output
    [mar] = run_cmdlet(GetDate, {"Date": base, "Month": 2, "Day": 31}, session=session).output
    [t] = run_cmdlet(GetDate, {"Date": base, "Hour": 7, "Minute": 5, "Second": 1,
                               "Millisecond": 250}, session=session).output
    assert feb == dt.datetime(2023, 2, 28, 10, 0, 0)
    assert mar == dt.datetime(2023, 3, 3, 10, 0, 0)
    assert t == dt.datetime(2023, 1, 31, 7, 5, 1, 250000)


def test_dotnet_custom_formats() -> None:
    assert dotnet_date_format(WHEN, "dddd MM/dd/yyyy HH:mm K") == "Tuesday 06/25/2019 16:07 +02:00"
    assert dotnet_date_format(WHEN, "yyyy-MM-dd'T'HH:mm:ss.fff") == "2019-06-25T16:07:09.123"
    assert dotnet_date_format(WHEN, "h:m:s tt, ddd d MMM yy, zz z") == (
        "4:7:9 PM, Tue 25 Jun 19, +02 +2")
    assert dotnet_date_format(WHEN, "\\y\\e\\a\\r yyyy \"MM\" %d") == "year 2019 MM 25"
    assert dotnet_date_format(WHEN.replace(microsecond=500000), "ss.FFF") == "09.5"


def test_dotnet_standard_formats() -> None:
    assert dotnet_date_format(WHEN, "o") == "2019-06-25T16:07:09.1234560+02:00"
    assert dotnet_date_format(WHEN, "s") == "2019-06-25T16:07:09"
    assert dotnet_date_format(WHEN, "d") == "6/25/2019"
    assert dotnet_date_format(WHEN, "D") == "Tuesday, June 25, 2019"
    assert dotnet_date_format(WHEN, "T") == "4:07:09 PM"
    assert dotnet_date_format(WHEN, "R") == "Tue, 25 Jun 2019 14:07:09 GMT"
    with pytest.raises(DateFormatError):
        dotnet_date_format(WHEN, "q")


def test_uformat_specifiers() -> None:
    assert uformat_date(WHEN, "%A %m/%d/%Y %R %Z") == "Tuesday 06/25/2019 16:07 +02"
    assert uformat_date(WHEN, "%a %b %e %j %u %w %V %C %y %D %T %p %I") == (
        "Tue Jun 25 176 2 2 26 20 19 06/25/19 16:07:09 PM 04")
    assert uformat_date(WHEN, "%s") == "1561471629"
    assert uformat_date(WHEN, "%c") == "Tue Jun 25 16:07:09 2019"
    assert uformat_date(WHEN, "a%nb%tc") == "a\nb\tc"


def test_get_date_format_and_uformat_output_strings(session: Session) -> None:
    base = dt.datetime(2024, 2, 29, 13, 14, 15, 678900)
    assert run_cmdlet(GetDate, {"Date": base, "Format": "yyyy-MM-dd"},
                      session=session).output == ["2024-02-29"]
    assert run_cmdlet(GetDate, {"Date": base, "Format": "FileDateTime"},
                      session=session).output == ["20240229T1314156789"]
    assert run_cmdlet(GetDate, {"Date": base, "UFormat": "%F"},
                      session=session).output == ["2024-02-29"]


def test_get_date_bad_format_is_terminating(session: Session) -> None:
    with pytest.raises(PSRuntimeError, match="Input string was not in a correct format"):
        run_cmdlet(GetDate, {"Format": "q"}, session=session)


def test_get_date_unix_time_and_as_utc(session: Session) -> None:
    [value] = run_cmdlet(GetDate, {"UnixTimeSeconds": 1577836800, "AsUTC": True},
                         session=session).output
    assert value == dt.datetime(2020, 1, 1, 0, 0, 0)


def test_utility_aliases_follow_pwsh_on_linux() -> None:
    for alias, name in (("cls", "Clear-Host"), ("h", "Get-History"),
                        ("history", "Get-History"), ("ghy", "Get-History")):
        assert builtin_registry().aliases[alias] == name
    assert "sleep" not in StartSleep.spec.aliases and "clear" not in ClearHost.spec.aliases


def test_engine_formats_dates_and_sleeps() -> None:
    from tests.harness import run

    result = run("Get-Date -Date '2024-02-29 13:14:15' -Format 'dddd yyyy-MM-dd'; "
                 "Start-Sleep -Milliseconds 1; (Get-Date -UFormat %Y).Length")
    assert result.output == ["Thursday 2024-02-29", 4]


# --- Select-String ---------------------------------------------------------------------------


@pytest.fixture()
def text_dir(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("one\ntwo foo\nthree\nfour foo foo\nfive\nsix\nseven Foo\n")
    (tmp_path / "b.txt").write_text("bar\n")
    return tmp_path


def test_select_string_outputs_match_info_for_file_lines(text_dir: Path) -> None:
    r = run("Select-String foo a.txt", cwd=str(text_dir))
    assert [(m.LineNumber, m.Line, m.Filename, m.Pattern) for m in r.output] == [
        (2, "two foo", "a.txt", "foo"), (4, "four foo foo", "a.txt", "foo"),
        (7, "seven Foo", "a.txt", "foo")]
    assert r.output[0].Path == str(text_dir / "a.txt")


def test_select_string_shows_relative_path_line_number_and_line(text_dir: Path) -> None:
    text = show("sls foo *.txt", cwd=str(text_dir)).text
    assert text == "\na.txt:2:two foo\na.txt:4:four foo foo\na.txt:7:seven Foo\n\n"


def test_select_string_to_string_uses_the_full_path(text_dir: Path) -> None:
    r = run("(sls three a.txt).ToString()", cwd=str(text_dir))
    assert r.output == [f"{text_dir / 'a.txt'}:3:three"]


def test_select_string_piped_strings_show_just_the_line() -> None:
    r = show("'hello', 'Hello', 'goodbye' | Select-String hello")
    assert r.text == "\nhello\nHello\n\n"
    assert [m.Path for m in run("'x' | sls x").output] == ["InputStream"]


def test_select_string_case_sensitive() -> None:
    assert [m.Line for m in run("'hello','Hello' | sls hello -CaseSensitive").output] == ["hello"]


def test_select_string_multiple_patterns_any_matches() -> None:
    r = run("'a1','b2','c3' | sls a, c")
    assert [(m.Line, m.Pattern) for m in r.output] == [("a1", "a"), ("c3", "c")]


def test_select_string_simple_match_takes_the_pattern_literally() -> None:
    assert [m.Line for m in run("'a.c','abc' | sls a.c -SimpleMatch").output] == ["a.c"]


def test_select_string_not_match_outputs_the_other_lines() -> None:
    assert [m.Line for m in run("'x','y','xy' | sls x -NotMatch").output] == ["y"]


def test_select_string_all_matches_finds_every_match_on_a_line() -> None:
    r = run("$m = 'a1 a2 a3' | sls 'a(\\d)' -AllMatches; $m.Matches.Count; "
            "$m.Matches[1].Value; $m.Matches[2].Groups[1].Value")
    assert r.output == [3, "a2", "3"]
    assert run("('a1 a2' | sls 'a\\d').Matches.Count").output == [1]


def test_select_string_list_stops_at_the_first_match_per_file(text_dir: Path) -> None:
    (text_dir / "c.txt").write_text("foo\nfoo\n")
    r = run("sls foo a.txt, c.txt -List", cwd=str(text_dir))
    assert [(m.Filename, m.LineNumber) for m in r.output] == [("a.txt", 2), ("c.txt", 1)]


def test_select_string_quiet_is_true_or_nothing(text_dir: Path) -> None:
    assert run("sls foo a.txt -Quiet", cwd=str(text_dir)).output == [True]
    assert run("sls zzz a.txt -Quiet", cwd=str(text_dir)).output == []


def test_select_string_raw_outputs_strings(text_dir: Path) -> None:
    r = run("sls foo a.txt -Raw -Context 1", cwd=str(text_dir))
    assert r.output == ["two foo", "four foo foo", "seven Foo"]


def test_select_string_raw_and_quiet_cannot_be_combined() -> None:
    r = run("'x' | sls x -Raw -Quiet")
    assert r.output == [] and "Parameter set cannot be resolved" in r.messages[0]


def test_select_string_context_shows_lines_around_matches_once() -> None:
    text = show("1..10 | sls 5, 6, 9 -Context 2").text
    assert text == "\n  3\n  4\n> 5\n> 6\n  7\n  8\n> 9\n  10\n\n"


def test_select_string_context_properties(text_dir: Path) -> None:
    r = run("$m = sls three a.txt -Context 1, 2; $m.Context.PreContext; "
            "$m.Context.PostContext", cwd=str(text_dir))
    assert r.output == ["two foo", "four foo foo", "five"]
    text = show("sls three a.txt -Context 1,0", cwd=str(text_dir)).text
    assert text == "\n  a.txt:2:two foo\n> a.txt:3:three\n\n"


def test_select_string_searches_files_piped_from_get_child_item(text_dir: Path) -> None:
    r = run("Get-ChildItem *.txt | Select-String bar", cwd=str(text_dir))
    assert [(m.Filename, m.Line) for m in r.output] == [("b.txt", "bar")]


def test_select_string_literal_path(text_dir: Path) -> None:
    (text_dir / "[x].txt").write_text("foo\n")
    r = run("sls foo -LiteralPath '[x].txt'", cwd=str(text_dir))
    assert [m.Filename for m in r.output] == ["[x].txt"]


def test_select_string_missing_file_is_path_not_found(text_dir: Path) -> None:
    r = run("sls foo nope.txt", cwd=str(text_dir))
    assert r.errors[0].FullyQualifiedErrorId == (
        "PathNotFound,Microsoft.PowerShell.Commands.SelectStringCommand")


def test_select_string_bad_regex_is_invalid_regex_error() -> None:
    r = run("'a' | sls '('; 'after'")
    assert r.messages[0].startswith("The string '(' is not a valid regular expression:")
    assert r.errors[0].FullyQualifiedErrorId == (
        "InvalidRegex,Microsoft.PowerShell.Commands.SelectStringCommand")


# --- Measure-Command -------------------------------------------------------------------------


def test_measure_command_returns_a_timespan_and_discards_output() -> None:
    r = run("Measure-Command { 'dropped'; Start-Sleep -Milliseconds 20 }")
    assert len(r.output) == 1
    assert isinstance(r.output[0], dt.timedelta)
    assert r.output[0].total_seconds() >= 0.02


def test_measure_command_runs_in_the_current_scope() -> None:
    assert run("Measure-Command { $inside = 5 } | Out-Null; $inside").output == [5]


def test_measure_command_runs_the_block_per_piped_object_with_dollar_under() -> None:
    r = run("$seen = @(); 1..3 | Measure-Command { $seen += $_ * 10 } | Out-Null; $seen")
    assert r.output == [10, 20, 30]


def test_measure_command_total_milliseconds_is_readable() -> None:
    r = run("(Measure-Command { }).TotalMilliseconds -ge 0")
    assert r.output == [True]
