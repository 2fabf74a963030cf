"""The EDI table (docs/edi.md, "Gateway"): interchanges received, control-number sequences, documents sent and
the 997s they wait for. Partition key `pk`, sort key `sk`, TTL `expires_at`, sparse GSI `by-ack-due`
(`ack_queue` / `ack_due_at`) holding the groups sent whose 997 is still awaited.

| item | pk | sk | what |
|---|---|---|---|
| interchange | `IC#<qualifier>:<sender id>` | ISA13 as 9 digits | the object it came in, status (refuses duplicates) |
| sequences | `SEQ#<partner>` | `X12` | the last ISA13, GS06 and ST02 used toward the partner |
| document sent | `OUT#<partner>` | `<event id>` | the object key and control numbers of the 850/940 an event became |
| group sent | `ACK#<partner>` | GS06 as 9 digits | awaiting (in the index), accepted, rejected, overdue |
| order alias | `ALIAS#<partner>` | the alias (W0502) | the order id a 940 sent under that alias (a 945 echoes it) |

Every write is one request: a claim is a conditional put, an allocation one UpdateItem (ADD), a document sent, the
997 it expects and the order alias it used one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.aws.clients import client
from shared.aws.dynamo import from_item, to_item, to_value

ACK_DUE_INDEX = "by-ack-due"
ACK_QUEUE = "AWAITING"
# Interchange claims outlive any VAN's or partner's resend window; documents sent and groups acknowledged are kept
# for a partner's disputes ("we never got PO 123").
INTERCHANGE_TTL_SECONDS = 400 * 24 * 3600
SENT_TTL_SECONDS = 400 * 24 * 3600
# ISA13 has 9 digits; GS06 and ST02 are at most 9: sequences wrap to 1 after this.
MAX_CONTROL_NUMBER = 999_999_999

ClaimOutcome = Literal["new", "same_object", "duplicate"]
AckStatus = Literal["awaiting", "accepted", "partially_accepted", "rejected", "overdue"]


def iso(value: datetime) -> str:
    """Fixed-width UTC timestamps, so that the index's string sort key sorts by time."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _number_key(control_number: str) -> str:
    return control_number.zfill(9) if control_number.isdigit() else control_number


@dataclass(frozen=True)
class InterchangeClaim:
    """What claiming (sender, ISA13) came to: `new` (first time), `same_object` (the same file again: an S3 event
    delivered twice or a retried message) or `duplicate` (another file already used that control number)."""

    outcome: ClaimOutcome
    object_key: str
    received_at: str
    status: str


@dataclass(frozen=True)
class Allocation:
    """Control numbers reserved toward one partner: one ISA13 per interchange, GS06 per group, ST02 per set."""

    interchanges: list[int]
    groups: list[int]
    sets: list[int]


@dataclass(frozen=True)
class GroupSent:
    """A functional group distrosync sent, and the 997 it waits for (`due_at` None: none expected)."""

    partner_id: str
    group_control_number: str
    interchange_control_number: str
    functional_id: str
    set_ids: list[str]
    references: list[str]
    sent_at: datetime
    due_at: datetime | None
    ack_due_hours: int
    object_key: str
    correlation_id: str | None = None
    status: AckStatus = "awaiting"


@dataclass(frozen=True)
class DocumentSent:
    """The file an event became for a partner; a retried event finds it and writes nothing new."""

    partner_id: str
    event_id: str
    object_key: str
    set_id: str
    reference: str
    interchange_control_number: str
    group_control_number: str
    set_control_number: str
    sent_at: datetime


@dataclass(frozen=True)
class OrderAlias:
    """The stand-in a 940 to `partner_id` used in W0502 for `order_id` (documents.order_alias)."""

    partner_id: str
    alias: str
    order_id: str


class AliasTaken(RuntimeError):
    """The alias is recorded for another order of the partner (a digest collision): the document is not sent."""

    def __init__(self, alias: OrderAlias, holder: str) -> None:
        super().__init__(
            f"alias {alias.alias} of order {alias.order_id} already stands for order {holder} "
            f"toward partner '{alias.partner_id}'"
        )
        self.alias, self.holder = alias, holder


def _wrap(last: int, count: int) -> list[int]:
    """The `count` numbers ending at `last`, each wrapped into 1..MAX_CONTROL_NUMBER."""
    return [((n - 1) % MAX_CONTROL_NUMBER) + 1 for n in range(last - count + 1, last + 1)]


