"""Lambda functions follow docs/contracts.md; IAM stays least-privilege."""

from __future__ import annotations

from cfn_reader import functions_by_source, props, ref_id, resources

from infra.wheelhouse import REPO_ROOT

COMMON_ENV = {"DISTROSYNC_ENV", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
INGRESS_ENV = {
    "PARTNERS_TABLE_NAME",
    "IDEMPOTENCY_TABLE_NAME",
    "INVENTORY_TABLE_NAME",
    "EVENT_BUS_NAME",
    "PARTNER_SECRETS_PREFIX",
    "SIGNATURE_MAX_SKEW_SECONDS",
    "MAX_BODY_BYTES",
}


def test_every_function_declares_its_source_folder(template_dict):
    functions = list(resources(template_dict, "AWS::Lambda::Function"))
    assert functions
    for lid, function in functions:
        source = function.get("Metadata", {}).get("distrosync:source")
        assert source and source.startswith("functions/"), lid
        assert (REPO_ROOT / source).is_dir(), f"{lid}: {source} does not exist"


def test_every_function_runs_python_3_14_traced_with_both_layers(template_dict):
    for lid, function in resources(template_dict, "AWS::Lambda::Function"):
        p = props(function)
        assert p["Runtime"] == "python3.14", lid
        assert p["Handler"] == "handler.lambda_handler"
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert p["Architectures"] == ["arm64"]
        assert len(p["Layers"]) == 2
        assert "LogGroup" in p["LoggingConfig"]
        env = p["Environment"]["Variables"]
        assert set(env) >= COMMON_ENV, lid
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Distrosync"
        assert env["POWERTOOLS_SERVICE_NAME"] == function["Metadata"]["distrosync:source"].split("/")[1]


def test_every_function_has_an_errors_alarm(template_dict):
    alarmed = {
        ref_id(d["Value"])
        for _, alarm in resources(template_dict, "AWS::CloudWatch::Alarm")
        if props(alarm).get("MetricName") == "Errors"
        for d in props(alarm)["Dimensions"]
        if d["Name"] == "FunctionName"
    }
    assert {lid for lid, _ in resources(template_dict, "AWS::Lambda::Function")} <= alarmed


def test_ingress_and_projector_environment(dev_template_dict):
    functions = functions_by_source(dev_template_dict)
    ingress_env = props(functions["ingress"][1])["Environment"]["Variables"]
    assert set(ingress_env) >= INGRESS_ENV
    assert ingress_env["PARTNER_SECRETS_PREFIX"] == "distrosync-dev/partners/"
    assert ingress_env["SIGNATURE_MAX_SKEW_SECONDS"] == "300"
    assert ingress_env["MAX_BODY_BYTES"] == "1048576"
    projector_env = props(functions["projector"][1])["Environment"]["Variables"]
    assert "INVENTORY_TABLE_NAME" in projector_env


def _statements(template, function_lid):
    role_id = ref_id(props(template["Resources"][function_lid])["Role"])
    for _, policy in resources(template, "AWS::IAM::Policy"):
        if {"Ref": role_id} in props(policy)["Roles"]:
            yield from props(policy)["PolicyDocument"]["Statement"]


def _actions(statement):
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_only_xray_uses_a_wildcard_resource(template_dict):
    for lid, _ in resources(template_dict, "AWS::Lambda::Function"):
        for statement in _statements(template_dict, lid):
            if statement["Resource"] == "*":
                assert _actions(statement) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, lid


def test_ingress_permissions(dev_template_dict):
    lid = functions_by_source(dev_template_dict)["ingress"][0]
    statements = list(_statements(dev_template_dict, lid))
    secrets = [s for s in statements if "secretsmanager:GetSecretValue" in _actions(s)]
    assert [s["Resource"] for s in secrets] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:distrosync-dev/partners/*"
    ]
    assert any("events:PutEvents" in _actions(s) for s in statements)
    assert any("kms:Decrypt" in _actions(s) for s in statements)
    writes = [s for s in statements if "dynamodb:PutItem" in _actions(s)]
    written = {
        _table(r) for s in writes for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    # idempotency records; master data; reservations (and their positions' arithmetic); supplier master, purchase
    # orders, customer orders. Not the partners table.
    assert written == {
        "IdempotencyTable",
        "InventoryTable",
        "ReservationsTable",
        "SuppliersTable",
        "PurchasingTable",
        "PromisingTable",
    }


def _table(resource):
    """The logical id prefix of the table a statement resource names (its ARN, or its index ARNs)."""
    if "Fn::Join" in resource:
        resource = resource["Fn::Join"][1][0]
    return ref_id(resource).rstrip("0123456789ABCDEF")


def test_projector_writes_only_the_inventory_table(dev_template_dict):
    lid = functions_by_source(dev_template_dict)["projector"][0]
    writes = [s for s in _statements(dev_template_dict, lid) if "dynamodb:PutItem" in _actions(s)]
    assert writes and all(ref_id(s["Resource"]).startswith("InventoryTable") for s in writes)


def test_reservation_expiry_runs_every_minute_and_writes_only_reservations_and_positions(dev_template_dict):
    lid, function = functions_by_source(dev_template_dict)["reservation_expiry"]
    env = props(function)["Environment"]["Variables"]
    assert {"RESERVATIONS_TABLE_NAME", "INVENTORY_TABLE_NAME", "EVENT_BUS_NAME"} <= set(env)
    statements = list(_statements(dev_template_dict, lid))
    writes = [s for s in statements if "dynamodb:PutItem" in _actions(s)]
    written = {
        _table(r) for s in writes for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert written == {"ReservationsTable", "InventoryTable"}
    assert any("events:PutEvents" in _actions(s) for s in statements)
    (schedule,) = [
        props(rule)
        for _, rule in resources(dev_template_dict, "AWS::Events::Rule")
        if props(rule).get("ScheduleExpression") and any(ref_id(t["Arn"]) == lid for t in props(rule)["Targets"])
    ]
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
