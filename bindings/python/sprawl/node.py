"""An embedded node: a full Sprawl broker inside this process."""

from __future__ import annotations

from typing import Any, Optional

from . import _sprawl
from ._native import settings, wraps_native


class Node:
    """Starts a node in-process (the same broker as ``sprawl-server``).

    ``storage`` is ``"disk"`` (RocksDB in ``data_dir``) or ``"memory"``;
    ports default to 0, which picks free ones: read ``address`` (the client
    port, for ``Client``) and ``http_address``. Use as a context manager, or
    call ``stop()``: it drains requests in progress and flushes storage.
    """

    def __init__(self, data_dir: Optional[str] = None, *, storage: Optional[str] = None,
                 node_id: Optional[str] = None, bind: str = "127.0.0.1", client_port: int = 0,
                 http_port: int = 0, fsync: Optional[str] = None, **extra: Any) -> None:
        if data_dir is None and storage in (None, "disk"):
            if storage == "disk":
                raise ValueError("disk storage needs a data_dir")
            storage = "memory"
        config = settings({
            "data_dir": data_dir,
            "storage": storage or "disk",
            "node_id": node_id,
            "bind": bind,
            "client_port": client_port,
            "http_port": http_port,
            "fsync": fsync,
            **extra,
        })
        self._native = self._start(config)

    @staticmethod
    @wraps_native
    def _start(config: Any) -> "_sprawl.Node":
        return _sprawl.Node(config)

    @property
    def address(self) -> str:
        """The client port, e.g. ``"tcp://127.0.0.1:41234"``."""
        return self._native.client_address

    @property
    def http_address(self) -> str:
        """The HTTP admin API, e.g. ``"http://127.0.0.1:41235"``."""
        return self._native.http_address

    @property
    def peer_address(self) -> str:
        """The peer port, e.g. ``"tcp://127.0.0.1:41236"``: another node
        started with ``join=node.peer_address`` forms a cluster with this one."""
        return self._native.peer_address

    @wraps_native
    def stop(self) -> None:
        """Stops the node: no new requests, in-flight ones answered, storage
        flushed. Idempotent."""
        self._native.stop()

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
