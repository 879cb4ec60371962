"""Job engine speed, side by side with its baselines, in one run.

Usage: python bench/jobs.py [--quick] [--json] [--rounds N]
                          [--only background|thread|start|capture|memory|objects|first]

Four measurements, each printed with its baseline, the ratio and the target:

a) native `&`: a script of N lines ``/bin/true &`` then ``Get-Job | Wait-Job | Out-Null``, fed
   to ``pjsh`` on stdin, against ``for i in $(seq N); do /bin/true & done; wait`` in bash
   (whole-process wall time, rounds interleaved);
b) ``Start-ThreadJob { 1 }``: N thread jobs started in a loop and waited for, time per job
   (measured inside pjsh with Get-Date ticks), against pwsh's documented ~37 ms;
c) ``Start-Job`` with a cmdlet script block: time from Start-Job to a Running job, with the spare
   worker warm (and once cold), against a bare Python start-up;
d) capture: a native-only job writing 1 GiB (``head -c``) measured to Completed, against
   ``head -c | cat > /dev/null``, and pjsh's peak RSS (VmHWM) meanwhile; once with the spill
   directory on the default temporary directory and once on tmpfs;
e) memory: 200 native jobs writing 5 MB each, all kept unreceived, and pjsh's peak RSS (VmHWM)
   against the peak of the same script starting no job (the output must stay within the
   shared budget, ``PJSH_JOB_MEMORY``, not grow with the number of jobs);
f) objects: a thread job producing 100,000 objects (strings, past the store's memory bound so
   most are spilled) until it completes, against the same pipeline in the foreground collected
   into a variable, in the same pjsh process;
g) first `&`: ``pjsh -c '$j = /bin/true &; Wait-Job $j'`` against ``pjsh -c exit`` (what the first job of a
   script costs: the job engine's imports, the fork server, the loop thread, the job's row).

Benchmarks report, they never assert: the exit status is always 0. The machine may be shared,
so rounds are interleaved and medians reported; the ratios are what matter.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "PJSH_BENCH"
TICKS_PER_MS = 10_000  # Get-Date's Ticks are 100 ns
PWSH_THREAD_JOB_MS = 37.0  # pwsh's documentation, per Start-ThreadJob

TARGET_AMP_OVER_BASH = 1.5
TARGET_THREAD_JOB_MS = 1.0
TARGET_START_JOB_MS = 20.0
TARGET_CAPTURE_SHARE = 0.5
TARGET_PEAK_RSS_MIB = 150.0
TARGET_OBJECTS_RATIO = 1.2
TARGET_FIRST_AMP_MS = 21.5  # half of the 43 ms measured before the work of issue 8


def pjsh_argv() -> list[str]:
    """The installed `pjsh` console script beside this interpreter, else `python -m pjsh`."""
    script = Path(sys.executable).with_name("pjsh")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "-NoProfile"]
    return [sys.executable, "-m", "pjsh", "-NoProfile"]


@dataclass
class Run:
    """What one child process did: wall time, status, marked lines, peak RSS."""

    wall_s: float
    code: int
    marks: dict[str, str] = field(default_factory=dict)
    maxrss_kib: int = 0
    cpu_s: float = 0.0  # user + system time of the process and every descendant it waited for
    error: str = ""


def run(argv: list[str], *, stdin_path: str | None = None, env: dict[str, str] | None = None,
        capture: bool = False) -> Run:
    """Run a command to the end; its stdout is parsed for ``PJSH_BENCH key=value`` lines when
    ``capture``, else discarded."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=stdin, env=env,
                                stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate()
        wall = time.perf_counter() - start
    finally:
        if stdin_path and not isinstance(stdin, int):
            stdin.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = Run(wall, proc.returncode, cpu_s=(after.ru_utime - before.ru_utime)
                 + (after.ru_stime - before.ru_stime))
    for line in (out or b"").decode(errors="replace").splitlines():
        if line.startswith(MARK):
            for pair in line[len(MARK):].split():
                key, _, value = pair.partition("=")
                result.marks[key] = value
    if proc.returncode != 0 or err.strip():
        lines = err.decode(errors="replace").strip().splitlines()
        result.error = f"exit {proc.returncode}: " + (lines[-1] if lines else "")
    return result


