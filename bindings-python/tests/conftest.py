"""Starts one simulator per session (port 0) and gives each test a clean slate."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

import safe_tracker as st

ROOT = Path(__file__).resolve().parents[2]


def simulator_binary() -> str:
    env = os.environ.get("SAFE_SIMULATOR_BIN")
    if env:
        return env
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "x86_64-unknown-linux-gnu" / "debug" / "safe-simulator")


class Sim:
    """A running simulator and its admin API."""

    def __init__(self, base_url: str, creds: Dict[str, Any]) -> None:
        self.base_url = base_url
        self.root = base_url[: -len("api/")]
        self.creds = creds

    def admin(self, path: str, body: Optional[Any] = None, method: Optional[str] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + "__admin/" + path, data=data, method=method or ("POST" if data is not None else "GET"))
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read() or b"null")

    def fault(self, **rule: Any) -> None:
        self.admin("faults", rule)

    def count(self, route: str) -> int:
        return int(self.admin("stats")["per_route"].get(route, 0))

    def client(self, org: int = 1, **kw: Any) -> st.Client:
        kw.setdefault("requests_per_second", 0)
        kw.setdefault("max_attempts", 3)
        kw.setdefault("backoff_base", 0.001)
        kw.setdefault("backoff_max", 0.005)
        return st.Client(base_url=self.base_url, token=f"sim-token-org{org}", organization_id=org, office_id=org * 100 + 1, **kw)

    def async_client(self, org: int = 1, **kw: Any) -> st.AsyncClient:
        kw.setdefault("requests_per_second", 0)
        kw.setdefault("max_attempts", 3)
        kw.setdefault("backoff_base", 0.001)
        return st.AsyncClient(base_url=self.base_url, token=f"sim-token-org{org}", organization_id=org, office_id=org * 100 + 1, **kw)


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    proc = subprocess.Popen(
        [simulator_binary(), "--orgs", "8", "--items", "60", "--seed", "11"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    creds = json.loads(proc.stdout.readline())
    try:
        yield Sim(base_url, creds)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(autouse=True)
def clean(sim: Sim) -> Iterator[None]:
    sim.admin("faults", method="DELETE")
    sim.admin("stats/reset", {})
    yield
    sim.admin("faults", method="DELETE")
    sim.admin("options", {"blank_style": "empty_body", "item_shape": "object", "police_per_minute": None, "licence_status": 403, "conflict_status": 409})


@pytest.fixture
def client(sim: Sim) -> st.Client:
    return sim.client(1)


@pytest.fixture(scope="session")
def vectors() -> Dict[str, Any]:
    return json.loads((ROOT / "tests" / "conformance" / "vectors.json").read_text())  # type: ignore[no-any-return]
