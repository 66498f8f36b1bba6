//! Sequence numbers that repeat, move and break (issue 13): duplicated sequential org ids,
//! renumbered items and corrupt form data, over real HTTP against a started simulator.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use safe_simulator::world::duplicate_numbers;
use safe_simulator::{ItemShape, Seed, SimConfig, Simulator, World};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 exchange (`Connection: close`); returns the status and the body text.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> (u16, String) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let raw = String::from_utf8(raw).expect("utf-8 answer");
    let (head, rest) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    (status, if chunked { dechunk(rest) } else { rest.into() })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// A simulator under test: its address and organisation 1's API headers.
struct Sim {
    addr: SocketAddr,
}

impl Sim {
    fn auth(org: u64) -> Vec<(&'static str, String)> {
        vec![
            ("Authorization", format!("Bearer sim-token-org{org}")),
            ("OrganizationId", org.to_string()),
            ("OfficeId", safe_simulator::office_for(org).to_string()),
        ]
    }

    async fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        http(
            self.addr,
            method,
            &format!("/api/{path}"),
            &Self::auth(1),
            body,
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, text) = self.api("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {text}");
        json_of(&text)
    }

    /// `GET items/seqOrgID/{n}`, `None` for a blank (empty body, the default style).
    async fn seq(&self, n: u64) -> Option<Value> {
        let (status, text) = self.api("GET", &format!("items/seqOrgID/{n}"), None).await;
        assert_eq!(status, 200, "seq {n}: {text}");
        (!text.is_empty()).then(|| json_of(&text))
    }

    /// The ids an item-by-number answer carries, in answer order.
    async fn seq_ids(&self, n: u64) -> Vec<i64> {
        match self.seq(n).await {
            None => vec![],
            Some(Value::Array(a)) => a.iter().map(|d| d["id"].as_i64().unwrap()).collect(),
            Some(doc) => vec![doc["id"].as_i64().unwrap()],
        }
    }

    async fn search(&self, fields: Value) -> Value {
        let body =
            json!({"StaticFields": fields, "OfficeIds": [], "PageSize": 1000, "PageNumber": 1});
        let (status, text) = self.api("POST", "items/search", Some(&body)).await;
        assert_eq!(status, 200, "search: {text}");
        json_of(&text)
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = http(
            self.addr,
            method,
            &format!("/__admin/{path}"),
            &[],
            body.as_ref(),
        )
        .await;
        let v = if text.is_empty() {
            Value::Null
        } else {
            json_of(&text)
        };
        (status, v)
    }

    async fn admin_ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.admin(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {v}");
        v
    }

    async fn next_seq(&self) -> u64 {
        let creds = self.admin_ok("GET", "credentials", None).await;
        creds["organizations"][0]["next_seq"].as_u64().unwrap()
    }
}