def median(values: list[float]) -> float | None:
    """The median, or None without samples."""
    return statistics.median(values) if values else None


@dataclass
class Row:
    """One line of the report."""

    key: str
    label: str
    pjsh: float | None
    unit: str
    baseline: float | None
    baseline_label: str
    ratio: float | None
    target: str
    met: bool | None
    samples: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""


def script_file(directory: str, name: str, lines: list[str]) -> str:
    """Write a pjsh script and return its path."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def ticks_line(name: str, start: str, end: str) -> str:
    """A pjsh line printing the elapsed ticks between two variables."""
    return f'"{MARK} {name}=$(${end} - ${start})"'


# ---- a) 1,000 × `/bin/true &` vs bash ---------------------------------------------------------

def bench_background(tmp: str, count: int, rounds: int, errors: list[str]) -> list[Row]:
    """pjsh running N `/bin/true &` lines against the same loop in bash, interleaved; pjsh
    once with its fork server (pjsh/jobs/spawner.py) and once on the direct posix_spawn path
    (``PJSH_SPAWNER=0``), in the same rounds."""
    script = script_file(tmp, "amp.ps1", ["/bin/true &"] * count
                         + ["Get-Job | Wait-Job | Out-Null"])
    bash = shutil.which("bash") or "/bin/bash"
    loop = f"for i in $(seq {count}); do /bin/true & done; wait"
    served_env = {**os.environ, "PJSH_SPAWNER": "1"}
    direct_env = {**os.environ, "PJSH_SPAWNER": "0"}
    samples: dict[str, list[float]] = {"served": [], "direct": [], "bash": [], "startup": []}
    # CPU time of everything each side ran (its own, its helpers', the 1,000 children's): on a
    # two-core machine the wall time follows it once the cores are busy.
    cpu: dict[str, list[float]] = {key: [] for key in samples}
    for _ in range(rounds):
        for kind in ("served", "bash", "direct", "startup"):
            if kind == "served":
                result = run(pjsh_argv(), stdin_path=script, env=served_env)
            elif kind == "direct":
                result = run(pjsh_argv(), stdin_path=script, env=direct_env)
            elif kind == "bash":
                result = run([bash, "-c", loop])
            else:
                result = run([*pjsh_argv(), "-c", "exit"])
            if result.error:
                errors.append(f"{kind}: {result.error}")
            samples[kind].append(result.wall_s)
            cpu[kind].append(result.cpu_s)
    b, s = median(samples["bash"]), median(samples["startup"])
    bash_cpu = median(cpu["bash"]) or 0.0
    rows = []
    for key, label in (("served", "fork server"), ("direct", "direct, PJSH_SPAWNER=0")):
        p = median(samples[key])
        ratio = p / b if p is not None and b else None
        own_cpu = median(cpu[key]) or 0.0
        cpu_note = f"CPU time, all processes: {own_cpu:.2f} s against bash's {bash_cpu:.2f} s"
        if key == "served":
            note = cpu_note if s is None else f"pjsh start-up alone {s * 1000:.0f} ms; {cpu_note}"
        else:
            # Paired by round (the machine's load moves between rounds, hitting both alike).
            wins = sum(a < d for a, d in zip(samples["served"], samples["direct"], strict=True))
            note = (f"the fork server was faster in {wins} of {len(samples['direct'])} rounds;"
                    f" {cpu_note}")
        rows.append(Row("background" if key == "served" else "background_direct",
                        f"{count} x `/bin/true &`, scripted, {label}", p, "s", b,
                        "bash loop", ratio, f"<= {TARGET_AMP_OVER_BASH}x",
                        None if ratio is None else ratio <= TARGET_AMP_OVER_BASH,
                        {"pjsh_s": samples[key], "bash_s": samples["bash"],
                         "pjsh_startup_s": samples["startup"], "pjsh_cpu_s": cpu[key],
                         "bash_cpu_s": cpu["bash"]}, note))
    return rows


# ---- b) Start-ThreadJob ----------------------------------------------------------------------

def bench_thread_jobs(tmp: str, count: int, rounds: int, errors: list[str]) -> list[Row]:
    """N `Start-ThreadJob { 1 }` in a loop, then wait for all; time per job inside pjsh."""
    script = script_file(tmp, "thread.ps1", [
        "$t0 = (Get-Date).Ticks",
        f"$jobs = foreach ($i in 1..{count}) {{ Start-ThreadJob {{ 1 }} }}",
        "$t1 = (Get-Date).Ticks",
        "$jobs | Wait-Job | Out-Null",
        "$t2 = (Get-Date).Ticks",
        ticks_line("created", "t0", "t1"),
        ticks_line("done", "t0", "t2"),
        f'"{MARK} completed=$(@($jobs | Where-Object {{ $_.State -eq \'Completed\' }}).Count)"',
    ])
    per_job: list[float] = []
    created: list[float] = []
    for _ in range(rounds):
        result = run(pjsh_argv(), stdin_path=script, capture=True)
        if result.error:
            errors.append(f"thread jobs: {result.error}")
        try:
            per_job.append(int(result.marks["done"]) / TICKS_PER_MS / count)
            created.append(int(result.marks["created"]) / TICKS_PER_MS / count)
        except (KeyError, ValueError):
            errors.append(f"thread jobs: no timing in the output {result.marks}")
            continue
        if result.marks.get("completed") != str(count):
            errors.append(f"thread jobs: {result.marks.get('completed')} of {count} completed")
    p = median(per_job)
    c = median(created)
    return [Row("thread_job", f"Start-ThreadJob {{1}} x {count}, per job", p, "ms",
                PWSH_THREAD_JOB_MS, "pwsh docs", None if p is None else p / PWSH_THREAD_JOB_MS,
                f"<= {TARGET_THREAD_JOB_MS:g} ms", None if p is None else p <= TARGET_THREAD_JOB_MS,
                {"per_job_ms": per_job, "create_per_job_ms": created},
                "" if c is None else f"starting alone {c:.2f} ms per job")]


# ---- c) Start-Job to Running -----------------------------------------------------------------

def bench_start_job(tmp: str, samples: int, rounds: int, errors: list[str]) -> list[Row]:
    """Start-Job { cmdlets } until it returns Running: cold (first) and with a warm spare."""
    lines = [
        "$t0 = (Get-Date).Ticks",
        "$j = Start-Job { Get-Date | Out-Null }",
        "$t1 = (Get-Date).Ticks",
        ticks_line("cold", "t0", "t1"),
        f'"{MARK} cold_state=$($j.State)"',
        "$j | Wait-Job | Out-Null",
    ]
    for i in range(samples):
        # The next spare worker starts as soon as one is taken; give it time to get warm, as
        # an interactive session has between commands.
        lines += [
            "Start-Sleep -Milliseconds 1000",
            "$t0 = (Get-Date).Ticks",
            "$j = Start-Job { Get-Date | Out-Null }",
            "$t1 = (Get-Date).Ticks",
            ticks_line(f"warm{i}", "t0", "t1"),
            f'"{MARK} warm{i}_state=$($j.State)"',
            "$j | Wait-Job | Out-Null",
        ]
    script = script_file(tmp, "startjob.ps1", lines)
    warm: list[float] = []
    cold: list[float] = []
    bare: list[float] = []
    asyncio_: list[float] = []
    for _ in range(rounds):
        result = run(pjsh_argv(), stdin_path=script, capture=True)
        if result.error:
            errors.append(f"Start-Job: {result.error}")
        marks = result.marks
        try:
            cold.append(int(marks["cold"]) / TICKS_PER_MS)
            warm.extend(int(marks[f"warm{i}"]) / TICKS_PER_MS for i in range(samples))
        except (KeyError, ValueError):
            errors.append(f"Start-Job: no timing in the output {marks}")
        states = {v for k, v in marks.items() if k.endswith("_state")}
        if states - {"Running", "Completed"}:
            errors.append(f"Start-Job: states after Start-Job were {sorted(states)}")
        bare.append(run([sys.executable, "-c", "pass"]).wall_s * 1000)
        asyncio_.append(run([sys.executable, "-c", "import asyncio"]).wall_s * 1000)
    w, c, b, a = median(warm), median(cold), median(bare), median(asyncio_)
    return [
        Row("start_job_warm", "Start-Job {cmdlets} -> Running, warm spare", w, "ms", b,
            "python -c pass", None if w is None or not b else w / b,
            f"<= {TARGET_START_JOB_MS:g} ms", None if w is None else w <= TARGET_START_JOB_MS,
            {"warm_ms": warm, "python_pass_ms": bare},
            "" if a is None else f'python -c "import asyncio": {a:.0f} ms'),
        Row("start_job_cold", "  first Start-Job (spare not yet warm)", c, "ms", a,
            "python+asyncio", None if c is None or not a else c / a, "-", None,
            {"cold_ms": cold, "python_asyncio_ms": asyncio_}),
    ]


# ---- d) capture throughput and peak RSS ------------------------------------------------------

def bench_capture(tmp: str, size: int, rounds: int, errors: list[str]) -> list[Row]:
    """A native-only job writing ``size`` bytes, to Completed, vs `head | cat`."""
    script = script_file(tmp, "capture.ps1", [
        "$t0 = (Get-Date).Ticks",
        f"$j = Start-Job {{ head -c {size} /dev/zero }}",
        "$j | Wait-Job | Out-Null",
        "$t1 = (Get-Date).Ticks",
        ticks_line("ticks", "t0", "t1"),
        f'"{MARK} state=$($j.State)"',
        f'"{MARK} hwm=$(((Get-Content /proc/$PID/status) -match \'^VmHWM\') -replace \'\\D\', \'\')"',
    ])
    bash = shutil.which("bash") or "/bin/bash"
    tmpfs = _tmpfs_dir(tmp)
    variants: list[tuple[str, str, Callable[[], dict[str, str]]]] = [
        ("default", f"spill in {tempfile.gettempdir()}", _env_without_runtime_dir),
    ]
    if tmpfs is not None:
        variants.append(("tmpfs", "spill on tmpfs", lambda: {**os.environ,
                                                             "XDG_RUNTIME_DIR": tmpfs}))
    times: dict[str, list[float]] = {key: [] for key, _, _ in variants}
    hwm: dict[str, list[float]] = {key: [] for key, _, _ in variants}
    cat: list[float] = []
    # Context, not the target's baseline: what merely writing the bytes to a file costs.
    cat_file: list[float] = []
    sink = os.path.join(tmp, "cat.bin")
    for _ in range(rounds):
        cat_file.append(run([bash, "-c", f"head -c {size} /dev/zero | cat > {sink}"]).wall_s)
        os.unlink(sink)
        for key, _label, env in variants:
            result = run(pjsh_argv(), stdin_path=script, env=env(), capture=True)
            if result.error:
                errors.append(f"capture ({key}): {result.error}")
            try:
                times[key].append(int(result.marks["ticks"]) / TICKS_PER_MS / 1000)
                hwm[key].append(int(result.marks["hwm"]) / 1024)
            except (KeyError, ValueError):
                errors.append(f"capture ({key}): no timing in the output {result.marks}")
            if result.marks.get("state") != "Completed":
                errors.append(f"capture ({key}): job ended {result.marks.get('state')}")
        cat.append(run([bash, "-c", f"head -c {size} /dev/zero | cat > /dev/null"]).wall_s)
    gib = size / 2**30
    c = median(cat)
    cat_rate = gib / c if c else None
    f = median(cat_file)
    file_note = "" if f is None else \
        f"head | cat > a file in {tempfile.gettempdir()}: {gib / f:.2f} GiB/s"
    rows = []
    for key, label, _ in variants:
        t = median(times[key])
        rate = gib / t if t else None
        share = rate / cat_rate if rate is not None and cat_rate else None
        rows.append(Row(f"capture_{key}", f"capture {gib:g} GiB to Completed, {label}", rate,
                        "GiB/s", cat_rate, "head|cat", share, f">= {TARGET_CAPTURE_SHARE:.0%}",
                        None if share is None else share >= TARGET_CAPTURE_SHARE,
                        {"seconds": times[key], "cat_seconds": cat,
                         "cat_to_file_seconds": cat_file},
                        file_note if key == "default" else ""))
        peak = max(hwm[key]) if hwm[key] else None
        rows.append(Row(f"peak_rss_{key}", f"  pjsh peak RSS (VmHWM) meanwhile, {key}", peak,
                        "MiB", None, "", None, f"< {TARGET_PEAK_RSS_MIB:g} MiB",
                        None if peak is None else peak < TARGET_PEAK_RSS_MIB,
                        {"vmhwm_mib": hwm[key]}))
    if tmpfs is not None:
        shutil.rmtree(os.path.dirname(tmpfs), ignore_errors=True)
    return rows


def _env_without_runtime_dir() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("XDG_RUNTIME_DIR", None)
    return env


def _tmpfs_dir(tmp: str) -> str | None:
    """A private directory on tmpfs (/dev/shm) to act as XDG_RUNTIME_DIR, if there is one."""
    if not os.path.isdir("/dev/shm") or os.path.realpath(tmp).startswith("/dev/shm"):
        return None
    base = tempfile.mkdtemp(prefix="pjsh-bench-", dir="/dev/shm")
    runtime = os.path.join(base, "run")
    os.mkdir(runtime, 0o700)
    return runtime


# ---- e) many jobs' output within the memory budget -------------------------------------------

_HWM_LINE = f'"{MARK} hwm=$(((Get-Content /proc/$PID/status) -match \'^VmHWM\') -replace \'\\D\', \'\')"'


def bench_memory(tmp: str, jobs: int, size: int, rounds: int, errors: list[str]) -> list[Row]:
    """N native jobs writing ``size`` bytes each, waited for and kept: pjsh's peak RSS."""
    script = script_file(tmp, "memory.ps1", [
        f"foreach ($i in 1..{jobs}) {{ $null = Start-Job {{ head -c {size} /dev/zero }} }}",
        "Get-Job | Wait-Job | Out-Null",
        f'"{MARK} completed=$(@(Get-Job | Where-Object State -eq Completed).Count)"',
        _HWM_LINE,
    ])
    idle = script_file(tmp, "idle.ps1", ["Get-Job | Wait-Job | Out-Null", _HWM_LINE])
    peak: list[float] = []
    idle_peak: list[float] = []
    wall: list[float] = []
    for _ in range(rounds):
        result = run(pjsh_argv(), stdin_path=script, capture=True)
        if result.error:
            errors.append(f"memory: {result.error}")
        if result.marks.get("completed") != str(jobs):
            errors.append(f"memory: {result.marks.get('completed')} of {jobs} completed")
        try:
            peak.append(int(result.marks["hwm"]) / 1024)
        except (KeyError, ValueError):
            errors.append(f"memory: no VmHWM in the output {result.marks}")
        wall.append(result.wall_s)
        base = run(pjsh_argv(), stdin_path=idle, capture=True)
        with contextlib.suppress(KeyError, ValueError):
            idle_peak.append(int(base.marks["hwm"]) / 1024)
    p, b = (max(peak) if peak else None), median(idle_peak)
    return [Row("memory_many_jobs", f"{jobs} jobs x {size / 1e6:g} MB output kept, peak RSS",
                p, "MiB", b, "pjsh idle", None if p is None or not b else p / b,
                f"<= {TARGET_PEAK_RSS_MIB:g} MiB", None if p is None else p <= TARGET_PEAK_RSS_MIB,
                {"vmhwm_mib": peak, "idle_vmhwm_mib": idle_peak, "wall_s": wall},
                "" if not wall else f"all jobs done in {median(wall) or 0:.1f} s (wall, whole "
                                    "script)")]


