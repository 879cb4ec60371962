"""Interpreter speed, side by side with bash and plain Python doing the same work, in one run.

Usage: python bench/interp.py [--scale S] [--rounds N] [--only ROW[,ROW]] [--against PJSH] [--json]

Every row of issue 8's table (see bench/README.md, "Interpreter"):

  foreach-object  ``1..N | ForEach-Object { $_ * 2 } | Measure-Object -Sum`` (N = 1,000,000)
  function        a script function called N times (N = 100,000)
  foreach         ``foreach ($i in 1..N) { $s += $i }`` (N = 1,000,000)
  job-measure     ``Receive-Job $j | Measure-Object`` of a finished 1,000,000-line job
  job-outfile     ``Receive-Job $j | Out-File f`` of the same job
  get-content     ``Get-Content f | Measure-Object -Line`` of a 50 MiB, 524,288-line file
  gci             ``Get-ChildItem -Recurse /usr/lib | Measure-Object``

Only the work is timed, inside each process (pjsh: Get-Date ticks around the statement; bash:
$EPOCHREALTIME; python: perf_counter), so start-up is not part of any figure. Rounds are
interleaved (one sample of every side per round) and medians reported, since the machine may
be shared; the ratios are what matter. ``--scale 0.1`` divides every N (and the file size) by
ten for a quick run; the /usr/lib walk does not scale. ``--against PJSH`` adds a column for
another pjsh executable (a checkout of main, say) measured in the same rounds.

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
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "PJSH_BENCH"


def pjsh_argv(exe: str | None = None) -> list[str]:
    """The given pjsh, else the console script beside this interpreter, else python -m pjsh."""
    if exe:
        return [exe, "-NoProfile"]
    script = Path(sys.executable).with_name("pjsh")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "-NoProfile"]
    return [sys.executable, "-m", "pjsh", "-NoProfile"]


@dataclass
class Side:
    """One way of doing a row's work: the command and how it reports its time."""

    label: str
    argv: list[str]
    samples: list[float] = field(default_factory=list)  # milliseconds
    error: str = ""


@dataclass
class Row:
    """One row of the table: the pjsh sides and the baselines, over the same item count."""

    key: str
    label: str
    items: int
    unit: str
    sides: list[Side]
    baseline: str  # label of the side the ratio is taken against
    target: str


def measure(argv: list[str]) -> tuple[float | None, str]:
    """Run a command; its stdout carries ``PJSH_BENCH <ms>``. Returns (ms, error)."""
    proc = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                          check=False)
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith(MARK):
            try:
                return float(line.split()[1]), ""
            except (IndexError, ValueError):
                break
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    out = proc.stdout.decode(errors="replace").strip().splitlines()
    return None, f"exit {proc.returncode}: " + ((err or out or [""])[-1])[:200]


def pjsh_timed(setup: str, work: str) -> str:
    """A pjsh script timing ``work`` (run after ``setup``) with Get-Date ticks."""
    return (f"{setup}\n$__t0 = (Get-Date).Ticks\n{work}\n"
            f'"{MARK} $(((Get-Date).Ticks - $__t0) / 10000)"\n')


def bash_timed(setup: str, work: str) -> str:
    """A bash script timing ``work`` with $EPOCHREALTIME (bash 5)."""
    return (f"{setup}\nt0=$EPOCHREALTIME\n{work}\nt1=$EPOCHREALTIME\n"
            "d=$(( ${t1/./} - ${t0/./} ))\n"
            f"printf '{MARK} %d.%03d\\n' $((d / 1000)) $((d % 1000))\n")


def python_timed(setup: str, work: str) -> str:
    """A python -c program timing ``work`` with perf_counter."""
    body = "\n".join("    " + line for line in work.splitlines())
    return (f"import os, time\n{setup}\ndef work():\n{body}\n"
            f"t0 = time.perf_counter()\nwork()\n"
            f"print('{MARK}', (time.perf_counter() - t0) * 1000)\n")


