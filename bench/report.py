"""The printed table (everything it shows is also in results.json)."""

from __future__ import annotations

from typing import Any

EPSILON = 1e-9

# Section 2 and 3 rows: target -> label.
PURE = {
    "position": "position decision (apply_adjusted)",
    "reservation": "reservation plan, typical order",
    "reservation500": "reservation plan, 500 lines",
    "availability": "channel availability plan, per SKU",
}
HANDLERS = {
    "ingress": "ingress POST /v1/inventory/adjustments",
    "projector": "projector, SQS batch of 10, per event",
}
RESERVATION_PLAN = (
    "reservation plan = to_eaches (line count check, units -> eaches, lines added up per position) + scope check "
    "+ new_record + after_apply per chunk of 99 positions + shortfalls() against the positions' `available` "
    "(the answer of a refusal); whether stock suffices is decided by DynamoDB's conditions, not here"
)
# Section 4: (scenario, label); the end-to-end rows add up the ones listed.
AWS_ROWS = {
    "per adjustment": [
        ("adjustment_ingress", "ingress POST /v1/inventory/adjustments"),
        ("adjustment_projector", "projector (batches of 10)"),
    ],
    "per reservation (3 lines)": [
        ("reservation_created", "ingress POST /v1/reservations: 201"),
        ("reservation_projector", "projector, reservation.created"),
    ],
    "per refused reservation": [
        ("reservation_refused", "ingress POST /v1/reservations: 409"),
    ],
}
# Section 5 (supplier collaboration): each row stands alone (no end-to-end sums: the rows of a group are
# alternatives, or stages measured on different units).
SUPPLY_ROWS = {
    "per supplier record (each with a bank account)": [
        ("supplier_created", "ingress POST /v1/supplier-records: new"),
        ("supplier_matched", "the same supplier from a second system"),
        ("supplier_replay", "a replay (same sequence)"),
    ],
    "per purchase-order document (2 lines)": [
        ("po_created", "ingress PUT /v1/purchase-orders/{po}: new"),
        ("ack_applied", "POST .../acknowledgments: a changed line"),
        ("ack_duplicate", "POST .../acknowledgments: a duplicate"),
    ],
    "per customer order (1 line)": [
        ("order_created", "ingress POST /v1/orders: 201"),
    ],
    "per event, SQS batches of 10 over 5 SKUs": [
        ("promiser_orders", "promiser, order.created"),
        ("promiser_supply", "promiser, inventory.supply_changed"),
    ],
    "per delivery, SQS batches of 10": [
        ("outbound_erp", "outbound, acknowledgment to ERPNext"),
        ("outbound_webhook", "outbound, expectation to a WMS webhook"),
    ],
}

# Section 6 (order to ship): per order; the completed group adds up end to end, the cancel group stands apart.
ORDER_ROWS = {
    "per completed order (2 lines)": [
        ("order_created", "ingress POST /v1/orders: 201"),
        ("starter", "order_starter (SQS order.created)"),
        ("validate", "order_flow validate"),
        ("reserve", "order_flow reserve"),
        ("release", "order_flow release (waits: pick)"),
        ("erp_status", "order_flow erp_status"),
        ("ship", "order_flow ship (waits: dispatch)"),
        ("dispatch", "order_flow dispatch"),
        ("track", "order_flow track (waits: delivery)"),
        ("complete", "order_flow complete"),
        ("pick_progress", "ingress .../pick-progress: 202 (WMS)"),
        ("pick_complete", "ingress .../pick-complete: 202 (WMS)"),
        ("pick_complete_duplicate", "the same pick-complete again: 200"),
        ("dispatch_callback", "ingress .../dispatch: 202 (TMS)"),
        ("carrier_delivered", "ingress /v1/carriers/usps/tracking"),
    ],
}
ORDER_CANCEL_ROWS = {
    "per order cancelled while the WMS picks": [
        ("cancel", "ingress .../cancel: 202 cancelling"),
        ("compensate", "order_flow compensate"),
    ],
}


