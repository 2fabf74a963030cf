"""The committed sample events (events/samples/<function>/) have AWS's real shapes and the handlers accept them."""

import json
from pathlib import Path

from cli.assembly import REPO_ROOT

SAMPLES = REPO_ROOT / "events" / "samples"
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "aws"


def load(path: Path):
    return json.loads(path.read_text())


def test_samples_have_the_shapes_of_the_corpus_events():
    api = load(CORPUS / "powertools_apiGatewayProxyEvent.json")
    sqs = load(CORPUS / "powertools_sqsEvent.json")
    for sample in (SAMPLES / "ingress").glob("*.json"):
        event = load(sample)
        assert set(api) - {"version"} <= set(event), sample.name  # "version" is HTTP API v1-format only
        assert set(api["requestContext"]) - {"authorizer"} <= set(event["requestContext"]), sample.name
    scheduled = load(CORPUS / "powertools_eventBridgeEvent.json")
    for sample in (SAMPLES / "reservation_expiry").glob("*.json"):
        assert set(scheduled) - {"replay-name"} <= set(load(sample)), sample.name  # replay-name: replays only
    for sample in (SAMPLES / "projector").glob("*.json"):
        record = load(sample)["Records"][0]
        assert set(sqs["Records"][0]) <= set(record), sample.name
        assert set(sqs["Records"][0]["attributes"]) <= set(record["attributes"]), sample.name


def test_the_projector_processes_its_sample(rt):
    event = load(SAMPLES / "projector" / "sqs_inventory_adjusted.json")
    result = rt.invoke("projector", event).result()
    assert result == {"batchItemFailures": []}
    assert rt.invoke("projector", event).result() == {"batchItemFailures": []}  # a redelivery is harmless
    from shared.aws.inventory_store import InventoryStore

    position = InventoryStore(rt.outputs["InventoryTableName"]).get("SKU-1", "DC-EAST")
    assert position is not None and position.on_hand == -3 and position.version == 1


def test_the_ingress_refuses_its_replayed_sample_as_stale(rt, warehouse):
    """The sample was signed when it was captured: replaying it later must fail the timestamp check."""
    event = load(SAMPLES / "ingress" / "post_inventory_adjustment.json")
    event["requestContext"]["identity"]["apiKeyId"] = warehouse.partner.api_key_id
    result = rt.invoke("ingress", event).result()
    assert result["statusCode"] == 401
    assert json.loads(result["body"])["type"] == "urn:distrosync:problem:stale-timestamp"


def test_the_expiry_sweeper_accepts_its_scheduled_sample(rt):
    invocation = rt.invoke("reservation_expiry", load(SAMPLES / "reservation_expiry" / "scheduled_event.json"))
    assert invocation.ok, invocation.error
