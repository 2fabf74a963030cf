"""What the Lambda functions run on. Layers are built for exactly this interpreter and CPU.

Kept free of CDK imports so that `python -m infra.wheelhouse` starts fast.
"""

from __future__ import annotations

PYTHON_VERSION = "3.14"  # must match lambda_.Runtime.PYTHON_3_14 in infra/functions.py
ARCHITECTURE = "arm64"  # Graviton: cheaper per GB-second; every dependency ships aarch64 wheels

_PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
PIP_PLATFORM = _PIP_PLATFORMS[ARCHITECTURE]
PIP_TARGET_ARGS = (
    "--platform",
    PIP_PLATFORM,
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
)
