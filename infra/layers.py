"""The two Lambda layers every function uses, bundled on this machine (no Docker).

- `shared`: the repository's `shared/` package, copied to `python/shared/` (importable as `shared`).
- `dependencies`: the third-party packages of requirements.txt, installed for the Lambda target
  (infra/target.py) from the project wheelhouse (infra/wheelhouse.py).

Both bundlers implement `cdk.ILocalBundling` and always succeed or raise, so CDK never falls back to
Docker; `image` is required by the API but never used. See docs/adr/0002-lambda-bundling-without-docker.md.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import target
from infra.wheelhouse import REPO_ROOT, REQUIREMENTS, install

SHARED_DIR = REPO_ROOT / "shared"
IGNORED = ("__pycache__", "*.pyc", ".pytest_cache")
# The Lambda Python runtime ships the AWS SDK; a second copy would be 30 MB and would shadow the
# runtime's boto3 with a mismatched botocore. (aws-xray-sdk pulls botocore in as a dependency.)
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
BUNDLER_VERSION = "1"  # bump to force a rebuild of the dependencies layer


@jsii.implements(cdk.ILocalBundling)
class CopySharedPackage:
    """Copies `shared/` to `<output>/python/shared/`, without bytecode caches."""

    def __init__(self, source: Path = SHARED_DIR) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        destination = Path(output_dir, "python", self._source.name)
        shutil.copytree(self._source, destination, ignore=shutil.ignore_patterns(*IGNORED))
        return True


@jsii.implements(cdk.ILocalBundling)
class PipInstallRequirements:
    """`pip install -r requirements.txt -t <output>/python` for the Lambda platform, from the wheelhouse."""

    def __init__(self, requirements: Path = REQUIREMENTS) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, options: cdk.BundlingOptions) -> bool:
        site = Path(output_dir, "python")
        install(site, self._requirements)
        for pattern in (*PROVIDED_BY_RUNTIME, *(f"{name}-*.dist-info" for name in PROVIDED_BY_RUNTIME), "bin"):
            for path in site.glob(pattern):
                shutil.rmtree(path)
        return True


def dependencies_hash(requirements: Path = REQUIREMENTS) -> str:
    """The dependencies layer changes when requirements.txt, the target or the bundler changes."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{target.PYTHON_VERSION}|{target.PIP_PLATFORM}|{BUNDLER_VERSION}".encode())
    return digest.hexdigest()


class Layers(Construct):
    """`shared` and `dependencies` layers for the stack's Python functions."""

    def __init__(
        self, scope: Construct, id: str, *, prefix: str, runtime: lambda_.Runtime, architecture: lambda_.Architecture
    ) -> None:
        super().__init__(scope, id)
        image = runtime.bundling_image  # required by the API; local bundling always wins

        self.shared = lambda_.LayerVersion(
            self,
            "Shared",
            layer_version_name=f"{prefix}-shared",
            description="distrosync shared package (canonical models, domain, adapters)",
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            # Source-hashed: the layer version follows the contents of shared/.
            code=lambda_.Code.from_asset(
                str(SHARED_DIR),
                exclude=list(IGNORED),
                bundling=cdk.BundlingOptions(image=image, local=CopySharedPackage()),
            ),
        )
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            layer_version_name=f"{prefix}-dependencies",
            description="Third-party packages from requirements.txt",
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            # The source is the repository root (where requirements.txt lives); the custom hash keeps
            # CDK from fingerprinting the whole tree and follows requirements.txt only.
            code=lambda_.Code.from_asset(
                str(REPO_ROOT),
                asset_hash=dependencies_hash(),
                bundling=cdk.BundlingOptions(image=image, local=PipInstallRequirements()),
            ),
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.shared]
