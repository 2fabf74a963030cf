"""The synthesized template becomes resources on moto, and EventBridge routes between them."""

import json

import boto3
from sample_stack import EXTENDED, SAMPLE

from local.runtime import LocalRuntime


def logical(rt, resource_type, prefix):
    (res,) = [r for r in rt.stack.of_type(resource_type) if r.logical_id.startswith(prefix)]
    return res


def test_tables_queues_and_keys_exist_with_the_template_settings(rt):
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    table = ddb.describe_table(TableName=rt.outputs["TableName"])["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by-owner"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    key_arn = logical(rt, "AWS::KMS::Key", "DataKey").attributes["Arn"]
    assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
    ttl = ddb.describe_time_to_live(TableName=rt.outputs["TableName"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    attributes = sqs.get_queue_attributes(QueueUrl=rt.outputs["WorkQueueUrl"], AttributeNames=["All"])["Attributes"]
    dlq_arn = logical(rt, "AWS::SQS::Queue", "WorkDlq").attributes["Arn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert attributes["VisibilityTimeout"] == "30" and attributes["KmsMasterKeyId"] == key_arn
    fifo_url = logical(rt, "AWS::SQS::Queue", "Ordered").ref
    assert fifo_url.endswith(".fifo")
    fifo = sqs.get_queue_attributes(QueueUrl=fifo_url, AttributeNames=["All"])["Attributes"]
    assert fifo["FifoQueue"] == "true" and fifo["ContentBasedDeduplication"] == "true"
    assert boto3.client("kms").get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"]


def test_bus_rules_alarms_and_the_rest_exist(rt):
    events = boto3.client("events")
    bus = rt.outputs["BusName"]
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=bus)["Rules"]}
    work_rule = next(r for name, r in rules.items() if "WorkRule" in name)
    assert json.loads(work_rule["EventPattern"]) == {
        "detail-type": ["work.requested"],
        "source": ["sample.work", "sample.other"],
    }
    assert next(r for name, r in rules.items() if "DisabledRule" in name)["State"] == "DISABLED"
    (target,) = events.list_targets_by_rule(Rule=work_rule["Name"], EventBusName=bus)["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert target["DeadLetterConfig"]["Arn"] == logical(rt, "AWS::SQS::Queue", "WorkDlq").attributes["Arn"]
    assert events.list_archives()["Archives"][0]["EventSourceArn"].endswith(f"event-bus/{bus}")

    (alarm,) = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarm["AlarmActions"] == [rt.outputs["AlarmTopicArn"]]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "local-base-work-dlq"}]
    groups = boto3.client("logs").describe_log_groups()["logGroups"]
    assert [g.get("retentionInDays") for g in groups if "AuditLog" in g["logGroupName"]] == [7]
    secret_string = boto3.client("secretsmanager").get_secret_value(SecretId=rt.outputs["SecretArn"])["SecretString"]
    secret = json.loads(secret_string)
    assert secret["user"] == "sample" and len(secret["password"]) >= 20
    assert boto3.client("ssm").get_parameter(Name="/local-base/setting")["Parameter"]["Value"] == "on"
    plans = {p["id"]: p for p in boto3.client("apigateway").get_usage_plans()["items"]}
    standard = plans[rt.outputs["UsagePlanIdStandard"]]
    assert standard["throttle"] == {"burstLimit": 2, "rateLimit": 1.0}
    assert standard["quota"]["limit"] == 1000 and standard["apiStages"][0]["stage"] == "v1"


def test_outputs_are_resolved_and_skipped_types_are_listed(rt):
    api_id = logical(rt, "AWS::ApiGateway::RestApi", "Api").ref
    assert rt.outputs["ApiUrl"] == f"https://{api_id}.execute-api.us-east-1.amazonaws.com/v1/"
    assert rt.outputs["WorkQueueUrl"].endswith("/123456789012/local-base-work")
    assert rt.physical_id(logical(rt, "AWS::DynamoDB::Table", "Items").logical_id) == rt.outputs["TableName"]
    assert {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::Lambda::Permission"} <= set(
        rt.stack.skipped
    )
    assert {f.key for f in rt.functions} == {"worker", "batch", "api"}
    assert "local-base" in rt.describe()


def put(bus, source, detail_type, detail):
    entry = {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
    assert boto3.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def bodies(queue_url):
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_rules_route_by_source_and_detail_type_lists_with_the_aws_envelope(rt):
    bus, work = rt.outputs["BusName"], rt.outputs["WorkQueueUrl"]
    put(bus, "sample.work", "work.requested", {"n": 1})
    put(bus, "sample.other", "work.requested", {"n": 2})
    put(bus, "sample.work", "work.cancelled", {"n": 3})  # detail-type not in the list
    put(bus, "elsewhere", "work.requested", {"n": 4})  # source not in the list
    delivered = bodies(work)
    assert sorted(e["detail"]["n"] for e in delivered) == [1, 2]
    envelope = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert set(delivered[0]) == envelope
    assert delivered[0]["account"] == "123456789012" and delivered[0]["region"] == "us-east-1"


def test_a_disabled_rule_does_not_deliver(rt):
    put(rt.outputs["BusName"], "sample.parked", "anything", {})
    assert bodies(logical(rt, "AWS::SQS::Queue", "Parked").ref) == []


def test_a_queue_and_rule_added_in_infra_appear_and_route_with_no_other_change(extended_template, base_template):
    with LocalRuntime.start(extended_template, source_root=SAMPLE) as rt:
        audit = rt.queue_directory.get(f"{EXTENDED}-audit")
        put(rt.outputs["BusName"], "sample.anything", "audit.recorded", {"who": "me"})
        assert [e["detail"] for e in bodies(audit.url)] == [{"who": "me"}]
    with LocalRuntime.start(base_template, source_root=SAMPLE) as rt:
        assert not [q for q in rt.queue_directory if q.logical_id.startswith("AuditQueue")]
