"""Exceptions: :class:`SafeError` and one subclass per stable error code of the core.

Every exception carries ``code`` (the stable number shared with C, Node and C#), ``status`` (the
HTTP status, when an answer came), ``path`` (the templated route, never ids), ``retry_after``
(seconds, for :class:`RateLimitedError`) and ``field`` (for :class:`ValidationError`). They are
picklable. The token never appears in their messages.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Optional, Tuple, Type


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

    def __reduce__(self) -> Tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.message, self.status, self.path, self.retry_after, self.field),
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
) -> SafeError:
    return cls(message, status=status, path=path, retry_after=retry_after, field=field)


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
) -> SafeError:
    cls = ERRORS_BY_CODE.get(code, SafeError)
    return cls(message, status=status, path=path, retry_after=retry_after, field=field)
