"""Corrections to moto where it differs from AWS in ways handlers would notice, and one speed-up.

1. Events delivered to targets lack the `account` field (moto's default input template omits it), so
   consumers that validate the EventBridge envelope (Powertools' `EventBridgeModel` requires `account`)
   would fail locally only. The template below is AWS's envelope, field for field.
2. Rules in state DISABLED still deliver. AWS does not.
3. moto parses the same eight JSONPath expressions again for every target of every event (~0.8 ms each,
   most of a PutEvents call); parsed expressions are immutable, so `jsonpath_ng.ext.parse` is memoized.
4. DynamoDB makes every conditional write and every transaction atomic: a condition is evaluated and the
   write applied with nothing in between, and no reader sees half a transaction. moto's DynamoDB backend takes
   no lock: two threads (server mode serves requests on threads; tests run services on threads) can both pass
   `available >= :q` and both subtract, and moto's `transact_write_items` applies items one by one and rolls
   back by swapping in deep copies of whole tables, under the feet of a concurrent reader. Every DynamoDB
   data-plane request (reads too) and every mutating backend operation therefore runs under one process-wide
   re-entrant lock: requests are serialized, as if DynamoDB were a single partition. That is stricter than
   AWS, never weaker, and cheap at local request rates.
5. To be able to roll back, moto's `transact_write_items` deep-copies every table the transaction touches,
   all items, before it starts: with a few hundred inventory positions that is seconds per transaction, and
   it grows with the table. Under the lock of 4, copying only the items the transaction names is enough:
   moto's copy of a table is replaced by a snapshot of those items, which is put back if moto rolls back.

6. moto's Lambda runs functions in Docker, and the runtime does not create its functions on moto at all (they
   run in-process, `local.functions`). `LambdaBackend.invoke` is where every Invoke request reaches moto's
   Lambda (the API, Step Functions' `arn:aws:states:::lambda:invoke` and plain Lambda ARN tasks): a function of
   a runtime registered with `route_lambda_invocations` is run by that runtime's `FunctionHost.invoke` with
   the request's payload; its result is the response payload, and a raised error sets `X-Amz-Function-Error:
   Unhandled` with Lambda's error document, so Step Functions sees the task fail with the `errorType` as the
   error name (what Retry and Catch match). Other names go on to moto. `Event` invocations run synchronously
   (and answer 202); the qualifier is ignored (every function is `$LATEST` locally).

7. moto's StopExecution marks an execution stopped but leaves a task waiting for its token waiting (until its
   timeout, in a thread): Step Functions ends the wait. `Execution.stop` also interrupts the execution's callback
   endpoints, so a stopped execution ends at once — and the runtime can stop every running execution when it
   stops (`stop_running_executions`), leaving no thread behind. The interrupted wait then fails its task, and
   moto's `Environment.set_error` would turn the stopped program into a failed one: a stopped program stays
   stopped (ABORTED), as in Step Functions, where nothing runs after StopExecution.

8. moto parses a state machine's whole definition (an ANTLR parser, ~0.5 s for the order-to-ship machine) to
   validate it at every CreateStateMachine: every runtime start, so a fifth of it. A definition that passed once
   passes again, so validation is remembered per process by the definition's text (a new text is still parsed).

9. A task waiting for its token with a heartbeat (`HeartbeatSeconds[Path]`) misses an answer that came before the
   wait began: moto sets up the heartbeat's event only after the task's Lambda returned, and waits on that event
   alone, so a SendTaskSuccess sent during the invocation (a step answering its own token, or a partner quick
   enough to call back before the Lambda returned) is seen only when the heartbeat times out, which fails the
   task. Step Functions accepts a token as soon as the task has started. A heartbeat event set up after the
   answer starts set, so the wait ends at once with that answer.

Applied once per process by the runtime (`apply()` is idempotent); 1, 2, 4, 5, 6, 7 and 9 are verified by
tests/local.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import jsonpath_ng.ext
from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import LambdaClientError
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.events import models as events_models
from moto.events import utils as events_utils

if TYPE_CHECKING:
    from local.functions import FunctionHost

AWS_EVENT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}'
)

# The backend's mutating operations (what other moto services and the request handlers below call).
DYNAMODB_BACKEND_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
# Whole requests of the data plane: a request reads before it writes (ReturnValues, batch validation), and a
# read must not interleave with a transaction's writes or its rollback.
DYNAMODB_REQUESTS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "batch_get_item",
    "batch_write_item",
    "query",
    "scan",
    "transact_get_items",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
    "execute_transaction",
)
DYNAMODB_LOCK = threading.RLock()

_applied = False


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run_locked(*args: Any, **kwargs: Any) -> Any:
        with DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return run_locked


ItemKey = tuple[DynamoType, DynamoType | None]


class _TableSnapshot:
    """What a transaction keeps of a table to roll back: copies of the items it names (None: absent)."""

    def __init__(self, table: Any, keys: Iterable[ItemKey]) -> None:
        self.table = table
        self.items = {key: copy.deepcopy(table.get_item(*key)) for key in keys}

    def restore(self) -> None:
        stored = self.table.items
        for (hash_key, range_key), item in self.items.items():
            if range_key is None:
                if item is None:
                    stored.pop(hash_key, None)
                else:
                    stored[hash_key] = item
                continue
            group = stored[hash_key]
            if item is None:
                group.pop(range_key, None)
                if not group:
                    stored.pop(hash_key, None)
            else:
                group[range_key] = item


class _TransactionCopy:
    """The `copy` module as moto's DynamoDB backend module sees it: while a transaction is being applied, the
    "deep copy" of a table it names is that table's snapshot; everything else is copied as usual."""

    def __init__(self) -> None:
        self.snapshots: dict[int, _TableSnapshot] = {}

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        snapshot = self.snapshots.get(id(value))
        return snapshot if snapshot is not None else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


