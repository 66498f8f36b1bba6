//! The simulator's data: organisations, offices, tokens, users, cases, people, items with
//! form data and custody history, all seeded deterministically from one number.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

/// A small deterministic generator (splitmix64): the same seed gives the same world on every
/// platform and every version of this crate's dependencies.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A token and what it may do.
#[derive(Debug, Clone)]
pub struct TokenRec {
    /// The organisation it belongs to.
    pub org_id: u64,
    /// The user it belongs to.
    pub user_id: i64,
    /// The account is disabled (403).
    pub disabled: bool,
    /// The user has a reserved licence.
    pub reserved_licence: bool,
    /// A floating licence is held.
    pub holds_floating: bool,
}

/// One item and whether it can be seen yet.
#[derive(Debug, Clone)]
pub struct ItemRec {
    /// The item document.
    pub doc: Value,
    /// False for a number that is taken but not visible yet (a late commit).
    pub visible: bool,
}

impl ItemRec {
    /// The item's database id (`doc.id`).
    pub fn id(&self) -> i64 {
        self.doc["id"].as_i64().unwrap_or_default()
    }
}

/// One organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Office ids and names.
    pub offices: Vec<(u64, String)>,
    /// Users by id.
    pub users: BTreeMap<i64, Value>,
    /// Cases by id.
    pub cases: BTreeMap<i64, Value>,
    /// People by id.
    pub people: BTreeMap<i64, Value>,
    /// People of each case: (person id, person type id).
    pub case_people: HashMap<i64, Vec<(i64, i64)>>,
    /// Items by sequential org id: the item with the lowest id holding each number (the only
    /// one unless the number is duplicated). Read through [`Org::items_at`] and
    /// [`Org::all_items`] to see duplicates too.
    pub items: BTreeMap<u64, ItemRec>,
    /// Further items holding a number that is also in `items` (a sequential org id held by
    /// several items, as real SAFE allows), ascending by id; every id here is above the id of
    /// the item in `items` at the same number.
    pub more_items: BTreeMap<u64, Vec<ItemRec>>,
    /// Sequential org id by item id.
    pub item_ids: HashMap<i64, u64>,
    /// The next sequential org id.
    pub next_seq: u64,
    /// Form data by item id.
    pub form_data: HashMap<i64, Vec<Value>>,
    /// Chain of custody by item id.
    pub custody: HashMap<i64, Vec<Value>>,
    /// Floating licences in the pool.
    pub floating_licences: u32,
}

/// Everything the simulator holds.
#[derive(Debug, Clone)]
pub struct World {
    /// Organisations by id.
    pub orgs: BTreeMap<u64, Org>,
    /// Tokens.
    pub tokens: HashMap<String, TokenRec>,
    /// The next database id for every entity kind.
    pub next_id: i64,
    rng: Rng,
    clock_base: DateTime<Utc>,
}

/// Seeding options. (Duplicated numbers are seeded by [`World::seed_duplicates`], which
/// `SimConfig::duplicates` and the binary's `--duplicates` call, so that code building a `Seed`
/// literal keeps compiling.)
#[derive(Debug, Clone)]
pub struct Seed {
    /// The seed.
    pub seed: u64,
    /// Organisations (ids 1..=orgs).
    pub orgs: u64,
    /// Items per organisation.
    pub items: u64,
}

const DESCRIPTIONS: [&str; 10] = [
    "Pry bar, steel",
    "Mobile phone, black",
    "Wallet, brown leather",
    "Kitchen knife",
    "Bag of white powder",
    "Laptop computer",
    "Bicycle, red",
    "Handgun, 9mm",
    "Jacket with blood stains",
    "USB flash drive",
];
const STREETS: [&str; 5] = ["Dock Rd", "Elm St", "Main St", "Oak Ave", "River Ln"];
const FIRST: [&str; 8] = [
    "Dana", "Lee", "Sam", "Alex", "Jordan", "Casey", "Riley", "Morgan",
];
const LAST: [&str; 8] = [
    "Reyes", "Okafor", "Nguyen", "Smith", "Kowalski", "Haddad", "Brown", "Silva",
];
const STATUSES: [(i64, &str); 2] = [(1, "Checked In"), (2, "Checked Out")];
const CATEGORIES: [(i64, &str); 3] = [(2, "Ammunition"), (12, "Tools"), (31, "Alcohol")];
const OFFENSES: [(i64, &str); 3] = [(3, "Assault"), (4, "Burglary"), (74, "Alcohol Related")];
const REASONS: [(i64, &str); 2] = [(57, "Evidence"), (7, "Asset")];

