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
"""

from __future__ import annotations

import site
import sys
import sysconfig
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
        self._excluded = tuple(str(Path(p).resolve()) + "/" for p in [*exclude, *installed])
        self._verdicts: dict[str, tuple[ModuleType, bool]] = {}

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
        return verdict

    def _is_project_path(self, path: str) -> bool:
        return path.startswith(self._roots) and not path.startswith(self._excluded)

    @contextmanager
    def active(self, owned: dict[str, ModuleType], search_path: Iterable[Path] = ()) -> Iterator[None]:
        """Show only `owned` project modules in `sys.modules`; new project modules are added to `owned`."""
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