_TRANSACTION_COPY = _TransactionCopy()


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, list[ItemKey]]:
    """The keys of the items a transaction names, by table (malformed entries are left to moto to refuse)."""
    keys: dict[str, list[ItemKey]] = {}
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            source = op.get("Item") if op_type == "Put" else op.get("Key")
            try:
                hash_key = DynamoType(source[table.hash_key_attr])
                range_key = DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError):
                continue
            keys.setdefault(table.name, []).append((hash_key, range_key))
    return keys


def _with_item_rollback(transact: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        with DYNAMODB_LOCK:
            prepared = [
                _TableSnapshot(self.tables[name], keys) for name, keys in _named_items(self, transact_items).items()
            ]
            _TRANSACTION_COPY.snapshots = {id(s.table): s for s in prepared}
            try:
                return transact(self, transact_items)
            finally:
                _TRANSACTION_COPY.snapshots = {}
                for name, value in list(self.tables.items()):
                    if isinstance(value, _TableSnapshot):  # moto rolled back by putting its "copy" in place
                        self.tables[name] = value.table
                        value.restore()

    return transact_write_items


def _fix_dynamodb() -> None:
    dynamodb_models.copy = _TRANSACTION_COPY  # type: ignore[attr-defined]
    transact = dynamodb_models.DynamoDBBackend.__dict__["transact_write_items"]
    dynamodb_models.DynamoDBBackend.transact_write_items = _with_item_rollback(transact)  # type: ignore[method-assign]
    for owner, names in (
        (dynamodb_models.DynamoDBBackend, DYNAMODB_BACKEND_WRITES),
        (dynamodb_responses.DynamoHandler, DYNAMODB_REQUESTS),
    ):
        for name in names:
            method = owner.__dict__.get(name)
            if method is None:  # not in this moto version
                continue
            setattr(owner, name, _locked(method))


# (account, region) -> the in-process functions Invoke requests of that account and region reach (fix 6).
_LAMBDA_HOSTS: dict[tuple[str, str], FunctionHost] = {}


def route_lambda_invocations(host: FunctionHost, account_id: str, region: str) -> None:
    """Let Invoke requests (API, Step Functions tasks) for `host`'s functions run them in-process."""
    _LAMBDA_HOSTS[(account_id, region)] = host


def stop_routing_lambda_invocations(host: FunctionHost) -> None:
    for key in [k for k, v in _LAMBDA_HOSTS.items() if v is host]:
        del _LAMBDA_HOSTS[key]


def _invoke_in_process(invoke: Callable[..., Any]) -> Callable[..., Any]:
    from local.functions import FunctionNotFound

    @functools.wraps(invoke)
    def invoke_routed(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        host = _LAMBDA_HOSTS.get((self.account_id, self.region_name))
        try:
            spec = host.get(function_name) if host is not None else None
        except FunctionNotFound:
            spec = None
        if host is None or spec is None:
            return invoke(self, function_name, qualifier, body, headers, response_headers)
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            raise LambdaClientError(
                "InvalidRequestContentException", "Could not parse request body into json"
            ) from None
        invocation = host.invoke(spec.logical_id, event)
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
        payload = json.dumps(invocation.payload).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    return invoke_routed


def _stop_interrupting_waits(stop: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(stop)
    def stop_and_interrupt(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = stop(self, *args, **kwargs)
        worker = getattr(self, "exec_worker", None)
        env = getattr(worker, "env", None)
        pool = getattr(getattr(env, "callback_pool_manager", None), "_pool", None) or {}
        for endpoint in list(pool.values()):
            endpoint.interrupt_all()
        return result

    return stop_and_interrupt


def _keep_stopped(set_error: Callable[..., Any]) -> Callable[..., Any]:
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    @functools.wraps(set_error)
    def set_error_unless_stopped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(self, "_program_state", None), ProgramStopped):
            return None
        return set_error(self, *args, **kwargs)

    return set_error_unless_stopped


def stop_running_executions(account_id: str, region: str) -> int:
    """Stop (ABORTED) every running execution of the account and region; returns how many."""
    import datetime

    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[account_id][region]
    running = backend._get_executions(ExecutionStatus.RUNNING)
    now = datetime.datetime.now(tz=datetime.UTC)
    # The interrupted waits fail their tasks, which moto logs as errors: not news when the runtime stops.
    quiet = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        for execution in running:
            execution.stop(stop_date=now, error="RuntimeStopped", cause="the embedded runtime stopped")
        for execution in running:  # let their threads see the stop before the logger speaks again
            _wait_until_ended(execution, timeout=2.0)
    finally:
        quiet.setLevel(level)
    return len(running)


def _wait_until_ended(execution: Any, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while getattr(execution.exec_status, "value", None) == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.01)


def _heartbeat_after_answer(setup: Callable[..., Any]) -> Callable[..., Any]:
    """`CallbackEndpoint.setup_heartbeat_endpoint`, whose event starts set when the token was answered already
    (fix 9). `notify` sets the answer's event before it looks for a heartbeat endpoint, so one of the two always
    sees the other."""

    @functools.wraps(setup)
    def setup_heartbeat(self: Any, *args: Any, **kwargs: Any) -> Any:
        heartbeat = setup(self, *args, **kwargs)
        if self._notify_event.is_set():
            heartbeat.notify()
        return heartbeat

    return setup_heartbeat


def _validated_once(validate: Callable[..., Any]) -> Any:
    """moto's static `_validate_definition`, skipped for a definition text it already accepted (fix 8)."""
    accepted: set[str] = set()

    def validate_once(definition: str) -> None:
        if definition in accepted:
            return
        validate(definition=definition)
        if len(accepted) < 64:
            accepted.add(definition)

    return staticmethod(validate_once)


def apply() -> None:
    global _applied
    if _applied:
        return
    events_utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = AWS_EVENT_TEMPLATE
    original = events_models.Rule.send_to_targets

    def send_to_enabled_targets(self: Any, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "state", "ENABLED") == "DISABLED":
            return
        original(self, *args, **kwargs)

    events_models.Rule.send_to_targets = send_to_enabled_targets  # type: ignore[method-assign]
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)
    _fix_dynamodb()
    lambda_models.LambdaBackend.invoke = _invoke_in_process(lambda_models.LambdaBackend.invoke)  # type: ignore[method-assign]
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    StepFunctionsParserBackend._validate_definition = _validated_once(  # type: ignore[method-assign]
        StepFunctionsParserBackend._validate_definition
    )
    Execution.stop = _stop_interrupting_waits(Execution.stop)  # type: ignore[method-assign]
    Environment.set_error = _keep_stopped(Environment.set_error)  # type: ignore[method-assign]
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    CallbackEndpoint.setup_heartbeat_endpoint = _heartbeat_after_answer(  # type: ignore[method-assign]
        CallbackEndpoint.setup_heartbeat_endpoint
    )
    from local import moto_replay

    moto_replay.apply()
    _applied = True
