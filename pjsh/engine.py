"""The engine's composition root: the options every local runspace starts from.

The runtime knows nothing of the built-in commands or of the job engine; this module (above
both) puts them together. The console, ``-c``/scripts and tests build their runspaces with
``create_runspace(local_options(host, ...))``; in-process jobs derive theirs from their
caller's options, and a worker process rebuilds the same registry from its module names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from pjsh.commands import BUILTIN_MANIFEST, VIEW_MODULES, builtin_registry
from pjsh.jobs.engine import LocalJobEngine
from pjsh.runtime.cmdlet import Registry
from pjsh.runtime.host import Host
from pjsh.runtime.runspace import RunspaceOptions
from pjsh.runtime.session import ForegroundTerminal

if TYPE_CHECKING:
    from pjsh.jobs.model import JobObserver


def local_options(host: Host, *, interactive: bool = False, cwd: str | None = None,
                  env: Mapping[str, str] | None = None, native_stdin: int | None = None,
                  script_args: tuple[object, ...] = (),
                  terminal: ForegroundTerminal | None = None,
                  job_subscribers: Sequence[JobObserver] = (),
                  extra_commands: Mapping[str, Sequence[str]] | None = None,
                  reads_lines: bool = False) -> RunspaceOptions:
    """Options for a local runspace: the built-in commands and the local job engine
    (``job_subscribers`` hear the interactive session's job events: the console's notices;
    ``terminal`` is lent to foreground natives: job control). ``extra_commands`` is a
    manifest of an upper layer's command modules (the remoting cmdlets), added to the
    built-in ones; ``reads_lines``: the host reads further input lines (Enter-Session)."""
    registry = builtin_registry() if not extra_commands else _extended_registry(
        tuple((module, tuple(names)) for module, names in extra_commands.items())).copy()
    return RunspaceOptions(host=host, registry=registry, interactive=interactive,
                           cwd=cwd, env=env, native_stdin=native_stdin,
                           script_args=script_args, jobs=LocalJobEngine(job_subscribers),
                           terminal=terminal, reads_lines=reads_lines)


@lru_cache(maxsize=4)
def _extended_registry(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> Registry:
    # The added modules declare no views (they would have to be named here): the first table
    # still imports only the built-in modules that add views.
    return Registry.from_manifest({**BUILTIN_MANIFEST, **dict(extra)}, VIEW_MODULES)

