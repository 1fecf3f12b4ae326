"""Fixtures: an embedded node per test module (memory storage unless a test
asks for disk) and a client connected to it."""

from __future__ import annotations

import itertools
import os
import sys

import pytest

# The package from the one CMake build: make test points SPRAWL_PYTHON_PATH at
# it; an installed package is used otherwise (the packaging test).
if os.environ.get("SPRAWL_PYTHON_PATH"):
    sys.path.insert(0, os.environ["SPRAWL_PYTHON_PATH"])

import sprawl  # noqa: E402

_names = itertools.count()


@pytest.fixture(scope="module")
def node():
    with sprawl.Node(storage="memory") as n:
        yield n


@pytest.fixture
def client(node):
    with sprawl.Client(node.address, linger=0.001) as c:
        yield c


@pytest.fixture
def topic(client):
    """A fresh topic name with one partition created."""
    name = f"t{next(_names)}-{os.getpid()}"
    client.create_topic(name, partitions=1)
    return name


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}-{os.getpid()}"
