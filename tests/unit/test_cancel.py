"""CancelToken: the one cancellation type (interpreter stops, Stop-Job of thread jobs, every
blocking wait)."""

from __future__ import annotations

import os
import signal
import threading
import time

from pjsh.runtime.cancel import CancelToken


def test_a_token_starts_unset_and_set_and_clear_change_it() -> None:
    token = CancelToken()
    assert not token.is_set()
    token.set()
    assert token.is_set()
    token.clear()
    assert not token.is_set()


def test_wait_on_a_set_token_returns_true_at_once() -> None:
    token = CancelToken()
    token.set()
    assert token.wait() is True
    assert token.wait(0) is True


def test_wait_times_out_false_on_an_unset_token() -> None:
    token = CancelToken()
    began = time.monotonic()
    assert token.wait(0.05) is False
    assert time.monotonic() - began >= 0.05


def waiting_thread(token: CancelToken, result: list[bool]) -> threading.Thread:
    """A started thread that appends what ``token.wait(60)`` returns; returns once the
    thread is about to wait."""
    about_to_wait = threading.Event()

    def waiter() -> None:
        about_to_wait.set()
        result.append(token.wait(60))

    thread = threading.Thread(target=waiter)
    thread.start()
    about_to_wait.wait()
    return thread


def test_set_from_another_thread_wakes_a_wait_at_once() -> None:
    token = CancelToken()
    result: list[bool] = []
    thread = waiting_thread(token, result)
    began = time.monotonic()
    token.set()
    thread.join(10)
    assert result == [True]
    assert time.monotonic() - began < 5


def test_set_runs_the_callbacks_until_they_are_removed() -> None:
    token = CancelToken()
    calls: list[str] = []
    key = token.add_callback(lambda: calls.append("a"))
    token.set()
    token.clear()
    token.remove_callback(key)
    token.set()
    assert calls == ["a"]


def test_set_from_a_signal_handler_wakes_a_wait_in_another_thread() -> None:
    token = CancelToken()
    result: list[bool] = []
    previous = signal.signal(signal.SIGUSR1, lambda _s, _f: token.set())
    try:
        thread = waiting_thread(token, result)
        os.kill(os.getpid(), signal.SIGUSR1)
        thread.join(10)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert result == [True]


def test_wake_puts_none_on_a_queue_a_wait_shares_with_other_events() -> None:
    import queue

    token = CancelToken()
    events: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    key = token.wake(events)
    token.set()
    assert events.get(timeout=5) is None
    token.remove_callback(key)


def test_idle_callbacks_run_before_a_wait_blocks_and_can_be_removed() -> None:
    token = CancelToken()
    calls: list[str] = []
    key = token.add_idle(lambda: calls.append("idle"))
    assert token.wait(0.001) is False
    token.wait(0)  # does not block: no idle callback
    token.before_blocking()
    assert calls == ["idle", "idle"]
    token.remove_idle(key)
    token.wait(0.001)
    assert calls == ["idle", "idle"]
