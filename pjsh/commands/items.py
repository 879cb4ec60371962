"""Files and directories: Get-ChildItem, Get-Item, Get-Content, Set-Content, Add-Content,
Out-File, Test-Path, New-Item and Remove-Item, plus the FileInfo/DirectoryInfo objects they
emit.

Paths are always resolved against the session's logical current directory (never the
process's), wildcards follow PowerShell's rules (``* ? [a-z]``, backtick escapes; hidden
dot-files only with ``-Force``), and error messages use pwsh's wording.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as _dt
import functools
import itertools
import os
import re
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, ClassVar, Protocol, cast

from pjsh.lang.record import dataclass
from pjsh.runtime import fastpath
from pjsh.runtime.cmdlet import (
    Bound,
    Cmdlet,
    CommandSpec,
    Param,
    Taken,
    bulk_strings,
    command,
    write_all,
)
from pjsh.runtime.convert import (
    DATETIME,
    INT,
    OBJECT,
    OBJECTS,
    STRING,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    as_list,
    enum_type,
    to_int,
    to_string,
)
from pjsh.runtime.operators import has_wildcard, wildcard_regex
from pjsh.runtime.values import PROVIDER_NAME, PSPropertyClass

if TYPE_CHECKING:
    import datetime

    from pjsh.runtime.cmdlet import CommandContext
    from pjsh.runtime.errors import ErrorRecord
    from pjsh.runtime.session import Session

_PROVIDER_PREFIXES = (PROVIDER_NAME + "::", "FileSystem::")

# Linux file systems are case-sensitive and pwsh globs them so; macOS's default one is not.
FS_CASE_SENSITIVE = sys.platform != "darwin"

_NEWLINE = re.compile(r"\r\n|\r|\n")
# Seconds between looks at a file followed with Get-Content -Wait. Only new data is polled
# for (the stdlib has no inotify, and pwsh polls too); a stop never waits for the next look,
# because the pause is a wait on the pipeline's cancel token, which a stop wakes at once.
_FOLLOW_POLL = 0.1


def _fqid(error_id: str, command_class: str) -> str:
    """PowerShell's FullyQualifiedErrorId: ``<ErrorId>,<cmdlet's .NET type name>``."""
    return f"{error_id},Microsoft.PowerShell.Commands.{command_class}"


def _not_found_message(path: str) -> str:
    return f"Cannot find path '{path}' because it does not exist."


# ---------------------------------------------------------------------------------------------
# Paths and wildcards
# ---------------------------------------------------------------------------------------------


def provider_path(path: str) -> str:
    """Strip a PowerShell provider qualifier (``Microsoft.PowerShell.Core\\FileSystem::``)."""
    low = path.lower()
    for prefix in _PROVIDER_PREFIXES:
        if low.startswith(prefix.lower()):
            return path[len(prefix):]
    return path


def unescape_wildcard(text: str) -> str:
    """Remove PowerShell's backtick escapes from a path element that has no live wildcards."""
    if "`" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "`" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def name_key(name: str) -> tuple[str, str]:
    """Sort key for directory entries: case-insensitive first, then ordinal."""
    return (name.casefold(), name)


def is_hidden_name(name: str) -> bool:
    """On Unix, pwsh treats dot-files as hidden."""
    return name.startswith(".") and name not in (".", "..")


def glob_paths(session: Session, pattern: str, force: bool = False) -> list[str]:
    """Expand a wildcard path into the existing absolute paths it matches, in sorted order.

    Each path element may hold wildcards; hidden entries match only with ``force`` or when
    the element itself starts with a dot. A pattern matching nothing gives ``[]``.
    """
    full = session.resolve_path(provider_path(pattern))
    current = ["/"]
    for part in full.split("/"):
        if not part:
            continue
        found: list[str] = []
        if has_wildcard(part):
            rx = wildcard_regex(part, FS_CASE_SENSITIVE)
            show_hidden = force or part.startswith(".")
            for base in current:
                try:
                    names = os.listdir(base)
                except OSError:
                    continue
                for name in sorted(names, key=name_key):
                    if not show_hidden and is_hidden_name(name):
                        continue
                    if rx.match(name):
                        found.append(os.path.join(base, name))
        else:
            literal = unescape_wildcard(part)
            for base in current:
                candidate = os.path.join(base, literal)
                if os.path.lexists(candidate):
                    found.append(candidate)
        current = found
        if not current:
            break
    return current


def resolve_literal(session: Session, path: str) -> str:
    """Resolve a literal (non-wildcard) path against the session's current directory."""
    return session.resolve_path(provider_path(path))


# ---------------------------------------------------------------------------------------------
# FileInfo / DirectoryInfo
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def user_name(uid: int) -> str:
    """The login name of a user id (the number itself if it has none)."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


@functools.lru_cache(maxsize=256)
def group_name(gid: int) -> str:
    """The name of a group id (the number itself if it has none)."""
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (KeyError, ImportError):
        return str(gid)


def _dotnet_extension(name: str) -> str:
    # .NET's Path.GetExtension: ".bashrc" has extension ".bashrc", "file." has none.
    dot = name.rfind(".")
    if dot < 0 or dot == len(name) - 1:
        return ""
    return name[dot:]


def _can_write(st: os.stat_result) -> bool:
    euid = os.geteuid() if hasattr(os, "geteuid") else -1
    if euid == 0:
        return True
    if st.st_uid == euid:
        return bool(st.st_mode & stat.S_IWUSR)
    if hasattr(os, "getgroups") and (st.st_gid == os.getegid() or st.st_gid in os.getgroups()):
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


class FileSystemItem(PSPropertyClass):
    """Common base of FileInfo and DirectoryInfo: one file system entry and its lstat."""

    is_container: ClassVar[bool] = False

    def __init__(self, path: str, lst: os.stat_result | None = None) -> None:
        self.FullName = path
        self.Name = os.path.basename(path) or path
        self._lst = lst if lst is not None else os.lstat(path)

    # The PowerShell provider properties (plain paths: formatting groups by PSParentPath).
    @property
    def PSPath(self) -> str:
        """The item's path (FileSystem provider)."""
        return self.FullName

    @property
    def PSParentPath(self) -> str:
        """The directory holding the item."""
        return os.path.dirname(self.FullName) if self.FullName != "/" else ""

    @property
    def PSChildName(self) -> str:
        """The item's name."""
        return self.Name

    @property
    def PSIsContainer(self) -> bool:
        """True for directories."""
        return self.is_container

    @property
    def LinkType(self) -> str | None:
        """``SymbolicLink`` for symbolic links, else $null."""
        return "SymbolicLink" if stat.S_ISLNK(self._lst.st_mode) else None

    @property
    def LinkTarget(self) -> str | None:
        """Where a symbolic link points, else $null."""
        if not stat.S_ISLNK(self._lst.st_mode):
            return None
        try:
            return os.readlink(self.FullName)
        except OSError:
            return None

    @property
    def Target(self) -> str | None:
        """Same as LinkTarget (pwsh's older name)."""
        return self.LinkTarget

    @property
    def NameString(self) -> str:
        """The name as shown in listings: ``link -> target`` for symbolic links."""
        target = self.LinkTarget
        return f"{self.Name} -> {target}" if target is not None else self.Name

    @property
    def Mode(self) -> str:
        """Windows-style attribute string: ``d----``, ``-----``, ``l----``, ``--r-h``…"""
        lst = self._lst
        first = "l" if stat.S_ISLNK(lst.st_mode) else ("d" if self.is_container else "-")
        readonly = "r" if not _can_write(lst) else "-"
        hidden = "h" if is_hidden_name(self.Name) else "-"
        return f"{first}-{readonly}{hidden}-"

    @property
    def UnixMode(self) -> str:
        """The permission string as ``ls -l`` shows it: ``-rw-r--r--``."""
        return stat.filemode(self._lst.st_mode)

    @property
    def User(self) -> str:
        """The owner's user name."""
        return user_name(self._lst.st_uid)

    @property
    def Group(self) -> str:
        """The owning group's name."""
        return group_name(self._lst.st_gid)

    @property
    def Size(self) -> int:
        """Size in bytes as stored (directories report their own size, like pwsh on Unix)."""
        return self._lst.st_size

    @property
    def LastWriteTime(self) -> _dt.datetime:
        """Modification time (local)."""
        return _dt.datetime.fromtimestamp(self._lst.st_mtime)

    @property
    def LastAccessTime(self) -> _dt.datetime:
        """Access time (local)."""
        return _dt.datetime.fromtimestamp(self._lst.st_atime)

    @property
    def CreationTime(self) -> _dt.datetime:
        """Birth time where the platform reports one, else the status-change time."""
        birth = getattr(self._lst, "st_birthtime", None)
        return _dt.datetime.fromtimestamp(birth if birth is not None else self._lst.st_ctime)

    @property
    def Exists(self) -> bool:
        """Whether the item still exists."""
        return os.path.lexists(self.FullName)

    @property
    def Extension(self) -> str:
        """The extension including its dot (``.txt``), as .NET computes it."""
        return _dotnet_extension(self.Name)

    @property
    def BaseName(self) -> str:
        """The name without its extension (directories: the whole name)."""
        return self.Name

    def __str__(self) -> str:
        return self.FullName

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.FullName!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileSystemItem) and type(other) is type(self) and (
            other.FullName == self.FullName)

    def __hash__(self) -> int:
        return hash(self.FullName)


