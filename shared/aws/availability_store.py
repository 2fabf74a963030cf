"""Channel records in the inventory table (docs/inventory.md, "DynamoDB layout").

- `pk=SKU#<sku>, sk=AVAIL`: the figure last published per channel, with a `version` every write checks;
- `pk=SKU#<sku>, sk=CHANNEL#<channel>#<location or *>`: the channel's own latest figure.

(A channel's item ids map to our SKUs through the item master's cross-references: shared/services/master_data.py.)

Only the projector writes AVAIL and CHANNEL items, always together with the AVAIL version check, so a writer
that read an older partition can never overwrite a newer decision: it gets `AvailabilityConflict` and its
messages are retried with a fresh read.
"""

from __future__ import annotations

from typing import Any

from shared.aws.clients import client
from shared.aws.dynamo import to_item

SKU_PREFIX = "SKU#"
AVAIL_SK = "AVAIL"
CHANNEL_SK_PREFIX = "CHANNEL#"
ALL_LOCATIONS = "*"
TRANSACTION_LIMIT = 100


class AvailabilityConflict(Exception):
    """Another writer changed the SKU's AVAIL record since it was read; read the partition again and retry."""


def channel_sk(channel: str, location: str | None) -> str:
    return f"{CHANNEL_SK_PREFIX}{channel}#{location or ALL_LOCATIONS}"


class AvailabilityStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def save(
        self, sku: str, avail: dict[str, Any], expected_version: int, channel_records: list[dict[str, Any]]
    ) -> None:
        """Write the AVAIL record (`avail` holds its attributes, `version` included) if its version is still
        `expected_version` (0: it must not exist), with the channel records (each with its `sk`) in the same
        transaction. Raises AvailabilityConflict when another writer came first."""
        if 1 + len(channel_records) > TRANSACTION_LIMIT:
            raise ValueError(
                f"{len(channel_records)} channel records for {sku} in one batch; at most {TRANSACTION_LIMIT - 1}"
            )
        pk = f"{SKU_PREFIX}{sku}"
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected_version:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        avail_item = to_item({**avail, "pk": pk, "sk": AVAIL_SK})
        ddb = client("dynamodb")
        if not channel_records:
            try:
                ddb.put_item(TableName=self.table_name, Item=avail_item, **condition)
            except ddb.exceptions.ConditionalCheckFailedException as exc:
                raise AvailabilityConflict(sku) from exc
            return
        items = [{"Put": {"TableName": self.table_name, "Item": avail_item, **condition}}]
        items += [{"Put": {"TableName": self.table_name, "Item": to_item({**r, "pk": pk})}} for r in channel_records]
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise AvailabilityConflict(sku) from exc
            raise
