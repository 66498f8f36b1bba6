"""Host code never runs on a thread the SDK's runtime needs. A blocking ``Client``'s threads
share one runtime: an ``on_event`` listener or a record handler that blocks on one thread must
not stall another thread's call on the same client. Causal, not timed: the other call must
finish while the listener is still held on an event this test controls (the waits below only
bound a failure)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, Iterator, List

import pytest

import safe_tracker as st
from conftest import Sim, running_simulator


@pytest.fixture(scope="module")
def world() -> Iterator[Sim]:
    """A simulator of its own (four organisations of 20 items no other test changes)."""
    with running_simulator("--orgs", "4", "--items", "20", "--seed", "3") as s:
        yield s


def test_a_blocked_event_listener_does_not_stall_another_threads_call(world: Sim) -> None:
    client = world.client(1)
    entered, release = threading.Event(), threading.Event()
    listener_threads: List[int] = []

    def on_event(e: Dict[str, Any]) -> None:
        listener_threads.append(threading.get_ident())
        if e["event"] == "sweep_started" and not entered.is_set():
            entered.set()
            assert release.wait(120), "never released"

    poller = st.Poller(client, unsafe_min_interval=0, on_event=on_event)
    reports: List[Any] = []
    sweeper = threading.Thread(target=lambda: reports.append(poller.sweep(lambda r: None)))
    sweeper.start()
    try:
        assert entered.wait(120), "the listener was never called"
        answers: List[Any] = []
        other = threading.Thread(target=lambda: answers.append(client.item_by_seq(2)))
        other.start()
        other.join(120)  # with the listener on the runtime's thread this would never end
        done_while_blocked = not other.is_alive()
    finally:
        release.set()
    sweeper.join(120)
    other.join(120)
    assert done_while_blocked, "another thread's call waited for the blocked listener"
    assert answers[0] is not None and answers[0].sequential_org_id == 2
    assert reports and reports[0]["summary"]["items"] == 20
    assert set(listener_threads) == {sweeper.ident}, "listeners run on the sweeping thread"


def test_a_blocked_record_handler_does_not_stall_another_threads_call(world: Sim) -> None:
    client = world.client(2)
    entered, release = threading.Event(), threading.Event()

    def handler(record: st.ItemRecord) -> None:
        if not entered.is_set():
            entered.set()
            assert release.wait(120), "never released"

    poller = st.Poller(client, unsafe_min_interval=0)
    sweeper = threading.Thread(target=lambda: poller.sweep(handler))
    sweeper.start()
    try:
        assert entered.wait(120)
        other = threading.Thread(target=lambda: client.lookup("genders"))
        other.start()
        other.join(120)
        done_while_blocked = not other.is_alive()
    finally:
        release.set()
    sweeper.join(120)
    assert done_while_blocked
    assert poller.status()["cursor"] == 21


def test_asyncio_listeners_run_on_the_event_loop(world: Sim) -> None:
    async def main() -> None:
        threads: List[int] = []
        poller = st.AsyncPoller(world.async_client(3), unsafe_min_interval=0,
                                on_event=lambda e: threads.append(threading.get_ident()))
        report = await poller.sweep_with(lambda r: None)
        assert report is not None and report["summary"]["items"] == 20
        assert threads and set(threads) == {threading.get_ident()}

    asyncio.run(main())


def test_a_newer_sweep_supersedes_the_older_one(world: Sim) -> None:
    # Two loops over one poller can never acknowledge each other's records: the older one's
    # calls are refused, and its unacknowledged record is delivered again to the newer one.
    poller = st.Poller(world.client(4), unsafe_min_interval=0)
    first = poller.sweep()
    assert next(first).sequential_org_id == 1
    assert next(first).sequential_org_id == 2  # 1 acknowledged
    second = poller.sweep()
    assert next(second).sequential_org_id == 2  # 2 was never acknowledged
    with pytest.raises(st.CheckpointError, match="superseded"):
        next(first)
    assert [r.sequential_org_id for r in second] == list(range(3, 21))
    assert poller.status()["cursor"] == 21
