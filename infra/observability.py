"""Alarm topic, alarm factory and one compact dashboard; other constructs add their own rows."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import EnvConfig

WIDGET_HEIGHT = 6


class Observability(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self._config = config
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{config.prefix}-alarms",
            display_name=f"{config.prefix} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self._action = cw_actions.SnsAction(self.topic)
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=config.prefix)

    @property
    def period(self) -> cdk.Duration:
        return cdk.Duration.minutes(self._config.alarms.period_minutes)

    def alarm(self, scope: Construct, id: str, *, metric: cw.IMetric, threshold: float, description: str) -> cw.Alarm:
        """An alarm that fires when `metric` >= `threshold` in one period, and notifies the topic."""
        alarm = cw.Alarm(
            scope,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm

    def add_row(self, title: str, *widgets: cw.IWidget) -> None:
        """A titled dashboard row; each widget gets an equal share of the 24-column width."""
        self.dashboard.add_widgets(cw.TextWidget(markdown=f"### {title}", width=24, height=1))
        self.dashboard.add_widgets(*widgets)

    def graph(
        self, title: str, *metrics: cw.IMetric, right: list[cw.IMetric] | None = None, width: int = 6
    ) -> cw.GraphWidget:
        return cw.GraphWidget(title=title, left=list(metrics), right=right or [], width=width, height=WIDGET_HEIGHT)
