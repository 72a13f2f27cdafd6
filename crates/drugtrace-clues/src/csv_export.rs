//! Clue lists as CSV, for the bureaus' spreadsheets.

use std::io;

use jiff::civil::Date;

use crate::Clue;

/// The header of [`write_csv`], in order:
///
/// | column | meaning |
/// |---|---|
/// | `clue` | the clue's id (`C7`) |
/// | `batch` | its batch's id (`B2`) |
/// | `position` | its place in the batch, from 1 |
/// | `institution` | the institution's code |
/// | `name` | the institution's name (may be empty) |
/// | `province`, `city` | where it is |
/// | `assigned_to` | the bureau that verifies it |
/// | `findings`, `distinct_codes` | findings behind the clue, and distinct trace codes among them |
/// | `amount_fen` | fund amount at risk, in fen |
/// | `score` | the ranking score when issued |
/// | `deadline` | the day results are due (`YYYY-MM-DD`) |
/// | `state` | `issued`, `under_verification`, `confirmed` or `dismissed` |
/// | `overdue` | `true` or `false`, on the `today` given |
/// | `result_note` | what verification found (empty while open) |
/// | `recovered_fen` | fund amount recovered, in fen (empty when not given) |
/// | `issued_at`, `updated_at` | RFC 3339 instants, UTC |
pub const CLUE_COLUMNS: [&str; 19] = [
    "clue",
    "batch",
    "position",
    "institution",
    "name",
    "province",
    "city",
    "assigned_to",
    "findings",
    "distinct_codes",
    "amount_fen",
    "score",
    "deadline",
    "state",
    "overdue",
    "result_note",
    "recovered_fen",
    "issued_at",
    "updated_at",
];

/// The UTF-8 byte order mark. The CSV is plain UTF-8; write this first when the file is
/// meant for Excel, which otherwise reads it in the system's code page (GBK on Chinese
/// Windows) and garbles the names.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn instant(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// Writes `clues` as UTF-8 CSV with a header row ([`CLUE_COLUMNS`]), judging overdue on
/// `today`.
pub fn write_csv<W: io::Write>(out: W, clues: &[Clue], today: Date) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CLUE_COLUMNS)?;
    for c in clues {
        let (note, recovered) = match &c.result {
            Some(r) => (
                r.note.clone(),
                r.recovered_fen
                    .map(|f| f.fen().to_string())
                    .unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        };
        w.write_record([
            c.id.to_string(),
            c.batch.to_string(),
            c.position.to_string(),
            c.institution.clone(),
            c.name.clone(),
            c.province.clone(),
            c.city.clone(),
            c.assigned_to.clone(),
            c.findings.to_string(),
            c.distinct_codes.to_string(),
            c.amount_fen.fen().to_string(),
            c.score.to_string(),
            c.deadline.to_string(),
            c.state.as_str().to_owned(),
            c.is_overdue(today).to_string(),
            note,
            recovered,
            instant(c.issued_at_ms),
            instant(c.updated_at_ms),
        ])?;
    }
    w.flush()?;
    Ok(())
}
