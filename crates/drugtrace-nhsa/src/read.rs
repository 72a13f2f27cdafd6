//! Reading the national interface's JSON: every value is looked up through an [`Obj`] that
//! knows its own path, so that each complaint names the exact field
//! (`input.selinfo.drugtracinfo[0].drug_trac_codg: expected 20 digits, got 19`).
//!
//! Hospital systems are lenient writers, so the reader is lenient where that loses nothing:
//! a value may be a JSON string or number (`"purc_retn_cnt": 3` and `"1.00"` alike), an
//! empty string or `null` means the field is absent, field names are matched exactly first
//! and then regardless of ASCII case (`MDTRT_SETL_TYPE` has been seen), and unknown fields
//! are ignored (national records carry dozens this service does not need). It is strict
//! about everything it uses: a present value that does not parse is an error.

use drugtrace_code::TraceCode;
use drugtrace_ledger::{Date, Timestamp};
use serde_json::{Map, Value};

/// A business error: the answer's `err_msg`, with `infcode` -1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

impl Fault {
    /// A complaint about the field at `path`.
    pub fn at(path: &str, message: impl std::fmt::Display) -> Fault {
        Fault(format!("{path}: {message}"))
    }
}

/// A JSON object and where it sits in the request.
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

/// An object with a path of its own (`input.selinfoDetail[2]`, `input.data`).
pub struct Owned<'a> {
    /// The object's path.
    pub path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Owned<'a> {
    /// The object, borrowed with its path.
    pub fn obj(&self) -> Obj<'_> {
        Obj {
            path: &self.path,
            map: self.map,
        }
    }
}

