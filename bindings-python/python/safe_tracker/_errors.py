"""Exceptions: :class:`SafeError` and one subclass per stable error code of the core.

Every exception carries ``code`` (the stable number shared with C, Node and C#), ``status`` (the
HTTP status, when an answer came), ``path`` (the templated route, never ids), ``retry_after``
(seconds, for :class:`RateLimitedError`) and ``field`` (for :class:`ValidationError`);
:class:`DuplicateNumberError` adds ``seq`` and ``ids``. They are picklable. The token never
appears in their messages.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type


class SafeError(Exception):
    """Base class of every error raised by safe_tracker."""

    code: int = 0
    """The stable error code."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        path: Optional[str] = None,
        retry_after: Optional[float] = None,
        field: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.path = path
        self.retry_after = retry_after
        self.field = field

    def _extra(self) -> Dict[str, Any]:
        """Keyword arguments of a subclass beyond the common ones (kept by pickling)."""
        return {}

    def __reduce__(self) -> Tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.message, self.status, self.path, self.retry_after, self.field, self._extra()),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, status={self.status}, path={self.path!r}, message={self.message!r})"


def _rebuild(
    cls: Type[SafeError],
    message: str,
    status: Optional[int],
    path: Optional[str],
    retry_after: Optional[float],
    field: Optional[str],
    extra: Optional[Mapping[str, Any]] = None,
) -> SafeError:
    return cls(message, status=status, path=path, retry_after=retry_after, field=field, **dict(extra or {}))


class InvalidConfigError(SafeError):
    """The configuration is invalid."""

    code = 1


class ValidationError(SafeError):
    """A model failed validation before sending, or the server rejected it."""

    code = 2


class TransportError(SafeError):
    """The connection failed or broke."""

    code = 10


class TimeoutError(SafeError, builtins.TimeoutError):
    """An attempt or the whole call timed out (also a built-in ``TimeoutError``)."""

    code = 11


class ResponseTooLargeError(SafeError):
    """The response body exceeded the cap."""

    code = 12


class DecodeError(SafeError):
    """The response could not be decoded."""

    code = 13


class AuthError(SafeError):
    """The token is missing, unknown or expired (401)."""

    code = 20


class AccountDisabledError(SafeError):
    """The account is disabled, or the request is forbidden (403)."""

    code = 21


class LicenseUnavailableError(SafeError):
    """SAFE answered that no licenses are available."""

    code = 22


class RateLimitedError(SafeError):
    """The server asked to slow down for longer than the SDK may wait (see ``retry_after``)."""

    code = 23


class BudgetExhaustedError(SafeError):
    """The configured request budget would be exceeded."""

    code = 24


class NotFoundError(SafeError):
    """The entity does not exist (404)."""

    code = 30


class ConflictError(SafeError):
    """The entity conflicts with an existing one (duplicate)."""

    code = 31


class DuplicateNumberError(SafeError):
    """Several items hold the sequential org id asked for with ``item_by_seq``: read them all
    with ``items_by_seq``. ``seq`` is the number, ``ids`` the ids of its items (ascending; an
    item without an id is not listed). Nothing was dropped: no item is chosen for you."""

    code = 32

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        path: Optional[str] = None,
        retry_after: Optional[float] = None,
        field: Optional[str] = None,
        seq: Optional[int] = None,
        ids: Optional[Sequence[int]] = None,
    ) -> None:
        super().__init__(message, status=status, path=path, retry_after=retry_after, field=field)
        self.seq: Optional[int] = seq
        """The sequential org id held by several items."""
        self.ids: List[int] = list(ids or [])
        """The ids of the items holding it (ascending)."""

    def _extra(self) -> Dict[str, Any]:
        return {"seq": self.seq, "ids": list(self.ids)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, seq={self.seq}, ids={self.ids}, message={self.message!r})"


class ServerError(SafeError):
    """The server failed after the retries allowed."""

    code = 40


class CheckpointError(SafeError):
    """The checkpoint store failed or is locked by another poller."""

    code = 50


class CancelledError(SafeError):
    """The operation was cancelled."""

    code = 51


class ConsumerError(SafeError):
    """The consumer of a poller failed on a record."""

    code = 52


ERRORS_BY_CODE: Dict[int, Type[SafeError]] = {
    cls.code: cls
    for cls in (
        InvalidConfigError,
        ValidationError,
        TransportError,
        TimeoutError,
        ResponseTooLargeError,
        DecodeError,
        AuthError,
        AccountDisabledError,
        LicenseUnavailableError,
        RateLimitedError,
        BudgetExhaustedError,
        NotFoundError,
        ConflictError,
        DuplicateNumberError,
        ServerError,
        CheckpointError,
        CancelledError,
        ConsumerError,
    )
}
"""Every exception class by its stable code."""


def _from_native(
    code: int,
    message: str,
    status: Optional[int],
    path: Optional[str],
    retry_after: Optional[float],
    field: Optional[str],
    seq: Optional[int] = None,
    ids: Optional[List[int]] = None,
) -> SafeError:
    cls = ERRORS_BY_CODE.get(code, SafeError)
    if cls is DuplicateNumberError:
        return DuplicateNumberError(
            message, status=status, path=path, retry_after=retry_after, field=field, seq=seq, ids=ids
        )
    return cls(message, status=status, path=path, retry_after=retry_after, field=field)
