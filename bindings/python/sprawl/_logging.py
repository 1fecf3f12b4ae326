"""The library's log records in Python's `logging`.

Records go to the ``sprawl`` logger's children, one per component
(``sprawl.broker``, ``sprawl.storage``, ``sprawl.node``, ...), at the
matching level. The core drops records below the lowest effective level of
the ``sprawl`` loggers where they are written, so they never take the GIL;
that level is re-read whenever `logging`'s levels change (``setLevel``,
``dictConfig``, ``logging.disable``) and by :func:`sync_log_level`.

Each record carries the core's fields as ``record.sprawl_fields`` (a dict:
``node``, ``topic``, ``partition``, ``group``, ``error``, ``trace_id`` where
known) and its component as ``record.sprawl_component``; the message text
ends with them in ``key=value`` form, so plain formatters show them.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import List, Tuple

from . import _sprawl

#: The level Python's `logging` gets for the core's trace records (below DEBUG).
TRACE = 5

# sprawl_log_level_t numbers (trace .. error) and their `logging` levels.
_CORE_TO_PY = (TRACE, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
_CORE_OFF = 5

_ROOT = "sprawl"
_lock = threading.Lock()


def _effective_level() -> int:
    """The lowest level any ``sprawl`` logger would log at."""
    manager = logging.Logger.manager
    lowest = logging.getLogger(_ROOT).getEffectiveLevel()
    for name, logger in list(manager.loggerDict.items()):
        if name.startswith(_ROOT + ".") and isinstance(logger, logging.Logger):
            lowest = min(lowest, logger.getEffectiveLevel())
    # logging.disable(n) turns off every record at n and below.
    return max(lowest, manager.disable + 1)


def _core_level(py_level: int) -> int:
    for core, mapped in enumerate(_CORE_TO_PY):
        if mapped >= py_level:
            return core
    return _CORE_OFF


def sync_log_level() -> None:
    """Sets the core's level from the ``sprawl`` loggers' effective levels.
    Runs by itself when `logging`'s levels change; call it after changing
    them some other way (e.g. assigning ``logger.level`` directly)."""
    _sprawl.log_set_level(_core_level(_effective_level()))


def _deliver(level: int, component: str, message: str, timestamp_ms: int,
             fields: List[Tuple[str, str]]) -> None:
    """Runs on the library's log delivery thread, with the GIL."""
    logger = logging.getLogger(f"{_ROOT}.{component}")
    py_level = _CORE_TO_PY[level] if 0 <= level < len(_CORE_TO_PY) else logging.ERROR
    if not logger.isEnabledFor(py_level):
        return
    text = message
    if fields:
        text = message + " " + " ".join(f"{k}={v}" for k, v in fields)
    record = logger.makeRecord(logger.name, py_level, "(sprawl)", 0, text, None, None,
                               extra={"sprawl_component": component,
                                      "sprawl_fields": dict(fields)})
    # When the core wrote it, not when it reached Python.
    record.created = timestamp_ms / 1000.0
    record.msecs = float(timestamp_ms % 1000)
    logger.handle(record)


def _hook_level_changes() -> None:
    """Every level change of `logging` clears the manager's cache; re-read
    the effective level then."""
    manager = logging.Logger.manager
    clear = getattr(manager, "_clear_cache", None)
    if clear is None or getattr(clear, "_sprawl_hook", False):
        return

    def clear_and_sync() -> None:
        clear()
        try:
            sync_log_level()
        except Exception:  # noqa: BLE001 - a level change must never fail for this
            pass

    clear_and_sync._sprawl_hook = True  # type: ignore[attr-defined]
    manager._clear_cache = clear_and_sync  # type: ignore[method-assign]


def install() -> None:
    """Routes the library's records to `logging` (done at import)."""
    with _lock:
        _sprawl.log_install(_deliver)
        _hook_level_changes()
        sync_log_level()


def uninstall() -> None:
    """Back to the library's own output (stderr, warnings and errors), after
    delivering the records already queued. Runs at interpreter exit."""
    with _lock:
        _sprawl.log_uninstall()
        _sprawl.log_set_level(3)


def log_dropped() -> int:
    """How many records the library dropped because `logging` did not keep
    up with them (its queue was full)."""
    return int(_sprawl.log_dropped())


atexit.register(uninstall)
