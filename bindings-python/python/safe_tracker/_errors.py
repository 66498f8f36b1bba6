"""Exceptions: :class:`SafeError`, the base of one subclass per stable error code of the core.

The subclasses, ``ERRORS_BY_CODE`` and the code table are generated from the core's table into
``_error_codes.py`` (``make codegen``); this module holds what they share and what one of them
adds. Every exception carries ``code`` (the stable number shared with C, Node and C#),
``status`` (the HTTP status, when an answer came), ``path`` (the templated route, never ids),
``retry_after`` (seconds, for :class:`RateLimitedError`) and ``field`` (for
:class:`ValidationError`); :class:`DuplicateNumberError` adds ``seq`` and ``ids``. They are
picklable. The token never appears in their messages.
"""

from __future__ import annotations

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

    @classmethod
    def _from_details(
        cls,
        message: str,
        status: Optional[int],
        path: Optional[str],
        retry_after: Optional[float],
        field: Optional[str],
        seq: Optional[int],
        ids: Optional[List[int]],
    ) -> SafeError:
        """The exception of a native error (``seq`` and ``ids`` only for the classes with them)."""
        return cls(message, status=status, path=path, retry_after=retry_after, field=field)


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


class _DuplicateNumberFields(SafeError):
    """What :class:`DuplicateNumberError` adds: ``seq`` and ``ids``, kept by pickling."""

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

    @classmethod
    def _from_details(
        cls,
        message: str,
        status: Optional[int],
        path: Optional[str],
        retry_after: Optional[float],
        field: Optional[str],
        seq: Optional[int],
        ids: Optional[List[int]],
    ) -> SafeError:
        return cls(message, status=status, path=path, retry_after=retry_after, field=field, seq=seq, ids=ids)
