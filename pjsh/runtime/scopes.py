"""Variable scopes: a chain of case-insensitive tables, child to global."""

from __future__ import annotations

_MISSING = object()


class Scope:
    """One scope level. Reads walk up to the global scope; writes go to this scope."""

    __slots__ = ("_vars", "is_script", "parent")

    def __init__(self, parent: Scope | None = None, is_script: bool = False) -> None:
        self.parent = parent
        self.is_script = is_script
        self._vars: dict[str, tuple[str, object]] = {}

    def lookup(self, name: str) -> tuple[bool, object]:
        """Find a variable in this scope or an ancestor: (found, value)."""
        key = name.lower()
        scope: Scope | None = self
        while scope is not None:
            entry = scope._vars.get(key, None)
            if entry is not None:
                return True, entry[1]
            scope = scope.parent
        return False, None

    def get_local(self, name: str) -> tuple[bool, object]:
        """Find a variable in this scope only."""
        entry = self._vars.get(name.lower())
        return (True, entry[1]) if entry is not None else (False, None)

    def set(self, name: str, value: object) -> None:
        """Create or overwrite a variable in this scope."""
        key = name.lower()
        old = self._vars.get(key)
        self._vars[key] = (old[0] if old else name, value)

    def remove(self, name: str) -> bool:
        """Delete a variable from this scope; tell whether it existed."""
        return self._vars.pop(name.lower(), None) is not None

    def local_names(self) -> list[str]:
        """Names defined in this scope only."""
        return [orig for orig, _ in self._vars.values()]

    def names(self) -> list[str]:
        """Names visible from this scope, innermost first, without duplicates."""
        seen: dict[str, str] = {}
        scope: Scope | None = self
        while scope is not None:
            for key, (orig, _) in scope._vars.items():
                seen.setdefault(key, orig)
            scope = scope.parent
        return list(seen.values())

    def items(self) -> list[tuple[str, object]]:
        """(name, value) pairs visible from this scope, innermost wins."""
        out: dict[str, tuple[str, object]] = {}
        scope: Scope | None = self
        while scope is not None:
            for key, entry in scope._vars.items():
                out.setdefault(key, entry)
            scope = scope.parent
        return list(out.values())

    @property
    def global_scope(self) -> Scope:
        """The outermost scope."""
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    @property
    def script_scope(self) -> Scope:
        """The nearest enclosing script scope (the global scope if none)."""
        scope: Scope | None = self
        while scope is not None:
            if scope.is_script or scope.parent is None:
                return scope
            scope = scope.parent
        return self
