"""Known issues: findings the fuzzer reports as "known" instead of failing, each tied to the
line of the "Reliability" issue (or of the fuzzer's report) under which it is being fixed.

Reviewed list, kept short on purpose. An entry matches a finding only when the finding is of
its ``kind``, its detail matches ``detail`` and its script matches ``script``: a new bug with a
similar message still fails. Each entry carries a ``reproduction``;
``test_known_issues_still_reproduce`` runs them, so once a fix lands the test names the entry to
delete (empty the list as fixes land; nothing else is skipped). An entry marked ``race`` shows
only now and then; its reproduction is not asserted, so it is removed by hand with its fix."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownIssue:
    """A known bug: which findings it explains, the issue line it belongs to, a reproduction."""

    name: str
    issue: str  # the line of the Reliability issue (or "new: ..." from the fuzzer's report)
    kind: str  # "internal", "traceback", "hang", "exit", "leftover-process", "leftover-file", "parse"
    detail: str  # regular expression searched in the finding's detail
    reproduction: str  # a script that shows the bug on the code it was listed against
    script: str = ""  # regular expression the failing script must contain too
    # A race that shows only now and then (under load): its reproduction is not required to
    # show on every run, so remove the entry by hand once the fix is in.
    race: bool = False

    def matches(self, kind: str, detail: str, script: str) -> bool:
        """True if a finding of ``kind`` with ``detail`` in ``script`` is this issue."""
        return (kind == self.kind and re.search(self.detail, detail, re.DOTALL) is not None
                and re.search(self.script, script) is not None)


KNOWN_ISSUES: tuple[KnownIssue, ...] = (
    # Parser deviations from PowerShell found by the grammar fuzzer (the generated script is
    # valid PowerShell; pjsh reports a ParserError). Reported as new bugs.
    KnownIssue(
        "star-redirect-swallows-input", "new: a line with a parse error after `*>` (`'x' *> o.txt, @\"`) "
        "that also opens a here-string: the rest of it is read as new statements, one of which "
        "opens a string that swallows the input after it", "exit", r"before the end of its input",
        "'x' *> o.txt, @\"\nline\n\"@ -eq 1\n'after'", script=r'\*>[^\n]*@"\n'),
)


def classify(kind: str, detail: str, script: str) -> KnownIssue | None:
    """The known issue that explains a finding, if any."""
    for issue in KNOWN_ISSUES:
        if issue.matches(kind, detail, script):
            return issue
    return None
