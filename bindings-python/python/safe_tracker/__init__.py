"""safe_tracker: a client for the SAFE evidence-management web API (Tracker Products).

``Client`` and ``AsyncClient`` call every endpoint; ``Poller`` and ``AsyncPoller`` run the
throttled sequential poller with durable checkpoints; ``UpdatedPoller`` follows changed items.
Hosts upsert poller records by ``record.key`` (organisation, item id).
Errors are :class:`SafeError` subclasses; logs go to the ``safe_tracker`` logger.
"""

from ._client import AsyncClient, Client
from ._errors import (
    ERRORS_BY_CODE,
    AccountDisabledError,
    AuthError,
    BudgetExhaustedError,
    CancelledError,
    CheckpointError,
    ConflictError,
    ConsumerError,
    DecodeError,
    DuplicateNumberError,
    InvalidConfigError,
    LicenseUnavailableError,
    NotFoundError,
    RateLimitedError,
    ResponseTooLargeError,
    SafeError,
    ServerError,
    TimeoutError,
    TransportError,
    ValidationError,
)
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
    PollerStatus,
    RecordKey,
    SearchPage,
    SkippedNumber,
    StuckNumber,
    SweepSummary,
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
    SqliteCheckpoint,
    UpdatedPoller,
)

__all__ = [
    "__version__", "Client", "AsyncClient", "Poller", "AsyncPoller", "UpdatedPoller",
    "AsyncUpdatedPoller", "Checkpoint", "MemoryCheckpoint", "FileCheckpoint", "SqliteCheckpoint",
    "CallbackCheckpoint", "Model", "Item", "Case", "Person", "Address", "NewPerson", "User",
    "CustodyEntry", "FormDataEntry", "Form", "LookupEntry", "TypeaheadEntry", "SearchPage",
    "ItemRecord", "UpdatedRecord", "RecordKey", "PollerStatus", "StuckNumber", "PartialNumber",
    "SkippedNumber", "SweepSummary", "SafeError", "InvalidConfigError", "ValidationError",
    "TransportError", "TimeoutError", "ResponseTooLargeError", "DecodeError", "AuthError",
    "AccountDisabledError", "LicenseUnavailableError", "RateLimitedError", "BudgetExhaustedError",
    "NotFoundError", "ConflictError", "DuplicateNumberError", "ServerError", "CheckpointError", "CancelledError",
    "ConsumerError", "ERRORS_BY_CODE",
]
