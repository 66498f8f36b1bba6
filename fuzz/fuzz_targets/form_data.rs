//! Form data `data` strings: decoding never panics, and the raw string is kept exactly, also
//! when it does not decode (the lenient path every answer from the server takes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use safe_tracker::models::FormData;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if let Ok(fd) = FormData::parse(text.clone()) {
        assert_eq!(fd.raw(), text);
        let encoded = serde_json::to_string(&fd).expect("encodes");
        let back: FormData = serde_json::from_str(&encoded).expect("round trip");
        assert_eq!(back.fields(), fd.fields());
    }
    let lenient = FormData::lenient(text.clone());
    assert_eq!(lenient.raw(), text, "raw text kept whatever it holds");
    assert_eq!(lenient.decoded().is_none(), lenient.error().is_some());
    let encoded = serde_json::to_string(&lenient).expect("encodes");
    let back: FormData = serde_json::from_str(&encoded).expect("decoding is lenient");
    assert_eq!(back, lenient);
});
