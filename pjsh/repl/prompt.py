"""The prompt text: pwsh's ``PS /current/dir> ``, or what the user's ``prompt`` function returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pjsh.runtime.runspace import Runspace

# What pwsh shows when the prompt function returns nothing or fails.
FALLBACK_PROMPT = "PS>"


def default_prompt(cwd: str, nested_level: int = 0) -> str:
    """pwsh's built-in prompt: ``PS /home/u> `` (the full path, no ``~``, like pwsh on Linux)."""
    return f"PS {cwd}{'>' * (nested_level + 1)} "


def prompt_text(runspace: Runspace) -> str:
    """The prompt for the next line: the session's ``prompt`` function if defined, else pwsh's."""
    session = runspace.session
    if "prompt" in session.functions:
        return _run_prompt_function(runspace)
    found, level = session.global_scope.lookup("NestedPromptLevel")
    return default_prompt(session.cwd, level if found and isinstance(level, int) else 0)


def _run_prompt_function(runspace: Runspace) -> str:
    """Call ``prompt`` through the runspace, leaving ``$?`` and ``$LASTEXITCODE`` as they were."""
    from pjsh.runtime.convert import to_string
    from pjsh.runtime.streams import ListSink

    session = runspace.session
    _, status = session.global_scope.lookup("?")
    last_exit = session.last_exit_value
    sink = ListSink()
    try:
        runspace.run("prompt", origin="prompt", out=sink)
    except KeyboardInterrupt:
        return FALLBACK_PROMPT
    finally:
        session.global_scope.set("?", status)
        session.last_exit_value = last_exit
    text = " ".join(to_string(item) for item in sink.items)
    return text or FALLBACK_PROMPT
