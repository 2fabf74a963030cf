"""The EDI gateway (docs/edi.md, "Gateway"; ADR 0015): the EDI bucket and table, and the functions around them.

partner / VAN --SFTP (Transfer Family, optional)--> s3://<EDI bucket>/inbound/<partner>/...
partner / VAN --POST /v1/edi/inbound--> ingress --PutObject--> s3://<EDI bucket>/inbound/<partner>/...
S3 Object Created (default bus) --rule(bucket, inbound/)--> queue --> edi_inbound --> the API's services
bus (purchase_order.created, order.released) --> queue --> edi_outbound --> s3://<EDI bucket>/outbound/<partner>/...
schedule (default bus, every 15 minutes) --> edi_ack_overdue --> edi.ack_overdue

`edi_inbound` is the ingress's twin (`ApiHandlers`): it gets every environment variable and permission the ingress
gets for its services, plus its own (read inbound/, write 997s to outbound/, the EDI table).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_transfer as transfer
from constructs import Construct

from infra import nag
from infra.api import PartnerApi
from infra.buckets import private_bucket
from infra.flow import EventFlow
from infra.functions import ApiHandlers, ServiceFunction
from infra.platform import Platform
from infra.schedule import ScheduledSweep, grant_due_index_sweeper
from infra.tables import data_table
from shared.aws.edi_files import INBOUND_PREFIX, OUTBOUND_PREFIX
from shared.aws.edi_store import ACK_DUE_INDEX
from shared.canonical.fulfillment import OrderReleased
from shared.canonical.purchasing import PurchaseOrderCreated

INBOUND_PATH = "/v1/edi/inbound"
OUTBOUND_EVENTS = [PurchaseOrderCreated.event_type, OrderReleased.event_type]
# Files (and the claims on their interchanges, shared/aws/edi_store.py) outlive any resend window and a partner's
# disputes ("we never got PO 123"); overwritten or deleted versions are kept 30 days for recovery.
FILE_RETENTION = cdk.Duration.days(400)
NONCURRENT_VERSION_RETENTION = cdk.Duration.days(30)
ABORT_INCOMPLETE_UPLOADS = cdk.Duration.days(7)
# One object per invocation: files range from a few hundred bytes to 20 MB, so one slow file never holds up (or
# times out) others; messages of different objects run in parallel invocations.
INBOUND_TIMEOUT_SECONDS = 120
INBOUND_MEMORY_MB = 1024  # a 20 MB interchange read into segments, and more CPU with it
INBOUND_BATCH_SIZE = 1
SWEEP_EVERY = cdk.Duration.minutes(15)
SWEEP_MAX_EVENT_AGE = cdk.Duration.minutes(30)  # a sweep that could not run by then is dropped: the next one does it
SWEEP_RETRY_ATTEMPTS = 2
SFTP_SECURITY_POLICY = "TransferSecurityPolicy-2025-03"
# S3 publishes to the account's default bus, never to a custom one.
DEFAULT_BUS_NAME = "default"


class Edi(Construct):
    """Bucket (+ its access-log bucket), table with `by-ack-due`, `edi_inbound`, `edi_outbound`, `edi_ack_overdue`
    and, when `config.edi_sftp`, the SFTP server. `serve(api, handlers)` wires the ingress side once the ingress
    (with `inbound` as its twin) exists."""

    def __init__(self, scope: Construct, id: str, *, platform: Platform, partners: dynamodb.Table) -> None:
        super().__init__(scope, id)
        config, key, observability = platform.config, platform.key, platform.observability
        self._platform = platform

        # --------------------------------------------------------------------------------------- storage
        self.bucket, self.access_logs = private_bucket(
            self,
            config=config,
            key=key,
            what="EDI bucket",
            log_prefix="edi-bucket/",
            log_retention=FILE_RETENTION,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="NoncurrentVersions",
                    noncurrent_version_expiration=NONCURRENT_VERSION_RETENTION,
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS,
                ),
                s3.LifecycleRule(id="InboundFiles", prefix=INBOUND_PREFIX, expiration=FILE_RETENTION),
                s3.LifecycleRule(id="OutboundFiles", prefix=OUTBOUND_PREFIX, expiration=FILE_RETENTION),
            ],
        )
        # Object Created events to EventBridge. The L1 property, not the L2's `event_bridge_enabled`, which adds a
        # custom resource (a Lambda function) to set the bucket's notification configuration.
        cfn_bucket: s3.CfnBucket = self.bucket.node.default_child  # type: ignore[assignment]
        cfn_bucket.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

        self.table = data_table(
            self,
            "Table",
            config=config,
            key=key,
            name="edi",
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="expires_at",
        )
        self.table.add_global_secondary_index(
            index_name=ACK_DUE_INDEX,
            partition_key=dynamodb.Attribute(name="ack_queue", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="ack_due_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        storage_env = {"EDI_BUCKET_NAME": self.bucket.bucket_name, "EDI_TABLE_NAME": self.table.table_name}

        # ------------------------------------------------------------------------------------ inbound
        self.inbound = ServiceFunction(
            self,
            "Inbound",
            name="edi_inbound",
            description="Reads X12 files dropped under inbound/, answers 997/TA1, hands each set to its service",
            platform=platform,
            timeout_seconds=INBOUND_TIMEOUT_SECONDS,
            memory_mb=INBOUND_MEMORY_MB,
            environment=storage_env,
        )
        self._allow_objects(self.inbound, "s3:GetObject", INBOUND_PREFIX, "reads the files partners drop")
        self._allow_objects(self.inbound, "s3:PutObject", OUTBOUND_PREFIX, "writes the 997s and TA1s it answers")
        # Without ListBucket, S3 answers 403 instead of 404 for an object deleted since its event: the function
        # could not tell a missing file (refused for good) from a permission error (retried).
        self.inbound.function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        self.inbound.grant_table(self.table, write=True)  # interchange claims, sequences, 997s received
        key.grant(self.inbound.function, "kms:Decrypt", "kms:GenerateDataKey")  # SSE-KMS objects, both ways
        self.inbound_flow = EventFlow(
            self,
            "InboundFlow",
            platform=platform,
            handler=self.inbound,
            event_pattern=self.inbound_pattern(),
            bus=events.EventBus.from_event_bus_name(self, "DefaultBus", DEFAULT_BUS_NAME),
            label=f"S3 Object Created under {INBOUND_PREFIX}",
            batch_size=INBOUND_BATCH_SIZE,
        )

        # ----------------------------------------------------------------------------------- outbound
        self.outbound = ServiceFunction(
            self,
            "Outbound",
            name="edi_outbound",
            description="Writes 850s to supplier partners and 940s to warehouse partners under outbound/",
            platform=platform,
            environment={
                **storage_env,
                "PARTNERS_TABLE_NAME": partners.table_name,
                "EVENT_BUS_NAME": platform.bus.event_bus_name,
            },
        )
        self.outbound.grant_table(partners)  # trading partner profiles and scopes
        self.outbound.grant_table(self.table, write=True)  # sequences, documents sent, groups awaiting their 997
        self._allow_objects(self.outbound, "s3:PutObject", OUTBOUND_PREFIX, "writes the 850s and 940s it sends")
        self._allow_objects(
            self.outbound, "s3:DeleteObject", OUTBOUND_PREFIX, "removes a file whose record lost to a concurrent copy"
        )
        key.grant(self.outbound.function, "kms:Decrypt", "kms:GenerateDataKey")
        self.outbound_flow = EventFlow(
            self, "OutboundFlow", platform=platform, event_types=OUTBOUND_EVENTS, handler=self.outbound
        )

        # ------------------------------------------------------------------------------ 997s overdue
        self.ack_overdue = ServiceFunction(
            self,
            "AckOverdue",
            name="edi_ack_overdue",
            description="Raises edi.ack_overdue for groups sent whose 997 did not come in time, every 15 minutes",
            platform=platform,
            environment={"EDI_TABLE_NAME": self.table.table_name, "EVENT_BUS_NAME": platform.bus.event_bus_name},
        )
        grant_due_index_sweeper(self.ack_overdue, self.table, platform, index="997-due")
        self.sweep = ScheduledSweep(
            self,
            "Sweep",
            platform=platform,
            function=self.ack_overdue,
            every=SWEEP_EVERY,
            description="Every 15 minutes: raise edi.ack_overdue for groups whose 997 is overdue",
            max_event_age=SWEEP_MAX_EVENT_AGE,
            retry_attempts=SWEEP_RETRY_ATTEMPTS,
            alarm_description="scheduled sweeps failed; overdue 997s may go unreported",
        )

        self.sftp = EdiSftp(self, "Sftp", platform=platform, bucket=self.bucket) if config.edi_sftp else None

        period = observability.period
        observability.add_row(
            "EDI",
            observability.graph(
                "997-due sweeper errors / duration p90",
                self.ack_overdue.function.metric_errors(period=period, statistic="Sum"),
                right=[self.ack_overdue.function.metric_duration(period=period, statistic="p90")],
            ),
            observability.graph("997-due schedule DLQ", self.sweep.dlq_depth),
            observability.graph(
                "EDI table throttled requests",
                self.table.metric_throttled_requests_for_operations(
                    operations=[dynamodb.Operation.PUT_ITEM, dynamodb.Operation.UPDATE_ITEM],
                    period=period,
                    statistic="Sum",
                ),
            ),
        )

    def inbound_pattern(self) -> events.EventPattern:
        """S3's `Object Created` for this bucket's keys under inbound/ (the bucket's EventBridge notifications)."""
        return events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={
                "bucket": {"name": [self.bucket.bucket_name]},
                "object": {"key": events.Match.prefix(INBOUND_PREFIX)},
            },
        )

    def serve(self, api: PartnerApi, handlers: ApiHandlers) -> None:
        """The ingress side: the bucket and table names for the ingress and its twins, PutObject under inbound/ for
        the ingress (`POST /v1/edi/inbound` stores the body there), and the route."""
        for name, value in (("EDI_BUCKET_NAME", self.bucket.bucket_name), ("EDI_TABLE_NAME", self.table.table_name)):
            handlers.add_environment(name, value)
        self._allow_objects(handlers.primary, "s3:PutObject", INBOUND_PREFIX, "stores the bodies partners POST")
        self._platform.key.grant(handlers.primary.function, "kms:GenerateDataKey")
        self.inbound_route = api.add_route("POST", INBOUND_PATH, handlers.function)

    def _allow_objects(self, handler: ServiceFunction, action: str, prefix: str, why: str) -> None:
        handler.function.add_to_role_policy(
            iam.PolicyStatement(actions=[action], resources=[self.bucket.arn_for_objects(f"{prefix}*")])
        )
        nag.acknowledge(
            handler.role,
            f"AwsSolutions-IAM5[Resource::<{_logical_id(self.bucket)}.Arn>/{prefix}*]",
            f"{handler.name} {why}: one object per partner file under {prefix}<partner>/, whose names are not "
            "known at deploy time; the grant spans that prefix of this one bucket.",
        )


