"""API keys, usage-plan throttling and quotas, as API Gateway enforces them before the integration.

Keys live in moto's API Gateway: the stack's own and those the CLI creates at run time (create_api_key +
create_usage_plan_key). A key is valid for a method with `ApiKeyRequired` when it exists, is enabled and
belongs to a usage plan bound to this API and stage. Every request re-reads its key (`get_api_key`), so a
deleted or disabled key stops working at once; plan membership is cached briefly and re-read on a miss.

Throttling is a token bucket per key (capacity = burst limit, refilled at the rate limit per second), using
the plan's per-method override (`ApiStages[].Throttle["/path/METHOD"]`) when there is one. The stage's own
method settings (ThrottlingRateLimit/BurstLimit) add a bucket per method shared by all callers. Quotas count
the requests a key made in the current UTC day, ISO week or month (the quota's offset is not modelled).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from local.aws_clients import AwsClients

Clock = Callable[[], float]


@dataclass(frozen=True)
class Throttle:
    rate: float
    burst: int

    @classmethod
    def parse(cls, settings: Mapping[str, Any] | None) -> Throttle | None:
        if not settings:
            return None
        rate, burst = float(settings.get("rateLimit", 0)), int(settings.get("burstLimit", 0))
        return cls(rate, burst) if rate or burst else None


@dataclass(frozen=True)
class UsagePlan:
    id: str
    throttle: Throttle | None
    method_throttles: Mapping[str, Throttle]
    quota_limit: int | None
    quota_period: str | None

    @classmethod
    def parse(cls, plan: Mapping[str, Any], api_id: str, stage: str) -> UsagePlan:
        overrides: dict[str, Throttle] = {}
        for api_stage in plan.get("apiStages", []):
            if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                for path, settings in (api_stage.get("throttle") or {}).items():
                    if throttle := Throttle.parse(settings):
                        overrides[path] = throttle
        quota = plan.get("quota") or {}
        return cls(
            id=plan["id"],
            throttle=Throttle.parse(plan.get("throttle")),
            method_throttles=overrides,
            quota_limit=int(quota["limit"]) if "limit" in quota else None,
            quota_period=quota.get("period"),
        )


@dataclass(frozen=True)
class Verdict:
    """None `refusal` means the request may proceed; else the gateway response type to answer with."""

    refusal: str | None
    key_id: str | None = None
    key_value: str | None = None


class TokenBucket:
    def __init__(self, throttle: Throttle, now: float) -> None:
        self.throttle = throttle
        self.tokens = float(throttle.burst)
        self.updated = now

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.throttle.burst), self.tokens + (now - self.updated) * self.throttle.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class UsagePlanGate:
    """Decides whether a request passes API key, throttling and quota checks for one API stage."""

    def __init__(
        self,
        clients: AwsClients,
        api_id: str,
        stage: str,
        *,
        stage_throttles: Mapping[str, Throttle] | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        membership_ttl: float = 1.0,
    ) -> None:
        self._clients = clients
        self.api_id = api_id
        self.stage = stage
        self._stage_throttles = dict(stage_throttles or {})
        self._clock = clock
        self._wall_clock = wall_clock
        self._membership_ttl = membership_ttl
        self._lock = threading.Lock()
        self._key_ids: dict[str, str] = {}  # key value -> key id
        self._plan_of_key: dict[str, UsagePlan] = {}  # key id -> the plan binding it to this stage
        self._loaded_at = float("-inf")
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self._quota_used: dict[tuple[str, str, str], int] = {}

    def check(self, key_value: str | None, *, key_required: bool, resource_path: str, http_method: str) -> Verdict:
        with self._lock:
            now = self._clock()
            route = f"{resource_path}/{http_method}"
            if not key_required:
                return Verdict(None if self._stage_allows(route, now) else "THROTTLED")
            if not key_value:
                return Verdict("INVALID_API_KEY")
            key_id = self._valid_key_id(key_value)
            if key_id is None:
                return Verdict("INVALID_API_KEY")
            plan = self._plan_of_key[key_id]
            throttle = plan.method_throttles.get(route) or plan.throttle
            if throttle is not None and not self._bucket(("plan", plan.id, key_id, route), throttle, now).take(now):
                return Verdict("THROTTLED", key_id, key_value)
            if not self._stage_allows(route, now):
                return Verdict("THROTTLED", key_id, key_value)
            if plan.quota_limit is not None and plan.quota_period:
                window = (plan.id, key_id, _quota_window(plan.quota_period, self._wall_clock()))
                if self._quota_used.get(window, 0) >= plan.quota_limit:
                    return Verdict("QUOTA_EXCEEDED", key_id, key_value)
                self._quota_used[window] = self._quota_used.get(window, 0) + 1
            return Verdict(None, key_id, key_value)

    # -- keys
    def _valid_key_id(self, value: str) -> str | None:
        key_id = self._key_ids.get(value)
        if key_id is None or self._clock() - self._loaded_at > self._membership_ttl:
            self._load_keys()
            key_id = self._key_ids.get(value)
        if key_id is None or key_id not in self._plan_of_key:
            return None
        try:
            key = self._clients("apigateway").get_api_key(apiKey=key_id, includeValue=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            self._key_ids.pop(value, None)
            return None
        return key_id if key.get("enabled") and key.get("value") == value else None

    def _load_keys(self) -> None:
        apigw = self._clients("apigateway")
        self._key_ids = {
            item["value"]: item["id"]
            for page in apigw.get_paginator("get_api_keys").paginate(includeValues=True)
            for item in page.get("items", [])
            if "value" in item
        }
        self._plan_of_key = {}
        for page in apigw.get_paginator("get_usage_plans").paginate():
            for raw in page.get("items", []):
                plan = UsagePlan.parse(raw, self.api_id, self.stage)
                bound = any(s.get("apiId") == self.api_id and s.get("stage") == self.stage for s in raw["apiStages"])
                if not bound:
                    continue
                for key_page in apigw.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan.id):
                    for key in key_page.get("items", []):
                        self._plan_of_key.setdefault(key["id"], plan)
        self._loaded_at = self._clock()

    # -- throttling
    def _stage_allows(self, route: str, now: float) -> bool:
        throttle = self._stage_throttles.get(route) or self._stage_throttles.get("/*/*")
        if throttle is None:
            return True
        return self._bucket(("stage", route), throttle, now).take(now)

    def _bucket(self, key: tuple[str, ...], throttle: Throttle, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.throttle != throttle:
            bucket = self._buckets[key] = TokenBucket(throttle, now)
        return bucket


def _quota_window(period: str, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    if period == "DAY":
        return moment.strftime("%Y-%m-%d")
    if period == "WEEK":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m")
