"""The poller from Python: acknowledgement follows the loop, sync and async, handlers,
run_forever, every checkpoint store, and the updated-items stream."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import safe_tracker as st
from conftest import Sim


def test_loop_body_exception_leaves_record_unacknowledged(sim: Sim, tmp_path: Path) -> None:
    cp = st.FileCheckpoint(str(tmp_path / "cp.json"))
    poller = st.Poller(sim.client(2), checkpoint=cp, unsafe_min_interval=0)
    seen: List[int] = []
    with pytest.raises(RuntimeError):
        for record in poller.sweep():
            assert record.sequential_org_id is not None
            seen.append(record.sequential_org_id)
            if record.sequential_org_id == 7:
                raise RuntimeError("RMS down")
    assert seen == list(range(1, 8))
    assert poller.status()["cursor"] == 7, "7 was not acknowledged"
    # break also leaves the current record unacknowledged
    for record in poller.sweep():
        if record.sequential_org_id == 9:
            break
    assert poller.status()["cursor"] == 9
    rest = [r.sequential_org_id for r in poller.sweep()]
    assert rest == list(range(9, 61))
    assert poller.status()["cursor"] == 61
    saved = json.loads((tmp_path / "cp.json").read_text())
    assert saved["state"]["cursor"] == 61


def test_handler_form_report_and_expand(sim: Sim) -> None:
    poller = st.Poller(sim.client(3), expand=["form_data", "case", "people", "custody"], unsafe_min_interval=0)
    assert poller.plan() is not None
    records: List[st.ItemRecord] = []
    report = poller.sweep(records.append)
    assert report is not None and report["summary"]["items"] == 60
    r = records[0]
    assert r.item is not None and r.item.id is not None
    assert r.key == st.RecordKey(3, item_id=r.item.id) and r.dedupe_key == r.key and r.sequential_org_id == 1
    assert len({x.key for x in records}) == 60
    assert r.item is not None and r.case is not None and r.case.id == r.item.primary_case_id
    assert r.form_data and r.form_data[0].data and r.people and r.custody
    assert sim.count("/api/items/seqOrgID/{n}") == 61


def test_async_for_and_async_handler(sim: Sim) -> None:
    async def main() -> None:
        client = sim.async_client(4)
        poller = st.AsyncPoller(client, unsafe_min_interval=0)
        got: List[int] = []
        async for record in poller.sweep():
            assert record.sequential_org_id is not None
            got.append(record.sequential_org_id)
            if len(got) == 10:
                break
        assert poller.status()["cursor"] == 10
        handled: List[int] = []

        async def handler(record: st.ItemRecord) -> None:
            await asyncio.sleep(0)
            handled.append(record.sequential_org_id or 0)

        await poller.sweep_with(handler)
        assert handled == list(range(10, 61))
    asyncio.run(main())


def test_async_handler_failure_keeps_checkpoint(sim: Sim) -> None:
    async def main() -> None:
        poller = st.AsyncPoller(sim.async_client(5), unsafe_min_interval=0)

        async def handler(record: st.ItemRecord) -> None:
            if record.sequential_org_id == 4:
                raise ValueError("nope")

        with pytest.raises(st.ConsumerError):
            await poller.sweep_with(handler)
        assert poller.status()["cursor"] == 4
    asyncio.run(main())


def test_run_forever_and_events(sim: Sim) -> None:
    events: List[Dict[str, Any]] = []
    finished = 0

    def on_event(e: Dict[str, Any]) -> None:
        nonlocal finished
        events.append(e)
        if e["event"] == "sweep_finished":
            finished += 1
            if finished == 2:
                poller.cancel()

    poller = st.Poller(sim.client(6), unsafe_min_interval=0, interval=0.05, jitter=0, on_event=on_event)
    got: List[int] = []
    poller.run_forever(lambda r: got.append(r.sequential_org_id or 0))
    assert got == list(range(1, 61))
    assert finished == 2
    assert events[0] == {"event": "sweep_started", "cursor": 1}


def test_run_forever_follows_the_cores_decisions(sim: Sim) -> None:
    # The core's driver decides after each sweep: a transient failure sweeps again (after
    # the backoff: one interval for the first failure), an account error stops the loop.
    p = st.Poller(sim.client(8), unsafe_min_interval=0, interval=0.05, jitter=0)
    native = p._native
    assert native.decide(None) == "continue"
    assert native.decide(st.ServerError.code) == "back_off"
    assert native.decide(st.LicenseUnavailableError.code) == "stop"
    assert native.decide(st.CheckpointError.code) == "stop"
    assert native.decide(st.CancelledError.code) == "cancelled"
    p.close()

    poller = st.Poller(sim.client(8), unsafe_min_interval=0, interval=0.05, jitter=0)
    sim.fault(kind="status", status=500, path_contains="seqOrgID/1", count=3)  # one failed sweep
    got: List[int] = []

    def handler(r: st.ItemRecord) -> None:
        got.append(r.sequential_org_id or 0)
        if len(got) == 60:
            sim.fault(kind="no_licence")

    with pytest.raises(st.LicenseUnavailableError):
        poller.run_forever(handler)
    assert got == list(range(1, 61)), "the failed sweep was retried, then the licence stopped it"
    assert sim.count("/api/items/seqOrgID/{n}") >= 3 + 60


def test_sqlite_and_callback_checkpoints(sim: Sim, tmp_path: Path) -> None:
    db = tmp_path / "cp.db"
    p = st.Poller(sim.client(7), checkpoint=st.SqliteCheckpoint(str(db)), unsafe_min_interval=0)
    assert len(list(p.sweep())) == 60
    del p
    row = sqlite3.connect(db).execute("select state from safe_tracker_checkpoints").fetchone()
    assert json.loads(row[0])["cursor"] == 61

    store: Dict[str, str] = {}

    def load(key: str) -> Optional[str]:
        return store.get(key)

    def save(key: str, state: str) -> None:
        store[key] = state

    p2 = st.Poller(sim.client(8), checkpoint=st.CallbackCheckpoint(load, save), unsafe_min_interval=0)
    for r in p2.sweep():
        if r.sequential_org_id == 20:
            break
    (key,) = store
    assert key.endswith("|8|801|items")
    assert json.loads(store[key])["cursor"] == 20

    def bad_save(key: str, state: str) -> None:
        raise OSError("read-only")

    del p2
    p3 = st.Poller(sim.client(8), checkpoint=st.CallbackCheckpoint(load, bad_save), unsafe_min_interval=0)
    with pytest.raises(st.CheckpointError):
        list(p3.sweep())


def test_updated_poller(sim: Sim) -> None:
    client = sim.client(1)
    up = st.UpdatedPoller(client, since="2025-01-01T00:00:00Z", unsafe_min_interval=0)
    list(up.sweep())
    sim.admin("orgs/1/items/5/touch", {})
    got = [r.item.sequential_org_id for r in up.sweep() if r.item]
    assert got == [5]
    assert up.status()["watermark"] is not None
    assert list(up.sweep()) == []


def test_async_poller_refuses_a_blocking_client(sim: Sim) -> None:
    with pytest.raises(TypeError, match="AsyncClient"):
        st.AsyncPoller(sim.client(1), unsafe_min_interval=0)  # type: ignore[arg-type]
    # The other way round works: a blocking sweep over an AsyncClient's connections.
    poller = st.Poller(sim.async_client(1), unsafe_min_interval=0)  # type: ignore[arg-type]
    assert [r.sequential_org_id for r in poller.sweep()][:3] == [1, 2, 3]
