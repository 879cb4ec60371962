"""File system cmdlets against real files in tmp_path: listing, reading, writing, testing,
creating and removing."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from pjsh.commands import builtin_registry, items
from pjsh.commands.items import (
    AddContent,
    DirectoryInfo,
    FileInfo,
    GetChildItem,
    GetContent,
    NewItem,
    OutFile,
    RemoveItem,
    SetContent,
    _convert_encoding,
    split_lines,
)
from pjsh.runtime.cmdlet import Bound
from pjsh.runtime.convert import ConversionError
from pjsh.runtime.errors import PSRuntimeError
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.session import Session
from pjsh.runtime.values import PSObject, lookup_property
from tests.fakes import FakeContext, fake_session, run_cmdlet

# Imported under another name so that pytest does not take it for a test class.
TEST_PATH = items.TestPath


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """tmp_path with: b.txt, a.log, Zeta/ (with z.txt, deep/d.txt), alpha/, .hidden, .hdir/x."""
    (tmp_path / "b.txt").write_text("bee\n")
    (tmp_path / "a.log").write_text("log\n")
    (tmp_path / "Zeta").mkdir()
    (tmp_path / "Zeta" / "z.txt").write_text("zed\n")
    (tmp_path / "Zeta" / "deep").mkdir()
    (tmp_path / "Zeta" / "deep" / "d.txt").write_text("dee\n")
    (tmp_path / "alpha").mkdir()
    (tmp_path / ".hidden").write_text("secret\n")
    (tmp_path / ".hdir").mkdir()
    (tmp_path / ".hdir" / "x").write_text("x\n")
    return tmp_path


@pytest.fixture()
def session(tree: Path) -> Session:
    return fake_session(host=MemoryHost(), cwd=str(tree))


def names(output: list[object]) -> list[str]:
    return [o if isinstance(o, str) else o.Name for o in output]  # type: ignore[attr-defined]


# --- Get-ChildItem ---------------------------------------------------------------------------


def test_gci_lists_directories_first_then_files_each_sorted_case_insensitively(
        session: Session) -> None:
    ctx = run_cmdlet(GetChildItem, session=session)
    assert names(ctx.output) == ["alpha", "Zeta", "a.log", "b.txt"]
    assert isinstance(ctx.output[0], DirectoryInfo)
    assert isinstance(ctx.output[2], FileInfo)


def test_gci_items_carry_pwsh_type_names_and_properties(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(GetChildItem, {"Path": ["b.txt"]}, session=session)
    [item] = ctx.output
    assert isinstance(item, FileInfo)
    assert item.ps_type_names[0] == "System.IO.FileInfo"
    assert item.FullName == str(tree / "b.txt")
    assert (item.Name, item.BaseName, item.Extension) == ("b.txt", "b", ".txt")
    assert item.Length == 4 and item.Size == 4
    assert item.UnixMode == stat.filemode(os.lstat(tree / "b.txt").st_mode)
    assert item.Mode == "-----"
    assert isinstance(item.LastWriteTime, dt.datetime)
    assert item.PSIsContainer is False
    assert item.PSParentPath == str(tree)
    assert item.DirectoryName == str(tree)
    assert item.User and item.Group
    assert str(item) == str(tree / "b.txt")
    # Properties are reachable the way scripts read them.
    assert lookup_property(item, "length") == (True, 4)


def test_directory_items_report_container_and_no_length(session: Session, tree: Path) -> None:
    [alpha] = [o for o in run_cmdlet(GetChildItem, session=session).output
               if o.Name == "alpha"]  # type: ignore[attr-defined]
    assert isinstance(alpha, DirectoryInfo)
    assert alpha.PSIsContainer and alpha.Mode.startswith("d")
    assert alpha.UnixMode.startswith("d")
    assert not lookup_property(alpha, "Length")[0]
    assert alpha.Parent is not None and alpha.Parent.FullName == str(tree)


def test_dotnet_extension_rules_for_dot_files() -> None:
    item = FileInfo.__new__(FileInfo)
    item.Name = ".bashrc"
    assert (item.Extension, item.BaseName) == (".bashrc", "")
    item.Name = "archive.tar.gz"
    assert (item.Extension, item.BaseName) == (".gz", "archive.tar")


def test_gci_hides_dot_files_unless_force_or_hidden(session: Session) -> None:
    plain = names(run_cmdlet(GetChildItem, session=session).output)
    forced = names(run_cmdlet(GetChildItem, {"Force": True}, session=session).output)
    hidden = names(run_cmdlet(GetChildItem, {"Hidden": True}, session=session).output)
    assert ".hidden" not in plain
    assert forced == [".hdir", "alpha", "Zeta", ".hidden", "a.log", "b.txt"]
    assert hidden == [".hdir", ".hidden"]
    hidden_item = run_cmdlet(GetChildItem, {"Path": [".hidden"]}, session=session).output[0]
    assert hidden_item.Mode == "---h-"  # type: ignore[attr-defined]


def test_gci_recurse_lists_each_directory_after_its_parent(session: Session) -> None:
    ctx = run_cmdlet(GetChildItem, {"Recurse": True, "Name": True}, session=session)
    assert ctx.output == ["alpha", "Zeta", "a.log", "b.txt", "Zeta/deep", "Zeta/z.txt",
                          "Zeta/deep/d.txt"]


def test_gci_depth_limits_recursion(session: Session) -> None:
    ctx = run_cmdlet(GetChildItem, {"Depth": 0, "Name": True}, session=session)
    assert ctx.output == ["alpha", "Zeta", "a.log", "b.txt"]
    ctx = run_cmdlet(GetChildItem, {"Depth": 1, "Name": True}, session=session)
    assert "Zeta/z.txt" in ctx.output and "Zeta/deep/d.txt" not in ctx.output


def test_gci_file_and_directory_switches(session: Session) -> None:
    files = run_cmdlet(GetChildItem, {"File": True, "Recurse": True, "Name": True},
                       session=session).output
    dirs = run_cmdlet(GetChildItem, {"Directory": True, "Name": True}, session=session).output
    assert files == ["a.log", "b.txt", "Zeta/z.txt", "Zeta/deep/d.txt"]
    assert dirs == ["alpha", "Zeta"]


def test_gci_filter_include_exclude(session: Session) -> None:
    assert run_cmdlet(GetChildItem, {"Filter": "*.txt", "Name": True},
                      session=session).output == ["b.txt"]
    assert run_cmdlet(GetChildItem, {"Include": ["*.TXT", "*.log"], "Name": True},
                      session=session).output == ["a.log", "b.txt"]
    assert run_cmdlet(GetChildItem, {"Exclude": ["a*"], "Name": True},
                      session=session).output == ["Zeta", "b.txt"]


def test_gci_wildcard_path_lists_the_matching_items_themselves(session: Session) -> None:
    ctx = run_cmdlet(GetChildItem, {"Path": ["*"]}, session=session)
    assert names(ctx.output) == ["a.log", "alpha", "b.txt", "Zeta"]
    ctx = run_cmdlet(GetChildItem, {"Path": ["Z*/*.txt"]}, session=session)
    assert names(ctx.output) == ["z.txt"]


def test_gci_wildcard_leaf_with_recurse_searches_all_subdirectories(session: Session) -> None:
    ctx = run_cmdlet(GetChildItem, {"Path": ["*.txt"], "Recurse": True, "Name": True},
                     session=session)
    assert ctx.output == ["b.txt", "Zeta/z.txt", "Zeta/deep/d.txt"]


def test_gci_wildcard_that_matches_nothing_is_silent(session: Session) -> None:
    ctx = run_cmdlet(GetChildItem, {"Path": ["*.nothing"]}, session=session)
    assert (ctx.output, ctx.errors) == ([], [])


def test_gci_missing_path_is_a_non_terminating_error_and_others_still_list(
        session: Session, tree: Path) -> None:
    ctx = run_cmdlet(GetChildItem, {"Path": ["missing", "alpha", "b.txt"]}, session=session)
    [err] = ctx.errors
    assert err.message == f"Cannot find path '{tree / 'missing'}' because it does not exist."
    assert err.FullyQualifiedErrorId == (
        "PathNotFound,Microsoft.PowerShell.Commands.GetChildItemCommand")
    assert err.CategoryInfo.Category == "ObjectNotFound"
    assert names(ctx.output) == ["b.txt"]


def test_gci_literal_path_takes_brackets_literally(session: Session, tree: Path) -> None:
    (tree / "[x].txt").write_text("")
    ctx = run_cmdlet(GetChildItem, {"LiteralPath": ["[x].txt"]}, session=session)
    assert names(ctx.output) == ["[x].txt"]


def test_gci_shows_symlinks_with_their_target(session: Session, tree: Path) -> None:
    (tree / "link").symlink_to("b.txt")
    (tree / "dirlink").symlink_to("Zeta")
    ctx = run_cmdlet(GetChildItem, {"Path": ["link"]}, session=session)
    [link] = ctx.output
    assert link.LinkType == "SymbolicLink"  # type: ignore[attr-defined]
    assert link.NameString == "link -> b.txt"  # type: ignore[attr-defined]
    assert link.UnixMode.startswith("l")  # type: ignore[attr-defined]
    listing = run_cmdlet(GetChildItem, {"Recurse": True, "Name": True}, session=session).output
    assert "dirlink" in listing
    assert not any(str(n).startswith("dirlink/") for n in listing)  # not followed
    followed = run_cmdlet(GetChildItem, {"Recurse": True, "Name": True,
                                         "FollowSymlink": True}, session=session).output
    assert "dirlink/z.txt" in followed


def test_gci_pipeline_items_bind_back_by_pspath(session: Session, tree: Path) -> None:
    items = run_cmdlet(GetChildItem, {"Filter": "*.txt"}, session=session).output
    assert lookup_property(items[0], "PSPath") == (True, str(tree / "b.txt"))


# --- Get-Content -----------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_get_content_splits_lines_at_lf_crlf_and_cr(session: Session, tree: Path) -> None:
    write_bytes(tree / "mixed.txt", b"one\r\ntwo\rthree\nfour")
    assert run_cmdlet(GetContent, {"Path": ["mixed.txt"]}, session=session).output == [
        "one", "two", "three", "four"]


def test_get_content_final_newline_adds_no_line_and_empty_file_gives_nothing(
        session: Session, tree: Path) -> None:
    write_bytes(tree / "empty.txt", b"")
    write_bytes(tree / "blank.txt", b"\n\n")
    assert run_cmdlet(GetContent, {"Path": ["b.txt"]}, session=session).output == ["bee"]
    assert run_cmdlet(GetContent, {"Path": ["empty.txt"]}, session=session).output == []
    assert run_cmdlet(GetContent, {"Path": ["empty.txt"], "Raw": True},
                      session=session).output == []
    assert run_cmdlet(GetContent, {"Path": ["blank.txt"]}, session=session).output == ["", ""]


def test_split_lines_handles_crlf_split_across_chunks() -> None:
    assert list(split_lines(["a\r", "\nb\r", "", "c\r"])) == ["a", "b", "c"]
    assert list(split_lines(["\r", "\r\n"])) == ["", ""]


def test_get_content_raw_keeps_the_text_exactly(session: Session, tree: Path) -> None:
    write_bytes(tree / "r.txt", b"a\r\nb\n")
    assert run_cmdlet(GetContent, {"Path": ["r.txt"], "Raw": True},
                      session=session).output == ["a\r\nb\n"]


def test_get_content_total_count_and_tail_apply_per_file(session: Session, tree: Path) -> None:
    write_bytes(tree / "n1.txt", b"1\n2\n3\n")
    write_bytes(tree / "n2.txt", b"4\n5\n6\n")
    first = run_cmdlet(GetContent, {"Path": ["n1.txt", "n2.txt"], "TotalCount": 2},
                       session=session).output
    last = run_cmdlet(GetContent, {"Path": ["n*.txt"], "Tail": 1}, session=session).output
    assert first == ["1", "2", "4", "5"]
    assert last == ["3", "6"]
    assert run_cmdlet(GetContent, {"Path": ["n1.txt"], "TotalCount": 0},
                      session=session).output == []


def test_get_content_parameter_conflicts_are_terminating(session: Session) -> None:
    with pytest.raises(PSRuntimeError) as info:
        run_cmdlet(GetContent, {"Path": ["b.txt"], "TotalCount": 1, "Tail": 1},
                   session=session)
    assert info.value.record.message == (
        "The parameters TotalCount and Tail cannot be used together. "
        "Please specify only one parameter.")
    with pytest.raises(PSRuntimeError) as info:
        run_cmdlet(GetContent, {"Path": ["b.txt"], "Raw": True, "Tail": 1}, session=session)
    assert info.value.record.message == (
        "The 'Raw' and 'Tail' parameters cannot be specified in the same command.")


def test_get_content_delimiter_splits_and_drops_the_delimiter(session: Session,
                                                               tree: Path) -> None:
    write_bytes(tree / "d.txt", b"a,b,,c,")
    assert run_cmdlet(GetContent, {"Path": ["d.txt"], "Delimiter": ","},
                      session=session).output == ["a", "b", "", "c"]


def test_get_content_read_count_batches_lines(session: Session, tree: Path) -> None:
    write_bytes(tree / "n.txt", b"1\n2\n3\n")
    assert run_cmdlet(GetContent, {"Path": ["n.txt"], "ReadCount": 2},
                      session=session).output == [["1", "2"], ["3"]]
    assert run_cmdlet(GetContent, {"Path": ["n.txt"], "ReadCount": 0},
                      session=session).output == [["1", "2", "3"]]


def test_get_content_as_byte_stream(session: Session, tree: Path) -> None:
    write_bytes(tree / "bin", b"\x00\xff\n")
    assert run_cmdlet(GetContent, {"Path": ["bin"], "AsByteStream": True},
                      session=session).output == [0, 255, 10]
    assert run_cmdlet(GetContent, {"Path": ["bin"], "AsByteStream": True, "Raw": True},
                      session=session).output == [[0, 255, 10]]


def test_get_content_honours_a_byte_order_mark(session: Session, tree: Path) -> None:
    write_bytes(tree / "u16.txt", "\ufeffhé\r\nyo".encode("utf-16-le"))
    write_bytes(tree / "u8.txt", b"\xef\xbb\xbfbom\n")
    assert run_cmdlet(GetContent, {"Path": ["u16.txt"]}, session=session).output == ["hé", "yo"]
    assert run_cmdlet(GetContent, {"Path": ["u8.txt"]}, session=session).output == ["bom"]


def test_get_content_with_an_explicit_encoding(session: Session, tree: Path) -> None:
    write_bytes(tree / "l1.txt", "café\n".encode("latin-1"))
    enc = _convert_encoding("latin1")
    assert run_cmdlet(GetContent, {"Path": ["l1.txt"], "Encoding": enc},
                      session=session).output == ["café"]


def test_encoding_names_and_code_pages_convert_and_unknown_ones_fail() -> None:
    assert _convert_encoding("UTF8BOM").bom == b"\xef\xbb\xbf"  # type: ignore[attr-defined]
    assert _convert_encoding(1252).codec == "cp1252"  # type: ignore[attr-defined]
    assert _convert_encoding("windows-1251").codec == "cp1251"  # type: ignore[attr-defined]
    with pytest.raises(ConversionError, match="'bogus' is not a supported encoding name"):
        _convert_encoding("bogus")


def test_invalid_utf8_survives_a_read_write_round_trip(session: Session, tree: Path) -> None:
    raw = b"ok\n\xff\xfe bad \xc3\n"
    write_bytes(tree / "bad.txt", raw)
    lines = run_cmdlet(GetContent, {"Path": ["bad.txt"]}, session=session).output
    assert lines[0] == "ok" and len(lines) == 2
    run_cmdlet(SetContent, {"Path": ["copy.txt"], "Value": lines}, session=session)
    assert (tree / "copy.txt").read_bytes() == raw


def test_get_content_errors_for_directories_missing_files_and_empty_globs(
        session: Session, tree: Path) -> None:
    ctx = run_cmdlet(GetContent, {"Path": ["alpha", "missing.txt", "*.none", "b.txt"]},
                     session=session)
    messages = [e.message for e in ctx.errors]
    assert messages == [
        f"Unable to get content because it is a directory: '{tree / 'alpha'}'. "
        "Please use 'Get-ChildItem' instead.",
        f"Cannot find path '{tree / 'missing.txt'}' because it does not exist.",
        "An object at the specified path *.none does not exist, or has been filtered by the "
        "-Include or -Exclude parameter.",
    ]
    assert ctx.errors[1].FullyQualifiedErrorId == (
        "PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand")
    assert ctx.output == ["bee"]


def test_get_content_reads_piped_file_items_by_pspath(session: Session, tree: Path) -> None:
    items = run_cmdlet(GetChildItem, {"Filter": "*.txt", "Recurse": True},
                       session=session).output
    paths = [lookup_property(i, "PSPath")[1] for i in items]
    ctx = run_cmdlet(GetContent, pipeline=[[p] for p in paths], pipeline_param="LiteralPath",
                     session=session)
    assert ctx.output == ["bee", "zed", "dee"]


def test_get_content_accepts_provider_qualified_paths(session: Session, tree: Path) -> None:
    qualified = f"Microsoft.PowerShell.Core\\FileSystem::{tree / 'b.txt'}"
    assert run_cmdlet(GetContent, {"LiteralPath": [qualified]},
                      session=session).output == ["bee"]


def test_get_content_wait_follows_appended_lines_until_stopped(session: Session,
                                                                tree: Path) -> None:
    log = tree / "app.log"
    log.write_text("one\ntwo\n")

    class Follower(FakeContext):
        """Appends a line when it sees 'two' (a writer at work); stops after 'three'."""

        done = False

        def write_output(self, value: object) -> None:
            super().write_output(value)
            if value == "two":
                with open(log, "a") as fh:
                    fh.write("three\n")
            if value == "three":
                self.done = True

        @property
        def stopping(self) -> bool:
            return self.done

    ctx = Follower("Get-Content", session)
    cmd = GetContent(ctx)  # type: ignore[arg-type]
    values = {p.name: p.default for p in GetContent.spec.params}
    values.update({"Path": ["app.log"], "Wait": True, "Tail": 1})
    bound = Bound(values, "Path")
    bound.mark_explicit({"Path", "Wait", "Tail"})
    cmd.begin(bound)
    cmd.process(bound)
    assert ctx.output == ["two", "three"]


# --- Set-Content / Add-Content ---------------------------------------------------------------


def test_set_content_writes_one_line_per_value_and_replaces(session: Session,
                                                            tree: Path) -> None:
    run_cmdlet(SetContent, {"Path": ["b.txt"], "Value": ["x", 2, None, True]}, session=session)
    assert (tree / "b.txt").read_text() == "x\n2\n\nTrue\n"


def test_set_content_from_the_pipeline_truncates_once(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(SetContent, {"Path": ["b.txt"]}, pipeline=["1", "2", "3"],
                     pipeline_param="Value", session=session)
    assert (tree / "b.txt").read_text() == "1\n2\n3\n"
    assert ctx.output == []


def test_set_content_no_newline_passthru_and_encoding(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(SetContent, {"Path": ["n.txt"], "Value": ["a", "b"], "NoNewline": True,
                                  "PassThru": True}, session=session)
    assert (tree / "n.txt").read_text() == "ab"
    assert ctx.output == ["a", "b"]
    run_cmdlet(SetContent, {"Path": ["u.txt"], "Value": ["é"],
                            "Encoding": _convert_encoding("unicode")}, session=session)
    assert (tree / "u.txt").read_bytes() == b"\xff\xfe" + "é\n".encode("utf-16-le")


def test_set_content_with_no_value_empties_the_file(session: Session, tree: Path) -> None:
    run_cmdlet(SetContent, {"Path": ["b.txt"]}, session=session)
    assert (tree / "b.txt").read_bytes() == b""


def test_add_content_appends(session: Session, tree: Path) -> None:
    run_cmdlet(AddContent, {"Path": ["b.txt"], "Value": ["more"]}, session=session)
    run_cmdlet(AddContent, {"Path": ["new.txt"]}, pipeline=["1", "2"], pipeline_param="Value",
               session=session)
    assert (tree / "b.txt").read_text() == "bee\nmore\n"
    assert (tree / "new.txt").read_text() == "1\n2\n"


def test_set_content_as_byte_stream_writes_bytes(session: Session, tree: Path) -> None:
    run_cmdlet(SetContent, {"Path": ["bin"], "Value": [0, 255, 10], "AsByteStream": True},
               session=session)
    assert (tree / "bin").read_bytes() == b"\x00\xff\n"


def test_set_content_reports_a_missing_parent_and_a_directory_target(session: Session,
                                                                      tree: Path) -> None:
    ctx = run_cmdlet(SetContent, {"Path": ["no/such/f.txt", "alpha"], "Value": ["x"]},
                     session=session)
    assert [e.message for e in ctx.errors] == [
        f"Could not find a part of the path '{tree / 'no/such/f.txt'}'.",
        f"Access to the path '{tree / 'alpha'}' is denied.",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_set_content_force_writes_a_read_only_file(session: Session, tree: Path) -> None:
    target = tree / "ro.txt"
    target.write_text("old\n")
    target.chmod(0o444)
    ctx = run_cmdlet(SetContent, {"Path": ["ro.txt"], "Value": ["new"]}, session=session)
    assert ctx.errors and ctx.errors[0].CategoryInfo.Category == "PermissionDenied"
    run_cmdlet(SetContent, {"Path": ["ro.txt"], "Value": ["new"], "Force": True},
               session=session)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


# --- Out-File --------------------------------------------------------------------------------


def test_out_file_writes_formatted_text(session: Session, tree: Path) -> None:
    run_cmdlet(OutFile, {"FilePath": "o.txt"}, pipeline=["a", "b"],
               pipeline_param="InputObject", session=session)
    assert (tree / "o.txt").read_text() == "a\nb\n"
    obj = PSObject({"Name": "x", "Size": 3})
    run_cmdlet(OutFile, {"FilePath": "t.txt", "InputObject": obj}, session=session)
    text = (tree / "t.txt").read_text()
    assert "Name" in text and "Size" in text and "----" in text


def test_out_file_append_no_newline_and_empty_input(session: Session, tree: Path) -> None:
    run_cmdlet(OutFile, {"FilePath": "b.txt", "Append": True, "InputObject": "more"},
               session=session)
    assert (tree / "b.txt").read_text() == "bee\nmore\n"
    run_cmdlet(OutFile, {"FilePath": "nn.txt", "NoNewline": True}, pipeline=["a", "b"],
               pipeline_param="InputObject", session=session)
    assert (tree / "nn.txt").read_text() == "ab"
    run_cmdlet(OutFile, {"FilePath": "b.txt"}, pipeline=[], pipeline_param="InputObject",
               session=session)
    assert (tree / "b.txt").read_text() == ""


def test_out_file_no_clobber_refuses_an_existing_file(session: Session, tree: Path) -> None:
    with pytest.raises(PSRuntimeError) as info:
        run_cmdlet(OutFile, {"FilePath": "b.txt", "NoClobber": True, "InputObject": "x"},
                   session=session)
    assert info.value.record.message == f"The file '{tree / 'b.txt'}' already exists."
    assert (tree / "b.txt").read_text() == "bee\n"


def test_out_file_into_a_missing_directory_is_terminating(session: Session) -> None:
    with pytest.raises(PSRuntimeError, match="Could not find a part of the path"):
        run_cmdlet(OutFile, {"FilePath": "no/dir/x.txt", "InputObject": "x"}, session=session)


# --- Test-Path -------------------------------------------------------------------------------


def test_test_path_outputs_one_boolean_per_path(session: Session) -> None:
    ctx = run_cmdlet(TEST_PATH, {"Path": ["b.txt", "missing", "*.log", "*.none", ""]},
                     session=session)
    assert ctx.output == [True, False, True, False, False]


def test_test_path_path_type(session: Session) -> None:
    def check(path: str, kind: str) -> object:
        return run_cmdlet(TEST_PATH, {"Path": [path], "PathType": kind},
                          session=session).output[0]

    assert check("alpha", "Container") is True
    assert check("alpha", "Leaf") is False
    assert check("b.txt", "Leaf") is True
    assert check("b.txt", "Container") is False


def test_test_path_is_valid_and_dates(session: Session) -> None:
    assert run_cmdlet(TEST_PATH, {"Path": ["no/such/thing"], "IsValid": True},
                      session=session).output == [True]
    future = dt.datetime.now() + dt.timedelta(days=1)
    assert run_cmdlet(TEST_PATH, {"Path": ["b.txt"], "OlderThan": future},
                      session=session).output == [True]
    assert run_cmdlet(TEST_PATH, {"Path": ["b.txt"], "NewerThan": future},
                      session=session).output == [False]


def test_test_path_sees_dangling_symlinks(session: Session, tree: Path) -> None:
    (tree / "dangling").symlink_to("nowhere")
    assert run_cmdlet(TEST_PATH, {"LiteralPath": ["dangling"]}, session=session).output == [True]


# --- New-Item --------------------------------------------------------------------------------


def test_new_item_creates_a_file_with_a_value(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(NewItem, {"Path": ["hello.txt"], "Value": "hi"}, session=session)
    [item] = ctx.output
    assert isinstance(item, FileInfo) and item.Length == 2
    assert (tree / "hello.txt").read_text() == "hi"


def test_new_item_refuses_an_existing_file_without_force(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(NewItem, {"Path": ["b.txt"]}, session=session)
    assert ctx.errors[0].message == f"The file '{tree / 'b.txt'}' already exists."
    assert (tree / "b.txt").read_text() == "bee\n"
    run_cmdlet(NewItem, {"Path": ["b.txt"], "Force": True}, session=session)
    assert (tree / "b.txt").read_text() == ""


def test_new_item_directories_create_parents(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(NewItem, {"Path": ["x/y/z"], "ItemType": "Directory"}, session=session)
    assert isinstance(ctx.output[0], DirectoryInfo)
    assert (tree / "x" / "y" / "z").is_dir()
    again = run_cmdlet(NewItem, {"Path": ["x/y/z"], "ItemType": "dir"}, session=session)
    assert again.errors[0].message == (
        f"An item with the specified name {tree / 'x/y/z'} already exists.")
    assert again.errors[0].CategoryInfo.Category == "ResourceExists"
    forced = run_cmdlet(NewItem, {"Path": ["x/y/z"], "ItemType": "d", "Force": True},
                        session=session)
    assert forced.errors == [] and len(forced.output) == 1


def test_new_item_file_needs_force_for_missing_parents(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(NewItem, {"Path": ["p/q/f.txt"]}, session=session)
    assert ctx.errors[0].message == f"Could not find a part of the path '{tree / 'p/q/f.txt'}'."
    run_cmdlet(NewItem, {"Path": ["p/q/f.txt"], "Force": True}, session=session)
    assert (tree / "p" / "q" / "f.txt").is_file()


def test_new_item_name_joins_with_path(session: Session, tree: Path) -> None:
    run_cmdlet(NewItem, {"Path": ["alpha"], "Name": "n.txt"}, session=session)
    run_cmdlet(NewItem, {"Name": "top.txt"}, session=session)
    assert (tree / "alpha" / "n.txt").is_file() and (tree / "top.txt").is_file()


def test_new_item_symbolic_link_and_unknown_type(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(NewItem, {"Path": ["ln"], "ItemType": "SymbolicLink", "Value": "b.txt"},
                     session=session)
    assert os.readlink(tree / "ln") == "b.txt"
    assert ctx.output[0].LinkType == "SymbolicLink"  # type: ignore[attr-defined]
    bad = run_cmdlet(NewItem, {"Path": ["q"], "ItemType": "Pipe"}, session=session)
    assert bad.errors[0].message.startswith("The type is not a known type for the file system.")


# --- Remove-Item -----------------------------------------------------------------------------


def test_remove_item_deletes_files_and_empty_directories(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(RemoveItem, {"Path": ["b.txt", "alpha"]}, session=session)
    assert ctx.errors == []
    assert not (tree / "b.txt").exists() and not (tree / "alpha").exists()


def test_remove_item_refuses_a_non_empty_directory_without_recurse(session: Session,
                                                                   tree: Path) -> None:
    ctx = run_cmdlet(RemoveItem, {"Path": ["Zeta"]}, session=session)
    assert ctx.errors[0].message.startswith(
        f"The item at {tree / 'Zeta'} has children and the Recurse parameter was not "
        "specified.")
    assert (tree / "Zeta" / "z.txt").exists()
    run_cmdlet(RemoveItem, {"Path": ["Zeta"], "Recurse": True}, session=session)
    assert not (tree / "Zeta").exists()


def test_remove_item_wildcards_skip_hidden_items_without_force(session: Session,
                                                               tree: Path) -> None:
    run_cmdlet(RemoveItem, {"Path": ["*"], "Recurse": True}, session=session)
    assert sorted(os.listdir(tree)) == [".hdir", ".hidden"]
    run_cmdlet(RemoveItem, {"Path": ["*"], "Recurse": True, "Force": True}, session=session)
    assert os.listdir(tree) == []


def test_remove_item_missing_path_error(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(RemoveItem, {"Path": ["gone"]}, session=session)
    assert ctx.errors[0].message == f"Cannot find path '{tree / 'gone'}' because it does not exist."
    assert ctx.errors[0].FullyQualifiedErrorId == (
        "PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand")


def test_remove_item_removes_a_directory_link_not_its_target(session: Session,
                                                             tree: Path) -> None:
    (tree / "dl").symlink_to("Zeta")
    run_cmdlet(RemoveItem, {"Path": ["dl"], "Recurse": True}, session=session)
    assert not (tree / "dl").exists() and (tree / "Zeta" / "z.txt").exists()


def test_remove_item_include_filters_names(session: Session, tree: Path) -> None:
    run_cmdlet(RemoveItem, {"Path": ["*"], "Include": ["*.log"]}, session=session)
    assert not (tree / "a.log").exists() and (tree / "b.txt").exists()


# --- Aliases ---------------------------------------------------------------------------------


def test_item_aliases_follow_pwsh_on_linux_and_never_shadow_unix_programs() -> None:
    expected = {"gci": "Get-ChildItem", "dir": "Get-ChildItem", "gc": "Get-Content",
                "type": "Get-Content", "ni": "New-Item", "ri": "Remove-Item",
                "del": "Remove-Item", "erase": "Remove-Item", "rd": "Remove-Item"}
    for alias, name in expected.items():
        assert builtin_registry().aliases[alias] == name
    for cls in (GetChildItem, GetContent, SetContent, AddContent, OutFile, TEST_PATH, NewItem,
                RemoveItem):
        assert not {"ls", "cat", "cp", "mv", "rm", "rmdir", "tee", "ac", "sc"} & set(
            cls.spec.aliases)


# --- Get-Item --------------------------------------------------------------------------------


def test_get_item_outputs_the_item_itself(session: Session, tree: Path) -> None:
    ctx = run_cmdlet(items.GetItem, {"Path": [".", "b.txt", "Z*", "gone"]}, session=session)
    assert [o.FullName for o in ctx.output] == [  # type: ignore[attr-defined]
        str(tree), str(tree / "b.txt"), str(tree / "Zeta")]
    assert ctx.errors[0].message == f"Cannot find path '{tree / 'gone'}' because it does not exist."


# --- Through the engine ----------------------------------------------------------------------


def test_engine_pipes_file_items_into_where_object_and_get_content(tree: Path) -> None:
    from tests.harness import run

    result = run("gci -Recurse -File | Where-Object { $_.Length -gt 3 } | "
                 "ForEach-Object Name", cwd=str(tree))
    assert result.output == ["a.log", "b.txt", "z.txt", "d.txt"]
    result = run("gci *.txt -Recurse | Get-Content", cwd=str(tree))
    assert result.output == ["bee", "zed", "dee"]


def test_engine_writes_reads_and_removes_files(tree: Path) -> None:
    from tests.harness import run

    result = run("1..3 | Set-Content n.txt; Add-Content n.txt 4; (Get-Content n.txt).Count; "
                 "Remove-Item n.txt; Test-Path n.txt", cwd=str(tree))
    assert result.output == [4, False]
    assert result.errors == []


def test_engine_reports_missing_paths_and_goes_on(tree: Path) -> None:
    from tests.harness import run

    result = run("Get-Content nope.txt; 'after'", cwd=str(tree))
    assert result.output == ["after"]
    assert result.messages == [f"Cannot find path '{tree / 'nope.txt'}' because it does not exist."]