impl<'a> Obj<'a> {
    /// `v` as an object at `path`.
    pub fn new(path: &'a str, v: &'a Value) -> Result<Obj<'a>, Fault> {
        match v {
            Value::Object(map) => Ok(Obj { path, map }),
            other => Err(Fault::at(
                path,
                format!("expected an object, got {}", kind(other)),
            )),
        }
    }

    /// The path of a field of this object.
    pub fn field_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The raw value of a field, looked up exactly and then regardless of ASCII case.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).or_else(|| {
            self.map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// A text field: a string (trimmed) or a number; `null`, absent and blank are `None`.
    pub fn text(&self, name: &str) -> Result<Option<String>, Fault> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(Fault::at(
                &self.field_path(name),
                format!("expected a string or a number, got {}", kind(other)),
            )),
        }
    }

    /// A text field that must be present.
    pub fn required(&self, name: &str) -> Result<String, Fault> {
        self.text(name)?
            .ok_or_else(|| Fault::at(&self.field_path(name), "is required"))
    }

    /// A field parsed by `parse`, if present.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Fault> {
        self.text(name)?
            .map(|t| parse(&t).map_err(|e| Fault::at(&self.field_path(name), e)))
            .transpose()
    }

    /// The object in field `name`, which must be present.
    pub fn object(&self, name: &str) -> Result<Owned<'a>, Fault> {
        let path = self.field_path(name);
        match self.raw(name) {
            None | Some(Value::Null) => Err(Fault::at(&path, "is required")),
            Some(Value::Object(map)) => Ok(Owned { path, map }),
            Some(other) => Err(Fault::at(
                &path,
                format!("expected an object, got {}", kind(other)),
            )),
        }
    }

    /// The records of a section: `{name}Detail` (the batch forms' list) or `name`, holding
    /// one object or a list of objects.
    pub fn records(&self, name: &str) -> Result<Vec<Owned<'a>>, Fault> {
        let detail = format!("{name}Detail");
        let (key, v) = match (self.raw(&detail), self.raw(name)) {
            (Some(v), _) if !v.is_null() => (detail, v),
            (_, Some(v)) if !v.is_null() => (name.to_owned(), v),
            _ => {
                return Err(Fault::at(
                    &self.field_path(name),
                    format!("is required (or {detail} for a list)"),
                ));
            }
        };
        let base = self.field_path(&key);
        match v {
            Value::Object(map) => Ok(vec![Owned { path: base, map }]),
            Value::Array(items) if items.is_empty() => Err(Fault::at(&base, "holds no record")),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Ok(Owned {
                        path: format!("{base}[{i}]"),
                        map,
                    }),
                    other => Err(Fault::at(
                        &format!("{base}[{i}]"),
                        format!("expected an object, got {}", kind(other)),
                    )),
                })
                .collect(),
            other => Err(Fault::at(
                &base,
                format!(
                    "expected an object or a list of objects, got {}",
                    kind(other)
                ),
            )),
        }
    }

    /// The record-level code field: `drug_trac_codg`, else `drug_trac_code` (the misspelling
    /// one client ships), with the name found.
    fn code_field(&self) -> Result<Option<(&'static str, String)>, Fault> {
        for name in CODE_FIELDS {
            if let Some(text) = self.text(name)? {
                return Ok(Some((name, text)));
            }
        }
        Ok(None)
    }

    /// The field the object's trace codes are in and how many it holds, counted without
    /// parsing them (`drugtracinfo` entries, else the comma-separated parts of a record-level
    /// `drug_trac_codg`), or `None` when it carries none.
    pub fn code_entries(&self) -> Option<(&'static str, usize)> {
        let info = match self.raw("drugtracinfo") {
            Some(Value::Array(items)) => items.len(),
            Some(Value::String(s)) if s.trim().is_empty() => 0,
            None | Some(Value::Null) => 0,
            Some(_) => 1,
        };
        if info > 0 {
            return Some(("drugtracinfo", info));
        }
        match self.code_field() {
            Ok(Some((name, list))) => {
                let n = list.split(',').filter(|p| !p.trim().is_empty()).count();
                (n > 0).then_some((name, n))
            }
            Ok(None) => None,
            Err(_) => Some((CODE_FIELDS[0], 1)),
        }
    }

    /// The trace codes of a record, each with its path: from its `drugtracinfo` list (or a
    /// single `drugtracinfo` object), else from a `drug_trac_codg` field on the record itself
    /// (older interface versions; several codes may be separated by commas). The misspelled
    /// `drug_trac_code`, which one client ships, is read as `drug_trac_codg` in both places.
    pub fn codes(&self) -> Result<Vec<(String, TraceCode)>, Fault> {
        let mut out = Vec::new();
        match self.raw("drugtracinfo") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() => {}
            Some(Value::Object(map)) => {
                let o = Obj {
                    path: self.path,
                    map,
                };
                push_code(&mut out, &o, self.field_path("drugtracinfo"))?;
            }
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{}[{i}]", self.field_path("drugtracinfo"));
                    let Value::Object(map) = item else {
                        return Err(Fault::at(
                            &path,
                            format!("expected an object, got {}", kind(item)),
                        ));
                    };
                    let o = Obj {
                        path: self.path,
                        map,
                    };
                    push_code(&mut out, &o, path)?;
                }
            }
            Some(other) => {
                return Err(Fault::at(
                    &self.field_path("drugtracinfo"),
                    format!("expected a list of objects, got {}", kind(other)),
                ));
            }
        }
        if out.is_empty()
            && let Some((name, list)) = self.code_field()?
        {
            let path = self.field_path(name);
            for (i, part) in list.split(',').map(str::trim).enumerate() {
                if part.is_empty() {
                    continue;
                }
                let code = TraceCode::parse(part)
                    .map_err(|e| Fault::at(&path, format!("code {} of the list: {e}", i + 1)))?;
                out.push((path.clone(), code));
            }
        }
        // One pack scanned twice in one record is a scanner slip, and would be counted twice.
        for (j, (path, code)) in out.iter().enumerate() {
            if let Some((first, _)) = out[..j]
                .iter()
                .find(|(_, c)| c.pack_key() == code.pack_key())
            {
                return Err(Fault::at(path, format!("the same pack as {first}")));
            }
        }
        Ok(out)
    }
}

/// The names a trace code field goes by: the interface's, then a misspelling seen in the
/// wild.
const CODE_FIELDS: [&str; 2] = ["drug_trac_codg", "drug_trac_code"];

/// Reads `drug_trac_codg` (or `drug_trac_code`) of one `drugtracinfo` object, whose path is
/// `path`.
fn push_code(out: &mut Vec<(String, TraceCode)>, o: &Obj<'_>, path: String) -> Result<(), Fault> {
    let blank = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    };
    let (name, value) = match CODE_FIELDS
        .iter()
        .find_map(|n| o.raw(n).filter(|v| !blank(v)).map(|v| (*n, v)))
    {
        Some((n, v)) => (n, Some(v)),
        None => (CODE_FIELDS[0], o.raw(CODE_FIELDS[0])),
    };
    let field = format!("{path}.{name}");
    match value {
        None | Some(Value::Null) => Err(Fault::at(&field, "is required")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(Fault::at(&field, "is empty")),
        Some(Value::String(s)) => {
            let code = TraceCode::parse(s).map_err(|e| Fault::at(&field, e))?;
            out.push((field, code));
            Ok(())
        }
        Some(other) => Err(Fault::at(
            &field,
            format!(
                "expected a string (a code's leading zeros would be lost in a number), got {}",
                kind(other)
            ),
        )),
    }
}

