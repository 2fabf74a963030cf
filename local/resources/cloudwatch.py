"""CloudWatch on moto: AWS::CloudWatch::Alarm, ::CompositeAlarm and ::Dashboard."""

from __future__ import annotations

from typing import Any

from local.provision import CreateContext, Created, Creator
from local.resources._values import pick, tag_list
from local.template import Resource

_ALARM_KEYS = (
    "ActionsEnabled",
    "AlarmActions",
    "AlarmDescription",
    "ComparisonOperator",
    "DatapointsToAlarm",
    "Dimensions",
    "EvaluateLowSampleCountPercentile",
    "EvaluationPeriods",
    "ExtendedStatistic",
    "InsufficientDataActions",
    "MetricName",
    "Metrics",
    "Namespace",
    "OKActions",
    "Period",
    "Statistic",
    "Threshold",
    "ThresholdMetricId",
    "TreatMissingData",
    "Unit",
)
_COMPOSITE_KEYS = (
    "ActionsEnabled",
    "AlarmActions",
    "AlarmDescription",
    "AlarmRule",
    "InsufficientDataActions",
    "OKActions",
)


def create_alarm(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("AlarmName") or ctx.name(resource.logical_id, 255)
    kwargs = pick(props, _ALARM_KEYS)
    for key in ("EvaluationPeriods", "DatapointsToAlarm", "Period"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    if "Threshold" in kwargs:
        kwargs["Threshold"] = float(kwargs["Threshold"])
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"])
    ctx.clients("cloudwatch").put_metric_alarm(AlarmName=name, **kwargs)
    return Created(ref=name, attributes={"Arn": ctx.arn("cloudwatch", f"alarm:{name}")})


def create_composite_alarm(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("AlarmName") or ctx.name(resource.logical_id, 255)
    ctx.clients("cloudwatch").put_composite_alarm(AlarmName=name, **pick(props, _COMPOSITE_KEYS))
    return Created(ref=name, attributes={"Arn": ctx.arn("cloudwatch", f"alarm:{name}")})


def create_dashboard(ctx: CreateContext, resource: Resource, props: dict[str, Any]) -> Created:
    name = props.get("DashboardName") or ctx.name(resource.logical_id, 255)
    ctx.clients("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
    return Created(ref=name)


CREATORS: dict[str, Creator] = {
    "AWS::CloudWatch::Alarm": create_alarm,
    "AWS::CloudWatch::CompositeAlarm": create_composite_alarm,
    "AWS::CloudWatch::Dashboard": create_dashboard,
}
