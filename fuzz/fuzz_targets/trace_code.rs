//! Any text a scanner may send: parsing never panics, and a code that parses renders to
//! text that parses back to the same pack.
#![no_main]

use drugtrace_code::TraceCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = TraceCode::parse(text) {
        let shown = code.to_string();
        let again = TraceCode::parse(&shown).expect("a rendered code parses");
        assert_eq!(again.pack_key(), code.pack_key(), "{text:?} -> {shown:?}");
    }
});