# ---- f) a thread job producing objects vs the same pipeline in the foreground ----------------

def bench_thread_objects(tmp: str, count: int, rounds: int, errors: list[str]) -> list[Row]:
    """Start-ThreadJob { pipeline } to Completed against ``$r = pipeline``, same process."""
    pipeline = f'1..{count} | ForEach-Object {{ "line $_" }}'
    script = script_file(tmp, "objects.ps1", [
        # Warm both paths once (the command modules load on first use: Out-Null's too).
        "$null = Start-ThreadJob { 1 } | Wait-Job | Out-Null",
        "$null = 1..10 | ForEach-Object { \"line $_\" }",
        "$t0 = (Get-Date).Ticks",
        f"$j = Start-ThreadJob {{ {pipeline} }}",
        "$j | Wait-Job | Out-Null",
        "$t1 = (Get-Date).Ticks",
        f"$r = {pipeline}",
        "$t2 = (Get-Date).Ticks",
        ticks_line("job", "t0", "t1"),
        ticks_line("fg", "t1", "t2"),
        f'"{MARK} state=$($j.State) fgcount=$($r.Count)"',
        f'"{MARK} count=$((Receive-Job $j | Measure-Object).Count)"',
    ])
    job: list[float] = []
    fg: list[float] = []
    ratios: list[float] = []
    for _ in range(rounds):
        result = run(pjsh_argv(), stdin_path=script, capture=True)
        if result.error:
            errors.append(f"objects: {result.error}")
        marks = result.marks
        if marks.get("state") != "Completed" or marks.get("count") != str(count):
            errors.append(f"objects: job {marks.get('state')}, {marks.get('count')} objects")
        try:
            j, f = int(marks["job"]) / TICKS_PER_MS, int(marks["fg"]) / TICKS_PER_MS
        except (KeyError, ValueError):
            errors.append(f"objects: no timing in the output {marks}")
            continue
        job.append(j)
        fg.append(f)
        ratios.append(j / f if f else 0.0)
    j, f, r = median(job), median(fg), median(ratios)
    return [Row("thread_objects", f"thread job producing {count:,} objects", j, "ms", f,
                "foreground", r, f"<= {TARGET_OBJECTS_RATIO}x",
                None if r is None else r <= TARGET_OBJECTS_RATIO,
                {"job_ms": job, "foreground_ms": fg, "ratio": ratios},
                "ratio: median of the per-round ratios")]