/// Lookup lists served by the simulator, by route name.
pub fn lookups() -> BTreeMap<&'static str, Value> {
    let mut m = BTreeMap::new();
    m.insert(
        "races",
        json!([
            {"id":1,"name":"Unknown"},{"id":2,"name":"African American or Black"},
            {"id":3,"name":"American Indian or Alaska Native"},{"id":4,"name":"Asian"},
            {"id":5,"name":"Native Hawaiian or Other Pacific Islander"},{"id":6,"name":"White"},
            {"id":7,"name":"Hispanic"},{"id":8,"name":"Middle Eastern"}
        ]),
    );
    m.insert(
        "genders",
        json!([{"id":1,"name":"Unknown"},{"id":2,"name":"Female"},{"id":3,"name":"Male"}]),
    );
    m.insert(
        "addresstypes",
        json!([{"id":1,"name":"Home"},{"id":2,"name":"Work"},{"id":3,"name":"Other"}]),
    );
    let states: Vec<Value> = (1..=55)
        .map(|i| {
            let name = match i {
                1 => "Alabama".to_string(),
                17 => "KY - Kentucky".to_string(),
                43 => "Texas".to_string(),
                n => format!("State {n}"),
            };
            json!({"id": i, "name": name})
        })
        .collect();
    m.insert("states", Value::Array(states));
    m.insert(
        "personTypes",
        json!([{"id":1,"name":"Suspect"},{"id":2,"name":"Victim"},{"id":3,"name":"Witness"}]),
    );
    m.insert(
        "offensetypes",
        Value::Array(
            OFFENSES
                .iter()
                .map(|(id, n)| json!({"id":id,"name":n}))
                .collect(),
        ),
    );
    m.insert(
        "categories",
        Value::Array(
            CATEGORIES
                .iter()
                .map(|(id, n)| json!({"id":id,"name":n,"organizations":[],"categoryForms":[]}))
                .collect(),
        ),
    );
    m.insert(
        "forms",
        json!([
            {"id":1,"name":"Drug Form Sys Template","formType":"Items",
             "schema":"{\"fields\":[{\"type\":\"number\",\"name\":\"field6199\",\"displayName\":\"Quantity\"},{\"type\":\"checkbox\",\"name\":\"field5100\",\"displayName\":\"Field tested\"}]}"},
            {"id":921,"name":"Burglary Supplement","formType":"Cases",
             "schema":"{\"fields\":[{\"type\":\"text\",\"name\":\"field6459\",\"displayName\":\"Point of entry\"}]}"}
        ]),
    );
    m
}

/// True when `id` is in the lookup list `name`.
pub fn lookup_has(name: &str, id: i64) -> bool {
    lookups()
        .get(name)
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|e| e["id"].as_i64() == Some(id)))
}

/// The seeded token of organisation `org` with a reserved licence.
pub fn token_for(org: u64) -> String {
    format!("sim-token-org{org}")
}

/// The seeded office id of organisation `org` (its first office).
pub fn office_for(org: u64) -> u64 {
    org * 100 + 1
}

impl World {
    /// Seeds a world.
    pub fn seed(seed: &Seed) -> World {
        let mut w = World {
            orgs: BTreeMap::new(),
            tokens: HashMap::new(),
            next_id: 1000,
            rng: Rng::new(seed.seed),
            clock_base: Utc
                .with_ymd_and_hms(2024, 4, 16, 8, 0, 0)
                .single()
                .expect("valid"),
        };
        for org_id in 1..=seed.orgs.max(1) {
            w.add_org(org_id);
            w.add_items(org_id, seed.items, true);
        }
        w
    }

