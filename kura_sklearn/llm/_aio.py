"""One background event loop per process, for asynchronous network calls.

Estimators are synchronous, but LLM calls should run concurrently. Running
them with ``asyncio.run`` would fail inside Jupyter (a loop is already
running) and would tie cached HTTP clients to loops that are then closed.
Instead every coroutine runs on one long-lived loop in a daemon thread, so a
cached async client stays valid for the life of the process. After a fork the
child gets a fresh loop.
"""

import asyncio
import os
import threading

_lock = threading.Lock()
_loop = None
_pid = None
_fork_hooks = []


def on_new_loop(callback):
    """Register ``callback`` to run whenever a new loop replaces the old one."""
    _fork_hooks.append(callback)
    return callback


def _get_loop():
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="kura-sklearn-io", daemon=True
            )
            thread.start()
            _loop, _pid = loop, os.getpid()
            for callback in _fork_hooks:
                callback()
        return _loop


def run(coroutine):
    """Run ``coroutine`` on the background loop and wait for its result.

    A ``KeyboardInterrupt`` while waiting cancels the coroutine.
    """
    future = asyncio.run_coroutine_threadsafe(coroutine, _get_loop())
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
