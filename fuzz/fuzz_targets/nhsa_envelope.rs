//! Any body posted to `/nhsa/callService`: reading the envelope, its sections, records,
//! trace codes, times and amounts never panics, and every refusal names a problem.
#![no_main]

use drugtrace_ledger::Timestamp;
use drugtrace_nhsa::{envelope, read};
use libfuzzer_sys::fuzz_target;

/// The sections the transactions read their records from.
const SECTIONS: &[&str] = &["selinfo", "invinfo", "purcinfo", "data", "good", "drug_trac_info"];

/// The fields read as times, amounts or plain text.
const FIELDS: &[&str] = &[
    "sel_retn_time",
    "inv_chg_time",
    "purc_retn_stoin_time",
    "expy_end",
    "finl_trns_pric",
    "sel_retn_cnt",
    "fixmedins_bchno",
    "setl_id",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The scalar readers on the raw text too.
    let _ = read::time(text, 480);
    let _ = read::date(text, -720);
    let _ = read::decimal(text, 4);
    let Ok(body) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let now = Timestamp::from_millis(1_764_000_000_000);
    let _ = envelope::msgid(&body);
    let env = match envelope::read(&body, 480, now) {
        Ok(env) => env,
        Err(f) => {
            assert!(!f.0.is_empty());
            return;
        }
    };
    let _ = env.input.codes();
    for section in SECTIONS {
        let Ok(records) = env.input.records(section) else {
            continue;
        };
        for owned in &records {
            let rec = owned.obj();
            if let Err(f) = rec.codes() {
                assert!(!f.0.is_empty());
            }
            for field in FIELDS {
                if let Ok(Some(t)) = rec.text(field) {
                    let _ = read::time(&t, 480);
                    let _ = read::decimal(&t, 2);
                }
            }
        }
    }
});
