"""Read-only lookups in the supplier master, for the other parts of supplier collaboration (purchasing, ...).

`resolve(system, local_id)`: the golden id a system's own supplier id maps to (one GetItem of its
cross-reference; a merge moves cross-references to the survivor in the same transaction, so the answer is
never a merged golden). `get(gid)`: what purchasing needs of a golden supplier, following `merged_into`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import from_item

DEFAULT_ACK_WINDOW_HOURS = 48
_MAX_MERGE_HOPS = 8
_GOLDEN_FIELDS = ("supplier_id", "legal_name", "status", "ack_window_hours",
                  "default_lead_time_days", "merged_into")  # fmt: skip


@dataclass(frozen=True)
class SupplierRef:
    supplier_id: str
    name: str
    status: str
    ack_window_hours: int
    default_lead_time_days: int | None


def golden_key(supplier_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SUPPLIER#{supplier_id}"}, "sk": {"S": "GOLDEN"}}


def xref_key(system: str, local_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"XREF#{system}#{local_id}"}, "sk": {"S": "XREF"}}


class SupplierDirectory:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def resolve(self, system: str, local_id: str) -> str | None:
        """The golden id of `system`'s supplier `local_id`, or None if the system never sent that record."""
        response = client("dynamodb").get_item(
            TableName=self.table_name, Key=xref_key(system, local_id), ProjectionExpression="supplier_id"
        )
        item = response.get("Item")
        return item["supplier_id"]["S"] if item else None

    def get(self, supplier_id: str) -> SupplierRef | None:
        """The golden supplier (the survivor if it was merged), or None if there is no such supplier."""
        dynamodb = client("dynamodb")
        for _ in range(_MAX_MERGE_HOPS):
            response = dynamodb.get_item(
                TableName=self.table_name,
                Key=golden_key(supplier_id),
                ProjectionExpression=", ".join(f"#{i}" for i in range(len(_GOLDEN_FIELDS))),
                ExpressionAttributeNames={f"#{i}": name for i, name in enumerate(_GOLDEN_FIELDS)},
            )
            if "Item" not in response:
                return None
            data = from_item(response["Item"])
            if data.get("merged_into"):
                supplier_id = data["merged_into"]
                continue
            lead_time = data.get("default_lead_time_days")
            return SupplierRef(
                supplier_id=data["supplier_id"],
                name=data["legal_name"],
                status=data.get("status") or "active",
                ack_window_hours=int(data.get("ack_window_hours") or DEFAULT_ACK_WINDOW_HOURS),
                default_lead_time_days=None if lead_time is None else int(lead_time),
            )
        raise RuntimeError(f"supplier {supplier_id}: merged_into chain longer than {_MAX_MERGE_HOPS}")
