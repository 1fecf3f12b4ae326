"""Sprawl's exceptions: one class per error family, each with the code table's
number and name (docs/errors.md) and the ``retriable`` bit of the error."""

from __future__ import annotations

import builtins
from typing import Dict, Type


class SprawlError(Exception):
    """Any error Sprawl reports.

    ``code`` is the error's name from docs/errors.md (``"NOT_FOUND"``),
    ``code_number`` its number, ``retriable`` whether sending the same request
    again may succeed, and ``message`` what went wrong in words.
    """

    def __init__(self, code: str, code_number: int, message: str, retriable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.code_number = code_number
        self.message = message
        self.retriable = retriable


class InvalidArgumentError(SprawlError, ValueError):
    """Bad input: a malformed name, an out-of-range value, an unknown option."""


class NotFoundError(SprawlError, LookupError):
    """The named topic, group or partition does not exist."""


class AlreadyExistsError(SprawlError):
    """An object with that name already exists."""


class OffsetOutOfRangeError(SprawlError):
    """The offset is outside the partition's retained range."""


class DataCorruptionError(SprawlError):
    """Stored or received bytes failed their checks."""


class StorageError(SprawlError, OSError):
    """The operating system or the storage engine failed (IO_ERROR, NOT_A_STORE)."""


class UnsupportedVersionError(SprawlError):
    """A format or protocol version this build does not understand."""


class ResourceExhaustedError(SprawlError):
    """A bounded queue is full (RESOURCE_EXHAUSTED, RETRY_AFTER); retry later."""


class ClosedError(SprawlError):
    """The client, consumer or node was closed."""


class TimeoutError(SprawlError, builtins.TimeoutError):  # noqa: A001 - shadows on purpose
    """The operation did not complete in time."""


class ProducerError(SprawlError):
    """An idempotent producer's sequence broke, a message is too large, or a
    producer was fenced by a later one with the same ``producer_name``."""


class GroupMembershipError(SprawlError):
    """The group no longer knows this member (its session expired)."""


class NotLeaderError(SprawlError):
    """This node does not lead the partition."""


class InternalError(SprawlError):
    """An invariant broke inside Sprawl: a bug worth reporting."""


_BY_CODE: Dict[str, Type[SprawlError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "OFFSET_OUT_OF_RANGE": OffsetOutOfRangeError,
    "DATA_CORRUPTION": DataCorruptionError,
    "IO_ERROR": StorageError,
    "NOT_A_STORE": StorageError,
    "UNSUPPORTED_VERSION": UnsupportedVersionError,
    "RESOURCE_EXHAUSTED": ResourceExhaustedError,
    "RETRY_AFTER": ResourceExhaustedError,
    "CLOSED": ClosedError,
    "TIMEOUT": TimeoutError,
    "INTERNAL": InternalError,
    "NOT_LEADER": NotLeaderError,
    "OUT_OF_ORDER_SEQUENCE": ProducerError,
    "MESSAGE_TOO_LARGE": ProducerError,
    "UNKNOWN_MEMBER": GroupMembershipError,
    "PRODUCER_FENCED": ProducerError,
}


def error_from(code: str, code_number: int, message: str, retriable: bool) -> SprawlError:
    """The exception for an error the core reported."""
    return _BY_CODE.get(code, SprawlError)(code, code_number, message, retriable)
