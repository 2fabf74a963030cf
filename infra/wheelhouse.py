"""A project-local wheelhouse, so that the dependencies layer builds offline and without Docker.

`python -m infra.wheelhouse` (called by `make setup`, needs PyPI once) downloads every wheel that
requirements.txt needs for the Lambda target (infra/target.py) into `.cache/lambda-wheels/<target>/`.
Layer bundling then installs with `--no-index` from there; if a wheel is missing (requirements.txt
changed), it downloads the missing wheels first and retries.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from infra.target import PIP_PLATFORM, PIP_TARGET_ARGS, PYTHON_VERSION

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "requirements.txt"
WHEELHOUSE_ROOT = REPO_ROOT / ".cache" / "lambda-wheels"


class WheelhouseError(RuntimeError):
    pass


def wheelhouse_dir(root: Path = WHEELHOUSE_ROOT) -> Path:
    """One folder per target, e.g. `.cache/lambda-wheels/cp314-manylinux2014_aarch64`."""
    return root / f"cp{PYTHON_VERSION.replace('.', '')}-{PIP_PLATFORM}"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def download(requirements: Path = REQUIREMENTS, wheelhouse: Path | None = None) -> Path:
    """Fetch the target's wheels for `requirements` into the wheelhouse (needs the package index)."""
    wheelhouse = wheelhouse or wheelhouse_dir()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    result = _pip("download", "--quiet", "-r", str(requirements), "-d", str(wheelhouse), *PIP_TARGET_ARGS)
    if result.returncode != 0:
        raise WheelhouseError(
            f"pip download for {PIP_PLATFORM} / Python {PYTHON_VERSION} failed "
            f"(is PyPI reachable?):\n{result.stderr.strip()}"
        )
    return wheelhouse


def install(target: Path, requirements: Path = REQUIREMENTS, wheelhouse: Path | None = None) -> None:
    """Install `requirements` for the Lambda target into `target`, offline from the wheelhouse.

    Falls back to one `download` when the wheelhouse lacks a wheel, then installs offline again.
    """
    wheelhouse = wheelhouse or wheelhouse_dir()
    args = (
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(wheelhouse),
        "--no-compile",  # .pyc of this interpreter would be useless on the Lambda's Python
        "-r",
        str(requirements),
        "-t",
        str(target),
        *PIP_TARGET_ARGS,
    )
    if wheelhouse.is_dir() and _pip(*args).returncode == 0:
        return
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    download(requirements, wheelhouse)
    result = _pip(*args)
    if result.returncode != 0:
        raise WheelhouseError(f"pip install from {wheelhouse} failed:\n{result.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.wheelhouse",
        description="Download the Lambda layer's wheels so that `cdk synth` can bundle offline.",
    )
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--wheelhouse", type=Path, default=None, help="default: %(default)s -> per target")
    options = parser.parse_args(argv)
    try:
        wheelhouse = download(options.requirements, options.wheelhouse)
    except WheelhouseError as error:
        print(error, file=sys.stderr)
        return 1
    wheels = sorted(path.name for path in wheelhouse.glob("*.whl"))
    print(f"{len(wheels)} wheels for Python {PYTHON_VERSION} / {PIP_PLATFORM} in {wheelhouse}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
