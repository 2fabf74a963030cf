"""`LocalRuntime`: the synthesized stack running on this machine, with no AWS account and no Docker.

    rt = LocalRuntime.start(template, source_root=REPO_ROOT)            # moto in-process (mock_aws)
    rt = LocalRuntime.start(template, source_root=REPO_ROOT, mode="server", aws_port=4566)
    rt.outputs["ApiUrl"]; rt.physical_id("PartnersTable...")
    rt.api.request("POST", "/v1/inventory/adjustments", headers={...}, body=b"...")   # -> HttpResponse
    rt.drain()                                                          # SQS -> functions until queues are empty
    rt.invoke("projector", event); rt.logs("projector"); rt.queues(); rt.stop()
    rt.wait_for_execution(execution_arn)                                # a Step Functions execution, finished
    rt.checkpoint(); ...; rt.reset()                                    # reuse: back to the checkpoint (ms)
    rt.suspend(); ...; rt.resume()                                      # moto stopped meanwhile; resumes reset

Everything is created from the template (`local.provision`); functions run in-process (`local.functions`),
SQS and DynamoDB Streams event-source mappings are polled with Lambda's semantics (`local.sqs_mappings`,
`local.stream_mappings`), EventBridge routing is
moto's own, and the REST API is emulated (`local.apigateway`). State machines run on moto's ASL interpreter
(enabled here in every mode); their Lambda tasks reach the in-process functions (`local.moto_fixes`, fix 6).

Modes: `inprocess` starts `moto.mock_aws()` (or joins one the caller already started: `attached`, also
detected); `server` starts moto's server on 127.0.0.1:<aws_port>, points `AWS_ENDPOINT_URL` at it and
writes `<state_dir>/local.json` so that other processes (the CLI with `--local`) act on the same state; function
logs then also go to `<state_dir>/logs/<function>.log` (`tail -f` them from another terminal).
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from moto.core.config import default_user_config
from moto.core.models import MockAWS

from local import moto_fixes
from local.apigateway import RestApiEmulator
from local.aws_clients import AwsClients
from local.functions import FunctionHost, FunctionSpec, Invocation
from local.log_capture import LogStore
from local.moto_snapshot import MotoSnapshot
from local.provision import ProvisionedStack, provision
from local.queues import QueueDirectory, QueueInfo
from local.sqs_mappings import DrainReport, SqsMapping, SqsPoller
from local.stream_mappings import StreamMapping, StreamPoller
from local.template import DEFAULT_REGION, MOTO_ACCOUNT_ID, load_template

Mode = Literal["inprocess", "attached", "server"]
STATE_FILE = "local.json"
# moto only stores state machine definitions unless this is set; then it runs them (in background threads).
EXECUTE_STATE_MACHINES = {"stepfunctions": {"execute_state_machine": True}}

_FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # DynamoDB streams clients with botocore >= 1.37
}
_REMOVED_ENVIRONMENT = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@dataclass
class _Backend:
    """What `start` started, so that `stop` undoes exactly that."""

    mode: Mode
    mock: MockAWS | None = None
    server: Any = None
    endpoint_url: str | None = None
    # moto's Step Functions configuration before `start` enabled execution (restored by `stop`)
    saved_sfn_config: dict[str, Any] | None = None


class LocalRuntime:
    def __init__(
        self,
        *,
        stack: ProvisionedStack,
        clients: AwsClients,
        functions: FunctionHost,
        queues: QueueDirectory,
        poller: SqsPoller,
        streams: StreamPoller,
        apis: dict[str, RestApiEmulator],
        backend: _Backend,
        saved_environment: dict[str, str | None],
        state_file: Path | None,
    ) -> None:
        self.stack = stack
        self.clients = clients
        self.functions = functions
        self.queue_directory = queues
        self.poller = poller
        self.streams = streams
        self.apis = apis
        self._backend = backend
        self._saved_environment = saved_environment
        self.state_file = state_file
        self._stopped = False
        self._assembly: _Assembly | None = None
        self._environment: dict[str, str | None] = {}
        self._execute_state_machines = False
        self._checkpoint: Checkpoint | None = None
        self._suspended = False

    # ------------------------------------------------------------------------------------------- lifecycle
    @classmethod
    def start(
        cls,
        template: Path | str,
        *,
        source_root: Path | str,
        mode: Mode = "inprocess",
        aws_port: int | None = None,
        region: str | None = None,
        stack_name: str | None = None,
        log_dir: Path | None = None,
        state_dir: Path | None = None,
        retry_delay_seconds: int = 0,
        execute_state_machines: bool = True,
    ) -> LocalRuntime:
        """Create the stack of `template` (a template file or a cloud assembly directory) and return it running.

        `source_root` is where `distrosync:source` folders are found (the repository root). `region`
        overrides the template's. `retry_delay_seconds` is the visibility timeout given back to failed SQS
        messages (0: retried at once). `log_dir` mirrors captured function logs to files (emptied at start). In
        server mode the state file goes to `state_dir` (default `<source_root>/.distrosync`) and `log_dir`
        defaults to `<state_dir>/logs`. `execute_state_machines=False` makes StartExecution only record executions
        (moto's default), for tests whose flows must not run in background threads.
        """
        source_root = Path(source_root).resolve()
        state_dir = state_dir or source_root / ".distrosync"
        if mode == "server" and log_dir is None:
            log_dir = state_dir / "logs"
        tmpl = load_template(template, stack_name)
        region = region or tmpl.region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        account_id = tmpl.account or MOTO_ACCOUNT_ID
        overrides: dict[str, str | None] = {**_FAKE_ENVIRONMENT, "AWS_DEFAULT_REGION": region}
        overrides.update(dict.fromkeys(_REMOVED_ENVIRONMENT))
        if account_id != MOTO_ACCOUNT_ID:
            overrides["MOTO_ACCOUNT_ID"] = account_id
        saved = _apply_environment(overrides)
        backend = _Backend(mode=mode)
        parts: _Parts | None = None
        try:
            moto_fixes.apply()
            _start_backend(backend, aws_port, saved)
            if execute_state_machines:
                _enable_state_machine_execution(backend)
            clients = AwsClients(region, backend.endpoint_url)
            stack = provision(tmpl, clients, account_id=account_id)
            assembly = _Assembly(source_root, tmpl.assembly_dir, log_dir, retry_delay_seconds)
            parts = assembly.build(stack, clients)
        except BaseException:
            if parts is not None:
                moto_fixes.stop_routing_lambda_invocations(parts.functions)
            _stop_backend(backend)
            _restore_environment(saved)
            raise
        state_file = None
        if backend.mode == "server":
            state_file = state_dir / STATE_FILE
        rt = cls(
            stack=stack,
            clients=clients,
            functions=parts.functions,
            queues=parts.queues,
            poller=parts.poller,
            streams=parts.streams,
            apis=parts.apis,
            backend=backend,
            saved_environment=saved,
            state_file=state_file,
        )
        rt._assembly = assembly
        rt._environment = overrides
        rt._execute_state_machines = execute_state_machines
        rt.write_state()
        return rt

    def stop(self) -> None:
        """Stop moto (its state is discarded), forget the imported functions, restore the environment."""
        if self._stopped:
            return
        self._stopped = True
        if self._suspended:
            return  # suspend() did the rest
        self._park()
        if self.state_file is not None and self.state_file.exists():
            self.state_file.unlink()

    def _park(self) -> None:
        # Executions run in moto's threads; one parked on a task token would wait for its timeout.
        moto_fixes.stop_running_executions(self.stack.pseudo.account_id, self.region)
        moto_fixes.stop_routing_lambda_invocations(self.functions)
        self.functions.close()
        _stop_backend(self._backend)
        _restore_environment(self._saved_environment)

    # --------------------------------------------------------------------------- reuse (in-process only)
    def checkpoint(self, *, default: bool = True) -> Checkpoint:
        """Remember the state as it is now (moto's, and where the stream pollers are) for `reset` to return to;
        the default checkpoint unless `default=False` (then only `reset(to=...)` returns to it)."""
        self._require_reusable("checkpoint")
        taken = Checkpoint(moto=MotoSnapshot.take(), stream_positions=self.streams.positions())
        if default:
            self._checkpoint = taken
        return taken

    def reset(self, to: Checkpoint | None = None) -> None:
        """Back to a checkpoint (the default one unless `to` is given), as if the stack had just been started
        there: running executions stopped, every resource, item, message and object as it was, functions cold
        with their template environment (what `functions.configure` changed is undone), logs empty, pollers and
        API caches new, the stream pollers where they were."""
        self._require_reusable("reset")
        target = to or self._checkpoint
        if target is None:
            raise RuntimeError("reset() needs a checkpoint() first")
        assert self._assembly is not None
        moto_fixes.stop_running_executions(self.stack.pseudo.account_id, self.region)
        moto_fixes.stop_routing_lambda_invocations(self.functions)
        self.functions.close()
        target.moto.restore()
        parts = self._assembly.build(self.stack, self.clients)
        parts.streams.restore(target.stream_positions)
        self.functions, self.queue_directory = parts.functions, parts.queues
        self.poller, self.streams, self.apis = parts.poller, parts.streams, parts.apis

    def suspend(self) -> None:
        """Stop moto and give the process its environment back, keeping what `resume` needs: other code may
        start moto of its own meanwhile (a runtime kept for reuse must not be joined by the next test's)."""
        self._require_reusable("suspend")
        if not self._suspended:
            self._park()
            self._suspended = True

    def resume(self, to: Checkpoint | None = None) -> None:
        """Start moto again in the state of a checkpoint (see `reset`)."""
        self._require_reusable("resume")
        if not self._suspended:
            return
        if MockAWS._nested_count > 0:
            raise RuntimeError("resume() needs moto stopped: another mock_aws() is active in this process")
        self._saved_environment = _apply_environment(self._environment)
        self._backend = _Backend(mode="inprocess")
        _start_backend(self._backend, None, self._saved_environment)
        if self._execute_state_machines:
            _enable_state_machine_execution(self._backend)
        self._suspended = False
        self.reset(to)

    def _require_reusable(self, what: str) -> None:
        if self._stopped:
            raise RuntimeError(f"{what}() on a stopped runtime")
        if self.mode != "inprocess":
            raise RuntimeError(f"{what}() works on a runtime in mode 'inprocess' (this one is {self.mode!r})")

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------------------------------------- queries
    @property
    def mode(self) -> Mode:
        return self._backend.mode

    @property
    def suspended(self) -> bool:
        return self._suspended

    @property
    def endpoint_url(self) -> str | None:
        """moto server URL in server mode, else None (in-process mock)."""
        return self._backend.endpoint_url

    @property
    def region(self) -> str:
        return self.clients.region

    @property
    def stack_name(self) -> str:
        return self.stack.pseudo.stack_name

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.stack.outputs)

    def physical_id(self, logical_id: str) -> str:
        return self.stack.physical_id(logical_id)

    @property
    def api(self) -> RestApiEmulator:
        """The stack's REST API (the only one, or the first when there are several: see `apis`)."""
        if not self.apis:
            raise AttributeError(f"stack {self.stack_name} has no AWS::ApiGateway::RestApi")
        return next(iter(self.apis.values()))

    def queues(self) -> list[QueueInfo]:
        """The template's queues with their current depths, DLQs marked (`is_dlq`, `source_queue`)."""
        return self.queue_directory.info()

    def max_receive_count(self, queue: str) -> int:
        """maxReceiveCount of a queue's redrive policy (queue by name, URL, ARN or logical id)."""
        count = self.queue_directory.get(queue).max_receive_count
        if count is None:
            raise ValueError(f"queue {queue} has no redrive policy")
        return count

    def logs(self, function: str) -> list[str]:
        """What a function printed (Logger JSON lines, EMF documents, START/END/REPORT), oldest first."""
        return self.functions.logs.lines(self.functions.get(function).key)

    def metrics(self, function: str) -> list[dict[str, Any]]:
        """The EMF documents a function printed."""
        return self.functions.logs.emf_documents(self.functions.get(function).key)

    # ------------------------------------------------------------------------------------------------ work
    def invoke(self, function: str, event: Any) -> Invocation:
        """Invoke a function (key, logical id, name or ARN) synchronously, as `lambda:Invoke` would."""
        return self.functions.invoke(function, event)

    def drain(self, max_rounds: int = 1000, timeout: float = 60.0) -> DrainReport:
        """Deliver SQS messages and DynamoDB stream records to their functions until every mapped queue is empty
        and every mapped stream is read to its end (each may feed the other: a consumer writes a table, a stream
        publisher sends to the bus)."""
        started = time.monotonic()
        report = DrainReport()
        while report.rounds < max_rounds:
            left = timeout - (time.monotonic() - started)
            queued = self.poller.drain(max_rounds=max_rounds - report.rounds, timeout=max(left, 0.0))
            _merge(report, queued)
            if not self.streams.mappings or not queued.drained:
                report.drained = queued.drained
                break
            left = timeout - (time.monotonic() - started)
            streamed = self.streams.drain(max_rounds=max(max_rounds - report.rounds, 1), timeout=max(left, 0.0))
            _merge(report, streamed)
            report.drained = streamed.drained
            if not streamed.drained or not streamed.invocations:
                break
        report.seconds = time.monotonic() - started
        return report

    def wait_for_execution(self, execution_arn: str, timeout: float = 10.0) -> dict[str, Any]:
        """DescribeExecution once the execution has left RUNNING (moto runs executions in background threads).

        Raises TimeoutError if it is still running after `timeout` seconds (e.g. waiting for a task token).
        """
        sfn = self.clients("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            execution = sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                return dict(execution)
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.01)

    # ----------------------------------------------------------------------------------------- diagnostics
    def describe(self) -> str:
        statuses = Counter(r.status for r in self.stack.resources.values())
        skipped = ", ".join(f"{t.removeprefix('AWS::')} x{len(ids)}" for t, ids in sorted(self.stack.skipped.items()))
        mappings = [f"{m.queue.name} -> {m.function} (batch {m.batch_size})" for m in self.poller.mappings]
        mappings += [f"{m.table_name} stream -> {m.function} (batch {m.batch_size})" for m in self.streams.mappings]
        lines = [
            f"stack {self.stack_name} ({self.region}, {self.mode}): {len(self.stack.resources)} resources in "
            f"{self.stack.seconds:.2f}s - {statuses['created']} on moto, {statuses['local']} in-process, "
            f"{statuses['skipped']} skipped ({skipped or 'none'})",
            f"functions: {', '.join(f'{s.key} ({s.name})' for s in self.functions)}",
            f"queue mappings: {', '.join(mappings) or 'none'}",
        ]
        for api in self.apis.values():
            lines.append(f"API {api.api_id} stage {api.stage}: {len(api.routes())} methods")
        if self.endpoint_url:
            lines.append(f"moto endpoint: {self.endpoint_url}")
        lines.extend(f"warning: {w}" for w in self.stack.warnings)
        return "\n".join(lines)

    def state(self, api_url: str | None = None) -> dict[str, Any]:
        """What another process needs to act on this runtime (written to the state file in server mode)."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "account_id": self.stack.pseudo.account_id,
            "stack_name": self.stack_name,
            "template": str(self.stack.template.path),
            "outputs": self.outputs,
            "resources": {lid: str(r.ref) for lid, r in self.stack.resources.items() if r.status != "skipped"},
            "api_url": api_url,
            "log_dir": str(self.functions.logs.directory) if self.functions.logs.directory else None,
            "pid": os.getpid(),
            "started_at": time.time(),
        }

    def write_state(self, api_url: str | None = None) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(api_url), indent=2))
        tmp.replace(self.state_file)


@dataclass(frozen=True)
class Checkpoint:
    """A runtime's state at one moment (`LocalRuntime.checkpoint`)."""

    moto: MotoSnapshot
    stream_positions: Any  # StreamPoller.positions()


@dataclass
class _Parts:
    functions: FunctionHost
    queues: QueueDirectory
    poller: SqsPoller
    streams: StreamPoller
    apis: dict[str, RestApiEmulator]


@dataclass(frozen=True)
class _Assembly:
    """How the in-process parts are built on a provisioned stack: at start, and again by `reset`."""

    source_root: Path
    assembly_dir: Path
    log_dir: Path | None
    retry_delay_seconds: int

    def build(self, stack: ProvisionedStack, clients: AwsClients) -> _Parts:
        region = clients.region
        functions = FunctionHost(
            [
                FunctionSpec.from_resource(r, self.source_root, self.assembly_dir)
                for r in stack.of_type("AWS::Lambda::Function")
            ],
            source_root=self.source_root,
            logs=LogStore(self.log_dir),
            region=region,
        )
        moto_fixes.route_lambda_invocations(functions, stack.pseudo.account_id, region)
        queues = QueueDirectory(stack, clients)
        sources = stack.of_type("AWS::Lambda::EventSourceMapping")
        mappings = [m for r in sources if (m := SqsMapping.from_resource(r, functions, queues)) is not None]
        stream_mappings = [
            m for r in sources if (m := StreamMapping.from_resource(r, functions, stack, queues)) is not None
        ]
        polled = {m.logical_id for m in [*mappings, *stream_mappings]}
        for logical_id in sorted({r.logical_id for r in sources} - polled):
            warning = f"{logical_id}: only SQS and DynamoDB Streams event sources are polled"
            if warning not in stack.warnings:
                stack.warnings.append(warning)
        return _Parts(
            functions=functions,
            queues=queues,
            poller=SqsPoller(mappings, functions, queues, clients, retry_delay_seconds=self.retry_delay_seconds),
            streams=StreamPoller(stream_mappings, functions, clients),
            apis={
                r.logical_id: RestApiEmulator(stack, r.logical_id, functions, clients)
                for r in stack.of_type("AWS::ApiGateway::RestApi")
            },
        )


def _merge(into: DrainReport, other: DrainReport) -> None:
    """Add what one pass of a poller did to the report of the whole drain."""
    into.rounds += other.rounds
    into.received += other.received
    into.invocations.update(other.invocations)
    into.ok_records += other.ok_records
    into.failed_records += other.failed_records
    into.filtered_records += other.filtered_records
    into.function_errors.update(other.function_errors)


def _start_backend(backend: _Backend, aws_port: int | None, saved: dict[str, str | None]) -> None:
    if backend.mode == "inprocess":
        if MockAWS._nested_count > 0:
            backend.mode = "attached"  # the caller already runs inside mock_aws: share it
        else:
            backend.mock = MockAWS()
            backend.mock.start()
    elif backend.mode == "server":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one line per AWS call on stderr
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port or 0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        backend.server = server
        backend.endpoint_url = f"http://{host}:{port}"
        saved.update(_apply_environment({"AWS_ENDPOINT_URL": backend.endpoint_url, "MOTO_PORT": str(port)}))
    elif backend.mode == "attached":
        if MockAWS._nested_count == 0 and not os.environ.get("AWS_ENDPOINT_URL"):
            raise ValueError("mode='attached' needs an active moto.mock_aws() or AWS_ENDPOINT_URL (a moto server)")
        backend.endpoint_url = os.environ.get("AWS_ENDPOINT_URL") if MockAWS._nested_count == 0 else None
    else:
        raise ValueError(f"unknown mode {backend.mode!r}: inprocess, attached or server")


def _enable_state_machine_execution(backend: _Backend) -> None:
    """Make moto execute state machines: the mock's configuration in-process, /moto-api/config on a server."""
    if backend.endpoint_url is not None:
        current = _moto_config(backend.endpoint_url)  # moto 5.2 answers only batch and lambda: assume the default
        backend.saved_sfn_config = current.get("stepfunctions", {"execute_state_machine": False})
        _moto_config(backend.endpoint_url, EXECUTE_STATE_MACHINES)
    else:
        backend.saved_sfn_config = dict(default_user_config["stepfunctions"])
        default_user_config.update(EXECUTE_STATE_MACHINES)  # type: ignore[typeddict-item]


def _restore_state_machine_execution(backend: _Backend) -> None:
    if backend.saved_sfn_config is None:
        return
    saved = {"stepfunctions": backend.saved_sfn_config}
    backend.saved_sfn_config = None
    if backend.endpoint_url is not None:
        _moto_config(backend.endpoint_url, saved)
    else:
        default_user_config.update(saved)  # type: ignore[typeddict-item]


def _moto_config(endpoint_url: str, update: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (or, with `update`, POST) a moto server's /moto-api/config; returns the configuration."""
    data = json.dumps(update).encode() if update is not None else None
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/config", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.load(response))


def _stop_backend(backend: _Backend) -> None:
    _restore_state_machine_execution(backend)
    if backend.mock is not None:
        backend.mock.stop()
        backend.mock = None
    if backend.server is not None:
        from moto.moto_api import _internal as moto_api

        backend.server.stop()
        moto_api.moto_api_backend.reset()  # what POST /moto-api/reset does
        backend.server = None


def _apply_environment(values: dict[str, str | None]) -> dict[str, str | None]:
    """Set (or, for None, remove) variables; return their previous values."""
    saved: dict[str, str | None] = {}
    for name, value in values.items():
        saved[name] = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return saved


def _restore_environment(saved: dict[str, str | None]) -> None:
    _apply_environment(saved)