# ---- g) the first `&` of a script ------------------------------------------------------------

def bench_first_amp(rounds: int, errors: list[str]) -> list[Row]:
    """``pjsh -c '$j = /bin/true &; Wait-Job $j'`` against ``pjsh -c exit``, interleaved."""
    amp: list[float] = []
    bare: list[float] = []
    for _ in range(rounds):
        for kind in ("amp", "bare"):
            # The job is waited for: pjsh leaving with it still running would stop it and
            # say so (a different cost, and a line on stderr).
            script = "$j = /bin/true &; $null = Wait-Job $j" if kind == "amp" else "exit"
            result = run([*pjsh_argv(), "-c", script])
            if result.error:
                errors.append(f"first &: {result.error}")
            (amp if kind == "amp" else bare).append(result.wall_s * 1000)
    a, b = median(amp), median(bare)
    cost = None if a is None or b is None else a - b
    return [Row("first_amp", "first `&` of a script, over -c exit", cost, "ms", b,
                "-c exit", None if cost is None or not b else cost / b,
                f"<= {TARGET_FIRST_AMP_MS:g} ms",
                None if cost is None else cost <= TARGET_FIRST_AMP_MS,
                {"amp_ms": amp, "exit_ms": bare},
                "" if a is None else f"the script {a:.0f} ms in all")]