class FileInfo(FileSystemItem):
    """A file (``System.IO.FileInfo``)."""

    ps_type_names = ("System.IO.FileInfo", "System.IO.FileSystemInfo", "System.Object")
    ps_property_names = (
        "PSPath", "PSParentPath", "PSChildName", "PSIsContainer", "Mode", "UnixMode", "User",
        "Group", "LastWriteTime", "Size", "Length", "Name", "BaseName", "Extension",
        "FullName", "DirectoryName", "Directory", "IsReadOnly", "Exists", "CreationTime",
        "LastAccessTime", "LinkType", "LinkTarget", "Target", "NameString",
    )

    @property
    def Length(self) -> int:
        """Size in bytes."""
        return self._lst.st_size

    @property
    def DirectoryName(self) -> str:
        """Full path of the containing directory."""
        return os.path.dirname(self.FullName)

    @property
    def Directory(self) -> DirectoryInfo | None:
        """The containing directory."""
        try:
            return DirectoryInfo(self.DirectoryName)
        except OSError:
            return None

    @property
    def IsReadOnly(self) -> bool:
        """True when the current user cannot write the file."""
        return not _can_write(self._lst)

    @property
    def BaseName(self) -> str:
        """The name without its extension."""
        ext = self.Extension
        return self.Name[: len(self.Name) - len(ext)] if ext else self.Name


class DirectoryInfo(FileSystemItem):
    """A directory (``System.IO.DirectoryInfo``)."""

    is_container = True
    ps_type_names = ("System.IO.DirectoryInfo", "System.IO.FileSystemInfo", "System.Object")
    ps_property_names = (
        "PSPath", "PSParentPath", "PSChildName", "PSIsContainer", "Mode", "UnixMode", "User",
        "Group", "LastWriteTime", "Size", "Name", "BaseName", "Extension", "FullName",
        "Parent", "Root", "Exists", "CreationTime", "LastAccessTime", "LinkType",
        "LinkTarget", "Target", "NameString",
    )

    @property
    def Parent(self) -> DirectoryInfo | None:
        """The parent directory ($null for the root)."""
        if self.FullName == "/":
            return None
        try:
            return DirectoryInfo(os.path.dirname(self.FullName))
        except OSError:
            return None

    @property
    def Root(self) -> DirectoryInfo:
        """The root directory."""
        return DirectoryInfo("/")


def item_for(path: str, lst: os.stat_result | None = None) -> FileSystemItem:
    """Build the FileInfo or DirectoryInfo for an existing path (symlinks to directories are
    directories, as in .NET); raise OSError when it does not exist."""
    lst = lst if lst is not None else os.lstat(path)
    is_dir = stat.S_ISDIR(lst.st_mode) or (stat.S_ISLNK(lst.st_mode) and os.path.isdir(path))
    return DirectoryInfo(path, lst) if is_dir else FileInfo(path, lst)


# ---------------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextEncoding:
    """A resolved -Encoding value: the Python codec and the byte order mark written first."""

    name: str
    codec: str
    bom: bytes = b""

    def __str__(self) -> str:
        return self.name

    @property
    def errors(self) -> str:
        """Error handler: bytes that do not decode survive a round trip in 8-bit codecs."""
        return "replace" if self.codec.startswith(("utf-16", "utf-32")) else "surrogateescape"


_ENCODINGS: dict[str, TextEncoding] = {
    "ascii": TextEncoding("ascii", "ascii"),
    # pwsh on Unix maps the "ANSI" and "OEM" code pages to UTF-8.
    "ansi": TextEncoding("ansi", "utf-8"),
    "oem": TextEncoding("oem", "utf-8"),
    "bigendianunicode": TextEncoding("bigendianunicode", "utf-16-be", codecs.BOM_UTF16_BE),
    "bigendianutf32": TextEncoding("bigendianutf32", "utf-32-be", codecs.BOM_UTF32_BE),
    "unicode": TextEncoding("unicode", "utf-16-le", codecs.BOM_UTF16_LE),
    "utf32": TextEncoding("utf32", "utf-32-le", codecs.BOM_UTF32_LE),
    "utf7": TextEncoding("utf7", "utf-7"),
    "utf8": TextEncoding("utf8", "utf-8"),
    "utf8bom": TextEncoding("utf8BOM", "utf-8", codecs.BOM_UTF8),
    "utf8nobom": TextEncoding("utf8NoBOM", "utf-8"),
    "default": TextEncoding("utf8NoBOM", "utf-8"),
    "latin1": TextEncoding("latin1", "latin-1"),
    "byte": TextEncoding("byte", "latin-1"),
}
_CODE_PAGES = {65001: "utf-8", 1200: "utf-16-le", 1201: "utf-16-be", 12000: "utf-32-le",
               12001: "utf-32-be", 20127: "ascii", 28591: "latin-1", 65000: "utf-7"}
UTF8_NO_BOM = _ENCODINGS["utf8nobom"]


def _convert_encoding(value: object) -> object:
    if isinstance(value, TextEncoding):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        codec = _CODE_PAGES.get(value, f"cp{value}")
        try:
            return TextEncoding(str(value), codecs.lookup(codec).name)
        except LookupError:
            raise ConversionError(
                f"'{value}' is not a supported encoding name. For information on defining a "
                "custom encoding, see the documentation for the Encoding.RegisterProvider "
                "method. (Parameter 'name')") from None
    text = to_string(value)
    known = _ENCODINGS.get(text.lower())
    if known is not None:
        return known
    if text.isdigit():
        return _convert_encoding(int(text))
    try:
        return TextEncoding(text, codecs.lookup(text).name)
    except LookupError:
        raise ConversionError(
            f"'{text}' is not a supported encoding name. For information on defining a custom "
            "encoding, see the documentation for the Encoding.RegisterProvider method. "
            "(Parameter 'name')") from None


