"""Allow ``python -m pjsh``."""

from pjsh.cli import main

raise SystemExit(main())
