"""Logging under ``safe_tracker``, fork safety, and the README's Python example as written."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict

import pytest

import safe_tracker as st
from conftest import ROOT, Sim


def test_core_logs_reach_logging_without_the_token(sim: Sim, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(5, logger="safe_tracker")
    c = sim.client(1)
    c.item_by_seq(1)
    sim.fault(kind="status", status=503, count=1)
    c.item_by_seq(2)
    records = [r for r in caplog.records if r.name == "safe_tracker"]
    text = "\n".join(r.getMessage() for r in records)
    assert "items/seqOrgID/{n}" in text and "retrying" in text
    assert any(r.levelno == logging.DEBUG for r in records)
    assert "sim-token" not in text and "Bearer" not in text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_fork(sim: Sim) -> None:
    parent = sim.client(1)
    assert parent.item_by_seq(1) is not None
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            try:
                parent.item_by_seq(1)
                code = 3
            except RuntimeError as exc:
                if "fork" not in str(exc):
                    code = 4
            child = sim.client(1)
            if child.item_by_seq(2) is None:
                code = 5
        except BaseException:
            code = 6
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert parent.item_by_seq(3) is not None


def test_exit_with_an_asyncio_call_in_flight(sim: Sim) -> None:
    # The atexit hook stops the asyncio worker threads (dropping a call still in flight) before
    # Python is torn down, so no worker touches a finalizing interpreter; asyncio calls started
    # after it are refused. Run in a child: the hook is process-wide.
    sim.fault(kind="slow_headers", latency_ms=2000, count=1)
    script = (
        "import safe_tracker as st\n"
        "from safe_tracker import _native\n"
        f"c = st.AsyncClient(base_url={sim.base_url!r}, token='sim-token-org1', organization_id=1, "
        "office_id=101, requests_per_second=0)\n"
        "c._native.call_async('item_by_seq', '{\"seq\": 1}', lambda ok, payload: print('callback', flush=True))\n"
        "_native.shutdown_workers()\n"
        "try:\n"
        "    c._native.call_async('item_by_seq', '{\"seq\": 2}', lambda ok, payload: None)\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc, flush=True)\n"
        "print('exiting', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Fatal Python error" not in done.stderr
    assert done.stdout.splitlines() == ["refused: the Python interpreter is shutting down", "exiting"]


def readme_python(containing: str) -> str:
    """The README's Python example that contains ``containing``."""
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if containing in b]
    assert len(blocks) == 1, f"README has one Python example with {containing}"
    return str(blocks[0])


def test_readme_example_runs_as_written(sim: Sim, tmp_path: Path) -> None:
    script = tmp_path / "readme_example.py"
    script.write_text(readme_python("safe_tracker.FileCheckpoint("))
    env = dict(os.environ, SAFE_BASE_URL=sim.base_url, SAFE_TOKEN="sim-token-org2", SAFE_ORGANIZATION_ID="2", SAFE_OFFICE_ID="201", SAFE_REQUESTS_PER_SECOND="0")
    out = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "60 items" in out.stdout


def test_readme_fleet_example_runs_as_written_and_stops_on_sigterm(sim: Sim, tmp_path: Path) -> None:
    script = tmp_path / "readme_fleet.py"
    script.write_text(readme_python("safe_tracker.Fleet("))
    entries = []
    for org in (3, 4):
        (tmp_path / f"org{org}.token").write_text(f"sim-token-org{org}\n")
        entries.append(f'[[tenant]]\nname = "org{org}"\nbase_url = "{sim.base_url}"\norganization_id = {org}\n'
                       f'office_id = {org * 100 + 1}\ntoken_file = "org{org}.token"\nunsafe_min_interval = 0\n'
                       "interval = 1\njitter = 0\nrequests_per_second = 0\n")
    (tmp_path / "tenants.toml").write_text("\n".join(entries))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen: Dict[str, int] = {}
    # Bounded only to fail instead of hanging: after 60 s the script is told to stop anyway.
    guard = threading.Timer(60, proc.send_signal, args=(signal.SIGTERM,))
    guard.start()
    try:
        for line in proc.stdout:
            tenant = line.split()[0]
            seen[tenant] = seen.get(tenant, 0) + 1
            if seen.get("org3", 0) >= 60 and seen.get("org4", 0) >= 60:
                break
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    finally:
        guard.cancel()
        proc.kill()
    assert proc.returncode == 0, err
    assert seen.get("org3", 0) >= 60 and seen.get("org4", 0) >= 60, seen
    assert "'phase': 'running'" in rest, rest
    assert "sim-token" not in rest + err
    assert (tmp_path / "fleet-checkpoints.db").exists()