/// The JSON kind of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parses a non-negative decimal with at most `scale` decimals into an integer count of
/// `10^-scale` (`"1.50"` at scale 4 is 15,000).
pub fn decimal(s: &str, scale: u32) -> Result<i128, String> {
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) {
        return Err(format!("{t:?} is not a non-negative decimal number"));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(format!("{t:?} has more than {scale} decimals"));
    }
    let too_big = || format!("{t:?} is too large");
    if whole.len() > 18 {
        return Err(too_big());
    }
    let w: i128 = whole.parse().map_err(|_| too_big())?;
    let f: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = scale as usize)
            .parse()
            .map_err(|_| too_big())?
    };
    Ok(w * 10i128.pow(scale) + f)
}

/// The forms [`time`] and [`date`] accept, named in their refusals.
pub const TIME_FORMS: &str = "yyyy-MM-dd HH:mm:ss, yyyy/M/d H:mm:ss, yyyy-MM-ddHH:mm:ss, \
     yyyy-MM-ddTHH:mm:ss[.SSS][Z|+hh:mm], yyyyMMddHHmmss[SSS], epoch milliseconds (13 digits) \
     or seconds (10 digits), or a date yyyy-MM-dd, yyyy/M/d, yyyyMMdd (its midnight)";

/// Parses a time as hospital and pharmacy systems send it, in any of [`TIME_FORMS`]:
///
/// - `2025-04-08 10:30:00` (the interface's own form); `2025/4/8 9:05:03` (zh-CN Windows'
///   default: month, day and hour may have one digit, and either separator may be used with
///   either width); `2025-04-0810:30:00` (no separator: the day then has two digits);
///   `2025-04-08T10:30:00`, with fractional seconds (`.123`, kept to the millisecond) and an
///   offset (`Z`, `+08:00`, `+0800`, `+08`) allowed in any of these; seconds may be left out;
/// - `20250408103000` (14 digits) and `20250408103000123` (17: the envelope's
///   `refmsg_time` form);
/// - epoch milliseconds (13 digits) or seconds (10 digits);
/// - a bare date, `2025-04-08`, `2025/4/8` or `20250408`: its midnight.
///
/// A time without an offset is local, `offset_minutes` east of UTC. Anything else is refused
/// with a message that names the accepted forms; no input panics.
pub fn time(s: &str, offset_minutes: i32) -> Result<Timestamp, String> {
    let t = s.trim();
    match civil(t) {
        Ok(Parsed::Instant(ms)) => Ok(Timestamp::from_millis(ms)),
        Ok(Parsed::Civil { date, ms, offset }) => {
            let offset = i64::from(offset.unwrap_or(offset_minutes));
            let days = i64::from(date.days_since_epoch());
            Ok(Timestamp::from_millis(
                days * 86_400_000 + ms - offset * 60_000,
            ))
        }
        Err(why) => Err(format!(
            "{} is not a time ({why}); accepted: {TIME_FORMS}",
            shown(t)
        )),
    }
}

/// Parses a date (`expy_end`) in any of [`TIME_FORMS`]: the calendar day as written, or for
/// an epoch number the local day (`offset_minutes` east of UTC) of that instant.
pub fn date(s: &str, offset_minutes: i32) -> Result<Date, String> {
    let t = s.trim();
    match civil(t) {
        Ok(Parsed::Instant(ms)) => Ok(Timestamp::from_millis(ms).local_date(offset_minutes)),
        Ok(Parsed::Civil { date, .. }) => Ok(date),
        Err(why) => Err(format!(
            "{} is not a date ({why}); accepted: {TIME_FORMS}",
            shown(t)
        )),
    }
}

/// At most 40 characters of a refused input, quoted.
fn shown(t: &str) -> String {
    if t.chars().count() <= 40 {
        format!("{t:?}")
    } else {
        let head: String = t.chars().take(40).collect();
        format!("{head:?}…")
    }
}

