"""Which stack a command acts on: a deployed one (CloudFormation outputs) or the embedded runtime (--local)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cli.assembly import STATE_DIR

LOCAL_STATE = STATE_DIR / "local.json"


class TargetError(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    stack_name: str
    outputs: dict[str, str]
    endpoint_url: str | None = None


def local_target(state_file: Path | None = None) -> Target:
    """The embedded runtime started by `distrosync serve` (its state file says where moto listens)."""
    state_file = state_file or LOCAL_STATE
    if not state_file.exists():
        raise TargetError("no local runtime is running: start one with 'distrosync serve' in another terminal")
    state = json.loads(state_file.read_text())
    if not _alive(state.get("pid")):
        raise TargetError(
            f"the local runtime recorded in {state_file} (pid {state.get('pid')}) is not running: "
            "start one with 'distrosync serve'"
        )
    os.environ["AWS_ENDPOINT_URL"] = state["endpoint_url"]
    os.environ.setdefault("AWS_DEFAULT_REGION", state.get("region", "us-east-1"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    return Target(state.get("stack_name", "local"), state["outputs"], state["endpoint_url"])


def _alive(pid: int | None) -> bool:
    if not pid:
        return True  # an older state file without a pid: let the connection tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def deployed_target(stack_name: str) -> Target:
    """A stack deployed with `cdk deploy`, found with the usual AWS credentials and profile."""
    from shared.aws.clients import client

    try:
        stacks = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        raise TargetError(f"cannot read stack {stack_name}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Target(stack_name, outputs)


def resolve(local: bool, stack_name: str) -> Target:
    if local or os.environ.get("AWS_ENDPOINT_URL"):
        return local_target()
    return deployed_target(stack_name)