class EdiStore:
    def __init__(self, table_name: str, *, clock: Any = time.time) -> None:
        self.table_name = table_name
        self.clock = clock

    # ------------------------------------------------------------------------------------------ interchanges
    def claim_interchange(
        self, sender: str, control_number: str, *, partner_id: str, object_key: str, received_at: datetime
    ) -> InterchangeClaim:
        """Record (sender, ISA13) as received in `object_key`, unless another object has it already."""
        dynamodb = client("dynamodb")
        item = to_item(
            {
                "pk": f"IC#{sender}",
                "sk": _number_key(control_number),
                "partner_id": partner_id,
                "object_key": object_key,
                "received_at": iso(received_at),
                "status": "received",
                "expires_at": int(self.clock()) + INTERCHANGE_TTL_SECONDS,
            }
        )
        try:
            dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            old = from_item(exc.response.get("Item") or {})
            first = str(old.get("object_key", "?"))
            outcome: ClaimOutcome = "same_object" if first == object_key else "duplicate"
            return InterchangeClaim(outcome, first, str(old.get("received_at", "?")), str(old.get("status", "?")))
        return InterchangeClaim("new", object_key, iso(received_at), "received")

    def claim_status(self, sender: str, control_number: str) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"IC#{sender}"}, "sk": {"S": _number_key(control_number)}},
            ConsistentRead=True,
        )
        return from_item(response["Item"]) if "Item" in response else None

    def finish_interchange(
        self, sender: str, control_number: str, status: str, *, acknowledgments: Sequence[str]
    ) -> None:
        """The interchange was handed on (`status`: accepted, partially_accepted, rejected) with these acks."""
        client("dynamodb").update_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"IC#{sender}"}, "sk": {"S": _number_key(control_number)}},
            UpdateExpression="SET #s = :s, acknowledgments = :acks, finished_at = :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":s": {"S": status},
                ":acks": to_value(list(acknowledgments)),
                ":now": {"S": iso(datetime.fromtimestamp(self.clock(), UTC))},
            },
        )

    # ----------------------------------------------------------------------------------------- sequences
    def allocate(self, partner_id: str, *, interchanges: int = 1, groups: int = 1, sets: int = 1) -> Allocation:
        """Reserve control numbers toward `partner_id` in one atomic UpdateItem; concurrent writers never share
        one. A crash after it leaves a gap, which X12 allows (numbers must be unique, not contiguous)."""
        response = client("dynamodb").update_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"SEQ#{partner_id}"}, "sk": {"S": "X12"}},
            UpdateExpression="ADD isa :i, gs :g, st :s",
            ExpressionAttributeValues={
                ":i": {"N": str(interchanges)},
                ":g": {"N": str(groups)},
                ":s": {"N": str(sets)},
            },
            ReturnValues="ALL_NEW",  # UPDATED_NEW leaves out a counter that ADD :0 did not change
        )
        new = from_item(response["Attributes"])
        return Allocation(
            _wrap(int(new["isa"]), interchanges), _wrap(int(new["gs"]), groups), _wrap(int(new["st"]), sets)
        )

    # ------------------------------------------------------------------------------------- documents sent
    def document_sent(self, partner_id: str, event_id: str) -> DocumentSent | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"OUT#{partner_id}"}, "sk": {"S": event_id}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        data = from_item(response["Item"])
        return DocumentSent(
            partner_id=partner_id,
            event_id=event_id,
            object_key=data["object_key"],
            set_id=data["set_id"],
            reference=data["reference"],
            interchange_control_number=data["interchange_control_number"],
            group_control_number=data["group_control_number"],
            set_control_number=data["set_control_number"],
            sent_at=datetime.fromisoformat(data["sent_at"]),
        )

    def record_sent(
        self, document: DocumentSent | None, groups: Sequence[GroupSent], *, alias: OrderAlias | None = None
    ) -> bool:
        """The document an event became (if any), the groups it carried and the order alias it used, in one
        transaction. False when the document was recorded already (a retried event: nothing is written). The alias
        is put unless it stands for another order already (`AliasTaken`); the same order again (a re-release)
        renews it."""
        expires = int(self.clock()) + SENT_TTL_SECONDS
        items: list[dict[str, Any]] = []
        if document is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item(
                            {
                                "pk": f"OUT#{document.partner_id}",
                                "sk": document.event_id,
                                "object_key": document.object_key,
                                "set_id": document.set_id,
                                "reference": document.reference,
                                "interchange_control_number": document.interchange_control_number,
                                "group_control_number": document.group_control_number,
                                "set_control_number": document.set_control_number,
                                "sent_at": iso(document.sent_at),
                                "expires_at": expires,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for group in groups:
            data: dict[str, Any] = {
                "pk": f"ACK#{group.partner_id}",
                "sk": _number_key(group.group_control_number),
                "group_control_number": group.group_control_number,
                "interchange_control_number": group.interchange_control_number,
                "functional_id": group.functional_id,
                "set_ids": list(group.set_ids),
                "references": list(group.references),
                "sent_at": iso(group.sent_at),
                "ack_due_hours": group.ack_due_hours,
                "object_key": group.object_key,
                "correlation_id": group.correlation_id,
                "status": "awaiting" if group.due_at is not None else "not_expected",
                "expires_at": expires,
            }
            if group.due_at is not None:
                data["ack_queue"] = ACK_QUEUE
                data["ack_due_at"] = iso(group.due_at)
            items.append({"Put": {"TableName": self.table_name, "Item": to_item(data)}})
        if alias is not None:
            item = {"pk": f"ALIAS#{alias.partner_id}", "sk": alias.alias, "order_id": alias.order_id}
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item({**item, "expires_at": expires}),
                        "ConditionExpression": "attribute_not_exists(pk) OR order_id = :order",
                        "ExpressionAttributeValues": {":order": {"S": alias.order_id}},
                    }
                }
            )
        if not items:
            return True
        dynamodb = client("dynamodb")
        try:
            if len(items) == 1:
                dynamodb.put_item(**items[0]["Put"])
            else:
                dynamodb.transact_write_items(TransactItems=items)
        except (dynamodb.exceptions.ConditionalCheckFailedException, dynamodb.exceptions.TransactionCanceledException):
            if document is not None and self.document_sent(document.partner_id, document.event_id) is not None:
                return False
            if alias is not None:
                holder = self.aliased_order(alias.partner_id, alias.alias)
                if holder is not None and holder != alias.order_id:
                    raise AliasTaken(alias, holder) from None
            raise
        return True

    def aliased_order(self, partner_id: str, alias: str) -> str | None:
        """The order id a 940 to the partner sent under `alias`; None when no 940 to it used that alias."""
        response = client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"ALIAS#{partner_id}"}, "sk": {"S": alias}},
            ProjectionExpression="order_id",
            ConsistentRead=True,
        )
        return str(response["Item"]["order_id"]["S"]) if "Item" in response else None

    # ------------------------------------------------------------------------------------- acknowledgments
    def record_ack(
        self, partner_id: str, group_control_number: str, status: AckStatus, *, received_at: datetime, detail: str = ""
    ) -> GroupSent | None:
        """A 997 from the partner acknowledged the group we sent: out of the due index, with its verdict. None
        when we never sent that group (the 997 is kept in the interchange's event, nothing else changes)."""
        dynamodb = client("dynamodb")
        try:
            response = dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"ACK#{partner_id}"}, "sk": {"S": _number_key(group_control_number)}},
                UpdateExpression="SET #s = :s, acknowledged_at = :at, ack_detail = :d REMOVE ack_queue",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": status}, ":at": {"S": iso(received_at)}, ":d": {"S": detail}},
                ReturnValues="ALL_NEW",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        return _group(from_item(response["Attributes"]))

    def group_sent(self, partner_id: str, group_control_number: str) -> GroupSent | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"ACK#{partner_id}"}, "sk": {"S": _number_key(group_control_number)}},
            ConsistentRead=True,
        )
        return _group(from_item(response["Item"])) if "Item" in response else None

    def due(self, now: datetime) -> Iterator[GroupSent]:
        """Groups sent whose 997 was due at or before `now` and has not come, earliest first."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ACK_DUE_INDEX,
            "KeyConditionExpression": "ack_queue = :q AND ack_due_at <= :now",
            "ExpressionAttributeValues": {":q": {"S": ACK_QUEUE}, ":now": {"S": iso(now)}},
        }
        while True:
            response = client("dynamodb").query(**kwargs)
            for item in response["Items"]:
                yield _group(from_item(item))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def mark_overdue(self, group: GroupSent, now: datetime) -> bool:
        """Out of the due index as overdue; False when its 997 came (or another sweep marked it) meanwhile."""
        dynamodb = client("dynamodb")
        try:
            dynamodb.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"ACK#{group.partner_id}"}, "sk": {"S": _number_key(group.group_control_number)}},
                UpdateExpression="SET #s = :s, overdue_at = :now REMOVE ack_queue",
                ConditionExpression="attribute_exists(ack_queue)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "overdue"}, ":now": {"S": iso(now)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _group(data: dict[str, Any]) -> GroupSent:
    due = data.get("ack_due_at")
    return GroupSent(
        partner_id=str(data["pk"]).removeprefix("ACK#"),
        group_control_number=data["group_control_number"],
        interchange_control_number=data["interchange_control_number"],
        functional_id=data["functional_id"],
        set_ids=list(data.get("set_ids") or []),
        references=list(data.get("references") or []),
        sent_at=datetime.fromisoformat(data["sent_at"]),
        due_at=datetime.fromisoformat(due) if due else None,
        ack_due_hours=int(data.get("ack_due_hours") or 0),
        object_key=data.get("object_key", ""),
        correlation_id=data.get("correlation_id"),
        status=data.get("status", "awaiting"),
    )
