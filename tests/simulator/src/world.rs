//! The simulator's data: organisations, offices, tokens, users, cases, people, items with
//! form data and custody history, all seeded deterministically from one number.

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
    /// Items by sequential org id.
    pub items: BTreeMap<u64, ItemRec>,
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

/// Seeding options.
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
        let id = self.new_id() + 7_000_000;
        let description = *self.rng.pick(&DESCRIPTIONS);
        let (status_id, status) = *self.rng.pick(&STATUSES);
        let (category_id, category) = *self.rng.pick(&CATEGORIES);
        let (reason_id, reason) = *self.rng.pick(&REASONS);
        let street = *self.rng.pick(&STREETS);
        let quantity = self.rng.below(20) as i64;
        let org = self.orgs.get_mut(&org_id).expect("org");
        let seq = org.next_seq;
        org.next_seq += 1;
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
        org.item_ids.insert(id, seq);
        org.items.insert(seq, ItemRec { doc, visible });
        seq
    }

    /// Changes an item (description and `updatedDate`) and adds a custody entry.
    pub fn touch_item(&mut self, org_id: u64, seq: u64) -> Option<Value> {
        let org = self.orgs.get_mut(&org_id)?;
        let rec = org.items.get_mut(&seq)?;
        let now = World::now_stamp();
        let desc = format!(
            "{} (updated)",
            rec.doc["description"].as_str().unwrap_or("")
        );
        rec.doc["description"] = json!(desc);
        rec.doc["updatedDate"] = json!(now);
        let id = rec.doc["id"].as_i64()?;
        org.custody.entry(id).or_default().push(json!({
            "id": id * 10 + 1, "itemId": id, "date": now, "action": "Check Out",
            "fromUser": "Property Room", "toUser": "Dana Reyes", "location": "Court", "notes": "updated"
        }));
        Some(rec.doc.clone())
    }
}
