"""asyncio front end: the same client, awaitable."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, Dict, List, Optional, TypeVar

from ._types import PublishAck
from .client import Bytes, Client, HeadersArg
from .message import Message
from .subscription import Subscription

T = TypeVar("T")


class AsyncMessage:
    """A received message whose ``ack``/``nack`` are awaitable."""

    __slots__ = ("_message", "_loop")

    def __init__(self, message: Message, loop: asyncio.AbstractEventLoop) -> None:
        self._message = message
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    async def ack(self) -> None:
        # Acks are queued in memory and sent in batches: no need for a thread.
        self._message.ack()

    async def nack(self, delay: float = 0.0) -> None:
        self._message.nack(delay)

    def __repr__(self) -> str:
        return repr(self._message)


class AsyncSubscription:
    """``async for`` over a subscription; receives run in the default executor
    so the event loop never blocks."""

    def __init__(self, subscription: Subscription, timeout: Optional[float]) -> None:
        self._subscription = subscription
        self._timeout = timeout

    def __aiter__(self) -> AsyncIterator[AsyncMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[AsyncMessage]:
        loop = asyncio.get_running_loop()
        try:
            while True:
                message = await loop.run_in_executor(None, self._subscription.receive,
                                                     self._timeout)
                if message is None:
                    return
                yield AsyncMessage(message, loop)
        finally:
            await self.close()

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._subscription.close)

    async def __aenter__(self) -> "AsyncSubscription":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AsyncClient:
    """The asyncio client: ``async with sprawl.AsyncClient(address) as c``.

    Publishes await the futures of ``Client.publish_async``, which the
    client's completer thread completes (no thread per call); admin calls
    and receives run in the loop's default executor."""

    def __init__(self, address: str, **options: Any) -> None:
        self._address = address
        self._options = options
        self._client: Optional[Client] = None

    async def __aenter__(self) -> "AsyncClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def connect(self) -> None:
        if self._client is None:
            self._client = await self._run(Client, self._address, **self._options)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the AsyncClient is not connected: use 'async with' or connect()")
        return self._client

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    async def publish(self, topic: str, value: Bytes, *, key: Any = None,
                      headers: HeadersArg = None, partition: Optional[int] = None) -> PublishAck:
        return await asyncio.wrap_future(
            self.client.publish_async(topic, value, key=key, headers=headers, partition=partition))

    async def flush(self, timeout: Optional[float] = None) -> None:
        await self._run(self.client.flush, timeout)

    def subscribe(self, topic: str, **options: Any) -> AsyncSubscription:
        timeout = options.pop("timeout", None)
        return AsyncSubscription(self.client.subscribe(topic, **options), timeout)

    async def create_topic(self, name: str, partitions: int = 1, **config: Any) -> Dict[str, Any]:
        return await self._run(self.client.create_topic, name, partitions, **config)

    async def describe_topic(self, name: str) -> Dict[str, Any]:
        return await self._run(self.client.describe_topic, name)

    async def list_topics(self) -> List[Dict[str, Any]]:
        return await self._run(self.client.list_topics)

    async def delete_topic(self, name: str) -> None:
        await self._run(self.client.delete_topic, name)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await self._run(client.close)
