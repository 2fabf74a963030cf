"""What in-process handlers print, captured per function like CloudWatch Logs.

Powertools' Logger keeps a reference to `sys.stdout` taken when it is created (at import), and Metrics prints
EMF documents to whatever `sys.stdout` is when it flushes. So while a function is imported or invoked,
`sys.stdout`/`sys.stderr` are swapped for a `_Router`, a stable proxy object that sends what the current
thread writes to that function's log and everything else to the stream it replaced. A Logger created during
import keeps writing through the router afterwards, so its lines keep landing in the right place.

Lines are kept in memory (queryable: `lines`, `json_lines`, `emf_documents`) and appended to
`<directory>/<function>.log` when a directory is given (the `*.log` files there are removed at start: the logs
are those of this runtime).
"""

from __future__ import annotations

import io
import json
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


class LogStore:
    """Captured log lines by function key (the newest `max_lines` per function stay in memory)."""

    def __init__(self, directory: Path | None = None, max_lines: int = 100_000) -> None:
        self.directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            for old in directory.glob("*.log"):
                old.unlink()
        self._max_lines = max_lines
        self._lines: dict[str, deque[str]] = {}
        self._lock = threading.Lock()

    def append(self, function: str, line: str) -> None:
        with self._lock:
            self._lines.setdefault(function, deque(maxlen=self._max_lines)).append(line)
            if self.directory is not None:
                with (self.directory / f"{function}.log").open("a", encoding="utf-8") as f:
                    f.write(line + "\n")

    def lines(self, function: str) -> list[str]:
        with self._lock:
            return list(self._lines.get(function, ()))

    def json_lines(self, function: str) -> list[dict[str, Any]]:
        """Lines that are JSON objects (Powertools Logger records and EMF documents)."""
        out = []
        for line in self.lines(function):
            if line.startswith("{"):
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict):
                    out.append(doc)
        return out

    def emf_documents(self, function: str) -> list[dict[str, Any]]:
        """CloudWatch embedded-metric-format documents the function printed."""
        return [doc for doc in self.json_lines(function) if isinstance(doc.get("_aws"), dict)]

    def functions(self) -> list[str]:
        with self._lock:
            return sorted(self._lines)


class _LineSink:
    """Collects writes of one invocation and emits complete lines to the store."""

    def __init__(self, store: LogStore, function: str) -> None:
        self._store = store
        self._function = function
        self._partial = ""

    def write(self, text: str) -> None:
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._store.append(self._function, line)

    def flush(self) -> None:
        if self._partial:
            self._store.append(self._function, self._partial)
            self._partial = ""


class _Router(io.TextIOBase):
    """A text stream that writes to the current thread's sink, or else to the stream it stands in for."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self._local = threading.local()

    @property
    def sink(self) -> _LineSink | None:
        return getattr(self._local, "sink", None)

    @sink.setter
    def sink(self, value: _LineSink | None) -> None:
        self._local.sink = value

    def write(self, text: str) -> int:
        sink = self.sink
        if sink is not None:
            sink.write(text)
        else:
            self.fallback.write(text)
        return len(text)

    def flush(self) -> None:
        if self.sink is None:
            self.fallback.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


_STDOUT = _Router(sys.stdout)
_STDERR = _Router(sys.stderr)


@contextmanager
def captured(store: LogStore, function: str) -> Iterator[_LineSink]:
    """Route this thread's stdout and stderr to `function`'s log for the duration of the block."""
    sink = _LineSink(store, function)
    saved = sys.stdout, sys.stderr, _STDOUT.sink, _STDERR.sink
    if sys.stdout is not _STDOUT:
        _STDOUT.fallback = sys.stdout
    if sys.stderr is not _STDERR:
        _STDERR.fallback = sys.stderr
    sys.stdout, sys.stderr = _STDOUT, _STDERR
    _STDOUT.sink = _STDERR.sink = sink
    try:
        yield sink
    finally:
        sink.flush()
        sys.stdout, sys.stderr, _STDOUT.sink, _STDERR.sink = saved
