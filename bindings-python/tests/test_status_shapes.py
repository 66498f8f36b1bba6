"""The ``TypedDict`` shapes of the poller (generated from the core's schema) against what the
core really hands over: the every-field vectors of ``tests/conformance/full-models.json``
(every member of every union at least once) and the live ``status()``, ``plan()``,
``skip()`` and ``last_report()`` of pollers against a simulator of their own. A dict must
hold every required key, no key the shape does not declare, and values of the declared types
(nested shapes, unions told apart by their constant key, ``Optional`` only where declared)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, Iterator, List, Literal, Set, Tuple, Union, get_args, get_origin, get_type_hints

import pytest

import safe_tracker as st
from safe_tracker import _models_generated
from conftest import ROOT, Sim, running_simulator

ITEMS = 20

# Every shape class of the generated module (each union's members, and the private bases).
SHAPES = {
    name: cls for name, cls in vars(_models_generated).items()
    if isinstance(cls, type) and issubclass(cls, dict) and hasattr(cls, "__required_keys__")
}


def is_shape(hint: Any) -> bool:
    return isinstance(hint, type) and hint in SHAPES.values()


def problems(value: Any, hint: Any, at: str) -> Tuple[List[str], Set[str]]:
    """What is wrong with ``value`` as a ``hint`` (empty when nothing), and the shapes it was
    found to be (with the nested ones)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return [], set()
    if origin is Union:
        if value is None:
            return ([] if type(None) in args else [f"{at}: None, not {hint}"]), set()
        tries = [problems(value, a, at) for a in args if a is not type(None)]
        good = [t for t in tries if not t[0]]
        if len(good) == 1:
            return good[0]
        if good:
            return [f"{at}: matches {len(good)} members of {hint}"], set()
        # The member whose constant key matched says best what is wrong.
        return min((t[0] for t in tries), key=lambda e: (any("is not one of" in x for x in e), len(e))), set()
    if origin is Literal:
        return ([] if value in args else [f"{at}: {value!r} is not one of {args}"]), set()
    if origin is list:
        if not isinstance(value, list):
            return [f"{at}: {type(value).__name__}, not a list"], set()
        errors: List[str] = []
        seen: Set[str] = set()
        for i, v in enumerate(value):
            e, s = problems(v, args[0], f"{at}[{i}]")
            errors += e
            seen |= s
        return errors, seen
    if origin is dict:
        return ([] if isinstance(value, dict) else [f"{at}: not a dict"]), set()
    if is_shape(hint):
        if not isinstance(value, dict):
            return [f"{at}: {type(value).__name__}, not a {hint.__name__}"], set()
        declared = set(hint.__annotations__)
        assert declared == hint.__required_keys__ | hint.__optional_keys__, hint.__name__
        errors = [f"{at}: no {k!r} (required by {hint.__name__})" for k in sorted(hint.__required_keys__ - value.keys())]
        errors += [f"{at}.{k}: not a key of {hint.__name__}" for k in sorted(value.keys() - declared)]
        seen = {hint.__name__}
        hints = get_type_hints(hint)
        for k in sorted(value.keys() & declared):
            e, s = problems(value[k], hints[k], f"{at}.{k}")
            errors += e
            seen |= s
        return errors, (seen if not errors else set())
    if hint is bool:
        return ([] if isinstance(value, bool) else [f"{at}: {value!r} is not a bool"]), set()
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ([] if ok else [f"{at}: {value!r} is not an int"]), set()
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ([] if ok else [f"{at}: {value!r} is not a number"]), set()
    if hint is str:
        return ([] if isinstance(value, str) else [f"{at}: {value!r} is not a str"]), set()
    raise AssertionError(f"{at}: the test does not know the type {hint!r}")


def conforms(value: Any, hint: Any, at: str) -> Set[str]:
    """Asserts ``value`` is a ``hint``; returns the shapes met."""
    errors, seen = problems(value, hint, at)
    assert not errors, "\n".join(errors)
    return seen


def test_the_checker_refuses_a_missing_an_undeclared_and_a_mistyped_key() -> None:
    good: Dict[str, Any] = {"seq": 1, "reason": "r", "at": "2026-01-01T00:00:00Z", "kept_as_hole": False}
    assert conforms(good, st.SkippedNumber, "ok") == {"SkippedNumber"}
    assert conforms({**good, "error": "Decode"}, st.SkippedNumber, "ok")
    for bad, why in [
        ({k: v for k, v in good.items() if k != "at"}, "no 'at'"),
        ({**good, "later": 1}, "later: not a key"),
        ({**good, "seq": "1"}, "not an int"),
        ({**good, "error": None}, "is not a str"),
    ]:
        errors, _ = problems(bad, st.SkippedNumber, "bad")
        assert errors and why in errors[0], (bad, errors)
    errors, _ = problems({"outcome": "failed"}, st.SweepOutcome, "o")
    assert errors and "no 'code'" in errors[0]
    errors, _ = problems({"event": "later_event"}, st.PollerEvent, "e")
    assert errors


def test_the_private_bases_keep_required_and_optional_keys_apart() -> None:
    assert st.SkippedNumber.__required_keys__ == {"seq", "reason", "at", "kept_as_hole"}
    assert st.SkippedNumber.__optional_keys__ == {"error"}
    assert st.PollerStatus.__optional_keys__ == frozenset()
    assert set(st.PollerStatus.__required_keys__) == set(get_type_hints(st.PollerStatus))


