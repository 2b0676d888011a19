"""A TypeScript client (openapi-typescript types for openapi-fetch) from the committed document.

`tests/clients/ts` pins the toolchain (package.json + package-lock.json; `.ci/run` runs `npm ci`
there). Each run generates `schema.d.ts` from `openapi/openapi.json` into a scratch copy of that
directory, type-checks `scenario.ts` against it with `tsc --noEmit --strict`, then compiles it and
runs it with node against a live server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clients.conftest import Park
from tests.clients.generated import DOCUMENT

TOOLCHAIN = Path(__file__).resolve().parent / "ts"
# openapi-typescript 7 otherwise makes every request field that has a default required
# (openapi-ts/openapi-typescript#2012); the server fills those defaults itself.
GENERATE = ("--default-non-nullable", "false")


@dataclass(frozen=True)
class Workspace:
    directory: Path
    generation: subprocess.CompletedProcess[str]

    def run(self, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=self.directory,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=300,
            check=False,
        )


def _npx(*args: str) -> list[str]:
    return ["npx", "--no-install", *args]


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    if shutil.which("node") is None or shutil.which("npx") is None:
        pytest.skip("node is not installed here (.ci/run installs nodejs and npm, so CI never skips)")
    if not (TOOLCHAIN / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TOOLCHAIN, check=True, timeout=600)
    directory = tmp_path_factory.mktemp("ts-client")
    for name in ("package.json", "tsconfig.json", "scenario.ts"):
        shutil.copy(TOOLCHAIN / name, directory / name)
    (directory / "node_modules").symlink_to(TOOLCHAIN / "node_modules", target_is_directory=True)
    generation = subprocess.run(
        _npx("openapi-typescript", str(DOCUMENT), *GENERATE, "--output", str(directory / "schema.d.ts")),
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Workspace(directory, generation)


def test_openapi_typescript_types_every_operation(workspace: Workspace) -> None:
    printed = workspace.generation.stdout + workspace.generation.stderr
    assert workspace.generation.returncode == 0, printed
    assert "warn" not in printed.lower(), printed
    types = (workspace.directory / "schema.d.ts").read_text()
    document = json.loads(DOCUMENT.read_text())
    operations = [
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    missing = [name for name in operations if f"    {name}: {{" not in types]
    assert missing == []


def test_the_scenario_type_checks_strictly_against_the_generated_types(workspace: Workspace) -> None:
    checked = workspace.run(*_npx("tsc", "--noEmit", "--strict", "-p", "."))
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_the_scenario_runs_against_a_live_server(
    workspace: Workspace, live_url: str, park: Park
) -> None:
    compiled = workspace.run(*_npx("tsc", "--strict", "-p", "."))
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = workspace.run(
        "node",
        "out/scenario.js",
        env={
            "SYMBIOSE_URL": live_url,
            "NETWORK_ID": str(park.network),
            "GIVER_ID": str(park.giver),
            "GIVER_TOKEN": park.alice.token,
            "TAKER_ID": str(park.taker),
            "TAKER_TOKEN": park.tom.token,
            "OPERATOR_TOKEN": park.olga.token,
        },
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip().endswith("scenario completed")
