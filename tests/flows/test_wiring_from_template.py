"""The embedded runtime takes its wiring from the synthesized template only: what infra/ adds, it runs."""

import json

from cli.assembly import REPO_ROOT
from shared.aws.clients import client as aws


def test_a_queue_and_rule_added_in_infra_appear_in_the_runtime_with_no_other_change(tmp_path, dev_template_path):
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_sqs as sqs

    from infra.synth import build_app
    from local.runtime import LocalRuntime

    app, stack = build_app("dev", outdir=tmp_path / "cdk.out", bundling=False)
    audit = sqs.Queue(stack, "AuditQueue", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
    events.Rule(
        stack,
        "AuditRule",
        event_bus=stack.bus.bus,
        event_pattern=events.EventPattern(source=["distrosync.audit"], detail_type=["audit.recorded"]),
        targets=[targets.SqsQueue(audit)],
    )
    from infra import nag

    nag.acknowledge(audit, "AwsSolutions-SQS3", "Test-only queue added to show template-driven wiring.")
    template = tmp_path / "cdk.out" / stack.template_file
    app.synth()

    with LocalRuntime.start(template, source_root=REPO_ROOT) as rt:
        names = {q.name for q in rt.queues()}
        audit_queue = next(q for q in rt.queues() if q.logical_id.startswith("AuditQueue"))
        assert audit_queue.name in names
        detail = {"who": "ops"}
        aws("events").put_events(
            Entries=[
                {
                    "EventBusName": rt.outputs["EventBusName"],
                    "Source": "distrosync.audit",
                    "DetailType": "audit.recorded",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        (message,) = audit_queue.peek()
        assert json.loads(message["Body"])["detail"] == detail

    # ...and the unchanged stack has neither.
    with LocalRuntime.start(dev_template_path, source_root=REPO_ROOT) as rt:
        assert not [q for q in rt.queues() if q.logical_id.startswith("AuditQueue")]
