"""Tab completion: commands, parameters, parameter values, variables and paths.

The context (which command a word belongs to, whether it names a parameter or its value) comes
from the same tokens the parser produces (:func:`pjsh.lang.parser.parse`), never from a second
lexer. Parameter names, their help text and their allowed values come from each cmdlet's one
parameter table (``spec.params`` plus the binder's common parameters). Imported only by the REPL.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from pjsh.lang.parser import parse
from pjsh.lang.tokens import Token, TokenKind

if TYPE_CHECKING:
    from pjsh.runtime.cmdlet import Cmdlet, Param
    from pjsh.runtime.session import Session

# Variables the engine answers without a scope entry.
AUTOMATIC_VARIABLES = ("_", "PSItem", "args", "input", "true", "false", "null", "?",
                       "LASTEXITCODE", "PWD", "PID", "Error", "HOME")
SCOPE_PREFIXES = ("global", "script", "local", "private", "using")

# Tokens after which a new command starts.
_COMMAND_STARTERS_PUNCT = frozenset({"|", "{", "(", "$(", "@("})
_COMMAND_STARTERS_OP = frozenset({"&&", "||", "&"})
_OPENERS = frozenset({"(", "{", "$(", "@(", "@{", "["})
_CLOSERS = frozenset({")", "}", "]"})
_QUOTES = ("'", '"')
# Characters that make a path need quotes on a pjsh command line.
_NEEDS_QUOTES = frozenset(" \t'\"$`&|;(){}<>,@#")

# `$j.St`, `$j.ChildJobs[0].`: a variable, then property names and constant indexes only (all
# completion may evaluate: it never calls a method or runs a command).
_MEMBER_ACCESS = re.compile(
    r"(?<![\w$`])\$(?P<var>(?:global:|script:)?[A-Za-z_]\w*)"
    r"(?P<chain>(?:\.[A-Za-z_]\w*|\[\d+\])*)\.(?P<typed>[A-Za-z_]\w*)?$")
_CHAIN_STEP = re.compile(r"\.(?P<name>[A-Za-z_]\w*)|\[(?P<index>\d+)\]")


@dataclass(frozen=True)
class CompletionContext:
    """What the word before the cursor is: its text, where it starts, and what it names.

    ``kind`` is one of ``command``, ``parameter``, ``value``, ``variable``, ``path``,
    ``number`` (a number being typed: only job ids complete it);
    ``command`` is the command the word is an argument of (if any), ``parameter`` the
    parameter name the word is a value of (``value`` only).
    """

    kind: str
    word: str
    start: int
    command: str | None = None
    parameter: str | None = None


def _has_line_break(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` holds a newline that is not a backtick continuation."""
    gap = text[start:end]
    idx = gap.find("\n")
    while idx >= 0:
        before = gap[:idx].rstrip("\r \t")
        if not before.endswith("`"):
            return True
        idx = gap.find("\n", idx + 1)
    return False


def _starts_command(text: str, before: Sequence[Token], word_start: int) -> bool:
    """Whether a word starting at ``word_start`` is in command-name position."""
    if not before:
        return True
    last = before[-1]
    if _has_line_break(text, last.span.end, word_start):
        return True
    if last.kind is TokenKind.SEMI or last.kind is TokenKind.NEWLINE:
        return True
    if last.kind is TokenKind.PUNCT and last.text in _COMMAND_STARTERS_PUNCT:
        return True
    return last.kind is TokenKind.OPERATOR and last.text in _COMMAND_STARTERS_OP


def _enclosing_command(text: str, before: Sequence[Token], word_start: int) -> str | None:
    """The command name of the pipeline element the cursor is in (skipping nested groups)."""
    depth = 0
    boundary = word_start
    for tok in reversed(before):
        if depth == 0 and _has_line_break(text, tok.span.end, boundary):
            return None
        boundary = tok.span.start
        if tok.kind is TokenKind.PUNCT and tok.text in _CLOSERS:
            depth += 1
            continue
        if tok.kind is TokenKind.PUNCT and tok.text in _OPENERS:
            if depth == 0:
                return None
            depth -= 1
            continue
        if depth:
            continue
        if tok.kind in (TokenKind.SEMI, TokenKind.NEWLINE):
            return None
        if tok.kind is TokenKind.PUNCT and tok.text == "|":
            return None
        if tok.kind is TokenKind.OPERATOR and tok.text in ("&&", "||"):
            return None
        if tok.kind is TokenKind.COMMAND:
            return tok.text
    return None


