"""Python workloads of `make bench`: the binding's pollers, and the loops a user would
otherwise write (requests, httpx). Prints {"items": n, "seconds": s}."""

import asyncio
import json
import sys
import time

MODE, BASE, ITEMS = sys.argv[1], sys.argv[2], int(sys.argv[3])
READ_AHEAD = int(sys.argv[4]) if len(sys.argv) > 4 else 0
EXPAND = len(sys.argv) > 5 and sys.argv[5] == "expand"
HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "Bearer sim-token-org1",
    "OrganizationId": "1",
    "OfficeId": "101",
    "StaticToken": "true",
}


def baseline(session_get) -> int:
    n = 0
    seq = 1
    while True:
        r = session_get(f"{BASE}items/seqOrgID/{seq}")
        if r.status_code != 200 or not r.content.strip():
            break
        item = r.json()
        if not item:
            break
        if EXPAND:
            session_get(f"{BASE}formdata/{item['id']}").json()
            session_get(f"{BASE}cases/{item['primaryCaseId']}").json()
            session_get(f"{BASE}cases/{item['primaryCaseId']}/people").json()
            session_get(f"{BASE}items/{item['id']}/coc").json()
        n += 1
        seq += 1
    return n


def main() -> None:
    started = time.perf_counter()
    if MODE in ("client", "async"):
        import safe_tracker as st
        kw = dict(base_url=BASE, token="sim-token-org1", organization_id=1, office_id=101, requests_per_second=0)
        expand = ["all"] if EXPAND else None
        if MODE == "client":
            poller = st.Poller(st.Client(**kw), read_ahead=READ_AHEAD, expand=expand)
            n = sum(1 for _ in poller.sweep())
        else:
            async def run() -> int:
                poller = st.AsyncPoller(st.AsyncClient(**kw), read_ahead=READ_AHEAD, expand=expand)
                count = 0
                async for _ in poller.sweep():
                    count += 1
                return count
            n = asyncio.run(run())
    elif MODE == "requests":
        import requests
        s = requests.Session()
        s.headers.update(HEADERS)
        n = baseline(s.get)
    elif MODE == "httpx":
        import httpx
        with httpx.Client(headers=HEADERS) as c:
            n = baseline(c.get)
    else:
        raise SystemExit(f"unknown mode {MODE}")
    print(json.dumps({"items": n, "seconds": time.perf_counter() - started}))


main()
