//! Any line of a JSON Lines event file or `/v1/events` body: parsing never panics, and a
//! line that fails names a reason.
#![no_main]

use drugtrace_ingest::{ParseContext, parse_json_event};
use drugtrace_ledger::PersonKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = ParseContext {
        person_key: PersonKey::from_bytes([7; 32]),
        local_offset_minutes: 480,
    };
    if let Err(e) = parse_json_event(text, &ctx) {
        assert!(!e.reason.is_empty());
    }
});
