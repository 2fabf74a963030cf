"""Paths, child-process environment, handler loading and small helpers shared by the bench parts."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from shared.domain.order_flow import Timers

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
# The corpus sits beside the repository (../shared/corpus), read-only.
CORPUS = Path(os.environ.get("BENCH_CORPUS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "corpus" / "aws")
# Nothing listens here: a settings read or a stub that misses an AWS call fails fast instead of reaching AWS.
OFFLINE_ENDPOINT = "http://127.0.0.1:9"
ORDER_FLOW_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:distrosync-bench-order-flow"

SETTINGS = {
    "DISTROSYNC_ENV": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Distrosync",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "PARTNERS_TABLE_NAME": "distrosync-bench-partners",
    "IDEMPOTENCY_TABLE_NAME": "distrosync-bench-idempotency",
    "INVENTORY_TABLE_NAME": "distrosync-bench-inventory",
    "RESERVATIONS_TABLE_NAME": "distrosync-bench-reservations",
    "SUPPLIERS_TABLE_NAME": "distrosync-bench-suppliers",
    "PURCHASING_TABLE_NAME": "distrosync-bench-purchasing",
    "ORDERS_TABLE_NAME": "distrosync-bench-orders",
    "EDI_TABLE_NAME": "distrosync-bench-edi",
    "EDI_BUCKET_NAME": "distrosync-bench-edi-files",
    "CLAIM_CHECK_BUCKET": "distrosync-bench-claim-check",
    "JOURNAL_TABLE_NAME": "distrosync-bench-journal",
    "DATA_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "SYSTEM_SECRETS_PREFIX": "distrosync-bench/systems/",
    "EVENT_BUS_NAME": "distrosync-bench-bus",
    # The order-to-ship functions (docs/contracts.md): the state machine, and the starter's timers as deployed.
    "STATE_MACHINE_ARN": ORDER_FLOW_ARN,
    "ORDER_FLOW_STATE_MACHINE_ARN": ORDER_FLOW_ARN,
    "ORDER_FLOW_TIMERS": json.dumps(Timers().as_input(), sort_keys=True),
    "PARTNER_SECRETS_PREFIX": "distrosync-bench/partners/",
    "SIGNATURE_MAX_SKEW_SECONDS": "300",
    "MAX_BODY_BYTES": "1048576",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def functions() -> list[str]:
    """Every `functions/<name>/handler.py`, discovered."""
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))


def child_env(function: str, *, offline: bool = True) -> dict[str, str]:
    """Dummy settings of docs/contracts.md; bytecode writing left on so .pyc caches stay warm (as deployed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the Makefile exports it; a deployed package ships .pyc
    env.update(SETTINGS, POWERTOOLS_SERVICE_NAME=function)
    if offline:
        env["AWS_ENDPOINT_URL"] = OFFLINE_ENDPOINT
    return env


def run_worker(module: str, *args: str, function: str, offline: bool, timeout: float = 120) -> dict[str, Any]:
    """Run `python -m <module> <args> <out.json>` in a fresh process; return what it wrote."""
    with tempfile.TemporaryDirectory(prefix="distrosync-bench-") as tmp:
        out = Path(tmp) / "out.json"
        proc = subprocess.run(
            [sys.executable, "-m", module, *args, str(out)],
            cwd=ROOT,
            env=child_env(function, offline=offline),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"{module} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def load_handler(function: str) -> ModuleType:
    """Import `functions/<function>/handler.py` as Lambda does (function folder first on sys.path)."""
    folder = FUNCTIONS / function
    for path in (str(ROOT), str(folder)):
        if path not in sys.path:
            sys.path.insert(0, path)
    spec = importlib.util.spec_from_file_location(f"{function}_handler", folder / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def corpus(name: str) -> dict[str, Any]:
    path = CORPUS / name
    if not path.exists():
        raise SystemExit(f"bench: corpus file {path} not found (set BENCH_CORPUS_DIR)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "2026/01/01/[$LATEST]bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Send fd 1 (Logger's stream handler and EMF prints) to /dev/null; Logger and Metrics stay enabled."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
