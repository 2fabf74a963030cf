"""`MotoSnapshot`: moto's in-process state, kept and put back, so a provisioned stack can be reused.

Provisioning the stack costs ~300 AWS calls (2-3 s); a test that starts from a freshly provisioned stack can
instead start from a copy of one. moto keeps every service's state in its backends (`BackendDict` ->
account -> region -> backend object), so a snapshot is a deep copy of every backend's attributes, and restoring
it gives each live backend a fresh deep copy of them (tens of milliseconds for the whole stack). Whatever a test
created, wrote, sent or changed since (items, messages, objects, rules, queues, secrets, executions, attribute
changes) is gone; backends that did not exist then are reset.

Deep copies keep identity where it matters: a backend referred to from another backend's state stays the live
backend object (mapped to the new one if moto was restarted in between), and locks and conditions are copied as
new, unlocked ones (moto keeps a few in its models; nothing holds them while no request runs).
"""

from __future__ import annotations

import copy
import copyreg
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict

_LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}
_COPY_LOCK = threading.Lock()

BackendKey = tuple[int, str, str]  # (index of the BackendDict among those known, account, region)


@dataclass(frozen=True)
class MotoSnapshot:
    dicts: tuple[BackendDict[Any], ...]  # the BackendDicts in use when the snapshot was taken
    backends: dict[BackendKey, Any]  # the backend objects then (identity only: references are mapped to them)
    state: dict[BackendKey, dict[str, Any]]  # a deep copy of each backend's attributes

    @classmethod
    def take(cls) -> MotoSnapshot:
        dicts = tuple(BackendDict._instances)  # type: ignore[misc]
        backends = _live(dicts)
        memo = {id(backend): backend for backend in backends.values()}
        state = _deepcopy({key: backend.__dict__ for key, backend in backends.items()}, memo)
        return cls(dicts=dicts, backends=backends, state=state)

    def restore(self) -> None:
        """Every backend of the snapshot as it was; any other backend reset (an empty service)."""
        live: dict[BackendKey, Any] = {}
        for key in self.backends:
            index, account, region = key
            live[key] = self.dicts[index][account][region]  # created afresh if moto was restarted meanwhile
        memo = {id(old): live[key] for key, old in self.backends.items()}
        state = _deepcopy(self.state, memo)
        for key, backend in live.items():
            backend.__dict__ = state[key]
        known = set(map(id, self.dicts))
        for bd in list(BackendDict._instances):  # type: ignore[misc]
            for account, regional in list(bd.items()):
                for region, backend in list(regional.items()):
                    key = (self.dicts.index(bd), account, region) if id(bd) in known else None
                    if key not in live:
                        backend.reset()


def _live(dicts: tuple[BackendDict[Any], ...]) -> dict[BackendKey, Any]:
    return {
        (index, account, region): backend
        for index, bd in enumerate(dicts)
        for account, regional in list(bd.items())
        for region, backend in list(regional.items())
    }


def _deepcopy(value: Any, memo: dict[int, Any]) -> Any:
    """`copy.deepcopy` with locks and conditions copied as new ones (`copyreg` entries only for the copy's
    duration). A condition's copy gets a copy of its lock: copied field by field, it would keep the old lock's
    bound `acquire` (builtin methods are not copied) beside the new lock."""
    reducers: dict[type, Any] = {**dict.fromkeys(_LOCK_TYPES, _new_lock), threading.Condition: _new_condition}
    reducers.update(dict.fromkeys(_defaultdicts_with_own_init(), _same_defaultdict))
    with _COPY_LOCK:
        added = [t for t in reducers if t not in copyreg.dispatch_table]
        for kind in added:
            copyreg.dispatch_table[kind] = reducers[kind]
        try:
            return copy.deepcopy(value, memo)
        finally:
            for kind in added:
                del copyreg.dispatch_table[kind]


def _new_lock(lock: Any) -> tuple[Any, tuple[()]]:
    return _LOCK_TYPES[type(lock)], ()


def _defaultdicts_with_own_init() -> list[type]:
    """defaultdict subclasses whose `__init__` takes other arguments (moto's SSM `ParameterDict`): copied as
    defaultdicts they would be rebuilt by calling the class with the default factory alone."""
    found, pending = [], list(defaultdict.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "__init__" in vars(cls):
            found.append(cls)
    return found


def _same_defaultdict(value: defaultdict[Any, Any]) -> tuple[Any, ...]:
    return _rebuilt_defaultdict, (type(value), value.default_factory, vars(value)), None, None, iter(value.items())


def _rebuilt_defaultdict(cls: type, factory: Any, attributes: dict[str, Any]) -> Any:
    rebuilt = cls.__new__(cls)
    defaultdict.__init__(rebuilt, factory)
    vars(rebuilt).update(attributes)
    return rebuilt


def _new_condition(condition: threading.Condition) -> tuple[Any, tuple[Any]]:
    return threading.Condition, (condition._lock,)  # type: ignore[attr-defined]  # the lock is copied as above
