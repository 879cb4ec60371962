"""The built-in cmdlets, one module per family, and the registry a runspace starts from."""

from __future__ import annotations

from pjsh.runtime.cmdlet import Registry

# Every module of built-in cmdlets, in registration order. The registry is built from this
# list alone: adding a command module means adding it here.
BUILTIN_MODULES: tuple[str, ...] = tuple(f"pjsh.commands.{name}" for name in (
    "location", "items", "process", "json", "utility", "objects", "output", "commandinfo",
    "variables", "jobs", "help", "hostui",
))

_builtins: Registry | None = None


def builtin_registry() -> Registry:
    """A fresh copy of the built-in command table (the modules are imported once)."""
    global _builtins
    if _builtins is None:
        _builtins = Registry.from_modules(BUILTIN_MODULES)
    return _builtins.copy()
