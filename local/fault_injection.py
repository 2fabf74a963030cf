"""Fault injection for the embedded runtime: AWS calls made by the functions fail, per a seeded plan.

A botocore `before-call` hook (and an `after-call` one for late timeouts) on every session created after
`install()` sees each API call once, after botocore's own retries would have been decided: what it injects is
what the function's code sees when AWS keeps failing (botocore's retries exhausted). Only calls made *inside a
function invocation* are touched: the calling thread holds the runtime's invocation lock
(`local.functions.ENVIRONMENT_LOCK`) and the environment names the function (`AWS_LAMBDA_FUNCTION_NAME`); the
test's own set-up and assertions, the SQS poller and moto's service integrations go through untouched.

Kinds of fault (`Fault`):
- `throttle`: a ClientError `ThrottlingException` (DynamoDB: `ProvisionedThroughputExceededException`), HTTP 400;
- `5xx`: a ClientError `InternalServerError` (500) or `ServiceUnavailable` (503); the request never reached AWS;
- `timeout`: botocore `ReadTimeoutError` before the request is sent (nothing happened);
- `late_timeout`: the request *is* processed, then botocore `ReadTimeoutError` (the ambiguous timeout: the
  caller cannot know that its write or publication happened, and retries it).

    injector = FaultInjector.for_runtime(rt).install()
    with injector.recording():                 # learn the call sites of a flow (no faults)
        run_the_flow()
    plan = FaultPlan.every_site(injector.sites(), seed=7, times=1)
    with injector.armed(plan):
        run_the_flow()
    injector.injected                          # Counter[(CallSite, Fault)]

The hook is process-wide (one active injector at a time) and costs a dictionary lookup per call when disarmed.
Clients created before `install()` are not covered (a runtime's functions create theirs at their first
invocation, so install before starting the runtime's work).
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from local.functions import ENVIRONMENT_LOCK

HOOK_ID = "distrosync-fault-injection"
_FAULT_MARK = "distrosync_fault"  # request context key: this call was answered by the injector


class Fault(StrEnum):
    THROTTLE = "throttle"
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    LATE_TIMEOUT = "late_timeout"


ALL_FAULTS: tuple[Fault, ...] = (Fault.THROTTLE, Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.LATE_TIMEOUT)


@dataclass(frozen=True, order=True)
class CallSite:
    """An AWS operation called by a function: `projector: dynamodb.TransactWriteItems`."""

    function: str
    service: str
    operation: str

    @property
    def call(self) -> str:
        return f"{self.service}.{self.operation}"

    def __str__(self) -> str:
        return f"{self.function}: {self.call}"


@dataclass(frozen=True)
class FaultRule:
    """Which calls fail and how: glob patterns on function key, service and operation.

    At each matching call site, calls after the first `skip` fail with `probability` (seeded), at most `times`
    times per site (None: no limit); the kind is drawn from `kinds`.
    """

    function: str = "*"
    service: str = "*"
    operation: str = "*"
    kinds: tuple[Fault, ...] = ALL_FAULTS
    times: int | None = 1
    probability: float = 1.0
    skip: int = 0

    def matches(self, site: CallSite) -> bool:
        return (
            fnmatchcase(site.function, self.function)
            and fnmatchcase(site.service, self.service)
            and fnmatchcase(site.operation, self.operation)
        )


@dataclass(frozen=True)
class FaultPlan:
    seed: int
    rules: tuple[FaultRule, ...]

    @classmethod
    def every_site(
        cls,
        sites: Iterable[CallSite],
        *,
        seed: int,
        times: int = 1,
        kinds: tuple[Fault, ...] = ALL_FAULTS,
        probability: float = 1.0,
        skip: int = 0,
    ) -> FaultPlan:
        """One rule per site, its kind drawn (seeded) so that every kind is used across the sites."""
        ordered = sorted(set(sites))
        rng = random.Random(f"{seed}:kinds")
        drawn = [kinds[i % len(kinds)] for i in range(len(ordered))]
        rng.shuffle(drawn)
        rules = tuple(
            FaultRule(
                function=s.function,
                service=s.service,
                operation=s.operation,
                kinds=(kind,),
                times=times,
                probability=probability,
                skip=skip,
            )
            for s, kind in zip(ordered, drawn, strict=True)
        )
        return cls(seed=seed, rules=rules)

    def rule_for(self, site: CallSite) -> FaultRule | None:
        return next((r for r in self.rules if r.matches(site)), None)


@dataclass
class _SiteState:
    rule: FaultRule | None
    rng: random.Random
    calls: int = 0
    injected: int = 0


@dataclass
class FaultInjector:
    """Counts the functions' AWS calls per site and, when armed, makes them fail per a `FaultPlan`."""

    function_keys: Mapping[str, str] = field(default_factory=dict)  # physical function name -> key
    calls: Counter[CallSite] = field(default_factory=Counter)
    injected: Counter[tuple[CallSite, Fault]] = field(default_factory=Counter)
    # faults injected elsewhere and reported here (partner simulators): (where, kind) -> count
    external: Counter[tuple[str, str]] = field(default_factory=Counter)
    _plan: FaultPlan | None = None
    _sites: dict[CallSite, _SiteState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_runtime(cls, rt: Any) -> FaultInjector:
        """An injector that names call sites by the runtime's function keys (`projector`, not its full name)."""
        return cls().name_functions(rt)

    def name_functions(self, rt: Any) -> FaultInjector:
        """Name call sites by `rt`'s function keys (`projector`) rather than their physical names."""
        with self._lock:
            self.function_keys = {**self.function_keys, **{spec.name: spec.key for spec in rt.functions}}
        return self

    # ------------------------------------------------------------------------------------------ lifecycle
    def install(self) -> FaultInjector:
        """Make this the process's injector (hooks registered on sessions created from now on, and the default)."""
        global _active
        _register_hooks()
        _active = self
        return self

    def uninstall(self) -> None:
        global _active
        if _active is self:
            _active = None

    @contextmanager
    def recording(self) -> Iterator[Counter[CallSite]]:
        """Count the calls of the block (no faults): yields the counter of this block's calls."""
        before = Counter(self.calls)
        self.disarm()
        seen: Counter[CallSite] = Counter()
        try:
            yield seen
        finally:
            seen.update(self.calls - before)

    def arm(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan
            self._sites = {}

    def disarm(self) -> None:
        with self._lock:
            self._plan = None
            self._sites = {}

    @contextmanager
    def armed(self, plan: FaultPlan) -> Iterator[Counter[tuple[CallSite, Fault]]]:
        """Faults per `plan` during the block: yields the counter of this block's injections."""
        before = Counter(self.injected)
        self.arm(plan)
        done: Counter[tuple[CallSite, Fault]] = Counter()
        try:
            yield done
        finally:
            self.disarm()
            done.update(self.injected - before)

    # ---------------------------------------------------------------------------------------------- report
    def count_external(self, where: str, counts: Mapping[str, int]) -> None:
        """Add faults injected outside AWS (a partner simulator's `injected()`) to the report."""
        with self._lock:
            for kind, n in counts.items():
                if n:
                    self.external[(where, kind)] += n

    def sites(self, *, services: Iterable[str] | None = None) -> list[CallSite]:
        """The call sites seen so far (optionally of some services), sorted."""
        wanted = set(services) if services is not None else None
        return sorted(s for s in self.calls if wanted is None or s.service in wanted)

    def counts(self) -> Counter[tuple[str, str]]:
        """Every injected fault, AWS and external: (where, kind) -> count."""
        with self._lock:
            total = Counter(self.external)
            for (site, kind), n in self.injected.items():
                total[(str(site), kind.value)] += n
        return total

    # ------------------------------------------------------------------------------------------ the hook
    def _site(self, model: Any) -> CallSite | None:
        """The call site of a call made inside a function invocation, else None."""
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if name is None or not ENVIRONMENT_LOCK._is_owned():  # type: ignore[attr-defined]
            return None
        service = model.service_model.service_name
        return CallSite(self.function_keys.get(name, name), service, model.name)

    def _decide(self, site: CallSite) -> tuple[Fault, int] | None:
        """The fault for this call (and how many the site has had, this one included), or None."""
        with self._lock:
            self.calls[site] += 1
            plan = self._plan
            if plan is None:
                return None
            state = self._sites.get(site)
            if state is None:
                state = _SiteState(plan.rule_for(site), random.Random(f"{plan.seed}:{site}"))
                self._sites[site] = state
            state.calls += 1
            rule = state.rule
            if rule is None or state.calls <= rule.skip:
                return None
            if rule.times is not None and state.injected >= rule.times:
                return None
            if rule.probability < 1.0 and state.rng.random() >= rule.probability:
                return None
            kind = rule.kinds[0] if len(rule.kinds) == 1 else state.rng.choice(rule.kinds)
            state.injected += 1
            self.injected[(site, kind)] += 1
            return kind, state.injected


def summary(counts: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """JSON-ready report of (where, kind) -> count: the total, per kind and per call site."""
    by_kind: Counter[str] = Counter()
    by_site: dict[str, dict[str, int]] = {}
    for (where, kind), n in sorted(counts.items()):
        by_kind[kind] += n
        by_site.setdefault(where, {})[kind] = n
    return {"injected": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items())), "by_site": by_site}


_active: FaultInjector | None = None
_registered = False
_register_lock = threading.Lock()


def active() -> FaultInjector | None:
    return _active


def _before_call(model: Any, context: dict[str, Any], **_: Any) -> Any:
    injector = _active
    if injector is None:
        return None
    site = injector._site(model)
    if site is None:
        return None
    decided = injector._decide(site)
    if decided is None:
        return None
    kind, nth = decided
    if kind is Fault.LATE_TIMEOUT:
        context[_FAULT_MARK] = kind  # the call goes through; `_after_call` loses its answer
        return None
    if kind is Fault.TIMEOUT:
        raise _read_timeout(site)
    return _error_response(site, kind, nth)


def _after_call(context: dict[str, Any], http_response: Any, **_: Any) -> None:
    if context.get(_FAULT_MARK) is Fault.LATE_TIMEOUT:
        del context[_FAULT_MARK]
        raise _read_timeout(None)


def _read_timeout(site: CallSite | None) -> Exception:
    from botocore.exceptions import ReadTimeoutError

    return ReadTimeoutError(endpoint_url=f"https://{site.service if site else 'aws'}.fault-injection.local/")


def _error_response(site: CallSite, kind: Fault, nth: int) -> tuple[Any, dict[str, Any]]:
    """What botocore would have parsed from AWS's error answer: the client raises the matching ClientError.
    The `nth` injection at a site alternates between the codes of its kind."""
    from botocore.awsrequest import AWSResponse

    if kind is Fault.THROTTLE:
        status = 400
        dynamodb = site.service == "dynamodb" and nth % 2
        code = "ProvisionedThroughputExceededException" if dynamodb else "ThrottlingException"
        message = "Rate exceeded (injected)"
    else:
        status = 500 if nth % 2 else 503
        code = "InternalServerError" if status == 500 else "ServiceUnavailable"
        message = "We encountered an internal error. Please try again. (injected)"
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RequestId": "fault-injection"},
    }
    return AWSResponse(f"https://{site.service}.fault-injection.local/", status, {}, None), parsed


def _register_hooks() -> None:
    """Add the hooks to botocore's built-in handlers (every session created later copies them) and to boto3's
    current default session."""
    global _registered
    with _register_lock:
        if _registered:
            return
        import boto3
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.append(("before-call", _before_call))
        BUILTIN_HANDLERS.append(("after-call", _after_call))
        if boto3.DEFAULT_SESSION is not None:
            core = boto3.DEFAULT_SESSION._session
            core.register("before-call", _before_call, unique_id=HOOK_ID + "-before")
            core.register("after-call", _after_call, unique_id=HOOK_ID + "-after")
        _registered = True
