"""Running the official JavaScript clients from the tests: where they are, and skipping clearly where not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parent
NODE_MODULES = JS_DIR / "node_modules"


def require_package(name: str) -> Path:
    """The installed npm package folder, or skip saying how to install it."""
    folder = NODE_MODULES / name
    if not (folder / "package.json").exists():
        pytest.skip(f"npm package {name!r} is not installed: run `npm ci` in {JS_DIR} (.ci/setup.d/npm-clients.sh)")
    return folder


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (apt-get install nodejs npm)")
    return node


def run_node_client(token: str, config: dict[str, Any], calls: list[list[Any]], *,
                    ca_path: str | None = None) -> list[dict[str, Any]]:
    """Drive the official Node client (``node_client.js``); one result per call (``error`` None on success)."""
    node = require_node()
    require_package("mixpanel")
    env = {**os.environ}
    if ca_path:
        env["NODE_EXTRA_CA_CERTS"] = ca_path  # Node's own way to trust an extra CA: the client is unchanged
    spec = json.dumps({"token": token, "config": config, "calls": calls})
    done = subprocess.run([node, str(JS_DIR / "node_client.js"), spec], capture_output=True, text=True,
                          timeout=60, env=env, cwd=JS_DIR)
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return results
