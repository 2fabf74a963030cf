"""In-process Lambda: the template's functions, imported from their source folders and invoked like Lambda.

For each `AWS::Lambda::Function`, the source folder is `Metadata["distrosync:source"]` (relative to the
source root) or, for assets staged by the CDK CLI, `Metadata["aws:asset:path"]` (relative to the cloud
assembly). The module named by `Handler` is imported on the first invocation (a cold start) under a unique
module name, with the function's environment in `os.environ`, its own copies of the project's modules
(`local.module_isolation`) and its output captured (`local.log_capture`). Invocations are serialized by one
lock; the environment and `sys.modules` are restored after each.

Like Lambda: the event reaches the handler as a fresh JSON document, the result must be JSON-serializable,
an exception (or a failed import) becomes an error document `{errorMessage, errorType, requestId,
stackTrace}`, and START/END/REPORT lines frame each invocation in the log.
"""

from __future__ import annotations

import decimal
import importlib.util
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from local.log_capture import LogStore, captured
from local.module_isolation import ModuleSpace
from local.provision import ProvisionedResource

SOURCE_METADATA = "distrosync:source"
# Module-level "first invocation" flags of shared third-party packages. Lambda gives each function a fresh
# process; here these modules are shared (see local.module_isolation), so each cold start sets them back.
COLD_START_FLAGS = (
    ("aws_lambda_powertools.logging.logger", "is_cold_start"),
    ("aws_lambda_powertools.tracing.tracer", "is_cold_start"),
    ("aws_lambda_powertools.metrics.base", "is_cold_start"),
    ("aws_lambda_powertools.metrics.provider.cold_start", "is_cold_start"),
)
ASSET_METADATA = "aws:asset:path"
_RUNTIME_PACKAGE = Path(__file__).resolve().parent
# The layer's packages that read no settings and create no clients or caches of AWS state at import: every
# function and every runtime of the process may share one copy (see local.module_isolation).
STATELESS_PACKAGES = ("shared.canonical", "shared.domain", "shared.http")


# Invocations set the process's os.environ to the function's: one at a time in the whole process (os.environ is one).
ENVIRONMENT_LOCK = threading.RLock()
_client_creation_guarded = False


def _guard_client_creation() -> None:
    """Create boto3/botocore clients under ENVIRONMENT_LOCK, in every thread.

    botocore reads the environment while it builds a client, iterating it for proxy settings; another thread's
    invocation swapping the environment in or out meanwhile makes a key vanish between listing and reading it
    (KeyError, e.g. 'AWS_LAMBDA_FUNCTION_NAME', or NoRegionError). moto's executions create a client for every
    Lambda task in their own threads, and tests create clients while executions run. Clients are created once per
    process and service (`shared.aws.clients`), so the lock costs nothing afterwards; an invocation creating a
    client already holds it (re-entrant)."""
    global _client_creation_guarded
    if _client_creation_guarded:
        return
    import functools

    import botocore.session

    original = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        with ENVIRONMENT_LOCK:
            return original(self, *args, **kwargs)

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    _client_creation_guarded = True


class FunctionNotFound(KeyError):
    pass


@dataclass(frozen=True)
class FunctionSpec:
    """What the template says about one function, with its environment resolved."""

    logical_id: str
    name: str
    arn: str
    key: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str]
    source_dir: Path | None

    @classmethod
    def from_resource(cls, res: ProvisionedResource, source_root: Path, assembly_dir: Path) -> FunctionSpec:
        props = res.properties
        source = res.metadata.get(SOURCE_METADATA)
        if source:
            source_dir: Path | None = (source_root / source).resolve()
            key = Path(source).name
        elif res.metadata.get(ASSET_METADATA):
            source_dir = (assembly_dir / res.metadata[ASSET_METADATA]).resolve()
            key = res.logical_id
        else:
            source_dir, key = None, res.logical_id
        variables = (props.get("Environment") or {}).get("Variables") or {}
        return cls(
            logical_id=res.logical_id,
            name=str(res.ref),
            arn=str(res.attributes["Arn"]),
            key=key,
            handler=props.get("Handler", "handler.lambda_handler"),
            runtime=props.get("Runtime", ""),
            timeout_seconds=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            environment={k: str(v) for k, v in variables.items()},
            source_dir=source_dir,
        )

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