    /// A fresh database id.
    pub fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn stamp(&self, minutes: i64) -> String {
        (self.clock_base + Duration::minutes(minutes))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    }

    /// Now, as the simulator writes dates.
    pub fn now_stamp() -> String {
        Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    fn add_org(&mut self, org_id: u64) {
        let offices = vec![
            (office_for(org_id), "Main Office".to_string()),
            (org_id * 100 + 2, "North Office".to_string()),
        ];
        let mut org = Org {
            id: org_id,
            name: format!("Example PD {org_id}"),
            offices,
            users: BTreeMap::new(),
            cases: BTreeMap::new(),
            people: BTreeMap::new(),
            case_people: HashMap::new(),
            items: BTreeMap::new(),
            more_items: BTreeMap::new(),
            item_ids: HashMap::new(),
            next_seq: 1,
            form_data: HashMap::new(),
            custody: HashMap::new(),
            floating_licences: 0,
        };
        // The API user and three officers.
        let mut user_ids = Vec::new();
        for (i, (first, last)) in [
            ("API", "User"),
            ("Dana", "Reyes"),
            ("Lee", "Okafor"),
            ("Sam", "Nguyen"),
        ]
        .iter()
        .enumerate()
        {
            let id = self.new_id();
            let email = format!(
                "{}.{}.{org_id}.{i}@example.org",
                first.to_lowercase(),
                last.to_lowercase()
            );
            org.users.insert(
                id,
                json!({
                    "id": id, "guid": format!("00000000-0000-4000-8000-{id:012}"), "personId": id + 500_000,
                    "firstName": first, "middleName": "", "lastName": last,
                    "organizationId": org_id, "officeId": office_for(org_id), "email": email,
                    "mobilePhone": "", "otherphone": "", "active": true, "emailDisable": false,
                    "groups": [], "personFormData": []
                }),
            );
            user_ids.push(id);
        }
        let api_user = user_ids[0];
        for (suffix, disabled, reserved) in [
            ("", false, true),
            ("-nolicence", false, false),
            ("-disabled", true, true),
        ] {
            self.tokens.insert(
                format!("{}{suffix}", token_for(org_id)),
                TokenRec {
                    org_id,
                    user_id: api_user,
                    disabled,
                    reserved_licence: reserved,
                    holds_floating: false,
                },
            );
        }
        self.orgs.insert(org_id, org);
    }

    /// Creates a case in `org_id` with seeded values; returns its id.
    fn seed_case(&mut self, org_id: u64) -> i64 {
        let id = self.new_id() + 9_000_000;
        let n = self.rng.below(10_000);
        let (offense_id, offense) = *self.rng.pick(&OFFENSES);
        let street = *self.rng.pick(&STREETS);
        let created = self.stamp(id % 1000);
        let org = &self.orgs[&org_id];
        let officers: Vec<i64> = org.users.keys().skip(1).copied().collect();
        let officer = officers[(id as usize) % officers.len()];
        let officer_name = format!(
            "{} {}",
            org.users[&officer]["firstName"].as_str().unwrap_or(""),
            org.users[&officer]["lastName"].as_str().unwrap_or("")
        );
        let doc = json!({
            "id": id, "caseNumber": format!("2024-{org_id}-{n:04}-{id}"),
            "caseOfficerIds": [officer], "caseOfficers": [officer_name],
            "offenseTypeId": offense_id, "offenseType": offense,
            "offenseDescription": format!("{offense} reported"), "offenseLocation": format!("{} {street}", 1 + n % 99),
            "offenseDate": created, "followUpDate": null, "active": true,
            "officeId": office_for(org_id), "officeName": "Main Office", "creatorId": org.users.keys().next(),
            "creator": "API User", "createdDate": created, "organizationId": org_id,
            "organizationName": org.name, "items": [], "nextItemId": "1", "media": null, "mediaAmount": 0,
            "formData": null, "formDataAmount": 0, "notes": null, "notesAmount": 0, "tags": [], "tagsAmount": 0,
            "peopleAmount": 2, "tasksAmount": 0, "historiesAmount": 1, "closedDate": null,
            "reviewDate": null, "reviewDateNotes": "", "isRestricted": false, "permissionAmount": 0,
            "permissions": null, "isForbidden": false
        });
        // Two people per case: a suspect and a victim.
        let mut people = Vec::new();
        for type_id in [1, 2] {
            let pid = self.new_id() + 800_000;
            let first = *self.rng.pick(&FIRST);
            let last = *self.rng.pick(&LAST);
            let person = json!({
                "id": pid, "guid": format!("10000000-0000-4000-8000-{pid:012}"), "organizationId": org_id,
                "userId": null, "createDateTime": created, "updatedDateTime": created, "isDeleted": false,
                "businessName": "", "name": format!("{first} {last}"), "firstName": first, "middleName": "",
                "lastName": last, "alias": "", "driverLicence": format!("D{pid}"), "mobilePhone": "555-0100",
                "otherPhone": "", "email": format!("{}.{}{pid}@example.org", first.to_lowercase(), last.to_lowercase()),
                "dob": "1988-03-02T00:00:00.000Z", "raceId": 1, "race": "Unknown", "genderId": 1, "gender": "Unknown",
                "deceased": false, "juvenile": false, "active": true, "personTypeId": type_id,
                "formData": [], "formDataAmount": 0, "notes": [], "notesAmount": 0,
                "displayedName": format!("{last}, {first} (N/A)"), "defaultAddress": null, "isForbidden": false
            });
            people.push((pid, type_id));
            self.orgs
                .get_mut(&org_id)
                .expect("org")
                .people
                .insert(pid, person);
        }
        let org = self.orgs.get_mut(&org_id).expect("org");
        org.case_people.insert(id, people);
        org.cases.insert(id, doc);
        id
    }

    /// Adds `count` items to `org_id` with the next sequential numbers; returns the numbers.
    pub fn add_items(&mut self, org_id: u64, count: u64, visible: bool) -> Vec<u64> {
        let mut seqs = Vec::with_capacity(count as usize);
        let mut case_id = None;
        for i in 0..count {
            if i % 5 == 0 || case_id.is_none() {
                case_id = Some(self.seed_case(org_id));
            }
            let case_id = case_id.expect("set above");
            seqs.push(self.add_item(org_id, case_id, visible));
        }
        seqs
    }

    fn add_item(&mut self, org_id: u64, case_id: i64, visible: bool) -> u64 {
        let org = self.orgs.get_mut(&org_id).expect("org");
        let seq = org.next_seq;
        org.next_seq += 1;
        self.make_item(org_id, case_id, seq, visible);
        seq
    }

    /// Generates an item of case `case_id` holding number `seq` (with its form data and
    /// custody) and files it under `seq`; returns its id. Does not move `next_seq`.
    fn make_item(&mut self, org_id: u64, case_id: i64, seq: u64, visible: bool) -> i64 {
        let id = self.new_id() + 7_000_000;
        let description = *self.rng.pick(&DESCRIPTIONS);
        let (status_id, status) = *self.rng.pick(&STATUSES);
        let (category_id, category) = *self.rng.pick(&CATEGORIES);
        let (reason_id, reason) = *self.rng.pick(&REASONS);
        let street = *self.rng.pick(&STREETS);
        let quantity = self.rng.below(20) as i64;
        let org = self.orgs.get_mut(&org_id).expect("org");
        let case = &org.cases[&case_id];
        let created = (self.clock_base + Duration::minutes(seq as i64))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let nested = case["items"].as_array().map(|a| a.len()).unwrap_or(0) + 1;
        let doc = json!({
            "id": id, "sqlId": 0, "sequentialOrgId": seq, "sequentialCaseId": nested.to_string(),
            "sequentialCaseIdNested": {"section": nested, "nested": null},
            "barcode": format!("b1d7e3a0-5c2f-4e8e-9f64-{id:012}"), "description": description,
            "recoveryDate": created, "recoveryLocation": format!("{} {street}, Springfield", 1 + seq % 99),
            "recoveryLocationLatitude": null, "recoveryLocationLongitude": null, "active": true,
            "locationId": 310, "location": "Shelf A", "fullLocation": null, "lastLocationId": 310,
            "lastLocation": "Shelf A", "statusId": status_id, "status": status, "categoryId": category_id,
            "category": category, "custodyReasonId": reason_id, "custodyReason": reason,
            "recoveredById": 880150, "recoveredBy": "Lee Okafor", "submittedById": 40200, "submittedBy": "API User",
            "custodianId": null, "custodian": null, "currentOfficeId": office_for(org_id), "currentOfficeName": "Main Office",
            "primaryCaseId": case_id, "primaryCaseNumber": case["caseNumber"], "primaryCaseOfficerIds": case["caseOfficerIds"],
            "primaryCaseOfficers": case["caseOfficers"], "primaryCaseOffenseTypeId": case["offenseTypeId"],
            "primaryCaseOffenseType": case["offenseType"], "isPrimaryCaseRestricted": false,
            "make": null, "model": null, "serialNumber": null, "creatingOrgId": org_id, "dateCreated": created,
            "updatedDate": created, "loaningOrgId": null, "incomingOrgId": null, "cases": [case_id], "caseModels": [],
            "media": null, "mediaAmount": 0, "rootMediaFolderId": 55502, "formData": null, "formDataAmount": 1,
            "notes": [], "notesAmount": 0, "tags": [], "tagsAmount": 0, "barcodes": [], "barcodesAmount": 0,
            "people": null, "peopleIds": [], "parentItemId": null, "childItems": [], "childItemsAmount": 0, "tasks": []
        });
        if let Some(items) = org
            .cases
            .get_mut(&case_id)
            .and_then(|c| c["items"].as_array_mut())
        {
            items.push(json!(id));
        }
        let data = format!(
            "{{ \"field2849\" : \"{}\", \"field5100\" : {}, \"field6199\" : {quantity} }}",
            1 + seq % 3,
            seq.is_multiple_of(2)
        );
        org.form_data.insert(
            id,
            vec![json!({
                "id": format!("{:024x}", id as u64 * 7919), "active": true, "entityId": id, "formId": 1,
                "formName": "Drug Form Sys Template", "dateFields": null, "data": data,
                "organizationId": org_id, "officeId": office_for(org_id), "visibilityId": 1
            })],
        );
        org.custody.insert(
            id,
            vec![json!({
                "id": id * 10, "itemId": id, "date": created, "action": "Check In",
                "fromUser": "Lee Okafor", "toUser": "Property Room", "location": "Shelf A", "notes": ""
            })],
        );
        org.file_item(seq, ItemRec { doc, visible });
        id
    }

    /// Changes every item holding number `seq` (description and `updatedDate`) and adds a
    /// custody entry to each; returns the document of the one with the lowest id.
    pub fn touch_item(&mut self, org_id: u64, seq: u64) -> Option<Value> {
        let ids = self.orgs.get(&org_id)?.ids_at(seq);
        let mut first = None;
        for id in ids {
            let doc = self.touch_item_id(org_id, id);
            first = first.or(doc);
        }
        first
    }

    /// Changes item `id` (description and `updatedDate`) and adds a custody entry; returns its
    /// document.
    pub fn touch_item_id(&mut self, org_id: u64, id: i64) -> Option<Value> {
        let org = self.orgs.get_mut(&org_id)?;
        let rec = org.item_mut(id)?;
        let now = World::now_stamp();
        let desc = format!(
            "{} (updated)",
            rec.doc["description"].as_str().unwrap_or("")
        );
        rec.doc["description"] = json!(desc);
        rec.doc["updatedDate"] = json!(now);
        let doc = rec.doc.clone();
        org.custody.entry(id).or_default().push(json!({
            "id": id * 10 + 1, "itemId": id, "date": now, "action": "Check Out",
            "fromUser": "Property Room", "toUser": "Dana Reyes", "location": "Court", "notes": "updated"
        }));
        Some(doc)
    }

    /// Gives number `seq` of organisation `org_id` one more item: freshly generated, with a new
    /// id, its own form data and custody, of the case of the item already there (or of a new
    /// case). Works whether or not `seq` holds an item; moves `next_seq` past `seq`. Returns
    /// the new id, or `None` for an unknown organisation.
    pub fn duplicate_item(&mut self, org_id: u64, seq: u64, visible: bool) -> Option<i64> {
        let org = self.orgs.get(&org_id)?;
        let case_id = org
            .items_at(seq)
            .first()
            .and_then(|r| r.doc["primaryCaseId"].as_i64())
            .filter(|c| org.cases.contains_key(c));
        let case_id = match case_id {
            Some(c) => c,
            None => self.seed_case(org_id),
        };
        let id = self.make_item(org_id, case_id, seq, visible);
        let org = self.orgs.get_mut(&org_id).expect("org");
        org.next_seq = org.next_seq.max(seq + 1);
        Some(id)
    }

    /// Moves item `id` to number `to` (an admin renumbering it): sets its `sequentialOrgId`
    /// and its `updatedDate` (to now, so the updated-items search sees it), takes it off its
    /// old number (a hole if nothing else holds it) and files it under `to` (a duplicate if
    /// `to` is taken); moves `next_seq` past `to`. Returns the old number, or `None` for an
    /// unknown organisation or item.
    pub fn renumber_item(&mut self, org_id: u64, id: i64, to: u64) -> Option<u64> {
        let org = self.orgs.get_mut(&org_id)?;
        let (from, mut rec) = org.take_item(id)?;
        rec.doc["sequentialOrgId"] = json!(to);
        rec.doc["updatedDate"] = json!(World::now_stamp());
        org.file_item(to, rec);
        org.next_seq = org.next_seq.max(to + 1);
        Some(from)
    }

    /// Sets the `data` text of item `id`'s first form-data entry to `data` (creating an entry
    /// when it has none), and the same in the first entry of the document's `formData` array
    /// when it carries one (adding the entry to an empty array). Returns `None` for an unknown
    /// organisation or item.
    pub fn corrupt_form(&mut self, org_id: u64, id: i64, data: &str) -> Option<()> {
        let org = self.orgs.get_mut(&org_id)?;
        org.item(id)?;
        let (org_no, office) = (org.id, office_for(org.id));
        let list = org.form_data.entry(id).or_default();
        if list.is_empty() {
            list.push(json!({
                "id": format!("{:024x}", id as u64 * 7919), "active": true, "entityId": id, "formId": 1,
                "formName": "Drug Form Sys Template", "dateFields": null, "data": "",
                "organizationId": org_no, "officeId": office, "visibilityId": 1
            }));
        }
        list[0]["data"] = json!(data);
        let entry = list[0].clone();
        let rec = org.item_mut(id)?;
        if let Some(arr) = rec.doc["formData"].as_array_mut() {
            match arr.first_mut() {
                Some(first) => first["data"] = json!(data),
                None => arr.push(entry),
            }
        }
        Some(())
    }

    /// Gives `count` numbers of every organisation a second item (new id, own form data and
    /// custody): the numbers [`duplicate_numbers`] picks from `1..next_seq`. Call it right
    /// after seeding so the picks fall in the seeded range; the other items are the same as
    /// without duplicates.
    pub fn seed_duplicates(&mut self, count: u64) {
        let orgs: Vec<(u64, u64)> = self
            .orgs
            .values()
            .map(|o| (o.id, o.next_seq.saturating_sub(1)))
            .collect();
        for (org_id, last) in orgs {
            for seq in duplicate_numbers(last, count) {
                self.duplicate_item(org_id, seq, true);
            }
        }
    }
}

/// The numbers that seeded duplicates go to when numbers `1..=last` are seeded: `count`
/// distinct numbers (at most `last - 1`) evenly spread over `2..=last` (never number 1), in
/// ascending order: the middle of each of `count` equal slices.
pub fn duplicate_numbers(last: u64, count: u64) -> Vec<u64> {
    let span = last.saturating_sub(1);
    let count = count.min(span);
    (0..count)
        .map(|i| 2 + (2 * i + 1) * span / (2 * count))
        .collect()
}

impl Org {
    /// Every item holding number `seq`, visible or not, ascending by id.
    pub fn items_at(&self, seq: u64) -> Vec<&ItemRec> {
        self.items
            .get(&seq)
            .into_iter()
            .chain(self.more_items.get(&seq).into_iter().flatten())
            .collect()
    }

