"""The outbox publisher and the claim-check bucket (infra/outbox.py; docs/reliability.md, ADR 0016)."""

from __future__ import annotations

import json
from typing import Any

from cfn_reader import dlq_alarms, functions_by_source, one, props, ref_id, resource_text, resources

OUTBOX_TABLES = ("PurchasingTable", "SuppliersTable", "PromisingTable")


def _grants(template: dict[str, Any], function: str) -> set[tuple[str, str]]:
    _, fn = functions_by_source(template)[function]
    role = ref_id(props(fn)["Role"])
    pairs = set()
    for _, policy in resources(template, "AWS::IAM::Policy"):
        if {"Ref": role} not in props(policy)["Roles"]:
            continue
        for statement in props(policy)["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            pairs |= {(a, resource_text(t)) for a in actions for t in targets}
    return pairs


def _mappings(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The publisher's event-source mappings by the table whose stream feeds them."""
    lid = functions_by_source(template)["outbox_publisher"][0]
    return {
        ref_id(props(m)["EventSourceArn"]).rstrip("0123456789ABCDEF"): props(m)
        for _, m in resources(template, "AWS::Lambda::EventSourceMapping")
        if ref_id(props(m)["FunctionName"]) == lid
    }


def test_tables_whose_writers_keep_an_outbox_stream_their_new_images(template_dict):
    for prefix in OUTBOX_TABLES:
        _, table = one(template_dict, "AWS::DynamoDB::Table", prefix)
        assert props(table)["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}, prefix


def test_one_mapping_per_table_only_images_with_an_outbox_retried_with_bisection(template_dict):
    mappings = _mappings(template_dict)
    assert sorted(mappings) == sorted(OUTBOX_TABLES)
    for mapping in mappings.values():
        (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
        assert pattern == {"dynamodb": {"NewImage": {"outbox": {"B": [{"exists": True}]}}}}
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 0 < mapping["MaximumRetryAttempts"] <= 100
        assert 0 < mapping["MaximumRecordAgeInSeconds"] <= 24 * 3600  # streams keep records a day
        failures = ref_id(mapping["DestinationConfig"]["OnFailure"]["Destination"])
        assert failures.startswith("OutboxFailures")


def test_the_on_failure_queue_is_encrypted_tls_only_retained_and_alarmed(template_dict):
    lid, queue = one(template_dict, "AWS::SQS::Queue", "OutboxFailures")
    p = props(queue)
    assert ref_id(p["KmsMasterKeyId"]).startswith("DataKey")
    assert p["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert p["QueueName"].endswith("-outbox-publisher-dlq")  # `distrosync dlq list` finds it
    _, policy = one(template_dict, "AWS::SQS::QueuePolicy", "OutboxFailuresPolicy")
    denials = [s for s in props(policy)["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denials]
    (alarm,) = dlq_alarms(template_dict, lid)
    assert props(alarm)["AlarmActions"]


def test_the_publisher_may_read_the_streams_put_events_and_update_those_tables_only(dev_template_dict):
    grants = _grants(dev_template_dict, "outbox_publisher")
    dynamodb = {(a, t) for a, t in grants if a.startswith("dynamodb:")}
    expected = set()
    for table in OUTBOX_TABLES:
        for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
            expected.add((f"dynamodb:{action}", f"<{table}.StreamArn>"))
        expected |= {("dynamodb:GetItem", f"<{table}.Arn>"), ("dynamodb:UpdateItem", f"<{table}.Arn>")}
    assert dynamodb == expected
    assert ("events:PutEvents", "<EventsBus.Arn>") in grants
    sqs = {a for a, t in grants if a.startswith("sqs:") and t.startswith("<OutboxFailures")}
    assert "sqs:SendMessage" in sqs
    env = props(functions_by_source(dev_template_dict)["outbox_publisher"][1])["Environment"]["Variables"]
    assert {"EVENT_BUS_NAME", "CLAIM_CHECK_BUCKET"} <= set(env)


def test_claim_check_bucket_is_kms_encrypted_private_tls_only_logged_and_expires_claims(template_dict):
    _, bucket = one(template_dict, "AWS::S3::Bucket", "ClaimCheckBucket")
    p = props(bucket)
    (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert ref_id(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).startswith("DataKey")
    assert set(p["PublicAccessBlockConfiguration"].values()) == {True} and len(p["PublicAccessBlockConfiguration"]) == 4
    expiring = [r for r in p["LifecycleConfiguration"]["Rules"] if r.get("ExpirationInDays")]
    assert [r["ExpirationInDays"] for r in expiring] == [30]
    assert ref_id(p["LoggingConfiguration"]["DestinationBucketName"]).startswith("ClaimCheckAccessLogs")
    _, policy = one(template_dict, "AWS::S3::BucketPolicy", "ClaimCheckBucketPolicy")
    denials = [s for s in props(policy)["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denials]


def test_every_function_knows_the_bucket_publishers_may_write_claims_and_every_function_read_them(dev_template_dict):
    claims = "<ClaimCheckBucket.Arn>/claims/*"
    for name, (_, fn) in functions_by_source(dev_template_dict).items():
        env = props(fn)["Environment"]["Variables"]
        assert ref_id(env["CLAIM_CHECK_BUCKET"]).startswith("ClaimCheckBucket"), name
        s3 = {(a, t) for a, t in _grants(dev_template_dict, name) if a.startswith("s3:") and "ClaimCheck" in t}
        expected = {("s3:GetObject", claims)}
        if "EVENT_BUS_NAME" in env:
            expected.add(("s3:PutObject", claims))
        assert s3 == expected, name


def test_outputs_name_the_claim_check_bucket(template_dict):
    assert ref_id(template_dict["Outputs"]["ClaimCheckBucketName"]["Value"]).startswith("ClaimCheckBucket")
