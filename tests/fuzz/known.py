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
    KnownIssue(
        "begin-block-output", "begin-block output AssertionError", "internal",
        r"pjsh internal error: AssertionError: \.",
        '1..3 | ForEach-Object -Begin {"header"} -Process {$_} | Sort-Object'),
    KnownIssue(
        "nul-in-argv-env", "NUL bytes in argv/env", "internal",
        r"pjsh internal error: ValueError: embedded null byte",
        '$env:FZ = "a`0b"; true', script=r"`0"),
    KnownIssue(
        "bnot-conversion", "-bnot/-split/Start-Sleep/redirection internal errors", "internal",
        r'pjsh internal error: ConversionError: Cannot convert (value|the) .* to type '
        r'"System\.Int\d+"', '-bnot "x"', script=r"-bnot"),
    KnownIssue(
        "lastexitcode-not-int", "new: a value that is not an int assigned to $LASTEXITCODE",
        "internal",
        r'pjsh internal error: ConversionError: Cannot convert (value|the) .* to type '
        r'"System\.Int32"', "$LASTEXITCODE = @()", script=r"(?i)LASTEXITCODE"),
    KnownIssue(
        "split-index-error", "-bnot/-split/Start-Sleep/redirection internal errors", "internal",
        r"pjsh internal error: IndexError: list index out of range", "1 -split @()",
        script=r"(?i)-split"),
    # Internal errors found by the grammar fuzzer, not in the issue: reported as new bugs.
    KnownIssue(
        "wildcard-bad-range", "new: a wildcard with a reversed range (`'a' -like '[z-a]'`, "
        "`Get-ChildItem '[z-a]'`)", "internal", r"pjsh internal error: error: bad character range",
        "'a' -like '[z-a]'", script=r"\["),
    KnownIssue(
        "wildcard-bad-escape", "new: a wildcard whose translation to a regex ends in a stray "
        "escape (seen with Set-Location and Remove-Variable -Include)", "internal",
        r"pjsh internal error: error: bad escape \\Z at position",
        "true -- | ConvertTo-Json ((0 -le 42)) -Depth 0x10 -EnumsAsStrings:$true -AsArray:$true | "
        "Set-Location -PassThru"),
    KnownIssue(
        "get-history-ids", "new: `$null | Get-History`, `Get-History -Id 1, 2`", "internal",
        r'pjsh internal error: ConversionError: Cannot convert the ".*" value of type '
        r'"System\.Object\[\]" to type "System\.Int32"', "Get-History -Id 1, 2",
        script=r"(?i)Get-History|\| *(h|history|ghy)\b"),
    KnownIssue(
        "start-job-empty-string", "new: `Start-Job ''`", "internal",
        r"pjsh internal error: AttributeError: 'NoneType' object has no attribute 'startswith'",
        "Start-Job ''", script=r"(?i)Start-Job|sajb"),
    KnownIssue(
        "as-byte-stream-conversion", "new: `Set-Content x -Value 'abc' -AsByteStream`", "internal",
        r'pjsh internal error: ConversionError: Cannot convert (value|the) .* to type '
        r'"System\.Int32"', "Set-Content o.bin -Value 'abc' -AsByteStream", script=r"(?i)-asb"),
    KnownIssue(
        "select-string-empty-pattern", "new: `Select-String -Pattern @() -NotMatch -AllMatches`",
        "internal", r"pjsh internal error: IndexError: list index out of range",
        "Select-String -Pattern @() -InputObject 'a' -NotMatch -AllMatches",
        script=r"(?i)(Select-String|sls) .*-Pattern @\(\)"),
    # Parser deviations from PowerShell found by the grammar fuzzer (the generated script is
    # valid PowerShell; pjsh reports a ParserError). Reported as new bugs.
    KnownIssue(
        "star-redirect-after-expression", "new: `*>` after an expression is read as `*`",
        "parse", r"You must provide a value expression following the '\*' operator",
        "'x' *> out.txt", script=r"\*>"),
    KnownIssue(
        "star-redirect-swallows-input", "new: `*>` after an expression is read as `*` (see "
        "star-redirect-after-expression); when that line also opens a here-string, the rest of "
        "it is read as new statements, one of which opens a string that swallows the input "
        "after it", "exit", r"before the end of its input",
        "'x' *> o.txt, @\"\nline\n\"@ -eq 1\n'after'", script=r'\*>[^\n]*@"\n'),
    KnownIssue(
        "unary-operator-operands", "new: a unary operator after a cast (`[int]-not $x`, "
        "`[bool]!$x`), or before a hashtable or a cast (`-@{a = 1}`, `+@{}`, `-[double]@()`), "
        "is rejected", "parse",
        r"Unexpected token '(!|-not|-bnot)|Missing closing '\)'|"
        r"The assignment expression is not valid|An expression was expected after '\('",
        "[bool]!$true", script=r"\]\s*(!|-not|-bnot)|[-+]@\{|-\["),
)


def classify(kind: str, detail: str, script: str) -> KnownIssue | None:
    """The known issue that explains a finding, if any."""
    for issue in KNOWN_ISSUES:
        if issue.matches(kind, detail, script):
            return issue
    return None
