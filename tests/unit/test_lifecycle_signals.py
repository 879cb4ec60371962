"""SIGTERM and SIGHUP end pjsh even when Python would drop the SystemExit: a signal handler
runs between any two bytecodes, also inside a finaliser (``__del__``), where an exception is
printed as "Exception ignored" and lost. Seen as a console that outlived its terminal's hang-up
under load (an old event loop's ``__del__`` ran as the signal came)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import asyncio, os, signal, sys
    from pjsh.lifecycle import exit_on_signals, leave_if_signalled

    exit_on_signals(interactive=True)

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), int(sys.argv[1]))  # the handler runs inside __del__

    async def prompt():
        Finalised()  # collected at once: the signal arrives in its finaliser
        await asyncio.sleep(60)  # the prompt waiting for a key that never comes

    if sys.argv[2] == "loop":
        asyncio.run(prompt())
    else:
        Finalised()
        leave_if_signalled()  # between two commands
    print("still running")
""")


@pytest.mark.parametrize("where", ["loop", "between-commands"])
@pytest.mark.parametrize("sig", [1, 15])
def test_a_signal_in_a_finaliser_still_ends_pjsh(sig: int, where: str) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(sig), where], capture_output=True,
                          text=True, timeout=30, check=False)
    assert proc.returncode == 128 + sig, proc.stderr
    assert "still running" not in proc.stdout
