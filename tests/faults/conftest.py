"""The fault-injection suite (docs/reliability.md, "Fault injection"): one process-wide injector, a report.

Every scenario module runs its flow fault-free first (learning the end state and the AWS call sites the flow's
functions use), then again with faults at every one of those sites and at the partners' simulators, and asserts
the same end state, each business effect once, and every permanent failure dead-lettered with its story.

At the end of the session the terminal summary says how many faults were injected and where (per call site and
kind), and `fault-injection.json` under pytest's base temporary directory holds the same (with xdist, the
workers' counts are added up by the controller).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from local.fault_injection import FaultInjector

REPORT_FILE = "fault-injection.json"
# call site (str) -> kind -> count; partner faults use "partner <name>" as the site.
_injected: Counter[tuple[str, str]] = Counter()
_INJECTOR = FaultInjector()


def pytest_configure(config: pytest.Config) -> None:
    _INJECTOR.install()  # before any runtime's functions create their clients


def pytest_unconfigure(config: pytest.Config) -> None:
    _INJECTOR.uninstall()


@pytest.fixture(scope="session")
def injector() -> FaultInjector:
    return _INJECTOR


def record_partner_faults(partner: str, counts: dict[str, int]) -> None:
    """Count faults a partner simulator injected (its `Faults.injected`), for the report."""
    for kind, n in counts.items():
        if n:
            _injected[(f"partner {partner}", kind)] += n


def _all_injected() -> Counter[tuple[str, str]]:
    total = Counter(_injected)
    for (site, kind), n in _INJECTOR.injected.items():
        total[(str(site), kind.value)] += n
    return total


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller adds the counts up
        workeroutput["fault_injection"] = [[site, kind, n] for (site, kind), n in _all_injected().items()]


def pytest_testnodedown(node: Any, error: Any) -> None:
    for site, kind, n in getattr(node, "workeroutput", {}).get("fault_injection", []):
        _injected[(site, kind)] += n


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
    for site, kinds in report["by_site"].items():
        terminalreporter.write_line(f"  {site}: " + ", ".join(f"{kind} x{n}" for kind, n in kinds.items()))
    path = _report_path(config)
    if path is not None:
        path.write_text(json.dumps(report, indent=2) + "\n")
        terminalreporter.write_line(f"report: {path}")


def summary(total: Counter[tuple[str, str]]) -> dict[str, Any]:
    by_kind: Counter[str] = Counter()
    by_site: dict[str, dict[str, int]] = {}
    for (site, kind), n in sorted(total.items()):
        by_kind[kind] += n
        by_site.setdefault(site, {})[kind] = n
    return {"injected": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items())), "by_site": by_site}


def _report_path(config: pytest.Config) -> Path | None:
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return None
    return Path(factory.getbasetemp()) / REPORT_FILE
