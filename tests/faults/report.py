"""The fault-injection suite (docs/reliability.md, "Fault injection"): one process-wide injector, a report.

A plugin of the whole test session (`pytest_plugins` in tests/conftest.py), not a conftest of tests/faults: with
xdist the controller collects nothing, so only a plugin it loads itself can add up the workers' counts and print
them at the end of `make test`.

Every scenario module runs its flow fault-free first (learning the end state and the AWS call sites the flow's
functions use), then again with faults at every one of those sites and at the partners' simulators, and asserts
the same end state, each business effect once, and every permanent failure dead-lettered with its story.

At the end of the session the terminal summary says how many faults were injected and where (per call site and
kind; partner simulators' faults as `partner <name>`), and `fault-injection.json` under pytest's base temporary
directory holds the same (with xdist, the workers' counts are added up by the controller).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from local.fault_injection import FaultInjector, summary

REPORT_FILE = "fault-injection.json"
_INJECTOR = FaultInjector()
_from_workers: Counter[tuple[str, str]] = Counter()  # xdist: what the workers injected


def pytest_configure(config: pytest.Config) -> None:
    _INJECTOR.install()  # before any runtime's functions create their clients


def pytest_unconfigure(config: pytest.Config) -> None:
    _INJECTOR.uninstall()


@pytest.fixture(scope="session")
def injector() -> FaultInjector:
    return _INJECTOR


def _all_injected() -> Counter[tuple[str, str]]:
    return _INJECTOR.counts() + _from_workers


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller adds the counts up
        workeroutput["fault_injection"] = [[where, kind, n] for (where, kind), n in _all_injected().items()]


def pytest_testnodedown(node: Any, error: Any) -> None:
    for where, kind, n in getattr(node, "workeroutput", {}).get("fault_injection", []):
        _from_workers[(where, kind)] += n


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    total = _all_injected()
    if not total:
        return
    report = summary(total)
    terminalreporter.section("fault injection")
    terminalreporter.write_line(
        f"{report['injected']} faults injected at {len(report['by_site'])} call sites: "
        + ", ".join(f"{kind} {n}" for kind, n in report["by_kind"].items())
    )
    for where, kinds in report["by_site"].items():
        terminalreporter.write_line(f"  {where}: " + ", ".join(f"{kind} x{n}" for kind, n in kinds.items()))
    path = _report_path(config)
    if path is not None:
        path.write_text(json.dumps(report, indent=2) + "\n")
        terminalreporter.write_line(f"report: {path}")


def _report_path(config: pytest.Config) -> Path | None:
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return None
    return Path(factory.getbasetemp()) / REPORT_FILE
