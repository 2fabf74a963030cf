"""Entry point of the `distrosync` command."""

from __future__ import annotations

import argparse
import os
import sys

from shared.canonical.partner import PARTNER_KINDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distrosync", description="distrosync: integration hub for distributors")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="run inventory visibility, supplier collaboration, order to ship and the EDI gateway end to end on the "
        "embedded AWS",
    )
    demo.add_argument("--env", default="dev", choices=["dev", "staging", "prod"])
    demo.add_argument(
        "--story",
        default="all",
        choices=["all", "inventory", "supply", "orders", "edi"],
        help="which part to play (default: all four)",
    )

    serve = sub.add_parser("serve", help="serve the API on 127.0.0.1 over the embedded AWS")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--aws-port", type=int, default=5055, help="port of the embedded AWS endpoint")
    serve.add_argument("--env", default="dev", choices=["dev", "staging", "prod"])

    def targeted(p: argparse.ArgumentParser) -> None:
        p.add_argument("--local", action="store_true", help="act on the runtime started by 'distrosync serve'")
        p.add_argument("--stack", default=None, help="deployed stack name (default distrosync-<env>)")
        p.add_argument("--env", default="dev", choices=["dev", "staging", "prod"])
        p.add_argument("--json", action="store_true", help="machine-readable output")

    partners = sub.add_parser("partners", help="register partners and manage their credentials")
    psub = partners.add_subparsers(dest="action", required=True)
    add = psub.add_parser("add", help="register a partner; prints its API key and signing secret once")
    add.add_argument("--id", required=True, help="partner id, e.g. wh-east (lowercase, digits, dashes)")
    add.add_argument("--kind", required=True, choices=PARTNER_KINDS)
    add.add_argument("--scope", action="append", help="location:CODE, supplier:ID, channel:NAME or * (repeat)")
    add.add_argument("--tier", default="standard", help="usage-plan tier (throttling and quota)")
    targeted(add)
    lst = psub.add_parser("list", help="list partners")
    targeted(lst)
    rot = psub.add_parser("rotate", help="issue a new API key and signing secret; the old key stops at once")
    rot.add_argument("id")
    targeted(rot)

    from cli.channels import add_arguments as channel_arguments

    channel_arguments(sub, targeted)
    from cli.carriers import add_arguments as carrier_arguments

    carrier_arguments(sub, targeted)
    from cli.suppliers import add_arguments as supplier_arguments
    from cli.systems import add_arguments as system_arguments

    system_arguments(sub, targeted)
    supplier_arguments(sub, targeted)
    from cli.edi import add_arguments as edi_arguments

    edi_arguments(sub)
    from cli.dlq import add_arguments as dlq_arguments

    dlq_arguments(sub, targeted)

    from cli.replay import add_arguments as replay_arguments
    from cli.trace import add_arguments as trace_arguments

    trace_arguments(sub, targeted)
    replay_arguments(sub, targeted)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from cli.demo import run_demo
        from cli.demo_edi import run_edi_demo
        from cli.demo_orders import run_orders_demo
        from cli.demo_supply import run_supply_demo

        status = run_demo(args.env) if args.story in ("all", "inventory") else 0
        if args.story == "all":
            print()
        if args.story in ("all", "supply") and status == 0:
            status = run_supply_demo(args.env)
        if args.story == "all":
            print()
        if args.story in ("all", "orders") and status == 0:
            status = run_orders_demo(args.env)
        if args.story == "all":
            print()
        if args.story in ("all", "edi") and status == 0:
            status = run_edi_demo(args.env)
        return status
    if args.command == "edi":
        from cli import edi

        return edi.run(args)
    if args.command == "dlq":
        from cli import dlq

        return dlq.run(args)
    if args.command == "serve":
        from cli.serve import run_server

        return run_server(args.env, args.port, args.aws_port)
    if args.command == "partners":
        from cli import partners
        from cli.target import TargetError, resolve
        from shared.services.partner_admin import PartnerAdminError

        try:
            target = resolve(args.local, args.stack or f"distrosync-{args.env}")
            action = {"add": partners.add, "list": partners.list_partners, "rotate": partners.rotate}[args.action]
            return action(target.outputs, args)
        except (TargetError, PartnerAdminError) as exc:
            print(f"distrosync: {exc}", file=sys.stderr)
            return 2
    if args.command in ("channels", "carriers", "systems", "suppliers"):
        import importlib

        from cli.target import TargetError, resolve
        from shared.services.partner_admin import PartnerAdminError

        module = importlib.import_module(f"cli.{args.command}")
        try:
            target = resolve(args.local, args.stack or f"distrosync-{args.env}")
            return module.ACTIONS[args.action](target.outputs, args)
        except (TargetError, PartnerAdminError, ValueError) as exc:
            print(f"distrosync: {exc}", file=sys.stderr)
            return 2
    if args.command in ("trace", "replay"):
        import importlib

        from cli.target import TargetError, resolve

        module = importlib.import_module(f"cli.{args.command}")
        try:
            target = resolve(args.local, args.stack or f"distrosync-{args.env}")
            return module.run(target.outputs, args)
        except TargetError as exc:
            print(f"distrosync: {exc}", file=sys.stderr)
            return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
