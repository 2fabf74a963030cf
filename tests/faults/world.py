"""One embedded runtime per scenario module, with the catalog, a warehouse and a tap on the bus.

@pytest.fixture(scope="module")
def world(request, dev_template_path):
    yield from start_world(request, dev_template_path)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.assembly import REPO_ROOT
from cli.local_session import partner_client, register_partner
from local.fault_injection import active
from tests.faults.harness import RetryingPartner
from tests.flows.edi_fixtures import ITEM_UNITS, ITEMS, LOCATIONS, EventTap


@dataclass
class World:
    rt: Any
    erp: RetryingPartner
    warehouse: RetryingPartner
    tap: EventTap

    def partner(self, partner_id: str, kind: str, scopes: list[str]) -> RetryingPartner:
        return RetryingPartner(partner_client(self.rt, register_partner(self.rt, partner_id, kind, scopes)))


def start_world(request: Any, template: Path, items: tuple[str, ...] = ITEMS[:5]) -> Iterator[World]:
    """The runtime (order-to-ship executions on when the module is marked `order_flow`), its functions named in
    the injector's report, the catalog (`items`, default SKU-1..5) through the ERP's API, the warehouse wh-east and
    the tap."""
    from local.runtime import LocalRuntime
    from tests.flows.order_flow_fixtures import FLOW_TIMERS

    injector = active()
    assert injector is not None, "tests/faults/report.py installs the injector"
    flows = request.node.get_closest_marker("order_flow") is not None
    rt = LocalRuntime.start(template, source_root=REPO_ROOT, mode="inprocess", execute_state_machines=flows)
    try:
        injector.name_functions(rt)
        for spec in list(rt.functions):  # transient failures retried at once (the consumer's backoff, shortened)
            if "RETRY_BASE_SECONDS" in spec.environment:
                rt.functions.configure(spec.key, RETRY_BASE_SECONDS="0")
        if flows:
            rt.functions.configure("order_starter", ORDER_FLOW_TIMERS=json.dumps(FLOW_TIMERS))
        erp = RetryingPartner(partner_client(rt, register_partner(rt, "erp", "erp", ["location:*"])))
        for sku in items:
            reply = erp.put(f"/v1/items/{sku}", {"units": ITEM_UNITS, "safety_stock": 0, "sequence": 1})
            assert reply.status == 200, reply.body
        for code in LOCATIONS:
            reply = erp.put(f"/v1/locations/{code}", {"name": code, "sequence": 1})
            assert reply.status == 200, reply.body
        warehouse = RetryingPartner(
            partner_client(rt, register_partner(rt, "wh-east", "warehouse", ["location:DC-EAST"]))
        )
        rt.drain()
        yield World(rt, erp, warehouse, EventTap(rt))
    finally:
        rt.stop()
