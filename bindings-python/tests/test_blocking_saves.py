"""A checkpoint save that blocks (the host's own database, an fsync) never stalls the other
calls of an ``AsyncClient``: while two pollers' saves are blocked on events this test holds
(as many as the client's worker threads), an unrelated call completes. Causal, not timed."""

from __future__ import annotations

import asyncio
import threading
from typing import List, Optional

import safe_tracker as st
from conftest import running_simulator


def test_an_unrelated_call_completes_while_saves_are_blocked() -> None:
    release = threading.Event()
    entered: List[threading.Event] = [threading.Event(), threading.Event()]

    def store(i: int) -> st.CallbackCheckpoint:
        first = [True]

        def load(key: str) -> Optional[str]:
            return None

        def save(key: str, state: str) -> None:
            if first[0]:
                first[0] = False
                entered[i].set()
                assert release.wait(120), "never released"

        return st.CallbackCheckpoint(load, save)

    with running_simulator("--orgs", "2", "--items", "3", "--seed", "5") as sim:

        async def main() -> None:
            clients = [sim.async_client(1), sim.async_client(2)]
            pollers = [
                st.AsyncPoller(clients[i], checkpoint=store(i), unsafe_min_interval=0) for i in range(2)
            ]
            sweeps = [asyncio.ensure_future(p.sweep_with(lambda r: None)) for p in pollers]
            loop = asyncio.get_running_loop()
            for e in entered:
                assert await loop.run_in_executor(None, e.wait, 120), "the save was never called"
            try:
                # A deadlock guard, not a time limit on speed: with the saves on the client's
                # worker threads this call would never run.
                genders = await asyncio.wait_for(clients[0].lookup("genders"), 120)
                assert genders
                assert not any(s.done() for s in sweeps), "the saves are still blocked"
            finally:
                release.set()
            reports = await asyncio.gather(*sweeps)
            assert [r["summary"]["items"] for r in reports if r is not None] == [3, 3]

        asyncio.run(main())
