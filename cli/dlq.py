"""`distrosync dlq list | show | redrive | purge`: the stack's dead letters for ops (docs/reliability.md, "Ops CLI:
dead letters"). QUEUE is a queue name or URL, or the name without the stack prefix (`projector-dlq`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the service imports boto3: only the commands that act load it
    from shared.services.dead_letter_ops import DeadLetter, DeadLetterQueues, QueueSummary, RedriveReport


def add_arguments(sub: Any, targeted: Callable[[Any], None]) -> None:
    """Register the subcommand's parser on `sub` (argparse subparsers); `targeted` adds --local/--stack/--env/--json."""
    dlq = sub.add_parser("dlq", help="dead-letter queues: list, show, redrive and purge failed messages")
    dsub = dlq.add_subparsers(dest="action", required=True)

    lst = dsub.add_parser("list", help="every dead-letter queue of the stack: depth, oldest message, source queue")
    targeted(lst)

    show = dsub.add_parser("show", help="a DLQ's messages, decoded: reason, handler, attempts, business key...")
    show.add_argument("queue", metavar="QUEUE", help="name, URL, or name without the stack prefix (projector-dlq)")
    show.add_argument("--limit", type=int, default=100, help="at most this many messages (default 100)")
    show.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="only those whose story has it, e.g. error_class=partner_refused (repeat: all must hold; among the "
        "first --limit messages)",
    )
    targeted(show)

    redrive = dsub.add_parser(
        "redrive", help="send selected messages back to their source queue (deleted from the DLQ once sent)"
    )
    redrive.add_argument("queue", metavar="QUEUE", help="name, URL, or name without the stack prefix (projector-dlq)")
    redrive.add_argument(
        "--id",
        dest="ids",
        action="append",  # one value each: `--id A QUEUE` must not take QUEUE for an id
        default=[],
        metavar="ID",
        help="a DLQ message id, original message id or event id (repeat; default: every message)",
    )
    redrive.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="error_class, handler, business_key, correlation_id, event_type or event_id (repeat: all must hold)",
    )
    redrive.add_argument("--rate", type=float, default=None, metavar="N", help="at most N messages a second")
    redrive.add_argument("--dry-run", action="store_true", help="say what would move; change nothing")
    targeted(redrive)

    purge = dsub.add_parser("purge", help="delete every message of a DLQ (asks first)")
    purge.add_argument("queue", metavar="QUEUE", help="name, URL, or name without the stack prefix (projector-dlq)")
    purge.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    targeted(purge)


def run(args: argparse.Namespace) -> int:
    """0 when done; 1 when a redrive left selected messages behind (or found no message for an --id), or a purge
    was declined; 2 on an error (no stack, unknown queue, bad option)."""
    from cli.target import TargetError, resolve
    from shared.services.dead_letter_ops import DeadLetterOpsError, DeadLetterQueues

    stack = args.stack or f"distrosync-{args.env}"
    try:
        target = resolve(args.local, stack)
        # A stack's resources are named after it (`distrosync-<env>`); the embedded runtime says its own name.
        prefix = target.stack_name if target.stack_name.startswith("distrosync-") else stack
        queues = DeadLetterQueues(prefix, bus_name=target.outputs.get("EventBusName"))
        return ACTIONS[args.action](queues, args)
    except (TargetError, DeadLetterOpsError) as exc:
        print(f"distrosync: {exc}", file=sys.stderr)
        return 2


def list_queues(queues: DeadLetterQueues, args: argparse.Namespace) -> int:
    summaries = queues.list()
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
        return 0
    print(list_table(summaries))
    return 0


def list_table(summaries: list[QueueSummary]) -> str:
    if not summaries:
        return "no dead-letter queues in this stack"
    width = max(len(s.name) for s in summaries)
    lines = [f"{'DLQ':<{width}}  {'DEPTH':>5}  {'OLDEST':>7}  SOURCE"]
    for s in summaries:
        age = format_age(s.oldest_age_seconds) if s.oldest_age_seconds is not None else "-"
        source = s.source_queue or "-"
        if s.kind == "delivery":
            source += " (from the bus)"
        depth = f"{s.depth}" + (f"+{s.in_flight}" if s.in_flight else "")
        lines.append(f"{s.name:<{width}}  {depth:>5}  {age:>7}  {source}")
    total = sum(s.depth for s in summaries)
    lines.append(f"{total} message(s) in {sum(1 for s in summaries if s.depth)} of {len(summaries)} DLQ(s)")
    return "\n".join(lines)


