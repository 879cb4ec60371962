"""The console's responsiveness, side by side with its baseline, in one run.

Usage: python bench/console.py [--rounds N] [--keys N] [--jobs N] [--rate N] [--json]

1. Time to first prompt: ``pjsh -NoProfile`` on a pseudo-terminal until its prompt is drawn,
   interleaved round-robin with ``python -c "import asyncio, prompt_toolkit, rich.console"``
   (the interpreter importing what the console is built on). Target: ≤ 1.3×.
2. Keystroke echo latency: one key sent to the pty and the time until pjsh echoes it, at an
   idle prompt and while N background jobs (default 20) each write RATE lines a second (default
   10,000) into their captured output. Targets: p99 under load ≤ 50 ms and ≤ 3× the idle p99.

Benchmarks report, they never assert: the exit status is always 0.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_PROMPT_RATIO = 1.3
TARGET_LOADED_P99_MS = 50.0
TARGET_LOADED_OVER_IDLE = 3.0

# A background writer: RATE lines a second, paced per thousand lines, for SECONDS seconds.
WRITER = """\
import os, sys, time
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
# Whole blocks of 1000 lines per write: the writers cost almost no CPU, so what is measured is
# pjsh capturing their output, not the load generator competing for the cores.
block = "".join("line %d of a busy background job\\n" % i for i in range(1000)).encode()
start = time.monotonic(); n = 0
while time.monotonic() - start < seconds:
    os.write(1, block); n += 1000
    time.sleep(max(0.0, start + n / rate - time.monotonic()))
"""

def pjsh_argv() -> list[str]:
    """The installed pjsh, else the module under this interpreter."""
    exe = shutil.which("pjsh")
    return [exe, "-NoProfile"] if exe else [sys.executable, "-m", "pjsh", "-NoProfile"]


class Pty:
    """A child process on a pseudo-terminal, read without blocking."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        master, slave = os.openpty()
        os.set_blocking(master, False)
        self.master = master
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, start_new_session=True, close_fds=True)
        os.close(slave)
        self.seen = b""

    def wait_for(self, wanted: bytes, timeout: float = 30.0) -> float:
        """Read until ``wanted`` appears in the output read since the last call; return when."""
        deadline = time.monotonic() + timeout
        while wanted not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{wanted!r} not seen; last output {self.seen[-200:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    raise TimeoutError(f"pty closed: {e}") from None
        now = time.monotonic()
        self.seen = self.seen[self.seen.index(wanted) + len(wanted):]
        return now

    def send(self, data: bytes) -> float:
        """Write keys; return when they were sent."""
        os.write(self.master, data)
        return time.monotonic()

    def close(self) -> None:
        """End the child (its jobs go with its session)."""
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        os.close(self.master)


def console_env(home: str) -> dict[str, str]:
    """A clean environment: HOME and state in a temporary folder, no cursor-position requests."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, "config"),
               XDG_STATE_HOME=os.path.join(home, "state"), TERM="xterm-256color",
               PROMPT_TOOLKIT_NO_CPR="1")
    return env


def time_to_prompt(rounds: int, home: str) -> tuple[list[float], list[float]]:
    """(pjsh ms, baseline ms) per round, interleaved."""
    env = console_env(home)
    baseline = [sys.executable, "-c", "import asyncio, prompt_toolkit, rich.console"]
    pjsh_ms: list[float] = []
    base_ms: list[float] = []
    for _ in range(rounds):
        start = time.monotonic()
        child = Pty(pjsh_argv(), env, home)
        try:
            end = child.wait_for(b"PS ")
            child.wait_for(b">")
        finally:
            child.close()
        pjsh_ms.append((end - start) * 1000)
        start = time.monotonic()
        subprocess.run(baseline, check=True)
        base_ms.append((time.monotonic() - start) * 1000)
    return pjsh_ms, base_ms


def echo_latencies(child: Pty, keys: int) -> list[float]:
    """Send ``keys`` letters one at a time; ms until each is echoed."""
    out: list[float] = []
    letters = b"abcdefghijklmnopqrstuvwxyz"
    for i in range(keys):
        if i and i % 40 == 0:
            child.send(b"\x15")  # Ctrl+U: keep the line short, as a user's would be
            child.wait_for(b"\x1b[")
        key = letters[i % len(letters): i % len(letters) + 1]
        sent = child.send(key)
        out.append((child.wait_for(key) - sent) * 1000)
    child.send(b"\x15")
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def main() -> int:
    """Run both measurements and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        prompt_pjsh, prompt_base = time_to_prompt(opts.rounds, home)

        writer = Path(home) / "writer.py"
        writer.write_text(WRITER)
        child = Pty(pjsh_argv(), console_env(home), home)
        try:
            child.wait_for(b"PS ")
            child.wait_for(b">")
            idle = echo_latencies(child, opts.keys)
            # Long enough to outlast the loaded measurement; pjsh's exit stops them.
            seconds = max(30.0, opts.keys * 0.2)
            # Measured once every writer is writing: 20 interpreters starting at once are
            # the load generator's start-up, not the load (they held the first keys 0.2-0.6 s).
            line = (f"1..{opts.jobs} | ForEach-Object {{ python3 '{writer}' {opts.rate} "
                    f"{seconds} & }} | Out-Null; "
                    f"while (@(Get-Job | Where-Object HasMoreData).Count -lt {opts.jobs}) "
                    f"{{ Start-Sleep -Milliseconds 20 }}; 'load' + 'ed'\r")
            child.send(line.encode())
            child.wait_for(b"loaded")
            child.wait_for(b"PS ")
            child.wait_for(b">")
            loaded = echo_latencies(child, opts.keys)
        finally:
            child.close()

    med_p, med_b = statistics.median(prompt_pjsh), statistics.median(prompt_base)
    result = {
        "first_prompt_ms": {"pjsh_median": med_p, "baseline_median": med_b,
                            "ratio": med_p / med_b, "target_ratio": TARGET_PROMPT_RATIO},
        "echo_ms": {
            "idle": {"p50": percentile(idle, 50), "p99": percentile(idle, 99)},
            "loaded": {"p50": percentile(loaded, 50), "p99": percentile(loaded, 99),
                       "jobs": opts.jobs, "lines_per_second_each": opts.rate},
            "loaded_over_idle_p99": percentile(loaded, 99) / max(percentile(idle, 99), 1e-9),
            "target_loaded_p99_ms": TARGET_LOADED_P99_MS,
            "target_loaded_over_idle": TARGET_LOADED_OVER_IDLE,
        },
    }
    if opts.json:
        print(json.dumps(result, indent=2))
        return 0
    fp, echo = result["first_prompt_ms"], result["echo_ms"]
    assert isinstance(fp, dict) and isinstance(echo, dict)
    print(f"time to first prompt   pjsh {med_p:7.1f} ms   python+asyncio+prompt_toolkit+rich "
          f"{med_b:7.1f} ms   ratio {med_p / med_b:.2f}x (target <= {TARGET_PROMPT_RATIO}x)")
    print(f"key echo, idle         p50 {percentile(idle, 50):6.1f} ms   "
          f"p99 {percentile(idle, 99):6.1f} ms")
    print(f"key echo, {opts.jobs} jobs x {opts.rate}/s  p50 {percentile(loaded, 50):6.1f} ms   "
          f"p99 {percentile(loaded, 99):6.1f} ms   "
          f"(target p99 <= {TARGET_LOADED_P99_MS:.0f} ms and <= {TARGET_LOADED_OVER_IDLE}x idle: "
          f"{echo['loaded_over_idle_p99']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
