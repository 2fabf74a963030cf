"""One provisioned embedded stack per test process, reused by every test that asks for a fresh one.

Starting the runtime provisions ~300 AWS resources on moto (2-3 s); a flow test asked for it each time. The pool
starts it once per flavour (state machines executed or not), checkpoints moto's state, and hands it out reset to
that checkpoint (tens of milliseconds: `LocalRuntime.reset`). Between tests it is suspended, moto stopped, so a
test that starts moto or a runtime of its own gets a clean one.
"""

from __future__ import annotations

from pathlib import Path

from cli.assembly import REPO_ROOT
from local.runtime import LocalRuntime


class RuntimePool:
    def __init__(self, template: Path) -> None:
        self.template = template
        self._runtimes: dict[bool, LocalRuntime] = {}
        self._lent: LocalRuntime | None = None

    def acquire(self, *, execute_state_machines: bool) -> LocalRuntime:
        """The stack as just provisioned, running; `release` it when done."""
        if self._lent is not None:
            raise RuntimeError("the pooled runtime is lent already (release it first)")
        runtime = self._runtimes.get(execute_state_machines)
        if runtime is None:
            runtime = LocalRuntime.start(
                self.template, source_root=REPO_ROOT, mode="inprocess", execute_state_machines=execute_state_machines
            )
            runtime.checkpoint()
            self._runtimes[execute_state_machines] = runtime
        else:
            runtime.resume()
        self._lent = runtime
        return runtime

    def release(self, runtime: LocalRuntime) -> None:
        if runtime is not self._lent:
            raise RuntimeError("release() of a runtime this pool did not lend")
        self._lent = None
        runtime.suspend()

    def close(self) -> None:
        for runtime in self._runtimes.values():
            runtime.stop()
        self._runtimes.clear()
