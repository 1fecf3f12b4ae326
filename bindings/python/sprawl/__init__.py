"""Sprawl: a distributed publish/subscribe broker. This package is a client
and an embedded node, over Sprawl's C ABI.

    import sprawl
    with sprawl.Node(data_dir="./data") as node:
        with sprawl.Client(node.address) as client:
            client.create_topic("orders", partitions=4)
            client.publish("orders", b"hello", key="user-1")
            for msg in client.subscribe("orders", group="billing", timeout=5.0):
                print(msg.value.tobytes()); msg.ack()

Fast paths: ``client.produce(topic, value, on_delivery=cb)`` publishes with a
callback that ``client.poll()`` / ``client.flush()`` run on the calling thread
(no future per message); ``sub.receive_many(1000, timeout)`` and
``sub.ack_many(batch)`` consume and settle in batches.

The library's own log records go to the standard `logging` module, under the
"sprawl" logger (children per component: "sprawl.broker", "sprawl.storage",
...), e.g. ``logging.getLogger("sprawl").setLevel(logging.INFO)``.
"""

from . import _logging, _sprawl
from ._logging import TRACE, log_dropped, sync_log_level
from ._types import PublishAck
from .aio import AsyncClient, AsyncMessage, AsyncSubscription
from .client import Client
from .errors import (AlreadyExistsError, ClosedError, DataCorruptionError,
                     GroupMembershipError, InternalError, InvalidArgumentError, NotFoundError,
                     NotLeaderError, OffsetOutOfRangeError, ProducerError,
                     ResourceExhaustedError, SprawlError, StorageError, TimeoutError,
                     UnsupportedVersionError)
from .message import Message
from .node import Node
from .subscription import Subscription

__version__ = _sprawl.version()

# The library logs through `logging` (the "sprawl" logger), not on stderr.
_logging.install()

__all__ = [
    "AlreadyExistsError", "AsyncClient", "AsyncMessage", "AsyncSubscription", "Client",
    "ClosedError", "DataCorruptionError", "GroupMembershipError", "InternalError",
    "InvalidArgumentError", "Message", "Node", "NotFoundError", "NotLeaderError",
    "OffsetOutOfRangeError", "ProducerError", "PublishAck", "ResourceExhaustedError",
    "SprawlError", "StorageError", "Subscription", "TimeoutError", "TRACE",
    "UnsupportedVersionError", "log_dropped", "sync_log_level",
]
