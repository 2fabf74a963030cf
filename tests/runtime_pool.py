"""One provisioned embedded stack per test process, reused by every test that asks for a fresh one.

Starting the runtime provisions ~300 AWS resources on moto (2-3 s); a flow test asked for it each time. The pool
starts it once per flavour (state machines executed or not), checkpoints it, and hands it out reset to that
checkpoint (tens of milliseconds: `LocalRuntime.reset`). Between tests it is suspended, moto stopped, so a test
that starts moto or a runtime of its own gets a clean one.

A preparation most tests share (the catalog of master data every flow uses) is built once per flavour too: the
first test that asks for it builds it on the fresh stack, the pool checkpoints the result and keeps the value the
build returned, and later tests start from that checkpoint. A preparation must leave nothing running (drain
what it sent) and return a value that stays valid for its checkpoint (ids, credentials stored in the stack).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.assembly import REPO_ROOT
from local.runtime import Checkpoint, LocalRuntime


@dataclass(frozen=True)
class Preparation:
    name: str
    build: Callable[[LocalRuntime], Any]


@dataclass
class _Kept:
    runtime: LocalRuntime
    prepared: dict[str, tuple[Checkpoint, Any]] = field(default_factory=dict)


class RuntimePool:
    def __init__(self, template: Path) -> None:
        self.template = template
        self._kept: dict[bool, _Kept] = {}
        self._lent: _Kept | None = None
        self._values: dict[str, Any] = {}

    def acquire(self, *, execute_state_machines: bool, prepare: Preparation | None = None) -> LocalRuntime:
        """The stack as just provisioned (and prepared, when asked), running; `release` it when done."""
        if self._lent is not None:
            raise RuntimeError("the pooled runtime is lent already (release it first)")
        kept = self._kept.get(execute_state_machines)
        if kept is None:
            runtime = LocalRuntime.start(
                self.template, source_root=REPO_ROOT, mode="inprocess", execute_state_machines=execute_state_machines
            )
            runtime.checkpoint()
            kept = self._kept[execute_state_machines] = _Kept(runtime)
        ready = kept.prepared.get(prepare.name) if prepare else None
        if kept.runtime.suspended:
            kept.runtime.resume(to=ready[0] if ready else None)
        self._lent = kept
        self._values = {}
        if prepare is not None:
            if ready is None:
                value = prepare.build(kept.runtime)
                ready = kept.prepared[prepare.name] = (kept.runtime.checkpoint(default=False), value)
            self._values[prepare.name] = ready[1]
        return kept.runtime

    def prepared(self, name: str) -> Any:
        """The value the lent runtime's preparation `name` returned (KeyError: not prepared for this test)."""
        return self._values[name]

    def release(self, runtime: LocalRuntime) -> None:
        if self._lent is None or runtime is not self._lent.runtime:
            raise RuntimeError("release() of a runtime this pool did not lend")
        self._lent = None
        self._values = {}
        runtime.suspend()

    def close(self) -> None:
        for kept in self._kept.values():
            kept.runtime.stop()
        self._kept.clear()
