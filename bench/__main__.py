"""`python -m bench` (`make bench`): run every measurement in fresh processes, print the table, write results."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

from bench.coldstart import breakdown, cold_imports
from bench.common import OFFLINE_ENDPOINT, ROOT, run_worker, write_json
from bench.report import aws_verdict, render

RESULTS = ROOT / "bench" / "results.json"
# Seconds each X12 reader spends parsing (pyx12, about 10x slower, sets the run's length: a few seconds).
EDI_SECONDS = 0.5


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "functions", "shared")),
    }


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "platform": f"{platform.system()}-{platform.machine()}",
        "packages": {p: version(p) for p in ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "moto")},
    }


def _judge(scenarios: dict[str, Any]) -> None:
    """Each scenario's verdicts against its floors: steady state, cold, and HTTP calls to systems where counted."""
    for scenario in scenarios.values():
        if not isinstance(scenario, dict):
            continue
        scenario["verdict"] = aws_verdict(scenario["steady_per_event"], scenario["floor"], scenario["basis"])
        if "cold" in scenario:
            scenario["cold_verdict"] = aws_verdict(scenario["cold"], scenario["cold_floor"], scenario["cold_basis"])
        if "http_per_event" in scenario:
            scenario["http_verdict"] = aws_verdict(
                scenario["http_per_event"], scenario["http_floor"], scenario["http_basis"]
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per cold-import target (>= 5)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per throughput path")
    args = parser.parse_args()
    started, load_start = time.perf_counter(), os.getloadavg()[0]

    cold = cold_imports(args.runs)
    cold["ingress_breakdown"] = breakdown("ingress")
    cold["method"] = (
        f"wall clock (and process CPU time) around the import statement in a fresh interpreter, median of "
        f"{args.runs}, interleaved; "
        f".pyc warm (PYTHONDONTWRITEBYTECODE unset, one untimed run first); AWS_ENDPOINT_URL={OFFLINE_ENDPOINT}"
    )

    throughput: dict[str, Any] = {
        "method": (
            f"one process each, {args.seconds:g} s after 0.5 s warm-up; rate = items / time inside the call "
            "(input building excluded); Logger/Metrics on, stdout to /dev/null"
        ),
    }
    for target in ("position", "reservation", "reservation500", "availability", "ingress", "projector"):
        function = target if target in ("ingress", "projector") else "bench"
        throughput[target] = run_worker("bench.throughput", target, str(args.seconds), function=function, offline=True)

    aws = run_worker("bench.aws_calls", function="ingress", offline=False)
    _judge(aws)
    aws["method"] = (
        "in-process moto, botocore before-call hook on every session (retries are not counted); "
        "EventBridge -> SQS -> Lambda deliveries are AWS's, not requests of ours"
    )
    supply = run_worker("bench.aws_calls_supply", function="ingress", offline=False)
    _judge(supply)
    supply["method"] = (
        "as in 4, each scenario on a freshly loaded handler (its first request or batch is the cold one); HTTP "
        "calls to the ERPNext simulator and a webhook receiver counted apart, per delivery"
    )
    orders = run_worker("bench.aws_calls_orders", function="order_flow", offline=False, timeout=600)
    _judge(orders["scenarios"])
    orders["method"] = (
        "the embedded runtime on the synthesized dev template, executions on moto's ASL interpreter; every botocore "
        "call attributed to the function invocation running on its thread, by order and step or callback "
        "(Step Functions' own Lambda Invoke and the SQS polling are AWS's, not counted); cold = the first order, "
        "placed alone into fresh processes; steady = the next 9, driven together"
    )

    edi = run_worker("bench.edi_parse", str(EDI_SECONDS), function="edi", offline=True)
    edi["method"] = (
        f"one process, both readers in the same run: rounds of the {edi['file_count']} corpus files through each "
        f"reader in turn until each spent {EDI_SECONDS:g} s inside its calls ({edi['rounds']} rounds); bytes in, "
        "every segment split and the envelope checked; judged against tests/unit/x12_corpus.py"
    )

    results = {
        "schema": 1,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {**_machine(), "loadavg_1m": {"start": load_start, "end": os.getloadavg()[0]}},
        "git": _git(),
        "cold_import": cold,
        "throughput": throughput,
        "aws_calls": aws,
        "supply_aws_calls": supply,
        "order_aws_calls": orders,
        "edi_parse": edi,
        "duration_s": round(time.perf_counter() - started, 1),
    }
    write_json(RESULTS, results)
    print(render(results))
    print(f"\n({results['duration_s']} s; written to {RESULTS.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
