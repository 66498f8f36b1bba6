"""Sequence numbers that repeat, move and break, against a simulator of their own: a number
held by two items, a SIGKILL between them, a renumbered item, a corrupt form, and an operator
skipping an undecodable item."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import safe_tracker as st
from conftest import Sim, running_simulator

ITEMS = 30


@pytest.fixture(scope="module")
def world() -> Iterator[Sim]:
    """Ten organisations of 30 items; each test takes its own organisation."""
    with running_simulator("--orgs", "10", "--items", str(ITEMS), "--seed", "13") as s:
        yield s


@pytest.fixture(autouse=True)
def no_faults(world: Sim) -> Iterator[None]:
    world.clear_faults()
    yield
    world.clear_faults()


def vector_event(vectors: Dict[str, Any], tag: str) -> Dict[str, Any]:
    (case,) = [c for c in vectors["events"]["cases"] if c["event"] == tag]
    return case  # type: ignore[no-any-return]


def test_two_items_under_one_number_deliver_both(world: Sim, vectors: Dict[str, Any]) -> None:
    org = 1
    dup = world.duplicate(org, 12)
    ids = sorted(dup["ids"])
    assert len(ids) == 2 and dup["id"] in ids
    events: List[Dict[str, Any]] = []
    poller = st.Poller(world.client(org), unsafe_min_interval=0, on_event=events.append)
    records: List[st.ItemRecord] = []
    report = poller.sweep(records.append)
    assert [r.sequential_org_id for r in records] == [*range(1, 13), 12, *range(13, ITEMS + 1)]
    at12 = [r for r in records if r.sequential_org_id == 12]
    assert [r.item.id for r in at12 if r.item] == ids, "ascending id"
    assert [r.key for r in at12] == [st.RecordKey(org, item_id=i) for i in ids]
    assert len({r.key for r in records}) == ITEMS + 1, "every key distinct"
    assert report is not None
    assert report["summary"]["outcome"] == {"outcome": "completed"}, "the sweep reached the blank"
    assert report["summary"]["duplicate_numbers"] == 1 and report["summary"]["items"] == ITEMS + 1
    status = poller.status()
    assert status["cursor"] == ITEMS + 1 and status["duplicate_numbers"] == 1
    assert status["partial"] is None and status["stuck"] is None and status["skipped"] == []
    dup_events = [e for e in events if e["event"] == "duplicate_number"]
    assert dup_events == [{"event": "duplicate_number", "seq": 12, "ids": ids}]
    assert set(dup_events[0]) == set(vector_event(vectors, "duplicate_number"))
    assert [e for e in report["events"] if e["event"] == "duplicate_number"] == dup_events
    poller.close()

    client = world.client(org)
    assert [i.id for i in client.items_by_seq(12)] == ids
    assert [i.sequential_org_id for i in client.items_by_seq(12)] == [12, 12]
    assert [i.id for i in client.items_by_seq(13)] == [at.item.id for at in records if at.sequential_org_id == 13 and at.item]
    assert client.items_by_seq(ITEMS + 5) == []
    assert client.item_by_seq(ITEMS + 5) is None
    one = client.item_by_seq(13)
    assert one is not None and one.sequential_org_id == 13
    with pytest.raises(st.DuplicateNumberError) as info:
        client.item_by_seq(12)
    err = info.value
    assert isinstance(err, st.SafeError) and err.code == 32 == st.DuplicateNumberError.code
    assert err.seq == 12 and err.ids == ids
    assert "items_by_seq" in str(err) and str(ids[0]) in str(err)
    assert st.ERRORS_BY_CODE[32] is st.DuplicateNumberError
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is st.DuplicateNumberError and clone.seq == 12 and clone.ids == ids
    assert clone.message == err.message and clone.path == err.path
    assert "sim-token" not in repr(err) and "ids=" in repr(err)

    async def main() -> None:
        aclient = world.async_client(org)
        assert [i.id for i in await aclient.items_by_seq(12)] == ids
        with pytest.raises(st.DuplicateNumberError) as ainfo:
            await aclient.item_by_seq(12)
        assert ainfo.value.seq == 12 and ainfo.value.ids == ids
        apoller = st.AsyncPoller(aclient, unsafe_min_interval=0)
        got = [(r.sequential_org_id, r.key) async for r in apoller.sweep()]
        assert got == [(r.sequential_org_id, r.key) for r in records]
        apoller.close()

    asyncio.run(main())


CHILD = textwrap.dedent(
    '''
    """Polls with a file checkpoint into a SQLite store upserted by record.key; with a kill
    number, dies by SIGKILL on the second item of that number after storing it and before
    acknowledging it."""
    import json, os, signal, sqlite3, sys

    import safe_tracker as st

    base_url, org, checkpoint, store, kill_seq = sys.argv[1:6]
    org, kill_seq = int(org), int(kill_seq)
    db = sqlite3.connect(store)
    db.execute("create table if not exists items (key text primary key, item_id integer, seq integer,"
               " deliveries integer not null)")
    db.execute("create table if not exists log (n integer primary key autoincrement, pid integer, key text, seq integer)")
    db.commit()
    client = st.Client(base_url=base_url, token=f"sim-token-org{org}", organization_id=org,
                       office_id=org * 100 + 1, requests_per_second=0)
    poller = st.Poller(client, checkpoint=st.FileCheckpoint(checkpoint), unsafe_min_interval=0)
    at_kill = 0
    for record in poller.sweep():
        key = str(record.key)
        with db:
            db.execute("insert into items values (?, ?, ?, 1) on conflict(key) do update set"
                       " seq = excluded.seq, item_id = excluded.item_id, deliveries = deliveries + 1",
                       (key, record.item.id if record.item else None, record.sequential_org_id))
            db.execute("insert into log (pid, key, seq) values (?, ?, ?)", (os.getpid(), key, record.sequential_org_id))
        if record.sequential_org_id == kill_seq:
            at_kill += 1
            if at_kill == 2:
                os.kill(os.getpid(), signal.SIGKILL)
    print(json.dumps(poller.status()))
    '''
)


def test_sigkill_between_the_two_items_of_one_number(world: Sim, tmp_path: Path) -> None:
    org, seq = 2, 17
    ids = sorted(world.duplicate(org, seq)["ids"])
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    checkpoint, store = tmp_path / "cp.json", tmp_path / "store.db"

    def child(kill_seq: int) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(
            [sys.executable, str(script), world.base_url, str(org), str(checkpoint), str(store), str(kill_seq)],
            capture_output=True, text=True, timeout=120,
        )

    first = child(seq)
    assert first.returncode == -signal.SIGKILL, first.stderr
    saved = json.loads(checkpoint.read_text())["state"]
    assert saved["cursor"] == seq, "the number is not passed before all its items are acknowledged"
    assert saved["partial"] == {"seq": seq, "done": [ids[0]], "done_without_id": 0}

    # A fresh poller in this process sees the partly delivered number, then lets go.
    peek = st.Poller(world.client(org), checkpoint=st.FileCheckpoint(str(checkpoint)), unsafe_min_interval=0)
    assert peek.status()["partial"] == {"seq": seq, "done": [ids[0]], "done_without_id": 0}
    peek.close()
    del peek

    second = child(0)
    assert second.returncode == 0, second.stderr
    status = json.loads(second.stdout)
    assert status["cursor"] == ITEMS + 1 and status["partial"] is None

    db = sqlite3.connect(store)
    log = db.execute("select pid, key, seq from log order by n").fetchall()
    pids = list(dict.fromkeys(pid for pid, _, _ in log))
    assert len(pids) == 2
    run1 = [(k, s) for p, k, s in log if p == pids[0]]
    run2 = [(k, s) for p, k, s in log if p == pids[1]]
    first_key, second_key = (str(st.RecordKey(org, item_id=i)) for i in ids)
    assert [s for _, s in run1] == [*range(1, seq + 1), seq]
    assert run1[-2:] == [(first_key, seq), (second_key, seq)]
    assert run2[0] == (second_key, seq), "only the unacknowledged item is redelivered"
    assert first_key not in [k for k, _ in run2], "the acknowledged item is not redelivered"
    assert [s for _, s in run2] == [seq, *range(seq + 1, ITEMS + 1)]
    rows = {k: (item_id, s, d) for k, item_id, s, d in db.execute("select key, item_id, seq, deliveries from items")}
    assert len(rows) == ITEMS + 1, "every item exactly once"
    assert rows[first_key] == (ids[0], seq, 1)
    assert rows[second_key] == (ids[1], seq, 2), "delivered twice (stored before the kill), kept once"
    assert sum(1 for _, s, _ in rows.values() if s == seq) == 2


def test_renumbered_item_comes_back_under_the_same_key(world: Sim) -> None:
    org = 3
    client = world.client(org)
    store: Dict[st.RecordKey, st.ItemRecord] = {}

    def upsert(record: st.ItemRecord) -> None:
        assert record.key is not None
        store[record.key] = record

    poller = st.Poller(client, unsafe_min_interval=0)
    updated = st.UpdatedPoller(client, since="2000-01-01T00:00:00Z", unsafe_min_interval=0)
    list(updated.sweep())
    poller.sweep(upsert)
    assert len(store) == ITEMS
    moved = client.item_by_seq(7)
    assert moved is not None and moved.id is not None
    answer = world.renumber(org, moved.id, ITEMS + 1)
    assert answer["from"] == 7 and answer["to"] == ITEMS + 1 and answer["ids_at_to"] == [moved.id]

    again: List[st.ItemRecord] = []

    def collect(record: st.ItemRecord) -> None:
        again.append(record)
        upsert(record)

    poller.sweep(collect)
    assert [(r.sequential_org_id, r.key) for r in again] == [(ITEMS + 1, st.RecordKey(org, item_id=moved.id))]
    assert len(store) == ITEMS, "an upsert store keeps one row"
    assert store[st.RecordKey(org, item_id=moved.id)].sequential_org_id == ITEMS + 1
    assert client.items_by_seq(7) == [], "the old number is empty now"
    assert poller.status()["cursor"] == ITEMS + 2

    # The updated-items stream names the same row.
    changed = list(updated.sweep())
    assert [r.key for r in changed] == [st.RecordKey(org, item_id=moved.id)]
    assert changed[0].item is not None and changed[0].item.sequential_org_id == ITEMS + 1
    assert st.UpdatedRecord.from_dict(changed[0].to_dict()) == changed[0]


def test_corrupt_form_arrives_with_its_raw_text(world: Sim) -> None:
    org = 4
    client = world.client(org)
    bad = client.item_by_seq(5)
    odd = client.item_by_seq(6)
    assert bad is not None and bad.id is not None and odd is not None and odd.id is not None
    assert world.corrupt_form(org, bad.id)["data"] == '{"field2849":'
    odd_text = ' [ "café" ,\t1 ] '
    world.corrupt_form(org, odd.id, odd_text)
    # An item answer carrying its own formData with a broken entry.
    inline = {"id": 9_000_008, "sequentialOrgId": 8, "formData": [{"id": "e8", "formId": 3, "data": "{bad"}]}
    world.fault(kind="status", status=200, body=json.dumps(inline), path_contains="seqOrgID/8")

    poller = st.Poller(client, expand=["form_data"], unsafe_min_interval=0)
    records = {r.sequential_org_id: r for r in poller.sweep()}
    assert sorted(records) == list(range(1, ITEMS + 1)), "nothing wedged"
    assert poller.status()["cursor"] == ITEMS + 1

    for seq, text, why in [(5, '{"field2849":', "not valid JSON"), (6, odd_text, "not a JSON object")]:
        record = records[seq]
        assert record.form_data
        entry = record.form_data[0]
        assert entry.raw_data == text, "byte for byte"
        assert entry.data is None and entry.data_error is not None and why in entry.data_error
        assert entry.to_dict()["data"] == text
        assert st.FormDataEntry.from_dict(entry.to_dict()) == entry
        assert record.warnings and any("form data" in w and str(entry.id) in w for w in record.warnings), record.warnings
        assert record.item is not None
        for inline in record.item.form_data or []:
            if inline.id == entry.id:
                assert inline.raw_data == text and inline.data is None
        # The record as a whole round-trips with the raw text.
        assert st.ItemRecord.from_dict(record.to_dict()) == record
    eight = records[8]
    assert eight.item is not None and eight.item.form_data is not None
    assert eight.item.form_data[0].raw_data == "{bad" and eight.item.form_data[0].data is None
    assert eight.warnings and any("the item's formData" in w and "e8" in w for w in eight.warnings), eight.warnings
    assert st.Item.from_dict(eight.item.to_dict()) == eight.item
    assert eight.item.to_dict()["formData"][0]["data"] == "{bad"
    assert records[7].warnings is None and records[7].form_data and records[7].form_data[0].data is not None

    direct = client.item_form_data(bad.id)
    assert direct[0].raw_data == '{"field2849":' and direct[0].data is None


def test_skip_steps_over_an_undecodable_item(world: Sim, tmp_path: Path, vectors: Dict[str, Any]) -> None:
    org, seq = 5, 9
    world.fault(kind="status", status=200, body='{"id":"not-a-number"}', path_contains=f"seqOrgID/{seq}")
    events: List[Dict[str, Any]] = []
    cp = st.FileCheckpoint(str(tmp_path / "cp.json"))
    poller = st.Poller(world.client(org), checkpoint=cp, unsafe_min_interval=0, on_event=events.append)
    seen: List[int] = []
    with pytest.raises(st.DecodeError):
        for record in poller.sweep():
            seen.append(record.sequential_org_id or 0)
            if record.sequential_org_id == 3:
                with pytest.raises(st.CheckpointError, match="sweep is running"):
                    poller.skip(3, "not between sweeps")
    assert seen == list(range(1, seq))
    status = poller.status()
    stuck = status["stuck"]
    assert status["cursor"] == seq and stuck is not None
    assert stuck["seq"] == seq and stuck["code"] == st.DecodeError.code and stuck["name"] == "Decode"
    assert stuck["message"] and stuck["sweeps"] == 1
    with pytest.raises(st.DecodeError):
        poller.sweep(lambda r: None)
    stuck = poller.status()["stuck"]
    assert stuck is not None and stuck["sweeps"] == 2, "still stuck, sweep after sweep"

    for other in (3, seq + 1, 0):
        with pytest.raises(st.ValidationError) as info:
            poller.skip(other, "wrong number")
        assert info.value.field == "seq"
    with pytest.raises(st.ValidationError) as info:
        poller.skip(-1, "negative")
    assert info.value.field == "seq"
    with pytest.raises(st.ValidationError) as info:
        poller.skip(seq, "  ")
    assert info.value.field == "reason"
    assert poller.status()["cursor"] == seq and poller.status()["skipped"] == []

    reason = "item 9 cannot be decoded; ticket 4711"
    skipped = poller.skip(seq, reason)
    assert skipped["seq"] == seq and skipped["reason"] == reason and skipped["at"]
    assert "error" in skipped and "decode" in skipped["error"].lower()
    status = poller.status()
    assert status["cursor"] == seq + 1 and status["stuck"] is None and status["skipped"] == [skipped]
    skip_events = [e for e in events if e["event"] == "skipped"]
    assert skip_events == [{"event": "skipped", "seq": seq, "reason": reason}]
    assert set(skip_events[0]) == set(vector_event(vectors, "skipped"))

    rest = [r.sequential_org_id for r in poller.sweep()]
    assert rest == list(range(seq + 1, ITEMS + 1)), "the next sweep continues to the blank"
    last = poller.last_report()
    assert last is not None and last["summary"]["outcome"] == {"outcome": "completed"}
    poller.close()
    del poller
    reopened = st.Poller(world.client(org), checkpoint=cp, unsafe_min_interval=0)
    assert reopened.status()["skipped"] == [skipped], "the skip is in the checkpoint"
    reopened.close()

    # The updated-items stream has no numbers to skip.
    assert not hasattr(st.UpdatedPoller, "skip") and not hasattr(st.AsyncUpdatedPoller, "skip")


def test_async_skip(world: Sim) -> None:
    org, seq = 6, 4
    world.fault(kind="status", status=200, body='{"id":"not-a-number"}', path_contains=f"seqOrgID/{seq}")

    async def main() -> None:
        poller = st.AsyncPoller(world.async_client(org), unsafe_min_interval=0)
        with pytest.raises(st.DecodeError):
            await poller.sweep_with(lambda r: None)
        stuck = poller.status()["stuck"]
        assert stuck is not None and stuck["seq"] == seq
        with pytest.raises(st.ValidationError):
            await poller.skip(seq + 3, "wrong number")
        skipped = await poller.skip(seq, "broken item")
        assert skipped["seq"] == seq and poller.status()["cursor"] == seq + 1
        got = [r.sequential_org_id async for r in poller.sweep()]
        assert got == list(range(seq + 1, ITEMS + 1))
        poller.close()

    asyncio.run(main())


def test_item_without_an_id_is_keyed_by_its_number(world: Sim, vectors: Dict[str, Any]) -> None:
    org, seq = 7, 6
    world.fault(kind="status", status=200, body=json.dumps({"sequentialOrgId": seq, "description": "no id"}),
                path_contains=f"seqOrgID/{seq}")
    poller = st.Poller(world.client(org), unsafe_min_interval=0)
    records = {r.sequential_org_id: r for r in poller.sweep()}
    assert sorted(records) == list(range(1, ITEMS + 1))
    record = records[seq]
    assert record.item is not None and record.item.id is None
    assert record.key == st.RecordKey(org, sequential_org_id=seq) and str(record.key) == f"{org}/seq/{seq}"
    assert record.warnings, "an item without an id carries a warning"
    assert record.to_dict()["key"] == {"organization_id": org, "sequential_org_id": seq}
    shape = vectors["record_keys"]["cases"][1]["key"]
    assert set(record.to_dict()["key"]) == set(shape)
    others = records[seq + 1]
    assert others.key is not None and others.key.item_id is not None and others.warnings is None
    poller.close()


def test_events_have_the_vectors_shape(world: Sim, vectors: Dict[str, Any]) -> None:
    org, seq = 9, 10
    world.item_action(org, seq, "hide")
    events: List[Dict[str, Any]] = []
    poller = st.Poller(world.client(org), gap_tolerance=3, unsafe_min_interval=0, on_event=events.append)
    assert [r.sequential_org_id for r in poller.sweep()] == [n for n in range(1, ITEMS + 1) if n != seq]
    assert {"event": "hole_recorded", "seq": seq} in events
    world.item_action(org, seq, "show")
    late = list(poller.sweep())
    assert [(r.sequential_org_id, r.late) for r in late] == [(seq, True)]
    filled = [e for e in events if e["event"] == "hole_filled"]
    assert filled == [{"event": "hole_filled", "seq": seq}]
    assert set(filled[0]) == set(vector_event(vectors, "hole_filled"))
    poller.close()


def test_seq_answer_vectors_end_to_end(world: Sim, vectors: Dict[str, Any]) -> None:
    client = world.client(8)
    for i, case in enumerate(vectors["seq_answers"]):
        n = 500 + i
        world.clear_faults()
        world.fault(kind="status", status=case["status"], body=case["body"], path_contains=f"seqOrgID/{n}")
        where = f"vector {i}: {case['body']!r}"
        if case.get("error"):
            with pytest.raises(st.DecodeError):
                client.items_by_seq(n)
            with pytest.raises(st.DecodeError):
                client.item_by_seq(n)
            continue
        items = client.items_by_seq(n)
        one: Any
        if case["blank"]:
            assert items == [], where
            assert client.item_by_seq(n) is None, where
            continue
        assert [item.id for item in items] == case["ids"], where
        if len(case["ids"]) == 1:
            one = client.item_by_seq(n)
            assert one is not None and one.id == case["ids"][0], where
            if "sequential_org_id" in case:
                assert one.sequential_org_id == case["sequential_org_id"], where
        else:
            with pytest.raises(st.DuplicateNumberError) as info:
                client.item_by_seq(n)
            assert info.value.seq == n, where
            assert info.value.ids == [i for i in case["ids"] if i is not None], where
