"""Every exception class, provoked through the simulator; pickling; the code table."""

from __future__ import annotations

import asyncio
import builtins
import pickle
import socket
from typing import Any, Callable, Dict, Type

import pytest

import safe_tracker as st
from safe_tracker import _error_codes, _native
from conftest import Sim

SEQ = "/api/items/seqOrgID/{n}"


def expect(cls: Type[st.SafeError], fn: Callable[[], Any]) -> st.SafeError:
    with pytest.raises(cls) as info:
        fn()
    err = info.value
    assert type(err) is cls
    assert err.code == cls.code
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is cls and clone.message == err.message and clone.status == err.status and clone.path == err.path
    assert "sim-token" not in str(err) and "sim-token" not in repr(err)
    return err


def test_code_table_is_the_cores(vectors: Dict[str, Any]) -> None:
    native = dict(_native.error_codes())
    assert native == {e["code"]: e["name"] for e in vectors["error_codes"]}
    assert set(st.ERRORS_BY_CODE) == set(native)
    for code, cls in st.ERRORS_BY_CODE.items():
        assert cls.__name__ == f"{native[code]}Error" and cls.code == code
        assert getattr(st, cls.__name__) is cls and cls.__name__ in st.__all__
    assert [(code, name) for code, name, _ in _error_codes.ERROR_CODES] == sorted(native.items())
    classes = {"caller", "account", "transient", "budget", "interrupted", "storage", "entity", "ownership"}
    assert {cls for _, _, cls in _error_codes.ERROR_CODES} <= classes


def test_invalid_config() -> None:
    expect(st.InvalidConfigError, lambda: st.Client(base_url="http://safe.example.org/api/", token="t", organization_id=1, office_id=1))
    expect(st.InvalidConfigError, lambda: st.Client(token="t", organization_id=1))


def test_validation(sim: Sim, client: st.Client) -> None:
    err = expect(st.ValidationError, lambda: client.create_case(st.Case(case_officer_ids=[1], offense_type_id=4, active=True)))
    assert err.field == "caseNumber"
    assert sim.count("/api/cases") == 0
    err = expect(st.ValidationError, lambda: client.create_case(st.Case(case_number="X-9", case_officer_ids=[1], offense_type_id=999, active=True)))
    assert err.status == 400 and err.path == "cases"


def test_transport() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = st.Client(base_url=f"http://127.0.0.1:{port}/api/", token="t0ken", organization_id=1, office_id=1, requests_per_second=0, backoff_base=0.001, max_attempts=2)
    expect(st.TransportError, lambda: c.item_by_seq(1))
    assert c.requests_sent == 2


def test_timeout_is_also_builtin(sim: Sim) -> None:
    sim.fault(kind="slow_headers", latency_ms=1500)
    c = sim.client(1, attempt_timeout=0.2, max_attempts=1)
    err = expect(st.TimeoutError, lambda: c.item_by_seq(1))
    assert isinstance(err, builtins.TimeoutError)


def test_response_too_large(sim: Sim) -> None:
    sim.fault(kind="oversize", size=2_000_000)
    expect(st.ResponseTooLargeError, lambda: sim.client(1, max_body_bytes=1_000_000).item_by_seq(1))


def test_decode(sim: Sim, client: st.Client) -> None:
    for kind in ["malformed", "html200", "invalid_utf8", "truncate"]:
        sim.admin("faults", method="DELETE")
        sim.fault(kind=kind, count=1)
        err = expect(st.DecodeError, lambda: client.item_by_seq(1))
        assert err.path == "items/seqOrgID/{n}"