def analyze(text: str) -> CompletionContext:
    """Classify the word that ends at the end of ``text`` (the text before the cursor)."""
    tokens = parse(text).tokens
    end = len(text)
    covered = max((t.span.end for t in tokens), default=0)
    current: Token | None = None
    if tokens and tokens[-1].span.end == end and tokens[-1].span.start < end:
        current = tokens[-1]
        start = current.span.start
    elif covered < end and text[covered:].strip():
        # The parser stopped short (an unterminated string, a lone `$`): the word is the tail.
        tail = text[covered:].lstrip()
        if not tail.startswith(_QUOTES):
            tail = tail.split()[-1]
        start = end - len(tail)
    else:
        start = end
    word = text[start:end]
    before = [t for t in tokens if t.span.end <= start]

    if current is not None and current.kind is TokenKind.PARAMETER and word.endswith(":"):
        # `-State:` with nothing after it yet: complete the value right after the colon.
        command = _enclosing_command(text, before, start)
        return CompletionContext("value", "", end, command, word[1:-1])
    if current is not None and current.kind is TokenKind.NUMBER:
        # A number completes only as a job id (`fg 2`, `-Id 2`); elsewhere it stays as typed.
        command = _enclosing_command(text, before, start)
        parameter = None
        if before and before[-1].kind is TokenKind.PARAMETER:
            parameter = before[-1].text[1:].rstrip(":")
        return CompletionContext("number", word, start, command, parameter)
    if current is not None and current.kind is TokenKind.COMMENT:
        return CompletionContext("path", "", end)
    if word.startswith(("$", "@")) and (current is None or current.kind in (
            TokenKind.VARIABLE, TokenKind.SPLAT, TokenKind.GENERIC, TokenKind.COMMAND)):
        return CompletionContext("variable", word, start)
    if (current is not None and current.kind is TokenKind.COMMAND) or (
            current is None and _starts_command(text, before, start)):
        return CompletionContext("command", word, start)
    command = _enclosing_command(text, before, start)
    if word.startswith("-") and command is not None and (
            current is None or current.kind in (TokenKind.PARAMETER, TokenKind.GENERIC)):
        return CompletionContext("parameter", word, start, command)
    if before and before[-1].kind is TokenKind.PARAMETER and command is not None:
        prev = before[-1]
        adjacent = prev.text.endswith(":") and prev.span.end == start
        separate = not prev.text.endswith(":") and prev.span.end < start
        if adjacent or separate:
            return CompletionContext("value", word, start, command, prev.text[1:].rstrip(":"))
    return CompletionContext("path", word, start, command)


def _matches(name: str, typed: str) -> bool:
    """Case-insensitive prefix match, or a wildcard match when the typed text has one."""
    if any(c in typed for c in "*?["):
        return fnmatch.fnmatchcase(name.lower(), typed.lower() + ("" if typed.endswith("*") else "*"))
    return name.lower().startswith(typed.lower())


def quote_path(path: str, quote: str = "") -> str:
    """Quote a path for a pjsh command line when it needs it (or when ``quote`` was typed)."""
    if not quote and not any(c in _NEEDS_QUOTES for c in path):
        return path
    if quote == '"':
        escaped = path.replace("`", "``").replace("$", "`$").replace('"', '`"')
        return f'"{escaped}"'
    return "'" + path.replace("'", "''") + "'"


