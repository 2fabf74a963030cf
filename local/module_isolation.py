"""Each in-process function gets its own copies of the project's modules, as each Lambda has its own process.

Handlers and the shared layer read settings and create clients, loggers and caches at import time
(`POWERTOOLS_SERVICE_NAME`, table names, `functools.cache`d boto3 clients). If two functions shared one
imported `shared` package, the second would run with the first one's settings. So while a function is
imported or invoked, `ModuleSpace.active` hides every other copy of the project's modules from
`sys.modules` and shows that function's own; modules it imports meanwhile become its own.

Project modules are those loaded from files under the given roots, except the runtime's own package and
installed packages (a virtualenv may live inside the repository). Third-party packages (boto3, pydantic,
Powertools) stay shared: importing them once per function would cost seconds, and moto's patches to
botocore must stay in place. So do the project's `stateless` packages (canonical models, pure domain logic,
problem types): they read no settings and hold no clients at import, and building their pydantic models again
for every function of every runtime was most of a flow test's set-up.

`sys.modules` is one for the whole process, and functions also run on other threads (moto's Step Functions
executions, the server's queue pump). While one function's modules are shown, another thread importing a
project module would find it hidden and import a second copy (or lose a package it is importing, `KeyError:
'tests'`). `ImportGate` makes such an import wait until the function's modules are put back.
"""

from __future__ import annotations

import builtins
import importlib
import site
import sys
import sysconfig
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType


class ModuleSpace:
    """Decides which modules are project code, and swaps per-function sets of them in and out."""

    def __init__(self, roots: Iterable[Path], exclude: Iterable[Path] = (), stateless: Iterable[str] = ()) -> None:
        self._roots = tuple(str(p.resolve()) + "/" for p in roots)
        self._stateless = tuple(stateless)
        installed = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")}
        installed.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
        installed.update((sys.prefix, sys.base_prefix))
        # Both spellings: module files keep the path they were found under (a symlinked virtualenv's, say).
        self._excluded = tuple(
            {f"{form}/" for p in [*exclude, *installed] for form in (str(Path(p).absolute()), str(Path(p).resolve()))}
        )
        self._verdicts: dict[str, tuple[ModuleType, bool]] = {}
        # The packages under the roots, known before the first swap, so that imports already under way count.
        # The runtime's own package and a virtualenv under a root are not (their imports never wait: a function's
        # worker threads import `local` modules through the botocore hooks while its modules are shown).
        for root in (Path(r) for r in self._roots):
            for entry in root.iterdir() if root.is_dir() else ():
                if entry.name.startswith((".", "_")) or not (entry.is_dir() or entry.suffix == ".py"):
                    continue
                if not self._is_project_path(str(entry.resolve()) + "/") or not self._is_project_path(
                    str(entry.absolute()) + "/"
                ):
                    continue
                GATE.project_packages.add(entry.stem)
        GATE.install()

    def is_project_module(self, name: str, module: ModuleType) -> bool:
        cached = self._verdicts.get(name)
        if cached is not None and cached[0] is module:
            return cached[1]
        if any(name == package or name.startswith(package + ".") for package in self._stateless):
            self._verdicts[name] = (module, False)
            return False
        path = getattr(module, "__file__", None)
        if path is None and hasattr(module, "__path__"):  # a namespace package: no __init__.py
            path = next(iter(module.__path__), None)
        verdict = bool(path) and self._is_project_path(str(path))
        self._verdicts[name] = (module, verdict)
        if verdict:
            GATE.project_packages.add(name.partition(".")[0])
        return verdict

    def _is_project_path(self, path: str) -> bool:
        return path.startswith(self._roots) and not path.startswith(self._excluded)

    @contextmanager
    def active(self, owned: dict[str, ModuleType], search_path: Iterable[Path] = ()) -> Iterator[None]:
        """Show only `owned` project modules in `sys.modules`; new project modules are added to `owned`."""
        with GATE.swapped():
            hidden = {n: m for n, m in list(sys.modules.items()) if self.is_project_module(n, m)}
            for name in hidden:
                del sys.modules[name]
            sys.modules.update(owned)
            added_paths = [str(p) for p in search_path if str(p) not in sys.path]
            sys.path[:0] = added_paths
            try:
                yield
            finally:
                for path in added_paths:
                    if path in sys.path:
                        sys.path.remove(path)
                for name, module in list(sys.modules.items()):
                    if self.is_project_module(name, module):
                        owned[name] = module
                        del sys.modules[name]
                sys.modules.update(hidden)


class ImportGate:
    """A function's modules are shown only while no other thread imports a project module, and the other way round.

    Installed over `builtins.__import__` and `importlib.import_module` once per process. An import of a project
    package by another thread waits while a function's modules are shown (it would find them hidden and import a
    second copy); a swap waits while another thread is in the middle of importing a project module (hiding it
    mid-import breaks that import: `sys.modules.get(cls.__module__)` is None in its dataclasses). Third-party
    imports never wait (a thread holding such a module's import lock could wait on a function that needs the same
    module), and no wait lasts longer than `max_wait` seconds: past that things go ahead as without the gate.
    """

    def __init__(self, max_wait: float = 30.0) -> None:
        self.project_packages: set[str] = set()
        self.max_wait = max_wait
        self._owner: int | None = None
        self._depth = 0
        self._importing: dict[int, int] = {}  # thread -> depth of project imports in progress
        self._changed = threading.Condition(threading.Lock())
        self._installed = False

    @contextmanager
    def swapped(self) -> Iterator[None]:
        self.install()
        me = threading.get_ident()
        with self._changed:
            while self._owner not in (None, me):
                self._changed.wait()
            if self._owner is None:
                self._changed.wait_for(
                    lambda: self._owner is None and not any(t != me for t in self._importing), timeout=self.max_wait
                )
                while self._owner not in (None, me):  # another swap won the lock meanwhile
                    self._changed.wait()
            self._owner, self._depth = me, self._depth + 1
        try:
            yield
        finally:
            with self._changed:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._changed.notify_all()

    def _enter_import(self, name: str, globals_: dict | None = None, level: int = 0) -> bool:
        """Wait while another thread shows a function's modules, then count the import; False: not the project's."""
        top = name.partition(".")[0]
        if level and globals_:
            top = str(globals_.get("__package__") or globals_.get("__name__") or "").partition(".")[0]
        if top not in self.project_packages:
            return False
        me = threading.get_ident()
        with self._changed:
            if self._owner not in (None, me):
                self._changed.wait_for(lambda: self._owner is None, timeout=self.max_wait)
            self._importing[me] = self._importing.get(me, 0) + 1
        return True

    def _leave_import(self) -> None:
        me = threading.get_ident()
        with self._changed:
            depth = self._importing.get(me, 1) - 1
            if depth:
                self._importing[me] = depth
            else:
                self._importing.pop(me, None)
                self._changed.notify_all()

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        original_import, original_import_module = builtins.__import__, importlib.import_module

        def gated_import(name, globals=None, locals=None, fromlist=(), level=0):
            counted = self._enter_import(name, globals, level)
            try:
                return original_import(name, globals, locals, fromlist, level)
            finally:
                if counted:
                    self._leave_import()

        def gated_import_module(name: str, package: str | None = None) -> ModuleType:
            counted = self._enter_import(package if name.startswith(".") and package else name)
            try:
                return original_import_module(name, package)
            finally:
                if counted:
                    self._leave_import()

        builtins.__import__ = gated_import
        importlib.import_module = gated_import_module


GATE = ImportGate()
