//! Any bytes as an answer of the item-by-number endpoint and as each model: decoding never
//! panics, and whatever decodes encodes again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use safe_tracker::models::{Case, CustodyEntry, Item, NewPerson, Person, SeqAnswer, User, decode_list, decode_seq_answer};

fuzz_target!(|data: &[u8]| {
    for status in [200u16, 204, 404] {
        match decode_seq_answer(status, data) {
            Ok(SeqAnswer::Item(item)) => {
                let _ = serde_json::to_vec(&item).expect("a decoded item encodes");
            }
            Ok(SeqAnswer::Several(items)) => {
                assert!(items.len() > 1, "several means two or more");
                let ids: Vec<i64> = items.iter().filter_map(|i| i.id).collect();
                assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending, no repeats");
                let without = items.iter().position(|i| i.id.is_none()).unwrap_or(items.len());
                assert!(items[without..].iter().all(|i| i.id.is_none()), "id-less last");
                let _ = serde_json::to_vec(&items).expect("decoded items encode");
            }
            _ => {}
        }
    }
    if let Ok(v) = serde_json::from_slice::<Case>(data) {
        let _ = serde_json::to_vec(&v).expect("encodes");
    }
    if let Ok(v) = serde_json::from_slice::<NewPerson>(data) {
        let _ = serde_json::to_vec(&v).expect("encodes");
    }
    let _ = serde_json::from_slice::<User>(data);
    let _ = serde_json::from_slice::<Item>(data);
    let _ = decode_list::<Person>(data, &["people", "entities"]);
    let _ = decode_list::<CustodyEntry>(data, &["data"]);
});