ENCODING = TypeSpec(
    "System.Text.Encoding", _convert_encoding,
    choices=("ascii", "ansi", "bigendianunicode", "bigendianutf32", "oem", "unicode", "utf7",
             "utf8", "utf8BOM", "utf8NoBOM", "utf32"),
    python="TextEncoding",
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _detect_bom(head: bytes, fallback: TextEncoding) -> tuple[TextEncoding, int]:
    """Like .NET's StreamReader: a byte order mark wins over the requested encoding."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return TextEncoding(codec, codec, bom), len(bom)
    return fallback, 0


def encode_text(text: str, encoding: TextEncoding) -> bytes:
    """Encode text for a file; text read with undecodable bytes writes them back unchanged."""
    if encoding.codec == "ascii":
        return text.encode("ascii", "replace")  # .NET's ASCII encoder writes '?'
    try:
        return text.encode(encoding.codec, "surrogateescape")
    except UnicodeEncodeError:
        return text.encode(encoding.codec, "replace")


def _start_text(fh: IO[bytes], requested: TextEncoding) -> tuple[codecs.IncrementalDecoder,
                                                                  bytes]:
    """Read past a byte order mark; return the decoder to use and the bytes already read."""
    head = fh.read(4)
    encoding, skip = _detect_bom(head, requested)
    return codecs.getincrementaldecoder(encoding.codec)(errors=encoding.errors), head[skip:]


def _decoded_chunks(fh: IO[bytes], decoder: codecs.IncrementalDecoder, first: bytes = b"",
                    follow: Callable[[], bool] | None = None) -> Iterator[str]:
    """Decode a file chunk by chunk. With ``follow``, at the end of the file call it (it waits
    a little) and keep reading until it returns False."""
    if first:
        yield decoder.decode(first)
    while True:
        chunk = fh.read(1 << 16)
        if chunk:
            yield decoder.decode(chunk)
            continue
        if follow is None or not follow():
            break
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def split_lines(chunks: Iterable[str]) -> Iterator[str]:
    """Split streamed text into lines at ``\\r\\n``, ``\\r`` or ``\\n`` (a final line break
    does not start another line), as .NET's ReadLine does."""
    rest = ""
    for text in chunks:
        rest += text
        start = 0
        for m in _NEWLINE.finditer(rest):
            if m.group() == "\r" and m.end() == len(rest):
                break  # maybe the first half of "\r\n": wait for the next chunk
            yield rest[start:m.start()]
            start = m.end()
        rest = rest[start:]
    if rest:
        yield rest[:-1] if rest.endswith("\r") else rest


def split_line_blocks(chunks: Iterable[str]) -> Iterator[list[str]]:
    """:func:`split_lines` a chunk at a time: the lines each chunk completes, as one list
    (one regular-expression split per chunk instead of a match per line)."""
    rest = ""
    split = _NEWLINE.split
    for text in chunks:
        rest += text
        # A final "\r" may be the first half of "\r\n": it waits for the next chunk.
        held = rest.endswith("\r")
        if held:
            rest = rest[:-1]
        # Most text has no "\r" at all: str.split is several times faster than the pattern.
        lines = split(rest) if "\r" in rest else rest.split("\n")
        rest = lines.pop() + ("\r" if held else "")
        if lines:
            yield lines
    if rest:
        yield [rest[:-1] if rest.endswith("\r") else rest]


def split_delimited_blocks(chunks: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    """:func:`split_delimited` a chunk at a time."""
    rest = ""
    for text in chunks:
        rest += text
        parts = rest.split(delimiter)
        rest = parts.pop()
        if parts:
            yield parts
    if rest:
        yield [rest]


def split_delimited(chunks: Iterable[str], delimiter: str) -> Iterator[str]:
    """Split streamed text at a literal delimiter, dropping it (pwsh 6+ behaviour)."""
    rest = ""
    for text in chunks:
        rest += text
        parts = rest.split(delimiter)
        yield from parts[:-1]
        rest = parts[-1]
    if rest:
        yield rest


# ---------------------------------------------------------------------------------------------
# Shared pieces of the cmdlets
# ---------------------------------------------------------------------------------------------


def _pattern_list(patterns: object, case_sensitive: bool = False) -> list[re.Pattern[str]]:
    return [wildcard_regex(to_string(p), case_sensitive) for p in as_list(patterns)]


@dataclass
class _NameFilter:
    """-Filter (case follows the file system), -Include and -Exclude (case-insensitive)."""

    filter: re.Pattern[str] | None
    include: list[re.Pattern[str]]
    exclude: list[re.Pattern[str]]

    def accepts(self, name: str) -> bool:
        """Tell whether a name passes all three filters."""
        if self.filter is not None and not self.filter.match(name):
            return False
        if self.include and not any(rx.match(name) for rx in self.include):
            return False
        return not any(rx.match(name) for rx in self.exclude)


class _FilterArgs(Protocol):
    """The record of a cmdlet with -Filter, -Include and -Exclude."""

    @property
    def Filter(self) -> str | None: ...
    @property
    def Include(self) -> list[str] | None: ...
    @property
    def Exclude(self) -> list[str] | None: ...


def _name_filter(args: _FilterArgs) -> _NameFilter:
    """The filter of a cmdlet's -Filter/-Include/-Exclude."""
    return _NameFilter(
        wildcard_regex(args.Filter, FS_CASE_SENSITIVE) if args.Filter else None,
        _pattern_list(args.Include),
        _pattern_list(args.Exclude),
    )


class PathArgs(Protocol):
    """The record of a cmdlet that names items by -Path or -LiteralPath."""

    parameter_set: str

    @property
    def Path(self) -> list[str] | None: ...
    @property
    def LiteralPath(self) -> list[str] | None: ...
    def __contains__(self, name: str) -> bool: ...


def existing_items(cmd: Cmdlet, args: PathArgs, command_class: str,
                   force: bool) -> Iterator[str]:
    """The paths named by -Path (wildcards expanded) or -LiteralPath that exist; a literal path
    that does not exist gets PowerShell's PathNotFound error. Hidden files match wildcards only
    with ``force``."""
    literal = _literal_set(args)
    session = cmd.ctx.session
    for raw in as_list(args.LiteralPath if literal else args.Path):
        text = provider_path(to_string(raw))
        if not literal and has_wildcard(text):
            yield from glob_paths(session, text, force)
            continue
        full = resolve_literal(session, text)
        if not os.path.lexists(full):
            cmd.ctx.write_error(cmd.ctx.error(
                _not_found_message(full), _fqid("PathNotFound", command_class),
                "ObjectNotFound", full, "System.Management.Automation.ItemNotFoundException"))
            continue
        yield full


def _literal_set(args: Bound | PathArgs) -> bool:
    return args.parameter_set.startswith("Literal") or "LiteralPath" in args


def _io_error(ctx: CommandContext, exc: OSError, path: str, id_prefix: str, command_class: str,
              default_category: str) -> None:
    """Report an OSError as a non-terminating error in .NET's words."""
    ctx.write_error(_io_record(ctx, exc, path, id_prefix, command_class, default_category))


def _io_record(ctx: CommandContext, exc: OSError, path: str, id_prefix: str,
               command_class: str, default_category: str) -> ErrorRecord:
    if isinstance(exc, (PermissionError, IsADirectoryError)):
        return ctx.error(f"Access to the path '{path}' is denied.",
                         _fqid(f"{id_prefix}UnauthorizedAccessError", command_class),
                         "PermissionDenied", path, "System.UnauthorizedAccessException")
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return ctx.error(f"Could not find a part of the path '{path}'.",
                         _fqid(f"{id_prefix}DirectoryNotFoundError", command_class),
                         "ObjectNotFound", path, "System.IO.DirectoryNotFoundException")
    return ctx.error(f"{exc.strerror or exc} : '{path}'",
                     _fqid(f"{id_prefix}IOError", command_class), default_category, path,
                     "System.IO.IOException")


# ---------------------------------------------------------------------------------------------
# Get-ChildItem
# ---------------------------------------------------------------------------------------------


@dataclass
class _Listing:
    """What one Get-ChildItem invocation asked for."""

    names: _NameFilter
    force: bool
    files_only: bool
    dirs_only: bool
    hidden_only: bool
    recurse: bool
    depth: int | None
    follow_links: bool
    names_only: bool
    leaf: re.Pattern[str] | None = None

    def wants(self, item: FileSystemItem) -> bool:
        """Tell whether an entry passes -File/-Directory/-Hidden and the name filters."""
        if self.files_only and item.is_container:
            return False
        if self.dirs_only and not item.is_container:
            return False
        if self.hidden_only and not is_hidden_name(item.Name):
            return False
        if self.leaf is not None and not self.leaf.match(item.Name):
            return False
        return self.names.accepts(item.Name)


def _non_negative(value: object) -> str | None:
    n = to_int(value)
    if n < 0:
        return (f"The {n} argument is less than the minimum allowed range of 0. Supply an "
                "argument that is greater than or equal to 0 and then try the command again.")
    return None


class GetChildItemArgs(Bound):
    """Get-ChildItem's parameters."""

    Path: list[str] | None
    LiteralPath: list[str] | None
    Filter: str | None
    Include: list[str] | None
    Exclude: list[str] | None
    Recurse: bool
    Depth: int | None
    Force: bool
    Name: bool
    File: bool
    Directory: bool
    Hidden: bool
    FollowSymlink: bool


@command
class GetChildItem(Cmdlet):
    """Get-ChildItem: list the items in directories (optionally recursively)."""

    spec = CommandSpec(
        name="Get-ChildItem",
        aliases=("gci", "dir"),
        default_set="Items",
        summary="Gets the items and child items in one or more specified locations.",
        description=(
            "Lists the files and directories at the given paths (default: the current "
            "directory), directories first. A path with wildcards lists the matching items "
            "themselves; -Recurse descends into subdirectories (with a wildcard leaf such as "
            "*.txt it searches every subdirectory for matching names). Hidden dot-files are "
            "shown only with -Force or -Hidden."
        ),
        examples=(
            ("Get-ChildItem", "List the current directory."),
            ("gci -Recurse -Filter *.py", "Find Python files below the current directory."),
            ("gci /var/log -File | Sort-Object Length", "Files of /var/log, smallest first."),
            ("gci -Name -Force", "Names only, hidden files included."),
        ),
        output_type="System.IO.FileInfo, System.IO.DirectoryInfo, System.String",
        params=(
            Param("Path", STRINGS, position=0, pipeline=True, pipeline_by_name=True,
                  sets=("Items",), completer="path",
                  help="Paths to list; wildcards allowed. Default: the current directory."),
            Param("LiteralPath", STRINGS, mandatory=True, aliases=("PSPath", "LP"),
                  pipeline_by_name=True, sets=("LiteralItems",), completer="path",
                  help="Paths taken exactly as written (no wildcards)."),
            Param("Filter", STRING, position=1,
                  help="Wildcard the item names must match (applied while listing)."),
            Param("Include", STRINGS, help="Wildcards; only matching names are output."),
            Param("Exclude", STRINGS, help="Wildcards; matching names are left out."),
            Param("Recurse", SWITCH, aliases=("s",),
                  help="Also list the contents of all subdirectories."),
            Param("Depth", INT, validate=_non_negative,
                  help="How many levels of subdirectories to descend (implies -Recurse)."),
            Param("Force", SWITCH, help="Include hidden items (dot-files)."),
            Param("Name", SWITCH, help="Output only names (relative paths) as strings."),
            Param("File", SWITCH, aliases=("af",), help="Output only files."),
            Param("Directory", SWITCH, aliases=("ad",), help="Output only directories."),
            Param("Hidden", SWITCH, aliases=("ah", "h"), help="Output only hidden items."),
            Param("FollowSymlink", SWITCH,
                  help="With -Recurse, also descend into symbolic links to directories."),
        ),
    )
    args_type = GetChildItemArgs

    def process(self, args: GetChildItemArgs) -> None:
        """List each path."""
        literal = _literal_set(args)
        paths = as_list(args.LiteralPath if literal else args.Path) or ["."]
        opts = _Listing(
            names=_name_filter(args),
            force=bool(args.Force),
            files_only=bool(args.File),
            dirs_only=bool(args.Directory),
            hidden_only=bool(args.Hidden),
            recurse=bool(args.Recurse) or args.Depth is not None,
            depth=args.Depth,
            follow_links=bool(args.FollowSymlink),
            names_only=bool(args.Name),
        )
        for raw in paths:
            text = provider_path(to_string(raw)) or "."
            if not literal and has_wildcard(text):
                self._list_pattern(text, opts)
            else:
                self._list_literal(text, opts)

    def _emit(self, item: FileSystemItem, base: str | None, opts: _Listing) -> None:
        if opts.names_only:
            name = os.path.relpath(item.FullName, base) if base else item.Name
            self.ctx.write_output(name)
        else:
            self.ctx.write_output(item)

    def _list_literal(self, text: str, opts: _Listing) -> None:
        full = resolve_literal(self.ctx.session, text)
        try:
            item = item_for(full)
        except OSError:
            self.ctx.write_error(self.ctx.error(
                _not_found_message(full), _fqid("PathNotFound", "GetChildItemCommand"),
                "ObjectNotFound", full, "System.Management.Automation.ItemNotFoundException"))
            return
        if item.is_container:
            self._list_dir(full, full, 0, opts, set())
        elif opts.wants(item):
            self._emit(item, None, opts)

    def _list_pattern(self, text: str, opts: _Listing) -> None:
        session = self.ctx.session
        parent, sep, leaf = text.rpartition("/")
        if opts.recurse and has_wildcard(leaf) and not has_wildcard(parent):
            # `gci *.txt -Recurse`: search the parent and all its subdirectories for the leaf.
            base = resolve_literal(session, (parent or "/") if sep else ".")
            opts.leaf = wildcard_regex(leaf, FS_CASE_SENSITIVE)
            if os.path.isdir(base):
                self._list_dir(base, base, 0, opts, set())
            opts.leaf = None
            return
        for match in glob_paths(session, text, opts.force or opts.hidden_only):
            if self.ctx.stopping:
                return
            try:
                item = item_for(match)
            except OSError:
                continue
            if opts.recurse and item.is_container:
                self._list_dir(match, match, 0, opts, set())
            elif opts.wants(item):
                self._emit(item, None, opts)

    def _list_dir(self, path: str, base: str, level: int, opts: _Listing,
                  seen: set[tuple[int, int]]) -> None:
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except PermissionError:
            self.ctx.write_error(self.ctx.error(
                f"Access to the path '{path}' is denied.",
                _fqid("DirUnauthorizedAccessError", "GetChildItemCommand"), "PermissionDenied",
                path, "System.UnauthorizedAccessException"))
            return
        except OSError as exc:
            _io_error(self.ctx, exc, path, "DirIO", "GetChildItemCommand", "ReadError")
            return
        dirs: list[FileSystemItem] = []
        files: list[FileSystemItem] = []
        show_hidden = opts.force or opts.hidden_only
        for entry in entries:
            if not show_hidden and is_hidden_name(entry.name):
                continue
            try:
                lst = entry.stat(follow_symlinks=False)
                is_dir = entry.is_dir()
            except OSError:
                continue  # vanished while listing
            item: FileSystemItem = (DirectoryInfo(entry.path, lst) if is_dir
                                    else FileInfo(entry.path, lst))
            (dirs if is_dir else files).append(item)
        dirs.sort(key=lambda i: name_key(i.Name))
        files.sort(key=lambda i: name_key(i.Name))
        for item in dirs + files:
            if self.ctx.stopping:
                return
            if opts.wants(item):
                self._emit(item, base, opts)
        if not opts.recurse or (opts.depth is not None and level >= opts.depth):
            return
        for sub in dirs:
            if self.ctx.stopping:
                return
            if sub.LinkType is not None:
                if not opts.follow_links:
                    continue
                try:
                    st = os.stat(sub.FullName)
                except OSError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue  # a link cycle
                seen.add(key)
            self._list_dir(sub.FullName, base, level + 1, opts, seen)


# ---------------------------------------------------------------------------------------------
# Get-Item
# ---------------------------------------------------------------------------------------------


class GetItemArgs(Bound):
    """Get-Item's parameters."""

    Path: list[str] | None
    LiteralPath: list[str] | None
    Force: bool
    Filter: str | None
    Include: list[str] | None
    Exclude: list[str] | None


@command
class GetItem(Cmdlet):
    """Get-Item: the items at the given paths themselves (not their contents)."""

    spec = CommandSpec(
        name="Get-Item",
        aliases=("gi",),
        default_set="Path",
        summary="Gets the item at the specified location.",
        description=(
            "Outputs the file or directory each path names (a directory itself, not what it "
            "holds: use Get-ChildItem for that). Wildcards match hidden items only with -Force."
        ),
        examples=(
            ("Get-Item notes.txt | Select-Object Length, LastWriteTime", "Facts about a file."),
            ("Get-Item . | ForEach-Object FullName", "The current directory's full path."),
        ),
        output_type="System.IO.FileInfo, System.IO.DirectoryInfo",
        params=(
            Param("Path", STRINGS, position=0, mandatory=True, pipeline=True,
                  pipeline_by_name=True, sets=("Path",), completer="path",
                  help="Items to get; wildcards allowed."),
            Param("LiteralPath", STRINGS, mandatory=True, aliases=("PSPath", "LP"),
                  pipeline_by_name=True, sets=("LiteralPath",), completer="path",
                  help="Items to get, taken exactly as written."),
            Param("Force", SWITCH, help="Also match hidden items with wildcards."),
            Param("Filter", STRING, help="Wildcard the names must match."),
            Param("Include", STRINGS, help="Wildcards; only matching names are output."),
            Param("Exclude", STRINGS, help="Wildcards; matching names are left out."),
        ),
    )
    args_type = GetItemArgs

    def process(self, args: GetItemArgs) -> None:
        """Write the item each path names."""
        names = _name_filter(args)
        for path in existing_items(self, args, "GetItemCommand", args.Force):
            try:
                item = item_for(path)
            except OSError:
                continue
            if names.accepts(item.Name):
                self.ctx.write_output(item)


# ---------------------------------------------------------------------------------------------
# Get-Content
# ---------------------------------------------------------------------------------------------


def _batches(values: Iterable[object], read_count: int) -> Iterator[object]:
    """-ReadCount: 1 sends each value alone, n sends arrays of n, 0 (or less) one array."""
    if read_count == 1:
        yield from values
        return
    batch: list[object] = []
    for value in values:
        batch.append(value)
        if 0 < read_count <= len(batch):
            yield batch
            batch = []
    if batch:
        yield batch


class GetContentArgs(Bound):
    """Get-Content's parameters."""

    Path: list[str] | None
    LiteralPath: list[str] | None
    ReadCount: int
    TotalCount: int
    Tail: int
    Delimiter: str | None
    Raw: bool
    Wait: bool
    Encoding: TextEncoding | None
    AsByteStream: bool
    Force: bool
    Filter: str | None
    Include: list[str] | None
    Exclude: list[str] | None


@command
class GetContent(Cmdlet):
    """Get-Content: read files as lines (or raw text, or bytes)."""

    spec = CommandSpec(
        name="Get-Content",
        aliases=("gc", "type"),
        default_set="Path",
        summary="Gets the content of the item at the specified location.",
        description=(
            "Reads text files and outputs one string per line (line breaks \\n, \\r\\n or \\r "
            "are removed). -Raw outputs the whole file as one string, -AsByteStream outputs "
            "bytes. -TotalCount/-Tail take the first/last lines of each file. A byte order "
            "mark selects the encoding; otherwise -Encoding (default UTF-8) is used, and bytes "
            "that are not valid text are kept so that writing the lines back restores them."
        ),
        examples=(
            ("Get-Content notes.txt", "Output the lines of notes.txt."),
            ("gc app.log -Tail 20", "The last 20 lines of app.log."),
            ("Get-Content data.json -Raw | ConvertFrom-Json", "Parse a JSON file."),
            ("gci *.txt | Get-Content -First 1", "The first line of each .txt file."),
            ("Get-Content app.log -Tail 5 -Wait", "Follow a log file, like tail -f."),
        ),
        output_type="System.String, System.Byte",
        params=(
            Param("Path", STRINGS, position=0, mandatory=True, pipeline_by_name=True,
                  sets=("Path",), completer="path",
                  help="Files to read; wildcards allowed."),
            Param("LiteralPath", STRINGS, mandatory=True, aliases=("PSPath", "LP"),
                  pipeline_by_name=True, sets=("LiteralPath",), completer="path",
                  help="Files to read, taken exactly as written (no wildcards)."),
            Param("ReadCount", INT, default=1, pipeline_by_name=True,
                  help="Lines sent together as one array (0: all at once)."),
            Param("TotalCount", INT, default=-1, aliases=("First", "Head"),
                  pipeline_by_name=True, help="Read only this many lines from the start."),
            Param("Tail", INT, default=-1, aliases=("Last",), pipeline_by_name=True,
                  help="Read only this many lines from the end."),
            Param("Delimiter", STRING,
                  help="Split the content at this string instead of at line breaks."),
            Param("Raw", SWITCH, help="Output the whole content as one string."),
            Param("Wait", SWITCH,
                  help="After the end, keep waiting for lines appended to the file (Ctrl+C "
                       "ends)."),
            Param("Encoding", ENCODING,
                  help="Text encoding (utf8 default; ascii, unicode, utf32, latin1, …)."),
            Param("AsByteStream", SWITCH, help="Output the content as bytes."),
            Param("Force", SWITCH, help="Accepted for compatibility."),
            Param("Filter", STRING, help="Wildcard the file names must match."),
            Param("Include", STRINGS, help="Wildcards; only matching file names are read."),
            Param("Exclude", STRINGS, help="Wildcards; matching file names are skipped."),
        ),
    )
    args_type = GetContentArgs

    def begin(self, args: GetContentArgs) -> None:
        """Reject parameter combinations pwsh rejects."""
        total, tail = "TotalCount" in args, "Tail" in args
        if total and tail:
            self.ctx.throw("The parameters TotalCount and Tail cannot be used together. "
                           "Please specify only one parameter.",
                           _fqid("TailAndHeadCannotCoexist", "GetContentCommand"),
                           "InvalidOperation", None, "System.InvalidOperationException")
        if args.Raw and (total or tail):
            name = "TotalCount" if total else "Tail"
            self.ctx.throw(f"The 'Raw' and '{name}' parameters cannot be specified in the same "
                           "command.", _fqid("InvalidOperation", "GetContentCommand"),
                           "InvalidOperation", None, "System.InvalidOperationException")

    def process(self, args: GetContentArgs) -> None:
        """Read each file the paths name."""
        literal = _literal_set(args)
        names = _name_filter(args)
        for raw in as_list(args.LiteralPath if literal else args.Path):
            text = provider_path(to_string(raw))
            if not literal and has_wildcard(text):
                matches = [m for m in glob_paths(self.ctx.session, text, bool(args.Force))
                           if names.accepts(os.path.basename(m))]
                if not matches:
                    self.ctx.write_error(self.ctx.error(
                        f"An object at the specified path {text} does not exist, or has been "
                        "filtered by the -Include or -Exclude parameter.",
                        _fqid("ItemNotFound", "GetContentCommand"), "ObjectNotFound", text,
                        "System.Exception"))
                for match in matches:
                    self._read(match, args)
            else:
                self._read(resolve_literal(self.ctx.session, text), args)

    def _read(self, full: str, args: GetContentArgs) -> None:
        if os.path.isdir(full):
            self.ctx.write_error(self.ctx.error(
                f"Unable to get content because it is a directory: '{full}'. "
                "Please use 'Get-ChildItem' instead.",
                _fqid("GetContainerContentException", "GetContentCommand"), "InvalidOperation",
                full, "System.InvalidOperationException"))
            return
        if not os.path.lexists(full):
            self.ctx.write_error(self.ctx.error(
                _not_found_message(full), _fqid("PathNotFound", "GetContentCommand"),
                "ObjectNotFound", full, "System.Management.Automation.ItemNotFoundException"))
            return
        try:
            with open(full, "rb") as fh:
                self._emit_content(fh, args)
        except OSError as exc:
            _io_error(self.ctx, exc, full, "GetContentReader", "GetContentCommand", "ReadError")

    def _emit_content(self, fh: IO[bytes], args: GetContentArgs) -> None:
        total = to_int(args.TotalCount) if "TotalCount" in args else -1
        tail = to_int(args.Tail) if "Tail" in args else -1
        if total == 0 or tail == 0:
            return
        if args.AsByteStream:
            if args.Raw:
                data = fh.read()
                if data:
                    self.ctx.write_output(list(data))
                return
            values: Iterable[object] = iter(fh.read())
        else:
            decoder, first = _start_text(fh, args.Encoding or UTF8_NO_BOM)
            chunks = _decoded_chunks(fh, decoder, first)
            if args.Raw:
                whole = "".join(chunks)
                if whole:
                    self.ctx.write_output(whole)
                return
            if fastpath.ENABLED and to_int(args.ReadCount) == 1:
                self._emit_blocks(self._record_blocks(chunks, args.Delimiter), total, tail)
                if args.Wait and not self.ctx.stopping:
                    self._follow(fh, decoder, args)
                return
            values = self._records(chunks, args.Delimiter)
        if total > 0:
            values = _take(values, total)
        elif tail > 0:
            values = deque(values, maxlen=tail)
        for out in _batches(values, to_int(args.ReadCount)):
            if self.ctx.stopping:
                return
            self.ctx.write_output(out)
        if args.Wait and not args.AsByteStream:
            self._follow(fh, decoder, args)

    def _follow(self, fh: IO[bytes], decoder: codecs.IncrementalDecoder,
                args: GetContentArgs) -> None:
        """-Wait: output what is appended to the file, line by line, until stopped."""
        follow = _decoded_chunks(fh, decoder, follow=lambda: self._wait_for_more(fh))
        for line in self._records(follow, args.Delimiter):
            self.ctx.write_output(line)

    def _emit_blocks(self, blocks: Iterator[list[str]], total: int, tail: int) -> None:
        """The lines (or delimited records) in blocks, each written in one call: what the
        loop over single records outputs, with -TotalCount and -Tail applied the same way."""
        if tail > 0:
            last = deque(itertools.chain.from_iterable(blocks), maxlen=tail)
            blocks = iter([list(last)])
        for block in blocks:
            if total > 0:
                if len(block) >= total:
                    block = block[:total]
                total -= len(block)
            if self.ctx.stopping:
                return
            if block:
                write_all(self.ctx, block)
            if total == 0:
                return

    @staticmethod
    def _record_blocks(chunks: Iterable[str], delimiter: str | None) -> Iterator[list[str]]:
        if delimiter is None or delimiter == "\n":
            return split_line_blocks(chunks)
        if delimiter == "":
            return iter([["".join(chunks)]])
        return split_delimited_blocks(chunks, delimiter)

    @staticmethod
    def _records(chunks: Iterable[str], delimiter: str | None) -> Iterator[str]:
        if delimiter is None or delimiter == "\n":
            return split_lines(chunks)
        if delimiter == "":
            return iter(["".join(chunks)])
        return split_delimited(chunks, delimiter)

    def _wait_for_more(self, fh: IO[bytes]) -> bool:
        """-Wait: pause briefly at the end of the file (pwsh polls too); False once stopped."""
        if self.ctx.stopping or self.ctx.cancel.wait(_FOLLOW_POLL):
            return False
        try:
            if os.fstat(fh.fileno()).st_size < fh.tell():
                fh.seek(0)  # truncated (a rotated log): start again from the top
        except (OSError, ValueError):
            return False
        return not self.ctx.stopping


def _take(values: Iterable[object], count: int) -> Iterator[object]:
    for i, value in enumerate(values):
        if i >= count:
            return
        yield value


# ---------------------------------------------------------------------------------------------
# Set-Content / Add-Content
# ---------------------------------------------------------------------------------------------


class ContentWriterArgs(Bound):
    """The parameters Set-Content and Add-Content share."""

    Path: list[str] | None
    LiteralPath: list[str] | None
    Value: list[object] | None
    PassThru: bool
    Force: bool
    NoNewline: bool
    Encoding: TextEncoding | None
    AsByteStream: bool


def _to_byte(value: object) -> int:
    """One value written with -AsByteStream; what is not a number is refused as pwsh does."""
    try:
        return to_int(value) & 0xFF
    except ConversionError as e:
        raise ConversionError(str(e).replace('"System.Int32"', '"System.Byte"')) from None


def _content_bytes(values: Iterable[object], args: ContentWriterArgs,
                   encoding: TextEncoding) -> bytes:
    if args.AsByteStream:
        out = bytearray()
        for v in values:
            if isinstance(v, (bytes, bytearray)):
                out += v
            elif isinstance(v, (list, tuple)):
                out += bytes(_to_byte(x) for x in v)
            else:
                out.append(_to_byte(v))
        return bytes(out)
    newline = "" if args.NoNewline else "\n"
    return encode_text("".join(to_string(v) + newline for v in values), encoding)


class _ContentWriter(Cmdlet):
    """Shared by Set-Content (truncates first) and Add-Content (appends)."""

    append: ClassVar[bool] = False
    command_class: ClassVar[str] = ""

    def begin(self, args: ContentWriterArgs) -> None:
        """Start with no file opened."""
        self._files: dict[str, IO[bytes]] = {}

    def process(self, args: ContentWriterArgs) -> None:
        """Write this input's values to every target file."""
        values = as_list(args.Value)
        encoding = args.Encoding or UTF8_NO_BOM
        try:
            data = _content_bytes(values, args, encoding)
        except ConversionError as e:
            # -AsByteStream with a value that is not a byte (a string such as 'abc').
            self.ctx.throw(str(e), _fqid("InvalidArgument", self.command_class),
                           "InvalidArgument", values, "System.Management.Automation."
                           "PSInvalidCastException")
        for target in self._targets(args):
            fh = self._open(target, args, encoding)
            if fh is None:
                continue
            try:
                fh.write(data)
            except OSError as exc:
                _io_error(self.ctx, exc, target, "GetContentWriter", self.command_class,
                          "WriteError")
        if args.PassThru:
            for v in values:
                self.ctx.write_output(v)

    def end(self, args: ContentWriterArgs) -> None:
        """Close the files; a write that fails only at the last flush (a full disk) is
        reported like any other write error."""
        self._close(report=True)

    def _close(self, report: bool = False) -> None:
        for path, fh in self._files.items():
            try:
                fh.close()
            except OSError as exc:
                with contextlib.suppress(OSError):
                    fh.close()
                if report:
                    _io_error(self.ctx, exc, path, "GetContentWriter", self.command_class,
                              "WriteError")
        self._files.clear()

    def __del__(self) -> None:
        # A terminating error upstream skips end(); do not leak the descriptors.
        files = self.__dict__.get("_files")
        if files:
            self._close()

    def _targets(self, args: ContentWriterArgs) -> list[str]:
        session = self.ctx.session
        if _literal_set(args):
            return [resolve_literal(session, to_string(p)) for p in as_list(args.LiteralPath)]
        out: list[str] = []
        for raw in as_list(args.Path):
            text = provider_path(to_string(raw))
            if has_wildcard(text):
                matches = glob_paths(session, text, bool(args.Force))
                if not matches:
                    full = session.resolve_path(text)
                    self.ctx.write_error(self.ctx.error(
                        _not_found_message(full), _fqid("PathNotFound", self.command_class),
                        "ObjectNotFound", full,
                        "System.Management.Automation.ItemNotFoundException"))
                out.extend(matches)
            else:
                out.append(resolve_literal(session, text))
        return out

    def _open(self, path: str, args: ContentWriterArgs, encoding: TextEncoding) -> IO[bytes] | None:
        fh = self._files.get(path)
        if fh is not None:
            return fh
        if os.path.isdir(path):
            self.ctx.write_error(self.ctx.error(
                f"Access to the path '{path}' is denied.",
                _fqid("GetContentWriterUnauthorizedAccessError", self.command_class),
                "PermissionDenied", path, "System.UnauthorizedAccessException"))
            return None
        existed = os.path.exists(path)
        try:
            fh = self._open_file(path, bool(args.Force))
        except OSError as exc:
            _io_error(self.ctx, exc, path, "GetContentWriter", self.command_class, "WriteError")
            return None
        if encoding.bom and not args.AsByteStream and (
                not self.append or not existed or fh.tell() == 0):
            fh.write(encoding.bom)
        self._files[path] = fh
        return fh

    def _open_file(self, path: str, force: bool) -> IO[bytes]:
        mode = "ab" if self.append else "wb"
        try:
            return open(path, mode)  # kept open across pipeline input
        except PermissionError:
            if not force or not os.path.exists(path):
                raise
        # -Force overrides a read-only file (pwsh clears the attribute), then restores it.
        old = os.stat(path).st_mode
        os.chmod(path, old | stat.S_IWUSR)
        try:
            return open(path, mode)
        finally:
            os.chmod(path, old)


_CONTENT_WRITER_PARAMS = (
    Param("Path", STRINGS, position=0, mandatory=True, pipeline_by_name=True, sets=("Path",),
          completer="path", help="Files to write; wildcards allowed."),
    Param("LiteralPath", STRINGS, mandatory=True, aliases=("PSPath", "LP"),
          pipeline_by_name=True, sets=("LiteralPath",), completer="path",
          help="Files to write, taken exactly as written (no wildcards)."),
    Param("Value", OBJECTS, position=1, pipeline=True, pipeline_by_name=True,
          help="The content: each value becomes one line."),
    Param("PassThru", SWITCH, help="Output the values written."),
    Param("Force", SWITCH, help="Write even to a read-only file."),
    Param("NoNewline", SWITCH, help="Write values with no line breaks between or after them."),
    Param("Encoding", ENCODING,
          help="Text encoding (utf8NoBOM default; utf8BOM, ascii, unicode, utf32, latin1, …)."),
    Param("AsByteStream", SWITCH, help="The values are bytes to write as they are."),
)


class SetContentArgs(ContentWriterArgs):
    """Set-Content's parameters."""


@command
class SetContent(_ContentWriter):
    """Set-Content: replace a file's content with the given values."""

    command_class = "SetContentCommand"
    spec = CommandSpec(
        name="Set-Content",
        default_set="Path",
        summary="Writes new content or replaces existing content in a file.",
        description=(
            "Writes each value (converted to a string, not formatted) as one line, replacing "
            "what the file held; the file is created if missing. Use Out-File to write "
            "formatted tables, Add-Content to append."
        ),
        examples=(
            ("Set-Content notes.txt 'first line'", "Replace notes.txt with one line."),
            ("1..3 | Set-Content numbers.txt", "Write three lines."),
        ),
        output_type="System.String",
        params=_CONTENT_WRITER_PARAMS,
    )
    args_type = SetContentArgs


class AddContentArgs(ContentWriterArgs):
    """Add-Content's parameters."""


@command
class AddContent(_ContentWriter):
    """Add-Content: append values to a file."""

    append = True
    command_class = "AddContentCommand"
    spec = CommandSpec(
        name="Add-Content",
        default_set="Path",
        summary="Adds content to the specified items, such as adding words to a file.",
        description=(
            "Appends each value (converted to a string) as one line to the end of the file, "
            "creating the file if missing."
        ),
        examples=(
            ("Add-Content log.txt \"started $(Get-Date)\"", "Append a line to log.txt."),
        ),
        output_type="System.String",
        params=_CONTENT_WRITER_PARAMS,
    )
    args_type = AddContentArgs


# ---------------------------------------------------------------------------------------------
# Out-File
# ---------------------------------------------------------------------------------------------


class OutFileArgs(Bound):
    """Out-File's parameters."""

    FilePath: str | None
    LiteralPath: str | None
    Encoding: TextEncoding | None
    Append: bool
    Force: bool
    NoClobber: bool
    Width: int | None
    NoNewline: bool
    InputObject: object


@command
class OutFile(Cmdlet):
    """Out-File: write the formatted text of objects to a file."""

    spec = CommandSpec(
        name="Out-File",
        default_set="ByPath",
        summary="Sends output to a file.",
        description=(
            "Writes objects to a file the way they would be shown on the screen (tables, "
            "lists), like the > operator. Use Set-Content to write plain string values."
        ),
        examples=(
            ("Get-Process | Out-File procs.txt", "Save the process table."),
            ("'more' | Out-File log.txt -Append", "Append a line."),
        ),
        params=(
            Param("FilePath", STRING, position=0, mandatory=True, aliases=("Path",),
                  sets=("ByPath",), completer="path", help="The file to write."),
            Param("LiteralPath", STRING, mandatory=True, aliases=("PSPath", "LP"),
                  sets=("ByLiteralPath",), completer="path",
                  help="The file to write, taken exactly as written."),
            Param("Encoding", ENCODING, position=1,
                  help="Text encoding (utf8NoBOM default; utf8BOM, ascii, unicode, …)."),
            Param("Append", SWITCH, help="Add to the end of the file instead of replacing it."),
            Param("Force", SWITCH, help="Write even to a read-only file."),
            Param("NoClobber", SWITCH, aliases=("NoOverwrite",),
                  help="Fail instead of overwriting an existing file."),
            Param("Width", INT, help="Line width for tables (default: the host's width)."),
            Param("NoNewline", SWITCH, help="Write no line breaks at all."),
            Param("InputObject", OBJECT, pipeline=True, help="The objects to write."),
        ),
    )
    args_type = OutFileArgs
    bulk_parameter = "InputObject"

    def process_many(self, args: OutFileArgs, values: Sequence[object], taken: Taken) -> None:
        """A block of plain strings: collected as ``process`` collects each."""
        self._objects.extend(values)
        taken.count += len(values)

    def begin(self, args: OutFileArgs) -> None:
        """Check the target and create (or truncate) it, as pwsh does before any input."""
        self._objects: list[object] = []
        raw = args.LiteralPath if _literal_set(args) else args.FilePath
        self._path = resolve_literal(self.ctx.session, to_string(raw))
        path = self._path
        if os.path.isdir(path):
            self._fail(f"Access to the path '{path}' is denied.", "PermissionDenied")
        if args.NoClobber and not args.Append and os.path.exists(path):
            self.ctx.throw(f"The file '{path}' already exists.",
                           _fqid("NoClobber", "OutFileCommand"), "ResourceExists", path,
                           "System.IO.IOException")
        if not args.Append:
            try:
                self._open(args, "wb").close()
            except OSError as exc:
                self._fail_os(exc)

    def process(self, args: OutFileArgs) -> None:
        """Collect the input; it is formatted as a whole at the end."""
        if "InputObject" not in args:
            return
        value = args.InputObject
        # Out-* commands enumerate collections they are given, as pwsh's formatter does.
        if isinstance(value, (list, tuple)):
            self._objects.extend(value)
        else:
            self._objects.append(value)

    def end(self, args: OutFileArgs) -> None:
        """Format everything collected and write it."""
        from pjsh.runtime.formatting import build_blocks, render_text

        width = to_int(args.Width) if args.Width is not None else self.ctx.session.host.width
        views = self.ctx.session.registry.views
        if not self._objects:
            text = ""
        elif fastpath.ENABLED and bulk_strings(self._objects):
            # Plain strings format as one text block, a line per string (the layout never
            # cuts text lines to the width): the same text without formatting a million lines.
            text = "\n".join(cast("list[str]", self._objects)) + "\n"
        else:
            text = render_text(build_blocks(self._objects, views=views), max(width, 1))
        if args.NoNewline:
            text = text.replace("\n", "")
        encoding = args.Encoding or UTF8_NO_BOM
        data = encode_text(text, encoding)
        try:
            with self._open(args, "ab") as fh:
                if encoding.bom and fh.tell() == 0:
                    fh.write(encoding.bom)
                fh.write(data)
        except OSError as exc:
            self._fail_os(exc)

    def _open(self, args: OutFileArgs, mode: str) -> IO[bytes]:
        try:
            return open(self._path, mode)  # closed by the callers
        except PermissionError:
            if not args.Force or not os.path.exists(self._path):
                raise
        old = os.stat(self._path).st_mode
        os.chmod(self._path, old | stat.S_IWUSR)
        try:
            return open(self._path, mode)
        finally:
            os.chmod(self._path, old)

    def _fail(self, message: str, category: str) -> None:
        self.ctx.throw(message, _fqid("FileOpenFailure", "OutFileCommand"), category,
                       self._path, "System.UnauthorizedAccessException")

    def _fail_os(self, exc: OSError) -> None:
        if isinstance(exc, (PermissionError, IsADirectoryError)):
            self._fail(f"Access to the path '{self._path}' is denied.", "OpenError")
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            self.ctx.throw(f"Could not find a part of the path '{self._path}'.",
                           _fqid("FileOpenFailure", "OutFileCommand"), "OpenError", self._path,
                           "System.IO.DirectoryNotFoundException")
        self.ctx.throw(f"{exc.strerror or exc} : '{self._path}'",
                       _fqid("FileOpenFailure", "OutFileCommand"), "OpenError", self._path,
                       "System.IO.IOException")


# ---------------------------------------------------------------------------------------------
# Test-Path
# ---------------------------------------------------------------------------------------------

PATH_TYPE = enum_type("Microsoft.PowerShell.Commands.TestPathType", ("Any", "Container", "Leaf"))


class TestPathArgs(Bound):
    """Test-Path's parameters."""

    Path: list[str] | None
    LiteralPath: list[str] | None
    PathType: str
    IsValid: bool
    Filter: str | None
    Include: list[str] | None
    Exclude: list[str] | None
    OlderThan: datetime.datetime | None
    NewerThan: datetime.datetime | None


@command
class TestPath(Cmdlet):
    """Test-Path: tell whether paths exist."""

    spec = CommandSpec(
        name="Test-Path",
        default_set="Path",
        summary="Determines whether all elements of a path exist.",
        description=(
            "Outputs $true for each path that exists (for a wildcard path: that matches "
            "something) and $false otherwise. -PathType Container/Leaf also checks that it is "
            "a directory/a file; -IsValid only checks that the path is well-formed."
        ),
        examples=(
            ("Test-Path ~/.bashrc", "Does the file exist?"),
            ("Test-Path /tmp -PathType Container", "Is /tmp a directory?"),
            ("if (Test-Path *.log) { 'there are logs' }", "Test a wildcard."),
        ),
        output_type="System.Boolean",
        params=(
            Param("Path", STRINGS, position=0, mandatory=True, pipeline=True,
                  pipeline_by_name=True, sets=("Path",), completer="path", allow_empty=True,
                  help="Paths to test; wildcards allowed."),
            Param("LiteralPath", STRINGS, mandatory=True, aliases=("PSPath", "LP"),
                  pipeline_by_name=True, sets=("LiteralPath",), completer="path",
                  allow_empty=True, help="Paths to test, taken exactly as written."),
            Param("PathType", PATH_TYPE, default="Any", aliases=("Type",),
                  help="Any (default), Container (a directory) or Leaf (not a directory)."),
            Param("IsValid", SWITCH,
                  help="Only check the path's syntax, not whether it exists."),
            Param("Filter", STRING, help="Wildcard the item's name must match."),
            Param("Include", STRINGS, help="Wildcards; the name must match one of them."),
            Param("Exclude", STRINGS, help="Wildcards; the name must match none of them."),
            Param("OlderThan", DATETIME, help="Only true if last modified before this time."),
            Param("NewerThan", DATETIME, help="Only true if last modified after this time."),
        ),
    )
    args_type = TestPathArgs

    def process(self, args: TestPathArgs) -> None:
        """Output one boolean per path."""
        literal = _literal_set(args)
        names = _name_filter(args)
        for raw in as_list(args.LiteralPath if literal else args.Path):
            text = provider_path(to_string(raw))
            if not text.strip():
                self.ctx.write_output(False)
                continue
            if args.IsValid:
                self.ctx.write_output("\0" not in text)
                continue
            if not literal and has_wildcard(text):
                candidates = glob_paths(self.ctx.session, text)
            else:
                candidates = [resolve_literal(self.ctx.session, text)]
            self.ctx.write_output(any(self._matches(p, args, names) for p in candidates))

    @staticmethod
    def _matches(path: str, args: TestPathArgs, names: _NameFilter) -> bool:
        try:
            lst = os.lstat(path)
        except OSError:
            return False
        kind = args.PathType or "Any"
        if kind != "Any":
            is_dir = os.path.isdir(path)
            if (kind == "Container") != is_dir:
                return False
        if not names.accepts(os.path.basename(path)):
            return False
        mtime = _dt.datetime.fromtimestamp(lst.st_mtime)
        if args.OlderThan is not None and not mtime < args.OlderThan:
            return False
        return args.NewerThan is None or mtime > args.NewerThan


# ---------------------------------------------------------------------------------------------
# New-Item
# ---------------------------------------------------------------------------------------------

_ITEM_TYPES = (("directory", "Directory"), ("container", "Directory"), ("file", "File"),
               ("symboliclink", "SymbolicLink"), ("hardlink", "HardLink"))


def _item_type(text: str) -> str | None:
    # pwsh matches the given type as a prefix ("dir", "f", "sym" all work).
    low = text.lower()
    for full, kind in _ITEM_TYPES:
        if full.startswith(low):
            return kind
    return None


class NewItemArgs(Bound):
    """New-Item's parameters."""

    Path: list[str] | None
    Name: str | None
    ItemType: str | None
    Value: object
    Force: bool


@command
class NewItem(Cmdlet):
    """New-Item: create files, directories and links."""

    spec = CommandSpec(
        name="New-Item",
        aliases=("ni",),
        default_set="pathSet",
        summary="Creates a new item.",
        description=(
            "Creates a file (default), a directory (-ItemType Directory, parents included), "
            "or a symbolic/hard link (-Value is the target) and outputs it. An existing file "
            "is only overwritten with -Force; -Force also creates missing parent directories."
        ),
        examples=(
            ("New-Item notes.txt", "Create an empty file."),
            ("New-Item -ItemType Directory build/out", "Create a directory and its parents."),
            ("ni hello.txt -Value 'hi'", "Create a file holding 'hi'."),
            ("New-Item -ItemType SymbolicLink current -Value releases/v2", "Make a symlink."),
        ),
        output_type="System.IO.FileInfo, System.IO.DirectoryInfo",
        params=(
            Param("Path", STRINGS, position=0, mandatory=True, pipeline_by_name=True,
                  sets=("pathSet",), completer="path", help="Path of the item to create."),
            Param("Path", STRINGS, position=0, pipeline_by_name=True, sets=("nameSet",),
                  completer="path", help="Path of the item to create."),
            Param("Name", STRING, mandatory=True, pipeline_by_name=True, sets=("nameSet",),
                  help="Name of the new item inside -Path (default: the current directory)."),
            Param("ItemType", STRING, aliases=("Type",), pipeline_by_name=True,
                  help="File (default), Directory, SymbolicLink or HardLink."),
            Param("Value", OBJECT, pipeline=True, pipeline_by_name=True,
                  help="Content of a new file, or the target of a link."),
            Param("Force", SWITCH,
                  help="Overwrite an existing file and create missing parent directories."),
        ),
    )
    args_type = NewItemArgs

    def process(self, args: NewItemArgs) -> None:
        """Create each item."""
        session = self.ctx.session
        kind = "File"
        if args.ItemType is not None:
            found = _item_type(to_string(args.ItemType))
            if found is None:
                self.ctx.write_error(self.ctx.error(
                    'The type is not a known type for the file system. Only "file","directory" '
                    'or "symboliclink" can be specified.',
                    _fqid("Argument", "NewItemCommand"), "InvalidArgument", args.ItemType,
                    "System.ArgumentException"))
                return
            kind = found
        paths = [to_string(p) for p in as_list(args.Path)]
        if args.Name is not None:
            paths = [os.path.join(p, to_string(args.Name)) for p in (paths or ["."])]
        for raw in paths:
            full = resolve_literal(session, raw)
            try:
                item = self._create(full, kind, args)
            except OSError as exc:
                _io_error(self.ctx, exc, full, "NewItem", "NewItemCommand", "WriteError")
                continue
            if item is not None:
                self.ctx.write_output(item)

    def _exists_error(self, message: str, error_id: str, category: str, full: str) -> None:
        self.ctx.write_error(self.ctx.error(message, _fqid(error_id, "NewItemCommand"), category,
                                            full, "System.IO.IOException"))

    def _create(self, full: str, kind: str, args: NewItemArgs) -> FileSystemItem | None:
        force = bool(args.Force)
        if kind == "Directory":
            if os.path.lexists(full):
                if force and os.path.isdir(full):
                    return item_for(full)
                self._exists_error(f"An item with the specified name {full} already exists.",
                                   "DirectoryExist", "ResourceExists", full)
                return None
            os.makedirs(full)
            return item_for(full)
        parent = os.path.dirname(full)
        if force and not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
        if kind in ("SymbolicLink", "HardLink"):
            if args.Value is None:
                self.ctx.write_error(self.ctx.error(
                    "Value cannot be null. (Parameter 'content')",
                    _fqid("ArgumentNull", "NewItemCommand"), "InvalidArgument", full,
                    "System.ArgumentNullException"))
                return None
            target = to_string(args.Value)
            if os.path.lexists(full):
                if not force or (os.path.isdir(full) and not os.path.islink(full)):
                    self._exists_error(f"An item with the specified name {full} already exists.",
                                       "SymLinkExists", "ResourceExists", full)
                    return None
                os.unlink(full)
            if kind == "SymbolicLink":
                os.symlink(target, full)
            else:
                os.link(resolve_literal(self.ctx.session, target), full)
            return item_for(full)
        if os.path.lexists(full) and (os.path.isdir(full) or not force):
            self._exists_error(f"The file '{full}' already exists.", "NewItemIOError",
                               "WriteError", full)
            return None
        with open(full, "wb") as fh:
            if args.Value is not None:
                fh.write(encode_text(to_string(args.Value), UTF8_NO_BOM))
        return item_for(full)


# ---------------------------------------------------------------------------------------------
# Remove-Item
# ---------------------------------------------------------------------------------------------


class RemoveItemArgs(Bound):
    """Remove-Item's parameters."""

    Path: list[str] | None
    LiteralPath: list[str] | None
    Recurse: bool
    Force: bool
    Filter: str | None
    Include: list[str] | None
    Exclude: list[str] | None


@command
class RemoveItem(Cmdlet):
    """Remove-Item: delete files and directories."""

    spec = CommandSpec(
        name="Remove-Item",
        aliases=("ri", "del", "erase", "rd"),
        default_set="Path",
        summary="Deletes the specified items.",
        description=(
            "Deletes files, links and directories. A directory that is not empty needs "
            "-Recurse. Wildcards match hidden items only with -Force. A symbolic link is "
            "removed itself, never what it points to."
        ),
        examples=(
            ("Remove-Item notes.txt", "Delete a file."),
            ("Remove-Item build -Recurse", "Delete a directory tree."),
            ("ri *.tmp", "Delete the .tmp files of the current directory."),
        ),
        params=(
            Param("Path", STRINGS, position=0, mandatory=True, pipeline=True,
                  pipeline_by_name=True, sets=("Path",), completer="path",
                  help="Items to delete; wildcards allowed."),
            Param("LiteralPath", STRINGS, mandatory=True, aliases=("PSPath", "LP"),
                  pipeline_by_name=True, sets=("LiteralPath",), completer="path",
                  help="Items to delete, taken exactly as written."),
            Param("Recurse", SWITCH,
                  help="Delete directories together with everything in them."),
            Param("Force", SWITCH, help="Also match hidden items with wildcards."),
            Param("Filter", STRING, help="Wildcard the names must match."),
            Param("Include", STRINGS, help="Wildcards; only matching names are deleted."),
            Param("Exclude", STRINGS, help="Wildcards; matching names are kept."),
        ),
    )
    args_type = RemoveItemArgs

    def process(self, args: RemoveItemArgs) -> None:
        """Delete each item the paths name."""
        names = _name_filter(args)
        for target in existing_items(self, args, "RemoveItemCommand", args.Force):
            if self.ctx.stopping:
                return
            if names.accepts(os.path.basename(target)):
                self._remove(target, bool(args.Recurse))

    def _remove(self, path: str, recurse: bool) -> None:
        is_real_dir = os.path.isdir(path) and not os.path.islink(path)
        try:
            if not is_real_dir:
                os.unlink(path)
                return
            if recurse:
                self._remove_tree(path)
                return
            try:
                os.rmdir(path)
            except OSError:
                if os.listdir(path):
                    self.ctx.write_error(self.ctx.error(
                        f"The item at {path} has children and the Recurse parameter was not "
                        "specified. Use -Recurse to remove it with everything it contains.",
                        _fqid("DirectoryNotEmpty", "RemoveItemCommand"), "WriteError", path,
                        "System.IO.IOException"))
                    return
                raise
        except OSError as exc:
            _io_error(self.ctx, exc, path, "RemoveFileSystemItem", "RemoveItemCommand",
                      "WriteError")

    def _remove_tree(self, path: str) -> None:
        import shutil

        def failed(_func: Callable[..., object], failed_path: str, exc: BaseException) -> None:
            if isinstance(exc, OSError):
                _io_error(self.ctx, exc, failed_path, "RemoveFileSystemItem",
                          "RemoveItemCommand", "WriteError")

        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=failed)  # novm
        else:
            shutil.rmtree(path, onerror=lambda f, p, info: failed(f, p, info[1]))
