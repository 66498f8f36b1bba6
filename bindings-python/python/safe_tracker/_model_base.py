"""The hand-written parts the generated models (``_models_generated.py``) are built on: the
``Model`` base (wire names, nested models, dates), ``SafeDateTime``, the form-data decoding of
``FormDataEntry``, ``RecordKey`` and the records' key logic. What a model's fields are comes
from the core's schema (``make codegen``), never from here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    FrozenSet,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypeVar,
)

if TYPE_CHECKING:
    from ._models_generated import Item

T = TypeVar("T", bound="Model")

# What the core parses (models/datetime.rs): RFC 3339, or a date and time without a zone (UTC),
# with or without seconds and fraction, or a date alone.
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:\d{2})?)?"
)


def _parse_datetime(raw: str) -> Optional[datetime]:
    m = _DATE.fullmatch(raw.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if hour is None:
        tz: timezone = timezone.utc
    elif zone is not None and second is None:
        return None  # RFC 3339 has seconds
    elif zone is None or zone in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            micro, tzinfo=tz,
        )
    except ValueError:
        return None
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class SafeDateTime:
    """A SAFE timestamp: the text exactly as the server sent it (``raw``, written back
    unchanged) and the instant in UTC when it parses (``value``, else ``None``: an unparseable
    date is kept, never refused). Equal when the raw texts are; ``str()`` is the raw text."""

    raw: str
    """The text as it came from the wire (ISO-8601, or ``2017-11-29 13:25:00.000``)."""
    value: Optional[datetime] = field(init=False, compare=False, repr=False)
    """The instant (an aware ``datetime`` in UTC), or ``None`` when ``raw`` does not parse."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _parse_datetime(self.raw))

    @classmethod
    def of(cls, value: datetime) -> "SafeDateTime":
        """The timestamp of ``value`` (naive means UTC), written as the core writes one:
        ISO-8601 with milliseconds and ``Z``."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        utc = value.astimezone(timezone.utc)
        return cls(utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z")

    def __str__(self) -> str:
        return self.raw


_MODELS: Dict[str, Type["Model"]] = {}


class Model:
    """Base of every model: built from and written to the wire's JSON objects."""

    _wire: ClassVar[Dict[str, str]] = {}
    """Attribute -> wire name, for every field of the schema."""
    _nested: ClassVar[Dict[str, str]] = {}
    """Attribute -> the model class (by name) of its object or list of objects."""
    _dates: ClassVar[FrozenSet[str]] = frozenset()
    """Attributes that hold a ``SafeDateTime``."""
    extra: Dict[str, Any]

    _attr_of: ClassVar[Dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Wire name -> attribute, so decoding walks the answer's keys once.
        cls._attr_of = {wire: attr for attr, wire in cls._wire.items()}
        if not cls.__name__.startswith("_"):
            _MODELS[cls.__name__] = cls

    def __post_init__(self) -> None:
        # A date given as text (built by hand) becomes a SafeDateTime, as one decoded.
        for attr in self._dates:
            value = getattr(self, attr)
            if isinstance(value, str):
                setattr(self, attr, SafeDateTime(value))

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        """Builds the model from a wire object; unknown keys go to ``extra``."""
        attr_of = cls._attr_of
        nested_of = cls._nested
        kwargs: Dict[str, Any] = {}
        extra: Dict[str, Any] = {}
        for wire, value in data.items():
            attr = attr_of.get(wire)
            if attr is None:
                extra[wire] = value
                continue
            nested = nested_of.get(attr)
            if nested is not None and isinstance(value, list):
                value = [_MODELS[nested].from_dict(v) for v in value]
            elif nested is not None and isinstance(value, dict):
                value = _MODELS[nested].from_dict(value)
            kwargs[attr] = value
        kwargs["extra"] = extra
        return cls(**kwargs)

    def to_dict(self) -> Dict[str, Any]:
        """The wire object: known fields in camelCase (``None`` left out; dates as their raw
        text), then ``extra``."""
        out: Dict[str, Any] = {}
        for attr, wire in self._wire.items():
            value = getattr(self, attr)
            if value is None:
                continue
            out[wire] = _plain(value)
        out.update(self.extra)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, (Model, RecordKey)):
        return value.to_dict()
    if isinstance(value, SafeDateTime):
        return value.raw
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _FormDataCodec(Model):
    """``FormDataEntry``'s ``data``: decoded into ``data``, kept as sent in ``raw_data``.

    Decoding is lenient: a ``data`` text that is not a JSON object (a corrupt form) never
    raises. ``raw_data`` keeps it byte for byte, ``data`` is ``None`` and ``data_error`` says
    why; ``to_dict()`` writes the raw text back unchanged.
    """

    data: Optional[Dict[str, Any]]
    raw_data: str
    data_error: Optional[str]

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        rest = dict(data)
        raw = rest.pop("data", None)
        entry = super().from_dict(rest)
        assert isinstance(entry, _FormDataCodec)
        if raw is None:
            raw = ""
        elif isinstance(raw, dict):  # already decoded (built by hand): keep it as the fields
            entry.raw_data = json.dumps(raw, separators=(",", ":"))
            entry.data = dict(raw)
            return entry
        elif not isinstance(raw, str):
            entry.raw_data = json.dumps(raw, separators=(",", ":"))
            entry.data = None
            entry.data_error = "form data `data` is not a string"
            return entry
        entry.raw_data = raw
        entry.data, entry.data_error = _decode_form_data(raw)
        return entry

    def to_dict(self) -> Dict[str, Any]:
        out = super().to_dict()
        out.pop("data", None)
        if self.data is None:
            # Not decoded (or cleared): the raw text goes back exactly as it came.
            out["data"] = self.raw_data
            return out
        decoded, _ = _decode_form_data(self.raw_data)
        out["data"] = self.raw_data if decoded == self.data else json.dumps(self.data, separators=(",", ":"))
        return out


