"""AWS's own event shapes (../shared/corpus/aws), as they are, through the real handlers: foreign or unauthenticated
input is refused with a clear reason, never a crash."""

import json

from cli.assembly import REPO_ROOT

CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "aws"


def corpus(name):
    return json.loads((CORPUS / name).read_text())


def test_the_corpus_api_gateway_event_without_a_partner_key_is_a_401_problem(rt):
    result = rt.invoke("ingress", corpus("powertools_apiGatewayProxyEvent.json")).result()
    assert result["statusCode"] == 401
    assert result["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(result["body"])["type"] == "urn:distrosync:problem:missing-api-key"


def test_the_corpus_sqs_event_fails_record_by_record_and_says_why(rt):
    event = corpus("powertools_sqsEvent.json")
    result = rt.invoke("projector", event).result()
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(
        r["messageId"] for r in event["Records"]
    )
    reasons = [json.loads(line) for line in rt.logs("projector") if "unprocessable message" in line]
    assert len(reasons) == 2 and all(r["error"] and r["message_id"] for r in reasons)


def test_a_foreign_eventbridge_event_in_the_queue_is_unprocessable_not_a_crash(rt):
    sqs = corpus("powertools_sqsEvent.json")
    record = {**sqs["Records"][0], "body": json.dumps(corpus("powertools_eventBridgeEvent.json"))}
    result = rt.invoke("projector", {"Records": [record]}).result()
    assert result["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]
    assert any("unknown event type" in line for line in rt.logs("projector"))
