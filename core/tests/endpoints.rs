//! Every endpoint of the core, against the simulator.

mod common;

use common::{client, simulator};
use safe_tracker::models::{Address, Case, Lookup, NewPerson, Person, SafeDateTime, User};
use safe_tracker::{Error, ErrorCode};

#[tokio::test]
async fn items_by_seq_id_and_expansions() {
    let sim = simulator(12).await;
    let c = client(&sim, 1);
    let item = c.item_by_seq(1).await.unwrap().expect("item 1 exists");
    assert_eq!(item.sequential_org_id, Some(1));
    let id = item.id.unwrap();
    assert_eq!(c.item(id).await.unwrap().sequential_org_id, Some(1));
    assert!(c.item_by_seq(13).await.unwrap().is_none(), "13 is blank");

    let forms = c.item_form_data(id).await.unwrap();
    assert_eq!(forms.len(), 1);
    assert_eq!(
        forms[0].form_name.as_deref(),
        Some("Drug Form Sys Template")
    );
    assert!(forms[0].data.get("field6199").is_some());
    assert!(forms[0].data.raw().contains("field2849"));

    let coc = c.chain_of_custody(id).await.unwrap();
    assert!(!coc.is_empty());
    assert_eq!(coc[0].item_id, Some(id));

    let case_id = item.primary_case_id.unwrap();
    let case = c.case(case_id).await.unwrap();
    assert_eq!(case.id, Some(case_id));
    assert_eq!(case.case_number, item.primary_case_number);
    let by_number = c
        .case_by_number(case.case_number.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(by_number.id, Some(case_id));
    let people = c.case_people(case_id).await.unwrap();
    assert_eq!(people.len(), 2);
    assert!(people.iter().all(|p| p.person_type_id.is_some()));

    // Organisation 2 has its own numbering and cannot see organisation 1's items.
    let c2 = client(&sim, 2);
    let other = c2.item_by_seq(1).await.unwrap().unwrap();
    assert_ne!(other.id, Some(id));
    assert_eq!(c2.item(id).await.unwrap_err().code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn every_blank_style_means_no_item() {
    use safe_simulator::{BlankStyle, ItemShape};
    let sim = simulator(2).await;
    let c = client(&sim, 1);
    for style in [
        BlankStyle::NotFound,
        BlankStyle::NoContent,
        BlankStyle::EmptyBody,
        BlankStyle::Null,
        BlankStyle::EmptyArray,
        BlankStyle::EmptyObject,
    ] {
        sim.set_options(|o| o.blank_style = style);
        assert!(c.item_by_seq(3).await.unwrap().is_none(), "{style:?}");
    }
    sim.set_options(|o| o.item_shape = ItemShape::Array);
    assert_eq!(
        c.item_by_seq(2).await.unwrap().unwrap().sequential_org_id,
        Some(2)
    );
}

#[tokio::test]
async fn search_after_seq_and_updated_items() {
    let sim = simulator(10).await;
    let c = client(&sim, 1);
    let page = c.items_after_seq(7, 100).await.unwrap();
    let seqs: Vec<i64> = page
        .entities
        .iter()
        .filter_map(|i| i.sequential_org_id)
        .collect();
    assert_eq!(seqs, vec![8, 9, 10]);
    assert_eq!(page.count, Some(3));

    let before = SafeDateTime::from_utc(chrono::Utc::now() - chrono::Duration::seconds(1));
    assert!(
        c.updated_items(&before, 1, 50)
            .await
            .unwrap()
            .entities
            .is_empty()
    );
    sim.app().world.lock().unwrap().touch_item(1, 4);
    let changed = c.updated_items(&before, 1, 50).await.unwrap();
    assert_eq!(changed.entities.len(), 1);
    assert_eq!(changed.entities[0].sequential_org_id, Some(4));
    assert!(
        changed.entities[0]
            .description
            .as_deref()
            .unwrap()
            .ends_with("(updated)")
    );
}

fn new_case(number: &str, officer: i64) -> Case {
    Case {
        case_number: Some(number.into()),
        case_officer_ids: Some(vec![officer]),
        offense_type_id: Some(4),
        offense_description: Some("Break-in at storage unit".into()),
        active: Some(true),
        ..Case::default()
    }
}

#[tokio::test]
async fn cases_create_read_update() {
    let sim = simulator(1).await;
    let c = client(&sim, 1);
    let officer = c.users_typeahead("Reyes").await.unwrap()[0].id;
    let created = c.create_case(&new_case("T-100", officer)).await.unwrap();
    let id = created.id.expect("new id");
    assert_eq!(created.officer_ids(), vec![officer]);
    let mut read = c.case(id).await.unwrap();
    assert_eq!(read.case_number.as_deref(), Some("T-100"));
    read.offense_description = Some("changed".into());
    read.form_data = None; // the SDK sends [] as the vendor requires
    let updated = c.update_case(id, &read).await.unwrap();
    assert_eq!(updated.offense_description.as_deref(), Some("changed"));
    assert_eq!(
        c.case(id).await.unwrap().offense_description.as_deref(),
        Some("changed")
    );

    // The legacy scalar officer field is accepted too.
    let mut legacy = new_case("T-101", officer);
    legacy.case_officer_ids = None;
    legacy.case_officer_id = Some(officer);
    assert_eq!(
        c.create_case(&legacy).await.unwrap().officer_ids(),
        vec![officer]
    );
}

#[tokio::test]
async fn people_create_read_update_typeahead_email() {
    let sim = simulator(1).await;
    let c = client(&sim, 1);
    let new = NewPerson {
        person: Person {
            first_name: Some("Zed".into()),
            last_name: Some("Quimby".into()),
            email: Some("zed.quimby@example.org".into()),
            race_id: Some(1),
            gender_id: Some(3),
            active: Some(true),
            ..Person::default()
        },
        address: Some(Address {
            line1: Some("8 Elm St".into()),
            address_type_id: Some(1),
            country_id: Some(231),
            ..Address::default()
        }),
    };
    assert!(!c.email_in_use("zed.quimby@example.org").await.unwrap());
    let created = c.create_person(&new).await.unwrap();
    let id = created.id.unwrap();
    assert!(id > 0);
    assert_eq!(created.deceased, Some(false), "defaults sent");
    assert!(c.email_in_use("zed.quimby@example.org").await.unwrap());
    let hits = c.people_typeahead("quimby").await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, id);
    let mut p = c.person(id).await.unwrap();
    p.alias = Some("Z".into());
    assert_eq!(
        c.update_person(id, &p).await.unwrap().alias.as_deref(),
        Some("Z")
    );
    assert_eq!(c.person(id).await.unwrap().alias.as_deref(), Some("Z"));
}

#[tokio::test]
async fn users_create_read_update_typeahead() {
    let sim = simulator(1).await;
    let c = client(&sim, 1);
    let user = User {
        first_name: Some("Ada".into()),
        last_name: Some("Byron".into()),
        email: Some("ada.byron@example.org".into()),
        organization_id: Some(1),
        office_id: Some(101),
        active: Some(true),
        ..User::default()
    };
    let created = c.create_user(&user).await.unwrap();
    let id = created.id.unwrap();
    assert!(created.guid.is_some() && created.person_id.is_some());
    let hits = c.users_typeahead("byron").await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![id]);
    assert!(hits[0].text.contains("ada.byron@example.org"));
    let mut u = c.user(id).await.unwrap();
    u.mobile_phone = Some("555-0111".into());
    c.update_user(id, &u).await.unwrap();
    assert_eq!(
        c.user(id).await.unwrap().mobile_phone.as_deref(),
        Some("555-0111")
    );
}

#[tokio::test]
async fn lookups_and_forms() {
    let sim = simulator(1).await;
    let c = client(&sim, 1);
    let races = c.lookup(Lookup::Races).await.unwrap();
    assert_eq!(races.len(), 8);
    assert_eq!(races[5].name.as_deref(), Some("White"));
    assert_eq!(c.lookup(Lookup::Genders).await.unwrap().len(), 3);
    assert_eq!(c.lookup(Lookup::AddressTypes).await.unwrap().len(), 3);
    assert_eq!(c.lookup(Lookup::States).await.unwrap().len(), 55);
    assert!(
        c.lookup(Lookup::PersonTypes)
            .await
            .unwrap()
            .iter()
            .any(|p| p.name.as_deref() == Some("Suspect"))
    );
    assert!(
        c.lookup(Lookup::OffenseTypes)
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == 74)
    );
    assert!(
        c.lookup(Lookup::Categories)
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == 31)
    );
    let forms = c.forms("Items").await.unwrap();
    assert_eq!(forms.len(), 1);
    assert!(forms[0].schema_fields().unwrap().len() >= 2);
    assert_eq!(c.forms("All").await.unwrap().len(), 2);
    assert_eq!(
        c.forms("Nope").await.unwrap_err().code(),
        ErrorCode::Validation
    );
    for l in Lookup::ALL {
        assert_eq!(Lookup::from_name(l.name()), Some(l));
    }
}

#[tokio::test]
async fn requests_are_counted() {
    let sim = simulator(3).await;
    let c = client(&sim, 1);
    for n in 1..=4 {
        let _ = c.item_by_seq(n).await.unwrap();
    }
    assert_eq!(c.requests_sent(), 4);
    assert_eq!(sim.count_route("/api/items/seqOrgID/{n}"), 4);
    let _: Error = c.case(1).await.unwrap_err();
}
