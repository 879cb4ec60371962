"""Variable scopes: a chain of case-insensitive tables, child to global."""

from __future__ import annotations

_MISSING = object()


class Scope:
    """One scope level. Reads walk up to the global scope; writes go to this scope."""

    __slots__ = ("_nothing", "_vars", "is_script", "parent")

    def __init__(self, parent: Scope | None = None, is_script: bool = False,
                 table: dict[str, tuple[str, object]] | None = None) -> None:
        self.parent = parent
        self.is_script = is_script
        # (``table``: the entries of a function call's new scope, made by its binding plan.)
        self._vars: dict[str, tuple[str, object]] = {} if table is None else table
        # Variables holding AutomationNull (assigned the result of a command that output
        # nothing): they read as $null everywhere, but @($v) is empty and `$v | ...` sends
        # nothing. Kept beside the value so no reader can ever meet a sentinel object.
        self._nothing: set[str] | None = None

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
        if self._nothing:
            self._nothing.discard(key)

    def set_key(self, key: str, name: str, value: object) -> None:
        """``set`` for a caller that has the lower-cased name already (compiled code)."""
        old = self._vars.get(key)
        self._vars[key] = (old[0] if old else name, value)
        if self._nothing:
            self._nothing.discard(key)

    def set_nothing(self, name: str) -> None:
        """Assign AutomationNull: the variable reads as $null but enumerates as nothing."""
        self.set(name, None)
        if self._nothing is None:
            self._nothing = set()
        self._nothing.add(name.lower())

    def holds_nothing(self, name: str) -> bool:
        """Whether the variable visible from here holds AutomationNull (see set_nothing)."""
        key = name.lower()
        scope: Scope | None = self
        while scope is not None:
            if key in scope._vars:
                nothing = scope._nothing
                return nothing is not None and key in nothing
            scope = scope.parent
        return False

    def entry(self, key: str) -> tuple[str, object] | None:
        """This scope's own stored entry for a lower-cased name (None: not here), to put
        back later with :meth:`restore_entry`."""
        return self._vars.get(key)

    def restore_entry(self, key: str, entry: tuple[str, object] | None) -> None:
        """Put back what :meth:`entry` returned: the variable as it was, or gone again."""
        if entry is None:
            self._vars.pop(key, None)
        else:
            self._vars[key] = entry
        if self._nothing:
            self._nothing.discard(key)

    def remove(self, name: str) -> bool:
        """Delete a variable from this scope; tell whether it existed."""
        if self._nothing:
            self._nothing.discard(name.lower())
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