# ---- report ----------------------------------------------------------------------------------

def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ms", "MiB") and value >= 100:
        return f"{value:.0f} {unit}"
    return f"{value:.3g} {unit}" if unit != "s" else f"{value:.2f} s"


def report_text(rows: list[Row], errors: list[str], header: str) -> str:
    """The table, then notes and any errors."""
    table = [("measurement", "pjsh", "baseline", "ratio", "target", "met")]
    for r in rows:
        baseline = "-" if r.baseline is None else f"{r.baseline_label} {_num(r.baseline, r.unit)}"
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x" if r.unit != "GiB/s" \
            else f"{r.ratio:.0%}"
        met = "-" if r.met is None else ("met" if r.met else "NOT MET")
        table.append((r.label, _num(r.pjsh, r.unit), baseline, ratio, r.target, met))
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    lines = [header, ""]
    for i, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[j]) if j == 0 else cell.rjust(widths[j])
                               for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"- {r.label.strip()}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", *notes]
    if errors:
        lines += ["", "errors:", *(f"  ! {e}" for e in errors[:20])]
    return "\n".join(lines)


def report_json(rows: list[Row], errors: list[str], options: dict[str, object]) -> str:
    """Everything as one JSON document."""
    return json.dumps({
        "benchmark": "jobs",
        "python": sys.version.split()[0],
        "pjsh": pjsh_argv(),
        "options": options,
        "results": {r.key: {"label": r.label.strip(), "value": r.pjsh, "unit": r.unit,
                            "baseline": r.baseline, "baseline_label": r.baseline_label,
                            "ratio": r.ratio, "target": r.target, "met": r.met,
                            "note": r.note or None,
                            "samples": {k: [round(x, 6) for x in v]
                                        for k, v in r.samples.items()}}
                    for r in rows},
        "errors": errors,
    }, indent=2)