def aws_verdict(measured: dict[str, float], floor: dict[str, float], basis: str) -> dict[str, Any]:
    """Measured requests against the floor: the total of each, and what is above or below it by operation."""
    extra = {op: round(n - floor.get(op, 0), 3) for op, n in measured.items() if n > floor.get(op, 0) + EPSILON}
    missing = {op: n for op, n in floor.items() if measured.get(op, 0) + EPSILON < n}
    return {
        "floor_per_event": round(sum(floor.values()), 3),
        "measured_per_event": round(sum(measured.values()), 3),
        "above_floor": extra,
        "below_floor": missing,
        "floor_basis": basis,
    }


def _ops(calls: dict[str, float]) -> str:
    """`service.Operation n` as `Operation n` (the operation names do not collide across our services)."""
    return ", ".join(f"{op.split('.', 1)[-1]} {n:g}" for op, n in calls.items()) or "none"


def _cold_row(label: str, r: dict[str, Any], extra: str = "") -> str:
    samples = r["samples_ms"]
    return (
        f"   {label:<28}{r['median_ms']:>8.0f}{min(samples):>7.0f}{max(samples):>7.0f}{r['cpu_median_ms']:>8.0f}{extra}"
    )


def _rate_row(label: str, r: dict[str, Any]) -> str:
    rates = f"{r['events_per_cpu_s']:>10.0f}{r['events_per_s']:>10.0f}"
    return f"   {label:<42}{rates}{r['p50_us']:>9.1f}{r['p99_us']:>9.1f}{r['events']:>9}"


def _pure_detail(name: str, r: dict[str, Any]) -> str:
    c = r["check"]
    if name == "position":
        pool, outcomes, tail = c["pool"], c["outcomes"], c["tail_length"]
        total, decided = pool["movements"], sum(outcomes.values())
        kinds = ", ".join(
            f"{100 * pool.get(k, 0) / total:.1f}% {k.replace('_', ' ')}s" for k in ("delta", "status_change", "count")
        )
        seen = ", ".join(f"{100 * n / decided:.1f}% {k}" for k, n in sorted(outcomes.items()))
        return f"{kinds}; decided: {seen}; tail before: mean {tail['mean']:g}, p50 {tail['p50']}, max {tail['max']}"
    if name.startswith("reservation"):
        lines = r["events_per_cpu_s"] * c["lines_per_request"]
        return (
            f"{c['lines_per_request']:g} lines -> {c['positions_per_request']:g} positions, "
            f"{c['chunks_per_request']:g} chunk(s), {100 * c['short_share']:.0f}% short; {lines:,.0f} lines/s CPU"
        )
    published = sum(c["published"].values())
    return f"{c['locations']} locations, {c['channels']} channels; {published:,} availability.changed decided"


def _status(verdict: dict[str, Any]) -> str:
    return "at floor" if not verdict["above_floor"] and not verdict["below_floor"] else "ABOVE FLOOR"


