"""`distrosync suppliers review | merge | split | show`: the supplier master's stewardship (ADR 0011).

The commands call the service the ingress uses (shared/services/supplier_master/) against the stack's
suppliers table, bus and data key (outputs SuppliersTableName, EventBusName, DataKeyArn): a merge or split made
here publishes the same events as one made by any API.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the service imports boto3: only the commands that act load it
    from shared.aws.supplier_store import Golden
    from shared.services.supplier_master import SupplierMaster

PROBLEM_PREFIX = "urn:distrosync:problem:"
SIDE_BY_SIDE = (
    "legal_name", "trading_name", "tax_id", "duns", "address", "status", "payment_terms",
    "bank_account", "cross_references",
)  # fmt: skip
COLUMN = 34


def add_arguments(sub: Any, targeted: Callable[[Any], None]) -> None:
    """Register the subcommand's parser on `sub` (argparse subparsers); `targeted` adds --local/--stack/--env/--json."""
    suppliers = sub.add_parser("suppliers", help="steward the supplier master: review, merge, split, show")
    ssub = suppliers.add_subparsers(dest="action", required=True)

    review = ssub.add_parser("review", help="the stewardship queue: records kept apart, side by side with candidates")
    targeted(review)

    merge = ssub.add_parser("merge", help="merge OTHER into SURVIVOR (refused when their tax ids differ)")
    merge.add_argument("survivor", metavar="SURVIVOR", help="golden id that stays")
    merge.add_argument("other", metavar="OTHER", help="golden id merged into it")
    merge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    targeted(merge)

    split = ssub.add_parser("split", help="detach one source record of a golden into a new golden supplier")
    split.add_argument("golden", metavar="GOLDEN", help="golden id")
    split.add_argument("--record", required=True, metavar="SYSTEM:LOCAL_ID", help="the source record to detach")
    targeted(split)

    show = ssub.add_parser("show", help="a golden supplier with its source records (bank accounts masked)")
    show.add_argument("supplier_id", metavar="ID")
    targeted(show)


def service(outputs: dict[str, str]) -> SupplierMaster:
    from shared.aws.field_crypto import FieldCrypto
    from shared.aws.supplier_store import SupplierStore
    from shared.domain.supplier_survivorship import ATTRIBUTES
    from shared.services.supplier_master import SupplierMaster

    for name in ("SuppliersTableName", "EventBusName", "DataKeyArn"):
        if not outputs.get(name):
            raise ValueError(f"the stack has no output {name}: is it a stack of this version?")
    return SupplierMaster(
        SupplierStore(outputs["SuppliersTableName"], ATTRIBUTES),
        outputs["EventBusName"],
        FieldCrypto(outputs["DataKeyArn"]),
    )


# ----------------------------------------------------------------------------------------------------- actions
def review(outputs: dict[str, str], args: Any) -> int:
    master = service(outputs)
    queue = master.reviews()
    goldens = master.store.goldens({gid for r in queue for gid in (r.supplier_id, *r.candidates)})
    if args.json:
        doc = [
            {
                "review_id": r.review_id,
                "created_at": r.created_at,
                "record": r.record.replace("#", ":", 1),
                "supplier": _summary(master, goldens.get(r.supplier_id)),
                "candidates": [
                    {"reasons": reasons, **_summary(master, goldens.get(gid))} for gid, reasons in r.candidates.items()
                ],
            }
            for r in queue
        ]
        print(json.dumps(doc, indent=2))
        return 0
    if not queue:
        print("the stewardship queue is empty")
        return 0
    for r in queue:
        print(f"review {r.review_id}  queued {r.created_at[:19]}  record {r.record.replace('#', ':', 1)}")
        for gid, reasons in r.candidates.items():
            print(f"  why: {', '.join(reasons).replace('_', ' ')}")
            _side_by_side(master, [goldens.get(r.supplier_id), goldens.get(gid)], [r.supplier_id, gid])
            print(f"  merge: distrosync suppliers merge {gid} {r.supplier_id}")
        print()
    return 0


UNPUBLISHED = (
    "the change is stored but its events could not be published (EventBridge unavailable); run the same command "
    "again: it publishes them"
)


