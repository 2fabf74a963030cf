"""moto's archive replay, made to honour what StartReplay asks (as EventBridge does).

moto 5.2's `Replay.replay_events` sends every archived event, whatever its time, to every rule of the bus: the
window (`EventStartTime`..`EventEndTime`) and `Destination.FilterArns` are ignored, so `distrosync replay --type`
would re-deliver everything to everyone locally. Here an archived event is replayed when its `time` lies in the
window, to the rules named in `FilterArns` (every rule of the bus when there are none), marked `replay-name`
with a new id, as EventBridge does; the archive's own rule does not archive it again (its pattern excludes
`replay-name`). Like moto's, the replay completes before StartReplay answers.

`apply()` is idempotent; the runtime applies it with the other moto fixes (`local/moto_fixes.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moto.events import models as events_models
from moto.moto_api._internal import mock_random as random

_applied = False


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


def _replay_events(self: Any, archive: Any) -> None:
    backend = events_models.events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
    start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
    only = set(self.destination.get("FilterArns") or [])
    rules = [rule for rule in bus.rules.values() if not only or rule.arn in only]
    for event in list(archive.events):
        if not start <= _epoch(event.get("time", 0)) <= end:
            continue
        replayed = dict(event, id=str(random.uuid4()), **{"replay-name": self.name})
        for rule in rules:
            rule.send_to_targets(dict(replayed), transform_input=False)
    self.state = events_models.ReplayState.COMPLETED
    self.end_time = events_models.unix_time()


def apply() -> None:
    global _applied
    if _applied:
        return
    events_models.Replay.replay_events = _replay_events  # type: ignore[method-assign]
    _applied = True
