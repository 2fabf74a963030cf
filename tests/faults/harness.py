"""What every fault scenario needs: a partner that retries like a real one, the dead letters, the plan.

- `RetryingPartner(client)`: a partner's API client that sends each request with its own Idempotency-Key and
  sends it again, same key, while the API answers 5xx or 429 (what a partner does when distrosync has a bad moment);
- `dead_letters(rt)`: every message in the stack's DLQs, with its story (`distrosync-dead-letter`), left there;
- `faulted(injector, sites, seed)`: faults at every site during the block (one each, kinds spread over the sites).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cli.client import PartnerClient, Reply
from local.fault_injection import CallSite, Fault, FaultInjector, FaultPlan, FaultRule, active

STORY_ATTRIBUTE = "distrosync-dead-letter"
PERMANENT = {"validation", "missing_reference"}
RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class RetryingPartner:
    """A partner's client that sends a request again, same Idempotency-Key, while the answer is transient (5xx,
    429, or 409 "in progress": the first attempt's record is not settled yet), after the answer's Retry-After
    (else `pause` seconds), for at most `patience` seconds."""

    client: PartnerClient
    patience: float = 20.0
    pause: float = 0.05
    retried: int = 0

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        headers = {"Idempotency-Key": f"retry-{uuid.uuid4().hex}", **kwargs.pop("headers", {})}
        deadline = time.monotonic() + self.patience
        reply = self.client.request(method, path, headers=headers, **kwargs)
        while (reply.status in RETRYABLE or _in_progress(reply)) and time.monotonic() < deadline:
            time.sleep(min(float(reply.header("Retry-After") or self.pause), 2.0))
            self.retried += 1
            reply = self.client.request(method, path, headers=headers, **kwargs)
        return reply

    def post(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("PUT", path, json_body=body, **kwargs)

    def get(self, path: str, query: dict[str, str] | None = None, **kwargs: Any) -> Reply:
        return self.request("GET", path, query=query, **kwargs)


def _in_progress(reply: Reply) -> bool:
    """409 for a request with the same key still in progress: a real partner tries again a little later."""
    return reply.status == 409 and b"idempotency-in-progress" in reply.body


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    body: str
    story: dict[str, Any] | None
    receive_count: int

    @property
    def event(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body)
        except ValueError:
            return {}
        return body.get("detail", body) if isinstance(body, dict) else {}


def dead_letters(rt: Any) -> list[DeadLetter]:
    """Every message in the stack's DLQs (made visible again at once: they stay in their DLQ)."""
    sqs = rt.clients("sqs")
    found: list[DeadLetter] = []
    for queue in rt.queues():
        if not queue.is_dlq or not (queue.depth + queue.in_flight + queue.delayed):
            continue
        seen: set[str] = set()
        handles: list[str] = []
        while batch := sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", []):
            for message in batch:
                if message["MessageId"] in seen:
                    continue
                seen.add(message["MessageId"])
                handles.append(message["ReceiptHandle"])
                story = message.get("MessageAttributes", {}).get(STORY_ATTRIBUTE, {}).get("StringValue")
                found.append(
                    DeadLetter(
                        queue.name,
                        message["Body"],
                        json.loads(story) if story else None,
                        int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                    )
                )
        for handle in handles:
            sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def assert_permanent_failures_told(letters: list[DeadLetter]) -> None:
    """Every dead letter carries its story, and only permanent failures were dead-lettered (transient ones
    retried until they went through: nothing a retry could fix is left in a DLQ)."""
    for letter in letters:
        assert letter.story is not None, f"{letter.queue}: dead letter without its story: {letter.body[:300]}"
        assert letter.story.get("error"), letter.story
        assert letter.story.get("error_class") in PERMANENT, (
            f"{letter.queue}: a transient failure was dead-lettered: {letter.story}"
        )


