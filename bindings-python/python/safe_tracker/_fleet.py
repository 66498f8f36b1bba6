"""Fleets: every agency of a tenants file polled from one process.

``Fleet(tenants_file, checkpoint=SqliteCheckpoint(path))`` starts one poller per enabled tenant
of the file (the TOML of ``safe-tracker serve --tenants``) under the core's fleet runner: sweep
starts spread over the interval, one request cap for the whole fleet, auth and licence errors
parking only their tenant. ``fleet.run(handler)`` calls ``handler(tenant, record)`` for every
record of every tenant, in order per tenant and stream, on the calling thread; the record's
checkpoint moves when the handler returns. Call ``run`` from several threads to handle
several tenants' records at once.

Delivery is at least once: upsert each record by ``record.key``. A handler that raises leaves
its record unacknowledged and stops that tenant as failed (``states()`` says why) until its
entry in the tenants file changes (then ``reload()``) or the fleet restarts; the other tenants
go on. Records out when the fleet stops come again after a restart.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

from . import _native
from ._client import _await_native
from ._error_codes import CancelledError
from ._errors import SafeError
from ._models import ItemRecord, TenantState, UpdatedRecord
from ._poller import Checkpoint, MemoryCheckpoint

LOGGER = logging.getLogger("safe_tracker")

FleetRecord = Union[ItemRecord, UpdatedRecord]
"""What a fleet's handler receives: a new item, or a changed one (tenants with ``updated``)."""

_Pulled = Optional[Tuple[int, str, str, str]]


def _options(tenants_file: str, checkpoint: Optional[Checkpoint], max_requests_per_second: Optional[float],
             park_retry: Optional[float], allow_insecure_http: bool,
             states: Optional[List[TenantState]]) -> str:
    spec = (checkpoint or MemoryCheckpoint())._spec()
    if not isinstance(spec, str):
        raise TypeError("a fleet keeps every tenant's checkpoint in one store: SqliteCheckpoint or MemoryCheckpoint")
    options: Dict[str, Any] = {"tenants_file": str(tenants_file), "checkpoint": json.loads(spec),
                               "allow_insecure_http": allow_insecure_http}
    if max_requests_per_second is not None:
        options["max_requests_per_second"] = max_requests_per_second
    if park_retry is not None:
        options["park_retry"] = park_retry
    if states:
        options["states"] = list(states)
    return json.dumps(options)


def _decode(kind: str, raw: str) -> FleetRecord:
    data = json.loads(raw)
    return UpdatedRecord.from_dict(data) if kind == "updated" else ItemRecord.from_dict(data)


def _ack(native: _native.NativeFleet, id: int, tenant: str) -> None:
    try:
        native.ack(id)
    except SafeError as exc:  # its tenant stopped meanwhile: the record comes again
        LOGGER.info("tenant %s: record not acknowledged: %s", tenant, exc)


def _reason(exc: BaseException) -> str:
    """``Type: message`` of a handler's exception, even when its ``str()`` raises."""
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return type(exc).__name__


def _fail(native: _native.NativeFleet, id: int, tenant: str, exc: Exception) -> None:
    reason = _reason(exc)
    LOGGER.warning("tenant %s: the handler raised, the tenant stops: %s", tenant, reason)
    try:
        native.fail(id, reason)
    except SafeError:  # stopped meanwhile: unacknowledged either way
        pass


def _release(native: _native.NativeFleet, id: int) -> None:
    try:
        native.release(id)
    except SafeError:  # its tenant stopped meanwhile: unacknowledged either way
        pass


class _NeedsAsyncFleet(TypeError):
    """A handler of a blocking fleet returned an awaitable: its record was given back."""


