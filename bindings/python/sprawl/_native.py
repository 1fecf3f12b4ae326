"""The native module, with its errors turned into Sprawl's exceptions."""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Mapping, Optional, TypeVar

from . import _sprawl
from .errors import SprawlError, error_from

T = TypeVar("T")


def convert(error: "_sprawl.NativeError") -> SprawlError:
    """The Sprawl exception for an error raised by the native module."""
    code, number, message, retriable = error.args
    return error_from(code, number, message, retriable)


def call(fn: Callable[..., T], *args: Any) -> T:
    """Calls into the native module, raising Sprawl's exceptions."""
    try:
        return fn(*args)
    except _sprawl.NativeError as e:
        raise convert(e) from None


def settings(values: Mapping[str, Any], names: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """String settings for the core from Python keyword arguments: None is
    left out, booleans become "true"/"false", seconds given as floats stay
    as the caller wrote them (the keys say their unit)."""
    out: Dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        name = (names or {}).get(key, key)
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def milliseconds(seconds: Optional[float], default_ms: int = -1) -> int:
    """A timeout in seconds (None = wait forever) as whole milliseconds."""
    if seconds is None:
        return default_ms
    if seconds < 0:
        raise ValueError("a timeout cannot be negative")
    return int(round(seconds * 1000))


def wraps_native(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorator: native errors raised inside `fn` become Sprawl's exceptions."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except _sprawl.NativeError as e:
            raise convert(e) from None

    return wrapper