def merge(outputs: dict[str, str], args: Any) -> int:
    from shared.aws.bus import PublishError
    from shared.domain.errors import NotFound
    from shared.services.supplier_master import MergeRefused

    master = service(outputs)
    if not args.yes:
        goldens = master.store.goldens([args.survivor, args.other])
        _side_by_side(master, [goldens.get(args.survivor), goldens.get(args.other)], [args.survivor, args.other])
        sys.stdout.write(f"merge {args.other} into {args.survivor}? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("not merged")
            return 1
    try:
        merged = master.merge(args.survivor, args.other)
    except MergeRefused as exc:
        return _problem(args, "supplier-merge-refused", 409, str(exc), tax_ids=exc.tax_ids)
    except NotFound as exc:
        return _problem(args, "not-found", 404, str(exc))
    except PublishError:
        return _problem(args, "unavailable", 503, UNPUBLISHED)
    if args.json:
        print(json.dumps({"supplier": merged.supplier.model_dump(mode="json"), "merged_id": merged.merged_id,
                          "event_id": merged.event_id}, indent=2))  # fmt: skip
    elif merged.event_id is None:
        print(f"{args.other} was already merged into {args.survivor}")
    else:
        print(
            f"merged {args.other} into {args.survivor} (version {merged.supplier.version}); supplier.merged published"
        )
    return 0


def split(outputs: dict[str, str], args: Any) -> int:
    from shared.aws.bus import PublishError
    from shared.domain.errors import NotFound
    from shared.services.supplier_master import NothingToSplit

    system, sep, local_id = args.record.partition(":")
    if not sep or not system or not local_id:
        raise ValueError(f"--record takes SYSTEM:LOCAL_ID, e.g. erp:V-1001 (got {args.record!r})")
    try:
        result = service(outputs).split(args.golden, system, local_id)
    except NotFound as exc:
        return _problem(args, "not-found", 404, str(exc))
    except NothingToSplit as exc:
        return _problem(args, "conflict", 409, str(exc))
    except PublishError:
        return _problem(args, "unavailable", 503, UNPUBLISHED)
    if args.json:
        print(json.dumps({"created": result.created.model_dump(mode="json"),
                          "remaining": result.remaining.model_dump(mode="json")}, indent=2))  # fmt: skip
    else:
        print(f"{system}:{local_id} is now {result.created.supplier_id}; {args.golden} keeps "
              f"{', '.join(f'{s}:{i}' for s, i in result.remaining.cross_references.items())}")  # fmt: skip
    return 0


def show(outputs: dict[str, str], args: Any) -> int:
    from shared.domain.errors import NotFound

    try:
        detail = service(outputs).detail(args.supplier_id)
    except NotFound as exc:
        return _problem(args, "not-found", 404, str(exc))
    if args.json:
        print(detail.model_dump_json(indent=2))
        return 0
    view = detail.supplier
    if detail.merged_ids:
        print(f"{args.supplier_id} was merged into {view.supplier_id}")
    print(f"{view.supplier_id}  version {view.version}  {view.status}")
    for name in ("legal_name", "trading_name", "tax_id", "duns", "address", "remit_to", "bank_account_masked",
                 "payment_terms", "default_lead_time_days", "ack_window_hours"):  # fmt: skip
        print(f"  {name:<24}{_text(getattr(view, name))}")
    for contact in view.contacts:
        print(f"  {'contact':<24}{_text(contact.model_dump(exclude_none=True))}")
    print("  source records:")
    for source in detail.sources:
        wins = f"  wins: {', '.join(source.wins)}" if source.wins else ""
        print(f"    {source.system}:{source.local_id} ({source.kind}, sequence {source.sequence}){wins}")
    return 0


ACTIONS: dict[str, Callable[[dict[str, str], Any], int]] = {
    "review": review,
    "merge": merge,
    "split": split,
    "show": show,
}


# ----------------------------------------------------------------------------------------------------- helpers
def _summary(master: SupplierMaster, golden: Golden | None) -> dict[str, Any]:
    if golden is None:
        return {"supplier_id": None}
    view = master.view(golden).model_dump(mode="json", exclude_none=True)
    if golden.merged_into:
        view["merged_into"] = golden.merged_into
    return view


def _side_by_side(master: SupplierMaster, goldens: list[Golden | None], ids: list[str]) -> None:
    views = [master.view(g).model_dump(mode="json") if g else {} for g in goldens]
    print("  " + " " * 18 + "".join(f"{gid:<{COLUMN}}" for gid in ids))
    for name in SIDE_BY_SIDE:
        key = "bank_account_masked" if name == "bank_account" else name
        cells = [_text(v.get(key)) if v else "(no such supplier)" for v in views]
        marker = " " if len(set(cells)) == 1 else "*"
        print(f" {marker}{name:<18}" + "".join(f"{_clip(c):<{COLUMN}}" for c in cells))


def _text(value: Any) -> str:
    if value is None or value == {} or value == []:
        return "-"
    if hasattr(value, "model_dump"):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, dict):
        if "line1" in value:
            parts = (value.get("line1"), value.get("postal_code"), value.get("city"), value.get("country"))
            return ", ".join(str(p) for p in parts if p)
        return ", ".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def _clip(text: str) -> str:
    return text if len(text) < COLUMN - 1 else text[: COLUMN - 4] + "..."


def _problem(args: Any, slug: str, status: int, detail: str, **extensions: Any) -> int:
    if args.json:
        doc = {"type": PROBLEM_PREFIX + slug, "status": status, "detail": detail, **extensions}
        print(json.dumps(doc, indent=2))
    else:
        print(f"distrosync: {detail}", file=sys.stderr)
    return 1
