"""An embedded-runtime session for the demo, the server and the tests: template -> moto -> in-process handlers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from cli.assembly import REPO_ROOT, STATE_DIR, local_template
from cli.client import PartnerClient, Reply, Transport
from shared.services.partner_admin import Credentials, PartnerAdmin, StackResources


def runtime_transport(rt: Any) -> Transport:
    """Requests go through the embedded API Gateway (keys, usage plans, gateway responses) to the handler."""

    def send(method: str, path: str, headers: dict[str, str], query: dict[str, str], body: bytes) -> Reply:
        response = rt.api.request(method, path, headers=headers, query=query, body=body)
        return Reply(response.status, dict(response.headers), response.body)

    return send


def start_runtime(env_name: str = "dev", *, mode: str = "inprocess", aws_port: int | None = None, quiet: bool = False):
    from local.runtime import LocalRuntime

    template = local_template(env_name, quiet=quiet)
    return LocalRuntime.start(
        template,
        source_root=REPO_ROOT,
        mode=mode,
        aws_port=aws_port,
        state_dir=STATE_DIR,  # type: ignore[arg-type]
    )


def register_partner(rt: Any, partner_id: str, kind: str, scopes: list[str], tier: str = "standard") -> Credentials:
    return PartnerAdmin(StackResources.from_outputs(rt.outputs)).add(partner_id, kind, scopes, tier)


def partner_client(rt: Any, creds: Credentials) -> PartnerClient:
    return PartnerClient(runtime_transport(rt), creds.api_key, creds.signing_secret)


def emf_totals(lines: Iterable[str]) -> Counter[str]:
    """Sum the EMF metrics a function printed (what CloudWatch would turn into metrics), by name[/Cause]."""
    totals: Counter[str] = Counter()
    for line in lines:
        if '"_aws"' not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        for directive in doc["_aws"].get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                name = metric["Name"]
                value = doc.get(name, 0)
                values = value if isinstance(value, list) else [value]
                label = f"{name}/{doc['Cause']}" if "Cause" in doc and name == "Rejected" else name
                totals[label] += sum(values)
    return totals