/// What a time's text says: an instant (epoch forms), or a calendar date with the
/// milliseconds since its midnight and the offset, when it names one.
enum Parsed {
    Instant(i64),
    Civil {
        date: Date,
        ms: i64,
        offset: Option<i32>,
    },
}

/// Reads the text of a time; the error says what is wrong, in a few words.
fn civil(t: &str) -> Result<Parsed, String> {
    if t.is_empty() {
        return Err("it is empty".into());
    }
    let b = t.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        let n = |r: std::ops::Range<usize>| -> u32 {
            t[r].bytes()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let epoch = || t.parse::<i64>().map_err(|e| e.to_string());
        return match b.len() {
            8 => day_time(n(0..4), n(4..6), n(6..8), 0, 0, 0, 0, None),
            10 => Ok(Parsed::Instant(epoch()? * 1000)),
            13 => Ok(Parsed::Instant(epoch()?)),
            14 | 17 => {
                let ms = if b.len() == 17 { n(14..17) } else { 0 };
                day_time(
                    n(0..4),
                    n(4..6),
                    n(6..8),
                    n(8..10),
                    n(10..12),
                    n(12..14),
                    ms,
                    None,
                )
            }
            len => Err(format!("{len} digits")),
        };
    }
    let mut c = Cursor { b, i: 0 };
    let year = c.digits(4, 4).ok_or("expected a 4-digit year first")?;
    let sep = match c.peek() {
        Some(s @ (b'-' | b'/')) => s,
        _ => return Err("expected - or / after the year".into()),
    };
    c.i += 1;
    let month = c.digits(1, 2).ok_or("expected the month")?;
    if !c.eat(sep) {
        return Err(format!("expected {} after the month", sep as char));
    }
    let day = c.digits(1, 2).ok_or("expected the day")?;
    if c.done() {
        return day_time(year, month, day, 0, 0, 0, 0, None);
    }
    if c.eat(b' ') {
        while c.eat(b' ') {}
    } else if !(c.eat(b'T') || c.eat(b't') || c.peek().is_some_and(|d| d.is_ascii_digit())) {
        return Err("expected a space or T between the date and the time".into());
    }
    let hour = c.digits(1, 2).ok_or("expected the hour")?;
    if !c.eat(b':') {
        return Err("expected : after the hour".into());
    }
    let minute = c.digits(2, 2).ok_or("expected 2 digits of minutes")?;
    let second = if c.eat(b':') {
        c.digits(2, 2).ok_or("expected 2 digits of seconds")?
    } else {
        0
    };
    let mut ms = 0;
    if c.eat(b'.') || c.eat(b',') {
        let start = c.i;
        while c.peek().is_some_and(|d| d.is_ascii_digit()) {
            c.i += 1;
        }
        let frac = &b[start..c.i];
        if frac.is_empty() || frac.len() > 9 {
            return Err("expected 1 to 9 digits of fractional seconds".into());
        }
        ms = frac
            .iter()
            .chain(b"00")
            .take(3)
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
    }
    let offset = match c.peek() {
        None => None,
        Some(b'Z' | b'z') => {
            c.i += 1;
            Some(0)
        }
        Some(s @ (b'+' | b'-')) => {
            c.i += 1;
            let hh = c.digits(2, 2).ok_or("expected 2 digits of offset hours")?;
            let mm = if c.eat(b':') {
                c.digits(2, 2)
                    .ok_or("expected 2 digits of offset minutes")?
            } else {
                c.digits(2, 2).unwrap_or(0)
            };
            if hh > 23 || mm > 59 {
                return Err("no such offset".into());
            }
            let minutes = (hh * 60 + mm) as i32;
            Some(if s == b'-' { -minutes } else { minutes })
        }
        Some(_) => return Err("unexpected text after the time".into()),
    };
    if !c.done() {
        return Err("unexpected text after the offset".into());
    }
    day_time(year, month, day, hour, minute, second, ms, offset)
}

/// A calendar day and a time of day, checked.
#[allow(clippy::too_many_arguments)]
fn day_time(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    ms: u32,
    offset: Option<i32>,
) -> Result<Parsed, String> {
    let year = i32::try_from(year).map_err(|_| "no such year")?;
    let date = Date::from_ymd(year, month, day).ok_or("no such day")?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err("no such time of day".into());
    }
    let ms = i64::from(((hour * 60 + minute) * 60 + second) * 1000 + ms);
    Ok(Parsed::Civil { date, ms, offset })
}

