"""The shared fault matrix (tests/conformance/vectors.json) through the Python binding: typed
errors or successful retries, request counts within the retry policy, and a checkpoint that
never passes an undelivered item."""

from __future__ import annotations

from typing import Any, Dict, List

import safe_tracker as st
from conftest import Sim

SEQ = "/api/items/seqOrgID/{n}"
ITEMS = 60


def test_fault_matrix(sim: Sim, vectors: Dict[str, Any]) -> None:
    matrix = vectors["fault_matrix"]
    cfg = matrix["client"]
    client = st.Client(
        base_url=sim.base_url, token="sim-token-org2", organization_id=2, office_id=201, requests_per_second=0,
        max_attempts=cfg["max_attempts"], attempt_timeout=cfg["attempt_timeout_ms"] / 1000,
        backoff_base=cfg["base_delay_ms"] / 1000, backoff_max=cfg["max_delay_ms"] / 1000,
        retry_after_cap=cfg["retry_after_cap_ms"] / 1000, max_body_bytes=cfg["max_body_bytes"],
    )
    for case in matrix["cases"]:
        sim.admin("faults", method="DELETE")
        sim.fault(**dict(case["rule"], path_contains="seqOrgID/5"))
        sim.admin("stats/reset", {})
        poller = st.Poller(client, unsafe_min_interval=0)
        seen: List[int] = []
        try:
            poller.sweep(lambda r: seen.append(r.sequential_org_id or 0))
            outcome = "ok"
        except st.SafeError as err:
            outcome = type(err).__name__[: -len("Error")]
        name = case["name"]
        assert outcome == case["expect"], name
        requests = sim.count(SEQ) - (ITEMS if outcome == "ok" else 4)
        assert requests == case["requests"], f"{name}: {requests} requests"
        if outcome == "ok":
            assert seen == list(range(1, ITEMS + 1)), name
        else:
            assert seen == [1, 2, 3, 4], name
            assert poller.status()["cursor"] == 5, name
        poller.close()
