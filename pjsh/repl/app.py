"""The interactive shell: a prompt_toolkit loop over one runspace.

Start-up stays light: this module imports only the standard library at load time; prompt_toolkit,
rich and pygments are imported inside :func:`run_repl`, so ``pjsh -c`` never pays for them.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.history import History
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from pjsh.repl.console_host import ConsoleHost
    from pjsh.runtime.runspace import Runspace

CONTINUATION_PROMPT = ">> "


def _xdg_dir(env: Mapping[str, str], variable: str, default: str) -> str:
    """An XDG base directory: the variable if set to an absolute path, else ``~/<default>``."""
    value = env.get(variable, "")
    if value and os.path.isabs(value):
        return value
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, default)


def profile_path(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_CONFIG_HOME/pjsh/profile.ps1`` (default ``~/.config/pjsh/profile.ps1``)."""
    env = os.environ if env is None else env
    return os.path.join(_xdg_dir(env, "XDG_CONFIG_HOME", ".config"), "pjsh", "profile.ps1")


def history_path(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/pjsh/history`` (default ``~/.local/state/pjsh/history``)."""
    env = os.environ if env is None else env
    return os.path.join(_xdg_dir(env, "XDG_STATE_HOME", os.path.join(".local", "state")),
                        "pjsh", "history")


def exit_status(code: int) -> int:
    """The process status for ``exit N`` (as ``pjsh -c`` computes it)."""
    return code & 0xFF if code >= 0 else 1


def run_profile(runspace: Runspace, path: str) -> int | None:
    """Dot-source the profile script if it exists; return a status if it ran ``exit``."""
    runspace.session.global_scope.set("PROFILE", path)
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        runspace.session.host.write_stream("Warning", f"Cannot read the profile {path}: "
                                                      f"{e.strerror}.")
        return None
    try:
        # Run in the global scope, so the profile's variables and functions stay defined.
        result = runspace.run(text, origin=path)
    except KeyboardInterrupt:
        return None
    if result.incomplete and result.parse_error is not None:
        runspace.report_parse_error(result.parse_error, path)
    if result.exit_code is not None:
        return exit_status(result.exit_code)
    return None


def open_history(path: str, host: ConsoleHost) -> History:
    """The persistent history file (directories created 0700, the file 0600), or an in-memory
    history with a warning when it cannot be written."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        # Command lines can hold secrets: the file is the user's alone, like bash's.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    except OSError as e:
        host.write_stream("Warning", f"Cannot save the command history to {path}: {e.strerror}.")
        return InMemoryHistory()
    return FileHistory(path)


def complete_with_tab(buffer: Buffer) -> None:
    """What Tab does: walk an open menu; else take a single completion at once, or open the
    menu (inserting the common part) when there are several."""
    from prompt_toolkit.completion import CompleteEvent

    if buffer.complete_state is not None:
        buffer.complete_next()
        return
    completer = buffer.completer
    if completer is None:
        return
    found = list(completer.get_completions(buffer.document,
                                           CompleteEvent(completion_requested=True)))
    if len(found) == 1:
        buffer.apply_completion(found[0])
    elif found:
        buffer.start_completion(insert_common_part=True)


def preference(runspace: Runspace, name: str) -> bool:
    """A console switch variable (``$PjshNotifyJobs``, ``$PjshJobToolbar``) as a boolean."""
    from pjsh.runtime.convert import to_bool

    found, value = runspace.session.global_scope.lookup(name)
    return bool(found) and to_bool(value)


def run_line(runspace: Runspace, host: ConsoleHost, text: str) -> int | None:
    """Run one submitted entry, record it for Get-History; return a status if it ran ``exit``."""
    from pjsh.runtime.session import HistoryEntry

    session = runspace.session
    start = datetime.datetime.now()
    status = "Failed"
    code: int | None = None
    try:
        pushed = session.pushed
        if pushed is not None:
            # Enter-Session: the line runs in the remote runspace.
            status = "Completed" if pushed.run_line(text) else "Failed"
        else:
            result = runspace.run(text)
            if result.incomplete and result.parse_error is not None:
                # Submitted anyway (Meta+Enter): show why it cannot run.
                runspace.report_parse_error(result.parse_error)
            status = "Completed" if result.ok else "Failed"
            code = result.exit_code
    except KeyboardInterrupt:
        # Ctrl+C stopped the command: back to the prompt on a fresh line, quietly (as pwsh).
        status = "Stopped"
        host.end_command()
        host.write_host("")
    finally:
        host.end_command()
    history_id = session.history[-1].Id + 1 if session.history else 1
    session.history.append(HistoryEntry(history_id, text, status, start,
                                        datetime.datetime.now()))
    _, limit = session.global_scope.lookup("MaximumHistoryCount")
    if isinstance(limit, int) and 0 < limit < len(session.history):
        del session.history[: len(session.history) - limit]
    return exit_status(code) if code is not None else None


def build_session(runspace: Runspace, history: History | None = None, *,
                  input: Input | None = None, output: Output | None = None) -> PromptSession[str]:
    """The REPL's prompt: highlighting, completion, multi-line entry and its key bindings
    (tests pass a pipe input and DummyOutput)."""
    from prompt_toolkit import PromptSession, search
    from prompt_toolkit.filters import is_searching
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.lexers import PygmentsLexer
    from prompt_toolkit.styles import Style

    from pjsh.repl.completer import PjshCompleter
    from pjsh.repl.lexer import PJSH_STYLE, PjshLexer

    bindings = KeyBindings()

    @bindings.add("enter", filter=is_searching)
    def _enter_search(event: KeyPressEvent) -> None:
        """Enter in a Ctrl+R search takes the found line and runs it (as bash)."""
        search.accept_search()
        _submit(event.app.current_buffer)

    @bindings.add("escape", filter=is_searching, eager=True)
    def _escape_search(event: KeyPressEvent) -> None:
        """Escape in a Ctrl+R search keeps the found line for editing (cursor at its end)."""
        search.accept_search()
        buffer = event.app.current_buffer
        buffer.cursor_position = len(buffer.text)

    @bindings.add("tab", filter=~is_searching)
    def _tab(event: KeyPressEvent) -> None:
        """Tab: a single match is taken at once (no menu left open for a second Tab to
        revert); several open the menu, and further Tabs walk it."""
        complete_with_tab(event.current_buffer)

    def _submit(buffer: Buffer) -> None:
        text = buffer.text
        # Parse with the newline Enter stands for, as scripted mode reads lines: a
        # here-string header (`@"`) only opens a string once its line has ended.
        if text.strip() and runspace.parse(text + "\n").incomplete:
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("enter", filter=~is_searching)
    def _enter(event: KeyPressEvent) -> None:
        """Enter submits a complete entry and starts a continuation line otherwise."""
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            # A completion is selected in the menu: Enter takes it, like Tab would.
            buffer.complete_state = None
            return
        _submit(buffer)

    def continuation(width: int, line_number: int, wrap_count: int) -> str:
        return CONTINUATION_PROMPT if not wrap_count else ""

    return PromptSession(
        history=history,
        lexer=PygmentsLexer(PjshLexer),
        completer=PjshCompleter(runspace.session),
        complete_while_typing=False,
        multiline=True,
        prompt_continuation=continuation,
        key_bindings=bindings,
        style=Style.from_dict(PJSH_STYLE),
        include_default_pygments_style=False,
        input=input,
        output=output,
    )


def run_repl(no_profile: bool = False) -> int:
    """Run the interactive shell until ``exit`` or Ctrl+D; return the process exit status."""
    from prompt_toolkit.formatted_text import ANSI
    from prompt_toolkit.patch_stdout import patch_stdout

    from pjsh.engine import local_options
    from pjsh.jobs.tty import TerminalOwner
    from pjsh.lifecycle import (
        exit_on_signals,
        flush_quietly,
        leave_if_signalled,
        running_jobs,
        stop_jobs_on_exit,
    )
    from pjsh.repl.console_host import ConsoleHost
    from pjsh.repl.notices import NoticeQueue
    from pjsh.repl.prompt import prompt_text
    from pjsh.runtime.runspace import create_runspace

    host = ConsoleHost()
    # Job control: pjsh owns the terminal and lends it to foreground pipelines.
    # Its "suspended" line is left to the notice queue below, which hears every job's stop
    # (Ctrl+Z at the terminal and kill -STOP from outside alike) and prints each once.
    terminal = TerminalOwner.acquire(0, notify=lambda _line: None)
    # The notice queue hears the job engine through its subscriber hook (the engine never
    # imports the console); it reads $PjshNotifyJobs per notice, so turning it off is instant.
    holder: list[Runspace] = []
    notices = NoticeQueue(lambda: bool(holder) and preference(holder[0], "PjshNotifyJobs"))
    from pjsh.remote import REMOTE_MANIFEST
    runspace = create_runspace(local_options(host, interactive=True, terminal=terminal,
                                             job_subscribers=(notices.on_job_event,),
                                             extra_commands=REMOTE_MANIFEST, reads_lines=True))
    holder.append(runspace)
    exit_on_signals(interactive=True)
    warned = False
    try:
        if not no_profile:
            code = run_profile(runspace, profile_path())
            if code is not None:
                return code

        session = build_session(runspace, open_history(history_path(), host))

        def toolbar() -> str:
            return " " + notices.toolbar_text()

        while True:
            leave_if_signalled()
            try:
                pushed = runspace.session.pushed
                message = ANSI(pushed.prompt() if pushed is not None else prompt_text(runspace))
                show_bar = preference(runspace, "PjshJobToolbar")
                # patch_stdout only while reading: notices printed meanwhile go above the
                # prompt (its proxy redraws the typed line intact); while a command runs,
                # notices wait and natives own the real terminal.
                # Set on the session: prompt()'s own arguments cannot turn a toolbar off again.
                session.bottom_toolbar = toolbar if show_bar else None
                session.refresh_interval = 1.0 if show_bar else 0
                with patch_stdout(raw=True):
                    notices.attach(sys.stdout.write)
                    try:
                        text = session.prompt(message)
                    finally:
                        notices.detach()
                if not text.strip():
                    continue
                code = run_line(runspace, host, text)
            except KeyboardInterrupt:
                # Ctrl+C drops the line being typed (or arrived between two commands).
                continue
            except EOFError:
                if runspace.session.pushed is not None:
                    runspace.session.pushed.leave()  # Ctrl+D leaves the entered session
                    continue
                code = 0  # Ctrl+D on an empty line
            if code is not None:
                running = running_jobs(runspace)
                if running and not warned:
                    # Like bash's "There are stopped jobs.": the second exit really leaves.
                    warned = True
                    names = ", ".join(j.name for j in running)
                    host.write_stream("Warning", f"There are running jobs ({names}). Leave again "
                                      "(exit or Ctrl+D) to stop them and exit.")
                    continue
                return code
            warned = False
    finally:
        try:
            if runspace.session.pushed is not None:
                runspace.session.pushed.leave(quiet=True)
            flush_quietly(host)
        finally:
            stop_jobs_on_exit(runspace)
            if terminal is not None:
                terminal.release()