    /// The ids of every item holding number `seq`, ascending.
    pub fn ids_at(&self, seq: u64) -> Vec<i64> {
        self.items_at(seq).iter().map(|r| r.id()).collect()
    }

    /// Every item, visible or not, by number and then by id.
    pub fn all_items(&self) -> impl Iterator<Item = &ItemRec> {
        self.items.iter().flat_map(|(seq, rec)| {
            std::iter::once(rec).chain(self.more_items.get(seq).into_iter().flatten())
        })
    }

    /// How many items there are (counting every item of a duplicated number).
    pub fn item_count(&self) -> usize {
        self.items.len() + self.more_items.values().map(Vec::len).sum::<usize>()
    }

    /// Item `id`, visible or not.
    pub fn item(&self, id: i64) -> Option<&ItemRec> {
        let seq = self.item_ids.get(&id)?;
        self.items_at(*seq).into_iter().find(|r| r.id() == id)
    }

    /// Item `id`, visible or not, to change (its number must not be changed here: use
    /// [`World::renumber_item`]).
    pub fn item_mut(&mut self, id: i64) -> Option<&mut ItemRec> {
        let seq = *self.item_ids.get(&id)?;
        match self.items.get_mut(&seq) {
            Some(rec) if rec.id() == id => Some(rec),
            _ => self
                .more_items
                .get_mut(&seq)?
                .iter_mut()
                .find(|r| r.id() == id),
        }
    }

