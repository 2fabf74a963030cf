"""Per-function module copies while other threads import: an import of a hidden project module waits."""

import importlib
import sys
import threading
import time

from local.module_isolation import ModuleSpace


def test_another_thread_importing_a_project_module_during_an_invocation_gets_the_same_module(tmp_path, monkeypatch):
    package = tmp_path / "gate_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text("VALUE = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    original = importlib.import_module("gate_pkg.settings")
    space = ModuleSpace([tmp_path])
    owned: dict = {}
    entered, leave = threading.Event(), threading.Event()

    def invocation():  # what a Step Functions task does on moto's thread
        with space.active(owned, [tmp_path]):
            importlib.import_module("gate_pkg.settings")  # the function's own copy
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=invocation)
    thread.start()
    try:
        assert entered.wait(5)
        threading.Timer(0.2, leave.set).start()
        started = time.monotonic()
        from gate_pkg import settings  # the test's thread, while the function's modules are shown

        waited = time.monotonic() - started
    finally:
        leave.set()
        thread.join(5)
    assert settings is original and settings.VALUE is original.VALUE
    assert waited >= 0.1
    assert owned["gate_pkg.settings"] is not original  # the function kept its own copy
    assert sys.modules["gate_pkg.settings"] is original
    for name in ("gate_pkg.settings", "gate_pkg"):
        sys.modules.pop(name, None)
