"""Remoting speed, side by side with its baselines, in one run, against a real sshd.

Usage: sudo python bench/remote.py [--hosts 50] [--rounds 5] [--calls 100] [--json]

It starts the test suite's OpenSSH sshd on 127.0.0.1 (tests/ssh_fixture.py: generated keys, a
throwaway user; the remote engine runs under the host's python3, or with --remote-python
oldest under the oldest python3 >= 3.8 the machine has, as in the tests), writes an
ssh_config with ``--hosts`` aliases of it (h1, h2, ...), and measures:

a) one command on an open session: ``Invoke-Command -Session $s { hostname }`` (and ``{ 1 }``,
   the protocol's own cost) per call, measured inside pjsh, against ``ssh h1 hostname``
   through an OpenSSH ControlMaster socket (target: ≤ 0.5×);
b) fan-out of a native command: ``Invoke-Command -HostName h1..hN { hostname }`` in a fresh
   pjsh (connections cold), against ``parallel-ssh -h hosts hostname`` (target: ≥ 4× its hosts
   per second) and a bare asyncssh gather of N connections running ``hostname`` (target: ≥
   0.8× of it);
c) fan-out of a cmdlet script block ``{ (Get-Item /).FullName }``: an engine per host, against
   the same baselines running ``hostname``;
d) the first Enter-Session to the remote prompt, cold (the engine uploaded: the host's cache
   removed first) and warm (cached), with a plain ``ssh h1 true`` for context.

Needs root (sshd and a throwaway user), OpenSSH's server, and ``parallel-ssh`` (Debian/Ubuntu
package ``pssh``) for its row. Benchmarks report, they never assert: the exit status is 0.
Rounds are interleaved and medians reported; the ratios are what matter.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARK = "PJSH_BENCH"
TARGET_SESSION_VS_CONTROLMASTER = 0.5
TARGET_FANOUT_VS_PSSH = 4.0
TARGET_FANOUT_VS_ASYNCSSH = 0.8


def pjsh_argv() -> list[str]:
    """The installed `pjsh` console script beside this interpreter, else `python -m pjsh`."""
    script = Path(sys.executable).with_name("pjsh")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "-NoProfile"]
    return [sys.executable, "-m", "pjsh", "-NoProfile"]


class Bench:
    """The sshd, the client HOME with its aliases, and the commands measured."""

    def __init__(self, server: object, home: Path, hosts: int) -> None:
        self.server = server
        self.home = home
        self.hosts = [f"h{i}" for i in range(1, hosts + 1)]
        self.config = home / ".ssh" / "config"
        self.known_hosts = home / ".ssh" / "known_hosts"
        self.control = Path(tempfile.mkdtemp(prefix="pjsh-bench-cm-"))
        self.env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        self.env["HOME"] = str(home)
        self.hosts_file = home / "hosts"
        self.hosts_file.write_text("".join(h + "\n" for h in self.hosts))

    # ---- pjsh ---------------------------------------------------------------------------------

    def pjsh(self, script: str) -> dict[str, list[str]]:
        """Run a script on pjsh's stdin; the marked lines it printed, by key."""
        proc = subprocess.run(pjsh_argv(), input=script, capture_output=True, text=True,
                              env=self.env, cwd=str(self.home), timeout=600)
        found: dict[str, list[str]] = {}
        for line in proc.stdout.splitlines():
            if line.startswith(MARK + " "):
                key, *rest = line[len(MARK) + 1:].split()
                found[key] = rest
        if proc.returncode != 0 or proc.stderr.strip():
            print(f"  (pjsh said: {proc.stderr.strip()[:400]})", file=sys.stderr)
        return found

    def session_calls(self, calls: int) -> tuple[float, float]:
        """(ms per `{ hostname }`, ms per `{ 1 }`) on an open session."""
        found = self.pjsh(f"""\
$s = New-Session -HostName h1
$null = Invoke-Command -Session $s {{ hostname }}
$t = Measure-Command {{
  for ($i = 0; $i -lt {calls}; $i++) {{ $null = Invoke-Command -Session $s {{ hostname }} }} }}
"{MARK} native $($t.TotalMilliseconds / {calls})"
$t = Measure-Command {{
  for ($i = 0; $i -lt {calls}; $i++) {{ $null = Invoke-Command -Session $s {{ 1 }} }} }}
"{MARK} proto $($t.TotalMilliseconds / {calls})"
""")
        return float(found["native"][0]), float(found["proto"][0])

    def fanout(self, block: str) -> tuple[float, int]:
        """(seconds, results) of one Invoke-Command over every alias, in a fresh pjsh."""
        hosts = ",".join(f"'{h}'" for h in self.hosts)
        found = self.pjsh(f"""\
$t = Measure-Command {{ $r = Invoke-Command -HostName {hosts} {block} }}
"{MARK} fanout $($t.TotalSeconds) $(@($r).Count)"
""")
        return float(found["fanout"][0]), int(found["fanout"][1])

    def enter(self) -> float:
        """Seconds from starting pjsh to the first remote line's output, minus `-c exit`."""
        def once(script: str) -> float:
            start = time.perf_counter()
            proc = subprocess.run(pjsh_argv(), input=script, capture_output=True, text=True,
                                  env=self.env, cwd=str(self.home), timeout=300)
            elapsed = time.perf_counter() - start
            assert proc.returncode == 0, proc.stderr
            return elapsed
        return once("Enter-Session -HostName h1\n'ready'\nexit\n") - once("exit\n")

    def clear_remote_cache(self) -> None:
        """Remove the engine cache of the remote user (the next start uploads it)."""
        shutil.rmtree(Path(self.server.user_home) / ".cache" / "pjsh",  # type: ignore[attr-defined]
                      ignore_errors=True)

    # ---- baselines -----------------------------------------------------------------------------

    def ssh_argv(self, host: str, *command: str, master: bool = True) -> list[str]:
        """`ssh` with the bench's config (and its ControlMaster socket)."""
        # OpenSSH reads ~ from the passwd entry, not $HOME: name the bench's known_hosts.
        argv = ["ssh", "-F", str(self.config), "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}"]
        if master:
            argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={self.control}/%C",
                     "-o", "ControlPersist=300"]
        return [*argv, host, *command]

    def controlmaster_call(self, calls: int) -> float:
        """ms per `ssh h1 hostname` through an established ControlMaster."""
        subprocess.run(self.ssh_argv("h1", "true"), check=True, env=self.env,
                       capture_output=True)
        start = time.perf_counter()
        for _ in range(calls):
            subprocess.run(self.ssh_argv("h1", "hostname"), check=True, env=self.env,
                           capture_output=True)
        return (time.perf_counter() - start) * 1000 / calls

    def pssh(self) -> tuple[float, int] | None:
        """(seconds, hosts that succeeded) of parallel-ssh over every alias, or None."""
        exe = shutil.which("parallel-ssh") or shutil.which("pssh")
        if exe is None:
            return None
        start = time.perf_counter()
        proc = subprocess.run([exe, "-h", str(self.hosts_file), "-p", "32", "-t", "60",
                               "-x", f"-F {self.config} -o BatchMode=yes "
                               f"-o UserKnownHostsFile={self.known_hosts}", "hostname"],
                              env=self.env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        return elapsed, proc.stdout.count("[SUCCESS]")

    def asyncssh_gather(self) -> tuple[float, int]:
        """(seconds, results) of a bare asyncssh gather: a connection per alias, `hostname`."""
        code = f"""
import asyncio, sys, time, warnings
warnings.simplefilter("ignore")
import asyncssh
async def one(h):
    async with asyncssh.connect(h, config=[{str(self.config)!r}],
                                known_hosts={str(self.home / '.ssh' / 'known_hosts')!r}) as c:
        return (await c.run("hostname")).stdout
async def main():
    start = time.perf_counter()
    out = await asyncio.gather(*(one(h) for h in {self.hosts!r}))
    print(time.perf_counter() - start, sum(1 for o in out if o))
asyncio.run(main())
"""
        proc = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True,
                              text=True, timeout=600)
        seconds, count = proc.stdout.split()
        return float(seconds), int(count)

    def ssh_true(self) -> float:
        """Seconds of a plain `ssh h1 true` (a new connection)."""
        start = time.perf_counter()
        subprocess.run(self.ssh_argv("h1", "true", master=False), check=True, env=self.env,
                       capture_output=True)
        return time.perf_counter() - start


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--remote-python", choices=("oldest", "system"), default="system",
                        help="the remote engine's python: the host's python3 (default), or "
                             "the oldest python3 >= 3.8 under pyenv, as the tests use")
    opts = parser.parse_args(argv)

    from tests.ssh_fixture import start_sshd

    servers = start_sshd(oldest_python=opts.remote_python == "oldest")
    server = next(servers)
    home = Path(tempfile.mkdtemp(prefix="pjsh-bench-home-"))
    try:
        aliases = "".join(
            f"Host h{i}\n    HostName 127.0.0.1\n    Port {server.port}\n"
            f"    User {server.user}\n    IdentityFile {server.client_key}\n"
            for i in range(1, opts.hosts + 1))
        server.make_home(home, config_extra=aliases)
        bench = Bench(server, home, opts.hosts)
        print(f"sshd on 127.0.0.1:{server.port}, {opts.hosts} aliases, remote python "
              f"{server.remote_python or 'python3'}; {opts.rounds} rounds", file=sys.stderr)
        results: dict[str, list[float]] = {k: [] for k in (
            "session_native_ms", "session_proto_ms", "controlmaster_ms", "fanout_native_s",
            "fanout_cmdlet_s", "pssh_s", "asyncssh_s", "enter_cold_s", "enter_warm_s",
            "ssh_true_s")}
        counts: dict[str, int] = {}
        bench.pjsh("Invoke-Command -HostName h1 { 1 }\n")  # the engine cached once
        for round_no in range(opts.rounds):
            native, proto = bench.session_calls(opts.calls)
            results["session_native_ms"].append(native)
            results["session_proto_ms"].append(proto)
            results["controlmaster_ms"].append(bench.controlmaster_call(opts.calls // 4 or 1))
            seconds, counts["fanout_native"] = bench.fanout("{ hostname }")
            results["fanout_native_s"].append(seconds)
            seconds, counts["fanout_cmdlet"] = bench.fanout("{ (Get-Item /).FullName }")
            results["fanout_cmdlet_s"].append(seconds)
            pssh = bench.pssh()
            if pssh is not None:
                results["pssh_s"].append(pssh[0])
                counts["pssh"] = pssh[1]
            seconds, counts["asyncssh"] = bench.asyncssh_gather()
            results["asyncssh_s"].append(seconds)
            bench.clear_remote_cache()
            results["enter_cold_s"].append(bench.enter())
            results["enter_warm_s"].append(bench.enter())
            results["ssh_true_s"].append(bench.ssh_true())
            print(f"  round {round_no + 1}/{opts.rounds} done", file=sys.stderr)
    finally:
        servers.close()
        shutil.rmtree(home, ignore_errors=True)

    med = {k: _median(v) for k, v in results.items()}
    n = opts.hosts

    def rate(seconds: float) -> float:
        return n / seconds if seconds else float("nan")

    rows = [
        ("one command on an open session (ms)", med["session_native_ms"],
         "ssh via ControlMaster", med["controlmaster_ms"],
         med["session_native_ms"] / med["controlmaster_ms"],
         f"≤ {TARGET_SESSION_VS_CONTROLMASTER}×"),
        ("  protocol only: { 1 } (ms)", med["session_proto_ms"], "", float("nan"),
         float("nan"), ""),
    ]
    for key, label in (("fanout_native_s", "{ hostname }"),
                       ("fanout_cmdlet_s", "{ (Get-Item /).FullName }")):
        if results["pssh_s"]:
            rows.append((f"fan-out {label}, hosts/s", rate(med[key]), "parallel-ssh hostname",
                         rate(med["pssh_s"]), rate(med[key]) / rate(med["pssh_s"]),
                         f"≥ {TARGET_FANOUT_VS_PSSH}×"))
        rows.append((f"fan-out {label}, hosts/s", rate(med[key]), "asyncssh gather hostname",
                     rate(med["asyncssh_s"]), rate(med[key]) / rate(med["asyncssh_s"]),
                     f"≥ {TARGET_FANOUT_VS_ASYNCSSH}×"))
    rows.append(("first Enter-Session, cold (s)", med["enter_cold_s"], "ssh h1 true",
                 med["ssh_true_s"], med["enter_cold_s"] / med["ssh_true_s"], ""))
    rows.append(("first Enter-Session, warm (s)", med["enter_warm_s"], "ssh h1 true",
                 med["ssh_true_s"], med["enter_warm_s"] / med["ssh_true_s"], ""))
    print(f"\n{'measurement':<46} {'pjsh':>9}  {'baseline':<26} {'value':>9} {'ratio':>7}  target")
    for label, mine, base_label, base, ratio, target in rows:
        print(f"{label:<46} {mine:>9.3f}  {base_label:<26} {base:>9.3f} {ratio:>6.2f}×  {target}")
    print(f"\nresults per fan-out (of {n}): {counts}")
    if opts.json:
        print(json.dumps({"medians": med, "samples": results, "counts": counts}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