class EdiSftp(Construct):
    """An AWS Transfer Family SFTP server on the EDI bucket, with service-managed users (created per partner, with
    logical home directories /inbound -> inbound/<partner>/ and /outbound -> outbound/<partner>/) and the role
    Transfer assumes for them."""

    def __init__(self, scope: Construct, id: str, *, platform: Platform, bucket: s3.Bucket) -> None:
        super().__init__(scope, id)
        config, key = platform.config, platform.key
        stack = cdk.Stack.of(self)
        # Structured (JSON) logs to our own encrypted log group with the environment's retention, rather than the
        # legacy logging role, whose log group Transfer creates itself (unencrypted, kept forever).
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/transfer/{config.prefix}-edi-sftp",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
            encryption_key=key,
        )
        self.server = transfer.CfnServer(
            self,
            "Server",
            domain="S3",
            endpoint_type="PUBLIC",
            identity_provider_type="SERVICE_MANAGED",
            protocols=["SFTP"],
            security_policy_name=SFTP_SECURITY_POLICY,
            structured_log_destinations=[self.log_group.log_group_arn],
            tags=[cdk.CfnTag(key="Name", value=f"{config.prefix}-edi-sftp")],
        )
        self.server_id = self.server.attr_server_id

        self.user_role = iam.Role(
            self,
            "UserRole",
            assumed_by=iam.ServicePrincipal(
                "transfer.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="transfer", resource="user", resource_name=f"{self.server_id}/*"
                        )
                    },
                },
            ),
            description=f"{config.prefix}: EDI partners' SFTP sessions (drop under inbound/, pick up from outbound/)",
        )
        statements = [
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{INBOUND_PREFIX}*")]),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:DeleteObject"], resources=[bucket.arn_for_objects(f"{OUTBOUND_PREFIX}*")]
            ),
            # Listing (ls, and the stat SFTP clients do) only under the two prefixes.
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{INBOUND_PREFIX}*", f"{OUTBOUND_PREFIX}*"]}},
            ),
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
        ]
        for statement in statements:
            self.user_role.add_to_policy(statement)
        for prefix in (INBOUND_PREFIX, OUTBOUND_PREFIX):
            nag.acknowledge(
                self.user_role,
                f"AwsSolutions-IAM5[Resource::<{_logical_id(bucket)}.Arn>/{prefix}*]",
                f"Partners' SFTP files live under {prefix}<partner>/ with names chosen at run time; each user's "
                "logical home directory narrows the session to its own partner folder.",
            )


def _logical_id(construct: s3.Bucket | dynamodb.Table) -> str:
    stack = cdk.Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))  # type: ignore[arg-type]
