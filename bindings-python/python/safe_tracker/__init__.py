"""safe_tracker: a client for the SAFE evidence-management web API (Tracker Products).

``Client`` and ``AsyncClient`` call every endpoint; ``Poller`` and ``AsyncPoller`` run the
throttled sequential poller with durable checkpoints; ``UpdatedPoller`` follows changed items;
``Fleet`` and ``AsyncFleet`` run every agency of a tenants file in one process.
Hosts upsert poller records by ``record.key`` (organisation, item id).
Errors are :class:`SafeError` subclasses; logs go to the ``safe_tracker`` logger.
"""

from ._client import AsyncClient, Client
from . import _error_codes
from ._error_codes import *  # one exception class per code, and ERRORS_BY_CODE (generated)
from ._errors import SafeError
from ._fleet import AsyncFleet, Fleet, FleetRecord
from ._models import (
    Address,
    Case,
    CustodyEntry,
    Form,
    FormDataEntry,
    Item,
    ItemRecord,
    LookupEntry,
    Model,
    NewPerson,
    PartialNumber,
    Person,
    PollerEvent,
    PollerStatus,
    RecordKey,
    SafeDateTime,
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
from ._native import __version__
from ._poller import (
    AsyncPoller,
    AsyncUpdatedPoller,
    CallbackCheckpoint,
    Checkpoint,
    FileCheckpoint,
    MemoryCheckpoint,
    Poller,
    PostgresCheckpoint,
    SqliteCheckpoint,
    UpdatedPoller,
)

__all__ = [
    "__version__", "Client", "AsyncClient", "Poller", "AsyncPoller", "UpdatedPoller",
    "AsyncUpdatedPoller", "Checkpoint", "MemoryCheckpoint", "FileCheckpoint", "SqliteCheckpoint",
    "PostgresCheckpoint",
    "CallbackCheckpoint", "Model", "Item", "Case", "Person", "Address", "NewPerson", "User",
    "CustodyEntry", "FormDataEntry", "Form", "LookupEntry", "TypeaheadEntry", "SearchPage",
    "ItemRecord", "UpdatedRecord", "RecordKey", "SafeDateTime", "PollerStatus", "StuckNumber",
    "PartialNumber", "SkippedNumber", "SweepSummary", "SweepPlan", "SweepReport", "SweepOutcome",
    "PollerEvent", "SafeError", "Fleet", "AsyncFleet", "FleetRecord", "TenantState", "TenantError",
    "TenantPhase",
]
__all__ += _error_codes.__all__