def _decode_form_data(raw: str) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """``(fields, None)``, or ``(None, reason)`` when ``raw`` is not a JSON object (as the
    core decodes it: an empty or ``null`` text has no fields)."""
    text = raw.strip()
    if text in ("", "null"):
        return {}, None
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        value = json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:
        return None, f"form data `data` is not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, "form data `data` is not a JSON object"
    return value, None


class _FormSchema(Model):
    """``Form.schema_fields()``."""

    schema: Optional[str]

    def schema_fields(self) -> List[Any]:
        """The decoded schema's ``fields``."""
        if not self.schema:
            return []
        fields = json.loads(self.schema).get("fields", [])
        return list(fields) if isinstance(fields, list) else []


@dataclass(frozen=True)
class RecordKey:
    """The identity of a delivered item: **upsert by it** (``record.key``).

    ``(organization_id, item_id)`` for every item with an ``id``: the same row whatever
    number the item holds now (a number can be held by several items, and an item can be
    renumbered). An item delivered without an ``id`` gets ``(organization_id,
    sequential_org_id)`` instead (``item_id`` is then ``None``; the record carries a warning).
    Hashable, so usable as a ``dict`` key; ``str(key)`` is ``"<org>/item/<id>"`` or
    ``"<org>/seq/<number>"`` for a text column.
    """

    organization_id: int
    """Organisation id."""
    item_id: Optional[int] = None
    """Item id (``None`` only for an item without one)."""
    sequential_org_id: Optional[int] = None
    """The number, only for an item without an id (else ``None``)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RecordKey":
        """From the wire form: ``{"organization_id", "item_id"}`` or ``{"organization_id",
        "sequential_org_id"}``."""
        if data.get("item_id") is not None:
            return cls(int(data["organization_id"]), item_id=int(data["item_id"]))
        seq = data.get("sequential_org_id")
        return cls(int(data["organization_id"]), sequential_org_id=None if seq is None else int(seq))

    @classmethod
    def of(cls, organization_id: int, seq: Optional[int], item: Optional["Item"]) -> "RecordKey":
        """The key of ``item`` delivered under number ``seq`` (as the core computes it)."""
        if item is not None and item.id is not None:
            return cls(organization_id, item_id=item.id)
        return cls(organization_id, sequential_org_id=seq)

    def to_dict(self) -> Dict[str, Any]:
        """The wire form."""
        if self.item_id is not None:
            return {"organization_id": self.organization_id, "item_id": self.item_id}
        return {"organization_id": self.organization_id, "sequential_org_id": self.sequential_org_id}

    def __str__(self) -> str:
        if self.item_id is not None:
            return f"{self.organization_id}/item/{self.item_id}"
        return f"{self.organization_id}/seq/{self.sequential_org_id}"


class _KeyedRecordCodec(Model):
    """A record's ``key``: decoded into a ``RecordKey``, or computed as the core does when the
    wire form has none (:meth:`_default_key`); written first."""

    key: Optional[RecordKey]

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        rest = dict(data)
        raw = rest.pop("key", None)
        record = super().from_dict(rest)
        assert isinstance(record, _KeyedRecordCodec)
        record.key = RecordKey.from_dict(raw) if isinstance(raw, Mapping) else record._default_key()
        return record

    def _default_key(self) -> Optional[RecordKey]:
        return None

    def to_dict(self) -> Dict[str, Any]:
        out = super().to_dict()
        out.pop("key", None)
        if self.key is not None:
            out = {"key": self.key.to_dict(), **out}
        return out


class _ItemRecordCodec(_KeyedRecordCodec):
    """``ItemRecord``'s key: (organisation, item id), or (organisation, number) for an item
    without an id, when the wire form has none."""

    organization_id: Optional[int]
    sequential_org_id: Optional[int]
    item: Optional["Item"]

    def _default_key(self) -> Optional[RecordKey]:
        if self.organization_id is None:
            return None
        return RecordKey.of(self.organization_id, self.sequential_org_id, self.item)

    @property
    def dedupe_key(self) -> Optional[RecordKey]:
        """The same as :attr:`key` (the item id is the identity, not the number)."""
        return self.key


class _UpdatedRecordCodec(_KeyedRecordCodec):
    """``UpdatedRecord``'s key: (organisation, item id) when the wire form has none."""

    organization_id: Optional[int]
    item_id: Optional[int]

    def _default_key(self) -> Optional[RecordKey]:
        if self.organization_id is None or self.item_id is None:
            return None
        return RecordKey(self.organization_id, item_id=self.item_id)
