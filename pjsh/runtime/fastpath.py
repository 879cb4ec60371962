"""The switch for the interpreter's fast paths (see docs/architecture.md, "Interpreter speed").

Every fast path (per-stage binding plans, compiled statements and expressions, cached script
binders) must give exactly what the general code gives. ``ENABLED`` is read at each use, so
tests flip it to run the same script both ways and compare; ``PJSH_NO_FASTPATH=1`` in the
environment starts pjsh with them off (to rule them out when chasing a bug).
"""

from __future__ import annotations

import os

ENABLED: bool = os.environ.get("PJSH_NO_FASTPATH", "") in ("", "0")


def set_enabled(on: bool) -> bool:
    """Turn the fast paths on or off; returns the previous setting (tests restore it)."""
    global ENABLED
    previous = ENABLED
    ENABLED = on
    return previous


# Bumped after every change to what a command name can resolve to (a function defined in
# any scope, an alias set, a command registered), in any runspace of the process: a call
# site keeps its last resolution while this is unchanged (see pjsh.runtime.fastcall).
GENERATION: int = 0


def definitions_changed() -> None:
    """Tell call sites that a function, alias or command was defined (after the change)."""
    global GENERATION
    GENERATION += 1
