"""Models: Python classes with attributes, ``to_dict()`` (the wire's camelCase, unknown fields
written back), equality, and ``extra`` for fields this SDK does not know.

The model classes are generated from the core's schema (``_models_generated.py``, ``make
codegen``) on the hand-written bases of ``_model_base.py`` (``Model``, ``SafeDateTime``,
form-data decoding, ``RecordKey``); the ``TypedDict`` shapes of ``status()`` are here."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict

from ._model_base import Model, RecordKey, SafeDateTime
from ._models_generated import (
    Address,
    Case,
    CustodyEntry,
    Form,
    FormDataEntry,
    Item,
    ItemRecord,
    LookupEntry,
    NewPerson,
    Person,
    SearchPage,
    TypeaheadEntry,
    UpdatedRecord,
    User,
)

__all__ = [
    "Model", "RecordKey", "SafeDateTime", "Address", "Case", "CustodyEntry", "Form",
    "FormDataEntry", "Item", "ItemRecord", "LookupEntry", "NewPerson", "Person", "SearchPage",
    "TypeaheadEntry", "UpdatedRecord", "User", "SweepSummary", "StuckNumber", "PartialNumber",
    "SkippedNumber", "PollerStatus",
]


class SweepSummary(TypedDict):
    """How a sweep went (``status()["last_sweep"]``, ``last_report()["summary"]``); times are
    ISO-8601 text."""

    started: str
    finished: str
    items: int
    requests: int
    holes_recorded: int
    holes_filled: int
    holes_abandoned: int
    duplicate_numbers: int
    """Answers that held several items for one number."""
    cursor_start: int
    cursor_end: int
    outcome: Dict[str, Any]
    """``{"outcome": "completed" | "failed" | "interrupted"}``, with ``code`` and ``message``
    for a failure."""


class StuckNumber(TypedDict):
    """The number the last sweeps failed at, and why (``status()["stuck"]``)."""

    seq: int
    code: int
    """The stable error code of the last failure."""
    name: str
    """The error's name (``Decode``…)."""
    message: str
    since: str
    """When a sweep first failed at it."""
    sweeps: int
    """How many sweeps in a row failed at it."""


class PartialNumber(TypedDict):
    """A number held by several items whose delivery is under way (``status()["partial"]``):
    the ids acknowledged so far, so a restart redelivers only the others."""

    seq: int
    done: List[int]
    done_without_id: int


class _SkippedBase(TypedDict):
    seq: int
    reason: str
    at: str
    kept_as_hole: bool
    """The number answered blank, so it stays an open hole: re-probed, delivered late should
    an item appear."""


class SkippedNumber(_SkippedBase, total=False):
    """A number an operator stepped over with ``skip`` (``status()["skipped"]``)."""

    error: str
    """The failure the poller was stuck with there, if any."""


class PollerStatus(TypedDict):
    """``poller.status()``: a plain ``dict`` of the checkpoint state (no request)."""

    stream: str
    cursor: int
    """The next number to request."""
    holes: List[int]
    last_sweep_started: Optional[str]
    last_sweep: Optional[SweepSummary]
    next_allowed_sweep: Optional[str]
    requests_spent: int
    stalled_next: Optional[int]
    watermark: Optional[str]
    """Updated-items stream: the watermark."""
    stuck: Optional[StuckNumber]
    """The number the last sweeps failed at and why; step over it with ``skip`` when it will
    never succeed."""
    partial: Optional[PartialNumber]
    skipped: List[SkippedNumber]
    """Numbers skipped by an operator (the latest 100)."""
    duplicate_numbers: int
    """Answers that held several items for one number, over the poller's life."""