def core_models() -> Dict[str, List[Dict[str, Any]]]:
    text = (ROOT / "tests" / "conformance" / "full-models.json").read_text()
    return json.loads(text)["core_models"]  # type: ignore[no-any-return]


def test_every_field_vectors_are_the_shapes_and_meet_every_member() -> None:
    seen: Set[str] = set()
    for name, cls in [("PollerStatus", st.PollerStatus), ("SweepPlan", st.SweepPlan), ("SweepReport", st.SweepReport),
                      ("TenantState", st.TenantState)]:
        for i, value in enumerate(core_models()[name]):
            seen |= conforms(value, cls, f"{name}[{i}]")
    # The checkpoint state (opaque to hosts) holds the same shapes under the same keys.
    hints = get_type_hints(st.PollerStatus)
    for i, state in enumerate(core_models()["PollerState"]):
        for key in ("last_sweep", "stuck", "partial", "skipped"):
            seen |= conforms(state[key], hints[key], f"PollerState[{i}].{key}")
    public = {n for n in SHAPES if not n.startswith("_")}
    assert public - seen == set(), "a shape (or a union member) no vector holds"


@pytest.fixture(scope="module")
def world() -> Iterator[Sim]:
    """Two organisations of 20 items."""
    with running_simulator("--orgs", "2", "--items", str(ITEMS), "--seed", "23") as s:
        yield s


@pytest.fixture(autouse=True)
def no_faults(world: Sim) -> Iterator[None]:
    world.clear_faults()
    yield
    world.clear_faults()


def test_live_status_plan_skip_and_report_are_the_shapes(world: Sim) -> None:
    org, bad, dup = 1, 12, 15
    ids = sorted(world.duplicate(org, dup)["ids"])
    world.item_action(org, 6, "hide")  # a blank before later items: a hole
    world.fault(kind="status", status=200, body='{"id":"not-a-number"}', path_contains=f"seqOrgID/{bad}")
    poller = st.Poller(world.client(org), unsafe_min_interval=0, gap_tolerance=3)
    seen: Set[str] = set()

    def check() -> st.PollerStatus:
        nonlocal seen
        status = poller.status()
        seen |= conforms(status, st.PollerStatus, "status()")
        seen |= conforms(poller.plan(), st.SweepPlan, "plan()")
        report = poller.last_report()
        if report is not None:
            seen |= conforms(report, st.SweepReport, "last_report()")
        return status

    status = check()
    assert status["last_sweep"] is None and poller.last_report() is None
    with pytest.raises(st.DecodeError):
        poller.sweep(lambda r: None)
    status = check()
    last = status["last_sweep"]
    assert status["stuck"] is not None and status["holes"] == [6]
    assert last is not None and last["outcome"]["outcome"] == "failed"
    skipped = poller.skip(bad, "cannot be decoded")
    seen |= conforms(skipped, st.SkippedNumber, "skip()")
    assert "error" in skipped, "the optional key, present"
    # Stop between the two items of one number: the first is acknowledged, `partial` says so.
    for record in poller.sweep():
        if record.sequential_org_id == dup and record.item is not None and record.item.id == ids[1]:
            break
    status = check()
    assert status["partial"] == {"seq": dup, "done": [ids[0]], "done_without_id": 0}
    assert status["skipped"] and status["stuck"] is None
    report = poller.sweep(lambda r: None)
    assert report is not None
    status = check()
    assert status["partial"] is None and status["cursor"] == ITEMS + 1
    events = {e["event"] for e in report["events"]}
    assert {"sweep_started", "duplicate_number", "hole_probed", "sweep_finished"} <= events, events
    poller.close()
    expected = {"PollerStatus", "SweepSummary", "SweepOutcomeFailed", "SweepOutcomeCompleted",
                "StuckNumber", "PartialNumber", "SkippedNumber", "SweepPlan", "Duration",
                "SweepReport", "PollerEventSweepStarted", "PollerEventDuplicateNumber",
                "PollerEventSweepFinished"}
    assert expected - seen == set()


def test_live_updated_stream_status_and_report_are_the_shapes(world: Sim) -> None:
    poller = st.UpdatedPoller(world.client(2), since="2000-01-01T00:00:00Z", unsafe_min_interval=0)
    assert poller.plan() is None, "the updated-items stream has no plan"
    report = poller.sweep(lambda r: None)
    seen = conforms(report, st.SweepReport, "sweep()")
    status = poller.status()
    seen |= conforms(status, st.PollerStatus, "status()")
    assert status["stream"] == "updated" and status["watermark"] is not None
    seen |= conforms(poller.last_report(), st.SweepReport, "last_report()")
    assert {"SweepReport", "PollerStatus", "SweepSummary"} <= seen
    poller.close()


def test_async_skip_is_a_skipped_number(world: Sim) -> None:
    async def main() -> None:
        org, bad = 2, 4
        world.fault(kind="status", status=200, body='{"id":"not-a-number"}', path_contains=f"seqOrgID/{bad}")
        poller = st.AsyncPoller(world.async_client(org), unsafe_min_interval=0)
        with pytest.raises(st.DecodeError):
            await poller.sweep_with(lambda r: None)
        world.clear_faults()
        skipped = await poller.skip(bad, "broken")
        conforms(skipped, st.SkippedNumber, "skip()")
        conforms(poller.status(), st.PollerStatus, "status()")
        poller.close()
    asyncio.run(main())
