"""``Client`` (blocking, releases the GIL while it waits) and ``AsyncClient`` (asyncio)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from . import _native
from ._error_codes import InvalidConfigError
from ._models import (
    Case,
    CustodyEntry,
    Form,
    FormDataEntry,
    Item,
    LookupEntry,
    NewPerson,
    Person,
    SearchPage,
    TypeaheadEntry,
    User,
)

LOGGER = logging.getLogger("safe_tracker")

_SECONDS = {
    "connect_timeout": "connect_timeout_ms",
    "attempt_timeout": "attempt_timeout_ms",
    "call_timeout": "call_timeout_ms",
    "backoff_base": "base_delay_ms",
    "backoff_max": "max_delay_ms",
    "retry_after_cap": "retry_after_cap_ms",
}


def _config_json(options: Mapping[str, Any]) -> str:
    config: Dict[str, Any] = {"host_language": "python"}
    for key, value in options.items():
        if value is None:
            continue
        # NaN and infinity are no setting (JSON has neither; int() of them raises a bare
        # ValueError or OverflowError): the typed error, as the core gives for 1e-300.
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidConfigError(f"{key} must be a finite number, not {value}")
        if key in _SECONDS:
            config[_SECONDS[key]] = int(round(float(value) * 1000))
        else:
            config[key] = value
    return json.dumps(config)


def _sync_log_level() -> None:
    _native.set_log_level(LOGGER.getEffectiveLevel())


class _Base:
    _native: _native.NativeClient
    _blocking: bool = True

    def __init__(
        self,
        *,
        base_url: Optional[str] = None,
        token: Optional[str] = None,
        organization_id: Optional[int] = None,
        office_id: Optional[int] = None,
        static_token: Optional[bool] = None,
        connect_timeout: Optional[float] = None,
        attempt_timeout: Optional[float] = None,
        call_timeout: Optional[float] = None,
        max_attempts: Optional[int] = None,
        backoff_base: Optional[float] = None,
        backoff_max: Optional[float] = None,
        retry_after_cap: Optional[float] = None,
        requests_per_second: Optional[float] = None,
        burst: Optional[int] = None,
        pacing_safety_margin: Optional[float] = None,
        budget_per_minute: Optional[int] = None,
        budget_per_hour: Optional[int] = None,
        budget_per_day: Optional[int] = None,
        proxy: Optional[str] = None,
        no_proxy: Optional[str] = None,
        proxy_from_env: Optional[bool] = None,
        ca_file: Optional[str] = None,
        routes: Optional[Mapping[str, str]] = None,
        max_body_bytes: Optional[int] = None,
        updated_items_field: Optional[str] = None,
        allow_insecure_http: Optional[bool] = None,
        from_env: bool = False,
    ) -> None:
        """Keyword-only configuration mirroring the core. Durations are in seconds;
        ``requests_per_second=0`` disables pacing (loopback tests only)."""
        _sync_log_level()
        options = dict(locals())
        options.pop("self")
        options.pop("__class__", None)
        if options.get("routes") is not None:
            options["routes"] = dict(options["routes"])
        self._native = _native.NativeClient(_config_json(options), self._blocking)

    @property
    def requests_sent(self) -> int:
        """Requests sent so far (every attempt, retries included)."""
        return self._native.requests_sent()

    @property
    def config(self) -> Dict[str, Any]:
        """The effective configuration, without the token: base_url, organization_id,
        office_id, user_agent, requests_per_second (None when unpaced), max_attempts."""
        return json.loads(self._native.call("config", "{}"))  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        info = self.config
        return (
            f"{type(self).__name__}(base_url={info['base_url']!r}, "
            f"organization_id={info['organization_id']}, office_id={info['office_id']})"
        )


def _item(v: Any) -> Optional[Item]:
    return None if v is None else Item.from_dict(v)


def _list(cls: Any, v: Any) -> Any:
    return [cls.from_dict(x) for x in v]


def _body(model: Union[Any, Mapping[str, Any]]) -> Dict[str, Any]:
    return dict(model) if isinstance(model, Mapping) else dict(model.to_dict())


class Client(_Base):
    """A blocking SAFE client. Each call releases the GIL while it waits, so it is safe and
    useful from several threads."""

    @classmethod
    def from_env(cls, **overrides: Any) -> "Client":
        """Reads ``SAFE_BASE_URL``, ``SAFE_TOKEN``, ``SAFE_ORGANIZATION_ID``, ``SAFE_OFFICE_ID``
        and ``SAFE_CA_FILE``; keyword arguments override them."""
        return cls(from_env=True, **overrides)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the client (connections close when the last reference goes)."""

    def _call(self, method: str, **args: Any) -> Any:
        return json.loads(self._native.call(method, json.dumps(args)))

    def item_by_seq(self, seq: int) -> Optional[Item]:
        """The item with sequential org id ``seq``, or ``None`` for the blank answer. A number
        held by several items raises :class:`~safe_tracker.DuplicateNumberError` (with ``seq``
        and ``ids``): read them all with :meth:`items_by_seq`."""
        return _item(self._call("item_by_seq", seq=seq))

    def items_by_seq(self, seq: int) -> List[Item]:
        """Every item holding sequential org id ``seq``, ascending ``id`` (items without an id
        last); empty for the blank answer."""
        return _list(Item, self._call("items_by_seq", seq=seq))  # type: ignore[no-any-return]

    def item(self, id: int) -> Item:
        """The item with database id ``id``."""
        return Item.from_dict(self._call("item", id=id))

    def item_form_data(self, id: int) -> List[FormDataEntry]:
        """The item's custom form data (``data`` decoded, raw string kept)."""
        return _list(FormDataEntry, self._call("item_form_data", id=id))  # type: ignore[no-any-return]

    def chain_of_custody(self, id: int) -> List[CustodyEntry]:
        """The item's chain of custody."""
        return _list(CustodyEntry, self._call("chain_of_custody", id=id))  # type: ignore[no-any-return]

    def items_after_seq(self, seq: int, page_size: int = 100) -> SearchPage:
        """Items whose sequential org id is greater than ``seq`` (one search)."""
        return SearchPage.from_dict(self._call("items_after_seq", seq=seq, page_size=page_size))

    def updated_items(self, since: str, page: int = 1, page_size: int = 100) -> SearchPage:
        """One page of items changed after ``since`` (ISO-8601)."""
        return SearchPage.from_dict(self._call("updated_items", since=since, page=page, page_size=page_size))

    def case(self, id: int) -> Case:
        """The case with id ``id``."""
        return Case.from_dict(self._call("case", id=id))

    def case_by_number(self, number: str) -> Case:
        """The case with number ``number``."""
        return Case.from_dict(self._call("case_by_number", number=number))

    def case_people(self, id: int) -> List[Person]:
        """The people of case ``id``."""
        return _list(Person, self._call("case_people", id=id))  # type: ignore[no-any-return]

    def create_case(self, case: Union[Case, Mapping[str, Any]]) -> Case:
        """Creates a case (validated first; never retried once it may have reached SAFE)."""
        return Case.from_dict(self._call("create_case", case=_body(case)))

    def update_case(self, id: int, case: Union[Case, Mapping[str, Any]]) -> Case:
        """Replaces case ``id`` with ``case`` (the whole document)."""
        return Case.from_dict(self._call("update_case", id=id, case=_body(case)))

    def person(self, id: int) -> Person:
        """The person with id ``id``."""
        return Person.from_dict(self._call("person", id=id))

    def create_person(self, person: Union[NewPerson, Mapping[str, Any]]) -> Person:
        """Creates a person from ``{person, address}``."""
        return Person.from_dict(self._call("create_person", person=_body(person)))

    def update_person(self, id: int, person: Union[Person, Mapping[str, Any]]) -> Person:
        """Replaces person ``id``."""
        return Person.from_dict(self._call("update_person", id=id, person=_body(person)))

    def people_typeahead(self, search: str) -> List[TypeaheadEntry]:
        """People matching ``search`` (at most 10)."""
        return _list(TypeaheadEntry, self._call("people_typeahead", search=search))  # type: ignore[no-any-return]

    def email_in_use(self, email: str) -> bool:
        """True when a person already uses ``email``."""
        return bool(self._call("email_in_use", email=email))

    def user(self, id: int) -> User:
        """The user with id ``id``."""
        return User.from_dict(self._call("user", id=id))

    def create_user(self, user: Union[User, Mapping[str, Any]]) -> User:
        """Creates a user."""
        return User.from_dict(self._call("create_user", user=_body(user)))

    def update_user(self, id: int, user: Union[User, Mapping[str, Any]]) -> User:
        """Replaces user ``id``."""
        return User.from_dict(self._call("update_user", id=id, user=_body(user)))

    def users_typeahead(self, search: str) -> List[TypeaheadEntry]:
        """Users matching ``search``."""
        return _list(TypeaheadEntry, self._call("users_typeahead", search=search))  # type: ignore[no-any-return]

    def lookup(self, name: str) -> List[LookupEntry]:
        """A lookup list: races, genders, address_types, states, person_types, offense_types,
        categories."""
        return _list(LookupEntry, self._call("lookup", name=name))  # type: ignore[no-any-return]

    def forms(self, form_type: str = "All") -> List[Form]:
        """Form definitions (``All``, ``Cases``, ``Items`` or ``People``)."""
        return _list(Form, self._call("forms", form_type=form_type))  # type: ignore[no-any-return]