def show(queues: DeadLetterQueues, args: argparse.Namespace) -> int:
    where = selection(args.where)
    letters = [letter for letter in queues.peek(args.queue, limit=args.limit) if letter.matches(where)]
    if args.json:
        print(json.dumps([d.to_dict() for d in letters], indent=2))
        return 0
    print(f"{queues.url(args.queue).rsplit('/', 1)[-1]}: {len(letters)} message(s)")
    for letter in letters:
        print()
        print(describe(letter))
    return 0


def describe(letter: DeadLetter) -> str:
    """A dead letter for people: what failed, why, where and what it is about."""

    def at(value: datetime | None) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"

    original = f"  (was {letter.original_message_id})" if letter.original_message_id else ""
    reason = letter.error or "-"
    if letter.error_class:
        reason = f"{letter.error_class}: {reason}"
    elif letter.story is None:  # EventBridge says why it could not deliver; SQS moves a message without a word
        reason = (
            f"no story: {letter.error}"
            if letter.error
            else f"no story (moved by SQS; received {letter.receive_count} times)"
        )
    rows = [
        f"message     {letter.message_id}{original}",
        f"reason      {reason}",
        f"handler     {letter.handler or '-'}   attempts {letter.attempts if letter.attempts is not None else '-'}",
        f"failed      first {at(letter.first_failure_at)}   last {at(letter.last_failure_at)}"
        if letter.story is not None
        else f"received    first {at(letter.first_failure_at)} (SQS's first receive)",
        f"event       {letter.event_type or '-'} {letter.event_id or ''}".rstrip(),
        f"key         {letter.business_key or '-'}   correlation {letter.correlation_id or '-'}",
        f"source      {letter.source_queue or '-'}   sent {at(letter.sent_at)}",
    ]
    return "\n".join(rows)


def selection(pairs: list[str]) -> dict[str, str]:
    """`--where` pairs; an `error_class` that is no error class is refused (a typo would select nothing)."""
    from shared.domain.failures import FailureClass
    from shared.services.dead_letter_ops import DeadLetterOpsError, parse_where

    where = parse_where(pairs)
    known = [c.value for c in FailureClass]
    if "error_class" in where and where["error_class"] not in known:
        raise DeadLetterOpsError(f"--where error_class={where['error_class']}: not an error class ({', '.join(known)})")
    return where


def redrive(queues: DeadLetterQueues, args: argparse.Namespace) -> int:
    where = selection(args.where)
    bar = ProgressBar(sys.stderr, f"{'dry run ' if args.dry_run else ''}redrive")
    try:
        report = queues.redrive(
            args.queue, ids=args.ids, where=where, rate=args.rate, dry_run=args.dry_run, progress=bar
        )
    finally:
        bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(redrive_summary(report))
    return 0 if report.ok else 1


def redrive_summary(report: RedriveReport) -> str:
    verb = "would move" if report.dry_run else "moved"
    lines = [f"{report.queue}: {verb} {len(report.moved)} of {report.scanned} message(s) scanned"]
    lines += [f"  {verb} {d.message_id}  {d.event_type or '-'}  -> {dest}" for d, dest in report.moved]
    lines += [f"  left   {d.message_id}  {why}" for d, why in report.failed]
    lines += [f"  no message for --id {ident}" for ident in report.not_found]
    if report.dry_run:
        lines.append("dry run: nothing was changed")
    return "\n".join(lines)


def purge(queues: DeadLetterQueues, args: argparse.Namespace) -> int:
    name = queues.url(args.queue).rsplit("/", 1)[-1]
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"distrosync: purging {name} deletes its messages for good: pass --yes", file=sys.stderr)
            return 2
        sys.stderr.write(f"Delete every message of {name} for good? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("not purged", file=sys.stderr)
            return 1
    purged = queues.purge(args.queue)
    if args.json:
        print(json.dumps({"queue": name, "purged": purged}))
    else:
        print(f"{name}: purged {purged} message(s)")
    return 0


def format_age(seconds: float) -> str:
    """45s, 3m05s, 2h10m, 3d04h."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


class ProgressBar:
    """A one-line bar redrawn with a carriage return: `redrive [#####.....] 5/10 scanned, 2 moved`."""

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label, self.drawn = stream, label, False

    def __call__(self, scanned: int, total: int, moved: int) -> None:
        filled = self.WIDTH * scanned // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {scanned}/{total} scanned, {moved} moved")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


ACTIONS: dict[str, Callable[[Any, argparse.Namespace], int]] = {
    "list": list_queues,
    "show": show,
    "redrive": redrive,
    "purge": purge,
}
