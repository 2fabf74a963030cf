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


def test_a_function_waits_for_another_threads_import_of_a_project_module_to_finish(tmp_path, monkeypatch):
    package = tmp_path / "gate_slow"
    package.mkdir()
    (package / "__init__.py").write_text("")
    # a module body that is still running when the invocation starts
    (package / "models.py").write_text(
        "import time\nfrom dataclasses import dataclass\n\ntime.sleep(0.3)\n\n\n@dataclass\nclass Line:\n    sku: str\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    space = ModuleSpace([tmp_path])
    imported: dict = {}

    def import_models():  # the test's thread importing lazily while moto's thread runs a function
        try:
            imported["module"] = importlib.import_module("gate_slow.models")
        except Exception as exc:  # what hiding the module mid-import used to cause
            imported["error"] = exc

    thread = threading.Thread(target=import_models)
    thread.start()
    time.sleep(0.1)
    with space.active({}, [tmp_path]):
        assert "module" in imported  # the swap began only once the import had finished
    thread.join(5)
    assert "error" not in imported and imported["module"].Line("A").sku == "A"
    assert sys.modules["gate_slow.models"] is imported["module"]
    for name in ("gate_slow.models", "gate_slow"):
        sys.modules.pop(name, None)
