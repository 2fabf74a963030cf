"""Requests that take several entries (PutEvents, SendMessageBatch) limit both how many and how many bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def chunks_within(items: Iterable[T], size_of: Callable[[T], int], *, max_count: int, max_bytes: int) -> list[list[T]]:
    """`items` in order, cut into chunks of at most `max_count` entries and `max_bytes` (an entry bigger than
    `max_bytes` alone is a chunk of its own: callers refuse it first where the service would)."""
    chunks: list[list[T]] = []
    current: list[T] = []
    size = 0
    for item in items:
        n = size_of(item)
        if current and (len(current) == max_count or size + n > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        chunks.append(current)
    return chunks