@runtime_checkable
class RemoteCompletion(Protocol):
    """What an entered remote session offers the completer (pjsh.remote's EnteredSession)."""

    def list_dir(self, typed_dir: str) -> list[tuple[str, bool, bool]]:
        """(name, is a directory, is executable) of a directory there."""

    def command_names(self) -> tuple[list[str], list[str], str]:
        """Programs on its PATH, its functions, its home directory."""


class PjshCompleter(Completer):
    """prompt_toolkit completer over a session's commands, parameters, variables and files."""

    def __init__(self, session: Session) -> None:
        """Complete against ``session`` (read live: new functions and variables show up)."""
        self.session = session
        self._path_cache: tuple[tuple[object, ...], list[tuple[str, str]]] | None = None

    # ------------------------------------------------------------------ prompt_toolkit API
    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterator[Completion]:
        """Completions for the word before the cursor."""
        yield from self.complete(document.text_before_cursor)

    def complete(self, text: str) -> list[Completion]:
        """All completions for the end of ``text``."""
        member = _MEMBER_ACCESS.search(text)
        if member is not None and not _in_string(text, member.start()):
            typed = member.group("typed") or ""
            return [Completion(name, -len(typed), display=name, display_meta=meta)
                    for name, meta in self._members(member.group("var"),
                                                    member.group("chain"), typed)]
        ctx = analyze(text)
        if ctx.kind == "variable":
            items = list(self._variables(ctx.word))
        elif ctx.kind == "command":
            if "/" in ctx.word or ctx.word.startswith((".", "~")) or ctx.word[:1] in _QUOTES:
                items = list(self._paths(ctx.word, executables=True))
            elif ctx.word:
                items = list(self._commands(ctx.word))
            else:
                # Nothing typed yet: like pwsh, offer what is here rather than every command.
                items = list(self._paths(ctx.word))
        elif ctx.kind == "parameter":
            items = list(self._parameters(ctx.command or "", ctx.word))
        elif ctx.kind == "value":
            items = list(self._values(ctx.command or "", ctx.parameter or "", ctx.word))
        elif ctx.kind == "number":
            items = []
            if ctx.parameter is not None:
                param = self._find_param(ctx.command or "", ctx.parameter)
                if param is not None and (param.completer == "job" or param.name == "Job"):
                    items = list(self._values(ctx.command or "", ctx.parameter, ctx.word))
            elif self._positional_job(ctx.command):
                items = list(self._jobs("Id", ctx.word, positional=True))
        elif self._positional_job(ctx.command):
            items = list(self._jobs("Id", ctx.word, positional=True))
        else:
            items = list(self._paths(ctx.word))
        return [Completion(text, -len(ctx.word), display=display, display_meta=meta)
                for text, display, meta in items]

    # ------------------------------------------------------------------ commands
    def _resolve_cmdlet(self, name: str) -> type[Cmdlet] | None:
        registry = self.session.registry
        low = name.lower()
        for _ in range(8):  # aliases may point at aliases; stop on a loop
            target = self.session.aliases.get(low) or registry.aliases.get(low)
            if target is None or target.lower() == low:
                break
            low = target.lower()
        return registry.commands.get(low)

    def _commands(self, typed: str) -> Iterator[tuple[str, str | None, str]]:
        seen: set[str] = set()
        found: list[tuple[str, str | None, str]] = []

        def add(name: str, meta: str) -> None:
            if name.lower() not in seen and _matches(name, typed):
                seen.add(name.lower())
                found.append((name, None, meta))

        remote = self._remote()
        executables = self._executables()
        if remote is not None:
            # An entered session: its functions and its PATH's programs (the cmdlets are
            # the same engine's).
            remote_programs, remote_functions, _home = remote.command_names()
            executables = [(name, "") for name in remote_programs]
            for fn_name in remote_functions:
                add(fn_name, "function")
        else:
            for alias, target in self.session.aliases.items():
                add(alias, f"alias → {target}")
            for fn_key, info in self.session.functions.items():
                add(str(getattr(info, "name", fn_key)), "function")
        for alias, target in self.session.registry.aliases.items():
            add(alias, f"alias → {target}")
        for cls in self.session.registry.commands.values():
            spec = cls.spec
            add(spec.name, spec.summary or "cmdlet")
        pjsh_names = sorted(found, key=lambda item: item[0].lower())
        yield from pjsh_names
        for name, path in executables:
            # File names are case-sensitive: an executable matches only as typed.
            if name.lower() not in seen and name.startswith(typed):
                seen.add(name.lower())
                yield name, None, path

    def _executables(self) -> list[tuple[str, str]]:
        """(name, full path) of every executable on the session's PATH, cached per PATH state."""
        dirs = [d for d in self.session.env.get("PATH", "").split(os.pathsep) if d]
        key: list[object] = []
        for d in dirs:
            try:
                key.append(os.stat(d).st_mtime_ns)
            except OSError:
                key.append(None)
        state = (tuple(dirs), *key)
        if self._path_cache is not None and self._path_cache[0] == state:
            return self._path_cache[1]
        found: dict[str, str] = {}
        for d in dirs:
            try:
                entries = list(os.scandir(d))
            except OSError:
                continue
            for entry in entries:
                if entry.name in found:
                    continue  # the first directory on PATH wins, as when running it
                try:
                    st = entry.stat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                    found[entry.name] = entry.path
        result = sorted(found.items())
        self._path_cache = (state, result)
        return result

    # ------------------------------------------------------------------ parameters
    def _parameter_table(self, command: str) -> list[tuple[str, tuple[str, ...], str, Param | None]]:
        """(name, aliases, help, Param) for every parameter the command accepts."""
        from pjsh.runtime.binder import AS_JOB, COMMON_PARAMS

        cls = self._resolve_cmdlet(command)
        rows: list[tuple[str, tuple[str, ...], str, Param | None]] = []
        names: set[str] = set()
        if cls is not None:
            spec = cls.spec
            params = list(spec.params) + list(COMMON_PARAMS)
            if spec.supports_as_job:
                params.append(AS_JOB)
            for p in params:
                if p.name.lower() in names:
                    continue  # declared once per parameter set group; offer it once
                names.add(p.name.lower())
                rows.append((p.name, p.aliases, p.help, p))
            return rows
        info = self.session.functions.get(command.lower())
        body = getattr(info, "body", None)
        for decl in getattr(body, "params", None) or []:
            name = str(getattr(decl, "name", ""))
            if name and name.lower() not in names:
                names.add(name.lower())
                kind = "switch" if getattr(decl, "switch", False) else ""
                rows.append((name, (), kind, None))
        return rows

    def _find_param(self, command: str, typed: str) -> Param | None:
        """The parameter a typed name (full, alias or unique prefix) means, if any: for a
        cmdlet, exactly what the binder would bind it to."""
        from pjsh.runtime.binder import BindingError, CommandBinder

        cls = self._resolve_cmdlet(command)
        if cls is not None:
            binder = CommandBinder(cls.spec)
            try:
                name, common = binder.resolve_name(typed)
            except BindingError:
                return None
            return binder.common[name] if common else binder.by_name[name][0]
        rows = self._parameter_table(command)
        low = typed.lower()
        for name, aliases, _, param in rows:
            if name.lower() == low or low in (a.lower() for a in aliases):
                return param
        prefixed = [param for name, _, _, param in rows if name.lower().startswith(low)]
        return prefixed[0] if len(prefixed) == 1 else None

    def _parameters(self, command: str, word: str) -> Iterator[tuple[str, str | None, str]]:
        typed = word[1:]
        for name, _, help_text, _ in self._parameter_table(command):
            if _matches(name, typed):
                yield "-" + name, None, help_text

    def _values(self, command: str, parameter: str,
                word: str) -> Iterator[tuple[str, str | None, str]]:
        param = self._find_param(command, parameter)
        if param is not None and param.type.is_switch:
            yield from self._paths(word)  # a switch takes no value: the word is positional
            return
        if param is not None and param.type.choices:
            typed = word.strip("'\"")
            for choice in param.type.choices:
                if _matches(choice, typed):
                    yield quote_path(choice), choice, ""
            return
        completer = param.completer if param is not None else None
        if completer == "command":
            yield from self._commands(word)
        elif completer == "variable":
            for text, display, meta in self._variables("$" + word):
                yield text[1:], display, meta
        elif completer == "directory":
            yield from self._paths(word, directories_only=True)
        elif completer == "job" or (param is not None and param.name == "Job"
                                    and "job" in param.type.name.lower()):
            yield from self._jobs(param.name if param is not None else "Id", word)
        elif completer == "host":
            return  # filled in by the remoting layer
        else:
            yield from self._paths(word)

    # ------------------------------------------------------------------ jobs
    def _job_list(self) -> list[object]:
        """The session's jobs, if its job engine has started (completing never starts it)."""
        if not self.session.has_jobs:
            return []
        manager = getattr(self.session.jobs, "manager", None)
        jobs = getattr(manager, "jobs", None)
        return list(jobs()) if callable(jobs) else []

    def _positional_job(self, command: str | None) -> bool:
        """Whether the command's first positional parameter takes job ids (fg, bg, Stop-Job)."""
        cls = self._resolve_cmdlet(command) if command else None
        if cls is None:
            return False
        return any(p.position == 0 and p.completer == "job" and p.name == "Id"
                   for p in cls.spec.params)

    def _jobs(self, parameter: str, word: str,
              positional: bool = False) -> Iterator[tuple[str, str | None, str]]:
        """Job ids (``-Id``, positional), names (``-Name``) or ``(Get-Job -Id n)`` (``-Job``)."""
        typed = word.strip("'\"")
        for job in self._job_list():
            job_id, name = getattr(job, "Id", None), str(getattr(job, "Name", ""))
            state = str(getattr(job, "State", ""))
            command = " ".join(str(getattr(job, "Command", "")).split())[:40]
            meta = f"{name} {state}  {command}".strip()
            if parameter == "Name" or (positional and typed and not typed.isdigit()):
                if _matches(name, typed):
                    yield quote_path(name), name, f"[{job_id}] {state}  {command}"
            elif parameter == "Job":
                text = f"(Get-Job -Id {job_id})"
                if text.lower().startswith(typed.lower()) or str(job_id).startswith(typed):
                    yield text, f"{job_id} {name}", f"{state}  {command}"
            elif str(job_id).startswith(typed):
                yield str(job_id), f"{job_id}", meta

    # ------------------------------------------------------------------ members
    def _members(self, variable: str, chain: str,
                 typed: str) -> Iterator[tuple[str, str]]:
        """Property and method names of a variable's value reached through ``chain``.

        Only variables, property reads and constant indexes are evaluated: completion must
        never run a method, a command or a script property's code.
        """
        from pjsh.runtime.members import list_members
        from pjsh.runtime.values import lookup_property

        name = variable.split(":", 1)[-1]
        found, value = self.session.global_scope.lookup(name)
        if not found:
            return
        for step in _CHAIN_STEP.finditer(chain):
            if value is None:
                return
            if step.group("name") is not None:
                ok, value = lookup_property(value, step.group("name"))
                if not ok:
                    return
            else:
                index = int(step.group("index"))
                if not isinstance(value, (list, tuple)) or index >= len(value):
                    return
                value = value[index]
        if value is None:
            return
        target = value[0] if isinstance(value, (list, tuple)) and value else value
        seen: set[str] = set()
        for member, kind, _ in list_members(target):
            if member.lower() in seen or not member.lower().startswith(typed.lower()):
                continue
            seen.add(member.lower())
            yield (member + "(" if kind == "Method" else member), kind

    # ------------------------------------------------------------------ variables
    def _variables(self, word: str) -> Iterator[tuple[str, str | None, str]]:
        sigil, name = word[:1], word[1:]
        if name.startswith("{"):
            name = name[1:]
        drive, colon, rest = name.partition(":")
        if colon:
            low = drive.lower()
            if low == "env":
                names = sorted(self.session.env, key=str.lower)
            elif low in SCOPE_PREFIXES:
                names = self._variable_names()
            else:
                return
            for n in names:
                if _matches(n, rest):
                    yield f"{sigil}{drive}:{n}", f"{sigil}{drive}:{n}", ""
            return
        for n in self._variable_names():
            if _matches(n, name):
                yield self._variable_text(sigil, n), sigil + n, ""
        if sigil == "$" and _matches("env:", name):
            yield "$env:", "$env:", "environment variables"

    def _variable_names(self) -> list[str]:
        names: dict[str, str] = {}
        for n in list(self.session.global_scope.names()) + list(AUTOMATIC_VARIABLES):
            names.setdefault(n.lower(), n)
        return sorted(names.values(), key=str.lower)

    @staticmethod
    def _variable_text(sigil: str, name: str) -> str:
        if name == "?" or all(c.isalnum() or c == "_" for c in name):
            return sigil + name
        return sigil + "{" + name + "}"

    # ------------------------------------------------------------------ paths
    def _home(self) -> str:
        return self.session.env.get("HOME") or os.path.expanduser("~")

    def _paths(self, word: str, directories_only: bool = False,
               executables: bool = False) -> Iterator[tuple[str, str | None, str]]:
        quote = word[0] if word[:1] in _QUOTES else ""
        raw = word[1:] if quote else word
        if quote and raw.endswith(quote):
            raw = raw[:-1]
        if quote == "'":
            raw = raw.replace("''", "'")
        elif quote == '"':
            raw = raw.replace("``", "\0").replace("`", "").replace("\0", "`")
        if raw == "~":
            yield quote_path("~/", quote), "~/", ""
            return
        cut = raw.rfind("/") + 1
        typed_dir, prefix = raw[:cut], raw[cut:]
        entries = self._list_dir(typed_dir)
        if entries is None:
            return
        show_hidden = prefix.startswith(".")
        visible = [e for e in entries if show_hidden or not e[0].startswith(".")]
        chosen = [e for e in visible if e[0].startswith(prefix)]
        if not chosen:
            chosen = [e for e in visible if e[0].lower().startswith(prefix.lower())]
        for name, is_dir, is_exec in chosen:
            if directories_only and not is_dir:
                continue
            if executables and not is_dir and not is_exec:
                continue
            suffix = "/" if is_dir else ""
            completed = typed_dir + name + suffix
            text = quote_path(completed, quote)
            if text != completed and completed.startswith("~"):
                # Quotes stop `~` from being expanded: spell the home directory out instead.
                text = quote_path(self._home() + completed[1:], quote)
            yield text, name + suffix, ""

    def _remote(self) -> RemoteCompletion | None:
        """The entered remote session (Enter-Session), whose files and programs are the ones
        to complete, if there is one."""
        pushed = self.session.pushed
        return pushed if isinstance(pushed, RemoteCompletion) else None

    def _list_dir(self, typed_dir: str) -> list[tuple[str, bool, bool]] | None:
        """(name, is a directory, is executable) of the entries of a typed directory, sorted
        (None if it cannot be read): the remote host's in an entered session."""
        remote = self._remote()
        if remote is not None:
            found = remote.list_dir(typed_dir)
            return sorted(found, key=lambda e: e[0].lower()) if found else None
        try:
            entries = sorted(os.scandir(self._expand_dir(typed_dir)),
                             key=lambda e: e.name.lower())
        except OSError:
            return None
        return [(e.name, _is_dir(e), os.access(e.path, os.X_OK)) for e in entries]

    def _expand_dir(self, typed_dir: str) -> str:
        if not typed_dir:
            return self.session.cwd
        if typed_dir == "~/" or typed_dir.startswith("~/"):
            return os.path.join(self._home(), typed_dir[2:])
        if typed_dir.startswith("~"):
            return os.path.expanduser(typed_dir)
        return os.path.join(self.session.cwd, typed_dir)


def _in_string(text: str, at: int) -> bool:
    """Whether position ``at`` is inside a single-quoted string (no expansion there)."""
    return text[:at].count("'") % 2 == 1


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