/// A position in a time's bytes.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn done(&self) -> bool {
        self.i >= self.b.len()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `min` to `max` digits, as many as there are.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut n = 0u32;
        while self.i - start < max
            && let Some(d) = self.peek().filter(u8::is_ascii_digit)
        {
            n = n * 10 + u32::from(d - b'0');
            self.i += 1;
        }
        if self.i - start < min { None } else { Some(n) }
    }
}

/// Local `YYYY-MM-DD HH:MM:SS`, the interface's time format.
pub fn local_time(at: Timestamp, offset_minutes: i32) -> String {
    let rfc = at.to_rfc3339(offset_minutes);
    rfc.get(..19).unwrap_or(&rfc).replacen('T', " ", 1)
}

/// Local `yyyyMMddHHmmssSSS`, the envelope's `refmsg_time` and `respond_time` format.
pub fn compact_time(at: Timestamp, offset_minutes: i32) -> String {
    let mut s: String = local_time(at, offset_minutes)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    s.push_str(&format!("{:03}", at.millis().rem_euclid(1000)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn decimals() {
        assert_eq!(decimal("1.00", 4), Ok(10_000));
        assert_eq!(decimal("35.91", 6), Ok(35_910_000));
        assert_eq!(decimal("3", 4), Ok(30_000));
        assert_eq!(decimal("0.12340", 4), Ok(1_234));
        assert!(decimal("0.12345", 4).is_err());
        assert!(decimal("-1", 4).is_err());
        assert!(decimal(".5", 4).is_err());
        assert!(decimal("1e3", 4).is_err());
        assert!(decimal("9999999999999999999", 4).is_err());
    }

    #[test]
    fn times() {
        let at = time("2025-04-08 10:30:00", 480).unwrap();
        assert_eq!(local_time(at, 480), "2025-04-08 10:30:00");
        assert_eq!(compact_time(at, 480), "20250408103000000");
        let midnight = time("2025-04-08", 480).unwrap();
        assert_eq!(local_time(midnight, 480), "2025-04-08 00:00:00");
        assert!(time("2025-04-31 10:00:00", 480).is_err());
    }

    /// The forms real clients send, each read as the same instant.
    #[test]
    fn every_client_form_is_the_same_instant() {
        let at = |s: &str| time(s, 480).unwrap_or_else(|e| panic!("{s}: {e}"));
        let want = at("2025-04-08 09:05:03");
        for form in [
            "2025/4/8 9:05:03",
            "2025/04/08 09:05:03",
            "2025-4-8 9:05:03",
            "2025-04-0809:05:03",
            "2025-04-08T09:05:03",
            "2025-04-08t09:05:03",
            "2025-04-08T09:05:03+08:00",
            "2025-04-08T01:05:03Z",
            "2025-04-08T01:05:03.000Z",
            "2025-04-08T03:05:03+0200",
            "2025-04-07T21:05:03-04",
            "2025-04-08 09:05:03.0",
            "  2025-04-08  09:05:03 ",
            "20250408090503",
            "20250408090503000",
            "1744074303000",
            "1744074303",
        ] {
            assert_eq!(at(form), want, "{form}");
        }
        assert_eq!(
            at("2025-04-08T09:05:03.123456+08:00").millis(),
            want.millis() + 123
        );
        assert_eq!(at("2025-04-08 09:05:03,5").millis(), want.millis() + 500);
        assert_eq!(at("2025/4/8 9:05"), at("2025-04-08 09:05:00"));
        let midnight = at("2025-04-08 00:00:00");
        for form in ["2025-04-08", "2025/4/8", "2025/04/08", "20250408"] {
            assert_eq!(at(form), midnight, "{form}");
        }
        // Local is the installation's offset; a stated offset wins.
        assert_eq!(
            time("2025-04-08 09:05:03", 0).unwrap().millis() - want.millis(),
            8 * 3_600_000
        );
        assert_eq!(time("2025-04-08T09:05:03+08:00", 0).unwrap(), want);
    }

    #[test]
    fn garbage_is_refused_naming_the_accepted_forms() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01 00:00:00",
            "2025-02-29",
            "2025/4/31 9:05:03",
            "2025-04-08 24:00:00",
            "2025-04-08 10:60:00",
            "2025-04-08 10:30:61",
            "2025-04-08 10:30:00 +08:00",
            "2025-04-08T10:30:00+25:00",
            "2025-04/08",
            "25-04-08",
            "2025-04-08 10",
            "2025-04-08 10:3",
            "2025-04-08 10:30:00.",
            "2025-04-08 10:30:00.1234567890",
            "12345",
            "174407430300",
            "202504080905",
            "2025年4月8日",
        ] {
            let e = time(bad, 480).expect_err(bad);
            assert!(e.contains("is not a time ("), "{bad}: {e}");
            assert!(e.ends_with(TIME_FORMS), "{bad}: {e}");
        }
        let e = time(&"9".repeat(200), 480).unwrap_err();
        assert!(e.starts_with(&format!("\"{}\"…", "9".repeat(40))), "{e}");
    }

    #[test]
    fn dates_are_the_day_as_written() {
        let d = |s: &str| date(s, 480).unwrap_or_else(|e| panic!("{s}: {e}"));
        let want = Date::from_ymd(2027, 2, 28).unwrap();
        for form in [
            "2027-02-28",
            "2027/2/28",
            "20270228",
            "2027-02-28 00:00:00",
            "2027-02-28 23:59:59",
            "2027-02-28T23:59:59Z",
            "2027/2/28 0:00:00",
        ] {
            assert_eq!(d(form), want, "{form}");
        }
        // An epoch number is an instant: its local day.
        assert_eq!(d("1803830399000"), want);
        let e = date("2027-02-30", 480).unwrap_err();
        assert!(e.contains("is not a date (no such day)"), "{e}");
    }

    /// The local calendar fields of a time, for rendering it in each form.
    #[derive(Debug, Clone, Copy)]
    struct Fields {
        y: i32,
        mo: u32,
        d: u32,
        h: u32,
        mi: u32,
        s: u32,
        ms: u32,
        offset: i32,
    }

    fn fields() -> impl Strategy<Value = Fields> {
        (
            // 13-digit epoch milliseconds and 10-digit seconds begin in September 2001.
            2002i32..=2099,
            1u32..=12,
            1u32..=31,
            0u32..24,
            0u32..60,
            0u32..60,
            0u32..1000,
            -720i32..=840,
        )
            .prop_filter("a real day", |(y, mo, d, ..)| {
                Date::from_ymd(*y, *mo, *d).is_some()
            })
            .prop_map(|(y, mo, d, h, mi, s, ms, offset)| Fields {
                y,
                mo,
                d,
                h,
                mi,
                s,
                ms,
                offset,
            })
    }

    proptest! {
        /// Every accepted form of one local time reads as the same instant: the one the
        /// ledger's own parser reads from the interface's form (to the second; to the
        /// millisecond where the form carries milliseconds; at midnight for a bare date).
        #[test]
        fn every_form_round_trips(f in fields(), other in -720i32..=840) {
            let Fields { y, mo, d, h, mi, s, ms, offset } = f;
            let second = Timestamp::parse(
                &format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
                offset,
            )
            .unwrap();
            let exact = Timestamp::from_millis(second.millis() + i64::from(ms));
            let midnight =
                Timestamp::parse(&format!("{y:04}-{mo:02}-{d:02} 00:00:00"), offset).unwrap();
            let forms = [
                (format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"), second),
                (format!("{y}/{mo}/{d} {h}:{mi:02}:{s:02}"), second),
                (format!("{y:04}-{mo:02}-{d:02}{h:02}:{mi:02}:{s:02}"), second),
                (format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}"), second),
                (format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}"), exact),
                (second.to_rfc3339(other), second),
                (format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}"), second),
                (format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{ms:03}"), exact),
                (exact.millis().to_string(), exact),
                ((second.millis() / 1000).to_string(), second),
                (format!("{y:04}-{mo:02}-{d:02}"), midnight),
                (format!("{y}/{mo}/{d}"), midnight),
                (format!("{y:04}{mo:02}{d:02}"), midnight),
            ];
            for (text, want) in forms {
                prop_assert_eq!(time(&text, offset), Ok(want), "{}", text);
            }
            let day = Date::from_ymd(y, mo, d).unwrap();
            prop_assert_eq!(date(&format!("{y}/{mo}/{d} {h}:{mi:02}:{s:02}"), offset), Ok(day));
            prop_assert_eq!(date(&exact.millis().to_string(), offset), Ok(day));
        }

        /// No input panics the parser, whatever the offset: anything is a time or a refusal
        /// that names the accepted forms.
        #[test]
        fn never_panics(s in "\\PC{0,40}", offset in any::<i32>()) {
            if let Err(e) = time(&s, offset) {
                prop_assert!(e.ends_with(TIME_FORMS));
            }
            let _ = date(&s, offset);
        }

        /// The same near misses: digits and the separators the forms use.
        #[test]
        fn near_misses_never_panic(s in "[0-9 /:.,TZtz+-]{0,30}", offset in -1440i32..=1440) {
            let _ = time(&s, offset);
            let _ = date(&s, offset);
        }
    }

    #[test]
    fn text_is_lenient_about_form_and_strict_about_kind() {
        let v = json!({"a": " x ", "b": 3, "c": "", "d": null, "E": "y", "f": [1]});
        let o = Obj::new("input", &v).unwrap();
        assert_eq!(o.text("a").unwrap().as_deref(), Some("x"));
        assert_eq!(o.text("b").unwrap().as_deref(), Some("3"));
        assert_eq!(o.text("c").unwrap(), None);
        assert_eq!(o.text("d").unwrap(), None);
        assert_eq!(o.text("e").unwrap().as_deref(), Some("y"));
        assert_eq!(
            o.text("f").unwrap_err().0,
            "input.f: expected a string or a number, got a list"
        );
        assert_eq!(o.required("z").unwrap_err().0, "input.z: is required");
    }

    #[test]
    fn codes_come_from_every_form_and_name_their_path() {
        let v = json!({"drugtracinfo": [{"drug_trac_codg": "81000010000000000001"}, {"drug_trac_codg": "8100001000000000002"}]});
        let o = Obj::new("input.selinfo", &v).unwrap();
        assert_eq!(
            o.codes().unwrap_err().0,
            "input.selinfo.drugtracinfo[1].drug_trac_codg: expected 20 digits, got 19"
        );
        let v = json!({"drugtracinfo": {"drug_trac_codg": "81000010000000000001"}});
        assert_eq!(Obj::new("r", &v).unwrap().codes().unwrap().len(), 1);
        let v = json!({"drug_trac_codg": "81000010000000000001, 81000010000000000002"});
        assert_eq!(Obj::new("r", &v).unwrap().codes().unwrap().len(), 2);
        let v = json!({"drugtracinfo": ""});
        assert!(Obj::new("r", &v).unwrap().codes().unwrap().is_empty());
        // The misspelled key one client ships, in a drugtracinfo object and on the record.
        let v = json!({"drugtracinfo": [{"drug_trac_code": "81000010000000000001"}, {"drug_trac_codg": "", "drug_trac_code": "81000010000000000002"}]});
        let got = Obj::new("r", &v).unwrap().codes().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "r.drugtracinfo[0].drug_trac_code");
        let v = json!({"drug_trac_code": "81000010000000000001,81000010000000000002"});
        assert_eq!(Obj::new("r", &v).unwrap().codes().unwrap().len(), 2);
        assert_eq!(
            Obj::new("r", &v).unwrap().code_entries(),
            Some(("drug_trac_code", 2))
        );
        let v = json!({"drugtracinfo": [{"drug_trac_code": "8100001000000000001"}]});
        assert_eq!(
            Obj::new("r", &v).unwrap().codes().unwrap_err().0,
            "r.drugtracinfo[0].drug_trac_code: expected 20 digits, got 19"
        );
        let v = json!({"drugtracinfo": [{"drug_trac_codg": ""}]});
        assert_eq!(
            Obj::new("r", &v).unwrap().codes().unwrap_err().0,
            "r.drugtracinfo[0].drug_trac_codg: is empty"
        );
        assert_eq!(Obj::new("r", &json!({})).unwrap().code_entries(), None);
        let v = json!({"drugtracinfo": [{"drug_trac_codg": "81000010000000000001"}, {"drug_trac_codg": " 81000010000000000001"}]});
        assert_eq!(
            Obj::new("r", &v).unwrap().codes().unwrap_err().0,
            "r.drugtracinfo[1].drug_trac_codg: the same pack as r.drugtracinfo[0].drug_trac_codg"
        );
    }
}