def _aws_rows(
    a: dict[str, Any],
    groups: dict[str, list[tuple[str, str]]],
    *,
    end_to_end: bool = True,
    unit: str = "event",
    http_unit: str = "the system per delivery",
) -> list[str]:
    lines = [f"   {'':<44}{'measured':>9}{'floor':>7}"]
    for group, rows in groups.items():
        lines.append(f"   {group}")
        total = floor = 0.0
        for name, label in rows:
            s = a[name]
            v = s["verdict"]
            total, floor = total + v["measured_per_event"], floor + v["floor_per_event"]
            lines.append(f"     {label:<42}{v['measured_per_event']:>9g}{v['floor_per_event']:>7g}   {_status(v)}")
            lines.append(f"       measured: {_ops(s['steady_per_event'])} (per {unit}, {s['steady_events']} {unit}s)")
            lines.append(f"       floor: {s['basis']}")
            if v["above_floor"]:
                lines.append(f"       above floor by: {_ops(v['above_floor'])}")
            if "cold" in s:
                c = s["cold_verdict"]
                lines.append(
                    f"       cold, {s['cold_unit']}: {c['measured_per_event']:g} (floor {c['floor_per_event']:g}, "
                    f"{_status(c)}): {_ops(s['cold'])}"
                )
                lines.append(f"         floor: {s['cold_basis']}")
                if c["above_floor"]:
                    lines.append(f"         above floor by: {_ops(c['above_floor'])}")
            if "warming" in s:
                w = s["warming"]
                lines.append(
                    f"       {w['requests']} other requests (SKUs/locations new to the process's 60 s master "
                    f"cache): {_ops(w['calls'])} in all"
                )
            if "http_verdict" in s:
                h = s["http_verdict"]
                lines.append(
                    f"       HTTP to {http_unit} (not AWS): {h['measured_per_event']:g} "
                    f"(floor {h['floor_per_event']:g}, {_status(h)}): {_ops(s['http_per_event'])}"
                )
                lines.append(f"         floor: {s['http_basis']}")
        if end_to_end and len(rows) > 1:
            lines.append(f"     {'= end to end, steady state':<42}{round(total, 3):>9g}{round(floor, 3):>7g}")
    return lines


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
    lines.append(f"   {'ms':<28}{'median':>8}{'min':>7}{'max':>7}{'CPU':>8}{'x boto3':>9}{'(CPU)':>7}   offline probe")
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
    header = f"   {'':<42}{'/s CPU':>10}{'/s wall':>10}{'p50 us':>9}{'p99 us':>9}{'count':>9}"
    lines.append("")
    lines.append("2. Pure decisions on one core (no AWS, no I/O)")
    lines.append(f"   ({t['method']})")
    lines.append(header)
    for name, label in PURE.items():
        lines.append(_rate_row(label, t[name]))
        lines.append(f"     {_pure_detail(name, t[name])}")
    lines.append(f"   ({RESERVATION_PLAN})")
    lines.append("")
    lines.append("3. Handler events/s on one core, AWS faked in memory (bench/fakes.py)")
    lines.append("   (method as in 2; the projector's latency is its batch time / 10)")
    lines.append(header)
    for name, label in HANDLERS.items():
        lines.append(_rate_row(label, t[name]))
    p = t["projector"]["check"]
    lines.append(
        f"     projector: 5 SKUs x 2 DCs per batch (a third location idle), 2 channels; published "
        f"{', '.join(f'{n:,} {t}' for t, n in p['published'].items())} in {p['put_events_calls']:,} PutEvents"
    )

    a = results["aws_calls"]
    lines.append("")
    lines.append("4. AWS API requests per business event, real handlers")
    lines.append(f"   ({a['method']})")
    lines.extend(_aws_rows(a, AWS_ROWS))

    sc = results["supply_aws_calls"]
    lines.append("")
    lines.append("5. Supplier collaboration: AWS API requests per business event, real handlers")
    lines.append(f"   ({sc['method']})")
    lines.extend(_aws_rows(sc, SUPPLY_ROWS, end_to_end=False))

    if "order_aws_calls" in results:
        lines.append("")
        lines.extend(_order_section(results["order_aws_calls"]))
    if "edi_parse" in results:
        lines.append("")
        lines.extend(_edi_section(results["edi_parse"]))
    return "\n".join(lines)


