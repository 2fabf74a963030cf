"""The loop of every overdue sweep (POs awaiting acknowledgment, EDI groups awaiting their 997): what is due,
settled a chunk at a time, stopping early when the invocation runs short.

`settle(chunk)` publishes the chunk's events first and marks them after, returning how many it marked: event ids
derived from the entry mean a sweep that dies in between publishes the same events again next time (consumers drop
them by id) instead of losing them; an entry that changed meanwhile is not marked and counts as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

SWEEP_PUBLISH_CHUNK = 50  # entries published (then marked) at a time: PutEvents batches of 10, five calls

T = TypeVar("T")


@dataclass(frozen=True)
class OverdueReport:
    overdue: int = 0
    skipped: int = 0  # listed, but acknowledged or changed meanwhile
    complete: bool = True  # False: stopped early (should_stop), the next run goes on


def sweep(
    due: Iterable[T],
    settle: Callable[[Sequence[T]], int],
    *,
    should_stop: Callable[[], bool] = lambda: False,
    chunk: int = SWEEP_PUBLISH_CHUNK,
) -> OverdueReport:
    overdue = skipped = 0
    complete = True
    batch: list[T] = []

    def flush() -> None:
        nonlocal overdue, skipped
        marked = settle(batch)
        overdue, skipped = overdue + marked, skipped + len(batch) - marked
        batch.clear()

    for entry in due:
        if should_stop():
            complete = False
            break
        batch.append(entry)
        if len(batch) == chunk:
            flush()
    if batch:
        flush()
    return OverdueReport(overdue, skipped, complete)