class _FleetBase:
    def __init__(self, tenants_file: str, *, checkpoint: Optional[Checkpoint] = None,
                 max_requests_per_second: Optional[float] = None, park_retry: Optional[float] = None,
                 allow_insecure_http: bool = False, states: Optional[List[TenantState]] = None,
                 poll_interval: float = 0.5) -> None:
        """``tenants_file``: the TOML tenants file (validated as a whole; every error names the
        tenant and the key). ``checkpoint``: ``SqliteCheckpoint(path)`` (one database, every
        tenant's checkpoint, group-committed; the fleet holds it alone) or ``MemoryCheckpoint()``
        (the default). ``max_requests_per_second``: the cap across all tenants (20).
        ``park_retry``: seconds a tenant parked by an auth or licence error waits (3600).
        ``states``: what ``states()`` returned in an earlier run, so parked tenants stay parked.
        ``poll_interval``: how often ``run`` looks for ``stop()`` while idle (seconds)."""
        self._poll = poll_interval
        self._native = _native.NativeFleet(
            _options(tenants_file, checkpoint, max_requests_per_second, park_retry, allow_insecure_http, states))

    def states(self) -> List[TenantState]:
        """Every tenant's state (phase, cursor, lag, last error), those that need attention
        first; no request."""
        return json.loads(self._native.states())  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Makes every ``run`` return after its current record; from any thread or a signal
        handler."""
        self._native.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._native!r})"


class Fleet(_FleetBase):
    """Many agencies' pollers in one process, their records handled on threads of yours."""

    def run(self, handler: Callable[[str, FleetRecord], Any]) -> None:
        """Calls ``handler(tenant, record)`` for each record until ``stop()``; acknowledges it
        when the handler returns. A handler that raises stops its tenant (the record stays
        unacknowledged); ``KeyboardInterrupt`` gives the record back and propagates. An
        ``async def`` handler is refused (use :class:`AsyncFleet`)."""
        if inspect.iscoroutinefunction(handler):
            raise TypeError("Fleet.run needs a plain function: use AsyncFleet for an async handler")
        native = self._native
        while True:
            try:
                got = native.next(self._poll)
            except CancelledError:
                return
            if got is None:
                continue
            id, tenant, kind, raw = got
            try:
                result = handler(tenant, _decode(kind, raw))
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()
                    raise _NeedsAsyncFleet("the handler returned an awaitable, which Fleet.run cannot await: use AsyncFleet")
            except _NeedsAsyncFleet:
                _release(native, id)
                raise
            except Exception as exc:
                _fail(native, id, tenant, exc)
                continue
            except BaseException:
                _release(native, id)
                raise
            _ack(native, id, tenant)

    def reload(self) -> Dict[str, List[str]]:
        """Re-reads the tenants file: added tenants start, removed ones stop after their current
        record, changed ones restart. Returns ``{"started", "stopped", "restarted"}``; an
        invalid file raises and the running set goes on."""
        return json.loads(self._native.reload())  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stops every tenant and closes the checkpoint store (records out come again after a
        restart)."""
        self._native.close()

    def __enter__(self) -> "Fleet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncFleet(_FleetBase):
    """A fleet for asyncio: ``await fleet.run(handler)`` with a plain or ``async`` handler;
    run it in several tasks to handle several records at once."""

    async def _next(self) -> _Pulled:
        """The next record; a record that arrives after this call was cancelled is given back."""
        loop = asyncio.get_running_loop()
        fut: "asyncio.Future[_Pulled]" = loop.create_future()
        native = self._native

        def settle(ok: bool, payload: Any) -> None:
            if fut.done():
                if ok and payload is not None:
                    native.release(payload[0])
            elif ok:
                fut.set_result(payload)
            else:
                fut.set_exception(payload)

        def done(ok: bool, payload: Any) -> None:
            try:
                loop.call_soon_threadsafe(settle, ok, payload)
            except RuntimeError:  # the loop is closed
                if ok and payload is not None:
                    native.release(payload[0])

        handle = native.next_async(self._poll, done)
        try:
            return await fut
        except asyncio.CancelledError:
            handle.abort()
            # Cancelled after the record arrived (the task was woken, then cancelled): give it
            # back, or its tenant would wait for its answer until the fleet closes.
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                got = fut.result()
                if got is not None:
                    _release(native, got[0])
            raise

    async def run(self, handler: Callable[[str, FleetRecord], Any]) -> None:
        """Awaits ``handler(tenant, record)`` for each record until ``stop()`` (see
        :meth:`Fleet.run`); cancelling the task gives the record in hand back."""
        native = self._native
        while True:
            try:
                got = await self._next()
            except CancelledError:
                return
            if got is None:
                continue
            id, tenant, kind, raw = got
            try:
                result = handler(tenant, _decode(kind, raw))
                if isinstance(result, Awaitable):
                    await result
            except Exception as exc:
                _fail(native, id, tenant, exc)
                continue
            except BaseException:  # cancelled: the record comes again
                _release(native, id)
                raise
            _ack(native, id, tenant)

    async def reload(self) -> Dict[str, List[str]]:
        """See :meth:`Fleet.reload`."""
        return json.loads(await _await_native(self._native.reload_async))  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """See :meth:`Fleet.close`; the event loop does not block."""
        await asyncio.get_running_loop().run_in_executor(None, self._native.close)

    async def __aenter__(self) -> "AsyncFleet":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
