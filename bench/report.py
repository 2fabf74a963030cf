"""The printed table (everything it shows is also in results.json)."""

from __future__ import annotations

from typing import Any

# The fewest AWS calls a business event can cost (per event, batches of 10 on the projector).
FLOORS: dict[str, dict[str, float]] = {
    "ingress": {"dynamodb.PutItem": 1, "events.PutEvents": 1, "dynamodb.UpdateItem": 1},
    "projector": {"dynamodb.PutItem": 1, "dynamodb.BatchGetItem": 0.1},
}
FLOOR_TEXT = {
    "ingress": "idempotency put + PutEvents (batchable) + idempotency completion",
    "projector": "1 conditional write per event + 1 BatchGetItem per batch of 10",
}


def aws_verdict(function: str, measured: dict[str, float]) -> dict[str, Any]:
    floor = FLOORS[function]
    extra = {op: round(n - floor.get(op, 0), 3) for op, n in measured.items() if n > floor.get(op, 0) + 1e-9}
    missing = {op: n for op, n in floor.items() if measured.get(op, 0) + 1e-9 < n}
    return {
        "floor_per_event": round(sum(floor.values()), 3),
        "measured_per_event": round(sum(measured.values()), 3),
        "above_floor": extra,
        "below_floor": missing,
        "floor_basis": FLOOR_TEXT[function],
    }


def _ops(calls: dict[str, float]) -> str:
    return ", ".join(f"{op} {n:g}" for op, n in calls.items())


def _cold_row(label: str, r: dict[str, Any], extra: str = "") -> str:
    samples = r["samples_ms"]
    return (
        f"   {label:<20}{r['median_ms']:>8.0f}{min(samples):>7.0f}{max(samples):>7.0f}{r['cpu_median_ms']:>8.0f}{extra}"
    )


def render(results: dict[str, Any]) -> str:
    m, cold, lines = results["machine"], results["cold_import"], []
    lines.append(
        f"distrosync bench  {results['timestamp']}  {m['python_implementation']} {m['python_version']}, "
        f"{m['cpu_count']} CPUs, {m['platform']}  commit {results['git']['commit'][:10]}"
        f"{' (functions/ or shared/ modified)' if results['git']['dirty'] else ''}"
    )
    load = m["loadavg_1m"]
    lines.append(
        f"load average (1 min) at start {load['start']:.2f}, at end {load['end']:.2f}: above 0 means shared CPUs"
    )
    lines.append("")
    lines.append("1. Cold import of each handler vs bare `import boto3`")
    lines.append(f"   ({cold['method']})")
    lines.append(f"   {'ms':<20}{'median':>8}{'min':>7}{'max':>7}{'CPU':>8}{'x boto3':>9}{'(CPU)':>7}   offline probe")
    lines.append(_cold_row("import boto3", cold["baseline"]))
    for name, h in cold["handlers"].items():
        probe = h["offline_probe"]
        status = f"ok, {len(probe['connect_attempts'])} connects, {probe['import_ms']:.0f} ms"
        extra = f"{h['ratio_to_boto3']:>9.2f}{h['cpu_ratio_to_boto3']:>7.2f}   {status}"
        lines.append(_cold_row(f"{name} handler", h, extra))
    b = cold["ingress_breakdown"]
    lines.append(f"   ingress import, -X importtime (median of {b['runs']}):")
    lines.append(f"     {'shared module':<36}{'cumul. ms':>10}{'self ms':>9}")
    for row in b["shared_top5_cumulative"]:
        lines.append(f"     {row['module']:<36}{row['cumulative_ms']:>10.1f}{row['self_ms']:>9.1f}")
    lines.append(f"     {'handler module body (self)':<36}{b['handler_module_body_ms']:>10.1f}")
    by_package = ", ".join(f"{row['package']} {row['self_ms']:.0f}" for row in b["self_time_by_package"])
    lines.append(f"     self time by package, ms: {by_package}")

    t = results["throughput"]
    lines.append("")
    lines.append("2. Events/s on one core, AWS stubbed in memory")
    lines.append(f"   ({t['method']})")
    lines.append(f"   {'path':<40}{'ev/s CPU':>9}{'ev/s wall':>10}{'p50 us':>9}{'p99 us':>9}{'events':>9}")
    labels = {
        "ingress": "ingress POST /v1/inventory/adjustments",
        "projector": "projector, SQS batch of 10, per event",
        "decision": "apply_adjustment (pure decision)",
    }
    for name, label in labels.items():
        r = t[name]
        rates = f"{r['events_per_cpu_s']:>9.0f}{r['events_per_s']:>10.0f}"
        numbers = f"{rates}{r['p50_us']:>9.1f}{r['p99_us']:>9.1f}{r['events']:>9}"
        lines.append(f"   {label:<40}{numbers}")

    a = results["aws_calls"]
    lines.append("")
    lines.append("3. AWS API calls per business event")
    lines.append(f"   ({a['method']})")
    lines.append(f"   {'function':<11}{'measured':>9}{'floor':>7}   steady state, per event")
    for name, first_key in (("ingress", "first_request"), ("projector", "first_batch")):
        r = a[name]
        v = r["verdict"]
        lines.append(
            f"   {name:<11}{v['measured_per_event']:>9g}{v['floor_per_event']:>7g}   {_ops(r['steady_per_event'])}"
        )
        lines.append(f"   {'':<30}cold {first_key.replace('_', ' ')}: {_ops(r[first_key])}")
        if v["above_floor"]:
            lines.append(f"   {'':<30}ABOVE FLOOR ({v['floor_basis']}): extra {_ops(v['above_floor'])}")
        else:
            lines.append(f"   {'':<30}at floor ({v['floor_basis']})")
    return "\n".join(lines)
