"""`distrosync replay --from T --to T [--type TYPE] [--no-wait]`: replay a window of the bus's archive."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def add_arguments(sub: Any, targeted: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser(
        "replay",
        help="re-deliver the archived events of a window to their consumers (EventBridge archive replay)",
        description="Consumers are idempotent: a replay re-delivers and changes nothing that was already right.",
    )
    parser.add_argument("--from", dest="start", required=True, type=_instant, help="window start, ISO 8601 (UTC)")
    parser.add_argument("--to", dest="end", required=True, type=_instant, help="window end, ISO 8601 (UTC)")
    parser.add_argument("--type", dest="event_type", default=None, help="only to the rules consuming this type")
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait until the replay is completed or failed (default; --no-wait returns once it started)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait at most (default 900)")
    targeted(parser)


def _instant(text: str) -> datetime:
    """ISO 8601; a time without a zone is UTC (ops paste times from logs and traces, which are UTC)."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-27T10:00:00Z)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def run(outputs: dict[str, str], args: argparse.Namespace) -> int:
    from shared.aws.clients import client
    from shared.canonical.registry import EVENT_TYPES
    from shared.services.replay import Replayer, ReplayError

    if args.event_type is not None and args.event_type not in EVENT_TYPES:
        print(f"distrosync: unknown event type {args.event_type!r}", file=sys.stderr)
        return 2
    bus = outputs["EventBusName"]
    archive = outputs.get("EventArchiveName") or f"{bus.removesuffix('-bus')}-all"
    replayer = Replayer(client("events"), bus, archive)
    try:
        report = replayer.start(args.start, args.end, args.event_type)
        if args.wait:
            report = replayer.wait(report, timeout_seconds=args.timeout)
    except ReplayError as exc:
        print(f"distrosync: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {
                    "replay": report.name,
                    "from": report.start.isoformat(),
                    "to": report.end.isoformat(),
                    "type": report.event_type,
                    "rules": report.rules,
                    "state": report.state,
                    "reason": report.reason or None,
                    **report.details,
                },
                indent=2,
            )
        )
    else:
        print(f"replay {report.name}: {report.state}" + (f" ({report.reason})" if report.reason else ""))
        print(f"  window  {report.start.isoformat()} .. {report.end.isoformat()}")
        print(f"  type    {report.event_type or 'every type'}")
        print(f"  rules   {len(report.rules)}: {', '.join(report.rules)}")
        if "EventLastReplayedTime" in report.details:
            print(f"  last event replayed at {report.details['EventLastReplayedTime']}")
    return 0 if report.state in ("COMPLETED", "STARTING", "RUNNING") else 1
