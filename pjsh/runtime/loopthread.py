"""An asyncio event loop on a daemon thread of its own: the job manager's and the SSH
connection pool's. Each starts one on first use and drives it from other threads
(``run_coroutine_threadsafe``); stopping the loop ends the thread after a clean close."""

from __future__ import annotations

import asyncio
import sys
import threading


def start_loop_thread(name: str) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    """A new event loop running on a new daemon thread called ``name``; returns once it runs."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(target=_run_loop, args=(loop, ready), name=name, daemon=True)
    thread.start()
    ready.wait()
    return loop, thread


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    run_loop(loop)


def run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Run ``loop`` on this thread until it is stopped, then close it cleanly (the job
    manager's I/O loop, once upgraded to asyncio, ends through here too)."""
    try:
        loop.run_forever()
    finally:
        # Stopped: cancel what is left, let it see the cancellation, then close cleanly.
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        if sys.version_info >= (3, 9):  # novm: 3.8 (the engine runs there) lacks it
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