def build_rows(tmp: str, scale: float, pjsh: list[str], against: list[str] | None,
               only: set[str] | None) -> list[Row]:
    """The rows to measure, with their scripts written to ``tmp``."""
    def n(base: int) -> int:
        return max(1, int(base * scale))

    def ps_sides(setup: str, work: str, name: str) -> list[Side]:
        path = os.path.join(tmp, name + ".ps1")
        with open(path, "w", encoding="utf-8") as f:
            f.write(pjsh_timed(setup, work))
        sides = [Side("pjsh", [*pjsh, "-File", path])]
        if against:
            sides.append(Side("pjsh (against)", [*against, "-File", path]))
        return sides

    bash = shutil.which("bash") or "/bin/bash"
    rows: list[Row] = []
    big = n(1_000_000)
    calls = n(100_000)
    lines = n(524_288)

    rows.append(Row(
        "foreach-object", "1..N | ForEach-Object { $_ * 2 } | Measure-Object -Sum", big,
        "item", [*ps_sides("", f"$r = 1..{big} | ForEach-Object {{ $_ * 2 }} | "
                         "Measure-Object -Sum", "foreach_object"),
         Side("bash", [bash, "-c", bash_timed(
            "s=0", f"for ((i=1;i<={big};i++)); do s=$((s+i*2)); done")]),
           Side("python", [sys.executable, "-c", python_timed(
               "", f"s = 0\nfor i in range(1, {big} + 1):\n    s += i * 2")])],
        "bash", "≤ 2.5 µs per item (PowerShell 7)"))
    rows.append(Row(
        "function", "script function called N times", calls, "call",
        [*ps_sides("function f($x) { $x + 1 }",
                 f"foreach ($i in 1..{calls}) {{ $t = f $i }}", "function"),
         Side("bash", [bash, "-c", bash_timed(
            "f() { r=$(( $1 + 1 )); }", f"for ((i=1;i<={calls};i++)); do f $i; done")]),
           Side("python", [sys.executable, "-c", python_timed(
               "def f(x):\n    return x + 1", f"for i in range(1, {calls} + 1):\n    t = f(i)")])],
        "bash", "≤ 5 µs per call"))
    rows.append(Row(
        "foreach", "foreach ($i in 1..N) { $s += $i }", big, "iteration",
        [*ps_sides("$s = 0", f"foreach ($i in 1..{big}) {{ $s += $i }}", "foreach"),
         Side("bash", [bash, "-c", bash_timed(
            "s=0", f"for ((i=0;i<{big};i++)); do s=$((s+i)); done")]),
           Side("python", [sys.executable, "-c", python_timed(
               "", f"s = 0\nfor i in range(1, {big} + 1):\n    s += i")])],
        "bash", "≤ bash"))

    job_setup = (f"$j = Start-Job {{ seq 1 {big} }}\n$null = Wait-Job $j\n"
                 f"$f = '{tmp}/job-out.txt'")
    redirect = ps_sides(job_setup, "Receive-Job $j -Keep > $f", "job_redirect")[0]
    redirect.label = "Receive-Job > f"
    rows.append(Row(
        "job-measure", "Receive-Job $j | Measure-Object (N-line job)", big, "line",
        [*ps_sides(job_setup, "$r = Receive-Job $j -Keep | Measure-Object", "job_measure"),
         redirect], "Receive-Job > f", "≤ 1 s for 1M lines"))
    redirect2 = Side("Receive-Job > f", redirect.argv)
    rows.append(Row(
        "job-outfile", "Receive-Job $j | Out-File f (N-line job)", big, "line",
        [*ps_sides(job_setup, "Receive-Job $j -Keep | Out-File $f", "job_outfile"), redirect2],
        "Receive-Job > f", "–"))

    data = os.path.join(tmp, "lines.txt")
    if only is None or "get-content" in only:
        with open(data, "w", encoding="utf-8") as fh:
            line = "x" * 99 + "\n"  # 100 bytes a line: 524,288 lines is 50 MiB
            for _ in range(lines):
                fh.write(line)
    rows.append(Row(
        "get-content", "Get-Content f | Measure-Object -Line (50 MiB × scale)", lines, "line",
        [*ps_sides("", f"$r = Get-Content '{data}' | Measure-Object -Line", "get_content"),
         Side("python", [sys.executable, "-c", python_timed(
            "", f"with open({data!r}, encoding='utf-8') as fh:\n    n = sum(1 for _ in fh)")])],
        "python", "≤ 5× python"))
    walk = ("n = 0\nfor root, dirs, files in os.walk('/usr/lib'):\n"
            "    for name in dirs + files:\n"
            "        os.lstat(os.path.join(root, name))\n        n += 1")
    entries = sum(len(d) + len(f) for _, d, f in os.walk("/usr/lib")) \
        if only is None or "gci" in only else 1
    rows.append(Row(
        "gci", "Get-ChildItem -Recurse /usr/lib | Measure-Object", entries, "entry",
        [*ps_sides("", "$r = Get-ChildItem -Recurse /usr/lib -ErrorAction SilentlyContinue | "
                 "Measure-Object", "gci"),
         Side("python", [sys.executable, "-c", python_timed("", walk)])],
        "python", "–"))
    if only is not None:
        rows = [r for r in rows if r.key in only]
    return rows