def test_account_errors(sim: Sim) -> None:
    err = expect(st.AuthError, lambda: st.Client(base_url=sim.base_url, token="wrong", organization_id=1, office_id=101).item_by_seq(1))
    assert err.status == 401
    expect(st.AccountDisabledError, lambda: st.Client(base_url=sim.base_url, token="sim-token-org1-disabled", organization_id=1, office_id=101).item_by_seq(1))
    expect(st.LicenseUnavailableError, lambda: st.Client(base_url=sim.base_url, token="sim-token-org1-nolicence", organization_id=1, office_id=101).item_by_seq(1))
    assert sim.count(SEQ) == 3


def test_rate_limited(sim: Sim, client: st.Client) -> None:
    sim.fault(kind="status", status=429, retry_after="3600", count=1)
    err = expect(st.RateLimitedError, lambda: client.item_by_seq(1))
    assert err.retry_after == 3600.0


def test_budget(sim: Sim) -> None:
    c = sim.client(1, budget_per_minute=1)
    c.item_by_seq(1)
    expect(st.BudgetExhaustedError, lambda: c.item_by_seq(2))


def test_not_found_conflict_server(sim: Sim, client: st.Client) -> None:
    expect(st.NotFoundError, lambda: client.item(1))
    officer = client.users_typeahead("Okafor")[0].id
    case = st.Case(case_number="DUP-PY", case_officer_ids=[officer or 0], offense_type_id=4, active=True)
    client.create_case(case)
    expect(st.ConflictError, lambda: client.create_case(case))
    sim.fault(kind="status", status=503)
    err = expect(st.ServerError, lambda: client.item_by_seq(1))
    assert err.status == 503 and sim.count(SEQ) == 3


def test_checkpoint_cancelled_consumer(sim: Sim, tmp_path: Any) -> None:
    c = sim.client(3)
    first = st.Poller(c, checkpoint=st.FileCheckpoint(str(tmp_path / "cp.json")), unsafe_min_interval=0)
    expect(st.CheckpointError, lambda: st.Poller(c, checkpoint=st.FileCheckpoint(str(tmp_path / "cp.json")), unsafe_min_interval=0))
    del first

    def cancel_first(record: st.ItemRecord) -> None:
        poller.cancel()

    poller = st.Poller(sim.client(4), unsafe_min_interval=0)
    expect(st.CancelledError, lambda: poller.sweep(cancel_first))

    def boom(record: st.ItemRecord) -> None:
        raise KeyError("disk full")

    err = expect(st.ConsumerError, lambda: st.Poller(sim.client(5), unsafe_min_interval=0).sweep(boom))
    assert "disk full" in err.message


def test_async_errors(sim: Sim) -> None:
    async def main() -> None:
        c = sim.async_client(1)
        with pytest.raises(st.NotFoundError):
            await c.item(1)
        bad = st.AsyncClient(base_url=sim.base_url, token="wrong", organization_id=1, office_id=101)
        with pytest.raises(st.AuthError):
            await bad.item_by_seq(1)
    asyncio.run(main())


def test_a_rate_or_duration_that_is_no_time_is_invalid_config(sim: Sim) -> None:
    """1e-300 requests per second once reached ``Duration::from_secs_f64(1e300)`` in the core
    and panicked (a ``PanicException``, not a ``SafeError``); NaN and infinity were no
    ``SafeError`` either. Each is the typed invalid-configuration error now."""
    for rate in [1e-300, 5e-324, 1e-9, -1.0, float("nan"), float("inf"), float("-inf")]:
        err = expect(st.InvalidConfigError, lambda: sim.client(requests_per_second=rate))
        assert "requests_per_second" in err.message, (rate, err.message)
        expect(st.InvalidConfigError, lambda: sim.async_client(requests_per_second=rate))
    for key in ["attempt_timeout", "call_timeout", "backoff_max", "retry_after_cap"]:
        for seconds in [float("inf"), float("nan"), 1e12]:
            options: Dict[str, Any] = {key: seconds}
            expect(st.InvalidConfigError, lambda: sim.client(**options))
    assert sim.client(requests_per_second=1 / 86400).config["requests_per_second"] == pytest.approx(1 / 86400)
