"""Starts one simulator per session (port 0) and gives each test a clean slate."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

import safe_tracker as st

ROOT = Path(__file__).resolve().parents[2]


def target_binary(name: str, env_var: str) -> str:
    """A test binary of the workspace (``env_var`` overrides where it is)."""
    env = os.environ.get(env_var)
    if env:
        return env
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "x86_64-unknown-linux-gnu" / "debug" / name)


def simulator_binary() -> str:
    return target_binary("safe-simulator", "SAFE_SIMULATOR_BIN")


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

    def clear_faults(self) -> None:
        self.admin("faults", method="DELETE")

    def duplicate(self, org: int, seq: int, hidden: bool = False) -> Dict[str, Any]:
        """Gives number ``seq`` one more item: ``{"seq", "id", "ids"}``."""
        return self.admin(f"orgs/{org}/items/{seq}/duplicate", {"hidden": True} if hidden else {})  # type: ignore[no-any-return]

    def item_action(self, org: int, seq: int, action: str, id: Optional[int] = None) -> Any:
        """``hide``, ``show`` or ``touch`` the items of ``seq`` (or only item ``id``)."""
        query = "" if id is None else f"?id={id}"
        return self.admin(f"orgs/{org}/items/{seq}/{action}{query}", {})

    def delete_item(self, org: int, seq: int, id: Optional[int] = None) -> Any:
        query = "" if id is None else f"?id={id}"
        return self.admin(f"orgs/{org}/items/{seq}{query}", method="DELETE")

    def renumber(self, org: int, item_id: int, to: int) -> Dict[str, Any]:
        """Moves item ``item_id`` to number ``to``: ``{"id", "from", "to", "ids_at_to"}``."""
        return self.admin(f"orgs/{org}/item-ids/{item_id}/renumber", {"to": to})  # type: ignore[no-any-return]

    def corrupt_form(self, org: int, item_id: int, data: Optional[str] = None) -> Dict[str, Any]:
        """Gives item ``item_id``'s first form an invalid ``data`` (default ``{"field2849":``):
        ``{"id", "data"}``."""
        return self.admin(f"orgs/{org}/item-ids/{item_id}/corrupt-form", {} if data is None else {"data": data})  # type: ignore[no-any-return]

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


@contextlib.contextmanager
def running_simulator(*args: str) -> Iterator[Sim]:
    """Starts a simulator with ``args`` on port 0; stops it on exit."""
    proc = subprocess.Popen(
        [simulator_binary(), *args],
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


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    with running_simulator("--orgs", "8", "--items", "60", "--seed", "11") as s:
        yield s


@pytest.fixture(autouse=True)
def clean(sim: Sim) -> Iterator[None]:
    sim.admin("faults", method="DELETE")
    sim.admin("stats/reset", {})
    yield
    # A poller left in a reference cycle (a closure seen by a caught exception's traceback)
    # holds its one-poller lock until collected: collect now, not in some later test.
    gc.collect()
    sim.admin("faults", method="DELETE")
    sim.admin("options", {"blank_style": "empty_body", "item_shape": "object", "police_per_minute": None, "licence_status": 403, "conflict_status": 409})


@pytest.fixture
def client(sim: Sim) -> st.Client:
    return sim.client(1)


@pytest.fixture(scope="session")
def vectors() -> Dict[str, Any]:
    return json.loads((ROOT / "tests" / "conformance" / "vectors.json").read_text())  # type: ignore[no-any-return]