async fn start(items: u64, duplicates: u64) -> (Simulator, Sim) {
    let sim = Simulator::start(SimConfig {
        seed: Seed {
            seed: 11,
            orgs: 2,
            items,
        },
        duplicates,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let s = Sim { addr: sim.addr() };
    (sim, s)
}

fn seq_criterion(n: u64) -> Value {
    json!([{"fieldName": "SequentialOrgId", "searchCriteria": 0, "model": n}])
}

#[tokio::test]
async fn duplicate_answers_every_item_newest_first() {
    let (sim, s) = start(10, 0).await;
    let first = s.seq_ids(4).await;
    assert_eq!(first.len(), 1);
    let dup = s
        .admin_ok("POST", "orgs/1/items/4/duplicate", Some(json!({})))
        .await;
    let new_id = dup["id"].as_i64().unwrap();
    assert_eq!(dup["seq"], 4);
    assert!(new_id > first[0]);
    assert_eq!(dup["ids"], json!([first[0], new_id]));

    // Several items: an array, newest first, whatever the shape option.
    let answer = s.seq(4).await.unwrap();
    let docs = answer.as_array().expect("an array for a duplicated number");
    assert_eq!(docs.len(), 2);
    assert_eq!(s.seq_ids(4).await, vec![new_id, first[0]]);
    assert!(docs.iter().all(|d| d["sequentialOrgId"] == 4));
    sim.set_options(|o| o.item_shape = ItemShape::Array);
    assert_eq!(s.seq_ids(4).await, vec![new_id, first[0]]);
    assert_eq!(s.seq(5).await.unwrap().as_array().unwrap().len(), 1);
    sim.set_options(|o| o.item_shape = ItemShape::Object);
    assert!(s.seq(5).await.unwrap().is_object(), "one item: an object");

    // Every other endpoint sees both.
    for id in [first[0], new_id] {
        assert_eq!(s.get(&format!("items/{id}")).await["id"], id);
        let form = s.get(&format!("formdata/{id}")).await;
        assert_eq!(form[0]["entityId"], id);
        let coc = s.get(&format!("items/{id}/coc")).await;
        assert_eq!(coc[0]["itemId"], id);
    }
    let hits = s.search(seq_criterion(4)).await;
    assert_eq!(hits["count"], 2);
    assert_eq!(s.search(json!([])).await["count"], 11);

    // hide/show/touch: every item at the number, or one with ?id=.
    let one = s
        .admin_ok("POST", &format!("orgs/1/items/4/hide?id={new_id}"), None)
        .await;
    assert_eq!(one["id"], new_id);
    assert_eq!(s.seq_ids(4).await, vec![first[0]]);
    assert!(s.seq(4).await.unwrap().is_object());
    let both = s.admin_ok("POST", "orgs/1/items/4/hide", None).await;
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert_eq!(s.seq(4).await, None);
    assert_eq!(s.search(seq_criterion(4)).await["count"], 0);
    s.admin_ok("POST", "orgs/1/items/4/show", Some(json!({})))
        .await;
    assert_eq!(s.seq_ids(4).await, vec![new_id, first[0]]);
    let touched = s.admin_ok("POST", "orgs/1/items/4/touch", None).await;
    assert!(
        touched
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["description"].as_str().unwrap().ends_with("(updated)"))
    );
    let touched = s.admin_ok("POST", "orgs/1/items/5/touch", None).await;
    assert!(touched.is_object(), "one item: its document, as before");
    let (status, _) = s.admin("POST", "orgs/1/items/4/hide?id=1", None).await;
    assert_eq!(status, 404, "an id that does not hold the number");

    // A hidden duplicate is not answered until shown.
    let hidden = s
        .admin_ok(
            "POST",
            "orgs/1/items/6/duplicate",
            Some(json!({"hidden": true})),
        )
        .await;
    assert_eq!(s.seq_ids(6).await.len(), 1);
    let (status, _) = s.api("GET", &format!("items/{}", hidden["id"]), None).await;
    assert_eq!(status, 404);
    s.admin_ok(
        "POST",
        &format!("orgs/1/items/6/show?id={}", hidden["id"]),
        None,
    )
    .await;
    assert_eq!(s.seq_ids(6).await.len(), 2);

    // A number that holds nothing (a hole, or past the end) can be given an item.
    let del = s.admin_ok("DELETE", "orgs/1/items/7", None).await;
    assert_eq!(del["deleted"], 7);
    assert_eq!(s.seq(7).await, None);
    let dup = s.admin_ok("POST", "orgs/1/items/7/duplicate", None).await;
    assert_eq!(dup["ids"], json!([dup["id"]]));
    assert_eq!(s.seq_ids(7).await, vec![dup["id"].as_i64().unwrap()]);
    let dup = s.admin_ok("POST", "orgs/1/items/15/duplicate", None).await;
    assert_eq!(s.seq_ids(15).await, vec![dup["id"].as_i64().unwrap()]);
    assert_eq!(s.next_seq().await, 16);

    // DELETE with ?id= takes one item; without, every item at the number.
    let ids = s.seq_ids(4).await;
    let del = s
        .admin_ok("DELETE", &format!("orgs/1/items/4?id={}", ids[0]), None)
        .await;
    assert_eq!(del["ids"], json!([ids[0]]));
    assert_eq!(s.seq_ids(4).await, vec![ids[1]]);
    s.admin_ok("POST", "orgs/1/items/4/duplicate", None).await;
    let del = s.admin_ok("DELETE", "orgs/1/items/4", None).await;
    assert_eq!(del["ids"].as_array().unwrap().len(), 2);
    assert_eq!(s.seq(4).await, None);
    let (status, _) = s.api("GET", &format!("items/{}", ids[1]), None).await;
    assert_eq!(status, 404);

    // Unknown organisation, number, action.
    for (method, path) in [
        ("POST", "orgs/9/items/4/duplicate"),
        ("POST", "orgs/9/items/4/hide"),
        ("POST", "orgs/1/items/4/hide"),
        ("POST", "orgs/1/items/5/explode"),
        ("DELETE", "orgs/1/items/4"),
        ("DELETE", "orgs/9/items/5"),
    ] {
        let (status, v) = s.admin(method, path, None).await;
        assert_eq!(status, 404, "{method} {path}");
        assert!(v["message"].is_string(), "{method} {path}: {v}");
    }
    // Organisation 2 is untouched.
    let (status, text) = http(s.addr, "GET", "/api/items/seqOrgID/4", &Sim::auth(2), None).await;
    assert_eq!(status, 200);
    assert!(json_of(&text).is_object());
}

#[tokio::test]
async fn renumber_into_a_hole_past_the_end_and_onto_a_taken_number() {
    let (_sim, s) = start(10, 0).await;
    let before = World::now_stamp();
    // Later stamps compare above `before` (the feed's criterion is strictly after).
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let updated_after = |stamp: &str| json!([{"fieldName": "UpdatedDate", "typeId": 2, "searchCriteria": 7, "model": stamp}]);
    assert_eq!(s.search(updated_after(&before)).await["count"], 0);

    // Forward into a hole.
    s.admin_ok("DELETE", "orgs/1/items/6", None).await;
    let id3 = s.seq_ids(3).await[0];
    let r = s
        .admin_ok(
            "POST",
            &format!("orgs/1/item-ids/{id3}/renumber"),
            Some(json!({"to": 6})),
        )
        .await;
    assert_eq!(
        r,
        json!({"id": id3, "from": 3, "to": 6, "ids_at_to": [id3]})
    );
    assert_eq!(s.seq(3).await, None, "the old number becomes a hole");
    let doc = s.seq(6).await.unwrap();
    assert_eq!(doc["id"], id3);
    assert_eq!(doc["sequentialOrgId"], 6);
    assert!(doc["updatedDate"].as_str().unwrap() >= before.as_str());
    assert_eq!(s.get(&format!("items/{id3}")).await["sequentialOrgId"], 6);
    assert_eq!(s.get(&format!("formdata/{id3}")).await[0]["entityId"], id3);
    let feed = s.search(updated_after(&before)).await;
    assert_eq!(feed["count"], 1, "the updated feed sees the move");
    assert_eq!(feed["entities"][0]["id"], id3);
    assert_eq!(s.search(seq_criterion(3)).await["count"], 0);
    assert_eq!(s.search(seq_criterion(6)).await["count"], 1);
    assert_eq!(s.next_seq().await, 11);

    // Past the end: next_seq follows.
    let id2 = s.seq_ids(2).await[0];
    let r = s
        .admin_ok(
            "POST",
            &format!("orgs/1/item-ids/{id2}/renumber"),
            Some(json!({"to": 20})),
        )
        .await;
    assert_eq!(r["from"], 2);
    assert_eq!(r["ids_at_to"], json!([id2]));
    assert_eq!(s.next_seq().await, 21);
    assert_eq!(s.seq_ids(20).await, vec![id2]);
    let added = s
        .admin_ok("POST", "orgs/1/items", Some(json!({"count": 1})))
        .await;
    assert_eq!(added["seqs"], json!([21]));

    // Onto a taken number: a duplicate, newest first.
    let id7 = s.seq_ids(7).await[0];
    let id8 = s.seq_ids(8).await[0];
    let r = s
        .admin_ok(
            "POST",
            &format!("orgs/1/item-ids/{id8}/renumber"),
            Some(json!({"to": 7})),
        )
        .await;
    assert_eq!(r["ids_at_to"], json!([id7, id8]));
    assert_eq!(s.seq_ids(7).await, vec![id8, id7]);
    assert_eq!(s.seq(8).await, None);
    // And an older item moved onto a newer one's number still answers newest first.
    let id9 = s.seq_ids(9).await[0];
    let r = s
        .admin_ok(
            "POST",
            &format!("orgs/1/item-ids/{id9}/renumber"),
            Some(json!({"to": 21})),
        )
        .await;
    let id21 = r["ids_at_to"][1].as_i64().unwrap();
    assert_eq!(r["ids_at_to"], json!([id9, id21]));
    assert_eq!(s.seq_ids(21).await, vec![id21, id9]);
    // And back off again: the number holds one item once more.
    s.admin_ok(
        "POST",
        &format!("orgs/1/item-ids/{id8}/renumber"),
        Some(json!({"to": 8})),
    )
    .await;
    assert!(s.seq(7).await.unwrap().is_object());
    assert_eq!(s.seq_ids(8).await, vec![id8]);

    // Errors.
    let (status, v) = s
        .admin("POST", "orgs/1/item-ids/1/renumber", Some(json!({"to": 3})))
        .await;
    assert_eq!(status, 404, "{v}");
    let (status, _) = s
        .admin(
            "POST",
            &format!("orgs/9/item-ids/{id8}/renumber"),
            Some(json!({"to": 3})),
        )
        .await;
    assert_eq!(status, 404);
    for body in [json!({}), json!({"to": 0}), json!({"to": "x"})] {
        let (status, _) = s
            .admin(
                "POST",
                &format!("orgs/1/item-ids/{id8}/renumber"),
                Some(body),
            )
            .await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn corrupt_form_breaks_the_form_data() {
    let (sim, s) = start(5, 0).await;
    let id = s.seq_ids(2).await[0];
    let r = s
        .admin_ok("POST", &format!("orgs/1/item-ids/{id}/corrupt-form"), None)
        .await;
    assert_eq!(r, json!({"id": id, "data": "{\"field2849\":"}));
    let form = s.get(&format!("formdata/{id}")).await;
    let data = form[0]["data"].as_str().unwrap();
    assert_eq!(data, "{\"field2849\":");
    assert!(serde_json::from_str::<Value>(data).is_err());

    let r = s
        .admin_ok(
            "POST",
            &format!("orgs/1/item-ids/{id}/corrupt-form"),
            Some(json!({"data": "not json"})),
        )
        .await;
    assert_eq!(r["data"], "not json");
    assert_eq!(
        s.get(&format!("formdata/{id}")).await[0]["data"],
        "not json"
    );

    // An item without form data gets an entry; a document's formData array is broken too.
    let id3 = s.seq_ids(3).await[0];
    {
        let mut w = sim.app().world.lock().unwrap();
        let org = w.orgs.get_mut(&1).unwrap();
        org.form_data.remove(&id3);
        org.item_mut(id3).unwrap().doc["formData"] =
            json!([{"formId": 1, "data": "{ \"field2849\" : \"1\" }"}]);
    }
    assert_eq!(s.get(&format!("formdata/{id3}")).await, json!([]));
    s.admin_ok(
        "POST",
        &format!("orgs/1/item-ids/{id3}/corrupt-form"),
        Some(json!({})),
    )
    .await;
    let form = s.get(&format!("formdata/{id3}")).await;
    assert_eq!(form.as_array().unwrap().len(), 1);
    assert_eq!(form[0]["data"], "{\"field2849\":");
    assert_eq!(form[0]["entityId"], id3);
    let doc = s.get(&format!("items/{id3}")).await;
    assert_eq!(doc["formData"][0]["data"], "{\"field2849\":");
    assert_eq!(doc["formData"][0]["formId"], 1);

    let (status, _) = s
        .admin("POST", "orgs/1/item-ids/1/corrupt-form", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .admin("POST", &format!("orgs/9/item-ids/{id}/corrupt-form"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = s
        .admin(
            "POST",
            &format!("orgs/1/item-ids/{id}/corrupt-form"),
            Some(json!({"data": 5})),
        )
        .await;
    assert_eq!(status, 400);
}

/// Numbers of organisation `org` answered as an array, with their ids.
async fn duplicated(s: &Sim, org: u64, last: u64) -> BTreeMap<u64, Vec<i64>> {
    let mut out = BTreeMap::new();
    for n in 1..=last {
        let (status, text) = http(
            s.addr,
            "GET",
            &format!("/api/items/seqOrgID/{n}"),
            &Sim::auth(org),
            None,
        )
        .await;
        assert_eq!(status, 200);
        if let Value::Array(a) = json_of(&text) {
            out.insert(n, a.iter().map(|d| d["id"].as_i64().unwrap()).collect());
        }
    }
    out
}

#[tokio::test]
async fn seeded_duplicates_give_exactly_k_numbers_two_items() {
    let (sim, s) = start(30, 4).await;
    let expected = duplicate_numbers(30, 4);
    assert_eq!(expected.len(), 4);
    assert!(!expected.contains(&1));
    for org in [1, 2] {
        let dups = duplicated(&s, org, 30).await;
        assert_eq!(dups.keys().copied().collect::<Vec<_>>(), expected);
        for ids in dups.values() {
            assert_eq!(ids.len(), 2);
            assert!(ids[0] > ids[1], "newest first: {ids:?}");
        }
    }
    // The other items are the same as in a world seeded without duplicates.
    let plain = World::seed(&Seed {
        seed: 11,
        orgs: 2,
        items: 30,
    });
    let w = sim.app().world.lock().unwrap();
    for (org_id, org) in &w.orgs {
        assert_eq!(org.item_count(), 34);
        assert_eq!(org.next_seq, 31);
        for (seq, rec) in &org.items {
            assert_eq!(rec.doc, plain.orgs[org_id].items[seq].doc);
        }
        for seq in &expected {
            assert_eq!(org.items_at(*seq)[1].doc["sequentialOrgId"], *seq);
        }
    }
}

#[test]
fn duplicate_numbers_are_distinct_and_spread() {
    assert_eq!(duplicate_numbers(50, 0), Vec::<u64>::new());
    assert_eq!(duplicate_numbers(1, 3), Vec::<u64>::new());
    assert_eq!(duplicate_numbers(2, 3), vec![2]);
    assert_eq!(duplicate_numbers(5, 9), vec![2, 3, 4, 5]);
    assert_eq!(duplicate_numbers(50, 3), vec![10, 26, 42]);
    for last in 0..60 {
        for k in 0..70 {
            let v = duplicate_numbers(last, k);
            assert_eq!(v.len() as u64, k.min(last.saturating_sub(1)));
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{last} {k}: {v:?}");
            assert!(
                v.iter().all(|n| (2..=last).contains(n)),
                "{last} {k}: {v:?}"
            );
        }
    }
}

/// Kills the child simulator when the test ends, even by panic.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_duplicates_flag() {
    use std::io::BufRead;
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_safe-simulator"))
            .args(["--orgs", "1", "--items", "20", "--duplicates", "3"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("simulator binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (base, creds) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let base = lines.next().expect("first line").unwrap();
        let creds = lines.next().expect("second line").unwrap();
        (base, creds)
    })
    .await
    .unwrap();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api/"),
        "first line is the base URL: {base:?}"
    );
    let creds = json_of(&creds);
    assert_eq!(creds["organizations"][0]["items"], 23);
    assert_eq!(creds["organizations"][0]["next_seq"], 21);
    let addr: SocketAddr = base
        .trim_start_matches("http://")
        .trim_end_matches("/api/")
        .parse()
        .unwrap();
    let dups = duplicated(&Sim { addr }, 1, 20).await;
    assert_eq!(
        dups.keys().copied().collect::<Vec<_>>(),
        duplicate_numbers(20, 3)
    );
    assert!(dups.values().all(|ids| ids.len() == 2));
    drop(child);
}
