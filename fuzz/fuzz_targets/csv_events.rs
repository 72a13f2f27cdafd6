//! Any bytes as a CSV event file: the reader never panics and yields one result per line
//! it reads, a bad file being a clear error.
#![no_main]

use drugtrace_ingest::{Format, ParseContext, Reader};
use drugtrace_ledger::PersonKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext {
        person_key: PersonKey::from_bytes([7; 32]),
        local_offset_minutes: 480,
    };
    let Ok(reader) = Reader::new(std::io::BufReader::new(data), Format::Csv, ctx) else {
        return;
    };
    for line in reader.take(10_000) {
        let _ = line;
    }
});
