"""Start-up time of pjsh, side by side with a bare asyncio import and bash, in one run.

Usage: python bench/startup.py [--rounds N] [--warmup N] [--json]

The commands run round-robin (one of each per round) so that machine noise, CPU frequency and
cache state hit all of them alike; the ratios are what matter, not the absolute numbers.
Benchmarks report, they never assert: the exit status is always 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_PJSH_OVER_ASYNCIO = 1.5


@dataclass
class Subject:
    """One command under measurement and the wall times it took."""

    key: str
    label: str
    argv: list[str]
    samples_ms: list[float] = field(default_factory=list)
    failures: int = 0
    last_error: str = ""

    def median(self) -> float | None:
        """Median wall time in milliseconds, or None before any sample."""
        return statistics.median(self.samples_ms) if self.samples_ms else None

    def p90(self) -> float | None:
        """90th percentile wall time in milliseconds, or None before any sample."""
        if len(self.samples_ms) < 2:
            return self.median()
        return statistics.quantiles(self.samples_ms, n=10, method="inclusive")[8]


def pjsh_argv() -> list[str]:
    """The installed `pjsh` console script beside this interpreter, else `python -m pjsh`."""
    script = Path(sys.executable).with_name("pjsh")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "pjsh"]


def subjects() -> list[Subject]:
    """The commands to compare; bash is left out when the machine has none."""
    found = [
        Subject("pjsh", "pjsh -NoProfile -c exit", [*pjsh_argv(), "-NoProfile", "-c", "exit"]),
        Subject(
            "asyncio",
            'python -I -c "import asyncio"',
            [sys.executable, "-I", "-c", "import asyncio"],
        ),
    ]
    bash = shutil.which("bash")
    if bash:
        found.append(Subject("bash", "bash -c exit", [bash, "-c", "exit"]))
    return found


def run_once(subject: Subject) -> float | None:
    """Run the command once; return its wall time in ms, or None if it failed to run cleanly."""
    start = time.perf_counter()
    try:
        result = subprocess.run(
            subject.argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
    except OSError as exc:
        subject.last_error = str(exc)
        return None
    elapsed = (time.perf_counter() - start) * 1000.0
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace").strip().splitlines()
        subject.last_error = f"exit {result.returncode}: " + (err[-1] if err else "")
        return None
    return elapsed


def measure(found: list[Subject], rounds: int, warmup: int) -> None:
    """Interleave the commands: warm-up rounds first (discarded), then the measured rounds."""
    for index in range(warmup + rounds):
        for subject in found:
            elapsed = run_once(subject)
            if index < warmup:
                continue
            if elapsed is None:
                subject.failures += 1
            else:
                subject.samples_ms.append(elapsed)


def ratio(found: list[Subject], top: str, bottom: str) -> float | None:
    """Median of ``top`` over median of ``bottom``, or None when either is missing."""
    by_key = {subject.key: subject for subject in found}
    if top not in by_key or bottom not in by_key:
        return None
    numerator, denominator = by_key[top].median(), by_key[bottom].median()
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def report_json(found: list[Subject], rounds: int, warmup: int) -> str:
    """The results as one JSON document."""
    return json.dumps(
        {
            "benchmark": "startup",
            "python": sys.version.split()[0],
            "rounds": rounds,
            "warmup": warmup,
            "commands": {
                s.key: {
                    "label": s.label,
                    "argv": s.argv,
                    "median_ms": s.median(),
                    "p90_ms": s.p90(),
                    "samples_ms": [round(x, 3) for x in s.samples_ms],
                    "failures": s.failures,
                    "last_error": s.last_error or None,
                }
                for s in found
            },
            "ratios": {
                "pjsh/asyncio": ratio(found, "pjsh", "asyncio"),
                "pjsh/bash": ratio(found, "pjsh", "bash"),
            },
            "targets": {"pjsh/asyncio": TARGET_PJSH_OVER_ASYNCIO},
        },
        indent=2,
    )


def _ms(value: float | None) -> str:
    """Format milliseconds for the table."""
    return "-" if value is None else f"{value:.1f}"


def report_text(found: list[Subject], rounds: int, warmup: int) -> str:
    """The results as a small human-readable table plus the ratios."""
    width = max(len(s.label) for s in found)
    lines = [
        f"startup wall time, {rounds} interleaved rounds after {warmup} warm-up rounds "
        f"(python {sys.version.split()[0]})",
        f"{'command':<{width}}  {'median ms':>9}  {'p90 ms':>9}",
    ]
    for s in found:
        lines.append(f"{s.label:<{width}}  {_ms(s.median()):>9}  {_ms(s.p90()):>9}")
        if s.failures:
            lines.append(f"  ! {s.failures} run(s) failed; last: {s.last_error}")
    lines.append("")
    over_asyncio = ratio(found, "pjsh", "asyncio")
    if over_asyncio is None:
        lines.append("pjsh / asyncio import: n/a")
    else:
        verdict = "ok" if over_asyncio <= TARGET_PJSH_OVER_ASYNCIO else "OVER TARGET"
        lines.append(
            f"pjsh / asyncio import: {over_asyncio:.2f}x "
            f"(target <= {TARGET_PJSH_OVER_ASYNCIO}x: {verdict})"
        )
    over_bash = ratio(found, "pjsh", "bash")
    lines.append("pjsh / bash:           " + ("n/a" if over_bash is None else f"{over_bash:.1f}x"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, print; always 0 because benchmarks never fail a build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded warm-up rounds (3)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    options = parser.parse_args(argv)
    rounds, warmup = max(1, options.rounds), max(0, options.warmup)
    found = subjects()
    measure(found, rounds, warmup)
    report = report_json if options.json else report_text
    print(report(found, rounds, warmup))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
