"""Script blocks as values: the parsed body plus its source text."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pjsh.lang import ast


class ScriptBlock:
    """A ``{ ... }`` value. ``str()`` gives the text between the braces, as PowerShell does."""

    ps_type_names = ("System.Management.Automation.ScriptBlock",)
    ps_property_names = ("Ast",)

    __slots__ = ("body", "source", "text")

    def __init__(self, body: ast.ScriptBlockBody, text: str, source: str = "") -> None:
        self.body = body
        self.text = text
        self.source = source

    @property
    def Ast(self) -> str:
        """The script block's text (a stand-in for its AST)."""
        return "{" + self.text + "}"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ScriptBlock({{{self.text}}})"
