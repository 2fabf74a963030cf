"""Bus -> queue -> function flows: every failure lands in a dead-letter queue that alarms."""

from __future__ import annotations

from cfn_reader import dlq_alarms, props, ref_id, resources

from infra.config import load_config


def _sqs_consumed_queues(template):
    for _, mapping in resources(template, "AWS::Lambda::EventSourceMapping"):
        queue_id = ref_id(props(mapping)["EventSourceArn"])
        if template["Resources"][queue_id]["Type"] == "AWS::SQS::Queue":
            yield queue_id, mapping


def test_every_consumed_queue_redrives_to_an_alarmed_dlq(template_dict):
    consumed = list(_sqs_consumed_queues(template_dict))
    assert consumed, "expected at least the projector's queue"
    for queue_id, _ in consumed:
        redrive = props(template_dict["Resources"][queue_id]).get("RedrivePolicy")
        assert redrive, f"{queue_id} has no redrive policy"
        assert redrive["maxReceiveCount"] == load_config("dev").queue.max_receive_count
        dlq_id = ref_id(redrive["deadLetterTargetArn"])
        assert template_dict["Resources"][dlq_id]["Type"] == "AWS::SQS::Queue"
        _assert_alarmed(template_dict, dlq_id)


def test_consumers_report_batch_item_failures(template_dict):
    for queue_id, mapping in _sqs_consumed_queues(template_dict):
        p = props(mapping)
        assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"], queue_id
        assert 1 <= p["BatchSize"] <= 10
        assert "MaximumBatchingWindowInSeconds" in p


def test_visibility_timeout_is_six_times_the_consumer_timeout(dev_template_dict):
    for queue_id, mapping in _sqs_consumed_queues(dev_template_dict):
        function = dev_template_dict["Resources"][ref_id(props(mapping)["FunctionName"])]
        queue = dev_template_dict["Resources"][queue_id]
        assert props(queue)["VisibilityTimeout"] == 6 * props(function)["Timeout"]


def test_every_rule_target_has_a_dead_letter_queue_and_retry_policy(template_dict):
    rules = list(resources(template_dict, "AWS::Events::Rule"))
    assert rules
    for rule_id, rule in rules:
        for target in props(rule)["Targets"]:
            assert "DeadLetterConfig" in target, f"{rule_id} target {target['Id']}"
            assert "RetryPolicy" in target
            _assert_alarmed(template_dict, ref_id(target["DeadLetterConfig"]["Arn"]))


def test_projector_rule_pattern_is_derived_from_its_event_types(dev_template_dict):
    from infra.inventory import PROJECTED_EVENTS
    from shared.canonical.envelope import eventbridge_source

    patterns = [
        props(rule)["EventPattern"]
        for _, rule in resources(dev_template_dict, "AWS::Events::Rule")
        if "EventPattern" in props(rule)
    ]
    expected = {
        "source": sorted({eventbridge_source(t) for t in PROJECTED_EVENTS}),
        "detail-type": PROJECTED_EVENTS,
    }
    assert expected in patterns
    assert "location.updated" not in expected["detail-type"]  # moves no stock, changes no channel figure


def test_pattern_rules_are_on_the_custom_bus_and_schedules_on_the_default_one(dev_template_dict):
    for lid, rule in resources(dev_template_dict, "AWS::Events::Rule"):
        if "EventPattern" in props(rule) and props(rule)["EventPattern"].get("source") == ["aws.s3"]:
            assert props(rule)["EventBusName"] == "default", lid  # S3 publishes to the default bus only
        elif "EventPattern" in props(rule):
            assert ref_id(props(rule)["EventBusName"]).startswith("EventsBus"), lid
        else:
            assert "ScheduleExpression" in props(rule) and "EventBusName" not in props(rule), lid


def test_every_queue_is_kms_encrypted_and_ssl_only(template_dict):
    queues = {lid for lid, _ in resources(template_dict, "AWS::SQS::Queue")}
    for lid in queues:
        assert props(template_dict["Resources"][lid])["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("DataKey")
    ssl_only = set()
    for _, policy in resources(template_dict, "AWS::SQS::QueuePolicy"):
        for statement in props(policy)["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Deny"
                and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            ):
                ssl_only.update(ref_id(q) for q in props(policy)["Queues"])
    assert queues <= ssl_only


def _assert_alarmed(template, queue_id):
    alarms = dlq_alarms(template, queue_id)
    assert alarms, f"no depth alarm on dead-letter queue {queue_id}"
    for alarm in alarms:
        p = props(alarm)
        assert p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert p["Threshold"] == 1
        assert p["AlarmActions"], "the alarm must notify the alarm topic"
