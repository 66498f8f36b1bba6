"""Fleet and AsyncFleet against a simulator with several organisations: every record of every
tenant once, a restart delivers nothing again, a handler that raises stops only its tenant
(its record comes again), a cancelled asyncio handler gives its record back, a reload starts
an added tenant, bad options are refused. Waits are bounded only to fail instead of hanging."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple

import pytest

import safe_tracker as st

from conftest import Sim, running_simulator

ITEMS = 12


@pytest.fixture(scope="module")
def fleet_sim() -> Iterator[Sim]:
    with running_simulator("--orgs", "3", "--items", str(ITEMS), "--seed", "11") as s:
        yield s


def write_tenants(path: Path, sim: Sim, orgs: Iterable[int]) -> Path:
    entries = []
    for org in orgs:
        token = path.parent / f"org{org}.token"
        token.write_text(f"sim-token-org{org}\n")
        entries.append(
            f'[[tenant]]\nname = "org{org}"\nbase_url = "{sim.base_url}"\norganization_id = {org}\n'
            f'office_id = {org * 100 + 1}\ntoken_file = "{token.name}"\nunsafe_min_interval = 0\n'
            "interval = 1\njitter = 0\nrequests_per_second = 0\n")
    path.write_text("\n".join(entries))
    return path


def key(tenant: str, record: st.FleetRecord) -> Tuple[str, int]:
    item = record.item
    assert item is not None and item.id is not None
    return (tenant, item.id)


def collect(fleet: st.Fleet, want: int, threads: int = 2) -> Counter[Tuple[str, int]]:
    """Runs the fleet on ``threads`` threads until ``want`` records came (bounded)."""
    seen: Counter[Tuple[str, int]] = Counter()
    lock = threading.Lock()

    def handler(tenant: str, record: st.FleetRecord) -> None:
        assert isinstance(record, st.ItemRecord)
        with lock:
            seen[key(tenant, record)] += 1
            if sum(seen.values()) >= want:
                fleet.stop()

    workers = [threading.Thread(target=fleet.run, args=(handler,)) for _ in range(threads)]
    for w in workers:
        w.start()
    timer = threading.Timer(60, fleet.stop)
    timer.start()
    for w in workers:
        w.join()
    timer.cancel()
    return seen


def quiet(fleet: st.Fleet, seconds: float) -> List[Tuple[str, int]]:
    """What the fleet delivers within ``seconds`` (tenants sweep every second meanwhile)."""
    got: List[Tuple[str, int]] = []
    timer = threading.Timer(seconds, fleet.stop)
    timer.start()
    fleet.run(lambda tenant, record: got.append(key(tenant, record)))
    return got


def phase_reached(fleet: st.Fleet, tenant: str, phase: str) -> Dict[str, st.TenantState]:
    """Every tenant's state once ``tenant`` reached ``phase`` (the fleet records it just after
    the answer), or after 30 s."""
    deadline = threading.Event()
    timer = threading.Timer(30, deadline.set)
    timer.start()
    while True:
        states = {s["name"]: s for s in fleet.states()}
        if states[tenant]["phase"] == phase or deadline.wait(0.02):
            timer.cancel()
            return states


def test_every_record_once_and_a_restart_delivers_nothing_again(fleet_sim: Sim, tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants.toml", fleet_sim, [1, 2, 3])
    db = st.SqliteCheckpoint(str(tmp_path / "fleet.db"))
    with st.Fleet(str(tenants), checkpoint=db, max_requests_per_second=10_000) as fleet:
        seen = collect(fleet, 3 * ITEMS)
        assert len(seen) == 3 * ITEMS, seen
        assert set(seen.values()) == {1}, seen
        assert {t for t, _ in seen} == {"org1", "org2", "org3"}
    with st.Fleet(str(tenants), checkpoint=db, max_requests_per_second=10_000) as again:
        assert quiet(again, 2.5) == []
        states = again.states()
        assert sorted(s["name"] for s in states) == ["org1", "org2", "org3"]
        for s in states:
            assert s["cursor"] == ITEMS + 1, s
            assert s["phase"] == "running", s
            assert "sim-token" not in repr(s)
        assert "sim-token" not in repr(again)


def test_a_handler_that_raises_stops_its_tenant_alone_and_its_record_comes_again(fleet_sim: Sim, tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants.toml", fleet_sim, [1, 2])
    db = st.SqliteCheckpoint(str(tmp_path / "fleet.db"))
    failed: List[Tuple[str, int]] = []
    acked: Counter[Tuple[str, int]] = Counter()
    with st.Fleet(str(tenants), checkpoint=db, max_requests_per_second=10_000) as fleet:

        def handler(tenant: str, record: st.FleetRecord) -> None:
            if tenant == "org2" and not failed:
                failed.append(key(tenant, record))
                raise OSError("the RMS database is down")
            acked[key(tenant, record)] += 1
            if sum(acked.values()) >= ITEMS and failed:
                fleet.stop()

        timer = threading.Timer(60, fleet.stop)
        timer.start()
        fleet.run(handler)
        timer.cancel()
        assert failed, "org2 delivered"
        assert {t for t, _ in acked} == {"org1"}, acked
        state = phase_reached(fleet, "org2", "failed")
        assert state["org2"]["phase"] == "failed", state["org2"]
        error = state["org2"]["last_error"]
        assert error is not None and error["name"] == "Consumer"
        assert state["org1"]["phase"] != "failed"
    with st.Fleet(str(tenants), checkpoint=db, max_requests_per_second=10_000) as again:
        redelivered = collect(again, ITEMS)
        assert failed[0] in redelivered, "the failed record comes again"
        assert {t for t, _ in redelivered} == {"org2"}, "org1 was done"
        assert len(redelivered) == ITEMS and set(redelivered.values()) == {1}


def test_async_fleet_a_cancelled_handler_gives_its_record_back_and_a_reload_adds_a_tenant(fleet_sim: Sim, tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants.toml", fleet_sim, [1])

    async def main() -> Tuple[Counter[Tuple[str, int]], Tuple[str, int], Dict[str, List[str]]]:
        seen: Counter[Tuple[str, int]] = Counter()
        held = asyncio.Event()
        first: List[Tuple[str, int]] = []
        async with st.AsyncFleet(str(tenants), checkpoint=st.MemoryCheckpoint(), max_requests_per_second=10_000) as fleet:

            async def hold(tenant: str, record: st.FleetRecord) -> None:
                first.append(key(tenant, record))
                held.set()
                await asyncio.sleep(3600)

            holder = asyncio.create_task(fleet.run(hold))
            await asyncio.wait_for(held.wait(), 30)
            holder.cancel()
            with pytest.raises(asyncio.CancelledError):
                await holder

            done = asyncio.Event()

            async def handler(tenant: str, record: st.FleetRecord) -> None:
                await asyncio.sleep(0)
                seen[key(tenant, record)] += 1
                if len(seen) == 2 * ITEMS:
                    done.set()

            runners = [asyncio.create_task(fleet.run(handler)) for _ in range(2)]
            await asyncio.wait_for(_until(lambda: len(seen) >= ITEMS), 30)
            write_tenants(tenants, fleet_sim, [1, 2])
            applied = await fleet.reload()
            await asyncio.wait_for(done.wait(), 30)
            fleet.stop()
            await asyncio.wait_for(asyncio.gather(*runners), 30)
        return seen, first[0], applied

    seen, first, applied = asyncio.run(main())
    assert applied == {"started": ["org2"], "stopped": [], "restarted": []}
    assert first in seen, "the record of the cancelled handler came again"
    assert len(seen) == 2 * ITEMS and set(seen.values()) == {1}, seen


async def _until(cond: Any) -> None:
    while not cond():
        await asyncio.sleep(0.02)


def test_options_and_files_are_checked(fleet_sim: Sim, tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants.toml", fleet_sim, [1])
    with pytest.raises(TypeError, match="one store"):
        st.Fleet(str(tenants), checkpoint=st.CallbackCheckpoint(lambda k: None, lambda k, v: None))
    with pytest.raises(st.InvalidConfigError, match="a fleet's checkpoint is"):
        st.Fleet(str(tenants), checkpoint=st.FileCheckpoint(str(tmp_path / "c.json")))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tenant]]\nname = "x"\norganization_id = "one"\n')
    with pytest.raises(st.InvalidConfigError, match="organization_id"):
        st.Fleet(str(bad))
    fleet = st.Fleet(str(tenants))
    fleet.close()
    with pytest.raises(RuntimeError, match="closed"):
        fleet.states()
    fleet.close()  # twice is fine



def test_a_blocking_fleet_refuses_an_async_handler_and_gives_the_record_back(fleet_sim: Sim, tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants.toml", fleet_sim, [1])
    with st.Fleet(str(tenants), max_requests_per_second=10_000) as fleet:

        async def handler(tenant: str, record: st.FleetRecord) -> None:
            pass

        with pytest.raises(TypeError, match="AsyncFleet"):
            fleet.run(handler)

        async def later() -> None:
            pass

        # A plain function that returns a coroutine is caught once it returns: never awaited,
        # so never acknowledged; its record is given back.
        with pytest.raises(TypeError, match="AsyncFleet"):
            fleet.run(lambda tenant, record: later())
        seen = collect(fleet, ITEMS, threads=1)
        assert len(seen) == ITEMS and set(seen.values()) == {1}, seen
