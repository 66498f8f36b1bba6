"""``tests/conformance/full-models.json`` through the Python models: one wire object per model
with every field set (and one unknown field), decoded and compared attribute by attribute
with the core's schema (name and Python type). A field missing from a class, from the
vectors, or decoded into the wrong type fails here."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Type

import safe_tracker as st
from safe_tracker import _native
from conftest import ROOT

UNKNOWN = "futureField"
MODELS: List[Type[st.Model]] = [
    st.Item, st.Case, st.CustodyEntry, st.Person, st.Address, st.FormDataEntry, st.User,
    st.NewPerson, st.Form, st.LookupEntry, st.TypeaheadEntry,
]
CLASSES: Dict[str, Type[st.Model]] = {c.__name__: c for c in MODELS}


def full_models() -> Dict[str, Dict[str, Any]]:
    text = (ROOT / "tests" / "conformance" / "full-models.json").read_text()
    return json.loads(text)["models"]  # type: ignore[no-any-return]


def defs() -> Dict[str, Any]:
    # The built core's schema (the same as the committed file: test_models_schema checks it).
    return json.loads(_native.schema_json())["$defs"]  # type: ignore[no-any-return]


def reference(prop: Dict[str, Any]) -> Optional[str]:
    refs = [prop.get("$ref")] + [b.get("$ref") for b in prop.get("anyOf", [])]
    names = [r.rsplit("/", 1)[-1] for r in refs if r]
    return names[0] if names else None


def json_type(prop: Dict[str, Any]) -> Optional[str]:
    t = prop.get("type")
    if isinstance(t, list):
        return next((x for x in t if x != "null"), None)
    return t if isinstance(t, str) else None


def check_value(schema: Dict[str, Any], at: str, prop: Dict[str, Any], value: Any, wire: Any) -> None:
    """``value`` (a decoded attribute) is not None and of the Python type of the schema's
    ``prop``; ``wire`` is the vector's value."""
    assert value is not None, f"{at}: None"
    name = reference(prop)
    if name is not None:
        kind = schema[name].get("x-safe-type")
        if kind == "datetime":
            assert isinstance(value, st.SafeDateTime), f"{at}: {type(value).__name__}"
            assert value.raw == wire and value.value is not None, at
        elif kind == "form-data":
            assert isinstance(value, dict) and value == json.loads(wire), at
        else:
            cls = CLASSES[name]
            assert type(value) is cls, f"{at}: {type(value).__name__}, not {name}"
            check_model(schema, at, value, wire, full=False)
        return
    t = json_type(prop)
    if t is None:
        assert value == wire, at  # any value: kept as it came
    elif t == "integer":
        assert type(value) is int, f"{at}: {type(value).__name__}"
    elif t == "string":
        assert type(value) is str, f"{at}: {type(value).__name__}"
    elif t == "boolean":
        assert type(value) is bool, f"{at}: {type(value).__name__}"
    elif t == "number":
        assert type(value) in (int, float), f"{at}: {type(value).__name__}"
    elif t == "array":
        assert isinstance(value, list) and len(value) == len(wire) > 0, at
        for i, (v, w) in enumerate(zip(value, wire)):
            check_value(schema, f"{at}[{i}]", prop["items"] if isinstance(prop["items"], dict) else {}, v, w)
    else:
        raise AssertionError(f"{at}: schema type {t} not handled")


def check_model(schema: Dict[str, Any], at: str, model: st.Model, wire: Dict[str, Any], full: bool) -> None:
    props = schema[type(model).__name__]["properties"]
    for attr, name in type(model)._wire.items():
        if not full and name not in wire:
            continue
        check_value(schema, f"{at}.{attr}", props[name], getattr(model, attr), wire[name])
    assert set(model.extra) == set(wire) - set(props), f"{at}: only unknown fields in extra"


def test_every_model_has_a_full_vector() -> None:
    vectors = full_models()
    assert sorted(vectors) == sorted(CLASSES)
    schema = defs()
    for name, wire in vectors.items():
        props = schema[name]["properties"]
        assert sorted(set(wire) - {UNKNOWN}) == sorted(props), name
        assert (UNKNOWN in wire) == (schema[name].get("additionalProperties") is True), name
        assert sorted(CLASSES[name]._wire.values()) == sorted(props), name


def test_every_field_decodes_with_its_type() -> None:
    schema = defs()
    for name, wire in full_models().items():
        cls = CLASSES[name]
        model = cls.from_dict(wire)
        check_model(schema, name, model, wire, full=True)
        if UNKNOWN in wire:
            assert list(model.extra) == [UNKNOWN] and model.extra[UNKNOWN] == wire[UNKNOWN], name
        for attr in cls._wire:
            assert getattr(model, attr) is not None, f"{name}.{attr}"
        assert model.to_dict() == wire, f"{name}: to_dict() gives the vector back"
        assert cls.from_dict(model.to_dict()) == model, name


def test_form_data_keeps_the_raw_text() -> None:
    wire = full_models()["FormDataEntry"]
    entry = st.FormDataEntry.from_dict(wire)
    assert entry.raw_data == wire["data"] and entry.data_error is None
    item = st.Item.from_dict(full_models()["Item"])
    assert item.form_data is not None and item.form_data[0].data == {"field6459": "Rear door"}


def core_records() -> Dict[str, List[Dict[str, Any]]]:
    text = (ROOT / "tests" / "conformance" / "full-models.json").read_text()
    core = json.loads(text)["core_models"]
    return {name: core[name] for name in ("ItemRecord", "UpdatedRecord")}


def test_every_record_field_decodes_with_its_type() -> None:
    # The records the core produces (every field set, both key shapes) through the generated
    # record classes: each schema property is an attribute of its Python type, and to_dict()
    # gives the record back.
    schema = defs()
    classes: Dict[str, Any] = {"ItemRecord": st.ItemRecord, "UpdatedRecord": st.UpdatedRecord}
    for name, vectors in core_records().items():
        cls = classes[name]
        assert sorted(cls._wire.values()) == sorted(schema[name]["properties"]), name
        for i, wire in enumerate(vectors):
            record = cls.from_dict(wire)
            at = f"{name}[{i}]"
            for attr, key in cls._wire.items():
                value = getattr(record, attr)
                assert value is not None, f"{at}.{attr}"
                if key == "key":
                    assert isinstance(value, st.RecordKey), at
                    assert value.to_dict() == wire["key"], at
                elif key == "item":
                    check_model(schema, f"{at}.item", value, wire["item"], full=False)
                else:
                    check_value(schema, f"{at}.{attr}", schema[name]["properties"][key], value, wire[key])
            assert record.to_dict() == wire, f"{at}: to_dict() gives the record back"
