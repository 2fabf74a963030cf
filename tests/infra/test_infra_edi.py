"""The EDI gateway's infrastructure (infra/edi.py, docs/edi.md "Gateway"): bucket, table, the three functions, the
ingress's twin, the optional SFTP server, and S3 -> EventBridge -> queue on the embedded runtime."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from cfn_reader import dlq_alarms, functions_by_source, one, props, ref_id, resource_text, resources

from infra.config import load_config

INBOUND_OBJECTS = "<EdiBucket.Arn>/inbound/*"
OUTBOUND_OBJECTS = "<EdiBucket.Arn>/outbound/*"


# ----------------------------------------------------------------------------------------------------- helpers


def _grants(template: dict[str, Any], role_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs of every policy attached to the role."""
    pairs = set()
    for _, policy in resources(template, "AWS::IAM::Policy"):
        if {"Ref": role_id} not in props(policy)["Roles"]:
            continue
        for statement in props(policy)["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            pairs |= {(action, resource_text(target)) for action in actions for target in targets}
    return pairs


def _function_grants(template: dict[str, Any], name: str) -> set[tuple[str, str]]:
    _, function = functions_by_source(template)[name]
    return _grants(template, ref_id(props(function)["Role"]))


def _s3(grants: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """S3 grants on the EDI bucket (every function's claim-check grants: tests/infra/test_infra_outbox.py)."""
    return {(action, target) for action, target in grants if action.startswith("s3:") and "ClaimCheck" not in target}


def _environment(template: dict[str, Any], name: str) -> dict[str, Any]:
    return props(functions_by_source(template)[name][1])["Environment"]["Variables"]


def _consumer(template: dict[str, Any], function: str) -> tuple[str, dict[str, Any]]:
    """The queue consumed by `function` and its event-source mapping."""
    lid = functions_by_source(template)[function][0]
    for _, mapping in resources(template, "AWS::Lambda::EventSourceMapping"):
        if ref_id(props(mapping)["FunctionName"]) == lid:
            return ref_id(props(mapping)["EventSourceArn"]), mapping
    raise AssertionError(f"no queue feeds {function}")


def _rule_to(template: dict[str, Any], queue_id: str) -> dict[str, Any]:
    rules = [
        props(rule)
        for _, rule in resources(template, "AWS::Events::Rule")
        if any(ref_id(t["Arn"]) == queue_id for t in props(rule)["Targets"])
    ]
    assert len(rules) == 1
    return rules[0]


# ------------------------------------------------------------------------------------------------------ bucket
def test_edi_bucket_is_kms_encrypted_versioned_private_tls_only_and_logged(template_dict):
    _, bucket = one(template_dict, "AWS::S3::Bucket", "EdiBucket")
    p = props(bucket)
    (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert ref_id(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]).startswith("DataKey")
    assert rule["BucketKeyEnabled"] is True
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(p["PublicAccessBlockConfiguration"].values()) == {True} and len(p["PublicAccessBlockConfiguration"]) == 4

    _, policy = one(template_dict, "AWS::S3::BucketPolicy", "EdiBucketPolicy")
    denials = [s for s in props(policy)["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denials]

    logs_id = ref_id(p["LoggingConfiguration"]["DestinationBucketName"])
    assert logs_id.startswith("EdiAccessLogs")
    log_bucket = props(template_dict["Resources"][logs_id])
    # Server access logs are delivered only to SSE-S3 buckets.
    assert log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert set(log_bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert "LoggingConfiguration" not in log_bucket  # acknowledged (AwsSolutions-S1): it is the log destination


def test_edi_bucket_lifecycle(dev_template_dict):
    _, bucket = one(dev_template_dict, "AWS::S3::Bucket", "EdiBucket")
    rules = {r["Id"]: r for r in props(bucket)["LifecycleConfiguration"]["Rules"]}
    assert all(r["Status"] == "Enabled" for r in rules.values())
    assert rules["NoncurrentVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert "Prefix" not in rules["NoncurrentVersions"]
    assert {(r.get("Prefix"), r.get("ExpirationInDays")) for r in rules.values() if "ExpirationInDays" in r} == {
        ("inbound/", 400),
        ("outbound/", 400),
    }


def test_edi_bucket_notifies_eventbridge_without_a_custom_resource(template_dict):
    _, bucket = one(template_dict, "AWS::S3::Bucket", "EdiBucket")
    assert props(bucket)["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    custom = [r["Type"] for r in template_dict["Resources"].values() if r["Type"].startswith("Custom::")]
    assert custom == []  # no S3 notifications handler, no auto-delete-objects handler


@pytest.mark.parametrize(("env", "policy"), [("dev", "Delete"), ("prod", "Retain")])
def test_buckets_are_removed_like_tables(request, env, policy):
    template = request.getfixturevalue(f"{env}_template_dict")
    buckets = list(resources(template, "AWS::S3::Bucket"))
    assert {lid.rstrip("0123456789ABCDEF") for lid, _ in buckets} == {
        "EdiBucket",
        "EdiAccessLogs",
        "ClaimCheckBucket",  # ADR 0016 (tests/infra/test_infra_outbox.py)
        "ClaimCheckAccessLogs",
    }
    for lid, bucket in buckets:
        assert bucket["DeletionPolicy"] == policy and bucket["UpdateReplacePolicy"] == policy, lid


# ------------------------------------------------------------------------------------------------------- table
def test_edi_table_layout(dev_template_dict):
    from shared.aws.edi_store import ACK_DUE_INDEX

    _, table = one(dev_template_dict, "AWS::DynamoDB::Table", "EdiTable")
    p = props(table)
    assert p["TableName"] == "distrosync-dev-edi"
    assert p["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    (index,) = p["GlobalSecondaryIndexes"]
    assert index["IndexName"] == ACK_DUE_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "ack_queue", "KeyType": "HASH"},
        {"AttributeName": "ack_due_at", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}


# ------------------------------------------------------------------------------------------------ edi_inbound
def test_inbound_rule_takes_object_created_under_inbound_from_the_default_bus(template_dict):
    queue_id, mapping = _consumer(template_dict, "edi_inbound")
    rule = _rule_to(template_dict, queue_id)
    assert rule["EventBusName"] == "default"  # where S3 publishes
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert [ref_id(name) for name in pattern["detail"]["bucket"]["name"]] == [
        one(template_dict, "AWS::S3::Bucket", "EdiBucket")[0]
    ]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "inbound/"}]

    p = props(mapping)
    assert p["BatchSize"] == 1 and p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    function = props(functions_by_source(template_dict)["edi_inbound"][1])
    assert function["Timeout"] == 120
    queue = props(template_dict["Resources"][queue_id])
    assert queue["VisibilityTimeout"] == 6 * 120
    dlq_id = ref_id(queue["RedrivePolicy"]["deadLetterTargetArn"])
    (target,) = rule["Targets"]
    delivery_dlq_id = ref_id(target["DeadLetterConfig"]["Arn"])
    for dlq in (dlq_id, delivery_dlq_id):
        assert dlq_alarms(template_dict, dlq), f"{dlq} has no depth alarm"


def test_the_twin_has_every_environment_variable_and_permission_of_the_ingress(dev_template_dict):
    ingress, twin = _environment(dev_template_dict, "ingress"), _environment(dev_template_dict, "edi_inbound")
    assert {k: v for k, v in twin.items() if k in ingress and k != "POWERTOOLS_SERVICE_NAME"} == {
        k: v for k, v in ingress.items() if k != "POWERTOOLS_SERVICE_NAME"
    }
    assert {"EDI_BUCKET_NAME", "EDI_TABLE_NAME", "ORDER_FLOW_STATE_MACHINE_ARN", "DATA_KEY_ARN"} <= set(twin)

    ingress_grants = _function_grants(dev_template_dict, "ingress")
    twin_grants = _function_grants(dev_template_dict, "edi_inbound")
    # All but its own log group and storing what partners POST, which only the route does.
    missing = {(a, t) for a, t in ingress_grants - twin_grants if t != "<IngressHandlerLogs.Arn>"}
    assert missing == {("s3:PutObject", INBOUND_OBJECTS)}
    assert ("states:SendTaskSuccess", "<OrderFlowStateMachine>") in twin_grants
    assert ("kms:Encrypt", "<DataKey.Arn>") in twin_grants  # the suppliers' field encryption


def test_s3_permissions_are_scoped_to_their_prefixes(dev_template_dict):
    assert _s3(_function_grants(dev_template_dict, "ingress")) == {("s3:PutObject", INBOUND_OBJECTS)}
    assert _s3(_function_grants(dev_template_dict, "edi_inbound")) == {
        ("s3:GetObject", INBOUND_OBJECTS),
        ("s3:PutObject", OUTBOUND_OBJECTS),
        ("s3:ListBucket", "<EdiBucket.Arn>"),  # a deleted object reads as 404, not 403
    }
    assert _s3(_function_grants(dev_template_dict, "edi_outbound")) == {
        ("s3:PutObject", OUTBOUND_OBJECTS),
        ("s3:DeleteObject", OUTBOUND_OBJECTS),  # a file whose record lost to a concurrent copy
    }
    assert _s3(_function_grants(dev_template_dict, "edi_ack_overdue")) == set()
    for name in ("ingress", "edi_inbound", "edi_outbound"):
        assert ("kms:GenerateDataKey", "<DataKey.Arn>") in _function_grants(dev_template_dict, name), name
    others = set(functions_by_source(dev_template_dict)) - {"ingress", "edi_inbound", "edi_outbound", "edi_ack_overdue"}
    for name in others:
        assert _s3(_function_grants(dev_template_dict, name)) == set(), name


def test_inbound_route_goes_to_the_ingress(dev_template_dict):
    from cfn_reader import api_paths

    paths = api_paths(dev_template_dict)
    ingress_id = functions_by_source(dev_template_dict)["ingress"][0]
    methods = [
        props(m)
        for _, m in resources(dev_template_dict, "AWS::ApiGateway::Method")
        if paths.get(ref_id(props(m)["ResourceId"])) == "/v1/edi/inbound"
    ]
    assert [m["HttpMethod"] for m in methods] == ["POST"]
    assert methods[0]["ApiKeyRequired"] is True
    uri = json.dumps(methods[0]["Integration"]["Uri"])
    assert ingress_id in uri


# ------------------------------------------------------------------------------ edi_outbound, edi_ack_overdue
def test_outbound_flow_takes_purchase_orders_and_releases_from_the_canonical_bus(dev_template_dict):
    queue_id, mapping = _consumer(dev_template_dict, "edi_outbound")
    rule = _rule_to(dev_template_dict, queue_id)
    assert ref_id(rule["EventBusName"]).startswith("EventsBus")
    assert rule["EventPattern"] == {
        "source": ["distrosync.order", "distrosync.purchase_order"],
        "detail-type": ["purchase_order.created", "order.released"],
    }
    assert props(mapping)["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    env = _environment(dev_template_dict, "edi_outbound")
    assert {"PARTNERS_TABLE_NAME", "EDI_TABLE_NAME", "EDI_BUCKET_NAME", "EVENT_BUS_NAME"} <= set(env)
    grants = _function_grants(dev_template_dict, "edi_outbound")
    assert ("dynamodb:PutItem", "<EdiTable.Arn>") in grants
    assert ("dynamodb:Query", "<PartnersTable.Arn>") in grants
    assert not any(a == "dynamodb:PutItem" and t.startswith("<PartnersTable") for a, t in grants)
    assert not any(a == "events:PutEvents" for a, _ in grants)  # it writes files; it publishes nothing


def test_ack_overdue_sweeps_every_15_minutes_and_only_queries_and_updates(dev_template_dict):
    lid, function = functions_by_source(dev_template_dict)["edi_ack_overdue"]
    env = props(function)["Environment"]["Variables"]
    assert {"EDI_TABLE_NAME", "EVENT_BUS_NAME"} <= set(env)
    (rule,) = [
        props(r)
        for _, r in resources(dev_template_dict, "AWS::Events::Rule")
        if any(ref_id(t["Arn"]) == lid for t in props(r)["Targets"])
    ]
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert dlq_alarms(dev_template_dict, ref_id(rule["Targets"][0]["DeadLetterConfig"]["Arn"]))
    table_actions = {a for a, t in _function_grants(dev_template_dict, "edi_ack_overdue") if a.startswith("dynamodb:")}
    assert table_actions == {"dynamodb:Query", "dynamodb:UpdateItem"}


def test_every_edi_function_has_an_errors_alarm(dev_template_dict):
    alarmed = {
        ref_id(d["Value"])
        for _, alarm in resources(dev_template_dict, "AWS::CloudWatch::Alarm")
        if props(alarm).get("MetricName") == "Errors"
        for d in props(alarm)["Dimensions"]
    }
    functions = functions_by_source(dev_template_dict)
    assert {functions[name][0] for name in ("edi_inbound", "edi_outbound", "edi_ack_overdue")} <= alarmed


# ------------------------------------------------------------------------------------------------ outputs, SFTP
def test_outputs_name_the_bucket_and_table(template_dict):
    outputs = template_dict["Outputs"]
    assert ref_id(outputs["EdiBucketName"]["Value"]).startswith("EdiBucket")
    assert ref_id(outputs["EdiTableName"]["Value"]).startswith("EdiTable")


def test_sftp_is_off_by_default(template_dict):
    assert not list(resources(template_dict, "AWS::Transfer::Server"))
    assert not {"EdiSftpServerId", "EdiSftpUserRoleArn"} & set(template_dict["Outputs"])


def test_edi_sftp_context_flag():
    assert load_config("dev").edi_sftp is False and load_config("prod").edi_sftp is False
    assert load_config("prod", edi_sftp="true").edi_sftp is True
    assert load_config("dev", edi_sftp=False).edi_sftp is False
    with pytest.raises(ValueError, match="edi_sftp"):
        load_config("dev", edi_sftp="maybe")


@pytest.fixture(scope="module")
def sftp_template(tmp_path_factory) -> dict[str, Any]:
    """The dev stack with the SFTP server, synthesized with the cdk-nag checks (a finding raises)."""
    import aws_cdk as cdk

    from infra import nag
    from infra.stack import DistrosyncStack
    from infra.synth import BUNDLING_STACKS, cdk_json_context

    outdir = tmp_path_factory.mktemp("cdk-sftp")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context(), post_cli_context={BUNDLING_STACKS: []})
    config = replace(load_config("dev"), edi_sftp=True)
    stack = DistrosyncStack(app, config.stack_name, config=config)
    nag.check(app)
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
    return json.loads((outdir / stack.template_file).read_text())


def test_sftp_server_and_user_role(sftp_template):
    from infra.edi import SFTP_SECURITY_POLICY

    server_id, server = one(sftp_template, "AWS::Transfer::Server", "EdiSftpServer")
    p = props(server)
    assert p["Protocols"] == ["SFTP"] and p["IdentityProviderType"] == "SERVICE_MANAGED" and p["Domain"] == "S3"
    assert p["SecurityPolicyName"] == SFTP_SECURITY_POLICY
    (destination,) = p["StructuredLogDestinations"]
    log_group = props(sftp_template["Resources"][ref_id(destination)])
    assert ref_id(log_group["KmsKeyId"]).startswith("DataKey") and log_group["RetentionInDays"] == 7

    outputs = sftp_template["Outputs"]
    assert outputs["EdiSftpServerId"]["Value"] == {"Fn::GetAtt": [server_id, "ServerId"]}
    role_id = ref_id(outputs["EdiSftpUserRoleArn"]["Value"])
    role = props(sftp_template["Resources"][role_id])
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "transfer.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert server_id in json.dumps(trust["Condition"]["ArnLike"])
    assert _grants(sftp_template, role_id) == {
        ("s3:PutObject", INBOUND_OBJECTS),
        ("s3:GetObject", OUTBOUND_OBJECTS),
        ("s3:DeleteObject", OUTBOUND_OBJECTS),
        ("s3:ListBucket", "<EdiBucket.Arn>"),
        ("kms:Decrypt", "<DataKey.Arn>"),
        ("kms:GenerateDataKey", "<DataKey.Arn>"),
    }
    (listing,) = [
        s
        for _, policy in resources(sftp_template, "AWS::IAM::Policy")
        if {"Ref": role_id} in props(policy)["Roles"]
        for s in props(policy)["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["inbound/*", "outbound/*"]}}


# ------------------------------------------------------------------------------------------- embedded runtime
def test_an_object_dropped_under_inbound_reaches_the_edi_inbound_queue(dev_template_path):
    """moto sends the bucket's `Object Created` to the rules of every bus: the rule of the template delivers the
    inbound/ object (and nothing else) to the queue edi_inbound consumes, one object per invocation."""
    from infra.wheelhouse import REPO_ROOT
    from local.runtime import LocalRuntime

    rt = LocalRuntime.start(dev_template_path, source_root=REPO_ROOT, execute_state_machines=False)
    try:
        bucket = rt.outputs["EdiBucketName"]
        s3 = rt.clients("s3")
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"

        s3.put_object(Bucket=bucket, Key="inbound/acme/interchange.x12", Body=b"ISA*00*")
        s3.put_object(Bucket=bucket, Key="outbound/acme/000000001-850.x12", Body=b"ISA*00*")
        s3.put_object(Bucket=bucket, Key="elsewhere/acme/file.x12", Body=b"ISA*00*")

        (mapping,) = [m for m in rt.poller.mappings if m.function == "edi_inbound"]
        assert mapping.batch_size == 1 and mapping.report_batch_item_failures
        sqs = rt.clients("sqs")
        messages = sqs.receive_message(QueueUrl=mapping.queue.url, MaxNumberOfMessages=10)["Messages"]
        events = [json.loads(m["Body"]) for m in messages]
        assert [(e["source"], e["detail-type"]) for e in events] == [("aws.s3", "Object Created")]
        assert events[0]["detail"]["bucket"]["name"] == bucket
        assert events[0]["detail"]["object"]["key"] == "inbound/acme/interchange.x12"
        assert not [q.name for q in rt.queues() if q.depth and q.name != mapping.queue.name]
    finally:
        rt.stop()
