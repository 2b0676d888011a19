"""openapi-python-client run as a user runs it, and the client it writes, imported from a directory.

The generator's own pinned version (the dev dependency) writes the package; nothing in it is edited.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
CONFIG = Path(__file__).resolve().parent / "openapi-python-client.yaml"
PACKAGE = "symbiose_client"

T = TypeVar("T")


@dataclass(frozen=True)
class GeneratedClient:
    """The generated package, importable from `directory`, and what the generator printed."""

    directory: Path
    output: str
    returncode: int

    def operation(self, name: str) -> ModuleType:
        """One operation's module, by `<tag>.<operation_id in snake_case>`: `transfers.accept_transfer`."""
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    @property
    def models(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.models")

    @property
    def client(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.client")

    @property
    def types(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.types")

    def warnings(self) -> list[str]:
        """Each warning the generator printed, with the line that says what it left out."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        found = []
        for index, line in enumerate(lines):
            if "warning" in line.lower():
                detail = lines[index + 1] if index + 1 < len(lines) else ""
                found.append(f"{line} {detail}" if line.startswith("WARNING parsing") else line)
        return found


def generate(target: Path, document: Path = DOCUMENT) -> GeneratedClient:
    """Run `openapi-python-client generate` on `document`, writing the package under `target`."""
    executable = Path(sys.executable).parent / "openapi-python-client"
    # The generator formats its output with ruff (a post hook); ruff sits beside it in the venv.
    env = {**os.environ, "PATH": f"{executable.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    completed = subprocess.run(
        [
            str(executable),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(target / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return GeneratedClient(target, completed.stdout + completed.stderr, completed.returncode)


def parsed(response: Any, status: int, model: type[T]) -> T:
    """The typed body of a generated client's `Response`, after checking its status and model."""
    assert response.status_code == status, f"{response.status_code}: {response.content!r}"
    body = response.parsed
    assert isinstance(body, model), f"expected {model.__name__}, parsed {type(body).__name__}: {body!r}"
    return body
