"""Every endpoint, blocking and async, against the simulator."""

from __future__ import annotations

import asyncio
import threading

import pytest
from typing import List

import safe_tracker as st
from conftest import Sim


def test_items_and_expansions(client: st.Client) -> None:
    item = client.item_by_seq(1)
    assert item is not None and item.sequential_org_id == 1
    assert item.id is not None and item.primary_case_id is not None
    assert client.item(item.id) == item
    assert client.item_by_seq(10_000) is None
    forms = client.item_form_data(item.id)
    assert forms[0].form_name == "Drug Form Sys Template"
    assert isinstance(forms[0].data, dict) and "field6199" in forms[0].data
    assert "field2849" in forms[0].raw_data
    assert client.chain_of_custody(item.id)[0].item_id == item.id
    case = client.case(item.primary_case_id)
    assert case.case_number == item.primary_case_number
    assert case.case_number is not None
    assert client.case_by_number(case.case_number).id == case.id
    people = client.case_people(item.primary_case_id)
    assert len(people) == 2 and all(p.person_type_id for p in people)
    page = client.items_after_seq(55)
    assert [i.sequential_org_id for i in page.entities or []] == [56, 57, 58, 59, 60]
    assert client.requests_sent >= 9


def test_models_are_pythonic(client: st.Client) -> None:
    item = client.item_by_seq(2)
    assert item is not None
    d = item.to_dict()
    assert d["sequentialOrgId"] == 2 and "caseModels" in d  # unknown fields written back
    assert "caseModels" in item.extra
    assert st.Item.from_dict(d) == item
    assert "sim-token" not in repr(item) and "Item(" in repr(item)
    assert "sim-token" not in repr(client)


def test_cases_people_users_lookups(client: st.Client) -> None:
    officer = client.users_typeahead("Reyes")[0].id
    assert officer is not None
    case = client.create_case(st.Case(case_number="PY-1", case_officer_ids=[officer], offense_type_id=4, active=True))
    assert case.id is not None
    case.offense_description = "changed"
    assert client.update_case(case.id, case).offense_description == "changed"
    assert client.case(case.id).offense_description == "changed"
    person = client.create_person(st.NewPerson(person=st.Person(first_name="Py", last_name="Thon", race_id=1, gender_id=2, active=True, email="py.thon@example.org"),
                                               address=st.Address(line1="1 Main", address_type_id=1)))
    assert person.id and client.person(person.id).last_name == "Thon"
    person.alias = "Monty"
    assert client.update_person(person.id, person).alias == "Monty"
    assert client.email_in_use("py.thon@example.org")
    assert [h.id for h in client.people_typeahead("thon")] == [person.id]
    user = client.create_user({"firstName": "Ada", "lastName": "Py", "email": "ada.py@example.org", "organizationId": 1, "officeId": 101, "active": True})
    assert user.id and client.user(user.id).email == "ada.py@example.org"
    user.mobile_phone = "555"
    assert client.update_user(user.id, user).mobile_phone == "555"
    assert len(client.lookup("races")) == 8
    assert len(client.lookup("states")) == 55
    for name in ["genders", "address_types", "person_types", "offense_types", "categories"]:
        assert client.lookup(name)
    assert client.forms("Items")[0].schema_fields()


def test_updated_items(sim: Sim, client: st.Client) -> None:
    before = client.item_by_seq(3)
    assert before is not None
    sim.admin("orgs/1/items/3/touch", {})
    page = client.updated_items("2025-01-01T00:00:00Z")
    assert 3 in [i.sequential_org_id for i in page.entities or []]


def test_async_endpoints(sim: Sim) -> None:
    async def main() -> None:
        async with sim.async_client(1) as c:
            item = await c.item_by_seq(1)
            assert item is not None and item.id is not None
            assert (await c.item(item.id)).sequential_org_id == 1
            assert await c.item_by_seq(10_000) is None
            results = await asyncio.gather(*(c.item_by_seq(n) for n in range(1, 21)))
            assert [r.sequential_org_id for r in results if r] == list(range(1, 21))
            assert (await c.item_form_data(item.id))[0].data
            assert await c.chain_of_custody(item.id)
            assert item.primary_case_id is not None
            assert (await c.case(item.primary_case_id)).id == item.primary_case_id
            assert len(await c.case_people(item.primary_case_id)) == 2
            assert len(await c.lookup("genders")) == 3
            assert await c.users_typeahead("Reyes")
    asyncio.run(main())


def test_async_cancellation_does_not_break_the_client(sim: Sim) -> None:
    sim.fault(kind="slow_headers", latency_ms=2000, count=1)

    async def main() -> None:
        c = sim.async_client(1)
        task = asyncio.ensure_future(c.item_by_seq(1))
        await asyncio.sleep(0.1)
        task.cancel()
        try:
            await task
            raise AssertionError("not cancelled")
        except asyncio.CancelledError:
            pass
        assert await c.item_by_seq(2) is not None
    asyncio.run(main())


def test_many_threads_one_client(client: st.Client) -> None:
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for n in range(1, 21):
                item = client.item_by_seq(n)
                assert item is not None and item.sequential_org_id == n
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_from_env(sim: Sim, monkeypatch: "pytest.MonkeyPatch") -> None:
    monkeypatch.setenv("SAFE_BASE_URL", sim.base_url)
    monkeypatch.setenv("SAFE_TOKEN", "sim-token-org1")
    monkeypatch.setenv("SAFE_ORGANIZATION_ID", "1")
    monkeypatch.setenv("SAFE_OFFICE_ID", "101")
    monkeypatch.setenv("SAFE_REQUESTS_PER_SECOND", "0")
    with st.Client.from_env(max_attempts=2) as c:
        assert c.config["requests_per_second"] is None
        assert c.config["max_attempts"] == 2
        assert c.config["user_agent"].endswith("(python)")
        assert c.item_by_seq(1) is not None
    monkeypatch.setenv("SAFE_REQUESTS_PER_SECOND", "5")
    assert st.Client.from_env().config["requests_per_second"] == 5.0
