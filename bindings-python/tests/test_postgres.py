"""PostgresCheckpoint against a real PostgreSQL server (a throw-away cluster,
``safe-test-postgres``) and the simulator: one owner per unit (a second process is refused,
naming the holder), the checkpoint resumes in the next owner once the lease ran out, and the
password never shows."""

from __future__ import annotations

import subprocess
import time
from typing import Iterator

import pytest

import safe_tracker as st

from conftest import Sim, target_binary


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    proc = subprocess.Popen([target_binary("safe-test-postgres", "SAFE_TEST_POSTGRES_BIN")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("postgres://"), url
    try:
        yield url
    finally:
        proc.stdin.close()  # the cluster stops and is removed
        proc.wait(timeout=60)


def test_one_owner_per_unit_and_the_next_resumes_the_checkpoint(sim: Sim, pg_url: str) -> None:
    first = st.Poller(sim.client(6), checkpoint=st.PostgresCheckpoint(pg_url, "org6", owner="worker-a", lease_ttl=1),
                      unsafe_min_interval=0)
    with pytest.raises(st.FencedError, match="worker-a"):
        st.Poller(sim.client(6), checkpoint=st.PostgresCheckpoint(pg_url, "org6", owner="worker-b"), unsafe_min_interval=0)
    report = first.sweep(lambda record: None)
    assert report is not None and report["summary"]["items"] == 60
    first.close()
    del first
    # Renewed while the poller lived; given up with it, the unit is free once its lease ran out.
    time.sleep(1.5)
    second = st.Poller(sim.client(6), checkpoint=st.PostgresCheckpoint(pg_url, "org6", owner="worker-b"),
                       unsafe_min_interval=0)
    assert second.status()["cursor"] == 61, "resumed from PostgreSQL"
    assert second.sweep(lambda record: None) is not None
    second.close()


def test_the_password_never_shows(pg_url: str, sim: Sim) -> None:
    cp = st.PostgresCheckpoint("postgres://rms:hunter2-secret@127.0.0.1:1/safe?sslmode=disable", "org7")
    assert "hunter2-secret" not in repr(cp)
    with pytest.raises(st.SafeError) as caught:
        st.Poller(sim.client(7), checkpoint=cp)
    assert "hunter2-secret" not in str(caught.value) and "hunter2-secret" not in repr(caught.value)
    assert "rms@127.0.0.1:1/safe" in str(caught.value)


def test_the_streams_of_a_unit_share_its_lease(sim: Sim, pg_url: str) -> None:
    # Both pollers of one process and unit (new and updated items) under the process's owner
    # id: one lease, and both save through it.
    cp = st.PostgresCheckpoint(pg_url, "org8")
    items = st.Poller(sim.client(8), checkpoint=cp, unsafe_min_interval=0)
    updated = st.UpdatedPoller(sim.client(8), checkpoint=cp, unsafe_min_interval=0)
    assert items.sweep(lambda record: None) is not None
    assert updated.sweep(lambda record: None) is not None
    assert items.status()["cursor"] > 1
    items.close()
    updated.close()
