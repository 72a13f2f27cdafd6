//! Any text a regulator sends to the SQL console (`POST /v1/sql`, the dashboard's form), up to
//! the 64 KiB the server accepts, parsed the way the query engine parses it: sqlparser's
//! generic dialect with DataFusion's nesting limit of 50. Parsing never panics, overflows the
//! stack or hangs: deep nesting is refused as an error, not a crash. (The query itself then
//! runs in a worker process with memory and time limits; see docs/reliability.md.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// `drugtrace_analytics::worker::MAX_SQL_BYTES`: longer queries are refused before parsing.
const MAX_SQL_BYTES: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    if sql.len() > MAX_SQL_BYTES {
        return;
    }
    let parsed = Parser::new(&GenericDialect {})
        .with_recursion_limit(50)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements());
    if let Ok(statements) = parsed {
        // What parsed can be shown (the console echoes the query it ran).
        for s in &statements {
            let _ = s.to_string();
        }
    }
});
