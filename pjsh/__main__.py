"""Allow ``python -m pjsh``."""

from pjsh.cli import entry

entry()