class LambdaContext:
    """The context object the Python runtime passes to handlers (same attributes, same types)."""

    def __init__(self, spec: FunctionSpec, request_id: str, log_stream_name: str) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = str(spec.memory_mb)  # the runtime reads it from the environment: a string
        self.aws_request_id = request_id
        self.log_group_name = spec.log_group_name
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """The outcome of one invocation: the result (JSON-decoded) or Lambda's error document."""

    function: str
    request_id: str
    payload: Any
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_duration_ms: float | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> Any:
        """The payload, or `FunctionError` when the function failed."""
        if self.error is not None:
            raise FunctionError(self)
        return self.payload


class FunctionError(RuntimeError):
    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        error = invocation.error or {}
        super().__init__(f"{invocation.function}: {error.get('errorType')}: {error.get('errorMessage')}")


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str]) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.stack = stack


@dataclass
class _Loaded:
    module: ModuleType | None = None
    modules: dict[str, ModuleType] = field(default_factory=dict)
    log_stream: str = ""


class FunctionHost:
    """Runs the template's functions in this process, one invocation at a time."""

    def __init__(
        self,
        specs: Iterable[FunctionSpec],
        *,
        source_root: Path,
        logs: LogStore,
        region: str,
        lock: threading.RLock | None = None,
    ) -> None:
        self.specs = {s.logical_id: s for s in specs}
        self.source_root = source_root.resolve()
        self.logs = logs
        self.region = region
        self.lock = lock or ENVIRONMENT_LOCK
        _guard_client_creation()
        self._loaded: dict[str, _Loaded] = {}
        self._modules = ModuleSpace(
            [self.source_root, *(s.source_dir for s in self.specs.values() if s.source_dir)],
            exclude=[_RUNTIME_PACKAGE],
            stateless=STATELESS_PACKAGES,
        )
        self._instance = uuid.uuid4().hex[:8]

    # -- lookup
    def get(self, name: str) -> FunctionSpec:
        """A function by key (source folder name), logical id, physical name or (qualified) ARN."""
        for spec in self.specs.values():
            if name in (spec.key, spec.logical_id, spec.name, spec.arn) or name.startswith(spec.arn + ":"):
                return spec
        raise FunctionNotFound(f"no function {name!r}; functions: {sorted(s.key for s in self.specs.values())}")

    def __iter__(self) -> Iterator[FunctionSpec]:
        return iter(self.specs.values())

    def __len__(self) -> int:
        return len(self.specs)

    def configure(self, name: str, **environment: str) -> FunctionSpec:
        """Override some of a function's environment variables (e.g. shorter timers for a test or the demo).
        The function starts cold at its next invocation, so settings read at import see the new values."""
        spec = self.get(name)
        with self.lock:
            updated = replace(spec, environment={**spec.environment, **environment})
            self.specs[spec.logical_id] = updated
            self._loaded.pop(spec.logical_id, None)
        return updated

    # -- invocation
    def invoke(self, name: str, event: Any) -> Invocation:
        spec = self.get(name)
        request_id = str(uuid.uuid4())
        event = json.loads(json.dumps(event))
        with self.lock:
            loaded = self._loaded.get(spec.logical_id)
            cold = loaded is None
            if loaded is None:
                loaded = _Loaded(log_stream=_log_stream_name())
            with self._environment(spec, loaded), captured(self.logs, spec.key) as out:
                out.write(f"START RequestId: {request_id} Version: $LATEST\n")
                init_ms = None
                try:
                    if cold:
                        _reset_cold_start_flags()
                        started = time.perf_counter()
                        self._import(spec, loaded)
                        init_ms = (time.perf_counter() - started) * 1000
                        self._loaded[spec.logical_id] = loaded
                    invocation = self._call(spec, loaded, event, request_id)
                except _InitError as exc:
                    invocation = _failed(spec, request_id, exc.error_type, str(exc), exc.stack)
                invocation.init_duration_ms = init_ms
                self._report(out, spec, invocation)
        return invocation

    def _call(self, spec: FunctionSpec, loaded: _Loaded, event: Any, request_id: str) -> Invocation:
        attr = spec.handler.rsplit(".", 1)[1]
        handler = getattr(loaded.module, attr, None)
        if not callable(handler):
            raise _InitError("Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{spec.handler}'", [])
        context = LambdaContext(spec, request_id, loaded.log_stream)
        started = time.perf_counter()
        error = None
        try:
            result = handler(event, context)
        except (Exception, SystemExit) as exc:
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])  # from the handler down
            error = _error_document(type(exc).__name__, str(exc), request_id, stack)
            print(f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n{''.join(stack)}".rstrip())
        else:
            try:
                payload = json.loads(json.dumps(result, default=_json_default))
            except (TypeError, ValueError) as exc:
                error = _error_document("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, [])
                print(f"[ERROR] Runtime.MarshalError: Unable to marshal response: {exc}")
        if error is not None:
            payload = error
        duration_ms = (time.perf_counter() - started) * 1000
        return Invocation(
            function=spec.key,
            request_id=request_id,
            payload=payload,
            error=error,
            duration_ms=duration_ms,
            timed_out=duration_ms > spec.timeout_seconds * 1000,
        )

    def _import(self, spec: FunctionSpec, loaded: _Loaded) -> None:
        if spec.source_dir is None:
            raise _InitError("Runtime.ImportModuleError", f"{spec.logical_id} has no {SOURCE_METADATA} metadata", [])
        module_path, _, _ = spec.handler.rpartition(".")
        file = spec.source_dir / (module_path.replace(".", "/") + ".py")
        if not file.is_file():
            raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_path}': {file}", [])
        unique = "_distrosync_fn_" + re.sub(r"\W", "_", spec.logical_id) + "_" + self._instance
        module_spec = importlib.util.spec_from_file_location(unique, file)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[unique] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[unique]
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__))
            error_type, message = _init_error(module_path, exc)
            print(f"[ERROR] {error_type}: {message}\nTraceback (most recent call last):\n{''.join(stack)}".rstrip())
            raise _InitError(error_type, message, stack) from exc
        loaded.module = module

    @contextmanager
    def _environment(self, spec: FunctionSpec, loaded: _Loaded) -> Iterator[None]:
        """The function's environment in `os.environ` for the invocation, the process's back after it.

        Other threads read `os.environ` meanwhile (moto's executions create boto3 clients, a test's main thread
        too; botocore iterates the environment for proxies): the mapping's storage is swapped whole, never cleared
        and refilled, so a reader sees the old environment or the new one, never half of one (a cleared
        `os.environ` made them fail with NoRegionError or a key vanishing mid-iteration)."""
        environ = os.environ
        saved = environ._data  # type: ignore[attr-defined]
        variables = {**self._lambda_variables(spec, loaded), **spec.environment}
        current = dict(saved)
        current.update({environ.encodekey(k): environ.encodevalue(v) for k, v in variables.items()})  # type: ignore[attr-defined]
        environ._data = current  # type: ignore[attr-defined]
        search_path = [p for p in (spec.source_dir, self.source_root) if p is not None]
        try:
            with self._modules.active(loaded.modules, search_path):
                yield
        finally:
            environ._data = saved  # type: ignore[attr-defined]

    def _lambda_variables(self, spec: FunctionSpec, loaded: _Loaded) -> dict[str, str]:
        """What the Lambda service sets (LAMBDA_TASK_ROOT is left out: Powertools' Tracer then stays off)."""
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": loaded.log_stream,
            "_HANDLER": spec.handler,
        }

    def _report(self, out: Any, spec: FunctionSpec, invocation: Invocation) -> None:
        if invocation.timed_out:
            out.write(
                f"[WARNING] RequestId: {invocation.request_id} ran {invocation.duration_ms / 1000:.2f} s, over "
                f"the {spec.timeout_seconds} s timeout (Lambda would have stopped it)\n"
            )
        out.write(f"END RequestId: {invocation.request_id}\n")
        report = (
            f"REPORT RequestId: {invocation.request_id}\tDuration: {invocation.duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, round(invocation.duration_ms + 0.5))} ms\tMemory Size: {spec.memory_mb} MB"
        )
        if invocation.init_duration_ms is not None:
            report += f"\tInit Duration: {invocation.init_duration_ms:.2f} ms"
        out.write(report + "\n")

    def close(self) -> None:
        """Forget the imported functions (the next invocation is a cold start)."""
        with self.lock:
            self._loaded.clear()


def _init_error(module: str, exc: Exception) -> tuple[str, str]:
    """How the Python runtime reports an exception raised while importing the handler module."""
    if isinstance(exc, ImportError):
        return "Runtime.ImportModuleError", f"Unable to import module '{module}': {exc}"
    if isinstance(exc, SyntaxError):
        return "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module}': {exc}"
    return type(exc).__name__, str(exc)


def _reset_cold_start_flags() -> None:
    for module_name, flag in COLD_START_FLAGS:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, flag):
            setattr(module, flag, True)


def _failed(spec: FunctionSpec, request_id: str, error_type: str, message: str, stack: list[str]) -> Invocation:
    error = _error_document(error_type, message, request_id, stack)
    return Invocation(function=spec.key, request_id=request_id, payload=error, error=error)


def _error_document(error_type: str, message: str, request_id: str, stack: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def _json_default(value: Any) -> Any:
    """The Python runtime serializes Decimal (DynamoDB numbers) as numbers; anything else is an error."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _log_stream_name() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
