"""Cold import of every handler beside bare `import boto3`, each in fresh interpreters, and where the time goes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from typing import Any

from bench.common import FUNCTIONS, ROOT, child_env, functions, median

MARK = "BENCH_IMPORT="
BASELINE = "boto3"

# Time only the import statement (interpreter start-up excluded). `probe` also refuses every socket connect
# during the import and counts the attempts: importing a handler must not call AWS.
_CHILD = """
import sys, time
attempts = []
{probe}
sys.path[:0] = {paths!r}
t0, c0 = time.perf_counter(), time.process_time()
import {module}
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
import json
print({mark!r} + json.dumps({{"seconds": elapsed, "cpu_seconds": cpu, "connects": attempts}}))
"""
_PROBE = """
import socket
def _refuse(self, address, *args):
    attempts.append(str(address))
    raise OSError("bench: network refused during import")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""


def _target(name: str) -> tuple[list[str], str]:
    """(sys.path prefix, module) for a handler name or the baseline."""
    if name == BASELINE:
        return [], BASELINE
    return [str(FUNCTIONS / name), str(ROOT)], "handler"


def _import_once(name: str, *, probe: bool = False, importtime: bool = False) -> tuple[dict[str, Any], str]:
    paths, module = _target(name)
    code = _CHILD.format(probe=_PROBE if probe else "", paths=paths, module=module, mark=MARK)
    flags = ["-X", "importtime"] if importtime else []
    proc = subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=ROOT,
        env=child_env(name if name != BASELINE else "bench"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"import of {name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len(MARK) :]), proc.stderr


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def _parse_importtime(stderr: str) -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) of every module imported."""
    return [(m[4], int(m[1]), int(m[2])) for m in map(_IMPORTTIME.match, stderr.splitlines()) if m]


def breakdown(name: str, runs: int = 3) -> dict[str, Any]:
    """Median over `runs` of -X importtime: the top 5 `shared` modules (cumulative) and self time per package."""
    shared: dict[str, list[tuple[int, int]]] = defaultdict(list)
    packages: dict[str, list[int]] = defaultdict(list)
    body: list[int] = []
    for _ in range(runs):
        _, stderr = _import_once(name, importtime=True)
        per_package: dict[str, int] = defaultdict(int)
        for module, self_us, cumulative_us in _parse_importtime(stderr):
            if module == "handler":
                body.append(self_us)
                continue
            if module.split(".")[0] == "shared":
                shared[module].append((self_us, cumulative_us))
            per_package[module.split(".")[0]] += self_us
        for package, total in per_package.items():
            packages[package].append(total)
    top_shared = sorted(shared.items(), key=lambda kv: -median([c for _, c in kv[1]]))[:5]
    top_packages = sorted(packages.items(), key=lambda kv: -median(kv[1]))[:8]
    return {
        "runs": runs,
        "handler_module_body_ms": median(body) / 1e3,
        "shared_top5_cumulative": [
            {
                "module": module,
                "cumulative_ms": median([c for _, c in samples]) / 1e3,
                "self_ms": median([s for s, _ in samples]) / 1e3,
            }
            for module, samples in top_shared
        ],
        "self_time_by_package": [
            {"package": package, "self_ms": median(samples) / 1e3} for package, samples in top_packages
        ],
    }


def cold_imports(runs: int) -> dict[str, Any]:
    names = [BASELINE, *functions()]
    # One untimed run each: writes any missing .pyc (so timed runs see warm caches, as a deployed package
    # would) and checks offline that the import opens no connection.
    probes = {name: _import_once(name, probe=True)[0] for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(runs):  # interleaved, so drift on the machine spreads over all targets
        for name in names:
            result = _import_once(name)[0]
            samples[name].append(result["seconds"] * 1e3)
            cpu[name].append(result["cpu_seconds"] * 1e3)
    base, base_cpu = median(samples[BASELINE]), median(cpu[BASELINE])
    out: dict[str, Any] = {
        "baseline": {
            "module": BASELINE,
            "median_ms": base,
            "samples_ms": samples[BASELINE],
            "cpu_median_ms": base_cpu,
        },
        "handlers": {},
    }
    for name in names[1:]:
        value = median(samples[name])
        out["handlers"][name] = {
            "median_ms": value,
            "samples_ms": samples[name],
            "ratio_to_boto3": value / base,
            "cpu_median_ms": median(cpu[name]),
            "cpu_ratio_to_boto3": median(cpu[name]) / base_cpu,
            "offline_probe": {
                "import_ok": True,
                "import_ms": probes[name]["seconds"] * 1e3,
                "connect_attempts": probes[name]["connects"],
            },
        }
    return out
