"""The alarm on partners refusing our credentials, as synthesized (docs/reliability.md, "Error classes"): it sums
`PartnerRefused` of every function that calls systems through the outbound dispatcher, fires on the first one,
and notifies the alarm topic."""

from __future__ import annotations

from cfn_reader import functions_by_source, one, props, ref_id

from infra.outbound import PARTNER_CALLERS


def test_one_refusal_anywhere_raises_the_partner_refused_alarm(template_dict):
    _, alarm = one(template_dict, "AWS::CloudWatch::Alarm", "OutboundPartnerRefusedAlarm")
    p = props(alarm)
    assert (p["Threshold"], p["EvaluationPeriods"], p["ComparisonOperator"]) == (
        1,
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert p["TreatMissingData"] == "notBreaching"
    (topic,) = {ref_id(action) for action in p["AlarmActions"]}
    assert template_dict["Resources"][topic]["Type"] == "AWS::SNS::Topic"

    (expression,) = [m for m in p["Metrics"] if "Expression" in m]
    assert expression.get("ReturnData", True)
    stats = [m["MetricStat"] for m in p["Metrics"] if "MetricStat" in m]
    assert all(m["ReturnData"] is False for m in p["Metrics"] if "MetricStat" in m)
    watched = set()
    for stat in stats:
        metric = stat["Metric"]
        assert (metric["Namespace"], metric["MetricName"], stat["Stat"]) == ("Distrosync", "PartnerRefused", "Sum")
        (dimension,) = metric["Dimensions"]
        assert dimension["Name"] == "service"
        watched.add(dimension["Value"])
    assert watched == set(PARTNER_CALLERS)
    ids = [m["Id"] for m in p["Metrics"] if "MetricStat" in m]
    assert all(f"FILL({i}, 0)" in expression["Expression"] for i in ids)  # a quiet caller counts 0, not missing

    # the callers are the functions that count it: their service names, and they call systems
    functions = functions_by_source(template_dict)
    for name in PARTNER_CALLERS:
        env = props(functions[name][1])["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == name and "PARTNER_BREAKER" in env
