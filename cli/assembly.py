"""The synthesized template the embedded runtime runs: synthesized from `infra/` when missing or stale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the local runtime keeps its synthesized templates and the state file of `distrosync serve`.
STATE_DIR = Path(os.environ.get("DISTROSYNC_STATE_DIR") or REPO_ROOT / ".distrosync")

# What the template is made of: when one of these is newer than the template, synthesize again.
_SOURCES = ("app.py", "cdk.json", "infra", "shared/canonical", "shared/http", "requirements.txt")


def assembly_dir(env_name: str) -> Path:
    return STATE_DIR / f"cdk.out-{env_name}"


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _SOURCES:
        path = REPO_ROOT / name
        files = path.rglob("*.py") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.exists())])
    return newest


def local_template(env_name: str = "dev", *, force: bool = False, quiet: bool = False) -> Path:
    """Path of the stack template for `env_name`, synthesizing it (without bundling) if needed."""
    outdir = assembly_dir(env_name)
    marker = outdir / "manifest.json"
    if force or not marker.exists() or marker.stat().st_mtime < _newest_source_mtime():
        if not quiet:
            print(f"  synthesizing the CDK app for env={env_name} (a few seconds)...", flush=True)
        code = (
            "import sys; from pathlib import Path; from infra.synth import synth_template; "
            f"print(synth_template({env_name!r}, outdir=Path({str(outdir)!r}), bundling=False))"
        )
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, env=env, stdout=subprocess.DEVNULL)
    templates = sorted(outdir.glob("*.template.json"))
    if not templates:
        raise FileNotFoundError(f"no template in {outdir}")
    return templates[0]
