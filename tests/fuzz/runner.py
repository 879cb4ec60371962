"""Runs generated scripts through the real ``pjsh`` executable and reports what went wrong.

Each pjsh process runs in a sandbox of its own (a fresh temporary directory: the working
directory and HOME, a spill directory, TMPDIR) with PATH = a bin directory of symlinks to a few
harmless programs. Most processes run a *batch*: the scripts arrive on stdin (scripted mode, as
a user's piped script would), each followed by a marker command, an absolute-path native that
prints ``@@FZ-<nonce> <n>`` on stdout and stderr, so the output is cut into per-script pieces.
Every eighth process runs one script alone through ``-c`` or a script file, which may ``exit``.

A finding is one of:
  internal          "pjsh internal error" in a script's output
  traceback         a Python traceback (or "Fatal Python error", "Exception ignored in") anywhere
  hang              a process that did not finish within its time budget
  exit              an exit status other than 0/1, or pjsh ending before the batch's end
  leftover-process  a process of the sandbox (by a token in its environment) alive after pjsh
                    exited
  leftover-file     a spill file (``job-*``) or temporary file left after pjsh exited

Unknown findings are re-run alone and minimised (top-level lines removed while the finding
stays). Findings listed in ``tests/fuzz/known.py`` are reported as known.

Command line (from the worktree root):
    python -m tests.fuzz.runner --seconds 600 --workers 2 --seed 7
    python -m tests.fuzz.runner --seed 7 --script 1234      # run one script alone, show it
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.grammar import NATIVES, SANDBOX_FILES, Script, generate
from tests.fuzz.known import KnownIssue, classify

BATCH = 30  # scripts per pjsh process
SOLO_EVERY = 8  # every eighth process runs one script alone (-c or a file)
BATCH_BUDGET = 25.0  # seconds for a batch process, plus PER_SCRIPT per script
PER_SCRIPT = 1.0
SOLO_BUDGET = 30.0
REAP_GRACE = 15.0  # how long the sandbox's processes may take to go once pjsh has exited

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Fatal Python error|"
                       r"Exception ignored in|Exception in thread")
# The message may span lines (a value with newlines in it); it ends with "This is a bug ...".
INTERNAL = re.compile(r"pjsh internal error(?:.|\n){0,2000}?(?:This is a bug in pjsh[^\n]*|$)")
PARSE_ERROR = re.compile(r"ParserError:[^\n]*\n(?:[^\n]*\n){0,4}?\s*\| (?P<msg>[^\n]+)\n?$",
                         re.MULTILINE)


def pjsh_executable() -> list[str]:
    """The installed ``pjsh`` (the worktree's, with its venv first on PATH)."""
    exe = shutil.which("pjsh")
    return [exe] if exe else [sys.executable, "-m", "pjsh"]


@dataclass
class Finding:
    """Something wrong, with the script that shows it."""

    kind: str
    seed: str
    script: str
    detail: str
    known: KnownIssue | None = None
    context: list[str] = field(default_factory=list)  # seeds that ran before it, if needed
    minimal: str | None = None

    def describe(self) -> str:
        """A report of the finding: kind, seed, detail, script (minimised if it could be)."""
        label = f"known: {self.known.name} ({self.known.issue})" if self.known else "NEW"
        lines = [f"[{self.kind}] {label} seed {self.seed}", "  detail: " +
                 self.detail.strip().replace("\n", "\n          ")[:1500]]
        if self.context:
            lines.append("  only after the scripts of seeds " + ", ".join(self.context))
        lines.append("  script:\n    " + self.script.rstrip().replace("\n", "\n    "))
        if self.minimal is not None and self.minimal != self.script:
            lines.append("  minimised:\n    " + self.minimal.rstrip().replace("\n", "\n    "))
        return "\n".join(lines)


@dataclass
class Outcome:
    """What one pjsh process did."""

    pieces: list[str]  # per script: its stdout and stderr
    finished: int  # scripts whose marker arrived
    timed_out: bool
    returncode: int | None
    leftover_processes: list[str]
    leftover_files: list[str]


class Sandbox:
    """The temporary tree all processes of a fuzz run live in."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pjsh-fuzz-"))
        self.bin = self.root / "bin"
        self.bin.mkdir()
        for name in NATIVES:
            target = shutil.which(name, path="/usr/bin:/bin")
            assert target is not None, f"{name} not found"
            (self.bin / name).symlink_to(target)
        self.mark = self.root / "mark"
        self.mark.write_text("#!/bin/sh\nprintf '\\n%s\\n' \"$1\"\nprintf '\\n%s\\n' \"$1\" >&2\n")
        self.mark.chmod(0o755)
        self.nonce = os.urandom(4).hex()
        self._count = 0
        self._lock = threading.Lock()

    def new_dir(self) -> Path:
        """A fresh directory for one process: work (cwd and HOME), xdg (spill), tmp."""
        with self._lock:
            self._count += 1
            d = self.root / f"p{self._count}"
        for sub in ("work", "xdg", "tmp"):
            (d / sub).mkdir(parents=True)
        for rel, text in SANDBOX_FILES.items():
            path = d / "work" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return d

    def env(self, d: Path) -> dict[str, str]:
        """The environment of a sandboxed pjsh: harmless PATH, everything else inside ``d``."""
        return {"PATH": str(self.bin), "HOME": str(d / "work"), "XDG_RUNTIME_DIR": str(d / "xdg"),
                "TMPDIR": str(d / "tmp"), "NO_COLOR": "1", "COLUMNS": "120",
                "LC_ALL": "C.UTF-8", "PJSH_FUZZ_TOKEN": f"{self.nonce}-{d.name}"}

    def close(self) -> None:
        """Remove the tree."""
        shutil.rmtree(self.root, ignore_errors=True)


def _marker(sandbox: Sandbox, n: int) -> str:
    return f"@@FZ-{sandbox.nonce} {n}"


def _processes_with(token: str) -> dict[int, str]:
    """Live processes (not zombies) whose environment holds ``token``: pid -> command line."""
    found: dict[int, str] = {}
    needle = token.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle not in fh.read():
                    continue
            stat = Path(f"/proc/{entry}/stat").read_text()
            if stat[stat.rindex(")") + 2:].split()[0] == "Z":
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        found[int(entry)] = cmdline.decode(errors="replace").strip()
    return found


def run_process(sandbox: Sandbox, scripts: list[Script], mode: str = "stdin",
                scale: float = 1.0) -> Outcome:
    """Run scripts in one pjsh process (``mode``: stdin batch, ``command`` or ``file``) within
    ``scale`` times the time budget."""
    d = sandbox.new_dir()
    env = sandbox.env(d)
    work = d / "work"
    stdin_data: bytes | None = None
    if mode == "stdin":
        # A native cannot start once a script has removed the current directory: then the
        # marker comes from Write-Host, on stdout only.
        text = "".join(f"{s.text}& '{sandbox.mark}' '{_marker(sandbox, i)}'; "
                       f"if (-not $?) {{ Write-Host \"`n{_marker(sandbox, i)}\" }}\n"
                       for i, s in enumerate(scripts))
        argv = [*pjsh_executable(), "-NoProfile"]
        stdin_data = text.encode()
        budget = BATCH_BUDGET + PER_SCRIPT * len(scripts)
    else:
        (script,) = scripts
        if mode == "command":
            argv = [*pjsh_executable(), "-NoProfile", "-c", script.text]
        else:
            (work / "fz.ps1").write_text(script.text)
            argv = [*pjsh_executable(), "-NoProfile", "fz.ps1"]
        budget = SOLO_BUDGET
    budget *= scale
    proc = subprocess.Popen(argv, cwd=work, env=env, start_new_session=True,
                            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timed_out = False
    try:
        out, err = proc.communicate(stdin_data, timeout=budget)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    token = env["PJSH_FUZZ_TOKEN"]
    deadline = time.monotonic() + REAP_GRACE
    left = _processes_with(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _processes_with(token)
    for pid in left:  # ours (they carry the token): clean up after the finding is recorded
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    files = sorted(glob.glob(str(d / "xdg" / "**" / "job-*"), recursive=True))
    files += sorted(str(p) for p in (d / "tmp").iterdir())
    for spill_dir in (os.environ.get("XDG_RUNTIME_DIR"), tempfile.gettempdir()):
        if spill_dir:
            files += glob.glob(os.path.join(spill_dir, "**", f"job-{proc.pid}-*"), recursive=True)
    stdout = out.decode("utf-8", "surrogateescape")
    stderr = err.decode("utf-8", "surrogateescape")
    if mode == "stdin":
        pieces_out = _split(stdout, sandbox, len(scripts))
        pieces_err = _split(stderr, sandbox, len(scripts))
        # The first script whose marker is missing is where the input went astray (a later
        # marker can still show when a string swallowed only part of the input).
        finished = next((i for i in range(len(scripts)) if _marker(sandbox, i) not in stdout),
                        len(scripts))
        pieces = [a + b for a, b in zip(pieces_out, pieces_err, strict=True)]
    else:
        finished = 0 if timed_out else 1
        pieces = [stdout + stderr]
    if not left and not files and not timed_out:
        shutil.rmtree(d, ignore_errors=True)
    return Outcome(pieces, finished, timed_out, None if timed_out else proc.returncode,
                   [f"{pid}: {cmd}" for pid, cmd in sorted(left.items())], files)


def _split(text: str, sandbox: Sandbox, n: int) -> list[str]:
    """Cut output at the markers into one piece per script (the rest goes to the next one)."""
    pieces = []
    rest = text
    for i in range(n):
        mark = "\n" + _marker(sandbox, i) + "\n"
        head, sep, tail = rest.partition(mark)
        pieces.append(head)
        rest = tail if sep else ""
        if not sep:
            pieces.extend([""] * (n - i - 1))
            break
    if rest and pieces:
        pieces[-1] += rest
    return pieces


def _traceback_detail(piece: str) -> str:
    start = TRACEBACK.search(piece)
    assert start is not None
    return piece[start.start():][:3000]


def inspect(scripts: list[Script], outcome: Outcome, mode: str) -> list[Finding]:
    """The findings of one process: per-script output checks, then process-level ones."""
    found: list[Finding] = []

    def add(kind: str, i: int, detail: str) -> None:
        i = min(i, len(scripts) - 1)
        s = scripts[i]
        context = [x.seed for x in scripts[:i]]
        # State carries over between the scripts of a batch, so the cause may be in an earlier
        # one: a known issue's script pattern may match any of them.
        seen = "".join(x.text for x in scripts[:i + 1])
        found.append(Finding(kind, s.seed, s.text, detail, classify(kind, detail, seen),
                             context))

    for i, piece in enumerate(outcome.pieces):
        if TRACEBACK.search(piece):
            add("traceback", i, _traceback_detail(piece))
        for m in INTERNAL.finditer(piece):
            add("internal", i, m.group(0))
    if outcome.timed_out:
        add("hang", outcome.finished, "did not finish within its time budget")
    elif mode == "stdin" and outcome.finished < len(scripts) and \
            not scripts[outcome.finished].solo:
        add("exit", outcome.finished,
            f"pjsh ended (status {outcome.returncode}) before the end of its input")
    elif outcome.returncode not in (0, 1):
        add("exit", max(0, outcome.finished - 1), f"exit status {outcome.returncode}")
    last = len(scripts) - 1
    if outcome.leftover_processes:
        add("leftover-process", last, "\n".join(outcome.leftover_processes))
    if outcome.leftover_files:
        add("leftover-file", last, "\n".join(outcome.leftover_files))
    return found


def run_alone(sandbox: Sandbox, script: Script) -> list[Finding]:
    """Run one script in a process of its own (a batch of one, or -c for a solo script)."""
    mode = "command" if script.solo else "stdin"
    return inspect([script], run_process(sandbox, [script], mode), mode)


def _reproduces(sandbox: Sandbox, script: Script, kind: str) -> Finding | None:
    for f in run_alone(sandbox, script):
        if f.kind == kind:
            return f
    return None


def confirm_and_minimise(sandbox: Sandbox, finding: Finding, script: Script,
                         deadline: float) -> Finding:
    """Re-run an unknown finding's script alone; if it reproduces, drop top-level lines while
    it still does (until ``deadline``)."""
    alone = _reproduces(sandbox, script, finding.kind)
    if alone is None:
        return finding  # needs the scripts before it: keep the context
    finding.context = []
    lines = script.text.splitlines()
    i = 0
    while i < len(lines) and time.monotonic() < deadline and len(lines) > 1:
        candidate = lines[:i] + lines[i + 1:]
        trial = Script(script.seed, "\n".join(candidate) + "\n", script.tail, script.solo)
        if _reproduces(sandbox, trial, finding.kind) is not None:
            lines = candidate
        else:
            i += 1
    finding.minimal = "\n".join(lines) + "\n"
    return finding


@dataclass
class Report:
    """The result of a fuzz run."""

    seed: str
    scripts: int = 0
    processes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def unknown(self) -> list[Finding]:
        """Findings no known issue explains."""
        return [f for f in self.findings if f.known is None]

    def summary(self) -> str:
        """Counts, then each distinct finding once (known ones counted by issue)."""
        lines = [f"fuzz seed {self.seed}: {self.scripts} scripts in {self.processes} pjsh "
                 f"processes, {self.seconds:.1f} s; {len(self.findings)} findings, "
                 f"{len(self.unknown)} unknown"]
        by_known: dict[str, int] = {}
        for f in self.findings:
            if f.known:
                by_known[f.known.name] = by_known.get(f.known.name, 0) + 1
        for name, count in sorted(by_known.items()):
            lines.append(f"  known {name}: {count}")
        shown: set[tuple[str, str]] = set()
        for f in self.unknown:
            key = (f.kind, re.sub(r"\d+", "N", f.detail.strip().splitlines()[-1] if
                                  f.detail.strip() else ""))
            if key in shown:
                continue
            shown.add(key)
            lines.append(f.describe())
        return "\n".join(lines)


def script_for(seed: str, n: int) -> tuple[Script, str]:
    """Script number ``n`` of a run and the mode it runs in (the layout is fixed per seed)."""
    process, index = divmod(n, BATCH)
    if process % SOLO_EVERY == SOLO_EVERY - 1:
        mode = "command" if process % 2 else "file"
        return generate(f"{seed}:{n}", tail=(n % 3 == 0), solo=True), mode
    return generate(f"{seed}:{n}", tail=(index == BATCH - 1 and n % 2 == 0)), "stdin"


def fuzz(seed: str, seconds: float, max_scripts: int | None = None, workers: int = 2,
         minimise: bool = True, log: bool = False) -> Report:
    """Run generated scripts for ``seconds`` (or ``max_scripts``) on ``workers`` processes."""
    report = Report(seed)
    sandbox = Sandbox()
    started = time.monotonic()
    deadline = started + seconds
    lock = threading.Lock()
    next_process = [0]

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                p = next_process[0]
                if max_scripts is not None and p * BATCH >= max_scripts:
                    return
                next_process[0] += 1
            first = p * BATCH
            if p % SOLO_EVERY == SOLO_EVERY - 1:
                script, mode = script_for(seed, first)
                scripts = [script]
            else:
                count = BATCH if max_scripts is None else min(BATCH, max_scripts - first)
                scripts = [script_for(seed, first + i)[0] for i in range(count)]
                mode = "stdin"
            outcome = run_process(sandbox, scripts, mode)
            if outcome.timed_out:
                # On a loaded machine a batch of many Start-Jobs can be slow without hanging:
                # a hang is one that a run with three times the budget does not finish either.
                outcome = run_process(sandbox, scripts, mode, scale=3.0)
            found = inspect(scripts, outcome, mode)
            for f in found:
                if f.known is None and minimise:
                    s = next(x for x in scripts if x.seed == f.seed)
                    confirm_and_minimise(sandbox, f, s, time.monotonic() + 60)
            with lock:
                report.processes += 1
                report.scripts += len(scripts)
                report.findings.extend(found)
            if log:
                print(f"process {p}: {len(scripts)} scripts ({mode}), {len(found)} findings "
                      f"[{report.scripts} scripts, {time.monotonic() - started:.0f} s]",
                      file=sys.stderr, flush=True)
                for f in found:
                    if f.known is None:
                        print(f.describe(), file=sys.stderr, flush=True)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        report.seconds = time.monotonic() - started
        if not report.unknown:
            sandbox.close()
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: a fuzz run, or one script of a run by its number."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", default="1")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--scripts", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--script", type=int, default=None, help="run script N of the seed alone")
    ap.add_argument("--no-minimise", action="store_true")
    args = ap.parse_args(argv)
    if args.script is not None:
        script, mode = script_for(args.seed, args.script)
        print(script.text)
        sandbox = Sandbox()
        outcome = run_process(sandbox, [script], "stdin" if mode == "stdin" else mode)
        print("".join(outcome.pieces))
        found = inspect([script], outcome, mode)
        for f in found:
            print(f.describe())
        sandbox.close()
        return 1 if any(f.known is None for f in found) else 0
    report = fuzz(args.seed, args.seconds, args.scripts, args.workers,
                  minimise=not args.no_minimise, log=True)
    print(report.summary())
    return 1 if report.unknown else 0


if __name__ == "__main__":
    raise SystemExit(main())