def _resolve(fut: "asyncio.Future[Any]", ok: bool, payload: Any) -> None:
    if fut.done():
        return
    if ok:
        fut.set_result(payload)
    else:
        fut.set_exception(payload)


async def _await_native(start: Callable[[Callable[[bool, Any], None]], _native.TaskHandle]) -> Any:
    """Runs a native call on the SDK's runtime and awaits it on the running loop; cancelling
    the awaiting task cancels the call."""
    loop = asyncio.get_running_loop()
    fut: "asyncio.Future[Any]" = loop.create_future()

    def done(ok: bool, payload: Any) -> None:
        loop.call_soon_threadsafe(_resolve, fut, ok, payload)

    handle = start(done)
    try:
        return await fut
    except asyncio.CancelledError:
        handle.abort()
        raise


class AsyncClient(_Base):
    """An asyncio SAFE client: every endpoint is a coroutine; the event loop never blocks."""

    _blocking = False

    @classmethod
    def from_env(cls, **overrides: Any) -> "AsyncClient":
        """Reads the ``SAFE_*`` environment variables; keyword arguments override them."""
        return cls(from_env=True, **overrides)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Releases the client."""

    async def _call(self, method: str, **args: Any) -> Any:
        text = json.dumps(args)
        raw = await _await_native(lambda cb: self._native.call_async(method, text, cb))
        return json.loads(raw)

    async def item_by_seq(self, seq: int) -> Optional[Item]:
        """See :meth:`Client.item_by_seq` (raises :class:`~safe_tracker.DuplicateNumberError`
        for a number held by several items)."""
        return _item(await self._call("item_by_seq", seq=seq))

    async def items_by_seq(self, seq: int) -> List[Item]:
        """See :meth:`Client.items_by_seq`."""
        return _list(Item, await self._call("items_by_seq", seq=seq))  # type: ignore[no-any-return]

    async def item(self, id: int) -> Item:
        """See :meth:`Client.item`."""
        return Item.from_dict(await self._call("item", id=id))

    async def item_form_data(self, id: int) -> List[FormDataEntry]:
        """See :meth:`Client.item_form_data`."""
        return _list(FormDataEntry, await self._call("item_form_data", id=id))  # type: ignore[no-any-return]

    async def chain_of_custody(self, id: int) -> List[CustodyEntry]:
        """See :meth:`Client.chain_of_custody`."""
        return _list(CustodyEntry, await self._call("chain_of_custody", id=id))  # type: ignore[no-any-return]

    async def items_after_seq(self, seq: int, page_size: int = 100) -> SearchPage:
        """See :meth:`Client.items_after_seq`."""
        return SearchPage.from_dict(await self._call("items_after_seq", seq=seq, page_size=page_size))

    async def updated_items(self, since: str, page: int = 1, page_size: int = 100) -> SearchPage:
        """See :meth:`Client.updated_items`."""
        return SearchPage.from_dict(await self._call("updated_items", since=since, page=page, page_size=page_size))

    async def case(self, id: int) -> Case:
        """See :meth:`Client.case`."""
        return Case.from_dict(await self._call("case", id=id))

    async def case_by_number(self, number: str) -> Case:
        """See :meth:`Client.case_by_number`."""
        return Case.from_dict(await self._call("case_by_number", number=number))

    async def case_people(self, id: int) -> List[Person]:
        """See :meth:`Client.case_people`."""
        return _list(Person, await self._call("case_people", id=id))  # type: ignore[no-any-return]

    async def create_case(self, case: Union[Case, Mapping[str, Any]]) -> Case:
        """See :meth:`Client.create_case`."""
        return Case.from_dict(await self._call("create_case", case=_body(case)))

    async def update_case(self, id: int, case: Union[Case, Mapping[str, Any]]) -> Case:
        """See :meth:`Client.update_case`."""
        return Case.from_dict(await self._call("update_case", id=id, case=_body(case)))

    async def person(self, id: int) -> Person:
        """See :meth:`Client.person`."""
        return Person.from_dict(await self._call("person", id=id))

    async def create_person(self, person: Union[NewPerson, Mapping[str, Any]]) -> Person:
        """See :meth:`Client.create_person`."""
        return Person.from_dict(await self._call("create_person", person=_body(person)))

    async def update_person(self, id: int, person: Union[Person, Mapping[str, Any]]) -> Person:
        """See :meth:`Client.update_person`."""
        return Person.from_dict(await self._call("update_person", id=id, person=_body(person)))

    async def people_typeahead(self, search: str) -> List[TypeaheadEntry]:
        """See :meth:`Client.people_typeahead`."""
        return _list(TypeaheadEntry, await self._call("people_typeahead", search=search))  # type: ignore[no-any-return]

    async def email_in_use(self, email: str) -> bool:
        """See :meth:`Client.email_in_use`."""
        return bool(await self._call("email_in_use", email=email))

    async def user(self, id: int) -> User:
        """See :meth:`Client.user`."""
        return User.from_dict(await self._call("user", id=id))

    async def create_user(self, user: Union[User, Mapping[str, Any]]) -> User:
        """See :meth:`Client.create_user`."""
        return User.from_dict(await self._call("create_user", user=_body(user)))

    async def update_user(self, id: int, user: Union[User, Mapping[str, Any]]) -> User:
        """See :meth:`Client.update_user`."""
        return User.from_dict(await self._call("update_user", id=id, user=_body(user)))

    async def users_typeahead(self, search: str) -> List[TypeaheadEntry]:
        """See :meth:`Client.users_typeahead`."""
        return _list(TypeaheadEntry, await self._call("users_typeahead", search=search))  # type: ignore[no-any-return]

    async def lookup(self, name: str) -> List[LookupEntry]:
        """See :meth:`Client.lookup`."""
        return _list(LookupEntry, await self._call("lookup", name=name))  # type: ignore[no-any-return]

    async def forms(self, form_type: str = "All") -> List[Form]:
        """See :meth:`Client.forms`."""
        return _list(Form, await self._call("forms", form_type=form_type))  # type: ignore[no-any-return]