def _edi_section(e: dict[str, Any]) -> list[str]:
    """Section 7: X12 parse throughput, our reader against pyx12's X12Reader (bench/edi_parse.py)."""
    ours, theirs = e["readers"]["ours"], e["readers"]["pyx12"]
    goal = e["goal"]
    met = ours["right"] == e["file_count"] and (e["ratio"] or 0) >= goal["ratio"]
    lines = [
        f"7. X12 parse throughput: our reader vs pyx12 {e['pyx12_version']} X12Reader "
        f"({e['file_count']} corpus files, {e['corpus_bytes']:,} bytes)"
    ]
    lines.append(f"   ({e['method']})")
    lines.append(f"   {'':<36}{'right':>7}{'MB/s':>8}{'MB/s CPU':>10}{'MB/s, all files':>17}")
    for name, r in (("ours (shared.adapters.x12)", ours), ("pyx12 X12Reader", theirs)):
        both, every = r["files_both_right"], r["all_files"]
        lines.append(
            f"   {name:<36}{r['right']:>4}/{e['file_count']:<2}{both['mb_per_s']:>8.2f}{both['mb_per_cpu_s']:>10.2f}"
            f"{every['mb_per_s']:>17.2f}"
        )
    lines.append(
        f"   ratio on the {e['files_both_right']} files both got right: {e['ratio']}x wall, {e['cpu_ratio']}x CPU; "
        f"goal: every file right at >= {goal['ratio']}x: {'MET' if met else 'NOT MET'}"
    )
    lines.append("   (all files: a reader refusing at the ISA is fast but has not parsed; the ratio leaves those out)")
    lines.append(f"   {'file':<42}{'bytes':>6}{'ours':>7}{'MB/s':>7}{'pyx12':>7}{'MB/s':>7}  pyx12 did")
    for name, f in e["files"].items():
        mark = {True: "right", False: "WRONG"}
        lines.append(
            f"   {name[:42]:<42}{f['bytes']:>6}{mark[f['ours']['right']]:>7}{f['ours']['mb_per_s']:>7.1f}"
            f"{mark[f['pyx12']['right']]:>7}{f['pyx12']['mb_per_s']:>7.1f}  {f['pyx12']['outcome'][:60]}"
        )
    wrong = [f"{name} ({f['ours']['outcome']})" for name, f in e["files"].items() if not f["ours"]["right"]]
    if wrong:
        lines.append(f"   ours got wrong: {', '.join(wrong)}")
    return lines


def _order_section(o: dict[str, Any]) -> list[str]:
    """Section 6: the order-to-ship flow, per order (bench/aws_calls_orders.py)."""
    sc, orders = o["scenarios"], o["orders"]
    lines = ["6. Order to ship: AWS API requests per order, real handlers and state machine (embedded runtime)"]
    lines.append(f"   ({o['method']})")
    http_unit = "the system, per order"
    lines.extend(_aws_rows(sc, ORDER_ROWS, unit="order", http_unit=http_unit))
    cold = [sc[name]["cold_verdict"] for rows in ORDER_ROWS.values() for name, _ in rows if "cold_verdict" in sc[name]]
    measured, floor = sum(v["measured_per_event"] for v in cold), sum(v["floor_per_event"] for v in cold)
    lines.append(f"     {'= end to end, the cold order':<42}{round(measured, 3):>9g}{round(floor, 3):>7g}")
    lines.extend(_aws_rows(sc, ORDER_CANCEL_ROWS, end_to_end=False, unit="order", http_unit=http_unit)[1:])
    lines.append(
        f"   HTTP POSTs to the systems per order, all functions (floor: one per distinct event each subscribes to; "
        f"{orders['steady']} orders, {orders['cancelled']} cancelled):"
    )
    for phase, label in (("steady", "completed, steady"), ("cold", "the cold order"), ("cancel", "cancelled")):
        systems = o["http_per_system"][phase]
        row = ", ".join(f"{name} {v['measured']:g} ({v['floor']})" for name, v in systems.items() if v["floor"])
        above = [name for name, v in systems.items() if v["measured"] != v["floor"]]
        lines.append(f"     {label:<20}{row}   {'ABOVE FLOOR: ' + ', '.join(above) if above else 'at floor'}")
    lines.append("   every function's requests per completed order, steady (the flow's events' consumers included):")
    for function, f in o["per_function"]["steady"].items():
        http = sum(f["http_per_order"].values())
        lines.append(
            f"     {function:<14}{f['requests_per_order']:>7g}  {_ops(f['per_order'])}"
            + (f"; + {http:g} HTTP" if http else "")
        )
    for kind, t in o["state_transitions"].items():
        lines.append(
            f"   state transitions per {kind} execution: {t['mean']:g} (min {t['min']}, max {t['max']}; "
            f"{t['executions']} executions): {' > '.join(t['path'])}"
        )
    c = o["check"]
    lines.append(
        f"   end state checked: {c['completed']} completed, {c['cancelled']} cancelled (executions SUCCEEDED), each "
        f"system received its events once, no stock held, no dead letters, no function errors; "
        f"{o['run_seconds']:g} s"
    )
    return lines