    /// Files `rec` under number `seq`, keeping `items`/`more_items` ordered by id.
    pub fn file_item(&mut self, seq: u64, rec: ItemRec) {
        self.item_ids.insert(rec.id(), seq);
        let rec = match self.items.entry(seq) {
            Entry::Vacant(e) => {
                e.insert(rec);
                return;
            }
            // A lower id than the holder's takes its place; the holder moves to `more_items`.
            Entry::Occupied(mut e) if rec.id() < e.get().id() => e.insert(rec),
            Entry::Occupied(_) => rec,
        };
        let more = self.more_items.entry(seq).or_default();
        let at = more.partition_point(|r| r.id() < rec.id());
        more.insert(at, rec);
    }

    /// Takes item `id` off its number (the next item there, if any, takes its place in
    /// `items`); returns the number and the item. Its form data and custody stay.
    pub fn take_item(&mut self, id: i64) -> Option<(u64, ItemRec)> {
        let seq = *self.item_ids.get(&id)?;
        let rec = match self.items.get(&seq) {
            Some(rec) if rec.id() == id => {
                let rec = self.items.remove(&seq).expect("present");
                if let Some(more) = self.more_items.get_mut(&seq) {
                    self.items.insert(seq, more.remove(0));
                }
                rec
            }
            _ => {
                let more = self.more_items.get_mut(&seq)?;
                let at = more.iter().position(|r| r.id() == id)?;
                more.remove(at)
            }
        };
        if self.more_items.get(&seq).is_some_and(Vec::is_empty) {
            self.more_items.remove(&seq);
        }
        self.item_ids.remove(&id);
        Some((seq, rec))
    }

    /// Deletes every item holding number `seq` (with their form data and custody); returns
    /// their ids, ascending.
    pub fn delete_items_at(&mut self, seq: u64) -> Vec<i64> {
        let ids = self.ids_at(seq);
        for id in &ids {
            self.delete_item(*id);
        }
        ids
    }

    /// Deletes item `id` (with its form data and custody); returns its former number.
    pub fn delete_item(&mut self, id: i64) -> Option<u64> {
        let (seq, _) = self.take_item(id)?;
        self.form_data.remove(&id);
        self.custody.remove(&id);
        Some(seq)
    }
}
