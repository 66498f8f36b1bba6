"""The generated models against the core's schema: every wire name of every model, its type,
and dates that keep their raw text."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Type

import safe_tracker as st
from safe_tracker import _native
from conftest import ROOT

SCHEMA_FILE = ROOT / "schema" / "safe-tracker.schema.json"

# Every model class and its `$defs` entry (the same name).
MODELS: List[Type[st.Model]] = [
    st.Item, st.Case, st.CustodyEntry, st.Person, st.Address, st.FormDataEntry, st.Form,
    st.LookupEntry, st.TypeaheadEntry, st.User, st.NewPerson, st.SearchPage, st.ItemRecord,
    st.UpdatedRecord,
]


def committed() -> Dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())  # type: ignore[no-any-return]


def test_the_committed_schema_is_the_cores() -> None:
    # The wheel's core and the committed file agree: a field added in Rust without
    # `make codegen` fails here (and in `make codegen-check`).
    assert json.loads(_native.schema_json()) == committed(), "run `make codegen`"


def test_every_wire_name_of_every_model() -> None:
    for schema in (committed(), json.loads(_native.schema_json())):
        for cls in MODELS:
            props = schema["$defs"][cls.__name__]["properties"]
            assert sorted(cls._wire.values()) == sorted(props), cls.__name__
            fields = set(getattr(cls, "__dataclass_fields__"))
            for attr in cls._wire:
                assert attr in fields, f"{cls.__name__}.{attr}"


def _python_type(cls: Type[st.Model], attr: str) -> str:
    # The annotation as written (the module has `from __future__ import annotations`).
    return str(getattr(cls, "__dataclass_fields__")[attr].type)


def test_field_types_follow_the_schema() -> None:
    defs = committed()["$defs"]
    for cls in MODELS:
        props = defs[cls.__name__]["properties"]
        for attr, wire in cls._wire.items():
            prop = props[wire]
            hint = _python_type(cls, attr)
            text = json.dumps(prop)
            if "#/$defs/SafeDateTime" in text:
                assert hint == "Optional[SafeDateTime]", f"{cls.__name__}.{attr}"
                assert attr in cls._dates
            elif prop.get("type") in ("integer", ["integer", "null"]):
                assert hint == "Optional[int]", f"{cls.__name__}.{attr}"
            elif prop.get("type") in ("string", ["string", "null"]):
                assert hint == "Optional[str]", f"{cls.__name__}.{attr}"
            elif prop.get("type") in ("boolean", ["boolean", "null"]):
                assert hint == "Optional[bool]", f"{cls.__name__}.{attr}"
            items = prop.get("items")
            refs = [prop.get("$ref"), items.get("$ref") if isinstance(items, dict) else None]
            refs += [m.get("$ref") for m in prop.get("anyOf", [])]
            names = {r.rsplit("/", 1)[-1] for r in refs if r} & {c.__name__ for c in MODELS}
            assert cls._nested.get(attr) == (names.pop() if names else None), f"{cls.__name__}.{attr}"
    assert _python_type(st.Item, "form_data") == "Optional[List[FormDataEntry]]"
    assert _python_type(st.ItemRecord, "key") == "Optional[RecordKey]"
    assert _python_type(st.NewPerson, "person") == "Optional[Person]"


def test_dates_keep_the_raw_text_and_the_parsed_value() -> None:
    item = st.Item.from_dict({
        "id": 1, "recoveryDate": "2017-11-29 13:25:00.000", "dateCreated": "2020-02-13T05:00:00.000Z",
        "updatedDate": "not a date",
    })
    assert isinstance(item.recovery_date, st.SafeDateTime)
    assert item.recovery_date.value == datetime(2017, 11, 29, 13, 25, tzinfo=timezone.utc)
    assert item.date_created is not None and item.date_created.raw == "2020-02-13T05:00:00.000Z"
    assert item.date_created.value == datetime(2020, 2, 13, 5, tzinfo=timezone.utc)
    # An unparseable date is kept, never refused, and written back as it came.
    assert item.updated_date == st.SafeDateTime("not a date") and item.updated_date.value is None
    wire = item.to_dict()
    assert wire["recoveryDate"] == "2017-11-29 13:25:00.000" and wire["updatedDate"] == "not a date"
    assert st.Item.from_dict(wire) == item
    assert str(item.recovery_date) == "2017-11-29 13:25:00.000"
    # Other forms the core parses, and one with a zone.
    assert st.SafeDateTime("2024-03-01").value == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert st.SafeDateTime("2024-03-01T10:30").value == datetime(2024, 3, 1, 10, 30, tzinfo=timezone.utc)
    assert st.SafeDateTime("2024-03-01T10:30:00+02:00").value == datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)
    assert st.SafeDateTime("2024-02-30").value is None
    # Built by hand: text becomes a SafeDateTime; a datetime is written as the core writes one.
    case = st.Case(case_number="D-1", offense_date="2021-05-06T07:08:09.000Z")  # type: ignore[arg-type]
    assert isinstance(case.offense_date, st.SafeDateTime) and case.offense_date.value is not None
    when = st.SafeDateTime.of(datetime(2021, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc))
    assert when.raw == "2021-05-06T07:08:09.123Z"
    assert st.Case(review_date=when).to_dict() == {"reviewDate": "2021-05-06T07:08:09.123Z"}


def test_every_field_round_trips(vectors: Dict[str, Any]) -> None:
    # Each model from a wire object with every schema field set: nothing goes to `extra`.
    defs = committed()["$defs"]
    for name, items in vectors["models"].items():
        cls = {c.__name__: c for c in MODELS}["".join(p.capitalize() for p in name.split("_"))]
        for wire in items:
            model = cls.from_dict(wire)
            known = set(defs[cls.__name__]["properties"])
            assert set(model.extra) == set(wire) - known, name
