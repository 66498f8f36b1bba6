"""Models: Python classes with attributes, ``to_dict()`` (the wire's camelCase, unknown fields
written back), equality, and ``extra`` for fields this SDK does not know.

The model classes are generated from the core's schema (``_models_generated.py``, ``make
codegen``) on the hand-written bases of ``_model_base.py`` (``Model``, ``SafeDateTime``,
form-data decoding, ``RecordKey``); so are the ``TypedDict`` shapes of the poller's
``status()``, ``plan()``, ``skip()`` and ``last_report()``, and of a fleet's ``states()``."""

from __future__ import annotations

from ._model_base import Model, RecordKey, SafeDateTime
from ._models_generated import (
    Address,
    Case,
    CustodyEntry,
    Duration,
    Form,
    FormDataEntry,
    Item,
    ItemRecord,
    LookupEntry,
    NewPerson,
    PartialNumber,
    Person,
    PollerEvent,
    PollerStatus,
    SearchPage,
    SkippedNumber,
    StuckNumber,
    SweepOutcome,
    SweepPlan,
    SweepReport,
    SweepSummary,
    TenantError,
    TenantPhase,
    TenantState,
    TypeaheadEntry,
    UpdatedRecord,
    User,
)

__all__ = [
    "Model", "RecordKey", "SafeDateTime", "Address", "Case", "CustodyEntry", "Form",
    "FormDataEntry", "Item", "ItemRecord", "LookupEntry", "NewPerson", "Person", "SearchPage",
    "TypeaheadEntry", "UpdatedRecord", "User", "SweepSummary", "StuckNumber", "PartialNumber",
    "SkippedNumber", "PollerStatus", "SweepPlan", "SweepReport", "SweepOutcome", "PollerEvent",
    "Duration", "TenantState", "TenantError", "TenantPhase",
]
