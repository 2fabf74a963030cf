"""`distrosync trace KEY [--json]`: a PO's, order's, SKU's or supplier's whole story, in time order."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from shared.services.trace import (
    DeadLetterSource,
    DeliverySource,
    ExecutionSource,
    JournalSource,
    as_json,
    line,
    trace,
)
from shared.services.trace_entries import TraceSource


def add_arguments(sub: Any, targeted: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser(
        "trace",
        help="every event, state change, execution step, adapter call and dead letter of a business key",
        description="KEY is po:<number>, order:<id>, sku:<sku>, supplier:<id>, or a bare value (every kind).",
    )
    parser.add_argument("key", help="e.g. po:PO-1, order:SO-1, sku:SKU-1, supplier:S-1 or PO-1")
    targeted(parser)


def stack_prefix(outputs: dict[str, str]) -> str:
    """`distrosync-<env>`: the names of the stack's resources start with it (the bus is `<prefix>-bus`)."""
    return outputs["EventBusName"].removesuffix("-bus")


def sources(outputs: dict[str, str]) -> list[tuple[str, TraceSource]]:
    from shared.aws.clients import client
    from shared.aws.delivery_store import DeliveryStore
    from shared.aws.journal_store import JournalStore
    from shared.aws.partners import PartnerRepository
    from shared.domain.order_flow import execution_name
    from shared.services.dead_letter_ops import DeadLetterQueues

    journal = JournalSource(JournalStore(outputs["JournalTableName"]))
    partners = PartnerRepository(outputs["PartnersTableName"])
    found: list[tuple[str, TraceSource]] = [
        ("journal", journal),
        (
            "executions",
            ExecutionSource(outputs.get("OrderFlowStateMachineArn", ""), client("stepfunctions"), execution_name),
        ),
        (
            "deliveries",
            DeliverySource(
                journal,
                DeliveryStore(outputs["IdempotencyTableName"]),
                lambda: [p.partner_id for p in partners.active_with("outbound")],
            ),
        ),
    ]
    found.append(("dead letters", DeadLetterSource(DeadLetterQueues(stack_prefix(outputs)), journal)))
    return found


def story(outputs: dict[str, str], key: str) -> list[str]:
    """The trace lines of `key` (what `distrosync trace KEY` prints), for the demos."""
    from shared.canonical.business_keys import parse_key

    kind, value = parse_key(key)
    return [line(entry) for entry in trace(kind, value, sources(outputs)).entries]


def run(outputs: dict[str, str], args: argparse.Namespace) -> int:
    from shared.canonical.business_keys import parse_key

    if "JournalTableName" not in outputs:
        print("distrosync: this stack has no journal (JournalTableName): deploy this version first", file=sys.stderr)
        return 2
    kind, value = parse_key(args.key)
    result = trace(kind, value, sources(outputs))
    for problem in result.problems:
        print(f"distrosync: trace could not read {problem}", file=sys.stderr)
    if not result.entries:
        print(
            f"distrosync: nothing is known about {result.key} (journal, order executions, deliveries, dead letters)",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps({"key": result.key, "entries": [as_json(e) for e in result.entries]}, indent=2))
    else:
        for entry in result.entries:
            print(line(entry))
    return 0