@dataclass
class Faults:
    """The faults of one scenario: the plan and what was injected during the block."""

    plan: FaultPlan
    injected: dict[tuple[CallSite, Fault], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def sites(self) -> set[CallSite]:
        return {site for site, _ in self.injected}


def record_partner_faults(partner: str, simulator: Any) -> None:
    """Put what a partner simulator injected (`injected()`) into the suite's report."""
    injector = active()
    assert injector is not None
    injector.count_external(f"partner {partner}", simulator.injected())


# Calls a fault-free run never makes: the consumer's own (a retry's visibility, a dead letter, a partner wait's
# re-send) happen only once something failed. One fault at each such site of each function.
FAILURE_PATH_RULES = (
    FaultRule(service="sqs", operation="ChangeMessageVisibilityBatch", kinds=(Fault.SERVER_ERROR,)),
    FaultRule(service="sqs", operation="SendMessageBatch", kinds=(Fault.TIMEOUT,)),
    FaultRule(service="sqs", operation="SendMessage", kinds=(Fault.THROTTLE,)),
)


@contextmanager
def faulted(injector: FaultInjector, sites: list[CallSite], *, seed: int, times: int = 1) -> Iterator[Faults]:
    """Faults at each of `sites` (`times` each, kinds spread over the sites, seeded), and once at each
    failure-path call site, during the block."""
    assert sites, "no call sites recorded: is the injector installed before the runtime's functions ran?"
    plan = FaultPlan.every_site(sites, seed=seed, times=times)
    faults = Faults(FaultPlan(plan.seed, plan.rules + FAILURE_PATH_RULES))
    with injector.armed(faults.plan) as injected:
        yield faults
    faults.injected = dict(injected)


VOLATILE = ("_at", "as_of", "event_id", "request_id", "correlation_id", "etag", "modified", "creation")


def normalized(value: Any, renames: dict[str, str] | None = None) -> Any:
    """`value` without what differs between two runs of the same flow (timestamps, generated ids), and with the
    business keys of one run renamed to the other's (`renames`), so that two end states compare equal."""
    renames = renames or {}
    if isinstance(value, dict):
        return {
            renames.get(k, k): normalized(v, renames)
            for k, v in value.items()
            if not (isinstance(k, str) and k.endswith(VOLATILE))
        }
    if isinstance(value, list | tuple):
        return [normalized(v, renames) for v in value]
    if isinstance(value, str):
        for old, new in renames.items():
            value = value.replace(old, new)
        return value
    return value


def assert_same_end_state(got: Any, expected: Any) -> None:
    """`got == expected`, failing with the paths where they differ (the end states are large)."""
    diffs = list(_differences(got, expected, "$"))
    assert not diffs, "end state differs from the fault-free run's:\n" + "\n".join(diffs[:20])


def _differences(got: Any, expected: Any, path: str) -> Iterator[str]:
    if isinstance(got, dict) and isinstance(expected, dict):
        for key in sorted(set(got) | set(expected), key=str):
            if key not in got or key not in expected:
                yield f"{path}.{key}: {'missing' if key not in got else 'extra'} ({got.get(key, expected.get(key))!r})"
            else:
                yield from _differences(got[key], expected[key], f"{path}.{key}")
    elif isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            yield from _differences(g, e, f"{path}[{i}]")
    elif got != expected:
        yield f"{path}: {got!r} != {expected!r} (fault-free)"


def site_groups(sites: list[CallSite], per_function: int = 3) -> list[list[CallSite]]:
    """`sites` in groups holding at most `per_function` sites of each function, for flows where one message meets
    every site of its function: each faulted site costs the message one of its queue's receives (maxReceiveCount
    5), so a group leaves it at least one clean attempt."""
    by_function: dict[str, list[CallSite]] = {}
    for site in sorted(sites):
        by_function.setdefault(site.function, []).append(site)
    rounds = max((len(s) + per_function - 1) // per_function for s in by_function.values()) if by_function else 0
    return [
        [site for own in by_function.values() for site in own[i * per_function : (i + 1) * per_function]]
        for i in range(rounds)
    ]
