"""Models: Python classes with attributes, ``to_dict()`` (the wire's camelCase, unknown fields
written back), equality, and ``extra`` for fields this SDK does not know."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple, Type, TypedDict, TypeVar

T = TypeVar("T", bound="Model")


class Model:
    """Base of every model: built from and written to the wire's JSON objects."""

    _wire: ClassVar[Dict[str, str]] = {}
    _nested: ClassVar[Dict[str, str]] = {}
    extra: Dict[str, Any]

    _attr_of: ClassVar[Dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Wire name -> attribute, so decoding walks the answer's keys once.
        cls._attr_of = {wire: attr for attr, wire in cls._wire.items()}

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
        """The wire object: known fields in camelCase (``None`` left out), then ``extra``."""
        out: Dict[str, Any] = {}
        for attr, wire in self._wire.items():
            value = getattr(self, attr)
            if value is None:
                continue
            out[wire] = _plain(value)
        out.update(self.extra)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(eq=True)
class FormDataEntry(Model):
    """One custom form attached to an entity; ``data`` is decoded, ``raw_data`` kept as sent.

    Decoding is lenient: a ``data`` text that is not a JSON object (a corrupt form) never
    raises. ``raw_data`` keeps it byte for byte, ``data`` is ``None`` and ``data_error`` says
    why; ``to_dict()`` writes the raw text back unchanged.
    """

    id: Optional[str] = None
    """Entry id (24 hex digits)."""
    active: Optional[bool] = None
    """Whether the entry is active."""
    entity_id: Optional[Any] = None
    """The owning entity's id."""
    form_id: Optional[int] = None
    """The form definition id."""
    form_name: Optional[str] = None
    """The form's name."""
    date_fields: Optional[List[str]] = None
    """Which keys of ``data`` hold dates."""
    data: Optional[Dict[str, Any]] = field(default_factory=dict)
    """The decoded fields (empty for an empty or ``null`` text); ``None`` when ``raw_data`` is
    not a JSON object (see ``data_error``)."""
    raw_data: str = ""
    """``data`` exactly as the server sent it (a JSON object in a string)."""
    data_error: Optional[str] = None
    """Why ``raw_data`` did not decode, when it did not (``data`` is then ``None``)."""
    organization_id: Optional[int] = None
    """Organisation id."""
    office_id: Optional[int] = None
    """Office id."""
    visibility_id: Optional[int] = None
    """Visibility id."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know."""

    _wire: ClassVar[Dict[str, str]] = {
        "id": "id", "active": "active", "entity_id": "entityId", "form_id": "formId",
        "form_name": "formName", "date_fields": "dateFields", "organization_id": "organizationId",
        "office_id": "officeId", "visibility_id": "visibilityId",
    }

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        rest = dict(data)
        raw = rest.pop("data", None)
        entry = super().from_dict(rest)
        assert isinstance(entry, FormDataEntry)
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


@dataclass(eq=True)
class Item(Model):
    """An evidence item."""

    id: Optional[int] = None
    """Database id."""
    sql_id: Optional[int] = None
    """Legacy SQL id."""
    sequential_org_id: Optional[int] = None
    """The org-wide sequential number the poller follows."""
    sequential_case_id: Optional[str] = None
    """Counter within the primary case (a string: "1", "2"…)."""
    sequential_case_id_nested: Optional[Any] = None
    """`{section, nested}` form of the case counter."""
    barcode: Optional[str] = None
    """Barcode (a GUID string)."""
    description: Optional[str] = None
    """Description."""
    recovery_date: Optional[str] = None
    """When it was recovered."""
    recovery_location: Optional[str] = None
    """Where it was recovered."""
    recovery_location_latitude: Optional[Any] = None
    """Latitude (number or null)."""
    recovery_location_longitude: Optional[Any] = None
    """Longitude (number or null)."""
    active: Optional[bool] = None
    """True when checked in or out; false when disposed."""
    location_id: Optional[int] = None
    """Storage location id."""
    location: Optional[str] = None
    """Storage location."""
    full_location: Optional[str] = None
    """Full storage location path."""
    last_location_id: Optional[int] = None
    """Previous location id."""
    last_location: Optional[str] = None
    """Previous location."""
    status_id: Optional[int] = None
    """Status id (1 Checked In, 2 Checked Out…)."""
    status: Optional[str] = None
    """Status name."""
    category_id: Optional[int] = None
    """Category id."""
    category: Optional[str] = None
    """Category name."""
    custody_reason_id: Optional[int] = None
    """Custody reason id."""
    custody_reason: Optional[str] = None
    """Custody reason."""
    recovered_by_id: Optional[int] = None
    """Who recovered it (id)."""
    recovered_by: Optional[str] = None
    """Who recovered it."""
    submitted_by_id: Optional[int] = None
    """Who submitted it (id)."""
    submitted_by: Optional[str] = None
    """Who submitted it."""
    custodian_id: Optional[int] = None
    """Custodian id."""
    custodian: Optional[str] = None
    """Custodian."""
    current_office_id: Optional[int] = None
    """Current office id."""
    current_office_name: Optional[str] = None
    """Current office name."""
    primary_case_id: Optional[int] = None
    """The owning case's id."""
    primary_case_number: Optional[str] = None
    """The owning case's number."""
    primary_case_officer_ids: Optional[List[int]] = None
    """Case officer ids (v100 form)."""
    primary_case_officers: Optional[List[str]] = None
    """Case officer names (v100 form)."""
    primary_case_officer_id: Optional[int] = None
    """Case officer id (form before v100)."""
    primary_case_officer: Optional[str] = None
    """Case officer name (form before v100)."""
    primary_case_offense_type_id: Optional[int] = None
    """Offense type id of the primary case."""
    primary_case_offense_type: Optional[str] = None
    """Offense type of the primary case."""
    is_primary_case_restricted: Optional[bool] = None
    """Whether the primary case is restricted."""
    make: Optional[str] = None
    """Make."""
    model: Optional[str] = None
    """Model."""
    serial_number: Optional[str] = None
    """Serial number."""
    creating_org_id: Optional[int] = None
    """Organisation that created it."""
    date_created: Optional[str] = None
    """When it was created."""
    updated_date: Optional[str] = None
    """When it was last changed (where the server says)."""
    loaning_org_id: Optional[int] = None
    """Loaning organisation."""
    incoming_org_id: Optional[int] = None
    """Incoming organisation."""
    cases: Optional[List[Any]] = None
    """Case ids."""
    form_data: Optional[List["FormDataEntry"]] = None
    """Inline form data, when the server includes it."""
    tags: Optional[List[Any]] = None
    """Tags."""
    notes: Optional[List[Any]] = None
    """Notes."""
    people_ids: Optional[List[int]] = None
    """Linked people ids."""
    parent_item_id: Optional[int] = None
    """Parent item id."""
    child_items: Optional[List[Any]] = None
    """Child items."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know, kept and written back."""

    _wire: ClassVar[Dict[str, str]] = {'id': 'id', 'sql_id': 'sqlId', 'sequential_org_id': 'sequentialOrgId', 'sequential_case_id': 'sequentialCaseId', 'sequential_case_id_nested': 'sequentialCaseIdNested', 'barcode': 'barcode', 'description': 'description', 'recovery_date': 'recoveryDate', 'recovery_location': 'recoveryLocation', 'recovery_location_latitude': 'recoveryLocationLatitude', 'recovery_location_longitude': 'recoveryLocationLongitude', 'active': 'active', 'location_id': 'locationId', 'location': 'location', 'full_location': 'fullLocation', 'last_location_id': 'lastLocationId', 'last_location': 'lastLocation', 'status_id': 'statusId', 'status': 'status', 'category_id': 'categoryId', 'category': 'category', 'custody_reason_id': 'custodyReasonId', 'custody_reason': 'custodyReason', 'recovered_by_id': 'recoveredById', 'recovered_by': 'recoveredBy', 'submitted_by_id': 'submittedById', 'submitted_by': 'submittedBy', 'custodian_id': 'custodianId', 'custodian': 'custodian', 'current_office_id': 'currentOfficeId', 'current_office_name': 'currentOfficeName', 'primary_case_id': 'primaryCaseId', 'primary_case_number': 'primaryCaseNumber', 'primary_case_officer_ids': 'primaryCaseOfficerIds', 'primary_case_officers': 'primaryCaseOfficers', 'primary_case_officer_id': 'primaryCaseOfficerId', 'primary_case_officer': 'primaryCaseOfficer', 'primary_case_offense_type_id': 'primaryCaseOffenseTypeId', 'primary_case_offense_type': 'primaryCaseOffenseType', 'is_primary_case_restricted': 'isPrimaryCaseRestricted', 'make': 'make', 'model': 'model', 'serial_number': 'serialNumber', 'creating_org_id': 'creatingOrgId', 'date_created': 'dateCreated', 'updated_date': 'updatedDate', 'loaning_org_id': 'loaningOrgId', 'incoming_org_id': 'incomingOrgId', 'cases': 'cases', 'form_data': 'formData', 'tags': 'tags', 'notes': 'notes', 'people_ids': 'peopleIds', 'parent_item_id': 'parentItemId', 'child_items': 'childItems'}
    _nested: ClassVar[Dict[str, str]] = {'form_data': 'FormDataEntry'}


@dataclass(eq=True)
class Case(Model):
    """A case; also the body of create and update."""

    id: Optional[int] = None
    """Case id."""
    case_number: Optional[str] = None
    """Case number (unique)."""
    case_officer_ids: Optional[List[int]] = None
    """Case officer user ids (v100 form)."""
    case_officers: Optional[List[str]] = None
    """Case officer names (v100 form)."""
    case_officer_id: Optional[int] = None
    """Case officer id (form before v100)."""
    case_officer: Optional[str] = None
    """Case officer name (form before v100)."""
    offense_type_id: Optional[int] = None
    """Offense type id."""
    offense_type: Optional[str] = None
    """Offense type."""
    offense_description: Optional[str] = None
    """Offense description."""
    offense_location: Optional[str] = None
    """Offense location."""
    offense_date: Optional[str] = None
    """Offense date."""
    follow_up_date: Optional[str] = None
    """Follow-up date."""
    active: Optional[bool] = None
    """Whether the case is active."""
    office_id: Optional[int] = None
    """Office id."""
    office_name: Optional[str] = None
    """Office name."""
    creator_id: Optional[int] = None
    """Creator's user id."""
    creator: Optional[str] = None
    """Creator."""
    created_date: Optional[str] = None
    """When it was created."""
    organization_id: Optional[int] = None
    """Organisation id."""
    organization_name: Optional[str] = None
    """Organisation name."""
    items: Optional[List[Any]] = None
    """Item ids."""
    form_data: Optional[List["FormDataEntry"]] = None
    """Custom form data (send `[]`, never null, on update)."""
    tags: Optional[List[Any]] = None
    """Tags (send `[]` when none)."""
    closed_date: Optional[str] = None
    """When it was closed."""
    review_date: Optional[str] = None
    """Review date (auto-disposition)."""
    review_date_notes: Optional[str] = None
    """Review date notes."""
    check_in_progress: Optional[bool] = None
    """Check-in in progress."""
    is_restricted: Optional[bool] = None
    """Whether the case is restricted."""
    is_forbidden: Optional[bool] = None
    """Whether the caller may not see it."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know, kept and written back."""

    _wire: ClassVar[Dict[str, str]] = {'id': 'id', 'case_number': 'caseNumber', 'case_officer_ids': 'caseOfficerIds', 'case_officers': 'caseOfficers', 'case_officer_id': 'caseOfficerId', 'case_officer': 'caseOfficer', 'offense_type_id': 'offenseTypeId', 'offense_type': 'offenseType', 'offense_description': 'offenseDescription', 'offense_location': 'offenseLocation', 'offense_date': 'offenseDate', 'follow_up_date': 'followUpDate', 'active': 'active', 'office_id': 'officeId', 'office_name': 'officeName', 'creator_id': 'creatorId', 'creator': 'creator', 'created_date': 'createdDate', 'organization_id': 'organizationId', 'organization_name': 'organizationName', 'items': 'items', 'form_data': 'formData', 'tags': 'tags', 'closed_date': 'closedDate', 'review_date': 'reviewDate', 'review_date_notes': 'reviewDateNotes', 'check_in_progress': 'checkInProgress', 'is_restricted': 'isRestricted', 'is_forbidden': 'isForbidden'}
    _nested: ClassVar[Dict[str, str]] = {'form_data': 'FormDataEntry'}


@dataclass(eq=True)
class Person(Model):
    """A person; also the `person` of a create body."""

    id: Optional[int] = None
    """Person id (0 when creating)."""
    guid: Optional[str] = None
    """GUID."""
    organization_id: Optional[int] = None
    """Organisation id."""
    user_id: Optional[int] = None
    """Linked user id."""
    business_name: Optional[str] = None
    """Business name (instead of first + last name)."""
    name: Optional[str] = None
    """Full name."""
    first_name: Optional[str] = None
    """First name."""
    middle_name: Optional[str] = None
    """Middle name."""
    last_name: Optional[str] = None
    """Last name."""
    alias: Optional[str] = None
    """Alias."""
    driver_licence: Optional[str] = None
    """Driver's licence (British spelling, used for duplicate detection)."""
    mobile_phone: Optional[str] = None
    """Mobile phone."""
    other_phone: Optional[str] = None
    """Other phone."""
    email: Optional[str] = None
    """E-mail."""
    dob: Optional[str] = None
    """Date of birth."""
    race_id: Optional[int] = None
    """Race id (§7)."""
    race: Optional[str] = None
    """Race."""
    gender_id: Optional[int] = None
    """Gender id (§7)."""
    gender: Optional[str] = None
    """Gender."""
    deceased: Optional[bool] = None
    """Deceased."""
    juvenile: Optional[bool] = None
    """Juvenile."""
    active: Optional[bool] = None
    """Active."""
    person_type_id: Optional[int] = None
    """Person type id (when added to a case)."""
    person_type: Optional[str] = None
    """Person type (in a case)."""
    form_data: Optional[List["FormDataEntry"]] = None
    """Custom form data."""
    notes: Optional[List[Any]] = None
    """Notes."""
    addresses: Optional[List[Any]] = None
    """Addresses."""
    displayed_name: Optional[str] = None
    """Display name."""
    default_address: Optional[Any] = None
    """Default address."""
    is_forbidden: Optional[bool] = None
    """Whether the caller may not see it."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know, kept and written back."""

    _wire: ClassVar[Dict[str, str]] = {'id': 'id', 'guid': 'guid', 'organization_id': 'organizationId', 'user_id': 'userId', 'business_name': 'businessName', 'name': 'name', 'first_name': 'firstName', 'middle_name': 'middleName', 'last_name': 'lastName', 'alias': 'alias', 'driver_licence': 'driverLicence', 'mobile_phone': 'mobilePhone', 'other_phone': 'otherPhone', 'email': 'email', 'dob': 'dob', 'race_id': 'raceId', 'race': 'race', 'gender_id': 'genderId', 'gender': 'gender', 'deceased': 'deceased', 'juvenile': 'juvenile', 'active': 'active', 'person_type_id': 'personTypeId', 'person_type': 'personType', 'form_data': 'formData', 'notes': 'notes', 'addresses': 'addresses', 'displayed_name': 'displayedName', 'default_address': 'defaultAddress', 'is_forbidden': 'isForbidden'}
    _nested: ClassVar[Dict[str, str]] = {'form_data': 'FormDataEntry'}


@dataclass(eq=True)
class Address(Model):
    """An address (the optional `address` of a person create body)."""

    id: Optional[int] = None
    """Placeholder (ignored by the server)."""
    date: Optional[str] = None
    """Placeholder (ignored)."""
    entity_id: Optional[int] = None
    """Placeholder (ignored)."""
    line1: Optional[str] = None
    """Line 1."""
    line2: Optional[str] = None
    """Line 2."""
    city: Optional[str] = None
    """City."""
    zip: Optional[str] = None
    """ZIP code."""
    address_type_id: Optional[int] = None
    """Address type id (required when an address is sent)."""
    state_id: Optional[Any] = None
    """State id (a number, or `""`)."""
    country_id: Optional[int] = None
    """Country id (231 = United States)."""
    is_default_address: Optional[bool] = None
    """Whether this is the default address."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know, kept and written back."""

    _wire: ClassVar[Dict[str, str]] = {'id': 'id', 'date': 'date', 'entity_id': 'entityId', 'line1': 'line1', 'line2': 'line2', 'city': 'city', 'zip': 'zip', 'address_type_id': 'addressTypeId', 'state_id': 'stateId', 'country_id': 'countryId', 'is_default_address': 'isDefaultAddress'}


@dataclass(eq=True)
class User(Model):
    """A user account; also the body of create and update."""

    id: Optional[int] = None
    """User id."""
    guid: Optional[str] = None
    """GUID."""
    person_id: Optional[int] = None
    """Linked person id (not the user id)."""
    first_name: Optional[str] = None
    """First name."""
    middle_name: Optional[str] = None
    """Middle name."""
    last_name: Optional[str] = None
    """Last name."""
    organization_id: Optional[int] = None
    """Organisation id."""
    office_id: Optional[int] = None
    """Office id."""
    email: Optional[str] = None
    """E-mail (unique system-wide)."""
    mobile_phone: Optional[str] = None
    """Mobile phone."""
    otherphone: Optional[str] = None
    """Other phone (lower-case p on the wire)."""
    active: Optional[bool] = None
    """Active."""
    email_disable: Optional[bool] = None
    """Disable e-mail."""
    groups: Optional[List[Any]] = None
    """Permission groups (send `[]`)."""
    person_form_data: Optional[List[Any]] = None
    """Person form data."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know, kept and written back."""

    _wire: ClassVar[Dict[str, str]] = {'id': 'id', 'guid': 'guid', 'person_id': 'personId', 'first_name': 'firstName', 'middle_name': 'middleName', 'last_name': 'lastName', 'organization_id': 'organizationId', 'office_id': 'officeId', 'email': 'email', 'mobile_phone': 'mobilePhone', 'otherphone': 'otherphone', 'active': 'active', 'email_disable': 'emailDisable', 'groups': 'groups', 'person_form_data': 'personFormData'}


@dataclass(eq=True)
class CustodyEntry(Model):
    """One chain-of-custody entry (known names typed; the rest in `extra`)."""

    id: Optional[Any] = None
    """Entry id."""
    item_id: Optional[int] = None
    """Item id."""
    date: Optional[str] = None
    """When it happened."""
    action: Optional[str] = None
    """What happened (check in, out, transfer…)."""
    transaction_type: Optional[str] = None
    """Transaction type, where the server names it so."""
    from_user: Optional[str] = None
    """From whom."""
    to_user: Optional[str] = None
    """To whom."""
    location: Optional[str] = None
    """Location."""
    notes: Optional[str] = None
    """Notes."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Fields this SDK does not know, kept and written back."""

    _wire: ClassVar[Dict[str, str]] = {'id': 'id', 'item_id': 'itemId', 'date': 'date', 'action': 'action', 'transaction_type': 'transactionType', 'from_user': 'fromUser', 'to_user': 'toUser', 'location': 'location', 'notes': 'notes'}


@dataclass(eq=True)
class NewPerson(Model):
    """The body of a person create: ``person`` and an optional ``address``."""

    person: Optional[Person] = None
    """The person (its ``id`` is 0 or unset)."""
    address: Optional[Address] = None
    """An optional address."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Unknown fields."""

    _wire: ClassVar[Dict[str, str]] = {"person": "person", "address": "address"}
    _nested: ClassVar[Dict[str, str]] = {"person": "Person", "address": "Address"}


@dataclass(eq=True)
class LookupEntry(Model):
    """One entry of a lookup list: ``id`` and ``name``."""

    id: Optional[int] = None
    """Id."""
    name: Optional[str] = None
    """Name."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Other fields."""

    _wire: ClassVar[Dict[str, str]] = {"id": "id", "name": "name"}


@dataclass(eq=True)
class TypeaheadEntry(Model):
    """One typeahead hit: ``id`` and display ``text``."""

    id: Optional[int] = None
    """Id of the user or person."""
    text: Optional[str] = None
    """Display text."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Other fields."""

    _wire: ClassVar[Dict[str, str]] = {"id": "id", "text": "text"}


@dataclass(eq=True)
class Form(Model):
    """A form definition; ``schema`` is a JSON string."""

    id: Optional[int] = None
    """Form id."""
    name: Optional[str] = None
    """Name."""
    schema: Optional[str] = None
    """The schema (JSON text)."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Other fields."""

    _wire: ClassVar[Dict[str, str]] = {"id": "id", "name": "name", "schema": "schema"}

    def schema_fields(self) -> List[Any]:
        """The decoded schema's ``fields``."""
        if not self.schema:
            return []
        fields = json.loads(self.schema).get("fields", [])
        return list(fields) if isinstance(fields, list) else []


@dataclass(eq=True)
class SearchPage(Model):
    """One page of search results."""

    entities: Optional[List[Item]] = None
    """The items of this page."""
    count: Optional[int] = None
    """The total count, when given."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Other fields."""

    _wire: ClassVar[Dict[str, str]] = {"entities": "entities", "count": "count"}
    _nested: ClassVar[Dict[str, str]] = {"entities": "Item"}


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


def _key_from(data: Mapping[str, Any]) -> Optional[RecordKey]:
    raw = data.get("key")
    if isinstance(raw, Mapping):
        return RecordKey.from_dict(raw)
    return None


@dataclass(eq=True)
class ItemRecord(Model):
    """One item delivered by the poller, with the expansions asked for.

    Delivery is at least once: **upsert by** :attr:`key` (organisation, item id). Several
    records of one sweep may share a ``sequential_org_id`` (a number held by several items:
    one record per item, ascending id), and an item may come back later under another number.
    """

    organization_id: Optional[int] = None
    """Organisation id."""
    sequential_org_id: Optional[int] = None
    """The sequential org id it was delivered under (not its identity: see ``key``)."""
    item: Optional[Item] = None
    """The item."""
    form_data: Optional[List[FormDataEntry]] = None
    """Its form data, when expanded."""
    case: Optional[Case] = None
    """Its primary case, when expanded."""
    people: Optional[List[Person]] = None
    """The people of its case, when expanded."""
    custody: Optional[List[CustodyEntry]] = None
    """Its chain of custody, when expanded."""
    late: Optional[bool] = None
    """True when it filled a hole."""
    warnings: Optional[List[str]] = None
    """What was not as it should be: expansions not found, form data whose ``data`` did not
    decode (kept raw), an item without an id."""
    key: Optional[RecordKey] = None
    """The identity to upsert by: (organisation, item id), or (organisation, number) for an
    item without an id."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Other fields."""

    _wire: ClassVar[Dict[str, str]] = {
        "organization_id": "organization_id", "sequential_org_id": "sequential_org_id",
        "item": "item", "form_data": "form_data", "case": "case", "people": "people",
        "custody": "custody", "late": "late", "warnings": "warnings",
    }
    _nested: ClassVar[Dict[str, str]] = {
        "item": "Item", "form_data": "FormDataEntry", "case": "Case", "people": "Person",
        "custody": "CustodyEntry",
    }

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        rest = dict(data)
        key = _key_from(rest)
        rest.pop("key", None)
        record = super().from_dict(rest)
        assert isinstance(record, ItemRecord)
        if key is None and record.organization_id is not None:
            key = RecordKey.of(record.organization_id, record.sequential_org_id, record.item)
        record.key = key
        return record

    def to_dict(self) -> Dict[str, Any]:
        out = super().to_dict()
        if self.key is not None:
            out = {"key": self.key.to_dict(), **out}
        return out

    @property
    def dedupe_key(self) -> Optional[RecordKey]:
        """The same as :attr:`key` (the item id is the identity, not the number)."""
        return self.key


@dataclass(eq=True)
class UpdatedRecord(Model):
    """One changed item from the updated-items stream. **Upsert by** :attr:`key`
    (organisation, item id): the same row a :class:`ItemRecord` of the item lands in, whatever
    number it holds now. An item renumbered below a poller's cursor reaches you only through
    this stream (or a hole re-probe)."""

    organization_id: Optional[int] = None
    """Organisation id."""
    item_id: Optional[int] = None
    """Item id."""
    updated: Optional[str] = None
    """Modification time as sent ((item id, updated) identifies the change)."""
    item: Optional[Item] = None
    """The item."""
    key: Optional[RecordKey] = None
    """The identity to upsert by: (organisation, item id)."""
    warnings: List[str] = field(default_factory=list)
    """Form data inside the item whose ``data`` did not decode (kept raw)."""
    extra: Dict[str, Any] = field(default_factory=dict)
    """Other fields."""

    _wire: ClassVar[Dict[str, str]] = {
        "organization_id": "organization_id", "item_id": "item_id", "updated": "updated",
        "item": "item", "warnings": "warnings",
    }
    _nested: ClassVar[Dict[str, str]] = {"item": "Item"}

    @classmethod
    def from_dict(cls: Type[T], data: Mapping[str, Any]) -> T:
        rest = dict(data)
        key = _key_from(rest)
        rest.pop("key", None)
        record = super().from_dict(rest)
        assert isinstance(record, UpdatedRecord)
        if key is None and record.organization_id is not None and record.item_id is not None:
            key = RecordKey(record.organization_id, item_id=record.item_id)
        record.key = key
        return record

    def to_dict(self) -> Dict[str, Any]:
        out = super().to_dict()
        if self.key is not None:
            out = {"key": self.key.to_dict(), **out}
        return out


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


_MODELS: Dict[str, Type[Model]] = {
    "Item": Item, "Case": Case, "Person": Person, "Address": Address, "User": User,
    "CustodyEntry": CustodyEntry, "FormDataEntry": FormDataEntry,
}
