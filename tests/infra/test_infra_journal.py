"""The journal: every distrosync event into its table, with a TTL, by a function that may only write it."""

from __future__ import annotations

from cfn_reader import props, ref_id, resources

from infra.config import load_config


def _journal_function(template):
    (found,) = [
        (lid, f)
        for lid, f in resources(template, "AWS::Lambda::Function")
        if props(f).get("FunctionName") == "distrosync-dev-journal"
    ]
    return found


def _table(template):
    (found,) = [
        (lid, t)
        for lid, t in resources(template, "AWS::DynamoDB::Table")
        if props(t).get("TableName") == "distrosync-dev-journal"
    ]
    return found


def test_the_journal_table_is_keyed_by_business_key_and_expires(dev_template_dict):
    _, table = _table(dev_template_dict)
    p = props(table)
    assert [(k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]] == [("pk", "HASH"), ("sk", "RANGE")]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert p["SSESpecification"]["SSEEnabled"] is True and "KMSMasterKeyId" in p["SSESpecification"]
    assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert p["BillingMode"] == "PAY_PER_REQUEST"


def test_the_journal_rule_matches_every_distrosync_event_on_the_bus(dev_template_dict):
    function_id, function = _journal_function(dev_template_dict)
    (mapping,) = [
        m
        for _, m in resources(dev_template_dict, "AWS::Lambda::EventSourceMapping")
        if ref_id(props(m)["FunctionName"]) == function_id
    ]
    queue_id = ref_id(props(mapping)["EventSourceArn"])
    rules = [
        r
        for _, r in resources(dev_template_dict, "AWS::Events::Rule")
        if any(ref_id(t["Arn"]) == queue_id for t in props(r).get("Targets", []))
    ]
    assert len(rules) == 1
    assert props(rules[0])["EventPattern"] == {"source": [{"prefix": "distrosync."}]}
    assert ref_id(props(rules[0])["EventBusName"]).startswith("EventsBus")
    env = props(function)["Environment"]["Variables"]
    assert env["JOURNAL_RETENTION_DAYS"] == str(load_config("dev").journal_retention_days)
    assert ref_id(env["JOURNAL_TABLE_NAME"]) == _table(dev_template_dict)[0]


def test_the_journal_may_only_batch_write_its_table(dev_template_dict):
    _, function = _journal_function(dev_template_dict)
    table_id, _ = _table(dev_template_dict)
    role_id = ref_id(props(function)["Role"])
    statements = [
        s
        for _, policy in resources(dev_template_dict, "AWS::IAM::Policy")
        if any(ref_id(r) == role_id for r in props(policy).get("Roles", []))
        for s in props(policy)["PolicyDocument"]["Statement"]
    ]
    dynamo = [s for s in statements if any(str(a).startswith("dynamodb:") for a in _list(s["Action"]))]
    assert dynamo and all(_list(s["Action"]) == ["dynamodb:BatchWriteItem"] for s in dynamo)
    assert {ref_id(r) for s in dynamo for r in _list(s["Resource"]) if ref_id(r)} == {table_id}
    actions = {a for s in statements for a in _list(s["Action"])}
    assert not any(
        a.startswith(("dynamodb:Get", "dynamodb:Query", "dynamodb:Scan", "dynamodb:Delete")) for a in actions
    )
    assert "events:PutEvents" not in actions  # it journals; it never publishes


def _list(value):
    return value if isinstance(value, list) else [value]