def main(argv: list[str] | None = None) -> int:
    """Parse options, measure, print; always 0 because benchmarks never fail a build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts, fewer rounds")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement")
    parser.add_argument("--only", choices=["background", "thread", "start", "capture", "memory",
                                           "objects", "first"],
                        help="run one measurement only")
    options = parser.parse_args(argv)
    quick = options.quick
    rounds = max(1, options.rounds or (2 if quick else 5))
    count = 200 if quick else 1000
    size = 256 * 2**20 if quick else 2**30
    samples = 2 if quick else 5
    errors: list[str] = []
    rows: list[Row] = []
    steps: list[tuple[str, Callable[[str], list[Row]]]] = [
        ("background", lambda tmp: bench_background(tmp, count, rounds, errors)),
        ("thread jobs", lambda tmp: bench_thread_jobs(tmp, count, max(1, rounds - 2), errors)),
        ("Start-Job", lambda tmp: bench_start_job(tmp, samples, 1, errors)),
        ("capture", lambda tmp: bench_capture(tmp, size, max(1, rounds - 2), errors)),
        ("memory", lambda tmp: bench_memory(tmp, 40 if quick else 200, 5_000_000,
                                            max(1, rounds - 2), errors)),
        ("objects", lambda tmp: bench_thread_objects(tmp, 20_000 if quick else 100_000,
                                                     max(1, rounds - 2), errors)),
        ("first", lambda tmp: bench_first_amp(5 if quick else 21, errors)),
    ]
    if options.only:
        steps = [step for step in steps if step[0].lower().startswith(options.only[:5])]
    with tempfile.TemporaryDirectory(prefix="pjsh-bench-") as tmp:
        for name, step in steps:
            try:
                rows += step(tmp)
            except Exception as exc:  # a broken step is reported; the others still run
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
    header = (f"pjsh job engine, {'quick' if quick else 'full'} run "
              f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.2f}); medians of interleaved rounds")
    if options.json:
        print(report_json(rows, errors, {"quick": quick, "rounds": rounds, "count": count,
                                          "capture_bytes": size, "start_job_samples": samples}))
    else:
        print(report_text(rows, errors, header))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