def fmt_ms(ms: float | None) -> str:
    """Milliseconds as seconds or ms, for the table."""
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def per_item(ms: float | None, items: int) -> str:
    """Cost per item in µs (or ns below 1 µs)."""
    if ms is None:
        return "–"
    us = ms * 1000 / items
    return f"{us:.2f} µs" if us >= 1 else f"{us * 1000:.0f} ns"


def main() -> int:
    """Measure and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every N (default 1.0)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--only", default="", help="comma-separated row keys")
    ap.add_argument("--against", default="", help="another pjsh executable to measure too")
    ap.add_argument("--pjsh", default="", help="the pjsh executable (default: beside python)")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    opts = ap.parse_args()
    only = {k.strip() for k in opts.only.split(",") if k.strip()} or None
    pjsh = pjsh_argv(opts.pjsh or None)
    against = pjsh_argv(opts.against) if opts.against else None
    with tempfile.TemporaryDirectory(prefix="pjsh-bench-interp-") as tmp:
        rows = build_rows(tmp, opts.scale, pjsh, against, only)
        for _ in range(max(1, opts.rounds)):
            for row in rows:
                for side in row.sides:
                    ms, err = measure(side.argv)
                    if ms is None:
                        side.error = err
                    else:
                        side.samples.append(ms)
    if opts.json:
        print(json.dumps([{
            "key": r.key, "label": r.label, "items": r.items, "baseline": r.baseline,
            "target": r.target,
            "sides": {s.label: {"median_ms": statistics.median(s.samples) if s.samples else None,
                                "samples_ms": s.samples, "error": s.error} for s in r.sides},
        } for r in rows], indent=2))
        return 0
    print(f"pjsh: {' '.join(pjsh)}" + (f"   against: {' '.join(against)}" if against else ""))
    print(f"scale {opts.scale}, {opts.rounds} interleaved rounds, medians of the work alone\n")
    for r in rows:
        print(f"{r.label}   (N = {r.items:,}; target {r.target})")
        base = next((s for s in r.sides if s.label == r.baseline), None)
        base_ms = statistics.median(base.samples) if base and base.samples else None
        for s in r.sides:
            ms = statistics.median(s.samples) if s.samples else None
            ratio = (f"{ms / base_ms:6.2f}× {r.baseline}" if ms is not None and base_ms
                     and s is not base else "")
            print(f"  {s.label:<16} {fmt_ms(ms):>10}  {per_item(ms, r.items):>10} per "
                  f"{r.unit:<9} {ratio}" + (f"  [{s.error}]" if s.error else ""))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
