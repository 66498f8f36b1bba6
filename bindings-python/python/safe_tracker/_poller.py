"""Pollers and checkpoints.

``for record in poller.sweep():`` acknowledges a record when the loop asks for the next one:
an exception in the loop body (or a ``break``) leaves that record unacknowledged, and the
checkpoint never moves past it. ``poller.sweep(handler)`` acknowledges when the handler
returns; ``poller.run_forever(handler)`` follows the schedule (default every 10 minutes, never
twice within 60 seconds).

Delivery is at least once: upsert each record by ``record.key`` (organisation, item id), not
by its number. A number held by several items gives one record per item (ascending id); the
cursor passes the number once all of them are acknowledged, and a restart between them
redelivers only the unacknowledged ones. An item that can never be decoded stops every sweep
at its number: ``status()["stuck"]`` says which and why, and ``poller.skip(seq, reason)``
steps over it for good (recorded in ``status()["skipped"]``).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from . import _native
from ._client import AsyncClient, Client, _await_native
from ._error_codes import CancelledError, ValidationError
from ._errors import SafeError
from ._models import ItemRecord, Model, PollerStatus, SkippedNumber, SweepPlan, SweepReport, UpdatedRecord

LOGGER = logging.getLogger("safe_tracker")

R = TypeVar("R", bound=Model)
P = TypeVar("P", bound="_PollerBase[Any]")


class Checkpoint:
    """Where a poller keeps its state."""

    def _spec(self) -> Union[str, Tuple[Callable[[str], Optional[str]], Callable[[str, str], None]]]:
        raise NotImplementedError


class MemoryCheckpoint(Checkpoint):
    """Keeps the state in memory only."""

    def _spec(self) -> str:
        return json.dumps({"kind": "memory"})

    def __repr__(self) -> str:
        return "MemoryCheckpoint()"


class FileCheckpoint(Checkpoint):
    """A JSON file, replaced atomically (temporary file, fsync, rename) on every save."""

    def __init__(self, path: str) -> None:
        self.path = str(path)

    def _spec(self) -> str:
        return json.dumps({"kind": "file", "path": self.path})

    def __repr__(self) -> str:
        return f"FileCheckpoint({self.path!r})"


class SqliteCheckpoint(Checkpoint):
    """A SQLite database (table ``safe_tracker_checkpoints``)."""

    def __init__(self, path: str) -> None:
        self.path = str(path)

    def _spec(self) -> str:
        return json.dumps({"kind": "sqlite", "path": self.path})

    def __repr__(self) -> str:
        return f"SqliteCheckpoint({self.path!r})"


class PostgresCheckpoint(Checkpoint):
    """Checkpoints in PostgreSQL (tables ``safe_tracker_checkpoints`` and
    ``safe_tracker_leases``), held through a lease on ``unit`` (say a tenant's name), so that
    one process at a time polls it, across machines.

    Opening a poller on it claims the lease: :class:`~safe_tracker.FencedError` names the
    holder when another process has it. The lease is renewed every third of ``lease_ttl``
    seconds; every save checks it in its own transaction, and once another process has taken
    the unit over, saves and requests fail with ``FencedError`` (no SAFE request goes out once
    the lease may have lapsed). A unit given up (the poller closed) is free once its lease
    runs out. The password comes from ``url``, ``PGPASSWORD`` or ``PGPASSFILE``; it is never
    shown by ``repr`` or in errors. ``owner`` defaults to ``host-pid-random``."""

    def __init__(self, url: str, unit: str, *, owner: Optional[str] = None, lease_ttl: float = 30.0) -> None:
        self.url = str(url)
        self.unit = str(unit)
        self.owner = owner
        self.lease_ttl = lease_ttl

    def _spec(self) -> str:
        return json.dumps({"kind": "postgres", "url": self.url, "unit": self.unit, "owner": self.owner,
                           "lease_ttl": self.lease_ttl})

    def __repr__(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
        shown = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        return f"PostgresCheckpoint({shown!r}, {self.unit!r})"


class CallbackCheckpoint(Checkpoint):
    """Your own store: ``load(key) -> str | None`` and ``save(key, state_json)``, e.g. in the
    same database transaction as the item. An exception in either becomes a
    :class:`~safe_tracker.CheckpointError`."""

    def __init__(self, load: Callable[[str], Optional[str]], save: Callable[[str, str], None]) -> None:
        self.load = load
        self.save = save

    def _spec(self) -> Tuple[Callable[[str], Optional[str]], Callable[[str, str], None]]:
        return (self.load, self.save)

    def __repr__(self) -> str:
        return "CallbackCheckpoint()"


def _options(**kwargs: Any) -> str:
    out: Dict[str, Any] = {}
    for k, v in kwargs.items():
        if v is None:
            continue
        if k == "expand" and isinstance(v, str):
            v = [p.strip() for p in v.split(",") if p.strip()]
        elif k == "expand":
            v = list(v)
        out[k] = v
    return json.dumps(out)


class _PollerBase(Generic[R]):
    _record: Type[R]
    _kind: str
    _asyncio: bool = False

    def __init__(self, client: Union[Client, AsyncClient], checkpoint: Optional[Checkpoint], options: str,
                 on_event: Optional[Callable[[Dict[str, Any]], None]]) -> None:
        if self._asyncio and client._blocking:
            raise TypeError(f"{type(self).__name__} needs an AsyncClient: a blocking Client runs its calls on the calling thread")
        self._native = _native.NativePoller(client._native, self._kind, (checkpoint or MemoryCheckpoint())._spec(), options)
        # Events wait in the core until this side takes them after each call, so the listener
        # runs on the caller's thread (or event loop), never on a thread the SDK's runtime
        # needs: a listener that blocks stalls only its own loop.
        self._on_event = on_event
        if on_event is not None:
            self._native.queue_events()

    def status(self) -> PollerStatus:
        """Cursor, holes, last sweep, next allowed sweep, requests spent, the number the poller
        is stuck at (``stuck``), a duplicated number under way (``partial``), operator skips
        (``skipped``) and the count of duplicated numbers met (``duplicate_numbers``); no
        request."""
        return json.loads(self._native.status())  # type: ignore[no-any-return]

    def plan(self) -> Optional[SweepPlan]:
        """What the next sweep would do and when it may start (no request); ``None`` for the
        updated-items stream."""
        return json.loads(self._native.plan())  # type: ignore[no-any-return]

    def last_report(self) -> Optional[SweepReport]:
        """The report (summary and events) of the last completed sweep."""
        raw = self._native.last_report()
        return None if raw is None else json.loads(raw)

    def cancel(self) -> None:
        """Stops between requests, from any thread; the checkpoint stays at the last
        acknowledged record."""
        self._native.cancel()

    def close(self) -> None:
        """Cancels any sweep and releases the one-poller lock now, so another poller may open
        the same checkpoint."""
        self._native.close()

    def __enter__(self: "P") -> "P":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _decode(self, raw: str) -> R:
        return self._record.from_dict(json.loads(raw))

    def _deliver_events(self) -> None:
        """Calls the ``on_event`` listener with the events queued since the last call."""
        listener = self._on_event
        if listener is None:
            return
        for text in self._native.take_events():
            try:
                listener(json.loads(text))
            except Exception:  # a listener's bug never fails the sweep
                LOGGER.exception("the on_event listener raised")

    def _iterate(self, sweep: Optional[_Sweep] = None) -> Iterator[R]:
        # The core's ticket: a newer sweep of this poller supersedes this one (its calls are then
        # refused), so two loops never acknowledge each other's records, and a late clean-up of
        # an abandoned loop ends nothing.
        ticket = self._native.begin()
        if sweep is not None:
            sweep.ticket = ticket
        finished = False
        try:
            while True:
                try:
                    raw = self._native.next(ticket)
                finally:
                    self._deliver_events()
                if raw is None:
                    finished = True
                    return
                yield self._decode(raw)
        finally:
            if not finished:
                self._native.end(ticket)

    def _fail(self, sweep: _Sweep, exc: Exception) -> BaseException:
        """Ends the sweep (the record stays unacknowledged); the SafeError to raise."""
        error = self._native.fail(sweep.ticket, f"{type(exc).__name__}: {exc}")
        self._deliver_events()
        return error

    def _sweep_with(self, handler: Callable[[R], Any]) -> Optional[SweepReport]:
        sweep = _Sweep()
        for record in self._iterate(sweep):
            try:
                handler(record)
            except Exception as exc:  # the record stays unacknowledged
                raise self._fail(sweep, exc) from exc
        return self.last_report()

    def _run_forever(self, handler: Callable[[R], Any]) -> None:
        # The schedule and every rule after a sweep are the core's (its poller driver).
        while True:
            try:
                self._native.wait_scheduled()
            except CancelledError:
                return
            finally:
                self._deliver_events()
            try:
                self._sweep_with(handler)
                self._native.decide(None)
            except SafeError as exc:
                if _after_failure(self._native.decide(exc.code), exc):
                    return

    async def _aiterate(self, sweep: Optional[_Sweep] = None) -> AsyncIterator[R]:
        ticket = self._native.begin()
        if sweep is not None:
            sweep.ticket = ticket
        finished = False
        try:
            while True:
                try:
                    raw = await _await_native(lambda cb: self._native.next_async(ticket, cb))
                finally:
                    self._deliver_events()
                if raw is None:
                    finished = True
                    return
                yield self._decode(raw)
        finally:
            if not finished:
                self._native.end(ticket)

    async def _asweep_with(self, handler: Callable[[R], Any]) -> Optional[SweepReport]:
        sweep = _Sweep()
        async for record in self._aiterate(sweep):
            try:
                result = handler(record)
                if isinstance(result, Awaitable):
                    await result
            except Exception as exc:
                raise self._fail(sweep, exc) from exc
        return self.last_report()

    async def _arun_forever(self, handler: Callable[[R], Any]) -> None:
        while True:
            try:
                await _await_native(self._native.wait_scheduled_async)
            except CancelledError:
                return
            finally:
                self._deliver_events()
            try:
                await self._asweep_with(handler)
                self._native.decide(None)
            except SafeError as exc:
                if _after_failure(self._native.decide(exc.code), exc):
                    return


class _Sweep:
    """The core's ticket of one sweep, for the handler loop that fails it."""

    ticket = 0


def _after_failure(decision: str, exc: SafeError) -> bool:
    """Acts on the core's decision after a failed sweep: raises ``exc`` on ``stop`` and
    ``fenced``, returns True (the loop ends) on ``cancelled``, and logs and returns False when
    the loop goes on."""
    if decision in ("stop", "fenced"):
        raise exc
    if decision == "cancelled":
        return True
    LOGGER.warning("sweep failed (%s), sweeping again later: %s", decision, exc)
    return False


class _ItemsOptions:
    @staticmethod
    def json(
        start_seq: Optional[int], gap_tolerance: Optional[int], hole_max_age: Optional[float],
        read_ahead: Optional[int], expand: Optional[Union[str, Sequence[str]]], interval: Optional[float],
        jitter: Optional[float], unsafe_min_interval: Optional[float], stall_after_sweeps: Optional[int],
        jump_stalls: Optional[bool],
    ) -> str:
        return _options(
            start_seq=start_seq, gap_tolerance=gap_tolerance, hole_max_age=hole_max_age,
            read_ahead=read_ahead, expand=expand, interval=interval, jitter=jitter,
            unsafe_min_interval=unsafe_min_interval, stall_after_sweeps=stall_after_sweeps,
            jump_stalls=jump_stalls,
        )


def _skip_args(seq: int, reason: str) -> None:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationError(f"seq must be a sequential org id, not {seq!r}", field="seq")
    if not isinstance(reason, str):
        raise ValidationError("reason must be text", field="reason")


class Poller(_PollerBase[ItemRecord]):
    """The throttled sequential poller (blocking). Durations are in seconds.

    ``expand`` lists what to fetch with each item: ``form_data``, ``case``, ``people``,
    ``custody`` (or ``"all"``). ``unsafe_min_interval`` lowers the 60-second floor between
    sweeps and exists for tests against the simulator only.
    """

    _record = ItemRecord
    _kind = "items"

    def __init__(
        self,
        client: Client,
        *,
        checkpoint: Optional[Checkpoint] = None,
        start_seq: Optional[int] = None,
        gap_tolerance: Optional[int] = None,
        hole_max_age: Optional[float] = None,
        read_ahead: Optional[int] = None,
        expand: Optional[Union[str, Sequence[str]]] = None,
        interval: Optional[float] = None,
        jitter: Optional[float] = None,
        unsafe_min_interval: Optional[float] = None,
        stall_after_sweeps: Optional[int] = None,
        jump_stalls: Optional[bool] = None,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> None:
        super().__init__(client, checkpoint, _ItemsOptions.json(
            start_seq, gap_tolerance, hole_max_age, read_ahead, expand, interval, jitter,
            unsafe_min_interval, stall_after_sweeps, jump_stalls), on_event)

    def sweep(self, handler: Optional[Callable[[ItemRecord], Any]] = None) -> Any:
        """Without a handler: an iterator of records (each acknowledged when the next is asked
        for). With a handler: runs the sweep and returns its report."""
        if handler is None:
            return self._iterate()
        return self._sweep_with(handler)

    def run_forever(self, handler: Callable[[ItemRecord], Any]) -> None:
        """Sweeps on the schedule until :meth:`cancel`; account, checkpoint and consumer errors
        are raised, transient ones wait for the next sweep."""
        self._run_forever(handler)

    def skip(self, seq: int, reason: str) -> SkippedNumber:
        """Steps over number ``seq`` for good (an item that can never be decoded, say) and
        records ``reason`` in ``status()["skipped"]`` (and a ``skipped`` event). Allowed for the
        cursor, an open hole, or the number the poller is stuck at (``status()["stuck"]``);
        anything else raises :class:`~safe_tracker.ValidationError` (``field == "seq"``), as
        does an empty reason (``field == "reason"``). Between sweeps only
        (:class:`~safe_tracker.CheckpointError` while one runs). Returns the recorded skip."""
        _skip_args(seq, reason)
        try:
            return json.loads(self._native.skip(seq, reason))  # type: ignore[no-any-return]
        finally:
            self._deliver_events()


class AsyncPoller(_PollerBase[ItemRecord]):
    """The sequential poller for asyncio: ``async for record in poller.sweep():``."""

    _record = ItemRecord
    _kind = "items"
    _asyncio = True

    def __init__(
        self,
        client: AsyncClient,
        *,
        checkpoint: Optional[Checkpoint] = None,
        start_seq: Optional[int] = None,
        gap_tolerance: Optional[int] = None,
        hole_max_age: Optional[float] = None,
        read_ahead: Optional[int] = None,
        expand: Optional[Union[str, Sequence[str]]] = None,
        interval: Optional[float] = None,
        jitter: Optional[float] = None,
        unsafe_min_interval: Optional[float] = None,
        stall_after_sweeps: Optional[int] = None,
        jump_stalls: Optional[bool] = None,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> None:
        super().__init__(client, checkpoint, _ItemsOptions.json(
            start_seq, gap_tolerance, hole_max_age, read_ahead, expand, interval, jitter,
            unsafe_min_interval, stall_after_sweeps, jump_stalls), on_event)

    def sweep(self) -> AsyncIterator[ItemRecord]:
        """An async iterator of records, each acknowledged when the next is asked for."""
        return self._aiterate()

    async def sweep_with(self, handler: Callable[[ItemRecord], Any]) -> Optional[SweepReport]:
        """Runs one sweep with a (possibly async) handler; returns the report."""
        return await self._asweep_with(handler)

    async def run_forever(self, handler: Callable[[ItemRecord], Any]) -> None:
        """Sweeps on the schedule until :meth:`cancel`."""
        await self._arun_forever(handler)

    async def skip(self, seq: int, reason: str) -> SkippedNumber:
        """See :meth:`Poller.skip`."""
        _skip_args(seq, reason)
        try:
            raw = await _await_native(lambda cb: self._native.skip_async(seq, reason, cb))
        finally:
            self._deliver_events()
        return json.loads(raw)  # type: ignore[no-any-return]


def _updated_options(since: Optional[str], overlap: Optional[float], page_size: Optional[int],
                     interval: Optional[float], jitter: Optional[float], unsafe_min_interval: Optional[float]) -> str:
    return _options(since=since, overlap=overlap, page_size=page_size, interval=interval, jitter=jitter,
                    unsafe_min_interval=unsafe_min_interval)


class UpdatedPoller(_PollerBase[UpdatedRecord]):
    """Follows items changed since a watermark (blocking), de-duplicated by
    (id, modification time), with an overlap window."""

    _record = UpdatedRecord
    _kind = "updated"

    def __init__(self, client: Client, *, checkpoint: Optional[Checkpoint] = None, since: Optional[str] = None,
                 overlap: Optional[float] = None, page_size: Optional[int] = None, interval: Optional[float] = None,
                 jitter: Optional[float] = None, unsafe_min_interval: Optional[float] = None,
                 on_event: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        super().__init__(client, checkpoint,
                         _updated_options(since, overlap, page_size, interval, jitter, unsafe_min_interval), on_event)

    def sweep(self, handler: Optional[Callable[[UpdatedRecord], Any]] = None) -> Any:
        """Like :meth:`Poller.sweep`."""
        if handler is None:
            return self._iterate()
        return self._sweep_with(handler)

    def run_forever(self, handler: Callable[[UpdatedRecord], Any]) -> None:
        """Like :meth:`Poller.run_forever`."""
        self._run_forever(handler)


class AsyncUpdatedPoller(_PollerBase[UpdatedRecord]):
    """The updated-items stream for asyncio."""

    _record = UpdatedRecord
    _kind = "updated"
    _asyncio = True

    def __init__(self, client: AsyncClient, *, checkpoint: Optional[Checkpoint] = None, since: Optional[str] = None,
                 overlap: Optional[float] = None, page_size: Optional[int] = None, interval: Optional[float] = None,
                 jitter: Optional[float] = None, unsafe_min_interval: Optional[float] = None,
                 on_event: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        super().__init__(client, checkpoint,
                         _updated_options(since, overlap, page_size, interval, jitter, unsafe_min_interval), on_event)

    def sweep(self) -> AsyncIterator[UpdatedRecord]:
        """An async iterator of changed items."""
        return self._aiterate()

    async def sweep_with(self, handler: Callable[[UpdatedRecord], Any]) -> Optional[SweepReport]:
        """One sweep with a (possibly async) handler."""
        return await self._asweep_with(handler)

    async def run_forever(self, handler: Callable[[UpdatedRecord], Any]) -> None:
        """Sweeps on the schedule until :meth:`cancel`."""
        await self._arun_forever(handler)


__all__: List[str] = [
    "Checkpoint", "MemoryCheckpoint", "FileCheckpoint", "SqliteCheckpoint", "CallbackCheckpoint",
    "Poller", "AsyncPoller", "UpdatedPoller", "AsyncUpdatedPoller",
]
